/* Files in Modal's direct mode: the task command router has exec only (the file RPCs of
 * newer SDKs are not part of this surface), so files are shell commands run through it, as a
 * client without the action server would do:
 *  - WRITE/UPLOAD: `mkdir -p` of the parent, then the bytes base64-encoded in the command,
 *    48 KiB per command (an argument stays far below Linux's 128 KiB per-string limit), the
 *    first one truncating, the rest appending: exact bytes, no newline added;
 *  - READ/DOWNLOAD: `base64` of the file, decoded here;
 *  - LIST: one level, "d -1 NAME" / "f SIZE NAME" lines.
 * Every command runs in "/" with the path made relative to it ("./root/x" for "/root/x"): the
 * same file on Modal, and the mock, whose commands run on the host in a directory standing
 * for the sandbox's "/", keeps them inside that directory.
 * A missing path ("No such file or directory") is not_found. */
#include "modal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action_server.h"

#define CHUNK_RAW ((size_t)48 << 10)

struct files_ctx {
    struct modal_op_ctx base; /* first: the stdio stream finds its run here */
    struct sp_exec x;
    struct sp_buf cmd;
    char path[1024]; /* absolute, in the sandbox */
    char rel[1026];  /* "." + path: relative to the commands' cwd "/" */
    size_t off;      /* bytes written so far */
};

static void files_ctx_free(void *p)
{
    struct files_ctx *c = p;
    if (c == NULL)
        return;
    sp__modal_run_free(c->base.run);
    sp_exec_cleanup(&c->x);
    sp_buf_cleanup(&c->cmd);
    free(c);
}

/* The command for the current piece of work into c->cmd. Returns 0 or -1. */
static int build(struct sp_files *f, struct files_ctx *c)
{
    struct sp_buf *b = &c->cmd;
    sp_buf_reset(b);
    int rc = 0;
    switch (f->kind) {
    case SP_FILE_WRITE:
    case SP_FILE_UPLOAD: {
        size_t n = f->len - c->off < CHUNK_RAW ? f->len - c->off : CHUNK_RAW;
        if (c->off == 0)
            rc |= sp_buf_puts(b, "mkdir -p \"$(dirname -- ") | sp_shell_quote(b, c->rel) |
                  sp_buf_puts(b, ")\" && ");
        rc |= sp_buf_puts(b, "printf '%s' '");
        rc |= sp_buf_put_base64(b, (const char *)f->data + c->off, n);
        rc |= sp_buf_puts(b, c->off == 0 ? "' | base64 -d > " : "' | base64 -d >> ");
        rc |= sp_shell_quote(b, c->rel);
        c->off += n;
        break;
    }
    case SP_FILE_READ:
    case SP_FILE_DOWNLOAD:
        rc |= sp_buf_puts(b, "base64 -w0 -- ") | sp_shell_quote(b, c->rel);
        break;
    default: /* SP_FILE_LIST */
        rc |= sp_buf_puts(b, "cd -- ") | sp_shell_quote(b, c->rel);
        rc |= sp_buf_puts(b, " && for e in * .[!.]* ..?*; do [ -e \"$e\" ] || continue; "
                             "if [ -d \"$e\" ]; then printf 'd -1 %s\\n' \"$e\"; else "
                             "printf 'f %s %s\\n' \"$(wc -c < \"$e\")\" \"$e\"; fi; done");
    }
    return rc ? -1 : 0;
}

static enum sp_next start(struct sp_op *op,
                          struct sp_files *f,
                          struct files_ctx *c,
                          struct sp_http_req *req,
                          struct sp_error *err)
{
    if (build(f, c) != 0) {
        sp_error_set(err, SP_E_INTERNAL, "out of memory building a file command");
        return SP_NEXT_FAIL;
    }
    sp_exec_cleanup(&c->x);
    sp_exec_init(&c->x, sp_buf_str(&c->cmd));
    c->x.cwd = "/";
    return sp__modal_run_begin(op, &c->base.run, &c->x, req, err);
}

/* A failed command: not_found for a missing path, else the provider's failure. */
static enum sp_next failed(struct files_ctx *c, struct sp_error *err)
{
    const char *e = sp_buf_str(&c->x.err);
    bool missing = strstr(e, "No such file") || strstr(e, "can't cd") || strstr(e, "not found");
    sp_error_set(err, missing ? SP_E_NOT_FOUND : SP_E_PROVIDER, "%s: %.160s (exit %d)", c->path,
                 e[0] ? e : "command failed", c->x.exit_code);
    return SP_NEXT_FAIL;
}

