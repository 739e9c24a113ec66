/* Raw-HTTP tests of the E2B mock's envd services (mocks/e2b_process.c, e2b_envd.c, e2b_fs.c):
 * the process.Start Connect stream parsed byte by byte, List/SendSignal, /files upload and
 * download, and the filesystem RPCs (spec/e2b-modal.md A3). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <zlib.h>

#include "mock_e2b_http.h"

/* --- envd: process.Start ------------------------------------------------------------------- */

/* Decodes the stdout data events among e[1 .. n-3] (between the start event and the end
 * event and end-of-stream) into out; returns how many there were. */
static size_t collect_stdout(const struct envelope *e, size_t n, struct sp_buf *out)
{
    size_t data = 0;
    for (size_t i = 1; i + 2 < n; i++) {
        char b64[512];
        if (sscanf(e[i].json, "{\"event\":{\"data\":{\"stdout\":\"%511[^\"]", b64) == 1) {
            assert_int_equal(sp_base64_decode(b64, strlen(b64), out), 0);
            data++;
        }
    }
    return data;
}

static void test_mock_e2b_start_stream_framing(void **state)
{
    (void)state;
    struct sbx s;
    create("{\"templateID\":\"base\",\"secure\":true}", &s);
    struct rsp r;
    struct envelope e[8];
    start(&s, "echo hi", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(sp_kv_geti(&r.headers, "Content-Type"), "application/connect+json");
    assert_int_equal(split_envelopes(&r.body, e, 8), 4);
    start_pid(&e[0]);
    assert_int_equal(e[1].flags, 0);
    assert_string_equal(e[1].json, "{\"event\":{\"data\":{\"stdout\":\"aGkK\"}}}");
    assert_int_equal(e[2].flags, 0);
    assert_string_equal(e[2].json, "{\"event\":{\"end\":{\"exited\":true,\"status\":\"exit "
                                   "status 0\"}}}");
    assert_int_equal(e[3].flags, 2);
    assert_string_equal(e[3].json, "{}");
    rsp_free(&r);
}

static void test_mock_e2b_start_streams_output_as_produced(void **state)
{
    (void)state;
    struct sbx s;
    create("{\"templateID\":\"base\"}", &s);
    struct rsp r;
    struct envelope e[32];
    start(&s, "for i in 1 2 3 4 5; do echo $i; sleep 0.05; done", NULL, &r);
    size_t n = split_envelopes(&r.body, e, 32);
    struct sp_buf out;
    sp_buf_init(&out, 0);
    size_t data = collect_stdout(e, n, &out);
    assert_string_equal(sp_buf_str(&out), "1\n2\n3\n4\n5\n");
    assert_true(data >= 2); /* the lines left as separate events, not one at the end */
    assert_string_equal(e[n - 1].json, "{}");
    sp_buf_cleanup(&out);
    rsp_free(&r);
}

static void test_mock_e2b_start_nonzero_exit(void **state)
{
    (void)state;
    struct sbx s;
    create("{\"templateID\":\"base\"}", &s);
    struct rsp r;
    struct envelope e[8];
    start(&s, "echo oops >&2; exit 3", NULL, &r);
    assert_int_equal(split_envelopes(&r.body, e, 8), 4);
    assert_string_equal(e[1].json, "{\"event\":{\"data\":{\"stderr\":\"b29wcwo=\"}}}");
    assert_string_equal(e[2].json, "{\"event\":{\"end\":{\"exitCode\":3,\"exited\":true,"
                                   "\"status\":\"exit status 3\",\"error\":\"exit status 3\"}}}");
    assert_int_equal(e[3].flags, 2);
    rsp_free(&r);
}

/* Connect-Timeout-Ms is the process's lifetime: killed at the deadline, no end event. */
static void test_mock_e2b_start_timeout_kills(void **state)
{
    (void)state;
    struct sbx s;
    create("{\"templateID\":\"base\"}", &s);
    struct rsp r;
    struct envelope e[8];
    start(&s, "sleep 30", "Connect-Timeout-Ms: 300", &r);
    assert_int_equal(split_envelopes(&r.body, e, 8), 2);
    unsigned pid = start_pid(&e[0]);
    assert_int_equal(e[1].flags, 2);
    assert_string_equal(e[1].json, "{\"error\":{\"code\":\"deadline_exceeded\",\"message\":"
                                   "\"context deadline exceeded\"}}");
    assert_int_equal(kill((pid_t)pid, 0), -1); /* killed and reaped */
    assert_int_equal(errno, ESRCH);
    rsp_free(&r);
}

static void test_mock_e2b_start_env_cwd_and_errors(void **state)
{
    (void)state;
    struct sbx s;
    create("{\"templateID\":\"base\",\"envVars\":{\"FOO\":\"bar\"}}", &s);
    struct rsp r;
    struct envelope e[8];
    start(&s, "echo $FOO $USER $E2B_SANDBOX; pwd", NULL, &r);
    size_t n = split_envelopes(&r.body, e, 8);
    struct sp_buf out;
    sp_buf_init(&out, 0);
    assert_int_equal(collect_stdout(e, n, &out), n - 3); /* nothing but stdout in between */
    assert_int_equal(strncmp(sp_buf_str(&out), "bar user true\n", 14), 0);
    assert_non_null(strstr(sp_buf_str(&out), "/home/user\n")); /* the default cwd */
    sp_buf_cleanup(&out);
    rsp_free(&r);
    const char body[] = "\0\0\0\0\x02{}";
    envd(&s, "POST", "/process.Process/Start", "application/connect+json", NULL, body, 7, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(split_envelopes(&r.body, e, 8), 1);
    assert_int_equal(e[0].flags, 2);
    assert_non_null(strstr(e[0].json, "\"invalid_argument\""));
    rsp_free(&r);
    const char *bad_user = "Authorization: Basic bm9ib2R5Og=="; /* "nobody:" */
    start(&s, "true", bad_user, &r);
    assert_int_equal(split_envelopes(&r.body, e, 8), 1);
    assert_non_null(strstr(e[0].json, "\"unauthenticated\""));
    rsp_free(&r);
}

/* Waits until List shows one process in the sandbox; returns its pid. */
static int wait_for_process(const struct sbx *s)
{
    int pid = 0;
    for (int tries = 0; pid == 0 && tries < 500; tries++) {
        struct rsp r;
        rpc(s, "/process.Process/List", "{}", &r);
        assert_int_equal(r.status, 200);
        cJSON *j = rsp_json(&r);
        cJSON *p = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "processes"), 0);
        if (p != NULL)
            pid = cJSON_GetObjectItemCaseSensitive(p, "pid")->valueint;
        cJSON_Delete(j);
        rsp_free(&r);
        if (pid == 0)
            nap_ms(10);
    }
    assert_true(pid > 0);
    return pid;
}

