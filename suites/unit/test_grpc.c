/* Unit tests of gRPC framing, status and protobuf decoding (providers/grpc.c) on recorded and
 * broken replies: the request bytes of spec M9, unary and streamed replies fed in every
 * chunking, Trailers-Only errors, and every malformed shape (bad length, cut frames, missing
 * or unknown status, compressed or Connect-only flags, garbage and truncated protobuf) turned
 * into `protocol` errors. No network. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "grpc.h"
#include "modal_proto/api.pb-c.h"
#include "modal_proto/task_command_router.pb-c.h"

#define WAIT_DESC (&modal__task_command_router__task_exec_wait_response__descriptor)
#define READ_DESC (&modal__task_command_router__task_exec_stdio_read_response__descriptor)

/* A reply as the driver hands it over: 200, application/grpc, body, optional trailers. */
static void reply(
    struct sp_http_rsp *rsp, const void *body, size_t len, const char *status, const char *message)
{
    sp_http_rsp_init(rsp);
    rsp->status = 200;
    assert_int_equal(sp_kv_add(&rsp->headers, "content-type", "application/grpc"), 0);
    if (len)
        assert_int_equal(sp_buf_append(&rsp->body, body, len), 0);
    if (status)
        assert_int_equal(sp_kv_add(&rsp->trailers, "grpc-status", status), 0);
    if (message)
        assert_int_equal(sp_kv_add(&rsp->trailers, "grpc-message", message), 0);
}

/* TaskExecWaitResponse{code: 0} as recorded (spec M9): 08 00, framed. */
static const unsigned char wait_ok[] = {0, 0, 0, 0, 2, 0x08, 0x00};

static void test_request_bytes(void **state)
{
    (void)state;
    Modal__Client__AppGetOrCreateRequest m = MODAL__CLIENT__APP_GET_OR_CREATE_REQUEST__INIT;
    char name[] = "my-app";
    m.app_name = name;
    m.object_creation_type = 1;
    struct sp_http_req req;
    sp_http_req_init(&req);
    assert_int_equal(sp_grpc_request(&req, "http://127.0.0.1:9",
                                     "/modal.client.ModalClient/AppGetOrCreate", &m.base, 5000),
                     0);
    assert_string_equal(sp_buf_str(&req.url),
                        "http://127.0.0.1:9/modal.client.ModalClient/AppGetOrCreate");
    assert_true(req.http2);
    assert_int_equal(req.method, SP_HTTP_POST);
    assert_string_equal(sp_kv_geti(&req.headers, "te"), "trailers");
    assert_string_equal(sp_kv_geti(&req.headers, "grpc-timeout"), "5000m");
    assert_string_equal(sp_kv_geti(&req.headers, "content-type"), "application/grpc");
    static const unsigned char want[] = {0,    0,    0,    0,    10,   0x0a, 0x06, 0x6d,
                                         0x79, 0x2d, 0x61, 0x70, 0x70, 0x18, 0x01};
    assert_int_equal(req.body.len, sizeof(want));
    assert_memory_equal(req.body.data, want, sizeof(want));
    sp_http_req_cleanup(&req);
}

static void test_unary_ok(void **state)
{
    (void)state;
    struct sp_http_rsp rsp;
    reply(&rsp, wait_ok, sizeof(wait_ok), "0", NULL);
    struct sp_error err;
    sp_error_clear(&err);
    ProtobufCMessage *out = NULL;
    assert_int_equal(sp_grpc_unary_parse(&rsp, WAIT_DESC, &out, &err), SP_E_OK);
    assert_non_null(out);
    const Modal__TaskCommandRouter__TaskExecWaitResponse *w = (const void *)out;
    assert_int_equal(w->exit_status_case,
                     MODAL__TASK_COMMAND_ROUTER__TASK_EXEC_WAIT_RESPONSE__EXIT_STATUS_CODE);
    assert_int_equal(w->code, 0);
    protobuf_c_message_free_unpacked(out, NULL);
    sp_http_rsp_cleanup(&rsp);
}

/* Runs a unary parse on rsp and returns its class, checking *out stays NULL on error. */
static enum sp_err unary_class(struct sp_http_rsp *rsp, struct sp_error *err)
{
    sp_error_clear(err);
    ProtobufCMessage *out = (ProtobufCMessage *)(uintptr_t)1;
    enum sp_err rc = sp_grpc_unary_parse(rsp, WAIT_DESC, &out, err);
    if (rc != SP_E_OK)
        assert_null(out);
    else
        protobuf_c_message_free_unpacked(out, NULL);
    sp_http_rsp_cleanup(rsp);
    return rc;
}

