/* The Connect RPC protocol (connectrpc.com) with the JSON codec, as E2B's envd speaks it
 * (spec/e2b-modal.md A3): the server-stream envelope parser, fed whatever chunks the network
 * delivers; the envelope writer (tests and mocks); and the unary helpers (a bare JSON POST
 * whose errors are {code, message} bodies). Vendor-neutral: no E2B names in here.
 *
 * An envelope is 1 flag byte + 4-byte big-endian length + payload. Flag 0x01 = compressed
 * (never negotiated here, so an error), 0x02 = EndStreamResponse, whose JSON payload is {} or
 * {"error":{"code","message"}}. Every stream must end with exactly one of those.
 *
 * gRPC (grpc.c) uses the same envelope with the length-prefixed message of its own framing:
 * the stream parser in gRPC mode allows flag 0 only (the status travels in HTTP trailers, not
 * in an end envelope) and hands each payload to the raw callback (protobuf, no JSON). */
#ifndef SP_CONNECT_H
#define SP_CONNECT_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "errors.h"
#include "http.h"

struct cJSON;

#define SP_CONNECT_FLAG_COMPRESSED 0x01u
#define SP_CONNECT_FLAG_END        0x02u
#define SP_CONNECT_PREFIX          5
/* Default bound on one envelope's payload; envd's data events are 32 KiB or less. */
#define SP_CONNECT_FRAME_MAX ((size_t)4 << 20)

/* Connect error codes; the values are the gRPC status numbers, so they go straight into
 * sp_error.grpc_status. */
enum sp_connect_code {
    SP_CONNECT_OK = 0,
    SP_CONNECT_CANCELED = 1,
    SP_CONNECT_UNKNOWN = 2,
    SP_CONNECT_INVALID_ARGUMENT = 3,
    SP_CONNECT_DEADLINE_EXCEEDED = 4,
    SP_CONNECT_NOT_FOUND = 5,
    SP_CONNECT_ALREADY_EXISTS = 6,
    SP_CONNECT_PERMISSION_DENIED = 7,
    SP_CONNECT_RESOURCE_EXHAUSTED = 8,
    SP_CONNECT_FAILED_PRECONDITION = 9,
    SP_CONNECT_ABORTED = 10,
    SP_CONNECT_OUT_OF_RANGE = 11,
    SP_CONNECT_UNIMPLEMENTED = 12,
    SP_CONNECT_INTERNAL = 13,
    SP_CONNECT_UNAVAILABLE = 14,
    SP_CONNECT_DATA_LOSS = 15,
    SP_CONNECT_UNAUTHENTICATED = 16
};

/* "not_found" -> SP_CONNECT_NOT_FOUND; SP_CONNECT_UNKNOWN for a name we do not know. */
enum sp_connect_code sp_connect_code_parse(const char *name);
const char *sp_connect_code_name(enum sp_connect_code code);
/* The sandprobe error class of a Connect code (unavailable -> provider, deadline_exceeded ->
 * timeout, unauthenticated -> auth, resource_exhausted -> rate_limited, ...). */
enum sp_err sp_connect_code_class(enum sp_connect_code code);
/* The code a Connect client infers from a plain (non-Connect) HTTP error status. */
enum sp_connect_code sp_connect_code_from_http(int status);

/* Called once per data envelope with its parsed JSON object (owned by the parser, valid for
 * the call only). Returns 0, or -1 after setting err to stop the stream. */
typedef int (*sp_connect_msg_cb)(void *user, const struct cJSON *msg, struct sp_error *err);

/* Optional, tried on each data envelope before its JSON is parsed (with feed's user): returns
 * 1 when it took the message itself (a shape it recognises exactly, handled as cb would),
 * 0 to have it parsed and given to cb as usual, or -1 after setting err. A large stream's
 * common message can so skip building a JSON tree; anything unusual still goes through cb. */
typedef int (*sp_connect_raw_cb)(void *user, const char *payload, size_t len, struct sp_error *err);

