/* Threshold expressions (threshold.h): parsed once at the command line, so a malformed one
 * is a usage error before anything runs, and evaluated on the (merged) summary. */
#include "threshold.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const phase_stats[] = {"p50", "p90", "p99", "p99.9", "max", "mean", "count"};
static const char *const plain_metrics[] = {
    "errors.rate", "errors.count", "rate.achieved", "lag.max", "lag.p99", "late.count", "leaks"};

/* lag.* and PHASE.STAT (but PHASE.count) are durations; the rest are numbers. */
static bool is_duration_metric(const char *m)
{
    if (strncmp(m, "lag.", 4) == 0)
        return true;
    const char *dot = strchr(m, '.');
    enum sp_phase p;
    return dot && sp_phase_parse(m, (size_t)(dot - m), &p) && strcmp(dot + 1, "count") != 0;
}

static bool known_metric(const char *m)
{
    for (size_t i = 0; i < sizeof(plain_metrics) / sizeof(plain_metrics[0]); i++)
        if (strcmp(m, plain_metrics[i]) == 0)
            return true;
    const char *dot = strchr(m, '.');
    enum sp_phase p;
    if (dot == NULL || !sp_phase_parse(m, (size_t)(dot - m), &p))
        return false;
    for (size_t i = 0; i < sizeof(phase_stats) / sizeof(phase_stats[0]); i++)
        if (strcmp(dot + 1, phase_stats[i]) == 0)
            return true;
    return false;
}

/* "2s", "300ms", "500us", "1.5m", "1h" -> µs. Returns -1 when s is not a duration. */
static int parse_duration_us(const char *s, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || !isfinite(v) || v < 0)
        return -1;
    double mult = strcmp(end, "us") == 0   ? 1
                  : strcmp(end, "ms") == 0 ? 1e3
                  : strcmp(end, "s") == 0  ? 1e6
                  : strcmp(end, "m") == 0  ? 60e6
                  : strcmp(end, "h") == 0  ? 3600e6
                                           : -1;
    if (mult < 0)
        return -1;
    *out = v * mult;
    return 0;
}

static int parse_number(const char *s, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

int sp_threshold_parse(const char *expr, struct sp_threshold *t, char *msg, size_t len)
{
    memset(t, 0, sizeof(*t));
    snprintf(t->expr, sizeof(t->expr), "%s", expr);
    size_t m = strcspn(expr, "<>");
    if (expr[m] == '\0' || m == 0 || m >= sizeof(t->metric)) {
        snprintf(msg, len, "threshold '%.100s' is not METRIC<VALUE (e.g. 'tti.p99<2s')", expr);
        return -1;
    }
    snprintf(t->metric, sizeof(t->metric), "%.*s", (int)m, expr);
    const char *v = expr + m + 1;
    t->op = expr[m];
    if (*v == '=') {
        t->op = t->op == '<' ? 'l' : 'g';
        v++;
    }
    if (!known_metric(t->metric)) {
        snprintf(msg, len,
                 "threshold '%.100s': unknown metric '%s' (PHASE.p50|p90|p99|p99.9|"
                 "max|mean|count, errors.rate, errors.count, rate.achieved, lag.max, lag.p99, "
                 "late.count, leaks)",
                 expr, t->metric);
        return -1;
    }
    bool dur = is_duration_metric(t->metric);
    if ((dur ? parse_duration_us(v, &t->value) : parse_number(v, &t->value)) != 0) {
        snprintf(msg, len, "threshold '%.100s': '%.40s' is not %s", expr, v,
                 dur ? "a duration (e.g. 2s, 300ms, 500us)" : "a number");
        return -1;
    }
    return 0;
}

static double stat_of(const struct sp_hist *h, const char *stat)
{
    if (strcmp(stat, "count") == 0)
        return (double)h->total;
    if (strcmp(stat, "mean") == 0)
        return sp_hist_mean(h);
    if (strcmp(stat, "max") == 0)
        return (double)h->max;
    return (double)sp_hist_percentile(h, strtod(stat + 1, NULL));
}

/* The metric's value; false when there are no samples for it. */
static bool metric_value(const char *m, const struct sp_load_summary *s, double *out)
{
    if (strcmp(m, "errors.rate") == 0) {
        *out = s->started ? (double)s->failed_lifecycles / (double)s->started : 0;
        return s->started > 0;
    }
    if (strcmp(m, "errors.count") == 0 || strcmp(m, "late.count") == 0 || strcmp(m, "leaks") == 0) {
        *out = (double)(m[0] == 'e'                  ? s->failed_lifecycles
                        : m[0] == 'l' && m[1] == 'a' ? s->late_starts
                                                     : s->meta.leaks);
        return s->started > 0;
    }
    if (strcmp(m, "rate.achieved") == 0) {
        *out = s->meta.target_rate > 0 ? s->achieved_rate / s->meta.target_rate : 0;
        return s->meta.target_rate > 0 && s->started > 0;
    }
    if (strncmp(m, "lag.", 4) == 0) {
        *out = m[4] == 'm' ? (double)s->max_lag_us : (double)sp_hist_percentile(&s->lag, 99);
        return s->lag.total > 0;
    }
    const char *dot = strchr(m, '.');
    enum sp_phase p;
    if (!sp_phase_parse(m, (size_t)(dot - m), &p))
        return false;
    *out = stat_of(&s->lat[p], dot + 1);
    return strcmp(dot + 1, "count") == 0 ? true : s->lat[p].total > 0;
}

void sp_threshold_eval(const struct sp_threshold *t,
                       const struct sp_load_summary *s,
                       struct sp_load_verdict *v)
{
    memset(v, 0, sizeof(*v));
    snprintf(v->expr, sizeof(v->expr), "%s", t->expr);
    v->has_value = metric_value(t->metric, s, &v->value);
    if (!v->has_value)
        return;
    double x = v->value, y = t->value;
    v->passed = t->op == '<' ? x < y : t->op == 'l' ? x <= y : t->op == '>' ? x > y : x >= y;
}

bool sp_threshold_eval_all(const struct sp_threshold *t,
                           size_t n,
                           const struct sp_load_summary *s,
                           struct sp_load_verdict *v)
{
    bool all = true;
    for (size_t i = 0; i < n; i++) {
        sp_threshold_eval(&t[i], s, &v[i]);
        all = all && v[i].passed;
    }
    return all;
}
