/* Unit tests of the mock core and its transport (mocks/mockcore.c, mhd_transport.c,
 * mock_timer.c), through an in-process E2B mock: delayed replies wait on a timer without a
 * thread per waiting request (thread-pool transport), ids, tokens and keys never repeat
 * across mocks with the same seed, request log lines are escaped, the API key is checked
 * before a body is read, idle connections are closed, and past the connection limit new
 * requests get a clear 503 instead of a reset. */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "mock_http.h"
#include "mock_int.h"
#include "provider.h" /* sp_now_ms */

#define KEY "e2b_0123456789abcdef0123456789abcdef01234567"

static struct sp_mock *start(struct sp_mock_config cfg)
{
    struct sp_mock *m = NULL;
    struct sp_error err = {0};
    if (cfg.vendor == NULL)
        cfg.vendor = "e2b";
    cfg.quiet = cfg.log == NULL;
    if (sp_mock_start(&cfg, &m, &err) != SP_E_OK)
        fail_msg("mock: %s", err.msg);
    return m;
}

static long call(struct sp_mock *m,
                 const char *method,
                 const char *path,
                 const char *body,
                 const char *key,
                 struct rsp *out)
{
    char url[512], hdr[128];
    snprintf(url, sizeof(url), "%s%s", sp_mock_url(m), path);
    snprintf(hdr, sizeof(hdr), "X-API-Key: %s", key ? key : "");
    const char *hdrs[] = {hdr, "Content-Type: application/json", NULL};
    struct http_req q = {.method = method,
                         .url = url,
                         .headers = key ? hdrs : hdrs + 1,
                         .body = body,
                         .len = body ? strlen(body) : 0};
    rsp_init(out);
    assert_int_equal(http_perform(&q, out), CURLE_OK);
    return out->status;
}

static int threads_now(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    int n = -1;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "Threads: %d", &n) == 1)
            break;
    if (f)
        fclose(f);
    return n;
}

#define WAITERS 40

/* Sends WAITERS creates at once (one thread, curl multi) to a mock whose create takes 1 s;
 * returns the process's thread growth while they wait, and checks every reply. */
