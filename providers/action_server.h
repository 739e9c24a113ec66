/* The OpenHands action execution server client (spec/openhands-action-server.md 2-4), as
 * reusable pieces for every provider that starts the server inside its sandboxes (Daytona
 * now; Modal and Runloop later). It knows nothing of any vendor: it talks to
 * sb->data_url with sb->data_headers (preview token, X-Session-API-Key, ...) and
 * sb->data_retry, and resolves relative paths against sb->workdir.
 *
 *  - sp_as_exec_step / sp_as_files_step are whole step functions: a provider's exec and
 *    files slots call them once its data plane is up.
 *  - sp_as_alive_* is a sub-machine a provider's startup step runs as its last phase.
 *  - The build/parse edge functions (action_server_json.c) turn our structs into the
 *    wire JSON of section 3 and back; unit tests call them directly.
 *
 * Client rules copied from OpenHands' ActionExecutionClient (spec section 4): HTTP timeout =
 * action timeout + 5 s; 429 retried 3 times 4 s apart; /alive polled at the client's
 * alive_interval_ms until alive_timeout_ms; one action at a time per sandbox (the caller's
 * business: one op per sandbox). */
#ifndef SP_ACTION_SERVER_H
#define SP_ACTION_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "errors.h"
#include "provider_int.h"

#define SP_AS_SESSION_HEADER      "X-Session-API-Key"
#define SP_AS_WORKDIR             "/workspace" /* OpenHands' workspace_mount_path_in_sandbox */
#define SP_AS_ACTION_TIMEOUT_MS   120000L      /* config.sandbox.timeout default */
#define SP_AS_ALIVE_TIMEOUT_MS    5000L        /* per /alive request */
#define SP_AS_LIST_TIMEOUT_MS     10000L
#define SP_AS_DOWNLOAD_TIMEOUT_MS 30000L
#define SP_AS_UPLOAD_TIMEOUT_MS   300000L
#define SP_AS_HTTP_GRACE_MS       5000L /* HTTP timeout = action timeout + this */
#define SP_AS_ATTEMPTS_429        3     /* utils/request.py: stop_after_attempt(3) */

/* Fills the 429 part of a data-plane retry policy (3 attempts, 4 s apart); leaves the 502
 * part (a provider's proxy quirk) as it is. Requests of this module apply these defaults
 * themselves when sb->data_retry has no 429 rule. */
void sp_as_retry_defaults(struct sp_retry_policy *p);

/* Appends the server's command line as OpenHands builds it (utils/command.py):
 * `/openhands/micromamba/bin/micromamba run -n openhands poetry run python -u -m
 * openhands.runtime.action_execution_server <port> --working-dir <workdir> --plugins
 * agent_skills jupyter --username openhands --user-id 1000`. A provider adds its own
 * prefix (Daytona: `mkdir -p /workspace && cd /openhands/code && `). Returns 0 or -1. */
int sp_as_server_command(unsigned port, const char *workdir, struct sp_buf *out);

/* --- readiness: the /alive sub-machine ------------------------------------------------------ */

struct sp_as_alive {
    int64_t deadline_ms;
    long interval_ms;
    long timeout_ms;
    int polls;
    char last[160]; /* what the last poll saw, for the timeout message */
};

/* Starts the deadline now, from c's alive_interval_ms / alive_timeout_ms. */
void sp_as_alive_begin(struct sp_as_alive *a, const struct sp_client *c);
/* Polls GET <data_url>/alive until any 2xx (OpenHands never reads the body). Called like a
 * step: rsp == NULL builds the next poll. Connection refused, 502, 503 ... wait and poll
 * again; 401/403 (the provider's proxy refused our token) fail at once as `auth`; past the
 * deadline, `timeout` with the last thing seen ("... (last: HTTP 502)"). */
enum sp_next sp_as_alive_step(struct sp_as_alive *a,
                              struct sp_op *op,
                              const struct sp_http_rsp *rsp,
                              struct sp_http_req *req,
                              struct sp_error *err);

/* --- exec and files -------------------------------------------------------------------------- */

/* exec through a `run` action with a hard timeout (blocking: true). env is exported in a
 * subshell so the server's persistent shell keeps its own state; a cwd makes the run
 * is_static (a fresh session in that directory, spec 3.5), since the server honours the
 * `cwd` argument only then. Output is the
 * observation's content; the server's suffix ("[The command completed with exit code 0.]",
 * "[The command timed out after 2.5 seconds. ...]") goes to x->detail, and a timeout suffix
 * sets x->timed_out (exit code -1). */
