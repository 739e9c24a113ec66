/* The mock core shared by every vendor mock: one libmicrohttpd daemon per mock (a thread per
 * connection, so handlers may block), request parsing into struct mock_req, routing by
 * method + path pattern and by Host for sandbox data planes, the vendor's key check, reply
 * helpers, the request journal and the injected-fault queue. */
#include "mock_int.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <cjson/cJSON.h>

#define JOURNAL_MAX 200000 /* entries kept; past it only the counters move */
#define CONNECTION_LIMIT 4096

struct journal_entry {
    char method[8];
    char *path;
    int status;
};

struct sp_mock {
    struct sp_mock_config cfg;
    char *host, *key, *root_dir; /* owned copies of the config strings */
    const struct mock_vendor *vendor;
    void *vendor_data;
    struct MHD_Daemon *daemon;
    unsigned port;
    char origin[96];
    char url[128];
    struct sp_kv env;
    struct mock_store *store;
    pthread_mutex_t lock; /* journal, counters, faults */
    struct journal_entry *journal;
    size_t n_journal, cap_journal;
    long requests, unauthorized;
    enum sp_mock_fault fault;
    int fault_count;
};

/* The mock registry: a vendor is one line here; every list of vendors derives from it. */
static const struct mock_vendor *const VENDORS[] = {
    &mock_vendor_daytona,
    &mock_vendor_e2b,
    &mock_vendor_runloop,
};
#define N_VENDORS (sizeof(VENDORS) / sizeof(VENDORS[0]))

size_t sp_mock_vendor_names(const char **names, size_t max)
{
    for (size_t i = 0; i < N_VENDORS && i < max; i++)
        names[i] = VENDORS[i]->name;
    return N_VENDORS;
}

static const struct mock_vendor *vendor_find(const char *name)
{
    for (size_t i = 0; i < N_VENDORS; i++)
        if (name != NULL && strcmp(VENDORS[i]->name, name) == 0)
            return VENDORS[i];
    return NULL;
}

/* --- accessors ---------------------------------------------------------------------------- */

struct mock_store *mock_store_of(struct sp_mock *m) { return m->store; }
const struct sp_mock_config *mock_config(const struct sp_mock *m) { return &m->cfg; }
const char *mock_key(const struct sp_mock *m) { return m->key; }
void *mock_vendor_data(const struct sp_mock *m) { return m->vendor_data; }
void mock_set_vendor_data(struct sp_mock *m, void *data) { m->vendor_data = data; }
const char *mock_origin(const struct sp_mock *m) { return m->origin; }
const char *sp_mock_vendor(const struct sp_mock *m) { return m->vendor->name; }
const char *sp_mock_url(const struct sp_mock *m) { return m->url; }
unsigned sp_mock_port(const struct sp_mock *m) { return m->port; }
const struct sp_kv *sp_mock_env(const struct sp_mock *m) { return &m->env; }

void mock_count_unauthorized(struct sp_mock *m)
{
    pthread_mutex_lock(&m->lock);
    m->unauthorized++;
    pthread_mutex_unlock(&m->lock);
}

void mock_vendor_sandbox_free(struct sp_mock *m, void *vendor_data)
{
    if (m->vendor->sandbox_free != NULL)
        m->vendor->sandbox_free(vendor_data);
}

void sp_mock_inject(struct sp_mock *m, enum sp_mock_fault f, int count)
{
    pthread_mutex_lock(&m->lock);
    m->fault = f;
    m->fault_count = count;
    pthread_mutex_unlock(&m->lock);
}

enum sp_mock_fault mock_take_fault(struct sp_mock *m)
{
    enum sp_mock_fault f = SP_MOCK_FAULT_NONE;
    pthread_mutex_lock(&m->lock);
    if (m->fault_count > 0) {
        f = m->fault;
        m->fault_count--;
    }
    pthread_mutex_unlock(&m->lock);
    return f;
}

void sp_mock_stats(struct sp_mock *m, struct sp_mock_stats *out)
{
    memset(out, 0, sizeof(*out));
    mock_store_stats(m->store, out);
    pthread_mutex_lock(&m->lock);
    out->requests = m->requests;
    out->unauthorized = m->unauthorized;
    pthread_mutex_unlock(&m->lock);
}

long sp_mock_journal_count(struct sp_mock *m, const char *method, const char *path_prefix)
{
    long n = 0;
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->n_journal; i++) {
        const struct journal_entry *e = &m->journal[i];
        if (method != NULL && strcmp(e->method, method) != 0)
            continue;
        if (path_prefix != NULL && strncmp(e->path, path_prefix, strlen(path_prefix)) != 0)
            continue;
        n++;
    }
    pthread_mutex_unlock(&m->lock);
    return n;
}

