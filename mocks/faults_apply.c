/* What an injected fault does to a request, a reply and a sandbox. Before the handler
 * (mock_faults_on_request): a status with the vendor's error body, a reset, a stall, a
 * delay. On the reply's way out (mock_faults_on_send, called by the transport): the body is
 * emptied, truncated, replaced by garbage or by an oversized one, or streamed through a
 * shaping reader that dribbles it, cuts it, or drops its end-of-stream. Sandbox faults: the
 * timed ones (vanish, data plane dies, action server crashes) strike at sb->fault_at_ms.
 *
 * A reset is SO_LINGER 0 on the socket before the transport closes it, so the client sees
 * ECONNRESET, not an orderly end. A dribble sleeps in the sending thread: with the synthetic
 * backend's thread pool it holds one of the pool's threads while it lasts. */
#include "faults_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "provider.h" /* sp_now_us */

/* --- before the handler --------------------------------------------------------------------- */

void mock_reply_fault_error(struct mock_req *r, int status, const char *message)
{
    const struct mock_vendor *v = mock_vendor_of(r->mock);
    if (v->error_reply != NULL) {
        v->error_reply(r, status, message);
        return;
    }
    char body[300];
    snprintf(body, sizeof(body), "{\"message\":\"%s\"}", message); /* ours: nothing to escape */
    mock_reply_json(r, status, body);
}

static void status_reply(struct mock_req *r, const struct mock_fault *f)
{
    char msg[160];
    if (f->retry_after > 0) {
        char secs[16];
        snprintf(secs, sizeof(secs), "%d", f->retry_after);
        mock_reply_header(r, "Retry-After", secs);
    }
    switch (f->status) {
    case 429:
        snprintf(msg, sizeof(msg), "Rate limit exceeded, please retry after %d s (injected fault)",
                 f->retry_after);
        break;
    case 503:
        snprintf(msg, sizeof(msg), "Service unavailable, retry after %d s (injected fault)",
                 f->retry_after);
        break;
    case 502:
        snprintf(msg, sizeof(msg), "Bad gateway (injected fault)");
        break;
    case 504:
        snprintf(msg, sizeof(msg), "Gateway timeout (injected fault)");
        break;
    default:
        snprintf(msg, sizeof(msg), "Internal server error (injected fault)");
        break;
    }
    mock_reply_fault_error(r, f->status, msg);
}

static void linger0(int fd)
{
    struct linger l = {1, 0};
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
}

/* The transport resets the connection instead of sending r's reply (journalled as 0). */
static void reset_now(struct mock_req *r)
{
    linger0(mock_req_socket(r));
    r->abort_conn = true;
    mock_reply_empty(r, 0);
}

struct stall {
    int64_t due_us, end_us;
};

#define STALL_POLL_US 100000

/* Polls for the client's leaving; a call well before its due time means the mock is stopping
 * (the transport runs continuations at once then). */
static void stall_step(struct mock_req *r, void *ctx)
{
    struct stall *s = ctx;
    if (r->cancelled) {
        free(s);
        return;
    }
    int64_t now = sp_now_us();
    if (now + 20000 < s->due_us || now >= s->end_us || mock_req_peer_gone(r)) {
        free(s);
        reset_now(r);
        return;
    }
    s->due_us = now + STALL_POLL_US;
    mock_defer(r, STALL_POLL_US, stall_step, s);
}

/* A request whose client gave up during the delay never gets here: the transport cancels a
 * deferred request once its peer is gone (so a create that timed out makes no sandbox). */
static void delay_done(struct mock_req *r, void *ctx)
{
    (void)ctx;
    if (r->cancelled)
        return;
    r->fault_delayed = true;
    mock_core_route(r);
}

