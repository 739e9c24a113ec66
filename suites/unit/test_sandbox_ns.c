/* Unit tests of the per-sandbox bubblewrap namespace (mocks/sandbox_ns.c, mock_spawn in
 * mocks/proc.c): sandbox paths inside (/workspace, HOME), host /usr read-only, a private pid
 * namespace, and no process left once the spawned group is killed, `setsid cmd &` included
 * (issue 10 item 5). Each test builds a store-shaped directory
 * (/tmp/.../sandprobe-mock-XXXXXX/<id>). Where bwrap cannot run here, the tests check the
 * host fallback instead and say so. No network. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mock.h"
#include "mock_int.h"
#include "proc_int.h"
#include "provider.h"

struct fixture {
    char store[256], root[300];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->store, sizeof f->store, "/tmp/sandprobe-mock-XXXXXX");
    assert_non_null(mkdtemp(f->store));
    snprintf(f->root, sizeof f->root, "%s/sb1", f->store);
    char p[400];
    assert_int_equal(mkdir(f->root, 0755), 0);
    snprintf(p, sizeof p, "%s/workspace", f->root);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/home", f->root);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/home/user", f->root);
    assert_int_equal(mkdir(p, 0755), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    mock_ns_release(f->root);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->store);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

/* Runs `sh -c script` with cwd (host path) in the sandbox; returns its stdout (static). */
static const char *run_sh(struct fixture *f, const char *cwd, const char *script, pid_t *keep)
{
    static char out[8192];
    char home[400], path[4096];
    snprintf(home, sizeof home, "%s/home/user", f->root);
    char **envp = mock_env_build(home, NULL, path, sizeof path);
    assert_non_null(envp);
    int fds[4];
    assert_int_equal(mock_output_pipes(fds), 0);
    char a0[] = "sh", a1[] = "-c";
    char *argv[] = {a0, a1, (char *)(uintptr_t)script, NULL};
    struct mock_spawn_spec s = {"/bin/sh", argv, envp, cwd, NULL, -1, fds[1], fds[3]};
    pid_t pid;
    int src = mock_spawn_in(&s, f->root, &pid);
    if (src != 0)
        print_message("spawn: %s\n", strerror(errno));
    assert_int_equal(src, 0);
    mock_close_fd(&fds[1]);
    mock_close_fd(&fds[3]);
    size_t n = 0;
    for (;;) {
        struct pollfd pfd = {fds[0], POLLIN, 0};
        poll(&pfd, 1, 20000);
        ssize_t k = read(fds[0], out + n, sizeof out - 1 - n);
        if (k > 0)
            n += (size_t)k;
        else if (k == 0 || errno != EAGAIN)
            break;
        out[n] = '\0';
        if (keep != NULL && strstr(out, "ok\n") != NULL)
            break; /* bwrap itself keeps the pipe open while the tree runs */
    }
    out[n] = '\0';
    if (keep != NULL) {
        *keep = pid;
    } else {
        int st;
        waitpid(pid, &st, 0);
    }
    mock_close_fd(&fds[0]);
    mock_close_fd(&fds[2]);
    mock_strv_free(envp);
    return out;
}

static void test_root_of(void **state)
{
    struct fixture *f = *state;
    char root[512], p[512];
    snprintf(p, sizeof p, "%s/workspace/a/b", f->root);
    assert_int_equal(mock_ns_root_of(p, root, sizeof root), 0);
    assert_string_equal(root, f->root);
    assert_int_equal(mock_ns_root_of(f->root, root, sizeof root), 0);
    assert_string_equal(root, f->root);
    assert_int_equal(mock_ns_root_of("/workspace", root, sizeof root), -1);
    assert_int_equal(mock_ns_root_of(f->store, root, sizeof root), -1);
}

