/* Runloop startup (spec/runloop-modal.md R2, R4, R5): poll the devbox until `running` as
 * RunloopRuntime does (every alive_interval_ms, 1 s by default; `failure` fails at once),
 * then open the tunnel to port 4444 and poll the action server's /alive through it.
 *  - action-server (OpenHands' generation): POST create_tunnel {port}; its url, verbatim.
 *  - tunnel-v2: the devbox's tunnel from the create body (or enable_tunnel when it has none),
 *    URL {port}-{tunnel_key}.<tunnel domain>, and for an authenticated tunnel its token in
 *    X-Runloop-Tunnel-Authorization on every data-plane request.
 *  - direct: no server; the devbox's execute route must answer (one `true`), as the other
 *    providers' direct modes check their daemon before calling the sandbox ready. */
#include "action_server.h"
#include "runloop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    ST_POLL,   /* GET /v1/devboxes/{id} until running */
    ST_TUNNEL, /* POST create_tunnel {port: 4444} */
    ST_ENABLE, /* POST enable_tunnel (v2, when the devbox has no tunnel yet) */
    ST_ALIVE,  /* the action server's /alive */
    ST_PROBE   /* direct: execute_sync `true` */
};

struct startup_ctx {
    struct sp_as_alive alive;
    struct runloop_devbox last; /* the last devbox view polled */
    int64_t probe_deadline_ms;
};

static bool booting(const char *status)
{
    static const char *const BOOTING[] = {"provisioning", "initializing", "resuming", "scheduled",
                                          "queued"};
    for (size_t i = 0; i < sizeof(BOOTING) / sizeof(BOOTING[0]); i++)
        if (strcmp(status, BOOTING[i]) == 0)
            return true;
    return false;
}

/* The data plane is known: wire up its retries and start polling /alive. */
static enum sp_next begin_alive(struct sp_op *op,
                                struct startup_ctx *ctx,
                                struct sp_http_req *req,
                                struct sp_error *err)
{
    struct sp_sandbox *sb = op->sandbox;
    /* No 502 retry after startup: only OpenHands' Daytona runtime retries the action
     * server's 502 (spec 4); the /alive loop waits out a tunnel not yet listening. */
    sp_as_retry_defaults(&sb->data_retry);
    sp_as_alive_begin(&ctx->alive, op->client);
    op->state = ST_ALIVE;
    return sp_as_alive_step(&ctx->alive, op, NULL, req, err);
}

static enum sp_next use_v2_tunnel(struct sp_op *op,
                                  struct startup_ctx *ctx,
                                  struct sp_http_req *req,
                                  struct sp_error *err)
{
    const struct runloop_cfg *cfg = op->client->cfg;
    struct sp_sandbox *sb = op->sandbox;
    if (sp__runloop_tunnel_url(cfg, RUNLOOP_SERVER_PORT, ctx->last.tunnel_key, sb->data_url,
                               sizeof(sb->data_url)) != 0) {
        sp_error_set(err, SP_E_PROTOCOL, "tunnel key too long for a URL");
        return SP_NEXT_FAIL;
    }
    if (ctx->last.tunnel_token[0]) {
        struct sp_buf v;
        sp_buf_init(&v, 0);
        int bad = sp_buf_printf(&v, "Bearer %s", ctx->last.tunnel_token) != 0 ||
                  sp_kv_set(&sb->data_headers, RUNLOOP_TUNNEL_HEADER, sp_buf_str(&v)) != 0;
        if (v.data)
            memset(v.data, 0, v.len);
        sp_buf_cleanup(&v);
        memset(ctx->last.tunnel_token, 0, sizeof(ctx->last.tunnel_token));
        if (bad) {
            sp_error_set(err, SP_E_INTERNAL, "out of memory");
            return SP_NEXT_FAIL;
        }
        snprintf(sb->access_header, sizeof(sb->access_header), "%s", RUNLOOP_TUNNEL_HEADER);
        sb->flags |= SP_SB_TOKEN;
    }
    return begin_alive(op, ctx, req, err);
}

