/* [Disruptive] requirements that classify injected faults (mocks only): for each fault the
 * mock core can inject on the way to create or exec, the client ends the step with the
 * right error class, its message names the step, and the fault leaves nothing behind. They
 * are written once against the provider interface: the faults match every vendor's routes
 * by method and plane (the first API POST is the create call of any vendor), so a
 * new provider inherits them. Deadlines are short client options, so the suite stays fast. */
#include "runner.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mock.h"

#define FAULT_HTTP_MS 2500

struct armed {
    struct sp_mock *m;
    int id;
};

static void disarm(void *p)
{
    struct armed *a = p;
    sp_mock_fault_remove(a->m, a->id);
}

/* Arms spec on the target's mock until the check ends (passed or not). */
static void arm(struct sp_req_ctx *ctx, const char *spec)
{
    struct armed *a = sp_req_alloc(ctx, sizeof(*a));
    a->m = sp_req_mock(ctx);
    SP_REQUIRE_OK(ctx, sp_mock_fault_add(a->m, spec, &a->id, sp_req_err(ctx)));
    sp_req_defer(ctx, disarm, a);
}

/* The target's fault deadline bounds a request (at most FAULT_HTTP_MS) and retries wait
 * 10 ms: these requirements check how a fault is classified and how often it is retried,
 * not the vendor's waits, which would only slow the suite. */
static struct sp_client_opts fault_opts(struct sp_req_ctx *ctx)
{
    struct sp_client_opts o = sp_req_opts(ctx);
    long d = 3 * sp_req_fault_deadline_ms(ctx);
    o.http_timeout_ms = d < FAULT_HTTP_MS ? d : FAULT_HTTP_MS;
    o.ready_timeout_ms = o.http_timeout_ms; /* bounds a create that blocks until started */
    o.retry_wait_ms = 10;
    return o;
}

static struct sp_client *short_client(struct sp_req_ctx *ctx)
{
    struct sp_client_opts o = fault_opts(ctx);
    return sp_req_client_with(ctx, NULL, &o);
}

/* The error as reports print it: class, step, HTTP status, message. */
static const char *formatted(struct sp_req_ctx *ctx)
{
    char *buf = sp_req_alloc(ctx, 1024);
    return sp_error_format(sp_req_err(ctx), buf, 1024);
}

static long live(struct sp_req_ctx *ctx)
{
    struct sp_mock_stats st;
    sp_mock_stats(sp_req_mock(ctx), &st);
    return st.live;
}

/* Create with c under a create fault: want class `want`, the step in the message, no
 * sandbox handed out and none left in the mock. */
static void create_fails(struct sp_req_ctx *ctx, struct sp_client *c, enum sp_err want)
{
    long before = live(ctx);
    struct sp_create_opts o = {.run_id = sp_req_target(ctx)->run_id};
    struct sp_sandbox *sb = NULL;
    sp_error_clear(sp_req_err(ctx));
    enum sp_err rc = sp_sandbox_create(c, &o, &sb, sp_req_err(ctx));
    sp_req_track_sandbox(ctx, sb);
    SP_REQUIRE_RC(ctx, rc, want, "sp_sandbox_create");
    SP_REQUIRE(ctx, sb == NULL, "expected no sandbox handle from a failed create, got one");
    SP_REQUIRE_STR_CONTAINS(ctx, formatted(ctx), "create");
    SP_REQUIRE(ctx, live(ctx) == before,
               "expected no sandbox left in the mock after the failed create, %ld are",
               live(ctx) - before);
}

static void create_rate_limited(struct sp_req_ctx *ctx)
{
    struct sp_client *c = short_client(ctx);
    arm(ctx, "POST /** 429 retry-after=1 plane=api");
    create_fails(ctx, c, SP_E_RATE_LIMITED);
    SP_REQUIRE(ctx, sp_req_err(ctx)->retry_after_s == 1,
               "expected the error to carry Retry-After 1 s, got %d",
               sp_req_err(ctx)->retry_after_s);
}

