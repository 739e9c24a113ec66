/* Requirements of the auth step: the credential is read from the environment, checked with
 * one cheap call, refused cleanly when wrong, and never echoed back.
 *
 * The credential variables are the ones the provider says it reads
 * (sp_provider_credential_vars: DAYTONA_API_KEY, E2B_API_KEY), by name, whatever their
 * length. A provider that declares none falls back to every variable whose name ends in
 * "_API_KEY". A wrong key keeps the vendor prefix (up to the first '_') and replaces the
 * rest with as many '0's, which passes a client-side format check (E2B's "e2b_" + hex) but
 * no server. */
#include "runner.h"

#include <stdio.h>
#include <stdlib.h>

#include "mock.h"

static bool is_credential(const char *provider, const char *name, const char *value)
{
    if (value == NULL || value[0] == '\0')
        return false;
    const char *const *vars = sp_provider_credential_vars(provider);
    if (vars == NULL) {
        size_t n = strlen(name);
        return n > 8 && strcmp(name + n - 8, "_API_KEY") == 0;
    }
    for (; *vars; vars++) {
        if (strcmp(*vars, name) == 0)
            return true;
    }
    return false;
}

/* The target environment without its credential variables; their names go to removed. */
static struct sp_kv *env_without_keys(struct sp_req_ctx *ctx, struct sp_kv *removed)
{
    const struct sp_kv *env = sp_req_target(ctx)->env;
    struct sp_kv *out = sp_req_kv(ctx);
    for (size_t i = 0; env && i < env->n; i++) {
        const struct sp_kv_pair *it = &env->items[i];
        struct sp_kv *dst =
            is_credential(sp_req_target(ctx)->provider, it->key, it->val) ? removed : out;
        SP_REQUIRE(ctx, sp_kv_add(dst, env->items[i].key, env->items[i].val) == 0,
                   "expected to copy the environment, got out of memory");
    }
    const char *const *vars = sp_provider_credential_vars(sp_req_target(ctx)->provider);
    SP_REQUIRE(ctx, removed->n > 0,
               "expected the target environment to set the credential variable %s, got none "
               "of its %zu variables",
               vars && vars[0] ? vars[0] : "(a name ending in _API_KEY)", env ? env->n : (size_t)0);
    return out;
}

/* A well-formed but wrong key of the same shape as key. */
static char *wrong_key(struct sp_req_ctx *ctx, const char *key)
{
    char *k = sp_req_printf(ctx, "%s", key);
    char *p = strchr(k, '_');
    for (p = p ? p + 1 : k; *p; p++)
        *p = '0';
    return k;
}

/* The target environment with every credential replaced by a wrong one; the wrong values
 * go to wrong (in order). */
static struct sp_kv *env_with_wrong_keys(struct sp_req_ctx *ctx, struct sp_kv *wrong)
{
    struct sp_kv *removed = sp_req_kv(ctx);
    struct sp_kv *env = env_without_keys(ctx, removed);
    for (size_t i = 0; i < removed->n; i++) {
        const char *k = wrong_key(ctx, removed->items[i].val);
        SP_REQUIRE(ctx,
                   sp_kv_add(env, removed->items[i].key, k) == 0 &&
                       sp_kv_add(wrong, removed->items[i].key, k) == 0,
                   "expected to copy the environment, got out of memory");
    }
    return env;
}

static long unauthorized_count(struct sp_req_ctx *ctx)
{
    struct sp_mock_stats st = {0};
    if (sp_req_mock(ctx))
        sp_mock_stats(sp_req_mock(ctx), &st);
    return st.unauthorized;
}

static void auth_valid_key_accepted(struct sp_req_ctx *ctx)
{
    struct sp_client *c = sp_req_client(ctx);
    SP_REQUIRE_OK(ctx, sp_auth(c, sp_req_err(ctx)));
}

static void auth_missing_key_is_config(struct sp_req_ctx *ctx)
{
    struct sp_kv *removed = sp_req_kv(ctx);
    struct sp_kv *env = env_without_keys(ctx, removed);
    const struct sp_req_target *t = sp_req_target(ctx);
    struct sp_client_opts o = sp_req_opts(ctx);
    struct sp_client *c = NULL;
    sp_error_clear(sp_req_err(ctx));
    enum sp_err rc = sp_client_new(t->provider, env, &o, &c, sp_req_err(ctx));
    sp_req_track_client(ctx, c);
    SP_REQUIRE_RC(ctx, rc, SP_E_CONFIG, "sp_client_new");
    const char *msg = sp_req_err(ctx)->msg;
    bool named = false;
    for (size_t i = 0; i < removed->n && !named; i++)
        named = strstr(msg, removed->items[i].key) != NULL;
    SP_REQUIRE(ctx, named,
               "expected the config error to name the missing variable (%s), got \"%s\"",
               removed->items[0].key, msg);
}

