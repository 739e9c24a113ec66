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
#include "proc_int.h"

#define CAP     ((size_t)1 << 20)
#define TIMEOUT 10000L /* generous: a command that should end never comes near it */

struct fixture {
    struct mock_sandbox sb;
    char dir[256], ws[300]; /* the sandbox root; its /workspace, where bash starts */
    struct {
        struct sp_buf out;
        int exit_code;
        char cwd[1024];
    } res;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/sp-shell-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->sb.root, sizeof f->sb.root, "%s", f->dir);
    snprintf(f->ws, sizeof f->ws, "%s/workspace", f->dir);
    assert_int_equal(mkdir(f->ws, 0755), 0);
    sp_buf_init(&f->res.out, CAP);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[512];
    mock_shell_free(f->sb.shell);
    mock_ns_release(f->dir);
    sp_buf_cleanup(&f->res.out);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

/* Types cmd into the fixture's bash terminal and waits (timeout_ms hard, no soft limit). */
static enum mock_term_state term(struct fixture *f, const char *cmd, long timeout_ms)
{
    sp_buf_reset(&f->res.out);
    if (cmd != NULL)
        assert_int_equal(mock_term_send(&f->sb, f->ws, cmd, true, NULL), 0);
    return mock_term_wait(&f->sb, timeout_ms, 0, CAP, &f->res.out, &f->res.exit_code, f->res.cwd,
                          sizeof f->res.cwd);
}

