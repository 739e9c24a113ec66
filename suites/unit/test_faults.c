/* Fault injection of the mock core (mocks/faults*.c): the spec grammar, scenario files, the
 * admin endpoint, and each HTTP fault kind and the vanish sandbox fault over raw HTTP
 * against an in-process E2B mock (the core does the same for every vendor). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "mock_e2b_http.h"
#include "provider.h"

static int setup(void **state)
{
    (void)state;
    struct sp_mock_config cfg = {
        .vendor = "e2b", .key = KEY, .has_latency = true, .quiet = true, .seed = 42};
    struct sp_error err = {0};
    return sp_mock_start(&cfg, &g_mock, &err) == SP_E_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    sp_mock_stop(g_mock);
    return 0;
}

static int disarm_all(void **state)
{
    (void)state;
    sp_mock_fault_remove(g_mock, -1);
    return 0;
}

static void expect_bad(const char *spec, const char *why)
{
    struct sp_error err = {0};
    assert_int_equal(sp_mock_fault_check(spec, &err), SP_E_CONFIG);
    assert_non_null(strstr(err.msg, spec));
    if (strstr(err.msg, why) == NULL)
        fail_msg("'%s': expected the reason to contain '%s', got '%s'", spec, why, err.msg);
}

static void test_faults_grammar(void **state)
{
    (void)state;
    static const char *const good[] = {"POST /sandbox 503 p=0.1",
                                       "/sandboxes/* 429 retry-after=5 count=3",
                                       "* /** reset plane=api",
                                       "GET /v2/sandboxes/{}/logs delay dist=uniform:1s,2s",
                                       "PUT /files oversize size=1000",
                                       "* /** dribble rate=10 plane=data",
                                       "GET / stall for=2s vendor=e2b",
                                       "* /process.Process/Start cut",
                                       "* /** no-eos",
                                       "DELETE /x/** 504",
                                       "sandbox vanish after=500ms count=1",
                                       "sandbox stuck p=0.5",
                                       "sandbox dataplane-dies",
                                       "sandbox server-crash after=2s",
                                       "/a truncate",
                                       "/a malformed",
                                       "/a empty",
                                       "/a reset-mid",
                                       "sandbox error",
                                       "sandbox never-alive"};
    struct sp_error err = {0};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (sp_mock_fault_check(good[i], &err) != SP_E_OK)
            fail_msg("'%s' refused: %s", good[i], err.msg);
    expect_bad("POST /sandbox 507", "unknown action");
    expect_bad("FETCH /sandbox 503", "METHOD");
    expect_bad("POST sandbox 503", "start with '/'");
    expect_bad("POST /sandbox", "action is missing");
    expect_bad("POST /sandbox 503 p=2", "probability");
    expect_bad("POST /sandbox 503 count=0", "count=");
    expect_bad("POST /sandbox 503 rate=5", "unknown option");
    expect_bad("POST /sandbox delay", "dist=");
    expect_bad("POST /sandbox delay dist=fixed:2", "latency distribution");
    expect_bad("/a/**/b 503", "last segment");
    expect_bad("sandbox explode", "unknown sandbox fault");
    expect_bad("sandbox vanish after=soon", "unit");
    expect_bad("/a 503 plane=moon", "plane=");
    expect_bad("/a 503 p", "KEY=VALUE");
    expect_bad("", "empty");
}

