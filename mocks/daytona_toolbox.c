/* The Daytona mock, toolbox (spec/daytona-runloop.md A7): what the daemon inside a sandbox
 * serves, under the API's /api/toolbox/{id}/toolbox/... (SDK 0.24) and the proxy's
 * /toolbox/{id}/... (the newest SDK). This file: the shared checks and the Go error body,
 * project-dir / user-home-dir / work-dir, and process/execute, which today's daemon
 * (apps/daemon/pkg/toolbox/process/execute.go) runs through the user's shell (bash where
 * there is one), with `envs`, no timeout unless one is given, stdout and stderr combined.
 * Files: daytona_files.c; sessions: daytona_session.c. Sandbox paths map under the sandbox
 * root; the project dir is the user's home. */
#include "backend.h"
#include "daytona_int.h"

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

#define EXEC_OUTPUT_MAX ((size_t)16 << 20)

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

/* The daemon's own path: what follows /toolbox/{id}/toolbox (API) or /toolbox/{id} (proxy). */
static const char *daemon_path(const char *path)
{
    const char *p = strstr(path, "/toolbox/");
    if (p == NULL)
        return path;
    p = strchr(p + 9, '/');
    if (p == NULL)
        return path;
    return strncmp(p, "/toolbox/", 9) == 0 ? p + 8 : p;
}

void dt_daemon_error_code(struct mock_req *r, int status, const char *code, const char *message)
{
    char ts[40];
    mock_format_time(mock_wall_ms(), false, ts, sizeof(ts));
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "statusCode", status);
    cJSON_AddStringToObject(o, "message", message);
    cJSON_AddStringToObject(o, "code", code);
    cJSON_AddStringToObject(o, "source", "DAYTONA_DAEMON");
    cJSON_AddStringToObject(o, "timestamp", ts);
    cJSON_AddStringToObject(o, "path", daemon_path(r->path));
    cJSON_AddStringToObject(o, "method", r->method);
    dt_reply_json(r, status, o);
}

void dt_daemon_error(struct mock_req *r, int status, const char *message)
{
    dt_daemon_error_code(r, status, reason(status), message);
}

/* "<op> <path>: <strerror>" as Go's *PathError prints, with the sandbox path; the code is
 * the daemon's file error code (fs/download_files.go classifyPathStatError). */