/* The rendered output of a completed command. */
static const char *out_of(struct fixture *f, const char *cmd)
{
    static struct sp_buf shown;
    assert_int_equal(term(f, cmd, TIMEOUT), MOCK_TERM_DONE);
    sp_buf_cleanup(&shown);
    sp_buf_init(&shown, 0);
    mock_term_render(f->res.out.data ? f->res.out.data : "", f->res.out.len, &shown);
    return sp_buf_str(&shown);
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

/* bash on a terminal, as the real server's tmux pane (spec/openhands-action-server-fidelity.md
 * row 3): brace expansion, [[ ]], echo -e, source, command not found, tty. */
static void test_shell_backend_bash_features(void **state)
{
    struct fixture *f = *state;
    assert_string_equal(out_of(f, "for i in {1..3}; do echo $i; done"), "1\n2\n3\n");
    assert_string_equal(out_of(f, "[[ 1 == 1 ]] && echo yes"), "yes\n");
    assert_string_equal(out_of(f, "echo -e \"a\\nb\""), "a\nb\n");
    assert_string_equal(out_of(f, "echo 'export SRC=7' > s.sh && source s.sh && echo $SRC"), "7\n");
    out_of(f, "nonexistent_command_xyz");
    assert_int_equal(f->res.exit_code, 127);
    assert_non_null(
        strstr(out_of(f, "nonexistent_command_xyz"), "nonexistent_command_xyz: command not found"));
    assert_non_null(strstr(out_of(f, "tty"), "/dev/pts/"));
    assert_int_equal(f->res.exit_code, 0);
}

static void test_shell_backend_exit_codes_cwd_env(void **state)
{
    struct fixture *f = *state;
    out_of(f, "false");
    assert_int_equal(f->res.exit_code, 1);
    out_of(f, "(exit 42)");
    assert_int_equal(f->res.exit_code, 42);
    out_of(f, "mkdir -p sub && cd sub");
    assert_non_null(strstr(f->res.cwd, "/sub"));
    assert_string_equal(out_of(f, "export KEEP=1; echo ok"), "ok\n");
    assert_string_equal(out_of(f, "echo K=$KEEP; basename $PWD"), "K=1\nsub\n");
    /* a syntax error leaves the shell as it was */
    out_of(f, "if then fi");
    assert_int_equal(f->res.exit_code, 2);
    assert_string_equal(out_of(f, "echo K=$KEEP"), "K=1\n");
}

/* After a timeout the command keeps running; a key reaches it; exports survive. */
static void test_shell_backend_keeps_running(void **state)
{
    struct fixture *f = *state;
    out_of(f, "export KEEP=2");
    assert_int_equal(term(f, "echo a; sleep 1; echo b; sleep 30", 300), MOCK_TERM_HARD);
    assert_true(mock_term_busy(&f->sb));
    assert_int_equal(term(f, NULL, 3000), MOCK_TERM_HARD);
    assert_non_null(strstr(sp_buf_str(&f->res.out), "b"));
    assert_int_equal(mock_term_send(&f->sb, f->ws, "\003", false, "^C"), 0);
    assert_int_equal(term(f, NULL, TIMEOUT), MOCK_TERM_DONE);
    assert_int_equal(f->res.exit_code, 130);
    assert_false(mock_term_busy(&f->sb));
    assert_string_equal(out_of(f, "echo K=$KEEP"), "K=2\n");
}

/* The soft limit counts from the last output, not from the start. */
static void test_shell_backend_soft_timeout_restarts(void **state)
{
    struct fixture *f = *state;
    sp_buf_reset(&f->res.out);
    assert_int_equal(
        mock_term_send(&f->sb, f->ws, "for i in 1 2 3 4; do echo $i; sleep 0.4; done", true, NULL),
        0);
    assert_int_equal(mock_term_wait(&f->sb, TIMEOUT, 1000, CAP, &f->res.out, &f->res.exit_code,
                                    f->res.cwd, sizeof f->res.cwd),
                     MOCK_TERM_DONE);
    struct sp_buf shown;
    sp_buf_init(&shown, 0);
    mock_term_render(f->res.out.data, f->res.out.len, &shown);
    assert_string_equal(sp_buf_str(&shown), "1\n2\n3\n4\n");
    sp_buf_cleanup(&shown);
}

static void test_shell_backend_exit_respawns(void **state)
{
    struct fixture *f = *state;
    out_of(f, "mkdir -p d && cd d && export GONE=1");
    assert_int_equal(term(f, "exit 3", TIMEOUT), MOCK_TERM_EXITED);
    assert_int_equal(f->res.exit_code, 3);
    /* a new bash in the last cwd, without the old exports */
    assert_string_equal(out_of(f, "echo G=$GONE; basename $PWD"), "G=\nd\n");
}

/* The pane rendering of bash.py's capture-pane -J: \r, tabs, colours, trailing spaces. */
static void test_shell_backend_render(void **state)
{
    (void)state;
    static const struct {
        const char *raw, *shown;
    } cases[] = {
        {"step1\rstep2", "step2"},
        {"a  \nb\tc", "a\nb       c"},
        {"\033[1;31mred\033[0m x", "red x"},
        {"abcdef\rxy", "xycdef"},
        {"ab\bc", "ac"},
        {"12345\r\033[Kok", "ok"},
        {"\t\tx", "                x"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sp_buf b;
        sp_buf_init(&b, 0);
        mock_term_render(cases[i].raw, strlen(cases[i].raw), &b);
        assert_string_equal(sp_buf_str(&b), cases[i].shown);
        sp_buf_cleanup(&b);
    }
}

static void test_shell_backend_large_command(void **state)
{
    struct fixture *f = *state;
    char cmd[3100];
    int n = snprintf(cmd, sizeof cmd, "echo ");
    memset(cmd + n, 'x', 3000);
    cmd[n + 3000] = '\0';
    const char *out = out_of(f, cmd);
    assert_int_equal(strlen(out), 3001);
}

static void test_shell_backend_many_commands_no_leak(void **state)
{
    struct fixture *f = *state;
    int before = count_fds();
    out_of(f, "true");
    int with_shell = count_fds();
    for (int i = 0; i < 60; i++) {
        char cmd[64];
        snprintf(cmd, sizeof cmd, i % 20 == 7 ? "exit %d" : "echo %d", i);
        enum mock_term_state st = term(f, cmd, TIMEOUT);
        assert_int_equal(st, i % 20 == 7 ? MOCK_TERM_EXITED : MOCK_TERM_DONE);
        assert_int_equal(f->res.exit_code, i % 20 == 7 ? i : 0);
    }
    assert_int_equal(term(f, "sleep 5", 50), MOCK_TERM_HARD);
    assert_int_equal(mock_term_send(&f->sb, f->ws, "\003", false, NULL), 0);
    assert_int_equal(term(f, NULL, TIMEOUT), MOCK_TERM_DONE);
    out_of(f, "true");
    assert_int_equal(count_fds(), with_shell);
    mock_shell_free(f->sb.shell);
    f->sb.shell = NULL;
    mock_ns_release(f->dir); /* the sandbox namespace goes, as at delete */
    assert_int_equal(count_fds(), before);
    assert_no_children();
}

/* mock_shell_run (shell_oneshot.c): one command in a fresh sh in the sandbox, streams apart
 * or merged, exit codes, a timeout that kills. */
static void test_shell_backend_oneshot(void **state)
{
    struct fixture *f = *state;
    struct mock_shell_result r;
    mock_shell_result_init(&r, CAP);
    assert_int_equal(mock_shell_run(&f->sb, f->ws, "pwd; echo err >&2; exit 3", TIMEOUT, false, &r),
                     0);
    assert_int_equal(r.exit_code, 3);
    assert_false(r.timed_out);
    assert_string_equal(sp_buf_str(&r.out), mock_ns_available(NULL) ? "/workspace\n" : "");
    assert_string_equal(sp_buf_str(&r.err), "err\n");
    sp_buf_reset(&r.out);
    sp_buf_reset(&r.err);
    assert_int_equal(mock_shell_run(&f->sb, f->ws, "echo a; echo b >&2", TIMEOUT, true, &r), 0);
    assert_string_equal(sp_buf_str(&r.out), "a\nb\n");
    assert_int_equal(r.err.len, 0);
    sp_buf_reset(&r.out);
    assert_int_equal(mock_shell_run(&f->sb, f->ws, "echo x; sleep 30", 300, true, &r), 0);
    assert_true(r.timed_out);
    assert_int_equal(r.exit_code, -1);
    assert_string_equal(sp_buf_str(&r.out), "x\n");
    mock_shell_result_cleanup(&r);
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
    mock_ns_release(f->dir); /* the sandbox namespace goes, as at delete */
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
    mock_ns_release(f->dir); /* the sandbox namespace goes, as at delete */
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
    mock_ns_release(f->dir); /* the sandbox namespace goes, as at delete */
    assert_no_children();
}

int main(void)
{
    /* As a server does: a peer that went away must give EPIPE, not end the process. */
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_shell_backend_bash_features, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shell_backend_exit_codes_cwd_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shell_backend_keeps_running, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shell_backend_soft_timeout_restarts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shell_backend_exit_respawns, setup, teardown),
        cmocka_unit_test(test_shell_backend_render),
        cmocka_unit_test_setup_teardown(test_shell_backend_oneshot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shell_backend_large_command, setup, teardown),
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
