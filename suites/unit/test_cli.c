/* Tests of the sandprobe command line. Argument handling runs the command functions
 * in-process with memory streams and a chosen environment; the program's own behaviour
 * (dispatch, `mock` ready line and signal handling) runs the built binary, found next to
 * this test as build/<variant>/sandprobe. Everything stays on loopback. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <curl/curl.h>

#include "cli.h"
#include "mock.h"
#include "requirements.h"

#include "cli_run.h"

/* No credentials at all: what a CI job without secrets looks like. */

/* --- in-process: check ------------------------------------------------------------------ */

static void test_cli_check_rejects_unknown_flag(void **state)
{
    (void)state;
    const char *argv[] = {"check", "--provider", "daytona", "--frobnicate", NULL};
    expect_usage(sp_cmd_check, argv, "unknown option '--frobnicate'");
}

static void test_cli_check_flag_missing_value(void **state)
{
    (void)state;
    const char *argv[] = {"check", "--provider", "daytona", "--out", NULL};
    expect_usage(sp_cmd_check, argv, "option '--out' needs a value (DIR)");
    const char *argv2[] = {"check", NULL};
    expect_usage(sp_cmd_check, argv2, "--provider is required");
    const char *argv3[] = {"check", "--provider", "daytona", "--quiet=yes", NULL};
    expect_usage(sp_cmd_check, argv3, "option '--quiet' takes no value");
}

static void test_cli_check_bad_regex_named(void **state)
{
    (void)state;
    const char *argv[] = {"check", "--provider", "daytona", "--focus", "exec.(", NULL};
    expect_usage(sp_cmd_check, argv, "invalid --focus regex 'exec.('");
    const char *argv2[] = {"check", "--provider", "daytona", "--skip=[z-a]", NULL};
    expect_usage(sp_cmd_check, argv2, "invalid --skip regex '[z-a]'");
}

static void test_cli_check_bad_values(void **state)
{
    (void)state;
    const char *lvl[] = {"check", "--provider", "daytona", "--level", "sometimes", NULL};
    expect_usage(sp_cmd_check, lvl, "invalid --level 'sometimes'");
    const char *tgt[] = {"check", "--provider", "daytona", "--target", "prod", NULL};
    expect_usage(sp_cmd_check, tgt, "invalid --target 'prod'");
    const char *prov[] = {"check", "--provider", "acme", NULL};
    expect_usage(sp_cmd_check, prov,
                 "unknown provider 'acme' (one of: daytona, e2b, runloop, modal, all)");
    const char *pos[] = {"check", "daytona", NULL};
    expect_usage(sp_cmd_check, pos, "unexpected argument 'daytona'");
    const char *none[] = {"check", "--provider", "daytona", "--focus", "^no-such-req$", NULL};
    expect_usage(sp_cmd_check, none, "select no requirement");
}

static void test_cli_check_real_without_key_names_variable(void **state)
{
    (void)state;
    const char *argv[] = {"check", "--provider", "daytona", "--target", "real", NULL};
    expect_usage(sp_cmd_check, argv, "DAYTONA_API_KEY");
    const char *e2b[] = {"check", "--provider", "e2b", "--target=real", NULL};
    expect_usage(sp_cmd_check, e2b, "E2B_API_KEY");
}

static void test_cli_check_real_all_without_keys_skips_each(void **state)
{
    (void)state;
    const char *argv[] = {"check", "--provider", "all", "--target", "real", NULL};
    struct run r = run_expect(sp_cmd_check, bare_env, argv, SP_EXIT_USAGE);
    assert_non_null(strstr(r.err, "daytona: skipped: "));
    assert_non_null(strstr(r.err, "DAYTONA_API_KEY"));
    assert_non_null(strstr(r.err, "e2b: skipped: "));
    assert_non_null(strstr(r.err, "E2B_API_KEY"));
    assert_non_null(strstr(r.err, "no provider has credentials"));
    run_free(&r);
}

