/* The `run` action of the action-server mock (spec/openhands-action-server.md 3.3-3.5,
 * OpenHands runtime/utils/bash.py BashSession.execute): the command is typed into the
 * sandbox's bash terminal (shell_backend.c), and the reply is a CmdOutputObservation with
 * the server's exact message, metadata, prefix/suffix texts and truncation rules. The soft
 * ("no new output") timeout restarts on every output; after a soft or hard timeout the
 * command keeps running: '' returns its new output, is_input types into it, a key (C-c)
 * is sent to it, and a new command is refused as "NOT executed" (bash.py:548-589). */
#include "action_server_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OUTPUT_CAP     ((size_t)32 << 20) /* bytes of command output we keep */
#define MAX_CHARS      30000              /* CmdOutputObservation truncation (code points) */
#define HISTORY_LINES  11000              /* tmux history 10 000 + a 1 000-row pane */
#define BLOCKING_CAP_S 600.0              /* a blocking command with no timeout */

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

/* "C-c", "C-z", "C-d": keys for tmux, not commands (bash.py _is_special_key: "C-" + 1). */
static bool special_key(const char *cmd)
{
    return strlen(cmd) == 3 && cmd[0] == 'C' && cmd[1] == '-' && isalpha((unsigned char)cmd[2]);
}

static cJSON *no_previous(bool is_input)
{
    const char *text = is_input ? "ERROR: No previous running command to interact with."
                                : "ERROR: No previous running command to retrieve logs from.";
    return run_observation("", text, -1, metadata(-1, NULL, NULL, NULL, NULL, "", ""), false);
}

static cJSON *several_commands(char **cmds, int n)
{
    struct sp_buf b;
    sp_buf_init(&b, 0);
    sp_buf_puts(&b, "ERROR: Cannot execute multiple commands at once.\nPlease run each command "
                    "separately OR chain them into a single command via && or ;\nProvided "
                    "commands:");
    for (int i = 0; i < n; i++)
        sp_buf_printf(&b, "%s(%d) %s", i ? "\n" : "\n", i + 1, cmds[i]);
    cJSON *o = as_error_observation(sp_buf_str(&b));
    sp_buf_cleanup(&b);
    return o;
}

/* _get_command_output: the rendered screen, leading blank space and the echoed command
 * removed, trailing space stripped. */
static void command_output(const struct sp_buf *raw, const char *cmd, struct sp_buf *out)
{
    struct sp_buf r;
    sp_buf_init(&r, 0);
    mock_term_render(raw->data ? raw->data : "", raw->len, &r);
    const char *p = sp_buf_str(&r);
    p += strspn(p, " \t\n\r\v\f");
    const char *c = cmd + strspn(cmd, " \t\n\r\v\f");
    if (c[0] != '\0' && strncmp(p, c, strlen(c)) == 0)
        p += strlen(c);
    p += strspn(p, " \t\n\r\v\f");
    sp_buf_puts(out, p);
    rstrip(out);
    sp_buf_cleanup(&r);
}

/* The observation of a wait that ended: completed, timed out or refused. */
static cJSON *run_result(struct as_ctx *c,
                         const struct as_run_args *a,
                         const char *cmd,
                         enum mock_term_state st,
                         const struct sp_buf *raw,
                         int code,
                         const char *cwd,
                         bool continued)
{
    struct sp_buf content, suffix;
    char prefix[200] = "", wd[1024], num[40];
    sp_buf_init(&content, 0);
    sp_buf_init(&suffix, 0);
    command_output(raw, cmd, &content);
    if (continued)
        snprintf(prefix, sizeof prefix, "[Below is the output of the previous command.]\n");
    size_t kept = keep_history(&content);
    bool done = st == MOCK_TERM_DONE || st == MOCK_TERM_EXITED;
    if (kept > 0 && done)
        snprintf(prefix, sizeof(prefix),
                 "[Previous command outputs are truncated. Showing the last %zu lines of the "
                 "output below.]\n",
                 kept);
    /* Only a completed command's observation carries `hidden` (bash.py:411-449, 511-521). */
    bool hidden = done && a->hidden;
    if (!hidden)
        truncate_content(&content);
    cJSON *meta;
    if (done) {
        mock_sandbox_guest_path(c->sb, cwd, wd, sizeof(wd));
        if (special_key(cmd))
            sp_buf_printf(&suffix, "\n[The command completed with exit code %d. CTRL+%c was sent.]",
                          code, toupper((unsigned char)cmd[2]));
        else
            sp_buf_printf(&suffix, "\n[The command completed with exit code %d.]", code);
        meta = metadata(code, "openhands", c->sb->id, wd, AS_PY_INTERPRETER, prefix,
                        sp_buf_str(&suffix));
    } else {
        if (st == MOCK_TERM_SOFT)
            sp_buf_printf(&suffix, "\n[The command has no new output after %ld seconds. %s]",
                          soft_timeout_s(c->sb), TEMPLATE);
        else if (st == MOCK_TERM_HARD)
            as_py_float(a->timeout_s, num, sizeof num),
                sp_buf_printf(&suffix, "\n[The command timed out after %s seconds. %s]", num,
                              TEMPLATE);
        else
            sp_buf_printf(&suffix,
                          "\n[Your command \"%s\" is NOT executed. The previous command is still "
                          "running - You CANNOT send new commands until the previous command "
                          "is completed. By setting `is_input` to `true`, you can interact with "
                          "the current process: %s]",
                          cmd, TEMPLATE);
        meta = metadata(-1, NULL, NULL, NULL, NULL, prefix, sp_buf_str(&suffix));
        code = -1;
    }
    cJSON *o = run_observation(cmd, sp_buf_str(&content), code, meta, hidden);
    sp_buf_cleanup(&content);
    sp_buf_cleanup(&suffix);
    return o;
}

