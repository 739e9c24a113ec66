/* `sandprobe mock`: serves the vendor mocks (mocks/mock.h) until SIGINT or SIGTERM, for the
 * official-SDK fidelity tests, CI jobs and people trying things by hand. When every mock is
 * listening it prints one JSON line per vendor on stdout — {"vendor","url","env"} where env
 * holds the variables that point sandprobe or the vendor's SDK at it — so a script can start
 * it and read where to go without parsing logs. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "args.h"
#include "cli.h"
#include "json.h"
#include "mock.h"

#define MAX_VENDORS 16

enum {
    O_VENDOR,
    O_LISTEN,
    O_KEY,
    O_SEED,
    O_LATENCY_MS,
    O_LATENCY,
    O_BACKEND,
    O_LIST_CURSOR,
    O_QUIET,
    O_FAULT,
    O_FAULTS,
    O__COUNT
};

static const struct sp_opt mock_opts[O__COUNT] = {
    [O_VENDOR] = {"vendor", "NAME", "vendor to serve", "all", .choices = sp_mock_vendor_names,
                  .choices_also = "all"},
    [O_LISTEN] = {"listen", "HOST:PORT",
                  "address to listen on; port 0 = ephemeral; with all, vendor i uses PORT+i",
                  "127.0.0.1:0"},
    [O_KEY] = {"key", "KEY", "API key the mocks accept", "a random key"},
    [O_SEED] =
        {"seed", "N",
         "seed of the latency model and the faults' draws (ids and tokens are always random)",
         "fixed"},
    [O_LATENCY_MS] = {"latency-ms", "N",
                      "every state transition and the action server start take N ms",
                      "vendor-typical delays"},
    [O_LATENCY] = {"latency", "PHASE=DIST:ARGS",
                   "repeatable; PHASE create|start|alive|exec|delete, DIST fixed:T | "
                   "uniform:LO,HI | normal:MEAN,SD | lognormal:MEAN,SD | table:P%=T,..,100%=T "
                   "(times with us|ms|s); unset phases take 0",
                   NULL},
    [O_BACKEND] = {"backend", "shell|synthetic",
                   "sandboxes run a real /bin/sh, or keep files in memory and answer a few "
                   "commands (echo true false exit cat printf sleep) for load runs",
                   "shell"},
    [O_LIST_CURSOR] = {"list-cursor", NULL,
                       "Daytona: GET /sandbox answers {items,nextCursor} (newer API)", NULL},
    [O_QUIET] = {"quiet", NULL, "no request log on stderr", NULL},
    [O_FAULT] = {"fault", "SPEC",
                 "repeatable; inject a fault: '[METHOD] PATH ACTION [p=P] [count=N] ...' "
                 "(ACTION 429|500|502|503|504|delay|reset|reset-mid|empty|truncate|malformed|"
                 "oversize|dribble|stall|cut|no-eos) or 'sandbox KIND [after=T]' (KIND "
                 "stuck|error|never-alive|vanish|dataplane-dies|server-crash); README: Faults",
                 NULL},
    [O_FAULTS] = {"faults", "FILE",
                  "a fault scenario: {\"faults\":[{\"fault\":SPEC,\"start\":T,\"stop\":T}]}", NULL},
};

static const struct sp_cmd_spec mock_spec = {
    "mock",
    "Serve faithful mocks of the vendor APIs until SIGINT or SIGTERM. When ready, prints\n"
    "one JSON line per vendor on stdout: {\"vendor\":...,\"url\":...,\"env\":{...}}.",
    mock_opts,
    O__COUNT,
};

struct mock_cli {
    const char *vendors[MAX_VENDORS];
    size_t n_vendors;
    char host[256];
    long port;
    struct sp_mock_config base;
    const char *faults[64]; /* every --fault SPEC */
};

/* "HOST:PORT", "[v6]:PORT" or ":PORT" (loopback). Returns 0 or -1. */
static int parse_listen(const char *s, struct mock_cli *mc)
{
    const char *colon = strrchr(s, ':');
    if (colon == NULL || sp_args_long(colon + 1, 0, 65535, &mc->port) != 0)
        return -1;
    const char *h = s;
    size_t n = (size_t)(colon - s);
    if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
        h++;
        n -= 2;
    }
    if (n >= sizeof(mc->host))
        return -1;
    if (n == 0)
        snprintf(mc->host, sizeof(mc->host), "127.0.0.1");
    else
        snprintf(mc->host, sizeof(mc->host), "%.*s", (int)n, h);
    return 0;
}

static bool is_loopback(const char *host)
{
    return strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0 ||
           strcmp(host, "localhost") == 0;
}

