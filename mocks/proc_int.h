/* Starting processes inside a mock sandbox (proc.c), shared by the persistent shell
 * (shell_backend.c) and the one-shot processes (proc.c): a fork/exec that reports exec
 * failures, the sandbox environment, and output pipes. Included by the files that start sandbox
 * processes. */
#ifndef SP_MOCK_PROC_INT_H
#define SP_MOCK_PROC_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "kv.h"

struct mock_spawn_spec {
    const char *path;
    char **argv, **envp;
    const char *cwd, *fallback_cwd; /* fallback when cwd was removed */
    int in_fd;                      /* child's stdin; -1 = /dev/null */
    int out_fd, err_fd;
};

/* Forks and execs s in a new session (so it leads its own process group) with only fds
 * 0-2 open; returns once the exec happened (0, *pid set) or failed (-1, errno set).
 * cwd may be a host path under the sandbox root or a sandbox path. The process runs in the
 * sandbox's bubblewrap namespace when bwrap works here (sandbox_ns.c); killing the returned
 * process group then ends every process of the tree. Forks happen on one long-lived thread,
 * so bwrap's --die-with-parent never fires because a request thread ended. */
int mock_spawn(const struct mock_spawn_spec *s, pid_t *pid);
/* The same with the sandbox root given (host dir of the sandbox's "/"): cwd may then be a
 * sandbox path. mock_spawn finds the root from cwd. */
int mock_spawn_in(const struct mock_spawn_spec *s, const char *root, pid_t *pid);

/* The base environment of every sandbox process (the server's own environment, which
 * may hold API keys, is never passed on), plus `extra`, which wins; its PATH is copied
 * into path. Heap "K=V" vector, freed with mock_strv_free; NULL when out of memory. */
char **mock_env_build(const char *home, const struct sp_kv *extra, char *path, size_t plen);
void mock_strv_free(char **v);

/* Creates the output pipes; our read ends are non-blocking. fds: out_r, out_w, err_r, err_w.
 * Returns 0, or -1 with all four -1. */
int mock_output_pipes(int fds[4]);
/* Closes *fd if open and sets it to -1. */
void mock_close_fd(int *fd);

/* sandbox_ns.c: whether processes run under bubblewrap (probed once; the first call prints
 * one warning line with the reason when they cannot); the sandbox root that holds a host
 * path (0, or -1 when the path is not under a store); the bwrap argv that runs exe with
 * argv[1..] in the sandbox namespace at guest_cwd (heap, mock_strv_free; NULL when out of
 * memory). */
bool mock_ns_available(const char **why);
/* One namespace per sandbox (sandbox_ns.c): its descriptors, to join it. mock_ns_get finds
 * or starts the namespace of the sandbox at root and returns it referenced (fds set, valid
 * until mock_ns_put); NULL when none can be kept (not root: each process gets its own).
 * mock_ns_release kills every process in it (sandbox deleted, mock exiting). */
struct mock_ns_fds {
    int pid, mnt, ipc, uts, root;
};
struct mock_ns;
struct mock_ns *mock_ns_get(const char *root, struct mock_ns_fds *fds);
void mock_ns_put(struct mock_ns *n);
void mock_ns_release(const char *root);
/* mock_proc_spawn (mock_int.h) with the sandbox root given (NULL: found from cwd). */
int mock_proc_spawn_in(const char *const *argv,
                       const struct sp_kv *env,
                       const char *cwd,
                       const char *home,
                       const char *root,
                       struct mock_proc **out);
/* mock_spawn without any sandbox handling; extra_fd (>= 0) becomes the process's fd 3. */
int mock_spawn_raw(const struct mock_spawn_spec *s, int extra_fd, pid_t *pid);
int mock_ns_root_of(const char *host, char *root, size_t len);
char **mock_ns_argv(const char *root, const char *guest_cwd, const char *exe, char *const *argv);

#endif
