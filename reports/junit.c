/* JUnit XML for CI systems (GitLab, Jenkins, GitHub test reporters): one <testsuite> per
 * provider (and mode), one <testcase> per requirement. A gating failure is a <failure>; a
 * failure below the run's level is a <failure type="warning"> whose message starts with
 * "WARN", so renderers show it as not passing while the exit code (the verdict) stays
 * green; the testsuite's `failures` counts both, as renderers count the elements. Every string is
 * escaped for XML 1.0, which cannot carry most control characters even as references: those, and
 * bytes that are not UTF-8, are written as the text "\xHH". */
#include "report.h"

#include <string.h>

static int put_hex(struct sp_buf *b, unsigned v, int width)
{
    return sp_buf_printf(b, width == 2 ? "\\x%02X" : "\\u%04X", v);
}

/* The escape for code point cp, or NULL when it can be written as it is. */
static const char *xml_entity(unsigned long cp, bool attr)
{
    switch (cp) {
    case '&':
        return "&amp;";
    case '<':
        return "&lt;";
    case '>':
        return "&gt;";
    case '"':
        return "&quot;";
    case '\'':
        return "&apos;";
    case '\r':
        return "&#13;"; /* a raw CR would be normalised away by the parser */
    case '\n':
        return attr ? "&#10;" : NULL; /* attribute values normalise whitespace to spaces */
    case '\t':
        return attr ? "&#9;" : NULL;
    default:
        return NULL;
    }
}

/* Appends s escaped for XML text (attr false) or a double-quoted attribute (attr true). */
static int xml_put(struct sp_buf *b, const char *s, bool attr)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t n = strlen((const char *)p);
    int rc = 0;
    while (n > 0 && rc == 0) {
        unsigned long cp = 0;
        size_t k = sp__utf8_decode(p, n, &cp);
        const char *ent = k ? xml_entity(cp, attr) : NULL;
        if (k == 0)
            rc = put_hex(b, p[0], 2); /* not UTF-8 */
        else if (ent)
            rc = sp_buf_puts(b, ent);
        else if ((cp < 0x20 && cp != '\t' && cp != '\n') || cp == 0xFFFE || cp == 0xFFFF)
            rc = put_hex(b, (unsigned)cp, cp < 0x100 ? 2 : 4); /* not an XML 1.0 Char */
        else
            rc = sp_buf_append(b, p, k);
        k = k ? k : 1;
        p += k;
        n -= k;
    }
    return rc;
}

static int put_attr(struct sp_buf *b, const char *name, const char *val)
{
    int rc = sp_buf_printf(b, " %s=\"", name);
    rc |= xml_put(b, val, true);
    rc |= sp_buf_puts(b, "\"");
    return rc;
}

static int put_property(struct sp_buf *b, const char *name, const char *val)
{
    int rc = sp_buf_puts(b, "      <property");
    rc |= put_attr(b, "name", name);
    rc |= put_attr(b, "value", val);
    rc |= sp_buf_puts(b, "/>\n");
    return rc;
}

/* <failure> or <error>: message attribute (prefixed for a warning), the error class as
 * type ("warning" for a warning), details as text. */
static int
put_problem(struct sp_buf *b, const char *elem, const struct sp_req_result *r, const char *warn)
{
    char detail[512] = "", msg[700];
    bool has_err = r->err.code != SP_E_OK;
    if (has_err)
        sp_error_format(&r->err, detail, sizeof(detail));
    snprintf(msg, sizeof(msg), "%s%s", warn ? warn : "", r->message[0] ? r->message : detail);
    int rc = sp_buf_printf(b, "      <%s", elem);
    rc |= put_attr(b, "message", msg);
    rc |= put_attr(b, "type",
                   warn      ? "warning"
                   : has_err ? sp_err_name(r->err.code)
                             : "conformance");
    rc |= sp_buf_puts(b, ">");
    rc |= xml_put(b, r->message, false);
    if (has_err) {
        rc |= sp_buf_puts(b, "\n");
        rc |= xml_put(b, detail, false);
    }
    rc |= sp_buf_printf(b, "</%s>\n", elem);
    return rc;
}

/* Class "sandprobe.<provider>[.<mode>].<step>": the modes of one provider stay apart in a
 * renderer that groups by class. */
static int put_testcase(struct sp_buf *b,
                        const struct sp_report_run *run,
                        const struct sp_report_provider *p,
                        const struct sp_req_result *r)
{
    const struct sp_requirement *req = r->req;
    char cls[160], name[256];
    snprintf(cls, sizeof(cls), "sandprobe.%s%s%s.%s", p->name, p->mode ? "." : "",
             p->mode ? p->mode : "", sp_step_name(req->step));
    snprintf(name, sizeof(name), "%s [%s]", req->id, sp_level_name(req->level));
    int rc = sp_buf_puts(b, "    <testcase");
    rc |= put_attr(b, "classname", cls);
    rc |= put_attr(b, "name", name);
    rc |= sp_buf_printf(b, " time=\"%.3f\">\n", r->seconds);
    if (r->outcome == SP_REQ_ERROR) {
        rc |= put_problem(b, "error", r, NULL);
    } else if (r->outcome == SP_REQ_FAIL && sp_report_gating(run, r)) {
        rc |= put_problem(b, "failure", r, NULL);
    } else if (r->outcome == SP_REQ_FAIL) {
        char warn[96];
        snprintf(warn, sizeof(warn),
                 "WARN (%s, not gating at level %s): ", sp_level_name(req->level),
                 sp_level_name(run->level));
        rc |= put_problem(b, "failure", r, warn);
    } else if (r->outcome == SP_REQ_SKIP) {
        rc |= sp_buf_puts(b, "      <skipped");
        rc |= put_attr(b, "message", r->message);
        rc |= sp_buf_puts(b, "/>\n");
    }
    rc |= sp_buf_puts(b, "    </testcase>\n");
    return rc;
}

