/* The Runloop mock, control plane (spec/runloop-modal.md Part R, the wire of
 * runloop-api-client 0.50 / @runloop/api-client 0.44 and 1.32): the DevboxView with Runloop's
 * statuses, get, list with `has_more` / `remaining_count` / `total_count` and
 * `starting_after` paging, tunnels of both generations, the Bearer check and JSON error
 * bodies the SDKs turn into AuthenticationError / NotFoundError. Every JSON reply carries
 * `application/json` (else the SDKs hand back a string). The data plane (Host
 * "<port>-<id>.localhost", where both tunnel generations point) checks an authenticated v2
 * tunnel's token and hands the request to the action-server mock. */
#include "backend.h"
#include "runloop_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h"

struct rl_devbox *rl_devbox_of(struct sp_mock *m, struct mock_sandbox *sb)
{
    struct rl_state *st = mock_vendor_data(m);
    pthread_mutex_lock(&st->lock);
    struct rl_devbox *v = sb->vendor;
    pthread_mutex_unlock(&st->lock);
    return v;
}

static const char *status_name(enum mock_phase p)
{
    static const char *const NAMES[] = {
        [MOCK_CREATING] = "provisioning", [MOCK_STARTING] = "initializing",
        [MOCK_RUNNING] = "running",       [MOCK_STOPPING] = "suspending",
        [MOCK_STOPPED] = "suspended",     [MOCK_PAUSED] = "suspended",
        [MOCK_DELETING] = "shutdown",     [MOCK_DELETED] = "shutdown",
        [MOCK_FAILED] = "failure"};
    return (unsigned)p < sizeof(NAMES) / sizeof(NAMES[0]) ? NAMES[p] : "unknown";
}

static const char *phase_name_hook(int phase)
{
    return status_name((enum mock_phase)phase);
}

/* --- errors, auth, common checks ------------------------------------------------------------- */

void rl_error(struct mock_req *r, int status, const char *code, const char *message)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", code);
    cJSON_AddStringToObject(o, "message", message);
    mock_reply_cjson(r, status, o);
}

static bool rl_authorize(struct mock_req *r)
{
    const char *h = mock_req_header(r, "Authorization");
    if (h != NULL && strncasecmp(h, "Bearer ", 7) == 0 && strcmp(h + 7, mock_key(r->mock)) == 0)
        return true;
    rl_error(r, 401, "unauthorized", h ? "Invalid API key" : "Missing bearer token");
    return false;
}

static void rl_not_found(struct mock_req *r)
{
    char msg[600];
    snprintf(msg, sizeof(msg), "No route for %s %.500s", r->method, r->path);
    rl_error(r, 404, "not_found", msg);
}

/* Injected statuses in Runloop's own error body ({"error": code, "message"}), with the code
 * names its API uses for the other statuses it sends. */
static void rl_fault_error(struct mock_req *r, int status, const char *message)
{
    const char *code = status == 400   ? "bad_request"
                       : status == 401 ? "unauthorized"
                       : status == 403 ? "forbidden"
                       : status == 404 ? "not_found"
                       : status == 408 ? "request_timeout"
                       : status == 429 ? "rate_limited"
                       : status == 502 ? "bad_gateway"
                       : status == 503 ? "service_unavailable"
                       : status == 504 ? "gateway_timeout"
                                       : "internal_error";
    rl_error(r, status, code, message);
}

struct mock_sandbox *rl_lookup(struct mock_req *r)
{
    struct mock_sandbox *sb = mock_store_get(mock_store_of(r->mock), r->params[0]);
    if (sb == NULL || rl_devbox_of(r->mock, sb) == NULL) {
        char msg[200];
        snprintf(msg, sizeof(msg), "Devbox %.100s not found", r->params[0]);
        rl_error(r, 404, "not_found", msg);
        if (sb)
            mock_store_put(mock_store_of(r->mock), sb);
        return NULL;
    }
    return sb;
}

