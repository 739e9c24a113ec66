/* Raw-HTTP tests of the Runloop mock (mocks/runloop*.c) against spec/runloop-modal.md Part R:
 * the ready-line variables, JSON error bodies with application/json for 401 and 404,
 * pretty-printed and empty JSON bodies accepted, `dbx_` ids and the provisioning -> running
 * transition, list paging with has_more / remaining_count / total_count, shutdown that is
 * immediate and leaves the devbox retrievable, a create_tunnel URL that is stable and
 * reaches the action server claimed from OpenHands' `sudo bash -c '…'` entrypoint, the v2
 * authenticated tunnel, execute_sync / execute_async / executions / kill, the file routes,
 * and the injected faults. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mock.h"
#include "mock_http.h"

/* RunloopRuntime's entrypoint (spec R2). */
static const char *const ENTRYPOINT =
    "sudo bash -c 'export MAMBA_ROOT_PREFIX=/openhands/micromamba && cd /openhands/code && "
    "/openhands/micromamba/bin/micromamba run -n openhands poetry config virtualenvs.path "
    "/openhands/poetry && /openhands/micromamba/bin/micromamba run -n openhands poetry run "
    "python -u -m openhands.runtime.action_execution_server 4444 --working-dir /workspace "
    "--plugins agent_skills jupyter --username openhands --user-id 1000'";

struct fx {
    struct sp_mock *m;
    char key[128];
    struct rsp r;
    cJSON *json;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct sp_mock_config cfg = {.vendor = "runloop",
                                 .quiet = true,
                                 .has_latency = true,
                                 .latency = {.create_ms = 60, .server_ms = 60, .jitter = 0}};
    struct sp_error err;
    assert_int_equal(sp_mock_start(&cfg, &f->m, &err), SP_E_OK);
    snprintf(f->key, sizeof(f->key), "%s", sp_kv_get(sp_mock_env(f->m), "RUNLOOP_API_KEY"));
    rsp_init(&f->r);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    sp_mock_stop(f->m);
    rsp_free(&f->r);
    cJSON_Delete(f->json);
    free(f);
    return 0;
}

/* One request; url is a path on the mock or a whole URL. Leaves the body parsed in f->json. */
static long send_req(struct fx *f,
                     const char *method,
                     const char *url,
                     const char *json,
                     const char *auth,
                     const char *extra,
                     curl_mime *mime)
{
    char full[1024];
    if (url[0] == '/')
        snprintf(full, sizeof(full), "http://127.0.0.1:%u%s", sp_mock_port(f->m), url);
    else
        snprintf(full, sizeof(full), "%s", url);
    return json_send(&f->r, &f->json, method, full, json, auth, NULL, extra, mime);
}

static long call(struct fx *f, const char *method, const char *path, const char *json)
{
    return send_req(f, method, path, json, f->key, NULL, NULL);
}

static void assert_json_reply(struct fx *f)
{
    assert_string_equal(rsp_header(&f->r, "Content-Type"), "application/json");
    assert_non_null(f->json);
}

/* Creates a devbox from body and returns its id (static storage). */
static const char *create(struct fx *f, const char *body)
{
    static char id[64];
    assert_int_equal(call(f, "POST", "/v1/devboxes", body), 200);
    assert_json_reply(f);
    snprintf(id, sizeof(id), "%s", jstr(f->json, "id"));
    return id;
}

static const char *dpath(const char *id, const char *rest)
{
    static char path[512];
    snprintf(path, sizeof(path), "/v1/devboxes/%s%s", id, rest);
    return path;
}

/* Polls GET until status is `want` (or 3 s); returns the last status seen. */
static const char *await_status(struct fx *f, const char *id, const char *want)
{
    static char last[32];
    for (int i = 0; i < 300; i++) {
        assert_int_equal(call(f, "GET", dpath(id, ""), NULL), 200);
        snprintf(last, sizeof(last), "%s", jstr(f->json, "status"));
        if (strcmp(last, want) == 0)
            break;
        nap_ms(10);
    }
    return last;
}

