/* What the providers' step machines share beyond the contract in provider_int.h: their
 * private context (and an attach's start), state polling against the op's deadline, waiting
 * out a data plane whose daemon is not up yet, and the body of a one-file multipart upload.
 * Vendor-neutral: the nouns and field names come from the caller. */
#include "provider_int.h"

#include <stdlib.h>
#include <string.h>

void *sp__op_ctx_new(struct sp_op *op, size_t size, void (*ctx_free)(void *), struct sp_error *err)
{
    void *ctx = calloc(1, size);
    if (ctx == NULL) {
        sp_error_set(err, SP_E_INTERNAL, "out of memory");
        return NULL;
    }
    op->ctx = ctx;
    op->ctx_free = ctx_free;
    return ctx;
}

void *sp__attach_begin(struct sp_op *op, size_t ctx_size, struct sp_error *err)
{
    if (op->u.attach.key == NULL || op->u.attach.value == NULL) {
        sp_error_set(err, SP_E_CONFIG, "attach needs a key and a value");
        return NULL;
    }
    return sp__op_ctx_new(op, ctx_size, free, err);
}

enum sp_next sp__poll_later(
    struct sp_op *op, const char *noun, const char *goal, long every_ms, struct sp_error *err)
{
    int64_t left = op->deadline_ms - sp_now_ms();
    if (left <= 0) {
        long ms = op->client->opts.ready_timeout_ms;
        sp_error_set(err, SP_E_TIMEOUT, "%s %s not %s after %.*f s (last state: %s)", noun,
                     op->sandbox->id, goal, ms % 1000 ? 1 : 0, (double)ms / 1000.0,
                     op->sandbox->state[0] ? op->sandbox->state : "none");
        return SP_NEXT_FAIL;
    }
    op->wait_ms = left < every_ms ? (long)left : every_ms;
    return SP_NEXT_WAIT;
}

enum sp_next sp__daemon_not_up(struct sp_op *op,
                               int64_t *deadline_ms,
                               int status,
                               const char *what,
                               const char *noun,
                               struct sp_error *err)
{
    const struct sp_client_opts *o = &op->client->opts;
    int64_t now = sp_now_ms();
    if (*deadline_ms == 0)
        *deadline_ms = now + o->alive_timeout_ms;
    if (now >= *deadline_ms) {
        sp_error_set(err, SP_E_TIMEOUT,
                     "%s not answering after %ld ms (last: HTTP %d; %s state: %s)", what,
                     o->alive_timeout_ms, status, noun,
                     op->sandbox->state[0] ? op->sandbox->state : "unknown");
        return SP_NEXT_FAIL;
    }
    op->wait_ms = o->alive_interval_ms;
    return SP_NEXT_WAIT;
}

enum sp_next sp__files_upload_body(struct sp_http_req *req,
                                   const struct sp_files *f,
                                   const char *path,
                                   const char *path_field,
                                   const char *file_field,
                                   struct sp_error *err)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (base[0] == '\0') {
        sp_error_set(err, SP_E_CONFIG, "upload: '%.200s' is not a file path", path);
        return SP_NEXT_FAIL;
    }
    if (sp_http_req_multipart_begin(req) != 0 ||
        sp_http_req_multipart_field(req, path_field, path) != 0 ||
        sp_http_req_multipart_file(req, file_field, base, f->data, f->len) != 0 ||
        sp_http_req_multipart_end(req) != 0) {
        sp_error_set(err, SP_E_CONFIG, "upload: cannot send path '%.200s'", path);
        return SP_NEXT_FAIL;
    }
    return SP_NEXT_REQUEST;
}
