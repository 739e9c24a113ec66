/* Load thresholds: `--threshold 'tti.p99<2s'`. An expression is METRIC OP VALUE with OP one
 * of < <= > >=, and METRIC one of
 *   PHASE.STAT   PHASE api|ready|alive|first_exec|tti|files|teardown|gone,
 *                STAT p50|p90|p99|p99.9|max|mean (a duration: 2s, 300ms, 500us, 1m, 1h)
 *                or count (a number)
 *   errors.rate (failed lifecycles / started), errors.count, rate.achieved (achieved / target
 *   rate), lag.max, lag.p99 (durations), late.count, leaks.
 * A metric with no samples fails its threshold. */
#ifndef SP_THRESHOLD_H
#define SP_THRESHOLD_H

#include <stdbool.h>
#include <stddef.h>

#include "load_report.h"

struct sp_threshold {
    char expr[128];
    char metric[48];
    int op;       /* '<', 'l' (<=), '>', 'g' (>=) */
    double value; /* µs for durations */
};

/* Parses expr; on failure writes what is wrong into msg and returns -1. */
int sp_threshold_parse(const char *expr, struct sp_threshold *t, char *msg, size_t len);
/* Evaluates t on s into v. */
void sp_threshold_eval(const struct sp_threshold *t,
                       const struct sp_load_summary *s,
                       struct sp_load_verdict *v);
/* Evaluates all; returns true when every one passed. */
bool sp_threshold_eval_all(const struct sp_threshold *t,
                           size_t n,
                           const struct sp_load_summary *s,
                           struct sp_load_verdict *v);

#endif
