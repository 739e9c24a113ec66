/* Fuzz target: the Runloop mock's route matcher and request-body parsers (mocks/runloop*.c),
 * through its real HTTP front door, in-process on loopback. The first byte picks a request:
 * a body-taking route from the table below (create, tunnels of both generations, the direct
 * file routes and the multipart upload) with the rest of the input as its body, or a GET of
 * an arbitrary path for the route matcher. Left out on purpose: execute_sync/async run
 * commands on the host, and the wait_for_status routes hold a request for up to 10 s
 * (RL_HOLD_MS), longer than a fuzz input may take. Every request must get an HTTP answer
 * (no crash, reset or hang); devboxes created by fuzzed bodies are shut down every 128 inputs. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "fuzz.h"
#include "mock.h"
#include "provider.h"

struct route {
    const char *path; /* %s = the fixture devbox's id; every route is a POST */
    const char *content_type;
};

static const struct route routes[] = {
    {"/v1/devboxes", "application/json"},
    {"/v1/devboxes/%s/create_tunnel", "application/json"},
    {"/v1/devboxes/%s/enable_tunnel", "application/json"},
    {"/v1/devboxes/%s/read_file_contents", "application/json"},
    {"/v1/devboxes/%s/write_file_contents", "application/json"},
    {"/v1/devboxes/%s/download_file", "application/json"},
    {"/v1/devboxes/%s/upload_file", "multipart/form-data; boundary=B"},
};
#define N_ROUTES (sizeof(routes) / sizeof(routes[0]))

static struct {
    struct sp_mock *m;
    char base[128]; /* http://127.0.0.1:PORT */
    char auth[256]; /* Authorization: Bearer <key> */
    char id[64];    /* the fixture devbox */
    CURL *curl;
    long inputs;
} g;

static size_t sink(char *p, size_t size, size_t n, void *user)
{
    if (user)
        sp_buf_append(user, p, size * n);
    return size * n;
}

/* One request; returns the status (0 when there was no HTTP answer). */
static long http_send(const char *method,
                      const char *path,
                      const char *ctype,
                      const void *body,
                      size_t len,
                      struct sp_buf *out)
{
    char url[4096], ct[128];
    if (snprintf(url, sizeof(url), "%s%s", g.base, path) >= (int)sizeof(url))
        return -1;
    struct curl_slist *h = curl_slist_append(NULL, g.auth);
    if (ctype) {
        snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
        h = curl_slist_append(h, ct);
    }
    CURL *c = g.curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
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

static void stop_mock(void)
{
    curl_easy_cleanup(g.curl);
    sp_mock_stop(g.m);
}

/* The mock and one running devbox (labelled keep=1) for the per-devbox routes. */
static void setup_once(void)
{
    struct sp_mock_config cfg = {.vendor = "runloop", .quiet = true, .has_latency = true};
    struct sp_error err;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    g.curl = curl_easy_init();
    if (g.curl == NULL || sp_mock_start(&cfg, &g.m, &err) != SP_E_OK)
        abort();
    snprintf(g.base, sizeof(g.base), "http://127.0.0.1:%u", sp_mock_port(g.m));
    snprintf(g.auth, sizeof(g.auth), "Authorization: Bearer %s",
             sp_kv_get(sp_mock_env(g.m), "RUNLOOP_API_KEY"));
    struct sp_buf b;
    sp_buf_init(&b, 0);
    static const char CREATE[] = "{\"name\":\"fz\",\"metadata\":{\"keep\":\"1\"}}";
    if (http_send("POST", "/v1/devboxes", "application/json", CREATE, sizeof(CREATE) - 1, &b) !=
        200)
        abort();
    const char *p = strstr(sp_buf_str(&b), "\"id\":\"");
    if (p == NULL)
        abort();
    snprintf(g.id, sizeof(g.id), "%.*s", (int)strcspn(p + 6, "\""), p + 6);
    char path[160];
    snprintf(path, sizeof(path), "/v1/devboxes/%s", g.id);
    for (int i = 0; i < 200 && strstr(sp_buf_str(&b), "\"status\":\"running\"") == NULL; i++) {
        nanosleep(&(struct timespec){0, 50000000}, NULL);
        sp_buf_reset(&b);
        http_send("GET", path, NULL, NULL, 0, &b);
    }
    if (strstr(sp_buf_str(&b), "\"status\":\"running\"") == NULL)
        abort();
    sp_buf_cleanup(&b);
    atexit(stop_mock); /* removes the devboxes' directories */
}

/* Shuts down every devbox the fuzzed bodies created (those without the keep label). */
static void shutdown_created(void)
{
    struct sp_client *c;
    struct sp_list l;
    struct sp_error err;
    char path[256];
    sp_list_init(&l);
    if (sp_client_new("runloop", sp_mock_env(g.m), NULL, &c, &err) != SP_E_OK)
        abort();
    if (sp_sandbox_list(c, NULL, NULL, &l, &err) == SP_E_OK) {
        for (size_t j = 0; j < l.n; j++) {
            if (sp_kv_get(&l.items[j].labels, "keep"))
                continue;
            snprintf(path, sizeof(path), "/v1/devboxes/%s/shutdown", l.items[j].id);
            http_send("POST", path, "application/json", "", 0, NULL);
        }
    }
    sp_list_cleanup(&l);
    sp_client_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz f = {data, size};
    char path[1100], raw[1025];
    if (g.curl == NULL)
        setup_once();
    unsigned pick = fz_byte(&f);
    long status;
    if (pick < 0x80) {
        const struct route *r = &routes[pick % N_ROUTES];
        const char *hole = strstr(r->path, "%s");
        if (hole)
            snprintf(path, sizeof(path), "%.*s%s%s", (int)(hole - r->path), r->path, g.id,
                     hole + 2);
        else
            snprintf(path, sizeof(path), "%s", r->path);
        if (strstr(r->content_type, "multipart")) {
            /* the body after a fixed boundary line, so parts are reachable */
            struct sp_buf b;
            sp_buf_init(&b, 0);
            sp_buf_puts(&b, "--B\r\n");
            sp_buf_append(&b, f.p, f.n);
            status = http_send("POST", path, r->content_type, b.data, b.len, NULL);
            sp_buf_cleanup(&b);
        } else {
            status = http_send("POST", path, r->content_type, f.p, f.n, NULL);
        }
    } else {
        /* GET of an arbitrary path: the route matcher, path parameters and the query */
        fz_str(&f, raw, 1024);
        size_t n = 0;
        path[n++] = '/';
        for (const char *p = raw; *p && n < sizeof(path) - 4; p++) {
            unsigned char ch = (unsigned char)*p;
            if (ch <= ' ' || ch >= 0x7f || ch == '#')
                n += (size_t)snprintf(path + n, 4, "%%%02X", ch);
            else
                path[n++] = (char)ch;
        }
        path[n] = '\0';
        status = http_send("GET", path, NULL, NULL, 0, NULL);
    }
    FZ_CHECK(status >= 100, "every request gets an HTTP answer");
    if (++g.inputs % 128 == 0)
        shutdown_created();
    return 0;
}
