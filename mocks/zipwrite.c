/* Zip writer (PKZIP application note 6.3, the subset every unzip reads): local headers with
 * sizes and CRC filled in up front (we deflate whole files in memory), a central directory,
 * the end record; deflate is zlib's raw mode (window bits -15). Extraction walks the archive
 * with the bounds-checked reader of providers/zip.c and writes each member to disk. */
#define _GNU_SOURCE /* O_PATH */
#include "zipwrite.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "hostfs.h"
#include "mock_int.h"
#include "zip.h"

#define SIG_LOCAL   0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_END     0x06054b50u
#define FLAG_UTF8   0x0800u /* names are UTF-8 */
#define ZIP_MAX     0xffffffffu

struct zip_entry {
    char *name;
    uint32_t crc, csize, usize, offset;
    uint16_t method, dtime, ddate;
};

struct zip_writer {
    struct sp_buf *out;
    size_t base; /* out->len when the archive started */
    struct zip_entry *items;
    size_t n, cap;
};

static void put16(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)(v & 0xff);
    p[1] = (unsigned char)((v >> 8) & 0xff);
}

static void put32(unsigned char *p, uint32_t v)
{
    put16(p, v & 0xffff);
    put16(p + 2, v >> 16);
}

/* MS-DOS date and time, as zip stores them (local time, 2-second resolution). */
static void dos_time(time_t t, uint16_t *dtime, uint16_t *ddate)
{
    struct tm tm;
    if (localtime_r(&t, &tm) == NULL || tm.tm_year < 80) {
        *dtime = 0;
        *ddate = (1 << 5) | 1; /* 1980-01-01 */
        return;
    }
    *dtime = (uint16_t)(tm.tm_hour << 11 | tm.tm_min << 5 | tm.tm_sec / 2);
    *ddate = (uint16_t)((tm.tm_year - 80) << 9 | (tm.tm_mon + 1) << 5 | tm.tm_mday);
}

/* Raw-deflates src into a new buffer; NULL when it would not be smaller (then we store). */
static unsigned char *deflate_raw(const unsigned char *src, size_t n, size_t *outlen)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (n == 0 ||
        deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    size_t cap = deflateBound(&zs, (uLong)n);
    unsigned char *dst = malloc(cap);
    zs.next_in = (Bytef *)(uintptr_t)src; /* zlib's API is not const-correct; it only reads */
    zs.avail_in = (uInt)n;
    zs.next_out = dst;
    zs.avail_out = (uInt)cap;
    int rc = dst ? deflate(&zs, Z_FINISH) : Z_MEM_ERROR;
    *outlen = zs.total_out;
    deflateEnd(&zs);
    if (rc != Z_STREAM_END || *outlen >= n) {
        free(dst);
        return NULL;
    }
    return dst;
}

static int add_entry(
    struct zip_writer *w, const char *name, const unsigned char *data, size_t len, time_t mtime)
{
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 16;
        struct zip_entry *items = realloc(w->items, cap * sizeof(*items));
        if (items == NULL)
            return -1;
        w->items = items;
        w->cap = cap;
    }
    struct zip_entry *e = &w->items[w->n];
    size_t offset = w->out->len - w->base, clen = 0;
    unsigned char *packed = deflate_raw(data, len, &clen);
    if (len > ZIP_MAX || offset > ZIP_MAX || (e->name = strdup(name)) == NULL) {
        free(packed);
        return -1;
    }
    w->n++;
    e->crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), data, (uInt)len);
    e->method = packed ? 8 : 0;
    e->csize = (uint32_t)(packed ? clen : len);
    e->usize = (uint32_t)len;
    e->offset = (uint32_t)offset;
    dos_time(mtime, &e->dtime, &e->ddate);
    unsigned char h[30];
    size_t nlen = strlen(name);
    put32(h, SIG_LOCAL);
    put16(h + 4, 20);
    put16(h + 6, FLAG_UTF8);
    put16(h + 8, e->method);
    put16(h + 10, e->dtime);
    put16(h + 12, e->ddate);
    put32(h + 14, e->crc);
    put32(h + 18, e->csize);
    put32(h + 22, e->usize);
    put16(h + 26, (unsigned)nlen);
    put16(h + 28, 0);
    int rc = sp_buf_append(w->out, h, sizeof(h)) | sp_buf_append(w->out, name, nlen) |
             sp_buf_append(w->out, packed ? packed : data, e->csize);
    free(packed);
    return rc ? -1 : 0;
}