static void test_cli_check_help_lists_every_option(void **state)
{
    (void)state;
    const char *argv[] = {"check", "--help", NULL};
    struct run r = run_expect(sp_cmd_check, bare_env, argv, SP_EXIT_PASS);
    const char *opts[] = {
        "--provider NAME", "--target mock|real",      "--mode MODE", "--out DIR", "--focus RE",
        "--skip RE",       "--level must|should|may", "--quiet"};
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
        assert_non_null(strstr(r.out, opts[i]));
    run_free(&r);
}

/* A real run of the check command against the in-process Daytona mock, limited to the auth
 * requirements: reports are written and read back. */
static void test_cli_check_mock_writes_reports(void **state)
{
    (void)state;
    char dir[] = "/tmp/sp-test-cli-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char out[64];
    snprintf(out, sizeof(out), "%s/run", dir);
    const char *argv[] = {"check", "--provider", "daytona", "--focus", "^auth\\.",
                          "--out", out,          "--quiet", NULL};
    struct run r = run_expect(sp_cmd_check, bare_env, argv, SP_EXIT_PASS);
    assert_non_null(strstr(r.out, "verdict: PASS"));
    char path[128];
    snprintf(path, sizeof(path), "%s/summary.json", out);
    cJSON *root = slurp_json(path);
    assert_string_equal(cJSON_GetObjectItem(root, "schema")->valuestring, "sandprobe.check/1");
    assert_string_equal(cJSON_GetObjectItem(root, "target")->valuestring, "mock");
    assert_string_equal(cJSON_GetObjectItem(root, "verdict")->valuestring, "pass");
    assert_int_equal(strlen(cJSON_GetObjectItem(root, "run_id")->valuestring), 16);
    cJSON *p = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "providers"), 0);
    cJSON *results = cJSON_GetObjectItem(p, "results");
    assert_true(cJSON_GetArraySize(results) > 0);
    cJSON *res;
    cJSON_ArrayForEach(res, results)
    {
        assert_string_equal(cJSON_GetObjectItem(res, "step")->valuestring, "auth");
    }
    cJSON_Delete(root);
    unlink(path);
    snprintf(path, sizeof(path), "%s/junit.xml", out);
    assert_int_equal(unlink(path), 0);
    rmdir(out);
    rmdir(dir);
    run_free(&r);
}

/* Fails the test when the file at dir/name holds needle. */
static void assert_file_lacks(const char *dir, const char *name, const char *needle)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    char *text = slurp(path);
    assert_true(text[0] != '\0');
    assert_null(strstr(text, needle));
    free(text);
    unlink(path);
}

/* The README's promise: a key never appears in the console output or a report, even for
 * the requirements that send it, break it, or have it refused. */
static void test_cli_check_real_never_prints_the_key(void **state)
{
    (void)state;
    static const char KEY[] = "dtn_0123456789abcdef0123456789abcdef";
    struct sp_mock_config mc = {.vendor = "daytona",
                                .key = KEY,
                                .quiet = true,
                                .has_latency = true,
                                .latency = {.create_ms = 20}};
    struct sp_mock *m = NULL;
    struct sp_error err;
    assert_int_equal(sp_mock_start(&mc, &m, &err), SP_E_OK);
    char key_var[128], url_var[256];
    snprintf(key_var, sizeof(key_var), "DAYTONA_API_KEY=%s", KEY);
    snprintf(url_var, sizeof(url_var), "DAYTONA_API_URL=%s", sp_mock_url(m));
    char *const env[] = {path_var, key_var, url_var, NULL};
    char dir[] = "/tmp/sp-test-cli-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char out[64];
    snprintf(out, sizeof(out), "%s/run", dir);
    const char *argv[] = {
        "check", "--provider", "daytona", "--target", "real", "--focus", "^(auth|files\\.missing)",
        "--out", out,          NULL};
    struct run r = run_cmd(sp_cmd_check, env, argv);
    sp_mock_stop(m);
    run_check(&r, SP_EXIT_PASS);
    /* the key-handling requirements and one with a sandbox and a provider error ran */
    assert_non_null(strstr(r.out, "auth.errors_never_echo_key"));
    assert_non_null(strstr(r.out, "files.missing_not_found"));
    assert_null(strstr(r.out, KEY));
    assert_null(strstr(r.err, KEY));
    assert_file_lacks(out, "junit.xml", KEY);
    assert_file_lacks(out, "summary.json", KEY);
    rmdir(out);
    rmdir(dir);
    run_free(&r);
}

