/* Tests of `sandprobe check` as a user meets it (issue "check: all vendors in seconds, and
 * output a user can act on"): modes, configuration errors that leave nothing behind, one
 * message for an unreachable provider or a rejected key, option handling, filters, the job
 * pool's ordering, and, on the built binary, a SIGTERM to the whole process group in the
 * middle of a run and a provider that disappears mid-run. Loopback only. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <cmocka.h>
#include <curl/curl.h>

#include "check_signals.h"
#include "cli.h"
#include "mock.h"
#include "requirements.h"

#include "cli_run.h"

static bool dir_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Removes dir/junit.xml, dir/summary.json and dir. */
static void remove_reports(const char *dir)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/junit.xml", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/summary.json", dir);
    unlink(path);
    rmdir(dir);
}

static cJSON *summary_of(const char *dir)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/summary.json", dir);
    return slurp_json(path);
}

/* A daytona mock with key, and the environment pointing --target real at it. */
struct real_mock {
    struct sp_mock *m;
    char key_var[160], url_var[300];
    char *env[4];
};

static void real_mock_start(struct real_mock *rm, const char *mock_key, const char *client_key)
{
    struct sp_mock_config mc = {
        .vendor = "daytona", .key = mock_key, .quiet = true, .has_latency = true};
    struct sp_error err;
    sp_error_clear(&err);
    assert_int_equal(sp_mock_start(&mc, &rm->m, &err), SP_E_OK);
    snprintf(rm->key_var, sizeof(rm->key_var), "DAYTONA_API_KEY=%s", client_key);
    snprintf(rm->url_var, sizeof(rm->url_var), "DAYTONA_API_URL=%s", sp_mock_url(rm->m));
    rm->env[0] = path_var;
    rm->env[1] = rm->key_var;
    rm->env[2] = rm->url_var;
    rm->env[3] = NULL;
}

/* --- modes ----------------------------------------------------------------------------------- */

static void test_check_mode_must_be_the_providers(void **state)
{
    (void)state;
    const char *e2b[] = {"check", "-p", "e2b", "--mode", "toolbox", NULL};
    expect_usage(sp_cmd_check, e2b, "unknown --mode 'toolbox' for e2b (one of: v2, v1)");
    const char *bad[] = {"check", "-p", "daytona", "--mode", "bogus", NULL};
    expect_usage(sp_cmd_check, bad,
                 "unknown --mode 'bogus' for daytona (one of: action-server, toolbox)");
    const char *all[] = {"check", "-p", "all", "--mode", "toolbox", NULL};
    expect_usage(sp_cmd_check, all, "--mode needs one --provider");
}

/* The reports name the mode used: the provider's first mode when none is given. */
static void test_check_reports_name_mode_used(void **state)
{
    (void)state;
    char dir[] = "/tmp/sp-test-check-XXXXXX";
    assert_non_null(mkdtemp(dir));
    const char *argv[] = {"check", "-p", "daytona", "--focus", "^auth\\.valid", "-o", dir, NULL};
    struct run r = run_expect(sp_cmd_check, bare_env, argv, SP_EXIT_PASS);
    assert_non_null(strstr(r.out, "daytona (mock, mode action-server)"));
    assert_null(strstr(r.out, "default"));
    cJSON *root = summary_of(dir);
    cJSON *p = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "providers"), 0);
    assert_string_equal(cJSON_GetObjectItem(p, "mode")->valuestring, "action-server");
    cJSON_Delete(root);
    run_free(&r);
    const char *e2b[] = {"check", "-p", "e2b", "--focus", "^auth\\.valid", "-o", dir, NULL};
    r = run_cmd(sp_cmd_check, bare_env, e2b);
    assert_int_equal(r.code, SP_EXIT_PASS);
    assert_non_null(strstr(r.out, "e2b (mock, mode v2)\n"));
    root = summary_of(dir);
    p = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "providers"), 0);
    assert_string_equal(cJSON_GetObjectItem(p, "mode")->valuestring, "v2");
    cJSON_Delete(root);
    run_free(&r);
    remove_reports(dir);
}

