/* The shared tail of `sandprobe load` and `sandprobe report` (load_cli.h). */
#include "load_cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "report.h"

int sp__load_parse_duration(const char *s, int64_t *out_us)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || !isfinite(v) || v <= 0)
        return -1;
    double mult = *end == '\0' || strcmp(end, "s") == 0 ? 1e6
                  : strcmp(end, "ms") == 0              ? 1e3
                  : strcmp(end, "us") == 0              ? 1
                  : strcmp(end, "m") == 0               ? 60e6
                  : strcmp(end, "h") == 0               ? 3600e6
                                                        : -1;
    if (mult < 0 || v * mult > 366.0 * 24 * 3600e6)
        return -1;
    *out_us = (int64_t)llround(v * mult);
    return *out_us > 0 ? 0 : -1;
}

static void print_summary(const struct sp_load_summary *s,
                          const struct sp_load_verdict *v,
                          size_t n_v,
                          const char *dir,
                          FILE *out)
{
    const struct sp_load_meta *m = &s->meta;
    fprintf(out,
            "%s load (%s, %s model, %s): %ld started, %ld completed, %ld failed, "
            "%ld retries, %ld left behind%s\n",
            m->provider, m->target, m->model, m->profile, s->started, s->completed,
            s->failed_lifecycles, s->retries, m->leaks, m->interrupted ? ", INTERRUPTED" : "");
    char lag[32];
    if (m->target_rate > 0)
        fprintf(out, "rate %.2f/s of %.2f/s target; %ld late starts, largest lag %s\n",
                s->achieved_rate, m->target_rate, s->late_starts,
                sp_load_fmt_us((double)s->max_lag_us, lag, sizeof(lag)));
    else
        fprintf(out, "rate %.2f lifecycles/s\n", s->achieved_rate);
    fprintf(out, "%-11s %7s %9s %9s %9s %9s %9s\n", "phase", "count", "p50", "p90", "p99", "p99.9",
            "max");
    for (int ph = 0; ph < SP_PHASE__COUNT; ph++) {
        const struct sp_hist *h = &s->lat[ph];
        if (h->total == 0)
            continue;
        char a[5][32];
        static const double p[] = {50, 90, 99, 99.9, 100};
        for (int i = 0; i < 5; i++)
            sp_load_fmt_us((double)sp_hist_percentile(h, p[i]), a[i], sizeof(a[i]));
        fprintf(out, "%-11s %7lld %9s %9s %9s %9s %9s\n", sp_phase_name((enum sp_phase)ph),
                (long long)h->total, a[0], a[1], a[2], a[3], a[4]);
    }
    for (int e = 1; e < SP_E__COUNT; e++)
        if (s->errors[e])
            fprintf(out, "errors: %ld %s, first: %s\n", s->errors[e], sp_err_name((enum sp_err)e),
                    s->first_error[e]);
    for (size_t i = 0; i < n_v; i++)
        fprintf(out, "threshold %s: %s%s\n", v[i].expr, v[i].passed ? "pass" : "FAIL",
                v[i].has_value ? "" : " (no samples)");
    if (sp_load_verdict(s, v, n_v) == SP_LOAD_NOTHING_COMPLETED)
        fprintf(out, "FAIL: no lifecycle completed (%ld of %ld failed), so nothing was measured\n",
                s->failed_lifecycles, s->started);
    fprintf(out, "reports: %s/{summary.json,samples.ndjson,summary.md,report.html}\n", dir);
}

/* Concatenates the parts' samples (the merged samples.ndjson). */
static int concat(const struct sp__load_part *parts, size_t n, struct sp_load_samples *all)
{
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; i < parts[k].samples.n; i++)
            if (sp_load_samples_add(all, &parts[k].samples.v[i]) != 0)
                return -1;
    return 0;
}

int sp__load_render(const struct sp__load_part *parts,
                    size_t n,
                    const struct sp_threshold *t,
                    size_t n_t,
                    const char *out_dir,
                    FILE *out,
                    FILE *errf)
{
    struct sp_load_summary *s = sp_load_summary_new();
    const struct sp_load_samples *sets[SP_ARGS_MAX_SETS];
    struct sp_load_verdict v[SP_LOAD_MAX_THRESHOLDS];
    struct sp_load_samples all = {0};
    struct sp_error err;
    sp_error_clear(&err);
    int code = SP_EXIT_HARNESS;
    if (s == NULL || n > SP_ARGS_MAX_SETS)
        goto out;
    for (size_t k = 0; k < n; k++) {
        sets[k] = &parts[k].samples;
        if (sp_load_summary_add(s, &parts[k].meta, &parts[k].samples) != 0)
            goto out;
    }
    sp_load_summary_finish(s, sets, n);
    sp_threshold_eval_all(t, n_t, s, v);
    const struct sp_load_samples *written = &parts[0].samples;
    if (n > 1) {
        if (concat(parts, n, &all) != 0)
            goto out;
        written = &all;
    }
    if (sp_report_make_dirs(out_dir) != 0) {
        fprintf(errf, "sandprobe: cannot create %s: %s\n", out_dir, strerror(errno));
        goto out;
    }
    if (sp_load_write_all(s, written, v, n_t, out_dir, &err) != SP_E_OK) {
        char msg[512];
        fprintf(errf, "sandprobe: %s\n", sp_error_format(&err, msg, sizeof(msg)));
        goto out;
    }
    print_summary(s, v, n_t, out_dir, out);
    switch (sp_load_verdict(s, v, n_t)) {
    case SP_LOAD_PASS:
        code = SP_EXIT_PASS;
        break;
    case SP_LOAD_INTERRUPTED:
        code = SP_EXIT_INTERRUPTED;
        break;
    case SP_LOAD_THRESHOLD_CROSSED:
        code = SP_EXIT_THRESHOLD;
        break;
    case SP_LOAD_LEFT_BEHIND:
    case SP_LOAD_NOTHING_COMPLETED:
        code = SP_EXIT_FAIL;
        break;
    }
out:
    sp_load_samples_cleanup(&all);
    sp_load_summary_free(s);
    return code;
}
