/* Connect RPC framing and error mapping (see connect.h; spec/e2b-modal.md A3). */
#include "connect.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "json.h"

static const char *const code_names[] = {
    "ok",
    "canceled",
    "unknown",
    "invalid_argument",
    "deadline_exceeded",
    "not_found",
    "already_exists",
    "permission_denied",
    "resource_exhausted",
    "failed_precondition",
    "aborted",
    "out_of_range",
    "unimplemented",
    "internal",
    "unavailable",
    "data_loss",
    "unauthenticated",
};
#define N_CODES (sizeof(code_names) / sizeof(code_names[0]))

enum sp_connect_code sp_connect_code_parse(const char *name)
{
    for (size_t i = 1; name && i < N_CODES; i++) {
        if (strcmp(code_names[i], name) == 0)
            return (enum sp_connect_code)i;
    }
    return SP_CONNECT_UNKNOWN;
}

const char *sp_connect_code_name(enum sp_connect_code code)
{
    return (unsigned)code < N_CODES ? code_names[code] : "unknown";
}

enum sp_err sp_connect_code_class(enum sp_connect_code code)
{
    switch (code) {
    case SP_CONNECT_OK:
        return SP_E_OK;
    case SP_CONNECT_NOT_FOUND:
        return SP_E_NOT_FOUND;
    case SP_CONNECT_UNAUTHENTICATED:
    case SP_CONNECT_PERMISSION_DENIED:
        return SP_E_AUTH;
    case SP_CONNECT_ALREADY_EXISTS:
    case SP_CONNECT_ABORTED:
    case SP_CONNECT_FAILED_PRECONDITION:
        return SP_E_CONFLICT;
    case SP_CONNECT_RESOURCE_EXHAUSTED:
        return SP_E_RATE_LIMITED;
    case SP_CONNECT_DEADLINE_EXCEEDED:
        return SP_E_TIMEOUT;
    case SP_CONNECT_INVALID_ARGUMENT:
    case SP_CONNECT_OUT_OF_RANGE:
        return SP_E_PROTOCOL; /* the provider says our request was malformed */
    case SP_CONNECT_UNIMPLEMENTED:
        return SP_E_UNSUPPORTED;
    case SP_CONNECT_CANCELED:
    case SP_CONNECT_UNKNOWN:
    case SP_CONNECT_INTERNAL:
    case SP_CONNECT_UNAVAILABLE:
    case SP_CONNECT_DATA_LOSS:
        return SP_E_PROVIDER;
    }
    return SP_E_PROVIDER;
}

/* The Connect protocol's table for errors that did not come from a Connect handler. */
enum sp_connect_code sp_connect_code_from_http(int status)
{
    switch (status) {
    case 400:
        return SP_CONNECT_INTERNAL;
    case 401:
        return SP_CONNECT_UNAUTHENTICATED;
    case 403:
        return SP_CONNECT_PERMISSION_DENIED;
    case 404:
        return SP_CONNECT_UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
        return SP_CONNECT_UNAVAILABLE;
    default:
        return SP_CONNECT_UNKNOWN;
    }
}

/* --- the stream parser ------------------------------------------------------------------- */

void sp_connect_stream_init(struct sp_connect_stream *s, size_t max_frame)
{
    memset(s, 0, sizeof(*s));
    s->max_frame = max_frame ? max_frame : SP_CONNECT_FRAME_MAX;
    sp_buf_init(&s->payload, s->max_frame);
}

void sp_connect_stream_init_grpc(struct sp_connect_stream *s,
                                 size_t max_frame,
                                 sp_connect_raw_cb raw)
{
    sp_connect_stream_init(s, max_frame);
    s->grpc = true;
    s->raw = raw;
}

/* What an envelope is called in messages. */
static const char *env_name(const struct sp_connect_stream *s)
{
    return s->grpc ? "gRPC message" : "Connect envelope";
}

