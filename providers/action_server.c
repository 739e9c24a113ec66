/* The OpenHands action execution server client: the /alive sub-machine and the exec and
 * files steps (see action_server.h). Each data-plane request goes to sb->data_url with
 * sb->data_headers, under sb->data_retry plus OpenHands' 429 rule. The JSON lives in
 * action_server_json.c; the zip of /download_files is read by zip.c. */
#include "action_server.h"
#include "zip.h"

#include <stdio.h>
#include <string.h>

void sp_as_retry_defaults(struct sp_retry_policy *p)
{
    p->max_attempts_429 = SP_AS_ATTEMPTS_429; /* utils/request.py: wait_fixed(4) */
    p->wait_429_ms = 4000;
    p->max_attempts_dropped = 5; /* action_execution_client.py:105-109: 5 tries, 4/4/4/8 s */
    p->wait_dropped_ms = 4000;
}

/* Characters that never need quoting in a POSIX shell word. */
static bool shell_plain(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s; s++) {
        if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_@%+=:,./-", *s))
            return false;
    }
    return true;
}

int sp_shell_quote(struct sp_buf *b, const char *s)
{
    if (shell_plain(s))
        return sp_buf_puts(b, s);
    if (sp_buf_puts(b, "'") != 0)
        return -1;
    for (const char *q; (q = strchr(s, '\'')) != NULL; s = q + 1) {
        if (sp_buf_append(b, s, (size_t)(q - s)) != 0 || sp_buf_puts(b, "'\\''") != 0)
            return -1;
    }
    return sp_buf_puts(b, s) == 0 && sp_buf_puts(b, "'") == 0 ? 0 : -1;
}

static bool shell_name(const char *s)
{
    if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
        return false;
    for (s++; *s; s++) {
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_' ||
              (*s >= '0' && *s <= '9')))
            return false;
    }
    return true;
}

/* Appends "cd '<cwd>' && export K='v' && ... " for sp_shell_wrap. Returns 0, or -1. */
static int shell_prelude(struct sp_buf *out, const char *cwd, const struct sp_kv *env)
{
    if (cwd && (sp_buf_puts(out, "cd ") != 0 || sp_shell_quote(out, cwd) != 0 ||
                sp_buf_puts(out, " && ") != 0))
        return -1;
    for (size_t i = 0; env && i < env->n; i++) {
        if (sp_buf_printf(out, "export %s=", env->items[i].key) != 0 ||
            sp_shell_quote(out, env->items[i].val) != 0 || sp_buf_puts(out, " && ") != 0)
            return -1;
    }
    return 0;
}

enum sp_err sp_shell_wrap(const char *command,
                          const char *cwd,
                          const struct sp_kv *env,
                          struct sp_buf *out,
                          struct sp_error *err)
{
    sp_buf_reset(out);
    for (size_t i = 0; env && i < env->n; i++) {
        if (!shell_name(env->items[i].key))
            return sp_error_set(err, SP_E_CONFIG,
                                "'%.64s' is not a valid environment variable name",
                                env->items[i].key);
    }
    int rc;
    if (cwd == NULL && (env == NULL || env->n == 0)) {
        rc = sp_buf_set(out, command);
    } else {
        /* A subshell, so the persistent shell keeps its own cwd and environment. The
         * closing parenthesis goes on its own line: the command may end in a comment. */
        rc = sp_buf_puts(out, "(") != 0 || shell_prelude(out, cwd, env) != 0 ||
                     sp_buf_puts(out, command) != 0 || sp_buf_puts(out, "\n)") != 0
                 ? -1
                 : 0;
    }
    return rc == 0 ? SP_E_OK : sp_error_set(err, SP_E_INTERNAL, "command line too long");
}

int sp_as_server_command(unsigned port, const char *workdir, struct sp_buf *out)
{
    if (sp_buf_printf(out,
                      "/openhands/micromamba/bin/micromamba run -n openhands poetry run "
                      "python -u -m openhands.runtime.action_execution_server %u "
                      "--working-dir ",
                      port) != 0 ||
        sp_shell_quote(out, workdir) != 0)
        return -1;
    /* CodeAct's plugins, and the default user of run_as_openhands (spec 2.1). */
    return sp_buf_puts(out, " --plugins agent_skills jupyter --username openhands --user-id 1000");
}

