/* The provider registry, clients and sandboxes, operation set-up, and the blocking API: each
 * blocking call runs one operation through the client's private event loop. */
#include "provider_int.h"

#include "action_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct sp_provider *const providers[] = {
    &sp_provider_daytona,
    &sp_provider_e2b,
    &sp_provider_runloop,
    &sp_provider_modal,
};
#define N_PROVIDERS (sizeof(providers) / sizeof(providers[0]))

static const char *const step_names[SP_STEP__COUNT] = {
    "auth", "create", "attach", "startup", "exec", "files", "cleanup", "list",
};

const char *sp_step_name(enum sp_step step)
{
    return (unsigned)step < SP_STEP__COUNT ? step_names[step] : "unknown";
}

static const char *const CAP_NAMES[] = {
    "labels",        "stream_exec", "split_stderr", "persist_shell", "write_newline",
    "file_stat",     "file_mkdir",  "file_remove",  "stop",          "access_token",
    "action_server", "port_tunnel", "generations",
};

void sp_caps_describe(unsigned caps, char *out, size_t len)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof(CAP_NAMES) / sizeof(CAP_NAMES[0]) && used < len; i++) {
        if (caps & (1u << i)) {
            int n = snprintf(out + used, len - used, "%s%s", used ? ", " : "", CAP_NAMES[i]);
            used += n > 0 ? (size_t)n : 0;
        }
    }
}

size_t sp_provider_names(const char **names, size_t max)
{
    for (size_t i = 0; i < N_PROVIDERS && i < max; i++)
        names[i] = providers[i]->name;
    return N_PROVIDERS;
}

const struct sp_provider *sp__provider_find(const char *name)
{
    for (size_t i = 0; i < N_PROVIDERS; i++) {
        if (strcmp(providers[i]->name, name) == 0)
            return providers[i];
    }
    return NULL;
}

const char *const *sp_provider_credential_vars(const char *name)
{
    const struct sp_provider *p = sp__provider_find(name);
    return p ? p->credential_vars : NULL;
}

const char *const *sp_provider_modes(const char *name)
{
    const struct sp_provider *p = sp__provider_find(name);
    return p ? p->modes : NULL;
}

/* Exec and files go to the action server whenever the configuration runs one (its caps say
 * SP_CAP_ACTION_SERVER), and to the provider's own steps (its direct mode) otherwise: one
 * dispatch here rather than a mode test in every provider. */
static bool runs_action_server(const struct sp_op *op)
{
    return (sp_client_caps(op->client) & SP_CAP_ACTION_SERVER) != 0;
}

static enum sp_next route_exec(struct sp_op *op,
                               const struct sp_http_rsp *rsp,
                               struct sp_http_req *req,
                               struct sp_error *err)
{
    if (runs_action_server(op))
        return sp_as_exec_step(op, rsp, req, err);
    return op->client->provider->exec(op, rsp, req, err);
}

static enum sp_next route_files(struct sp_op *op,
                                const struct sp_http_rsp *rsp,
                                struct sp_http_req *req,
                                struct sp_error *err)
{
    if (runs_action_server(op))
        return sp_as_files_step(op, rsp, req, err);
    return op->client->provider->files(op, rsp, req, err);
}

sp_step_fn sp__provider_step(const struct sp_provider *p, enum sp_step step)
{
    switch (step) {
    case SP_STEP_AUTH:
        return p->auth;
    case SP_STEP_CREATE:
        return p->create;
    case SP_STEP_ATTACH:
        return p->attach;
    case SP_STEP_STARTUP:
        return p->startup;
    case SP_STEP_EXEC:
        return p->exec ? route_exec : NULL;
    case SP_STEP_FILES:
        return p->files ? route_files : NULL;
    case SP_STEP_CLEANUP:
        return p->cleanup;
    case SP_STEP_LIST:
        return p->list;
    case SP_STEP__COUNT:
        break;
    }
    return NULL;
}

/* --- clients ------------------------------------------------------------------------------ */

static void opts_fill_defaults(struct sp_client_opts *o)
{
    if (o->http_timeout_ms <= 0)
        o->http_timeout_ms = 30000;
    if (o->connect_timeout_ms <= 0)
        o->connect_timeout_ms = 10000;
    if (o->ready_timeout_ms <= 0)
        o->ready_timeout_ms = 60000;
    if (o->alive_interval_ms <= 0)
        o->alive_interval_ms = 1000;
    if (o->alive_timeout_ms <= 0)
        o->alive_timeout_ms = 120000;
}

