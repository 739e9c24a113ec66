/* Unit tests of the mock sandboxes' shell backend (mocks/shell_backend.c): the persistent
 * shell (state across commands, exit codes, stream handling, timeouts, the output cap, no
 * leaked descriptors or children) and the one-shot streaming process. Each test works in a
 * fresh temporary directory standing for the sandbox root. No network. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mock_int.h"

#define CAP     ((size_t)1 << 20)
#define TIMEOUT 10000L /* generous: a command that should end never comes near it */

struct fixture {
    struct mock_sandbox sb;
    char dir[256];
    struct mock_shell_result res;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/sp-shell-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->sb.root, sizeof f->sb.root, "%s", f->dir);
    mock_shell_result_init(&f->res, CAP);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[512];
    mock_shell_free(f->sb.shell);
    mock_shell_result_cleanup(&f->res);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

/* Runs cmd in the fixture's sandbox; the command must not fail to start. */
static struct mock_shell_result *
run(struct fixture *f, const char *cmd, long timeout_ms, bool merge)
{
    assert_int_equal(mock_shell_run(&f->sb, f->dir, cmd, timeout_ms, merge, &f->res), 0);
    return &f->res;
}

static const char *out_of(struct fixture *f, const char *cmd)
{
    return sp_buf_str(&run(f, cmd, TIMEOUT, false)->out);
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    int n = 0;
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n;
}