static int finish(struct zip_writer *w)
{
    size_t cd_start = w->out->len - w->base;
    int rc = 0;
    for (size_t i = 0; i < w->n; i++) {
        const struct zip_entry *e = &w->items[i];
        unsigned char h[46] = {0};
        size_t nlen = strlen(e->name);
        put32(h, SIG_CENTRAL);
        put16(h + 4, 0x0314); /* made by: Unix, 2.0 */
        put16(h + 6, 20);
        put16(h + 8, FLAG_UTF8);
        put16(h + 10, e->method);
        put16(h + 12, e->dtime);
        put16(h + 14, e->ddate);
        put32(h + 16, e->crc);
        put32(h + 20, e->csize);
        put32(h + 24, e->usize);
        put16(h + 28, (unsigned)nlen);
        put32(h + 38, (uint32_t)0100644 << 16); /* external attributes: a regular file */
        put32(h + 42, e->offset);
        rc |= sp_buf_append(w->out, h, sizeof(h)) | sp_buf_append(w->out, e->name, nlen);
    }
    size_t cd_len = w->out->len - w->base - cd_start;
    unsigned char end[22] = {0};
    put32(end, SIG_END);
    put16(end + 8, (unsigned)w->n);
    put16(end + 10, (unsigned)w->n);
    put32(end + 12, (uint32_t)cd_len);
    put32(end + 16, (uint32_t)cd_start);
    rc |= sp_buf_append(w->out, end, sizeof(end));
    return rc || w->n > 0xffff || cd_start > ZIP_MAX ? -1 : 0;
}

static int finish_empty(struct sp_buf *out)
{
    struct zip_writer w = {.out = out, .base = out->len};
    return finish(&w);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in directory rel beneath root, sorted (archives are reproducible), "." and ".."
 * left out. Returns the count, or -1. */
static int list_names(int root, const char *rel, char ***out)
{
    int fd = mock_fs_openat(root, rel, O_RDONLY | O_DIRECTORY, 0);
    DIR *d = fd < 0 ? NULL : fdopendir(fd);
    if (d == NULL) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    char **v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (n == cap) {
            char **nv = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*v));
            if (nv == NULL) {
                rc = -1;
                break;
            }
            v = nv;
        }
        if ((v[n] = strdup(e->d_name)) == NULL)
            rc = -1;
        else
            n++;
    }
    closedir(d);
    if (n > 1)
        qsort(v, n, sizeof(*v), by_name);
    *out = v;
    return rc == 0 ? (int)n : -(int)n - 1;
}

/* Adds the regular file rel (beneath root), named name. */
static int add_file(struct zip_writer *w, int root, const char *rel, const char *name)
{
    struct stat st;
    struct sp_buf b;
    int fd = mock_fs_openat(root, rel, O_RDONLY, 0);
    if (fd < 0)
        return 0; /* gone, or a link out of the root: left out, as an unreadable entry */
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return 0;
    }
    sp_buf_init(&b, w->out->max ? w->out->max : SP_BUF_DEFAULT_MAX);
    int rc = mock_fs_read_fd(fd, &b);
    close(fd);
    if (rc == 0)
        rc = add_entry(w, name, (const unsigned char *)sp_buf_str(&b), b.len, st.st_mtime);
    sp_buf_cleanup(&b);
    return rc;
}

/* Adds every regular file under directory rel (beneath root), named "<prefix><name>".
 * Symbolic links to directories are not followed (os.walk); links to files are read when
 * they stay beneath the root. */
