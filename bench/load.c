/* Load-driver benchmarks: `sandprobe load`'s runner (harness/load_run.c) against an E2B mock
 * with the synthetic backend (no process per sandbox) in a child process, so CPU and memory
 * figures are the harness's own. Each figure is the median of --runs runs (default 3) with
 * the min..max spread, printed next to its target; nothing is asserted.
 *
 *   load [--runs N] [--only throughput|wrk|accuracy|10k]
 *
 * A lifecycle is create -> startup -> exec -> files (write + read back) -> cleanup. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "load.h"

struct child {
    pid_t pid;
    struct sp_kv env;
    int stats_fd; /* the child writes its request count here when stopped */
};

/* Child: a synthetic-backend E2B mock with the given latency specs; on SIGTERM it writes
 * its request count to sfd and exits. */
static void serve(const char *const *latency, int wfd, int sfd, const sigset_t *term)
{
    struct sp_mock_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.vendor = "e2b";
    cfg.has_latency = true; /* zero, but for what the specs set */
    cfg.quiet = true;
    cfg.backend = SP_MOCK_BACKEND_SYNTHETIC;
    cfg.max_connections = 30000;
    struct sp_error err;
    sp_error_clear(&err);
    for (size_t i = 0; latency[i]; i++)
        if (sp_mock_latency_parse(&cfg, latency[i], &err) != SP_E_OK)
            _exit(2);
    struct sp_mock *m = NULL;
    if (sp_mock_start(&cfg, &m, &err) != SP_E_OK) {
        char msg[512];
        fprintf(stderr, "bench: mock: %s\n", sp_error_format(&err, msg, sizeof(msg)));
        _exit(3);
    }
    FILE *w = fdopen(wfd, "w");
    const struct sp_kv *env = sp_mock_env(m);
    for (size_t i = 0; w != NULL && i < env->n; i++)
        fprintf(w, "%s=%s\n", env->items[i].key, env->items[i].val);
    if (w != NULL)
        fclose(w);
    int sig = 0;
    sigwait(term, &sig);
    struct sp_mock_stats st;
    sp_mock_stats(m, &st);
    dprintf(sfd, "%ld\n", st.requests);
    close(sfd);
    sp_mock_stop(m);
    _exit(0);
}

static int child_start(const char *const *latency, struct child *c)
{
    sp_kv_init(&c->env);
    sigset_t term, old;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    int fds[2], sfds[2];
    if (pipe(fds) != 0 || pipe(sfds) != 0)
        return -1;
    sigprocmask(SIG_BLOCK, &term, &old);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        close(sfds[0]);
        serve(latency, fds[1], sfds[1], &term);
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    close(fds[1]);
    close(sfds[1]);
    c->pid = pid;
    c->stats_fd = sfds[0];
    int rc = pid > 0 ? bench_mock_read_env(fds[0], &c->env) : -1;
    close(fds[0]);
    return rc;
}

/* Stops the child; returns the requests it served. */
static long child_stop(struct child *c)
{
    char buf[32] = "";
    kill(c->pid, SIGTERM);
    ssize_t n = read(c->stats_fd, buf, sizeof(buf) - 1);
    buf[n > 0 ? n : 0] = '\0';
    close(c->stats_fd);
    waitpid(c->pid, NULL, 0);
    sp_kv_cleanup(&c->env);
    return strtol(buf, NULL, 10);
}

struct result {
    struct sp_load_summary *sum;
    double cpu_s;
    long requests;
    long peak_kib, base_kib;
};

static unsigned steps_mask = SP_LOAD_STEPS_ALL;

/* One run of sched against a fresh mock with the latency specs. */
static int run_once(const char *const *latency, const struct sp_schedule *sched, struct result *res)
{
    struct child c;
    if (child_start(latency, &c) != 0)
        return -1;
    struct sp_client *client = NULL;
    struct sp_error err;
    sp_error_clear(&err);
    struct sp_client_opts o = {.alive_interval_ms = 5, .http_timeout_ms = 60000};
    if (sp_client_new("e2b", &c.env, &o, &client, &err) != SP_E_OK) {
        child_stop(&c);
        return -1;
    }
    struct sp_load_cfg cfg = {
        .client = client, .sched = *sched, .steps = steps_mask, .run_id = "bench"};
    struct sp_load_outcome out;
    res->base_kib = bench_status_kib("VmRSS:");
    bench_reset_peak_rss();
    double cpu0 = bench_cpu_s();
    enum sp_err rc = sp_load_run(&cfg, &out, &err);
    res->cpu_s = bench_cpu_s() - cpu0;
    res->peak_kib = bench_status_kib("VmHWM:");
    sp_client_free(client);
    res->requests = child_stop(&c);
    struct sp_load_meta meta = {.run_id = "bench",
                                .shards = 1,
                                .wall_s = out.wall_s,
                                .window_s = out.window_s,
                                .target_rate = out.target_rate};
    res->sum = sp_load_summary_new();
    const struct sp_load_samples *sets[1] = {&out.samples};
    if (rc == SP_E_OK && res->sum && sp_load_summary_add(res->sum, &meta, &out.samples) == 0)
        sp_load_summary_finish(res->sum, sets, 1);
    sp_load_samples_cleanup(&out.samples);
    return rc == SP_E_OK && res->sum ? 0 : -1;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* "median (min..max)" of v[0..n). */
static const char *spread(double *v, int n, int decimals, char *out, size_t len)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_d);
    snprintf(out, len, "%.*f (%.*f..%.*f)", decimals, v[n / 2], decimals, v[0], decimals, v[n - 1]);
    return out;
}

