/* Unit tests of the configuration helpers every provider's configure uses
 * (providers/config.c): the credential (required, named when missing, copied), plain values
 * with their default and length limit, base URLs, and the mode looked up in a provider's
 * list with an error that lists the valid ones; through the registry, each provider mode's
 * retry rule for 429. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "provider_int.h"

static void test_secret(void **state)
{
    (void)state;
    struct sp_kv env;
    sp_kv_init(&env);
    struct sp_error err;
    sp_error_clear(&err);
    char sentinel[] = "untouched";
    char *key = sentinel;
    assert_int_equal(sp__config_secret(&env, "X_API_KEY", &key, &err), SP_E_CONFIG);
    assert_null(key);
    assert_string_equal(err.msg, "X_API_KEY is not set");
    sp_kv_set(&env, "X_API_KEY", "");
    assert_int_equal(sp__config_secret(&env, "X_API_KEY", &key, &err), SP_E_CONFIG);
    sp_kv_set(&env, "X_API_KEY", "k-123");
    assert_int_equal(sp__config_secret(&env, "X_API_KEY", &key, &err), SP_E_OK);
    assert_string_equal(key, "k-123");
    assert_ptr_not_equal(key, sp_kv_get(&env, "X_API_KEY")); /* a copy the config owns */
    sp__config_secret_free(key);
    sp__config_secret_free(NULL);
    sp_kv_cleanup(&env);
}

static void test_copy(void **state)
{
    (void)state;
    struct sp_kv env;
    sp_kv_init(&env);
    struct sp_error err;
    sp_error_clear(&err);
    char out[8];
    assert_int_equal(sp__config_copy(&env, "X_TARGET", "eu", out, sizeof(out), &err), 0);
    assert_string_equal(out, "eu");
    sp_kv_set(&env, "X_TARGET", "");
    assert_int_equal(sp__config_copy(&env, "X_TARGET", "eu", out, sizeof(out), &err), 0);
    assert_string_equal(out, "eu");
    sp_kv_set(&env, "X_TARGET", "us-west");
    assert_int_equal(sp__config_copy(&env, "X_TARGET", "eu", out, sizeof(out), &err), 0);
    assert_string_equal(out, "us-west");
    sp_kv_set(&env, "X_TARGET", "us-west-2");
    assert_int_equal(sp__config_copy(&env, "X_TARGET", "eu", out, sizeof(out), &err), -1);
    assert_int_equal(err.code, SP_E_CONFIG);
    assert_string_equal(err.msg, "X_TARGET is longer than 7 characters");
    sp_kv_cleanup(&env);
}

static void test_url(void **state)
{
    (void)state;
    struct sp_error err;
    sp_error_clear(&err);
    char url[64] = "https://api.example.test/v1//";
    assert_int_equal(sp__config_url(url, "X_URL", &err), 0);
    assert_string_equal(url, "https://api.example.test/v1");
    snprintf(url, sizeof(url), "http://127.0.0.1:9");
    assert_int_equal(sp__config_url(url, "X_URL", &err), 0);
    assert_string_equal(url, "http://127.0.0.1:9");
    url[0] = '\0';
    assert_int_equal(sp__config_url(url, "X_URL", &err), 0); /* unset: the caller's default */
    snprintf(url, sizeof(url), "ftp://x");
    assert_int_equal(sp__config_url(url, "X_URL", &err), -1);
    assert_int_equal(err.code, SP_E_CONFIG);
    assert_string_equal(err.msg, "X_URL must start with http:// or https://");
}

