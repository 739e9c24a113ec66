/* Unit tests of providers/zip.c: archives made by Python's zipfile (as the action server
 * makes them) and by a small writer here, then broken ones: garbage, every truncation,
 * bad offsets, lying sizes, CRC mismatches, bombs, encryption, ZIP64, and random byte
 * flips. Broken input must give a protocol error, never a crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "py_zip.h"
#include "zip.h"

/* --- a minimal writer, so tests can build archives with chosen (even wrong) fields ---------- */

struct zw {
    struct sp_buf out; /* local headers and data, then the directory and EOCD */
    struct sp_buf cd;
    unsigned n;
};

static void put16(struct sp_buf *b, unsigned v)
{
    unsigned char p[2] = {(unsigned char)v, (unsigned char)(v >> 8)};
    assert_int_equal(sp_buf_append(b, p, 2), 0);
}

static void put32(struct sp_buf *b, uint32_t v)
{
    put16(b, v & 0xffff);
    put16(b, v >> 16);
}

static void zw_init(struct zw *z)
{
    sp_buf_init(&z->out, 0);
    sp_buf_init(&z->cd, 0);
    z->n = 0;
}

static void zw_cleanup(struct zw *z)
{
    sp_buf_cleanup(&z->out);
    sp_buf_cleanup(&z->cd);
}

/* Raw deflate of data into out. */
static void deflate_raw(const void *data, size_t len, struct sp_buf *out)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    uLong bound = deflateBound(&zs, (uLong)len);
    unsigned char *tmp = malloc(bound);
    assert_non_null(tmp);
    zs.next_in = (Bytef *)(uintptr_t)data;
    zs.avail_in = (uInt)len;
    zs.next_out = tmp;
    zs.avail_out = (uInt)bound;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    assert_int_equal(sp_buf_append(out, tmp, zs.total_out), 0);
    deflateEnd(&zs);
    free(tmp);
}

/* Adds a member; usize_override (when non-zero) is written instead of the real size. */
static void zw_add(struct zw *z,
                   const char *name,
                   const void *data,
                   size_t len,
                   unsigned method,
                   unsigned flags,
                   uint32_t usize_override)
{
    struct sp_buf packed;
    sp_buf_init(&packed, 0);
    if (method == 8)
        deflate_raw(data, len, &packed);
    else
        assert_int_equal(sp_buf_append(&packed, data, len), 0);
    uint32_t crc = (uint32_t)crc32(0L, data, (uInt)len);
    uint32_t usize = usize_override ? usize_override : (uint32_t)len;
    uint32_t off = (uint32_t)z->out.len;
    size_t nlen = strlen(name);
    put32(&z->out, 0x04034b50u);
    put16(&z->out, 20);
    put16(&z->out, flags);
    put16(&z->out, method);
    put32(&z->out, 0);
    put32(&z->out, crc);
    put32(&z->out, (uint32_t)packed.len);
    put32(&z->out, usize);
    put16(&z->out, (unsigned)nlen);
    put16(&z->out, 0);
    assert_int_equal(sp_buf_append(&z->out, name, nlen), 0);
    assert_int_equal(sp_buf_append(&z->out, packed.data ? packed.data : "", packed.len), 0);
    put32(&z->cd, 0x02014b50u);
    put16(&z->cd, 20);
    put16(&z->cd, 20);
    put16(&z->cd, flags);
    put16(&z->cd, method);
    put32(&z->cd, 0);
    put32(&z->cd, crc);
    put32(&z->cd, (uint32_t)packed.len);
    put32(&z->cd, usize);
    put16(&z->cd, (unsigned)nlen);
    put16(&z->cd, 0);
    put16(&z->cd, 0);
    put16(&z->cd, 0);
    put16(&z->cd, 0);
    put32(&z->cd, 0);
    put32(&z->cd, off);
    assert_int_equal(sp_buf_append(&z->cd, name, nlen), 0);
    z->n++;
    sp_buf_cleanup(&packed);
}

/* Appends the directory and the EOCD; the archive is then z->out. */
static void zw_finish(struct zw *z)
{
    uint32_t cd_off = (uint32_t)z->out.len;
    assert_int_equal(sp_buf_append(&z->out, z->cd.data ? z->cd.data : "", z->cd.len), 0);
    put32(&z->out, 0x06054b50u);
    put16(&z->out, 0);
    put16(&z->out, 0);
    put16(&z->out, z->n);
    put16(&z->out, z->n);
    put32(&z->out, (uint32_t)z->cd.len);
    put32(&z->out, cd_off);
    put16(&z->out, 0);
}

