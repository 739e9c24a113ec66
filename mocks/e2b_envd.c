/* The E2B mock's envd (spec/e2b-modal.md A1, A3; spec/vendor/e2b-envd.yml): how a request
 * reaches a sandbox (Host "49983-<id>.localhost" or the E2b-Sandbox-Id/-Port headers on the
 * main port), the edge proxy's 502s, envd's access-token rule, /health, /envs and the /files
 * download and upload. The Connect services are in e2b_fs.c and e2b_process.c.
 *
 * Sandbox paths map to a host directory per sandbox (mock_sandbox_host_path); the mock's
 * users are "user" (home /home/user, the default) and "root", though every process runs as
 * the mock's own user. Uploads may be gzip-encoded; downloads are always identity; signed
 * URLs and X-Metadata-* file metadata are not supported. */
#include "backend.h"
#include "e2b_int.h"

#define ZLIB_CONST /* next_in is const */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "hostfs.h"
#include "json.h"
#include "multipart.h"

#define FILES_INLINE_MAX ((size_t)8 << 20) /* larger downloads are streamed (chunked) */

void e2b_reply_proxy_502(struct mock_req *r, const char *id, const char *message)
{
    cJSON *o = cJSON_CreateObject();
    if (o) {
        cJSON_AddStringToObject(o, "sandboxId", id);
        cJSON_AddStringToObject(o, "message", message);
        cJSON_AddNumberToObject(o, "code", 502);
    }
    mock_reply_cjson(r, 502, o);
}

/* The edge proxy's answer for a running sandbox whose port nothing listens on (envd not up,
 * or crashed): it names the port (e2b-dev/infra client-proxy's guestError). */
static void reply_port_closed(struct mock_req *r, const char *id, unsigned port)
{
    cJSON *o = cJSON_CreateObject();
    if (o) {
        cJSON_AddStringToObject(o, "sandboxId", id);
        cJSON_AddStringToObject(o, "message", "The sandbox is running but port is not open");
        cJSON_AddNumberToObject(o, "port", port);
        cJSON_AddNumberToObject(o, "code", 502);
    }
    mock_reply_cjson(r, 502, o);
}

static void reply_text(struct mock_req *r, int status, const char *text)
{
    mock_reply(r, status, "text/plain; charset=utf-8", text, strlen(text));
}

bool e2b_user_lookup(const char *name, struct e2b_user *out)
{
    const char *home = strcmp(name, "user") == 0   ? "/home/user"
                       : strcmp(name, "root") == 0 ? "/root"
                                                   : NULL;
    if (home == NULL)
        return false;
    snprintf(out->name, sizeof out->name, "%s", name);
    snprintf(out->home, sizeof out->home, "%s", home);
    return true;
}

/* Lexically cleans an absolute path ("/a/./b/../c" -> "/a/c"), like Go's filepath.Clean. */
static int clean_path(const char *in, char *out, size_t len)
{
    size_t o = 0;
    out[o++] = '/';
    while (*in) {
        while (*in == '/')
            in++;
        size_t n = strcspn(in, "/");
        if (n == 0 || (n == 1 && in[0] == '.')) {
            in += n;
            continue;
        }
        if (n == 2 && in[0] == '.' && in[1] == '.') {
            while (o > 1 && out[o - 1] != '/')
                o--;
            if (o > 1)
                o--;
        } else {
            if (o + n + 2 > len)
                return -1;
            if (o > 1)
                out[o++] = '/';
            memcpy(out + o, in, n);
            o += n;
        }
        in += n;
    }
    out[o] = '\0';
    return 0;
}

int e2b_resolve_path(const struct mock_sandbox *sb,
                     const struct e2b_user *u,
                     const char *path,
                     char *guest,
                     size_t guest_len,
                     char *host,
                     size_t host_len)
{
    char joined[2048];
    if (path == NULL || path[0] == '\0')
        path = u->home;
    if (path[0] == '~') {
        if (path[1] != '\0' && path[1] != '/')
            return -1; /* "cannot expand user-specific home dir" */
        snprintf(joined, sizeof joined, "%s%s", u->home, path + 1);
    } else if (path[0] != '/') {
        snprintf(joined, sizeof joined, "%s/%s", u->home, path);
    } else {
        snprintf(joined, sizeof joined, "%s", path);
    }
    if (strlen(joined) >= sizeof joined - 1 || clean_path(joined, guest, guest_len) != 0)
        return -1;
    return mock_sandbox_host_path(sb, "/", guest, host, host_len);
}

