/* The provider layer's public API: one interface for every vendor (Daytona, E2B, ...), the
 * six lifecycle steps, and the two ways to run them.
 *
 *  - Blocking: sp_auth(), sp_sandbox_create(), sp_exec() ... run one operation to
 *    completion. Used by the suites and `sandprobe check`.
 *  - Event-driven: fill a struct sp_op with sp_op_init_*(), hand it to sp_loop_submit(),
 *    and turn the loop with sp_loop_run(). Thousands of operations share one thread.
 *
 * Both run the same sans-IO step machines (provider_int.h) through the same event driver
 * (transport.c): the blocking calls are a loop over a private event loop, as curl's easy
 * interface is a loop over its multi engine. */
#ifndef SP_PROVIDER_H
#define SP_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "errors.h"
#include "kv.h"

/* The lifecycle steps of DESIGN.md, in order. */
enum sp_step {
    SP_STEP_AUTH,
    SP_STEP_CREATE,
    SP_STEP_ATTACH,
    SP_STEP_STARTUP,
    SP_STEP_EXEC,
    SP_STEP_FILES,
    SP_STEP_CLEANUP,
    SP_STEP_LIST, /* not a lifecycle step: listing sandboxes by label, for `sweep` */
    SP_STEP__COUNT
};
const char *sp_step_name(enum sp_step step);

/* Capability bits: what a provider (in its configured mode) does. The suites read them to
 * decide whether a requirement applies; no caller branches on a provider's name. */
#define SP_CAP_LABELS        (1u << 0) /* attach by session label / metadata */
#define SP_CAP_STREAM_EXEC   (1u << 1) /* exec output arrives as it is produced */
#define SP_CAP_SPLIT_STDERR  (1u << 2) /* stdout and stderr come back separately */
#define SP_CAP_PERSIST_SHELL (1u << 3) /* cwd and exported env persist across exec calls */
#define SP_CAP_WRITE_NEWLINE                                                                     \
    (1u << 4)                         /* text write ends the file with a newline (action server) \
                                       */
#define SP_CAP_FILE_STAT    (1u << 5) /* files: SP_FILE_STAT */
#define SP_CAP_FILE_MKDIR   (1u << 6) /* files: SP_FILE_MKDIR */
#define SP_CAP_FILE_REMOVE  (1u << 7) /* files: SP_FILE_REMOVE */
#define SP_CAP_STOP         (1u << 8) /* cleanup can stop (keep) a sandbox instead of deleting */
#define SP_CAP_ACCESS_TOKEN (1u << 9) /* the data plane can require a per-sandbox token */
#define SP_CAP_ACTION_SERVER                                                                   \
    (1u << 10)                        /* exec and files go through the OpenHands action server \
                                       */
#define SP_CAP_PORT_TUNNEL (1u << 11) /* the data plane is a tunnel of a port the create opened */
/* Two sandbox API generations (Modal's V1 / V2), chosen by a variable the provider reads:
 * SP_GENERATION_VAR = "0" or "1". */
#define SP_CAP_GENERATIONS (1u << 12)
#define SP_GENERATION_VAR  "MODAL_SANDBOX_V2" /* the JS SDK's own switch */

/* Writes the names of the capability bits in caps ("stream_exec, split_stderr") into out. */
void sp_caps_describe(unsigned caps, char *out, size_t len);

/* Knobs common to every provider, set by the harness (flags or environment). Zero means
 * "the default named here". */