struct bg_start {
    struct sbx s;
    struct rsp r;
    CURLcode rc;
};

static void *run_start(void *arg)
{
    struct bg_start *b = arg;
    b->rc = start_timed(&b->s, "sleep 30", NULL, 0, &b->r);
    return NULL;
}

/* List shows a running command; SendSignal kills it and its stream ends "signal: killed". */
static void test_mock_e2b_process_list_and_signal(void **state)
{
    (void)state;
    struct bg_start b;
    create("{\"templateID\":\"base\"}", &b.s);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, run_start, &b), 0);
    struct rsp r;
    int pid = wait_for_process(&b.s);
    rpc(&b.s, "/process.Process/List", "{}", &r);
    cJSON *list = rsp_json(&r);
    cJSON *p = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(list, "processes"), 0);
    assert_string_equal(jstr(cJSON_GetObjectItemCaseSensitive(p, "config"), "cmd"), "/bin/bash");
    cJSON_Delete(list);
    rsp_free(&r);
    char sig[128];
    snprintf(sig, sizeof sig, "{\"process\":{\"pid\":%d},\"signal\":\"SIGNAL_SIGKILL\"}", pid);
    rpc(&b.s, "/process.Process/SendSignal", sig, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(sp_buf_str(&r.body), "{}");
    rsp_free(&r);
    pthread_join(t, NULL);
    assert_int_equal(b.rc, CURLE_OK);
    struct envelope e[8];
    assert_int_equal(split_envelopes(&b.r.body, e, 8), 3);
    assert_int_equal((int)start_pid(&e[0]), pid);
    assert_string_equal(e[1].json, "{\"event\":{\"end\":{\"exitCode\":-1,\"status\":\"signal: "
                                   "killed\",\"error\":\"signal: killed\"}}}");
    assert_string_equal(e[2].json, "{}");
    rsp_free(&b.r);
    rpc(&b.s, "/process.Process/SendSignal", sig, &r);
    assert_int_equal(r.status, 404);
    cJSON *j = rsp_json(&r);
    assert_string_equal(jstr(j, "code"), "not_found");
    cJSON_Delete(j);
    rsp_free(&r);
}

