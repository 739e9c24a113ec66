/* What a vendor mock is built from: the request a handler sees, the reply helpers, the route
 * table, the vendor hooks, the sandbox store and the OpenHands action-server mock. Only files
 * in mocks/ include this header.
 *
 * Threading: the transport (mhd_transport.c) runs either one thread per connection (shell
 * backend: a handler may block on a command running in a sandbox or a streamed reply) or a
 * small epoll thread pool (synthetic backend: handlers never block). Either way a handler
 * that wants to answer later says so with mock_reply_after / mock_defer and returns: the
 * delay is a timer, not a sleep in the handler. Shared state lives in the store, behind its
 * lock. Lock order (outer first): a vendor's own lock (e.g. e2b_state.lock, dt state lock)
 * -> store lock -> sp_mock.lock (journal) -> timer lock. No lock is held across a call into
 * the transport. */
#ifndef SP_MOCK_INT_H
#define SP_MOCK_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "kv.h"
#include "mock.h"

struct mock_conn; /* the transport's connection, opaque to handlers */
struct mock_store;
struct mock_sandbox;

#define MOCK_BODY_MAX   ((size_t)64 << 20) /* larger request bodies get 413 */
#define MOCK_MAX_PARAMS 4

struct mock_req;
/* A continuation: called (in a server thread) when a mock_defer delay is over. It may reply,
 * or defer again. Called with r->cancelled set when the connection went away (or the mock
 * stops) first: then it only releases what ctx holds. */
typedef void (*mock_cont_fn)(struct mock_req *r, void *ctx);
typedef ssize_t (*mock_stream_read_fn)(void *ctx, char *buf, size_t max);

/* A transport other than mhd_transport.c (the HTTP/2 one, h2server.c) answers these for its
 * connections; NULL in mock_req means mhd_transport.c's mock_conn_* functions. */
struct mock_transport_ops {
    const char *(*header)(struct mock_conn *c, const char *name);
    const char *(*query)(struct mock_conn *c, const char *name);
    bool (*closed)(struct mock_conn *c); /* the client reset the stream or left */
    /* The connection's socket, for its peer address only (streams share it: never read,
     * write or shut it down). */
    int (*peer_fd)(struct mock_conn *c);
};

/* A reply as a value: the transport sends it once the handler returned and its delay is over.
 * The same value can be framed as HTTP/1.1 (headers, body or chunks, trailers as chunked
 * footers) or as HTTP/2 (HEADERS, DATA frames, trailing HEADERS, e.g. grpc-status). */
struct mock_reply_out {
    char *content_type; /* owned; NULL = none */
    char *body;         /* owned; the whole body when read == NULL */
    size_t len;
    mock_stream_read_fn read; /* a streamed body; NULL = body above */
    void *ctx;
    void (*free_fn)(void *ctx);
};

/* One request, as a handler sees it. */
struct mock_req {
    struct sp_mock *mock;
    struct mock_conn *conn;
    const struct mock_transport_ops *tops; /* NULL: the HTTP/1.1 transport */
    const char *method;
    const char *path;                  /* URL path, no query */
    const char *host;                  /* Host header, "" when absent */
    struct sp_buf body;                /* the whole request body */
    char params[MOCK_MAX_PARAMS][256]; /* path segments matched by "{}" in the route */
    int n_params;
    struct sp_kv reply_headers;  /* added to the reply by the reply helpers */
    struct sp_kv reply_trailers; /* sent after the body (chunked footers; HTTP/2 trailers) */
    int status;                  /* reply status once queued (journal) */
    bool replied;
    /* Filled by the reply helpers, sent by the transport. */
    struct mock_reply_out out;
    int64_t reply_at_us; /* monotonic µs before which the reply is held; 0 = now */
    mock_cont_fn cont;   /* a pending continuation (mock_defer) */
    void *cont_ctx;
    int64_t cont_at_us;
    bool cancelled; /* the connection is gone: a continuation only frees its ctx */
    /* Fault injection (faults_apply.c). */
    bool abort_conn;    /* the transport resets the connection instead of replying */
    bool fault_delayed; /* a delay fault was applied: no second one */
    int fault_shape;    /* 1 + the sp_mock_fault_kind that reshapes the reply; 0 none */
    long fault_arg;     /* its size or rate */
};