static void test_sandbox_paths(void **state)
{
    struct fixture *f = *state;
    char cwd[400];
    snprintf(cwd, sizeof cwd, "%s/workspace", f->root);
    const char *why = NULL;
    const char *out = run_sh(f, cwd, "cd /workspace && pwd; echo \"home=$HOME\"", NULL);
    if (!mock_ns_available(&why)) {
        print_message("bwrap unavailable here (%s): checking the host fallback\n", why);
        assert_non_null(strstr(out, "home="));
        return;
    }
    assert_string_equal(out, "/workspace\nhome=/home/user\n");
    /* the sandbox dir is bound read-write; /usr is the host's, read-only */
    out = run_sh(f, cwd,
                 "echo hi > /workspace/f && cat /workspace/f; touch /usr/x 2>&1 | "
                 "grep -c Read-only; test -x /usr/bin/bash && echo bash",
                 NULL);
    assert_string_equal(out, "hi\n1\nbash\n");
    char host[512];
    snprintf(host, sizeof host, "%s/workspace/f", f->root);
    assert_int_equal(access(host, F_OK), 0);
    /* a sandbox path as cwd works too; the pid namespace is private */
    out = run_sh(f, "/home/user", "pwd; ls /proc | grep -c '^[0-9]*$'", NULL);
    assert_true(strncmp(out, "/home/user\n", 11) == 0);
    assert_true(strtol(out + 11, NULL, 10) < 10);
}

/* True when some process's command line starts with needle. */
static void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static bool process_alive(const char *needle)
{
    DIR *d = opendir("/proc");
    bool found = false;
    for (struct dirent *e; d && !found && (e = readdir(d)) != NULL;) {
        char p[300], buf[512];
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(p, sizeof p, "/proc/%s/cmdline", e->d_name);
        int fd = open(p, O_RDONLY);
        if (fd < 0)
            continue;
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] == '\0')
                buf[i] = ' ';
        buf[n > 0 ? n : 0] = '\0';
        found = strncmp(buf, needle, strlen(needle)) == 0; /* not "setsid sleep ..." */
    }
    if (d)
        closedir(d);
    return found;
}

/* A background job started with `(setsid cmd &)` appears a moment after its command
 * returned (setsid forks first, then execs): wait up to 5 s for it to be there. */
static bool process_appears(const char *needle)
{
    for (int i = 0; i < 250 && !process_alive(needle); i++)
        nap_ms(20);
    return process_alive(needle);
}

/* Background jobs belong to the sandbox, as in a real one: they outlive the command that
 * started it (a server started with `&` keeps serving) and die with the sandbox's namespace
 * (delete, mock exit), `setsid` ones too. */
static void test_background_lives_until_release(void **state)
{
    struct fixture *f = *state;
    if (!mock_ns_available(NULL)) {
        skip(); /* the host fallback cannot contain `setsid cmd &`: the README says so */
        return;
    }
    char cwd[400];
    snprintf(cwd, sizeof cwd, "%s/workspace", f->root);
    pid_t pid;
    run_sh(f, cwd,
           "setsid sleep 7777.25 >/dev/null 2>&1 & sleep 7777.5 >/dev/null 2>&1 & echo ok; "
           "exec sleep 7777.75 >/dev/null 2>&1",
           &pid);
    for (int i = 0; i < 100 && !process_alive("sleep 7777.25"); i++)
        nap_ms(20);
    assert_true(process_alive("sleep 7777.25"));
    kill(-pid, SIGKILL); /* the command itself ends */
    int st;
    waitpid(pid, &st, 0);
    for (int i = 0; i < 100 && process_alive("sleep 7777.75"); i++)
        nap_ms(20);
    assert_false(process_alive("sleep 7777.75"));
    assert_true(process_alive("sleep 7777.25"));
    /* a later command sees them: one pid namespace per sandbox */
    const char *out = run_sh(f, cwd, "pgrep -c -f 'sleep 7777'", NULL);
    assert_string_equal(out, "2\n");
    mock_ns_release(f->root);
    for (int i = 0; i < 250 && process_alive("sleep 7777."); i++)
        nap_ms(20);
    assert_false(process_alive("sleep 7777.25"));
    assert_false(process_alive("sleep 7777.5"));
}

/* Through each vendor's mock and sandprobe's own client, as a user runs it: the sandbox's
 * paths inside, the same files for exec and the file API (issue 7 "Done when"). */
static void exec_ok(struct sp_sandbox *sb, const char *cmd, const char *want)
{
    struct sp_error err;
    struct sp_exec x;
    sp_exec_init(&x, cmd);
    assert_int_equal(sp_exec(sb, &x, &err), SP_E_OK);
    if (x.exit_code != 0)
        print_message("%s: exit %d, out [%s] err [%s]\n", cmd, x.exit_code, sp_buf_str(&x.out),
                      sp_buf_str(&x.err));
    assert_int_equal(x.exit_code, 0);
    /* the action server strips the final newline, the others keep it */
    const char *out = sp_buf_str(&x.out);
    size_t n = strlen(out) - (out[0] && out[strlen(out) - 1] == '\n');
    assert_int_equal(n, strlen(want));
    assert_memory_equal(out, want, n);
    sp_exec_cleanup(&x);
}

