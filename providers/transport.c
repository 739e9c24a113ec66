/* The transport: the only libcurl user, and the event driver that runs step machines.
 *
 * A loop owns one curl multi handle and one timer heap. Each operation in flight has one
 * transfer: the request its step asked for, the response being received, a timer for waits,
 * and an easy handle while a request is on the wire. The driver retries 429 and 502 as the
 * request's policy says, then hands the response to the step and does what it returns.
 * The blocking API (provider.c) runs a single operation through a private loop.
 *
 * The loop drives libcurl through its socket interface (curl_multi_socket_action) on an
 * epoll set: a wake-up costs work for the sockets that are ready, never a poll() over every
 * connection nor a walk over every transfer, so the cost per request stays flat with
 * thousands in flight. Waits are in µs (epoll_pwait2), so a caller can wake at a start time
 * without spinning. */
#define _GNU_SOURCE /* epoll_pwait2 */
#include "provider_int.h"
#include "timerheap.h"

#include <curl/curl.h>

#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define EASY_POOL_MAX     64
#define TRANSFER_POOL_MAX 256
#define HDR_NODES         24 /* request headers sent without a malloc per header */
/* Work per iteration is bounded, so a caller between iterations (the load driver's
 * schedule) gets control back within a fraction of a ms; epoll hands out ready sockets
 * round-robin and due timers stay due, so nothing starves. */
#define EPOLL_BATCH       16
#define TIMERS_PER_TURN   32
#define RETRY_AFTER_CAP_S 60

struct sp__transfer {
    struct sp_op *op;
    struct sp_loop *loop;
    sp_step_fn step;
    CURL *easy;                   /* non-NULL while a request is on the wire */
    struct curl_slist *hdrs;      /* the header list handed to libcurl: nodes or heap */
    struct curl_slist *hdrs_heap; /* curl_slist_append's, when nodes are too few */
    struct curl_slist nodes[HDR_NODES];
    struct sp_buf hdr_text; /* "Key: value\0" lines the nodes point into, kept across uses */
    struct sp_http_req req;
    struct sp_http_rsp rsp;
    struct sp_timer timer;
    int64_t first_send_ms; /* first attempt of the current request, for the 502 window */
    int attempts;
    bool retry_pending; /* the timer ends a retry wait, not a step's wait */
    bool body_overflow;
    bool chunk_failed;
    bool headers_done; /* the header block ended: further fields are trailers */
    bool unsupported;
    char errbuf[CURL_ERROR_SIZE];
    struct sp__transfer *prev, *next; /* loop's in-flight list */
};

struct sp_loop {
    CURLM *multi;
    int epfd;
    int64_t curl_due_us; /* when libcurl wants its timeout action, -1 for never */
    struct sp_timerheap timers;
    struct sp__transfer *head;
    size_t in_flight;
    bool stop;
    CURL *pool[EASY_POOL_MAX];
    size_t pooled;
    /* Finished transfers, their buffers kept: an operation reuses one, no allocation. */
    struct sp__transfer *spare[TRANSFER_POOL_MAX];
    size_t spares;
};

int64_t sp_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t sp_now_ms(void)
{
    return sp_now_us() / 1000;
}

/* curl_global_init is not thread-safe before 7.84 on every backend, and threads of the load
 * driver create their loops at the same time: pthread_once runs it exactly once, and every
 * other caller waits until it has returned. */
static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void global_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void transport_global_init(void)
{
    pthread_once(&global_once, global_init_once);
}

/* libcurl's socket callback: keeps the epoll set in step with what each socket waits for.
 * socketp is non-NULL once the socket is in the set (curl_multi_assign). */
