/* The Runloop provider: configuration, and the lifecycle steps against Runloop's REST API as
 * runloop-api-client 0.50 drives it under OpenHands' RunloopRuntime (spec/runloop-modal.md
 * R2): create a devbox from the `openhands` prebuilt with the action server as its
 * entrypoint, named after the session; attach by name among running devboxes; shut it down
 * and confirm. Startup (runloop_startup.c) waits for `running`, opens the tunnel and polls
 * /alive; exec and files then go to the action server, or, in mode "direct", to Runloop's
 * own execute and file routes (runloop_direct.c). Mode "tunnel-v2" is the newest API
 * generation: the tunnel comes with the create body and its URL follows the v2 rule. */
#include "runloop.h"
#include "action_server.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- configuration --------------------------------------------------------------------------- */

/* v2 tunnels live at {port}-{key}.tunnel.<base domain>: api.runloop.ai -> tunnel.runloop.ai. */
static void default_tunnel_domain(struct runloop_cfg *cfg)
{
    const char *host = strstr(cfg->base_url, "://") + 3;
    size_t n = strcspn(host, "/");
    if (strncmp(host, "api.", 4) == 0)
        host += 4, n -= 4;
    snprintf(cfg->tunnel_domain, sizeof(cfg->tunnel_domain), "tunnel.%.*s", (int)n, host);
}

static int config_urls(const struct sp_kv *env, struct runloop_cfg *cfg, struct sp_error *err)
{
    if (sp__config_copy(env, "RUNLOOP_BASE_URL", RUNLOOP_DEFAULT_URL, cfg->base_url,
                        sizeof(cfg->base_url), err) != 0 ||
        sp__config_copy(env, "RUNLOOP_TUNNEL_DOMAIN", "", cfg->tunnel_domain,
                        sizeof(cfg->tunnel_domain), err) != 0 ||
        sp__config_url(cfg->base_url, "RUNLOOP_BASE_URL", err) != 0)
        return -1;
    bool http = strncmp(cfg->base_url, "http://", 7) == 0;
    snprintf(cfg->scheme, sizeof(cfg->scheme), "%s", http ? "http" : "https");
    if (cfg->tunnel_domain[0] == '\0')
        default_tunnel_domain(cfg);
    return 0;
}

/* In the order of enum runloop_mode. */
static const char *const modes[] = {"action-server", "tunnel-v2", "direct", NULL};

static int config_mode(const char *mode, struct runloop_cfg *cfg, struct sp_error *err)
{
    int i;
    if (sp__config_mode(modes, "Runloop", mode, &i, err) != 0)
        return -1;
    cfg->mode = (enum runloop_mode)i;
    return 0;
}

/* sp__config_new and sp__config_free find the credential as the config's first member. */
_Static_assert(offsetof(struct runloop_cfg, api_key) == 0, "api_key must come first");

static enum sp_err runloop_configure(const struct sp_kv *env,
                                     const struct sp_client_opts *opts,
                                     void **out,
                                     struct sp_error *err)
{
    enum sp_err rc = sp__config_new(env, "RUNLOOP_API_KEY", sizeof(struct runloop_cfg), out, err);
    struct runloop_cfg *cfg = *out;
    if (rc == SP_E_OK &&
        (config_urls(env, cfg, err) != 0 || config_mode(opts ? opts->mode : NULL, cfg, err) != 0)) {
        sp__config_free(cfg);
        *out = NULL;
        rc = SP_E_CONFIG;
    }
    return rc;
}

static unsigned runloop_caps(const void *p)
{
    const struct runloop_cfg *cfg = p;
    if (cfg->mode == RUNLOOP_MODE_DIRECT)
        return SP_CAP_LABELS | SP_CAP_SPLIT_STDERR;
    unsigned caps =
        SP_CAP_LABELS | SP_CAP_PERSIST_SHELL | SP_CAP_WRITE_NEWLINE | SP_CAP_ACTION_SERVER;
    return cfg->mode == RUNLOOP_MODE_TUNNEL_V2 ? caps | SP_CAP_ACCESS_TOKEN : caps;
}

