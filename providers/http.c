/* Request building and response classification for the sans-IO layer (see http.h). */
#include "http.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *sp_http_method_name(enum sp_method m)
{
    switch (m) {
    case SP_HTTP_GET:
        return "GET";
    case SP_HTTP_POST:
        return "POST";
    case SP_HTTP_PUT:
        return "PUT";
    case SP_HTTP_DELETE:
        return "DELETE";
    case SP_HTTP_PATCH:
        return "PATCH";
    }
    return "GET";
}

void sp_http_req_init(struct sp_http_req *r)
{
    memset(r, 0, sizeof(*r));
    sp_buf_init(&r->url, 8192);
    sp_kv_init(&r->headers);
    sp_buf_init(&r->body, 0);
}

void sp_http_req_cleanup(struct sp_http_req *r)
{
    sp_buf_cleanup(&r->url);
    sp_kv_cleanup(&r->headers);
    sp_buf_cleanup(&r->body);
}

void sp_http_req_reset(struct sp_http_req *r)
{
    sp_buf_reset(&r->url);
    sp_kv_clear(&r->headers);
    sp_buf_reset(&r->body);
    r->method = SP_HTTP_GET;
    r->timeout_ms = 0;
    r->max_response = 0;
    r->http2 = false;
    r->on_chunk = NULL;
    memset(&r->retry, 0, sizeof(r->retry));
    r->boundary[0] = '\0';
}

