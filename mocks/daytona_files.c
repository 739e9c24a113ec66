/* The Daytona mock, toolbox file routes (spec/daytona-runloop.md A7.3): list, info,
 * download, upload, bulk-upload (files[i].path before files[i].file), delete, folder, move,
 * with the daemon's FileInfo (Go FileMode and Time strings) and Go error bodies. */
#include "backend.h"
#include "daytona_int.h"
#include "hostfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "multipart.h"

#define DOWNLOAD_MAX ((size_t)256 << 20)

/* Go's FileMode.String(): type letters (or '-') then rwxrwxrwx. */
static void go_mode(mode_t m, char *out)
{
    size_t n = 0;
    if (S_ISDIR(m))
        out[n++] = 'd';
    if (S_ISLNK(m))
        out[n++] = 'L';
    if (S_ISBLK(m) || S_ISCHR(m))
        out[n++] = 'D';
    if (S_ISFIFO(m))
        out[n++] = 'p';
    if (S_ISSOCK(m))
        out[n++] = 'S';
    if (m & S_ISUID)
        out[n++] = 'u';
    if (m & S_ISGID)
        out[n++] = 'g';
    if (S_ISCHR(m))
        out[n++] = 'c';
    if (m & 01000) /* sticky (S_ISVTX is XSI) */
        out[n++] = 't';
    if (n == 0)
        out[n++] = '-';
    for (int i = 8; i >= 0; i--)
        out[n++] = (m >> i) & 1 ? "xwr"[i % 3] : '-';
    out[n] = '\0';
}

/* Go's Time.String() in UTC: "2025-07-18 10:00:00.123456789 +0000 UTC" (zeros trimmed). */
static void go_time(const struct timespec *ts, char *out, size_t len)
{
    struct tm tm;
    char base[32], frac[24] = "";
    gmtime_r(&ts->tv_sec, &tm);
    strftime(base, sizeof(base), "%Y-%m-%d %H:%M:%S", &tm);
    if (ts->tv_nsec > 0) {
        snprintf(frac, sizeof(frac), ".%09ld", ts->tv_nsec);
        for (size_t n = strlen(frac); frac[n - 1] == '0'; n--)
            frac[n - 1] = '\0';
    }
    snprintf(out, len, "%s%s +0000 UTC", base, frac);
}

static cJSON *file_info(const char *name, const struct stat *st)
{
    char mode[16], perm[8], when[96], id[24];
    go_mode(st->st_mode, mode);
    snprintf(perm, sizeof(perm), "%04o", (unsigned)(st->st_mode & 0777));
    go_time(&st->st_mtim, when, sizeof(when));
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", name);
    cJSON_AddBoolToObject(o, "isDir", S_ISDIR(st->st_mode));
    cJSON_AddNumberToObject(o, "size", (double)st->st_size);
    cJSON_AddStringToObject(o, "modTime", when);
    cJSON_AddStringToObject(o, "mode", mode);
    cJSON_AddStringToObject(o, "permissions", perm);
    snprintf(id, sizeof(id), "%u", (unsigned)st->st_uid);
    cJSON_AddStringToObject(o, "owner", id);
    snprintf(id, sizeof(id), "%u", (unsigned)st->st_gid);
    cJSON_AddStringToObject(o, "group", id);
    return o;
}

/* The toolbox sandbox and the host path of query parameter `key` (required unless dflt).
 * Replies and returns NULL on failure. */
static struct mock_sandbox *file_target(struct mock_req *r,
                                        const char *key,
                                        const char *dflt,
                                        const char **path,
                                        char *host,
                                        size_t len)
{
    struct mock_sandbox *sb = dt_toolbox_sandbox(r, false);
    if (sb == NULL)
        return NULL;
    *path = mock_req_query(r, key);
    if (*path == NULL || (*path)[0] == '\0')
        *path = dflt;
    if (*path == NULL) {
        char msg[64];
        snprintf(msg, sizeof(msg), "%s is required", key);
        dt_daemon_error(r, 400, msg);
    } else if (dt_host_path(r, sb, *path, host, len) != 0) {
        dt_daemon_error(r, 400, "invalid path");
    } else {
        return sb;
    }
    mock_store_put(mock_store_of(r->mock), sb);
    return NULL;
}

