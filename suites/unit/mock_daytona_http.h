/* Shared by the raw-HTTP tests of the Daytona mock and of the action server it hosts
 * (test_mock_daytona.c, test_mock_action_server.c): the in-process mock fixture, requests
 * with the API key or a data-plane Host, sandbox creation, toolbox paths, starting the
 * action server the way OpenHands does, and OpenHands' CmdRunAction. Include after <cmocka.h>. */
#ifndef SP_TEST_MOCK_DAYTONA_HTTP_H
#define SP_TEST_MOCK_DAYTONA_HTTP_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mock.h"
#include "mock_http.h"

/* The command line OpenHands' Daytona runtime starts its action server with. */
static const char *const OPENHANDS_CMD =
    "mkdir -p /workspace && cd /openhands/code && /openhands/micromamba/bin/micromamba run -n "
    "openhands poetry run python -u -m openhands.runtime.action_execution_server 4444 "
    "--working-dir /workspace --plugins agent_skills jupyter --username openhands --user-id 1000";

struct fx {
    struct sp_mock *m;
    char key[128];
    struct rsp r;
    cJSON *json;    /* r.body parsed by the last request */
    char id[64];    /* the sandbox (action-server tests) */
    char host[160]; /* its action server's data-plane host (action-server tests) */
};

/* Group-less fixture: a Daytona mock with these flags and delays, quiet, on a loopback port. */
static inline int start_mock(void **state, unsigned flags, struct sp_latency latency)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct sp_mock_config cfg = {.vendor = "daytona",
                                 .quiet = true,
                                 .has_latency = true,
                                 .flags = flags,
                                 .latency = latency};
    struct sp_error err;
    assert_int_equal(sp_mock_start(&cfg, &f->m, &err), SP_E_OK);
    snprintf(f->key, sizeof(f->key), "%s", sp_kv_get(sp_mock_env(f->m), "DAYTONA_API_KEY"));
    rsp_init(&f->r);
    *state = f;
    return 0;
}

static inline int teardown(void **state)
{
    struct fx *f = *state;
    sp_mock_stop(f->m);
    rsp_free(&f->r);
    cJSON_Delete(f->json);
    free(f);
    return 0;
}

/* One request. path is appended to the mock's origin; host (NULL = none) overrides Host;
 * auth adds the Bearer key; mime (NULL = none) is a multipart body; extra is one more header.
 * Leaves the response in f->r and its body parsed in f->json. */
static inline long send_req(struct fx *f,
                            const char *method,
                            const char *path,
                            const char *json,
                            bool auth,
                            const char *host,
                            curl_mime *mime,
                            const char *extra)
{
    char url[1024];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", sp_mock_port(f->m), path);
    return json_send(&f->r, &f->json, method, url, json, auth ? f->key : NULL, host, extra, mime);
}

/* A control-plane or toolbox call with the API key. */
static inline long call(struct fx *f, const char *method, const char *path, const char *json)
{
    return send_req(f, method, path, json, true, NULL, NULL, NULL);
}

/* Creates a sandbox from a CreateSandbox body and returns its id (static storage). */
static inline const char *create(struct fx *f, const char *body)
{
    static char id[64];
    assert_int_equal(call(f, "POST", "/api/sandbox", body), 200);
    snprintf(id, sizeof(id), "%s", jstr(f->json, "id"));
    return id;
}

/* The toolbox path `rest` of sandbox `id` (static storage). */
static inline const char *tb(const char *id, const char *rest)
{
    static char path[512];
    snprintf(path, sizeof(path), "/api/toolbox/%s/toolbox%s", id, rest);
    return path;
}

/* Starts a server the way OpenHands does: a session `session` and an async exec of cmdline. */
static inline void
start_server_in(struct fx *f, const char *id, const char *session, const char *cmdline)
{
    char create_json[128], path[256];
    snprintf(create_json, sizeof(create_json), "{\"sessionId\":\"%s\"}", session);
    assert_int_equal(call(f, "POST", tb(id, "/process/session"), create_json), 201);
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "command", cmdline);
    cJSON_AddBoolToObject(body, "async", true);
    char *s = cJSON_PrintUnformatted(body);
    snprintf(path, sizeof(path), "/process/session/%s/exec", session);
    assert_int_equal(call(f, "POST", tb(id, path), s), 202);
    cJSON_free(s);
    cJSON_Delete(body);
}

/* GET /alive on the data plane `host` until it stops answering 502 (the mock answers 502
 * until the latency model says the server is up); returns the last status. */
static inline long wait_alive(struct fx *f, const char *host, const char *extra)
{
    for (int i = 0; i < 400; i++) {
        long st = send_req(f, "GET", "/alive", NULL, false, host, NULL, extra);
        if (st != 502)
            return st;
        nap_ms(10);
    }
    return 502;
}

/* Short delays for the action-server tests: the server answers 50 ms after its start. */
static inline int start_mock_fast(void **state)
{
    struct sp_latency lat = {
        .create_ms = 10, .start_ms = 10, .stop_ms = 10, .delete_ms = 10, .server_ms = 50};
    return start_mock(state, 0, lat);
}

/* Starts the action server in the sandbox `id` as OpenHands does and points f->host at its
 * data plane; wait_alive then waits until the latency model says the server is up. */
static inline void start_server(struct fx *f, const char *id, const char *cmdline)
{
    snprintf(f->host, sizeof(f->host), "4444-%s.localhost:%u", id, sp_mock_port(f->m));
    start_server_in(f, id, "oh", cmdline);
}

/* A fresh sandbox created with `body` (f->id), its action server up (f->host). */
static inline void sandbox_with_server(struct fx *f, const char *body)
{
    snprintf(f->id, sizeof(f->id), "%s", create(f, body));
    start_server(f, f->id, OPENHANDS_CMD);
    assert_int_equal(wait_alive(f, f->host, NULL), 200);
}

/* A CmdRunAction as OpenHands' event_to_dict writes it, without the timeout (the caller's). */
static inline cJSON *cmd_run_action(const char *cmd, bool blocking)
{
    cJSON *a = cJSON_CreateObject();
    cJSON_AddStringToObject(a, "message", "Running command");
    cJSON_AddStringToObject(a, "action", "run");
    cJSON *args = cJSON_AddObjectToObject(a, "args");
    cJSON_AddStringToObject(args, "command", cmd);
    cJSON_AddBoolToObject(args, "is_input", false);
    cJSON_AddStringToObject(args, "thought", "");
    cJSON_AddBoolToObject(args, "blocking", blocking);
    cJSON_AddBoolToObject(args, "is_static", false);
    cJSON_AddNullToObject(args, "cwd");
    cJSON_AddBoolToObject(args, "hidden", false);
    cJSON_AddStringToObject(args, "confirmation_state", "confirmed");
    cJSON_AddNumberToObject(args, "security_risk", -1);
    return a;
}

#endif
