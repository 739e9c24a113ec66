/* Unit tests of the mock's zip writer and extractor (mocks/zipwrite.c): the extraction byte
 * budget (a spent budget used to let a 1-byte member through and wrap to SIZE_MAX, after
 * which a 100,000-byte member was written), and symbolic links, which neither the archive
 * writer nor the extractor may follow out of their directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zip.h"
#include "zipwrite.h"

struct dirs {
    char tmp[64]; /* in/ (files to archive), out/ (extraction), outside/ (never written) */
};

static void path_of(const struct dirs *d, const char *rel, char *out, size_t len)
{
    assert_true(snprintf(out, len, "%s/%s", d->tmp, rel) < (int)len);
}

static void put_file(const struct dirs *d, const char *rel, size_t n, char fill)
{
    char p[256];
    path_of(d, rel, p, sizeof(p));
    char *data = malloc(n + 1);
    assert_non_null(data);
    memset(data, fill, n);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
    free(data);
}

static bool exists(const struct dirs *d, const char *rel)
{
    char p[256];
    struct stat st;
    path_of(d, rel, p, sizeof(p));
    return lstat(p, &st) == 0;
}

static int setup(void **state)
{
    struct dirs *d = calloc(1, sizeof(*d));
    snprintf(d->tmp, sizeof(d->tmp), "/tmp/sp-zipw-XXXXXX");
    assert_non_null(mkdtemp(d->tmp));
    char p[256];
    const char *sub[] = {"in", "out", "outside"};
    for (size_t i = 0; i < 3; i++) {
        path_of(d, sub[i], p, sizeof(p));
        assert_int_equal(mkdir(p, 0755), 0);
    }
    *state = d;
    return 0;
}

static int teardown(void **state)
{
    struct dirs *d = *state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->tmp);
    int rc = system(cmd);
    free(d);
    return rc;
}

/* Archives in/ into zip. */
static void zip_in(const struct dirs *d, struct sp_buf *zip)
{
    char p[256];
    path_of(d, "in", p, sizeof(p));
    sp_buf_init(zip, 0);
    assert_int_equal(mock_zip_dir(p, zip), 0);
}

static int
extract(const struct dirs *d, const struct sp_buf *zip, size_t budget, char *why, size_t whylen)
{
    char p[256];
    path_of(d, "out", p, sizeof(p));
    why[0] = '\0';
    return mock_zip_extract(zip->data, zip->len, p, budget, why, whylen);
}

/* The archive of the report: a 10-byte member spends the 10-byte budget exactly; a 1-byte
 * member must then be refused, and the 100,000-byte one after it never written. */
static void test_budget_spent_exactly_refuses_the_next_byte(void **state)
{
    struct dirs *d = *state;
    struct sp_buf zip;
    char why[128];
    put_file(d, "in/a.txt", 10, 'a');
    put_file(d, "in/b.txt", 1, 'b');
    put_file(d, "in/c.txt", 100000, 'c');
    zip_in(d, &zip);
    assert_int_equal(extract(d, &zip, 10, why, sizeof(why)), -1);
    assert_string_equal(why, "archive too large");
    assert_true(exists(d, "out/a.txt"));
    assert_false(exists(d, "out/b.txt"));
    assert_false(exists(d, "out/c.txt"));
    sp_buf_cleanup(&zip);
}

static void test_budget_large_member_refused(void **state)
{
    struct dirs *d = *state;
    struct sp_buf zip;
    char why[128];
    put_file(d, "in/c.txt", 100000, 'c');
    zip_in(d, &zip);
    assert_int_equal(extract(d, &zip, 10, why, sizeof(why)), -1);
    assert_string_equal(why, "archive too large");
    assert_false(exists(d, "out/c.txt"));
    sp_buf_cleanup(&zip);
}