enum sp_err sp_client_new(const char *name,
                          const struct sp_kv *env,
                          const struct sp_client_opts *opts,
                          struct sp_client **out,
                          struct sp_error *err)
{
    *out = NULL;
    const struct sp_provider *p = sp__provider_find(name);
    if (p == NULL)
        return sp_error_set(err, SP_E_CONFIG, "unknown provider '%s'", name);
    struct sp_client *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return sp_error_set(err, SP_E_INTERNAL, "out of memory");
    c->provider = p;
    if (opts)
        c->opts = *opts;
    opts_fill_defaults(&c->opts);
    struct sp_kv empty;
    sp_kv_init(&empty);
    enum sp_err rc = p->configure(env ? env : &empty, &c->opts, &c->cfg, err);
    if (rc != SP_E_OK) {
        free(c);
        return rc;
    }
    const char *ca = env ? sp_kv_get(env, "SSL_CERT_FILE") : NULL;
    if (ca != NULL && ca[0] != '\0' && (c->ca_file = strdup(ca)) == NULL) {
        if (p->cfg_free)
            p->cfg_free(c->cfg);
        free(c);
        return sp_error_set(err, SP_E_INTERNAL, "out of memory");
    }
    /* Made now rather than on first use, so no two threads race to make it. */
    if ((rc = sp_loop_new(&c->loop, err)) != SP_E_OK) {
        if (p->cfg_free)
            p->cfg_free(c->cfg);
        free(c->ca_file);
        free(c);
        return rc;
    }
    pthread_mutex_init(&c->loop_lock, NULL);
    *out = c;
    return SP_E_OK;
}

void sp_client_free(struct sp_client *c)
{
    if (c == NULL)
        return;
    sp_loop_free(c->loop);
    pthread_mutex_destroy(&c->loop_lock);
    if (c->provider->cfg_free)
        c->provider->cfg_free(c->cfg);
    free(c->ca_file);
    free(c);
}

const char *sp_client_name(const struct sp_client *c)
{
    return c->provider->name;
}

unsigned sp_client_caps(const struct sp_client *c)
{
    return c->provider->caps ? c->provider->caps(c->cfg) : 0;
}

int sp_client_attempts_5xx(const struct sp_client *c, enum sp_step step)
{
    return c->provider->attempts_5xx ? c->provider->attempts_5xx(c->cfg, step) : 1;
}

int sp_client_attempts_429(const struct sp_client *c, enum sp_step step)
{
    bool as_step = step == SP_STEP_EXEC || step == SP_STEP_FILES;
    if (as_step && (sp_client_caps(c) & SP_CAP_ACTION_SERVER))
        return SP_AS_ATTEMPTS_429;
    return c->provider->attempts_429 ? c->provider->attempts_429(c->cfg, step) : 1;
}

bool sp_client_exec_via_api(const struct sp_client *c)
{
    return c->provider->exec_via_api ? c->provider->exec_via_api(c->cfg) : false;
}

const char *sp_client_session_key(const struct sp_client *c)
{
    return c->provider->session_key;
}

long sp__client_http_timeout(const struct sp_client *c)
{
    return c->opts.http_timeout_ms;
}

/* --- sandboxes ------------------------------------------------------------------------------ */

struct sp_sandbox *sp__sandbox_new(struct sp_client *c)
{
    struct sp_sandbox *sb = calloc(1, sizeof(*sb));
    if (sb == NULL)
        return NULL;
    sb->client = c;
    sp_kv_init(&sb->data_headers);
    return sb;
}

void sp_sandbox_free(struct sp_sandbox *sb)
{
    if (sb == NULL)
        return;
    if (sb->priv_free)
        sb->priv_free(sb->priv);
    sp_kv_cleanup(&sb->data_headers);
    free(sb);
}

void sp__sandbox_set_state(struct sp_sandbox *sb, const char *state)
{
    snprintf(sb->state, sizeof(sb->state), "%s", state ? state : "");
}

