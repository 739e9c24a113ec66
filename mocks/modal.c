/* The Modal mock: Modal's gRPC API (modal.client.ModalClient) and its task command router
 * (modal.task_command_router.TaskCommandRouter) on one h2c port, as spec/runloop-modal.md Part
 * M describes them -- the vendor definition, authentication (token pair on the control plane,
 * the router's JWT on the router), gRPC helpers, ids, and the app, environment, image and
 * secret RPCs. Sandboxes are in modal_sandbox.c, exec in modal_exec.c. */
#include "modal_int.h"
#include "tls_cert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grpc.h"

#define CP  "/modal.client.ModalClient/"
#define TCR "/modal.task_command_router.TaskCommandRouter/"

struct modal_state *modal_state(struct mock_req *r)
{
    return mock_vendor_data(r->mock);
}

/* --- gRPC helpers ------------------------------------------------------------------------- */

ProtobufCMessage *modal_req_msg(struct mock_req *r, const ProtobufCMessageDescriptor *desc)
{
    const unsigned char *b = (const unsigned char *)r->body.data;
    size_t len = r->body.len;
    size_t n = len >= 5 ? (size_t)b[1] << 24 | (size_t)b[2] << 16 | (size_t)b[3] << 8 | b[4] : 0;
    ProtobufCMessage *m = NULL;
    if (len >= 5 && b[0] == 0 && n == len - 5)
        m = protobuf_c_message_unpack(desc, NULL, n, b + 5);
    if (m == NULL) {
        char msg[160];
        snprintf(msg, sizeof(msg), "request is not one uncompressed %s message", desc->name);
        modal_reply_status(r, MODAL_INVALID_ARGUMENT, msg);
    }
    return m;
}

void modal_reply_msg(struct mock_req *r, const ProtobufCMessage *msg)
{
    struct sp_buf b;
    sp_buf_init(&b, 0);
    if (sp_grpc_frame(&b, msg) != 0) {
        sp_buf_cleanup(&b);
        modal_reply_status(r, MODAL_INTERNAL, "mock: out of memory");
        return;
    }
    mock_reply_trailer(r, "grpc-status", "0");
    mock_reply(r, 200, "application/grpc", b.data, b.len);
    sp_buf_cleanup(&b);
}

void modal_reply_status(struct mock_req *r, int code, const char *message)
{
    char st[8];
    struct sp_buf enc;
    sp_buf_init(&enc, 0);
    for (const char *p = message; *p; p++) { /* grpc-message is percent-encoded */
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 || c > 0x7e || c == '%')
            sp_buf_printf(&enc, "%%%02X", c);
        else
            sp_buf_append(&enc, p, 1);
    }
    snprintf(st, sizeof(st), "%d", code);
    mock_reply_header(r, "grpc-status", st);
    mock_reply_header(r, "grpc-message", sp_buf_str(&enc));
    mock_reply(r, 200, "application/grpc", "", 0);
    sp_buf_cleanup(&enc);
}

static void random_chars(struct mock_req *r, const char *alphabet, size_t n, char *out)
{
    size_t k = strlen(alphabet);
    for (size_t i = 0; i < n; i++)
        out[i] = alphabet[mock_random_u64(r->mock) % k];
    out[n] = '\0';
}

void modal_id62(struct mock_req *r, const char *prefix, size_t n, char *out, size_t outlen)
{
    char tail[64];
    random_chars(r, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
                 n < sizeof(tail) ? n : sizeof(tail) - 1, tail);
    snprintf(out, outlen, "%s%s", prefix, tail);
}

void modal_id32(struct mock_req *r, const char *prefix, size_t n, char *out, size_t outlen)
{
    char tail[64];
    random_chars(r, "0123456789abcdefghjkmnpqrstvwxyz", n < sizeof(tail) ? n : sizeof(tail) - 1,
                 tail);
    snprintf(out, outlen, "%s%s", prefix, tail);
}

