/* Requirements of the exec step: output, exit codes, stderr, environment, working directory,
 * long and non-ASCII output, deadlines, and the order of streamed events.
 *
 * Commands are single lines (the action server refuses several top-level commands), use
 * only POSIX sh and awk, and never `exit` the shell itself: with a persistent shell that
 * would end the session, so exit codes come from `sh -c 'exit N'`. */
#include "runner.h"

#include <stdio.h>

/* --- output and exit codes ----------------------------------------------------------------- */

static void exec_echo(struct sp_req_ctx *ctx)
{
    struct sp_sandbox *sb = sp_req_sandbox(ctx);
    struct sp_exec *x = SP_EXEC_OK(ctx, sb, "echo sp-hello");
    SP_REQUIRE_INT_EQ(ctx, x->exit_code, 0);
    SP_REQUIRE(ctx, !x->timed_out, "expected timed_out false, got true");
    SP_REQUIRE_STR_EQ(ctx, sp_req_rtrim(ctx, sp_buf_str(&x->out)), "sp-hello");
}

static void exec_exit_code_propagates(struct sp_req_ctx *ctx)
{
    static const int codes[] = {0, 1, 42};
    struct sp_sandbox *sb = sp_req_sandbox(ctx);
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        const char *cmd = sp_req_printf(ctx, "sh -c 'exit %d'", codes[i]);
        struct sp_exec *x = SP_EXEC_OK(ctx, sb, cmd);
        SP_REQUIRE(ctx, x->exit_code == codes[i], "expected exit code %d from \"%s\", got %d",
                   codes[i], cmd, x->exit_code);
    }
}

static void exec_nonzero_exit_not_error(struct sp_req_ctx *ctx)
{
    struct sp_sandbox *sb = sp_req_sandbox(ctx);
    struct sp_exec *x = SP_EXEC_OK(ctx, sb, "ls /sp-no-such-dir-7");
    SP_REQUIRE(ctx, x->exit_code > 0, "expected a positive exit code, got %d", x->exit_code);
    SP_REQUIRE(ctx, !x->timed_out, "expected timed_out false, got true");
    const char *all = sp_req_printf(ctx, "%s%s", sp_buf_str(&x->out), sp_buf_str(&x->err));
    SP_REQUIRE_STR_CONTAINS(ctx, all, "sp-no-such-dir-7");
}

static void exec_stderr(struct sp_req_ctx *ctx)
{
    struct sp_sandbox *sb = sp_req_sandbox(ctx);
    struct sp_exec *x = SP_EXEC_OK(ctx, sb, "echo sp-to-out; echo sp-to-err 1>&2");
    SP_REQUIRE_INT_EQ(ctx, x->exit_code, 0);
    SP_REQUIRE_STR_CONTAINS(ctx, sp_buf_str(&x->out), "sp-to-out");
    if (sp_req_caps(ctx) & SP_CAP_SPLIT_STDERR) {
        SP_REQUIRE_STR_CONTAINS(ctx, sp_buf_str(&x->err), "sp-to-err");
        SP_REQUIRE_STR_LACKS(ctx, sp_buf_str(&x->out), "sp-to-err");
        SP_REQUIRE_STR_LACKS(ctx, sp_buf_str(&x->err), "sp-to-out");
    } else {
        SP_REQUIRE_STR_CONTAINS(ctx, sp_buf_str(&x->out), "sp-to-err");
    }
}

enum { LONG_LINES = 8000, LONG_LINE_LEN = 14 };

/* The 112 kB the long-output requirements print: "line-00000001\n" ... "line-00008000\n". */
static char *long_output_expected(struct sp_req_ctx *ctx, size_t *len)
{
    *len = (size_t)LONG_LINES * LONG_LINE_LEN;
    char *want = sp_req_alloc(ctx, *len + 1);
    for (int i = 1; i <= LONG_LINES; i++) {
        char line[32];
        snprintf(line, sizeof(line), "line-%08d\n", i);
        memcpy(want + (size_t)(i - 1) * LONG_LINE_LEN, line, LONG_LINE_LEN);
    }
    return want;
}