struct mock_sandbox *rl_running(struct mock_req *r)
{
    /* Commands and files of direct mode run real processes; a load run on the synthetic
     * backend goes through the action server (the tunnel), which the backend serves. */
    if (mock_is_synthetic(r->mock)) {
        mock_backend_unsupported(r);
        return NULL;
    }
    struct mock_sandbox *sb = rl_lookup(r);
    if (sb == NULL)
        return NULL;
    enum mock_phase ph = mock_sandbox_phase(mock_store_of(r->mock), sb);
    char msg[200];
    if (ph != MOCK_RUNNING) {
        snprintf(msg, sizeof(msg), "Devbox %.100s is %s, not running", sb->id, status_name(ph));
        rl_error(r, 400, "bad_request", msg);
    } else if (mock_faults_server_down(sb, true)) { /* the devbox agent is not up */
        rl_error(r, 502, "bad_gateway", "Devbox agent is not responding");
    } else {
        return sb;
    }
    mock_store_put(mock_store_of(r->mock), sb);
    return NULL;
}

cJSON *rl_body(struct mock_req *r)
{
    struct sp_error err;
    /* The SDKs send Content-Type: application/json with an empty body on body-less POSTs. */
    cJSON *o = r->body.len ? sp_json_parse(sp_buf_str(&r->body), r->body.len, "body", &err)
                           : cJSON_CreateObject();
    if (!cJSON_IsObject(o)) {
        rl_error(r, 400, "bad_request", "Request body must be a JSON object");
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

int rl_host_path(
    struct mock_req *r, struct mock_sandbox *sb, const char *path, char *out, size_t len)
{
    if (path == NULL || path[0] == '\0' ||
        mock_sandbox_host_path(sb, RL_HOME, path, out, len) != 0) {
        char msg[600];
        snprintf(msg, sizeof(msg), "Invalid path: %.500s", path ? path : "");
        rl_error(r, 400, "bad_request", msg);
        return -1;
    }
    return 0;
}

bool rl_status_wanted(const cJSON *statuses, const char *status)
{
    const cJSON *s;
    cJSON_ArrayForEach(s, statuses)
    {
        if (cJSON_IsString(s) && strcmp(s->valuestring, status) == 0)
            return true;
    }
    return false;
}

/* --- the DevboxView ------------------------------------------------------------------------ */

/* What of rl_devbox changes after create, read under its lock. */
struct view_mutable {
    bool tunnel, tunnel_auth;
    char token[40];
    int64_t tunnel_ms, end_ms;
};

static void add_tunnel(cJSON *o, const struct mock_sandbox *sb, const struct view_mutable *mu)
{
    if (!mu->tunnel) {
        cJSON_AddNullToObject(o, "tunnel");
        return;
    }
    cJSON *t = cJSON_AddObjectToObject(o, "tunnel");
    cJSON_AddStringToObject(t, "tunnel_key", sb->id);
    cJSON_AddStringToObject(t, "auth_mode", mu->tunnel_auth ? "authenticated" : "open");
    if (mu->tunnel_auth)
        cJSON_AddStringToObject(t, "auth_token", mu->token);
    cJSON_AddNumberToObject(t, "create_time_ms", (double)mu->tunnel_ms);
    cJSON_AddFalseToObject(t, "http_keep_alive");
    cJSON_AddFalseToObject(t, "wake_on_http");
}

static cJSON *view_json(struct mock_sandbox *sb,
                        const struct rl_devbox *v,
                        const struct view_mutable *mu,
                        const struct sp_kv *metadata,
                        enum mock_phase ph)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", sb->id);
    cJSON_AddStringToObject(o, "name", v->name);
    cJSON_AddStringToObject(o, "status", status_name(ph));
    cJSON_AddNumberToObject(o, "create_time_ms", (double)sb->created_wall_ms);
    if (mu->end_ms)
        cJSON_AddNumberToObject(o, "end_time_ms", (double)mu->end_ms);
    else
        cJSON_AddNullToObject(o, "end_time_ms");
    cJSON_AddStringToObject(o, "initiator_type", "api");
    cJSON_AddNullToObject(o, "blueprint_id");
    cJSON_AddNullToObject(o, "snapshot_id");
    cJSON_AddArrayToObject(o, "capabilities");
    cJSON_AddItemToObject(o, "metadata", sp_json_from_kv(metadata));
    if (ph == MOCK_FAILED)
        cJSON_AddStringToObject(o, "failure_reason", "out_of_memory");
    else
        cJSON_AddNullToObject(o, "failure_reason");
    if (mu->end_ms)
        cJSON_AddStringToObject(o, "shutdown_reason", "api_shutdown");
    else
        cJSON_AddNullToObject(o, "shutdown_reason");
    cJSON *lp = cJSON_AddObjectToObject(o, "launch_parameters");
    if (v->launch) {
        const int ports[] = {4444, 4445};
        cJSON_AddItemToObject(lp, "available_ports", cJSON_CreateIntArray(ports, 2));
        cJSON_AddStringToObject(lp, "resource_size_request", "LARGE");
    }
    cJSON_AddArrayToObject(o, "state_transitions");
    add_tunnel(o, sb, mu);
    return o;
}

/* The view of sb in phase ph with its metadata; NULL while its create is finishing. */
static cJSON *
devbox_view(struct sp_mock *m, struct mock_sandbox *sb, const struct sp_kv *md, enum mock_phase ph)
{
    struct rl_devbox *v = rl_devbox_of(m, sb);
    if (v == NULL)
        return NULL;
    struct view_mutable mu;
    pthread_mutex_lock(&v->lock);
    mu = (struct view_mutable){v->tunnel, v->tunnel_auth, "", v->tunnel_ms, v->end_ms};
    memcpy(mu.token, v->tunnel_token, sizeof(mu.token));
    pthread_mutex_unlock(&v->lock);
    return view_json(sb, v, &mu, md, ph);
}

static cJSON *devbox_now(struct sp_mock *m, struct mock_sandbox *sb)
{
    struct sp_kv md;
    sp_kv_init(&md);
    enum mock_phase ph = mock_sandbox_phase(mock_store_of(m), sb);
    mock_sandbox_copy_labels(mock_store_of(m), sb, &md);
    cJSON *o = devbox_view(m, sb, &md, ph);
    sp_kv_cleanup(&md);
    return o;
}

/* Replies with o printed compactly: small bodies from the stack (the list route is
 * benchmarked), larger ones through cJSON's allocating print. */
static void reply_view(struct mock_req *r, cJSON *o)
{
    char small[16384];
    if (o != NULL && cJSON_PrintPreallocated(o, small, (int)sizeof(small), 0)) {
        cJSON_Delete(o);
        mock_reply(r, 200, "application/json", small, strlen(small));
        return;
    }
    mock_reply_cjson(r, 200, o);
}

void rl_reply_devbox(struct mock_req *r, struct mock_sandbox *sb)
{
    cJSON *o = devbox_now(r->mock, sb);
    if (o == NULL)
        rl_error(r, 404, "not_found", "Devbox not found");
    else
        reply_view(r, o);
}

static void rl_get(struct mock_req *r)
{
    struct mock_sandbox *sb = rl_lookup(r);
    if (sb == NULL)
        return;
    rl_reply_devbox(r, sb); /* shut down devboxes stay retrievable (R4) */
    mock_store_put(mock_store_of(r->mock), sb);
}

/* --- list ---------------------------------------------------------------------------------- */

struct list_ctx {
    struct sp_mock *m;
    const char *status; /* filter, NULL = any */
    const char *after;  /* starting_after, NULL = from the start */
    bool started;       /* past `after` */
    long limit, total, remaining;
    cJSON *arr;
};

static bool list_one(struct mock_sandbox *sb, void *user)
{
    struct list_ctx *lc = user;
    struct mock_store *s = mock_store_of(lc->m);
    enum mock_phase ph = mock_sandbox_phase(s, sb);
    if (lc->status && strcmp(status_name(ph), lc->status) != 0)
        return true;
    if (rl_devbox_of(lc->m, sb) == NULL)
        return true;
    lc->total++;
    if (!lc->started) {
        lc->started = strcmp(sb->id, lc->after) == 0;
        return true;
    }
    if (cJSON_GetArraySize(lc->arr) >= lc->limit) {
        lc->remaining++;
        return true;
    }
    struct sp_kv md;
    sp_kv_init(&md);
    mock_sandbox_copy_labels(s, sb, &md);
    cJSON *o = devbox_view(lc->m, sb, &md, ph);
    if (o != NULL)
        cJSON_AddItemToArray(lc->arr, o);
    sp_kv_cleanup(&md);
    return true;
}

static void rl_list(struct mock_req *r)
{
    const char *lim = mock_req_query(r, "limit");
    char *end = NULL;
    long limit = lim ? strtol(lim, &end, 10) : 20;
    if (lim && (*end != '\0' || limit < 1 || limit > 5000)) {
        rl_error(r, 400, "bad_request", "limit must be an integer between 1 and 5000");
        return;
    }
    const char *after = mock_req_query(r, "starting_after");
    struct list_ctx lc = {.m = r->mock,
                          .status = mock_req_query(r, "status"),
                          .after = after,
                          .started = after == NULL || after[0] == '\0',
                          .limit = limit,
                          .arr = cJSON_CreateArray()};
    if (lc.status && lc.status[0] == '\0')
        lc.status = NULL;
    mock_store_each(mock_store_of(r->mock), list_one, &lc);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "devboxes", lc.arr);
    cJSON_AddBoolToObject(o, "has_more", lc.remaining > 0);
    cJSON_AddNumberToObject(o, "remaining_count", (double)lc.remaining);
    cJSON_AddNumberToObject(o, "total_count", (double)lc.total);
    reply_view(r, o);
}

