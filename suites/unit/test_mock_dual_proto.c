/* One mock port, two protocols (mocks/h2server.c's sniffing + mhd_transport.c's no_listen
 * server, for vendors with h2c_too: Runloop, whose SDK >= 1.25 speaks h2c by default): over
 * raw sockets, the same mock answers an HTTP/1.1 request and an h2c prior-knowledge request
 * (HPACK through nghttp2's codec only, the framing by hand), refuses a bad key on both, hands
 * query arguments to the handlers on both (list paging), and waits for a preface split across
 * writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <nghttp2/nghttp2.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "mock.h"

struct fx {
    struct sp_mock *m;
    unsigned port;
    char key[128];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct sp_mock_config cfg = {.vendor = "runloop", .quiet = true, .has_latency = true};
    struct sp_error err;
    assert_int_equal(sp_mock_start(&cfg, &f->m, &err), SP_E_OK);
    snprintf(f->key, sizeof(f->key), "%s", sp_kv_get(sp_mock_env(f->m), "RUNLOOP_API_KEY"));
    const char *url = sp_mock_url(f->m);
    f->port = (unsigned)strtoul(strrchr(url, ':') + 1, NULL, 10);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    sp_mock_stop(f->m);
    free(f);
    return 0;
}

static int dial(const struct fx *f)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f->port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

static void send_all(int fd, const void *p, size_t n)
{
    assert_int_equal(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

static bool read_full(int fd, uint8_t *p, size_t n)
{
    for (size_t got = 0; got < n;) {
        ssize_t k = recv(fd, p + got, n - got, 0);
        if (k <= 0)
            return false;
        got += (size_t)k;
    }
    return true;
}

/* HTTP/1.1 with Connection: close; returns the whole answer (status line, headers, body). */
static char *
http1(const struct fx *f, const char *method, const char *path, const char *key, const char *body)
{
    char req[1024];
    int n = snprintf(req, sizeof(req),
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nAuthorization: Bearer %s\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n%s",
                     method, path, f->port, key, strlen(body), body);
    int fd = dial(f);
    send_all(fd, req, (size_t)n);
    size_t cap = 1 << 16, len = 0;
    char *out = calloc(1, cap);
    ssize_t k;
    while (len + 1 < cap && (k = recv(fd, out + len, cap - 1 - len, 0)) > 0)
        len += (size_t)k;
    close(fd);
    return out;
}

static void frame_hdr(uint8_t *h, size_t len, uint8_t type, uint8_t flags, uint32_t sid)
{
    h[0] = (uint8_t)(len >> 16), h[1] = (uint8_t)(len >> 8), h[2] = (uint8_t)len;
    h[3] = type, h[4] = flags;
    h[5] = (uint8_t)(sid >> 24), h[6] = (uint8_t)(sid >> 16), h[7] = (uint8_t)(sid >> 8);
    h[8] = (uint8_t)sid;
}

/* nghttp2_nv wants mutable pointers it never writes through. */
static nghttp2_nv nv_of(const char *k, const char *v)
{
    return (nghttp2_nv){(uint8_t *)(uintptr_t)k, (uint8_t *)(uintptr_t)v, strlen(k), strlen(v),
                        NGHTTP2_NV_FLAG_NONE};
}

/* One GET over h2c on a fresh connection: the preface (split after `split` bytes when > 0),
 * an empty SETTINGS, HEADERS with END_STREAM; reads frames until stream 1 ends. Returns the
 * :status, the body in *body (caller frees). */
