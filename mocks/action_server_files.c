/* File side of the action-server mock (spec/openhands-action-server.md 2.3 and 3.5): the
 * `read` and `write` actions with the server's exact observation and error texts, and the
 * /upload_file (multipart, zip unpacking), /download_files (zip) and /list_files endpoints.
 * Sandbox paths map to host paths under the sandbox root (mock_sandbox_host_path). */
#include "action_server_int.h"
#include "backend.h"
#include "hostfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"
#include "multipart.h"
#include "zipwrite.h"

#define FILE_MAX ((size_t)64 << 20) /* largest file a read or an upload handles */
#define ZIP_MAX  ((size_t)256 << 20)

struct media {
    const char *ext, *mime;
};
static const struct media MEDIA[] = {
    {".png", "image/png"}, {".jpg", "image/jpeg"},  {".jpeg", "image/jpeg"},
    {".bmp", "image/bmp"}, {".gif", "image/gif"},   {".pdf", "application/pdf"},
    {".mp4", "video/mp4"}, {".webm", "video/webm"}, {".ogg", "audio/ogg"},
};

static const char *media_type(const char *path)
{
    size_t n = strlen(path);
    for (size_t i = 0; i < sizeof(MEDIA) / sizeof(MEDIA[0]); i++) {
        size_t e = strlen(MEDIA[i].ext);
        if (n >= e && strcasecmp(path + n - e, MEDIA[i].ext) == 0)
            return MEDIA[i].mime;
    }
    return NULL;
}

/* _resolve_path: a relative path is joined to the bash cwd, with no normalisation. */
static void resolve(const char *cwd, const char *path, char *out, size_t len)
{
    if (path[0] == '/')
        snprintf(out, len, "%s", path);
    else
        snprintf(out, len, "%s%s%s", cwd, strcmp(cwd, "/") == 0 ? "" : "/", path);
}

static bool valid_utf8(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t k = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : 9;
        if (k == 9 || (k > 0 && i + k >= n))
            return false;
        for (size_t j = 1; j <= k; j++)
            if ((s[i + j] & 0xc0) != 0x80)
                return false;
        i += k + 1;
    }
    return true;
}

/* Python's text mode: "\r\n" and "\r" read as "\n". */
static void universal_newlines(struct sp_buf *b)
{
    size_t w = 0;
    for (size_t i = 0; i < b->len; i++) {
        if (b->data[i] == '\r') {
            b->data[w++] = '\n';
            if (i + 1 < b->len && b->data[i + 1] == '\n')
                i++;
        } else {
            b->data[w++] = b->data[i];
        }
    }
    b->len = w;
    if (b->data)
        b->data[w] = '\0';
}

/* Splits text into lines that keep their '\n' (readlines); returns the count. */
static size_t split_lines(const char *s, size_t len, const char ***lines, size_t **lens)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += s[i] == '\n' || i + 1 == len;
    *lines = calloc(n + 1, sizeof(**lines));
    *lens = calloc(n + 1, sizeof(**lens));
    if (*lines == NULL || *lens == NULL)
        return 0;
    size_t k = 0, start = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\n' || i + 1 == len) {
            (*lines)[k] = s + start;
            (*lens)[k++] = i + 1 - start;
            start = i + 1;
        }
    }
    return k;
}

/* read_lines() of openhands/runtime/utils/files.py: the [begin, end) line range. */
static void line_range(size_t n, long start, long end, size_t *b, size_t *e)
{
    long num = (long)n;
    start = start < 0 ? 0 : (start > num ? num : start);
    if (end != -1)
        end = end < 0 ? 0 : (end > num ? num : end);
    if (end == -1) {
        *b = (size_t)start;
        *e = n;
        return;
    }
    long begin = start < num - 2 ? start : num - 2;
    begin = begin < 0 ? 0 : begin;
    end = end > begin + 1 ? end : begin + 1;
    *b = (size_t)begin;
    *e = (size_t)(end < num ? end : num);
}

static long num_arg(const cJSON *args, const char *name, long dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, name);
    return cJSON_IsNumber(v) ? (long)v->valuedouble : dflt;
}