void dt_files_list(struct mock_req *r)
{
    const char *path;
    char host[2048];
    struct mock_sandbox *sb = file_target(r, "path", ".", &path, host, sizeof(host));
    if (sb == NULL)
        return;
    struct dirent **names = NULL;
    int n = mock_fs_scandir(sb, host, &names, NULL, alphasort); /* os.ReadDir sorts by name */
    if (n < 0) {
        dt_path_error(r, "open", path, errno);
    } else {
        cJSON *arr = cJSON_CreateArray();
        for (int i = 0; i < n; i++) {
            char p[4096];
            struct stat st;
            const char *d = names[i]->d_name;
            if (strcmp(d, ".") != 0 && strcmp(d, "..") != 0 &&
                snprintf(p, sizeof(p), "%s/%s", host, d) < (int)sizeof(p) &&
                (mock_fs_stat(sb, p, &st) == 0 || mock_fs_lstat(sb, p, &st) == 0))
                cJSON_AddItemToArray(arr, file_info(d, &st));
            free(names[i]);
        }
        dt_reply_json(r, 200, arr);
    }
    free(names);
    mock_store_put(mock_store_of(r->mock), sb);
}

/* filepath.Base: the last element, trailing slashes ignored ("/" for the root). */
static void base_name(const char *path, char *out, size_t len)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    size_t start = n;
    while (start > 0 && path[start - 1] != '/')
        start--;
    if (start == n && n > 0) /* only slashes */
        snprintf(out, len, "/");
    else
        snprintf(out, len, "%.*s", (int)(n - start), path + start);
}

void dt_files_info(struct mock_req *r)
{
    const char *path;
    char host[2048], name[512];
    struct stat st;
    struct mock_sandbox *sb = file_target(r, "path", NULL, &path, host, sizeof(host));
    if (sb == NULL)
        return;
    if (mock_fs_stat(sb, host, &st) != 0) {
        dt_path_error(r, "stat", path, errno);
    } else {
        base_name(path, name, sizeof(name));
        dt_reply_json(r, 200, file_info(name, &st));
    }
    mock_store_put(mock_store_of(r->mock), sb);
}

void dt_files_download(struct mock_req *r)
{
    const char *path;
    char host[2048], name[512], disp[600];
    struct stat st;
    struct mock_sandbox *sb = file_target(r, "path", NULL, &path, host, sizeof(host));
    if (sb == NULL)
        return;
    struct sp_buf data;
    sp_buf_init(&data, DOWNLOAD_MAX);
    if (mock_is_synthetic(r->mock)) {
        dt_synthetic_download(r, sb, path, host);
    } else if (mock_fs_stat(sb, host, &st) != 0) {
        dt_path_error(r, "stat", path, errno);
    } else if (S_ISDIR(st.st_mode)) {
        dt_daemon_error(r, 400, "path is a directory");
    } else if (mock_fs_read_file(sb, host, &data) != 0) {
        dt_path_error(r, "open", path, data.overflow ? EFBIG : errno);
    } else {
        base_name(path, name, sizeof(name));
        snprintf(disp, sizeof(disp), "attachment; filename=%.500s", name);
        mock_reply_header(r, "Content-Disposition", disp);
        mock_reply(r, 200, "application/octet-stream", data.data, data.len);
    }
    sp_buf_cleanup(&data);
    mock_store_put(mock_store_of(r->mock), sb);
}

