/* The targets of `sandprobe check` (see check_int.h): a provider in a mode with its
 * selected requirements, its mock on the mock target, and the preflight that configures a
 * client and asks one authenticated question before anything runs, so a missing or
 * rejected credential (exit 2) or an unreachable provider (exit 3) is one message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_int.h"

bool sp__check_selected(const struct check_cfg *cfg,
                        const struct sp_requirement *req,
                        const char *provider)
{
    char tags[256], line[512];
    snprintf(line, sizeof(line), "%s [%s] %s", req->id, sp_level_name(req->level),
             sp_report_tags(req, provider, tags, sizeof(tags)));
    if (cfg->has_focus && regexec(&cfg->focus, line, 0, NULL, 0) != 0)
        return false;
    return !(cfg->has_skip && regexec(&cfg->skip, line, 0, NULL, 0) == 0);
}

/* mkdir -p. Returns 0, or -1 with errno set. */

static void add_target(struct check_run *run, const char *provider, const char *mode)
{
    if (run->n == MAX_TARGETS)
        return;
    struct target *t = &run->tg[run->n++];
    t->provider = provider;
    t->mode = mode;
    snprintf(t->label, sizeof(t->label), "%s%s%s%s", provider, mode ? " (" : "", mode ? mode : "",
             mode ? ")" : "");
}

/* Selects each target's requirements; a target none of them applies to is dropped (no empty
 * summary), and a filter that leaves out the leak check says so once. Returns -1 to go on. */
static int select_requirements(struct check_run *run)
{
    const struct sp_requirement *const *reqs = NULL;
    size_t n = sp_requirements(&reqs), kept = 0;
    const char *dropped_last = NULL;
    for (size_t k = 0; k < run->n; k++) {
        struct target *t = &run->tg[k];
        t->reqs = calloc(n ? n : 1, sizeof(*t->reqs));
        if (t->reqs == NULL)
            return SP_EXIT_HARNESS;
        for (size_t i = 0; i < n; i++) {
            if (sp__check_selected(run->cfg, reqs[i], t->provider))
                t->reqs[t->n++] = reqs[i];
            else if (reqs[i]->flags & SP_REQ_LAST)
                dropped_last = reqs[i]->id;
        }
        if (t->n == 0) {
            free(t->reqs);
            continue;
        }
        run->tg[kept++] = *t;
    }
    for (size_t k = kept; k < run->n; k++)
        memset(&run->tg[k], 0, sizeof(run->tg[k]));
    run->n = kept;
    if (kept == 0)
        return sp_args_usage(&sp__check_spec, run->io->err,
                             "--focus/--skip select no requirement (see 'sandprobe list')");
    if (dropped_last && !run->cfg->quiet)
        fprintf(run->io->err,
                "sandprobe check: note: the filter leaves out %s: this run does not check "
                "that nothing is left behind\n",
                dropped_last);
    return -1;
}

/* Every provider named; with --provider all, each in each of its modes. */
int sp__check_build_targets(struct check_run *run)
{
    const struct check_cfg *cfg = run->cfg;
    for (size_t i = 0; i < cfg->n_providers; i++) {
        const char *p = cfg->providers[i];
        const char *const *modes = sp_provider_modes(p);
        if (cfg->mode)
            add_target(run, p, cfg->mode);
        else if (modes == NULL)
            add_target(run, p, NULL);
        else if (!cfg->all)
            add_target(run, p, modes[0]);
        for (size_t m = 0; cfg->all && !cfg->mode && modes && modes[m]; m++)
            add_target(run, p, modes[m]);
    }
    return select_requirements(run);
}

/* Client options: the defaults for a real provider; short polls and deadlines on the mock,
 * which answers in milliseconds with its zero latency, so a hang there fails fast. */
static struct sp_client_opts client_opts(const struct check_cfg *cfg, const char *mode)
{
    struct sp_client_opts o = {.mode = mode};
    if (!cfg->real) {
        o.http_timeout_ms = 10000;
        o.connect_timeout_ms = 2000;
        o.ready_timeout_ms = 30000;
        o.alive_interval_ms = 50;
        o.alive_timeout_ms = 30000;
    }
    return o;
}

/* The variable that points the provider at its service, for messages: the first one named
 * like <PROVIDER>_..._URL or ..._DOMAIN in env. */
static const char *url_of(const char *provider, const struct sp_kv *env, char *out, size_t len)
{
    char prefix[32];
    size_t i = 0;
    for (; provider[i] && i + 2 < sizeof(prefix); i++)
        prefix[i] =
            (char)(provider[i] >= 'a' && provider[i] <= 'z' ? provider[i] - 32 : provider[i]);
    prefix[i++] = '_';
    prefix[i] = '\0';
    for (size_t k = 0; env && k < env->n; k++) {
        const char *name = env->items[k].key;
        if (strncmp(name, prefix, strlen(prefix)) == 0 &&
            (strstr(name, "URL") || strstr(name, "DOMAIN"))) {
            snprintf(out, len, "%s (%s)", env->items[k].val, name);
            return out;
        }
    }
    snprintf(out, len, "the provider's default address");
    return out;
}