static const char *str_arg(const cJSON *args, const char *name, const char *dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, name);
    return cJSON_IsString(v) ? v->valuestring : dflt;
}

/* An ErrorObservation whose text is the concatenation of the strings up to END. */
#define END ((const char *)NULL)
__attribute__((sentinel)) static cJSON *error_cat(const char *first, ...);
static cJSON *error_cat(const char *first, ...)
{
    struct sp_buf msg;
    va_list ap;
    sp_buf_init(&msg, 0);
    va_start(ap, first);
    for (const char *s = first; s != NULL; s = va_arg(ap, const char *))
        sp_buf_puts(&msg, s);
    va_end(ap);
    cJSON *o = as_error_observation(sp_buf_str(&msg));
    sp_buf_cleanup(&msg);
    return o;
}

static cJSON *read_observation(const char *abs, const char *content, const char *impl)
{
    struct sp_buf msg;
    sp_buf_init(&msg, 0);
    sp_buf_printf(&msg, "I read the file %s.", abs);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "message", sp_buf_str(&msg));
    cJSON_AddStringToObject(o, "observation", "read");
    cJSON_AddStringToObject(o, "content", content);
    cJSON *extras = cJSON_AddObjectToObject(o, "extras");
    cJSON_AddStringToObject(extras, "path", abs);
    cJSON_AddStringToObject(extras, "impl_source", impl);
    sp_buf_cleanup(&msg);
    return o;
}

/* The content of a text read: the selected lines. */
static void
text_content(const cJSON *args, const char *abs, struct sp_buf *text, struct sp_buf *out)
{
    (void)abs;
    universal_newlines(text);
    const char **lines = NULL;
    size_t *lens = NULL, b, e;
    size_t n = split_lines(sp_buf_str(text), text->len, &lines, &lens);
    line_range(n, num_arg(args, "start", 0), num_arg(args, "end", -1), &b, &e);
    for (size_t i = b; i < e && lines; i++)
        sp_buf_append(out, lines[i], lens[i]);
    free(lines);
    free(lens);
}

static cJSON *read_file(struct as_ctx *c, const cJSON *args, const char *cwd, const char *path)
{
    char abs[2048], host[2048];
    struct stat st;
    resolve(cwd, path, abs, sizeof(abs));
    if (mock_sandbox_host_path(c->sb, cwd, path, host, sizeof(host)) != 0 ||
        mock_fs_stat(c->sb, host, &st) != 0)
        return error_cat("File not found: ", abs, ". Your current working directory is ", cwd, ".",
                         END);
    if (S_ISDIR(st.st_mode))
        return error_cat("Path is a directory: ", abs, ". You can only read files", END);
    struct sp_buf data, content;
    sp_buf_init(&data, FILE_MAX);
    sp_buf_init(&content, 0);
    cJSON *o = NULL;
    const char *mime = media_type(abs);
    if (mock_fs_read_file(c->sb, host, &data) != 0) {
        o = error_cat("File could not be decoded as utf-8: ", abs, ".", END);
    } else if (mime != NULL) {
        sp_buf_printf(&content, "data:%s;base64,", mime);
        sp_buf_put_base64(&content, data.data, data.len);
    } else if (!valid_utf8((const unsigned char *)sp_buf_str(&data), data.len)) {
        o = error_cat("File could not be decoded as utf-8: ", abs, ".", END);
    } else {
        text_content(args, abs, &data, &content);
    }
    if (o == NULL)
        o = read_observation(abs, sp_buf_str(&content), str_arg(args, "impl_source", "default"));
    sp_buf_cleanup(&data);
    sp_buf_cleanup(&content);
    return o;
}

/* binaryornot's is_binary(action.path), checked before anything else (server :446): the
 * path as given, so a relative one is looked up from the server's own cwd, where it is not.
 * Approximated as: a .pyc name, or a NUL byte in the first 1024 bytes. */
static bool server_is_binary(struct as_ctx *c, const char *path)
{
    size_t n = strlen(path);
    if (n >= 4 && strcmp(path + n - 4, ".pyc") == 0)
        return true;
    char host[2048], buf[1024];
    if (path[0] != '/' || mock_sandbox_host_path(c->sb, "/", path, host, sizeof host) != 0)
        return false;
    FILE *f = fopen(host, "rb");
    size_t got = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f)
        fclose(f);
    return memchr(buf, '\0', got) != NULL;
}

