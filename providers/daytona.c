/* The Daytona provider: configuration, and the lifecycle steps against Daytona's REST API
 * as SDK 0.24.2 drives it (spec/daytona-runloop.md Part A), with OpenHands' DaytonaRuntime
 * sequence on top (spec/openhands-action-server.md 5.1): create with the session label,
 * wait for `started`, start the action server in a toolbox session, take the preview URL
 * of port 4444, poll /alive. exec and files then go to the action server (action_server.c),
 * or, in mode "toolbox", to Daytona's own toolbox API (daytona_toolbox.c). */
#include "daytona.h"
#include "action_server.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* --- configuration -----------------------------------------------------------------------------
 */

static int env_bool(const struct sp_kv *env, const char *name, bool *out, struct sp_error *err)
{
    const char *v = sp_kv_get(env, name);
    *out = false;
    if (v == NULL || v[0] == '\0' || strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0 ||
        strcasecmp(v, "no") == 0)
        return 0;
    if (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcasecmp(v, "yes") == 0) {
        *out = true;
        return 0;
    }
    sp_error_set(err, SP_E_CONFIG, "%s must be true or false, not '%.40s'", name, v);
    return -1;
}

static int config_url(const struct sp_kv *env, struct daytona_cfg *cfg, struct sp_error *err)
{
    if (sp__config_copy(env, "DAYTONA_API_URL", DAYTONA_DEFAULT_URL, cfg->api_url,
                        sizeof(cfg->api_url), err) != 0)
        return -1;
    return sp__config_url(cfg->api_url, "DAYTONA_API_URL", err);
}

static const char *const modes[] = {"action-server", "toolbox", NULL}; /* enum daytona_mode */

static int config_mode(const char *mode, struct daytona_cfg *cfg, struct sp_error *err)
{
    int i;
    if (sp__config_mode(modes, "Daytona", mode, &i, err) != 0)
        return -1;
    cfg->mode = (enum daytona_mode)i;
    return 0;
}

/* sp__config_new and sp__config_free find the credential as the config's first member. */
_Static_assert(offsetof(struct daytona_cfg, api_key) == 0, "api_key must come first");

static enum sp_err daytona_configure(const struct sp_kv *env,
                                     const struct sp_client_opts *opts,
                                     void **out,
                                     struct sp_error *err)
{
    enum sp_err rc = sp__config_new(env, "DAYTONA_API_KEY", sizeof(struct daytona_cfg), out, err);
    struct daytona_cfg *cfg = *out;
    if (rc == SP_E_OK &&
        (config_url(env, cfg, err) != 0 ||
         sp__config_copy(env, "DAYTONA_TARGET", "", cfg->target, sizeof(cfg->target), err) != 0 ||
         sp__config_copy(env, "DAYTONA_SNAPSHOT", "", cfg->snapshot, sizeof(cfg->snapshot), err) !=
             0 ||
         env_bool(env, "DAYTONA_DELETE_ON_CLOSE", &cfg->delete_on_close, err) != 0 ||
         env_bool(env, "DAYTONA_DISABLE_AUTO_STOP", &cfg->disable_auto_stop, err) != 0 ||
         config_mode(opts ? opts->mode : NULL, cfg, err) != 0)) {
        sp__config_free(cfg);
        *out = NULL;
        rc = SP_E_CONFIG;
    }
    return rc;
}

static unsigned daytona_caps(const void *p)
{
    const struct daytona_cfg *cfg = p;
    if (cfg->mode == DAYTONA_MODE_TOOLBOX)
        return SP_CAP_LABELS | SP_CAP_STOP | SP_CAP_FILE_STAT | SP_CAP_FILE_MKDIR |
               SP_CAP_FILE_REMOVE;
    return SP_CAP_LABELS | SP_CAP_PERSIST_SHELL | SP_CAP_WRITE_NEWLINE | SP_CAP_STOP |
           SP_CAP_ACCESS_TOKEN | SP_CAP_ACTION_SERVER;
}

/* --- requests ----------------------------------------------------------------------------------
 */

enum sp_next sp__daytona_api(const struct daytona_cfg *cfg,
                             struct sp_http_req *req,
                             enum sp_method m,
                             long timeout_ms,
                             struct sp_error *err,
                             const char *fmt,
                             ...)
{
    va_list ap;
    va_start(ap, fmt);
    int bad = sp__api_urlv(req, m, cfg->api_url, fmt, ap);
    va_end(ap);
    if (bad || sp_http_req_header(req, "Authorization", "Bearer %s", cfg->api_key) != 0 ||
        sp_http_req_header(req, "X-Daytona-Source", "sandprobe") != 0 ||
        sp_http_req_header(req, "X-Daytona-SDK-Version", DAYTONA_SDK_VERSION) != 0) {
        sp_error_set(err, SP_E_INTERNAL, "cannot build a Daytona request (URL too long?)");
        return SP_NEXT_FAIL;
    }
    req->timeout_ms = timeout_ms;
    return SP_NEXT_REQUEST;
}

