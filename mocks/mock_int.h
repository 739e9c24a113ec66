/* What a vendor mock is built from: the request a handler sees, the reply helpers, the route
 * table, the vendor hooks, the sandbox store and the OpenHands action-server mock. Only files
 * in mocks/ include this header.
 *
 * Threading: the server runs one thread per connection, so a handler may block (a command
 * running in a sandbox, a latency-model delay, a streamed reply). Shared state lives in the
 * store, behind its lock. */
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

struct MHD_Connection;
struct mock_store;
struct mock_sandbox;

#define MOCK_BODY_MAX ((size_t)64 << 20) /* larger request bodies get 413 */
#define MOCK_MAX_PARAMS 4

/* One request, as a handler sees it. */
struct mock_req {
    struct sp_mock *mock;
    struct MHD_Connection *conn;
    const char *method;
    const char *path;   /* URL path, no query */
    const char *host;   /* Host header, "" when absent */
    struct sp_buf body; /* the whole request body */
    char params[MOCK_MAX_PARAMS][256]; /* path segments matched by "{}" in the route */
    int n_params;
    struct sp_kv reply_headers; /* added to the reply by the reply helpers */
    int status;                 /* reply status once queued (journal) */
    bool replied;
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
    /* Replies to a request no route matched (vendor's 404 body). */
    void (*not_found)(struct mock_req *r);
    /* Vendor state name for a store phase, for logs ("started"). May be NULL. */
    const char *(*phase_name)(int phase);
    /* Called when the store drops a sandbox, to free sandbox->vendor. May be NULL. */
    void (*sandbox_free)(void *vendor_data);
    /* Generated API keys are key_prefix followed by 40 hex digits (the SDKs check formats,
     * e.g. E2B's "e2b_" + hex). NULL = hex only. */
    const char *key_prefix;
    /* Default delays when the config gives none. */
    struct sp_latency default_latency;
};

extern const struct mock_vendor mock_vendor_daytona;
extern const struct mock_vendor mock_vendor_e2b;

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
/* Takes the next injected fault, or SP_MOCK_FAULT_NONE. */
enum sp_mock_fault mock_take_fault(struct sp_mock *m);
/* Frees a sandbox's vendor data through the vendor's sandbox_free hook (store.c). */
void mock_vendor_sandbox_free(struct sp_mock *m, void *vendor_data);
/* Counts a refused request in the stats. */
void mock_count_unauthorized(struct sp_mock *m);

const char *mock_req_query(struct mock_req *r, const char *name);
const char *mock_req_header(struct mock_req *r, const char *name);

/* Replies. Each queues the response once; later calls are ignored. Headers added with
 * mock_reply_header before the call go out with it. */
void mock_reply_header(struct mock_req *r, const char *name, const char *value);
void mock_reply(struct mock_req *r, int status, const char *content_type, const void *body,
                size_t len);
void mock_reply_json(struct mock_req *r, int status, const char *json);
/* Prints root compactly, replies with it, and deletes root. NULL root replies 500. */
struct cJSON;
void mock_reply_cjson(struct mock_req *r, int status, struct cJSON *root);
void mock_reply_empty(struct mock_req *r, int status);

/* A streamed reply (chunked). read() fills buf with up to max bytes and returns how many;
 * it may block until data is ready; it returns 0 when the stream is over and -1 to abort
 * the connection. free_fn(ctx) runs when the reply is done, whatever happened. */
typedef ssize_t (*mock_stream_read_fn)(void *ctx, char *buf, size_t max);
void mock_reply_stream(struct mock_req *r, int status, const char *content_type,
                       mock_stream_read_fn read, void *ctx, void (*free_fn)(void *ctx));

/* Path helpers: a fresh random id in the vendor's format. */
void mock_random_hex(struct sp_mock *m, char *out, size_t nchars);
void mock_random_uuid(struct sp_mock *m, char *out37);
/* "2025-07-18T10:00:00.000Z" for a wall-clock time in ms (millis: with .000). */
void mock_format_time(int64_t wall_ms, bool millis, char *out, size_t len);
int64_t mock_wall_ms(void);

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

enum mock_delay { MOCK_DELAY_CREATE, MOCK_DELAY_START, MOCK_DELAY_STOP, MOCK_DELAY_DELETE,
                  MOCK_DELAY_SERVER };

#define MOCK_MAX_SERVERS 4

struct mock_server {
    unsigned port;
    int64_t ready_ms;   /* monotonic ms from which it answers; 0 = never */
    char workdir[512];  /* --working-dir, a sandbox path */
};

