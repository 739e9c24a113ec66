/* `sandprobe sweep`: deletes what a killed run left behind. Every sandbox sandprobe creates
 * carries the run label SP_RUN_LABEL ("sandprobe_run=<run id>"); sweep lists the provider's
 * sandboxes, keeps those that carry it (and --label, and --older-than), and deletes them.
 * A sandbox without the run label is never touched, whatever the other filters say.
 *
 * Where it points: with --target real, the provider the environment names (a real service);
 * otherwise (the default, `mock`) the same variables, but every request must go to loopback:
 * that is a mock started with `sandprobe mock`, whose ready line prints the variables to
 * export. A stray real URL in the environment is then refused, never contacted. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "args.h"
#include "cli.h"
#include "provider.h"

enum { O_PROVIDER, O_TARGET, O_LABEL, O_OLDER, O_DRY_RUN, O__COUNT };

static const struct sp_opt sweep_opts[O__COUNT] = {
    [O_PROVIDER] = {"provider", "NAME", "provider to sweep (required)", NULL},
    [O_TARGET] = {"target", "mock|real",
                  "real: the provider's service; mock: a `sandprobe mock` on loopback, found by "
                  "the variables its ready line prints",
                  "mock"},
    [O_LABEL] = {"label", "KEY=VALUE",
                 "only sandboxes that also carry this label, e.g. sandprobe_run=<run id>", NULL},
    [O_OLDER] = {"older-than", "D",
                 "only sandboxes created at least D ago (90s, 30m, 2h, 1d; plain = seconds)", NULL},
    [O_DRY_RUN] = {"dry-run", NULL, "list what would be deleted, delete nothing", NULL},
};

static const struct sp_cmd_spec sweep_spec = {
    "sweep",
    "Delete the sandboxes a killed run left: those carrying sandprobe's run label\n"
    "(" SP_RUN_LABEL "), never one without it. Exit 0 when every one was deleted.",
    sweep_opts,
    O__COUNT,
};

struct sweep_cfg {
    const char *provider;
    bool real, dry_run;
    char label_key[128];
    const char *label_value; /* points into argv; NULL without --label */
    long long older_ms;      /* -1 without --older-than */
};

/* "90", "90s", "30m", "2h", "1d" into milliseconds; -1 when it is none of those. */
static long long parse_duration(const char *s)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    long long unit = 1000;
    if (end == s || v < 0 || v > 100LL * 365 * 86400)
        return -1;
    if (*end == 'm')
        unit = 60000;
    else if (*end == 'h')
        unit = 3600000;
    else if (*end == 'd')
        unit = 86400000;
    else if (*end != 's' && *end != '\0')
        return -1;
    return end[*end ? 1 : 0] == '\0' ? v * unit : -1;
}

static int
parse_cfg(int argc, char *const argv[], const struct sp_cli_io *io, struct sweep_cfg *cfg)
{
    struct sp_args a;
    switch (sp_args_parse(&sweep_spec, argc, argv, &a)) {
    case SP_ARGS_HELP:
        sp_args_help(&sweep_spec, io->out);
        return SP_EXIT_PASS;
    case SP_ARGS_USAGE:
        return sp_args_usage(&sweep_spec, io->err, "%s", a.msg);
    case SP_ARGS_OK:
        break;
    }
    *cfg = (struct sweep_cfg){.provider = a.val[O_PROVIDER], .older_ms = -1};
    const char *target = a.val[O_TARGET] ? a.val[O_TARGET] : "mock";
    cfg->dry_run = a.val[O_DRY_RUN] != NULL;
    cfg->real = strcmp(target, "real") == 0;
    if (cfg->provider == NULL)
        return sp_args_usage(&sweep_spec, io->err, "--provider is required");
    if (!cfg->real && strcmp(target, "mock") != 0)
        return sp_args_usage(&sweep_spec, io->err, "invalid --target '%s' (mock or real)", target);
    if (a.val[O_LABEL]) {
        const char *eq = strchr(a.val[O_LABEL], '=');
        size_t kl = eq ? (size_t)(eq - a.val[O_LABEL]) : 0;
        if (kl == 0 || kl >= sizeof(cfg->label_key) || eq[1] == '\0')
            return sp_args_usage(&sweep_spec, io->err, "invalid --label '%s' (KEY=VALUE)",
                                 a.val[O_LABEL]);
        memcpy(cfg->label_key, a.val[O_LABEL], kl);
        cfg->label_key[kl] = '\0';
        cfg->label_value = eq + 1;
    }
    if (a.val[O_OLDER] && (cfg->older_ms = parse_duration(a.val[O_OLDER])) < 0)
        return sp_args_usage(&sweep_spec, io->err,
                             "invalid --older-than '%s' (e.g. 90s, 30m, 2h, 1d)", a.val[O_OLDER]);
    return -1;
}

