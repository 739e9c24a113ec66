/* gRPC framing, status and protobuf decoding (see grpc.h; spec/runloop-modal.md M1). */
#include "grpc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const code_names[] = {
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
};

const char *sp_grpc_code_name(int code)
{
    return code >= 0 && code <= SP_GRPC_CODE_MAX ? code_names[code] : "UNKNOWN";
}

enum sp_err sp_grpc_code_class(int code)
{
    if (code < 0 || code > SP_GRPC_CODE_MAX)
        return SP_E_PROVIDER;
    return sp_connect_code_class((enum sp_connect_code)code);
}

/* The 5-byte prefix of a message of n bytes: not compressed, then the length big-endian. */
static void frame_head(unsigned char head[SP_CONNECT_PREFIX], size_t n)
{
    head[0] = 0;
    head[1] = (unsigned char)(n >> 24);
    head[2] = (unsigned char)(n >> 16);
    head[3] = (unsigned char)(n >> 8);
    head[4] = (unsigned char)n;
}

int sp_grpc_frame(struct sp_buf *buf, const ProtobufCMessage *msg)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    if ((uint64_t)n > UINT32_MAX)
        return -1;
    unsigned char head[SP_CONNECT_PREFIX];
    frame_head(head, n);
    if (sp_buf_append(buf, head, sizeof(head)) != 0)
        return -1;
    if (n == 0)
        return 0;
    uint8_t *tmp = malloc(n);
    if (tmp == NULL)
        return -1;
    protobuf_c_message_pack(msg, tmp);
    int rc = sp_buf_append(buf, tmp, n);
    free(tmp);
    return rc;
}

ssize_t sp_grpc_frame_into(const ProtobufCMessage *msg, char *buf, size_t max)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    if (n > max || max - n < SP_CONNECT_PREFIX)
        return -1;
    frame_head((unsigned char *)buf, n);
    protobuf_c_message_pack(msg, (uint8_t *)buf + SP_CONNECT_PREFIX);
    return (ssize_t)(n + SP_CONNECT_PREFIX);
}

int sp_grpc_request(struct sp_http_req *req,
                    const char *base,
                    const char *path,
                    const ProtobufCMessage *msg,
                    long timeout_ms)
{
    struct sp_buf body;
    sp_buf_init(&body, 0);
    int rc = sp_http_req_url(req, SP_HTTP_POST, "%s%s", base, path);
    if (rc == 0)
        rc = sp_http_req_header(req, "te", "trailers");
    if (rc == 0 && timeout_ms > 0)
        rc = sp_http_req_header(req, "grpc-timeout", "%ldm", timeout_ms);
    if (rc == 0)
        rc = sp_grpc_frame(&body, msg);
    if (rc == 0)
        rc = sp_http_req_body(req, "application/grpc", body.data ? body.data : "", body.len);
    sp_buf_cleanup(&body);
    req->http2 = true;
    return rc;
}

/* --- status ------------------------------------------------------------------------------ */

/* grpc-message is percent-encoded; a malformed escape is kept as it is (the spec asks
 * clients to show what they can rather than fail). */
static void percent_decode(const char *in, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; in[i] && o + 1 < outlen; i++) {
        int hi, lo;
        if (in[i] == '%' && (hi = sp_hex_digit(in[i + 1])) >= 0 &&
            (lo = sp_hex_digit(in[i + 2])) >= 0) {
            out[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            out[o++] = in[i];
        }
    }
    out[o] = '\0';
}

/* 0..16 written as plain decimal digits, or -1. */
static int parse_code(const char *s)
{
    if (s == NULL || *s == '\0' || strlen(s) > 2)
        return -1;
    int v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (*s - '0');
    }
    return v <= SP_GRPC_CODE_MAX ? v : -1;
}

static enum sp_err reply_shape(const struct sp_http_rsp *rsp, struct sp_error *err)
{
    if (rsp->transport != SP_E_OK || rsp->status != 200)
        return sp_http_fail(rsp, NULL, err);
    const char *ct = sp_http_rsp_header(rsp, "content-type");
    if (ct == NULL || strncasecmp(ct, "application/grpc", 16) != 0)
        return sp_error_set(err, SP_E_PROTOCOL,
                            "gRPC reply has Content-Type '%s', not "
                            "application/grpc",
                            ct ? ct : "(none)");
    return SP_E_OK;
}