static int on_socket(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
    struct sp_loop *loop = userp;
    (void)e;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(loop->epfd, EPOLL_CTL_DEL, s, NULL);
        curl_multi_assign(loop->multi, s, NULL);
        return 0;
    }
    struct epoll_event ev = {.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0u) |
                                       ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u),
                             .data.fd = s};
    if (socketp != NULL && epoll_ctl(loop->epfd, EPOLL_CTL_MOD, s, &ev) == 0)
        return 0;
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, s, &ev) != 0 &&
        (errno != EEXIST || epoll_ctl(loop->epfd, EPOLL_CTL_MOD, s, &ev) != 0))
        return -1; /* libcurl fails the transfers on this socket */
    curl_multi_assign(loop->multi, s, loop);
    return 0;
}

/* libcurl's timer callback: one timeout for the whole multi handle. */
static int on_curl_timer(CURLM *m, long timeout_ms, void *userp)
{
    struct sp_loop *loop = userp;
    (void)m;
    loop->curl_due_us = timeout_ms < 0 ? -1 : sp_now_us() + (int64_t)timeout_ms * 1000;
    return 0;
}

enum sp_err sp_loop_new(struct sp_loop **out, struct sp_error *err)
{
    transport_global_init();
    struct sp_loop *loop = calloc(1, sizeof(*loop));
    if (loop == NULL)
        return sp_error_set(err, SP_E_INTERNAL, "out of memory creating an event loop");
    loop->multi = curl_multi_init();
    if (loop->multi == NULL) {
        free(loop);
        return sp_error_set(err, SP_E_INTERNAL, "curl_multi_init failed");
    }
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0) {
        curl_multi_cleanup(loop->multi);
        free(loop);
        return sp_error_set(err, SP_E_INTERNAL, "epoll_create1 failed: %s", strerror(errno));
    }
    loop->curl_due_us = -1;
    curl_multi_setopt(loop->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 0L);
    /* No HTTP/2 multiplexing: libcurl 7.88.1 breaks a second stream on an h2c
     * prior-knowledge connection ("Error in the HTTP2 framing layer"), so every gRPC call
     * in flight gets its own connection (see transfer_send on FORBID_REUSE). */
    curl_multi_setopt(loop->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_NOTHING);
    curl_multi_setopt(loop->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(loop->multi, CURLMOPT_SOCKETDATA, loop);
    curl_multi_setopt(loop->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(loop->multi, CURLMOPT_TIMERDATA, loop);
    sp_timerheap_init(&loop->timers);
    *out = loop;
    return SP_E_OK;
}

static void transfer_free(struct sp__transfer *t)
{
    curl_slist_free_all(t->hdrs_heap);
    sp_buf_cleanup(&t->hdr_text);
    sp_http_req_cleanup(&t->req);
    sp_http_rsp_cleanup(&t->rsp);
    free(t);
}

/* Keeps t (and its buffers' allocations) for the next operation, or frees it. */
static void transfer_recycle(struct sp_loop *loop, struct sp__transfer *t)
{
    if (loop->spares == TRANSFER_POOL_MAX) {
        transfer_free(t);
        return;
    }
    curl_slist_free_all(t->hdrs_heap);
    t->hdrs_heap = t->hdrs = NULL;
    sp_buf_reset(&t->hdr_text);
    sp_http_req_reset(&t->req);
    sp_http_rsp_reset(&t->rsp);
    loop->spare[loop->spares++] = t;
}

/* A transfer with empty buffers and every other field zero, or NULL. */
static struct sp__transfer *transfer_get(struct sp_loop *loop)
{
    if (loop->spares == 0) {
        struct sp__transfer *t = calloc(1, sizeof(*t));
        if (t) {
            sp_http_req_init(&t->req);
            sp_http_rsp_init(&t->rsp);
            sp_buf_init(&t->hdr_text, 0);
        }
        return t;
    }
    struct sp__transfer *t = loop->spare[--loop->spares];
    struct sp_http_req req = t->req;
    struct sp_http_rsp rsp = t->rsp;
    struct sp_buf text = t->hdr_text;
    memset(t, 0, sizeof(*t));
    t->hdr_text = text;
    t->req = req;
    t->rsp = rsp;
    return t;
}

static void easy_release(struct sp_loop *loop, CURL *easy)
{
    if (easy == NULL)
        return;
    curl_multi_remove_handle(loop->multi, easy);
    if (loop->pooled < EASY_POOL_MAX) {
        /* No curl_easy_reset: transfer_send sets every option it uses on each request,
         * and a reset would free and rebuild the handle's state every time. */
        loop->pool[loop->pooled++] = easy;
    } else {
        curl_easy_cleanup(easy);
    }
}

void sp_loop_free(struct sp_loop *loop)
{
    if (loop == NULL)
        return;
    /* The heap points into transfers (their wait timers): empty it before they are freed. */
    sp_timerheap_cleanup(&loop->timers);
    while (loop->head) {
        struct sp__transfer *t = loop->head;
        loop->head = t->next;
        easy_release(loop, t->easy);
        if (t->op) {
            t->op->transfer = NULL;
            if (t->op->ctx_free)
                t->op->ctx_free(t->op->ctx);
            t->op->ctx = NULL;
        }
        transfer_free(t);
    }
    for (size_t i = 0; i < loop->pooled; i++)
        curl_easy_cleanup(loop->pool[i]);
    for (size_t i = 0; i < loop->spares; i++)
        transfer_free(loop->spare[i]);
    curl_multi_cleanup(loop->multi);
    close(loop->epfd);
    free(loop);
}

size_t sp_loop_in_flight(const struct sp_loop *loop)
{
    return loop->in_flight;
}

void sp_loop_stop(struct sp_loop *loop)
{
    loop->stop = true;
}

/* --- completion ------------------------------------------------------------------------ */

static void transfer_complete(struct sp__transfer *t, enum sp_err rc)
{
    struct sp_loop *loop = t->loop;
    struct sp_op *op = t->op;
    sp_timerheap_remove(&loop->timers, &t->timer);
    easy_release(loop, t->easy);
    t->easy = NULL;
    if (t->prev)
        t->prev->next = t->next;
    else
        loop->head = t->next;
    if (t->next)
        t->next->prev = t->prev;
    loop->in_flight--;
    if (rc != SP_E_OK && op->err.step[0] == '\0')
        snprintf(op->err.step, sizeof(op->err.step), "%s", sp_step_name(op->step));
    if (op->ctx_free)
        op->ctx_free(op->ctx);
    op->ctx = NULL;
    op->ctx_free = NULL;
    op->transfer = NULL;
    transfer_recycle(loop, t);
    if (op->done)
        op->done(op, rc, op->user);
}

static void transfer_send(struct sp__transfer *t);

/* Calls the step with rsp (or NULL) and carries out what it returns. */
static void transfer_advance(struct sp__transfer *t, const struct sp_http_rsp *rsp)
{
    struct sp_op *op = t->op;
    sp_http_req_reset(&t->req);
    enum sp_next next = t->step(op, rsp, &t->req, &op->err);
    sp_http_rsp_reset(&t->rsp);
    switch (next) {
    case SP_NEXT_REQUEST:
        t->attempts = 0;
        t->first_send_ms = sp_now_ms();
        transfer_send(t);
        return;
    case SP_NEXT_WAIT:
        if (sp_timerheap_push(&t->loop->timers, &t->timer,
                              sp_now_ms() + (op->wait_ms > 0 ? op->wait_ms : 0)) != 0) {
            sp_error_set(&op->err, SP_E_INTERNAL, "out of memory queueing a timer");
            transfer_complete(t, SP_E_INTERNAL);
        }
        return;
    case SP_NEXT_DONE:
        transfer_complete(t, SP_E_OK);
        return;
    case SP_NEXT_FAIL:
        if (op->err.code == SP_E_OK)
            sp_error_set(&op->err, SP_E_INTERNAL, "step failed without an error");
        transfer_complete(t, op->err.code);
        return;
    }
}

void sp_loop_submit(struct sp_loop *loop, struct sp_op *op, sp_op_done_fn done, void *user)
{
    op->done = done;
    op->user = user;
    op->started_ms = sp_now_ms();
    struct sp__transfer *t = transfer_get(loop);
    if (t == NULL) {
        sp_error_set(&op->err, SP_E_INTERNAL, "out of memory starting an operation");
        if (done)
            done(op, SP_E_INTERNAL, user);
        return;
    }
    t->op = op;
    t->loop = loop;
    t->step = sp__provider_step(op->client->provider, op->step);
    t->unsupported = t->step == NULL;
    sp_timer_init(&t->timer);
    op->transfer = t;
    t->next = loop->head;
    if (loop->head)
        loop->head->prev = t;
    loop->head = t;
    loop->in_flight++;
    /* The first step call happens from the loop, so completion is never synchronous. */
    if (sp_timerheap_push(&loop->timers, &t->timer, sp_now_ms()) != 0) {
        sp_error_set(&op->err, SP_E_INTERNAL, "out of memory queueing an operation");
        transfer_complete(t, SP_E_INTERNAL);
    }
}

static void transfer_timer_fired(struct sp__transfer *t)
{
    struct sp_op *op = t->op;
    if (t->unsupported) {
        sp_error_set(&op->err, SP_E_UNSUPPORTED, "provider %s does not implement %s",
                     op->client->provider->name, sp_step_name(op->step));
        transfer_complete(t, SP_E_UNSUPPORTED);
    } else if (t->retry_pending) {
        t->retry_pending = false;
        transfer_send(t); /* resend the same request */
    } else {
        transfer_advance(t, NULL);
    }
}

/* --- libcurl callbacks ------------------------------------------------------------------- */

static size_t on_header(char *data, size_t size, size_t n, void *userdata)
{
    struct sp__transfer *t = userdata;
    size_t len = size * n;
    if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        sp_kv_clear(&t->rsp.headers); /* a new response (after 100 Continue or a redirect) */
        sp_kv_clear(&t->rsp.trailers);
        t->headers_done = false;
        return len;
    }
    if (len <= 2 && (len == 0 || data[0] == '\r' || data[0] == '\n')) {
        t->headers_done = true; /* the blank line: what follows are trailers */
        return len;
    }
    const char *colon = memchr(data, ':', len);
    if (colon == NULL)
        return len;
    size_t klen = (size_t)(colon - data);
    const char *v = colon + 1;
    const char *end = data + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    char key[128];
    char val[2048];
    if (klen == 0 || klen >= sizeof(key) || (size_t)(end - v) >= sizeof(val))
        return len; /* oversized headers are dropped, not fatal */
    memcpy(key, data, klen);
    key[klen] = '\0';
    memcpy(val, v, (size_t)(end - v));
    val[end - v] = '\0';
    if (sp_kv_add(t->headers_done ? &t->rsp.trailers : &t->rsp.headers, key, val) != 0)
        return 0;
    return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *userdata)
{
    struct sp__transfer *t = userdata;
    size_t len = size * n;
    long status = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    if (t->req.on_chunk && status >= 200 && status < 300) {
        if (t->req.on_chunk(t->op, data, len, &t->op->err) != 0) {
            t->chunk_failed = true;
            return 0;
        }
        return len;
    }
    if (sp_buf_append(&t->rsp.body, data, len) != 0) {
        t->body_overflow = true;
        return 0;
    }
    return len;
}