enum sp_next sp_as_exec_step(struct sp_op *op,
                             const struct sp_http_rsp *rsp,
                             struct sp_http_req *req,
                             struct sp_error *err);

/* files: WRITE/READ through `write`/`read` actions (text; write adds the final newline),
 * UPLOAD through /upload_file (multipart `file` into the parent directory), DOWNLOAD
 * through /download_files of the parent directory and the one member taken out of the
 * zip, LIST through /list_files. STAT, MKDIR and REMOVE are `unsupported`. */
enum sp_next sp_as_files_step(struct sp_op *op,
                              const struct sp_http_rsp *rsp,
                              struct sp_http_req *req,
                              struct sp_error *err);

/* --- helpers shared with providers' direct modes --------------------------------------------- */

/* Joins a relative path to workdir ("a/b" -> "/workspace/a/b"); absolute paths are kept.
 * Returns 0, or -1 when path is empty or the result does not fit. */
int sp_as_resolve_path(const char *workdir, const char *path, char *out, size_t outlen);

/* Appends s as one single-quoted shell word ('it'\''s'). Returns 0 or -1. */
int sp_shell_quote(struct sp_buf *b, const char *s);

/* Builds the command line that runs `command` in cwd (may be NULL) with env (may be NULL)
 * exported, inside a subshell: `(cd '/x' && export K='v' && command\n)`; just `command`
 * when there is neither. An env name that is not a shell identifier is a `config` error. */
enum sp_err sp_shell_wrap(const char *command,
                          const char *cwd,
                          const struct sp_kv *env,
                          struct sp_buf *out,
                          struct sp_error *err);

/* --- the wire format (action_server_json.c) -------------------------------------------------- */

/* {"action":{"message":..,"action":"run","args":{..all CmdRunAction fields..},
 * "timeout":<s>}} for the already wrapped command line. A cwd (absolute, may be NULL)
 * makes it an is_static run: the server runs it in a fresh bash session there. */
/* A key typed into the running command (is_input): "C-c" after a timed-out command, which
 * the real server keeps running and would otherwise refuse the next command for. */
enum sp_err
sp_as_build_key(const char *key, long timeout_ms, struct sp_buf *out, struct sp_error *err);
enum sp_err sp_as_build_run(const char *command,
                            const char *cwd,
                            long timeout_ms,
                            struct sp_buf *out,
                            struct sp_error *err);
/* A `run` observation into x (out, exit_code, timed_out, detail). An `error` observation is
 * an error (`unsupported` for "Cannot execute multiple commands at once", else `provider`
 * with the server's text); a command refused because the previous one still runs is
 * `conflict`; anything malformed is `protocol`. */
enum sp_err sp_as_parse_run(const char *body, size_t len, struct sp_exec *x, struct sp_error *err);

/* `read` and `write` actions for an absolute path. write refuses data that JSON text cannot
 * carry (NUL bytes, invalid UTF-8) with `unsupported`: use SP_FILE_UPLOAD for bytes. */
enum sp_err sp_as_build_read(const char *path, struct sp_buf *out, struct sp_error *err);
enum sp_err sp_as_build_write(
    const char *path, const void *data, size_t len, struct sp_buf *out, struct sp_error *err);
/* A `read` or `write` observation (want = "read" / "write") into f (content for read,
 * resolved_path from extras.path). An `error` observation is an error: "File not found" ->
 * `not_found` naming path, "Path is a directory" -> `conflict`, binary or non-UTF-8 file ->
 * `unsupported`, anything else -> `provider`. */
enum sp_err sp_as_parse_file_obs(const char *body,
                                 size_t len,
                                 const char *want,
                                 const char *path,
                                 struct sp_files *f,
                                 struct sp_error *err);

/* {"path": path} for /list_files, and its reply (a JSON array of names, directories with
 * a trailing '/') into f->entries. */
enum sp_err sp_as_build_list(const char *path, struct sp_buf *out, struct sp_error *err);
enum sp_err
sp_as_parse_list(const char *body, size_t len, struct sp_files *f, struct sp_error *err);
/* /upload_file's {"filename","destination","recursive"} into f->resolved_path. */
enum sp_err
sp_as_parse_upload(const char *body, size_t len, struct sp_files *f, struct sp_error *err);

/* Copies the `detail` of an error body ({"detail": "..."}) into out, or else its `message`
 * (the error shape of a provider's proxy in front of the server, e.g. Daytona's 401).
 * Returns 0 when there was one, -1 otherwise (not JSON, no such string). */
int sp_as_parse_detail(const char *body, size_t len, char *out, size_t outlen);

#endif
