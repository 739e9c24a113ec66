/* Modal startup and the direct mode's exec (spec/runloop-modal.md M5, M7).
 *  - action-server (OpenHands' path): SandboxGetTunnels{timeout 50}; the tunnel of container
 *    port 3000 is the data plane (https://host[:port], or the unencrypted endpoint when the
 *    tunnel has one); then /alive is polled through it.
 *  - direct (the JS SDK's path): SandboxGetTaskId until the task runs, then
 *    TaskGetCommandRouterAccess for the router's URL and JWT. exec is TaskExecStart,
 *    TaskExecStdioRead of stdout then stderr (server streaming, delivered as it arrives), and
 *    TaskExecWait for the exit code. The router URL is https; against a loopback http server
 *    the SDK dials it in plaintext, and so do we (M7). */
#include "modal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action_server.h"
#include "modal_proto/api.pb-c.h"
#include "modal_proto/task_command_router.pb-c.h"

enum { ST_TUNNELS, ST_ALIVE, ST_TASK, ST_ACCESS, ST_PROBE };

struct startup_ctx {
    struct modal_op_ctx base; /* first: the probe's stdio stream finds its run here */
    struct sp_as_alive alive;
    struct sp_exec probe;
    int64_t probe_deadline_ms;
    char last[160];
};

static void startup_ctx_free(void *p)
{
    struct startup_ctx *c = p;
    if (c == NULL)
        return;
    sp__modal_run_free(c->base.run);
    sp_exec_cleanup(&c->probe);
    free(c);
}

/* Direct mode: the router must run a command (`true`) before the sandbox counts as up, as
 * the action server's /alive must answer in the other mode. */
static enum sp_next probe_begin(struct sp_op *op,
                                struct startup_ctx *ctx,
                                struct sp_http_req *req,
                                struct sp_error *err)
{
    op->state = ST_PROBE;
    sp_exec_cleanup(&ctx->probe);
    sp_exec_init(&ctx->probe, "true");
    ctx->probe.timeout_ms = 10000;
    if (ctx->probe_deadline_ms == 0)
        ctx->probe_deadline_ms = sp_now_ms() + op->client->opts.alive_timeout_ms;
    return sp__modal_run_begin(op, &ctx->base.run, &ctx->probe, req, err);
}

/* A probe that failed: try again until the data-plane deadline. */
static enum sp_next probe_failed(struct sp_op *op, struct startup_ctx *ctx, struct sp_error *err)
{
    if (err->code == SP_E_AUTH)
        return SP_NEXT_FAIL;
    snprintf(ctx->last, sizeof(ctx->last), "%.150s", err->msg);
    if (sp_now_ms() >= ctx->probe_deadline_ms) {
        struct sp_sandbox *sb = op->sandbox;
        sp_error_clear(err);
        sp_error_set(err, SP_E_TIMEOUT,
                     "sandbox %s: the command router ran nothing within %ld "
                     "ms (last: %.120s; state: %s)",
                     sb->id, op->client->opts.alive_timeout_ms, ctx->last, sb->state);
        return SP_NEXT_FAIL;
    }
    sp_error_clear(err);
    op->wait_ms = op->client->opts.alive_interval_ms;
    return SP_NEXT_WAIT;
}

/* SandboxGetTunnels{timeout 50} as ModalRuntime asks, or less when our deadline is nearer. */
static enum sp_next req_tunnels(struct sp_op *op, struct sp_http_req *req, struct sp_error *err)
{
    int64_t left = op->deadline_ms - sp_now_ms();
    float t = left < 50000 ? (float)(left > 100 ? left : 100) / 1000.0f : 50.0f;
    Modal__Client__SandboxGetTunnelsRequest q = MODAL__CLIENT__SANDBOX_GET_TUNNELS_REQUEST__INIT;
    q.sandbox_id = op->sandbox->id;
    q.timeout = t;
    return sp__modal_call(op->client->cfg, req, "SandboxGetTunnels", &q.base,
                          (long)(t * 1000) + 5000, err);
}

/* A tunnels reply whose result is not SUCCESS: the sandbox is not up (yet). Returns the next
 * request (ask again), or SP_NEXT_FAIL with the timeout or state error. */
