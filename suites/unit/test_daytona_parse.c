/* Unit tests of the Daytona provider (providers/daytona*.c), with no network: configuration
 * from an env list, the wire format (spec/daytona-runloop.md Part A, SDK 0.24.2) against
 * good and broken bodies, and every lifecycle step machine driven by hand with recorded
 * responses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "action_server.h"
#include "daytona.h"
#include "step_fixture.h"

/* The minimal 0.24.2 Sandbox of A4, with a session key in env. */
#define SANDBOX_JSON(state, pub)                                                              \
    "{\"id\":\"e7c5deb5-7723-4bb8-93c6-25258d9b7c53\",\"organizationId\":\"org1\","           \
    "\"snapshot\":\"my-snap\",\"user\":\"daytona\",\"env\":{\"port\":\"4444\","               \
    "\"SESSION_API_KEY\":\"k123\"},\"labels\":{\"OpenHands_SID\":\"s1\"},\"public\":" pub "," \
    "\"target\":\"eu\",\"cpu\":1,\"gpu\":0,\"memory\":1,\"disk\":3,\"state\":\"" state "\","  \
    "\"desiredState\":\"started\",\"errorReason\":null,\"backupState\":\"None\","             \
    "\"autoStopInterval\":60,\"autoArchiveInterval\":10080,\"autoDeleteInterval\":-1,"        \
    "\"runnerDomain\":\"r1.example\",\"volumes\":[],\"class\":\"small\","                     \
    "\"createdAt\":\"2025-07-18T10:00:00.000Z\",\"updatedAt\":\"2025-07-18T10:00:02.000Z\","  \
    "\"daemonVersion\":\"0.1.0\"}"
#define SB_ID "e7c5deb5-7723-4bb8-93c6-25258d9b7c53"
#define API   "http://127.0.0.1:9/api"

/* --- fixtures -------------------------------------------------------------------------------- */

static enum sp_err client_with(
    const char *mode, const char *k1, const char *v1, struct sp_client **out, struct sp_error *err)
{
    const char *env[] = {
        "DAYTONA_API_KEY", "dtn_secret_key", "DAYTONA_API_URL", API "/", k1, v1, NULL};
    struct sp_client_opts opts = {.mode = mode, .ready_timeout_ms = 7000};
    return step_fx_client("daytona", env, &opts, out, err);
}

static int fx_new(void **state, const char *mode, const char *k1, const char *v1)
{
    struct sp_client *c = NULL;
    struct sp_error err;
    client_with(mode, k1, v1, &c, &err);
    return step_fx_new(state, c);
}

static int fx_setup(void **state)
{
    return fx_new(state, NULL, NULL, NULL);
}

static int fx_setup_toolbox(void **state)
{
    return fx_new(state, "toolbox", NULL, NULL);
}

static int fx_setup_delete(void **state)
{
    return fx_new(state, NULL, "DAYTONA_DELETE_ON_CLOSE", "true");
}

static const char *jget(const cJSON *o, const char *a, const char *b)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);
    if (b)
        x = cJSON_GetObjectItemCaseSensitive(x, b);
    return cJSON_IsString(x) ? x->valuestring : NULL;
}

/* A sandbox handle as create would leave it. */
static void fx_sandbox(struct step_fx *f, bool is_public)
{
    f->sb = sp__sandbox_new(f->client);
    snprintf(f->sb->id, sizeof(f->sb->id), SB_ID);
    snprintf(f->sb->workdir, sizeof(f->sb->workdir), "/workspace");
    if (!is_public)
        f->sb->flags |= SP_SB_TOKEN;
    sp_kv_set(&f->sb->data_headers, SP_AS_SESSION_HEADER, "k123");
}

/* --- configuration --------------------------------------------------------------------------- */

static void expect_config(const char *mode, const char *k, const char *v, const char *msg_part)
{
    struct sp_client *c = NULL;
    struct sp_error err;
    enum sp_err rc = client_with(mode, k, v, &c, &err);
    step_fx_config_error(rc, c, &err, msg_part, "dtn_secret_key");
}

static void test_configure(void **state)
{
    (void)state;
    struct sp_client *c = NULL;
    struct sp_error err;
    struct sp_kv env;
    sp_kv_init(&env);
    assert_int_equal(sp_client_new("daytona", &env, NULL, &c, &err), SP_E_CONFIG);
    assert_non_null(strstr(err.msg, "DAYTONA_API_KEY"));
    sp_kv_set(&env, "DAYTONA_API_KEY", "");
    assert_int_equal(sp_client_new("daytona", &env, NULL, &c, &err), SP_E_CONFIG);
    sp_kv_set(&env, "DAYTONA_API_KEY", "k");
    assert_int_equal(sp_client_new("daytona", &env, NULL, &c, &err), SP_E_OK);
    const struct daytona_cfg *cfg = c->cfg;
    assert_string_equal(cfg->api_url, DAYTONA_DEFAULT_URL);
    assert_false(cfg->delete_on_close);
    assert_string_equal(sp_client_session_key(c), "OpenHands_SID");
    assert_int_equal(sp_client_caps(c), SP_CAP_LABELS | SP_CAP_PERSIST_SHELL |
                                            SP_CAP_WRITE_NEWLINE | SP_CAP_STOP |
                                            SP_CAP_ACCESS_TOKEN | SP_CAP_ACTION_SERVER);
    sp_client_free(c);
    sp_kv_cleanup(&env);

    assert_int_equal(client_with("toolbox", "DAYTONA_DELETE_ON_CLOSE", "TRUE", &c, &err), SP_E_OK);
    cfg = c->cfg;
    assert_string_equal(cfg->api_url, API); /* trailing slash dropped */
    assert_true(cfg->delete_on_close);
    assert_int_equal(sp_client_caps(c) & (SP_CAP_PERSIST_SHELL | SP_CAP_ACTION_SERVER), 0);
    assert_int_not_equal(sp_client_caps(c) & SP_CAP_FILE_STAT, 0);
    sp_client_free(c);
    assert_int_equal(client_with("action-server", "DAYTONA_DISABLE_AUTO_STOP", "1", &c, &err),
                     SP_E_OK);
    assert_true(((const struct daytona_cfg *)c->cfg)->disable_auto_stop);
    sp_client_free(c);

    expect_config("sandbox", NULL, NULL, "action-server, toolbox");
    expect_config(NULL, "DAYTONA_API_URL", "ftp://x", "DAYTONA_API_URL");
    expect_config(NULL, "DAYTONA_DELETE_ON_CLOSE", "maybe", "DAYTONA_DELETE_ON_CLOSE");
    expect_config(NULL, "DAYTONA_DISABLE_AUTO_STOP", "2", "DAYTONA_DISABLE_AUTO_STOP");
}

