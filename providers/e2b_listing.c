/* E2B's `list` step, for `sandprobe sweep`: GET /v2/sandboxes (running and paused, filtered
 * by metadata when a label is given), every page (X-Next-Token), into an sp_list.
 * spec/e2b-modal.md A2. */
#include "e2b.h"
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_MAX_PAGES 100

struct list_ctx {
    char next_token[512];
    int pages;
};

/* --- the wire format ------------------------------------------------------------------------ */

/* One ListedSandbox into l. A filtered list returning a sandbox whose metadata lacks the pair
 * is a protocol error: the server ignored the filter, and a sweep must not act on it. */
static int add_item(
    const cJSON *item, const char *key, const char *value, struct sp_list *l, struct sp_error *err)
{
    static const char what[] = "E2B ListedSandbox";
    char id[128] = "", state[32] = "";
    const char *started = NULL;
    struct sp_kv md;
    sp_kv_init(&md);
    int rc = -1;
    if (!cJSON_IsObject(item)) {
        sp_error_set(err, SP_E_PROTOCOL, "%s: list item is not an object", what);
    } else if (sp_json_copy_str(item, "sandboxID", true, id, sizeof(id), what, err) == 0 &&
               sp_json_copy_str(item, "state", false, state, sizeof(state), what, err) == 0 &&
               sp_json_get_str(item, "startedAt", false, &started, what, err) == 0 &&
               sp_json_get_kv(item, "metadata", false, &md, what, err) == 0) {
        if (id[0] == '\0')
            sp_error_set(err, SP_E_PROTOCOL, "%s: empty sandboxID", what);
        else if (sp__list_check_filtered(&md, key, value, "metadata", id, err) != SP_E_OK)
            rc = -1;
        else if (sp__list_add(l, id, state, sp__parse_rfc3339(started), &md) != 0)
            sp_error_set(err, SP_E_INTERNAL, "out of memory");
        else
            rc = 0;
    }
    sp_kv_cleanup(&md);
    return rc;
}

static int parse_page(const char *body,
                      size_t len,
                      const char *key,
                      const char *value,
                      struct sp_list *l,
                      struct sp_error *err)
{
    cJSON *root = sp_json_parse_type(body, len, cJSON_Array, "E2B sandbox list", err);
    if (root == NULL)
        return -1;
    int rc = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, root)
    {
        if ((rc = add_item(item, key, value, l, err)) != 0)
            break;
    }
    cJSON_Delete(root);
    return rc;
}

int sp__e2b_next_token(const struct sp_http_rsp *rsp,
                       char *token,
                       size_t len,
                       int *pages,
                       int max,
                       struct sp_error *err)
{
    const char *next = sp_http_rsp_header(rsp, "X-Next-Token");
    if (next == NULL || next[0] == '\0')
        return 0;
    if (strlen(next) >= len) {
        sp_error_set(err, SP_E_PROTOCOL, "sandbox list: X-Next-Token is longer than %zu bytes",
                     len - 1);
        return -1;
    }
    if (sp__list_next_page(pages, max, "sandbox list", err) != 0)
        return -1;
    snprintf(token, len, "%s", next);
    return 1;
}

/* --- the step machine ----------------------------------------------------------------------- */

/* GET /v2/sandboxes?metadata=<urlencoded "k=v", k and v encoded>&state=...&nextToken=... */
static enum sp_next list_request(struct sp_op *op,
                                 const struct list_ctx *ctx,
                                 struct sp_http_req *req,
                                 struct sp_error *err)
{
    const struct e2b_cfg *cfg = op->client->cfg;
    struct sp_buf pair, url;
    sp_buf_init(&pair, 0);
    sp_buf_init(&url, 0);
    int rc = sp_buf_printf(&url, "%s/v2/sandboxes?state=running,paused&limit=100", cfg->api_url);
    if (rc == 0 && op->u.list.key) {
        rc = sp_buf_put_urlencoded(&pair, op->u.list.key) || sp_buf_puts(&pair, "=") ||
             sp_buf_put_urlencoded(&pair, op->u.list.value) || sp_buf_puts(&url, "&metadata=") ||
             sp_buf_put_urlencoded(&url, sp_buf_str(&pair));
    }
    if (rc == 0 && ctx->next_token[0])
        rc = sp_buf_puts(&url, "&nextToken=") || sp_buf_put_urlencoded(&url, ctx->next_token);
    rc = rc || sp_http_req_url(req, SP_HTTP_GET, "%s", sp_buf_str(&url)) ||
         sp_http_req_header(req, "X-API-Key", "%s", cfg->api_key);
    sp_buf_cleanup(&pair);
    sp_buf_cleanup(&url);
    if (rc == 0)
        return SP_NEXT_REQUEST;
    sp_error_set(err, SP_E_INTERNAL, "out of memory building a request");
    return SP_NEXT_FAIL;
}

enum sp_next sp__e2b_step_list(struct sp_op *op,
                               const struct sp_http_rsp *rsp,
                               struct sp_http_req *req,
                               struct sp_error *err)
{
    struct list_ctx *ctx = op->ctx;
    if (rsp == NULL) {
        if ((ctx = sp__list_begin(op, sizeof(*ctx), "metadata", err)) == NULL)
            return SP_NEXT_FAIL;
        return list_request(op, ctx, req, err);
    }
    if (!sp_http_ok(rsp))
        return sp__e2b_api_fail(rsp, err);
    if (parse_page(rsp->body.data, rsp->body.len, op->u.list.key, op->u.list.value, op->u.list.out,
                   err) != 0)
        return SP_NEXT_FAIL;
    int more = sp__e2b_next_token(rsp, ctx->next_token, sizeof(ctx->next_token), &ctx->pages,
                                  LIST_MAX_PAGES, err);
    if (more <= 0)
        return more == 0 ? SP_NEXT_DONE : SP_NEXT_FAIL;
    return list_request(op, ctx, req, err);
}
