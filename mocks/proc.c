/* Processes inside a mock sandbox: the fork/exec that both the persistent shell
 * (shell_backend.c) and one-shot commands use, and the one-shot processes whose output is
 * read while it is produced (E2B's streamed commands, spec/e2b-modal.md Part A; Daytona's
 * process/execute). Every process gets the sandbox's environment, never the server's. */

/* pipe2 and close_range: descriptors must not leak into processes forked at the same time
 * by other server threads. */
#define _GNU_SOURCE
#include "mock_int.h"
#include "proc_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "provider.h" /* sp_now_ms */

#define BASE_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* --- spawning ---------------------------------------------------------------------------- */

/* What the spawner thread execs: either s as given, or bwrap running it. */
struct spawn_job {
    const struct mock_spawn_spec *s;
    const char *path;
    char *const *argv, *const *envp;
    const char *cwd, *fallback_cwd;
    pid_t pid;
    int err;                      /* 0, or the errno of a failed fork/exec */
    const struct mock_ns_fds *ns; /* enter this sandbox namespace first; NULL = none */
    int extra_fd;                 /* becomes fd 3 of the process; -1 = none */
    bool done;                    /* a spawner ran it (under spawners_mu) */
    struct spawn_job *next;       /* the spawners' queue */
};

/* In the child: joins the sandbox's namespaces, then forks the process proper, which runs
 * inside the pid namespace; this one stays outside, as its stand-in for the caller (same
 * process group, its exit status, its death kills the inner one). Returns in the inner one;
 * -1 (errno set) when a namespace cannot be joined. */
static int enter_namespace(const struct mock_ns_fds *ns, int errfd)
{
    if (setns(ns->ipc, CLONE_NEWIPC) != 0 || setns(ns->uts, CLONE_NEWUTS) != 0 ||
        setns(ns->mnt, CLONE_NEWNS) != 0 || fchdir(ns->root) != 0 || chroot(".") != 0 ||
        setns(ns->pid, CLONE_NEWPID) != 0)
        return -1;
    pid_t inner = fork();
    if (inner < 0)
        return -1;
    if (inner == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        return 0;
    }
    /* This copy of the server never execs: it keeps nothing of it (sockets, other
     * processes' pipes, whose ends would then never see EOF); the inner one reports its exec. */
    (void)errfd;
    if (close_range(3, ~0U, 0) != 0)
        for (int fd = 3; fd < 65536; fd++)
            close(fd);
    int st = 0;
    while (waitpid(inner, &st, 0) < 0 && errno == EINTR) {
    }
    if (WIFSIGNALED(st)) {
        signal(WTERMSIG(st), SIG_DFL);
        kill(getpid(), WTERMSIG(st));
        _exit(128 + WTERMSIG(st));
    }
    _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 127);
}