struct mock_sandbox *modal_sandbox(struct mock_req *r, const char *id)
{
    struct mock_sandbox *sb = id && *id ? mock_store_get(mock_store_of(r->mock), id) : NULL;
    if (sb == NULL) {
        char msg[128];
        snprintf(msg, sizeof(msg), "Sandbox %.64s not found", id ? id : "");
        modal_reply_status(r, MODAL_NOT_FOUND, msg);
    }
    return sb;
}

struct mock_sandbox *modal_task_sandbox(struct mock_req *r, const char *task_id)
{
    struct modal_state *st = modal_state(r);
    char id[64] = "";
    pthread_mutex_lock(&st->lock);
    const char *v = sp_kv_get(&st->tasks, task_id ? task_id : "");
    if (v)
        snprintf(id, sizeof(id), "%s", v);
    pthread_mutex_unlock(&st->lock);
    return id[0] ? mock_store_get(mock_store_of(r->mock), id) : NULL;
}

bool modal_secret_env(struct mock_req *r, const char *id, struct sp_kv *env)
{
    struct modal_state *st = modal_state(r);
    pthread_mutex_lock(&st->lock);
    const char *v = sp_kv_get(&st->secrets, id);
    char *copy = v ? strdup(v) : NULL;
    pthread_mutex_unlock(&st->lock);
    if (copy == NULL)
        return false;
    for (char *line = copy, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        char *eq = strchr(line, '=');
        if (eq) {
            *eq = '\0';
            sp_kv_set(env, line, eq + 1);
        }
    }
    free(copy);
    return true;
}

/* --- auth --------------------------------------------------------------------------------- */

