/* Raw-HTTP tests of the Daytona mock (mocks/daytona*.c) against spec/daytona-runloop.md
 * Part A: the mock runs in-process on a loopback port with small delays, and libcurl easy
 * sends exactly the requests the 0.24.2 SDKs send, so these check the wire (status codes,
 * bodies, NestJS and daemon error shapes, state transitions), not our client. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "mock_daytona_http.h"

/* Short delays; stop and delete slow enough that a test sees them in progress. */
static const struct sp_latency LATENCY = {
    .create_ms = 20, .start_ms = 20, .stop_ms = 150, .delete_ms = 150, .server_ms = 50};

static int setup(void **state)
{
    return start_mock(state, 0, LATENCY);
}

static int setup_cursor(void **state)
{
    return start_mock(state, SP_MOCK_DAYTONA_LIST_CURSOR, LATENCY);
}

/* The NestJS filter's body: statusCode, timestamp, path, error, message. */
static void assert_nest(struct fx *f, long status, const char *error, const char *message)
{
    assert_int_equal(f->r.status, status);
    assert_non_null(f->json);
    assert_int_equal(cJSON_GetObjectItem(f->json, "statusCode")->valueint, status);
    assert_non_null(jstr(f->json, "timestamp"));
    assert_non_null(jstr(f->json, "path"));
    assert_jstr(f->json, "error", error);
    if (message)
        assert_jstr(f->json, "message", message);
}

/* Polls GET /sandbox/{id} until state is `want` (bounded: the mock's delays are short). */
static void wait_state(struct fx *f, const char *id, const char *want)
{
    char path[128];
    snprintf(path, sizeof(path), "/api/sandbox/%s", id);
    for (int i = 0; i < 400; i++) {
        assert_int_equal(call(f, "GET", path, NULL), 200);
        if (strcmp(jstr(f->json, "state"), want) == 0)
            return;
        nap_ms(10);
    }
    fail_msg("sandbox %s never reached state %s", id, want);
}

/* --- control plane -------------------------------------------------------------------------- */

/* The ready-line variables point the SDK at the mock: key and base URL with /api. */
static void test_daytona_env(void **state)
{
    struct fx *f = *state;
    const char *url = sp_kv_get(sp_mock_env(f->m), "DAYTONA_API_URL");
    assert_non_null(url);
    assert_string_equal(url, sp_mock_url(f->m));
    assert_non_null(strstr(url, "/api"));
    assert_int_equal(strncmp(f->key, "dtn_", 4), 0);
}

/* A missing or wrong Bearer key gets 401 with the Nest body; unknown routes 404. */
static void test_daytona_auth_and_unknown_route(void **state)
{
    struct fx *f = *state;
    send_req(f, "GET", "/api/sandbox", NULL, false, NULL, NULL, NULL);
    assert_nest(f, 401, "Http Exception", "Unauthorized");
    send_req(f, "GET", "/api/sandbox", NULL, false, NULL, NULL, "Authorization: Bearer nope");
    assert_nest(f, 401, "Http Exception", "Unauthorized");
    assert_non_null(strstr(rsp_header(&f->r, "Content-Type"), "application/json"));
    struct sp_mock_stats st;
    sp_mock_stats(f->m, &st);
    assert_int_equal(st.unauthorized, 2);
    call(f, "GET", "/api/nope", NULL);
    assert_nest(f, 404, "Not Found", "Cannot GET /api/nope");
}

