/* Unit tests of the Runloop provider (providers/runloop*.c), with no network: configuration
 * from an env list, the wire format (spec/runloop-modal.md Part R) against recorded and
 * broken bodies, and the step machines driven by hand with recorded responses: OpenHands'
 * create body, attach paging past the first page, startup in both tunnel generations,
 * direct exec through execute_async / wait_for_status / kill, and shutdown. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "action_server.h"
#include "runloop.h"
#include "step_fixture.h"

#define DBX "dbx_2xb8Pq41aZk7"
#define API "http://127.0.0.1:9"

/* A DevboxView as the 0.50-era API answers it (recorded shape, R2/R4). */
#define DEVBOX(status, extra)                                                                  \
    "{\"id\":\"" DBX "\",\"name\":\"sess-1\",\"status\":\"" status "\","                       \
    "\"create_time_ms\":1752800000000,\"end_time_ms\":null,\"initiator_type\":\"api\","        \
    "\"blueprint_id\":null,\"snapshot_id\":null,\"capabilities\":[],"                          \
    "\"metadata\":{\"container-name\":\"openhands-runtime-sess-1\",\"sandprobe_run\":\"r9\"}," \
    "\"failure_reason\":null,\"launch_parameters\":{\"available_ports\":[4444,4445]},"         \
    "\"state_transitions\":[]" extra "}"

static enum sp_err client_with(
    const char *mode, const char *k1, const char *v1, struct sp_client **out, struct sp_error *err)
{
    const char *env[] = {
        "RUNLOOP_API_KEY", "ak_secret_key", "RUNLOOP_BASE_URL", API "/", k1, v1, NULL};
    struct sp_client_opts opts = {.mode = mode,
                                  .ready_timeout_ms = 7000,
                                  .alive_interval_ms = 1000,
                                  .alive_timeout_ms = 5000};
    return step_fx_client("runloop", env, &opts, out, err);
}

static int fx_new(void **state, const char *mode)
{
    struct sp_client *c = NULL;
    struct sp_error err;
    client_with(mode, "RUNLOOP_TUNNEL_DOMAIN", "localhost:9", &c, &err);
    return step_fx_new(state, c);
}

static int fx_setup(void **state)
{
    return fx_new(state, NULL);
}

static int fx_setup_v2(void **state)
{
    return fx_new(state, "tunnel-v2");
}

static int fx_setup_direct(void **state)
{
    return fx_new(state, "direct");
}

static sp_step_fn step_of(struct step_fx *f, enum sp_step s)
{
    return sp__provider_step(f->client->provider, s);
}

static void fx_sandbox(struct step_fx *f, const char *workdir)
{
    f->sb = sp__sandbox_new(f->client);
    snprintf(f->sb->id, sizeof(f->sb->id), DBX);
    snprintf(f->sb->workdir, sizeof(f->sb->workdir), "%s", workdir);
}

/* --- configuration ---------------------------------------------------------------------------- */

static void expect_config(const char *mode, const char *k, const char *v, const char *msg_part)
{
    struct sp_client *c = NULL;
    struct sp_error err;
    enum sp_err rc = client_with(mode, k, v, &c, &err);
    step_fx_config_error(rc, c, &err, msg_part, "ak_secret_key");
}

static void test_configure(void **state)
{
    (void)state;
    struct sp_client *c = NULL;
    struct sp_error err;
    struct sp_kv env;
    sp_kv_init(&env);
    assert_int_equal(sp_client_new("runloop", &env, NULL, &c, &err), SP_E_CONFIG);
    assert_non_null(strstr(err.msg, "RUNLOOP_API_KEY"));
    sp_kv_set(&env, "RUNLOOP_API_KEY", "k");
    assert_int_equal(sp_client_new("runloop", &env, NULL, &c, &err), SP_E_OK);
    const struct runloop_cfg *cfg = c->cfg;
    assert_string_equal(cfg->base_url, RUNLOOP_DEFAULT_URL);
    assert_string_equal(cfg->tunnel_domain, "tunnel.runloop.ai");
    assert_string_equal(sp_client_session_key(c), "name");
    assert_int_equal(sp_client_caps(c), SP_CAP_LABELS | SP_CAP_PERSIST_SHELL |
                                            SP_CAP_WRITE_NEWLINE | SP_CAP_ACTION_SERVER);
    sp_client_free(c);
    sp_kv_cleanup(&env);

    assert_int_equal(client_with("direct", NULL, NULL, &c, &err), SP_E_OK);
    assert_string_equal(((const struct runloop_cfg *)c->cfg)->base_url, API);
    assert_int_equal(sp_client_caps(c), SP_CAP_LABELS | SP_CAP_SPLIT_STDERR);
    sp_client_free(c);
    assert_int_equal(client_with("tunnel-v2", NULL, NULL, &c, &err), SP_E_OK);
    assert_int_not_equal(sp_client_caps(c) & SP_CAP_ACCESS_TOKEN, 0);
    sp_client_free(c);

    expect_config("toolbox", NULL, NULL, "action-server, tunnel-v2, direct");
    expect_config(NULL, "RUNLOOP_BASE_URL", "ftp://x", "RUNLOOP_BASE_URL");

    const char *const *modes = sp_provider_modes("runloop");
    assert_non_null(modes);
    assert_string_equal(modes[0], "action-server");
    assert_string_equal(modes[2], "direct");
    assert_null(modes[3]);
    assert_string_equal(sp_provider_credential_vars("runloop")[0], "RUNLOOP_API_KEY");
}