/* --- /files -------------------------------------------------------------------------------- */

/* GET and POST /files accept the access token or a signed URL (spec A3). The mock cannot check
 * signatures, so a request that relies on one is refused as an invalid signature. */
static bool files_authorized(struct mock_req *r, const struct e2b_sandbox *es)
{
    if (es->token[0] == '\0')
        return true;
    const char *tok = mock_req_header(r, "X-Access-Token");
    if (tok && tok[0]) {
        if (strcmp(tok, es->token) == 0)
            return true;
        e2b_reply_error(r, 401, "access token present in header but does not match");
    } else if (mock_req_query(r, "signature") == NULL) {
        e2b_reply_error(r, 401, "missing signature query parameter");
    } else {
        e2b_reply_error(r, 401, "invalid signature");
    }
    return false;
}

static bool files_user(struct mock_req *r, struct e2b_user *u)
{
    const char *name = mock_req_query(r, "username");
    if (name == NULL || name[0] == '\0')
        name = E2B_DEFAULT_USER;
    if (e2b_user_lookup(name, u))
        return true;
    e2b_reply_error(r, 401, "error looking up user '%s': user: unknown user %s", name, name);
    return false;
}

/* Content-Type of a download, as Go's http.ServeContent picks it: by extension from Go's
 * built-in table, else by sniffing for binary bytes. */
static const char *content_type(const char *guest, const char *data, size_t len)
{
    static const char *const types[][2] = {
        {".css", "text/css; charset=utf-8"},
        {".gif", "image/gif"},
        {".htm", "text/html; charset=utf-8"},
        {".html", "text/html; charset=utf-8"},
        {".jpeg", "image/jpeg"},
        {".jpg", "image/jpeg"},
        {".js", "text/javascript; charset=utf-8"},
        {".json", "application/json"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".pdf", "application/pdf"},
        {".png", "image/png"},
        {".svg", "image/svg+xml"},
        {".wasm", "application/wasm"},
        {".webp", "image/webp"},
        {".xml", "text/xml; charset=utf-8"},
    };
    const char *slash = strrchr(guest, '/');
    const char *dot = strrchr(slash ? slash : guest, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (strcasecmp(dot, types[i][0]) == 0)
            return types[i][1];
    for (size_t i = 0; i < len && i < 512; i++) {
        unsigned char c = (unsigned char)data[i];
        if (c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1A) || (c >= 0x1C && c <= 0x1F))
            return "application/octet-stream";
    }
    return "text/plain; charset=utf-8";
}

struct file_stream {
    int fd;
};

static ssize_t file_stream_read(void *ctx, char *buf, size_t max)
{
    struct file_stream *fs = ctx;
    ssize_t n;
    do {
        n = read(fs->fd, buf, max);
    } while (n < 0 && errno == EINTR);
    return n;
}

static void file_stream_free(void *ctx)
{
    struct file_stream *fs = ctx;
    close(fs->fd);
    free(fs);
}

/* Content-Disposition as Go's mime.FormatMediaType writes it: a bare token, a quoted string,
 * or RFC 2231 encoding for non-ASCII names. */
static void set_disposition(struct mock_req *r, const char *name)
{
    static const char tspecials[] = "()<>@,;:\\\"/[]?= \t";
    bool token = name[0] != '\0', ascii = true;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        token = token && *p > 0x20 && *p < 0x7f && strchr(tspecials, *p) == NULL;
        ascii = ascii && *p >= 0x20 && *p < 0x7f;
    }
    struct sp_buf v;
    sp_buf_init(&v, 0);
    sp_buf_puts(&v, ascii ? "inline; filename=" : "inline; filename*=utf-8''");
    if (token || !ascii) {
        (token ? sp_buf_puts : sp_buf_put_urlencoded)(&v, name);
    } else {
        sp_buf_puts(&v, "\"");
        for (const char *p = name; *p; p++)
            sp_buf_printf(&v, "%s%c", *p == '"' || *p == '\\' ? "\\" : "", *p);
        sp_buf_puts(&v, "\"");
    }
    mock_reply_header(r, "Content-Disposition", sp_buf_str(&v));
    sp_buf_cleanup(&v);
}