/* POST /sandbox answers 200 with a started Sandbox carrying every field the SDK reads. */
static void test_daytona_create_full_object(void **state)
{
    struct fx *f = *state;
    const char *id = create(f, "{\"snapshot\":\"snap\",\"env\":{\"port\":\"4444\"},\"labels\":"
                               "{\"OpenHands_SID\":\"s1\"},\"public\":true,\"target\":\"eu\","
                               "\"autoStopInterval\":60}");
    assert_int_equal(strlen(id), 36);
    assert_true(id[8] == '-' && id[13] == '-' && id[14] == '4' && id[18] == '-' && id[23] == '-');
    const cJSON *o = f->json;
    assert_non_null(jstr(o, "organizationId"));
    assert_jstr(o, "snapshot", "snap");
    assert_jstr(o, "user", "daytona");
    assert_jstr(cJSON_GetObjectItem(o, "env"), "port", "4444");
    assert_jstr(cJSON_GetObjectItem(o, "labels"), "OpenHands_SID", "s1");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "public")));
    assert_jstr(o, "target", "eu");
    const char *nums[] = {"cpu",
                          "gpu",
                          "memory",
                          "disk",
                          "autoStopInterval",
                          "autoArchiveInterval",
                          "autoDeleteInterval"};
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
        assert_true(cJSON_IsNumber(cJSON_GetObjectItem(o, nums[i])));
    assert_int_equal(cJSON_GetObjectItem(o, "autoStopInterval")->valueint, 60);
    assert_jstr(o, "state", "started");
    assert_jstr(o, "desiredState", "started");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "errorReason")));
    assert_jstr(o, "backupState", "None");
    assert_true(cJSON_IsArray(cJSON_GetObjectItem(o, "volumes")));
    assert_non_null(jstr(o, "runnerDomain"));
    assert_non_null(jstr(o, "class"));
    assert_non_null(jstr(o, "daemonVersion"));
    const char *created = jstr(o, "createdAt");
    assert_non_null(created);
    assert_int_equal(strlen(created), 24); /* 2025-07-18T10:00:00.000Z */
    assert_int_equal(created[23], 'Z');
    assert_non_null(jstr(o, "updatedAt"));
    assert_non_null(strstr(rsp_header(&f->r, "Content-Type"), "application/json"));
}

/* CreateSandbox checks: resources with a snapshot, bad JSON, mistyped fields. */
static void test_daytona_create_validation(void **state)
{
    struct fx *f = *state;
    call(f, "POST", "/api/sandbox", "{\"snapshot\":\"s\",\"cpu\":2}");
    assert_nest(f, 400, "Bad Request", "Cannot specify Sandbox resources when using a snapshot");
    call(f, "POST", "/api/sandbox",
         "{\"snapshot\":\"s\",\"buildInfo\":{\"dockerfileContent\":\"x\"}}");
    assert_nest(f, 400, "Bad Request", "Cannot specify a snapshot when using a build info entry");
    call(f, "POST", "/api/sandbox", "{not json");
    assert_nest(f, 400, "Bad Request", NULL);
    call(f, "POST", "/api/sandbox", "{\"labels\":[1]}");
    assert_nest(f, 400, "Bad Request", NULL);
    const cJSON *msg = cJSON_GetObjectItem(f->json, "message");
    assert_true(cJSON_IsArray(msg));
    assert_string_equal(cJSON_GetArrayItem(msg, 0)->valuestring, "labels must be an object");
    call(f, "POST", "/api/sandbox", "{\"cpu\":1.5}");
    assert_nest(f, 400, "Bad Request", NULL);
    struct sp_mock_stats st;
    sp_mock_stats(f->m, &st);
    assert_int_equal(st.created, 0);
}

/* GET of an unknown id: 404 "Sandbox with ID x not found" (the SDK maps it to NotFound). */
static void test_daytona_get_unknown(void **state)
{
    struct fx *f = *state;
    call(f, "GET", "/api/sandbox/nope", NULL);
    assert_nest(f, 404, "Not Found", "Sandbox with ID nope not found");
    call(f, "DELETE", "/api/sandbox/nope?force=true", NULL);
    assert_nest(f, 404, "Not Found", "Sandbox with ID nope not found");
    call(f, "POST", "/api/sandbox/nope/start", NULL);
    assert_int_equal(f->r.status, 404);
}

static int count_with_id(const cJSON *arr, const char *id)
{
    int n = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        n += strcmp(jstr(it, "id"), id) == 0;
    }
    return n;
}

