/* The action server's bash session (spec/openhands-action-server.md 3.5; OpenHands
 * runtime/utils/bash.py runs bash in a tmux pane): one interactive bash per sandbox on a
 * pseudo-terminal, so brace expansion, [[ ]], `source`, `echo -e`, job control and `tty`
 * behave as in the real server. Commands are typed into it; completion is the prompt
 * coming back. A command that outlives a request keeps running: the next request may wait
 * for more of its output, type into it or send a key.
 *
 * The prompt is PROMPT_COMMAND printing "\036SP<token> <status> <cwd>\036" (PS1 and PS2 are
 * empty, so continuation lines print nothing); the per-session random token keeps command
 * output from faking it. The terminal does not echo (its echo would interleave with the
 * output); mock_term_send adds what the terminal would have echoed. The window is
 * 1000x1000, as OpenHands' pane. Processes start through mock_spawn_in, so they run in the
 * sandbox's bubblewrap namespace (sandbox_ns.c). */
#define _GNU_SOURCE
#include "mock_int.h"
#include "proc_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "provider.h" /* sp_now_ms */

#define BASH_PATH  "/bin/bash"
#define TOKEN_HEX  16
#define PREFIX_LEN (3 + TOKEN_HEX + 1)      /* "\036SP" token " " */
#define MARK_MAX   (PREFIX_LEN + 32 + 4096) /* status and a PATH_MAX cwd */
#define CHUNK      16384

struct mock_shell {
    pid_t pid;      /* 0 when no bash runs; it leads its own process group */
    int fd;         /* the terminal's master side, non-blocking */
    bool busy;      /* a typed command has not come back to the prompt */
    char cwd[1024]; /* sandbox path of the last known cwd; a respawn starts there */
    char prefix[PREFIX_LEN + 1];
    char pend[MARK_MAX + CHUNK]; /* bytes that may start the prompt marker */
    size_t npend;
    uint64_t rng;
    struct mock_py *py;   /* the Python kernel of run_ipython (ipython.c) */
    struct mock_aci *aci; /* the editor's undo history (aci_edit.c) */
};

static void shell_kill_reap(struct mock_shell *sh, int *status)
{
    int st = 0;
    if (sh->pid > 0) {
        kill(-sh->pid, SIGKILL);
        while (waitpid(sh->pid, &st, 0) < 0 && errno == EINTR) {
        }
    }
    if (status != NULL)
        *status = st;
    sh->pid = 0;
    sh->busy = false;
    sh->npend = 0;
    if (sh->fd >= 0)
        close(sh->fd);
    sh->fd = -1;
}

void mock_shell_free(struct mock_shell *sh)
{
    if (sh == NULL)
        return;
    shell_kill_reap(sh, NULL);
    mock_py_free(sh->py);
    mock_aci_free(sh->aci);
    free(sh);
}