/* --- the wire format ------------------------------------------------------------------------- */

static void test_build_create(void **state)
{
    (void)state;
    struct sp_kv env;
    sp_kv_init(&env);
    sp_kv_set(&env, "FOO", "bar");
    sp_kv_set(&env, "port", "9999"); /* the caller's value wins */
    struct daytona_create_req c = {.session = "s1",
                                   .run_id = "run7",
                                   .session_api_key = "k",
                                   .env = &env,
                                   .action_server = true,
                                   .is_public = true,
                                   .auto_stop_minutes = 60,
                                   .target = "eu"};
    struct sp_buf out;
    struct sp_error err;
    sp_buf_init(&out, 0);
    assert_int_equal(sp__daytona_build_create(&c, &out, &err), SP_E_OK);
    cJSON *j = cJSON_Parse(sp_buf_str(&out));
    assert_non_null(j);
    assert_string_equal(jget(j, "env", "port"), "9999");
    assert_string_equal(jget(j, "env", "PYTHONUNBUFFERED"), "1");
    assert_string_equal(jget(j, "env", "VSCODE_PORT"), "4445");
    assert_string_equal(jget(j, "env", "SESSION_API_KEY"), "k");
    assert_string_equal(jget(j, "env", "FOO"), "bar");
    assert_string_equal(jget(j, "labels", "OpenHands_SID"), "s1");
    assert_string_equal(jget(j, "labels", "sandprobe_run"), "run7");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "public")));
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(j, "autoStopInterval")->valueint, 60);
    assert_string_equal(jget(j, "target", NULL), "eu");
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "snapshot"));
    cJSON_Delete(j);

    struct daytona_create_req t = {.session = "s2", .snapshot = "snap", .is_public = false};
    assert_int_equal(sp__daytona_build_create(&t, &out, &err), SP_E_OK);
    j = cJSON_Parse(sp_buf_str(&out));
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "public")));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "env")), 0);
    assert_null(jget(j, "labels", "sandprobe_run"));
    assert_string_equal(jget(j, "snapshot", NULL), "snap");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(j, "autoStopInterval")->valueint, 0);
    cJSON_Delete(j);
    sp_kv_cleanup(&env);
    sp_buf_cleanup(&out);
}

static void test_parse_sandbox(void **state)
{
    (void)state;
    struct daytona_sandbox d;
    struct sp_error err;
    const char *good = SANDBOX_JSON("started", "true");
    assert_int_equal(sp__daytona_parse_sandbox(good, strlen(good), &d, &err), SP_E_OK);
    assert_string_equal(d.id, SB_ID);
    assert_string_equal(d.state, "started");
    assert_string_equal(d.session, "s1");
    assert_string_equal(d.session_api_key, "k123");
    assert_true(d.is_public);
    const char *nulls = "{\"id\":\"x\",\"labels\":null,\"env\":null,\"state\":\"error\","
                        "\"errorReason\":\"disk full\"}";
    assert_int_equal(sp__daytona_parse_sandbox(nulls, strlen(nulls), &d, &err), SP_E_OK);
    assert_string_equal(d.session, "");
    assert_string_equal(d.error_reason, "disk full");

    static const char *const bad[] = {
        "",
        "{",
        "[]",
        "{\"state\":\"started\"}",
        "{\"id\":7}",
        "{\"id\":\"\"}",
        "{\"id\":\"x\",\"state\":1}",
        "{\"id\":\"x\",\"public\":\"yes\"}",
        "{\"id\":\"x\",\"labels\":\"a=b\"}",
        "{\"id\":\"x\",\"labels\":{\"OpenHands_SID\":5}}",
        "{\"id\":\"x\",\"env\":[]}",
        "{\"id\":\"x\",\"errorReason\":{}}",
        "{\"id\":\"e7c5deb5-7723-4bb8-93c6-25258d9b7c53\",\"state\":\"star",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        enum sp_err rc = sp__daytona_parse_sandbox(bad[i], strlen(bad[i]), &d, &err);
        if (rc != SP_E_PROTOCOL)
            fail_msg("body %zu: %s", i, sp_err_name(rc));
    }
    char big[400];
    memset(big, 'a', sizeof(big));
    char body[600];
    snprintf(body, sizeof(body), "{\"id\":\"%.*s\"}", (int)sizeof(big), big);
    assert_int_equal(sp__daytona_parse_sandbox(body, strlen(body), &d, &err), SP_E_PROTOCOL);
    assert_non_null(strstr(err.msg, "'id'"));
}

