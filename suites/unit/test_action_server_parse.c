/* Unit tests of the OpenHands action-server client (providers/action_server*.c), with no
 * network: the JSON edges against the spec's examples (spec/openhands-action-server.md
 * 3.4) and broken bodies, the shell helpers, and the exec / files / alive step machines
 * driven by hand: call the step with no response, inspect the request, feed a recorded
 * response, check the result and the error class. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "action_server.h"
#include "py_zip.h"
#include "step_fixture.h"

/* Example A of spec 3.4. */
static const char obs_ok[] =
    "{\"message\": \"Command `ls -l` executed with exit code 0.\", \"observation\": \"run\","
    " \"content\": \"total 0\", \"extras\": {\"command\": \"ls -l\", \"metadata\": {\"exit_code\": "
    "0,"
    " \"pid\": -1, \"username\": \"openhands\", \"hostname\": \"d1a2b3\", \"working_dir\":"
    " \"/workspace\", \"py_interpreter_path\": \"/x/bin/python\", \"prefix\": \"\", \"suffix\":"
    " \"\\n[The command completed with exit code 0.]\"}, \"hidden\": false}, \"success\": true}";

/* Example B of spec 3.4: a hard timeout. */
static const char obs_timeout[] =
    "{\"message\": \"m\", \"observation\": \"run\", \"content\": \"1\", \"extras\": {\"command\":"
    " \"c\", \"metadata\": {\"exit_code\": -1, \"pid\": -1, \"username\": null, \"hostname\": null,"
    " \"working_dir\": null, \"py_interpreter_path\": null, \"prefix\": \"\", \"suffix\": \"\\n[The"
    " command timed out after 2.5 seconds. You may wait longer to see additional output by sending"
    " empty command '', send other commands to interact with the current process, send keys"
    " (\\\"C-c\\\", \\\"C-z\\\", \\\"C-d\\\") to interrupt/kill the previous command before sending"
    " your new command, or use the timeout parameter in execute_bash for future commands.]\"},"
    " \"hidden\": false}, \"success\": false}";

/* --- fixtures -------------------------------------------------------------------------------- */

/* A Daytona client's bench with a sandbox whose action server is at 4444-sb1.localhost:9. */
static int fx_setup(void **state)
{
    const char *env[] = {"DAYTONA_API_KEY", "test-key", NULL};
    struct sp_client_opts opts = {.alive_interval_ms = 250, .alive_timeout_ms = 9000};
    struct sp_client *c = NULL;
    struct sp_error err;
    step_fx_client("daytona", env, &opts, &c, &err);
    if (step_fx_new(state, c) != 0)
        return -1;
    struct step_fx *f = *state;
    f->sb = sp__sandbox_new(f->client);
    snprintf(f->sb->id, sizeof(f->sb->id), "sb1");
    snprintf(f->sb->data_url, sizeof(f->sb->data_url), "http://4444-sb1.localhost:9");
    snprintf(f->sb->workdir, sizeof(f->sb->workdir), "/workspace");
    sp_kv_set(&f->sb->data_headers, SP_AS_SESSION_HEADER, "sess-secret");
    return 0;
}

static enum sp_next run_step(struct step_fx *f, sp_step_fn fn, bool with_rsp)
{
    sp_http_req_reset(&f->req);
    return fn(&f->op, with_rsp ? &f->rsp : NULL, &f->req, &f->op.err);
}

/* memmem is a GNU extension; the build is plain POSIX. */
static bool contains(const void *hay, size_t n, const void *needle, size_t m)
{
    for (size_t i = 0; m <= n && i <= n - m; i++) {
        if (memcmp((const char *)hay + i, needle, m) == 0)
            return true;
    }
    return false;
}

static const char *jstr(const cJSON *o, const char *path)
{
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", path);
    const cJSON *cur = o;
    for (char *tok = buf, *dot; tok; tok = dot ? dot + 1 : NULL) {
        dot = strchr(tok, '.');
        if (dot)
            *dot = '\0';
        cur = cJSON_GetObjectItemCaseSensitive(cur, tok);
    }
    return cJSON_IsString(cur) ? cur->valuestring : NULL;
}

/* --- the wire format ------------------------------------------------------------------------- */

static void test_build_run(void **state)
{
    (void)state;
    struct sp_buf out;
    struct sp_error err;
    sp_buf_init(&out, 0);
    assert_int_equal(sp_as_build_run("ls -l", NULL, 2500, &out, &err), SP_E_OK);
    cJSON *j = cJSON_Parse(sp_buf_str(&out));
    assert_non_null(j);
    const cJSON *action = cJSON_GetObjectItemCaseSensitive(j, "action");
    assert_string_equal(jstr(action, "action"), "run");
    assert_string_equal(jstr(action, "message"), "Running command: ls -l");
    assert_true(cJSON_GetObjectItemCaseSensitive(action, "timeout")->valuedouble == 2.5);
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(action, "args");
    assert_string_equal(jstr(args, "command"), "ls -l");
    /* OpenHands' own default: not blocking, so the soft timeout applies */
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(args, "blocking")));
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(args, "is_input")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(args, "cwd")));
    assert_string_equal(jstr(args, "confirmation_state"), "confirmed");
    /* Exactly CmdRunAction's fields: the server rejects unknown ones (spec 3.2). */
    assert_int_equal(cJSON_GetArraySize(args), 9);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(args, "is_static")));
    cJSON_Delete(j);
    /* A cwd: an is_static run there. */
    assert_int_equal(sp_as_build_run("ls", "/tmp/x", 1000, &out, &err), SP_E_OK);
    j = cJSON_Parse(sp_buf_str(&out));
    assert_string_equal(jstr(j, "action.args.cwd"), "/tmp/x");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "action"), "args"),
        "is_static")));
    cJSON_Delete(j);
    /* The key sent after a timed-out command: typed into it (is_input), never blocking. */
    assert_int_equal(sp_as_build_key("C-c", 10000, &out, &err), SP_E_OK);
    j = cJSON_Parse(sp_buf_str(&out));
    assert_string_equal(jstr(j, "action.args.command"), "C-c");
    args = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "action"), "args");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(args, "is_input")));
    assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(args, "blocking")));
    assert_int_equal(cJSON_GetArraySize(args), 9);
    cJSON_Delete(j);
    sp_buf_cleanup(&out);
}