typedef void (*mock_handler_fn)(struct mock_req *r);

/* A route: method + pattern, where "{}" matches one non-empty path segment. A pattern is
 * matched against the whole path and, failing that, against the path after the vendor's
 * api_prefix (so "/sandbox/{}" and "/api/sandbox/{}" both work for Daytona).
 * Routes flagged MOCK_ROUTE_OPEN skip the vendor's API-key check. */
#define MOCK_ROUTE_OPEN (1u << 0)
struct mock_route {
    const char *method;
    const char *pattern;
    mock_handler_fn fn;
    unsigned flags;
};

/* A vendor mock: routes plus hooks. */
struct mock_vendor {
    const char *name;
    const struct mock_route *routes;
    size_t n_routes;
    /* Base path of the API in URLs ("/api" for Daytona, "" for E2B). */
    const char *api_prefix;
    /* Sets up vendor state (m's vendor pointer); 0 or -1. May be NULL. */
    int (*init)(struct sp_mock *m);
    void (*fini)(struct sp_mock *m);
    /* Fills the variables of the ready line. */
    int (*env)(struct sp_mock *m, struct sp_kv *env);
    /* True when the request carries the mock's key; otherwise replies 401 the vendor's way
     * and returns false. */
    bool (*authorize)(struct mock_req *r);
    /* Serves a request whose Host is "<port>-<id>.localhost[:p]" for a sandbox of this mock
     * (the data plane: the action server for Daytona, envd for E2B). The vendor checks its
     * own data-plane credentials (preview token, access token). The core replies with the
     * vendor's not_found when the id is unknown. */
    void (*data_plane)(struct mock_req *r, struct mock_sandbox *sb, unsigned port);
    /* Turns the id label of a data-plane host ("<port>-<label>.…localhost") back into a
     * sandbox id, for vendors whose ids do not survive in a host name as they are (Modal's
     * V1 ids have capitals, which clients lowercase). False when the label is not one. NULL =
     * the label is the id. */
    bool (*host_label_id)(const char *label, char *id, size_t idlen);
    /* Replies to a request no route matched (vendor's 404 body). */
    void (*not_found)(struct mock_req *r);
    /* Vendor state name for a store phase, for logs ("started"). May be NULL. */
    const char *(*phase_name)(int phase);
    /* Called when the store drops a sandbox, to free sandbox->vendor. May be NULL. */
    void (*sandbox_free)(void *vendor_data);
    /* Generated API keys are key_prefix followed by 40 hex digits (the SDKs check formats,
     * e.g. E2B's "e2b_" + hex). NULL = hex only. */
    const char *key_prefix;
    /* Replies with an error of this status the vendor's way (its JSON error body) for an
     * injected fault. NULL = {"message": ...}. */
    void (*error_reply)(struct mock_req *r, int status, const char *message);
    /* Default delays when the config gives none. */
    struct sp_latency default_latency;
    /* Served over HTTP/2 (h2c with prior knowledge, h2server.c) instead of HTTP/1.1: gRPC. */
    bool h2c;
    /* Served over HTTP/1.1 and h2c with prior knowledge on the one port (the connection's first
     * bytes choose), for SDKs whose default is HTTP/2 while others speak HTTP/1.1. */
    bool h2c_too;
};

extern const struct mock_vendor mock_vendor_daytona;
extern const struct mock_vendor mock_vendor_e2b;
extern const struct mock_vendor mock_vendor_modal;
extern const struct mock_vendor mock_vendor_runloop;

/* --- the server (mock_core.c) ------------------------------------------------------------ */