static void test_trailers_only(void **state)
{
    (void)state;
    struct sp_http_rsp rsp;
    struct sp_error err;
    reply(&rsp, NULL, 0, NULL, NULL);
    sp_kv_add(&rsp.headers, "grpc-status", "16");
    sp_kv_add(&rsp.headers, "grpc-message", "Invalid%20token");
    assert_int_equal(unary_class(&rsp, &err), SP_E_AUTH);
    assert_int_equal(err.grpc_status, 16);
    assert_non_null(strstr(err.msg, "Invalid token (gRPC UNAUTHENTICATED)"));

    /* Trailers-Only next to a body breaks the protocol. */
    reply(&rsp, wait_ok, sizeof(wait_ok), NULL, NULL);
    sp_kv_add(&rsp.headers, "grpc-status", "0");
    assert_int_equal(unary_class(&rsp, &err), SP_E_PROTOCOL);
    assert_non_null(strstr(err.msg, "Trailers-Only"));
}

static void test_status_classes(void **state)
{
    (void)state;
    static const struct {
        const char *status;
        enum sp_err cls;
    } table[] = {
        {"5", SP_E_NOT_FOUND}, {"4", SP_E_TIMEOUT},  {"8", SP_E_RATE_LIMITED},
        {"14", SP_E_PROVIDER}, {"7", SP_E_AUTH},     {"12", SP_E_UNSUPPORTED},
        {"13", SP_E_PROVIDER}, {"6", SP_E_CONFLICT}, {"3", SP_E_PROTOCOL},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        struct sp_http_rsp rsp;
        struct sp_error err;
        reply(&rsp, NULL, 0, table[i].status, "no%");
        assert_int_equal(unary_class(&rsp, &err), table[i].cls);
        assert_int_equal(err.grpc_status, (int)strtol(table[i].status, NULL, 10));
        assert_non_null(strstr(err.msg, "no%")); /* a bad escape is shown as it is */
    }
    assert_string_equal(sp_grpc_code_name(16), "UNAUTHENTICATED");
    assert_string_equal(sp_grpc_code_name(99), "UNKNOWN");
}

static void test_missing_and_unknown_status(void **state)
{
    (void)state;
    struct sp_http_rsp rsp;
    struct sp_error err;
    reply(&rsp, wait_ok, sizeof(wait_ok), NULL, NULL);
    assert_int_equal(unary_class(&rsp, &err), SP_E_PROTOCOL);
    assert_non_null(strstr(err.msg, "without a grpc-status trailer"));
    const char *bad[] = {"17", "abc", "", "-1", "007", "1 "};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        reply(&rsp, wait_ok, sizeof(wait_ok), bad[i], NULL);
        assert_int_equal(unary_class(&rsp, &err), SP_E_PROTOCOL);
        assert_non_null(strstr(err.msg, "unknown grpc-status"));
    }
}

static void test_not_grpc(void **state)
{
    (void)state;
    struct sp_http_rsp rsp;
    struct sp_error err;
    reply(&rsp, "<html>", 6, NULL, NULL);
    sp_kv_clear(&rsp.headers);
    sp_kv_add(&rsp.headers, "content-type", "text/html");
    assert_int_equal(unary_class(&rsp, &err), SP_E_PROTOCOL);
    assert_non_null(strstr(err.msg, "text/html"));

    reply(&rsp, "busy", 4, NULL, NULL);
    rsp.status = 503;
    assert_int_equal(unary_class(&rsp, &err), SP_E_PROVIDER);
    assert_int_equal(err.http_status, 503);

    reply(&rsp, NULL, 0, NULL, NULL);
    rsp.status = 0;
    rsp.transport = SP_E_CONNECT;
    snprintf(rsp.transport_msg, sizeof(rsp.transport_msg), "connection refused");
    assert_int_equal(unary_class(&rsp, &err), SP_E_CONNECT);
}