/* A command that stays quiet longer than Keepalive-Ping-Interval gets keepalive events. */
static void test_mock_e2b_start_keepalive(void **state)
{
    (void)state;
    struct sbx s;
    create("{\"templateID\":\"base\"}", &s);
    struct rsp r;
    struct envelope e[16];
    start(&s, "sleep 1.5; echo done", "Keepalive-Ping-Interval: 1", &r);
    size_t n = split_envelopes(&r.body, e, 16);
    size_t keepalives = 0;
    for (size_t i = 1; i + 1 < n; i++)
        keepalives += strcmp(e[i].json, "{\"event\":{\"keepalive\":{}}}") == 0;
    assert_true(keepalives >= 1);
    assert_string_equal(e[n - 3].json, "{\"event\":{\"data\":{\"stdout\":\"ZG9uZQo=\"}}}");
    assert_string_equal(e[n - 1].json, "{}");
    rsp_free(&r);
    /* Reattaching to a process is not something the mock does; it says so the Connect way. */
    rpc(&s, "/process.Process/Connect", "{}", &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(split_envelopes(&r.body, e, 16), 1);
    assert_non_null(strstr(e[0].json, "\"unimplemented\""));
    rsp_free(&r);
}

/* Killing a sandbox kills what runs in it; the command's stream ends "signal: killed". */
static void test_mock_e2b_kill_ends_running_commands(void **state)
{
    (void)state;
    struct bg_start b;
    create("{\"templateID\":\"base\"}", &b.s);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, run_start, &b), 0);
    int pid = wait_for_process(&b.s);
    char path[128];
    snprintf(path, sizeof path, "/sandboxes/%s", b.s.id);
    struct rsp r;
    api("DELETE", path, NULL, &r);
    assert_int_equal(r.status, 204);
    rsp_free(&r);
    pthread_join(t, NULL);
    assert_int_equal(b.rc, CURLE_OK);
    struct envelope e[8];
    assert_int_equal(split_envelopes(&b.r.body, e, 8), 3);
    assert_int_equal((int)start_pid(&e[0]), pid);
    assert_non_null(strstr(e[1].json, "\"status\":\"signal: killed\""));
    rsp_free(&b.r);
}

/* Polls until pid is gone (killed and reaped); false if it never goes. */
static bool process_ends(pid_t pid)
{
    for (int tries = 0; tries < 1000; tries++) {
        if (kill(pid, 0) != 0 && errno == ESRCH)
            return true;
        nap_ms(10);
    }
    return false;
}

/* A client that hangs up on a quiet command does not leave it running. */
static void test_mock_e2b_abandoned_stream_kills_command(void **state)
{
    (void)state;
    struct sbx s;
    create("{\"templateID\":\"base\"}", &s);
    struct rsp r;
    struct envelope e[4];
    assert_int_equal(start_timed(&s, "sleep 30", NULL, 500, &r), CURLE_OPERATION_TIMEDOUT);
    assert_int_equal(split_envelopes(&r.body, e, 4), 1);
    assert_true(process_ends((pid_t)start_pid(&e[0])));
    rsp_free(&r);
}