cJSON *as_action_read(struct as_ctx *c, const cJSON *args)
{
    const char *path = str_arg(args, "path", "");
    if (server_is_binary(c, path))
        return as_error_observation("ERROR_BINARY_FILE");
    if (strcmp(str_arg(args, "impl_source", "default"), "oh_aci") == 0)
        return as_aci_view(c, path, cJSON_GetObjectItemCaseSensitive(args, "view_range"));
    char cwd[1024];
    if (as_shell_cwd(c, cwd, sizeof(cwd)) != 0)
        snprintf(cwd, sizeof(cwd), "%s", c->workdir);
    return read_file(c, args, cwd, str_arg(args, "path", ""));
}

/* --- write ---------------------------------------------------------------------------------- */

/* insert_lines(): original[:start] (or nothing), the new lines each with '\n', then
 * original[end:] (or nothing). A new file is just the new lines. */
static void
build_new_file(const cJSON *args, const struct sp_buf *old, bool exists, struct sp_buf *out)
{
    const char *content = str_arg(args, "content", "");
    long start = num_arg(args, "start", 0), end = num_arg(args, "end", -1);
    const char **lines = NULL;
    size_t *lens = NULL;
    size_t n = exists ? split_lines(sp_buf_str(old), old->len, &lines, &lens) : 0;
    for (long i = 0; exists && start != 0 && i < start && (size_t)i < n; i++)
        sp_buf_append(out, lines[i], lens[i]);
    sp_buf_puts(out, content);
    sp_buf_puts(out, "\n"); /* every piece of content.split('\n') gets its newline back */
    if (exists && end != -1)
        for (size_t i = end < 0 ? 0 : (size_t)end; i < n; i++)
            sp_buf_append(out, lines[i], lens[i]);
    free(lines);
    free(lens);
}

static cJSON *write_file(struct as_ctx *c, const cJSON *args, const char *cwd, const char *path)
{
    char abs[2048], host[2048];
    struct stat st;
    resolve(cwd, path, abs, sizeof(abs));
    if (mock_sandbox_host_path(c->sb, cwd, path, host, sizeof(host)) != 0)
        return error_cat("Malformed paths not permitted: ", abs, END);
    if (mock_fs_mkdir_parents(c->sb, host) != 0)
        return error_cat("File not found: ", abs, END);
    bool exists = mock_fs_stat(c->sb, host, &st) == 0;
    if (exists && S_ISDIR(st.st_mode))
        return error_cat("Path is a directory: ", abs, ". You can only write to files", END);
    struct sp_buf old, out;
    sp_buf_init(&old, FILE_MAX);
    sp_buf_init(&out, 0);
    cJSON *o = NULL;
    if (exists && (mock_fs_read_file(c->sb, host, &old) != 0 ||
                   !valid_utf8((const unsigned char *)sp_buf_str(&old), old.len))) {
        o = error_cat("File could not be decoded as utf-8: ", abs, END);
    } else {
        universal_newlines(&old);
        build_new_file(args, &old, exists, &out);
        /* a new file gets 0664 whatever the umask, as the server sets it */
        if (mock_fs_write_file(c->sb, host, sp_buf_str(&out), out.len, 0664, !exists) != 0)
            o = error_cat("Malformed paths not permitted: ", abs, END);
    }
    if (o == NULL) {
        struct sp_buf msg;
        sp_buf_init(&msg, 0);
        sp_buf_printf(&msg, "I wrote to the file %s.", abs);
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "message", sp_buf_str(&msg));
        cJSON_AddStringToObject(o, "observation", "write");
        cJSON_AddStringToObject(o, "content", "");
        cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "extras"), "path", abs);
        sp_buf_cleanup(&msg);
    }
    sp_buf_cleanup(&old);
    sp_buf_cleanup(&out);
    return o;
}

