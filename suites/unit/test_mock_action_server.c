/* Raw-HTTP tests of the OpenHands action-server mock (mocks/action_server*.c) against
 * spec/openhands-action-server.md: each test starts the Daytona mock in-process, creates a
 * sandbox, starts the server the way OpenHands does (a session exec of its command line) and
 * talks to it through the data plane (Host 4444-<id>.localhost) with libcurl easy: the
 * observation JSON, message and suffix texts, truncation, timeouts, file endpoints, the
 * session key and the error statuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "buf.h"
#include "mock_daytona_http.h"
#include "mock_int.h"
#include "zipwrite.h"

static int setup(void **state)
{
    start_mock_fast(state);
    sandbox_with_server(*state, "{\"public\":true}");
    return 0;
}

/* A request to the action server. */
static long as(struct fx *f, const char *method, const char *path, const char *json)
{
    return send_req(f, method, path, json, false, f->host, NULL, NULL);
}

/* POST /execute_action with the action as OpenHands serialises a CmdRunAction. */
static long run(struct fx *f, const char *cmd, double timeout, bool blocking)
{
    cJSON *root = cJSON_CreateObject(), *a = cmd_run_action(cmd, blocking);
    cJSON_AddItemToObject(root, "action", a);
    cJSON_AddNumberToObject(a, "timeout", timeout);
    char *s = cJSON_PrintUnformatted(root);
    long st = as(f, "POST", "/execute_action", s);
    cJSON_free(s);
    cJSON_Delete(root);
    return st;
}

static long file_action(struct fx *f, const char *type, const char *path, const char *content)
{
    cJSON *root = cJSON_CreateObject(), *a = cJSON_AddObjectToObject(root, "action");
    cJSON_AddStringToObject(a, "action", type);
    cJSON *args = cJSON_AddObjectToObject(a, "args");
    cJSON_AddStringToObject(args, "path", path);
    if (content)
        cJSON_AddStringToObject(args, "content", content);
    cJSON_AddNumberToObject(a, "timeout", 120.0);
    char *s = cJSON_PrintUnformatted(root);
    long st = as(f, "POST", "/execute_action", s);
    cJSON_free(s);
    cJSON_Delete(root);
    return st;
}

static const cJSON *meta(struct fx *f)
{
    return cJSON_GetObjectItem(cJSON_GetObjectItem(f->json, "extras"), "metadata");
}

static int meta_exit(struct fx *f)
{
    return cJSON_GetObjectItem(meta(f), "exit_code")->valueint;
}

static const char TEMPLATE[] =
    "You may wait longer to see additional output by sending empty command '', send other "
    "commands to interact with the current process, send keys (\"C-c\", \"C-z\", \"C-d\") to "
    "interrupt/kill the previous command before sending your new command, or use the timeout "
    "parameter in execute_bash for future commands.";

/* The sandbox root on the host, to look at what the server wrote. */
static void host_path(struct fx *f, const char *guest, char *out, size_t len)
{
    struct mock_sandbox *sb = mock_store_get(mock_store_of(f->m), f->id);
    assert_non_null(sb);
    assert_int_equal(mock_sandbox_host_path(sb, "/", guest, out, len), 0);
    mock_store_put(mock_store_of(f->m), sb);
}

/* --- routing, readiness, auth --------------------------------------------------------------- */

/* mock_host_target accepts "<port>-<id>.localhost[:p]" and nothing else. */
static void test_as_host_target(void **state)
{
    (void)state;
    unsigned port;
    char id[64];
    assert_true(mock_host_target("4444-abc-def.localhost:1234", &port, id, sizeof(id)));
    assert_int_equal(port, 4444);
    assert_string_equal(id, "abc-def");
    assert_true(mock_host_target("3000-x.localhost", &port, id, sizeof(id)));
    assert_int_equal(port, 3000);
    assert_false(mock_host_target("127.0.0.1:80", &port, id, sizeof(id)));
    assert_false(mock_host_target("4444-x.example.com", &port, id, sizeof(id)));
    assert_false(mock_host_target("x-abc.localhost", &port, id, sizeof(id)));
    assert_false(mock_host_target("99999-abc.localhost", &port, id, sizeof(id)));
    assert_false(mock_host_target("4444-.localhost", &port, id, sizeof(id)));
    assert_false(mock_host_target("4444-abc.localhost:12x", &port, id, sizeof(id)));
    assert_false(mock_host_target("", &port, id, sizeof(id)));
}