/* GET /sandbox?labels=<json>: an array filtered by label subset; null = all; bad JSON 500. */
static void test_daytona_list_labels(void **state)
{
    struct fx *f = *state;
    char a[64], b[64];
    snprintf(a, sizeof(a), "%s", create(f, "{\"labels\":{\"run\":\"r1\",\"k\":\"a\"}}"));
    snprintf(b, sizeof(b), "%s", create(f, "{\"labels\":{\"run\":\"r1\",\"k\":\"b\"}}"));
    assert_int_equal(call(f, "GET", "/api/sandbox", NULL), 200);
    assert_true(cJSON_IsArray(f->json));
    assert_int_equal(cJSON_GetArraySize(f->json), 2);
    assert_int_equal(call(f, "GET", "/api/sandbox?labels=%7B%22k%22%3A%22a%22%7D", NULL), 200);
    assert_int_equal(cJSON_GetArraySize(f->json), 1);
    assert_int_equal(count_with_id(f->json, a), 1);
    assert_int_equal(call(f, "GET", "/api/sandbox?labels=%7B%22run%22%3A%22r1%22%7D", NULL), 200);
    assert_int_equal(cJSON_GetArraySize(f->json), 2);
    assert_int_equal(call(f, "GET", "/api/sandbox?labels=null", NULL), 200);
    assert_int_equal(cJSON_GetArraySize(f->json), 2);
    assert_int_equal(call(f, "GET", "/api/sandbox?labels=%7B%22k%22%3A%22zz%22%7D", NULL), 200);
    assert_int_equal(cJSON_GetArraySize(f->json), 0);
    call(f, "GET", "/api/sandbox?labels=%7Bbad", NULL);
    assert_nest(f, 500, "Internal Server Error", NULL);
    /* A destroyed sandbox is hidden from the list. */
    char path[128];
    snprintf(path, sizeof(path), "/api/sandbox/%s?force=true", b);
    assert_int_equal(call(f, "DELETE", path, NULL), 200);
    wait_state(f, b, "destroyed");
    assert_int_equal(call(f, "GET", "/api/sandbox", NULL), 200);
    assert_int_equal(cJSON_GetArraySize(f->json), 1);
    assert_int_equal(count_with_id(f->json, b), 0);
}

/* With SP_MOCK_DAYTONA_LIST_CURSOR the list is {items, nextCursor}, paged by limit. */
static void test_daytona_list_cursor(void **state)
{
    struct fx *f = *state;
    create(f, "{}");
    create(f, "{}");
    assert_int_equal(call(f, "GET", "/api/sandbox", NULL), 200);
    assert_true(cJSON_IsObject(f->json));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(f->json, "items")), 2);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(f->json, "nextCursor")));
    assert_int_equal(call(f, "GET", "/api/sandbox?limit=1", NULL), 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(f->json, "items")), 1);
    char next[32], path[96];
    snprintf(next, sizeof(next), "%s", jstr(f->json, "nextCursor"));
    snprintf(path, sizeof(path), "/api/sandbox?limit=1&cursor=%s", next);
    assert_int_equal(call(f, "GET", path, NULL), 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(f->json, "items")), 1);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(f->json, "nextCursor")));
}

/* stop: 200 with the Sandbox (today's API; 0.24.2 sent an empty body), stopping -> stopped;
 * stop again 400; start: 200 started; start again 400. */
static void test_daytona_stop_start(void **state)
{
    struct fx *f = *state;
    char id[64], path[128];
    snprintf(id, sizeof(id), "%s", create(f, "{}"));
    snprintf(path, sizeof(path), "/api/sandbox/%s/stop", id);
    assert_int_equal(call(f, "POST", path, NULL), 200);
    assert_jstr(f->json, "id", id);
    assert_jstr(f->json, "desiredState", "stopped");
    snprintf(path, sizeof(path), "/api/sandbox/%s", id);
    assert_int_equal(call(f, "GET", path, NULL), 200);
    assert_jstr(f->json, "desiredState", "stopped");
    assert_true(strcmp(jstr(f->json, "state"), "stopping") == 0 ||
                strcmp(jstr(f->json, "state"), "stopped") == 0);
    wait_state(f, id, "stopped");
    snprintf(path, sizeof(path), "/api/sandbox/%s/stop", id);
    call(f, "POST", path, NULL);
    assert_nest(f, 400, "Bad Request", "Sandbox is not started");
    snprintf(path, sizeof(path), "/api/sandbox/%s/start", id);
    assert_int_equal(call(f, "POST", path, NULL), 200);
    assert_jstr(f->json, "id", id);
    assert_jstr(f->json, "state", "started");
    call(f, "POST", path, NULL);
    assert_nest(f, 400, "Bad Request", "Sandbox is not in valid state");
}

/* DELETE ?force=true: 200 with the Sandbox (empty in 0.24.2); it stays readable as
 * destroyed. */
