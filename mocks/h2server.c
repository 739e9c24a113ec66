/* The HTTP/2 transport of the mock core: h2c with prior knowledge (what gRPC clients speak to
 * an http:// server, spec/runloop-modal.md M1) on nghttp2. It is the only file of mocks/ that
 * sees nghttp2: it turns HTTP/2 streams into struct mock_req, hands them to the core
 * (mockcore.c) exactly as mhd_transport.c does, and frames the core's reply value as HEADERS,
 * DATA and trailing HEADERS (grpc-status). Routing, store, journal, latency model and faults
 * are the core's, the same for both transports.
 *
 * Threads: one accept thread; one I/O thread per connection owning the nghttp2 session,
 * which also runs each handler (handlers never block: delays are timers, streamed bodies read
 * functions) and sends a reply that is ready at once; the worker pool (h2_worker.c) takes a
 * reply with a delay, a continuation or a streamed body, one pool thread per such request so a
 * blocked read never stalls the connection's other streams (gRPC multiplexes every call of a
 * client on one connection). Workers wake the I/O thread through a pipe; the I/O thread alone
 * touches the session. */
#define _GNU_SOURCE /* pipe2, accept4 */
#include "h2_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "h2server.h"
#include "provider.h" /* sp_now_us */

static const char *h2_header(struct mock_conn *conn, const char *name)
{
    const struct h2_stream *s = (const struct h2_stream *)(const void *)conn;
    return sp_kv_geti(&s->req_headers, name);
}

static const char *h2_query(struct mock_conn *conn, const char *name)
{
    const struct h2_stream *s = (const struct h2_stream *)(const void *)conn;
    return sp_kv_get(&s->query, name);
}

/* Form-decodes in place ('+' is a space, %XX a byte; a malformed escape stays as it is), as
 * libmicrohttpd does for HTTP/1.1 query arguments. */
static void form_decode(char *t)
{
    char *o = t;
    for (const char *i = t; *i; i++) {
        int hi = *i == '%' && i[1] ? sp_hex_digit(i[1]) : -1,
            lo = hi >= 0 ? sp_hex_digit(i[2]) : -1;
        if (lo >= 0) {
            *o++ = (char)(hi * 16 + lo);
            i += 2;
        } else
            *o++ = *i == '+' ? ' ' : *i;
    }
    *o = '\0';
}

/* Splits "a=1&b=x%20y" into decoded pairs (REST vendors over h2c page with ?limit=…). */
static void parse_query(struct sp_kv *q, const char *qs)
{
    char *dup = strdup(qs), *save = NULL;
    for (char *tok = dup ? strtok_r(dup, "&", &save) : NULL; tok;
         tok = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(tok, '=');
        if (eq != NULL)
            *eq = '\0';
        form_decode(tok);
        if (eq != NULL)
            form_decode(eq + 1);
        sp_kv_add(q, tok, eq ? eq + 1 : "");
    }
    free(dup);
}

static bool h2_closed(struct mock_conn *conn);

static int h2_peer_fd(struct mock_conn *conn)
{
    const struct h2_stream *s = (const struct h2_stream *)(const void *)conn;
    return s->c->fd;
}

/* No socket of its own: a client gone is seen through the stream's state. */
static const struct mock_transport_ops H2_OPS = {h2_header, h2_query, h2_closed, h2_peer_fd};

void mock_h2_wake(struct h2_conn *c)
{
    char b = 1;
    ssize_t n = write(c->wake[1], &b, 1);
    (void)n; /* a full pipe is already a pending wake-up */
}

/* --- the I/O thread: nghttp2 callbacks ----------------------------------------------------- */

static void stream_free(struct h2_stream *s)
{
    sp_kv_cleanup(&s->req_headers);
    sp_kv_cleanup(&s->query);
    sp_buf_cleanup(&s->r.body);
    sp_kv_cleanup(&s->r.reply_headers);
    sp_kv_cleanup(&s->r.reply_trailers);
    mock_reply_out_free(&s->r.out);
    sp_buf_cleanup(&s->out);
    free(s->path);
    free(s->host);
    free(s);
}

