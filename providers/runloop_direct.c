/* Runloop's mode "direct": exec and files through Runloop's own devbox routes
 * (spec/runloop-modal.md R3) instead of the OpenHands action server.
 *  - exec: execute_async, then executions/{id}/wait_for_status {"statuses":["completed"]}
 *    until it answers the completed view (408 means "still running", as the SDKs' waiters
 *    read it); past the command's deadline, executions/{id}/kill and a timed-out result.
 *  - files: write_file_contents / read_file_contents (text), upload_file (multipart `path`,
 *    `file`) / download_file (bytes); Runloop has no directory listing, so LIST runs `ls`. */
#include "action_server.h"
#include "runloop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXEC_DEFAULT_MS 120000L

static int direct_path(const struct sp_sandbox *sb, const char *path, char *out, size_t len)
{
    return sp_as_resolve_path(sb->workdir[0] ? sb->workdir : RUNLOOP_HOME, path, out, len);
}

/* Commands start in the home directory (the workdir): a path below it is given relative, so
 * a command does not depend on where that home is mounted. "" for the home itself. */
static const char *below_home(const struct sp_sandbox *sb, const char *abs)
{
    size_t h = strlen(sb->workdir);
    if (h == 0 || strncmp(abs, sb->workdir, h) != 0 || (abs[h] != '/' && abs[h] != '\0'))
        return abs;
    return abs[h] ? abs + h + 1 : "";
}

/* POSTs json to /v1/devboxes/{id}<sub>. */
static enum sp_next devbox_post(struct sp_op *op,
                                const char *sub,
                                const struct sp_buf *json,
                                long timeout_ms,
                                struct sp_http_req *req,
                                struct sp_error *err)
{
    char path[512];
    snprintf(path, sizeof(path), "/v1/devboxes/%s%s", op->sandbox->id, sub);
    return sp__runloop_api_json(op->client->cfg, req, json, timeout_ms, err, path);
}

/* --- exec ----------------------------------------------------------------------------------------
 */

enum { EX_START, EX_WAIT, EX_KILL };

struct exec_ctx {
    struct runloop_execution e;
    int64_t deadline_ms;
};

static enum sp_next
exec_start(struct sp_op *op, struct exec_ctx *ctx, struct sp_http_req *req, struct sp_error *err)
{
    struct sp_exec *x = op->u.exec;
    char cwd[1024];
    const char *dir = NULL;
    if (x->cwd) {
        if (direct_path(op->sandbox, x->cwd, cwd, sizeof(cwd)) != 0) {
            sp_error_set(err, SP_E_CONFIG, "exec: bad working directory '%.100s'", x->cwd);
            return SP_NEXT_FAIL;
        }
        dir = below_home(op->sandbox, cwd);
        if (dir[0] == '\0')
            dir = NULL;
    }
    struct sp_buf line, json;
    sp_buf_init(&line, 0);
    sp_buf_init(&json, 0);
    enum sp_next next = SP_NEXT_FAIL;
    long timeout = x->timeout_ms > 0 ? x->timeout_ms : EXEC_DEFAULT_MS;
    ctx->deadline_ms = sp_now_ms() + timeout;
    if (sp_shell_wrap(x->command, dir, x->env, &line, err) == SP_E_OK &&
        sp__runloop_build_command(sp_buf_str(&line), &json, err) == SP_E_OK)
        next = devbox_post(op, "/execute_async", &json, 0, req, err);
    sp_buf_cleanup(&line);
    sp_buf_cleanup(&json);
    return next;
}

/* Waits for `completed`, never past the command's deadline (plus the HTTP grace). */
static enum sp_next
exec_wait(struct sp_op *op, struct exec_ctx *ctx, struct sp_http_req *req, struct sp_error *err)
{
    char sub[256];
    struct sp_buf json;
    sp_buf_init(&json, 0);
    int64_t left = ctx->deadline_ms - sp_now_ms();
    long hold = left < RUNLOOP_WAIT_HOLD_MS ? (long)(left > 0 ? left : 1) : RUNLOOP_WAIT_HOLD_MS;
    snprintf(sub, sizeof(sub), "/executions/%s/wait_for_status", ctx->e.id);
    op->state = EX_WAIT;
    enum sp_next next = SP_NEXT_FAIL;
    if (sp__runloop_build_statuses("completed", &json, err) == SP_E_OK)
        next = devbox_post(op, sub, &json, hold + 1000, req, err);
    /* A long poll: its 408 means "still running" here, as the newest SDK's waiters set
     * maxRetries 0 for it. */
    req->retry.max_attempts_sdk = 0;
    sp_buf_cleanup(&json);
    return next;
}

static enum sp_next
exec_kill(struct sp_op *op, struct exec_ctx *ctx, struct sp_http_req *req, struct sp_error *err)
{
    char sub[256];
    snprintf(sub, sizeof(sub), "/executions/%s/kill", ctx->e.id);
    op->state = EX_KILL;
    return devbox_post(op, sub, NULL, 0, req, err);
}

