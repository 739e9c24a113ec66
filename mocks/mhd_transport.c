/* The HTTP/1.1 transport of the mock core, on libmicrohttpd 0.9.75 (Debian 12). It is the
 * only file of mocks/ that sees libmicrohttpd: it turns MHD's callbacks into struct mock_req,
 * hands them to the core (mockcore.c) and sends the core's reply value (struct
 * mock_reply_out) back, now or when its delay is over.
 *
 * Two modes, chosen by the sandbox backend:
 * - thread pool + epoll (synthetic backend): a few threads serve every connection, so a load
 *   run of thousands of sandboxes costs no thread per connection. A delayed reply suspends
 *   the connection (MHD_suspend_connection) and a timer (mock_timer.c) resumes it; no thread
 *   waits. Handlers must never block here, which the synthetic backend guarantees.
 * - thread per connection (shell backend): shell-backend handlers block on a command running
 *   in a real /bin/sh and on streamed output, which would stall every connection of a pool
 *   thread. In 0.9.75 suspend/resume does not work in this mode (the header says so, and a
 *   resumed connection was never served again when we tried), so a delay is waited out in
 *   the connection's own thread, which serves nothing else meanwhile.
 * Both modes: the API key is checked on the headers before any body is read (the core's
 * begin hook), bodies over MOCK_BODY_MAX are refused from Content-Length, idle or stalled
 * connections are closed after idle_timeout_s (not during a streamed reply, whose quiet
 * spells MHD would count as idleness), and past max_connections new requests get a
 * 503 with Connection: close instead of a reset (MHD's own hard limit sits a little higher
 * so that those requests can still be read and answered). */
#include "mock_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "provider.h" /* sp_now_us */

#define POOL_THREADS 2    /* this machine's cores; handlers never block in pool mode */
#define HARD_MARGIN  256u /* connections past the soft limit MHD still accepts, to shed them */

struct mock_http {
    struct sp_mock *m;
    struct MHD_Daemon *d;
    bool pool;
    unsigned soft_limit;
    unsigned idle_timeout_s;
    atomic_uint active;
};

/* One request (MHD's per-request context). */
struct mock_conn {
    struct mock_http *srv;
    struct MHD_Connection *mhd;
    struct mock_req r;
    bool dispatched, sent, no_wait;
    bool untimed; /* a streamed reply: exempt from the idle timeout until it ends */
};

const char *mock_conn_header(struct mock_conn *c, const char *name)
{
    return MHD_lookup_connection_value(c->mhd, MHD_HEADER_KIND, name);
}

const char *mock_conn_query(struct mock_conn *c, const char *name)
{
    return MHD_lookup_connection_value(c->mhd, MHD_GET_ARGUMENT_KIND, name);
}

int mock_conn_socket(struct mock_conn *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c->mhd, MHD_CONNECTION_INFO_CONNECTION_FD);
    return ci ? ci->connect_fd : -1;
}

/* --- sending the reply value -------------------------------------------------------------- */

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

static struct MHD_Response *make_response(struct mock_reply_out *o)
{
    if (o->read != NULL) {
        struct stream_ctx *s = malloc(sizeof(*s));
        if (s == NULL)
            return NULL; /* o keeps the stream: mock_reply_out_free releases it */
        *s = (struct stream_ctx){o->read, o->ctx, o->free_fn};
        o->read = NULL;
        o->free_fn = NULL;
        struct MHD_Response *resp = MHD_create_response_from_callback(
            MHD_SIZE_UNKNOWN, 64 * 1024, stream_reader, s, stream_free);
        if (resp == NULL)
            stream_free(s);
        return resp;
    }
    if (o->len == 0)
        return MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(o->len, o->body, MHD_RESPMEM_MUST_FREE);
    if (resp != NULL)
        o->body = NULL; /* MHD frees it */
    return resp;
}

/* Sends r's reply; MHD_NO when an injected fault resets the connection instead. */
static enum MHD_Result send_reply(struct mock_conn *c)
{
    struct mock_req *r = &c->r;
    if (r->abort_conn) {
        c->sent = true;
        mock_core_finish(r);
        return MHD_NO;
    }
    mock_faults_on_send(r);
    if (r->out.read != NULL) {
        /* MHD counts a stream's quiet spells (a command printing nothing for a while) as
         * idleness and would cut it: the stream's own reader watches for a client that left. */
        MHD_set_connection_option(c->mhd, MHD_CONNECTION_OPTION_TIMEOUT, 0u);
        c->untimed = true;
    }
    struct MHD_Response *resp = make_response(&r->out);
    if (resp == NULL) {
        static const char OOM[] = "{\"message\":\"mock: out of memory\"}";
        resp = MHD_create_response_from_buffer(sizeof(OOM) - 1, (void *)(uintptr_t)OOM,
                                               MHD_RESPMEM_PERSISTENT);
        r->status = 500;
    } else {
        if (r->out.content_type != NULL)
            MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->out.content_type);
        for (size_t i = 0; i < r->reply_headers.n; i++)
            MHD_add_response_header(resp, r->reply_headers.items[i].key,
                                    r->reply_headers.items[i].val);
        for (size_t i = 0; i < r->reply_trailers.n; i++)
            MHD_add_response_footer(resp, r->reply_trailers.items[i].key,
                                    r->reply_trailers.items[i].val);
    }
    if (resp != NULL) {
        MHD_queue_response(c->mhd, (unsigned)r->status, resp);
        MHD_destroy_response(resp);
    }
    c->sent = true;
    mock_core_finish(r);
    return MHD_YES;
}