static void auth_wrong_key_rejected(struct sp_req_ctx *ctx)
{
    struct sp_kv *wrong = sp_req_kv(ctx);
    struct sp_kv *env = env_with_wrong_keys(ctx, wrong);
    struct sp_client *c = sp_req_client_with(ctx, env, NULL);
    long before = unauthorized_count(ctx);
    SP_REQUIRE_ERR(ctx, sp_auth(c, sp_req_err(ctx)), SP_E_AUTH);
    if (sp_req_mock(ctx)) {
        long after = unauthorized_count(ctx);
        SP_REQUIRE(ctx, after > before,
                   "expected the mock to count the refused request, got %ld unauthorized before "
                   "and %ld after",
                   before, after);
    }
}

static void auth_wrong_key_cannot_create(struct sp_req_ctx *ctx)
{
    struct sp_kv *wrong = sp_req_kv(ctx);
    struct sp_kv *env = env_with_wrong_keys(ctx, wrong);
    struct sp_client *c = sp_req_client_with(ctx, env, NULL);
    struct sp_create_opts o = {.run_id = sp_req_target(ctx)->run_id};
    struct sp_sandbox *sb = NULL;
    sp_error_clear(sp_req_err(ctx));
    enum sp_err rc = sp_sandbox_create(c, &o, &sb, sp_req_err(ctx));
    sp_req_track_sandbox(ctx, sb);
    SP_REQUIRE_RC(ctx, rc, SP_E_AUTH, "sp_sandbox_create");
}

/* Fails when text holds the secret (or, for a long one, its part after the prefix). */
static void
require_no_secret(struct sp_req_ctx *ctx, const char *what, const char *text, const char *secret)
{
    const char *tail = strchr(secret, '_');
    tail = tail ? tail + 1 : secret;
    bool leaked = strstr(text, secret) != NULL || (strlen(tail) >= 16 && strstr(text, tail));
    SP_REQUIRE(ctx, !leaked, "expected %s not to contain the credential, got one that does", what);
}

static void auth_errors_never_echo_key(struct sp_req_ctx *ctx)
{
    struct sp_kv *wrong = sp_req_kv(ctx);
    struct sp_kv *env = env_with_wrong_keys(ctx, wrong);
    struct sp_client *c = sp_req_client_with(ctx, env, NULL);
    char text[512];
    SP_REQUIRE_ERR(ctx, sp_auth(c, sp_req_err(ctx)), SP_E_AUTH);
    sp_error_format(sp_req_err(ctx), text, sizeof(text));
    for (size_t i = 0; i < wrong->n; i++)
        require_no_secret(ctx, "the auth error", text, wrong->items[i].val);

    struct sp_create_opts o = {.run_id = sp_req_target(ctx)->run_id};
    struct sp_sandbox *sb = NULL;
    sp_error_clear(sp_req_err(ctx));
    enum sp_err rc = sp_sandbox_create(c, &o, &sb, sp_req_err(ctx));
    sp_req_track_sandbox(ctx, sb);
    SP_REQUIRE(ctx, rc != SP_E_OK, "expected create with a wrong key to fail, got ok");
    sp_error_format(sp_req_err(ctx), text, sizeof(text));
    for (size_t i = 0; i < wrong->n; i++)
        require_no_secret(ctx, "the create error", text, wrong->items[i].val);
}

const struct sp_requirement sp__req_auth[] = {
    {"auth.valid_key_accepted", SP_STEP_AUTH, SP_LEVEL_MUST, "[Conformance]", 0, 0,
     "The provider accepts the configured credential on its cheap verification call.",
     auth_valid_key_accepted, 0},
    {"auth.missing_key_is_config", SP_STEP_AUTH, SP_LEVEL_MUST, "[Conformance]", 0, 0,
     "Without a credential variable, creating a client fails with a config error that names "
     "the missing variable.",
     auth_missing_key_is_config, 0},
    {"auth.wrong_key_rejected", SP_STEP_AUTH, SP_LEVEL_MUST, "[Conformance]", 0, 0,
     "A well-formed but wrong credential is refused with an auth error.", auth_wrong_key_rejected,
     0},
    {"auth.wrong_key_cannot_create", SP_STEP_AUTH, SP_LEVEL_MUST, "[Conformance]", 0, 0,
     "Creating a sandbox with a wrong credential fails with an auth error and creates nothing.",
     auth_wrong_key_cannot_create, 0},
    {"auth.errors_never_echo_key", SP_STEP_AUTH, SP_LEVEL_MUST, "[Conformance]", 0, 0,
     "Errors caused by a rejected credential never contain the credential.",
     auth_errors_never_echo_key, 0},
};
const size_t sp__req_auth_count = sizeof(sp__req_auth) / sizeof(sp__req_auth[0]);
