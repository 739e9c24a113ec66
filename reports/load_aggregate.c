/* Aggregation of load samples into the figures every load report shows (load_report.h).
 * One pass per shard into the histograms and counters, then rates and the timeline from all
 * shards' samples; nothing here knows a file format. */
#include <stdlib.h>
#include <string.h>

#include "load_report.h"

static const char *const phase_names[SP_PHASE__COUNT] = {
    [SP_PHASE_API] = "api",           [SP_PHASE_READY] = "ready",
    [SP_PHASE_ALIVE] = "alive",       [SP_PHASE_FIRST_EXEC] = "first_exec",
    [SP_PHASE_TTI] = "tti",           [SP_PHASE_FILES] = "files",
    [SP_PHASE_TEARDOWN] = "teardown", [SP_PHASE_GONE] = "gone",
};

const char *sp_phase_name(enum sp_phase p)
{
    return p < SP_PHASE__COUNT ? phase_names[p] : "?";
}

bool sp_phase_parse(const char *s, size_t len, enum sp_phase *out)
{
    for (int p = 0; p < SP_PHASE__COUNT; p++) {
        if (strlen(phase_names[p]) == len && strncmp(s, phase_names[p], len) == 0) {
            *out = (enum sp_phase)p;
            return true;
        }
    }
    return false;
}

int sp_load_samples_add(struct sp_load_samples *ss, const struct sp_load_sample *s)
{
    if (ss->n == ss->cap) {
        size_t cap = ss->cap ? ss->cap * 2 : 256;
        struct sp_load_sample *v = realloc(ss->v, cap * sizeof(*v));
        if (v == NULL)
            return -1;
        ss->v = v;
        ss->cap = cap;
    }
    struct sp_load_sample *d = &ss->v[ss->n];
    *d = *s;
    d->message = NULL;
    if (s->message && (d->message = strdup(s->message)) == NULL)
        return -1;
    ss->n++;
    return 0;
}

void sp_load_samples_cleanup(struct sp_load_samples *ss)
{
    for (size_t i = 0; i < ss->n; i++)
        free(ss->v[i].message);
    free(ss->v);
    memset(ss, 0, sizeof(*ss));
}

struct sp_load_summary *sp_load_summary_new(void)
{
    struct sp_load_summary *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    for (int p = 0; p < SP_PHASE__COUNT; p++) {
        sp_hist_init(&s->lat[p]);
        sp_hist_init(&s->svc[p]);
    }
    sp_hist_init(&s->lag);
    return s;
}

void sp_load_summary_free(struct sp_load_summary *s)
{
    free(s);
}

static void merge_meta(struct sp_load_meta *m, const struct sp_load_meta *add)
{
    if (m->merged == 0 && m->run_id[0] == '\0') {
        *m = *add;
        m->merged = add->merged > 0 ? add->merged : 1;
        return;
    }
    m->merged += add->merged > 0 ? add->merged : 1;
    if (add->wall_s > m->wall_s)
        m->wall_s = add->wall_s;
    if (add->window_s > m->window_s)
        m->window_s = add->window_s;
    if (add->started_at < m->started_at)
        m->started_at = add->started_at;
    m->target_rate += add->target_rate;
    m->leaks += add->leaks;
    m->interrupted = m->interrupted || add->interrupted;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Distinct lifecycles among the failed samples. */
static long count_failed_lifecycles(const struct sp_load_samples *ss)
{
    uint64_t *ids = malloc((ss->n ? ss->n : 1) * sizeof(*ids));
    size_t n = 0;
    if (ids == NULL)
        return -1;
    for (size_t i = 0; i < ss->n; i++)
        if (ss->v[i].err != SP_E_OK)
            ids[n++] = ss->v[i].lifecycle;
    qsort(ids, n, sizeof(*ids), cmp_u64);
    long distinct = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || ids[i] != ids[i - 1])
            distinct++;
    free(ids);
    return distinct;
}

static void add_sample(struct sp_load_summary *s, const struct sp_load_sample *x)
{
    s->retries += x->retries;
    if (x->phase == SP_PHASE_API) {
        int64_t lag = x->start_us - x->intended_us;
        s->started++;
        sp_hist_record(&s->lag, lag);
        if (lag > SP_LOAD_LATE_US)
            s->late_starts++;
        if (lag > s->max_lag_us)
            s->max_lag_us = lag;
    }
    if (x->err == SP_E_OK) {
        sp_hist_record(&s->lat[x->phase], x->end_us - x->intended_us);
        sp_hist_record(&s->svc[x->phase], x->end_us - x->start_us);
        return;
    }
    enum sp_err cls = x->err < SP_E__COUNT ? x->err : SP_E_INTERNAL;
    s->failed[x->phase]++;
    if (x->phase == SP_PHASE_TTI)
        return; /* the first exec's failure, already counted */
    s->errors[cls]++;
    if (s->first_error[cls][0] == '\0')
        snprintf(s->first_error[cls], sizeof(s->first_error[cls]), "%s: %s",
                 sp_phase_name(x->phase), x->message ? x->message : sp_err_name(cls));
}