/* --- sending --------------------------------------------------------------------------- */

static CURL *easy_acquire(struct sp_loop *loop)
{
    if (loop->pooled > 0)
        return loop->pool[--loop->pooled];
    return curl_easy_init();
}

/* Appends one "Key: value" line, NUL-terminated, to the header text. */
static int header_line(struct sp_buf *b, const char *key, const char *val)
{
    if (sp_buf_puts(b, key) != 0 ||
        (val && (sp_buf_append(b, ": ", 2) != 0 || sp_buf_puts(b, val) != 0)))
        return -1;
    return sp_buf_append(b, "", 1);
}

/* The header list for libcurl: the request's headers and "Expect:" (no 100-continue round
 * trip for large bodies). The lines go into one reused buffer and the list's nodes live in
 * the transfer, so a request allocates nothing here once the buffer has grown. */
static int transfer_headers(struct sp__transfer *t)
{
    curl_slist_free_all(t->hdrs_heap);
    t->hdrs_heap = t->hdrs = NULL;
    sp_buf_reset(&t->hdr_text);
    size_t n = t->req.headers.n + 1;
    for (size_t i = 0; i < t->req.headers.n; i++) {
        const struct sp_kv_pair *h = &t->req.headers.items[i];
        if (header_line(&t->hdr_text, h->key, h->val) != 0)
            return -1;
    }
    /* The User-Agent as a plain header: CURLOPT_USERAGENT costs libcurl an aprintf each
     * request. A step's own User-Agent wins. */
    if (sp_kv_geti(&t->req.headers, "User-Agent") == NULL) {
        if (header_line(&t->hdr_text, "User-Agent", "sandprobe/0.1") != 0)
            return -1;
        n++;
    }
    if (header_line(&t->hdr_text, "Expect:", NULL) != 0)
        return -1;
    char *p = t->hdr_text.data;
    if (n <= HDR_NODES) {
        for (size_t i = 0; i < n; i++, p += strlen(p) + 1) {
            t->nodes[i].data = p;
            t->nodes[i].next = i + 1 < n ? &t->nodes[i + 1] : NULL;
        }
        t->hdrs = &t->nodes[0];
        return 0;
    }
    for (size_t i = 0; i < n; i++, p += strlen(p) + 1) {
        struct curl_slist *l = curl_slist_append(t->hdrs_heap, p);
        if (l == NULL)
            return -1;
        t->hdrs_heap = l;
    }
    t->hdrs = t->hdrs_heap;
    return 0;
}