static enum sp_next tunnels_not_ready(struct sp_op *op,
                                      const Modal__Client__GenericResult *res,
                                      struct sp_http_req *req,
                                      struct sp_error *err)
{
    struct sp_sandbox *sb = op->sandbox;
    if (res->status == MODAL__CLIENT__GENERIC_RESULT__GENERIC_STATUS__GENERIC_STATUS_TIMEOUT) {
        sp__sandbox_set_state(sb, "creating");
        if (sp_now_ms() < op->deadline_ms)
            return req_tunnels(op, req, err);
        long ms = op->client->opts.ready_timeout_ms;
        sp_error_set(err, SP_E_TIMEOUT,
                     "sandbox %s has no tunnels after %.1f s (last state: "
                     "creating)",
                     sb->id, (double)ms / 1000.0);
        return SP_NEXT_FAIL;
    }
    sp__sandbox_set_state(sb, "failed");
    sp_error_set(err, SP_E_STATE, "sandbox %s ended (result status %d): %.150s", sb->id,
                 (int)res->status, res->exception);
    return SP_NEXT_FAIL;
}

static enum sp_next req_task(struct sp_op *op, struct sp_http_req *req, struct sp_error *err)
{
    Modal__Client__SandboxGetTaskIdRequest q = MODAL__CLIENT__SANDBOX_GET_TASK_ID_REQUEST__INIT;
    q.sandbox_id = op->sandbox->id;
    int64_t left = op->deadline_ms - sp_now_ms();
    q._timeout_case = MODAL__CLIENT__SANDBOX_GET_TASK_ID_REQUEST___TIMEOUT_TIMEOUT;
    q.timeout = left < 10000 ? (float)(left > 100 ? left : 100) / 1000.0f : 10.0f;
    return sp__modal_call(op->client->cfg, req, "SandboxGetTaskId", &q.base,
                          (long)(q.timeout * 1000) + 5000, err);
}

/* The tunnel of the server port becomes the data plane. */
static enum sp_next use_tunnels(struct sp_op *op,
                                struct startup_ctx *ctx,
                                const struct sp_http_rsp *rsp,
                                struct sp_http_req *req,
                                struct sp_error *err)
{
    Modal__Client__SandboxGetTunnelsResponse *t = NULL;
    if (sp__modal_reply(rsp, &modal__client__sandbox_get_tunnels_response__descriptor, &t,
                        "sandbox tunnels", err) != SP_E_OK)
        return SP_NEXT_FAIL;
    struct sp_sandbox *sb = op->sandbox;
    const Modal__Client__TunnelData *d = NULL;
    if (t->result && t->result->status !=
                         MODAL__CLIENT__GENERIC_RESULT__GENERIC_STATUS__GENERIC_STATUS_SUCCESS) {
        enum sp_next next = tunnels_not_ready(op, t->result, req, err);
        protobuf_c_message_free_unpacked(&t->base, NULL);
        return next;
    }
    sp__sandbox_set_state(sb, "running");
    for (size_t i = 0; i < t->n_tunnels && d == NULL; i++)
        if (t->tunnels[i]->container_port == MODAL_SERVER_PORT)
            d = t->tunnels[i];
    if (d == NULL) {
        sp_error_set(err, SP_E_PROTOCOL, "sandbox %s has no tunnel for port %d (%zu tunnels)",
                     sb->id, MODAL_SERVER_PORT, t->n_tunnels);
    } else if (d->_unencrypted_host_case && d->_unencrypted_port_case) {
        snprintf(sb->data_url, sizeof(sb->data_url), "http://%.200s:%u", d->unencrypted_host,
                 d->unencrypted_port);
    } else if (d->port == 443 || d->port == 0) { /* Tunnel.url (M6) */
        snprintf(sb->data_url, sizeof(sb->data_url), "https://%.200s", d->host);
    } else {
        snprintf(sb->data_url, sizeof(sb->data_url), "https://%.200s:%u", d->host, d->port);
    }
    protobuf_c_message_free_unpacked(&t->base, NULL);
    if (d == NULL)
        return SP_NEXT_FAIL;
    /* No 502 retry after startup: only OpenHands' Daytona runtime retries the action
     * server's 502 (spec 4); the /alive loop waits out a tunnel not yet listening. */
    sp_as_retry_defaults(&sb->data_retry);
    sp_as_alive_begin(&ctx->alive, op->client);
    op->state = ST_ALIVE;
    return sp_as_alive_step(&ctx->alive, op, NULL, req, err);
}

