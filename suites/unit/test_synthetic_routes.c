/* Unit tests of the synthetic backend on the vendors' wires (mocks/synthetic_routes.c), over
 * HTTP against in-process mocks run with --backend synthetic: Daytona's action-server mode
 * (session start of the server, run/read/write actions, /upload_file and /download_files),
 * the Daytona toolbox (execute with the SDK's base64 wrapper, files upload/download), E2B
 * envd (process.Start streams, /files), the exec latency, the 501 every other sandbox route
 * answers, and that no sandbox directory or process is made. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mock_daytona_http.h"
#include "provider.h" /* sp_now_us */

static char g_root[256]; /* the mocks' root_dir: must stay free of sandbox directories */

static int start_synthetic(void **state, const char *vendor, const char *latency)
{
    struct fx *f = calloc(1, sizeof(*f));
    snprintf(g_root, sizeof(g_root), "/tmp/sp-synthetic-XXXXXX");
    assert_non_null(mkdtemp(g_root));
    struct sp_mock_config cfg = {.vendor = vendor,
                                 .quiet = true,
                                 .backend = SP_MOCK_BACKEND_SYNTHETIC,
                                 .root_dir = g_root,
                                 .key = strcmp(vendor, "e2b") == 0 ? "e2b_k" : "dt-key"};
    struct sp_error err = {0};
    assert_int_equal(sp_mock_latency_parse(&cfg, latency, &err), SP_E_OK);
    assert_int_equal(sp_mock_start(&cfg, &f->m, &err), SP_E_OK);
    snprintf(f->key, sizeof(f->key), "%s", cfg.key);
    rsp_init(&f->r);
    *state = f;
    return 0;
}

static int setup_daytona(void **state)
{
    return start_synthetic(state, "daytona", "exec=fixed:50ms");
}

static int setup_e2b(void **state)
{
    return start_synthetic(state, "e2b", "exec=fixed:50ms");
}

/* Nothing but the store's own root under root_dir, and nothing in it. */
static void assert_no_sandbox_dirs(void)
{
    DIR *d = opendir(g_root);
    int n = 0;
    char store[512] = "";
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (e->d_name[0] != '.' && ++n == 1)
            snprintf(store, sizeof(store), "%s/%s", g_root, e->d_name);
    closedir(d);
    assert_int_equal(n, 1);
    d = opendir(store);
    n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] != '.')
            print_message("left in the store root: %s\n", e->d_name);
        n += e->d_name[0] != '.';
    }
    closedir(d);
    assert_int_equal(n, 0);
}

static int teardown_synthetic(void **state)
{
    teardown(state);
    rmdir(g_root);
    return 0;
}

/* POST /execute_action with one action; returns the status, f->json the observation. */
static long action(
    struct fx *f, const char *type, const char *k1, const char *v1, const char *k2, const char *v2)
{
    cJSON *root = cJSON_CreateObject(), *a = cJSON_AddObjectToObject(root, "action");
    cJSON_AddStringToObject(a, "action", type);
    cJSON *args = cJSON_AddObjectToObject(a, "args");
    cJSON_AddStringToObject(args, k1, v1);
    if (k2)
        cJSON_AddStringToObject(args, k2, v2);
    cJSON_AddNumberToObject(a, "timeout", 10);
    char *s = cJSON_PrintUnformatted(root);
    long st = send_req(f, "POST", "/execute_action", s, false, f->host, NULL, NULL);
    cJSON_free(s);
    cJSON_Delete(root);
    return st;
}