static int on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame, void *user)
{
    struct h2_conn *c = user;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    struct h2_stream *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    s->c = c;
    s->id = frame->hd.stream_id;
    sp_kv_init(&s->req_headers);
    sp_kv_init(&s->query);
    sp_buf_init(&s->r.body, MOCK_BODY_MAX);
    sp_buf_init(&s->out, 0);
    pthread_mutex_lock(&c->lock);
    s->next = c->streams;
    c->streams = s;
    pthread_mutex_unlock(&c->lock);
    nghttp2_session_set_stream_user_data(session, s->id, s);
    return 0;
}

/* "1S", "250m", "100000u" ... (gRPC's TimeoutValue + TimeoutUnit). */
static int64_t parse_grpc_timeout(const char *v)
{
    char *end = NULL;
    long long n = strtoll(v, &end, 10);
    if (end == v || n < 0 || end[0] == '\0' || end[1] != '\0')
        return 0;
    static const struct {
        char unit;
        int64_t us;
    } units[] = {
        {'H', 3600000000LL}, {'M', 60000000LL}, {'S', 1000000LL}, {'m', 1000LL}, {'u', 1LL}};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (*end == units[i].unit)
            return n > INT64_MAX / units[i].us ? 0 : n * units[i].us;
    return *end == 'n' ? (n / 1000 > 0 ? n / 1000 : 1) : 0;
}

static int on_header(nghttp2_session *session,
                     const nghttp2_frame *frame,
                     const uint8_t *name,
                     size_t namelen,
                     const uint8_t *value,
                     size_t valuelen,
                     uint8_t flags,
                     void *user)
{
    (void)flags, (void)user;
    struct h2_stream *s = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (s == NULL || frame->hd.type != NGHTTP2_HEADERS)
        return 0;
    char k[128], v[4096];
    if (namelen >= sizeof(k) || valuelen >= sizeof(v))
        return 0; /* oversized fields are dropped, as on HTTP/1.1 */
    memcpy(k, name, namelen);
    k[namelen] = '\0';
    memcpy(v, value, valuelen);
    v[valuelen] = '\0';
    if (strcmp(k, ":method") == 0)
        snprintf(s->method, sizeof(s->method), "%.15s", v);
    else if (strcmp(k, ":path") == 0) {
        free(s->path);
        s->path = strndup(v, strcspn(v, "?"));
        sp_kv_cleanup(&s->query);
        sp_kv_init(&s->query);
        if (strchr(v, '?') != NULL)
            parse_query(&s->query, strchr(v, '?') + 1);
    } else if (strcmp(k, ":authority") == 0) {
        free(s->host);
        s->host = strdup(v);
    } else if (k[0] != ':') {
        if (strcmp(k, "grpc-timeout") == 0) {
            int64_t t = parse_grpc_timeout(v);
            s->deadline_us = t > 0 ? sp_now_us() + t : 0;
        }
        sp_kv_add(&s->req_headers, k, v);
    }
    return 0;
}

static int on_data_chunk(nghttp2_session *session,
                         uint8_t flags,
                         int32_t stream_id,
                         const uint8_t *data,
                         size_t len,
                         void *user)
{
    (void)flags, (void)user;
    struct h2_stream *s = nghttp2_session_get_stream_user_data(session, stream_id);
    if (s != NULL && !s->started)
        sp_buf_append(&s->r.body, data, len); /* overflow is flagged: the core answers 413 */
    return 0;
}