/* delete: 1 = the sandbox is deleted (its processes go), 0 = the mock stops with it. */
static void exec_in_vendor(const char *provider, const char *mode, int delete)
{
    struct sp_mock_config cfg = {
        .vendor = provider,
        .latency =
            {.create_ms = 10, .start_ms = 10, .stop_ms = 10, .delete_ms = 10, .server_ms = 20},
        .has_latency = true,
        .quiet = true,
    };
    struct sp_error err;
    char text[384];
    sp_error_clear(&err);
    struct sp_mock *m = NULL;
    if (sp_mock_start(&cfg, &m, &err) != SP_E_OK)
        fail_msg("sp_mock_start: %s", sp_error_format(&err, text, sizeof(text)));
    struct sp_client_opts opts = {.http_timeout_ms = 30000,
                                  .connect_timeout_ms = 5000,
                                  .ready_timeout_ms = 30000,
                                  .alive_interval_ms = 50,
                                  .alive_timeout_ms = 30000,
                                  .mode = mode};
    struct sp_client *c = NULL;
    struct sp_sandbox *sb = NULL;
    struct sp_create_opts co = {0};
    if (sp_client_new(provider, sp_mock_env(m), &opts, &c, &err) != SP_E_OK ||
        sp_sandbox_create(c, &co, &sb, &err) != SP_E_OK || sp_sandbox_startup(sb, &err) != SP_E_OK)
        fail_msg("%s: %s", provider, sp_error_format(&err, text, sizeof(text)));
    exec_ok(sb, "mkdir -p /workspace && cd /workspace && pwd && echo hi > /workspace/f.txt",
            "/workspace");
    struct sp_files f;
    sp_files_init(&f, SP_FILE_READ, "/workspace/f.txt");
    assert_int_equal(sp_files(sb, &f, &err), SP_E_OK);
    assert_string_equal(sp_buf_str(&f.content), "hi\n");
    sp_files_cleanup(&f);
    /* a background job outlives its command, as in a real sandbox, until the sandbox goes */
    exec_ok(sb, "(setsid sleep 7778.5 >/dev/null 2>&1 &); echo started", "started");
    assert_true(process_appears("sleep 7778.5"));
    exec_ok(sb, "pgrep -c -f 'sleep 7778'", "1");
    if (delete)
        assert_int_equal(sp_sandbox_cleanup(sb, SP_CLEANUP_DELETE, &err), SP_E_OK);
    sp_sandbox_free(sb);
    sp_client_free(c);
    if (delete) {
        for (int i = 0; i < 250 && process_alive("sleep 7778.5"); i++)
            nap_ms(20);
        assert_false(process_alive("sleep 7778.5"));
    }
    sp_mock_stop(m);
    assert_false(process_alive("sleep 7778.5"));
}

static void test_workspace_in_every_vendor(void **state)
{
    (void)state;
    if (!mock_ns_available(NULL)) {
        skip(); /* on the host, /workspace is the host's: the README says so */
        return;
    }
    exec_in_vendor("daytona", NULL, 1);
    exec_in_vendor("daytona", "toolbox", 1);
    exec_in_vendor("e2b", NULL, 1);
    exec_in_vendor("e2b", NULL, 0); /* issue 10 item 5: the mock's exit ends them too */
    exec_in_vendor("runloop", NULL, 1);
    exec_in_vendor("modal", NULL, 1);
}

/* The fallback, in a child process (the probe runs once per process): SP_MOCK_NO_BWRAP set,
 * two commands run on the host in the sandbox directory, one warning line in all. */
static int fallback_child(void)
{
    setenv("SP_MOCK_NO_BWRAP", "1", 1);
    struct fixture *f = NULL;
    if (setup((void **)&f) != 0)
        return 1;
    char cwd[400];
    snprintf(cwd, sizeof cwd, "%s/workspace", f->root);
    for (int i = 0; i < 2; i++)
        printf("pwd=%s", run_sh(f, cwd, "pwd", NULL));
    fflush(stdout);
    return teardown((void **)&f);
}

