/* The E2B provider's data-plane steps: exec and files, against envd inside the sandbox
 * (spec/e2b-modal.md A3). exec is process.Process/Start, a Connect server stream parsed as it
 * arrives, so output reaches the caller's on_event while the command runs. files use envd's
 * REST /files (read, write, upload, download) and the filesystem.Filesystem Connect unary
 * RPCs (ListDir, Stat, MakeDir, Remove). Every request carries sb->data_headers (sandbox
 * routing headers and, for secure sandboxes, X-Access-Token). */
#include "connect.h"
#include "e2b.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXEC_DEFAULT_TIMEOUT_MS 120000
/* Our HTTP deadline trails the command's so envd, not curl, reports the timeout; by this
 * much, or by the client's HTTP deadline when that is shorter (a client asking for short
 * requests does not wait 15 s past a command that went silent). */
#define EXEC_HTTP_MARGIN_MS 15000

static enum sp_next oom(struct sp_error *err)
{
    sp_error_set(err, SP_E_INTERNAL, "out of memory building a request");
    return SP_NEXT_FAIL;
}

/* An envd error: Connect {code:"name"} or plain {code:int} bodies; the edge proxy's 502
 * {"sandboxId",...} means the sandbox is not running (any more). */
static enum sp_next envd_fail(const struct sp_http_rsp *rsp, struct sp_error *err)
{
    sp_connect_fail(rsp, err);
    if (rsp->transport == SP_E_OK && rsp->status == 502 &&
        sp__e2b_is_proxy_not_found(rsp->body.data, rsp->body.len))
        err->code = SP_E_NOT_FOUND;
    return SP_NEXT_FAIL;
}

/* --- exec ------------------------------------------------------------------------------- */

struct exec_ctx {
    struct sp_connect_stream stream;
    struct sp_buf data; /* one decoded data event */
    bool started, ended;
    struct e2b_event end;
    long timeout_ms;
};

static void exec_ctx_free(void *p)
{
    struct exec_ctx *ctx = p;
    if (ctx == NULL)
        return;
    sp_connect_stream_cleanup(&ctx->stream);
    sp_buf_cleanup(&ctx->data);
    free(ctx);
}

static void exec_emit(struct sp_exec *x, enum sp_exec_event ev, const char *data, size_t len)
{
    if (x->on_event)
        x->on_event(x->user, ev, data, len);
}

static const char *event_name(enum e2b_event_kind k)
{
    static const char *const names[] = {"unknown", "start", "data", "end", "keepalive"};
    return names[k];
}

/* One process event. envd guarantees start, then data/keepalive, then one end. */
static int exec_event(void *user, const struct cJSON *msg, struct sp_error *err)
{
    struct sp_op *op = user;
    struct exec_ctx *ctx = op->ctx;
    struct sp_exec *x = op->u.exec;
    struct e2b_event ev;
    sp_buf_reset(&ctx->data);
    if (sp__e2b_parse_event(msg, &ev, &ctx->data, err) != 0)
        return -1;
    if (ev.kind == E2B_EV_KEEPALIVE || ev.kind == E2B_EV_NONE)
        return 0;
    if (ctx->ended || (ev.kind == E2B_EV_START) == ctx->started)
        return sp_error_set(err, SP_E_PROTOCOL, "process.Start: unexpected %s event %s",
                            event_name(ev.kind),
                            ctx->ended     ? "after the end event"
                            : ctx->started ? "after the start event"
                                           : "before the start event"),
               -1;
    if (ev.kind == E2B_EV_START) {
        ctx->started = true;
        exec_emit(x, SP_EXEC_STARTED, NULL, 0);
    } else if (ev.kind == E2B_EV_END) {
        ctx->ended = true;
        ctx->end = ev;
    } else {
        struct sp_buf *dst = ev.stream == 2 ? &x->err : &x->out;
        /* A streaming caller gets every byte through on_event; the buffer keeps what fits
         * and flags overflow (provider.h). Without on_event, output past it is an error. */
        if (sp_buf_append(dst, ctx->data.data, ctx->data.len) != 0 && x->on_event == NULL)
            return sp_error_set(err, SP_E_PROTOCOL, "command output exceeds %zu bytes", dst->max),
                   -1;
        exec_emit(x, ev.stream == 2 ? SP_EXEC_STDERR : SP_EXEC_STDOUT, ctx->data.data,
                  ctx->data.len);
    }
    return 0;
}

