/* Daytona startup (spec/daytona-runloop.md A5, A7.2, A8; spec/openhands-action-server.md 5.1):
 * poll the sandbox until `started` (starting it when stopped), then, in action-server mode,
 * start OpenHands' server in a toolbox session as DaytonaRuntime does, take the preview URL
 * of port 4444 as the data plane and poll /alive; in toolbox mode, read the project dir. */
#include "action_server.h"
#include "daytona.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    ST_POLL,       /* GET /sandbox/{id} until started */
    ST_START,      /* POST /sandbox/{id}/start for a stopped sandbox */
    ST_SESSION,    /* create the toolbox session the server runs in */
    ST_SERVER,     /* run OpenHands' server command in it, asynchronously */
    ST_PREVIEW,    /* the preview URL of port 4444 */
    ST_ALIVE,      /* /alive */
    ST_PROJECT_DIR /* toolbox mode: the directory relative paths resolve against */
};

struct startup_ctx {
    struct sp_as_alive alive;
    bool start_sent;
    int64_t daemon_deadline_ms; /* toolbox mode: until when a 502-504 means "not up yet" */
};

static enum sp_next
startup_enter(struct sp_op *op, int state, struct sp_http_req *req, struct sp_error *err)
{
    op->state = state;
    return sp__daytona_startup(op, NULL, req, err);
}

static enum sp_next startup_poll(struct sp_op *op,
                                 struct startup_ctx *ctx,
                                 const struct sp_http_rsp *rsp,
                                 struct sp_http_req *req,
                                 struct sp_error *err)
{
    const struct daytona_cfg *cfg = op->client->cfg;
    struct daytona_sandbox d;
    if (rsp == NULL)
        return sp__daytona_get_sandbox(op, req, err);
    if (sp__daytona_poll_state(op, rsp, &d, err) != 0)
        return SP_NEXT_FAIL;
    if (strcmp(d.state, "started") == 0) {
        SP_OP_MARK(op, SP_MARK_READY);
        return startup_enter(op, cfg->mode == DAYTONA_MODE_TOOLBOX ? ST_PROJECT_DIR : ST_SESSION,
                             req, err);
    }
    if (strcmp(d.state, "destroyed") == 0 || strcmp(d.state, "destroying") == 0) {
        sp_error_set(err, SP_E_STATE, "sandbox %s is %s", d.id, d.state);
        return SP_NEXT_FAIL;
    }
    /* A stopped sandbox (attached, or auto-stopped) is started, as DaytonaRuntime does. */
    if (!ctx->start_sent && (strcmp(d.state, "stopped") == 0 || strcmp(d.state, "archived") == 0))
        return startup_enter(op, ST_START, req, err);
    return sp__daytona_poll_later(op, "started", err);
}

/* Data-plane settings once the preview URL is known. */
static enum sp_next startup_preview(struct sp_op *op,
                                    struct startup_ctx *ctx,
                                    const struct sp_http_rsp *rsp,
                                    struct sp_http_req *req,
                                    struct sp_error *err)
{
    struct sp_sandbox *sb = op->sandbox;
    char token[512];
    if (sp__daytona_parse_preview(rsp->body.data, rsp->body.len, sb->data_url, sizeof(sb->data_url),
                                  token, sizeof(token), err) != SP_E_OK)
        return SP_NEXT_FAIL;
    snprintf(sb->access_header, sizeof(sb->access_header), "%s", SP_AS_SESSION_HEADER);
    if ((sb->flags & SP_SB_TOKEN) && token[0]) {
        if (sp_kv_set(&sb->data_headers, DAYTONA_PREVIEW_HEADER, token) != 0) {
            sp_error_set(err, SP_E_INTERNAL, "out of memory");
            return SP_NEXT_FAIL;
        }
        snprintf(sb->access_header, sizeof(sb->access_header), "%s", DAYTONA_PREVIEW_HEADER);
    }
    memset(token, 0, sizeof(token));
    /* The proxy answers 502 while the port does not listen (not yet, or no more: a crashed
     * server): OpenHands' Daytona runtime retries it 1 s apart for 120 s, as long as it
     * waits for /alive (spec 4: daytona_runtime.py:235-248), so the alive deadline bounds it. */
    sb->data_retry.retry_502_for_ms = op->client->opts.alive_timeout_ms;
    sb->data_retry.wait_502_ms = 1000;
    sp_as_retry_defaults(&sb->data_retry);
    sp_as_alive_begin(&ctx->alive, op->client);
    return startup_enter(op, ST_ALIVE, req, err);
}

/* Toolbox mode: ready once started; relative paths go under the project dir. */
static enum sp_next
startup_toolbox(struct sp_op *op, const struct sp_http_rsp *rsp, struct sp_error *err)
{
    const struct daytona_cfg *cfg = op->client->cfg;
    struct sp_sandbox *sb = op->sandbox;
    if (sp__daytona_parse_project_dir(rsp->body.data, rsp->body.len, sb->workdir,
                                      sizeof(sb->workdir), err) != SP_E_OK)
        return SP_NEXT_FAIL;
    int n =
        snprintf(sb->data_url, sizeof(sb->data_url), "%s/toolbox/%s/toolbox", cfg->api_url, sb->id);
    struct sp_buf bearer;
    sp_buf_init(&bearer, 0);
    int bad = n < 0 || (size_t)n >= sizeof(sb->data_url) ||
              sp_buf_printf(&bearer, "Bearer %s", cfg->api_key) != 0 ||
              sp_kv_set(&sb->data_headers, "Authorization", sp_buf_str(&bearer)) != 0;
    if (bearer.data)
        memset(bearer.data, 0, bearer.len);
    sp_buf_cleanup(&bearer);
    if (bad) {
        sp_error_set(err, SP_E_INTERNAL, "toolbox URL too long");
        return SP_NEXT_FAIL;
    }
    return SP_NEXT_DONE;
}