static void test_faults_scenario(void **state)
{
    (void)state;
    struct sp_error err = {0};
    static const char GOOD[] = "{\"faults\":[{\"fault\":\"GET /v2/sandboxes 503\"},"
                               "{\"fault\":\"sandbox vanish\",\"start\":1,\"stop\":\"2s\"}]}";
    assert_int_equal(sp_mock_faults_load_json(g_mock, GOOD, strlen(GOOD), "t", &err), SP_E_OK);
    assert_true(sp_mock_fault_remove(g_mock, -1));
    static const struct {
        const char *json, *why;
    } BAD[] = {
        {"nope", "not JSON"},
        {"{\"fault\":\"/a 503\"}", "want {\"faults\""},
        {"{\"faults\":[{\"fault\":\"/a 503\"},{\"spec\":\"/a 503\"}]}", "faults[1]"},
        {"{\"faults\":[{\"fault\":\"/a 503\",\"start\":5,\"stop\":2}]}", "stop must come after"},
        {"{\"faults\":[{\"fault\":\"/a 503\",\"start\":\"later\"}]}", "start and stop"},
        {"{\"faults\":[{\"fault\":\"/a 503\"},{\"fault\":\"/a 999\"}]}", "unknown action"},
    };
    for (size_t i = 0; i < sizeof(BAD) / sizeof(BAD[0]); i++) {
        sp_error_clear(&err);
        assert_int_equal(sp_mock_faults_load_json(g_mock, BAD[i].json, strlen(BAD[i].json),
                                                  "scenario.json", &err),
                         SP_E_CONFIG);
        assert_non_null(strstr(err.msg, "scenario.json"));
        if (strstr(err.msg, BAD[i].why) == NULL)
            fail_msg("expected '%s' in '%s'", BAD[i].why, err.msg);
        assert_false(sp_mock_fault_remove(g_mock, -1)); /* a bad file arms nothing */
    }
    /* From a file, and a window: not active before its start. */
    char path[] = "/tmp/sp-faults-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    static const char LATER[] = "{\"faults\":[{\"fault\":\"GET /v2/sandboxes 503\","
                                "\"start\":3600}]}";
    assert_int_equal(write(fd, LATER, sizeof(LATER) - 1), (ssize_t)(sizeof(LATER) - 1));
    close(fd);
    assert_int_equal(sp_mock_faults_load(g_mock, path, &err), SP_E_OK);
    unlink(path);
    struct rsp r;
    api("GET", "/v2/sandboxes", NULL, &r);
    assert_int_equal(r.status, 200);
    rsp_free(&r);
    assert_int_equal(sp_mock_faults_load(g_mock, "/nonexistent/f.json", &err), SP_E_CONFIG);
    assert_non_null(strstr(err.msg, "/nonexistent/f.json"));
}

static void test_faults_admin_endpoint(void **state)
{
    (void)state;
    struct rsp r;
    api("POST", "/_sandprobe/faults", "{\"fault\":\"GET /v2/sandboxes 502 count=1\"}", &r);
    assert_int_equal(r.status, 201);
    cJSON *j = rsp_json(&r);
    int id = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "ids"), 0)->valueint;
    cJSON_Delete(j);
    rsp_free(&r);
    api("GET", "/v2/sandboxes", NULL, &r);
    assert_api_error(&r, 502, "Bad gateway");
    rsp_free(&r);
    api("GET", "/_sandprobe/faults", NULL, &r);
    assert_int_equal(r.status, 200);
    j = rsp_json(&r);
    cJSON *f = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "faults"), 0);
    assert_int_equal(cJSON_GetObjectItem(f, "id")->valueint, id);
    assert_string_equal(jstr(f, "fault"), "GET /v2/sandboxes 502 count=1");
    assert_int_equal(cJSON_GetObjectItem(f, "injected")->valueint, 1);
    assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "injected"), "status")->valueint >= 1);
    cJSON_Delete(j);
    rsp_free(&r);
    char path[64];
    snprintf(path, sizeof(path), "/_sandprobe/faults/%d", id);
    api("DELETE", path, NULL, &r);
    assert_int_equal(r.status, 204);
    rsp_free(&r);
    api("DELETE", path, NULL, &r);
    assert_api_error(&r, 404, "no fault");
    rsp_free(&r);
    api("POST", "/_sandprobe/faults", "{\"fault\":\"GET /x 999\"}", &r);
    assert_api_error(&r, 400, "unknown action");
    rsp_free(&r);
    api("POST", "/_sandprobe/faults",
        "{\"faults\":[{\"fault\":\"/a 503\"},{\"fault\":\"/b 500\",\"start\":1}]}", &r);
    assert_int_equal(r.status, 201);
    rsp_free(&r);
    api("DELETE", "/_sandprobe/faults", NULL, &r);
    assert_int_equal(r.status, 204);
    rsp_free(&r);
    assert_false(sp_mock_fault_remove(g_mock, -1));
    req("GET", "/_sandprobe/faults", NULL, NULL, 0, &r); /* no key */
    assert_api_error(&r, 401, NULL);
    rsp_free(&r);
}

