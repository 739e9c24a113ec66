/* The synthetic backend on the vendors' wires: exactly the routes a load lifecycle uses —
 * the action server's `run`, `read` and `write` actions (Daytona action-server mode), the
 * Daytona toolbox's process/execute and files upload/download, E2B envd's process.Start and
 * /files — answered from the in-memory backend, each reply leaving after the latency model's
 * exec delay (plus any `sleep`) on a timer. Every other sandbox route answers 501 naming the
 * backend (mock_synthetic_gate), so a load run never silently touches a shell. */
#include "action_server_int.h"
#include "backend.h"
#include "daytona_int.h"
#include "e2b_int.h"
#include "multipart.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"

#define SYN_OUTPUT_CAP ((size_t)1 << 20)

/* --- which routes the synthetic backend serves ---------------------------------------------- */

static bool path_ends(const char *path, const char *suffix)
{
    size_t n = strlen(path), k = strlen(suffix);
    return n >= k && strcmp(path + n - k, suffix) == 0;
}

static bool in_list(const char *path, const char *const *list)
{
    for (size_t i = 0; list[i] != NULL; i++)
        if (strcmp(path, list[i]) == 0)
            return true;
    return false;
}

static void dt_syn_session_create(struct mock_req *r);
static void dt_syn_session_exec(struct mock_req *r);

/* Daytona's action-server mode starts the server with a session exec: the two session calls
 * are answered here (no shell behind the session), the rest of the session API is not. */
static bool dt_session_route(struct mock_req *r)
{
    if (strcmp(r->method, "POST") != 0)
        return false;
    if (path_ends(r->path, "/toolbox/process/session")) {
        dt_syn_session_create(r);
        return true;
    }
    const char *s = strstr(r->path, "/toolbox/process/session/");
    if (s != NULL && path_ends(r->path, "/exec") &&
        strchr(s + 25, '/') == r->path + strlen(r->path) - 5) {
        dt_syn_session_exec(r);
        return true;
    }
    return false;
}

bool mock_synthetic_gate(struct mock_req *r, bool data_plane)
{
    static const char *const AS_OK[] = {"/alive",       "/server_info",    "/execute_action",
                                        "/upload_file", "/download_files", NULL};
    static const char *const ENVD_OK[] = {"/health", "/files", "/envs", "/process.Process/Start",
                                          NULL};
    static const char *const TB_OK[] = {"/process/execute",   "/files/upload", "/files/download",
                                        "/files/bulk-upload", "/project-dir",  NULL};
    if (!mock_is_synthetic(r->mock))
        return false;
    const char *vendor = sp_mock_vendor(r->mock);
    bool envd_path = strcmp(r->path, "/files") == 0 || strncmp(r->path, "/process.", 9) == 0 ||
                     strncmp(r->path, "/filesystem.", 12) == 0 || strcmp(r->path, "/envs") == 0;
    bool ok = true;
    if (strcmp(vendor, "daytona") == 0 && data_plane) {
        ok = in_list(r->path, AS_OK);
    } else if (strcmp(vendor, "daytona") == 0 && strstr(r->path, "/toolbox/") != NULL) {
        if (dt_session_route(r))
            return true;
        ok = false;
        for (size_t i = 0; TB_OK[i] != NULL && !ok; i++)
            ok = path_ends(r->path, TB_OK[i]);
    } else if (strcmp(vendor, "e2b") == 0 && (data_plane || envd_path)) {
        ok = in_list(r->path, ENVD_OK);
    }
    if (!ok)
        mock_backend_unsupported(r);
    return !ok;
}

/* The normalised sandbox path of an absolute path. */
static int guest_of(struct mock_sandbox *sb, const char *path, char *out, size_t len)
{
    char host[PATH_MAX];
    if (mock_sandbox_host_path(sb, "/", path, host, sizeof(host)) != 0)
        return -1;
    mock_sandbox_guest_path(sb, host, out, len);
    return 0;
}

/* The reply leaves after the exec delay and whatever the command slept. */
static void exec_delay(struct mock_req *r, int64_t slept_us)
{
    mock_reply_after(r, mock_store_delay_us(mock_store_of(r->mock), MOCK_DELAY_EXEC) + slept_us);
}