static void create_5xx(struct sp_req_ctx *ctx, int status)
{
    struct sp_client *c = short_client(ctx);
    char *spec = sp_req_printf(ctx, "POST /** %d plane=api", status);
    arm(ctx, spec);
    long before = sp_mock_fault_count(sp_req_mock(ctx), SP_MOCK_FK_STATUS);
    create_fails(ctx, c, SP_E_PROVIDER);
    long tries = sp_mock_fault_count(sp_req_mock(ctx), SP_MOCK_FK_STATUS) - before;
    /* As many attempts as the vendor's SDK makes (one where 5xx is not retried; Runloop's
     * SDKs retry 5xx), read through the provider interface. */
    int want = sp_client_attempts_5xx(c, SP_STEP_CREATE);
    SP_REQUIRE(ctx, tries == want, "expected %d create attempt(s) on HTTP %d, the mock saw %ld",
               want, status, tries);
    SP_REQUIRE_STR_CONTAINS(ctx, formatted(ctx), sp_req_printf(ctx, "HTTP %d", status));
}

static void create_500(struct sp_req_ctx *ctx)
{
    create_5xx(ctx, 500);
}
static void create_502(struct sp_req_ctx *ctx)
{
    create_5xx(ctx, 502);
}
static void create_503(struct sp_req_ctx *ctx)
{
    create_5xx(ctx, 503);
}
static void create_504(struct sp_req_ctx *ctx)
{
    create_5xx(ctx, 504);
}

static void create_reset(struct sp_req_ctx *ctx)
{
    struct sp_client *c = short_client(ctx);
    arm(ctx, "POST /** reset plane=api");
    create_fails(ctx, c, SP_E_CONNECT);
}

static void create_stall(struct sp_req_ctx *ctx)
{
    struct sp_client *c = short_client(ctx);
    arm(ctx, "POST /** stall plane=api");
    create_fails(ctx, c, SP_E_TIMEOUT);
}

/* A started sandbox, then the fault on every request that follows (exec's), then exec. */
static void exec_fails(struct sp_req_ctx *ctx, const char *spec, enum sp_err want)
{
    struct sp_client_opts o = fault_opts(ctx);
    struct sp_client *c = sp_req_client_with(ctx, NULL, &o);
    struct sp_sandbox *sb = sp_req_create(ctx, c, NULL);
    SP_REQUIRE_OK(ctx, sp_sandbox_startup(sb, sp_req_err(ctx)));
    arm(ctx, spec);
    struct sp_exec *x = sp_req_exec(ctx, "echo sp-fault");
    x->timeout_ms = fault_opts(ctx).http_timeout_ms;
    SP_REQUIRE_ERR(ctx, sp_exec(sb, x, sp_req_err(ctx)), want);
    SP_REQUIRE_STR_CONTAINS(ctx, formatted(ctx), "exec");
}

static void exec_reset(struct sp_req_ctx *ctx)
{
    exec_fails(ctx, "* /** reset", SP_E_CONNECT);
}
static void exec_reset_mid(struct sp_req_ctx *ctx)
{
    exec_fails(ctx, "* /** reset-mid", SP_E_PROTOCOL);
}
static void exec_truncated(struct sp_req_ctx *ctx)
{
    exec_fails(ctx, "* /** truncate", SP_E_PROTOCOL);
}
static void exec_malformed(struct sp_req_ctx *ctx)
{
    exec_fails(ctx, "* /** malformed", SP_E_PROTOCOL);
}
static void exec_empty(struct sp_req_ctx *ctx)
{
    exec_fails(ctx, "* /** empty", SP_E_PROTOCOL);
}
static void exec_oversize(struct sp_req_ctx *ctx)
{
    exec_fails(ctx, "* /** oversize", SP_E_PROTOCOL);
}
static void exec_no_eos(struct sp_req_ctx *ctx)
{
    exec_fails(ctx, "* /** no-eos", SP_E_PROTOCOL);
}
/* 5xx on exec: neither OpenHands (utils/request.py retries 429 only) nor the SDKs retry an
 * exec that failed with 500, 503 or 504: provider after one attempt (Runloop's direct exec
 * is an API call, retried as its SDK does). */