/* 502 until the command line was run, then until the server is up; never with the fault. */
static void test_as_502_until_ready(void **state)
{
    struct fx *f = *state;
    snprintf(f->id, sizeof(f->id), "%s", create(f, "{\"public\":true}"));
    snprintf(f->host, sizeof(f->host), "4444-%s.localhost:%u", f->id, sp_mock_port(f->m));
    assert_int_equal(as(f, "GET", "/alive", NULL), 502);
    start_server(f, f->id, OPENHANDS_CMD);
    assert_int_equal(wait_alive(f, f->host, NULL), 200);
    assert_jstr(f->json, "status", "ok");
    /* A command line that is not the server's runs in the session shell, nothing listens. */
    snprintf(f->host, sizeof(f->host), "5555-%s.localhost:%u", f->id, sp_mock_port(f->m));
    assert_int_equal(as(f, "GET", "/alive", NULL), 502);

    sp_mock_inject(f->m, SP_MOCK_FAULT_NEVER_ALIVE, 1);
    snprintf(f->id, sizeof(f->id), "%s", create(f, "{\"public\":true}"));
    start_server(f, f->id, OPENHANDS_CMD);
    for (int i = 0; i < 20; i++) { /* well past the 50 ms server delay */
        assert_int_equal(as(f, "GET", "/alive", NULL), 502);
        nap_ms(10);
    }
}

/* The claim parses port and --working-dir; other command lines are not claimed. */
static void test_as_claim(void **state)
{
    struct fx *f = *state;
    struct mock_sandbox *sb = mock_store_get(mock_store_of(f->m), f->id);
    assert_false(mock_action_server_claim(f->m, sb, "echo hello"));
    assert_false(mock_action_server_claim(f->m, sb,
                                          "python -m openhands.runtime.action_execution_"
                                          "server 5555 --plugins jupyter"));
    assert_true(mock_action_server_claim(
        f->m, sb,
        "sudo bash -c 'cd /openhands/code && python -u -m "
        "openhands.runtime.action_execution_server 5555 --working-dir /w2'"));
    mock_store_put(mock_store_of(f->m), sb);
    snprintf(f->host, sizeof(f->host), "5555-%s.localhost:%u", f->id, sp_mock_port(f->m));
    assert_int_equal(wait_alive(f, f->host, NULL), 200);
    assert_int_equal(file_action(f, "write", "/w2/x.txt", "x"), 200);
    assert_int_equal(as(f, "POST", "/list_files", "{}"), 200); /* lists --working-dir */
    assert_int_equal(cJSON_GetArraySize(f->json), 1);
    assert_string_equal(cJSON_GetArrayItem(f->json, 0)->valuestring, "x.txt");
}

/* SESSION_API_KEY in the sandbox env: every route but /alive and /server_info wants it. */
static void test_as_session_key(void **state)
{
    struct fx *f = *state;
    sandbox_with_server(f, "{\"public\":true,\"env\":{\"SESSION_API_KEY\":\"s3cret\"}}");
    assert_int_equal(as(f, "GET", "/server_info", NULL), 200);
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(f->json, "uptime")));
    assert_int_equal(as(f, "POST", "/list_files", "{}"), 403);
    assert_jstr(f->json, "detail", "Invalid API Key");
    assert_int_equal(
        send_req(f, "POST", "/list_files", "{}", false, f->host, NULL, "X-Session-API-Key: wrong"),
        403);
    assert_int_equal(
        send_req(f, "POST", "/list_files", "{}", false, f->host, NULL, "X-Session-API-Key: s3cret"),
        200);
    assert_int_equal(as(f, "GET", "/nope", NULL), 403); /* the middleware runs first */
}

/* Unknown paths 404, wrong methods 405, FastAPI's {"detail"} body. */
static void test_as_routes(void **state)
{
    struct fx *f = *state;
    assert_int_equal(as(f, "GET", "/nope", NULL), 404);
    assert_jstr(f->json, "detail", "Not Found");
    assert_int_equal(as(f, "GET", "/execute_action", NULL), 405);
    assert_jstr(f->json, "detail", "Method Not Allowed");
    assert_int_equal(as(f, "GET", "/vscode/connection_token", NULL), 200);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(f->json, "token")));
    assert_int_equal(as(f, "POST", "/update_mcp_server", "[]"), 200);
    assert_jstr(f->json, "detail", "MCP server updated successfully");
    assert_int_equal(as(f, "POST", "/update_mcp_server", "{}"), 400);
}

