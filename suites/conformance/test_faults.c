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

/* No sandbox more in the mock than `before` live ones. */
static void require_none_left(struct sp_req_ctx *ctx, long before)
{
    long n = live(ctx) - before;
    SP_REQUIRE(ctx, n == 0, "expected no sandbox left in the mock after the failed create, %ld are",
               n);
}

/* Create with c under a create fault: want class `want`, the step in the message, no
 * sandbox handed out and none left in the mock. Returns the live count before it. */
static long create_fails(struct sp_req_ctx *ctx, struct sp_client *c, enum sp_err want)
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
    require_none_left(ctx, before);
    return before;
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

/* A started sandbox (a client of fault_opts), then spec armed for every request that
 * follows, and an exec record of command for them. */
static struct sp_exec *
exec_under(struct sp_req_ctx *ctx, const char *spec, const char *command, struct sp_sandbox **out)
{
    struct sp_client_opts o = fault_opts(ctx);
    struct sp_client *c = sp_req_client_with(ctx, NULL, &o);
    *out = sp_req_create(ctx, c, NULL);
    SP_REQUIRE_OK(ctx, sp_sandbox_startup(*out, sp_req_err(ctx)));
    arm(ctx, spec);
    struct sp_exec *x = sp_req_exec(ctx, command);
    x->timeout_ms = o.http_timeout_ms;
    return x;
}

/* exec_under, then exec: want class `want`, naming the step. */
static void exec_fails(struct sp_req_ctx *ctx, const char *spec, enum sp_err want)
{
    struct sp_sandbox *sb = NULL;
    struct sp_exec *x = exec_under(ctx, spec, "echo sp-fault", &sb);
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
    SP_REQUIRE(ctx, tries == want, "expected %d exec attempt(s) on HTTP %d, the mock saw %ld", want,
               status, tries);
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
        SP_REQUIRE(ctx, x->exit_code == 0, "expected exit code 0 from exec through the API, got %d",
                   x->exit_code);
        return;
    }
    SP_REQUIRE_ERR(ctx, sp_exec(sb, x, sp_req_err(ctx)), SP_E_CONNECT);
    SP_REQUIRE_STR_CONTAINS(ctx, formatted(ctx), "exec");
}

/* --- time-shaped faults: delays, dribbles, Retry-After ------------------------------------- */

#define DELAY_SHORT_MS 200 /* absorbed: well inside DELAY_HTTP_MS */
#define DELAY_LONG_MS  700 /* past DELAY_HTTP_MS */
#define DELAY_HTTP_MS  450

static void sleep_until(int64_t due_ms)
{
    while (sp_now_ms() < due_ms)
        nanosleep(&(struct timespec){0, 20 * 1000000L}, NULL);
}

/* A create timeout's message names the step and the deadline that ran out. */
static void require_create_deadline_named(struct sp_req_ctx *ctx)
{
    const char *msg = formatted(ctx);
    SP_REQUIRE_STR_CONTAINS(ctx, msg, sp_step_name(SP_STEP_CREATE));
    SP_REQUIRE(ctx, strstr(msg, "within") != NULL || strstr(msg, "timed out after") != NULL,
               "expected the message to name the deadline, got \"%s\"", msg);
}

/* A client whose every request must be answered within http_ms (a create that blocks until
 * started too); retries wait as the vendor's do. */
static struct sp_client *deadline_client(struct sp_req_ctx *ctx, long http_ms)
{
    struct sp_client_opts o = sp_req_opts(ctx);
    o.http_timeout_ms = http_ms;
    o.ready_timeout_ms = http_ms;
    return sp_req_client_with(ctx, NULL, &o);
}

/* Every API POST waits DELAY_SHORT_MS, under the deadline: create succeeds, and the time it
 * took includes the delay (a lower bound: the mock cannot answer sooner). */
