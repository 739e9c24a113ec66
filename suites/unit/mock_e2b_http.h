/* Shared by the E2B mock's raw-HTTP tests (test_mock_e2b.c, test_mock_e2b_envd.c), on top of
 * mock_http.h: E2B request shapes (API calls with the key, envd calls with the routing
 * headers), a byte-exact Connect envelope splitter and the in-process mock fixture. Include
 * after <cmocka.h>. Functions are static inline so each test uses only what it needs. */
#ifndef SP_TEST_MOCK_E2B_HTTP_H
#define SP_TEST_MOCK_E2B_HTTP_H

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "mock.h"
#include "mock_http.h"

#define KEY "e2b_0123456789abcdef0123456789abcdef01234567"

static struct sp_mock *g_mock;

/* One request, without asserting (usable from any thread). hdrs is NULL-terminated
 * ("Name: value", at most 14); path starts with '/'; timeout_ms 0 = 30 s. out is
 * initialised here and freed by the caller with rsp_free. */
static inline CURLcode req_timed(const char *method,
                                 const char *path,
                                 const char *const *hdrs,
                                 const void *body,
                                 size_t len,
                                 long timeout_ms,
                                 struct rsp *out)
{
    char url[2048];
    const char *all[16];
    size_t n = 0;
    snprintf(url, sizeof url, "%s%s", sp_mock_url(g_mock), path);
    for (size_t i = 0; hdrs && hdrs[i] && n < 14; i++)
        all[n++] = hdrs[i];
    all[n++] = "Expect:"; /* no 100-continue round trip for large bodies */
    all[n] = NULL;
    struct http_req q = {.method = method,
                         .url = url,
                         .headers = all,
                         .body = body,
                         .len = len,
                         .timeout_ms = timeout_ms};
    rsp_init(out);
    return http_perform(&q, out);
}

static inline void req(const char *method,
                       const char *path,
                       const char *const *hdrs,
                       const void *body,
                       size_t len,
                       struct rsp *out)
{
    assert_int_equal(req_timed(method, path, hdrs, body, len, 0, out), CURLE_OK);
}

static inline cJSON *rsp_json(const struct rsp *r)
{
    cJSON *j = cJSON_ParseWithLength(r->body.data ? r->body.data : "", r->body.len);
    assert_non_null(j);
    return j;
}

/* An E2B error body: {"code": status, "message": "..."} with code == the HTTP status. */
static inline void assert_api_error(const struct rsp *r, long status, const char *msg_part)
{
    assert_int_equal(r->status, status);
    cJSON *j = rsp_json(r);
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(j, "code");
    assert_true(cJSON_IsNumber(code));
    assert_int_equal(code->valueint, status);
    assert_non_null(jstr(j, "message"));
    if (msg_part)
        assert_non_null(strstr(jstr(j, "message"), msg_part));
    cJSON_Delete(j);
}

static inline void api(const char *method, const char *path, const char *json, struct rsp *out)
{
    const char *hdrs[] = {"X-API-Key: " KEY, "Content-Type: application/json", NULL};
    req(method, path, hdrs, json, json ? strlen(json) : 0, out);
}

struct sbx {
    char id[64];
    char token[128];
};

static inline void create(const char *body, struct sbx *out)
{
    struct rsp r;
    api("POST", "/sandboxes", body, &r);
    assert_int_equal(r.status, 201);
    cJSON *j = rsp_json(&r);
    struct sbx made = {0};
    const char *id = jstr(j, "sandboxID"), *tok = jstr(j, "envdAccessToken");
    assert_non_null(id);
    snprintf(made.id, sizeof made.id, "%s", id ? id : "");
    snprintf(made.token, sizeof made.token, "%s", tok ? tok : "");
    *out = made;
    cJSON_Delete(j);
    rsp_free(&r);
}