static void test_build_read_write(void **state)
{
    (void)state;
    struct sp_buf out;
    struct sp_error err;
    sp_buf_init(&out, 0);
    assert_int_equal(sp_as_build_read("/workspace/a", &out, &err), SP_E_OK);
    cJSON *j = cJSON_Parse(sp_buf_str(&out));
    assert_string_equal(jstr(j, "action.action"), "read");
    assert_string_equal(jstr(j, "action.args.path"), "/workspace/a");
    assert_string_equal(jstr(j, "action.args.impl_source"), "default");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
                         cJSON_GetObjectItemCaseSensitive(j, "action"), "args")),
                     7);
    cJSON_Delete(j);
    assert_int_equal(sp_as_build_write("/w/b", "h\xc3\xa9llo\n", 7, &out, &err), SP_E_OK);
    j = cJSON_Parse(sp_buf_str(&out));
    assert_string_equal(jstr(j, "action.action"), "write");
    assert_string_equal(jstr(j, "action.args.content"), "h\xc3\xa9llo\n");
    cJSON_Delete(j);
    assert_int_equal(sp_as_build_write("/w/b", "a\0b", 3, &out, &err), SP_E_UNSUPPORTED);
    assert_int_equal(sp_as_build_write("/w/b", "\xff\xfe", 2, &out, &err), SP_E_UNSUPPORTED);
    assert_int_equal(sp_as_build_write("/w/b", "\xc3", 1, &out, &err), SP_E_UNSUPPORTED);
    assert_int_equal(sp_as_build_write("/w/b", "\xed\xa0\x80", 3, &out, &err), SP_E_UNSUPPORTED);
    assert_int_equal(sp_as_build_write("/w/b", "\xc0\x80", 2, &out, &err), SP_E_UNSUPPORTED);
    assert_int_equal(sp_as_build_write("/w/b", "\xe0\x80\x80", 3, &out, &err), SP_E_UNSUPPORTED);
    assert_int_equal(sp_as_build_write("/w/b", "\xf4\x90\x80\x80", 4, &out, &err),
                     SP_E_UNSUPPORTED);
    assert_int_equal(sp_as_build_write("/w/b", "\xf0\x9f\x98\x80", 4, &out, &err), SP_E_OK);
    assert_int_equal(sp_as_build_write("/w/b", "", 0, &out, &err), SP_E_OK);
    sp_buf_cleanup(&out);
}

static enum sp_err parse_run(const char *body, struct sp_exec *x, struct sp_error *err)
{
    sp_exec_cleanup(x);
    sp_exec_init(x, "c");
    sp_error_clear(err);
    return sp_as_parse_run(body, strlen(body), x, err);
}

static void test_parse_run_good(void **state)
{
    (void)state;
    struct sp_exec x;
    struct sp_error err;
    sp_exec_init(&x, "c");
    assert_int_equal(parse_run(obs_ok, &x, &err), SP_E_OK);
    assert_string_equal(sp_buf_str(&x.out), "total 0");
    assert_int_equal(x.exit_code, 0);
    assert_false(x.timed_out);
    assert_string_equal(x.detail, "[The command completed with exit code 0.]");

    assert_int_equal(parse_run(obs_timeout, &x, &err), SP_E_OK);
    assert_string_equal(sp_buf_str(&x.out), "1");
    assert_int_equal(x.exit_code, -1);
    assert_true(x.timed_out);
    assert_non_null(strstr(x.detail, "[The command timed out after 2.5 seconds."));

    /* The soft timeout (no new output) also means the command did not finish. */
    assert_int_equal(parse_run("{\"observation\":\"run\",\"content\":\"Enter name:\",\"extras\":"
                               "{\"metadata\":{\"exit_code\":-1,\"suffix\":\"\\n[The command has "
                               "no new output after 10 seconds. x]\"}}}",
                               &x, &err),
                     SP_E_OK);
    assert_true(x.timed_out);
    assert_string_equal(sp_buf_str(&x.out), "Enter name:");

    /* A suffix inside content (no metadata suffix) is split off too. */
    assert_int_equal(parse_run("{\"observation\":\"run\",\"content\":\"out\\n[x]\\n[The command "
                               "completed with exit code 3.]\",\"extras\":{\"metadata\":"
                               "{\"exit_code\":3}}}",
                               &x, &err),
                     SP_E_OK);
    assert_string_equal(sp_buf_str(&x.out), "out\n[x]");
    assert_string_equal(x.detail, "[The command completed with exit code 3.]");
    assert_int_equal(x.exit_code, 3);

    /* Legacy extras.exit_code; no metadata at all means -1 (spec 3.3 client decoding). */
    assert_int_equal(parse_run("{\"observation\":\"run\",\"content\":\"\",\"extras\":"
                               "{\"exit_code\":127}}",
                               &x, &err),
                     SP_E_OK);
    assert_int_equal(x.exit_code, 127);
    assert_int_equal(parse_run("{\"observation\":\"run\"}", &x, &err), SP_E_OK);
    assert_int_equal(x.exit_code, -1);
    assert_int_equal(x.out.len, 0);
    sp_exec_cleanup(&x);
}

