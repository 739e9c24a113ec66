/* Modal's `list` step, for `sandprobe sweep`: SandboxList with the label as a tag filter (the
 * server filters by tags, M10), every page: Modal answers the newest sandboxes first and a
 * client pages back with before_timestamp = the oldest created_at seen, until a page comes
 * back empty, as the SDKs' list does. Finished sandboxes are not asked for
 * (include_finished false), so a sweep neither counts nor terminates them again; the tags on
 * each item are checked here as well. spec/runloop-modal.md M10. */
#include "modal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "modal_proto/api.pb-c.h"

#define LIST_MAX_PAGES 1000 /* Modal's pages are 100 sandboxes: 100,000 */

struct list_ctx {
    double before; /* the oldest created_at so far; 0 = from the newest */
    int pages;
};

static enum sp_next list_request(struct sp_op *op, struct sp_http_req *req, struct sp_error *err)
{
    const struct list_ctx *ctx = op->ctx;
    Modal__Client__SandboxTag t = MODAL__CLIENT__SANDBOX_TAG__INIT;
    t.tag_name = (char *)(uintptr_t)op->u.list.key;
    t.tag_value = (char *)(uintptr_t)op->u.list.value;
    Modal__Client__SandboxTag *tags[] = {&t};
    Modal__Client__SandboxListRequest q = MODAL__CLIENT__SANDBOX_LIST_REQUEST__INIT;
    q.n_tags = op->u.list.key ? 1 : 0;
    q.tags = tags;
    q.before_timestamp = ctx->before;
    return sp__modal_call(op->client->cfg, req, "SandboxList", &q.base, 0, err);
}

static const char *tag_of(const Modal__Client__SandboxInfo *s, const char *name)
{
    for (size_t i = 0; i < s->n_tags; i++)
        if (s->tags[i]->tag_name && strcmp(s->tags[i]->tag_name, name) == 0)
            return s->tags[i]->tag_value ? s->tags[i]->tag_value : "";
    return NULL;
}

/* Adds one page's sandboxes (those matching the filter) to out; *oldest gets the page's
 * oldest created_at. */
static enum sp_err take_page(struct sp_op *op,
                             const Modal__Client__SandboxListResponse *l,
                             double *oldest,
                             struct sp_error *err)
{
    for (size_t i = 0; i < l->n_sandboxes; i++) {
        const Modal__Client__SandboxInfo *s = l->sandboxes[i];
        if (s->id == NULL || s->id[0] == '\0' ||
            strlen(s->id) >= sizeof(((struct sp_listed *)0)->id))
            return sp_error_set(err, SP_E_PROTOCOL, "sandbox list: an item without a usable id");
        if (*oldest == 0 || s->created_at < *oldest)
            *oldest = s->created_at;
        const char *v = op->u.list.key ? tag_of(s, op->u.list.key) : NULL;
        if (op->u.list.key && (v == NULL || strcmp(v, op->u.list.value) != 0))
            continue;
        struct sp_kv labels;
        sp_kv_init(&labels);
        int rc = 0;
        for (size_t k = 0; rc == 0 && k < s->n_tags; k++)
            if (s->tags[k]->tag_name)
                rc = sp_kv_set(&labels, s->tags[k]->tag_name,
                               s->tags[k]->tag_value ? s->tags[k]->tag_value : "");
        if (rc == 0)
            rc = sp__list_add(op->u.list.out, s->id, "running", (int64_t)(s->created_at * 1000.0),
                              &labels);
        sp_kv_cleanup(&labels);
        if (rc != 0)
            return sp_error_set(err, SP_E_INTERNAL, "out of memory");
    }
    return SP_E_OK;
}

enum sp_next sp__modal_step_list(struct sp_op *op,
                                 const struct sp_http_rsp *rsp,
                                 struct sp_http_req *req,
                                 struct sp_error *err)
{
    struct list_ctx *ctx = op->ctx;
    if (rsp == NULL) {
        if (op->u.list.key && op->u.list.value == NULL) {
            sp_error_set(err, SP_E_CONFIG, "a tag filter needs a value");
            return SP_NEXT_FAIL;
        }
        if ((ctx = calloc(1, sizeof(*ctx))) == NULL) {
            sp_error_set(err, SP_E_INTERNAL, "out of memory");
            return SP_NEXT_FAIL;
        }
        op->ctx = ctx;
        op->ctx_free = free;
        return list_request(op, req, err);
    }
    Modal__Client__SandboxListResponse *l = NULL;
    if (sp__modal_reply(rsp, &modal__client__sandbox_list_response__descriptor, &l, "sandbox list",
                        err) != SP_E_OK)
        return SP_NEXT_FAIL;
    double oldest = 0;
    enum sp_err rc = take_page(op, l, &oldest, err);
    size_t n = l->n_sandboxes;
    protobuf_c_message_free_unpacked(&l->base, NULL);
    if (rc != SP_E_OK)
        return SP_NEXT_FAIL;
    if (n == 0)
        return SP_NEXT_DONE;
    if (ctx->before != 0 && oldest >= ctx->before) {
        sp_error_set(err, SP_E_PROTOCOL,
                     "sandbox list: a page older than before_timestamp "
                     "%.3f is not older",
                     ctx->before);
        return SP_NEXT_FAIL;
    }
    if (++ctx->pages >= LIST_MAX_PAGES) {
        sp_error_set(err, SP_E_PROTOCOL, "sandbox list still has more after %d pages",
                     LIST_MAX_PAGES);
        return SP_NEXT_FAIL;
    }
    ctx->before = oldest;
    return list_request(op, req, err);
}
