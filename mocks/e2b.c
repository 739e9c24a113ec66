/* The E2B mock's control plane (spec/e2b-modal.md A2, spec/vendor/e2b-openapi.yml): the
 * vendor hooks and route table, create, get, kill, and sandbox timeouts. Lifecycle calls
 * (setTimeout, pause, connect) are in e2b_lifecycle.c, listings in e2b_list.c, the data
 * plane (envd) in e2b_envd.c.
 *
 * E2B answers POST /sandboxes only once the sandbox runs, so create blocks for the latency
 * model's create delay. A sandbox whose timeout has passed is killed (or paused, when it was
 * created with autoPause) lazily: when it is looked up, and by a sweep that runs at most
 * every E2B_SWEEP_MS on any request. */
#include "e2b_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "provider.h" /* sp_now_ms */

#define E2B_SWEEP_MS    500
#define E2B_WAIT_CAP_MS 120000 /* create/resume give up after this long */
#define E2B_POLL_MAX_MS 4

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

struct e2b_state *e2b_state_of(struct sp_mock *m)
{
    return mock_vendor_data(m);
}

void e2b_reply_error(struct mock_req *r, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *root = cJSON_CreateObject();
    if (root) {
        cJSON_AddNumberToObject(root, "code", status);
        cJSON_AddStringToObject(root, "message", msg);
    }
    mock_reply_cjson(r, status, root);
}

void e2b_reply_not_found(struct mock_req *r, const char *id)
{
    e2b_reply_error(r, 404, "sandbox \"%s\" not found", id);
}

bool e2b_snapshot(struct sp_mock *m, struct mock_sandbox *sb, struct e2b_sandbox *out)
{
    struct e2b_state *st = e2b_state_of(m);
    pthread_mutex_lock(&st->lock);
    const struct e2b_sandbox *es = sb->vendor;
    bool ok = es != NULL && !es->killing;
    if (ok)
        *out = *es;
    pthread_mutex_unlock(&st->lock);
    return ok;
}

/* Marks sb as being killed; false when it already was (or is not set up), so exactly one
 * caller removes it. */
static bool claim_kill(struct sp_mock *m, struct mock_sandbox *sb)
{
    struct e2b_state *st = e2b_state_of(m);
    bool mine = false;
    pthread_mutex_lock(&st->lock);
    struct e2b_sandbox *es = sb->vendor;
    if (es && !es->killing) {
        es->killing = true;
        mine = true;
    }
    pthread_mutex_unlock(&st->lock);
    return mine;
}

static void kill_claimed(struct sp_mock *m, struct mock_sandbox *sb)
{
    e2b_procs_kill_sandbox(m, sb->id);
    mock_store_remove(mock_store_of(m), sb);
}

void e2b_set_end(struct sp_mock *m, struct mock_sandbox *sb, int64_t end_ms, bool extend_only)
{
    struct e2b_state *st = e2b_state_of(m);
    pthread_mutex_lock(&st->lock);
    struct e2b_sandbox *es = sb->vendor;
    if (es && (!extend_only || end_ms > es->end_wall_ms))
        es->end_wall_ms = end_ms;
    pthread_mutex_unlock(&st->lock);
}

bool e2b_is_running(enum mock_phase p)
{
    return p == MOCK_CREATING || p == MOCK_STARTING || p == MOCK_RUNNING;
}

/* Applies the timeout to sb. Returns true when sb was killed by it. A paused sandbox does
 * not expire; one created with autoPause is paused instead of killed. */
static bool expire_if_due(struct sp_mock *m, struct mock_sandbox *sb)
{
    struct e2b_sandbox snap;
    if (!e2b_snapshot(m, sb, &snap) || mock_wall_ms() < snap.end_wall_ms)
        return false;
    struct mock_store *s = mock_store_of(m);
    if (!e2b_is_running(mock_sandbox_phase(s, sb)))
        return false;
    if (snap.auto_pause) {
        mock_sandbox_transition(s, sb, MOCK_STOPPING, MOCK_PAUSED, MOCK_DELAY_STOP);
        return false;
    }
    if (claim_kill(m, sb))
        kill_claimed(m, sb);
    return true;
}