static double provider_seconds(const struct sp_report_provider *p)
{
    double s = 0;
    for (size_t i = 0; i < p->n_results; i++)
        s += p->results[i].seconds;
    return s;
}

/* A provider that did not run is one pseudo test case, so CI shows why rather than an empty
 * suite: skipped (no credentials) or an error (the harness could not run it). */
static int put_unrun_provider(struct sp_buf *b, const struct sp_report_provider *p)
{
    char cls[128];
    snprintf(cls, sizeof(cls), "sandprobe.%s", p->name);
    int rc = sp_buf_puts(b, "    <testcase");
    rc |= put_attr(b, "classname", cls);
    rc |= sp_buf_puts(b, " name=\"provider\" time=\"0.000\">\n");
    if (p->error) {
        rc |= sp_buf_puts(b, "      <error");
        rc |= put_attr(b, "message", p->error);
        rc |= sp_buf_puts(b, " type=\"internal\"/>\n");
    } else {
        rc |= sp_buf_puts(b, "      <skipped");
        rc |= put_attr(b, "message", p->skipped);
        rc |= sp_buf_puts(b, "/>\n");
    }
    rc |= sp_buf_puts(b, "    </testcase>\n");
    return rc;
}

struct suite_counts {
    size_t tests, failures, errors, skipped;
};

/* JUnit's numbers for one provider: failures count warnings too, as their elements do. */
static struct suite_counts suite_count(const struct sp_report_run *run,
                                       const struct sp_report_provider *p)
{
    struct suite_counts s = {0};
    if (p->error || p->skipped) {
        s.tests = 1;
        s.errors = p->error ? 1 : 0;
        s.skipped = p->error ? 0 : 1;
        return s;
    }
    struct sp_report_counts c;
    sp_report_count(run, p, &c);
    s.tests = p->n_results;
    s.failures = c.fail;
    s.errors = c.error;
    s.skipped = c.skip;
    return s;
}

static int put_counts(struct sp_buf *b, struct suite_counts s)
{
    return sp_buf_printf(b, " tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\"",
                         s.tests, s.failures, s.errors, s.skipped);
}

static int put_suite(struct sp_buf *b,
                     const struct sp_report_run *run,
                     const struct sp_report_provider *p,
                     const char *stamp)
{
    int rc = sp_buf_puts(b, "  <testsuite");
    char name[128];
    snprintf(name, sizeof(name), "%s%s%s%s", p->name, p->mode ? " (" : "", p->mode ? p->mode : "",
             p->mode ? ")" : "");
    rc |= put_attr(b, "name", name);
    rc |= put_counts(b, suite_count(run, p));
    rc |= sp_buf_printf(b, " time=\"%.3f\" timestamp=\"%s\">\n", provider_seconds(p), stamp);
    rc |= sp_buf_puts(b, "    <properties>\n");
    rc |= put_property(b, "run_id", run->run_id);
    rc |= put_property(b, "target", run->target);
    if (p->mode)
        rc |= put_property(b, "mode", p->mode);
    rc |= put_property(b, "level", sp_level_name(run->level));
    if (run->interrupted)
        rc |= put_property(b, "interrupted", "true");
    rc |= sp_buf_puts(b, "    </properties>\n");
    if (p->error || p->skipped)
        rc |= put_unrun_provider(b, p);
    for (size_t i = 0; i < p->n_results && rc == 0; i++)
        rc |= put_testcase(b, run, p, &p->results[i]);
    rc |= sp_buf_puts(b, "  </testsuite>\n");
    return rc;
}

static int build_junit(const struct sp_report_run *run, struct sp_buf *b)
{
    char stamp[32];
    sp__report_time(run->started_at, stamp, sizeof(stamp));
    struct suite_counts all = {0};
    for (size_t i = 0; i < run->n_providers; i++) {
        struct suite_counts s = suite_count(run, &run->providers[i]);
        all.tests += s.tests;
        all.failures += s.failures;
        all.errors += s.errors;
        all.skipped += s.skipped;
    }
    int rc = sp_buf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites");
    rc |= put_attr(b, "name", "sandprobe");
    rc |= put_counts(b, all);
    rc |= sp_buf_printf(b, " time=\"%.3f\" timestamp=\"%s\">\n", run->duration_s, stamp);
    for (size_t i = 0; i < run->n_providers && rc == 0; i++)
        rc |= put_suite(b, run, &run->providers[i], stamp);
    rc |= sp_buf_puts(b, "</testsuites>\n");
    return rc;
}

enum sp_err sp_report_junit(const struct sp_report_run *run, const char *path, struct sp_error *err)
{
    struct sp_buf b;
    sp_buf_init(&b, 0);
    enum sp_err rc;
    if (build_junit(run, &b) != 0)
        rc = sp_error_set(err, SP_E_INTERNAL, "cannot write %.200s: out of memory", path);
    else
        rc = sp__report_write(path, b.data, b.len, err);
    sp_buf_cleanup(&b);
    return rc;
}
