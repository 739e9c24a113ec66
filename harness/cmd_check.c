/* `sandprobe check`: runs the conformance requirements (suites/requirements.h) against one
 * provider or all of them (each in each of its modes), on the built-in mocks (the default,
 * even with credentials set) or on the real service (`--target real`), on --jobs threads,
 * and writes junit.xml, summary.json and the console summary, results printed in
 * requirement order as they come in. Before anything runs, each provider is configured and
 * asked one authenticated question, so a bad credential (exit 2) or an unreachable provider
 * (exit 3) is one message, not a page of failures. A signal stops the run, deletes what it
 * created and exits 130 (check_signals.h); a provider that stops answering mid-run ends it
 * with exit 3 (check_jobs.h). */
#include <errno.h>
#include <regex.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "check_cleanup.h"
#include "check_int.h"
#include "check_jobs.h"
#include "check_signals.h"
#include "cli.h"
#include "mock.h"
#include "provider.h"
#include "report.h"
#include "requirements.h"
#include "run_id.h"

/* About this many of the run's sandboxes at once on a real provider: a requirement holds
 * REQ_SANDBOXES at most (the one that holds more, attach.beyond_first_page, is [Serial] and
 * runs alone), so --jobs is capped at their quotient. */
#define REAL_SANDBOX_BUDGET 10
#define REQ_SANDBOXES       2

enum {
    O_PROVIDER,
    O_TARGET,
    O_MODE,
    O_OUT,
    O_FOCUS,
    O_SKIP,
    O_LEVEL,
    O_JOBS,
    O_QUIET,
    O_VERBOSE,
    O_LATENCY,
    O__COUNT
};

static const struct sp_opt check_opts[O__COUNT] = {
    [O_PROVIDER] = {"provider", "NAME", "provider to check", NULL, .choices = sp_provider_names,
                    .choices_also = "all", .short_name = 'p'},
    [O_TARGET] = {"target", "mock|real",
                  "run on the built-in mock, or on the real provider (costs money)", "mock"},
    [O_MODE] = {"mode", "MODE", "provider mode, e.g. toolbox for Daytona (all: every mode)",
                "the provider's first mode"},
    [O_OUT] = {"out", "DIR", "directory for junit.xml and summary.json", "./sandprobe-out/RUN-ID",
               .short_name = 'o'},
    [O_FOCUS] = {"focus", "RE", "run only requirements matching this extended regex", NULL},
    [O_SKIP] = {"skip", "RE", "do not run requirements matching this extended regex", NULL},
    [O_LEVEL] = {"level", "must|should|may",
                 "failures at this level or above fail the run; others are warnings", "must"},
    [O_JOBS] = {"jobs", "N", "requirements run at once (real: capped at 5)",
                "2 x cores on the mocks, 1 on a real provider", .short_name = 'j'},
    [O_QUIET] = {"quiet", NULL, "print only failures and warnings, the counts and the verdict",
                 NULL, .short_name = 'q'},
    [O_VERBOSE] = {"verbose", NULL, "also print where in the requirement's source a check failed",
                   NULL, .short_name = 'v'},
    [O_LATENCY] = {"latency", "PHASE=DIST:PARAMS",
                   "mock latency, as for 'sandprobe mock' (e.g. create=fixed:2s)",
                   "zero; requirements about time set their own"},
};

/* --latency may be given several times. */
static const struct sp_args_extra check_extra = {.repeat_mask = 1u << O_LATENCY};

const struct sp_cmd_spec sp__check_spec = {
    "check",
    "Run the conformance requirements against a provider and write junit.xml and\n"
    "summary.json. The regexes of --focus/--skip are matched against the line\n"
    "\"<id> [<LEVEL>] <tags>\", e.g. \"exec.exit_code_propagates [MUST] [Conformance]\n"
    "[Provider:e2b]\" (see 'sandprobe list').\n"
    "Exit status: 0 pass, 1 conformance failure, 2 usage or configuration error,\n"
    "3 harness error or unreachable provider, 130 interrupted.",
    check_opts,
    O__COUNT,
};

/* --- configuration ------------------------------------------------------------------------ */

static int compile_re(regex_t *re, const char *flag, const char *pattern, FILE *err)
{
    int rc = regcomp(re, pattern, REG_EXTENDED | REG_NOSUB);
    if (rc == 0)
        return 0;
    char why[128];
    regerror(rc, re, why, sizeof(why));
    sp_args_usage(&sp__check_spec, err, "invalid %s regex '%s': %s", flag, pattern, why);
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
    sp_args_usage(&sp__check_spec, err, "unknown provider '%s' (one of: %sall)", name, list);
    return -1;
}

