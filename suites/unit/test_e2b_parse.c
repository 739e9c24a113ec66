/* Unit tests of the E2B provider's configuration and control-plane steps (providers/e2b.c,
 * e2b_json.c): the steps are driven with hand-built responses, good and broken, and the
 * requests they fill are checked against spec/e2b-modal.md A2. No network. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "e2b.h"
#include "step_fixture.h"

#define KEY "e2b_0123456789abcdef0123456789abcdef01234567"

struct fx {
    struct sp_client *c;
    struct sp_op op;
    struct sp_http_req req;
    struct sp_http_rsp rsp;
    struct sp_create_opts create;
};

static enum sp_err
client_mode(const char *const *vars, const char *mode, struct sp_client **out, struct sp_error *err)
{
    struct sp_kv env;
    sp_kv_init(&env);
    for (size_t i = 0; vars[i]; i++) {
        const char *eq = strchr(vars[i], '=');
        char k[64];
        snprintf(k, sizeof(k), "%.*s", (int)(eq - vars[i]), vars[i]);
        sp_kv_set(&env, k, eq + 1);
    }
    struct sp_client_opts opts = {
        .alive_interval_ms = 250, .alive_timeout_ms = 60000, .mode = mode};
    sp_error_clear(err);
    enum sp_err rc = sp_client_new("e2b", &env, &opts, out, err);
    sp_kv_cleanup(&env);
    return rc;
}

static enum sp_err
client_from(const char *const *vars, struct sp_client **out, struct sp_error *err)
{
    return client_mode(vars, NULL, out, err);
}

static int setup_mode(void **state, const char *mode)
{
    struct fx *f = calloc(1, sizeof(*f));
    const char *const vars[] = {"E2B_API_KEY=" KEY, "E2B_API_URL=http://api.test/", NULL};
    struct sp_error err;
    assert_int_equal(client_mode(vars, mode, &f->c, &err), SP_E_OK);
    sp_http_req_init(&f->req);
    sp_http_rsp_init(&f->rsp);
    *state = f;
    return 0;
}

/* The default: the current routes (v2). */
static int setup(void **state)
{
    return setup_mode(state, NULL);
}

static int setup_v1(void **state)
{
    return setup_mode(state, "v1");
}

static int teardown(void **state)
{
    struct fx *f = *state;
    if (f->op.ctx_free)
        f->op.ctx_free(f->op.ctx);
    sp_sandbox_free(f->op.sandbox);
    sp_http_req_cleanup(&f->req);
    sp_http_rsp_cleanup(&f->rsp);
    sp_client_free(f->c);
    free(f);
    return 0;
}

/* Calls the op's step with no response (first call, after a wait). */
static enum sp_next step0(struct fx *f)
{
    sp_http_req_reset(&f->req);
    sp_step_fn fn = sp__provider_step(f->c->provider, f->op.step);
    return fn(&f->op, NULL, &f->req, &f->op.err);
}

/* Calls the op's step with a response of this status, body and (optional) header. */
static enum sp_next
step(struct fx *f, int status, const char *body, const char *hname, const char *hval)
{
    rsp_json(&f->rsp, status, body);
    if (hname)
        sp_kv_add(&f->rsp.headers, hname, hval);
    sp_http_req_reset(&f->req);
    sp_step_fn fn = sp__provider_step(f->c->provider, f->op.step);
    return fn(&f->op, &f->rsp, &f->req, &f->op.err);
}

static const char sandbox_json[] =
    "{\"templateID\":\"rki5dems9wqfm4r03t7g\",\"alias\":\"base\",\"sandboxID\":"
    "\"i3k9x0q2m7v1c8p4z6ab\",\"clientID\":\"6532622b\",\"envdVersion\":\"0.6.13\","
    "\"envdAccessToken\":\"tok-secret\",\"trafficAccessToken\":null,\"domain\":null}";

/* --- configuration ------------------------------------------------------------------------ */

static void test_config_missing_key(void **state)
{
    (void)state;
    const char *const vars[] = {"E2B_DOMAIN=e2b.app", NULL};
    struct sp_client *c = NULL;
    struct sp_error err;
    assert_int_equal(client_from(vars, &c, &err), SP_E_CONFIG);
    assert_null(c);
    assert_string_equal(err.msg, "E2B_API_KEY is not set");
}

