/* Unit tests of the load reports (reports/load_*.c): aggregation of hand-built samples
 * (counts, errors by class with the first message, lag, failed lifecycles), samples.ndjson
 * written and read back unchanged, and report.html rendered in headless Chromium with no
 * console error and data in every plot's SVG (skipped, saying so, where Chromium is absent). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "load_report.h"
#include "tmp_dir.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    return tmp_dir_make(dir, sizeof(dir), "/tmp/sp-load-report-XXXXXX");
}

static int teardown(void **state)
{
    (void)state;
    return tmp_dir_remove(dir);
}

/* 20 lifecycles at 10 ms spacing, each phase 1 ms longer than the one before; lifecycle 7
 * fails its first exec (timeout), lifecycle 9 its create (rate_limited). */
static void build(struct sp_load_samples *ss)
{
    for (uint64_t k = 0; k < 20; k++) {
        int64_t t = (int64_t)k * 10000, lag = (int64_t)k * 100;
        for (int p = 0; p < SP_PHASE__COUNT; p++) {
            struct sp_load_sample s = {.lifecycle = k, .intended_us = t, .phase = (enum sp_phase)p};
            s.start_us = t + lag + p * 1000;
            s.end_us = s.start_us + 1000;
            snprintf(s.sandbox, sizeof(s.sandbox), "sb-%llu", (unsigned long long)k);
            if ((k == 7 && p == SP_PHASE_FIRST_EXEC) || (k == 9 && p == SP_PHASE_API)) {
                s.err = k == 7 ? SP_E_TIMEOUT : SP_E_RATE_LIMITED;
                static char timeout_msg[] = "exec: no answer \"within\" <5 s>";
                static char limited_msg[] = "429 slow down";
                s.message = k == 7 ? timeout_msg : limited_msg;
                s.retries = 2;
            }
            assert_int_equal(sp_load_samples_add(ss, &s), 0);
            if (s.err != SP_E_OK)
                break;
        }
    }
}

static struct sp_load_summary *summarize(const struct sp_load_samples *ss)
{
    struct sp_load_meta m = {.run_id = "r1",
                             .provider = "daytona",
                             .target = "mock",
                             .model = "open",
                             .profile = "staggered",
                             .steps = "all",
                             .rate = 100,
                             .shards = 1,
                             .wall_s = 0.3,
                             .window_s = 0.2,
                             .target_rate = 100};
    struct sp_load_summary *s = sp_load_summary_new();
    assert_non_null(s);
    assert_int_equal(sp_load_summary_add(s, &m, ss), 0);
    const struct sp_load_samples *sets[1] = {ss};
    sp_load_summary_finish(s, sets, 1);
    return s;
}

static void test_load_report_aggregates(void **state)
{
    (void)state;
    struct sp_load_samples ss = {0};
    build(&ss);
    struct sp_load_summary *s = summarize(&ss);
    assert_int_equal(s->started, 20);
    assert_int_equal(s->failed_lifecycles, 2);
    assert_int_equal(s->completed, 18);
    assert_int_equal(s->errors[SP_E_TIMEOUT], 1);
    assert_int_equal(s->errors[SP_E_RATE_LIMITED], 1);
    assert_string_equal(s->first_error[SP_E_RATE_LIMITED], "api: 429 slow down");
    assert_int_equal(s->retries, 4);
    assert_int_equal(s->lat[SP_PHASE_API].total, 19);
    assert_int_equal(s->lat[SP_PHASE_GONE].total, 18);
    /* api of lifecycle k ends at lag + 1 ms after its intended start: k * 100 + 1000 µs. */
    assert_int_equal(sp_hist_percentile(&s->lat[SP_PHASE_API], 100), 1900 + 1000);
    assert_int_equal(s->max_lag_us, 1900);
    assert_int_equal(s->late_starts, 9); /* lags of 1 100 .. 1 900 µs */
    assert_true(s->achieved_rate > 90 && s->achieved_rate < 100);
    sp_load_summary_free(s);
    sp_load_samples_cleanup(&ss);
}

