/* What a provider implementation sees: the step-machine contract, the provider table, and
 * the client and sandbox structs. Only files in providers/ (and unit tests of them) include
 * this header; everything else uses provider.h. */
#ifndef SP_PROVIDER_INT_H
#define SP_PROVIDER_INT_H

#include <pthread.h>
#include <stdarg.h>

#include "http.h"
#include "provider.h"

/* What a step asks the driver to do next. */
enum sp_next {
    SP_NEXT_REQUEST, /* perform *req, then call the step again with the response */
    SP_NEXT_WAIT,    /* call the step again (rsp == NULL) after op->wait_ms */
    SP_NEXT_DONE,    /* the operation succeeded */
    SP_NEXT_FAIL     /* the operation failed; err is set */
};

/* A step machine. It is called with rsp == NULL when there is no response to consume (the
 * first call, and after a wait), and with the response to the request it asked for
 * otherwise. `req` arrives empty (sp_http_req_reset) on every call; the step fills it when it
 * returns SP_NEXT_REQUEST. The machine keeps its position in op->state. It never touches a
 * socket, a clock other than sp_now_ms(), or a global. err is &op->err. */
typedef enum sp_next (*sp_step_fn)(struct sp_op *op,
                                   const struct sp_http_rsp *rsp,
                                   struct sp_http_req *req,
                                   struct sp_error *err);

struct sp_provider {
    const char *name;        /* registry key and report label */
    const char *session_key; /* label / metadata key that carries the session */
    /* Parses the provider's variables from env into a private config (freed by cfg_free).
     * Missing or malformed credentials are `config` errors naming the variable. */
    enum sp_err (*configure)(const struct sp_kv *env,
                             const struct sp_client_opts *opts,
                             void **cfg,
                             struct sp_error *err);
    void (*cfg_free)(void *cfg);
    unsigned (*caps)(const void *cfg); /* SP_CAP_* for this configuration */
    /* Attempts the client makes at a step's request answered 5xx every time, by the vendor
     * SDK's own retry rule; NULL = 1 (no retry). */
    int (*attempts_5xx)(const void *cfg, enum sp_step step);
    /* The same for 429 on a step the provider runs itself (the action server's steps follow
     * OpenHands' rule without asking); NULL = 1 (no retry). */
    int (*attempts_429)(const void *cfg, enum sp_step step);
    /* True when exec goes through the vendor's API, not a connection to the sandbox's data
     * plane (tunnel, toolbox, envd, command router); NULL = false. */
    bool (*exec_via_api)(const void *cfg);
    sp_step_fn auth, create, attach, startup, exec, files, cleanup; /* NULL = unsupported */
    /* exec and files are the provider's own steps; sp__provider_step routes them to the
     * action server's (sp_as_exec_step, sp_as_files_step) instead when caps(cfg) includes
     * SP_CAP_ACTION_SERVER, so a provider with an action-server mode sets its direct mode's
     * steps here. */
    sp_step_fn list; /* lists sandboxes by label (op->u.list), for sweep; NULL = unsupported */

    const char *const *credential_vars; /* NULL-terminated; the variables holding the key */
    const char *const *modes;           /* NULL-terminated, default first; NULL = no modes */
};

extern const struct sp_provider sp_provider_daytona;
extern const struct sp_provider sp_provider_e2b;
extern const struct sp_provider sp_provider_runloop;
extern const struct sp_provider sp_provider_modal;

/* Finds a provider by name; NULL when unknown. */
const struct sp_provider *sp__provider_find(const char *name);

struct sp_loop;

struct sp_client {
    const struct sp_provider *provider;
    void *cfg;                  /* the provider's configuration */
    struct sp_client_opts opts; /* with defaults filled in */
    /* The private loop of the blocking calls, made by sp_client_new. A loop serves one thread
     * at a time, so blocking calls on one client from several threads take turns under
     * loop_lock. Lock order: loop_lock is a leaf; nothing else is locked while it is held
     * (the provider layer has no other locks; a mock in the same process is only reached
     * through sockets). */
    struct sp_loop *loop;
    pthread_mutex_t loop_lock;
    /* SSL_CERT_FILE of the client's environment: the CA bundle https is verified against (a
     * mock's own CA for its TLS tunnels); NULL = libcurl's default. */
    char *ca_file;
};

/* Sandbox flags for provider use. */
#define SP_SB_SERVER_STARTED (1u << 0) /* the data-plane server was started by us */
#define SP_SB_TOKEN          (1u << 1) /* the data plane needs the token in data_headers */