static void test_config_key_format(void **state)
{
    (void)state;
    static const char *const bad[] = {"sk_0123abcd", "e2b_", "e2b_ABCDEF01", "e2b_12g4",
                                      "E2B_0123"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char var[64];
        snprintf(var, sizeof(var), "E2B_API_KEY=%s", bad[i]);
        const char *const vars[] = {var, NULL};
        struct sp_client *c = NULL;
        struct sp_error err;
        assert_int_equal(client_from(vars, &c, &err), SP_E_CONFIG);
        assert_non_null(strstr(err.msg, "expected e2b_ followed by lowercase hex"));
        if (strcmp(bad[i], "e2b_") != 0) /* the key itself is never echoed */
            assert_null(strstr(err.msg, bad[i]));
    }
    const char *const off[] = {"E2B_API_KEY=anything", "E2B_VALIDATE_API_KEY=false", NULL};
    struct sp_client *c = NULL;
    struct sp_error err;
    assert_int_equal(client_from(off, &c, &err), SP_E_OK);
    sp_client_free(c);
}

static void test_config_urls(void **state)
{
    (void)state;
    struct sp_client *c = NULL;
    struct sp_error err;
    char envd[256];
    const char *const def[] = {"E2B_API_KEY=" KEY, NULL};
    assert_int_equal(client_from(def, &c, &err), SP_E_OK);
    const struct e2b_cfg *cfg = c->cfg;
    assert_string_equal(cfg->api_url, "https://api.e2b.app");
    assert_string_equal(cfg->template_id, "code-interpreter-v1");
    assert_int_equal(cfg->timeout_s, 300);
    assert_int_equal(sp__e2b_envd_url(cfg, "abc123", NULL, envd, sizeof(envd)), 0);
    assert_string_equal(envd, "https://sandbox.e2b.app");
    assert_int_equal(sp__e2b_envd_url(cfg, "abc123", "eu.example.net", envd, sizeof(envd)), 0);
    assert_string_equal(envd, "https://49983-abc123.eu.example.net");
    assert_string_equal(sp_client_session_key(c), "session_id");
    assert_int_equal(sp_client_caps(c), SP_CAP_LABELS | SP_CAP_STREAM_EXEC | SP_CAP_SPLIT_STDERR |
                                            SP_CAP_FILE_STAT | SP_CAP_FILE_MKDIR |
                                            SP_CAP_FILE_REMOVE | SP_CAP_ACCESS_TOKEN);
    sp_client_free(c);

    const char *const own[] = {"E2B_API_KEY=" KEY, "E2B_DOMAIN=sbx.example.org",
                               "E2B_TEMPLATE=base", "E2B_SANDBOX_TIMEOUT=45", NULL};
    assert_int_equal(client_from(own, &c, &err), SP_E_OK);
    cfg = c->cfg;
    assert_string_equal(cfg->api_url, "https://api.sbx.example.org");
    assert_string_equal(cfg->template_id, "base");
    assert_int_equal(cfg->timeout_s, 45);
    assert_int_equal(sp__e2b_envd_url(cfg, "abc123", "", envd, sizeof(envd)), 0);
    assert_string_equal(envd, "https://49983-abc123.sbx.example.org");
    sp_client_free(c);

    const char *const over[] = {"E2B_API_KEY=" KEY, "E2B_API_URL=http://127.0.0.1:3000//",
                                "E2B_SANDBOX_URL=http://127.0.0.1:49983/", NULL};
    assert_int_equal(client_from(over, &c, &err), SP_E_OK);
    cfg = c->cfg;
    assert_string_equal(cfg->api_url, "http://127.0.0.1:3000");
    assert_int_equal(sp__e2b_envd_url(cfg, "abc123", "e2b.app", envd, sizeof(envd)), 0);
    assert_string_equal(envd, "http://127.0.0.1:49983");
    sp_client_free(c);
}

static void test_config_modes(void **state)
{
    (void)state;
    const char *const vars[] = {"E2B_API_KEY=" KEY, NULL};
    const char *good[] = {NULL, "", "v1", "v2"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        struct sp_client *c = NULL;
        struct sp_error err;
        assert_int_equal(client_mode(vars, good[i], &c, &err), SP_E_OK);
        assert_int_equal(((const struct e2b_cfg *)c->cfg)->v1, i == 2);
        sp_client_free(c);
    }
    struct sp_client *c = NULL;
    struct sp_error err;
    assert_int_equal(client_mode(vars, "v3", &c, &err), SP_E_CONFIG);
    assert_string_equal(err.msg, "unknown E2B mode 'v3' (valid modes: v1, v2)");
}