/* The request is complete: its worker takes it from here. */
static void request_complete(struct h2_conn *c, struct h2_stream *s)
{
    s->r = (struct mock_req){.mock = c->srv->m,
                             .conn = (struct mock_conn *)(void *)s,
                             .tops = &H2_OPS,
                             .method = s->method,
                             .path = s->path ? s->path : "/",
                             .host = s->host ? s->host : "",
                             .body = s->r.body};
    sp_kv_init(&s->r.reply_headers);
    sp_kv_init(&s->r.reply_trailers);
    /* Handlers never block (delays are mock_defer/mock_reply_after timers, streamed bodies
     * read functions), so they run here; a reply that is ready with its whole body goes out
     * without a worker, the rest (delays, streams) moves to the pool. */
    struct mock_req *r = &s->r;
    if (!mock_core_begin(r, r->body.len, true))
        mock_core_dispatch(r);
    if (r->cont == NULL && r->reply_at_us == 0)
        mock_faults_on_send(r); /* an injected shape may turn the body into a stream */
    if (r->cont == NULL && r->reply_at_us == 0 && r->abort_conn) {
        /* A reset before any reply, as mhd_transport.c drops the connection. */
        mock_core_finish(r);
        pthread_mutex_lock(&c->lock);
        s->started = s->eof = s->worker_done = s->reset = true;
        pthread_mutex_unlock(&c->lock);
        nghttp2_submit_rst_stream(c->session, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_INTERNAL_ERROR);
        return;
    }
    if (r->cont == NULL && r->reply_at_us == 0 && r->out.read == NULL) {
        bool ok = r->out.len == 0 || sp_buf_append(&s->out, r->out.body, r->out.len) == 0;
        mock_core_finish(r);
        pthread_mutex_lock(&c->lock);
        s->started = s->reply_ready = s->eof = s->worker_done = true;
        pthread_mutex_unlock(&c->lock);
        if (!ok)
            nghttp2_submit_rst_stream(c->session, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_INTERNAL_ERROR);
        return;
    }
    pthread_mutex_lock(&c->lock);
    s->started = true;
    c->workers++;
    c->refs++;
    pthread_mutex_unlock(&c->lock);
    if (!mock_h2_pool_submit(c->srv, s)) {
        pthread_mutex_lock(&c->lock);
        c->workers--;
        c->refs--;
        s->started = false;
        pthread_mutex_unlock(&c->lock);
        nghttp2_submit_rst_stream(c->session, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_INTERNAL_ERROR);
    }
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user)
{
    struct h2_conn *c = user;
    if ((frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) ||
        !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
        return 0;
    struct h2_stream *s = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (s != NULL && !s->started)
        request_complete(c, s);
    return 0;
}

static int
on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code, void *user)
{
    (void)session, (void)error_code;
    struct h2_conn *c = user;
    pthread_mutex_lock(&c->lock);
    for (struct h2_stream *s = c->streams; s; s = s->next) {
        if (s->id == stream_id) {
            s->closed = true;
        }
    }
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
    return 0;
}

static ssize_t
send_cb(nghttp2_session *session, const uint8_t *data, size_t len, int flags, void *user)
{
    (void)session, (void)flags;
    struct h2_conn *c = user;
    ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK ? NGHTTP2_ERR_WOULDBLOCK
                                                       : NGHTTP2_ERR_CALLBACK_FAILURE;
    return n;
}

/* --- the I/O thread: replies --------------------------------------------------------------- */

/* Connection-specific fields are forbidden in HTTP/2 (RFC 9113 8.2.2): a client resets the
 * stream. The core adds "Connection: close" to refusals meant for HTTP/1.1. */
static bool hop_by_hop(const char *k)
{
    static const char *const names[] = {"connection", "keep-alive", "proxy-connection",
                                        "transfer-encoding", "upgrade"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcasecmp(k, names[i]) == 0)
            return true;
    return false;
}

/* Header names must be lowercase in HTTP/2. nv's strings live in pool until submitted. */
static void
nv_add(nghttp2_nv *nv, size_t *n, struct sp_buf *pool, size_t *offs, const char *k, const char *v)
{
    if (hop_by_hop(k))
        return;
    offs[2 * *n] = pool->len;
    for (const char *p = k; *p; p++) {
        char ch = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
        sp_buf_append(pool, &ch, 1);
    }
    sp_buf_append(pool, "", 1);
    offs[2 * *n + 1] = pool->len;
    sp_buf_append(pool, v, strlen(v) + 1);
    nv[*n] = (nghttp2_nv){NULL, NULL, strlen(k), strlen(v), NGHTTP2_NV_FLAG_NONE};
    (*n)++;
}

