/* The conformance runner: runs one requirement check against a target, decides PASS / FAIL /
 * SKIP / ERROR, and afterwards deletes every sandbox and frees everything the check was
 * handed (runner.h), including when the check stopped half-way through a failed
 * expectation. A failed expectation ends the check by longjmp back into sp_req_run, which
 * is why checks allocate only through the tracking helpers below. */
#include "runner.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "mock.h"

enum tracked_kind {
    TRACK_FN,      /* fn(p) */
    TRACK_SANDBOX, /* delete the sandbox, then free the handle */
    TRACK_HANDLE,  /* free the handle only */
    TRACK_CLIENT   /* sp_client_free */
};

struct tracked {
    enum tracked_kind kind;
    void *p;
    void (*fn)(void *p);
};

struct sp_req_ctx {
    const struct sp_requirement *req;
    const struct sp_req_target *t;
    struct sp_req_result *res;
    struct sp_client *client;   /* the target client, created on first use */
    struct sp_client_opts opts; /* the target's, with the runner's cancel hook */
    bool releasing;             /* the check is over: deletes must not be cancelled */
    struct sp_error scratch;
    struct tracked *items;
    size_t n_items, cap_items;
    jmp_buf jb;
};

/* --- names --------------------------------------------------------------------------------- */

static const char *const level_names[] = {"MUST", "SHOULD", "MAY"};

const char *sp_level_name(enum sp_level level)
{
    return (unsigned)level <= SP_LEVEL_MAY ? level_names[level] : "unknown";
}

bool sp_level_parse(const char *s, enum sp_level *out)
{
    for (unsigned i = 0; i <= SP_LEVEL_MAY; i++) {
        const char *a = s, *b = level_names[i];
        while (*a && *b && (*a | 0x20) == (*b | 0x20)) {
            a++;
            b++;
        }
        if (*a == '\0' && *b == '\0') {
            *out = (enum sp_level)i;
            return true;
        }
    }
    return false;
}

const char *sp_req_outcome_name(enum sp_req_outcome o)
{
    switch (o) {
    case SP_REQ_PASS:
        return "pass";
    case SP_REQ_FAIL:
        return "fail";
    case SP_REQ_SKIP:
        return "skip";
    case SP_REQ_ERROR:
        return "error";
    }
    return "unknown";
}

/* --- stopping a check ------------------------------------------------------------------------ */

/* Writes the message; the source location goes to res->where, out of the message a user
 * reads (the console shows it with --verbose). */
static void __attribute__((format(printf, 4, 0)))
set_message(struct sp_req_ctx *ctx, const char *file, int line, const char *fmt, va_list ap)
{
    char text[4 * sizeof(ctx->res->message)];
    vsnprintf(text, sizeof(text), fmt, ap);
    sp_text_fit(ctx->res->message, sizeof(ctx->res->message), text); /* whole words only */
    if (file == NULL)
        return;
    const char *base = strrchr(file, '/');
    snprintf(ctx->res->where, sizeof(ctx->res->where), "%s:%d", base ? base + 1 : file, line);
}

_Noreturn static void stop(struct sp_req_ctx *ctx, enum sp_req_outcome outcome)
{
    ctx->res->outcome = outcome;
    longjmp(ctx->jb, 1);
}

