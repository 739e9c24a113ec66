/* The cmocka front end of the conformance requirements (`make conformance`): one group per
 * mock target (each provider in each of its modes), each starting its vendor mock
 * in-process on an ephemeral loopback port with a small latency model, and one cmocka test
 * per requirement, named "exec.exit_code_propagates [MUST] [daytona]".
 *
 *   conformance [--provider NAME]... [--filter PATTERN] [--level must|should|may] [--jobs N]
 *
 * --provider runs only the named groups (one per provider mode, from the provider registry:
 * daytona, daytona-toolbox, e2b, runloop, runloop-direct, ...); --filter is
 * cmocka's test-name pattern ('*' and '?'); --level is the weakest level whose failures
 * fail the run (default must, as `sandprobe check`): an unmet requirement below it is
 * reported, as not met, and counted as skipped; --jobs runs up to N groups at once (default:
 * all), each in a child process of its own whose output is printed whole when it ends. The
 * groups spend their time waiting on mock latencies and client deadlines, not computing, so
 * together they take about as long as the slowest one. The exit status is non-zero when any
 * test failed or a group could not start. */
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "mock.h"
#include "requirements.h"

struct group {
    const char *name;     /* group and [name] in test names */
    const char *provider; /* provider and mock vendor */
    const char *mode;     /* sp_client_opts.mode */
};

/* One group per provider mode, from the provider registry: "<provider>" for the default
 * mode, "<provider>-<mode>" for each other (daytona, daytona-toolbox, e2b, runloop, ...). */
#define MAX_GROUPS 32
static struct group groups[MAX_GROUPS];
static char group_names[MAX_GROUPS][64];
static size_t n_groups;

static void groups_from_registry(void)
{
    static const char *const only_default[] = {NULL};
    const char *names[MAX_GROUPS];
    size_t np = sp_provider_names(names, MAX_GROUPS);
    for (size_t p = 0; p < np && p < MAX_GROUPS; p++) {
        const char *const *modes = sp_provider_modes(names[p]);
        size_t nm = 0;
        while (modes && modes[nm])
            nm++;
        if (nm == 0) /* a provider without modes: one group, its only configuration */
            modes = only_default, nm = 1;
        for (size_t k = 0; k < nm && n_groups < MAX_GROUPS; k++) {
            snprintf(group_names[n_groups], sizeof(group_names[0]), "%s%s%s", names[p],
                     k ? "-" : "", k ? modes[k] : "");
            groups[n_groups] = (struct group){group_names[n_groups], names[p], k ? modes[k] : NULL};
            n_groups++;
        }
    }
}

/* The group being run: cmocka gives a test either the group state or its own initial
 * state, and each test's initial state is its requirement, so the target lives here. */
static const struct group *current;
static struct sp_mock *current_mock;
static struct sp_client_opts current_opts;
static struct sp_req_target current_target;
static char run_id[64];
static int failures;
static enum sp_level fatal_level = SP_LEVEL_MUST;

/* Vendor delays small enough for a fast suite, large enough that states are observable. */
static const struct sp_latency suite_latency = {
    .create_ms = 40,
    .start_ms = 30,
    .stop_ms = 20,
    .delete_ms = 20,
    .server_ms = 50,
    .jitter = 0.25,
};

static int group_setup(void **state)
{
    (void)state; /* left NULL so every test keeps its requirement as state */
    struct sp_mock_config cfg = {
        .vendor = current->provider,
        .seed = 42,
        .latency = suite_latency,
        .has_latency = true,
        .quiet = true,
    };
    struct sp_error err;
    sp_error_clear(&err);
    if (sp_mock_start(&cfg, &current_mock, &err) != SP_E_OK) {
        char text[384];
        fprintf(stderr, "cannot start the %s mock: %s\n", current->provider,
                sp_error_format(&err, text, sizeof(text)));
        failures++;
        return -1;
    }
    current_opts = (struct sp_client_opts){
        .http_timeout_ms = 15000,
        .connect_timeout_ms = 2000,
        .ready_timeout_ms = 10000,
        .alive_interval_ms = 50,
        .alive_timeout_ms = 10000,
        .mode = current->mode,
    };
    current_target = (struct sp_req_target){
        .provider = current->provider,
        .env = sp_mock_env(current_mock),
        .opts = &current_opts,
        .mock = current_mock,
        .run_id = run_id,
        /* Fault requirements bound their requests by this: the mocks answer in tens of ms. */
        .fault_deadline_ms = 500,
    };
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    sp_mock_stop(current_mock);
    current_mock = NULL;
    return 0;
}