/* Direct mode runs commands with the API's execute calls; the others use the tunnel. */
static bool runloop_exec_via_api(const void *p)
{
    const struct runloop_cfg *cfg = p;
    return cfg->mode == RUNLOOP_MODE_DIRECT;
}

/* API requests follow the SDKs' retry rule (R1), 5xx included: create always, exec when it
 * goes through the API (direct mode); the action server's data plane is not retried. */
static int runloop_attempts_5xx(const void *p, enum sp_step step)
{
    const struct runloop_cfg *cfg = p;
    if (step == SP_STEP_CREATE || (step == SP_STEP_EXEC && runloop_exec_via_api(cfg)))
        return RUNLOOP_ATTEMPTS;
    return 1;
}

/* --- requests ----------------------------------------------------------------------------------
 */

enum sp_next sp__runloop_api(const struct runloop_cfg *cfg,
                             struct sp_http_req *req,
                             enum sp_method m,
                             long timeout_ms,
                             struct sp_error *err,
                             const char *fmt,
                             ...)
{
    char rid[33];
    va_list ap;
    va_start(ap, fmt);
    int bad = sp__api_urlv(req, m, cfg->base_url, fmt, ap);
    va_end(ap);
    if (bad || sp_http_req_header(req, "Authorization", "Bearer %s", cfg->api_key) != 0 ||
        sp_http_req_header(req, "Accept", "application/json") != 0) {
        sp_error_set(err, SP_E_INTERNAL, "cannot build a Runloop request (URL too long?)");
        return SP_NEXT_FAIL;
    }
    /* The SDKs' idempotency key, on every non-GET (R1). */
    if (m != SP_HTTP_GET &&
        (sp__random_hex(rid, 32) != 0 || sp_http_req_header(req, "x-request-id", "%s", rid) != 0)) {
        sp_error_set(err, SP_E_INTERNAL, "cannot make a request id");
        return SP_NEXT_FAIL;
    }
    /* The SDKs' retry rule (R1): connection failures, 408, 409, 429, 5xx, after retry-after
     * or 1 s * 2^n. Three attempts rather than the SDKs' six, so that a check against a
     * provider that is down ends in seconds; long polls turn it off (runloop_direct.c). */
    req->retry.max_attempts_sdk = RUNLOOP_ATTEMPTS;
    req->retry.sdk_initial_ms = 1000;
    req->timeout_ms = timeout_ms;
    return SP_NEXT_REQUEST;
}

enum sp_next sp__runloop_api_json(const struct runloop_cfg *cfg,
                                  struct sp_http_req *req,
                                  const struct sp_buf *json,
                                  long timeout_ms,
                                  struct sp_error *err,
                                  const char *path)
{
    return sp__api_json_body(sp__runloop_api(cfg, req, SP_HTTP_POST, timeout_ms, err, "%s", path),
                             req, json, err);
}

enum sp_next sp__runloop_fail(const struct sp_http_rsp *rsp, const char *what, struct sp_error *err)
{
    char msg[200];
    return sp__api_fail(rsp, sp__runloop_parse_error, what, msg, sizeof(msg), err);
}

enum sp_next sp__runloop_get_devbox(struct sp_op *op, struct sp_http_req *req, struct sp_error *err)
{
    return sp__runloop_api(op->client->cfg, req, SP_HTTP_GET, 0, err, "/v1/devboxes/%s",
                           op->sandbox->id);
}

int sp__runloop_poll_state(struct sp_op *op,
                           const struct sp_http_rsp *rsp,
                           struct runloop_devbox *d,
                           struct sp_error *err)
{
    if (!sp_http_ok(rsp)) {
        sp__runloop_fail(rsp, "get devbox", err);
        return -1;
    }
    if (sp__runloop_parse_devbox(rsp->body.data, rsp->body.len, d, err) != SP_E_OK)
        return -1;
    sp__sandbox_set_state(op->sandbox, d->status);
    if (strcmp(d->status, "failure") == 0) {
        sp_error_set(err, SP_E_STATE, "devbox %s entered state failure: %.120s", d->id,
                     d->failure_reason[0] ? d->failure_reason : "(no reason given)");
        return -1;
    }
    return 0;
}

