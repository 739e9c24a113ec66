/* Unit tests of the mocks' file access beneath a sandbox's root (mocks/hostfs.c): every call
 * of the API the vendor file routes use is tried through a link to /etc, a link to a
 * directory next to the root, and a file link out, and must refuse each one (before, every
 * route followed them and read or wrote the host); links that stay inside still work. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hostfs.h"
#include "mock_int.h"
#include "tmp_dir.h"

/* Set for the second run: the component walk refuses every link, even one that stays
 * inside, where openat2 follows it. */
static bool walk_mode;

struct fx {
    char tmp[64];            /* root/ is the sandbox, outside/ is not */
    struct mock_sandbox *sb; /* only .root is used */
    char out[3][512];        /* host paths through each link out */
};

static void at(const struct fx *f, const char *rel, char *out, size_t len)
{
    assert_true(snprintf(out, len, "%s/%s", f->tmp, rel) < (int)len);
}

static void put(const struct fx *f, const char *rel, const char *text)
{
    char p[512];
    at(f, rel, p, sizeof(p));
    FILE *fp = fopen(p, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    f->sb = calloc(1, sizeof(*f->sb));
    assert_int_equal(tmp_dir_make(f->tmp, sizeof(f->tmp), "/tmp/sp-hostfs-XXXXXX"), 0);
    char p[512], q[512];
    at(f, "root", p, sizeof(p));
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(f->sb->root, sizeof(f->sb->root), "%s", p);
    at(f, "root/workspace", p, sizeof(p));
    assert_int_equal(mkdir(p, 0755), 0);
    at(f, "outside", p, sizeof(p));
    assert_int_equal(mkdir(p, 0755), 0);
    put(f, "outside/secret", "host secret");
    put(f, "root/workspace/mine.txt", "sandbox file");
    /* the links a sandbox user could make: absolute to /etc, relative out, a file out */
    at(f, "root/workspace/etc", p, sizeof(p));
    assert_int_equal(symlink("/etc", p), 0);
    at(f, "root/workspace/up", p, sizeof(p));
    assert_int_equal(symlink("../../outside", p), 0);
    at(f, "root/workspace/secret", p, sizeof(p));
    at(f, "outside/secret", q, sizeof(q));
    assert_int_equal(symlink(q, p), 0);
    at(f, "root/workspace/inner", p, sizeof(p)); /* stays inside: allowed */
    assert_int_equal(symlink("mine.txt", p), 0);
    at(f, "root/workspace/etc/hostname", f->out[0], sizeof(f->out[0]));
    at(f, "root/workspace/up/secret", f->out[1], sizeof(f->out[1]));
    at(f, "root/workspace/secret", f->out[2], sizeof(f->out[2]));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    int rc = tmp_dir_remove(f->tmp);
    free(f->sb);
    free(f);
    return rc;
}

static bool refused(int rc)
{
    return rc == -1 && (errno == EXDEV || errno == ELOOP);
}

static void test_open_read_stat_refuse_links_out(void **state)
{
    struct fx *f = *state;
    struct stat st;
    struct sp_buf b;
    sp_buf_init(&b, 0);
    for (int i = 0; i < 3; i++) {
        assert_true(refused(mock_fs_open(f->sb, f->out[i], O_RDONLY, 0)));
        assert_true(refused(mock_fs_stat(f->sb, f->out[i], &st)));
        assert_true(refused(mock_fs_read_file(f->sb, f->out[i], &b)));
        assert_int_equal(b.len, 0);
    }
    /* lstat of the link itself is fine (it is in the sandbox); through it is not */
    char p[512];
    at(f, "root/workspace/secret", p, sizeof(p));
    assert_int_equal(mock_fs_lstat(f->sb, p, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_true(refused(mock_fs_lstat(f->sb, f->out[0], &st)));
    assert_true(refused(mock_fs_lstat(f->sb, f->out[1], &st)));
    /* a path that is not under the root at all */
    assert_true(refused(mock_fs_stat(f->sb, "/etc/hostname", &st)));
    sp_buf_cleanup(&b);
}

static void test_links_inside_work(void **state)
{
    struct fx *f = *state;
    struct sp_buf b;
    char p[512];
    sp_buf_init(&b, 0);
    at(f, "root/workspace/inner", p, sizeof(p));
    if (walk_mode) {
        assert_true(refused(mock_fs_read_file(f->sb, p, &b)));
    } else {
        assert_int_equal(mock_fs_read_file(f->sb, p, &b), 0);
        assert_string_equal(sp_buf_str(&b), "sandbox file");
    }
    at(f, "root/workspace/mine.txt", p, sizeof(p)); /* no link: both ways */
    sp_buf_reset(&b);
    assert_int_equal(mock_fs_read_file(f->sb, p, &b), 0);
    assert_string_equal(sp_buf_str(&b), "sandbox file");
    at(f, "root/workspace/inner", p, sizeof(p));
    char target[64];
    ssize_t n = mock_fs_readlink(f->sb, p, target, sizeof(target) - 1);
    assert_int_equal(n, 8);
    target[n] = '\0';
    assert_string_equal(target, "mine.txt");
    sp_buf_cleanup(&b);
}

static void test_write_refuses_links_out(void **state)
{
    struct fx *f = *state;
    char p[512];
    assert_true(refused(mock_fs_write_file(f->sb, f->out[2], "x", 1, 0644, false)));
    assert_true(refused(mock_fs_write_file(f->sb, f->out[1], "x", 1, 0644, false)));
    at(f, "root/workspace/up/new.txt", p, sizeof(p));
    assert_true(refused(mock_fs_write_file(f->sb, p, "x", 1, 0644, false)));
    assert_true(refused(mock_fs_open(f->sb, p, O_WRONLY | O_CREAT, 0644)));
    at(f, "outside/new.txt", p, sizeof(p));
    assert_int_equal(access(p, F_OK), -1);
    struct stat st;
    at(f, "outside/secret", p, sizeof(p));
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_size, 11); /* untouched */
    at(f, "root/workspace/inner", p, sizeof(p));
    if (walk_mode)
        assert_true(refused(mock_fs_write_file(f->sb, p, "new", 3, 0644, false)));
    else
        assert_int_equal(mock_fs_write_file(f->sb, p, "new", 3, 0644, false), 0);
    at(f, "root/workspace/made/deep.txt", p, sizeof(p));
    assert_int_equal(mock_fs_mkdir_parents(f->sb, p), 0);
    assert_int_equal(mock_fs_write_file(f->sb, p, "new", 3, 0644, false), 0);
}

static void test_list_refuses_links_out(void **state)
{
    struct fx *f = *state;
    char p[512];
    struct dirent **names = NULL;
    at(f, "root/workspace/etc", p, sizeof(p));
    assert_null(mock_fs_opendir(f->sb, p));
    assert_true(refused(mock_fs_scandir(f->sb, p, &names, NULL, alphasort)));
    at(f, "root/workspace/up", p, sizeof(p));
    assert_null(mock_fs_opendir(f->sb, p));
    at(f, "root/workspace", p, sizeof(p));
    int n = mock_fs_scandir(f->sb, p, &names, NULL, alphasort);
    assert_int_equal(n, 7); /* . .. etc inner mine.txt secret up */
    assert_string_equal(names[2]->d_name, "etc");
    assert_string_equal(names[6]->d_name, "up");
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static void test_mkdir_remove_rename_chmod_refuse_links_out(void **state)
{
    struct fx *f = *state;
    char p[512], q[512];
    at(f, "root/workspace/up/made", p, sizeof(p));
    assert_true(refused(mock_fs_mkdir(f->sb, p, 0755)));
    at(f, "root/workspace/up/a/b/c", p, sizeof(p));
    assert_true(refused(mock_fs_mkdir_p(f->sb, p, 0755)));
    assert_true(refused(mock_fs_mkdir_parents(f->sb, p)));
    at(f, "outside/a", q, sizeof(q));
    assert_int_equal(access(q, F_OK), -1);
    assert_true(refused(mock_fs_unlink(f->sb, f->out[1])));
    assert_true(refused(mock_fs_remove_all(f->sb, f->out[1])));
    assert_true(refused(mock_fs_chmod(f->sb, f->out[2], 0777)));
    at(f, "root/workspace/mine.txt", q, sizeof(q));
    at(f, "root/workspace/up/stolen", p, sizeof(p));
    assert_true(refused(mock_fs_rename(f->sb, q, p)));
    assert_true(refused(mock_fs_rename(f->sb, f->out[1], q)));
    at(f, "outside/secret", p, sizeof(p));
    assert_int_equal(access(p, F_OK), 0);
    /* rm -rf of a directory holding links removes the links, not what they point to */
    at(f, "root/workspace", p, sizeof(p));
    assert_int_equal(mock_fs_remove_all(f->sb, p), 0);
    assert_int_equal(access(p, F_OK), -1);
    at(f, "outside/secret", p, sizeof(p));
    assert_int_equal(access(p, F_OK), 0);
    assert_int_equal(access("/etc/hostname", F_OK) == 0 || access("/etc/passwd", F_OK) == 0, 1);
    /* and inside the root, mkdir -p works */
    at(f, "root/x/y/z", p, sizeof(p));
    assert_int_equal(mock_fs_mkdir_p(f->sb, p, 0755), 0);
    struct stat st;
    assert_int_equal(mock_fs_stat(f->sb, p, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
}

/* The same tests with the component walk that kernels without openat2 get. */
static int walk_only(void **state)
{
    (void)state;
    mock_fs_use_openat2(false);
    walk_mode = true;
    return 0;
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_open_read_stat_refuse_links_out),
        T(test_links_inside_work),
        T(test_write_refuses_links_out),
        T(test_list_refuses_links_out),
        T(test_mkdir_remove_rename_chmod_refuse_links_out),
    };
    int failed = cmocka_run_group_tests_name("openat2", tests, NULL, NULL);
    return failed + cmocka_run_group_tests_name("component walk", tests, walk_only, NULL);
}
