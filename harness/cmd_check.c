/* `sandprobe check`: runs the conformance requirements (suites/requirements.h) against one
 * provider or all of them, on the built-in mocks (the default, even with credentials set) or
 * on the real service (`--target real`), and writes junit.xml, summary.json and a console
 * summary. Exit codes as DESIGN.md: 0 pass, 1 conformance failure, 2 usage or configuration,
 * 3 harness error. SIGINT/SIGTERM stop the run after the current requirement (whose
 * sandboxes the runner deletes) and the reports are still written. */
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "cli.h"
#include "mock.h"
#include "provider.h"
#include "report.h"
#include "requirements.h"

#define MAX_PROVIDERS 16

enum { O_PROVIDER, O_TARGET, O_MODE, O_OUT, O_FOCUS, O_SKIP, O_LEVEL, O_QUIET, O__COUNT };

static const struct sp_opt check_opts[O__COUNT] = {
    [O_PROVIDER] = {"provider", "NAME", "provider to check", NULL,
                    .choices = sp_provider_names, .choices_also = "all"},
    [O_TARGET] = {"target", "mock|real",
                  "run on the built-in mock, or on the real provider (costs money)", "mock"},
    [O_MODE] = {"mode", "MODE", "provider mode, e.g. toolbox for Daytona", "provider default"},
    [O_OUT] = {"out", "DIR", "directory for junit.xml and summary.json", "./sandprobe-out/RUN-ID"},
    [O_FOCUS] = {"focus", "RE", "run only requirements matching this extended regex", NULL},
    [O_SKIP] = {"skip", "RE", "do not run requirements matching this extended regex", NULL},
    [O_LEVEL] = {"level", "must|should|may",
                 "failures at this level or above fail the run; others are warnings", "must"},
    [O_QUIET] = {"quiet", NULL, "print only the counts, the verdict and the report paths", NULL},
};

static const struct sp_cmd_spec check_spec = {
    "check",
    "Run the conformance requirements against a provider and write junit.xml and\n"
    "summary.json. The regexes of --focus/--skip are matched against the line\n"
    "\"<id> [<LEVEL>] <tags>\", e.g. \"exec.exit_code [MUST] [Conformance][Provider:e2b]\".\n"
    "Exit status: 0 pass, 1 conformance failure, 2 usage or configuration error,\n"
    "3 harness error.",
    check_opts,
    O__COUNT,
};

struct check_cfg {
    const char *providers[MAX_PROVIDERS];
    size_t n_providers;
    bool all;
    bool real;
    const char *mode;
    char out_dir[1024];
    regex_t focus, skip;
    bool has_focus, has_skip;
    enum sp_level level;
    bool quiet;
    char run_id[17];
    struct sp_kv env; /* the process environment */
};

/* One provider's run: the results as they come, and why it did not run, if it did not. */
struct prov_run {
    const char *name;
    struct sp_req_result *results;
    size_t n_results;
    char skipped[300]; /* no credentials (--provider all --target real) */
    char error[600];   /* the harness could not run it */
};

/* --- signals ------------------------------------------------------------------------------ */

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
    static const char msg[] = "\nsandprobe: interrupted: finishing the current requirement and "
                              "cleaning up (signal again to abort)\n";
    if (stop_signal) {
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    stop_signal = sig;
    ssize_t ignored = write(STDERR_FILENO, msg, sizeof(msg) - 1);
    (void)ignored;
}

static void signals_install(struct sigaction old[2])
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART; /* in-flight HTTP keeps going; we stop between requirements */
    stop_signal = 0;
    sigaction(SIGINT, &sa, &old[0]);
    sigaction(SIGTERM, &sa, &old[1]);
}

static void signals_restore(const struct sigaction old[2])
{
    sigaction(SIGINT, &old[0], NULL);
    sigaction(SIGTERM, &old[1], NULL);
}

/* --- configuration ------------------------------------------------------------------------ */

static void make_run_id(char out[17])
{
    unsigned char raw[8] = {0};
    int fd = open("/dev/urandom", O_RDONLY);
    bool ok = fd >= 0 && read(fd, raw, sizeof(raw)) == (ssize_t)sizeof(raw);
    if (fd >= 0)
        close(fd);
    if (!ok) {
        /* No urandom (a strange container): time and pid still separate concurrent runs. */
        unsigned long long v =
            (unsigned long long)sp_now_us() ^ ((unsigned long long)getpid() << 40);
        memcpy(raw, &v, sizeof(raw));
    }
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
}

