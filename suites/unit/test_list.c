/* Unit tests of what every provider's list step shares (providers/list.c): the filter check
 * and context at the start, the check that a server-filtered item carries the pair, the
 * local match, and the page limit that ends endless paging. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "provider_int.h"

static void test_begin(void **state)
{
    (void)state;
    struct sp_list out;
    sp_list_init(&out);
    struct sp_op op;
    struct sp_error err;
    sp_error_clear(&err);
    sp_op_init_list(&op, NULL, "team", NULL, &out);
    assert_null(sp__list_begin(&op, 16, "metadata", &err));
    assert_int_equal(err.code, SP_E_CONFIG);
    assert_string_equal(err.msg, "a metadata filter needs a value");
    assert_null(op.ctx);
    sp_op_init_list(&op, NULL, NULL, NULL, &out); /* unfiltered */
    void *ctx = sp__list_begin(&op, 16, "label", &err);
    assert_non_null(ctx);
    assert_ptr_equal(op.ctx, ctx);
    op.ctx_free(op.ctx);
}

static void test_filter(void **state)
{
    (void)state;
    struct sp_kv labels;
    sp_kv_init(&labels);
    sp_kv_set(&labels, "team", "red");
    struct sp_error err;
    sp_error_clear(&err);
    assert_true(sp__list_matches(&labels, NULL, NULL));
    assert_true(sp__list_matches(&labels, "team", "red"));
    assert_false(sp__list_matches(&labels, "team", "blue"));
    assert_false(sp__list_matches(&labels, "owner", "red"));
    assert_int_equal(sp__list_check_filtered(&labels, "team", "red", "label", "s1", &err), SP_E_OK);
    assert_int_equal(sp__list_check_filtered(&labels, NULL, NULL, "label", "s1", &err), SP_E_OK);
    assert_int_equal(sp__list_check_filtered(&labels, "team", "blue", "label", "s1", &err),
                     SP_E_PROTOCOL);
    assert_string_equal(err.msg, "list filtered by label team=blue returned sandbox s1 without it");
    sp_kv_cleanup(&labels);
}

static void test_page_limit(void **state)
{
    (void)state;
    struct sp_error err;
    sp_error_clear(&err);
    int pages = 0;
    assert_int_equal(sp__list_next_page(&pages, 3, "devbox list", &err), 0);
    assert_int_equal(sp__list_next_page(&pages, 3, "devbox list", &err), 0);
    assert_int_equal(sp__list_next_page(&pages, 3, "devbox list", &err), -1);
    assert_int_equal(err.code, SP_E_PROTOCOL);
    assert_string_equal(err.msg, "devbox list paging did not end after 3 pages");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_begin),
        cmocka_unit_test(test_filter),
        cmocka_unit_test(test_page_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