static int syn_run(struct mock_sandbox *sb,
                   const char *cwd,
                   const char *cmd,
                   long timeout_ms,
                   bool merge,
                   struct mock_run_result *res,
                   char *why,
                   size_t whylen)
{
    return mock_backend_synthetic.run(sb, cwd, cmd, timeout_ms, merge, res, why, whylen);
}

/* --- the action server ---------------------------------------------------------------------- */

static cJSON *run_observation(struct as_ctx *c, const char *cmd, const struct mock_run_result *res)
{
    int code = res->timed_out ? -1 : res->exit_code;
    char msg[600], suffix[96];
    snprintf(msg, sizeof(msg), "Command `%.500s` executed with exit code %d.", cmd, code);
    snprintf(suffix, sizeof(suffix), "\n[The command completed with exit code %d.]", code);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "message", msg);
    cJSON_AddStringToObject(o, "observation", "run");
    struct sp_buf out = res->out;
    while (out.len > 0 && (out.data[out.len - 1] == '\n' || out.data[out.len - 1] == ' '))
        out.len--; /* the server strips trailing whitespace */
    char *content = strndup(out.data ? out.data : "", out.len);
    cJSON_AddStringToObject(o, "content", content ? content : "");
    free(content);
    cJSON *extras = cJSON_AddObjectToObject(o, "extras");
    cJSON_AddStringToObject(extras, "command", cmd);
    cJSON *meta = cJSON_AddObjectToObject(extras, "metadata");
    cJSON_AddNumberToObject(meta, "exit_code", code);
    cJSON_AddNumberToObject(meta, "pid", -1);
    cJSON_AddStringToObject(meta, "username", "openhands");
    cJSON_AddStringToObject(meta, "hostname", c->sb->id);
    cJSON_AddStringToObject(meta, "working_dir", c->workdir);
    cJSON_AddNullToObject(meta, "py_interpreter_path");
    cJSON_AddStringToObject(meta, "prefix", "");
    cJSON_AddStringToObject(meta, "suffix", res->timed_out ? "" : suffix);
    cJSON_AddBoolToObject(extras, "hidden", false);
    cJSON_AddBoolToObject(o, "success", code == 0);
    return o;
}

static const char *arg_str(const cJSON *args, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void as_syn_run(struct as_ctx *c, const cJSON *action, const cJSON *args)
{
    const char *cmd = arg_str(args, "command");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(action, "timeout");
    long timeout_ms = cJSON_IsNumber(t) && t->valuedouble > 0 ? (long)(t->valuedouble * 1000) : 0;
    struct mock_run_result res;
    char why[256];
    mock_run_result_init(&res, SYN_OUTPUT_CAP);
    if (syn_run(c->sb, c->workdir, cmd ? cmd : "", timeout_ms, true, &res, why, sizeof(why)) != 0)
        mock_reply_cjson(c->r, 200, as_error_observation(why));
    else
        mock_reply_cjson(c->r, 200, run_observation(c, cmd ? cmd : "", &res));
    exec_delay(c->r, res.sleep_us);
    mock_run_result_cleanup(&res);
}

static void as_syn_read(struct as_ctx *c, const cJSON *args)
{
    const char *path = arg_str(args, "path");
    char abs[PATH_MAX];
    struct sp_buf data;
    sp_buf_init(&data, SYN_OUTPUT_CAP);
    snprintf(abs, sizeof(abs), "%s%s%s", path && path[0] == '/' ? "" : c->workdir,
             path && path[0] == '/' ? "" : "/", path ? path : "");
    if (mock_backend_synthetic.read_file(c->sb, c->workdir, path ? path : "", &data) != 0) {
        char msg[2 * PATH_MAX];
        snprintf(msg, sizeof(msg), "File not found: %s. Your current working directory is %s.", abs,
                 c->workdir);
        mock_reply_cjson(c->r, 200, as_error_observation(msg));
    } else {
        char msg[PATH_MAX + 32];
        snprintf(msg, sizeof(msg), "I read the file %s.", abs);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "message", msg);
        cJSON_AddStringToObject(o, "observation", "read");
        cJSON_AddStringToObject(o, "content", sp_buf_str(&data));
        cJSON *extras = cJSON_AddObjectToObject(o, "extras");
        cJSON_AddStringToObject(extras, "path", abs);
        cJSON_AddStringToObject(extras, "impl_source", "default");
        mock_reply_cjson(c->r, 200, o);
    }
    sp_buf_cleanup(&data);
    exec_delay(c->r, 0);
}