/* The common data event, decoded straight into the output buffer without a JSON tree (the
 * bulk of a streaming command's cost otherwise). Anything it is not sure of (another shape,
 * bad base64, an event out of order, output past the buffer) goes back to exec_event, which
 * handles it as before and says what was wrong. */
static int exec_data_fast(void *user, const char *payload, size_t len, struct sp_error *err)
{
    struct sp_op *op = user;
    struct exec_ctx *ctx = op->ctx;
    struct sp_exec *x = op->u.exec;
    const char *b64 = NULL;
    size_t n = 0;
    int stream = sp__e2b_data_span(payload, len, &b64, &n);
    (void)err;
    if (stream == 0 || !ctx->started || ctx->ended)
        return 0;
    struct sp_buf *dst = stream == 2 ? &x->err : &x->out;
    size_t at = dst->len;
    bool overflow = dst->overflow;
    if (sp_base64_decode(b64, n, dst) != 0) {
        dst->overflow = overflow; /* exec_event decides, as it always has */
        return 0;
    }
    exec_emit(x, stream == 2 ? SP_EXEC_STDERR : SP_EXEC_STDOUT, dst->data + at, dst->len - at);
    return 1;
}

static int exec_chunk(struct sp_op *op, const char *data, size_t len, struct sp_error *err)
{
    struct exec_ctx *ctx = op->ctx;
    return sp_connect_stream_feed(&ctx->stream, data, len, exec_event, op, err);
}

static enum sp_next exec_request(struct sp_op *op, struct sp_http_req *req, struct sp_error *err)
{
    const struct sp_sandbox *sb = op->sandbox;
    struct sp_exec *x = op->u.exec;
    struct exec_ctx *ctx = calloc(1, sizeof(*ctx));
    if (ctx == NULL)
        return oom(err);
    sp_connect_stream_init(&ctx->stream, 0);
    ctx->stream.raw = exec_data_fast;
    sp_buf_init(&ctx->data, 0);
    op->ctx = ctx;
    op->ctx_free = exec_ctx_free;
    ctx->timeout_ms = x->timeout_ms > 0 ? x->timeout_ms : EXEC_DEFAULT_TIMEOUT_MS;
    struct sp_buf body;
    sp_buf_init(&body, 0);
    /* envd takes Connect-Timeout-Ms on Start as the process lifetime (spec A3). */
    int rc = sp__e2b_build_start(x->command, x->cwd, x->env, &body);
    rc = rc ? rc
            : sp_connect_stream_request(req, sb->data_url, "process.Process/Start",
                                        sp_buf_str(&body), ctx->timeout_ms);
    rc = rc ? rc : sp_http_req_header(req, "Keepalive-Ping-Interval", "50");
    rc = rc ? rc : sp_http_req_headers(req, &sb->data_headers);
    sp_buf_cleanup(&body);
    if (rc != 0)
        return oom(err);
    long margin = sp__client_http_timeout(op->client);
    if (margin <= 0 || margin > EXEC_HTTP_MARGIN_MS)
        margin = EXEC_HTTP_MARGIN_MS;
    req->timeout_ms = ctx->timeout_ms + margin;
    req->on_chunk = exec_chunk;
    req->retry = sb->data_retry;
    op->state = 1;
    return SP_NEXT_REQUEST;
}

/* The command hit its deadline: a result (exit -1, timed_out), not an error. */
static enum sp_next exec_timed_out(struct sp_exec *x, const char *why)
{
    x->timed_out = true;
    x->exit_code = -1;
    snprintf(x->detail, sizeof(x->detail), "%s", why);
    exec_emit(x, SP_EXEC_ENDED, NULL, 0);
    return SP_NEXT_DONE;
}

static enum sp_next exec_result(struct sp_op *op, struct exec_ctx *ctx, struct sp_exec *x)
{
    const struct e2b_event *end = &ctx->end;
    x->exit_code = end->exit_code;
    /* envd sets error to Go's exec error, which repeats the status for a non-zero exit. */
    bool extra = end->error[0] && strcmp(end->error, end->status) != 0;
    snprintf(x->detail, sizeof(x->detail), "%s%s%.150s", end->status, extra ? ": " : "",
             extra ? end->error : "");
    /* envd kills the process when Connect-Timeout-Ms runs out; a kill at or after our
     * deadline is that, an earlier one is the command's own business. */
    if (!end->exited && strstr(end->status, "killed") &&
        sp_now_ms() - op->started_ms >= ctx->timeout_ms)
        x->timed_out = true;
    exec_emit(x, SP_EXEC_ENDED, NULL, 0);
    return SP_NEXT_DONE;
}

