/* `sandprobe load`: runs many sandbox lifecycles on a schedule (harness/schedule.h) through
 * the event driver (harness/load_run.c), against the built-in mock (the default) or the real
 * provider (--target real, capped by --max-sandboxes), and writes summary.json,
 * samples.ndjson, summary.md and report.html. Exit codes: 0 pass, 1 sandboxes left behind
 * or no lifecycle completed, 2 usage, 3 harness error, 99 a threshold crossed, 130 interrupted
 * (SIGINT/SIGTERM stop scheduling; what is in flight finishes or is deleted; the reports say
 * interrupted). */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "cli.h"
#include "load.h"
#include "load_cli.h"
#include "mock.h"
#include "run_id.h"

enum {
    O_PROVIDER,
    O_TARGET,
    O_MODE,
    O_RATE,
    O_RAMP_TO,
    O_RAMP_OVER,
    O_CONCURRENCY,
    O_DURATION,
    O_COUNT,
    O_PROFILE,
    O_STEPS,
    O_EXEC,
    O_THRESHOLD,
    O_OUT,
    O_MAX_SANDBOXES,
    O_SEED,
    O_SHARD,
    O_LATENCY,
    O_BACKEND,
    O_QUIET,
    O_FAULT,
    O_FAULTS,
    O__COUNT
};

static const struct sp_opt load_opts[O__COUNT] = {
    [O_PROVIDER] = {"provider", "NAME", "provider to load: daytona, e2b, ...", NULL},
    [O_TARGET] = {"target", "mock|real", "the built-in mock, or the real provider (costs money)",
                  "mock"},
    [O_MODE] = {"mode", "MODE", "provider mode, e.g. toolbox for Daytona", "provider default"},
    [O_RATE] = {"rate", "R", "open model: lifecycles started per second", NULL},
    [O_RAMP_TO] = {"ramp-to", "R2", "ramp the rate from R to R2 (profile ramp)", NULL},
    [O_RAMP_OVER] = {"ramp-over", "D", "length of the ramp, e.g. 30s", NULL},
    [O_CONCURRENCY] = {"concurrency", "N", "closed model: N lifecycles in flight", NULL},
    [O_DURATION] = {"duration", "D", "schedule length, e.g. 10s, 500ms, 2m", NULL},
    [O_COUNT] = {"count", "N", "number of lifecycles", NULL},
    [O_PROFILE] = {"profile", "NAME", "sequential, staggered, burst or ramp",
                   "staggered with --rate, closed with --concurrency"},
    [O_STEPS] = {"steps", "LIST", "lifecycle steps, from create,startup,exec,files,cleanup", "all"},
    [O_EXEC] = {"exec", "CMD", "the first command run in each sandbox", "echo sandprobe"},
    [O_THRESHOLD] = {"threshold", "EXPR",
                     "fail (exit 99) unless EXPR holds, e.g. 'tti.p99<2s', 'errors.rate<0.01'",
                     NULL},
    [O_OUT] = {"out", "DIR", "directory for the four reports", "./sandprobe-out/load-RUN-ID"},
    [O_MAX_SANDBOXES] = {"max-sandboxes", "N", "cap on sandboxes in flight and in total",
                         "10 with --target real, none on the mock"},
    [O_SEED] = {"seed", "N", "seed of the mock's latency model", "fixed"},
    [O_SHARD] = {"shard", "i/N", "run shard i (0-based) of N of the schedule", "0/1"},
    [O_LATENCY] = {"latency", "PHASE=DIST",
                   "mock latency, e.g. create=lognormal:400ms,120ms (as sandprobe mock)",
                   "vendor-typical delays"},
    [O_BACKEND] = {"backend", "shell|synthetic",
                   "mock sandboxes: in-memory (no process), or a real shell each", "synthetic"},
    [O_QUIET] = {"quiet", NULL, "no progress lines", NULL},
    [O_FAULT] = {"fault", "SPEC",
                 "repeatable; inject a fault in the built-in mock, e.g. 'POST /** 503 p=0.05' "
                 "(grammar as sandprobe mock --fault)",
                 NULL},
    [O_FAULTS] = {"faults", "FILE",
                  "a fault scenario file for the built-in mock (as sandprobe mock)", NULL},
};

