/* Error classes, names and formatting (see errors.h). */
#include "errors.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const err_names[] = {
#define SP__ERR_NAME(name, str, desc) str,
    SP_ERR_MAP(SP__ERR_NAME)
#undef SP__ERR_NAME
};

static const char *const err_descs[] = {
#define SP__ERR_DESC(name, str, desc) desc,
    SP_ERR_MAP(SP__ERR_DESC)
#undef SP__ERR_DESC
};

const char *sp_err_name(enum sp_err code)
{
    if ((unsigned)code >= SP_E__COUNT)
        return "unknown";
    return err_names[code];
}

const char *sp_err_describe(enum sp_err code)
{
    if ((unsigned)code >= SP_E__COUNT)
        return "unknown error class";
    return err_descs[code];
}

enum sp_err sp_err_from_name(const char *name)
{
    for (int i = 0; i < SP_E__COUNT; i++) {
        if (strcmp(err_names[i], name) == 0)
            return (enum sp_err)i;
    }
    return SP_E__COUNT;
}

void sp_error_clear(struct sp_error *err)
{
    if (err == NULL)
        return;
    memset(err, 0, sizeof(*err));
    err->grpc_status = -1;
}

/* How far back from the end a cut looks for a space before it gives up on whole words. */
#define CUT_LOOKBACK 40

size_t sp_text_fit(char *dst, size_t cap, const char *src)
{
    if (cap == 0)
        return 0;
    size_t n = strlen(src);
    if (n < cap) {
        memmove(dst, src, n + 1);
        return n;
    }
    if (cap < 4) {
        dst[0] = '\0';
        return 0;
    }
    size_t keep = cap - 4; /* room for "..." and the NUL */
    while (keep > 0 && ((unsigned char)src[keep] & 0xC0) == 0x80)
        keep--; /* src[keep] starts a character now: nothing after it is split */
    size_t k = keep;
    while (k > 0 && keep - k < CUT_LOOKBACK && src[k] != ' ')
        k--;
    if (k > 0 && src[k] == ' ')
        keep = k + 1; /* "... the last whole word ..." */
    memmove(dst, src, keep);
    memcpy(dst + keep, "...", 4);
    return keep + 3;
}

enum sp_err
sp__error_set(struct sp_error *err, enum sp_err code, const char *where, const char *fmt, ...)
{
    if (err == NULL)
        return code;
    err->code = code;
    err->where = where;
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    sp_text_fit(err->msg, sizeof(err->msg), text);
    return code;
}

void sp_error_prefix(struct sp_error *err, const char *fmt, ...)
{
    if (err == NULL)
        return;
    char head[128];
    char old[sizeof(err->msg)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof(head), fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof(old));
    char text[sizeof(head) + sizeof(old) + 2];
    snprintf(text, sizeof(text), "%s: %s", head, old);
    sp_text_fit(err->msg, sizeof(err->msg), text);
}

const char *sp_error_format(const struct sp_error *err, char *out, size_t len)
{
    if (len == 0)
        return out;
    if (err == NULL) {
        out[0] = '\0';
        return out;
    }
    char ctx[128] = "";
    size_t used = 0;
    if (err->http_status > 0)
        used += (size_t)snprintf(ctx + used, sizeof(ctx) - used, "HTTP %d", err->http_status);
    if (err->grpc_status >= 0 && used < sizeof(ctx))
        used += (size_t)snprintf(ctx + used, sizeof(ctx) - used, "%sgrpc-status %d",
                                 used ? ", " : "", err->grpc_status);
    if (err->request_id[0] && used < sizeof(ctx))
        snprintf(ctx + used, sizeof(ctx) - used, "%srequest %s", used ? ", " : "", err->request_id);
    char text[sizeof(ctx) + sizeof(err->msg) + 64];
    snprintf(text, sizeof(text), "%s%s%s%s%s%s: %s", sp_err_name(err->code),
             err->step[0] ? " in " : "", err->step, ctx[0] ? " (" : "", ctx, ctx[0] ? ")" : "",
             err->msg);
    sp_text_fit(out, len, text);
    return out;
}
