/* The Daytona mock, toolbox (spec/daytona-runloop.md A7): what the daemon inside a sandbox
 * serves under /api/toolbox/{id}/toolbox/... in 0.24.2. This file: the shared checks and the
 * Go error body, project-dir, and process/execute (a quote-aware split and exec, no shell,
 * as the daemon does; the API renames `code` to `exitCode`). Files: daytona_files.c;
 * sessions: daytona_session.c. Sandbox paths map under the sandbox root; the project dir is
 * the user's home. */
#include "daytona_int.h"
#include "backend.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>


#include "json.h"
#include "provider.h" /* sp_now_ms */

#define EXEC_TIMEOUT_S  360 /* 0.24.2 default of process/execute */
#define EXEC_OUTPUT_MAX ((size_t)16 << 20)
#define MAX_ARGS        256

/* --- shared toolbox helpers ----------------------------------------------------------------- */

static const char *reason(int status)
{
    switch (status) {
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    default:
        return "Internal Server Error";
    }
}

/* The daemon's own path: what follows /toolbox/{id}/toolbox in ours. */
static const char *daemon_path(const char *path)
{
    const char *p = strstr(path, "/toolbox/");
    if (p == NULL)
        return path;
    p = strchr(p + 9, '/');
    return p != NULL && strncmp(p, "/toolbox", 8) == 0 ? p + 8 : path;
}

void dt_daemon_error(struct mock_req *r, int status, const char *message)
{
    char ts[40];
    mock_format_time(mock_wall_ms(), false, ts, sizeof(ts));
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "statusCode", status);
    cJSON_AddStringToObject(o, "message", message);
    cJSON_AddStringToObject(o, "code", reason(status));
    cJSON_AddStringToObject(o, "timestamp", ts);
    cJSON_AddStringToObject(o, "path", daemon_path(r->path));
    cJSON_AddStringToObject(o, "method", r->method);
    dt_reply_json(r, status, o);
}

/* "<op> <path>: <strerror>" as Go's *PathError prints, with the sandbox path. */
void dt_path_error(struct mock_req *r, const char *op, const char *path, int err)
{
    char msg[1200];
    int status = err == ENOENT ? 404 : err == EACCES ? 403 : 400;
    const char *text = err == ENOENT ? "no such file or directory" : strerror(err);
    snprintf(msg, sizeof(msg), "%s %.1000s: %s", op, path, text);
    dt_daemon_error(r, status, msg);
}

/* needs_daemon: the route is the daemon's process or file API, which is the data plane in
 * toolbox mode; sessions are not (they start the action server, the data plane then). */
static struct mock_sandbox *toolbox_sandbox(struct mock_req *r, bool nest_body, bool needs_daemon)
{
    struct mock_sandbox *sb = mock_store_get(mock_store_of(r->mock), r->params[0]);
    char msg[200];
    if (sb == NULL) {
        snprintf(msg, sizeof(msg), "Sandbox with ID %.100s not found", r->params[0]);
        dt_nest_error(r, 404, "Not Found", msg);
        return NULL;
    }
    bool running = mock_sandbox_phase(mock_store_of(r->mock), sb) == MOCK_RUNNING;
    /* SP_MOCK_FAULT_NEVER_ALIVE: the data plane never answers (for the action server, see
     * mock_sandbox_add_server). */
    bool dead_daemon = needs_daemon && sb->fault == SP_MOCK_FAULT_NEVER_ALIVE;
    if (running && !dead_daemon)
        return sb;
    mock_store_put(mock_store_of(r->mock), sb);
    if (dead_daemon && running) {
        /* The toolbox is the data plane in toolbox mode: a daemon that never came up
         * leaves the proxy answering 502, as for an action server that never starts. */
        dt_nest_error(r, 502, "Bad Gateway", "Failed to connect to the sandbox daemon");
    } else if (nest_body) {
        dt_nest_error(r, 400, "Bad Request", "Sandbox is not running");
    } else {
        /* The proxied routes write the serialised exception object (A3.2). */
        static const char BODY[] =
            "{\"response\":{\"message\":\"Sandbox is not running\",\"error\":\"Bad Request\","
            "\"statusCode\":400},\"status\":400,\"options\":{},\"message\":\"Sandbox is not "
            "running\",\"name\":\"BadRequestException\"}";
        mock_reply(r, 400, "application/json; charset=utf-8", BODY, sizeof(BODY) - 1);
    }
    return NULL;
}

