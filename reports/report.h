/* Report writers for a conformance run (`sandprobe check`): the run record the harness fills
 * in, and three renderings of it — JUnit XML for CI, a versioned summary.json for machines,
 * and a console summary for people. The writers never decide anything the record does not
 * say: gating (which failures fail the run) and the verdict come from the helpers below, so
 * every format agrees. */
#ifndef SP_REPORT_H
#define SP_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "buf.h"
#include "errors.h"
#include "requirements.h"

/* Schema id written to summary.json; bump the number on an incompatible change. */
#define SP_REPORT_SCHEMA "sandprobe.check/1"

/* One provider's part of a run. */
struct sp_report_provider {
    const char *name;    /* "daytona" */
    const char *mode;    /* the mode used ("action-server"); NULL = a provider without modes */
    const char *skipped; /* not run at all (e.g. "DAYTONA_API_KEY is not set"); NULL = ran */
    const char *error;   /* could not be run (e.g. the mock did not start), or not to the
                          * end (it stopped answering); NULL = none. Fails the run. */
    const struct sp_req_result *results; /* in run order; results[i].req is set */
    size_t n_results;
};

struct sp_report_run {
    const char *run_id; /* hex, labels every sandbox of the run */
    time_t started_at;  /* wall clock, UTC in the reports */
    double duration_s;
    const char *target;  /* "mock" or "real" */
    enum sp_level level; /* failures at this level or above fail the run */
    bool interrupted;    /* stopped early by SIGINT/SIGTERM: never a pass */
    bool verbose;        /* console: show where in the requirement's source a check failed */
    const char *out_dir; /* where the files were written, for the console; may be NULL */
    const struct sp_report_provider *providers;
    size_t n_providers;
};

struct sp_report_counts {
    size_t pass, fail, skip, error; /* by outcome */
    size_t warn;                    /* failures below the run's level (included in fail) */
};

/* True when res is a failure that fails the run: outcome fail at a level at or above
 * run->level (MUST >= SHOULD >= MAY). Errors always gate. */
/* mkdir -p of a report directory (mode 0777 before the umask); an existing directory is
 * fine. Returns 0, or -1 with errno set (ENOTDIR when a file is in the way). */
int sp_report_make_dirs(const char *path);

bool sp_report_gating(const struct sp_report_run *run, const struct sp_req_result *res);
void sp_report_count(const struct sp_report_run *run,
                     const struct sp_report_provider *p,
                     struct sp_report_counts *out);
/* The verdict: true (pass) when nothing gates, no provider had a harness error and the run
 * was not interrupted. */
bool sp_report_passed(const struct sp_report_run *run);

/* The requirement's tags with the provider tag the runner adds: "[Conformance][Provider:e2b]".
 * Returns out. */
const char *
sp_report_tags(const struct sp_requirement *req, const char *provider, char *out, size_t len);

/* Writes the file at path (replacing it). A file that cannot be written is an `internal`
 * error naming the path. */
enum sp_err
sp_report_junit(const struct sp_report_run *run, const char *path, struct sp_error *err);
enum sp_err
sp_report_summary_json(const struct sp_report_run *run, const char *path, struct sp_error *err);

/* One line per requirement (PASS/FAIL/WARN/SKIP/ERROR), the reason under each failure and
 * skip, then the counts, the verdict and the report paths. ANSI colour when color is set
 * (the caller decides: a tty, and NO_COLOR unset). */
void sp_report_console(const struct sp_report_run *run, FILE *out, bool color);
/* Only the counts, verdict and paths. */
void sp_report_console_footer(const struct sp_report_run *run, FILE *out, bool color);
/* The pieces of sp_report_console, for output as results come in: a provider's heading, one
 * result (its reason wrapped at word boundaries, never cut; the source location only with
 * run->verbose). Only run->level, run->target and run->verbose are read. */
void sp_report_console_provider(const struct sp_report_run *run,
                                const struct sp_report_provider *p,
                                FILE *out,
                                bool color);
void sp_report_console_result(const struct sp_report_run *run,
                              const struct sp_req_result *r,
                              FILE *out,
                              bool color);
/* For --quiet: one line per failed, warned or errored requirement: "FAIL provider id
 * [class]: first line of the reason", elided at a word boundary. */
void sp_report_console_problems(const struct sp_report_run *run, FILE *out, bool color);

/* --- shared by the writers (reports/report.c) ----------------------------------------- */

/* Decodes one UTF-8 sequence at s (n bytes available). Returns its length and sets *cp, or 0
 * when the bytes are not valid UTF-8 (overlong, surrogate, truncated, > U+10FFFF). */
size_t sp__utf8_decode(const unsigned char *s, size_t n, unsigned long *cp);
/* Appends s to out with every invalid UTF-8 byte replaced by U+FFFD, so JSON stays valid
 * whatever a sandbox printed. Returns 0 or -1 (out of memory / out full). */
int sp__utf8_clean(const char *s, struct sp_buf *out);
/* Writes len bytes to path through a temporary file renamed over it, so a reader never sees
 * half a report. Failure is an `internal` error naming the path. */
enum sp_err sp__report_write(const char *path, const char *data, size_t len, struct sp_error *err);
/* Formats t as "2025-01-31T12:00:00Z". Returns out. */
const char *sp__report_time(time_t t, char *out, size_t len);

#endif
