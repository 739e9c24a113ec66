/* The Modal provider: configuration and the control-plane steps over gRPC (grpc.c) as the
 * Python SDK 1.1 drives them under OpenHands' ModalRuntime (spec/runloop-modal.md M5 a):
 * create = AppGetOrCreate "openhands", EnvironmentGetOrCreate, ImageGetOrCreate (+
 * ImageJoinStreaming until built), SecretGetOrCreate for the env, SandboxCreate with the
 * action server as entrypoint, tagged with the session; attach = SandboxList by tag, then
 * SandboxWait timeout 0 on the id found; cleanup = SandboxTerminate, confirmed by SandboxWait.
 * Startup and the direct mode's exec (task command router) are in modal_exec.c. */
#include "modal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action_server.h"
#include "modal_proto/api.pb-c.h"

/* --- configuration ------------------------------------------------------------------------ */

static const char *const modes[] = {"action-server", "direct", NULL}; /* enum modal_mode */

static void modal_cfg_free(void *p)
{
    struct modal_cfg *cfg = p;
    if (cfg == NULL)
        return;
    sp__config_secret_free(cfg->token_secret);
    sp__config_secret_free(cfg->token_id);
    free(cfg);
}

static enum sp_err modal_configure(const struct sp_kv *env,
                                   const struct sp_client_opts *opts,
                                   void **out,
                                   struct sp_error *err)
{
    *out = NULL;
    /* The token is a pair: the message names both halves, whichever is missing. */
    const char *id = sp_kv_get(env, "MODAL_TOKEN_ID");
    const char *secret = sp_kv_get(env, "MODAL_TOKEN_SECRET");
    if (id == NULL || id[0] == '\0' || secret == NULL || secret[0] == '\0')
        return sp_error_set(err, SP_E_CONFIG,
                            "MODAL_TOKEN_ID and MODAL_TOKEN_SECRET must both "
                            "be set");
    const char *gen = sp_kv_get(env, SP_GENERATION_VAR);
    bool v2 = gen && (strcmp(gen, "1") == 0 || strcmp(gen, "true") == 0);
    if (gen && gen[0] && !v2 && strcmp(gen, "0") != 0 && strcmp(gen, "false") != 0)
        return sp_error_set(err, SP_E_CONFIG, SP_GENERATION_VAR " must be 0 or 1, not '%.20s'",
                            gen);
    struct modal_cfg *cfg = calloc(1, sizeof(*cfg));
    if (cfg == NULL)
        return sp_error_set(err, SP_E_INTERNAL, "out of memory");
    enum sp_err rc = sp__config_secret(env, "MODAL_TOKEN_ID", &cfg->token_id, err);
    if (rc == SP_E_OK)
        rc = sp__config_secret(env, "MODAL_TOKEN_SECRET", &cfg->token_secret, err);
    if (rc == SP_E_OK && (sp__config_copy(env, "MODAL_SERVER_URL", MODAL_DEFAULT_URL,
                                          cfg->server_url, sizeof(cfg->server_url), err) != 0 ||
                          sp__config_url(cfg->server_url, "MODAL_SERVER_URL", err) != 0))
        rc = SP_E_CONFIG;
    int m = 0;
    if (rc == SP_E_OK && sp__config_mode(modes, "Modal", opts ? opts->mode : NULL, &m, err) != 0)
        rc = SP_E_CONFIG;
    if (rc != SP_E_OK) {
        modal_cfg_free(cfg);
        return rc;
    }
    cfg->mode = (enum modal_mode)m;
    cfg->v2 = v2;
    *out = cfg;
    return SP_E_OK;
}

static unsigned modal_caps(const void *p)
{
    const struct modal_cfg *cfg = p;
    if (cfg->mode == MODAL_MODE_DIRECT)
        return SP_CAP_LABELS | SP_CAP_STREAM_EXEC | SP_CAP_SPLIT_STDERR | SP_CAP_GENERATIONS;
    return SP_CAP_LABELS | SP_CAP_PERSIST_SHELL | SP_CAP_WRITE_NEWLINE | SP_CAP_ACTION_SERVER |
           SP_CAP_PORT_TUNNEL | SP_CAP_GENERATIONS;
}

/* --- calls -------------------------------------------------------------------------------- */

