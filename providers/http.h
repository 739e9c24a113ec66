/* HTTP request and response as the sans-IO step machines see them: plain data, no sockets.
 * A step fills a struct sp_http_req; the driver (transport.c) performs it and hands back a
 * struct sp_http_rsp. Unit tests build responses by hand and feed them to steps directly. */
#ifndef SP_HTTP_H
#define SP_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "errors.h"
#include "kv.h"

struct sp_op;

enum sp_method { SP_HTTP_GET, SP_HTTP_POST, SP_HTTP_PUT, SP_HTTP_DELETE, SP_HTTP_PATCH };
const char *sp_http_method_name(enum sp_method m);

/* Receives a 2xx response body in pieces as it arrives (streaming RPCs). Returns 0 to go on,
 * or -1 after setting err to abort the transfer. */
typedef int (*sp_chunk_fn)(struct sp_op *op, const char *data, size_t len, struct sp_error *err);

/* Retries done by the driver itself, before the step sees the response. */
struct sp_retry_policy {
    int max_attempts_429;  /* total attempts on HTTP 429; 0 or 1 = no retry */
    long wait_429_ms;      /* wait between them, unless Retry-After says otherwise */
    long retry_502_for_ms; /* keep retrying HTTP 502 this long after the first attempt; 0 = off */
    long wait_502_ms;
    /* A connection the server dropped without a (whole) response: httpx's RemoteProtocolError,
     * which OpenHands retries (action_execution_client.py:105-129). Total attempts (0 or 1 =
     * no retry); waits wait_dropped_ms, doubled from the 4th on, as its
     * wait_exponential(min=4) gives 4, 4, 4, 8 s. */
    int max_attempts_dropped;
    long wait_dropped_ms;
    /* The Stainless-generated vendor SDKs' rule (Runloop's): a refused or broken connection,
     * 408, 409, 429 and 5xx are retried, up to max_attempts_sdk attempts in all, after
     * retry-after-ms / Retry-After (at most 60 s) or else sdk_initial_ms * 2^n (at most
     * 60 s); a response header `x-should-retry: true|false` overrides the status rule.
     * Timeouts are not retried. 0 or 1 = off. */
    int max_attempts_sdk;
    long sdk_initial_ms;
};

#define SP_HTTP_MAX_BODY ((size_t)64 << 20) /* default response limit */

struct sp_http_req {
    enum sp_method method;
    struct sp_buf url;
    struct sp_kv headers;
    struct sp_buf body;
    long timeout_ms;      /* whole transfer; 0 = the client's http_timeout_ms */
    size_t max_response;  /* response body limit; 0 = SP_HTTP_MAX_BODY */
    sp_chunk_fn on_chunk; /* non-NULL: 2xx bodies go here as they arrive, not into rsp->body */
    struct sp_retry_policy retry;
    char boundary[40]; /* multipart boundary, set by sp_http_req_multipart_begin */
    bool http2;        /* HTTP/2 only: prior knowledge on http://, ALPN h2 on https:// (gRPC) */
};

struct sp_http_rsp {
    int status;            /* 0 when there was no HTTP response */
    enum sp_err transport; /* OK, or CONNECT / TIMEOUT / PROTOCOL when the transfer failed */
    char transport_msg[192];
    struct sp_kv headers;  /* names as received */
    struct sp_kv trailers; /* header fields after the body (gRPC's grpc-status), kept apart */
    struct sp_buf body;
    int retry_after_s;
    int attempts; /* how many times the driver sent the request */
};

void sp_http_req_init(struct sp_http_req *r);
void sp_http_req_cleanup(struct sp_http_req *r);
/* Empties the request for reuse (keeps allocations). */
void sp_http_req_reset(struct sp_http_req *r);
/* Sets the method and a printf-formatted URL. Returns 0, or -1 when out of memory. */
int sp_http_req_url(struct sp_http_req *r, enum sp_method m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Adds a header; the value is printf-formatted. Returns 0 or -1. */
int sp_http_req_header(struct sp_http_req *r, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Copies headers from kv (e.g. a sandbox's data-plane headers). Returns 0 or -1. */
int sp_http_req_headers(struct sp_http_req *r, const struct sp_kv *kv);
/* Sets the body and its Content-Type. Returns 0 or -1. */
int sp_http_req_body(struct sp_http_req *r, const char *content_type, const void *data, size_t len);
/* Sets a JSON body (Content-Type: application/json). Returns 0 or -1. */
int sp_http_req_json(struct sp_http_req *r, const char *json);

/* multipart/form-data: begin (sets Content-Type with a fresh boundary), add parts, end. */
int sp_http_req_multipart_begin(struct sp_http_req *r);
int sp_http_req_multipart_field(struct sp_http_req *r, const char *name, const char *value);
int sp_http_req_multipart_file(
    struct sp_http_req *r, const char *name, const char *filename, const void *data, size_t len);
int sp_http_req_multipart_end(struct sp_http_req *r);

void sp_http_rsp_init(struct sp_http_rsp *r);
void sp_http_rsp_cleanup(struct sp_http_rsp *r);
void sp_http_rsp_reset(struct sp_http_rsp *r);

/* True for a 2xx response. */
bool sp_http_ok(const struct sp_http_rsp *rsp);
/* Header value (case-insensitive name), or NULL. */
const char *sp_http_rsp_header(const struct sp_http_rsp *rsp, const char *name);
/* Trailer value (case-insensitive name), or NULL. */
const char *sp_http_rsp_trailer(const struct sp_http_rsp *rsp, const char *name);

/* The error class for an HTTP status: 401/403 auth, 404 not_found, 409 conflict,
 * 429 rate_limited, 408 timeout, 5xx provider, other 4xx protocol. */
enum sp_err sp_http_status_class(int status);

/* Fills err for a response that is not what the step wanted: a transport failure keeps its
 * class; otherwise the class comes from the status, with http_status, retry_after and the
 * request id set. `message` is the provider's own message (NULL = a short body excerpt).
 * Returns the class. */
enum sp_err sp_http_fail(const struct sp_http_rsp *rsp, const char *message, struct sp_error *err);

#endif