/* A JWT the JS SDK accepts: it reads `exp` to schedule its refresh, which must be near (M4). */
static void make_jwt(struct mock_req *r, const char *sub, char *out, size_t outlen)
{
    char payload[160], sig[44];
    snprintf(payload, sizeof(payload), "{\"sub\":\"%s\",\"exp\":%lld}", sub,
             (long long)(mock_wall_ms() / 1000 + 3600));
    modal_id62(r, "", 43, sig, sizeof(sig));
    struct sp_buf b;
    sp_buf_init(&b, 0);
    sp_buf_put_base64(&b, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", 27);
    sp_buf_puts(&b, ".");
    sp_buf_put_base64(&b, payload, strlen(payload));
    sp_buf_printf(&b, ".%s", sig);
    size_t o = 0;
    for (size_t i = 0; i < b.len && o + 1 < outlen; i++) { /* base64url, no padding */
        char c = b.data[i];
        if (c != '=')
            out[o++] = c == '+' ? '-' : c == '/' ? '_' : c;
    }
    out[o] = '\0';
    sp_buf_cleanup(&b);
}

static bool modal_authorize(struct mock_req *r)
{
    struct modal_state *st = modal_state(r);
    if (strncmp(r->path, TCR, sizeof(TCR) - 1) == 0) {
        const char *a = mock_req_header(r, "authorization");
        if (a && strncmp(a, "Bearer ", 7) == 0 && strcmp(a + 7, st->router_jwt) == 0)
            return true;
        modal_reply_status(r, MODAL_UNAUTHENTICATED, "invalid or missing command router token");
        return false;
    }
    const char *id = mock_req_header(r, "x-modal-token-id");
    const char *secret = mock_req_header(r, "x-modal-token-secret");
    if (id && secret && strcmp(id, st->token_id) == 0 && strcmp(secret, mock_key(r->mock)) == 0)
        return true;
    modal_reply_status(r, MODAL_UNAUTHENTICATED,
                       id && secret ? "Token ID or secret is invalid" : "Token missing");
    return false;
}

static void auth_token_get(struct mock_req *r)
{
    ProtobufCMessage *in = modal_req_msg(r, &modal__client__auth_token_get_request__descriptor);
    if (in == NULL)
        return;
    protobuf_c_message_free_unpacked(in, NULL);
    char jwt[512];
    make_jwt(r, "client", jwt, sizeof(jwt));
    Modal__Client__AuthTokenGetResponse out = MODAL__CLIENT__AUTH_TOKEN_GET_RESPONSE__INIT;
    out.token = jwt;
    modal_reply_msg(r, &out.base);
}

/* --- apps, environments, images, secrets -------------------------------------------------- */

static void app_get_or_create(struct mock_req *r)
{
    Modal__Client__AppGetOrCreateRequest *in =
        (void *)modal_req_msg(r, &modal__client__app_get_or_create_request__descriptor);
    if (in == NULL)
        return;
    struct modal_state *st = modal_state(r);
    char id[32] = "";
    pthread_mutex_lock(&st->lock);
    const char *have = sp_kv_get(&st->apps, in->app_name);
    if (have)
        snprintf(id, sizeof(id), "%s", have);
    else if (in->object_creation_type !=
                 MODAL__CLIENT__OBJECT_CREATION_TYPE__OBJECT_CREATION_TYPE_UNSPECIFIED &&
             in->app_name[0]) {
        modal_id62(r, "ap-", 22, id, sizeof(id));
        sp_kv_set(&st->apps, in->app_name, id);
    }
    pthread_mutex_unlock(&st->lock);
    if (id[0] == '\0') { /* lookup only (creation type 0) of an unknown app (M10 3) */
        char msg[160];
        snprintf(msg, sizeof(msg), "App '%.100s' not found", in->app_name);
        modal_reply_status(r, MODAL_NOT_FOUND, msg);
    } else {
        Modal__Client__AppGetOrCreateResponse out = MODAL__CLIENT__APP_GET_OR_CREATE_RESPONSE__INIT;
        out.app_id = id;
        modal_reply_msg(r, &out.base);
    }
    protobuf_c_message_free_unpacked(&in->base, NULL);
}

static void environment_get_or_create(struct mock_req *r)
{
    ProtobufCMessage *in =
        modal_req_msg(r, &modal__client__environment_get_or_create_request__descriptor);
    if (in == NULL)
        return;
    protobuf_c_message_free_unpacked(in, NULL);
    char name[] = "main", builder[] = "2024.10", id[] = "en-mock00000000000000000000";
    Modal__Client__EnvironmentMetadata md = MODAL__CLIENT__ENVIRONMENT_METADATA__INIT;
    Modal__Client__EnvironmentSettings settings = MODAL__CLIENT__ENVIRONMENT_SETTINGS__INIT;
    settings.image_builder_version = builder;
    md.name = name;
    md.settings = &settings;
    Modal__Client__EnvironmentGetOrCreateResponse out =
        MODAL__CLIENT__ENVIRONMENT_GET_OR_CREATE_RESPONSE__INIT;
    out.environment_id = id;
    out.metadata = &md;
    modal_reply_msg(r, &out.base);
}

/* Images build at once: the reply carries result SUCCESS, so no ImageJoinStreaming follows. */
static void image_get_or_create(struct mock_req *r)
{
    ProtobufCMessage *in =
        modal_req_msg(r, &modal__client__image_get_or_create_request__descriptor);
    if (in == NULL)
        return;
    protobuf_c_message_free_unpacked(in, NULL);
    char id[32];
    modal_id62(r, "im-", 22, id, sizeof(id));
    Modal__Client__GenericResult res = MODAL__CLIENT__GENERIC_RESULT__INIT;
    res.status = MODAL__CLIENT__GENERIC_RESULT__GENERIC_STATUS__GENERIC_STATUS_SUCCESS;
    Modal__Client__ImageGetOrCreateResponse out = MODAL__CLIENT__IMAGE_GET_OR_CREATE_RESPONSE__INIT;
    out.image_id = id;
    out.result = &res;
    modal_reply_msg(r, &out.base);
}

static void image_join_streaming(struct mock_req *r)
{
    ProtobufCMessage *in =
        modal_req_msg(r, &modal__client__image_join_streaming_request__descriptor);
    if (in == NULL)
        return;
    protobuf_c_message_free_unpacked(in, NULL);
    Modal__Client__GenericResult res = MODAL__CLIENT__GENERIC_RESULT__INIT;
    res.status = MODAL__CLIENT__GENERIC_RESULT__GENERIC_STATUS__GENERIC_STATUS_SUCCESS;
    Modal__Client__ImageJoinStreamingResponse out =
        MODAL__CLIENT__IMAGE_JOIN_STREAMING_RESPONSE__INIT;
    out.result = &res;
    out.eof = 1;
    modal_reply_msg(r, &out.base);
}

static void secret_get_or_create(struct mock_req *r)
{
    Modal__Client__SecretGetOrCreateRequest *in =
        (void *)modal_req_msg(r, &modal__client__secret_get_or_create_request__descriptor);
    if (in == NULL)
        return;
    struct sp_buf env;
    sp_buf_init(&env, 0);
    for (size_t i = 0; i < in->n_env_dict; i++)
        sp_buf_printf(&env, "%s=%s\n", in->env_dict[i]->key, in->env_dict[i]->value);
    char id[32];
    modal_id62(r, "st-", 22, id, sizeof(id));
    struct modal_state *st = modal_state(r);
    pthread_mutex_lock(&st->lock);
    int rc = sp_kv_set(&st->secrets, id, sp_buf_str(&env));
    pthread_mutex_unlock(&st->lock);
    sp_buf_cleanup(&env);
    protobuf_c_message_free_unpacked(&in->base, NULL);
    if (rc != 0) {
        modal_reply_status(r, MODAL_INTERNAL, "mock: out of memory");
        return;
    }
    Modal__Client__SecretGetOrCreateResponse out =
        MODAL__CLIENT__SECRET_GET_OR_CREATE_RESPONSE__INIT;
    out.secret_id = id;
    modal_reply_msg(r, &out.base);
}

/* --- the vendor --------------------------------------------------------------------------- */

static const struct mock_route modal_routes[] = {
    {"POST", CP "AuthTokenGet", auth_token_get, 0},
    {"POST", CP "AppGetOrCreate", app_get_or_create, 0},
    {"POST", CP "EnvironmentGetOrCreate", environment_get_or_create, 0},
    {"POST", CP "ImageGetOrCreate", image_get_or_create, 0},
    {"POST", CP "ImageJoinStreaming", image_join_streaming, 0},
    {"POST", CP "SecretGetOrCreate", secret_get_or_create, 0},
    {"POST", CP "SandboxCreate", modal_sandbox_create, 0},
    {"POST", CP "SandboxCreateV2", modal_sandbox_create_v2, 0},
    {"POST", CP "SandboxGetTaskId", modal_sandbox_get_task_id, 0},
    {"POST", CP "SandboxGetTaskIdV2", modal_sandbox_get_task_id, 0},
    {"POST", CP "SandboxGetTunnels", modal_sandbox_get_tunnels, 0},
    {"POST", CP "SandboxGetTunnelsV2", modal_sandbox_get_tunnels, 0},
    {"POST", CP "SandboxWait", modal_sandbox_wait, 0},
    {"POST", CP "SandboxWaitV2", modal_sandbox_wait, 0},
    {"POST", CP "SandboxTerminate", modal_sandbox_terminate, 0},
    {"POST", CP "SandboxTerminateV2", modal_sandbox_terminate, 0},
    {"POST", CP "SandboxList", modal_sandbox_list, 0},
    {"POST", CP "SandboxListV2", modal_sandbox_list, 0},
    {"POST", CP "SandboxTagsSet", modal_sandbox_tags_set, 0},
    {"POST", CP "SandboxTagsSetV2", modal_sandbox_tags_set, 0},
    {"POST", CP "TaskGetCommandRouterAccess", modal_task_router_access, 0},
    {"POST", CP "ContainerExec", modal_container_exec, 0},
    {"POST", CP "ContainerExecGetOutput", modal_container_exec_output, 0},
    {"POST", CP "ContainerExecWait", modal_container_exec_wait, 0},
    {"POST", CP "SandboxGetCommandRouterAccess", modal_sandbox_router_access, 0},
    {"POST", TCR "TaskExecStart", modal_exec_start, 0},
    {"POST", TCR "TaskExecStdioRead", modal_exec_stdio_read, 0},
    {"POST", TCR "TaskExecWait", modal_exec_wait, 0},
    {"POST", TCR "TaskExecPoll", modal_exec_poll, 0},
};

static int modal_init(struct sp_mock *m)
{
    struct modal_state *st = calloc(1, sizeof(*st));
    if (st == NULL || pthread_mutex_init(&st->lock, NULL) != 0) {
        free(st);
        return -1;
    }
    sp_kv_init(&st->apps);
    sp_kv_init(&st->tasks);
    sp_kv_init(&st->secrets);
    struct mock_req fake = {.mock = m}; /* the id and JWT helpers only read r->mock */
    modal_id62(&fake, "ak-", 22, st->token_id, sizeof(st->token_id));
    make_jwt(&fake, "command-router", st->router_jwt, sizeof(st->router_jwt));
    /* Real tunnel URLs are https: the tunnels' certificate covers every tunnel host. */
    static const char *const names[] = {"localhost", "*." MODAL_TUNNEL_DOMAIN, NULL};
    st->tls = mock_tls_new(names);
    mock_set_vendor_data(m, st);
    return st->tls != NULL ? 0 : -1;
}

static void modal_fini(struct sp_mock *m)
{
    struct modal_state *st = mock_vendor_data(m);
    if (st == NULL)
        return;
    mock_http_stop(st->tunnels);
    mock_tls_free(st->tls);
    sp_kv_cleanup(&st->apps);
    sp_kv_cleanup(&st->tasks);
    sp_kv_cleanup(&st->secrets);
    pthread_mutex_destroy(&st->lock);
    free(st);
}

static int modal_env(struct sp_mock *m, struct sp_kv *env)
{
    struct modal_state *st = mock_vendor_data(m);
    int rc = sp_kv_set(env, "MODAL_TOKEN_ID", st->token_id);
    rc |= sp_kv_set(env, "MODAL_TOKEN_SECRET", mock_key(m));
    rc |= sp_kv_set(env, "MODAL_SERVER_URL", mock_origin(m)); /* no trailing slash (M1) */
    /* The CA of the https tunnels: for sandprobe (transport.c) and for Node SDKs. */
    rc |= sp_kv_set(env, "SSL_CERT_FILE", mock_tls_ca_file(st->tls));
    rc |= sp_kv_set(env, "NODE_EXTRA_CA_CERTS", mock_tls_ca_file(st->tls));
    return rc == 0 ? 0 : -1;
}

/* Tunnels reach the action-server mock of a sandbox ("<port>-<id>.tunnel.localhost" hosts on
 * the HTTPS tunnel listener, which the core routes here). */
static void modal_data_plane(struct mock_req *r, struct mock_sandbox *sb, unsigned port)
{
    mock_action_server_dispatch(r, sb, port);
}

/* A tunnel host's label: the sandbox id in lowercase hex, since clients lowercase host names
 * and V1 ids ("sb-" + base62) have capitals. Real tunnel hosts are opaque names too. */
void modal_host_label(const char *id, char *out, size_t len)
{
    static const char HEX[] = "0123456789abcdef";
    size_t n = 0;
    for (; *id && n + 2 < len; id++) {
        out[n++] = HEX[(unsigned char)*id >> 4];
        out[n++] = HEX[(unsigned char)*id & 15];
    }
    out[n] = '\0';
}

static bool modal_host_label_id(const char *label, char *id, size_t idlen)
{
    size_t n = strlen(label);
    if (n == 0 || n % 2 != 0 || n / 2 >= idlen)
        return false;
    for (size_t i = 0; i < n; i += 2) {
        int hi = sp_hex_digit(label[i]), lo = sp_hex_digit(label[i + 1]);
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
            return false;
        id[i / 2] = (char)(hi << 4 | lo);
    }
    id[n / 2] = '\0';
    return true;
}

unsigned modal_tunnel_port(struct mock_req *r)
{
    struct modal_state *st = modal_state(r);
    pthread_mutex_lock(&st->lock);
    if (st->tunnels == NULL) {
        const struct sp_mock_config *cfg = mock_config(r->mock);
        struct mock_http_opts o = {.host = cfg->host ? cfg->host : "127.0.0.1",
                                   .port = 0,
                                   .pool = false,
                                   .idle_timeout_s = cfg->idle_timeout_s,
                                   .max_connections = cfg->max_connections,
                                   .tls_cert = mock_tls_cert_pem(st->tls),
                                   .tls_key = mock_tls_key_pem(st->tls)};
        st->tunnels = mock_http_start(r->mock, &o, &st->tunnel_port);
    }
    unsigned port = st->tunnels ? st->tunnel_port : 0;
    pthread_mutex_unlock(&st->lock);
    return port;
}

static void modal_not_found(struct mock_req *r)
{
    /* A tunnel host whose sandbox is gone is plain HTTP, not an RPC: the proxy answers 404
     * (its exact body is unverified), which the action-server client reads as not_found. */
    const char *ct = mock_req_header(r, "content-type");
    if (ct == NULL || strncmp(ct, "application/grpc", 16) != 0) {
        static const char BODY[] = "modal-http: no such sandbox or tunnel\n";
        mock_reply(r, 404, "text/plain", BODY, sizeof(BODY) - 1);
        return;
    }
    char msg[200];
    snprintf(msg, sizeof(msg), "Method not found: %.150s", r->path);
    modal_reply_status(r, MODAL_UNIMPLEMENTED, msg);
}

/* The gRPC code a client derives from an HTTP status (gRPC's http-grpc-status-mapping). */
static int grpc_code_of_http(int status)
{
    switch (status) {
    case 400:
        return MODAL_INTERNAL;
    case 401:
        return MODAL_UNAUTHENTICATED;
    case 403:
        return MODAL_PERMISSION_DENIED;
    case 404:
        return MODAL_UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
        return MODAL_UNAVAILABLE;
    default:
        return MODAL_UNKNOWN;
    }
}

/* Injected statuses as Modal's front end sends them on its RPC port: the HTTP status kept
 * (so reports still name it) in a gRPC Trailers-Only reply carrying the matching
 * grpc-status and the message; on the tunnels (plain HTTP) a text body. */
static void modal_fault_error(struct mock_req *r, int status, const char *message)
{
    const char *ct = mock_req_header(r, "content-type");
    if (ct == NULL || strncmp(ct, "application/grpc", 16) != 0) {
        mock_reply(r, status, "text/plain", message, strlen(message));
        return;
    }
    char st[8];
    snprintf(st, sizeof(st), "%d", grpc_code_of_http(status));
    mock_reply_header(r, "grpc-status", st);
    mock_reply_header(r, "grpc-message", message); /* ours: printable ASCII, no '%' */
    mock_reply(r, status, "application/grpc", "", 0);
}

static const char *modal_phase_name(int phase)
{
    switch (phase) {
    case MOCK_CREATING:
    case MOCK_STARTING:
        return "pending";
    case MOCK_RUNNING:
        return "running";
    default:
        return "terminated";
    }
}

static void modal_sandbox_free(void *vendor_data)
{
    struct modal_sb *ms = vendor_data;
    if (ms == NULL)
        return;
    modal_execs_free(ms);
    pthread_mutex_destroy(&ms->lock);
    pthread_cond_destroy(&ms->cond);
    free(ms);
}

const struct mock_vendor mock_vendor_modal = {
    .name = "modal",
    .routes = modal_routes,
    .n_routes = sizeof modal_routes / sizeof modal_routes[0],
    .api_prefix = "",
    .init = modal_init,
    .fini = modal_fini,
    .env = modal_env,
    .authorize = modal_authorize,
    .data_plane = modal_data_plane,
    .host_label_id = modal_host_label_id,
    .not_found = modal_not_found,
    .error_reply = modal_fault_error,
    .phase_name = modal_phase_name,
    .sandbox_free = modal_sandbox_free,
    .key_prefix = "as-",
    .default_latency = {.create_ms = 300,
                        .start_ms = 300,
                        .stop_ms = 100,
                        .delete_ms = 20,
                        .server_ms = 200,
                        .jitter = 0.2},
    .h2c = true,
};