#define MAX_RUNS 15

static int runs = 3;
static const char *only; /* --only throughput|wrk|accuracy|10k: one scenario */
static const char *const no_latency[] = {NULL};

static void print_errors(const struct sp_load_summary *sum)
{
    for (int e = 1; e < SP_E__COUNT; e++)
        if (sum->errors[e])
            printf("    errors: %ld %s, first: %s\n", sum->errors[e], sp_err_name((enum sp_err)e),
                   sum->first_error[e]);
}

static void throughput(void)
{
    double rate[MAX_RUNS], cpu_lc[MAX_RUNS], cpu_req[MAX_RUNS];
    long failed = 0;
    int n = 0;
    struct sp_schedule s = {
        .profile = SP_PROFILE_CLOSED, .concurrency = 256, .count = 5000, .shards = 1};
    for (int i = 0; i < runs; i++) {
        struct result r;
        if (run_once(no_latency, &s, &r) != 0)
            continue;
        rate[n] = r.sum->achieved_rate;
        cpu_lc[n] = r.cpu_s * 1e6 / (double)r.sum->started;
        cpu_req[n] = r.requests > 0 ? r.cpu_s * 1e6 / (double)r.requests : 0;
        failed += r.sum->failed_lifecycles;
        print_errors(r.sum);
        n++;
        sp_load_summary_free(r.sum);
    }
    char a[128], b[128], c[128];
    if (n == 0)
        return;
    printf("  closed model, 256 in flight, 5000 lifecycles: %s lifecycles/s (target >= 1000/s), "
           "%ld failed\n",
           spread(rate, n, 0, a, sizeof(a)), failed);
    printf("  harness CPU per lifecycle: %s us; per HTTP request: %s us\n",
           spread(cpu_lc, n, 0, b, sizeof(b)), spread(cpu_req, n, 1, c, sizeof(c)));
}