static const struct sp_cmd_spec load_spec = {
    "load",
    "Create, start, exec in, write files to and delete many sandboxes on a schedule, and\n"
    "report per-phase latency (from each lifecycle's intended start) and throughput.\n"
    "Open model: --rate R [--ramp-to R2 --ramp-over D]; closed model: --concurrency N;\n"
    "bounded by --duration D and/or --count N. Exit status: 0 pass, 1 sandboxes left\n"
    "behind or no lifecycle completed, 2 usage error, 3 harness error, 99 threshold\n"
    "crossed, 130 interrupted.",
    load_opts,
    O__COUNT,
};
static const struct sp_args_extra load_extra = {
    (1u << O_THRESHOLD) | (1u << O_LATENCY) | (1u << O_FAULT), NULL};

struct load_cli {
    const char *provider;
    bool real;
    const char *mode;
    struct sp_schedule sched;
    unsigned steps;
    char steps_text[64];
    const char *exec_cmd;
    struct sp_threshold thr[SP_LOAD_MAX_THRESHOLDS];
    size_t n_thr;
    char out_dir[1024];
    long max_sandboxes;
    uint64_t seed;
    bool quiet;
    char run_id[17];
    struct sp_mock_config mock; /* the built-in mock: synthetic backend, --latency, --fault */
    const char *faults[SP_ARGS_MAX_MULTI]; /* every --fault SPEC, armed as the mock starts */
};

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
    static const char msg[] = "\nsandprobe load: interrupted: no new lifecycles; finishing and "
                              "deleting what is in flight (signal again to abort)\n";
    if (stop_signal) {
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    stop_signal = sig;
    ssize_t ignored = write(STDERR_FILENO, msg, sizeof(msg) - 1);
    (void)ignored;
}

#define USAGE(...) sp_args_usage(&load_spec, err, __VA_ARGS__)

static int parse_steps(struct load_cli *lc, const char *list, FILE *err)
{
    unsigned steps = 0;
    bool create = false, cleanup = false;
    snprintf(lc->steps_text, sizeof(lc->steps_text), "%s", list);
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", list);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (strcmp(t, "create") == 0)
            create = true;
        else if (strcmp(t, "cleanup") == 0)
            cleanup = true;
        else if (strcmp(t, "startup") == 0)
            steps |= SP_LOAD_STEP_STARTUP;
        else if (strcmp(t, "exec") == 0)
            steps |= SP_LOAD_STEP_EXEC;
        else if (strcmp(t, "files") == 0)
            steps |= SP_LOAD_STEP_FILES;
        else
            return USAGE("unknown step '%s' in --steps (create,startup,exec,files,cleanup)", t);
    }
    if (!create || !cleanup)
        return USAGE("--steps must include create and cleanup (a load run leaves nothing behind)");
    if ((steps & (SP_LOAD_STEP_EXEC | SP_LOAD_STEP_FILES)) && !(steps & SP_LOAD_STEP_STARTUP))
        return USAGE("--steps: exec and files need startup");
    lc->steps = steps;
    return -1;
}

static int parse_rate(const char *s, const char *flag, double *out, FILE *err)
{
    char *end = NULL;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || !(v > 0) || v > 1e6)
        return USAGE("invalid %s '%s' (a positive number of lifecycles per second)", flag, s);
    *out = v;
    return -1;
}

static int parse_model(const struct sp_args *a, struct load_cli *lc, FILE *err)
{
    struct sp_schedule *s = &lc->sched;
    int64_t us;
    long n;
    int code = -1;
    s->shards = 1;
    if (a->val[O_RATE] && a->val[O_CONCURRENCY])
        return USAGE("--rate (open model) and --concurrency (closed model) exclude each other");
    if (a->val[O_RATE] && (code = parse_rate(a->val[O_RATE], "--rate", &s->rate, err)) >= 0)
        return code;
    if (a->val[O_RAMP_TO] &&
        (code = parse_rate(a->val[O_RAMP_TO], "--ramp-to", &s->ramp_to, err)) >= 0)
        return code;
    if (a->val[O_RAMP_OVER]) {
        if (sp__load_parse_duration(a->val[O_RAMP_OVER], &us) != 0)
            return USAGE("invalid --ramp-over '%s' (e.g. 30s)", a->val[O_RAMP_OVER]);
        s->ramp_over_us = us;
    }
    if (a->val[O_CONCURRENCY]) {
        if (sp_args_long(a->val[O_CONCURRENCY], 1, 1000000, &n) != 0)
            return USAGE("invalid --concurrency '%s'", a->val[O_CONCURRENCY]);
        s->concurrency = n;
    }
    if (a->val[O_DURATION]) {
        if (sp__load_parse_duration(a->val[O_DURATION], &us) != 0)
            return USAGE("invalid --duration '%s' (e.g. 10s, 500ms, 2m)", a->val[O_DURATION]);
        s->duration_us = us;
    }
    if (a->val[O_COUNT]) {
        if (sp_args_long(a->val[O_COUNT], 1, 100000000L, &n) != 0)
            return USAGE("invalid --count '%s'", a->val[O_COUNT]);
        s->count = n;
    }
    s->profile = s->concurrency > 0 ? SP_PROFILE_CLOSED
                 : s->ramp_to > 0   ? SP_PROFILE_RAMP
                                    : SP_PROFILE_STAGGERED;
    if (a->val[O_PROFILE] &&
        (!sp_load_profile_parse(a->val[O_PROFILE], &s->profile) || s->profile == SP_PROFILE_CLOSED))
        return USAGE("invalid --profile '%s' (sequential, staggered, burst or ramp)",
                     a->val[O_PROFILE]);
    if (s->profile == SP_PROFILE_SEQUENTIAL)
        s->concurrency = 1;
    if (a->val[O_SHARD]) {
        unsigned i, k;
        char tail;
        if (sscanf(a->val[O_SHARD], "%u/%u%c", &i, &k, &tail) != 2 || k == 0 || i >= k || k > 10000)
            return USAGE("invalid --shard '%s' (i/N with 0 <= i < N)", a->val[O_SHARD]);
        s->shard = i;
        s->shards = k;
    }
    char why[160];
    if (sp_schedule_check(s, why, sizeof(why)) != 0)
        return USAGE("%s", why);
    return -1;
}

