/* Daytona's `list` step, for `sandprobe sweep`: GET /sandbox (filtered by a labels object
 * when a label is given), every page, into an sp_list. Sandboxes the API still shows as
 * `destroyed` (0.24.2 keeps them readable) are left out. spec/daytona-runloop.md A4. */
#include "daytona.h"
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_MAX_PAGES 100

struct list_ctx {
    char cursor[512];
    int pages;
};

/* --- the wire format ------------------------------------------------------------------------ */

/* One Sandbox of a list page into l. A filtered list that returns a sandbox without the
 * label is a protocol error: the server ignored the filter, and a sweep must not act on it. */
static enum sp_err add_item(
    const cJSON *item, const char *key, const char *value, struct sp_list *l, struct sp_error *err)
{
    static const char what[] = "Daytona sandbox list item";
    char id[128] = "", state[32] = "";
    const char *created = NULL;
    struct sp_kv labels;
    sp_kv_init(&labels);
    enum sp_err rc = SP_E_PROTOCOL;
    if (!cJSON_IsObject(item)) {
        sp_error_set(err, SP_E_PROTOCOL, "%s: not an object", what);
    } else if (sp_json_copy_str(item, "id", true, id, sizeof(id), what, err) == 0 &&
               sp_json_copy_str(item, "state", false, state, sizeof(state), what, err) == 0 &&
               sp_json_get_str(item, "createdAt", false, &created, what, err) == 0 &&
               sp_json_get_kv(item, "labels", false, &labels, what, err) == 0) {
        if (id[0] == '\0')
            sp_error_set(err, SP_E_PROTOCOL, "%s: empty id", what);
        else if ((rc = sp__list_check_filtered(&labels, key, value, "label", id, err)) == SP_E_OK &&
                 strcmp(state, "destroyed") != 0 &&
                 sp__list_add(l, id, state, sp__parse_rfc3339(created), &labels) != 0)
            rc = sp_error_set(err, SP_E_INTERNAL, "out of memory");
    }
    sp_kv_cleanup(&labels);
    return rc;
}

/* One page of GET /sandbox: an array (0.24.2) or {"items":[...],"nextCursor"} (newest).
 * Adds its live sandboxes to l; cursor gets the next page's cursor, "" at the end. */
static enum sp_err parse_page(const char *body,
                              size_t len,
                              const char *key,
                              const char *value,
                              struct sp_list *l,
                              char *cursor,
                              size_t cursor_len,
                              struct sp_error *err)
{
    static const char what[] = "Daytona sandbox list";
    cJSON *root = sp_json_parse(body, len, what, err);
    if (root == NULL)
        return SP_E_PROTOCOL;
    const cJSON *items = root, *item;
    enum sp_err rc = SP_E_OK;
    cursor[0] = '\0';
    if (cJSON_IsObject(root)) {
        items = cJSON_GetObjectItemCaseSensitive(root, "items");
        if (sp_json_copy_str(root, "nextCursor", false, cursor, cursor_len, what, err) != 0)
            rc = SP_E_PROTOCOL;
    }
    if (rc == SP_E_OK && !cJSON_IsArray(items))
        rc = sp_error_set(err, SP_E_PROTOCOL, "%s: expected an array or {items, nextCursor}", what);
    if (rc == SP_E_OK) {
        cJSON_ArrayForEach(item, items)
        {
            if ((rc = add_item(item, key, value, l, err)) != SP_E_OK)
                break;
        }
    }
    cJSON_Delete(root);
    return rc;
}

/* --- the step machine ----------------------------------------------------------------------- */

static enum sp_next
list_request(struct sp_op *op, const char *cursor, struct sp_http_req *req, struct sp_error *err)
{
    struct sp_buf labels, path;
    sp_buf_init(&labels, 0);
    sp_buf_init(&path, 0);
    enum sp_next next = SP_NEXT_FAIL;
    const char *key = op->u.list.key;
    if (key && sp__daytona_build_labels(key, op->u.list.value, &labels, err) != SP_E_OK)
        goto out;
    int rc = sp_buf_puts(&path, "/sandbox");
    if (rc == 0 && key)
        rc = sp_buf_puts(&path, "?labels=") || sp_buf_put_urlencoded(&path, sp_buf_str(&labels));
    if (rc == 0 && cursor[0])
        rc = sp_buf_puts(&path, key ? "&cursor=" : "?cursor=") ||
             sp_buf_put_urlencoded(&path, cursor);
    if (rc != 0)
        sp_error_set(err, SP_E_INTERNAL, "out of memory building a request");
    else
        next = sp__daytona_api(op->client->cfg, req, SP_HTTP_GET, 0, err, "%s", sp_buf_str(&path));
out:
    sp_buf_cleanup(&labels);
    sp_buf_cleanup(&path);
    return next;
}

enum sp_next sp__daytona_step_list(struct sp_op *op,
                                   const struct sp_http_rsp *rsp,
                                   struct sp_http_req *req,
                                   struct sp_error *err)
{
    struct list_ctx *ctx = op->ctx;
    if (rsp == NULL) {
        if ((ctx = sp__list_begin(op, sizeof(*ctx), "label", err)) == NULL)
            return SP_NEXT_FAIL;
        return list_request(op, "", req, err);
    }
    if (!sp_http_ok(rsp))
        return sp__daytona_fail(rsp, "list sandboxes", err);
    if (parse_page(rsp->body.data, rsp->body.len, op->u.list.key, op->u.list.value, op->u.list.out,
                   ctx->cursor, sizeof(ctx->cursor), err) != SP_E_OK)
        return SP_NEXT_FAIL;
    if (ctx->cursor[0] == '\0')
        return SP_NEXT_DONE;
    if (sp__list_next_page(&ctx->pages, LIST_MAX_PAGES, "sandbox list", err) != 0)
        return SP_NEXT_FAIL;
    return list_request(op, ctx->cursor, req, err);
}
