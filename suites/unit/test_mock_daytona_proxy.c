/* Raw-HTTP tests of the Daytona mock's current wire, what the newest SDKs speak beside the
 * 0.24 one that test_mock_daytona.c covers: the sandbox record's current members and get by
 * name, GET /sandbox/{id}/toolbox-proxy-url, the toolbox under the proxy URL
 * ({toolboxProxyUrl}/{id}/...), process/execute through the user's shell with envs, daemon
 * error bodies with code and source, files/bulk-download (multipart), session output split
 * by stream for SDKs >= 0.167 and combined for older ones, and the cursor list for clients
 * of that generation. The requests are the ones @daytonaio/sdk 0.218 sends. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "mock_daytona_http.h"

#define NEW_SDK "X-Daytona-SDK-Version: 0.218.0"
#define OLD_SDK "X-Daytona-SDK-Version: 0.24.2"

static const struct sp_latency LATENCY = {
    .create_ms = 20, .start_ms = 20, .stop_ms = 50, .delete_ms = 50, .server_ms = 50};

static int setup(void **state)
{
    return start_mock(state, 0, LATENCY);
}

/* Whether the n bytes at b contain needle (bodies may hold NUL bytes). */
static bool has(const char *b, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; b != NULL && i + k <= n; i++)
        if (memcmp(b + i, needle, k) == 0)
            return true;
    return false;
}

/* The proxy's toolbox path `rest` of sandbox `id` (static storage). */
static const char *px(const char *id, const char *rest)
{
    static char path[512];
    snprintf(path, sizeof(path), "/toolbox/%s%s", id, rest);
    return path;
}

/* A toolbox call through the proxy, as the newest SDK sends it (its version header). */
static long pcall(struct fx *f,
                  const char *method,
                  const char *id,
                  const char *rest,
                  const char *json,
                  const char *version)
{
    return send_req(f, method, px(id, rest), json, true, NULL, NULL, version);
}

/* The daemon's error body: statusCode, message, code, source, path, method. */
static void assert_daemon(struct fx *f, long status, const char *code, const char *msg_part)
{
    assert_int_equal(f->r.status, status);
    assert_non_null(f->json);
    assert_int_equal(cJSON_GetObjectItem(f->json, "statusCode")->valueint, status);
    assert_jstr(f->json, "code", code);
    assert_jstr(f->json, "source", "DAYTONA_DAEMON");
    assert_non_null(strstr(jstr(f->json, "message"), msg_part));
    assert_non_null(jstr(f->json, "method"));
}

/* The record names the proxy; the proxy URL route agrees; a name given at create finds the
 * sandbox, an unnamed one is named by its id. */
static void test_record_and_proxy_url(void **state)
{
    struct fx *f = *state;
    char id[64], origin[64], want[128], path[256];
    snprintf(origin, sizeof(origin), "http://127.0.0.1:%u", sp_mock_port(f->m));
    snprintf(want, sizeof(want), "%s/toolbox", origin);
    snprintf(id, sizeof(id), "%s", create(f, "{\"name\":\"named-one\",\"networkBlockAll\":true}"));
    assert_jstr(f->json, "name", "named-one");
    assert_jstr(f->json, "toolboxProxyUrl", want);
    assert_jstr(f->json, "sandboxClass", "container");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(f->json, "networkBlockAll")));
    assert_non_null(jstr(f->json, "lastActivityAt"));
    snprintf(path, sizeof(path), "/api/sandbox/%s/toolbox-proxy-url", id);
    assert_int_equal(call(f, "GET", path, NULL), 200);
    assert_jstr(f->json, "url", want);
    assert_int_equal(call(f, "GET", "/api/sandbox/named-one", NULL), 200);
    assert_jstr(f->json, "id", id);
    assert_int_equal(call(f, "GET", "/api/sandbox/nobody/toolbox-proxy-url", NULL), 404);
    assert_int_equal(call(f, "POST", "/api/sandbox", "{\"networkBlockAll\":\"yes\"}"), 400);
    snprintf(id, sizeof(id), "%s", create(f, "{}"));
    assert_jstr(f->json, "name", id);
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(f->json, "networkBlockAll")));
}

/* process/execute through the proxy: the user's shell (bash), envs, cwd, exit codes, a
 * timeout as PROCESS_EXECUTION_TIMEOUT, bad bodies as daemon 400s. */