static int parse_vendor(struct mock_cli *mc, const char *name, FILE *err)
{
    const char *names[MAX_VENDORS];
    size_t n = sp_mock_vendor_names(names, MAX_VENDORS);
    n = n < MAX_VENDORS ? n : MAX_VENDORS;
    bool all = strcmp(name, "all") == 0;
    for (size_t i = 0; i < n; i++) {
        if (all || strcmp(name, names[i]) == 0)
            mc->vendors[mc->n_vendors++] = names[i];
    }
    if (mc->n_vendors > 0)
        return 0;
    char list[256] = "";
    for (size_t i = 0, used = 0; i < n && used < sizeof(list); i++)
        used += (size_t)snprintf(list + used, sizeof(list) - used, "%s, ", names[i]);
    sp_args_usage(&mock_spec, err, "unknown vendor '%s' (one of: %sall)", name, list);
    return -1;
}

static int parse_numbers(const struct sp_args *a, struct mock_cli *mc, FILE *err)
{
    long v;
    if (a->val[O_SEED]) {
        if (sp_args_long(a->val[O_SEED], 0, 0x7fffffffL, &v) != 0)
            return sp_args_usage(&mock_spec, err, "invalid --seed '%s'", a->val[O_SEED]);
        mc->base.seed = (uint64_t)v;
    }
    if (a->val[O_LATENCY_MS]) {
        if (sp_args_long(a->val[O_LATENCY_MS], 0, 3600000L, &v) != 0)
            return sp_args_usage(&mock_spec, err, "invalid --latency-ms '%s'",
                                 a->val[O_LATENCY_MS]);
        mc->base.latency = (struct sp_latency){v, v, v, v, v, 0.0};
        mc->base.has_latency = true;
    }
    return -1;
}

/* Every --latency SPEC (the option parser keeps only the last value of an option). */
static int parse_latencies(int argc, char *const argv[], struct mock_cli *mc, FILE *err)
{
    for (int i = 1; i < argc; i++) {
        const char *spec = NULL;
        if (strcmp(argv[i], "--latency") == 0 && i + 1 < argc)
            spec = argv[++i];
        else if (strncmp(argv[i], "--latency=", 10) == 0)
            spec = argv[i] + 10;
        else if (strcmp(argv[i], "--") == 0)
            break;
        struct sp_error e;
        char msg[512];
        sp_error_clear(&e);
        if (spec != NULL && sp_mock_latency_parse(&mc->base, spec, &e) != SP_E_OK)
            return sp_args_usage(&mock_spec, err, "%s", sp_error_format(&e, msg, sizeof(msg)));
    }
    return -1;
}

/* Every --fault SPEC, each checked now so a bad one is a usage error naming it. */
static int parse_faults(int argc, char *const argv[], struct mock_cli *mc, FILE *err)
{
    for (int i = 1; i < argc; i++) {
        const char *spec = NULL;
        if (strcmp(argv[i], "--fault") == 0 && i + 1 < argc)
            spec = argv[++i];
        else if (strncmp(argv[i], "--fault=", 8) == 0)
            spec = argv[i] + 8;
        else if (strcmp(argv[i], "--") == 0)
            break;
        if (spec == NULL)
            continue;
        struct sp_error e;
        char msg[512];
        sp_error_clear(&e);
        if (sp_mock_fault_check(spec, &e) != SP_E_OK)
            return sp_args_usage(&mock_spec, err, "%s", sp_error_format(&e, msg, sizeof(msg)));
        if (mc->base.n_faults == sizeof(mc->faults) / sizeof(mc->faults[0]))
            return sp_args_usage(&mock_spec, err, "more than 64 --fault options");
        mc->faults[mc->base.n_faults++] = spec;
    }
    mc->base.faults = mc->faults;
    return -1;
}

static int parse_backend(const char *name, struct mock_cli *mc, FILE *err)
{
    if (name == NULL || strcmp(name, "shell") == 0)
        mc->base.backend = SP_MOCK_BACKEND_SHELL;
    else if (strcmp(name, "synthetic") == 0)
        mc->base.backend = SP_MOCK_BACKEND_SYNTHETIC;
    else
        return sp_args_usage(&mock_spec, err, "unknown --backend '%s' (shell or synthetic)", name);
    return -1;
}