static void make_prefix(struct mock_shell *sh)
{
    /* splitmix64: a fresh token per session; not a secret, only unlikely in real output */
    uint64_t z = (sh->rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    snprintf(sh->prefix, sizeof sh->prefix, "\036SP%016llx ", (unsigned long long)z);
}

/* A terminal pair: our master (non-blocking), and the slave with echo and \n -> \r\n off. */
static int open_terminal(int *master, int *slave)
{
    char name[128];
    *master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (*master < 0)
        return -1;
    struct winsize ws = {.ws_row = 1000, .ws_col = 1000};
    struct termios t;
    if (grantpt(*master) != 0 || unlockpt(*master) != 0 ||
        ptsname_r(*master, name, sizeof name) != 0 ||
        (*slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
        close(*master);
        return -1;
    }
    if (tcgetattr(*slave, &t) == 0) {
        t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
        t.c_oflag &= ~(tcflag_t)ONLCR;
        tcsetattr(*slave, TCSANOW, &t);
    }
    ioctl(*slave, TIOCSWINSZ, &ws);
    fcntl(*master, F_SETFL, fcntl(*master, F_GETFL) | O_NONBLOCK);
    return 0;
}

/* The setup line typed first: prompt marker, empty prompts, the server's init commands. */
static void setup_line(const struct mock_shell *sh, struct sp_buf *b)
{
    sp_buf_printf(b,
                  "PS1=; PS2=; PROMPT_COMMAND='printf \"\\036SP%s %%s %%s\\036\" \"$?\" "
                  "\"$PWD\"'; alias git='git --no-pager'\n",
                  sh->prefix + 3);
}

static int write_all(int fd, const char *p, size_t n, long wait_ms);
static enum mock_term_state wait_prompt(
    struct mock_shell *sh, long hard_ms, long soft_ms, size_t cap, struct sp_buf *out, int *code);

static int shell_spawn(struct mock_sandbox *sb, struct mock_shell *sh, const char *workdir)
{
    char path[4096], root[1024], home[1100];
    char a0[] = "bash", a1[] = "--norc", a2[] = "--noprofile", a3[] = "--noediting", a4[] = "-i";
    char *argv[] = {a0, a1, a2, a3, a4, NULL};
    snprintf(root, sizeof root, "%s", sb->root);
    snprintf(home, sizeof home, "%s", workdir);
    char **envp = mock_env_build(home, &sb->env, path, sizeof path);
    int master = -1, slave = -1, rc = -1;
    if (envp == NULL || open_terminal(&master, &slave) != 0)
        goto out;
    /* TERM as tmux sets it; a respawn starts in the last cwd, else the working dir. */
    struct mock_spawn_spec s = {BASH_PATH, argv,  envp,  sh->cwd[0] ? sh->cwd : workdir,
                                workdir,   slave, slave, slave};
    if (mock_spawn_in(&s, root, &sh->pid) != 0)
        goto out;
    sh->fd = master;
    master = -1;
    make_prefix(sh);
    struct sp_buf b, junk;
    sp_buf_init(&b, 0);
    sp_buf_init(&junk, 1 << 20);
    setup_line(sh, &b);
    int code = 0;
    sh->busy = true;
    if (write_all(sh->fd, b.data, b.len, 10000) == 0 &&
        wait_prompt(sh, 20000, 0, 1 << 20, &junk, &code) == MOCK_TERM_DONE)
        rc = 0;
    sp_buf_cleanup(&b);
    sp_buf_cleanup(&junk);
    if (rc != 0)
        shell_kill_reap(sh, NULL);
out:
    if (master >= 0)
        close(master);
    if (slave >= 0)
        close(slave);
    mock_strv_free(envp);
    return rc;
}

static bool child_exited(pid_t pid)
{
    siginfo_t info;
    memset(&info, 0, sizeof info);
    return waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid;
}

static struct mock_shell *shell_struct(struct mock_sandbox *sb)
{
    if (sb->shell == NULL) {
        if ((sb->shell = calloc(1, sizeof *sb->shell)) == NULL)
            return NULL;
        sb->shell->fd = -1;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        sb->shell->rng = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^
                         (uint64_t)(uintptr_t)sb->shell ^ (uint64_t)getpid();
    }
    return sb->shell;
}

struct mock_py **mock_term_py_slot(struct mock_sandbox *sb)
{
    struct mock_shell *sh = shell_struct(sb);
    return sh ? &sh->py : NULL;
}

struct mock_aci **mock_term_aci_slot(struct mock_sandbox *sb)
{
    struct mock_shell *sh = shell_struct(sb);
    return sh ? &sh->aci : NULL;
}

static int shell_ensure(struct mock_sandbox *sb, const char *workdir)
{
    struct mock_shell *sh = shell_struct(sb);
    if (sh == NULL)
        return -1;
    if (sh->pid > 0 && child_exited(sh->pid))
        shell_kill_reap(sh, NULL);
    return sh->pid > 0 ? 0 : shell_spawn(sb, sh, workdir);
}

/* Writes everything, reading (and keeping) nothing meanwhile: input goes to bash's tty
 * buffer, which a command that does not read may leave full; then we stop at wait_ms. */
static int write_all(int fd, const char *p, size_t n, long wait_ms)
{
    int64_t deadline = sp_now_ms() + wait_ms;
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k > 0) {
            p += k;
            n -= (size_t)k;
            continue;
        }
        if (k < 0 && errno != EAGAIN && errno != EINTR)
            return -1;
        int64_t left = deadline - sp_now_ms();
        if (left <= 0)
            return -1;
        struct pollfd pfd = {fd, POLLOUT, 0};
        poll(&pfd, 1, left > 100 ? 100 : (int)left);
    }
    return 0;
}

