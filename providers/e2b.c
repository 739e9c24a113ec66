/* The E2B provider: configuration and the control-plane steps (auth, create, attach, startup,
 * cleanup) over E2B's REST API (spec/e2b-modal.md A2). exec and files talk to envd, the
 * daemon inside each sandbox, and live in e2b_envd.c. JSON stays in e2b_json.c.
 *
 * Variables (read from the env the client is given, never getenv):
 *   E2B_API_KEY          required; e2b_ + lowercase hex, as the SDKs check, unless
 *                        E2B_VALIDATE_API_KEY=false
 *   E2B_DOMAIN           default e2b.app; control plane https://api.<domain>
 *   E2B_API_URL          overrides the control-plane base URL
 *   E2B_SANDBOX_URL      overrides the envd base URL of every sandbox; requests then carry
 *                        E2b-Sandbox-Id / E2b-Sandbox-Port (the SDKs always send both)
 *   E2B_TEMPLATE         default code-interpreter-v1 (what OpenHands' E2B runtime gets)
 *   E2B_SANDBOX_TIMEOUT  sandbox lifetime in seconds (default 300, as the SDKs)
 *
 * Modes (--mode): v2, the default, creates and connects with POST /v2/sandboxes and
 * /v2/sandboxes/{id}/connect as the current SDKs do (always secured); v1 uses POST /sandboxes
 * (with `secure` as the access option asks) and /sandboxes/{id}/connect, as SDKs before 2.51.
 * The session travels in metadata under "session_id" (E2B_SESSION_KEY), the run id under
 * sandprobe_run. Startup waits for envd's /health, then sets the sandbox timeout
 * (POST /sandboxes/{id}/timeout) so the lifetime counts from when the sandbox is usable. */
#include "e2b.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_PAGE_MAX 50 /* pages of GET /v2/sandboxes before we call the paging broken */

/* --- configuration ------------------------------------------------------------------------- */

static int check_key(const char *key, const struct sp_kv *env, struct sp_error *err)
{
    const char *validate = sp_kv_get(env, "E2B_VALIDATE_API_KEY");
    if (validate && strcmp(validate, "false") == 0)
        return 0;
    if (strncmp(key, "e2b_", 4) != 0 || key[4] == '\0' ||
        strspn(key + 4, "0123456789abcdef") != strlen(key + 4)) {
        sp_error_set(err, SP_E_CONFIG,
                     "E2B_API_KEY has the wrong format: expected e2b_ followed by lowercase hex "
                     "digits (set E2B_VALIDATE_API_KEY=false to skip this check)");
        return -1;
    }
    return 0;
}

static int parse_mode(const char *mode, bool *v1, struct sp_error *err)
{
    *v1 = mode != NULL && strcmp(mode, "v1") == 0;
    if (mode == NULL || mode[0] == '\0' || *v1 || strcmp(mode, "v2") == 0)
        return 0;
    sp_error_set(err, SP_E_CONFIG, "unknown E2B mode '%.40s' (valid modes: v1, v2)", mode);
    return -1;
}

static int parse_timeout(const struct sp_kv *env, long *out, struct sp_error *err)
{
    const char *v = sp_kv_get(env, "E2B_SANDBOX_TIMEOUT");
    *out = E2B_DEFAULT_TIMEOUT_S;
    if (v == NULL || v[0] == '\0')
        return 0;
    char *end = NULL;
    long t = strtol(v, &end, 10);
    if (*end != '\0' || t < 1 || t > 86400) {
        sp_error_set(err, SP_E_CONFIG,
                     "E2B_SANDBOX_TIMEOUT must be seconds from 1 to 86400, "
                     "got '%.32s'",
                     v);
        return -1;
    }
    *out = t;
    return 0;
}

/* sp__config_new and sp__config_free find the credential as the config's first member. */
_Static_assert(offsetof(struct e2b_cfg, api_key) == 0, "api_key must come first");