static void easy_set_method(CURL *e, const struct sp_http_req *req)
{
    bool has_body = req->body.len > 0 || req->method == SP_HTTP_POST ||
                    req->method == SP_HTTP_PUT || req->method == SP_HTTP_PATCH;
    if (has_body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body.len);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body.data ? req->body.data : "");
    } else {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    }
    /* Set on every request: a pooled handle keeps the previous request's options. */
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST,
                     req->method != SP_HTTP_GET && req->method != SP_HTTP_POST
                         ? sp_http_method_name(req->method)
                         : NULL);
}

/* True when url's host is loopback: 127.0.0.0/8, ::1, localhost or a *.localhost name
 * (which libcurl resolves to loopback itself). */
static bool url_is_loopback(const char *url)
{
    CURLU *u = curl_url();
    char *host = NULL;
    bool ok = false;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
        size_t n = strlen(host);
        ok = strncmp(host, "127.", 4) == 0 || strcmp(host, "[::1]") == 0 ||
             strcasecmp(host, "localhost") == 0 ||
             (n > 10 && strcasecmp(host + n - 10, ".localhost") == 0);
    }
    curl_free(host);
    curl_url_cleanup(u);
    return ok;
}

static void transfer_send(struct sp__transfer *t)
{
    struct sp_loop *loop = t->loop;
    const struct sp_client *c = t->op->client;
    sp_http_rsp_reset(&t->rsp);
    t->rsp.body.max = t->req.max_response ? t->req.max_response : SP_HTTP_MAX_BODY;
    t->body_overflow = t->chunk_failed = t->headers_done = false;
    t->errbuf[0] = '\0';
    t->attempts++;
    if (c->opts.loopback_only && !url_is_loopback(sp_buf_str(&t->req.url))) {
        sp_error_set(&t->op->err, SP_E_CONFIG,
                     "refusing to contact %.200s: only loopback (a mock) is allowed here",
                     sp_buf_str(&t->req.url));
        transfer_complete(t, SP_E_CONFIG);
        return;
    }
    CURL *e = easy_acquire(loop);
    if (e == NULL || transfer_headers(t) != 0) {
        if (e)
            curl_easy_cleanup(e);
        sp_error_set(&t->op->err, SP_E_INTERNAL, "out of memory preparing a request");
        transfer_complete(t, SP_E_INTERNAL);
        return;
    }
    t->easy = e;
    long timeout = t->req.timeout_ms ? t->req.timeout_ms : sp__client_http_timeout(c);
    curl_easy_setopt(e, CURLOPT_URL, sp_buf_str(&t->req.url));
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->hdrs);
    easy_set_method(e, &t->req);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L); /* timeouts must not raise SIGALRM in threads */
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->opts.connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    /* Pooled handles are not reset: the CA, the HTTP version and reuse are set on every
     * request, as the method is, so one client's choices never leak into the next request.
     * The CA is the client's SSL_CERT_FILE, else libcurl's built-in one. gRPC: h2c with
     * prior knowledge on http://, h2 by ALPN on https://. libcurl 7.88.1 (Debian 12) never
     * sends a request on an idle h2c prior-knowledge connection it re-uses and fails it with
     * "Error in the HTTP2 framing layer" (the curl tool does the same against nghttpd), so
     * such a connection serves one call. */
    char *ca = c->ca_file;
    if (ca == NULL)
        curl_easy_getinfo(e, CURLINFO_CAINFO, &ca);
    curl_easy_setopt(e, CURLOPT_CAINFO, ca);
    bool h2c = t->req.http2 && strncmp(sp_buf_str(&t->req.url), "http://", 7) == 0;
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
                     t->req.http2 ? (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE
                                  : (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, h2c ? 1L : 0L);
    if (curl_multi_add_handle(loop->multi, e) != CURLM_OK) {
        t->easy = NULL;
        curl_easy_cleanup(e);
        sp_error_set(&t->op->err, SP_E_INTERNAL, "curl_multi_add_handle failed");
        transfer_complete(t, SP_E_INTERNAL);
    }
}

