/* The console summary of a conformance run, for the person at the terminal or reading a CI
 * log: one line per requirement, the reason under anything that did not pass, then counts,
 * the verdict and where the files are. Colour is the caller's decision (a tty, NO_COLOR). */
#include "report.h"

#include <stdbool.h>
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

#define WIDTH  100 /* wrap reasons to this many columns */
#define INDENT "         "

/* Writes s under a result line, wrapped at spaces to WIDTH columns (a word longer than a
 * line stays whole: nothing is ever cut), each line indented. Control characters (a
 * terminal would act on them) become '?'. */
static void put_reason(FILE *out, const char *s)
{
    const size_t room = WIDTH - sizeof(INDENT) + 1;
    while (*s) {
        size_t line = strcspn(s, "\n"), take = line;
        if (line > room) {
            take = room;
            while (take > 0 && s[take] != ' ')
                take--;
            if (take == 0) /* one long word: keep it whole */
                take = strcspn(s, " \n");
        }
        fputs(INDENT, out);
        for (size_t i = 0; i < take; i++) {
            unsigned char c = (unsigned char)s[i];
            fputc(c < 0x20 || c == 0x7F ? '?' : c, out);
        }
        fputc('\n', out);
        s += take;
        while (*s == ' ')
            s++;
        if (*s == '\n')
            s++;
    }
}

/* The provider error is shown only when the message does not already carry it. */
static bool error_in_message(const struct sp_req_result *r)
{
    return r->err.msg[0] != '\0' && strstr(r->message, r->err.msg) != NULL;
}

void sp_report_console_result(const struct sp_report_run *run,
                              const struct sp_req_result *r,
                              FILE *out,
                              bool color)
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
    if (r->err.code != SP_E_OK && (r->message[0] == '\0' || !error_in_message(r))) {
        char detail[512];
        put_reason(out, sp_error_format(&r->err, detail, sizeof(detail)));
    }
    if (run->verbose && r->where[0])
        fprintf(out, INDENT "at %s\n", r->where);
}

void sp_report_console_provider(const struct sp_report_run *run,
                                const struct sp_report_provider *p,
                                FILE *out,
                                bool color)
{
    fprintf(out, "%s%s%s (%s%s%s)\n", color ? C_BOLD : "", p->name, color ? C_RESET : "",
            run->target, p->mode ? ", mode " : "", p->mode ? p->mode : "");
}

static void
put_counts(FILE *out, const struct sp_report_run *run, const struct sp_report_provider *p)
{
    const char *mode = p->mode ? p->mode : "";
    const char *sep = p->mode ? " " : "";
    if (p->skipped || (p->error && p->n_results == 0)) {
        fprintf(out, "%s%s%s: not run: %s%s\n", p->name, sep, mode, p->error ? "error: " : "",
                p->error ? p->error : p->skipped);
        return;
    }
    if (p->error) /* it ran part of the way */
        fprintf(out, "%s%s%s: error: %s\n", p->name, sep, mode, p->error);
    struct sp_report_counts c;
    sp_report_count(run, p, &c);
    fprintf(out, "%s%s%s: %zu passed, %zu failed", p->name, sep, mode, c.pass, c.fail);
    if (c.warn)
        fprintf(out, " (%zu below level %s)", c.warn, sp_level_name(run->level));
    fprintf(out, ", %zu skipped, %zu errors\n", c.skip, c.error);
}

/* One line: the message's first line, elided at a space (never inside a word). */
static void put_one_line(FILE *out, const char *s, size_t room)
{
    size_t n = strcspn(s, "\n");
    bool cut = n > room || s[n] == '\n';
    if (n > room) {
        size_t k = room;
        while (k > 0 && s[k] != ' ')
            k--;
        n = k ? k : strcspn(s, " \n");
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        fputc(c < 0x20 || c == 0x7F ? '?' : c, out);
    }
    fputs(cut ? " ...\n" : "\n", out);
}

void sp_report_console_problems(const struct sp_report_run *run, FILE *out, bool color)
{
    for (size_t i = 0; i < run->n_providers; i++) {
        const struct sp_report_provider *p = &run->providers[i];
        for (size_t j = 0; j < p->n_results; j++) {
            const struct sp_req_result *r = &p->results[j];
            if (r->outcome != SP_REQ_FAIL && r->outcome != SP_REQ_ERROR)
                continue;
            struct label l = result_label(run, r);
            const char *cls = r->err.code != SP_E_OK ? sp_err_name(r->err.code) : "conformance";
            fprintf(out, "%s%s%s %s%s%s %s [%s]: ", color ? l.color : "", l.text,
                    color ? C_RESET : "", p->name, p->mode ? "/" : "", p->mode ? p->mode : "",
                    r->req->id, cls);
            put_one_line(out, r->message[0] ? r->message : r->err.msg, 100);
        }
    }
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
        if (p->skipped || (p->error && p->n_results == 0))
            continue;
        sp_report_console_provider(run, p, out, color);
        for (size_t j = 0; j < p->n_results; j++)
            sp_report_console_result(run, &p->results[j], out, color);
        fputc('\n', out);
    }
    sp_report_console_footer(run, out, color);
}