static void assert_no_children(void)
{
    int st;
    errno = 0;
    assert_int_equal(waitpid(-1, &st, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
}

/* True once the process whose pid the sandbox wrote to `file` has died (gone or a zombie
 * waiting for init). Bounded wait: a killed process is gone in milliseconds. */
static bool pid_file_dead(struct fixture *f, const char *file)
{
    char path[600], stat[600];
    snprintf(path, sizeof path, "%s/%s", f->dir, file);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    long pid = 0;
    assert_int_equal(fscanf(fp, "%ld", &pid), 1);
    fclose(fp);
    assert_true(pid > 1);
    snprintf(stat, sizeof stat, "/proc/%ld/stat", pid);
    for (int i = 0; i < 500; i++) {
        char line[512] = "";
        fp = fopen(stat, "r");
        if (fp == NULL)
            return true;
        bool got = fgets(line, sizeof line, fp) != NULL;
        fclose(fp);
        const char *close_paren = strrchr(line, ')');
        if (!got || (close_paren != NULL && close_paren[1] == ' ' && close_paren[2] == 'Z'))
            return true;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return false;
}

static void test_shell_backend_echo(void **state)
{
    struct fixture *f = *state;
    struct mock_shell_result *r = run(f, "echo hello; printf 'it'\"'\"'s'", TIMEOUT, false);
    assert_string_equal(sp_buf_str(&r->out), "hello\nit's");
    assert_int_equal(r->out.len, 10);
    assert_int_equal(r->err.len, 0);
    assert_int_equal(r->exit_code, 0);
    assert_false(r->timed_out);
    assert_false(r->truncated);
    assert_string_equal(r->cwd, f->dir);
}

static void test_shell_backend_exit_codes(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(run(f, "true", TIMEOUT, false)->exit_code, 0);
    assert_int_equal(run(f, "false", TIMEOUT, false)->exit_code, 1);
    assert_int_equal(run(f, "sh -c 'exit 42'", TIMEOUT, false)->exit_code, 42);
    assert_int_equal(run(f, "(exit 42)", TIMEOUT, false)->exit_code, 42);
    /* `return` at top level ends the wrapper, not the shell */
    assert_int_equal(run(f, "FOO=kept; return 5", TIMEOUT, false)->exit_code, 5);
    assert_string_equal(out_of(f, "echo $FOO"), "kept\n");
}

static void test_shell_backend_stderr_split(void **state)
{
    struct fixture *f = *state;
    struct mock_shell_result *r = run(f, "echo a; echo b >&2; echo c", TIMEOUT, false);
    assert_string_equal(sp_buf_str(&r->out), "a\nc\n");
    assert_string_equal(sp_buf_str(&r->err), "b\n");
    assert_int_equal(r->exit_code, 0);
}

static void test_shell_backend_stderr_merged_in_order(void **state)
{
    struct fixture *f = *state;
    struct mock_shell_result *r =
        run(f, "echo a; echo b >&2; echo c; ls /nonexistent-sp; echo d", TIMEOUT, true);
    const char *out = sp_buf_str(&r->out);
    assert_int_equal(strncmp(out, "a\nb\nc\n", 6), 0);
    assert_non_null(strstr(out, "nonexistent-sp"));
    assert_int_equal(strcmp(out + strlen(out) - 2, "d\n"), 0);
    assert_int_equal(r->err.len, 0);
    assert_int_equal(r->exit_code, 0);
    /* many interleaved writes keep their order: both go through one pipe */
    struct sp_buf want;
    sp_buf_init(&want, 0);
    for (int i = 1; i <= 300; i++)
        sp_buf_printf(&want, "o%d\ne%d\n", i, i);
    r = run(f, "i=1; while [ $i -le 300 ]; do echo o$i; echo e$i >&2; i=$((i+1)); done", TIMEOUT,
            true);
    assert_string_equal(sp_buf_str(&r->out), sp_buf_str(&want));
    sp_buf_cleanup(&want);
    /* the mode is per command: the next split command separates again */
    r = run(f, "echo x >&2", TIMEOUT, false);
    assert_string_equal(sp_buf_str(&r->err), "x\n");
    assert_int_equal(r->out.len, 0);
}

static void test_shell_backend_cwd_persists(void **state)
{
    struct fixture *f = *state;
    char want[600];
    snprintf(want, sizeof want, "%s/x\n", f->dir);
    struct mock_shell_result *r = run(f, "mkdir -p x && cd x", TIMEOUT, false);
    assert_int_equal(r->exit_code, 0);
    assert_memory_equal(r->cwd, want, strlen(want) - 1);
    assert_string_equal(out_of(f, "pwd"), want);
    assert_string_equal(out_of(f, "cd ..; cd x; pwd"), want);
}

static void test_shell_backend_env_persists(void **state)
{
    struct fixture *f = *state;
    run(f, "export SP_A='one two'; SP_B=shell-only", TIMEOUT, false);
    assert_string_equal(out_of(f, "echo \"$SP_A|$SP_B\""), "one two|shell-only\n");
    assert_string_equal(out_of(f, "sh -c 'echo \"$SP_A|$SP_B\"'"), "one two|\n");
    char want[600];
    snprintf(want, sizeof want, "%s\n", f->dir);
    assert_string_equal(out_of(f, "echo $HOME"), want);
}

static void test_shell_backend_syntax_error_keeps_shell(void **state)
{
    struct fixture *f = *state;
    run(f, "export KEEP=yes", TIMEOUT, false);
    struct mock_shell_result *r = run(f, "if then (", TIMEOUT, false);
    assert_int_not_equal(r->exit_code, 0);
    assert_non_null(strstr(sp_buf_str(&r->err), "rror"));
    assert_false(r->timed_out);
    /* the same shell answers: the export survived */
    assert_string_equal(out_of(f, "echo $KEEP"), "yes\n");
    r = run(f, ". /nonexistent-sp", TIMEOUT, false);
    assert_int_not_equal(r->exit_code, 0);
    assert_string_equal(out_of(f, "echo $KEEP"), "yes\n");
}

static void test_shell_backend_exit_respawns(void **state)
{
    struct fixture *f = *state;
    char want[600];
    snprintf(want, sizeof want, "%s/sub\n", f->dir);
    run(f, "export GONE=1; mkdir sub", TIMEOUT, false);
    struct mock_shell_result *r = run(f, "cd sub; echo bye; echo err >&2; exit 3", TIMEOUT, false);
    assert_int_equal(r->exit_code, 3);
    assert_false(r->timed_out);
    assert_string_equal(sp_buf_str(&r->out), "bye\n");
    assert_string_equal(sp_buf_str(&r->err), "err\n");
    /* a new shell, in the cwd the old one had when it exited */
    assert_string_equal(out_of(f, "pwd"), want);
    assert_string_equal(out_of(f, "echo \"[$GONE]\""), "[]\n");
    /* ending the shell ends what it left running, without waiting for it */
    r = run(f, "sleep 30 & echo $! > bg.pid; exit 4", TIMEOUT, true);
    assert_int_equal(r->exit_code, 4);
    assert_false(r->timed_out);
    assert_true(pid_file_dead(f, "sub/bg.pid"));
    r = run(f, "exec sh -c 'exit 6'", TIMEOUT, false);
    assert_int_equal(r->exit_code, 6);
    assert_string_equal(out_of(f, "echo ok"), "ok\n");
}

static void test_shell_backend_timeout_kills(void **state)
{
    struct fixture *f = *state;
    char want[600];
    snprintf(want, sizeof want, "%s/t\n", f->dir);
    run(f, "mkdir t; cd t", TIMEOUT, false);
    struct mock_shell_result *r =
        run(f, "echo started; sh -c 'echo $$ > sleeper.pid; exec sleep 30'", 300, false);
    assert_true(r->timed_out);
    assert_int_equal(r->exit_code, -1);
    assert_string_equal(sp_buf_str(&r->out), "started\n");
    assert_true(pid_file_dead(f, "t/sleeper.pid"));
    r = run(f, "pwd", TIMEOUT, false);
    assert_false(r->timed_out);
    assert_int_equal(r->exit_code, 0);
    assert_string_equal(sp_buf_str(&r->out), want);
}

static void test_shell_backend_output_cap(void **state)
{
    struct fixture *f = *state;
    struct mock_shell_result res;
    mock_shell_result_init(&res, 65536);
    int rc = mock_shell_run(&f->sb, f->dir, "head -c 1048576 /dev/zero | tr '\\0' a; echo tail",
                            TIMEOUT, false, &res);
    assert_int_equal(rc, 0);
    assert_true(res.truncated);
    assert_false(res.timed_out);
    assert_int_equal(res.exit_code, 0);
    assert_int_equal(res.out.len, 65536);
    assert_int_equal(res.out.data[65535], 'a');
    /* the shell was never blocked: it still answers */
    rc = mock_shell_run(&f->sb, f->dir, "echo next", TIMEOUT, false, &res);
    assert_int_equal(rc, 0);
    assert_false(res.truncated);
    assert_string_equal(sp_buf_str(&res.out), "next\n");
    mock_shell_result_cleanup(&res);
}

/* A command larger than the pipe buffers goes in while its output comes out. */
static void test_shell_backend_large_command(void **state)
{
    struct fixture *f = *state;
    size_t big = (size_t)1 << 19; /* eight times a pipe buffer, half the output cap */
    char *cmd = malloc(big + 64);
    assert_non_null(cmd);
    memcpy(cmd, "x='", 3);
    memset(cmd + 3, 'q', big);
    snprintf(cmd + 3 + big, 61, "'; echo ${#x}; printf %%s \"$x\"");
    struct mock_shell_result *r = run(f, cmd, TIMEOUT, false);
    free(cmd);
    assert_int_equal(r->exit_code, 0);
    assert_false(r->truncated);
    assert_int_equal(r->out.len, 7 + big);
    assert_memory_equal(r->out.data, "524288\nqqq", 10);
    assert_int_equal(r->out.data[r->out.len - 1], 'q');
}

static void test_shell_backend_binary_and_unicode(void **state)
{
    struct fixture *f = *state;
    struct mock_shell_result *r = run(f, "printf 'a\\000b\\001\\377\\036SPx\\036'", TIMEOUT, false);
    static const char bin[] = "a\0b\001\377\036SPx\036";
    assert_int_equal(r->out.len, sizeof bin - 1);
    assert_memory_equal(r->out.data, bin, sizeof bin - 1);
    assert_string_equal(out_of(f, "echo 'héllo ✓ 日本'"), "héllo ✓ 日本\n");
    assert_string_equal(out_of(f, "cat <<'EOF'\nline 1\n$HOME\nEOF"), "line 1\n$HOME\n");
    /* SIGPIPE is back to its default in the sandbox although this process ignores it */
    struct mock_shell_result *p = run(f, "yes | head -n 1", TIMEOUT, false);
    assert_string_equal(sp_buf_str(&p->out), "y\n");
    assert_string_equal(sp_buf_str(&p->err), "");
}

static void test_shell_backend_many_commands_no_leak(void **state)
{
    struct fixture *f = *state;
    int before = count_fds();
    run(f, "true", TIMEOUT, false);
    int with_shell = count_fds();
    for (int i = 0; i < 60; i++) {
        char cmd[64];
        snprintf(cmd, sizeof cmd, i % 20 == 7 ? "exit %d" : "echo %d", i);
        struct mock_shell_result *r = run(f, cmd, TIMEOUT, i % 2 == 0);
        assert_int_equal(r->exit_code, i % 20 == 7 ? i : 0);
    }
    run(f, "sleep 5", 50, false);
    assert_true(f->res.timed_out);
    run(f, "true", TIMEOUT, false);
    assert_int_equal(count_fds(), with_shell);
    mock_shell_free(f->sb.shell);
    f->sb.shell = NULL;
    assert_int_equal(count_fds(), before);
    assert_no_children();
}

static const char *const SH[] = {"/bin/sh", "-c", NULL, NULL};

static struct mock_proc *proc_start(struct fixture *f, const char *script, const struct sp_kv *env)
{
    const char *argv[4] = {SH[0], SH[1], script, NULL};
    struct mock_proc *p = NULL;
    assert_int_equal(mock_proc_spawn(argv, env, f->dir, f->dir, &p), 0);
    assert_non_null(p);
    assert_true(mock_proc_pid(p) > 0);
    return p;
}

/* The first read that brings data or the end, within a bound far above what it takes. */
static ssize_t proc_read_some(struct mock_proc *p, char *buf, size_t len, int *stream)
{
    ssize_t n = 0;
    for (int i = 0; i < 10 && n == 0; i++)
        n = mock_proc_read(p, 1000, buf, len, stream);
    return n;
}

/* Reads until both streams end; returns how many reads brought data. */
static int proc_collect(struct mock_proc *p, struct sp_buf *out, struct sp_buf *err)
{
    char buf[4096];
    int reads = 0, stream = 0;
    for (;;) {
        ssize_t n = mock_proc_read(p, 5000, buf, sizeof buf, &stream);
        if (n < 0)
            return reads;
        if (n == 0)
            continue;
        reads++;
        assert_true(stream == 1 || stream == 2);
        assert_int_equal(sp_buf_append(stream == 1 ? out : err, buf, (size_t)n), 0);
    }
}

static void test_shell_backend_proc_streams(void **state)
{
    struct fixture *f = *state;
    struct mock_proc *p =
        proc_start(f, "for i in 1 2 3 4 5; do echo line$i; sleep 0.05; done", NULL);
    struct sp_buf out, err;
    sp_buf_init(&out, 0);
    sp_buf_init(&err, 0);
    int reads = proc_collect(p, &out, &err);
    assert_true(reads >= 2);
    assert_string_equal(sp_buf_str(&out), "line1\nline2\nline3\nline4\nline5\n");
    assert_int_equal(err.len, 0);
    int code = -5, sig = -5;
    mock_proc_wait(p, &code, &sig);
    assert_int_equal(code, 0);
    assert_int_equal(sig, 0);
    mock_proc_free(p);
    sp_buf_cleanup(&out);
    sp_buf_cleanup(&err);
    assert_no_children();
}

static void test_shell_backend_proc_separate_streams_env_cwd(void **state)
{
    struct fixture *f = *state;
    struct sp_kv env;
    sp_kv_init(&env);
    assert_int_equal(sp_kv_set(&env, "SP_VAR", "v a l"), 0);
    struct mock_proc *p =
        proc_start(f, "echo \"$SP_VAR\"; echo oops >&2; pwd; echo \"$HOME\" >&2; exit 7", &env);
    struct sp_buf out, err, want_out, want_err;
    sp_buf_init(&out, 0);
    sp_buf_init(&err, 0);
    sp_buf_init(&want_out, 0);
    sp_buf_init(&want_err, 0);
    proc_collect(p, &out, &err);
    sp_buf_printf(&want_out, "v a l\n%s\n", f->dir);
    sp_buf_printf(&want_err, "oops\n%s\n", f->dir);
    assert_string_equal(sp_buf_str(&out), sp_buf_str(&want_out));
    assert_string_equal(sp_buf_str(&err), sp_buf_str(&want_err));
    int code = -5, sig = -5;
    mock_proc_wait(p, &code, &sig);
    assert_int_equal(code, 7);
    assert_int_equal(sig, 0);
    mock_proc_free(p);
    sp_buf_cleanup(&out);
    sp_buf_cleanup(&err);
    sp_buf_cleanup(&want_out);
    sp_buf_cleanup(&want_err);
    sp_kv_cleanup(&env);
}

static void test_shell_backend_proc_kill(void **state)
{
    struct fixture *f = *state;
    struct mock_proc *p = proc_start(f, "sleep 30 & echo up; exec sleep 30", NULL);
    char buf[64];
    int stream = 0;
    ssize_t n = proc_read_some(p, buf, sizeof buf, &stream);
    assert_int_equal(n, 3);
    assert_int_equal(stream, 1);
    assert_int_equal(mock_proc_read(p, 0, buf, sizeof buf, &stream), 0);
    mock_proc_kill(p);
    /* the whole group died: the background sleep held the pipes too */
    assert_int_equal(proc_read_some(p, buf, sizeof buf, &stream), -1);
    int code = -5, sig = -5;
    mock_proc_wait(p, &code, &sig);
    assert_int_equal(sig, SIGKILL);
    assert_int_equal(code, -1);
    mock_proc_kill(p); /* after the reap: a no-op */
    mock_proc_free(p);
    assert_no_children();
}

/* Descriptors of the server that are not close-on-exec never reach sandbox processes. */
static void test_shell_backend_no_inherited_fds(void **state)
{
    struct fixture *f = *state;
    int leak = open("/dev/null", O_RDONLY); /* deliberately without O_CLOEXEC */
    assert_true(leak > 2);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "[ -e /proc/$$/fd/%d ] && echo leaked; echo checked", leak);
    assert_string_equal(out_of(f, cmd), "checked\n");
    struct mock_proc *p = proc_start(f, cmd, NULL);
    struct sp_buf out, err;
    sp_buf_init(&out, 0);
    sp_buf_init(&err, 0);
    proc_collect(p, &out, &err);
    assert_string_equal(sp_buf_str(&out), "checked\n");
    mock_proc_free(p);
    sp_buf_cleanup(&out);
    sp_buf_cleanup(&err);
    close(leak);
}

static void test_shell_backend_proc_spawn_errors(void **state)
{
    struct fixture *f = *state;
    struct mock_proc *p = (struct mock_proc *)&p;
    const char *missing[] = {"/nonexistent-sp/bin", NULL};
    errno = 0;
    assert_int_equal(mock_proc_spawn(missing, NULL, f->dir, f->dir, &p), -1);
    assert_int_equal(errno, ENOENT);
    assert_null(p);
    const char *nopath[] = {"no-such-program-sp", NULL};
    assert_int_equal(mock_proc_spawn(nopath, NULL, f->dir, f->dir, &p), -1);
    assert_int_equal(errno, ENOENT);
    const char *ok[] = {"true", NULL};
    char gone[600];
    snprintf(gone, sizeof gone, "%s/missing", f->dir);
    assert_int_equal(mock_proc_spawn(ok, NULL, gone, f->dir, &p), -1);
    assert_int_equal(errno, ENOENT);
    assert_int_equal(mock_proc_spawn(ok, NULL, f->dir, f->dir, &p), 0);
    mock_proc_free(p); /* reaps even when nobody read or waited */
    struct mock_proc *running = proc_start(f, "sleep 30", NULL);
    mock_proc_free(running);
    mock_proc_free(NULL);
    assert_no_children();
}

int main(void)
{
    /* As a server does: a peer that went away must give EPIPE, not end the process. */
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_shell_backend_echo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shell_backend_exit_codes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shell_backend_stderr_split, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shell_backend_stderr_merged_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shell_backend_cwd_persists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shell_backend_env_persists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shell_backend_syntax_error_keeps_shell, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_shell_backend_exit_respawns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shell_backend_timeout_kills, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shell_backend_output_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shell_backend_large_command, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shell_backend_binary_and_unicode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shell_backend_many_commands_no_leak, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shell_backend_proc_streams, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shell_backend_proc_separate_streams_env_cwd, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_shell_backend_proc_kill, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shell_backend_no_inherited_fds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shell_backend_proc_spawn_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
