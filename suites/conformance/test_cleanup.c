/* Requirements of the cleanup step: stop keeps a sandbox, delete ends it and it is gone,
 * deleting twice is harmless, and, last of the whole run, nothing the run created is left
 * behind. Rule for a second delete: not_found or success, never a provider (5xx) error.
 * Checks that count the mock's live sandboxes run alone ([Serial]). */
#include "runner.h"

#include <stdio.h>

#include "mock.h"

static struct sp_mock_stats mock_stats(struct sp_req_ctx *ctx)
{
    struct sp_mock_stats st;
    memset(&st, 0, sizeof(st));
    if (sp_req_mock(ctx))
        sp_mock_stats(sp_req_mock(ctx), &st);
    return st;
}

static void delete_sandbox(struct sp_req_ctx *ctx, struct sp_sandbox *sb)
{
    SP_REQUIRE_OK(ctx, sp_sandbox_cleanup(sb, SP_CLEANUP_DELETE, sp_req_err(ctx)));
    sp_req_deleted(ctx, sb);
}

static void cleanup_stop_keeps_sandbox(struct sp_req_ctx *ctx)
{
    struct sp_sandbox *sb = sp_req_sandbox(ctx);
    long live = mock_stats(ctx).live;
    SP_REQUIRE_OK(ctx, sp_sandbox_cleanup(sb, SP_CLEANUP_STOP, sp_req_err(ctx)));
    if (sp_req_mock(ctx))
        SP_REQUIRE(ctx, mock_stats(ctx).live == live,
                   "expected a stopped sandbox to still exist (%ld live), got %ld", live,
                   mock_stats(ctx).live);
    if (sp_req_caps(ctx) & SP_CAP_LABELS) {
        struct sp_sandbox *again = NULL;
        SP_REQUIRE_RC(ctx, sp_req_attach(ctx, NULL, sp_sandbox_session(sb), &again), SP_E_OK,
                      "sp_sandbox_attach");
        SP_REQUIRE_STR_EQ(ctx, sp_sandbox_id(again), sp_sandbox_id(sb));
    }
}

/* OpenHands' resume path: attach to the stopped sandbox by its session, start it up again
 * (the provider restarts it and its data plane), and run a command. */
static void cleanup_stopped_resumes(struct sp_req_ctx *ctx)
{
    struct sp_sandbox *sb = sp_req_sandbox(ctx);
    SP_REQUIRE_OK(ctx, sp_sandbox_cleanup(sb, SP_CLEANUP_STOP, sp_req_err(ctx)));
    struct sp_sandbox *again = NULL;
    SP_REQUIRE_RC(ctx, sp_req_attach(ctx, NULL, sp_sandbox_session(sb), &again), SP_E_OK,
                  "sp_sandbox_attach");
    SP_REQUIRE_OK(ctx, sp_sandbox_startup(again, sp_req_err(ctx)));
    struct sp_exec *x = SP_EXEC_OK(ctx, again, "echo resumed");
    SP_REQUIRE_INT_EQ(ctx, x->exit_code, 0);
    SP_REQUIRE_STR_EQ(ctx, sp_req_rtrim(ctx, sp_buf_str(&x->out)), "resumed");
}

static void cleanup_default_succeeds(struct sp_req_ctx *ctx)
{
    struct sp_sandbox *sb = sp_req_sandbox(ctx);
    /* Whatever the default does (stop or delete), the runner deletes afterwards. */
    SP_REQUIRE_OK(ctx, sp_sandbox_cleanup(sb, SP_CLEANUP_DEFAULT, sp_req_err(ctx)));
}

static void cleanup_delete(struct sp_req_ctx *ctx)
{
    struct sp_sandbox *sb = sp_req_sandbox(ctx);
    long live = mock_stats(ctx).live;
    delete_sandbox(ctx, sb);
    if (sp_req_mock(ctx))
        SP_REQUIRE(ctx, mock_stats(ctx).live == live - 1,
                   "expected one sandbox fewer once delete returned (%ld), got %ld live", live - 1,
                   mock_stats(ctx).live);
}