static void test_parse_run_errors(void **state)
{
    (void)state;
    struct sp_exec x;
    struct sp_error err;
    sp_exec_init(&x, "c");
    assert_int_equal(parse_run("{\"observation\":\"error\",\"content\":\"ERROR: Cannot execute "
                               "multiple commands at once.\\nPlease run each command separately\","
                               "\"extras\":{\"error_id\":\"\"}}",
                               &x, &err),
                     SP_E_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "Cannot execute multiple commands"));
    assert_int_equal(parse_run("{\"observation\":\"error\",\"content\":\"boom\"}", &x, &err),
                     SP_E_PROVIDER);
    assert_non_null(strstr(err.msg, "boom"));
    assert_int_equal(parse_run("{\"observation\":\"run\",\"content\":\"\",\"extras\":{\"metadata\":"
                               "{\"exit_code\":-1,\"suffix\":\"\\n[Your command \\\"ls\\\" is NOT "
                               "executed. The previous command is still running]\"}}}",
                               &x, &err),
                     SP_E_CONFLICT);

    static const char *const bad[] = {
        "",
        "not json",
        "{\"observation\":\"run\",\"content\":\"tru",             /* truncated */
        "[1,2]",                                                  /* wrong top-level type */
        "{\"content\":\"x\"}",                                    /* no observation */
        "{\"observation\":5}",                                    /* wrong type */
        "{\"observation\":\"read\",\"content\":\"x\"}",           /* another observation */
        "{\"observation\":\"run\",\"content\":7}",                /* content not a string */
        "{\"observation\":\"run\",\"extras\":\"x\"}",             /* extras not an object */
        "{\"observation\":\"run\",\"extras\":{\"metadata\":[]}}", /* metadata not an object */
        "{\"observation\":\"run\",\"extras\":{\"metadata\":{\"exit_code\":\"0\"}}}",
        "{\"observation\":\"run\",\"extras\":{\"metadata\":{\"exit_code\":1.5}}}",
        "{\"observation\":\"run\",\"extras\":{\"metadata\":{\"exit_code\":1e20}}}",
        "{\"observation\":\"run\",\"extras\":{\"metadata\":{\"suffix\":false}}}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        enum sp_err rc = parse_run(bad[i], &x, &err);
        if (rc != SP_E_PROTOCOL)
            fail_msg("body %zu (%s): got %s", i, bad[i], sp_err_name(rc));
        assert_true(err.msg[0] != '\0');
    }
    sp_exec_cleanup(&x);
}

static void test_parse_file_obs(void **state)
{
    (void)state;
    struct sp_files f;
    struct sp_error err;
    sp_files_init(&f, SP_FILE_READ, "hello.sh");
    const char *read_ok = "{\"message\": \"I read the file /workspace/hello.sh.\", \"observation\":"
                          " \"read\", \"content\": \"echo \\\"Hello, World!\\\"\\n\", \"extras\":"
                          " {\"path\": \"/workspace/hello.sh\", \"impl_source\": \"default\"}}";
    assert_int_equal(
        sp_as_parse_file_obs(read_ok, strlen(read_ok), "read", "/workspace/hello.sh", &f, &err),
        SP_E_OK);
    assert_string_equal(sp_buf_str(&f.content), "echo \"Hello, World!\"\n");
    assert_string_equal(f.resolved_path, "/workspace/hello.sh");

    const char *missing = "{\"message\": \"File not found: /workspace/nope.txt. Your current "
                          "working directory is /workspace.\", \"observation\": \"error\", "
                          "\"content\": \"File not found: /workspace/nope.txt. Your current "
                          "working directory is /workspace.\", \"extras\": {\"error_id\": \"\"}}";
    assert_int_equal(
        sp_as_parse_file_obs(missing, strlen(missing), "read", "/workspace/nope.txt", &f, &err),
        SP_E_NOT_FOUND);
    assert_non_null(strstr(err.msg, "/workspace/nope.txt"));
    const char *dir = "{\"observation\":\"error\",\"content\":\"Path is a directory: /w. You can "
                      "only read files\"}";
    assert_int_equal(sp_as_parse_file_obs(dir, strlen(dir), "read", "/w", &f, &err), SP_E_CONFLICT);
    const char *bin = "{\"observation\":\"error\",\"content\":\"ERROR_BINARY_FILE\"}";
    assert_int_equal(sp_as_parse_file_obs(bin, strlen(bin), "read", "/w/x", &f, &err),
                     SP_E_UNSUPPORTED);
    const char *other = "{\"observation\":\"error\",\"content\":\"File /w written, but failed\"}";
    assert_int_equal(sp_as_parse_file_obs(other, strlen(other), "write", "/w", &f, &err),
                     SP_E_PROVIDER);
    const char *wrote =
        "{\"observation\":\"write\",\"content\":\"\",\"extras\":{\"path\":\"/w/x\"}}";
    assert_int_equal(sp_as_parse_file_obs(wrote, strlen(wrote), "read", "/w/x", &f, &err),
                     SP_E_PROTOCOL);
    assert_int_equal(sp_as_parse_file_obs(wrote, strlen(wrote), "write", "/w/x", &f, &err),
                     SP_E_OK);
    const char *badpath = "{\"observation\":\"write\",\"extras\":{\"path\":[1]}}";
    assert_int_equal(sp_as_parse_file_obs(badpath, strlen(badpath), "write", "/w", &f, &err),
                     SP_E_PROTOCOL);
    assert_int_equal(sp_as_parse_file_obs("{\"obs", 5, "write", "/w", &f, &err), SP_E_PROTOCOL);
    sp_files_cleanup(&f);
}