/* --- run -------------------------------------------------------------------------------------- */

/* The CmdOutputObservation of a completed command, key by key (spec 3.4 example A). */
static void test_as_run_observation(void **state)
{
    struct fx *f = *state;
    assert_int_equal(run(f, "echo hello", 120.0, false), 200);
    assert_non_null(strstr(rsp_header(&f->r, "Content-Type"), "application/json"));
    assert_jstr(f->json, "observation", "run");
    assert_jstr(f->json, "message", "Command `echo hello` executed with exit code 0.");
    assert_jstr(f->json, "content", "hello");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(f->json, "success")));
    const cJSON *ex = cJSON_GetObjectItem(f->json, "extras");
    assert_jstr(ex, "command", "echo hello");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(ex, "hidden")));
    assert_int_equal(meta_exit(f), 0);
    assert_int_equal(cJSON_GetObjectItem(meta(f), "pid")->valueint, -1);
    assert_jstr(meta(f), "working_dir", "/workspace");
    assert_jstr(meta(f), "username", "openhands");
    assert_non_null(jstr(meta(f), "hostname"));
    assert_non_null(jstr(meta(f), "py_interpreter_path"));
    assert_jstr(meta(f), "prefix", "");
    assert_jstr(meta(f), "suffix", "\n[The command completed with exit code 0.]");
    /* The observation has exactly the envelope keys. */
    assert_int_equal(cJSON_GetArraySize(f->json), 5);
}

/* One bash session: cwd and exports persist; exit codes and stderr come back merged. */
static void test_as_run_state_and_exit_codes(void **state)
{
    struct fx *f = *state;
    assert_int_equal(run(f, "mkdir -p sub && cd sub && export V=7", 120.0, false), 200);
    assert_jstr(meta(f), "working_dir", "/workspace/sub");
    assert_int_equal(run(f, "echo $V; echo err >&2", 120.0, false), 200);
    assert_jstr(f->json, "content", "7\nerr");
    assert_jstr(meta(f), "working_dir", "/workspace/sub");
    assert_int_equal(run(f, "sh -c 'exit 42'", 120.0, false), 200);
    assert_int_equal(meta_exit(f), 42);
    assert_jstr(f->json, "message", "Command `sh -c 'exit 42'` executed with exit code 42.");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(f->json, "success")));
    assert_int_equal(run(f, "nonexistent_command_xyz", 120.0, false), 200);
    assert_int_equal(meta_exit(f), 127);
    assert_non_null(strstr(jstr(f->json, "content"), "not found"));
}

/* Hard timeout: exit -1, default metadata, the exact suffix with the float; the session
 * still works afterwards. */
static void test_as_run_timeout(void **state)
{
    struct fx *f = *state;
    char want[600];
    assert_int_equal(run(f, "echo started; sleep 10", 1.0, true), 200);
    assert_int_equal(meta_exit(f), -1);
    assert_jstr(f->json, "content", "started");
    snprintf(want, sizeof(want), "\n[The command timed out after 1.0 seconds. %s]", TEMPLATE);
    assert_jstr(meta(f), "suffix", want);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(meta(f), "username")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(meta(f), "working_dir")));
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(f->json, "success")));
    /* The command keeps running (bash.py:548-589): a new one is not executed. */
    assert_int_equal(run(f, "sleep 10", 0.5, true), 200);
    snprintf(want, sizeof(want),
             "\n[Your command \"sleep 10\" is NOT executed. The previous command is still "
             "running - You CANNOT send new commands until the previous command is completed. "
             "By setting `is_input` to `true`, you can interact with the current process: %s]",
             TEMPLATE);
    assert_jstr(meta(f), "suffix", want);
    assert_jstr(meta(f), "prefix", "[Below is the output of the previous command.]\n");
    assert_int_equal(meta_exit(f), -1);
    /* C-c ends it: exit 130, the key's suffix, the terminal's ^C */
    assert_int_equal(as(f, "POST", "/execute_action",
                        "{\"action\":{\"action\":\"run\",\"args\":{\"command\":\"C-c\","
                        "\"is_input\":true},\"timeout\":10}}"),
                     200);
    assert_int_equal(meta_exit(f), 130);
    assert_jstr(f->json, "content", "^C");
    assert_jstr(meta(f), "suffix",
                "\n[The command completed with exit code 130. CTRL+C was sent.]");
    assert_int_equal(run(f, "echo ok", 120.0, false), 200);
    assert_jstr(f->json, "content", "ok");
}