enum sp_next sp__daytona_api_json(const struct daytona_cfg *cfg,
                                  struct sp_http_req *req,
                                  const struct sp_buf *json,
                                  long timeout_ms,
                                  struct sp_error *err,
                                  const char *path)
{
    return sp__api_json_body(sp__daytona_api(cfg, req, SP_HTTP_POST, timeout_ms, err, "%s", path),
                             req, json, err);
}

enum sp_next sp__daytona_fail(const struct sp_http_rsp *rsp, const char *what, struct sp_error *err)
{
    char msg[200];
    sp__api_fail(rsp, sp__daytona_parse_error, what, msg, sizeof(msg), err);
    /* 0.24.2 answers 400 where the newest API answers 409 (A3.1). */
    if (err && msg[0] && rsp->status == 400 &&
        (strstr(msg, "not in valid state") || strstr(msg, "tate change in progress") ||
         strstr(msg, "is not started") || strstr(msg, "is not running")))
        err->code = SP_E_CONFLICT;
    return SP_NEXT_FAIL;
}

/* A handle for a sandbox the API described. In action-server mode the session key (ours
 * at create, read back from the sandbox env at attach) goes on every data-plane request. */
static struct sp_sandbox *sandbox_new(struct sp_op *op,
                                      const struct daytona_sandbox *d,
                                      const char *session,
                                      const char *session_api_key,
                                      struct sp_error *err)
{
    const struct daytona_cfg *cfg = op->client->cfg;
    struct sp_sandbox *sb = sp__sandbox_new(op->client);
    if (sb == NULL || (session_api_key && session_api_key[0] &&
                       sp_kv_set(&sb->data_headers, SP_AS_SESSION_HEADER, session_api_key) != 0)) {
        sp_sandbox_free(sb);
        sp_error_set(err, SP_E_INTERNAL, "out of memory");
        return NULL;
    }
    snprintf(sb->id, sizeof(sb->id), "%s", d->id);
    snprintf(sb->session, sizeof(sb->session), "%s", d->session[0] ? d->session : session);
    sp__sandbox_set_state(sb, d->state);
    if (cfg->mode == DAYTONA_MODE_ACTION_SERVER)
        snprintf(sb->workdir, sizeof(sb->workdir), "%s", SP_AS_WORKDIR);
    if (!d->is_public)
        sb->flags |= SP_SB_TOKEN;
    return sb;
}

/* --- auth --------------------------------------------------------------------------------------
 */

/* One cheap authenticated call: a label-filtered list that matches nothing we made. */
static enum sp_next daytona_auth(struct sp_op *op,
                                 const struct sp_http_rsp *rsp,
                                 struct sp_http_req *req,
                                 struct sp_error *err)
{
    const struct daytona_cfg *cfg = op->client->cfg;
    if (rsp == NULL)
        return sp__daytona_api(cfg, req, SP_HTTP_GET, 0, err,
                               "/sandbox?labels=%%7B%%22sandprobe_auth%%22%%3A%%22probe%%22%%7D");
    if (!sp_http_ok(rsp))
        return sp__daytona_fail(rsp, "list sandboxes", err);
    struct daytona_list list;
    memset(&list, 0, sizeof(list));
    return sp__daytona_parse_list(rsp->body.data, rsp->body.len, &list, err) == SP_E_OK
               ? SP_NEXT_DONE
               : SP_NEXT_FAIL;
}

/* --- create ------------------------------------------------------------------------------------
 */

struct create_ctx {
    char session[128];
    char key[33]; /* SESSION_API_KEY for the action server; "" in toolbox mode */
};

