/* The Daytona provider's internals, shared by daytona.c (configuration, auth, create,
 * attach, cleanup), daytona_startup.c, daytona_toolbox.c (the direct toolbox mode), daytona_json.c
 * (the wire format of spec/daytona-runloop.md Part A, SDK 0.24.2) and the unit tests. */
#ifndef SP_DAYTONA_H
#define SP_DAYTONA_H

#include <stdbool.h>
#include <stddef.h>

#include "provider_int.h"

#define DAYTONA_DEFAULT_URL      "https://app.daytona.io/api"
#define DAYTONA_SESSION_KEY      "OpenHands_SID"
#define DAYTONA_SERVER_PORT      4444                      /* spec/openhands 2.5 */
#define DAYTONA_SERVER_SESSION   "action-execution-server" /* daytona_runtime.py */
#define DAYTONA_PREVIEW_HEADER   "X-Daytona-Preview-Token"
#define DAYTONA_SDK_VERSION      "0.24.2" /* newer daemons change output formats by it (A7.4) */
#define DAYTONA_POLL_MS          100      /* the SDK's state poll interval (A5) */
#define DAYTONA_BLOCKING_CALL_MS 60000    /* create and start block up to 30 s server-side */
/* The HTTP timeout of create and start, which block until the sandbox started: the ready
 * deadline (60 s by default, the SDK's), so a client with a short one is not held longer. */
#define DAYTONA_STARTING_CALL_MS(op) ((op)->client->opts.ready_timeout_ms)

enum daytona_mode { DAYTONA_MODE_ACTION_SERVER, DAYTONA_MODE_TOOLBOX };

struct daytona_cfg {
    char *api_key; /* secret: only ever goes into the Authorization header */
    char api_url[512];
    char target[64];
    char snapshot[256];
    bool delete_on_close;
    bool disable_auto_stop;
    enum daytona_mode mode;
};

/* What we keep of a Sandbox object (A4). */
struct daytona_sandbox {
    char id[128];
    char state[32]; /* "" when the object has none */
    char error_reason[200];
    char session[128];         /* labels.OpenHands_SID, "" when absent */
    char session_api_key[128]; /* env.SESSION_API_KEY (a secret), "" when absent */
    bool is_public;
};

/* The pages of GET /sandbox, folded: destroyed sandboxes are skipped. */
struct daytona_list {
    struct daytona_sandbox first; /* the first live sandbox seen */
    size_t matches;               /* live sandboxes seen so far */
    char cursor[512];             /* nextCursor of the last page, "" when there is no more */
};

/* POST /sandbox, as OpenHands' DaytonaRuntime asks for it (A6, spec/openhands 5.1). */
struct daytona_create_req {
    const char *snapshot;        /* NULL = the server's default */
    const char *target;          /* NULL = the server's default region */
    const char *session;         /* labels.OpenHands_SID */
    const char *run_id;          /* labels.sandprobe_run, may be NULL */
    const char *session_api_key; /* env.SESSION_API_KEY, NULL = none */
    const struct sp_kv *env;     /* caller's variables, may be NULL */
    bool action_server;          /* add the server's env (port, PYTHONUNBUFFERED, VSCODE_PORT) */
    bool is_public;
    int auto_stop_minutes;
};

/* --- daytona_json.c -------------------------------------------------------------------------- */

enum sp_err sp__daytona_build_create(const struct daytona_create_req *c,
                                     struct sp_buf *out,
                                     struct sp_error *err);
/* {"<key>":"<value>"}: the labels filter of GET /sandbox (not yet URL-encoded). */
enum sp_err sp__daytona_build_labels(const char *key,
                                     const char *value,
                                     struct sp_buf *out,
                                     struct sp_error *err);
/* {"sessionId": id} */
enum sp_err sp__daytona_build_session(const char *id, struct sp_buf *out, struct sp_error *err);
/* {"command": c, "runAsync": true, "async": true}: 0.24.2 sends the deprecated `async`,
 * newer daemons read `runAsync`; either makes the command asynchronous. */
enum sp_err
sp__daytona_build_session_exec(const char *command, struct sp_buf *out, struct sp_error *err);
/* {"command": c, "cwd": cwd (omitted when NULL), "timeout": seconds} */
enum sp_err sp__daytona_build_execute(
    const char *command, const char *cwd, long timeout_s, struct sp_buf *out, struct sp_error *err);

enum sp_err sp__daytona_parse_sandbox(const char *body,
                                      size_t len,
                                      struct daytona_sandbox *out,
                                      struct sp_error *err);