/* --- the wire format ----------------------------------------------------------------------------
 */

static void test_build_create(void **state)
{
    (void)state;
    struct sp_kv env;
    sp_kv_init(&env);
    sp_kv_set(&env, "DEBUG", "true");
    struct runloop_create_req c = {.name = "sess-1",
                                   .run_id = "r9",
                                   .entrypoint = "sudo bash",
                                   .env = &env,
                                   .launch_parameters = true};
    struct sp_buf out;
    struct sp_error err;
    sp_buf_init(&out, 0);
    assert_int_equal(sp__runloop_build_create(&c, &out, &err), SP_E_OK);
    cJSON *j = cJSON_Parse(sp_buf_str(&out));
    assert_string_equal(cJSON_GetObjectItem(j, "name")->valuestring, "sess-1");
    assert_string_equal(cJSON_GetObjectItem(j, "prebuilt")->valuestring, "openhands");
    assert_string_equal(cJSON_GetObjectItem(j, "entrypoint")->valuestring, "sudo bash");
    cJSON *md = cJSON_GetObjectItem(j, "metadata");
    assert_string_equal(cJSON_GetObjectItem(md, "container-name")->valuestring,
                        "openhands-runtime-sess-1");
    assert_string_equal(cJSON_GetObjectItem(md, "sandprobe_run")->valuestring, "r9");
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(j, "environment_variables"), "DEBUG")->valuestring,
        "true");
    cJSON *lp = cJSON_GetObjectItem(j, "launch_parameters");
    cJSON *ports = cJSON_GetObjectItem(lp, "available_ports");
    assert_int_equal(cJSON_GetArraySize(ports), 2);
    assert_int_equal(cJSON_GetArrayItem(ports, 0)->valueint, 4444);
    assert_int_equal(cJSON_GetArrayItem(ports, 1)->valueint, 4445);
    assert_string_equal(cJSON_GetObjectItem(lp, "resource_size_request")->valuestring, "LARGE");
    assert_string_equal(
        cJSON_GetArrayItem(cJSON_GetObjectItem(lp, "launch_commands"), 0)->valuestring,
        "mkdir -p /workspace");
    assert_null(cJSON_GetObjectItem(j, "tunnel"));
    cJSON_Delete(j);

    c.tunnel_auth = "authenticated";
    c.launch_parameters = false;
    c.entrypoint = NULL;
    assert_int_equal(sp__runloop_build_create(&c, &out, &err), SP_E_OK);
    j = cJSON_Parse(sp_buf_str(&out));
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(j, "tunnel"), "auth_mode")->valuestring,
        "authenticated");
    assert_null(cJSON_GetObjectItem(j, "launch_parameters"));
    assert_null(cJSON_GetObjectItem(j, "entrypoint"));
    cJSON_Delete(j);

    /* Text writes carry no NUL bytes and no broken UTF-8. */
    assert_int_equal(sp__runloop_build_file("file_path", "a", "x\0y", 3, &out, &err),
                     SP_E_UNSUPPORTED);
    assert_int_equal(sp__runloop_build_file("file_path", "a", "\xc3(", 2, &out, &err),
                     SP_E_UNSUPPORTED);
    assert_int_equal(sp__runloop_build_file("file_path", "a", "h\xc3\xa9", 3, &out, &err), SP_E_OK);
    sp_buf_cleanup(&out);
    sp_kv_cleanup(&env);
}