static enum sp_next create_request(struct sp_op *op,
                                   struct create_ctx *ctx,
                                   struct sp_http_req *req,
                                   struct sp_error *err)
{
    const struct daytona_cfg *cfg = op->client->cfg;
    const struct sp_create_opts *o = op->u.create;
    bool server = cfg->mode == DAYTONA_MODE_ACTION_SERVER;
    if (sp__session_name(o->session, "label", ctx->session, sizeof(ctx->session), err) != 0)
        return SP_NEXT_FAIL;
    if (server && sp__random_hex(ctx->key, 32) != 0) {
        sp_error_set(err, SP_E_INTERNAL, "cannot read /dev/urandom");
        return SP_NEXT_FAIL;
    }
    struct daytona_create_req c = {
        .snapshot = o->image           ? o->image
                    : cfg->snapshot[0] ? cfg->snapshot
                                       : NULL,
        .target = cfg->target[0] ? cfg->target : NULL,
        .session = ctx->session,
        .run_id = o->run_id,
        .session_api_key = server ? ctx->key : NULL,
        .env = o->env,
        .action_server = server,
        .is_public = o->access != SP_ACCESS_TOKEN,
        .auto_stop_minutes = cfg->disable_auto_stop ? 0 : 60,
    };
    struct sp_buf body;
    sp_buf_init(&body, 0);
    enum sp_next next = SP_NEXT_FAIL;
    if (sp__daytona_build_create(&c, &body, err) == SP_E_OK)
        next = sp__daytona_api_json(cfg, req, &body, DAYTONA_STARTING_CALL_MS(op), err, "/sandbox");
    sp_buf_cleanup(&body);
    return next;
}

static enum sp_next daytona_create(struct sp_op *op,
                                   const struct sp_http_rsp *rsp,
                                   struct sp_http_req *req,
                                   struct sp_error *err)
{
    struct create_ctx *ctx = op->ctx;
    if (rsp == NULL) {
        if ((ctx = sp__op_ctx_new(op, sizeof(*ctx), free, err)) == NULL)
            return SP_NEXT_FAIL;
        return create_request(op, ctx, req, err);
    }
    if (!sp_http_ok(rsp))
        return sp__daytona_fail(rsp, "create sandbox", err);
    struct daytona_sandbox d;
    if (sp__daytona_parse_sandbox(rsp->body.data, rsp->body.len, &d, err) != SP_E_OK)
        return SP_NEXT_FAIL;
    op->sandbox = sandbox_new(op, &d, ctx->session, ctx->key, err);
    memset(ctx->key, 0, sizeof(ctx->key));
    return op->sandbox ? SP_NEXT_DONE : SP_NEXT_FAIL;
}

/* --- attach ------------------------------------------------------------------------------------
 */

#define ATTACH_MAX_PAGES 100

struct attach_ctx {
    struct daytona_list list;
    int pages;
};

static enum sp_next
attach_request(struct sp_op *op, const char *cursor, struct sp_http_req *req, struct sp_error *err)
{
    struct sp_buf labels, path;
    sp_buf_init(&labels, 0);
    sp_buf_init(&path, 0);
    enum sp_next next = SP_NEXT_FAIL;
    if (sp__daytona_build_labels(op->u.attach.key, op->u.attach.value, &labels, err) != SP_E_OK)
        goto out;
    if (sp_buf_puts(&path, "/sandbox?labels=") != 0 ||
        sp_buf_put_urlencoded(&path, sp_buf_str(&labels)) != 0 ||
        (cursor[0] &&
         (sp_buf_puts(&path, "&cursor=") != 0 || sp_buf_put_urlencoded(&path, cursor) != 0))) {
        sp_error_set(err, SP_E_INTERNAL, "out of memory building a request");
        goto out;
    }
    next = sp__daytona_api(op->client->cfg, req, SP_HTTP_GET, 0, err, "%s", sp_buf_str(&path));
out:
    sp_buf_cleanup(&labels);
    sp_buf_cleanup(&path);
    return next;
}

static enum sp_next
attach_decide(struct sp_op *op, const struct daytona_list *list, struct sp_error *err)
{
    const char *k = op->u.attach.key, *v = op->u.attach.value;
    if (list->matches == 0) {
        sp_error_set(err, SP_E_NOT_FOUND, "no sandbox carries label %.60s=%.100s", k, v);
        return SP_NEXT_FAIL;
    }
    if (list->matches > 1) {
        sp_error_set(err, SP_E_CONFLICT, "%zu sandboxes carry label %.60s=%.100s", list->matches, k,
                     v);
        return SP_NEXT_FAIL;
    }
    const char *session = strcmp(k, DAYTONA_SESSION_KEY) == 0 ? v : "";
    op->sandbox = sandbox_new(op, &list->first, session, list->first.session_api_key, err);
    return op->sandbox ? SP_NEXT_DONE : SP_NEXT_FAIL;
}

