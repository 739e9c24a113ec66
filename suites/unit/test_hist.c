/* Unit tests of harness/hist.c against distributions whose percentiles are known exactly:
 * the integers 1..N (the p-th percentile is ceil(p/100 * N)), a two-point distribution (a 1 %
 * tail), values around every bucket edge, merging, clamping and the fixed 3-digit precision. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "hist.h"

static struct sp_hist *hist_new(void)
{
    struct sp_hist *h = malloc(sizeof(*h));
    assert_non_null(h);
    sp_hist_init(h);
    return h;
}

/* |got - want| within the histogram's resolution at want (1/1024 of it, at least 0). */
static void assert_within_precision(int64_t got, int64_t want)
{
    int64_t lo = sp_hist_lowest_equivalent(want), hi = sp_hist_highest_equivalent(want);
    if (got < lo || got > hi)
        fail_msg("%lld is not equivalent to %lld (range %lld..%lld)", (long long)got,
                 (long long)want, (long long)lo, (long long)hi);
    assert_true((double)(hi - lo) <= (double)want / 1000.0);
}

/* Below 2048 µs every value has its own counter: percentiles are exact. */
static void test_hist_small_values_are_exact(void **state)
{
    (void)state;
    struct sp_hist *h = hist_new();
    for (int64_t v = 1; v <= 1000; v++)
        sp_hist_record(h, v);
    assert_int_equal(h->total, 1000);
    assert_int_equal(sp_hist_percentile(h, 50), 500);
    assert_int_equal(sp_hist_percentile(h, 90), 900);
    assert_int_equal(sp_hist_percentile(h, 99), 990);
    assert_int_equal(sp_hist_percentile(h, 99.9), 999);
    assert_int_equal(sp_hist_percentile(h, 100), 1000);
    assert_int_equal(sp_hist_percentile(h, 0), 1);
    assert_true(sp_hist_mean(h) > 500.49 && sp_hist_mean(h) < 500.51);
    free(h);
}

/* The integers 1..1 000 000: p is ceil(p% of N), reported within 3 significant digits. */
static void test_hist_uniform_million(void **state)
{
    (void)state;
    struct sp_hist *h = hist_new();
    for (int64_t v = 1; v <= 1000000; v++)
        sp_hist_record(h, v);
    assert_within_precision(sp_hist_percentile(h, 50), 500000);
    assert_within_precision(sp_hist_percentile(h, 90), 900000);
    assert_within_precision(sp_hist_percentile(h, 99), 990000);
    assert_within_precision(sp_hist_percentile(h, 99.9), 999000);
    assert_int_equal(sp_hist_percentile(h, 100), 1000000);
    assert_int_equal(h->min, 1);
    free(h);
}

/* 99 % at 20 ms and 1 % at 1 s (a stall): p50 and p90 are 20 ms, p99 still 20 ms (the
 * 99th value of 100), p99.9 is the stall, as a coordinated-omission-free run must show. */
static void test_hist_two_point_tail(void **state)
{
    (void)state;
    struct sp_hist *h = hist_new();
    for (int i = 0; i < 9900; i++)
        sp_hist_record(h, 20000);
    for (int i = 0; i < 100; i++)
        sp_hist_record(h, 1000000);
    assert_within_precision(sp_hist_percentile(h, 50), 20000);
    assert_within_precision(sp_hist_percentile(h, 99), 20000);
    assert_within_precision(sp_hist_percentile(h, 99.01), 1000000);
    assert_within_precision(sp_hist_percentile(h, 99.9), 1000000);
    assert_int_equal(sp_hist_percentile(h, 100), 1000000);
    assert_true(sp_hist_mean(h) > 29799.9 && sp_hist_mean(h) < 29800.1);
    free(h);
}

/* Every power-of-two edge from 1 µs to 1 h: a value and its neighbours land in ordered
 * counters, each value lies in its own equivalent range, and the range is < 1/1000 of it. */
static void test_hist_bucket_edges(void **state)
{
    (void)state;
    for (int64_t p = 1; p <= SP_HIST_MAX_US; p *= 2) {
        for (int64_t v = p > 1 ? p - 1 : p; v <= p + 1 && v <= SP_HIST_MAX_US; v++) {
            int64_t lo = sp_hist_lowest_equivalent(v), hi = sp_hist_highest_equivalent(v);
            assert_true(lo <= v && v <= hi);
            assert_true(sp_hist_index(v) < SP_HIST_LEN);
            if (v >= 1000)
                assert_true((double)(hi - lo + 1) <= (double)v / 1000.0);
            else
                assert_int_equal(lo, hi);
            assert_true(sp_hist_index(v + 1) >= sp_hist_index(v));
        }
    }
    assert_true(sp_hist_index(SP_HIST_MAX_US) < SP_HIST_LEN);
}

/* Two halves merged equal the whole, counter for counter. */
static void test_hist_merge_equals_whole(void **state)
{
    (void)state;
    struct sp_hist *a = hist_new(), *b = hist_new(), *all = hist_new();
    for (int64_t v = 1; v <= 200000; v += 7) {
        sp_hist_record(v % 2 ? a : b, v * 13);
        sp_hist_record(all, v * 13);
    }
    sp_hist_add(a, b);
    assert_int_equal(a->total, all->total);
    assert_int_equal(a->min, all->min);
    assert_int_equal(a->max, all->max);
    assert_memory_equal(a->counts, all->counts, sizeof(all->counts));
    for (double p = 0; p <= 100; p += 0.5)
        assert_int_equal(sp_hist_percentile(a, p), sp_hist_percentile(all, p));
    free(a);
    free(b);
    free(all);
}

static void test_hist_clamps_and_empty(void **state)
{
    (void)state;
    struct sp_hist *h = hist_new();
    assert_int_equal(sp_hist_percentile(h, 99), 0);
    assert_true(sp_hist_mean(h) == 0.0);
    sp_hist_record(h, -5);
    sp_hist_record(h, SP_HIST_MAX_US * 3);
    assert_int_equal(h->total, 2);
    assert_int_equal(h->clamped, 1);
    assert_int_equal(h->min, 0);
    assert_int_equal(sp_hist_percentile(h, 100), SP_HIST_MAX_US);
    assert_int_equal(sp_hist_percentile(h, 50), 0);
    free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hist_small_values_are_exact),
        cmocka_unit_test(test_hist_uniform_million),
        cmocka_unit_test(test_hist_two_point_tail),
        cmocka_unit_test(test_hist_bucket_edges),
        cmocka_unit_test(test_hist_merge_equals_whole),
        cmocka_unit_test(test_hist_clamps_and_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
