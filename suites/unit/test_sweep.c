/* Unit tests of `sandprobe sweep` (harness/cmd_sweep.c) and the providers' list step
 * (providers/daytona_listing.c, e2b_listing.c, runloop_listing.c, modal_listing.c), against
 * each vendor's
 * in-process mock on
 * loopback. What a SIGKILLed run leaves is made for real: a child process creates labelled
 * sandboxes and is killed with SIGKILL before any cleanup. Sweep must delete exactly the
 * sandboxes carrying the run label (and --label / --older-than), never an unlabelled one. */
#define _GNU_SOURCE /* open_memstream is POSIX 2008, but keep glibc's prototypes visible */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "mock.h"
#include "provider.h"

struct fx {
    const char *vendor;
    struct sp_mock *m;
    char *env[32]; /* "KEY=VALUE", the mock's variables */
    struct sp_client *c;
    char out[8192], err[2048]; /* the last sweep's output */
};

static int setup(void **state, const char *vendor)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct sp_mock_config cfg = {.vendor = vendor, .quiet = true};
    struct sp_error err;
    f->vendor = vendor;
    assert_int_equal(sp_mock_start(&cfg, &f->m, &err), SP_E_OK);
    const struct sp_kv *kv = sp_mock_env(f->m);
    for (size_t i = 0; i < kv->n && i < 31; i++)
        assert_true(asprintf(&f->env[i], "%s=%s", kv->items[i].key, kv->items[i].val) > 0);
    assert_int_equal(sp_client_new(vendor, kv, NULL, &f->c, &err), SP_E_OK);
    *state = f;
    return 0;
}

static int setup_daytona(void **state)
{
    return setup(state, "daytona");
}

static int setup_e2b(void **state)
{
    return setup(state, "e2b");
}

static int setup_runloop(void **state)
{
    return setup(state, "runloop");
}

static int setup_modal(void **state)
{
    return setup(state, "modal");
}

static int teardown(void **state)
{
    struct fx *f = *state;
    sp_client_free(f->c);
    sp_mock_stop(f->m);
    for (size_t i = 0; f->env[i]; i++)
        free(f->env[i]);
    free(f);
    return 0;
}

/* Creates a sandbox labelled with run id (NULL = no run label) and forgets it. */
static void create_one(struct sp_client *c, const char *run_id)
{
    struct sp_create_opts o = {.run_id = run_id};
    struct sp_sandbox *sb = NULL;
    struct sp_error err;
    if (sp_sandbox_create(c, &o, &sb, &err) != SP_E_OK) {
        char msg[512];
        fail_msg("create: %s", sp_error_format(&err, msg, sizeof(msg)));
    }
    sp_sandbox_free(sb);
}

/* A run that creates n labelled sandboxes and is then killed with SIGKILL. */
static void killed_run(struct fx *f, const char *run_id, int n)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct sp_client *c;
        struct sp_error err;
        if (sp_client_new(f->vendor, sp_mock_env(f->m), NULL, &c, &err) != SP_E_OK)
            _exit(2);
        for (int i = 0; i < n; i++) {
            struct sp_create_opts o = {.run_id = run_id};
            struct sp_sandbox *sb;
            if (sp_sandbox_create(c, &o, &sb, &err) != SP_E_OK)
                _exit(3);
        }
        raise(SIGKILL);
        _exit(4);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
}

/* Runs `sandprobe sweep --provider <vendor> args...` in-process with env (NULL = the mock's). */
static int sweep(struct fx *f, char *const *env, const char *a1, const char *a2, const char *a3)
{
    const char *argv[8] = {"sweep", "--provider", f->vendor};
    int argc = 3;
    const char *extra[] = {a1, a2, a3};
    for (int i = 0; i < 3; i++)
        if (extra[i])
            argv[argc++] = extra[i];
    char *obuf = NULL, *ebuf = NULL;
    size_t olen = 0, elen = 0;
    FILE *out = open_memstream(&obuf, &olen), *err = open_memstream(&ebuf, &elen);
    struct sp_cli_io io = {out, err, env ? env : f->env};
    int code = sp_cmd_sweep(argc, (char *const *)(uintptr_t)argv, &io);
    fclose(out);
    fclose(err);
    snprintf(f->out, sizeof(f->out), "%s", obuf);
    snprintf(f->err, sizeof(f->err), "%s", ebuf);
    free(obuf);
    free(ebuf);
    return code;
}