/* Fills cfg from the options. Returns -1 to go on, or the exit code to return now. */
static int
parse_check(int argc, char *const argv[], const struct sp_cli_io *io, struct check_cfg *cfg)
{
    struct sp_args a;
    enum sp_args_rc rc = sp_args_parse_extra(&sp__check_spec, &check_extra, argc, argv, &a);
    if (rc == SP_ARGS_HELP) {
        sp_args_help_extra(&sp__check_spec, &check_extra, io->out);
        return SP_EXIT_PASS;
    }
    if (rc == SP_ARGS_USAGE)
        return sp_args_usage(&sp__check_spec, io->err, "%s", a.msg);
    if (a.val[O_PROVIDER] == NULL)
        return sp_args_usage(&sp__check_spec, io->err, "--provider is required");
    if (parse_provider(cfg, a.val[O_PROVIDER], io->err) != 0)
        return SP_EXIT_USAGE;
    const char *target = a.val[O_TARGET] ? a.val[O_TARGET] : "mock";
    if (strcmp(target, "mock") != 0 && strcmp(target, "real") != 0)
        return sp_args_usage(&sp__check_spec, io->err, "invalid --target '%s' (mock or real)",
                             target);
    cfg->real = strcmp(target, "real") == 0;
    if (a.val[O_LEVEL] && !sp_level_parse(a.val[O_LEVEL], &cfg->level))
        return sp_args_usage(&sp__check_spec, io->err, "invalid --level '%s' (must, should or may)",
                             a.val[O_LEVEL]);
    if (a.val[O_JOBS] && sp_args_long(a.val[O_JOBS], 1, 64, &cfg->jobs) != 0)
        return sp_args_usage(&sp__check_spec, io->err,
                             "invalid --jobs '%s' (a number from 1 to 64)", a.val[O_JOBS]);
    for (size_t i = 0; i < a.n_rep && cfg->n_latency < SP_ARGS_MAX_MULTI; i++) {
        if (a.rep_opt[i] == O_LATENCY)
            cfg->latency[cfg->n_latency++] = a.rep[i];
    }
    if (cfg->n_latency > 0 && cfg->real)
        return sp_args_usage(&sp__check_spec, io->err,
                             "--latency is for the mocks, not --target real");
    struct sp_mock_config probe = {0};
    for (size_t i = 0; i < cfg->n_latency; i++) {
        struct sp_error e;
        char msg[400];
        sp_error_clear(&e);
        if (sp_mock_latency_parse(&probe, cfg->latency[i], &e) != SP_E_OK)
            return sp_args_usage(&sp__check_spec, io->err, "invalid --latency: %s",
                                 sp_error_format(&e, msg, sizeof(msg)));
    }
    cfg->mode = a.val[O_MODE] && a.val[O_MODE][0] ? a.val[O_MODE] : NULL;
    cfg->quiet = a.val[O_QUIET] != NULL;
    cfg->verbose = a.val[O_VERBOSE] != NULL;
    if (a.val[O_FOCUS] && compile_re(&cfg->focus, "--focus", a.val[O_FOCUS], io->err) != 0)
        return SP_EXIT_USAGE;
    cfg->has_focus = a.val[O_FOCUS] != NULL;
    if (a.val[O_SKIP] && compile_re(&cfg->skip, "--skip", a.val[O_SKIP], io->err) != 0)
        return SP_EXIT_USAGE;
    cfg->has_skip = a.val[O_SKIP] != NULL;
    sp_run_id_make(cfg->run_id);
    const char *out = a.val[O_OUT];
    int n = out ? snprintf(cfg->out_dir, sizeof(cfg->out_dir), "%s", out)
                : snprintf(cfg->out_dir, sizeof(cfg->out_dir), "sandprobe-out/%s", cfg->run_id);
    if (n <= 0 || (size_t)n >= sizeof(cfg->out_dir))
        return sp_args_usage(&sp__check_spec, io->err, "invalid --out (empty or too long)");
    return -1;
}

/* "action-server, toolbox" */
static void join_modes(const char *const *modes, char *out, size_t len)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; modes && modes[i] && used < len; i++)
        used += (size_t)snprintf(out + used, len - used, "%s%s", i ? ", " : "", modes[i]);
}

