/* The Daytona mock, control plane (spec/daytona-runloop.md Part A): the wire of the SDKs of
 * 0.24 (OpenHands' pin) and of today's (0.218), served side by side as the real API does.
 * The Sandbox object with Daytona's derived states and today's members (name,
 * toolboxProxyUrl, ...), get by id or name, list as an array or in the cursor shape (by
 * client), the toolbox proxy URL, preview links, the Bearer check and NestJS error bodies;
 * the route table with the toolbox under both prefixes; the data plane (Host
 * "<port>-<id>.localhost") checks the preview token of private sandboxes and hands the
 * request to the action-server mock. Creating and changing sandboxes: daytona_lifecycle.c;
 * toolbox routes: daytona_toolbox.c, daytona_files.c, daytona_bulk.c, daytona_session.c. */
#include "daytona_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "json.h"

#define DT_CURSOR_SDK "0.190.0" /* the first SDK the spec records with the cursor list */

struct dt_sandbox *dt_sandbox_of(struct sp_mock *m, struct mock_sandbox *sb)
{
    struct dt_state *st = mock_vendor_data(m);
    pthread_mutex_lock(&st->lock);
    struct dt_sandbox *v = sb->vendor;
    pthread_mutex_unlock(&st->lock);
    return v;
}

static const char *state_name(enum mock_phase p)
{
    static const char *const NAMES[] = {
        [MOCK_CREATING] = "creating",   [MOCK_STARTING] = "starting", [MOCK_RUNNING] = "started",
        [MOCK_STOPPING] = "stopping",   [MOCK_STOPPED] = "stopped",   [MOCK_PAUSED] = "archived",
        [MOCK_DELETING] = "destroying", [MOCK_DELETED] = "destroyed", [MOCK_FAILED] = "error"};
    return (unsigned)p < sizeof(NAMES) / sizeof(NAMES[0]) ? NAMES[p] : "unknown";
}

static const char *desired_state(enum mock_phase p)
{
    switch (p) {
    case MOCK_STOPPING:
    case MOCK_STOPPED:
        return "stopped";
    case MOCK_PAUSED:
        return "archived";
    case MOCK_DELETING:
    case MOCK_DELETED:
        return "destroyed";
    default:
        return "started";
    }
}

static const char *phase_name_hook(int phase)
{
    return state_name((enum mock_phase)phase);
}

/* --- errors and auth ------------------------------------------------------------------------ */

void dt_nest_error(struct mock_req *r, int status, const char *error, const char *message)
{
    char ts[40];
    mock_format_time(mock_wall_ms(), true, ts, sizeof(ts));
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "statusCode", status);
    cJSON_AddStringToObject(o, "timestamp", ts);
    cJSON_AddStringToObject(o, "path", r->path);
    cJSON_AddStringToObject(o, "error", error);
    cJSON_AddStringToObject(o, "message", message);
    char *s = sp_json_print_free(o);
    mock_reply(r, status, "application/json; charset=utf-8", s ? s : "", s ? strlen(s) : 0);
    cJSON_free(s);
}

/* class-validator failures: message is an array of strings. */
void dt_nest_validation(struct mock_req *r, const char *message)
{
    char ts[40];
    mock_format_time(mock_wall_ms(), true, ts, sizeof(ts));
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "statusCode", 400);
    cJSON_AddStringToObject(o, "timestamp", ts);
    cJSON_AddStringToObject(o, "path", r->path);
    cJSON_AddStringToObject(o, "error", "Bad Request");
    cJSON_AddItemToObject(o, "message", cJSON_CreateStringArray(&message, 1));
    char *s = sp_json_print_free(o);
    mock_reply(r, 400, "application/json; charset=utf-8", s ? s : "", s ? strlen(s) : 0);
    cJSON_free(s);
}

void dt_reply_json(struct mock_req *r, int status, cJSON *o)
{
    /* Most bodies fit on the stack: one print, no growing heap buffer (the list route is
     * benchmarked); a larger one takes cJSON's own allocating print. */
    char small[16384];
    if (o != NULL && cJSON_PrintPreallocated(o, small, (int)sizeof(small), 0)) {
        cJSON_Delete(o);
        mock_reply(r, status, "application/json; charset=utf-8", small, strlen(small));
        return;
    }
    char *s = sp_json_print_free(o);
    if (s == NULL) {
        dt_nest_error(r, 500, "Internal Server Error", "out of memory");
        return;
    }
    mock_reply(r, status, "application/json; charset=utf-8", s, strlen(s));
    cJSON_free(s);
}