static void test_config_bad_values(void **state)
{
    (void)state;
    static const struct {
        const char *var, *want;
    } bad[] = {
        {"E2B_API_URL=ftp://x", "E2B_API_URL must start with http:// or https://"},
        {"E2B_SANDBOX_URL=localhost:1", "E2B_SANDBOX_URL must start with http://"},
        {"E2B_SANDBOX_TIMEOUT=0", "E2B_SANDBOX_TIMEOUT must be seconds"},
        {"E2B_SANDBOX_TIMEOUT=10s", "E2B_SANDBOX_TIMEOUT must be seconds"},
        {"E2B_DOMAIN=evil.com/x", "E2B_DOMAIN 'evil.com/x' is not a host name"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *const vars[] = {"E2B_API_KEY=" KEY, bad[i].var, NULL};
        struct sp_client *c = NULL;
        struct sp_error err;
        assert_int_equal(client_from(vars, &c, &err), SP_E_CONFIG);
        assert_non_null(strstr(err.msg, bad[i].want));
    }
}

/* --- auth ----------------------------------------------------------------------------------- */

static void test_auth(void **state)
{
    struct fx *f = *state;
    sp_op_init_auth(&f->op, f->c);
    assert_int_equal(step0(f), SP_NEXT_REQUEST);
    assert_int_equal(f->req.method, SP_HTTP_GET);
    assert_string_equal(req_url(&f->req), "http://api.test/v2/sandboxes?limit=1");
    assert_string_equal(sp_kv_geti(&f->req.headers, "x-api-key"), KEY);
    assert_int_equal(step(f, 200, "[]", NULL, NULL), SP_NEXT_DONE);

    assert_int_equal(step(f, 401,
                          "{\"code\":401,\"message\":\"Invalid API key, it must start "
                          "with 'e2b_'\"}",
                          NULL, NULL),
                     SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_AUTH);
    assert_int_equal(f->op.err.http_status, 401);
    assert_string_equal(f->op.err.msg, "Invalid API key, it must start with 'e2b_'");

    assert_int_equal(step(f, 200, "{\"sandboxes\":[]}", NULL, NULL), SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_PROTOCOL);
    assert_non_null(strstr(f->op.err.msg, "expected a JSON array"));
}

/* --- create --------------------------------------------------------------------------------- */

static void test_create_request(void **state)
{
    struct fx *f = *state;
    struct sp_kv env;
    sp_kv_init(&env);
    sp_kv_set(&env, "FOO", "bar");
    f->create = (struct sp_create_opts){.session = "s-1", .run_id = "run42", .env = &env};
    sp_op_init_create(&f->op, f->c, &f->create);
    assert_int_equal(step0(f), SP_NEXT_REQUEST);
    assert_int_equal(f->req.method, SP_HTTP_POST);
    assert_string_equal(req_url(&f->req), "http://api.test/v2/sandboxes");
    assert_string_equal(sp_kv_geti(&f->req.headers, "X-API-Key"), KEY);
    assert_string_equal(sp_kv_geti(&f->req.headers, "Content-Type"), "application/json");
    cJSON *root = req_json(&f->req);
    assert_string_equal(cJSON_GetObjectItem(root, "templateID")->valuestring,
                        "code-interpreter-v1");
    assert_int_equal(cJSON_GetObjectItem(root, "timeout")->valueint, 300);
    assert_null(cJSON_GetObjectItem(root, "secure")); /* NewSandboxV2 has none */
    cJSON *md = cJSON_GetObjectItem(root, "metadata");
    assert_string_equal(cJSON_GetObjectItem(md, "session_id")->valuestring, "s-1");
    assert_string_equal(cJSON_GetObjectItem(md, "sandprobe_run")->valuestring, "run42");
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(root, "envVars"), "FOO")->valuestring, "bar");
    cJSON_Delete(root);
    sp_kv_cleanup(&env);

    assert_int_equal(step(f, 201, sandbox_json, NULL, NULL), SP_NEXT_DONE);
    struct sp_sandbox *sb = f->op.sandbox;
    assert_non_null(sb);
    assert_string_equal(sb->id, "i3k9x0q2m7v1c8p4z6ab");
    assert_string_equal(sb->session, "s-1");
    assert_string_equal(sb->state, "running");
    assert_string_equal(sb->workdir, "/home/user");
    assert_string_equal(sb->data_url, "https://sandbox.e2b.app"); /* domain null: e2b.app */
    assert_string_equal(sp_kv_geti(&sb->data_headers, "E2b-Sandbox-Id"), sb->id);
    assert_string_equal(sp_kv_geti(&sb->data_headers, "E2b-Sandbox-Port"), "49983");
    assert_string_equal(sp_kv_geti(&sb->data_headers, "X-Access-Token"), "tok-secret");
    assert_string_equal(sb->access_header, "X-Access-Token");
    assert_true(sp_sandbox_forget_access_token(sb));
    assert_null(sp_kv_geti(&sb->data_headers, "X-Access-Token"));
}

