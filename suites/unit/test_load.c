/* Tests of the load driver (harness/schedule.c, threshold.c, load_run.c, cmd_load.c,
 * cmd_report.c): intended start times and shard splits computed exactly, threshold
 * expressions, `sandprobe load` and `sandprobe report` flags and exit codes, runs of a few
 * lifecycles against the built-in mock, shards that merge into the unsharded run, and
 * SIGTERM ending a run with its reports marked interrupted and nothing left behind. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "cli.h"
#include "cli_run.h"
#include "load.h"
#include "load_report.h"
#include "mock.h"
#include "schedule.h"
#include "threshold.h"
#include "tmp_dir.h"

static char dir[64];
static char *const *run_env = bare_env;

/* cli_run.h's run_cmd with this file's environment (set per test), echoing the output under
 * SP_TEST_VERBOSE. */
static struct run load_run(int (*fn)(int, char *const[], const struct sp_cli_io *),
                           const char *const *argv)
{
    struct run r = run_cmd(fn, run_env, argv);
    if (getenv("SP_TEST_VERBOSE"))
        fprintf(stderr, "exit %d\n%s%s", r.code, r.out, r.err);
    return r;
}

/* load_run with the exit code checked as cli_run.h's run_check does. */
static struct run
load_cmd(int (*fn)(int, char *const[], const struct sp_cli_io *), const char *const *argv, int code)
{
    struct run r = load_run(fn, argv);
    run_check(&r, code);
    return r;
}

static int setup(void **state)
{
    (void)state;
    return tmp_dir_make(dir, sizeof(dir), "/tmp/sp-load-XXXXXX");
}

static int teardown(void **state)
{
    (void)state;
    return tmp_dir_remove(dir);
}

/* --- schedule ------------------------------------------------------------------------------ */

static void test_load_schedule_constant_rate(void **state)
{
    (void)state;
    struct sp_schedule s = {
        .profile = SP_PROFILE_STAGGERED, .rate = 10, .duration_us = 1000000, .shards = 1};
    char why[128];
    assert_int_equal(sp_schedule_check(&s, why, sizeof(why)), 0);
    uint64_t k;
    int64_t at;
    for (uint64_t i = 0; i < 10; i++) {
        assert_true(sp_schedule_next(&s, &k, &at));
        assert_int_equal(k, i);
        assert_int_equal(at, (int64_t)i * 100000);
    }
    assert_false(sp_schedule_next(&s, &k, &at));
    assert_int_equal(sp_schedule_planned(&s), 10);
}

/* Three shards of one schedule are disjoint and together are the whole of it. */
static void test_load_schedule_shards_partition(void **state)
{
    (void)state;
    struct sp_schedule whole = {.profile = SP_PROFILE_RAMP,
                                .rate = 5,
                                .ramp_to = 40,
                                .ramp_over_us = 2000000,
                                .count = 53,
                                .shards = 1};
    int64_t seen[53];
    int hits[53] = {0};
    uint64_t k;
    int64_t at;
    for (int i = 0; sp_schedule_next(&whole, &k, &at); i++)
        seen[k] = at;
    for (unsigned sh = 0; sh < 3; sh++) {
        struct sp_schedule s = whole;
        s.next = 0;
        s.shard = sh;
        s.shards = 3;
        while (sp_schedule_next(&s, &k, &at)) {
            assert_int_equal(k % 3, sh);
            assert_int_equal(at, seen[k]);
            hits[k]++;
        }
    }
    for (int i = 0; i < 53; i++)
        assert_int_equal(hits[i], 1);
}

/* Ramp 10/s -> 30/s over 2 s: (10 + 30) / 2 * 2 = 40 arrivals in the ramp, the 40th at 2 s,
 * then 30/s. Burst 5/s: groups of 5 every second. */
