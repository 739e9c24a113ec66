/* An ordered list of string pairs: environment settings, HTTP headers, labels, metadata and
 * env vars for a sandbox. Small (tens of entries), so lookups are linear. The list owns
 * copies of every key and value. */
#ifndef SP_KV_H
#define SP_KV_H

#include <stdbool.h>
#include <stddef.h>

struct sp_kv_pair {
    char *key;
    char *val;
};

struct sp_kv {
    struct sp_kv_pair *items;
    size_t n;
    size_t cap;
};

void sp_kv_init(struct sp_kv *kv);
void sp_kv_cleanup(struct sp_kv *kv);
/* Removes every pair, keeping the allocation. */
void sp_kv_clear(struct sp_kv *kv);

/* Appends a pair even if key is already present (HTTP headers may repeat).
 * Returns 0, or -1 when out of memory. */
int sp_kv_add(struct sp_kv *kv, const char *key, const char *val);
/* Sets key to val, replacing the first pair with that key. Returns 0 or -1. */
int sp_kv_set(struct sp_kv *kv, const char *key, const char *val);
/* Removes every pair with key. */
void sp_kv_del(struct sp_kv *kv, const char *key);
/* Copies every pair of src into dst with sp_kv_set (so src wins). Returns 0 or -1. */
int sp_kv_merge(struct sp_kv *dst, const struct sp_kv *src);

/* Value of the first pair with key, or NULL. sp_kv_geti compares keys case-insensitively
 * (HTTP header names). */
const char *sp_kv_get(const struct sp_kv *kv, const char *key);
const char *sp_kv_geti(const struct sp_kv *kv, const char *key);

/* True when every pair of want is present in have with the same value. */
bool sp_kv_contains(const struct sp_kv *have, const struct sp_kv *want);

/* Fills kv from a NULL-terminated "KEY=VALUE" array such as environ. Returns 0 or -1. */
int sp_kv_from_environ(struct sp_kv *kv, char *const *envp);

#endif