static void test_daytona_action_server(void **state)
{
    struct fx *f = *state;
    snprintf(f->id, sizeof(f->id), "%s", create(f, "{\"public\":true}"));
    snprintf(f->host, sizeof(f->host), "4444-%s.localhost:%u", f->id, sp_mock_port(f->m));
    start_server_in(f, f->id, "oh", OPENHANDS_CMD);
    assert_int_equal(wait_alive(f, f->host, NULL), 200);
    int64_t t0 = sp_now_us();
    assert_int_equal(action(f, "run", "command", "echo hello && printf '%s\\n' world", NULL, NULL),
                     200);
    assert_true(sp_now_us() - t0 >= 50000); /* exec=fixed:50ms */
    assert_jstr(f->json, "observation", "run");
    assert_jstr(f->json, "content", "hello\nworld");
    const cJSON *meta = cJSON_GetObjectItem(cJSON_GetObjectItem(f->json, "extras"), "metadata");
    assert_int_equal(cJSON_GetObjectItem(meta, "exit_code")->valueint, 0);
    assert_int_equal(action(f, "run", "command", "exit 4", NULL, NULL), 200);
    meta = cJSON_GetObjectItem(cJSON_GetObjectItem(f->json, "extras"), "metadata");
    assert_int_equal(cJSON_GetObjectItem(meta, "exit_code")->valueint, 4);
    assert_int_equal(action(f, "write", "path", "/workspace/n.txt", "content", "line"), 200);
    assert_jstr(f->json, "observation", "write");
    assert_int_equal(action(f, "read", "path", "/workspace/n.txt", NULL, NULL), 200);
    assert_jstr(f->json, "observation", "read");
    assert_jstr(f->json, "content", "line\n");
    assert_int_equal(action(f, "run", "command", "cat /workspace/n.txt", NULL, NULL), 200);
    assert_jstr(f->json, "content", "line");
    assert_int_equal(action(f, "run", "command", "python3 -V", NULL, NULL), 200);
    assert_non_null(strstr(jstr(f->json, "content"), "command 'python3' is not supported"));
    assert_int_equal(action(f, "run", "command", "echo a | cat", NULL, NULL), 200);
    assert_jstr(f->json, "observation", "error");
    assert_non_null(strstr(jstr(f->json, "content"), "synthetic backend does not support pipes"));
    /* /upload_file then /download_files of its directory (a zip holding it). */
    CURL *c = curl_easy_init();
    curl_mime *mime = mime_one_file(c, "up.bin", "\x00\x01zz", 4);
    assert_int_equal(send_req(f, "POST", "/upload_file?destination=/workspace/up&recursive=false",
                              NULL, false, f->host, mime, NULL),
                     200);
    curl_mime_free(mime);
    curl_easy_cleanup(c);
    assert_int_equal(
        send_req(f, "GET", "/download_files?path=/workspace/up", NULL, false, f->host, NULL, NULL),
        200);
    assert_string_equal(rsp_header(&f->r, "Content-Type"), "application/zip");
    assert_true(f->r.body.len > 4 + 30 + 6);
    assert_memory_equal(f->r.body.data + 30, "up.bin", 6);
    assert_memory_equal(f->r.body.data + 36, "\x00\x01zz", 4);
    assert_int_equal(send_req(f, "GET", "/list_files", NULL, false, f->host, NULL, NULL), 501);
    assert_no_sandbox_dirs();
}

