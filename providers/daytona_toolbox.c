/* Daytona's mode "toolbox": exec and files straight through the toolbox API that the API
 * proxies to the daemon in each sandbox (spec/daytona-runloop.md A7.1, A7.3), as SDK
 * 0.24.2 calls it, instead of the OpenHands action server. Every call is one request. */
#include "action_server.h"
#include "daytona.h"

#include <stdio.h>
#include <string.h>

#define TOOLBOX_EXEC_DEFAULT_MS 120000L

/* Relative paths go under the project dir read at startup, as the SDK prefixes them; with
 * no startup, they go to the daemon as they are. */
static int toolbox_path(const struct sp_sandbox *sb, const char *path, char *out, size_t len)
{
    if (path == NULL || path[0] == '\0')
        return -1;
    if (path[0] == '/' || sb->workdir[0] == '\0') {
        int n = snprintf(out, len, "%s", path);
        return n < 0 || (size_t)n >= len ? -1 : 0;
    }
    return sp_as_resolve_path(sb->workdir, path, out, len);
}

/* --- exec --------------------------------------------------------------------------------------
 */

/* process/execute splits its command on spaces and execs it without a shell, so the SDK
 * sends `sh -c "echo '<base64>' | base64 -d | sh"` (A7.1); we do the same. */
static enum sp_err
toolbox_command(const struct sp_exec *x, struct sp_buf *out, struct sp_error *err)
{
    struct sp_buf line;
    sp_buf_init(&line, 0);
    enum sp_err rc = sp_shell_wrap(x->command, NULL, x->env, &line, err);
    if (rc == SP_E_OK && (sp_buf_puts(out, "sh -c \"echo '") != 0 ||
                          sp_buf_put_base64(out, line.data ? line.data : "", line.len) != 0 ||
                          sp_buf_puts(out, "' | base64 -d | sh\"") != 0))
        rc = sp_error_set(err, SP_E_INTERNAL, "command line too long");
    sp_buf_cleanup(&line);
    return rc;
}

static enum sp_next
exec_request(struct sp_op *op, long timeout_ms, struct sp_http_req *req, struct sp_error *err)
{
    const struct sp_sandbox *sb = op->sandbox;
    const struct sp_exec *x = op->u.exec;
    char cwd[1024];
    const char *dir = sb->workdir[0] ? sb->workdir : NULL;
    if (x->cwd) {
        if (toolbox_path(sb, x->cwd, cwd, sizeof(cwd)) != 0) {
            sp_error_set(err, SP_E_CONFIG, "exec: bad working directory '%.100s'", x->cwd);
            return SP_NEXT_FAIL;
        }
        dir = cwd;
    }
    struct sp_buf cmd, json;
    sp_buf_init(&cmd, 0);
    sp_buf_init(&json, 0);
    char path[256];
    snprintf(path, sizeof(path), "/toolbox/%s/toolbox/process/execute", sb->id);
    enum sp_next next = SP_NEXT_FAIL;
    if (toolbox_command(x, &cmd, err) == SP_E_OK &&
        sp__daytona_build_execute(sp_buf_str(&cmd), dir, (timeout_ms + 999) / 1000, &json, err) ==
            SP_E_OK)
        next = sp__daytona_api_json(op->client->cfg, req, &json, timeout_ms + SP_AS_HTTP_GRACE_MS,
                                    err, path);
    sp_buf_cleanup(&cmd);
    sp_buf_cleanup(&json);
    return next;
}

enum sp_next sp__daytona_toolbox_exec(struct sp_op *op,
                                      const struct sp_http_rsp *rsp,
                                      struct sp_http_req *req,
                                      struct sp_error *err)
{
    struct sp_exec *x = op->u.exec;
    long timeout = x->timeout_ms > 0 ? x->timeout_ms : TOOLBOX_EXEC_DEFAULT_MS;
    if (x->command == NULL) {
        sp_error_set(err, SP_E_CONFIG, "exec: no command");
        return SP_NEXT_FAIL;
    }
    if (rsp == NULL)
        return exec_request(op, timeout, req, err);
    if (rsp->transport == SP_E_OK && rsp->status == 408) { /* the daemon killed it */
        x->timed_out = true;
        x->exit_code = -1;
        if (sp__daytona_parse_error(rsp->body.data, rsp->body.len, x->detail, sizeof(x->detail)) !=
            0)
            snprintf(x->detail, sizeof(x->detail), "command execution timeout");
        sp__exec_emit_buffered(x);
        return SP_NEXT_DONE;
    }
    if (!sp_http_ok(rsp))
        return sp__daytona_fail(rsp, "toolbox execute", err);
    if (sp__daytona_parse_execute(rsp->body.data, rsp->body.len, x, err) != SP_E_OK)
        return SP_NEXT_FAIL;
    sp__exec_emit_buffered(x);
    return SP_NEXT_DONE;
}

/* --- files -------------------------------------------------------------------------------------
 */