struct mock_store *mock_store_of(struct sp_mock *m);
const struct sp_mock_config *mock_config(const struct sp_mock *m);
/* The key the mock accepts (never printed in logs). */
const char *mock_key(const struct sp_mock *m);
/* The vendor's private state, and the setter for init. */
void *mock_vendor_data(const struct sp_mock *m);
void mock_set_vendor_data(struct sp_mock *m, void *data);
/* "http://127.0.0.1:PORT" (no path). */
const char *mock_origin(const struct sp_mock *m);
/* Takes the fault of a new sandbox, or SP_MOCK_FAULT_NONE; *at_ms is the monotonic time a
 * VANISH, DATA_PLANE_DIES or SERVER_CRASH strikes (faults_apply.c). */
enum sp_mock_fault mock_take_fault(struct sp_mock *m, int64_t *at_ms);
/* Faults of the mock core (faults_apply.c). on_request: before the handler (after the key
 * check); true when the fault answered (status, reset, stall) or deferred the request
 * (delay). on_send: reshapes the reply on its way out (the transport calls it).
 * sandbox_created: arms a sandbox's timed fault. data_plane_dead: true (and the connection
 * is reset) when sb's data plane died. */
bool mock_faults_on_request(struct mock_req *r, bool data_plane);
void mock_faults_on_send(struct mock_req *r);
void mock_faults_sandbox_created(struct sp_mock *m, struct mock_sandbox *sb);
bool mock_faults_data_plane_dead(struct mock_req *r, struct mock_sandbox *sb);
/* True when sb's server stopped answering: a SERVER_CRASH struck, or (never_alive) it never
 * came up (NEVER_ALIVE). The server is the action server where one runs, else the vendor's
 * own daemon in the sandbox that the direct modes talk to (Daytona's toolbox daemon, E2B's
 * envd, Runloop's devbox agent, Modal's task command router). */
bool mock_faults_server_down(const struct mock_sandbox *sb, bool never_alive);
/* Replies with an injected error status through the vendor's error_reply hook. */
void mock_reply_fault_error(struct mock_req *r, int status, const char *message);
/* Frees a sandbox's vendor data through the vendor's sandbox_free hook (store.c). */
void mock_vendor_sandbox_free(struct sp_mock *m, void *vendor_data);
/* Counts a refused request in the stats. */
void mock_count_unauthorized(struct sp_mock *m);

const char *mock_req_query(struct mock_req *r, const char *name);
const char *mock_req_header(struct mock_req *r, const char *name);

/* Replies. Each queues the response once; later calls are ignored. Headers added with
 * mock_reply_header before the call go out with it. */
void mock_reply_header(struct mock_req *r, const char *name, const char *value);
void mock_reply(
    struct mock_req *r, int status, const char *content_type, const void *body, size_t len);
void mock_reply_json(struct mock_req *r, int status, const char *json);
/* Prints root compactly, replies with it, and deletes root. NULL root replies 500. */
struct cJSON;
void mock_reply_cjson(struct mock_req *r, int status, struct cJSON *root);
void mock_reply_empty(struct mock_req *r, int status);

/* A streamed reply (chunked). read() fills buf with up to max bytes and returns how many;
 * it may block until data is ready (shell backend only: with the synthetic backend the pool
 * threads must never block); it returns 0 when the stream is over and -1 to abort the
 * connection. free_fn(ctx) runs when the reply is done, whatever happened. */
void mock_reply_stream(struct mock_req *r,
                       int status,
                       const char *content_type,
                       mock_stream_read_fn read,
                       void *ctx,
                       void (*free_fn)(void *ctx));

/* Adds a trailer, sent after the body (a chunked footer in HTTP/1.1; gRPC's grpc-status in
 * HTTP/2). Takes effect on chunked (streamed) replies. */
void mock_reply_trailer(struct mock_req *r, const char *name, const char *value);

/* Timing of replies. mock_reply_after: the reply (queued before or after this call) leaves
 * delay_us after now; the handler returns at once, no thread waits. mock_defer: calls
 * fn(r, ctx) delay_us from now, from a server thread, to reply then (or defer again). */