/* --- delays ------------------------------------------------------------------------------- */

static void resume_cb(void *arg)
{
    struct mock_conn *c = arg;
    MHD_resume_connection(c->mhd);
}

/* The time the request waits for, or 0 when it can be answered now. */
static int64_t due_us(const struct mock_req *r)
{
    if (r->cont != NULL)
        return r->cont_at_us > 0 ? r->cont_at_us : 1;
    return r->replied ? r->reply_at_us : 0;
}

#define SLICE_US 20000 /* thread-per-connection waits look up this often */

/* Thread per connection: waits in the connection's own thread until due, in slices, so that
 * a stopping mock or a client that left ends the wait early. Returns false then. */
static bool sleep_until_us(struct mock_conn *c, int64_t due)
{
    for (;;) {
        int64_t now = sp_now_us();
        if (due <= now)
            return true;
        if (mock_timers_stopping(mock_timers_of(c->srv->m)) || mock_req_peer_gone(&c->r))
            return false;
        int64_t step = due - now < SLICE_US ? due - now : SLICE_US;
        struct timespec ts = {0, (long)step * 1000};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        }
    }
}

/* Runs continuations that are due; returns true when the request must wait (suspended). */
static bool wait_or_run(struct mock_conn *c)
{
    struct mock_req *r = &c->r;
    for (;;) {
        int64_t due = due_us(r);
        if (due == 0)
            return false;
        if (c->no_wait) {
            /* Stopping (or the client left): answer now and never wait again; a pending
             * continuation only releases what it holds. */
            if (r->cont != NULL)
                mock_core_cancel(r);
            if (!r->replied)
                mock_reply_json(r, 503, "{\"message\":\"mock: stopping\"}");
            r->reply_at_us = 0;
            return false;
        }
        if (due > sp_now_us()) {
            if (!c->srv->pool) {
                c->no_wait = !sleep_until_us(c, due);
                continue;
            }
            MHD_suspend_connection(c->mhd);
            if (mock_timers_add(mock_timers_of(c->srv->m), due, resume_cb, c) == 0)
                return true;
            c->no_wait = true; /* the mock is stopping: answer now */
            MHD_resume_connection(c->mhd);
            return true;
        }
        if (r->cont == NULL) {
            r->reply_at_us = 0;
            return false;
        }
        mock_core_continue(r);
    }
}

/* --- the MHD callbacks -------------------------------------------------------------------- */

static struct mock_conn *
conn_new(struct mock_http *srv, struct MHD_Connection *conn, const char *url, const char *method)
{
    struct mock_conn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Host");
    c->srv = srv;
    c->mhd = conn;
    c->r = (struct mock_req){
        .mock = srv->m, .conn = c, .method = method, .path = url, .host = host ? host : ""};
    sp_buf_init(&c->r.body, MOCK_BODY_MAX);
    sp_kv_init(&c->r.reply_headers);
    sp_kv_init(&c->r.reply_trailers);
    return c;
}

static void shed(struct mock_conn *c)
{
    char msg[160];
    snprintf(msg, sizeof(msg),
             "{\"message\":\"mock: too many connections (limit %u); retry later\"}",
             c->srv->soft_limit);
    mock_reply_header(&c->r, "Connection", "close");
    mock_reply_header(&c->r, "Retry-After", "1");
    mock_reply_json(&c->r, 503, msg);
}