static void test_parse_list(void **state)
{
    (void)state;
    struct daytona_list l;
    struct sp_error err;
    memset(&l, 0, sizeof(l));
    const char *arr =
        "[{\"id\":\"a\",\"state\":\"destroyed\"},{\"id\":\"b\",\"state\":\"started\"}]";
    assert_int_equal(sp__daytona_parse_list(arr, strlen(arr), &l, &err), SP_E_OK);
    assert_int_equal(l.matches, 1);
    assert_string_equal(l.first.id, "b");
    assert_string_equal(l.cursor, "");
    const char *page = "{\"items\":[{\"id\":\"c\",\"state\":\"stopped\"}],\"nextCursor\":\"n2\"}";
    assert_int_equal(sp__daytona_parse_list(page, strlen(page), &l, &err), SP_E_OK);
    assert_int_equal(l.matches, 2);
    assert_string_equal(l.first.id, "b");
    assert_string_equal(l.cursor, "n2");
    const char *last = "{\"items\":[],\"nextCursor\":null}";
    assert_int_equal(sp__daytona_parse_list(last, strlen(last), &l, &err), SP_E_OK);
    assert_string_equal(l.cursor, "");
    static const char *const bad[] = {"",
                                      "{}",
                                      "{\"items\":{}}",
                                      "5",
                                      "[1]",
                                      "[{\"id\":3}]",
                                      "{\"items\":[],\"nextCursor\":4}",
                                      "[{\"id\":\"a\"},"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(sp__daytona_parse_list(bad[i], strlen(bad[i]), &l, &err), SP_E_PROTOCOL);
}

static void test_parse_misc(void **state)
{
    (void)state;
    struct sp_error err;
    char u[128], t[64], msg[128];
    const char *pv = "{\"url\":\"http://4444-x.localhost:81/\",\"token\":\"tok\","
                     "\"legacyProxyUrl\":\"https://4444-x.r1\"}";
    assert_int_equal(sp__daytona_parse_preview(pv, strlen(pv), u, sizeof(u), t, sizeof(t), &err),
                     SP_E_OK);
    assert_string_equal(u, "http://4444-x.localhost:81");
    assert_string_equal(t, "tok");
    assert_int_equal(
        sp__daytona_parse_preview("{\"token\":\"t\"}", 13, u, sizeof(u), t, sizeof(t), &err),
        SP_E_PROTOCOL);
    assert_int_equal(sp__daytona_parse_preview("{\"url\":\"javascript:x\"}", 22, u, sizeof(u), t,
                                               sizeof(t), &err),
                     SP_E_PROTOCOL);

    const char *nest = "{\"statusCode\":404,\"timestamp\":\"t\",\"path\":\"/api/sandbox/abc\","
                       "\"error\":\"Not Found\",\"message\":\"Sandbox with ID abc not found\"}";
    assert_int_equal(sp__daytona_parse_error(nest, strlen(nest), msg, sizeof(msg)), 0);
    assert_string_equal(msg, "Sandbox with ID abc not found");
    const char *arr = "{\"statusCode\":400,\"message\":[\"cpu must be an integer number\","
                      "\"disk must be positive\"]}";
    assert_int_equal(sp__daytona_parse_error(arr, strlen(arr), msg, sizeof(msg)), 0);
    assert_string_equal(msg, "cpu must be an integer number, disk must be positive");
    const char *wrapped =
        "{\"response\":{\"message\":\"Sandbox is not running\"},\"status\":400,"
        "\"message\":\"Sandbox is not running\",\"name\":\"BadRequestException\"}";
    assert_int_equal(sp__daytona_parse_error(wrapped, strlen(wrapped), msg, sizeof(msg)), 0);
    assert_string_equal(msg, "Sandbox is not running");
    assert_int_equal(sp__daytona_parse_error("Bad Gateway", 11, msg, sizeof(msg)), -1);
    assert_int_equal(sp__daytona_parse_error("{\"message\":3}", 13, msg, sizeof(msg)), -1);

    struct sp_exec x;
    sp_exec_init(&x, "c");
    assert_int_equal(
        sp__daytona_parse_execute("{\"exitCode\":3,\"result\":\"out\\nerr\"}", 34, &x, &err),
        SP_E_OK);
    assert_int_equal(x.exit_code, 3);
    assert_string_equal(sp_buf_str(&x.out), "out\nerr");
    assert_int_equal(sp__daytona_parse_execute("{\"result\":\"\"}", 13, &x, &err), SP_E_PROTOCOL);
    assert_int_equal(sp__daytona_parse_execute("{\"exitCode\":\"0\"}", 16, &x, &err),
                     SP_E_PROTOCOL);
    assert_int_equal(sp__daytona_parse_execute("{\"exitCode\":0,\"result\":1}", 25, &x, &err),
                     SP_E_PROTOCOL);
    sp_exec_cleanup(&x);

    struct sp_files fl;
    sp_files_init(&fl, SP_FILE_LIST, "/");
    const char *fi =
        "[{\"name\":\"a\",\"isDir\":true,\"size\":4096,\"modTime\":\"x\",\"mode\":\"drwx\","
        "\"permissions\":\"0755\",\"owner\":\"1000\",\"group\":\"1000\"},"
        "{\"name\":\"b.txt\",\"isDir\":false,\"size\":12}]";
    assert_int_equal(sp__daytona_parse_file_list(fi, strlen(fi), &fl, &err), SP_E_OK);
    assert_int_equal(fl.n_entries, 2);
    assert_true(fl.entries[0].is_dir);
    assert_int_equal(fl.entries[1].size, 12);
    assert_int_equal(sp__daytona_parse_file_list("[{\"name\":\"a\"}]", 14, &fl, &err),
                     SP_E_PROTOCOL);
    assert_int_equal(sp__daytona_parse_file_list("[{\"name\":\"a\",\"isDir\":1}]", 25, &fl, &err),
                     SP_E_PROTOCOL);
    assert_int_equal(
        sp__daytona_parse_file_info("{\"name\":\"b\",\"isDir\":false,\"size\":1}", 35, &fl, &err),
        SP_E_OK);
    assert_int_equal(fl.n_entries, 1);
    assert_string_equal(fl.entries[0].name, "b");
    assert_int_equal(sp__daytona_parse_file_info("[]", 2, &fl, &err), SP_E_PROTOCOL);
    sp_files_cleanup(&fl);

    char dir[64];
    assert_int_equal(
        sp__daytona_parse_project_dir("{\"dir\":\"/home/daytona\"}", 23, dir, sizeof(dir), &err),
        SP_E_OK);
    assert_string_equal(dir, "/home/daytona");
    assert_int_equal(sp__daytona_parse_project_dir("{\"dir\":\"rel\"}", 13, dir, sizeof(dir), &err),
                     SP_E_PROTOCOL);
    assert_int_equal(sp__daytona_parse_project_dir("{}", 2, dir, sizeof(dir), &err), SP_E_PROTOCOL);
}

/* --- auth, create, attach -------------------------------------------------------------------- */

static void test_auth_step(void **state)
{
    struct step_fx *f = *state;
    sp_op_init_auth(&f->op, f->client);
    assert_int_equal(step_fx_run(f, sp_provider_daytona.auth, 0, NULL), SP_NEXT_REQUEST);
    assert_int_equal(f->req.method, SP_HTTP_GET);
    assert_non_null(strstr(req_url(&f->req), API "/sandbox?labels=%7B"));
    assert_string_equal(sp_kv_geti(&f->req.headers, "Authorization"), "Bearer dtn_secret_key");
    assert_string_equal(sp_kv_geti(&f->req.headers, "X-Daytona-SDK-Version"), "0.24.2");
    assert_int_equal(step_fx_run(f, sp_provider_daytona.auth, 200, "[]"), SP_NEXT_DONE);
    sp_op_init_auth(&f->op, f->client);
    assert_int_equal(
        step_fx_run(f, sp_provider_daytona.auth, 401,
                    "{\"statusCode\":401,\"timestamp\":\"t\",\"path\":\"/api/sandbox\","
                    "\"error\":\"Http Exception\",\"message\":\"Unauthorized\"}"),
        SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_AUTH);
    assert_int_equal(f->op.err.http_status, 401);
    assert_non_null(strstr(f->op.err.msg, "Unauthorized"));
    assert_null(strstr(f->op.err.msg, "dtn_secret_key"));
    sp_op_init_auth(&f->op, f->client);
    assert_int_equal(step_fx_run(f, sp_provider_daytona.auth, 200, "{\"oops\":1}"), SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_PROTOCOL);
}

static void test_create_step(void **state)
{
    struct step_fx *f = *state;
    struct sp_create_opts o = {.session = "sess-1", .run_id = "r9", .access = SP_ACCESS_TOKEN};
    sp_op_init_create(&f->op, f->client, &o);
    assert_int_equal(step_fx_run(f, sp_provider_daytona.create, 0, NULL), SP_NEXT_REQUEST);
    assert_int_equal(f->req.method, SP_HTTP_POST);
    assert_string_equal(req_url(&f->req), API "/sandbox");
    /* The API blocks until the sandbox started: create waits as long as the ready deadline. */
    assert_int_equal(f->req.timeout_ms, 7000);
    cJSON *j = req_json(&f->req);
    assert_string_equal(jget(j, "labels", "OpenHands_SID"), "sess-1");
    assert_string_equal(jget(j, "labels", "sandprobe_run"), "r9");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "public")));
    const char *key = jget(j, "env", "SESSION_API_KEY");
    assert_non_null(key);
    assert_int_equal(strlen(key), 32);
    char key_copy[40];
    snprintf(key_copy, sizeof(key_copy), "%s", key);
    cJSON_Delete(j);

    assert_int_equal(step_fx_run(f, sp_provider_daytona.create, 200,
                                 "{\"id\":\"sb-9\",\"state\":\"creating\",\"public\":false,"
                                 "\"labels\":{\"OpenHands_SID\":\"sess-1\"}}"),
                     SP_NEXT_DONE);
    struct sp_sandbox *sb = f->op.sandbox;
    assert_non_null(sb);
    assert_string_equal(sb->id, "sb-9");
    assert_string_equal(sb->state, "creating");
    assert_string_equal(sb->session, "sess-1");
    assert_string_equal(sb->workdir, "/workspace");
    assert_true(sb->flags & SP_SB_TOKEN);
    assert_string_equal(sp_kv_get(&sb->data_headers, SP_AS_SESSION_HEADER), key_copy);
    sp_sandbox_free(sb);
    step_fx_op_done(f);

    /* A generated session; the server's errors. */
    struct sp_create_opts d = {0};
    sp_op_init_create(&f->op, f->client, &d);
    assert_int_equal(step_fx_run(f, sp_provider_daytona.create, 0, NULL), SP_NEXT_REQUEST);
    j = req_json(&f->req);
    assert_true(strncmp(jget(j, "labels", "OpenHands_SID"), "sp-", 3) == 0);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "public")));
    cJSON_Delete(j);
    assert_int_equal(
        step_fx_run(f, sp_provider_daytona.create, 400,
                    "{\"statusCode\":400,\"message\":[\"cpu must be an integer number\"]}"),
        SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_PROTOCOL);
    assert_non_null(strstr(f->op.err.msg, "cpu must be an integer number"));
    assert_null(f->op.sandbox);
    step_fx_op_done(f);
    sp_op_init_create(&f->op, f->client, &d);
    assert_int_equal(step_fx_run(f, sp_provider_daytona.create, 0, NULL), SP_NEXT_REQUEST);
    assert_int_equal(step_fx_run(f, sp_provider_daytona.create, 500,
                                 "{\"statusCode\":500,\"message\":"
                                 "\"runner failed\"}"),
                     SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_PROVIDER);
    step_fx_op_done(f);
    sp_op_init_create(&f->op, f->client, &d);
    assert_int_equal(step_fx_run(f, sp_provider_daytona.create, 0, NULL), SP_NEXT_REQUEST);
    assert_int_equal(step_fx_run(f, sp_provider_daytona.create, 200, "{\"id\":"), SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_PROTOCOL);
    assert_null(f->op.sandbox);
}