/* --mode names one of the provider's modes; a provider without modes takes none. */
static int check_mode(const struct check_cfg *cfg, const struct sp_cli_io *io)
{
    if (cfg->mode == NULL)
        return -1;
    if (cfg->all)
        return sp_args_usage(&sp__check_spec, io->err,
                             "--mode needs one --provider (each provider has its own modes; "
                             "--provider all checks every mode)");
    const char *p = cfg->providers[0];
    const char *const *modes = sp_provider_modes(p);
    if (modes == NULL)
        return sp_args_usage(&sp__check_spec, io->err, "provider '%s' has no modes; drop --mode",
                             p);
    for (size_t i = 0; modes[i]; i++) {
        if (strcmp(modes[i], cfg->mode) == 0)
            return -1;
    }
    char list[256];
    join_modes(modes, list, sizeof(list));
    return sp_args_usage(&sp__check_spec, io->err, "unknown --mode '%s' for %s (one of: %s)",
                         cfg->mode, p, list);
}

/* --- signals ------------------------------------------------------------------------------ */

static const char *sig_name(int sig)
{
    return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "signal";
}

static void on_stop(void *arg, int sig)
{
    struct check_run *run = arg;
    fprintf(run->io->err,
            "\nsandprobe check: %s: stopping: no new requirements, waits cancelled, deleting "
            "what the run created (signal again to exit at once)\n",
            sig_name(sig));
    fflush(run->io->err);
    sp_jobs_stop(&run->jobs, sig);
}

static void on_duplicate(void *arg, int sig, pid_t from)
{
    struct check_run *run = arg;
    fprintf(run->io->err,
            "sandprobe check: %s again from process %ld (it signalled the process group too, "
            "as GNU timeout does): still cleaning up\n",
            sig_name(sig), (long)from);
    fflush(run->io->err);
}

/* Names the sandboxes of the run not known to be deleted and, on a real provider, the
 * command that removes whatever carries the run label (always, when sweep is set: a create
 * cut short leaves a sandbox the run never learnt the id of). */
static void print_left(struct check_run *run, const char *why, bool sweep)
{
    FILE *err = run->io->err;
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    size_t n = m ? sp_jobs_print_left(&run->jobs, m) : 0;
    if (m)
        fclose(m);
    if (n > 0)
        fprintf(err, "sandprobe check: %s; %zu sandbox%s of this run left behind:\n%s", why, n,
                n == 1 ? "" : "es", text ? text : "");
    else if (sweep)
        fprintf(err, "sandprobe check: %s; no sandbox of this run is known to be left\n", why);
    if ((n > 0 || sweep) && !run->cfg->real)
        fprintf(err, "  (on the in-process mock, which ends with sandprobe)\n");
    for (size_t k = 0; (n > 0 || sweep) && run->cfg->real && k < run->n; k++) {
        if (k == 0 || strcmp(run->tg[k].provider, run->tg[k - 1].provider) != 0)
            fprintf(err,
                    "remove what is left with: sandprobe sweep --provider %s --target real "
                    "--label %s=%s\n",
                    run->tg[k].provider, SP_RUN_LABEL, run->cfg->run_id);
    }
    free(text);
    fflush(err);
}

/* After a stop: a create cut short may have made a sandbox the run never heard of, so
 * each target is searched by the run label. Returns true when nothing is left: none live on
 * a mock, none found by label (or tracked, for a provider without labels) on a real one. */
static bool sweep_after_interrupt(struct check_run *run)
{
    bool clean = true;
    for (size_t k = 0; k < run->n; k++) {
        struct target *t = &run->tg[k];
        struct sp_jobs_target *jt = &run->jt[k];
        if (t->skipped[0] || atomic_load(&jt->gone))
            continue;
        bool searched = false, stuck = false;
        char why[400] = "";
        size_t n = sp_check_delete_labelled(t->provider, jt->t.env, &t->opts, run->cfg->run_id,
                                            &searched, &stuck, why, sizeof(why));
        if (n > 0)
            fprintf(run->io->err,
                    "sandprobe check: %s: deleted %zu sandbox%s found by the run label (a "
                    "create cut short)\n",
                    t->label, n, n == 1 ? "" : "es");
        if (stuck)
            fprintf(run->io->err, "sandprobe check: %s: cannot finish deleting by label: %s\n",
                    t->label, why);
        if (t->mock) {
            struct sp_mock_stats st;
            sp_mock_stats(t->mock, &st);
            clean = clean && st.live == 0;
        } else {
            clean = clean && !stuck && (searched || sp_jobs_print_left(&run->jobs, NULL) == 0);
        }
    }
    return clean;
}