enum sp_err sp__e2b_configure(const struct sp_kv *env,
                              const struct sp_client_opts *opts,
                              void **cfg,
                              struct sp_error *err)
{
    enum sp_err rc = sp__config_new(env, "E2B_API_KEY", sizeof(struct e2b_cfg), cfg, err);
    if (rc != SP_E_OK)
        return rc;
    struct e2b_cfg *c = *cfg;
    if (check_key(c->api_key, env, err) != 0 ||
        sp__config_copy(env, "E2B_DOMAIN", E2B_DEFAULT_DOMAIN, c->domain, sizeof(c->domain), err) !=
            0 ||
        sp__config_copy(env, "E2B_API_URL", "", c->api_url, sizeof(c->api_url), err) != 0 ||
        sp__config_copy(env, "E2B_SANDBOX_URL", "", c->sandbox_url, sizeof(c->sandbox_url), err) !=
            0 ||
        sp__config_copy(env, "E2B_TEMPLATE", E2B_DEFAULT_TEMPLATE, c->template_id,
                        sizeof(c->template_id), err) != 0 ||
        parse_timeout(env, &c->timeout_s, err) != 0 ||
        parse_mode(opts ? opts->mode : NULL, &c->v1, err) != 0)
        goto fail;
    if (strspn(c->domain, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:") !=
        strlen(c->domain)) {
        sp_error_set(err, SP_E_CONFIG, "E2B_DOMAIN '%.64s' is not a host name", c->domain);
        goto fail;
    }
    if (c->api_url[0] == '\0')
        snprintf(c->api_url, sizeof(c->api_url), "https://api.%s", c->domain);
    if (sp__config_url(c->api_url, "E2B_API_URL", err) != 0 ||
        sp__config_url(c->sandbox_url, "E2B_SANDBOX_URL", err) != 0)
        goto fail;
    return SP_E_OK;
fail:
    sp__config_free(c);
    *cfg = NULL;
    return err ? err->code : SP_E_CONFIG;
}

static unsigned e2b_caps(const void *cfg)
{
    (void)cfg;
    return SP_CAP_LABELS | SP_CAP_STREAM_EXEC | SP_CAP_SPLIT_STDERR | SP_CAP_FILE_STAT |
           SP_CAP_FILE_MKDIR | SP_CAP_FILE_REMOVE | SP_CAP_ACCESS_TOKEN;
}

/* The SDKs use the shared sandbox.<domain> host (sandbox picked by header) for E2B's own
 * domains and a per-sandbox host elsewhere (spec A1). */
int sp__e2b_envd_url(
    const struct e2b_cfg *cfg, const char *id, const char *domain, char *out, size_t outlen)
{
    static const char *const shared[] = {"e2b.app", "e2b.dev", "e2b.pro", "e2b-staging.dev"};
    const char *d = domain && domain[0] ? domain : cfg->domain;
    int n;
    if (cfg->sandbox_url[0]) {
        n = snprintf(out, outlen, "%s", cfg->sandbox_url);
        return n < 0 || (size_t)n >= outlen ? -1 : 0;
    }
    for (size_t i = 0; i < sizeof(shared) / sizeof(shared[0]); i++) {
        if (strcmp(d, shared[i]) == 0) {
            n = snprintf(out, outlen, "https://sandbox.%s", d);
            return n < 0 || (size_t)n >= outlen ? -1 : 0;
        }
    }
    n = snprintf(out, outlen, "https://%d-%s.%s", E2B_ENVD_PORT, id, d);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/* --- shared step helpers ------------------------------------------------------------------- */

static const struct e2b_cfg *cfg_of(const struct sp_op *op)
{
    return op->client->cfg;
}

static enum sp_next oom(struct sp_error *err)
{
    sp_error_set(err, SP_E_INTERNAL, "out of memory building a request");
    return SP_NEXT_FAIL;
}

static int api_headers(struct sp_http_req *req, const struct e2b_cfg *cfg)
{
    return sp_http_req_header(req, "X-API-Key", "%s", cfg->api_key);
}

enum sp_next sp__e2b_api_fail(const struct sp_http_rsp *rsp, struct sp_error *err)
{
    char msg[200];
    return sp__api_fail(rsp, sp__e2b_parse_error, NULL, msg, sizeof(msg), err);
}

/* A request to {api}{gen}/sandboxes[/{id}]{path}; gen is "" or "/v2". */
static enum sp_next api_json_gen(struct sp_op *op,
                                 struct sp_http_req *req,
                                 enum sp_method m,
                                 const char *gen,
                                 const char *path,
                                 const char *id,
                                 const char *json,
                                 struct sp_error *err)
{
    const struct e2b_cfg *cfg = cfg_of(op);
    if (sp_http_req_url(req, m, "%s%s/sandboxes%s%s%s", cfg->api_url, gen, id ? "/" : "",
                        id ? id : "", path) != 0 ||
        api_headers(req, cfg) != 0 || (json && sp_http_req_json(req, json) != 0))
        return oom(err);
    return SP_NEXT_REQUEST;
}

static enum sp_next api_json(struct sp_op *op,
                             struct sp_http_req *req,
                             enum sp_method m,
                             const char *path,
                             const char *id,
                             const char *json,
                             struct sp_error *err)
{
    return api_json_gen(op, req, m, "", path, id, json, err);
}

/* Create and connect exist in two generations; the rest of the API has one. */
static const char *gen_of(const struct sp_op *op)
{
    return cfg_of(op)->v1 ? "" : "/v2";
}

/* Copies what create/connect returned into a new sandbox handle. */
static struct sp_sandbox *sandbox_from(struct sp_op *op,
                                       const struct e2b_sandbox_info *info,
                                       const char *session,
                                       struct sp_error *err)
{
    const struct e2b_cfg *cfg = cfg_of(op);
    struct sp_sandbox *sb = sp__sandbox_new(op->client);
    if (sb == NULL) {
        sp_error_set(err, SP_E_INTERNAL, "out of memory");
        return NULL;
    }
    snprintf(sb->id, sizeof(sb->id), "%s", info->id);
    snprintf(sb->session, sizeof(sb->session), "%s", session ? session : "");
    snprintf(sb->workdir, sizeof(sb->workdir), "%s", E2B_HOME);
    sp__sandbox_set_state(sb, "running");
    int rc = sp__e2b_envd_url(cfg, info->id, info->domain, sb->data_url, sizeof(sb->data_url));
    if (rc != 0)
        sp_error_set(err, SP_E_PROTOCOL, "envd URL for sandbox %s does not fit", info->id);
    char port[8];
    snprintf(port, sizeof(port), "%d", E2B_ENVD_PORT);
    if (rc == 0 && (sp_kv_set(&sb->data_headers, "E2b-Sandbox-Id", info->id) != 0 ||
                    sp_kv_set(&sb->data_headers, "E2b-Sandbox-Port", port) != 0))
        rc = sp_error_set(err, SP_E_INTERNAL, "out of memory");
    snprintf(sb->access_header, sizeof(sb->access_header), "X-Access-Token");
    if (rc == 0 && info->access_token[0]) {
        sb->flags |= SP_SB_TOKEN;
        if (sp_kv_set(&sb->data_headers, sb->access_header, info->access_token) != 0)
            rc = sp_error_set(err, SP_E_INTERNAL, "out of memory");
    }
    if (rc != 0) {
        sp_sandbox_free(sb);
        return NULL;
    }
    return sb;
}

/* --- auth -------------------------------------------------------------------------------- */

enum sp_next sp__e2b_step_auth(struct sp_op *op,
                               const struct sp_http_rsp *rsp,
                               struct sp_http_req *req,
                               struct sp_error *err)
{
    const struct e2b_cfg *cfg = cfg_of(op);
    if (rsp == NULL) {
        if (sp_http_req_url(req, SP_HTTP_GET, "%s/v2/sandboxes?limit=1", cfg->api_url) != 0 ||
            api_headers(req, cfg) != 0)
            return oom(err);
        return SP_NEXT_REQUEST;
    }
    if (!sp_http_ok(rsp))
        return sp__e2b_api_fail(rsp, err);
    struct e2b_list list = {0};
    if (sp__e2b_parse_list(rsp->body.data, rsp->body.len, NULL, NULL, &list, err) != 0)
        return SP_NEXT_FAIL;
    return SP_NEXT_DONE;
}

/* --- create ------------------------------------------------------------------------------ */

struct create_ctx {
    char session[128];
};

/* A session value nobody else will pick: the clock and the op's address, mixed. */
static void make_session(const struct sp_op *op, char *out, size_t len)
{
    uint64_t x = (uint64_t)sp_now_us() ^ ((uint64_t)(uintptr_t)op << 20);
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    snprintf(out, len, "sp-%016llx", (unsigned long long)x);
}

static enum sp_next create_request(struct sp_op *op, struct sp_http_req *req, struct sp_error *err)
{
    const struct sp_create_opts *o = op->u.create;
    const struct e2b_cfg *cfg = cfg_of(op);
    struct create_ctx *ctx = calloc(1, sizeof(*ctx));
    if (ctx == NULL)
        return oom(err);
    op->ctx = ctx;
    op->ctx_free = free;
    if (o->session)
        snprintf(ctx->session, sizeof(ctx->session), "%s", o->session);
    else
        make_session(op, ctx->session, sizeof(ctx->session));
    struct sp_kv md;
    sp_kv_init(&md);
    struct sp_buf body;
    sp_buf_init(&body, 0);
    int rc = sp_kv_set(&md, E2B_SESSION_KEY, ctx->session);
    if (rc == 0 && o->run_id)
        rc = sp_kv_set(&md, SP_RUN_LABEL, o->run_id);
    if (rc == 0) /* v1: the SDKs default to secure: true; v2 is always secured */
        rc = sp__e2b_build_new_sandbox(o->image ? o->image : cfg->template_id, cfg->timeout_s,
                                       !cfg->v1, o->access != SP_ACCESS_PUBLIC, &md, o->env, &body);
    enum sp_next next =
        rc == 0 ? api_json_gen(op, req, SP_HTTP_POST, gen_of(op), "", NULL, body.data, err)
                : oom(err);
    sp_kv_cleanup(&md);
    sp_buf_cleanup(&body);
    return next;
}

enum sp_next sp__e2b_step_create(struct sp_op *op,
                                 const struct sp_http_rsp *rsp,
                                 struct sp_http_req *req,
                                 struct sp_error *err)
{
    if (rsp == NULL)
        return create_request(op, req, err);
    if (!sp_http_ok(rsp))
        return sp__e2b_api_fail(rsp, err);
    struct e2b_sandbox_info info;
    if (sp__e2b_parse_sandbox(rsp->body.data, rsp->body.len, &info, err) != 0)
        return SP_NEXT_FAIL;
    const struct create_ctx *ctx = op->ctx;
    op->sandbox = sandbox_from(op, &info, ctx->session, err);
    return op->sandbox ? SP_NEXT_DONE : SP_NEXT_FAIL;
}

/* --- attach ------------------------------------------------------------------------------ */

enum { ATTACH_LIST = 1, ATTACH_CONNECT };

struct attach_ctx {
    struct e2b_list list;
    char next_token[512];
    int pages;
};

/* GET /v2/sandboxes?metadata=<urlencoded "k=v", itself with k and v encoded>&state=... */
static enum sp_next
attach_list_request(struct sp_op *op, struct sp_http_req *req, struct sp_error *err)
{
    const struct attach_ctx *ctx = op->ctx;
    struct sp_buf pair, url;
    sp_buf_init(&pair, 0);
    sp_buf_init(&url, 0);
    int rc = sp_buf_put_urlencoded(&pair, op->u.attach.key);
    rc = rc ? rc : sp_buf_puts(&pair, "=");
    rc = rc ? rc : sp_buf_put_urlencoded(&pair, op->u.attach.value);
    rc = rc ? rc : sp_buf_printf(&url, "%s/v2/sandboxes?metadata=", cfg_of(op)->api_url);
    rc = rc ? rc : sp_buf_put_urlencoded(&url, sp_buf_str(&pair));
    rc = rc ? rc : sp_buf_puts(&url, "&state=running,paused&limit=100");
    if (rc == 0 && ctx->next_token[0]) {
        rc = sp_buf_puts(&url, "&nextToken=");
        rc = rc ? rc : sp_buf_put_urlencoded(&url, ctx->next_token);
    }
    rc = rc ? rc : sp_http_req_url(req, SP_HTTP_GET, "%s", sp_buf_str(&url));
    rc = rc ? rc : api_headers(req, cfg_of(op));
    sp_buf_cleanup(&pair);
    sp_buf_cleanup(&url);
    op->state = ATTACH_LIST;
    return rc == 0 ? SP_NEXT_REQUEST : oom(err);
}

/* One page in; asks for the next, or connects to the one match. */
static enum sp_next attach_page(struct sp_op *op,
                                const struct sp_http_rsp *rsp,
                                struct sp_http_req *req,
                                struct sp_error *err)
{
    struct attach_ctx *ctx = op->ctx;
    const char *key = op->u.attach.key, *value = op->u.attach.value;
    if (!sp_http_ok(rsp))
        return sp__e2b_api_fail(rsp, err);
    if (sp__e2b_parse_list(rsp->body.data, rsp->body.len, key, value, &ctx->list, err) != 0)
        return SP_NEXT_FAIL;
    int more = sp__e2b_next_token(rsp, ctx->next_token, sizeof(ctx->next_token), &ctx->pages,
                                  LIST_PAGE_MAX, err);
    if (more != 0)
        return more > 0 ? attach_list_request(op, req, err) : SP_NEXT_FAIL;
    if (ctx->list.total == 0) {
        sp_error_set(err, SP_E_NOT_FOUND, "no E2B sandbox has metadata %.60s=%.60s", key, value);
        return SP_NEXT_FAIL;
    }
    if (ctx->list.total > 1) {
        sp_error_set(err, SP_E_CONFLICT, "%ld E2B sandboxes have metadata %.60s=%.60s",
                     ctx->list.total, key, value);
        return SP_NEXT_FAIL;
    }
    struct sp_buf body;
    sp_buf_init(&body, 0);
    enum sp_next n = sp__e2b_build_timeout(cfg_of(op)->timeout_s, &body) != 0
                         ? oom(err)
                         : api_json_gen(op, req, SP_HTTP_POST, gen_of(op), "/connect",
                                        ctx->list.first_id, body.data, err);
    sp_buf_cleanup(&body);
    op->state = ATTACH_CONNECT;
    return n;
}

static enum sp_next
attach_connected(struct sp_op *op, const struct sp_http_rsp *rsp, struct sp_error *err)
{
    const struct attach_ctx *ctx = op->ctx;
    if (!sp_http_ok(rsp))
        return sp__e2b_api_fail(rsp, err);
    struct e2b_sandbox_info info;
    if (sp__e2b_parse_sandbox(rsp->body.data, rsp->body.len, &info, err) != 0)
        return SP_NEXT_FAIL;
    if (strcmp(info.id, ctx->list.first_id) != 0) {
        sp_error_set(err, SP_E_PROTOCOL, "connect to sandbox %s answered for sandbox %s",
                     ctx->list.first_id, info.id);
        return SP_NEXT_FAIL;
    }
    bool session = strcmp(op->u.attach.key, E2B_SESSION_KEY) == 0;
    op->sandbox = sandbox_from(op, &info, session ? op->u.attach.value : NULL, err);
    return op->sandbox ? SP_NEXT_DONE : SP_NEXT_FAIL;
}

enum sp_next sp__e2b_step_attach(struct sp_op *op,
                                 const struct sp_http_rsp *rsp,
                                 struct sp_http_req *req,
                                 struct sp_error *err)
{
    if (rsp == NULL) {
        if (sp__attach_begin(op, sizeof(struct attach_ctx), err) == NULL)
            return SP_NEXT_FAIL;
        return attach_list_request(op, req, err);
    }
    if (op->state == ATTACH_LIST)
        return attach_page(op, rsp, req, err);
    return attach_connected(op, rsp, err);
}

/* --- startup ------------------------------------------------------------------------------- */

enum { STARTUP_HEALTH = 1, STARTUP_WAITED, STARTUP_TIMEOUT };

static enum sp_next health_request(struct sp_op *op, struct sp_http_req *req, struct sp_error *err)
{
    const struct sp_sandbox *sb = op->sandbox;
    long left = (long)(op->deadline_ms - sp_now_ms());
    long http = sp__client_http_timeout(op->client);
    if (sp_http_req_url(req, SP_HTTP_GET, "%s/health", sb->data_url) != 0 ||
        sp_http_req_headers(req, &sb->data_headers) != 0)
        return oom(err);
    req->timeout_ms = left < 1000 ? 1000 : left < http ? left : http;
    req->retry = sb->data_retry;
    op->state = STARTUP_HEALTH;
    return SP_NEXT_REQUEST;
}

/* envd answers /health with 204 (the API's own /health says 200): any 2xx is up. */
static enum sp_next startup_health(struct sp_op *op,
                                   const struct sp_http_rsp *rsp,
                                   struct sp_http_req *req,
                                   struct sp_error *err)
{
    if (sp_http_ok(rsp)) {
        struct sp_buf body;
        SP_OP_MARK(op, SP_MARK_ALIVE);
        sp_buf_init(&body, 0);
        enum sp_next n =
            sp__e2b_build_timeout(cfg_of(op)->timeout_s, &body) != 0
                ? oom(err)
                : api_json(op, req, SP_HTTP_POST, "/timeout", op->sandbox->id, body.data, err);
        sp_buf_cleanup(&body);
        op->state = STARTUP_TIMEOUT;
        return n;
    }
    if (sp_now_ms() >= op->deadline_ms) {
        char last[160];
        if (rsp->transport != SP_E_OK)
            snprintf(last, sizeof(last), "%.150s", rsp->transport_msg);
        else
            snprintf(last, sizeof(last), "HTTP %d", rsp->status);
        sp_error_set(err, SP_E_TIMEOUT,
                     "envd /health did not answer 2xx within %ld ms "
                     "(last: %s; sandbox state: %s)",
                     op->client->opts.alive_timeout_ms, last,
                     op->sandbox->state[0] ? op->sandbox->state : "unknown");
        return SP_NEXT_FAIL;
    }
    op->polls++;
    op->wait_ms = op->client->opts.alive_interval_ms;
    op->state = STARTUP_WAITED;
    return SP_NEXT_WAIT;
}

enum sp_next sp__e2b_step_startup(struct sp_op *op,
                                  const struct sp_http_rsp *rsp,
                                  struct sp_http_req *req,
                                  struct sp_error *err)
{
    if (op->state == 0) {
        if (op->sandbox->data_url[0] == '\0') {
            sp_error_set(err, SP_E_STATE, "sandbox %s has no envd URL", op->sandbox->id);
            return SP_NEXT_FAIL;
        }
        op->deadline_ms = sp_now_ms() + op->client->opts.alive_timeout_ms;
        SP_OP_MARK(op, SP_MARK_READY); /* E2B: create returns a running sandbox */
        return health_request(op, req, err);
    }
    if (op->state == STARTUP_WAITED)
        return health_request(op, req, err);
    if (op->state == STARTUP_HEALTH)
        return startup_health(op, rsp, req, err);
    if (!sp_http_ok(rsp)) /* STARTUP_TIMEOUT */
        return sp__e2b_api_fail(rsp, err);
    sp__sandbox_set_state(op->sandbox, "running");
    return SP_NEXT_DONE;
}

/* --- cleanup -------------------------------------------------------------------------------- */

enum { CLEANUP_DELETE = 1, CLEANUP_CHECK, CLEANUP_WAITED };

enum sp_next sp__e2b_step_cleanup(struct sp_op *op,
                                  const struct sp_http_rsp *rsp,
                                  struct sp_http_req *req,
                                  struct sp_error *err)
{
    struct sp_sandbox *sb = op->sandbox;
    switch (op->state) {
    case 0:
        if (op->u.cleanup == SP_CLEANUP_STOP) {
            sp_error_set(err, SP_E_UNSUPPORTED, "E2B sandboxes cannot be stopped and kept");
            return SP_NEXT_FAIL;
        }
        op->deadline_ms = sp_now_ms() + op->client->opts.ready_timeout_ms;
        op->state = CLEANUP_DELETE;
        return api_json(op, req, SP_HTTP_DELETE, "", sb->id, NULL, err);
    case CLEANUP_DELETE:
        if (!sp_http_ok(rsp))
            return sp__e2b_api_fail(rsp, err);
        sp__sandbox_set_state(sb, "killed");
        SP_OP_MARK(op, SP_MARK_DELETED);
        break;
    case CLEANUP_CHECK:
        if (rsp->transport == SP_E_OK && rsp->status == 404) {
            sp__sandbox_set_state(sb, "gone");
            SP_OP_MARK(op, SP_MARK_GONE);
            return SP_NEXT_DONE;
        }
        if (!sp_http_ok(rsp))
            return sp__e2b_api_fail(rsp, err);
        if (sp_now_ms() >= op->deadline_ms) {
            sp_error_set(err, SP_E_TIMEOUT, "sandbox %s still exists %ld ms after DELETE", sb->id,
                         op->client->opts.ready_timeout_ms);
            return SP_NEXT_FAIL;
        }
        op->wait_ms = op->client->opts.alive_interval_ms;
        op->state = CLEANUP_WAITED;
        return SP_NEXT_WAIT;
    default:
        break;
    }
    op->state = CLEANUP_CHECK; /* GET /sandboxes/{id} until it says 404 */
    return api_json(op, req, SP_HTTP_GET, "", sb->id, NULL, err);
}

static const char *const credential_vars[] = {"E2B_API_KEY", NULL};
static const char *const modes[] = {"v2", "v1", NULL};

const struct sp_provider sp_provider_e2b = {
    .name = "e2b",
    .session_key = E2B_SESSION_KEY,
    .configure = sp__e2b_configure,
    .cfg_free = sp__config_free,
    .caps = e2b_caps,
    .auth = sp__e2b_step_auth,
    .create = sp__e2b_step_create,
    .attach = sp__e2b_step_attach,
    .startup = sp__e2b_step_startup,
    .exec = sp__e2b_step_exec,
    .files = sp__e2b_step_files,
    .cleanup = sp__e2b_step_cleanup,
    .list = sp__e2b_step_list,

    .credential_vars = credential_vars,
    .modes = modes,
};