/* An execution view: done when completed, else wait (or kill past the deadline). */
static enum sp_next exec_view(struct sp_op *op,
                              struct exec_ctx *ctx,
                              const struct sp_http_rsp *rsp,
                              struct sp_http_req *req,
                              struct sp_error *err)
{
    struct sp_exec *x = op->u.exec;
    if (sp__runloop_parse_execution(rsp->body.data, rsp->body.len, &ctx->e, x, err) != SP_E_OK)
        return SP_NEXT_FAIL;
    if (strcmp(ctx->e.status, "completed") == 0) {
        sp__exec_emit_buffered(x);
        return SP_NEXT_DONE;
    }
    if (ctx->e.id[0] == '\0') {
        sp_error_set(err, SP_E_PROTOCOL, "execution is %.30s but has no execution_id",
                     ctx->e.status);
        return SP_NEXT_FAIL;
    }
    return sp_now_ms() >= ctx->deadline_ms ? exec_kill(op, ctx, req, err)
                                           : exec_wait(op, ctx, req, err);
}

static enum sp_next exec_answer(struct sp_op *op,
                                struct exec_ctx *ctx,
                                const struct sp_http_rsp *rsp,
                                struct sp_http_req *req,
                                struct sp_error *err)
{
    struct sp_exec *x = op->u.exec;
    bool still =
        rsp->transport == SP_E_TIMEOUT || (rsp->transport == SP_E_OK && rsp->status == 408);
    if (op->state == EX_KILL) {
        if (!sp_http_ok(rsp) && !(rsp->transport == SP_E_OK && rsp->status == 404))
            return sp__runloop_fail(rsp, "kill execution", err);
        x->timed_out = true;
        x->exit_code = -1;
        snprintf(x->detail, sizeof(x->detail), "command timed out after %.1f s (killed)",
                 (double)(x->timeout_ms > 0 ? x->timeout_ms : EXEC_DEFAULT_MS) / 1000.0);
        sp__exec_emit_buffered(x);
        return SP_NEXT_DONE;
    }
    if (op->state == EX_WAIT && still)
        return sp_now_ms() >= ctx->deadline_ms ? exec_kill(op, ctx, req, err)
                                               : exec_wait(op, ctx, req, err);
    if (!sp_http_ok(rsp))
        return sp__runloop_fail(rsp, op->state == EX_START ? "execute_async" : "wait_for_status",
                                err);
    return exec_view(op, ctx, rsp, req, err);
}

enum sp_next sp__runloop_direct_exec(struct sp_op *op,
                                     const struct sp_http_rsp *rsp,
                                     struct sp_http_req *req,
                                     struct sp_error *err)
{
    struct exec_ctx *ctx = op->ctx;
    if (op->u.exec->command == NULL) {
        sp_error_set(err, SP_E_CONFIG, "exec: no command");
        return SP_NEXT_FAIL;
    }
    if (ctx == NULL) {
        if ((ctx = sp__op_ctx_new(op, sizeof(*ctx), free, err)) == NULL)
            return SP_NEXT_FAIL;
    }
    if (rsp == NULL)
        return exec_start(op, ctx, req, err);
    return exec_answer(op, ctx, rsp, req, err);
}

/* --- files ---------------------------------------------------------------------------------------
 */

static enum sp_next
upload_request(struct sp_op *op, const char *path, struct sp_http_req *req, struct sp_error *err)
{
    if (sp__runloop_api(op->client->cfg, req, SP_HTTP_POST, 0, err, "/v1/devboxes/%s/upload_file",
                        op->sandbox->id) != SP_NEXT_REQUEST)
        return SP_NEXT_FAIL;
    return sp__files_upload_body(req, op->u.files, path, "path", "file", err);
}

/* `ls -1Ap` of the directory: one name a line, directories with a trailing '/'. */
static enum sp_next
list_request(struct sp_op *op, const char *path, struct sp_http_req *req, struct sp_error *err)
{
    struct sp_buf cmd, json;
    sp_buf_init(&cmd, 0);
    sp_buf_init(&json, 0);
    enum sp_next next = SP_NEXT_FAIL;
    const char *rel = below_home(op->sandbox, path);
    if (sp_buf_puts(&cmd, "ls -1Ap -- ") != 0 || sp_shell_quote(&cmd, rel[0] ? rel : ".") != 0)
        sp_error_set(err, SP_E_INTERNAL, "out of memory");
    else if (sp__runloop_build_command(sp_buf_str(&cmd), &json, err) == SP_E_OK)
        next = devbox_post(op, "/execute_sync", &json, 0, req, err);
    sp_buf_cleanup(&cmd);
    sp_buf_cleanup(&json);
    return next;
}