/* A body as @runloop/api-client sends it: JSON.stringify(body, null, 2). */
static const char *pretty(const char *compact)
{
    static char out[4096];
    cJSON *j = cJSON_Parse(compact);
    char *s = cJSON_Print(j);
    snprintf(out, sizeof(out), "%s", s);
    cJSON_free(s);
    cJSON_Delete(j);
    return out;
}

static void test_env_auth_errors(void **state)
{
    struct fx *f = *state;
    const struct sp_kv *env = sp_mock_env(f->m);
    char origin[64];
    snprintf(origin, sizeof(origin), "http://127.0.0.1:%u", sp_mock_port(f->m));
    assert_string_equal(sp_kv_get(env, "RUNLOOP_BASE_URL"), origin);
    assert_true(strncmp(f->key, "ak_", 3) == 0);
    assert_non_null(strstr(sp_kv_get(env, "RUNLOOP_TUNNEL_DOMAIN"), "localhost:"));
    /* 401 and 404 are JSON with `message`, so the SDKs raise AuthenticationError and
     * NotFoundError with a readable text. */
    assert_int_equal(send_req(f, "GET", "/v1/devboxes", NULL, NULL, NULL, NULL), 401);
    assert_json_reply(f);
    assert_non_null(jstr(f->json, "message"));
    assert_int_equal(send_req(f, "GET", "/v1/devboxes", NULL, "wrong", NULL, NULL), 401);
    assert_int_equal(call(f, "GET", "/v1/devboxes/dbx_nope", NULL), 404);
    assert_json_reply(f);
    assert_jstr(f->json, "error", "not_found");
    assert_non_null(strstr(jstr(f->json, "message"), "dbx_nope"));
    assert_int_equal(call(f, "POST", "/v1/devboxes/dbx_nope/shutdown", ""), 404);
    assert_int_equal(call(f, "GET", "/v1/nothing", NULL), 404);
    assert_json_reply(f);
    assert_int_equal(call(f, "POST", "/v1/devboxes", "{\"name\":"), 400);
    assert_int_equal(call(f, "POST", "/v1/devboxes", "{\"metadata\":{\"a\":1}}"), 400);
}

static void test_create_get_shutdown(void **state)
{
    struct fx *f = *state;
    const char *id = create(f, pretty("{\"name\":\"sess-1\",\"prebuilt\":\"openhands\","
                                      "\"metadata\":{\"container-name\":\"c1\"},"
                                      "\"environment_variables\":{\"FOO\":\"bar\"}}"));
    assert_true(strncmp(id, "dbx_", 4) == 0 && strlen(id) > 4);
    assert_jstr(f->json, "status", "provisioning");
    assert_jstr(f->json, "name", "sess-1");
    assert_jstr(cJSON_GetObjectItem(f->json, "metadata"), "container-name", "c1");
    assert_string_equal(await_status(f, id, "running"), "running");
    /* Body-less POST with the JSON content type, as the SDKs send /shutdown. */
    assert_int_equal(call(f, "POST", dpath(id, "/shutdown"), ""), 200);
    assert_json_reply(f);
    assert_jstr(f->json, "status", "shutdown");
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(f->json, "end_time_ms")));
    /* Still retrievable, and shutting down again is harmless. */
    assert_int_equal(call(f, "GET", dpath(id, ""), NULL), 200);
    assert_jstr(f->json, "status", "shutdown");
    assert_int_equal(call(f, "POST", dpath(id, "/shutdown"), ""), 200);
    struct sp_mock_stats st;
    sp_mock_stats(f->m, &st);
    assert_int_equal(st.live, 0);
}

static void test_wait_for_status(void **state)
{
    struct fx *f = *state;
    const char *id = create(f, "{\"name\":\"w\"}");
    /* Python 0.50's await_running and TS' awaitRunning bodies. */
    assert_int_equal(
        call(f, "POST", dpath(id, "/wait_for_status"), "{\"statuses\":[\"running\",\"failure\"]}"),
        200);
    assert_jstr(f->json, "status", "running");
    assert_int_equal(call(f, "POST", dpath(id, "/wait_for_status"),
                          pretty("{\"statuses\":[\"running\",\"failure\",\"shutdown\"]}")),
                     200);
    assert_int_equal(call(f, "POST", dpath(id, "/wait_for_status"), "{\"statuses\":[]}"), 400);
}

