/* OpenHands-shaped requests to the action-server mock, each reply compared with the
 * observation the real server gives (issue 7): run_ipython (two cells sharing state, a
 * traceback), every OH_ACI `edit` command and `view` with a range (texts of openhands-aci
 * 0.3.2 openhands_aci/editor/editor.py, cited per case), and the shell cases of
 * spec/openhands-action-server-fidelity.md rows 3, 7 and 8. Requests carry every argument
 * event_to_dict emits. The Daytona mock in-process starts the server as OpenHands does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "buf.h"
#include "mock_daytona_http.h"
#include "mock_int.h"

#define PY "/openhands/poetry/openhands-ai-5O4_aCHf-py3.12/bin/python"
#define EXTRA \
    "\n[Jupyter current working directory: /workspace]\n[Jupyter Python interpreter: " PY "]"

static int setup(void **state)
{
    start_mock_fast(state);
    sandbox_with_server(*state, "{\"public\":true}");
    return 0;
}

static double act_timeout = 120.0; /* the action's timeout, OpenHands' default */

/* POST /execute_action {"action": action}; the reply is in f->json. */
static void act(struct fx *f, cJSON *action)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddItemToObject(root, "action", action);
    cJSON_AddNumberToObject(action, "timeout", act_timeout);
    char *s = cJSON_PrintUnformatted(root);
    assert_int_equal(send_req(f, "POST", "/execute_action", s, false, f->host, NULL, NULL), 200);
    cJSON_free(s);
    cJSON_Delete(root);
}

static const char *content(struct fx *f)
{
    return jstr(f->json, "content");
}

/* IPythonRunCellAction as event_to_dict writes it. */
static void ipython(struct fx *f, const char *code)
{
    cJSON *a = cJSON_CreateObject();
    cJSON_AddStringToObject(a, "message", "Running Python code interactively");
    cJSON_AddStringToObject(a, "action", "run_ipython");
    cJSON *args = cJSON_AddObjectToObject(a, "args");
    cJSON_AddStringToObject(args, "code", code);
    cJSON_AddStringToObject(args, "thought", "");
    cJSON_AddBoolToObject(args, "include_extra", true);
    cJSON_AddStringToObject(args, "confirmation_state", "confirmed");
    cJSON_AddNumberToObject(args, "security_risk", -1);
    cJSON_AddStringToObject(args, "kernel_init_code", "");
    act(f, a);
}

/* FileEditAction (OH_ACI); NULL strings are JSON null, insert_line < 0 is null. */
static void edit(struct fx *f,
                 const char *cmd,
                 const char *path,
                 const char *file_text,
                 const char *old_s,
                 const char *new_s,
                 int insert_line)
{
    cJSON *a = cJSON_CreateObject();
    cJSON_AddStringToObject(a, "message", "");
    cJSON_AddStringToObject(a, "action", "edit");
    cJSON *args = cJSON_AddObjectToObject(a, "args");
    cJSON_AddStringToObject(args, "path", path);
    cJSON_AddStringToObject(args, "command", cmd);
    const char *names[] = {"file_text", "old_str", "new_str"}, *vals[] = {file_text, old_s, new_s};
    for (int i = 0; i < 3; i++)
        cJSON_AddItemToObject(args, names[i],
                              vals[i] ? cJSON_CreateString(vals[i]) : cJSON_CreateNull());
    cJSON_AddItemToObject(args, "insert_line",
                          insert_line >= 0 ? cJSON_CreateNumber(insert_line) : cJSON_CreateNull());
    cJSON_AddStringToObject(args, "content", "");
    cJSON_AddNumberToObject(args, "start", 1);
    cJSON_AddNumberToObject(args, "end", -1);
    cJSON_AddStringToObject(args, "thought", "");
    cJSON_AddNumberToObject(args, "security_risk", -1);
    cJSON_AddStringToObject(args, "impl_source", "oh_aci");
    act(f, a);
}