/* --provider all checks every provider in every mode. */
static void test_check_all_covers_every_mode(void **state)
{
    (void)state;
    char dir[] = "/tmp/sp-test-check-XXXXXX";
    assert_non_null(mkdtemp(dir));
    const char *argv[] = {"check", "-p", "all", "--focus", "^auth\\.valid", "-q", "-o", dir, NULL};
    struct run r = run_expect(sp_cmd_check, bare_env, argv, SP_EXIT_PASS);
    /* every mode each registered provider declares */
    const char *names[16];
    size_t n = sp_provider_names(names, 16);
    for (size_t i = 0; i < n && i < 16; i++) {
        const char *const *modes = sp_provider_modes(names[i]);
        for (size_t m = 0; modes && modes[m]; m++) {
            char want[96];
            snprintf(want, sizeof(want), "%s %s: 1 passed", names[i], modes[m]);
            if (strstr(r.out, want) == NULL)
                run_print(&r);
            assert_non_null(strstr(r.out, want));
        }
    }
    run_free(&r);
    remove_reports(dir);
}

/* --- configuration errors --------------------------------------------------------------------- */

/* A configuration error creates no report directory. */
static void test_check_config_error_leaves_no_directory(void **state)
{
    (void)state;
    char parent[] = "/tmp/sp-test-check-XXXXXX";
    assert_non_null(mkdtemp(parent));
    char dir[128];
    snprintf(dir, sizeof(dir), "%s/run", parent);
    const char *mode[] = {"check", "-p", "daytona", "--mode", "bogus", "-o", dir, NULL};
    expect_usage(sp_cmd_check, mode, "unknown --mode");
    assert_false(dir_exists(dir));
    const char *real[] = {"check", "-p", "daytona", "--target", "real", "-o", dir, NULL};
    expect_usage(sp_cmd_check, real, "DAYTONA_API_KEY");
    assert_false(dir_exists(dir));
    const char *lat[] = {"check", "-p", "daytona", "--latency", "create=nope", "-o", dir, NULL};
    expect_usage(sp_cmd_check, lat, "invalid --latency");
    assert_false(dir_exists(dir));
    rmdir(parent);
}

/* Connection refused: one message naming the URL and the class, exit 3, no report. */
static void test_check_unreachable_provider_found_up_front(void **state)
{
    (void)state;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&sa, &len), 0);
    close(s); /* nothing listens there now */
    char url[128];
    snprintf(url, sizeof(url), "DAYTONA_API_URL=http://127.0.0.1:%u/api", ntohs(sa.sin_port));
    static char key[] = "DAYTONA_API_KEY=dtn_whatever";
    char *const env[] = {path_var, key, url, NULL};
    char dir[] = "/tmp/sp-test-check-XXXXXX";
    assert_non_null(mkdtemp(dir));
    rmdir(dir);
    const char *argv[] = {"check", "-p", "daytona", "--target", "real", "-o", dir, NULL};
    struct run r = run_expect(sp_cmd_check, env, argv, SP_EXIT_HARNESS);
    assert_non_null(strstr(r.err, "cannot reach the provider at http://127.0.0.1:"));
    assert_non_null(strstr(r.err, "(DAYTONA_API_URL)"));
    assert_non_null(strstr(r.err, "connect"));
    const char *first = strstr(r.err, "cannot reach");
    assert_null(strstr(first + 1, "cannot reach")); /* once */
    assert_null(strstr(r.out, "FAIL"));
    assert_false(dir_exists(dir));
    run_free(&r);
}

/* A server that accepts connections but never answers: found up front by the preflight's
 * short deadline, exit 3, never a long wait per requirement. */
static void test_check_silent_server_found_up_front(void **state)
{
    (void)state;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(s, 16), 0); /* the kernel accepts; nobody ever answers */
    assert_int_equal(getsockname(s, (struct sockaddr *)&sa, &len), 0);
    char url[128];
    snprintf(url, sizeof(url), "DAYTONA_API_URL=http://127.0.0.1:%u/api", ntohs(sa.sin_port));
    static char key[] = "DAYTONA_API_KEY=dtn_whatever";
    char *const env[] = {path_var, key, url, NULL};
    const char *argv[] = {"check", "-p", "daytona",        "--target",
                          "real",  "-o", "/nonexistent/x", NULL};
    struct run r = run_cmd(sp_cmd_check, env, argv);
    close(s);
    run_check(&r, SP_EXIT_HARNESS);
    assert_non_null(strstr(r.err, "cannot reach the provider"));
    assert_non_null(strstr(r.err, "timeout"));
    run_free(&r);
}

