/* Raw-HTTP tests of the E2B mock's control plane and envd routing (mocks/e2b*.c) with libcurl
 * against an in-process mock on an ephemeral loopback port: status codes and bodies of every
 * API route (spec/e2b-modal.md A2), faults, and how envd is reached and guarded (A1, A3). The
 * process and file services are tested in test_mock_e2b_envd.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "mock_e2b_http.h"

/* --- control plane ------------------------------------------------------------------------- */

/* The ready-line variables point the SDK's API and envd traffic at the mock. */
static void test_mock_e2b_env_points_sdk_at_mock(void **state)
{
    (void)state;
    const struct sp_kv *env = sp_mock_env(g_mock);
    char origin[128];
    snprintf(origin, sizeof origin, "http://127.0.0.1:%u", sp_mock_port(g_mock));
    assert_string_equal(sp_kv_get(env, "E2B_API_KEY"), KEY);
    assert_string_equal(sp_kv_get(env, "E2B_API_URL"), origin);
    assert_string_equal(sp_kv_get(env, "E2B_SANDBOX_URL"), origin);
    assert_null(sp_kv_get(env, "E2B_VALIDATE_API_KEY"));
    /* A generated key has the format the SDK checks: e2b_ + 40 hex digits. */
    struct sp_mock_config cfg = {.vendor = "e2b", .has_latency = true, .quiet = true};
    struct sp_mock *m = NULL;
    struct sp_error err = {0};
    assert_int_equal(sp_mock_start(&cfg, &m, &err), SP_E_OK);
    const char *key = sp_kv_get(sp_mock_env(m), "E2B_API_KEY");
    assert_int_equal(strlen(key), 44);
    assert_int_equal(strncmp(key, "e2b_", 4), 0);
    assert_int_equal(strspn(key + 4, "0123456789abcdef"), 40);
    sp_mock_stop(m);
    /* A configured key the SDK would refuse comes with the switch that lets it through. */
    cfg.key = "plain-key";
    assert_int_equal(sp_mock_start(&cfg, &m, &err), SP_E_OK);
    assert_string_equal(sp_kv_get(sp_mock_env(m), "E2B_VALIDATE_API_KEY"), "false");
    sp_mock_stop(m);
}

static void test_mock_e2b_rejects_missing_or_bad_key(void **state)
{
    (void)state;
    struct sp_mock_stats before, after;
    sp_mock_stats(g_mock, &before);
    struct rsp r;
    req("GET", "/v2/sandboxes", NULL, NULL, 0, &r);
    assert_api_error(&r, 401, NULL);
    rsp_free(&r);
    const char *bad[] = {"X-API-Key: e2b_00", NULL};
    req("POST", "/sandboxes", bad, "{\"templateID\":\"base\"}", 21, &r);
    assert_api_error(&r, 401, "Invalid API key");
    rsp_free(&r);
    sp_mock_stats(g_mock, &after);
    assert_int_equal(after.unauthorized - before.unauthorized, 2);
    assert_int_equal(after.created, before.created);
}

static void test_mock_e2b_create_returns_sandbox(void **state)
{
    (void)state;
    struct rsp r;
    api("POST", "/sandboxes",
        "{\"templateID\":\"base\",\"timeout\":300,\"secure\":true,\"allow_internet_access\":true,"
        "\"metadata\":{\"run\":\"42\"},\"envVars\":{\"FOO\":\"bar\"}}",
        &r);
    assert_int_equal(r.status, 201);
    cJSON *j = rsp_json(&r);
    const char *id = jstr(j, "sandboxID");
    assert_int_equal(strlen(id), 20);
    assert_int_equal(strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789"), 20);
    assert_int_equal(strlen(jstr(j, "templateID")), 20);
    assert_string_equal(jstr(j, "alias"), "base");
    assert_string_equal(jstr(j, "clientID"), "6532622b");
    assert_string_equal(jstr(j, "envdVersion"), "0.6.13");
    assert_true(strlen(jstr(j, "envdAccessToken")) >= 32);
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "domain")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "trafficAccessToken")));
    cJSON_Delete(j);
    rsp_free(&r);
    api("POST", "/sandboxes", "{\"templateID\":\"base\"}", &r);
    j = rsp_json(&r);
    assert_int_equal(r.status, 201);
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "envdAccessToken"));
    cJSON_Delete(j);
    rsp_free(&r);
}