/* --- in-process: mock and list ---------------------------------------------------------- */

static void test_cli_mock_rejects_bad_flags(void **state)
{
    (void)state;
    const char *argv[] = {"mock", "--vendor", "daytona", "--port", "80", NULL};
    expect_usage(sp_cmd_mock, argv, "unknown option '--port'");
    const char *listen[] = {"mock", "--listen", "127.0.0.1", NULL};
    expect_usage(sp_cmd_mock, listen, "invalid --listen '127.0.0.1'");
    const char *vendor[] = {"mock", "--vendor", "acme", NULL};
    expect_usage(sp_cmd_mock, vendor, "unknown vendor 'acme'");
    const char *seed[] = {"mock", "--seed", "-4", NULL};
    expect_usage(sp_cmd_mock, seed, "invalid --seed '-4'");
    const char *range[] = {"mock", "--vendor", "all", "--listen", "127.0.0.1:65535", NULL};
    expect_usage(sp_cmd_mock, range, "exceeds 65535");
    const char *backend[] = {"mock", "--backend", "docker", NULL};
    expect_usage(sp_cmd_mock, backend, "unknown --backend 'docker' (shell or synthetic)");
    /* Every --latency is checked, not only the last one given. */
    const char *lat[] = {"mock",
                         "--latency",
                         "create=fixed:1ms",
                         "--latency=exec=fixed:5",
                         "--latency",
                         "start=fixed:1ms",
                         NULL};
    expect_usage(sp_cmd_mock, lat, "latency spec 'exec=fixed:5': a time needs a unit");
    const char *phase[] = {"mock", "--latency", "boot=fixed:1ms", NULL};
    expect_usage(sp_cmd_mock, phase, "unknown phase (create, start, alive, exec, delete)");
    /* Every --fault is checked before any mock starts, and the bad one is named. */
    const char *fault[] = {"mock", "--fault", "POST /sandbox 503 p=0.1", "--fault=GET /x 507",
                           NULL};
    expect_usage(sp_cmd_mock, fault, "fault 'GET /x 507': unknown action");
    const char *fopt[] = {"mock", "--fault", "sandbox vanish after=3", NULL};
    expect_usage(sp_cmd_mock, fopt, "fault 'sandbox vanish after=3': a time needs");
}

static void test_cli_list_shows_every_requirement(void **state)
{
    (void)state;
    const char *argv[] = {"list", NULL};
    struct run r = run_expect(sp_cmd_list, bare_env, argv, SP_EXIT_PASS);
    const struct sp_requirement *const *reqs = NULL;
    size_t n = sp_requirements(&reqs);
    assert_true(n > 0);
    for (size_t i = 0; i < n; i++) {
        char line[256];
        snprintf(line, sizeof(line), "%s [%s] ", reqs[i]->id, sp_level_name(reqs[i]->level));
        assert_non_null(strstr(r.out, line));
        assert_non_null(strstr(r.out, reqs[i]->sentence));
    }
    run_free(&r);
    const char *bad[] = {"list", "--provider", "acme", NULL};
    expect_usage(sp_cmd_list, bad, "unknown provider 'acme'");
}