static int h2_get(const struct fx *f, const char *path, const char *key, size_t split, char **body)
{
    static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    char auth[160], authority[64];
    snprintf(auth, sizeof(auth), "Bearer %s", key);
    snprintf(authority, sizeof(authority), "127.0.0.1:%u", f->port);
    nghttp2_nv nv[] = {nv_of(":method", "GET"), nv_of(":scheme", "http"), nv_of(":path", path),
                       nv_of(":authority", authority), nv_of("authorization", auth)};
    nghttp2_hd_deflater *def;
    assert_int_equal(nghttp2_hd_deflate_new(&def, 4096), 0);
    uint8_t out[2048];
    ssize_t hl = nghttp2_hd_deflate_hd(def, out + 9, sizeof(out) - 9, nv, 5);
    nghttp2_hd_deflate_del(def);
    assert_true(hl > 0);
    frame_hdr(out, (size_t)hl, NGHTTP2_HEADERS, NGHTTP2_FLAG_END_STREAM | NGHTTP2_FLAG_END_HEADERS,
              1);
    uint8_t settings[9];
    frame_hdr(settings, 0, NGHTTP2_SETTINGS, 0, 0);
    int fd = dial(f);
    if (split > 0) {
        send_all(fd, preface, split);
        nanosleep(&(struct timespec){.tv_nsec = 30 * 1000000}, NULL);
    }
    send_all(fd, preface + split, sizeof(preface) - 1 - split);
    send_all(fd, settings, sizeof(settings));
    send_all(fd, out, 9 + (size_t)hl);
    nghttp2_hd_inflater *inf;
    assert_int_equal(nghttp2_hd_inflate_new(&inf), 0);
    int status = -1;
    size_t blen = 0;
    *body = calloc(1, 1 << 16);
    for (bool ended = false; !ended;) {
        uint8_t h[9];
        assert_true(read_full(fd, h, 9));
        size_t len = (size_t)h[0] << 16 | (size_t)h[1] << 8 | h[2];
        uint32_t sid =
            (uint32_t)(h[5] & 0x7f) << 24 | (uint32_t)h[6] << 16 | (uint32_t)h[7] << 8 | h[8];
        uint8_t *p = malloc(len + 1);
        assert_true(read_full(fd, p, len));
        if (sid == 1 && h[3] == NGHTTP2_HEADERS) {
            uint8_t *in = p;
            size_t left = len;
            for (;;) {
                nghttp2_nv got;
                int fl = 0;
                ssize_t used = nghttp2_hd_inflate_hd2(inf, &got, &fl, in, left, 1);
                assert_true(used >= 0);
                in += used, left -= (size_t)used;
                if (fl & NGHTTP2_HD_INFLATE_EMIT && got.namelen == 7 &&
                    memcmp(got.name, ":status", 7) == 0)
                    status = (int)strtol((const char *)got.value, NULL,
                                         10); /* digits, then a non-digit */
                if (fl & NGHTTP2_HD_INFLATE_FINAL) {
                    nghttp2_hd_inflate_end_headers(inf);
                    break;
                }
                if (used == 0 && !(fl & NGHTTP2_HD_INFLATE_EMIT))
                    break;
            }
        } else if (sid == 1 && h[3] == NGHTTP2_DATA && blen + len < (1 << 16) - 1) {
            memcpy(*body + blen, p, len);
            blen += len;
        }
        free(p);
        ended = sid == 1 && (h[3] == NGHTTP2_HEADERS || h[3] == NGHTTP2_DATA) &&
                (h[4] & NGHTTP2_FLAG_END_STREAM);
        assert_false(sid == 1 && h[3] == NGHTTP2_RST_STREAM);
    }
    nghttp2_hd_inflate_del(inf);
    close(fd);
    return status;
}

static void test_http1_and_h2c_same_port(void **state)
{
    struct fx *f = *state;
    char *a = http1(f, "GET", "/v1/devboxes", f->key, "");
    assert_memory_equal(a, "HTTP/1.1 200", 12);
    assert_non_null(strstr(a, "\"devboxes\""));
    free(a);
    char *body;
    assert_int_equal(h2_get(f, "/v1/devboxes", f->key, 0, &body), 200);
    assert_non_null(strstr(body, "\"devboxes\""));
    free(body);
}

static void test_bad_key_both(void **state)
{
    struct fx *f = *state;
    char *a = http1(f, "GET", "/v1/devboxes", "wrong", "");
    assert_memory_equal(a, "HTTP/1.1 401", 12);
    free(a);
    char *body;
    assert_int_equal(h2_get(f, "/v1/devboxes", "wrong", 0, &body), 401);
    assert_non_null(strstr(body, "unauthorized"));
    free(body);
}

/* The fault admin endpoint answers loopback peers on either protocol (over h2c the peer is
 * the connection's, which the streams share): it used to refuse every h2c request. */
static void test_fault_admin_over_h2c(void **state)
{
    struct fx *f = *state;
    char *body;
    assert_int_equal(h2_get(f, "/_sandprobe/faults", f->key, 0, &body), 200);
    assert_non_null(strstr(body, "\"faults\""));
    free(body);
    char *a = http1(f, "GET", "/_sandprobe/faults", f->key, "");
    assert_memory_equal(a, "HTTP/1.1 200", 12);
    free(a);
}

/* Query arguments reach the handler over h2c as over HTTP/1.1: limit=1 of two devboxes. */
static void test_query_over_h2c(void **state)
{
    struct fx *f = *state;
    for (int i = 0; i < 2; i++) {
        char *a = http1(f, "POST", "/v1/devboxes", f->key, "{}");
        assert_memory_equal(a, "HTTP/1.1 200", 12);
        free(a);
    }
    char *body;
    assert_int_equal(h2_get(f, "/v1/devboxes?limit=1", f->key, 0, &body), 200);
    assert_non_null(strstr(body, "\"has_more\":true"));
    free(body);
    assert_int_equal(h2_get(f, "/v1/devboxes?limit=%33", f->key, 0, &body), 200);
    assert_non_null(strstr(body, "\"has_more\":false"));
    free(body);
}

/* The preface arriving in two writes ("PR", then the rest) is still HTTP/2. */
static void test_split_preface(void **state)
{
    struct fx *f = *state;
    char *body;
    assert_int_equal(h2_get(f, "/v1/devboxes", f->key, 2, &body), 200);
    assert_non_null(strstr(body, "\"devboxes\""));
    free(body);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {T(test_http1_and_h2c_same_port), T(test_bad_key_both),
                                       T(test_query_over_h2c), T(test_split_preface),
                                       T(test_fault_admin_over_h2c)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