struct sp_client_opts {
    long http_timeout_ms;    /* one control-plane request (30 000) */
    long connect_timeout_ms; /* TCP/TLS connect (10 000) */
    long ready_timeout_ms;   /* provider state until started/running (60 000, Daytona SDK) */
    long alive_interval_ms;  /* data-plane readiness poll interval (1 000, OpenHands) */
    /* Data-plane readiness deadline (120 000, OpenHands); also how long a data-plane request
     * answered 502 by the proxy is retried where OpenHands does (Daytona). */
    long alive_timeout_ms;
    const char *mode; /* provider mode, e.g. "toolbox" for Daytona; NULL = default */
    /* Polled by the blocking calls at least every 100 ms: once it returns true the call
     * abandons its operation (and the client's connections) and fails with `internal`,
     * message "interrupted". How `check` stops waits at once on a signal or when the
     * provider went away. NULL = never. Called from the thread making the call. */
    bool (*cancelled)(void *arg);
    void *cancel_arg;
    /* Refuse (`config`) every request to a host that is not loopback (127.0.0.0/8, ::1,
     * localhost, *.localhost): a command aimed at a mock can then never reach a real
     * provider through a stray variable. */
    bool loopback_only;
    /* When > 0, every retry the transport makes waits this long instead of the vendor's
     * waits and Retry-After; the number of attempts is unchanged. For requirements that
     * classify faults on a mock, where the waits would only slow the suite. 0 = as the
     * vendor's SDK or OpenHands waits. */
    long retry_wait_ms;
};

struct sp_client;  /* a configured provider: credentials, URLs, options */
struct sp_sandbox; /* one sandbox of a client */

/* Lists the registered providers: fills names (up to max) and returns how many there are. */
size_t sp_provider_names(const char **names, size_t max);
/* The variables provider `name` reads its credential from ("DAYTONA_API_KEY"), and its
 * modes (the default first), each NULL-terminated; NULL when the provider declares none
 * (or is unknown). */
const char *const *sp_provider_credential_vars(const char *name);
const char *const *sp_provider_modes(const char *name);

/* Creates a client for provider `name` from `env` (variables such as DAYTONA_API_KEY: the
 * process environment for a real provider, a mock's env for a mock). A missing or
 * malformed credential is a `config` error naming the variable. opts may be NULL. */
enum sp_err sp_client_new(const char *name,
                          const struct sp_kv *env,
                          const struct sp_client_opts *opts,
                          struct sp_client **out,
                          struct sp_error *err);
void sp_client_free(struct sp_client *c);
const char *sp_client_name(const struct sp_client *c);
unsigned sp_client_caps(const struct sp_client *c);
/* How many times the client sends a step's request that is answered 5xx every time (the
 * vendor SDK's retry rule: 1 where 5xx is not retried), so requirements expect it. */
int sp_client_attempts_5xx(const struct sp_client *c, enum sp_step step);
/* The same for a request answered 429 every time: above 1, the client retries 429 after its
 * Retry-After (OpenHands' action-server client, Runloop's SDK); 1 = the step fails with
 * rate_limited carrying the Retry-After seconds (E2B, Daytona, Modal). */
int sp_client_attempts_429(const struct sp_client *c, enum sp_step step);
/* True when exec goes through the vendor's API rather than a connection to the sandbox's
 * data plane, so a data-plane outage does not reach it (Runloop's direct mode). */
bool sp_client_exec_via_api(const struct sp_client *c);
/* The label key under which sandboxes carry their session (e.g. "OpenHands_SID"). */
const char *sp_client_session_key(const struct sp_client *c);

/* --- create / attach ---------------------------------------------------------------- */

enum sp_access {
    SP_ACCESS_DEFAULT, /* what the provider's SDK or OpenHands does */
    SP_ACCESS_PUBLIC,  /* data plane open (Daytona public:true, E2B secure:false) */
    SP_ACCESS_TOKEN    /* data plane requires a token (Daytona public:false, E2B secure:true) */
};

struct sp_create_opts {
    const char *session;     /* session label value; NULL = a generated one */
    const char *run_id;      /* value of the run label (SP_RUN_LABEL) for sweeps; may be NULL */
    const struct sp_kv *env; /* environment variables inside the sandbox; may be NULL */
    const char *image;       /* snapshot / template; NULL = provider default */
    enum sp_access access;
};