/* Configures a client and asks one authenticated question with short deadlines. A missing
 * credential or a rejected one is a configuration error (2), no answer a harness error (3);
 * with --provider all on a real target a missing credential skips the provider instead.
 * Returns -1 to go on. */
static int preflight(struct check_run *run, struct target *t, const struct sp_kv *env)
{
    const struct check_cfg *cfg = run->cfg;
    FILE *err = run->io->err;
    struct sp_client_opts o = t->opts;
    o.http_timeout_ms = o.connect_timeout_ms = cfg->real ? 10000 : 2000;
    struct sp_client *c = NULL;
    struct sp_error e;
    char msg[512], where[400];
    sp_error_clear(&e);
    enum sp_err rc = sp_client_new(t->provider, env, &o, &c, &e);
    if (rc == SP_E_CONFIG && cfg->all && cfg->real) {
        snprintf(t->skipped, sizeof(t->skipped), "%s", e.msg);
        if (t == run->tg || strcmp(t[-1].provider, t->provider) != 0) /* once per provider */
            fprintf(err, "sandprobe check: %s: skipped: %s\n", t->provider, e.msg);
        return -1;
    }
    if (rc == SP_E_OK)
        rc = sp_auth(c, &e);
    sp_client_free(c);
    if (rc == SP_E_OK)
        return -1;
    sp_error_format(&e, msg, sizeof(msg));
    if (rc == SP_E_CONFIG) {
        fprintf(err, "sandprobe check: %s: %s\n", t->label, msg);
        return SP_EXIT_USAGE;
    }
    const char *const *vars = sp_provider_credential_vars(t->provider);
    if (rc == SP_E_AUTH) {
        fprintf(err, "sandprobe check: %s: the provider rejected the credential in %s: %s\n",
                t->label, vars && vars[0] ? vars[0] : "its key variable", msg);
        return SP_EXIT_USAGE;
    }
    fprintf(err, "sandprobe check: %s: cannot reach the provider at %s: %s\n", t->label,
            url_of(t->provider, env, where, sizeof(where)), msg);
    return SP_EXIT_HARNESS;
}

/* Requirements that wait out a deadline: short on the zero-latency mocks; with --latency the
 * sandbox's own delays must fit in it; the runner's default on a real provider. */
static long fault_deadline(const struct check_cfg *cfg)
{
    if (cfg->real)
        return 0;
    return cfg->n_latency ? 5000 : 300;
}

/* Starts each target's mock (mock target) and runs the preflight. Returns -1 to go on. */
int sp__check_start_targets(struct check_run *run)
{
    const struct check_cfg *cfg = run->cfg;
    size_t ready = 0;
    for (size_t k = 0; k < run->n; k++) {
        struct target *t = &run->tg[k];
        t->opts = client_opts(cfg, t->mode);
        const struct sp_kv *env = &cfg->env;
        if (!cfg->real) {
            /* Zero latency unless asked: has_latency with nothing set. */
            struct sp_mock_config mc = {.vendor = t->provider, .quiet = true, .has_latency = true};
            struct sp_error e;
            char msg[512];
            sp_error_clear(&e);
            for (size_t i = 0; i < cfg->n_latency; i++)
                sp_mock_latency_parse(&mc, cfg->latency[i], &e); /* checked in parse_check */
            if (sp_mock_start(&mc, &t->mock, &e) != SP_E_OK) {
                fprintf(run->io->err, "sandprobe check: %s: cannot start the mock: %s\n", t->label,
                        sp_error_format(&e, msg, sizeof(msg)));
                return SP_EXIT_HARNESS;
            }
            env = sp_mock_env(t->mock);
        }
        int code = preflight(run, t, env);
        if (code >= 0)
            return code;
        ready += t->skipped[0] == '\0';
        struct sp_jobs_target *jt = &run->jt[k];
        jt->t.provider = t->provider; /* its hooks are the pool's, set by sp_jobs_init */
        jt->t.env = env;
        jt->t.opts = &t->opts;
        jt->t.mock = t->mock;
        jt->t.run_id = cfg->run_id;
        jt->t.fault_deadline_ms = fault_deadline(cfg);
        jt->not_run = t->skipped[0] ? t->skipped : NULL;
        jt->probe_interval_ms = cfg->real ? 2000 : 500;
        jt->probe_timeout_ms = cfg->real ? 10000 : 2000;
    }
    if (ready > 0)
        return -1;
    fprintf(run->io->err, "sandprobe check: no provider has credentials; nothing to run\n");
    return SP_EXIT_USAGE;
}

void sp__check_stop_mocks(struct check_run *run)
{
    for (size_t k = 0; k < run->n; k++) {
        sp_mock_stop(run->tg[k].mock);
        run->tg[k].mock = NULL;
    }
}