static void create_delay_absorbed(struct sp_req_ctx *ctx)
{
    struct sp_client *c = deadline_client(ctx, 5 * DELAY_SHORT_MS);
    long before = sp_mock_fault_count(sp_req_mock(ctx), SP_MOCK_FK_DELAY);
    int id = -1;
    const char *spec =
        sp_req_printf(ctx, "POST /** delay dist=fixed:%dms plane=api", DELAY_SHORT_MS);
    SP_REQUIRE_OK(ctx, sp_mock_fault_add(sp_req_mock(ctx), spec, &id, sp_req_err(ctx)));
    int64_t t0 = sp_now_ms();
    struct sp_sandbox *sb = sp_req_create(ctx, c, NULL);
    int64_t took = sp_now_ms() - t0;
    sp_mock_fault_remove(sp_req_mock(ctx), id); /* before the runner's delete */
    SP_REQUIRE(ctx, sp_sandbox_id(sb)[0] != '\0', "expected a sandbox id from the delayed create");
    long delayed = sp_mock_fault_count(sp_req_mock(ctx), SP_MOCK_FK_DELAY) - before;
    SP_REQUIRE(ctx, delayed >= 1, "expected the mock to have delayed the create, it delayed %ld",
               delayed);
    SP_REQUIRE(ctx, took >= DELAY_SHORT_MS,
               "expected the create to take at least the %d ms delay, it took %lld ms",
               DELAY_SHORT_MS, (long long)took);
}

/* The create waits DELAY_LONG_MS, past the client's deadline: timeout naming the deadline,
 * and once the delay is over no sandbox exists (the mock drops a request whose client left). */
static void create_delay_timeout(struct sp_req_ctx *ctx)
{
    struct sp_client *c = deadline_client(ctx, DELAY_HTTP_MS);
    arm(ctx, sp_req_printf(ctx, "POST /** delay dist=fixed:%dms plane=api", DELAY_LONG_MS));
    int64_t t0 = sp_now_ms();
    long before = create_fails(ctx, c, SP_E_TIMEOUT);
    require_create_deadline_named(ctx);
    sleep_until(t0 + DELAY_LONG_MS + 200);
    require_none_left(ctx, before);
}

/* exec_under spec, then `echo word`: the exec succeeds with exactly that output and the mock
 * injected fault kind at least once (`what` names it in the message). Returns how long the
 * exec took, in ms. */
static int64_t exec_succeeds_under(struct sp_req_ctx *ctx,
                                   const char *spec,
                                   enum sp_mock_fault_kind kind,
                                   const char *word,
                                   const char *what)
{
    long before = sp_mock_fault_count(sp_req_mock(ctx), kind);
    struct sp_sandbox *sb = NULL;
    struct sp_exec *x = exec_under(ctx, spec, sp_req_printf(ctx, "echo %s", word), &sb);
    int64_t t0 = sp_now_ms();
    SP_REQUIRE_OK(ctx, sp_exec(sb, x, sp_req_err(ctx)));
    int64_t took = sp_now_ms() - t0;
    SP_REQUIRE_INT_EQ(ctx, x->exit_code, 0);
    SP_REQUIRE_STR_EQ(ctx, sp_req_rtrim(ctx, sp_buf_str(&x->out)), word);
    long n = sp_mock_fault_count(sp_req_mock(ctx), kind) - before;
    SP_REQUIRE(ctx, n >= 1, "expected the mock to have %s, it did %ld", what, n);
    return took;
}

/* Replies at 4 KiB/s (a few hundred ms for an exec's), inside the deadline: read whole. */
static void exec_dribble_read_whole(struct sp_req_ctx *ctx)
{
    exec_succeeds_under(ctx, "* /** dribble rate=4096", SP_MOCK_FK_DRIBBLE, "sp-dribbled",
                        "dribbled the exec's reply");
}

/* Every request of the exec waits DELAY_SHORT_MS, under the deadline: the exec succeeds with
 * its output, taking at least the delay (a lower bound only). */
static void exec_delay_absorbed(struct sp_req_ctx *ctx)
{
    const char *spec = sp_req_printf(ctx, "* /** delay dist=fixed:%dms", DELAY_SHORT_MS);
    int64_t took =
        exec_succeeds_under(ctx, spec, SP_MOCK_FK_DELAY, "sp-delayed", "delayed the exec");
    SP_REQUIRE(ctx, took >= DELAY_SHORT_MS,
               "expected the exec to take at least the %d ms delay, it took %lld ms",
               DELAY_SHORT_MS, (long long)took);
}

/* 32 bytes a second on every API reply, a dozen before the deadline and never a whole
 * reply: create fails with timeout, never hangs, never takes the part read for the answer. The
 * server may have made the sandbox before its reply crawled out, as a real one would: it carries
 * the session label, so it is found and deleted, and nothing is left. */