/* Every vendor has the endpoint, behind its own key check: Daytona's Bearer key, at the
 * origin and under /api. */
static void test_faults_admin_endpoint_daytona(void **state)
{
    (void)state;
    struct sp_mock_config cfg = {
        .vendor = "daytona", .key = "dtn_k", .has_latency = true, .quiet = true};
    struct sp_mock *m = NULL;
    struct sp_error err = {0};
    assert_int_equal(sp_mock_start(&cfg, &m, &err), SP_E_OK);
    char url[256];
    const char *bearer[] = {"Authorization: Bearer dtn_k", "Content-Type: application/json", NULL};
    const char *wrong[] = {"Authorization: Bearer nope", NULL};
    struct rsp r;
    rsp_init(&r);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/api/_sandprobe/faults", sp_mock_port(m));
    static const char BODY[] = "{\"fault\":\"POST /sandbox 503\"}";
    struct http_req q = {
        .method = "POST", .url = url, .headers = bearer, .body = BODY, .len = sizeof(BODY) - 1};
    assert_int_equal(http_perform(&q, &r), CURLE_OK);
    assert_int_equal(r.status, 201);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/api/sandbox", sp_mock_port(m));
    q = (struct http_req){.method = "POST", .url = url, .headers = bearer, .body = "{}", .len = 2};
    assert_int_equal(http_perform(&q, &r), CURLE_OK);
    assert_int_equal(r.status, 503);
    assert_non_null(strstr(sp_buf_str(&r.body), "\"error\":\"Service Unavailable\""));
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/_sandprobe/faults", sp_mock_port(m));
    q = (struct http_req){.method = "GET", .url = url, .headers = wrong};
    assert_int_equal(http_perform(&q, &r), CURLE_OK);
    assert_int_equal(r.status, 401);
    q.headers = bearer;
    assert_int_equal(http_perform(&q, &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(sp_buf_str(&r.body), "POST /sandbox 503"));
    rsp_free(&r);
    sp_mock_stop(m);
}

/* GET /v2/sandboxes with fault spec armed; returns how the transfer ended. */
static CURLcode faulted_list(const char *spec, long timeout_ms, struct rsp *r)
{
    struct sp_error err = {0};
    assert_int_equal(sp_mock_fault_add(g_mock, spec, NULL, &err), SP_E_OK);
    const char *hdrs[] = {"X-API-Key: " KEY, NULL};
    CURLcode rc = req_timed("GET", "/v2/sandboxes", hdrs, NULL, 0, timeout_ms, r);
    sp_mock_fault_remove(g_mock, -1);
    return rc;
}

static void test_faults_status_and_body_kinds(void **state)
{
    (void)state;
    struct rsp r, normal;
    api("GET", "/v2/sandboxes", NULL, &normal); /* what the reply is without a fault */
    assert_int_equal(normal.status, 200);
    long before = sp_mock_fault_count(g_mock, SP_MOCK_FK_STATUS);
    static const int STATUSES[] = {429, 500, 502, 503, 504};
    for (size_t i = 0; i < 5; i++) {
        char spec[64];
        snprintf(spec, sizeof(spec), "GET /v2/sandboxes %d retry-after=7", STATUSES[i]);
        assert_int_equal(faulted_list(spec, 0, &r), CURLE_OK);
        assert_api_error(&r, STATUSES[i], "injected fault");
        assert_string_equal(rsp_header(&r, "Retry-After"), "7");
        rsp_free(&r);
    }
    assert_int_equal(sp_mock_fault_count(g_mock, SP_MOCK_FK_STATUS) - before, 5);
    assert_int_equal(faulted_list("GET /v2/sandboxes empty", 0, &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.len, 0);
    rsp_free(&r);
    assert_int_equal(faulted_list("GET /v2/sandboxes truncate", 0, &r), CURLE_OK);
    assert_int_equal(r.body.len, normal.body.len / 2);
    assert_memory_equal(r.body.data, normal.body.data, r.body.len);
    rsp_free(&r);
    assert_int_equal(faulted_list("GET /v2/sandboxes malformed", 0, &r), CURLE_OK);
    assert_null(cJSON_ParseWithLength(r.body.data, r.body.len));
    rsp_free(&r);
    assert_int_equal(faulted_list("GET /v2/sandboxes oversize size=100000", 0, &r), CURLE_OK);
    assert_int_equal(r.body.len, 100000);
    assert_memory_equal(r.body.data, "{\"data\":\"xxx", 12);
    rsp_free(&r);
    assert_int_equal(faulted_list("GET /v2/sandboxes dribble rate=1000", 0, &r), CURLE_OK);
    assert_int_equal(r.body.len, normal.body.len); /* all of it, slowly */
    assert_memory_equal(r.body.data, normal.body.data, r.body.len);
    rsp_free(&r);
    rsp_free(&normal);
    assert_int_equal(sp_mock_fault_count(g_mock, SP_MOCK_FK_DRIBBLE), 1);
}

static void test_faults_connection_kinds(void **state)
{
    (void)state;
    struct rsp r;
    CURLcode rc = faulted_list("GET /v2/sandboxes reset", 0, &r);
    assert_true(rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING);
    assert_int_equal(r.status, 0);
    rsp_free(&r);
    /* Half of an oversized body, then the reset. */
    rc = faulted_list("GET /v2/sandboxes reset-mid", 0, &r);
    assert_int_not_equal(rc, CURLE_OK);
    rsp_free(&r);
    rc = faulted_list("GET /v2/sandboxes stall", 300, &r);
    assert_int_equal(rc, CURLE_OPERATION_TIMEDOUT);
    assert_int_equal(r.status, 0);
    rsp_free(&r);
    rc = faulted_list("GET /v2/sandboxes stall for=200ms", 0, &r);
    assert_true(rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING);
    rsp_free(&r);
    int64_t t0 = sp_now_ms();
    assert_int_equal(faulted_list("GET /v2/sandboxes delay dist=fixed:300ms", 0, &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_true(sp_now_ms() - t0 >= 290);
    rsp_free(&r);
    assert_int_equal(sp_mock_fault_count(g_mock, SP_MOCK_FK_RESET), 1);
    assert_int_equal(sp_mock_fault_count(g_mock, SP_MOCK_FK_STALL), 2);
    assert_int_equal(sp_mock_fault_count(g_mock, SP_MOCK_FK_DELAY), 1);
}

static void test_faults_matching_probability_count(void **state)
{
    (void)state;
    struct sp_error err = {0};
    struct rsp r;
    /* p=0 never, count=2 twice, other methods and paths never. */
    assert_int_equal(sp_mock_fault_add(g_mock, "GET /v2/sandboxes 500 p=0", NULL, &err), SP_E_OK);
    assert_int_equal(sp_mock_fault_add(g_mock, "POST /v2/** 503 count=2", NULL, &err), SP_E_OK);
    for (int i = 0; i < 3; i++) {
        api("GET", "/v2/sandboxes", NULL, &r);
        assert_int_equal(r.status, 200);
        rsp_free(&r);
    }
    for (int i = 0; i < 3; i++) {
        api("POST", "/v2/sandboxes", "{\"templateID\":\"base\"}", &r);
        assert_int_equal(r.status, i < 2 ? 503 : 201);
        if (r.status == 201) {
            cJSON *j = rsp_json(&r);
            char path[128];
            snprintf(path, sizeof(path), "/sandboxes/%s", jstr(j, "sandboxID"));
            cJSON_Delete(j);
            rsp_free(&r);
            api("DELETE", path, NULL, &r);
        }
        rsp_free(&r);
    }
    sp_mock_fault_remove(g_mock, -1);
    /* p=0.5 from the seed: some, not all, of 200. */
    assert_int_equal(sp_mock_fault_add(g_mock, "GET /v2/sandboxes 503 p=0.5", NULL, &err), SP_E_OK);
    int refused = 0;
    for (int i = 0; i < 200; i++) {
        api("GET", "/v2/sandboxes", NULL, &r);
        refused += r.status == 503;
        rsp_free(&r);
    }
    assert_true(refused > 50 && refused < 150);
}

static void test_faults_sandbox_vanishes(void **state)
{
    (void)state;
    struct sp_error err = {0};
    struct rsp r;
    assert_int_equal(sp_mock_fault_add(g_mock, "sandbox vanish after=100ms count=1", NULL, &err),
                     SP_E_OK);
    struct sbx s;
    create("{\"templateID\":\"base\"}", &s);
    char path[128];
    snprintf(path, sizeof(path), "/sandboxes/%s", s.id);
    api("GET", path, NULL, &r);
    assert_int_equal(r.status, 200);
    rsp_free(&r);
    nap_ms(300);
    api("GET", path, NULL, &r);
    assert_int_equal(r.status, 404);
    rsp_free(&r);
    assert_int_equal(sp_mock_fault_count(g_mock, SP_MOCK_FK_SB_VANISH), 1);
}

/* The timed sandbox faults on envd: answering at first, then a crashed server (502) or a
 * dead data plane (connections reset). */
static void test_faults_sandbox_server_crash_and_dataplane_dies(void **state)
{
    (void)state;
    struct sp_error err = {0};
    struct rsp r;
    static const char *const SPECS[] = {"sandbox server-crash after=300ms count=1",
                                        "sandbox dataplane-dies after=300ms count=1"};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(sp_mock_fault_add(g_mock, SPECS[i], NULL, &err), SP_E_OK);
        struct sbx s;
        create("{\"templateID\":\"base\"}", &s);
        rpc(&s, "/process.Process/List", "{}", &r);
        assert_int_equal(r.status, 200);
        rsp_free(&r);
        nap_ms(500);
        CURLcode rc = envd_timed(&s, "POST", "/process.Process/List", NULL, NULL, "{}", 2, 0, &r);
        if (i == 0) {
            assert_int_equal(rc, CURLE_OK);
            assert_int_equal(r.status, 502);
        } else {
            assert_true(rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING);
        }
        rsp_free(&r);
        sp_mock_fault_remove(g_mock, -1);
    }
    assert_int_equal(sp_mock_fault_count(g_mock, SP_MOCK_FK_SB_SERVER_CRASH), 1);
    assert_int_equal(sp_mock_fault_count(g_mock, SP_MOCK_FK_SB_DATA_PLANE_DIES), 1);
}

/* Connect streams (envd process.Start): no-eos drops exactly the end-of-stream frame, cut
 * resets the stream after its first part. */
static void test_faults_stream_kinds(void **state)
{
    (void)state;
    struct sp_error err = {0};
    struct envelope env[32];
    struct rsp r;
    struct sbx s;
    create("{\"templateID\":\"base\"}", &s);
    start(&s, "echo one; echo two", NULL, &r);
    size_t n = split_envelopes(&r.body, env, 32);
    assert_true(n >= 3);
    assert_int_equal(env[n - 1].flags, 2); /* the end-of-stream frame */
    rsp_free(&r);
    assert_int_equal(sp_mock_fault_add(g_mock, "POST /process.Process/Start no-eos", NULL, &err),
                     SP_E_OK);
    start(&s, "echo one; echo two", NULL, &r);
    size_t m = split_envelopes(&r.body, env, 32);
    assert_true(m >= 2); /* start, output (batched as it came), end: no end-of-stream */
    for (size_t i = 0; i < m; i++)
        assert_int_equal(env[i].flags & 2, 0);
    assert_non_null(strstr(env[m - 1].json, "\"end\"")); /* the process's end event stays */
    rsp_free(&r);
    sp_mock_fault_remove(g_mock, -1);
    assert_int_equal(sp_mock_fault_add(g_mock, "POST /process.Process/Start cut", NULL, &err),
                     SP_E_OK);
    CURLcode rc = start_timed(&s, "echo one; sleep 0.3; echo two", NULL, 0, &r);
    assert_int_not_equal(rc, CURLE_OK);
    assert_null(strstr(r.body.data ? r.body.data : "", "two"));
    rsp_free(&r);
    assert_int_equal(sp_mock_fault_count(g_mock, SP_MOCK_FK_NO_EOS), 1);
    assert_int_equal(sp_mock_fault_count(g_mock, SP_MOCK_FK_CUT), 1);
}

/* The three time-shaped kinds, armed as `ARM` says: a delay and a dribble on the list (the
 * delay first, then the dribble on the same reply), a server crash on the next sandbox. */
static const char *const TIMED[] = {"GET /v2/sandboxes delay dist=fixed:200ms count=1",
                                    "GET /v2/sandboxes dribble rate=20000 count=1",
                                    "sandbox server-crash after=200ms count=1"};

/* What each of TIMED does once armed: the list waits the delay and comes whole (dribbled),
 * and the new sandbox's envd answers until the crash, then the proxy's "port is not open". */
static void expect_timed_kinds(void)
{
    long before[] = {sp_mock_fault_count(g_mock, SP_MOCK_FK_DELAY),
                     sp_mock_fault_count(g_mock, SP_MOCK_FK_DRIBBLE),
                     sp_mock_fault_count(g_mock, SP_MOCK_FK_SB_SERVER_CRASH)};
    struct rsp r;
    int64_t t0 = sp_now_ms();
    api("GET", "/v2/sandboxes", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_true(sp_now_ms() - t0 >= 200);
    cJSON_Delete(rsp_json(&r)); /* the whole JSON body, dribbled */
    rsp_free(&r);
    struct sbx s;
    create("{\"templateID\":\"base\"}", &s);
    rpc(&s, "/process.Process/List", "{}", &r);
    assert_int_equal(r.status, 200);
    rsp_free(&r);
    nap_ms(400);
    assert_int_equal(envd_timed(&s, "POST", "/process.Process/List", NULL, NULL, "{}", 2, 0, &r),
                     CURLE_OK);
    assert_int_equal(r.status, 502);
    cJSON *j = rsp_json(&r);
    assert_string_equal(jstr(j, "message"), "The sandbox is running but port is not open");
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(j, "port")));
    cJSON_Delete(j);
    rsp_free(&r);
    assert_int_equal(sp_mock_fault_count(g_mock, SP_MOCK_FK_DELAY), before[0] + 1);
    assert_int_equal(sp_mock_fault_count(g_mock, SP_MOCK_FK_DRIBBLE), before[1] + 1);
    assert_int_equal(sp_mock_fault_count(g_mock, SP_MOCK_FK_SB_SERVER_CRASH), before[2] + 1);
}

/* delay, dribble and server-crash from a scenario file and from the admin endpoint (the
 * --fault flag: test_cli.c). */
static void test_faults_timed_kinds_by_scenario_and_admin(void **state)
{
    (void)state;
    char json[1024];
    snprintf(json, sizeof(json),
             "{\"faults\":[{\"fault\":\"%s\"},{\"fault\":\"%s\"},{\"fault\":\"%s\"}]}", TIMED[0],
             TIMED[1], TIMED[2]);
    struct sp_error err = {0};
    assert_int_equal(sp_mock_faults_load_json(g_mock, json, strlen(json), "timed.json", &err),
                     SP_E_OK);
    expect_timed_kinds();
    assert_true(sp_mock_fault_remove(g_mock, -1));
    struct rsp r;
    api("POST", "/_sandprobe/faults", json, &r);
    assert_int_equal(r.status, 201);
    rsp_free(&r);
    expect_timed_kinds();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_faults_grammar, disarm_all),
        cmocka_unit_test_teardown(test_faults_scenario, disarm_all),
        cmocka_unit_test_teardown(test_faults_admin_endpoint, disarm_all),
        cmocka_unit_test(test_faults_admin_endpoint_daytona),
        cmocka_unit_test_teardown(test_faults_status_and_body_kinds, disarm_all),
        cmocka_unit_test_teardown(test_faults_connection_kinds, disarm_all),
        cmocka_unit_test_teardown(test_faults_matching_probability_count, disarm_all),
        cmocka_unit_test_teardown(test_faults_sandbox_vanishes, disarm_all),
        cmocka_unit_test_teardown(test_faults_stream_kinds, disarm_all),
        cmocka_unit_test_teardown(test_faults_sandbox_server_crash_and_dataplane_dies, disarm_all),
        cmocka_unit_test_teardown(test_faults_timed_kinds_by_scenario_and_admin, disarm_all),
    };
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    curl_global_cleanup();
    return rc;
}
