/* Tests of src/core/text.c, src/core/cidr.c and src/util/time.c: the small
 * validators every input passes through. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/cidr.h"
#include "core/text.h"
#include "util/error.h"
#include "util/time.h"

static void test_text__counts_code_points(void **state)
{
    char s[401];

    (void)state;
    assert_int_equal(pat_text_utf8_len("h\xc3\xa9llo"), 5);
    assert_int_equal(pat_text_utf8_len("\xff"), (size_t)-1);
    /* 100 two-byte characters: within a 100-character limit. */
    for (int i = 0; i < 100; i++)
        memcpy(s + 2 * i, "\xc3\xa9", 2);
    s[200] = '\0';
    assert_int_equal(pat_text_check(s, "name", 1, 100, 0), PAT_OK);
    assert_int_equal(pat_text_check(s, "name", 1, 99, 0), PAT_EINVAL);
}

static void test_text__copy_is_bounded_and_terminated(void **state)
{
    char out[8];

    (void)state;
    memset(out, 'x', sizeof(out));
    assert_int_equal(pat_text_copy(out, sizeof(out), "abc", SIZE_MAX), 3);
    assert_string_equal(out, "abc");
    /* Cut to fit, always terminated. */
    assert_int_equal(pat_text_copy(out, sizeof(out), "abcdefghijk", SIZE_MAX), 7);
    assert_string_equal(out, "abcdefg");
    /* At most n bytes of the source: a path without its query. */
    assert_int_equal(pat_text_copy(out, sizeof(out), "/a?x=1", 2), 2);
    assert_string_equal(out, "/a");
    assert_int_equal(pat_text_copy(out, 1, "abc", SIZE_MAX), 0);
    assert_string_equal(out, "");
}

static void test_text__rejects_bad_utf8_and_controls(void **state)
{
    (void)state;
    assert_int_equal(pat_text_check("a\xc0\xafz", "name", 1, 10, 0), PAT_EINVAL);   /* overlong */
    assert_int_equal(pat_text_check("\xed\xa0\x80", "name", 1, 10, 0), PAT_EINVAL); /* surrogate */
    assert_int_equal(pat_text_check("a\x01", "name", 1, 10, 0), PAT_EINVAL);
    assert_int_equal(pat_text_check("a\nb", "name", 1, 10, 0), PAT_EINVAL);
    assert_int_equal(pat_text_check("a\nb", "description", 0, 10, 1), PAT_OK);
    assert_int_equal(pat_text_check("", "name", 1, 10, 0), PAT_EINVAL);
    assert_string_equal(pat_error_last()->field, "name");
}

static void test_text__copy_clean_makes_valid_utf8(void **state)
{
    char out[8];

    (void)state;
    assert_int_equal(pat_text_copy_clean(out, sizeof(out), "ab\xff\x01" "c"), 5);
    assert_string_equal(out, "ab??c");
    /* Cut at a character boundary: "é" (2 bytes) does not fit after 6. */
    assert_int_equal(pat_text_copy_clean(out, sizeof(out), "abcdef\xc3\xa9"), 6);
    assert_string_equal(out, "abcdef");
    /* A truncated sequence at the end is one '?'. */
    pat_text_copy_clean(out, sizeof(out), "x\xe2\x82");
    assert_int_equal(pat_text_utf8_len(out), strlen(out));
    assert_string_equal(out, "x??");
    assert_int_equal(pat_text_copy_clean(out, sizeof(out), NULL), 0);
    assert_string_equal(out, "");
}

static void test_cidr__parse_and_match(void **state)
{
    pat_cidr c;
    char text[PAT_CIDR_STR_MAX];

    (void)state;
    assert_int_equal(pat_cidr_parse("10.1.2.3/8", &c), PAT_OK);
    pat_cidr_format(&c, text);
    assert_string_equal(text, "10.0.0.0/8");
    assert_true(pat_cidr_contains(&c, "10.200.0.1"));
    assert_true(pat_cidr_contains(&c, "::ffff:10.0.0.9"));
    assert_false(pat_cidr_contains(&c, "11.0.0.1"));
    assert_int_equal(pat_cidr_parse("2001:db8::/32", &c), PAT_OK);
    assert_true(pat_cidr_contains(&c, "2001:db8::1"));
    assert_false(pat_cidr_contains(&c, "2001:db9::1"));
    assert_int_equal(pat_cidr_parse("10.0.0.0/33", &c), PAT_EINVAL);
    assert_int_equal(pat_cidr_parse("nope", &c), PAT_EINVAL);
    assert_int_equal(pat_cidr_parse("1.2.3.4/", &c), PAT_EINVAL);
    assert_true(pat_cidr_list_allows("", "1.2.3.4"));
    assert_true(pat_cidr_list_allows("10.0.0.0/8 127.0.0.1/32", "127.0.0.1"));
    assert_false(pat_cidr_list_allows("10.0.0.0/8", "127.0.0.1"));
}

static void test_time__rfc3339_round_trip(void **state)
{
    int64_t t = 0;
    char s[PAT_TIME_STR];

    (void)state;
    assert_int_equal(pat_time_parse("2026-11-22T10:00:00Z", &t), PAT_OK);
    assert_int_equal(t, 1795341600);
    pat_time_format(t, s);
    assert_string_equal(s, "2026-11-22T10:00:00Z");
    assert_int_equal(pat_time_parse("2026-11-22T12:00:00+02:00", &t), PAT_OK);
    assert_int_equal(t, 1795341600);
    assert_int_equal(pat_time_parse("2026-11-22T10:00:00.123Z", &t), PAT_OK);
    assert_int_equal(t, 1795341600);
    assert_int_equal(pat_time_parse("2026-11-22", &t), PAT_OK);
    assert_int_equal(t, 1795305600);
}

static void test_time__rejects_bad_dates(void **state)
{
    int64_t t = 0;

    (void)state;
    assert_int_equal(pat_time_parse("2026-02-30", &t), PAT_EINVAL);
    assert_int_equal(pat_time_parse("2026-11-22T10:00:00", &t), PAT_EINVAL);
    assert_int_equal(pat_time_parse("tomorrow", &t), PAT_EINVAL);
    assert_int_equal(pat_time_parse("2026-11-22T25:00:00Z", &t), PAT_EINVAL);
    assert_int_equal(pat_time_parse("2026-11-22Tx", &t), PAT_EINVAL);
    assert_int_equal(pat_time_parse("", &t), PAT_EINVAL);
}

static void test_error__message_may_quote_the_last_one(void **state)
{
    (void)state;
    pat_error_set(PAT_EINVAL, "roles", "unknown role %s", "king");
    pat_error_set(PAT_EINVAL, pat_error_last()->field, "line %d: %s", 3, pat_error_last()->message);
    assert_string_equal(pat_error_last()->message, "line 3: unknown role king");
    assert_string_equal(pat_error_last()->field, "roles");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text__counts_code_points),
        cmocka_unit_test(test_text__rejects_bad_utf8_and_controls),
        cmocka_unit_test(test_text__copy_is_bounded_and_terminated),
        cmocka_unit_test(test_text__copy_clean_makes_valid_utf8),
        cmocka_unit_test(test_cidr__parse_and_match),
        cmocka_unit_test(test_time__rfc3339_round_trip),
        cmocka_unit_test(test_time__rejects_bad_dates),
        cmocka_unit_test(test_error__message_may_quote_the_last_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