static void run_requirement(void **state)
{
    const struct sp_requirement *req = *state;
    struct sp_req_result res;
    sp_req_run(req, &current_target, &res);
    switch (res.outcome) {
    case SP_REQ_PASS:
        return;
    case SP_REQ_SKIP:
        print_message("skipped: %s\n", res.message);
        skip();
        return;
    case SP_REQ_FAIL:
        if (req->level > fatal_level) {
            print_message("not met (%s, not fatal at --level %s): %s\n", sp_level_name(req->level),
                          sp_level_name(fatal_level), res.message);
            skip();
            return;
        }
        failures++;
        fail_msg("%s: %s (%s)\n      requirement: %s", sp_req_outcome_name(res.outcome),
                 res.message, res.where, req->sentence);
        return;
    case SP_REQ_ERROR:
        failures++;
        fail_msg("%s: %s\n      requirement: %s", sp_req_outcome_name(res.outcome), res.message,
                 req->sentence);
        return;
    }
}

/* --- the table itself ----------------------------------------------------------------------- */

/* Every id is "<step>.<what>" for its own step, unique, with a level, a sentence and a check. */
static void requirements_table_well_formed(void **state)
{
    (void)state;
    const struct sp_requirement *const *reqs;
    size_t n = sp_requirements(&reqs);
    assert_true(n >= 30);
    bool seen_last = false;
    for (size_t i = 0; i < n; i++) {
        const struct sp_requirement *r = reqs[i];
        const char *step = sp_step_name(r->step);
        size_t sl = strlen(step);
        if (strncmp(r->id, step, sl) != 0 || r->id[sl] != '.' || r->id[sl + 1] == '\0')
            fail_msg("requirement %s: id is not \"%s.<what>\"", r->id, step);
        assert_non_null(r->fn);
        assert_true(r->sentence != NULL && r->sentence[0] != '\0');
        assert_true(r->level <= SP_LEVEL_MAY);
        assert_non_null(strstr(r->tags, "[Conformance]"));
        if ((r->flags & SP_REQ_LAST) == 0 && seen_last)
            fail_msg("requirement %s runs after a SP_REQ_LAST one", r->id);
        seen_last = seen_last || (r->flags & SP_REQ_LAST);
        for (size_t j = 0; j < i; j++) {
            if (strcmp(reqs[j]->id, r->id) == 0)
                fail_msg("requirement id %s appears twice", r->id);
        }
    }
}

static void levels_and_outcomes_named(void **state)
{
    (void)state;
    enum sp_level l;
    assert_true(sp_level_parse("must", &l) && l == SP_LEVEL_MUST);
    assert_true(sp_level_parse("Should", &l) && l == SP_LEVEL_SHOULD);
    assert_true(sp_level_parse("MAY", &l) && l == SP_LEVEL_MAY);
    assert_false(sp_level_parse("mustnt", &l));
    assert_false(sp_level_parse("", &l));
    assert_string_equal(sp_level_name(SP_LEVEL_SHOULD), "SHOULD");
    assert_string_equal(sp_req_outcome_name(SP_REQ_SKIP), "skip");
    assert_string_equal(sp_req_outcome_name(SP_REQ_ERROR), "error");
}

static int run_table_checks(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(requirements_table_well_formed),
        cmocka_unit_test(levels_and_outcomes_named),
    };
    return cmocka_run_group_tests_name("requirements", tests, NULL, NULL);
}

/* --- groups ------------------------------------------------------------------------------------
 */