static void journal_add(struct sp_mock *m, const struct mock_req *r)
{
    pthread_mutex_lock(&m->lock);
    m->requests++;
    if (m->n_journal == m->cap_journal && m->cap_journal < JOURNAL_MAX) {
        size_t cap = m->cap_journal ? m->cap_journal * 2 : 256;
        struct journal_entry *j = realloc(m->journal, cap * sizeof(*j));
        if (j != NULL) {
            m->journal = j;
            m->cap_journal = cap;
        }
    }
    if (m->n_journal < m->cap_journal) {
        struct journal_entry *e = &m->journal[m->n_journal];
        snprintf(e->method, sizeof(e->method), "%s", r->method);
        e->path = strdup(r->path);
        e->status = r->status;
        if (e->path != NULL)
            m->n_journal++;
    }
    pthread_mutex_unlock(&m->lock);
    if (!m->cfg.quiet)
        fprintf(stderr, "mock %s: %s %s -> %d\n", m->vendor->name, r->method, r->path, r->status);
}

/* --- request helpers ---------------------------------------------------------------------- */

const char *mock_req_query(struct mock_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *mock_req_header(struct mock_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

/* --- replies ------------------------------------------------------------------------------ */

static void queue(struct mock_req *r, int status, const char *content_type,
                  struct MHD_Response *resp)
{
    if (resp == NULL) {
        r->status = 500;
        r->replied = true;
        return;
    }
    if (content_type != NULL)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    for (size_t i = 0; i < r->reply_headers.n; i++)
        MHD_add_response_header(resp, r->reply_headers.items[i].key,
                                r->reply_headers.items[i].val);
    MHD_queue_response(r->conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    r->status = status;
    r->replied = true;
}

void mock_reply_header(struct mock_req *r, const char *name, const char *value)
{
    sp_kv_add(&r->reply_headers, name, value);
}

void mock_reply(struct mock_req *r, int status, const char *content_type, const void *body,
                size_t len)
{
    if (r->replied)
        return;
    /* MUST_COPY: MHD copies the bytes, so the const is never written through. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcast-qual"
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)(len ? body : ""), MHD_RESPMEM_MUST_COPY);
#pragma GCC diagnostic pop
    queue(r, status, content_type, resp);
}

void mock_reply_json(struct mock_req *r, int status, const char *json)
{
    mock_reply(r, status, "application/json", json, strlen(json));
}

void mock_reply_cjson(struct mock_req *r, int status, cJSON *root)
{
    char *s = root ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (s == NULL) {
        mock_reply_json(r, 500, "{\"message\":\"mock: out of memory\"}");
        return;
    }
    mock_reply_json(r, status, s);
    cJSON_free(s);
}

void mock_reply_empty(struct mock_req *r, int status)
{
    mock_reply(r, status, NULL, "", 0);
}

struct stream_ctx {
    mock_stream_read_fn read;
    void *ctx;
    void (*free_fn)(void *ctx);
};

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct stream_ctx *s = cls;
    ssize_t n = s->read(s->ctx, buf, max);
    if (n == 0)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (n < 0)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    return n;
}

static void stream_free(void *cls)
{
    struct stream_ctx *s = cls;
    if (s->free_fn)
        s->free_fn(s->ctx);
    free(s);
}

void mock_reply_stream(struct mock_req *r, int status, const char *content_type,
                       mock_stream_read_fn read, void *ctx, void (*free_fn)(void *ctx))
{
    struct stream_ctx *s = r->replied ? NULL : malloc(sizeof(*s));
    if (s == NULL) {
        if (free_fn)
            free_fn(ctx);
        mock_reply_json(r, 500, "{\"message\":\"mock: out of memory\"}");
        return;
    }
    *s = (struct stream_ctx){read, ctx, free_fn};
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, stream_reader, s, stream_free);
    if (resp == NULL)
        stream_free(s);
    queue(r, status, content_type, resp);
}

/* --- routing ------------------------------------------------------------------------------ */

/* Matches path against pattern segment by segment; "{}" captures one non-empty segment. */
static bool route_match(const char *pattern, const char *path, struct mock_req *r)
{
    int n = 0;
    while (*pattern && *path) {
        if (pattern[0] == '{' && pattern[1] == '}') {
            size_t seg = strcspn(path, "/");
            if (seg == 0 || seg >= sizeof(r->params[0]) || n >= MOCK_MAX_PARAMS)
                return false;
            memcpy(r->params[n], path, seg);
            r->params[n++][seg] = '\0';
            path += seg;
            pattern += 2;
            continue;
        }
        if (*pattern++ != *path++)
            return false;
    }
    if (*pattern != '\0' || (*path != '\0' && strcmp(path, "/") != 0))
        return false;
    r->n_params = n;
    return true;
}

static const struct mock_route *route_find(const struct mock_vendor *v, struct mock_req *r)
{
    size_t plen = strlen(v->api_prefix);
    const char *rest = plen && strncmp(r->path, v->api_prefix, plen) == 0 ? r->path + plen : NULL;
    for (size_t i = 0; i < v->n_routes; i++) {
        const struct mock_route *rt = &v->routes[i];
        if (strcmp(rt->method, r->method) != 0)
            continue;
        if (route_match(rt->pattern, r->path, r) || (rest && route_match(rt->pattern, rest, r)))
            return rt;
    }
    return NULL;
}

static void serve_data_plane(struct mock_req *r, unsigned port, const char *id)
{
    struct mock_sandbox *sb = mock_store_get(r->mock->store, id);
    if (sb == NULL) {
        r->mock->vendor->not_found(r);
        return;
    }
    r->mock->vendor->data_plane(r, sb, port);
    mock_store_put(r->mock->store, sb);
}

static void dispatch(struct mock_req *r)
{
    const struct mock_vendor *v = r->mock->vendor;
    unsigned port;
    char id[64];
    if (v->data_plane != NULL && mock_host_target(r->host, &port, id, sizeof(id))) {
        serve_data_plane(r, port, id);
        return;
    }
    const struct mock_route *rt = route_find(v, r);
    if (rt == NULL) {
        v->not_found(r);
        return;
    }
    if (!(rt->flags & MOCK_ROUTE_OPEN) && v->authorize != NULL && !v->authorize(r)) {
        mock_count_unauthorized(r->mock);
        return;
    }
    rt->fn(r);
}

/* --- the MHD callbacks -------------------------------------------------------------------- */

struct conn_state {
    struct sp_buf body;
};

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    struct sp_mock *m = cls;
    struct conn_state *cs = *con_cls;
    if (cs == NULL) {
        cs = calloc(1, sizeof(*cs));
        if (cs == NULL)
            return MHD_NO;
        sp_buf_init(&cs->body, MOCK_BODY_MAX);
        *con_cls = cs;
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        sp_buf_append(&cs->body, upload_data, *upload_data_size); /* overflow flagged */
        *upload_data_size = 0;
        return MHD_YES;
    }
    const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Host");
    struct mock_req r = {.mock = m, .conn = conn, .method = method, .path = url,
                         .host = host ? host : "", .body = cs->body};
    sp_kv_init(&r.reply_headers);
    if (cs->body.overflow)
        mock_reply_json(&r, 413, "{\"message\":\"request body too large\"}");
    else
        dispatch(&r);
    if (!r.replied)
        mock_reply_json(&r, 500, "{\"message\":\"mock: handler sent no reply\"}");
    journal_add(m, &r);
    sp_kv_cleanup(&r.reply_headers);
    return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)conn, (void)toe;
    struct conn_state *cs = *con_cls;
    if (cs != NULL) {
        sp_buf_cleanup(&cs->body);
        free(cs);
        *con_cls = NULL;
    }
}

/* --- start / stop ------------------------------------------------------------------------- */

static int random_key(const char *prefix, char **out)
{
    unsigned char raw[20];
    FILE *f = fopen("/dev/urandom", "rb");
    size_t got = f ? fread(raw, 1, sizeof(raw), f) : 0;
    if (f)
        fclose(f);
    if (got != sizeof(raw))
        return -1;
    struct sp_buf b;
    sp_buf_init(&b, 0);
    sp_buf_puts(&b, prefix ? prefix : "");
    for (size_t i = 0; i < sizeof(raw); i++)
        sp_buf_printf(&b, "%02x", raw[i]);
    *out = sp_buf_steal(&b);
    return *out ? 0 : -1;
}

static enum sp_err config_copy(struct sp_mock *m, const struct sp_mock_config *cfg,
                               struct sp_error *err)
{
    m->cfg = *cfg;
    m->host = strdup(cfg->host ? cfg->host : "127.0.0.1");
    m->root_dir = cfg->root_dir ? strdup(cfg->root_dir) : NULL;
    if (cfg->key != NULL)
        m->key = strdup(cfg->key);
    else if (random_key(m->vendor->key_prefix, &m->key) != 0)
        return sp_error_set(err, SP_E_INTERNAL, "mock: cannot read /dev/urandom for a key");
    if (m->host == NULL || m->key == NULL || (cfg->root_dir && m->root_dir == NULL))
        return sp_error_set(err, SP_E_INTERNAL, "mock: out of memory");
    m->cfg.host = m->host;
    m->cfg.key = m->key;
    m->cfg.root_dir = m->root_dir;
    if (!cfg->has_latency)
        m->cfg.latency = m->vendor->default_latency;
    return SP_E_OK;
}

static enum sp_err daemon_start(struct sp_mock *m, struct sp_error *err)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)m->cfg.port)};
    const char *host = strcmp(m->host, "localhost") == 0 ? "127.0.0.1" : m->host;
    if (m->cfg.port > 65535 || inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return sp_error_set(err, SP_E_CONFIG, "mock: cannot listen on '%s:%u' (want IPv4:port)",
                            m->host, m->cfg.port);
    m->daemon = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL, 0, NULL, NULL,
        on_request, m, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, m, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)CONNECTION_LIMIT, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_END);
    if (m->daemon == NULL)
        return sp_error_set(err, SP_E_CONFIG, "mock %s: cannot listen on %s:%u (in use?)",
                            m->vendor->name, m->host, m->cfg.port);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(m->daemon, MHD_DAEMON_INFO_BIND_PORT);
    m->port = info ? info->port : m->cfg.port;
    snprintf(m->origin, sizeof(m->origin), "http://%s:%u", m->host, m->port);
    snprintf(m->url, sizeof(m->url), "%s%s", m->origin, m->vendor->api_prefix);
    return SP_E_OK;
}

