/* Lists of sandboxes, as the `list` step of each provider fills them for `sandprobe sweep`:
 * the list record, what every list step (and attach's search) does alike (the filter check,
 * the step's context, the page limit), the RFC 3339 times providers stamp sandboxes with, and
 * a handle for a sandbox known only by id. Vendor-neutral. */
#include "provider_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sp_list_init(struct sp_list *l)
{
    memset(l, 0, sizeof(*l));
}

void sp_list_cleanup(struct sp_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        sp_kv_cleanup(&l->items[i].labels);
    free(l->items);
    sp_list_init(l);
}

int sp__list_add(
    struct sp_list *l, const char *id, const char *state, int64_t created_ms, struct sp_kv *labels)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct sp_listed *items = realloc(l->items, cap * sizeof(*items));
        if (items == NULL)
            return -1;
        l->items = items;
        l->cap = cap;
    }
    struct sp_listed *it = &l->items[l->n++];
    snprintf(it->id, sizeof(it->id), "%s", id);
    snprintf(it->state, sizeof(it->state), "%s", state ? state : "");
    it->created_ms = created_ms > 0 ? created_ms : 0;
    it->labels = *labels; /* moved */
    sp_kv_init(labels);
    return 0;
}

void *sp__list_begin(struct sp_op *op, size_t ctx_size, const char *filter, struct sp_error *err)
{
    if (op->u.list.key && op->u.list.value == NULL) {
        sp_error_set(err, SP_E_CONFIG, "a %s filter needs a value", filter);
        return NULL;
    }
    return sp__op_ctx_new(op, ctx_size, free, err);
}

bool sp__list_matches(const struct sp_kv *labels, const char *key, const char *value)
{
    if (key == NULL)
        return true;
    const char *have = sp_kv_get(labels, key);
    return have != NULL && strcmp(have, value) == 0;
}

enum sp_err sp__list_check_filtered(const struct sp_kv *labels,
                                    const char *key,
                                    const char *value,
                                    const char *filter,
                                    const char *id,
                                    struct sp_error *err)
{
    if (sp__list_matches(labels, key, value))
        return SP_E_OK;
    return sp_error_set(err, SP_E_PROTOCOL,
                        "list filtered by %s %.40s=%.40s returned sandbox %s without it", filter,
                        key, value, id);
}

int sp__list_next_page(int *pages, int max, const char *what, struct sp_error *err)
{
    if (++*pages < max)
        return 0;
    sp_error_set(err, SP_E_PROTOCOL, "%s paging did not end after %d pages", what, *pages);
    return -1;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* n digits at *p as a number, advancing *p; -1 when they are not all digits. */
static int digits(const char **p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (!isdigit((unsigned char)**p))
            return -1;
        v = v * 10 + (**p - '0');
    }
    return v;
}

/* A separator out of seps, then n digits; -1 when either is missing. */
static int field(const char **p, const char *seps, int n)
{
    if (**p == '\0' || strchr(seps, **p) == NULL)
        return -1;
    (*p)++;
    return digits(p, n);
}

int64_t sp__parse_rfc3339(const char *s)
{
    const char *p = s;
    if (s == NULL)
        return -1;
    int y = digits(&p, 4), mo = field(&p, "-", 2), d = field(&p, "-", 2);
    int h = field(&p, "Tt ", 2), mi = field(&p, ":", 2), se = field(&p, ":", 2);
    if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
        se < 0 || se > 60)
        return -1;
    int64_t ms = 0;
    if (*p == '.') {
        int scale = 100;
        for (p++; isdigit((unsigned char)*p); p++, scale /= 10)
            ms += scale > 0 ? (*p - '0') * scale : 0;
    }
    int64_t offset_min = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1;
        int oh = digits(&p, 2), om = field(&p, ":", 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59)
            return -1;
        offset_min = sign * (oh * 60 + om);
    } else {
        return -1;
    }
    if (*p != '\0')
        return -1;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - offset_min * 60;
    return secs * 1000 + ms;
}

enum sp_err sp_sandbox_from_id(struct sp_client *c,
                               const char *id,
                               struct sp_sandbox **out,
                               struct sp_error *err)
{
    *out = NULL;
    if (id == NULL || id[0] == '\0' || strlen(id) >= sizeof((*out)->id))
        return sp_error_set(err, SP_E_CONFIG, "a sandbox id must be 1 to %zu bytes",
                            sizeof((*out)->id) - 1);
    struct sp_sandbox *sb = sp__sandbox_new(c);
    if (sb == NULL)
        return sp_error_set(err, SP_E_INTERNAL, "out of memory");
    snprintf(sb->id, sizeof(sb->id), "%s", id);
    *out = sb;
    return SP_E_OK;
}
