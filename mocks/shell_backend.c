/* The persistent /bin/sh of each mock sandbox, so cwd and exported variables persist
 * between commands as in the OpenHands action server's bash session
 * (spec/openhands-action-server.md, "Bash (run)"). One-shot processes, and the spawning
 * both use, are in proc.c.
 *
 * Each command goes to the shell wrapped in a function that runs it with `command eval`
 * (so a syntax error or a failing special builtin does not end the shell), stdin from
 * /dev/null, and is followed by an end marker "\036SP<token> <rc> <r|x> <pwd>\036" on
 * stdout (and on stderr unless the streams are merged): rc is the exit status, pwd the
 * shell's cwd, and the per-command random token keeps command output from faking it. An
 * EXIT trap prints the marker with "x" when the command ends the shell (`exit 3`, `set -e`):
 * the status is reported, the shell's process group is killed, and the next command starts
 * a new shell in the last cwd (exports are lost, as with a fresh bash session). */

/* SOCK_CLOEXEC: descriptors must not leak into processes forked at
 * the same time by other server threads. */
#define _GNU_SOURCE
#include "mock_int.h"
#include "proc_int.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "provider.h" /* sp_now_ms */

#define SHELL_PATH "/bin/sh"
#define TOKEN_HEX  16
#define PREFIX_LEN (3 + TOKEN_HEX + 1)      /* "\036SP" token " " */
#define MARK_MAX   (PREFIX_LEN + 32 + 4096) /* rc, flag and a PATH_MAX cwd */
#define CHUNK      16384

/* Defined once in the shell; the marker printf uses octal escapes, which dash's printf
 * understands. `command` bypasses any function a user command defines with these names. */
static const char PRELUDE[] =
    "__sp_run() { __sp_c=$1; shift; command eval \"$__sp_c\"; }\n"
    "__sp_end() { command printf '\\036SP%s %s %s %s\\036' \"$__sp_tok\" \"$1\" \"$2\" \"$PWD\";"
    " [ \"$__sp_m\" = 1 ] || command printf '\\036SP%s %s %s %s\\036' \"$__sp_tok\" \"$1\""
    " \"$2\" \"$PWD\" >&2; }\n"
    "trap '__sp_end $? x' EXIT\n";

struct mock_shell {
    pid_t pid;          /* 0 when no shell runs; it leads its own process group */
    int in_fd;          /* our end of the shell's stdin, a socket: see run_send */
    int out_fd, err_fd; /* non-blocking read ends of its stdout and stderr */
    char cwd[1024];     /* host path of the last known cwd; a respawn starts there */
    char home[1024];
    uint64_t rng;
};

/* --- the persistent shell ---------------------------------------------------------------- */

/* env: the sandbox's own variables (given at create), as a container's processes see them. */
static int shell_spawn(struct mock_shell *sh, const char *workdir, const struct sp_kv *env)
{
    char path[4096], name[] = "sh";
    char *argv[] = {name, NULL};
    char **envp = mock_env_build(sh->home, env, path, sizeof path);
    int in[2] = {-1, -1}, fds[4] = {-1, -1, -1, -1};
    int rc = -1;
    /* stdin is a socket so that run_send can use MSG_NOSIGNAL: a shell that died must
     * give EPIPE, not a SIGPIPE that would kill the whole server. */
    if (envp == NULL || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) != 0 ||
        mock_output_pipes(fds) != 0)
        goto out;
    struct mock_spawn_spec s = {SHELL_PATH, argv, envp, sh->cwd, workdir, in[1], fds[1], fds[3]};
    if (mock_spawn(&s, &sh->pid) != 0)
        goto out;
    sh->in_fd = in[0];
    sh->out_fd = fds[0];
    sh->err_fd = fds[2];
    in[0] = fds[0] = fds[2] = -1;
    rc = 0;
out:
    mock_close_fd(&in[0]);
    mock_close_fd(&in[1]);
    for (int i = 0; i < 4; i++)
        mock_close_fd(&fds[i]);
    mock_strv_free(envp);
    return rc;
}

/* Kills the shell's process group (whatever it left running) and reaps the shell. The
 * group id stays reserved while the shell is unreaped, so the kill cannot hit a stranger. */
