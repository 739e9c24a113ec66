/* Unit tests of the distribution latency model (mocks/latency.c): the --latency syntax, its
 * errors, and the shape of each distribution as drawn through the store's seeded generator. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mock_int.h"

static void parse_ok(struct sp_mock_config *cfg, const char *spec)
{
    struct sp_error err = {0};
    assert_int_equal(sp_mock_latency_parse(cfg, spec, &err), SP_E_OK);
}

static void parse_bad(const char *spec, const char *why)
{
    struct sp_mock_config cfg = {0};
    struct sp_error err = {0};
    assert_int_equal(sp_mock_latency_parse(&cfg, spec, &err), SP_E_CONFIG);
    assert_non_null(strstr(err.msg, spec)); /* names the spec */
    if (strstr(err.msg, why) == NULL)
        fail_msg("'%s': got '%s', want it to say '%s'", spec, err.msg, why);
    assert_false(cfg.has_latency);
}

static void test_parse_each_distribution(void **state)
{
    (void)state;
    struct sp_mock_config cfg = {0};
    parse_ok(&cfg, "create=fixed:20ms");
    assert_true(cfg.has_latency);
    assert_int_equal(cfg.dist[SP_MOCK_PHASE_CREATE].kind, SP_DIST_FIXED);
    assert_true(cfg.dist[SP_MOCK_PHASE_CREATE].a_us == 20000.0);
    parse_ok(&cfg, "start=uniform:1s,2.5s");
    assert_true(cfg.dist[SP_MOCK_PHASE_START].a_us == 1e6);
    assert_true(cfg.dist[SP_MOCK_PHASE_START].b_us == 2.5e6);
    parse_ok(&cfg, "alive=normal:300ms,50ms");
    assert_int_equal(cfg.dist[SP_MOCK_PHASE_ALIVE].kind, SP_DIST_NORMAL);
    parse_ok(&cfg, "exec=lognormal:400ms,120ms");
    assert_int_equal(cfg.dist[SP_MOCK_PHASE_EXEC].kind, SP_DIST_LOGNORMAL);
    parse_ok(&cfg, "delete=table:99%=20ms,99.01%=1s,100%=1s");
    const struct sp_dist *t = &cfg.dist[SP_MOCK_PHASE_DELETE];
    assert_int_equal(t->kind, SP_DIST_TABLE);
    assert_int_equal(t->n, 3);
    assert_true(t->pct[1] == 99.01 && t->val_us[1] == 1e6);
    parse_ok(&cfg, "create=fixed:250us"); /* a later spec of a phase replaces it */
    assert_true(cfg.dist[SP_MOCK_PHASE_CREATE].a_us == 250.0);
}

static void test_parse_errors_say_what_is_wrong(void **state)
{
    (void)state;
    parse_bad("create", "not PHASE=DIST:PARAMS");
    parse_bad("boot=fixed:1ms", "unknown phase");
    parse_bad("create=fixed", "no DIST:PARAMS");
    parse_bad("create=gauss:1ms", "unknown distribution");
    parse_bad("create=fixed:20", "needs a unit");
    parse_bad("create=fixed:-5ms", "non-negative");
    parse_bad("create=fixed:2h", "needs a unit");
    parse_bad("create=fixed:7200s", "longer than an hour");
    parse_bad("create=uniform:5ms", "LO,HI");
    parse_bad("create=uniform:5ms,1ms", "LO <= HI");
    parse_bad("create=lognormal:0ms,1ms", "mean above 0");
    parse_bad("create=table:50%=1ms,90%=2ms", "end at 100%");
    parse_bad("create=table:90%=1ms,50%=2ms,100%=3ms", "rise strictly");
    parse_bad("create=table:50=1ms,100%=2ms", "P%=TIME");
    parse_bad("create=table:50%=1ms,", "ends with a comma");
}