static void test_load_schedule_ramp_and_burst(void **state)
{
    (void)state;
    struct sp_schedule r = {.profile = SP_PROFILE_RAMP,
                            .rate = 10,
                            .ramp_to = 30,
                            .ramp_over_us = 2000000,
                            .duration_us = 3000000,
                            .shards = 1};
    assert_int_equal(sp_schedule_at(&r, 40), 2000000);
    assert_int_equal(sp_schedule_at(&r, 43), 2100000);
    assert_int_equal(sp_schedule_at(&r, 10), 732051); /* 10 t + 5 t^2 = 10: t = sqrt(3) - 1 */
    assert_int_equal(sp_schedule_planned(&r), 70);
    struct sp_schedule b = {
        .profile = SP_PROFILE_BURST, .rate = 5, .duration_us = 2000000, .shards = 1};
    assert_int_equal(sp_schedule_at(&b, 4), 0);
    assert_int_equal(sp_schedule_at(&b, 5), 1000000);
    assert_int_equal(sp_schedule_planned(&b), 10);
    struct sp_schedule c = {
        .profile = SP_PROFILE_CLOSED, .concurrency = 5, .count = 7, .shard = 1, .shards = 2};
    assert_int_equal(sp_schedule_slots(&c), 2);
    assert_int_equal(sp_schedule_shard_count(&c), 3);
    c.shard = 0;
    assert_int_equal(sp_schedule_slots(&c), 3);
    assert_int_equal(sp_schedule_shard_count(&c), 4);
}

/* --- thresholds --------------------------------------------------------------------------- */

static void test_load_threshold_parse(void **state)
{
    (void)state;
    struct sp_threshold t;
    char why[300];
    assert_int_equal(sp_threshold_parse("tti.p99<2s", &t, why, sizeof(why)), 0);
    assert_true(t.value == 2e6 && t.op == '<');
    assert_int_equal(sp_threshold_parse("api.p99.9<=300ms", &t, why, sizeof(why)), 0);
    assert_true(t.value == 3e5 && t.op == 'l');
    assert_int_equal(sp_threshold_parse("errors.rate<0.01", &t, why, sizeof(why)), 0);
    assert_int_equal(sp_threshold_parse("rate.achieved>=0.95", &t, why, sizeof(why)), 0);
    assert_true(t.op == 'g');
    static const char *const bad[][2] = {{"tti.p99", "not METRIC<VALUE"},
                                         {"tti.p98<2s", "unknown metric 'tti.p98'"},
                                         {"boot.p50<1s", "unknown metric"},
                                         {"api.p50<300", "not a duration"},
                                         {"errors.rate<lots", "not a number"}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(sp_threshold_parse(bad[i][0], &t, why, sizeof(why)), -1);
        assert_non_null(strstr(why, bad[i][1]));
        assert_non_null(strstr(why, bad[i][0]));
    }
}

static void test_load_threshold_no_samples_fails(void **state)
{
    (void)state;
    struct sp_load_summary *s = sp_load_summary_new();
    struct sp_threshold t;
    struct sp_load_verdict v;
    char why[128];
    assert_int_equal(sp_threshold_parse("files.p99<1h", &t, why, sizeof(why)), 0);
    sp_threshold_eval(&t, s, &v);
    assert_false(v.has_value);
    assert_false(v.passed);
    sp_hist_record(&s->lat[SP_PHASE_FILES], 5000);
    sp_threshold_eval(&t, s, &v);
    assert_true(v.passed);
    assert_int_equal(sp_threshold_parse("files.p99<5ms", &t, why, sizeof(why)), 0);
    sp_threshold_eval(&t, s, &v); /* 5000 is not < 5000 */
    assert_false(v.passed);
    sp_load_summary_free(s);
}

/* --- the commands ---------------------------------------------------------------------------- */

static void expect_load_usage(const char *const *argv, const char *needle)
{
    struct run r = load_run(sp_cmd_load, argv);
    if (r.code != SP_EXIT_USAGE || strstr(r.err, needle) == NULL)
        print_error("exit %d, stderr: %s\n", r.code, r.err);
    assert_int_equal(r.code, SP_EXIT_USAGE);
    assert_non_null(strstr(r.err, needle));
    run_free(&r);
}

