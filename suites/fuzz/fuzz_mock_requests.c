/* Fuzz target: the mocks' route matcher and request-body parsers, through their real HTTP
 * front door. Daytona, E2B and an action server (inside the Daytona sandbox) run in-process
 * on loopback. The first byte picks a request: a body-taking route from the table below
 * (create, labels, timeout, refresh, connect, envd filesystem RPC, uploads, list_files) with
 * the rest of the input as its body, or a GET of an arbitrary path for the route matcher.
 * Routes that run commands or start shells are left out on purpose: a fuzzer finds their
 * names quickly, and must not run what it invents on the host. Every request must get an HTTP
 * answer (no crash, reset or hang); sandboxes created by fuzzed bodies are deleted every 128
 * inputs. */
#include <stdio.h>
#include <stdlib.h>

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
    struct fz_mock mk[2]; /* Daytona, E2B */
    char auth[2][256];    /* the API key header */
    char id[2][64];       /* the fixture sandbox of each vendor */
    char as_host[160];    /* Host: 4444-<daytona id>.localhost */
    char e2b_hdr[128];    /* E2b-Sandbox-Id: <e2b id> */
    bool ready;
} g;

/* One request to v's mock with the headers v needs (key, data-plane routing). */
static long send_to(enum vendor v,
                    const char *method,
                    const char *path,
                    const char *ctype,
                    const struct fz *body,
                    struct sp_buf *out)
{
    int i = v == V_E2B ? 1 : 0;
    const char *h[5] = {v == V_AS ? "X-Session-API-Key: fz" : g.auth[i]};
    if (v == V_AS)
        h[1] = g.as_host;
    if (v == V_E2B && strncmp(path, "/sandboxes", 10) != 0) {
        h[1] = g.e2b_hdr;
        h[2] = "E2b-Sandbox-Port: 49983";
    }
    if (body == NULL)
        return fz_http(&g.mk[i], method, path, h, ctype, NULL, 0, out, NULL);
    if (out == NULL)
        return fz_http_rest(&g.mk[i], method, path, h, ctype, body);
    return fz_http(&g.mk[i], method, path, h, ctype, body->p, body->n, out, NULL);
}

static long
send_str(enum vendor v, const char *method, const char *path, const char *json, struct sp_buf *out)
{
    struct fz body = {(const uint8_t *)json, strlen(json)};
    return send_to(v, method, path, "application/json", &body, out);
}

static void setup_once(void)
{
    static const char *const names[2] = {"daytona", "e2b"};
    static const char *const keys[2] = {"DAYTONA_API_KEY", "E2B_API_KEY"};
    for (int i = 0; i < 2; i++) {
        fz_mock_start(&g.mk[i], names[i]);
        snprintf(g.auth[i], sizeof(g.auth[i]), i ? "X-API-Key: %s" : "Authorization: Bearer %s",
                 sp_kv_get(sp_mock_env(g.mk[i].m), keys[i]));
    }
    struct sp_buf b;
    sp_buf_init(&b, 0);
    if (send_str(
            V_DAYTONA, "POST", "/api/sandbox",
            "{\"labels\":{\"keep\":\"1\"},\"public\":true,\"env\":{\"SESSION_API_KEY\":\"fz\"}}",
            &b) != 200)
        abort();
    fz_json_str(&b, "id", g.id[0], sizeof(g.id[0]));
    sp_buf_reset(&b);
    if (send_str(V_E2B, "POST", "/sandboxes",
                 "{\"templateID\":\"base\",\"secure\":false,\"metadata\":{\"keep\":\"1\"}}",
                 &b) != 201)
        abort();
    fz_json_str(&b, "sandboxID", g.id[1], sizeof(g.id[1]));
    snprintf(g.e2b_hdr, sizeof(g.e2b_hdr), "E2b-Sandbox-Id: %s", g.id[1]);
    /* The action server, started as OpenHands does; the mock claims the command line. */
    char path[256], body[512];
    snprintf(path, sizeof(path), "/api/toolbox/%s/toolbox/process/session", g.id[0]);
    send_str(V_DAYTONA, "POST", path, "{\"sessionId\":\"s\"}", NULL);
    snprintf(path, sizeof(path), "/api/toolbox/%s/toolbox/process/session/s/exec", g.id[0]);
    snprintf(body, sizeof(body), "{\"command\":\"%s\",\"async\":true}", OPENHANDS_CMD);
    send_str(V_DAYTONA, "POST", path, body, NULL);
    snprintf(g.as_host, sizeof(g.as_host), "Host: 4444-%s.localhost", g.id[0]);
    long st = 0;
    for (int i = 0; i < 200 && (st = send_to(V_AS, "GET", "/alive", NULL, NULL, NULL)) != 200; i++)
        fz_sleep_ms(50);
    if (st != 200)
        abort();
    sp_buf_cleanup(&b);
    g.ready = true;
}

static void delete_daytona(struct fz_mock *fm, const char *id)
{
    char path[256];
    (void)fm;
    snprintf(path, sizeof(path), "/api/sandbox/%s?force=true", id);
    send_to(V_DAYTONA, "DELETE", path, NULL, NULL, NULL);
}

static void delete_e2b(struct fz_mock *fm, const char *id)
{
    char path[256];
    (void)fm;
    snprintf(path, sizeof(path), "/sandboxes/%s", id);
    send_to(V_E2B, "DELETE", path, NULL, NULL, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz f = {data, size};
    char path[1100];
    if (!g.ready)
        setup_once();
    int i = fz_pick_route(&f, N_ROUTES, path, sizeof(path));
    const struct route *r = i >= 0 ? &routes[i] : NULL;
    if (r)
        fz_route_path(path, sizeof(path), r->path, g.id[r->v == V_E2B ? 1 : 0]);
    /* any other path: a GET to the vendor the first byte names */
    long status = r ? send_to(r->v, r->method, path, r->content_type, &f, NULL)
                    : send_to((enum vendor)(data[0] % V__COUNT), "GET", path, NULL, NULL, NULL);
    FZ_CHECK(status >= 100, "every request gets an HTTP answer");
    if (fz_mock_sweep_due(&g.mk[0])) {
        fz_each_created(&g.mk[0], "daytona", delete_daytona);
        fz_each_created(&g.mk[1], "e2b", delete_e2b);
    }
    return 0;
}