/* Without `blocking`, NO_CHANGE_TIMEOUT_SECONDS (from the sandbox env) comes first. */
static void test_as_run_soft_timeout(void **state)
{
    struct fx *f = *state;
    char want[600];
    sandbox_with_server(f, "{\"public\":true,\"env\":{\"NO_CHANGE_TIMEOUT_SECONDS\":\"1\"}}");
    assert_int_equal(run(f, "sleep 10", 30.0, false), 200);
    assert_int_equal(meta_exit(f), -1);
    snprintf(want, sizeof(want), "\n[The command has no new output after 1 seconds. %s]", TEMPLATE);
    assert_jstr(meta(f), "suffix", want);
}

/* More than 30 000 characters: first and last 15 000 around the marker. */
static void test_as_run_truncation(void **state)
{
    struct fx *f = *state;
    static const char MARK[] = "\n[... Observation truncated due to length ...]\n";
    assert_int_equal(
        run(f, "printf 'S'; head -c 40000 /dev/zero | tr '\\0' a; printf 'E'", 120.0, false), 200);
    const char *c = jstr(f->json, "content");
    assert_int_equal(strlen(c), 30000 + strlen(MARK));
    assert_int_equal(c[0], 'S');
    assert_int_equal(c[strlen(c) - 1], 'E');
    assert_memory_equal(c + 15000, MARK, strlen(MARK));
    /* 29 999 characters are left alone */
    assert_int_equal(run(f, "head -c 29999 /dev/zero | tr '\\0' b", 120.0, false), 200);
    assert_int_equal(strlen(jstr(f->json, "content")), 29999);
}

/* '' with nothing running, is_input with nothing running. */
static void test_as_run_without_process(void **state)
{
    struct fx *f = *state;
    assert_int_equal(run(f, "", 120.0, false), 200);
    assert_jstr(f->json, "content", "ERROR: No previous running command to retrieve logs from.");
    assert_int_equal(meta_exit(f), -1);
    assert_jstr(cJSON_GetObjectItem(f->json, "extras"), "command", "");
    assert_int_equal(as(f, "POST", "/execute_action",
                        "{\"action\":{\"action\":\"run\",\"args\":{\"command\":\"y\",\"is_input\":"
                        "true}}}"),
                     200);
    assert_jstr(f->json, "content", "ERROR: No previous running command to interact with.");
}

/* --- decoding errors ------------------------------------------------------------------------ */

/* 422 for a body without `action`, 500 "Internal server error: ..." for malformed actions. */
static void test_as_malformed_requests(void **state)
{
    struct fx *f = *state;
    assert_int_equal(as(f, "POST", "/execute_action", "{\"foo\":1}"), 422);
    assert_jstr(f->json, "detail", "Invalid request parameters");
    assert_non_null(strstr(jstr(f->json, "errors"), "'loc': ('body', 'action')"));
    assert_non_null(strstr(jstr(f->json, "errors"), "'input': {'foo': 1}"));
    assert_int_equal(as(f, "POST", "/execute_action", "not json"), 422);
    assert_non_null(strstr(jstr(f->json, "errors"), "json_invalid"));
    assert_int_equal(as(f, "POST", "/execute_action", "{\"action\":\"run\"}"), 422);
    assert_int_equal(as(f, "POST", "/execute_action",
                        "{\"action\":{\"action\":\"run\",\"args\":{\"cmd\":\"x\"}}}"),
                     500);
    assert_jstr(f->json, "detail",
                "Internal server error: action={'action': 'run', 'args': {'cmd': 'x'}} has the "
                "wrong arguments: CmdRunAction.__init__() got an unexpected keyword argument "
                "'cmd'");
    assert_int_equal(as(f, "POST", "/execute_action", "{\"action\":{\"action\":\"write\"}}"), 500);
    assert_non_null(strstr(jstr(f->json, "detail"),
                           "missing 2 required positional arguments: 'path' and 'content'"));
    assert_int_equal(as(f, "POST", "/execute_action", "{\"action\":{\"args\":{}}}"), 500);
    /* event_from_dict (serialization/event.py:52-59) decides before action_from_dict */
    assert_jstr(f->json, "detail", "Internal server error: Unknown event type: {'args': {}}");
    assert_int_equal(
        as(f, "POST", "/execute_action", "{\"action\":{\"observation\":\"run\",\"content\":\"\"}}"),
        500);
    assert_jstr(f->json, "detail", "Internal server error: 400: Invalid action type");
    assert_int_equal(as(f, "POST", "/execute_action", "{\"action\":{\"action\":\"dance\"}}"), 500);
    assert_non_null(strstr(jstr(f->json, "detail"),
                           "'action['action']='dance'' is not defined. Available actions: "
                           "dict_keys([<ActionType.NULL: 'null'>, <ActionType.RUN: 'run'>, "));
    assert_int_equal(as(f, "POST", "/execute_action", "{\"action\":{\"action\":\"think\"}}"), 500);
    assert_jstr(f->json, "detail",
                "Internal server error: 'ActionExecutor' object has no attribute 'think'");
    assert_int_equal(as(f, "POST", "/execute_action",
                        "{\"action\":{\"action\":\"browse\",\"args\":{\"url\":\"x\"}}}"),
                     200);
    assert_jstr(f->json, "observation", "error");
    assert_jstr(f->json, "content", "Browser functionality is not supported or disabled.");
    /* Legacy keys are dropped, not refused. */
    assert_int_equal(as(f, "POST", "/execute_action",
                        "{\"action\":{\"action\":\"run\",\"args\":{\"command\":\"true\","
                        "\"keep_prompt\":false}}}"),
                     200);
    assert_int_equal(meta_exit(f), 0);
}