static void test_create_public_and_generated_session(void **state)
{
    struct fx *f = *state;
    f->create = (struct sp_create_opts){.image = "base", .access = SP_ACCESS_PUBLIC};
    sp_op_init_create(&f->op, f->c, &f->create);
    assert_int_equal(step0(f), SP_NEXT_REQUEST);
    cJSON *root = req_json(&f->req);
    assert_string_equal(cJSON_GetObjectItem(root, "templateID")->valuestring, "base");
    assert_null(cJSON_GetObjectItem(root, "secure")); /* v2: secured whatever we ask */
    cJSON *md = cJSON_GetObjectItem(root, "metadata");
    const char *session = cJSON_GetObjectItem(md, "session_id")->valuestring;
    assert_int_equal(strncmp(session, "sp-", 3), 0);
    assert_null(cJSON_GetObjectItem(md, "sandprobe_run"));
    assert_null(cJSON_GetObjectItem(root, "envVars"));
    char want[64];
    snprintf(want, sizeof(want), "%s", session);
    cJSON_Delete(root);
    /* no envdAccessToken: no token header; a domain in the answer picks the envd host */
    assert_int_equal(step(f, 201,
                          "{\"templateID\":\"t\",\"sandboxID\":\"abc\",\"clientID\":\"x\","
                          "\"envdVersion\":\"0.6.13\",\"domain\":\"eu.e2b.test\"}",
                          NULL, NULL),
                     SP_NEXT_DONE);
    assert_string_equal(f->op.sandbox->session, want);
    assert_null(sp_kv_geti(&f->op.sandbox->data_headers, "X-Access-Token"));
    assert_false(sp_sandbox_forget_access_token(f->op.sandbox));
    assert_string_equal(f->op.sandbox->data_url, "https://49983-abc.eu.e2b.test");
}

/* Mode v1: the routes before 2.51, NewSandbox with `secure` as access asks. */
static void test_v1_routes(void **state)
{
    struct fx *f = *state;
    enum sp_access access[] = {SP_ACCESS_TOKEN, SP_ACCESS_PUBLIC};
    for (int i = 0; i < 2; i++) {
        if (f->op.ctx_free)
            f->op.ctx_free(f->op.ctx);
        f->create = (struct sp_create_opts){.session = "s", .access = access[i]};
        sp_op_init_create(&f->op, f->c, &f->create);
        assert_int_equal(step0(f), SP_NEXT_REQUEST);
        assert_string_equal(req_url(&f->req), "http://api.test/sandboxes");
        cJSON *root = req_json(&f->req);
        assert_true(cJSON_IsBool(cJSON_GetObjectItem(root, "secure")));
        assert_int_equal(cJSON_IsTrue(cJSON_GetObjectItem(root, "secure")), i == 0);
        cJSON_Delete(root);
    }
    f->op.ctx_free(f->op.ctx);
    f->op.ctx_free = NULL;
    sp_op_init_attach(&f->op, f->c, NULL, "s");
    assert_int_equal(step0(f), SP_NEXT_REQUEST);
    assert_non_null(strstr(req_url(&f->req), "http://api.test/v2/sandboxes?metadata="));
    assert_int_equal(step(f, 200, "[{\"sandboxID\":\"i3k9x0q2m7v1c8p4z6ab\"}]", NULL, NULL),
                     SP_NEXT_REQUEST);
    assert_string_equal(req_url(&f->req), "http://api.test/sandboxes/i3k9x0q2m7v1c8p4z6ab/connect");
    assert_int_equal(step(f, 200, sandbox_json, NULL, NULL), SP_NEXT_DONE);
}