/* A rejected key: one message naming the variable, exit 2. */
static void test_check_rejected_key_names_variable(void **state)
{
    (void)state;
    struct real_mock rm;
    real_mock_start(&rm, "dtn_the_right_key_0123456789", "dtn_a_wrong_key_00000000000");
    const char *argv[] = {"check", "-p", "daytona",        "--target",
                          "real",  "-o", "/nonexistent/x", NULL};
    struct run r = run_cmd(sp_cmd_check, rm.env, argv);
    sp_mock_stop(rm.m);
    run_check(&r, SP_EXIT_USAGE);
    assert_non_null(strstr(r.err, "the provider rejected the credential in DAYTONA_API_KEY"));
    assert_non_null(strstr(r.err, "auth"));
    assert_null(strstr(r.err, "dtn_a_wrong_key")); /* never the key itself */
    assert_null(strstr(r.out, "FAIL"));
    run_free(&r);
}

/* The auth requirements find the credential by the variable the provider reads, whatever
 * its length: a 3-character test key passes. */
static void test_check_short_key_accepted(void **state)
{
    (void)state;
    struct real_mock rm;
    real_mock_start(&rm, "k3y", "k3y");
    char dir[] = "/tmp/sp-test-check-XXXXXX";
    assert_non_null(mkdtemp(dir));
    const char *argv[] = {"check",   "-p",       "daytona", "--target", "real",
                          "--focus", "^auth\\.", "-o",      dir,        NULL};
    struct run r = run_cmd(sp_cmd_check, rm.env, argv);
    sp_mock_stop(rm.m);
    run_check(&r, SP_EXIT_PASS);
    assert_non_null(strstr(r.out, "PASS   auth.missing_key_is_config"));
    assert_null(strstr(r.out, "8 or more"));
    run_free(&r);
    remove_reports(dir);
}

/* --- options -----------------------------------------------------------------------------------
 */

static void test_check_repeated_option_is_usage_error(void **state)
{
    (void)state;
    const char *argv[] = {"check", "--provider", "daytona", "--provider", "e2b", NULL};
    expect_usage(sp_cmd_check, argv, "option '--provider' given twice");
    const char *shrt[] = {"check", "-p", "daytona", "-p", "e2b", NULL};
    expect_usage(sp_cmd_check, shrt, "option '--provider' given twice");
    const char *unknown[] = {"check", "-p", "daytona", "-z", NULL};
    expect_usage(sp_cmd_check, unknown, "unknown option '-z'");
    const char *jobs[] = {"check", "-p", "daytona", "-j", "0", NULL};
    expect_usage(sp_cmd_check, jobs, "invalid --jobs '0'");
}

/* -p, -o, -q work as their long forms; --quiet prints no per-requirement lines. */
static void test_check_short_forms_and_quiet(void **state)
{
    (void)state;
    char dir[] = "/tmp/sp-test-check-XXXXXX";
    assert_non_null(mkdtemp(dir));
    const char *argv[] = {"check", "-p", "e2b", "-q", "-o", dir, "--focus", "^(auth|files)\\.",
                          NULL};
    struct run r = run_expect(sp_cmd_check, bare_env, argv, SP_EXIT_PASS);
    assert_null(strstr(r.out, "  PASS "));
    assert_non_null(strstr(r.out, "e2b v2: "));
    assert_non_null(strstr(r.out, "verdict: PASS"));
    run_free(&r);
    remove_reports(dir);
}

/* Every requirement id the help names exists. */
static void test_check_help_examples_use_real_ids(void **state)
{
    (void)state;
    const char *argv[] = {"check", "--help", NULL};
    struct run r = run_cmd(sp_cmd_check, bare_env, argv);
    assert_int_equal(r.code, SP_EXIT_PASS);
    assert_non_null(strstr(r.out, "-p, --provider NAME"));
    assert_non_null(strstr(r.out, "-q, --quiet"));
    assert_non_null(strstr(r.out, "--latency PHASE=DIST:PARAMS"));
    assert_non_null(strstr(r.out, "130 interrupted"));
    const struct sp_requirement *const *reqs;
    size_t n = sp_requirements(&reqs), named = 0;
    for (const char *p = r.out; (p = strpbrk(p, "abcdefghijklmnopqrstuvwxyz")) != NULL;) {
        size_t len = strspn(p, "abcdefghijklmnopqrstuvwxyz_.");
        const char *dot = memchr(p, '.', len);
        bool id_like = dot && dot > p && dot < p + len - 1 && p[len - 1] != '.';
        for (size_t i = 0; id_like && i < SP_STEP__COUNT; i++) {
            const char *step = sp_step_name((enum sp_step)i);
            if ((size_t)(dot - p) != strlen(step) || strncmp(p, step, (size_t)(dot - p)) != 0)
                continue;
            bool found = false;
            for (size_t k = 0; k < n && !found; k++)
                found = strlen(reqs[k]->id) == len && strncmp(reqs[k]->id, p, len) == 0;
            if (!found)
                print_error("--help names '%.*s', which is no requirement\n", (int)len, p);
            assert_true(found);
            named++;
        }
        p += len;
    }
    assert_true(named >= 1);
    run_free(&r);
}