enum sp_err sp_grpc_status(const struct sp_http_rsp *rsp, struct sp_error *err)
{
    enum sp_err rc = reply_shape(rsp, err);
    if (rc != SP_E_OK)
        return rc;
    const struct sp_kv *where = &rsp->trailers;
    const char *st = sp_http_rsp_trailer(rsp, "grpc-status");
    if (st == NULL && (st = sp_http_rsp_header(rsp, "grpc-status")) != NULL) {
        where = &rsp->headers; /* Trailers-Only: the status is the whole reply */
        if (rsp->body.len > 0)
            return sp_error_set(err, SP_E_PROTOCOL,
                                "gRPC Trailers-Only reply (grpc-status in "
                                "the headers) also carries a %zu-byte body",
                                rsp->body.len);
    }
    if (st == NULL)
        return sp_error_set(err, SP_E_PROTOCOL,
                            "gRPC reply ended without a grpc-status "
                            "trailer (%zu body bytes)",
                            rsp->body.len);
    int code = parse_code(st);
    if (code < 0)
        return sp_error_set(err, SP_E_PROTOCOL, "gRPC reply has an unknown grpc-status '%.32s'",
                            st);
    if (code == 0)
        return SP_E_OK;
    char msg[200];
    const char *m = sp_kv_geti(where, "grpc-message");
    percent_decode(m && *m ? m : sp_grpc_code_name(code), msg, sizeof(msg));
    if (err)
        err->grpc_status = code;
    return sp_error_set(err, sp_grpc_code_class(code), "%s (gRPC %s)", msg,
                        sp_grpc_code_name(code));
}

/* --- messages ---------------------------------------------------------------------------- */

static int unpack_fail(const ProtobufCMessageDescriptor *d, size_t len, struct sp_error *err)
{
    sp_error_set(err, SP_E_PROTOCOL,
                 "gRPC message of %zu bytes is not a valid %s "
                 "(truncated or malformed protobuf)",
                 len, d->name);
    return -1;
}

struct unary {
    const ProtobufCMessageDescriptor *desc;
    ProtobufCMessage *msg;
};

static int unary_raw(void *user, const char *payload, size_t len, struct sp_error *err)
{
    struct unary *u = user;
    if (u->msg != NULL)
        return sp_error_set(err, SP_E_PROTOCOL,
                            "unary gRPC reply carries more than one "
                            "message"),
               -1;
    u->msg = protobuf_c_message_unpack(u->desc, NULL, len, (const uint8_t *)payload);
    return u->msg ? 1 : unpack_fail(u->desc, len, err);
}

enum sp_err sp_grpc_unary_parse(const struct sp_http_rsp *rsp,
                                const ProtobufCMessageDescriptor *desc,
                                ProtobufCMessage **out,
                                struct sp_error *err)
{
    *out = NULL;
    enum sp_err rc = sp_grpc_status(rsp, err);
    if (rc != SP_E_OK)
        return rc;
    struct unary u = {desc, NULL};
    struct sp_connect_stream s;
    sp_connect_stream_init_grpc(&s, SP_GRPC_MSG_MAX, unary_raw);
    if (sp_connect_stream_feed(&s, rsp->body.data, rsp->body.len, NULL, &u, err) != 0)
        rc = err ? err->code : SP_E_PROTOCOL;
    else
        rc = sp_connect_stream_complete(&s, err);
    sp_connect_stream_cleanup(&s);
    if (rc == SP_E_OK && u.msg == NULL)
        rc = sp_error_set(err, SP_E_PROTOCOL,
                          "unary gRPC reply with status OK has no %s "
                          "message",
                          desc->name);
    if (rc != SP_E_OK) {
        if (u.msg)
            protobuf_c_message_free_unpacked(u.msg, NULL);
        return rc;
    }
    *out = u.msg;
    return SP_E_OK;
}

static int stream_raw(void *user, const char *payload, size_t len, struct sp_error *err)
{
    struct sp_grpc_stream *s = user;
    ProtobufCMessage *m = protobuf_c_message_unpack(s->desc, NULL, len, (const uint8_t *)payload);
    if (m == NULL)
        return unpack_fail(s->desc, len, err);
    int rc = s->cb ? s->cb(s->user, m, err) : 0;
    protobuf_c_message_free_unpacked(m, NULL);
    return rc == 0 ? 1 : -1;
}

void sp_grpc_stream_init(struct sp_grpc_stream *s,
                         const ProtobufCMessageDescriptor *desc,
                         sp_grpc_msg_cb cb,
                         void *user,
                         size_t max_msg)
{
    sp_connect_stream_init_grpc(&s->env, max_msg ? max_msg : SP_GRPC_MSG_MAX, stream_raw);
    s->desc = desc;
    s->cb = cb;
    s->user = user;
}

void sp_grpc_stream_cleanup(struct sp_grpc_stream *s)
{
    sp_connect_stream_cleanup(&s->env);
}

int sp_grpc_stream_feed(struct sp_grpc_stream *s,
                        const void *data,
                        size_t len,
                        struct sp_error *err)
{
    return sp_connect_stream_feed(&s->env, data, len, NULL, s, err);
}

enum sp_err
sp_grpc_stream_finish(struct sp_grpc_stream *s, const struct sp_http_rsp *rsp, struct sp_error *err)
{
    enum sp_err rc = sp_grpc_status(rsp, err);
    if (rc != SP_E_OK)
        return rc;
    return sp_connect_stream_complete(&s->env, err);
}