static int walk(struct zip_writer *w, int root, const char *rel, const char *prefix)
{
    char **names = NULL;
    int n = list_names(root, rel, &names);
    int rc = n < 0 ? -1 : 0, count = n < 0 ? -n - 1 : n;
    for (int i = 0; i < count; i++) {
        char path[4096], name[4096];
        struct stat lst;
        int a = snprintf(path, sizeof(path), "%s%s%s", rel, rel[0] ? "/" : "", names[i]);
        int b = snprintf(name, sizeof(name), "%s%s", prefix, names[i]);
        free(names[i]);
        if (rc != 0 || a >= (int)sizeof(path) || b >= (int)sizeof(name) - 1 ||
            mock_fs_lstatat(root, path, &lst) != 0)
            continue;
        if (S_ISDIR(lst.st_mode)) {
            name[b] = '/'; /* fits: checked above */
            name[b + 1] = '\0';
            rc = walk(w, root, path, name);
        } else if (S_ISREG(lst.st_mode) || S_ISLNK(lst.st_mode)) {
            rc = add_file(w, root, path, name);
        }
    }
    free(names);
    return rc;
}

int mock_zip_dir_at(int root, const char *rel, struct sp_buf *out)
{
    struct zip_writer w = {.out = out, .base = out->len};
    struct stat st;
    int rc = 0, fd = mock_fs_openat(root, rel, O_PATH, 0);
    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
        rc = walk(&w, root, rel, "");
    if (fd >= 0)
        close(fd);
    if (rc == 0)
        rc = finish(&w);
    for (size_t i = 0; i < w.n; i++)
        free(w.items[i].name);
    free(w.items);
    return rc;
}

int mock_zip_dir(const char *dir, struct sp_buf *out)
{
    int root = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        return finish_empty(out);
    int rc = mock_zip_dir_at(root, "", out);
    close(root);
    return rc;
}

int mock_zip_dir_in(const struct mock_sandbox *sb, const char *host, struct sp_buf *out)
{
    const char *rel;
    int root = mock_fs_root(sb, host, &rel);
    if (root < 0)
        return -1;
    int rc = mock_zip_dir_at(root, rel, out);
    close(root);
    return rc;
}

/* --- extraction ----------------------------------------------------------------------------- */

/* Cleans an entry name into rel: components "", "." and ".." dropped, as extractall does.
 * Returns its length (0 = nothing left), or -1 when too long. */
static int clean_name(const char *name, size_t nlen, char *rel, size_t rellen)
{
    size_t n = 0, i = 0;
    while (i < nlen) {
        size_t j = i;
        while (j < nlen && name[j] != '/' && name[j] != '\\')
            j++;
        size_t seg = j - i;
        int skip = seg == 0 || (seg == 1 && name[i] == '.') ||
                   (seg == 2 && name[i] == '.' && name[i + 1] == '.') ||
                   memchr(name + i, '\0', seg) != NULL;
        if (!skip) {
            if (n + seg + 2 > rellen)
                return -1;
            if (n > 0)
                rel[n++] = '/';
            memcpy(rel + n, name + i, seg);
            n += seg;
        }
        i = j + 1;
    }
    rel[n] = '\0';
    return (int)n;
}

static int fail_why(char *why, size_t len, const char *what, const char *name)
{
    snprintf(why, len, "%s%s%s", what, name ? ": " : "", name ? name : "");
    return -1;
}