static void attach(struct step_fx *f, const char *value)
{
    step_fx_op_done(f);
    sp_op_init_attach(&f->op, f->client, NULL, value);
    assert_int_equal(step_fx_run(f, sp_provider_daytona.attach, 0, NULL), SP_NEXT_REQUEST);
}

static void test_attach_step(void **state)
{
    struct step_fx *f = *state;
    attach(f, "s1");
    assert_string_equal(req_url(&f->req),
                        API "/sandbox?labels=%7B%22OpenHands_SID%22%3A%22s1%22%7D");
    char body[2048];
    snprintf(body, sizeof(body), "[%s,{\"id\":\"old\",\"state\":\"destroyed\"}]",
             SANDBOX_JSON("stopped", "true"));
    assert_int_equal(step_fx_run(f, sp_provider_daytona.attach, 200, body), SP_NEXT_DONE);
    struct sp_sandbox *sb = f->op.sandbox;
    assert_string_equal(sb->id, SB_ID);
    assert_string_equal(sb->state, "stopped");
    assert_string_equal(sb->session, "s1");
    assert_string_equal(sp_kv_get(&sb->data_headers, SP_AS_SESSION_HEADER), "k123");
    assert_false(sb->flags & SP_SB_TOKEN);
    sp_sandbox_free(sb);

    attach(f, "none");
    assert_int_equal(step_fx_run(f, sp_provider_daytona.attach, 200, "[]"), SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_NOT_FOUND);
    assert_non_null(strstr(f->op.err.msg, "OpenHands_SID=none"));
    attach(f, "two");
    assert_int_equal(
        step_fx_run(f, sp_provider_daytona.attach, 200, "[{\"id\":\"a\"},{\"id\":\"b\"}]"),
        SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_CONFLICT);

    /* The cursor shape, followed across pages. */
    attach(f, "paged");
    assert_int_equal(
        step_fx_run(f, sp_provider_daytona.attach, 200,
                    "{\"items\":[{\"id\":\"p1\",\"state\":\"started\"}],\"nextCursor\":\"c/2\"}"),
        SP_NEXT_REQUEST);
    assert_non_null(strstr(req_url(&f->req), "&cursor=c%2F2"));
    assert_int_equal(
        step_fx_run(f, sp_provider_daytona.attach, 200, "{\"items\":[],\"nextCursor\":null}"),
        SP_NEXT_DONE);
    assert_string_equal(f->op.sandbox->id, "p1");
    sp_sandbox_free(f->op.sandbox);
    attach(f, "paged2");
    assert_int_equal(step_fx_run(f, sp_provider_daytona.attach, 200,
                                 "{\"items\":[{\"id\":\"p1\"}],\"nextCursor\":\"n\"}"),
                     SP_NEXT_REQUEST);
    assert_int_equal(
        step_fx_run(f, sp_provider_daytona.attach, 200, "{\"items\":[{\"id\":\"p2\"}]}"),
        SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_CONFLICT);
    attach(f, "x");
    assert_int_equal(step_fx_run(f, sp_provider_daytona.attach, 500,
                                 "{\"statusCode\":500,\"message\":\"Unexpected token in JSON\"}"),
                     SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_PROVIDER);
}