/* Toolbox mode: the proxy answers 502-504 while the sandbox's daemon is not up; that is
 * "not alive yet" until the data-plane deadline, as /alive is for the action server. */
static enum sp_next toolbox_not_ready(struct sp_op *op,
                                      struct startup_ctx *ctx,
                                      const struct sp_http_rsp *rsp,
                                      struct sp_error *err)
{
    if (rsp->transport != SP_E_OK || rsp->status < 502 || rsp->status > 504)
        return sp__daytona_fail(rsp, "get the project dir", err);
    return sp__daemon_not_up(op, &ctx->daemon_deadline_ms, rsp->status, "toolbox", "sandbox", err);
}

/* The request of each state after the polling one. */
static enum sp_next startup_request(struct sp_op *op,
                                    struct startup_ctx *ctx,
                                    struct sp_http_req *req,
                                    struct sp_error *err)
{
    const struct daytona_cfg *cfg = op->client->cfg;
    const char *id = op->sandbox->id;
    struct sp_buf json, line;
    sp_buf_init(&json, 0);
    sp_buf_init(&line, 0);
    enum sp_next next = SP_NEXT_FAIL;
    char path[256];
    snprintf(path, sizeof(path), "/toolbox/%s/toolbox/process/session", id);
    if (op->state == ST_START) {
        ctx->start_sent = true;
        next = sp__daytona_api(cfg, req, SP_HTTP_POST, DAYTONA_BLOCKING_CALL_MS, err,
                               "/sandbox/%s/start", id);
    } else if (op->state == ST_SESSION) {
        if (sp__daytona_build_session(DAYTONA_SERVER_SESSION, &json, err) == SP_E_OK)
            next = sp__daytona_api_json(cfg, req, &json, 0, err, path);
    } else if (op->state == ST_SERVER) {
        snprintf(path, sizeof(path), "/toolbox/%s/toolbox/process/session/%s/exec", id,
                 DAYTONA_SERVER_SESSION);
        if (sp_buf_puts(&line, "mkdir -p /workspace && cd /openhands/code && ") != 0 ||
            sp_as_server_command(DAYTONA_SERVER_PORT, SP_AS_WORKDIR, &line) != 0)
            sp_error_set(err, SP_E_INTERNAL, "out of memory");
        else if (sp__daytona_build_session_exec(sp_buf_str(&line), &json, err) == SP_E_OK)
            next = sp__daytona_api_json(cfg, req, &json, 0, err, path);
    } else if (op->state == ST_PREVIEW) {
        next = sp__daytona_api(cfg, req, SP_HTTP_GET, 0, err, "/sandbox/%s/ports/%d/preview-url",
                               id, DAYTONA_SERVER_PORT);
    } else {
        next =
            sp__daytona_api(cfg, req, SP_HTTP_GET, 0, err, "/toolbox/%s/toolbox/project-dir", id);
    }
    sp_buf_cleanup(&json);
    sp_buf_cleanup(&line);
    return next;
}

/* What each state does with its response. */
static enum sp_next startup_response(struct sp_op *op,
                                     struct startup_ctx *ctx,
                                     const struct sp_http_rsp *rsp,
                                     struct sp_http_req *req,
                                     struct sp_error *err)
{
    bool ok = sp_http_ok(rsp);
    switch (op->state) {
    case ST_START:
        return ok ? startup_enter(op, ST_POLL, req, err)
                  : sp__daytona_fail(rsp, "start sandbox", err);
    case ST_SESSION:
        if (ok)
            return startup_enter(op, ST_SERVER, req, err);
        /* 409: the session exists, so the server was started in it before; unless we just
         * started the sandbox, which restarts its processes. */
        if (rsp->transport == SP_E_OK && rsp->status == 409)
            return startup_enter(op, ctx->start_sent ? ST_SERVER : ST_PREVIEW, req, err);
        return sp__daytona_fail(rsp, "create the action server's session", err);
    case ST_SERVER:
        if (!ok)
            return sp__daytona_fail(rsp, "start the action server", err);
        op->sandbox->flags |= SP_SB_SERVER_STARTED;
        return startup_enter(op, ST_PREVIEW, req, err);
    case ST_PREVIEW:
        return ok ? startup_preview(op, ctx, rsp, req, err)
                  : sp__daytona_fail(rsp, "get the preview URL", err);
    default:
        return ok ? startup_toolbox(op, rsp, err) : toolbox_not_ready(op, ctx, rsp, err);
    }
}

enum sp_next sp__daytona_startup(struct sp_op *op,
                                 const struct sp_http_rsp *rsp,
                                 struct sp_http_req *req,
                                 struct sp_error *err)
{
    struct startup_ctx *ctx = op->ctx;
    if (ctx == NULL) {
        if ((ctx = sp__op_ctx_new(op, sizeof(*ctx), free, err)) == NULL)
            return SP_NEXT_FAIL;
        op->deadline_ms = sp_now_ms() + op->client->opts.ready_timeout_ms;
    }
    if (op->state == ST_POLL)
        return startup_poll(op, ctx, rsp, req, err);
    if (op->state == ST_ALIVE)
        return sp_as_alive_step(&ctx->alive, op, rsp, req, err);
    return rsp ? startup_response(op, ctx, rsp, req, err) : startup_request(op, ctx, req, err);
}