void mock_reply_after(struct mock_req *r, int64_t delay_us);
void mock_defer(struct mock_req *r, int64_t delay_us, mock_cont_fn fn, void *ctx);
/* The connection's socket, to notice a client that left while a blocking (shell-backend)
 * handler waits; -1 when the transport has none of its own (an HTTP/2 stream). */
int mock_req_socket(struct mock_req *r);
/* True when the request came from a loopback address (127.0.0.0/8, ::1), on either
 * transport. */
bool mock_req_peer_loopback(struct mock_req *r);
/* True when the client is known to have closed the connection. */
bool mock_req_peer_gone(struct mock_req *r);
/* The sandbox backend this mock serves commands and files with. */
enum sp_mock_backend mock_backend(const struct sp_mock *m);

/* Ids, tokens and keys: always from the OS random source (getrandom), never from the seed,
 * so no two mocks mint the same ones. */
uint64_t mock_random_u64(struct sp_mock *m);
void mock_random_hex(struct sp_mock *m, char *out, size_t nchars);
void mock_random_uuid(struct sp_mock *m, char *out37);
/* Copies s into out with control bytes (newline, ESC, DEL ...) and backslashes escaped as
 * \xNN, so a request path cannot forge log lines or drive a terminal. */
void mock_log_escape(const char *s, char *out, size_t outlen);
/* "2025-07-18T10:00:00.000Z" for a wall-clock time in ms (millis: with .000). */
void mock_format_time(int64_t wall_ms, bool millis, char *out, size_t len);
int64_t mock_wall_ms(void);

/* --- timers (mock_timer.c) --------------------------------------------------------------- */

/* One thread firing callbacks at monotonic µs due times (sp_now_us). */
struct mock_timers;
struct mock_timers *mock_timers_new(void);
/* Queues fn(arg) at due_us. Returns 0, or -1 when stopping or out of memory. */
int mock_timers_add(struct mock_timers *tm, int64_t due_us, void (*fn)(void *arg), void *arg);
/* Fires every queued timer now and refuses new ones (before the server stops). */
void mock_timers_flush(struct mock_timers *tm);
size_t mock_timers_pending(struct mock_timers *tm);
/* True once flushed: the mock is stopping. */
bool mock_timers_stopping(struct mock_timers *tm);
void mock_timers_free(struct mock_timers *tm);

/* --- the transport (mhd_transport.c) ------------------------------------------------------- */

/* The HTTP/1.1 server in front of the core. It calls mock_core_begin once a request's
 * headers are in (nonzero: a reply is already queued, e.g. 401 before any body is read), and
 * mock_core_dispatch once its body is in; then sends r->out once r->reply_at_us passed and
 * no continuation is pending (mock_core_continue runs them). */
struct mock_http;
struct mock_http_opts {
    const char *host;
    unsigned port;
    bool pool; /* epoll thread pool (handlers never block) vs thread per connection */
    unsigned idle_timeout_s;
    unsigned max_connections;
    bool no_listen; /* no socket of its own: connections come through mock_http_add */
    const char *tls_cert, *tls_key; /* PEM: serve HTTPS (both or neither) */
};
struct mock_http *
mock_http_start(struct sp_mock *m, const struct mock_http_opts *o, unsigned *bound_port);
void mock_http_stop(struct mock_http *srv);
/* Hands an accepted HTTP/1.1 socket to a no_listen server, which owns it from then on (also
 * on failure, when it is closed). Returns 0 or -1. */
int mock_http_add(struct mock_http *srv, int fd);
const char *mock_conn_header(struct mock_conn *c, const char *name);
const char *mock_conn_query(struct mock_conn *c, const char *name);
int mock_conn_socket(struct mock_conn *c);
struct mock_timers *mock_timers_of(struct sp_mock *m);

/* The core's side (mockcore.c). */
bool mock_core_begin(struct mock_req *r, uint64_t content_length, bool has_length);
void mock_core_dispatch(struct mock_req *r);
void mock_core_continue(struct mock_req *r);
void mock_core_cancel(struct mock_req *r); /* runs a pending continuation as cancelled */
void mock_core_finish(struct mock_req *r); /* journal and log, once the reply is sent */
void mock_reply_out_free(struct mock_reply_out *o);

