/* gRPC over HTTP/2 with protobuf-c messages, as Modal speaks it (spec/runloop-modal.md M1):
 * POST /<package>.<Service>/<Method>, Content-Type application/grpc, `te: trailers`, the body
 * one or more length-prefixed messages (the Connect envelope of connect.c in gRPC mode), and
 * the call's status in the trailers `grpc-status` / `grpc-message` -- or in the headers alone
 * for a Trailers-Only reply (an error without a body).
 *
 * Sans-IO like connect.c: requests are filled into struct sp_http_req (http2 set, so the driver
 * uses prior knowledge on http://), replies are read from struct sp_http_rsp, whose trailers the
 * driver keeps apart from its headers. Anything malformed -- no status, an unknown status, a
 * broken frame, a message protobuf-c cannot decode -- is a `protocol` error, never a crash. */
#ifndef SP_GRPC_H
#define SP_GRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h> /* ssize_t */

#include <protobuf-c/protobuf-c.h>

#include "buf.h"
#include "connect.h"
#include "errors.h"
#include "http.h"

/* Largest accepted message; Modal's replies are small, stdio chunks stay under 1 MiB. */
#define SP_GRPC_MSG_MAX  ((size_t)16 << 20)
#define SP_GRPC_CODE_MAX 16 /* UNAUTHENTICATED: status numbers above are not gRPC's */

/* "UNAUTHENTICATED" for 16, "UNKNOWN" outside 0..16. */
const char *sp_grpc_code_name(int code);
/* The sandprobe class of a status (the table shared with Connect: UNAUTHENTICATED and
 * PERMISSION_DENIED auth, NOT_FOUND not_found, DEADLINE_EXCEEDED timeout, RESOURCE_EXHAUSTED
 * rate_limited, UNAVAILABLE/INTERNAL/UNKNOWN provider, UNIMPLEMENTED unsupported, ...). */
enum sp_err sp_grpc_code_class(int code);

/* Appends one message (flag 0 + length + packed protobuf) to buf. Returns 0 or -1. */
int sp_grpc_frame(struct sp_buf *buf, const ProtobufCMessage *msg);
/* The same into buf[max] (a streamed reply's chunk): the framed length, or -1 when it does
 * not fit. */
ssize_t sp_grpc_frame_into(const ProtobufCMessage *msg, char *buf, size_t max);

/* Fills req: POST <base><path> (path "/modal.client.ModalClient/AppGetOrCreate") over HTTP/2
 * with msg as the one request message, and `grpc-timeout: <ms>m` when timeout_ms > 0.
 * Returns 0, or -1 when out of memory. */
int sp_grpc_request(struct sp_http_req *req,
                    const char *base,
                    const char *path,
                    const ProtobufCMessage *msg,
                    long timeout_ms);

/* The status of a finished call: SP_E_OK for grpc-status 0; the class of a non-zero status
 * (err->grpc_status = the code, the message percent-decoded); the transport's or the HTTP
 * status's class when there was no gRPC reply; protocol for a reply that is not gRPC, has no
 * status, an unknown status, or a Trailers-Only status next to a body. */
enum sp_err sp_grpc_status(const struct sp_http_rsp *rsp, struct sp_error *err);

/* A unary reply: the status, then exactly one message unpacked as desc into *out (free it
 * with protobuf_c_message_free_unpacked(*out, NULL)). *out is NULL on any error. */
enum sp_err sp_grpc_unary_parse(const struct sp_http_rsp *rsp,
                                const ProtobufCMessageDescriptor *desc,
                                ProtobufCMessage **out,
                                struct sp_error *err);

/* Called once per streamed message, unpacked (freed after the call). Returns 0, or -1 after
 * setting err to stop the stream. */
typedef int (*sp_grpc_msg_cb)(void *user, const ProtobufCMessage *msg, struct sp_error *err);

/* A server-streaming reply read as it arrives. Caller-owned: init, feed..., finish, cleanup. */
struct sp_grpc_stream {
    struct sp_connect_stream env;
    const ProtobufCMessageDescriptor *desc;
    sp_grpc_msg_cb cb;
    void *user;
};

/* max_msg: largest message (0 = SP_GRPC_MSG_MAX). */
void sp_grpc_stream_init(struct sp_grpc_stream *s,
                         const ProtobufCMessageDescriptor *desc,
                         sp_grpc_msg_cb cb,
                         void *user,
                         size_t max_msg);
void sp_grpc_stream_cleanup(struct sp_grpc_stream *s);
/* Consumes len bytes, any boundary. Returns 0, or -1 with err set (protocol for a bad frame
 * or an undecodable message, or the callback's error). */
int sp_grpc_stream_feed(struct sp_grpc_stream *s,
                        const void *data,
                        size_t len,
                        struct sp_error *err);
/* Once the reply is complete: a non-OK status first (it explains a cut stream), then a frame
 * cut short. */
enum sp_err sp_grpc_stream_finish(struct sp_grpc_stream *s,
                                  const struct sp_http_rsp *rsp,
                                  struct sp_error *err);

#endif