static const char *long_output_run(struct sp_req_ctx *ctx)
{
    struct sp_sandbox *sb = sp_req_sandbox(ctx);
    struct sp_exec *x = SP_EXEC_OK(
        ctx, sb, "awk 'BEGIN { for (i = 1; i <= 8000; i++) printf \"line-%08d\\n\", i }'");
    SP_REQUIRE_INT_EQ(ctx, x->exit_code, 0);
    /* Compare without trailing whitespace: the action server strips it. */
    return sp_req_rtrim(ctx, sp_buf_str(&x->out));
}

static void exec_long_output(struct sp_req_ctx *ctx)
{
    size_t len;
    const char *want = long_output_expected(ctx, &len);
    const char *output = long_output_run(ctx);
    SP_REQUIRE_MEM_EQ(ctx, output, strlen(output), want, len - 1);
}

/* spec/openhands-action-server.md 3.3: content over 30 000 chars keeps the first and last
 * 15 000 around a fixed marker. */
static void exec_long_output_truncated(struct sp_req_ctx *ctx)
{
    static const char MARK[] = "\n[... Observation truncated due to length ...]\n";
    enum { HALF = 15000 };
    size_t len;
    const char *want = long_output_expected(ctx, &len);
    const char *output = long_output_run(ctx);
    size_t mark = sizeof(MARK) - 1;
    size_t text = len - 1; /* the server strips the final newline before truncating */
    SP_REQUIRE_INT_EQ(ctx, (long long)strlen(output), (long long)(2 * HALF + mark));
    SP_REQUIRE_MEM_EQ(ctx, output, HALF, want, HALF);
    SP_REQUIRE_MEM_EQ(ctx, output + HALF, mark, MARK, mark);
    SP_REQUIRE_MEM_EQ(ctx, output + HALF + mark, HALF, want + text - HALF, HALF);
}

static void exec_unicode(struct sp_req_ctx *ctx)
{
    static const char text[] = "h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac "
                               "\xf0\x9f\x8e\x89";
    struct sp_sandbox *sb = sp_req_sandbox(ctx);
    struct sp_exec *x = SP_EXEC_OK(ctx, sb, sp_req_printf(ctx, "printf '%%s\\n' '%s'", text));
    SP_REQUIRE_INT_EQ(ctx, x->exit_code, 0);
    SP_REQUIRE_STR_EQ(ctx, sp_req_rtrim(ctx, sp_buf_str(&x->out)), text);
}

/* --- environment and working directory ------------------------------------------------------- */

static struct sp_exec *exec_with_env(struct sp_req_ctx *ctx,
                                     struct sp_sandbox *sb,
                                     const char *cmd,
                                     const char *key,
                                     const char *val)
{
    struct sp_kv *env = sp_req_kv(ctx);
    SP_REQUIRE(ctx, sp_kv_set(env, key, val) == 0, "expected to build env, got out of memory");
    struct sp_exec *x = sp_req_exec(ctx, cmd);
    x->env = env;
    x->timeout_ms = 20000;
    SP_REQUIRE_OK(ctx, sp_exec(sb, x, sp_req_err(ctx)));
    return x;
}

static void exec_env(struct sp_req_ctx *ctx)
{
    struct sp_sandbox *sb = sp_req_sandbox(ctx);
    struct sp_exec *x = exec_with_env(ctx, sb, "echo \"v=$SP_CMD_VAR\"", "SP_CMD_VAR", "cmd-7");
    SP_REQUIRE_INT_EQ(ctx, x->exit_code, 0);
    SP_REQUIRE_STR_CONTAINS(ctx, sp_buf_str(&x->out), "v=cmd-7");
}

static void exec_env_verbatim(struct sp_req_ctx *ctx)
{
    static const char tricky[] = "it's \"quoted\" $HOME `id` ; x\\y";
    struct sp_sandbox *sb = sp_req_sandbox(ctx);
    struct sp_exec *x =
        exec_with_env(ctx, sb, "printf '<%s>\\n' \"$SP_TRICKY\"", "SP_TRICKY", tricky);
    SP_REQUIRE_INT_EQ(ctx, x->exit_code, 0);
    SP_REQUIRE_STR_CONTAINS(ctx, sp_buf_str(&x->out), sp_req_printf(ctx, "<%s>", tricky));
}

static void exec_env_scoped(struct sp_req_ctx *ctx)
{
    struct sp_sandbox *sb = sp_req_sandbox(ctx);
    exec_with_env(ctx, sb, "true", "SP_SCOPED_VAR", "leaked");
    struct sp_exec *x = SP_EXEC_OK(ctx, sb, "echo \"v=${SP_SCOPED_VAR-unset}\"");
    SP_REQUIRE_STR_CONTAINS(ctx, sp_buf_str(&x->out), "v=unset");
}