static void test_cli_list_provider_says_what_applies(void **state)
{
    (void)state;
    const char *argv[] = {"list", "--provider", "e2b", NULL};
    struct run r = run_expect(sp_cmd_list, bare_env, argv, SP_EXIT_PASS);
    assert_non_null(strstr(r.out, "[Provider:e2b]"));
    assert_non_null(strstr(r.out, "applies to e2b: yes"));
    run_free(&r);
}

/* --- the built binary ---------------------------------------------------------------------- */

static void test_cli_binary_dispatch(void **state)
{
    (void)state;
    const char *unknown[] = {bin_path, "frobnicate", NULL};
    struct run r = child_expect(spawn(unknown), SP_EXIT_USAGE);
    assert_non_null(strstr(r.err, "unknown command 'frobnicate'"));
    assert_non_null(strstr(r.err, "check"));
    assert_non_null(strstr(r.err, "mock"));
    assert_non_null(strstr(r.err, "list"));
    run_free(&r);
    const char *version[] = {bin_path, "--version", NULL};
    r = child_expect(spawn(version), SP_EXIT_PASS);
    assert_non_null(strstr(r.out, "sandprobe " SP_VERSION));
    run_free(&r);
}

static size_t discard(char *p, size_t size, size_t n, void *user)
{
    (void)p;
    (void)user;
    return size * n;
}

struct reply {
    char text[8192];
    size_t len;
};

static size_t keep(char *p, size_t size, size_t n, void *user)
{
    struct reply *r = user;
    size_t len = size * n, room = sizeof(r->text) - 1 - r->len;
    memcpy(r->text + r->len, p, len < room ? len : room);
    r->len += len < room ? len : room;
    r->text[r->len] = '\0';
    return len;
}

/* METHOD <url><path> with the mock's Bearer key (and a JSON body when given); returns the
 * HTTP status, the body in *out when out is not NULL. */
static long call_mock(const char *url,
                      const char *key,
                      const char *method,
                      const char *path,
                      const char *body,
                      struct reply *out)
{
    char target[512], auth[512];
    snprintf(target, sizeof(target), "%s%s", url, path);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", key);
    CURL *h = curl_easy_init();
    assert_non_null(h);
    struct curl_slist *hdrs = curl_slist_append(NULL, auth);
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_URL, target);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (body)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    if (out) {
        out->len = 0;
        out->text[0] = '\0';
    }
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, out ? keep : discard);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    long status = 0;
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    return status;
}

/* GET <url>/sandbox with the mock's key; returns the HTTP status. */
static long get_sandboxes(const char *url, const char *key)
{
    return call_mock(url, key, "GET", "/sandbox", NULL, NULL);
}

static void test_cli_binary_mock_ready_line_and_sigterm(void **state)
{
    (void)state;
    const char *argv[] = {bin_path,   "mock",        "--vendor", "daytona",
                          "--listen", "127.0.0.1:0", "--quiet",  NULL};
    cJSON *ready;
    struct child c = spawn_mock(argv, &ready);
    assert_string_equal(cJSON_GetObjectItem(ready, "vendor")->valuestring, "daytona");
    const char *url = cJSON_GetObjectItem(ready, "url")->valuestring;
    assert_true(strncmp(url, "http://127.0.0.1:", 17) == 0);
    cJSON *env = cJSON_GetObjectItem(ready, "env");
    assert_true(cJSON_IsObject(env));
    cJSON *key = cJSON_GetObjectItem(env, "DAYTONA_API_KEY");
    assert_true(cJSON_IsString(key));
    assert_int_equal(get_sandboxes(url, key->valuestring), 200);
    assert_int_equal(kill(c.pid, SIGTERM), 0);
    struct run r = child_expect(c, SP_EXIT_PASS);
    assert_string_equal(r.out, ""); /* exactly one line for one vendor */
    run_free(&r);
    cJSON_Delete(ready);
}

/* Every --fault arms its fault as the mock starts: a delay and a dribble on the list (both
 * strike it, the delay first), a server crash on the next sandbox; the admin endpoint counts
 * one injection of each kind. */
