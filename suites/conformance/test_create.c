/* Requirements of the create and attach steps: a sandbox gets an id, carries its session
 * and run labels and its environment, and can be found again by label, as OpenHands finds
 * the sandbox of a conversation it resumes. */
#include "runner.h"

#include <stdio.h>

#include "mock.h"

static void create_returns_handle(struct sp_req_ctx *ctx)
{
    struct sp_sandbox *sb = sp_req_create(ctx, NULL, NULL);
    SP_REQUIRE(ctx, sp_sandbox_id(sb)[0] != '\0', "expected a sandbox id, got an empty one");
    if (sp_req_caps(ctx) & SP_CAP_LABELS)
        SP_REQUIRE(ctx, sp_sandbox_session(sb)[0] != '\0',
                   "expected a generated session label, got an empty one");
}

static void create_ids_unique(struct sp_req_ctx *ctx)
{
    struct sp_sandbox *a = sp_req_create(ctx, NULL, NULL);
    struct sp_sandbox *b = sp_req_create(ctx, NULL, NULL);
    SP_REQUIRE(ctx, strcmp(sp_sandbox_id(a), sp_sandbox_id(b)) != 0,
               "expected two sandboxes to get different ids, got \"%s\" twice", sp_sandbox_id(a));
    if (sp_req_caps(ctx) & SP_CAP_LABELS)
        SP_REQUIRE(ctx, strcmp(sp_sandbox_session(a), sp_sandbox_session(b)) != 0,
                   "expected two generated sessions to differ, got \"%s\" twice",
                   sp_sandbox_session(a));
}

static void create_env_reaches_sandbox(struct sp_req_ctx *ctx)
{
    struct sp_kv *env = sp_req_kv(ctx);
    SP_REQUIRE(ctx, sp_kv_set(env, "SP_CREATE_VAR", "from-create-7") == 0,
               "expected to build the environment, got out of memory");
    struct sp_create_opts o = {.env = env};
    struct sp_sandbox *sb = sp_req_create(ctx, NULL, &o);
    SP_REQUIRE_OK(ctx, sp_sandbox_startup(sb, sp_req_err(ctx)));
    struct sp_exec *x = SP_EXEC_OK(ctx, sb, "echo \"v=$SP_CREATE_VAR\"");
    SP_REQUIRE_STR_CONTAINS(ctx, sp_buf_str(&x->out), "v=from-create-7");
}

static void create_attach_by_session(struct sp_req_ctx *ctx)
{
    struct sp_sandbox *sb = sp_req_sandbox(ctx);
    struct sp_sandbox *again = NULL;
    SP_REQUIRE_RC(ctx, sp_req_attach(ctx, NULL, sp_sandbox_session(sb), &again), SP_E_OK,
                  "sp_sandbox_attach");
    SP_REQUIRE_STR_EQ(ctx, sp_sandbox_id(again), sp_sandbox_id(sb));
    SP_REQUIRE_STR_EQ(ctx, sp_sandbox_session(again), sp_sandbox_session(sb));
}

static void create_attach_then_use(struct sp_req_ctx *ctx)
{
    struct sp_sandbox *sb = sp_req_sandbox(ctx);
    struct sp_sandbox *again = NULL;
    SP_REQUIRE_RC(ctx, sp_req_attach(ctx, NULL, sp_sandbox_session(sb), &again), SP_E_OK,
                  "sp_sandbox_attach");
    SP_REQUIRE_OK(ctx, sp_sandbox_startup(again, sp_req_err(ctx)));
    struct sp_exec *x = SP_EXEC_OK(ctx, again, "echo sp-attached");
    SP_REQUIRE_INT_EQ(ctx, x->exit_code, 0);
    SP_REQUIRE_STR_CONTAINS(ctx, sp_buf_str(&x->out), "sp-attached");
}

static void create_attach_unknown_not_found(struct sp_req_ctx *ctx)
{
    const char *session = sp_req_printf(ctx, "sp-no-such-session-%s", sp_req_target(ctx)->run_id);
    struct sp_sandbox *sb = NULL;
    SP_REQUIRE_RC(ctx, sp_req_attach(ctx, NULL, session, &sb), SP_E_NOT_FOUND, "sp_sandbox_attach");
}