/* Writes a file, creating its parent directories (Gin's SaveUploadedFile). 0 or errno. */
static int save_file(const struct mock_sandbox *sb, const char *host, const char *data, size_t len)
{
    if (mock_fs_mkdir_parents(sb, host) != 0 ||
        mock_fs_write_file(sb, host, data, len, 0644, false) != 0)
        return errno ? errno : EIO;
    return 0;
}

static int first_file_part(const struct mock_part *part, void *user)
{
    if (strcmp(part->name, "file") != 0)
        return 0;
    *(struct mock_part *)user = *part;
    return 1;
}

void dt_files_upload(struct mock_req *r)
{
    const char *path;
    char host[2048];
    struct mock_sandbox *sb = file_target(r, "path", NULL, &path, host, sizeof(host));
    if (sb == NULL)
        return;
    struct mock_part *part = calloc(1, sizeof(*part));
    int found = part ? mock_multipart_each(mock_req_header(r, "Content-Type"), sp_buf_str(&r->body),
                                           r->body.len, first_file_part, part)
                     : -1;
    int rc;
    if (found != 1)
        dt_daemon_error(r, 400, "http: no such file");
    else if ((rc = mock_is_synthetic(r->mock) ? dt_synthetic_save(sb, host, part->data, part->len)
                                              : save_file(sb, host, part->data, part->len)) != 0)
        dt_path_error(r, "open", path, rc);
    else
        mock_reply_empty(r, 200);
    free(part);
    mock_store_put(mock_store_of(r->mock), sb);
}

/* files/bulk-upload: text part files[i].path, then file part files[i].file (A7.3). */
struct bulk {
    struct mock_req *r;
    struct mock_sandbox *sb;
    struct bulk_path {
        long idx;
        char *path;
    } * paths;
    size_t n, cap;
    cJSON *errors;
};

static int bulk_remember(struct bulk *b, long idx, const char *data, size_t len)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        struct bulk_path *grown = realloc(b->paths, cap * sizeof(*grown));
        if (grown == NULL)
            return -1;
        b->paths = grown;
        b->cap = cap;
    }
    if ((b->paths[b->n].path = strndup(data, len < 4096 ? len : 4095)) == NULL)
        return -1;
    b->paths[b->n++].idx = idx;
    return 0;
}

static void bulk_error(struct bulk *b, long idx, const char *what, const char *detail)
{
    char msg[700];
    snprintf(msg, sizeof(msg), "file %ld: %s%.500s", idx, what, detail);
    cJSON_AddItemToArray(b->errors, cJSON_CreateString(msg));
}

static int bulk_part(const struct mock_part *part, void *user)
{
    struct bulk *b = user;
    char *end, host[2048];
    if (strncmp(part->name, "files[", 6) != 0)
        return 0;
    long idx = strtol(part->name + 6, &end, 10);
    if (end == part->name + 6 || strncmp(end, "].", 2) != 0)
        return 0;
    if (strcmp(end + 2, "path") == 0)
        return bulk_remember(b, idx, part->data, part->len) == 0 ? 0 : -1;
    if (strcmp(end + 2, "file") != 0)
        return 0;
    const char *path = NULL;
    for (size_t i = 0; i < b->n && path == NULL; i++)
        if (b->paths[i].idx == idx)
            path = b->paths[i].path;
    int rc;
    if (path == NULL)
        bulk_error(b, idx, "missing .path metadata", "");
    else if (dt_host_path(b->r, b->sb, path, host, sizeof(host)) != 0)
        bulk_error(b, idx, "invalid path ", path);
    else if ((rc = mock_is_synthetic(b->r->mock)
                       ? dt_synthetic_save(b->sb, host, part->data, part->len)
                       : save_file(b->sb, host, part->data, part->len)) != 0)
        bulk_error(b, idx, "", strerror(rc));
    return 0;
}

