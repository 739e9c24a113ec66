/* Every mock file route against symbolic links that lead out of the sandbox (issue 10,
 * hardened mocks 4): in each sandbox a user could have run `ln -s /etc etc`,
 * `ln -s /outside out` and `ln -s /outside/secret secret`. Daytona's files API, E2B's /files
 * and filesystem RPC, and the action server's read/write/list/download/upload must refuse
 * to read, list, write, create, move or delete through them: no host bytes in a reply and
 * nothing changed outside. Before the fix every one of these followed the link. Against
 * the in-process mocks on loopback; the links are made in the sandboxes' host directories. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mock_http.h"
#include "mock_int.h"

#define SECRET "host secret, never to be served"

struct fx {
    struct sp_mock *dt, *e2b;
    char dt_base[64], e2b_base[64];
    char dt_key[300], e2b_key[300];
    char dt_id[64], e2b_id[64];
    char dt_host[128], e2b_sb[128]; /* action-server Host, E2b-Sandbox-Id header */
    char outside[64];               /* holds "secret"; must never change */
    struct rsp r;
};

static void mk_links(const struct fx *f, struct sp_mock *m, const char *id, const char *dir)
{
    struct mock_sandbox *sb = mock_store_get(mock_store_of(m), id);
    assert_non_null(sb);
    char d[1024], p[1100], target[128];
    snprintf(d, sizeof(d), "%s%s", sb->root, dir);
    mock_store_put(mock_store_of(m), sb);
    assert_int_equal(mock_mkdir_p(d, 0755), 0);
    snprintf(p, sizeof(p), "%s/etc", d);
    assert_int_equal(symlink("/etc", p), 0);
    snprintf(p, sizeof(p), "%s/out", d);
    assert_int_equal(symlink(f->outside, p), 0);
    snprintf(p, sizeof(p), "%s/secret", d);
    snprintf(target, sizeof(target), "%s/secret", f->outside);
    assert_int_equal(symlink(target, p), 0);
}

/* A request: vendor 0 Daytona API, 1 E2B envd, 2 the action server. */
static long
req(struct fx *f, int v, const char *method, const char *path, const char *json, curl_mime *mime)
{
    char url[1024], e2b_port[] = "E2b-Sandbox-Port: 49983";
    const char *hdrs[5] = {0};
    snprintf(url, sizeof(url), "%s%s", v == 1 ? f->e2b_base : f->dt_base, path);
    if (v == 0) {
        hdrs[0] = f->dt_key;
    } else if (v == 1) {
        hdrs[0] = f->e2b_sb;
        hdrs[1] = e2b_port;
    } else {
        hdrs[0] = f->dt_host;
        hdrs[1] = "X-Session-API-Key: k";
    }
    if (json)
        hdrs[2] = "Content-Type: application/json";
    struct http_req q = {.method = method,
                         .url = url,
                         .headers = hdrs,
                         .body = json,
                         .len = json ? strlen(json) : 0,
                         .mime = mime};
    assert_int_equal(http_perform(&q, &f->r), CURLE_OK);
    return f->r.status;
}

static void no_host_bytes(const struct fx *f)
{
    const char *b = sp_buf_str(&f->r.body);
    assert_null(strstr(b, SECRET));
    assert_null(strstr(b, "root:x:0:0")); /* /etc/passwd */
    assert_null(strstr(b, "os-release")); /* a listing (or an archive) of /etc */
}

static bool outside_has(const struct fx *f, const char *name)
{
    char p[256];
    struct stat st;
    snprintf(p, sizeof(p), "%s/%s", f->outside, name);
    return lstat(p, &st) == 0;
}

static void outside_untouched(const struct fx *f)
{
    char p[256], buf[64] = "";
    snprintf(p, sizeof(p), "%s/secret", f->outside);
    FILE *fp = fopen(p, "r");
    assert_non_null(fp);
    assert_non_null(fgets(buf, sizeof(buf), fp));
    fclose(fp);
    assert_string_equal(buf, SECRET);
    const char *made[] = {"new", "d", "bulk", "z.txt", "stolen"};
    for (size_t i = 0; i < sizeof(made) / sizeof(made[0]); i++)
        assert_false(outside_has(f, made[i]));
}