struct sp_sandbox {
    struct sp_client *client;
    char id[128];
    char state[32];                    /* last provider state seen */
    char session[128];                 /* session label value */
    char data_url[512];                /* action server / envd base URL, no trailing slash */
    struct sp_kv data_headers;         /* sent on every data-plane request; may hold secrets */
    struct sp_retry_policy data_retry; /* retries for data-plane requests */
    char workdir[512];                 /* absolute working directory inside the sandbox */
    char access_header[64];            /* name of the data_headers entry holding the access token */
    unsigned flags;
    void *priv; /* provider-private; freed with priv_free by sp_sandbox_free */
    void (*priv_free)(void *priv);
};

/* Allocates an empty sandbox handle of client c; NULL when out of memory. */
struct sp_sandbox *sp__sandbox_new(struct sp_client *c);

/* The step function op->step maps to in c's provider (NULL = unsupported); exec and files
 * through the action-server routing above. */
sp_step_fn sp__provider_step(const struct sp_provider *p, enum sp_step step);

/* --- step helpers (providers/steps.c) --- */

/* A step machine's private data: size zeroed bytes as op->ctx, freed with ctx_free when the
 * operation completes. NULL with an `internal` error when out of memory. */
void *sp__op_ctx_new(struct sp_op *op, size_t size, void (*ctx_free)(void *), struct sp_error *err);

/* Starts an attach step: a `config` error when the label key or value is missing, else a
 * zeroed context as sp__op_ctx_new makes it (freed with free). NULL with err set. */
void *sp__attach_begin(struct sp_op *op, size_t ctx_size, struct sp_error *err);

/* Waits for the next poll of op's sandbox in every_ms (less when the deadline is nearer), or
 * fails with `timeout` naming the last state once op->deadline_ms has passed
 * ("<noun> X not <goal> after N s (last state: Y)"). */
enum sp_next sp__poll_later(
    struct sp_op *op, const char *noun, const char *goal, long every_ms, struct sp_error *err);
/* For a data plane whose proxy answers 502-504 while the sandbox's daemon is not up: "not up
 * yet" until *deadline_ms (set to now + alive_timeout_ms on first use), so SP_NEXT_WAIT for
 * alive_interval_ms; after it a `timeout` error ("<what> not answering after N ms (last: HTTP
 * status; <noun> state: S)"). */
enum sp_next sp__daemon_not_up(struct sp_op *op,
                               int64_t *deadline_ms,
                               int status,
                               const char *what,
                               const char *noun,
                               struct sp_error *err);

/* The body of a one-file multipart upload (req's method and URL already set): path in field
 * path_field and f's data in file_field, named after path's last component. SP_NEXT_REQUEST,
 * or SP_NEXT_FAIL with a `config` error naming path (one ending in '/' is no file path). */
enum sp_next sp__files_upload_body(struct sp_http_req *req,
                                   const struct sp_files *f,
                                   const char *path,
                                   const char *path_field,
                                   const char *file_field,
                                   struct sp_error *err);

/* Copies the last state into sb->state (truncating safely). */
void sp__sandbox_set_state(struct sp_sandbox *sb, const char *state);

/* Request timeout for a step that does not set its own. */
long sp__client_http_timeout(const struct sp_client *c);

/* Ends a parse of file entries (an array from calloc, or NULL when n is 0). With rc
 * SP_E_OK, f takes the n entries in place of its old ones; otherwise they are freed. Returns
 * rc. */
enum sp_err
sp__files_take_entries(struct sp_files *f, enum sp_err rc, struct sp_file_entry *entries, size_t n);

/* --- control-plane request helpers (providers/api.c) --- */

/* Sets req's method and URL: base followed by the printf-formatted path. 0, or -1 when the
 * path does not fit or memory runs out. */
int sp__api_urlv(struct sp_http_req *req,
                 enum sp_method m,
                 const char *base,
                 const char *fmt,
                 va_list ap) __attribute__((format(printf, 4, 0)));
/* Adds a JSON body (NULL = an empty one with the JSON content type) to a request the vendor's
 * own builder started (`started`, its result). SP_NEXT_REQUEST, or SP_NEXT_FAIL with err set
 * (by the builder, or `internal` when out of memory). */
enum sp_next sp__api_json_body(enum sp_next started,
                               struct sp_http_req *req,
                               const struct sp_buf *json,
                               struct sp_error *err);
/* A vendor's error-body parser: the message into msg; 0 when found, -1 otherwise. */
typedef int (*sp_error_parse_fn)(const char *body, size_t len, char *msg, size_t msglen);
/* Fills err for a failed call: the message parse finds in the body (when the call got an
 * answer) and the status class, prefixed with what (NULL = no prefix). msg[msglen] keeps the
 * message ("" when none) for a caller that refines the class. Returns SP_NEXT_FAIL. */
enum sp_next sp__api_fail(const struct sp_http_rsp *rsp,
                          sp_error_parse_fn parse,
                          const char *what,
                          char *msg,
                          size_t msglen,
                          struct sp_error *err);
/* nchars random lowercase hex digits (at most 64) and a NUL into out; 0, or -1 when
 * /dev/urandom cannot be read. */