static void test_load_cli_usage(void **state)
{
    (void)state;
    const char *const help[] = {"load", "--help", NULL};
    struct run r = load_cmd(sp_cmd_load, help, 0);
    assert_non_null(strstr(r.out, "--threshold EXPR"));
    assert_non_null(strstr(r.out, "(repeatable)"));
    assert_non_null(strstr(r.out, "--shard i/N"));
    run_free(&r);
    const char *const a1[] = {"load",       "--provider",  "daytona",    "--rate",
                              "5",          "--duration",  "1s",         "--threshold",
                              "tti.p99<2s", "--threshold", "tti.p99<<2", NULL};
    expect_load_usage(a1, "tti.p99<<2");
    const char *const a2[] = {"load", "--provider", "daytona", "--rate", "5", NULL};
    expect_load_usage(a2, "--duration or --count");
    const char *const a3[] = {"load",          "--provider", "daytona", "--rate", "5",
                              "--concurrency", "2",          "--count", "3",      NULL};
    expect_load_usage(a3, "exclude each other");
    const char *const a4[] = {"load",   "--provider", "daytona",    "--target", "real",
                              "--rate", "50",         "--duration", "10s",      NULL};
    expect_load_usage(a4, "would create 500 sandboxes, more than --max-sandboxes 10");
    const char *const a5[] = {"load",    "--provider", "daytona", "--rate", "5",
                              "--count", "3",          "--shard", "2/2",    NULL};
    expect_load_usage(a5, "invalid --shard '2/2'");
    const char *const a6[] = {"load",    "--provider", "daytona", "--rate",         "5",
                              "--count", "3",          "--steps", "create,startup", NULL};
    expect_load_usage(a6, "must include create and cleanup");
    const char *const a7[] = {"load", "--provider", "nope", "--rate", "5", "--count", "3", NULL};
    expect_load_usage(a7, "unknown provider 'nope'");
    const char *const a8[] = {"load",   "--provider", "e2b",     "--profile", "ramp",
                              "--rate", "5",          "--count", "3",         NULL};
    expect_load_usage(a8, "ramp needs --ramp-to");
    const char *const a9[] = {"load",    "--provider", "e2b",     "--concurrency", "1",
                              "--count", "4",          "--shard", "1/2",           NULL};
    expect_load_usage(a9, "--concurrency must be at least the number of shards");
    const char *const a10[] = {"load",    "--provider", "e2b",     "--profile", "sequential",
                               "--count", "4",          "--shard", "1/2",       NULL};
    expect_load_usage(a10, "cannot be sharded");
    const char *const r1[] = {"report", "--merge", "x", "y", NULL};
    r = load_cmd(sp_cmd_report, r1, SP_EXIT_USAGE);
    assert_non_null(strstr(r.err, "--out DIR is required with --merge"));
    run_free(&r);
}

static double jnum(const cJSON *j, const char *a, const char *b, const char *c)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(j, a);
    if (b)
        x = cJSON_GetObjectItemCaseSensitive(x, b);
    if (c)
        x = cJSON_GetObjectItemCaseSensitive(x, c);
    assert_true(cJSON_IsNumber(x));
    return x->valuedouble;
}

/* Four lifecycles on the mock: every phase sampled, all four reports written; a threshold
 * no real run can meet crosses (exit 99) and the summary says which. */