/* Label every sandbox of a run carries, so a sweep can find what a killed run left. */
#define SP_RUN_LABEL "sandprobe_run"

/* How cleanup ends a sandbox. */
enum sp_cleanup {
    SP_CLEANUP_DEFAULT, /* the provider configuration decides (e.g. DAYTONA_DELETE_ON_CLOSE) */
    SP_CLEANUP_STOP,    /* stop and keep it; needs SP_CAP_STOP */
    SP_CLEANUP_DELETE   /* delete it and confirm it is gone */
};

/* --- exec ------------------------------------------------------------------------------ */

enum sp_exec_event { SP_EXEC_STARTED, SP_EXEC_STDOUT, SP_EXEC_STDERR, SP_EXEC_ENDED };
/* Called as a command's events arrive (as produced with SP_CAP_STREAM_EXEC, else once the
 * command is done). data/len are set for STDOUT and STDERR. */
typedef void (*sp_exec_event_fn)(void *user, enum sp_exec_event ev, const char *data, size_t len);

struct sp_exec {
    /* in */
    const char *command;       /* a shell command line */
    const char *cwd;           /* run in this directory; NULL = current/default */
    const struct sp_kv *env;   /* extra variables for this command only; may be NULL */
    long timeout_ms;           /* command deadline; 0 = 120 000 (OpenHands default) */
    sp_exec_event_fn on_event; /* may be NULL */
    void *user;
    /* out */
    int exit_code;  /* -1 when the command did not finish */
    bool timed_out; /* the command hit its deadline */
    /* stdout; also stderr when the provider lacks SP_CAP_SPLIT_STDERR. Both keep at most
     * 16 MiB: past that, with on_event set, output still reaches on_event and the buffer's
     * overflow flag is set; without on_event it is a `protocol` error. */
    struct sp_buf out;
    struct sp_buf err; /* stderr (SP_CAP_SPLIT_STDERR) */
    char detail[256];  /* provider's note, e.g. "signal: killed" or the action server suffix */
};
/* Initialises x with the given command and zero for everything else. */
void sp_exec_init(struct sp_exec *x, const char *command);
void sp_exec_cleanup(struct sp_exec *x);

/* --- files ----------------------------------------------------------------------------- */

enum sp_file_kind {
    SP_FILE_WRITE,    /* write text (the provider's text-write path) */
    SP_FILE_READ,     /* read text */
    SP_FILE_UPLOAD,   /* write bytes exactly (binary-safe transfer) */
    SP_FILE_DOWNLOAD, /* read bytes exactly */
    SP_FILE_LIST,     /* list a directory */
    SP_FILE_STAT,     /* SP_CAP_FILE_STAT */
    SP_FILE_MKDIR,    /* SP_CAP_FILE_MKDIR (parents created) */
    SP_FILE_REMOVE    /* SP_CAP_FILE_REMOVE (recursive) */
};

struct sp_file_entry {
    char name[256];
    bool is_dir;
    int64_t size; /* -1 when the provider does not say */
};

struct sp_files {
    /* in */
    enum sp_file_kind kind;
    const char *path; /* relative paths resolve against the sandbox's working directory */
    const void *data; /* WRITE / UPLOAD */
    size_t len;
    /* out */
    struct sp_buf content;         /* READ / DOWNLOAD */
    struct sp_file_entry *entries; /* LIST (also STAT: one entry); owned, see cleanup */
    size_t n_entries;
    char resolved_path[1024]; /* absolute path, when the provider reports it */
};
void sp_files_init(struct sp_files *f, enum sp_file_kind kind, const char *path);
void sp_files_cleanup(struct sp_files *f);

/* --- blocking API ------------------------------------------------------------------------ */

/* auth: verifies the credentials with one cheap call. */
enum sp_err sp_auth(struct sp_client *c, struct sp_error *err);
/* create: creates a sandbox (it may still be starting; see sp_sandbox_startup). */
enum sp_err sp_sandbox_create(struct sp_client *c,
                              const struct sp_create_opts *opts,
                              struct sp_sandbox **out,
                              struct sp_error *err);
