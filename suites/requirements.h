/* Conformance requirements: one table, written once against the provider interface and run
 * unchanged against every provider, mock or real. Two front ends run it: `sandprobe check`
 * (harness/, writes junit.xml and summary.json) and the cmocka program built from
 * suites/main.c (`make conformance`). A requirement is named after what it checks
 * ("exec.exit_code_propagates"), levelled MUST/SHOULD/MAY, tagged, and says in one sentence
 * what the provider must do. */
#ifndef SP_REQUIREMENTS_H
#define SP_REQUIREMENTS_H

#include <stdbool.h>
#include <stddef.h>

#include "errors.h"
#include "kv.h"
#include "provider.h"

struct sp_mock;

enum sp_level { SP_LEVEL_MUST, SP_LEVEL_SHOULD, SP_LEVEL_MAY };
const char *sp_level_name(enum sp_level level); /* "MUST" */
/* Parses "must" / "should" / "may" (any case); returns false when it is none of them. */
bool sp_level_parse(const char *s, enum sp_level *out);

#define SP_REQ_NEEDS_MOCK (1u << 0) /* [Disruptive]: needs the mock's fault injection */
#define SP_REQ_LAST       (1u << 1) /* runs after every other requirement (leak checks) */

struct sp_req_ctx; /* the runner's per-requirement state (runner.c) */

struct sp_requirement {
    const char *id; /* "<step>.<what>", unique */
    enum sp_step step;
    enum sp_level level;
    const char *tags;     /* "[Conformance][Slow]"; [Provider:x] is added by the runner */
    unsigned needs_caps;  /* every SP_CAP_* bit must be set, else the result is SKIP */
    unsigned flags;       /* SP_REQ_* */
    const char *sentence; /* what the provider must do, one sentence */
    void (*fn)(struct sp_req_ctx *ctx);
    unsigned excludes_caps; /* any SP_CAP_* bit set here makes the result SKIP */
};

/* Every requirement, in run order (step order; SP_REQ_LAST ones at the end). */
size_t sp_requirements(const struct sp_requirement *const **out);

/* What the requirements run against. */
struct sp_req_target {
    const char *provider;              /* "daytona", "e2b" */
    const struct sp_kv *env;           /* the provider's variables (mock env or process env) */
    const struct sp_client_opts *opts; /* may be NULL */
    struct sp_mock *mock;              /* the in-process mock, NULL for a real provider */
    const char *run_id;                /* value of SP_RUN_LABEL on every sandbox created */
    /* Deadline for requirements that wait one out on purpose (a stuck sandbox, a data plane
     * that never answers); 0 = 1 500 ms. `check` sets it short on the zero-latency mocks. */
    long fault_deadline_ms;
    /* When set, every client of the requirement polls it (sp_client_opts.cancelled) until
     * the check ends; the runner's own deletes afterwards are never cancelled. */
    bool (*cancelled)(void *arg);
    void *cancel_arg;
    /* When set, told of every sandbox the requirement created (alive true) and of each one
     * deleted for sure afterwards (alive false), so the harness knows what a forced exit
     * would leave behind. Called from the requirement's thread. */
    void (*on_sandbox)(void *arg, const char *id, bool alive);
    void *sandbox_arg;
};

enum sp_req_outcome { SP_REQ_PASS, SP_REQ_FAIL, SP_REQ_SKIP, SP_REQ_ERROR };
const char *sp_req_outcome_name(enum sp_req_outcome o); /* "pass" "fail" "skip" "error" */

struct sp_req_result {
    const struct sp_requirement *req;
    enum sp_req_outcome outcome; /* ERROR: the harness failed (could not create a client) */
    char message[512];           /* FAIL/ERROR: expected vs got; SKIP: why it did not apply */
    char where[64];              /* "test_exec.c:42" of a failed expectation, else "" */
    struct sp_error err;         /* the provider error behind a failure, when there was one */
    double seconds;
};

/* Runs one requirement against t: creates a client, runs the check, and cleans up every
 * sandbox the check created (even when it failed half-way). Never aborts the process. */
void sp_req_run(const struct sp_requirement *req,
                const struct sp_req_target *t,
                struct sp_req_result *res);

#endif