/* --latency reaches the mock: a start delay shows in the requirement's time (a lower bound,
 * what the option promises). */
static void test_check_latency_option_applies(void **state)
{
    (void)state;
    char dir[] = "/tmp/sp-test-check-XXXXXX";
    assert_non_null(mkdtemp(dir));
    const char *argv[] = {
        "check", "-p", "daytona", "--latency", "start=fixed:300ms", "--focus", "^startup\\.ready",
        "-o",    dir,  NULL};
    struct run r = run_expect(sp_cmd_check, bare_env, argv, SP_EXIT_PASS);
    cJSON *root = summary_of(dir);
    cJSON *p = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "providers"), 0);
    cJSON *res = cJSON_GetArrayItem(cJSON_GetObjectItem(p, "results"), 0);
    assert_true(cJSON_GetObjectItem(res, "seconds")->valuedouble >= 0.3);
    cJSON_Delete(root);
    run_free(&r);
    remove_reports(dir);
}

/* --quiet on a failing run: one line per failure with its provider, id and error class,
 * before the counts; no per-requirement listing, no source location. The failures come
 * from a mock whose sandboxes all go to the error state. */
static void test_check_quiet_lists_failures(void **state)
{
    (void)state;
    struct real_mock rm;
    real_mock_start(&rm, "dtn_quiet_key_0123456789", "dtn_quiet_key_0123456789");
    sp_mock_inject(rm.m, SP_MOCK_FAULT_ERROR_STATE, 100);
    char dir[] = "/tmp/sp-test-check-XXXXXX";
    assert_non_null(mkdtemp(dir));
    const char *argv[] = {"check", "-p", "daytona", "--target",
                          "real",  "-q", "--focus", "^(auth\\.valid|create\\.env|startup\\.ready)",
                          "-o",    dir,  NULL};
    struct run r = run_cmd(sp_cmd_check, rm.env, argv);
    sp_mock_stop(rm.m);
    run_check(&r, SP_EXIT_FAIL);
    assert_true(strncmp(r.out, "FAIL daytona/action-server create.env_reaches_sandbox [", 55) == 0);
    const char *second = strchr(r.out, '\n') + 1;
    assert_true(strncmp(second, "FAIL daytona/action-server startup.ready_within_deadline [", 58) ==
                0);
    assert_true(
        strncmp(strchr(second, '\n') + 1, "daytona action-server: 1 passed, 2 failed", 41) == 0);
    assert_non_null(strstr(r.out, "startup.ready_within_deadline [state]: expected ok from "));
    assert_null(strstr(r.out, "auth.valid_key_accepted"));
    assert_null(strstr(r.out, ".c:"));
    run_free(&r);
    remove_reports(dir);
}

/* --- filters -----------------------------------------------------------------------------------
 */

/* A pattern naming one provider prints nothing for the others, and dropping the leak check
 * is said once. */
static void test_check_focus_on_one_provider(void **state)
{
    (void)state;
    char dir[] = "/tmp/sp-test-check-XXXXXX";
    assert_non_null(mkdtemp(dir));
    const char *argv[] = {"check", "-p", "all", "--focus", "^auth\\..*Provider:e2b",
                          "-o",    dir,  NULL};
    struct run r = run_expect(sp_cmd_check, bare_env, argv, SP_EXIT_PASS);
    assert_null(strstr(r.out, "daytona"));
    assert_non_null(strstr(r.out, "e2b v2: 5 passed"));
    const char *note = strstr(r.err, "leaves out cleanup.nothing_left_behind");
    assert_non_null(note);
    assert_null(strstr(note + 1, "leaves out")); /* one line, not one per provider */
    run_free(&r);
    remove_reports(dir);
}

