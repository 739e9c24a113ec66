/* Fuzz target: the mocks' route matcher and request-body parsers, through their real HTTP
 * front door. Daytona, E2B and an action server (inside the Daytona sandbox) run in-process
 * on loopback. The first byte picks a request: a body-taking route from the table below
 * (create, labels, timeout, refresh, connect, envd filesystem RPC, uploads, list_files) with
 * the rest of the input as its body, or a GET of an arbitrary path for the route matcher.
 * Routes that run commands or start shells are left out on purpose: a fuzzer finds their
 * names quickly, and must not run what it invents on the host. Every request must get an HTTP
 * answer (no crash, reset or hang); sandboxes created by fuzzed bodies are deleted every 128
 * inputs. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "fuzz.h"
#include "mock.h"
#include "provider.h"

enum vendor { V_DAYTONA, V_E2B, V_AS, V__COUNT };

struct route {
    enum vendor v;
    const char *method;
    const char *path; /* %s = the fixture sandbox's id */
    const char *content_type;
};

#define MP "multipart/form-data; boundary=B"
static const struct route routes[] = {
    {V_DAYTONA, "POST", "/api/sandbox", "application/json"},
    {V_DAYTONA, "PUT", "/api/sandbox/%s/labels", "application/json"},
    {V_DAYTONA, "POST", "/api/toolbox/%s/toolbox/files/upload?path=/home/daytona/up", MP},
    {V_DAYTONA, "POST", "/api/toolbox/%s/toolbox/files/bulk-upload", MP},
    {V_E2B, "POST", "/sandboxes/%s/refreshes", "application/json"},
    {V_E2B, "POST", "/sandboxes", "application/json"},
    {V_E2B, "POST", "/sandboxes/%s/timeout", "application/json"},
    {V_E2B, "POST", "/sandboxes/%s/connect", "application/json"},
    {V_E2B, "POST", "/filesystem.Filesystem/Stat", "application/json"},
    {V_E2B, "POST", "/filesystem.Filesystem/ListDir", "application/json"},
    {V_E2B, "POST", "/filesystem.Filesystem/MakeDir", "application/json"},
    {V_E2B, "POST", "/filesystem.Filesystem/Move", "application/json"},
    {V_E2B, "POST", "/files?path=/home/user/up", MP},
    {V_AS, "POST", "/list_files", "application/json"},
    {V_AS, "POST", "/upload_file?destination=/workspace", MP},
};
#define N_ROUTES (sizeof(routes) / sizeof(routes[0]))

static const char *const OPENHANDS_CMD =
    "/openhands/micromamba/bin/micromamba run -n openhands poetry run python -u -m "
    "openhands.runtime.action_execution_server 4444 --working-dir /workspace";

static struct {
    struct sp_mock *m[2];
    char base[2][128]; /* http://127.0.0.1:PORT */
    char auth[2][256]; /* the API key header */
    char id[2][64];    /* the fixture sandbox of each vendor */
    char as_host[160]; /* Host: 4444-<daytona id>.localhost */
    char e2b_hdr[128]; /* E2b-Sandbox-Id: <e2b id> */
    CURL *curl;
    long inputs;
} g;

static size_t sink(char *p, size_t size, size_t n, void *user)
{
    struct sp_buf *b = user;
    (void)p;
    if (b)
        sp_buf_append(b, p, size * n);
    return size * n;
}

/* One request; returns the status (0 when there was no HTTP answer). */
static long http_send(enum vendor v,
                      const char *method,
                      const char *path,
                      const char *ctype,
                      const void *body,
                      size_t len,
                      struct sp_buf *out)
{
    char url[4096];
    struct curl_slist *h = NULL;
    int i = v == V_E2B ? 1 : 0;
    if (snprintf(url, sizeof(url), "%s%s", g.base[i], path) >= (int)sizeof(url))
        return -1;
    h = curl_slist_append(h, v == V_AS ? "X-Session-API-Key: fz" : g.auth[i]);
    if (v == V_AS)
        h = curl_slist_append(h, g.as_host);
    if (v == V_E2B && strncmp(path, "/sandboxes", 10) != 0) {
        h = curl_slist_append(h, g.e2b_hdr);
        h = curl_slist_append(h, "E2b-Sandbox-Port: 49983");
    }
    if (ctype) {
        char ct[128];
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

/* The value of "key":"..." in a JSON body (enough for the ids the mocks return). */
static void json_str(const struct sp_buf *b, const char *key, char *out, size_t len)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "\"%s\":\"", key);
    const char *p = strstr(sp_buf_str(b), pat);
    size_t n = p ? strcspn(p + strlen(pat), "\"") : 0;
    snprintf(out, len, "%.*s", (int)n, p ? p + strlen(pat) : "");
}

static void stop_mocks(void)
{
    curl_easy_cleanup(g.curl);
    sp_mock_stop(g.m[0]);
    sp_mock_stop(g.m[1]);
}