enum sp_next sp__modal_call(const struct modal_cfg *cfg,
                            struct sp_http_req *req,
                            const char *method,
                            const ProtobufCMessage *msg,
                            long timeout_ms,
                            struct sp_error *err)
{
    /* V2 sandboxes are driven through the V2 twin of each sandbox call (M5 c). */
    static const char *const twins[] = {"SandboxGetTaskId", "SandboxGetTunnels", "SandboxList",
                                        "SandboxTagsSet",   "SandboxTerminate",  "SandboxWait"};
    bool twin = false;
    for (size_t i = 0; cfg->v2 && i < sizeof(twins) / sizeof(twins[0]); i++)
        twin = twin || strcmp(method, twins[i]) == 0;
    char path[160];
    snprintf(path, sizeof(path), "%s%s%s", MODAL_CP, method, twin ? "V2" : "");
    /* The Python client's metadata (M3): client type 1, its version, the token pair. */
    if (sp_grpc_request(req, cfg->server_url, path, msg, timeout_ms) != 0 ||
        sp_http_req_header(req, "x-modal-client-type", "1") != 0 ||
        sp_http_req_header(req, "x-modal-client-version", "1.1.0") != 0 ||
        sp_http_req_header(req, "x-modal-token-id", "%s", cfg->token_id) != 0 ||
        sp_http_req_header(req, "x-modal-token-secret", "%s", cfg->token_secret) != 0) {
        sp_error_set(err, SP_E_INTERNAL, "out of memory building a Modal request");
        return SP_NEXT_FAIL;
    }
    req->timeout_ms = timeout_ms > 0 ? timeout_ms + 5000 : 0;
    return SP_NEXT_REQUEST;
}

enum sp_next sp__modal_router_call(const struct modal_sb *ms,
                                   struct sp_http_req *req,
                                   const char *method,
                                   const ProtobufCMessage *msg,
                                   long timeout_ms,
                                   struct sp_error *err)
{
    char path[160];
    snprintf(path, sizeof(path), "%s%s", MODAL_TCR, method);
    if (sp_grpc_request(req, ms->router_url, path, msg, timeout_ms) != 0 ||
        sp_http_req_header(req, "authorization", "Bearer %s", ms->router_jwt) != 0) {
        sp_error_set(err, SP_E_INTERNAL, "out of memory building a router request");
        return SP_NEXT_FAIL;
    }
    req->timeout_ms = timeout_ms > 0 ? timeout_ms + 5000 : 0;
    return SP_NEXT_REQUEST;
}

enum sp_err sp__modal_reply(const struct sp_http_rsp *rsp,
                            const ProtobufCMessageDescriptor *desc,
                            void *out,
                            const char *what,
                            struct sp_error *err)
{
    enum sp_err rc = sp_grpc_unary_parse(rsp, desc, (ProtobufCMessage **)out, err);
    if (rc != SP_E_OK)
        sp_error_prefix(err, "%s", what);
    return rc;
}

static void ms_free(void *p)
{
    struct modal_sb *ms = p;
    if (ms && ms->router_jwt) {
        memset(ms->router_jwt, 0, strlen(ms->router_jwt));
        free(ms->router_jwt);
    }
    free(ms);
}

static struct sp_sandbox *
sandbox_new(struct sp_op *op, const char *id, const char *session, struct sp_error *err)
{
    const struct modal_cfg *cfg = op->client->cfg;
    struct sp_sandbox *sb = sp__sandbox_new(op->client);
    struct modal_sb *ms = sb ? calloc(1, sizeof(*ms)) : NULL;
    if (ms == NULL) {
        sp_sandbox_free(sb);
        sp_error_set(err, SP_E_INTERNAL, "out of memory");
        return NULL;
    }
    sb->priv = ms;
    sb->priv_free = ms_free;
    snprintf(sb->id, sizeof(sb->id), "%s", id);
    snprintf(sb->session, sizeof(sb->session), "%s", session);
    sp__sandbox_set_state(sb, "running");
    snprintf(sb->workdir, sizeof(sb->workdir), "%s",
             cfg->mode == MODAL_MODE_DIRECT ? "/root" : SP_AS_WORKDIR);
    return sb;
}

/* --- auth ----------------------------------------------------------------------------------- */

