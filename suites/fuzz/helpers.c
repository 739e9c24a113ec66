/* The preambles the fuzz targets share (declared in fuzz.h): the entry point of a parser
 * target, and for the mock targets a mock started in-process with a curl handle to talk to
 * it over loopback (HTTP/1.1, or HTTP/2 with prior knowledge for gRPC), the request helpers
 * and the clean-up of what fuzzed bodies created. Linked into every target, with libFuzzer or
 * with replay.c. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "fuzz.h"
#include "mock.h"
#include "provider.h"

int fz_run_parser(const uint8_t *data, size_t size, unsigned n, fz_parse_fn parse)
{
    struct fz f = {data, size};
    unsigned which = fz_byte(&f) % n;
    char *body = malloc(f.n + 1);
    if (body == NULL)
        return 0;
    memcpy(body, f.p, f.n);
    body[f.n] = '\0';
    struct sp_error err;
    sp_error_clear(&err);
    parse(which, body, f.n, &err);
    free(body);
    return 0;
}

/* --- mocks ------------------------------------------------------------------------------- */

#define MAX_MOCKS 4
static struct fz_mock *started[MAX_MOCKS];
static int n_started;

static void stop_all(void)
{
    for (int i = 0; i < n_started; i++) {
        curl_easy_cleanup(started[i]->curl);
        sp_mock_stop(started[i]->m);
    }
}

void fz_mock_start(struct fz_mock *fm, const char *vendor)
{
    struct sp_mock_config cfg = {.vendor = vendor, .quiet = true, .has_latency = true};
    struct sp_error err;
    if (n_started == 0) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        atexit(stop_all);
    }
    fm->curl = curl_easy_init();
    if (n_started == MAX_MOCKS || fm->curl == NULL ||
        sp_mock_start(&cfg, &fm->m, &err) != SP_E_OK) {
        fprintf(stderr, "fuzz: cannot start the %s mock: %s\n", vendor, err.msg);
        abort();
    }
    started[n_started++] = fm;
    snprintf(fm->base, sizeof(fm->base), "http://127.0.0.1:%u", sp_mock_port(fm->m));
}

static size_t sink(char *p, size_t size, size_t n, void *user)
{
    if (user)
        sp_buf_append(user, p, size * n);
    return size * n;
}

/* "Name: value\r\n" lines (trailers come the same way) into the kv, names as sent. */
static size_t on_field(char *p, size_t size, size_t n, void *user)
{
    size_t len = size * n;
    const char *colon = memchr(p, ':', len);
    if (user && colon && colon > p) {
        char k[128], v[1024];
        size_t kl = (size_t)(colon - p), vl = len - kl - 1;
        const char *vp = colon + 1;
        while (vl > 0 && (*vp == ' ' || *vp == '\t'))
            vp++, vl--;
        while (vl > 0 && (vp[vl - 1] == '\r' || vp[vl - 1] == '\n'))
            vl--;
        if (kl < sizeof(k) && vl < sizeof(v)) {
            memcpy(k, p, kl);
            k[kl] = '\0';
            memcpy(v, vp, vl);
            v[vl] = '\0';
            sp_kv_add(user, k, v);
        }
    }
    return len;
}

long fz_http(struct fz_mock *fm,
             const char *method,
             const char *path,
             const char *const *headers,
             const char *ctype,
             const void *body,
             size_t len,
             struct sp_buf *out,
             struct sp_kv *fields)
{
    char url[4096], ct[160];
    if (snprintf(url, sizeof(url), "%s%s", fm->base, path) >= (int)sizeof(url))
        return -1;
    struct curl_slist *h = NULL;
    for (size_t i = 0; headers && headers[i]; i++)
        h = curl_slist_append(h, headers[i]);
    if (ctype) {
        snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
        h = curl_slist_append(h, ct);
    }
    CURL *c = fm->curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_field);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, fields);
    if (fm->h2) {
        curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
        /* libcurl 7.88's easy interface fails the second request on a reused h2c connection
         * ("Error in the HTTP2 framing layer", before sending it; nghttpd gets the same):
         * one connection per request. */
        curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
    }
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, len ? body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
    }
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    return status;
}

long fz_http_rest(struct fz_mock *fm,
                  const char *method,
                  const char *path,
                  const char *const *headers,
                  const char *ctype,
                  const struct fz *f)
{
    if (ctype == NULL || strstr(ctype, "multipart") == NULL)
        return fz_http(fm, method, path, headers, ctype, f->p ? (const void *)f->p : "", f->n, NULL,
                       NULL);
    struct sp_buf b;
    sp_buf_init(&b, 0);
    sp_buf_puts(&b, "--B\r\n");
    sp_buf_append(&b, f->p, f->n);
    long status = fz_http(fm, method, path, headers, ctype, b.data, b.len, NULL, NULL);
    sp_buf_cleanup(&b);
    return status;
}

int fz_pick_route(struct fz *f, size_t n_routes, char *path, size_t len)
{
    unsigned pick = fz_byte(f);
    if (pick < 0x80)
        return (int)(pick % n_routes);
    fz_any_path(f, path, len);
    return -1;
}

bool fz_mock_sweep_due(struct fz_mock *fm)
{
    return ++fm->inputs % 128 == 0;
}

void fz_route_path(char *out, size_t len, const char *pattern, const char *id)
{
    const char *hole = strstr(pattern, "%s");
    if (hole)
        snprintf(out, len, "%.*s%s%s", (int)(hole - pattern), pattern, id, hole + 2);
    else
        snprintf(out, len, "%s", pattern);
}

void fz_any_path(struct fz *f, char *out, size_t len)
{
    char raw[1025];
    fz_str(f, raw, 1024);
    size_t n = 0;
    out[n++] = '/';
    for (const char *p = raw; *p && n + 4 < len; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch <= ' ' || ch >= 0x7f || ch == '#')
            n += (size_t)snprintf(out + n, 4, "%%%02X", ch);
        else
            out[n++] = (char)ch;
    }
    out[n] = '\0';
}

void fz_json_str(const struct sp_buf *b, const char *key, char *out, size_t len)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "\"%s\":\"", key);
    const char *p = strstr(sp_buf_str(b), pat);
    size_t n = p ? strcspn(p + strlen(pat), "\"") : 0;
    snprintf(out, len, "%.*s", (int)n, p ? p + strlen(pat) : "");
}

void fz_each_created(struct fz_mock *fm,
                     const char *vendor,
                     void (*fn)(struct fz_mock *fm, const char *id))
{
    struct sp_client *c;
    struct sp_list l;
    struct sp_error err;
    sp_list_init(&l);
    if (sp_client_new(vendor, sp_mock_env(fm->m), NULL, &c, &err) != SP_E_OK)
        abort();
    if (sp_sandbox_list(c, NULL, NULL, &l, &err) == SP_E_OK) {
        for (size_t j = 0; j < l.n; j++)
            if (sp_kv_get(&l.items[j].labels, "keep") == NULL)
                fn(fm, l.items[j].id);
    }
    sp_list_cleanup(&l);
    sp_client_free(c);
}

void fz_sleep_ms(long ms)
{
    nanosleep(&(struct timespec){ms / 1000, (ms % 1000) * 1000000L}, NULL);
}