static void test_broken_frames(void **state)
{
    (void)state;
    static const struct {
        unsigned char bytes[12];
        size_t len;
        const char *msg;
    } cases[] = {
        {{0, 0, 0, 0, 100, 0x08, 0x00}, 7, "truncated: 2 of 100 bytes"}, /* bad length */
        {{0, 0, 0}, 3, "3 of 5 prefix bytes"},                           /* cut prefix */
        {{1, 0, 0, 0, 2, 0x08, 0x00}, 7, "compressed"},
        {{2, 0, 0, 0, 2, 0x08, 0x00}, 7, "unknown flags 0x02"}, /* Connect's end flag */
        {{0, 0x7f, 0xff, 0xff, 0xff}, 5, "exceeds"},
        {{0, 0, 0, 0, 3, 0xff, 0xff, 0xff}, 8, "not a valid"}, /* garbage protobuf */
        {{0, 0, 0, 0, 2, 0x08, 0x80}, 7, "not a valid"},       /* varint cut short */
        {{0, 0, 0, 0, 2, 0x08, 0x00, 0, 0, 0, 0, 0}, 12, "more than one"},
        {{0}, 0, "has no"}, /* OK without a message */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sp_http_rsp rsp;
        struct sp_error err;
        reply(&rsp, cases[i].bytes, cases[i].len, "0", NULL);
        assert_int_equal(unary_class(&rsp, &err), SP_E_PROTOCOL);
        if (strstr(err.msg, cases[i].msg) == NULL)
            fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, cases[i].msg);
    }
}

/* A string field cut short inside a real message type (AppGetOrCreateRequest). */
static void test_truncated_protobuf(void **state)
{
    (void)state;
    static const unsigned char cut[] = {0x0a, 0x06, 0x6d, 0x79, 0x2d};
    ProtobufCMessage *m = protobuf_c_message_unpack(
        &modal__client__app_get_or_create_request__descriptor, NULL, sizeof(cut), cut);
    assert_null(m);
    /* Deterministic garbage of every length: decode fails or succeeds, never crashes. */
    unsigned seed = 12345;
    unsigned char buf[64];
    for (int round = 0; round < 2000; round++) {
        size_t n = (size_t)(round % 64);
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            buf[i] = (unsigned char)(seed >> 16);
        }
        struct sp_buf body;
        sp_buf_init(&body, 0);
        unsigned char head[5] = {0, 0, 0, 0, (unsigned char)n};
        sp_buf_append(&body, head, 5);
        sp_buf_append(&body, buf, n);
        struct sp_http_rsp rsp;
        struct sp_error err;
        reply(&rsp, body.data, body.len, "0", NULL);
        sp_buf_cleanup(&body);
        enum sp_err rc = unary_class(&rsp, &err);
        assert_true(rc == SP_E_OK || rc == SP_E_PROTOCOL);
    }
}

struct collected {
    struct sp_buf data;
    int n;
    int fail_at;
};

static int on_read(void *user, const ProtobufCMessage *msg, struct sp_error *err)
{
    struct collected *c = user;
    const Modal__TaskCommandRouter__TaskExecStdioReadResponse *r = (const void *)msg;
    assert_int_equal(sp_buf_append(&c->data, r->data.data, r->data.len), 0);
    if (++c->n == c->fail_at)
        return sp_error_set(err, SP_E_STATE, "callback stopped at %d", c->n), -1;
    return 0;
}

/* Three TaskExecStdioReadResponse messages, one of them empty, framed. */
static void build_stream(struct sp_buf *b)
{
    static const char *const parts[] = {"hello ", "", "world\n"};
    sp_buf_init(b, 0);
    for (size_t i = 0; i < 3; i++) {
        Modal__TaskCommandRouter__TaskExecStdioReadResponse m =
            MODAL__TASK_COMMAND_ROUTER__TASK_EXEC_STDIO_READ_RESPONSE__INIT;
        m.data.data = (uint8_t *)(uintptr_t)parts[i];
        m.data.len = strlen(parts[i]);
        assert_int_equal(sp_grpc_frame(b, &m.base), 0);
    }
}

