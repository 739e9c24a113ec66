/* Unit tests of the mock store: sandbox path mapping (normalisation, "..", escaping the root),
 * the seeded latency model, lookups among 10,000 live sandboxes, and deleted sandboxes'
 * directories going at delete time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

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

/* Entries in a directory, "." and ".." aside. */
static int entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static void test_ten_thousand_sandboxes(void **state)
{
    (void)state;
    struct sp_latency lat = {0};
    struct mock_store *s = mock_store_new(NULL, NULL, 1, &lat);
    assert_non_null(s);
    enum { N = 10000 };
    char id[32];
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof(id), "sb-%05d", i);
        struct mock_sandbox *sb =
            mock_store_create(s, id, NULL, MOCK_RUNNING, MOCK_RUNNING, MOCK_DELAY_CREATE);
        assert_non_null(sb);
        mock_store_put(s, sb);
    }
    for (int i = N - 1; i >= 0; i--) {
        snprintf(id, sizeof(id), "sb-%05d", i);
        struct mock_sandbox *sb = mock_store_get(s, id);
        assert_non_null(sb);
        assert_string_equal(sb->id, id);
        mock_store_put(s, sb);
    }
    assert_null(mock_store_get(s, "sb-10000"));
    struct sp_mock_stats st = {0};
    mock_store_stats(s, &st);
    assert_int_equal(st.created, N);
    assert_int_equal(st.live, N);
    assert_int_equal(st.running, N);
    /* Removing every other one keeps the rest findable (hash chains and creation order). */
    for (int i = 0; i < N; i += 2) {
        snprintf(id, sizeof(id), "sb-%05d", i);
        struct mock_sandbox *sb = mock_store_get(s, id);
        mock_store_remove(s, sb);
        mock_store_put(s, sb);
        assert_null(mock_store_get(s, id));
    }
    for (int i = 1; i < N; i += 2) {
        snprintf(id, sizeof(id), "sb-%05d", i);
        struct mock_sandbox *sb = mock_store_get(s, id);
        assert_non_null(sb);
        mock_store_put(s, sb);
    }
    memset(&st, 0, sizeof(st));
    mock_store_stats(s, &st);
    assert_int_equal(st.live, N / 2);
    assert_int_equal(entries(mock_store_root(s)), N / 2);
    mock_store_free(s);
}

/* Issue 10 item 7: a deleted sandbox's directory goes at delete, not when the mock exits,
 * whether the vendor keeps a readable tombstone (Daytona: a transition to deleting) or drops
 * the sandbox (E2B: removal). */
static void test_deleted_sandboxes_leave_no_directories(void **state)
{
    (void)state;
    struct sp_latency lat = {0};
    struct mock_store *s = mock_store_new(NULL, NULL, 1, &lat);
    const char *const dirs[] = {"/workspace", "/home/user", NULL};
    char id[32];
    for (int i = 0; i < 200; i++) {
        snprintf(id, sizeof(id), "cycle-%d", i);
        struct mock_sandbox *sb =
            mock_store_create(s, id, dirs, MOCK_RUNNING, MOCK_RUNNING, MOCK_DELAY_CREATE);
        assert_non_null(sb);
        struct stat st;
        assert_int_equal(stat(sb->root, &st), 0);
        if (i % 2 == 0) {
            mock_sandbox_transition(s, sb, MOCK_DELETING, MOCK_DELETED, MOCK_DELAY_DELETE);
            assert_int_equal(mock_sandbox_phase(s, sb), MOCK_DELETED);
        } else {
            mock_store_remove(s, sb);
        }
        assert_int_not_equal(stat(sb->root, &st), 0);
        mock_store_put(s, sb);
    }
    assert_int_equal(entries(mock_store_root(s)), 0);
    mock_store_free(s);
}

static struct mock_sandbox *make(struct mock_store *s, const char *id)
{
    return mock_store_create(s, id, NULL, MOCK_RUNNING, MOCK_RUNNING, MOCK_DELAY_CREATE);
}

/* A deleted sandbox that stays readable (Daytona's "destroyed") is forgotten once its
 * tombstone time is over, so a long load run does not grow the store without bound. */
static void test_tombstones_expire(void **state)
{
    (void)state;
    struct sp_latency lat = {0};
    struct mock_store *s = mock_store_new(NULL, NULL, 1, &lat);
    struct mock_sandbox *a = make(s, "a");
    mock_sandbox_transition(s, a, MOCK_DELETING, MOCK_DELETED, MOCK_DELAY_DELETE);
    mock_store_put(s, a);
    mock_store_put(s, make(s, "b"));
    struct mock_sandbox *got = mock_store_get(s, "a"); /* still within 60 s: readable */
    assert_non_null(got);
    assert_int_equal(mock_sandbox_phase(s, got), MOCK_DELETED);
    mock_store_put(s, got);
    mock_store_set_tombstone_ms(s, 0);
    mock_store_put(s, make(s, "c")); /* a create expires what is due */
    assert_null(mock_store_get(s, "a"));
    struct sp_mock_stats st = {0};
    mock_store_stats(s, &st);
    assert_int_equal(st.live, 2);
    /* A queued tombstone that is also removed outright leaves the queue with it. */
    struct mock_sandbox *d = make(s, "d");
    mock_store_set_tombstone_ms(s, 60000);
    mock_sandbox_transition(s, d, MOCK_DELETING, MOCK_DELETED, MOCK_DELAY_DELETE);
    mock_store_remove(s, d);
    mock_store_put(s, d);
    assert_null(mock_store_get(s, "d"));
    mock_store_set_tombstone_ms(s, 0);
    mock_store_put(s, make(s, "e"));
    mock_store_free(s); /* asan: nothing leaked or freed twice */
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
        cmocka_unit_test(test_ten_thousand_sandboxes),
        cmocka_unit_test(test_deleted_sandboxes_leave_no_directories),
        cmocka_unit_test(test_tombstones_expire),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
