/* The handler side of the mock core's request/reply API: request lookups through the
 * transport, replies recorded as a value (struct mock_reply_out: status, headers, body or
 * stream, trailers) for the transport to send, and their timing — a reply held until a
 * delay is over, a continuation run later, a reply once a sandbox left a transient phase.
 * Nothing here sees libmicrohttpd or sleeps: the transport and the timer thread do the
 * waiting (mhd_transport.c, mock_timer.c). */
#include "mock_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cjson/cJSON.h>

#include "provider.h" /* sp_now_us */

/* --- request helpers ---------------------------------------------------------------------- */

const char *mock_req_query(struct mock_req *r, const char *name)
{
    if (r->tops)
        return r->tops->query(r->conn, name);
    return r->conn ? mock_conn_query(r->conn, name) : NULL;
}

const char *mock_req_header(struct mock_req *r, const char *name)
{
    if (r->tops)
        return r->tops->header(r->conn, name);
    return r->conn ? mock_conn_header(r->conn, name) : NULL;
}

int mock_req_socket(struct mock_req *r)
{
    if (r->tops)
        return -1; /* HTTP/2 streams share one socket: peer_gone asks the transport */
    return r->conn ? mock_conn_socket(r->conn) : -1;
}

bool mock_req_peer_loopback(struct mock_req *r)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int fd = r->tops ? r->tops->peer_fd(r->conn) : mock_req_socket(r);
    if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
        return false;
    if (ss.ss_family == AF_INET)
        return (ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr) >> 24) == 127;
    if (ss.ss_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)&ss)->sin6_addr);
    return false;
}

bool mock_req_peer_gone(struct mock_req *r)
{
    if (r->tops)
        return r->tops->closed(r->conn);
    int fd = mock_req_socket(r);
    char c;
    if (fd < 0)
        return false;
    ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    /* 0: the peer closed, or the server shut the socket down because the mock is stopping. */
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* --- replies ------------------------------------------------------------------------------ */

void mock_reply_out_free(struct mock_reply_out *o)
{
    free(o->content_type);
    free(o->body);
    if (o->read != NULL && o->free_fn != NULL)
        o->free_fn(o->ctx);
    memset(o, 0, sizeof(*o));
}

/* Records the reply; returns false when one was already recorded. */
static bool reply_begin(struct mock_req *r, int status, const char *content_type)
{
    if (r->replied)
        return false;
    r->status = status;
    r->replied = true;
    r->out.content_type = content_type ? strdup(content_type) : NULL;
    return true;
}

void mock_reply_header(struct mock_req *r, const char *name, const char *value)
{
    sp_kv_add(&r->reply_headers, name, value);
}

void mock_reply_trailer(struct mock_req *r, const char *name, const char *value)
{
    sp_kv_add(&r->reply_trailers, name, value);
}

void mock_reply(
    struct mock_req *r, int status, const char *content_type, const void *body, size_t len)
{
    if (!reply_begin(r, status, content_type))
        return;
    if (len > 0 && (r->out.body = malloc(len)) != NULL) {
        memcpy(r->out.body, body, len);
        r->out.len = len;
    } else if (len > 0) {
        r->status = 500; /* out of memory: an empty 500 */
    }
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

void mock_reply_stream(struct mock_req *r,
                       int status,
                       const char *content_type,
                       mock_stream_read_fn read,
                       void *ctx,
                       void (*free_fn)(void *ctx))
{
    if (!reply_begin(r, status, content_type)) {
        if (free_fn)
            free_fn(ctx);
        return;
    }
    r->out.read = read;
    r->out.ctx = ctx;
    r->out.free_fn = free_fn;
}

void mock_reply_after(struct mock_req *r, int64_t delay_us)
{
    if (delay_us > 0)
        r->reply_at_us = sp_now_us() + delay_us;
}

void mock_defer(struct mock_req *r, int64_t delay_us, mock_cont_fn fn, void *ctx)
{
    r->cont = fn;
    r->cont_ctx = ctx;
    r->cont_at_us = sp_now_us() + (delay_us > 0 ? delay_us : 0);
}

/* --- replies once a sandbox settled ------------------------------------------------------ */

struct when_left {
    struct mock_sandbox *sb;
    enum mock_phase transient;
    int64_t deadline_ms, extra_us;
    void (*reply)(struct mock_req *r, struct mock_sandbox *sb);
};

static void when_left_step(struct mock_req *r, void *ctx)
{
    struct when_left *w = ctx;
    struct mock_store *s = mock_store_of(r->mock);
    if (r->cancelled) {
        mock_store_put(s, w->sb);
        free(w);
        return;
    }
    int64_t at = mock_sandbox_leaves_at(s, w->sb, w->transient), now = sp_now_ms();
    if (at != 0 && now < w->deadline_ms) {
        int64_t until = at < 0 || at > w->deadline_ms ? w->deadline_ms : at;
        mock_defer(r, until * 1000 - sp_now_us(), when_left_step, w); /* wake on the ms */
        return;
    }
    w->reply(r, w->sb);
    mock_reply_after(r, w->extra_us);
    mock_store_put(s, w->sb);
    free(w);
}

void mock_reply_when_left(struct mock_req *r,
                          struct mock_sandbox *sb,
                          enum mock_phase transient,
                          long cap_ms,
                          int64_t extra_us,
                          void (*reply)(struct mock_req *r, struct mock_sandbox *sb))
{
    struct when_left *w = malloc(sizeof(*w));
    if (w == NULL) {
        mock_store_put(mock_store_of(r->mock), sb);
        mock_reply_json(r, 500, "{\"message\":\"mock: out of memory\"}");
        return;
    }
    *w = (struct when_left){sb, transient, sp_now_ms() + cap_ms, extra_us, reply};
    when_left_step(r, w);
}