static void start_action_server(struct fx *f)
{
    char path[256];
    snprintf(path, sizeof(path), "/api/toolbox/%s/toolbox/process/session", f->dt_id);
    assert_int_equal(req(f, 0, "POST", path, "{\"sessionId\":\"s\"}", NULL), 201);
    snprintf(path, sizeof(path), "/api/toolbox/%s/toolbox/process/session/s/exec", f->dt_id);
    assert_int_equal(req(f, 0, "POST", path,
                         "{\"command\":\"python -u -m openhands.runtime.action_execution_server "
                         "4444 --working-dir /workspace\",\"async\":true}",
                         NULL),
                     202);
    long st = 0;
    for (int i = 0; i < 200 && (st = req(f, 2, "GET", "/alive", NULL, NULL)) != 200; i++)
        nap_ms(20);
    assert_int_equal(st, 200);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct sp_mock_config dc = {.vendor = "daytona", .quiet = true, .has_latency = true};
    struct sp_mock_config ec = {.vendor = "e2b", .quiet = true, .has_latency = true};
    struct sp_error err;
    rsp_init(&f->r);
    snprintf(f->outside, sizeof(f->outside), "/tmp/sp-links-XXXXXX");
    assert_non_null(mkdtemp(f->outside));
    char p[128];
    snprintf(p, sizeof(p), "%s/secret", f->outside);
    FILE *fp = fopen(p, "w");
    fputs(SECRET, fp);
    fclose(fp);
    assert_int_equal(sp_mock_start(&dc, &f->dt, &err), SP_E_OK);
    assert_int_equal(sp_mock_start(&ec, &f->e2b, &err), SP_E_OK);
    snprintf(f->dt_base, sizeof(f->dt_base), "http://127.0.0.1:%u", sp_mock_port(f->dt));
    snprintf(f->e2b_base, sizeof(f->e2b_base), "http://127.0.0.1:%u", sp_mock_port(f->e2b));
    snprintf(f->dt_key, sizeof(f->dt_key), "Authorization: Bearer %s",
             sp_kv_get(sp_mock_env(f->dt), "DAYTONA_API_KEY"));
    snprintf(f->e2b_key, sizeof(f->e2b_key), "X-API-Key: %s",
             sp_kv_get(sp_mock_env(f->e2b), "E2B_API_KEY"));
    assert_int_equal(req(f, 0, "POST", "/api/sandbox",
                         "{\"public\":true,\"env\":{\"SESSION_API_KEY\":\"k\"}}", NULL),
                     200);
    cJSON *o = cJSON_Parse(sp_buf_str(&f->r.body));
    snprintf(f->dt_id, sizeof(f->dt_id), "%s", jstr(o, "id"));
    cJSON_Delete(o);
    /* E2B's control plane takes the API key, not the envd headers */
    char url[128];
    const char *hdrs[] = {f->e2b_key, "Content-Type: application/json", NULL};
    snprintf(url, sizeof(url), "%s/sandboxes", f->e2b_base);
    struct http_req q = {.method = "POST",
                         .url = url,
                         .headers = hdrs,
                         .body = "{\"templateID\":\"base\",\"secure\":false}",
                         .len = 36};
    assert_int_equal(http_perform(&q, &f->r), CURLE_OK);
    assert_int_equal(f->r.status, 201);
    o = cJSON_Parse(sp_buf_str(&f->r.body));
    snprintf(f->e2b_id, sizeof(f->e2b_id), "%s", jstr(o, "sandboxID"));
    cJSON_Delete(o);
    snprintf(f->e2b_sb, sizeof(f->e2b_sb), "E2b-Sandbox-Id: %s", f->e2b_id);
    snprintf(f->dt_host, sizeof(f->dt_host), "Host: 4444-%s.localhost", f->dt_id);
    start_action_server(f);
    mk_links(f, f->dt, f->dt_id, "/home/daytona");
    mk_links(f, f->dt, f->dt_id, "/workspace");
    mk_links(f, f->e2b, f->e2b_id, "/home/user");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    sp_mock_stop(f->dt);
    sp_mock_stop(f->e2b);
    rsp_free(&f->r);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->outside);
    int rc = system(cmd);
    free(f);
    return rc;
}

/* Daytona toolbox path with the sandbox id (static storage). */
static const char *tb(const struct fx *f, const char *rest)
{
    static char path[512];
    snprintf(path, sizeof(path), "/api/toolbox/%s/toolbox%s", f->dt_id, rest);
    return path;
}