static void send_file(struct mock_req *r, int fd, const struct stat *st, const char *guest)
{
    char head[512];
    ssize_t n = read(fd, head, sizeof head);
    const char *ctype = content_type(guest, head, n > 0 ? (size_t)n : 0);
    const char *slash = strrchr(guest, '/');
    set_disposition(r, slash ? slash + 1 : guest);
    mock_reply_header(r, "Vary", "Accept-Encoding");
    struct file_stream *fs = (size_t)st->st_size > FILES_INLINE_MAX ? malloc(sizeof *fs) : NULL;
    if (fs && lseek(fd, 0, SEEK_SET) == 0) {
        fs->fd = fd;
        mock_reply_stream(r, 200, ctype, file_stream_read, fs, file_stream_free);
        return;
    }
    free(fs);
    struct sp_buf body;
    sp_buf_init(&body, FILES_INLINE_MAX * 2);
    char chunk[65536];
    ssize_t got = 0;
    if (lseek(fd, 0, SEEK_SET) == 0)
        while ((got = read(fd, chunk, sizeof chunk)) > 0 && sp_buf_append(&body, chunk, got) == 0) {
        }
    if (got < 0 || body.overflow)
        e2b_reply_error(r, 500, "error reading file '%s'", guest);
    else
        mock_reply(r, 200, ctype, body.data ? body.data : "", body.len);
    sp_buf_cleanup(&body);
    close(fd);
}

static void files_get(struct mock_req *r, struct mock_sandbox *sb, const struct e2b_sandbox *es)
{
    struct e2b_user u;
    char guest[1024], host[2048];
    const char *path = mock_req_query(r, "path");
    if (!files_authorized(r, es) || !files_user(r, &u))
        return;
    if (e2b_resolve_path(sb, &u, path, guest, sizeof guest, host, sizeof host) != 0) {
        e2b_reply_error(r, 400, "error expanding and resolving path '%s'", path ? path : "");
        return;
    }
    if (mock_is_synthetic(r->mock)) {
        e2b_synthetic_file_get(r, sb, guest);
        return;
    }
    struct stat st;
    int fd = -1;
    if (mock_fs_stat(sb, host, &st) != 0) {
        e2b_reply_error(r, errno == ENOENT || errno == ENOTDIR ? 404 : 500,
                        errno == ENOENT || errno == ENOTDIR ? "path '%s' does not exist"
                                                            : "error checking path '%s'",
                        guest);
    } else if (S_ISDIR(st.st_mode)) {
        e2b_reply_error(r, 400, "path '%s' is a directory", guest);
    } else if ((fd = mock_fs_open(sb, host, O_RDONLY, 0)) < 0) {
        e2b_reply_error(r, 500, "error opening file '%s': %s", guest, strerror(errno));
    } else {
        send_file(r, fd, &st, guest);
    }
}

/* Creates the parent directories of the sandbox path `guest`. */
static int ensure_parents(const struct mock_sandbox *sb, const char *guest, char *err, size_t len)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", guest);
    char *slash = strrchr(dir, '/');
    if (slash == NULL || slash == dir)
        return 0;
    *slash = '\0';
    return e2b_make_dirs(sb, dir, err, len);
}

void e2b_add_written_entry(cJSON *out, const char *guest)
{
    cJSON *e = cJSON_CreateObject();
    const char *name = strrchr(guest, '/');
    cJSON_AddStringToObject(e, "path", guest);
    cJSON_AddStringToObject(e, "name", name ? name + 1 : guest);
    cJSON_AddStringToObject(e, "type", "file");
    cJSON_AddItemToArray(out, e);
}