static void on_force(void *arg, int sig)
{
    struct check_run *run = arg;
    char why[96];
    snprintf(why, sizeof(why), "second %s: exiting without cleaning up", sig_name(sig));
    print_left(run, why, true);
    fflush(NULL);
    _exit(SP_EXIT_INTERRUPTED);
}

/* --- output -------------------------------------------------------------------------------- */

static void on_result(void *arg, struct sp_jobs_target *jt, size_t i)
{
    struct check_run *run = arg;
    if (run->cfg->quiet)
        return;
    size_t k = (size_t)(jt - run->jt);
    FILE *out = run->io->out;
    if (run->headed <= k) {
        struct sp_report_provider p = {.name = run->tg[k].provider, .mode = run->tg[k].mode};
        if (run->headed > 0)
            fputc('\n', out);
        sp_report_console_provider(&run->rr, &p, out, run->color);
        run->headed = k + 1;
    }
    sp_report_console_result(&run->rr, &jt->results[i], out, run->color);
    fflush(out);
}

/* Writes the reports and the rest of the console output; returns the exit code. */
static int finish(struct check_run *run, double duration_s)
{
    const struct check_cfg *cfg = run->cfg;
    FILE *out = run->io->out, *err = run->io->err;
    struct sp_report_provider rp[MAX_TARGETS];
    bool harness = false, gone = false;
    for (size_t k = 0; k < run->n; k++) {
        const struct target *t = &run->tg[k];
        struct sp_jobs_target *jt = &run->jt[k];
        rp[k] = (struct sp_report_provider){.name = t->provider,
                                            .mode = t->mode,
                                            .skipped = t->skipped[0] ? t->skipped : NULL,
                                            .results = jt->results,
                                            .n_results = t->skipped[0] ? 0 : jt->n};
        if (atomic_load(&jt->gone)) {
            snprintf(run->tg[k].error, sizeof(run->tg[k].error), "stopped answering: %s",
                     jt->gone_msg);
            rp[k].error = run->tg[k].error;
            size_t not_run = 0;
            for (size_t i = 0; i < jt->n; i++)
                not_run += jt->results[i].outcome == SP_REQ_SKIP;
            fprintf(err,
                    "sandprobe check: %s stopped answering (%d failed probes in a row): %s; "
                    "stopped waiting, cleaned up what it could, %zu requirements not run\n",
                    t->label, SP_JOBS_PROBE_FAILURES, jt->gone_msg, not_run);
            gone = true;
        }
    }
    run->rr.duration_s = duration_s;
    run->rr.interrupted = atomic_load(&run->jobs.stop) != 0;
    run->rr.providers = rp;
    run->rr.n_providers = run->n;
    char junit[1100], summary[1100];
    snprintf(junit, sizeof(junit), "%s/junit.xml", cfg->out_dir);
    snprintf(summary, sizeof(summary), "%s/summary.json", cfg->out_dir);
    struct sp_error e;
    char msg[512];
    sp_error_clear(&e);
    if (sp_report_junit(&run->rr, junit, &e) != SP_E_OK ||
        sp_report_summary_json(&run->rr, summary, &e) != SP_E_OK) {
        fprintf(err, "sandprobe check: %s\n", sp_error_format(&e, msg, sizeof(msg)));
        harness = true;
    } else {
        run->rr.out_dir = cfg->out_dir;
    }
    if (cfg->quiet)
        sp_report_console_problems(&run->rr, out, run->color);
    else if (run->headed > 0)
        fputc('\n', out);
    sp_report_console_footer(&run->rr, out, run->color);
    struct sp_report_counts c;
    for (size_t k = 0; k < run->n; k++) {
        sp_report_count(&run->rr, &rp[k], &c);
        harness |= c.error > 0;
    }
    if (run->rr.interrupted)
        return SP_EXIT_INTERRUPTED;
    if (harness || gone)
        return SP_EXIT_HARNESS;
    return sp_report_passed(&run->rr) ? SP_EXIT_PASS : SP_EXIT_FAIL;
}

static size_t default_jobs(const struct check_cfg *cfg, FILE *err)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    long jobs = cfg->jobs ? cfg->jobs : cfg->real ? 1 : 2 * (cores > 0 ? cores : 1);
    long cap = REAL_SANDBOX_BUDGET / REQ_SANDBOXES;
    if (cfg->real && jobs > cap) {
        fprintf(err,
                "sandprobe check: --jobs %ld capped at %ld (at most %d sandboxes at once on "
                "a real provider)\n",
                jobs, cap, REAL_SANDBOX_BUDGET);
        jobs = cap;
    }
    return (size_t)jobs;
}