static void test_daytona_delete_keeps_destroyed(void **state)
{
    struct fx *f = *state;
    char id[64], path[128];
    snprintf(id, sizeof(id), "%s", create(f, "{}"));
    snprintf(path, sizeof(path), "/api/sandbox/%s?force=true", id);
    assert_int_equal(call(f, "DELETE", path, NULL), 200);
    assert_jstr(f->json, "id", id);
    assert_jstr(f->json, "desiredState", "destroyed");
    snprintf(path, sizeof(path), "/api/sandbox/%s", id);
    assert_int_equal(call(f, "GET", path, NULL), 200);
    assert_jstr(f->json, "desiredState", "destroyed");
    wait_state(f, id, "destroyed");
    struct sp_mock_stats st;
    sp_mock_stats(f->m, &st);
    assert_int_equal(st.live, 0);
    assert_int_equal(st.created, 1);
}

/* Injected faults: error state with an errorReason; stuck in creating. */
static void test_daytona_faults(void **state)
{
    struct fx *f = *state;
    sp_mock_inject(f->m, SP_MOCK_FAULT_ERROR_STATE, 1);
    char id[64];
    snprintf(id, sizeof(id), "%s", create(f, "{}"));
    wait_state(f, id, "error");
    assert_non_null(jstr(f->json, "errorReason"));
    sp_mock_inject(f->m, SP_MOCK_FAULT_STUCK_CREATING, 1);
    snprintf(id, sizeof(id), "%s", create(f, "{}"));
    assert_jstr(f->json, "state", "creating");
    char path[128];
    snprintf(path, sizeof(path), "/api/sandbox/%s", id);
    assert_int_equal(call(f, "GET", path, NULL), 200);
    assert_jstr(f->json, "state", "creating");
}

/* Labels replace, interval setters 201, public flag 201. */
static void test_daytona_setters(void **state)
{
    struct fx *f = *state;
    char id[64], path[128];
    snprintf(id, sizeof(id), "%s", create(f, "{\"labels\":{\"a\":\"1\"}}"));
    snprintf(path, sizeof(path), "/api/sandbox/%s/labels", id);
    assert_int_equal(call(f, "PUT", path, "{\"labels\":{\"b\":\"2\"}}"), 200);
    assert_jstr(cJSON_GetObjectItem(f->json, "labels"), "b", "2");
    snprintf(path, sizeof(path), "/api/sandbox/%s/autostop/0", id);
    assert_int_equal(call(f, "POST", path, NULL), 201);
    snprintf(path, sizeof(path), "/api/sandbox/%s/public/false", id);
    assert_int_equal(call(f, "POST", path, NULL), 201);
    snprintf(path, sizeof(path), "/api/sandbox/%s", id);
    assert_int_equal(call(f, "GET", path, NULL), 200);
    assert_int_equal(cJSON_GetObjectItem(f->json, "autoStopInterval")->valueint, 0);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(f->json, "public")));
    assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(f->json, "labels"), "a"));
}

/* --- preview links and the data plane ------------------------------------------------------- */

/* Starts the action server the way OpenHands does: a session and an async exec. */
static void start_session_server(struct fx *f, const char *id)
{
    start_server_in(f, id, "action-execution-server", OPENHANDS_CMD);
}

/* preview-url: {url, token, legacyProxyUrl} with url http://<port>-<id>.localhost:<mockport>. */
static void test_daytona_preview_url(void **state)
{
    struct fx *f = *state;
    char id[64], path[160], want[200];
    snprintf(id, sizeof(id), "%s", create(f, "{\"public\":true}"));
    snprintf(path, sizeof(path), "/api/sandbox/%s/ports/4444/preview-url", id);
    assert_int_equal(call(f, "GET", path, NULL), 200);
    snprintf(want, sizeof(want), "http://4444-%s.localhost:%u", id, sp_mock_port(f->m));
    assert_jstr(f->json, "url", want);
    assert_jstr(f->json, "legacyProxyUrl", want);
    assert_true(strlen(jstr(f->json, "token")) > 0);
    snprintf(path, sizeof(path), "/api/sandbox/%s/ports/abc/preview-url", id);
    call(f, "GET", path, NULL);
    assert_nest(f, 400, "Bad Request", "Invalid port");
    snprintf(path, sizeof(path), "/api/sandbox/%s/ports/70000/preview-url", id);
    call(f, "GET", path, NULL);
    assert_nest(f, 400, "Bad Request", "Invalid port");
}

/* public:false: the data plane wants X-Daytona-Preview-Token (or the query key), else 401;
 * before the server runs it answers 502. */
