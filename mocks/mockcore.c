/* The mock core shared by every vendor mock, free of any HTTP library: start and stop,
 * routing by method + path pattern and by Host for sandbox data planes, the vendor's key
 * check (on the headers, before a body is read), the hooks the transport calls, the request
 * journal and its escaped log, the hooks of fault injection (faults*.c), ids and keys from
 * the OS random source, and a vendor's sandbox created whole under the vendor's lock. The reply API
 * lives in mock_reply.c; the transport (mhd_transport.c today; an HTTP/2 server can sit beside it)
 * owns the sockets. */
#include "backend.h"
#include "faults_int.h"
#include "mock_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "h2server.h"
#include "provider.h" /* sp_now_us */

#include <cjson/cJSON.h>

#define JOURNAL_MAX 200000 /* entries kept; past it only the counters move */

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
    struct mock_http *server;
    struct mock_h2 *h2; /* instead of server, for a vendor served over HTTP/2 */
    struct mock_timers *timers;
    unsigned port;
    char origin[96];
    char url[128];
    struct sp_kv env;
    struct mock_store *store;
    pthread_mutex_t lock; /* journal, counters, faults; after the store lock, before timers */
    struct journal_entry *journal;
    size_t n_journal, cap_journal;
    long requests, unauthorized;
    struct mock_faults *faults;
};