int sp_load_summary_add(struct sp_load_summary *s,
                        const struct sp_load_meta *meta,
                        const struct sp_load_samples *ss)
{
    merge_meta(&s->meta, meta);
    for (size_t i = 0; i < ss->n; i++)
        add_sample(s, &ss->v[i]);
    long failed = count_failed_lifecycles(ss);
    if (failed < 0)
        return -1;
    s->failed_lifecycles += failed;
    return 0;
}

/* Achieved rate of one shard: its starts over its schedule window, stretched by how late its
 * last start was (a harness that falls behind shows a lower rate). */
static double shard_achieved(const struct sp_load_samples *ss, double window_s)
{
    long started = 0;
    int64_t last_lag = 0, last_intended = -1;
    for (size_t i = 0; i < ss->n; i++) {
        const struct sp_load_sample *x = &ss->v[i];
        if (x->phase != SP_PHASE_API)
            continue;
        started++;
        if (x->intended_us >= last_intended) {
            last_intended = x->intended_us;
            last_lag = x->start_us - x->intended_us;
        }
    }
    double w = window_s + (last_lag > 0 ? (double)last_lag / 1e6 : 0.0);
    return w > 0 ? (double)started / w : 0.0;
}

static void
timeline(struct sp_load_summary *s, const struct sp_load_samples *const *sets, size_t n_sets)
{
    int64_t max_end = 1;
    for (size_t k = 0; k < n_sets; k++)
        for (size_t i = 0; i < sets[k]->n; i++)
            if (sets[k]->v[i].end_us > max_end)
                max_end = sets[k]->v[i].end_us;
    s->n_bins = SP_LOAD_TIMELINE_BINS;
    s->bin_s = (double)max_end / 1e6 / SP_LOAD_TIMELINE_BINS;
    double bin_us = s->bin_s * 1e6;
    long delta[SP_LOAD_TIMELINE_BINS + 1] = {0};
    for (size_t k = 0; k < n_sets; k++) {
        for (size_t i = 0; i < sets[k]->n; i++) {
            const struct sp_load_sample *x = &sets[k]->v[i];
            int b_start = (int)((double)x->start_us / bin_us);
            int b_end = (int)((double)x->end_us / bin_us);
            b_start = b_start < 0 ? 0 : b_start >= s->n_bins ? s->n_bins - 1 : b_start;
            b_end = b_end < 0 ? 0 : b_end >= s->n_bins ? s->n_bins - 1 : b_end;
            if (x->err != SP_E_OK)
                s->errs[b_end]++;
            if (x->phase != SP_PHASE_API)
                continue;
            s->starts[b_start]++;
            delta[b_start]++; /* in flight from create... */
        }
    }
    /* ...until the lifecycle's last sample: the end of gone, teardown or the failure. */
    for (size_t k = 0; k < n_sets; k++) {
        const struct sp_load_samples *ss = sets[k];
        for (size_t i = 0; i < ss->n; i++) {
            const struct sp_load_sample *x = &ss->v[i];
            bool last = i + 1 == ss->n || ss->v[i + 1].lifecycle != x->lifecycle;
            if (!last)
                continue;
            int b = (int)((double)x->end_us / bin_us);
            b = b < 0 ? 0 : b >= s->n_bins ? s->n_bins - 1 : b;
            delta[b + 1]--;
        }
    }
    long cur = 0;
    for (int b = 0; b < s->n_bins; b++) {
        cur += delta[b];
        s->inflight[b] = cur;
    }
}

void sp_load_summary_finish(struct sp_load_summary *s,
                            const struct sp_load_samples *const *ss_all,
                            size_t n_sets)
{
    s->completed = s->started - s->failed_lifecycles;
    if (s->meta.target_rate > 0) {
        s->achieved_rate = 0;
        for (size_t k = 0; k < n_sets; k++)
            s->achieved_rate += shard_achieved(ss_all[k], s->meta.window_s);
    } else {
        s->achieved_rate = s->meta.wall_s > 0 ? (double)s->started / s->meta.wall_s : 0;
    }
    timeline(s, ss_all, n_sets);
}

const char *sp_load_fmt_us(double us, char *out, size_t len)
{
    if (us < 1000)
        snprintf(out, len, "%.0fus", us);
    else if (us < 1e6)
        snprintf(out, len, "%.3gms", us / 1e3);
    else
        snprintf(out, len, "%.3gs", us / 1e6);
    return out;
}

enum sp_load_verdict_kind
sp_load_verdict(const struct sp_load_summary *s, const struct sp_load_verdict *v, size_t n_v)
{
    if (s->meta.interrupted)
        return SP_LOAD_INTERRUPTED;
    for (size_t i = 0; i < n_v; i++)
        if (!v[i].passed)
            return SP_LOAD_THRESHOLD_CROSSED;
    if (s->meta.leaks > 0)
        return SP_LOAD_LEFT_BEHIND;
    /* Without this, a provider failing every create would pass a run with no threshold. */
    if (s->started > 0 && s->completed == 0)
        return SP_LOAD_NOTHING_COMPLETED;
    return SP_LOAD_PASS;
}