static void test_daytona_preview_token(void **state)
{
    struct fx *f = *state;
    char id[64], path[160], host[160], token[64], hdr[128], q[128];
    snprintf(id, sizeof(id), "%s", create(f, "{\"public\":false}"));
    snprintf(path, sizeof(path), "/api/sandbox/%s/ports/4444/preview-url", id);
    assert_int_equal(call(f, "GET", path, NULL), 200);
    snprintf(token, sizeof(token), "%s", jstr(f->json, "token"));
    snprintf(host, sizeof(host), "4444-%s.localhost:%u", id, sp_mock_port(f->m));
    snprintf(hdr, sizeof(hdr), "X-Daytona-Preview-Token: %s", token);
    assert_int_equal(send_req(f, "GET", "/alive", NULL, false, host, NULL, hdr), 502);
    start_session_server(f, id);
    assert_int_equal(wait_alive(f, host, hdr), 200);
    assert_jstr(f->json, "status", "ok");
    assert_int_equal(send_req(f, "GET", "/alive", NULL, false, host, NULL, NULL), 401);
    assert_int_equal(cJSON_GetObjectItem(f->json, "statusCode")->valueint, 401);
    assert_non_null(jstr(f->json, "message"));
    assert_int_equal(
        send_req(f, "GET", "/alive", NULL, false, host, NULL, "X-Daytona-Preview-Token: wrong"),
        401);
    snprintf(q, sizeof(q), "/alive?DAYTONA_SANDBOX_AUTH_KEY=%s", token);
    assert_int_equal(send_req(f, "GET", q, NULL, false, host, NULL, NULL), 200);
    /* Stopped: the proxy has nothing to reach. */
    snprintf(path, sizeof(path), "/api/sandbox/%s/stop", id);
    assert_int_equal(call(f, "POST", path, NULL), 200);
    assert_int_equal(send_req(f, "GET", "/alive", NULL, false, host, NULL, hdr), 502);
    /* An unknown sandbox on the data plane is a 404. */
    snprintf(host, sizeof(host), "4444-nope.localhost:%u", sp_mock_port(f->m));
    assert_int_equal(send_req(f, "GET", "/alive", NULL, false, host, NULL, NULL), 404);
}

/* A public sandbox needs no token. */
static void test_daytona_public_data_plane(void **state)
{
    struct fx *f = *state;
    char id[64], host[160];
    snprintf(id, sizeof(id), "%s", create(f, "{\"public\":true}"));
    start_session_server(f, id);
    snprintf(host, sizeof(host), "4444-%s.localhost:%u", id, sp_mock_port(f->m));
    assert_int_equal(wait_alive(f, host, NULL), 200);
    /* The server's command stays "running": GET command has no exitCode. */
    assert_int_equal(call(f, "GET", tb(id, "/process/session/action-execution-server"), NULL), 200);
    const cJSON *cmd = cJSON_GetArrayItem(cJSON_GetObjectItem(f->json, "commands"), 0);
    assert_non_null(cmd);
    assert_jstr(cmd, "command", OPENHANDS_CMD);
    assert_null(cJSON_GetObjectItem(cmd, "exitCode"));
}

/* A restarted sandbox has a fresh daemon: the server must be started again (502 until then),
 * and the session name is free again. */
static void test_daytona_restart_restarts_server(void **state)
{
    struct fx *f = *state;
    char id[64], host[160], path[128];
    snprintf(id, sizeof(id), "%s", create(f, "{\"public\":true}"));
    snprintf(host, sizeof(host), "4444-%s.localhost:%u", id, sp_mock_port(f->m));
    start_session_server(f, id);
    assert_int_equal(wait_alive(f, host, NULL), 200);
    snprintf(path, sizeof(path), "/api/sandbox/%s/stop", id);
    assert_int_equal(call(f, "POST", path, NULL), 200);
    wait_state(f, id, "stopped");
    snprintf(path, sizeof(path), "/api/sandbox/%s/start", id);
    assert_int_equal(call(f, "POST", path, NULL), 200);
    assert_jstr(f->json, "state", "started");
    assert_int_equal(send_req(f, "GET", "/alive", NULL, false, host, NULL, NULL), 502);
    assert_int_equal(call(f, "GET", tb(id, "/process/session"), NULL), 200);
    assert_int_equal(cJSON_GetArraySize(f->json), 0);
    start_session_server(f, id);
    assert_int_equal(wait_alive(f, host, NULL), 200);
}