static bool dt_authorize(struct mock_req *r)
{
    const char *h = mock_req_header(r, "Authorization");
    if (h != NULL && strncasecmp(h, "Bearer ", 7) == 0 && strcmp(h + 7, mock_key(r->mock)) == 0)
        return true;
    /* A bare UnauthorizedException has no `error`; the filter then says "Http Exception". */
    dt_nest_error(r, 401, "Http Exception", "Unauthorized");
    return false;
}

static void dt_not_found(struct mock_req *r)
{
    char msg[600];
    snprintf(msg, sizeof(msg), "Cannot %s %.500s", r->method, r->path);
    dt_nest_error(r, 404, "Not Found", msg);
}

static void sandbox_not_found(struct mock_req *r, const char *id)
{
    char msg[200];
    snprintf(msg, sizeof(msg), "Sandbox with ID %.100s not found", id);
    dt_nest_error(r, 404, "Not Found", msg);
}

struct name_find {
    struct sp_mock *m;
    const char *name;
    char id[64];
};

static bool name_match(struct mock_sandbox *sb, void *user)
{
    struct name_find *nf = user;
    const struct dt_sandbox *v = dt_sandbox_of(nf->m, sb);
    if (v == NULL || strcmp(v->name, nf->name) != 0 ||
        mock_sandbox_phase(mock_store_of(nf->m), sb) == MOCK_DELETED)
        return true;
    snprintf(nf->id, sizeof(nf->id), "%s", sb->id);
    return false;
}

/* The sandbox named by params[0] (its id, or in the newest API its name), referenced, or
 * NULL after a 404. */
struct mock_sandbox *dt_lookup(struct mock_req *r)
{
    struct mock_store *s = mock_store_of(r->mock);
    struct mock_sandbox *sb = mock_store_get(s, r->params[0]);
    if (sb == NULL) {
        struct name_find nf = {r->mock, r->params[0], ""};
        mock_store_each(s, name_match, &nf);
        sb = nf.id[0] ? mock_store_get(s, nf.id) : NULL;
    }
    if (sb == NULL)
        sandbox_not_found(r, r->params[0]);
    return sb;
}

bool dt_via_proxy(const struct mock_req *r)
{
    if (strncmp(r->path, "/toolbox/", 9) != 0)
        return false;
    const char *rest = strchr(r->path + 9, '/');
    return rest == NULL || strncmp(rest, "/toolbox/", 9) != 0;
}

/* --- the Sandbox object (A4) ---------------------------------------------------------------- */

static void add_time(cJSON *o, const char *key, int64_t ms)
{
    char ts[40];
    mock_format_time(ms, true, ts, sizeof(ts));
    cJSON_AddStringToObject(o, key, ts);
}

/* An integer member. cJSON prints every number through "%1.15g" and reads it back to check;
 * below 1e15 that is the plain decimal, so the text is made directly (same bytes, no float
 * round trip: the DTO has seven of these and the list route is benchmarked). */
static void add_long(cJSON *o, const char *key, long v)
{
    char text[24];
    if (v > -1000000000000000L && v < 1000000000000000L) {
        snprintf(text, sizeof(text), "%ld", v);
        cJSON_AddRawToObject(o, key, text);
    } else {
        cJSON_AddNumberToObject(o, key, (double)v);
    }
}

/* The DTO's members that change after create (their routes write them under the dt lock);
 * the rest of dt_sandbox, like sb->env, is set before the sandbox is published and never
 * changes, and lives as long as the sandbox. */
struct dto_mutable {
    bool is_public;
    long auto_stop, auto_archive, auto_delete;
};