static void test_load_run_thresholds_and_reports(void **state)
{
    (void)state;
    char out[128], path[160];
    snprintf(out, sizeof(out), "%s/run", dir);
    const char *const argv[] = {"load",        "--provider",  "daytona",     "--rate",
                                "20",          "--count",     "4",           "--quiet",
                                "--out",       out,           "--threshold", "api.count>=4",
                                "--threshold", "api.p50<1us", NULL};
    struct run r = load_cmd(sp_cmd_load, argv, SP_EXIT_THRESHOLD);
    assert_non_null(strstr(r.out, "threshold api.p50<1us: FAIL"));
    assert_non_null(strstr(r.out, "threshold api.count>=4: pass"));
    run_free(&r);
    const char *const files[] = {"summary.json", "samples.ndjson", "summary.md", "report.html"};
    struct stat st;
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof(path), "%s/%s", out, files[i]);
        assert_int_equal(stat(path, &st), 0);
        assert_true(st.st_size > 0);
    }
    snprintf(path, sizeof(path), "%s/summary.json", out);
    cJSON *j = slurp_json(path);
    assert_string_equal(cJSON_GetObjectItem(j, "schema")->valuestring, "sandprobe.load/1");
    assert_int_equal((int)jnum(j, "run", "started", NULL), 4);
    assert_int_equal((int)jnum(j, "run", "failed", NULL), 0);
    assert_int_equal((int)jnum(j, "run", "leaks", NULL), 0);
    static const char *const phases[] = {"api", "ready", "alive",    "first_exec",
                                         "tti", "files", "teardown", "gone"};
    for (int p = 0; p < 8; p++)
        assert_int_equal((int)jnum(cJSON_GetObjectItem(j, "phases"), phases[p], "us", "count"), 4);
    /* tti from the intended start is never shorter than first_exec's own service time. */
    assert_true(jnum(cJSON_GetObjectItem(j, "phases"), "tti", "us", "p50") >=
                jnum(cJSON_GetObjectItem(j, "phases"), "first_exec", "service_us", "p50"));
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(j, "passed")));
    cJSON_Delete(j);
    /* summary.md: the verdict, a row per phase, the crossed threshold. */
    snprintf(path, sizeof(path), "%s/summary.md", out);
    char *md = slurp(path);
    assert_non_null(strstr(md, "## sandprobe load: daytona (mock) — FAIL"));
    assert_non_null(strstr(md, "| api | 4 |"));
    assert_non_null(strstr(md, "| gone | 4 |"));
    assert_non_null(strstr(md, "| `api.p50<1us` |"));
    assert_non_null(strstr(md, "| **FAIL** |"));
    free(md);
    /* Re-rendered with a threshold on a phase the run did not have samples for: fails. */
    char again[160];
    snprintf(again, sizeof(again), "%s/again", dir);
    const char *const rep[] = {"report", out, "--out", again, "--threshold", "api.count>=4", NULL};
    r = load_cmd(sp_cmd_report, rep, 0);
    run_free(&r);
}

/* --fault on the built-in mock: 5 % of creates answered 503. The run reports the failed
 * lifecycles by error class (provider, as E2B's client maps a 503; rate_limited if a client
 * mapped it so), one error per failed lifecycle, and leaves no sandbox behind (exit 0). The
 * mock's fault draws are seeded, so the count is the same from run to run. */
static void test_load_fault_injection_reports_errors(void **state)
{
    (void)state;
    char out[128], path[160];
    snprintf(out, sizeof(out), "%s/faults", dir);
    const char *const argv[] = {"load",    "--provider", "e2b",
                                "--count", "100",        "--concurrency",
                                "4",       "--steps",    "create,cleanup",
                                "--quiet", "--fault",    "POST /** 503 p=0.05 plane=api",
                                "--out",   out,          NULL};
    struct run r = load_cmd(sp_cmd_load, argv, 0);
    assert_non_null(strstr(r.out, "0 left behind"));
    run_free(&r);
    snprintf(path, sizeof(path), "%s/summary.json", out);
    cJSON *j = slurp_json(path);
    int started = (int)jnum(j, "run", "started", NULL);
    int failed = (int)jnum(j, "run", "failed", NULL);
    assert_int_equal(started, 100);
    assert_true(failed >= 1 && failed <= 20); /* about 5 of 100 */
    assert_int_equal((int)jnum(j, "run", "completed", NULL) + failed, started);
    assert_int_equal((int)jnum(j, "run", "leaks", NULL), 0);
    const cJSON *errs = cJSON_GetObjectItem(j, "errors");
    assert_true(cJSON_IsArray(errs));
    int counted = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, errs)
    {
        const char *cls = cJSON_GetObjectItem(e, "class")->valuestring;
        assert_true(strcmp(cls, "provider") == 0 || strcmp(cls, "rate_limited") == 0);
        assert_non_null(strstr(cJSON_GetObjectItem(e, "first_message")->valuestring, "503"));
        counted += cJSON_GetObjectItem(e, "count")->valueint;
    }
    assert_int_equal(counted, failed);
    cJSON_Delete(j);
    /* A bad spec, or a fault for a real provider, is a usage error naming it. */
    const char *const bad[] = {"load",   "--provider", "e2b",     "--count",        "2",
                               "--rate", "5",          "--fault", "POST /x teapot", NULL};
    expect_load_usage(bad, "invalid --fault");
    const char *const real[] = {"load", "--provider", "e2b", "--target", "real",         "--count",
                                "2",    "--rate",     "5",   "--fault",  "POST /** 503", NULL};
    expect_load_usage(real, "--fault applies to the built-in mock");
}