enum sp_next sp__runloop_poll_later(struct sp_op *op, const char *goal, struct sp_error *err)
{
    return sp__poll_later(op, "devbox", goal, op->client->opts.alive_interval_ms, err);
}

static struct sp_sandbox *sandbox_new(struct sp_op *op,
                                      const struct runloop_devbox *d,
                                      const char *session,
                                      struct sp_error *err)
{
    const struct runloop_cfg *cfg = op->client->cfg;
    struct sp_sandbox *sb = sp__sandbox_new(op->client);
    if (sb == NULL) {
        sp_error_set(err, SP_E_INTERNAL, "out of memory");
        return NULL;
    }
    snprintf(sb->id, sizeof(sb->id), "%s", d->id);
    snprintf(sb->session, sizeof(sb->session), "%s", d->name[0] ? d->name : session);
    sp__sandbox_set_state(sb, d->status);
    snprintf(sb->workdir, sizeof(sb->workdir), "%s",
             cfg->mode == RUNLOOP_MODE_DIRECT ? RUNLOOP_HOME : SP_AS_WORKDIR);
    return sb;
}

/* --- auth ---------------------------------------------------------------------------------------
 */

static enum sp_next runloop_auth(struct sp_op *op,
                                 const struct sp_http_rsp *rsp,
                                 struct sp_http_req *req,
                                 struct sp_error *err)
{
    if (rsp == NULL)
        return sp__runloop_api(op->client->cfg, req, SP_HTTP_GET, 0, err, "/v1/devboxes?limit=1");
    if (!sp_http_ok(rsp))
        return sp__runloop_fail(rsp, "list devboxes", err);
    struct runloop_list list = {.key = RUNLOOP_SESSION_KEY, .value = ""};
    return sp__runloop_parse_list(rsp->body.data, rsp->body.len, &list, err) == SP_E_OK
               ? SP_NEXT_DONE
               : SP_NEXT_FAIL;
}

/* --- create -------------------------------------------------------------------------------------
 */

/* RunloopRuntime's entrypoint: the server under micromamba and poetry, in `sudo bash -c` (R2). */
static int build_entrypoint(struct sp_buf *out)
{
    struct sp_buf inner;
    sp_buf_init(&inner, 0);
    int rc = sp_buf_puts(&inner, "export MAMBA_ROOT_PREFIX=/openhands/micromamba && cd "
                                 "/openhands/code && /openhands/micromamba/bin/micromamba run -n "
                                 "openhands poetry config virtualenvs.path /openhands/poetry && ");
    if (rc == 0)
        rc = sp_as_server_command(RUNLOOP_SERVER_PORT, SP_AS_WORKDIR, &inner);
    if (rc == 0)
        rc = sp_buf_puts(out, "sudo bash -c ") | sp_shell_quote(out, sp_buf_str(&inner));
    sp_buf_cleanup(&inner);
    return rc;
}

static enum sp_next create_request(
    struct sp_op *op, char *session, size_t slen, struct sp_http_req *req, struct sp_error *err)
{
    const struct runloop_cfg *cfg = op->client->cfg;
    const struct sp_create_opts *o = op->u.create;
    bool server = cfg->mode != RUNLOOP_MODE_DIRECT;
    if (sp__session_name(o->session, "name", session, slen, err) != 0)
        return SP_NEXT_FAIL;
    struct sp_buf body, entry;
    sp_buf_init(&body, 0);
    sp_buf_init(&entry, 0);
    enum sp_next next = SP_NEXT_FAIL;
    struct runloop_create_req c = {
        .name = session,
        .run_id = o->run_id,
        .prebuilt = o->image,
        .env = o->env,
        .launch_parameters = server,
        .tunnel_auth = cfg->mode != RUNLOOP_MODE_TUNNEL_V2 ? NULL
                       : o->access == SP_ACCESS_TOKEN      ? "authenticated"
                                                           : "open",
    };
    if (server && build_entrypoint(&entry) != 0) {
        sp_error_set(err, SP_E_INTERNAL, "out of memory");
    } else {
        c.entrypoint = server ? sp_buf_str(&entry) : NULL; /* direct mode: a plain devbox */
        if (sp__runloop_build_create(&c, &body, err) == SP_E_OK)
            next = sp__runloop_api_json(cfg, req, &body, 0, err, "/v1/devboxes");
    }
    sp_buf_cleanup(&body);
    sp_buf_cleanup(&entry);
    return next;
}

