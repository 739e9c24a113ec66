/* Internals of `sandprobe check` shared by its files: the parsed options, the targets (a
 * provider in a mode) and the run. cmd_check.c parses options and reports; check_targets.c
 * builds the targets, starts their mocks and runs the preflight. */
#ifndef SP_CHECK_INT_H
#define SP_CHECK_INT_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include "args.h"
#include "check_jobs.h"
#include "cli.h"
#include "mock.h"
#include "provider.h"
#include "report.h"
#include "requirements.h"

#define MAX_PROVIDERS 16
#define MAX_TARGETS   32

extern const struct sp_cmd_spec sp__check_spec;

struct check_cfg {
    const char *providers[MAX_PROVIDERS];
    size_t n_providers;
    bool all;
    bool real;
    const char *mode;
    char out_dir[1024];
    regex_t focus, skip;
    bool has_focus, has_skip;
    enum sp_level level;
    bool quiet, verbose;
    long jobs;                              /* 0 = the default */
    const char *latency[SP_ARGS_MAX_MULTI]; /* --latency specs (point into argv) */
    size_t n_latency;
    char run_id[17];
    struct sp_kv env; /* the process environment */
};

/* One provider in one mode: its mock, its client options and its selected requirements. */
struct target {
    const char *provider;
    const char *mode; /* the mode used; NULL for a provider without modes */
    char label[64];   /* "daytona (toolbox)" */
    struct sp_mock *mock;
    struct sp_client_opts opts;
    const struct sp_requirement **reqs;
    size_t n;
    char skipped[300]; /* not run: no credentials (--provider all --target real) */
    char error[600];   /* not run to the end: the provider stopped answering */
};

struct check_run {
    struct check_cfg *cfg;
    const struct sp_cli_io *io;
    struct target tg[MAX_TARGETS];
    struct sp_jobs_target jt[MAX_TARGETS];
    size_t n;
    struct sp_jobs jobs;
    struct sp_report_run rr; /* level, target, verbose: for results printed as they come */
    bool color;
    size_t headed; /* targets whose heading is printed */
};

/* True when req is selected by --focus/--skip for provider. */
bool sp__check_selected(const struct check_cfg *cfg,
                        const struct sp_requirement *req,
                        const char *provider);
/* Every provider named (with --provider all, each in each of its modes), each with the
 * requirements selected for it; targets nothing applies to are dropped. Returns -1 to go
 * on, else the exit code. */
int sp__check_build_targets(struct check_run *run);
/* Starts each target's mock (mock target), runs the preflight and fills run->jt[k].t.
 * Returns -1 to go on, else the exit code. */
int sp__check_start_targets(struct check_run *run);
void sp__check_stop_mocks(struct check_run *run);

#endif