static void test_parse_devbox(void **state)
{
    (void)state;
    struct runloop_devbox d;
    struct sp_error err;
    const char *ok = DEVBOX("running", ",\"tunnel\":{\"tunnel_key\":\"k7\",\"auth_mode\":"
                                       "\"authenticated\",\"auth_token\":\"tok\"}");
    assert_int_equal(sp__runloop_parse_devbox(ok, strlen(ok), &d, &err), SP_E_OK);
    assert_string_equal(d.id, DBX);
    assert_string_equal(d.name, "sess-1");
    assert_string_equal(d.status, "running");
    assert_string_equal(d.run_label, "r9");
    assert_string_equal(d.tunnel_key, "k7");
    assert_string_equal(d.tunnel_token, "tok");
    const char *failed = "{\"id\":\"dbx_1\",\"status\":\"failure\",\"failure_reason\":\"oom\"}";
    assert_int_equal(sp__runloop_parse_devbox(failed, strlen(failed), &d, &err), SP_E_OK);
    assert_string_equal(d.failure_reason, "oom");

    static const char *const broken[] = {
        "",
        "[]",
        "{\"id\":\"dbx_1\"",
        "{\"status\":\"running\"}",
        "{\"id\":\"dbx_1\"}",
        "{\"id\":\"box-1\",\"status\":\"running\"}",   /* not dbx_ */
        "{\"id\":\"dbx_a/b\",\"status\":\"running\"}", /* not alphanumeric */
        "{\"id\":\"dbx_1\",\"status\":7}",
        "{\"id\":\"dbx_1\",\"status\":\"x\",\"metadata\":[]}",
        "{\"id\":\"dbx_1\",\"status\":\"x\",\"tunnel\":\"k\"}",
    };
    for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
        sp_error_clear(&err);
        if (sp__runloop_parse_devbox(broken[i], strlen(broken[i]), &d, &err) != SP_E_PROTOCOL)
            fail_msg("accepted broken devbox %s", broken[i]);
        assert_true(err.msg[0] != '\0');
    }
}

static void test_parse_list(void **state)
{
    (void)state;
    struct sp_error err;
    struct runloop_list l = {.key = "name", .value = "sess-1"};
    const char *page = "{\"devboxes\":[" DEVBOX(
        "running", "") ",{\"id\":\"dbx_9\",\"name\":"
                       "\"other\",\"status\":\"running\"}],\"has_more\":true,"
                       "\"remaining_count\":3,\"total_count\":5}";
    assert_int_equal(sp__runloop_parse_list(page, strlen(page), &l, &err), SP_E_OK);
    assert_int_equal(l.matches, 1);
    assert_true(l.has_more);
    assert_string_equal(l.last_id, "dbx_9");
    assert_string_equal(l.first.id, DBX);
    /* By metadata; shut down devboxes never match. */
    struct runloop_list m = {.key = "sandprobe_run", .value = "r9"};
    const char *p2 = "{\"devboxes\":[" DEVBOX("shutdown", "") "],\"has_more\":false}";
    assert_int_equal(sp__runloop_parse_list(p2, strlen(p2), &m, &err), SP_E_OK);
    assert_int_equal(m.matches, 0);
    assert_int_equal(m.seen, 1);

    static const char *const broken[] = {
        "[]",
        "{}",
        "{\"devboxes\":{}}",
        "{\"devboxes\":[],\"has_more\":\"yes\"}",
        "{\"devboxes\":[],\"has_more\":true}", /* would page forever */
        "{\"devboxes\":[{\"id\":\"x\"}]}",
    };
    for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
        struct runloop_list b = {.key = "name", .value = "s"};
        if (sp__runloop_parse_list(broken[i], strlen(broken[i]), &b, &err) != SP_E_PROTOCOL)
            fail_msg("accepted broken list %s", broken[i]);
    }
}

/* The listing of `sweep`: metadata and create_time_ms kept, shut down devboxes left out but
 * still paged past, the metadata filter applied here (the route has none). */