/* EnvironmentGetOrCreate: the Python client's first call, cheap and without side effects. */
static enum sp_next modal_auth(struct sp_op *op,
                               const struct sp_http_rsp *rsp,
                               struct sp_http_req *req,
                               struct sp_error *err)
{
    if (rsp == NULL) {
        Modal__Client__EnvironmentGetOrCreateRequest q =
            MODAL__CLIENT__ENVIRONMENT_GET_OR_CREATE_REQUEST__INIT;
        return sp__modal_call(op->client->cfg, req, "EnvironmentGetOrCreate", &q.base, 0, err);
    }
    Modal__Client__EnvironmentGetOrCreateResponse *r = NULL;
    if (sp__modal_reply(rsp, &modal__client__environment_get_or_create_response__descriptor, &r,
                        "environment lookup", err) != SP_E_OK)
        return SP_NEXT_FAIL;
    protobuf_c_message_free_unpacked(&r->base, NULL);
    return SP_NEXT_DONE;
}

/* --- create --------------------------------------------------------------------------------- */

enum { C_APP, C_ENV, C_IMAGE, C_JOIN, C_SECRET, C_SANDBOX };

struct create_ctx {
    char session[128];
    char app_id[64], image_id[64], secret_id[64];
};

static enum sp_next req_app(struct sp_op *op, struct sp_http_req *req, struct sp_error *err)
{
    char name[] = MODAL_APP_NAME;
    Modal__Client__AppGetOrCreateRequest q = MODAL__CLIENT__APP_GET_OR_CREATE_REQUEST__INIT;
    q.app_name = name;
    q.object_creation_type =
        MODAL__CLIENT__OBJECT_CREATION_TYPE__OBJECT_CREATION_TYPE_CREATE_IF_MISSING;
    return sp__modal_call(op->client->cfg, req, "AppGetOrCreate", &q.base, 0, err);
}

static enum sp_next
req_image(struct sp_op *op, struct create_ctx *ctx, struct sp_http_req *req, struct sp_error *err)
{
    const struct sp_create_opts *o = op->u.create;
    char from[512];
    snprintf(from, sizeof(from), "FROM %s", o->image ? o->image : MODAL_DEFAULT_IMAGE);
    char *cmds[] = {from};
    Modal__Client__Image img = MODAL__CLIENT__IMAGE__INIT;
    img.n_dockerfile_commands = 1;
    img.dockerfile_commands = cmds;
    Modal__Client__ImageGetOrCreateRequest q = MODAL__CLIENT__IMAGE_GET_OR_CREATE_REQUEST__INIT;
    q.image = &img;
    q.app_id = ctx->app_id;
    char builder[] = "2024.10";
    q.builder_version = builder;
    return sp__modal_call(op->client->cfg, req, "ImageGetOrCreate", &q.base, 0, err);
}

static enum sp_next
req_join(struct sp_op *op, struct create_ctx *ctx, struct sp_http_req *req, struct sp_error *err)
{
    Modal__Client__ImageJoinStreamingRequest q = MODAL__CLIENT__IMAGE_JOIN_STREAMING_REQUEST__INIT;
    q.image_id = ctx->image_id;
    q.timeout = 55;
    return sp__modal_call(op->client->cfg, req, "ImageJoinStreaming", &q.base, 60000, err);
}

/* OpenHands' sandbox env (port, PYTHONUNBUFFERED, VSCODE_PORT) plus the caller's, as an
 * anonymous secret owned by the app. */