static void create_dribble_timeout(struct sp_req_ctx *ctx)
{
    struct sp_client *c = deadline_client(ctx, DELAY_HTTP_MS);
    long before = live(ctx);
    int id = -1;
    SP_REQUIRE_OK(ctx, sp_mock_fault_add(sp_req_mock(ctx), "POST /** dribble rate=32 plane=api",
                                         &id, sp_req_err(ctx)));
    struct sp_create_opts o = {.session =
                                   sp_req_printf(ctx, "sp-dribble-%lld", (long long)sp_now_us()),
                               .run_id = sp_req_target(ctx)->run_id};
    struct sp_sandbox *sb = NULL;
    sp_error_clear(sp_req_err(ctx));
    enum sp_err rc = sp_sandbox_create(c, &o, &sb, sp_req_err(ctx));
    sp_req_track_sandbox(ctx, sb);
    sp_mock_fault_remove(sp_req_mock(ctx), id);
    SP_REQUIRE_RC(ctx, rc, SP_E_TIMEOUT, "sp_sandbox_create");
    SP_REQUIRE(ctx, sb == NULL, "expected no sandbox handle from a failed create, got one");
    require_create_deadline_named(ctx);
    struct sp_sandbox *made = NULL;
    rc = sp_req_attach(ctx, NULL, o.session, &made);
    if (rc != SP_E_NOT_FOUND) {
        SP_REQUIRE_RC(ctx, rc, SP_E_OK, "sp_sandbox_attach [or not_found]");
        SP_REQUIRE_OK(ctx, sp_sandbox_cleanup(made, SP_CLEANUP_DELETE, sp_req_err(ctx)));
    }
    require_none_left(ctx, before);
}

#define CRASH_AFTER_MS 1200 /* startup is done by then, even under a sanitizer */

/* The sandbox's server (action server, or the vendor's daemon the direct modes talk to)
 * stops answering after startup: its proxy answers 502, which exec reports as provider once
 * the vendor's rule stops retrying it (OpenHands' Daytona runtime retries 502 as long as it
 * waits for /alive: bounded here by a short alive deadline); delete still removes it. */
static void exec_server_crash(struct sp_req_ctx *ctx)
{
    struct sp_client_opts o = fault_opts(ctx);
    o.alive_timeout_ms = o.http_timeout_ms;
    struct sp_client *c = sp_req_client_with(ctx, NULL, &o);
    long before = live(ctx);
    arm(ctx, sp_req_printf(ctx, "sandbox server-crash after=%dms count=1", CRASH_AFTER_MS));
    int64_t t0 = sp_now_ms();
    struct sp_sandbox *sb = sp_req_create(ctx, c, NULL);
    SP_REQUIRE_OK(ctx, sp_sandbox_startup(sb, sp_req_err(ctx)));
    SP_REQUIRE(ctx, sp_now_ms() - t0 < CRASH_AFTER_MS,
               "expected startup within %d ms, before the crash, it took %lld ms", CRASH_AFTER_MS,
               (long long)(sp_now_ms() - t0));
    sleep_until(t0 + CRASH_AFTER_MS + 100);
    struct sp_exec *x = sp_req_exec(ctx, "echo sp-fault");
    x->timeout_ms = o.http_timeout_ms;
    SP_REQUIRE_ERR(ctx, sp_exec(sb, x, sp_req_err(ctx)), SP_E_PROVIDER);
    SP_REQUIRE_STR_CONTAINS(ctx, formatted(ctx), "exec");
    SP_REQUIRE_OK(ctx, sp_sandbox_cleanup(sb, SP_CLEANUP_DELETE, sp_req_err(ctx)));
    sp_req_deleted(ctx, sb);
    SP_REQUIRE(ctx, live(ctx) == before,
               "expected delete to remove the crashed sandbox, %ld left in the mock",
               live(ctx) - before);
}

/* One 429 (Retry-After 1 s) on the first request of `step` (create, or exec of a started
 * sandbox), with the vendor's real waits. A client that retries 429 there (OpenHands'
 * action-server client, Runloop's SDK) succeeds no sooner than Retry-After after the 429 (the
 * step cannot take less); one that does not fails with rate_limited carrying the seconds. */