/* One --fault SPEC, checked now so a bad one is a usage error naming it. Returns -1 when
 * it is armed, else the exit code. */
static int add_fault(struct load_cli *lc, const char *spec, FILE *err)
{
    struct sp_error e;
    sp_error_clear(&e);
    if (lc->real)
        return USAGE("--fault applies to the built-in mock, not --target real");
    if (sp_mock_fault_check(spec, &e) != SP_E_OK)
        return USAGE("invalid --fault: %s", e.msg);
    lc->faults[lc->mock.n_faults++] = spec;
    lc->mock.faults = lc->faults;
    return -1;
}

static int parse_rest(const struct sp_args *a, struct load_cli *lc, FILE *err)
{
    long n;
    lc->steps = SP_LOAD_STEPS_ALL;
    snprintf(lc->steps_text, sizeof(lc->steps_text), "create,startup,exec,files,cleanup");
    int code = a->val[O_STEPS] ? parse_steps(lc, a->val[O_STEPS], err) : -1;
    if (code >= 0)
        return code;
    for (size_t i = 0; i < a->n_rep; i++) {
        char why[300];
        if (a->rep_opt[i] == O_LATENCY) {
            struct sp_error e;
            sp_error_clear(&e);
            if (lc->real)
                return USAGE("--latency applies to the built-in mock, not --target real");
            if (sp_mock_latency_parse(&lc->mock, a->rep[i], &e) != SP_E_OK)
                return USAGE("invalid --latency: %s", e.msg);
            continue;
        }
        if (a->rep_opt[i] == O_FAULT) {
            code = add_fault(lc, a->rep[i], err);
            if (code >= 0)
                return code;
            continue;
        }
        if (lc->n_thr == SP_LOAD_MAX_THRESHOLDS)
            return USAGE("more than %d thresholds", SP_LOAD_MAX_THRESHOLDS);
        if (sp_threshold_parse(a->rep[i], &lc->thr[lc->n_thr++], why, sizeof(why)) != 0)
            return USAGE("%s", why);
    }
    lc->max_sandboxes = lc->real ? 10 : 0;
    if (a->val[O_MAX_SANDBOXES]) {
        if (sp_args_long(a->val[O_MAX_SANDBOXES], 1, 100000000L, &n) != 0)
            return USAGE("invalid --max-sandboxes '%s'", a->val[O_MAX_SANDBOXES]);
        lc->max_sandboxes = n;
    }
    if (a->val[O_SEED]) {
        if (sp_args_long(a->val[O_SEED], 0, 0x7fffffffL, &n) != 0)
            return USAGE("invalid --seed '%s'", a->val[O_SEED]);
        lc->seed = (uint64_t)n;
    }
    if (a->val[O_EXEC] && a->val[O_EXEC][0] == '\0')
        return USAGE("--exec is empty");
    lc->exec_cmd = a->val[O_EXEC];
    if (a->val[O_FAULTS] && lc->real)
        return USAGE("--faults applies to the built-in mock, not --target real");
    lc->mock.faults_file = a->val[O_FAULTS]; /* read as the mock starts: errors name the file */
    lc->mode = a->val[O_MODE] && a->val[O_MODE][0] ? a->val[O_MODE] : NULL;
    lc->quiet = a->val[O_QUIET] != NULL;
    const char *backend = a->val[O_BACKEND] ? a->val[O_BACKEND] : "synthetic";
    if (strcmp(backend, "shell") != 0 && strcmp(backend, "synthetic") != 0)
        return USAGE("invalid --backend '%s' (shell or synthetic)", backend);
    lc->mock.backend = backend[1] == 'y' ? SP_MOCK_BACKEND_SYNTHETIC : SP_MOCK_BACKEND_SHELL;
    sp_run_id_make(lc->run_id);
    const char *out = a->val[O_OUT];
    int len = out ? snprintf(lc->out_dir, sizeof(lc->out_dir), "%s", out)
                  : snprintf(lc->out_dir, sizeof(lc->out_dir), "sandprobe-out/load-%s", lc->run_id);
    if (len <= 0 || (size_t)len >= sizeof(lc->out_dir))
        return USAGE("invalid --out (empty or too long)");
    return -1;
}