static void test_stream_every_split(void **state)
{
    (void)state;
    struct sp_buf b;
    build_stream(&b);
    for (size_t step = 1; step <= b.len; step++) {
        struct collected c = {.n = 0};
        sp_buf_init(&c.data, 0);
        struct sp_grpc_stream s;
        sp_grpc_stream_init(&s, READ_DESC, on_read, &c, 0);
        struct sp_error err;
        sp_error_clear(&err);
        for (size_t off = 0; off < b.len; off += step) {
            size_t n = b.len - off < step ? b.len - off : step;
            assert_int_equal(sp_grpc_stream_feed(&s, b.data + off, n, &err), 0);
        }
        struct sp_http_rsp rsp;
        reply(&rsp, NULL, 0, "0", NULL);
        assert_int_equal(sp_grpc_stream_finish(&s, &rsp, &err), SP_E_OK);
        assert_int_equal(c.n, 3);
        assert_int_equal(c.data.len, 12);
        assert_memory_equal(c.data.data, "hello world\n", 12);
        sp_http_rsp_cleanup(&rsp);
        sp_grpc_stream_cleanup(&s);
        sp_buf_cleanup(&c.data);
    }
    sp_buf_cleanup(&b);
}

static void test_stream_errors(void **state)
{
    (void)state;
    struct sp_buf b;
    build_stream(&b);
    struct collected c = {.fail_at = 0};
    sp_buf_init(&c.data, 0);
    struct sp_grpc_stream s;
    struct sp_error err;
    struct sp_http_rsp rsp;

    /* Cut inside the last message, status OK: protocol. */
    sp_grpc_stream_init(&s, READ_DESC, on_read, &c, 0);
    assert_int_equal(sp_grpc_stream_feed(&s, b.data, b.len - 2, &err), 0);
    reply(&rsp, NULL, 0, "0", NULL);
    assert_int_equal(sp_grpc_stream_finish(&s, &rsp, &err), SP_E_PROTOCOL);
    assert_non_null(strstr(err.msg, "gRPC stream truncated"));
    sp_http_rsp_cleanup(&rsp);
    sp_grpc_stream_cleanup(&s);

    /* The same cut with an error status: the status explains it. */
    sp_grpc_stream_init(&s, READ_DESC, on_read, &c, 0);
    assert_int_equal(sp_grpc_stream_feed(&s, b.data, b.len - 2, &err), 0);
    reply(&rsp, NULL, 0, "14", "worker%20gone");
    assert_int_equal(sp_grpc_stream_finish(&s, &rsp, &err), SP_E_PROVIDER);
    assert_non_null(strstr(err.msg, "worker gone (gRPC UNAVAILABLE)"));
    sp_http_rsp_cleanup(&rsp);
    sp_grpc_stream_cleanup(&s);

    /* No trailers at all: protocol. */
    sp_grpc_stream_init(&s, READ_DESC, on_read, &c, 0);
    assert_int_equal(sp_grpc_stream_feed(&s, b.data, b.len, &err), 0);
    reply(&rsp, NULL, 0, NULL, NULL);
    assert_int_equal(sp_grpc_stream_finish(&s, &rsp, &err), SP_E_PROTOCOL);
    sp_http_rsp_cleanup(&rsp);
    sp_grpc_stream_cleanup(&s);

    /* The callback stops the stream: its error, and later feeds fail at once. */
    c.n = 0;
    c.fail_at = 2;
    sp_grpc_stream_init(&s, READ_DESC, on_read, &c, 0);
    assert_int_equal(sp_grpc_stream_feed(&s, b.data, b.len, &err), -1);
    assert_int_equal(err.code, SP_E_STATE);
    assert_int_equal(sp_grpc_stream_feed(&s, b.data, 1, &err), -1);
    sp_grpc_stream_cleanup(&s);

    /* A message over the limit. */
    sp_grpc_stream_init(&s, READ_DESC, on_read, &c, 4);
    assert_int_equal(sp_grpc_stream_feed(&s, b.data, b.len, &err), -1);
    assert_int_equal(err.code, SP_E_PROTOCOL);
    assert_non_null(strstr(err.msg, "exceeds the 4-byte limit"));
    sp_grpc_stream_cleanup(&s);
    sp_buf_cleanup(&c.data);
    sp_buf_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_bytes),
        cmocka_unit_test(test_unary_ok),
        cmocka_unit_test(test_trailers_only),
        cmocka_unit_test(test_status_classes),
        cmocka_unit_test(test_missing_and_unknown_status),
        cmocka_unit_test(test_not_grpc),
        cmocka_unit_test(test_broken_frames),
        cmocka_unit_test(test_truncated_protobuf),
        cmocka_unit_test(test_stream_every_split),
        cmocka_unit_test(test_stream_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
