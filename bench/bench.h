/* Helpers shared by the benchmark programs (each program in bench/ is built on its own, so
 * these are static inline here rather than in a library file).
 *
 * The mock runs in a forked child process, configured through mocks/mock.h exactly as the
 * suites do (zero latency), so that the benchmark's own CPU time and memory are the
 * harness's alone: getrusage(RUSAGE_SELF) and /proc/self/status never count the mock. */
#ifndef SP_BENCH_H
#define SP_BENCH_H

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "kv.h"
#include "mock.h"

struct bench_mock {
    pid_t pid;
    struct sp_kv env; /* the mock's ready variables (DAYTONA_API_URL, E2B_API_KEY, ...) */
};

/* Thousands of connections in flight need more descriptors than the usual soft limit of 1024.
 * Raises the soft limit to the hard one (inherited by the mock child). */
static inline void bench_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* The child: starts the mock, sends its env as "KEY=VALUE" lines down the pipe, closes it
 * (end of the ready message), and serves until SIGTERM. Never returns. */
static inline void bench_mock_serve(const char *vendor, int wfd, const sigset_t *term)
{
    struct sp_mock_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.vendor = vendor;
    cfg.has_latency = true; /* all delays zero: measure the harness, not a latency model */
    cfg.quiet = true;
    /* SP_BENCH_BACKEND=synthetic: sandboxes without a process, as a load run uses them. */
    const char *backend = getenv("SP_BENCH_BACKEND");
    if (backend != NULL && strcmp(backend, "synthetic") == 0)
        cfg.backend = SP_MOCK_BACKEND_SYNTHETIC;
    struct sp_mock *m = NULL;
    struct sp_error err;
    sp_error_clear(&err);
    if (sp_mock_start(&cfg, &m, &err) != SP_E_OK) {
        char msg[512];
        fprintf(stderr, "bench: mock %s: %s\n", vendor, sp_error_format(&err, msg, sizeof(msg)));
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
    sp_mock_stop(m);
    _exit(0);
}

/* Reads "KEY=VALUE" lines until EOF into env. Returns 0, or -1 when nothing usable came. */
static inline int bench_mock_read_env(int rfd, struct sp_kv *env)
{
    struct sp_buf all;
    sp_buf_init(&all, 1u << 20);
    char chunk[4096];
    ssize_t n;
    while ((n = read(rfd, chunk, sizeof(chunk))) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || sp_buf_append(&all, chunk, (size_t)n) != 0)
            break;
    }
    char *line = all.data;
    while (line != NULL && *line != '\0') {
        char *nl = strchr(line, '\n');
        if (nl == NULL)
            break;
        *nl = '\0';
        char *eq = strchr(line, '=');
        if (eq != NULL) {
            *eq = '\0';
            sp_kv_set(env, line, eq + 1);
        }
        line = nl + 1;
    }
    sp_buf_cleanup(&all);
    return env->n > 0 ? 0 : -1;
}

/* Starts the mock of `vendor` in a child process and waits until it is ready.
 * Call before anything creates threads (curl, loops). Returns 0, or -1 with a message. */
static inline int bench_mock_start(const char *vendor, struct bench_mock *bm)
{
    sp_kv_init(&bm->env);
    bm->pid = -1;
    sigset_t term, old;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    int fds[2];
    if (pipe(fds) != 0) {
        perror("bench: pipe");
        return -1;
    }
    /* Blocked before fork so a SIGTERM can never arrive before the child's sigwait. */
    sigprocmask(SIG_BLOCK, &term, &old);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        bench_mock_serve(vendor, fds[1], &term);
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    close(fds[1]);
    if (pid < 0) {
        perror("bench: fork");
        close(fds[0]);
        return -1;
    }
    bm->pid = pid;
    int rc = bench_mock_read_env(fds[0], &bm->env);
    close(fds[0]);
    if (rc != 0) {
        fprintf(stderr, "bench: the %s mock did not become ready\n", vendor);
        waitpid(pid, NULL, 0);
        bm->pid = -1;
        return -1;
    }
    return 0;
}

/* CPU seconds the mock child has used so far (from /proc; -1 when unknown). */
static inline double bench_mock_cpu_s(const struct bench_mock *bm)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)bm->pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    char line[1024];
    double s = -1;
    if (fgets(line, sizeof(line), f) != NULL) {
        /* Fields after the ")" that ends the command name: state is field 3, utime 14,
         * stime 15. */
        const char *p = strrchr(line, ')');
        unsigned long ut = 0, st = 0;
        if (p != NULL &&
            sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2)
            s = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
    }
    fclose(f);
    return s;
}

static inline void bench_mock_stop(struct bench_mock *bm)
{
    if (bm->pid > 0) {
        kill(bm->pid, SIGTERM);
        int status = 0;
        waitpid(bm->pid, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            fprintf(stderr, "bench: the mock child ended with status %d\n", status);
        bm->pid = -1;
    }
    sp_kv_cleanup(&bm->env);
}

/* A "VmRSS:"-style field of /proc/self/status in KiB; -1 when unavailable. */
static inline long bench_status_kib(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return -1;
    char line[256];
    long v = -1;
    size_t n = strlen(field);
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, field, n) == 0) {
            v = strtol(line + n, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

/* Resets the peak RSS (VmHWM) to the current RSS. Returns 0, or -1 when the kernel does not
 * allow it (the peak then includes what came before). */
static inline int bench_reset_peak_rss(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f == NULL)
        return -1;
    int rc = fputs("5", f) < 0 ? -1 : 0;
    if (fclose(f) != 0)
        rc = -1;
    return rc;
}

static inline double bench_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

#endif
