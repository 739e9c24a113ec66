/* Shared by the unit tests that drive a provider's step functions by hand, with no network
 * (test_action_server_parse.c, test_daytona_parse.c, test_e2b_parse.c, test_runloop_parse.c,
 * test_modal_steps.c): the bench a step runs on, filling the response a step is fed, and
 * reading the request it built. Include after <cmocka.h>. */
#ifndef SP_TEST_STEP_FIXTURE_H
#define SP_TEST_STEP_FIXTURE_H

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "http.h"
#include "provider_int.h"

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

/* A step machine's bench: the client, the request a step fills, the response it is fed, the
 * operation, and a sandbox handle; all freed by step_fx_teardown. */
struct step_fx {
    struct sp_client *client;
    struct sp_http_req req;
    struct sp_http_rsp rsp;
    struct sp_op op;
    struct sp_sandbox *sb;
};

/* *state = a bench around client c, which it takes over (a cmocka setup's body); -1 when c
 * is NULL (the client could not be made) or memory runs out. */
static inline int step_fx_new(void **state, struct sp_client *c)
{
    struct step_fx *f = c ? calloc(1, sizeof(*f)) : NULL;
    if (f == NULL) {
        sp_client_free(c);
        return -1;
    }
    f->client = c;
    sp_http_req_init(&f->req);
    sp_http_rsp_init(&f->rsp);
    *state = f;
    return 0;
}

/* Ends the operation as the driver does: its private context freed, the op reusable. */
static inline void step_fx_op_done(struct step_fx *f)
{
    if (f->op.ctx_free)
        f->op.ctx_free(f->op.ctx);
    f->op.ctx = NULL;
    f->op.ctx_free = NULL;
}

static inline int step_fx_teardown(void **state)
{
    struct step_fx *f = *state;
    step_fx_op_done(f);
    sp_http_req_cleanup(&f->req);
    sp_http_rsp_cleanup(&f->rsp);
    sp_sandbox_free(f->sb);
    sp_client_free(f->client);
    free(f);
    return 0;
}

/* Calls step fn: first (body NULL) with no response, else fed a JSON response of status. */
static inline enum sp_next
step_fx_run(struct step_fx *f, sp_step_fn fn, int status, const char *body)
{
    sp_http_req_reset(&f->req);
    if (body == NULL)
        return fn(&f->op, NULL, &f->req, &f->op.err);
    rsp_json(&f->rsp, status, body);
    return fn(&f->op, &f->rsp, &f->req, &f->op.err);
}

/* A client of provider with env made of name, value pairs (ended by a NULL name; a pair with
 * a NULL value is left out) and opts. */
static inline enum sp_err step_fx_client(const char *provider,
                                         const char *const *pairs,
                                         const struct sp_client_opts *opts,
                                         struct sp_client **out,
                                         struct sp_error *err)
{
    struct sp_kv env;
    sp_kv_init(&env);
    for (size_t i = 0; pairs[i] != NULL; i += 2)
        if (pairs[i + 1] != NULL)
            sp_kv_set(&env, pairs[i], pairs[i + 1]);
    sp_error_clear(err);
    enum sp_err rc = sp_client_new(provider, &env, opts, out, err);
    sp_kv_cleanup(&env);
    return rc;
}

/* The outcome of a configuration that must fail: a `config` error mentioning msg_part, no
 * client, and never the secret in the message. */
static inline void step_fx_config_error(enum sp_err rc,
                                        const struct sp_client *c,
                                        const struct sp_error *err,
                                        const char *msg_part,
                                        const char *secret)
{
    assert_int_equal(rc, SP_E_CONFIG);
    assert_null(c);
    if (strstr(err->msg, msg_part) == NULL)
        fail_msg("'%s' does not mention '%s'", err->msg, msg_part);
    assert_null(strstr(err->msg, secret));
}

#endif