/* Builds the fields of kv (plus :status and content-type when status > 0) and submits them
 * as the response headers (with a data provider or none) or as trailers. */
static int submit_fields(struct h2_conn *c,
                         struct h2_stream *s,
                         int status,
                         const char *ctype,
                         const struct sp_kv *a,
                         const struct sp_kv *b,
                         nghttp2_data_provider *dp)
{
    size_t max = 2 + a->n + (b ? b->n : 0), n = 0;
    nghttp2_nv *nv = calloc(max, sizeof(*nv));
    size_t *offs = calloc(2 * max, sizeof(*offs));
    struct sp_buf pool;
    sp_buf_init(&pool, 0);
    char st[8];
    snprintf(st, sizeof(st), "%d", status);
    if (nv == NULL || offs == NULL) {
        free(nv);
        free(offs);
        return -1;
    }
    if (status > 0)
        nv_add(nv, &n, &pool, offs, ":status", st);
    if (status > 0 && ctype)
        nv_add(nv, &n, &pool, offs, "content-type", ctype);
    for (size_t i = 0; i < a->n; i++)
        nv_add(nv, &n, &pool, offs, a->items[i].key, a->items[i].val);
    for (size_t i = 0; b && i < b->n; i++)
        nv_add(nv, &n, &pool, offs, b->items[i].key, b->items[i].val);
    int rc = pool.overflow ? -1 : 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        nv[i].name = (uint8_t *)pool.data + offs[2 * i];
        nv[i].value = (uint8_t *)pool.data + offs[2 * i + 1];
    }
    if (rc == 0)
        rc = status > 0 ? nghttp2_submit_response(c->session, s->id, nv, n, dp)
                        : nghttp2_submit_trailer(c->session, s->id, nv, n);
    sp_buf_cleanup(&pool);
    free(nv);
    free(offs);
    return rc;
}

static ssize_t data_read(nghttp2_session *session,
                         int32_t stream_id,
                         uint8_t *buf,
                         size_t len,
                         uint32_t *flags,
                         nghttp2_data_source *src,
                         void *user)
{
    (void)session, (void)stream_id, (void)user;
    struct h2_stream *s = src->ptr;
    struct h2_conn *c = s->c;
    pthread_mutex_lock(&c->lock);
    size_t have = s->out.len - s->out_off;
    size_t n = have < len ? have : len;
    if (n > 0) {
        memcpy(buf, s->out.data + s->out_off, n);
        s->out_off += n;
        pthread_cond_broadcast(&c->cond);
    }
    bool done = s->eof && s->out_off == s->out.len;
    bool reset = done && s->reset;
    pthread_mutex_unlock(&c->lock);
    if (n == 0 && reset) {
        /* An injected cut: RST_STREAM after the bytes sent so far, a moment later so that
         * the client has taken the headers and data in (curl drops a stream's headers when
         * the reset arrives in the same read): the reply is seen cut, not refused. */
        int64_t now = sp_now_us();
        if (s->reset_due_us == 0)
            s->reset_due_us = now + H2_CUT_RESET_DELAY_US;
        if (now < s->reset_due_us) {
            c->reset_pending = true;
            return NGHTTP2_ERR_DEFERRED;
        }
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    if (done && reset)
        return (ssize_t)n;
    if (n == 0 && !done)
        return NGHTTP2_ERR_DEFERRED;
    if (done) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        if (s->r.reply_trailers.n > 0) { /* the worker is done with r: safe to read */
            *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
            if (submit_fields(c, s, 0, NULL, &s->r.reply_trailers, NULL, NULL) != 0)
                return NGHTTP2_ERR_CALLBACK_FAILURE;
        }
    }
    return (ssize_t)n;
}

