/* Unit tests of the Connect framing (providers/connect.c): the incremental server-stream
 * parser fed a recorded envd stream in every chunking, the malformed streams it must turn
 * into protocol errors, end-of-stream errors and their classes, the envelope writer, and the
 * unary request and error helpers. No network. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "connect.h"

/* What the parser handed over: the kinds of events, in order, and how many. */
struct seen {
    char log[512];
    int n;
    int fail_at; /* return -1 for this message (1-based); 0 = never */
};

static int on_msg(void *user, const struct cJSON *msg, struct sp_error *err)
{
    struct seen *s = user;
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(msg, "event");
    const char *kind = ev && ev->child ? ev->child->string : "?";
    size_t used = strlen(s->log);
    snprintf(s->log + used, sizeof(s->log) - used, "%s%s", used ? "," : "", kind);
    if (++s->n == s->fail_at)
        return sp_error_set(err, SP_E_STATE, "callback refused message %d", s->n), -1;
    return 0;
}

static const char *const recorded[] = {
    "{\"event\":{\"start\":{\"pid\":412}}}",
    "{\"event\":{\"data\":{\"stdout\":\"aGkK\"}}}",
    "{\"event\":{\"data\":{\"stderr\":\"b29wcwo=\"}}}",
    "{\"event\":{\"end\":{\"exited\":true,\"status\":\"exit status 0\"}}}",
};

/* The recorded stream of spec A3: start, two data events, end, then {} end-of-stream. */
static void build_stream(struct sp_buf *b, const char *eos)
{
    sp_buf_init(b, 0);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(sp_connect_frame(b, 0, recorded[i], strlen(recorded[i])), 0);
    assert_int_equal(sp_connect_frame(b, SP_CONNECT_FLAG_END, eos, strlen(eos)), 0);
}

/* Feeds data in pieces of `step` bytes; returns the feed result and the finish class. */
static enum sp_err run(const struct sp_buf *b,
                       size_t len,
                       size_t step,
                       struct seen *s,
                       struct sp_error *err,
                       int *feed_rc)
{
    struct sp_connect_stream st;
    sp_connect_stream_init(&st, 0);
    sp_error_clear(err);
    *feed_rc = 0;
    for (size_t off = 0; off < len && *feed_rc == 0; off += step) {
        size_t n = len - off < step ? len - off : step;
        *feed_rc = sp_connect_stream_feed(&st, b->data + off, n, on_msg, s, err);
    }
    enum sp_err rc = *feed_rc == 0 ? sp_connect_stream_finish(&st, err) : err->code;
    sp_connect_stream_cleanup(&st);
    return rc;
}

static void test_recorded_stream_one_chunk(void **state)
{
    (void)state;
    struct sp_buf b;
    build_stream(&b, "{}");
    struct seen s = {0};
    struct sp_error err;
    int feed;
    assert_int_equal(run(&b, b.len, b.len, &s, &err, &feed), SP_E_OK);
    assert_string_equal(s.log, "start,data,data,end");
    sp_buf_cleanup(&b);
}

static void test_recorded_stream_byte_by_byte(void **state)
{
    (void)state;
    struct sp_buf b;
    build_stream(&b, "{}");
    struct seen s = {0};
    struct sp_error err;
    int feed;
    assert_int_equal(run(&b, b.len, 1, &s, &err, &feed), SP_E_OK);
    assert_string_equal(s.log, "start,data,data,end");
    sp_buf_cleanup(&b);
}

/* Every step size, so envelope boundaries land everywhere inside and across chunks. */
static void test_every_chunking(void **state)
{
    (void)state;
    struct sp_buf b;
    build_stream(&b, "{}");
    for (size_t step = 2; step <= b.len; step++) {
        struct seen s = {0};
        struct sp_error err;
        int feed;
        assert_int_equal(run(&b, b.len, step, &s, &err, &feed), SP_E_OK);
        assert_string_equal(s.log, "start,data,data,end");
    }
    sp_buf_cleanup(&b);
}

static void test_oversize_length_prefix(void **state)
{
    (void)state;
    const unsigned char bad[] = {0x00, 0x7f, 0xff, 0xff, 0xff, '{', '}'};
    struct sp_buf b;
    sp_buf_init(&b, 0);
    sp_buf_append(&b, bad, sizeof(bad));
    struct seen s = {0};
    struct sp_error err;
    int feed;
    assert_int_equal(run(&b, b.len, b.len, &s, &err, &feed), SP_E_PROTOCOL);
    assert_int_equal(feed, -1);
    assert_non_null(strstr(err.msg, "envelope of 2147483647 bytes exceeds"));
    assert_int_equal(s.n, 0);
    sp_buf_cleanup(&b);
}

