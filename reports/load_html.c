/* report.html of a load run: one self-contained file (no script, no external asset) with
 * inline SVG plots — latency percentile curves per phase (x: percentile on the usual
 * 1/(1-p) log scale, y: latency), a per-phase breakdown (p50 and p99 bars), a timeline of
 * starts, lifecycles in flight and errors over the run — and the error and threshold tables.
 * Every plot is an <svg class="plot"> whose data is in <polyline>/<rect> elements, which is
 * what the headless-browser test looks for. */
#include <math.h>
#include <string.h>

#include "load_report.h"
#include "report.h"

#define W      720
#define H      260
#define PAD    50
#define LEGEND 100 /* right margin of the percentile plot, for the phase names */

static const char *const colors[SP_PHASE__COUNT] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                                                    "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};

static void esc(struct sp_buf *b, const char *s)
{
    struct sp_buf clean;
    sp_buf_init(&clean, 0);
    if (sp__utf8_clean(s, &clean) == 0)
        s = sp_buf_str(&clean);
    for (; *s; s++) {
        switch (*s) {
        case '<':
            sp_buf_puts(b, "&lt;");
            break;
        case '>':
            sp_buf_puts(b, "&gt;");
            break;
        case '&':
            sp_buf_puts(b, "&amp;");
            break;
        case '"':
            sp_buf_puts(b, "&quot;");
            break;
        default:
            sp_buf_append(b, s, 1);
            break;
        }
    }
    sp_buf_cleanup(&clean);
}

/* x of percentile p: log10(1 / (1 - p)), 0 .. 5 (p100 drawn at 99.999). */
static double pct_x(double p)
{
    double q = p >= 99.999 ? 1e-5 : 1.0 - p / 100.0;
    return PAD + (W - PAD - LEGEND) * (-log10(q)) / 5.0;
}

static void plot_curves(const struct sp_load_summary *s, struct sp_buf *b)
{
    static const double ps[] = {0, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 100};
    int64_t top = 1;
    for (int ph = 0; ph < SP_PHASE__COUNT; ph++)
        top = s->lat[ph].max > top ? s->lat[ph].max : top;
    char t[32];
    sp_buf_printf(b,
                  "<h2>Latency percentiles (from the intended start)</h2>\n<svg class=\"plot\" "
                  "id=\"percentiles\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n"
                  "<text x=\"4\" y=\"14\" font-size=\"11\">%s</text>\n",
                  W, H, W, H, sp_load_fmt_us((double)top, t, sizeof(t)));
    static const char *const labels[] = {"0", "90", "99", "99.9", "99.99", "99.999"};
    for (int i = 0; i <= 5; i++)
        sp_buf_printf(b, "<text x=\"%d\" y=\"%d\" font-size=\"11\">p%s</text>\n",
                      PAD + (W - PAD - LEGEND) * i / 5 - 8, H - 8, labels[i]);
    for (int ph = 0; ph < SP_PHASE__COUNT; ph++) {
        const struct sp_hist *h = &s->lat[ph];
        if (h->total == 0)
            continue;
        sp_buf_printf(b, "<polyline class=\"data\" fill=\"none\" stroke=\"%s\" points=\"",
                      colors[ph]);
        for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++)
            sp_buf_printf(b, "%.1f,%.1f ", pct_x(ps[i]),
                          H - PAD -
                              (H - 2 * PAD) * (double)sp_hist_percentile(h, ps[i]) / (double)top);
        sp_buf_printf(b,
                      "\"><title>%s</title></polyline>\n<text x=\"%d\" y=\"%d\" fill=\"%s\" "
                      "font-size=\"11\">%s</text>\n",
                      sp_phase_name((enum sp_phase)ph), W - LEGEND + 10, 20 + 14 * ph, colors[ph],
                      sp_phase_name((enum sp_phase)ph));
    }
    sp_buf_puts(b, "</svg>\n");
}

