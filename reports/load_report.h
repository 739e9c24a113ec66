/* Load-run results and their reports (`sandprobe load`, `sandprobe report`). A run is its
 * samples — one per sandbox per phase, exactly what samples.ndjson holds — plus a little
 * metadata; every figure of summary.json, summary.md and report.html is aggregated from the
 * samples by sp_load_aggregate(), so re-rendering a directory and merging shards give the
 * same numbers as the run itself. */
#ifndef SP_LOAD_REPORT_H
#define SP_LOAD_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "errors.h"
#include "hist.h"

#define SP_LOAD_SCHEMA "sandprobe.load/1"

/* Phases of a lifecycle (DESIGN.md, "The load driver"). */
enum sp_phase {
    SP_PHASE_API,        /* create returned */
    SP_PHASE_READY,      /* provider says started/running */
    SP_PHASE_ALIVE,      /* the data plane answers */
    SP_PHASE_FIRST_EXEC, /* first command round trip */
    SP_PHASE_TTI,        /* intended start -> first exec done */
    SP_PHASE_FILES,      /* write + read back a small file */
    SP_PHASE_TEARDOWN,   /* delete returned */
    SP_PHASE_GONE,       /* provider confirms it is gone */
    SP_PHASE__COUNT
};
const char *sp_phase_name(enum sp_phase p);
bool sp_phase_parse(const char *s, size_t len, enum sp_phase *out);

/* A start is late when it begins more than this after its intended time. */
#define SP_LOAD_LATE_US 1000

/* One phase of one lifecycle. Times are µs from the run start (the shard's own start). */
struct sp_load_sample {
    uint64_t lifecycle;  /* global schedule index: unique across shards */
    int64_t intended_us; /* the lifecycle's intended start */
    int64_t start_us;    /* this phase's actual start */
    int64_t end_us;      /* when the phase ended (done or failed) */
    enum sp_phase phase;
    enum sp_err err;  /* SP_E_OK, or the class it failed with */
    int retries;      /* requests the driver resent in the op of this phase */
    char sandbox[64]; /* sandbox id, "" when create failed */
    char *message;    /* failure message (owned), NULL when it passed */
};

struct sp_load_samples {
    struct sp_load_sample *v;
    size_t n, cap;
};
/* Appends a copy of s (message copied). Returns 0 or -1 when out of memory. */
int sp_load_samples_add(struct sp_load_samples *ss, const struct sp_load_sample *s);
void sp_load_samples_cleanup(struct sp_load_samples *ss);

/* What was run; written to summary.json and read back by `sandprobe report`. */
struct sp_load_meta {
    char run_id[40];
    char provider[32];
    char target[8]; /* mock | real */
    char model[8];  /* open | closed */
    char profile[16];
    char steps[64];
    double rate, ramp_to, ramp_over_s; /* open model, whole run */
    long concurrency;                  /* closed model, whole run */
    double duration_s;                 /* 0 = count-bound */
    long count;                        /* 0 = duration-bound */
    long max_sandboxes;                /* 0 = no cap */
    uint64_t seed;
    unsigned shard, shards;
    time_t started_at;
    double wall_s;      /* run start to the last lifecycle's end */
    double target_rate; /* mean target rate of the (merged) run, 0 for closed */
    double window_s;    /* the schedule's window (open model), for the achieved rate */
    long leaks;         /* sandboxes found by the run label at the end (must be 0) */
    bool interrupted;
    int merged; /* shards merged into this result (0 = a single run) */
};

#define SP_LOAD_TIMELINE_BINS 120

