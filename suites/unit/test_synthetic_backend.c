/* Unit tests of the synthetic sandbox backend (mocks/synthetic_backend.c): the command
 * interpreter (echo, true, false, exit, cat, printf, sleep; ; && ||; sh -c; the wrappers
 * clients send) and its clear refusals, in-memory files, and the stored zip it answers
 * /download_files with. No process and no directory is involved. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <zlib.h>

#include "backend.h"

struct syn {
    struct mock_sandbox sb;
    struct mock_run_result res;
    char why[256];
};

static int setup(void **state)
{
    struct syn *s = calloc(1, sizeof(*s));
    snprintf(s->sb.root, sizeof(s->sb.root), "/nonexistent/sandprobe-synthetic/sb1");
    pthread_mutex_init(&s->sb.exec_lock, NULL);
    mock_run_result_init(&s->res, 1 << 20);
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    struct syn *s = *state;
    mock_backend_sandbox_free(&s->sb);
    mock_run_result_cleanup(&s->res);
    pthread_mutex_destroy(&s->sb.exec_lock);
    free(s);
    return 0;
}

/* Runs cmd (stderr apart) and returns the exit code; asserts the line was accepted. */
static int run(struct syn *s, const char *cmd)
{
    mock_run_result_cleanup(&s->res);
    mock_run_result_init(&s->res, 1 << 20);
    int rc = mock_backend_synthetic.run(&s->sb, "/home/user", cmd, 0, false, &s->res, s->why,
                                        sizeof(s->why));
    if (rc != 0)
        fail_msg("'%s' refused: %s", cmd, s->why);
    return s->res.exit_code;
}

static const char *out(struct syn *s)
{
    return sp_buf_str(&s->res.out);
}

static void test_builtins(void **state)
{
    struct syn *s = *state;
    assert_int_equal(run(s, "echo hello   world"), 0);
    assert_string_equal(out(s), "hello world\n");
    assert_int_equal(run(s, "echo -n 'a  b' \"c d\" e\\ f"), 0);
    assert_string_equal(out(s), "a  b c d e f");
    assert_int_equal(run(s, "true"), 0);
    assert_int_equal(run(s, "false"), 1);
    assert_int_equal(run(s, "exit 42"), 42);
    assert_int_equal(run(s, "exit 300"), 300 & 0xff);
    assert_int_equal(run(s, "printf '%s=%d%%\\n' load 99"), 0);
    assert_string_equal(out(s), "load=99%\n");
    assert_int_equal(run(s, "sleep 1.5"), 0);
    assert_int_equal(s->res.sleep_us, 1500000);
    assert_string_equal(out(s), "");
}

static void test_sequences_and_wrappers(void **state)
{
    struct syn *s = *state;
    assert_int_equal(run(s, "echo a; false && echo no || echo yes; echo b"), 0);
    assert_string_equal(out(s), "a\nyes\nb\n");
    assert_int_equal(run(s, "echo before; exit 3; echo after"), 3);
    assert_string_equal(out(s), "before\n");
    /* sh -c runs its argument; its exit ends only the inner shell. */
    assert_int_equal(run(s, "sh -c 'echo inner; exit 7'"), 7);
    assert_string_equal(out(s), "inner\n");
    assert_int_equal(run(s, "bash -c 'exit 2' || echo handled"), 0);
    assert_string_equal(out(s), "handled\n");
    /* sandprobe's env wrapper: a subshell with cd and export preludes. */
    assert_int_equal(run(s, "(cd '/tmp' && export K='v' && echo wrapped\n)"), 0);
    assert_string_equal(out(s), "wrapped\n");
    assert_int_equal(run(s, "sleep 0.25; sleep 0.5"), 0);
    assert_int_equal(s->res.sleep_us, 750000);
}

static void test_unknown_commands_and_syntax_are_clear(void **state)
{
    struct syn *s = *state;
    assert_int_equal(run(s, "ls -la"), 127);
    assert_non_null(strstr(sp_buf_str(&s->res.err), "command 'ls' is not supported"));
    assert_non_null(strstr(sp_buf_str(&s->res.err), "synthetic backend"));
    const char *refused[] = {"echo a | cat",   "echo a > f", "echo $HOME", "echo `id`",
                             "echo \"$(id)\"", "sleep 5 &",  "echo 'open"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        int rc = mock_backend_synthetic.run(&s->sb, "/", refused[i], 0, false, &s->res, s->why,
                                            sizeof(s->why));
        assert_int_equal(rc, -1);
        assert_non_null(strstr(s->why, "synthetic backend does not support"));
    }
    assert_int_equal(run(s, "sleep forever"), 1);
    assert_non_null(strstr(sp_buf_str(&s->res.err), "invalid time interval"));
}

