/* Tests of src/core/token.c. The fixed vectors were computed outside patd
 * with Python's zlib.crc32 and hmac modules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "core/token.h"
#include "util/error.h"

#define VECTOR_TAIL "AbCdEfGhIjKlMnOpQrStUvWxYz0123451HTd0k" /* random part, checksum */
#define VECTOR "pat_" VECTOR_TAIL

static void test_token__checksum_matches_independent_vector(void **state)
{
    char sum[PAT_TOKEN_CHECKSUM_LEN];

    (void)state;
    pat_token_checksum("AbCdEfGhIjKlMnOpQrStUvWxYz012345", sum);
    assert_memory_equal(sum, "1HTd0k", 6);
    /* 0xa0f292d0: a checksum that needs all six digits. */
    pat_token_checksum("00000000000000000000000000000000", sum);
    assert_memory_equal(sum, "2wjyrI", 6);
}

static void test_token__accepts_vector(void **state)
{
    (void)state;
    assert_int_equal(pat_token_check_format(VECTOR, strlen(VECTOR), "pat_"), PAT_OK);
}

static void test_token__generated_has_format(void **state)
{
    char t[PAT_TOKEN_BUF], u[PAT_TOKEN_BUF];

    (void)state;
    pat_token_generate(t, "pat_");
    assert_int_equal(strlen(t), 42);
    assert_memory_equal(t, "pat_", 4);
    assert_int_equal(pat_token_check_format(t, strlen(t), "pat_"), PAT_OK);
    pat_token_generate(u, "pat_");
    assert_string_not_equal(t, u);
    pat_token_generate(t, "acme_");
    assert_int_equal(strlen(t), 43);
    assert_int_equal(pat_token_check_format(t, strlen(t), "acme_"), PAT_OK);
    assert_int_equal(pat_token_check_format(t, strlen(t), "pat_"), PAT_EAUTH);
}

static void test_token__rejects_bad_checksum(void **state)
{
    char t[] = VECTOR;

    (void)state;
    t[41] = t[41] == 'k' ? 'j' : 'k';
    assert_int_equal(pat_token_check_format(t, strlen(t), "pat_"), PAT_EAUTH);
    /* A change in the random part breaks the checksum too. */
    strcpy(t, VECTOR);
    t[10] = 'Z';
    assert_int_equal(pat_token_check_format(t, strlen(t), "pat_"), PAT_EAUTH);
}

static void test_token__rejects_wrong_length_prefix_alphabet(void **state)
{
    char t[64];

    (void)state;
    assert_int_equal(pat_token_check_format(VECTOR, 41, "pat_"), PAT_EAUTH);
    assert_int_equal(pat_token_check_format("", 0, "pat_"), PAT_EAUTH);
    strcpy(t, VECTOR "x");
    assert_int_equal(pat_token_check_format(t, strlen(t), "pat_"), PAT_EAUTH);
    strcpy(t, VECTOR);
    t[0] = 'q';
    assert_int_equal(pat_token_check_format(t, strlen(t), "pat_"), PAT_EAUTH);
    strcpy(t, VECTOR);
    t[20] = '-';
    assert_int_equal(pat_token_check_format(t, strlen(t), "pat_"), PAT_EAUTH);
    strcpy(t, VECTOR);
    t[20] = '\0';
    assert_int_equal(pat_token_check_format(t, 42, "pat_"), PAT_EAUTH);
}

static void test_token__hmac_matches_independent_vector(void **state)
{
    static const uint8_t want[32] = {0xf0, 0xe2, 0x00, 0x17, 0xdf, 0x67, 0x07, 0x93,
                                     0x6f, 0xe0, 0x52, 0x12, 0xf1, 0x45, 0x79, 0x45,
                                     0x7d, 0x8c, 0xb4, 0x30, 0x7e, 0xdf, 0xe0, 0xef,
                                     0x7e, 0x0a, 0xca, 0x27, 0xf3, 0x00, 0x6a, 0x4f};
    uint8_t key[PAT_KEY_LEN], out[PAT_HASH_LEN], other[PAT_HASH_LEN];

    (void)state;
    for (int i = 0; i < PAT_KEY_LEN; i++)
        key[i] = (uint8_t)i;
    pat_token_hash(out, key, VECTOR, strlen(VECTOR));
    assert_memory_equal(out, want, 32);
    assert_true(pat_token_hash_equal(out, want));
    key[0] ^= 1;
    pat_token_hash(other, key, VECTOR, strlen(VECTOR));
    assert_false(pat_token_hash_equal(out, other));
}

static void test_token__display_prefix_is_first_ten(void **state)
{
    char d[PAT_TOKEN_DISPLAY_LEN + 1];

    (void)state;
    pat_token_display(d, VECTOR);
    assert_string_equal(d, "pat_AbCdEf");
}