/* The request that follows `running`, by mode. */
static enum sp_next after_running(struct sp_op *op,
                                  struct startup_ctx *ctx,
                                  struct sp_http_req *req,
                                  struct sp_error *err)
{
    const struct runloop_cfg *cfg = op->client->cfg;
    struct sp_sandbox *sb = op->sandbox;
    struct sp_buf json;
    sp_buf_init(&json, 0);
    char path[256];
    enum sp_next next = SP_NEXT_FAIL;
    if (cfg->mode == RUNLOOP_MODE_TUNNEL_V2 && ctx->last.tunnel_key[0]) {
        next = use_v2_tunnel(op, ctx, req, err);
    } else if (cfg->mode == RUNLOOP_MODE_TUNNEL_V2) {
        op->state = ST_ENABLE;
        snprintf(path, sizeof(path), "/v1/devboxes/%s/enable_tunnel", sb->id);
        if (sp__runloop_build_tunnel("open", &json, err) == SP_E_OK)
            next = sp__runloop_api_json(cfg, req, &json, 0, err, path);
    } else if (cfg->mode == RUNLOOP_MODE_ACTION_SERVER) {
        op->state = ST_TUNNEL;
        snprintf(path, sizeof(path), "/v1/devboxes/%s/create_tunnel", sb->id);
        if (sp__runloop_build_port(RUNLOOP_SERVER_PORT, &json, err) == SP_E_OK)
            next = sp__runloop_api_json(cfg, req, &json, 0, err, path);
    } else {
        op->state = ST_PROBE;
        /* The devbox's own routes are its data plane (380 + 13 + 100 bytes fit). */
        snprintf(sb->data_url, sizeof(sb->data_url), "%.380s/v1/devboxes/%.100s", cfg->base_url,
                 sb->id);
        snprintf(path, sizeof(path), "/v1/devboxes/%s/execute_sync", sb->id);
        if (sp__runloop_build_command("true", &json, err) == SP_E_OK)
            next = sp__runloop_api_json(cfg, req, &json, 0, err, path);
        req->retry.max_attempts_sdk = 0; /* probe_answer polls on its own deadline */
    }
    sp_buf_cleanup(&json);
    return next;
}

static enum sp_next startup_poll(struct sp_op *op,
                                 struct startup_ctx *ctx,
                                 const struct sp_http_rsp *rsp,
                                 struct sp_http_req *req,
                                 struct sp_error *err)
{
    if (rsp == NULL)
        return sp__runloop_get_devbox(op, req, err);
    if (sp__runloop_poll_state(op, rsp, &ctx->last, err) != 0)
        return SP_NEXT_FAIL;
    const char *st = ctx->last.status;
    if (strcmp(st, "running") == 0)
        return after_running(op, ctx, req, err);
    if (!booting(st)) {
        sp_error_set(err, SP_E_STATE, "devbox %s is %s, not starting", op->sandbox->id, st);
        return SP_NEXT_FAIL;
    }
    return sp__runloop_poll_later(op, "running", err);
}

/* Direct mode: 502-504 from the devbox's execute route is "not up yet" until the data-plane
 * deadline, as a refused /alive is for the action server. */
static enum sp_next probe_answer(struct sp_op *op,
                                 struct startup_ctx *ctx,
                                 const struct sp_http_rsp *rsp,
                                 struct sp_error *err)
{
    if (sp_http_ok(rsp))
        return SP_NEXT_DONE;
    if (rsp->transport != SP_E_OK || rsp->status < 502 || rsp->status > 504)
        return sp__runloop_fail(rsp, "execute on the devbox", err);
    return sp__daemon_not_up(op, &ctx->probe_deadline_ms, rsp->status, "devbox execute", "devbox",
                             err);
}

static enum sp_next startup_answer(struct sp_op *op,
                                   struct startup_ctx *ctx,
                                   const struct sp_http_rsp *rsp,
                                   struct sp_http_req *req,
                                   struct sp_error *err)
{
    struct sp_sandbox *sb = op->sandbox;
    if (!sp_http_ok(rsp))
        return sp__runloop_fail(rsp, op->state == ST_TUNNEL ? "create tunnel" : "enable tunnel",
                                err);
    if (op->state == ST_TUNNEL) {
        if (sp__runloop_parse_tunnel_url(rsp->body.data, rsp->body.len, sb->data_url,
                                         sizeof(sb->data_url), err) != SP_E_OK)
            return SP_NEXT_FAIL;
        return begin_alive(op, ctx, req, err);
    }
    if (sp__runloop_parse_tunnel_view(rsp->body.data, rsp->body.len, &ctx->last, err) != SP_E_OK)
        return SP_NEXT_FAIL;
    return use_v2_tunnel(op, ctx, req, err);
}

static void ctx_free(void *p)
{
    struct startup_ctx *ctx = p;
    if (ctx)
        memset(ctx->last.tunnel_token, 0, sizeof(ctx->last.tunnel_token));
    free(ctx);
}

enum sp_next sp__runloop_startup(struct sp_op *op,
                                 const struct sp_http_rsp *rsp,
                                 struct sp_http_req *req,
                                 struct sp_error *err)
{
    struct startup_ctx *ctx = op->ctx;
    if (ctx == NULL) {
        if ((ctx = sp__op_ctx_new(op, sizeof(*ctx), ctx_free, err)) == NULL)
            return SP_NEXT_FAIL;
        op->deadline_ms = sp_now_ms() + op->client->opts.ready_timeout_ms;
    }
    switch (op->state) {
    case ST_POLL:
        return startup_poll(op, ctx, rsp, req, err);
    case ST_ALIVE:
        return sp_as_alive_step(&ctx->alive, op, rsp, req, err);
    case ST_PROBE:
        if (rsp == NULL) /* after a wait: probe again */
            return after_running(op, ctx, req, err);
        return probe_answer(op, ctx, rsp, err);
    default:
        return rsp ? startup_answer(op, ctx, rsp, req, err) : SP_NEXT_FAIL;
    }
}