enum sp_err sp_mock_start(const struct sp_mock_config *cfg, struct sp_mock **out,
                          struct sp_error *err)
{
    *out = NULL;
    const struct mock_vendor *v = vendor_find(cfg->vendor);
    if (v == NULL) {
        char known[256] = "";
        for (size_t i = 0, used = 0; i < N_VENDORS && used < sizeof(known); i++) {
            int n = snprintf(known + used, sizeof(known) - used, "%s%s", i ? ", " : "",
                             VENDORS[i]->name);
            used += n > 0 ? (size_t)n : 0;
        }
        return sp_error_set(err, SP_E_CONFIG, "mock: unknown vendor '%s' (%s)",
                            cfg->vendor ? cfg->vendor : "(null)", known);
    }
    struct sp_mock *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return sp_error_set(err, SP_E_INTERNAL, "mock: out of memory");
    m->vendor = v;
    pthread_mutex_init(&m->lock, NULL);
    sp_kv_init(&m->env);
    enum sp_err rc = config_copy(m, cfg, err);
    if (rc == SP_E_OK) {
        m->store = mock_store_new(m, m->root_dir, cfg->seed, &m->cfg.latency);
        if (m->store == NULL)
            rc = sp_error_set(err, SP_E_INTERNAL, "mock: cannot create the sandbox root");
    }
    if (rc == SP_E_OK && v->init != NULL && v->init(m) != 0)
        rc = sp_error_set(err, SP_E_INTERNAL, "mock %s: vendor init failed", v->name);
    if (rc == SP_E_OK)
        rc = daemon_start(m, err);
    if (rc == SP_E_OK && v->env != NULL && v->env(m, &m->env) != 0)
        rc = sp_error_set(err, SP_E_INTERNAL, "mock %s: out of memory", v->name);
    if (rc != SP_E_OK) {
        sp_mock_stop(m);
        return rc;
    }
    *out = m;
    return SP_E_OK;
}

