/* The E2B mock's lifecycle calls on an existing sandbox (spec/e2b-modal.md A2): setTimeout,
 * refreshes, pause, connect and the deprecated resume. Timeouts are "x seconds from the time
 * of the request"; setTimeout replaces the TTL, connect and refreshes only extend it. Pause
 * and resume block for the latency model's stop and start delays, as the real calls return
 * once the sandbox got there. */
#include "e2b_int.h"

#include <string.h>

#include "json.h"

/* Reads {"<key>": seconds} from the body into *secs (left alone when optional and absent).
 * Replies 400 and returns false on a missing required field, a bad type or a value outside
 * 0..max. */
static bool
body_seconds(struct mock_req *r, const char *key, bool required, int64_t max, int64_t *secs)
{
    struct sp_error err = {0};
    if (r->body.len == 0 && !required)
        return true;
    cJSON *root = sp_json_parse_type(r->body.data, r->body.len, cJSON_Object, "request body", &err);
    int rc = root ? sp_json_get_int(root, key, required, secs, "request body", &err) : -1;
    cJSON_Delete(root);
    if (rc == 0 && (*secs < 0 || *secs > max))
        rc = (sp_error_set(&err, SP_E_PROTOCOL, "field '%s' must be between 0 and %lld", key,
                           (long long)max),
              -1);
    if (rc != 0)
        e2b_reply_error(r, 400, "Error when parsing request: %s", err.msg);
    return rc == 0;
}

void e2b_set_timeout(struct mock_req *r)
{
    int64_t secs = 0;
    if (!body_seconds(r, "timeout", true, INT32_MAX, &secs))
        return;
    struct mock_sandbox *sb = e2b_path_sandbox(r);
    if (sb == NULL)
        return;
    e2b_set_end(r->mock, sb, mock_wall_ms() + secs * 1000, false);
    mock_reply_empty(r, 204);
    mock_store_put(mock_store_of(r->mock), sb);
}

void e2b_refresh(struct mock_req *r)
{
    int64_t secs = E2B_DEFAULT_TIMEOUT_S;
    if (!body_seconds(r, "duration", false, 3600, &secs))
        return;
    struct mock_sandbox *sb = e2b_path_sandbox(r);
    if (sb == NULL)
        return;
    e2b_set_end(r->mock, sb, mock_wall_ms() + secs * 1000, true);
    mock_reply_empty(r, 204);
    mock_store_put(mock_store_of(r->mock), sb);
}

/* 204 once paused; 409 when it is paused already (the SDK's pause() then returns false). */
void e2b_pause(struct mock_req *r)
{
    struct mock_sandbox *sb = e2b_path_sandbox(r);
    if (sb == NULL)
        return;
    struct mock_store *s = mock_store_of(r->mock);
    enum mock_phase p = mock_sandbox_phase(s, sb);
    if (p == MOCK_RUNNING) {
        mock_sandbox_transition(s, sb, MOCK_STOPPING, MOCK_PAUSED, MOCK_DELAY_STOP);
        e2b_wait_leaves(s, sb, MOCK_STOPPING);
        mock_reply_empty(r, 204);
    } else if (e2b_is_running(p)) {
        e2b_reply_error(r, 409, "Sandbox \"%s\" is not ready to be paused", sb->id);
    } else {
        e2b_reply_error(r, 409, "Error pausing sandbox - sandbox \"%s\" is already paused", sb->id);
    }
    mock_store_put(s, sb);
}

/* Resumes a paused sandbox with a fresh timeout. Returns false, having replied, when it did
 * not come back. */
static bool resume_paused(struct mock_req *r, struct mock_sandbox *sb, int64_t timeout_s)
{
    struct mock_store *s = mock_store_of(r->mock);
    enum mock_phase p = e2b_wait_leaves(s, sb, MOCK_STOPPING);
    if (p == MOCK_PAUSED || p == MOCK_STOPPED) {
        mock_sandbox_transition(s, sb, MOCK_STARTING, MOCK_RUNNING, MOCK_DELAY_START);
        p = e2b_wait_leaves(s, sb, MOCK_STARTING);
    }
    if (p != MOCK_RUNNING) {
        e2b_reply_error(r, 504, "Sandbox \"%s\" could not be resumed", sb->id);
        return false;
    }
    e2b_set_end(r->mock, sb, mock_wall_ms() + timeout_s * 1000, false);
    return true;
}

static void reply_sandbox(struct mock_req *r, int status, struct mock_sandbox *sb)
{
    struct e2b_sandbox snap;
    if (e2b_snapshot(r->mock, sb, &snap))
        mock_reply_cjson(r, status, e2b_build_sandbox(sb, &snap));
    else
        e2b_reply_not_found(r, sb->id);
}

/* 200 with the sandbox when it runs (the TTL is only extended), 201 when it was resumed. */
static void connect_sandbox(struct mock_req *r, bool v2)
{
    int64_t secs = E2B_V2_TIMEOUT_S;
    if (!body_seconds(r, "timeout", !v2, INT32_MAX, &secs))
        return;
    struct mock_sandbox *sb = e2b_path_sandbox(r);
    if (sb == NULL)
        return;
    struct mock_store *s = mock_store_of(r->mock);
    if (e2b_is_running(mock_sandbox_phase(s, sb))) {
        e2b_set_end(r->mock, sb, mock_wall_ms() + secs * 1000, true);
        reply_sandbox(r, 200, sb);
    } else if (resume_paused(r, sb, secs)) {
        reply_sandbox(r, 201, sb);
    }
    mock_store_put(s, sb);
}

void e2b_connect(struct mock_req *r)
{
    connect_sandbox(r, false);
}

void e2b_connect_v2(struct mock_req *r)
{
    connect_sandbox(r, true);
}

/* The deprecated resume: 201 when resumed, 409 when it already runs. */
void e2b_resume(struct mock_req *r)
{
    int64_t secs = E2B_DEFAULT_TIMEOUT_S;
    if (!body_seconds(r, "timeout", false, INT32_MAX, &secs))
        return;
    struct mock_sandbox *sb = e2b_path_sandbox(r);
    if (sb == NULL)
        return;
    struct mock_store *s = mock_store_of(r->mock);
    if (e2b_is_running(mock_sandbox_phase(s, sb)))
        e2b_reply_error(r, 409, "Sandbox \"%s\" is already running", sb->id);
    else if (resume_paused(r, sb, secs))
        reply_sandbox(r, 201, sb);
    mock_store_put(s, sb);
}