struct mock_sandbox {
    char id[64];
    enum mock_phase phase;   /* as of the last sp_mock_sandbox_phase() */
    enum mock_phase next;    /* phase after the transition in progress */
    int64_t until_ms;        /* monotonic end of the transition; 0 = stable */
    enum sp_mock_fault fault;
    int64_t created_wall_ms;
    int64_t updated_wall_ms;
    struct sp_kv labels;     /* labels / metadata */
    struct sp_kv env;        /* env vars given at create */
    char root[512];          /* host directory standing for the sandbox's "/" */
    char error_reason[128];
    struct mock_server servers[MOCK_MAX_SERVERS];
    int n_servers;
    struct mock_shell *shell;   /* the persistent shell, spawned on first use */
    pthread_mutex_t exec_lock;  /* one command at a time in the persistent shell */
    void *vendor;               /* vendor data, freed by mock_vendor.sandbox_free */
    int refs;
};

struct mock_store *mock_store_new(struct sp_mock *m, const char *root_dir, uint64_t seed,
                                  const struct sp_latency *lat);
void mock_store_free(struct mock_store *s);
/* The directory under which sandbox roots live. */
const char *mock_store_root(const struct mock_store *s);

/* Creates a sandbox with the given id (the vendor makes the id), its root directory
 * (with the given sandbox directories already made, e.g. "/workspace", "/home/user"), in
 * phase `phase`, then moving to `next` after the delay of kind `delay` (or staying, when
 * phase == next). Applies an injected fault. Returns it referenced, or NULL. */
struct mock_sandbox *mock_store_create(struct mock_store *s, const char *id,
                                       const char *const *dirs, enum mock_phase phase,
                                       enum mock_phase next, enum mock_delay delay);
/* Looks a sandbox up and references it; NULL when unknown. */
struct mock_sandbox *mock_store_get(struct mock_store *s, const char *id);
/* Drops a reference. */
void mock_store_put(struct mock_store *s, struct mock_sandbox *sb);
/* Current phase, after applying any transition that is due. */
enum mock_phase mock_sandbox_phase(struct mock_store *s, struct mock_sandbox *sb);
/* Starts a transition: phase now `via`, then `to` after a delay of kind `delay`. */
void mock_sandbox_transition(struct mock_store *s, struct mock_sandbox *sb, enum mock_phase via,
                             enum mock_phase to, enum mock_delay delay);
/* Removes the sandbox from the store for good (kills its processes; its root is removed). */
void mock_store_remove(struct mock_store *s, struct mock_sandbox *sb);

/* Calls fn for every sandbox (referenced during the call) in creation order. fn returns
 * false to stop. */
void mock_store_each(struct mock_store *s, bool (*fn)(struct mock_sandbox *sb, void *user),
                     void *user);

/* Labels and env, read and written under the store lock. */
void mock_sandbox_set_labels(struct mock_store *s, struct mock_sandbox *sb,
                             const struct sp_kv *labels);
bool mock_sandbox_has_labels(struct mock_store *s, struct mock_sandbox *sb,
                             const struct sp_kv *want);
void mock_sandbox_copy_labels(struct mock_store *s, struct mock_sandbox *sb, struct sp_kv *out);

/* A delay drawn from the latency model. */
long mock_store_delay(struct mock_store *s, enum mock_delay kind);
/* Random bytes from the store's seeded generator. */
uint64_t mock_store_random(struct mock_store *s);

void mock_store_stats(struct mock_store *s, struct sp_mock_stats *out);

/* Maps a sandbox path (absolute, or relative to `cwd`, itself a sandbox path) to a host path
 * under the sandbox root. Refuses paths that leave the root. Returns 0, or -1. */
int mock_sandbox_host_path(const struct mock_sandbox *sb, const char *cwd, const char *path,
                           char *out, size_t outlen);
/* The sandbox path of a host path under the root ("/" when it is the root). */
void mock_sandbox_guest_path(const struct mock_sandbox *sb, const char *host, char *out,
                             size_t outlen);

/* Registers an action server on `port` that answers after the latency model's server delay
 * (never, with SP_MOCK_FAULT_NEVER_ALIVE). */
void mock_sandbox_add_server(struct mock_store *s, struct mock_sandbox *sb, unsigned port,
                             const char *workdir);
/* The server on port, or NULL; *ready says whether it answers now. */
const struct mock_server *mock_sandbox_server(struct mock_store *s, struct mock_sandbox *sb,
                                              unsigned port, bool *ready);

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
int mock_term_send(struct mock_sandbox *sb, const char *workdir, const char *text, bool enter,
                   const char *echo);
/* Waits for the prompt, appending the new output (raw terminal bytes, capped at cap) to out.
 * hard_ms/soft_ms <= 0: no such limit. cwd gets the shell's cwd as a sandbox path. */
enum mock_term_state mock_term_wait(struct mock_sandbox *sb, long hard_ms, long soft_ms,
                                    size_t cap, struct sp_buf *out, int *exit_code, char *cwd,
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

/* --- one-shot processes (proc.c) --------------------------------------------------------- */

/* A one-shot process whose output is read as it is produced. */
struct mock_proc;
/* Starts argv[0] with argv in host directory cwd, with env added to the base environment
 * (HOME = home, a host path). Returns 0, or -1 with errno set. */
int mock_proc_spawn(const char *const *argv, const struct sp_kv *env, const char *cwd,
                    const char *home, struct mock_proc **out);
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