static enum sp_next
req_secret(struct sp_op *op, struct create_ctx *ctx, struct sp_http_req *req, struct sp_error *err)
{
    const struct sp_kv *extra = op->u.create->env;
    size_t n = 3 + (extra ? extra->n : 0);
    Modal__Client__SecretGetOrCreateRequest__EnvDictEntry *e = calloc(n, sizeof(*e));
    Modal__Client__SecretGetOrCreateRequest__EnvDictEntry **ep = calloc(n, sizeof(*ep));
    char port[8], vsc[8], one[] = "1", kp[] = "port", ku[] = "PYTHONUNBUFFERED",
                          kv[] = "VSCODE_PORT";
    snprintf(port, sizeof(port), "%d", MODAL_SERVER_PORT);
    snprintf(vsc, sizeof(vsc), "%d", MODAL_VSCODE_PORT);
    char *keys[3] = {kp, ku, kv}, *vals[3] = {port, one, vsc};
    if (e == NULL || ep == NULL) {
        free(e);
        free(ep);
        sp_error_set(err, SP_E_INTERNAL, "out of memory");
        return SP_NEXT_FAIL;
    }
    for (size_t i = 0; i < n; i++) {
        e[i] = (Modal__Client__SecretGetOrCreateRequest__EnvDictEntry)
            MODAL__CLIENT__SECRET_GET_OR_CREATE_REQUEST__ENV_DICT_ENTRY__INIT;
        e[i].key = i < 3 ? keys[i] : extra->items[i - 3].key;
        e[i].value = i < 3 ? vals[i] : extra->items[i - 3].val;
        ep[i] = &e[i];
    }
    Modal__Client__SecretGetOrCreateRequest q = MODAL__CLIENT__SECRET_GET_OR_CREATE_REQUEST__INIT;
    q.object_creation_type =
        MODAL__CLIENT__OBJECT_CREATION_TYPE__OBJECT_CREATION_TYPE_ANONYMOUS_OWNED_BY_APP;
    q.n_env_dict = n;
    q.env_dict = ep;
    q.app_id = ctx->app_id;
    enum sp_next next = sp__modal_call(op->client->cfg, req, "SecretGetOrCreate", &q.base, 0, err);
    free(ep);
    free(e);
    return next;
}

/* The sandbox: the action server on 3000 as entrypoint (direct mode: a plain sleeper), open
 * ports 3000 and 4445, 3600 s, workdir /openhands/code, tagged with the session (and run). */
static enum sp_next
req_sandbox(struct sp_op *op, struct create_ctx *ctx, struct sp_http_req *req, struct sp_error *err)
{
    const struct modal_cfg *cfg = op->client->cfg;
    const struct sp_create_opts *o = op->u.create;
    struct sp_buf cmd;
    sp_buf_init(&cmd, 0);
    char bash[] = "bash", dash_c[] = "-c", sleep_[] = "sleep", h48[] = "48h";
    char skey[] = MODAL_SESSION_KEY, rkey[] = SP_RUN_LABEL, wd[] = MODAL_WORKDIR;
    if (cfg->mode == MODAL_MODE_ACTION_SERVER &&
        sp_as_server_command(MODAL_SERVER_PORT, SP_AS_WORKDIR, &cmd) != 0) {
        sp_buf_cleanup(&cmd);
        sp_error_set(err, SP_E_INTERNAL, "out of memory");
        return SP_NEXT_FAIL;
    }
    char *server[] = {bash, dash_c, cmd.data}, *sleeper[] = {sleep_, h48};
    char *secrets[] = {ctx->secret_id};
    Modal__Client__PortSpec p1 = MODAL__CLIENT__PORT_SPEC__INIT,
                            p2 = MODAL__CLIENT__PORT_SPEC__INIT;
    p1.port = MODAL_SERVER_PORT;
    p2.port = MODAL_VSCODE_PORT;
    Modal__Client__PortSpec *pp[] = {&p1, &p2};
    Modal__Client__PortSpecs ports = MODAL__CLIENT__PORT_SPECS__INIT;
    ports.n_ports = 2;
    ports.ports = pp;
    Modal__Client__Sandbox def = MODAL__CLIENT__SANDBOX__INIT;
    bool server_mode = cfg->mode == MODAL_MODE_ACTION_SERVER;
    def.n_entrypoint_args = server_mode ? 3 : 2;
    def.entrypoint_args = server_mode ? server : sleeper;
    def.image_id = ctx->image_id;
    def.n_secret_ids = 1;
    def.secret_ids = secrets;
    def.timeout_secs = MODAL_TIMEOUT_SECS;
    def._workdir_case = MODAL__CLIENT__SANDBOX___WORKDIR_WORKDIR;
    def.workdir = wd;
    if (server_mode) {
        def.open_ports_oneof_case = MODAL__CLIENT__SANDBOX__OPEN_PORTS_ONEOF_OPEN_PORTS;
        def.open_ports = &ports;
    }
    Modal__Client__SandboxTag t1 = MODAL__CLIENT__SANDBOX_TAG__INIT,
                              t2 = MODAL__CLIENT__SANDBOX_TAG__INIT;
    t1.tag_name = skey;
    t1.tag_value = ctx->session;
    t2.tag_name = rkey;
    t2.tag_value = (char *)(uintptr_t)(o->run_id ? o->run_id : "");
    Modal__Client__SandboxTag *tags[] = {&t1, &t2};
    Modal__Client__SandboxCreateRequest q = MODAL__CLIENT__SANDBOX_CREATE_REQUEST__INIT;
    q.app_id = ctx->app_id;
    q.definition = &def;
    q.n_tags = o->run_id ? 2 : 1;
    q.tags = tags;
    Modal__Client__SandboxCreateV2Request q2 = MODAL__CLIENT__SANDBOX_CREATE_V2_REQUEST__INIT;
    q2.app_id = ctx->app_id;
    q2.definition = &def;
    q2.n_tags = q.n_tags;
    q2.tags = tags;
    enum sp_next next = cfg->v2 ? sp__modal_call(cfg, req, "SandboxCreateV2", &q2.base, 0, err)
                                : sp__modal_call(cfg, req, "SandboxCreate", &q.base, 0, err);
    sp_buf_cleanup(&cmd);
    return next;
}