struct mock_sandbox *e2b_find(struct sp_mock *m, const char *id)
{
    struct mock_sandbox *sb = mock_store_get(mock_store_of(m), id);
    if (sb == NULL)
        return NULL;
    struct e2b_sandbox snap;
    if (!e2b_snapshot(m, sb, &snap) || expire_if_due(m, sb)) {
        mock_store_put(mock_store_of(m), sb);
        return NULL;
    }
    return sb;
}

struct due_ids {
    struct sp_mock *m;
    struct sp_kv ids; /* keys only */
    int64_t now;
};

/* Collects candidates only: the store may hold its lock while calling us. */
static bool collect_due(struct mock_sandbox *sb, void *user)
{
    struct due_ids *d = user;
    struct e2b_state *st = e2b_state_of(d->m);
    pthread_mutex_lock(&st->lock);
    const struct e2b_sandbox *es = sb->vendor;
    bool due = es && !es->killing && d->now >= es->end_wall_ms;
    pthread_mutex_unlock(&st->lock);
    if (due)
        sp_kv_add(&d->ids, sb->id, "");
    return true;
}

void e2b_sweep(struct sp_mock *m)
{
    struct e2b_state *st = e2b_state_of(m);
    int64_t now = mock_wall_ms();
    pthread_mutex_lock(&st->lock);
    bool run = now >= st->next_sweep_ms;
    if (run)
        st->next_sweep_ms = now + E2B_SWEEP_MS;
    pthread_mutex_unlock(&st->lock);
    if (!run)
        return;
    struct due_ids d = {.m = m, .now = now};
    sp_kv_init(&d.ids);
    mock_store_each(mock_store_of(m), collect_due, &d);
    for (size_t i = 0; i < d.ids.n; i++) {
        struct mock_sandbox *sb = e2b_find(m, d.ids.items[i].key);
        if (sb)
            mock_store_put(mock_store_of(m), sb);
    }
    sp_kv_cleanup(&d.ids);
}

/* Polls the store, 1 ms at first and at most every E2B_POLL_MAX_MS: the latency a client
 * measures is off by no more than that, and thousands of waiting creates stay cheap. */
enum mock_phase e2b_wait_leaves(struct mock_store *s, struct mock_sandbox *sb, enum mock_phase from)
{
    int64_t deadline = sp_now_ms() + E2B_WAIT_CAP_MS;
    enum mock_phase p = mock_sandbox_phase(s, sb);
    long step = 1;
    while (p == from && sp_now_ms() < deadline) {
        sleep_ms(step);
        step = step * 2 < E2B_POLL_MAX_MS ? step * 2 : E2B_POLL_MAX_MS;
        p = mock_sandbox_phase(s, sb);
    }
    return p;
}

/* --- JSON edges --------------------------------------------------------------------------- */

struct new_sandbox {
    char template[64];
    int64_t timeout_s;
    bool secure, auto_pause, allow_internet, has_allow_internet;
    struct sp_kv metadata, env_vars;
};

/* NewSandbox (v1: `secure` optional, timeout 15 s by default) or NewSandboxV2 (no `secure`:
 * every v2 sandbox is secured and gets an envdAccessToken; timeout 300 s by default). A
 * `secure` sent to v2 is ignored, as the API ignores fields its schema does not have. */
