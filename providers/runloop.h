/* The Runloop provider's internals, shared by runloop.c (configuration, auth, create, attach,
 * cleanup), runloop_startup.c (wait for `running`, the tunnel, /alive), runloop_direct.c
 * (mode "direct": Runloop's own execute and file routes), runloop_listing.c (the list step of
 * `sweep`), runloop_json.c (the wire format of spec/runloop-modal.md Part R) and the unit tests. */
#ifndef SP_RUNLOOP_H
#define SP_RUNLOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "provider_int.h"

#define RUNLOOP_DEFAULT_URL   "https://api.runloop.ai"
#define RUNLOOP_SESSION_KEY   "name" /* OpenHands names the devbox after the session (R2) */
#define RUNLOOP_SERVER_PORT   4444
#define RUNLOOP_VSCODE_PORT   4445
#define RUNLOOP_PREBUILT      "openhands"
#define RUNLOOP_HOME          "/home/user" /* file paths and execute_sync start here (R3) */
#define RUNLOOP_TUNNEL_HEADER "X-Runloop-Tunnel-Authorization"
#define RUNLOOP_LIST_LIMIT    20    /* the server's default page, as OpenHands gets it */
#define RUNLOOP_WAIT_HOLD_MS  30000 /* wait_for_status: the server holds up to 30 s (R4) */
#define RUNLOOP_ATTEMPTS      3     /* per API request, with the SDKs' retry rule (R1) */

/* The API generation and where exec and files go. */
enum runloop_mode {
    RUNLOOP_MODE_ACTION_SERVER, /* OpenHands' generation: create_tunnel {port}, URL verbatim */
    RUNLOOP_MODE_TUNNEL_V2,     /* newest: tunnel in the create body, {port}-{key}.tunnel.<d> */
    RUNLOOP_MODE_DIRECT         /* execute_async / executions, *_file_contents, upload/download */
};

struct runloop_cfg {
    char *api_key; /* secret: only ever goes into the Authorization header */
    char base_url[512];
    char tunnel_domain[256]; /* v2 tunnels: host part after "{port}-{key}." */
    char scheme[8];          /* of base_url: "http" or "https" */
    enum runloop_mode mode;
};

/* What we keep of a DevboxView. */
struct runloop_devbox {
    char id[128];
    char name[128];
    char status[32];
    char failure_reason[128];
    char run_label[128];    /* metadata.sandprobe_run, "" when absent */
    char match[128];        /* metadata[<key asked for>] when parsing a list, else "" */
    char tunnel_key[128];   /* tunnel.tunnel_key (v2), "" when none */
    char tunnel_token[256]; /* tunnel.auth_token (authenticated v2 tunnels), a secret */
};

/* The pages of GET /v1/devboxes, folded. */
struct runloop_list {
    const char *key;             /* RUNLOOP_SESSION_KEY for the name, else a metadata key */
    const char *value;           /* what that must equal */
    struct runloop_devbox first; /* the first match */
    size_t matches;
    size_t seen; /* devboxes on every page so far */
    bool has_more;
    char last_id[128]; /* the starting_after of the next page */
};

/* POST /v1/devboxes as OpenHands' RunloopRuntime sends it (R2), with the v2 tunnel. */
struct runloop_create_req {
    const char *name;        /* the session */
    const char *run_id;      /* metadata.sandprobe_run, may be NULL */
    const char *prebuilt;    /* NULL = "openhands" */
    const char *entrypoint;  /* NULL = none (direct mode) */
    const struct sp_kv *env; /* environment_variables, may be NULL */
    bool launch_parameters;  /* available_ports 4444/4445, LARGE, mkdir -p /workspace */
    const char *tunnel_auth; /* "open" / "authenticated": v2 tunnel in the body; NULL = none */
};

/* An execution (execute_sync, execute_async, executions/{id}, wait_for_status). */
struct runloop_execution {
    char id[128];    /* execution_id, "" for execute_sync */
    char status[32]; /* queued, running, completed; "completed" for execute_sync */
    bool has_exit;
    int exit_status;
};

/* --- runloop_json.c ------------------------------------------------------------------------ */

enum sp_err sp__runloop_build_create(const struct runloop_create_req *c,
                                     struct sp_buf *out,
                                     struct sp_error *err);
/* {"port": port} of create_tunnel. */
enum sp_err sp__runloop_build_port(unsigned port, struct sp_buf *out, struct sp_error *err);
/* {"auth_mode": mode} of enable_tunnel. */
enum sp_err
sp__runloop_build_tunnel(const char *auth_mode, struct sp_buf *out, struct sp_error *err);
/* {"command": c} of execute_sync / execute_async. */
enum sp_err
sp__runloop_build_command(const char *command, struct sp_buf *out, struct sp_error *err);
/* {"statuses": ["completed"]} of executions/{id}/wait_for_status. */
enum sp_err
sp__runloop_build_statuses(const char *status, struct sp_buf *out, struct sp_error *err);
/* {"file_path": p[, "contents": text]} of read_ / write_file_contents; {"path": p} of
 * download_file (key "path"). write refuses data JSON text cannot carry (NUL, bad UTF-8). */
