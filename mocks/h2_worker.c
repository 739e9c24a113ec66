/* The worker pool of the mock core's HTTP/2 transport (see h2server.c): a request whose reply
 * is delayed, continued or streamed gets a pool thread, which waits out the delay or runs the
 * continuation (a timed wait that sp_mock_stop cuts short; a grpc-timeout that passes first is
 * answered DEADLINE_EXCEEDED) and then produces the body into the stream's buffer, calling a
 * streamed body's read function, which may block (shell backend) without stalling the
 * connection's other streams. No nghttp2 here: the I/O thread sends what the worker left. */
#include "h2_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "provider.h" /* sp_now_us */

/* --- the worker: handler, delay, body ------------------------------------------------------ */

/* Waits until due (monotonic µs) or the mock stops; returns false when it stopped. */
static bool wait_until(struct mock_h2 *srv, int64_t due)
{
    pthread_mutex_lock(&srv->lock);
    while (!srv->stopping && sp_now_us() < due) {
        int64_t left = due - sp_now_us();
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ns = (int64_t)ts.tv_nsec + (left % 1000000) * 1000;
        ts.tv_sec += (time_t)(left / 1000000 + ns / 1000000000);
        ts.tv_nsec = (long)(ns % 1000000000);
        pthread_cond_timedwait(&srv->cond, &srv->lock, &ts);
    }
    bool ok = !srv->stopping;
    pthread_mutex_unlock(&srv->lock);
    return ok;
}

/* Replaces whatever the handler queued by a gRPC DEADLINE_EXCEEDED (Trailers-Only). */
static void reply_deadline(struct mock_req *r)
{
    mock_core_cancel(r);
    mock_reply_out_free(&r->out);
    sp_kv_clear(&r->reply_headers);
    sp_kv_clear(&r->reply_trailers);
    r->replied = false;
    r->reply_at_us = 0;
    mock_reply_header(r, "grpc-status", "4");
    mock_reply_header(r, "grpc-message", "Deadline exceeded");
    mock_reply(r, 200, "application/grpc", "", 0);
}

/* Runs continuations and waits out delays; the reply is then ready to go. */
static void settle(struct h2_stream *s)
{
    struct mock_req *r = &s->r;
    bool no_wait = false;
    for (;;) {
        int64_t due =
            r->cont ? (r->cont_at_us > 0 ? r->cont_at_us : 1) : (r->replied ? r->reply_at_us : 0);
        if (due == 0)
            return;
        if (s->deadline_us > 0 && due > s->deadline_us) {
            if (!no_wait && !wait_until(s->c->srv, s->deadline_us))
                no_wait = true;
            reply_deadline(r);
            return;
        }
        if (!no_wait && due > sp_now_us() && !wait_until(s->c->srv, due))
            no_wait = true; /* the mock is stopping: answer now */
        if (r->cont == NULL) {
            r->reply_at_us = 0;
            return;
        }
        mock_core_continue(r);
    }
}

/* Appends body bytes, waiting while the buffer is full. Returns false once the stream is
 * gone (the client reset it or left). */
static bool put_body(struct h2_stream *s, const char *data, size_t len)
{
    struct h2_conn *c = s->c;
    pthread_mutex_lock(&c->lock);
    while (!s->closed && !c->closing && s->out.len - s->out_off >= STREAM_BUF_MAX)
        pthread_cond_wait(&c->cond, &c->lock);
    bool ok = !s->closed && !c->closing;
    if (ok) {
        if (s->out_off > 0 && s->out_off == s->out.len) {
            sp_buf_reset(&s->out);
            s->out_off = 0;
        }
        ok = sp_buf_append(&s->out, data, len) == 0;
    }
    pthread_mutex_unlock(&c->lock);
    mock_h2_wake(c);
    return ok;
}