static void test_small_limit(void **state)
{
    (void)state;
    struct sp_buf b;
    build_stream(&b, "{}");
    struct sp_connect_stream st;
    sp_connect_stream_init(&st, 16);
    struct seen s = {0};
    struct sp_error err;
    sp_error_clear(&err);
    assert_int_equal(sp_connect_stream_feed(&st, b.data, b.len, on_msg, &s, &err), -1);
    assert_int_equal(err.code, SP_E_PROTOCOL);
    assert_non_null(strstr(err.msg, "exceeds the 16-byte limit"));
    /* once failed, always failed */
    assert_int_equal(sp_connect_stream_feed(&st, "x", 1, on_msg, &s, &err), -1);
    assert_int_equal(sp_connect_stream_finish(&st, &err), SP_E_PROTOCOL);
    sp_connect_stream_cleanup(&st);
    sp_buf_cleanup(&b);
}

static void test_truncated_payload_and_prefix(void **state)
{
    (void)state;
    struct sp_buf b;
    build_stream(&b, "{}");
    size_t first = SP_CONNECT_PREFIX + strlen(recorded[0]);
    struct seen s = {0};
    struct sp_error err;
    int feed;
    /* cut inside the second envelope's payload */
    assert_int_equal(run(&b, first + SP_CONNECT_PREFIX + 3, 7, &s, &err, &feed), SP_E_PROTOCOL);
    assert_int_equal(feed, 0);
    assert_non_null(strstr(err.msg, "truncated: 3 of 36 bytes of envelope 2"));
    assert_string_equal(s.log, "start");
    /* cut inside the second envelope's prefix */
    memset(&s, 0, sizeof(s));
    assert_int_equal(run(&b, first + 2, 1, &s, &err, &feed), SP_E_PROTOCOL);
    assert_non_null(strstr(err.msg, "2 of 5 prefix bytes"));
    sp_buf_cleanup(&b);
}

static void test_invalid_json_in_frame(void **state)
{
    (void)state;
    struct sp_buf b;
    sp_buf_init(&b, 0);
    sp_connect_frame(&b, 0, recorded[0], strlen(recorded[0]));
    sp_connect_frame(&b, 0, "{\"event\":", 9);
    sp_connect_frame(&b, SP_CONNECT_FLAG_END, "{}", 2);
    struct seen s = {0};
    struct sp_error err;
    int feed;
    assert_int_equal(run(&b, b.len, 3, &s, &err, &feed), SP_E_PROTOCOL);
    assert_int_equal(feed, -1);
    assert_non_null(strstr(err.msg, "Connect message 2: invalid JSON"));
    /* a payload that is JSON but not an object, and an empty payload */
    sp_buf_reset(&b);
    sp_connect_frame(&b, 0, "[1]", 3);
    assert_int_equal(run(&b, b.len, b.len, &s, &err, &feed), SP_E_PROTOCOL);
    assert_non_null(strstr(err.msg, "expected a JSON object"));
    sp_buf_reset(&b);
    sp_connect_frame(&b, 0, "", 0);
    assert_int_equal(run(&b, b.len, 1, &s, &err, &feed), SP_E_PROTOCOL);
    assert_non_null(strstr(err.msg, "empty body"));
    sp_buf_cleanup(&b);
}

static void test_missing_end_of_stream(void **state)
{
    (void)state;
    struct sp_buf b;
    build_stream(&b, "{}");
    size_t eos = SP_CONNECT_PREFIX + 2;
    struct seen s = {0};
    struct sp_error err;
    int feed;
    assert_int_equal(run(&b, b.len - eos, 5, &s, &err, &feed), SP_E_PROTOCOL);
    assert_non_null(strstr(err.msg, "ended after 4 messages without an end-of-stream"));
    /* nothing at all */
    memset(&s, 0, sizeof(s));
    assert_int_equal(run(&b, 0, 1, &s, &err, &feed), SP_E_PROTOCOL);
    assert_int_equal(s.n, 0);
    sp_buf_cleanup(&b);
}

static void test_end_of_stream_errors(void **state)
{
    (void)state;
    static const struct {
        const char *code;
        enum sp_err cls;
        int grpc;
    } cases[] = {
        {"deadline_exceeded", SP_E_TIMEOUT, 4},
        {"unavailable", SP_E_PROVIDER, 14},
        {"not_found", SP_E_NOT_FOUND, 5},
        {"unauthenticated", SP_E_AUTH, 16},
        {"permission_denied", SP_E_AUTH, 7},
        {"invalid_argument", SP_E_PROTOCOL, 3},
        {"resource_exhausted", SP_E_RATE_LIMITED, 8},
        {"already_exists", SP_E_CONFLICT, 6},
        {"unimplemented", SP_E_UNSUPPORTED, 12},
        {"made_up_code", SP_E_PROVIDER, 2},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char eos[160];
        snprintf(eos, sizeof(eos),
                 "{\"error\":{\"code\":\"%s\",\"message\":\"boom %zu\"},\"metadata\":{}}",
                 cases[i].code, i);
        struct sp_buf b;
        build_stream(&b, eos);
        struct seen s = {0};
        struct sp_error err;
        int feed;
        assert_int_equal(run(&b, b.len, 11, &s, &err, &feed), cases[i].cls);
        assert_int_equal(err.grpc_status, cases[i].grpc);
        char want[32];
        snprintf(want, sizeof(want), "boom %zu", i);
        assert_non_null(strstr(err.msg, want));
        assert_int_equal(s.n, 4);
        sp_buf_cleanup(&b);
    }
}