void sp_connect_stream_cleanup(struct sp_connect_stream *s)
{
    sp_buf_cleanup(&s->payload);
}

static int stream_fail(struct sp_connect_stream *s)
{
    s->failed = true;
    return -1;
}

/* The EndStreamResponse: {} or {"error":{"code","message"},"metadata":{...}}. */
static int
stream_end(struct sp_connect_stream *s, const char *json, size_t len, struct sp_error *err)
{
    cJSON *root = sp_json_parse_type(json, len, cJSON_Object, "Connect end-of-stream message", err);
    if (root == NULL)
        return -1;
    int rc = 0;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
    if (e != NULL && !cJSON_IsNull(e)) {
        const char *code = NULL, *msg = NULL;
        const char *what = "Connect end-of-stream error";
        if (!cJSON_IsObject(e)) {
            rc = -1;
            sp_error_set(err, SP_E_PROTOCOL, "%s: field 'error' should be an object", what);
        } else if (sp_json_get_str(e, "code", true, &code, what, err) != 0 ||
                   sp_json_get_str(e, "message", false, &msg, what, err) != 0) {
            rc = -1;
        } else {
            s->end_code = sp_connect_code_parse(code);
            snprintf(s->end_message, sizeof(s->end_message), "%s", msg ? msg : code);
        }
    }
    cJSON_Delete(root);
    s->ended = rc == 0;
    return rc;
}

static int stream_deliver(struct sp_connect_stream *s,
                          const char *payload,
                          size_t len,
                          sp_connect_msg_cb cb,
                          void *user,
                          struct sp_error *err)
{
    unsigned flags = s->head[0];
    s->head_len = 0;
    s->need = 0;
    if (flags & SP_CONNECT_FLAG_END)
        return stream_end(s, payload, len, err);
    int taken = s->raw ? s->raw(user, payload, len, err) : 0;
    if (taken == 0 && s->grpc) { /* gRPC payloads are never JSON */
        sp_error_set(err, SP_E_INTERNAL, "gRPC stream without a message handler");
        taken = -1;
    }
    if (taken != 0) {
        s->frames += taken > 0;
        return taken > 0 ? 0 : -1;
    }
    char what[48];
    snprintf(what, sizeof(what), "Connect message %lu", s->frames + 1);
    cJSON *msg = sp_json_parse_type(payload, len, cJSON_Object, what, err);
    if (msg == NULL)
        return -1;
    s->frames++;
    int rc = cb ? cb(user, msg, err) : 0;
    cJSON_Delete(msg);
    return rc;
}

/* Validates a complete 5-byte prefix and sets s->need. */
static int stream_prefix(struct sp_connect_stream *s, struct sp_error *err)
{
    unsigned flags = s->head[0];
    uint32_t n = (uint32_t)s->head[1] << 24 | (uint32_t)s->head[2] << 16 |
                 (uint32_t)s->head[3] << 8 | (uint32_t)s->head[4];
    unsigned known =
        s->grpc ? SP_CONNECT_FLAG_COMPRESSED : (SP_CONNECT_FLAG_COMPRESSED | SP_CONNECT_FLAG_END);
    if (flags & SP_CONNECT_FLAG_COMPRESSED) {
        sp_error_set(err, SP_E_PROTOCOL,
                     "%s %lu is flagged compressed (0x%02x), but no compression was negotiated",
                     env_name(s), s->frames + 1, flags);
        return -1;
    }
    if (flags & ~known) {
        sp_error_set(err, SP_E_PROTOCOL, "%s %lu has unknown flags 0x%02x", env_name(s),
                     s->frames + 1, flags);
        return -1;
    }
    if (n > s->max_frame) {
        sp_error_set(err, SP_E_PROTOCOL, "%s of %lu bytes exceeds the %zu-byte limit", env_name(s),
                     (unsigned long)n, s->max_frame);
        return -1;
    }
    s->need = n;
    return 0;
}