cJSON *as_action_write(struct as_ctx *c, const cJSON *args)
{
    char cwd[1024];
    if (as_shell_cwd(c, cwd, sizeof(cwd)) != 0)
        snprintf(cwd, sizeof(cwd), "%s", c->workdir);
    return write_file(c, args, cwd, str_arg(args, "path", ""));
}

/* --- /upload_file --------------------------------------------------------------------------- */

struct upload {
    const struct mock_part *file; /* the first part named "file" */
    struct mock_part copy;
};

static int find_file_part(const struct mock_part *part, void *user)
{
    struct upload *u = user;
    if (strcmp(part->name, "file") != 0)
        return 0;
    u->copy = *part;
    u->file = &u->copy;
    return 1;
}

/* pydantic's bool parsing of a query value; -1 when it is none of its words. */
static int parse_bool(const char *v)
{
    static const char *const YES[] = {"1", "true", "t", "yes", "y", "on"};
    static const char *const NO[] = {"0", "false", "f", "no", "n", "off"};
    for (size_t i = 0; i < 6; i++) {
        if (strcasecmp(v, YES[i]) == 0)
            return 1;
        if (strcasecmp(v, NO[i]) == 0)
            return 0;
    }
    return -1;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Saves the part under destination (a directory, created), unpacking a zip. Returns NULL,
 * or the detail of the 500 the server would send. */
static const char *store_upload(struct as_ctx *c,
                                const char *dest,
                                const struct mock_part *f,
                                bool unzip,
                                char *why,
                                size_t wlen)
{
    char dir[2048], host[2048];
    if (mock_sandbox_host_path(c->sb, "/", dest, dir, sizeof(dir)) != 0 ||
        mock_sandbox_host_path(c->sb, dest, f->filename, host, sizeof(host)) != 0)
        return "[Errno 13] Permission denied";
    if (mock_fs_mkdir_p(c->sb, dir, 0755) != 0)
        return "[Errno 17] File exists";
    if (mock_fs_write_file(c->sb, host, f->data, f->len, 0664, true) != 0) {
        snprintf(why, wlen, "[Errno %d] %s: '%.200s'", errno, strerror(errno), f->filename);
        return why;
    }
    if (!unzip)
        return NULL;
    char reason[256];
    int rc = mock_zip_extract_in(c->sb, f->data, f->len, dir, ZIP_MAX, reason, sizeof(reason));
    mock_fs_unlink(c->sb, host);
    if (rc != 0) {
        snprintf(why, wlen, "%s", reason);
        return why;
    }
    return NULL;
}

void as_upload_file(struct as_ctx *c)
{
    struct mock_req *r = c->r;
    const char *dest = mock_req_query(r, "destination");
    const char *rec = mock_req_query(r, "recursive");
    struct upload u = {0};
    char why[512];
    int recursive = rec ? parse_bool(rec) : 0;
    if (recursive < 0) {
        snprintf(why, sizeof(why),
                 "[{'type': 'bool_parsing', 'loc': ('query', 'recursive'), "
                 "'msg': 'Input should be a valid boolean, unable to interpret input', "
                 "'input': '%.200s'}]",
                 rec);
        as_reply_invalid(r, why);
        return;
    }
    mock_multipart_each(mock_req_header(r, "Content-Type"), sp_buf_str(&r->body), r->body.len,
                        find_file_part, &u);
    if (u.file == NULL) {
        as_reply_invalid(r, "[{'type': 'missing', 'loc': ('body', 'file'), 'msg': 'Field "
                            "required', 'input': None}]");
        return;
    }
    dest = dest ? dest : "/";
    bool zip = recursive || ends_with(u.file->filename, ".zip");
    const char *fail = NULL;
    if (dest[0] != '/')
        fail = "400: Destination must be an absolute path";
    else if (zip && !ends_with(u.file->filename, ".zip"))
        fail = "400: Recursive uploads must be zip files";
    else if (mock_is_synthetic(r->mock))
        fail = as_synthetic_store(c, dest, u.file, zip);
    else
        fail = store_upload(c, dest, u.file, zip, why, sizeof(why));
    if (fail != NULL) {
        as_reply_detail(r, 500, fail);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "filename", u.file->filename);
    cJSON_AddStringToObject(o, "destination", dest);
    cJSON_AddBoolToObject(o, "recursive", recursive == 1);
    mock_reply_cjson(r, 200, o);
}

/* --- /download_files and /list_files -------------------------------------------------------- */

void as_download_files(struct as_ctx *c)
{
    struct mock_req *r = c->r;
    const char *path = mock_req_query(r, "path");
    char host[2048], disp[600];
    struct stat st;
    if (path == NULL) {
        as_reply_invalid(r, "[{'type': 'missing', 'loc': ('query', 'path'), 'msg': 'Field "
                            "required', 'input': None}]");
        return;
    }
    if (path[0] != '/') {
        as_reply_detail(r, 500, "400: Path must be an absolute path");
        return;
    }
    if (mock_is_synthetic(r->mock)) {
        as_synthetic_download(c, path);
        return;
    }
    if (mock_sandbox_host_path(c->sb, "/", path, host, sizeof(host)) != 0 ||
        mock_fs_stat(c->sb, host, &st) != 0) {
        as_reply_detail(r, 500, "404: File not found");
        return;
    }
    struct sp_buf zip;
    sp_buf_init(&zip, ZIP_MAX);
    if (mock_zip_dir_in(c->sb, host, &zip) != 0) {
        as_reply_detail(r, 500, zip.overflow ? "archive too large" : "cannot read the directory");
        sp_buf_cleanup(&zip);
        return;
    }
    const char *base = strrchr(path, '/') + 1;
    snprintf(disp, sizeof(disp), "attachment; filename=\"%.500s.zip\"", base);
    mock_reply_header(r, "Content-Disposition", disp);
    mock_reply(r, 200, "application/zip", zip.data, zip.len);
    sp_buf_cleanup(&zip);
}

struct entry {
    char *name;
    bool dir;
};

static int entry_cmp(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    if (x->dir != y->dir)
        return x->dir ? -1 : 1;
    return strcasecmp(x->name, y->name);
}

/* Directories first with a trailing '/', then files, each sorted case-insensitively. */
static cJSON *list_dir(const struct mock_sandbox *sb, const char *host)
{
    cJSON *arr = cJSON_CreateArray();
    DIR *d = mock_fs_opendir(sb, host);
    struct entry *items = NULL;
    size_t n = 0, cap = 0;
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        char p[4096];
        struct stat st;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            struct entry *grown = realloc(items, cap * sizeof(*items));
            if (grown == NULL)
                break;
            items = grown;
        }
        snprintf(p, sizeof(p), "%s/%s", host, e->d_name);
        items[n].dir = mock_fs_stat(sb, p, &st) == 0 && S_ISDIR(st.st_mode);
        if ((items[n].name = strdup(e->d_name)) != NULL)
            n++;
    }
    if (d)
        closedir(d);
    if (n > 0)
        qsort(items, n, sizeof(*items), entry_cmp);
    for (size_t i = 0; i < n; i++) {
        char name[300];
        snprintf(name, sizeof(name), "%s%s", items[i].name, items[i].dir ? "/" : "");
        cJSON_AddItemToArray(arr, cJSON_CreateString(name));
        free(items[i].name);
    }
    free(items);
    return arr;
}

void as_list_files(struct as_ctx *c)
{
    struct mock_req *r = c->r;
    struct sp_error err;
    cJSON *root = sp_json_parse(sp_buf_str(&r->body), r->body.len, "request", &err);
    if (!cJSON_IsObject(root)) {
        as_reply_detail(r, 500, "An unexpected error occurred. Please try again later.");
        cJSON_Delete(root);
        return;
    }
    /* No path: the server's initial cwd; a relative one is joined to it (not the bash cwd). */
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(root, "path");
    const char *path = cJSON_IsString(p) ? p->valuestring : c->workdir;
    char host[2048];
    struct stat st;
    cJSON *arr;
    if (mock_sandbox_host_path(c->sb, c->workdir, path, host, sizeof(host)) != 0 ||
        mock_fs_stat(c->sb, host, &st) != 0 || !S_ISDIR(st.st_mode))
        arr = cJSON_CreateArray();
    else
        arr = list_dir(c->sb, host);
    cJSON_Delete(root);
    mock_reply_cjson(r, 200, arr);
}
