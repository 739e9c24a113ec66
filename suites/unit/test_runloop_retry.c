/* The SDKs' retry rule as the Runloop provider applies it (spec/runloop-modal.md R1;
 * sp_retry_policy.max_attempts_sdk in the transport): against a scripted loopback server,
 * 5xx, 408, 409 and 429 are retried with the same x-request-id after retry-after-ms, an
 * `x-should-retry: false` header stops it, other 4xx are not retried, and at most three
 * attempts are made; a refused connection is retried too. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "provider.h"

#define MAX_SCRIPT 8

/* A server that answers its n-th request with script[n] (the last one again past the end). */
struct server {
    int fd;
    unsigned port;
    pthread_t thread;
    const char *script[MAX_SCRIPT];
    int n_script;
    int requests;
    char request_ids[MAX_SCRIPT][64];
};

static void read_request(int c, char *buf, size_t len)
{
    size_t used = 0;
    while (used + 1 < len) {
        ssize_t n = read(c, buf + used, len - 1 - used);
        if (n <= 0)
            break;
        used += (size_t)n;
        buf[used] = '\0';
        if (strstr(buf, "\r\n\r\n") != NULL)
            break;
    }
    buf[used] = '\0';
}

static void *serve(void *arg)
{
    struct server *s = arg;
    for (;;) {
        int c = accept(s->fd, NULL, NULL);
        if (c < 0)
            return NULL;
        char req[4096], reply[1024];
        read_request(c, req, sizeof(req));
        if (strncmp(req, "QUIT", 4) == 0) {
            close(c);
            return NULL;
        }
        int i = s->requests < MAX_SCRIPT ? s->requests : MAX_SCRIPT - 1;
        const char *rid = strstr(req, "x-request-id: ") /* sent as we spell it */;
        if (rid != NULL && s->requests < MAX_SCRIPT)
            sscanf(rid + 14, "%63[0-9a-f]", s->request_ids[s->requests]);
        s->requests++;
        const char *line = s->script[i < s->n_script ? i : s->n_script - 1];
        int n = snprintf(reply, sizeof(reply), "%s", line);
        ssize_t w = write(c, reply, (size_t)n);
        (void)w;
        close(c);
    }
}

#define LIST_OK                                                                   \
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 32\r\n" \
    "Connection: close\r\n\r\n{\"devboxes\":[],\"has_more\":false}"
#define STATUS(code, extra)                                                               \
    "HTTP/1.1 " code "\r\nContent-Type: application/json\r\nretry-after-ms: 10\r\n" extra \
    "Content-Length: 34\r\nConnection: close\r\n\r\n{\"error\":\"x\",\"message\":\"scripted\"}"

static struct server *server_start(const char *const *script, int n)
{
    struct server *s = calloc(1, sizeof(*s));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(s->fd, 16), 0);
    assert_int_equal(getsockname(s->fd, (struct sockaddr *)&sa, &len), 0);
    s->port = ntohs(sa.sin_port);
    for (int i = 0; i < n; i++)
        s->script[i] = script[i];
    s->n_script = n;
    assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
    return s;
}

/* Stops the server thread (a last connection saying QUIT); after this its counters may be
 * read. Free it with free(). */
static void server_stop(struct server *s)
{
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)s->port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(c, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
        ssize_t w = write(c, "QUIT\r\n\r\n", 8);
        (void)w;
    }
    close(c);
    pthread_join(s->thread, NULL);
    close(s->fd);
}

static enum sp_err auth_against(unsigned port, struct sp_error *err)
{
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u", port);
    struct sp_kv env;
    sp_kv_init(&env);
    sp_kv_set(&env, "RUNLOOP_API_KEY", "ak_k");
    sp_kv_set(&env, "RUNLOOP_BASE_URL", url);
    struct sp_client *c = NULL;
    struct sp_client_opts opts = {.http_timeout_ms = 5000, .connect_timeout_ms = 2000};
    assert_int_equal(sp_client_new("runloop", &env, &opts, &c, err), SP_E_OK);
    sp_error_clear(err);
    enum sp_err rc = sp_auth(c, err);
    sp_client_free(c);
    sp_kv_cleanup(&env);
    return rc;
}

