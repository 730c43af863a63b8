/* Tests of src/util/decimal.c: the numbers the access log and GET /auth's
 * headers carry must read exactly as printf would write them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "util/decimal.h"

static void same_as_printf(int64_t v, int width)
{
    char want[64], got[PAT_DECIMAL_MAX];

    snprintf(want, sizeof(want), "%0*lld", width, (long long)v);
    assert_int_equal(pat_decimal(got, sizeof(got), v, width), strlen(want));
    assert_string_equal(got, want);
}

static void test_decimal__matches_printf(void **state)
{
    (void)state;
    same_as_printf(0, 1);
    same_as_printf(7, 1);
    same_as_printf(10, 1);
    same_as_printf(1234567890123LL, 1);
    same_as_printf(-42, 1);
    same_as_printf(5, 2);   /* zero-padded, as the log's hundredths are */
    same_as_printf(123, 2); /* a width is a minimum */
    same_as_printf(INT64_MAX, 1);
    same_as_printf(INT64_MIN, 1);
    same_as_printf(0, 0);
}

static void test_decimal__cut_to_fit_and_terminated(void **state)
{
    char out[4];

    (void)state;
    memset(out, 'x', sizeof(out));
    assert_int_equal(pat_decimal(out, sizeof(out), 123456, 1), 3);
    assert_string_equal(out, "123");
    assert_int_equal(pat_decimal(out, 1, 9, 1), 0);
    assert_string_equal(out, "");
    /* Widths past 20 digits are held to 20, within PAT_DECIMAL_MAX. */
    {
        char wide[PAT_DECIMAL_MAX];
        assert_int_equal(pat_decimal(wide, sizeof(wide), -1, 99), 21);
        assert_string_equal(wide, "-00000000000000000001");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decimal__matches_printf),
        cmocka_unit_test(test_decimal__cut_to_fit_and_terminated),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