static int
parse_new_sandbox(const struct sp_buf *body, bool v2, struct new_sandbox *ns, struct sp_error *err)
{
    const char *what = v2 ? "NewSandboxV2" : "NewSandbox";
    cJSON *root = sp_json_parse_type(body->data, body->len, cJSON_Object, what, err);
    if (root == NULL)
        return -1;
    ns->timeout_s = v2 ? E2B_V2_TIMEOUT_S : E2B_DEFAULT_TIMEOUT_S;
    ns->secure = v2;
    int rc =
        sp_json_copy_str(root, "templateID", true, ns->template, sizeof ns->template, what, err);
    if (rc == 0)
        rc = sp_json_get_int(root, "timeout", false, &ns->timeout_s, what, err);
    if (rc == 0 && !v2)
        rc = sp_json_get_bool(root, "secure", false, &ns->secure, what, err);
    if (rc == 0)
        rc = sp_json_get_bool(root, "autoPause", false, &ns->auto_pause, what, err);
    if (rc == 0 && cJSON_GetObjectItemCaseSensitive(root, "allow_internet_access")) {
        ns->has_allow_internet = true;
        rc = sp_json_get_bool(root, "allow_internet_access", false, &ns->allow_internet, what, err);
    }
    if (rc == 0)
        rc = sp_json_get_kv(root, "metadata", false, &ns->metadata, what, err);
    if (rc == 0)
        rc = sp_json_get_kv(root, "envVars", false, &ns->env_vars, what, err);
    if (rc == 0 && (ns->timeout_s < 0 || ns->timeout_s > INT32_MAX))
        rc = (sp_error_set(err, SP_E_PROTOCOL, "%s: timeout must be between 0 and %d", what,
                           INT32_MAX),
              -1);
    cJSON_Delete(root);
    return rc;
}

/* --- ids ----------------------------------------------------------------------------------- */