static void expect(const char *const *script, int n, enum sp_err want, int want_requests)
{
    struct server *s = server_start(script, n);
    struct sp_error err;
    assert_int_equal(auth_against(s->port, &err), want);
    server_stop(s);
    assert_int_equal(s->requests, want_requests);
    free(s);
}

static void test_retried_statuses(void **state)
{
    (void)state;
    const char *const s503[] = {STATUS("503 Service Unavailable", ""), LIST_OK};
    expect(s503, 2, SP_E_OK, 2);
    const char *const s408_409[] = {STATUS("408 Request Timeout", ""), STATUS("409 Conflict", ""),
                                    LIST_OK};
    expect(s408_409, 3, SP_E_OK, 3);
    const char *const s429[] = {STATUS("429 Too Many Requests", ""), LIST_OK};
    expect(s429, 2, SP_E_OK, 2);
    /* Three attempts in all, then the last answer stands. */
    const char *const s500[] = {STATUS("500 Internal Server Error", "")};
    expect(s500, 1, SP_E_PROVIDER, 3);
}

static void test_not_retried(void **state)
{
    (void)state;
    const char *const s400[] = {STATUS("400 Bad Request", ""), LIST_OK};
    expect(s400, 2, SP_E_PROTOCOL, 1);
    const char *const s401[] = {STATUS("401 Unauthorized", ""), LIST_OK};
    expect(s401, 2, SP_E_AUTH, 1);
    /* The server's word overrides the status rule, both ways. */
    const char *const no[] = {STATUS("503 Service Unavailable", "x-should-retry: false\r\n"),
                              LIST_OK};
    expect(no, 2, SP_E_PROVIDER, 1);
    const char *const yes[] = {STATUS("400 Bad Request", "x-should-retry: true\r\n"), LIST_OK};
    expect(yes, 2, SP_E_OK, 2);
}

/* The retry resends the same request: the same idempotency key. */
static void test_same_request_id(void **state)
{
    (void)state;
    struct server *s =
        server_start((const char *const[]){STATUS("502 Bad Gateway", ""), LIST_OK}, 2);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u", s->port);
    struct sp_kv env;
    sp_kv_init(&env);
    sp_kv_set(&env, "RUNLOOP_API_KEY", "ak_k");
    sp_kv_set(&env, "RUNLOOP_BASE_URL", url);
    struct sp_client *c = NULL;
    struct sp_error err;
    assert_int_equal(sp_client_new("runloop", &env, NULL, &c, &err), SP_E_OK);
    struct sp_sandbox *sb = NULL;
    /* create is a POST, so it carries x-request-id; the 200 list body is not a devbox. */
    assert_int_equal(sp_sandbox_create(c, NULL, &sb, &err), SP_E_PROTOCOL);
    sp_client_free(c);
    sp_kv_cleanup(&env);
    server_stop(s);
    assert_int_equal(s->requests, 2);
    assert_int_equal(strlen(s->request_ids[0]), 32);
    assert_string_equal(s->request_ids[0], s->request_ids[1]);
    free(s);
}

/* A refused connection is retried (three attempts, 1 s then 2 s apart), then `connect`. */
static void test_connection_refused(void **state)
{
    (void)state;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd); /* nothing listens there now */
    struct sp_error err;
    int64_t t0 = sp_now_ms();
    assert_int_equal(auth_against(ntohs(sa.sin_port), &err), SP_E_CONNECT);
    assert_true(sp_now_ms() - t0 >= 3000); /* it waited for the two retries */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retried_statuses),
        cmocka_unit_test(test_not_retried),
        cmocka_unit_test(test_same_request_id),
        cmocka_unit_test(test_connection_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
