/* The event driver carrying many lifecycles from one thread: 200 sandboxes on the in-process
 * Daytona mock, each a small state machine (create -> startup -> exec `echo ok` -> delete)
 * that submits its next operation from the done callback of the previous one, all turned by
 * one sp_loop_run. This is how the load driver keeps thousands in flight; here we check
 * that every lifecycle completes correctly and the mock is left with no live sandbox.
 *
 * The mock uses the synthetic backend: 200 shells in their own namespaces cost about 30 s of
 * kernel time per round, and on a loaded machine one exec could wait past the 30 s deadline
 * for its shell, a flake that said nothing about the driver under test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mock.h"
#include "provider.h"

#define N_LIFECYCLES 200

enum lc_stage { LC_CREATE, LC_STARTUP, LC_EXEC, LC_DELETE, LC_DONE };

struct lifecycle {
    struct sp_op op;
    struct sp_loop *loop;
    struct sp_client *client;
    enum lc_stage stage;
    struct sp_create_opts create;
    char session[32];
    struct sp_sandbox *sb;
    struct sp_exec x;
    enum sp_err failed_rc; /* first failure, SP_E_OK when none */
    char failure[320];     /* "startup: timeout in startup: ..." */
    enum lc_stage failed_stage;
    bool finished;
};

struct fixture {
    struct sp_mock *mock;
    struct sp_client *client;
    struct sp_loop *loop;
    struct lifecycle *lcs;
};

static const char *const stage_names[] = {"create", "startup", "exec", "delete", "done"};

static void lc_done(struct sp_op *op, enum sp_err rc, void *user);

static void lc_submit(struct lifecycle *lc)
{
    switch (lc->stage) {
    case LC_CREATE:
        sp_op_init_create(&lc->op, lc->client, &lc->create);
        break;
    case LC_STARTUP:
        sp_op_init_startup(&lc->op, lc->sb);
        break;
    case LC_EXEC:
        sp_op_init_exec(&lc->op, lc->sb, &lc->x);
        break;
    case LC_DELETE:
        sp_op_init_cleanup(&lc->op, lc->sb, SP_CLEANUP_DELETE);
        break;
    case LC_DONE:
        lc->finished = true;
        return;
    }
    sp_loop_submit(lc->loop, &lc->op, lc_done, lc);
}

static void lc_record_failure(struct lifecycle *lc, enum sp_err rc)
{
    if (lc->failed_rc != SP_E_OK)
        return;
    char text[256];
    lc->failed_rc = rc;
    lc->failed_stage = lc->stage;
    snprintf(lc->failure, sizeof(lc->failure), "%s: %s", stage_names[lc->stage],
             sp_error_format(&lc->op.err, text, sizeof(text)));
}

/* Advances the lifecycle; after a failure it still deletes a sandbox it has, so the leak
 * count at the end stays meaningful. */
static void lc_done(struct sp_op *op, enum sp_err rc, void *user)
{
    struct lifecycle *lc = user;
    if (rc != SP_E_OK)
        lc_record_failure(lc, rc);
    switch (lc->stage) {
    case LC_CREATE:
        lc->sb = op->sandbox;
        lc->stage = rc == SP_E_OK ? LC_STARTUP : LC_DONE;
        break;
    case LC_STARTUP:
    case LC_EXEC:
        lc->stage = rc == SP_E_OK ? lc->stage + 1 : LC_DELETE;
        break;
    case LC_DELETE:
    case LC_DONE:
        lc->stage = LC_DONE;
        break;
    }
    lc_submit(lc);
}

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    struct sp_mock_config cfg = {
        .vendor = "daytona",
        .backend = SP_MOCK_BACKEND_SYNTHETIC,
        .seed = 7,
        .latency = {.create_ms = 20,
                    .start_ms = 20,
                    .stop_ms = 10,
                    .delete_ms = 10,
                    .server_ms = 20,
                    .jitter = 0.5},
        .has_latency = true,
        .quiet = true,
    };
    struct sp_error err;
    sp_error_clear(&err);
    char text[384];
    if (sp_mock_start(&cfg, &fx->mock, &err) != SP_E_OK)
        fail_msg("sp_mock_start: %s", sp_error_format(&err, text, sizeof(text)));
    struct sp_client_opts opts = {
        .http_timeout_ms = 30000,
        .connect_timeout_ms = 5000,
        .ready_timeout_ms = 30000,
        .alive_interval_ms = 50,
        .alive_timeout_ms = 30000,
    };
    if (sp_client_new("daytona", sp_mock_env(fx->mock), &opts, &fx->client, &err) != SP_E_OK)
        fail_msg("sp_client_new: %s", sp_error_format(&err, text, sizeof(text)));
    if (sp_loop_new(&fx->loop, &err) != SP_E_OK)
        fail_msg("sp_loop_new: %s", sp_error_format(&err, text, sizeof(text)));
    fx->lcs = calloc(N_LIFECYCLES, sizeof(*fx->lcs));
    assert_non_null(fx->lcs);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    for (size_t i = 0; fx->lcs && i < N_LIFECYCLES; i++) {
        sp_exec_cleanup(&fx->lcs[i].x);
        sp_sandbox_free(fx->lcs[i].sb);
    }
    free(fx->lcs);
    sp_loop_free(fx->loop);
    sp_client_free(fx->client);
    sp_mock_stop(fx->mock);
    free(fx);
    return 0;
}

