/* mock_shell_run: one command in a fresh /bin/sh inside the sandbox (its bubblewrap
 * namespace, sandbox_ns.c), stdout and stderr apart or merged, up to a timeout, after which
 * the command is killed. The shell backend interface (backend.h) runs commands this way;
 * the action server's persistent bash is shell_backend.c. cwd and exports do not persist. */
#include "mock_int.h"
#include "proc_int.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "provider.h" /* sp_now_ms */

void mock_shell_result_init(struct mock_shell_result *res, size_t cap)
{
    memset(res, 0, sizeof *res);
    sp_buf_init(&res->out, cap);
    sp_buf_init(&res->err, cap);
}

void mock_shell_result_cleanup(struct mock_shell_result *res)
{
    if (res == NULL)
        return;
    sp_buf_cleanup(&res->out);
    sp_buf_cleanup(&res->err);
}

static void keep(struct mock_shell_result *res, struct sp_buf *b, const char *p, size_t n)
{
    size_t room = b->max > b->len ? b->max - b->len : 0;
    if (n > room)
        res->truncated = true;
    sp_buf_append(b, p, n < room ? n : room);
}

int mock_shell_run(struct mock_sandbox *sb,
                   const char *workdir,
                   const char *cmd,
                   long timeout_ms,
                   bool merge_stderr,
                   struct mock_shell_result *res)
{
    char home[1100];
    struct mock_proc *p = NULL;
    const char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    res->exit_code = 0;
    res->timed_out = res->truncated = false;
    snprintf(res->cwd, sizeof res->cwd, "%s", workdir ? workdir : "");
    snprintf(home, sizeof home, "%s", workdir ? workdir : sb->root);
    if (cmd == NULL || workdir == NULL ||
        mock_proc_spawn_in(argv, &sb->env, workdir, home, sb->root, &p) != 0)
        return -1;
    int64_t deadline = timeout_ms > 0 ? sp_now_ms() + timeout_ms : 0;
    char chunk[16384];
    for (;;) {
        long wait = 1000;
        if (deadline != 0) {
            int64_t left = deadline - sp_now_ms();
            if (left <= 0) {
                res->timed_out = true;
                mock_proc_kill(p);
                break;
            }
            wait = left < wait ? (long)left : wait;
        }
        int stream = 1;
        ssize_t n = mock_proc_read(p, wait, chunk, sizeof chunk, &stream);
        if (n < 0)
            break;
        if (n > 0)
            keep(res, stream == 2 && !merge_stderr ? &res->err : &res->out, chunk, (size_t)n);
    }
    int code = 0, sig = 0;
    mock_proc_wait(p, &code, &sig);
    res->exit_code = res->timed_out ? -1 : sig ? 128 + sig : code;
    mock_proc_free(p);
    return 0;
}