static int compile_re(regex_t *re, const char *flag, const char *pattern, FILE *err)
{
    int rc = regcomp(re, pattern, REG_EXTENDED | REG_NOSUB);
    if (rc == 0)
        return 0;
    char why[128];
    regerror(rc, re, why, sizeof(why));
    sp_args_usage(&check_spec, err, "invalid %s regex '%s': %s", flag, pattern, why);
    return -1;
}

static int parse_provider(struct check_cfg *cfg, const char *name, FILE *err)
{
    const char *names[MAX_PROVIDERS];
    size_t n = sp_provider_names(names, MAX_PROVIDERS);
    n = n < MAX_PROVIDERS ? n : MAX_PROVIDERS;
    cfg->all = strcmp(name, "all") == 0;
    for (size_t i = 0; i < n; i++) {
        if (cfg->all || strcmp(name, names[i]) == 0)
            cfg->providers[cfg->n_providers++] = names[i];
    }
    if (cfg->n_providers > 0)
        return 0;
    char list[256] = "";
    for (size_t i = 0, used = 0; i < n && used < sizeof(list); i++)
        used += (size_t)snprintf(list + used, sizeof(list) - used, "%s, ", names[i]);
    sp_args_usage(&check_spec, err, "unknown provider '%s' (one of: %sall)", name, list);
    return -1;
}

/* Fills cfg from the options. Returns -1 to go on, or the exit code to return now. */
static int
parse_check(int argc, char *const argv[], const struct sp_cli_io *io, struct check_cfg *cfg)
{
    struct sp_args a;
    enum sp_args_rc rc = sp_args_parse(&check_spec, argc, argv, &a);
    if (rc == SP_ARGS_HELP) {
        sp_args_help(&check_spec, io->out);
        return SP_EXIT_PASS;
    }
    if (rc == SP_ARGS_USAGE)
        return sp_args_usage(&check_spec, io->err, "%s", a.msg);
    if (a.val[O_PROVIDER] == NULL)
        return sp_args_usage(&check_spec, io->err, "--provider is required");
    if (parse_provider(cfg, a.val[O_PROVIDER], io->err) != 0)
        return SP_EXIT_USAGE;
    const char *target = a.val[O_TARGET] ? a.val[O_TARGET] : "mock";
    if (strcmp(target, "mock") != 0 && strcmp(target, "real") != 0)
        return sp_args_usage(&check_spec, io->err, "invalid --target '%s' (mock or real)", target);
    cfg->real = strcmp(target, "real") == 0;
    if (a.val[O_LEVEL] && !sp_level_parse(a.val[O_LEVEL], &cfg->level))
        return sp_args_usage(&check_spec, io->err, "invalid --level '%s' (must, should or may)",
                             a.val[O_LEVEL]);
    cfg->mode = a.val[O_MODE] && a.val[O_MODE][0] ? a.val[O_MODE] : NULL;
    cfg->quiet = a.val[O_QUIET] != NULL;
    if (a.val[O_FOCUS] && compile_re(&cfg->focus, "--focus", a.val[O_FOCUS], io->err) != 0)
        return SP_EXIT_USAGE;
    cfg->has_focus = a.val[O_FOCUS] != NULL;
    if (a.val[O_SKIP] && compile_re(&cfg->skip, "--skip", a.val[O_SKIP], io->err) != 0)
        return SP_EXIT_USAGE;
    cfg->has_skip = a.val[O_SKIP] != NULL;
    make_run_id(cfg->run_id);
    const char *out = a.val[O_OUT];
    int n = out ? snprintf(cfg->out_dir, sizeof(cfg->out_dir), "%s", out)
                : snprintf(cfg->out_dir, sizeof(cfg->out_dir), "sandprobe-out/%s", cfg->run_id);
    if (n <= 0 || (size_t)n >= sizeof(cfg->out_dir))
        return sp_args_usage(&check_spec, io->err, "invalid --out (empty or too long)");
    return -1;
}