static void as_syn_write(struct as_ctx *c, const cJSON *args)
{
    const char *path = arg_str(args, "path"), *content = arg_str(args, "content");
    char abs[PATH_MAX], msg[PATH_MAX + 64];
    snprintf(abs, sizeof(abs), "%s%s%s", path && path[0] == '/' ? "" : c->workdir,
             path && path[0] == '/' ? "" : "/", path ? path : "");
    struct sp_buf text;
    sp_buf_init(&text, 0);
    sp_buf_puts(&text, content ? content : "");
    sp_buf_puts(&text, "\n"); /* the server writes each line with its newline */
    if (mock_backend_synthetic.write_file(c->sb, c->workdir, path ? path : "", sp_buf_str(&text),
                                          text.len) != 0) {
        snprintf(msg, sizeof(msg), "Malformed paths not permitted: %s", abs);
        mock_reply_cjson(c->r, 200, as_error_observation(msg));
    } else {
        snprintf(msg, sizeof(msg), "I wrote to the file %s.", abs);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "message", msg);
        cJSON_AddStringToObject(o, "observation", "write");
        cJSON_AddStringToObject(o, "content", "");
        cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "extras"), "path", abs);
        mock_reply_cjson(c->r, 200, o);
    }
    sp_buf_cleanup(&text);
    exec_delay(c->r, 0);
}

void as_synthetic_action(struct as_ctx *c, const char *type, const cJSON *action, const cJSON *args)
{
    if (strcmp(type, "run") == 0)
        as_syn_run(c, action, args);
    else if (strcmp(type, "read") == 0)
        as_syn_read(c, args);
    else if (strcmp(type, "write") == 0)
        as_syn_write(c, args);
    else
        mock_backend_unsupported(c->r);
}

const char *
as_synthetic_store(struct as_ctx *c, const char *dest, const struct mock_part *f, bool unzip)
{
    if (unzip)
        return "the mock's synthetic backend does not unpack zip uploads";
    if (mock_backend_synthetic.write_file(c->sb, dest, f->filename, f->data, f->len) != 0)
        return "[Errno 13] Permission denied";
    exec_delay(c->r, 0);
    return NULL;
}

void as_synthetic_download(struct as_ctx *c, const char *path)
{
    char guest[PATH_MAX], disp[600];
    if (guest_of(c->sb, path, guest, sizeof(guest)) != 0) {
        as_reply_detail(c->r, 500, "404: File not found");
        return;
    }
    struct sp_buf zip;
    sp_buf_init(&zip, (size_t)64 << 20);
    if (mock_synthetic_zip_dir(c->sb, guest, &zip) != 0) {
        as_reply_detail(c->r, 500, "archive too large");
    } else {
        const char *base = strrchr(guest, '/') + 1;
        snprintf(disp, sizeof(disp), "attachment; filename=\"%.500s.zip\"", base);
        mock_reply_header(c->r, "Content-Disposition", disp);
        mock_reply(c->r, 200, "application/zip", zip.data, zip.len);
        exec_delay(c->r, 0);
    }
    sp_buf_cleanup(&zip);
}

/* --- the Daytona toolbox -------------------------------------------------------------------- */

/* The daemon execs the command without a shell, so clients send `sh -c "echo '<base64>' |
 * base64 -d | sh"` (sandprobe, the SDKs): the command line is the decoded base64. Anything
 * else is interpreted as it is. */
