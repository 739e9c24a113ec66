/* What `sandprobe load` and `sandprobe report` share: durations and thresholds from the
 * command line, and the last step of both — aggregate the samples of one or more runs,
 * evaluate the thresholds, write the four reports and print the console summary. */
#ifndef SP_LOAD_CLI_H
#define SP_LOAD_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "load_report.h"
#include "threshold.h"

#define SP_LOAD_MAX_THRESHOLDS 32
#define SP_ARGS_MAX_SETS       64 /* runs or shards one report merges */

/* "10s", "500ms", "2m", "1h", "250us"; a bare number is seconds. Returns 0 or -1. */
int sp__load_parse_duration(const char *s, int64_t *out_us);

/* One run (or shard) to render: its meta and samples. */
struct sp__load_part {
    struct sp_load_meta meta;
    struct sp_load_samples samples;
};

/* Aggregates the parts, evaluates the thresholds, writes the reports into out_dir and prints
 * the summary to out. Returns the exit code: 0, SP_EXIT_THRESHOLD when one was crossed,
 * SP_EXIT_INTERRUPTED for an interrupted run, SP_EXIT_FAIL when sandboxes were left behind
 * or no lifecycle completed, SP_EXIT_HARNESS when a report could not be written. */
int sp__load_render(const struct sp__load_part *parts,
                    size_t n,
                    const struct sp_threshold *t,
                    size_t n_t,
                    const char *out_dir,
                    FILE *out,
                    FILE *errf);

#endif
