/* Fuzz target: the Runloop mock's route matcher and request-body parsers (mocks/runloop*.c),
 * through its real HTTP front door, in-process on loopback. The first byte picks a request:
 * a body-taking route from the table below (create, tunnels of both generations, the direct
 * file routes and the multipart upload) with the rest of the input as its body, or a GET of
 * an arbitrary path for the route matcher. Left out on purpose: execute_sync/async run
 * commands on the host, and the wait_for_status routes hold a request for up to 10 s
 * (RL_HOLD_MS), longer than a fuzz input may take. Every request must get an HTTP answer
 * (no crash, reset or hang); devboxes created by fuzzed bodies are shut down every 128 inputs. */
#include <stdio.h>
#include <stdlib.h>

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
    struct fz_mock mk;
    char auth[256]; /* Authorization: Bearer <key> */
    char id[64];    /* the fixture devbox */
    bool ready;
} g;

static long send_to(const char *method,
                    const char *path,
                    const char *ctype,
                    const struct fz *body,
                    struct sp_buf *out)
{
    const char *h[] = {g.auth, NULL};
    if (body == NULL || out != NULL)
        return fz_http(&g.mk, method, path, h, ctype, body ? body->p : NULL, body ? body->n : 0,
                       out, NULL);
    return fz_http_rest(&g.mk, method, path, h, ctype, body);
}

/* The mock and one running devbox (labelled keep=1) for the per-devbox routes. */
static void setup_once(void)
{
    fz_mock_start(&g.mk, "runloop");
    snprintf(g.auth, sizeof(g.auth), "Authorization: Bearer %s",
             sp_kv_get(sp_mock_env(g.mk.m), "RUNLOOP_API_KEY"));
    struct sp_buf b;
    sp_buf_init(&b, 0);
    static const char CREATE[] = "{\"name\":\"fz\",\"metadata\":{\"keep\":\"1\"}}";
    struct fz create = {(const uint8_t *)CREATE, sizeof(CREATE) - 1};
    if (send_to("POST", "/v1/devboxes", "application/json", &create, &b) != 200)
        abort();
    fz_json_str(&b, "id", g.id, sizeof(g.id));
    if (g.id[0] == '\0')
        abort();
    char path[160];
    snprintf(path, sizeof(path), "/v1/devboxes/%s", g.id);
    for (int i = 0; i < 200 && strstr(sp_buf_str(&b), "\"status\":\"running\"") == NULL; i++) {
        fz_sleep_ms(50);
        sp_buf_reset(&b);
        send_to("GET", path, NULL, NULL, &b);
    }
    if (strstr(sp_buf_str(&b), "\"status\":\"running\"") == NULL)
        abort();
    sp_buf_cleanup(&b);
    g.ready = true;
}

static void shutdown_one(struct fz_mock *fm, const char *id)
{
    char path[256];
    static const struct fz empty = {NULL, 0};
    (void)fm;
    snprintf(path, sizeof(path), "/v1/devboxes/%s/shutdown", id);
    send_to("POST", path, "application/json", &empty, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz f = {data, size};
    char path[1100];
    if (!g.ready)
        setup_once();
    int i = fz_pick_route(&f, N_ROUTES, path, sizeof(path));
    if (i >= 0)
        fz_route_path(path, sizeof(path), routes[i].path, g.id);
    long status = i >= 0 ? send_to("POST", path, routes[i].content_type, &f, NULL)
                         : send_to("GET", path, NULL, NULL, NULL);
    FZ_CHECK(status >= 100, "every request gets an HTTP answer");
    if (fz_mock_sweep_due(&g.mk))
        fz_each_created(&g.mk, "runloop", shutdown_one);
    return 0;
}