static void test_proxy_execute(void **state)
{
    struct fx *f = *state;
    char id[64];
    snprintf(id, sizeof(id), "%s", create(f, "{\"env\":{\"FROM_CREATE\":\"c\"}}"));
    assert_int_equal(pcall(f, "GET", id, "/user-home-dir", NULL, NEW_SDK), 200);
    assert_jstr(f->json, "dir", "/home/daytona");
    assert_int_equal(pcall(f, "GET", id, "/work-dir", NULL, NEW_SDK), 200);
    assert_jstr(f->json, "dir", "/home/daytona");
    assert_int_equal(pcall(f, "POST", id, "/process/execute",
                           "{\"command\":\"[[ -n $BASH_VERSION ]] && echo \\\"$A $FROM_CREATE\\\"; "
                           "echo e >&2; exit 4\",\"envs\":{\"A\":\"x y\"}}",
                           NEW_SDK),
                     200);
    assert_int_equal(cJSON_GetObjectItem(f->json, "exitCode")->valueint, 4);
    assert_jstr(f->json, "result", "x y c\ne\n");
    assert_int_equal(pcall(f, "POST", id, "/process/execute",
                           "{\"command\":\"mkdir -p d && cd d && pwd\"}", NEW_SDK),
                     200);
    assert_non_null(strstr(jstr(f->json, "result"), "/home/daytona/d"));
    assert_int_equal(
        pcall(f, "POST", id, "/process/execute",
              "{\"command\":\"cat m 2>/dev/null || echo none\",\"cwd\":\"/home/daytona/d\"}",
              NEW_SDK),
        200);
    assert_jstr(f->json, "result", "none\n");
    pcall(f, "POST", id, "/process/execute", "{\"command\":\"sleep 5\",\"timeout\":1}", NEW_SDK);
    assert_daemon(f, 408, "PROCESS_EXECUTION_TIMEOUT", "command execution timeout");
    pcall(f, "POST", id, "/process/execute", "{\"command\":\"  \"}", NEW_SDK);
    assert_daemon(f, 400, "Bad Request", "command cannot be empty");
    pcall(f, "POST", id, "/process/execute", "{\"command\":\"true\",\"envs\":[1]}", NEW_SDK);
    assert_daemon(f, 400, "Bad Request", "envs");
    assert_int_equal(pcall(f, "GET", "nope", "/user-home-dir", NULL, NEW_SDK), 404);
    /* the proxy path without the key is refused like every other route */
    assert_int_equal(send_req(f, "GET", px(id, "/work-dir"), NULL, false, NULL, NULL, NULL), 401);
}

/* Missing files: the daemon's FILE_NOT_FOUND with source, so the SDK raises its class. */
static void test_proxy_file_errors(void **state)
{
    struct fx *f = *state;
    char id[64];
    snprintf(id, sizeof(id), "%s", create(f, "{}"));
    pcall(f, "GET", id, "/files/info?path=none.txt", NULL, NEW_SDK);
    assert_daemon(f, 404, "FILE_NOT_FOUND", "none.txt");
    pcall(f, "GET", id, "/files?path=/nowhere", NULL, NEW_SDK);
    assert_daemon(f, 404, "FILE_NOT_FOUND", "/nowhere");
}

/* bulk-download: one multipart part per path in order, `file` with the bytes, `error` with
 * the daemon's JSON; a bad body is Gin's 400. */
static void test_bulk_download(void **state)
{
    struct fx *f = *state;
    char id[64];
    snprintf(id, sizeof(id), "%s", create(f, "{}"));
    assert_int_equal(pcall(f, "POST", id, "/process/execute",
                           "{\"command\":\"printf 'a\\\\000b' > bin.dat; mkdir -p dir\"}", NEW_SDK),
                     200);
    assert_int_equal(
        pcall(f, "POST", id, "/files/bulk-download",
              "{\"paths\":[\"bin.dat\",\"missing.txt\",\"dir\",\"/home/daytona/bin.dat\"]}",
              NEW_SDK),
        200);
    assert_string_equal(rsp_header(&f->r, "Content-Type"),
                        "multipart/form-data; boundary=DAYTONA-FILE-BOUNDARY");
    const char *b = f->r.body.data;
    size_t n = f->r.body.len;
    static const char first[] =
        "--DAYTONA-FILE-BOUNDARY\r\nContent-Type: application/octet-stream\r\n"
        "Content-Disposition: form-data; name=\"file\"; filename=\"bin.dat\"; "
        "filename*=utf-8''bin.dat\r\nContent-Length: 3\r\n\r\na\0b\r\n";
    assert_true(n > sizeof(first) - 1);
    assert_memory_equal(b, first, sizeof(first) - 1);
    /* the missing file and the directory: error parts with the daemon's codes */
    assert_true(has(b, n, "name=\"error\"; filename=\"missing.txt\""));
    assert_true(has(b, n, "\"code\":\"FILE_NOT_FOUND\""));
    assert_true(has(b, n, "\"source\":\"DAYTONA_DAEMON\""));
    assert_true(has(b, n, "\"code\":\"INVALID_FILE_PATH\""));
    assert_true(has(b, n, "filename*=utf-8''%2Fhome%2Fdaytona%2Fbin.dat"));
    static const char end[] = "--DAYTONA-FILE-BOUNDARY--\r\n";
    assert_memory_equal(b + n - (sizeof(end) - 1), end, sizeof(end) - 1);
    assert_int_equal(pcall(f, "POST", id, "/files/bulk-download", "{\"paths\":[]}", NEW_SDK), 400);
    assert_non_null(strstr(jstr(f->json, "error"), "non-empty"));
    assert_int_equal(pcall(f, "POST", id, "/files/bulk-download", "{}", NEW_SDK), 400);
    /* the same route under the API's prefix */
    assert_int_equal(send_req(f, "POST", tb(id, "/files/bulk-download"),
                              "{\"paths\":[\"bin.dat\"]}", true, NULL, NULL, NULL),
                     200);
}