static void test_daytona_toolbox(void **state)
{
    struct fx *f = *state;
    snprintf(f->id, sizeof(f->id), "%s", create(f, "{}"));
    /* The SDK's wrapper: sh -c "echo '<base64 of the line>' | base64 -d | sh". */
    struct sp_buf b64;
    sp_buf_init(&b64, 0);
    sp_buf_put_base64(&b64, "echo from-toolbox; exit 3", 25);
    char body[512];
    snprintf(body, sizeof(body),
             "{\"command\":\"sh -c \\\"echo '%s' | base64 -d | sh\\\"\",\"timeout\":10}",
             sp_buf_str(&b64));
    sp_buf_cleanup(&b64);
    assert_int_equal(call(f, "POST", tb(f->id, "/process/execute"), body), 200);
    assert_int_equal(cJSON_GetObjectItem(f->json, "exitCode")->valueint, 3);
    assert_jstr(f->json, "result", "from-toolbox\n");
    assert_int_equal(call(f, "POST", tb(f->id, "/process/execute"), "{\"command\":\"echo plain\"}"),
                     200);
    assert_jstr(f->json, "result", "plain\n");
    CURL *c = curl_easy_init();
    curl_mime *mime = mime_one_file(c, "f.txt", "content!", 8);
    char path[600];
    snprintf(path, sizeof(path), "%s?path=dir/f.txt", tb(f->id, "/files/upload"));
    assert_int_equal(send_req(f, "POST", path, NULL, true, NULL, mime, NULL), 200);
    curl_mime_free(mime);
    curl_easy_cleanup(c);
    snprintf(path, sizeof(path), "%s?path=dir/f.txt", tb(f->id, "/files/download"));
    assert_int_equal(call(f, "GET", path, NULL), 200);
    assert_string_equal(sp_buf_str(&f->r.body), "content!");
    snprintf(path, sizeof(path), "%s?path=dir/none", tb(f->id, "/files/download"));
    assert_int_equal(call(f, "GET", path, NULL), 404);
    assert_int_equal(call(f, "GET", tb(f->id, "/files?path=dir"), NULL), 501);
    assert_non_null(strstr(sp_buf_str(&f->r.body), "synthetic backend"));
    /* The control plane is untouched by the backend. */
    snprintf(path, sizeof(path), "/api/sandbox/%s", f->id);
    assert_int_equal(call(f, "GET", path, NULL), 200);
    assert_int_equal(call(f, "DELETE", path, NULL), 200);
    assert_no_sandbox_dirs();
}

/* An E2B request: API (with the key) or envd (routing headers). */
static long e2b(struct fx *f,
                const char *method,
                const char *path,
                const char *ctype,
                const void *body,
                size_t len,
                bool envd)
{
    char url[512], key[160], id[128], ct[128];
    snprintf(url, sizeof(url), "%s%s", sp_mock_url(f->m), path);
    snprintf(key, sizeof(key), "X-API-Key: %s", f->key);
    snprintf(id, sizeof(id), "E2b-Sandbox-Id: %s", f->id);
    snprintf(ct, sizeof(ct), "Content-Type: %s", ctype ? ctype : "application/json");
    const char *hdrs[] = {envd ? id : key, "E2b-Sandbox-Port: 49983", ct, NULL};
    if (!envd)
        hdrs[1] = ct, hdrs[2] = NULL;
    struct http_req q = {.method = method, .url = url, .headers = hdrs, .body = body, .len = len};
    assert_int_equal(http_perform(&q, &f->r), CURLE_OK);
    return f->r.status;
}

/* process.Start of bash -l -c cmd; returns the events' JSON joined by '|'. */
static void start_cmd(struct fx *f, const char *cmd, char *events, size_t len)
{
    char json[512], body[600];
    snprintf(json, sizeof(json),
             "{\"process\":{\"cmd\":\"/bin/bash\",\"args\":[\"-l\",\"-c\",\"%s\"]}}", cmd);
    size_t n = strlen(json);
    body[0] = 0, body[1] = 0, body[2] = 0, body[3] = (char)(n >> 8), body[4] = (char)n;
    memcpy(body + 5, json, n);
    assert_int_equal(
        e2b(f, "POST", "/process.Process/Start", "application/connect+json", body, n + 5, true),
        200);
    const unsigned char *p = (const unsigned char *)f->r.body.data;
    size_t off = 0, used = 0;
    events[0] = '\0';
    while (off + 5 <= f->r.body.len) {
        size_t l = (size_t)p[off + 3] << 8 | p[off + 4];
        used += (size_t)snprintf(events + used, len - used, "%s%u:%.*s", used ? "|" : "", p[off],
                                 (int)l, (const char *)p + off + 5);
        off += 5 + l;
    }
    assert_int_equal(off, f->r.body.len);
}