/* --- startup --------------------------------------------------------------------------------- */

static void test_startup_action_server(void **state)
{
    struct step_fx *f = *state;
    fx_sandbox(f, false);
    sp_op_init_startup(&f->op, f->sb);
    sp_step_fn st = sp_provider_daytona.startup;
    assert_int_equal(step_fx_run(f, st, 0, NULL), SP_NEXT_REQUEST);
    assert_string_equal(req_url(&f->req), API "/sandbox/" SB_ID);
    assert_int_equal(step_fx_run(f, st, 200, SANDBOX_JSON("creating", "false")), SP_NEXT_WAIT);
    assert_int_equal(f->op.wait_ms, DAYTONA_POLL_MS);
    assert_string_equal(f->sb->state, "creating");
    assert_int_equal(step_fx_run(f, st, 0, NULL), SP_NEXT_REQUEST);
    assert_int_equal(step_fx_run(f, st, 200, SANDBOX_JSON("started", "false")), SP_NEXT_REQUEST);
    assert_string_equal(req_url(&f->req), API "/toolbox/" SB_ID "/toolbox/process/session");
    cJSON *j = req_json(&f->req);
    assert_string_equal(jget(j, "sessionId", NULL), "action-execution-server");
    cJSON_Delete(j);
    assert_int_equal(step_fx_run(f, st, 201, ""), SP_NEXT_REQUEST);
    assert_string_equal(req_url(&f->req), API
                        "/toolbox/" SB_ID "/toolbox/process/session/action-execution-server/exec");
    j = req_json(&f->req);
    assert_non_null(strstr(jget(j, "command", NULL),
                           "mkdir -p /workspace && cd /openhands/code && "
                           "/openhands/micromamba/bin/micromamba run -n openhands poetry run "
                           "python -u -m openhands.runtime.action_execution_server 4444 "
                           "--working-dir /workspace"));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "async")));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "runAsync")));
    cJSON_Delete(j);
    assert_int_equal(
        step_fx_run(f, st, 202, "{\"cmdId\":\"c1\",\"output\":null,\"exitCode\":null}"),
        SP_NEXT_REQUEST);
    assert_true(f->sb->flags & SP_SB_SERVER_STARTED);
    assert_string_equal(req_url(&f->req), API "/sandbox/" SB_ID "/ports/4444/preview-url");
    assert_int_equal(step_fx_run(f, st, 200,
                                 "{\"url\":\"http://4444-" SB_ID ".localhost:9\","
                                 "\"token\":\"ptok\",\"legacyProxyUrl\":\"x\"}"),
                     SP_NEXT_REQUEST);
    assert_string_equal(f->sb->data_url, "http://4444-" SB_ID ".localhost:9");
    assert_string_equal(f->sb->access_header, DAYTONA_PREVIEW_HEADER);
    assert_int_equal(f->sb->data_retry.retry_502_for_ms, 120000);
    assert_int_equal(f->sb->data_retry.wait_502_ms, 1000);
    assert_int_equal(f->sb->data_retry.max_attempts_429, 3);
    assert_string_equal(req_url(&f->req), "http://4444-" SB_ID ".localhost:9/alive");
    assert_string_equal(sp_kv_geti(&f->req.headers, DAYTONA_PREVIEW_HEADER), "ptok");
    assert_int_equal(step_fx_run(f, st, 502, "Bad Gateway"), SP_NEXT_WAIT);
    assert_int_equal(step_fx_run(f, st, 0, NULL), SP_NEXT_REQUEST);
    assert_int_equal(step_fx_run(f, st, 200, "{\"status\":\"ok\"}"), SP_NEXT_DONE);
    assert_true(sp_sandbox_forget_access_token(f->sb));
    assert_null(sp_kv_geti(&f->sb->data_headers, DAYTONA_PREVIEW_HEADER));
}

