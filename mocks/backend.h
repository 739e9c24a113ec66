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
    struct sp_buf out; /* stdout (and stderr when merged) */
    struct sp_buf err; /* stderr when not merged */
    int64_t sleep_us;  /* synthetic: how long the command "ran" (sleep S); reply after it */
};
void mock_run_result_init(struct mock_run_result *res, size_t cap);
void mock_run_result_cleanup(struct mock_run_result *res);

struct mock_backend_ops {
    const char *name;
    /* Runs a shell command line in sb, cwd a sandbox path. Returns 0, or -1 when it could not
     * run at all (why says it). */
    int (*run)(struct mock_sandbox *sb,
               const char *cwd,
               const char *cmd,
               long timeout_ms,
               bool merge_stderr,
               struct mock_run_result *res,
               char *why,
               size_t whylen);
    /* Appends the file at path (sandbox path, relative to cwd) to out. 0, or -1 with errno. */
    int (*read_file)(struct mock_sandbox *sb,
                     const char *cwd,
                     const char *path,
                     struct sp_buf *out);
    /* Creates or replaces a file (parents made). 0, or -1 with errno. */
    int (*write_file)(
        struct mock_sandbox *sb, const char *cwd, const char *path, const void *data, size_t len);
};

extern const struct mock_backend_ops mock_backend_shell;
extern const struct mock_backend_ops mock_backend_synthetic;
const struct mock_backend_ops *mock_backend_ops(const struct sp_mock *m);
bool mock_is_synthetic(const struct sp_mock *m);

/* Replies 501 {"message":"... not supported by the synthetic backend ..."} naming the route. */
void mock_backend_unsupported(struct mock_req *r);

/* --- the synthetic backend on the vendors' wires (synthetic_routes.c) ----------------------- */

/* With the synthetic backend, replies 501 to a sandbox route it does not serve and returns
 * true; data_plane: the request is addressed to a sandbox by Host. */
bool mock_synthetic_gate(struct mock_req *r, bool data_plane);
struct as_ctx;
struct cJSON;
/* The action server's run/read/write actions (others: 501). */
void as_synthetic_action(struct as_ctx *c,
                         const char *type,
                         const struct cJSON *action,
                         const struct cJSON *args);
/* The action server's /upload_file (store: NULL or the failure) and /download_files. */
struct mock_part;
const char *
as_synthetic_store(struct as_ctx *c, const char *dest, const struct mock_part *f, bool unzip);
void as_synthetic_download(struct as_ctx *c, const char *path);
/* A stored zip of the in-memory files under sandbox directory gdir. 0, or -1 (too large). */
int mock_synthetic_zip_dir(struct mock_sandbox *sb, const char *gdir, struct sp_buf *out);
/* Daytona toolbox process/execute and files download/upload (host: the handler's resolved
 * host path; only its sandbox-relative part is used). dt_synthetic_save returns 0 or errno. */
void dt_synthetic_execute(struct mock_req *r,
                          struct mock_sandbox *sb,
                          const char *command,
                          const char *cwd,
                          long timeout_s);
void dt_synthetic_download(struct mock_req *r,
                           struct mock_sandbox *sb,
                           const char *path,
                           const char *host);
int dt_synthetic_save(struct mock_sandbox *sb, const char *host, const char *data, size_t len);
/* E2B envd process.Start (the whole Connect stream in one reply) and /files. */
void e2b_synthetic_start(struct mock_req *r,
                         struct mock_sandbox *sb,
                         const char *cwd,
                         const char *const *argv);
void e2b_synthetic_file_get(struct mock_req *r, struct mock_sandbox *sb, const char *guest);
int e2b_synthetic_file_put(struct mock_req *r,
                           struct mock_sandbox *sb,
                           const char *guest,
                           const char *data,
                           size_t len,
                           struct cJSON *out);

#endif