/* --- the job pool -------------------------------------------------------------------------------
 */

/* Several jobs: results still in table order, the leak check last and passing. */
static void test_check_jobs_keep_table_order(void **state)
{
    (void)state;
    char dir[] = "/tmp/sp-test-check-XXXXXX";
    assert_non_null(mkdtemp(dir));
    const char *argv[] = {"check", "-p", "e2b", "-j", "6", "-q", "-o", dir, NULL};
    struct run r = run_expect(sp_cmd_check, bare_env, argv, SP_EXIT_PASS);
    const struct sp_requirement *const *reqs;
    size_t n = sp_requirements(&reqs);
    cJSON *root = summary_of(dir);
    cJSON *p = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "providers"), 0);
    cJSON *results = cJSON_GetObjectItem(p, "results");
    assert_int_equal((size_t)cJSON_GetArraySize(results), n);
    for (size_t i = 0; i < n; i++) {
        cJSON *res = cJSON_GetArrayItem(results, (int)i);
        assert_string_equal(cJSON_GetObjectItem(res, "id")->valuestring, reqs[i]->id);
    }
    cJSON *last = cJSON_GetArrayItem(results, (int)n - 1);
    assert_string_equal(cJSON_GetObjectItem(last, "id")->valuestring,
                        "cleanup.nothing_left_behind");
    assert_string_equal(cJSON_GetObjectItem(last, "outcome")->valuestring, "pass");
    cJSON_Delete(root);
    run_free(&r);
    remove_reports(dir);
}

static void test_check_signal_duplicate_rule(void **state)
{
    (void)state;
    /* GNU timeout: the same signal from the same process, twice in a row. */
    assert_true(sp_sig_is_duplicate(SIGTERM, 4242, 1000, SIGTERM, 4242, 1001));
    /* The user again: another sender, another signal, no sender (terminal), or later. */
    assert_false(sp_sig_is_duplicate(SIGTERM, 4242, 1000, SIGTERM, 4343, 1001));
    assert_false(sp_sig_is_duplicate(SIGTERM, 4242, 1000, SIGINT, 4242, 1001));
    assert_false(sp_sig_is_duplicate(SIGINT, 0, 1000, SIGINT, 0, 1001));
    assert_false(
        sp_sig_is_duplicate(SIGTERM, 4242, 1000, SIGTERM, 4242, 1001 + SP_SIG_DUPLICATE_MS));
}

/* --- the binary ----------------------------------------------------------------------------------
 */

/* GNU timeout's delivery: SIGTERM to the process, then to its whole group. The run stops,
 * deletes what it created, writes reports marked interrupted and exits 130. The first
 * result line arrives while the run goes on: stdout is line-buffered into a pipe. */
static void test_check_binary_sigterm_to_group(void **state)
{
    (void)state;
    char dir[] = "/tmp/sp-test-check-XXXXXX";
    assert_non_null(mkdtemp(dir));
    const char *argv[] = {bin_path, "check", "-p", "daytona", "-j", "1", "-o", dir, NULL};
    struct child c = spawn_with(argv, bare_env, true);
    char line[512];
    read_line(c.out, line, sizeof(line)); /* the heading */
    assert_non_null(strstr(line, "daytona (mock, mode action-server)"));
    read_line(c.out, line, sizeof(line)); /* a result, long before the run is over */
    assert_non_null(strstr(line, "auth."));
    assert_int_equal(kill(c.pid, SIGTERM), 0);
    assert_int_equal(kill(-c.pid, SIGTERM), 0);
    struct run r = child_expect(c, SP_EXIT_INTERRUPTED);
    assert_non_null(strstr(r.out, "- interrupted"));
    assert_non_null(strstr(r.err, "nothing the run created is left behind"));
    assert_null(strstr(r.err, "exiting without cleaning up"));
    cJSON *root = summary_of(dir);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(root, "interrupted")));
    assert_string_equal(cJSON_GetObjectItem(root, "verdict")->valuestring, "fail");
    cJSON_Delete(root);
    char path[300];
    snprintf(path, sizeof(path), "%s/summary.json", dir);
    char *text = slurp(path);
    assert_non_null(strstr(text, "the run was interrupted"));
    free(text);
    remove_reports(dir);
    run_free(&r);
}

/* A stop while a create waits: the wait ends, the requirement is "not finished", and the
 * sandbox the cut-short create made is found by the run label and deleted. */
