/* Internals shared by the mock core's HTTP/2 transport files: h2server.c (the nghttp2
 * sessions, connections, start and stop) and h2_worker.c (the worker pool that waits out
 * delayed replies and produces streamed bodies). Only these two files include it. */
#ifndef SP_MOCK_H2_INT_H
#define SP_MOCK_H2_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "mock_int.h"

struct nghttp2_session;

#define STREAM_BUF_MAX ((size_t)1 << 20) /* a streamed body's bytes not yet sent */
#define READ_CHUNK     65536

struct mock_h2 {
    struct sp_mock *m;
    int lfd;
    pthread_t accept_thread;
    pthread_mutex_t lock; /* conns list, stopping */
    pthread_cond_t cond;  /* broadcast on stop: delayed workers answer now */
    bool stopping;
    int live; /* connections not yet freed */
    unsigned idle_timeout_s;
    struct mock_http *http1; /* takes connections without the HTTP/2 preface; may be NULL */
    struct h2_conn *conns;
    /* The worker pool: requests queue here; a worker thread is started only when none is
     * idle (a blocked handler holds its thread), and an idle one ends after POOL_IDLE_S. */
    pthread_mutex_t qlock;
    pthread_cond_t qcond;
    struct h2_stream *qhead, *qtail;
    int idle, threads, queued;
    bool qstop;
};

#define POOL_IDLE_S 30

struct h2_conn {
    struct mock_h2 *srv;
    int fd;
    int wake[2]; /* workers -> I/O thread */
    pthread_t thread;
    struct nghttp2_session *session;
    pthread_mutex_t lock; /* streams' shared fields below and in h2_stream */
    pthread_cond_t cond;  /* a worker finished, or buffer space freed */
    int workers;          /* live worker threads */
    int refs;             /* the I/O thread + workers; the last one frees the connection */
    bool closing;
    bool reset_pending; /* a cut stream waits for its RST_STREAM: poll briefly (I/O thread) */
    struct h2_stream *streams; /* all streams of the session */
    struct h2_conn *next;
};

/* One request stream (the core's struct mock_conn for this transport). Fields under
 * conn->lock unless noted. */
#define H2_CUT_RESET_DELAY_US 50000 /* from a cut stream's last bytes to its RST_STREAM */

struct h2_stream {
    struct h2_conn *c;
    int32_t id;
    struct mock_req r;        /* the worker's, after the request is complete */
    struct sp_kv req_headers; /* I/O thread until complete, then read-only */
    struct sp_kv query;       /* the :path's query arguments, decoded; the same rule */
    char method[16];
    char *path, *host;
    int64_t deadline_us; /* grpc-timeout; 0 = none */
    bool started;        /* the worker runs */
    bool reply_ready;    /* headers may be submitted */
    bool submitted;      /* the I/O thread submitted them */
    bool eof;            /* the worker wrote the whole body */
    bool closed;         /* the stream is gone (reset or done) */
    bool worker_done;
    /* An injected fault resets the stream: before any reply (abort_conn) or once the bytes
     * read so far are sent (a shaped body's read failed). */
    bool reset;
    int64_t reset_due_us; /* when the RST_STREAM of a cut goes out, once its bytes are sent */
    struct sp_buf out;    /* body bytes not yet sent */
    size_t out_off;
    struct h2_stream *next;
    struct h2_stream *qnext; /* the pool's queue */
};

/* Wakes the connection's I/O thread (h2server.c). */
void mock_h2_wake(struct h2_conn *c);
/* Drops a reference to the connection; the last one frees it (h2server.c). */
void mock_h2_conn_release(struct h2_conn *c);
/* Queues a request whose reply is delayed or streamed for a pool worker, starting one when
 * none is idle. Returns false when no worker could take it (h2_worker.c). */
bool mock_h2_pool_submit(struct mock_h2 *srv, struct h2_stream *s);

#endif