int sp_as_resolve_path(const char *workdir, const char *path, char *out, size_t outlen)
{
    if (path == NULL || path[0] == '\0')
        return -1;
    int n;
    if (path[0] == '/') {
        n = snprintf(out, outlen, "%s", path);
    } else {
        size_t wlen = strlen(workdir);
        n = snprintf(out, outlen, "%s%s%s", workdir, wlen && workdir[wlen - 1] == '/' ? "" : "/",
                     path);
    }
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/* --- data-plane requests ---------------------------------------------------------------------- */

static const char *workdir_of(const struct sp_sandbox *sb)
{
    return sb->workdir[0] ? sb->workdir : SP_AS_WORKDIR;
}

static bool data_plane_ready(const struct sp_sandbox *sb, struct sp_error *err)
{
    if (sb->data_url[0] != '\0')
        return true;
    sp_error_set(err, SP_E_STATE, "sandbox %s has no action server URL (startup has not run)",
                 sb->id);
    return false;
}

/* Starts req as a data-plane request: URL = data_url + path (with query), headers, policy. */
static enum sp_next data_begin(const struct sp_sandbox *sb,
                               struct sp_http_req *req,
                               enum sp_method m,
                               const char *path,
                               long timeout_ms,
                               struct sp_error *err)
{
    if (sp_http_req_url(req, m, "%s%s", sb->data_url, path) != 0 ||
        sp_http_req_headers(req, &sb->data_headers) != 0) {
        sp_error_set(err, SP_E_INTERNAL, "out of memory building a request");
        return SP_NEXT_FAIL;
    }
    req->timeout_ms = timeout_ms;
    req->retry = sb->data_retry;
    if (req->retry.max_attempts_429 == 0)
        sp_as_retry_defaults(&req->retry);
    return SP_NEXT_REQUEST;
}

/* data_begin for "<path_query><value, URL-encoded><tail>". */
static enum sp_next data_begin_query(const struct sp_sandbox *sb,
                                     struct sp_http_req *req,
                                     enum sp_method m,
                                     const char *path_query,
                                     const char *value,
                                     const char *tail,
                                     long timeout_ms,
                                     struct sp_error *err)
{
    struct sp_buf url;
    sp_buf_init(&url, 0);
    enum sp_next next = SP_NEXT_FAIL;
    if (sp_buf_puts(&url, path_query) != 0 || sp_buf_put_urlencoded(&url, value) != 0 ||
        sp_buf_puts(&url, tail) != 0)
        sp_error_set(err, SP_E_INTERNAL, "out of memory building a request");
    else
        next = data_begin(sb, req, m, sp_buf_str(&url), timeout_ms, err);
    sp_buf_cleanup(&url);
    return next;
}

static enum sp_next data_json(const struct sp_sandbox *sb,
                              struct sp_http_req *req,
                              const char *path,
                              long timeout_ms,
                              const struct sp_buf *json,
                              struct sp_error *err)
{
    if (data_begin(sb, req, SP_HTTP_POST, path, timeout_ms, err) != SP_NEXT_REQUEST)
        return SP_NEXT_FAIL;
    if (sp_http_req_body(req, "application/json", json->data, json->len) != 0) {
        sp_error_set(err, SP_E_INTERNAL, "out of memory building a request");
        return SP_NEXT_FAIL;
    }
    return SP_NEXT_REQUEST;
}

/* A failed data-plane call: FastAPI's {"detail": ...} is the message; the server wraps its
 * own 404s into 500 "404: File not found" (spec 2.3), which is still not_found to us. */
static enum sp_next
data_fail(const struct sp_http_rsp *rsp, const char *what, long timeout_ms, struct sp_error *err)
{
    char detail[200];
    if (rsp->transport == SP_E_TIMEOUT) {
        sp_error_set(err, SP_E_TIMEOUT, "action server %s: no answer within %.1f s", what,
                     (double)timeout_ms / 1000.0);
        return SP_NEXT_FAIL;
    }
    if (rsp->transport == SP_E_OK &&
        sp_as_parse_detail(rsp->body.data, rsp->body.len, detail, sizeof(detail)) == 0) {
        sp_http_fail(rsp, detail, err);
        if (err && strncmp(detail, "404:", 4) == 0)
            err->code = SP_E_NOT_FOUND;
    } else {
        sp_http_fail(rsp, NULL, err);
    }
    sp_error_prefix(err, "action server %s", what);
    return SP_NEXT_FAIL;
}

/* --- /alive ---------------------------------------------------------------------------------- */

void sp_as_alive_begin(struct sp_as_alive *a, const struct sp_client *c)
{
    memset(a, 0, sizeof(*a));
    a->interval_ms = c->opts.alive_interval_ms > 0 ? c->opts.alive_interval_ms : 1000;
    a->timeout_ms = c->opts.alive_timeout_ms > 0 ? c->opts.alive_timeout_ms : 120000;
    a->deadline_ms = sp_now_ms() + a->timeout_ms;
    snprintf(a->last, sizeof(a->last), "no answer yet");
}

static void alive_describe(const struct sp_http_rsp *rsp, char *out, size_t len)
{
    if (rsp->transport != SP_E_OK)
        snprintf(out, len, "%s: %.120s", sp_err_name(rsp->transport), rsp->transport_msg);
    else
        snprintf(out, len, "HTTP %d", rsp->status);
}

enum sp_next sp_as_alive_step(struct sp_as_alive *a,
                              struct sp_op *op,
                              const struct sp_http_rsp *rsp,
                              struct sp_http_req *req,
                              struct sp_error *err)
{
    const struct sp_sandbox *sb = op->sandbox;
    int64_t left = a->deadline_ms - sp_now_ms();
    if (rsp == NULL) {
        if (!data_plane_ready(sb, err))
            return SP_NEXT_FAIL;
        long t = left < SP_AS_ALIVE_TIMEOUT_MS ? (long)(left > 200 ? left : 200)
                                               : SP_AS_ALIVE_TIMEOUT_MS;
        a->polls++;
        enum sp_next next = data_begin(sb, req, SP_HTTP_GET, "/alive", t, err);
        memset(&req->retry, 0, sizeof(req->retry)); /* this loop is the retry */
        return next;
    }
    if (sp_http_ok(rsp)) {
        SP_OP_MARK(op, SP_MARK_ALIVE);
        return SP_NEXT_DONE;
    }
    alive_describe(rsp, a->last, sizeof(a->last));
    if (rsp->transport == SP_E_OK && (rsp->status == 401 || rsp->status == 403)) {
        sp_http_fail(rsp, NULL, err);
        sp_error_prefix(err, "action server /alive refused our credentials");
        return SP_NEXT_FAIL;
    }
    if (left <= 0) {
        sp_error_set(err, SP_E_TIMEOUT,
                     "action server not alive after %.*f s (last: %s; sandbox state: %s)",
                     a->timeout_ms % 1000 ? 1 : 0, (double)a->timeout_ms / 1000.0, a->last,
                     sb->state[0] ? sb->state : "unknown");
        return SP_NEXT_FAIL;
    }
    op->wait_ms = a->interval_ms < left ? a->interval_ms : (long)left;
    return SP_NEXT_WAIT;
}

/* --- exec ------------------------------------------------------------------------------------ */

static enum sp_next
exec_request(struct sp_op *op, long timeout_ms, struct sp_http_req *req, struct sp_error *err)
{
    const struct sp_sandbox *sb = op->sandbox;
    const struct sp_exec *x = op->u.exec;
    char cwd[1024];
    if (x->cwd && sp_as_resolve_path(workdir_of(sb), x->cwd, cwd, sizeof(cwd)) != 0) {
        sp_error_set(err, SP_E_CONFIG, "exec: bad working directory '%.100s'", x->cwd);
        return SP_NEXT_FAIL;
    }
    struct sp_buf line, json;
    sp_buf_init(&line, 0);
    sp_buf_init(&json, 0);
    enum sp_next next = SP_NEXT_FAIL;
    if (sp_shell_wrap(x->command, NULL, x->env, &line, err) == SP_E_OK &&
        sp_as_build_run(sp_buf_str(&line), x->cwd ? cwd : NULL, timeout_ms, &json, err) == SP_E_OK)
        next = data_json(sb, req, "/execute_action", timeout_ms + SP_AS_HTTP_GRACE_MS, &json, err);
    sp_buf_cleanup(&line);
    sp_buf_cleanup(&json);
    return next;
}

enum sp_next sp_as_exec_step(struct sp_op *op,
                             const struct sp_http_rsp *rsp,
                             struct sp_http_req *req,
                             struct sp_error *err)
{
    struct sp_exec *x = op->u.exec;
    long timeout = x->timeout_ms > 0 ? x->timeout_ms : SP_AS_ACTION_TIMEOUT_MS;
    if (!data_plane_ready(op->sandbox, err))
        return SP_NEXT_FAIL;
    if (x->command == NULL) {
        sp_error_set(err, SP_E_CONFIG, "exec: no command");
        return SP_NEXT_FAIL;
    }
    if (rsp == NULL)
        return exec_request(op, timeout, req, err);
    if (op->state == 1) /* the C-c after a timeout: the command's result is already in x */
        return SP_NEXT_DONE;
    if (!sp_http_ok(rsp))
        return data_fail(rsp, "execute_action", timeout + SP_AS_HTTP_GRACE_MS, err);
    if (sp_as_parse_run(rsp->body.data, rsp->body.len, x, err) != SP_E_OK)
        return SP_NEXT_FAIL;
    sp__exec_emit_buffered(x); /* the server answers once, when the command is done */
    if (!x->timed_out)
        return SP_NEXT_DONE;
    /* The real server keeps a timed-out command running and refuses the next command until
     * it ends: interrupt it as OpenHands' agent must (spec fidelity row 5). */
    struct sp_buf json;
    sp_buf_init(&json, 0);
    enum sp_next next = SP_NEXT_DONE;
    op->state = 1;
    if (sp_as_build_key("C-c", 10000, &json, err) == SP_E_OK)
        next =
            data_json(op->sandbox, req, "/execute_action", 10000 + SP_AS_HTTP_GRACE_MS, &json, err);
    sp_buf_cleanup(&json);
    return next;
}

/* --- files ----------------------------------------------------------------------------------- */

/* read / write: one action each, answered by an observation. */
static enum sp_next files_action(struct sp_op *op,
                                 const char *path,
                                 const struct sp_http_rsp *rsp,
                                 struct sp_http_req *req,
                                 struct sp_error *err)
{
    struct sp_files *f = op->u.files;
    const char *type = f->kind == SP_FILE_WRITE ? "write" : "read";
    long timeout = SP_AS_ACTION_TIMEOUT_MS + SP_AS_HTTP_GRACE_MS;
    if (rsp == NULL) {
        struct sp_buf json;
        sp_buf_init(&json, 0);
        enum sp_err rc = f->kind == SP_FILE_WRITE
                             ? sp_as_build_write(path, f->data, f->len, &json, err)
                             : sp_as_build_read(path, &json, err);
        enum sp_next next =
            rc == SP_E_OK ? data_json(op->sandbox, req, "/execute_action", timeout, &json, err)
                          : SP_NEXT_FAIL;
        sp_buf_cleanup(&json);
        return next;
    }
    if (!sp_http_ok(rsp))
        return data_fail(rsp, "execute_action", timeout, err);
    if (sp_as_parse_file_obs(rsp->body.data, rsp->body.len, type, path, f, err) != SP_E_OK)
        return SP_NEXT_FAIL;
    return SP_NEXT_DONE;
}

/* "/a/b/c" -> dir "/a/b", base "c"; "/c" -> "/", "c". Fails on a trailing slash. */
static int split_path(const char *path, char *dir, size_t dlen, const char **base)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL || slash[1] == '\0')
        return -1;
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    if (n >= dlen)
        return -1;
    memcpy(dir, path, n);
    dir[n] = '\0';
    *base = slash + 1;
    return 0;
}