static void test_parse_list_upload_detail(void **state)
{
    (void)state;
    struct sp_files f;
    struct sp_error err;
    sp_files_init(&f, SP_FILE_LIST, "/workspace");
    const char *list = "[\"test_dir/\", \"a.txt\", \"B.txt\"]";
    assert_int_equal(sp_as_parse_list(list, strlen(list), &f, &err), SP_E_OK);
    assert_int_equal(f.n_entries, 3);
    assert_string_equal(f.entries[0].name, "test_dir");
    assert_true(f.entries[0].is_dir);
    assert_string_equal(f.entries[2].name, "B.txt");
    assert_false(f.entries[2].is_dir);
    assert_int_equal(f.entries[1].size, -1);
    assert_int_equal(sp_as_parse_list("[]", 2, &f, &err), SP_E_OK);
    assert_int_equal(f.n_entries, 0);
    char longname[400];
    memset(longname, 'n', sizeof(longname));
    longname[0] = '[';
    longname[1] = '"';
    longname[sizeof(longname) - 2] = '"';
    longname[sizeof(longname) - 1] = ']';
    static const char *const bad[] = {"{}", "[1]", "[\"\"]", "[\"/\"]", "[\"a\",null]", "[\"a\""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(sp_as_parse_list(bad[i], strlen(bad[i]), &f, &err), SP_E_PROTOCOL);
    assert_int_equal(sp_as_parse_list(longname, sizeof(longname), &f, &err), SP_E_PROTOCOL);

    const char *up = "{\"filename\":\"test_file.txt\",\"destination\":\"/workspace\","
                     "\"recursive\":false}";
    assert_int_equal(sp_as_parse_upload(up, strlen(up), &f, &err), SP_E_OK);
    assert_string_equal(f.resolved_path, "/workspace/test_file.txt");
    const char *root = "{\"filename\":\"x\",\"destination\":\"/\"}";
    assert_int_equal(sp_as_parse_upload(root, strlen(root), &f, &err), SP_E_OK);
    assert_string_equal(f.resolved_path, "/x");
    assert_int_equal(sp_as_parse_upload("{\"filename\":\"x\"}", 16, &f, &err), SP_E_PROTOCOL);
    assert_non_null(strstr(err.msg, "destination"));

    char detail[64];
    assert_int_equal(
        sp_as_parse_detail("{\"detail\":\"Invalid API Key\"}", 28, detail, sizeof(detail)), 0);
    assert_string_equal(detail, "Invalid API Key");
    const char *proxy = "{\"statusCode\":401,\"message\":\"missing authentication\"}";
    assert_int_equal(sp_as_parse_detail(proxy, strlen(proxy), detail, sizeof(detail)), 0);
    assert_string_equal(detail, "missing authentication");
    assert_int_equal(sp_as_parse_detail("<html>", 6, detail, sizeof(detail)), -1);
    assert_int_equal(sp_as_parse_detail("{\"detail\":[1]}", 14, detail, sizeof(detail)), -1);
    sp_files_cleanup(&f);
}

/* --- shell helpers --------------------------------------------------------------------------- */

static void test_shell(void **state)
{
    (void)state;
    struct sp_buf b;
    struct sp_error err;
    sp_buf_init(&b, 0);
    assert_int_equal(sp_shell_quote(&b, "/workspace/a-b_c.txt"), 0);
    assert_string_equal(sp_buf_str(&b), "/workspace/a-b_c.txt");
    sp_buf_reset(&b);
    assert_int_equal(sp_shell_quote(&b, "it's $HOME"), 0);
    assert_string_equal(sp_buf_str(&b), "'it'\\''s $HOME'");
    sp_buf_reset(&b);
    assert_int_equal(sp_shell_quote(&b, ""), 0);
    assert_string_equal(sp_buf_str(&b), "''");

    assert_int_equal(sp_shell_wrap("echo hi", NULL, NULL, &b, &err), SP_E_OK);
    assert_string_equal(sp_buf_str(&b), "echo hi");
    struct sp_kv env;
    sp_kv_init(&env);
    sp_kv_set(&env, "FOO", "a b'c");
    sp_kv_set(&env, "_X1", "1");
    assert_int_equal(sp_shell_wrap("echo $FOO # note", "/tmp/my dir", &env, &b, &err), SP_E_OK);
    assert_string_equal(sp_buf_str(&b),
                        "(cd '/tmp/my dir' && export FOO='a b'\\''c' && export _X1=1 && "
                        "echo $FOO # note\n)");
    sp_kv_set(&env, "1BAD", "x");
    assert_int_equal(sp_shell_wrap("true", NULL, &env, &b, &err), SP_E_CONFIG);
    assert_non_null(strstr(err.msg, "1BAD"));
    sp_kv_cleanup(&env);

    char out[32];
    assert_int_equal(sp_as_resolve_path("/workspace", "a/b", out, sizeof(out)), 0);
    assert_string_equal(out, "/workspace/a/b");
    assert_int_equal(sp_as_resolve_path("/", "a", out, sizeof(out)), 0);
    assert_string_equal(out, "/a");
    assert_int_equal(sp_as_resolve_path("/workspace", "/etc/x", out, sizeof(out)), 0);
    assert_string_equal(out, "/etc/x");
    assert_int_equal(sp_as_resolve_path("/workspace", "", out, sizeof(out)), -1);
    assert_int_equal(
        sp_as_resolve_path("/workspace", "a-very-long-name-that-overflows", out, sizeof(out)), -1);

    sp_buf_reset(&b);
    assert_int_equal(sp_as_server_command(4444, "/workspace", &b), 0);
    assert_non_null(strstr(sp_buf_str(&b),
                           "python -u -m openhands.runtime.action_execution_server 4444 "
                           "--working-dir /workspace --plugins agent_skills jupyter"));
    sp_buf_cleanup(&b);
}

/* --- the exec step --------------------------------------------------------------------------- */

static void test_exec_step(void **state)
{
    struct step_fx *f = *state;
    struct sp_exec x;
    sp_exec_init(&x, "pwd");
    struct sp_kv env;
    sp_kv_init(&env);
    sp_kv_set(&env, "K", "v");
    x.cwd = "sub";
    x.env = &env;
    x.timeout_ms = 3000;
    sp_op_init_exec(&f->op, f->sb, &x);
    assert_int_equal(run_step(f, sp_as_exec_step, false), SP_NEXT_REQUEST);
    assert_int_equal(f->req.method, SP_HTTP_POST);
    assert_string_equal(sp_buf_str(&f->req.url), "http://4444-sb1.localhost:9/execute_action");
    assert_string_equal(sp_kv_geti(&f->req.headers, SP_AS_SESSION_HEADER), "sess-secret");
    assert_string_equal(sp_kv_geti(&f->req.headers, "Content-Type"), "application/json");
    assert_int_equal(f->req.timeout_ms, 8000); /* action timeout + 5 s */
    assert_int_equal(f->req.retry.max_attempts_429, 3);
    assert_int_equal(f->req.retry.wait_429_ms, 4000);
    cJSON *j = req_json(&f->req);
    assert_string_equal(jstr(j, "action.args.command"), "(export K=v && pwd\n)");
    assert_string_equal(jstr(j, "action.args.cwd"), "/workspace/sub");
    assert_true(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "action"), "timeout")
            ->valuedouble == 3.0);
    cJSON_Delete(j);

    rsp_json(&f->rsp, 200, obs_ok);
    assert_int_equal(run_step(f, sp_as_exec_step, true), SP_NEXT_DONE);
    assert_string_equal(sp_buf_str(&x.out), "total 0");
    assert_int_equal(x.exit_code, 0);
    sp_kv_cleanup(&env);
    sp_exec_cleanup(&x);
}

