/* How many sandbox lifecycles the event driver pushes through one thread, what each costs the
 * harness in CPU, and what one in-flight lifecycle costs in memory.
 *
 *   lifecycles [--count N] [--concurrency K] [--inflight M] [--provider daytona]
 *
 * A lifecycle is create -> startup -> exec "echo" -> delete, against the provider's mock
 * with a zero-latency model (SP_BENCH_BACKEND=synthetic: the synthetic sandbox backend),
 * running in a child process (bench.h) so the CPU and RSS figures
 * are the harness's own. Memory: M lifecycles submitted at once -> (peak RSS - RSS before) / M,
 * the memory per in-flight lifecycle (target < 64 KiB). Throughput: N lifecycles with K in
 * flight -> lifecycles/s and CPU per lifecycle (the mock's CPU is shown beside it).
 * Figures are printed; nothing is asserted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "provider.h"

struct bench;

struct lifecycle {
    struct bench *b;
    struct sp_sandbox *sb;
    struct sp_op op[4]; /* create, startup, exec, delete: each stays alive until its callback */
    struct sp_exec x;
    bool failed; /* a step of this lifecycle failed */
};

struct bench {
    struct sp_loop *loop;
    struct sp_client *client;
    struct lifecycle *slots;
    long total;   /* lifecycles to run */
    long started; /* lifecycles begun */
    long done;
    long failed;
    long errors[SP_E__COUNT];
    char first_error[SP_E__COUNT][320]; /* the first message of each class */
};

static void lifecycle_start(struct lifecycle *l);

static void note_error(struct lifecycle *l, const struct sp_op *op, enum sp_err rc)
{
    struct bench *b = l->b;
    enum sp_err cls = rc < SP_E__COUNT ? rc : SP_E_INTERNAL;
    l->failed = true;
    b->errors[cls]++;
    if (b->first_error[cls][0] == '\0')
        sp_error_format(&op->err, b->first_error[cls], sizeof(b->first_error[cls]));
}

/* Ends a lifecycle and starts the next one in the same slot, keeping K in flight. */
static void lifecycle_end(struct lifecycle *l)
{
    struct bench *b = l->b;
    sp_exec_cleanup(&l->x);
    sp_sandbox_free(l->sb);
    l->sb = NULL;
    b->done++;
    if (l->failed)
        b->failed++;
    if (b->started < b->total)
        lifecycle_start(l);
}

static void on_deleted(struct sp_op *op, enum sp_err rc, void *user)
{
    struct lifecycle *l = user;
    if (rc != SP_E_OK)
        note_error(l, op, rc);
    lifecycle_end(l);
}

/* A failed step still deletes the sandbox, so the mock does not fill up. */
static void delete_sandbox(struct lifecycle *l)
{
    sp_op_init_cleanup(&l->op[3], l->sb, SP_CLEANUP_DELETE);
    sp_loop_submit(l->b->loop, &l->op[3], on_deleted, l);
}

static void on_executed(struct sp_op *op, enum sp_err rc, void *user)
{
    struct lifecycle *l = user;
    if (rc != SP_E_OK)
        note_error(l, op, rc);
    else if (l->x.exit_code != 0 || strstr(sp_buf_str(&l->x.out), "bench") == NULL) {
        char *first = l->b->first_error[SP_E_PROTOCOL];
        l->failed = true;
        l->b->errors[SP_E_PROTOCOL]++;
        if (first[0] == '\0')
            snprintf(first, sizeof(l->b->first_error[SP_E_PROTOCOL]),
                     "exec returned exit code %d and output '%.64s'", l->x.exit_code,
                     sp_buf_str(&l->x.out));
    }
    delete_sandbox(l);
}

static void on_started(struct sp_op *op, enum sp_err rc, void *user)
{
    struct lifecycle *l = user;
    if (rc != SP_E_OK) {
        note_error(l, op, rc);
        delete_sandbox(l);
        return;
    }
    sp_op_init_exec(&l->op[2], l->sb, &l->x);
    sp_loop_submit(l->b->loop, &l->op[2], on_executed, l);
}

static void on_created(struct sp_op *op, enum sp_err rc, void *user)
{
    struct lifecycle *l = user;
    if (rc != SP_E_OK) {
        note_error(l, op, rc);
        lifecycle_end(l);
        return;
    }
    l->sb = op->sandbox;
    sp_op_init_startup(&l->op[1], l->sb);
    sp_loop_submit(l->b->loop, &l->op[1], on_started, l);
}

static const struct sp_create_opts create_opts = {.run_id = "bench"};

static void lifecycle_start(struct lifecycle *l)
{
    l->b->started++;
    l->failed = false;
    sp_exec_init(&l->x, "echo bench"); /* cleaned up in lifecycle_end, whatever happens */
    sp_op_init_create(&l->op[0], l->b->client, &create_opts);
    sp_loop_submit(l->b->loop, &l->op[0], on_created, l);
}

struct run_result {
    double wall_s;
    double cpu_s;
    double mock_cpu_s;
    long peak_kib;
    long base_kib;
};