/* Stopping the mock does not wait for the commands still streaming. */
static void test_mock_e2b_stop_with_running_command(void **state)
{
    (void)state;
    struct sp_mock *main_mock = g_mock;
    struct sp_mock_config cfg = {.vendor = "e2b", .key = KEY, .has_latency = true, .quiet = true};
    struct sp_error err = {0};
    assert_int_equal(sp_mock_start(&cfg, &g_mock, &err), SP_E_OK);
    struct bg_start b;
    create("{\"templateID\":\"base\"}", &b.s);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, run_start, &b), 0);
    pid_t pid = wait_for_process(&b.s);
    sp_mock_stop(g_mock);
    g_mock = main_mock;
    pthread_join(t, NULL);
    assert_true(process_ends(pid));
    rsp_free(&b.r);
}

/* --- envd: files and the filesystem service ------------------------------------------------ */

static size_t gzip_bytes(const char *in, size_t n, unsigned char *out, size_t cap)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)n;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    size_t len = cap - zs.avail_out;
    deflateEnd(&zs);
    return len;
}

static void test_mock_e2b_files_upload_download(void **state)
{
    (void)state;
    struct sbx s;
    create("{\"templateID\":\"base\",\"secure\":true}", &s);
    const char multipart[] = "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; "
                             "filename=\"/home/user/dir/a.txt\"\r\nContent-Type: application/"
                             "octet-stream\r\n\r\nhello\r\n--XyZ--\r\n";
    struct rsp r;
    envd(&s, "POST", "/files?path=dir%2Fa.txt", "multipart/form-data; boundary=XyZ", NULL,
         multipart, sizeof multipart - 1, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(
        sp_buf_str(&r.body),
        "[{\"path\":\"/home/user/dir/a.txt\",\"name\":\"a.txt\",\"type\":\"file\"}]");
    rsp_free(&r);
    envd(&s, "GET", "/files?path=%2Fhome%2Fuser%2Fdir%2Fa.txt", NULL, NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(sp_buf_str(&r.body), "hello");
    assert_string_equal(sp_kv_geti(&r.headers, "Content-Type"), "text/plain; charset=utf-8");
    assert_string_equal(sp_kv_geti(&r.headers, "Content-Disposition"), "inline; filename=a.txt");
    rsp_free(&r);
    unsigned char gz[256];
    size_t gzlen = gzip_bytes("zipped text", 11, gz, sizeof gz);
    envd(&s, "POST", "/files?path=z.txt", "application/octet-stream", "Content-Encoding: gzip", gz,
         gzlen, &r);
    assert_int_equal(r.status, 200);
    rsp_free(&r);
    envd(&s, "GET", "/files?path=z.txt", NULL, NULL, NULL, 0, &r);
    assert_string_equal(sp_buf_str(&r.body), "zipped text");
    rsp_free(&r);
    const char bin[] = {'\0', '\1', '\2', 'x'};
    envd(&s, "POST", "/files?path=~%2Fb.bin", "application/octet-stream", NULL, bin, 4, &r);
    assert_int_equal(r.status, 200);
    rsp_free(&r);
    envd(&s, "GET", "/files?path=b.bin&username=user", NULL, NULL, NULL, 0, &r);
    assert_int_equal(r.body.len, 4);
    assert_memory_equal(r.body.data, bin, 4);
    assert_string_equal(sp_kv_geti(&r.headers, "Content-Type"), "application/octet-stream");
    rsp_free(&r);
}

/* Upload and download errors carry envd's {code, message} bodies; a multipart upload without
 * `path` takes each part's filename as its path, and two parts for one path are refused. */
static void test_mock_e2b_files_errors_and_multi_upload(void **state)
{
    (void)state;
    struct sbx s;
    struct rsp r;
    create("{\"templateID\":\"base\"}", &s);
    envd(&s, "POST", "/files?path=dir%2Fa.txt", "application/octet-stream", NULL, "a", 1, &r);
    rsp_free(&r);
    struct {
        const char *method, *path, *ctype, *body;
        long status;
        const char *msg;
    } errs[] = {
        {"GET", "/files?path=nope", NULL, NULL, 404, "path '/home/user/nope' does not exist"},
        {"GET", "/files?path=dir", NULL, NULL, 400, "is a directory"},
        {"GET", "/files?path=a&username=nobody", NULL, NULL, 401, "nobody"},
        {"POST", "/files?path=x", "text/plain", "x", 400, "unsupported content type"},
        {"POST", "/files", "application/octet-stream", "x", 400, "path query parameter"},
    };
    for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++) {
        envd(&s, errs[i].method, errs[i].path, errs[i].ctype, NULL, errs[i].body,
             errs[i].body ? strlen(errs[i].body) : 0, &r);
        assert_api_error(&r, errs[i].status, errs[i].msg);
        rsp_free(&r);
    }
    const char two[] = "--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"m/1\"\r\n"
                       "\r\none\r\n--B\r\nContent-Disposition: form-data; name=\"file\"; "
                       "filename=\"/tmp/2\"\r\n\r\ntwo\r\n--B--\r\n";
    envd(&s, "POST", "/files", "multipart/form-data; boundary=B", NULL, two, sizeof two - 1, &r);
    assert_string_equal(sp_buf_str(&r.body),
                        "[{\"path\":\"/home/user/m/1\",\"name\":\"1\",\"type\":\"file\"},"
                        "{\"path\":\"/tmp/2\",\"name\":\"2\",\"type\":\"file\"}]");
    rsp_free(&r);
    envd(&s, "POST", "/files?path=same", "multipart/form-data; boundary=B", NULL, two,
         sizeof two - 1, &r);
    assert_api_error(&r, 400, "multiple files to the same path");
    rsp_free(&r);
}

/* A Connect unary error: the mapped HTTP status and {"code": name, "message"}. */
static void assert_rpc_error(const struct rsp *r, long status, const char *code)
{
    assert_int_equal(r->status, status);
    cJSON *j = rsp_json(r);
    assert_string_equal(jstr(j, "code"), code);
    assert_non_null(jstr(j, "message"));
    cJSON_Delete(j);
}

static void test_mock_e2b_filesystem_makedir_listdir(void **state)
{
    (void)state;
    struct sbx s;
    create("{\"templateID\":\"base\"}", &s);
    struct rsp r;
    envd(&s, "POST", "/files?path=d%2Fa.txt", "application/octet-stream", NULL, "hello", 5, &r);
    rsp_free(&r);
    envd(&s, "POST", "/files?path=d%2Fempty", "application/octet-stream", NULL, "", 0, &r);
    assert_int_equal(r.status, 200);
    rsp_free(&r);
    rpc(&s, "/filesystem.Filesystem/MakeDir", "{\"path\":\"d/sub\"}", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(sp_buf_str(&r.body),
                        "{\"entry\":{\"name\":\"sub\",\"type\":"
                        "\"FILE_TYPE_DIRECTORY\",\"path\":\"/home/user/d/sub\"}}");
    rsp_free(&r);
    rpc(&s, "/filesystem.Filesystem/MakeDir", "{\"path\":\"d/sub\"}", &r);
    assert_rpc_error(&r, 409, "already_exists");
    rsp_free(&r);
    rpc(&s, "/filesystem.Filesystem/ListDir", "{\"path\":\"/home/user/d\",\"depth\":1}", &r);
    assert_int_equal(r.status, 200);
    cJSON *j = rsp_json(&r);
    cJSON *entries = cJSON_GetObjectItemCaseSensitive(j, "entries");
    assert_int_equal(cJSON_GetArraySize(entries), 3); /* sorted by name, as Go's WalkDir */
    cJSON *a = cJSON_GetArrayItem(entries, 0), *empty = cJSON_GetArrayItem(entries, 1);
    cJSON *sub = cJSON_GetArrayItem(entries, 2);
    assert_string_equal(jstr(a, "name"), "a.txt");
    assert_string_equal(jstr(a, "type"), "FILE_TYPE_FILE");
    assert_string_equal(jstr(a, "path"), "/home/user/d/a.txt");
    assert_string_equal(jstr(a, "size"), "5"); /* int64 as a string */
    assert_string_equal(jstr(a, "owner"), "user");
    assert_string_equal(jstr(a, "permissions"), "-rw-r--r--");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(a, "mode")->valueint, 0644);
    assert_non_null(jstr(a, "modifiedTime"));
    assert_string_equal(jstr(sub, "type"), "FILE_TYPE_DIRECTORY");
    assert_string_equal(jstr(sub, "permissions"), "drwxr-xr-x");
    assert_string_equal(jstr(empty, "name"), "empty");
    assert_null(cJSON_GetObjectItemCaseSensitive(empty, "size")); /* zero values omitted */
    cJSON_Delete(j);
    rsp_free(&r);
}

static void test_mock_e2b_filesystem_stat_remove(void **state)
{
    (void)state;
    struct sbx s;
    create("{\"templateID\":\"base\"}", &s);
    struct rsp r;
    envd(&s, "POST", "/files?path=d%2Fa.txt", "application/octet-stream", NULL, "hello", 5, &r);
    rsp_free(&r);
    rpc(&s, "/filesystem.Filesystem/Stat", "{\"path\":\"~/d/a.txt\"}", &r);
    assert_int_equal(r.status, 200);
    cJSON *j = rsp_json(&r);
    assert_string_equal(jstr(cJSON_GetObjectItemCaseSensitive(j, "entry"), "name"), "a.txt");
    cJSON_Delete(j);
    rsp_free(&r);
    rpc(&s, "/filesystem.Filesystem/ListDir", "{\"path\":\"d/a.txt\"}", &r);
    assert_rpc_error(&r, 400, "invalid_argument");
    rsp_free(&r);
    rpc(&s, "/filesystem.Filesystem/Remove", "{\"path\":\"d\"}", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(sp_buf_str(&r.body), "{}");
    rsp_free(&r);
    rpc(&s, "/filesystem.Filesystem/Stat", "{\"path\":\"d/a.txt\"}", &r);
    assert_rpc_error(&r, 404, "not_found");
    rsp_free(&r);
    rpc(&s, "/filesystem.Filesystem/Remove", "{\"path\":\"d\"}", &r);
    assert_rpc_error(&r, 404, "not_found");
    rsp_free(&r);
    rpc(&s, "/filesystem.Filesystem/ListDir", "[1]", &r);
    assert_rpc_error(&r, 400, "invalid_argument");
    rsp_free(&r);
    envd(&s, "POST", "/filesystem.Filesystem/Stat", "text/plain", NULL, "{}", 2, &r);
    assert_int_equal(r.status, 415);
    rsp_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mock_e2b_start_stream_framing),
        cmocka_unit_test(test_mock_e2b_start_streams_output_as_produced),
        cmocka_unit_test(test_mock_e2b_start_nonzero_exit),
        cmocka_unit_test(test_mock_e2b_start_timeout_kills),
        cmocka_unit_test(test_mock_e2b_start_env_cwd_and_errors),
        cmocka_unit_test(test_mock_e2b_process_list_and_signal),
        cmocka_unit_test(test_mock_e2b_start_keepalive),
        cmocka_unit_test(test_mock_e2b_kill_ends_running_commands),
        cmocka_unit_test(test_mock_e2b_abandoned_stream_kills_command),
        cmocka_unit_test(test_mock_e2b_stop_with_running_command),
        cmocka_unit_test(test_mock_e2b_files_upload_download),
        cmocka_unit_test(test_mock_e2b_files_errors_and_multi_upload),
        cmocka_unit_test(test_mock_e2b_filesystem_makedir_listdir),
        cmocka_unit_test(test_mock_e2b_filesystem_stat_remove),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