/* --- tunnels (R5) -------------------------------------------------------------------------- */

/* Both generations point at "<port>-<id>.localhost:<mock port>": libcurl resolves *.localhost
 * to loopback, and the core routes that Host to the data plane below. */
static void
tunnel_url(struct mock_req *r, const struct mock_sandbox *sb, long port, char *out, size_t len)
{
    const char *colon = strrchr(mock_origin(r->mock), ':');
    snprintf(out, len, "http://%ld-%s.localhost%s", port, sb->id, colon ? colon : "");
}

static void rl_create_tunnel(struct mock_req *r)
{
    cJSON *body = rl_body(r);
    if (body == NULL)
        return;
    const cJSON *port = cJSON_GetObjectItemCaseSensitive(body, "port");
    struct mock_sandbox *sb = NULL;
    if (!cJSON_IsNumber(port) || port->valuedouble < 1 || port->valuedouble > 65535 ||
        port->valuedouble != (double)(long)port->valuedouble)
        rl_error(r, 400, "bad_request", "port must be an integer between 1 and 65535");
    else if ((sb = rl_lookup(r)) != NULL) {
        char url[256];
        tunnel_url(r, sb, (long)port->valuedouble, url, sizeof(url));
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "devbox_id", sb->id);
        cJSON_AddNumberToObject(o, "port", port->valuedouble);
        cJSON_AddStringToObject(o, "url", url);
        mock_reply_cjson(r, 200, o);
        mock_store_put(mock_store_of(r->mock), sb);
    }
    cJSON_Delete(body);
}