/* The router URL as the SDK dials it: plaintext when the server URL is (M7). */
static int
set_router(const struct modal_cfg *cfg, struct modal_sb *ms, const char *url, const char *jwt)
{
    bool plain = strncmp(cfg->server_url, "http://", 7) == 0;
    const char *rest = strncmp(url, "https://", 8) == 0 ? url + 8 : NULL;
    if (rest == NULL)
        return -1; /* the SDK refuses anything but https ("Task router URL must be https") */
    snprintf(ms->router_url, sizeof(ms->router_url), "%s%.240s", plain ? "http://" : "https://",
             rest);
    size_t n = strlen(ms->router_url);
    while (n > 0 && ms->router_url[n - 1] == '/')
        ms->router_url[--n] = '\0';
    free(ms->router_jwt);
    ms->router_jwt = strdup(jwt);
    return ms->router_jwt ? 0 : -1;
}

static enum sp_next direct_answer(struct sp_op *op,
                                  const struct sp_http_rsp *rsp,
                                  struct sp_http_req *req,
                                  struct sp_error *err)
{
    struct modal_sb *ms = op->sandbox->priv;
    if (op->state == ST_TASK) {
        Modal__Client__SandboxGetTaskIdResponse *t = NULL;
        if (sp__modal_reply(rsp, &modal__client__sandbox_get_task_id_response__descriptor, &t,
                            "sandbox task", err) != SP_E_OK)
            return SP_NEXT_FAIL;
        bool have = t->_task_id_case && t->task_id[0];
        bool ended = t->_task_result_case && t->task_result;
        if (have)
            snprintf(ms->task_id, sizeof(ms->task_id), "%s", t->task_id);
        protobuf_c_message_free_unpacked(&t->base, NULL);
        if (ended && !have) {
            sp__sandbox_set_state(op->sandbox, "failed");
            sp_error_set(err, SP_E_STATE, "sandbox %s ended before its task ran (state: failed)",
                         op->sandbox->id);
            return SP_NEXT_FAIL;
        }
        if (!have) {
            sp__sandbox_set_state(op->sandbox, "creating");
            if (sp_now_ms() >= op->deadline_ms) {
                sp_error_set(err, SP_E_TIMEOUT,
                             "sandbox %s has no task after %ld ms (last "
                             "state: creating)",
                             op->sandbox->id, op->client->opts.ready_timeout_ms);
                return SP_NEXT_FAIL;
            }
            return req_task(op, req, err);
        }
        sp__sandbox_set_state(op->sandbox, "running");
        op->state = ST_ACCESS;
        Modal__Client__TaskGetCommandRouterAccessRequest q =
            MODAL__CLIENT__TASK_GET_COMMAND_ROUTER_ACCESS_REQUEST__INIT;
        q.task_id = ms->task_id;
        return sp__modal_call(op->client->cfg, req, "TaskGetCommandRouterAccess", &q.base, 0, err);
    }
    Modal__Client__TaskGetCommandRouterAccessResponse *a = NULL;
    if (sp__modal_reply(rsp, &modal__client__task_get_command_router_access_response__descriptor,
                        &a, "command router access", err) != SP_E_OK)
        return SP_NEXT_FAIL;
    int rc = set_router(op->client->cfg, ms, a->url, a->jwt);
    if (rc != 0)
        sp_error_set(err, SP_E_PROTOCOL, "command router URL '%.100s' is not https", a->url);
    protobuf_c_message_free_unpacked(&a->base, NULL);
    if (rc != 0)
        return SP_NEXT_FAIL;
    snprintf(op->sandbox->data_url, sizeof(op->sandbox->data_url), "%s", ms->router_url);
    return probe_begin(op, op->ctx, req, err);
}