static void exec_cwd_persists(struct sp_req_ctx *ctx)
{
    struct sp_sandbox *sb = sp_req_sandbox(ctx);
    struct sp_exec *x = SP_EXEC_OK(ctx, sb, "mkdir -p sp_persist_dir && cd sp_persist_dir");
    SP_REQUIRE_INT_EQ(ctx, x->exit_code, 0);
    x = SP_EXEC_OK(ctx, sb, "pwd");
    const char *pwd = sp_req_rtrim(ctx, sp_buf_str(&x->out));
    const char *tail = "/sp_persist_dir";
    size_t n = strlen(pwd), m = strlen(tail);
    SP_REQUIRE(ctx, n >= m && strcmp(pwd + n - m, tail) == 0,
               "expected the next command to run in .../sp_persist_dir, got \"%s\"", pwd);
}

static void exec_export_persists(struct sp_req_ctx *ctx)
{
    struct sp_sandbox *sb = sp_req_sandbox(ctx);
    SP_EXEC_OK(ctx, sb, "export SP_PERSIST_VAR=persisted-42");
    struct sp_exec *x = SP_EXEC_OK(ctx, sb, "echo \"v=$SP_PERSIST_VAR\"");
    SP_REQUIRE_STR_CONTAINS(ctx, sp_buf_str(&x->out), "v=persisted-42");
}

/* The directory is named as the provider names it: the absolute path its files API reports
 * for a file written there (a mock runs commands in a host directory, so `pwd` would print a
 * host path the mock's cwd handling does not accept), else what `pwd` prints. */
static void exec_cwd_option(struct sp_req_ctx *ctx)
{
    struct sp_sandbox *sb = sp_req_sandbox(ctx);
    struct sp_exec *x = SP_EXEC_OK(ctx, sb, "mkdir -p sp_cwd_opt && pwd");
    SP_REQUIRE_INT_EQ(ctx, x->exit_code, 0);
    struct sp_files *f = sp_req_files(ctx, SP_FILE_WRITE, "sp_cwd_opt/sp_marker.txt");
    f->data = "cwd-marker";
    f->len = strlen("cwd-marker");
    SP_REQUIRE_OK(ctx, sp_files(sb, f, sp_req_err(ctx)));
    char *dir;
    if (f->resolved_path[0] == '/') {
        dir = sp_req_printf(ctx, "%s", f->resolved_path);
        *strrchr(dir, '/') = '\0';
    } else {
        const char *base = sp_req_rtrim(ctx, sp_buf_str(&x->out));
        SP_REQUIRE(ctx, base[0] == '/', "expected pwd to print an absolute path, got \"%s\"", base);
        dir = sp_req_printf(ctx, "%s/sp_cwd_opt", strcmp(base, "/") ? base : "");
    }
    x = sp_req_exec(ctx, "cat sp_marker.txt");
    x->cwd = dir;
    x->timeout_ms = 20000;
    SP_REQUIRE_OK(ctx, sp_exec(sb, x, sp_req_err(ctx)));
    SP_REQUIRE_INT_EQ(ctx, x->exit_code, 0);
    SP_REQUIRE_STR_CONTAINS(ctx, sp_buf_str(&x->out), "cwd-marker");
}

/* --- deadlines -------------------------------------------------------------------------------- */

static struct sp_exec *exec_sleep_past_deadline(struct sp_req_ctx *ctx, struct sp_sandbox *sb)
{
    struct sp_exec *x = sp_req_exec(ctx, "sleep 5");
    x->timeout_ms = 1000;
    SP_REQUIRE_OK(ctx, sp_exec(sb, x, sp_req_err(ctx)));
    SP_REQUIRE(ctx, x->timed_out,
               "expected timed_out true for sleep 5 with a 1 s deadline, got "
               "false (exit code %d)",
               x->exit_code);
    SP_REQUIRE_INT_EQ(ctx, x->exit_code, -1);
    return x;
}

static void exec_timeout(struct sp_req_ctx *ctx)
{
    exec_sleep_past_deadline(ctx, sp_req_sandbox(ctx));
}

/* The real action server keeps a timed-out command running and refuses the next command
 * ("NOT executed") until it ends (OpenHands bash.py:548-589); a client passes this only by
 * interrupting it (C-c), as OpenHands' agent must. The mock keeps the command running too,
 * so this checks the client, not a mock that kills. */