static void exec_5xx(struct sp_req_ctx *ctx, int status)
{
    long before = sp_mock_fault_count(sp_req_mock(ctx), SP_MOCK_FK_STATUS);
    exec_fails(ctx, sp_req_printf(ctx, "* /** %d", status), SP_E_PROVIDER);
    long tries = sp_mock_fault_count(sp_req_mock(ctx), SP_MOCK_FK_STATUS) - before;
    int want = sp_client_attempts_5xx(sp_req_client(ctx), SP_STEP_EXEC);
    SP_REQUIRE(ctx, tries == want, "expected %d exec attempt(s) on HTTP %d, the mock saw %ld",
               want, status, tries);
    SP_REQUIRE_STR_CONTAINS(ctx, formatted(ctx), sp_req_printf(ctx, "HTTP %d", status));
}

static void exec_500(struct sp_req_ctx *ctx)
{
    exec_5xx(ctx, 500);
}
static void exec_503(struct sp_req_ctx *ctx)
{
    exec_5xx(ctx, 503);
}
static void exec_504(struct sp_req_ctx *ctx)
{
    exec_5xx(ctx, 504);
}

static void exec_cut(struct sp_req_ctx *ctx)
{
    exec_fails(ctx, "* /** cut", SP_E_PROTOCOL);
}

/* A sandbox deleted behind the client's back after startup: exec says not_found. */
static void exec_vanished(struct sp_req_ctx *ctx)
{
    struct sp_client *c = short_client(ctx);
    arm(ctx, "sandbox vanish after=1500ms count=1");
    int64_t t0 = sp_now_ms();
    struct sp_sandbox *sb = sp_req_create(ctx, c, NULL);
    SP_REQUIRE_OK(ctx, sp_sandbox_startup(sb, sp_req_err(ctx)));
    while (sp_now_ms() - t0 < 1700) /* until it is gone */
        nanosleep(&(struct timespec){0, 50 * 1000000L}, NULL);
    struct sp_exec *x = sp_req_exec(ctx, "echo sp-fault");
    x->timeout_ms = fault_opts(ctx).http_timeout_ms;
    SP_REQUIRE_ERR(ctx, sp_exec(sb, x, sp_req_err(ctx)), SP_E_NOT_FOUND);
    SP_REQUIRE_STR_CONTAINS(ctx, formatted(ctx), "exec");
}

static void exec_stall(struct sp_req_ctx *ctx)
{
    exec_fails(ctx, "* /** stall", SP_E_TIMEOUT);
    const char *msg = sp_req_err(ctx)->msg;
    SP_REQUIRE(ctx, strstr(msg, "within") != NULL || strstr(msg, "timed out after") != NULL,
               "expected the message to name the deadline, got \"%s\"", msg);
}

static void exec_data_plane_dies(struct sp_req_ctx *ctx)
{
    struct sp_client *c = short_client(ctx);
    arm(ctx, "sandbox dataplane-dies after=1500ms count=1");
    int64_t t0 = sp_now_ms();
    struct sp_sandbox *sb = sp_req_create(ctx, c, NULL);
    SP_REQUIRE_OK(ctx, sp_sandbox_startup(sb, sp_req_err(ctx)));
    while (sp_now_ms() - t0 < 1600) /* until the data plane is dead */
        nanosleep(&(struct timespec){0, 50 * 1000000L}, NULL);
    struct sp_exec *x = sp_req_exec(ctx, "echo sp-fault");
    x->timeout_ms = fault_opts(ctx).http_timeout_ms;
    if (sp_client_exec_via_api(c)) {
        /* No connection to the data plane to lose: the API runs the command regardless. */
        SP_REQUIRE_OK(ctx, sp_exec(sb, x, sp_req_err(ctx)));
        SP_REQUIRE(ctx, x->exit_code == 0,
                   "expected exit code 0 from exec through the API, got %d", x->exit_code);
        return;
    }
    SP_REQUIRE_ERR(ctx, sp_exec(sb, x, sp_req_err(ctx)), SP_E_CONNECT);
    SP_REQUIRE_STR_CONTAINS(ctx, formatted(ctx), "exec");
}

