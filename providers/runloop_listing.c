/* Runloop's `list` step, for `sandprobe sweep`: GET /v1/devboxes, every page (`has_more`,
 * `starting_after` the last id), into an sp_list. Runloop's list has no metadata filter, so
 * a label is matched here; shut down devboxes stay listed (R4) and are left out, so a sweep
 * neither counts nor shuts them down again. spec/runloop-modal.md R4. */
#include "runloop.h"

#include <stdlib.h>

#define LIST_MAX_PAGES 1000 /* of LIST_PAGE devboxes: 100,000, past the mock's 10k store */
#define LIST_PAGE      100

struct list_ctx {
    struct runloop_list page; /* has_more and the last id of the last page */
    int pages;
};

static enum sp_next
list_request(struct sp_op *op, const char *after, struct sp_http_req *req, struct sp_error *err)
{
    return sp__runloop_api(op->client->cfg, req, SP_HTTP_GET, 0, err, "/v1/devboxes?limit=%d%s%s",
                           LIST_PAGE, after[0] ? "&starting_after=" : "", after);
}

enum sp_next sp__runloop_step_list(struct sp_op *op,
                                   const struct sp_http_rsp *rsp,
                                   struct sp_http_req *req,
                                   struct sp_error *err)
{
    struct list_ctx *ctx = op->ctx;
    if (rsp == NULL) {
        if ((ctx = sp__list_begin(op, sizeof(*ctx), "metadata", err)) == NULL)
            return SP_NEXT_FAIL;
        return list_request(op, "", req, err);
    }
    if (!sp_http_ok(rsp))
        return sp__runloop_fail(rsp, "list devboxes", err);
    if (sp__runloop_parse_listing(rsp->body.data, rsp->body.len, op->u.list.key, op->u.list.value,
                                  op->u.list.out, &ctx->page, err) != SP_E_OK)
        return SP_NEXT_FAIL;
    if (!ctx->page.has_more)
        return SP_NEXT_DONE;
    if (sp__list_next_page(&ctx->pages, LIST_MAX_PAGES, "devbox list", err) != 0)
        return SP_NEXT_FAIL;
    return list_request(op, ctx->page.last_id, req, err);
}