/* An incremental server-stream parser. Caller-owned: init, feed..., finish, cleanup. */
struct sp_connect_stream {
    sp_connect_raw_cb raw;                 /* NULL (init) or set by the caller after init */
    unsigned char head[SP_CONNECT_PREFIX]; /* prefix of the envelope being read */
    size_t head_len;
    size_t need;           /* payload bytes of the current envelope */
    struct sp_buf payload; /* payload bytes so far, when it spans chunks */
    size_t max_frame;
    bool grpc;                     /* gRPC framing: flag 0 only, no end envelope, raw payloads */
    bool failed;                   /* a feed failed; later feeds fail at once */
    bool ended;                    /* the EndStreamResponse arrived */
    unsigned long frames;          /* data envelopes delivered */
    enum sp_connect_code end_code; /* error code of the EndStreamResponse, OK if none */
    char end_message[200];
};

/* max_frame: largest accepted payload (0 = SP_CONNECT_FRAME_MAX). */
void sp_connect_stream_init(struct sp_connect_stream *s, size_t max_frame);
/* The same parser for gRPC's length-prefixed messages: each payload goes to raw (required). */
void sp_connect_stream_init_grpc(struct sp_connect_stream *s,
                                 size_t max_frame,
                                 sp_connect_raw_cb raw);
void sp_connect_stream_cleanup(struct sp_connect_stream *s);

/* Consumes len bytes, any boundary. Complete data envelopes go to cb; the end envelope is
 * recorded. A bad prefix (unknown or compression flag, oversize length), invalid JSON,
 * anything after the end, or cb failing sets err (protocol, or cb's) and returns -1. */
int sp_connect_stream_feed(struct sp_connect_stream *s,
                           const void *data,
                           size_t len,
                           sp_connect_msg_cb cb,
                           void *user,
                           struct sp_error *err);

/* Checks the stream once the body is complete. Returns SP_E_OK for a clean end ({}), the
 * protocol error for a truncated envelope or a missing end, or the class of the end
 * envelope's error (its code in err->grpc_status and in s->end_code, its message in err). */
enum sp_err sp_connect_stream_finish(struct sp_connect_stream *s, struct sp_error *err);

/* The framing half of finish, for both modes: SP_E_OK when no envelope is cut short and no
 * feed failed, else the protocol error. */
enum sp_err sp_connect_stream_complete(const struct sp_connect_stream *s, struct sp_error *err);

/* Appends one envelope (prefix + payload) to buf. Returns 0, or -1 on overflow. */
int sp_connect_frame(struct sp_buf *buf, unsigned flags, const void *json, size_t len);

/* --- unary calls -------------------------------------------------------------------------- */

/* Fills req: POST <base>/<procedure> (e.g. "filesystem.Filesystem/Stat") with the bare JSON
 * body, Content-Type: application/json, Connect-Protocol-Version: 1, and
 * Connect-Timeout-Ms when timeout_ms > 0. Returns 0, or -1 when out of memory. */
int sp_connect_unary_request(struct sp_http_req *req,
                             const char *base,
                             const char *procedure,
                             const char *json,
                             long timeout_ms);

/* Fills req for a server-streaming call: the body is one enveloped message and the
 * Content-Type is application/connect+json. Returns 0 or -1. */
int sp_connect_stream_request(struct sp_http_req *req,
                              const char *base,
                              const char *procedure,
                              const char *json,
                              long timeout_ms);

/* Fills err for a failed Connect call: a transport failure keeps its class; a Connect error
 * body {"code":"<name>","message"} gives the class of the code, the code as grpc_status and
 * the message; a plain HTTP error ({"code":<int>,"message"} as envd's auth check and REST
 * endpoints write it, or any other body) keeps the status's class, with the message or a body
 * excerpt, and grpc_status untouched. Returns the class. */
enum sp_err sp_connect_fail(const struct sp_http_rsp *rsp, struct sp_error *err);

#endif