/* A budget used up to the byte is fine, and empty members fit in a spent budget. */
static void test_budget_exact_fit_and_empty_members(void **state)
{
    struct dirs *d = *state;
    struct sp_buf zip;
    char why[128];
    put_file(d, "in/a.txt", 10, 'a');
    put_file(d, "in/b.txt", 0, 'b');
    zip_in(d, &zip);
    assert_int_equal(extract(d, &zip, 10, why, sizeof(why)), 0);
    assert_true(exists(d, "out/a.txt"));
    assert_true(exists(d, "out/b.txt"));
    assert_int_equal(extract(d, &zip, 9, why, sizeof(why)), -1);
    sp_buf_cleanup(&zip);
}

/* out/link -> ../outside: a member "link/x.txt" must not land in outside/; nor may a member
 * overwrite a file through a link to one outside (out/f -> /etc/hostname style). */
static void test_extract_refuses_links_out(void **state)
{
    struct dirs *d = *state;
    struct sp_buf zip;
    char why[128], target[256], link[256];
    path_of(d, "in/link", link, sizeof(link));
    assert_int_equal(mkdir(link, 0755), 0);
    put_file(d, "in/link/x.txt", 5, 'x');
    zip_in(d, &zip);
    path_of(d, "outside", target, sizeof(target));
    path_of(d, "out/link", link, sizeof(link));
    assert_int_equal(symlink(target, link), 0);
    assert_int_equal(extract(d, &zip, 1 << 20, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "symbolic link"));
    assert_false(exists(d, "outside/x.txt"));
    sp_buf_cleanup(&zip);

    assert_int_equal(unlink(link), 0);
    put_file(d, "outside/victim", 3, 'v');
    path_of(d, "outside/victim", target, sizeof(target));
    path_of(d, "out/link", link, sizeof(link));
    assert_int_equal(symlink(target, link), 0); /* out/link -> outside/victim */
    char p[256];
    path_of(d, "in/link/x.txt", p, sizeof(p));
    unlink(p);
    path_of(d, "in/link", p, sizeof(p));
    rmdir(p);
    put_file(d, "in/link", 4, 'n');
    zip_in(d, &zip);
    assert_int_equal(extract(d, &zip, 1 << 20, why, sizeof(why)), -1);
    struct stat st;
    assert_int_equal(stat(target, &st), 0);
    assert_int_equal(st.st_size, 3); /* untouched */
    sp_buf_cleanup(&zip);
}

/* The archive writer leaves out links that lead out of its directory: in/secret -> a file
 * outside, in/etc -> /etc. Links that stay inside are read. */
static void test_zip_dir_skips_links_out(void **state)
{
    struct dirs *d = *state;
    struct sp_buf zip, data;
    struct sp_error err;
    char target[256], link[256];
    put_file(d, "outside/secret", 6, 's');
    put_file(d, "in/ok.txt", 2, 'o');
    path_of(d, "outside/secret", target, sizeof(target));
    path_of(d, "in/secret", link, sizeof(link));
    assert_int_equal(symlink(target, link), 0);
    path_of(d, "in/etc", link, sizeof(link));
    assert_int_equal(symlink("/etc", link), 0);
    path_of(d, "in/inner", link, sizeof(link));
    assert_int_equal(symlink("ok.txt", link), 0);
    zip_in(d, &zip);
    sp_buf_init(&data, 0);
    assert_int_equal(sp_zip_extract(zip.data, zip.len, "ok.txt", &data, &err), SP_E_OK);
    sp_buf_reset(&data);
    assert_int_equal(sp_zip_extract(zip.data, zip.len, "inner", &data, &err), SP_E_OK);
    assert_string_equal(sp_buf_str(&data), "oo");
    assert_int_equal(sp_zip_extract(zip.data, zip.len, "secret", &data, &err), SP_E_NOT_FOUND);
    assert_int_equal(sp_zip_extract(zip.data, zip.len, "etc/hostname", &data, &err),
                     SP_E_NOT_FOUND);
    assert_int_equal(sp_zip_extract(zip.data, zip.len, "etc/passwd", &data, &err), SP_E_NOT_FOUND);
    sp_buf_cleanup(&data);
    sp_buf_cleanup(&zip);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_budget_spent_exactly_refuses_the_next_byte),
        T(test_budget_large_member_refused),
        T(test_budget_exact_fit_and_empty_members),
        T(test_extract_refuses_links_out),
        T(test_zip_dir_skips_links_out),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