static int shell_kill_reap(struct mock_shell *sh)
{
    int status = 0;
    if (sh->pid <= 0)
        return 0;
    kill(-sh->pid, SIGKILL);
    while (waitpid(sh->pid, &status, 0) < 0 && errno == EINTR) {
    }
    sh->pid = 0;
    return status;
}

static void shell_close(struct mock_shell *sh)
{
    mock_close_fd(&sh->in_fd);
    mock_close_fd(&sh->out_fd);
    mock_close_fd(&sh->err_fd);
}

/* True when the child has exited (it is left unreaped). */
static bool child_exited(pid_t pid)
{
    siginfo_t info;
    memset(&info, 0, sizeof info);
    return waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid;
}

static struct mock_shell *shell_new(const char *workdir)
{
    struct mock_shell *sh = calloc(1, sizeof *sh);
    if (sh == NULL)
        return NULL;
    sh->in_fd = sh->out_fd = sh->err_fd = -1;
    snprintf(sh->cwd, sizeof sh->cwd, "%s", workdir);
    snprintf(sh->home, sizeof sh->home, "%s", workdir);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    sh->rng = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)(uintptr_t)sh ^
              (uint64_t)getpid();
    return sh;
}

void mock_shell_free(struct mock_shell *sh)
{
    if (sh == NULL)
        return;
    shell_kill_reap(sh);
    shell_close(sh);
    free(sh);
}

void mock_shell_result_init(struct mock_shell_result *res, size_t cap)
{
    memset(res, 0, sizeof *res);
    sp_buf_init(&res->out, cap);
    sp_buf_init(&res->err, cap);
}

void mock_shell_result_cleanup(struct mock_shell_result *res)
{
    if (res == NULL)
        return;
    sp_buf_cleanup(&res->out);
    sp_buf_cleanup(&res->err);
}

/* --- running one command ------------------------------------------------------------------ */

/* One output stream of a command, scanned for its end marker. Bytes that may start a marker
 * wait in pend until the marker is complete or proves not to be one. */
struct scan {
    int fd;
    struct sp_buf *dst;
    bool find_marker; /* false for stderr when merged: it only carries shell diagnostics */
    bool eof, done;   /* done: marker seen or end of stream */
    bool marked;
    char flag; /* 'r' command ended, 'x' the shell is exiting */
    int rc;
    char pend[MARK_MAX + CHUNK];
    size_t npend;
};

struct run {
    struct mock_shell *sh;
    struct mock_shell_result *res;
    bool merge;
    char prefix[PREFIX_LEN + 1];
    struct sp_buf script;
    size_t sent;
    int64_t deadline; /* monotonic ms; 0 = none */
    struct scan sc[2];
};

/* Appends output up to the cap; past it the bytes are dropped and `truncated` set. */
static void commit(struct run *r, struct sp_buf *dst, const char *p, size_t n)
{
    size_t room = dst->max - dst->len;
    if (n > room) {
        r->res->truncated = true;
        n = room;
    }
    if (n > 0 && sp_buf_append(dst, p, n) != 0)
        r->res->truncated = true;
}

static void marker_parse(struct run *r, struct scan *s, const char *body, size_t len)
{
    char text[MARK_MAX + 1];
    memcpy(text, body, len);
    text[len] = '\0';
    char *end = NULL;
    long rc = strtol(text, &end, 10);
    s->marked = s->done = true;
    s->rc = (int)rc;
    s->flag = (end[0] == ' ' && end[1] != '\0') ? end[1] : 'x';
    if (s != &r->sc[0] || end[0] != ' ' || end[1] == '\0' || end[2] != ' ')
        return;
    if (strlen(end + 3) < sizeof r->sh->cwd)
        snprintf(r->sh->cwd, sizeof r->sh->cwd, "%s", end + 3);
}

/* Offset of the first byte that starts the marker prefix, or of a partial prefix at the
 * end of the data; len when there is none. */
static size_t prefix_at(const struct run *r, const char *p, size_t len)
{
    for (const char *q = p; (q = memchr(q, '\036', len - (size_t)(q - p))) != NULL; q++) {
        size_t avail = len - (size_t)(q - p);
        size_t m = avail < PREFIX_LEN ? avail : PREFIX_LEN;
        if (memcmp(q, r->prefix, m) == 0)
            return (size_t)(q - p);
    }
    return len;
}