/* An HTTP failure of execute_action, and the class it must give. */
static void
exec_fails(struct step_fx *f, int status, const char *body, enum sp_err want, const char *msg_part)
{
    struct sp_exec x;
    sp_exec_init(&x, "true");
    sp_op_init_exec(&f->op, f->sb, &x);
    assert_int_equal(run_step(f, sp_as_exec_step, false), SP_NEXT_REQUEST);
    rsp_json(&f->rsp, status, body);
    assert_int_equal(run_step(f, sp_as_exec_step, true), SP_NEXT_FAIL);
    if (f->op.err.code != want || (msg_part && !strstr(f->op.err.msg, msg_part)))
        fail_msg("HTTP %d: got %s '%s'", status, sp_err_name(f->op.err.code), f->op.err.msg);
    assert_null(strstr(f->op.err.msg, "sess-secret"));
    sp_exec_cleanup(&x);
}

static void test_exec_step_failures(void **state)
{
    struct step_fx *f = *state;
    exec_fails(f, 403, "{\"detail\":\"Invalid API Key\"}", SP_E_AUTH, "Invalid API Key");
    exec_fails(f, 500, "{\"detail\":\"Internal server error: boom\"}", SP_E_PROVIDER, "boom");
    exec_fails(f, 502, "<html>Bad Gateway</html>", SP_E_PROVIDER, "Bad Gateway");
    exec_fails(f, 429, "", SP_E_RATE_LIMITED, NULL);
    exec_fails(f, 422, "{\"detail\":\"Invalid request parameters\",\"errors\":\"[]\"}",
               SP_E_PROTOCOL, "Invalid request parameters");
    exec_fails(f, 200, "{\"observation\":", SP_E_PROTOCOL, NULL);
    exec_fails(f, 200, "", SP_E_PROTOCOL, "empty body");

    struct sp_exec x;
    sp_exec_init(&x, "sleep 100");
    x.timeout_ms = 1000;
    sp_op_init_exec(&f->op, f->sb, &x);
    assert_int_equal(run_step(f, sp_as_exec_step, false), SP_NEXT_REQUEST);
    sp_http_rsp_reset(&f->rsp);
    f->rsp.transport = SP_E_TIMEOUT;
    snprintf(f->rsp.transport_msg, sizeof(f->rsp.transport_msg), "timed out");
    assert_int_equal(run_step(f, sp_as_exec_step, true), SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_TIMEOUT);
    assert_non_null(strstr(f->op.err.msg, "6.0 s"));

    /* No data plane yet: a state error, not a request to nowhere. */
    f->sb->data_url[0] = '\0';
    sp_op_init_exec(&f->op, f->sb, &x);
    assert_int_equal(run_step(f, sp_as_exec_step, false), SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_STATE);
    sp_exec_cleanup(&x);
}

/* --- the files step -------------------------------------------------------------------------- */