static void test_bad_end_of_stream_payloads(void **state)
{
    (void)state;
    static const char *const bad[] = {"", "{", "[]", "{\"error\":\"x\"}",
                                      "{\"error\":{\"message\":\"no code\"}}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct sp_buf b;
        build_stream(&b, bad[i]);
        struct seen s = {0};
        struct sp_error err;
        int feed;
        assert_int_equal(run(&b, b.len, b.len, &s, &err, &feed), SP_E_PROTOCOL);
        assert_int_equal(feed, -1);
        assert_non_null(strstr(err.msg, "end-of-stream"));
        sp_buf_cleanup(&b);
    }
}

static void test_flags_and_trailing_data(void **state)
{
    (void)state;
    struct sp_buf b;
    sp_buf_init(&b, 0);
    sp_connect_frame(&b, SP_CONNECT_FLAG_COMPRESSED, "xx", 2);
    struct seen s = {0};
    struct sp_error err;
    int feed;
    assert_int_equal(run(&b, b.len, b.len, &s, &err, &feed), SP_E_PROTOCOL);
    assert_non_null(strstr(err.msg, "compressed"));
    sp_buf_reset(&b);
    sp_connect_frame(&b, 0x80, "{}", 2);
    assert_int_equal(run(&b, b.len, b.len, &s, &err, &feed), SP_E_PROTOCOL);
    assert_non_null(strstr(err.msg, "unknown flags 0x80"));
    /* anything after the end-of-stream message */
    sp_buf_cleanup(&b);
    build_stream(&b, "{}");
    sp_connect_frame(&b, 0, recorded[1], strlen(recorded[1]));
    memset(&s, 0, sizeof(s));
    assert_int_equal(run(&b, b.len, 4, &s, &err, &feed), SP_E_PROTOCOL);
    assert_non_null(strstr(err.msg, "after the end-of-stream message"));
    sp_buf_cleanup(&b);
}

static void test_callback_failure_stops_the_stream(void **state)
{
    (void)state;
    struct sp_buf b;
    build_stream(&b, "{}");
    struct seen s = {.fail_at = 2};
    struct sp_error err;
    int feed;
    assert_int_equal(run(&b, b.len, b.len, &s, &err, &feed), SP_E_STATE);
    assert_int_equal(feed, -1);
    assert_int_equal(s.n, 2);
    assert_string_equal(err.msg, "callback refused message 2");
    sp_buf_cleanup(&b);
}

static void test_frame_writer(void **state)
{
    (void)state;
    struct sp_buf b;
    sp_buf_init(&b, 0);
    assert_int_equal(sp_connect_frame(&b, SP_CONNECT_FLAG_END, "{}", 2), 0);
    const unsigned char want[] = {0x02, 0, 0, 0, 2, '{', '}'};
    assert_int_equal(b.len, sizeof(want));
    assert_memory_equal(b.data, want, sizeof(want));
    sp_buf_cleanup(&b);
    sp_buf_init(&b, 4); /* refuses to overflow a bounded buffer */
    assert_int_equal(sp_connect_frame(&b, 0, "{}", 2), -1);
    sp_buf_cleanup(&b);
}

static void test_code_names(void **state)
{
    (void)state;
    for (int c = 1; c <= 16; c++)
        assert_int_equal(sp_connect_code_parse(sp_connect_code_name(c)), c);
    assert_int_equal(sp_connect_code_parse("nope"), SP_CONNECT_UNKNOWN);
    assert_int_equal(sp_connect_code_from_http(401), SP_CONNECT_UNAUTHENTICATED);
    assert_int_equal(sp_connect_code_from_http(404), SP_CONNECT_UNIMPLEMENTED);
    assert_int_equal(sp_connect_code_from_http(502), SP_CONNECT_UNAVAILABLE);
    assert_int_equal(sp_connect_code_from_http(418), SP_CONNECT_UNKNOWN);
}