static void test_mock_e2b_create_rejects_bad_body(void **state)
{
    (void)state;
    struct rsp r;
    api("POST", "/sandboxes", "{\"timeout\":10}", &r);
    assert_api_error(&r, 400, "templateID");
    rsp_free(&r);
    api("POST", "/sandboxes", "{\"templateID\":", &r);
    assert_api_error(&r, 400, NULL);
    rsp_free(&r);
    api("POST", "/sandboxes", "{\"templateID\":\"base\",\"timeout\":-1}", &r);
    assert_api_error(&r, 400, "timeout");
    rsp_free(&r);
}

static void test_mock_e2b_get_and_kill(void **state)
{
    (void)state;
    struct sbx s;
    create("{\"templateID\":\"base\",\"metadata\":{\"k\":\"v\"}}", &s);
    char path[128];
    snprintf(path, sizeof path, "/sandboxes/%s", s.id);
    struct rsp r;
    api("GET", path, NULL, &r);
    assert_int_equal(r.status, 200);
    cJSON *j = rsp_json(&r);
    assert_string_equal(jstr(j, "sandboxID"), s.id);
    assert_string_equal(jstr(j, "state"), "running");
    assert_string_equal(jstr(cJSON_GetObjectItemCaseSensitive(j, "metadata"), "k"), "v");
    assert_non_null(jstr(j, "startedAt"));
    assert_non_null(jstr(j, "endAt"));
    assert_true(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(j, "cpuCount")));
    assert_true(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(j, "memoryMB")));
    assert_true(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(j, "diskSizeMB")));
    cJSON_Delete(j);
    rsp_free(&r);
    api("DELETE", path, NULL, &r);
    assert_int_equal(r.status, 204);
    assert_int_equal(r.body.len, 0);
    rsp_free(&r);
    api("GET", path, NULL, &r);
    assert_api_error(&r, 404, s.id);
    rsp_free(&r);
    api("DELETE", path, NULL, &r);
    assert_api_error(&r, 404, NULL);
    rsp_free(&r);
    api("GET", "/no/such/route", NULL, &r);
    assert_api_error(&r, 404, NULL);
    rsp_free(&r);
}

/* setTimeout replaces the TTL; a sandbox past it is killed (timeout 0 = expired now). */
static void test_mock_e2b_timeout_expires_sandbox(void **state)
{
    (void)state;
    struct sbx s;
    create("{\"templateID\":\"base\",\"timeout\":300}", &s);
    char path[128], get[128];
    snprintf(path, sizeof path, "/sandboxes/%s/timeout", s.id);
    snprintf(get, sizeof get, "/sandboxes/%s", s.id);
    struct rsp r;
    api("POST", path, "{}", &r);
    assert_api_error(&r, 400, "timeout");
    rsp_free(&r);
    api("POST", path, "{\"timeout\":600}", &r);
    assert_int_equal(r.status, 204);
    rsp_free(&r);
    api("GET", get, NULL, &r);
    assert_int_equal(r.status, 200);
    rsp_free(&r);
    api("POST", path, "{\"timeout\":0}", &r);
    assert_int_equal(r.status, 204);
    rsp_free(&r);
    api("GET", get, NULL, &r);
    assert_api_error(&r, 404, NULL);
    rsp_free(&r);
    api("POST", "/sandboxes/nosuchsandbox0000000/timeout", "{\"timeout\":5}", &r);
    assert_api_error(&r, 404, NULL);
    rsp_free(&r);
}

static void expect_state(const struct sbx *s, const char *want)
{
    char path[128];
    snprintf(path, sizeof path, "/sandboxes/%s", s->id);
    struct rsp r;
    api("GET", path, NULL, &r);
    cJSON *j = rsp_json(&r);
    assert_string_equal(jstr(j, "state"), want);
    cJSON_Delete(j);
    rsp_free(&r);
}

