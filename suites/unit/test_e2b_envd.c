/* Unit tests of the E2B provider's data-plane steps (providers/e2b_envd.c): process.Start as
 * a Connect stream delivered in arbitrary chunks through the request's on_chunk, exit codes,
 * command timeouts and broken streams; files over envd's /files and the filesystem RPCs.
 * Responses are built by hand; no network. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "connect.h"
#include "e2b.h"

struct fx {
    struct sp_client *c;
    struct sp_sandbox *sb;
    struct sp_op op;
    struct sp_http_req req;
    struct sp_http_rsp rsp;
    struct sp_exec x;
    struct sp_files files;
    char log[1024]; /* exec events as seen by on_event */
};

static void on_event(void *user, enum sp_exec_event ev, const char *data, size_t len)
{
    struct fx *f = user;
    static const char *const tag[] = {"start", "out", "err", "end"};
    size_t used = strlen(f->log);
    snprintf(f->log + used, sizeof(f->log) - used, "%s%s%s%.*s", used ? "|" : "", tag[ev],
             data ? ":" : "", (int)len, data ? data : "");
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct sp_kv env;
    sp_kv_init(&env);
    sp_kv_set(&env, "E2B_API_KEY", "e2b_00ff");
    sp_kv_set(&env, "E2B_SANDBOX_URL", "http://envd.test");
    struct sp_error err;
    assert_int_equal(sp_client_new("e2b", &env, NULL, &f->c, &err), SP_E_OK);
    sp_kv_cleanup(&env);
    f->sb = sp__sandbox_new(f->c);
    snprintf(f->sb->id, sizeof(f->sb->id), "i3k9x0q2m7v1c8p4z6ab");
    snprintf(f->sb->data_url, sizeof(f->sb->data_url), "http://envd.test");
    snprintf(f->sb->workdir, sizeof(f->sb->workdir), "/home/user");
    sp_kv_set(&f->sb->data_headers, "E2b-Sandbox-Id", f->sb->id);
    sp_kv_set(&f->sb->data_headers, "X-Access-Token", "tok");
    sp_http_req_init(&f->req);
    sp_http_rsp_init(&f->rsp);
    sp_exec_init(&f->x, "echo hi");
    f->x.on_event = on_event;
    f->x.user = f;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    if (f->op.ctx_free)
        f->op.ctx_free(f->op.ctx);
    sp_exec_cleanup(&f->x);
    sp_files_cleanup(&f->files);
    sp_sandbox_free(f->sb);
    sp_http_req_cleanup(&f->req);
    sp_http_rsp_cleanup(&f->rsp);
    sp_client_free(f->c);
    free(f);
    return 0;
}

static enum sp_next step(struct fx *f, const struct sp_http_rsp *rsp)
{
    sp_step_fn fn = sp__provider_step(f->c->provider, f->op.step);
    if (rsp == NULL)
        sp_http_req_reset(&f->req);
    return fn(&f->op, rsp, &f->req, &f->op.err);
}

/* The final response: status, headers (Content-Type) and a body for non-2xx answers. */
static enum sp_next finish(struct fx *f, int status, const char *ctype, const char *body)
{
    sp_http_rsp_reset(&f->rsp);
    f->rsp.status = status;
    if (ctype)
        sp_kv_add(&f->rsp.headers, "Content-Type", ctype);
    sp_buf_puts(&f->rsp.body, body);
    return step(f, &f->rsp);
}

/* Frames msgs (NULL-terminated) plus an end-of-stream payload (NULL = none). */
static void frames(struct sp_buf *b, const char *const *msgs, const char *eos)
{
    sp_buf_init(b, 0);
    for (size_t i = 0; msgs[i]; i++)
        sp_connect_frame(b, 0, msgs[i], strlen(msgs[i]));
    if (eos)
        sp_connect_frame(b, SP_CONNECT_FLAG_END, eos, strlen(eos));
}

/* Starts exec and feeds the stream through on_chunk in pieces of `step`; returns the first
 * on_chunk failure (-1) or 0. */