static void test_cli_binary_mock_fault_flags_armed(void **state)
{
    (void)state;
    const char *argv[] = {bin_path,
                          "mock",
                          "--vendor",
                          "daytona",
                          "--listen",
                          "127.0.0.1:0",
                          "--quiet",
                          "--fault",
                          "GET /sandbox delay dist=fixed:200ms count=1",
                          "--fault=GET /sandbox dribble rate=20000 count=1",
                          "--fault",
                          "sandbox server-crash after=1s count=1",
                          NULL};
    cJSON *ready;
    struct child c = spawn_mock(argv, &ready);
    const char *url = cJSON_GetObjectItem(ready, "url")->valuestring;
    const char *key =
        cJSON_GetObjectItem(cJSON_GetObjectItem(ready, "env"), "DAYTONA_API_KEY")->valuestring;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(get_sandboxes(url, key), 200);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 >= 200);
    assert_int_equal(call_mock(url, key, "POST", "/sandbox", "{}", NULL), 200);
    struct reply r;
    assert_int_equal(call_mock(url, key, "GET", "/_sandprobe/faults", NULL, &r), 200);
    cJSON *j = cJSON_Parse(r.text);
    assert_non_null(j);
    const cJSON *n = cJSON_GetObjectItem(j, "injected");
    static const char *const KINDS[] = {"delay", "dribble", "sandbox server-crash"};
    for (size_t i = 0; i < 3; i++) {
        const cJSON *k = cJSON_GetObjectItem(n, KINDS[i]);
        if (!cJSON_IsNumber(k) || k->valueint != 1)
            fail_msg("expected one %s injected, got %s", KINDS[i], r.text);
    }
    cJSON_Delete(j);
    assert_int_equal(kill(c.pid, SIGTERM), 0);
    struct run done = child_expect(c, SP_EXIT_PASS);
    run_free(&done);
    cJSON_Delete(ready);
}

/* SO_REUSEADDR as the mock's listeners set it: a port some other test left in TIME_WAIT
 * (common on a busy machine) is free for them, so it counts as free here too. */
static int probe_socket(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    return fd;
}

/* Binds n consecutive loopback ports from base (all probes closed again); true when all were
 * free. */
static bool port_run_free(unsigned base, unsigned n)
{
    int fds[8], nfd = 0;
    bool all_free = n <= 8 && base + n - 1 <= 65535;
    for (unsigned i = 0; all_free && i < n; i++) {
        struct sockaddr_in sa = {.sin_family = AF_INET,
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                                 .sin_port = htons((uint16_t)(base + i))};
        fds[nfd] = probe_socket();
        all_free = bind(fds[nfd++], (struct sockaddr *)&sa, sizeof(sa)) == 0;
    }
    for (int i = 0; i < nfd; i++)
        close(fds[i]);
    return all_free;
}

/* A loopback port that is free together with the n - 1 after it, for `mock --vendor all`.
 * Taken below the kernel's ephemeral range: inside it, a busy machine's outgoing connections
 * (other tests, load runs) hold the neighbours of any port bind(0) hands out. */
static unsigned free_port_run(unsigned n)
{
    unsigned lo = 32768, hi = 60999;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (f != NULL) {
        if (fscanf(f, "%u %u", &lo, &hi) != 2)
            lo = 32768;
        fclose(f);
    }
    unsigned floor_port = 10000, span = lo > floor_port + 64 ? lo - floor_port - 16 : 0;
    if (span == 0 && hi < 65535 - 64) /* an ephemeral range starting low: take above it */
        floor_port = hi + 1, span = 65535 - hi - 16;
    srand((unsigned)getpid());
    for (int attempt = 0; span > 0 && attempt < 200; attempt++) {
        unsigned base = floor_port + (unsigned)rand() % span;
        if (port_run_free(base, n))
            return base;
    }
    fail_msg("no %u consecutive free loopback ports from %u (ephemeral range %u-%u)", n, floor_port,
             lo, hi);
    return 0;
}