_Noreturn static void
stop_with(struct sp_req_ctx *ctx, enum sp_req_outcome outcome, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
_Noreturn static void
stop_with(struct sp_req_ctx *ctx, enum sp_req_outcome outcome, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_message(ctx, NULL, 0, fmt, ap);
    va_end(ap);
    stop(ctx, outcome);
}

_Noreturn void
sp__req_fail(struct sp_req_ctx *ctx, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_message(ctx, file, line, fmt, ap);
    va_end(ap);
    stop(ctx, SP_REQ_FAIL);
}

_Noreturn void sp__req_skip(struct sp_req_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_message(ctx, NULL, 0, fmt, ap);
    va_end(ap);
    stop(ctx, SP_REQ_SKIP);
}

/* The function name of a call expression: "sp_exec(sb, x, ...)" -> "sp_exec". */
static int call_name_len(const char *expr)
{
    const char *paren = strchr(expr, '(');
    return paren ? (int)(paren - expr) : (int)strlen(expr);
}

_Noreturn void sp__req_fail_rc(struct sp_req_ctx *ctx,
                               const char *file,
                               int line,
                               const char *expr,
                               enum sp_err want,
                               enum sp_err got)
{
    char detail[384] = "ok";
    if (got != SP_E_OK) {
        if (ctx->scratch.code != got) /* the call did not fill our error: name the class */
            sp_error_set(&ctx->scratch, got, "(no details)");
        sp_error_format(&ctx->scratch, detail, sizeof(detail));
        ctx->res->err = ctx->scratch;
    }
    sp__req_fail(ctx, file, line, "expected %s from %.*s, got %s", sp_err_name(want),
                 call_name_len(expr), expr, detail);
}

#define EXEC_TIMEOUT_MS 20000

struct sp_exec *sp__req_exec_ok(
    struct sp_req_ctx *ctx, struct sp_sandbox *sb, const char *command, const char *file, int line)
{
    struct sp_exec *x = sp_req_exec(ctx, command);
    x->timeout_ms = EXEC_TIMEOUT_MS;
    sp_error_clear(&ctx->scratch);
    enum sp_err rc = sp_exec(sb, x, &ctx->scratch);
    if (rc != SP_E_OK) {
        char detail[384];
        if (ctx->scratch.code != rc)
            sp_error_set(&ctx->scratch, rc, "(no details)");
        ctx->res->err = ctx->scratch;
        sp__req_fail(ctx, file, line, "expected ok from sp_exec(\"%.80s\"), got %s", command,
                     sp_error_format(&ctx->scratch, detail, sizeof(detail)));
    }
    return x;
}

/* Copies s into out as a quoted-safe excerpt: control bytes escaped, long text cut with
 * "..." at a space when there is one near the end, and never inside a UTF-8 sequence. */
static void excerpt(const char *s, char *out, size_t len)
{
    size_t o = 0, space = 0;
    for (; *s && o + 8 < len; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
        } else if (c < 0x20 || c == 0x7f) {
            o += (size_t)snprintf(out + o, len - o, "\\x%02x", c);
        } else {
            out[o++] = (char)c;
        }
        if (c == ' ')
            space = o - 1;
    }
    if (*s) {
        if (((unsigned char)*s & 0xC0) == 0x80) { /* cut inside a sequence: drop its start */
            while (o > 0 && ((unsigned char)out[o - 1] & 0xC0) == 0x80)
                o--;
            if (o > 0 && (unsigned char)out[o - 1] >= 0xC0)
                o--;
        }
        if (space > 0 && space + 24 >= o)
            o = space;
        if (o + 4 <= len) {
            memcpy(out + o, "...", 3);
            o += 3;
        }
    }
    out[o] = '\0';
}

_Noreturn void sp__req_fail_text(struct sp_req_ctx *ctx,
                                 const char *file,
                                 int line,
                                 const char *what,
                                 const char *relation,
                                 const char *want,
                                 const char *got)
{
    char w[120], g[200];
    excerpt(want, w, sizeof(w));
    excerpt(got, g, sizeof(g));
    sp__req_fail(ctx, file, line, "expected %s %s \"%s\", got \"%s\"", what, relation, w, g);
}

void sp__req_mem_eq(struct sp_req_ctx *ctx,
                    const char *file,
                    int line,
                    const char *what,
                    const void *got,
                    size_t got_len,
                    const void *want,
                    size_t want_len)
{
    const unsigned char *g = got, *w = want;
    size_t n = got_len < want_len ? got_len : want_len;
    size_t i = 0;
    while (i < n && g[i] == w[i])
        i++;
    if (i == n && got_len == want_len)
        return;
    if (i < n)
        sp__req_fail(ctx, file, line,
                     "expected %s to hold the %zu expected bytes, got %zu bytes, first "
                     "difference at offset %zu (0x%02x instead of 0x%02x)",
                     what, want_len, got_len, i, g[i], w[i]);
    sp__req_fail(ctx, file, line,
                 "expected %s to hold the %zu expected bytes, got %zu bytes (equal up to the "
                 "shorter)",
                 what, want_len, got_len);
}