static void plot_breakdown(const struct sp_load_summary *s, struct sp_buf *b)
{
    int64_t top = 1;
    for (int ph = 0; ph < SP_PHASE__COUNT; ph++) {
        int64_t p99 = sp_hist_percentile(&s->svc[ph], 99);
        top = p99 > top ? p99 : top;
    }
    sp_buf_printf(b,
                  "<h2>Per-phase service time (p50 solid, p99 light)</h2>\n<svg class=\"plot\" "
                  "id=\"breakdown\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n",
                  W, 30 * SP_PHASE__COUNT + 10, W, 30 * SP_PHASE__COUNT + 10);
    for (int ph = 0; ph < SP_PHASE__COUNT; ph++) {
        const struct sp_hist *h = &s->svc[ph];
        double w50 = (W - 330.0) * (double)sp_hist_percentile(h, 50) / (double)top;
        double w99 = (W - 330.0) * (double)sp_hist_percentile(h, 99) / (double)top;
        char a[32], c[32];
        int y = 8 + 30 * ph;
        sp_buf_printf(b, "<text x=\"0\" y=\"%d\" font-size=\"12\">%s</text>\n", y + 14,
                      sp_phase_name((enum sp_phase)ph));
        if (h->total == 0)
            continue;
        sp_buf_printf(b,
                      "<rect class=\"data\" x=\"90\" y=\"%d\" width=\"%.1f\" height=\"20\" "
                      "fill=\"%s\" opacity=\"0.35\"/>\n<rect class=\"data\" x=\"90\" y=\"%d\" "
                      "width=\"%.1f\" height=\"20\" fill=\"%s\"/>\n<text x=\"%.1f\" y=\"%d\" "
                      "font-size=\"11\">p50 %s, p99 %s</text>\n",
                      y, w99 + 1, colors[ph], y, w50 + 1, colors[ph], 96 + w99, y + 14,
                      sp_load_fmt_us((double)sp_hist_percentile(h, 50), a, sizeof(a)),
                      sp_load_fmt_us((double)sp_hist_percentile(h, 99), c, sizeof(c)));
    }
    sp_buf_puts(b, "</svg>\n");
}

static void
series(struct sp_buf *b, const long *v, int n, long top, const char *color, const char *name)
{
    sp_buf_printf(b, "<polyline class=\"data\" fill=\"none\" stroke=\"%s\" points=\"", color);
    for (int i = 0; i < n; i++)
        sp_buf_printf(b, "%.1f,%.1f ", PAD + (W - 2.0 * PAD) * i / (n > 1 ? n - 1 : 1),
                      H - PAD - (H - 2.0 * PAD) * (double)v[i] / (double)top);
    sp_buf_printf(b, "\"><title>%s</title></polyline>\n", name);
}

static void plot_timeline(const struct sp_load_summary *s, struct sp_buf *b)
{
    long top = 1;
    for (int i = 0; i < s->n_bins; i++) {
        top = s->starts[i] > top ? s->starts[i] : top;
        top = s->inflight[i] > top ? s->inflight[i] : top;
        top = s->errs[i] > top ? s->errs[i] : top;
    }
    sp_buf_printf(b,
                  "<h2>Timeline (bins of %.3g s): starts <span style=\"color:#1f77b4\">blue"
                  "</span>, in flight <span style=\"color:#2ca02c\">green</span>, errors "
                  "<span style=\"color:#d62728\">red</span></h2>\n<svg class=\"plot\" "
                  "id=\"timeline\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n"
                  "<text x=\"4\" y=\"14\" font-size=\"11\">%ld</text>\n<text x=\"%d\" y=\"%d\" "
                  "font-size=\"11\">%.1f s</text>\n",
                  s->bin_s, W, H, W, H, top, W - PAD - 20, H - 8, s->bin_s * s->n_bins);
    series(b, s->starts, s->n_bins, top, "#1f77b4", "starts");
    series(b, s->inflight, s->n_bins, top, "#2ca02c", "in flight");
    series(b, s->errs, s->n_bins, top, "#d62728", "errors");
    sp_buf_puts(b, "</svg>\n");
}