/* Runs in the forked child, so only async-signal-safe calls: the server is threaded. */
static void child_exec(const struct spawn_job *j, int errfd)
{
    const struct mock_spawn_spec *s = j->s;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL; /* an ignored SIGPIPE would survive execve */
    sigaction(SIGPIPE, &sa, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    setsid();
    int in = s->in_fd >= 0 ? s->in_fd : open("/dev/null", O_RDONLY);
    if (in < 0 || dup2(in, 0) < 0 || dup2(s->out_fd, 1) < 0 || dup2(s->err_fd, 2) < 0)
        goto fail;
    if (isatty(0))
        ioctl(0, TIOCSCTTY, 0); /* a terminal given as stdin becomes the controlling one */
    /* Nothing of the server (sockets, other sandboxes' pipes) may reach the command. */
    if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
        for (int fd = 3; fd < 65536; fd++)
            fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    if (j->extra_fd >= 0 && (dup2(j->extra_fd, 3) < 0 || fcntl(3, F_SETFD, 0) != 0))
        goto fail;
    if (j->ns != NULL && enter_namespace(j->ns, errfd) != 0)
        goto fail;
    if (chdir(j->cwd) != 0 && (j->fallback_cwd == NULL || chdir(j->fallback_cwd) != 0))
        goto fail;
    execve(j->path, j->argv, j->envp);
fail:;
    int e = errno;
    ssize_t w = write(errfd, &e, sizeof e);
    (void)w;
    _exit(127);
}

static void spawn_job_run(struct spawn_job *j)
{
    int ep[2];
    j->err = 0;
    if (pipe2(ep, O_CLOEXEC) != 0) {
        j->err = errno;
        return;
    }
    pid_t p = fork();
    if (p == 0)
        child_exec(j, ep[1]);
    int fork_errno = errno;
    close(ep[1]);
    if (p < 0) {
        close(ep[0]);
        j->err = fork_errno;
        return;
    }
    int child_errno = 0;
    ssize_t n;
    do {
        n = read(ep[0], &child_errno, sizeof child_errno);
    } while (n < 0 && errno == EINTR);
    close(ep[0]);
    if (n == (ssize_t)sizeof child_errno) {
        while (waitpid(p, NULL, 0) < 0 && errno == EINTR) {
        }
        j->err = child_errno ? child_errno : EIO;
        return;
    }
    j->pid = p;
}

/* --- the spawner threads: bwrap's --die-with-parent follows the forking *thread* ----------- */

/* Processes are forked by a few threads that live as long as the server (a request thread
 * would take its children's die-with-parent signal with it when it ends). Several, not one:
 * a fork and the exec that ends it take 150-300 ms in a large process under a sanitizer
 * (page tables copied, then torn down before the exec reports), and 200 sandboxes starting at
 * once queued up to 73 s behind a single spawner thread under ThreadSanitizer, past the
 * clients' 30 s request deadline (test_event_driver's rare "0 bytes received" timeouts).
 * Lock order: spawners_mu is a leaf. */
#define SPAWNERS 4

static pthread_once_t spawner_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t spawners_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t spawners_cv = PTHREAD_COND_INITIALIZER; /* a job queued or done */
static struct spawn_job *queue_head, *queue_tail;             /* posted, not yet taken */
static int spawners_up;

static void *spawner_main(void *arg)
{
    (void)arg;
    /* Signals go to the server's other threads. */
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    pthread_mutex_lock(&spawners_mu);
    for (;;) {
        while (queue_head == NULL)
            pthread_cond_wait(&spawners_cv, &spawners_mu);
        struct spawn_job *j = queue_head;
        queue_head = j->next;
        if (queue_head == NULL)
            queue_tail = NULL;
        pthread_mutex_unlock(&spawners_mu);
        spawn_job_run(j);
        pthread_mutex_lock(&spawners_mu);
        j->done = true;
        pthread_cond_broadcast(&spawners_cv);
    }
    return NULL;
}

static void spawner_start(void)
{
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    for (int i = 0; i < SPAWNERS; i++) {
        pthread_t t;
        spawners_up += pthread_create(&t, &at, spawner_main, NULL) == 0;
    }
    pthread_attr_destroy(&at);
}

static void spawn_job_post(struct spawn_job *j)
{
    pthread_once(&spawner_once, spawner_start);
    if (spawners_up == 0) { /* no thread: fork here (die-with-parent then follows this one) */
        spawn_job_run(j);
        return;
    }
    j->done = false;
    j->next = NULL;
    pthread_mutex_lock(&spawners_mu);
    if (queue_tail)
        queue_tail->next = j;
    else
        queue_head = j;
    queue_tail = j;
    pthread_cond_broadcast(&spawners_cv);
    while (!j->done)
        pthread_cond_wait(&spawners_cv, &spawners_mu);
    pthread_mutex_unlock(&spawners_mu);
}

/* --- sandbox paths ------------------------------------------------------------------------ */

/* The sandbox path of a host path under root, or the path itself when it is a sandbox path. */
static void guest_of(const char *root, const char *path, char *out, size_t len)
{
    size_t rl = strlen(root);
    if (strncmp(path, root, rl) == 0 && (path[rl] == '/' || path[rl] == '\0'))
        snprintf(out, len, "%s", path[rl] ? path + rl : "/");
    else
        snprintf(out, len, "%s", path);
}

static bool host_dir_ok(const char *root, const char *guest)
{
    char host[PATH_MAX];
    struct stat st;
    return snprintf(host, sizeof host, "%s%s", root, guest) < (int)sizeof host &&
           stat(host, &st) == 0 && S_ISDIR(st.st_mode);
}

/* envp with values that name a host path under root turned into sandbox paths (HOME). */
static char **env_in_sandbox(const char *root, char *const *envp)
{
    size_t n = 0, rl = strlen(root);
    while (envp[n] != NULL)
        n++;
    char **v = calloc(n + 1, sizeof *v);
    for (size_t i = 0; v != NULL && i < n; i++) {
        const char *eq = strchr(envp[i], '=');
        const char *val = eq ? eq + 1 : "";
        if (eq != NULL && strncmp(val, root, rl) == 0 && (val[rl] == '/' || val[rl] == '\0')) {
            size_t kl = (size_t)(eq - envp[i]) + 1;
            const char *rest = val[rl] ? val + rl : "/";
            size_t rl2 = strlen(rest) + 1;
            if ((v[i] = malloc(kl + rl2)) != NULL) {
                memcpy(v[i], envp[i], kl);
                memcpy(v[i] + kl, rest, rl2);
            }
        } else {
            v[i] = strdup(envp[i]);
        }
        if (v[i] == NULL) {
            mock_strv_free(v);
            return NULL;
        }
    }
    return v;
}

int mock_spawn_raw(const struct mock_spawn_spec *s, int extra_fd, pid_t *pid)
{
    struct spawn_job j = {s, s->path, s->argv, s->envp,  s->cwd, NULL,
                          0, 0,       NULL,    extra_fd, false,  NULL};
    spawn_job_post(&j);
    if (j.err != 0) {
        errno = j.err;
        return -1;
    }
    *pid = j.pid;
    return 0;
}

int mock_spawn(const struct mock_spawn_spec *s, pid_t *pid)
{
    return mock_spawn_in(s, NULL, pid);
}

int mock_spawn_in(const struct mock_spawn_spec *s, const char *given_root, pid_t *pid)
{
    char root[PATH_MAX], cwd[PATH_MAX], fb[PATH_MAX];
    struct spawn_job j = {s, s->path, s->argv, s->envp, s->cwd, s->fallback_cwd,
                          0, 0,       NULL,    -1,      false,  NULL};
    char **ns_argv = NULL, **ns_env = NULL;
    struct mock_ns_fds fds;
    struct mock_ns *space = NULL;
    bool have_root = given_root != NULL
                         ? snprintf(root, sizeof root, "%s", given_root) > 0
                         : mock_ns_root_of(s->cwd, root, sizeof root) == 0 ||
                               (s->fallback_cwd != NULL &&
                                mock_ns_root_of(s->fallback_cwd, root, sizeof root) == 0);
    if (have_root && mock_ns_available(NULL)) {
        guest_of(root, s->cwd, cwd, sizeof cwd);
        if (!host_dir_ok(root, cwd) && s->fallback_cwd != NULL)
            guest_of(root, s->fallback_cwd, cwd, sizeof cwd);
        space = mock_ns_get(root, &fds);
        ns_argv = space ? NULL : mock_ns_argv(root, cwd, s->path, s->argv);
        ns_env = env_in_sandbox(root, s->envp);
        if ((space == NULL && ns_argv == NULL) || ns_env == NULL) {
            mock_ns_put(space);
            mock_strv_free(ns_argv);
            mock_strv_free(ns_env);
            errno = ENOMEM;
            return -1;
        }
        j.envp = ns_env;
        j.fallback_cwd = NULL;
        if (space != NULL) { /* into the sandbox's namespace, where its other processes run */
            j.ns = &fds;
            j.cwd = cwd;
        } else { /* a namespace of its own */
            j.path = ns_argv[0];
            j.argv = ns_argv;
            j.cwd = "/";
        }
    } else if (have_root) {
        /* on the host: sandbox paths are under the root */
        if (s->cwd[0] == '/' && strncmp(s->cwd, root, strlen(root)) != 0) {
            snprintf(cwd, sizeof cwd, "%s%s", root, s->cwd);
            j.cwd = cwd;
        }
        if (s->fallback_cwd != NULL && s->fallback_cwd[0] == '/' &&
            strncmp(s->fallback_cwd, root, strlen(root)) != 0) {
            snprintf(fb, sizeof fb, "%s%s", root, s->fallback_cwd);
            j.fallback_cwd = fb;
        }
    }
    spawn_job_post(&j);
    mock_ns_put(space);
    mock_strv_free(ns_argv);
    mock_strv_free(ns_env);
    if (j.err != 0) {
        errno = j.err;
        return -1;
    }
    *pid = j.pid;
    return 0;
}

void mock_strv_free(char **v)
{
    for (size_t i = 0; v != NULL && v[i] != NULL; i++)
        free(v[i]);
    free(v);
}

static char **strv_dup(const char *const *argv)
{
    size_t n = 0;
    while (argv[n] != NULL)
        n++;
    char **v = calloc(n + 1, sizeof *v);
    for (size_t i = 0; v != NULL && i < n; i++) {
        if ((v[i] = strdup(argv[i])) == NULL) {
            mock_strv_free(v);
            return NULL;
        }
    }
    return v;
}

char **mock_env_build(const char *home, const struct sp_kv *extra, char *path, size_t plen)
{
    char user[256] = "user", pwbuf[4096];
    struct passwd pw, *found = NULL;
    if (getpwuid_r(getuid(), &pw, pwbuf, sizeof pwbuf, &found) == 0 && found != NULL)
        snprintf(user, sizeof user, "%s", pw.pw_name);
    struct sp_kv kv;
    sp_kv_init(&kv);
    char **v = NULL;
    if (sp_kv_set(&kv, "PATH", BASE_PATH) != 0 || sp_kv_set(&kv, "HOME", home) != 0 ||
        sp_kv_set(&kv, "USER", user) != 0 || sp_kv_set(&kv, "LOGNAME", user) != 0 ||
        sp_kv_set(&kv, "LANG", "C.UTF-8") != 0 || sp_kv_set(&kv, "TERM", "dumb") != 0 ||
        (extra != NULL && sp_kv_merge(&kv, extra) != 0))
        goto out;
    snprintf(path, plen, "%s", sp_kv_get(&kv, "PATH"));
    if ((v = calloc(kv.n + 1, sizeof *v)) == NULL)
        goto out;
    for (size_t i = 0; i < kv.n; i++) {
        size_t len = strlen(kv.items[i].key) + strlen(kv.items[i].val) + 2;
        if ((v[i] = malloc(len)) == NULL) {
            mock_strv_free(v);
            v = NULL;
            goto out;
        }
        snprintf(v[i], len, "%s=%s", kv.items[i].key, kv.items[i].val);
    }
out:
    sp_kv_cleanup(&kv);
    return v;
}

/* Finds an executable name without a slash on the colon-separated search path. */
static int resolve_exe(const char *name, const char *search, char *out, size_t outlen)
{
    if (strchr(name, '/') != NULL) {
        snprintf(out, outlen, "%s", name);
        return 0;
    }
    for (const char *p = search; *p != '\0';) {
        size_t n = strcspn(p, ":");
        int w = snprintf(out, outlen, "%.*s/%s", (int)n, p, name);
        if (n > 0 && w > 0 && (size_t)w < outlen && access(out, X_OK) == 0)
            return 0;
        p += n + (p[n] == ':');
    }
    errno = ENOENT;
    return -1;
}

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

void mock_close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

int mock_output_pipes(int fds[4])
{
    fds[0] = fds[1] = fds[2] = fds[3] = -1;
    if (pipe2(fds, O_CLOEXEC) != 0 || pipe2(fds + 2, O_CLOEXEC) != 0 || set_nonblock(fds[0]) != 0 ||
        set_nonblock(fds[2]) != 0) {
        for (int i = 0; i < 4; i++)
            mock_close_fd(&fds[i]);
        return -1;
    }
    return 0;
}

/* --- one-shot processes ----------------------------------------------------------------- */

struct mock_proc {
    pid_t pid;            /* leads its own process group */
    int fd[2];            /* stdout, stderr; -1 once at their end */
    int next;             /* stream tried first, alternating so neither starves */
    pthread_mutex_t lock; /* reaped and status, against a kill from another thread */
    bool reaped;
    int status;
};

int mock_proc_spawn(const char *const *argv,
                    const struct sp_kv *env,
                    const char *cwd,
                    const char *home,
                    struct mock_proc **out)
{
    return mock_proc_spawn_in(argv, env, cwd, home, NULL, out);
}

int mock_proc_spawn_in(const char *const *argv,
                       const struct sp_kv *env,
                       const char *cwd,
                       const char *home,
                       const char *root,
                       struct mock_proc **out)
{
    char path[4096], exe[4096];
    int fds[4] = {-1, -1, -1, -1}, rc = -1, saved = ENOMEM;
    struct mock_proc *p = NULL;
    char **av = NULL, **envp = NULL;
    *out = NULL;
    if (argv == NULL || argv[0] == NULL || cwd == NULL || home == NULL) {
        errno = EINVAL;
        return -1;
    }
    if ((av = strv_dup(argv)) == NULL ||
        (envp = mock_env_build(home, env, path, sizeof path)) == NULL ||
        (p = calloc(1, sizeof *p)) == NULL)
        goto out;
    if (resolve_exe(argv[0], path, exe, sizeof exe) != 0 || mock_output_pipes(fds) != 0)
        goto fail_errno;
    struct mock_spawn_spec s = {exe, av, envp, cwd, NULL, -1, fds[1], fds[3]};
    if (mock_spawn_in(&s, root, &p->pid) != 0)
        goto fail_errno;
    p->fd[0] = fds[0];
    p->fd[1] = fds[2];
    fds[0] = fds[2] = -1;
    pthread_mutex_init(&p->lock, NULL);
    *out = p;
    p = NULL;
    rc = 0;
    goto out;
fail_errno:
    saved = errno;
out:
    for (int i = 0; i < 4; i++)
        mock_close_fd(&fds[i]);
    mock_strv_free(av);
    mock_strv_free(envp);
    free(p);
    if (rc != 0)
        errno = saved;
    return rc;
}

/* One non-blocking read from either stream; closes a stream at its end. */
static ssize_t proc_try_read(struct mock_proc *p, char *buf, size_t len, int *stream)
{
    for (int k = 0; k < 2; k++) {
        int i = (p->next + k) % 2;
        if (p->fd[i] < 0)
            continue;
        ssize_t n = read(p->fd[i], buf, len);
        if (n > 0) {
            *stream = i + 1;
            p->next = 1 - i;
            return n;
        }
        if (n == 0 || (errno != EAGAIN && errno != EINTR))
            mock_close_fd(&p->fd[i]);
    }
    return 0;
}

ssize_t mock_proc_read(struct mock_proc *p, long wait_ms, char *buf, size_t len, int *stream)
{
    int64_t deadline = sp_now_ms() + (wait_ms > 0 ? wait_ms : 0);
    for (;;) {
        ssize_t n = proc_try_read(p, buf, len, stream);
        if (n > 0)
            return n;
        if (p->fd[0] < 0 && p->fd[1] < 0)
            return -1;
        int64_t left = deadline - sp_now_ms();
        if (left <= 0 || len == 0)
            return 0;
        struct pollfd pfd[2];
        nfds_t nf = 0;
        for (int i = 0; i < 2; i++) {
            if (p->fd[i] >= 0)
                pfd[nf++] = (struct pollfd){.fd = p->fd[i], .events = POLLIN};
        }
        int k = poll(pfd, nf, left > INT_MAX ? INT_MAX : (int)left);
        if (k == 0)
            return 0;
        if (k < 0 && errno != EINTR)
            return 0;
    }
}

void mock_proc_wait(struct mock_proc *p, int *exit_code, int *signal)
{
    pthread_mutex_lock(&p->lock);
    if (!p->reaped) {
        pthread_mutex_unlock(&p->lock);
        /* Wait without reaping, so a concurrent mock_proc_kill never signals a reused id. */
        siginfo_t info;
        while (waitid(P_PID, (id_t)p->pid, &info, WEXITED | WNOWAIT) < 0 && errno == EINTR) {
        }
        pthread_mutex_lock(&p->lock);
        if (!p->reaped) {
            while (waitpid(p->pid, &p->status, 0) < 0 && errno == EINTR) {
            }
            p->reaped = true;
        }
    }
    int st = p->status;
    pthread_mutex_unlock(&p->lock);
    if (exit_code != NULL)
        *exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    if (signal != NULL)
        *signal = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
}

void mock_proc_kill(struct mock_proc *p)
{
    pthread_mutex_lock(&p->lock);
    if (!p->reaped)
        kill(-p->pid, SIGKILL);
    pthread_mutex_unlock(&p->lock);
}

pid_t mock_proc_pid(const struct mock_proc *p)
{
    return p->pid;
}

void mock_proc_free(struct mock_proc *p)
{
    if (p == NULL)
        return;
    mock_proc_kill(p);
    mock_proc_wait(p, NULL, NULL);
    mock_close_fd(&p->fd[0]);
    mock_close_fd(&p->fd[1]);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
