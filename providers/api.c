/* What the REST providers' control-plane helpers share: a request's URL as a base URL and a
 * printf-formatted path, a JSON body on top of it, the error of a failed call with the
 * message the vendor's parser finds in the body, and random hex for session names and
 * request ids. Vendor-neutral: the base URL, the headers and the error parser come from the
 * vendor's own file (daytona.c, runloop.c, e2b.c). */
#include "provider_int.h"

#include <stdio.h>
#include <string.h>

int sp__api_urlv(
    struct sp_http_req *req, enum sp_method m, const char *base, const char *fmt, va_list ap)
{
    char path[2048];
    int n = vsnprintf(path, sizeof(path), fmt, ap);
    if (n < 0 || (size_t)n >= sizeof(path))
        return -1;
    return sp_http_req_url(req, m, "%s%s", base, path);
}

enum sp_next sp__api_json_body(enum sp_next started,
                               struct sp_http_req *req,
                               const struct sp_buf *json,
                               struct sp_error *err)
{
    if (started != SP_NEXT_REQUEST)
        return SP_NEXT_FAIL;
    if (sp_http_req_body(req, "application/json", json ? json->data : "", json ? json->len : 0)) {
        sp_error_set(err, SP_E_INTERNAL, "out of memory building a request");
        return SP_NEXT_FAIL;
    }
    return SP_NEXT_REQUEST;
}

enum sp_next sp__api_fail(const struct sp_http_rsp *rsp,
                          sp_error_parse_fn parse,
                          const char *what,
                          char *msg,
                          size_t msglen,
                          struct sp_error *err)
{
    msg[0] = '\0';
    /* A parser may leave part of a message behind when it finds none: that part is not one. */
    if (rsp->transport != SP_E_OK || parse(rsp->body.data, rsp->body.len, msg, msglen) != 0)
        msg[0] = '\0';
    sp_http_fail(rsp, msg[0] ? msg : NULL, err);
    if (what)
        sp_error_prefix(err, "%s", what);
    return SP_NEXT_FAIL;
}

int sp__random_hex(char *out, size_t nchars)
{
    unsigned char raw[32];
    size_t nbytes = (nchars + 1) / 2;
    if (nbytes == 0 || nbytes > sizeof(raw))
        return -1;
    FILE *f = fopen("/dev/urandom", "rb");
    size_t got = f ? fread(raw, 1, nbytes, f) : 0;
    if (f)
        fclose(f);
    if (got != nbytes)
        return -1;
    for (size_t i = 0; i < nchars; i++)
        out[i] = "0123456789abcdef"[(raw[i / 2] >> (i % 2 ? 0 : 4)) & 15];
    out[nchars] = '\0';
    return 0;
}

int sp__session_name(
    const char *given, const char *noun, char *out, size_t len, struct sp_error *err)
{
    char gen[13];
    if (given && strlen(given) >= len) {
        sp_error_set(err, SP_E_CONFIG, "session %s longer than %zu", noun, len - 1);
        return -1;
    }
    if (given == NULL && sp__random_hex(gen, 12) != 0) {
        sp_error_set(err, SP_E_INTERNAL, "cannot read /dev/urandom");
        return -1;
    }
    snprintf(out, len, "%s%s", given ? "" : "sp-", given ? given : gen);
    return 0;
}