static enum sp_err curl_code_class(CURLcode code)
{
    switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
        return SP_E_TIMEOUT;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
        return SP_E_CONNECT;
    default:
        return SP_E_PROTOCOL;
    }
}

static void fill_transport_error(struct sp__transfer *t, CURLcode code)
{
    struct sp_http_rsp *rsp = &t->rsp;
    const char *url = sp_buf_str(&t->req.url);
    if (t->body_overflow) {
        rsp->transport = SP_E_PROTOCOL;
        snprintf(rsp->transport_msg, sizeof(rsp->transport_msg), "response body exceeds %zu bytes",
                 rsp->body.max);
        return;
    }
    rsp->transport = curl_code_class(code);
    /* An HTTP/2 stream or connection reset before any response header is a reset
     * connection (gRPC's UNAVAILABLE), not a malformed reply: the server never answered. */
    if ((code == CURLE_HTTP2_STREAM || code == CURLE_HTTP2) && rsp->status == 0)
        rsp->transport = SP_E_CONNECT;
    const char *why = t->errbuf[0] ? t->errbuf : curl_easy_strerror(code);
    /* The URL carries no secrets (keys go in headers); the query string may be long. */
    snprintf(rsp->transport_msg, sizeof(rsp->transport_msg), "%s %.80s: %.100s",
             sp_http_method_name(t->req.method), url, why);
}

