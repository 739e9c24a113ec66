/* A latency histogram: log-linear buckets with 3 significant decimal digits over 1 µs .. 1 h,
 * in fixed memory, mergeable (sp_hist_add). The layout is HdrHistogram's: values are grouped
 * by their power of two, and each power of two is split into 1024 linear sub-buckets, so any
 * recorded value is known to within 1/1024 of itself (better than 3 significant digits)
 * while the whole range fits in one flat array. Percentiles are untrimmed: p100 is the
 * exact maximum. One histogram per phase per thread; merge after the run. */
#ifndef SP_HIST_H
#define SP_HIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SP_HIST_MAX_US   3600000000LL /* 1 h: larger values are recorded as 1 h and counted */
#define SP_HIST_SUB_BITS 11           /* 2048 sub-buckets: 3 significant digits */
#define SP_HIST_BUCKETS  22           /* 2048 << 21 > 1 h in µs */
#define SP_HIST_LEN      ((SP_HIST_BUCKETS + 1) << (SP_HIST_SUB_BITS - 1))

/* Callers embed it (it is 184 KiB: allocate it, or keep it in a heap object). */
struct sp_hist {
    int64_t counts[SP_HIST_LEN];
    int64_t total;    /* values recorded */
    int64_t min, max; /* exact, of the values as recorded (after clamping) */
    double sum;       /* exact sum, for the mean */
    int64_t clamped;  /* values above SP_HIST_MAX_US (recorded as the maximum) */
};

void sp_hist_init(struct sp_hist *h);
/* Records one value in µs; negative values are recorded as 0. */
void sp_hist_record(struct sp_hist *h, int64_t value_us);
/* Adds every count of src to dst (merging shards or threads). */
void sp_hist_add(struct sp_hist *dst, const struct sp_hist *src);

/* The value at percentile p (0..100): the largest value equivalent to the recorded value
 * below which p% of the values fall (HdrHistogram's value_at_percentile); p >= 100 is the
 * exact maximum. 0 for an empty histogram. */
int64_t sp_hist_percentile(const struct sp_hist *h, double p);
double sp_hist_mean(const struct sp_hist *h);

/* The bucket arithmetic, public for the tests and for the report's percentile curves. */
size_t sp_hist_index(int64_t value_us);
int64_t sp_hist_lowest_equivalent(int64_t value_us);
int64_t sp_hist_highest_equivalent(int64_t value_us);

#endif