static int count(const char *haystack, const char *needle)
{
    int n = 0;
    for (const char *p = haystack; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* Live sandboxes on the mock, and how many of them carry run label value run (NULL = any). */
static size_t listed(struct fx *f, const char *run, size_t *with_run)
{
    struct sp_list l;
    struct sp_error err;
    sp_list_init(&l);
    assert_int_equal(sp_sandbox_list(f->c, NULL, NULL, &l, &err), SP_E_OK);
    size_t n = l.n;
    *with_run = 0;
    for (size_t i = 0; i < l.n; i++) {
        const char *v = sp_kv_get(&l.items[i].labels, SP_RUN_LABEL);
        *with_run += v && (run == NULL || strcmp(v, run) == 0);
        assert_true(l.items[i].created_ms > 1700000000000LL); /* a real creation time */
    }
    sp_list_cleanup(&l);
    return n;
}

static void test_sweep_removes_what_a_killed_run_left(void **state)
{
    struct fx *f = *state;
    size_t with_run;
    killed_run(f, "r-killed", 3);
    killed_run(f, "r-other", 1);
    create_one(f->c, NULL); /* not sandprobe's: must survive every sweep */
    assert_int_equal(listed(f, "r-killed", &with_run), 5);
    assert_int_equal(with_run, 3);

    assert_int_equal(sweep(f, NULL, "--label", "sandprobe_run=r-killed", "--dry-run"), 0);
    assert_int_equal(count(f->out, "would delete "), 3);
    assert_int_equal(listed(f, NULL, &with_run), 5);

    assert_int_equal(sweep(f, NULL, "--label", "sandprobe_run=r-killed", NULL), 0);
    assert_int_equal(count(f->out, "deleted "), 3);
    assert_int_equal(count(f->out, "r-killed"), 3);
    assert_int_equal(listed(f, NULL, &with_run), 2);
    assert_int_equal(with_run, 1);

    assert_int_equal(sweep(f, NULL, NULL, NULL, NULL), 0);
    assert_int_equal(count(f->out, "deleted "), 1);
    assert_non_null(strstr(f->out, "1 without the run label left alone"));
    assert_int_equal(listed(f, NULL, &with_run), 1);
    assert_int_equal(with_run, 0);

    assert_int_equal(sweep(f, NULL, NULL, NULL, NULL), 0);
    assert_int_equal(count(f->out, "deleted "), 0);
    assert_int_equal(listed(f, NULL, &with_run), 1);
}

static void test_sweep_older_than(void **state)
{
    struct fx *f = *state;
    size_t with_run;
    killed_run(f, "r-young", 2);
    assert_int_equal(sweep(f, NULL, "--older-than", "1h", NULL), 0);
    assert_int_equal(count(f->out, "deleted "), 0);
    assert_int_equal(listed(f, NULL, &with_run), 2);
    assert_int_equal(sweep(f, NULL, "--older-than", "0s", NULL), 0);
    assert_int_equal(count(f->out, "deleted "), 2);
    assert_int_equal(listed(f, NULL, &with_run), 0);
}

/* Runloop's shutdown devboxes stay listed and retrievable with status `shutdown` (R4): a sweep
 * neither counts them nor shuts them down again. 130 devboxes take more than one page of the
 * list step's 100, so the second page (`starting_after`) is swept too. */
static void test_sweep_runloop_pages_and_skips_shutdown(void **state)
{
    struct fx *f = *state;
    size_t with_run;
    killed_run(f, "r-many", 130);
    create_one(f->c, NULL);
    assert_int_equal(listed(f, NULL, &with_run), 131);
    assert_int_equal(with_run, 130);
    assert_int_equal(sweep(f, NULL, "--label", "sandprobe_run=r-many", NULL), 0);
    assert_int_equal(count(f->out, "deleted "), 130);
    assert_non_null(strstr(f->out, "130 sandboxes listed, 130 carry the run label and match"));
    assert_int_equal(listed(f, NULL, &with_run), 1);
    assert_int_equal(with_run, 0);

    /* The shut down ones are still there on the mock, as the API keeps them. */
    long listings = sp_mock_journal_count(f->m, "GET", "/v1/devboxes");
    long shutdowns = sp_mock_journal_count(f->m, "POST", NULL);
    assert_int_equal(sweep(f, NULL, NULL, NULL, NULL), 0);
    assert_non_null(strstr(f->out, "1 sandboxes listed, 0 carry the run label and match, 0 "
                                   "deleted, 0 failed; 1 without the run label left alone"));
    assert_int_equal(sp_mock_journal_count(f->m, "POST", NULL), shutdowns);
    assert_int_equal(sp_mock_journal_count(f->m, "GET", "/v1/devboxes") - listings, 2);
}

/* Modal lists by tag on the server (SandboxList tags) and pages back by before_timestamp
 * until a page is empty; terminated sandboxes are not listed again (include_finished false). */
static void test_sweep_modal_lists_by_tag(void **state)
{
    struct fx *f = *state;
    size_t with_run;
    killed_run(f, "r-modal", 2);
    create_one(f->c, NULL);
    long lists = sp_mock_journal_count(f->m, "POST", "/modal.client.ModalClient/SandboxList");
    assert_int_equal(sweep(f, NULL, "--label", "sandprobe_run=r-modal", NULL), 0);
    /* the tag filter is the server's: only the two tagged ones come back */
    assert_non_null(
        strstr(f->out, "2 sandboxes listed, 2 carry the run label and match, 2 deleted"));
    /* a page, then the empty page before the oldest */
    assert_int_equal(
        sp_mock_journal_count(f->m, "POST", "/modal.client.ModalClient/SandboxList") - lists, 2);
    assert_int_equal(listed(f, NULL, &with_run), 1);
    assert_int_equal(with_run, 0);
}

/* Without --target real, a real provider's URL in the environment is refused, not called. */
static void test_sweep_mock_target_stays_on_loopback(void **state)
{
    struct fx *f = *state;
    static char vars[6][64] = {"DAYTONA_API_KEY=dtn_0123456789abcdef",
                               "DAYTONA_API_URL=https://app.daytona.io/api",
                               "E2B_API_KEY=e2b_0123456789abcdef0123456789abcdef01234567",
                               "E2B_API_URL=https://api.e2b.app",
                               "RUNLOOP_API_KEY=ak_0123456789abcdef",
                               "RUNLOOP_BASE_URL=https://api.runloop.ai"};
    char *const env[] = {vars[0], vars[1], vars[2], vars[3], vars[4], vars[5], NULL};
    long before = sp_mock_journal_count(f->m, NULL, NULL);
    assert_int_equal(sweep(f, env, NULL, NULL, NULL), SP_EXIT_USAGE);
    assert_non_null(strstr(f->err, "refusing to contact https://"));
    assert_non_null(strstr(f->err, "only loopback"));
    assert_int_equal(sp_mock_journal_count(f->m, NULL, NULL), before);
}

static void test_sweep_usage_errors(void **state)
{
    struct fx *f = *state;
    const char *argv[] = {"sweep", NULL};
    struct sp_cli_io io = {stdout, stderr, f->env};
    assert_int_equal(sp_cmd_sweep(1, (char *const *)(uintptr_t)argv, &io), SP_EXIT_USAGE);
    assert_int_equal(sweep(f, NULL, "--label", "sandprobe_run", NULL), SP_EXIT_USAGE);
    assert_non_null(strstr(f->err, "invalid --label 'sandprobe_run'"));
    assert_int_equal(sweep(f, NULL, "--older-than", "5y", NULL), SP_EXIT_USAGE);
    assert_non_null(strstr(f->err, "invalid --older-than '5y'"));
    assert_int_equal(sweep(f, NULL, "--target", "prod", NULL), SP_EXIT_USAGE);
    char *const empty[] = {NULL};
    assert_int_equal(sweep(f, empty, NULL, NULL, NULL), SP_EXIT_USAGE); /* no key */
    assert_non_null(strstr(f->err, "sandprobe mock"));
}

int main(void)
{
#define D(fn) cmocka_unit_test_setup_teardown(fn, setup_daytona, teardown)
#define E(fn) cmocka_unit_test_setup_teardown(fn, setup_e2b, teardown)
#define R(fn) cmocka_unit_test_setup_teardown(fn, setup_runloop, teardown)
#define M(fn) cmocka_unit_test_setup_teardown(fn, setup_modal, teardown)
    const struct CMUnitTest tests[] = {
        D(test_sweep_removes_what_a_killed_run_left),
        E(test_sweep_removes_what_a_killed_run_left),
        R(test_sweep_removes_what_a_killed_run_left),
        D(test_sweep_older_than),
        E(test_sweep_older_than),
        R(test_sweep_older_than),
        R(test_sweep_runloop_pages_and_skips_shutdown),
        M(test_sweep_removes_what_a_killed_run_left),
        M(test_sweep_older_than),
        M(test_sweep_modal_lists_by_tag),
        D(test_sweep_mock_target_stays_on_loopback),
        E(test_sweep_mock_target_stays_on_loopback),
        R(test_sweep_mock_target_stays_on_loopback),
        D(test_sweep_usage_errors),
        E(test_sweep_usage_errors),
        R(test_sweep_usage_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