int mock_term_send(
    struct mock_sandbox *sb, const char *workdir, const char *text, bool enter, const char *echo)
{
    if (shell_ensure(sb, workdir) != 0)
        return -1;
    struct mock_shell *sh = sb->shell;
    if (echo != NULL && echo[0] != '\0') {
        /* what the terminal shows goes after the output already produced */
        size_t n = strlen(echo);
        if (sh->npend + n < sizeof sh->pend) {
            memcpy(sh->pend + sh->npend, echo, n);
            sh->npend += n;
        }
    }
    sh->busy = true;
    if (write_all(sh->fd, text, strlen(text), 10000) != 0 ||
        (enter && write_all(sh->fd, "\n", 1, 10000) != 0))
        return -1;
    return 0;
}

bool mock_term_busy(const struct mock_sandbox *sb)
{
    return sb->shell != NULL && sb->shell->pid > 0 && sb->shell->busy;
}

/* --- reading up to the prompt ------------------------------------------------------------- */

static void keep(struct sp_buf *out, size_t cap, const char *p, size_t n)
{
    size_t room = out->len < cap ? cap - out->len : 0;
    sp_buf_append(out, p, n < room ? n : room);
}

/* Offset of the first byte that starts the marker prefix, or of a partial prefix at the end. */
static size_t prefix_at(const struct mock_shell *sh, const char *p, size_t len)
{
    for (const char *q = p; (q = memchr(q, '\036', len - (size_t)(q - p))) != NULL; q++) {
        size_t avail = len - (size_t)(q - p);
        size_t m = avail < PREFIX_LEN ? avail : PREFIX_LEN;
        if (memcmp(q, sh->prefix, m) == 0)
            return (size_t)(q - p);
    }
    return len;
}

/* Moves pending output to out; true with *code set when a marker completed. */
static bool scan(struct mock_shell *sh, size_t cap, struct sp_buf *out, int *code)
{
    for (;;) {
        size_t at = prefix_at(sh, sh->pend, sh->npend);
        keep(out, cap, sh->pend, at);
        memmove(sh->pend, sh->pend + at, sh->npend - at);
        sh->npend -= at;
        if (sh->npend < PREFIX_LEN)
            return false;
        const char *body = sh->pend + PREFIX_LEN;
        const char *end = memchr(body, '\036', sh->npend - PREFIX_LEN);
        if (end == NULL) {
            if (sh->npend <= MARK_MAX)
                return false;
            keep(out, cap, sh->pend, 1); /* too long to be ours */
            memmove(sh->pend, sh->pend + 1, --sh->npend);
            continue;
        }
        char text[MARK_MAX + 1];
        size_t tl = (size_t)(end - body);
        memcpy(text, body, tl);
        text[tl] = '\0';
        char *rest = NULL;
        *code = (int)strtol(text, &rest, 10);
        if (rest != NULL && rest[0] == ' ' && strlen(rest + 1) < sizeof sh->cwd)
            snprintf(sh->cwd, sizeof sh->cwd, "%s", rest + 1);
        size_t used = (size_t)(end + 1 - sh->pend);
        memmove(sh->pend, sh->pend + used, sh->npend - used);
        sh->npend -= used;
        sh->busy = false;
        return true;
    }
}

static enum mock_term_state wait_prompt(
    struct mock_shell *sh, long hard_ms, long soft_ms, size_t cap, struct sp_buf *out, int *code)
{
    int64_t start = sp_now_ms(), last_change = start;
    for (;;) {
        if (scan(sh, cap, out, code))
            return MOCK_TERM_DONE;
        int64_t now = sp_now_ms(), wait = 500;
        if (hard_ms > 0 && now - start >= hard_ms)
            return MOCK_TERM_HARD;
        if (soft_ms > 0 && now - last_change >= soft_ms)
            return MOCK_TERM_SOFT;
        if (hard_ms > 0 && start + hard_ms - now < wait)
            wait = start + hard_ms - now;
        if (soft_ms > 0 && last_change + soft_ms - now < wait)
            wait = last_change + soft_ms - now;
        struct pollfd pfd = {sh->fd, POLLIN, 0};
        int k = poll(&pfd, 1, (int)(wait > 0 ? wait : 0));
        if (k <= 0)
            continue;
        ssize_t n = read(sh->fd, sh->pend + sh->npend, sizeof sh->pend - sh->npend);
        if (n > 0) {
            sh->npend += (size_t)n;
            last_change = sp_now_ms();
        } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
            return MOCK_TERM_EXITED; /* EIO: every holder of the terminal is gone */
        }
    }
}