/* The SDK rule of sp_retry_policy: the wait before the next attempt, or -1. conn_failed:
 * there was no response (the connection was refused or broke). */
static long sdk_retry_wait_ms(const struct sp__transfer *t, bool conn_failed)
{
    const struct sp_retry_policy *p = &t->req.retry;
    int status = t->rsp.status;
    if (p->max_attempts_sdk <= 1 || t->attempts >= p->max_attempts_sdk)
        return -1;
    const char *should = conn_failed ? NULL : sp_http_rsp_header(&t->rsp, "x-should-retry");
    bool retry =
        should ? strcmp(should, "true") == 0
               : conn_failed || status == 408 || status == 409 || status == 429 || status >= 500;
    if (!retry)
        return -1;
    const char *ms = conn_failed ? NULL : sp_http_rsp_header(&t->rsp, "retry-after-ms");
    long wait = ms ? strtol(ms, NULL, 10) : t->rsp.retry_after_s * 1000L;
    if (wait <= 0) {
        wait = p->sdk_initial_ms > 0 ? p->sdk_initial_ms : 1000;
        for (int i = 1; i < t->attempts && wait < RETRY_AFTER_CAP_S * 1000L; i++)
            wait *= 2;
    }
    return wait < RETRY_AFTER_CAP_S * 1000L ? wait : RETRY_AFTER_CAP_S * 1000L;
}