struct mock_sandbox *dt_toolbox_sandbox(struct mock_req *r, bool nest_body)
{
    return toolbox_sandbox(r, nest_body, true);
}

struct mock_sandbox *dt_session_sandbox(struct mock_req *r)
{
    return toolbox_sandbox(r, false, false);
}

void dt_home_dir(struct sp_mock *m, struct mock_sandbox *sb, char *out, size_t len)
{
    const struct dt_sandbox *v = dt_sandbox_of(m, sb);
    const char *user = v ? v->user : "daytona";
    if (strcmp(user, "root") == 0)
        snprintf(out, len, "/root");
    else
        snprintf(out, len, "/home/%s", user);
}

/* A query path as a host path (relative to the home, as the daemon's cwd). */
int dt_host_path(
    struct mock_req *r, struct mock_sandbox *sb, const char *path, char *out, size_t len)
{
    char home[128];
    dt_home_dir(r->mock, sb, home, sizeof(home));
    return mock_sandbox_host_path(sb, home, path, out, len);
}

void dt_project_dir(struct mock_req *r)
{
    struct mock_sandbox *sb = dt_toolbox_sandbox(r, false);
    if (sb == NULL)
        return;
    char home[128];
    dt_home_dir(r->mock, sb, home, sizeof(home));
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "dir", home);
    dt_reply_json(r, 200, o);
    mock_store_put(mock_store_of(r->mock), sb);
}

/* The connection's socket, to notice a client that left (or a mock that stops) while a
 * handler waits: MHD does not look at the socket while our handler runs. */
int dt_conn_fd(struct mock_req *r)
{
    return mock_req_socket(r);
}