static void test_mock_e2b_pause_resume_connect(void **state)
{
    (void)state;
    struct sbx s;
    create("{\"templateID\":\"base\"}", &s);
    char pause[128], conn[128], resume[128];
    snprintf(pause, sizeof pause, "/sandboxes/%s/pause", s.id);
    snprintf(conn, sizeof conn, "/sandboxes/%s/connect", s.id);
    snprintf(resume, sizeof resume, "/sandboxes/%s/resume", s.id);
    struct rsp r;
    api("POST", pause, "{\"memory\":true}", &r);
    assert_int_equal(r.status, 204);
    rsp_free(&r);
    expect_state(&s, "paused");
    api("POST", pause, NULL, &r);
    assert_api_error(&r, 409, NULL);
    rsp_free(&r);
    envd(&s, "GET", "/health", NULL, NULL, NULL, 0, &r);
    assert_int_equal(r.status, 502);
    rsp_free(&r);
    api("POST", conn, "{\"timeout\":60}", &r);
    assert_int_equal(r.status, 201);
    cJSON *j = rsp_json(&r);
    assert_string_equal(jstr(j, "sandboxID"), s.id);
    cJSON_Delete(j);
    rsp_free(&r);
    expect_state(&s, "running");
    api("POST", conn, "{\"timeout\":60}", &r);
    assert_int_equal(r.status, 200);
    rsp_free(&r);
    api("POST", resume, "{\"timeout\":60}", &r);
    assert_api_error(&r, 409, NULL);
    rsp_free(&r);
    api("POST", "/sandboxes/nosuchsandbox0000000/connect", "{\"timeout\":60}", &r);
    assert_api_error(&r, 404, NULL);
    rsp_free(&r);
}

/* Collects the sandbox ids of one listing, following X-Next-Token. Returns the page count. */
static int list_all(const char *query, char ids[][64], size_t *n)
{
    char path[512], next[256] = "";
    int pages = 0;
    *n = 0;
    do {
        struct rsp r;
        snprintf(path, sizeof path, "/v2/sandboxes?%s%s%s", query, next[0] ? "&nextToken=" : "",
                 next);
        api("GET", path, NULL, &r);
        assert_int_equal(r.status, 200);
        cJSON *j = rsp_json(&r), *it;
        cJSON_ArrayForEach(it, j)
        {
            snprintf(ids[(*n)++], 64, "%s", jstr(it, "sandboxID"));
        }
        const char *tok = sp_kv_geti(&r.headers, "X-Next-Token");
        next[0] = '\0';
        if (tok != NULL) {
            struct sp_buf enc;
            sp_buf_init(&enc, 0);
            sp_buf_put_urlencoded(&enc, tok);
            snprintf(next, sizeof next, "%s", sp_buf_str(&enc));
            sp_buf_cleanup(&enc);
        }
        cJSON_Delete(j);
        rsp_free(&r);
        pages++;
    } while (next[0] && pages < 20);
    return pages;
}

static void test_mock_e2b_list_v2_metadata_paging(void **state)
{
    (void)state;
    struct sbx made[5], other;
    for (int i = 0; i < 5; i++)
        create("{\"templateID\":\"base\",\"metadata\":{\"suite\":\"paging\",\"tag\":\"a b\"}}",
               &made[i]);
    create("{\"templateID\":\"base\",\"metadata\":{\"suite\":\"other\"}}", &other);
    char ids[32][64];
    size_t n = 0;
    /* As the SDK sends it: the pairs URL-encoded, then the whole value once more. */
    assert_int_equal(list_all("metadata=suite%3Dpaging%26tag%3Da%252520b&limit=2", ids, &n), 3);
    assert_int_equal(n, 5);
    for (int i = 0; i < 5; i++) /* newest first */
        assert_string_equal(ids[i], made[4 - i].id);
    char pause[128];
    snprintf(pause, sizeof pause, "/sandboxes/%s/pause", made[2].id);
    struct rsp r;
    api("POST", pause, NULL, &r);
    rsp_free(&r);
    list_all("metadata=suite%3Dpaging&state=paused", ids, &n);
    assert_int_equal(n, 1);
    assert_string_equal(ids[0], made[2].id);
    list_all("metadata=suite%3Dpaging&state=running,paused&order=asc", ids, &n);
    assert_int_equal(n, 5);
    assert_string_equal(ids[0], made[0].id);
    api("GET", "/sandboxes?metadata=suite%3Dpaging", NULL, &r); /* v1: running only */
    cJSON *j = rsp_json(&r);
    assert_int_equal(cJSON_GetArraySize(j), 4);
    cJSON_Delete(j);
    rsp_free(&r);
    const char *bad[] = {"/v2/sandboxes?limit=0", "/v2/sandboxes?limit=101",
                         "/v2/sandboxes?state=sleeping", "/v2/sandboxes?nextToken=%25%25",
                         "/v2/sandboxes?metadata=novalue"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        api("GET", bad[i], NULL, &r);
        assert_api_error(&r, 400, NULL);
        rsp_free(&r);
    }
}

