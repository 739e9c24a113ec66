/* The Daytona mock, POST files/bulk-download (the newest daemon's
 * apps/daemon/pkg/toolbox/fs/download_files.go; the newest SDK downloads every file this
 * way): body {"paths":[...]}, answer multipart/form-data with boundary
 * DAYTONA-FILE-BOUNDARY, one part per path in order: a part named "file" with the bytes
 * (Content-Type by extension, Content-Length), or a part named "error" with the daemon's
 * JSON error (statusCode, message, code FILE_NOT_FOUND / FILE_ACCESS_DENIED /
 * INVALID_FILE_PATH / FILE_READ_FAILED, source). Either part's filename is the requested path,
 * which is how the SDK matches parts to requests. */
#include "daytona_int.h"
#include "hostfs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "json.h"

#define BOUNDARY     "DAYTONA-FILE-BOUNDARY"
#define BULK_MAX     ((size_t)256 << 20)
#define BULK_PATHS   1000
#define PATH_MAX_LEN 4096

/* Go's mime.TypeByExtension for the common cases, else application/octet-stream. */
static const char *type_of(const char *path)
{
    static const struct {
        const char *ext, *type;
    } TYPES[] = {{".txt", "text/plain; charset=utf-8"},
                 {".json", "application/json"},
                 {".html", "text/html; charset=utf-8"},
                 {".js", "text/javascript; charset=utf-8"},
                 {".png", "image/png"},
                 {".jpg", "image/jpeg"}};
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    if (dot == NULL || (slash && dot < slash))
        return "application/octet-stream";
    for (size_t i = 0; i < sizeof(TYPES) / sizeof(TYPES[0]); i++)
        if (strcmp(dot, TYPES[i].ext) == 0)
            return TYPES[i].type;
    return "application/octet-stream";
}

/* Content-Disposition: the quoted name with \ and " escaped, controls and non-Latin-1 bytes
 * as '_', and the RFC 5987 filename* with the exact bytes. */
static int put_disposition(struct sp_buf *b, const char *field, const char *path)
{
    int rc = sp_buf_printf(b, "Content-Disposition: form-data; name=\"%s\"; filename=\"", field);
    for (const unsigned char *p = (const unsigned char *)path; rc == 0 && *p; p++) {
        if (*p == '\\' || *p == '"')
            rc = sp_buf_printf(b, "\\%c", *p);
        else if (*p == '\r' || *p == '\n')
            continue;
        else
            rc = sp_buf_printf(b, "%c", *p < 0x20 || *p >= 0x7f ? '_' : *p);
    }
    rc = rc ? rc : sp_buf_puts(b, "\"; filename*=utf-8''");
    for (const unsigned char *p = (const unsigned char *)path; rc == 0 && *p; p++) {
        bool safe = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                    (*p >= '0' && *p <= '9') || strchr("!#$&+-.^_`|~", *p) != NULL;
        rc = safe ? sp_buf_printf(b, "%c", *p) : sp_buf_printf(b, "%%%02X", *p);
    }
    return rc ? rc : sp_buf_puts(b, "\r\n");
}

static int error_part(struct mock_req *r, struct sp_buf *b, const char *path, int err)
{
    static const struct {
        int err, status;
        const char *code, *text;
    } KINDS[] = {
        {ENOENT, 404, "FILE_NOT_FOUND", "file not found"},
        {EACCES, 403, "FILE_ACCESS_DENIED", "permission denied"},
        {EISDIR, 400, "INVALID_FILE_PATH", "invalid file path: path points to a directory"},
        {EINVAL, 400, "INVALID_FILE_PATH", "invalid file path"}};
    int status = 500;
    const char *code = "FILE_READ_FAILED", *text = "failed to open file";
    for (size_t i = 0; i < sizeof(KINDS) / sizeof(KINDS[0]); i++)
        if (KINDS[i].err == err)
            status = KINDS[i].status, code = KINDS[i].code, text = KINDS[i].text;
    char ts[40], msg[PATH_MAX_LEN + 80];
    mock_format_time(mock_wall_ms(), false, ts, sizeof(ts));
    snprintf(msg, sizeof(msg), "%s: %s", text, path);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "statusCode", status);
    cJSON_AddStringToObject(o, "message", path[0] ? msg : "invalid file path: path is empty");
    cJSON_AddStringToObject(o, "code", code);
    cJSON_AddStringToObject(o, "source", "DAYTONA_DAEMON");
    cJSON_AddStringToObject(o, "timestamp", ts);
    cJSON_AddStringToObject(o, "path", path);
    cJSON_AddStringToObject(o, "method", r->method);
    char *json = sp_json_print_free(o);
    int rc = json == NULL ? -1 : sp_buf_puts(b, "--" BOUNDARY "\r\n");
    rc = rc ? rc : sp_buf_puts(b, "Content-Type: application/json; charset=utf-8\r\n");
    rc = rc ? rc : put_disposition(b, "error", path);
    rc = rc ? rc : sp_buf_printf(b, "\r\n%s\r\n", json);
    cJSON_free(json);
    return rc;
}

