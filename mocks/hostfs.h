/* File access beneath a sandbox's root, for every mock's file API (Daytona files, E2B /files
 * and filesystem RPC, the action server's read/write/list/upload/download, zip extraction).
 *
 * A sandbox's files are a host directory tree, and commands run in the sandbox can create
 * symbolic links in it (`ln -s /etc x`). Mapping the path lexically (mock_sandbox_host_path)
 * keeps ".." in, but the kernel would still follow a link out of the tree. So every
 * operation here resolves its path beneath a root directory: openat2() with RESOLVE_BENEATH
 * where the kernel has it (Linux 5.6+), else a walk of one component at a time with
 * O_NOFOLLOW that refuses every symbolic link. A path that would leave the root fails with
 * errno EXDEV (openat2) or ELOOP (the walk); links that stay inside work as on the vendor.
 *
 * Two layers: the `_at` calls take a directory fd and a relative path; the `mock_fs_` calls
 * take a sandbox and a host path under its root (as mock_sandbox_host_path makes them), the
 * same arguments as the POSIX call they replace. All return what that call returns, with
 * errno set on failure. */
#ifndef SP_MOCK_HOSTFS_H
#define SP_MOCK_HOSTFS_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "buf.h"

struct mock_sandbox;

/* open(2) of rel beneath dirfd ("" or "." is dirfd's directory itself). O_CLOEXEC is
 * added. */
int mock_fs_openat(int dirfd, const char *rel, int flags, mode_t mode);
/* lstat of rel beneath dirfd: its directory is resolved beneath, the last component is not
 * followed. */
int mock_fs_lstatat(int dirfd, const char *rel, struct stat *st);
/* mkdir -p of rel beneath dirfd. */
int mock_fs_mkdir_pat(int dirfd, const char *rel, mode_t mode);

/* Opens sb's root (O_PATH) and points *rel at host's path below it, for the `_at` calls.
 * Returns the fd (the caller closes it), or -1 with EXDEV when host is not under the root. */
int mock_fs_root(const struct mock_sandbox *sb, const char *host, const char **rel);

/* The sandbox calls: host is a host path under sb's root. */
int mock_fs_open(const struct mock_sandbox *sb, const char *host, int flags, mode_t mode);
int mock_fs_stat(const struct mock_sandbox *sb, const char *host, struct stat *st);
int mock_fs_lstat(const struct mock_sandbox *sb, const char *host, struct stat *st);
ssize_t mock_fs_readlink(const struct mock_sandbox *sb, const char *host, char *buf, size_t len);
DIR *mock_fs_opendir(const struct mock_sandbox *sb, const char *host);
/* scandir(3) beneath the root. */
int mock_fs_scandir(const struct mock_sandbox *sb,
                    const char *host,
                    struct dirent ***names,
                    int (*filter)(const struct dirent *),
                    int (*compar)(const struct dirent **, const struct dirent **));
int mock_fs_mkdir(const struct mock_sandbox *sb, const char *host, mode_t mode);
/* mkdir -p; and mkdir -p of the directory that holds host (mode 0755). */
int mock_fs_mkdir_p(const struct mock_sandbox *sb, const char *host, mode_t mode);
int mock_fs_mkdir_parents(const struct mock_sandbox *sb, const char *host);
int mock_fs_unlink(const struct mock_sandbox *sb, const char *host);
int mock_fs_rmdir(const struct mock_sandbox *sb, const char *host);
/* rm -rf, never following a link (os.RemoveAll). */
int mock_fs_remove_all(const struct mock_sandbox *sb, const char *host);
int mock_fs_rename(const struct mock_sandbox *sb, const char *from, const char *to);
int mock_fs_chmod(const struct mock_sandbox *sb, const char *host, mode_t mode);
/* mock_read_file / mock_write_file beneath the root. */
int mock_fs_read_file(const struct mock_sandbox *sb, const char *host, struct sp_buf *out);
int mock_fs_write_file(const struct mock_sandbox *sb,
                       const char *host,
                       const void *data,
                       size_t len,
                       mode_t mode,
                       bool exact_mode);

/* For tests: false makes every call use the component walk, as on a kernel without openat2;
 * true lets them probe for openat2 again. */
void mock_fs_use_openat2(bool on);

/* Reads fd to its end into out. Returns 0, or -1 (errno set, or out->overflow). */
int mock_fs_read_fd(int fd, struct sp_buf *out);
/* Writes len bytes to fd. Returns 0, or -1 with errno set. */
int mock_fs_write_fd(int fd, const void *data, size_t len);

#endif