static enum sp_next
exec_finish(struct sp_op *op, const struct sp_http_rsp *rsp, struct sp_error *err)
{
    struct exec_ctx *ctx = op->ctx;
    struct sp_exec *x = op->u.exec;
    if (rsp->transport == SP_E_TIMEOUT && ctx->started)
        return exec_timed_out(x, "no end of stream by the command deadline");
    if (!sp_http_ok(rsp))
        return envd_fail(rsp, err);
    const char *ct = sp_http_rsp_header(rsp, "Content-Type");
    if (ct && strncmp(ct, "application/connect+json", 24) != 0) {
        sp_error_set(err, SP_E_PROTOCOL,
                     "process.Start answered Content-Type '%.60s', "
                     "expected application/connect+json",
                     ct);
        return SP_NEXT_FAIL;
    }
    struct sp_error serr;
    sp_error_clear(&serr);
    enum sp_err rc = sp_connect_stream_finish(&ctx->stream, &serr);
    if (rc != SP_E_OK && ctx->stream.end_code == SP_CONNECT_DEADLINE_EXCEEDED)
        return exec_timed_out(x, ctx->ended ? ctx->end.status : "deadline_exceeded");
    if (rc != SP_E_OK) {
        err->grpc_status = serr.grpc_status;
        sp_error_set(err, rc, "process.Start: %s", serr.msg);
        return SP_NEXT_FAIL;
    }
    if (!ctx->ended) {
        sp_error_set(err, SP_E_PROTOCOL,
                     "process.Start stream ended without an end event "
                     "(%s)",
                     ctx->started ? "after start" : "no start");
        return SP_NEXT_FAIL;
    }
    return exec_result(op, ctx, x);
}

enum sp_next sp__e2b_step_exec(struct sp_op *op,
                               const struct sp_http_rsp *rsp,
                               struct sp_http_req *req,
                               struct sp_error *err)
{
    if (rsp == NULL)
        return exec_request(op, req, err);
    return exec_finish(op, rsp, err);
}

/* --- files ------------------------------------------------------------------------------- */

static const char *const fs_rpc[] = {
    [SP_FILE_LIST] = "filesystem.Filesystem/ListDir",
    [SP_FILE_STAT] = "filesystem.Filesystem/Stat",
    [SP_FILE_MKDIR] = "filesystem.Filesystem/MakeDir",
    [SP_FILE_REMOVE] = "filesystem.Filesystem/Remove",
};