struct create_ctx {
    char session[128];
};

static enum sp_next runloop_create(struct sp_op *op,
                                   const struct sp_http_rsp *rsp,
                                   struct sp_http_req *req,
                                   struct sp_error *err)
{
    struct create_ctx *ctx = op->ctx;
    if (rsp == NULL) {
        if ((ctx = sp__op_ctx_new(op, sizeof(*ctx), free, err)) == NULL)
            return SP_NEXT_FAIL;
        return create_request(op, ctx->session, sizeof(ctx->session), req, err);
    }
    if (!sp_http_ok(rsp))
        return sp__runloop_fail(rsp, "create devbox", err);
    struct runloop_devbox d;
    if (sp__runloop_parse_devbox(rsp->body.data, rsp->body.len, &d, err) != SP_E_OK)
        return SP_NEXT_FAIL;
    op->sandbox = sandbox_new(op, &d, ctx->session, err);
    return op->sandbox ? SP_NEXT_DONE : SP_NEXT_FAIL;
}

/* --- attach -------------------------------------------------------------------------------------
 */

#define ATTACH_MAX_PAGES 100

/* Every page of the devboxes: the running ones for a session, as RunloopRuntime attaches,
 * and all but shut down ones for a metadata key (a run's devboxes may still be booting).
 * OpenHands reads only the first page (20 devboxes by the server's default), so it misses
 * a session beyond it; we follow `has_more`. */
static enum sp_next
attach_request(struct sp_op *op, const char *after, struct sp_http_req *req, struct sp_error *err)
{
    bool session = strcmp(op->u.attach.key, RUNLOOP_SESSION_KEY) == 0;
    return sp__runloop_api(op->client->cfg, req, SP_HTTP_GET, 0, err, "/v1/devboxes?%slimit=%d%s%s",
                           session ? "status=running&" : "", RUNLOOP_LIST_LIMIT,
                           after[0] ? "&starting_after=" : "", after);
}

static enum sp_next
attach_decide(struct sp_op *op, const struct runloop_list *l, struct sp_error *err)
{
    if (l->matches == 0) {
        sp_error_set(err, SP_E_NOT_FOUND, "no live devbox has %.60s=%.100s", l->key, l->value);
        return SP_NEXT_FAIL;
    }
    if (l->matches > 1) {
        sp_error_set(err, SP_E_CONFLICT, "%zu live devboxes have %.60s=%.100s", l->matches, l->key,
                     l->value);
        return SP_NEXT_FAIL;
    }
    const char *session = strcmp(l->key, RUNLOOP_SESSION_KEY) == 0 ? l->value : "";
    op->sandbox = sandbox_new(op, &l->first, session, err);
    return op->sandbox ? SP_NEXT_DONE : SP_NEXT_FAIL;
}

struct attach_ctx {
    struct runloop_list list;
    int pages;
};

static enum sp_next runloop_attach(struct sp_op *op,
                                   const struct sp_http_rsp *rsp,
                                   struct sp_http_req *req,
                                   struct sp_error *err)
{
    struct attach_ctx *ctx = op->ctx;
    if (rsp == NULL) {
        if ((ctx = sp__attach_begin(op, sizeof(*ctx), err)) == NULL)
            return SP_NEXT_FAIL;
        ctx->list.key = op->u.attach.key;
        ctx->list.value = op->u.attach.value;
        return attach_request(op, "", req, err);
    }
    if (!sp_http_ok(rsp))
        return sp__runloop_fail(rsp, "list devboxes", err);
    if (sp__runloop_parse_list(rsp->body.data, rsp->body.len, &ctx->list, err) != SP_E_OK)
        return SP_NEXT_FAIL;
    if (!ctx->list.has_more)
        return attach_decide(op, &ctx->list, err);
    if (sp__list_next_page(&ctx->pages, ATTACH_MAX_PAGES, "devbox list", err) != 0)
        return SP_NEXT_FAIL;
    return attach_request(op, ctx->list.last_id, req, err);
}