/* --- toolbox -------------------------------------------------------------------------------- */

/* process/execute through the API's route: the SDK's base64 sh -c wrapper run by the user's
 * shell as today's daemon does, exit codes, cwd, 408 on timeout. */
static void test_daytona_execute(void **state)
{
    struct fx *f = *state;
    char id[64];
    snprintf(id, sizeof(id), "%s", create(f, "{\"env\":{\"GREETING\":\"hey\"}}"));
    assert_int_equal(call(f, "GET", tb(id, "/project-dir"), NULL), 200);
    assert_jstr(f->json, "dir", "/home/daytona");
    /* base64("echo hi; echo $GREETING >&2") */
    assert_int_equal(call(f, "POST", tb(id, "/process/execute"),
                          "{\"command\":\"sh -c \\\"echo 'ZWNobyBoaTsgZWNobyAkR1JFRVRJTkcgPiYy' | "
                          "base64 -d | sh\\\"\",\"cwd\":\"/home/daytona\"}"),
                     200);
    assert_int_equal(cJSON_GetObjectItem(f->json, "exitCode")->valueint, 0);
    assert_jstr(f->json, "result", "hi\nhey\n");
    assert_int_equal(
        call(f, "POST", tb(id, "/process/execute"), "{\"command\":\"sh -c 'exit 3'\"}"), 200);
    assert_int_equal(cJSON_GetObjectItem(f->json, "exitCode")->valueint, 3);
    assert_int_equal(
        call(f, "POST", tb(id, "/process/execute"), "{\"command\":\"no-such-binary-xyz\"}"), 200);
    assert_int_equal(cJSON_GetObjectItem(f->json, "exitCode")->valueint, 127);
    assert_non_null(strstr(jstr(f->json, "result"), "no-such-binary-xyz: command not found"));
    call(f, "POST", tb(id, "/process/execute"), "{\"command\":\"sleep 5\",\"timeout\":1}");
    assert_nest(f, 408, "Request Timeout", "command execution timeout");
    call(f, "POST", tb(id, "/process/execute"), "{}");
    assert_int_equal(f->r.status, 400);
}

/* Toolbox on a sandbox that is not started: 400 "Sandbox is not running"; unknown id: 404. */
static void test_daytona_toolbox_not_running(void **state)
{
    struct fx *f = *state;
    char id[64], path[128];
    snprintf(id, sizeof(id), "%s", create(f, "{}"));
    snprintf(path, sizeof(path), "/api/sandbox/%s/stop", id);
    assert_int_equal(call(f, "POST", path, NULL), 200);
    assert_int_equal(call(f, "GET", tb(id, "/project-dir"), NULL), 400);
    assert_jstr(f->json, "message", "Sandbox is not running");
    assert_jstr(f->json, "name", "BadRequestException");
    call(f, "POST", tb(id, "/process/execute"), "{\"command\":\"true\"}");
    assert_nest(f, 400, "Bad Request", "Sandbox is not running");
    call(f, "GET", tb("nope", "/project-dir"), NULL);
    assert_nest(f, 404, "Not Found", "Sandbox with ID nope not found");
}

/* Sessions: 201/409, state persists across commands, sync 200 / async 202, exitCode absent
 * while running, logs plain and followed, delete 204 then 404. */
