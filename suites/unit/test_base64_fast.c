/* Unit tests of the fast paths of streamed exec output: the table-driven base64 decoder
 * (providers/buf.c) against a bit-by-bit reference, its all-or-nothing output, and the
 * recogniser of envd's compact data event (sp__e2b_data_span, providers/e2b_json.c), which
 * must take exactly that byte shape and leave anything else to the JSON parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "e2b.h"

/* The reference: RFC 4648 read six bits at a time, either alphabet, '=' only at the end. */
static int ref_value(unsigned char c)
{
    const char *std = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    const char *p = c ? strchr(std, c) : NULL;
    return p ? (int)(p - std) : -1;
}

static int ref_decode(const char *in, size_t len, unsigned char *out, size_t *n)
{
    while (len > 0 && in[len - 1] == '=')
        len--;
    if (len % 4 == 1)
        return -1;
    uint32_t acc = 0;
    int bits = 0;
    *n = 0;
    for (size_t i = 0; i < len; i++) {
        int v = ref_value((unsigned char)in[i]);
        if (v < 0)
            return -1;
        acc = acc << 6 | (uint32_t)v;
        if ((bits += 6) >= 8) {
            bits -= 8;
            out[(*n)++] = (unsigned char)(acc >> bits);
        }
    }
    return 0;
}

/* Random strings, mostly of base64 characters, decoded by both after a prefix in out. */
static void test_matches_reference(void **state)
{
    (void)state;
    const char chars[] = "ABCXYZabcxyz0189+/-_=";
    char in[40] = {0}; /* zeroed: cppcheck cannot see that only in[0..len) is read */
    unsigned char want[40];
    unsigned seed = 12345;
    int good = 0, bad = 0;
    for (int it = 0; it < 200000; it++) {
        seed = seed * 1103515245u + 12345u;
        size_t len = (seed >> 16) % 24;
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            unsigned r = seed >> 16;
            in[i] = r % 50 ? chars[r % (sizeof(chars) - 1)] : (char)(r >> 8);
        }
        size_t n = 0;
        int rc = ref_decode(in, len, want, &n);
        struct sp_buf out;
        sp_buf_init(&out, 0);
        assert_int_equal(sp_buf_puts(&out, "pre"), 0);
        assert_int_equal(sp_base64_decode(in, len, &out), rc);
        if (rc == 0) {
            assert_int_equal(out.len, 3 + n);
            assert_memory_equal(out.data + 3, want, n);
            good++;
        } else {
            assert_string_equal(out.data, "pre"); /* nothing of a bad string is kept */
            bad++;
        }
        assert_int_equal(out.data[out.len], '\0');
        sp_buf_cleanup(&out);
    }
    assert_true(good > 1000 && bad > 1000);
}

static void test_known_values_and_limits(void **state)
{
    (void)state;
    struct sp_buf out;
    sp_buf_init(&out, 0);
    assert_int_equal(sp_base64_decode("aGkK", 4, &out), 0);
    assert_string_equal(out.data, "hi\n");
    sp_buf_reset(&out);
    assert_int_equal(sp_base64_decode("-_8", 3, &out), 0); /* URL-safe, unpadded */
    assert_int_equal(out.len, 2);
    assert_int_equal((unsigned char)out.data[0], 0xfb);
    assert_int_equal((unsigned char)out.data[1], 0xff);
    sp_buf_reset(&out);
    assert_int_equal(sp_base64_decode("QUJD\xc3\xa9", 6, &out), -1); /* non-ASCII */
    assert_int_equal(sp_base64_decode("QU=D", 4, &out), -1);         /* '=' inside */
    assert_int_equal(sp_base64_decode("QUJDR", 5, &out), -1);        /* 4n+1 characters */
    assert_int_equal(out.len, 0);
    sp_buf_cleanup(&out);
    /* A bounded buffer: what does not fit is refused whole and flagged. */
    sp_buf_init(&out, 4);
    assert_int_equal(sp_base64_decode("QUJDREVG", 8, &out), -1);
    assert_true(out.overflow);
    assert_int_equal(out.len, 0);
    sp_buf_cleanup(&out);
}

static void test_data_span(void **state)
{
    (void)state;
    const char *b64 = NULL;
    size_t n = 0;
    const char *ev = "{\"event\":{\"data\":{\"stderr\":\"aGkK\"}}}";
    assert_int_equal(sp__e2b_data_span(ev, strlen(ev), &b64, &n), 2);
    assert_int_equal(n, 4);
    assert_memory_equal(b64, "aGkK", 4);
    ev = "{\"event\":{\"data\":{\"stdout\":\"\"}}}";
    assert_int_equal(sp__e2b_data_span(ev, strlen(ev), &b64, &n), 1);
    assert_int_equal(n, 0);
    ev = "{\"event\":{\"data\":{\"pty\":\"AA==\"}}}";
    assert_int_equal(sp__e2b_data_span(ev, strlen(ev), &b64, &n), 3);
    /* Other shapes are the JSON parser's: whitespace, other keys, a cut-off tail, and the
     * key's own closing quote doubling as the tail's. */
    const char *other[] = {
        "{\"event\": {\"data\":{\"stdout\":\"aGkK\"}}}",
        "{\"event\":{\"data\":{\"stdin\":\"aGkK\"}}}",
        "{\"event\":{\"data\":{\"stdout\":\"aGkK\"}}",
        "{\"event\":{\"data\":{\"stdout\":\"}}}",
        "{\"event\":{\"start\":{\"pid\":1}}}",
        "",
    };
    for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
        assert_int_equal(sp__e2b_data_span(other[i], strlen(other[i]), &b64, &n), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_reference),
        cmocka_unit_test(test_known_values_and_limits),
        cmocka_unit_test(test_data_span),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