/* `mock --vendor all` with a fixed port: one ready line per vendor, vendor i on PORT+i, each
 * env holding the variables its SDK reads. */
static void test_cli_binary_mock_all_consecutive_ports(void **state)
{
    (void)state;
    static const char *const want[][4] = {
        {"daytona", "DAYTONA_API_KEY", "DAYTONA_API_URL", NULL},
        {"e2b", "E2B_API_KEY", "E2B_API_URL", "E2B_SANDBOX_URL"},
        {"runloop", "RUNLOOP_API_KEY", "RUNLOOP_BASE_URL", "RUNLOOP_TUNNEL_DOMAIN"},
        {"modal", "MODAL_TOKEN_ID", "MODAL_TOKEN_SECRET", "MODAL_SERVER_URL"},
    };
    const unsigned n_vendors = sizeof(want) / sizeof(want[0]);
    const char *names[8];
    assert_int_equal(sp_mock_vendor_names(names, 8), n_vendors); /* every vendor is listed */
    unsigned port = free_port_run(n_vendors);
    char listen[32];
    snprintf(listen, sizeof(listen), "127.0.0.1:%u", port);
    const char *argv[] = {bin_path, "mock", "--vendor", "all", "--listen", listen, "--quiet", NULL};
    struct child c = spawn(argv);
    for (unsigned i = 0; i < n_vendors; i++) {
        char line[4096], origin[64];
        read_line(c.out, line, sizeof(line));
        cJSON *ready = cJSON_Parse(line);
        assert_non_null(ready);
        assert_string_equal(cJSON_GetObjectItem(ready, "vendor")->valuestring, want[i][0]);
        snprintf(origin, sizeof(origin), "http://127.0.0.1:%u", port + i);
        const char *url = cJSON_GetObjectItem(ready, "url")->valuestring;
        assert_true(strncmp(url, origin, strlen(origin)) == 0);
        cJSON *env = cJSON_GetObjectItem(ready, "env");
        for (int k = 1; k < 4 && want[i][k] != NULL; k++)
            assert_true(cJSON_IsString(cJSON_GetObjectItem(env, want[i][k])));
        cJSON_Delete(ready);
    }
    assert_int_equal(kill(c.pid, SIGTERM), 0);
    struct run r = child_expect(c, SP_EXIT_PASS);
    assert_string_equal(r.out, "");
    run_free(&r);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest in_process[] = {
        cmocka_unit_test(test_cli_check_rejects_unknown_flag),
        cmocka_unit_test(test_cli_check_flag_missing_value),
        cmocka_unit_test(test_cli_check_bad_regex_named),
        cmocka_unit_test(test_cli_check_bad_values),
        cmocka_unit_test(test_cli_check_real_without_key_names_variable),
        cmocka_unit_test(test_cli_check_real_all_without_keys_skips_each),
        cmocka_unit_test(test_cli_check_help_lists_every_option),
        cmocka_unit_test(test_cli_check_mock_writes_reports),
        cmocka_unit_test(test_cli_check_real_never_prints_the_key),
        cmocka_unit_test(test_cli_mock_rejects_bad_flags),
        cmocka_unit_test(test_cli_list_shows_every_requirement),
        cmocka_unit_test(test_cli_list_provider_says_what_applies),
    };
    const struct CMUnitTest binary[] = {
        cmocka_unit_test(test_cli_binary_dispatch),
        cmocka_unit_test(test_cli_binary_mock_ready_line_and_sigterm),
        cmocka_unit_test(test_cli_binary_mock_fault_flags_armed),
        cmocka_unit_test(test_cli_binary_mock_all_consecutive_ports),
    };
    int failed = cmocka_run_group_tests_name("cli_in_process", in_process, NULL, NULL);
    failed += cmocka_run_group_tests_name("cli_binary", binary, find_binary, NULL);
    curl_global_cleanup();
    return failed;
}