static long long wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Why item is left alone, or NULL when it is to be deleted. */
static const char *
skip_reason(const struct sweep_cfg *cfg, const struct sp_listed *item, long long now)
{
    if (sp_kv_get(&item->labels, SP_RUN_LABEL) == NULL)
        return "no " SP_RUN_LABEL " label";
    if (cfg->label_value) {
        const char *v = sp_kv_get(&item->labels, cfg->label_key);
        if (v == NULL || strcmp(v, cfg->label_value) != 0)
            return "--label does not match";
    }
    if (cfg->older_ms >= 0 && item->created_ms == 0)
        return "the provider does not say when it was created";
    if (cfg->older_ms >= 0 && now - item->created_ms < cfg->older_ms)
        return "younger than --older-than";
    return NULL;
}

/* Deletes one sandbox; prints what happened. Returns 0 or -1. */
static int delete_one(struct sp_client *c, const struct sp_listed *item, FILE *out)
{
    struct sp_sandbox *sb = NULL;
    struct sp_error err;
    char msg[512];
    sp_error_clear(&err);
    enum sp_err rc = sp_sandbox_from_id(c, item->id, &sb, &err);
    if (rc == SP_E_OK)
        rc = sp_sandbox_cleanup(sb, SP_CLEANUP_DELETE, &err);
    sp_sandbox_free(sb);
    if (rc == SP_E_OK) {
        fprintf(out, "deleted %s (%s=%s)\n", item->id, SP_RUN_LABEL,
                sp_kv_get(&item->labels, SP_RUN_LABEL));
        return 0;
    }
    fprintf(out, "FAILED  %s: %s\n", item->id, sp_error_format(&err, msg, sizeof(msg)));
    return -1;
}

/* Lists, filters and deletes. Returns the exit code. */
static int sweep(struct sp_client *c, const struct sweep_cfg *cfg, const struct sp_cli_io *io)
{
    struct sp_list list;
    struct sp_error err;
    char msg[512];
    sp_list_init(&list);
    sp_error_clear(&err);
    enum sp_err rc =
        sp_sandbox_list(c, cfg->label_value ? cfg->label_key : NULL, cfg->label_value, &list, &err);
    if (rc != SP_E_OK) {
        fprintf(io->err, "sandprobe sweep: %s: cannot list sandboxes: %s\n", cfg->provider,
                sp_error_format(&err, msg, sizeof(msg)));
        sp_list_cleanup(&list);
        return rc == SP_E_CONFIG || rc == SP_E_AUTH ? SP_EXIT_USAGE : SP_EXIT_HARNESS;
    }
    long long now = wall_ms();
    size_t chosen = 0, deleted = 0, failed = 0, unlabelled = 0;
    for (size_t i = 0; i < list.n; i++) {
        const struct sp_listed *item = &list.items[i];
        const char *why = skip_reason(cfg, item, now);
        unlabelled += sp_kv_get(&item->labels, SP_RUN_LABEL) == NULL;
        if (why != NULL)
            continue;
        chosen++;
        if (cfg->dry_run)
            fprintf(io->out, "would delete %s (%s=%s, state %s)\n", item->id, SP_RUN_LABEL,
                    sp_kv_get(&item->labels, SP_RUN_LABEL), item->state[0] ? item->state : "?");
        else if (delete_one(c, item, io->out) == 0)
            deleted++;
        else
            failed++;
    }
    fprintf(io->out,
            "sweep %s: %zu sandboxes listed, %zu carry the run label and match, %zu %s, "
            "%zu failed; %zu without the run label left alone\n",
            cfg->provider, list.n, chosen, cfg->dry_run ? chosen : deleted,
            cfg->dry_run ? "would be deleted (dry run)" : "deleted", failed, unlabelled);
    sp_list_cleanup(&list);
    return failed ? SP_EXIT_HARNESS : SP_EXIT_PASS;
}

int sp_cmd_sweep(int argc, char *const argv[], const struct sp_cli_io *io)
{
    struct sweep_cfg cfg;
    int code = parse_cfg(argc, argv, io, &cfg);
    if (code >= 0)
        return code;
    static char *const no_env[] = {NULL};
    struct sp_kv env;
    struct sp_client *c = NULL;
    struct sp_error err;
    char msg[512];
    struct sp_client_opts opts = {.loopback_only = !cfg.real};
    sp_kv_init(&env);
    sp_error_clear(&err);
    if (sp_kv_from_environ(&env, io->envp ? io->envp : no_env) != 0) {
        fprintf(io->err, "sandprobe sweep: out of memory\n");
        code = SP_EXIT_HARNESS;
    } else if (sp_client_new(cfg.provider, &env, &opts, &c, &err) != SP_E_OK) {
        fprintf(io->err, "sandprobe sweep: %s: %s%s\n", cfg.provider,
                sp_error_format(&err, msg, sizeof(msg)),
                cfg.real ? ""
                         : " (without --target real, sweep talks to a `sandprobe mock`: "
                           "export the env of its ready line)");
        code = err.code == SP_E_CONFIG ? SP_EXIT_USAGE : SP_EXIT_HARNESS;
    } else {
        code = sweep(c, &cfg, io);
    }
    sp_client_free(c);
    sp_kv_cleanup(&env);
    return code;
}