static void exec_usable_after_timeout(struct sp_req_ctx *ctx)
{
    struct sp_sandbox *sb = sp_req_sandbox(ctx);
    exec_sleep_past_deadline(ctx, sb);
    struct sp_exec *x = SP_EXEC_OK(ctx, sb, "echo sp-after-timeout");
    SP_REQUIRE_INT_EQ(ctx, x->exit_code, 0);
    SP_REQUIRE_STR_CONTAINS(ctx, sp_buf_str(&x->out), "sp-after-timeout");
}

/* --- events -------------------------------------------------------------------------------------
 */

#define EV_MAX 512

struct ev_log {
    enum sp_exec_event ev[EV_MAX];
    size_t n;         /* events recorded (capped at EV_MAX) */
    size_t total;     /* events seen */
    char data[16384]; /* STDOUT data, concatenated */
    size_t data_len;
};

/* Runs inside the event loop: records only, never checks. */
static void ev_record(void *user, enum sp_exec_event ev, const char *data, size_t len)
{
    struct ev_log *log = user;
    if (log->n < EV_MAX)
        log->ev[log->n++] = ev;
    log->total++;
    if (ev == SP_EXEC_STDOUT && data && log->data_len + len < sizeof(log->data)) {
        memcpy(log->data + log->data_len, data, len);
        log->data_len += len;
    }
}

static size_t ev_count(const struct ev_log *log, enum sp_exec_event ev)
{
    size_t n = 0;
    for (size_t i = 0; i < log->n; i++)
        n += log->ev[i] == ev;
    return n;
}

static struct ev_log *exec_logged(struct sp_req_ctx *ctx, struct sp_sandbox *sb, const char *cmd)
{
    struct ev_log *log = sp_req_alloc(ctx, sizeof(*log));
    struct sp_exec *x = sp_req_exec(ctx, cmd);
    x->on_event = ev_record;
    x->user = log;
    x->timeout_ms = 20000;
    SP_REQUIRE_OK(ctx, sp_exec(sb, x, sp_req_err(ctx)));
    SP_REQUIRE(ctx, log->n == log->total, "expected at most %d events, got %zu", EV_MAX,
               log->total);
    SP_REQUIRE(ctx, log->n >= 2, "expected at least a start and an end event, got %zu", log->n);
    SP_REQUIRE(ctx, log->ev[0] == SP_EXEC_STARTED,
               "expected the first event to be started, "
               "got event %d",
               (int)log->ev[0]);
    SP_REQUIRE(ctx, log->ev[log->n - 1] == SP_EXEC_ENDED,
               "expected the last event to be ended, got event %d", (int)log->ev[log->n - 1]);
    SP_REQUIRE_INT_EQ(ctx, ev_count(log, SP_EXEC_STARTED), 1);
    SP_REQUIRE_INT_EQ(ctx, ev_count(log, SP_EXEC_ENDED), 1);
    log->data[log->data_len] = '\0';
    return log;
}

static void exec_events_delivered(struct sp_req_ctx *ctx)
{
    struct sp_sandbox *sb = sp_req_sandbox(ctx);
    struct ev_log *log = exec_logged(ctx, sb, "echo sp-event-out");
    SP_REQUIRE_STR_CONTAINS(ctx, log->data, "sp-event-out");
}

static void exec_stream_order(struct sp_req_ctx *ctx)
{
    struct sp_sandbox *sb = sp_req_sandbox(ctx);
    struct ev_log *log =
        exec_logged(ctx, sb, "for i in 1 2 3 4 5 6; do echo sp-tick-$i; sleep 0.05; done");
    SP_REQUIRE(ctx, ev_count(log, SP_EXEC_STDOUT) >= 2,
               "expected several stdout events for output produced over 300 ms, got %zu",
               ev_count(log, SP_EXEC_STDOUT));
    const char *p = log->data;
    for (int i = 1; i <= 6; i++) {
        const char *tick = sp_req_printf(ctx, "sp-tick-%d", i);
        const char *at = strstr(p, tick);
        SP_REQUIRE(ctx, at != NULL, "expected \"%s\" in order in the streamed output, got \"%s\"",
                   tick, log->data);
        p = at + strlen(tick);
    }
}

