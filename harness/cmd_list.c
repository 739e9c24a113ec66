/* `sandprobe list`: every conformance requirement with its level, tags, step and sentence —
 * what a platform engineer reads to decide what to --focus on. With --provider, whether each
 * requirement applies to that provider in its default (or --mode) configuration: the caps
 * come from a client configured against the provider's in-process mock, so no credentials
 * are needed and nothing leaves the machine. */
#include <string.h>

#include "args.h"
#include "cli.h"
#include "mock.h"
#include "provider.h"
#include "report.h"
#include "requirements.h"

enum { O_PROVIDER, O_MODE, O__COUNT };

static const struct sp_opt list_opts[O__COUNT] = {
    [O_PROVIDER] = {"provider", "NAME", "also say whether each requirement applies to NAME", NULL},
    [O_MODE] = {"mode", "MODE", "with --provider: the provider mode to judge", "provider default"},
};

static const struct sp_cmd_spec list_spec = {
    "list",
    "List every conformance requirement: id, level, tags, step and what it checks.",
    list_opts,
    O__COUNT,
};

/* "yes", "yes, mock only", "no (needs a, b)" or "no (not with a)". */
static const char *applies(const struct sp_requirement *req, unsigned caps, char *out, size_t len)
{
    unsigned missing = req->needs_caps & ~caps, excluded = req->excludes_caps & caps;
    char names[128];
    if (missing) {
        sp_caps_describe(missing, names, sizeof(names));
        snprintf(out, len, "no (needs %.*s)", (int)(len > 16 ? len - 16 : 0), names);
    } else if (excluded) {
        sp_caps_describe(excluded, names, sizeof(names));
        snprintf(out, len, "no (not with %.*s)", (int)(len > 16 ? len - 16 : 0), names);
    } else {
        snprintf(out, len, "%s", (req->flags & SP_REQ_NEEDS_MOCK) ? "yes, mock only" : "yes");
    }
    return out;
}

/* The caps of provider name (in mode) against its mock. Returns -1 when done, else the exit
 * code of the failure. */
static int
provider_caps(const char *name, const char *mode, unsigned *caps, const struct sp_cli_io *io)
{
    struct sp_mock_config mc = {.vendor = name, .quiet = true};
    struct sp_client_opts opts = {.mode = mode};
    struct sp_mock *m = NULL;
    struct sp_client *c = NULL;
    struct sp_error err;
    char msg[512];
    sp_error_clear(&err);
    enum sp_err rc = sp_mock_start(&mc, &m, &err);
    if (rc == SP_E_OK)
        rc = sp_client_new(name, sp_mock_env(m), &opts, &c, &err);
    if (rc == SP_E_OK)
        *caps = sp_client_caps(c);
    else
        fprintf(io->err, "sandprobe list: %s: %s\n", name, sp_error_format(&err, msg, sizeof(msg)));
    sp_client_free(c);
    sp_mock_stop(m);
    if (rc == SP_E_OK)
        return -1;
    return rc == SP_E_CONFIG ? SP_EXIT_USAGE : SP_EXIT_HARNESS;
}

static bool known_provider(const char *name)
{
    const char *names[16];
    size_t n = sp_provider_names(names, 16);
    for (size_t i = 0; i < n && i < 16; i++) {
        if (strcmp(names[i], name) == 0)
            return true;
    }
    return false;
}

int sp_cmd_list(int argc, char *const argv[], const struct sp_cli_io *io)
{
    struct sp_args a;
    enum sp_args_rc rc = sp_args_parse(&list_spec, argc, argv, &a);
    if (rc == SP_ARGS_HELP) {
        sp_args_help(&list_spec, io->out);
        return SP_EXIT_PASS;
    }
    if (rc == SP_ARGS_USAGE)
        return sp_args_usage(&list_spec, io->err, "%s", a.msg);
    const char *provider = a.val[O_PROVIDER];
    unsigned caps = 0;
    if (provider && !known_provider(provider))
        return sp_args_usage(&list_spec, io->err, "unknown provider '%s'", provider);
    if (a.val[O_MODE] && provider == NULL)
        return sp_args_usage(&list_spec, io->err, "--mode needs --provider");
    if (provider) {
        int code = provider_caps(provider, a.val[O_MODE], &caps, io);
        if (code >= 0)
            return code;
    }
    const struct sp_requirement *const *reqs = NULL;
    size_t n = sp_requirements(&reqs);
    for (size_t i = 0; i < n; i++) {
        const struct sp_requirement *req = reqs[i];
        char tags[256], app[160];
        fprintf(io->out, "%s [%s] %s (step %s)\n    %s\n", req->id, sp_level_name(req->level),
                sp_report_tags(req, provider, tags, sizeof(tags)), sp_step_name(req->step),
                req->sentence);
        if (provider)
            fprintf(io->out, "    applies to %s: %s\n", provider,
                    applies(req, caps, app, sizeof(app)));
    }
    fprintf(io->out, "%zu requirements\n", n);
    return SP_EXIT_PASS;
}
