/* Unit tests of reports/: junit.xml and summary.json written from a hand-built run and read
 * back (XML escaping of markup and control bytes, failure/skip/warning elements, counts,
 * verdict, schema), the console summary, and the UTF-8 hygiene both formats rely on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "cli_run.h"
#include "report.h"

static const struct sp_requirement req_auth = {"auth.valid_key",
                                               SP_STEP_AUTH,
                                               SP_LEVEL_MUST,
                                               "[Conformance]",
                                               0,
                                               0,
                                               "A valid key is accepted.",
                                               NULL,
                                               0};
static const struct sp_requirement req_exit = {"exec.exit_code",
                                               SP_STEP_EXEC,
                                               SP_LEVEL_MUST,
                                               "[Conformance]",
                                               0,
                                               0,
                                               "The exit code of the command is returned.",
                                               NULL,
                                               0};
static const struct sp_requirement req_stderr = {"exec.split_stderr",
                                                 SP_STEP_EXEC,
                                                 SP_LEVEL_SHOULD,
                                                 "[Conformance][Slow]",
                                                 0,
                                                 0,
                                                 "stderr comes back apart from stdout.",
                                                 NULL,
                                                 0};
static const struct sp_requirement req_stat = {"files.stat",
                                               SP_STEP_FILES,
                                               SP_LEVEL_MAY,
                                               "[Conformance]",
                                               0,
                                               0,
                                               "A file can be stat'ed.",
                                               NULL,
                                               0};

/* A message with markup, quotes, control bytes (BEL, ESC, CR), and a byte that is not UTF-8. */
#define NASTY "got <b> & \"q\" 's' \x01\x1b\r\xff end"

struct fixture {
    char dir[64];
    struct sp_req_result results[4];
    struct sp_report_provider providers[2];
    struct sp_report_run run;
};

static void set_result(struct sp_req_result *r,
                       const struct sp_requirement *req,
                       enum sp_req_outcome o,
                       const char *msg,
                       double secs)
{
    memset(r, 0, sizeof(*r));
    r->req = req;
    r->outcome = o;
    r->seconds = secs;
    sp_error_clear(&r->err); /* as the runner leaves it: no HTTP status, no gRPC code */
    snprintf(r->message, sizeof(r->message), "%s", msg);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/sp-test-reports-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    set_result(&f->results[0], &req_auth, SP_REQ_PASS, "", 0.0123456);
    set_result(&f->results[1], &req_exit, SP_REQ_FAIL, NASTY, 1.5);
    f->results[1].err.code = SP_E_TIMEOUT;
    f->results[1].err.http_status = 504;
    snprintf(f->results[1].err.step, sizeof(f->results[1].err.step), "exec");
    snprintf(f->results[1].err.msg, sizeof(f->results[1].err.msg), "deadline <30s> expired");
    set_result(&f->results[2], &req_stderr, SP_REQ_FAIL, "stderr was merged", 0.25);
    set_result(&f->results[3], &req_stat, SP_REQ_SKIP, "needs capability file_stat", 0);
    f->providers[0] = (struct sp_report_provider){
        .name = "daytona", .mode = "action-server", .results = f->results, .n_results = 4};
    f->providers[1] = (struct sp_report_provider){
        .name = "e2b", .mode = "envd", .skipped = "E2B_API_KEY is not set"};
    f->run = (struct sp_report_run){.run_id = "0123456789abcdef",
                                    .started_at = 1700000000,
                                    .duration_s = 2.0004,
                                    .target = "mock",
                                    .level = SP_LEVEL_MUST,
                                    .providers = f->providers,
                                    .n_providers = 2};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char path[128];
    snprintf(path, sizeof(path), "%s/junit.xml", f->dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/summary.json", f->dir);
    unlink(path);
    rmdir(f->dir);
    free(f);
    return 0;
}

/* The text of report `name` in dir (cli_run.h's slurp). */
static char *report_text(const char *dir, const char *name)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return slurp(path);
}

static char *write_junit(struct fixture *f)
{
    char path[128];
    struct sp_error err;
    sp_error_clear(&err);
    snprintf(path, sizeof(path), "%s/junit.xml", f->dir);
    assert_int_equal(sp_report_junit(&f->run, path, &err), SP_E_OK);
    return report_text(f->dir, "junit.xml");
}