/* Reads the reply of the current create call; returns the next request. */
static enum sp_next create_next(struct sp_op *op,
                                struct create_ctx *ctx,
                                const struct sp_http_rsp *rsp,
                                struct sp_http_req *req,
                                struct sp_error *err)
{
    static const ProtobufCMessageDescriptor *const descs[] = {
        &modal__client__app_get_or_create_response__descriptor,
        &modal__client__environment_get_or_create_response__descriptor,
        &modal__client__image_get_or_create_response__descriptor,
        &modal__client__image_join_streaming_response__descriptor,
        &modal__client__secret_get_or_create_response__descriptor,
        &modal__client__sandbox_create_response__descriptor,
    };
    static const char *const what[] = {"app lookup",  "environment lookup",
                                       "image build", "image build",
                                       "secret",      "sandbox create"};
    const struct modal_cfg *cfg = op->client->cfg;
    const ProtobufCMessageDescriptor *desc =
        op->state == C_SANDBOX && cfg->v2 ? &modal__client__sandbox_create_v2_response__descriptor
                                          : descs[op->state];
    ProtobufCMessage *m = NULL;
    if (sp__modal_reply(rsp, desc, &m, what[op->state], err) != SP_E_OK)
        return SP_NEXT_FAIL;
    enum sp_next next = SP_NEXT_FAIL;
    const Modal__Client__GenericResult *res = NULL;
    switch (op->state) {
    case C_APP:
        snprintf(ctx->app_id, sizeof(ctx->app_id), "%s",
                 ((Modal__Client__AppGetOrCreateResponse *)m)->app_id);
        op->state = C_ENV;
        Modal__Client__EnvironmentGetOrCreateRequest eq =
            MODAL__CLIENT__ENVIRONMENT_GET_OR_CREATE_REQUEST__INIT;
        next = sp__modal_call(op->client->cfg, req, "EnvironmentGetOrCreate", &eq.base, 0, err);
        break;
    case C_ENV:
        op->state = C_IMAGE;
        next = req_image(op, ctx, req, err);
        break;
    case C_IMAGE:
    case C_JOIN:
        if (op->state == C_IMAGE) {
            Modal__Client__ImageGetOrCreateResponse *ir = (void *)m;
            snprintf(ctx->image_id, sizeof(ctx->image_id), "%s", ir->image_id);
            res = ir->result;
        } else {
            res = ((Modal__Client__ImageJoinStreamingResponse *)m)->result;
        }
        if (res &&
            res->status != MODAL__CLIENT__GENERIC_RESULT__GENERIC_STATUS__GENERIC_STATUS_SUCCESS &&
            res->status !=
                MODAL__CLIENT__GENERIC_RESULT__GENERIC_STATUS__GENERIC_STATUS_UNSPECIFIED) {
            sp_error_set(err, SP_E_STATE, "image %s failed to build (status %d): %.120s",
                         ctx->image_id, (int)res->status, res->exception);
        } else if (res == NULL || res->status == 0) { /* not built yet: join the build */
            op->state = C_JOIN;
            next = ++op->polls > 100
                       ? (sp_error_set(err, SP_E_TIMEOUT, "image %s not built", ctx->image_id),
                          SP_NEXT_FAIL)
                       : req_join(op, ctx, req, err);
        } else {
            op->state = C_SECRET;
            next = req_secret(op, ctx, req, err);
        }
        break;
    case C_SECRET:
        snprintf(ctx->secret_id, sizeof(ctx->secret_id), "%s",
                 ((Modal__Client__SecretGetOrCreateResponse *)m)->secret_id);
        op->state = C_SANDBOX;
        next = req_sandbox(op, ctx, req, err);
        break;
    default:
        op->sandbox =
            sandbox_new(op,
                        cfg->v2 ? ((Modal__Client__SandboxCreateV2Response *)m)->sandbox_id
                                : ((Modal__Client__SandboxCreateResponse *)m)->sandbox_id,
                        ctx->session, err);
        next = op->sandbox ? SP_NEXT_DONE : SP_NEXT_FAIL;
    }
    protobuf_c_message_free_unpacked(m, NULL);
    return next;
}

