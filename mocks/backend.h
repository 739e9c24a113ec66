/* The sandbox backend interface: how a command runs and a file is read or written in a mock
 * sandbox, whatever the vendor's wire. SHELL (shell_backend.c, hostfs.c) runs a real /bin/sh
 * in a directory per sandbox; SYNTHETIC (synthetic_backend.c) keeps files in memory and
 * interprets a few commands, with no process and no directory, for load runs. Handlers on a
 * load run's paths call through mock_backend_ops(); routes that need a real shell answer
 * mock_backend_unsupported() with the synthetic backend. */
#ifndef SP_MOCK_BACKEND_H
#define SP_MOCK_BACKEND_H

#include "mock_int.h"

struct mock_run_result {
    int exit_code;
    bool timed_out;
    struct sp_buf out;  /* stdout (and stderr when merged) */
    struct sp_buf err;  /* stderr when not merged */
    int64_t sleep_us;   /* synthetic: how long the command "ran" (sleep S); reply after it */
};
void mock_run_result_init(struct mock_run_result *res, size_t cap);
void mock_run_result_cleanup(struct mock_run_result *res);

struct mock_backend_ops {
    const char *name;
    /* Runs a shell command line in sb, cwd a sandbox path. Returns 0, or -1 when it could not
     * run at all (why says it). */
    int (*run)(struct mock_sandbox *sb, const char *cwd, const char *cmd, long timeout_ms,
               bool merge_stderr, struct mock_run_result *res, char *why, size_t whylen);
    /* Appends the file at path (sandbox path, relative to cwd) to out. 0, or -1 with errno. */
    int (*read_file)(struct mock_sandbox *sb, const char *cwd, const char *path,
                     struct sp_buf *out);
    /* Creates or replaces a file (parents made). 0, or -1 with errno. */
    int (*write_file)(struct mock_sandbox *sb, const char *cwd, const char *path,
                      const void *data, size_t len);
};

extern const struct mock_backend_ops mock_backend_shell;
extern const struct mock_backend_ops mock_backend_synthetic;
const struct mock_backend_ops *mock_backend_ops(const struct sp_mock *m);
bool mock_is_synthetic(const struct sp_mock *m);

/* Replies 501 {"message":"... not supported by the synthetic backend ..."} naming the route. */
void mock_backend_unsupported(struct mock_req *r);

#endif