/* Faults: envd never answers for a stuck or never-alive sandbox; an error state fails create
 * with the API's error body. */
static void test_mock_e2b_faults(void **state)
{
    (void)state;
    struct sbx s;
    struct rsp r;
    enum sp_mock_fault dead[] = {SP_MOCK_FAULT_NEVER_ALIVE, SP_MOCK_FAULT_STUCK_CREATING};
    for (int i = 0; i < 2; i++) {
        sp_mock_inject(g_mock, dead[i], 1);
        create("{\"templateID\":\"base\"}", &s);
        envd(&s, "GET", "/health", NULL, NULL, NULL, 0, &r);
        assert_int_equal(r.status, 502);
        rsp_free(&r);
    }
    sp_mock_inject(g_mock, SP_MOCK_FAULT_ERROR_STATE, 1);
    api("POST", "/sandboxes", "{\"templateID\":\"base\"}", &r);
    assert_api_error(&r, 500, NULL);
    cJSON *j = rsp_json(&r);
    assert_string_equal(jstr(j, "error_code"), "sandbox_create_failed");
    cJSON_Delete(j);
    rsp_free(&r);
}

/* Seconds of day of an RFC 3339 time ("...THH:MM:SS[.mmm]Z"), for TTL differences. */
static long day_seconds(const char *t)
{
    const char *T = strchr(t, 'T');
    int h = 0, m = 0, sec = 0;
    assert_non_null(T);
    assert_int_equal(sscanf(T + 1, "%d:%d:%d", &h, &m, &sec), 3);
    return h * 3600L + m * 60L + sec;
}

/* endAt - startedAt of a sandbox, in seconds (a TTL under a day). */
static long ttl_of(const char *id)
{
    char path[128];
    snprintf(path, sizeof path, "/sandboxes/%s", id);
    struct rsp r;
    api("GET", path, NULL, &r);
    assert_int_equal(r.status, 200);
    cJSON *j = rsp_json(&r);
    long ttl = (day_seconds(jstr(j, "endAt")) - day_seconds(jstr(j, "startedAt")) + 86400) % 86400;
    cJSON_Delete(j);
    rsp_free(&r);
    return ttl;
}

/* v2 create: always secured (an envdAccessToken even when `secure` says otherwise), 300 s by
 * default; v2 connect takes {}, no body or {timeout}, and resumes a paused sandbox (201). */
static void test_mock_e2b_v2_create_and_connect(void **state)
{
    (void)state;
    struct rsp r;
    api("POST", "/v2/sandboxes", "{\"templateID\":\"base\",\"secure\":false}", &r);
    assert_int_equal(r.status, 201);
    cJSON *j = rsp_json(&r);
    char id[64];
    snprintf(id, sizeof id, "%s", jstr(j, "sandboxID"));
    assert_true(strlen(jstr(j, "envdAccessToken")) >= 32);
    assert_string_equal(jstr(j, "envdVersion"), "0.6.13");
    cJSON_Delete(j);
    rsp_free(&r);
    long ttl = ttl_of(id);
    assert_true(ttl >= 299 && ttl <= 301);
    api("POST", "/v2/sandboxes", "{\"timeout\":10}", &r);
    assert_api_error(&r, 400, "templateID");
    rsp_free(&r);
    char conn[128], pause[128];
    snprintf(conn, sizeof conn, "/v2/sandboxes/%s/connect", id);
    snprintf(pause, sizeof pause, "/sandboxes/%s/pause", id);
    api("POST", conn, "{}", &r);
    assert_int_equal(r.status, 200);
    j = rsp_json(&r);
    assert_string_equal(jstr(j, "sandboxID"), id);
    cJSON_Delete(j);
    rsp_free(&r);
    api("POST", conn, NULL, &r);
    assert_int_equal(r.status, 200);
    rsp_free(&r);
    api("POST", conn, "{\"timeout\":-1}", &r);
    assert_api_error(&r, 400, "timeout");
    rsp_free(&r);
    api("POST", pause, NULL, &r);
    assert_int_equal(r.status, 204);
    rsp_free(&r);
    api("POST", conn, "{\"timeout\":1200}", &r);
    assert_int_equal(r.status, 201);
    rsp_free(&r);
    ttl = ttl_of(id);
    assert_true(ttl >= 1199);
    api("POST", "/v2/sandboxes/nosuchsandbox0000000/connect", "{}", &r);
    assert_api_error(&r, 404, NULL);
    rsp_free(&r);
}

