/* One bubblewrap namespace per sandbox (issue 7 item 4, issue 10 item 5): every process a
 * mock starts (exec, sessions, the action server's bash and Python, E2B process RPCs) goes
 * through mock_spawn (proc.c). The first one starts the sandbox's namespace: a bwrap whose
 * command only waits; each process then joins its namespaces (setns, proc.c), so background
 * jobs outlive the command that started them, as in a real sandbox, and later commands see
 * them. mock_ns_release (sandbox deleted, mock exiting) kills the namespace's init, which
 * ends every process in it, `setsid cmd &` included; --die-with-parent ends it if the mock
 * is killed. Where the namespace cannot be kept (not root), each process gets a bwrap of
 * its own.
 *
 * Inside: the sandbox root is "/", so `cd /workspace && pwd` prints /workspace, `mkdir -p
 * /workspace` makes the directory the file APIs see, and both see the same files. On top of
 * it: the host's /usr (and /etc, which bash, python and getpwuid need) read-only with the
 * usual /bin, /lib... symlinks (their mount points and links appear in the sandbox root, as
 * in a real image); a private /proc, /dev, /tmp and pid namespace. The sandbox root is also
 * bound at its own host path, and so is vendor state kept beside it (`<root>.<vendor>`, e.g.
 * Daytona's session logs): commands the mocks build with host paths keep working.
 *
 * Where bwrap cannot run (not installed, no namespaces), processes run on the host in the
 * sandbox directory as before; one warning line names the reason. SP_MOCK_NO_BWRAP=1 forces
 * that fallback (tests of it). */
#define _GNU_SOURCE
#include "mock_int.h"
#include "proc_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "provider.h" /* sp_now_ms */

#define BWRAP      "/usr/bin/bwrap"
#define STORE_MARK "/sandprobe-mock-" /* store.c names its root <parent>/sandprobe-mock-XXXXXX */

static pthread_once_t probe_once = PTHREAD_ONCE_INIT;
static bool bwrap_ok;
static char bwrap_why[256];

/* --- argv building -------------------------------------------------------------------------- */

struct argv_b {
    char **v;
    size_t n, cap;
    bool oom;
};

static void add(struct argv_b *a, const char *s)
{
    if (a->oom)
        return;
    if (a->n + 2 > a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        char **v = realloc(a->v, cap * sizeof *v);
        if (v == NULL) {
            a->oom = true;
            return;
        }
        a->v = v;
        a->cap = cap;
    }
    if ((a->v[a->n] = strdup(s)) == NULL) {
        a->oom = true;
        return;
    }
    a->v[++a->n] = NULL;
}

static void add3(struct argv_b *a, const char *x, const char *y, const char *z)
{
    add(a, x);
    add(a, y);
    add(a, z);
}

/* The host's /usr read-only and the merged-/usr links (or binds where a dir is real). A link
 * made by an earlier spawn stays in the sandbox root (bwrap refuses to make it again). */
static void add_system(struct argv_b *a, const char *root)
{
    add3(a, "--ro-bind", "/usr", "/usr");
    add3(a, "--ro-bind", "/etc", "/etc");
    const char *links[] = {"bin", "sbin", "lib", "lib32", "lib64", "libx32"};
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
        char host[64], target[PATH_MAX];
        snprintf(host, sizeof host, "/%s", links[i]);
        struct stat st;
        if (lstat(host, &st) != 0)
            continue;
        ssize_t n = S_ISLNK(st.st_mode) ? readlink(host, target, sizeof target - 1) : -1;
        char mine[PATH_MAX];
        struct stat ms;
        if (n > 0 && root != NULL &&
            snprintf(mine, sizeof mine, "%s%s", root, host) < (int)sizeof mine &&
            lstat(mine, &ms) == 0)
            continue;
        if (n > 0) {
            target[n] = '\0';
            add3(a, "--symlink", target, host);
        } else if (S_ISDIR(st.st_mode)) {
            add3(a, "--ro-bind", host, host);
        }
    }
    add(a, "--proc");
    add(a, "/proc");
    add(a, "--dev");
    add(a, "/dev");
}

#define MAX_SIBLINGS 8

