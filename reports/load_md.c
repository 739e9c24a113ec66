/* summary.md of a load run: a short Markdown page that fits a CI step summary such as
 * $GITHUB_STEP_SUMMARY — the verdict, rates, the per-phase percentile table, errors and
 * thresholds. */
#include <string.h>

#include "load_report.h"
#include "report.h"

static void md_phase_rows(const struct sp_load_summary *s, struct sp_buf *b)
{
    static const double p[] = {50, 90, 99, 99.9};
    sp_buf_puts(b, "| phase | count | p50 | p90 | p99 | p99.9 | max | mean | failed |\n"
                   "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int ph = 0; ph < SP_PHASE__COUNT; ph++) {
        const struct sp_hist *h = &s->lat[ph];
        char v[6][32];
        for (int i = 0; i < 4; i++)
            sp_load_fmt_us((double)sp_hist_percentile(h, p[i]), v[i], sizeof(v[i]));
        sp_load_fmt_us((double)h->max, v[4], sizeof(v[4]));
        sp_load_fmt_us(sp_hist_mean(h), v[5], sizeof(v[5]));
        if (h->total == 0 && s->failed[ph] == 0)
            continue;
        sp_buf_printf(b, "| %s | %lld | %s | %s | %s | %s | %s | %s | %ld |\n",
                      sp_phase_name((enum sp_phase)ph), (long long)h->total, v[0], v[1], v[2], v[3],
                      v[4], v[5], s->failed[ph]);
    }
}

enum sp_err sp_load_write_md(const struct sp_load_summary *s,
                             const struct sp_load_verdict *v,
                             size_t n_v,
                             const char *path,
                             struct sp_error *err)
{
    const struct sp_load_meta *m = &s->meta;
    bool passed = sp_load_verdict(s, v, n_v) == SP_LOAD_PASS;
    struct sp_buf b;
    sp_buf_init(&b, 0);
    char lag[32];
    sp_buf_printf(&b, "## sandprobe load: %s (%s) — %s%s\n\n", m->provider, m->target,
                  passed ? "PASS" : "FAIL", m->interrupted ? " (interrupted)" : "");
    sp_buf_printf(&b, "%s model, profile %s, steps %s. Run `%s`", m->model, m->profile, m->steps,
                  m->run_id);
    if (m->merged > 1)
        sp_buf_printf(&b, ", merged from %d shards", m->merged);
    sp_buf_puts(&b, ".\n\n");
    sp_buf_printf(&b,
                  "- lifecycles: %ld started, %ld completed, %ld failed; %ld retries; "
                  "%ld left behind\n",
                  s->started, s->completed, s->failed_lifecycles, s->retries, m->leaks);
    if (m->target_rate > 0)
        sp_buf_printf(&b, "- rate: %.2f/s achieved of %.2f/s target (%.1f%%)\n", s->achieved_rate,
                      m->target_rate, 100.0 * s->achieved_rate / m->target_rate);
    else
        sp_buf_printf(&b, "- rate: %.2f lifecycles/s (closed model)\n", s->achieved_rate);
    sp_buf_printf(&b, "- schedule: %ld late starts (> 1 ms), largest lag %s\n\n", s->late_starts,
                  sp_load_fmt_us((double)s->max_lag_us, lag, sizeof(lag)));
    sp_buf_puts(&b, "Latency from the intended start:\n\n");
    md_phase_rows(s, &b);
    bool any = false;
    for (int e = 1; e < SP_E__COUNT; e++) {
        if (s->errors[e] == 0)
            continue;
        if (!any)
            sp_buf_puts(&b, "\n| error | count | first message |\n|---|---:|---|\n");
        any = true;
        char msg[256];
        snprintf(msg, sizeof(msg), "%s", s->first_error[e]);
        for (char *c = msg; *c; c++)
            if (*c == '|' || *c == '\n')
                *c = ' ';
        sp_buf_printf(&b, "| %s | %ld | %s |\n", sp_err_name((enum sp_err)e), s->errors[e], msg);
    }
    if (n_v)
        sp_buf_puts(&b, "\n| threshold | value | verdict |\n|---|---:|---|\n");
    for (size_t i = 0; i < n_v; i++) {
        char val[32] = "no samples";
        if (v[i].has_value)
            snprintf(val, sizeof(val), "%g", v[i].value);
        sp_buf_printf(&b, "| `%s` | %s | %s |\n", v[i].expr, val,
                      v[i].passed ? "pass" : "**FAIL**");
    }
    if (b.overflow || b.data == NULL) {
        sp_buf_cleanup(&b);
        sp_error_set(err, SP_E_INTERNAL, "%s: out of memory", path);
        return SP_E_INTERNAL;
    }
    enum sp_err rc = sp__report_write(path, b.data, b.len, err);
    sp_buf_cleanup(&b);
    return rc;
}