/* Writes one uploaded file; appends its EntryInfo to out. Replies and returns -1 on error. */
static int write_upload(struct mock_req *r,
                        struct mock_sandbox *sb,
                        const struct e2b_user *u,
                        const char *path,
                        const char *data,
                        size_t len,
                        cJSON *out)
{
    char guest[1024], host[2048], err[256];
    if (e2b_resolve_path(sb, u, path, guest, sizeof guest, host, sizeof host) != 0)
        return e2b_reply_error(r, 400, "error resolving path: '%s'", path ? path : ""), -1;
    const cJSON *prev;
    cJSON_ArrayForEach(prev, out)
    {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(prev, "path");
        if (cJSON_IsString(p) && strcmp(p->valuestring, guest) == 0)
            return e2b_reply_error(r, 400,
                                   "you cannot upload multiple files to the same path '%s' in "
                                   "one upload request, only the first specified file was "
                                   "uploaded",
                                   guest),
                   -1;
    }
    if (mock_is_synthetic(r->mock))
        return e2b_synthetic_file_put(r, sb, guest, data, len, out);
    if (ensure_parents(sb, guest, err, sizeof err) != 0)
        return e2b_reply_error(r, 500, "error ensuring directories: %s", err), -1;
    struct stat st;
    bool existed = mock_fs_stat(sb, host, &st) == 0;
    if (existed && S_ISDIR(st.st_mode))
        return e2b_reply_error(r, 400, "path is a directory: %s", guest), -1;
    int fd = mock_fs_open(sb, host, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd < 0)
        return e2b_reply_error(r, 500, "error opening file: %s", strerror(errno)), -1;
    if (!existed)
        fchmod(fd, 0644); /* 0666 under the sandbox's umask 022, whatever the mock's is */
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    close(fd);
    if (off < len)
        return e2b_reply_error(r, errno == ENOSPC ? 507 : 500, "error writing file: %s",
                               strerror(errno)),
               -1;
    e2b_add_written_entry(out, guest);
    return 0;
}

struct upload_ctx {
    struct mock_req *r;
    struct mock_sandbox *sb;
    const struct e2b_user *u;
    const char *qpath;
    cJSON *out;
};

/* Every part named "file" is written; spec A3: the `path` query wins, else the part's
 * filename is the path. Returns nonzero (having replied) to stop the walk. */
static int upload_part(const struct mock_part *part, void *user)
{
    struct upload_ctx *c = user;
    if (strcmp(part->name, "file") != 0)
        return 0;
    const char *path = c->qpath ? c->qpath : part->filename;
    return write_upload(c->r, c->sb, c->u, path, part->data, part->len, c->out) != 0;
}

static int upload_multipart(struct mock_req *r,
                            struct mock_sandbox *sb,
                            const struct e2b_user *u,
                            const char *ctype,
                            const char *data,
                            size_t len,
                            cJSON *out)
{
    struct upload_ctx c = {r, sb, u, mock_req_query(r, "path"), out};
    int rc = mock_multipart_each(ctype, data, len, upload_part, &c);
    if (rc < 0)
        e2b_reply_error(r, 500, "error reading form: malformed multipart body");
    return rc == 0 ? 0 : -1;
}

/* Inflates a gzip body (Content-Encoding: gzip on upload). */
static int gunzip(const char *in, size_t len, struct sp_buf *out)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (len > UINT32_MAX || inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
        return -1;
    zs.next_in = (const Bytef *)in;
    zs.avail_in = (uInt)len;
    char chunk[65536];
    int rc;
    do {
        zs.next_out = (Bytef *)chunk;
        zs.avail_out = sizeof chunk;
        rc = inflate(&zs, Z_NO_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END)
            break;
        if (sp_buf_append(out, chunk, sizeof chunk - zs.avail_out) != 0)
            rc = Z_MEM_ERROR;
    } while (rc == Z_OK);
    inflateEnd(&zs);
    return rc == Z_STREAM_END ? 0 : -1;
}