/* Submits the response of a stream whose reply is ready; resumes streams with new data. */
static void pump(struct h2_conn *c)
{
    pthread_mutex_lock(&c->lock);
    for (struct h2_stream *s = c->streams; s; s = s->next) {
        if (s->closed || !s->reply_ready)
            continue;
        if (s->submitted) {
            nghttp2_session_resume_data(c->session, s->id);
            continue;
        }
        struct mock_req *r = &s->r;
        s->submitted = true;
        if (r->abort_conn) { /* reset before any reply (a delayed fault) */
            nghttp2_submit_rst_stream(c->session, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_INTERNAL_ERROR);
            continue;
        }
        /* No body to come and trailers only: Trailers-Only, one HEADERS with END_STREAM. */
        bool empty = r->out.read == NULL && r->out.len == 0;
        if (empty) {
            submit_fields(c, s, r->status, r->out.content_type, &r->reply_headers,
                          &r->reply_trailers, NULL);
            continue;
        }
        nghttp2_data_provider dp = {.source.ptr = s, .read_callback = data_read};
        submit_fields(c, s, r->status, r->out.content_type, &r->reply_headers, NULL, &dp);
    }
    pthread_mutex_unlock(&c->lock);
}

/* Drops streams that are closed and whose worker is done (or never started). */
static void reap(struct h2_conn *c, bool all)
{
    pthread_mutex_lock(&c->lock);
    for (struct h2_stream **p = &c->streams; *p;) {
        struct h2_stream *s = *p;
        bool idle = !s->started || s->worker_done;
        if ((s->closed || all) && idle) {
            *p = s->next;
            stream_free(s);
        } else {
            p = &s->next;
        }
    }
    pthread_mutex_unlock(&c->lock);
}

static bool h2_closed(struct mock_conn *conn)
{
    struct h2_stream *s = (struct h2_stream *)(void *)conn;
    pthread_mutex_lock(&s->c->lock);
    bool gone = s->closed || s->c->closing;
    pthread_mutex_unlock(&s->c->lock);
    return gone;
}

/* --- connections --------------------------------------------------------------------------- */

void mock_h2_conn_release(struct h2_conn *c)
{
    pthread_mutex_lock(&c->lock);
    bool last = --c->refs == 0;
    pthread_mutex_unlock(&c->lock);
    if (!last)
        return;
    struct mock_h2 *srv = c->srv;
    reap(c, true);
    pthread_mutex_lock(&srv->lock);
    for (struct h2_conn **p = &srv->conns; *p; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            break;
        }
    }
    if (c->fd >= 0) /* under srv->lock: stop's shutdown() never meets a reused descriptor */
        close(c->fd);
    srv->live--;
    pthread_cond_broadcast(&srv->cond);
    pthread_mutex_unlock(&srv->lock);
    close(c->wake[0]);
    close(c->wake[1]);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->cond);
    free(c);
}

static nghttp2_session *session_new(struct h2_conn *c)
{
    nghttp2_session_callbacks *cb;
    if (nghttp2_session_callbacks_new(&cb) != 0)
        return NULL;
    nghttp2_session_callbacks_set_send_callback(cb, send_cb);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    nghttp2_session *s = NULL;
    int rc = nghttp2_session_server_new(&s, cb, c);
    nghttp2_session_callbacks_del(cb);
    if (rc != 0)
        return NULL;
    /* Large windows: a streamed exec output is not throttled to 64 KiB per round trip. */
    nghttp2_settings_entry set[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 1000},
                                    {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 24}};
    if (nghttp2_submit_settings(s, NGHTTP2_FLAG_NONE, set, 2) != 0 ||
        nghttp2_session_set_local_window_size(s, NGHTTP2_FLAG_NONE, 0, 1 << 26) != 0) {
        nghttp2_session_del(s);
        return NULL;
    }
    return s;
}