static void test_list_paging(void **state)
{
    struct fx *f = *state;
    char ids[3][64];
    for (int i = 0; i < 3; i++)
        snprintf(ids[i], sizeof(ids[i]), "%s", create(f, "{}"));
    assert_string_equal(await_status(f, ids[2], "running"), "running");
    assert_int_equal(call(f, "GET", "/v1/devboxes?limit=2", NULL), 200);
    assert_json_reply(f);
    cJSON *list = cJSON_GetObjectItem(f->json, "devboxes");
    assert_int_equal(cJSON_GetArraySize(list), 2);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(f->json, "has_more")));
    assert_int_equal(cJSON_GetObjectItem(f->json, "remaining_count")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(f->json, "total_count")->valueint, 3);
    char path[256];
    snprintf(path, sizeof(path), "/v1/devboxes?limit=2&starting_after=%s",
             jstr(cJSON_GetArrayItem(list, 1), "id"));
    assert_int_equal(call(f, "GET", path, NULL), 200);
    list = cJSON_GetObjectItem(f->json, "devboxes");
    assert_int_equal(cJSON_GetArraySize(list), 1);
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(f->json, "has_more")));
    /* The status filter: a shut down devbox leaves the running list, not the full one. */
    assert_int_equal(call(f, "POST", dpath(ids[0], "/shutdown"), NULL), 200);
    assert_int_equal(call(f, "GET", "/v1/devboxes?status=running", NULL), 200);
    assert_int_equal(cJSON_GetObjectItem(f->json, "total_count")->valueint, 2);
    assert_int_equal(call(f, "GET", "/v1/devboxes", NULL), 200);
    assert_int_equal(cJSON_GetObjectItem(f->json, "total_count")->valueint, 3);
    assert_int_equal(call(f, "GET", "/v1/devboxes?limit=0", NULL), 400);
}

/* GET <url>/alive until it is not 502 (the server comes up after its delay). */
static long alive(struct fx *f, const char *url, const char *extra)
{
    char u[512];
    snprintf(u, sizeof(u), "%s/alive", url);
    long st = 0;
    for (int i = 0; i < 300 && (st = send_req(f, "GET", u, NULL, NULL, extra, NULL)) == 502; i++)
        nap_ms(10);
    return st;
}

static void test_tunnel_v1(void **state)
{
    struct fx *f = *state;
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "name", "oh");
    cJSON_AddStringToObject(body, "entrypoint", ENTRYPOINT);
    char *s = cJSON_Print(body);
    const char *id = create(f, s);
    cJSON_free(s);
    cJSON_Delete(body);
    char id_copy[64], url[256];
    snprintf(id_copy, sizeof(id_copy), "%s", id);
    assert_string_equal(await_status(f, id_copy, "running"), "running");
    assert_int_equal(call(f, "POST", dpath(id_copy, "/create_tunnel"), "{\"port\":4444}"), 200);
    assert_json_reply(f);
    assert_jstr(f->json, "devbox_id", id_copy);
    snprintf(url, sizeof(url), "%s", jstr(f->json, "url"));
    /* Stable across calls: OpenHands asks again when it attaches. */
    assert_int_equal(call(f, "POST", dpath(id_copy, "/create_tunnel"), "{\"port\":4444}"), 200);
    assert_jstr(f->json, "url", url);
    assert_int_equal(call(f, "POST", dpath(id_copy, "/create_tunnel"), "{\"port\":0}"), 400);
    /* The entrypoint's server answers through the tunnel. */
    assert_int_equal(alive(f, url, NULL), 200);
    assert_int_equal(call(f, "POST", dpath(id_copy, "/shutdown"), NULL), 200);
    assert_int_equal(send_req(f, "GET", url, NULL, NULL, NULL, NULL), 502);
}