static uint32_t rd32(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 | (uint32_t)u[3] << 24;
}

static void wr32(char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (char)(v >> (8 * i));
}

/* Offset of the EOCD in an archive built by zw_finish (no comment). */
static size_t eocd_at(const struct sp_buf *b)
{
    return b->len - 22;
}

/* --- good archives --------------------------------------------------------------------------- */

static void test_python_archive(void **state)
{
    (void)state;
    struct sp_buf out;
    struct sp_error err;
    sp_buf_init(&out, 0);
    sp_error_clear(&err);
    assert_int_equal(sp_zip_extract(py_zip, PY_ZIP_LEN, "a.txt", &out, &err), SP_E_OK);
    assert_string_equal(sp_buf_str(&out),
                        "hello from python\nhello from python\nhello from python\n");
    sp_buf_reset(&out);
    assert_int_equal(sp_zip_extract(py_zip, PY_ZIP_LEN, "sub/b.txt", &out, &err), SP_E_OK);
    assert_string_equal(sp_buf_str(&out), "second file");
    sp_buf_reset(&out);
    assert_int_equal(sp_zip_extract(py_zip, PY_ZIP_LEN, "b.txt", &out, &err), SP_E_NOT_FOUND);
    assert_non_null(strstr(err.msg, "b.txt"));
    assert_int_equal(out.len, 0);
    sp_buf_cleanup(&out);
}

static void test_walk_entries(void **state)
{
    (void)state;
    struct sp_zip z;
    struct sp_zip_entry e;
    struct sp_error err;
    sp_error_clear(&err);
    assert_int_equal(sp_zip_open(&z, py_zip, PY_ZIP_LEN, &err), SP_E_OK);
    assert_int_equal(z.n_entries, 2);
    size_t pos = 0;
    assert_int_equal(sp_zip_next(&z, &pos, &e, &err), SP_E_OK);
    assert_int_equal(e.name_len, 5);
    assert_memory_equal(e.name, "a.txt", 5);
    assert_int_equal(e.method, 8);
    assert_int_equal(e.usize, 54);
    assert_int_equal(sp_zip_next(&z, &pos, &e, &err), SP_E_OK);
    assert_memory_equal(e.name, "sub/b.txt", 9);
    assert_int_equal(sp_zip_next(&z, &pos, &e, &err), SP_E_NOT_FOUND);
}

static void test_stored_and_deflated(void **state)
{
    (void)state;
    size_t big_len = 200000;
    char *big = malloc(big_len);
    assert_non_null(big);
    for (size_t i = 0; i < big_len; i++)
        big[i] = (char)("abcdefgh"[i % 8] ^ (i % 251 == 0));
    struct zw z;
    zw_init(&z);
    zw_add(&z, "stored.bin", "\x00\x01\x02\xff", 4, 0, 0, 0);
    zw_add(&z, "big.txt", big, big_len, 8, 0, 0);
    zw_add(&z, "empty", "", 0, 8, 0, 0);
    zw_finish(&z);
    struct sp_buf out;
    struct sp_error err;
    sp_buf_init(&out, 0);
    sp_error_clear(&err);
    assert_int_equal(sp_zip_extract(z.out.data, z.out.len, "stored.bin", &out, &err), SP_E_OK);
    assert_int_equal(out.len, 4);
    assert_memory_equal(out.data, "\x00\x01\x02\xff", 4);
    sp_buf_reset(&out);
    assert_int_equal(sp_zip_extract(z.out.data, z.out.len, "big.txt", &out, &err), SP_E_OK);
    assert_int_equal(out.len, big_len);
    assert_memory_equal(out.data, big, big_len);
    sp_buf_reset(&out);
    assert_int_equal(sp_zip_extract(z.out.data, z.out.len, "empty", &out, &err), SP_E_OK);
    assert_int_equal(out.len, 0);
    sp_buf_cleanup(&out);
    zw_cleanup(&z);
    free(big);
}

static void test_empty_archive(void **state)
{
    (void)state;
    struct zw z;
    zw_init(&z);
    zw_finish(&z);
    struct sp_zip zip;
    struct sp_error err;
    struct sp_buf out;
    sp_buf_init(&out, 0);
    sp_error_clear(&err);
    assert_int_equal(sp_zip_open(&zip, z.out.data, z.out.len, &err), SP_E_OK);
    assert_int_equal(zip.n_entries, 0);
    assert_int_equal(sp_zip_extract(z.out.data, z.out.len, "x", &out, &err), SP_E_NOT_FOUND);
    sp_buf_cleanup(&out);
    zw_cleanup(&z);
}

/* --- broken archives ------------------------------------------------------------------------- */