/* One round of I/O. Returns false when the connection is over. */
static bool conn_io(struct h2_conn *c, int64_t *idle_since)
{
    c->reset_pending = false;
    pump(c);
    reap(c, false);
    if (nghttp2_session_send(c->session) != 0)
        return false;
    if (!nghttp2_session_want_read(c->session) && !nghttp2_session_want_write(c->session))
        return false;
    struct pollfd p[2] = {
        {c->fd, (short)(POLLIN | (nghttp2_session_want_write(c->session) ? POLLOUT : 0)), 0},
        {c->wake[0], POLLIN, 0}};
    if (poll(p, 2, c->reset_pending ? H2_CUT_RESET_DELAY_US / 1000 : 1000) < 0 && errno != EINTR)
        return false;
    if (p[1].revents & POLLIN) {
        char buf[256];
        while (read(c->wake[0], buf, sizeof(buf)) > 0) {
        }
    }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
        uint8_t buf[65536];
        ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            return false;
        if (n > 0 && nghttp2_session_mem_recv(c->session, buf, (size_t)n) < 0)
            return false;
        *idle_since = sp_now_us();
    }
    pthread_mutex_lock(&c->lock);
    bool busy = c->streams != NULL;
    pthread_mutex_unlock(&c->lock);
    if (busy)
        *idle_since = sp_now_us();
    else if (sp_now_us() - *idle_since > (int64_t)c->srv->idle_timeout_s * 1000000)
        return false;
    pthread_mutex_lock(&c->srv->lock);
    bool stop = c->srv->stopping;
    pthread_mutex_unlock(&c->srv->lock);
    return !stop;
}

/* The HTTP/2 connection preface (RFC 9113 3.4). No HTTP/1.1 request line starts "PRI ", so
 * its first four bytes tell the two apart. */
static const char PREFACE[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
#define SNIFF_LEN 4

/* Waits for the connection's first bytes. Returns 1 for HTTP/2, 0 for anything else, -1 when
 * the peer left, the idle timeout passed or the server stops. */
static int sniff(struct h2_conn *c)
{
    int64_t until = sp_now_us() + (int64_t)c->srv->idle_timeout_s * 1000000;
    for (;;) {
        char buf[SNIFF_LEN];
        ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            return -1;
        if (n > 0 && memcmp(buf, PREFACE, (size_t)n) != 0)
            return 0;
        if (n == SNIFF_LEN)
            return 1;
        pthread_mutex_lock(&c->srv->lock);
        bool stop = c->srv->stopping;
        pthread_mutex_unlock(&c->srv->lock);
        if (stop || sp_now_us() > until)
            return -1;
        /* Nothing yet: wait for bytes; a partial "PR" (rare) re-polls after a millisecond. */
        struct pollfd p = {c->fd, POLLIN, 0};
        poll(&p, 1, n > 0 ? 1 : 200);
    }
}

/* Gives an HTTP/1.1 connection to the HTTP/1.1 server; the descriptor is its from now on. */
static void hand_over(struct h2_conn *c)
{
    pthread_mutex_lock(&c->srv->lock);
    int fd = c->fd;
    c->fd = -1; /* stop's shutdown() and release's close() leave it alone */
    pthread_mutex_unlock(&c->srv->lock);
    mock_http_add(c->srv->http1, fd);
}

static void *conn_main(void *arg)
{
    struct h2_conn *c = arg;
    int kind = c->srv->http1 != NULL ? sniff(c) : 1;
    if (kind == 0)
        hand_over(c);
    if (kind == 1)
        c->session = session_new(c);
    int64_t idle_since = sp_now_us();
    while (c->session != NULL && conn_io(c, &idle_since)) {
    }
    if (c->session != NULL)
        nghttp2_session_del(c->session);
    pthread_mutex_lock(&c->lock);
    c->session = NULL;
    c->closing = true;
    for (struct h2_stream *s = c->streams; s; s = s->next)
        s->closed = true;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
    if (c->fd >= 0)
        shutdown(c->fd, SHUT_RDWR);
    mock_h2_conn_release(c);
    return NULL;
}

static void conn_start(struct mock_h2 *srv, int fd)
{
    struct h2_conn *c = calloc(1, sizeof(*c));
    if (c == NULL || pipe2(c->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
        free(c);
        close(fd);
        return;
    }
    c->srv = srv;
    c->fd = fd;
    c->refs = 1;
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->cond, NULL);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    pthread_mutex_lock(&srv->lock);
    c->next = srv->conns;
    srv->conns = c;
    srv->live++;
    pthread_mutex_unlock(&srv->lock);
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&c->thread, &a, conn_main, c) != 0)
        mock_h2_conn_release(c);
    pthread_attr_destroy(&a);
}