static enum sp_next modal_create(struct sp_op *op,
                                 const struct sp_http_rsp *rsp,
                                 struct sp_http_req *req,
                                 struct sp_error *err)
{
    struct create_ctx *ctx = op->ctx;
    if (rsp != NULL)
        return create_next(op, ctx, rsp, req, err);
    const struct sp_create_opts *o = op->u.create;
    if ((ctx = sp__op_ctx_new(op, sizeof(*ctx), free, err)) == NULL)
        return SP_NEXT_FAIL;
    if (sp__session_name(o->session, "name", ctx->session, sizeof(ctx->session), err) != 0)
        return SP_NEXT_FAIL;
    op->state = C_APP;
    return req_app(op, req, err);
}

/* --- attach --------------------------------------------------------------------------------- */

enum { A_LIST, A_WAIT };

struct attach_ctx {
    char id[128];
    char before[32];
};

static enum sp_next attach_list(struct sp_op *op, struct sp_http_req *req, struct sp_error *err)
{
    Modal__Client__SandboxTag t = MODAL__CLIENT__SANDBOX_TAG__INIT;
    t.tag_name = (char *)(uintptr_t)op->u.attach.key;
    t.tag_value = (char *)(uintptr_t)op->u.attach.value;
    Modal__Client__SandboxTag *tags[] = {&t};
    Modal__Client__SandboxListRequest q = MODAL__CLIENT__SANDBOX_LIST_REQUEST__INIT;
    q.n_tags = 1;
    q.tags = tags;
    return sp__modal_call(op->client->cfg, req, "SandboxList", &q.base, 0, err);
}

static enum sp_next
attach_wait(struct sp_op *op, const char *id, struct sp_http_req *req, struct sp_error *err)
{
    Modal__Client__SandboxWaitRequest q = MODAL__CLIENT__SANDBOX_WAIT_REQUEST__INIT;
    q.sandbox_id = (char *)(uintptr_t)id;
    q.timeout = 0; /* Sandbox.from_id: the state now */
    return sp__modal_call(op->client->cfg, req, "SandboxWait", &q.base, 0, err);
}

static enum sp_next modal_attach(struct sp_op *op,
                                 const struct sp_http_rsp *rsp,
                                 struct sp_http_req *req,
                                 struct sp_error *err)
{
    struct attach_ctx *ctx = op->ctx;
    if (rsp == NULL) {
        if ((ctx = sp__attach_begin(op, sizeof(*ctx), err)) == NULL)
            return SP_NEXT_FAIL;
        return attach_list(op, req, err);
    }
    if (op->state == A_LIST) {
        Modal__Client__SandboxListResponse *l = NULL;
        if (sp__modal_reply(rsp, &modal__client__sandbox_list_response__descriptor, &l,
                            "sandbox list", err) != SP_E_OK)
            return SP_NEXT_FAIL;
        size_t n = l->n_sandboxes;
        if (n == 1)
            snprintf(ctx->id, sizeof(ctx->id), "%s", l->sandboxes[0]->id);
        protobuf_c_message_free_unpacked(&l->base, NULL);
        if (n != 1) {
            sp_error_set(err, n ? SP_E_CONFLICT : SP_E_NOT_FOUND,
                         "%zu running sandboxes have tag "
                         "%.60s=%.100s",
                         n, op->u.attach.key, op->u.attach.value);
            return SP_NEXT_FAIL;
        }
        op->state = A_WAIT;
        return attach_wait(op, ctx->id, req, err);
    }
    Modal__Client__SandboxWaitResponse *w = NULL;
    if (sp__modal_reply(rsp, &modal__client__sandbox_wait_response__descriptor, &w, "sandbox wait",
                        err) != SP_E_OK)
        return SP_NEXT_FAIL;
    bool finished = w->result && w->result->status != 0;
    protobuf_c_message_free_unpacked(&w->base, NULL);
    if (finished) {
        sp_error_set(err, SP_E_NOT_FOUND, "sandbox %s has finished", ctx->id);
        return SP_NEXT_FAIL;
    }
    bool session = strcmp(op->u.attach.key, MODAL_SESSION_KEY) == 0;
    op->sandbox = sandbox_new(op, ctx->id, session ? op->u.attach.value : "", err);
    return op->sandbox ? SP_NEXT_DONE : SP_NEXT_FAIL;
}