#define DISRUPTIVE "[Conformance][Disruptive]", 0, SP_REQ_NEEDS_MOCK
#define CREATE(id, text, fn)                                                       \
    {                                                                              \
        "create.fault_" id, SP_STEP_CREATE, SP_LEVEL_MUST, DISRUPTIVE, text, fn, 0 \
    }
#define EXEC(id, text, fn)                                                     \
    {                                                                          \
        "exec.fault_" id, SP_STEP_EXEC, SP_LEVEL_MUST, DISRUPTIVE, text, fn, 0 \
    }

const struct sp_requirement sp__req_faults[] = {
    CREATE("429_rate_limited",
           "A create answered 429 every time fails with rate_limited carrying the Retry-After "
           "seconds, names the create step and leaves no sandbox.",
           create_rate_limited),
    CREATE("500_provider",
           "A create answered 500 fails with provider after the vendor SDK's attempts "
           "(one unless it retries 5xx), naming the step and the status, and leaves no "
           "sandbox.",
           create_500),
    CREATE("502_provider",
           "A create answered 502 fails with provider after the vendor SDK's attempts "
           "(one unless it retries 5xx), naming the step and the status, and leaves no "
           "sandbox.",
           create_502),
    CREATE("503_provider",
           "A create answered 503 fails with provider after the vendor SDK's attempts "
           "(one unless it retries 5xx), naming the step and the status, and leaves no "
           "sandbox.",
           create_503),
    CREATE("504_provider",
           "A create answered 504 fails with provider after the vendor SDK's attempts "
           "(one unless it retries 5xx), naming the step and the status, and leaves no "
           "sandbox.",
           create_504),
    CREATE("reset_connect",
           "A create whose connection is reset before any reply "
           "fails with connect and leaves no sandbox.",
           create_reset),
    CREATE("stall_timeout",
           "A create that gets no reply at all fails with timeout at "
           "the client's HTTP deadline and leaves no sandbox.",
           create_stall),
    EXEC("500_provider",
         "An exec answered 500 fails with provider after the vendor SDK's attempts, naming "
         "the step and the status.",
         exec_500),
    EXEC("503_provider",
         "An exec answered 503 fails with provider after the vendor SDK's attempts, naming "
         "the step and the status.",
         exec_503),
    EXEC("504_provider",
         "An exec answered 504 fails with provider after the vendor SDK's attempts, naming "
         "the step and the status.",
         exec_504),
    EXEC("reset_connect",
         "An exec whose connection is reset before any reply fails with "
         "connect, naming the step.",
         exec_reset),
    EXEC("reset_mid_protocol",
         "An exec whose reply is cut half-way by a reset fails with "
         "protocol (a reply cut short), "
         "naming the step.",
         exec_reset_mid),
    EXEC("truncated_protocol",
         "An exec whose reply body is cut short (consistent length) "
         "fails with protocol, naming the step.",
         exec_truncated),
    EXEC("malformed_protocol",
         "An exec whose reply body is garbage fails with protocol, "
         "naming the step.",
         exec_malformed),
    EXEC("empty_protocol",
         "An exec whose reply body is empty fails with protocol, naming "
         "the step.",
         exec_empty),
    EXEC("oversize_protocol",
         "An exec whose reply body is larger than the client's cap "
         "fails with protocol, naming the step, instead of buffering it.",
         exec_oversize),
    EXEC("no_eos_protocol",
         "An exec whose reply stream ends without its end-of-stream "
         "fails with protocol, naming the step.",
         exec_no_eos),
    EXEC("cut_protocol",
         "An exec whose reply stream is cut after its first part fails "
         "with protocol, naming the step.",
         exec_cut),
    EXEC("vanished_not_found",
         "An exec on a sandbox deleted behind the client's back "
         "fails with not_found, naming the step.",
         exec_vanished),
    EXEC("stall_timeout",
         "An exec that gets no reply at all fails with timeout naming "
         "the deadline.",
         exec_stall),
    EXEC("data_plane_dies_connect",
         "When the sandbox's data plane dies after startup "
         "(connections reset), exec over it fails with connect, naming the step; exec "
         "through the vendor's API (Runloop direct) still runs.",
         exec_data_plane_dies),
};
const size_t sp__req_faults_count = sizeof(sp__req_faults) / sizeof(sp__req_faults[0]);