static void test_load_report_samples_round_trip(void **state)
{
    (void)state;
    struct sp_load_samples ss = {0}, back = {0};
    struct sp_error err;
    sp_error_clear(&err);
    build(&ss);
    char path[128];
    snprintf(path, sizeof(path), "%s/samples.ndjson", dir);
    assert_int_equal(sp_load_write_samples(&ss, path, &err), SP_E_OK);
    assert_int_equal(sp_load_read_samples(path, &back, &err), SP_E_OK);
    assert_int_equal(back.n, ss.n);
    for (size_t i = 0; i < ss.n; i++) {
        assert_int_equal(back.v[i].lifecycle, ss.v[i].lifecycle);
        assert_int_equal(back.v[i].end_us, ss.v[i].end_us);
        assert_int_equal(back.v[i].start_us, ss.v[i].start_us);
        assert_int_equal(back.v[i].err, ss.v[i].err);
        assert_int_equal(back.v[i].retries, ss.v[i].retries);
        assert_string_equal(back.v[i].sandbox, ss.v[i].sandbox);
        if (ss.v[i].message)
            assert_string_equal(back.v[i].message, ss.v[i].message);
    }
    FILE *f = fopen(path, "a");
    assert_non_null(f);
    fputs("{\"lifecycle\":1,\"phase\":\"warp\"}\n", f);
    fclose(f);
    sp_load_samples_cleanup(&back);
    assert_int_equal(sp_load_read_samples(path, &back, &err), SP_E_PROTOCOL);
    char where[32];
    snprintf(where, sizeof(where), "line %zu:", ss.n + 1);
    assert_non_null(strstr(err.msg, where));
    sp_load_samples_cleanup(&back);
    sp_load_samples_cleanup(&ss);
}

/* Runs Chromium on file and returns its stderr log and dumped DOM (malloc'd). */
static int chromium(const char *file, char **dom, char **log)
{
    char cmd[1024], domf[128], logf[128];
    snprintf(domf, sizeof(domf), "%s/dom.html", dir);
    snprintf(logf, sizeof(logf), "%s/chromium.log", dir);
    snprintf(cmd, sizeof(cmd),
             "chromium --headless --no-sandbox --disable-gpu --disable-background-networking "
             "--disable-component-update --disable-sync --no-first-run "
             "--user-data-dir='%s/profile' --enable-logging=stderr --v=0 --dump-dom "
             "'file://%s' >'%s' 2>'%s'",
             dir, file, domf, logf);
    int rc = system(cmd);
    const char *paths[2] = {domf, logf};
    char **outs[2] = {dom, log};
    for (int i = 0; i < 2; i++) {
        FILE *f = fopen(paths[i], "rb");
        assert_non_null(f);
        char *buf = calloc(1, 1 << 22);
        assert_non_null(buf);
        size_t n = fread(buf, 1, (1 << 22) - 1, f);
        (void)n;
        fclose(f);
        *outs[i] = buf;
    }
    return rc;
}

static bool have_chromium(void)
{
    return system("command -v chromium >/dev/null 2>&1") == 0;
}

static void test_load_report_html_in_chromium(void **state)
{
    (void)state;
    if (!have_chromium()) {
        print_message("SKIP: chromium not found (sh scripts/setup.sh --test installs it)\n");
        skip();
    }
    struct sp_load_samples ss = {0};
    build(&ss);
    struct sp_load_summary *s = summarize(&ss);
    struct sp_load_verdict v = {
        .expr = "tti.p99<2s", .has_value = true, .value = 5000, .passed = true};
    struct sp_error err;
    char path[128];
    snprintf(path, sizeof(path), "%s/report.html", dir);
    assert_int_equal(sp_load_write_html(s, &v, 1, path, &err), SP_E_OK);
    char *dom = NULL, *log = NULL;
    assert_int_equal(chromium(path, &dom, &log), 0);
    assert_null(strstr(log, ":CONSOLE"));
    /* Each plot, as the browser parsed it, holds data elements. */
    static const char *const plots[] = {"id=\"percentiles\"", "id=\"breakdown\"",
                                        "id=\"timeline\""};
    for (size_t i = 0; i < 3; i++) {
        const char *p = strstr(dom, plots[i]);
        assert_non_null(p);
        const char *end = strstr(p, "</svg>");
        const char *data = strstr(p, "class=\"data\"");
        assert_non_null(end);
        assert_non_null(data);
        assert_true(data < end);
    }
    assert_non_null(strstr(dom, "rate_limited"));
    assert_non_null(strstr(dom, "&lt;5 s&gt;")); /* the message, escaped */
    free(dom);
    free(log);
    /* The check itself sees a console error when there is one. */
    snprintf(path, sizeof(path), "%s/bad.html", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("<html><body><script>console.error('boom')</script></body></html>", f);
    fclose(f);
    assert_int_equal(chromium(path, &dom, &log), 0);
    assert_non_null(strstr(log, ":CONSOLE"));
    free(dom);
    free(log);
    sp_load_summary_free(s);
    sp_load_samples_cleanup(&ss);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_report_aggregates),
        cmocka_unit_test_setup_teardown(test_load_report_samples_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_report_html_in_chromium, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