static cJSON *write_summary(struct fixture *f)
{
    char path[128];
    struct sp_error err;
    sp_error_clear(&err);
    snprintf(path, sizeof(path), "%s/summary.json", f->dir);
    assert_int_equal(sp_report_summary_json(&f->run, path, &err), SP_E_OK);
    char *text = report_text(f->dir, "summary.json");
    cJSON *root = cJSON_Parse(text);
    free(text);
    assert_non_null(root);
    return root;
}

/* Every byte is a legal XML 1.0 character and the file is valid UTF-8. */
static void assert_xml_chars(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    while (n > 0) {
        unsigned long cp = 0;
        size_t k = sp__utf8_decode(p, n, &cp);
        assert_true(k > 0);
        assert_true(cp >= 0x20 || cp == '\t' || cp == '\n');
        p += k;
        n -= k;
    }
}

static void test_reports_junit_escapes_markup_and_control_bytes(void **state)
{
    char *x = write_junit(*state);
    assert_xml_chars(x);
    assert_non_null(
        strstr(x, "got &lt;b&gt; &amp; &quot;q&quot; &apos;s&apos; \\x01\\x1B&#13;\\xFF end"));
    assert_null(strstr(x, "<b>"));
    assert_non_null(strstr(x, "deadline &lt;30s&gt; expired"));
    free(x);
}

static void test_reports_junit_has_failure_skip_and_warning(void **state)
{
    char *x = write_junit(*state);
    assert_non_null(strstr(x, "<testcase classname=\"sandprobe.daytona.action-server.exec\" "
                              "name=\"exec.exit_code [MUST]\" time=\"1.500\">"));
    assert_non_null(strstr(x, "<failure message=\"got &lt;b&gt;"));
    assert_non_null(strstr(x, "type=\"timeout\">"));
    assert_non_null(strstr(x, "<skipped message=\"needs capability file_stat\"/>"));
    /* The SHOULD failure does not gate at level MUST, yet a CI renderer must show it as not
     * passing: a <failure> of type warning whose message starts with WARN. */
    assert_non_null(strstr(x, "<failure message=\"WARN (SHOULD, not gating at level MUST): "
                              "stderr was merged\" type=\"warning\">"));
    assert_null(strstr(x, "<system-out>"));
    assert_non_null(strstr(x, "<testsuite name=\"daytona (action-server)\" tests=\"4\" "
                              "failures=\"2\" errors=\"0\" skipped=\"1\""));
    assert_non_null(strstr(x, "<property name=\"mode\" value=\"action-server\"/>"));
    assert_non_null(strstr(x, "<property name=\"run_id\" value=\"0123456789abcdef\"/>"));
    /* The provider without credentials: one skipped pseudo test case naming the variable. */
    assert_non_null(strstr(x, "<testsuite name=\"e2b (envd)\" tests=\"1\" failures=\"0\" "
                              "errors=\"0\" skipped=\"1\""));
    assert_non_null(strstr(x, "<skipped message=\"E2B_API_KEY is not set\"/>"));
    assert_non_null(strstr(x, "<testsuites name=\"sandprobe\" tests=\"5\" failures=\"2\" "
                              "errors=\"0\" skipped=\"2\""));
    free(x);
}

static void test_reports_junit_level_should_makes_should_failure_gate(void **state)
{
    struct fixture *f = *state;
    f->run.level = SP_LEVEL_SHOULD;
    char *x = write_junit(f);
    assert_non_null(strstr(x, "<failure message=\"stderr was merged\" type=\"conformance\">"));
    assert_null(strstr(x, "<system-out>"));
    free(x);
}