static int exec_feed(struct fx *f, const struct sp_buf *b, size_t piece)
{
    sp_op_init_exec(&f->op, f->sb, &f->x);
    f->op.started_ms = sp_now_ms(); /* as sp_loop_submit does */
    assert_int_equal(step(f, NULL), SP_NEXT_REQUEST);
    assert_non_null(f->req.on_chunk);
    for (size_t off = 0; off < b->len; off += piece) {
        size_t n = b->len - off < piece ? b->len - off : piece;
        if (f->req.on_chunk(&f->op, b->data + off, n, &f->op.err) != 0)
            return -1;
    }
    return 0;
}

#define START     "{\"event\":{\"start\":{\"pid\":412}}}"
#define OUT_HI    "{\"event\":{\"data\":{\"stdout\":\"aGkK\"}}}"
#define ERR_OOPS  "{\"event\":{\"data\":{\"stderr\":\"b29wcwo=\"}}}"
#define KEEPALIVE "{\"event\":{\"keepalive\":{}}}"
#define END_OK    "{\"event\":{\"end\":{\"exited\":true,\"status\":\"exit status 0\"}}}"

static void test_exec_request(void **state)
{
    struct fx *f = *state;
    struct sp_kv env;
    sp_kv_init(&env);
    sp_kv_set(&env, "A", "1");
    f->x.env = &env;
    f->x.cwd = "/tmp";
    f->x.timeout_ms = 5000;
    sp_op_init_exec(&f->op, f->sb, &f->x);
    assert_int_equal(step(f, NULL), SP_NEXT_REQUEST);
    assert_int_equal(f->req.method, SP_HTTP_POST);
    assert_string_equal(sp_buf_str(&f->req.url), "http://envd.test/process.Process/Start");
    const struct sp_kv *h = &f->req.headers;
    assert_string_equal(sp_kv_geti(h, "Content-Type"), "application/connect+json");
    assert_string_equal(sp_kv_geti(h, "Connect-Protocol-Version"), "1");
    assert_string_equal(sp_kv_geti(h, "Connect-Timeout-Ms"), "5000");
    assert_string_equal(sp_kv_geti(h, "X-Access-Token"), "tok");
    assert_string_equal(sp_kv_geti(h, "E2b-Sandbox-Id"), "i3k9x0q2m7v1c8p4z6ab");
    assert_true(f->req.timeout_ms > 5000); /* curl's deadline trails envd's */
    /* one envelope holding the StartRequest */
    const unsigned char *b = (const unsigned char *)f->req.body.data;
    size_t n = (size_t)b[1] << 24 | (size_t)b[2] << 16 | (size_t)b[3] << 8 | b[4];
    assert_int_equal(b[0], 0);
    assert_int_equal(n + 5, f->req.body.len);
    cJSON *root = cJSON_ParseWithLength((const char *)b + 5, n);
    cJSON *proc = cJSON_GetObjectItem(root, "process");
    assert_string_equal(cJSON_GetObjectItem(proc, "cmd")->valuestring, "/bin/bash");
    cJSON *args = cJSON_GetObjectItem(proc, "args");
    assert_int_equal(cJSON_GetArraySize(args), 3);
    assert_string_equal(cJSON_GetArrayItem(args, 0)->valuestring, "-l");
    assert_string_equal(cJSON_GetArrayItem(args, 1)->valuestring, "-c");
    assert_string_equal(cJSON_GetArrayItem(args, 2)->valuestring, "echo hi");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(proc, "envs"), "A")->valuestring,
                        "1");
    assert_string_equal(cJSON_GetObjectItem(proc, "cwd")->valuestring, "/tmp");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(root, "stdin")));
    cJSON_Delete(root);
    sp_kv_cleanup(&env);
    f->op.ctx_free(f->op.ctx);
    f->x.timeout_ms = 0; /* the default deadline: 120 s */
    sp_op_init_exec(&f->op, f->sb, &f->x);
    assert_int_equal(step(f, NULL), SP_NEXT_REQUEST);
    assert_string_equal(sp_kv_geti(&f->req.headers, "Connect-Timeout-Ms"), "120000");
}