/* FileReadAction with impl_source oh_aci (CodeAct's view); from < 0: no range. */
static void view(struct fx *f, const char *path, int from, int to)
{
    cJSON *a = cJSON_CreateObject();
    cJSON_AddStringToObject(a, "message", "Reading file");
    cJSON_AddStringToObject(a, "action", "read");
    cJSON *args = cJSON_AddObjectToObject(a, "args");
    cJSON_AddStringToObject(args, "path", path);
    cJSON_AddNumberToObject(args, "start", 0);
    cJSON_AddNumberToObject(args, "end", -1);
    cJSON_AddStringToObject(args, "thought", "");
    cJSON_AddNumberToObject(args, "security_risk", -1);
    cJSON_AddStringToObject(args, "impl_source", "oh_aci");
    if (from < 0) {
        cJSON_AddNullToObject(args, "view_range");
    } else {
        int r[2] = {from, to};
        cJSON_AddItemToObject(args, "view_range", cJSON_CreateIntArray(r, 2));
    }
    act(f, a);
}

/* CmdRunAction as OpenHands sends it by default: not blocking, 120 s. */
static void run(struct fx *f, const char *cmd)
{
    act(f, cmd_run_action(cmd, false));
}

static const cJSON *extras(struct fx *f)
{
    return cJSON_GetObjectItem(f->json, "extras");
}

/* action_execution_server.py:399-430, execute_server.py:248-251: state across cells,
 * stdout then the last expression's value, the two Jupyter lines. */
static void test_ipython_cells_share_state(void **state)
{
    struct fx *f = *state;
    ipython(f, "import os\nx = 40");
    assert_string_equal(content(f), "[Code executed successfully with no output]" EXTRA);
    assert_jstr(f->json, "observation", "run_ipython");
    assert_jstr(f->json, "message", "Code executed in IPython cell.");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(f->json, "success")));
    assert_jstr(extras(f), "code", "import os\nx = 40");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(extras(f), "image_urls")));
    ipython(f, "print('hi')\nx + 2");
    assert_string_equal(content(f), "hi\n42" EXTRA);
    ipython(f, "print(1)");
    assert_string_equal(content(f), "1" EXTRA);
    ipython(f, "print(os.getcwd())");
    assert_string_equal(content(f), "/workspace" EXTRA);
    ipython(f, "1/0");
    assert_non_null(strstr(content(f), "Traceback (most recent call last)"));
    assert_non_null(strstr(content(f), "ZeroDivisionError: division by zero" EXTRA));
    ipython(f, "x");
    assert_string_equal(content(f), "40" EXTRA); /* the exception kept the state */
    ipython(f, "!echo from-shell\nprint(x)");
    assert_string_equal(content(f), "from-shell\n40" EXTRA);
    /* execute_server.py:232-236: past the action's timeout */
    act_timeout = 1.0;
    ipython(f, "import time\ntime.sleep(30)");
    act_timeout = 120.0;
    assert_string_equal(content(f), "[Execution timed out (1.0 seconds).]" EXTRA);
    ipython(f, "print(2)");
    assert_string_equal(content(f), "2" EXTRA);
}