/* Builds the Sandbox DTO from v, mu (read under the dt lock) and labels (a copy). */
static cJSON *sandbox_json(struct sp_mock *m,
                           struct mock_sandbox *sb,
                           const struct dt_sandbox *v,
                           const struct dto_mutable *mu,
                           const struct sp_kv *labels,
                           enum mock_phase ph)
{
    const struct dt_state *st = mock_vendor_data(m);
    cJSON *o = cJSON_CreateObject();
    char proxy[300];
    snprintf(proxy, sizeof(proxy), "%s/toolbox", mock_origin(m));
    cJSON_AddStringToObject(o, "id", sb->id);
    cJSON_AddStringToObject(o, "name", v->name);
    cJSON_AddStringToObject(o, "organizationId", st->org_id);
    cJSON_AddStringToObject(o, "snapshot", v->snapshot);
    cJSON_AddStringToObject(o, "user", v->user);
    cJSON_AddItemToObject(o, "env", sp_json_from_kv(&sb->env));
    cJSON_AddItemToObject(o, "labels", sp_json_from_kv(labels));
    cJSON_AddBoolToObject(o, "public", mu->is_public);
    cJSON_AddStringToObject(o, "target", v->target);
    add_long(o, "cpu", v->cpu);
    add_long(o, "gpu", v->gpu);
    add_long(o, "memory", v->memory);
    add_long(o, "disk", v->disk);
    cJSON_AddStringToObject(o, "state", state_name(ph));
    cJSON_AddStringToObject(o, "desiredState", desired_state(ph));
    if (ph == MOCK_FAILED)
        cJSON_AddStringToObject(o, "errorReason",
                                sb->error_reason[0] ? sb->error_reason : "Sandbox failed");
    else
        cJSON_AddNullToObject(o, "errorReason");
    cJSON_AddStringToObject(o, "backupState", "None");
    add_long(o, "autoStopInterval", mu->auto_stop);
    add_long(o, "autoArchiveInterval", mu->auto_archive);
    add_long(o, "autoDeleteInterval", mu->auto_delete);
    cJSON_AddStringToObject(o, "runnerDomain", "localhost");
    cJSON_AddArrayToObject(o, "volumes");
    cJSON_AddStringToObject(o, "class", v->klass);
    add_time(o, "createdAt", sb->created_wall_ms);
    add_time(o, "updatedAt", sb->updated_wall_ms);
    cJSON_AddStringToObject(o, "daemonVersion", "0.1.0");
    /* The newest API's members (spec A4 "newest only"); older SDKs ignore them. */
    cJSON_AddStringToObject(o, "sandboxClass", "container");
    cJSON_AddBoolToObject(o, "networkBlockAll", v->network_block_all);
    cJSON_AddBoolToObject(o, "recoverable", false);
    add_time(o, "lastActivityAt", sb->updated_wall_ms);
    cJSON_AddStringToObject(o, "toolboxProxyUrl", proxy);
    return o;
}

/* The DTO of sb in phase ph with its labels; NULL while its create is still being set up.
 * Only the mutable members are read under the dt lock: building the JSON there would make
 * every concurrent list and get wait on it. */
static cJSON *sandbox_dto(struct sp_mock *m,
                          struct mock_sandbox *sb,
                          const struct sp_kv *labels,
                          enum mock_phase ph)
{
    struct dt_state *st = mock_vendor_data(m);
    struct dto_mutable mu = {false, 0, 0, 0};
    pthread_mutex_lock(&st->lock);
    const struct dt_sandbox *v = sb->vendor;
    if (v != NULL)
        mu = (struct dto_mutable){v->is_public, v->auto_stop, v->auto_archive, v->auto_delete};
    pthread_mutex_unlock(&st->lock);
    return v ? sandbox_json(m, sb, v, &mu, labels, ph) : NULL;
}

/* The DTO of sb as it is now; NULL while its create is still being set up. */
static cJSON *sandbox_now(struct sp_mock *m, struct mock_sandbox *sb)
{
    struct sp_kv labels;
    sp_kv_init(&labels);
    enum mock_phase ph = mock_sandbox_phase(mock_store_of(m), sb);
    mock_sandbox_copy_labels(mock_store_of(m), sb, &labels);
    cJSON *o = sandbox_dto(m, sb, &labels, ph);
    sp_kv_cleanup(&labels);
    return o;
}

void dt_reply_sandbox(struct mock_req *r, struct mock_sandbox *sb)
{
    cJSON *o = sandbox_now(r->mock, sb);
    if (o == NULL)
        sandbox_not_found(r, sb->id);
    else
        dt_reply_json(r, 200, o);
}

/* --- reading and listing -------------------------------------------------------------------- */

static void dt_get(struct mock_req *r)
{
    struct mock_sandbox *sb = dt_lookup(r);
    if (sb == NULL)
        return;
    dt_reply_sandbox(r, sb); /* destroyed sandboxes stay readable (A5) */
    mock_store_put(mock_store_of(r->mock), sb);
}

struct list_ctx {
    struct sp_mock *m;
    const struct sp_kv *want; /* NULL = every sandbox */
    bool none;                /* the filter cannot match (a non-string label value) */
    cJSON *arr;
};