bool mock_faults_on_request(struct mock_req *r, bool data_plane)
{
    const struct mock_vendor *v = mock_vendor_of(r->mock);
    struct mock_fault f;
    if (!mock_faults_pick(mock_faults_of(r->mock), r, data_plane, v->name, v->api_prefix,
                          r->fault_delayed, &f))
        return false;
    switch (f.kind) {
    case SP_MOCK_FK_DELAY:
        r->fault_delayed = true;
        mock_defer(r, f.arg_ms * 1000, delay_done, NULL);
        return true;
    case SP_MOCK_FK_STATUS:
        status_reply(r, &f);
        return true;
    case SP_MOCK_FK_RESET:
        reset_now(r);
        return true;
    case SP_MOCK_FK_STALL: {
        struct stall *s = malloc(sizeof(*s));
        if (s == NULL) {
            reset_now(r);
            return true;
        }
        s->due_us = sp_now_us() + STALL_POLL_US;
        s->end_us = sp_now_us() + f.arg_ms * 1000;
        mock_defer(r, STALL_POLL_US, stall_step, s);
        return true;
    }
    default:
        r->fault_shape = (int)f.kind + 1;
        r->fault_arg = f.kind == SP_MOCK_FK_OVERSIZE ? (long)f.size : f.rate;
        return false;
    }
}

/* --- the reply on its way out ----------------------------------------------------------------- */

struct shape {
    mock_stream_read_fn inner; /* the handler's stream, or NULL */
    void *inner_ctx;
    void (*inner_free)(void *ctx);
    char *body; /* or a body in memory */
    size_t len, pos;
    size_t gen_total;     /* or an oversized JSON body made up as it goes */
    long rate;            /* bytes per second; 0 = as fast as it goes */
    size_t cut_after;     /* reset once this much went out; SIZE_MAX = never */
    bool cut_after_first; /* ... or after the first part */
    bool reset_at_end;    /* the end becomes a reset (no chunked terminator) */
    bool strip_eos;       /* Connect: drop the end-of-stream frame */
    int fd;
    size_t sent;
    unsigned char hdr[5]; /* the Connect envelope being read */
    size_t hdr_have, frame_left;
    bool skip;
};

static const char OVERSIZE_HEAD[] = "{\"data\":\"";

static ssize_t gen_read(struct shape *s, char *buf, size_t want)
{
    size_t n = 0, head = sizeof(OVERSIZE_HEAD) - 1;
    for (; n < want && s->pos < s->gen_total; n++, s->pos++)
        buf[n] = s->pos < head                ? OVERSIZE_HEAD[s->pos]
                 : s->pos == s->gen_total - 2 ? '"'
                 : s->pos == s->gen_total - 1 ? '}'
                                              : 'x';
    return (ssize_t)n;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The inner Connect stream without its end-of-stream frame (flag 0x02). */
static ssize_t strip_read(struct shape *s, char *buf, size_t want)
{
    char tmp[16384];
    if (want <= sizeof(s->hdr))
        return s->inner(s->inner_ctx, buf, want);
    for (;;) {
        size_t cap = want - sizeof(s->hdr) < sizeof(tmp) ? want - sizeof(s->hdr) : sizeof(tmp);
        ssize_t n = s->inner(s->inner_ctx, tmp, cap), out = 0;
        if (n <= 0)
            return n;
        for (ssize_t i = 0; i < n; i++) {
            if (s->frame_left > 0) {
                if (!s->skip)
                    buf[out++] = tmp[i];
                s->frame_left--;
                continue;
            }
            s->hdr[s->hdr_have++] = (unsigned char)tmp[i];
            if (s->hdr_have < sizeof(s->hdr))
                continue;
            s->hdr_have = 0;
            s->frame_left = be32(s->hdr + 1);
            s->skip = (s->hdr[0] & 0x02) != 0;
            if (!s->skip) {
                memcpy(buf + out, s->hdr, sizeof(s->hdr));
                out += (ssize_t)sizeof(s->hdr);
            }
        }
        if (out > 0)
            return out;
    }
}

static ssize_t source_read(struct shape *s, char *buf, size_t want)
{
    if (s->inner != NULL)
        return s->strip_eos ? strip_read(s, buf, want) : s->inner(s->inner_ctx, buf, want);
    if (s->gen_total > 0)
        return gen_read(s, buf, want);
    size_t n = s->len - s->pos < want ? s->len - s->pos : want;
    memcpy(buf, s->body + s->pos, n);
    s->pos += n;
    return (ssize_t)n;
}

static ssize_t shape_reset(struct shape *s)
{
    linger0(s->fd);
    return -1;
}

static ssize_t shape_read(void *ctx, char *buf, size_t max)
{
    struct shape *s = ctx;
    if (s->sent >= s->cut_after)
        return shape_reset(s);
    size_t want = max;
    if (s->cut_after - s->sent < want)
        want = s->cut_after - s->sent;
    if (s->rate > 0 && want > (size_t)(s->rate / 10 + 1))
        want = (size_t)(s->rate / 10 + 1);
    ssize_t n = source_read(s, buf, want);
    if (n == 0 && s->reset_at_end)
        return shape_reset(s);
    if (n <= 0)
        return n;
    s->sent += (size_t)n;
    if (s->cut_after_first)
        s->cut_after = s->sent;
    if (s->rate > 0) {
        int64_t us = (int64_t)n * 1000000 / s->rate;
        struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};
        nanosleep(&ts, NULL);
    }
    return n;
}

