/* The E2B mock's private interface, shared by its files: e2b.c (vendor hooks, create, get,
 * kill, timeouts), e2b_lifecycle.c (setTimeout, pause, connect, resume), e2b_list.c (listings
 * and response bodies), e2b_envd.c (envd: routing, auth, /health, /files), e2b_fs.c
 * (filesystem.Filesystem over Connect) and e2b_process.c (process.Process, streamed). Wire
 * facts follow spec/e2b-modal.md Part A; only mocks/e2b*.c include this header. */
#ifndef SP_E2B_INT_H
#define SP_E2B_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mock_int.h"

#define E2B_ENVD_PORT         49983u
#define E2B_ENVD_VERSION      "0.6.13"   /* spec A2: "a mock should report a recent version" */
#define E2B_CLIENT_ID         "6532622b" /* spec A1: deprecated, always this constant */
#define E2B_ID_LEN            20         /* sandbox ids: 20 characters of [a-z0-9] */
#define E2B_DEFAULT_USER      "user"
#define E2B_DEFAULT_TIMEOUT_S 15  /* NewSandbox/ResumedSandbox timeout default in the spec */
#define E2B_V2_TIMEOUT_S      300 /* NewSandboxV2/ConnectSandboxV2 timeout default */

/* What the control plane knows about a sandbox beyond the store (sb->vendor). Every field
 * is read and written under e2b_state.lock, because setTimeout, connect and the expiry
 * sweep run on different connection threads. */
struct e2b_sandbox {
    char template_id[64];
    char alias[64];
    char token[72];     /* envdAccessToken; "" when the sandbox is not secure */
    bool auto_pause;    /* on timeout: pause instead of kill */
    int allow_internet; /* -1 when not given */
    bool killing;       /* a DELETE is in progress: the sandbox is gone for everyone else */
    uint64_t seq;       /* creation order, from 1: the listing's order and paging cursor */
    int64_t started_wall_ms;
    int64_t end_wall_ms; /* the timeout: killed (or paused) once the wall clock passes it */
};

struct e2b_proc;

/* The mock's vendor state (mock_vendor_data). */
struct e2b_state {
    pthread_mutex_t lock;   /* a leaf: nothing else is locked while it is held */
    int64_t next_sweep_ms;  /* the expiry sweep runs at most every E2B_SWEEP_MS */
    uint64_t last_seq;      /* e2b_sandbox.seq of the newest sandbox */
    struct e2b_proc *procs; /* running processes of every sandbox, for List and SendSignal */
};

/* A Linux user of the sandbox. envd knows the image's users; the mock knows two. */
struct e2b_user {
    char name[32];
    char home[32];
};

/* --- e2b.c ------------------------------------------------------------------------------- */