/* POST enable_tunnel: one tunnel per devbox; enabling it again answers the same view. */
static void rl_enable_tunnel(struct mock_req *r)
{
    cJSON *body = rl_body(r);
    if (body == NULL)
        return;
    const cJSON *mode = cJSON_GetObjectItemCaseSensitive(body, "auth_mode");
    bool bad = mode && !cJSON_IsNull(mode) &&
               !(cJSON_IsString(mode) && (strcmp(mode->valuestring, "open") == 0 ||
                                          strcmp(mode->valuestring, "authenticated") == 0));
    struct mock_sandbox *sb = NULL;
    if (bad)
        rl_error(r, 400, "bad_request", "auth_mode must be open or authenticated");
    else if ((sb = rl_lookup(r)) != NULL) {
        struct rl_devbox *v = rl_devbox_of(r->mock, sb);
        char token[40];
        mock_random_hex(r->mock, token, 32);
        pthread_mutex_lock(&v->lock);
        if (!v->tunnel) {
            v->tunnel = true;
            v->tunnel_auth = cJSON_IsString(mode) && strcmp(mode->valuestring, "open") != 0;
            v->tunnel_ms = mock_wall_ms();
            memcpy(v->tunnel_token, token, sizeof(token));
        }
        pthread_mutex_unlock(&v->lock);
        cJSON *view = devbox_now(r->mock, sb);
        cJSON *t = cJSON_DetachItemFromObjectCaseSensitive(view, "tunnel");
        cJSON_Delete(view);
        mock_reply_cjson(r, 200, t);
        mock_store_put(mock_store_of(r->mock), sb);
    }
    cJSON_Delete(body);
}

