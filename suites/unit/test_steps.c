/* Unit tests of what the providers' step machines share (providers/steps.c) and of the one
 * exec/files dispatch (sp__provider_step in providers/provider.c): the step context, the
 * attach start, state polling against the deadline, the wait for a data-plane daemon, the
 * multipart upload body, and exec going to the action server only when the configuration's
 * caps say it runs one. Driven by hand, no network. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "provider_int.h"

struct fx {
    struct sp_client *client;
    struct sp_sandbox *sb;
    struct sp_op op;
    struct sp_http_req req;
    struct sp_error err;
};

static struct fx *fx_new(const char *mode)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    struct sp_kv env;
    sp_kv_init(&env);
    sp_kv_set(&env, "DAYTONA_API_KEY", "k");
    sp_kv_set(&env, "DAYTONA_API_URL", "http://127.0.0.1:9/api");
    struct sp_client_opts o = {
        .mode = mode, .ready_timeout_ms = 7000, .alive_interval_ms = 250, .alive_timeout_ms = 5000};
    assert_int_equal(sp_client_new("daytona", &env, &o, &f->client, &f->err), SP_E_OK);
    sp_kv_cleanup(&env);
    f->sb = sp__sandbox_new(f->client);
    assert_non_null(f->sb);
    snprintf(f->sb->id, sizeof(f->sb->id), "sb-1");
    snprintf(f->sb->workdir, sizeof(f->sb->workdir), "/workspace");
    snprintf(f->sb->data_url, sizeof(f->sb->data_url), "http://127.0.0.1:9/as");
    sp_http_req_init(&f->req);
    sp_error_clear(&f->err);
    return f;
}

static void fx_free(struct fx *f)
{
    if (f->op.ctx_free)
        f->op.ctx_free(f->op.ctx);
    sp_http_req_cleanup(&f->req);
    sp_sandbox_free(f->sb);
    sp_client_free(f->client);
    free(f);
}

static void test_ctx_and_attach_begin(void **state)
{
    (void)state;
    struct fx *f = fx_new(NULL);
    sp_op_init_attach(&f->op, f->client, "team", NULL);
    assert_null(sp__attach_begin(&f->op, 32, &f->err));
    assert_int_equal(f->err.code, SP_E_CONFIG);
    assert_string_equal(f->err.msg, "attach needs a key and a value");
    assert_null(f->op.ctx);
    sp_op_init_attach(&f->op, f->client, "team", "red");
    unsigned char *ctx = sp__attach_begin(&f->op, 32, &f->err);
    assert_non_null(ctx);
    assert_ptr_equal(f->op.ctx, ctx);
    assert_ptr_equal(f->op.ctx_free, free);
    for (int i = 0; i < 32; i++)
        assert_int_equal(ctx[i], 0);
    fx_free(f);
}

static void test_poll_later(void **state)
{
    (void)state;
    struct fx *f = fx_new(NULL);
    sp_op_init_startup(&f->op, f->sb);
    f->op.deadline_ms = sp_now_ms() + 60000;
    assert_int_equal(sp__poll_later(&f->op, "devbox", "running", 300, &f->err), SP_NEXT_WAIT);
    assert_int_equal(f->op.wait_ms, 300);
    f->op.deadline_ms = sp_now_ms() - 1;
    assert_int_equal(sp__poll_later(&f->op, "devbox", "running", 300, &f->err), SP_NEXT_FAIL);
    assert_int_equal(f->err.code, SP_E_TIMEOUT);
    assert_string_equal(f->err.msg, "devbox sb-1 not running after 7 s (last state: none)");
    sp__sandbox_set_state(f->sb, "provisioning");
    assert_int_equal(sp__poll_later(&f->op, "devbox", "running", 300, &f->err), SP_NEXT_FAIL);
    assert_non_null(strstr(f->err.msg, "(last state: provisioning)"));
    fx_free(f);
}

static void test_daemon_not_up(void **state)
{
    (void)state;
    struct fx *f = fx_new(NULL);
    sp_op_init_startup(&f->op, f->sb);
    int64_t deadline = 0;
    int64_t before = sp_now_ms();
    assert_int_equal(sp__daemon_not_up(&f->op, &deadline, 502, "toolbox", "sandbox", &f->err),
                     SP_NEXT_WAIT);
    assert_true(deadline >= before + 5000);
    assert_int_equal(f->op.wait_ms, 250);
    deadline = before - 1; /* passed */
    assert_int_equal(sp__daemon_not_up(&f->op, &deadline, 503, "toolbox", "sandbox", &f->err),
                     SP_NEXT_FAIL);
    assert_int_equal(f->err.code, SP_E_TIMEOUT);
    assert_string_equal(f->err.msg,
                        "toolbox not answering after 5000 ms (last: HTTP 503; sandbox state: "
                        "unknown)");
    fx_free(f);
}

static void test_upload_body(void **state)
{
    (void)state;
    struct fx *f = fx_new(NULL);
    struct sp_files files;
    sp_files_init(&files, SP_FILE_UPLOAD, "/workspace/dir/");
    files.data = "abc";
    files.len = 3;
    assert_int_equal(sp__files_upload_body(&f->req, &files, files.path, "path", "file", &f->err),
                     SP_NEXT_FAIL);
    assert_int_equal(f->err.code, SP_E_CONFIG);
    assert_string_equal(f->err.msg, "upload: '/workspace/dir/' is not a file path");
    assert_int_equal(sp_http_req_url(&f->req, SP_HTTP_POST, "http://127.0.0.1:9/up"), 0);
    assert_int_equal(sp__files_upload_body(&f->req, &files, "/workspace/dir/a.txt", "files[0].path",
                                           "files[0].file", &f->err),
                     SP_NEXT_REQUEST);
    const char *body = sp_buf_str(&f->req.body);
    assert_non_null(strstr(body, "name=\"files[0].path\"\r\n\r\n/workspace/dir/a.txt\r\n"));
    assert_non_null(strstr(body, "name=\"files[0].file\"; filename=\"a.txt\""));
    assert_non_null(strstr(body, "\r\n\r\nabc\r\n"));
    sp_files_cleanup(&files);
    fx_free(f);
}

/* The same exec step slot serves the action server or the provider's own exec, by caps. */
static void exec_first_url(const char *mode, char *url, size_t len)
{
    struct fx *f = fx_new(mode);
    struct sp_exec x;
    sp_exec_init(&x, "echo hi");
    sp_op_init_exec(&f->op, f->sb, &x);
    sp_step_fn fn = sp__provider_step(f->client->provider, SP_STEP_EXEC);
    assert_non_null(fn);
    assert_int_equal(fn(&f->op, NULL, &f->req, &f->err), SP_NEXT_REQUEST);
    snprintf(url, len, "%s", sp_buf_str(&f->req.url));
    sp_exec_cleanup(&x);
    fx_free(f);
}

static void test_exec_routing(void **state)
{
    (void)state;
    char url[512];
    exec_first_url(NULL, url, sizeof(url));
    assert_string_equal(url, "http://127.0.0.1:9/as/execute_action");
    exec_first_url("toolbox", url, sizeof(url));
    assert_string_equal(url, "http://127.0.0.1:9/api/toolbox/sb-1/toolbox/process/execute");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ctx_and_attach_begin), cmocka_unit_test(test_poll_later),
        cmocka_unit_test(test_daemon_not_up),        cmocka_unit_test(test_upload_body),
        cmocka_unit_test(test_exec_routing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
