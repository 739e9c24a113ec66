/* Deleting a run's sandboxes by label (see check_cleanup.h). */
#include "check_cleanup.h"

#include <stdio.h>

#define MAX_ROUNDS 100 /* a provider that keeps finding the same sandbox must not loop */

/* Deletes what carries label value `value`; returns how many. */
static size_t
delete_value(struct sp_client *c, const char *value, bool *stuck, char *why, size_t why_len)
{
    size_t deleted = 0;
    for (int round = 0; round < MAX_ROUNDS && !*stuck; round++) {
        struct sp_sandbox *sb = NULL;
        struct sp_error e;
        char msg[384];
        sp_error_clear(&e);
        enum sp_err rc = sp_sandbox_attach(c, SP_RUN_LABEL, value, &sb, &e);
        if (rc == SP_E_NOT_FOUND || rc == SP_E_UNSUPPORTED)
            break;
        if (rc == SP_E_OK)
            rc = sp_sandbox_cleanup(sb, SP_CLEANUP_DELETE, &e);
        sp_sandbox_free(sb);
        if (rc == SP_E_OK) {
            deleted++;
            continue;
        }
        *stuck = true;
        snprintf(why, why_len, "%s", sp_error_format(&e, msg, sizeof(msg)));
    }
    return deleted;
}

size_t sp_check_delete_labelled(const char *provider,
                                const struct sp_kv *env,
                                const struct sp_client_opts *opts,
                                const char *run_id,
                                bool *searched,
                                bool *stuck,
                                char *why,
                                size_t why_len)
{
    *stuck = false;
    *searched = false;
    struct sp_client_opts o = *opts;
    o.cancelled = NULL;
    struct sp_client *c = NULL;
    struct sp_error e;
    sp_error_clear(&e);
    if (sp_client_new(provider, env, &o, &c, &e) != SP_E_OK) {
        *stuck = true;
        snprintf(why, why_len, "%s", e.msg);
        return 0;
    }
    size_t n = 0;
    if (sp_client_caps(c) & SP_CAP_LABELS) {
        *searched = true;
        char probe[64];
        snprintf(probe, sizeof(probe), "%s-probe", run_id);
        n = delete_value(c, run_id, stuck, why, why_len);
        n += delete_value(c, probe, stuck, why, why_len);
    }
    sp_client_free(c);
    return n;
}