static void test_reports_summary_fields(void **state)
{
    cJSON *root = write_summary(*state);
    assert_string_equal(cJSON_GetObjectItem(root, "schema")->valuestring, "sandprobe.check/1");
    assert_string_equal(cJSON_GetObjectItem(root, "run_id")->valuestring, "0123456789abcdef");
    assert_string_equal(cJSON_GetObjectItem(root, "started_at")->valuestring,
                        "2023-11-14T22:13:20Z");
    assert_true(cJSON_GetObjectItem(root, "duration_s")->valuedouble == 2.0);
    assert_string_equal(cJSON_GetObjectItem(root, "target")->valuestring, "mock");
    assert_string_equal(cJSON_GetObjectItem(root, "level")->valuestring, "MUST");
    assert_string_equal(cJSON_GetObjectItem(root, "verdict")->valuestring, "fail");
    cJSON *providers = cJSON_GetObjectItem(root, "providers");
    assert_int_equal(cJSON_GetArraySize(providers), 2);
    cJSON *d = cJSON_GetArrayItem(providers, 0);
    assert_string_equal(cJSON_GetObjectItem(d, "name")->valuestring, "daytona");
    assert_string_equal(cJSON_GetObjectItem(d, "mode")->valuestring, "action-server");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(d, "skipped")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(d, "error")));
    cJSON *counts = cJSON_GetObjectItem(d, "counts");
    assert_int_equal(cJSON_GetObjectItem(counts, "pass")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(counts, "fail")->valueint, 2);
    assert_int_equal(cJSON_GetObjectItem(counts, "skip")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(counts, "error")->valueint, 0);
    assert_int_equal(cJSON_GetObjectItem(counts, "warn")->valueint, 1);
    cJSON *e2b = cJSON_GetArrayItem(providers, 1);
    assert_string_equal(cJSON_GetObjectItem(e2b, "mode")->valuestring, "envd");
    assert_string_equal(cJSON_GetObjectItem(e2b, "skipped")->valuestring, "E2B_API_KEY is not set");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(e2b, "results")), 0);
    cJSON_Delete(root);
}

static void test_reports_summary_results(void **state)
{
    cJSON *root = write_summary(*state);
    cJSON *d = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "providers"), 0);
    cJSON *results = cJSON_GetObjectItem(d, "results");
    assert_int_equal(cJSON_GetArraySize(results), 4);
    cJSON *pass = cJSON_GetArrayItem(results, 0);
    assert_string_equal(cJSON_GetObjectItem(pass, "outcome")->valuestring, "pass");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(pass, "error")));
    assert_true(cJSON_GetObjectItem(pass, "seconds")->valuedouble == 0.012);
    cJSON *fail = cJSON_GetArrayItem(results, 1);
    assert_string_equal(cJSON_GetObjectItem(fail, "id")->valuestring, "exec.exit_code");
    assert_string_equal(cJSON_GetObjectItem(fail, "step")->valuestring, "exec");
    assert_string_equal(cJSON_GetObjectItem(fail, "level")->valuestring, "MUST");
    assert_string_equal(cJSON_GetObjectItem(fail, "tags")->valuestring,
                        "[Conformance][Provider:daytona]");
    assert_string_equal(cJSON_GetObjectItem(fail, "outcome")->valuestring, "fail");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(fail, "gating")));
    /* Control bytes survive (JSON can escape them); the non-UTF-8 byte becomes U+FFFD. */
    assert_string_equal(cJSON_GetObjectItem(fail, "message")->valuestring,
                        "got <b> & \"q\" 's' \x01\x1b\r\xEF\xBF\xBD end");
    cJSON *e = cJSON_GetObjectItem(fail, "error");
    assert_string_equal(cJSON_GetObjectItem(e, "class")->valuestring, "timeout");
    assert_int_equal(cJSON_GetObjectItem(e, "http_status")->valueint, 504);
    assert_string_equal(cJSON_GetObjectItem(e, "step")->valuestring, "exec");
    assert_string_equal(cJSON_GetObjectItem(e, "message")->valuestring, "deadline <30s> expired");
    cJSON *warn = cJSON_GetArrayItem(results, 2);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(warn, "gating")));
    assert_string_equal(cJSON_GetObjectItem(warn, "tags")->valuestring,
                        "[Conformance][Slow][Provider:daytona]");
    cJSON *skip = cJSON_GetArrayItem(results, 3);
    assert_string_equal(cJSON_GetObjectItem(skip, "outcome")->valuestring, "skip");
    /* gating only where it means something: failures and errors, not passes or skips. */
    assert_null(cJSON_GetObjectItem(skip, "gating"));
    assert_null(cJSON_GetObjectItem(pass, "gating"));
    assert_string_equal(cJSON_GetObjectItem(skip, "message")->valuestring,
                        "needs capability file_stat");
    cJSON_Delete(root);
}