static void test_daytona_sessions(void **state)
{
    struct fx *f = *state;
    char id[64], cid[64], path[256];
    snprintf(id, sizeof(id), "%s", create(f, "{}"));
    assert_int_equal(call(f, "POST", tb(id, "/process/session"), "{\"sessionId\":\"s\"}"), 201);
    assert_int_equal(f->r.body.len, 0);
    assert_int_equal(call(f, "POST", tb(id, "/process/session"), "{\"sessionId\":\"s\"}"), 409);
    assert_jstr(f->json, "message", "session already exists");
    assert_int_equal(
        call(f, "POST", tb(id, "/process/session/s/exec"), "{\"command\":\"export X=42; cd /\"}"),
        200);
    assert_int_equal(cJSON_GetObjectItem(f->json, "exitCode")->valueint, 0);
    assert_int_equal(call(f, "POST", tb(id, "/process/session/s/exec"),
                          "{\"command\":\"echo $X; sh -c 'exit 7'\"}"),
                     200);
    assert_jstr(f->json, "output", "42\n");
    assert_int_equal(cJSON_GetObjectItem(f->json, "exitCode")->valueint, 7);
    /* async: 202 with explicit nulls; no exitCode while it runs */
    assert_int_equal(call(f, "POST", tb(id, "/process/session/s/exec"),
                          "{\"command\":\"sleep 2\",\"runAsync\":true}"),
                     202);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(f->json, "output")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(f->json, "exitCode")));
    snprintf(cid, sizeof(cid), "%s", jstr(f->json, "cmdId"));
    snprintf(path, sizeof(path), "/process/session/s/command/%s", cid);
    assert_int_equal(call(f, "GET", tb(id, path), NULL), 200);
    assert_jstr(f->json, "id", cid);
    assert_null(cJSON_GetObjectItem(f->json, "exitCode"));
    /* a second session runs independently; follow the logs of a command to its end */
    assert_int_equal(call(f, "POST", tb(id, "/process/session"), "{\"sessionId\":\"t\"}"), 201);
    assert_int_equal(call(f, "POST", tb(id, "/process/session/t/exec"),
                          "{\"command\":\"echo a; sleep 0.2; echo b >&2\",\"async\":true}"),
                     202);
    snprintf(cid, sizeof(cid), "%s", jstr(f->json, "cmdId"));
    snprintf(path, sizeof(path), "/process/session/t/command/%s/logs?follow=true", cid);
    assert_int_equal(call(f, "GET", tb(id, path), NULL), 200);
    assert_string_equal(sp_buf_str(&f->r.body), "a\nb\n");
    assert_non_null(strstr(rsp_header(&f->r, "Content-Type"), "text/plain"));
    snprintf(path, sizeof(path), "/process/session/t/command/%s", cid);
    assert_int_equal(call(f, "GET", tb(id, path), NULL), 200);
    assert_int_equal(cJSON_GetObjectItem(f->json, "exitCode")->valueint, 0);
    snprintf(path, sizeof(path), "/process/session/t/command/%s/logs", cid);
    assert_int_equal(call(f, "GET", tb(id, path), NULL), 200);
    assert_string_equal(sp_buf_str(&f->r.body), "a\nb\n");
    assert_int_equal(call(f, "GET", tb(id, "/process/session"), NULL), 200);
    assert_int_equal(cJSON_GetArraySize(f->json), 2);
    assert_int_equal(call(f, "DELETE", tb(id, "/process/session/s"), NULL), 204);
    assert_int_equal(call(f, "GET", tb(id, "/process/session/s"), NULL), 404);
    assert_jstr(f->json, "message", "session not found");
    assert_jstr(f->json, "code", "Not Found");
    assert_int_equal(call(f, "POST", tb(id, "/process/session/t/exec"), "{\"command\":\"  \"}"),
                     400);
    assert_jstr(f->json, "message", "command cannot be empty");
}