static void test_parse_listing(void **state)
{
    (void)state;
    struct sp_error err;
    struct sp_list l;
    struct runloop_list page = {0};
    sp_list_init(&l);
    const char *p1 = "{\"devboxes\":[" DEVBOX(
        "running",
        "") ",{\"id\":\"dbx_8\",\"status\":"
            "\"provisioning\",\"metadata\":{\"sandprobe_run\":\"r1\"}},{\"id\":\"dbx_9\","
            "\"status\":\"shutdown\",\"metadata\":{\"sandprobe_run\":\"r9\"}}],"
            "\"has_more\":true,\"remaining_count\":1,\"total_count\":4}";
    assert_int_equal(sp__runloop_parse_listing(p1, strlen(p1), NULL, NULL, &l, &page, &err),
                     SP_E_OK);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.items[0].id, DBX);
    assert_string_equal(l.items[0].state, "running");
    assert_int_equal(l.items[0].created_ms, 1752800000000LL);
    assert_string_equal(sp_kv_get(&l.items[0].labels, "sandprobe_run"), "r9");
    assert_string_equal(sp_kv_get(&l.items[0].labels, "container-name"),
                        "openhands-runtime-sess-1");
    assert_int_equal(l.items[1].created_ms, 0); /* no create_time_ms: unknown */
    assert_true(page.has_more);
    assert_int_equal(page.seen, 3);
    assert_string_equal(page.last_id, "dbx_9"); /* a shut down one still moves the cursor */
    sp_list_cleanup(&l);

    const char *p2 = "{\"devboxes\":[" DEVBOX(
        "suspended", "") ",{\"id\":\"dbx_8\",\"status\":"
                         "\"running\",\"metadata\":{\"sandprobe_run\":\"r1\"}},{\"id\":\"dbx_7\","
                         "\"status\":\"running\"}],\"has_more\":false}";
    assert_int_equal(
        sp__runloop_parse_listing(p2, strlen(p2), "sandprobe_run", "r1", &l, &page, &err), SP_E_OK);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.items[0].id, "dbx_8");
    assert_false(page.has_more);
    sp_list_cleanup(&l);

    static const char *const broken[] = {
        "[]",
        "{\"devboxes\":null}",
        "{\"devboxes\":[],\"has_more\":true}", /* would page forever */
        "{\"devboxes\":[{\"id\":\"dbx_1\",\"status\":\"running\",\"metadata\":{\"k\":1}}]}",
        "{\"devboxes\":[{\"id\":\"dbx_1\",\"status\":\"running\",\"create_time_ms\":\"x\"}]}",
        "{\"devboxes\":[{\"id\":\"dbx_1\",\"status\":\"running\",\"create_time_ms\":1.5}]}",
        "{\"devboxes\":[{\"id\":\"i-1\",\"status\":\"running\"}]}",
    };
    for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
        sp_error_clear(&err);
        if (sp__runloop_parse_listing(broken[i], strlen(broken[i]), NULL, NULL, &l, &page, &err) !=
            SP_E_PROTOCOL)
            fail_msg("accepted broken listing %s", broken[i]);
        assert_true(err.msg[0] != '\0');
        sp_list_cleanup(&l);
    }
}

static void test_parse_tunnel_execution_error(void **state)
{
    (void)state;
    struct sp_error err;
    char url[256], msg[64];
    const char *t = "{\"devbox_id\":\"" DBX "\",\"port\":4444,\"url\":\"https://" DBX
                    "-4444.tunnel.runloop.ai/\"}";
    assert_int_equal(sp__runloop_parse_tunnel_url(t, strlen(t), url, sizeof(url), &err), SP_E_OK);
    assert_string_equal(url, "https://" DBX "-4444.tunnel.runloop.ai");
    const char *bad = "{\"url\":\"ftp://x\"}";
    assert_int_equal(sp__runloop_parse_tunnel_url(bad, strlen(bad), url, sizeof(url), &err),
                     SP_E_PROTOCOL);
    assert_int_equal(sp__runloop_parse_tunnel_url("{}", 2, url, sizeof(url), &err), SP_E_PROTOCOL);

    struct runloop_devbox d;
    memset(&d, 0, sizeof(d));
    const char *tv = "{\"tunnel_key\":\"abc\",\"auth_mode\":\"open\",\"create_time_ms\":1}";
    assert_int_equal(sp__runloop_parse_tunnel_view(tv, strlen(tv), &d, &err), SP_E_OK);
    assert_string_equal(d.tunnel_key, "abc");
    assert_int_equal(sp__runloop_parse_tunnel_view("{\"tunnel_key\":\"\"}", 17, &d, &err),
                     SP_E_PROTOCOL);

    struct runloop_execution e;
    struct sp_exec x;
    sp_exec_init(&x, "true");
    const char *sync = "{\"devbox_id\":\"" DBX "\",\"exit_status\":3,\"stdout\":\"o\\n\","
                       "\"stderr\":\"e\\n\",\"shell_name\":null}";
    assert_int_equal(sp__runloop_parse_execution(sync, strlen(sync), &e, &x, &err), SP_E_OK);
    assert_string_equal(e.status, "completed");
    assert_int_equal(x.exit_code, 3);
    assert_string_equal(sp_buf_str(&x.out), "o\n");
    assert_string_equal(sp_buf_str(&x.err), "e\n");
    const char *running =
        "{\"execution_id\":\"exe_1\",\"status\":\"running\",\"exit_status\":null}";
    assert_int_equal(sp__runloop_parse_execution(running, strlen(running), &e, &x, &err), SP_E_OK);
    assert_string_equal(e.id, "exe_1");
    assert_false(e.has_exit);
    const char *no_exit = "{\"execution_id\":\"exe_1\",\"status\":\"completed\"}";
    assert_int_equal(sp__runloop_parse_execution(no_exit, strlen(no_exit), &e, &x, &err),
                     SP_E_PROTOCOL);
    const char *huge = "{\"exit_status\":99999999999}";
    assert_int_equal(sp__runloop_parse_execution(huge, strlen(huge), &e, &x, &err), SP_E_PROTOCOL);
    sp_exec_cleanup(&x);

    const char *eb = "{\"error\":\"not_found\",\"message\":\"Devbox dbx_1 not found\"}";
    assert_int_equal(sp__runloop_parse_error(eb, strlen(eb), msg, sizeof(msg)), 0);
    assert_string_equal(msg, "Devbox dbx_1 not found");
    assert_int_equal(sp__runloop_parse_error("<html>", 6, msg, sizeof(msg)), -1);
    assert_int_equal(sp__runloop_parse_error("{\"message\":1}", 13, msg, sizeof(msg)), -1);
}