static void test_fallback_warns_once(void **state)
{
    (void)state;
    char exe[512], buf[4096] = "";
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 20);
    assert_true(n > 0);
    snprintf(exe + n, sizeof exe - (size_t)n, " --fallback-child 2>&1");
    FILE *p = popen(exe, "r");
    assert_non_null(p);
    size_t got = fread(buf, 1, sizeof buf - 1, p);
    buf[got] = '\0';
    assert_int_equal(pclose(p), 0);
    int warnings = 0;
    for (const char *q = buf; (q = strstr(q, "warning:")) != NULL; q++)
        warnings++;
    assert_int_equal(warnings, 1);
    assert_non_null(strstr(buf, "not under bubblewrap: SP_MOCK_NO_BWRAP is set\n"));
    /* on the host: the sandbox directory's host path */
    const char *pwd = strstr(buf, "pwd=/tmp/sandprobe-mock-");
    assert_non_null(pwd);
    assert_non_null(strstr(pwd, "/sb1/workspace\n"));
}

/* A mock that gets SIGKILLed: started in a child process, which reports "ready" once a
 * sandbox of it runs a background job. */
static int killed_mock_child(void)
{
    struct sp_mock_config cfg = {.vendor = "e2b", .has_latency = true, .quiet = true};
    struct sp_error err;
    struct sp_mock *m = NULL;
    struct sp_client *c = NULL;
    struct sp_sandbox *sb = NULL;
    struct sp_create_opts co = {0};
    struct sp_client_opts opts = {.http_timeout_ms = 30000,
                                  .connect_timeout_ms = 5000,
                                  .ready_timeout_ms = 30000,
                                  .alive_interval_ms = 50,
                                  .alive_timeout_ms = 30000};
    if (sp_mock_start(&cfg, &m, &err) != SP_E_OK ||
        sp_client_new("e2b", sp_mock_env(m), &opts, &c, &err) != SP_E_OK ||
        sp_sandbox_create(c, &co, &sb, &err) != SP_E_OK || sp_sandbox_startup(sb, &err) != SP_E_OK)
        return 1;
    struct sp_exec x;
    sp_exec_init(&x, "(setsid sleep 7779.5 >/dev/null 2>&1 &); echo ok");
    if (sp_exec(sb, &x, &err) != SP_E_OK)
        return 1;
    printf("ready\n");
    fflush(stdout);
    for (;;)
        pause();
}

static void test_killed_mock_leaves_nothing(void **state)
{
    (void)state;
    if (!mock_ns_available(NULL)) {
        skip();
        return;
    }
    int out[2];
    char tmp[] = "/tmp/sp-killed-XXXXXX", rm[64];
    assert_non_null(mkdtemp(tmp)); /* where the killed mock leaves its store */
    assert_int_equal(pipe(out), 0);
    pid_t pid = fork();
    if (pid == 0) {
        setenv("TMPDIR", tmp, 1);
        dup2(out[1], 1);
        execl("/proc/self/exe", "test_sandbox_ns", "--killed-mock-child", (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    char buf[64] = "";
    ssize_t n = read(out[0], buf, sizeof buf - 1);
    close(out[0]);
    bool ready = n > 0 && strncmp(buf, "ready", 5) == 0;
    bool started = ready && process_appears("sleep 7779.5");
    kill(pid, SIGKILL); /* no cleanup runs: --die-with-parent must end the sandbox */
    int st;
    waitpid(pid, &st, 0);
    assert_true(ready);
    assert_true(started);
    for (int i = 0; i < 250 && process_alive("sleep 7779.5"); i++)
        nap_ms(20);
    assert_false(process_alive("sleep 7779.5"));
    snprintf(rm, sizeof rm, "rm -rf '%s'", tmp);
    assert_int_equal(system(rm), 0);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--fallback-child") == 0)
        return fallback_child();
    if (argc > 1 && strcmp(argv[1], "--killed-mock-child") == 0)
        return killed_mock_child();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_root_of, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sandbox_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_background_lives_until_release, setup, teardown),
        cmocka_unit_test(test_workspace_in_every_vendor),
        cmocka_unit_test(test_fallback_warns_once),
        cmocka_unit_test(test_killed_mock_leaves_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