/* The upload URL and multipart body for `base` into `dir`. Returns 0, or -1. */
static int upload_fill(const struct sp_sandbox *sb,
                       struct sp_http_req *req,
                       const char *dir,
                       const char *base,
                       const struct sp_files *f,
                       struct sp_error *err)
{
    if (data_begin_query(sb, req, SP_HTTP_POST, "/upload_file?destination=", dir,
                         "&recursive=false", SP_AS_UPLOAD_TIMEOUT_MS, err) != SP_NEXT_REQUEST)
        return -1;
    if (sp_http_req_multipart_begin(req) != 0 ||
        sp_http_req_multipart_file(req, "file", base, f->data, f->len) != 0 ||
        sp_http_req_multipart_end(req) != 0) {
        sp_error_set(err, SP_E_CONFIG, "upload: cannot send file name '%.200s'", base);
        return -1;
    }
    return 0;
}

/* Binary-safe write: /upload_file into the parent directory under the file's name. */
static enum sp_next files_upload(struct sp_op *op,
                                 const char *path,
                                 const struct sp_http_rsp *rsp,
                                 struct sp_http_req *req,
                                 struct sp_error *err)
{
    struct sp_files *f = op->u.files;
    if (rsp) {
        if (!sp_http_ok(rsp))
            return data_fail(rsp, "upload_file", SP_AS_UPLOAD_TIMEOUT_MS, err);
        return sp_as_parse_upload(rsp->body.data, rsp->body.len, f, err) == SP_E_OK ? SP_NEXT_DONE
                                                                                    : SP_NEXT_FAIL;
    }
    char dir[1024];
    const char *base = NULL;
    if (split_path(path, dir, sizeof(dir), &base) != 0) {
        sp_error_set(err, SP_E_CONFIG, "upload: '%.200s' is not a file path", path);
        return SP_NEXT_FAIL;
    }
    size_t blen = strlen(base);
    if (blen >= 4 && strcmp(base + blen - 4, ".zip") == 0) { /* the server would unpack it */
        sp_error_set(err, SP_E_UNSUPPORTED,
                     "upload: the action server unpacks files named *.zip (%.200s)", path);
        return SP_NEXT_FAIL;
    }
    return upload_fill(op->sandbox, req, dir, base, f, err) == 0 ? SP_NEXT_REQUEST : SP_NEXT_FAIL;
}