static void random_base36(struct sp_mock *m, char *out, size_t n)
{
    static const char digits[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    for (size_t i = 0; i < n; i++)
        out[i] = digits[mock_random_u64(m) % 36];
    out[n] = '\0';
}

static bool looks_like_id(const char *s)
{
    size_t n = strlen(s);
    return n == E2B_ID_LEN && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789") == n;
}

/* Templates are named by id or by alias ("base"); an alias resolves to a stable id, as the
 * real API resolves it to the template's id and returns both. */
static void resolve_template(const char *given, struct e2b_sandbox *es)
{
    if (looks_like_id(given)) {
        snprintf(es->template_id, sizeof es->template_id, "%s", given);
        return;
    }
    snprintf(es->alias, sizeof es->alias, "%s", given);
    uint64_t h = 1469598103934665603ull; /* FNV-1a, then a xorshift stream per character */
    for (const char *p = given; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    for (size_t i = 0; i < E2B_ID_LEN; i++) {
        h ^= h << 13, h ^= h >> 7, h ^= h << 17;
        es->template_id[i] = "abcdefghijklmnopqrstuvwxyz0123456789"[h % 36];
    }
    es->template_id[E2B_ID_LEN] = '\0';
}

/* --- handlers ------------------------------------------------------------------------------ */

static void api_health(struct mock_req *r)
{
    if (mock_req_header(r, "E2b-Sandbox-Id") || mock_req_header(r, "E2b-Sandbox-Port")) {
        e2b_envd_by_header(r);
        return;
    }
    /* spec A2: the real handler answers 200 with this text, not the documented 204. */
    static const char text[] = "Health check successful";
    mock_reply(r, 200, "text/plain; charset=utf-8", text, sizeof text - 1);
}

static struct e2b_sandbox *new_vendor_data(struct sp_mock *m, const struct new_sandbox *ns)
{
    struct e2b_sandbox *es = calloc(1, sizeof *es);
    if (es == NULL)
        return NULL;
    resolve_template(ns->template, es);
    if (ns->secure)
        mock_random_hex(m, es->token, 64);
    es->auto_pause = ns->auto_pause;
    es->allow_internet = ns->has_allow_internet ? ns->allow_internet : -1;
    es->started_wall_ms = mock_wall_ms();
    es->end_wall_ms = es->started_wall_ms + ns->timeout_s * 1000;
    return es;
}

/* Registers sb in the store with its vendor data and metadata, or returns NULL. */
static struct mock_sandbox *create_in_store(struct sp_mock *m, const struct new_sandbox *ns)
{
    static const char *const dirs[] = {"/home/user", "/root", "/tmp", NULL};
    struct mock_store *s = mock_store_of(m);
    char id[E2B_ID_LEN + 1];
    random_base36(m, id, E2B_ID_LEN);
    struct e2b_sandbox *es = new_vendor_data(m, ns);
    struct mock_sandbox *sb =
        es ? mock_store_create(s, id, dirs, MOCK_CREATING, MOCK_RUNNING, MOCK_DELAY_CREATE) : NULL;
    if (sb == NULL) {
        free(es);
        return NULL;
    }
    mock_sandbox_set_labels(s, sb, &ns->metadata);
    sp_kv_merge(&sb->env, &ns->env_vars); /* nobody can run a command in it yet */
    struct e2b_state *st = e2b_state_of(m);
    pthread_mutex_lock(&st->lock);
    es->seq = ++st->last_seq;
    sb->vendor = es;
    pthread_mutex_unlock(&st->lock);
    return sb;
}

static void create_reply(struct mock_req *r, struct mock_sandbox *sb)
{
    struct e2b_sandbox snap;
    enum mock_phase p = mock_sandbox_phase(mock_store_of(r->mock), sb);
    if ((p == MOCK_RUNNING || sb->fault == SP_MOCK_FAULT_STUCK_CREATING) &&
        e2b_snapshot(r->mock, sb, &snap)) {
        /* envd as a server of its own: with --latency alive, or to crash (a fault) */
        if (mock_config(r->mock)->dist[SP_MOCK_PHASE_ALIVE].kind != SP_DIST_UNSET ||
            sb->fault == SP_MOCK_FAULT_SERVER_CRASH)
            mock_sandbox_add_server(mock_store_of(r->mock), sb, E2B_ENVD_PORT, "/home/user");
        mock_reply_cjson(r, 201, e2b_build_sandbox(sb, &snap));
    } else {
        if (claim_kill(r->mock, sb))
            kill_claimed(r->mock, sb);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "code", 500);
        cJSON_AddStringToObject(o, "message", "Failed to create sandbox: sandbox failed to start");
        cJSON_AddStringToObject(o, "error_code", "sandbox_create_failed");
        mock_reply_cjson(r, 500, o);
    }
}

static void create_sandbox(struct mock_req *r, bool v2)
{
    struct new_sandbox ns = {0};
    struct sp_error err = {0};
    sp_kv_init(&ns.metadata);
    sp_kv_init(&ns.env_vars);
    e2b_sweep(r->mock);
    if (parse_new_sandbox(&r->body, v2, &ns, &err) != 0) {
        e2b_reply_error(r, 400, "Error when parsing request: %s", err.msg);
        goto done;
    }
    struct mock_sandbox *sb = create_in_store(r->mock, &ns);
    if (sb == NULL) {
        e2b_reply_error(r, 500, "Failed to create sandbox");
        goto done;
    }
    /* A stuck sandbox is still returned (E2B has no visible "creating" state); its envd never
     * answers /health. Others are answered once running, on a timer (mock core). */
    e2b_set_end(r->mock, sb, mock_wall_ms() + ns.timeout_s * 1000, false);
    mock_reply_when_left(
        r, sb, MOCK_CREATING, sb->fault == SP_MOCK_FAULT_STUCK_CREATING ? 0 : E2B_WAIT_CAP_MS,
        mock_store_delay_us(mock_store_of(r->mock), MOCK_DELAY_API_CREATE), create_reply);
done:
    sp_kv_cleanup(&ns.metadata);
    sp_kv_cleanup(&ns.env_vars);
}

static void create_v1(struct mock_req *r)
{
    create_sandbox(r, false);
}

static void create_v2(struct mock_req *r)
{
    create_sandbox(r, true);
}

struct mock_sandbox *e2b_path_sandbox(struct mock_req *r)
{
    e2b_sweep(r->mock);
    struct mock_sandbox *sb = e2b_find(r->mock, r->params[0]);
    if (sb == NULL)
        e2b_reply_not_found(r, r->params[0]);
    return sb;
}

static void get_sandbox(struct mock_req *r)
{
    struct mock_sandbox *sb = e2b_path_sandbox(r);
    if (sb == NULL)
        return;
    struct e2b_sandbox snap;
    if (e2b_snapshot(r->mock, sb, &snap))
        mock_reply_cjson(r, 200, e2b_build_listed(r->mock, sb, &snap, true));
    else
        e2b_reply_not_found(r, sb->id);
    mock_store_put(mock_store_of(r->mock), sb);
}

static void kill_later(struct mock_req *r, void *ctx)
{
    struct mock_sandbox *sb = ctx;
    kill_claimed(r->mock, sb); /* cancelled too: the kill was accepted */
    if (!r->cancelled)
        mock_reply_empty(r, 204);
    mock_store_put(mock_store_of(r->mock), sb);
}

static void kill_sandbox(struct mock_req *r)
{
    struct mock_sandbox *sb = e2b_path_sandbox(r);
    if (sb == NULL)
        return;
    if (claim_kill(r->mock, sb)) {
        /* Gone when the reply leaves, after the latency model's delete delay (a timer). */
        mock_defer(r, mock_store_delay_us(mock_store_of(r->mock), MOCK_DELAY_DELETE), kill_later,
                   sb);
        return;
    }
    e2b_reply_not_found(r, sb->id);
    mock_store_put(mock_store_of(r->mock), sb);
}

/* --- vendor hooks -------------------------------------------------------------------------- */

static int e2b_init(struct sp_mock *m)
{
    struct e2b_state *st = calloc(1, sizeof *st);
    if (st == NULL || pthread_mutex_init(&st->lock, NULL) != 0) {
        free(st);
        return -1;
    }
    mock_set_vendor_data(m, st);
    return 0;
}

static void e2b_fini(struct sp_mock *m)
{
    struct e2b_state *st = e2b_state_of(m);
    if (st == NULL)
        return;
    pthread_mutex_destroy(&st->lock);
    free(st);
    mock_set_vendor_data(m, NULL);
}

/* The SDKs refuse a key that is not "e2b_" + hex before sending it (spec A2). */
static bool key_is_e2b_format(const char *key)
{
    size_t n = strlen(key);
    return n > 4 && strncmp(key, "e2b_", 4) == 0 && strspn(key + 4, "0123456789abcdef") == n - 4;
}

/* E2B_SANDBOX_URL sends envd traffic to the mock's own port; the SDKs still send
 * E2b-Sandbox-Id/-Port, which is how the mock tells sandboxes apart (spec A4). */
static int e2b_env(struct sp_mock *m, struct sp_kv *env)
{
    const char *key = mock_key(m);
    int rc = sp_kv_set(env, "E2B_API_KEY", key);
    rc |= sp_kv_set(env, "E2B_API_URL", mock_origin(m));
    rc |= sp_kv_set(env, "E2B_SANDBOX_URL", mock_origin(m));
    if (!key_is_e2b_format(key))
        rc |= sp_kv_set(env, "E2B_VALIDATE_API_KEY", "false");
    return rc == 0 ? 0 : -1;
}

static bool e2b_authorize(struct mock_req *r)
{
    const char *key = mock_req_header(r, "X-API-Key");
    if (key && strcmp(key, mock_key(r->mock)) == 0)
        return true;
    if (key == NULL || key[0] == '\0')
        e2b_reply_error(r, 401, "authorization header is missing");
    else
        e2b_reply_error(r, 401,
                        "Invalid API key, please visit https://e2b.dev/docs/api-key "
                        "for more information.");
    return false;
}

static void e2b_not_found(struct mock_req *r)
{
    unsigned port;
    char id[64];
    if (mock_host_target(r->host, &port, id, sizeof id)) {
        e2b_reply_proxy_502(r, id, "The sandbox was not found");
        return;
    }
    if (mock_req_header(r, "E2b-Sandbox-Id") || mock_req_header(r, "E2b-Sandbox-Port")) {
        e2b_envd_by_header(r);
        return;
    }
    /* The API checks the key before it looks the route up: a bad key is 401 everywhere. */
    if (!e2b_authorize(r)) {
        mock_count_unauthorized(r->mock);
        return;
    }
    e2b_reply_error(r, 404, "%s %s not found", r->method, r->path);
}

static void e2b_data_plane(struct mock_req *r, struct mock_sandbox *sb, unsigned port)
{
    e2b_sweep(r->mock);
    if (expire_if_due(r->mock, sb)) {
        e2b_reply_proxy_502(r, sb->id, "The sandbox was not found");
        return;
    }
    e2b_envd_serve(r, sb, port);
}

static const char *e2b_phase_name(int phase)
{
    switch (phase) {
    case MOCK_CREATING:
    case MOCK_STARTING:
    case MOCK_RUNNING:
        return "running";
    case MOCK_STOPPING:
    case MOCK_STOPPED:
    case MOCK_PAUSED:
        return "paused";
    case MOCK_FAILED:
        return "error";
    default:
        return "killed";
    }
}

static void e2b_sandbox_free(void *vendor_data)
{
    free(vendor_data);
}

#define OPEN MOCK_ROUTE_OPEN
static const struct mock_route e2b_routes[] = {
    {"GET", "/health", api_health, OPEN},
    {"POST", "/sandboxes", create_v1, 0},
    {"POST", "/v2/sandboxes", create_v2, 0},
    {"GET", "/sandboxes", e2b_list_v1, 0},
    {"GET", "/v2/sandboxes", e2b_list_v2, 0},
    {"GET", "/sandboxes/{}", get_sandbox, 0},
    {"DELETE", "/sandboxes/{}", kill_sandbox, 0},
    {"POST", "/sandboxes/{}/timeout", e2b_set_timeout, 0},
    {"POST", "/sandboxes/{}/refreshes", e2b_refresh, 0},
    {"POST", "/sandboxes/{}/pause", e2b_pause, 0},
    {"POST", "/sandboxes/{}/resume", e2b_resume, 0},
    {"POST", "/sandboxes/{}/connect", e2b_connect, 0},
    {"POST", "/v2/sandboxes/{}/connect", e2b_connect_v2, 0},
    /* envd on the main port (E2B_SANDBOX_URL): routed by E2b-Sandbox-Id. */
    {"GET", "/files", e2b_envd_by_header, OPEN},
    {"POST", "/files", e2b_envd_by_header, OPEN},
    {"GET", "/envs", e2b_envd_by_header, OPEN},
    {"POST", "/process.Process/{}", e2b_envd_by_header, OPEN},
    {"POST", "/filesystem.Filesystem/{}", e2b_envd_by_header, OPEN},
};
#undef OPEN

/* An injected fault's status with the API's (and envd's) {"code","message"} body. */
static void e2b_fault_error(struct mock_req *r, int status, const char *message)
{
    e2b_reply_error(r, status, "%s", message);
}

const struct mock_vendor mock_vendor_e2b = {
    .name = "e2b",
    .routes = e2b_routes,
    .n_routes = sizeof e2b_routes / sizeof e2b_routes[0],
    .api_prefix = "",
    .init = e2b_init,
    .fini = e2b_fini,
    .env = e2b_env,
    .authorize = e2b_authorize,
    .data_plane = e2b_data_plane,
    .not_found = e2b_not_found,
    .phase_name = e2b_phase_name,
    .sandbox_free = e2b_sandbox_free,
    .error_reply = e2b_fault_error,
    .key_prefix = "e2b_", /* the SDKs refuse keys that are not "e2b_" + hex */
    /* E2B advertises sub-second starts; pause/resume take a little longer. */
    .default_latency = {.create_ms = 150,
                        .start_ms = 300,
                        .stop_ms = 200,
                        .delete_ms = 20,
                        .server_ms = 0,
                        .jitter = 0.2},
};