static bool
selected(const struct check_cfg *cfg, const struct sp_requirement *req, const char *provider)
{
    char tags[256], line[512];
    snprintf(line, sizeof(line), "%s [%s] %s", req->id, sp_level_name(req->level),
             sp_report_tags(req, provider, tags, sizeof(tags)));
    if (cfg->has_focus && regexec(&cfg->focus, line, 0, NULL, 0) != 0)
        return false;
    return !(cfg->has_skip && regexec(&cfg->skip, line, 0, NULL, 0) == 0);
}

/* mkdir -p. Returns 0, or -1 with errno set. */
static int make_dirs(const char *path)
{
    char p[1024];
    snprintf(p, sizeof(p), "%s", path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST)
            return -1;
        *s = '/';
    }
    if (mkdir(p, 0777) != 0 && errno != EEXIST)
        return -1;
    struct stat st;
    if (stat(p, &st) != 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

/* --- running -------------------------------------------------------------------------------- */

/* Client options: the defaults for a real provider; short polls and deadlines on the mock,
 * which answers in milliseconds, so a hang there fails fast instead of after minutes. */
static struct sp_client_opts client_opts(const struct check_cfg *cfg)
{
    struct sp_client_opts o = {.mode = cfg->mode};
    if (!cfg->real) {
        o.http_timeout_ms = 10000;
        o.connect_timeout_ms = 2000;
        o.ready_timeout_ms = 30000;
        o.alive_interval_ms = 100;
        o.alive_timeout_ms = 30000;
    }
    return o;
}

/* Creates (and frees) a client: the provider's own check of its configuration, which names
 * a missing variable. Returns the error class. */
static enum sp_err probe_client(const char *name,
                                const struct sp_kv *env,
                                const struct sp_client_opts *opts,
                                struct sp_error *err)
{
    struct sp_client *c = NULL;
    enum sp_err rc = sp_client_new(name, env, opts, &c, err);
    sp_client_free(c);
    return rc;
}

/* A requirement that is not run: result SKIP with the reason. */
static void
skip_result(const struct sp_requirement *req, const char *why, struct sp_req_result *res)
{
    memset(res, 0, sizeof(*res));
    res->req = req;
    res->outcome = SP_REQ_SKIP;
    snprintf(res->message, sizeof(res->message), "%s", why);
}

static void progress(
    FILE *err, bool tty, const char *provider, const struct sp_requirement *req, size_t i, size_t n)
{
    if (!tty)
        return;
    fprintf(err, "\r\033[K[%zu/%zu] %s %s", i + 1, n, provider, req->id);
    fflush(err);
}

/* Runs every selected requirement for one provider against t, in table order. Once a stop
 * signal arrived, the rest are recorded as skipped (t may then be NULL). */
static void run_requirements(const struct check_cfg *cfg,
                             const struct sp_req_target *t,
                             struct prov_run *pr,
                             const struct sp_cli_io *io)
{
    const struct sp_requirement *const *reqs = NULL;
    size_t n = sp_requirements(&reqs);
    size_t total = 0, done = 0;
    for (size_t i = 0; i < n; i++)
        total += selected(cfg, reqs[i], pr->name);
    bool tty = !cfg->quiet && isatty(fileno(io->err));
    for (size_t i = 0; i < n; i++) {
        const struct sp_requirement *req = reqs[i];
        if (!selected(cfg, req, pr->name))
            continue;
        struct sp_req_result *res = &pr->results[pr->n_results++];
        if (stop_signal || t == NULL) {
            skip_result(req, "not run: the run was interrupted", res);
        } else {
            progress(io->err, tty, pr->name, req, done, total);
            memset(res, 0, sizeof(*res));
            sp_req_run(req, t, res);
            res->req = req;
        }
        done++;
    }
    if (tty)
        fputs("\r\033[K", io->err);
}

/* Runs one provider: starts its mock (mock target), checks that a client can be configured,
 * runs the requirements. Returns -1 when it ran, else the exit code the failure maps to. */
static int
run_provider(const struct check_cfg *cfg, struct prov_run *pr, const struct sp_cli_io *io)
{
    struct sp_client_opts opts = client_opts(cfg);
    struct sp_mock *m = NULL;
    const struct sp_kv *env = &cfg->env;
    struct sp_error err;
    char msg[512];
    sp_error_clear(&err);
    if (!cfg->real) {
        struct sp_mock_config mc = {.vendor = pr->name, .quiet = true};
        if (sp_mock_start(&mc, &m, &err) != SP_E_OK) {
            snprintf(pr->error, sizeof(pr->error), "cannot start the mock: %s",
                     sp_error_format(&err, msg, sizeof(msg)));
            fprintf(io->err, "sandprobe check: %s: %s\n", pr->name, pr->error);
            return SP_EXIT_HARNESS;
        }
        env = sp_mock_env(m);
    }
    enum sp_err rc = probe_client(pr->name, env, &opts, &err);
    if (rc == SP_E_OK && !cfg->quiet) {
        fprintf(io->err, "sandprobe check: %s: running on the %s target, run %s\n", pr->name,
                cfg->real ? "real" : "mock", cfg->run_id);
        fflush(io->err);
    }
    if (rc == SP_E_OK) {
        struct sp_req_target t = {
            .provider = pr->name, .env = env, .opts = &opts, .mock = m, .run_id = cfg->run_id};
        run_requirements(cfg, &t, pr, io);
    } else {
        sp_error_format(&err, msg, sizeof(msg));
        fprintf(io->err, "sandprobe check: %s: %s\n", pr->name, msg);
        snprintf(pr->error, sizeof(pr->error), "%s", msg);
    }
    sp_mock_stop(m);
    if (rc == SP_E_OK)
        return -1;
    return rc == SP_E_CONFIG ? SP_EXIT_USAGE : SP_EXIT_HARNESS;
}

/* Real target: every provider must be configurable before anything runs. With --provider
 * all, one without credentials is skipped with the variable named; with one provider, or
 * when none has credentials, it is a configuration error. Returns -1 to go on. */
static int preflight(const struct check_cfg *cfg, struct prov_run *prs, const struct sp_cli_io *io)
{
    struct sp_client_opts opts = client_opts(cfg);
    size_t ready = 0;
    for (size_t i = 0; i < cfg->n_providers; i++) {
        struct sp_error err;
        char msg[512];
        sp_error_clear(&err);
        enum sp_err rc = probe_client(cfg->providers[i], &cfg->env, &opts, &err);
        if (rc == SP_E_OK) {
            ready++;
        } else if (rc == SP_E_CONFIG && cfg->all) {
            snprintf(prs[i].skipped, sizeof(prs[i].skipped), "%s", err.msg);
            fprintf(io->err, "sandprobe check: %s: skipped: %s\n", cfg->providers[i], err.msg);
        } else {
            fprintf(io->err, "sandprobe check: %s: %s\n", cfg->providers[i],
                    sp_error_format(&err, msg, sizeof(msg)));
            return rc == SP_E_CONFIG ? SP_EXIT_USAGE : SP_EXIT_HARNESS;
        }
    }
    if (ready > 0)
        return -1;
    fprintf(io->err, "sandprobe check: no provider has credentials; nothing to run\n");
    return SP_EXIT_USAGE;
}

/* A --focus/--skip pair that selects nothing is almost always a typo: say so instead of
 * passing an empty run. */
static int check_selection(const struct check_cfg *cfg, const struct sp_cli_io *io)
{
    const struct sp_requirement *const *reqs = NULL;
    size_t n = sp_requirements(&reqs);
    for (size_t p = 0; p < cfg->n_providers; p++) {
        for (size_t i = 0; i < n; i++) {
            if (selected(cfg, reqs[i], cfg->providers[p]))
                return -1;
        }
    }
    return sp_args_usage(&check_spec, io->err,
                         "--focus/--skip select no requirement (see "
                         "'sandprobe list')");
}

/* Writes the reports and the console summary; returns the exit code of the run. */
static int finish(const struct check_cfg *cfg,
                  const struct prov_run *prs,
                  time_t started,
                  double duration_s,
                  const struct sp_cli_io *io)
{
    struct sp_report_provider rp[MAX_PROVIDERS];
    bool harness = false;
    for (size_t i = 0; i < cfg->n_providers; i++) {
        rp[i] = (struct sp_report_provider){.name = prs[i].name,
                                            .mode = cfg->mode,
                                            .skipped = prs[i].skipped[0] ? prs[i].skipped : NULL,
                                            .error = prs[i].error[0] ? prs[i].error : NULL,
                                            .results = prs[i].results,
                                            .n_results = prs[i].n_results};
        harness |= prs[i].error[0] != '\0';
    }
    struct sp_report_run run = {.run_id = cfg->run_id,
                                .started_at = started,
                                .duration_s = duration_s,
                                .target = cfg->real ? "real" : "mock",
                                .level = cfg->level,
                                .interrupted = stop_signal != 0,
                                .providers = rp,
                                .n_providers = cfg->n_providers};
    char junit[1100], summary[1100];
    snprintf(junit, sizeof(junit), "%s/junit.xml", cfg->out_dir);
    snprintf(summary, sizeof(summary), "%s/summary.json", cfg->out_dir);
    struct sp_error err;
    char msg[512];
    sp_error_clear(&err);
    if (sp_report_junit(&run, junit, &err) != SP_E_OK ||
        sp_report_summary_json(&run, summary, &err) != SP_E_OK) {
        fprintf(io->err, "sandprobe check: %s\n", sp_error_format(&err, msg, sizeof(msg)));
        harness = true;
    } else {
        run.out_dir = cfg->out_dir;
    }
    bool color = isatty(fileno(io->out)) && sp_kv_get(&cfg->env, "NO_COLOR") == NULL;
    if (cfg->quiet)
        sp_report_console_footer(&run, io->out, color);
    else
        sp_report_console(&run, io->out, color);
    struct sp_report_counts c;
    for (size_t i = 0; i < run.n_providers; i++) {
        sp_report_count(&run, &rp[i], &c);
        harness |= c.error > 0;
    }
    if (harness)
        return SP_EXIT_HARNESS;
    /* Interrupted with no failure yet: there is no verdict, which is not a pass either. */
    run.interrupted = false;
    if (!sp_report_passed(&run))
        return SP_EXIT_FAIL;
    return stop_signal ? SP_EXIT_HARNESS : SP_EXIT_PASS;
}

static int run_all(const struct check_cfg *cfg, struct prov_run *prs, const struct sp_cli_io *io)
{
    const struct sp_requirement *const *reqs = NULL;
    size_t n = sp_requirements(&reqs);
    struct sigaction old[2];
    signals_install(old);
    time_t started = time(NULL);
    int64_t t0 = sp_now_ms();
    int code = -1;
    for (size_t i = 0; i < cfg->n_providers && code < 0; i++) {
        struct prov_run *pr = &prs[i];
        pr->name = cfg->providers[i];
        pr->results = calloc(n ? n : 1, sizeof(*pr->results));
        if (pr->results == NULL) {
            fprintf(io->err, "sandprobe check: out of memory\n");
            code = SP_EXIT_HARNESS;
        } else if (pr->skipped[0] == '\0' && stop_signal) {
            run_requirements(cfg, NULL, pr, io);
        } else if (pr->skipped[0] == '\0') {
            int rc = run_provider(cfg, pr, io);
            code = rc == SP_EXIT_USAGE ? rc : -1; /* a bad --mode: stop, no reports */
        }
    }
    if (code < 0)
        code = finish(cfg, prs, started, (double)(sp_now_ms() - t0) / 1000.0, io);
    signals_restore(old);
    return code;
}

int sp_cmd_check(int argc, char *const argv[], const struct sp_cli_io *io)
{
    static char *const no_env[] = {NULL};
    struct check_cfg cfg;
    struct prov_run prs[MAX_PROVIDERS];
    memset(&cfg, 0, sizeof(cfg));
    memset(prs, 0, sizeof(prs));
    sp_kv_init(&cfg.env);
    int code = parse_check(argc, argv, io, &cfg);
    if (code < 0 && sp_kv_from_environ(&cfg.env, io->envp ? io->envp : no_env) != 0) {
        fprintf(io->err, "sandprobe check: out of memory\n");
        code = SP_EXIT_HARNESS;
    }
    if (code < 0)
        code = check_selection(&cfg, io);
    if (code < 0 && cfg.real)
        code = preflight(&cfg, prs, io);
    if (code < 0 && make_dirs(cfg.out_dir) != 0) {
        fprintf(io->err, "sandprobe check: cannot create output directory '%s': %s\n", cfg.out_dir,
                strerror(errno));
        code = SP_EXIT_USAGE;
    }
    if (code < 0)
        code = run_all(&cfg, prs, io);
    for (size_t i = 0; i < MAX_PROVIDERS; i++)
        free(prs[i].results);
    if (cfg.has_focus)
        regfree(&cfg.focus);
    if (cfg.has_skip)
        regfree(&cfg.skip);
    sp_kv_cleanup(&cfg.env);
    return code;
}