static void setup_once(void)
{
    const char *names[2] = {"daytona", "e2b"};
    const char *keys[2] = {"DAYTONA_API_KEY", "E2B_API_KEY"};
    struct sp_error err;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    g.curl = curl_easy_init();
    for (int i = 0; i < 2; i++) {
        struct sp_mock_config cfg = {.vendor = names[i], .quiet = true, .has_latency = true};
        if (sp_mock_start(&cfg, &g.m[i], &err) != SP_E_OK || g.curl == NULL)
            abort();
        snprintf(g.base[i], sizeof(g.base[i]), "http://127.0.0.1:%u", sp_mock_port(g.m[i]));
        snprintf(g.auth[i], sizeof(g.auth[i]), i ? "X-API-Key: %s" : "Authorization: Bearer %s",
                 sp_kv_get(sp_mock_env(g.m[i]), keys[i]));
    }
    struct sp_buf b;
    sp_buf_init(&b, 0);
    static const char DT_CREATE[] =
        "{\"labels\":{\"keep\":\"1\"},\"public\":true,\"env\":{\"SESSION_API_KEY\":\"fz\"}}";
    if (http_send(V_DAYTONA, "POST", "/api/sandbox", "application/json", DT_CREATE,
                  sizeof(DT_CREATE) - 1, &b) != 200)
        abort();
    json_str(&b, "id", g.id[0], sizeof(g.id[0]));
    sp_buf_reset(&b);
    if (http_send(V_E2B, "POST", "/sandboxes", "application/json",
                  "{\"templateID\":\"base\",\"secure\":false,\"metadata\":{\"keep\":\"1\"}}", 61,
                  &b) != 201)
        abort();
    json_str(&b, "sandboxID", g.id[1], sizeof(g.id[1]));
    snprintf(g.e2b_hdr, sizeof(g.e2b_hdr), "E2b-Sandbox-Id: %s", g.id[1]);
    /* The action server, started as OpenHands does; the mock claims the command line. */
    char path[256], body[512];
    snprintf(path, sizeof(path), "/api/toolbox/%s/toolbox/process/session", g.id[0]);
    http_send(V_DAYTONA, "POST", path, "application/json", "{\"sessionId\":\"s\"}", 17, NULL);
    snprintf(path, sizeof(path), "/api/toolbox/%s/toolbox/process/session/s/exec", g.id[0]);
    int n = snprintf(body, sizeof(body), "{\"command\":\"%s\",\"async\":true}", OPENHANDS_CMD);
    http_send(V_DAYTONA, "POST", path, "application/json", body, (size_t)n, NULL);
    snprintf(g.as_host, sizeof(g.as_host), "Host: 4444-%s.localhost", g.id[0]);
    long st = 0;
    for (int i = 0; i < 200 && (st = http_send(V_AS, "GET", "/alive", NULL, NULL, 0, NULL)) != 200;
         i++)
        nanosleep(&(struct timespec){0, 50000000}, NULL);
    if (st != 200)
        abort();
    sp_buf_cleanup(&b);
    atexit(stop_mocks); /* removes the sandboxes' directories */
}

/* Deletes every sandbox the fuzzed bodies created (those without the keep label). */
static void delete_created(void)
{
    const char *names[2] = {"daytona", "e2b"};
    for (int i = 0; i < 2; i++) {
        struct sp_client *c;
        struct sp_list l;
        struct sp_error err;
        char path[256];
        sp_list_init(&l);
        if (sp_client_new(names[i], sp_mock_env(g.m[i]), NULL, &c, &err) != SP_E_OK)
            abort();
        if (sp_sandbox_list(c, NULL, NULL, &l, &err) == SP_E_OK) {
            for (size_t j = 0; j < l.n; j++) {
                if (sp_kv_get(&l.items[j].labels, "keep"))
                    continue;
                snprintf(path, sizeof(path), i ? "/sandboxes/%s" : "/api/sandbox/%s?force=true",
                         l.items[j].id);
                http_send(i ? V_E2B : V_DAYTONA, "DELETE", path, NULL, NULL, 0, NULL);
            }
        }
        sp_list_cleanup(&l);
        sp_client_free(c);
    }
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
            snprintf(path, sizeof(path), "%.*s%s%s", (int)(hole - r->path), r->path,
                     g.id[r->v == V_E2B ? 1 : 0], hole + 2);
        else
            snprintf(path, sizeof(path), "%s", r->path);
        if (strstr(r->content_type, "multipart")) {
            /* the body after a fixed boundary line, so parts are reachable */
            struct sp_buf b;
            sp_buf_init(&b, 0);
            sp_buf_puts(&b, "--B\r\n");
            sp_buf_append(&b, f.p, f.n);
            status = http_send(r->v, r->method, path, r->content_type, b.data, b.len, NULL);
            sp_buf_cleanup(&b);
        } else {
            status = http_send(r->v, r->method, path, r->content_type, f.p, f.n, NULL);
        }
    } else {
        /* GET of an arbitrary path: the route matcher and path parameters */
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
        status = http_send((enum vendor)(pick % V__COUNT), "GET", path, NULL, NULL, 0, NULL);
    }
    FZ_CHECK(status >= 100, "every request gets an HTTP answer");
    if (++g.inputs % 128 == 0)
        delete_created();
    return 0;
}