enum sp_err sp__runloop_build_file(const char *key,
                                   const char *path,
                                   const void *contents,
                                   size_t len,
                                   struct sp_buf *out,
                                   struct sp_error *err);

/* A DevboxView. The id must look like "dbx_" + alphanumerics (R6). */
enum sp_err sp__runloop_parse_devbox(const char *body,
                                     size_t len,
                                     struct runloop_devbox *out,
                                     struct sp_error *err);
/* One page of GET /v1/devboxes into acc: matches on acc->key/value, has_more, last id. */
enum sp_err sp__runloop_parse_list(const char *body,
                                   size_t len,
                                   struct runloop_list *acc,
                                   struct sp_error *err);
/* One page of GET /v1/devboxes for `sweep` into l: every devbox not shut down, with its
 * metadata and create_time_ms; with key, only those whose metadata key equals value (the
 * list route has no metadata filter). page gets has_more, seen and the last id. */
enum sp_err sp__runloop_parse_listing(const char *body,
                                      size_t len,
                                      const char *key,
                                      const char *value,
                                      struct sp_list *l,
                                      struct runloop_list *page,
                                      struct sp_error *err);
/* {"devbox_id","port","url"} of create_tunnel: url without a trailing slash. */
enum sp_err sp__runloop_parse_tunnel_url(
    const char *body, size_t len, char *url, size_t urllen, struct sp_error *err);
/* A TunnelView {tunnel_key, auth_mode, auth_token?} of enable_tunnel into d's tunnel fields. */
enum sp_err sp__runloop_parse_tunnel_view(const char *body,
                                          size_t len,
                                          struct runloop_devbox *d,
                                          struct sp_error *err);
/* An execution view: ids and status into e; when completed, stdout/stderr into x->out/err
 * and the exit status into x->exit_code. */
enum sp_err sp__runloop_parse_execution(const char *body,
                                        size_t len,
                                        struct runloop_execution *e,
                                        struct sp_exec *x,
                                        struct sp_error *err);
/* The message of an error body ({"error","message"} or any JSON with "message"). Returns 0
 * when found, -1 otherwise. */
int sp__runloop_parse_error(const char *body, size_t len, char *msg, size_t msglen);

/* The v2 tunnel URL of port: "<scheme>://<port>-<key>.<tunnel_domain>". 0 or -1. */
int sp__runloop_tunnel_url(
    const struct runloop_cfg *cfg, unsigned port, const char *key, char *out, size_t len);

/* --- runloop.c ------------------------------------------------------------------------------ */

/* Starts req as an API request: <base_url><path>, Bearer key, x-request-id on non-GETs.
 * path is printf-formatted. Returns SP_NEXT_REQUEST, or SP_NEXT_FAIL with err set. */
enum sp_next sp__runloop_api(const struct runloop_cfg *cfg,
                             struct sp_http_req *req,
                             enum sp_method m,
                             long timeout_ms,
                             struct sp_error *err,
                             const char *fmt,
                             ...) __attribute__((format(printf, 6, 7)));
/* POSTs json (NULL = an empty body with the JSON content type, as the SDKs send). */
enum sp_next sp__runloop_api_json(const struct runloop_cfg *cfg,
                                  struct sp_http_req *req,
                                  const struct sp_buf *json,
                                  long timeout_ms,
                                  struct sp_error *err,
                                  const char *path);
/* Fills err for a failed call with the body's message and the status class, prefixed with
 * `what`. Returns SP_NEXT_FAIL. */
enum sp_next
sp__runloop_fail(const struct sp_http_rsp *rsp, const char *what, struct sp_error *err);
/* GET /v1/devboxes/{id} of op's sandbox. */
enum sp_next
sp__runloop_get_devbox(struct sp_op *op, struct sp_http_req *req, struct sp_error *err);
/* The answer to a poll into d and the sandbox's state; `failure` is a `state` error with the
 * failure reason. Returns 0, or -1 with err set. */
int sp__runloop_poll_state(struct sp_op *op,
                           const struct sp_http_rsp *rsp,
                           struct runloop_devbox *d,
                           struct sp_error *err);
/* Waits alive_interval_ms (OpenHands polls every second) or fails with `timeout` naming
 * the last state once op->deadline_ms has passed. */
enum sp_next sp__runloop_poll_later(struct sp_op *op, const char *goal, struct sp_error *err);

/* --- runloop_startup.c ---------------------------------------------------------------------- */

enum sp_next sp__runloop_startup(struct sp_op *op,
                                 const struct sp_http_rsp *rsp,
                                 struct sp_http_req *req,
                                 struct sp_error *err);

/* --- runloop_direct.c ----------------------------------------------------------------------- */

enum sp_next sp__runloop_direct_exec(struct sp_op *op,
                                     const struct sp_http_rsp *rsp,
                                     struct sp_http_req *req,
                                     struct sp_error *err);
enum sp_next sp__runloop_direct_files(struct sp_op *op,
                                      const struct sp_http_rsp *rsp,
                                      struct sp_http_req *req,
                                      struct sp_error *err);

#endif
