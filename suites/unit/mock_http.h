/* Shared by the mock tests that speak raw HTTP to an in-process mock (test_mock_*.c): one
 * libcurl easy request that collects status, body and headers, and the small JSON and timing
 * helpers every one of them needs. The vendor fixtures (mock_daytona_http.h,
 * mock_e2b_http.h) are built on it. Include after <cmocka.h>. Functions are static inline so
 * each test uses only what it needs. */
#ifndef SP_TEST_MOCK_HTTP_H
#define SP_TEST_MOCK_HTTP_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "kv.h"

/* A response: status, body and every header (repeated names kept, in order). */
struct rsp {
    long status;
    struct sp_buf body;
    struct sp_kv headers;
};

static inline void rsp_init(struct rsp *r)
{
    r->status = 0;
    sp_buf_init(&r->body, 0);
    sp_kv_init(&r->headers);
}

static inline void rsp_free(struct rsp *r)
{
    sp_buf_cleanup(&r->body);
    sp_kv_cleanup(&r->headers);
}

/* The value of header `name` (any case), or "" when the response has none. */
static inline const char *rsp_header(const struct rsp *r, const char *name)
{
    const char *v = sp_kv_geti(&r->headers, name);
    return v ? v : "";
}

static inline size_t on_body(char *p, size_t size, size_t n, void *user)
{
    sp_buf_append(user, p, size * n);
    return size * n;
}

static inline size_t on_header(char *p, size_t size, size_t n, void *user)
{
    size_t len = size * n;
    char *colon = memchr(p, ':', len);
    if (colon != NULL) {
        char name[128], val[1024];
        int vl = (int)(len - (size_t)(colon + 1 - p));
        snprintf(name, sizeof name, "%.*s", (int)(colon - p), p);
        snprintf(val, sizeof val, "%.*s", vl, colon + 1);
        char *v = val + strspn(val, " ");
        v[strcspn(v, "\r\n")] = '\0';
        sp_kv_add(user, name, v);
    }
    return len;
}

struct http_req {
    const char *method;
    const char *url;
    const char *const *headers; /* NULL-terminated "Name: value" lines, or NULL */
    const void *body;           /* len bytes sent as the body, or NULL */
    size_t len;
    curl_mime *mime; /* a multipart body instead, or NULL */
    long timeout_ms; /* 0 = 30 s */
    bool h2c;        /* HTTP/2 with prior knowledge (the Modal mock), else HTTP/1.1 */
};

/* Sends q and fills out (initialised with rsp_init; its previous contents are dropped).
 * Asserts nothing, so it may run on any thread; returns how the transfer ended. */
static inline CURLcode http_perform(const struct http_req *q, struct rsp *out)
{
    CURL *c = curl_easy_init();
    struct curl_slist *list = NULL;
    out->status = 0;
    sp_buf_reset(&out->body);
    sp_kv_clear(&out->headers);
    for (size_t i = 0; q->headers && q->headers[i]; i++)
        list = curl_slist_append(list, q->headers[i]);
    curl_easy_setopt(c, CURLOPT_URL, q->url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &out->headers);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, q->timeout_ms > 0 ? q->timeout_ms : 30000L);
    if (q->h2c)
        curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
    if (q->body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)q->len);
    }
    if (q->mime != NULL)
        curl_easy_setopt(c, CURLOPT_MIMEPOST, q->mime);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    curl_slist_free_all(list);
    curl_easy_cleanup(c);
    return rc;
}

/* A multipart body with one part "file" named `filename`; free with curl_mime_free. `c` is
 * any easy handle (libcurl 7.88 wants one to create a mime). */
static inline curl_mime *mime_one_file(CURL *c, const char *filename, const void *data, size_t len)
{
    curl_mime *mime = curl_mime_init(c);
    curl_mimepart *part = curl_mime_addpart(mime);
    curl_mime_name(part, "file");
    curl_mime_filename(part, filename);
    curl_mime_data(part, data, len);
    return mime;
}

static inline const char *jstr(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static inline void assert_jstr(const cJSON *o, const char *key, const char *want)
{
    const char *got = jstr(o, key);
    assert_non_null(got);
    assert_string_equal(got, want);
}

static inline void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The request every vendor fixture sends: url (absolute), with "Authorization: Bearer
 * <bearer>" when bearer is set, a Host header when host is set, one extra header line when
 * extra is set, and the JSON content type when there is a JSON body (else mime, when set).
 * The response goes to r and its body, parsed, to *json (the previous one deleted); returns
 * the status. */
static inline long json_send(struct rsp *r,
                             cJSON **json,
                             const char *method,
                             const char *url,
                             const char *body,
                             const char *bearer,
                             const char *host,
                             const char *extra,
                             curl_mime *mime)
{
    char bearer_hdr[256], host_hdr[256];
    const char *hdrs[5];
    size_t n = 0;
    if (bearer) {
        snprintf(bearer_hdr, sizeof(bearer_hdr), "Authorization: Bearer %s", bearer);
        hdrs[n++] = bearer_hdr;
    }
    if (host) {
        snprintf(host_hdr, sizeof(host_hdr), "Host: %s", host);
        hdrs[n++] = host_hdr;
    }
    if (extra)
        hdrs[n++] = extra;
    if (body)
        hdrs[n++] = "Content-Type: application/json";
    hdrs[n] = NULL;
    struct http_req q = {.method = method,
                         .url = url,
                         .headers = hdrs,
                         .body = body,
                         .len = body ? strlen(body) : 0,
                         .mime = mime};
    assert_int_equal(http_perform(&q, r), CURLE_OK);
    cJSON_Delete(*json);
    *json = cJSON_ParseWithLength(sp_buf_str(&r->body), r->body.len);
    return r->status;
}

#endif