/* Fills mc from the options. Returns -1 to go on, or the exit code to return now. */
static int parse_mock(int argc, char *const argv[], const struct sp_cli_io *io, struct mock_cli *mc)
{
    struct sp_args a;
    /* --latency (one spec per phase) and --fault repeat; every other option takes one value. */
    static const struct sp_args_extra mock_extra = {.repeat_mask =
                                                        (1u << O_LATENCY) | (1u << O_FAULT)};
    enum sp_args_rc rc = sp_args_parse_extra(&mock_spec, &mock_extra, argc, argv, &a);
    if (rc == SP_ARGS_HELP) {
        sp_args_help_extra(&mock_spec, &mock_extra, io->out);
        return SP_EXIT_PASS;
    }
    if (rc == SP_ARGS_USAGE)
        return sp_args_usage(&mock_spec, io->err, "%s", a.msg);
    if (parse_vendor(mc, a.val[O_VENDOR] ? a.val[O_VENDOR] : "all", io->err) != 0)
        return SP_EXIT_USAGE;
    const char *listen = a.val[O_LISTEN] ? a.val[O_LISTEN] : "127.0.0.1:0";
    if (parse_listen(listen, mc) != 0)
        return sp_args_usage(&mock_spec, io->err, "invalid --listen '%s' (HOST:PORT)", listen);
    if (mc->port > 0 && mc->port + (long)mc->n_vendors - 1 > 65535)
        return sp_args_usage(&mock_spec, io->err, "--listen port %ld + %zu vendors exceeds 65535",
                             mc->port, mc->n_vendors);
    if (a.val[O_KEY] && a.val[O_KEY][0] == '\0')
        return sp_args_usage(&mock_spec, io->err, "--key is empty");
    mc->base.key = a.val[O_KEY];
    mc->base.flags = a.val[O_LIST_CURSOR] ? SP_MOCK_DAYTONA_LIST_CURSOR : 0;
    mc->base.quiet = a.val[O_QUIET] != NULL;
    mc->base.host = mc->host;
    int code = parse_numbers(&a, mc, io->err);
    if (code < 0)
        code = parse_backend(a.val[O_BACKEND], mc, io->err);
    if (code < 0)
        code = parse_latencies(argc, argv, mc, io->err);
    if (code < 0)
        code = parse_faults(argc, argv, mc, io->err);
    mc->base.faults_file = a.val[O_FAULTS];
    return code;
}

/* The ready line of one mock; written and flushed at once so a reader sees it whole. */
static int print_ready(struct sp_mock *m, FILE *out)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *env = sp_json_from_kv(sp_mock_env(m));
    bool ok = o && env && cJSON_AddStringToObject(o, "vendor", sp_mock_vendor(m)) &&
              cJSON_AddStringToObject(o, "url", sp_mock_url(m)) &&
              cJSON_AddItemToObject(o, "env", env);
    if (!ok) {
        cJSON_Delete(env);
        cJSON_Delete(o);
        return -1;
    }
    char *line = sp_json_print_free(o);
    if (line == NULL)
        return -1;
    fprintf(out, "%s\n", line);
    fflush(out);
    cJSON_free(line);
    return 0;
}

static int start_all(const struct mock_cli *mc, struct sp_mock **mocks, const struct sp_cli_io *io)
{
    for (size_t i = 0; i < mc->n_vendors; i++) {
        struct sp_mock_config cfg = mc->base;
        struct sp_error err;
        char msg[512];
        sp_error_clear(&err);
        cfg.vendor = mc->vendors[i];
        cfg.port = mc->port > 0 ? (unsigned)(mc->port + (long)i) : 0;
        enum sp_err rc = sp_mock_start(&cfg, &mocks[i], &err);
        if (rc != SP_E_OK) {
            fprintf(io->err, "sandprobe mock: %s: %s\n", cfg.vendor,
                    sp_error_format(&err, msg, sizeof(msg)));
            return rc == SP_E_CONFIG ? SP_EXIT_USAGE : SP_EXIT_HARNESS;
        }
    }
    for (size_t i = 0; i < mc->n_vendors; i++) {
        if (print_ready(mocks[i], io->out) != 0) {
            fprintf(io->err, "sandprobe mock: out of memory\n");
            return SP_EXIT_HARNESS;
        }
    }
    return -1;
}

int sp_cmd_mock(int argc, char *const argv[], const struct sp_cli_io *io)
{
    struct mock_cli mc;
    memset(&mc, 0, sizeof(mc));
    int code = parse_mock(argc, argv, io, &mc);
    if (code >= 0)
        return code;
    if (!is_loopback(mc.host))
        fprintf(io->err,
                "sandprobe mock: warning: listening on %s, not loopback: anyone who "
                "can reach it can use the mocks\n",
                mc.host);
    /* Block the stop signals before any mock thread exists, so every thread inherits the
     * mask and the signal is taken only by sigwait below, never by a server thread. */
    sigset_t stop, old;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, &old);
    struct sp_mock *mocks[MAX_VENDORS] = {0};
    code = start_all(&mc, mocks, io);
    if (code < 0) {
        int sig = 0;
        sigwait(&stop, &sig);
        if (!mc.base.quiet)
            fprintf(io->err, "sandprobe mock: signal %d: stopping\n", sig);
        code = SP_EXIT_PASS;
    }
    for (size_t i = 0; i < mc.n_vendors; i++)
        sp_mock_stop(mocks[i]);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return code;
}