/* The vendor state dirs beside the sandbox root ("<root>.<vendor>"), as host paths. */
static int siblings(const char *root, char out[][PATH_MAX], int max)
{
    char parent[PATH_MAX];
    int n = 0;
    snprintf(parent, sizeof parent, "%s", root);
    char *slash = strrchr(parent, '/');
    if (slash == NULL)
        return 0;
    const char *base = slash + 1;
    size_t bl = strlen(base);
    *slash = '\0';
    DIR *d = opendir(parent);
    for (struct dirent *e; d != NULL && n < max && (e = readdir(d)) != NULL;) {
        if (strncmp(e->d_name, base, bl) == 0 && e->d_name[bl] == '.' &&
            snprintf(out[n], PATH_MAX, "%s/%s", parent, e->d_name) < PATH_MAX)
            n++;
    }
    if (d != NULL)
        closedir(d);
    return n;
}

/* A private /tmp; the sandbox root and vendor state beside it also at their host paths,
 * which lie in that /tmp's place on the host and so cost no host files. The vendor dirs
 * bound are copied to bound (when not NULL). */
static int add_host_paths(struct argv_b *a, const char *root, char bound[][PATH_MAX])
{
    static char found[MAX_SIBLINGS][PATH_MAX];
    static pthread_mutex_t found_lock = PTHREAD_MUTEX_INITIALIZER;
    add(a, "--tmpfs");
    add(a, "/tmp");
    add3(a, "--bind", root, root);
    pthread_mutex_lock(&found_lock);
    int n = siblings(root, found, MAX_SIBLINGS);
    for (int i = 0; i < n; i++) {
        add3(a, "--bind", found[i], found[i]);
        if (bound != NULL)
            memcpy(bound[i], found[i], PATH_MAX);
    }
    pthread_mutex_unlock(&found_lock);
    return n;
}

/* --- is bwrap usable here? --------------------------------------------------------------- */

static void probe(void)
{
    const char *off = getenv("SP_MOCK_NO_BWRAP");
    if (off != NULL && off[0] != '\0' && strcmp(off, "0") != 0) {
        snprintf(bwrap_why, sizeof bwrap_why, "SP_MOCK_NO_BWRAP is set");
    } else if (access(BWRAP, X_OK) != 0) {
        snprintf(bwrap_why, sizeof bwrap_why, "%s not found (Debian package bubblewrap)", BWRAP);
    } else {
        /* The same namespaces as a sandbox, running `true`. */
        struct argv_b a = {0};
        add(&a, BWRAP);
        add(&a, "--unshare-pid");
        add(&a, "--die-with-parent");
        add_system(&a, NULL);
        add(&a, "--");
        add(&a, "/usr/bin/true");
        int ep[2];
        pid_t p = -1;
        if (!a.oom && pipe2(ep, O_CLOEXEC) == 0) {
            p = fork();
            if (p == 0) {
                dup2(ep[1], 2);
                int nul = open("/dev/null", O_RDWR);
                dup2(nul, 0);
                dup2(nul, 1);
                execv(BWRAP, a.v);
                _exit(127);
            }
            close(ep[1]);
            char msg[200] = "";
            ssize_t n = p > 0 ? read(ep[0], msg, sizeof msg - 1) : -1;
            msg[n > 0 ? n : 0] = '\0';
            msg[strcspn(msg, "\n")] = '\0';
            close(ep[0]);
            int st = 0;
            while (p > 0 && waitpid(p, &st, 0) < 0 && errno == EINTR) {
            }
            bwrap_ok = p > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
            if (!bwrap_ok)
                snprintf(bwrap_why, sizeof bwrap_why, "%s failed: %s", BWRAP,
                         msg[0] ? msg : "no namespaces");
        } else {
            snprintf(bwrap_why, sizeof bwrap_why, "out of resources probing %s", BWRAP);
        }
        mock_strv_free(a.v);
    }
    if (!bwrap_ok)
        fprintf(stderr,
                "sandprobe mock: warning: sandbox processes run on the host in the sandbox "
                "directory, not under bubblewrap: %s\n",
                bwrap_why);
}

bool mock_ns_available(const char **why)
{
    pthread_once(&probe_once, probe);
    if (why != NULL)
        *why = bwrap_ok ? "" : bwrap_why;
    return bwrap_ok;
}

