/* Host file helpers for the mocks. A sandbox's files are a directory tree under the store's
 * root; the store creates it, and the vendors' file, session and zip code read, write and
 * make directories in it through these. */
#include "mock_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0)
        return -1;
    if (exact_mode)
        fchmod(fd, mode);
    const char *p = data;
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, p + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO;
            break;
        }
        off += (size_t)n;
    }
    int saved = errno, rc = close(fd);
    if (off < len) {
        errno = saved;
        return -1;
    }
    return rc;
}

int mock_read_file(const char *path, struct sp_buf *out)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    char chunk[65536];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof(chunk))) > 0)
        if (sp_buf_append(out, chunk, (size_t)n) != 0)
            break;
    int saved = errno;
    close(fd);
    errno = saved;
    return n == 0 ? 0 : -1;
}