static void scan_feed(struct run *r, struct scan *s, const char *p, size_t n)
{
    if (!s->find_marker) {
        commit(r, s->dst, p, n);
        return;
    }
    if (s->done)
        return; /* after the marker: output of background processes, dropped */
    memcpy(s->pend + s->npend, p, n);
    s->npend += n;
    size_t at = prefix_at(r, s->pend, s->npend);
    commit(r, s->dst, s->pend, at);
    size_t rest = s->npend - at;
    memmove(s->pend, s->pend + at, rest);
    s->npend = rest;
    if (rest < PREFIX_LEN)
        return;
    const char *body = s->pend + PREFIX_LEN;
    const char *end = memchr(body, '\036', rest - PREFIX_LEN);
    if (end != NULL) {
        marker_parse(r, s, body, (size_t)(end - body));
        s->npend = 0;
    } else if (rest > MARK_MAX) { /* too long to be ours: plain output */
        commit(r, s->dst, s->pend, rest);
        s->npend = 0;
    }
}

/* Reads once from a stream; notes its end. */
static void pump_output(struct run *r, struct scan *s)
{
    char chunk[CHUNK];
    ssize_t n = read(s->fd, chunk, sizeof chunk);
    if (n > 0)
        scan_feed(r, s, chunk, (size_t)n);
    else if (n == 0 || (errno != EAGAIN && errno != EINTR))
        s->eof = s->done = true;
}

/* Reads whatever is left once the shell is gone (non-blocking: an escaped background
 * process may still hold the pipe), then flushes bytes held back as a possible marker. */
static void drain(struct run *r)
{
    for (int i = 0; i < 2; i++) {
        struct scan *s = &r->sc[i];
        while (!s->eof && (!s->done || !s->find_marker)) {
            char chunk[CHUNK];
            ssize_t n = read(s->fd, chunk, sizeof chunk);
            if (n <= 0)
                break;
            scan_feed(r, s, chunk, (size_t)n);
        }
        if (!s->marked && s->npend > 0)
            commit(r, s->dst, s->pend, s->npend);
        s->npend = 0;
    }
}

/* Sends more of the script. The shell reads it while it runs the command, so the send
 * must not block while the command fills our output pipes. */
static void run_send(struct run *r)
{
    ssize_t n = send(r->sh->in_fd, r->script.data + r->sent, r->script.len - r->sent,
                     MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0)
        r->sent += (size_t)n;
    else if (n < 0 && errno != EAGAIN && errno != EINTR)
        r->sent = r->script.len; /* the shell is gone; its end of output will tell */
}

static int run_wait_ms(const struct run *r)
{
    if (r->deadline == 0)
        return -1;
    int64_t left = r->deadline - sp_now_ms();
    return left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
}

enum run_outcome { RUN_DONE, RUN_EXITED, RUN_TIMEOUT };

static enum run_outcome run_loop(struct run *r)
{
    for (;;) {
        struct scan *o = &r->sc[0], *e = &r->sc[1];
        if (o->done && (!o->marked || o->flag != 'r'))
            return RUN_EXITED;
        if (o->done && (r->merge || e->done))
            return RUN_DONE;
        struct pollfd pfd[3];
        struct scan *who[3];
        nfds_t n = 0;
        if (r->sent < r->script.len)
            pfd[n++] = (struct pollfd){.fd = r->sh->in_fd, .events = POLLOUT};
        for (int i = 0; i < 2; i++) {
            if (!r->sc[i].eof && !(r->sc[i].done && r->sc[i].find_marker)) {
                who[n] = &r->sc[i];
                pfd[n++] = (struct pollfd){.fd = r->sc[i].fd, .events = POLLIN};
            }
        }
        int wait = run_wait_ms(r);
        if (wait == 0)
            return RUN_TIMEOUT;
        int k = poll(pfd, n, wait);
        if (k < 0 && errno != EINTR)
            return RUN_TIMEOUT; /* cannot wait any more: treated as a timeout */
        for (nfds_t i = 0; k > 0 && i < n; i++) {
            if (pfd[i].revents == 0)
                continue;
            if (pfd[i].fd == r->sh->in_fd)
                run_send(r);
            else
                pump_output(r, who[i]);
        }
    }
}

/* The command ended the shell (or closed its output): wait for the shell to exit until the
 * deadline, then end its session and take its status. */