/* --- tracking ------------------------------------------------------------------------------ */

static void tell_sandbox(struct sp_req_ctx *ctx, struct sp_sandbox *sb, bool alive)
{
    if (ctx->t->on_sandbox && sb && sp_sandbox_id(sb)[0])
        ctx->t->on_sandbox(ctx->t->sandbox_arg, sp_sandbox_id(sb), alive);
}

static void release(struct sp_req_ctx *ctx, struct tracked *it)
{
    switch (it->kind) {
    case TRACK_FN:
        it->fn(it->p);
        break;
    case TRACK_SANDBOX: {
        /* Best effort: a sandbox left behind is what the leak requirement reports. */
        struct sp_error e;
        sp_error_clear(&e);
        enum sp_err rc = sp_sandbox_cleanup(it->p, SP_CLEANUP_DELETE, &e);
        if (rc == SP_E_OK || rc == SP_E_NOT_FOUND)
            tell_sandbox(ctx, it->p, false);
        sp_sandbox_free(it->p);
        break;
    }
    case TRACK_HANDLE:
        sp_sandbox_free(it->p);
        break;
    case TRACK_CLIENT:
        sp_client_free(it->p);
        break;
    }
}

static void track(struct sp_req_ctx *ctx, enum tracked_kind kind, void *p, void (*fn)(void *p))
{
    struct tracked it = {kind, p, fn};
    if (ctx->n_items == ctx->cap_items) {
        size_t cap = ctx->cap_items ? ctx->cap_items * 2 : 16;
        struct tracked *items = realloc(ctx->items, cap * sizeof(*items));
        if (items == NULL) {
            release(ctx, &it);
            stop_with(ctx, SP_REQ_ERROR, "out of memory tracking a resource");
        }
        ctx->items = items;
        ctx->cap_items = cap;
    }
    ctx->items[ctx->n_items++] = it;
    if (kind == TRACK_SANDBOX)
        tell_sandbox(ctx, p, true);
}

static void release_all(struct sp_req_ctx *ctx)
{
    ctx->releasing = true;
    while (ctx->n_items > 0)
        release(ctx, &ctx->items[--ctx->n_items]);
    free(ctx->items);
    ctx->items = NULL;
    sp_client_free(ctx->client);
    ctx->client = NULL;
}

void sp_req_defer(struct sp_req_ctx *ctx, void (*fn)(void *p), void *p)
{
    track(ctx, TRACK_FN, p, fn);
}

void sp_req_track_client(struct sp_req_ctx *ctx, struct sp_client *c)
{
    if (c)
        track(ctx, TRACK_CLIENT, c, NULL);
}

void sp_req_track_sandbox(struct sp_req_ctx *ctx, struct sp_sandbox *sb)
{
    if (sb)
        track(ctx, TRACK_SANDBOX, sb, NULL);
}

void sp_req_track_handle(struct sp_req_ctx *ctx, struct sp_sandbox *sb)
{
    if (sb)
        track(ctx, TRACK_HANDLE, sb, NULL);
}

void sp_req_deleted(struct sp_req_ctx *ctx, struct sp_sandbox *sb)
{
    for (size_t i = 0; i < ctx->n_items; i++) {
        if (ctx->items[i].p == sb && ctx->items[i].kind == TRACK_SANDBOX) {
            ctx->items[i].kind = TRACK_HANDLE;
            tell_sandbox(ctx, sb, false);
        }
    }
}

void *sp_req_alloc(struct sp_req_ctx *ctx, size_t size)
{
    void *p = calloc(1, size ? size : 1);
    if (p == NULL)
        stop_with(ctx, SP_REQ_ERROR, "out of memory (%zu bytes)", size);
    track(ctx, TRACK_FN, p, free);
    return p;
}

