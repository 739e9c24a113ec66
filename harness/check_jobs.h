/* The job pool of `sandprobe check`: runs the selected requirements of one or more targets
 * (a provider in a mode, on its mock or for real) on N threads, each requirement with its own
 * clients. Requirements tagged [Serial] run alone on their target, SP_REQ_LAST ones after
 * everything else of their target. Results land in table order whatever order they finish
 * in, and are handed out in that order as soon as they are final (live console output).
 *
 * While the jobs run, the calling thread watches each target's control plane: after a few
 * consecutive connection failures or unanswered requests the target is "gone", its waits
 * are cancelled at once and its remaining requirements are not run. A stop request
 * (sp_jobs_stop, from the signal thread) stops new work and cancels every wait. */
#ifndef SP_CHECK_JOBS_H
#define SP_CHECK_JOBS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "requirements.h"

/* Consecutive failed probes after which a target counts as unreachable. */
#define SP_JOBS_PROBE_FAILURES 3

struct sp_jobs_target {
    /* set by the caller */
    const char *label;                        /* "daytona (toolbox)", for messages */
    struct sp_req_target t;                   /* cancel and sandbox hooks are the pool's */
    const struct sp_requirement *const *reqs; /* the selected requirements, table order */
    size_t n;
    struct sp_req_result *results; /* n, filled in */
    long probe_interval_ms;        /* control-plane probe period */
    long probe_timeout_ms;         /* one probe's HTTP and connect deadline */
    const char *not_run;           /* set: nothing runs, each result says this */
    /* set by the pool */
    atomic_bool gone;   /* the provider stopped answering: its waits are cancelled */
    char gone_msg[512]; /* the last probe's error, once gone */
    size_t emitted;     /* results handed to on_result so far */
    /* the pool's bookkeeping */
    unsigned char *state; /* per requirement: pending, running, final */
    size_t running, done, n_plain_done, n_plain;
    bool serial_active;
    bool disrupting; /* a [Disruptive] requirement runs: its injected faults are not an outage */
    int probe_failures;
    long long next_probe_ms;
    struct sp_jobs *pool;
};

/* Called on the calling thread for each final result, in table order, target after target. */
typedef void (*sp_jobs_result_fn)(void *arg, struct sp_jobs_target *tg, size_t i);

struct sp_jobs {
    struct sp_jobs_target *targets;
    size_t n_targets;
    size_t jobs; /* threads; >= 1 */
    sp_jobs_result_fn on_result;
    void *arg;
    atomic_int stop; /* nonzero: no new work, waits cancelled (the signal number) */
    /* private */
    void *priv;
};

/* Sets up the schedule of j->targets (and the targets' hooks). Returns 0, or -1 when out of
 * memory. sp_jobs_free releases it, after the last sp_jobs_stop/sp_jobs_print_left. */
int sp_jobs_init(struct sp_jobs *j);
void sp_jobs_free(struct sp_jobs *j);

/* Runs everything on j->jobs threads; returns once every requirement is final (run, or
 * recorded as not run because of a stop or an unreachable provider). Returns 0, or -1 when
 * no thread could be started (nothing ran). */
int sp_jobs_run(struct sp_jobs *j);

/* For the signal thread (not a signal handler): sets stop and wakes the pool. */
void sp_jobs_stop(struct sp_jobs *j, int sig);

/* The sandboxes the run created that were not (yet) deleted for sure, written to out (NULL:
 * only counted) as "  <label>: <id>" lines; returns how many. Safe from any thread between
 * sp_jobs_init and sp_jobs_free. */
size_t sp_jobs_print_left(struct sp_jobs *j, FILE *out);

#endif