static void rl_data_plane(struct mock_req *r, struct mock_sandbox *sb, unsigned port)
{
    struct rl_devbox *v = rl_devbox_of(r->mock, sb);
    char want[64] = "";
    if (v != NULL) {
        pthread_mutex_lock(&v->lock);
        if (v->tunnel && v->tunnel_auth)
            snprintf(want, sizeof(want), "Bearer %s", v->tunnel_token);
        pthread_mutex_unlock(&v->lock);
    }
    const char *h = mock_req_header(r, "X-Runloop-Tunnel-Authorization");
    if (want[0] && (h == NULL || strcmp(h, want) != 0)) {
        mock_count_unauthorized(r->mock);
        rl_error(r, 401, "unauthorized", "Tunnel authorization required");
        return;
    }
    if (mock_sandbox_phase(mock_store_of(r->mock), sb) != MOCK_RUNNING) {
        mock_reply(r, 502, "text/plain; charset=utf-8", "Bad Gateway", 11);
        return;
    }
    mock_action_server_dispatch(r, sb, port);
}

/* --- the vendor ---------------------------------------------------------------------------- */

static int rl_init(struct sp_mock *m)
{
    struct rl_state *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return -1;
    pthread_mutex_init(&st->lock, NULL);
    mock_set_vendor_data(m, st);
    return 0;
}

static void rl_fini(struct sp_mock *m)
{
    struct rl_state *st = mock_vendor_data(m);
    if (st == NULL)
        return;
    pthread_mutex_destroy(&st->lock);
    free(st);
    mock_set_vendor_data(m, NULL);
}

static int rl_env(struct sp_mock *m, struct sp_kv *env)
{
    char domain[64];
    const char *colon = strrchr(mock_origin(m), ':');
    snprintf(domain, sizeof(domain), "localhost%s", colon ? colon : "");
    return sp_kv_set(env, "RUNLOOP_API_KEY", mock_key(m)) |
           sp_kv_set(env, "RUNLOOP_BASE_URL", sp_mock_url(m)) |
           sp_kv_set(env, "RUNLOOP_TUNNEL_DOMAIN", domain);
}

static void rl_sandbox_free(void *data)
{
    struct rl_devbox *v = data;
    if (v == NULL)
        return;
    rl_execs_free(v, false);
    pthread_mutex_destroy(&v->lock);
    free(v);
}

#define DB "/v1/devboxes/{}"
static const struct mock_route RL_ROUTES[] = {
    {"POST", "/v1/devboxes", rl_create, 0},
    {"GET", "/v1/devboxes", rl_list, 0},
    {"GET", DB, rl_get, 0},
    {"POST", DB "/shutdown", rl_shutdown, 0},
    {"POST", DB "/wait_for_status", rl_wait_devbox, 0},
    {"POST", DB "/create_tunnel", rl_create_tunnel, 0},
    {"POST", DB "/enable_tunnel", rl_enable_tunnel, 0},
    {"POST", DB "/execute_sync", rl_execute_sync, 0},
    {"POST", DB "/execute_async", rl_execute_async, 0},
    {"GET", DB "/executions/{}", rl_execution_get, 0},
    {"POST", DB "/executions/{}/wait_for_status", rl_execution_wait, 0},
    {"POST", DB "/executions/{}/kill", rl_execution_kill, 0},
    {"POST", DB "/read_file_contents", rl_read_file, 0},
    {"POST", DB "/write_file_contents", rl_write_file, 0},
    {"POST", DB "/upload_file", rl_upload_file, 0},
    {"POST", DB "/download_file", rl_download_file, 0},
};
#undef DB

const struct mock_vendor mock_vendor_runloop = {
    .name = "runloop",
    .routes = RL_ROUTES,
    .n_routes = sizeof(RL_ROUTES) / sizeof(RL_ROUTES[0]),
    .api_prefix = "",
    .init = rl_init,
    .fini = rl_fini,
    .env = rl_env,
    .authorize = rl_authorize,
    .data_plane = rl_data_plane,
    .not_found = rl_not_found,
    .error_reply = rl_fault_error,
    .phase_name = phase_name_hook,
    .sandbox_free = rl_sandbox_free,
    .key_prefix = "ak_",
    .h2c_too = true, /* @runloop/api-client >= 1.25 speaks h2c by default */
    /* Devboxes from a prebuilt take a few seconds; scaled down like the other vendors. */
    .default_latency = {.create_ms = 400,
                        .start_ms = 300,
                        .stop_ms = 150,
                        .delete_ms = 100,
                        .server_ms = 800,
                        .jitter = 0.3},
};