static void test_files_read_write(void **state)
{
    struct step_fx *f = *state;
    struct sp_files fl;
    sp_files_init(&fl, SP_FILE_WRITE, "hello.sh");
    fl.data = "echo hi";
    fl.len = 7;
    sp_op_init_files(&f->op, f->sb, &fl);
    assert_int_equal(run_step(f, sp_as_files_step, false), SP_NEXT_REQUEST);
    assert_string_equal(sp_buf_str(&f->req.url), "http://4444-sb1.localhost:9/execute_action");
    cJSON *j = req_json(&f->req);
    assert_string_equal(jstr(j, "action.action"), "write");
    assert_string_equal(jstr(j, "action.args.path"), "/workspace/hello.sh");
    assert_string_equal(jstr(j, "action.args.content"), "echo hi");
    cJSON_Delete(j);
    rsp_json(&f->rsp, 200,
             "{\"observation\":\"write\",\"content\":\"\",\"extras\":{\"path\":"
             "\"/workspace/hello.sh\"}}");
    assert_int_equal(run_step(f, sp_as_files_step, true), SP_NEXT_DONE);
    assert_string_equal(fl.resolved_path, "/workspace/hello.sh");
    sp_files_cleanup(&fl);

    sp_files_init(&fl, SP_FILE_READ, "/workspace/nope.txt");
    sp_op_init_files(&f->op, f->sb, &fl);
    assert_int_equal(run_step(f, sp_as_files_step, false), SP_NEXT_REQUEST);
    rsp_json(&f->rsp, 200,
             "{\"observation\":\"error\",\"content\":\"File not found: "
             "/workspace/nope.txt. Your current working directory is /workspace.\"}");
    assert_int_equal(run_step(f, sp_as_files_step, true), SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_NOT_FOUND);
    assert_non_null(strstr(f->op.err.msg, "/workspace/nope.txt"));
    sp_files_cleanup(&fl);

    sp_files_init(&fl, SP_FILE_STAT, "x");
    sp_op_init_files(&f->op, f->sb, &fl);
    assert_int_equal(run_step(f, sp_as_files_step, false), SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_UNSUPPORTED);
    sp_files_init(&fl, SP_FILE_READ, "");
    sp_op_init_files(&f->op, f->sb, &fl);
    assert_int_equal(run_step(f, sp_as_files_step, false), SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_CONFIG);
    sp_files_cleanup(&fl);
}

static void test_files_upload(void **state)
{
    struct step_fx *f = *state;
    struct sp_files fl;
    sp_files_init(&fl, SP_FILE_UPLOAD, "sub dir/b.bin");
    fl.data = "\x00\x01\xff";
    fl.len = 3;
    sp_op_init_files(&f->op, f->sb, &fl);
    assert_int_equal(run_step(f, sp_as_files_step, false), SP_NEXT_REQUEST);
    assert_string_equal(sp_buf_str(&f->req.url), "http://4444-sb1.localhost:9/upload_file"
                                                 "?destination=%2Fworkspace%2Fsub%20dir"
                                                 "&recursive=false");
    assert_int_equal(f->req.timeout_ms, SP_AS_UPLOAD_TIMEOUT_MS);
    const char *ct = sp_kv_geti(&f->req.headers, "Content-Type");
    assert_non_null(ct);
    assert_non_null(strstr(ct, "multipart/form-data; boundary="));
    assert_non_null(strstr(f->req.body.data, "name=\"file\"; filename=\"b.bin\""));
    assert_true(contains(f->req.body.data, f->req.body.len, "\r\n\r\n\x00\x01\xff\r\n", 9));
    rsp_json(&f->rsp, 200,
             "{\"filename\":\"b.bin\",\"destination\":\"/workspace/sub dir\","
             "\"recursive\":false}");
    assert_int_equal(run_step(f, sp_as_files_step, true), SP_NEXT_DONE);
    assert_string_equal(fl.resolved_path, "/workspace/sub dir/b.bin");

    sp_op_init_files(&f->op, f->sb, &fl);
    assert_int_equal(run_step(f, sp_as_files_step, false), SP_NEXT_REQUEST);
    rsp_json(&f->rsp, 500, "{\"detail\":\"400: Destination must be an absolute path\"}");
    assert_int_equal(run_step(f, sp_as_files_step, true), SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_PROVIDER);
    assert_non_null(strstr(f->op.err.msg, "Destination must be an absolute path"));
    sp_files_cleanup(&fl);

    sp_files_init(&fl, SP_FILE_UPLOAD, "archive.zip");
    sp_op_init_files(&f->op, f->sb, &fl);
    assert_int_equal(run_step(f, sp_as_files_step, false), SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_UNSUPPORTED);
    sp_files_init(&fl, SP_FILE_UPLOAD, "/workspace/dir/");
    sp_op_init_files(&f->op, f->sb, &fl);
    assert_int_equal(run_step(f, sp_as_files_step, false), SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_CONFIG);
    sp_files_cleanup(&fl);
}

static void download(struct step_fx *f,
                     struct sp_files *fl,
                     const char *path,
                     int status,
                     const void *body,
                     size_t len,
                     enum sp_next want)
{
    sp_files_cleanup(fl);
    sp_files_init(fl, SP_FILE_DOWNLOAD, path);
    sp_op_init_files(&f->op, f->sb, fl);
    assert_int_equal(run_step(f, sp_as_files_step, false), SP_NEXT_REQUEST);
    rsp_set(&f->rsp, status, body, len);
    assert_int_equal(run_step(f, sp_as_files_step, true), want);
}