/* --- the store (store.c) ----------------------------------------------------------------- */

/* Vendor-neutral lifecycle phases; each vendor names them its own way. */
enum mock_phase {
    MOCK_CREATING,
    MOCK_STARTING,
    MOCK_RUNNING,
    MOCK_STOPPING,
    MOCK_STOPPED,
    MOCK_PAUSED,
    MOCK_DELETING,
    MOCK_DELETED,
    MOCK_FAILED
};

/* Kinds of delay. CREATE: creating -> started (the `start` phase of --latency, or
 * latency.create_ms); START: stopped -> started (`start`); STOP; DELETE: deleting -> gone
 * (`delete`); SERVER: started -> the data plane answers (`alive`); API_CREATE: extra delay of
 * the create call's reply (`create`); EXEC: delay of an exec's reply (`exec`). */
enum mock_delay {
    MOCK_DELAY_CREATE,
    MOCK_DELAY_START,
    MOCK_DELAY_STOP,
    MOCK_DELAY_DELETE,
    MOCK_DELAY_SERVER,
    MOCK_DELAY_API_CREATE,
    MOCK_DELAY_EXEC
};

#define MOCK_MAX_SERVERS 4

struct mock_server {
    unsigned port;
    int64_t ready_ms;  /* monotonic ms from which it answers; 0 = never */
    char workdir[512]; /* --working-dir, a sandbox path */
};

struct mock_sandbox {
    char id[64];
    enum mock_phase phase; /* as of the last sp_mock_sandbox_phase() */
    enum mock_phase next;  /* phase after the transition in progress */
    int64_t until_ms;      /* monotonic end of the transition; 0 = stable */
    enum sp_mock_fault fault;
    int64_t fault_at_ms; /* monotonic ms a VANISH/DATA_PLANE_DIES/SERVER_CRASH strikes */
    int64_t created_wall_ms;
    int64_t updated_wall_ms;
    struct sp_kv labels; /* labels / metadata */
    struct sp_kv env;    /* env vars given at create */
    char root[512];      /* host directory standing for the sandbox's "/" */
    char error_reason[128];
    struct mock_server servers[MOCK_MAX_SERVERS];
    int n_servers;
    struct mock_shell *shell; /* the persistent shell, spawned on first use */
    /* One command at a time in the persistent shell. Lock order: exec_lock, then the store's
     * lock (a command may read the phase); the store only ever trylocks it. */
    pthread_mutex_t exec_lock;
    void *vendor;  /* vendor data, freed by mock_vendor.sandbox_free */
    void *backend; /* the synthetic backend's in-memory files (backend.h) */
    int refs;
    /* The store's links, under its lock: hash chain by id, creation order. */
    struct mock_sandbox *h_next, *o_prev, *o_next;
    struct mock_sandbox *t_next; /* tombstone queue, by deletion time */
    int64_t deleted_ms;          /* monotonic, when a delete began; 0 = not deleted */
    bool reaped;                 /* its root directory is gone (deleted) */
};

struct mock_store *mock_store_new(struct sp_mock *m,
                                  const char *root_dir,
                                  uint64_t seed,
                                  const struct sp_latency *lat);
void mock_store_free(struct mock_store *s);
/* The directory under which sandbox roots live. */
const char *mock_store_root(const struct mock_store *s);

/* Creates a sandbox with the given id (the vendor makes the id), its root directory
 * (with the given sandbox directories already made, e.g. "/workspace", "/home/user"), in
 * phase `phase`, then moving to `next` after the delay of kind `delay` (or staying, when
 * phase == next). Applies an injected fault. Returns it referenced, or NULL. */
struct mock_sandbox *mock_store_create(struct mock_store *s,
                                       const char *id,
                                       const char *const *dirs,
                                       enum mock_phase phase,
                                       enum mock_phase next,
                                       enum mock_delay delay);