/* Decides whether the driver retries this response itself; returns the wait or -1. */
static long retry_wait_ms(const struct sp__transfer *t)
{
    const struct sp_retry_policy *p = &t->req.retry;
    int status = t->rsp.status;
    if (p->max_attempts_sdk > 1)
        return sdk_retry_wait_ms(t, false);
    if (status == 429 && t->attempts < p->max_attempts_429) {
        long ra = t->rsp.retry_after_s;
        if (ra > RETRY_AFTER_CAP_S)
            ra = RETRY_AFTER_CAP_S;
        return ra > 0 ? ra * 1000 : p->wait_429_ms;
    }
    if (status == 502 && p->retry_502_for_ms > 0 &&
        sp_now_ms() - t->first_send_ms + p->wait_502_ms <= p->retry_502_for_ms)
        return p->wait_502_ms;
    return -1;
}

/* The server closed the connection without a whole response (not a refused connection). */
static bool dropped(CURLcode code)
{
    return code == CURLE_GOT_NOTHING || code == CURLE_RECV_ERROR || code == CURLE_PARTIAL_FILE ||
           code == CURLE_WEIRD_SERVER_REPLY;
}

static long dropped_wait_ms(const struct sp__transfer *t, CURLcode code)
{
    const struct sp_retry_policy *p = &t->req.retry;
    if (!dropped(code) || t->attempts >= p->max_attempts_dropped || t->req.on_chunk != NULL)
        return -1;
    return t->attempts >= 4 ? p->wait_dropped_ms * 2 : p->wait_dropped_ms;
}

/* A retry's wait (-1 = no retry), or the client's retry_wait_ms in its place. */
static long retry_wait_override(const struct sp__transfer *t, long wait)
{
    long fixed = t->op && t->op->client ? t->op->client->opts.retry_wait_ms : 0;
    return wait >= 0 && fixed > 0 ? fixed : wait;
}

static void transfer_finished(struct sp__transfer *t, CURLcode code)
{
    long status = 0;
    curl_off_t retry_after = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(t->easy, CURLINFO_RETRY_AFTER, &retry_after);
    easy_release(t->loop, t->easy);
    t->easy = NULL;
    t->rsp.attempts = t->attempts;
    if (t->chunk_failed) { /* the step's chunk consumer rejected the stream */
        enum sp_err rc = t->op->err.code != SP_E_OK ? t->op->err.code : SP_E_PROTOCOL;
        transfer_complete(t, rc);
        return;
    }
    t->rsp.status = (int)status;
    t->rsp.retry_after_s = retry_after > 0 ? (int)retry_after : 0;
    long wait =
        retry_wait_override(t, code == CURLE_OK ? retry_wait_ms(t) : dropped_wait_ms(t, code));
    if (code != CURLE_OK && wait < 0) {
        fill_transport_error(t, code);
        long again = t->rsp.transport == SP_E_CONNECT
                         ? retry_wait_override(t, sdk_retry_wait_ms(t, true))
                         : -1;
        if (again >= 0 &&
            sp_timerheap_push(&t->loop->timers, &t->timer, sp_now_ms() + again) == 0) {
            t->retry_pending = true;
            return;
        }
        transfer_advance(t, &t->rsp);
        return;
    }
    if (wait >= 0 && sp_timerheap_push(&t->loop->timers, &t->timer, sp_now_ms() + wait) == 0) {
        t->retry_pending = true;
        t->op->retries++;
        return;
    }
    transfer_advance(t, &t->rsp);
}