/* Relative paths resolve against the sandbox's working directory (the user's home). */
static int resolve_path(const struct sp_sandbox *sb, const char *path, char *out, size_t len)
{
    int n;
    if (path == NULL || path[0] == '\0')
        n = snprintf(out, len, "%s", sb->workdir);
    else if (path[0] == '/')
        n = snprintf(out, len, "%s", path);
    else
        n = snprintf(out, len, "%s/%s", sb->workdir, path);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* GET or POST <envd>/files?path=...; uploads are multipart with the part named "file". */
static int
files_rest_request(const struct sp_sandbox *sb, struct sp_files *f, struct sp_http_req *req)
{
    bool write = f->kind == SP_FILE_WRITE || f->kind == SP_FILE_UPLOAD;
    struct sp_buf url;
    sp_buf_init(&url, 0);
    int rc = sp_buf_printf(&url, "%s/files?path=", sb->data_url);
    rc = rc ? rc : sp_buf_put_urlencoded(&url, f->resolved_path);
    rc = rc ? rc : sp_http_req_url(req, write ? SP_HTTP_POST : SP_HTTP_GET, "%s", sp_buf_str(&url));
    sp_buf_cleanup(&url);
    rc = rc ? rc : sp_http_req_headers(req, &sb->data_headers);
    if (rc == 0 && write) {
        /* The query's path wins over the filename; the SDK sends the path in both. */
        const char *name = strpbrk(f->resolved_path, "\"\r\n") ? "file" : f->resolved_path;
        rc = sp_http_req_multipart_begin(req);
        rc = rc ? rc : sp_http_req_multipart_file(req, "file", name, f->data, f->len);
        rc = rc ? rc : sp_http_req_multipart_end(req);
    }
    return rc;
}

static enum sp_next files_request(struct sp_op *op, struct sp_http_req *req, struct sp_error *err)
{
    const struct sp_sandbox *sb = op->sandbox;
    struct sp_files *f = op->u.files;
    if (resolve_path(sb, f->path, f->resolved_path, sizeof(f->resolved_path)) != 0) {
        sp_error_set(err, SP_E_CONFIG, "file path is longer than %zu bytes",
                     sizeof(f->resolved_path) - 1);
        return SP_NEXT_FAIL;
    }
    int rc;
    if ((unsigned)f->kind < sizeof(fs_rpc) / sizeof(fs_rpc[0]) && fs_rpc[f->kind]) {
        struct sp_buf body;
        sp_buf_init(&body, 0);
        rc = sp__e2b_build_path(f->resolved_path, f->kind == SP_FILE_LIST ? 1 : 0, &body);
        rc = rc ? rc
                : sp_connect_unary_request(req, sb->data_url, fs_rpc[f->kind], sp_buf_str(&body),
                                           sp__client_http_timeout(op->client));
        rc = rc ? rc : sp_http_req_headers(req, &sb->data_headers);
        sp_buf_cleanup(&body);
    } else {
        rc = files_rest_request(sb, f, req);
    }
    if (rc != 0)
        return oom(err);
    req->retry = sb->data_retry;
    op->state = 1;
    return SP_NEXT_REQUEST;
}

static int files_entries(struct sp_files *f, const struct sp_http_rsp *rsp, struct sp_error *err)
{
    free(f->entries);
    f->entries = NULL;
    f->n_entries = 0;
    if (f->kind == SP_FILE_LIST)
        return sp__e2b_parse_list_dir(rsp->body.data, rsp->body.len, &f->entries, &f->n_entries,
                                      err);
    struct sp_file_entry *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return sp_error_set(err, SP_E_INTERNAL, "out of memory"), -1;
    if (sp__e2b_parse_entry(rsp->body.data, rsp->body.len, e, f->resolved_path,
                            sizeof(f->resolved_path), err) != 0) {
        free(e);
        return -1;
    }
    f->entries = e;
    f->n_entries = 1;
    return 0;
}

static enum sp_next
files_finish(struct sp_op *op, const struct sp_http_rsp *rsp, struct sp_error *err)
{
    struct sp_files *f = op->u.files;
    if (!sp_http_ok(rsp)) {
        envd_fail(rsp, err);
        /* MakeDir of an existing directory says already_exists; the SDK calls that false,
         * not an error, and "make sure it exists" is what MKDIR means here. */
        if (f->kind == SP_FILE_MKDIR && err->grpc_status == SP_CONNECT_ALREADY_EXISTS) {
            sp_error_clear(err);
            return SP_NEXT_DONE;
        }
        return SP_NEXT_FAIL;
    }
    int rc = 0;
    switch (f->kind) {
    case SP_FILE_WRITE:
    case SP_FILE_UPLOAD:
        rc = sp__e2b_parse_upload(rsp->body.data, rsp->body.len, f->resolved_path,
                                  sizeof(f->resolved_path), err);
        break;
    case SP_FILE_READ:
    case SP_FILE_DOWNLOAD:
        sp_buf_reset(&f->content);
        if (sp_buf_append(&f->content, rsp->body.data, rsp->body.len) != 0)
            rc = sp_error_set(err, SP_E_PROTOCOL, "file exceeds %zu bytes", f->content.max);
        break;
    case SP_FILE_LIST:
    case SP_FILE_STAT:
    case SP_FILE_MKDIR:
        rc = files_entries(f, rsp, err);
        break;
    case SP_FILE_REMOVE:
        break;
    }
    return rc == 0 ? SP_NEXT_DONE : SP_NEXT_FAIL;
}

enum sp_next sp__e2b_step_files(struct sp_op *op,
                                const struct sp_http_rsp *rsp,
                                struct sp_http_req *req,
                                struct sp_error *err)
{
    if (rsp == NULL)
        return files_request(op, req, err);
    return files_finish(op, rsp, err);
}