/* "/toolbox/{id}/toolbox/files<sub>?path=<p><extra>" */
static enum sp_next files_request(struct sp_op *op,
                                  struct sp_http_req *req,
                                  enum sp_method m,
                                  const char *sub,
                                  const char *path,
                                  const char *extra,
                                  struct sp_error *err)
{
    struct sp_buf url;
    sp_buf_init(&url, 0);
    enum sp_next next = SP_NEXT_FAIL;
    if (sp_buf_printf(&url, "/toolbox/%s/toolbox/files%s?path=", op->sandbox->id, sub) != 0 ||
        sp_buf_put_urlencoded(&url, path) != 0 || sp_buf_puts(&url, extra) != 0)
        sp_error_set(err, SP_E_INTERNAL, "out of memory building a request");
    else
        next = sp__daytona_api(op->client->cfg, req, m, 0, err, "%s", sp_buf_str(&url));
    sp_buf_cleanup(&url);
    return next;
}

/* bulk-upload, as the 0.24.2 SDK uploads even one file: the path part before the file. */
static enum sp_next
upload_request(struct sp_op *op, const char *path, struct sp_http_req *req, struct sp_error *err)
{
    if (sp__daytona_api(op->client->cfg, req, SP_HTTP_POST, 0, err,
                        "/toolbox/%s/toolbox/files/bulk-upload",
                        op->sandbox->id) != SP_NEXT_REQUEST)
        return SP_NEXT_FAIL;
    return sp__files_upload_body(req, op->u.files, path, "files[0].path", "files[0].file", err);
}

static enum sp_next
files_begin(struct sp_op *op, const char *path, struct sp_http_req *req, struct sp_error *err)
{
    struct sp_files *f = op->u.files;
    switch (f->kind) {
    case SP_FILE_WRITE:
    case SP_FILE_UPLOAD:
        return upload_request(op, path, req, err);
    case SP_FILE_READ:
    case SP_FILE_DOWNLOAD:
        if (files_request(op, req, SP_HTTP_GET, "/download", path, "", err) != SP_NEXT_REQUEST)
            return SP_NEXT_FAIL;
        req->max_response = f->content.max > f->content.len ? f->content.max - f->content.len : 1;
        return SP_NEXT_REQUEST;
    case SP_FILE_LIST:
        return files_request(op, req, SP_HTTP_GET, "", path, "", err);
    case SP_FILE_STAT:
        return files_request(op, req, SP_HTTP_GET, "/info", path, "", err);
    case SP_FILE_MKDIR:
        return files_request(op, req, SP_HTTP_POST, "/folder", path, "&mode=0755", err);
    case SP_FILE_REMOVE:
        return files_request(op, req, SP_HTTP_DELETE, "", path, "&recursive=true", err);
    }
    sp_error_set(err, SP_E_UNSUPPORTED, "unknown file operation %d", (int)f->kind);
    return SP_NEXT_FAIL;
}

static enum sp_next
files_end(struct sp_op *op, const char *path, const struct sp_http_rsp *rsp, struct sp_error *err)
{
    struct sp_files *f = op->u.files;
    enum sp_err rc = SP_E_OK;
    switch (f->kind) {
    case SP_FILE_READ:
    case SP_FILE_DOWNLOAD:
        if (sp_buf_append(&f->content, rsp->body.data ? rsp->body.data : "", rsp->body.len) != 0)
            rc = sp_error_set(err, SP_E_PROTOCOL, "file exceeds %zu bytes", f->content.max);
        break;
    case SP_FILE_LIST:
        rc = sp__daytona_parse_file_list(rsp->body.data, rsp->body.len, f, err);
        break;
    case SP_FILE_STAT:
        rc = sp__daytona_parse_file_info(rsp->body.data, rsp->body.len, f, err);
        break;
    default: /* write, upload, mkdir, remove: nothing in the body */
        break;
    }
    if (rc != SP_E_OK)
        return SP_NEXT_FAIL;
    snprintf(f->resolved_path, sizeof(f->resolved_path), "%s", path);
    return SP_NEXT_DONE;
}

enum sp_next sp__daytona_toolbox_files(struct sp_op *op,
                                       const struct sp_http_rsp *rsp,
                                       struct sp_http_req *req,
                                       struct sp_error *err)
{
    struct sp_files *f = op->u.files;
    char path[1024];
    if (toolbox_path(op->sandbox, f->path, path, sizeof(path)) != 0) {
        sp_error_set(err, SP_E_CONFIG, "files: bad path '%.200s'", f->path ? f->path : "(null)");
        return SP_NEXT_FAIL;
    }
    if (rsp == NULL)
        return files_begin(op, path, req, err);
    if (!sp_http_ok(rsp)) {
        char what[160];
        snprintf(what, sizeof(what), "toolbox files %.140s", path);
        return sp__daytona_fail(rsp, what, err);
    }
    return files_end(op, path, rsp, err);
}