void dt_path_error(struct mock_req *r, const char *op, const char *path, int err)
{
    char msg[1200];
    int status = err == ENOENT ? 404 : err == EACCES ? 403 : 400;
    const char *code = err == ENOENT   ? "FILE_NOT_FOUND"
                       : err == EACCES ? "FILE_ACCESS_DENIED"
                                       : "INVALID_FILE_PATH";
    const char *text = err == ENOENT ? "no such file or directory" : strerror(err);
    snprintf(msg, sizeof(msg), "%s %.1000s: %s", op, path, text);
    dt_daemon_error_code(r, status, code, msg);
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
    if (needs_daemon && mock_faults_data_plane_dead(r, sb)) { /* an injected fault: reset */
        mock_store_put(mock_store_of(r->mock), sb);
        return NULL;
    }
    bool running = mock_sandbox_phase(mock_store_of(r->mock), sb) == MOCK_RUNNING;
    /* NEVER_ALIVE or SERVER_CRASH: the daemon never answers, or stopped answering (for the
     * action server, see mock_sandbox_add_server). */
    bool dead_daemon = needs_daemon && mock_faults_server_down(sb, true);
    if (running && !dead_daemon)
        return sb;
    mock_store_put(mock_store_of(r->mock), sb);
    if (dead_daemon && running) {
        /* The toolbox is the data plane in toolbox mode: a daemon that is not up leaves the
         * proxy answering 502, as for an action server that is not (spec A8). */
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

/* {"dir": <home>}: project-dir (0.24), user-home-dir and work-dir (newest; the daemon's
 * work dir is the home unless the image sets another). */
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

void dt_user_home_dir(struct mock_req *r)
{
    dt_project_dir(r);
}

void dt_work_dir(struct mock_req *r)
{
    dt_project_dir(r);
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

/* The daemon's common.GetShell(): zsh, else bash when /etc/shells lists them, else sh. The
 * mock has no zsh in its sandboxes' view of /usr, so bash when present. */
static const char *user_shell(void)
{
    return access("/bin/bash", X_OK) == 0 ? "/bin/bash" : "/bin/sh";
}

/* Runs p to its end or the deadline (timeout_s 0: none, as the daemon). Returns the exit
 * code (-1 when killed), or -2 when the deadline passed. */
static int run_process(struct mock_req *r, struct mock_proc *p, long timeout_s, struct sp_buf *out)
{
    int64_t deadline = timeout_s > 0 ? sp_now_ms() + timeout_s * 1000 : INT64_MAX;
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

/* The command goes to the shell as its script, as the daemon pipes it to the shell's stdin:
 * here as `-c`, which runs it the same way ($0 is the shell, no arguments). envs are added to
 * the sandbox's environment. */
static void execute(struct mock_req *r,
                    struct mock_sandbox *sb,
                    const char *command,
                    const char *cwd,
                    const struct sp_kv *envs,
                    long timeout_s)
{
    char cwd_host[2048], home[128], home_host[2048], msg[600];
    const char *argv[] = {user_shell(), "-c", command, NULL};
    struct mock_proc *p = NULL;
    struct sp_buf out;
    if (mock_is_synthetic(r->mock)) {
        dt_synthetic_execute(r, sb, command, cwd, timeout_s);
        return;
    }
    struct sp_kv env;
    sp_buf_init(&out, EXEC_OUTPUT_MAX);
    sp_kv_init(&env);
    sp_kv_merge(&env, &sb->env);
    sp_kv_merge(&env, envs);
    dt_home_dir(r->mock, sb, home, sizeof(home));
    int code = -1;
    if (mock_sandbox_host_path(sb, home, cwd ? cwd : home, cwd_host, sizeof(cwd_host)) != 0 ||
        mock_sandbox_host_path(sb, "/", home, home_host, sizeof(home_host)) != 0) {
        snprintf(msg, sizeof(msg), "chdir %.500s: no such file or directory", cwd ? cwd : home);
        sp_buf_puts(&out, msg);
    } else if (mock_proc_spawn(argv, &env, cwd_host, home_host, &p) != 0) {
        snprintf(msg, sizeof(msg), "fork/exec %.500s: %s", argv[0], strerror(errno));
        sp_buf_puts(&out, msg);
    } else {
        code = run_process(r, p, timeout_s, &out);
        mock_proc_free(p);
    }
    mock_reply_after(r, mock_store_delay_us(mock_store_of(r->mock), MOCK_DELAY_EXEC));
    if (code == -2 && dt_via_proxy(r))
        dt_daemon_error_code(r, 408, "PROCESS_EXECUTION_TIMEOUT", "command execution timeout");
    else if (code == -2)
        dt_nest_error(r, 408, "Request Timeout", "command execution timeout");
    else {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "exitCode", code);
        cJSON_AddStringToObject(o, "result", sp_buf_str(&out));
        dt_reply_json(r, 200, o);
    }
    sp_buf_cleanup(&out);
    sp_kv_cleanup(&env);
}

/* A 400 as the route's server writes it: the daemon's body through the proxy, the API's
 * class-validator body through /api/toolbox. */
static void bad_request(struct mock_req *r, const char *message)
{
    if (dt_via_proxy(r))
        dt_daemon_error(r, 400, message);
    else
        dt_nest_validation(r, message);
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
    const cJSON *envs_j = cJSON_GetObjectItemCaseSensitive(o, "envs");
    struct sp_kv envs;
    sp_kv_init(&envs);
    bool envs_ok = envs_j == NULL || cJSON_IsNull(envs_j) ||
                   sp_json_get_kv(o, "envs", false, &envs, "envs", &err) == 0;
    if (!cJSON_IsString(cmd))
        bad_request(r, "invalid request body: command must be a string");
    else if (cmd->valuestring[strspn(cmd->valuestring, " \t\r\n")] == '\0')
        bad_request(r, "command cannot be empty or whitespace-only");
    else if (!envs_ok)
        bad_request(r, "invalid request body: envs must be an object of strings");
    else
        execute(r, sb, cmd->valuestring, cJSON_IsString(cwd) ? cwd->valuestring : NULL, &envs,
                cJSON_IsNumber(timeout) && timeout->valuedouble > 0 ? (long)timeout->valuedouble
                                                                    : 0);
    sp_kv_cleanup(&envs);
    cJSON_Delete(o);
    mock_store_put(mock_store_of(r->mock), sb);
}
