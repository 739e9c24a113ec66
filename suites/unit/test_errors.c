/* Tests of the error module's text handling: messages that do not fit are cut at a space,
 * never inside a word or a UTF-8 sequence, and say so with "..."; what fits is untouched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "errors.h"

static void test_errors_fit_keeps_short_text(void **state)
{
    (void)state;
    char out[32];
    assert_int_equal(sp_text_fit(out, sizeof(out), "connection refused"), 18);
    assert_string_equal(out, "connection refused");
}

static void test_errors_fit_cuts_at_a_space(void **state)
{
    (void)state;
    char out[32];
    size_t n = sp_text_fit(out, sizeof(out), "Failed to connect to 127.0.0.1 port 39457: Couldn't");
    assert_string_equal(out, "Failed to connect to ...");
    assert_int_equal(n, strlen(out));
    assert_true(n < sizeof(out));
}

static void test_errors_fit_never_splits_utf8(void **state)
{
    (void)state;
    /* One long word of two-byte characters: no space to cut at, so the cut falls between
     * characters. */
    char in[64];
    for (int i = 0; i < 30; i++)
        memcpy(in + 2 * i, "\xC3\xA9", 2);
    in[60] = '\0';
    char out[16];
    sp_text_fit(out, sizeof(out), in);
    size_t n = strlen(out);
    assert_true(n >= 3 && strcmp(out + n - 3, "...") == 0);
    assert_int_equal((n - 3) % 2, 0); /* whole characters only */
    for (size_t i = 0; i < n - 3; i += 2)
        assert_memory_equal(out + i, "\xC3\xA9", 2);
}

static void test_errors_set_and_prefix_keep_words_whole(void **state)
{
    (void)state;
    struct sp_error e;
    sp_error_clear(&e);
    char word[400];
    memset(word, 'w', 20);
    word[20] = '\0';
    char text[600] = "";
    size_t len = 0;
    for (int i = 0; i < 25; i++) /* 25 words of 20 letters, one space apart */
        len += (size_t)snprintf(text + len, sizeof(text) - len, "%s ", word);
    sp_error_set(&e, SP_E_CONNECT, "%s", text);
    size_t n = strlen(e.msg);
    assert_true(n < sizeof(e.msg));
    assert_string_equal(e.msg + n - 3, "...");
    assert_true(e.msg[n - 4] == ' ' && (n - 3) % 21 == 0); /* ends after a whole word */
    sp_error_prefix(&e, "create sandbox: POST %s", "http://127.0.0.1:1/api/sandbox");
    n = strlen(e.msg);
    assert_true(strncmp(e.msg, "create sandbox: POST http://127.0.0.1:1/api/sandbox: ", 53) == 0);
    assert_string_equal(e.msg + n - 4, " ...");
    assert_true(e.msg[n - 5] == 'w');
    char out[96];
    sp_error_format(&e, out, sizeof(out));
    n = strlen(out);
    assert_true(strncmp(out, "connect: create sandbox: POST ", 30) == 0);
    assert_string_equal(out + n - 4, " ...");
    assert_true(out[n - 5] == 'w');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors_fit_keeps_short_text),
        cmocka_unit_test(test_errors_fit_cuts_at_a_space),
        cmocka_unit_test(test_errors_fit_never_splits_utf8),
        cmocka_unit_test(test_errors_set_and_prefix_keep_words_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