int sp_http_req_url(struct sp_http_req *r, enum sp_method m, const char *fmt, ...)
{
    char small[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    r->method = m;
    sp_buf_reset(&r->url);
    if (n < 0)
        return -1;
    if ((size_t)n < sizeof(small))
        return sp_buf_append(&r->url, small, (size_t)n);
    char *big = malloc((size_t)n + 1);
    if (big == NULL)
        return -1;
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    int rc = sp_buf_append(&r->url, big, (size_t)n);
    free(big);
    return rc;
}

int sp_http_req_header(struct sp_http_req *r, const char *name, const char *fmt, ...)
{
    char val[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(val, sizeof(val), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(val))
        return -1;
    return sp_kv_add(&r->headers, name, val);
}

int sp_http_req_headers(struct sp_http_req *r, const struct sp_kv *kv)
{
    for (size_t i = 0; kv && i < kv->n; i++) {
        if (sp_kv_add(&r->headers, kv->items[i].key, kv->items[i].val) != 0)
            return -1;
    }
    return 0;
}

int sp_http_req_body(struct sp_http_req *r, const char *content_type, const void *data, size_t len)
{
    sp_buf_reset(&r->body);
    sp_kv_del(&r->headers, "Content-Type");
    if (sp_kv_add(&r->headers, "Content-Type", content_type) != 0)
        return -1;
    return sp_buf_append(&r->body, data, len);
}

int sp_http_req_json(struct sp_http_req *r, const char *json)
{
    return sp_http_req_body(r, "application/json", json, strlen(json));
}

int sp_http_req_multipart_begin(struct sp_http_req *r)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(r->boundary, sizeof(r->boundary), "sandprobe-%08lx%08lx",
             (unsigned long)ts.tv_nsec ^ (unsigned long)(uintptr_t)r, (unsigned long)ts.tv_sec);
    sp_buf_reset(&r->body);
    sp_kv_del(&r->headers, "Content-Type");
    return sp_http_req_header(r, "Content-Type", "multipart/form-data; boundary=%s", r->boundary);
}

/* Quotes are not allowed inside a Content-Disposition parameter; nothing we send needs
 * them, so refuse rather than emit a header the server would misparse. */
static int multipart_part_head(struct sp_http_req *r, const char *name, const char *filename)
{
    if (strpbrk(name, "\"\r\n") || (filename && strpbrk(filename, "\"\r\n")))
        return -1;
    if (sp_buf_printf(&r->body, "--%s\r\nContent-Disposition: form-data; name=\"%s\"", r->boundary,
                      name) != 0)
        return -1;
    if (filename && sp_buf_printf(&r->body,
                                  "; filename=\"%s\"\r\n"
                                  "Content-Type: application/octet-stream",
                                  filename) != 0)
        return -1;
    return sp_buf_puts(&r->body, "\r\n\r\n");
}

int sp_http_req_multipart_field(struct sp_http_req *r, const char *name, const char *value)
{
    if (multipart_part_head(r, name, NULL) != 0 || sp_buf_puts(&r->body, value) != 0)
        return -1;
    return sp_buf_puts(&r->body, "\r\n");
}

int sp_http_req_multipart_file(
    struct sp_http_req *r, const char *name, const char *filename, const void *data, size_t len)
{
    if (multipart_part_head(r, name, filename) != 0 || sp_buf_append(&r->body, data, len) != 0)
        return -1;
    return sp_buf_puts(&r->body, "\r\n");
}

int sp_http_req_multipart_end(struct sp_http_req *r)
{
    return sp_buf_printf(&r->body, "--%s--\r\n", r->boundary);
}

void sp_http_rsp_init(struct sp_http_rsp *r)
{
    memset(r, 0, sizeof(*r));
    sp_kv_init(&r->headers);
    sp_kv_init(&r->trailers);
    sp_buf_init(&r->body, 0);
}

void sp_http_rsp_cleanup(struct sp_http_rsp *r)
{
    sp_kv_cleanup(&r->headers);
    sp_kv_cleanup(&r->trailers);
    sp_buf_cleanup(&r->body);
}

void sp_http_rsp_reset(struct sp_http_rsp *r)
{
    r->status = 0;
    r->transport = SP_E_OK;
    r->transport_msg[0] = '\0';
    r->retry_after_s = 0;
    r->attempts = 0;
    sp_kv_clear(&r->headers);
    sp_kv_clear(&r->trailers);
    sp_buf_reset(&r->body);
}

bool sp_http_ok(const struct sp_http_rsp *rsp)
{
    return rsp->transport == SP_E_OK && rsp->status >= 200 && rsp->status < 300;
}

const char *sp_http_rsp_header(const struct sp_http_rsp *rsp, const char *name)
{
    return sp_kv_geti(&rsp->headers, name);
}

const char *sp_http_rsp_trailer(const struct sp_http_rsp *rsp, const char *name)
{
    return sp_kv_geti(&rsp->trailers, name);
}

enum sp_err sp_http_status_class(int status)
{
    if (status == 401 || status == 403)
        return SP_E_AUTH;
    if (status == 404)
        return SP_E_NOT_FOUND;
    if (status == 409)
        return SP_E_CONFLICT;
    if (status == 429)
        return SP_E_RATE_LIMITED;
    if (status == 408)
        return SP_E_TIMEOUT;
    if (status >= 500)
        return SP_E_PROVIDER;
    return SP_E_PROTOCOL;
}

static void copy_excerpt(const struct sp_buf *body, char *out, size_t outlen)
{
    size_t n = 0;
    for (size_t i = 0; i < body->len && n + 1 < outlen && n < 160; i++) {
        unsigned char c = (unsigned char)body->data[i];
        out[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : ' ';
    }
    out[n] = '\0';
}

enum sp_err sp_http_fail(const struct sp_http_rsp *rsp, const char *message, struct sp_error *err)
{
    if (err == NULL)
        return rsp->transport != SP_E_OK ? rsp->transport : sp_http_status_class(rsp->status);
    if (rsp->transport != SP_E_OK)
        return sp_error_set(err, rsp->transport, "%s", rsp->transport_msg);
    enum sp_err code = sp_http_status_class(rsp->status);
    err->http_status = rsp->status;
    err->retry_after_s = rsp->retry_after_s;
    const char *rid = sp_http_rsp_header(rsp, "x-request-id");
    if (rid == NULL)
        rid = sp_http_rsp_header(rsp, "request-id");
    if (rid)
        snprintf(err->request_id, sizeof(err->request_id), "%s", rid);
    char excerpt[192];
    if (message == NULL || message[0] == '\0') {
        copy_excerpt(&rsp->body, excerpt, sizeof(excerpt));
        message = excerpt[0] ? excerpt : "(empty body)";
    }
    if (code == SP_E_PROTOCOL)
        return sp_error_set(err, code, "unexpected HTTP %d: %s", rsp->status, message);
    return sp_error_set(err, code, "%s", message);
}