static void finish_exited(struct run *r)
{
    struct mock_shell *sh = r->sh;
    while (!child_exited(sh->pid) && run_wait_ms(r) != 0) {
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    bool exited = child_exited(sh->pid);
    int status = shell_kill_reap(sh);
    drain(r);
    if (r->sc[0].marked)
        r->res->exit_code = r->sc[0].rc;
    else if (exited && WIFEXITED(status))
        r->res->exit_code = WEXITSTATUS(status);
    else if (exited && WIFSIGNALED(status))
        r->res->exit_code = 128 + WTERMSIG(status);
    if (!exited) {
        r->res->timed_out = true;
        r->res->exit_code = -1;
    }
}

static int build_script(struct run *r, bool fresh, const char *cmd)
{
    struct sp_buf *b = &r->script;
    if (fresh && sp_buf_puts(b, PRELUDE) != 0)
        return -1;
    /* prefix + 3 is the token; the command goes in single quotes, each ' as '\'' */
    if (sp_buf_printf(b, "__sp_tok=%s __sp_m=%d\n__sp_run '", r->prefix + 3, r->merge) != 0)
        return -1;
    for (const char *p = cmd; *p != '\0';) {
        size_t n = strcspn(p, "'");
        if (sp_buf_append(b, p, n) != 0 || (p[n] == '\'' && sp_buf_puts(b, "'\\''") != 0))
            return -1;
        p += n + (p[n] == '\'');
    }
    return sp_buf_printf(b, "' </dev/null%s\n__sp_end $? r\n", r->merge ? " 2>&1" : "");
}

static void make_prefix(struct mock_shell *sh, char *out)
{
    /* splitmix64: a fresh token per command; not a secret, only unlikely in real output */
    uint64_t z = (sh->rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    snprintf(out, PREFIX_LEN + 1, "\036SP%016llx ", (unsigned long long)z);
}

/* Starts the shell when none runs (first use, or the last one ended or was killed). */
static int shell_ensure(struct mock_sandbox *sb, const char *workdir, bool *fresh)
{
    if (sb->shell == NULL && (sb->shell = shell_new(workdir)) == NULL)
        return -1;
    struct mock_shell *sh = sb->shell;
    if (sh->pid > 0 && child_exited(sh->pid)) {
        shell_kill_reap(sh);
        shell_close(sh);
    }
    *fresh = sh->pid == 0;
    return *fresh ? shell_spawn(sh, workdir, &sb->env) : 0;
}

/* timeout_ms <= 0 waits without limit. exit_code is the command's status; when the command
 * ended the shell it is the status the shell exited with (128 + signal when killed). */
int mock_shell_run(struct mock_sandbox *sb,
                   const char *workdir,
                   const char *cmd,
                   long timeout_ms,
                   bool merge_stderr,
                   struct mock_shell_result *res)
{
    bool fresh = false;
    res->exit_code = 0;
    res->timed_out = res->truncated = false;
    sp_buf_reset(&res->out);
    sp_buf_reset(&res->err);
    if (cmd == NULL || workdir == NULL || shell_ensure(sb, workdir, &fresh) != 0)
        return -1;
    struct run *r = calloc(1, sizeof *r);
    if (r == NULL)
        return -1;
    r->sh = sb->shell;
    r->res = res;
    r->merge = merge_stderr;
    r->deadline = timeout_ms > 0 ? sp_now_ms() + timeout_ms : 0;
    r->sc[0] = (struct scan){.fd = r->sh->out_fd, .dst = &res->out, .find_marker = true};
    r->sc[1] = (struct scan){.fd = r->sh->err_fd,
                             .dst = merge_stderr ? &res->out : &res->err,
                             .find_marker = !merge_stderr};
    make_prefix(r->sh, r->prefix);
    sp_buf_init(&r->script, 0);
    int rc = build_script(r, fresh, cmd);
    enum run_outcome how = rc == 0 ? run_loop(r) : RUN_TIMEOUT;
    if (how == RUN_DONE) {
        res->exit_code = r->sc[0].rc;
    } else if (how == RUN_EXITED) {
        finish_exited(r);
    } else {
        shell_kill_reap(r->sh);
        drain(r);
        res->timed_out = rc == 0;
        res->exit_code = -1;
    }
    if (r->sh->pid == 0)
        shell_close(r->sh);
    snprintf(res->cwd, sizeof res->cwd, "%s", r->sh->cwd);
    sp_buf_cleanup(&r->script);
    free(r);
    return rc;
}