const char *sp_sandbox_id(const struct sp_sandbox *sb)
{
    return sb->id;
}

const char *sp_sandbox_state(const struct sp_sandbox *sb)
{
    return sb->state;
}

const char *sp_sandbox_session(const struct sp_sandbox *sb)
{
    return sb->session;
}

const char *sp_sandbox_data_url(const struct sp_sandbox *sb)
{
    return sb->data_url;
}

bool sp_sandbox_forget_access_token(struct sp_sandbox *sb)
{
    if (sb->access_header[0] == '\0' || sp_kv_geti(&sb->data_headers, sb->access_header) == NULL)
        return false;
    sp_kv_del(&sb->data_headers, sb->access_header);
    return true;
}

/* --- exec and files records ------------------------------------------------------------------ */

#define EXEC_OUTPUT_MAX ((size_t)16 << 20)

void sp_exec_init(struct sp_exec *x, const char *command)
{
    memset(x, 0, sizeof(*x));
    x->command = command;
    x->exit_code = -1;
    sp_buf_init(&x->out, EXEC_OUTPUT_MAX);
    sp_buf_init(&x->err, EXEC_OUTPUT_MAX);
}

void sp_exec_cleanup(struct sp_exec *x)
{
    sp_buf_cleanup(&x->out);
    sp_buf_cleanup(&x->err);
}

void sp__exec_emit_buffered(struct sp_exec *x)
{
    if (x->on_event == NULL)
        return;
    x->on_event(x->user, SP_EXEC_STARTED, NULL, 0);
    if (x->out.len > 0)
        x->on_event(x->user, SP_EXEC_STDOUT, x->out.data, x->out.len);
    x->on_event(x->user, SP_EXEC_ENDED, NULL, 0);
}

void sp_files_init(struct sp_files *f, enum sp_file_kind kind, const char *path)
{
    memset(f, 0, sizeof(*f));
    f->kind = kind;
    f->path = path;
    sp_buf_init(&f->content, 0);
}

void sp_files_cleanup(struct sp_files *f)
{
    sp_buf_cleanup(&f->content);
    free(f->entries);
    f->entries = NULL;
    f->n_entries = 0;
}

enum sp_err
sp__files_take_entries(struct sp_files *f, enum sp_err rc, struct sp_file_entry *entries, size_t n)
{
    if (rc != SP_E_OK) {
        free(entries);
        return rc;
    }
    free(f->entries);
    f->entries = entries;
    f->n_entries = n;
    return SP_E_OK;
}

/* --- operations ----------------------------------------------------------------------------- */

static void op_init(struct sp_op *op, enum sp_step step, struct sp_client *c, struct sp_sandbox *sb)
{
    memset(op, 0, sizeof(*op));
    op->step = step;
    op->client = c;
    op->sandbox = sb;
    sp_error_clear(&op->err);
}

void sp_op_init_auth(struct sp_op *op, struct sp_client *c)
{
    op_init(op, SP_STEP_AUTH, c, NULL);
}

void sp_op_init_create(struct sp_op *op, struct sp_client *c, const struct sp_create_opts *o)
{
    op_init(op, SP_STEP_CREATE, c, NULL);
    op->u.create = o;
}

void sp_op_init_attach(struct sp_op *op, struct sp_client *c, const char *key, const char *value)
{
    op_init(op, SP_STEP_ATTACH, c, NULL);
    op->u.attach.key = key ? key : c->provider->session_key;
    op->u.attach.value = value;
}

void sp_op_init_startup(struct sp_op *op, struct sp_sandbox *sb)
{
    op_init(op, SP_STEP_STARTUP, sb->client, sb);
}

void sp_op_init_exec(struct sp_op *op, struct sp_sandbox *sb, struct sp_exec *x)
{
    op_init(op, SP_STEP_EXEC, sb->client, sb);
    op->u.exec = x;
}

void sp_op_init_files(struct sp_op *op, struct sp_sandbox *sb, struct sp_files *f)
{
    op_init(op, SP_STEP_FILES, sb->client, sb);
    op->u.files = f;
}

void sp_op_init_cleanup(struct sp_op *op, struct sp_sandbox *sb, enum sp_cleanup how)
{
    op_init(op, SP_STEP_CLEANUP, sb->client, sb);
    op->u.cleanup = how;
}