static enum sp_next daytona_attach(struct sp_op *op,
                                   const struct sp_http_rsp *rsp,
                                   struct sp_http_req *req,
                                   struct sp_error *err)
{
    struct attach_ctx *ctx = op->ctx;
    if (rsp == NULL) {
        if ((ctx = sp__attach_begin(op, sizeof(*ctx), err)) == NULL)
            return SP_NEXT_FAIL;
        return attach_request(op, "", req, err);
    }
    if (!sp_http_ok(rsp))
        return sp__daytona_fail(rsp, "list sandboxes", err);
    if (sp__daytona_parse_list(rsp->body.data, rsp->body.len, &ctx->list, err) != SP_E_OK)
        return SP_NEXT_FAIL;
    if (ctx->list.cursor[0] == '\0')
        return attach_decide(op, &ctx->list, err);
    if (sp__list_next_page(&ctx->pages, ATTACH_MAX_PAGES, "sandbox list", err) != 0)
        return SP_NEXT_FAIL;
    return attach_request(op, ctx->list.cursor, req, err);
}

/* --- state polling (startup and cleanup) ------------------------------------------------------ */

/* Waits for the next poll, or fails when the deadline has passed. */
enum sp_next sp__daytona_poll_later(struct sp_op *op, const char *goal, struct sp_error *err)
{
    return sp__poll_later(op, "sandbox", goal, DAYTONA_POLL_MS, err);
}

enum sp_next
sp__daytona_get_sandbox(struct sp_op *op, struct sp_http_req *req, struct sp_error *err)
{
    return sp__daytona_api(op->client->cfg, req, SP_HTTP_GET, 0, err, "/sandbox/%s",
                           op->sandbox->id);
}

int sp__daytona_poll_state(struct sp_op *op,
                           const struct sp_http_rsp *rsp,
                           struct daytona_sandbox *d,
                           struct sp_error *err)
{
    if (!sp_http_ok(rsp)) {
        sp__daytona_fail(rsp, "get sandbox", err);
        return -1;
    }
    if (sp__daytona_parse_sandbox(rsp->body.data, rsp->body.len, d, err) != SP_E_OK)
        return -1;
    sp__sandbox_set_state(op->sandbox, d->state);
    if (strcmp(d->state, "error") == 0 || strcmp(d->state, "build_failed") == 0) {
        sp_error_set(err, SP_E_STATE, "sandbox %s entered state %s: %.150s", d->id, d->state,
                     d->error_reason[0] ? d->error_reason : "(no reason given)");
        return -1;
    }
    return 0;
}

/* --- cleanup -----------------------------------------------------------------------------------
 */

enum { CL_BEGIN, CL_STOP, CL_STOP_POLL, CL_DELETE, CL_GONE_POLL };

/* A stop the API refused (400, already stopping or stopped): the poll decides. */
struct cleanup_ctx {
    bool stop_refused;
    struct sp_error refusal;
};

static enum sp_next cleanup_stop(struct sp_op *op,
                                 struct cleanup_ctx *ctx,
                                 const struct sp_http_rsp *rsp,
                                 struct sp_http_req *req,
                                 struct sp_error *err)
{
    const struct daytona_cfg *cfg = op->client->cfg;
    if (rsp == NULL)
        return sp__daytona_api(cfg, req, SP_HTTP_POST, DAYTONA_BLOCKING_CALL_MS, err,
                               "/sandbox/%s/stop", op->sandbox->id);
    if (!sp_http_ok(rsp)) {
        if (rsp->transport != SP_E_OK || rsp->status != 400)
            return sp__daytona_fail(rsp, "stop sandbox", err);
        sp__daytona_fail(rsp, "stop sandbox", &ctx->refusal);
        ctx->stop_refused = true;
    }
    op->state = CL_STOP_POLL;
    return sp__daytona_get_sandbox(op, req, err);
}

static enum sp_next cleanup_stop_poll(struct sp_op *op,
                                      struct cleanup_ctx *ctx,
                                      const struct sp_http_rsp *rsp,
                                      struct sp_http_req *req,
                                      struct sp_error *err)
{
    struct daytona_sandbox d;
    if (rsp == NULL)
        return sp__daytona_get_sandbox(op, req, err);
    if (sp__daytona_poll_state(op, rsp, &d, err) != 0)
        return SP_NEXT_FAIL;
    /* destroyed: autoDeleteInterval 0 deletes a sandbox when it stops (A5). */
    if (strcmp(d.state, "stopped") == 0 || strcmp(d.state, "archived") == 0 ||
        strcmp(d.state, "destroyed") == 0)
        return SP_NEXT_DONE;
    if (ctx->stop_refused && strcmp(d.state, "stopping") != 0) {
        *err = ctx->refusal;
        return SP_NEXT_FAIL;
    }
    return sp__daytona_poll_later(op, "stopped", err);
}

