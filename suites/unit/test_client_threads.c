/* Unit test of the blocking client from several threads (providers/provider.c): a client's
 * private loop used to be made lazily on the first call, so two threads' first calls raced
 * to make it and then drove one curl multi handle at once. Now it is made with the client
 * and the calls take turns; run under `make tsan` this test shows no race. Against an
 * in-process Daytona mock on loopback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>

#include "mock.h"
#include "provider.h"

#define THREADS 4
#define CALLS   10

struct worker {
    struct sp_client *c;
    int ok;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < CALLS; i++) {
        struct sp_error err;
        if (sp_auth(w->c, &err) == SP_E_OK)
            w->ok++;
    }
    return NULL;
}

static void test_one_client_from_several_threads(void **state)
{
    (void)state;
    struct sp_mock_config cfg = {.vendor = "daytona", .quiet = true};
    struct sp_mock *m;
    struct sp_client *c;
    struct sp_error err;
    assert_int_equal(sp_mock_start(&cfg, &m, &err), SP_E_OK);
    assert_int_equal(sp_client_new("daytona", sp_mock_env(m), NULL, &c, &err), SP_E_OK);
    pthread_t t[THREADS];
    struct worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){.c = c};
        assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].ok, CALLS);
    }
    sp_client_free(c);
    sp_mock_stop(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_client_from_several_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