static void tables(const struct sp_load_summary *s,
                   const struct sp_load_verdict *v,
                   size_t n_v,
                   struct sp_buf *b)
{
    sp_buf_puts(b, "<h2>Errors</h2>\n<table id=\"errors\"><tr><th>class</th><th>count</th>"
                   "<th>first message</th></tr>\n");
    bool any = false;
    for (int e = 1; e < SP_E__COUNT; e++) {
        if (s->errors[e] == 0)
            continue;
        any = true;
        sp_buf_printf(b, "<tr><td>%s</td><td>%ld</td><td>", sp_err_name((enum sp_err)e),
                      s->errors[e]);
        esc(b, s->first_error[e]);
        sp_buf_puts(b, "</td></tr>\n");
    }
    if (!any)
        sp_buf_puts(b, "<tr><td colspan=\"3\">none</td></tr>\n");
    sp_buf_puts(b, "</table>\n<h2>Thresholds</h2>\n<table><tr><th>threshold</th><th>value</th>"
                   "<th>verdict</th></tr>\n");
    for (size_t i = 0; i < n_v; i++) {
        sp_buf_puts(b, "<tr><td>");
        esc(b, v[i].expr);
        sp_buf_printf(b, "</td><td>%g</td><td>%s</td></tr>\n", v[i].value,
                      v[i].passed      ? "pass"
                      : v[i].has_value ? "FAIL"
                                       : "FAIL (no samples)");
    }
    if (n_v == 0)
        sp_buf_puts(b, "<tr><td colspan=\"3\">none given</td></tr>\n");
    sp_buf_puts(b, "</table>\n");
}

enum sp_err sp_load_write_html(const struct sp_load_summary *s,
                               const struct sp_load_verdict *v,
                               size_t n_v,
                               const char *path,
                               struct sp_error *err)
{
    const struct sp_load_meta *m = &s->meta;
    struct sp_buf b;
    sp_buf_init(&b, 0);
    sp_buf_puts(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                    "<title>sandprobe load report</title>\n<style>body{font:14px sans-serif;"
                    "margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
                    "padding:2px 8px}svg{border:1px solid #eee}</style></head><body>\n<h1>");
    esc(&b, m->provider);
    sp_buf_printf(&b,
                  " load run %s%s</h1>\n<p>%s model, profile %s; %ld started, %ld completed, "
                  "%ld failed; %.2f lifecycles/s achieved (target %.2f); %ld late starts; "
                  "%ld left behind.</p>\n",
                  m->run_id, m->interrupted ? " (interrupted)" : "", m->model, m->profile,
                  s->started, s->completed, s->failed_lifecycles, s->achieved_rate, m->target_rate,
                  s->late_starts, m->leaks);
    plot_curves(s, &b);
    plot_breakdown(s, &b);
    plot_timeline(s, &b);
    tables(s, v, n_v, &b);
    sp_buf_puts(&b, "</body></html>\n");
    if (b.overflow || b.data == NULL) {
        sp_buf_cleanup(&b);
        sp_error_set(err, SP_E_INTERNAL, "%s: out of memory", path);
        return SP_E_INTERNAL;
    }
    enum sp_err rc = sp__report_write(path, b.data, b.len, err);
    sp_buf_cleanup(&b);
    return rc;
}

enum sp_err sp_load_write_all(const struct sp_load_summary *s,
                              const struct sp_load_samples *ss,
                              const struct sp_load_verdict *v,
                              size_t n_v,
                              const char *dir,
                              struct sp_error *err)
{
    char path[1100];
    enum sp_err rc;
    snprintf(path, sizeof(path), "%s/samples.ndjson", dir);
    if ((rc = sp_load_write_samples(ss, path, err)) != SP_E_OK)
        return rc;
    snprintf(path, sizeof(path), "%s/summary.json", dir);
    if ((rc = sp_load_write_json(s, v, n_v, path, err)) != SP_E_OK)
        return rc;
    snprintf(path, sizeof(path), "%s/summary.md", dir);
    if ((rc = sp_load_write_md(s, v, n_v, path, err)) != SP_E_OK)
        return rc;
    snprintf(path, sizeof(path), "%s/report.html", dir);
    return sp_load_write_html(s, v, n_v, path, err);
}
