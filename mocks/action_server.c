/* The OpenHands action execution server, mocked once for every vendor whose sandboxes run it
 * (spec/openhands-action-server.md 2 and 3): a vendor's session or entrypoint hands us the
 * server's command line (mock_action_server_claim), and its data plane hands us the requests
 * addressed to the server's port (mock_action_server_dispatch). This file holds routing,
 * the X-Session-API-Key check and the small endpoints; /execute_action is decoded in
 * action_server_exec.c, the `run` action is in action_server_run.c, the file actions and
 * endpoints in action_server_files.c. */
#include "action_server_int.h"
#include "hostfs.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "json.h"
#include "provider.h" /* sp_now_ms */

/* --- host routing and the command line ------------------------------------------------------ */

bool mock_host_target(const char *host, unsigned *port, char *id, size_t idlen)
{
    static const char LOCALHOST[] = ".localhost";
    unsigned long p = 0;
    size_t i = 0;
    if (host == NULL)
        return false;
    for (; i < 5 && isdigit((unsigned char)host[i]); i++)
        p = p * 10 + (unsigned long)(host[i] - '0');
    if (i == 0 || host[i] != '-' || p == 0 || p > 65535)
        return false;
    const char *start = host + i + 1;
    size_t n = strcspn(start, ".:");
    /* The name ends in ".localhost", with labels between allowed ("tunnel.localhost"). */
    const char *tail = start + n, *end = tail + strcspn(tail, ":");
    size_t ll = sizeof(LOCALHOST) - 1;
    if (n == 0 || n >= idlen || (size_t)(end - tail) < ll ||
        strncasecmp(end - ll, LOCALHOST, ll) != 0)
        return false;
    tail = end;
    if (*tail == ':')
        tail += 1 + strspn(tail + 1, "0123456789");
    if (*tail != '\0')
        return false;
    memcpy(id, start, n);
    id[n] = '\0';
    *port = (unsigned)p;
    return true;
}

/* Copies the next whitespace-separated token of *s (quote characters at its ends removed,
 * as they come from `sudo bash -c '...'` wrappers) into tok. False at the end. */
static bool next_token(const char **s, char *tok, size_t len)
{
    const char *p = *s + strspn(*s, " \t\r\n");
    size_t n = strcspn(p, " \t\r\n");
    if (n == 0)
        return false;
    *s = p + n;
    while (n > 0 && (*p == '\'' || *p == '"'))
        p++, n--;
    while (n > 0 && (p[n - 1] == '\'' || p[n - 1] == '"' || p[n - 1] == ';'))
        n--;
    if (n >= len)
        n = len - 1;
    memcpy(tok, p, n);
    tok[n] = '\0';
    return true;
}

/* Writes dir into workdir as an absolute sandbox path; false when empty or too long. */
static bool set_workdir(const char *dir, char *workdir, size_t wlen)
{
    int n = snprintf(workdir, wlen, "%s%s", dir[0] == '/' ? "" : "/", dir);
    return dir[0] != '\0' && n > 0 && (size_t)n < wlen;
}

/* Finds `-m openhands.runtime.action_execution_server <port> ... --working-dir <dir>`. */
static bool parse_cmdline(const char *cmd, unsigned *port, char *workdir, size_t wlen)
{
    char tok[512];
    bool after_m = false, found = false, have_dir = false;
    while (next_token(&cmd, tok, sizeof(tok))) {
        if (!found && after_m && strcmp(tok, "openhands.runtime.action_execution_server") == 0) {
            char *end;
            if (!next_token(&cmd, tok, sizeof(tok)))
                return false;
            unsigned long p = strtoul(tok, &end, 10);
            if (*end != '\0' || p == 0 || p > 65535)
                return false;
            *port = (unsigned)p;
            found = true;
        } else if (found && strcmp(tok, "--working-dir") == 0) {
            have_dir = next_token(&cmd, tok, sizeof(tok)) && set_workdir(tok, workdir, wlen);
        } else if (found && strncmp(tok, "--working-dir=", 14) == 0) {
            have_dir = set_workdir(tok + 14, workdir, wlen);
        }
        after_m = strcmp(tok, "-m") == 0;
    }
    /* argparse makes --working-dir required: without it the server would not start. */
    return found && have_dir;
}

bool mock_action_server_claim(struct sp_mock *m, struct mock_sandbox *sb, const char *cmdline)
{
    unsigned port = 0;
    char workdir[512], host[1024];
    if (cmdline == NULL || !parse_cmdline(cmdline, &port, workdir, sizeof(workdir)))
        return false;
    /* The server creates its working directory at start-up. */
    if (mock_backend(m) == SP_MOCK_BACKEND_SHELL &&
        mock_sandbox_host_path(sb, "/", workdir, host, sizeof(host)) == 0)
        mock_fs_mkdir_p(sb, host, 0755);
    mock_sandbox_add_server(mock_store_of(m), sb, port, workdir);
    return true;
}

/* --- replies -------------------------------------------------------------------------------- */

void as_reply_detail(struct mock_req *r, int status, const char *detail)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "detail", detail);
    mock_reply_cjson(r, status, o);
}

void as_reply_invalid(struct mock_req *r, const char *errors)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "detail", "Invalid request parameters");
    cJSON_AddStringToObject(o, "errors", errors);
    mock_reply_cjson(r, 422, o);
}

cJSON *as_error_observation(const char *content)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "message", content);
    cJSON_AddStringToObject(o, "observation", "error");
    cJSON_AddStringToObject(o, "content", content);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "extras"), "error_id", "");
    return o;
}