static void test_token__shape_for_any_usable_prefix(void **state)
{
    char t[PAT_TOKEN_BUF];

    (void)state;
    assert_int_equal(pat_token_check_shape(VECTOR, strlen(VECTOR)), PAT_OK);
    pat_token_generate(t, "acme_");
    assert_int_equal(pat_token_check_shape(t, strlen(t)), PAT_OK);
    pat_token_generate(t, "x");
    assert_int_equal(pat_token_check_shape(t, strlen(t)), PAT_OK);
    pat_token_generate(t, "ABCDEFGHIJKLMNOP"); /* the longest prefix */
    assert_int_equal(pat_token_check_shape(t, strlen(t)), PAT_OK);
    /* No prefix, a prefix outside the alphabet, a broken checksum, too
     * short, too long, a header injection. */
    assert_int_equal(pat_token_check_shape(VECTOR_TAIL, 38), PAT_EAUTH);
    assert_int_equal(pat_token_check_shape("pa-t" VECTOR_TAIL, 42), PAT_EAUTH);
    strcpy(t, VECTOR);
    t[41] = t[41] == 'k' ? 'j' : 'k';
    assert_int_equal(pat_token_check_shape(t, strlen(t)), PAT_EAUTH);
    assert_int_equal(pat_token_check_shape("t1", 2), PAT_EAUTH);
    assert_int_equal(pat_token_check_shape("ABCDEFGHIJKLMNOPQ" VECTOR_TAIL, 17 + 38), PAT_EAUTH);
    assert_int_equal(pat_token_check_shape("p\r\nX" VECTOR_TAIL, 4 + 38), PAT_EAUTH);
}

static void test_token__prefix_validation(void **state)
{
    (void)state;
    assert_int_equal(pat_token_prefix_valid("pat_"), PAT_OK);
    assert_int_equal(pat_token_prefix_valid("acme_"), PAT_OK);
    assert_int_equal(pat_token_prefix_valid(""), PAT_EINVAL);
    assert_int_equal(pat_token_prefix_valid("a-b"), PAT_EINVAL);
    assert_int_equal(pat_token_prefix_valid("abcdefghijklmnopq"), PAT_EINVAL);
}

static void test_token__random_part_uses_whole_alphabet_evenly(void **state)
{
    static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    int counts[62] = {0};
    char t[PAT_TOKEN_BUF];

    (void)state;
    /* 2000 tokens, 64000 characters: about 1032 of each; a biased mapping
     * (byte % 62 without rejection) would give the first 8 about 1250. */
    for (int i = 0; i < 2000; i++) {
        pat_token_generate(t, "pat_");
        for (int k = 4; k < 36; k++)
            counts[strchr(alphabet, t[k]) - alphabet]++;
    }
    for (int c = 0; c < 62; c++) {
        assert_in_range(counts[c], 850, 1220);
    }
}

static void test_token__wipe_zeroes(void **state)
{
    char t[PAT_TOKEN_BUF];

    (void)state;
    pat_token_generate(t, "pat_");
    pat_secret_wipe(t, sizeof(t));
    for (size_t i = 0; i < sizeof(t); i++)
        assert_int_equal(t[i], 0);
}

static void test_token__found_in_text_only_whole_and_with_a_valid_checksum(void **state)
{
    char t[PAT_TOKEN_BUF], text[512], bad[PAT_TOKEN_BUF];
    size_t at = 99;

    (void)state;
    pat_token_generate(t, "pat_");
    snprintf(text, sizeof(text), "export TOKEN=\"%s\" # ci", t);
    assert_int_equal(pat_token_find(text, strlen(text), "pat_", &at), 1);
    assert_int_equal(at, 14);
    assert_memory_equal(text + at, t, strlen(t));
    /* A wrong checksum is not a token. */
    snprintf(bad, sizeof(bad), "%s", t);
    bad[10] = bad[10] == 'a' ? 'b' : 'a';
    snprintf(text, sizeof(text), "TOKEN=%s", bad);
    assert_int_equal(pat_token_find(text, strlen(text), "pat_", &at), 0);
    /* Not part of a longer word on either side. */
    snprintf(text, sizeof(text), "x%s", t);
    assert_int_equal(pat_token_find(text, strlen(text), "pat_", &at), 0);
    snprintf(text, sizeof(text), "%sQ", t);
    assert_int_equal(pat_token_find(text, strlen(text), "pat_", &at), 0);
    /* Another prefix, the end of the text, the second of two candidates. */
    assert_int_equal(pat_token_find(t, strlen(t), "ghp_", &at), 0);
    assert_int_equal(pat_token_find(t, strlen(t) - 1, "pat_", &at), 0);
    snprintf(text, sizeof(text), "pat_nothing %s", t);
    assert_int_equal(pat_token_find(text, strlen(text), "pat_", &at), 1);
    assert_int_equal(at, 12);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token__checksum_matches_independent_vector),
        cmocka_unit_test(test_token__accepts_vector),
        cmocka_unit_test(test_token__generated_has_format),
        cmocka_unit_test(test_token__rejects_bad_checksum),
        cmocka_unit_test(test_token__rejects_wrong_length_prefix_alphabet),
        cmocka_unit_test(test_token__hmac_matches_independent_vector),
        cmocka_unit_test(test_token__display_prefix_is_first_ten),
        cmocka_unit_test(test_token__shape_for_any_usable_prefix),
        cmocka_unit_test(test_token__prefix_validation),
        cmocka_unit_test(test_token__random_part_uses_whole_alphabet_evenly),
        cmocka_unit_test(test_token__wipe_zeroes),
        cmocka_unit_test(test_token__found_in_text_only_whole_and_with_a_valid_checksum),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