static enum sp_next
files_begin(struct sp_op *op, const char *path, struct sp_http_req *req, struct sp_error *err)
{
    struct sp_files *f = op->u.files;
    struct sp_buf json;
    sp_buf_init(&json, 0);
    enum sp_next next = SP_NEXT_FAIL;
    switch (f->kind) {
    case SP_FILE_WRITE:
        if (sp__runloop_build_file("file_path", path, f->data ? f->data : "", f->len, &json, err) ==
            SP_E_OK)
            next = devbox_post(op, "/write_file_contents", &json, 0, req, err);
        break;
    case SP_FILE_READ:
    case SP_FILE_DOWNLOAD: {
        bool read = f->kind == SP_FILE_READ;
        if (sp__runloop_build_file(read ? "file_path" : "path", path, NULL, 0, &json, err) ==
                SP_E_OK &&
            (next = devbox_post(op, read ? "/read_file_contents" : "/download_file", &json, 0, req,
                                err)) == SP_NEXT_REQUEST) {
            sp_kv_set(&req->headers, "Accept", read ? "text/plain" : "application/octet-stream");
            req->max_response =
                f->content.max > f->content.len ? f->content.max - f->content.len : 1;
        }
        break;
    }
    case SP_FILE_UPLOAD:
        next = upload_request(op, path, req, err);
        break;
    case SP_FILE_LIST:
        next = list_request(op, path, req, err);
        break;
    default:
        sp_error_set(err, SP_E_UNSUPPORTED, "Runloop has no %s route",
                     f->kind == SP_FILE_STAT    ? "stat"
                     : f->kind == SP_FILE_MKDIR ? "mkdir"
                                                : "remove");
        break;
    }
    sp_buf_cleanup(&json);
    return next;
}

/* The lines of `ls -1Ap` into f->entries. */
static enum sp_err parse_ls(const char *text, struct sp_files *f, struct sp_error *err)
{
    size_t n = 0;
    for (const char *p = text; *p; p++)
        n += *p == '\n';
    struct sp_file_entry *entries = n ? calloc(n, sizeof(*entries)) : NULL;
    if (n && entries == NULL)
        return sp_error_set(err, SP_E_INTERNAL, "out of memory");
    size_t i = 0;
    for (const char *p = text; *p && i < n;) {
        size_t len = strcspn(p, "\n");
        bool dir = len > 0 && p[len - 1] == '/';
        size_t name = dir ? len - 1 : len;
        if (name > 0 && name < sizeof(entries[i].name)) {
            memcpy(entries[i].name, p, name);
            entries[i].is_dir = dir;
            entries[i++].size = -1;
        }
        p += len + (p[len] == '\n');
    }
    return sp__files_take_entries(f, SP_E_OK, entries, i);
}

static enum sp_next
list_answer(struct sp_op *op, const char *path, const struct sp_http_rsp *rsp, struct sp_error *err)
{
    struct sp_exec x;
    struct runloop_execution e;
    sp_exec_init(&x, NULL);
    enum sp_err rc = sp__runloop_parse_execution(rsp->body.data, rsp->body.len, &e, &x, err);
    if (rc == SP_E_OK && x.exit_code != 0)
        rc = sp_error_set(err, SP_E_NOT_FOUND, "list %.200s: %.200s", path,
                          x.err.len ? sp_buf_str(&x.err) : "cannot list");
    if (rc == SP_E_OK)
        rc = parse_ls(sp_buf_str(&x.out), op->u.files, err);
    sp_exec_cleanup(&x);
    return rc == SP_E_OK ? SP_NEXT_DONE : SP_NEXT_FAIL;
}

enum sp_next sp__runloop_direct_files(struct sp_op *op,
                                      const struct sp_http_rsp *rsp,
                                      struct sp_http_req *req,
                                      struct sp_error *err)
{
    struct sp_files *f = op->u.files;
    char path[1024];
    if (f->path == NULL || direct_path(op->sandbox, f->path, path, sizeof(path)) != 0) {
        sp_error_set(err, SP_E_CONFIG, "files: bad path '%.200s'", f->path ? f->path : "(null)");
        return SP_NEXT_FAIL;
    }
    if (rsp == NULL)
        return files_begin(op, path, req, err);
    if (!sp_http_ok(rsp)) {
        char what[160];
        snprintf(what, sizeof(what), "devbox file %.140s", path);
        return sp__runloop_fail(rsp, what, err);
    }
    snprintf(f->resolved_path, sizeof(f->resolved_path), "%s", path);
    if (f->kind == SP_FILE_LIST)
        return list_answer(op, path, rsp, err);
    if ((f->kind == SP_FILE_READ || f->kind == SP_FILE_DOWNLOAD) &&
        sp_buf_append(&f->content, rsp->body.data ? rsp->body.data : "", rsp->body.len) != 0) {
        sp_error_set(err, SP_E_PROTOCOL, "file exceeds %zu bytes", f->content.max);
        return SP_NEXT_FAIL;
    }
    return SP_NEXT_DONE;
}