enum sp_next sp__modal_startup(struct sp_op *op,
                               const struct sp_http_rsp *rsp,
                               struct sp_http_req *req,
                               struct sp_error *err)
{
    const struct modal_cfg *cfg = op->client->cfg;
    struct startup_ctx *ctx = op->ctx;
    if (ctx == NULL) {
        if ((ctx = sp__op_ctx_new(op, sizeof(*ctx), startup_ctx_free, err)) == NULL)
            return SP_NEXT_FAIL;
        sp_exec_init(&ctx->probe, "true");
        op->deadline_ms = sp_now_ms() + op->client->opts.ready_timeout_ms;
        op->state = cfg->mode == MODAL_MODE_DIRECT ? ST_TASK : ST_TUNNELS;
        return op->state == ST_TASK ? req_task(op, req, err) : req_tunnels(op, req, err);
    }
    if (op->state == ST_ALIVE)
        return sp_as_alive_step(&ctx->alive, op, rsp, req, err);
    if (op->state == ST_PROBE) {
        if (rsp == NULL) /* after a wait: probe again */
            return probe_begin(op, ctx, req, err);
        enum sp_next next = sp__modal_run_step(op, ctx->base.run, rsp, req, err);
        if (next == SP_NEXT_FAIL)
            return probe_failed(op, ctx, err);
        return next;
    }
    if (rsp == NULL)
        return SP_NEXT_FAIL;
    if (op->state == ST_TUNNELS)
        return use_tunnels(op, ctx, rsp, req, err);
    return direct_answer(op, rsp, req, err);
}

/* --- direct exec through the task command router -------------------------------------------- */

enum { X_START, X_OUT, X_ERR, X_WAIT };

struct modal_run {
    struct sp_exec *x;
    int state;
    char exec_id[48];
    struct sp_grpc_stream stream;
    bool stream_live;
    int64_t deadline_ms;
};

void sp__modal_run_free(struct modal_run *run)
{
    if (run && run->stream_live)
        sp_grpc_stream_cleanup(&run->stream);
    free(run);
}

static void emit(struct sp_exec *x, enum sp_exec_event ev, const char *data, size_t len)
{
    if (x->on_event)
        x->on_event(x->user, ev, data, len);
}

/* One stdio message: to on_event as it arrives, and into out or err. */
static int on_stdio(void *user, const ProtobufCMessage *msg, struct sp_error *err)
{
    struct modal_run *run = user;
    struct sp_exec *x = run->x;
    const Modal__TaskCommandRouter__TaskExecStdioReadResponse *m = (const void *)msg;
    bool is_err = run->state == X_ERR;
    struct sp_buf *dst = is_err ? &x->err : &x->out;
    emit(x, is_err ? SP_EXEC_STDERR : SP_EXEC_STDOUT, (const char *)m->data.data, m->data.len);
    /* Without on_event, output past the buffer's limit is an error (provider.h). */
    if (sp_buf_append(dst, m->data.data, m->data.len) != 0 && x->on_event == NULL) {
        sp_error_set(err, SP_E_PROTOCOL, "command output exceeds the %zu-byte buffer", dst->max);
        return -1;
    }
    return 0;
}

/* op->ctx of an op that runs commands starts with its run (struct modal_op_ctx). */
static int on_chunk(struct sp_op *op, const char *data, size_t len, struct sp_error *err)
{
    struct modal_op_ctx *c = op->ctx;
    return sp_grpc_stream_feed(&c->run->stream, data, len, err);
}