static void test_tunnel_v2_authenticated(void **state)
{
    struct fx *f = *state;
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "entrypoint", ENTRYPOINT);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(body, "tunnel"), "auth_mode", "authenticated");
    char *s = cJSON_PrintUnformatted(body);
    char id[64], url[256], hdr[128];
    snprintf(id, sizeof(id), "%s", create(f, s));
    cJSON_free(s);
    cJSON_Delete(body);
    cJSON *t = cJSON_GetObjectItem(f->json, "tunnel");
    assert_jstr(t, "tunnel_key", id);
    assert_jstr(t, "auth_mode", "authenticated");
    snprintf(hdr, sizeof(hdr), "X-Runloop-Tunnel-Authorization: Bearer %s", jstr(t, "auth_token"));
    snprintf(url, sizeof(url), "http://4444-%s.%s", id,
             sp_kv_get(sp_mock_env(f->m), "RUNLOOP_TUNNEL_DOMAIN"));
    assert_string_equal(await_status(f, id, "running"), "running");
    assert_int_equal(alive(f, url, "X-Runloop-Tunnel-Authorization: Bearer wrong"), 401);
    assert_int_equal(alive(f, url, hdr), 200);
    /* enable_tunnel on a devbox that has one answers the same tunnel. */
    assert_int_equal(call(f, "POST", dpath(id, "/enable_tunnel"), "{\"auth_mode\":\"open\"}"), 200);
    assert_jstr(f->json, "auth_mode", "authenticated");
    assert_int_equal(call(f, "POST", dpath(id, "/enable_tunnel"), "{\"auth_mode\":\"x\"}"), 400);
}

static void test_execute(void **state)
{
    struct fx *f = *state;
    char id[64], path[256];
    snprintf(id, sizeof(id), "%s", create(f, "{\"environment_variables\":{\"FOO\":\"bar\"}}"));
    /* Before running: refused. */
    assert_int_equal(call(f, "POST", dpath(id, "/execute_sync"), "{\"command\":\"true\"}"), 400);
    assert_string_equal(await_status(f, id, "running"), "running");
    assert_int_equal(call(f, "POST", dpath(id, "/execute_sync"),
                          pretty("{\"command\":\"echo $FOO; echo err >&2; pwd; exit 3\"}")),
                     200);
    assert_json_reply(f);
    assert_int_equal(cJSON_GetObjectItem(f->json, "exit_status")->valueint, 3);
    assert_non_null(strstr(jstr(f->json, "stdout"), "bar\n"));
    assert_non_null(strstr(jstr(f->json, "stdout"), "/home/user\n"));
    assert_jstr(f->json, "stderr", "err\n");
    assert_int_equal(call(f, "POST", dpath(id, "/execute_sync"), "{\"command\":\"\"}"), 400);

    assert_int_equal(call(f, "POST", dpath(id, "/execute_async"), "{\"command\":\"echo async\"}"),
                     200);
    char eid[64];
    snprintf(eid, sizeof(eid), "%s", jstr(f->json, "execution_id"));
    snprintf(path, sizeof(path), "/executions/%s/wait_for_status", eid);
    assert_int_equal(call(f, "POST", dpath(id, path), "{\"statuses\":[\"completed\"]}"), 200);
    assert_jstr(f->json, "status", "completed");
    assert_int_equal(cJSON_GetObjectItem(f->json, "exit_status")->valueint, 0);
    assert_jstr(f->json, "stdout", "async\n");
    snprintf(path, sizeof(path), "/executions/%s", eid);
    assert_int_equal(call(f, "GET", dpath(id, path), NULL), 200);
    assert_jstr(f->json, "status", "completed");

    /* A long command: running until killed. */
    assert_int_equal(call(f, "POST", dpath(id, "/execute_async"), "{\"command\":\"sleep 30\"}"),
                     200);
    snprintf(eid, sizeof(eid), "%s", jstr(f->json, "execution_id"));
    snprintf(path, sizeof(path), "/executions/%s", eid);
    assert_int_equal(call(f, "GET", dpath(id, path), NULL), 200);
    assert_jstr(f->json, "status", "running");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(f->json, "exit_status")));
    snprintf(path, sizeof(path), "/executions/%s/kill", eid);
    assert_int_equal(call(f, "POST", dpath(id, path), NULL), 200);
    assert_jstr(f->json, "status", "completed");
    assert_int_equal(cJSON_GetObjectItem(f->json, "exit_status")->valueint, 137);
    assert_int_equal(call(f, "GET", dpath(id, "/executions/exe_nope"), NULL), 404);
}