static void cleanup_delete_twice(struct sp_req_ctx *ctx)
{
    struct sp_sandbox *sb = sp_req_sandbox(ctx);
    delete_sandbox(ctx, sb);
    sp_error_clear(sp_req_err(ctx));
    enum sp_err rc = sp_sandbox_cleanup(sb, SP_CLEANUP_DELETE, sp_req_err(ctx));
    if (rc != SP_E_NOT_FOUND)
        SP_REQUIRE_RC(ctx, rc, SP_E_OK, "the second delete [not_found is fine too]");
}

static void cleanup_gone_from_list(struct sp_req_ctx *ctx)
{
    struct sp_sandbox *sb = sp_req_sandbox(ctx);
    delete_sandbox(ctx, sb);
    struct sp_sandbox *again = NULL;
    SP_REQUIRE_RC(ctx, sp_req_attach(ctx, NULL, sp_sandbox_session(sb), &again), SP_E_NOT_FOUND,
                  "sp_sandbox_attach");
}

static void cleanup_nothing_left_behind(struct sp_req_ctx *ctx)
{
    const char *run_id = sp_req_target(ctx)->run_id;
    if (sp_req_mock(ctx)) {
        struct sp_mock_stats st = mock_stats(ctx);
        SP_REQUIRE(ctx, st.live == 0,
                   "expected no live sandbox after the run, got %ld of %ld created", st.live,
                   st.created);
    }
    if (sp_req_mock(ctx) == NULL && !(sp_req_caps(ctx) & SP_CAP_LABELS))
        SP_SKIP(ctx, "needs capability labels to find the run's sandboxes on a provider");
    if (sp_req_caps(ctx) & SP_CAP_LABELS) {
        struct sp_sandbox *left = NULL;
        enum sp_err rc = sp_req_attach(ctx, SP_RUN_LABEL, run_id, &left);
        SP_REQUIRE(ctx, rc != SP_E_OK && rc != SP_E_CONFLICT,
                   "expected no sandbox labelled %s=%s, got %s", SP_RUN_LABEL, run_id,
                   rc == SP_E_OK ? sp_sandbox_id(left) : "several");
        SP_REQUIRE_RC(ctx, rc, SP_E_NOT_FOUND, "sp_sandbox_attach");
    }
}

const struct sp_requirement sp__req_cleanup[] = {
    {"cleanup.stop_keeps_sandbox", SP_STEP_CLEANUP, SP_LEVEL_MUST, "[Conformance][Serial]",
     SP_CAP_STOP, 0,
     "Stopping a sandbox keeps it: it still exists and can be found by its session.",
     cleanup_stop_keeps_sandbox, 0},
    {"cleanup.stopped_sandbox_resumes", SP_STEP_CLEANUP, SP_LEVEL_MUST, "[Conformance][Slow]",
     SP_CAP_STOP | SP_CAP_LABELS, 0,
     "A stopped sandbox found again by its session starts up again and runs commands.",
     cleanup_stopped_resumes, 0},
    {"cleanup.default_succeeds", SP_STEP_CLEANUP, SP_LEVEL_MUST, "[Conformance]", 0, 0,
     "Cleanup with the provider's configured default (stop or delete) succeeds.",
     cleanup_default_succeeds, 0},
    {"cleanup.delete", SP_STEP_CLEANUP, SP_LEVEL_MUST, "[Conformance][Serial]", 0, 0,
     "Deleting a sandbox succeeds and it no longer exists once cleanup returns.", cleanup_delete,
     0},
    {"cleanup.delete_twice_safe", SP_STEP_CLEANUP, SP_LEVEL_MUST, "[Conformance]", 0, 0,
     "Deleting a deleted sandbox is not_found or succeeds, never a provider error.",
     cleanup_delete_twice, 0},
    {"cleanup.gone_from_list", SP_STEP_CLEANUP, SP_LEVEL_MUST, "[Conformance]", SP_CAP_LABELS, 0,
     "A deleted sandbox is no longer found by its session.", cleanup_gone_from_list, 0},
    {"cleanup.nothing_left_behind", SP_STEP_CLEANUP, SP_LEVEL_MUST, "[Conformance][Serial]", 0,
     SP_REQ_LAST,
     "After the run no sandbox it created is left: none live on the mock, none carrying the "
     "run label on a provider.",
     cleanup_nothing_left_behind, 0},
};
const size_t sp__req_cleanup_count = sizeof(sp__req_cleanup) / sizeof(sp__req_cleanup[0]);
