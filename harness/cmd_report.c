/* `sandprobe report DIR... [--merge] [--out DIR] [--threshold EXPR]...`: re-renders load
 * reports from each directory's samples.ndjson and summary.json, or (--merge) merges shard
 * directories into one result — histograms added, counts summed, rates over the shards —
 * and evaluates the thresholds on the merged result. Exit codes as `sandprobe load`. */
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "load_cli.h"

enum { O_MERGE, O_OUT, O_THRESHOLD, O__COUNT };

static const struct sp_opt report_opts[O__COUNT] = {
    [O_MERGE] = {"merge", NULL, "merge the directories (shards of one run) into one result", NULL},
    [O_OUT] = {"out", "DIR", "where to write (required with --merge or several DIRs)",
               "the DIR itself"},
    [O_THRESHOLD] = {"threshold", "EXPR", "fail (exit 99) unless EXPR holds on the result", NULL},
};

static const struct sp_cmd_spec report_spec = {
    "report",
    "Re-render summary.json, summary.md and report.html of load runs from their\n"
    "samples.ndjson, or merge the results of shards (--shard i/N) into one. Thresholds\n"
    "are evaluated after the merge. Exit status as for `sandprobe load`.",
    report_opts,
    O__COUNT,
};
static const struct sp_args_extra report_extra = {1u << O_THRESHOLD, "DIR..."};

static int read_part(const char *dir, struct sp__load_part *p, FILE *errf)
{
    char path[1100], msg[600];
    struct sp_error err;
    sp_error_clear(&err);
    snprintf(path, sizeof(path), "%s/summary.json", dir);
    enum sp_err rc = sp_load_read_meta(path, &p->meta, &err);
    if (rc == SP_E_OK) {
        snprintf(path, sizeof(path), "%s/samples.ndjson", dir);
        rc = sp_load_read_samples(path, &p->samples, &err);
    }
    if (rc == SP_E_OK)
        return 0;
    fprintf(errf, "sandprobe report: %s\n", sp_error_format(&err, msg, sizeof(msg)));
    return rc == SP_E_CONFIG ? SP_EXIT_USAGE : SP_EXIT_HARNESS;
}

/* Shards merge only when they are parts of one run: same provider and shard count, each
 * shard once. Returns NULL, or what is wrong. */
static const char *check_merge(const struct sp__load_part *parts, size_t n, char *why, size_t len)
{
    for (size_t i = 1; i < n; i++) {
        const struct sp_load_meta *a = &parts[0].meta, *b = &parts[i].meta;
        if (strcmp(a->provider, b->provider) != 0 || a->shards != b->shards) {
            snprintf(why, len, "directory %zu is %s shard of %u, the first is %s shard of %u",
                     i + 1, b->provider, b->shards, a->provider, a->shards);
            return why;
        }
        for (size_t j = 0; j < i; j++)
            if (a->shards > 1 && parts[j].meta.shard == b->shard) {
                snprintf(why, len, "shard %u/%u is given twice", b->shard, b->shards);
                return why;
            }
    }
    return NULL;
}

int sp_cmd_report(int argc, char *const argv[], const struct sp_cli_io *io)
{
    struct sp_args a;
    enum sp_args_rc rc = sp_args_parse_extra(&report_spec, &report_extra, argc, argv, &a);
    if (rc == SP_ARGS_HELP) {
        sp_args_help_extra(&report_spec, &report_extra, io->out);
        return SP_EXIT_PASS;
    }
    if (rc == SP_ARGS_USAGE)
        return sp_args_usage(&report_spec, io->err, "%s", a.msg);
    if (a.n_pos == 0)
        return sp_args_usage(&report_spec, io->err, "give at least one run directory");
    bool merge = a.val[O_MERGE] != NULL;
    if ((merge || a.n_pos > 1) && a.val[O_OUT] == NULL)
        return sp_args_usage(&report_spec, io->err, "--out DIR is required with %s",
                             merge ? "--merge" : "several directories (or give --merge)");
    if (!merge && a.n_pos > 1)
        return sp_args_usage(&report_spec, io->err,
                             "several directories: give --merge to merge them");
    struct sp_threshold thr[SP_LOAD_MAX_THRESHOLDS];
    for (size_t i = 0; i < a.n_rep; i++) {
        char why[300];
        if (i == SP_LOAD_MAX_THRESHOLDS)
            return sp_args_usage(&report_spec, io->err, "more than %d thresholds",
                                 SP_LOAD_MAX_THRESHOLDS);
        if (sp_threshold_parse(a.rep[i], &thr[i], why, sizeof(why)) != 0)
            return sp_args_usage(&report_spec, io->err, "%s", why);
    }
    struct sp__load_part *parts = calloc(a.n_pos, sizeof(*parts));
    if (parts == NULL)
        return SP_EXIT_HARNESS;
    int code = -1;
    for (size_t i = 0; i < a.n_pos && code < 0; i++) {
        int bad = read_part(a.pos[i], &parts[i], io->err);
        if (bad)
            code = bad;
    }
    char why[200];
    if (code < 0 && check_merge(parts, a.n_pos, why, sizeof(why)) != NULL)
        code = sp_args_usage(&report_spec, io->err, "cannot merge: %s", why);
    if (code < 0)
        code = sp__load_render(parts, a.n_pos, thr, a.n_rep, a.val[O_OUT] ? a.val[O_OUT] : a.pos[0],
                               io->out, io->err);
    for (size_t i = 0; i < a.n_pos; i++)
        sp_load_samples_cleanup(&parts[i].samples);
    free(parts);
    return code;
}