/* An envd request on the main port, routed by E2b-Sandbox-Id/-Port. */
static inline CURLcode envd_timed(const struct sbx *s,
                                  const char *method,
                                  const char *path,
                                  const char *ctype,
                                  const char *extra,
                                  const void *body,
                                  size_t len,
                                  long timeout_ms,
                                  struct rsp *out)
{
    char id[128], tok[200], ct[128];
    snprintf(id, sizeof id, "E2b-Sandbox-Id: %s", s->id);
    snprintf(tok, sizeof tok, "X-Access-Token: %s", s->token);
    snprintf(ct, sizeof ct, "Content-Type: %s", ctype ? ctype : "application/json");
    const char *hdrs[] = {
        id,  "E2b-Sandbox-Port: 49983", ct, s->token[0] ? tok : extra, s->token[0] ? extra : NULL,
        NULL};
    return req_timed(method, path, hdrs, body, len, timeout_ms, out);
}

static inline void envd(const struct sbx *s,
                        const char *method,
                        const char *path,
                        const char *ctype,
                        const char *extra,
                        const void *body,
                        size_t len,
                        struct rsp *out)
{
    assert_int_equal(envd_timed(s, method, path, ctype, extra, body, len, 0, out), CURLE_OK);
}

static inline void rpc(const struct sbx *s, const char *method, const char *json, struct rsp *out)
{
    envd(s, "POST", method, NULL, NULL, json, strlen(json), out);
}

/* --- envelopes ----------------------------------------------------------------------------- */

struct envelope {
    unsigned flags;
    char json[4096];
};

/* Splits a Connect stream body into envelopes, checking every length byte for byte. */
static inline size_t split_envelopes(const struct sp_buf *b, struct envelope *out, size_t max)
{
    size_t n = 0, off = 0;
    const unsigned char *p = (const unsigned char *)b->data;
    while (off < b->len) {
        assert_true(b->len - off >= 5);
        assert_true(n < max);
        size_t len = (size_t)p[off + 1] << 24 | (size_t)p[off + 2] << 16 | (size_t)p[off + 3] << 8 |
                     p[off + 4];
        assert_true(off + 5 + len <= b->len);
        assert_true(len < sizeof out[n].json);
        out[n].flags = p[off];
        memcpy(out[n].json, p + off + 5, len);
        out[n].json[len] = '\0';
        off += 5 + len;
        n++;
    }
    return n;
}

/* process.Start of `bash -l -c cmd`; returns how the transfer ended (timeout_ms 0 = 30 s). */
static inline CURLcode start_timed(const struct sbx *s,
                                   const char *cmd,
                                   const char *extra_header,
                                   long timeout_ms,
                                   struct rsp *out)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *proc = cJSON_AddObjectToObject(root, "process");
    cJSON_AddStringToObject(proc, "cmd", "/bin/bash");
    const char *args[] = {"-l", "-c", cmd};
    cJSON_AddItemToObject(proc, "args", cJSON_CreateStringArray(args, 3));
    cJSON_AddBoolToObject(root, "stdin", 0);
    char *json = cJSON_PrintUnformatted(root);
    size_t n = strlen(json);
    char *body = malloc(n + 5);
    body[0] = 0, body[1] = (char)(n >> 24), body[2] = (char)(n >> 16);
    body[3] = (char)(n >> 8), body[4] = (char)n;
    memcpy(body + 5, json, n);
    CURLcode rc = envd_timed(s, "POST", "/process.Process/Start", "application/connect+json",
                             extra_header, body, n + 5, timeout_ms, out);
    free(body);
    cJSON_free(json);
    cJSON_Delete(root);
    return rc;
}

static inline void
start(const struct sbx *s, const char *cmd, const char *extra_header, struct rsp *out)
{
    assert_int_equal(start_timed(s, cmd, extra_header, 0, out), CURLE_OK);
}

static inline unsigned start_pid(const struct envelope *e)
{
    unsigned pid = 0;
    assert_int_equal(e->flags, 0);
    assert_int_equal(sscanf(e->json, "{\"event\":{\"start\":{\"pid\":%u}}}", &pid), 1);
    return pid;
}

/* --- fixtures ------------------------------------------------------------------------------ */

static inline int group_setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_ALL);
    struct sp_mock_config cfg = {.vendor = "e2b", .key = KEY, .has_latency = true, .quiet = true};
    struct sp_error err = {0};
    return sp_mock_start(&cfg, &g_mock, &err) == SP_E_OK ? 0 : -1;
}

static inline int group_teardown(void **state)
{
    (void)state;
    sp_mock_stop(g_mock);
    curl_global_cleanup();
    return 0;
}

#endif
