/* What a requirement check (suites/conformance/test_*.c) is written with: the check macros,
 * which stop the check on the first unmet expectation with "expected X, got Y (file:line)",
 * and helpers that hand out sandboxes, clients and scratch records the runner frees and
 * deletes afterwards, whether the check passed or stopped half-way.
 *
 * Checks are plain C with no test framework: they run inside libsandprobe for
 * `sandprobe check` as well as under cmocka. A check stops by longjmp back into the runner,
 * so everything it allocates must come from these helpers (or be tracked with
 * sp_req_defer), never from a bare malloc that a failed check would leak, and why the
 * macros must never be used inside a callback (on_event runs inside the event loop). */
#ifndef SP_CONFORMANCE_RUNNER_H
#define SP_CONFORMANCE_RUNNER_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "provider.h"
#include "requirements.h"

/* --- the target ------------------------------------------------------------------------- */

/* The client for the target, created on first use from t->provider, t->env and t->opts.
 * A failure to create it ends the check with ERROR. */
struct sp_client *sp_req_client(struct sp_req_ctx *ctx);
/* The in-process mock, or NULL for a real provider. */
struct sp_mock *sp_req_mock(struct sp_req_ctx *ctx);
const struct sp_req_target *sp_req_target(struct sp_req_ctx *ctx);
/* sp_client_caps() of the target client. */
unsigned sp_req_caps(struct sp_req_ctx *ctx);
/* The target's options with the defaults of provider.h filled in, for a check that needs a
 * client with shorter deadlines (see sp_req_client_with). */
struct sp_client_opts sp_req_opts(struct sp_req_ctx *ctx);
/* The deadline for a requirement that waits one out on purpose (sp_req_target). */
long sp_req_fault_deadline_ms(struct sp_req_ctx *ctx);
/* A scratch error for the call under test; SP_REQUIRE_OK / SP_REQUIRE_ERR clear it first. */
struct sp_error *sp_req_err(struct sp_req_ctx *ctx);

/* --- tracked resources (freed after the check, in reverse order) -------------------------- */

/* Another client of the target provider with env and opts (NULL = the target's). A
 * failure ends the check with FAIL and the error. */
struct sp_client *sp_req_client_with(struct sp_req_ctx *ctx,
                                     const struct sp_kv *env,
                                     const struct sp_client_opts *opts);
/* Tracks a client the check created itself (sp_client_new under test). */
void sp_req_track_client(struct sp_req_ctx *ctx, struct sp_client *c);

/* Creates a sandbox with client c (NULL = the target client) and opts (NULL = defaults);
 * the run label is always set to t->run_id. Does not wait for startup. A failure ends the
 * check with FAIL. The sandbox is deleted after the check. */
struct sp_sandbox *
sp_req_create(struct sp_req_ctx *ctx, struct sp_client *c, const struct sp_create_opts *opts);
/* sp_req_create on the target client followed by a successful startup. */
struct sp_sandbox *sp_req_sandbox(struct sp_req_ctx *ctx);
/* sp_sandbox_attach on the target client by label key=value (key NULL = the session label),
 * with sp_req_err(ctx) for its error; a handle it returns is tracked as with
 * sp_req_track_handle. Returns what the attach returned (*out NULL unless SP_E_OK). */
enum sp_err
sp_req_attach(struct sp_req_ctx *ctx, const char *key, const char *value, struct sp_sandbox **out);
/* Tracks a sandbox the check created itself: it is deleted and freed after the check. */
void sp_req_track_sandbox(struct sp_req_ctx *ctx, struct sp_sandbox *sb);
/* Tracks a second handle (from attach) on a sandbox that is tracked already: freed only. */
void sp_req_track_handle(struct sp_req_ctx *ctx, struct sp_sandbox *sb);
/* Tells the runner the check deleted sb itself, so afterwards it is only freed. */
void sp_req_deleted(struct sp_req_ctx *ctx, struct sp_sandbox *sb);

