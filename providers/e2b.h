/* E2B internals shared by the lifecycle (e2b.c), its wire format (e2b_json.c) and their unit
 * tests: the configuration, the structs the JSON edge fills, and the step functions. Nothing
 * outside providers/ and suites/unit/ includes this header. */
#ifndef SP_E2B_H
#define SP_E2B_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "errors.h"
#include "kv.h"
#include "provider_int.h"

struct cJSON;

#define E2B_ENVD_PORT      49983
#define E2B_HOME           "/home/user" /* envd's default user's home: relative paths resolve here */
#define E2B_DEFAULT_DOMAIN "e2b.app"
/* OpenHands' E2B runtime creates sandboxes with e2b-code-interpreter's Sandbox.create(),
 * whose default template this is. */
#define E2B_DEFAULT_TEMPLATE  "code-interpreter-v1"
#define E2B_DEFAULT_TIMEOUT_S 300 /* the SDKs' default sandbox lifetime */
/* Metadata key that carries the session. OpenHands' E2B runtime keeps sid -> sandbox id in
 * process memory and sets no metadata, so sandprobe chooses its own key. */
#define E2B_SESSION_KEY "session_id"

struct e2b_cfg {
    char *api_key; /* wiped when the configuration is freed */
    char domain[256];
    char api_url[512];     /* control plane, no trailing slash */
    char sandbox_url[512]; /* E2B_SANDBOX_URL: envd base for every sandbox; "" = per host */
    char template_id[128];
    long timeout_s; /* sandbox lifetime sent on create, connect and set-timeout */
    bool v1;        /* mode v1: POST /sandboxes and /sandboxes/{id}/connect */
};

/* Parses E2B_* variables from env (see e2b.c's header comment for the list). */
enum sp_err sp__e2b_configure(const struct sp_kv *env,
                              const struct sp_client_opts *opts,
                              void **cfg,
                              struct sp_error *err);

/* The envd base URL for sandbox id: E2B_SANDBOX_URL, or https://sandbox.<domain> for E2B's
 * own domains, or https://49983-<id>.<domain> (spec A1). domain = the create response's
 * domain when set, else the configured one. Returns 0, or -1 when it does not fit. */
int sp__e2b_envd_url(
    const struct e2b_cfg *cfg, const char *id, const char *domain, char *out, size_t outlen);

/* --- wire structs ------------------------------------------------------------------------ */

/* Sandbox (POST /sandboxes, POST /sandboxes/{id}/connect). */
struct e2b_sandbox_info {
    char id[64];
    char template_id[128];
    char envd_version[32];
    char access_token[512]; /* envdAccessToken; "" when the sandbox is not secure */
    char domain[256];       /* "" when null */
};

/* One page of GET /v2/sandboxes, accumulated over pages. */
struct e2b_list {
    long total; /* sandboxes seen */
    char first_id[64];
    char first_state[32];
};

enum e2b_event_kind { E2B_EV_NONE, E2B_EV_START, E2B_EV_DATA, E2B_EV_END, E2B_EV_KEEPALIVE };

/* One process.ProcessEvent. data events are decoded into the caller's buffer. */
struct e2b_event {
    enum e2b_event_kind kind;
    int64_t pid;     /* start */
    int stream;      /* data: 1 stdout, 2 stderr, 3 pty */
    int exit_code;   /* end; 0 when omitted */
    bool exited;     /* end */
    char status[96]; /* end: "exit status 1", "signal: killed" */
    char error[160]; /* end: optional error */
};

/* --- e2b_json.c --------------------------------------------------------------------------- */

/* NewSandboxV2 when v2 (no `secure`: v2 sandboxes are always secured), else NewSandbox with
 * `secure`. */
int sp__e2b_build_new_sandbox(const char *template_id,
                              long timeout_s,
                              bool v2,
                              bool secure,
                              const struct sp_kv *metadata,
                              const struct sp_kv *env_vars,
                              struct sp_buf *out);
int sp__e2b_build_timeout(long timeout_s, struct sp_buf *out);
int sp__e2b_parse_sandbox(const char *body,
                          size_t len,
                          struct e2b_sandbox_info *out,
                          struct sp_error *err);
/* Adds one page of ListedSandbox to out. A sandbox whose metadata is present and lacks
 * key=value (key may be NULL: no filter) is a protocol error: the server ignored the filter. */
