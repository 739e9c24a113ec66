/* The Runloop mock, files (spec/runloop-modal.md R3): read_file_contents answers text/plain
 * (the SDKs return it as a string), write_file_contents answers an execution detail view,
 * upload_file takes multipart `path` and `file` and answers {}, download_file answers the raw
 * bytes. Relative paths are relative to the user's home; parents are created on write. */
#include "runloop_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "multipart.h"

/* A failed host file operation: 404 for a missing file, 400 otherwise. */
static void path_error(struct mock_req *r, const char *path, int e)
{
    char msg[700];
    snprintf(msg, sizeof(msg), "%.500s: %s", path, strerror(e));
    if (e == ENOENT || e == ENOTDIR)
        rl_error(r, 404, "not_found", msg);
    else
        rl_error(r, 400, "bad_request", msg);
}

/* The running devbox and the host path of the body's string `key`; NULL after a reply. The
 * caller puts the devbox back and deletes *body. */
static struct mock_sandbox *file_target(
    struct mock_req *r, const char *key, cJSON **body, const char **path, char *host, size_t len)
{
    *body = rl_body(r);
    if (*body == NULL)
        return NULL;
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(*body, key);
    if (!cJSON_IsString(p) || p->valuestring[0] == '\0') {
        char msg[80];
        snprintf(msg, sizeof(msg), "%s must be a non-empty string", key);
        rl_error(r, 400, "bad_request", msg);
        return NULL;
    }
    *path = p->valuestring;
    struct mock_sandbox *sb = rl_running(r);
    if (sb != NULL && rl_host_path(r, sb, *path, host, len) != 0) {
        mock_store_put(mock_store_of(r->mock), sb);
        return NULL;
    }
    return sb;
}

static void
read_into_reply(struct mock_req *r, const char *path, const char *host, const char *content_type)
{
    struct sp_buf data;
    sp_buf_init(&data, RL_OUTPUT_MAX * 4);
    if (mock_read_file(host, &data) != 0)
        path_error(r, path, data.overflow ? EFBIG : errno);
    else
        mock_reply(r, 200, content_type, data.data ? data.data : "", data.len);
    sp_buf_cleanup(&data);
}

/* The two read routes: the file named by the body's field, as content_type. */
static void read_route(struct mock_req *r, const char *field, const char *content_type)
{
    cJSON *body = NULL;
    const char *path = NULL;
    char host[2048];
    struct mock_sandbox *sb = file_target(r, field, &body, &path, host, sizeof(host));
    if (sb != NULL) {
        read_into_reply(r, path, host, content_type);
        mock_store_put(mock_store_of(r->mock), sb);
    }
    cJSON_Delete(body);
}

void rl_read_file(struct mock_req *r)
{
    read_route(r, "file_path", "text/plain; charset=utf-8");
}

void rl_download_file(struct mock_req *r)
{
    read_route(r, "path", "application/octet-stream");
}

static int
write_host(struct mock_req *r, const char *path, const char *host, const void *data, size_t len)
{
    if (mock_mkdir_parents(host) != 0 || mock_write_file(host, data, len, 0644, false) != 0) {
        path_error(r, path, errno);
        return -1;
    }
    return 0;
}

void rl_write_file(struct mock_req *r)
{
    cJSON *body = NULL;
    const char *path = NULL;
    char host[2048];
    struct mock_sandbox *sb = file_target(r, "file_path", &body, &path, host, sizeof(host));
    const cJSON *c = body ? cJSON_GetObjectItemCaseSensitive(body, "contents") : NULL;
    if (sb != NULL && !cJSON_IsString(c)) {
        rl_error(r, 400, "bad_request", "contents must be a string");
    } else if (sb != NULL &&
               write_host(r, path, host, c->valuestring, strlen(c->valuestring)) == 0) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "devbox_id", sb->id);
        cJSON_AddNumberToObject(o, "exit_status", 0);
        cJSON_AddStringToObject(o, "stdout", "");
        cJSON_AddStringToObject(o, "stderr", "");
        cJSON_AddNullToObject(o, "shell_name");
        mock_reply_cjson(r, 200, o);
    }
    if (sb)
        mock_store_put(mock_store_of(r->mock), sb);
    cJSON_Delete(body);
}

struct upload {
    char path[1024];
    bool has_path, has_file;
    const char *data;
    size_t len;
};

static int upload_part(const struct mock_part *part, void *user)
{
    struct upload *u = user;
    if (strcmp(part->name, "path") == 0 && !part->has_filename) {
        if (part->len == 0 || part->len >= sizeof(u->path))
            return 1;
        memcpy(u->path, part->data, part->len);
        u->path[part->len] = '\0';
        u->has_path = true;
    } else if (strcmp(part->name, "file") == 0) {
        u->data = part->data;
        u->len = part->len;
        u->has_file = true;
    }
    return 0;
}

void rl_upload_file(struct mock_req *r)
{
    struct upload u = {0};
    const char *ct = mock_req_header(r, "Content-Type");
    int rc = mock_multipart_each(ct ? ct : "", r->body.data ? r->body.data : "", r->body.len,
                                 upload_part, &u);
    if (rc != 0 || !u.has_path || !u.has_file) {
        rl_error(r, 400, "bad_request", "upload_file needs multipart parts `path` and `file`");
        return;
    }
    char host[2048];
    struct mock_sandbox *sb = rl_running(r);
    if (sb == NULL)
        return;
    if (rl_host_path(r, sb, u.path, host, sizeof(host)) == 0 &&
        write_host(r, u.path, host, u.data, u.len) == 0)
        mock_reply_json(r, 200, "{}");
    mock_store_put(mock_store_of(r->mock), sb);
}
