/* The `run` action of the action-server mock (spec/openhands-action-server.md 3.3-3.5): the
 * command runs in the sandbox's persistent shell, and the reply is a CmdOutputObservation
 * with the server's exact message, metadata, suffix texts and truncation rules.
 *
 * Known simplifications: a command that reaches its timeout is killed (the real server
 * leaves it running for '' / is_input follow-ups); the "no new output" soft timeout is
 * approximated as "not finished after NO_CHANGE_TIMEOUT_SECONDS"; the bashlex check for
 * several commands at once is not made. */
#include "action_server_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OUTPUT_CAP     ((size_t)32 << 20) /* bytes of command output we keep */
#define MAX_CHARS      30000              /* CmdOutputObservation truncation (code points) */
#define HISTORY_LINES  11000              /* tmux history 10 000 + a 1 000-row pane */
#define BLOCKING_CAP_S 600.0              /* a blocking command with no timeout */
#define PY_INTERPRETER "/openhands/poetry/openhands-ai-5O4_aCHf-py3.12/bin/python"

static const char TEMPLATE[] =
    "You may wait longer to see additional output by sending empty command '', send other "
    "commands to interact with the current process, send keys (\"C-c\", \"C-z\", \"C-d\") to "
    "interrupt/kill the previous command before sending your new command, or use the timeout "
    "parameter in execute_bash for future commands.";

static cJSON *
run_observation(const char *cmd, const char *content, int exit_code, cJSON *metadata, bool hidden)
{
    struct sp_buf msg;
    sp_buf_init(&msg, 0);
    sp_buf_printf(&msg, "Command `%s` executed with exit code %d.", cmd, exit_code);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "message", sp_buf_str(&msg));
    sp_buf_cleanup(&msg);
    cJSON_AddStringToObject(o, "observation", "run");
    cJSON_AddStringToObject(o, "content", content);
    cJSON *extras = cJSON_AddObjectToObject(o, "extras");
    cJSON_AddStringToObject(extras, "command", cmd);
    cJSON_AddItemToObject(extras, "metadata", metadata);
    cJSON_AddBoolToObject(extras, "hidden", hidden);
    cJSON_AddBoolToObject(o, "success", exit_code == 0);
    return o;
}

/* CmdOutputMetadata; NULL strings become JSON null (the defaults). */
static cJSON *metadata(int exit_code,
                       const char *user,
                       const char *host,
                       const char *wd,
                       const char *py,
                       const char *prefix,
                       const char *suffix)
{
    cJSON *m = cJSON_CreateObject();
    const char *keys[] = {"username", "hostname", "working_dir", "py_interpreter_path"};
    const char *vals[] = {user, host, wd, py};
    cJSON_AddNumberToObject(m, "exit_code", exit_code);
    cJSON_AddNumberToObject(m, "pid", -1);
    for (size_t i = 0; i < 4; i++)
        cJSON_AddItemToObject(m, keys[i],
                              vals[i] ? cJSON_CreateString(vals[i]) : cJSON_CreateNull());
    cJSON_AddStringToObject(m, "prefix", prefix);
    cJSON_AddStringToObject(m, "suffix", suffix);
    return m;
}

static void rstrip(struct sp_buf *b)
{
    while (b->len > 0 && strchr(" \t\n\r\v\f", b->data[b->len - 1]) != NULL)
        b->data[--b->len] = '\0';
}

/* Keeps the last HISTORY_LINES lines, as the tmux pane does; returns how many were kept
 * when it dropped any, else 0. */
static size_t keep_history(struct sp_buf *b)
{
    size_t lines = 0, i = b->len;
    while (i > 0 && lines < HISTORY_LINES)
        if (b->data[--i] == '\n' && ++lines == HISTORY_LINES)
            break;
    if (lines < HISTORY_LINES)
        return 0;
    size_t from = i + 1;
    memmove(b->data, b->data + from, b->len - from + 1);
    b->len -= from;
    return HISTORY_LINES;
}

/* Byte offset of code point number `cp` in s (UTF-8), or len when s is shorter. */
static size_t cp_offset(const char *s, size_t len, size_t cp)
{
    size_t i = 0;
    for (; i < len && cp > 0; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80 && --cp == 0)
            while (i + 1 < len && ((unsigned char)s[i + 1] & 0xc0) == 0x80)
                i++;
    return i < len ? i : len;
}

/* First 15 000 + marker + last 15 000 characters when longer than 30 000 (spec 3.3). */
static void truncate_content(struct sp_buf *b)
{
    size_t chars = 0;
    for (size_t i = 0; i < b->len; i++)
        chars += ((unsigned char)b->data[i] & 0xc0) != 0x80;
    if (chars <= MAX_CHARS)
        return;
    size_t head = cp_offset(b->data, b->len, MAX_CHARS / 2);
    size_t tail = cp_offset(b->data, b->len, chars - MAX_CHARS / 2);
    struct sp_buf out;
    sp_buf_init(&out, 0);
    sp_buf_append(&out, b->data, head);
    sp_buf_puts(&out, "\n[... Observation truncated due to length ...]\n");
    sp_buf_append(&out, b->data + tail, b->len - tail);
    sp_buf_cleanup(b);
    *b = out;
}

static long soft_timeout_s(const struct mock_sandbox *sb)
{
    const char *v = sp_kv_get(&sb->env, "NO_CHANGE_TIMEOUT_SECONDS");
    long s = v ? strtol(v, NULL, 10) : 10;
    return s > 0 ? s : 10;
}