/* A Python float as str() prints it: shortest round-trip digits, "1.0" for whole numbers. */
void as_py_float(double v, char *out, size_t len)
{
    if (v == floor(v) && fabs(v) < 1e16) {
        snprintf(out, len, "%.1f", v);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, len, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            break;
    }
}

/* --- the small endpoints and routing -------------------------------------------------------- */

static void server_info(struct as_ctx *c, int64_t ready_ms)
{
    double up = (double)(sp_now_ms() - ready_ms) / 1000.0;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "uptime", up > 0 ? up : 0);
    cJSON_AddNumberToObject(o, "idle_time", up > 0 ? up : 0);
    cJSON *res = cJSON_AddObjectToObject(o, "resources");
    cJSON_AddNumberToObject(res, "cpu_percent", 0.0);
    cJSON *mem = cJSON_AddObjectToObject(res, "memory");
    cJSON_AddNumberToObject(mem, "rss", 0);
    cJSON_AddNumberToObject(mem, "vms", 0);
    cJSON_AddNumberToObject(mem, "percent", 0.0);
    cJSON *disk = cJSON_AddObjectToObject(res, "disk");
    cJSON_AddNumberToObject(disk, "total", 0);
    cJSON_AddNumberToObject(disk, "used", 0);
    cJSON_AddNumberToObject(disk, "free", 0);
    cJSON_AddNumberToObject(disk, "percent", 0.0);
    cJSON *io = cJSON_AddObjectToObject(res, "io");
    cJSON_AddNumberToObject(io, "read_bytes", 0);
    cJSON_AddNumberToObject(io, "write_bytes", 0);
    mock_reply_cjson(c->r, 200, o);
}

static void update_mcp_server(struct as_ctx *c)
{
    struct sp_error err;
    cJSON *root = sp_json_parse(sp_buf_str(&c->r->body), c->r->body.len, "request", &err);
    if (cJSON_IsArray(root))
        mock_reply_json(
            c->r, 200,
            "{\"detail\":\"MCP server updated successfully\",\"router_error_log\":\"\"}");
    else
        as_reply_detail(c->r, 400, "Request must be a list of MCP tools to sync");
    cJSON_Delete(root);
}

/* Routes of the FastAPI app; the `auth` flag marks those behind the session-key middleware. */
enum as_route { R_ALIVE, R_INFO, R_EXEC, R_UPLOAD, R_DOWNLOAD, R_LIST, R_VSCODE, R_MCP, R_NONE };
static const struct {
    const char *method, *path;
} ROUTES[] = {
    [R_ALIVE] = {"GET", "/alive"},
    [R_INFO] = {"GET", "/server_info"},
    [R_EXEC] = {"POST", "/execute_action"},
    [R_UPLOAD] = {"POST", "/upload_file"},
    [R_DOWNLOAD] = {"GET", "/download_files"},
    [R_LIST] = {"POST", "/list_files"},
    [R_VSCODE] = {"GET", "/vscode/connection_token"},
    [R_MCP] = {"POST", "/update_mcp_server"},
};

static bool session_key_ok(struct mock_req *r, struct mock_sandbox *sb)
{
    const char *want = sp_kv_get(&sb->env, "SESSION_API_KEY");
    const char *got = mock_req_header(r, "X-Session-API-Key");
    return want == NULL || want[0] == '\0' || (got != NULL && strcmp(got, want) == 0);
}

void mock_action_server_dispatch(struct mock_req *r, struct mock_sandbox *sb, unsigned port)
{
    bool ready = false;
    struct mock_server copy; /* copied under the store lock */
    const struct mock_server *srv =
        mock_sandbox_server_copy(mock_store_of(r->mock), sb, port, &copy, &ready) ? &copy : NULL;
    if (srv == NULL || !ready) {
        /* Nothing listens on the port yet: the vendor's proxy answers Bad Gateway. */
        mock_reply(r, 502, "text/plain; charset=utf-8", "Bad Gateway", 11);
        return;
    }
    struct as_ctx c = {.r = r, .sb = sb};
    snprintf(c.workdir, sizeof(c.workdir), "%s", srv->workdir);
    int64_t ready_ms = srv->ready_ms;
    if (mock_sandbox_host_path(sb, "/", c.workdir, c.workdir_host, sizeof(c.workdir_host)) != 0)
        snprintf(c.workdir_host, sizeof(c.workdir_host), "%s", sb->root);
    enum as_route rt = R_NONE;
    bool path_known = false;
    for (int i = 0; i < R_NONE; i++) {
        if (strcmp(r->path, ROUTES[i].path) != 0)
            continue;
        path_known = true;
        if (strcmp(r->method, ROUTES[i].method) == 0)
            rt = (enum as_route)i;
    }
    if (rt != R_ALIVE && rt != R_INFO && !session_key_ok(r, sb)) {
        as_reply_detail(r, 403, "Invalid API Key");
        return;
    }
    switch (rt) {
    case R_ALIVE:
        mock_reply_json(r, 200, "{\"status\":\"ok\"}");
        break;
    case R_INFO:
        server_info(&c, ready_ms);
        break;
    case R_EXEC:
        as_execute_action(&c);
        break;
    case R_UPLOAD:
        as_upload_file(&c);
        break;
    case R_DOWNLOAD:
        as_download_files(&c);
        break;
    case R_LIST:
        as_list_files(&c);
        break;
    case R_VSCODE:
        mock_reply_json(r, 200, "{\"token\":null}");
        break;
    case R_MCP:
        update_mcp_server(&c);
        break;
    case R_NONE:
        as_reply_detail(r, path_known ? 405 : 404, path_known ? "Method Not Allowed" : "Not Found");
        break;
    }
}
