/* Ordered string pairs (see kv.h). */
#include "kv.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

void sp_kv_init(struct sp_kv *kv)
{
    kv->items = NULL;
    kv->n = kv->cap = 0;
}

void sp_kv_clear(struct sp_kv *kv)
{
    for (size_t i = 0; i < kv->n; i++) {
        free(kv->items[i].key);
        free(kv->items[i].val);
    }
    kv->n = 0;
}

void sp_kv_cleanup(struct sp_kv *kv)
{
    if (kv == NULL)
        return;
    sp_kv_clear(kv);
    free(kv->items);
    sp_kv_init(kv);
}

int sp_kv_add(struct sp_kv *kv, const char *key, const char *val)
{
    if (kv->n == kv->cap) {
        size_t cap = kv->cap ? kv->cap * 2 : 8;
        struct sp_kv_pair *p = realloc(kv->items, cap * sizeof(*p));
        if (p == NULL)
            return -1;
        kv->items = p;
        kv->cap = cap;
    }
    char *k = strdup(key);
    char *v = strdup(val ? val : "");
    if (k == NULL || v == NULL) {
        free(k);
        free(v);
        return -1;
    }
    kv->items[kv->n].key = k;
    kv->items[kv->n].val = v;
    kv->n++;
    return 0;
}

int sp_kv_set(struct sp_kv *kv, const char *key, const char *val)
{
    for (size_t i = 0; i < kv->n; i++) {
        if (strcmp(kv->items[i].key, key) == 0) {
            char *v = strdup(val ? val : "");
            if (v == NULL)
                return -1;
            free(kv->items[i].val);
            kv->items[i].val = v;
            return 0;
        }
    }
    return sp_kv_add(kv, key, val);
}

void sp_kv_del(struct sp_kv *kv, const char *key)
{
    size_t out = 0;
    for (size_t i = 0; i < kv->n; i++) {
        if (strcmp(kv->items[i].key, key) == 0) {
            free(kv->items[i].key);
            free(kv->items[i].val);
            continue;
        }
        kv->items[out++] = kv->items[i];
    }
    kv->n = out;
}

int sp_kv_merge(struct sp_kv *dst, const struct sp_kv *src)
{
    for (size_t i = 0; i < src->n; i++) {
        if (sp_kv_set(dst, src->items[i].key, src->items[i].val) != 0)
            return -1;
    }
    return 0;
}

const char *sp_kv_get(const struct sp_kv *kv, const char *key)
{
    for (size_t i = 0; i < kv->n; i++) {
        if (strcmp(kv->items[i].key, key) == 0)
            return kv->items[i].val;
    }
    return NULL;
}

const char *sp_kv_geti(const struct sp_kv *kv, const char *key)
{
    for (size_t i = 0; i < kv->n; i++) {
        if (strcasecmp(kv->items[i].key, key) == 0)
            return kv->items[i].val;
    }
    return NULL;
}

bool sp_kv_contains(const struct sp_kv *have, const struct sp_kv *want)
{
    for (size_t i = 0; i < want->n; i++) {
        const char *v = sp_kv_get(have, want->items[i].key);
        if (v == NULL || strcmp(v, want->items[i].val) != 0)
            return false;
    }
    return true;
}

int sp_kv_from_environ(struct sp_kv *kv, char *const *envp)
{
    for (; envp && *envp; envp++) {
        const char *eq = strchr(*envp, '=');
        if (eq == NULL)
            continue;
        size_t klen = (size_t)(eq - *envp);
        char *key = strndup(*envp, klen);
        if (key == NULL)
            return -1;
        int rc = sp_kv_add(kv, key, eq + 1);
        free(key);
        if (rc != 0)
            return -1;
    }
    return 0;
}