static void test_startup_paths(void **state)
{
    struct step_fx *f = *state;
    sp_step_fn st = sp_provider_daytona.startup;
    fx_sandbox(f, true);
    /* An attached stopped sandbox is started, and its server with it, even when the
     * session is still known (409). */
    const char *exists = "{\"statusCode\":409,\"message\":\"session already exists\"}";
    sp_op_init_startup(&f->op, f->sb);
    assert_int_equal(step_fx_run(f, st, 0, NULL), SP_NEXT_REQUEST);
    assert_int_equal(step_fx_run(f, st, 200, SANDBOX_JSON("stopped", "true")), SP_NEXT_REQUEST);
    assert_int_equal(f->req.method, SP_HTTP_POST);
    assert_string_equal(req_url(&f->req), API "/sandbox/" SB_ID "/start");
    assert_int_equal(step_fx_run(f, st, 200, SANDBOX_JSON("starting", "true")), SP_NEXT_REQUEST);
    assert_string_equal(req_url(&f->req), API "/sandbox/" SB_ID);
    assert_int_equal(step_fx_run(f, st, 200, SANDBOX_JSON("started", "true")), SP_NEXT_REQUEST);
    assert_int_equal(step_fx_run(f, st, 409, exists), SP_NEXT_REQUEST);
    assert_non_null(strstr(req_url(&f->req), "/process/session/action-execution-server/exec"));
    step_fx_op_done(f);
    /* A started one whose session exists already runs its server. */
    sp_op_init_startup(&f->op, f->sb);
    assert_int_equal(step_fx_run(f, st, 0, NULL), SP_NEXT_REQUEST);
    assert_int_equal(step_fx_run(f, st, 200, SANDBOX_JSON("started", "true")), SP_NEXT_REQUEST);
    assert_int_equal(step_fx_run(f, st, 409, exists), SP_NEXT_REQUEST);
    assert_string_equal(req_url(&f->req), API "/sandbox/" SB_ID "/ports/4444/preview-url");
    assert_int_equal(step_fx_run(f, st, 200, "{\"url\":\"http://h:1\",\"token\":\"ptok\"}"),
                     SP_NEXT_REQUEST);
    assert_null(sp_kv_geti(&f->req.headers, DAYTONA_PREVIEW_HEADER)); /* public: no token */
    assert_string_equal(f->sb->access_header, SP_AS_SESSION_HEADER);
    step_fx_op_done(f);

    /* An error state fails at once with the reason. */
    sp_op_init_startup(&f->op, f->sb);
    assert_int_equal(step_fx_run(f, st, 0, NULL), SP_NEXT_REQUEST);
    assert_int_equal(step_fx_run(f, st, 200,
                                 "{\"id\":\"x\",\"state\":\"build_failed\","
                                 "\"errorReason\":\"no such snapshot\"}"),
                     SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_STATE);
    assert_non_null(strstr(f->op.err.msg, "build_failed"));
    assert_non_null(strstr(f->op.err.msg, "no such snapshot"));
    step_fx_op_done(f);

    /* The ready deadline names the last state seen. */
    sp_op_init_startup(&f->op, f->sb);
    assert_int_equal(step_fx_run(f, st, 0, NULL), SP_NEXT_REQUEST);
    f->op.deadline_ms = 1;
    assert_int_equal(step_fx_run(f, st, 200, SANDBOX_JSON("pulling_snapshot", "true")),
                     SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_TIMEOUT);
    assert_non_null(strstr(f->op.err.msg, "not started after 7 s (last state: pulling_snapshot)"));
    step_fx_op_done(f);

    sp_op_init_startup(&f->op, f->sb);
    assert_int_equal(step_fx_run(f, st, 0, NULL), SP_NEXT_REQUEST);
    assert_int_equal(step_fx_run(f, st, 404,
                                 "{\"statusCode\":404,\"message\":\"Sandbox with ID x not "
                                 "found\"}"),
                     SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_NOT_FOUND);
    step_fx_op_done(f);
    sp_op_init_startup(&f->op, f->sb);
    assert_int_equal(step_fx_run(f, st, 0, NULL), SP_NEXT_REQUEST);
    assert_int_equal(step_fx_run(f, st, 200, SANDBOX_JSON("started", "true")), SP_NEXT_REQUEST);
    assert_int_equal(step_fx_run(f, st, 400,
                                 "{\"response\":{},\"status\":400,\"message\":\"Sandbox is "
                                 "not running\"}"),
                     SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_CONFLICT);
}

static void test_startup_toolbox(void **state)
{
    struct step_fx *f = *state;
    fx_sandbox(f, true);
    f->sb->workdir[0] = '\0';
    sp_op_init_startup(&f->op, f->sb);
    sp_step_fn st = sp_provider_daytona.startup;
    assert_int_equal(step_fx_run(f, st, 0, NULL), SP_NEXT_REQUEST);
    assert_int_equal(step_fx_run(f, st, 200, SANDBOX_JSON("started", "true")), SP_NEXT_REQUEST);
    assert_string_equal(req_url(&f->req), API "/toolbox/" SB_ID "/toolbox/project-dir");
    assert_int_equal(step_fx_run(f, st, 200, "{\"dir\":\"/home/daytona\"}"), SP_NEXT_DONE);
    assert_string_equal(f->sb->workdir, "/home/daytona");
    assert_string_equal(f->sb->data_url, API "/toolbox/" SB_ID "/toolbox");
    assert_string_equal(sp_kv_get(&f->sb->data_headers, "Authorization"), "Bearer dtn_secret_key");
}

/* --- toolbox exec and files ------------------------------------------------------------------ */

static void test_toolbox_exec(void **state)
{
    struct step_fx *f = *state;
    fx_sandbox(f, true);
    snprintf(f->sb->workdir, sizeof(f->sb->workdir), "/home/daytona");
    struct sp_exec x;
    sp_exec_init(&x, "echo $A");
    struct sp_kv env;
    sp_kv_init(&env);
    sp_kv_set(&env, "A", "1");
    x.env = &env;
    x.cwd = "proj";
    x.timeout_ms = 1500;
    sp_op_init_exec(&f->op, f->sb, &x);
    assert_int_equal(step_fx_run(f, sp_provider_daytona.exec, 0, NULL), SP_NEXT_REQUEST);
    assert_string_equal(req_url(&f->req), API "/toolbox/" SB_ID "/toolbox/process/execute");
    assert_int_equal(f->req.timeout_ms, 6500);
    cJSON *j = req_json(&f->req);
    assert_string_equal(jget(j, "cwd", NULL), "/home/daytona/proj");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(j, "timeout")->valueint, 2);
    const char *cmd = jget(j, "command", NULL);
    const char *pre = "sh -c \"echo '", *post = "' | base64 -d | sh\"";
    assert_true(strncmp(cmd, pre, strlen(pre)) == 0);
    size_t n = strlen(cmd) - strlen(pre) - strlen(post);
    assert_string_equal(cmd + strlen(pre) + n, post);
    struct sp_buf dec;
    sp_buf_init(&dec, 0);
    assert_int_equal(sp_base64_decode(cmd + strlen(pre), n, &dec), 0);
    assert_string_equal(sp_buf_str(&dec), "(export A=1 && echo $A\n)");
    sp_buf_cleanup(&dec);
    cJSON_Delete(j);
    assert_int_equal(
        step_fx_run(f, sp_provider_daytona.exec, 200, "{\"exitCode\":0,\"result\":\"1\\n\"}"),
        SP_NEXT_DONE);
    assert_int_equal(x.exit_code, 0);
    assert_string_equal(sp_buf_str(&x.out), "1\n");

    sp_exec_cleanup(&x);
    sp_exec_init(&x, "sleep 9");
    sp_op_init_exec(&f->op, f->sb, &x);
    assert_int_equal(step_fx_run(f, sp_provider_daytona.exec, 0, NULL), SP_NEXT_REQUEST);
    assert_int_equal(step_fx_run(f, sp_provider_daytona.exec, 408,
                                 "{\"statusCode\":408,\"message\":"
                                 "\"command execution timeout\"}"),
                     SP_NEXT_DONE);
    assert_true(x.timed_out);
    assert_int_equal(x.exit_code, -1);
    assert_string_equal(x.detail, "command execution timeout");
    sp_op_init_exec(&f->op, f->sb, &x);
    assert_int_equal(step_fx_run(f, sp_provider_daytona.exec, 0, NULL), SP_NEXT_REQUEST);
    assert_int_equal(step_fx_run(f, sp_provider_daytona.exec, 200, "{\"exitCode\":null}"),
                     SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_PROTOCOL);
    sp_exec_cleanup(&x);
    sp_kv_cleanup(&env);
}