/* --max-sandboxes caps both in flight and in total: a run that would need more must raise
 * it explicitly, before anything is created. */
static int check_cap(const struct load_cli *lc, FILE *err)
{
    if (lc->max_sandboxes <= 0)
        return -1;
    long planned = sp_schedule_planned(&lc->sched);
    if (!sp_schedule_is_open(&lc->sched) && sp_schedule_slots(&lc->sched) > lc->max_sandboxes)
        return USAGE("--concurrency %ld exceeds --max-sandboxes %ld: raise it explicitly",
                     lc->sched.concurrency, lc->max_sandboxes);
    if (planned > lc->max_sandboxes)
        return USAGE("this run would create %ld sandboxes, more than --max-sandboxes %ld%s: "
                     "raise it explicitly",
                     planned, lc->max_sandboxes,
                     lc->real ? " (the default with --target real)" : "");
    return -1;
}

static int parse_load(int argc, char *const argv[], const struct sp_cli_io *io, struct load_cli *lc)
{
    struct sp_args a;
    FILE *err = io->err;
    enum sp_args_rc rc = sp_args_parse_extra(&load_spec, &load_extra, argc, argv, &a);
    if (rc == SP_ARGS_HELP) {
        sp_args_help_extra(&load_spec, &load_extra, io->out);
        return SP_EXIT_PASS;
    }
    if (rc == SP_ARGS_USAGE)
        return USAGE("%s", a.msg);
    if (a.val[O_PROVIDER] == NULL)
        return USAGE("--provider is required");
    lc->provider = a.val[O_PROVIDER];
    const char *names[16];
    size_t n = sp_provider_names(names, 16);
    bool known = false;
    for (size_t i = 0; i < n && i < 16; i++)
        known = known || strcmp(names[i], lc->provider) == 0;
    if (!known)
        return USAGE("unknown provider '%s'", lc->provider);
    const char *target = a.val[O_TARGET] ? a.val[O_TARGET] : "mock";
    if (strcmp(target, "mock") != 0 && strcmp(target, "real") != 0)
        return USAGE("invalid --target '%s' (mock or real)", target);
    lc->real = strcmp(target, "real") == 0;
    int code = parse_model(&a, lc, err);
    if (code < 0)
        code = parse_rest(&a, lc, err);
    if (code < 0)
        code = check_cap(lc, err);
    return code;
}

/* --- running ------------------------------------------------------------------------------- */

static struct sp_client_opts client_opts(const struct load_cli *lc)
{
    struct sp_client_opts o = {.mode = lc->mode};
    if (!lc->real) {
        /* The mock answers in milliseconds: poll it often, so polling does not dominate. */
        o.http_timeout_ms = 30000;
        o.connect_timeout_ms = 5000;
        o.ready_timeout_ms = 60000;
        o.alive_interval_ms = 5;
        o.alive_timeout_ms = 60000;
    }
    return o;
}