static bool list_one(struct mock_sandbox *sb, void *user)
{
    struct list_ctx *lc = user;
    struct mock_store *s = mock_store_of(lc->m);
    enum mock_phase ph = lc->none ? MOCK_DELETED : mock_sandbox_phase(s, sb);
    if (ph == MOCK_DELETED)
        return true;
    /* One copy of the labels serves the filter and the DTO. */
    struct sp_kv labels;
    sp_kv_init(&labels);
    mock_sandbox_copy_labels(s, sb, &labels);
    if (lc->want == NULL || sp_kv_contains(&labels, lc->want)) {
        cJSON *o = sandbox_dto(lc->m, sb, &labels, ph);
        if (o != NULL)
            cJSON_AddItemToArray(lc->arr, o);
    }
    sp_kv_cleanup(&labels);
    return true;
}

/* {items, nextCursor} of the newest API: `cursor` is an offset we gave out, `limit` ≤ 200. */
static cJSON *cursor_page(struct mock_req *r, cJSON *all)
{
    const char *cur = mock_req_query(r, "cursor"), *lim = mock_req_query(r, "limit");
    long from = cur ? strtol(cur, NULL, 10) : 0, limit = lim ? strtol(lim, NULL, 10) : 100;
    long n = cJSON_GetArraySize(all);
    from = from < 0 ? 0 : from;
    limit = limit < 1 ? 1 : (limit > 200 ? 200 : limit);
    cJSON *page = cJSON_CreateObject(), *items = cJSON_AddArrayToObject(page, "items");
    for (long i = from; i < n && i < from + limit; i++)
        cJSON_AddItemToArray(items, cJSON_Duplicate(cJSON_GetArrayItem(all, (int)i), true));
    if (from + limit < n) {
        char next[32];
        snprintf(next, sizeof(next), "%ld", from + limit);
        cJSON_AddStringToObject(page, "nextCursor", next);
    } else {
        cJSON_AddNullToObject(page, "nextCursor");
    }
    return page;
}

static void dt_list(struct mock_req *r)
{
    const char *q = mock_req_query(r, "labels");
    struct sp_kv want;
    struct sp_error err;
    sp_kv_init(&want);
    struct list_ctx lc = {r->mock, NULL, false, cJSON_CreateArray()};
    cJSON *labels = NULL;
    bool ok = true;
    if (q != NULL && strcmp(q, "null") != 0) {
        /* The API JSON.parses the query: bad JSON is a plain 500 (A3.1). */
        labels = sp_json_parse(q, strlen(q), "labels", &err);
        if (labels == NULL) {
            dt_nest_error(r, 500, "Internal Server Error",
                          "Unexpected token in JSON at position 0");
            ok = false;
        } else if (cJSON_IsObject(labels)) {
            cJSON *wrap = cJSON_CreateObject();
            cJSON_AddItemReferenceToObject(wrap, "labels", labels);
            lc.none = sp_json_get_kv(wrap, "labels", true, &want, "labels", &err) != 0;
            cJSON_Delete(wrap);
            lc.want = &want;
        }
    }
    if (ok) {
        mock_store_each(mock_store_of(r->mock), list_one, &lc);
        /* The API answers {items,nextCursor} since 2026-05-24 (spec A6), which a 0.24 SDK
         * cannot read: the mock gives that shape to clients that page (cursor, limit) or
         * say they are an SDK of the cursor generation, and always with the switch on. */
        bool cursor = (mock_config(r->mock)->flags & SP_MOCK_DAYTONA_LIST_CURSOR) ||
                      mock_req_query(r, "cursor") || mock_req_query(r, "limit") ||
                      dt_sdk_at_least(r, DT_CURSOR_SDK);
        dt_reply_json(r, 200, cursor ? cursor_page(r, lc.arr) : lc.arr);
        if (cursor)
            cJSON_Delete(lc.arr);
    } else {
        cJSON_Delete(lc.arr);
    }
    cJSON_Delete(labels);
    sp_kv_cleanup(&want);
}

/* --- preview links and the data plane (A8) -------------------------------------------------- */

