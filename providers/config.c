/* What every provider's configure does with its variables: the credential (required, kept
 * in its own allocation so cfg_free can wipe it; a one-key provider's config starts with it), plain
 * values copied into fixed buffers with a default, base URLs checked and normalised, and the mode
 * looked up in the provider's list. Vendor-neutral; the messages name the variable, as the `config`
 * errors of the provider contract must. */
#include "provider_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum sp_err
sp__config_secret(const struct sp_kv *env, const char *name, char **out, struct sp_error *err)
{
    *out = NULL;
    const char *v = sp_kv_get(env, name);
    if (v == NULL || v[0] == '\0')
        return sp_error_set(err, SP_E_CONFIG, "%s is not set", name);
    if ((*out = strdup(v)) == NULL)
        return sp_error_set(err, SP_E_INTERNAL, "out of memory");
    return SP_E_OK;
}

enum sp_err sp__config_new(
    const struct sp_kv *env, const char *var, size_t size, void **out, struct sp_error *err)
{
    *out = NULL;
    char **key = calloc(1, size); /* the credential is the config's first member */
    if (key == NULL)
        return sp_error_set(err, SP_E_INTERNAL, "out of memory");
    enum sp_err rc = sp__config_secret(env, var, key, err);
    if (rc != SP_E_OK) {
        free(key);
        return rc;
    }
    *out = key;
    return SP_E_OK;
}

void sp__config_free(void *cfg)
{
    if (cfg == NULL)
        return;
    char **key = cfg;
    sp__config_secret_free(*key);
    free(cfg);
}

void sp__config_secret_free(char *secret)
{
    if (secret == NULL)
        return;
    /* Cleared before free so the key does not linger in freed heap memory. */
    memset(secret, 0, strlen(secret));
    free(secret);
}

int sp__config_copy(const struct sp_kv *env,
                    const char *name,
                    const char *def,
                    char *out,
                    size_t len,
                    struct sp_error *err)
{
    const char *v = sp_kv_get(env, name);
    if (v == NULL || v[0] == '\0')
        v = def;
    if (strlen(v) >= len) {
        sp_error_set(err, SP_E_CONFIG, "%s is longer than %zu characters", name, len - 1);
        return -1;
    }
    snprintf(out, len, "%s", v);
    return 0;
}

int sp__config_url(char *url, const char *name, struct sp_error *err)
{
    if (url[0] == '\0')
        return 0;
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
        sp_error_set(err, SP_E_CONFIG, "%s must start with http:// or https://", name);
        return -1;
    }
    /* The trailing slash goes so paths can be appended. */
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        url[--n] = '\0';
    return 0;
}

int sp__config_mode(const char *const *modes,
                    const char *vendor,
                    const char *mode,
                    int *index,
                    struct sp_error *err)
{
    *index = 0;
    if (mode == NULL || mode[0] == '\0')
        return 0;
    for (int i = 0; modes[i]; i++) {
        if (strcmp(modes[i], mode) == 0) {
            *index = i;
            return 0;
        }
    }
    char valid[256] = "";
    size_t used = 0;
    for (int i = 0; modes[i] && used < sizeof(valid); i++) {
        int n = snprintf(valid + used, sizeof(valid) - used, "%s%s", i ? ", " : "", modes[i]);
        used += n > 0 ? (size_t)n : 0;
    }
    sp_error_set(err, SP_E_CONFIG, "unknown %s mode '%.40s' (valid modes: %s)", vendor, mode,
                 valid);
    return -1;
}
