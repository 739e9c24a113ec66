/* Requirements of the startup step: a sandbox becomes ready and its data plane answers, and
 * when it does not (stuck creating, error state, a data plane that never answers) startup
 * ends with the right error class instead of hanging. The failure cases need the mock's
 * fault injection and run with a client of short deadlines, alone ([Serial]): a fault is
 * injected on the next sandbox the mock creates, whoever creates it. */
#include "runner.h"

#include <stdio.h>

#include "mock.h"

/* The fault cases wait out their deadlines on purpose: a client with the target's short
 * fault deadline (sp_req_fault_deadline_ms), so a provider that honours it ends quickly. */
static struct sp_client *short_deadline_client(struct sp_req_ctx *ctx)
{
    struct sp_client_opts o = sp_req_opts(ctx);
    long d = sp_req_fault_deadline_ms(ctx);
    o.ready_timeout_ms = d;
    o.alive_timeout_ms = d;
    if (o.alive_interval_ms <= 0 || o.alive_interval_ms > d / 10)
        o.alive_interval_ms = d / 10 > 0 ? d / 10 : 1;
    o.http_timeout_ms = 2 * d;
    return sp_req_client_with(ctx, NULL, &o);
}

/* Creates a sandbox with c; a create failure is returned (the sandbox is NULL) instead of
 * failing the check, as a provider whose create waits for readiness reports faults there. */
static enum sp_err try_create(struct sp_req_ctx *ctx, struct sp_client *c, struct sp_sandbox **sb)
{
    struct sp_create_opts o = {.run_id = sp_req_target(ctx)->run_id};
    *sb = NULL;
    sp_error_clear(sp_req_err(ctx));
    enum sp_err rc = sp_sandbox_create(c, &o, sb, sp_req_err(ctx));
    sp_req_track_sandbox(ctx, *sb);
    return rc;
}

static void require_state_in_message(struct sp_req_ctx *ctx, struct sp_sandbox *sb)
{
    const char *state = sp_sandbox_state(sb);
    SP_REQUIRE(ctx, state[0] != '\0', "expected the sandbox to have a last seen state, got none");
    SP_REQUIRE_STR_CONTAINS(ctx, sp_req_err(ctx)->msg, state);
}

static void startup_ready(struct sp_req_ctx *ctx)
{
    struct sp_sandbox *sb = sp_req_create(ctx, NULL, NULL);
    SP_REQUIRE_OK(ctx, sp_sandbox_startup(sb, sp_req_err(ctx)));
    SP_REQUIRE(ctx, sp_sandbox_state(sb)[0] != '\0',
               "expected a provider state after startup, got none");
    SP_REQUIRE(ctx, sp_sandbox_data_url(sb)[0] != '\0',
               "expected a data-plane URL after startup, got none");
}

static void startup_never_alive_times_out(struct sp_req_ctx *ctx)
{
    struct sp_client *c = short_deadline_client(ctx);
    sp_mock_inject(sp_req_mock(ctx), SP_MOCK_FAULT_NEVER_ALIVE, 1);
    struct sp_sandbox *sb = NULL;
    SP_REQUIRE_RC(ctx, try_create(ctx, c, &sb), SP_E_OK, "sp_sandbox_create");
    SP_REQUIRE_ERR(ctx, sp_sandbox_startup(sb, sp_req_err(ctx)), SP_E_TIMEOUT);
    require_state_in_message(ctx, sb);
}

static void startup_stuck_creating_times_out(struct sp_req_ctx *ctx)
{
    struct sp_client *c = short_deadline_client(ctx);
    sp_mock_inject(sp_req_mock(ctx), SP_MOCK_FAULT_STUCK_CREATING, 1);
    struct sp_sandbox *sb = NULL;
    enum sp_err rc = try_create(ctx, c, &sb);
    if (rc != SP_E_OK) {
        SP_REQUIRE_RC(ctx, rc, SP_E_TIMEOUT, "sp_sandbox_create");
        return;
    }
    SP_REQUIRE_ERR(ctx, sp_sandbox_startup(sb, sp_req_err(ctx)), SP_E_TIMEOUT);
    require_state_in_message(ctx, sb);
}

static void startup_error_state_reported(struct sp_req_ctx *ctx)
{
    struct sp_client *c = short_deadline_client(ctx);
    sp_mock_inject(sp_req_mock(ctx), SP_MOCK_FAULT_ERROR_STATE, 1);
    struct sp_sandbox *sb = NULL;
    enum sp_err rc = try_create(ctx, c, &sb);
    if (rc != SP_E_OK) {
        /* A create call that waits for the sandbox (E2B) reports the failure as its own. */
        if (rc != SP_E_PROVIDER)
            SP_REQUIRE_RC(ctx, rc, SP_E_STATE, "sp_sandbox_create [or provider]");
        return;
    }
    SP_REQUIRE_ERR(ctx, sp_sandbox_startup(sb, sp_req_err(ctx)), SP_E_STATE);
}

static void startup_data_plane_requires_token(struct sp_req_ctx *ctx)
{
    struct sp_create_opts o = {.access = SP_ACCESS_TOKEN};
    struct sp_sandbox *sb = sp_req_create(ctx, NULL, &o);
    SP_REQUIRE_OK(ctx, sp_sandbox_startup(sb, sp_req_err(ctx)));
    struct sp_exec *x = SP_EXEC_OK(ctx, sb, "echo sp-with-token");
    SP_REQUIRE_STR_CONTAINS(ctx, sp_buf_str(&x->out), "sp-with-token");
    SP_REQUIRE(ctx, sp_sandbox_forget_access_token(sb),
               "expected the handle of a token-protected sandbox to hold a token, got none");
    x = sp_req_exec(ctx, "echo sp-without-token");
    x->timeout_ms = 10000;
    SP_REQUIRE_ERR(ctx, sp_exec(sb, x, sp_req_err(ctx)), SP_E_AUTH);
}