int sp__e2b_parse_list(const char *body,
                       size_t len,
                       const char *key,
                       const char *value,
                       struct e2b_list *out,
                       struct sp_error *err);
/* The message of a control-plane error body {code, message}: 0, or -1 with msg "" when it
 * is not one. */
int sp__e2b_parse_error(const char *body, size_t len, char *msg, size_t msglen);
/* The X-Next-Token of a GET /v2/sandboxes reply into token[len] (list and attach page
 * alike): 1 when there is a next page, 0 at the end, -1 with a `protocol` error when the
 * token does not fit or *pages (counted here) reaches max. */
int sp__e2b_next_token(const struct sp_http_rsp *rsp,
                       char *token,
                       size_t len,
                       int *pages,
                       int max,
                       struct sp_error *err);
/* True when the body is the edge proxy's "sandbox not found" ({"sandboxId", ...}), not its
 * "port is not open" (which also names the port). */
bool sp__e2b_is_proxy_not_found(const char *body, size_t len);

int sp__e2b_build_start(const char *cmd,
                        const char *cwd,
                        const struct sp_kv *env,
                        struct sp_buf *out);
/* Parses a StartResponse {"event":{...}}; data bytes are appended to data. */
int sp__e2b_parse_event(const struct cJSON *msg,
                        struct e2b_event *ev,
                        struct sp_buf *data,
                        struct sp_error *err);
/* The compact data event envd writes, {"event":{"data":{"stdout":"<base64>"}}} (or "stderr",
 * "pty"), recognised byte for byte without a JSON parse: returns the stream (1, 2, 3) and
 * the string's span, or 0 for any other payload (parse that with sp__e2b_parse_event). The
 * span is not checked: only base64 decoding it proves the whole payload was this JSON. */
int sp__e2b_data_span(const char *payload, size_t len, const char **b64, size_t *b64_len);

/* {"path": path} and, when depth > 0, "depth". */
int sp__e2b_build_path(const char *path, int depth, struct sp_buf *out);
/* ListDir -> entries (malloc'd array the caller frees). */
int sp__e2b_parse_list_dir(
    const char *body, size_t len, struct sp_file_entry **entries, size_t *n, struct sp_error *err);
/* Stat / MakeDir -> {"entry": EntryInfo}; path copied to path_out. */
int sp__e2b_parse_entry(const char *body,
                        size_t len,
                        struct sp_file_entry *entry,
                        char *path_out,
                        size_t path_len,
                        struct sp_error *err);
/* POST /files -> [EntryInfo]; the first path copied to path_out. */
int sp__e2b_parse_upload(
    const char *body, size_t len, char *path_out, size_t path_len, struct sp_error *err);

/* --- e2b.c: the step machines (exported for the unit tests) -------------------------------- */

/* A failed control-plane call into err: the class from the status, the message from the
 * {code, message} body. Returns SP_NEXT_FAIL. */
enum sp_next sp__e2b_api_fail(const struct sp_http_rsp *rsp, struct sp_error *err);

enum sp_next sp__e2b_step_auth(struct sp_op *op,
                               const struct sp_http_rsp *rsp,
                               struct sp_http_req *req,
                               struct sp_error *err);
enum sp_next sp__e2b_step_create(struct sp_op *op,
                                 const struct sp_http_rsp *rsp,
                                 struct sp_http_req *req,
                                 struct sp_error *err);
enum sp_next sp__e2b_step_attach(struct sp_op *op,
                                 const struct sp_http_rsp *rsp,
                                 struct sp_http_req *req,
                                 struct sp_error *err);
enum sp_next sp__e2b_step_startup(struct sp_op *op,
                                  const struct sp_http_rsp *rsp,
                                  struct sp_http_req *req,
                                  struct sp_error *err);
enum sp_next sp__e2b_step_exec(struct sp_op *op,
                               const struct sp_http_rsp *rsp,
                               struct sp_http_req *req,
                               struct sp_error *err);
enum sp_next sp__e2b_step_files(struct sp_op *op,
                                const struct sp_http_rsp *rsp,
                                struct sp_http_req *req,
                                struct sp_error *err);
enum sp_next sp__e2b_step_cleanup(struct sp_op *op,
                                  const struct sp_http_rsp *rsp,
                                  struct sp_http_req *req,
                                  struct sp_error *err);

#endif