static enum sp_next
req_start(struct sp_op *op, struct modal_run *run, struct sp_http_req *req, struct sp_error *err)
{
    struct sp_exec *x = run->x;
    struct modal_sb *ms = op->sandbox->priv;
    char sh[] = "sh", dash_c[] = "-c";
    char *args[] = {sh, dash_c, (char *)(uintptr_t)x->command};
    size_t n = x->env ? x->env->n : 0;
    Modal__TaskCommandRouter__TaskExecStartRequest__EnvEntry *e = calloc(n ? n : 1, sizeof(*e));
    Modal__TaskCommandRouter__TaskExecStartRequest__EnvEntry **ep = calloc(n ? n : 1, sizeof(*ep));
    if (e == NULL || ep == NULL) {
        free(e);
        free(ep);
        sp_error_set(err, SP_E_INTERNAL, "out of memory");
        return SP_NEXT_FAIL;
    }
    for (size_t i = 0; i < n; i++) {
        e[i] = (Modal__TaskCommandRouter__TaskExecStartRequest__EnvEntry)
            MODAL__TASK_COMMAND_ROUTER__TASK_EXEC_START_REQUEST__ENV_ENTRY__INIT;
        e[i].key = x->env->items[i].key;
        e[i].value = x->env->items[i].val;
        ep[i] = &e[i];
    }
    char wd[1024];
    Modal__TaskCommandRouter__TaskExecStartRequest q =
        MODAL__TASK_COMMAND_ROUTER__TASK_EXEC_START_REQUEST__INIT;
    q.task_id = ms->task_id;
    q.exec_id = run->exec_id;
    q.n_command_args = 3;
    q.command_args = args;
    q.stdout_config =
        MODAL__TASK_COMMAND_ROUTER__TASK_EXEC_STDOUT_CONFIG__TASK_EXEC_STDOUT_CONFIG_PIPE;
    q.stderr_config =
        MODAL__TASK_COMMAND_ROUTER__TASK_EXEC_STDERR_CONFIG__TASK_EXEC_STDERR_CONFIG_PIPE;
    q.n_env = n;
    q.env = ep;
    long t = x->timeout_ms > 0 ? x->timeout_ms : 120000;
    q._timeout_secs_case =
        MODAL__TASK_COMMAND_ROUTER__TASK_EXEC_START_REQUEST___TIMEOUT_SECS_TIMEOUT_SECS;
    q.timeout_secs = (uint32_t)((t + 999) / 1000);
    /* Relative cwds, and no cwd at all, start from the sandbox's working directory. */
    if (sp_as_resolve_path(op->sandbox->workdir, x->cwd ? x->cwd : ".", wd, sizeof(wd)) == 0) {
        q._workdir_case = MODAL__TASK_COMMAND_ROUTER__TASK_EXEC_START_REQUEST___WORKDIR_WORKDIR;
        q.workdir = wd;
    }
    run->deadline_ms = sp_now_ms() + t + 10000;
    enum sp_next next = sp__modal_router_call(ms, req, "TaskExecStart", &q.base, 0, err);
    free(ep);
    free(e);
    return next;
}

static enum sp_next req_stdio(
    struct sp_op *op, struct modal_run *run, int fd, struct sp_http_req *req, struct sp_error *err)
{
    struct modal_sb *ms = op->sandbox->priv;
    if (run->stream_live)
        sp_grpc_stream_cleanup(&run->stream);
    sp_grpc_stream_init(&run->stream,
                        &modal__task_command_router__task_exec_stdio_read_response__descriptor,
                        on_stdio, run, 0);
    run->stream_live = true;
    Modal__TaskCommandRouter__TaskExecStdioReadRequest q =
        MODAL__TASK_COMMAND_ROUTER__TASK_EXEC_STDIO_READ_REQUEST__INIT;
    q.task_id = ms->task_id;
    q.exec_id = run->exec_id;
    q.file_descriptor = fd;
    long left = (long)(run->deadline_ms - sp_now_ms());
    enum sp_next next = sp__modal_router_call(ms, req, "TaskExecStdioRead", &q.base,
                                              left > 1000 ? left : 1000, err);
    req->on_chunk = on_chunk;
    return next;
}

static enum sp_next
exec_end(struct modal_run *run, const struct sp_http_rsp *rsp, struct sp_error *err)
{
    struct sp_exec *x = run->x;
    Modal__TaskCommandRouter__TaskExecWaitResponse *w = NULL;
    if (sp__modal_reply(rsp, &modal__task_command_router__task_exec_wait_response__descriptor, &w,
                        "exec wait", err) != SP_E_OK)
        return SP_NEXT_FAIL;
    bool sig = w->exit_status_case ==
               MODAL__TASK_COMMAND_ROUTER__TASK_EXEC_WAIT_RESPONSE__EXIT_STATUS_SIGNAL;
    x->exit_code = sig ? 128 + w->signal : w->code;
    if (sig)
        snprintf(x->detail, sizeof(x->detail), "signal: %d", w->signal);
    protobuf_c_message_free_unpacked(&w->base, NULL);
    if (x->exit_code == 124 && x->timeout_ms > 0) { /* killed at timeout_secs */
        x->timed_out = true;
        x->exit_code = -1;
    }
    emit(x, SP_EXEC_ENDED, NULL, 0);
    return SP_NEXT_DONE;
}