struct e2b_state *e2b_state_of(struct sp_mock *m);
/* Kills (or pauses) the sandboxes whose timeout has passed; cheap when called often. */
void e2b_sweep(struct sp_mock *m);
/* Looks a sandbox up, referenced, and kills it first if its timeout has passed (then NULL). */
struct mock_sandbox *e2b_find(struct sp_mock *m, const char *id);
/* Copies sb's vendor data under the lock; false while create has not finished. */
bool e2b_snapshot(struct sp_mock *m, struct mock_sandbox *sb, struct e2b_sandbox *out);
/* {"code":status,"message":...}: the error body of the API and of envd's REST routes. */
void e2b_reply_error(struct mock_req *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void e2b_reply_not_found(struct mock_req *r, const char *id);
/* The sandbox named by the route's "{}", referenced; replies 404 and returns NULL when it is
 * unknown or gone. */
struct mock_sandbox *e2b_path_sandbox(struct mock_req *r);
/* Sets the sandbox's end time (only moving it later when extend_only). */
void e2b_set_end(struct sp_mock *m, struct mock_sandbox *sb, int64_t end_ms, bool extend_only);
/* E2B's "running": every phase before a pause (E2B shows no "creating" state). */
bool e2b_is_running(enum mock_phase p);
/* Waits until sb leaves phase `from` (a transition of the latency model); returns the phase
 * reached, or `from` when a two-minute cap passed first. */
enum mock_phase
e2b_wait_leaves(struct mock_store *s, struct mock_sandbox *sb, enum mock_phase from);

/* --- e2b_lifecycle.c --------------------------------------------------------------------- */

void e2b_set_timeout(struct mock_req *r);
void e2b_refresh(struct mock_req *r);
void e2b_pause(struct mock_req *r);
void e2b_connect(struct mock_req *r);
/* v2 connect: the body ({} or {timeout}) is optional, the timeout 300 s by default. */
void e2b_connect_v2(struct mock_req *r);
void e2b_resume(struct mock_req *r);

/* --- e2b_faults.c ------------------------------------------------------------------------ */

/* --- e2b_list.c -------------------------------------------------------------------------- */

void e2b_list_v1(struct mock_req *r);
void e2b_list_v2(struct mock_req *r);
/* The Sandbox body of create, connect and resume. */
struct cJSON *e2b_build_sandbox(const struct mock_sandbox *sb, const struct e2b_sandbox *es);
/* ListedSandbox, or SandboxDetail when detail is set. */
struct cJSON *e2b_build_listed(struct sp_mock *m,
                               struct mock_sandbox *sb,
                               const struct e2b_sandbox *es,
                               bool detail);

/* --- e2b_envd.c -------------------------------------------------------------------------- */

/* Serves a request addressed to port `port` of sb (Host routing or the routing headers). */
void e2b_envd_serve(struct mock_req *r, struct mock_sandbox *sb, unsigned port);
/* Serves a request on the main port that names its sandbox with E2b-Sandbox-Id and
 * E2b-Sandbox-Port, as the SDKs do when E2B_SANDBOX_URL points at the mock. */
void e2b_envd_by_header(struct mock_req *r);
/* The edge proxy's 502 for a sandbox it cannot reach. */
void e2b_reply_proxy_502(struct mock_req *r, const char *id, const char *message);
bool e2b_user_lookup(const char *name, struct e2b_user *out);
/* Resolves a path as envd does (empty = home, "~" expanded, relative to home, cleaned) into
 * the sandbox path `guest` and the host path `host`. Returns 0, or -1 when the path leaves
 * the sandbox or does not fit. */
int e2b_resolve_path(const struct mock_sandbox *sb,
                     const struct e2b_user *u,
                     const char *path,
                     char *guest,
                     size_t guest_len,
                     char *host,
                     size_t host_len);

/* Appends the EntryInfo envd's POST /files answers for the written file `guest` to out. */
void e2b_add_written_entry(struct cJSON *out, const char *guest);

/* --- e2b_fs.c: filesystem.Filesystem and the Connect unary helpers ------------------------ */

/* Replies with a Connect unary error: the HTTP status mapped from code ("not_found"), JSON
 * {"code","message"}. */
void e2b_connect_error(struct mock_req *r, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Parses a unary request body; replies with the Connect error and returns NULL when it is not
 * a JSON object sent as application/json. Free with cJSON_Delete. */
struct cJSON *e2b_connect_request(struct mock_req *r);
void e2b_fs_rpc(struct mock_req *r,
                struct mock_sandbox *sb,
                const struct e2b_user *u,
                const char *method);
/* mkdir -p of the sandbox path `guest`; on failure writes envd's reason into err. */
int e2b_make_dirs(const struct mock_sandbox *sb, const char *guest, char *err, size_t len);

/* --- e2b_process.c ----------------------------------------------------------------------- */

/* Replies to a server-streaming call with only an end-of-stream error (HTTP 200, as Connect
 * sends every streaming error). */
void e2b_connect_stream_error(struct mock_req *r, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

void e2b_process_rpc(struct mock_req *r,
                     struct mock_sandbox *sb,
                     const struct e2b_user *u,
                     const char *method);
/* Kills every process still running in the sandbox (it is being killed). */
void e2b_procs_kill_sandbox(struct sp_mock *m, const char *id);

#endif
