/* The `run_ipython` action of the action-server mock (OpenHands action_execution_server.py
 * run_ipython, plugins/jupyter/execute_server.py): one persistent Python 3 process per
 * sandbox keeps its globals from cell to cell, as the server's Jupyter kernel does. A cell
 * shows what Jupyter shows: its stdout and stderr as printed, then the repr of a last
 * expression that is not None (execute_result text/plain); an exception shows its
 * traceback (Python's layout, not IPython's). `!cmd`, `%pip` and `%cd` lines work as IPython
 * magics. No output at all: "[Code executed successfully with no output]". The kernel's
 * cwd follows the bash session's, and the two "[Jupyter ...]" lines are added when
 * include_extra is set.
 *
 * The driver reads each cell as "<length>\n<utf-8 code>" from a descriptor of its own (the
 * cell's stdin is /dev/null, like a kernel without allow_stdin) and ends its output with
 * "\036SP<token>\036". A cell past the action's timeout gets "[Execution timed out (<t>
 * seconds).]"; unlike Jupyter's interrupt, the process is restarted, so globals are lost. */
#define _GNU_SOURCE
#include "action_server_int.h"
#include "proc_int.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "provider.h" /* sp_now_ms */

#define PYTHON   "/usr/bin/python3"
#define CELL_CAP ((size_t)16 << 20)

struct mock_py {
    pid_t pid;
    int in_fd, out_fd;
    char token[24];
    char cwd[1024]; /* the kernel's cwd (sandbox path), "" until set */
};

static const char DRIVER[] =
    "import ast, os, sys, traceback\n"
    "cells = os.fdopen(os.dup(0), 'rb', 0)\n"
    "os.dup2(os.open('/dev/null', os.O_RDONLY), 0)\n"
    "os.dup2(1, 2)\n"
    "sys.stderr = sys.stdout\n"
    "env = {'__name__': '__main__', '__builtins__': __builtins__}\n"
    "end = '\\x1eSP' + sys.argv[1] + '\\x1e'\n"
    "def sh(cmd):\n"
    "    sys.stdout.flush()\n"
    "    __import__('subprocess').run(cmd, shell=True, executable='/bin/bash')\n"
    "env['__sp_sh'] = sh\n"
    "def magics(src):\n"
    "    out = []\n"
    "    for line in src.split('\\n'):\n"
    "        body = line.lstrip()\n"
    "        pad = line[:len(line) - len(body)]\n"
    "        word, _, rest = body.partition(' ')\n"
    "        if body.startswith('!'):\n"
    "            line = pad + '__sp_sh(' + repr(body[1:]) + ')'\n"
    "        elif word == '%pip':\n"
    "            line = (pad + '__sp_sh(' + repr(sys.executable + ' -m pip ' + rest) + '); '\n"
    "                    'print(\"Note: you may need to restart the kernel to use updated '\n"
    "                    'packages.\")')\n"
    "        elif word == '%cd':\n"
    "            line = pad + '__import__(\"os\").chdir(' + repr(rest.strip()) + ')'\n"
    "        out.append(line)\n"
    "    return '\\n'.join(out)\n"
    "while True:\n"
    "    head = cells.readline()\n"
    "    if not head:\n"
    "        break\n"
    "    want, code = int(head), b''\n"
    "    while len(code) < want:\n"
    "        more = cells.read(want - len(code))\n"
    "        if not more:\n"
    "            sys.exit(0)\n"
    "        code += more\n"
    "    try:\n"
    "        tree = ast.parse(magics(code.decode('utf-8', 'replace')), '<cell>', 'exec')\n"
    "        last = None\n"
    "        if tree.body and isinstance(tree.body[-1], ast.Expr):\n"
    "            last = ast.Expression(tree.body.pop().value)\n"
    "        exec(compile(tree, '<cell>', 'exec'), env)\n"
    "        if last is not None:\n"
    "            value = eval(compile(last, '<cell>', 'eval'), env)\n"
    "            if value is not None:\n"
    "                sys.stdout.write(repr(value))\n"
    "    except BaseException:\n"
    "        kind, err, tb = sys.exc_info()\n"
    "        traceback.print_exception(kind, err, tb.tb_next if tb else None)\n"
    "    sys.stdout.flush()\n"
    "    sys.stdout.write(end)\n"
    "    sys.stdout.flush()\n";

void mock_py_free(struct mock_py *py)
{
    if (py == NULL)
        return;
    if (py->pid > 0) {
        kill(-py->pid, SIGKILL);
        while (waitpid(py->pid, NULL, 0) < 0 && errno == EINTR) {
        }
    }
    mock_close_fd(&py->in_fd);
    mock_close_fd(&py->out_fd);
    free(py);
}

static struct mock_py *py_start(struct as_ctx *c)
{
    char path[4096];
    struct mock_py *py = calloc(1, sizeof *py);
    char **envp = mock_env_build(c->workdir_host, &c->sb->env, path, sizeof path);
    int in[2] = {-1, -1}, fds[4] = {-1, -1, -1, -1};
    if (py == NULL || envp == NULL)
        goto fail;
    py->in_fd = py->out_fd = -1;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(py->token, sizeof py->token, "%08lx%08lx",
             (unsigned long)ts.tv_nsec ^ (unsigned long)getpid(),
             (unsigned long)(uintptr_t)py ^ (unsigned long)ts.tv_sec);
    char a0[] = "python3", a1[] = "-u", a2[] = "-c";
    char *argv[] = {a0, a1, a2, (char *)(uintptr_t)DRIVER, py->token, NULL};
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) != 0 || mock_output_pipes(fds) != 0)
        goto fail;
    struct mock_spawn_spec s = {PYTHON, argv, envp, c->workdir_host, NULL, in[1], fds[1], fds[1]};
    if (mock_spawn_in(&s, c->sb->root, &py->pid) != 0)
        goto fail;
    py->in_fd = in[0];
    py->out_fd = fds[0];
    in[0] = fds[0] = -1;
    mock_close_fd(&in[1]);
    for (int i = 0; i < 4; i++)
        mock_close_fd(&fds[i]);
    mock_strv_free(envp);
    return py;
