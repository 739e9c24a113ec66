/* Host file helpers for the mocks. A sandbox's files are a directory tree under the store's
 * root; the store creates it, and the vendors' file, session and zip code read, write and
 * make directories in it. The mock_fs_ calls (hostfs.h) resolve every path beneath the
 * sandbox's root, so a symbolic link made inside a sandbox cannot lead a file API out of it;
 * the plain helpers below them are for paths the mock itself owns. */
#define _GNU_SOURCE /* O_PATH, syscall() */
#include "hostfs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mock_int.h"

/* --- resolution beneath a directory -------------------------------------------------------- */

/* 1 when openat2 works, 0 when the kernel (or a seccomp filter) refuses it; -1 unknown.
 * Threads may find out at the same time; they only ever store the same answer. */
static atomic_int have_openat2 = -1;

static int beneath_openat2(int dirfd, const char *rel, int flags, mode_t mode)
{
    struct open_how how = {
        .flags = (unsigned long long)(flags | O_CLOEXEC),
        .mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
    };
    return (int)syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
}

/* The walk without openat2: one component at a time, never following a link, ".." refused. */
static int beneath_walk(int dirfd, const char *rel, int flags, mode_t mode)
{
    int fd = openat(dirfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    while (fd >= 0) {
        size_t seg = strcspn(rel, "/");
        const char *next = rel + seg;
        while (*next == '/')
            next++;
        char name[NAME_MAX + 1];
        if (seg > NAME_MAX || (seg == 2 && rel[0] == '.' && rel[1] == '.')) {
            close(fd);
            errno = seg > NAME_MAX ? ENAMETOOLONG : EXDEV;
            return -1;
        }
        memcpy(name, rel, seg);
        name[seg] = '\0';
        if (seg == 0)
            name[0] = '.', name[1] = '\0';
        int last = *next == '\0';
        int nfd = last ? openat(fd, name, flags | O_NOFOLLOW | O_CLOEXEC, mode)
                       : openat(fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        struct stat lst; /* a link met on the way says ENOTDIR: name it a link (ELOOP) */
        if (nfd < 0 && errno == ENOTDIR && fstatat(fd, name, &lst, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISLNK(lst.st_mode))
            errno = ELOOP;
        int saved = errno;
        close(fd);
        errno = saved;
        if (last && nfd >= 0 && (flags & O_PATH)) {
            struct stat st; /* O_PATH|O_NOFOLLOW opens the link itself: refuse it too */
            if (fstat(nfd, &st) != 0 || S_ISLNK(st.st_mode)) {
                close(nfd);
                errno = ELOOP;
                return -1;
            }
        }
        if (last)
            return nfd;
        fd = nfd;
        rel = next;
    }
    return -1;
}

void mock_fs_use_openat2(bool on)
{
    atomic_store_explicit(&have_openat2, on ? -1 : 0, memory_order_relaxed);
}

int mock_fs_openat(int dirfd, const char *rel, int flags, mode_t mode)
{
    if (rel == NULL || rel[0] == '\0')
        rel = ".";
    int known = atomic_load_explicit(&have_openat2, memory_order_relaxed);
    if (known != 0) {
        int fd = beneath_openat2(dirfd, rel, flags, mode);
        if (fd >= 0 || (errno != ENOSYS && errno != EPERM)) {
            atomic_store_explicit(&have_openat2, 1, memory_order_relaxed);
            return fd;
        }
        if (known == 1)
            return fd; /* a real EPERM */
        atomic_store_explicit(&have_openat2, 0, memory_order_relaxed);
    }
    return beneath_walk(dirfd, rel, flags, mode);
}

/* Splits rel into its directory (opened beneath dirfd, O_PATH) and last component. Returns
 * the directory's fd, or -1. A rel with no last component (the root itself) is EINVAL. */
static int open_parent(int dirfd, const char *rel, char *base, size_t baselen)
{
    char dir[PATH_MAX];
    size_t n = strlen(rel);
    while (n > 0 && rel[n - 1] == '/')
        n--;
    size_t b = n;
    while (b > 0 && rel[b - 1] != '/')
        b--;
    if (n == b || n - b >= baselen || b >= sizeof(dir)) {
        errno = n == b ? EINVAL : ENAMETOOLONG;
        return -1;
    }
    memcpy(base, rel + b, n - b);
    base[n - b] = '\0';
    memcpy(dir, rel, b);
    dir[b] = '\0';
    if (strcmp(base, "..") == 0 || strcmp(base, ".") == 0) {
        errno = EINVAL;
        return -1;
    }
    return mock_fs_openat(dirfd, dir, O_PATH | O_DIRECTORY, 0);
}

int mock_fs_lstatat(int dirfd, const char *rel, struct stat *st)
{
    char base[NAME_MAX + 1];
    int pfd = open_parent(dirfd, rel, base, sizeof(base));
    if (pfd < 0 && errno == EINVAL) { /* the root itself */
        int fd = mock_fs_openat(dirfd, rel, O_PATH, 0);
        int rc = fd < 0 ? -1 : fstat(fd, st);
        if (fd >= 0)
            close(fd);
        return rc;
    }
    if (pfd < 0)
        return -1;
    int rc = fstatat(pfd, base, st, AT_SYMLINK_NOFOLLOW);
    int saved = errno;
    close(pfd);
    errno = saved;
    return rc;
}

int mock_fs_mkdir_pat(int dirfd, const char *rel, mode_t mode)
{
    char prefix[PATH_MAX];
    size_t len = strlen(rel);
    if (len >= sizeof(prefix)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    /* Each prefix is made in the directory its parent resolves to beneath dirfd, so a link
     * anywhere on the way is checked as it is met. */
    for (size_t i = 0; i <= len; i++) {
        if (i < len && rel[i] != '/')
            continue;
        memcpy(prefix, rel, i);
        prefix[i] = '\0';
        if (i == 0 || rel[i - 1] == '/')
            continue;
        char base[NAME_MAX + 1];
        int pfd = open_parent(dirfd, prefix, base, sizeof(base));
        if (pfd < 0) {
            if (errno == EINVAL)
                continue; /* "." */
            return -1;
        }
        int rc = mkdirat(pfd, base, mode) != 0 && errno != EEXIST ? -1 : 0;
        close(pfd);
        if (rc != 0)
            return -1;
        int fd = mock_fs_openat(dirfd, prefix, O_PATH | O_DIRECTORY, 0);
        if (fd < 0)
            return -1; /* a file, or a link that leaves the root */
        close(fd);
    }
    return 0;
}

/* --- the sandbox calls --------------------------------------------------------------------- */

int mock_fs_root(const struct mock_sandbox *sb, const char *host, const char **rel)
{
    size_t rl = strlen(sb->root);
    if (rl == 0 || strncmp(host, sb->root, rl) != 0 || (host[rl] != '/' && host[rl] != '\0')) {
        errno = EXDEV;
        return -1;
    }
    for (*rel = host + rl; **rel == '/';)
        (*rel)++;
    return open(sb->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

/* Closes fd keeping errno, and returns rc. */
static int done(int fd, int rc)
{
    int saved = errno;
    if (fd >= 0)
        close(fd);
    errno = saved;
    return rc;
}

int mock_fs_open(const struct mock_sandbox *sb, const char *host, int flags, mode_t mode)
{
    const char *rel;
    int root = mock_fs_root(sb, host, &rel);
    return root < 0 ? -1 : done(root, mock_fs_openat(root, rel, flags, mode));
}

int mock_fs_stat(const struct mock_sandbox *sb, const char *host, struct stat *st)
{
    int fd = mock_fs_open(sb, host, O_PATH, 0);
    return fd < 0 ? -1 : done(fd, fstat(fd, st));
}

int mock_fs_lstat(const struct mock_sandbox *sb, const char *host, struct stat *st)
{
    const char *rel;
    int root = mock_fs_root(sb, host, &rel);
    return root < 0 ? -1 : done(root, mock_fs_lstatat(root, rel, st));
}

/* open_parent of host inside sb's root: the directory's fd (the root closed again), or -1. */
static int
open_sandbox_parent(const struct mock_sandbox *sb, const char *host, char *base, size_t baselen)
{
    const char *rel;
    int root = mock_fs_root(sb, host, &rel);
    if (root < 0)
        return -1;
    int pfd = open_parent(root, rel, base, baselen);
    done(root, 0);
    return pfd;
}

/* Runs one *at call on host's directory and last component. */
enum at_op { AT_READLINK, AT_MKDIR, AT_UNLINK, AT_RMDIR };

static long at_call(const struct mock_sandbox *sb,
                    const char *host,
                    enum at_op op,
                    mode_t mode,
                    char *buf,
                    size_t len)
{
    char base[NAME_MAX + 1];
    int pfd = open_sandbox_parent(sb, host, base, sizeof(base));
    if (pfd < 0)
        return -1;
    long rc;
    switch (op) {
    case AT_READLINK:
        rc = (long)readlinkat(pfd, base, buf, len);
        break;
    case AT_MKDIR:
        rc = mkdirat(pfd, base, mode);
        break;
    case AT_UNLINK:
        rc = unlinkat(pfd, base, 0);
        break;
    default:
        rc = unlinkat(pfd, base, AT_REMOVEDIR);
        break;
    }
    return done(pfd, 0) + rc;
}

ssize_t mock_fs_readlink(const struct mock_sandbox *sb, const char *host, char *buf, size_t len)
{
    return (ssize_t)at_call(sb, host, AT_READLINK, 0, buf, len);
}

int mock_fs_mkdir(const struct mock_sandbox *sb, const char *host, mode_t mode)
{
    return (int)at_call(sb, host, AT_MKDIR, mode, NULL, 0);
}

int mock_fs_unlink(const struct mock_sandbox *sb, const char *host)
{
    return (int)at_call(sb, host, AT_UNLINK, 0, NULL, 0);
}

int mock_fs_rmdir(const struct mock_sandbox *sb, const char *host)
{
    return (int)at_call(sb, host, AT_RMDIR, 0, NULL, 0);
}

/* rm -rf of name in directory pfd, never following a link: each directory is opened with
 * O_NOFOLLOW from the one above it, so a link swapped in meanwhile is removed, not entered. */
static int remove_tree_at(int pfd, const char *name, int depth)
{
    struct stat st;
    if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return -1;
    if (!S_ISDIR(st.st_mode))
        return unlinkat(pfd, name, 0);
    int fd = depth > 256 ? -1 : openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *d = fd < 0 ? NULL : fdopendir(fd);
    if (d == NULL) {
        if (fd >= 0)
            close(fd);
        return depth > 256 ? (errno = ELOOP, -1) : -1;
    }
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            remove_tree_at(fd, e->d_name, depth + 1);
    closedir(d);
    return unlinkat(pfd, name, AT_REMOVEDIR);
}

int mock_fs_remove_all(const struct mock_sandbox *sb, const char *host)
{
    char base[NAME_MAX + 1];
    int pfd = open_sandbox_parent(sb, host, base, sizeof(base));
    if (pfd < 0)
        return -1;
    return done(pfd, remove_tree_at(pfd, base, 0));
}

int mock_fs_rename(const struct mock_sandbox *sb, const char *from, const char *to)
{
    const char *rf, *rt;
    char bf[NAME_MAX + 1], bt[NAME_MAX + 1];
    int root = mock_fs_root(sb, from, &rf);
    if (root < 0)
        return -1;
    int tmp = mock_fs_root(sb, to, &rt);
    if (tmp < 0)
        return done(root, -1);
    close(tmp);
    int pf = open_parent(root, rf, bf, sizeof(bf));
    int pt = pf < 0 ? -1 : open_parent(root, rt, bt, sizeof(bt));
    int rc = pt < 0 ? -1 : renameat(pf, bf, pt, bt);
    done(pt, 0);
    done(pf, 0);
    return done(root, rc);
}

DIR *mock_fs_opendir(const struct mock_sandbox *sb, const char *host)
{
    int fd = mock_fs_open(sb, host, O_RDONLY | O_DIRECTORY, 0);
    DIR *d = fd < 0 ? NULL : fdopendir(fd);
    if (d == NULL && fd >= 0)
        done(fd, 0);
    return d;
}

int mock_fs_chmod(const struct mock_sandbox *sb, const char *host, mode_t mode)
{
    int fd = mock_fs_open(sb, host, O_RDONLY, 0);
    return fd < 0 ? -1 : done(fd, fchmod(fd, mode));
}

int mock_fs_mkdir_p(const struct mock_sandbox *sb, const char *host, mode_t mode)
{
    const char *rel;
    int root = mock_fs_root(sb, host, &rel);
    return root < 0 ? -1 : done(root, mock_fs_mkdir_pat(root, rel, mode));
}

int mock_fs_mkdir_parents(const struct mock_sandbox *sb, const char *host)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(host, '/');
    if (slash == NULL || (size_t)(slash - host) >= sizeof(dir)) {
        errno = slash == NULL ? EINVAL : ENAMETOOLONG;
        return -1;
    }
    memcpy(dir, host, (size_t)(slash - host));
    dir[slash - host] = '\0';
    return mock_fs_mkdir_p(sb, dir, 0755);
}

int mock_fs_read_file(const struct mock_sandbox *sb, const char *host, struct sp_buf *out)
{
    int fd = mock_fs_open(sb, host, O_RDONLY, 0);
    return fd < 0 ? -1 : done(fd, mock_fs_read_fd(fd, out));
}

/* The body of both file writers: fd (from an open for writing; -1 passes its failure on) gets
 * data, the exact mode when asked (open's mode is cut by the umask), and is closed. 0, or -1
 * with errno from the first step that failed. */
static int write_and_close(int fd, const void *data, size_t len, mode_t mode, bool exact_mode)
{
    if (fd < 0)
        return -1;
    if (exact_mode)
        fchmod(fd, mode);
    int rc = mock_fs_write_fd(fd, data, len);
    int saved = errno;
    if (close(fd) != 0 && rc == 0)
        return -1;
    errno = saved;
    return rc;
}

int mock_fs_write_file(const struct mock_sandbox *sb,
                       const char *host,
                       const void *data,
                       size_t len,
                       mode_t mode,
                       bool exact_mode)
{
    int fd = mock_fs_open(sb, host, O_WRONLY | O_CREAT | O_TRUNC, mode);
    return write_and_close(fd, data, len, mode, exact_mode);
}

/* scandir(3)'s comparison, for qsort (which has no user pointer in POSIX). */
static _Thread_local int (*scan_compar)(const struct dirent **, const struct dirent **);

static int scan_cmp(const void *a, const void *b)
{
    const struct dirent *x = *(struct dirent *const *)a, *y = *(struct dirent *const *)b;
    return scan_compar(&x, &y);
}

int mock_fs_scandir(const struct mock_sandbox *sb,
                    const char *host,
                    struct dirent ***names,
                    int (*filter)(const struct dirent *),
                    int (*compar)(const struct dirent **, const struct dirent **))
{
    DIR *d = mock_fs_opendir(sb, host);
    if (d == NULL)
        return -1;
    struct dirent **v = NULL, *e;
    size_t n = 0, cap = 0;
    int rc = 0;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (filter != NULL && !filter(e))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            struct dirent **nv = realloc(v, cap * sizeof(*v));
            if (nv == NULL) {
                rc = -1;
                break;
            }
            v = nv;
        }
        size_t sz = offsetof(struct dirent, d_name) + strlen(e->d_name) + 1;
        if ((v[n] = malloc(sz > sizeof(*e) ? sz : sizeof(*e))) == NULL) {
            rc = -1;
            break;
        }
        memcpy(v[n++], e, sz);
    }
    closedir(d);
    if (rc != 0) {
        for (size_t i = 0; v != NULL && i < n; i++)
            free(v[i]);
        free(v);
        errno = ENOMEM;
        return -1;
    }
    if (compar != NULL && n > 1) {
        scan_compar = compar;
        qsort(v, n, sizeof(*v), scan_cmp);
    }
    *names = v;
    return (int)n;
}

/* --- fds and paths the mock owns ------------------------------------------------------------ */

int mock_fs_read_fd(int fd, struct sp_buf *out)
{
    char chunk[65536];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || sp_buf_append(out, chunk, (size_t)n) != 0)
            return -1;
    }
    return 0;
}

int mock_fs_write_fd(int fd, const void *data, size_t len)
{
    const char *p = data;
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, p + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO;
            return -1;
        }
        off += (size_t)n;
    }
    return 0;
}

int mock_mkdir_p(const char *path, mode_t mode)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, mode) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(tmp, mode) != 0 && errno != EEXIST ? -1 : 0;
}

int mock_mkdir_parents(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (slash == NULL || slash == path)
        return 0;
    if ((size_t)(slash - path) >= sizeof(dir)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(dir, path, (size_t)(slash - path));
    dir[slash - path] = '\0';
    return mock_mkdir_p(dir, 0755);
}

int mock_write_file(const char *path, const void *data, size_t len, mode_t mode, bool exact_mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    return write_and_close(fd, data, len, mode, exact_mode);
}

int mock_read_file(const char *path, struct sp_buf *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    return fd < 0 ? -1 : done(fd, mock_fs_read_fd(fd, out));
}