/* spec A3: octet-stream needs `path`; multipart takes each part named "file". */
static int upload(struct mock_req *r,
                  struct mock_sandbox *sb,
                  const struct e2b_user *u,
                  const char *ctype,
                  const char *data,
                  size_t len,
                  cJSON *out)
{
    if (strncasecmp(ctype, "application/octet-stream", 24) == 0) {
        const char *path = mock_req_query(r, "path");
        if (path != NULL)
            return write_upload(r, sb, u, path, data, len, out);
        e2b_reply_error(r, 400, "path query parameter is required for raw body upload");
    } else if (strncasecmp(ctype, "multipart/", 10) == 0) {
        return upload_multipart(r, sb, u, ctype, data, len, out);
    } else {
        e2b_reply_error(r, 400,
                        "unsupported content type: %s, expected multipart/form-data or "
                        "application/octet-stream",
                        ctype);
    }
    return -1;
}

static void files_post(struct mock_req *r, struct mock_sandbox *sb, const struct e2b_sandbox *es)
{
    struct e2b_user u;
    if (!files_authorized(r, es) || !files_user(r, &u))
        return;
    const char *ctype = mock_req_header(r, "Content-Type");
    const char *enc = mock_req_header(r, "Content-Encoding");
    const char *data = r->body.data ? r->body.data : "";
    size_t len = r->body.len;
    struct sp_buf plain;
    sp_buf_init(&plain, MOCK_BODY_MAX);
    bool gzip = enc && strcasecmp(enc, "gzip") == 0;
    if (gzip && gunzip(data, len, &plain) == 0) {
        data = plain.data ? plain.data : "";
        len = plain.len;
    } else if (gzip) {
        e2b_reply_error(r, 400, "error decompressing request body: invalid gzip data");
    } else if (enc && enc[0] && strcasecmp(enc, "identity") != 0) {
        e2b_reply_error(r, 400,
                        "error decompressing request body: unsupported Content-Encoding "
                        "%s, supported: [identity, gzip]",
                        enc);
    }
    cJSON *out = cJSON_CreateArray();
    if (!r->replied && upload(r, sb, &u, ctype ? ctype : "", data, len, out) == 0)
        mock_reply_cjson(r, 200, out);
    else
        cJSON_Delete(out);
    sp_buf_cleanup(&plain);
}

/* --- routing ------------------------------------------------------------------------------- */

/* The Linux user of an RPC: Authorization "Basic base64(user:)", default "user". */
static bool rpc_user(struct mock_req *r, struct e2b_user *u, char *bad, size_t badlen)
{
    const char *auth = mock_req_header(r, "Authorization");
    if (auth == NULL || strncasecmp(auth, "Basic ", 6) != 0)
        return e2b_user_lookup(E2B_DEFAULT_USER, u);
    struct sp_buf raw;
    sp_buf_init(&raw, 256);
    bool ok = sp_base64_decode(auth + 6, strlen(auth + 6), &raw) == 0;
    const char *s = sp_buf_str(&raw);
    snprintf(bad, badlen, "%.*s", (int)strcspn(s, ":"), s);
    ok = ok && e2b_user_lookup(bad, u);
    sp_buf_cleanup(&raw);
    return ok;
}

static void
serve_rpc(struct mock_req *r, struct mock_sandbox *sb, const char *service, const char *method)
{
    struct e2b_user u;
    char name[64];
    if (strcmp(r->method, "POST") != 0) {
        mock_reply_header(r, "Allow", "POST");
        reply_text(r, 405, "Method Not Allowed");
        return;
    }
    bool process = strcmp(service, "process.Process") == 0;
    if (!rpc_user(r, &u, name, sizeof name)) {
        bool stream = strcmp(method, "Start") == 0 || strcmp(method, "Connect") == 0 ||
                      strcmp(method, "WatchDir") == 0;
        if (stream)
            e2b_connect_stream_error(r, "unauthenticated", "invalid username: '%s'", name);
        else
            e2b_connect_error(r, "unauthenticated", "invalid username: '%s'", name);
    } else if (process) {
        e2b_process_rpc(r, sb, &u, method);
    } else {
        e2b_fs_rpc(r, sb, &u, method);
    }
}

static void serve_envs(struct mock_req *r, struct mock_sandbox *sb)
{
    mock_reply_cjson(r, 200, sp_json_from_kv(&sb->env));
}