static void test_sleep_past_timeout_times_out(void **state)
{
    struct syn *s = *state;
    mock_run_result_cleanup(&s->res);
    mock_run_result_init(&s->res, 1 << 20);
    assert_int_equal(mock_backend_synthetic.run(&s->sb, "/", "sleep 5", 1000, true, &s->res, s->why,
                                                sizeof(s->why)),
                     0);
    assert_true(s->res.timed_out);
    assert_int_equal(s->res.exit_code, -1);
    assert_int_equal(s->res.sleep_us, 1000000); /* the reply comes at the deadline */
}

static void test_files_in_memory(void **state)
{
    struct syn *s = *state;
    const struct mock_backend_ops *ops = &mock_backend_synthetic;
    assert_int_equal(ops->write_file(&s->sb, "/home/user", "notes/a.txt", "one\n", 4), 0);
    assert_int_equal(ops->write_file(&s->sb, "/", "/home/user/bin.dat", "\0\1\2", 3), 0);
    struct sp_buf b;
    sp_buf_init(&b, 0);
    assert_int_equal(ops->read_file(&s->sb, "/", "/home/user/notes/../notes/a.txt", &b), 0);
    assert_string_equal(sp_buf_str(&b), "one\n");
    sp_buf_reset(&b);
    assert_int_equal(ops->read_file(&s->sb, "/home", "user/bin.dat", &b), 0);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.data, "\0\1\2", 3);
    assert_int_equal(ops->read_file(&s->sb, "/", "/home/user/missing", &b), -1);
    assert_int_equal(ops->write_file(&s->sb, "/", "/", "x", 1), -1);
    sp_buf_cleanup(&b);
    /* cat reads them; a missing one is an error on stderr. */
    assert_int_equal(run(s, "cat notes/a.txt /home/user/notes/a.txt"), 0);
    assert_string_equal(out(s), "one\none\n");
    assert_int_equal(run(s, "cat nope.txt"), 1);
    assert_string_equal(sp_buf_str(&s->res.err), "cat: nope.txt: No such file or directory\n");
    /* A rewrite replaces the content. */
    assert_int_equal(ops->write_file(&s->sb, "/home/user", "notes/a.txt", "two", 3), 0);
    assert_int_equal(run(s, "cat notes/a.txt"), 0);
    assert_string_equal(out(s), "two");
    /* Nothing touched the host. */
    struct stat st;
    assert_int_not_equal(stat(s->sb.root, &st), 0);
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void test_zip_of_a_directory(void **state)
{
    struct syn *s = *state;
    const struct mock_backend_ops *ops = &mock_backend_synthetic;
    ops->write_file(&s->sb, "/", "/work/a.txt", "alpha", 5);
    ops->write_file(&s->sb, "/", "/work/sub/b.txt", "beta!", 5);
    ops->write_file(&s->sb, "/", "/elsewhere.txt", "no", 2);
    struct sp_buf zip;
    sp_buf_init(&zip, 0);
    assert_int_equal(mock_synthetic_zip_dir(&s->sb, "/work", &zip), 0);
    const unsigned char *z = (const unsigned char *)zip.data;
    /* End record: two entries; each local header carries its name, size and CRC. */
    const unsigned char *eocd = z + zip.len - 22;
    assert_int_equal(le32(eocd), 0x06054b50);
    assert_int_equal(eocd[10], 2);
    int seen = 0;
    for (size_t off = 0; le32(z + off) == 0x04034b50;) {
        uint32_t crc = le32(z + off + 14), len = le32(z + off + 18);
        unsigned nlen = z[off + 26] | z[off + 27] << 8;
        const char *name = (const char *)z + off + 30;
        const unsigned char *data = z + off + 30 + nlen;
        assert_int_equal(crc, (uint32_t)crc32(0, data, len));
        if (nlen == 5 && memcmp(name, "a.txt", 5) == 0)
            seen |= 1, assert_memory_equal(data, "alpha", 5);
        if (nlen == 9 && memcmp(name, "sub/b.txt", 9) == 0)
            seen |= 2, assert_memory_equal(data, "beta!", 5);
        off += 30 + nlen + len;
    }
    assert_int_equal(seen, 3);
    sp_buf_cleanup(&zip);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_builtins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sequences_and_wrappers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_commands_and_syntax_are_clear, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sleep_past_timeout_times_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_files_in_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zip_of_a_directory, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