void dt_files_bulk_upload(struct mock_req *r)
{
    struct mock_sandbox *sb = dt_toolbox_sandbox(r, false);
    if (sb == NULL)
        return;
    struct bulk b = {.r = r, .sb = sb, .errors = cJSON_CreateArray()};
    int rc = mock_multipart_each(mock_req_header(r, "Content-Type"), sp_buf_str(&r->body),
                                 r->body.len, bulk_part, &b);
    if (rc != 0) {
        cJSON_Delete(b.errors);
        dt_daemon_error(r, 400, "request Content-Type isn't multipart/form-data");
    } else if (cJSON_GetArraySize(b.errors) > 0) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "errors", b.errors);
        dt_reply_json(r, 400, o);
    } else {
        cJSON_Delete(b.errors);
        mock_reply_empty(r, 200);
    }
    for (size_t i = 0; i < b.n; i++)
        free(b.paths[i].path);
    free(b.paths);
    mock_store_put(mock_store_of(r->mock), sb);
}

/* os.RemoveAll without following symbolic links. 0 or errno. */
int dt_remove_all(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : errno;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
            char p[4096];
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            if (snprintf(p, sizeof(p), "%s/%s", path, e->d_name) < (int)sizeof(p))
                dt_remove_all(p);
        }
        if (d)
            closedir(d);
        return rmdir(path) == 0 ? 0 : errno;
    }
    return unlink(path) == 0 ? 0 : errno;
}

void dt_files_delete(struct mock_req *r)
{
    const char *path, *rec = mock_req_query(r, "recursive");
    char host[2048];
    struct stat st;
    struct mock_sandbox *sb = file_target(r, "path", NULL, &path, host, sizeof(host));
    if (sb == NULL)
        return;
    bool recursive = rec != NULL && strcmp(rec, "true") == 0;
    int rc;
    if (mock_fs_stat(sb, host, &st) != 0)
        dt_path_error(r, "stat", path, errno);
    else if (S_ISDIR(st.st_mode) && !recursive)
        dt_daemon_error(r, 400, "cannot delete directory without recursive flag");
    else if ((rc = (recursive ? mock_fs_remove_all(sb, host) : mock_fs_unlink(sb, host)) == 0
                       ? 0
                       : errno) != 0)
        dt_path_error(r, "remove", path, rc);
    else
        mock_reply_empty(r, 204);
    mock_store_put(mock_store_of(r->mock), sb);
}

void dt_files_folder(struct mock_req *r)
{
    const char *path, *mode = mock_req_query(r, "mode");
    char host[2048], *end;
    struct mock_sandbox *sb = file_target(r, "path", NULL, &path, host, sizeof(host));
    if (sb == NULL)
        return;
    unsigned long bits = mode && mode[0] ? strtoul(mode, &end, 8) : 0755;
    if (mode && mode[0] && (*end != '\0' || bits > 07777)) {
        dt_daemon_error(r, 400, "invalid mode format");
    } else {
        /* os.MkdirAll: parents too, and no error when it exists. */
        if (mock_fs_mkdir_p(sb, host, (mode_t)bits) != 0)
            dt_path_error(r, "mkdir", path, errno);
        else
            mock_reply_empty(r, 201);
    }
    mock_store_put(mock_store_of(r->mock), sb);
}

void dt_files_move(struct mock_req *r)
{
    const char *src, *dst = mock_req_query(r, "destination");
    char from[2048], to[2048];
    struct mock_sandbox *sb = file_target(r, "source", NULL, &src, from, sizeof(from));
    if (sb == NULL)
        return;
    if (dst == NULL || dst[0] == '\0')
        dt_daemon_error(r, 400, "source and destination paths are required");
    else if (dt_host_path(r, sb, dst, to, sizeof(to)) != 0)
        dt_daemon_error(r, 400, "invalid path");
    else if (mock_fs_rename(sb, from, to) != 0)
        dt_path_error(r, "rename", src, errno);
    else
        mock_reply_empty(r, 200);
    mock_store_put(mock_store_of(r->mock), sb);
}