/* editor.py:120-130 create, 131-269 str_replace, 415-509 insert, 565-582 undo_edit. */
static void test_edit_commands(void **state)
{
    struct fx *f = *state;
    edit(f, "create", "/workspace/t.txt", "line 1\nline 2\nline 3\n", NULL, NULL, -1);
    assert_string_equal(content(f), "File created successfully at: /workspace/t.txt");
    assert_jstr(f->json, "observation", "edit");
    assert_jstr(f->json, "message", "I edited the file /workspace/t.txt.");
    assert_jstr(extras(f), "impl_source", "oh_aci");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(extras(f), "prev_exist")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(extras(f), "_diff_cache")));
    assert_jstr(extras(f), "diff",
                "--- /workspace/t.txt\n+++ /workspace/t.txt\n@@ -0,0 +1,3 @@\n"
                "+line 1\n+line 2\n+line 3");
    edit(f, "create", "/workspace/t.txt", "x", NULL, NULL, -1);
    assert_string_equal(content(f), "ERROR:\nInvalid `path` parameter: /workspace/t.txt. File "
                                    "already exists at: /workspace/t.txt. Cannot overwrite files "
                                    "using command `create`.");
    edit(f, "str_replace", "/workspace/t.txt", NULL, "line 2", "LINE TWO", -1);
    assert_string_equal(content(f),
                        "The file /workspace/t.txt has been edited. Here's the result of running "
                        "`cat -n` on a snippet of /workspace/t.txt:\n     1\tline 1\n     2\tLINE "
                        "TWO\n     3\tline 3\n     4\t\nReview the changes and make sure they are "
                        "as expected. Edit the file again if necessary.");
    assert_jstr(extras(f), "old_content", "line 2");
    assert_jstr(extras(f), "new_content", "LINE TWO");
    assert_jstr(extras(f), "diff",
                "--- /workspace/t.txt\n+++ /workspace/t.txt\n@@ -2 +2 @@\n"
                "-line 2\n+LINE TWO");
    edit(f, "str_replace", "/workspace/t.txt", NULL, "line", "row", -1);
    assert_string_equal(content(f), "ERROR:\nNo replacement was performed. Multiple occurrences "
                                    "of old_str `line` in lines [1, 3]. Please ensure it is "
                                    "unique.");
    assert_jstr(extras(f), "diff", "");
    edit(f, "str_replace", "/workspace/t.txt", NULL, "nope", "x", -1);
    assert_string_equal(content(f), "ERROR:\nNo replacement was performed, old_str `nope` did not "
                                    "appear verbatim in /workspace/t.txt.");
    edit(f, "str_replace", "/workspace/t.txt", NULL, "same", "same", -1);
    assert_string_equal(content(f), "ERROR:\nInvalid `new_str` parameter: same. No replacement "
                                    "was performed. `new_str` and `old_str` must be different.");
    edit(f, "insert", "/workspace/t.txt", NULL, NULL, "inserted", 1);
    assert_string_equal(content(f),
                        "The file /workspace/t.txt has been edited. Here's the result of running "
                        "`cat -n` on a snippet of the edited file:\n     1\tline 1\n     2\t"
                        "inserted\n     3\tLINE TWO\n     4\tline 3\n     5\t\nReview the changes "
                        "and make sure they are as expected (correct indentation, no duplicate "
                        "lines, etc). Edit the file again if necessary.");
    edit(f, "insert", "/workspace/t.txt", NULL, NULL, "x", 9);
    assert_string_equal(content(f), "ERROR:\nInvalid `insert_line` parameter: 9. It should be "
                                    "within the range of allowed values: [0, 4]");
    edit(f, "insert", "/workspace/t.txt", NULL, NULL, NULL, 1);
    assert_string_equal(content(f), "ERROR:\nParameter `new_str` is required for command: insert.");
    edit(f, "undo_edit", "/workspace/t.txt", NULL, NULL, NULL, -1);
    assert_string_equal(content(f), "Last edit to /workspace/t.txt undone successfully. Here's "
                                    "the result of running `cat -n` on /workspace/t.txt:\n     1\t"
                                    "line 1\n     2\tLINE TWO\n     3\tline 3\n     4\t\n");
    edit(f, "undo_edit", "/workspace/t.txt", NULL, NULL, NULL, -1);
    edit(f, "undo_edit", "/workspace/t.txt", NULL, NULL, NULL, -1);
    edit(f, "undo_edit", "/workspace/t.txt", NULL, NULL, NULL, -1);
    assert_string_equal(content(f), "ERROR:\nNo edit history found for /workspace/t.txt.");
    edit(f, "create", "/workspace/e.txt", NULL, NULL, NULL, -1);
    assert_string_equal(content(f),
                        "ERROR:\nParameter `file_text` is required for command: create.");
    edit(f, "str_replace", "/workspace/missing.txt", NULL, "a", "b", -1);
    assert_string_equal(content(f), "ERROR:\nInvalid `path` parameter: /workspace/missing.txt. The "
                                    "path /workspace/missing.txt does not exist. Please provide a "
                                    "valid path.");
}