/* Runs the jobs with the signal watcher up (started before the mocks, so their threads
 * inherit the blocked signals). */
static int execute(struct check_run *run)
{
    const struct check_cfg *cfg = run->cfg;
    for (size_t k = 0; k < run->n; k++) {
        run->jt[k].label = run->tg[k].label;
        run->jt[k].reqs = run->tg[k].reqs;
        run->jt[k].n = run->tg[k].n;
        run->jt[k].results = calloc(run->tg[k].n, sizeof(struct sp_req_result));
        if (run->jt[k].results == NULL)
            return SP_EXIT_HARNESS;
    }
    run->jobs = (struct sp_jobs){
        .targets = run->jt, .n_targets = run->n, .on_result = on_result, .arg = run};
    if (sp_jobs_init(&run->jobs) != 0)
        return SP_EXIT_HARNESS;
    struct sp_sigwatch_cbs cbs = {on_stop, on_force, on_duplicate, run};
    struct sp_sigwatch *sw = sp_sigwatch_start(&cbs);
    time_t started = time(NULL);
    int64_t t0 = sp_now_ms();
    int code = sp__check_start_targets(run);
    if (code < 0 && sp_report_make_dirs(cfg->out_dir) != 0) {
        fprintf(run->io->err, "sandprobe check: cannot create output directory '%s': %s\n",
                cfg->out_dir, strerror(errno));
        code = SP_EXIT_USAGE;
    }
    if (code < 0) {
        run->jobs.jobs = default_jobs(cfg, run->io->err);
        if (!cfg->quiet)
            fprintf(run->io->err, "sandprobe check: run %s on the %s target, %zu jobs\n",
                    cfg->run_id, cfg->real ? "real" : "mock", run->jobs.jobs);
        fflush(run->io->err);
        run->rr = (struct sp_report_run){.run_id = cfg->run_id,
                                         .started_at = started,
                                         .target = cfg->real ? "real" : "mock",
                                         .level = cfg->level,
                                         .verbose = cfg->verbose};
        if (sp_jobs_run(&run->jobs) != 0) {
            fprintf(run->io->err, "sandprobe check: cannot start the job threads\n");
            code = SP_EXIT_HARNESS;
        } else {
            bool clean = !atomic_load(&run->jobs.stop) || sweep_after_interrupt(run);
            code = finish(run, (double)(sp_now_ms() - t0) / 1000.0);
            if (code != SP_EXIT_INTERRUPTED)
                print_left(run, "cleanup incomplete", false);
            else if (clean)
                fprintf(run->io->err, "sandprobe check: interrupted: nothing the run created "
                                      "is left behind\n");
            else
                print_left(run, "interrupted", true);
        }
    }
    sp__check_stop_mocks(run);
    sp_sigwatch_end(sw);
    sp_jobs_free(&run->jobs);
    return code;
}

int sp_cmd_check(int argc, char *const argv[], const struct sp_cli_io *io)
{
    static char *const no_env[] = {NULL};
    struct check_cfg cfg;
    struct check_run *run = calloc(1, sizeof(*run));
    memset(&cfg, 0, sizeof(cfg));
    sp_kv_init(&cfg.env);
    int code = run ? parse_check(argc, argv, io, &cfg) : SP_EXIT_HARNESS;
    if (code < 0 && sp_kv_from_environ(&cfg.env, io->envp ? io->envp : no_env) != 0) {
        fprintf(io->err, "sandprobe check: out of memory\n");
        code = SP_EXIT_HARNESS;
    }
    if (code < 0)
        code = check_mode(&cfg, io);
    if (code < 0) {
        run->cfg = &cfg;
        run->io = io;
        run->color = isatty(fileno(io->out)) && sp_kv_get(&cfg.env, "NO_COLOR") == NULL;
        code = sp__check_build_targets(run);
    }
    if (code < 0)
        code = execute(run);
    for (size_t k = 0; run && k < MAX_TARGETS; k++) {
        free(run->tg[k].reqs);
        free(run->jt[k].results);
    }
    free(run);
    if (cfg.has_focus)
        regfree(&cfg.focus);
    if (cfg.has_skip)
        regfree(&cfg.skip);
    sp_kv_cleanup(&cfg.env);
    return code;
}