static void fill_meta(const struct load_cli *lc,
                      const struct sp_load_outcome *o,
                      time_t t0,
                      struct sp_load_meta *m)
{
    const struct sp_schedule *s = &lc->sched;
    memset(m, 0, sizeof(*m));
    snprintf(m->run_id, sizeof(m->run_id), "%s", lc->run_id);
    snprintf(m->provider, sizeof(m->provider), "%s", lc->provider);
    snprintf(m->target, sizeof(m->target), "%s", lc->real ? "real" : "mock");
    snprintf(m->model, sizeof(m->model), "%s", sp_schedule_is_open(s) ? "open" : "closed");
    snprintf(m->profile, sizeof(m->profile), "%s", sp_load_profile_name(s->profile));
    snprintf(m->steps, sizeof(m->steps), "%s", lc->steps_text);
    m->rate = s->rate;
    m->ramp_to = s->ramp_to;
    m->ramp_over_s = (double)s->ramp_over_us / 1e6;
    m->concurrency = s->concurrency;
    m->duration_s = (double)s->duration_us / 1e6;
    m->count = s->count;
    m->max_sandboxes = lc->max_sandboxes;
    m->seed = lc->seed;
    m->shard = s->shard;
    m->shards = s->shards;
    m->started_at = t0;
    m->wall_s = o->wall_s;
    m->window_s = o->window_s;
    m->target_rate = o->target_rate;
    m->leaks = o->leaks;
    m->interrupted = o->interrupted;
}

/* Starts the mock (target mock) and the client. Returns -1, or the exit code on failure. */
static int setup(const struct load_cli *lc,
                 const struct sp_cli_io *io,
                 struct sp_mock **mock,
                 struct sp_client **client)
{
    struct sp_error err;
    char msg[600];
    sp_error_clear(&err);
    struct sp_kv env;
    sp_kv_init(&env);
    const struct sp_kv *use = &env;
    enum sp_err rc = SP_E_OK;
    static char *const no_env[] = {NULL};
    if (lc->real) {
        if (sp_kv_from_environ(&env, io->envp ? io->envp : no_env) != 0)
            rc = SP_E_INTERNAL;
    } else {
        /* The synthetic backend by default: a load run of thousands must measure the
         * provider's paths, not a process per mock sandbox. */
        struct sp_mock_config cfg = lc->mock;
        cfg.vendor = lc->provider;
        cfg.seed = lc->seed;
        cfg.quiet = true;
        rc = sp_mock_start(&cfg, mock, &err);
        if (rc == SP_E_OK)
            use = sp_mock_env(*mock);
    }
    struct sp_client_opts opts = client_opts(lc);
    if (rc == SP_E_OK)
        rc = sp_client_new(lc->provider, use, &opts, client, &err);
    sp_kv_cleanup(&env);
    if (rc == SP_E_OK)
        return -1;
    fprintf(io->err, "sandprobe load: %s\n", sp_error_format(&err, msg, sizeof(msg)));
    return rc == SP_E_CONFIG ? SP_EXIT_USAGE : SP_EXIT_HARNESS;
}

static int run(const struct load_cli *lc, struct sp_client *client, const struct sp_cli_io *io)
{
    struct sp_load_cfg cfg = {
        .client = client,
        .sched = lc->sched,
        .steps = lc->steps,
        .exec_cmd = lc->exec_cmd,
        .run_id = lc->run_id,
        .max_inflight = lc->max_sandboxes,
        .max_total = lc->max_sandboxes,
        .stop = &stop_signal,
        .progress = lc->quiet ? NULL : io->err,
        .progress_tty = !lc->quiet && isatty(fileno(io->err)),
    };
    struct sigaction sa, old[2];
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    stop_signal = 0;
    sigaction(SIGINT, &sa, &old[0]);
    sigaction(SIGTERM, &sa, &old[1]);
    struct sp__load_part part;
    struct sp_error err;
    sp_error_clear(&err);
    time_t t0 = time(NULL);
    struct sp_load_outcome o;
    enum sp_err rc = sp_load_run(&cfg, &o, &err);
    sigaction(SIGINT, &old[0], NULL);
    sigaction(SIGTERM, &old[1], NULL);
    int code = SP_EXIT_HARNESS;
    if (rc != SP_E_OK) {
        char msg[600];
        fprintf(io->err, "sandprobe load: %s\n", sp_error_format(&err, msg, sizeof(msg)));
    } else {
        fill_meta(lc, &o, t0, &part.meta);
        part.samples = o.samples;
        code = sp__load_render(&part, 1, lc->thr, lc->n_thr, lc->out_dir, io->out, io->err);
    }
    sp_load_samples_cleanup(&o.samples);
    return code;
}

int sp_cmd_load(int argc, char *const argv[], const struct sp_cli_io *io)
{
    struct load_cli *lc = calloc(1, sizeof(*lc));
    if (lc == NULL)
        return SP_EXIT_HARNESS;
    int code = parse_load(argc, argv, io, lc);
    struct sp_mock *mock = NULL;
    struct sp_client *client = NULL;
    if (code < 0)
        code = setup(lc, io, &mock, &client);
    if (code < 0)
        code = run(lc, client, io);
    sp_client_free(client);
    sp_mock_stop(mock);
    free(lc);
    return code;
}