static void test_reports_verdict_passes_with_only_warnings(void **state)
{
    struct fixture *f = *state;
    f->results[1].outcome = SP_REQ_PASS; /* only the SHOULD failure is left */
    assert_true(sp_report_passed(&f->run));
    cJSON *root = write_summary(f);
    assert_string_equal(cJSON_GetObjectItem(root, "verdict")->valuestring, "pass");
    cJSON_Delete(root);
    char *x = write_junit(f);
    assert_null(strstr(x, "<failure message=\"got"));
    assert_non_null(strstr(x, "<failure message=\"WARN ")); /* still visible, not gating */
    free(x);
    /* ...but never when the run was interrupted, nor when the harness erred. */
    f->run.interrupted = true;
    assert_false(sp_report_passed(&f->run));
    f->run.interrupted = false;
    f->results[0].outcome = SP_REQ_ERROR;
    assert_false(sp_report_passed(&f->run));
    x = write_junit(f);
    assert_non_null(strstr(x, "<error message="));
    free(x);
}

/* A provider the harness could not run (its mock did not start) fails the run, and shows
 * up as an <error>, not as a skip. */
static void test_reports_provider_error_fails_run(void **state)
{
    struct fixture *f = *state;
    f->results[1].outcome = SP_REQ_PASS;
    f->providers[1].skipped = NULL;
    f->providers[1].error = "cannot start the mock: connect: bind failed";
    assert_false(sp_report_passed(&f->run));
    char *x = write_junit(f);
    assert_non_null(strstr(x, "<error message=\"cannot start the mock: connect: bind failed\" "
                              "type=\"internal\"/>"));
    assert_non_null(strstr(x, "<testsuite name=\"e2b (envd)\" tests=\"1\" failures=\"0\" "
                              "errors=\"1\" skipped=\"0\""));
    free(x);
    cJSON *root = write_summary(f);
    cJSON *e2b = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "providers"), 1);
    assert_string_equal(cJSON_GetObjectItem(e2b, "error")->valuestring,
                        "cannot start the mock: connect: bind failed");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(e2b, "skipped")));
    assert_string_equal(cJSON_GetObjectItem(root, "verdict")->valuestring, "fail");
    cJSON_Delete(root);
}

static void test_reports_write_failure_names_path(void **state)
{
    struct fixture *f = *state;
    struct sp_error err;
    sp_error_clear(&err);
    const char *path = "/nonexistent-sandprobe-dir/junit.xml";
    assert_int_equal(sp_report_junit(&f->run, path, &err), SP_E_INTERNAL);
    assert_non_null(strstr(err.msg, path));
    sp_error_clear(&err);
    assert_int_equal(sp_report_summary_json(&f->run, "/nonexistent-sandprobe-dir/s.json", &err),
                     SP_E_INTERNAL);
    assert_non_null(strstr(err.msg, "/nonexistent-sandprobe-dir/s.json"));
}

static char *console_text(struct fixture *f, bool color, bool footer_only)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    assert_non_null(mem);
    if (footer_only)
        sp_report_console_footer(&f->run, mem, color);
    else
        sp_report_console(&f->run, mem, color);
    fclose(mem);
    return text;
}

static void test_reports_console_lines_and_colour(void **state)
{
    struct fixture *f = *state;
    f->run.out_dir = "/tmp/out";
    char *t = console_text(f, false, false);
    assert_non_null(strstr(t, "PASS   auth.valid_key [MUST]"));
    assert_non_null(strstr(t, "FAIL   exec.exit_code [MUST]"));
    assert_non_null(strstr(t, "WARN   exec.split_stderr [SHOULD]"));
    assert_non_null(strstr(t, "SKIP   files.stat [MAY]"));
    assert_non_null(strstr(t, "needs capability file_stat"));
    assert_non_null(strstr(t, "timeout in exec (HTTP 504): deadline <30s> expired"));
    assert_non_null(
        strstr(t, "daytona action-server: 1 passed, 2 failed (1 below level MUST), 1 skipped"));
    assert_non_null(strstr(t, "e2b envd: not run: E2B_API_KEY is not set"));
    assert_non_null(strstr(t, "verdict: FAIL"));
    assert_non_null(strstr(t, "reports: /tmp/out/junit.xml"));
    assert_null(strchr(t, '\033')); /* no colour, and the message's ESC was neutralised */
    free(t);
    t = console_text(f, true, true);
    assert_non_null(strstr(t, "\033[31mFAIL"));
    assert_null(strstr(t, "exec.exit_code")); /* the footer has no per-requirement lines */
    free(t);
}