static enum sp_next parse_list(struct sp_files *f, const struct sp_buf *out, struct sp_error *err)
{
    /* One entry per line; the last line may lack its newline. */
    size_t cap = out->len > 0 && out->data[out->len - 1] != '\n', n = 0;
    for (size_t i = 0; i < out->len; i++)
        cap += out->data[i] == '\n';
    struct sp_file_entry *ents = cap ? calloc(cap, sizeof(*ents)) : NULL;
    if (cap && ents == NULL) {
        sp_error_set(err, SP_E_INTERNAL, "out of memory");
        return SP_NEXT_FAIL;
    }
    const char *p = out->data, *end = out->data + out->len;
    enum sp_err rc = SP_E_OK;
    while (p && p < end && rc == SP_E_OK) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        char line[600];
        snprintf(line, sizeof(line), "%.*s", (int)((nl ? nl : end) - p), p);
        p = nl ? nl + 1 : NULL;
        char kind = line[0], *name = line + 2;
        long long size = 0;
        if ((kind == 'd' || kind == 'f') && line[1] == ' ') /* else line + 2 may be past it */
            size = strtoll(line + 2, &name, 10);
        if ((kind != 'd' && kind != 'f') || line[1] != ' ' || name == line + 2 || *name != ' ') {
            rc = sp_error_set(err, SP_E_PROTOCOL, "unexpected listing line '%.80s'", line);
            break;
        }
        snprintf(ents[n].name, sizeof(ents[n].name), "%s", name + 1);
        ents[n].is_dir = kind == 'd';
        ents[n].size = kind == 'd' ? -1 : size;
        n++;
    }
    return sp__files_take_entries(f, rc, ents, n) == SP_E_OK ? SP_NEXT_DONE : SP_NEXT_FAIL;
}

static enum sp_next finish(struct sp_op *op,
                           struct sp_files *f,
                           struct files_ctx *c,
                           struct sp_http_req *req,
                           struct sp_error *err)
{
    if (c->x.exit_code != 0)
        return failed(c, err);
    switch (f->kind) {
    case SP_FILE_WRITE:
    case SP_FILE_UPLOAD:
        if (c->off < f->len)
            return start(op, f, c, req, err);
        snprintf(f->resolved_path, sizeof(f->resolved_path), "%s", c->path);
        return SP_NEXT_DONE;
    case SP_FILE_READ:
    case SP_FILE_DOWNLOAD:
        sp_buf_reset(&f->content);
        if (sp_base64_decode(c->x.out.data ? c->x.out.data : "", c->x.out.len, &f->content) != 0) {
            sp_error_set(err, SP_E_PROTOCOL, "%s: the file's base64 did not decode", c->path);
            return SP_NEXT_FAIL;
        }
        snprintf(f->resolved_path, sizeof(f->resolved_path), "%s", c->path);
        return SP_NEXT_DONE;
    default:
        return parse_list(f, &c->x.out, err);
    }
}

enum sp_next sp__modal_direct_files(struct sp_op *op,
                                    const struct sp_http_rsp *rsp,
                                    struct sp_http_req *req,
                                    struct sp_error *err)
{
    struct sp_files *f = op->u.files;
    struct files_ctx *c = op->ctx;
    if (c == NULL) {
        if (f->kind != SP_FILE_WRITE && f->kind != SP_FILE_UPLOAD && f->kind != SP_FILE_READ &&
            f->kind != SP_FILE_DOWNLOAD && f->kind != SP_FILE_LIST) {
            sp_error_set(err, SP_E_UNSUPPORTED,
                         "Modal's direct mode has no stat, mkdir or "
                         "remove of its own");
            return SP_NEXT_FAIL;
        }
        if ((c = sp__op_ctx_new(op, sizeof(*c), files_ctx_free, err)) == NULL)
            return SP_NEXT_FAIL;
        sp_buf_init(&c->cmd, 0);
        sp_exec_init(&c->x, "");
        if (f->path == NULL ||
            sp_as_resolve_path(op->sandbox->workdir, f->path, c->path, sizeof(c->path)) != 0) {
            sp_error_set(err, SP_E_CONFIG, "bad file path '%.100s'", f->path ? f->path : "");
            return SP_NEXT_FAIL;
        }
        snprintf(c->rel, sizeof(c->rel), ".%s", c->path);
        return start(op, f, c, req, err);
    }
    enum sp_next next = sp__modal_run_step(op, c->base.run, rsp, req, err);
    return next == SP_NEXT_DONE ? finish(op, f, c, req, err) : next;
}