static int waiting_thread_growth(struct sp_mock *m)
{
    char url[512], hdr[128];
    snprintf(url, sizeof(url), "%s/sandboxes", sp_mock_url(m));
    snprintf(hdr, sizeof(hdr), "X-API-Key: %s", KEY);
    struct curl_slist *hl = curl_slist_append(NULL, hdr);
    hl = curl_slist_append(hl, "Content-Type: application/json");
    CURLM *multi = curl_multi_init();
    CURL *e[WAITERS];
    struct sp_buf body[WAITERS];
    int base = threads_now();
    int64_t t0 = sp_now_ms();
    for (int i = 0; i < WAITERS; i++) {
        sp_buf_init(&body[i], 0);
        e[i] = curl_easy_init();
        curl_easy_setopt(e[i], CURLOPT_URL, url);
        curl_easy_setopt(e[i], CURLOPT_HTTPHEADER, hl);
        curl_easy_setopt(e[i], CURLOPT_POSTFIELDS, "{\"templateID\":\"base\"}");
        curl_easy_setopt(e[i], CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(e[i], CURLOPT_WRITEDATA, &body[i]);
        curl_multi_add_handle(multi, e[i]);
    }
    int running = 1, peak = base;
    while (running) {
        curl_multi_perform(multi, &running);
        curl_multi_poll(multi, NULL, 0, 50, NULL);
        if (sp_now_ms() - t0 > 400 && sp_now_ms() - t0 < 900) {
            int n = threads_now();
            peak = n > peak ? n : peak;
        }
    }
    assert_true(sp_now_ms() - t0 >= 1000); /* the delay happened */
    for (int i = 0; i < WAITERS; i++) {
        long st = 0;
        curl_easy_getinfo(e[i], CURLINFO_RESPONSE_CODE, &st);
        assert_int_equal(st, 201);
        assert_non_null(strstr(sp_buf_str(&body[i]), "sandboxID"));
        curl_multi_remove_handle(multi, e[i]);
        curl_easy_cleanup(e[i]);
        sp_buf_cleanup(&body[i]);
    }
    curl_multi_cleanup(multi);
    curl_slist_free_all(hl);
    return peak - base;
}

/* The synthetic backend's transport keeps a delayed request on a timer: 40 waiting creates
 * add no thread. The shell backend's thread-per-connection transport, for contrast, does
 * (which is what this test would catch if delays parked threads). */
static void test_delays_park_no_thread(void **state)
{
    (void)state;
    struct sp_mock_config cfg = {.key = KEY, .backend = SP_MOCK_BACKEND_SYNTHETIC};
    struct sp_error err = {0};
    assert_int_equal(sp_mock_latency_parse(&cfg, "create=fixed:1s", &err), SP_E_OK);
    struct sp_mock *m = start(cfg);
    assert_in_range(waiting_thread_growth(m), 0, 2);
    sp_mock_stop(m);
    cfg.backend = SP_MOCK_BACKEND_SHELL;
    m = start(cfg);
    assert_true(waiting_thread_growth(m) >= WAITERS / 2);
    sp_mock_stop(m);
}

/* create=fixed:300ms delays the reply at least that long; exec too; nothing set = none. */
static void test_phase_delays_apply(void **state)
{
    (void)state;
    struct sp_mock_config cfg = {.key = KEY, .backend = SP_MOCK_BACKEND_SYNTHETIC};
    struct sp_error err = {0};
    assert_int_equal(sp_mock_latency_parse(&cfg, "create=fixed:300ms", &err), SP_E_OK);
    assert_int_equal(sp_mock_latency_parse(&cfg, "delete=fixed:200ms", &err), SP_E_OK);
    struct sp_mock *m = start(cfg);
    struct rsp r;
    int64_t t0 = sp_now_us();
    assert_int_equal(call(m, "POST", "/sandboxes", "{\"templateID\":\"base\"}", KEY, &r), 201);
    assert_true(sp_now_us() - t0 >= 300000);
    cJSON *j = cJSON_ParseWithLength(r.body.data, r.body.len);
    char path[128];
    snprintf(path, sizeof(path), "/sandboxes/%s", jstr(j, "sandboxID"));
    cJSON_Delete(j);
    rsp_free(&r);
    t0 = sp_now_us();
    assert_int_equal(call(m, "DELETE", path, NULL, KEY, &r), 204);
    assert_true(sp_now_us() - t0 >= 200000);
    rsp_free(&r);
    assert_int_equal(call(m, "GET", path, NULL, KEY, &r), 404); /* gone when delete returned */
    rsp_free(&r);
    sp_mock_stop(m);
}

static void created_id_and_token(struct sp_mock *m, char *id, char *token)
{
    struct rsp r;
    assert_int_equal(
        call(m, "POST", "/sandboxes", "{\"templateID\":\"base\",\"secure\":true}", KEY, &r), 201);
    cJSON *j = cJSON_ParseWithLength(r.body.data, r.body.len);
    snprintf(id, 64, "%s", jstr(j, "sandboxID"));
    snprintf(token, 128, "%s", jstr(j, "envdAccessToken") ? jstr(j, "envdAccessToken") : "");
    cJSON_Delete(j);
    rsp_free(&r);
}

/* Issue 10 item 1: the seed drives the latency model only; ids, tokens and keys come from
 * the OS random source, so two mocks with the same seed never mint the same ones. */
static void test_same_seed_different_ids_tokens_keys(void **state)
{
    (void)state;
    struct sp_mock_config cfg = {.key = KEY, .seed = 1, .has_latency = true};
    struct sp_mock *a = start(cfg), *b = start(cfg);
    char ida[64], idb[64], ta[128], tb[128];
    created_id_and_token(a, ida, ta);
    created_id_and_token(b, idb, tb);
    assert_string_not_equal(ida, idb);
    assert_true(ta[0] != '\0');
    assert_string_not_equal(ta, tb);
    sp_mock_stop(a);
    sp_mock_stop(b);
    cfg.key = NULL;
    a = start(cfg), b = start(cfg);
    assert_string_not_equal(sp_kv_get(sp_mock_env(a), "E2B_API_KEY"),
                            sp_kv_get(sp_mock_env(b), "E2B_API_KEY"));
    sp_mock_stop(a);
    sp_mock_stop(b);
    cfg.vendor = "daytona";
    a = start(cfg), b = start(cfg);
    assert_string_not_equal(sp_kv_get(sp_mock_env(a), "DAYTONA_API_KEY"),
                            sp_kv_get(sp_mock_env(b), "DAYTONA_API_KEY"));
    sp_mock_stop(a);
    sp_mock_stop(b);
}

/* Issue 10 item 6: %0a and ESC in a path cannot forge a log line or drive a terminal. */
static void test_log_lines_escape_control_bytes(void **state)
{
    (void)state;
    FILE *log = tmpfile();
    struct sp_mock_config cfg = {.key = KEY, .has_latency = true, .log = log};
    struct sp_mock *m = start(cfg);
    struct rsp r;
    call(m, "GET", "/x%0amock%20e2b:%20GET%20/forged%20-%3e%20200%1b[31m%7f%5c", NULL, KEY, &r);
    rsp_free(&r);
    sp_mock_stop(m);
    rewind(log);
    char buf[1024];
    size_t n = fread(buf, 1, sizeof(buf) - 1, log);
    buf[n] = '\0';
    fclose(log);
    assert_non_null(strstr(buf, "GET /x\\x0amock e2b: GET /forged -> 200\\x1b[31m\\x7f\\x5c -> "));
    assert_null(strchr(buf, '\x1b'));
    assert_null(strchr(buf, '\x7f'));
    assert_int_equal(strchr(buf, '\n') - buf, (long)strlen(buf) - 1); /* one line */
    char esc[64];
    mock_log_escape("a\tb\r\n\x01z", esc, sizeof(esc));
    assert_string_equal(esc, "a\\x09b\\x0d\\x0a\\x01z");
}

/* A raw socket to the mock with a receive timeout. */
static int raw_connect(struct sp_mock *m, int timeout_s)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)sp_mock_port(m))};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    struct timeval tv = {timeout_s, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

/* Sends a request head and reads what comes back (at most len - 1 bytes, NUL-terminated). */
static ssize_t raw_exchange(int fd, const char *head, char *buf, size_t len)
{
    assert_int_equal(send(fd, head, strlen(head), MSG_NOSIGNAL), (ssize_t)strlen(head));
    ssize_t n = recv(fd, buf, len - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    return n;
}

/* Issue 10 item 2: a request announcing a 100 MB body without the key is refused from its
 * headers, before a byte of the body is sent or buffered (without the check the mock would
 * wait for the body and this recv would time out). Too large a body is refused likewise. */
static void test_key_checked_before_the_body(void **state)
{
    (void)state;
    struct sp_mock *m = start((struct sp_mock_config){.key = KEY, .has_latency = true});
    char buf[2048];
    int fd = raw_connect(m, 10);
    assert_true(raw_exchange(fd,
                             "POST /sandboxes HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                             "application/json\r\nContent-Length: 100000000\r\n\r\n",
                             buf, sizeof(buf)) > 0);
    assert_int_equal(strncmp(buf, "HTTP/1.1 401", 12), 0);
    assert_non_null(strstr(buf, "authorization header is missing"));
    close(fd);
    fd = raw_connect(m, 10);
    assert_true(raw_exchange(fd,
                             "POST /sandboxes HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: " KEY
                             "\r\nContent-Length: 100000000\r\n\r\n",
                             buf, sizeof(buf)) > 0);
    assert_int_equal(strncmp(buf, "HTTP/1.1 413", 12), 0);
    close(fd);
    struct sp_mock_stats st;
    sp_mock_stats(m, &st);
    assert_int_equal(st.unauthorized, 1);
    sp_mock_stop(m);
}

/* An idle connection is closed after the idle timeout (recv sees the close, not its own 10 s
 * timeout). */
static void test_idle_connections_are_closed(void **state)
{
    (void)state;
    struct sp_mock *m =
        start((struct sp_mock_config){.key = KEY, .has_latency = true, .idle_timeout_s = 1});
    int fd = raw_connect(m, 10);
    char c;
    assert_int_equal(recv(fd, &c, 1, 0), 0);
    close(fd);
    /* A half-sent request head is cut too. */
    fd = raw_connect(m, 10);
    send(fd, "GET /health HTTP/1.1\r\nHo", 24, MSG_NOSIGNAL);
    assert_int_equal(recv(fd, &c, 1, 0), 0);
    close(fd);
    sp_mock_stop(m);
}

/* Past max_connections a request gets 503 with a reason and Connection: close, not a
 * reset; once connections go, requests are served again. */
static void test_connection_limit_sheds_with_503(void **state)
{
    (void)state;
    struct sp_mock *m =
        start((struct sp_mock_config){.key = KEY, .has_latency = true, .max_connections = 3});
    int idle[4];
    for (int i = 0; i < 4; i++)
        idle[i] = raw_connect(m, 10);
    struct rsp r;
    long st = 0;
    for (int i = 0; i < 200 && st != 503; i++) {
        st = call(m, "GET", "/sandboxes", NULL, KEY, &r);
        if (st != 503)
            rsp_free(&r), nap_ms(10);
    }
    assert_int_equal(st, 503);
    assert_non_null(strstr(sp_buf_str(&r.body), "too many connections (limit 3)"));
    assert_string_equal(rsp_header(&r, "Connection"), "close");
    assert_string_equal(rsp_header(&r, "Retry-After"), "1");
    rsp_free(&r);
    for (int i = 0; i < 4; i++)
        close(idle[i]);
    for (int i = 0; i < 200 && st == 503; i++) {
        nap_ms(10);
        st = call(m, "GET", "/sandboxes", NULL, KEY, &r);
        rsp_free(&r);
    }
    assert_int_equal(st, 200);
    sp_mock_stop(m);
}

/* A request whose client leaves while its reply waits on a timer is cleaned up (the
 * sandbox reference the continuation held is dropped; asan checks the rest), and the mock
 * stops cleanly with requests still waiting. */
static void test_client_gone_and_stop_while_waiting(void **state)
{
    (void)state;
    struct sp_mock_config cfg = {.key = KEY, .backend = SP_MOCK_BACKEND_SYNTHETIC};
    struct sp_error err = {0};
    assert_int_equal(sp_mock_latency_parse(&cfg, "create=fixed:400ms", &err), SP_E_OK);
    struct sp_mock *m = start(cfg);
    char url[512], hdr[128];
    snprintf(url, sizeof(url), "%s/sandboxes", sp_mock_url(m));
    snprintf(hdr, sizeof(hdr), "X-API-Key: %s", KEY);
    const char *hdrs[] = {hdr, NULL};
    struct http_req q = {.method = "POST",
                         .url = url,
                         .headers = hdrs,
                         .body = "{\"templateID\":\"base\"}",
                         .len = 21,
                         .timeout_ms = 100};
    struct rsp r;
    rsp_init(&r);
    assert_int_equal(http_perform(&q, &r), CURLE_OPERATION_TIMEDOUT);
    nap_ms(500); /* the timer fires for a connection that is gone */
    q.timeout_ms = 100;
    assert_int_equal(http_perform(&q, &r), CURLE_OPERATION_TIMEDOUT);
    rsp_free(&r);
    sp_mock_stop(m); /* one request still waits on its timer */
}

static long
dt_call(struct sp_mock *m, const char *method, const char *path, const char *body, struct rsp *out)
{
    char url[512], hdr[160];
    snprintf(url, sizeof(url), "%s%s", sp_mock_url(m), path);
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", KEY);
    const char *hdrs[] = {hdr, "Content-Type: application/json", NULL};
    struct http_req q = {.method = method,
                         .url = url,
                         .headers = hdrs,
                         .body = body,
                         .len = body ? strlen(body) : 0};
    rsp_init(out);
    assert_int_equal(http_perform(&q, out), CURLE_OK);
    return out->status;
}

/* Issue 10 item 7: N create / use / delete cycles (a session shell and its logs included)
 * leave no directory behind while the mock still runs. */
static void test_delete_cycles_leave_no_directories(void **state)
{
    (void)state;
    char root[] = "/tmp/sp-core-XXXXXX";
    assert_non_null(mkdtemp(root));
    struct sp_mock *m = start((struct sp_mock_config){
        .vendor = "daytona", .key = KEY, .has_latency = true, .root_dir = root});
    for (int i = 0; i < 20; i++) {
        struct rsp r;
        char path[256];
        assert_int_equal(dt_call(m, "POST", "/sandbox", "{}", &r), 200);
        cJSON *j = cJSON_ParseWithLength(r.body.data, r.body.len);
        char id[64];
        snprintf(id, sizeof(id), "%s", jstr(j, "id"));
        cJSON_Delete(j);
        rsp_free(&r);
        snprintf(path, sizeof(path), "/toolbox/%s/toolbox/process/session", id);
        assert_int_equal(dt_call(m, "POST", path, "{\"sessionId\":\"s\"}", &r), 201);
        rsp_free(&r);
        snprintf(path, sizeof(path), "/toolbox/%s/toolbox/process/session/s/exec", id);
        assert_int_equal(dt_call(m, "POST", path, "{\"command\":\"echo x > f.txt\"}", &r), 200);
        rsp_free(&r);
        snprintf(path, sizeof(path), "/sandbox/%s", id);
        assert_int_equal(dt_call(m, "DELETE", path, NULL, &r), 200);
        rsp_free(&r);
    }
    /* root holds the store's directory only, and that is empty. */
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "test \"$(find %s -mindepth 2 | wc -l)\" = 0", root);
    assert_int_equal(system(cmd), 0);
    sp_mock_stop(m);
    rmdir(root);
}

/* --latency exec applies to the shell backend too (here Daytona's toolbox execute). */
static void test_exec_delay_with_the_shell_backend(void **state)
{
    (void)state;
    struct sp_mock_config cfg = {.vendor = "daytona", .key = KEY};
    struct sp_error err = {0};
    assert_int_equal(sp_mock_latency_parse(&cfg, "exec=fixed:300ms", &err), SP_E_OK);
    struct sp_mock *m = start(cfg);
    struct rsp r;
    char path[256];
    assert_int_equal(dt_call(m, "POST", "/sandbox", "{}", &r), 200);
    cJSON *j = cJSON_ParseWithLength(r.body.data, r.body.len);
    snprintf(path, sizeof(path), "/toolbox/%s/toolbox/process/execute", jstr(j, "id"));
    cJSON_Delete(j);
    rsp_free(&r);
    int64_t t0 = sp_now_us();
    assert_int_equal(dt_call(m, "POST", path, "{\"command\":\"echo shell\"}", &r), 200);
    assert_true(sp_now_us() - t0 >= 300000);
    assert_non_null(strstr(sp_buf_str(&r.body), "shell\\n"));
    rsp_free(&r);
    sp_mock_stop(m);
}

/* A streamed reply quiet for longer than the idle timeout is not cut (an E2B command that
 * prints nothing for 2 s with a 1 s idle timeout still ends with its output). */
static void test_quiet_stream_outlives_the_idle_timeout(void **state)
{
    (void)state;
    struct sp_mock *m =
        start((struct sp_mock_config){.key = KEY, .has_latency = true, .idle_timeout_s = 1});
    struct rsp r;
    assert_int_equal(call(m, "POST", "/sandboxes", "{\"templateID\":\"base\"}", KEY, &r), 201);
    cJSON *j = cJSON_ParseWithLength(r.body.data, r.body.len);
    char id[128], url[512];
    snprintf(id, sizeof(id), "E2b-Sandbox-Id: %s", jstr(j, "sandboxID"));
    cJSON_Delete(j);
    rsp_free(&r);
    const char json[] = "{\"process\":{\"cmd\":\"/bin/bash\",\"args\":[\"-c\","
                        "\"sleep 2; echo quiet-done\"]}}";
    char body[256] = {0, 0, 0, 0, (char)(sizeof(json) - 1)};
    memcpy(body + 5, json, sizeof(json) - 1);
    snprintf(url, sizeof(url), "%s/process.Process/Start", sp_mock_url(m));
    const char *hdrs[] = {id, "E2b-Sandbox-Port: 49983", "Keepalive-Ping-Interval: 60",
                          "Content-Type: application/connect+json", NULL};
    struct http_req q = {
        .method = "POST", .url = url, .headers = hdrs, .body = body, .len = sizeof(json) - 1 + 5};
    rsp_init(&r);
    assert_int_equal(http_perform(&q, &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    /* base64("quiet-done\n") in a data event, then the end event */
    assert_non_null(memmem(r.body.data, r.body.len, "cXVpZXQtZG9uZQo=", 16));
    assert_non_null(memmem(r.body.data, r.body.len, "\"end\"", 5));
    rsp_free(&r);
    sp_mock_stop(m);
}

static int freed;
static void count_free(void *ctx)
{
    (void)ctx;
    freed++;
}
static ssize_t no_read(void *ctx, char *buf, size_t max)
{
    (void)ctx, (void)buf, (void)max;
    return 0;
}
static void cont_fn(struct mock_req *r, void *ctx)
{
    (void)r, (void)ctx;
}

/* The reply API records a value for whatever transport sends it (HTTP/1.1 today, HTTP/2
 * later): status, type, body or stream, headers and trailers, and when it may leave. The
 * first reply wins; a stream refused for that reason is still released. */
static void test_reply_is_a_value(void **state)
{
    (void)state;
    struct mock_req r = {.method = "GET", .path = "/x"};
    sp_kv_init(&r.reply_headers);
    sp_kv_init(&r.reply_trailers);
    mock_reply_header(&r, "X-A", "1");
    mock_reply_trailer(&r, "grpc-status", "0");
    mock_reply_json(&r, 201, "{\"ok\":true}");
    assert_true(r.replied);
    assert_int_equal(r.status, 201);
    assert_string_equal(r.out.content_type, "application/json");
    assert_int_equal(r.out.len, 11);
    assert_memory_equal(r.out.body, "{\"ok\":true}", 11);
    assert_string_equal(sp_kv_get(&r.reply_headers, "X-A"), "1");
    assert_string_equal(sp_kv_get(&r.reply_trailers, "grpc-status"), "0");
    mock_reply_json(&r, 500, "{}"); /* ignored */
    assert_int_equal(r.status, 201);
    freed = 0;
    mock_reply_stream(&r, 200, "text/plain", no_read, NULL, count_free);
    assert_int_equal(freed, 1);
    assert_null(r.out.read);
    int64_t before = sp_now_us();
    mock_reply_after(&r, 5000);
    assert_true(r.reply_at_us >= before + 5000);
    mock_defer(&r, 1000, cont_fn, &r);
    assert_ptr_equal(r.cont, cont_fn);
    assert_true(r.cont_at_us >= before + 1000);
    mock_reply_out_free(&r.out);
    sp_kv_cleanup(&r.reply_headers);
    sp_kv_cleanup(&r.reply_trailers);
    /* A stream reply keeps the reader and its context for the transport. */
    struct mock_req s = {.method = "GET", .path = "/y"};
    mock_reply_stream(&s, 200, "application/connect+json", no_read, &s, count_free);
    assert_ptr_equal(s.out.read, no_read);
    assert_ptr_equal(s.out.ctx, &s);
    mock_reply_out_free(&s.out); /* never sent: released here */
    assert_int_equal(freed, 2);
}

struct bg_call {
    struct sp_mock *m;
    struct rsp r;
    CURLcode rc;
};

static void *bg_create(void *arg)
{
    struct bg_call *b = arg;
    char url[512], hdr[160];
    snprintf(url, sizeof(url), "%s/sandbox", sp_mock_url(b->m));
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", KEY);
    const char *hdrs[] = {hdr, "Content-Type: application/json", NULL};
    struct http_req q = {.method = "POST", .url = url, .headers = hdrs, .body = "{}", .len = 2};
    rsp_init(&b->r);
    b->rc = http_perform(&q, &b->r);
    return NULL;
}

/* A create waiting a minute for its sandbox to start does not hold up the mock's stop, with
 * either transport (without the stop check a thread-per-connection wait would run its
 * minute out inside sp_mock_stop). */
static void test_stop_ends_waiting_requests(void **state)
{
    (void)state;
    for (int backend = 0; backend < 2; backend++) {
        struct sp_mock_config cfg = {
            .vendor = "daytona", .key = KEY, .backend = (enum sp_mock_backend)backend};
        struct sp_error err = {0};
        assert_int_equal(sp_mock_latency_parse(&cfg, "start=fixed:60s", &err), SP_E_OK);
        struct bg_call b = {.m = start(cfg)};
        pthread_t t;
        pthread_create(&t, NULL, bg_create, &b);
        for (int i = 0; i < 200 && sp_mock_journal_count(b.m, NULL, NULL) == 0; i++) {
            struct sp_mock_stats st;
            sp_mock_stats(b.m, &st);
            if (st.created > 0)
                break;
            nap_ms(10);
        }
        nap_ms(100);
        sp_mock_stop(b.m);
        pthread_join(t, NULL);
        /* The request ended (the stop returned) with the 503 or, when the server had
         * already shut the socket, with the connection closed; never with a sandbox. */
        if (b.rc == CURLE_OK) {
            assert_int_equal(b.r.status, 503);
            assert_non_null(strstr(sp_buf_str(&b.r.body), "mock: stopping"));
        } else {
            assert_true(b.rc == CURLE_GOT_NOTHING || b.rc == CURLE_RECV_ERROR);
        }
        rsp_free(&b.r);
    }
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delays_park_no_thread),
        cmocka_unit_test(test_phase_delays_apply),
        cmocka_unit_test(test_same_seed_different_ids_tokens_keys),
        cmocka_unit_test(test_log_lines_escape_control_bytes),
        cmocka_unit_test(test_key_checked_before_the_body),
        cmocka_unit_test(test_idle_connections_are_closed),
        cmocka_unit_test(test_connection_limit_sheds_with_503),
        cmocka_unit_test(test_client_gone_and_stop_while_waiting),
        cmocka_unit_test(test_delete_cycles_leave_no_directories),
        cmocka_unit_test(test_exec_delay_with_the_shell_backend),
        cmocka_unit_test(test_quiet_stream_outlives_the_idle_timeout),
        cmocka_unit_test(test_reply_is_a_value),
        cmocka_unit_test(test_stop_ends_waiting_requests),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