static void toolbox_files(struct step_fx *f,
                          struct sp_files *fl,
                          enum sp_file_kind kind,
                          const char *path,
                          enum sp_method m,
                          const char *want_url)
{
    sp_files_cleanup(fl);
    sp_files_init(fl, kind, path);
    sp_op_init_files(&f->op, f->sb, fl);
    assert_int_equal(step_fx_run(f, sp_provider_daytona.files, 0, NULL), SP_NEXT_REQUEST);
    assert_int_equal(f->req.method, m);
    assert_string_equal(req_url(&f->req), want_url);
}

static void test_toolbox_files(void **state)
{
    struct step_fx *f = *state;
    fx_sandbox(f, true);
    snprintf(f->sb->workdir, sizeof(f->sb->workdir), "/home/daytona");
    struct sp_files fl;
    sp_files_init(&fl, SP_FILE_LIST, "x");
    const char *tb = API "/toolbox/" SB_ID "/toolbox/files";
    char want[512];

    snprintf(want, sizeof(want), "%s?path=%%2Fhome%%2Fdaytona%%2Fd", tb);
    toolbox_files(f, &fl, SP_FILE_LIST, "d", SP_HTTP_GET, want);
    assert_int_equal(step_fx_run(f, sp_provider_daytona.files, 200,
                                 "[{\"name\":\"a\",\"isDir\":false,\"size\":3}]"),
                     SP_NEXT_DONE);
    assert_int_equal(fl.n_entries, 1);

    snprintf(want, sizeof(want), "%s/info?path=%%2Fetc%%2Fhosts", tb);
    toolbox_files(f, &fl, SP_FILE_STAT, "/etc/hosts", SP_HTTP_GET, want);
    assert_int_equal(
        step_fx_run(f, sp_provider_daytona.files, 404,
                    "{\"statusCode\":404,\"message\":\"file not found\",\"code\":\"Not "
                    "Found\"}"),
        SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_NOT_FOUND);
    assert_non_null(strstr(f->op.err.msg, "/etc/hosts"));

    snprintf(want, sizeof(want), "%s/folder?path=%%2Fa%%2Fb&mode=0755", tb);
    toolbox_files(f, &fl, SP_FILE_MKDIR, "/a/b", SP_HTTP_POST, want);
    assert_int_equal(step_fx_run(f, sp_provider_daytona.files, 201, ""), SP_NEXT_DONE);

    snprintf(want, sizeof(want), "%s?path=%%2Fa&recursive=true", tb);
    toolbox_files(f, &fl, SP_FILE_REMOVE, "/a", SP_HTTP_DELETE, want);
    assert_int_equal(step_fx_run(f, sp_provider_daytona.files, 204, ""), SP_NEXT_DONE);

    snprintf(want, sizeof(want), "%s/download?path=%%2Fa%%2Fbin", tb);
    toolbox_files(f, &fl, SP_FILE_DOWNLOAD, "/a/bin", SP_HTTP_GET, want);
    sp_http_rsp_reset(&f->rsp);
    f->rsp.status = 200;
    sp_buf_append(&f->rsp.body, "\x00\x01\x02", 3);
    sp_http_req_reset(&f->req);
    assert_int_equal(sp_provider_daytona.files(&f->op, &f->rsp, &f->req, &f->op.err), SP_NEXT_DONE);
    assert_int_equal(fl.content.len, 3);
    assert_memory_equal(fl.content.data, "\x00\x01\x02", 3);

    snprintf(want, sizeof(want), "%s/bulk-upload", tb);
    toolbox_files(f, &fl, SP_FILE_UPLOAD, "up/x.bin", SP_HTTP_POST, want);
    const char *body = f->req.body.data;
    const char *p = strstr(body, "name=\"files[0].path\"\r\n\r\n/home/daytona/up/x.bin\r\n");
    const char *q = strstr(body, "name=\"files[0].file\"; filename=\"x.bin\"");
    assert_non_null(p);
    assert_non_null(q);
    assert_true(p < q); /* the daemon wants the path part first */
    assert_int_equal(step_fx_run(f, sp_provider_daytona.files, 200, ""), SP_NEXT_DONE);
    assert_string_equal(fl.resolved_path, "/home/daytona/up/x.bin");
    sp_files_cleanup(&fl);
}

/* --- cleanup --------------------------------------------------------------------------------- */