char *sp_req_printf(struct sp_req_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        stop_with(ctx, SP_REQ_ERROR, "cannot format \"%s\"", fmt);
    char *s = sp_req_alloc(ctx, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

const char *sp_req_rtrim(struct sp_req_ctx *ctx, const char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    char *copy = sp_req_alloc(ctx, n + 1);
    memcpy(copy, s, n);
    return copy;
}

static void exec_release(void *p)
{
    sp_exec_cleanup(p);
    free(p);
}

struct sp_exec *sp_req_exec(struct sp_req_ctx *ctx, const char *command)
{
    struct sp_exec *x = malloc(sizeof(*x));
    if (x == NULL)
        stop_with(ctx, SP_REQ_ERROR, "out of memory");
    sp_exec_init(x, command);
    track(ctx, TRACK_FN, x, exec_release);
    return x;
}

static void files_release(void *p)
{
    sp_files_cleanup(p);
    free(p);
}

struct sp_files *sp_req_files(struct sp_req_ctx *ctx, enum sp_file_kind kind, const char *path)
{
    struct sp_files *f = malloc(sizeof(*f));
    if (f == NULL)
        stop_with(ctx, SP_REQ_ERROR, "out of memory");
    sp_files_init(f, kind, path);
    track(ctx, TRACK_FN, f, files_release);
    return f;
}

static void kv_release(void *p)
{
    sp_kv_cleanup(p);
    free(p);
}

struct sp_kv *sp_req_kv(struct sp_req_ctx *ctx)
{
    struct sp_kv *kv = malloc(sizeof(*kv));
    if (kv == NULL)
        stop_with(ctx, SP_REQ_ERROR, "out of memory");
    sp_kv_init(kv);
    track(ctx, TRACK_FN, kv, kv_release);
    return kv;
}

/* --- the target ------------------------------------------------------------------------------- */

struct sp_client *sp_req_client(struct sp_req_ctx *ctx)
{
    if (ctx->client == NULL) {
        struct sp_error e;
        sp_error_clear(&e);
        if (sp_client_new(ctx->t->provider, ctx->t->env, &ctx->opts, &ctx->client, &e) != SP_E_OK) {
            char text[384];
            ctx->res->err = e;
            stop_with(ctx, SP_REQ_ERROR, "cannot create the %s client: %s", ctx->t->provider,
                      sp_error_format(&e, text, sizeof(text)));
        }
    }
    return ctx->client;
}

struct sp_mock *sp_req_mock(struct sp_req_ctx *ctx)
{
    return ctx->t->mock;
}

const struct sp_req_target *sp_req_target(struct sp_req_ctx *ctx)
{
    return ctx->t;
}

unsigned sp_req_caps(struct sp_req_ctx *ctx)
{
    return sp_client_caps(sp_req_client(ctx));
}

struct sp_client_opts sp_req_opts(struct sp_req_ctx *ctx)
{
    return ctx->opts;
}

long sp_req_fault_deadline_ms(struct sp_req_ctx *ctx)
{
    return ctx->t->fault_deadline_ms > 0 ? ctx->t->fault_deadline_ms : 1500;
}

/* The cancel hook of every client the check makes: the target's, until the check is over. */
static bool ctx_cancelled(void *arg)
{
    const struct sp_req_ctx *ctx = arg;
    return !ctx->releasing && ctx->t->cancelled && ctx->t->cancelled(ctx->t->cancel_arg);
}

static struct sp_client_opts with_cancel(struct sp_req_ctx *ctx, const struct sp_client_opts *o)
{
    struct sp_client_opts r = *o;
    r.cancelled = ctx_cancelled;
    r.cancel_arg = ctx;
    return r;
}

struct sp_error *sp_req_err(struct sp_req_ctx *ctx)
{
    return &ctx->scratch;
}

_Noreturn static void fail_call(struct sp_req_ctx *ctx, const char *call, const struct sp_error *e)
{
    char text[384];
    ctx->res->err = *e;
    stop_with(ctx, SP_REQ_FAIL, "expected ok from %s, got %s", call,
              sp_error_format(e, text, sizeof(text)));
}

struct sp_client *sp_req_client_with(struct sp_req_ctx *ctx,
                                     const struct sp_kv *env,
                                     const struct sp_client_opts *opts)
{
    struct sp_client *c = NULL;
    struct sp_error e;
    sp_error_clear(&e);
    struct sp_client_opts o = with_cancel(ctx, opts ? opts : &ctx->opts);
    if (sp_client_new(ctx->t->provider, env ? env : ctx->t->env, &o, &c, &e) != SP_E_OK)
        fail_call(ctx, "sp_client_new", &e);
    track(ctx, TRACK_CLIENT, c, NULL);
    return c;
}

struct sp_sandbox *
sp_req_create(struct sp_req_ctx *ctx, struct sp_client *c, const struct sp_create_opts *opts)
{
    struct sp_create_opts o;
    memset(&o, 0, sizeof(o));
    if (opts)
        o = *opts;
    o.run_id = ctx->t->run_id;
    struct sp_sandbox *sb = NULL;
    struct sp_error e;
    sp_error_clear(&e);
    if (sp_sandbox_create(c ? c : sp_req_client(ctx), &o, &sb, &e) != SP_E_OK)
        fail_call(ctx, "sp_sandbox_create", &e);
    track(ctx, TRACK_SANDBOX, sb, NULL);
    return sb;
}

struct sp_sandbox *sp_req_sandbox(struct sp_req_ctx *ctx)
{
    struct sp_sandbox *sb = sp_req_create(ctx, NULL, NULL);
    struct sp_error e;
    sp_error_clear(&e);
    if (sp_sandbox_startup(sb, &e) != SP_E_OK)
        fail_call(ctx, "sp_sandbox_startup", &e);
    return sb;
}

enum sp_err
sp_req_attach(struct sp_req_ctx *ctx, const char *key, const char *value, struct sp_sandbox **out)
{
    *out = NULL;
    sp_error_clear(sp_req_err(ctx));
    enum sp_err rc = sp_sandbox_attach(sp_req_client(ctx), key, value, out, sp_req_err(ctx));
    sp_req_track_handle(ctx, *out);
    return rc;
}

/* --- running ------------------------------------------------------------------------------------
 */

static void check_applies(struct sp_req_ctx *ctx)
{
    const struct sp_requirement *req = ctx->req;
    if ((req->flags & SP_REQ_NEEDS_MOCK) && ctx->t->mock == NULL)
        stop_with(ctx, SP_REQ_SKIP, "needs the mock's fault injection");
    unsigned excluded = req->excludes_caps & sp_req_caps(ctx);
    if (excluded) {
        char names[256];
        sp_caps_describe(excluded, names, sizeof(names));
        stop_with(ctx, SP_REQ_SKIP, "does not apply with capability %s (%s has it)", names,
                  ctx->t->provider);
    }
    if (req->needs_caps == 0)
        return;
    unsigned missing = req->needs_caps & ~sp_req_caps(ctx);
    if (missing) {
        char names[256];
        sp_caps_describe(missing, names, sizeof(names));
        stop_with(ctx, SP_REQ_SKIP, "needs capability %s, which %s does not have", names,
                  ctx->t->provider);
    }
}

/* Runs the check; a failed expectation longjmps back here with the outcome set. */
static void run_guarded(struct sp_req_ctx *ctx)
{
    if (setjmp(ctx->jb) != 0)
        return;
    check_applies(ctx);
    ctx->req->fn(ctx);
}

void sp_req_run(const struct sp_requirement *req,
                const struct sp_req_target *t,
                struct sp_req_result *res)
{
    int64_t t0 = sp_now_us();
    memset(res, 0, sizeof(*res));
    res->req = req;
    res->outcome = SP_REQ_PASS;
    sp_error_clear(&res->err);
    struct sp_req_ctx *ctx = calloc(1, sizeof(*ctx));
    if (ctx == NULL) {
        res->outcome = SP_REQ_ERROR;
        snprintf(res->message, sizeof(res->message), "out of memory");
    } else {
        ctx->req = req;
        ctx->t = t;
        struct sp_client_opts o;
        memset(&o, 0, sizeof(o));
        ctx->opts = with_cancel(ctx, t->opts ? t->opts : &o);
        ctx->res = res;
        sp_error_clear(&ctx->scratch);
        run_guarded(ctx);
        release_all(ctx);
        free(ctx);
    }
    res->seconds = (double)(sp_now_us() - t0) / 1e6;
}