fail:
    mock_close_fd(&in[0]);
    mock_close_fd(&in[1]);
    for (int i = 0; i < 4; i++)
        mock_close_fd(&fds[i]);
    mock_strv_free(envp);
    free(py);
    return NULL;
}

/* Runs one cell; 0 with its output in out, 1 at the timeout, -1 when the process died. */
static int py_cell(struct mock_py *py, const char *code, long timeout_ms, struct sp_buf *out)
{
    char head[32];
    int hl = snprintf(head, sizeof head, "%zu\n", strlen(code));
    if (send(py->in_fd, head, (size_t)hl, MSG_NOSIGNAL) != hl ||
        send(py->in_fd, code, strlen(code), MSG_NOSIGNAL) != (ssize_t)strlen(code))
        return -1;
    char end[40];
    snprintf(end, sizeof end, "\036SP%s\036", py->token);
    size_t el = strlen(end);
    int64_t deadline = timeout_ms > 0 ? sp_now_ms() + timeout_ms : 0;
    for (;;) {
        if (out->len >= el && memcmp(out->data + out->len - el, end, el) == 0) {
            out->len -= el;
            out->data[out->len] = '\0';
            return 0;
        }
        int wait = 1000;
        if (deadline != 0) {
            int64_t left = deadline - sp_now_ms();
            if (left <= 0)
                return 1;
            wait = left < wait ? (int)left : wait;
        }
        struct pollfd pfd = {py->out_fd, POLLIN, 0};
        if (poll(&pfd, 1, wait) <= 0)
            continue;
        char chunk[16384];
        ssize_t n = read(py->out_fd, chunk, sizeof chunk);
        if (n > 0 && out->len < CELL_CAP)
            sp_buf_append(out, chunk, (size_t)n);
        else if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            return -1;
    }
}

/* ESC [ ... letter sequences removed (strip_ansi). */
static void strip_ansi(struct sp_buf *b)
{
    size_t w = 0;
    for (size_t i = 0; i < b->len; i++) {
        if (b->data[i] == '\033' && i + 1 < b->len && b->data[i + 1] == '[') {
            size_t j = i + 2;
            while (j < b->len && !((b->data[j] >= '@' && b->data[j] <= '~')))
                j++;
            i = j;
            continue;
        }
        b->data[w++] = b->data[i];
    }
    b->len = w;
    if (b->data)
        b->data[w] = '\0';
}

cJSON *as_action_ipython(
    struct as_ctx *c, const char *code, bool include_extra, bool has_timeout, double timeout_s)
{
    char cwd[1024] = "", num[40];
    struct mock_py **slot = mock_term_py_slot(c->sb);
    if (slot == NULL || as_shell_cwd(c, cwd, sizeof cwd) != 0)
        return as_error_observation("IPython kernel could not be started");
    if (*slot == NULL && (*slot = py_start(c)) == NULL)
        return as_error_observation("IPython kernel could not be started");
    struct mock_py *py = *slot;
    struct sp_buf out;
    sp_buf_init(&out, 0);
    if (strcmp(py->cwd, cwd) != 0) { /* action_execution_server.py:405-420 */
        struct sp_buf chdir_code;
        sp_buf_init(&chdir_code, 0);
        sp_buf_printf(&chdir_code, "import os; os.chdir(\"%s\")", cwd);
        if (py_cell(py, sp_buf_str(&chdir_code), 10000, &out) == 0)
            snprintf(py->cwd, sizeof py->cwd, "%s", cwd);
        sp_buf_cleanup(&chdir_code);
        sp_buf_reset(&out);
    }
    int rc = py_cell(py, code, has_timeout ? (long)(timeout_s * 1000.0) : 0, &out);
    if (rc != 0) { /* timed out or died: a fresh kernel next time */
        mock_py_free(py);
        *slot = NULL;
    }
    if (rc != 0)
        sp_buf_reset(&out);
    if (rc == 1) {
        if (has_timeout)
            as_py_float(timeout_s, num, sizeof num);
        sp_buf_printf(&out, "[Execution timed out (%s seconds).]", has_timeout ? num : "None");
    }
    strip_ansi(&out);
    if (rc == 0 && out.len == 0)
        sp_buf_puts(&out, "[Code executed successfully with no output]");
    while (out.len > 0 && strchr(" \t\n\r\v\f", out.data[out.len - 1]) != NULL)
        out.data[--out.len] = '\0';
    if (include_extra)
        sp_buf_printf(&out,
                      "\n[Jupyter current working directory: %s]\n[Jupyter Python "
                      "interpreter: %s]",
                      cwd, AS_PY_INTERPRETER);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "message", "Code executed in IPython cell.");
    cJSON_AddStringToObject(o, "observation", "run_ipython");
    cJSON_AddStringToObject(o, "content", sp_buf_str(&out));
    cJSON *extras = cJSON_AddObjectToObject(o, "extras");
    cJSON_AddStringToObject(extras, "code", code);
    cJSON_AddNullToObject(extras, "image_urls");
    cJSON_AddBoolToObject(o, "success", true);
    sp_buf_cleanup(&out);
    return o;
}