static void test_load_no_samples_threshold_fails(void **state)
{
    (void)state;
    char out[128];
    snprintf(out, sizeof(out), "%s/nofiles", dir);
    const char *const argv[] = {
        "load",    "--provider", "e2b",         "--concurrency",          "2",
        "--count", "2",          "--steps",     "create,startup,cleanup", "--quiet",
        "--out",   out,          "--threshold", "files.p99<1h",           "--backend",
        "shell",   NULL};
    struct run r = load_cmd(sp_cmd_load, argv, SP_EXIT_THRESHOLD);
    assert_non_null(strstr(r.out, "threshold files.p99<1h: FAIL (no samples)"));
    assert_null(strstr(r.out, "first_exec"));
    run_free(&r);
}

/* A run in which every create fails measured nothing: without any threshold it still fails
 * (exit 1, a line saying so), and summary.json and summary.md carry the same verdict. */
static void test_load_nothing_completed_fails(void **state)
{
    (void)state;
    char out[128], path[160];
    snprintf(out, sizeof(out), "%s/allfail", dir);
    const char *const argv[] = {
        "load",   "--provider", "e2b",     "--count", "3",
        "--rate", "50",         "--quiet", "--fault", "POST /** 503 plane=api",
        "--out",  out,          NULL};
    struct run r = load_cmd(sp_cmd_load, argv, SP_EXIT_FAIL);
    assert_non_null(strstr(r.out, "3 started, 0 completed, 3 failed"));
    assert_non_null(strstr(r.out, "FAIL: no lifecycle completed (3 of 3 failed)"));
    run_free(&r);
    snprintf(path, sizeof(path), "%s/summary.json", out);
    cJSON *j = slurp_json(path);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(j, "passed")));
    cJSON_Delete(j);
    snprintf(path, sizeof(path), "%s/summary.md", out);
    char *md = slurp(path);
    assert_non_null(strstr(md, "— FAIL"));
    free(md);
}

/* Two shards of a seeded run cover exactly the unsharded schedule, and merging them adds
 * histograms: the merged percentiles equal those of all the shards' samples together. */