/* attach: finds the one sandbox whose label `key` equals `value` (NULL key = the session
 * key). None is `not_found`; several is `conflict`. */
enum sp_err sp_sandbox_attach(struct sp_client *c,
                              const char *key,
                              const char *value,
                              struct sp_sandbox **out,
                              struct sp_error *err);
/* startup: waits until the provider reports the sandbox started and its data plane answers.
 * A deadline that expires is `timeout`, with the last state seen in the message. */
enum sp_err sp_sandbox_startup(struct sp_sandbox *sb, struct sp_error *err);
enum sp_err sp_exec(struct sp_sandbox *sb, struct sp_exec *x, struct sp_error *err);
enum sp_err sp_files(struct sp_sandbox *sb, struct sp_files *f, struct sp_error *err);
/* cleanup: stops or deletes the sandbox and confirms it (a deleted one is gone from lists). */
enum sp_err sp_sandbox_cleanup(struct sp_sandbox *sb, enum sp_cleanup how, struct sp_error *err);

/* --- list (what `sandprobe sweep` finds) ------------------------------------------------ */

/* One sandbox as the provider's list shows it. */
struct sp_listed {
    char id[128];
    char state[32];
    int64_t created_ms;  /* creation time (Unix ms) the provider reports; 0 when it has none */
    struct sp_kv labels; /* its labels / metadata */
};
struct sp_list {
    struct sp_listed *items;
    size_t n, cap;
};
void sp_list_init(struct sp_list *l);
void sp_list_cleanup(struct sp_list *l);

/* Lists the provider's sandboxes (every page); with key and value, only those whose label
 * key equals value (the provider filters, and the list is checked). key NULL = all. Deleted
 * sandboxes that a provider still shows are left out. */
enum sp_err sp_sandbox_list(struct sp_client *c,
                            const char *key,
                            const char *value,
                            struct sp_list *out,
                            struct sp_error *err);
/* A handle for a sandbox known only by its id (from a list), enough to clean it up. */
enum sp_err sp_sandbox_from_id(struct sp_client *c,
                               const char *id,
                               struct sp_sandbox **out,
                               struct sp_error *err);

/* Frees the local handle only; it does not touch the remote sandbox. NULL is a no-op. */
void sp_sandbox_free(struct sp_sandbox *sb);
const char *sp_sandbox_id(const struct sp_sandbox *sb);
/* Last provider state seen ("started", "running", ...), "" before any. */
const char *sp_sandbox_state(const struct sp_sandbox *sb);
const char *sp_sandbox_session(const struct sp_sandbox *sb);
/* Base URL of the data plane (action server or envd), "" before startup. */
const char *sp_sandbox_data_url(const struct sp_sandbox *sb);
/* Drops the data-plane access token (SP_CAP_ACCESS_TOKEN) from this handle only, so a test
 * can check that the data plane refuses requests without it. Returns false when the handle
 * holds no token. */
bool sp_sandbox_forget_access_token(struct sp_sandbox *sb);

/* --- event-driven API ---------------------------------------------------------------------- */

struct sp_op;
typedef void (*sp_op_done_fn)(struct sp_op *op, enum sp_err rc, void *user);

/* Phase marks a step machine stamps inside one op (sp_now_us()), so the load driver reads
 * phase boundaries from the op instead of splitting it: startup covers ready + alive,
 * cleanup covers deleted + gone. 0 = not reached (the driver falls back to completion). */
enum sp_mark {
    SP_MARK_READY,   /* startup: the provider says started/running */
    SP_MARK_ALIVE,   /* startup: the data plane answers */
    SP_MARK_DELETED, /* cleanup: the delete (or stop) call returned */
    SP_MARK_GONE,    /* cleanup: the provider confirms it is gone */
    SP_MARK__COUNT
};
#define SP_OP_MARK(op, m) ((op)->mark_us[(m)] = sp_now_us())