static void expect_protocol(const void *data, size_t len, const char *name, const char *why)
{
    struct sp_buf out;
    struct sp_error err;
    sp_buf_init(&out, 0);
    sp_error_clear(&err);
    assert_int_equal(sp_zip_extract(data, len, name, &out, &err), SP_E_PROTOCOL);
    assert_int_equal(err.code, SP_E_PROTOCOL);
    if (why && strstr(err.msg, why) == NULL)
        fail_msg("error '%s' does not mention '%s'", err.msg, why);
    assert_int_equal(out.len, 0); /* nothing half-written */
    sp_buf_cleanup(&out);
}

static void test_garbage(void **state)
{
    (void)state;
    expect_protocol("", 0, "a", "end-of-central-directory");
    expect_protocol(NULL, 0, "a", NULL);
    expect_protocol("PK\x05\x06", 4, "a", NULL);
    expect_protocol("<html>502 Bad Gateway</html>", 28, "a", "end-of-central-directory");
    unsigned char noise[4096];
    uint32_t s = 12345;
    for (size_t i = 0; i < sizeof(noise); i++) {
        s = s * 1103515245u + 12345u;
        noise[i] = (unsigned char)(s >> 16);
    }
    expect_protocol(noise, sizeof(noise), "a", NULL);
}

static void test_every_truncation(void **state)
{
    (void)state;
    /* Cutting the archive anywhere loses the EOCD or makes offsets point past the end. */
    for (size_t len = 0; len < PY_ZIP_LEN; len++) {
        struct sp_buf out;
        struct sp_error err;
        sp_buf_init(&out, 0);
        sp_error_clear(&err);
        enum sp_err rc = sp_zip_extract(py_zip, len, "a.txt", &out, &err);
        assert_int_equal(rc, SP_E_PROTOCOL);
        sp_buf_cleanup(&out);
    }
}

static void test_bad_directory_offset(void **state)
{
    (void)state;
    char *copy = malloc(PY_ZIP_LEN);
    assert_non_null(copy);
    memcpy(copy, py_zip, PY_ZIP_LEN);
    wr32(copy + PY_ZIP_LEN - 22 + 16, 0x7fffff00u); /* central directory offset */
    expect_protocol(copy, PY_ZIP_LEN, "a.txt", "outside the archive");
    memcpy(copy, py_zip, PY_ZIP_LEN);
    wr32(copy + PY_ZIP_LEN - 22 + 12, 0x7fffff00u); /* central directory size */
    expect_protocol(copy, PY_ZIP_LEN, "a.txt", "outside the archive");
    memcpy(copy, py_zip, PY_ZIP_LEN);
    copy[PY_ZIP_LEN - 22 + 10] = 60; /* 60 entries cannot fit */
    copy[PY_ZIP_LEN - 22 + 8] = 60;
    expect_protocol(copy, PY_ZIP_LEN, "a.txt", "cannot fit");
    free(copy);
}

static void test_bad_local_offset(void **state)
{
    (void)state;
    struct zw z;
    zw_init(&z);
    zw_add(&z, "f", "data", 4, 0, 0, 0);
    zw_finish(&z);
    size_t cd = rd32(z.out.data + eocd_at(&z.out) + 16);
    wr32(z.out.data + cd + 42, 0x00ffffffu); /* local header offset past the directory */
    expect_protocol(z.out.data, z.out.len, "f", "local header");
    wr32(z.out.data + cd + 42, 1); /* not a local header signature */
    expect_protocol(z.out.data, z.out.len, "f", "local header");
    zw_cleanup(&z);
}

static void test_sizes_that_lie(void **state)
{
    (void)state;
    char text[1000];
    memset(text, 'x', sizeof(text));
    struct zw z;
    zw_init(&z);
    /* Declares 10 bytes but inflates to 1000: a small bomb. */
    zw_add(&z, "bomb", text, sizeof(text), 8, 0, 10);
    /* Declares 1 GiB: refused before inflating anything. */
    zw_add(&z, "huge", text, sizeof(text), 8, 0, 1u << 30);
    /* Stored with different sizes. */
    zw_add(&z, "odd", text, 10, 0, 0, 11);
    zw_finish(&z);
    expect_protocol(z.out.data, z.out.len, "bomb", "declared");
    expect_protocol(z.out.data, z.out.len, "huge", "limit");
    expect_protocol(z.out.data, z.out.len, "odd", "stored member");
    /* The limit is the output buffer's: a 1000-byte member into a 100-byte buffer. */
    struct zw z2;
    zw_init(&z2);
    zw_add(&z2, "t", text, sizeof(text), 8, 0, 0);
    zw_finish(&z2);
    struct sp_buf small;
    struct sp_error err;
    sp_buf_init(&small, 100);
    sp_error_clear(&err);
    assert_int_equal(sp_zip_extract(z2.out.data, z2.out.len, "t", &small, &err), SP_E_PROTOCOL);
    assert_int_equal(small.len, 0);
    sp_buf_cleanup(&small);
    zw_cleanup(&z2);
    zw_cleanup(&z);
}