/* Scratch records, initialised and freed by the runner. */
struct sp_exec *sp_req_exec(struct sp_req_ctx *ctx, const char *command);
struct sp_files *sp_req_files(struct sp_req_ctx *ctx, enum sp_file_kind kind, const char *path);
struct sp_kv *sp_req_kv(struct sp_req_ctx *ctx);
/* Zeroed memory. */
void *sp_req_alloc(struct sp_req_ctx *ctx, size_t size);
/* A formatted string. */
char *sp_req_printf(struct sp_req_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Runs fn(p) after the check. */
void sp_req_defer(struct sp_req_ctx *ctx, void (*fn)(void *p), void *p);

/* --- checks ------------------------------------------------------------------------------ */

/* Each macro stops the check with FAIL when its expectation is not met; the message says
 * what was expected and what came instead, and the result's `where` the file and line. */
#define SP_REQUIRE(ctx, cond, ...)                                \
    do {                                                          \
        if (!(cond))                                              \
            sp__req_fail((ctx), __FILE__, __LINE__, __VA_ARGS__); \
    } while (0)

/* expr is a call that takes sp_req_err(ctx) as its error argument. */
#define SP_REQUIRE_OK(ctx, expr) SP_REQUIRE_ERR(ctx, expr, SP_E_OK)

#define SP_REQUIRE_ERR(ctx, expr, want)                                            \
    do {                                                                           \
        sp_error_clear(sp_req_err(ctx));                                           \
        enum sp_err sp_req_rc_ = (expr);                                           \
        if (sp_req_rc_ != (want))                                                  \
            sp__req_fail_rc((ctx), __FILE__, __LINE__, #expr, (want), sp_req_rc_); \
    } while (0)

/* rc is what a call (named by `call`, e.g. "sp_client_new") returned with sp_req_err(ctx);
 * for calls whose result must be tracked before it is checked. */
#define SP_REQUIRE_RC(ctx, rc, want, call)                                          \
    do {                                                                            \
        enum sp_err sp_req_rc_ = (rc);                                              \
        if (sp_req_rc_ != (want))                                                   \
            sp__req_fail_rc((ctx), __FILE__, __LINE__, (call), (want), sp_req_rc_); \
    } while (0)

/* Runs command in sb (20 s deadline) and requires the call to succeed (any exit code);
 * evaluates to the tracked struct sp_exec. */
#define SP_EXEC_OK(ctx, sb, command) sp__req_exec_ok((ctx), (sb), (command), __FILE__, __LINE__)

#define SP_REQUIRE_INT_EQ(ctx, got, want)                                                  \
    do {                                                                                   \
        long long sp_req_got_ = (got), sp_req_want_ = (want);                              \
        if (sp_req_got_ != sp_req_want_)                                                   \
            sp__req_fail((ctx), __FILE__, __LINE__, "expected %s == %lld, got %lld", #got, \
                         sp_req_want_, sp_req_got_);                                       \
    } while (0)

#define SP_REQUIRE_STR_EQ(ctx, got, want)                                                         \
    do {                                                                                          \
        const char *sp_req_g_ = (got), *sp_req_w_ = (want);                                       \
        if (strcmp(sp_req_g_, sp_req_w_) != 0)                                                    \
            sp__req_fail_text((ctx), __FILE__, __LINE__, #got, "equal to", sp_req_w_, sp_req_g_); \
    } while (0)

#define SP_REQUIRE_STR_CONTAINS(ctx, hay, needle)                                       \
    do {                                                                                \
        const char *sp_req_h_ = (hay), *sp_req_n_ = (needle);                           \
        if (strstr(sp_req_h_, sp_req_n_) == NULL)                                       \
            sp__req_fail_text((ctx), __FILE__, __LINE__, #hay, "to contain", sp_req_n_, \
                              sp_req_h_);                                               \
    } while (0)

#define SP_REQUIRE_STR_LACKS(ctx, hay, needle)                                              \
    do {                                                                                    \
        const char *sp_req_h_ = (hay), *sp_req_n_ = (needle);                               \
        if (strstr(sp_req_h_, sp_req_n_) != NULL)                                           \
            sp__req_fail_text((ctx), __FILE__, __LINE__, #hay, "not to contain", sp_req_n_, \
                              sp_req_h_);                                                   \
    } while (0)

/* Byte-exact comparison; the message gives both lengths and the first differing offset. */
#define SP_REQUIRE_MEM_EQ(ctx, got, got_len, want, want_len) \
    sp__req_mem_eq((ctx), __FILE__, __LINE__, #got, (got), (got_len), (want), (want_len))

/* Ends the check with SKIP (a requirement that turns out not to apply). */
#define SP_SKIP(ctx, ...) sp__req_skip((ctx), __VA_ARGS__)

/* --- text helpers ------------------------------------------------------------------------- */

/* s without trailing whitespace, as a tracked copy (the action server strips it). */
const char *sp_req_rtrim(struct sp_req_ctx *ctx, const char *s);

/* --- internals of the macros ---------------------------------------------------------------- */

__attribute__((noreturn)) void
sp__req_fail(struct sp_req_ctx *ctx, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
__attribute__((noreturn)) void sp__req_fail_rc(struct sp_req_ctx *ctx,
                                               const char *file,
                                               int line,
                                               const char *expr,
                                               enum sp_err want,
                                               enum sp_err got);
__attribute__((noreturn)) void sp__req_fail_text(struct sp_req_ctx *ctx,
                                                 const char *file,
                                                 int line,
                                                 const char *what,
                                                 const char *relation,
                                                 const char *want,
                                                 const char *got);
__attribute__((noreturn)) void sp__req_skip(struct sp_req_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
struct sp_exec *sp__req_exec_ok(
    struct sp_req_ctx *ctx, struct sp_sandbox *sb, const char *command, const char *file, int line);
void sp__req_mem_eq(struct sp_req_ctx *ctx,
                    const char *file,
                    int line,
                    const char *what,
                    const void *got,
                    size_t got_len,
                    const void *want,
                    size_t want_len);

/* The requirement tables of the test_*.c files, in step order; registry.c joins them. */
extern const struct sp_requirement sp__req_auth[];
extern const size_t sp__req_auth_count;
extern const struct sp_requirement sp__req_create[];
extern const size_t sp__req_create_count;
extern const struct sp_requirement sp__req_startup[];
extern const size_t sp__req_startup_count;
extern const struct sp_requirement sp__req_faults[];
extern const size_t sp__req_faults_count;
extern const struct sp_requirement sp__req_exec[];
extern const size_t sp__req_exec_count;
extern const struct sp_requirement sp__req_files[];
extern const size_t sp__req_files_count;
extern const struct sp_requirement sp__req_cleanup[];
extern const size_t sp__req_cleanup_count;

#endif