/* --- step machines -------------------------------------------------------------------------------
 */

static void test_create_step(void **state)
{
    struct step_fx *f = *state;
    struct sp_create_opts o = {.session = "sess-1", .run_id = "r9"};
    sp_op_init_create(&f->op, f->client, &o);
    assert_int_equal(step_fx_run(f, step_of(f, SP_STEP_CREATE), 0, NULL), SP_NEXT_REQUEST);
    assert_int_equal(f->req.method, SP_HTTP_POST);
    assert_string_equal(req_url(&f->req), API "/v1/devboxes");
    assert_string_equal(sp_kv_geti(&f->req.headers, "Authorization"), "Bearer ak_secret_key");
    assert_int_equal(strlen(sp_kv_geti(&f->req.headers, "x-request-id")), 32);
    assert_int_equal(f->req.retry.max_attempts_sdk, RUNLOOP_ATTEMPTS); /* the SDKs' rule */
    cJSON *j = req_json(&f->req);
    const char *ep = cJSON_GetObjectItem(j, "entrypoint")->valuestring;
    assert_true(
        strncmp(ep, "sudo bash -c 'export MAMBA_ROOT_PREFIX=/openhands/micromamba && ", 63) == 0);
    assert_non_null(strstr(ep, "-m openhands.runtime.action_execution_server 4444 --working-dir"));
    cJSON_Delete(j);
    assert_int_equal(step_fx_run(f, step_of(f, SP_STEP_CREATE), 200, DEVBOX("provisioning", "")),
                     SP_NEXT_DONE);
    f->sb = f->op.sandbox;
    assert_string_equal(sp_sandbox_id(f->sb), DBX);
    assert_string_equal(sp_sandbox_state(f->sb), "provisioning");
    assert_string_equal(sp_sandbox_session(f->sb), "sess-1");
    step_fx_op_done(f);
    /* Errors carry the body's message and the status class. */
    sp_op_init_create(&f->op, f->client, &o);
    step_fx_run(f, step_of(f, SP_STEP_CREATE), 0, NULL);
    assert_int_equal(step_fx_run(f, step_of(f, SP_STEP_CREATE), 401,
                                 "{\"error\":\"unauthorized\",\"message\":\"Invalid API key\"}"),
                     SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_AUTH);
    assert_non_null(strstr(f->op.err.msg, "Invalid API key"));
}

/* OpenHands reads only the first page of running devboxes; we follow has_more. */
static void test_attach_pages(void **state)
{
    struct step_fx *f = *state;
    sp_op_init_attach(&f->op, f->client, NULL, "sess-1");
    assert_int_equal(step_fx_run(f, step_of(f, SP_STEP_ATTACH), 0, NULL), SP_NEXT_REQUEST);
    assert_string_equal(req_url(&f->req), API "/v1/devboxes?status=running&limit=20");
    const char *p1 = "{\"devboxes\":[{\"id\":\"dbx_a1\",\"name\":\"x\",\"status\":\"running\"}],"
                     "\"has_more\":true,\"remaining_count\":1,\"total_count\":2}";
    assert_int_equal(step_fx_run(f, step_of(f, SP_STEP_ATTACH), 200, p1), SP_NEXT_REQUEST);
    assert_string_equal(req_url(&f->req),
                        API "/v1/devboxes?status=running&limit=20&starting_after=dbx_a1");
    const char *p2 = "{\"devboxes\":[" DEVBOX("running", "") "],\"has_more\":false}";
    assert_int_equal(step_fx_run(f, step_of(f, SP_STEP_ATTACH), 200, p2), SP_NEXT_DONE);
    f->sb = f->op.sandbox;
    assert_string_equal(sp_sandbox_id(f->sb), DBX);
    step_fx_op_done(f);
    /* Nothing: not_found. */
    sp_op_init_attach(&f->op, f->client, "sandprobe_run", "none");
    step_fx_run(f, step_of(f, SP_STEP_ATTACH), 0, NULL);
    assert_null(strstr(req_url(&f->req), "status=running"));
    assert_int_equal(step_fx_run(f, step_of(f, SP_STEP_ATTACH), 200,
                                 "{\"devboxes\":[],"
                                 "\"has_more\":false}"),
                     SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_NOT_FOUND);
}

