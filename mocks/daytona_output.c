/* The Daytona mock, how session command output is recorded and given back, as today's
 * daemon does it (apps/daemon/pkg/session/execute.go, common.go, toolbox/process/session/
 * log.go; spec/daytona-runloop.md A7.4): the command runs from a file in the session's
 * shell with stdout and stderr on two FIFOs; two readers copy them line by line into one
 * log, each line marked \x01\x01\x01 (stdout) or \x02\x02\x02 (stderr), and the exit code is
 * written only once both readers have drained. What a client gets back depends on the SDK
 * version it announces (X-Daytona-SDK-Version): before 0.27.0, or no version and no
 * X-Daytona-Split-Output, the combined text with the markers removed; from 0.167.0 JSON with
 * the raw log and stdout/stderr split; in between the raw log. */
#include "daytona_int.h"

#include <stdlib.h>
#include <string.h>

#include "json.h"

#define MARK_LEN 3

static bool is_marker(const char *p, size_t left)
{
    return left >= MARK_LEN && (p[0] == '\1' || p[0] == '\2') && p[1] == p[0] && p[2] == p[0];
}

/* Compares dotted version numbers part by part; a pre-release suffix ("-dev") is ignored. */
static int version_cmp(const char *a, const char *b)
{
    for (int i = 0; i < 3; i++) {
        char *ea, *eb;
        long x = strtol(a, &ea, 10), y = strtol(b, &eb, 10);
        if (x != y)
            return x < y ? -1 : 1;
        a = *ea == '.' ? ea + 1 : ea;
        b = *eb == '.' ? eb + 1 : eb;
    }
    return 0;
}

bool dt_sdk_at_least(struct mock_req *r, const char *want)
{
    const char *v = mock_req_header(r, "X-Daytona-SDK-Version");
    return v != NULL && v[0] >= '0' && v[0] <= '9' && version_cmp(v, want) >= 0;
}

enum dt_output dt_output_mode(struct mock_req *r)
{
    const char *v = mock_req_header(r, "X-Daytona-SDK-Version");
    const char *split = mock_req_header(r, "X-Daytona-Split-Output");
    if (v == NULL || v[0] == '\0')
        return split && strcmp(split, "true") == 0 ? DT_OUTPUT_RAW : DT_OUTPUT_COMBINED;
    if (strstr(v, "dev") != NULL || dt_sdk_at_least(r, "0.167.0"))
        return DT_OUTPUT_SPLIT;
    return dt_sdk_at_least(r, "0.27.0") ? DT_OUTPUT_RAW : DT_OUTPUT_COMBINED;
}

int dt_command_script(struct sp_buf *out,
                      const char *dir,
                      const char *cmd_file,
                      const char *log,
                      const char *exit_file)
{
    /* Paths are the mock's own (uuid directories under the state dir), quoted with '...'. */
    return sp_buf_printf(
        out,
        "{ _sp_o='%s/stdout.pipe'; _sp_e='%s/stderr.pipe'; "
        "rm -f \"$_sp_o\" \"$_sp_e\"; mkfifo \"$_sp_o\" \"$_sp_e\"; "
        "( while IFS= read -r l || [ -n \"$l\" ]; do printf '\\001\\001\\001%%s\\n' \"$l\"; "
        "done < \"$_sp_o\" ) >> '%s' & _sp_r1=$!; "
        "( while IFS= read -r l || [ -n \"$l\" ]; do printf '\\002\\002\\002%%s\\n' \"$l\"; "
        "done < \"$_sp_e\" ) >> '%s' & _sp_r2=$!; "
        "{ . '%s'; } < /dev/null > \"$_sp_o\" 2> \"$_sp_e\"; _sp_ec=$?; "
        "wait \"$_sp_r1\" \"$_sp_r2\"; echo \"$_sp_ec\" >> '%s'; rm -f \"$_sp_o\" \"$_sp_e\"; "
        "}\n",
        dir, dir, log, log, cmd_file, exit_file);
}

size_t dt_strip_markers(char *buf, size_t n, bool final, size_t *held)
{
    size_t w = 0, i = 0;
    *held = 0;
    while (i < n) {
        if (is_marker(buf + i, n - i)) {
            i += MARK_LEN;
            continue;
        }
        /* A marker cut by the end of what was read: keep it back for the next read. */
        if (!final && n - i < MARK_LEN && (buf[i] == '\1' || buf[i] == '\2') &&
            (n - i == 1 || buf[i + 1] == buf[i])) {
            *held = n - i;
            break;
        }
        buf[w++] = buf[i++];
    }
    return w;
}

int dt_demux(const char *log, size_t n, struct sp_buf *out, struct sp_buf *err)
{
    struct sp_buf *to = NULL;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0;) {
        if (is_marker(log + i, n - i)) {
            to = log[i] == '\1' ? out : err;
            i += MARK_LEN;
            continue;
        }
        size_t j = i;
        while (j < n && !is_marker(log + j, n - j))
            j++;
        if (to != NULL) /* bytes before the first marker belong to no stream */
            rc = sp_buf_append(to, log + i, j - i);
        i = j;
    }
    return rc;
}

/* {cmdId, output, exitCode} (+ stdout, stderr for the split-output SDKs); log is the marked
 * output.log, NULL for an async exec. */
void dt_reply_exec(
    struct mock_req *r, int status, const char *cid, struct sp_buf *log, const int *code)
{
    enum dt_output mode = dt_output_mode(r);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "cmdId", cid);
    if (log != NULL && mode == DT_OUTPUT_COMBINED) {
        size_t held;
        log->len = log->data ? dt_strip_markers(log->data, log->len, true, &held) : 0;
        if (log->data)
            log->data[log->len] = '\0'; /* shorter than before: within the buffer */
    }
    cJSON_AddItemToObject(o, "output",
                          log ? cJSON_CreateString(sp_buf_str(log)) : cJSON_CreateNull());
    cJSON_AddItemToObject(o, "exitCode", code ? cJSON_CreateNumber(*code) : cJSON_CreateNull());
    if (log != NULL && mode == DT_OUTPUT_SPLIT) {
        struct sp_buf out, err;
        sp_buf_init(&out, 0);
        sp_buf_init(&err, 0);
        dt_demux(log->data ? log->data : "", log->len, &out, &err);
        cJSON_AddStringToObject(o, "stdout", sp_buf_str(&out));
        cJSON_AddStringToObject(o, "stderr", sp_buf_str(&err));
        sp_buf_cleanup(&out);
        sp_buf_cleanup(&err);
    }
    dt_reply_json(r, status, o);
}

void dt_reply_log(struct mock_req *r, struct sp_buf *log)
{
    enum dt_output mode = dt_output_mode(r);
    if (mode == DT_OUTPUT_SPLIT) {
        struct sp_buf out, err;
        sp_buf_init(&out, 0);
        sp_buf_init(&err, 0);
        dt_demux(log->data ? log->data : "", log->len, &out, &err);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "output", sp_buf_str(log));
        cJSON_AddStringToObject(o, "stdout", sp_buf_str(&out));
        cJSON_AddStringToObject(o, "stderr", sp_buf_str(&err));
        dt_reply_json(r, 200, o);
        sp_buf_cleanup(&out);
        sp_buf_cleanup(&err);
    } else {
        size_t held, n = log->len;
        if (mode == DT_OUTPUT_COMBINED && log->data)
            n = dt_strip_markers(log->data, log->len, true, &held);
        mock_reply(r, 200, "text/plain; charset=utf-8", sp_buf_str(log), n);
    }
}