static void test_check_binary_stop_cancels_wait(void **state)
{
    (void)state;
    char dir[] = "/tmp/sp-test-check-XXXXXX";
    assert_non_null(mkdtemp(dir));
    const char *argv[] = {bin_path,    "check",
                          "-p",        "e2b",
                          "-j",        "1",
                          "--latency", "start=fixed:5s",
                          "--focus",   "^startup\\.ready",
                          "-o",        dir,
                          NULL};
    struct child c = spawn_with(argv, bare_env, true);
    char line[512];
    do
        read_line(c.err, line, sizeof(line));
    while (strstr(line, "on the mock target") == NULL);
    const struct timespec pace = {0, 500 * 1000000L}; /* pacing only: let the create go out */
    nanosleep(&pace, NULL);
    assert_int_equal(kill(c.pid, SIGINT), 0);
    struct run r = child_expect(c, SP_EXIT_INTERRUPTED);
    assert_non_null(strstr(r.out, "not finished: the run was interrupted"));
    assert_non_null(strstr(r.err, "e2b (v2): deleted 1 sandbox found by the run label"));
    assert_non_null(strstr(r.err, "nothing the run created is left behind"));
    remove_reports(dir);
    run_free(&r);
}

/* The body of GET url with a bearer key, or NULL. */
static size_t collect(char *p, size_t size, size_t n, void *user)
{
    FILE *f = user;
    return fwrite(p, size, n, f);
}

static char *http_get(const char *url, const char *key)
{
    char *body = NULL, auth[300];
    size_t len = 0;
    FILE *mem = open_memstream(&body, &len);
    assert_non_null(mem);
    CURL *h = curl_easy_init();
    assert_non_null(h);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", key);
    struct curl_slist *hdrs = curl_slist_append(NULL, auth);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, mem);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
    CURLcode rc = curl_easy_perform(h);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    fclose(mem);
    if (rc != CURLE_OK) {
        free(body);
        return NULL;
    }
    return body;
}

/* The id of the first started sandbox the Daytona mock lists, into id; false when none. */
static bool started_sandbox(const char *api, const char *key, char *id, size_t len)
{
    char url[400];
    snprintf(url, sizeof(url), "%s/sandbox", api);
    char *body = http_get(url, key);
    cJSON *root = body ? cJSON_Parse(body) : NULL;
    free(body);
    bool found = false;
    cJSON *items = cJSON_IsArray(root) ? root : cJSON_GetObjectItem(root, "items");
    cJSON *it;
    cJSON_ArrayForEach(it, items)
    {
        cJSON *state = cJSON_GetObjectItem(it, "state");
        cJSON *sid = cJSON_GetObjectItem(it, "id");
        if (!found && cJSON_IsString(state) && strcmp(state->valuestring, "started") == 0 &&
            cJSON_IsString(sid)) {
            snprintf(id, len, "%s", sid->valuestring);
            found = true;
        }
    }
    cJSON_Delete(root);
    return found;
}

/* A second signal from the user (another signal) while the first one's cleanup waits on a
 * slow delete: exit 130 at once, naming the sandbox left and the sweep command. */
static void test_check_binary_second_signal_forces_exit(void **state)
{
    (void)state;
    const char *mock_argv[] = {bin_path,      "mock",         "--vendor", "daytona", "--listen",
                               "127.0.0.1:0", "--latency-ms", "3000",     "--quiet", NULL};
    cJSON *ready;
    struct child mock = spawn_mock(mock_argv, &ready);
    char key[256], url[300];
    char *const env[] = {path_var, ready_var(ready, "DAYTONA_API_KEY", key, sizeof(key)),
                         ready_var(ready, "DAYTONA_API_URL", url, sizeof(url)), NULL};
    const char *k = strchr(key, '=') + 1, *api = strchr(url, '=') + 1;
    char dir[] = "/tmp/sp-test-check-XXXXXX";
    assert_non_null(mkdtemp(dir));
    const char *argv[] = {bin_path, "check", "-p", "daytona", "--target",
                          "real",   "-j",    "1",  "--focus", "^exec\\.echo ",
                          "-o",     dir,     NULL};
    struct child c = spawn_with(argv, env, true);
    char id[128] = "";
    for (int i = 0; i < 600 && !started_sandbox(api, k, id, sizeof(id)); i++) {
        const struct timespec pace = {0, 50 * 1000000L}; /* polling, not a time limit */
        nanosleep(&pace, NULL);
    }
    assert_true(id[0] != '\0');
    assert_int_equal(kill(c.pid, SIGINT), 0);
    assert_int_equal(kill(c.pid, SIGTERM), 0);
    struct run r = child_expect(c, SP_EXIT_INTERRUPTED);
    assert_non_null(strstr(r.err, "second SIGTERM: exiting without cleaning up"));
    assert_non_null(strstr(r.err, id));
    assert_non_null(strstr(r.err, "remove what is left with: sandprobe sweep --provider daytona "
                                  "--target real --label sandprobe_run="));
    assert_int_equal(kill(mock.pid, SIGTERM), 0);
    free(read_all(mock.out));
    free(read_all(mock.err));
    wait_exit(mock.pid);
    cJSON_Delete(ready);
    remove_reports(dir);
    run_free(&r);
}