/* /download_files zips a directory (a file path gives an empty zip, spec 2.3), so we fetch
 * the parent and take the one member out. */
static enum sp_next files_download(struct sp_op *op,
                                   const char *path,
                                   const struct sp_http_rsp *rsp,
                                   struct sp_http_req *req,
                                   struct sp_error *err)
{
    struct sp_files *f = op->u.files;
    char dir[1024];
    const char *base = NULL;
    if (split_path(path, dir, sizeof(dir), &base) != 0) {
        sp_error_set(err, SP_E_CONFIG, "download: '%.200s' is not a file path", path);
        return SP_NEXT_FAIL;
    }
    if (strcmp(dir, "/") == 0) { /* the server would zip the whole file system */
        sp_error_set(err, SP_E_UNSUPPORTED, "download: %.200s is directly under /", path);
        return SP_NEXT_FAIL;
    }
    if (rsp == NULL)
        return data_begin_query(op->sandbox, req, SP_HTTP_GET, "/download_files?path=", dir, "",
                                SP_AS_DOWNLOAD_TIMEOUT_MS, err);
    if (!sp_http_ok(rsp))
        return data_fail(rsp, "download_files", SP_AS_DOWNLOAD_TIMEOUT_MS, err);
    enum sp_err rc = sp_zip_extract(rsp->body.data, rsp->body.len, base, &f->content, err);
    if (rc == SP_E_NOT_FOUND)
        sp_error_set(err, SP_E_NOT_FOUND, "file not found: %.200s", path);
    else if (rc != SP_E_OK)
        sp_error_prefix(err, "download of %.80s", path);
    if (rc != SP_E_OK)
        return SP_NEXT_FAIL;
    snprintf(f->resolved_path, sizeof(f->resolved_path), "%s", path);
    return SP_NEXT_DONE;
}