static void test_startup_v1(void **state)
{
    struct step_fx *f = *state;
    fx_sandbox(f, "/workspace");
    sp_op_init_startup(&f->op, f->sb);
    sp_step_fn st = step_of(f, SP_STEP_STARTUP);
    assert_int_equal(step_fx_run(f, st, 0, NULL), SP_NEXT_REQUEST);
    assert_string_equal(req_url(&f->req), API "/v1/devboxes/" DBX);
    assert_int_equal(step_fx_run(f, st, 200, DEVBOX("initializing", "")), SP_NEXT_WAIT);
    assert_int_equal(f->op.wait_ms, 1000); /* RunloopRuntime polls every second */
    assert_int_equal(step_fx_run(f, st, 0, NULL), SP_NEXT_REQUEST);
    assert_int_equal(step_fx_run(f, st, 200, DEVBOX("running", "")), SP_NEXT_REQUEST);
    assert_string_equal(req_url(&f->req), API "/v1/devboxes/" DBX "/create_tunnel");
    cJSON *j = req_json(&f->req);
    assert_int_equal(cJSON_GetObjectItem(j, "port")->valueint, 4444);
    cJSON_Delete(j);
    const char *t = "{\"devbox_id\":\"" DBX "\",\"port\":4444,\"url\":\"https://t.example/\"}";
    assert_int_equal(step_fx_run(f, st, 200, t), SP_NEXT_REQUEST);
    assert_string_equal(sp_sandbox_data_url(f->sb), "https://t.example"); /* used verbatim */
    assert_string_equal(req_url(&f->req), "https://t.example/alive");
    assert_int_equal(step_fx_run(f, st, 200, "{\"status\":\"ok\"}"), SP_NEXT_DONE);
    step_fx_op_done(f);
    /* failure fails at once, with the reason. */
    sp_op_init_startup(&f->op, f->sb);
    step_fx_run(f, st, 0, NULL);
    assert_int_equal(step_fx_run(f, st, 200,
                                 "{\"id\":\"" DBX "\",\"status\":\"failure\","
                                 "\"failure_reason\":\"out_of_memory\"}"),
                     SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_STATE);
    assert_non_null(strstr(f->op.err.msg, "out_of_memory"));
}

static void test_startup_v2(void **state)
{
    struct step_fx *f = *state;
    fx_sandbox(f, "/workspace");
    sp_op_init_startup(&f->op, f->sb);
    sp_step_fn st = step_of(f, SP_STEP_STARTUP);
    step_fx_run(f, st, 0, NULL);
    /* queued is a booting state of the newest API. */
    assert_int_equal(step_fx_run(f, st, 200, DEVBOX("queued", "")), SP_NEXT_WAIT);
    step_fx_run(f, st, 0, NULL);
    const char *running = DEVBOX("running", ",\"tunnel\":{\"tunnel_key\":\"k7\",\"auth_mode\":"
                                            "\"authenticated\",\"auth_token\":\"tok\"}");
    assert_int_equal(step_fx_run(f, st, 200, running), SP_NEXT_REQUEST);
    assert_string_equal(sp_sandbox_data_url(f->sb), "http://4444-k7.localhost:9");
    assert_string_equal(req_url(&f->req), "http://4444-k7.localhost:9/alive");
    assert_string_equal(sp_kv_geti(&f->req.headers, RUNLOOP_TUNNEL_HEADER), "Bearer tok");
    assert_true(sp_sandbox_forget_access_token(f->sb));
    step_fx_op_done(f);
    /* No tunnel on the devbox yet: enable_tunnel. */
    sp_sandbox_free(f->sb);
    fx_sandbox(f, "/workspace");
    sp_op_init_startup(&f->op, f->sb);
    step_fx_run(f, st, 0, NULL);
    assert_int_equal(step_fx_run(f, st, 200, DEVBOX("running", "")), SP_NEXT_REQUEST);
    assert_string_equal(req_url(&f->req), API "/v1/devboxes/" DBX "/enable_tunnel");
    assert_int_equal(step_fx_run(f, st, 200, "{\"tunnel_key\":\"zz\",\"auth_mode\":\"open\"}"),
                     SP_NEXT_REQUEST);
    assert_string_equal(req_url(&f->req), "http://4444-zz.localhost:9/alive");
}