static void test_files_download(void **state)
{
    struct step_fx *f = *state;
    struct sp_files fl;
    sp_files_init(&fl, SP_FILE_DOWNLOAD, "a.txt");
    sp_op_init_files(&f->op, f->sb, &fl);
    assert_int_equal(run_step(f, sp_as_files_step, false), SP_NEXT_REQUEST);
    assert_int_equal(f->req.method, SP_HTTP_GET);
    /* The parent directory: a file path gives an empty zip (spec 2.3). */
    assert_string_equal(sp_buf_str(&f->req.url),
                        "http://4444-sb1.localhost:9/download_files?path=%2Fworkspace");
    rsp_set(&f->rsp, 200, py_zip, PY_ZIP_LEN);
    assert_int_equal(run_step(f, sp_as_files_step, true), SP_NEXT_DONE);
    assert_string_equal(sp_buf_str(&fl.content),
                        "hello from python\nhello from python\nhello from python\n");
    assert_string_equal(fl.resolved_path, "/workspace/a.txt");

    download(f, &fl, "/workspace/gone.txt", 200, py_zip, PY_ZIP_LEN, SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_NOT_FOUND);
    assert_non_null(strstr(f->op.err.msg, "/workspace/gone.txt"));
    download(f, &fl, "/workspace/a.txt", 200, "PK\x03\x04garbage", 11, SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_PROTOCOL);
    download(f, &fl, "/workspace/a.txt", 200, py_zip, 100, SP_NEXT_FAIL); /* truncated */
    assert_int_equal(f->op.err.code, SP_E_PROTOCOL);
    download(f, &fl, "/nodir/a.txt", 500, "{\"detail\":\"404: File not found\"}", 32, SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_NOT_FOUND);
    /* A file right under / would make the server zip the whole file system. */
    sp_files_cleanup(&fl);
    sp_files_init(&fl, SP_FILE_DOWNLOAD, "/etc.tar");
    sp_op_init_files(&f->op, f->sb, &fl);
    assert_int_equal(run_step(f, sp_as_files_step, false), SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_UNSUPPORTED);
    sp_files_cleanup(&fl);
}

static void test_files_list(void **state)
{
    struct step_fx *f = *state;
    struct sp_files fl;
    sp_files_init(&fl, SP_FILE_LIST, ".");
    sp_op_init_files(&f->op, f->sb, &fl);
    assert_int_equal(run_step(f, sp_as_files_step, false), SP_NEXT_REQUEST);
    assert_string_equal(sp_buf_str(&f->req.url), "http://4444-sb1.localhost:9/list_files");
    assert_int_equal(f->req.timeout_ms, SP_AS_LIST_TIMEOUT_MS);
    cJSON *j = req_json(&f->req);
    assert_string_equal(jstr(j, "path"), "/workspace/.");
    cJSON_Delete(j);
    rsp_json(&f->rsp, 200, "[\"d/\",\"f\"]");
    assert_int_equal(run_step(f, sp_as_files_step, true), SP_NEXT_DONE);
    assert_int_equal(fl.n_entries, 2);
    assert_true(fl.entries[0].is_dir);
    sp_op_init_files(&f->op, f->sb, &fl);
    assert_int_equal(run_step(f, sp_as_files_step, false), SP_NEXT_REQUEST);
    rsp_json(&f->rsp, 200, "{\"not\":\"a list\"}");
    assert_int_equal(run_step(f, sp_as_files_step, true), SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_PROTOCOL);
    sp_files_cleanup(&fl);
}

/* --- /alive ---------------------------------------------------------------------------------- */

static enum sp_next alive(struct step_fx *f, struct sp_as_alive *a, bool with_rsp)
{
    sp_http_req_reset(&f->req);
    return sp_as_alive_step(a, &f->op, with_rsp ? &f->rsp : NULL, &f->req, &f->op.err);
}

static void test_alive(void **state)
{
    struct step_fx *f = *state;
    struct sp_as_alive a;
    sp_op_init_startup(&f->op, f->sb);
    sp_as_alive_begin(&a, f->client);
    assert_int_equal(a.interval_ms, 250);
    assert_int_equal(a.timeout_ms, 9000);
    assert_int_equal(alive(f, &a, false), SP_NEXT_REQUEST);
    assert_string_equal(sp_buf_str(&f->req.url), "http://4444-sb1.localhost:9/alive");
    assert_true(f->req.timeout_ms <= SP_AS_ALIVE_TIMEOUT_MS);
    assert_int_equal(f->req.retry.retry_502_for_ms, 0); /* the poll loop is the retry */

    /* Connection refused: the server is not listening yet. */
    sp_http_rsp_reset(&f->rsp);
    f->rsp.transport = SP_E_CONNECT;
    snprintf(f->rsp.transport_msg, sizeof(f->rsp.transport_msg), "Connection refused");
    assert_int_equal(alive(f, &a, true), SP_NEXT_WAIT);
    assert_int_equal(f->op.wait_ms, 250);
    assert_non_null(strstr(a.last, "Connection refused"));
    rsp_json(&f->rsp, 502, "bad gateway");
    assert_int_equal(alive(f, &a, true), SP_NEXT_WAIT);
    assert_string_equal(a.last, "HTTP 502");
    /* Past the deadline: timeout naming the last thing seen. */
    a.deadline_ms = 0;
    assert_int_equal(alive(f, &a, true), SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_TIMEOUT);
    assert_string_equal(
        f->op.err.msg,
        "action server not alive after 9 s (last: HTTP 502; sandbox state: unknown)");

    sp_op_init_startup(&f->op, f->sb);
    sp_as_alive_begin(&a, f->client);
    assert_int_equal(alive(f, &a, false), SP_NEXT_REQUEST);
    rsp_json(&f->rsp, 403, "{\"detail\":\"denied\"}");
    assert_int_equal(alive(f, &a, true), SP_NEXT_FAIL);
    assert_int_equal(f->op.err.code, SP_E_AUTH);
    assert_int_equal(alive(f, &a, false), SP_NEXT_REQUEST);
    rsp_json(&f->rsp, 200, "{\"status\":\"not initialized\"}"); /* any 2xx counts */
    assert_int_equal(alive(f, &a, true), SP_NEXT_DONE);
}