static enum sp_next files_list(struct sp_op *op,
                               const char *path,
                               const struct sp_http_rsp *rsp,
                               struct sp_http_req *req,
                               struct sp_error *err)
{
    struct sp_files *f = op->u.files;
    if (rsp) {
        if (!sp_http_ok(rsp))
            return data_fail(rsp, "list_files", SP_AS_LIST_TIMEOUT_MS, err);
        if (sp_as_parse_list(rsp->body.data, rsp->body.len, f, err) != SP_E_OK)
            return SP_NEXT_FAIL;
        snprintf(f->resolved_path, sizeof(f->resolved_path), "%s", path);
        return SP_NEXT_DONE;
    }
    struct sp_buf json;
    sp_buf_init(&json, 0);
    enum sp_next next = SP_NEXT_FAIL;
    if (sp_as_build_list(path, &json, err) == SP_E_OK)
        next = data_json(op->sandbox, req, "/list_files", SP_AS_LIST_TIMEOUT_MS, &json, err);
    sp_buf_cleanup(&json);
    return next;
}

enum sp_next sp_as_files_step(struct sp_op *op,
                              const struct sp_http_rsp *rsp,
                              struct sp_http_req *req,
                              struct sp_error *err)
{
    const struct sp_sandbox *sb = op->sandbox;
    struct sp_files *f = op->u.files;
    char path[1024];
    if (!data_plane_ready(sb, err))
        return SP_NEXT_FAIL;
    if (sp_as_resolve_path(workdir_of(sb), f->path, path, sizeof(path)) != 0) {
        sp_error_set(err, SP_E_CONFIG, "files: bad path '%.200s'", f->path ? f->path : "(null)");
        return SP_NEXT_FAIL;
    }
    switch (f->kind) {
    case SP_FILE_WRITE:
    case SP_FILE_READ:
        return files_action(op, path, rsp, req, err);
    case SP_FILE_UPLOAD:
        return files_upload(op, path, rsp, req, err);
    case SP_FILE_DOWNLOAD:
        return files_download(op, path, rsp, req, err);
    case SP_FILE_LIST:
        return files_list(op, path, rsp, req, err);
    case SP_FILE_STAT:
    case SP_FILE_MKDIR:
    case SP_FILE_REMOVE:
        break;
    }
    sp_error_set(err, SP_E_UNSUPPORTED, "the action server has no stat, mkdir or remove");
    return SP_NEXT_FAIL;
}