/* OpenHands asks for the data-plane URL again when it attaches (Runloop's create_tunnel,
 * Daytona's preview link) and keeps using it: it must not change. */
static void startup_data_url_stable(struct sp_req_ctx *ctx)
{
    struct sp_sandbox *sb = sp_req_sandbox(ctx);
    char *url = sp_req_printf(ctx, "%s", sp_sandbox_data_url(sb));
    struct sp_sandbox *again = NULL;
    SP_REQUIRE_RC(ctx, sp_req_attach(ctx, NULL, sp_sandbox_session(sb), &again), SP_E_OK,
                  "sp_sandbox_attach");
    SP_REQUIRE_OK(ctx, sp_sandbox_startup(again, sp_req_err(ctx)));
    SP_REQUIRE_STR_EQ(ctx, sp_sandbox_data_url(again), url);
    struct sp_exec *x = SP_EXEC_OK(ctx, again, "echo sp-same-url");
    SP_REQUIRE_STR_CONTAINS(ctx, sp_buf_str(&x->out), "sp-same-url");
}

/* The data plane is the tunnel of the server port: a URL of its own, not the control plane's,
 * https (the mock's tunnels too: TLS with the CA of its ready line), and the action server
 * answers through it. */
static void startup_server_port_tunnel(struct sp_req_ctx *ctx)
{
    struct sp_sandbox *sb = sp_req_sandbox(ctx);
    const char *url = sp_sandbox_data_url(sb);
    SP_REQUIRE(ctx, url[0] != '\0', "expected a tunnel URL for the server port, got none");
    SP_REQUIRE(ctx, strncmp(url, "https://", 8) == 0, "expected an https:// tunnel URL, got \"%s\"",
               url);
    for (size_t i = 0; i < sp_req_target(ctx)->env->n; i++) {
        const char *v = sp_req_target(ctx)->env->items[i].val;
        if (strstr(sp_req_target(ctx)->env->items[i].key, "SERVER_URL") != NULL)
            SP_REQUIRE(ctx, strcmp(url, v) != 0,
                       "expected the tunnel to differ from the control plane %s", v);
    }
    struct sp_exec *x = SP_EXEC_OK(ctx, sb, "echo through-the-tunnel");
    SP_REQUIRE_STR_CONTAINS(ctx, sp_buf_str(&x->out), "through-the-tunnel");
}

const struct sp_requirement sp__req_startup[] = {
    {"startup.ready_within_deadline", SP_STEP_STARTUP, SP_LEVEL_MUST, "[Conformance]", 0, 0,
     "A new sandbox reaches its started state and its data plane answers within the startup "
     "deadlines.",
     startup_ready, 0},
    {"startup.never_alive_times_out", SP_STEP_STARTUP, SP_LEVEL_MUST,
     "[Conformance][Disruptive][Serial]", 0, SP_REQ_NEEDS_MOCK,
     "When the data plane never answers, startup fails with timeout at its deadline and the "
     "message reports the last state seen.",
     startup_never_alive_times_out, 0},
    {"startup.stuck_creating_times_out", SP_STEP_STARTUP, SP_LEVEL_MUST,
     "[Conformance][Disruptive][Serial]", 0, SP_REQ_NEEDS_MOCK,
     "A sandbox that never leaves its creating state makes create or startup fail with "
     "timeout, reporting the last state.",
     startup_stuck_creating_times_out, 0},
    {"startup.error_state_reported", SP_STEP_STARTUP, SP_LEVEL_MUST,
     "[Conformance][Disruptive][Serial]", 0, SP_REQ_NEEDS_MOCK,
     "A sandbox that enters the provider's error state makes startup fail with state (or a "
     "create call that waits for it fail with state or provider), not time out.",
     startup_error_state_reported, 0},
    {"startup.data_plane_requires_token", SP_STEP_STARTUP, SP_LEVEL_MUST, "[Conformance]",
     SP_CAP_ACCESS_TOKEN, 0,
     "The data plane of a token-protected sandbox refuses a request without the token with an "
     "auth error.",
     startup_data_plane_requires_token, 0},
    {"startup.data_url_stable", SP_STEP_STARTUP, SP_LEVEL_MUST, "[Conformance]",
     SP_CAP_LABELS | SP_CAP_ACTION_SERVER, 0,
     "Starting up a sandbox found again by its session gives the same action-server URL "
     "(OpenHands re-requests the tunnel or preview link on attach and reuses it).",
     startup_data_url_stable, 0},
    {"startup.server_port_tunnel", SP_STEP_STARTUP, SP_LEVEL_MUST, "[Conformance]",
     SP_CAP_PORT_TUNNEL, 0,
     "The sandbox's server port has a tunnel: startup finds it among the sandbox's tunnels, "
     "its URL is https and not the control plane's, and the action server answers through it.",
     startup_server_port_tunnel, 0},
};
const size_t sp__req_startup_count = sizeof(sp__req_startup) / sizeof(sp__req_startup[0]);
