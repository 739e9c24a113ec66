/* The console summary of a conformance run, for the person at the terminal or reading a CI
 * log: one line per requirement, the reason under anything that did not pass, then counts,
 * the verdict and where the files are. Colour is the caller's decision (a tty, NO_COLOR). */
#include "report.h"

#include <string.h>

#define C_RED    "\033[31m"
#define C_GREEN  "\033[32m"
#define C_YELLOW "\033[33m"
#define C_BOLD   "\033[1m"
#define C_RESET  "\033[0m"

struct label {
    const char *text;
    const char *color;
};

static struct label result_label(const struct sp_report_run *run, const struct sp_req_result *r)
{
    switch (r->outcome) {
    case SP_REQ_PASS:
        return (struct label){"PASS", C_GREEN};
    case SP_REQ_FAIL:
        if (sp_report_gating(run, r))
            return (struct label){"FAIL", C_RED};
        return (struct label){"WARN", C_YELLOW};
    case SP_REQ_SKIP:
        return (struct label){"SKIP", C_YELLOW};
    case SP_REQ_ERROR:
        break;
    }
    return (struct label){"ERROR", C_RED};
}

/* Writes s under a result line: control characters (a terminal would act on them) become
 * '?', and each line of a multi-line message is indented. */
static void put_reason(FILE *out, const char *s)
{
    fputs("         ", out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\n')
            fputs("\n         ", out);
        else if (*p < 0x20 || *p == 0x7F)
            fputc('?', out);
        else
            fputc(*p, out);
    }
    fputc('\n', out);
}

static void
put_result(FILE *out, const struct sp_report_run *run, const struct sp_req_result *r, bool color)
{
    struct label l = result_label(run, r);
    char name[160];
    snprintf(name, sizeof(name), "%s [%s]", r->req->id, sp_level_name(r->req->level));
    fprintf(out, "  %s%-5s%s  %-56s %7.2fs\n", color ? l.color : "", l.text, color ? C_RESET : "",
            name, r->seconds);
    if (r->outcome == SP_REQ_PASS)
        return;
    if (r->message[0])
        put_reason(out, r->message);
    if (r->err.code != SP_E_OK) {
        char detail[512];
        put_reason(out, sp_error_format(&r->err, detail, sizeof(detail)));
    }
}

static void
put_counts(FILE *out, const struct sp_report_run *run, const struct sp_report_provider *p)
{
    if (p->error || p->skipped) {
        fprintf(out, "%s: not run: %s%s\n", p->name, p->error ? "error: " : "",
                p->error ? p->error : p->skipped);
        return;
    }
    struct sp_report_counts c;
    sp_report_count(run, p, &c);
    fprintf(out, "%s: %zu passed, %zu failed", p->name, c.pass, c.fail);
    if (c.warn)
        fprintf(out, " (%zu below level %s)", c.warn, sp_level_name(run->level));
    fprintf(out, ", %zu skipped, %zu errors\n", c.skip, c.error);
}

void sp_report_console_footer(const struct sp_report_run *run, FILE *out, bool color)
{
    for (size_t i = 0; i < run->n_providers; i++)
        put_counts(out, run, &run->providers[i]);
    bool pass = sp_report_passed(run);
    const char *col = pass ? C_GREEN : C_RED;
    fprintf(out, "verdict: %s%s%s%s (level %s, target %s, run %s, %.1fs)%s\n", color ? C_BOLD : "",
            color ? col : "", pass ? "PASS" : "FAIL", color ? C_RESET : "",
            sp_level_name(run->level), run->target, run->run_id, run->duration_s,
            run->interrupted ? " - interrupted" : "");
    if (run->out_dir) {
        fprintf(out, "reports: %s/junit.xml\n", run->out_dir);
        fprintf(out, "         %s/summary.json\n", run->out_dir);
    }
    fflush(out);
}

void sp_report_console(const struct sp_report_run *run, FILE *out, bool color)
{
    for (size_t i = 0; i < run->n_providers; i++) {
        const struct sp_report_provider *p = &run->providers[i];
        if (p->error || p->skipped)
            continue;
        fprintf(out, "%s%s%s (%s, mode %s)\n", color ? C_BOLD : "", p->name, color ? C_RESET : "",
                run->target, p->mode ? p->mode : "default");
        for (size_t j = 0; j < p->n_results; j++)
            put_result(out, run, &p->results[j], color);
        fputc('\n', out);
    }
    sp_report_console_footer(run, out, color);
}