static enum sp_next cleanup_delete(struct sp_op *op,
                                   const struct sp_http_rsp *rsp,
                                   struct sp_http_req *req,
                                   struct sp_error *err)
{
    const struct daytona_cfg *cfg = op->client->cfg;
    if (rsp == NULL)
        return sp__daytona_api(cfg, req, SP_HTTP_DELETE, DAYTONA_BLOCKING_CALL_MS, err,
                               "/sandbox/%s?force=true", op->sandbox->id);
    SP_OP_MARK(op, SP_MARK_DELETED);
    if (rsp->transport == SP_E_OK && rsp->status == 404) { /* already gone */
        sp__sandbox_set_state(op->sandbox, "destroyed");
        SP_OP_MARK(op, SP_MARK_GONE);
        return SP_NEXT_DONE;
    }
    if (!sp_http_ok(rsp))
        return sp__daytona_fail(rsp, "delete sandbox", err);
    op->state = CL_GONE_POLL;
    return sp__daytona_get_sandbox(op, req, err);
}

/* Deleted sandboxes stay readable as `destroyed` (0.24.2) or vanish (404, newest). */
static enum sp_next cleanup_gone_poll(struct sp_op *op,
                                      const struct sp_http_rsp *rsp,
                                      struct sp_http_req *req,
                                      struct sp_error *err)
{
    struct daytona_sandbox d;
    if (rsp == NULL)
        return sp__daytona_get_sandbox(op, req, err);
    if (rsp->transport == SP_E_OK && rsp->status == 404) {
        sp__sandbox_set_state(op->sandbox, "destroyed");
        SP_OP_MARK(op, SP_MARK_GONE);
        return SP_NEXT_DONE;
    }
    if (!sp_http_ok(rsp))
        return sp__daytona_fail(rsp, "get sandbox", err);
    if (sp__daytona_parse_sandbox(rsp->body.data, rsp->body.len, &d, err) != SP_E_OK)
        return SP_NEXT_FAIL;
    sp__sandbox_set_state(op->sandbox, d.state);
    if (strcmp(d.state, "destroyed") == 0) {
        SP_OP_MARK(op, SP_MARK_GONE);
        return SP_NEXT_DONE;
    }
    return sp__daytona_poll_later(op, "destroyed", err);
}

static enum sp_next daytona_cleanup(struct sp_op *op,
                                    const struct sp_http_rsp *rsp,
                                    struct sp_http_req *req,
                                    struct sp_error *err)
{
    const struct daytona_cfg *cfg = op->client->cfg;
    struct cleanup_ctx *ctx = op->ctx;
    if (op->state == CL_BEGIN) {
        if ((ctx = sp__op_ctx_new(op, sizeof(*ctx), free, err)) == NULL)
            return SP_NEXT_FAIL;
        op->deadline_ms = sp_now_ms() + op->client->opts.ready_timeout_ms;
        enum sp_cleanup how = op->u.cleanup;
        if (how == SP_CLEANUP_DEFAULT)
            how = cfg->delete_on_close ? SP_CLEANUP_DELETE : SP_CLEANUP_STOP;
        op->state = how == SP_CLEANUP_DELETE ? CL_DELETE : CL_STOP;
    }
    switch (op->state) {
    case CL_STOP:
        return cleanup_stop(op, ctx, rsp, req, err);
    case CL_STOP_POLL:
        return cleanup_stop_poll(op, ctx, rsp, req, err);
    case CL_DELETE:
        return cleanup_delete(op, rsp, req, err);
    default:
        return cleanup_gone_poll(op, rsp, req, err);
    }
}

static const char *const credential_vars[] = {"DAYTONA_API_KEY", NULL};
const struct sp_provider sp_provider_daytona = {
    .name = "daytona",
    .session_key = DAYTONA_SESSION_KEY,
    .configure = daytona_configure,
    .cfg_free = sp__config_free,
    .caps = daytona_caps,
    .auth = daytona_auth,
    .create = daytona_create,
    .attach = daytona_attach,
    .startup = sp__daytona_startup,
    .exec = sp__daytona_toolbox_exec,
    .files = sp__daytona_toolbox_files,
    .cleanup = daytona_cleanup,
    .list = sp__daytona_step_list,

    .credential_vars = credential_vars,
    .modes = modes,
};