/* The key is checked before the route: a bad or missing key is 401 on routes that do not
 * exist too, and only a good key learns that a route is unknown (404). */
static void test_mock_e2b_key_checked_before_route(void **state)
{
    (void)state;
    struct rsp r;
    const char *bad[] = {"X-API-Key: e2b_00", NULL};
    const char *paths[] = {"/no/such/route", "/v3/sandboxes", "/sandboxes/x/y/z"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        req("GET", paths[i], bad, NULL, 0, &r);
        assert_api_error(&r, 401, "Invalid API key");
        rsp_free(&r);
        req("POST", paths[i], NULL, "{}", 2, &r);
        assert_api_error(&r, 401, NULL);
        rsp_free(&r);
        api("GET", paths[i], NULL, &r);
        assert_api_error(&r, 404, NULL);
        rsp_free(&r);
    }
}

/* Armed refusals: 429 and 503 with Retry-After, for exactly `count` requests. */
static void test_mock_e2b_refusals_retry_after(void **state)
{
    (void)state;
    struct rsp r;
    api("POST", "/_sandprobe/faults", "{\"status\":429,\"count\":2,\"retryAfter\":3}", &r);
    assert_int_equal(r.status, 204);
    rsp_free(&r);
    for (int i = 0; i < 2; i++) {
        api("GET", "/v2/sandboxes", NULL, &r);
        assert_api_error(&r, 429, "Rate limit");
        assert_string_equal(rsp_header(&r, "Retry-After"), "3");
        rsp_free(&r);
    }
    api("GET", "/v2/sandboxes", NULL, &r);
    assert_int_equal(r.status, 200);
    rsp_free(&r);
    struct sp_mock_stats before, after;
    sp_mock_stats(g_mock, &before);
    api("POST", "/_sandprobe/faults", "{\"status\":503}", &r);
    assert_int_equal(r.status, 204);
    rsp_free(&r);
    api("POST", "/v2/sandboxes", "{\"templateID\":\"base\"}", &r);
    assert_api_error(&r, 503, NULL);
    assert_string_equal(rsp_header(&r, "Retry-After"), "1");
    rsp_free(&r);
    sp_mock_stats(g_mock, &after);
    assert_int_equal(after.created, before.created);
    api("POST", "/_sandprobe/faults", "{\"status\":500}", &r);
    assert_api_error(&r, 400, "429 or 503");
    rsp_free(&r);
    api("POST", "/_sandprobe/faults", "{\"status\":429,\"count\":-1}", &r);
    assert_api_error(&r, 400, "count");
    rsp_free(&r);
    req("POST", "/_sandprobe/faults", NULL, "{\"status\":429}", 14, &r);
    assert_api_error(&r, 401, NULL);
    rsp_free(&r);
}

/* --- envd: routing and auth ---------------------------------------------------------------- */