static void test_create_broken_responses(void **state)
{
    struct fx *f = *state;
    static const struct {
        int status;
        const char *body;
        enum sp_err code;
        const char *want;
    } cases[] = {
        {201, "{\"templateID\":\"t\",\"envdVersion\":\"1\"}", SP_E_PROTOCOL,
         "required field 'sandboxID' is missing"},
        {201, "{\"templateID\":\"t\",\"sandboxID\":\"../x\",\"envdVersion\":\"1\"}", SP_E_PROTOCOL,
         "is not a valid sandbox id"},
        {201, "{\"templateID\":\"t\",\"sandboxID\":7,\"envdVersion\":\"1\"}", SP_E_PROTOCOL,
         "field 'sandboxID' should be a string"},
        {201,
         "{\"templateID\":\"t\",\"sandboxID\":\"a\",\"envdVersion\":\"1\","
         "\"envdAccessToken\":true}",
         SP_E_PROTOCOL, "'envdAccessToken' should be a string"},
        {201, "{\"sandboxID\":\"a\"", SP_E_PROTOCOL, "invalid JSON"},
        {201, "", SP_E_PROTOCOL, "empty body"},
        {429, "{\"code\":429,\"message\":\"Rate limit exceeded\"}", SP_E_RATE_LIMITED,
         "Rate limit exceeded"},
        {400, "{\"code\":400,\"message\":\"template not found\"}", SP_E_PROTOCOL,
         "unexpected HTTP 400: template not found"},
        {500, "<html>oops</html>", SP_E_PROVIDER, "<html>oops</html>"},
        {503,
         "{\"code\":503,\"message\":\"no capacity\",\"error_code\":\"sandbox_capacity_"
         "unavailable\"}",
         SP_E_PROVIDER, "no capacity"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (f->op.ctx_free)
            f->op.ctx_free(f->op.ctx);
        f->create = (struct sp_create_opts){.session = "s"};
        sp_op_init_create(&f->op, f->c, &f->create);
        assert_int_equal(step0(f), SP_NEXT_REQUEST);
        assert_int_equal(step(f, cases[i].status, cases[i].body, NULL, NULL), SP_NEXT_FAIL);
        assert_int_equal(f->op.err.code, cases[i].code);
        assert_non_null(strstr(f->op.err.msg, cases[i].want));
        assert_null(f->op.sandbox);
    }
}

/* --- attach ---------------------------------------------------------------------------------- */

static void test_attach_pages_then_connects(void **state)
{
    struct fx *f = *state;
    sp_op_init_attach(&f->op, f->c, NULL, "a b&c");
    assert_int_equal(step0(f), SP_NEXT_REQUEST);
    /* metadata=<"session_id=a%20b%26c" url-encoded again> */
    assert_string_equal(req_url(&f->req),
                        "http://api.test/v2/sandboxes?metadata=session_id%3Da%2520b%2526c"
                        "&state=running,paused&limit=100");
    assert_int_equal(step(f, 200, "[]", "X-Next-Token", "tok/1"), SP_NEXT_REQUEST);
    assert_non_null(strstr(req_url(&f->req), "&nextToken=tok%2F1"));
    assert_int_equal(step(f, 200,
                          "[{\"sandboxID\":\"i3k9x0q2m7v1c8p4z6ab\",\"state\":\"paused\","
                          "\"metadata\":{\"session_id\":\"a b&c\",\"x\":\"y\"}}]",
                          "X-Next-Token", ""),
                     SP_NEXT_REQUEST);
    assert_int_equal(f->req.method, SP_HTTP_POST);
    assert_string_equal(req_url(&f->req),
                        "http://api.test/v2/sandboxes/i3k9x0q2m7v1c8p4z6ab/connect");
    cJSON *root = req_json(&f->req);
    assert_int_equal(cJSON_GetObjectItem(root, "timeout")->valueint, 300);
    cJSON_Delete(root);
    assert_int_equal(step(f, 201, sandbox_json, NULL, NULL), SP_NEXT_DONE);
    assert_string_equal(f->op.sandbox->id, "i3k9x0q2m7v1c8p4z6ab");
    assert_string_equal(f->op.sandbox->session, "a b&c");
    assert_string_equal(sp_kv_geti(&f->op.sandbox->data_headers, "X-Access-Token"), "tok-secret");
}

static void attach_expect(struct fx *f, const char *page, enum sp_err code, const char *want)
{
    if (f->op.ctx_free)
        f->op.ctx_free(f->op.ctx);
    sp_op_init_attach(&f->op, f->c, "team", "red");
    assert_int_equal(step0(f), SP_NEXT_REQUEST);
    assert_non_null(strstr(req_url(&f->req), "metadata=team%3Dred&"));
    assert_int_equal(step(f, 200, page, NULL, NULL), SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, code);
    assert_non_null(strstr(f->op.err.msg, want));
}

static void test_attach_none_several_and_unfiltered(void **state)
{
    struct fx *f = *state;
    attach_expect(f, "[]", SP_E_NOT_FOUND, "no E2B sandbox has metadata team=red");
    attach_expect(f, "[{\"sandboxID\":\"a\"},{\"sandboxID\":\"b\"}]", SP_E_CONFLICT,
                  "2 E2B sandboxes have metadata team=red");
    attach_expect(f, "[{\"sandboxID\":\"a\",\"metadata\":{\"team\":\"blue\"}}]", SP_E_PROTOCOL,
                  "returned sandbox a without it");
    attach_expect(f, "[{\"state\":\"running\"}]", SP_E_PROTOCOL, "'sandboxID' is missing");
    attach_expect(f, "[\"a\"]", SP_E_PROTOCOL, "list item is not an object");
}

static void test_attach_connect_failures(void **state)
{
    struct fx *f = *state;
    sp_op_init_attach(&f->op, f->c, NULL, "s");
    assert_int_equal(step0(f), SP_NEXT_REQUEST);
    assert_int_equal(step(f, 200, "[{\"sandboxID\":\"other1\"}]", NULL, NULL), SP_NEXT_REQUEST);
    assert_int_equal(step(f, 200, sandbox_json, NULL, NULL), SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_PROTOCOL);
    assert_non_null(strstr(f->op.err.msg, "answered for sandbox i3k9x0q2m7v1c8p4z6ab"));
    f->op.state = 2; /* the connect again, now 404 */
    assert_int_equal(
        step(f, 404, "{\"code\":404,\"message\":\"sandbox \\\"other1\\\" not found\"}", NULL, NULL),
        SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_NOT_FOUND);
    assert_string_equal(f->op.err.msg, "sandbox \"other1\" not found");
}

static void test_attach_endless_paging(void **state)
{
    struct fx *f = *state;
    sp_op_init_attach(&f->op, f->c, NULL, "s");
    assert_int_equal(step0(f), SP_NEXT_REQUEST);
    enum sp_next n = SP_NEXT_REQUEST;
    int pages = 0;
    while (n == SP_NEXT_REQUEST && pages++ < 1000)
        n = step(f, 200, "[]", "X-Next-Token", "same");
    assert_int_equal(n, SP_NEXT_FAIL);
    assert_true(pages < 100);
    assert_int_equal(f->op.err.code, SP_E_PROTOCOL);
    assert_non_null(strstr(f->op.err.msg, "paging did not end"));
}

/* --- startup and cleanup ------------------------------------------------------------------------
 */

static struct sp_sandbox *made_sandbox(struct fx *f)
{
    f->create = (struct sp_create_opts){.session = "s"};
    sp_op_init_create(&f->op, f->c, &f->create);
    assert_int_equal(step0(f), SP_NEXT_REQUEST);
    assert_int_equal(step(f, 201, sandbox_json, NULL, NULL), SP_NEXT_DONE);
    struct sp_sandbox *sb = f->op.sandbox;
    f->op.ctx_free(f->op.ctx);
    f->op.sandbox = NULL;
    snprintf(sb->data_url, sizeof(sb->data_url), "http://envd.test");
    return sb;
}

static void test_startup_polls_health_then_sets_timeout(void **state)
{
    struct fx *f = *state;
    struct sp_sandbox *sb = made_sandbox(f);
    sp_op_init_startup(&f->op, sb);
    assert_int_equal(step0(f), SP_NEXT_REQUEST);
    assert_string_equal(req_url(&f->req), "http://envd.test/health");
    assert_string_equal(sp_kv_geti(&f->req.headers, "E2b-Sandbox-Id"), sb->id);
    assert_int_equal(step(f, 502,
                          "{\"sandboxId\":\"x\",\"message\":\"The sandbox was not "
                          "found\",\"code\":502}",
                          NULL, NULL),
                     SP_NEXT_WAIT);
    assert_int_equal(f->op.wait_ms, 250);
    assert_int_equal(step0(f), SP_NEXT_REQUEST);
    assert_string_equal(req_url(&f->req), "http://envd.test/health");
    assert_int_equal(step(f, 204, "", NULL, NULL), SP_NEXT_REQUEST);
    assert_int_equal(f->req.method, SP_HTTP_POST);
    assert_string_equal(req_url(&f->req), "http://api.test/sandboxes/i3k9x0q2m7v1c8p4z6ab/timeout");
    assert_string_equal(sp_kv_geti(&f->req.headers, "X-API-Key"), KEY);
    assert_string_equal(sp_buf_str(&f->req.body), "{\"timeout\":300}");
    assert_int_equal(step(f, 204, "", NULL, NULL), SP_NEXT_DONE);
    f->op.sandbox = sb; /* freed by teardown */
}

static void test_startup_deadline_and_timeout_failure(void **state)
{
    struct fx *f = *state;
    struct sp_sandbox *sb = made_sandbox(f);
    f->op.sandbox = sb;
    sp_op_init_startup(&f->op, sb);
    assert_int_equal(step0(f), SP_NEXT_REQUEST);
    f->op.deadline_ms = sp_now_ms() - 1; /* as if alive_timeout_ms had passed */
    assert_int_equal(step(f, 503, "", NULL, NULL), SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_TIMEOUT);
    assert_non_null(strstr(f->op.err.msg, "within 60000 ms (last: HTTP 503; sandbox state: "));

    sp_op_init_startup(&f->op, sb);
    assert_int_equal(step0(f), SP_NEXT_REQUEST);
    assert_int_equal(step(f, 200, "", NULL, NULL), SP_NEXT_REQUEST);
    assert_int_equal(step(f, 404, "{\"code\":404,\"message\":\"sandbox gone\"}", NULL, NULL),
                     SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_NOT_FOUND);
    assert_string_equal(f->op.err.msg, "sandbox gone");
}

static void test_cleanup(void **state)
{
    struct fx *f = *state;
    struct sp_sandbox *sb = made_sandbox(f);
    f->op.sandbox = sb;
    sp_op_init_cleanup(&f->op, sb, SP_CLEANUP_DEFAULT);
    assert_int_equal(step0(f), SP_NEXT_REQUEST);
    assert_int_equal(f->req.method, SP_HTTP_DELETE);
    assert_string_equal(req_url(&f->req), "http://api.test/sandboxes/i3k9x0q2m7v1c8p4z6ab");
    assert_int_equal(step(f, 204, "", NULL, NULL), SP_NEXT_REQUEST);
    assert_int_equal(f->req.method, SP_HTTP_GET);
    assert_string_equal(req_url(&f->req), "http://api.test/sandboxes/i3k9x0q2m7v1c8p4z6ab");
    assert_int_equal(step(f, 200, "{}", NULL, NULL), SP_NEXT_WAIT); /* still listed */
    assert_int_equal(step0(f), SP_NEXT_REQUEST);
    assert_int_equal(f->req.method, SP_HTTP_GET);
    assert_int_equal(step(f, 404, "{\"code\":404,\"message\":\"not found\"}", NULL, NULL),
                     SP_NEXT_DONE);
    assert_string_equal(sb->state, "gone");

    sp_op_init_cleanup(&f->op, sb, SP_CLEANUP_DELETE);
    assert_int_equal(step0(f), SP_NEXT_REQUEST);
    assert_int_equal(
        step(f, 404, "{\"code\":404,\"message\":\"sandbox \\\"x\\\" not found\"}", NULL, NULL),
        SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_NOT_FOUND);
    assert_string_equal(f->op.err.msg, "sandbox \"x\" not found");

    sp_op_init_cleanup(&f->op, sb, SP_CLEANUP_STOP);
    assert_int_equal(step0(f), SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_UNSUPPORTED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_missing_key),
        cmocka_unit_test(test_config_key_format),
        cmocka_unit_test(test_config_urls),
        cmocka_unit_test(test_config_modes),
        cmocka_unit_test(test_config_bad_values),
        cmocka_unit_test_setup_teardown(test_auth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_public_and_generated_session, setup, teardown),
        cmocka_unit_test_setup_teardown(test_v1_routes, setup_v1, teardown),
        cmocka_unit_test_setup_teardown(test_create_broken_responses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attach_pages_then_connects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attach_none_several_and_unfiltered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attach_connect_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attach_endless_paging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_startup_polls_health_then_sets_timeout, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_startup_deadline_and_timeout_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cleanup, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
