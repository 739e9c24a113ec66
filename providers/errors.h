/* The one error type of sandprobe: a class from DESIGN.md, plus the details a platform
 * engineer needs (HTTP status or gRPC code, the provider's message and request id, and the
 * lifecycle step). Callers own the struct; nothing here allocates, so "out of memory" can
 * still be reported. Secrets never go into an error. */
#ifndef SP_ERRORS_H
#define SP_ERRORS_H

#include <stddef.h>

/* X(ENUM_SUFFIX, stable name used in reports, one-line description) */
#define SP_ERR_MAP(X)                                                                 \
    X(OK, "ok", "success")                                                            \
    X(CONFIG, "config", "missing or malformed configuration or credential")           \
    X(AUTH, "auth", "credentials rejected by the provider")                           \
    X(NOT_FOUND, "not_found", "no such sandbox, file or resource")                    \
    X(CONFLICT, "conflict", "the request conflicts with the sandbox's current state") \
    X(RATE_LIMITED, "rate_limited", "rate limited by the provider")                   \
    X(PROVIDER, "provider", "the provider failed (5xx)")                              \
    X(TIMEOUT, "timeout", "a deadline of ours expired")                               \
    X(CONNECT, "connect", "DNS, TCP or TLS failure")                                  \
    X(PROTOCOL, "protocol", "a response we cannot parse or that breaks the spec")     \
    X(STATE, "state", "the sandbox entered an error state")                           \
    X(UNSUPPORTED, "unsupported", "not supported by this provider")                   \
    X(INTERNAL, "internal", "harness failure (out of memory, system call)")

enum sp_err {
#define SP__ERR_ENUM(name, str, desc) SP_E_##name,
    SP_ERR_MAP(SP__ERR_ENUM)
#undef SP__ERR_ENUM
        SP_E__COUNT
};

struct sp_error {
    enum sp_err code;
    int http_status;   /* 0 when no HTTP response was involved */
    int grpc_status;   /* -1 when not a gRPC call */
    int retry_after_s; /* from Retry-After on rate_limited, else 0 */
    char step[16];     /* lifecycle step: auth, create, attach, startup, exec, files, cleanup */
    char request_id[64];
    char msg[256];
    const char *where; /* function that set the error (static string) */
};

/* Stable name ("rate_limited") as written to summary.json and junit.xml. */
const char *sp_err_name(enum sp_err code);
/* One-line description of the class. */
const char *sp_err_describe(enum sp_err code);
/* Looks a class up by its stable name; returns SP_E__COUNT when unknown. */
enum sp_err sp_err_from_name(const char *name);

/* Resets err to "no error". err may be NULL. */
void sp_error_clear(struct sp_error *err);

/* Sets code and a printf-style message (cut as sp_text_fit cuts); keeps http_status, step
 * and request_id as they are. Returns code so callers can write `return sp_error_set(err, SP_E_X,
 * ...)`. */
#define sp_error_set(err, code, ...) sp__error_set((err), (code), __func__, __VA_ARGS__)
enum sp_err
sp__error_set(struct sp_error *err, enum sp_err code, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Prepends context to the message: "context: old message". */
void sp_error_prefix(struct sp_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Copies src into dst (cap bytes); text that does not fit is cut at a space near the end
 * (else at a character boundary, never inside a UTF-8 sequence) and ends in "...".
 * Returns the length written. Used for every message here, so none ends mid-word. */
size_t sp_text_fit(char *dst, size_t cap, const char *src);

/* Renders "class in step (HTTP 404, request abc): message" into out (cut as sp_text_fit
 * cuts). Returns out. */
const char *sp_error_format(const struct sp_error *err, char *out, size_t len);

#endif