static void test_cleanup_delete(void **state)
{
    struct step_fx *f = *state;
    fx_sandbox(f, true);
    sp_step_fn cl = sp_provider_daytona.cleanup;
    sp_op_init_cleanup(&f->op, f->sb, SP_CLEANUP_DEFAULT); /* DAYTONA_DELETE_ON_CLOSE=true */
    assert_int_equal(step_fx_run(f, cl, 0, NULL), SP_NEXT_REQUEST);
    assert_int_equal(f->req.method, SP_HTTP_DELETE);
    assert_string_equal(req_url(&f->req), API "/sandbox/" SB_ID "?force=true");
    assert_int_equal(step_fx_run(f, cl, 200, ""), SP_NEXT_REQUEST);
    assert_string_equal(req_url(&f->req), API "/sandbox/" SB_ID);
    assert_int_equal(step_fx_run(f, cl, 200, SANDBOX_JSON("destroying", "true")), SP_NEXT_WAIT);
    assert_int_equal(step_fx_run(f, cl, 0, NULL), SP_NEXT_REQUEST);
    assert_int_equal(step_fx_run(f, cl, 200, SANDBOX_JSON("destroyed", "true")), SP_NEXT_DONE);
    assert_string_equal(f->sb->state, "destroyed");
    step_fx_op_done(f);

    sp_op_init_cleanup(&f->op, f->sb, SP_CLEANUP_DELETE);
    assert_int_equal(step_fx_run(f, cl, 0, NULL), SP_NEXT_REQUEST);
    assert_int_equal(step_fx_run(f, cl, 200, ""), SP_NEXT_REQUEST);
    assert_int_equal(step_fx_run(f, cl, 404, "{\"statusCode\":404,\"message\":\"not found\"}"),
                     SP_NEXT_DONE);
    step_fx_op_done(f);
    sp_op_init_cleanup(&f->op, f->sb, SP_CLEANUP_DELETE);
    assert_int_equal(step_fx_run(f, cl, 0, NULL), SP_NEXT_REQUEST);
    assert_int_equal(step_fx_run(f, cl, 404, "{\"statusCode\":404,\"message\":\"not found\"}"),
                     SP_NEXT_DONE); /* already gone */
    step_fx_op_done(f);
    sp_op_init_cleanup(&f->op, f->sb, SP_CLEANUP_DELETE);
    assert_int_equal(step_fx_run(f, cl, 0, NULL), SP_NEXT_REQUEST);
    assert_int_equal(step_fx_run(f, cl, 200, ""), SP_NEXT_REQUEST);
    f->op.deadline_ms = 1;
    assert_int_equal(step_fx_run(f, cl, 200, SANDBOX_JSON("destroying", "true")), SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_TIMEOUT);
    assert_non_null(strstr(f->op.err.msg, "not destroyed after 7 s (last state: destroying)"));
}

static void test_cleanup_stop(void **state)
{
    struct step_fx *f = *state;
    fx_sandbox(f, true);
    sp_step_fn cl = sp_provider_daytona.cleanup;
    sp_op_init_cleanup(&f->op, f->sb, SP_CLEANUP_DEFAULT); /* default: stop */
    assert_int_equal(step_fx_run(f, cl, 0, NULL), SP_NEXT_REQUEST);
    assert_int_equal(f->req.method, SP_HTTP_POST);
    assert_string_equal(req_url(&f->req), API "/sandbox/" SB_ID "/stop");
    assert_int_equal(step_fx_run(f, cl, 200, ""), SP_NEXT_REQUEST);
    assert_int_equal(step_fx_run(f, cl, 200, SANDBOX_JSON("stopping", "true")), SP_NEXT_WAIT);
    assert_int_equal(step_fx_run(f, cl, 0, NULL), SP_NEXT_REQUEST);
    assert_int_equal(step_fx_run(f, cl, 200, SANDBOX_JSON("stopped", "true")), SP_NEXT_DONE);
    step_fx_op_done(f);

    /* A refused stop on a sandbox that stays started is a conflict with the API's words. */
    sp_op_init_cleanup(&f->op, f->sb, SP_CLEANUP_STOP);
    assert_int_equal(step_fx_run(f, cl, 0, NULL), SP_NEXT_REQUEST);
    assert_int_equal(step_fx_run(f, cl, 400,
                                 "{\"statusCode\":400,\"message\":\"Sandbox state change in "
                                 "progress\"}"),
                     SP_NEXT_REQUEST);
    assert_int_equal(step_fx_run(f, cl, 200, SANDBOX_JSON("started", "true")), SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_CONFLICT);
    assert_non_null(strstr(f->op.err.msg, "state change in progress"));
    step_fx_op_done(f);
    /* ...but one that is already stopped is fine. */
    sp_op_init_cleanup(&f->op, f->sb, SP_CLEANUP_STOP);
    assert_int_equal(step_fx_run(f, cl, 0, NULL), SP_NEXT_REQUEST);
    assert_int_equal(
        step_fx_run(f, cl, 400, "{\"statusCode\":400,\"message\":\"Sandbox is not started\"}"),
        SP_NEXT_REQUEST);
    assert_int_equal(step_fx_run(f, cl, 200, SANDBOX_JSON("stopped", "true")), SP_NEXT_DONE);
    step_fx_op_done(f);
    sp_op_init_cleanup(&f->op, f->sb, SP_CLEANUP_STOP);
    assert_int_equal(step_fx_run(f, cl, 0, NULL), SP_NEXT_REQUEST);
    assert_int_equal(step_fx_run(f, cl, 200, ""), SP_NEXT_REQUEST);
    assert_int_equal(
        step_fx_run(f, cl, 200, "{\"id\":\"x\",\"state\":\"error\",\"errorReason\":\"r\"}"),
        SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_STATE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_configure),
        cmocka_unit_test(test_build_create),
        cmocka_unit_test(test_parse_sandbox),
        cmocka_unit_test(test_parse_list),
        cmocka_unit_test(test_parse_misc),
        cmocka_unit_test_setup_teardown(test_auth_step, fx_setup, step_fx_teardown),
        cmocka_unit_test_setup_teardown(test_create_step, fx_setup, step_fx_teardown),
        cmocka_unit_test_setup_teardown(test_attach_step, fx_setup, step_fx_teardown),
        cmocka_unit_test_setup_teardown(test_startup_action_server, fx_setup, step_fx_teardown),
        cmocka_unit_test_setup_teardown(test_startup_paths, fx_setup, step_fx_teardown),
        cmocka_unit_test_setup_teardown(test_startup_toolbox, fx_setup_toolbox, step_fx_teardown),
        cmocka_unit_test_setup_teardown(test_toolbox_exec, fx_setup_toolbox, step_fx_teardown),
        cmocka_unit_test_setup_teardown(test_toolbox_files, fx_setup_toolbox, step_fx_teardown),
        cmocka_unit_test_setup_teardown(test_cleanup_delete, fx_setup_delete, step_fx_teardown),
        cmocka_unit_test_setup_teardown(test_cleanup_stop, fx_setup, step_fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