/* Uses a run id of its own, so the attach finds exactly this sandbox even when the run has
 * others alive. */
static void create_run_label_findable(struct sp_req_ctx *ctx)
{
    const char *run_id = sp_req_printf(ctx, "%s-probe", sp_req_target(ctx)->run_id);
    struct sp_create_opts o = {.run_id = run_id};
    struct sp_sandbox *sb = NULL;
    sp_error_clear(sp_req_err(ctx));
    enum sp_err rc = sp_sandbox_create(sp_req_client(ctx), &o, &sb, sp_req_err(ctx));
    sp_req_track_sandbox(ctx, sb);
    SP_REQUIRE_RC(ctx, rc, SP_E_OK, "sp_sandbox_create");
    struct sp_sandbox *found = NULL;
    SP_REQUIRE_RC(ctx, sp_req_attach(ctx, SP_RUN_LABEL, run_id, &found), SP_E_OK,
                  "sp_sandbox_attach");
    SP_REQUIRE_STR_EQ(ctx, sp_sandbox_id(found), sp_sandbox_id(sb));
}

/* More sandboxes than one list page holds (20 is Runloop's default page, and OpenHands'
 * RunloopRuntime reads only that first page of running devboxes): the first and the last
 * created are found by session whichever end of the list the provider puts first. It holds
 * 21 sandboxes at once, so it runs alone ([Serial]). */
#define BEYOND_PAGE_SANDBOXES 21

static void create_attach_beyond_first_page(struct sp_req_ctx *ctx)
{
    struct sp_sandbox *found = NULL;
    struct sp_sandbox *first = sp_req_create(ctx, NULL, NULL), *last = first;
    for (int i = 1; i < BEYOND_PAGE_SANDBOXES; i++)
        last = sp_req_create(ctx, NULL, NULL);
    /* Started up, both are in every provider's list of running sandboxes. */
    SP_REQUIRE_OK(ctx, sp_sandbox_startup(first, sp_req_err(ctx)));
    SP_REQUIRE_OK(ctx, sp_sandbox_startup(last, sp_req_err(ctx)));
    SP_REQUIRE_RC(ctx, sp_req_attach(ctx, NULL, sp_sandbox_session(first), &found), SP_E_OK,
                  "sp_sandbox_attach");
    SP_REQUIRE_STR_EQ(ctx, sp_sandbox_id(found), sp_sandbox_id(first));
    SP_REQUIRE_RC(ctx, sp_req_attach(ctx, NULL, sp_sandbox_session(last), &found), SP_E_OK,
                  "sp_sandbox_attach");
    SP_REQUIRE_STR_EQ(ctx, sp_sandbox_id(found), sp_sandbox_id(last));
}

/* Journalled create calls on the mock: *v2 of SandboxCreateV2, *v1 of SandboxCreate (whose
 * path is a prefix of the V2 one). */
static void create_counts(struct sp_req_ctx *ctx, long *v1, long *v2)
{
    *v2 = sp_mock_journal_count(sp_req_mock(ctx), "POST",
                                "/modal.client.ModalClient/SandboxCreateV2");
    *v1 =
        sp_mock_journal_count(sp_req_mock(ctx), "POST", "/modal.client.ModalClient/SandboxCreate") -
        *v2;
}