int mock_ns_root_of(const char *host, char *root, size_t len)
{
    const char *m = host ? strstr(host, STORE_MARK) : NULL;
    if (m == NULL)
        return -1;
    const char *id = strchr(m + 1, '/'); /* the store root ends; the sandbox id follows */
    if (id == NULL || id[1] == '\0')
        return -1;
    size_t n = strcspn(id + 1, "/");
    size_t total = (size_t)(id + 1 - host) + n;
    if (total + 1 > len)
        return -1;
    memcpy(root, host, total);
    root[total] = '\0';
    return 0;
}

char **mock_ns_argv(const char *root, const char *guest_cwd, const char *exe, char *const *argv)
{
    struct argv_b a = {0};
    add(&a, BWRAP);
    add(&a, "--unshare-pid");
    add(&a, "--unshare-ipc");
    add(&a, "--unshare-uts");
    add(&a, "--die-with-parent");
    add3(&a, "--bind", root, "/"); /* first: the system mounts go on top of it */
    add_system(&a, root);
    add_host_paths(&a, root, NULL);
    /* A terminal given as stdin stays a terminal: its devpts node is visible (`tty`). */
    add3(&a, "--dev-bind", "/dev/pts", "/dev/pts");
    add3(&a, "--chdir", guest_cwd, "--");
    add(&a, exe);
    for (size_t i = 1; argv[0] != NULL && argv[i] != NULL; i++)
        add(&a, argv[i]);
    if (a.oom) {
        mock_strv_free(a.v);
        return NULL;
    }
    return a.v;
}

/* --- one namespace per sandbox --------------------------------------------------------------- */

/* A sandbox's namespace, kept by a bwrap whose command only waits; other processes join it. */
struct holder {
    char root[PATH_MAX];
    pid_t pid;  /* the outer bwrap: our child, leader of its process group */
    pid_t init; /* host pid of the namespace's init (bwrap's, pid 1 inside) */
    struct mock_ns_fds fds;
    char bound[MAX_SIBLINGS][PATH_MAX]; /* vendor dirs at their host paths inside */
    int nbound;
};

static pthread_mutex_t holders_lock = PTHREAD_MUTEX_INITIALIZER;

static void holder_free(struct holder *h)
{
    kill(-h->pid, SIGKILL);
    if (h->init > 0)
        kill(h->init, SIGKILL); /* the pid namespace ends with its init */
    while (waitpid(h->pid, NULL, 0) < 0 && errno == EINTR) {
    }
    int *fds[] = {&h->fds.pid, &h->fds.mnt, &h->fds.ipc, &h->fds.uts, &h->fds.root};
    for (size_t i = 0; i < 5; i++)
        if (*fds[i] >= 0)
            close(*fds[i]);
    free(h);
}

/* Reads from fd until `want` appears or 10 s pass; true when it did. */
static bool read_until(int fd, const char *want, char *buf, size_t len)
{
    size_t n = 0;
    int64_t end = sp_now_ms() + 10000;
    buf[0] = '\0';
    while (strstr(buf, want) == NULL && n + 1 < len) {
        int64_t left = end - sp_now_ms();
        struct pollfd p = {fd, POLLIN, 0};
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            return false;
        ssize_t k = read(fd, buf + n, len - 1 - n);
        if (k <= 0)
            return strstr(buf, want) != NULL;
        n += (size_t)k;
        buf[n] = '\0';
    }
    return strstr(buf, want) != NULL;
}

static int open_ns(pid_t pid, const char *what, int flags)
{
    char p[64];
    snprintf(p, sizeof p, "/proc/%ld/%s", (long)pid, what);
    return open(p, flags | O_CLOEXEC);
}

/* Starts the namespace of the sandbox at root: bwrap reports its init's pid on fd 3, and
 * the waiting command says "ready" once the mounts are in place. */