/* Everything the reports show. Large (the histograms): allocate it. */
struct sp_load_summary {
    struct sp_load_meta meta;
    struct sp_hist lat[SP_PHASE__COUNT]; /* from the intended start to the phase end */
    struct sp_hist svc[SP_PHASE__COUNT]; /* service time: from the phase's actual start */
    long failed[SP_PHASE__COUNT];        /* phases that failed */
    struct sp_hist lag;                  /* schedule lag: actual - intended start */
    long started, completed, failed_lifecycles;
    long late_starts;
    int64_t max_lag_us;
    long retries;
    long errors[SP_E__COUNT];
    char first_error[SP_E__COUNT][256];
    double achieved_rate; /* lifecycles started / s */
    /* timeline over the run: starts, in flight, errors per bin */
    double bin_s;
    int n_bins;
    long starts[SP_LOAD_TIMELINE_BINS], inflight[SP_LOAD_TIMELINE_BINS],
        errs[SP_LOAD_TIMELINE_BINS];
};

/* Aggregates one shard's (or run's) samples into sum, which must be sp_load_summary_init'ed
 * with meta; call it once per shard, then sp_load_summary_finish. Shards merge by adding
 * their histograms, so it is exactly the merge `report --merge` does. */
struct sp_load_summary *sp_load_summary_new(void);
void sp_load_summary_free(struct sp_load_summary *s);
/* Adds one shard: its meta (merged into s->meta) and its samples. Returns 0 or -1 (oom). */
int sp_load_summary_add(struct sp_load_summary *s,
                        const struct sp_load_meta *meta,
                        const struct sp_load_samples *ss);
/* Rates, timeline: after every shard was added; ss_all are the shards' sample sets. */
void sp_load_summary_finish(struct sp_load_summary *s,
                            const struct sp_load_samples *const *ss_all,
                            size_t n_sets);

/* Thresholds evaluated on a summary (harness/threshold.c fills these). */
struct sp_load_verdict {
    char expr[128];
    bool has_value; /* false: no samples for the metric (the threshold fails) */
    double value;   /* µs for durations, a fraction or count otherwise */
    bool passed;
};

/* The run's verdict, the one the reports print and the exit code follows. */
enum sp_load_verdict_kind {
    SP_LOAD_PASS,
    SP_LOAD_INTERRUPTED,
    SP_LOAD_THRESHOLD_CROSSED,
    SP_LOAD_LEFT_BEHIND,      /* sandboxes were still there after the run's own sweep */
    SP_LOAD_NOTHING_COMPLETED /* lifecycles started and every one failed: nothing measured */
};
enum sp_load_verdict_kind
sp_load_verdict(const struct sp_load_summary *s, const struct sp_load_verdict *v, size_t n_v);

/* The writers. Each replaces the file at path; failure is an `internal` error naming it. */
enum sp_err
sp_load_write_samples(const struct sp_load_samples *ss, const char *path, struct sp_error *err);
enum sp_err sp_load_write_json(const struct sp_load_summary *s,
                               const struct sp_load_verdict *v,
                               size_t n_v,
                               const char *path,
                               struct sp_error *err);
enum sp_err sp_load_write_md(const struct sp_load_summary *s,
                             const struct sp_load_verdict *v,
                             size_t n_v,
                             const char *path,
                             struct sp_error *err);
enum sp_err sp_load_write_html(const struct sp_load_summary *s,
                               const struct sp_load_verdict *v,
                               size_t n_v,
                               const char *path,
                               struct sp_error *err);
/* Writes all four into dir. */
enum sp_err sp_load_write_all(const struct sp_load_summary *s,
                              const struct sp_load_samples *ss,
                              const struct sp_load_verdict *v,
                              size_t n_v,
                              const char *dir,
                              struct sp_error *err);

/* The readers of `sandprobe report`: samples.ndjson (every line checked) and the meta of
 * summary.json. A malformed file is a `protocol` error naming the file and line. */
enum sp_err
sp_load_read_samples(const char *path, struct sp_load_samples *ss, struct sp_error *err);
enum sp_err sp_load_read_meta(const char *path, struct sp_load_meta *meta, struct sp_error *err);

/* Formats µs as "812us", "20.3ms", "1.52s". Returns out. */
const char *sp_load_fmt_us(double us, char *out, size_t len);

#endif