static void *accept_main(void *arg)
{
    struct mock_h2 *srv = arg;
    for (;;) {
        int fd = accept4(srv->lfd, NULL, NULL, SOCK_CLOEXEC);
        pthread_mutex_lock(&srv->lock);
        bool stop = srv->stopping;
        pthread_mutex_unlock(&srv->lock);
        if (stop) {
            if (fd >= 0)
                close(fd);
            return NULL;
        }
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                poll(NULL, 0, 50); /* out of descriptors: let connections finish */
            continue;
        }
        conn_start(srv, fd);
    }
}

/* --- start / stop ---------------------------------------------------------------------------- */

struct mock_h2 *mock_h2_start(struct sp_mock *m,
                              const char *host,
                              unsigned port,
                              unsigned idle_timeout_s,
                              struct mock_http *http1,
                              unsigned *bound_port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (strcmp(host, "localhost") == 0)
        host = "127.0.0.1";
    if (port > 65535 || inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return NULL;
    struct mock_h2 *srv = calloc(1, sizeof(*srv));
    if (srv == NULL)
        return NULL;
    srv->m = m;
    srv->idle_timeout_s = idle_timeout_s ? idle_timeout_s : 60;
    srv->http1 = http1;
    pthread_mutex_init(&srv->lock, NULL);
    pthread_mutex_init(&srv->qlock, NULL);
    pthread_cond_init(&srv->qcond, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_cond_init(&srv->cond, &ca);
    pthread_condattr_destroy(&ca);
    int one = 1;
    srv->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    socklen_t sl = sizeof(sa);
    if (srv->lfd < 0 || setsockopt(srv->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(srv->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(srv->lfd, 1024) != 0 ||
        getsockname(srv->lfd, (struct sockaddr *)&sa, &sl) != 0 ||
        pthread_create(&srv->accept_thread, NULL, accept_main, srv) != 0) {
        if (srv->lfd >= 0)
            close(srv->lfd);
        pthread_mutex_destroy(&srv->lock);
        pthread_cond_destroy(&srv->cond);
        pthread_mutex_destroy(&srv->qlock);
        pthread_cond_destroy(&srv->qcond);
        free(srv);
        return NULL;
    }
    *bound_port = ntohs(sa.sin_port);
    return srv;
}

void mock_h2_stop(struct mock_h2 *srv)
{
    if (srv == NULL)
        return;
    pthread_mutex_lock(&srv->lock);
    srv->stopping = true;
    pthread_cond_broadcast(&srv->cond);
    for (struct h2_conn *c = srv->conns; c; c = c->next)
        if (c->fd >= 0)
            shutdown(c->fd, SHUT_RDWR);
    pthread_mutex_unlock(&srv->lock);
    shutdown(srv->lfd, SHUT_RDWR); /* wakes accept() */
    pthread_join(srv->accept_thread, NULL);
    close(srv->lfd);
    /* Every connection and worker ends: workers waiting on a delay answer at once, streamed
     * bodies stop at the next chunk (their stream is closed). */
    pthread_mutex_lock(&srv->lock);
    while (srv->live > 0)
        pthread_cond_wait(&srv->cond, &srv->lock);
    pthread_mutex_unlock(&srv->lock);
    /* Every request is done (connections wait for theirs): the pool's threads end. */
    pthread_mutex_lock(&srv->qlock);
    srv->qstop = true;
    pthread_cond_broadcast(&srv->qcond);
    while (srv->threads > 0)
        pthread_cond_wait(&srv->qcond, &srv->qlock);
    pthread_mutex_unlock(&srv->qlock);
    pthread_mutex_destroy(&srv->lock);
    pthread_cond_destroy(&srv->cond);
    pthread_mutex_destroy(&srv->qlock);
    pthread_cond_destroy(&srv->qcond);
    free(srv);
}