static void test_load_shards_merge(void **state)
{
    (void)state;
    char whole[128], s0[128], s1[128], merged[128], path[200];
    snprintf(whole, sizeof(whole), "%s/whole", dir);
    snprintf(s0, sizeof(s0), "%s/s0", dir);
    snprintf(s1, sizeof(s1), "%s/s1", dir);
    snprintf(merged, sizeof(merged), "%s/merged", dir);
    const char *outs[3] = {whole, s0, s1};
    const char *shard[3] = {"0/1", "0/2", "1/2"};
    for (int i = 0; i < 3; i++) {
        const char *const argv[] = {"load",  "--provider", "daytona",   "--rate",
                                    "30",    "--count",    "6",         "--seed",
                                    "7",     "--quiet",    "--shard",   shard[i],
                                    "--out", outs[i],      "--latency", "create=fixed:30ms",
                                    NULL};
        struct run r = load_cmd(sp_cmd_load, argv, 0);
        run_free(&r);
    }
    const char *const rep[] = {"report",      "--merge",      s0,  s1, "--out", merged,
                               "--threshold", "api.count>=6", NULL};
    struct run r = load_cmd(sp_cmd_report, rep, 0);
    run_free(&r);
    const char *const twice[] = {"report", "--merge", s0, s0, "--out", merged, NULL};
    r = load_cmd(sp_cmd_report, twice, SP_EXIT_USAGE);
    assert_non_null(strstr(r.err, "cannot merge: shard 0/2 is given twice"));
    run_free(&r);
    const char *const mixed[] = {"report", "--merge", s0, whole, "--out", merged, NULL};
    r = load_cmd(sp_cmd_report, mixed, SP_EXIT_USAGE);
    assert_non_null(strstr(r.err, "cannot merge: directory 2 is daytona shard of 1"));
    run_free(&r);
    struct sp_load_samples w = {0}, m = {0};
    struct sp_error err;
    snprintf(path, sizeof(path), "%s/samples.ndjson", whole);
    assert_int_equal(sp_load_read_samples(path, &w, &err), SP_E_OK);
    snprintf(path, sizeof(path), "%s/samples.ndjson", merged);
    assert_int_equal(sp_load_read_samples(path, &m, &err), SP_E_OK);
    assert_int_equal(w.n, m.n); /* same counts, phase by phase: 6 lifecycles x 8 phases */
    assert_int_equal(m.n, 48);
    for (size_t i = 0; i < w.n; i++) /* --latency create=fixed:30ms reached the mock */
        if (w.v[i].phase == SP_PHASE_API)
            assert_true(w.v[i].end_us - w.v[i].start_us >= 30000);
    int64_t intended_w[6] = {0}, intended_m[6] = {0};
    for (size_t i = 0; i < w.n; i++)
        intended_w[w.v[i].lifecycle] = w.v[i].intended_us;
    for (size_t i = 0; i < m.n; i++)
        intended_m[m.v[i].lifecycle] = m.v[i].intended_us;
    assert_memory_equal(intended_w, intended_m, sizeof(intended_w));
    /* Merged summary vs the histogram of every sample of both shards. */
    snprintf(path, sizeof(path), "%s/summary.json", merged);
    cJSON *j = slurp_json(path);
    cJSON *ph = cJSON_GetObjectItem(j, "phases");
    assert_int_equal((int)jnum(j, "run", "started", NULL), 6);
    assert_int_equal((int)jnum(j, "run", "merged_shards", NULL), 2);
    struct sp_hist *h = malloc(sizeof(*h));
    sp_hist_init(h);
    for (size_t i = 0; i < m.n; i++)
        if (m.v[i].phase == SP_PHASE_TTI)
            sp_hist_record(h, m.v[i].end_us - m.v[i].intended_us);
    assert_int_equal((int64_t)jnum(ph, "tti", "us", "p50"), sp_hist_percentile(h, 50));
    assert_int_equal((int64_t)jnum(ph, "tti", "us", "p99"), sp_hist_percentile(h, 99));
    assert_int_equal((int64_t)jnum(ph, "tti", "us", "max"), h->max);
    free(h);
    cJSON_Delete(j);
    sp_load_samples_cleanup(&w);
    sp_load_samples_cleanup(&m);
}

/* SIGTERM mid-run: scheduling stops, what is in flight is finished and deleted, the
 * reports say interrupted, nothing is left behind, exit 130. */
static void test_load_sigterm_interrupts(void **state)
{
    (void)state;
    char out[128], path[160];
    snprintf(out, sizeof(out), "%s/int", dir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        const char *const argv[] = {"load", "--provider", "daytona", "--rate", "10", "--duration",
                                    "60s",  "--quiet",    "--out",   out,      NULL};
        struct run r = load_run(sp_cmd_load, argv);
        _exit(r.code);
    }
    sleep(1);
    kill(pid, SIGTERM);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), SP_EXIT_INTERRUPTED);
    snprintf(path, sizeof(path), "%s/summary.json", out);
    cJSON *j = slurp_json(path);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "run"), "interrupted")));
    assert_int_equal((int)jnum(j, "run", "leaks", NULL), 0);
    assert_true(jnum(j, "run", "started", NULL) >= 5 && jnum(j, "run", "started", NULL) < 600);
    cJSON_Delete(j);
}

/* A quiet in-process E2B mock (*m) and a client of it that polls every 5 ms, for the runner's
 * own tests; the caller frees both. */
static struct sp_client *e2b_bench(struct sp_mock **m)
{
    struct sp_mock_config mc = {.vendor = "e2b", .quiet = true};
    struct sp_client_opts o = {.alive_interval_ms = 5};
    struct sp_client *c = NULL;
    struct sp_error err;
    sp_error_clear(&err);
    assert_int_equal(sp_mock_start(&mc, m, &err), SP_E_OK);
    assert_int_equal(sp_client_new("e2b", sp_mock_env(*m), &o, &c, &err), SP_E_OK);
    return c;
}

/* sp_load_run of cfg, which must succeed, with its progress written to memory: the progress
 * text (free it) and its length in *len (when len is set). */