/* --- cleanup ------------------------------------------------------------------------------- */

enum { CL_TERMINATE, CL_CONFIRM };

/* SandboxTerminate, then SandboxWait timeout 0 until it reports a result (terminated). */
static enum sp_next modal_cleanup(struct sp_op *op,
                                  const struct sp_http_rsp *rsp,
                                  struct sp_http_req *req,
                                  struct sp_error *err)
{
    const struct modal_cfg *cfg = op->client->cfg;
    if (rsp == NULL && op->state == CL_TERMINATE) {
        if (op->u.cleanup == SP_CLEANUP_STOP) {
            sp_error_set(err, SP_E_UNSUPPORTED, "Modal sandboxes are terminated, not stopped");
            return SP_NEXT_FAIL;
        }
        op->deadline_ms = sp_now_ms() + op->client->opts.ready_timeout_ms;
        Modal__Client__SandboxTerminateRequest q = MODAL__CLIENT__SANDBOX_TERMINATE_REQUEST__INIT;
        q.sandbox_id = op->sandbox->id;
        return sp__modal_call(cfg, req, "SandboxTerminate", &q.base, 0, err);
    }
    if (rsp == NULL)
        return attach_wait(op, op->sandbox->id, req, err);
    if (op->state == CL_TERMINATE) {
        Modal__Client__SandboxTerminateResponse *t = NULL;
        if (sp__modal_reply(rsp, &modal__client__sandbox_terminate_response__descriptor, &t,
                            "sandbox terminate", err) != SP_E_OK)
            return SP_NEXT_FAIL;
        protobuf_c_message_free_unpacked(&t->base, NULL);
        op->state = CL_CONFIRM;
        return attach_wait(op, op->sandbox->id, req, err);
    }
    Modal__Client__SandboxWaitResponse *w = NULL;
    if (sp__modal_reply(rsp, &modal__client__sandbox_wait_response__descriptor, &w, "sandbox wait",
                        err) != SP_E_OK)
        return SP_NEXT_FAIL;
    bool done = w->result && w->result->status != 0;
    protobuf_c_message_free_unpacked(&w->base, NULL);
    if (done) {
        sp__sandbox_set_state(op->sandbox, "terminated");
        return SP_NEXT_DONE;
    }
    if (sp_now_ms() >= op->deadline_ms) {
        sp_error_set(err, SP_E_TIMEOUT, "sandbox %s still running after terminate",
                     op->sandbox->id);
        return SP_NEXT_FAIL;
    }
    op->wait_ms = op->client->opts.alive_interval_ms;
    return SP_NEXT_WAIT;
}

static const char *const credential_vars[] = {"MODAL_TOKEN_ID", "MODAL_TOKEN_SECRET", NULL};

const struct sp_provider sp_provider_modal = {
    .name = "modal",
    .session_key = MODAL_SESSION_KEY,
    .modes = modes,
    .credential_vars = credential_vars,
    .configure = modal_configure,
    .cfg_free = modal_cfg_free,
    .caps = modal_caps,
    .auth = modal_auth,
    .create = modal_create,
    .attach = modal_attach,
    .startup = sp__modal_startup,
    .exec = sp__modal_direct_exec,
    .files = sp__modal_direct_files,
    .cleanup = modal_cleanup,
    .list = sp__modal_step_list,
};