/* editor.py:271-395 view (range, NOTE, errors), 511-535 relative path, 275-321 directory. */
static void test_view(void **state)
{
    struct fx *f = *state;
    edit(f, "create", "/workspace/v.py", "a = 1\nb = 2\nc = 3\nd = 4\n", NULL, NULL, -1);
    view(f, "/workspace/v.py", 2, 3);
    assert_string_equal(content(f), "Here's the result of running `cat -n` on /workspace/v.py:\n"
                                    "     2\tb = 2\n     3\tc = 3\n");
    assert_jstr(f->json, "observation", "read");
    assert_jstr(extras(f), "impl_source", "oh_aci");
    assert_jstr(extras(f), "path", "/workspace/v.py");
    view(f, "/workspace/v.py", 3, 9);
    assert_string_equal(content(f), "NOTE: We only show up to 4 since there're only 4 lines in "
                                    "this file.\nHere's the result of running `cat -n` on "
                                    "/workspace/v.py:\n     3\tc = 3\n     4\td = 4\n");
    view(f, "/workspace/v.py", 7, 8);
    assert_string_equal(content(f), "ERROR:\nInvalid `view_range` parameter: [7, 8]. Its first "
                                    "element `7` should be within the range of lines of the "
                                    "file: [1, 4].");
    view(f, "v.py", -1, 0);
    assert_string_equal(content(f), "ERROR:\nInvalid `path` parameter: v.py. The path should be an "
                                    "absolute path, starting with `/`. Maybe you meant "
                                    "/workspace/v.py?");
    assert_jstr(extras(f), "path", "v.py");
    view(f, "/workspace/none.py", -1, 0);
    assert_string_equal(content(f),
                        "ERROR:\nInvalid `path` parameter: /workspace/none.py. The path "
                        "/workspace/none.py does not exist. Please provide a valid "
                        "path.");
    run(f, "mkdir -p /workspace/d/sub && touch /workspace/d/sub/x /workspace/d/.h");
    view(f, "/workspace/d", -1, 0);
    assert_string_equal(content(f), "Here's the files and directories up to 2 levels deep in "
                                    "/workspace/d, excluding hidden items:\n/workspace/d/\n"
                                    "/workspace/d/sub/\n/workspace/d/sub/x\n\n1 hidden "
                                    "files/directories in this directory are excluded. You can use "
                                    "'ls -la /workspace/d' to see them.");
}

/* bash in a terminal (fidelity rows 3, 7, 8, 16). */
static void test_shell_cases(void **state)
{
    struct fx *f = *state;
    run(f, "cd /workspace && pwd");
    assert_string_equal(content(f), "/workspace");
    run(f, "for i in {1..3}; do echo $i; done");
    assert_string_equal(content(f), "1\n2\n3");
    run(f, "[[ 1 == 1 ]] && echo yes");
    assert_string_equal(content(f), "yes");
    run(f, "echo -e \"a\\nb\"");
    assert_string_equal(content(f), "a\nb");
    run(f, "nonexistent_command");
    assert_non_null(strstr(content(f), "nonexistent_command: command not found"));
    assert_int_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(extras(f), "metadata"), "exit_code")->valueint,
        127);
    run(f, "echo; echo '   x'");
    assert_string_equal(content(f), "x");
    run(f, "printf 'a  \\nb\\tc\\n'");
    assert_string_equal(content(f), "a\nb       c");
    run(f, "printf 'step1\\rstep2\\n'");
    assert_string_equal(content(f), "step2");
    run(f, "tty");
    assert_non_null(strstr(content(f), "/dev/pts/"));
    run(f, "echo a\necho b");
    assert_jstr(f->json, "observation", "error");
    assert_string_equal(content(f), "ERROR: Cannot execute multiple commands at once.\nPlease run "
                                    "each command separately OR chain them into a single command "
                                    "via && or ;\nProvided commands:\n(1) echo a\n(2) echo b");
    run(f, "for i in 1 2\ndo\n  echo $i\ndone");
    assert_string_equal(content(f), "1\n2");
    run(f, "cat <<EOF\nx\n\ny\nEOF");
    assert_string_equal(content(f), "x\n\ny");
}