/* Runs `total` lifecycles with `inflight` of them in flight. */
static int
run(struct bench *b, const struct bench_mock *bm, long total, long inflight, struct run_result *res)
{
    if (inflight > total)
        inflight = total;
    b->slots = calloc((size_t)inflight, sizeof(*b->slots));
    if (b->slots == NULL)
        return -1;
    b->total = total;
    b->started = b->done = b->failed = 0;
    res->base_kib = bench_status_kib("VmRSS:");
    bench_reset_peak_rss();
    double cpu0 = bench_cpu_s(), mock0 = bench_mock_cpu_s(bm);
    int64_t t0 = sp_now_us();
    for (long i = 0; i < inflight; i++) {
        b->slots[i].b = b;
        lifecycle_start(&b->slots[i]);
    }
    size_t left = sp_loop_run(b->loop);
    res->wall_s = (double)(sp_now_us() - t0) / 1e6;
    res->cpu_s = bench_cpu_s() - cpu0;
    res->mock_cpu_s = bench_mock_cpu_s(bm) - mock0;
    res->peak_kib = bench_status_kib("VmHWM:");
    free(b->slots);
    b->slots = NULL;
    return left == 0 ? 0 : -1;
}

static void print_errors(const struct bench *b)
{
    for (int i = 1; i < SP_E__COUNT; i++)
        if (b->errors[i] > 0)
            printf("  errors: %ld %s, first: %s\n", b->errors[i], sp_err_name((enum sp_err)i),
                   b->first_error[i]);
}

static long arg_long(int argc, char **argv, const char *name, long dflt)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0) {
            char *end = NULL;
            long v = strtol(argv[i + 1], &end, 10);
            if (end != NULL && *end == '\0' && v > 0)
                return v;
            fprintf(stderr, "lifecycles: %s needs a positive number\n", name);
            exit(2);
        }
    return dflt;
}

static const char *arg_str(int argc, char **argv, const char *name, const char *dflt)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return dflt;
}

static int bench_setup(struct bench *b, const char *provider, const struct bench_mock *bm)
{
    struct sp_client_opts opts = {
        .alive_interval_ms = 5, /* zero-latency mock: poll the data plane at once */
    };
    struct sp_error err;
    sp_error_clear(&err);
    char msg[512];
    if (sp_client_new(provider, &bm->env, &opts, &b->client, &err) != SP_E_OK ||
        sp_loop_new(&b->loop, &err) != SP_E_OK) {
        fprintf(stderr, "lifecycles: %s\n", sp_error_format(&err, msg, sizeof(msg)));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    long count = arg_long(argc, argv, "--count", 2000);
    long conc = arg_long(argc, argv, "--concurrency", 64);
    long inflight = arg_long(argc, argv, "--inflight", 1000);
    const char *provider = arg_str(argc, argv, "--provider", "daytona");

    bench_raise_nofile();
    struct bench_mock bm;
    if (bench_mock_start(provider, &bm) != 0)
        return 3;
    static struct bench b;
    int rc = 3;
    if (bench_setup(&b, provider, &bm) != 0)
        goto out;

    struct run_result r;
    const char *backend = getenv("SP_BENCH_BACKEND");
    printf("lifecycles (%s mock, %s backend, zero latency, one thread): create -> startup -> "
           "exec -> delete\n",
           provider, backend && strcmp(backend, "synthetic") == 0 ? "synthetic" : "shell");
    /* One lifecycle first pays the one-time costs (connection cache, first allocations),
     * so the memory figure is what in-flight lifecycles add; the memory run comes before
     * the throughput run so it cannot reuse memory that run freed. */
    if (run(&b, &bm, 1, 1, &r) != 0 || run(&b, &bm, inflight, inflight, &r) != 0)
        goto out;
    double per = (double)(r.peak_kib - r.base_kib) / (double)inflight;
    printf("  %ld lifecycles in flight at once: %.2f s, %ld failed; RSS %ld KiB -> peak %ld KiB\n",
           inflight, r.wall_s, b.failed, r.base_kib, r.peak_kib);
    printf("  memory per in-flight lifecycle: %.1f KiB (target < 64 KiB)\n", per);
    print_errors(&b);

    memset(b.errors, 0, sizeof(b.errors));
    memset(b.first_error, 0, sizeof(b.first_error));
    if (run(&b, &bm, count, conc, &r) != 0)
        goto out;
    printf("  %ld lifecycles, %ld in flight: %.1f lifecycles/s (%.2f s), %ld failed\n", count, conc,
           (double)count / r.wall_s, r.wall_s, b.failed);
    printf("  harness CPU per lifecycle: %.1f us (mock child: %.1f us)\n",
           r.cpu_s * 1e6 / (double)count, r.mock_cpu_s * 1e6 / (double)count);
    print_errors(&b);
    rc = 0;
out:
    sp_loop_free(b.loop);
    sp_client_free(b.client);
    bench_mock_stop(&bm);
    return rc;
}