/* --- cleanup ------------------------------------------------------------------------------------
 */

enum { CL_BEGIN, CL_SHUTDOWN, CL_CONFIRM };

/* A refused shutdown (the devbox was already shut down) is decided by the confirming GET. */
struct cleanup_ctx {
    bool refused;
    struct sp_error refusal;
};

static enum sp_next cleanup_confirm(struct sp_op *op,
                                    struct cleanup_ctx *ctx,
                                    const struct sp_http_rsp *rsp,
                                    struct sp_error *err)
{
    struct runloop_devbox d;
    if (rsp->transport == SP_E_OK && rsp->status == 404 && ctx->refused) {
        *err = ctx->refusal;
        return SP_NEXT_FAIL;
    }
    if (!sp_http_ok(rsp))
        return sp__runloop_fail(rsp, "get devbox", err);
    if (sp__runloop_parse_devbox(rsp->body.data, rsp->body.len, &d, err) != SP_E_OK)
        return SP_NEXT_FAIL;
    sp__sandbox_set_state(op->sandbox, d.status);
    if (strcmp(d.status, "shutdown") == 0)
        return SP_NEXT_DONE;
    if (ctx->refused) {
        *err = ctx->refusal;
        return SP_NEXT_FAIL;
    }
    return sp__runloop_poll_later(op, "shut down", err);
}

static enum sp_next runloop_cleanup(struct sp_op *op,
                                    const struct sp_http_rsp *rsp,
                                    struct sp_http_req *req,
                                    struct sp_error *err)
{
    struct cleanup_ctx *ctx = op->ctx;
    if (op->state == CL_BEGIN) {
        /* Runloop's shutdown is final; suspend/resume is not OpenHands' path. */
        if (op->u.cleanup == SP_CLEANUP_STOP) {
            sp_error_set(err, SP_E_UNSUPPORTED, "Runloop devboxes are shut down, not stopped");
            return SP_NEXT_FAIL;
        }
        if ((ctx = sp__op_ctx_new(op, sizeof(*ctx), free, err)) == NULL)
            return SP_NEXT_FAIL;
        op->deadline_ms = sp_now_ms() + op->client->opts.ready_timeout_ms;
        op->state = CL_SHUTDOWN;
        char path[256];
        snprintf(path, sizeof(path), "/v1/devboxes/%s/shutdown", op->sandbox->id);
        return sp__runloop_api_json(op->client->cfg, req, NULL, 0, err, path);
    }
    if (rsp == NULL)
        return sp__runloop_get_devbox(op, req, err);
    if (op->state == CL_SHUTDOWN) {
        if (!sp_http_ok(rsp)) {
            if (rsp->transport != SP_E_OK || rsp->status >= 500 || rsp->status == 401 ||
                rsp->status == 403)
                return sp__runloop_fail(rsp, "shut down devbox", err);
            sp__runloop_fail(rsp, "shut down devbox", &ctx->refusal);
            ctx->refused = true;
        }
        op->state = CL_CONFIRM;
        return sp__runloop_get_devbox(op, req, err);
    }
    return cleanup_confirm(op, ctx, rsp, err);
}

static const char *const credential_vars[] = {"RUNLOOP_API_KEY", NULL};

const struct sp_provider sp_provider_runloop = {
    .name = "runloop",
    .session_key = RUNLOOP_SESSION_KEY,
    .configure = runloop_configure,
    .cfg_free = sp__config_free,
    .caps = runloop_caps,
    .attempts_5xx = runloop_attempts_5xx,
    .attempts_429 = runloop_attempts_5xx, /* the SDKs' rule retries 429 as it does 5xx */
    .exec_via_api = runloop_exec_via_api,
    .auth = runloop_auth,
    .create = runloop_create,
    .attach = runloop_attach,
    .startup = sp__runloop_startup,
    .exec = sp__runloop_direct_exec,
    .files = sp__runloop_direct_files,
    .cleanup = runloop_cleanup,
    .list = sp__runloop_step_list,
    .credential_vars = credential_vars,
    .modes = modes,
};
