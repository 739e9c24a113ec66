/* Shared by the unit tests that drive a provider's step functions by hand, with no network
 * (test_action_server_parse.c, test_daytona_parse.c, test_e2b_parse.c): filling the
 * response a step is fed, and reading the request it built. Include after <cmocka.h>. */
#ifndef SP_TEST_STEP_FIXTURE_H
#define SP_TEST_STEP_FIXTURE_H

#include <string.h>

#include <cjson/cJSON.h>

#include "http.h"

/* Makes r a response with this status and len bytes of body (and no headers). */
static inline void rsp_set(struct sp_http_rsp *r, int status, const void *body, size_t len)
{
    sp_http_rsp_reset(r);
    r->status = status;
    assert_int_equal(sp_buf_append(&r->body, body, len), 0);
}

static inline void rsp_json(struct sp_http_rsp *r, int status, const char *body)
{
    rsp_set(r, status, body, strlen(body));
}

/* The JSON body of the request, parsed (caller deletes). */
static inline cJSON *req_json(const struct sp_http_req *q)
{
    cJSON *j = cJSON_ParseWithLength(q->body.data, q->body.len);
    assert_non_null(j);
    return j;
}

static inline const char *req_url(const struct sp_http_req *q)
{
    return sp_buf_str(&q->url);
}

#endif