/* "\n[The command timed out after 2.5 seconds. ...]" or the soft-timeout form. */
static void timeout_suffix(const struct as_run_args *a, bool soft, long soft_s, struct sp_buf *out)
{
    char num[40];
    if (soft) {
        sp_buf_printf(out, "\n[The command has no new output after %ld seconds. %s]", soft_s,
                      TEMPLATE);
        return;
    }
    as_py_float(a->timeout_s, num, sizeof(num));
    sp_buf_printf(out, "\n[The command timed out after %s seconds. %s]", num, TEMPLATE);
}

/* "C-c", "C-z", "C-d": keys for tmux, not commands. */
static bool special_key(const char *cmd)
{
    return strlen(cmd) == 3 && (cmd[0] == 'C' || cmd[0] == 'c') && cmd[1] == '-' &&
           isalpha((unsigned char)cmd[2]);
}

static cJSON *run_without_process(struct as_ctx *c, const struct as_run_args *a, const char *cmd)
{
    if (cmd[0] == '\0' || a->is_input) {
        const char *text = cmd[0] == '\0' && !a->is_input
                               ? "ERROR: No previous running command to retrieve logs from."
                               : "ERROR: No previous running command to interact with.";
        return run_observation("", text, -1, metadata(-1, NULL, NULL, NULL, NULL, "", ""),
                               a->hidden);
    }
    /* A key at an idle prompt: bash reports 130 after C-c, nothing else happens. */
    char wd[512], suffix[96];
    int code = toupper((unsigned char)cmd[2]) == 'C' ? 130 : 0;
    if (as_shell_cwd(c, wd, sizeof(wd)) != 0)
        snprintf(wd, sizeof(wd), "%s", c->workdir);
    snprintf(suffix, sizeof(suffix),
             "\n[The command completed with exit code %d. CTRL+%c was sent.]", code,
             toupper((unsigned char)cmd[2]));
    return run_observation(cmd, "", code,
                           metadata(code, "openhands", c->sb->id, wd, PY_INTERPRETER, "", suffix),
                           a->hidden);
}

static cJSON *run_finish(struct as_ctx *c,
                         const struct as_run_args *a,
                         const char *cmd,
                         struct mock_shell_result *res,
                         bool soft,
                         long soft_s)
{
    char wd[1024], prefix[160] = "";
    struct sp_buf suffix;
    sp_buf_init(&suffix, 0);
    rstrip(&res->out);
    size_t kept = keep_history(&res->out);
    if (kept > 0)
        snprintf(prefix, sizeof(prefix),
                 "[Previous command outputs are truncated. Showing the last %zu lines of the "
                 "output below.]\n",
                 kept);
    if (!a->hidden)
        truncate_content(&res->out);
    cJSON *meta;
    int code = res->timed_out ? -1 : res->exit_code;
    if (res->timed_out) {
        timeout_suffix(a, soft, soft_s, &suffix);
        meta = metadata(-1, NULL, NULL, NULL, NULL, prefix, sp_buf_str(&suffix));
    } else {
        mock_sandbox_guest_path(c->sb, res->cwd, wd, sizeof(wd));
        sp_buf_printf(&suffix, "\n[The command completed with exit code %d.]", code);
        meta =
            metadata(code, "openhands", c->sb->id, wd, PY_INTERPRETER, prefix, sp_buf_str(&suffix));
    }
    cJSON *o = run_observation(cmd, sp_buf_str(&res->out), code, meta, a->hidden);
    sp_buf_cleanup(&suffix);
    return o;
}

cJSON *as_action_run(struct as_ctx *c, const struct as_run_args *a)
{
    size_t n = strlen(a->command);
    const char *p = a->command + strspn(a->command, " \t\r\n\v\f");
    while (n > 0 && strchr(" \t\r\n\v\f", a->command[n - 1]) != NULL)
        n--;
    char *cmd = strndup(p, p < a->command + n ? (size_t)(a->command + n - p) : 0);
    if (cmd == NULL)
        return NULL;
    cJSON *o = NULL;
    if (cmd[0] == '\0' || a->is_input || special_key(cmd)) {
        o = run_without_process(c, a, cmd);
        free(cmd);
        return o;
    }
    /* The hard timeout is the action's; without `blocking` the soft one may come first. */
    long soft_s = soft_timeout_s(c->sb);
    double limit = a->has_timeout ? a->timeout_s : BLOCKING_CAP_S;
    bool soft = !a->blocking && soft_s < limit;
    if (soft)
        limit = (double)soft_s;
    struct sp_buf wrapped;
    sp_buf_init(&wrapped, 0);
    char cwd_host[1024];
    /* is_static: a fresh shell at cwd; a subshell leaves the session's state alone. */
    if (a->is_static && mock_sandbox_host_path(c->sb, c->workdir, a->cwd ? a->cwd : c->workdir,
                                               cwd_host, sizeof(cwd_host)) == 0)
        sp_buf_printf(&wrapped, "( cd '%s' && %s\n)", cwd_host, cmd);
    else
        sp_buf_puts(&wrapped, cmd);
    struct mock_shell_result res;
    mock_shell_result_init(&res, OUTPUT_CAP);
    if (mock_shell_run(c->sb, c->workdir_host, sp_buf_str(&wrapped), (long)(limit * 1000.0), true,
                       &res) != 0)
        o = as_error_observation("bash session could not be started");
    else
        o = run_finish(c, a, cmd, &res, soft, soft_s);
    mock_shell_result_cleanup(&res);
    sp_buf_cleanup(&wrapped);
    free(cmd);
    return o;
}

int as_shell_cwd(struct as_ctx *c, char *out, size_t outlen)
{
    struct mock_shell_result res;
    mock_shell_result_init(&res, 4096);
    int rc = mock_shell_run(c->sb, c->workdir_host, ":", 5000, true, &res);
    if (rc == 0)
        mock_sandbox_guest_path(c->sb, res.cwd, out, outlen);
    mock_shell_result_cleanup(&res);
    return rc;
}