/* What to type: a key's control byte, or the text; and what the terminal would echo. */
static void typed(const char *cmd,
                  bool is_input,
                  char *key,
                  const char **text,
                  char *echo,
                  size_t echolen,
                  bool *enter)
{
    *enter = true;
    echo[0] = '\0';
    *text = cmd;
    if (special_key(cmd)) {
        key[0] = (char)(toupper((unsigned char)cmd[2]) & 0x1f);
        key[1] = '\0';
        *text = key;
        *enter = false;
        snprintf(echo, echolen, "^%c", toupper((unsigned char)cmd[2]));
    } else if (is_input) {
        snprintf(echo, echolen, "%s\n", cmd);
    }
}

static cJSON *run_typed(struct as_ctx *c, const struct as_run_args *a, const char *cmd, bool busy)
{
    struct sp_buf raw, line;
    sp_buf_init(&raw, 0);
    sp_buf_init(&line, 0);
    char cwd[1024] = "", key[2], echo[4096];
    const char *text;
    bool enter;
    int code = -1;
    typed(cmd, a->is_input, key, &text, echo, sizeof echo, &enter);
    /* is_static: the command in a subshell at cwd leaves the session's state alone. */
    if (a->is_static && !busy)
        sp_buf_printf(&line, "( cd '%s' && %s\n)", a->cwd ? a->cwd : c->workdir, cmd),
            text = sp_buf_str(&line);
    enum mock_term_state st = MOCK_TERM_ERROR;
    long soft = a->blocking ? 0 : soft_timeout_s(c->sb) * 1000;
    long hard = a->has_timeout ? (long)(a->timeout_s * 1000.0) : 0;
    if ((cmd[0] == '\0' || mock_term_send(c->sb, c->workdir_host, text, enter, echo) == 0))
        st = mock_term_wait(c->sb, hard, soft, OUTPUT_CAP, &raw, &code, cwd, sizeof cwd);
    cJSON *o = st == MOCK_TERM_ERROR ? as_error_observation("bash session could not be started")
                                     : run_result(c, a, cmd, st, &raw, code, cwd, busy);
    sp_buf_cleanup(&raw);
    sp_buf_cleanup(&line);
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
    bool busy = mock_term_busy(c->sb);
    char **cmds = NULL;
    int ncmds = 0;
    if (!busy && (cmd[0] == '\0' || a->is_input)) {
        o = no_previous(a->is_input);
    } else if ((ncmds = as_split_commands(cmd, &cmds)) > 1) {
        o = several_commands(cmds, ncmds);
    } else if (busy && !a->is_input && cmd[0] != '\0') {
        /* The previous command may have finished meanwhile: then this one runs. */
        struct sp_buf raw;
        sp_buf_init(&raw, 0);
        char cwd[1024];
        int code;
        enum mock_term_state st =
            mock_term_wait(c->sb, 1, 0, OUTPUT_CAP, &raw, &code, cwd, sizeof cwd);
        if (st == MOCK_TERM_HARD)
            o = run_result(c, a, cmd, MOCK_TERM_ERROR, &raw, -1, cwd, true);
        else
            o = run_typed(c, a, cmd, false);
        sp_buf_cleanup(&raw);
    } else {
        o = run_typed(c, a, cmd, busy);
    }
    as_split_free(cmds);
    free(cmd);
    return o;
}

int as_shell_cwd(struct as_ctx *c, char *out, size_t outlen)
{
    struct sp_buf raw;
    sp_buf_init(&raw, 0);
    char cwd[1024];
    int code, rc = -1;
    if (mock_term_busy(c->sb)) {
        /* the shell is busy: its last known cwd */
        if (mock_term_wait(c->sb, 1, 0, 0, &raw, &code, cwd, sizeof cwd) != MOCK_TERM_ERROR)
            rc = 0;
    } else if (mock_term_send(c->sb, c->workdir_host, ":", true, NULL) == 0 &&
               mock_term_wait(c->sb, 5000, 0, 0, &raw, &code, cwd, sizeof cwd) == MOCK_TERM_DONE) {
        rc = 0;
    }
    if (rc == 0)
        mock_sandbox_guest_path(c->sb, cwd, out, outlen);
    sp_buf_cleanup(&raw);
    return rc;
}
