/* One bubblewrap namespace per sandbox process tree (issue 7 item 4, issue 10 item 5): every
 * process a mock starts (exec, sessions, the action server's bash and Python, E2B process
 * RPCs) goes through mock_spawn (proc.c), which asks this file for the bwrap command line.
 *
 * Inside: the sandbox root is "/", so `cd /workspace && pwd` prints /workspace, `mkdir -p
 * /workspace` makes the directory the file APIs see, and both see the same files. On top of
 * it: the host's /usr (and /etc, which bash, python and getpwuid need) read-only with the
 * usual /bin, /lib... symlinks (their mount points and links appear in the sandbox root, as
 * in a real image); a private /proc, /dev, /tmp and pid namespace. The sandbox root is also
 * bound at its own host path, and so is vendor state kept beside it (`<root>.<vendor>`, e.g.
 * Daytona's session logs): commands the mocks build with host paths keep working. --die-with-parent plus the pid namespace mean that killing the
 * spawned bwrap (the process group leader) takes every process of the tree with it,
 * `setsid cmd &` included.
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
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* A private /tmp; the sandbox root and vendor state beside it ("<root>.<vendor>") also at
 * their host paths, which lie in that /tmp's place on the host and so cost no host files. */
static void add_host_paths(struct argv_b *a, const char *root)
{
    char path[PATH_MAX], parent[PATH_MAX];
    add(a, "--tmpfs");
    add(a, "/tmp");
    add3(a, "--bind", root, root);
    snprintf(parent, sizeof parent, "%s", root);
    char *slash = strrchr(parent, '/');
    if (slash == NULL)
        return;
    const char *base = slash + 1;
    size_t bl = strlen(base);
    *slash = '\0';
    DIR *d = opendir(parent);
    for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;) {
        if (strncmp(e->d_name, base, bl) != 0 || e->d_name[bl] != '.')
            continue;
        if (snprintf(path, sizeof path, "%s/%s", parent, e->d_name) < (int)sizeof path)
            add3(a, "--bind", path, path);
    }
    if (d != NULL)
        closedir(d);
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
    add_host_paths(&a, root);
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