int sp_connect_stream_feed(struct sp_connect_stream *s,
                           const void *data,
                           size_t len,
                           sp_connect_msg_cb cb,
                           void *user,
                           struct sp_error *err)
{
    const char *p = data;
    if (s->failed)
        return -1;
    while (len > 0) {
        if (s->ended) {
            sp_error_set(err, SP_E_PROTOCOL,
                         "Connect stream: %zu bytes after the end-of-stream message", len);
            return stream_fail(s);
        }
        if (s->head_len < SP_CONNECT_PREFIX) {
            size_t take = SP_CONNECT_PREFIX - s->head_len;
            take = take < len ? take : len;
            memcpy(s->head + s->head_len, p, take);
            s->head_len += take;
            p += take;
            len -= take;
            if (s->head_len < SP_CONNECT_PREFIX)
                break;
            if (stream_prefix(s, err) != 0)
                return stream_fail(s);
            sp_buf_reset(&s->payload);
            if (s->need == 0) { /* an empty payload is complete with its prefix */
                if (stream_deliver(s, "", 0, cb, user, err) != 0)
                    return stream_fail(s);
                continue;
            }
        }
        size_t have = s->payload.len;
        size_t take = s->need - have < len ? s->need - have : len;
        if (have == 0 && take == s->need) { /* whole payload in this chunk: no copy */
            if (stream_deliver(s, p, take, cb, user, err) != 0)
                return stream_fail(s);
        } else {
            if (sp_buf_append(&s->payload, p, take) != 0) {
                sp_error_set(err, SP_E_INTERNAL, "out of memory buffering a Connect envelope");
                return stream_fail(s);
            }
            if (s->payload.len == s->need &&
                stream_deliver(s, s->payload.data, s->need, cb, user, err) != 0)
                return stream_fail(s);
        }
        p += take;
        len -= take;
    }
    return 0;
}

enum sp_err sp_connect_stream_complete(const struct sp_connect_stream *s, struct sp_error *err)
{
    const char *proto = s->grpc ? "gRPC" : "Connect";
    const char *unit = s->grpc ? "message" : "envelope";
    if (s->failed)
        return sp_error_set(err, SP_E_PROTOCOL, "%s stream failed earlier", proto);
    if (s->head_len > 0 && s->head_len < SP_CONNECT_PREFIX)
        return sp_error_set(err, SP_E_PROTOCOL,
                            "%s stream truncated: %zu of 5 prefix bytes of %s %lu", proto,
                            s->head_len, unit, s->frames + 1);
    if (s->head_len == SP_CONNECT_PREFIX)
        return sp_error_set(err, SP_E_PROTOCOL, "%s stream truncated: %zu of %zu bytes of %s %lu",
                            proto, s->payload.len, s->need, unit, s->frames + 1);
    return SP_E_OK;
}

enum sp_err sp_connect_stream_finish(struct sp_connect_stream *s, struct sp_error *err)
{
    enum sp_err rc = sp_connect_stream_complete(s, err);
    if (rc != SP_E_OK)
        return rc;
    if (!s->ended)
        return sp_error_set(err, SP_E_PROTOCOL,
                            "Connect stream ended after %lu messages without an end-of-stream "
                            "message",
                            s->frames);
    if (s->end_code == SP_CONNECT_OK)
        return SP_E_OK;
    if (err)
        err->grpc_status = (int)s->end_code;
    return sp_error_set(err, sp_connect_code_class(s->end_code), "%s (%s)", s->end_message,
                        sp_connect_code_name(s->end_code));
}

int sp_connect_frame(struct sp_buf *buf, unsigned flags, const void *json, size_t len)
{
    if ((uint64_t)len > UINT32_MAX)
        return -1;
    unsigned char head[SP_CONNECT_PREFIX] = {
        (unsigned char)flags,      (unsigned char)(len >> 24), (unsigned char)(len >> 16),
        (unsigned char)(len >> 8), (unsigned char)len,
    };
    if (sp_buf_append(buf, head, sizeof(head)) != 0)
        return -1;
    return len ? sp_buf_append(buf, json, len) : 0;
}