static void produce_body(struct h2_stream *s)
{
    struct mock_reply_out *o = &s->r.out;
    if (o->read == NULL) {
        if (o->len > 0)
            put_body(s, o->body, o->len);
        return;
    }
    char *buf = malloc(READ_CHUNK);
    for (ssize_t n = 1; buf != NULL && n > 0;) {
        n = o->read(o->ctx, buf, READ_CHUNK);
        if (n > 0 && !put_body(s, buf, (size_t)n))
            break;
        if (n < 0) { /* an injected cut: the stream is reset, not ended cleanly */
            pthread_mutex_lock(&s->c->lock);
            s->reset = true;
            pthread_mutex_unlock(&s->c->lock);
        }
    }
    free(buf);
}

static void serve_stream(struct h2_stream *s)
{
    struct h2_conn *c = s->c;
    struct mock_req *r = &s->r;
    settle(s);              /* the handler ran in the I/O thread (request_complete) */
    mock_faults_on_send(r); /* as mhd_transport.c, before the reply goes out */
    pthread_mutex_lock(&c->lock);
    s->reply_ready = true;
    pthread_mutex_unlock(&c->lock);
    mock_h2_wake(c);
    produce_body(s);
    mock_core_finish(r);
    pthread_mutex_lock(&c->lock);
    s->eof = true;
    s->worker_done = true;
    c->workers--;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
    mock_h2_wake(c);
    mock_h2_conn_release(c);
}

static void *pool_main(void *arg)
{
    struct mock_h2 *srv = arg;
    pthread_mutex_lock(&srv->qlock);
    for (;;) {
        while (srv->qhead == NULL && !srv->qstop) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += POOL_IDLE_S;
            srv->idle++;
            int rc = pthread_cond_timedwait(&srv->qcond, &srv->qlock, &ts);
            srv->idle--;
            if (rc != 0 && srv->qhead == NULL)
                break; /* idle long enough */
        }
        struct h2_stream *s = srv->qhead;
        if (s == NULL)
            break;
        srv->qhead = s->qnext;
        if (srv->qhead == NULL)
            srv->qtail = NULL;
        srv->queued--;
        pthread_mutex_unlock(&srv->qlock);
        serve_stream(s);
        pthread_mutex_lock(&srv->qlock);
    }
    srv->threads--;
    pthread_cond_broadcast(&srv->qcond);
    pthread_mutex_unlock(&srv->qlock);
    return NULL;
}

/* Queues s for the pool, starting a worker when none is idle. Returns false when s could
 * not be queued (no worker at all could be started). */
bool mock_h2_pool_submit(struct mock_h2 *srv, struct h2_stream *s)
{
    pthread_mutex_lock(&srv->qlock);
    s->qnext = NULL;
    if (srv->qtail)
        srv->qtail->qnext = s;
    else
        srv->qhead = s;
    srv->qtail = s;
    srv->queued++;
    /* Every queued request gets a thread of its own: a blocked handler (a streamed reply
     * waiting for output) must never hold up another request. */
    bool spawn = srv->idle < srv->queued;
    if (spawn)
        srv->threads++;
    else
        pthread_cond_signal(&srv->qcond);
    pthread_mutex_unlock(&srv->qlock);
    if (!spawn)
        return true;
    pthread_attr_t a;
    pthread_t t;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&t, &a, pool_main, srv);
    pthread_attr_destroy(&a);
    if (rc == 0)
        return true;
    pthread_mutex_lock(&srv->qlock);
    srv->threads--;
    bool queued = srv->threads > 0; /* a busy worker takes it later */
    if (!queued) {                  /* take it back out: it is the last one queued */
        struct h2_stream **p = &srv->qhead;
        while (*p && *p != s)
            p = &(*p)->qnext;
        if (*p) {
            *p = s->qnext;
            srv->queued--;
        }
        srv->qtail = NULL;
        for (struct h2_stream *q = srv->qhead; q; q = q->qnext)
            srv->qtail = q;
    }
    pthread_mutex_unlock(&srv->qlock);
    return queued;
}