static void test_daytona_files_refuse_links_out(void **state)
{
    struct fx *f = *state;
    CURL *c = curl_easy_init();
    assert_true(req(f, 0, "GET", tb(f, "/files/download?path=/home/daytona/etc/passwd"), NULL,
                    NULL) >= 400);
    no_host_bytes(f);
    assert_true(req(f, 0, "GET", tb(f, "/files/download?path=/home/daytona/secret"), NULL, NULL) >=
                400);
    no_host_bytes(f);
    assert_true(req(f, 0, "GET", tb(f, "/files?path=/home/daytona/etc"), NULL, NULL) >= 400);
    no_host_bytes(f);
    assert_true(req(f, 0, "GET", tb(f, "/files/info?path=/home/daytona/out/secret"), NULL, NULL) >=
                400);
    curl_mime *mime = mime_one_file(c, "new", "x", 1);
    assert_true(req(f, 0, "POST", tb(f, "/files/upload?path=/home/daytona/out/new"), NULL, mime) >=
                400);
    curl_mime_free(mime);
    mime = curl_mime_init(c);
    curl_mimepart *part = curl_mime_addpart(mime);
    curl_mime_name(part, "files[0].path");
    curl_mime_data(part, "/home/daytona/out/bulk", CURL_ZERO_TERMINATED);
    part = curl_mime_addpart(mime);
    curl_mime_name(part, "files[0].file");
    curl_mime_filename(part, "bulk");
    curl_mime_data(part, "x", 1);
    assert_true(req(f, 0, "POST", tb(f, "/files/bulk-upload"), NULL, mime) >= 400);
    curl_mime_free(mime);
    assert_true(req(f, 0, "DELETE", tb(f, "/files?path=/home/daytona/out/secret"), NULL, NULL) >=
                400);
    assert_true(req(f, 0, "POST", tb(f, "/files/folder?path=/home/daytona/out/d&mode=755"), NULL,
                    NULL) >= 400);
    assert_true(req(f, 0, "POST",
                    tb(f, "/files/move?source=/home/daytona/out/secret&destination=/home/"
                          "daytona/stolen"),
                    NULL, NULL) >= 400);
    outside_untouched(f);
    /* the link itself is the sandbox's: listing its directory shows it, deleting removes it */
    assert_int_equal(req(f, 0, "GET", tb(f, "/files?path=/home/daytona"), NULL, NULL), 200);
    assert_non_null(strstr(sp_buf_str(&f->r.body), "\"secret\""));
    curl_easy_cleanup(c);
}

static void test_e2b_files_and_rpc_refuse_links_out(void **state)
{
    struct fx *f = *state;
    CURL *c = curl_easy_init();
    assert_true(req(f, 1, "GET", "/files?path=/home/user/etc/passwd", NULL, NULL) >= 400);
    no_host_bytes(f);
    assert_true(req(f, 1, "GET", "/files?path=/home/user/secret", NULL, NULL) >= 400);
    no_host_bytes(f);
    curl_mime *mime = mime_one_file(c, "new", "x", 1);
    assert_true(req(f, 1, "POST", "/files?path=/home/user/out/new", NULL, mime) >= 400);
    curl_mime_free(mime);
    static const char *const rpcs[][2] = {
        {"Stat", "{\"path\":\"/home/user/out/secret\"}"},
        {"ListDir", "{\"path\":\"/home/user/etc\"}"},
        {"MakeDir", "{\"path\":\"/home/user/out/d\"}"},
        {"Remove", "{\"path\":\"/home/user/out/secret\"}"},
        {"Move", "{\"source\":\"/home/user/out/secret\",\"destination\":\"/home/user/stolen\"}"},
        {"Move", "{\"source\":\"/home/user/x\",\"destination\":\"/home/user/out/stolen\"}"},
    };
    for (size_t i = 0; i < sizeof(rpcs) / sizeof(rpcs[0]); i++) {
        char path[64];
        snprintf(path, sizeof(path), "/filesystem.Filesystem/%s", rpcs[i][0]);
        assert_true(req(f, 1, "POST", path, rpcs[i][1], NULL) >= 400);
        no_host_bytes(f);
    }
    outside_untouched(f);
    curl_easy_cleanup(c);
}

static void test_action_server_files_refuse_links_out(void **state)
{
    struct fx *f = *state;
    CURL *c = curl_easy_init();
    assert_int_equal(req(f, 2, "POST", "/execute_action",
                         "{\"action\":{\"action\":\"read\",\"args\":{\"path\":"
                         "\"/workspace/etc/passwd\"}}}",
                         NULL),
                     200);
    no_host_bytes(f);
    assert_non_null(strstr(sp_buf_str(&f->r.body), "\"observation\":\"error\""));
    assert_int_equal(req(f, 2, "POST", "/execute_action",
                         "{\"action\":{\"action\":\"read\",\"args\":{\"path\":"
                         "\"/workspace/secret\"}}}",
                         NULL),
                     200);
    no_host_bytes(f);
    req(f, 2, "POST", "/execute_action",
        "{\"action\":{\"action\":\"write\",\"args\":{\"path\":\"/workspace/out/new\","
        "\"content\":\"x\"}}}",
        NULL);
    assert_int_equal(req(f, 2, "POST", "/list_files", "{\"path\":\"/workspace/etc\"}", NULL), 200);
    assert_string_equal(sp_buf_str(&f->r.body), "[]");
    req(f, 2, "GET", "/download_files?path=/workspace/etc", NULL, NULL);
    no_host_bytes(f);
    req(f, 2, "GET", "/download_files?path=/workspace", NULL, NULL);
    no_host_bytes(f); /* the archive of /workspace leaves the links out */
    curl_mime *mime = mime_one_file(c, "new", "x", 1);
    req(f, 2, "POST", "/upload_file?destination=%2Fworkspace%2Fout&recursive=false", NULL, mime);
    curl_mime_free(mime);
    outside_untouched(f);
    curl_easy_cleanup(c);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_daytona_files_refuse_links_out),
        cmocka_unit_test(test_e2b_files_and_rpc_refuse_links_out),
        cmocka_unit_test(test_action_server_files_refuse_links_out),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