static struct holder *holder_start(const char *root)
{
    struct holder *h = calloc(1, sizeof *h);
    int info[2] = {-1, -1}, out[2] = {-1, -1};
    struct argv_b a = {0};
    if (h == NULL || pipe2(info, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0)
        goto fail;
    h->fds = (struct mock_ns_fds){-1, -1, -1, -1, -1};
    snprintf(h->root, sizeof h->root, "%s", root);
    add(&a, BWRAP);
    add(&a, "--unshare-pid");
    add(&a, "--unshare-ipc");
    add(&a, "--unshare-uts");
    add(&a, "--die-with-parent");
    add3(&a, "--info-fd", "3", "--bind");
    add(&a, root);
    add(&a, "/");
    add_system(&a, root);
    /* /dev/pts again after --dev made a fresh /dev: terminals handed in stay terminals */
    add3(&a, "--dev-bind", "/dev/pts", "/dev/pts");
    h->nbound = add_host_paths(&a, root, h->bound);
    add3(&a, "--", "/bin/sh", "-c");
    add(&a, "echo ready; exec sleep infinity");
    char *envp[] = {NULL};
    struct mock_spawn_spec s = {BWRAP, a.v, envp, "/", NULL, -1, out[1], out[1]};
    if (a.oom || mock_spawn_raw(&s, info[1], &h->pid) != 0)
        goto fail;
    close(info[1]);
    close(out[1]);
    info[1] = out[1] = -1;
    char buf[512];
    const char *cp;
    if (!read_until(info[0], "}", buf, sizeof buf) ||
        (cp = strstr(buf, "\"child-pid\":")) == NULL ||
        (h->init = (pid_t)strtol(cp + 12, NULL, 10)) <= 0 ||
        !read_until(out[0], "ready", buf, sizeof buf))
        goto fail_running;
    h->fds.pid = open_ns(h->init, "ns/pid", O_RDONLY);
    h->fds.mnt = open_ns(h->init, "ns/mnt", O_RDONLY);
    h->fds.ipc = open_ns(h->init, "ns/ipc", O_RDONLY);
    h->fds.uts = open_ns(h->init, "ns/uts", O_RDONLY);
    h->fds.root = open_ns(h->init, "root", O_RDONLY | O_DIRECTORY);
    if (h->fds.pid < 0 || h->fds.mnt < 0 || h->fds.ipc < 0 || h->fds.uts < 0 || h->fds.root < 0)
        goto fail_running;
    close(info[0]);
    close(out[0]);
    mock_strv_free(a.v);
    return h;
fail_running:
    close(info[0]);
    close(out[0]);
    mock_strv_free(a.v);
    holder_free(h);
    return NULL;
fail:
    for (int i = 0; i < 2; i++) {
        if (info[i] >= 0)
            close(info[i]);
        if (out[i] >= 0)
            close(out[i]);
    }
    mock_strv_free(a.v);
    free(h);
    return NULL;
}

static bool holder_alive(const struct holder *h)
{
    siginfo_t si;
    memset(&si, 0, sizeof si);
    return waitid(P_PID, (id_t)h->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == 0;
}

/* Mounts the host dir `path` at the same path inside the running namespace: a vendor dir
 * made after the namespace started (Daytona's session logs). A clone of the host mount
 * (open_tree) is moved into it by a child that joined its mount namespace. */
static int attach(const struct holder *h, const char *path)
{
    char dirs[PATH_MAX];
    size_t len = strlen(path);
    if (len >= sizeof dirs)
        return -1;
    memcpy(dirs, path, len + 1);
    int tree = (int)syscall(SYS_open_tree, AT_FDCWD, path,
                            OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
    if (tree < 0)
        return -1;
    pid_t p = fork();
    if (p == 0) { /* single-threaded child: async-signal-safe calls only */
        if (setns(h->fds.mnt, CLONE_NEWNS) != 0 || fchdir(h->fds.root) != 0 || chroot(".") != 0)
            _exit(1);
        for (char *q = dirs + 1; *q != '\0'; q++) {
            if (*q == '/') {
                *q = '\0';
                mkdir(dirs, 0755);
                *q = '/';
            }
        }
        mkdir(dirs, 0755);
        _exit(syscall(SYS_move_mount, tree, "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH) == 0 ? 0
                                                                                              : 2);
    }
    close(tree);
    int st = 0;
    while (p > 0 && waitpid(p, &st, 0) < 0 && errno == EINTR) {
    }
    return p > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* Attaches vendor dirs that appeared since the namespace started (holders_lock held). */
static void attach_new(struct holder *h)
{
    char(*now)[PATH_MAX] = calloc(MAX_SIBLINGS, PATH_MAX); /* request threads: small stacks */
    int n = now ? siblings(h->root, now, MAX_SIBLINGS) : 0;
    for (int i = 0; i < n && h->nbound < MAX_SIBLINGS; i++) {
        bool known = false;
        for (int k = 0; k < h->nbound && !known; k++)
            known = strcmp(h->bound[k], now[i]) == 0;
        if (!known && attach(h, now[i]) == 0)
            memcpy(h->bound[h->nbound++], now[i], PATH_MAX);
    }
    free(now);
}

/* The list entry of a sandbox's namespace: starting it (slow) happens outside the lock, so
 * sandboxes start in parallel; users hold a reference while they join it. */
struct mock_ns {
    char root[PATH_MAX];
    struct holder *h; /* NULL while starting or after a failed start */
    bool starting, gone;
    int refs;
    struct mock_ns *next;
};

static pthread_cond_t ns_cv = PTHREAD_COND_INITIALIZER;
static struct mock_ns *spaces;

static void ns_unlink(struct mock_ns *n)
{
    for (struct mock_ns **pp = &spaces; *pp != NULL; pp = &(*pp)->next)
        if (*pp == n) {
            *pp = n->next;
            break;
        }
    n->gone = true;
}

/* Drops a reference (holders_lock held); the last one of an unlinked entry frees it. */
static void ns_unref(struct mock_ns *n)
{
    if (--n->refs > 0 || !n->gone)
        return;
    if (n->h != NULL)
        holder_free(n->h);
    free(n);
}

struct mock_ns *mock_ns_get(const char *root, struct mock_ns_fds *fds)
{
    if (geteuid() != 0) /* joining needs CAP_SYS_ADMIN over the namespaces */
        return NULL;
    pthread_mutex_lock(&holders_lock);
    struct mock_ns *n = spaces;
    while (n != NULL && strcmp(n->root, root) != 0)
        n = n->next;
    if (n != NULL && !n->starting && (n->h == NULL || !holder_alive(n->h))) {
        ns_unlink(n); /* failed or killed behind our back: a new one */
        ns_unref(n);  /* the list's reference */
        n = NULL;
    }
    if (n == NULL) {
        if ((n = calloc(1, sizeof *n)) == NULL) {
            pthread_mutex_unlock(&holders_lock);
            return NULL;
        }
        snprintf(n->root, sizeof n->root, "%s", root);
        n->starting = true;
        n->refs = 1; /* the list's */
        n->next = spaces;
        spaces = n;
        n->refs++;
        pthread_mutex_unlock(&holders_lock);
        struct holder *h = holder_start(root);
        pthread_mutex_lock(&holders_lock);
        n->h = h;
        n->starting = false;
        pthread_cond_broadcast(&ns_cv);
    } else {
        n->refs++;
        while (n->starting)
            pthread_cond_wait(&ns_cv, &holders_lock);
    }
    if (n->h == NULL || n->gone) {
        ns_unref(n);
        pthread_mutex_unlock(&holders_lock);
        return NULL;
    }
    attach_new(n->h);
    *fds = n->h->fds;
    pthread_mutex_unlock(&holders_lock);
    return n;
}

void mock_ns_put(struct mock_ns *n)
{
    if (n == NULL)
        return;
    pthread_mutex_lock(&holders_lock);
    ns_unref(n);
    pthread_mutex_unlock(&holders_lock);
}

void mock_ns_release(const char *root)
{
    pthread_mutex_lock(&holders_lock);
    struct mock_ns *n = spaces;
    while (n != NULL && strcmp(n->root, root) != 0)
        n = n->next;
    if (n != NULL) {
        while (n->starting)
            pthread_cond_wait(&ns_cv, &holders_lock);
        if (!n->gone) {
            ns_unlink(n);
            if (n->h != NULL) { /* its processes die now; descriptors go with the last user */
                kill(-n->h->pid, SIGKILL);
                if (n->h->init > 0)
                    kill(n->h->init, SIGKILL);
            }
            ns_unref(n); /* the list's reference */
        }
    }
    pthread_mutex_unlock(&holders_lock);
}