static void dt_preview_url(struct mock_req *r)
{
    char *end, url[256];
    long port = strtol(r->params[1], &end, 10);
    if (*end != '\0' || port < 1 || port > 65535) {
        dt_nest_error(r, 400, "Bad Request", "Invalid port");
        return;
    }
    struct mock_sandbox *sb = dt_lookup(r);
    if (sb == NULL)
        return;
    struct dt_sandbox *v = dt_sandbox_of(r->mock, sb);
    const char *colon = strrchr(mock_origin(r->mock), ':');
    /* <port>-<id>.localhost resolves to loopback in libcurl and in Node. */
    snprintf(url, sizeof(url), "http://%ld-%s.localhost%s", port, sb->id, colon ? colon : "");
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "url", url);
    cJSON_AddStringToObject(o, "token", v ? v->token : "");
    cJSON_AddStringToObject(o, "legacyProxyUrl", url);
    dt_reply_json(r, 200, o);
    mock_store_put(mock_store_of(r->mock), sb);
}

/* GET /sandbox/{id}/toolbox-proxy-url: where the newest SDK sends toolbox calls. */
static void dt_toolbox_proxy_url(struct mock_req *r)
{
    struct mock_sandbox *sb = dt_lookup(r);
    if (sb == NULL)
        return;
    char url[300];
    snprintf(url, sizeof(url), "%s/toolbox", mock_origin(r->mock));
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "url", url);
    dt_reply_json(r, 200, o);
    mock_store_put(mock_store_of(r->mock), sb);
}

/* The proxy's own error body (Go, A3.2). */
static void proxy_error(struct mock_req *r, int status, const char *code, const char *message)
{
    char ts[40];
    mock_format_time(mock_wall_ms(), false, ts, sizeof(ts));
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "statusCode", status);
    cJSON_AddStringToObject(o, "message", message);
    cJSON_AddStringToObject(o, "code", code);
    cJSON_AddStringToObject(o, "timestamp", ts);
    cJSON_AddStringToObject(o, "path", r->path);
    cJSON_AddStringToObject(o, "method", r->method);
    dt_reply_json(r, status, o);
}

static void dt_data_plane(struct mock_req *r, struct mock_sandbox *sb, unsigned port)
{
    struct dt_state *st = mock_vendor_data(r->mock);
    char token[40] = "";
    pthread_mutex_lock(&st->lock);
    const struct dt_sandbox *v = sb->vendor;
    bool open = v == NULL || v->is_public;
    if (v != NULL)
        snprintf(token, sizeof(token), "%s", v->token);
    pthread_mutex_unlock(&st->lock);
    if (!open) {
        const char *h = mock_req_header(r, "X-Daytona-Preview-Token");
        const char *q = mock_req_query(r, "DAYTONA_SANDBOX_AUTH_KEY");
        bool ok = (h && strcmp(h, token) == 0) || (q && strcmp(q, token) == 0);
        if (!ok) {
            mock_count_unauthorized(r->mock);
            proxy_error(r, 401, "Unauthorized",
                        h || q ? "authentication failed: Auth key header is invalid"
                               : "missing authentication: provide a preview access token (via "
                                 "header, query parameter, or cookie)");
            return;
        }
    }
    if (mock_sandbox_phase(mock_store_of(r->mock), sb) != MOCK_RUNNING) {
        mock_reply(r, 502, "text/plain; charset=utf-8", "Bad Gateway", 11);
        return;
    }
    mock_action_server_dispatch(r, sb, port);
}

/* --- the vendor ----------------------------------------------------------------------------- */

static int dt_init(struct sp_mock *m)
{
    struct dt_state *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return -1;
    pthread_mutex_init(&st->lock, NULL);
    mock_random_uuid(m, st->org_id);
    mock_set_vendor_data(m, st);
    return 0;
}

static void dt_fini(struct sp_mock *m)
{
    struct dt_state *st = mock_vendor_data(m);
    if (st == NULL)
        return;
    pthread_mutex_destroy(&st->lock);
    free(st);
    mock_set_vendor_data(m, NULL);
}

static int dt_env(struct sp_mock *m, struct sp_kv *env)
{
    return sp_kv_set(env, "DAYTONA_API_KEY", mock_key(m)) |
           sp_kv_set(env, "DAYTONA_API_URL", sp_mock_url(m));
}

static void dt_sandbox_free(void *data)
{
    struct dt_sandbox *v = data;
    if (v == NULL)
        return;
    dt_sandbox_data_free(v);
    pthread_mutex_destroy(&v->lock);
    free(v);
}

/* The toolbox routes under both prefixes: the API's deprecated /api/toolbox/{id}/toolbox
 * (SDK 0.24) and the proxy's /toolbox/{id} (the newest SDK, {toolboxProxyUrl}/{id}). */