/* wrk's CPU per request on GET /sandboxes of the same mock (one thread, 64 connections). */
static void wrk_cost(void)
{
    double v[MAX_RUNS];
    int n = 0;
    for (int i = 0; i < runs; i++) {
        struct child c;
        if (child_start(no_latency, &c) != 0)
            return;
        char url[512], hdr[512];
        snprintf(url, sizeof(url), "%s/sandboxes", sp_kv_get(&c.env, "E2B_API_URL"));
        snprintf(hdr, sizeof(hdr), "X-API-Key: %s", sp_kv_get(&c.env, "E2B_API_KEY"));
        int p[2];
        if (pipe(p) != 0)
            return;
        pid_t pid = fork();
        if (pid == 0) {
            dup2(p[1], 1);
            close(p[0]);
            execlp("wrk", "wrk", "-t1", "-c64", "-d3s", "-H", hdr, url, (char *)NULL);
            _exit(127);
        }
        close(p[1]);
        char out[4096] = "";
        size_t got = 0;
        ssize_t k;
        while (got < sizeof(out) - 1 && (k = read(p[0], out + got, sizeof(out) - 1 - got)) > 0)
            got += (size_t)k;
        out[got] = '\0';
        close(p[0]);
        struct rusage before, ru;
        getrusage(RUSAGE_CHILDREN, &before);
        waitpid(pid, NULL, 0);
        getrusage(RUSAGE_CHILDREN, &ru); /* wrk is the only child reaped in between */
        ru.ru_utime.tv_sec -= before.ru_utime.tv_sec;
        ru.ru_utime.tv_usec -= before.ru_utime.tv_usec;
        ru.ru_stime.tv_sec -= before.ru_stime.tv_sec;
        ru.ru_stime.tv_usec -= before.ru_stime.tv_usec;
        child_stop(&c);
        const char *req = strstr(out, " requests in ");
        long count = 0;
        while (req && req > out && req[-1] >= '0' && req[-1] <= '9')
            req--;
        if (req)
            count = strtol(req, NULL, 10);
        double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                     (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
        if (count > 0)
            v[n++] = cpu * 1e6 / (double)count;
    }
    char a[128];
    if (n > 0)
        printf("  wrk -t1 -c64 on GET /sandboxes of the same mock: %s us CPU per request "
               "(target: harness <= 1.5x this)\n",
               spread(v, n, 1, a, sizeof(a)));
    else
        printf("  wrk: SKIP (not found; sh scripts/setup.sh --bench installs it)\n");
}

static void ten_thousand(void)
{
    static const char *const lat[] = {"create=fixed:2s", NULL};
    struct sp_schedule s = {
        .profile = SP_PROFILE_CLOSED, .concurrency = 10000, .count = 10000, .shards = 1};
    struct result r;
    if (run_once(lat, &s, &r) != 0) {
        printf("  10,000 in flight: the run failed\n");
        return;
    }
    printf("  10,000 lifecycles in flight (create held 2 s): %ld started, %ld failed "
           "(target 0); harness RSS %ld -> peak %ld MiB (target < 512 MiB)\n",
           r.sum->started, r.sum->failed_lifecycles, r.base_kib / 1024, r.peak_kib / 1024);
    print_errors(r.sum);
    sp_load_summary_free(r.sum);
}

/* Percentiles p1 and p2 of phase ph (or of the schedule lag, ph < 0) over the same runs, in
 * ms, as "median (min..max)" into o1 and o2. */
static void pcts_over_runs(const char *const *lat,
                           const struct sp_schedule *s,
                           int ph,
                           double p1,
                           double p2,
                           char *o1,
                           char *o2,
                           size_t len)
{
    double v1[MAX_RUNS], v2[MAX_RUNS];
    int n = 0;
    for (int i = 0; i < runs; i++) {
        struct result r;
        if (run_once(lat, s, &r) != 0)
            continue;
        const struct sp_hist *h = ph < 0 ? &r.sum->lag : &r.sum->lat[ph];
        v1[n] = (double)sp_hist_percentile(h, p1) / 1000.0;
        v2[n++] = (double)sp_hist_percentile(h, p2) / 1000.0;
        sp_load_summary_free(r.sum);
    }
    snprintf(o1, len, "n/a");
    snprintf(o2, len, "n/a");
    if (n > 0) {
        spread(v1, n, 2, o1, len);
        spread(v2, n, 2, o2, len);
    }
}

static void accuracy(void)
{
    static const char *const fixed[] = {"create=fixed:20ms", NULL};
    static const char *const stall[] = {"create=table:99%=20ms,99.01%=1s,100%=1s", NULL};
    struct sp_schedule open = {
        .profile = SP_PROFILE_STAGGERED, .rate = 100, .count = 500, .shards = 1};
    char a[128], b[128], c[128], d[128];
    pcts_over_runs(fixed, &open, SP_PHASE_API, 50, 99, a, b, sizeof(a));
    printf("  create fixed at 20 ms, open model 100/s: api p50 %s ms (target: within 0.5 ms "
           "of 20), p99 %s ms\n",
           a, b);
    struct sp_schedule o2 = {
        .profile = SP_PROFILE_STAGGERED, .rate = 200, .count = 2000, .shards = 1};
    struct sp_schedule c2 = {
        .profile = SP_PROFILE_CLOSED, .concurrency = 4, .count = 2000, .shards = 1};
    pcts_over_runs(stall, &o2, SP_PHASE_API, 99, 99.9, a, b, sizeof(a));
    pcts_over_runs(stall, &c2, SP_PHASE_API, 99, 99.9, c, d, sizeof(c));
    printf("  1 s stall in 1 %% of creates, api p99 / p99.9: open model 200/s %s / %s ms; "
           "closed model 4 in flight %s / %s ms\n",
           a, b, c, d);
    struct sp_schedule fast = {
        .profile = SP_PROFILE_STAGGERED, .rate = 1000, .duration_us = 3000000, .shards = 1};
    pcts_over_runs(no_latency, &fast, -1, 99, 100, a, b, sizeof(a));
    printf("  open model 1000 starts/s for 3 s: schedule lag p99 %s ms (target < 1 ms), "
           "max %s ms\n",
           a, b);
}

int main(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--only") == 0)
            only = argv[i + 1];
        if (strcmp(argv[i], "--runs") == 0)
            runs = (int)strtol(argv[i + 1], NULL, 10);
    }
    runs = runs < 1 ? 1 : runs > MAX_RUNS ? MAX_RUNS : runs;
    bench_raise_nofile();
    printf("load driver (harness/load_run.c, one thread) against the E2B mock, synthetic "
           "backend, in a child process; median (min..max) of %d runs\n",
           runs);
    static const struct {
        const char *name;
        void (*fn)(void);
    } scenarios[] = {{"throughput", throughput},
                     {"wrk", wrk_cost},
                     {"accuracy", accuracy},
                     {"10k", ten_thousand}};
    for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
        if (only == NULL || strcmp(only, scenarios[i].name) == 0)
            scenarios[i].fn();
    return 0;
}