/* First call: only the headers are in. */
static enum MHD_Result on_headers(struct mock_conn *c)
{
    if (atomic_load(&c->srv->active) > c->srv->soft_limit) {
        shed(c);
        send_reply(c);
        return MHD_YES;
    }
    const char *cl = mock_conn_header(c, MHD_HTTP_HEADER_CONTENT_LENGTH);
    char *end = NULL;
    unsigned long long len = cl ? strtoull(cl, &end, 10) : 0;
    bool has = cl != NULL && end != cl && *end == '\0';
    if (mock_core_begin(&c->r, len, has))
        return send_reply(c); /* refused before reading a byte of the body */
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls,
                                  struct MHD_Connection *conn,
                                  const char *url,
                                  const char *method,
                                  const char *version,
                                  const char *upload_data,
                                  size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    struct mock_conn *c = *con_cls;
    if (c == NULL) {
        c = conn_new(cls, conn, url, method);
        if (c == NULL)
            return MHD_NO;
        *con_cls = c;
        return on_headers(c);
    }
    if (*upload_data_size != 0) {
        if (!c->sent)
            sp_buf_append(&c->r.body, upload_data, *upload_data_size); /* overflow flagged */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (c->sent)
        return MHD_YES;
    if (!c->dispatched) {
        c->dispatched = true;
        mock_core_dispatch(&c->r);
    }
    if (wait_or_run(c))
        return MHD_YES;
    return send_reply(c);
}

static void on_completed(void *cls,
                         struct MHD_Connection *conn,
                         void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)toe;
    struct mock_http *srv = cls;
    struct mock_conn *c = *con_cls;
    if (c == NULL)
        return;
    if (c->untimed) /* the connection may be kept alive: idle again from now */
        MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, srv->idle_timeout_s);
    mock_core_cancel(&c->r);
    if (!c->sent && c->dispatched)
        mock_core_finish(&c->r); /* the client left before its reply: still journalled */
    sp_buf_cleanup(&c->r.body);
    sp_kv_cleanup(&c->r.reply_headers);
    sp_kv_cleanup(&c->r.reply_trailers);
    mock_reply_out_free(&c->r.out);
    free(c);
    *con_cls = NULL;
}

static void on_connection(void *cls,
                          struct MHD_Connection *conn,
                          void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    (void)conn, (void)socket_context;
    struct mock_http *srv = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED)
        atomic_fetch_add(&srv->active, 1);
    else
        atomic_fetch_sub(&srv->active, 1);
}

/* --- start / stop ------------------------------------------------------------------------- */

struct mock_http *
mock_http_start(struct sp_mock *m, const struct mock_http_opts *o, unsigned *bound_port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o->port)};
    const char *host = strcmp(o->host, "localhost") == 0 ? "127.0.0.1" : o->host;
    if (o->port > 65535 || inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return NULL;
    /* no_listen: another transport owns the port and hands over HTTP/1.1 sockets
     * (mock_http_add); ITC lets MHD's threads learn of them at once. */
    unsigned extra = o->no_listen ? MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC : 0;
    /* TLS (GnuTLS inside libmicrohttpd) with the PEM certificate and key given. */
    struct MHD_OptionItem tls[] = {{MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)(uintptr_t)o->tls_key},
                                   {MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)(uintptr_t)o->tls_cert},
                                   {MHD_OPTION_END, 0, NULL}};
    bool use_tls = o->tls_cert != NULL && o->tls_key != NULL;
    if (use_tls)
        extra |= MHD_USE_TLS;
    struct mock_http *srv = calloc(1, sizeof(*srv));
    if (srv == NULL)
        return NULL;
    srv->m = m;
    srv->pool = o->pool;
    srv->soft_limit = o->max_connections ? o->max_connections : 4096;
    srv->idle_timeout_s = o->idle_timeout_s ? o->idle_timeout_s : 60;
    unsigned flags =
        o->pool ? MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME
                : MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
    srv->d = MHD_start_daemon(
        flags | extra, 0, NULL, NULL, on_request, srv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_NOTIFY_CONNECTION, on_connection,
        srv, MHD_OPTION_CONNECTION_LIMIT, srv->soft_limit + HARD_MARGIN,
        MHD_OPTION_CONNECTION_TIMEOUT, srv->idle_timeout_s, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
        MHD_OPTION_THREAD_POOL_SIZE, o->pool ? (unsigned)POOL_THREADS : 0u, MHD_OPTION_ARRAY,
        use_tls ? tls : tls + 2, MHD_OPTION_END);
    if (srv->d == NULL) {
        free(srv);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->d, MHD_DAEMON_INFO_BIND_PORT);
    *bound_port = info ? info->port : o->port;
    return srv;
}

int mock_http_add(struct mock_http *srv, int fd)
{
    struct sockaddr_storage sa;
    socklen_t sl = sizeof(sa);
    if (getpeername(fd, (struct sockaddr *)&sa, &sl) != 0) {
        close(fd);
        return -1;
    }
    /* MHD closes the socket itself when it cannot take it. */
    return MHD_add_connection(srv->d, fd, (struct sockaddr *)&sa, sl) == MHD_YES ? 0 : -1;
}

void mock_http_stop(struct mock_http *srv)
{
    if (srv == NULL)
        return;
    /* Suspended connections must be resumed before MHD stops: the caller flushed the timers
     * (which resumes them); quiesce and let the pool threads run them to their end. */
    MHD_stop_daemon(srv->d);
    free(srv);
}