/* A vendor's create (Daytona, Runloop): sandbox id with dirs in m's store, creating and then
 * running after the create delay, its vendor data, env and labels set under vendor_lock (the
 * lock the vendor's readers of sb->vendor take), so that none of them sees it half made.
 * Returns it referenced, or NULL. */
struct mock_sandbox *mock_create_sandbox(struct sp_mock *m,
                                         pthread_mutex_t *vendor_lock,
                                         const char *id,
                                         const char *const *dirs,
                                         void *vendor,
                                         const struct sp_kv *env,
                                         const struct sp_kv *labels);
/* Looks a sandbox up and references it; NULL when unknown. */
struct mock_sandbox *mock_store_get(struct mock_store *s, const char *id);
/* Drops a reference. */
void mock_store_put(struct mock_store *s, struct mock_sandbox *sb);
/* Current phase, after applying any transition that is due. */
enum mock_phase mock_sandbox_phase(struct mock_store *s, struct mock_sandbox *sb);
/* Starts a transition: phase now `via`, then `to` after a delay of kind `delay`. */
void mock_sandbox_transition(struct mock_store *s,
                             struct mock_sandbox *sb,
                             enum mock_phase via,
                             enum mock_phase to,
                             enum mock_delay delay);
/* While sb is in phase `transient`: the monotonic ms at which its transition ends, or -1 when
 * it is stuck there (no transition in progress). 0 once it left `transient`. */
int64_t
mock_sandbox_leaves_at(struct mock_store *s, struct mock_sandbox *sb, enum mock_phase transient);
/* Replies with reply(r, sb) once sb has left phase `transient` (waiting at most cap_ms), plus
 * extra_us later, then drops the caller's reference to sb (which this takes over). The wait
 * is a timer (mock_defer): no thread is parked with the thread-pool transport. */
void mock_reply_when_left(struct mock_req *r,
                          struct mock_sandbox *sb,
                          enum mock_phase transient,
                          long cap_ms,
                          int64_t extra_us,
                          void (*reply)(struct mock_req *r, struct mock_sandbox *sb));
/* Removes the sandbox from the store for good (kills its processes; its root is removed). */
void mock_store_remove(struct mock_store *s, struct mock_sandbox *sb);

/* Calls fn for every sandbox (referenced during the call) in creation order. fn returns
 * false to stop. */
void mock_store_each(struct mock_store *s,
                     bool (*fn)(struct mock_sandbox *sb, void *user),
                     void *user);

/* Labels and env, read and written under the store lock. */
void mock_sandbox_set_labels(struct mock_store *s,
                             struct mock_sandbox *sb,
                             const struct sp_kv *labels);
bool mock_sandbox_has_labels(struct mock_store *s,
                             struct mock_sandbox *sb,
                             const struct sp_kv *want);
void mock_sandbox_copy_labels(struct mock_store *s, struct mock_sandbox *sb, struct sp_kv *out);

/* How long a deleted sandbox that stays readable (a tombstone, e.g. Daytona's "destroyed")
 * is kept before the store forgets it; default MOCK_TOMBSTONE_MS. Bounds a long load run's
 * memory. */
#define MOCK_TOMBSTONE_MS 60000
void mock_store_set_tombstone_ms(struct mock_store *s, int64_t ms);
/* The phase distributions (cfg->dist): a set one wins over struct sp_latency. */
void mock_store_set_dists(struct mock_store *s, const struct sp_dist *dist);
/* A delay of `kind` from the phase distributions (latency.c), or from l for an unset phase;
 * u1, u2 uniform in [0, 1) from the caller's seeded generator. Microseconds. */
int64_t mock_latency_draw_us(const struct sp_latency *l,
                             const struct sp_dist *dist,
                             enum mock_delay kind,
                             double u1,
                             double u2);
/* A delay drawn from the latency model, in ms and in µs. */
long mock_store_delay(struct mock_store *s, enum mock_delay kind);
int64_t mock_store_delay_us(struct mock_store *s, enum mock_delay kind);
/* Random bytes from the store's seeded generator. */
uint64_t mock_store_random(struct mock_store *s);