static void test_e2b_envd(void **state)
{
    struct fx *f = *state;
    assert_int_equal(e2b(f, "POST", "/sandboxes", NULL, "{\"templateID\":\"base\"}", 21, false),
                     201);
    cJSON *j = cJSON_ParseWithLength(f->r.body.data, f->r.body.len);
    snprintf(f->id, sizeof(f->id), "%s", jstr(j, "sandboxID"));
    cJSON_Delete(j);
    char ev[2048];
    int64_t t0 = sp_now_us();
    start_cmd(f, "echo hi; sleep 0.2", ev, sizeof(ev));
    assert_true(sp_now_us() - t0 >= 250000); /* exec 50 ms + sleep 0.2 s, on a timer */
    assert_string_equal(ev,
                        "0:{\"event\":{\"start\":{\"pid\":1}}}"
                        "|0:{\"event\":{\"data\":{\"stdout\":\"aGkK\"}}}"
                        "|0:{\"event\":{\"end\":{\"exited\":true,\"status\":\"exit status 0\"}}}"
                        "|2:{}");
    start_cmd(f, "nope", ev, sizeof(ev));
    assert_non_null(strstr(ev, "\"stderr\":"));
    assert_non_null(strstr(ev, "\"exitCode\":127"));
    assert_int_equal(
        e2b(f, "POST", "/files?path=/home/user/x.txt", "application/octet-stream", "xyz", 3, true),
        200);
    assert_non_null(strstr(sp_buf_str(&f->r.body), "\"path\":\"/home/user/x.txt\""));
    assert_int_equal(e2b(f, "GET", "/files?path=x.txt", NULL, NULL, 0, true), 200);
    assert_string_equal(sp_buf_str(&f->r.body), "xyz");
    start_cmd(f, "cat x.txt", ev, sizeof(ev));
    assert_non_null(strstr(ev, "\"stdout\":\"eHl6\""));
    assert_int_equal(e2b(f, "GET", "/files?path=/none", NULL, NULL, 0, true), 404);
    assert_int_equal(
        e2b(f, "POST", "/filesystem.Filesystem/ListDir", NULL, "{\"path\":\"/\"}", 12, true), 501);
    assert_non_null(strstr(sp_buf_str(&f->r.body), "synthetic backend"));
    assert_int_equal(e2b(f, "POST", "/process.Process/List", NULL, "{}", 2, true), 501);
    assert_no_sandbox_dirs();
}

static int setup_e2b_alive(void **state)
{
    return start_synthetic(state, "e2b", "alive=fixed:300ms");
}

/* --latency alive: envd answers /health 300 ms after the sandbox started, 502 before. */
static void test_e2b_alive_delay(void **state)
{
    struct fx *f = *state;
    int64_t t0 = sp_now_us();
    assert_int_equal(e2b(f, "POST", "/sandboxes", NULL, "{\"templateID\":\"base\"}", 21, false),
                     201);
    cJSON *j = cJSON_ParseWithLength(f->r.body.data, f->r.body.len);
    snprintf(f->id, sizeof(f->id), "%s", jstr(j, "sandboxID"));
    cJSON_Delete(j);
    assert_int_equal(e2b(f, "GET", "/health", NULL, NULL, 0, true), 502);
    long st = 502;
    for (int i = 0; i < 300 && st == 502; i++) {
        nap_ms(5);
        st = e2b(f, "GET", "/health", NULL, NULL, 0, true);
    }
    assert_int_equal(st, 204);
    assert_true(sp_now_us() - t0 >= 300000);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_daytona_action_server, setup_daytona,
                                        teardown_synthetic),
        cmocka_unit_test_setup_teardown(test_daytona_toolbox, setup_daytona, teardown_synthetic),
        cmocka_unit_test_setup_teardown(test_e2b_envd, setup_e2b, teardown_synthetic),
        cmocka_unit_test_setup_teardown(test_e2b_alive_delay, setup_e2b_alive, teardown_synthetic),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