void sp_op_init_list(
    struct sp_op *op, struct sp_client *c, const char *key, const char *value, struct sp_list *out)
{
    op_init(op, SP_STEP_LIST, c, NULL);
    op->u.list.key = key;
    op->u.list.value = value;
    op->u.list.out = out;
}

/* --- the blocking driver ---------------------------------------------------------------------- */

struct blocking_result {
    bool done;
    enum sp_err rc;
};

static void blocking_done(struct sp_op *op, enum sp_err rc, void *user)
{
    (void)op;
    struct blocking_result *r = user;
    r->done = true;
    r->rc = rc;
}

/* Runs op on the client's private loop until it completes (one thread at a time). */
static enum sp_err run_blocking(struct sp_op *op, struct sp_error *err)
{
    struct sp_client *c = op->client;
    struct blocking_result r = {false, SP_E_OK};
    pthread_mutex_lock(&c->loop_lock);
    sp_loop_submit(c->loop, op, blocking_done, &r);
    long slice = c->opts.cancelled ? 100 : 1000;
    while (!r.done) {
        if (c->opts.cancelled && c->opts.cancelled(c->opts.cancel_arg)) {
            /* Freeing the loop abandons the op (its private data freed, no callback); the
             * client gets a fresh one for whatever it does next (its cleanup). */
            sp_loop_free(c->loop);
            c->loop = NULL;
            enum sp_err rc = sp_loop_new(&c->loop, err);
            pthread_mutex_unlock(&c->loop_lock);
            return rc != SP_E_OK ? rc : sp_error_set(err, SP_E_INTERNAL, "interrupted");
        }
        sp_loop_run_once(c->loop, slice);
    }
    pthread_mutex_unlock(&c->loop_lock);
    if (err)
        *err = op->err;
    return r.rc;
}

enum sp_err sp_sandbox_list(struct sp_client *c,
                            const char *key,
                            const char *value,
                            struct sp_list *out,
                            struct sp_error *err)
{
    struct sp_op op;
    sp_op_init_list(&op, c, key, value, out);
    return run_blocking(&op, err);
}

enum sp_err sp_auth(struct sp_client *c, struct sp_error *err)
{
    struct sp_op op;
    sp_op_init_auth(&op, c);
    return run_blocking(&op, err);
}

enum sp_err sp_sandbox_create(struct sp_client *c,
                              const struct sp_create_opts *opts,
                              struct sp_sandbox **out,
                              struct sp_error *err)
{
    static const struct sp_create_opts defaults;
    struct sp_op op;
    sp_op_init_create(&op, c, opts ? opts : &defaults);
    enum sp_err rc = run_blocking(&op, err);
    *out = rc == SP_E_OK ? op.sandbox : NULL;
    if (rc != SP_E_OK)
        sp_sandbox_free(op.sandbox);
    return rc;
}

enum sp_err sp_sandbox_attach(struct sp_client *c,
                              const char *key,
                              const char *value,
                              struct sp_sandbox **out,
                              struct sp_error *err)
{
    struct sp_op op;
    sp_op_init_attach(&op, c, key, value);
    enum sp_err rc = run_blocking(&op, err);
    *out = rc == SP_E_OK ? op.sandbox : NULL;
    if (rc != SP_E_OK)
        sp_sandbox_free(op.sandbox);
    return rc;
}

enum sp_err sp_sandbox_startup(struct sp_sandbox *sb, struct sp_error *err)
{
    struct sp_op op;
    sp_op_init_startup(&op, sb);
    return run_blocking(&op, err);
}

enum sp_err sp_exec(struct sp_sandbox *sb, struct sp_exec *x, struct sp_error *err)
{
    struct sp_op op;
    sp_op_init_exec(&op, sb, x);
    return run_blocking(&op, err);
}

enum sp_err sp_files(struct sp_sandbox *sb, struct sp_files *f, struct sp_error *err)
{
    struct sp_op op;
    sp_op_init_files(&op, sb, f);
    return run_blocking(&op, err);
}

enum sp_err sp_sandbox_cleanup(struct sp_sandbox *sb, enum sp_cleanup how, struct sp_error *err)
{
    struct sp_op op;
    sp_op_init_cleanup(&op, sb, how);
    return run_blocking(&op, err);
}