static void test_crc_and_corruption(void **state)
{
    (void)state;
    struct zw z;
    zw_init(&z);
    zw_add(&z, "s", "stored data", 11, 0, 0, 0);
    zw_finish(&z);
    z.out.data[30 + 1 + 3] ^= 0x20; /* a data byte of "s" */
    expect_protocol(z.out.data, z.out.len, "s", "CRC");
    zw_cleanup(&z);

    char text[5000];
    for (size_t i = 0; i < sizeof(text); i++)
        text[i] = (char)('a' + i % 26);
    zw_init(&z);
    zw_add(&z, "d", text, sizeof(text), 8, 0, 0);
    zw_finish(&z);
    size_t cd = rd32(z.out.data + eocd_at(&z.out) + 16);
    for (size_t i = 30 + 1; i < cd; i++) { /* every byte of the deflate stream, one at a time */
        z.out.data[i] ^= 0x55;
        struct sp_buf out;
        struct sp_error err;
        sp_buf_init(&out, 0);
        sp_error_clear(&err);
        enum sp_err rc = sp_zip_extract(z.out.data, z.out.len, "d", &out, &err);
        assert_int_equal(rc, SP_E_PROTOCOL);
        sp_buf_cleanup(&out);
        z.out.data[i] ^= 0x55;
    }
    zw_cleanup(&z);
}

static void test_unsupported_features(void **state)
{
    (void)state;
    struct zw z;
    zw_init(&z);
    zw_add(&z, "enc", "secret", 6, 0, 1, 0); /* encrypted flag */
    zw_add(&z, "bz", "bzip2!", 6, 12, 0, 0); /* method 12 */
    zw_finish(&z);
    expect_protocol(z.out.data, z.out.len, "enc", "encrypted");
    expect_protocol(z.out.data, z.out.len, "bz", "method 12");
    size_t e = eocd_at(&z.out);
    wr32(z.out.data + e + 16, 0xffffffffu); /* ZIP64 marker */
    expect_protocol(z.out.data, z.out.len, "enc", "ZIP64");
    zw_cleanup(&z);
    zw_init(&z);
    zw_add(&z, "m", "x", 1, 0, 0, 0);
    zw_finish(&z);
    z.out.data[eocd_at(&z.out) + 4] = 1; /* disk number */
    expect_protocol(z.out.data, z.out.len, "m", "multi-disk");
    zw_cleanup(&z);
}

/* Random single-byte and multi-byte flips anywhere: any result but a crash. */
static void test_random_flips(void **state)
{
    (void)state;
    unsigned char copy[PY_ZIP_LEN];
    uint32_t s = 99;
    for (int round = 0; round < 3000; round++) {
        memcpy(copy, py_zip, PY_ZIP_LEN);
        int flips = 1 + round % 4;
        for (int k = 0; k < flips; k++) {
            s = s * 1103515245u + 12345u;
            size_t at = (s >> 8) % PY_ZIP_LEN;
            s = s * 1103515245u + 12345u;
            copy[at] = (unsigned char)(s >> 16);
        }
        struct sp_buf out;
        struct sp_error err;
        sp_buf_init(&out, 1 << 20);
        sp_error_clear(&err);
        enum sp_err rc =
            sp_zip_extract(copy, PY_ZIP_LEN, round % 2 ? "a.txt" : "sub/b.txt", &out, &err);
        assert_true(rc == SP_E_OK || rc == SP_E_PROTOCOL || rc == SP_E_NOT_FOUND);
        if (rc != SP_E_OK)
            assert_int_equal(out.len, 0);
        sp_buf_cleanup(&out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_python_archive),
        cmocka_unit_test(test_walk_entries),
        cmocka_unit_test(test_stored_and_deflated),
        cmocka_unit_test(test_empty_archive),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_every_truncation),
        cmocka_unit_test(test_bad_directory_offset),
        cmocka_unit_test(test_bad_local_offset),
        cmocka_unit_test(test_sizes_that_lie),
        cmocka_unit_test(test_crc_and_corruption),
        cmocka_unit_test(test_unsupported_features),
        cmocka_unit_test(test_random_flips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