static void test_direct_exec(void **state)
{
    struct step_fx *f = *state;
    fx_sandbox(f, RUNLOOP_HOME);
    struct sp_exec x;
    sp_exec_init(&x, "echo hi");
    x.cwd = RUNLOOP_HOME "/sub";
    x.timeout_ms = 60000;
    sp_op_init_exec(&f->op, f->sb, &x);
    sp_step_fn ex = step_of(f, SP_STEP_EXEC);
    assert_int_equal(step_fx_run(f, ex, 0, NULL), SP_NEXT_REQUEST);
    assert_string_equal(req_url(&f->req), API "/v1/devboxes/" DBX "/execute_async");
    cJSON *j = req_json(&f->req);
    assert_non_null(strstr(cJSON_GetObjectItem(j, "command")->valuestring, "cd sub && "));
    assert_null(strstr(cJSON_GetObjectItem(j, "command")->valuestring, RUNLOOP_HOME));
    cJSON_Delete(j);
    assert_int_equal(step_fx_run(f, ex, 200, "{\"execution_id\":\"exe_1\",\"status\":\"running\"}"),
                     SP_NEXT_REQUEST);
    assert_string_equal(req_url(&f->req),
                        API "/v1/devboxes/" DBX "/executions/exe_1/wait_for_status");
    j = req_json(&f->req);
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "statuses"), 0)->valuestring,
                        "completed");
    assert_int_equal(f->req.retry.max_attempts_sdk, 0); /* its 408 is ours to read */
    cJSON_Delete(j);
    /* 408: still running, wait again. */
    assert_int_equal(step_fx_run(f, ex, 408, "{\"error\":\"request_timeout\",\"message\":\"x\"}"),
                     SP_NEXT_REQUEST);
    assert_int_equal(step_fx_run(f, ex, 200,
                                 "{\"execution_id\":\"exe_1\",\"status\":\"completed\","
                                 "\"exit_status\":0,\"stdout\":\"hi\\n\",\"stderr\":\"\"}"),
                     SP_NEXT_DONE);
    assert_int_equal(x.exit_code, 0);
    assert_string_equal(sp_buf_str(&x.out), "hi\n");
    step_fx_op_done(f);
    sp_exec_cleanup(&x);

    /* Past the deadline: kill and report a timeout. */
    sp_exec_init(&x, "sleep 60");
    x.timeout_ms = 1;
    sp_op_init_exec(&f->op, f->sb, &x);
    step_fx_run(f, ex, 0, NULL);
    struct timespec past_deadline = {0, 20 * 1000000L}; /* the 1 ms deadline is behind us */
    nanosleep(&past_deadline, NULL);
    assert_int_equal(step_fx_run(f, ex, 200, "{\"execution_id\":\"exe_2\",\"status\":\"running\"}"),
                     SP_NEXT_REQUEST);
    assert_string_equal(req_url(&f->req), API "/v1/devboxes/" DBX "/executions/exe_2/kill");
    assert_int_equal(step_fx_run(f, ex, 200,
                                 "{\"execution_id\":\"exe_2\",\"status\":\"completed\","
                                 "\"exit_status\":137}"),
                     SP_NEXT_DONE);
    assert_true(x.timed_out);
    assert_int_equal(x.exit_code, -1);
    sp_exec_cleanup(&x);
}