static void test_unary_request(void **state)
{
    (void)state;
    struct sp_http_req req;
    sp_http_req_init(&req);
    assert_int_equal(sp_connect_unary_request(&req, "http://h:1", "filesystem.Filesystem/Stat",
                                              "{\"path\":\"/x\"}", 3000),
                     0);
    assert_int_equal(req.method, SP_HTTP_POST);
    assert_string_equal(sp_buf_str(&req.url), "http://h:1/filesystem.Filesystem/Stat");
    assert_string_equal(sp_kv_geti(&req.headers, "content-type"), "application/json");
    assert_string_equal(sp_kv_geti(&req.headers, "Connect-Protocol-Version"), "1");
    assert_string_equal(sp_kv_geti(&req.headers, "Connect-Timeout-Ms"), "3000");
    assert_string_equal(sp_buf_str(&req.body), "{\"path\":\"/x\"}");
    sp_http_req_reset(&req);
    assert_int_equal(
        sp_connect_stream_request(&req, "http://h:1", "process.Process/Start", "{}", 0), 0);
    assert_string_equal(sp_kv_geti(&req.headers, "Content-Type"), "application/connect+json");
    assert_null(sp_kv_geti(&req.headers, "Connect-Timeout-Ms"));
    const unsigned char want[] = {0, 0, 0, 0, 2, '{', '}'};
    assert_int_equal(req.body.len, sizeof(want));
    assert_memory_equal(req.body.data, want, sizeof(want));
    sp_http_req_cleanup(&req);
}

static enum sp_err fail_with(int status, const char *body, struct sp_error *err)
{
    struct sp_http_rsp rsp;
    sp_http_rsp_init(&rsp);
    rsp.status = status;
    sp_buf_puts(&rsp.body, body);
    sp_error_clear(err);
    enum sp_err rc = sp_connect_fail(&rsp, err);
    sp_http_rsp_cleanup(&rsp);
    return rc;
}

static void test_unary_errors(void **state)
{
    (void)state;
    struct sp_error err;
    assert_int_equal(fail_with(404,
                               "{\"code\":\"not_found\",\"message\":\"path '/x' does not "
                               "exist\"}",
                               &err),
                     SP_E_NOT_FOUND);
    assert_string_equal(err.msg, "path '/x' does not exist");
    assert_int_equal(err.grpc_status, SP_CONNECT_NOT_FOUND);
    assert_int_equal(err.http_status, 404);
    /* the Connect code wins over the status */
    assert_int_equal(fail_with(504, "{\"code\":\"deadline_exceeded\"}", &err), SP_E_TIMEOUT);
    assert_string_equal(err.msg, "deadline_exceeded");
    assert_int_equal(fail_with(409, "{\"code\":\"already_exists\",\"message\":\"d\"}", &err),
                     SP_E_CONFLICT);
    assert_int_equal(err.grpc_status, SP_CONNECT_ALREADY_EXISTS);
    /* a plain HTTP error body, as envd's auth check writes it */
    assert_int_equal(fail_with(401, "{\"code\":401,\"message\":\"unauthorized access\"}", &err),
                     SP_E_AUTH);
    assert_string_equal(err.msg, "unauthorized access");
    assert_int_equal(err.grpc_status, -1); /* not a Connect error: no code */
    /* not JSON at all: the class from the status and a body excerpt */
    assert_int_equal(fail_with(503, "<html>busy</html>", &err), SP_E_PROVIDER);
    assert_non_null(strstr(err.msg, "busy"));
    assert_int_equal(err.grpc_status, -1);
    assert_int_equal(
        fail_with(404, "{\"code\":404,\"message\":\"path '/x' does not exist\"}", &err),
        SP_E_NOT_FOUND);
    /* a transport failure keeps its class */
    struct sp_http_rsp rsp;
    sp_http_rsp_init(&rsp);
    rsp.transport = SP_E_CONNECT;
    snprintf(rsp.transport_msg, sizeof(rsp.transport_msg), "connection refused");
    sp_error_clear(&err);
    assert_int_equal(sp_connect_fail(&rsp, &err), SP_E_CONNECT);
    assert_string_equal(err.msg, "connection refused");
    sp_http_rsp_cleanup(&rsp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recorded_stream_one_chunk),
        cmocka_unit_test(test_recorded_stream_byte_by_byte),
        cmocka_unit_test(test_every_chunking),
        cmocka_unit_test(test_oversize_length_prefix),
        cmocka_unit_test(test_small_limit),
        cmocka_unit_test(test_truncated_payload_and_prefix),
        cmocka_unit_test(test_invalid_json_in_frame),
        cmocka_unit_test(test_missing_end_of_stream),
        cmocka_unit_test(test_end_of_stream_errors),
        cmocka_unit_test(test_bad_end_of_stream_payloads),
        cmocka_unit_test(test_flags_and_trailing_data),
        cmocka_unit_test(test_callback_failure_stops_the_stream),
        cmocka_unit_test(test_frame_writer),
        cmocka_unit_test(test_code_names),
        cmocka_unit_test(test_unary_request),
        cmocka_unit_test(test_unary_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