static void key(struct fx *f, const char *k, bool is_input)
{
    cJSON *a = cJSON_CreateObject();
    cJSON_AddStringToObject(a, "action", "run");
    cJSON *args = cJSON_AddObjectToObject(a, "args");
    cJSON_AddStringToObject(args, "command", k);
    cJSON_AddBoolToObject(args, "is_input", is_input);
    act(f, a);
}

static int exit_code(struct fx *f)
{
    return cJSON_GetObjectItem(cJSON_GetObjectItem(extras(f), "metadata"), "exit_code")->valueint;
}

/* bash.py:548-589 and the interactive cases of test_bash.py: the soft timeout leaves the
 * process running; is_input types into it; '' continues; C-c at an idle prompt. */
static void test_shell_interactive(void **state)
{
    struct fx *f = *state;
    /* the sandbox env has no NO_CHANGE_TIMEOUT_SECONDS: 10 s; a prompt waits that long */
    run(f, "export KEEP=1; read -p 'Enter name: ' name && echo \"Hello $name\"");
    assert_string_equal(content(f), "Enter name:");
    assert_int_equal(exit_code(f), -1);
    assert_non_null(strstr(jstr(cJSON_GetObjectItem(extras(f), "metadata"), "suffix"),
                           "[The command has no new output after 10 seconds."));
    key(f, "John", true);
    assert_string_equal(content(f), "Hello John");
    assert_int_equal(exit_code(f), 0);
    assert_jstr(cJSON_GetObjectItem(extras(f), "metadata"), "prefix",
                "[Below is the output of the previous command.]\n");
    run(f, "echo K=$KEEP");
    assert_string_equal(content(f), "K=1");
    key(f, "C-c", false);
    assert_string_equal(content(f), "^C");
    assert_int_equal(exit_code(f), 130);
    assert_jstr(cJSON_GetObjectItem(extras(f), "metadata"), "suffix",
                "\n[The command completed with exit code 130. CTRL+C was sent.]");
    key(f, "", false);
    assert_string_equal(content(f), "ERROR: No previous running command to retrieve logs from.");
}

/* The sandbox namespace starts with the first process; vendor state made later (Daytona's
 * session logs, beside the sandbox root) still reaches the processes (sandbox_ns.c attach).
 * The sequence of @daytonaio/sdk's fidelity steps: executeCommand, then a session. */
static void test_session_after_exec(void **state)
{
    struct fx *f = *state;
    char id[64];
    snprintf(id, sizeof(id), "%s", create(f, "{}"));
    assert_int_equal(call(f, "POST", tb(id, "/process/execute"), "{\"command\":\"echo hi\"}"), 200);
    assert_jstr(f->json, "result", "hi\n");
    assert_int_equal(call(f, "POST", tb(id, "/process/session"), "{\"sessionId\":\"late\"}"), 201);
    assert_int_equal(call(f, "POST", tb(id, "/process/session/late/exec"),
                          "{\"command\":\"echo from-session\"}"),
                     200);
    assert_jstr(f->json, "output", "from-session\n");
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ipython_cells_share_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edit_commands, setup, teardown),
        cmocka_unit_test_setup_teardown(test_view, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shell_cases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shell_interactive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_after_exec, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