/* The mock registry: a vendor is one line here; every list of vendors derives from it. */
static const struct mock_vendor *const VENDORS[] = {
    &mock_vendor_daytona,
    &mock_vendor_e2b,
    &mock_vendor_runloop,
    &mock_vendor_modal,
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

struct mock_store *mock_store_of(struct sp_mock *m)
{
    return m->store;
}
const struct sp_mock_config *mock_config(const struct sp_mock *m)
{
    return &m->cfg;
}
const char *mock_key(const struct sp_mock *m)
{
    return m->key;
}
void *mock_vendor_data(const struct sp_mock *m)
{
    return m->vendor_data;
}
void mock_set_vendor_data(struct sp_mock *m, void *data)
{
    m->vendor_data = data;
}
const char *mock_origin(const struct sp_mock *m)
{
    return m->origin;
}
const char *sp_mock_vendor(const struct sp_mock *m)
{
    return m->vendor->name;
}
const char *sp_mock_url(const struct sp_mock *m)
{
    return m->url;
}
unsigned sp_mock_port(const struct sp_mock *m)
{
    return m->port;
}
const struct sp_kv *sp_mock_env(const struct sp_mock *m)
{
    return &m->env;
}
struct mock_timers *mock_timers_of(struct sp_mock *m)
{
    return m->timers;
}
enum sp_mock_backend mock_backend(const struct sp_mock *m)
{
    return m->cfg.backend;
}

struct mock_sandbox *mock_create_sandbox(struct sp_mock *m,
                                         pthread_mutex_t *vendor_lock,
                                         const char *id,
                                         const char *const *dirs,
                                         void *vendor,
                                         const struct sp_kv *env,
                                         const struct sp_kv *labels)
{
    pthread_mutex_lock(vendor_lock);
    struct mock_sandbox *sb =
        mock_store_create(m->store, id, dirs, MOCK_CREATING, MOCK_RUNNING, MOCK_DELAY_CREATE);
    if (sb != NULL) {
        sb->vendor = vendor;
        sp_kv_merge(&sb->env, env);
        mock_sandbox_set_labels(m->store, sb, labels);
    }
    pthread_mutex_unlock(vendor_lock);
    return sb;
}

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

struct mock_faults *mock_faults_of(struct sp_mock *m)
{
    return m->faults;
}
const struct mock_vendor *mock_vendor_of(const struct sp_mock *m)
{
    return m->vendor;
}

void sp_mock_stats(struct sp_mock *m, struct sp_mock_stats *out)
{
    memset(out, 0, sizeof(*out));
    mock_store_stats(m->store, out);
    pthread_mutex_lock(&m->lock);
    out->requests = m->requests;
    out->unauthorized = m->unauthorized;
    pthread_mutex_unlock(&m->lock);
    out->faults = mock_faults_injected(m->faults, -1);
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
    if (!m->cfg.quiet) {
        char method[32], path[1024];
        mock_log_escape(r->method, method, sizeof(method));
        mock_log_escape(r->path, path, sizeof(path));
        fprintf(m->cfg.log ? (FILE *)m->cfg.log : stderr, "mock %s: %s %s -> %d\n", m->vendor->name,
                method, path, r->status);
    }
}

void mock_log_escape(const char *s, char *out, size_t outlen)
{
    static const char HEX[] = "0123456789abcdef";
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p && n + 5 < outlen; p++) {
        if (*p < 0x20 || *p == 0x7f || *p == '\\') {
            out[n++] = '\\';
            out[n++] = 'x';
            out[n++] = HEX[*p >> 4];
            out[n++] = HEX[*p & 15];
        } else {
            out[n++] = (char)*p;
        }
    }
    if (outlen > 0)
        out[n < outlen ? n : outlen - 1] = '\0';
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

static void serve_data_plane(struct mock_req *r, unsigned port, const char *label)
{
    const struct mock_vendor *v = r->mock->vendor;
    char id[64];
    struct mock_sandbox *sb = NULL;
    if (v->host_label_id == NULL)
        sb = mock_store_get(r->mock->store, label);
    else if (v->host_label_id(label, id, sizeof(id)))
        sb = mock_store_get(r->mock->store, id);
    if (sb == NULL) {
        r->mock->vendor->not_found(r);
        return;
    }
    if (!mock_faults_data_plane_dead(r, sb) && !mock_faults_on_request(r, true))
        r->mock->vendor->data_plane(r, sb, port);
    mock_store_put(r->mock->store, sb);
}

static void dispatch(struct mock_req *r)
{
    const struct mock_vendor *v = r->mock->vendor;
    unsigned port;
    char id[64];
    if (v->data_plane != NULL && mock_host_target(r->host, &port, id, sizeof(id))) {
        if (!mock_synthetic_gate(r, true))
            serve_data_plane(r, port, id);
        return;
    }
    if (mock_faults_admin(r))
        return;
    const struct mock_route *rt = route_find(v, r);
    if (rt == NULL) {
        /* Not a route of the API, but maybe the vendor's data plane by header (E2B envd). */
        if (!mock_faults_on_request(r, false))
            v->not_found(r);
        return;
    }
    if (!(rt->flags & MOCK_ROUTE_OPEN) && v->authorize != NULL && !v->authorize(r)) {
        mock_count_unauthorized(r->mock);
        return;
    }
    if (!mock_faults_on_request(r, false) && !mock_synthetic_gate(r, false))
        rt->fn(r);
}

void mock_core_route(struct mock_req *r)
{
    dispatch(r);
}

/* --- the transport's hooks ---------------------------------------------------------------- */

/* The key first, so a request without it learns nothing else (not even the size limit). */
bool mock_core_begin(struct mock_req *r, uint64_t content_length, bool has_length)
{
    const struct mock_vendor *v = r->mock->vendor;
    unsigned port;
    char id[64];
    /* The data plane checks its own credentials (preview or access token) in the handler. */
    bool data_plane = v->data_plane != NULL && mock_host_target(r->host, &port, id, sizeof(id));
    const struct mock_route *rt = data_plane ? NULL : route_find(v, r);
    bool keyed =
        (rt != NULL && !(rt->flags & MOCK_ROUTE_OPEN)) || (!data_plane && mock_faults_is_admin(r));
    if (keyed && v->authorize != NULL && !v->authorize(r)) {
        mock_count_unauthorized(r->mock);
        mock_reply_header(r, "Connection", "close"); /* the body is not read */
        return true;
    }
    if (has_length && content_length > MOCK_BODY_MAX) {
        mock_reply_header(r, "Connection", "close");
        mock_reply_json(r, 413, "{\"message\":\"request body too large\"}");
        return true;
    }
    return false;
}

void mock_core_dispatch(struct mock_req *r)
{
    if (r->body.overflow)
        mock_reply_json(r, 413, "{\"message\":\"request body too large\"}");
    else
        dispatch(r);
    if (!r->replied && r->cont == NULL)
        mock_reply_json(r, 500, "{\"message\":\"mock: handler sent no reply\"}");
}

void mock_core_continue(struct mock_req *r)
{
    mock_cont_fn fn = r->cont;
    if (fn == NULL)
        return;
    r->cont = NULL;
    fn(r, r->cont_ctx);
    if (r->cancelled)
        r->cont = NULL; /* a cancelled continuation cannot defer again */
    else if (!r->replied && r->cont == NULL)
        mock_reply_json(r, 500, "{\"message\":\"mock: handler sent no reply\"}");
}

void mock_core_cancel(struct mock_req *r)
{
    r->cancelled = true;
    while (r->cont != NULL)
        mock_core_continue(r);
}

void mock_core_finish(struct mock_req *r)
{
    journal_add(r->mock, r);
}

/* --- start / stop ------------------------------------------------------------------------- */

/* Fills buf from the OS random source. Returns 0, or -1. */
static int os_random(void *buf, size_t len)
{
    unsigned char *p = buf;
    while (len > 0) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int random_key(const char *prefix, char **out)
{
    unsigned char raw[20];
    if (os_random(raw, sizeof(raw)) != 0)
        return -1;
    struct sp_buf b;
    sp_buf_init(&b, 0);
    sp_buf_puts(&b, prefix ? prefix : "");
    for (size_t i = 0; i < sizeof(raw); i++)
        sp_buf_printf(&b, "%02x", raw[i]);
    *out = sp_buf_steal(&b);
    return *out ? 0 : -1;
}

static enum sp_err
config_copy(struct sp_mock *m, const struct sp_mock_config *cfg, struct sp_error *err)
{
    m->cfg = *cfg;
    m->host = strdup(cfg->host ? cfg->host : "127.0.0.1");
    m->root_dir = cfg->root_dir ? strdup(cfg->root_dir) : NULL;
    if (cfg->key != NULL)
        m->key = strdup(cfg->key);
    else if (random_key(m->vendor->key_prefix, &m->key) != 0)
        return sp_error_set(err, SP_E_INTERNAL, "mock: cannot read the OS random source for a key");
    if (m->host == NULL || m->key == NULL || (cfg->root_dir && m->root_dir == NULL))
        return sp_error_set(err, SP_E_INTERNAL, "mock: out of memory");
    m->cfg.host = m->host;
    m->cfg.key = m->key;
    m->cfg.root_dir = m->root_dir;
    if (!cfg->has_latency)
        m->cfg.latency = m->vendor->default_latency;
    return SP_E_OK;
}

static enum sp_err server_start(struct sp_mock *m, struct sp_error *err)
{
    struct mock_http_opts o = {.host = m->host,
                               .port = m->cfg.port,
                               .pool = m->cfg.backend == SP_MOCK_BACKEND_SYNTHETIC,
                               .idle_timeout_s = m->cfg.idle_timeout_s,
                               .max_connections = m->cfg.max_connections};
    m->timers = mock_timers_new();
    if (m->timers == NULL)
        return sp_error_set(err, SP_E_INTERNAL, "mock: cannot start the timer thread");
    /* h2c_too: the h2 server owns the port and hands HTTP/1.1 connections to MHD. */
    o.no_listen = m->vendor->h2c_too;
    if (!m->vendor->h2c)
        m->server = mock_http_start(m, &o, &m->port);
    bool h2 = m->vendor->h2c || m->vendor->h2c_too;
    if (h2 && (m->server != NULL || m->vendor->h2c))
        m->h2 = mock_h2_start(m, m->host, m->cfg.port, m->cfg.idle_timeout_s, m->server, &m->port);
    if (h2 ? m->h2 == NULL : m->server == NULL)
        return sp_error_set(err, SP_E_CONFIG,
                            "mock %s: cannot listen on %s:%u (want IPv4:port; "
                            "in use?)",
                            m->vendor->name, m->host, m->cfg.port);
    snprintf(m->origin, sizeof(m->origin), "http://%s:%u", m->host, m->port);
    snprintf(m->url, sizeof(m->url), "%s%s", m->origin, m->vendor->api_prefix);
    return SP_E_OK;
}

/* The config's faults: every spec and the scenario file are checked before the mock serves. */
static enum sp_err
faults_arm(struct sp_mock *m, const struct sp_mock_config *cfg, struct sp_error *err)
{
    m->faults = mock_faults_new(cfg->seed);
    if (m->faults == NULL)
        return sp_error_set(err, SP_E_INTERNAL, "mock: out of memory");
    for (size_t i = 0; i < cfg->n_faults; i++)
        if (sp_mock_fault_add(m, cfg->faults[i], NULL, err) != SP_E_OK)
            return err->code;
    if (cfg->faults_file != NULL)
        return sp_mock_faults_load(m, cfg->faults_file, err);
    return SP_E_OK;
}

enum sp_err
sp_mock_start(const struct sp_mock_config *cfg, struct sp_mock **out, struct sp_error *err)
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
        if (m->store != NULL)
            mock_store_set_dists(m->store, m->cfg.dist);
        if (m->store == NULL)
            rc = sp_error_set(err, SP_E_INTERNAL, "mock: cannot create the sandbox root");
    }
    if (rc == SP_E_OK)
        rc = faults_arm(m, cfg, err);
    if (rc == SP_E_OK && v->init != NULL && v->init(m) != 0)
        rc = sp_error_set(err, SP_E_INTERNAL, "mock %s: vendor init failed", v->name);
    if (rc == SP_E_OK)
        rc = server_start(m, err);
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
    mock_timers_flush(m->timers); /* resumes every delayed request: the server can stop */
    mock_h2_stop(m->h2);          /* first: it may hand connections to m->server */
    mock_http_stop(m->server);
    mock_store_free(m->store);
    if (m->vendor->fini != NULL)
        m->vendor->fini(m);
    /* Last: a vendor's own listener (Modal's tunnels), stopped in fini, has connection
     * threads that look at the timers until they end. */
    mock_timers_free(m->timers);
    for (size_t i = 0; i < m->n_journal; i++)
        free(m->journal[i].path);
    free(m->journal);
    mock_faults_free(m->faults);
    sp_kv_cleanup(&m->env);
    pthread_mutex_destroy(&m->lock);
    free(m->host);
    free(m->key);
    free(m->root_dir);
    free(m);
}

/* --- ids and times ------------------------------------------------------------------------ */

uint64_t mock_random_u64(struct sp_mock *m)
{
    (void)m;
    uint64_t v = 0;
    if (os_random(&v, sizeof(v)) != 0)
        abort(); /* getrandom on Linux >= 3.17 does not fail once the pool is seeded */
    return v;
}

void mock_random_hex(struct sp_mock *m, char *out, size_t nchars)
{
    static const char HEX[] = "0123456789abcdef";
    uint64_t bits = 0;
    for (size_t i = 0; i < nchars; i++) {
        if (i % 16 == 0)
            bits = mock_random_u64(m);
        out[i] = HEX[bits & 15];
        bits >>= 4;
    }
    out[nchars] = '\0';
}

void mock_random_uuid(struct sp_mock *m, char *out37)
{
    char hex[33];
    mock_random_hex(m, hex, 32);
    hex[12] = '4';                                /* version 4 */
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