void mock_store_stats(struct mock_store *s, struct sp_mock_stats *out);

/* Maps a sandbox path (absolute, or relative to `cwd`, itself a sandbox path) to a host path
 * under the sandbox root. Refuses paths that leave the root. Returns 0, or -1. */
int mock_sandbox_host_path(
    const struct mock_sandbox *sb, const char *cwd, const char *path, char *out, size_t outlen);
/* The sandbox path of a host path under the root ("/" when it is the root). */
void mock_sandbox_guest_path(const struct mock_sandbox *sb,
                             const char *host,
                             char *out,
                             size_t outlen);

/* Registers an action server on `port` that answers after the latency model's server delay
 * (never, with SP_MOCK_FAULT_NEVER_ALIVE). */
void mock_sandbox_add_server(struct mock_store *s,
                             struct mock_sandbox *sb,
                             unsigned port,
                             const char *workdir);
/* The server on port copied into *out (under the store lock); false when there is none.
 * *ready says whether it answers now. Prefer this to mock_sandbox_server, whose pointer is
 * read after the lock is released. */
bool mock_sandbox_server_copy(struct mock_store *s,
                              struct mock_sandbox *sb,
                              unsigned port,
                              struct mock_server *out,
                              bool *ready);
/* The server on port, or NULL; *ready says whether it answers now. */
const struct mock_server *
mock_sandbox_server(struct mock_store *s, struct mock_sandbox *sb, unsigned port, bool *ready);

/* --- host files (hostfs.c) --------------------------------------------------------------- */

/* mkdir -p of a host path: makes each missing directory (with `mode` before the umask).
 * Returns 0, or -1 with errno set. */
int mock_mkdir_p(const char *path, mode_t mode);
/* mock_mkdir_p of the directory that holds `path`, with mode 0755. */
int mock_mkdir_parents(const char *path);
/* Creates or truncates the host file `path` (with `mode` before the umask if it is new, or
 * exactly `mode` with exact_mode) and writes len bytes of data. Returns 0, or -1 with errno
 * set. */
int mock_write_file(const char *path, const void *data, size_t len, mode_t mode, bool exact_mode);
/* Appends the content of the host file `path` to out. Returns 0, or -1 with errno set when
 * it cannot be opened or read, or with out->overflow set when out's limit was reached. */
int mock_read_file(const char *path, struct sp_buf *out);

/* --- the shell backend (shell_backend.c) --------------------------------------------------- */

/* The action server's bash: one interactive bash per sandbox on a terminal (as the real
 * server's tmux pane), started in `workdir` (a host path) on first use. Text is typed into
 * it; a command that outlives a request keeps running (spec 3.5). Callers hold
 * sb->exec_lock. */
enum mock_term_state {
    MOCK_TERM_DONE,   /* the prompt came back: exit_code and cwd are set */
    MOCK_TERM_SOFT,   /* no new output for soft_ms */
    MOCK_TERM_HARD,   /* hard_ms passed */
    MOCK_TERM_EXITED, /* bash ended (`exit`); exit_code is its status; the next use respawns */
    MOCK_TERM_ERROR   /* bash could not be started */
};
/* Types text; `enter` adds a newline (not for keys such as "\003"). echo: what the terminal
 * would echo, added to the output (the terminal's own echo is off). Returns 0 or -1. */
int mock_term_send(
    struct mock_sandbox *sb, const char *workdir, const char *text, bool enter, const char *echo);
/* Waits for the prompt, appending the new output (raw terminal bytes, capped at cap) to out.
 * hard_ms/soft_ms <= 0: no such limit. cwd gets the shell's cwd as a sandbox path. */
enum mock_term_state mock_term_wait(struct mock_sandbox *sb,
                                    long hard_ms,
                                    long soft_ms,
                                    size_t cap,
                                    struct sp_buf *out,
                                    int *exit_code,
                                    char *cwd,
                                    size_t cwdlen);