/* One page of GET /sandbox: a JSON array (0.24.2) or {"items":[...],"nextCursor":..}
 * (newest). Adds the live sandboxes to acc and sets acc->cursor. */
enum sp_err sp__daytona_parse_list(const char *body,
                                   size_t len,
                                   struct daytona_list *acc,
                                   struct sp_error *err);
/* {"url","token",...} of GET /sandbox/{id}/ports/{port}/preview-url; url without a
 * trailing slash; token "" when absent. */
enum sp_err sp__daytona_parse_preview(const char *body,
                                      size_t len,
                                      char *url,
                                      size_t urllen,
                                      char *token,
                                      size_t tokenlen,
                                      struct sp_error *err);
/* The message of a Nest ({statusCode,..,message}, message a string or an array of strings)
 * or daemon error body. Returns 0 when found, -1 otherwise. */
int sp__daytona_parse_error(const char *body, size_t len, char *msg, size_t msglen);
/* process/execute's {"exitCode","result"} into x. */
enum sp_err
sp__daytona_parse_execute(const char *body, size_t len, struct sp_exec *x, struct sp_error *err);
/* GET files: [FileInfo] into f->entries; GET files/info: one FileInfo into f->entries[0]. */
enum sp_err
sp__daytona_parse_file_list(const char *body, size_t len, struct sp_files *f, struct sp_error *err);
enum sp_err
sp__daytona_parse_file_info(const char *body, size_t len, struct sp_files *f, struct sp_error *err);
/* {"dir": "/home/daytona"} of GET project-dir. */
enum sp_err sp__daytona_parse_project_dir(
    const char *body, size_t len, char *dir, size_t dirlen, struct sp_error *err);

/* --- daytona.c ------------------------------------------------------------------------------- */

/* Starts req as a control-plane request: <api_url><path> with the API headers. path is
 * printf-formatted. Returns SP_NEXT_REQUEST, or SP_NEXT_FAIL with err set. */
enum sp_next sp__daytona_api(const struct daytona_cfg *cfg,
                             struct sp_http_req *req,
                             enum sp_method m,
                             long timeout_ms,
                             struct sp_error *err,
                             const char *fmt,
                             ...) __attribute__((format(printf, 6, 7)));
/* Fills err for a failed control-plane or toolbox call: the Nest/daemon message, its
 * status class, and `conflict` for 400s that say the sandbox is in the wrong state.
 * Prefixes `what`. Returns SP_NEXT_FAIL. */
enum sp_next
sp__daytona_fail(const struct sp_http_rsp *rsp, const char *what, struct sp_error *err);

/* POSTs json to <api_url><path> (a JSON body on top of sp__daytona_api). */
enum sp_next sp__daytona_api_json(const struct daytona_cfg *cfg,
                                  struct sp_http_req *req,
                                  const struct sp_buf *json,
                                  long timeout_ms,
                                  struct sp_error *err,
                                  const char *path);
/* The poll request: GET /sandbox/{id} of op's sandbox. */
enum sp_next
sp__daytona_get_sandbox(struct sp_op *op, struct sp_http_req *req, struct sp_error *err);
/* The answer to a poll into d and op->sandbox->state: a failed call as sp__daytona_fail
 * ("get sandbox"), `state` error for error and build_failed (with errorReason). Returns 0,
 * or -1 with err set. */
int sp__daytona_poll_state(struct sp_op *op,
                           const struct sp_http_rsp *rsp,
                           struct daytona_sandbox *d,
                           struct sp_error *err);
/* Asks for the next poll in DAYTONA_POLL_MS, or fails with `timeout` naming the last state
 * once op->deadline_ms has passed ("sandbox X not <goal> after N s (last state: Y)"). */
enum sp_next sp__daytona_poll_later(struct sp_op *op, const char *goal, struct sp_error *err);

/* --- daytona_startup.c ------------------------------------------------------------------------ */

enum sp_next sp__daytona_startup(struct sp_op *op,
                                 const struct sp_http_rsp *rsp,
                                 struct sp_http_req *req,
                                 struct sp_error *err);

/* --- daytona_toolbox.c: direct exec and files (mode "toolbox") -------------------------------- */

enum sp_next sp__daytona_toolbox_exec(struct sp_op *op,
                                      const struct sp_http_rsp *rsp,
                                      struct sp_http_req *req,
                                      struct sp_error *err);
enum sp_next sp__daytona_toolbox_files(struct sp_op *op,
                                       const struct sp_http_rsp *rsp,
                                       struct sp_http_req *req,
                                       struct sp_error *err);

#endif