static void shape_free(void *ctx)
{
    struct shape *s = ctx;
    if (s->inner_free != NULL)
        s->inner_free(s->inner_ctx);
    free(s->body);
    free(s);
}

/* Moves r's body or stream into a shaping stream. NULL when out of memory. */
static struct shape *shape_take(struct mock_req *r)
{
    struct shape *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->inner = r->out.read;
    s->inner_ctx = r->out.ctx;
    s->inner_free = r->out.free_fn;
    s->body = r->out.body;
    s->len = r->out.len;
    s->cut_after = SIZE_MAX;
    s->fd = mock_req_socket(r);
    r->out.read = NULL;
    r->out.free_fn = NULL;
    r->out.body = NULL;
    r->out.len = 0;
    return s;
}

/* Drops r's body or stream, keeping its status, headers and content type. */
static void drop_body(struct mock_req *r)
{
    char *ct = r->out.content_type;
    r->out.content_type = NULL;
    mock_reply_out_free(&r->out);
    r->out.content_type = ct;
}

static void replace_body(struct mock_req *r, const char *bytes)
{
    drop_body(r);
    r->out.body = strdup(bytes);
    r->out.len = r->out.body ? strlen(bytes) : 0;
}

static bool is_connect(const struct mock_req *r)
{
    const char *ct = r->out.content_type;
    return ct != NULL && strncmp(ct, "application/connect+", 20) == 0;
}

static void shape_stream(struct mock_req *r, enum sp_mock_fault_kind k)
{
    bool streamed = r->out.read != NULL;
    bool connect = is_connect(r);
    size_t len = r->out.len;
    struct shape *s = shape_take(r);
    if (s == NULL)
        return;
    if (k == SP_MOCK_FK_DRIBBLE)
        s->rate = r->fault_arg > 0 ? r->fault_arg : 64;
    else if (k == SP_MOCK_FK_OVERSIZE)
        s->gen_total = (size_t)r->fault_arg, s->inner = NULL, free(s->body), s->body = NULL;
    else if ((k == SP_MOCK_FK_RESET_MID || k == SP_MOCK_FK_CUT) && streamed)
        s->cut_after_first = true;
    else if (k == SP_MOCK_FK_RESET_MID || k == SP_MOCK_FK_CUT)
        s->cut_after = len / 2;
    else if (k == SP_MOCK_FK_NO_EOS && connect)
        s->strip_eos = true;
    else if (k == SP_MOCK_FK_NO_EOS)
        s->reset_at_end = true;
    if (k == SP_MOCK_FK_OVERSIZE && s->inner_free != NULL) {
        s->inner_free(s->inner_ctx); /* the handler's stream is not sent at all */
        s->inner_free = NULL;
    }
    r->out.read = shape_read;
    r->out.ctx = s;
    r->out.free_fn = shape_free;
}