bool dt_fd_gone(int fd)
{
    char c;
    if (fd < 0)
        return false;
    ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    /* 0: the peer closed, or MHD shut the socket down because the mock is stopping. */
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

bool dt_peer_gone(struct mock_req *r)
{
    return dt_fd_gone(dt_conn_fd(r));
}

/* --- process/execute (A7.1) ----------------------------------------------------------------- */

/* The daemon's parseCommand: split on spaces outside quotes; a quote of the other kind inside
 * quotes is kept; no backslash escapes. Writes into buf; returns argc or -1. */
static int split_command(const char *cmd, char *buf, size_t buflen, char **argv, int max)
{
    int argc = 0;
    size_t n = 0;
    char quote = 0;
    bool in_word = false;
    for (const char *p = cmd;; p++) {
        bool end = *p == '\0' || (*p == ' ' && quote == 0);
        if (end) {
            if (in_word) {
                if (argc + 1 >= max || n >= buflen)
                    return -1;
                buf[n++] = '\0';
                argc++;
                in_word = false;
            }
            if (*p == '\0')
                break;
            continue;
        }
        if (!in_word) {
            argv[argc] = buf + n;
            in_word = true;
        }
        if ((*p == '"' || *p == '\'') && (quote == 0 || quote == *p)) {
            quote = quote ? 0 : *p;
            continue;
        }
        if (n + 1 >= buflen)
            return -1;
        buf[n++] = *p;
    }
    argv[argc] = NULL;
    return argc;
}

/* Runs argv to its end or the deadline. Returns the exit code (-1 when killed), or -2 when
 * the deadline passed. */
static int run_process(struct mock_req *r, struct mock_proc *p, long timeout_s, struct sp_buf *out)
{
    int64_t deadline = sp_now_ms() + timeout_s * 1000;
    char chunk[65536];
    int stream, code, sig;
    for (;;) {
        ssize_t n = mock_proc_read(p, 200, chunk, sizeof(chunk), &stream);
        if (n < 0)
            break;
        if (n > 0)
            sp_buf_append(out, chunk, (size_t)n); /* stdout and stderr combined */
        if (sp_now_ms() >= deadline || dt_peer_gone(r)) {
            mock_proc_kill(p);
            mock_proc_wait(p, NULL, NULL);
            return -2;
        }
    }
    mock_proc_wait(p, &code, &sig);
    return sig ? -1 : code;
}

static void execute(struct mock_req *r,
                    struct mock_sandbox *sb,
                    const char *command,
                    const char *cwd,
                    long timeout_s)
{
    char buf[65536], *argv[MAX_ARGS], cwd_host[2048], home[128], home_host[2048], msg[600];
    struct mock_proc *p = NULL;
    struct sp_buf out;
    if (mock_is_synthetic(r->mock)) {
        dt_synthetic_execute(r, sb, command, cwd, timeout_s);
        return;
    }
    sp_buf_init(&out, EXEC_OUTPUT_MAX);
    dt_home_dir(r->mock, sb, home, sizeof(home));
    int argc = split_command(command, buf, sizeof(buf), argv, MAX_ARGS);
    int code = -1;
    if (argc <= 0) {
        dt_nest_error(r, 400, "Bad Request", argc == 0 ? "empty command" : "command too long");
        sp_buf_cleanup(&out);
        return;
    }
    if (mock_sandbox_host_path(sb, home, cwd ? cwd : home, cwd_host, sizeof(cwd_host)) != 0 ||
        mock_sandbox_host_path(sb, "/", home, home_host, sizeof(home_host)) != 0) {
        snprintf(msg, sizeof(msg), "chdir %.500s: no such file or directory", cwd ? cwd : home);
        sp_buf_puts(&out, msg);
    } else if (mock_proc_spawn((const char *const *)argv, &sb->env, cwd_host, home_host, &p) != 0) {
        snprintf(msg, sizeof(msg),
                 errno == ENOENT ? "exec: \"%.500s\": executable file not found "
                                   "in $PATH"
                                 : "fork/exec %.500s: permission denied",
                 argv[0]);
        sp_buf_puts(&out, msg);
    } else {
        code = run_process(r, p, timeout_s, &out);
        mock_proc_free(p);
    }
    mock_reply_after(r, mock_store_delay_us(mock_store_of(r->mock), MOCK_DELAY_EXEC));
    if (code == -2) {
        dt_nest_error(r, 408, "Request Timeout", "command execution timeout");
    } else {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "exitCode", code);
        cJSON_AddStringToObject(o, "result", sp_buf_str(&out));
        dt_reply_json(r, 200, o);
    }
    sp_buf_cleanup(&out);
}

void dt_process_execute(struct mock_req *r)
{
    struct mock_sandbox *sb = dt_toolbox_sandbox(r, true);
    if (sb == NULL)
        return;
    struct sp_error err;
    cJSON *o = sp_json_parse(sp_buf_str(&r->body), r->body.len, "body", &err);
    const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(o, "command");
    const cJSON *cwd = cJSON_GetObjectItemCaseSensitive(o, "cwd");
    const cJSON *timeout = cJSON_GetObjectItemCaseSensitive(o, "timeout");
    if (!cJSON_IsString(cmd))
        dt_nest_validation(r, "command must be a string");
    else if (cmd->valuestring[0] == '\0')
        dt_nest_error(r, 400, "Bad Request", "command is required");
    else
        execute(r, sb, cmd->valuestring, cJSON_IsString(cwd) ? cwd->valuestring : NULL,
                cJSON_IsNumber(timeout) && timeout->valuedouble > 0 ? (long)timeout->valuedouble
                                                                    : EXEC_TIMEOUT_S);
    cJSON_Delete(o);
    mock_store_put(mock_store_of(r->mock), sb);
}