/* One operation in flight. The caller allocates it (stack, array, ...), initialises it with
 * an sp_op_init_* function, and keeps it alive until its done callback has run. Fields
 * below the line are the step machine's and the driver's. */
struct sp_op {
    enum sp_step step;
    struct sp_client *client;
    struct sp_sandbox *sandbox; /* create/attach: set by the op on success */
    struct sp_error err;        /* details when the op fails */
    union {
        const struct sp_create_opts *create;
        struct {
            const char *key;
            const char *value;
        } attach;
        struct sp_exec *exec;
        struct sp_files *files;
        enum sp_cleanup cleanup;
        struct {
            const char *key; /* NULL = every sandbox */
            const char *value;
            struct sp_list *out;
        } list;
    } u;
    int64_t mark_us[SP_MARK__COUNT]; /* phase marks (enum sp_mark), 0 = not stamped */
    int retries;                     /* requests the driver resent (429, 502) for this op */
    /* ------------------------------------------------------------------ */
    int state;           /* step-machine position, 0 at start */
    int polls;           /* step-machine counter (polls, retries) */
    long wait_ms;        /* set by the step with SP_NEXT_WAIT */
    int64_t started_ms;  /* sp_now_ms() at submit */
    int64_t deadline_ms; /* step-machine deadline, 0 = none */
    void *ctx;           /* step-machine private data, freed with ctx_free at completion */
    void (*ctx_free)(void *ctx);
    struct sp__transfer *transfer; /* driver */
    sp_op_done_fn done;
    void *user;
};

void sp_op_init_auth(struct sp_op *op, struct sp_client *c);
void sp_op_init_create(struct sp_op *op, struct sp_client *c, const struct sp_create_opts *o);
void sp_op_init_attach(struct sp_op *op, struct sp_client *c, const char *key, const char *value);
void sp_op_init_startup(struct sp_op *op, struct sp_sandbox *sb);
void sp_op_init_exec(struct sp_op *op, struct sp_sandbox *sb, struct sp_exec *x);
void sp_op_init_files(struct sp_op *op, struct sp_sandbox *sb, struct sp_files *f);
void sp_op_init_cleanup(struct sp_op *op, struct sp_sandbox *sb, enum sp_cleanup how);
void sp_op_init_list(
    struct sp_op *op, struct sp_client *c, const char *key, const char *value, struct sp_list *out);

struct sp_loop; /* one curl multi handle + one timer heap; use from one thread */

enum sp_err sp_loop_new(struct sp_loop **out, struct sp_error *err);
/* Frees the loop; operations still in flight are abandoned without callbacks. */
void sp_loop_free(struct sp_loop *loop);
/* Starts op; done(op, rc, user) runs from sp_loop_run when it finishes. A provider without
 * the step fails the op with `unsupported` (through the callback, never synchronously). */
void sp_loop_submit(struct sp_loop *loop, struct sp_op *op, sp_op_done_fn done, void *user);
/* Runs until no operation is in flight, or until sp_loop_stop. Returns the number of
 * operations still in flight. */
size_t sp_loop_run(struct sp_loop *loop);
/* Runs one iteration, waiting at most max_wait_ms for network or timers. Returns the number
 * of operations in flight afterwards. */
size_t sp_loop_run_once(struct sp_loop *loop, long max_wait_ms);
/* The same with the wait in µs: the loop wakes at that time, not at the next whole ms. */
size_t sp_loop_run_once_us(struct sp_loop *loop, int64_t max_wait_us);
/* Makes sp_loop_run return after the current iteration (callable from a done callback). */
void sp_loop_stop(struct sp_loop *loop);
size_t sp_loop_in_flight(const struct sp_loop *loop);

/* Monotonic milliseconds and microseconds, for deadlines and phase timing. */
int64_t sp_now_ms(void);
int64_t sp_now_us(void);

#endif
