/* What the files of the OpenHands action-server mock share: action_server.c (routing, auth,
 * the small endpoints), action_server_exec.c (/execute_action decoding), action_server_run.c
 * (the `run` action) and action_server_files.c (the `read` and `write` actions,
 * /upload_file, /download_files, /list_files). Wire facts: spec/openhands-action-server.md
 * sections 2 and 3. */
#ifndef SP_MOCK_ACTION_SERVER_INT_H
#define SP_MOCK_ACTION_SERVER_INT_H

#include <cjson/cJSON.h>

#include "mock_int.h"

/* One request to one action server. */
struct as_ctx {
    struct mock_req *r;
    struct mock_sandbox *sb;
    char workdir[512];       /* the server's --working-dir, a sandbox path */
    char workdir_host[1024]; /* the same on the host */
};

/* The arguments of a `run` action (CmdRunAction) and the action's top-level timeout. */
struct as_run_args {
    const char *command;
    bool is_input, blocking, is_static, hidden;
    const char *cwd; /* NULL = the working dir */
    bool has_timeout;
    double timeout_s;
};

/* FastAPI's error body {"detail": detail}. */
void as_reply_detail(struct mock_req *r, int status, const char *detail);
/* 422 as the server's RequestValidationError handler writes it; errors is the Python repr
 * of pydantic's error list. */
void as_reply_invalid(struct mock_req *r, const char *errors);

/* An ErrorObservation: {"message", "observation":"error", "content", "extras":{"error_id"}}. */
cJSON *as_error_observation(const char *content);

/* The bash session's cwd as a sandbox path (runs a no-op in the persistent shell, which it
 * spawns in the working dir if needed). Callers hold sb->exec_lock. Returns 0 or -1. */
int as_shell_cwd(struct as_ctx *c, char *out, size_t outlen);

/* str() of a Python float: "2.5", "120.0". */
void as_py_float(double v, char *out, size_t len);

/* POST /execute_action: decodes the action and replies with its observation or the error. */
void as_execute_action(struct as_ctx *c);

/* The `run` action; returns the observation (NULL only when out of memory). Callers hold
 * sb->exec_lock. */
cJSON *as_action_run(struct as_ctx *c, const struct as_run_args *a);

/* The interpreter path the real server reports (its poetry venv). */
#define AS_PY_INTERPRETER "/openhands/poetry/openhands-ai-5O4_aCHf-py3.12/bin/python"

/* The `run_ipython` action (ipython.c). Callers hold sb->exec_lock. */
cJSON *as_action_ipython(
    struct as_ctx *c, const char *code, bool include_extra, bool has_timeout, double timeout_s);
/* The `edit` action and the oh_aci `read` (aci_edit.c): args already checked for names. */
cJSON *as_action_edit(struct as_ctx *c, const cJSON *args);
cJSON *as_aci_view(struct as_ctx *c, const char *path, const cJSON *view_range);

/* The top-level commands of a `run` command (action_server_split.c): a NULL-terminated
 * heap vector (as_split_free) and its length. */
int as_split_commands(const char *cmd, char ***out);
void as_split_free(char **v);

/* The `read` and `write` actions: args already checked for names and types. Return the
 * observation (never NULL unless out of memory). Callers hold sb->exec_lock. */
cJSON *as_action_read(struct as_ctx *c, const cJSON *args);
cJSON *as_action_write(struct as_ctx *c, const cJSON *args);

/* The file endpoints. */
void as_upload_file(struct as_ctx *c);
void as_download_files(struct as_ctx *c);
void as_list_files(struct as_ctx *c);

#endif