static void test_exec_streams_byte_by_byte(void **state)
{
    struct fx *f = *state;
    const char *const msgs[] = {START, OUT_HI, KEEPALIVE, ERR_OOPS, OUT_HI, END_OK, NULL};
    struct sp_buf b;
    frames(&b, msgs, "{}");
    assert_int_equal(exec_feed(f, &b, 1), 0);
    /* every event reached on_event before the response was complete */
    assert_string_equal(f->log, "start|out:hi\n|err:oops\n|out:hi\n");
    assert_int_equal(finish(f, 200, "application/connect+json", ""), SP_NEXT_DONE);
    assert_string_equal(f->log, "start|out:hi\n|err:oops\n|out:hi\n|end");
    assert_int_equal(f->x.exit_code, 0);
    assert_false(f->x.timed_out);
    assert_string_equal(sp_buf_str(&f->x.out), "hi\nhi\n");
    assert_string_equal(sp_buf_str(&f->x.err), "oops\n");
    assert_string_equal(f->x.detail, "exit status 0");
    sp_buf_cleanup(&b);
}

static void test_exec_nonzero_exit_is_a_result(void **state)
{
    struct fx *f = *state;
    const char *const msgs[] = {
        START,
        "{\"event\":{\"end\":{\"exitCode\":3,\"exited\":true,\"status\":\"exit status "
        "3\",\"error\":\"exit status 3\"}}}",
        NULL};
    struct sp_buf b;
    frames(&b, msgs, "{}");
    assert_int_equal(exec_feed(f, &b, 7), 0);
    assert_int_equal(finish(f, 200, "application/connect+json", ""), SP_NEXT_DONE);
    assert_int_equal(f->x.exit_code, 3);
    assert_false(f->x.timed_out);
    assert_string_equal(f->x.detail, "exit status 3"); /* error repeats it: said once */
    sp_buf_cleanup(&b);
    /* an error that says more than the status is kept */
    f->op.ctx_free(f->op.ctx);
    const char *const spawn[] = {
        START,
        "{\"event\":{\"end\":{\"exitCode\":-1,\"status\":\"signal: killed\",\"error\":"
        "\"oom\"}}}",
        NULL};
    frames(&b, spawn, "{}");
    assert_int_equal(exec_feed(f, &b, 9), 0);
    assert_int_equal(finish(f, 200, "application/connect+json", ""), SP_NEXT_DONE);
    assert_int_equal(f->x.exit_code, -1);
    assert_string_equal(f->x.detail, "signal: killed: oom");
    sp_buf_cleanup(&b);
}

static void test_exec_deadline_exceeded(void **state)
{
    struct fx *f = *state;
    const char *const msgs[] = {
        START, OUT_HI, "{\"event\":{\"end\":{\"exitCode\":-1,\"status\":\"signal: killed\"}}}",
        NULL};
    struct sp_buf b;
    frames(
        &b, msgs,
        "{\"error\":{\"code\":\"deadline_exceeded\",\"message\":\"context deadline exceeded\"}}");
    assert_int_equal(exec_feed(f, &b, 5), 0);
    assert_int_equal(finish(f, 200, "application/connect+json", ""), SP_NEXT_DONE);
    assert_true(f->x.timed_out);
    assert_int_equal(f->x.exit_code, -1);
    assert_string_equal(sp_buf_str(&f->x.out), "hi\n");
    assert_string_equal(f->x.detail, "signal: killed");
    sp_buf_cleanup(&b);
}

static void test_exec_killed_before_and_after_deadline(void **state)
{
    struct fx *f = *state;
    const char *const msgs[] = {
        START, "{\"event\":{\"end\":{\"exitCode\":-1,\"status\":\"signal: killed\"}}}", NULL};
    struct sp_buf b;
    frames(&b, msgs, "{}");
    f->x.timeout_ms = 60000;
    assert_int_equal(exec_feed(f, &b, 64), 0);
    assert_int_equal(finish(f, 200, "application/connect+json", ""), SP_NEXT_DONE);
    assert_false(f->x.timed_out); /* the command killed itself: its result */
    assert_int_equal(f->x.exit_code, -1);
    f->op.ctx_free(f->op.ctx);
    f->x.timeout_ms = 1000;
    assert_int_equal(exec_feed(f, &b, 64), 0);
    f->op.started_ms -= 1000; /* as if the deadline had passed while it ran */
    assert_int_equal(finish(f, 200, "application/connect+json", ""), SP_NEXT_DONE);
    assert_true(f->x.timed_out);
    sp_buf_cleanup(&b);
}