/* --- a dropped connection is retried as OpenHands does ------------------------------------ */

/* A server on 127.0.0.1 that closes the first `drop` connections without a word, then
 * answers each with a completed run observation. */
struct dropper {
    int fd, drop, seen, stop;
    unsigned port;
    pthread_t th;
};

static void *dropper_main(void *arg)
{
    struct dropper *d = arg;
    static const char OBS[] =
        "{\"message\":\"m\",\"observation\":\"run\",\"content\":\"ok\",\"extras\":{\"command\":"
        "\"x\",\"metadata\":{\"exit_code\":0,\"pid\":-1,\"username\":null,\"hostname\":null,"
        "\"working_dir\":null,\"py_interpreter_path\":null,\"prefix\":\"\",\"suffix\":\"\\n[The "
        "command completed with exit code 0.]\"},\"hidden\":false},\"success\":true}";
    for (;;) {
        int c = accept(d->fd, NULL, NULL);
        if (c < 0 || __atomic_load_n(&d->stop, __ATOMIC_SEQ_CST)) {
            if (c >= 0)
                close(c);
            return NULL;
        }
        int n = __atomic_add_fetch(&d->seen, 1, __ATOMIC_SEQ_CST);
        if (n > d->drop) {
            char req[8192], head[256];
            ssize_t got = recv(c, req, sizeof req, 0);
            (void)got;
            int hl = snprintf(head, sizeof head,
                              "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                              "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                              strlen(OBS));
            ssize_t w = write(c, head, (size_t)hl);
            w = write(c, OBS, strlen(OBS));
            (void)w;
        }
        close(c);
    }
}

static void dropper_start(struct dropper *d, int drop)
{
    memset(d, 0, sizeof *d);
    d->drop = drop;
    d->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    assert_int_equal(bind(d->fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(d->fd, 16), 0);
    getsockname(d->fd, (struct sockaddr *)&a, &al);
    d->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&d->th, NULL, dropper_main, d), 0);
}

static void dropper_stop(struct dropper *d)
{
    __atomic_store_n(&d->stop, 1, __ATOMIC_SEQ_CST);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)d->port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    connect(c, (struct sockaddr *)&a, sizeof a);
    close(c);
    pthread_join(d->th, NULL);
    close(d->fd);
}

/* exec through the real transport; waits shortened (4 s in the policy, 20 ms here). */
static enum sp_err exec_via(struct step_fx *f, struct dropper *d, struct sp_exec *x)
{
    struct sp_error err;
    snprintf(f->sb->data_url, sizeof(f->sb->data_url), "http://127.0.0.1:%u", d->port);
    sp_as_retry_defaults(&f->sb->data_retry);
    assert_int_equal(f->sb->data_retry.max_attempts_dropped, 5);
    assert_int_equal(f->sb->data_retry.wait_dropped_ms, 4000);
    f->sb->data_retry.wait_dropped_ms = 20;
    sp_exec_init(x, "echo ok");
    x->timeout_ms = 5000;
    return sp_exec(f->sb, x, &err);
}

static void test_dropped_connection_retried(void **state)
{
    struct step_fx *f = *state;
    struct dropper d;
    struct sp_exec x;
    dropper_start(&d, 4); /* four drops, the fifth attempt answers */
    assert_int_equal(exec_via(f, &d, &x), SP_E_OK);
    assert_int_equal(x.exit_code, 0);
    assert_string_equal(sp_buf_str(&x.out), "ok");
    assert_int_equal(__atomic_load_n(&d.seen, __ATOMIC_SEQ_CST), 5);
    sp_exec_cleanup(&x);
    dropper_stop(&d);
    dropper_start(&d, 100); /* never answers: five attempts, then a connect error */
    assert_int_equal(exec_via(f, &d, &x), SP_E_CONNECT);
    assert_int_equal(__atomic_load_n(&d.seen, __ATOMIC_SEQ_CST), 5);
    sp_exec_cleanup(&x);
    dropper_stop(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dropped_connection_retried, fx_setup,
                                        step_fx_teardown),
        cmocka_unit_test(test_build_run),
        cmocka_unit_test(test_build_read_write),
        cmocka_unit_test(test_parse_run_good),
        cmocka_unit_test(test_parse_run_errors),
        cmocka_unit_test(test_parse_file_obs),
        cmocka_unit_test(test_parse_list_upload_detail),
        cmocka_unit_test(test_shell),
        cmocka_unit_test_setup_teardown(test_exec_step, fx_setup, step_fx_teardown),
        cmocka_unit_test_setup_teardown(test_exec_step_failures, fx_setup, step_fx_teardown),
        cmocka_unit_test_setup_teardown(test_files_read_write, fx_setup, step_fx_teardown),
        cmocka_unit_test_setup_teardown(test_files_upload, fx_setup, step_fx_teardown),
        cmocka_unit_test_setup_teardown(test_files_download, fx_setup, step_fx_teardown),
        cmocka_unit_test_setup_teardown(test_files_list, fx_setup, step_fx_teardown),
        cmocka_unit_test_setup_teardown(test_alive, fx_setup, step_fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