static void test_direct_files(void **state)
{
    struct step_fx *f = *state;
    fx_sandbox(f, RUNLOOP_HOME);
    sp_step_fn fl = step_of(f, SP_STEP_FILES);
    struct sp_files file;
    sp_files_init(&file, SP_FILE_READ, "notes.txt");
    sp_op_init_files(&f->op, f->sb, &file);
    assert_int_equal(step_fx_run(f, fl, 0, NULL), SP_NEXT_REQUEST);
    assert_string_equal(req_url(&f->req), API "/v1/devboxes/" DBX "/read_file_contents");
    cJSON *j = req_json(&f->req);
    assert_string_equal(cJSON_GetObjectItem(j, "file_path")->valuestring,
                        RUNLOOP_HOME "/notes.txt");
    cJSON_Delete(j);
    assert_string_equal(sp_kv_geti(&f->req.headers, "Accept"), "text/plain");
    assert_int_equal(step_fx_run(f, fl, 200, "plain text"), SP_NEXT_DONE);
    assert_string_equal(sp_buf_str(&file.content), "plain text");
    step_fx_op_done(f);
    sp_files_cleanup(&file);

    sp_files_init(&file, SP_FILE_LIST, ".");
    sp_op_init_files(&f->op, f->sb, &file);
    step_fx_run(f, fl, 0, NULL);
    assert_string_equal(req_url(&f->req), API "/v1/devboxes/" DBX "/execute_sync");
    assert_int_equal(step_fx_run(f, fl, 200, "{\"exit_status\":0,\"stdout\":\"a.txt\\nsub/\\n\"}"),
                     SP_NEXT_DONE);
    assert_int_equal(file.n_entries, 2);
    assert_string_equal(file.entries[1].name, "sub");
    assert_true(file.entries[1].is_dir);
    step_fx_op_done(f);
    sp_files_cleanup(&file);

    sp_files_init(&file, SP_FILE_READ, "missing.txt");
    sp_op_init_files(&f->op, f->sb, &file);
    step_fx_run(f, fl, 0, NULL);
    assert_int_equal(
        step_fx_run(f, fl, 404, "{\"error\":\"not_found\",\"message\":\"no such file\"}"),
        SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_NOT_FOUND);
    step_fx_op_done(f);
    sp_files_cleanup(&file);

    sp_files_init(&file, SP_FILE_STAT, "a.txt");
    sp_op_init_files(&f->op, f->sb, &file);
    assert_int_equal(step_fx_run(f, fl, 0, NULL), SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_UNSUPPORTED);
    sp_files_cleanup(&file);
}

static void test_cleanup_step(void **state)
{
    struct step_fx *f = *state;
    fx_sandbox(f, "/workspace");
    sp_step_fn cl = step_of(f, SP_STEP_CLEANUP);
    sp_op_init_cleanup(&f->op, f->sb, SP_CLEANUP_DEFAULT);
    assert_int_equal(step_fx_run(f, cl, 0, NULL), SP_NEXT_REQUEST);
    assert_string_equal(req_url(&f->req), API "/v1/devboxes/" DBX "/shutdown");
    assert_string_equal(sp_kv_geti(&f->req.headers, "Content-Type"), "application/json");
    assert_int_equal(f->req.body.len, 0);
    assert_int_equal(step_fx_run(f, cl, 200, DEVBOX("shutdown", "")), SP_NEXT_REQUEST);
    assert_string_equal(req_url(&f->req), API "/v1/devboxes/" DBX);
    assert_int_equal(step_fx_run(f, cl, 200, DEVBOX("shutdown", "")), SP_NEXT_DONE);
    assert_string_equal(sp_sandbox_state(f->sb), "shutdown");
    step_fx_op_done(f);
    /* A refused second shutdown of a shut down devbox is fine. */
    sp_op_init_cleanup(&f->op, f->sb, SP_CLEANUP_DELETE);
    step_fx_run(f, cl, 0, NULL);
    assert_int_equal(step_fx_run(f, cl, 400, "{\"error\":\"bad_request\",\"message\":\"already\"}"),
                     SP_NEXT_REQUEST);
    assert_int_equal(step_fx_run(f, cl, 200, DEVBOX("shutdown", "")), SP_NEXT_DONE);
    step_fx_op_done(f);
    sp_op_init_cleanup(&f->op, f->sb, SP_CLEANUP_STOP);
    assert_int_equal(step_fx_run(f, cl, 0, NULL), SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_UNSUPPORTED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_configure),
        cmocka_unit_test(test_build_create),
        cmocka_unit_test(test_parse_devbox),
        cmocka_unit_test(test_parse_list),
        cmocka_unit_test(test_parse_listing),
        cmocka_unit_test(test_parse_tunnel_execution_error),
        cmocka_unit_test_setup_teardown(test_create_step, fx_setup, step_fx_teardown),
        cmocka_unit_test_setup_teardown(test_attach_pages, fx_setup, step_fx_teardown),
        cmocka_unit_test_setup_teardown(test_startup_v1, fx_setup, step_fx_teardown),
        cmocka_unit_test_setup_teardown(test_startup_v2, fx_setup_v2, step_fx_teardown),
        cmocka_unit_test_setup_teardown(test_direct_exec, fx_setup_direct, step_fx_teardown),
        cmocka_unit_test_setup_teardown(test_direct_files, fx_setup_direct, step_fx_teardown),
        cmocka_unit_test_setup_teardown(test_cleanup_step, fx_setup, step_fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