/* Broken streams: each must fail with `protocol` (or the class given) naming the fault. */
static void test_exec_broken_streams(void **state)
{
    struct fx *f = *state;
    static const struct {
        const char *msgs[4];
        const char *eos;
        bool chunk_fails;
        enum sp_err code;
        const char *want;
    } cases[] = {
        {{START, OUT_HI, NULL}, "{}", false, SP_E_PROTOCOL, "without an end event"},
        {{START, OUT_HI, END_OK, NULL}, NULL, false, SP_E_PROTOCOL, "without an end-of-stream"},
        {{OUT_HI, END_OK, NULL}, "{}", true, SP_E_PROTOCOL, "data event before the start"},
        {{START, START, NULL}, "{}", true, SP_E_PROTOCOL, "start event after the start"},
        {{START, END_OK, OUT_HI, NULL}, "{}", true, SP_E_PROTOCOL, "after the end event"},
        {{START, "{\"event\":{\"data\":{\"stdout\":\"%%%\"}}}", NULL},
         "{}",
         true,
         SP_E_PROTOCOL,
         "'stdout' is not base64"},
        {{START, "{\"evt\":{}}", NULL}, "{}", true, SP_E_PROTOCOL, "field 'event' is missing"},
        {{START, "{\"event\":{\"end\":{\"exitCode\":\"x\"}}}", NULL},
         "{}",
         true,
         SP_E_PROTOCOL,
         "'exitCode' is not an integer"},
        {{NULL},
         "{\"error\":{\"code\":\"invalid_argument\",\"message\":\"exec: no such file\"}}",
         false,
         SP_E_PROTOCOL,
         "exec: no such file"},
        {{START, NULL},
         "{\"error\":{\"code\":\"unavailable\",\"message\":\"sandbox gone\"}}",
         false,
         SP_E_PROVIDER,
         "sandbox gone"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (f->op.ctx_free)
            f->op.ctx_free(f->op.ctx);
        struct sp_buf b;
        frames(&b, cases[i].msgs, cases[i].eos);
        int rc = exec_feed(f, &b, 3);
        assert_int_equal(rc, cases[i].chunk_fails ? -1 : 0);
        if (rc == 0)
            assert_int_equal(finish(f, 200, "application/connect+json", ""), SP_NEXT_FAIL);
        assert_int_equal(f->op.err.code, cases[i].code);
        assert_non_null(strstr(f->op.err.msg, cases[i].want));
        sp_buf_cleanup(&b);
    }
}

static void test_exec_http_errors(void **state)
{
    struct fx *f = *state;
    struct sp_buf empty;
    sp_buf_init(&empty, 0);
    assert_int_equal(exec_feed(f, &empty, 1), 0);
    assert_int_equal(finish(f, 401, "application/json",
                            "{\"code\":401,\"message\":\"unauthorized access, please provide a "
                            "valid access token or method signing if supported\"}"),
                     SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_AUTH);
    assert_non_null(strstr(f->op.err.msg, "unauthorized access"));
    f->op.ctx_free(f->op.ctx);
    assert_int_equal(exec_feed(f, &empty, 1), 0);
    assert_int_equal(finish(f, 502, "application/json",
                            "{\"sandboxId\":\"x\",\"message\":\"The sandbox was not found\","
                            "\"code\":502}"),
                     SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_NOT_FOUND);
    assert_string_equal(f->op.err.msg, "The sandbox was not found");
    f->op.ctx_free(f->op.ctx);
    /* The sandbox is there, envd is not (crashed): the proxy's 502, not a missing sandbox. */
    assert_int_equal(exec_feed(f, &empty, 1), 0);
    assert_int_equal(finish(f, 502, "application/json",
                            "{\"sandboxId\":\"x\",\"message\":\"The sandbox is running but port "
                            "is not open\",\"port\":49983,\"code\":502}"),
                     SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_PROVIDER);
    assert_int_equal(f->op.err.http_status, 502);
    f->op.ctx_free(f->op.ctx);
    assert_int_equal(exec_feed(f, &empty, 1), 0);
    assert_int_equal(finish(f, 200, "text/html", ""), SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_PROTOCOL);
    assert_non_null(strstr(f->op.err.msg, "expected application/connect+json"));
    /* curl's own deadline after the process started: the command timed out */
    f->op.ctx_free(f->op.ctx);
    struct sp_buf b;
    const char *const msgs[] = {START, NULL};
    frames(&b, msgs, NULL);
    assert_int_equal(exec_feed(f, &b, 100), 0);
    sp_http_rsp_reset(&f->rsp);
    f->rsp.transport = SP_E_TIMEOUT;
    assert_int_equal(step(f, &f->rsp), SP_NEXT_DONE);
    assert_true(f->x.timed_out);
    sp_buf_cleanup(&b);
    sp_buf_cleanup(&empty);
}

/* --- files ------------------------------------------------------------------------------------ */

static enum sp_next
files_start(struct fx *f, enum sp_file_kind kind, const char *path, const void *data, size_t len)
{
    if (f->op.ctx_free)
        f->op.ctx_free(f->op.ctx);
    sp_files_cleanup(&f->files);
    sp_files_init(&f->files, kind, path);
    f->files.data = data;
    f->files.len = len;
    sp_op_init_files(&f->op, f->sb, &f->files);
    return step(f, NULL);
}

static bool contains(const struct sp_buf *b, const void *needle, size_t n)
{
    for (size_t i = 0; i + n <= b->len; i++) {
        if (memcmp(b->data + i, needle, n) == 0)
            return true;
    }
    return false;
}

static void test_files_upload_and_download(void **state)
{
    struct fx *f = *state;
    static const char data[] = "bin\0ary";
    assert_int_equal(files_start(f, SP_FILE_UPLOAD, "dir/a b.txt", data, sizeof(data) - 1),
                     SP_NEXT_REQUEST);
    assert_int_equal(f->req.method, SP_HTTP_POST);
    assert_string_equal(sp_buf_str(&f->req.url),
                        "http://envd.test/files?path=%2Fhome%2Fuser%2Fdir%2Fa%20b.txt");
    assert_string_equal(sp_kv_geti(&f->req.headers, "X-Access-Token"), "tok");
    assert_non_null(strstr(sp_kv_geti(&f->req.headers, "Content-Type"), "multipart/form-data"));
    assert_non_null(strstr(f->req.body.data, "name=\"file\"; filename=\"/home/user/dir/a b.txt\""));
    assert_true(contains(&f->req.body, data, sizeof(data) - 1));
    assert_int_equal(finish(f, 200, "application/json",
                            "[{\"path\":\"/home/user/dir/a b.txt\",\"name\":\"a b.txt\","
                            "\"type\":\"file\"}]"),
                     SP_NEXT_DONE);
    assert_string_equal(f->files.resolved_path, "/home/user/dir/a b.txt");
    assert_int_equal(finish(f, 200, "application/json", "[]"), SP_NEXT_FAIL);
    assert_non_null(strstr(f->op.err.msg, "an empty array"));
    assert_int_equal(finish(f, 507, "application/json",
                            "{\"code\":507,\"message\":\"not enough disk space available\"}"),
                     SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_PROVIDER);
    assert_string_equal(f->op.err.msg, "not enough disk space available");

    assert_int_equal(files_start(f, SP_FILE_DOWNLOAD, "/etc/x", NULL, 0), SP_NEXT_REQUEST);
    assert_int_equal(f->req.method, SP_HTTP_GET);
    assert_string_equal(sp_buf_str(&f->req.url), "http://envd.test/files?path=%2Fetc%2Fx");
    sp_http_rsp_reset(&f->rsp);
    f->rsp.status = 200;
    sp_buf_append(&f->rsp.body, data, sizeof(data) - 1);
    assert_int_equal(step(f, &f->rsp), SP_NEXT_DONE);
    assert_int_equal(f->files.content.len, sizeof(data) - 1);
    assert_memory_equal(f->files.content.data, data, sizeof(data) - 1);
    assert_int_equal(finish(f, 404, "application/json",
                            "{\"code\":404,\"message\":\"path '/etc/x' does not exist\"}"),
                     SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_NOT_FOUND);
    assert_string_equal(f->op.err.msg, "path '/etc/x' does not exist");
}

static void test_files_rpcs(void **state)
{
    struct fx *f = *state;
    assert_int_equal(files_start(f, SP_FILE_LIST, NULL, NULL, 0), SP_NEXT_REQUEST);
    assert_string_equal(sp_buf_str(&f->req.url), "http://envd.test/filesystem.Filesystem/ListDir");
    assert_string_equal(sp_kv_geti(&f->req.headers, "Content-Type"), "application/json");
    assert_string_equal(sp_kv_geti(&f->req.headers, "Connect-Protocol-Version"), "1");
    assert_string_equal(sp_buf_str(&f->req.body), "{\"path\":\"/home/user\",\"depth\":1}");
    assert_int_equal(finish(f, 200, "application/json",
                            "{\"entries\":[{\"name\":\"a.txt\",\"type\":\"FILE_TYPE_FILE\","
                            "\"path\":\"/home/user/a.txt\",\"size\":\"12\",\"mode\":420},"
                            "{\"name\":\"d\",\"type\":\"FILE_TYPE_DIRECTORY\",\"path\":"
                            "\"/home/user/d\"}]}"),
                     SP_NEXT_DONE);
    assert_int_equal(f->files.n_entries, 2);
    assert_string_equal(f->files.entries[0].name, "a.txt");
    assert_int_equal(f->files.entries[0].size, 12);
    assert_false(f->files.entries[0].is_dir);
    assert_true(f->files.entries[1].is_dir);
    assert_int_equal(f->files.entries[1].size, 0); /* zero values are omitted */
    assert_int_equal(finish(f, 200, "application/json", "{}"), SP_NEXT_DONE); /* empty dir */
    assert_int_equal(f->files.n_entries, 0);
    assert_int_equal(finish(f, 200, "application/json", "{\"entries\":[{\"type\":1}]}"),
                     SP_NEXT_FAIL);
    assert_non_null(strstr(f->op.err.msg, "required field 'name' is missing"));

    assert_int_equal(files_start(f, SP_FILE_STAT, "a.txt", NULL, 0), SP_NEXT_REQUEST);
    assert_string_equal(sp_buf_str(&f->req.body), "{\"path\":\"/home/user/a.txt\"}");
    assert_int_equal(finish(f, 200, "application/json",
                            "{\"entry\":{\"name\":\"a.txt\",\"path\":\"/home/user/a.txt\","
                            "\"size\":\"5\"}}"),
                     SP_NEXT_DONE);
    assert_int_equal(f->files.n_entries, 1);
    assert_int_equal(f->files.entries[0].size, 5);
    assert_int_equal(
        finish(f, 404, "application/json", "{\"code\":\"not_found\",\"message\":\"no such file\"}"),
        SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_NOT_FOUND);

    assert_int_equal(files_start(f, SP_FILE_MKDIR, "/tmp/d", NULL, 0), SP_NEXT_REQUEST);
    assert_string_equal(sp_buf_str(&f->req.url), "http://envd.test/filesystem.Filesystem/MakeDir");
    assert_int_equal(
        finish(f, 409, "application/json", "{\"code\":\"already_exists\",\"message\":\"exists\"}"),
        SP_NEXT_DONE);
    assert_int_equal(finish(f, 400, "application/json",
                            "{\"code\":\"invalid_argument\",\"message\":\"not a directory\"}"),
                     SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_PROTOCOL);

    assert_int_equal(files_start(f, SP_FILE_REMOVE, "/tmp/d", NULL, 0), SP_NEXT_REQUEST);
    assert_string_equal(sp_buf_str(&f->req.url), "http://envd.test/filesystem.Filesystem/Remove");
    assert_int_equal(finish(f, 200, "application/json", "{}"), SP_NEXT_DONE);
    assert_int_equal(finish(f, 401, "application/json",
                            "{\"code\":\"unauthenticated\",\"message\":\"invalid user\"}"),
                     SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_AUTH);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_exec_request),
        T(test_exec_streams_byte_by_byte),
        T(test_exec_nonzero_exit_is_a_result),
        T(test_exec_deadline_exceeded),
        T(test_exec_killed_before_and_after_deadline),
        T(test_exec_broken_streams),
        T(test_exec_http_errors),
        T(test_files_upload_and_download),
        T(test_files_rpcs),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
