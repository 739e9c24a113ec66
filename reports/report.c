/* What every report format agrees on: which failures gate the run, the counts, the verdict,
 * the tags written for a requirement, and the text hygiene (UTF-8, timestamps) the writers
 * share. */
#include "report.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

bool sp_report_gating(const struct sp_report_run *run, const struct sp_req_result *res)
{
    if (res->outcome == SP_REQ_ERROR)
        return true;
    /* Levels are ordered MUST (0) < SHOULD < MAY: a smaller value is a stronger level. */
    return res->outcome == SP_REQ_FAIL && res->req != NULL && res->req->level <= run->level;
}

void sp_report_count(const struct sp_report_run *run,
                     const struct sp_report_provider *p,
                     struct sp_report_counts *out)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < p->n_results; i++) {
        const struct sp_req_result *r = &p->results[i];
        switch (r->outcome) {
        case SP_REQ_PASS:
            out->pass++;
            break;
        case SP_REQ_FAIL:
            out->fail++;
            if (!sp_report_gating(run, r))
                out->warn++;
            break;
        case SP_REQ_SKIP:
            out->skip++;
            break;
        case SP_REQ_ERROR:
            out->error++;
            break;
        }
    }
}

bool sp_report_passed(const struct sp_report_run *run)
{
    if (run->interrupted)
        return false;
    for (size_t i = 0; i < run->n_providers; i++) {
        const struct sp_report_provider *p = &run->providers[i];
        if (p->error)
            return false;
        for (size_t j = 0; j < p->n_results; j++) {
            if (sp_report_gating(run, &p->results[j]))
                return false;
        }
    }
    return true;
}

const char *
sp_report_tags(const struct sp_requirement *req, const char *provider, char *out, size_t len)
{
    const char *tags = req && req->tags ? req->tags : "";
    char ptag[64];
    snprintf(ptag, sizeof(ptag), "[Provider:%s]", provider ? provider : "");
    /* The runner may already have added the tag; never write it twice. */
    if (provider == NULL || strstr(tags, ptag) != NULL)
        snprintf(out, len, "%s", tags);
    else
        snprintf(out, len, "%s%s", tags, ptag);
    return out;
}

static bool is_cont(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

size_t sp__utf8_decode(const unsigned char *s, size_t n, unsigned long *cp)
{
    if (n == 0)
        return 0;
    unsigned char b = s[0];
    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (b >= 0xC2 && b <= 0xDF) {
        len = 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
        len = 3;
        if (b == 0xE0)
            lo = 0xA0; /* overlong */
        if (b == 0xED)
            hi = 0x9F; /* UTF-16 surrogates */
    } else if (b >= 0xF0 && b <= 0xF4) {
        len = 4;
        if (b == 0xF0)
            lo = 0x90; /* overlong */
        if (b == 0xF4)
            hi = 0x8F; /* beyond U+10FFFF */
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    unsigned long v = b & (0xFFu >> (len + 1));
    for (size_t i = 1; i < len; i++) {
        if (!is_cont(s[i]))
            return 0;
        v = (v << 6) | (s[i] & 0x3Fu);
    }
    *cp = v;
    return len;
}

int sp__utf8_clean(const char *s, struct sp_buf *out)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    while (n > 0) {
        unsigned long cp;
        size_t k = sp__utf8_decode(p, n, &cp);
        int rc = k ? sp_buf_append(out, p, k) : sp_buf_puts(out, "\xEF\xBF\xBD");
        if (rc != 0)
            return -1;
        k = k ? k : 1;
        p += k;
        n -= k;
    }
    /* An empty string still needs a (NUL-terminated) buffer for sp_buf_str callers. */
    return sp_buf_append(out, "", 0);
}

const char *sp__report_time(time_t t, char *out, size_t len)
{
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL || strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, len, "1970-01-01T00:00:00Z");
    return out;
}

enum sp_err sp__report_write(const char *path, const char *data, size_t len, struct sp_error *err)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
        return sp_error_set(err, SP_E_INTERNAL, "cannot write %.200s: path too long", path);
    FILE *f = fopen(tmp, "wb");
    if (f == NULL)
        return sp_error_set(err, SP_E_INTERNAL, "cannot write %.200s: %s", path, strerror(errno));
    size_t wrote = fwrite(data, 1, len, f);
    int saved = ferror(f) ? errno : 0;
    if (fclose(f) != 0 && saved == 0)
        saved = errno ? errno : EIO;
    if (wrote != len || saved != 0) {
        remove(tmp);
        return sp_error_set(err, SP_E_INTERNAL, "cannot write %.200s: %s", path,
                            strerror(saved ? saved : EIO));
    }
    if (rename(tmp, path) != 0) {
        saved = errno;
        remove(tmp);
        return sp_error_set(err, SP_E_INTERNAL, "cannot write %.200s: %s", path, strerror(saved));
    }
    return SP_E_OK;
}

int sp_report_make_dirs(const char *path)
{
    char p[1024];
    if (snprintf(p, sizeof(p), "%s", path) >= (int)sizeof(p)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST)
            return -1;
        *s = '/';
    }
    if (mkdir(p, 0777) != 0 && errno != EEXIST)
        return -1;
    struct stat st;
    if (stat(p, &st) != 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}