/* Files: bulk-upload, list (FileInfo), info, download. */
static void test_daytona_files(void **state)
{
    struct fx *f = *state;
    char id[64];
    snprintf(id, sizeof(id), "%s", create(f, "{}"));
    CURL *c = curl_easy_init();
    curl_mime *mime = curl_mime_init(c);
    curl_mimepart *part = curl_mime_addpart(mime);
    curl_mime_name(part, "files[0].path");
    curl_mime_data(part, "/home/daytona/dir/a.txt", CURL_ZERO_TERMINATED);
    part = curl_mime_addpart(mime);
    curl_mime_name(part, "files[0].file");
    curl_mime_filename(part, "/home/daytona/dir/a.txt");
    curl_mime_data(part, "hello\n", CURL_ZERO_TERMINATED);
    assert_int_equal(
        send_req(f, "POST", tb(id, "/files/bulk-upload"), NULL, true, NULL, mime, NULL), 200);
    curl_mime_free(mime);
    assert_int_equal(call(f, "GET", tb(id, "/files?path=/home/daytona/dir"), NULL), 200);
    assert_int_equal(cJSON_GetArraySize(f->json), 1);
    const cJSON *fi = cJSON_GetArrayItem(f->json, 0);
    assert_jstr(fi, "name", "a.txt");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(fi, "isDir")));
    assert_int_equal(cJSON_GetObjectItem(fi, "size")->valueint, 6);
    assert_jstr(fi, "mode", "-rw-r--r--");
    assert_jstr(fi, "permissions", "0644");
    assert_non_null(strstr(jstr(fi, "modTime"), " +0000 UTC"));
    assert_non_null(jstr(fi, "owner"));
    assert_int_equal(call(f, "GET", tb(id, "/files/info?path=/home/daytona/dir"), NULL), 200);
    assert_jstr(f->json, "name", "dir");
    assert_jstr(f->json, "mode", "drwxr-xr-x");
    assert_int_equal(call(f, "GET", tb(id, "/files/download?path=/home/daytona/dir/a.txt"), NULL),
                     200);
    assert_string_equal(sp_buf_str(&f->r.body), "hello\n");
    assert_string_equal(rsp_header(&f->r, "Content-Type"), "application/octet-stream");
    assert_string_equal(rsp_header(&f->r, "Content-Disposition"), "attachment; filename=a.txt");
    assert_int_equal(call(f, "GET", tb(id, "/files/download?path=/home/daytona/dir"), NULL), 400);
    call(f, "GET", tb(id, "/files/info?path=/nope"), NULL);
    assert_int_equal(f->r.status, 404);
    assert_jstr(f->json, "message", "stat /nope: no such file or directory");
    assert_jstr(f->json, "path", "/files/info");
    curl_easy_cleanup(c);
}

/* files/upload (one file, parents made), folder with a mode, move, delete with and without
 * recursive. */
static void test_daytona_files_change(void **state)
{
    struct fx *f = *state;
    char id[64];
    snprintf(id, sizeof(id), "%s", create(f, "{}"));
    CURL *c = curl_easy_init();
    curl_mime *mime = mime_one_file(c, "b.txt", "bee", CURL_ZERO_TERMINATED);
    assert_int_equal(send_req(f, "POST", tb(id, "/files/upload?path=/tmp/up/b.txt"), NULL, true,
                              NULL, mime, NULL),
                     200);
    curl_mime_free(mime);
    curl_easy_cleanup(c);
    assert_int_equal(call(f, "GET", tb(id, "/files/download?path=/tmp/up/b.txt"), NULL), 200);
    assert_string_equal(sp_buf_str(&f->r.body), "bee");
    assert_int_equal(call(f, "POST", tb(id, "/files/folder?path=/tmp/new/deep&mode=0700"), NULL),
                     201);
    assert_int_equal(call(f, "GET", tb(id, "/files/info?path=/tmp/new/deep"), NULL), 200);
    assert_jstr(f->json, "permissions", "0700");
    assert_int_equal(
        call(f, "POST", tb(id, "/files/move?source=/tmp/up/b.txt&destination=/tmp/c.txt"), NULL),
        200);
    assert_int_equal(call(f, "GET", tb(id, "/files/info?path=/tmp/c.txt"), NULL), 200);
    assert_int_equal(call(f, "DELETE", tb(id, "/files?path=/tmp/new"), NULL), 400);
    assert_jstr(f->json, "message", "cannot delete directory without recursive flag");
    assert_int_equal(call(f, "DELETE", tb(id, "/files?path=/tmp/new&recursive=true"), NULL), 204);
    assert_int_equal(call(f, "DELETE", tb(id, "/files?path=/tmp/new"), NULL), 404);
    assert_int_equal(call(f, "DELETE", tb(id, "/files?path=/tmp/c.txt"), NULL), 204);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_daytona_env),
        T(test_daytona_auth_and_unknown_route),
        T(test_daytona_create_full_object),
        T(test_daytona_create_validation),
        T(test_daytona_get_unknown),
        T(test_daytona_list_labels),
        cmocka_unit_test_setup_teardown(test_daytona_list_cursor, setup_cursor, teardown),
        T(test_daytona_stop_start),
        T(test_daytona_delete_keeps_destroyed),
        T(test_daytona_faults),
        T(test_daytona_setters),
        T(test_daytona_preview_url),
        T(test_daytona_preview_token),
        T(test_daytona_public_data_plane),
        T(test_daytona_restart_restarts_server),
        T(test_daytona_execute),
        T(test_daytona_toolbox_not_running),
        T(test_daytona_sessions),
        T(test_daytona_files),
        T(test_daytona_files_change),
    };
#undef T
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