/* --- requests and errors ------------------------------------------------------------------ */

static int
connect_request(struct sp_http_req *req, const char *base, const char *procedure, long timeout_ms)
{
    if (sp_http_req_url(req, SP_HTTP_POST, "%s/%s", base, procedure) != 0 ||
        sp_http_req_header(req, "Connect-Protocol-Version", "1") != 0)
        return -1;
    if (timeout_ms > 0 && sp_http_req_header(req, "Connect-Timeout-Ms", "%ld", timeout_ms) != 0)
        return -1;
    return 0;
}

int sp_connect_unary_request(struct sp_http_req *req,
                             const char *base,
                             const char *procedure,
                             const char *json,
                             long timeout_ms)
{
    if (connect_request(req, base, procedure, timeout_ms) != 0)
        return -1;
    return sp_http_req_json(req, json);
}

int sp_connect_stream_request(struct sp_http_req *req,
                              const char *base,
                              const char *procedure,
                              const char *json,
                              long timeout_ms)
{
    struct sp_buf env;
    sp_buf_init(&env, 0);
    int rc = connect_request(req, base, procedure, timeout_ms);
    if (rc == 0)
        rc = sp_connect_frame(&env, 0, json, strlen(json));
    if (rc == 0)
        rc = sp_http_req_body(req, "application/connect+json", env.data, env.len);
    sp_buf_cleanup(&env);
    return rc;
}

/* Reads {"code": "<name>" | <int>, "message": "..."}; returns false if the body is not one. */
static bool parse_error_body(const struct sp_http_rsp *rsp,
                             enum sp_connect_code *code,
                             bool *named,
                             char *msg,
                             size_t msglen)
{
    struct sp_error ignored;
    sp_error_clear(&ignored);
    cJSON *root =
        sp_json_parse_type(rsp->body.data, rsp->body.len, cJSON_Object, "error", &ignored);
    if (root == NULL)
        return false;
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(root, "code");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "message");
    bool ok = cJSON_IsString(c) || cJSON_IsNumber(c);
    if (ok) {
        *named = cJSON_IsString(c);
        *code =
            *named ? sp_connect_code_parse(c->valuestring) : sp_connect_code_from_http(rsp->status);
        snprintf(msg, msglen, "%s",
                 cJSON_IsString(m) && m->valuestring[0] ? m->valuestring
                 : *named                               ? c->valuestring
                                                        : "");
    }
    cJSON_Delete(root);
    return ok;
}

enum sp_err sp_connect_fail(const struct sp_http_rsp *rsp, struct sp_error *err)
{
    if (rsp->transport != SP_E_OK)
        return sp_http_fail(rsp, NULL, err);
    enum sp_connect_code code = SP_CONNECT_UNKNOWN;
    bool named = false;
    char msg[200] = "";
    if (!parse_error_body(rsp, &code, &named, msg, sizeof(msg))) {
        code = sp_connect_code_from_http(rsp->status);
        sp_http_fail(rsp, NULL, err); /* body excerpt as the message */
    } else {
        sp_http_fail(rsp, msg[0] ? msg : NULL, err);
    }
    if (err == NULL)
        return named ? sp_connect_code_class(code) : sp_http_status_class(rsp->status);
    /* A Connect code is more precise than the status (504 deadline_exceeded is a timeout,
     * 501 unimplemented unsupported). A plain HTTP error (envd's REST endpoints, its auth
     * check, the edge proxy) keeps the status's class and carries no Connect code. */
    if (named) {
        err->grpc_status = (int)code;
        err->code = sp_connect_code_class(code);
    }
    return err->code;
}