int sp__random_hex(char *out, size_t nchars);
/* The session name of a create into out[len]: given, or "sp-" and 12 random hex digits when
 * given is NULL. -1 with a `config` error ("session <noun> longer than N") when given does
 * not fit, or `internal` when there is no randomness. */
int sp__session_name(
    const char *given, const char *noun, char *out, size_t len, struct sp_error *err);

/* --- configuration helpers (providers/config.c) --- */

/* *out = a copy of env's variable name, the provider's credential: a `config` error
 * "NAME is not set" when it is missing or empty. Free it with sp__config_secret_free. */
enum sp_err
sp__config_secret(const struct sp_kv *env, const char *name, char **out, struct sp_error *err);
/* For a provider whose credential is one variable and whose config struct starts with
 * `char *api_key` (Daytona, E2B, Runloop): *out = a zeroed config of size bytes holding the
 * credential read from var as sp__config_secret reads it. On an error *out is NULL. */
enum sp_err sp__config_new(
    const struct sp_kv *env, const char *var, size_t size, void **out, struct sp_error *err);
/* Frees a config from sp__config_new, its credential wiped (a provider's cfg_free); NULL is
 * fine. */
void sp__config_free(void *cfg);
/* Wipes and frees a secret from sp__config_secret; NULL is fine. */
void sp__config_secret_free(char *secret);
/* Copies env's variable name (def when missing or empty) into out[len]; -1 with a `config`
 * error naming it when it does not fit. */
int sp__config_copy(const struct sp_kv *env,
                    const char *name,
                    const char *def,
                    char *out,
                    size_t len,
                    struct sp_error *err);
/* Checks a base URL from variable name: empty, or http(s):// (else -1 with a `config` error
 * naming it); trailing slashes are dropped so paths can be appended. */
int sp__config_url(char *url, const char *name, struct sp_error *err);
/* *index = the position of mode in the provider's NULL-terminated modes (0, the default,
 * when mode is NULL or empty); -1 with a `config` error listing the valid modes when it is
 * none of them. */
int sp__config_mode(const char *const *modes,
                    const char *vendor,
                    const char *mode,
                    int *index,
                    struct sp_error *err);

/* Appends an item to l: id and state copied, labels moved from *labels (left empty), and
 * created_ms. Returns 0, or -1 when out of memory. */
int sp__list_add(
    struct sp_list *l, const char *id, const char *state, int64_t created_ms, struct sp_kv *labels);
/* Starts a list step: a `config` error when a key comes without a value ("a <filter> filter
 * needs a value"), else a zeroed context of ctx_size bytes as op->ctx (freed with the op).
 * NULL with err set on failure. */
void *sp__list_begin(struct sp_op *op, size_t ctx_size, const char *filter, struct sp_error *err);
/* Whether labels carry key=value; true when key is NULL (no filter). */
bool sp__list_matches(const struct sp_kv *labels, const char *key, const char *value);
/* For an item of a list the server filtered by key=value: a `protocol` error when its labels
 * lack the pair (the server ignored the filter, and a sweep must not act on the item). */
enum sp_err sp__list_check_filtered(const struct sp_kv *labels,
                                    const char *key,
                                    const char *value,
                                    const char *filter,
                                    const char *id,
                                    struct sp_error *err);
/* Counts one more page read of a paged list; -1 with a `protocol` error ("<what> paging did
 * not end after N pages") once max pages were read, so endless paging ends. */
int sp__list_next_page(int *pages, int max, const char *what, struct sp_error *err);
/* Unix ms of an RFC 3339 time ("2026-12-06T21:00:00.123Z", offsets too); -1 when not one. */
int64_t sp__parse_rfc3339(const char *s);
/* The step machines that list (providers/daytona_listing.c, e2b_listing.c,
 * runloop_listing.c, modal_listing.c). */
enum sp_next sp__daytona_step_list(struct sp_op *op,
                                   const struct sp_http_rsp *rsp,
                                   struct sp_http_req *req,
                                   struct sp_error *err);
enum sp_next sp__e2b_step_list(struct sp_op *op,
                               const struct sp_http_rsp *rsp,
                               struct sp_http_req *req,
                               struct sp_error *err);
enum sp_next sp__runloop_step_list(struct sp_op *op,
                                   const struct sp_http_rsp *rsp,
                                   struct sp_http_req *req,
                                   struct sp_error *err);
enum sp_next sp__modal_step_list(struct sp_op *op,
                                 const struct sp_http_rsp *rsp,
                                 struct sp_http_req *req,
                                 struct sp_error *err);

/* For providers that answer an exec once, when the command is done: hands x->on_event (if
 * set) the whole run at once: started, the buffered stdout (if any), ended. */
void sp__exec_emit_buffered(struct sp_exec *x);

#endif