static char *run_with_progress(struct sp_load_cfg *cfg, struct sp_load_outcome *out, size_t *len)
{
    char *progress = NULL;
    size_t n = 0;
    struct sp_error err;
    sp_error_clear(&err);
    cfg->progress = open_memstream(&progress, &n);
    assert_non_null(cfg->progress);
    assert_int_equal(sp_load_run(cfg, out, &err), SP_E_OK);
    fclose(cfg->progress);
    cfg->progress = NULL;
    if (len)
        *len = n;
    return progress;
}

/* The runner itself, on a mock: a sandbox carrying the run label that no lifecycle deleted is
 * found by the sweep, counted as a leak and deleted; progress goes out as plain lines. */
static void test_load_sweep_finds_and_deletes_leak(void **state)
{
    (void)state;
    struct sp_mock *m = NULL;
    struct sp_client *c = e2b_bench(&m);
    struct sp_sandbox *left = NULL;
    struct sp_error err;
    sp_error_clear(&err);
    struct sp_create_opts co = {.run_id = "sweeptest"};
    assert_int_equal(sp_sandbox_create(c, &co, &left, &err), SP_E_OK);
    sp_sandbox_free(left);
    struct sp_load_cfg cfg = {
        .client = c,
        .sched = {.profile = SP_PROFILE_STAGGERED, .rate = 10, .count = 3, .shards = 1},
        .steps = SP_LOAD_STEPS_ALL,
        .run_id = "sweeptest",
        .progress_every_s = 0.05,
    };
    struct sp_load_outcome out;
    char *progress = run_with_progress(&cfg, &out, NULL);
    assert_int_equal(out.leaks, 1);
    assert_int_equal(out.samples.n, 3 * SP_PHASE__COUNT);
    assert_false(out.interrupted);
    assert_true(out.target_rate > 9.99 && out.target_rate < 10.01);
    assert_non_null(strstr(progress, "started 3, finished 3, in flight 0"));
    assert_null(strstr(progress, "\r"));
    assert_int_equal(sp_sandbox_attach(c, SP_RUN_LABEL, "sweeptest", &left, &err), SP_E_NOT_FOUND);
    struct sp_mock_stats st;
    sp_mock_stats(m, &st);
    assert_int_equal(st.live, 0);
    free(progress);
    sp_load_samples_cleanup(&out.samples);
    sp_client_free(c);
    sp_mock_stop(m);
}

/* --profile sequential: one lifecycle at a time, a closed model of one; on a terminal the
 * progress line is rewritten in place and ends with a newline. */
static void test_load_sequential_and_tty_progress(void **state)
{
    (void)state;
    char out[128], path[160];
    snprintf(out, sizeof(out), "%s/seq", dir);
    const char *const argv[] = {"load",      "--provider", "e2b",
                                "--profile", "sequential", "--count",
                                "3",         "--steps",    "create,startup,cleanup",
                                "--quiet",   "--out",      out,
                                NULL};
    struct run r = load_cmd(sp_cmd_load, argv, 0);
    run_free(&r);
    snprintf(path, sizeof(path), "%s/samples.ndjson", out);
    struct sp_load_samples ss = {0};
    struct sp_error err;
    assert_int_equal(sp_load_read_samples(path, &ss, &err), SP_E_OK);
    /* One at a time: each create starts after the previous lifecycle's gone. */
    int64_t prev_end = -1;
    for (size_t i = 0; i < ss.n; i++) {
        if (ss.v[i].phase == SP_PHASE_API)
            assert_true(ss.v[i].start_us >= prev_end);
        if (ss.v[i].phase == SP_PHASE_GONE)
            prev_end = ss.v[i].end_us;
    }
    assert_int_equal(ss.n, 3 * 5);
    sp_load_samples_cleanup(&ss);

    struct sp_mock *m = NULL;
    struct sp_client *c = e2b_bench(&m);
    struct sp_load_cfg cfg = {
        .client = c,
        .sched = {.profile = SP_PROFILE_STAGGERED, .rate = 5, .count = 2, .shards = 1},
        .steps = SP_LOAD_STEP_STARTUP,
        .run_id = "ttytest",
        .progress_tty = true,
    };
    struct sp_load_outcome lo;
    size_t plen = 0;
    char *progress = run_with_progress(&cfg, &lo, &plen);
    assert_non_null(strstr(progress, "\r\033[K["));
    assert_non_null(strstr(progress, "started 2, finished 2, in flight 0"));
    assert_int_equal(progress[plen - 1], '\n');
    free(progress);
    sp_load_samples_cleanup(&lo.samples);
    sp_client_free(c);
    sp_mock_stop(m);
}