#define TOOLBOX_ROUTES(TB)                                                                   \
    {"GET", TB "/project-dir", dt_project_dir, 0},                                           \
        {"GET", TB "/user-home-dir", dt_user_home_dir, 0},                                   \
        {"GET", TB "/work-dir", dt_work_dir, 0},                                             \
        {"POST", TB "/process/execute", dt_process_execute, 0},                              \
        {"POST", TB "/process/session", dt_session_create, 0},                               \
        {"GET", TB "/process/session", dt_session_list, 0},                                  \
        {"GET", TB "/process/session/{}", dt_session_get, 0},                                \
        {"DELETE", TB "/process/session/{}", dt_session_delete, 0},                          \
        {"POST", TB "/process/session/{}/exec", dt_session_exec, 0},                         \
        {"GET", TB "/process/session/{}/command/{}", dt_session_command, 0},                 \
        {"GET", TB "/process/session/{}/command/{}/logs", dt_session_logs, 0},               \
        {"GET", TB "/files", dt_files_list, 0}, {"DELETE", TB "/files", dt_files_delete, 0}, \
        {"GET", TB "/files/info", dt_files_info, 0},                                         \
        {"GET", TB "/files/download", dt_files_download, 0},                                 \
        {"POST", TB "/files/bulk-download", dt_files_bulk_download, 0},                      \
        {"POST", TB "/files/upload", dt_files_upload, 0},                                    \
        {"POST", TB "/files/bulk-upload", dt_files_bulk_upload, 0},                          \
        {"POST", TB "/files/folder", dt_files_folder, 0},                                    \
    {                                                                                        \
        "POST", TB "/files/move", dt_files_move, 0                                           \
    }

static const struct mock_route DT_ROUTES[] = {
    {"POST", "/sandbox", dt_create, 0},
    {"GET", "/sandbox", dt_list, 0},
    {"GET", "/sandbox/{}", dt_get, 0},
    {"DELETE", "/sandbox/{}", dt_delete, 0},
    {"POST", "/sandbox/{}/start", dt_start, 0},
    {"POST", "/sandbox/{}/stop", dt_stop, 0},
    {"POST", "/sandbox/{}/archive", dt_archive, 0},
    {"PUT", "/sandbox/{}/labels", dt_labels, 0},
    {"POST", "/sandbox/{}/autostop/{}", dt_autostop, 0},
    {"POST", "/sandbox/{}/autoarchive/{}", dt_autoarchive, 0},
    {"POST", "/sandbox/{}/autodelete/{}", dt_autodelete, 0},
    {"POST", "/sandbox/{}/public/{}", dt_public, 0},
    {"GET", "/sandbox/{}/ports/{}/preview-url", dt_preview_url, 0},
    {"GET", "/sandbox/{}/toolbox-proxy-url", dt_toolbox_proxy_url, 0},
    TOOLBOX_ROUTES("/toolbox/{}/toolbox"),
    TOOLBOX_ROUTES("/toolbox/{}"),
};
#undef TOOLBOX_ROUTES

/* An injected fault's status: the daemon's body through the toolbox proxy, the API's
 * NestJS body elsewhere. */
static void dt_fault_error(struct mock_req *r, int status, const char *message)
{
    const char *name = status == 400   ? "Bad Request"
                       : status == 403 ? "Forbidden"
                       : status == 404 ? "Not Found"
                       : status == 429 ? "Too Many Requests"
                       : status == 502 ? "Bad Gateway"
                       : status == 503 ? "Service Unavailable"
                       : status == 504 ? "Gateway Timeout"
                                       : "Internal Server Error";
    if (dt_via_proxy(r))
        dt_daemon_error(r, status, message);
    else
        dt_nest_error(r, status, name, message);
}

const struct mock_vendor mock_vendor_daytona = {
    .name = "daytona",
    .routes = DT_ROUTES,
    .n_routes = sizeof(DT_ROUTES) / sizeof(DT_ROUTES[0]),
    .api_prefix = "/api",
    .init = dt_init,
    .fini = dt_fini,
    .env = dt_env,
    .authorize = dt_authorize,
    .data_plane = dt_data_plane,
    .not_found = dt_not_found,
    .phase_name = phase_name_hook,
    .sandbox_free = dt_sandbox_free,
    .error_reply = dt_fault_error,
    .key_prefix = "dtn_",
    /* Published medians: create ~0.2 s; the action server takes a moment after its command. */
    .default_latency = {.create_ms = 190,
                        .start_ms = 250,
                        .stop_ms = 150,
                        .delete_ms = 150,
                        .server_ms = 800,
                        .jitter = 0.3},
};
