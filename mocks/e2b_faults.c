/* The E2B mock's refusals a client must cope with: 429 (rate limited) and 503 (no capacity),
 * each with Retry-After in seconds, as the API sends them (the e2b SDK retries a 429 that
 * carries Retry-After and raises ServiceBusyError on a 503). A test arms them with
 *   POST /_sandprobe/faults {"status":429|503,"count":N,"retryAfter":S}   (X-API-Key needed)
 * and the next N authorized control-plane requests are refused that way. The route is the
 * mock's own, not E2B's: it exists so SDK and raw-HTTP tests can reach the refusal paths. */
#include "e2b_int.h"

#include <stdio.h>
#include <string.h>

#include "json.h"

#define E2B_FAULT_MAX_COUNT 1000
#define E2B_FAULT_MAX_AFTER 3600

struct fault_req {
    int64_t status, count, retry_after;
};

static int parse_fault_req(const struct sp_buf *body, struct fault_req *f, struct sp_error *err)
{
    const char *what = "faults request";
    cJSON *root = sp_json_parse_type(body->data, body->len, cJSON_Object, what, err);
    if (root == NULL)
        return -1;
    f->count = 1;
    f->retry_after = 1;
    int rc = sp_json_get_int(root, "status", true, &f->status, what, err);
    if (rc == 0)
        rc = sp_json_get_int(root, "count", false, &f->count, what, err);
    if (rc == 0)
        rc = sp_json_get_int(root, "retryAfter", false, &f->retry_after, what, err);
    cJSON_Delete(root);
    if (rc == 0 && f->status != 429 && f->status != 503)
        rc = (sp_error_set(err, SP_E_PROTOCOL, "%s: status must be 429 or 503", what), -1);
    if (rc == 0 && (f->count < 0 || f->count > E2B_FAULT_MAX_COUNT))
        rc = (sp_error_set(err, SP_E_PROTOCOL, "%s: count must be between 0 and %d", what,
                           E2B_FAULT_MAX_COUNT),
              -1);
    if (rc == 0 && (f->retry_after < 0 || f->retry_after > E2B_FAULT_MAX_AFTER))
        rc = (sp_error_set(err, SP_E_PROTOCOL, "%s: retryAfter must be between 0 and %d", what,
                           E2B_FAULT_MAX_AFTER),
              -1);
    return rc;
}

void e2b_set_faults(struct mock_req *r)
{
    const char *key = mock_req_header(r, "X-API-Key");
    if (key == NULL || strcmp(key, mock_key(r->mock)) != 0) {
        e2b_reply_error(r, 401, "Invalid API key");
        mock_count_unauthorized(r->mock);
        return;
    }
    struct fault_req f = {0};
    struct sp_error err = {0};
    if (parse_fault_req(&r->body, &f, &err) != 0) {
        e2b_reply_error(r, 400, "Error when parsing request: %s", err.msg);
        return;
    }
    struct e2b_state *st = e2b_state_of(r->mock);
    pthread_mutex_lock(&st->lock);
    st->fault_status = (int)f.status;
    st->fault_left = (int)f.count;
    st->fault_retry_after = (int)f.retry_after;
    pthread_mutex_unlock(&st->lock);
    mock_reply_empty(r, 204);
}

bool e2b_fault_take(struct mock_req *r)
{
    struct e2b_state *st = e2b_state_of(r->mock);
    pthread_mutex_lock(&st->lock);
    int status = st->fault_left > 0 ? st->fault_status : 0;
    int after = st->fault_retry_after;
    if (status)
        st->fault_left--;
    pthread_mutex_unlock(&st->lock);
    if (status == 0)
        return false;
    char secs[16];
    snprintf(secs, sizeof secs, "%d", after);
    mock_reply_header(r, "Retry-After", secs);
    if (status == 429)
        e2b_reply_error(r, 429, "Rate limit exceeded, please retry after %d s", after);
    else
        e2b_reply_error(r, 503, "No capacity to place the sandbox right now, retry after %d s",
                        after);
    return true;
}