/* --- files ---------------------------------------------------------------------------------- */

/* write adds the trailing newline and answers the absolute path; read gives it back; missing
 * files and directories are ErrorObservations with the server's texts. */
static void test_as_write_read(void **state)
{
    struct fx *f = *state;
    assert_int_equal(file_action(f, "write", "hello.sh", "echo \"Hello, World!\""), 200);
    assert_jstr(f->json, "observation", "write");
    assert_jstr(f->json, "message", "I wrote to the file /workspace/hello.sh.");
    assert_jstr(f->json, "content", "");
    assert_jstr(cJSON_GetObjectItem(f->json, "extras"), "path", "/workspace/hello.sh");
    assert_int_equal(file_action(f, "read", "hello.sh", NULL), 200);
    assert_jstr(f->json, "observation", "read");
    assert_jstr(f->json, "message", "I read the file /workspace/hello.sh.");
    assert_jstr(f->json, "content", "echo \"Hello, World!\"\n");
    assert_jstr(cJSON_GetObjectItem(f->json, "extras"), "impl_source", "default");
    char host[1024];
    struct stat st;
    host_path(f, "/workspace/hello.sh", host, sizeof(host));
    assert_int_equal(stat(host, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0664);
    /* relative paths follow the bash cwd */
    assert_int_equal(run(f, "mkdir -p d && cd d", 120.0, false), 200);
    assert_int_equal(file_action(f, "write", "deep/x.txt", "a\nb"), 200);
    assert_jstr(cJSON_GetObjectItem(f->json, "extras"), "path", "/workspace/d/deep/x.txt");
    assert_int_equal(as(f, "POST", "/execute_action",
                        "{\"action\":{\"action\":\"read\",\"args\":{\"path\":\"deep/x.txt\","
                        "\"start\":1,\"end\":-1}}}"),
                     200);
    assert_jstr(f->json, "content", "b\n");
    assert_int_equal(file_action(f, "read", "/workspace/nope.txt", NULL), 200);
    assert_jstr(f->json, "observation", "error");
    assert_jstr(f->json, "content",
                "File not found: /workspace/nope.txt. Your current working "
                "directory is /workspace/d.");
    assert_jstr(f->json, "message", jstr(f->json, "content"));
    assert_jstr(cJSON_GetObjectItem(f->json, "extras"), "error_id", "");
    assert_int_equal(file_action(f, "read", "/workspace/d", NULL), 200);
    assert_jstr(f->json, "content", "Path is a directory: /workspace/d. You can only read files");
}

/* list_files: directories first with '/', each group case-insensitive; missing path: []. */
static void test_as_list_files(void **state)
{
    struct fx *f = *state;
    assert_int_equal(run(f, "mkdir -p zdir Adir && touch B.txt a.txt .hidden", 120.0, false), 200);
    assert_int_equal(as(f, "POST", "/list_files", "{\"path\":\"/workspace\"}"), 200);
    const char *want[] = {"Adir/", "zdir/", ".hidden", "a.txt", "B.txt"};
    assert_int_equal(cJSON_GetArraySize(f->json), 5);
    for (int i = 0; i < 5; i++)
        assert_string_equal(cJSON_GetArrayItem(f->json, i)->valuestring, want[i]);
    assert_int_equal(as(f, "POST", "/list_files", "{\"path\":\"zdir\"}"), 200);
    assert_int_equal(cJSON_GetArraySize(f->json), 0);
    assert_int_equal(as(f, "POST", "/list_files", "{\"path\":\"/nope\"}"), 200);
    assert_true(cJSON_IsArray(f->json));
    assert_int_equal(cJSON_GetArraySize(f->json), 0);
    assert_int_equal(as(f, "POST", "/list_files", "{\"path\":\"a.txt\"}"), 200);
    assert_int_equal(cJSON_GetArraySize(f->json), 0);
    assert_int_equal(as(f, "POST", "/list_files", "nope"), 500);
    assert_jstr(f->json, "detail", "An unexpected error occurred. Please try again later.");
}

static long
upload(struct fx *f, const char *query, const char *filename, const void *data, size_t len)
{
    char path[512];
    CURL *c = curl_easy_init();
    curl_mime *mime = mime_one_file(c, filename, data, len);
    snprintf(path, sizeof(path), "/upload_file%s", query);
    long st = send_req(f, "POST", path, NULL, false, f->host, mime, NULL);
    curl_mime_free(mime);
    curl_easy_cleanup(c);
    return st;
}

/* upload_file: a single file, a zip of a directory (recursive), the two 400-as-500 checks. */
static void test_as_upload_download(void **state)
{
    struct fx *f = *state;
    assert_int_equal(
        upload(f, "?destination=%2Fworkspace%2Fin&recursive=false", "t.txt", "data", 4), 200);
    assert_jstr(f->json, "filename", "t.txt");
    assert_jstr(f->json, "destination", "/workspace/in");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(f->json, "recursive")));
    assert_int_equal(file_action(f, "read", "/workspace/in/t.txt", NULL), 200);
    assert_jstr(f->json, "content", "data");

    /* a directory zipped as the client does: names relative to its parent */
    char tmp[] = "/tmp/sp-as-XXXXXX", p[600];
    assert_non_null(mkdtemp(tmp));
    struct sp_buf zip;
    sp_buf_init(&zip, 0);
    char src[600];
    snprintf(src, sizeof(src), "%s", tmp);
    snprintf(p, sizeof(p), "%s/proj", tmp);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/proj/sub", tmp);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/proj/sub/f.txt", tmp);
    FILE *fp = fopen(p, "w");
    assert_non_null(fp);
    fputs("zipped\n", fp);
    fclose(fp);
    assert_int_equal(mock_zip_dir(src, &zip), 0);
    assert_int_equal(
        upload(f, "?destination=%2Fworkspace&recursive=true", "tmp1234.zip", zip.data, zip.len),
        200);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(f->json, "recursive")));
    sp_buf_cleanup(&zip);
    assert_int_equal(file_action(f, "read", "/workspace/proj/sub/f.txt", NULL), 200);
    assert_jstr(f->json, "content", "zipped\n");
    char host[1024];
    host_path(f, "/workspace/tmp1234.zip", host, sizeof(host));
    assert_int_not_equal(access(host, F_OK), 0); /* the archive is deleted after unpacking */

    assert_int_equal(upload(f, "?destination=workspace", "t.txt", "x", 1), 500);
    assert_jstr(f->json, "detail", "400: Destination must be an absolute path");
    assert_int_equal(upload(f, "?destination=%2Fworkspace&recursive=true", "t.txt", "x", 1), 500);
    assert_jstr(f->json, "detail", "400: Recursive uploads must be zip files");
    assert_int_equal(as(f, "POST", "/upload_file?destination=%2Fworkspace", "{}"), 422);
    snprintf(p, sizeof(p), "rm -rf '%s'", tmp);
    assert_int_equal(system(p), 0);
}

