/* Streaming throughput of exec output: a command in an E2B mock sandbox prints 100 MB, which
 * travels mock -> Connect stream (chunked HTTP/1.1, base64 in JSON envelopes) -> our client,
 * and is counted in the exec's on_event callback. The same command piped locally into
 * /dev/null is the yardstick (target: >= 0.3x of it).
 *
 *   exec_stream [--mb N] [--runs R] [--vendor V [--mode M]]
 *
 * --vendor modal --mode direct measures Modal's path instead: TaskExecStdioRead, gRPC server
 * streaming over h2c (bench/modal.sh runs it so).
 *
 * The mock runs in a child process (bench.h). Figures are printed, nothing is asserted; a run
 * whose byte count is wrong is reported as invalid and the program exits 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "provider.h"

struct counter {
    size_t out;
    size_t err;
    long events;
};

static void count_event(void *user, enum sp_exec_event ev, const char *data, size_t len)
{
    struct counter *c = user;
    (void)data;
    if (ev == SP_EXEC_STDOUT)
        c->out += len;
    else if (ev == SP_EXEC_STDERR)
        c->err += len;
    if (ev == SP_EXEC_STDOUT || ev == SP_EXEC_STDERR)
        c->events++;
}

/* Seconds taken by `sh -c cmd` run locally; -1 on failure. */
static double run_local(const char *cmd)
{
    int64_t t0 = sp_now_us();
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    if (pid < 0)
        return -1;
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    return (double)(sp_now_us() - t0) / 1e6;
}

/* One exec through the mock; returns seconds, or -1 (message printed). */
static double run_remote(struct sp_sandbox *sb, const char *cmd, size_t want)
{
    struct counter c = {0, 0, 0};
    struct sp_exec x;
    sp_exec_init(&x, cmd);
    /* The client keeps stdout in x.out as well as streaming it (capped at 16 MiB by
     * default); room for all of it, so the cap does not end the run. */
    sp_buf_init(&x.out, want + ((size_t)1 << 20));
    x.on_event = count_event;
    x.user = &c;
    x.timeout_ms = 600000;
    struct sp_error err;
    sp_error_clear(&err);
    int64_t t0 = sp_now_us();
    enum sp_err rc = sp_exec(sb, &x, &err);
    double secs = (double)(sp_now_us() - t0) / 1e6;
    char msg[512];
    if (rc != SP_E_OK) {
        fprintf(stderr, "exec_stream: %s\n", sp_error_format(&err, msg, sizeof(msg)));
        secs = -1;
    } else if (x.exit_code != 0 || c.out != want) {
        fprintf(stderr,
                "exec_stream: INVALID run: exit code %d, %zu bytes of stdout counted "
                "(want %zu), %zu of stderr\n",
                x.exit_code, c.out, want, c.err);
        secs = -1;
    } else {
        printf("  remote: %.3f s, %ld output events (%.1f KiB each), client kept %zu bytes\n", secs,
               c.events, (double)c.out / 1024.0 / (double)c.events, x.out.len);
    }
    sp_exec_cleanup(&x);
    return secs;
}

static long arg_long(int argc, char **argv, const char *name, long dflt)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0) {
            char *end = NULL;
            long v = strtol(argv[i + 1], &end, 10);
            if (end != NULL && *end == '\0' && v > 0)
                return v;
            fprintf(stderr, "exec_stream: %s needs a positive number\n", name);
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

static struct sp_sandbox *sandbox_up(struct sp_client *c)
{
    struct sp_create_opts co = {.run_id = "bench"};
    struct sp_sandbox *sb = NULL;
    struct sp_error err;
    sp_error_clear(&err);
    char msg[512];
    if (sp_sandbox_create(c, &co, &sb, &err) != SP_E_OK ||
        sp_sandbox_startup(sb, &err) != SP_E_OK) {
        fprintf(stderr, "exec_stream: %s\n", sp_error_format(&err, msg, sizeof(msg)));
        if (sb != NULL)
            sp_sandbox_cleanup(sb, SP_CLEANUP_DELETE, NULL);
        sp_sandbox_free(sb);
        return NULL;
    }
    return sb;
}

int main(int argc, char **argv)
{
    long mb = arg_long(argc, argv, "--mb", 100);
    long runs = arg_long(argc, argv, "--runs", 3);
    size_t want = (size_t)mb * 1000000u;
    char gen[128], local[192];
    snprintf(gen, sizeof(gen), "head -c %zu /dev/zero | tr '\\0' a", want);
    snprintf(local, sizeof(local), "%s | cat > /dev/null", gen);

    const char *vendor = arg_str(argc, argv, "--vendor", "e2b");
    struct sp_client_opts opts = {.mode = arg_str(argc, argv, "--mode", NULL)};
    struct bench_mock bm;
    if (bench_mock_start(vendor, &bm) != 0)
        return 3;
    int rc = 3;
    struct sp_client *c = NULL;
    struct sp_sandbox *sb = NULL;
    struct sp_error err;
    sp_error_clear(&err);
    char msg[512];
    if (sp_client_new(vendor, &bm.env, &opts, &c, &err) != SP_E_OK) {
        fprintf(stderr, "exec_stream: %s\n", sp_error_format(&err, msg, sizeof(msg)));
        goto out;
    }
    if ((sb = sandbox_up(c)) == NULL)
        goto out;

    printf("exec_stream (%s mock%s%s): %ld MB of stdout, best of %ld runs\n", vendor,
           opts.mode ? ", mode " : "", opts.mode ? opts.mode : "", mb, runs);
    double best_local = -1, best_remote = -1;
    rc = 0;
    for (long i = 0; i < runs; i++) {
        double l = run_local(local);
        double r = run_remote(sb, gen, want);
        if (l < 0 || r < 0) {
            rc = 1;
            break;
        }
        if (best_local < 0 || l < best_local)
            best_local = l;
        if (best_remote < 0 || r < best_remote)
            best_remote = r;
    }
    if (rc == 0) {
        double local_mbs = (double)mb / best_local, remote_mbs = (double)mb / best_remote;
        printf("  local pipe:        %8.1f MB/s\n", local_mbs);
        printf("  mock -> client:    %8.1f MB/s  (%.2fx local; target >= 0.3x)\n", remote_mbs,
               remote_mbs / local_mbs);
    }
    sp_sandbox_cleanup(sb, SP_CLEANUP_DELETE, NULL);
out:
    sp_sandbox_free(sb);
    sp_client_free(c);
    bench_mock_stop(&bm);
    return rc;
}