static void test_mock_e2b_envd_routing(void **state)
{
    (void)state;
    struct sbx s;
    create("{\"templateID\":\"base\"}", &s);
    struct rsp r;
    envd(&s, "GET", "/health", NULL, NULL, NULL, 0, &r);
    assert_int_equal(r.status, 204);
    rsp_free(&r);
    req("GET", "/health", NULL, NULL, 0, &r); /* the API's own health check */
    assert_int_equal(r.status, 200);
    assert_string_equal(sp_buf_str(&r.body), "Health check successful");
    rsp_free(&r);
    char id[128], host[160];
    snprintf(id, sizeof id, "E2b-Sandbox-Id: %s", s.id);
    const char *only_id[] = {id, NULL};
    req("GET", "/health", only_id, NULL, 0, &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(sp_buf_str(&r.body), "Missing header: E2b-Sandbox-Port");
    rsp_free(&r);
    struct sbx ghost = {.id = "nosuchsandbox0000000"};
    envd(&ghost, "GET", "/health", NULL, NULL, NULL, 0, &r);
    assert_int_equal(r.status, 502);
    cJSON *j = rsp_json(&r);
    assert_string_equal(jstr(j, "sandboxId"), ghost.id);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(j, "code")->valueint, 502);
    cJSON_Delete(j);
    rsp_free(&r);
    /* Host routing: "49983-<id>.localhost" reaches envd, another port does not. */
    snprintf(host, sizeof host, "Host: 49983-%s.localhost", s.id);
    const char *by_host[] = {host, NULL};
    req("GET", "/health", by_host, NULL, 0, &r);
    assert_int_equal(r.status, 204);
    rsp_free(&r);
    snprintf(host, sizeof host, "Host: 8080-%s.localhost", s.id);
    req("GET", "/health", by_host, NULL, 0, &r);
    assert_int_equal(r.status, 502);
    rsp_free(&r);
    snprintf(host, sizeof host, "Host: 49983-%s.localhost", ghost.id);
    req("GET", "/health", by_host, NULL, 0, &r);
    assert_int_equal(r.status, 502);
    rsp_free(&r);
}

/* A secure sandbox's envd wants X-Access-Token (RPCs: the plain 401 body; /files: the
 * signing rules). */
static void test_mock_e2b_envd_access_token(void **state)
{
    (void)state;
    struct sbx s, anon;
    create("{\"templateID\":\"base\",\"secure\":true}", &s);
    struct rsp r;
    rpc(&s, "/filesystem.Filesystem/ListDir", "{\"path\":\"/home/user\"}", &r);
    assert_int_equal(r.status, 200);
    rsp_free(&r);
    anon = s;
    anon.token[0] = '\0';
    rpc(&anon, "/filesystem.Filesystem/ListDir", "{\"path\":\"/home/user\"}", &r);
    assert_int_equal(r.status, 401);
    assert_string_equal(sp_buf_str(&r.body),
                        "{\"code\":401,\"message\":\"unauthorized access, please provide a "
                        "valid access token or method signing if supported\"}");
    rsp_free(&r);
    struct sbx wrong = s;
    snprintf(wrong.token, sizeof wrong.token, "not-the-token");
    rpc(&wrong, "/filesystem.Filesystem/Stat", "{\"path\":\"/home/user\"}", &r);
    assert_int_equal(r.status, 401);
    rsp_free(&r);
    envd(&anon, "GET", "/files?path=/etc/x", NULL, NULL, NULL, 0, &r);
    assert_api_error(&r, 401, "missing signature query parameter");
    rsp_free(&r);
    envd(&wrong, "GET", "/files?path=/etc/x", NULL, NULL, NULL, 0, &r);
    assert_api_error(&r, 401, "access token present in header but does not match");
    rsp_free(&r);
    envd(&anon, "GET", "/health", NULL, NULL, NULL, 0, &r); /* /health needs no token */
    assert_int_equal(r.status, 204);
    rsp_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mock_e2b_env_points_sdk_at_mock),
        cmocka_unit_test(test_mock_e2b_rejects_missing_or_bad_key),
        cmocka_unit_test(test_mock_e2b_create_returns_sandbox),
        cmocka_unit_test(test_mock_e2b_create_rejects_bad_body),
        cmocka_unit_test(test_mock_e2b_get_and_kill),
        cmocka_unit_test(test_mock_e2b_timeout_expires_sandbox),
        cmocka_unit_test(test_mock_e2b_pause_resume_connect),
        cmocka_unit_test(test_mock_e2b_list_v2_metadata_paging),
        cmocka_unit_test(test_mock_e2b_faults),
        cmocka_unit_test(test_mock_e2b_v2_create_and_connect),
        cmocka_unit_test(test_mock_e2b_key_checked_before_route),
        cmocka_unit_test(test_mock_e2b_refusals_retry_after),
        cmocka_unit_test(test_mock_e2b_envd_routing),
        cmocka_unit_test(test_mock_e2b_envd_access_token),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