const struct sp_requirement sp__req_exec[] = {
    {"exec.echo", SP_STEP_EXEC, SP_LEVEL_MUST, "[Conformance]", 0, 0,
     "A command's standard output comes back with exit code 0.", exec_echo, 0},
    {"exec.exit_code_propagates", SP_STEP_EXEC, SP_LEVEL_MUST, "[Conformance]", 0, 0,
     "The exit code of a command (0, 1, 42) is reported exactly.", exec_exit_code_propagates, 0},
    {"exec.nonzero_exit_not_error", SP_STEP_EXEC, SP_LEVEL_MUST, "[Conformance]", 0, 0,
     "A command that fails is a result with its exit code and output, not an exec error.",
     exec_nonzero_exit_not_error, 0},
    {"exec.stderr_captured", SP_STEP_EXEC, SP_LEVEL_MUST, "[Conformance]", 0, 0,
     "Standard error is returned, separately when the provider splits streams and merged "
     "into the output otherwise.",
     exec_stderr, 0},
    {"exec.env_per_command", SP_STEP_EXEC, SP_LEVEL_MUST, "[Conformance]", 0, 0,
     "Environment variables given with a command are visible to it.", exec_env, 0},
    {"exec.env_values_verbatim", SP_STEP_EXEC, SP_LEVEL_MUST, "[Conformance]", 0, 0,
     "A per-command variable holding quotes, $, backquotes and backslashes arrives unchanged "
     "and unexecuted.",
     exec_env_verbatim, 0},
    {"exec.env_scoped_to_command", SP_STEP_EXEC, SP_LEVEL_SHOULD, "[Conformance]", 0, 0,
     "A per-command variable is not visible to the next command.", exec_env_scoped, 0},
    {"exec.cwd_persists", SP_STEP_EXEC, SP_LEVEL_MUST, "[Conformance]", SP_CAP_PERSIST_SHELL, 0,
     "A cd in one command sets the working directory of the next.", exec_cwd_persists, 0},
    {"exec.export_persists", SP_STEP_EXEC, SP_LEVEL_MUST, "[Conformance]", SP_CAP_PERSIST_SHELL, 0,
     "A variable exported by one command is visible to the next.", exec_export_persists, 0},
    {"exec.cwd_option", SP_STEP_EXEC, SP_LEVEL_MUST, "[Conformance]", 0, 0,
     "A command given a working directory runs in it.", exec_cwd_option, 0},
    {"exec.long_output_intact", SP_STEP_EXEC, SP_LEVEL_MUST, "[Conformance]", 0, 0,
     "112 kB of output (8 000 lines) comes back complete and in order.", exec_long_output,
     SP_CAP_ACTION_SERVER},
    {"exec.long_output_truncated_as_openhands", SP_STEP_EXEC, SP_LEVEL_MUST, "[Conformance]",
     SP_CAP_ACTION_SERVER, 0,
     "Output over 30 000 characters keeps its first and last 15 000 around the action "
     "server's truncation marker.",
     exec_long_output_truncated, 0},
    {"exec.unicode_output", SP_STEP_EXEC, SP_LEVEL_MUST, "[Conformance]", 0, 0,
     "UTF-8 output (accents, CJK, emoji) comes back byte for byte.", exec_unicode, 0},
    {"exec.timeout_reported", SP_STEP_EXEC, SP_LEVEL_MUST, "[Conformance][Slow]", 0, 0,
     "A command past its deadline is a result with timed_out set and exit code -1, not an "
     "error.",
     exec_timeout, 0},
    {"exec.usable_after_timeout", SP_STEP_EXEC, SP_LEVEL_SHOULD, "[Conformance][Slow]", 0, 0,
     "After a command timed out (and was left running by the server), the next command runs "
     "normally.",
     exec_usable_after_timeout, 0},
    {"exec.events_delivered", SP_STEP_EXEC, SP_LEVEL_SHOULD, "[Conformance]", 0, 0,
     "Exec events arrive as one start, the output, then one end.", exec_events_delivered, 0},
    {"exec.stream_order", SP_STEP_EXEC, SP_LEVEL_MUST, "[Conformance]", SP_CAP_STREAM_EXEC, 0,
     "Streamed output arrives as it is produced, in several events between start and end.",
     exec_stream_order, 0},
};
const size_t sp__req_exec_count = sizeof(sp__req_exec) / sizeof(sp__req_exec[0]);