/* envd's own routing, once the proxy found a running sandbox. */
static void envd_route(struct mock_req *r, struct mock_sandbox *sb, const struct e2b_sandbox *es)
{
    bool get = strcmp(r->method, "GET") == 0, post = strcmp(r->method, "POST") == 0;
    bool files = strcmp(r->path, "/files") == 0;
    if (get && strcmp(r->path, "/health") == 0) {
        mock_reply_empty(r, 204);
        return;
    }
    /* spec A3: with a token set, everything but /health and /files needs X-Access-Token. */
    const char *tok = mock_req_header(r, "X-Access-Token");
    if (es->token[0] && !(files && (get || post)) && (tok == NULL || strcmp(tok, es->token))) {
        e2b_reply_error(r, 401,
                        "unauthorized access, please provide a valid access token or "
                        "method signing if supported");
        return;
    }
    const char *svc_end = strchr(r->path + 1, '/');
    if (files && (get || post)) {
        (get ? files_get : files_post)(r, sb, es);
    } else if (get && strcmp(r->path, "/envs") == 0) {
        serve_envs(r, sb);
    } else if (svc_end && (strncmp(r->path, "/process.Process/", 17) == 0 ||
                           strncmp(r->path, "/filesystem.Filesystem/", 23) == 0)) {
        char service[32];
        snprintf(service, sizeof service, "%.*s", (int)(svc_end - r->path - 1), r->path + 1);
        serve_rpc(r, sb, service, svc_end + 1);
    } else if (files) {
        reply_text(r, 405, "Method Not Allowed");
    } else {
        reply_text(r, 404, "404 page not found\n");
    }
}

void e2b_envd_serve(struct mock_req *r, struct mock_sandbox *sb, unsigned port)
{
    struct e2b_sandbox snap;
    if (!e2b_snapshot(r->mock, sb, &snap)) {
        e2b_reply_proxy_502(r, sb->id, "The sandbox was not found");
        return;
    }
    enum mock_phase p = mock_sandbox_phase(mock_store_of(r->mock), sb);
    if (p != MOCK_RUNNING) {
        e2b_reply_proxy_502(r, sb->id,
                            p == MOCK_PAUSED || p == MOCK_STOPPING ? "The sandbox is paused"
                                                                   : "The sandbox was not found");
        return;
    }
    /* SP_MOCK_FAULT_STUCK_CREATING / NEVER_ALIVE: the VM is there, envd never answers. */
    if (port != E2B_ENVD_PORT || sb->fault == SP_MOCK_FAULT_STUCK_CREATING ||
        sb->fault == SP_MOCK_FAULT_NEVER_ALIVE) {
        reply_port_closed(r, sb->id, port);
        return;
    }
    bool up = true; /* --latency alive: envd answers that long after the sandbox started */
    struct mock_server envd;
    if (mock_sandbox_server_copy(mock_store_of(r->mock), sb, E2B_ENVD_PORT, &envd, &up) && !up) {
        reply_port_closed(r, sb->id, port);
        return;
    }
    envd_route(r, sb, &snap);
}

void e2b_envd_by_header(struct mock_req *r)
{
    const char *id = mock_req_header(r, "E2b-Sandbox-Id");
    const char *port = mock_req_header(r, "E2b-Sandbox-Port");
    char *end = NULL;
    unsigned long pnum = port ? strtoul(port, &end, 10) : 0;
    if (id == NULL && port == NULL) {
        e2b_reply_error(r, 404, "%s %s not found", r->method, r->path);
    } else if (id == NULL || id[0] == '\0') {
        reply_text(r, 400, "Missing header: E2b-Sandbox-Id");
    } else if (port == NULL || port[0] == '\0') {
        reply_text(r, 400, "Missing header: E2b-Sandbox-Port");
    } else if (end == port || *end || pnum > 65535) {
        reply_text(r, 400, "invalid sandbox port");
    } else {
        e2b_sweep(r->mock);
        struct mock_sandbox *sb = e2b_find(r->mock, id);
        if (sb == NULL) {
            e2b_reply_proxy_502(r, id, "The sandbox was not found");
            return;
        }
        if (!mock_faults_data_plane_dead(r, sb)) /* an injected fault resets the connection */
            e2b_envd_serve(r, sb, (unsigned)pnum);
        mock_store_put(mock_store_of(r->mock), sb);
    }
}