enum sp_next sp__modal_run_begin(struct sp_op *op,
                                 struct modal_run **out,
                                 struct sp_exec *x,
                                 struct sp_http_req *req,
                                 struct sp_error *err)
{
    struct modal_sb *ms = op->sandbox->priv;
    if (ms->task_id[0] == '\0' || ms->router_jwt == NULL) {
        sp_error_set(err, SP_E_STATE, "sandbox %s: exec before startup (no task yet)",
                     op->sandbox->id);
        return SP_NEXT_FAIL;
    }
    struct modal_run *run = *out ? *out : calloc(1, sizeof(*run));
    if (run == NULL) {
        sp_error_set(err, SP_E_INTERNAL, "out of memory");
        return SP_NEXT_FAIL;
    }
    static unsigned long seq;
    *out = run;
    run->x = x;
    run->state = X_START;
    snprintf(run->exec_id, sizeof(run->exec_id), "ex-%lld-%lu-%p", (long long)sp_now_ms(), ++seq,
             (void *)run);
    x->exit_code = -1;
    return req_start(op, run, req, err);
}

enum sp_next sp__modal_run_step(struct sp_op *op,
                                struct modal_run *run,
                                const struct sp_http_rsp *rsp,
                                struct sp_http_req *req,
                                struct sp_error *err)
{
    struct modal_sb *ms = op->sandbox->priv;
    ProtobufCMessage *m = NULL;
    if (rsp == NULL)
        return SP_NEXT_FAIL;
    switch (run->state) {
    case X_START:
        if (sp__modal_reply(rsp, &modal__task_command_router__task_exec_start_response__descriptor,
                            &m, "exec start", err) != SP_E_OK)
            return SP_NEXT_FAIL;
        protobuf_c_message_free_unpacked(m, NULL);
        emit(run->x, SP_EXEC_STARTED, NULL, 0);
        run->state = X_OUT;
        return req_stdio(op, run, 0, req, err);
    case X_OUT:
    case X_ERR:
        if (sp_grpc_stream_finish(&run->stream, rsp, err) != SP_E_OK) {
            sp_error_prefix(err, "exec %s", run->state == X_OUT ? "stdout" : "stderr");
            return SP_NEXT_FAIL;
        }
        if (run->state == X_OUT) {
            run->state = X_ERR;
            return req_stdio(op, run, 1, req, err);
        }
        run->state = X_WAIT;
        Modal__TaskCommandRouter__TaskExecWaitRequest q =
            MODAL__TASK_COMMAND_ROUTER__TASK_EXEC_WAIT_REQUEST__INIT;
        q.task_id = ms->task_id;
        q.exec_id = run->exec_id;
        return sp__modal_router_call(ms, req, "TaskExecWait", &q.base, 60000, err);
    default:
        return exec_end(run, rsp, err);
    }
}

static void exec_ctx_free(void *p)
{
    struct modal_op_ctx *c = p;
    if (c)
        sp__modal_run_free(c->run);
    free(c);
}

enum sp_next sp__modal_direct_exec(struct sp_op *op,
                                   const struct sp_http_rsp *rsp,
                                   struct sp_http_req *req,
                                   struct sp_error *err)
{
    struct modal_op_ctx *c = op->ctx;
    if (c == NULL) {
        if ((c = sp__op_ctx_new(op, sizeof(*c), exec_ctx_free, err)) == NULL)
            return SP_NEXT_FAIL;
        return sp__modal_run_begin(op, &c->run, op->u.exec, req, err);
    }
    return sp__modal_run_step(op, c->run, rsp, req, err);
}