/* A provider killed mid-run: the run stops waiting, says so once, exits 3. */
static void test_check_binary_provider_disappears(void **state)
{
    (void)state;
    const char *mock_argv[] = {bin_path,   "mock",        "--vendor", "daytona",
                               "--listen", "127.0.0.1:0", "--quiet",  NULL};
    cJSON *ready;
    struct child mock = spawn_mock(mock_argv, &ready);
    char key[256], url[256], line[4096];
    char *const env[] = {path_var, ready_var(ready, "DAYTONA_API_KEY", key, sizeof(key)),
                         ready_var(ready, "DAYTONA_API_URL", url, sizeof(url)), NULL};
    cJSON_Delete(ready);
    char dir[] = "/tmp/sp-test-check-XXXXXX";
    assert_non_null(mkdtemp(dir));
    const char *argv[] = {bin_path, "check", "-p", "daytona", "--target", "real", "-o", dir, NULL};
    struct child c = spawn_with(argv, env, false);
    read_line(c.out, line, sizeof(line)); /* the heading */
    read_line(c.out, line, sizeof(line)); /* a first result: the run is under way */
    assert_int_equal(kill(mock.pid, SIGKILL), 0);
    int status = 0;
    assert_int_equal(waitpid(mock.pid, &status, 0), mock.pid);
    close(mock.out);
    close(mock.err);
    struct run r = child_expect(c, SP_EXIT_HARNESS);
    const char *said = strstr(r.err, "stopped answering (3 failed probes in a row)");
    assert_non_null(said);
    assert_null(strstr(said + 1, "stopped answering (")); /* once */
    assert_non_null(strstr(r.out, "daytona action-server: error: stopped answering"));
    assert_non_null(strstr(r.out, "verdict: FAIL"));
    remove_reports(dir);
    run_free(&r);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest in_process[] = {
        cmocka_unit_test(test_check_mode_must_be_the_providers),
        cmocka_unit_test(test_check_reports_name_mode_used),
        cmocka_unit_test(test_check_all_covers_every_mode),
        cmocka_unit_test(test_check_config_error_leaves_no_directory),
        cmocka_unit_test(test_check_unreachable_provider_found_up_front),
        cmocka_unit_test(test_check_silent_server_found_up_front),
        cmocka_unit_test(test_check_rejected_key_names_variable),
        cmocka_unit_test(test_check_short_key_accepted),
        cmocka_unit_test(test_check_repeated_option_is_usage_error),
        cmocka_unit_test(test_check_short_forms_and_quiet),
        cmocka_unit_test(test_check_help_examples_use_real_ids),
        cmocka_unit_test(test_check_latency_option_applies),
        cmocka_unit_test(test_check_quiet_lists_failures),
        cmocka_unit_test(test_check_focus_on_one_provider),
        cmocka_unit_test(test_check_jobs_keep_table_order),
        cmocka_unit_test(test_check_signal_duplicate_rule),
    };
    const struct CMUnitTest binary[] = {
        cmocka_unit_test(test_check_binary_sigterm_to_group),
        cmocka_unit_test(test_check_binary_stop_cancels_wait),
        cmocka_unit_test(test_check_binary_second_signal_forces_exit),
        cmocka_unit_test(test_check_binary_provider_disappears),
    };
    int failed = cmocka_run_group_tests_name("check_in_process", in_process, NULL, NULL);
    failed += cmocka_run_group_tests_name("check_binary", binary, find_binary, NULL);
    curl_global_cleanup();
    return failed;
}