/* A session command's output: stdout and stderr apart for new SDKs (exec and JSON logs, the
 * raw log keeping the daemon's markers), combined text for 0.24 and for no version. */
static void test_session_output_by_sdk(void **state)
{
    struct fx *f = *state;
    char id[64], cid[64];
    snprintf(id, sizeof(id), "%s", create(f, "{}"));
    assert_int_equal(pcall(f, "POST", id, "/process/session", "{\"sessionId\":\"s\"}", NEW_SDK),
                     201);
    assert_int_equal(pcall(f, "POST", id, "/process/session/s/exec",
                           "{\"command\":\"echo out; echo err >&2; printf tail\"}", NEW_SDK),
                     200);
    assert_jstr(f->json, "stdout", "out\ntail\n");
    assert_jstr(f->json, "stderr", "err\n");
    assert_int_equal(cJSON_GetObjectItem(f->json, "exitCode")->valueint, 0);
    snprintf(cid, sizeof(cid), "%s", jstr(f->json, "cmdId"));
    char rest[160];
    snprintf(rest, sizeof(rest), "/process/session/s/command/%s/logs", cid);
    assert_int_equal(pcall(f, "GET", id, rest, NULL, NEW_SDK), 200);
    assert_jstr(f->json, "stdout", "out\ntail\n");
    assert_jstr(f->json, "stderr", "err\n");
    assert_non_null(strstr(jstr(f->json, "output"), "\001\001\001out\n"));
    assert_non_null(strstr(jstr(f->json, "output"), "\002\002\002err\n"));
    /* 0.24 and unversioned clients: plain text, markers removed */
    const char *olds[] = {OLD_SDK, NULL};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pcall(f, "GET", id, rest, NULL, olds[i]), 200);
        assert_non_null(strstr(rsp_header(&f->r, "Content-Type"), "text/plain"));
        assert_int_equal(f->r.body.len, strlen("out\nerr\ntail\n"));
        assert_true(strstr(f->r.body.data, "out\n") && strstr(f->r.body.data, "err\n"));
        assert_null(memchr(f->r.body.data, '\001', f->r.body.len));
    }
    assert_int_equal(pcall(f, "POST", id, "/process/session/s/exec",
                           "{\"command\":\"echo again; (exit 3)\"}", OLD_SDK),
                     200);
    assert_jstr(f->json, "output", "again\n");
    assert_null(cJSON_GetObjectItem(f->json, "stdout"));
    assert_int_equal(cJSON_GetObjectItem(f->json, "exitCode")->valueint, 3);
    /* a middle-generation SDK reads the raw log with its markers */
    assert_int_equal(pcall(f, "GET", id, rest, NULL, "X-Daytona-SDK-Version: 0.100.0"), 200);
    assert_true(has(f->r.body.data, f->r.body.len, "\001\001\001out\n"));
}

/* GET /sandbox: an array for 0.24 clients, {items,nextCursor} for paging clients and for
 * SDKs of the cursor generation. */
static void test_list_shape_by_client(void **state)
{
    struct fx *f = *state;
    create(f, "{\"labels\":{\"k\":\"v\"}}");
    create(f, "{\"labels\":{\"k\":\"v\"}}");
    assert_int_equal(send_req(f, "GET", "/api/sandbox", NULL, true, NULL, NULL, OLD_SDK), 200);
    assert_true(cJSON_IsArray(f->json));
    assert_int_equal(send_req(f, "GET", "/api/sandbox", NULL, true, NULL, NULL, NEW_SDK), 200);
    assert_true(cJSON_IsArray(cJSON_GetObjectItem(f->json, "items")));
    assert_int_equal(call(f, "GET", "/api/sandbox?limit=1", NULL), 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(f->json, "items")), 1);
    char next[64];
    snprintf(next, sizeof(next), "/api/sandbox?limit=1&cursor=%s", jstr(f->json, "nextCursor"));
    assert_int_equal(call(f, "GET", next, NULL), 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(f->json, "items")), 1);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(f->json, "nextCursor")));
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_record_and_proxy_url), T(test_proxy_execute),         T(test_proxy_file_errors),
        T(test_bulk_download),        T(test_session_output_by_sdk), T(test_list_shape_by_client),
    };
#undef T
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