/* Writes data to rel beneath root, making its directories. */
static int write_member(int root, const char *rel, const struct sp_buf *data)
{
    char dir[8192];
    const char *slash = strrchr(rel, '/');
    size_t dl = slash ? (size_t)(slash - rel) : 0;
    memcpy(dir, rel, dl);
    dir[dl] = '\0';
    if (mock_fs_mkdir_pat(root, dir, 0755) != 0)
        return -1;
    int fd = mock_fs_openat(root, rel, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    int rc = mock_fs_write_fd(fd, sp_buf_str(data), data->len);
    return close(fd) != 0 ? -1 : rc;
}

/* Writes one member under dest (a path beneath root, its name cleaned); *left is the byte
 * budget, which a member may use up exactly but never exceed. */
static int extract_one(const struct sp_zip *z,
                       const struct sp_zip_entry *e,
                       int root,
                       const char *dest,
                       size_t *left,
                       char *why,
                       size_t whylen)
{
    char raw[4096], rel[4096], path[8192];
    struct sp_error err;
    if (e->name_len >= sizeof(raw))
        return fail_why(why, whylen, "entry name too long", NULL);
    memcpy(raw, e->name, e->name_len);
    raw[e->name_len] = '\0';
    int rlen = clean_name(raw, e->name_len, rel, sizeof(rel));
    if (rlen < 0 ||
        snprintf(path, sizeof(path), "%s%s%s", dest, dest[0] ? "/" : "", rel) >= (int)sizeof(path))
        return fail_why(why, whylen, "entry name too long", raw);
    if (rlen == 0)
        return 0;
    char last = raw[e->name_len - 1];
    if (last == '/' || last == '\\')
        return mock_fs_mkdir_pat(root, path, 0755) == 0
                   ? 0
                   : fail_why(why, whylen, "cannot create directory", rel);
    if (e->usize > *left)
        return fail_why(why, whylen, "archive too large", NULL);
    /* An sp_buf limit of 0 means "the default", not "nothing": a spent budget still reads
     * with a limit of 1 byte, and the length is checked against the budget after. */
    struct sp_buf data;
    sp_buf_init(&data, *left ? *left : 1);
    int rc = 0;
    if (sp_zip_read(z, e, &data, &err) != SP_E_OK)
        rc = fail_why(why, whylen, data.overflow ? "archive too large" : err.msg, NULL);
    else if (data.len > *left)
        rc = fail_why(why, whylen, "archive too large", NULL);
    else if (*left -= data.len, write_member(root, path, &data) != 0)
        rc = fail_why(why, whylen,
                      errno == EXDEV || errno == ELOOP
                          ? "path leaves the sandbox through a symbolic link"
                          : "cannot write",
                      rel);
    sp_buf_cleanup(&data);
    return rc;
}

int mock_zip_extract_at(int root,
                        const char *dest,
                        const void *zip,
                        size_t len,
                        size_t max_total,
                        char *why,
                        size_t whylen)
{
    struct sp_zip z;
    struct sp_zip_entry e;
    struct sp_error err;
    size_t pos = 0, left = max_total;
    if (sp_zip_open(&z, zip, len, &err) != SP_E_OK)
        return fail_why(why, whylen, err.msg, NULL);
    for (;;) {
        enum sp_err rc = sp_zip_next(&z, &pos, &e, &err);
        if (rc == SP_E_NOT_FOUND)
            return 0;
        if (rc != SP_E_OK)
            return fail_why(why, whylen, err.msg, NULL);
        if (extract_one(&z, &e, root, dest, &left, why, whylen) != 0)
            return -1;
    }
}

int mock_zip_extract(
    const void *zip, size_t len, const char *dest, size_t max_total, char *why, size_t whylen)
{
    int root = open(dest, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0)
        return fail_why(why, whylen, "cannot open the destination directory", NULL);
    int rc = mock_zip_extract_at(root, "", zip, len, max_total, why, whylen);
    close(root);
    return rc;
}

int mock_zip_extract_in(const struct mock_sandbox *sb,
                        const void *zip,
                        size_t len,
                        const char *dest,
                        size_t max_total,
                        char *why,
                        size_t whylen)
{
    const char *rel;
    int root = mock_fs_root(sb, dest, &rel);
    if (root < 0)
        return fail_why(why, whylen, "destination outside the sandbox", NULL);
    int rc = mock_zip_extract_at(root, rel, zip, len, max_total, why, whylen);
    close(root);
    return rc;
}
