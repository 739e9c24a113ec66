/* Unit tests of the JSON helpers the vendors' wire files share (providers/json.c), for the
 * two the provider clean-up folded into it: ending a request body, and the string of an
 * optional object member. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json.h"

static void test_finish(void **state)
{
    (void)state;
    struct sp_buf out;
    sp_buf_init(&out, 0);
    struct sp_error err;
    sp_error_clear(&err);
    cJSON *root = cJSON_CreateObject();
    assert_non_null(cJSON_AddNumberToObject(root, "port", 4444));
    assert_int_equal(sp_json_finish(root, true, &out, "X", &err), SP_E_OK);
    assert_string_equal(sp_buf_str(&out), "{\"port\":4444}");
    /* A failed build: root is still deleted (ASan/valgrind would see a leak otherwise). */
    assert_int_equal(sp_json_finish(cJSON_CreateObject(), false, &out, "X", &err), SP_E_INTERNAL);
    assert_string_equal(err.msg, "out of memory building a X request");
    assert_int_equal(sp_json_finish(NULL, false, &out, "Runloop", &err), SP_E_INTERNAL);
    sp_buf_cleanup(&out);
}

static void test_copy_sub_str(void **state)
{
    (void)state;
    struct sp_error err;
    sp_error_clear(&err);
    char out[8] = "junk";
    cJSON *o = cJSON_Parse("{\"labels\":{\"sid\":\"s-1\",\"n\":3},\"env\":null,\"bad\":[1],"
                           "\"long\":{\"k\":\"0123456789\"}}");
    assert_non_null(o);
    assert_int_equal(sp_json_copy_sub_str(o, "labels", "sid", out, sizeof(out), "W", &err), 0);
    assert_string_equal(out, "s-1");
    assert_int_equal(sp_json_copy_sub_str(o, "labels", "none", out, sizeof(out), "W", &err), 0);
    assert_string_equal(out, "");
    assert_int_equal(sp_json_copy_sub_str(o, "env", "k", out, sizeof(out), "W", &err), 0);
    assert_int_equal(sp_json_copy_sub_str(o, "absent", "k", out, sizeof(out), "W", &err), 0);
    assert_string_equal(out, "");
    assert_int_equal(sp_json_copy_sub_str(o, "bad", "k", out, sizeof(out), "W", &err), -1);
    assert_int_equal(err.code, SP_E_PROTOCOL);
    assert_string_equal(err.msg, "W: field 'bad' should be an object");
    assert_int_equal(sp_json_copy_sub_str(o, "labels", "n", out, sizeof(out), "W", &err), -1);
    assert_int_equal(err.code, SP_E_PROTOCOL);
    assert_int_equal(sp_json_copy_sub_str(o, "long", "k", out, sizeof(out), "W", &err), -1);
    assert_int_equal(err.code, SP_E_PROTOCOL);
    cJSON_Delete(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_finish),
        cmocka_unit_test(test_copy_sub_str),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