static void test_files(void **state)
{
    struct fx *f = *state;
    char id[64];
    snprintf(id, sizeof(id), "%s", create(f, "{}"));
    assert_string_equal(await_status(f, id, "running"), "running");
    assert_int_equal(call(f, "POST", dpath(id, "/write_file_contents"),
                          "{\"file_path\":\"d/notes.txt\",\"contents\":\"h\\u00e9llo\\n\"}"),
                     200);
    assert_json_reply(f);
    assert_int_equal(call(f, "POST", dpath(id, "/read_file_contents"),
                          "{\"file_path\":\"/home/user/d/notes.txt\"}"),
                     200);
    assert_non_null(strstr(rsp_header(&f->r, "Content-Type"), "text/plain"));
    assert_string_equal(sp_buf_str(&f->r.body), "h\xc3\xa9llo\n");
    /* The file is where execute_sync starts. */
    assert_int_equal(
        call(f, "POST", dpath(id, "/execute_sync"), "{\"command\":\"cat d/notes.txt\"}"), 200);
    assert_jstr(f->json, "stdout", "h\xc3\xa9llo\n");
    assert_int_equal(
        call(f, "POST", dpath(id, "/read_file_contents"), "{\"file_path\":\"nope.txt\"}"), 404);
    assert_json_reply(f);
    /* '..' stops at the devbox's root: the host's /etc/passwd is not reachable. */
    assert_int_equal(call(f, "POST", dpath(id, "/read_file_contents"),
                          "{\"file_path\":\"../../../../etc/passwd\"}"),
                     404);

    CURL *c = curl_easy_init();
    curl_mime *mime = curl_mime_init(c);
    curl_mimepart *part = curl_mime_addpart(mime);
    curl_mime_name(part, "path");
    curl_mime_data(part, "bin/blob", CURL_ZERO_TERMINATED);
    part = curl_mime_addpart(mime);
    curl_mime_name(part, "file");
    curl_mime_filename(part, "blob");
    curl_mime_data(part, "\x00\x01\xff", 3);
    assert_int_equal(send_req(f, "POST", dpath(id, "/upload_file"), NULL, f->key, NULL, mime), 200);
    curl_mime_free(mime);
    curl_easy_cleanup(c);
    assert_int_equal(call(f, "POST", dpath(id, "/download_file"), "{\"path\":\"bin/blob\"}"), 200);
    assert_string_equal(rsp_header(&f->r, "Content-Type"), "application/octet-stream");
    assert_int_equal(f->r.body.len, 3);
    assert_memory_equal(f->r.body.data, "\x00\x01\xff", 3);
    assert_int_equal(call(f, "POST", dpath(id, "/upload_file"), "{}"), 400);
}

static void test_faults(void **state)
{
    struct fx *f = *state;
    sp_mock_inject(f->m, SP_MOCK_FAULT_ERROR_STATE, 1);
    char id[64];
    snprintf(id, sizeof(id), "%s", create(f, "{}"));
    assert_string_equal(await_status(f, id, "failure"), "failure");
    assert_non_null(jstr(f->json, "failure_reason"));
    sp_mock_inject(f->m, SP_MOCK_FAULT_STUCK_CREATING, 1);
    snprintf(id, sizeof(id), "%s", create(f, "{}"));
    nap_ms(150);
    assert_int_equal(call(f, "GET", dpath(id, ""), NULL), 200);
    assert_jstr(f->json, "status", "provisioning");
    sp_mock_inject(f->m, SP_MOCK_FAULT_NEVER_ALIVE, 1);
    snprintf(id, sizeof(id), "%s", create(f, "{}"));
    assert_string_equal(await_status(f, id, "running"), "running");
    assert_int_equal(call(f, "POST", dpath(id, "/execute_sync"), "{\"command\":\"true\"}"), 502);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        T(test_env_auth_errors), T(test_create_get_shutdown),
        T(test_wait_for_status), T(test_list_paging),
        T(test_tunnel_v1),       T(test_tunnel_v2_authenticated),
        T(test_execute),         T(test_files),
        T(test_faults),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