/* A long reason wraps at spaces and is never cut inside a word; the provider error that the
 * message already carries is not printed a second time; the source location only with
 * verbose. */
static void test_reports_console_wraps_once_and_hides_location(void **state)
{
    struct fixture *f = *state;
    struct sp_req_result *r = &f->results[1];
    snprintf(r->message, sizeof(r->message),
             "expected ok from sp_exec, got timeout in exec (HTTP 504): deadline <30s> expired "
             "while the command supercalifragilisticexpialidocious kept running and running "
             "and the end of this sentence is here");
    snprintf(r->where, sizeof(r->where), "test_exec.c:78");
    char *t = console_text(f, false, false);
    assert_non_null(strstr(t, "supercalifragilisticexpialidocious"));
    assert_non_null(strstr(t, "is here\n")); /* the whole text, the last word included */
    const char *first = strstr(t, "deadline <30s> expired");
    assert_non_null(first);
    assert_null(strstr(first + 1, "deadline <30s> expired")); /* printed once */
    assert_null(strstr(t, "test_exec.c:78"));
    for (const char *line = t; *line; line = strchr(line, '\n') + 1) {
        size_t n = strcspn(line, "\n");
        if (strncmp(line, "         ", 9) == 0) /* a reason line: within 100 columns */
            assert_true(n <= 100);
        if (line[n] == '\0')
            break;
    }
    free(t);
    f->run.verbose = true;
    t = console_text(f, false, false);
    assert_non_null(strstr(t, "at test_exec.c:78"));
    free(t);
}

/* --quiet: one line per failed and warned requirement, with its class, never cut inside a
 * word. */
static void test_reports_console_problems_one_line_each(void **state)
{
    struct fixture *f = *state;
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    assert_non_null(mem);
    sp_report_console_problems(&f->run, mem, false);
    fclose(mem);
    assert_non_null(strstr(text, "FAIL daytona/action-server exec.exit_code [timeout]: got"));
    assert_non_null(strstr(text, "WARN daytona/action-server exec.split_stderr [conformance]: "
                                 "stderr was merged\n"));
    assert_null(strstr(text, "auth.valid_key"));
    assert_null(strstr(text, "files.stat"));
    size_t lines = 0;
    for (const char *p = text; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 2);
    free(text);
}

static void test_reports_utf8_decode(void **state)
{
    (void)state;
    unsigned long cp = 0;
    assert_int_equal(sp__utf8_decode((const unsigned char *)"\xC3\xA9", 2, &cp), 2);
    assert_int_equal(cp, 0xE9);
    assert_int_equal(sp__utf8_decode((const unsigned char *)"\xE2\x82\xAC", 3, &cp), 3);
    assert_int_equal(cp, 0x20AC);
    assert_int_equal(sp__utf8_decode((const unsigned char *)"\xF0\x9D\x84\x9E", 4, &cp), 4);
    assert_int_equal(cp, 0x1D11E);
    assert_int_equal(sp__utf8_decode((const unsigned char *)"\xC0\x80", 2, &cp), 0);
    assert_int_equal(sp__utf8_decode((const unsigned char *)"\xED\xA0\x80", 3, &cp), 0);
    assert_int_equal(sp__utf8_decode((const unsigned char *)"\xF4\x90\x80\x80", 4, &cp), 0);
    assert_int_equal(sp__utf8_decode((const unsigned char *)"\xE2\x82", 2, &cp), 0);
    assert_int_equal(sp__utf8_decode((const unsigned char *)"\x80", 1, &cp), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reports_junit_escapes_markup_and_control_bytes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reports_junit_has_failure_skip_and_warning, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reports_junit_level_should_makes_should_failure_gate,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_reports_summary_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reports_summary_results, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reports_verdict_passes_with_only_warnings, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reports_provider_error_fails_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reports_write_failure_names_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reports_console_lines_and_colour, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reports_console_wraps_once_and_hides_location, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reports_console_problems_one_line_each, setup,
                                        teardown),
        cmocka_unit_test(test_reports_utf8_decode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