void sp_mock_stop(struct sp_mock *m)
{
    if (m == NULL)
        return;
    if (m->daemon != NULL)
        MHD_stop_daemon(m->daemon);
    mock_store_free(m->store);
    if (m->vendor->fini != NULL)
        m->vendor->fini(m);
    for (size_t i = 0; i < m->n_journal; i++)
        free(m->journal[i].path);
    free(m->journal);
    sp_kv_cleanup(&m->env);
    pthread_mutex_destroy(&m->lock);
    free(m->host);
    free(m->key);
    free(m->root_dir);
    free(m);
}

/* --- ids and times ------------------------------------------------------------------------ */

void mock_random_hex(struct sp_mock *m, char *out, size_t nchars)
{
    static const char HEX[] = "0123456789abcdef";
    uint64_t bits = 0;
    for (size_t i = 0; i < nchars; i++) {
        if (i % 16 == 0)
            bits = mock_store_random(m->store);
        out[i] = HEX[bits & 15];
        bits >>= 4;
    }
    out[nchars] = '\0';
}

void mock_random_uuid(struct sp_mock *m, char *out37)
{
    char hex[33];
    mock_random_hex(m, hex, 32);
    hex[12] = '4';                               /* version 4 */
    hex[16] = "89ab"[(unsigned char)hex[16] % 4]; /* RFC 4122 variant */
    snprintf(out37, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

int64_t mock_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void mock_format_time(int64_t wall_ms, bool millis, char *out, size_t len)
{
    time_t secs = (time_t)(wall_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char base[32];
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    if (millis)
        snprintf(out, len, "%s.%03dZ", base, (int)(wall_ms % 1000));
    else
        snprintf(out, len, "%sZ", base);
}