static void toolbox_command_line(const char *command, struct sp_buf *out)
{
    static const char HEAD[] = "sh -c \"echo '", TAIL[] = "' | base64 -d | sh\"";
    size_t n = strlen(command), h = sizeof(HEAD) - 1, t = sizeof(TAIL) - 1;
    if (n > h + t && strncmp(command, HEAD, h) == 0 && strcmp(command + n - t, TAIL) == 0 &&
        sp_base64_decode(command + h, n - h - t, out) == 0)
        return;
    sp_buf_reset(out);
    sp_buf_puts(out, command);
}

void dt_synthetic_execute(struct mock_req *r,
                          struct mock_sandbox *sb,
                          const char *command,
                          const char *cwd,
                          long timeout_s)
{
    char home[128], why[256];
    dt_home_dir(r->mock, sb, home, sizeof(home));
    struct mock_run_result res;
    struct sp_buf line;
    sp_buf_init(&line, 0);
    toolbox_command_line(command, &line);
    mock_run_result_init(&res, SYN_OUTPUT_CAP);
    int rc = syn_run(sb, cwd ? cwd : home, sp_buf_str(&line), timeout_s * 1000, true, &res, why,
                     sizeof(why));
    sp_buf_cleanup(&line);
    if (rc != 0)
        dt_daemon_error(r, 400, why);
    else if (res.timed_out)
        dt_nest_error(r, 408, "Request Timeout", "command execution timeout");
    else {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "exitCode", res.exit_code);
        cJSON_AddStringToObject(o, "result", sp_buf_str(&res.out));
        dt_reply_json(r, 200, o);
    }
    exec_delay(r, res.sleep_us);
    mock_run_result_cleanup(&res);
}

void dt_synthetic_download(struct mock_req *r,
                           struct mock_sandbox *sb,
                           const char *path,
                           const char *host)
{
    char guest[PATH_MAX], disp[600];
    mock_sandbox_guest_path(sb, host, guest, sizeof(guest));
    struct sp_buf data;
    sp_buf_init(&data, 0);
    if (mock_backend_synthetic.read_file(sb, "/", guest, &data) != 0) {
        dt_path_error(r, "stat", path, ENOENT);
    } else {
        const char *slash = strrchr(guest, '/');
        snprintf(disp, sizeof(disp), "attachment; filename=%.500s", slash ? slash + 1 : guest);
        mock_reply_header(r, "Content-Disposition", disp);
        mock_reply(r, 200, "application/octet-stream", data.data, data.len);
    }
    sp_buf_cleanup(&data);
}

int dt_synthetic_save(struct mock_sandbox *sb, const char *host, const char *data, size_t len)
{
    char guest[PATH_MAX];
    mock_sandbox_guest_path(sb, host, guest, sizeof(guest));
    return mock_backend_synthetic.write_file(sb, "/", guest, data, len) == 0 ? 0 : errno;
}

static void dt_syn_session_create(struct mock_req *r)
{
    struct mock_sandbox *sb = dt_session_sandbox(r);
    if (sb == NULL)
        return;
    mock_reply_empty(r, 201);
    mock_store_put(mock_store_of(r->mock), sb);
}

static void dt_syn_session_exec(struct mock_req *r)
{
    struct mock_sandbox *sb = dt_session_sandbox(r);
    if (sb == NULL)
        return;
    struct sp_error err;
    cJSON *o = sp_json_parse(sp_buf_str(&r->body), r->body.len, "body", &err);
    const char *cmd = arg_str(o, "command");
    bool async = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "runAsync")) ||
                 cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "async"));
    if (cmd == NULL) {
        dt_daemon_error(r, 400, "invalid request body: command is required");
    } else if (mock_action_server_claim(r->mock, sb, cmd)) {
        char id[37];
        mock_random_uuid(r->mock, id);
        cJSON *rep = cJSON_CreateObject();
        cJSON_AddStringToObject(rep, "cmdId", id);
        cJSON_AddNullToObject(rep, "output");
        cJSON_AddNullToObject(rep, "exitCode");
        dt_reply_json(r, async ? 202 : 200, rep);
    } else {
        mock_backend_unsupported(r); /* only the action server runs in a synthetic session */
    }
    cJSON_Delete(o);
    mock_store_put(mock_store_of(r->mock), sb);
}

/* --- E2B envd ------------------------------------------------------------------------------- */