/* True while a typed command has not come back to the prompt. */
bool mock_term_busy(const struct mock_sandbox *sb);
/* Renders raw terminal output as a captured pane shows it: \r and backspace applied, tabs
 * expanded, escape sequences dropped, trailing spaces of each line removed. */
void mock_term_render(const char *raw, size_t len, struct sp_buf *out);
/* The sandbox's Python kernel (ipython.c), kept beside its bash: the slot that holds it
 * (NULL when out of memory); mock_shell_free ends it too. */
struct mock_py;
struct mock_py **mock_term_py_slot(struct mock_sandbox *sb);
void mock_py_free(struct mock_py *py);
/* The sandbox's OH_ACI editor history (aci_edit.c), kept the same way. */
struct mock_aci;
struct mock_aci **mock_term_aci_slot(struct mock_sandbox *sb);
void mock_aci_free(struct mock_aci *a);
/* Kills the persistent shell and everything it started. */
void mock_shell_free(struct mock_shell *sh);

/* One command in a fresh /bin/sh in the sandbox (shell_oneshot.c): workdir a host path under
 * the sandbox root; killed at timeout_ms (<= 0: none). cwd and exports do not persist.
 * Returns 0, or -1 when it could not start. */
struct mock_shell_result {
    int exit_code; /* -1 when killed at the timeout; 128 + signal when killed */
    bool timed_out;
    bool truncated;    /* output went past the cap and was cut */
    struct sp_buf out; /* stdout, or stdout and stderr interleaved when merged */
    struct sp_buf err; /* stderr when not merged */
    char cwd[1024];    /* workdir, as given */
};
void mock_shell_result_init(struct mock_shell_result *res, size_t cap);
void mock_shell_result_cleanup(struct mock_shell_result *res);
int mock_shell_run(struct mock_sandbox *sb,
                   const char *workdir,
                   const char *cmd,
                   long timeout_ms,
                   bool merge_stderr,
                   struct mock_shell_result *res);

/* Frees what a sandbox's backend keeps (the synthetic backend's in-memory files). */
void mock_backend_sandbox_free(struct mock_sandbox *sb);

/* --- one-shot processes (proc.c) --------------------------------------------------------- */

/* A one-shot process whose output is read as it is produced. */
struct mock_proc;
/* Starts argv[0] with argv in host directory cwd, with env added to the base environment
 * (HOME = home, a host path). Returns 0, or -1 with errno set. */
int mock_proc_spawn(const char *const *argv,
                    const struct sp_kv *env,
                    const char *cwd,
                    const char *home,
                    struct mock_proc **out);
/* Waits up to wait_ms for output. Returns bytes read into buf (stream set to 1 stdout or 2
 * stderr), 0 when nothing arrived in time, -1 when both streams are closed. */
ssize_t mock_proc_read(struct mock_proc *p, long wait_ms, char *buf, size_t len, int *stream);
/* Waits for exit (after the streams closed). Fills exit_code, or signal (> 0) when killed. */
void mock_proc_wait(struct mock_proc *p, int *exit_code, int *signal);
void mock_proc_kill(struct mock_proc *p);
pid_t mock_proc_pid(const struct mock_proc *p);
void mock_proc_free(struct mock_proc *p);

/* --- the OpenHands action-server mock (action_server.c) ------------------------------------ */

/* True when host is "<port>-<id>.localhost[:p]"; fills port and id. */
bool mock_host_target(const char *host, unsigned *port, char *id, size_t idlen);
/* Recognises OpenHands' action-server command line (`... -m
 * openhands.runtime.action_execution_server <port> ...`). When it matches, registers the
 * server for sb and returns true: the caller must not hand the command to the shell. */
bool mock_action_server_claim(struct sp_mock *m, struct mock_sandbox *sb, const char *cmdline);
/* Serves a request addressed to an action server of sb on port (host routing). Replies 502
 * while the server is not up. */
void mock_action_server_dispatch(struct mock_req *r, struct mock_sandbox *sb, unsigned port);

#endif
