/* Unit tests of the mock store's pure parts: sandbox path mapping (normalisation, "..",
 * escaping the root) and the seeded latency model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "mock_int.h"

static void map(const char *cwd, const char *path, const char *want)
{
    struct mock_sandbox sb = {.root = "/tmp/r/sb1"};
    char out[1024];
    assert_int_equal(mock_sandbox_host_path(&sb, cwd, path, out, sizeof(out)), 0);
    assert_string_equal(out, want);
}

static void test_host_path_absolute(void **state)
{
    (void)state;
    map("/workspace", "/etc/hosts", "/tmp/r/sb1/etc/hosts");
    map(NULL, "/", "/tmp/r/sb1");
    map("/", "//a///b/", "/tmp/r/sb1/a/b");
}

static void test_host_path_relative(void **state)
{
    (void)state;
    map("/workspace", "x.txt", "/tmp/r/sb1/workspace/x.txt");
    map("/workspace", "./d/../y", "/tmp/r/sb1/workspace/y");
    map("/home/user", "..", "/tmp/r/sb1/home");
}

static void test_host_path_cannot_escape_root(void **state)
{
    (void)state;
    map("/workspace", "../../../../etc/passwd", "/tmp/r/sb1/etc/passwd");
    map("/", "/..", "/tmp/r/sb1");
}

static void test_host_path_too_long(void **state)
{
    (void)state;
    struct mock_sandbox sb = {.root = "/tmp/r/sb1"};
    char out[16];
    assert_int_equal(mock_sandbox_host_path(&sb, "/", "/a/very/long/path", out, sizeof(out)), -1);
}

static void test_guest_path(void **state)
{
    (void)state;
    struct mock_sandbox sb = {.root = "/tmp/r/sb1"};
    char out[256];
    mock_sandbox_guest_path(&sb, "/tmp/r/sb1/workspace/a", out, sizeof(out));
    assert_string_equal(out, "/workspace/a");
    mock_sandbox_guest_path(&sb, "/tmp/r/sb1", out, sizeof(out));
    assert_string_equal(out, "/");
}

static void test_latency_model_seeded_and_bounded(void **state)
{
    (void)state;
    struct sp_latency lat = {.create_ms = 1000, .jitter = 0.25};
    struct mock_store *a = mock_store_new(NULL, NULL, 42, &lat);
    struct mock_store *b = mock_store_new(NULL, NULL, 42, &lat);
    assert_non_null(a);
    assert_non_null(b);
    for (int i = 0; i < 1000; i++) {
        long da = mock_store_delay(a, MOCK_DELAY_CREATE);
        assert_int_equal(da, mock_store_delay(b, MOCK_DELAY_CREATE));
        assert_in_range(da, 750, 1250);
    }
    assert_int_equal(mock_store_delay(a, MOCK_DELAY_SERVER), 0);
    mock_store_free(a);
    mock_store_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host_path_absolute),
        cmocka_unit_test(test_host_path_relative),
        cmocka_unit_test(test_host_path_cannot_escape_root),
        cmocka_unit_test(test_host_path_too_long),
        cmocka_unit_test(test_guest_path),
        cmocka_unit_test(test_latency_model_seeded_and_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