/* has_latency with nothing set: every delay is zero. */
static void test_has_latency_alone_is_zero(void **state)
{
    (void)state;
    struct sp_mock_config cfg = {.has_latency = true};
    struct mock_store *s = mock_store_new(NULL, NULL, 7, &cfg.latency);
    mock_store_set_dists(s, cfg.dist);
    for (int k = MOCK_DELAY_CREATE; k <= MOCK_DELAY_EXEC; k++)
        assert_int_equal(mock_store_delay_us(s, (enum mock_delay)k), 0);
    mock_store_free(s);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

#define DRAWS 20000

/* Draws DRAWS delays of kind from a store seeded with seed after applying spec. */
static int64_t *draw(const char *spec, enum mock_delay kind, uint64_t seed)
{
    struct sp_mock_config cfg = {0};
    parse_ok(&cfg, spec);
    struct mock_store *s = mock_store_new(NULL, NULL, seed, &cfg.latency);
    mock_store_set_dists(s, cfg.dist);
    int64_t *v = malloc(DRAWS * sizeof(*v));
    for (int i = 0; i < DRAWS; i++)
        v[i] = mock_store_delay_us(s, kind);
    mock_store_free(s);
    return v;
}

static void test_distributions_have_their_shape(void **state)
{
    (void)state;
    int64_t *v = draw("create=fixed:20ms", MOCK_DELAY_API_CREATE, 1);
    for (int i = 0; i < DRAWS; i++)
        assert_int_equal(v[i], 20000);
    free(v);
    v = draw("exec=uniform:10ms,30ms", MOCK_DELAY_EXEC, 1);
    double sum = 0;
    for (int i = 0; i < DRAWS; i++) {
        assert_in_range(v[i], 10000, 30000);
        sum += (double)v[i];
    }
    assert_in_range((long)(sum / DRAWS), 19500, 20500);
    free(v);
    v = draw("start=lognormal:400ms,120ms", MOCK_DELAY_CREATE, 1);
    double mean = 0, var = 0;
    for (int i = 0; i < DRAWS; i++)
        mean += (double)v[i] / DRAWS;
    for (int i = 0; i < DRAWS; i++)
        var += ((double)v[i] - mean) * ((double)v[i] - mean) / DRAWS;
    assert_in_range((long)mean, 392000, 408000);      /* mean 400 ms */
    assert_in_range((long)sqrt(var), 110000, 130000); /* deviation 120 ms */
    free(v);
    v = draw("alive=normal:5ms,10ms", MOCK_DELAY_SERVER, 1);
    int zeros = 0;
    for (int i = 0; i < DRAWS; i++) {
        assert_true(v[i] >= 0); /* clamped */
        zeros += v[i] == 0;
    }
    assert_in_range(zeros, DRAWS * 25 / 100, DRAWS * 36 / 100); /* P(z < -0.5) = 30.9 % */
    free(v);
}

/* "1 % of creates stall 1 s": the table puts 99 % at 20 ms and 1 % near 1 s. */
static void test_table_stalls_one_percent(void **state)
{
    (void)state;
    int64_t *v = draw("create=table:99%=20ms,99.01%=1s,100%=1s", MOCK_DELAY_API_CREATE, 3);
    int fast = 0, stalled = 0;
    for (int i = 0; i < DRAWS; i++) {
        fast += v[i] == 20000;
        stalled += v[i] >= 900000;
    }
    assert_in_range(fast, DRAWS * 985 / 1000, DRAWS * 995 / 1000);
    assert_in_range(stalled, DRAWS * 5 / 1000, DRAWS * 15 / 1000);
    qsort(v, DRAWS, sizeof(*v), cmp_i64);
    assert_int_equal(v[DRAWS / 2], 20000);        /* p50 */
    assert_true(v[DRAWS * 995 / 1000] >= 900000); /* p99.5 */
    free(v);
}

static void test_same_seed_same_delays(void **state)
{
    (void)state;
    int64_t *a = draw("exec=lognormal:50ms,20ms", MOCK_DELAY_EXEC, 99);
    int64_t *b = draw("exec=lognormal:50ms,20ms", MOCK_DELAY_EXEC, 99);
    int64_t *c = draw("exec=lognormal:50ms,20ms", MOCK_DELAY_EXEC, 100);
    assert_memory_equal(a, b, DRAWS * sizeof(*a));
    assert_memory_not_equal(a, c, DRAWS * sizeof(*a));
    free(a);
    free(b);
    free(c);
}

/* A phase left unset falls back to struct sp_latency (the --latency-ms model). */
static void test_unset_phase_keeps_legacy_model(void **state)
{
    (void)state;
    struct sp_mock_config cfg = {.latency = {.create_ms = 30, .server_ms = 40}};
    parse_ok(&cfg, "exec=fixed:5ms");
    struct mock_store *s = mock_store_new(NULL, NULL, 1, &cfg.latency);
    mock_store_set_dists(s, cfg.dist);
    assert_int_equal(mock_store_delay_us(s, MOCK_DELAY_CREATE), 30000);
    assert_int_equal(mock_store_delay_us(s, MOCK_DELAY_SERVER), 40000);
    assert_int_equal(mock_store_delay_us(s, MOCK_DELAY_EXEC), 5000);
    assert_int_equal(mock_store_delay_us(s, MOCK_DELAY_API_CREATE), 0);
    mock_store_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_each_distribution),
        cmocka_unit_test(test_parse_errors_say_what_is_wrong),
        cmocka_unit_test(test_has_latency_alone_is_zero),
        cmocka_unit_test(test_distributions_have_their_shape),
        cmocka_unit_test(test_table_stalls_one_percent),
        cmocka_unit_test(test_same_seed_same_delays),
        cmocka_unit_test(test_unset_phase_keeps_legacy_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