/* --- the loop -------------------------------------------------------------------------- */

static void drain_messages(struct sp_loop *loop)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(loop->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        struct sp__transfer *t = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
        CURLcode code = msg->data.result;
        if (t)
            transfer_finished(t, code);
    }
}

static void fire_timers(struct sp_loop *loop)
{
    int64_t now = sp_now_ms();
    struct sp_timer *tm;
    for (int fired = 0; fired < TIMERS_PER_TURN && !loop->stop &&
                        (tm = sp_timerheap_pop_due(&loop->timers, now)) != NULL;
         fired++) {
        struct sp__transfer *t =
            (struct sp__transfer *)((char *)tm - offsetof(struct sp__transfer, timer));
        transfer_timer_fired(t);
    }
}

/* Runs libcurl's timeout action if it is due. */
static void curl_timeout_due(struct sp_loop *loop)
{
    int running = 0;
    if (loop->curl_due_us >= 0 && loop->curl_due_us <= sp_now_us()) {
        loop->curl_due_us = -1;
        curl_multi_socket_action(loop->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    }
}

/* The wait until the next thing due (a timer, libcurl's timeout), at most max_us. */
static int64_t wait_us(const struct sp_loop *loop, int64_t max_us)
{
    int64_t now = sp_now_us(), wait = max_us;
    const struct sp_timer *next = sp_timerheap_peek(&loop->timers);
    if (next && next->due_ms * 1000 - now < wait)
        wait = next->due_ms * 1000 - now;
    if (loop->curl_due_us >= 0 && loop->curl_due_us - now < wait)
        wait = loop->curl_due_us - now;
    return wait < 0 ? 0 : wait;
}

/* Waits up to us for socket events and hands each ready socket to libcurl. */
static void wait_sockets(struct sp_loop *loop, int64_t us)
{
    struct epoll_event evs[EPOLL_BATCH];
    struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};
    int n = epoll_pwait2(loop->epfd, evs, EPOLL_BATCH, &ts, NULL);
    if (n < 0 && errno == ENOSYS) /* a kernel before 5.11: whole ms, rounded up */
        n = epoll_wait(loop->epfd, evs, EPOLL_BATCH, (int)((us + 999) / 1000));
    for (int i = 0; i < n; i++) {
        int mask = ((evs[i].events & EPOLLIN) ? CURL_CSELECT_IN : 0) |
                   ((evs[i].events & EPOLLOUT) ? CURL_CSELECT_OUT : 0) |
                   ((evs[i].events & (EPOLLERR | EPOLLHUP)) ? CURL_CSELECT_ERR : 0);
        int running = 0;
        curl_multi_socket_action(loop->multi, evs[i].data.fd, mask, &running);
    }
}

size_t sp_loop_run_once_us(struct sp_loop *loop, int64_t max_wait_us)
{
    fire_timers(loop);
    curl_timeout_due(loop);
    drain_messages(loop);
    if (loop->in_flight == 0 || loop->stop)
        return loop->in_flight;
    wait_sockets(loop, wait_us(loop, max_wait_us));
    curl_timeout_due(loop);
    drain_messages(loop);
    return loop->in_flight;
}

size_t sp_loop_run_once(struct sp_loop *loop, long max_wait_ms)
{
    return sp_loop_run_once_us(loop, (int64_t)max_wait_ms * 1000);
}

size_t sp_loop_run(struct sp_loop *loop)
{
    loop->stop = false;
    while (loop->in_flight > 0 && !loop->stop)
        sp_loop_run_once(loop, 1000);
    loop->stop = false;
    return loop->in_flight;
}