static void test_mode(void **state)
{
    (void)state;
    static const char *const modes[] = {"action-server", "tunnel-v2", "direct", NULL};
    struct sp_error err;
    sp_error_clear(&err);
    int i = -1;
    assert_int_equal(sp__config_mode(modes, "X", NULL, &i, &err), 0);
    assert_int_equal(i, 0);
    assert_int_equal(sp__config_mode(modes, "X", "", &i, &err), 0);
    assert_int_equal(i, 0);
    assert_int_equal(sp__config_mode(modes, "X", "direct", &i, &err), 0);
    assert_int_equal(i, 2);
    assert_int_equal(sp__config_mode(modes, "X", "tunnel-v2", &i, &err), 0);
    assert_int_equal(i, 1);
    assert_int_equal(sp__config_mode(modes, "X", "Direct", &i, &err), -1);
    assert_int_equal(err.code, SP_E_CONFIG);
    assert_string_equal(err.msg,
                        "unknown X mode 'Direct' (valid modes: action-server, tunnel-v2, direct)");
}

/* An environment with a well-formed credential for every vendor. */
static void every_vendor_key(struct sp_kv *env)
{
    sp_kv_init(env);
    sp_kv_set(env, "DAYTONA_API_KEY", "k");
    sp_kv_set(env, "E2B_API_KEY", "e2b_0123abcd");
    sp_kv_set(env, "RUNLOOP_API_KEY", "k");
    sp_kv_set(env, "MODAL_TOKEN_ID", "ak-1");
    sp_kv_set(env, "MODAL_TOKEN_SECRET", "as-1");
}

/* Through a provider: the mode list the registry reports is the one configure accepts. */
static void test_provider_modes_accepted(void **state)
{
    (void)state;
    const char *names[8];
    size_t n = sp_provider_names(names, 8);
    struct sp_kv env;
    every_vendor_key(&env);
    for (size_t p = 0; p < n && p < 8; p++) {
        const char *const *modes = sp_provider_modes(names[p]);
        for (size_t m = 0; modes && modes[m]; m++) {
            struct sp_client_opts o = {.mode = modes[m]};
            struct sp_client *c = NULL;
            struct sp_error err;
            sp_error_clear(&err);
            if (sp_client_new(names[p], &env, &o, &c, &err) != SP_E_OK)
                fail_msg("%s mode %s: %s", names[p], modes[m], err.msg);
            sp_client_free(c);
        }
    }
    sp_kv_cleanup(&env);
}

/* Each provider mode's 429 rule, as the fault requirements read it: OpenHands' action-server
 * client retries 429 (3 attempts), Runloop's SDK does on every API call, E2B's, Daytona's and
 * Modal's SDKs do not. */
static void test_provider_attempts_429(void **state)
{
    (void)state;
    static const struct {
        const char *provider, *mode;
        int create, exec;
    } RULES[] = {
        {"daytona", "action-server", 1, 3},
        {"daytona", "toolbox", 1, 1},
        {"e2b", "v2", 1, 1},
        {"e2b", "v1", 1, 1},
        {"runloop", "action-server", 3, 3},
        {"runloop", "tunnel-v2", 3, 3},
        {"runloop", "direct", 3, 3},
        {"modal", "action-server", 1, 3},
        {"modal", "direct", 1, 1},
    };
    struct sp_kv env;
    every_vendor_key(&env);
    for (size_t i = 0; i < sizeof(RULES) / sizeof(RULES[0]); i++) {
        struct sp_client_opts o = {.mode = RULES[i].mode};
        struct sp_client *c = NULL;
        struct sp_error err;
        sp_error_clear(&err);
        assert_int_equal(sp_client_new(RULES[i].provider, &env, &o, &c, &err), SP_E_OK);
        int create = sp_client_attempts_429(c, SP_STEP_CREATE);
        int exec = sp_client_attempts_429(c, SP_STEP_EXEC);
        if (create != RULES[i].create || exec != RULES[i].exec)
            fail_msg("%s %s: 429 attempts create %d exec %d, want %d and %d", RULES[i].provider,
                     RULES[i].mode, create, exec, RULES[i].create, RULES[i].exec);
        sp_client_free(c);
    }
    sp_kv_cleanup(&env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_secret),
        cmocka_unit_test(test_copy),
        cmocka_unit_test(test_url),
        cmocka_unit_test(test_mode),
        cmocka_unit_test(test_provider_modes_accepted),
        cmocka_unit_test(test_provider_attempts_429),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