enum mock_term_state mock_term_wait(struct mock_sandbox *sb,
                                    long hard_ms,
                                    long soft_ms,
                                    size_t cap,
                                    struct sp_buf *out,
                                    int *exit_code,
                                    char *cwd,
                                    size_t cwdlen)
{
    struct mock_shell *sh = sb->shell;
    *exit_code = -1;
    if (sh == NULL || sh->pid <= 0)
        return MOCK_TERM_ERROR;
    enum mock_term_state st = wait_prompt(sh, hard_ms, soft_ms, cap, out, exit_code);
    if (st == MOCK_TERM_EXITED || (st != MOCK_TERM_DONE && child_exited(sh->pid))) {
        int status = 0;
        keep(out, cap, sh->pend, sh->npend);
        shell_kill_reap(sh, &status);
        *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        st = MOCK_TERM_EXITED;
    }
    snprintf(cwd, cwdlen, "%s", sh->cwd);
    return st;
}

/* --- rendering ------------------------------------------------------------------------------ */

/* Length of the escape sequence at p (ESC included); it is dropped from the screen. */
static size_t escape_len(const char *p, size_t n, bool *erase_line)
{
    *erase_line = false;
    if (n < 2)
        return n;
    if (p[1] == '[') { /* CSI: parameters, then a final byte 0x40-0x7e */
        size_t i = 2;
        while (i < n && (unsigned char)p[i] >= 0x20 && (unsigned char)p[i] < 0x40)
            i++;
        if (i < n && p[i] == 'K')
            *erase_line = true;
        return i < n ? i + 1 : n;
    }
    if (p[1] == ']') { /* OSC: up to BEL or ST */
        for (size_t i = 2; i < n; i++)
            if (p[i] == '\a' || (p[i] == '\033' && i + 1 < n && p[i + 1] == '\\'))
                return i + (p[i] == '\a' ? 1 : 2);
        return n;
    }
    return 2;
}

static void flush_line(struct sp_buf *out, char *line, size_t len)
{
    while (len > 0 && line[len - 1] == ' ')
        len--;
    sp_buf_append(out, line, len);
}

void mock_term_render(const char *raw, size_t len, struct sp_buf *out)
{
    size_t cap = 256, used = 0, col = 0;
    char *line = malloc(cap);
    if (line == NULL)
        return;
    for (size_t i = 0; i < len; i++) {
        char c = raw[i];
        bool erase;
        if (c == '\n') {
            flush_line(out, line, used);
            sp_buf_append(out, "\n", 1);
            used = col = 0;
        } else if (c == '\r') {
            col = 0;
        } else if (c == '\b') {
            col -= col > 0;
        } else if (c == '\033') {
            size_t e = escape_len(raw + i, len - i, &erase);
            if (erase && col < used)
                used = col;
            i += e - 1;
        } else if ((unsigned char)c < 0x20 && c != '\t') {
            continue; /* bell and other controls: nothing on screen */
        } else {
            size_t to = c == '\t' ? (col / 8 + 1) * 8 : col + 1;
            if (to + 1 > cap) {
                char *nl = realloc(line, cap = (to + 1) * 2);
                if (nl == NULL)
                    break;
                line = nl;
            }
            while (used < col)
                line[used++] = ' ';
            if (c == '\t') {
                while (col < to) {
                    if (col >= used)
                        line[used++] = ' ';
                    col++;
                }
            } else {
                line[col++] = c;
                if (col > used)
                    used = col;
            }
        }
    }
    flush_line(out, line, used);
    free(line);
}