static void one_429(struct sp_req_ctx *ctx, enum sp_step step)
{
    struct sp_sandbox *sb = step == SP_STEP_EXEC ? sp_req_sandbox(ctx) : NULL;
    struct sp_exec *x = sp_req_exec(ctx, "echo sp-after-429");
    x->timeout_ms = 10000;
    struct sp_create_opts o = {.run_id = sp_req_target(ctx)->run_id};
    long before = sp_mock_fault_count(sp_req_mock(ctx), SP_MOCK_FK_STATUS);
    arm(ctx, step == SP_STEP_EXEC ? "* /** 429 retry-after=1 count=1"
                                  : "POST /** 429 retry-after=1 count=1 plane=api");
    int64_t t0 = sp_now_ms();
    sp_error_clear(sp_req_err(ctx));
    enum sp_err rc = step == SP_STEP_EXEC
                         ? sp_exec(sb, x, sp_req_err(ctx))
                         : sp_sandbox_create(sp_req_client(ctx), &o, &sb, sp_req_err(ctx));
    int64_t took = sp_now_ms() - t0;
    if (step == SP_STEP_CREATE)
        sp_req_track_sandbox(ctx, sb);
    const char *what = step == SP_STEP_EXEC ? "sp_exec" : "sp_sandbox_create";
    if (sp_client_attempts_429(sp_req_client(ctx), step) <= 1) {
        SP_REQUIRE_RC(ctx, rc, SP_E_RATE_LIMITED, what);
        SP_REQUIRE_STR_CONTAINS(ctx, formatted(ctx), sp_step_name(step));
        SP_REQUIRE(ctx, sp_req_err(ctx)->retry_after_s == 1,
                   "expected the error to carry Retry-After 1 s, got %d",
                   sp_req_err(ctx)->retry_after_s);
        return;
    }
    SP_REQUIRE_RC(ctx, rc, SP_E_OK, what);
    if (step == SP_STEP_EXEC)
        SP_REQUIRE_STR_EQ(ctx, sp_req_rtrim(ctx, sp_buf_str(&x->out)), "sp-after-429");
    long n = sp_mock_fault_count(sp_req_mock(ctx), SP_MOCK_FK_STATUS) - before;
    SP_REQUIRE(ctx, n == 1, "expected the mock to have answered 429 once, it did %ld times", n);
    SP_REQUIRE(ctx, took >= 1000,
               "expected the retry no sooner than Retry-After (1 s), the %s took %lld ms",
               sp_step_name(step), (long long)took);
}

static void create_429_retry_after(struct sp_req_ctx *ctx)
{
    one_429(ctx, SP_STEP_CREATE);
}
static void exec_429_retry_after(struct sp_req_ctx *ctx)
{
    one_429(ctx, SP_STEP_EXEC);
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
    CREATE("429_retry_after",
           "A create answered 429 once (Retry-After 1 s) succeeds no sooner than Retry-After "
           "where the vendor's client retries 429, else fails with rate_limited carrying the "
           "seconds, naming the step.",
           create_429_retry_after),
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
    CREATE("delay_absorbed",
           "A create whose reply is delayed less than the client's deadline succeeds, taking "
           "at least the delay.",
           create_delay_absorbed),
    CREATE("delay_timeout",
           "A create whose reply is delayed past the client's deadline fails with timeout "
           "naming the deadline and the step, and leaves no sandbox once the delay is over.",
           create_delay_timeout),
    CREATE("dribble_timeout",
           "A create whose reply is dribbled too slowly for the deadline fails with timeout "
           "naming the step, never hangs, and leaves nothing (a sandbox the server made is "
           "found by its session label and deleted).",
           create_dribble_timeout),
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
    EXEC("delay_absorbed",
         "An exec whose requests are delayed less than the client's deadline succeeds with "
         "its output, taking at least the delay.",
         exec_delay_absorbed),
    EXEC("dribble_read_whole",
         "An exec whose reply is dribbled slowly but within the deadline is read whole: "
         "the command's output and exit code.",
         exec_dribble_read_whole),
    EXEC("server_crash_provider",
         "When the sandbox's server (action server, or the vendor's daemon in direct modes) "
         "crashes after startup, exec fails with provider (the proxy's 502) after the "
         "vendor's retries, naming the step, and delete still removes the sandbox.",
         exec_server_crash),
    EXEC("429_retry_after",
         "An exec answered 429 once (Retry-After 1 s) succeeds no sooner than Retry-After "
         "where the vendor's client retries 429, else fails with rate_limited carrying the "
         "seconds, naming the step.",
         exec_429_retry_after),
    EXEC("data_plane_dies_connect",
         "When the sandbox's data plane dies after startup "
         "(connections reset), exec over it fails with connect, naming the step; exec "
         "through the vendor's API (Runloop direct) still runs.",
         exec_data_plane_dies),
};
const size_t sp__req_faults_count = sizeof(sp__req_faults) / sizeof(sp__req_faults[0]);