static void envelope(struct sp_buf *b, unsigned flags, const char *json)
{
    size_t n = strlen(json);
    unsigned char head[5] = {(unsigned char)flags, (unsigned char)(n >> 24),
                             (unsigned char)(n >> 16), (unsigned char)(n >> 8), (unsigned char)n};
    sp_buf_append(b, head, sizeof(head));
    sp_buf_append(b, json, n);
}

static void data_event(struct sp_buf *b, const char *field, const struct sp_buf *bytes)
{
    if (bytes->len == 0)
        return;
    struct sp_buf j;
    sp_buf_init(&j, 0);
    sp_buf_printf(&j, "{\"event\":{\"data\":{\"%s\":\"", field);
    sp_buf_put_base64(&j, bytes->data, bytes->len);
    sp_buf_puts(&j, "\"}}}");
    envelope(b, 0, sp_buf_str(&j));
    sp_buf_cleanup(&j);
}

void e2b_synthetic_start(struct mock_req *r,
                         struct mock_sandbox *sb,
                         const char *cwd,
                         const char *const *argv)
{
    /* The SDKs send ["/bin/bash", "-l", "-c", CMD]: the command line is the last argument. */
    size_t argc = 0;
    while (argv[argc] != NULL)
        argc++;
    const char *cmd = argc >= 3 && strcmp(argv[argc - 2], "-c") == 0 ? argv[argc - 1] : NULL;
    struct mock_run_result res;
    char why[256], json[256];
    mock_run_result_init(&res, SYN_OUTPUT_CAP);
    if (cmd == NULL || syn_run(sb, cwd, cmd, 0, false, &res, why, sizeof(why)) != 0) {
        e2b_connect_stream_error(r, "invalid_argument", "%s",
                                 cmd ? why
                                     : "the synthetic backend runs only `SHELL -c CMD` commands");
        mock_run_result_cleanup(&res);
        return;
    }
    struct sp_buf b;
    sp_buf_init(&b, 0);
    envelope(&b, 0, "{\"event\":{\"start\":{\"pid\":1}}}");
    data_event(&b, "stdout", &res.out);
    data_event(&b, "stderr", &res.err);
    if (res.exit_code != 0)
        snprintf(json, sizeof(json),
                 "{\"event\":{\"end\":{\"exitCode\":%d,\"exited\":true,\"status\":\"exit status "
                 "%d\",\"error\":\"exit status %d\"}}}",
                 res.exit_code, res.exit_code, res.exit_code);
    else
        snprintf(json, sizeof(json),
                 "{\"event\":{\"end\":{\"exited\":true,\"status\":\"exit status 0\"}}}");
    envelope(&b, 0, json);
    envelope(&b, 0x02, "{}"); /* end of stream */
    mock_reply(r, 200, "application/connect+json", b.data, b.len);
    exec_delay(r, res.sleep_us);
    sp_buf_cleanup(&b);
    mock_run_result_cleanup(&res);
}

void e2b_synthetic_file_get(struct mock_req *r, struct mock_sandbox *sb, const char *guest)
{
    struct sp_buf data;
    sp_buf_init(&data, 0);
    if (mock_backend_synthetic.read_file(sb, "/", guest, &data) != 0) {
        e2b_reply_error(r, 404, "path '%s' does not exist", guest);
    } else {
        const char *slash = strrchr(guest, '/');
        char disp[600];
        snprintf(disp, sizeof(disp), "attachment; filename=\"%.500s\"", slash ? slash + 1 : guest);
        mock_reply_header(r, "Content-Disposition", disp);
        mock_reply(r, 200, "application/octet-stream", data.data, data.len);
    }
    sp_buf_cleanup(&data);
}

int e2b_synthetic_file_put(struct mock_req *r,
                           struct mock_sandbox *sb,
                           const char *guest,
                           const char *data,
                           size_t len,
                           cJSON *out)
{
    if (mock_backend_synthetic.write_file(sb, "/", guest, data, len) != 0)
        return e2b_reply_error(r, 500, "error writing file: %s", strerror(errno)), -1;
    e2b_add_written_entry(out, guest);
    return 0;
}