void mock_faults_on_send(struct mock_req *r)
{
    if (r->fault_shape == 0 || r->abort_conn)
        return;
    enum sp_mock_fault_kind k = (enum sp_mock_fault_kind)(r->fault_shape - 1);
    r->fault_shape = 0;
    switch (k) {
    case SP_MOCK_FK_EMPTY:
        drop_body(r);
        break;
    case SP_MOCK_FK_MALFORMED:
        replace_body(r, "{\"sandprobe\": malformed \x01<<< not what the client asked for");
        break;
    case SP_MOCK_FK_TRUNCATE:
        if (r->out.read == NULL) {
            r->out.len /= 2;
            break;
        }
        shape_stream(r, SP_MOCK_FK_CUT); /* a stream is truncated by cutting it */
        break;
    default:
        shape_stream(r, k);
        break;
    }
}

/* --- sandbox faults ------------------------------------------------------------------------- */

enum sp_mock_fault mock_take_fault(struct sp_mock *m, int64_t *at_ms)
{
    int64_t after = 0;
    enum sp_mock_fault f =
        mock_faults_pick_sandbox(mock_faults_of(m), mock_vendor_of(m)->name, &after);
    *at_ms = f == SP_MOCK_FAULT_NONE ? 0 : sp_now_ms() + after;
    return f;
}

struct vanish {
    struct sp_mock *m;
    char id[64];
};

static void vanish_cb(void *arg)
{
    struct vanish *v = arg;
    struct mock_store *s = mock_store_of(v->m);
    struct mock_sandbox *sb = mock_store_get(s, v->id);
    if (sb != NULL) {
        mock_store_remove(s, sb);
        mock_store_put(s, sb);
    }
    free(v);
}

void mock_faults_sandbox_created(struct sp_mock *m, struct mock_sandbox *sb)
{
    if (sb->fault != SP_MOCK_FAULT_VANISH)
        return;
    struct vanish *v = malloc(sizeof(*v));
    if (v == NULL)
        return;
    v->m = m;
    snprintf(v->id, sizeof(v->id), "%s", sb->id);
    if (mock_timers_add(mock_timers_of(m), sb->fault_at_ms * 1000, vanish_cb, v) != 0)
        free(v);
}

bool mock_faults_data_plane_dead(struct mock_req *r, struct mock_sandbox *sb)
{
    if (sb->fault != SP_MOCK_FAULT_DATA_PLANE_DIES || sp_now_ms() < sb->fault_at_ms)
        return false;
    reset_now(r);
    return true;
}

bool mock_faults_server_down(const struct mock_sandbox *sb, bool never_alive)
{
    if (never_alive && sb->fault == SP_MOCK_FAULT_NEVER_ALIVE)
        return true;
    return sb->fault == SP_MOCK_FAULT_SERVER_CRASH && sp_now_ms() >= sb->fault_at_ms;
}

void sp_mock_inject(struct sp_mock *m, enum sp_mock_fault f, int count)
{
    static const char *const NAMES[] = {NULL,     "stuck",          "error",       "never-alive",
                                        "vanish", "dataplane-dies", "server-crash"};
    if (f <= SP_MOCK_FAULT_NONE || f > SP_MOCK_FAULT_SERVER_CRASH || count <= 0)
        return;
    char spec[64];
    struct mock_fault mf;
    struct sp_error err = {0};
    snprintf(spec, sizeof(spec), "sandbox %s count=%d", NAMES[f], count);
    if (mock_fault_parse(spec, &mf, &err) == 0)
        mock_faults_add(mock_faults_of(m), &mf);
}