/* One part for path: its bytes, or the error part. Returns -1 when the answer is too big. */
static int add_part(struct mock_req *r, struct mock_sandbox *sb, struct sp_buf *b, const char *path)
{
    char host[2048];
    struct stat st;
    struct sp_buf data;
    if (path[0] == '\0')
        return error_part(r, b, path, EINVAL);
    if (dt_host_path(r, sb, path, host, sizeof(host)) != 0)
        return error_part(r, b, path, EINVAL);
    if (mock_fs_stat(sb, host, &st) != 0)
        return error_part(r, b, path, errno);
    if (S_ISDIR(st.st_mode))
        return error_part(r, b, path, EISDIR);
    sp_buf_init(&data, BULK_MAX);
    if (mock_fs_read_file(sb, host, &data) != 0) {
        int e = data.overflow ? EFBIG : errno;
        sp_buf_cleanup(&data);
        return error_part(r, b, path, e);
    }
    int rc = sp_buf_puts(b, "--" BOUNDARY "\r\n");
    rc = rc ? rc : sp_buf_printf(b, "Content-Type: %s\r\n", type_of(path));
    rc = rc ? rc : put_disposition(b, "file", path);
    rc = rc ? rc : sp_buf_printf(b, "Content-Length: %zu\r\n\r\n", data.len);
    rc = rc ? rc : sp_buf_append(b, data.data ? data.data : "", data.len);
    rc = rc ? rc : sp_buf_puts(b, "\r\n");
    sp_buf_cleanup(&data);
    return rc;
}

void dt_files_bulk_download(struct mock_req *r)
{
    struct mock_sandbox *sb = dt_toolbox_sandbox(r, false);
    if (sb == NULL)
        return;
    struct sp_error err;
    cJSON *o = sp_json_parse(sp_buf_str(&r->body), r->body.len, "body", &err);
    const cJSON *paths = cJSON_GetObjectItemCaseSensitive(o, "paths"), *p;
    bool ok = cJSON_IsArray(paths) && cJSON_GetArraySize(paths) > 0 &&
              cJSON_GetArraySize(paths) <= BULK_PATHS;
    cJSON_ArrayForEach(p, paths)
    {
        ok = ok && cJSON_IsString(p) && strlen(p->valuestring) < PATH_MAX_LEN;
    }
    if (!ok) {
        /* Gin's AbortWithStatusJSON(400, gin.H{"error": ...}): not the error middleware. */
        mock_reply_json(r, 400,
                        "{\"error\":\"request body must be {\\\"paths\\\": [ ... ]} and "
                        "non-empty\"}");
    } else {
        struct sp_buf b;
        sp_buf_init(&b, BULK_MAX);
        int rc = 0;
        cJSON_ArrayForEach(p, paths)
        {
            rc = rc ? rc : add_part(r, sb, &b, p->valuestring);
        }
        rc = rc ? rc : sp_buf_puts(&b, "--" BOUNDARY "--\r\n");
        if (rc != 0)
            dt_daemon_error(r, 500, "the files do not fit in one answer");
        else
            mock_reply(r, 200, "multipart/form-data; boundary=" BOUNDARY, b.data, b.len);
        sp_buf_cleanup(&b);
    }
    cJSON_Delete(o);
    mock_store_put(mock_store_of(r->mock), sb);
}