static int run_group(const struct group *g)
{
    const struct sp_requirement *const *reqs;
    size_t n = sp_requirements(&reqs);
    struct CMUnitTest *tests = calloc(n, sizeof(*tests));
    char **names = calloc(n, sizeof(*names));
    int failed = 1;
    if (tests == NULL || names == NULL)
        goto out;
    for (size_t i = 0; i < n; i++) {
        const char *level = sp_level_name(reqs[i]->level);
        size_t len = strlen(reqs[i]->id) + strlen(level) + strlen(g->name) + 8;
        names[i] = malloc(len);
        if (names[i] == NULL)
            goto out;
        snprintf(names[i], len, "%s [%s] [%s]", reqs[i]->id, level, g->name);
        tests[i] =
            (struct CMUnitTest){names[i], run_requirement, NULL, NULL, (void *)(uintptr_t)reqs[i]};
    }
    current = g;
    failed = _cmocka_run_group_tests(g->name, tests, n, group_setup, group_teardown);
out:
    for (size_t i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
    free(tests);
    return failed;
}

static bool selected(const struct group *g, char **only, int n_only)
{
    if (n_only == 0)
        return true;
    for (int i = 0; i < n_only; i++) {
        if (strcmp(only[i], g->name) == 0)
            return true;
    }
    return false;
}

static int usage(const char *prog)
{
    fprintf(stderr, "usage: %s [--provider ", prog);
    for (size_t g = 0; g < n_groups; g++)
        fprintf(stderr, "%s%s", g ? "|" : "", groups[g].name);
    fprintf(stderr, "]... [--filter PATTERN] [--level must|should|may] [--jobs N]\n");
    return 2;
}

/* --- groups in child processes ------------------------------------------------------------- */

extern char **environ;

struct child {
    const struct group *g;
    pid_t pid;
    FILE *out; /* the child's stdout and stderr */
};

/* The child's command line: this program's options without --provider/--jobs, for group g. */
static char **child_argv(int argc, char **argv, const struct group *g)
{
    char **v = calloc((size_t)argc + 6, sizeof(*v));
    if (v == NULL)
        return NULL;
    int n = 0;
    v[n++] = argv[0];
    for (int i = 1; i < argc; i++) {
        if ((strcmp(argv[i], "--provider") == 0 || strcmp(argv[i], "--jobs") == 0) && i + 1 < argc)
            i++;
        else
            v[n++] = argv[i];
    }
    static char provider_opt[] = "--provider", jobs_opt[] = "--jobs", one[] = "1";
    static char names[MAX_GROUPS][64]; /* writable copies: exec takes char *const[] */
    char *name = names[g - groups];
    snprintf(name, sizeof(names[0]), "%s", g->name);
    v[n++] = provider_opt;
    v[n++] = name;
    v[n++] = jobs_opt;
    v[n++] = one;
    return v;
}

static int spawn_group(struct child *c, int argc, char **argv)
{
    char **v = child_argv(argc, argv, c->g);
    c->out = tmpfile();
    posix_spawn_file_actions_t fa;
    int rc = -1;
    if (v != NULL && c->out != NULL && posix_spawn_file_actions_init(&fa) == 0) {
        posix_spawn_file_actions_adddup2(&fa, fileno(c->out), 1);
        posix_spawn_file_actions_adddup2(&fa, fileno(c->out), 2);
        rc = posix_spawn(&c->pid, "/proc/self/exe", &fa, NULL, v, environ) == 0 ? 0 : -1;
        posix_spawn_file_actions_destroy(&fa);
    }
    free(v);
    if (rc != 0)
        fprintf(stderr, "cannot start a process for group %s\n", c->g->name);
    return rc;
}

/* Prints the output of the child that ended and returns 1 when its group failed. */
static int reap_group(struct child *kids, size_t n)
{
    int status = 0;
    pid_t pid = wait(&status);
    for (size_t i = 0; i < n; i++) {
        if (kids[i].pid != pid || pid <= 0)
            continue;
        char buf[8192];
        size_t got;
        fflush(stdout);
        rewind(kids[i].out);
        while ((got = fread(buf, 1, sizeof(buf), kids[i].out)) > 0)
            fwrite(buf, 1, got, stdout);
        fclose(kids[i].out);
        fflush(stdout);
        bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (!ok && !WIFEXITED(status))
            printf("[  ERROR   ] group %s ended by signal %d\n", kids[i].g->name,
                   WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        return ok ? 0 : 1;
    }
    return pid > 0 ? 0 : 1;
}

/* Runs the chosen groups, at most jobs at once, each in a child; returns how many failed. */
static int run_groups_in_children(char **only, int n_only, int jobs, int argc, char **argv)
{
    struct child *kids = calloc(n_groups, sizeof(*kids));
    size_t n = 0, running = 0;
    int failed = 0;
    if (kids == NULL)
        return 1;
    for (size_t g = 0; g < n_groups; g++) {
        if (!selected(&groups[g], only, n_only))
            continue;
        if (running == (size_t)jobs)
            failed += reap_group(kids, n), running--;
        kids[n].g = &groups[g];
        if (spawn_group(&kids[n], argc, argv) != 0) {
            failed++;
            if (kids[n].out)
                fclose(kids[n].out);
            continue;
        }
        n++, running++;
    }
    while (running-- > 0)
        failed += reap_group(kids, n);
    free(kids);
    return failed;
}

int main(int argc, char **argv)
{
    groups_from_registry();
    char **only = calloc((size_t)argc, sizeof(*only));
    int n_only = 0, jobs = 0; /* 0: every chosen group at once */
    if (only == NULL)
        return 3;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--provider") == 0 && i + 1 < argc) {
            only[n_only++] = argv[++i];
        } else if (strcmp(argv[i], "--filter") == 0 && i + 1 < argc) {
            cmocka_set_test_filter(argv[++i]);
        } else if (strcmp(argv[i], "--jobs") == 0 && i + 1 < argc) {
            char *end = NULL;
            long j = strtol(argv[++i], &end, 10);
            if (end == argv[i] || *end != '\0' || j < 1 || j > 64) {
                fprintf(stderr, "--jobs wants a whole number from 1 to 64, got '%s'\n", argv[i]);
                free(only);
                return usage(argv[0]);
            }
            jobs = (int)j;
        } else if (strcmp(argv[i], "--level") == 0 && i + 1 < argc) {
            if (!sp_level_parse(argv[++i], &fatal_level)) {
                free(only);
                return usage(argv[0]);
            }
        } else {
            free(only);
            return usage(argv[0]);
        }
    }
    for (int i = 0; i < n_only; i++) {
        bool known = false;
        for (size_t g = 0; g < n_groups; g++)
            known = known || strcmp(only[i], groups[g].name) == 0;
        if (!known) {
            fprintf(stderr, "unknown group '%s'\n", only[i]);
            free(only);
            return usage(argv[0]);
        }
    }
    snprintf(run_id, sizeof(run_id), "conf-%ld", (long)getpid());
    size_t n_chosen = 0;
    for (size_t g = 0; g < n_groups; g++)
        n_chosen += selected(&groups[g], only, n_only);
    if (jobs == 0)
        jobs = (int)n_chosen;
    /* A child (--jobs 1 --provider G) leaves the table checks to its parent, and ends with it
     * (a parent killed by its test timeout leaves no group running). */
    bool one_group = jobs == 1 && n_only == 1 && n_chosen == 1;
    if (one_group)
        prctl(PR_SET_PDEATHSIG, SIGTERM);
    int failed = one_group ? 0 : run_table_checks();
    if (jobs > 1 && n_chosen > 1) {
        failed += run_groups_in_children(only, n_only, jobs, argc, argv);
    } else {
        for (size_t g = 0; g < n_groups; g++) {
            if (selected(&groups[g], only, n_only))
                failed += run_group(&groups[g]);
        }
    }
    free(only);
    return failed != 0 || failures != 0 ? 1 : 0;
}