/* Submits every lifecycle of round `round`, runs the loop dry and checks each one. */
static void run_round(struct fixture *fx, int round)
{
    for (int i = 0; i < N_LIFECYCLES; i++) {
        struct lifecycle *prev = &fx->lcs[i];
        sp_exec_cleanup(&prev->x);
        sp_sandbox_free(prev->sb);
        memset(prev, 0, sizeof(*prev));
    }
    for (int i = 0; i < N_LIFECYCLES; i++) {
        struct lifecycle *lc = &fx->lcs[i];
        lc->loop = fx->loop;
        lc->client = fx->client;
        snprintf(lc->session, sizeof(lc->session), "evdrv-%d-%03d", round, i);
        lc->create.session = lc->session;
        lc->create.run_id = "evdrv";
        sp_exec_init(&lc->x, "echo ok");
        lc->x.timeout_ms = 20000;
        lc_submit(lc);
    }
    /* Every create is in flight at once before the loop turns. */
    assert_int_equal(sp_loop_in_flight(fx->loop), N_LIFECYCLES);
    assert_int_equal(sp_loop_run(fx->loop), 0);

    int ok = 0;
    for (int i = 0; i < N_LIFECYCLES; i++) {
        struct lifecycle *lc = &fx->lcs[i];
        if (!lc->finished)
            fail_msg("lifecycle %d did not finish (stage %s)", i, stage_names[lc->stage]);
        if (lc->failed_rc != SP_E_OK)
            fail_msg("lifecycle %d failed in %s", i, lc->failure);
        if (lc->x.exit_code != 0)
            fail_msg("lifecycle %d: echo ok exited %d", i, lc->x.exit_code);
        const char *out = sp_buf_str(&lc->x.out);
        if (strncmp(out, "ok", 2) != 0 || strspn(out + 2, "\r\n") != strlen(out + 2))
            fail_msg("lifecycle %d: expected output \"ok\", got \"%.60s\"", i, out);
        ok++;
    }
    assert_int_equal(ok, N_LIFECYCLES);
}

static void two_hundred_lifecycles_from_one_thread(void **state)
{
    struct fixture *fx = *state;
    run_round(fx, 0);
    struct sp_mock_stats st;
    sp_mock_stats(fx->mock, &st);
    assert_int_equal(st.created, N_LIFECYCLES);
    assert_int_equal(st.live, 0);
}

/* The loop keeps finished transfers and easy handles for the next operations, without
 * resetting the handles: a second round on the same loop sends each request with its own
 * method, headers and body (a DELETE left on a handle would end sandboxes early, a GET
 * where a DELETE belongs would leave them live). */
static void a_second_round_reuses_transfers_and_handles(void **state)
{
    struct fixture *fx = *state;
    run_round(fx, 0);
    run_round(fx, 1);
    struct sp_mock_stats st;
    sp_mock_stats(fx->mock, &st);
    assert_int_equal(st.created, 2 * N_LIFECYCLES);
    assert_int_equal(st.live, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(two_hundred_lifecycles_from_one_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(a_second_round_reuses_transfers_and_handles, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