/* download_files: a zip of the directory whose names are relative to it; a file path gives
 * an empty zip; the two errors are 500s with the server's texts. */
static void test_as_download(void **state)
{
    struct fx *f = *state;
    char tmp[] = "/tmp/sp-as-XXXXXX", p[600];
    assert_non_null(mkdtemp(tmp));
    assert_int_equal(run(f, "mkdir -p proj/sub && echo zipped > proj/sub/f.txt", 120.0, false),
                     200);
    assert_int_equal(as(f, "GET", "/download_files?path=/workspace/proj", NULL), 200);
    assert_string_equal(rsp_header(&f->r, "Content-Type"), "application/zip");
    assert_string_equal(rsp_header(&f->r, "Content-Disposition"),
                        "attachment; filename=\"proj.zip\"");
    char out[400], why[128];
    snprintf(out, sizeof(out), "%s/out", tmp);
    mkdir(out, 0755);
    assert_int_equal(
        mock_zip_extract(f->r.body.data, f->r.body.len, out, 1 << 20, why, sizeof(why)), 0);
    snprintf(p, sizeof(p), "%s/sub/f.txt", out);
    FILE *fp = fopen(p, "r");
    assert_non_null(fp);
    char line[64] = "";
    assert_non_null(fgets(line, sizeof(line), fp));
    fclose(fp);
    assert_string_equal(line, "zipped\n");
    assert_int_equal(as(f, "GET", "/download_files?path=/workspace/proj/sub/f.txt", NULL), 200);
    assert_int_equal(f->r.body.len, 22); /* just the end record */
    assert_int_equal(as(f, "GET", "/download_files?path=workspace", NULL), 500);
    assert_jstr(f->json, "detail", "400: Path must be an absolute path");
    assert_int_equal(as(f, "GET", "/download_files?path=/nope", NULL), 500);
    assert_jstr(f->json, "detail", "404: File not found");
    snprintf(p, sizeof(p), "rm -rf '%s'", tmp);
    assert_int_equal(system(p), 0);
}