/* --target real takes the provider's variables from the environment (here pointing at a mock
 * started by the test) and caps the run at --max-sandboxes. */
static void test_load_target_real_reads_environment(void **state)
{
    (void)state;
    struct sp_mock_config mc = {.vendor = "e2b", .quiet = true};
    struct sp_mock *m = NULL;
    struct sp_error err;
    assert_int_equal(sp_mock_start(&mc, &m, &err), SP_E_OK);
    const struct sp_kv *env = sp_mock_env(m);
    static char vars[16][512];
    char *envp[17] = {NULL};
    for (size_t i = 0; i < env->n && i < 16; i++) {
        snprintf(vars[i], sizeof(vars[i]), "%s=%s", env->items[i].key, env->items[i].val);
        envp[i] = vars[i];
    }
    char out[128], path[160];
    snprintf(out, sizeof(out), "%s/real", dir);
    const char *const argv[] = {"load",
                                "--provider",
                                "e2b",
                                "--target",
                                "real",
                                "--rate",
                                "10",
                                "--count",
                                "3",
                                "--steps",
                                "create,startup,cleanup",
                                "--quiet",
                                "--out",
                                out,
                                NULL};
    run_env = bare_env;
    /* no E2B_API_KEY in the environment */
    struct run r = load_cmd(sp_cmd_load, argv, SP_EXIT_USAGE);
    assert_non_null(strstr(r.err, "E2B_API_KEY"));
    run_free(&r);
    run_env = envp;
    r = load_run(sp_cmd_load, argv);
    run_env = bare_env;
    run_check(&r, 0);
    run_free(&r);
    snprintf(path, sizeof(path), "%s/summary.json", out);
    cJSON *j = slurp_json(path);
    cJSON *cfgj = cJSON_GetObjectItem(j, "config");
    assert_string_equal(cJSON_GetObjectItem(cfgj, "target")->valuestring, "real");
    assert_int_equal((int)jnum(j, "config", "max_sandboxes", NULL), 10);
    assert_int_equal((int)jnum(j, "run", "started", NULL), 3);
    cJSON_Delete(j);
    struct sp_mock_stats st;
    sp_mock_stats(m, &st);
    assert_int_equal(st.created, 3);
    assert_int_equal(st.live, 0);
    /* A closed model bounded by duration cannot be sized in advance: it stops at the cap. */
    const char *const capped[] = {"load",
                                  "--provider",
                                  "e2b",
                                  "--target",
                                  "real",
                                  "--concurrency",
                                  "2",
                                  "--duration",
                                  "60s",
                                  "--max-sandboxes",
                                  "3",
                                  "--steps",
                                  "create,startup,cleanup",
                                  "--quiet",
                                  "--out",
                                  out,
                                  NULL};
    run_env = envp;
    r = load_run(sp_cmd_load, capped);
    run_env = bare_env;
    run_check(&r, 0);
    run_free(&r);
    sp_mock_stats(m, &st);
    assert_int_equal(st.created, 6);
    assert_int_equal(st.live, 0);
    sp_mock_stop(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_schedule_constant_rate),
        cmocka_unit_test(test_load_schedule_shards_partition),
        cmocka_unit_test(test_load_schedule_ramp_and_burst),
        cmocka_unit_test(test_load_threshold_parse),
        cmocka_unit_test(test_load_threshold_no_samples_fails),
        cmocka_unit_test(test_load_cli_usage),
        cmocka_unit_test_setup_teardown(test_load_run_thresholds_and_reports, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_no_samples_threshold_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_nothing_completed_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_fault_injection_reports_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_shards_merge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_sigterm_interrupts, setup, teardown),
        cmocka_unit_test(test_load_sweep_finds_and_deletes_leak),
        cmocka_unit_test_setup_teardown(test_load_sequential_and_tty_progress, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_target_real_reads_environment, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
