/* The load driver's engine: runs a schedule (schedule.h) of sandbox lifecycles — create ->
 * startup -> first exec -> files (write + read back) -> cleanup — on one event loop
 * (providers/provider.h) and records one sample per phase (reports/load_report.h). Every
 * phase is timed from the lifecycle's intended start and as service time from its own
 * start; startup and cleanup phases come from the marks their ops stamp. After the last
 * lifecycle it sweeps by the run label: anything still there is a leak, and is deleted. */
#ifndef SP_LOAD_H
#define SP_LOAD_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "load_report.h"
#include "provider.h"
#include "schedule.h"

/* Optional steps of a lifecycle (create and cleanup always run). */
#define SP_LOAD_STEP_STARTUP (1u << 0)
#define SP_LOAD_STEP_EXEC    (1u << 1)
#define SP_LOAD_STEP_FILES   (1u << 2)
#define SP_LOAD_STEPS_ALL    (SP_LOAD_STEP_STARTUP | SP_LOAD_STEP_EXEC | SP_LOAD_STEP_FILES)

struct sp_load_cfg {
    struct sp_client *client;
    struct sp_schedule sched;
    unsigned steps;              /* SP_LOAD_STEP_* */
    const char *exec_cmd;        /* the first exec; NULL = "echo sandprobe" */
    const char *run_id;          /* run label value, on every sandbox */
    long max_inflight;           /* 0 = no cap */
    long max_total;              /* 0 = no cap */
    volatile sig_atomic_t *stop; /* non-zero: stop scheduling, finish what is in flight */
    FILE *progress;              /* progress lines; NULL = none */
    bool progress_tty;           /* one line rewritten in place, else plain periodic lines */
    double progress_every_s;     /* plain lines: seconds between them (0 = 5) */
};

struct sp_load_outcome {
    struct sp_load_samples samples; /* grouped by lifecycle, in order of completion */
    double wall_s;                  /* run start to the last lifecycle's end */
    double window_s;                /* the schedule's window (open model) */
    double target_rate;             /* this shard's mean target rate, 0 for closed */
    long leaks;                     /* found by the run label at the end, then deleted */
    bool interrupted;               /* the stop flag was raised */
};

/* Runs the schedule. Fails only when the harness cannot run (out of memory, no loop);
 * provider errors are samples. out->samples must be released with sp_load_samples_cleanup
 * whatever this returns. */
enum sp_err
sp_load_run(const struct sp_load_cfg *cfg, struct sp_load_outcome *out, struct sp_error *err);

/* The schedule window and mean target rate of this shard (open model), for the reports. */
void sp_load_plan(const struct sp_schedule *s, double *window_s, double *target_rate);

#endif