/* The zip writer and reader agree, and the reader refuses what would escape its directory. */
static void test_as_zip_roundtrip(void **state)
{
    (void)state;
    char tmp[] = "/tmp/sp-zip-XXXXXX", p[600], why[128];
    assert_non_null(mkdtemp(tmp));
    snprintf(p, sizeof(p), "%s/in", tmp);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/in/big.txt", tmp);
    FILE *fp = fopen(p, "w");
    for (int i = 0; i < 10000; i++)
        fprintf(fp, "line %d\n", i);
    fclose(fp);
    snprintf(p, sizeof(p), "%s/in/empty", tmp);
    fclose(fopen(p, "w"));
    struct sp_buf zip;
    sp_buf_init(&zip, 0);
    snprintf(p, sizeof(p), "%s/in", tmp);
    assert_int_equal(mock_zip_dir(p, &zip), 0);
    assert_true(zip.len < 40000); /* big.txt is deflated */
    snprintf(p, sizeof(p), "%s/out", tmp);
    mkdir(p, 0755);
    assert_int_equal(mock_zip_extract(zip.data, zip.len, p, 1 << 20, why, sizeof(why)), 0);
    snprintf(p, sizeof(p), "cmp -s '%s/in/big.txt' '%s/out/big.txt' && test -f '%s/out/empty'", tmp,
             tmp, tmp);
    assert_int_equal(system(p), 0);
    /* the size cap and a truncated archive are refused */
    snprintf(p, sizeof(p), "%s/out", tmp);
    assert_int_equal(mock_zip_extract(zip.data, zip.len, p, 100, why, sizeof(why)), -1);
    assert_int_equal(mock_zip_extract(zip.data, zip.len / 2, p, 1 << 20, why, sizeof(why)), -1);
    sp_buf_cleanup(&zip);
    snprintf(p, sizeof(p), "rm -rf '%s'", tmp);
    assert_int_equal(system(p), 0);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define B(fn) cmocka_unit_test_setup_teardown(fn, start_mock_fast, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_as_host_target),
        B(test_as_502_until_ready),
        T(test_as_claim),
        B(test_as_session_key),
        T(test_as_routes),
        T(test_as_run_observation),
        T(test_as_run_state_and_exit_codes),
        T(test_as_run_timeout),
        B(test_as_run_soft_timeout),
        T(test_as_run_truncation),
        T(test_as_run_without_process),
        T(test_as_malformed_requests),
        T(test_as_write_read),
        T(test_as_list_files),
        T(test_as_upload_download),
        T(test_as_download),
        cmocka_unit_test(test_as_zip_roundtrip),
    };
#undef T
#undef B
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