/* Both sandbox generations, each through its own calls: create, startup, exec, attach. */
static void create_both_generations(struct sp_req_ctx *ctx)
{
    for (int gen = 0; gen <= 1; gen++) {
        struct sp_kv *env = sp_req_kv(ctx);
        SP_REQUIRE(ctx,
                   sp_kv_merge(env, sp_req_target(ctx)->env) == 0 &&
                       sp_kv_set(env, SP_GENERATION_VAR, gen ? "1" : "0") == 0,
                   "expected to build the environment, got out of memory");
        struct sp_client *c = sp_req_client_with(ctx, env, NULL);
        long v1 = 0, v2 = 0, v1_after = 0, v2_after = 0;
        if (sp_req_mock(ctx))
            create_counts(ctx, &v1, &v2);
        struct sp_sandbox *sb = sp_req_create(ctx, c, NULL);
        if (sp_req_mock(ctx)) {
            create_counts(ctx, &v1_after, &v2_after);
            SP_REQUIRE(ctx, v1_after - v1 == !gen && v2_after - v2 == gen,
                       "expected %s=%d to create with %s once, got %ld SandboxCreate and %ld "
                       "SandboxCreateV2 calls",
                       SP_GENERATION_VAR, gen, gen ? "SandboxCreateV2" : "SandboxCreate",
                       v1_after - v1, v2_after - v2);
        }
        SP_REQUIRE_OK(ctx, sp_sandbox_startup(sb, sp_req_err(ctx)));
        struct sp_exec *x = SP_EXEC_OK(ctx, sb, gen ? "echo gen-v2" : "echo gen-v1");
        SP_REQUIRE_STR_CONTAINS(ctx, sp_buf_str(&x->out), gen ? "gen-v2" : "gen-v1");
        struct sp_sandbox *found = NULL;
        SP_REQUIRE_RC(ctx, sp_req_attach(ctx, NULL, sp_sandbox_session(sb), &found), SP_E_OK,
                      "sp_sandbox_attach");
        SP_REQUIRE_STR_EQ(ctx, sp_sandbox_id(found), sp_sandbox_id(sb));
    }
}

const struct sp_requirement sp__req_create[] = {
    {"create.returns_handle", SP_STEP_CREATE, SP_LEVEL_MUST, "[Conformance]", 0, 0,
     "Creating a sandbox returns its id (and a session label where labels exist).",
     create_returns_handle, 0},
    {"create.ids_unique", SP_STEP_CREATE, SP_LEVEL_MUST, "[Conformance]", 0, 0,
     "Two sandboxes created one after the other get different ids and sessions.", create_ids_unique,
     0},
    {"create.env_reaches_sandbox", SP_STEP_CREATE, SP_LEVEL_MUST, "[Conformance]", 0, 0,
     "Environment variables given at create are visible to commands run in the sandbox.",
     create_env_reaches_sandbox, 0},
    {"create.run_label_findable", SP_STEP_CREATE, SP_LEVEL_MUST, "[Conformance]", SP_CAP_LABELS, 0,
     "A sandbox carries the run label it was created with, so a sweep can find it.",
     create_run_label_findable, 0},
    {"attach.by_session_label", SP_STEP_ATTACH, SP_LEVEL_MUST, "[Conformance]", SP_CAP_LABELS, 0,
     "Attaching by session label finds the sandbox created with that session.",
     create_attach_by_session, 0},
    {"attach.then_exec", SP_STEP_ATTACH, SP_LEVEL_SHOULD, "[Conformance]", SP_CAP_LABELS, 0,
     "A sandbox found by attach can be started up again and runs commands.", create_attach_then_use,
     0},
    {"attach.unknown_session_not_found", SP_STEP_ATTACH, SP_LEVEL_MUST, "[Conformance]",
     SP_CAP_LABELS, 0, "Attaching to a session no sandbox carries fails with not_found.",
     create_attach_unknown_not_found, 0},
    {"attach.beyond_first_page", SP_STEP_ATTACH, SP_LEVEL_SHOULD, "[Conformance][Slow][Serial]",
     SP_CAP_LABELS, 0,
     "Attach finds a session among more sandboxes than one list page holds (OpenHands' "
     "Runloop runtime reads only the first page of 20 running devboxes and misses it).",
     create_attach_beyond_first_page, 0},
    /* Counts the mock's create calls, so it runs alone ([Serial]). */
    {"create.both_generations", SP_STEP_CREATE, SP_LEVEL_MUST, "[Conformance][Serial]",
     SP_CAP_GENERATIONS, 0,
     "Both sandbox API generations (Modal's V1, which OpenHands' Python client uses, and V2, "
     "the JS SDK's default) create a sandbox that starts up, runs a command and is found "
     "by its session.",
     create_both_generations, 0},
};
const size_t sp__req_create_count = sizeof(sp__req_create) / sizeof(sp__req_create[0]);
