/* Tests of src/core/policy.c: expiry presets, custom dates, never, limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/policy.h"
#include "util/error.h"

#define NOW 1800000000

static int resolve(pat_expiry_kind kind, int64_t days, int64_t at, const pat_policy *p,
                   int64_t ceiling, int64_t *out)
{
    pat_expiry_request req = {kind, days, at};

    return pat_expiry_resolve(&req, p, NOW, ceiling, out);
}

static void test_policy__default_is_seven_days(void **state)
{
    pat_policy p;
    int64_t at = -1;

    (void)state;
    pat_policy_defaults(&p);
    assert_int_equal(resolve(PAT_EXPIRY_DEFAULT, 0, 0, &p, 0, &at), PAT_OK);
    assert_int_equal(at, NOW + 7 * PAT_DAY);
}

static void test_policy__presets_only(void **state)
{
    pat_policy p;
    int64_t at = 0;
    static const int ok[] = {7, 30, 60, 90};
    static const int bad[] = {0, -7, 1, 8, 365};

    (void)state;
    pat_policy_defaults(&p);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(resolve(PAT_EXPIRY_DAYS, ok[i], 0, &p, 0, &at), PAT_OK);
        assert_int_equal(at, NOW + (int64_t)ok[i] * PAT_DAY);
    }
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(resolve(PAT_EXPIRY_DAYS, bad[i], 0, &p, 0, &at), PAT_EINVAL);
        assert_string_equal(pat_error_last()->field, "expires_in_days");
    }
}

static void test_policy__custom_date_must_be_future(void **state)
{
    pat_policy p;
    int64_t at = 0;

    (void)state;
    pat_policy_defaults(&p);
    assert_int_equal(resolve(PAT_EXPIRY_AT, 0, NOW + 1, &p, 0, &at), PAT_OK);
    assert_int_equal(at, NOW + 1);
    assert_int_equal(resolve(PAT_EXPIRY_AT, 0, NOW, &p, 0, &at), PAT_EINVAL);
    assert_int_equal(resolve(PAT_EXPIRY_AT, 0, NOW - 100, &p, 0, &at), PAT_EINVAL);
    assert_string_equal(pat_error_last()->field, "expires_at");
}

static void test_policy__never_follows_policy(void **state)
{
    pat_policy p;
    int64_t at = -1;

    (void)state;
    pat_policy_defaults(&p);
    assert_int_equal(resolve(PAT_EXPIRY_NEVER, 0, 0, &p, 0, &at), PAT_OK);
    assert_int_equal(at, 0);
    p.allow_never_expires = false;
    assert_int_equal(resolve(PAT_EXPIRY_NEVER, 0, 0, &p, 0, &at), PAT_EPOLICY);
}

static void test_policy__max_lifetime_names_limit(void **state)
{
    pat_policy p;
    int64_t at = 0;

    (void)state;
    pat_policy_defaults(&p);
    p.max_lifetime_days = 30;
    assert_int_equal(resolve(PAT_EXPIRY_DAYS, 30, 0, &p, 0, &at), PAT_OK);
    assert_int_equal(resolve(PAT_EXPIRY_DAYS, 60, 0, &p, 0, &at), PAT_EPOLICY);
    assert_non_null(strstr(pat_error_last()->message, "maximum of 30 days"));
    assert_int_equal(resolve(PAT_EXPIRY_NEVER, 0, 0, &p, 0, &at), PAT_EPOLICY);
}

static void test_policy__token_ceiling(void **state)
{
    pat_policy p;
    int64_t at = 0;

    (void)state;
    pat_policy_defaults(&p);
    assert_int_equal(resolve(PAT_EXPIRY_DAYS, 7, 0, &p, NOW + 30 * PAT_DAY, &at), PAT_OK);
    assert_int_equal(resolve(PAT_EXPIRY_DAYS, 90, 0, &p, NOW + 30 * PAT_DAY, &at),
                     PAT_EFORBIDDEN);
    assert_int_equal(resolve(PAT_EXPIRY_NEVER, 0, 0, &p, NOW + 30 * PAT_DAY, &at),
                     PAT_EFORBIDDEN);
    /* -1: the calling token never expires, so nothing is beyond it. */
    assert_int_equal(resolve(PAT_EXPIRY_NEVER, 0, 0, &p, -1, &at), PAT_OK);
}

static void test_policy__expired_at_exact_second(void **state)
{
    (void)state;
    assert_false(pat_expiry_passed(NOW + 1, NOW));
    assert_true(pat_expiry_passed(NOW, NOW));
    assert_false(pat_expiry_passed(0, NOW));
    assert_int_equal(pat_expiry_remaining(NOW + 10, NOW), 10);
    assert_int_equal(pat_expiry_remaining(NOW - 10, NOW), 0);
}

static void test_policy__validate(void **state)
{
    pat_policy p;

    (void)state;
    pat_policy_defaults(&p);
    assert_int_equal(pat_policy_validate(&p), PAT_OK);
    p.default_expires_in_days = 0;
    assert_int_equal(pat_policy_validate(&p), PAT_EINVAL);
    pat_policy_defaults(&p);
    p.max_lifetime_days = 5;
    assert_int_equal(pat_policy_validate(&p), PAT_EINVAL);
}

/* "Expires soon": the last fifth of a token's life, at most 3 days. */
static void test_policy__expiring_soon_is_a_share_of_the_life(void **state)
{
    const int64_t d = PAT_DAY, t0 = 1800000000;

    (void)state;
    /* 7 days: soon for the last 1.4 days, not from creation. */
    assert_int_equal(pat_expiry_soon(t0, t0 + 7 * d, t0), 0);
    assert_int_equal(pat_expiry_soon(t0, t0 + 7 * d, t0 + 5 * d), 0);
    assert_int_equal(pat_expiry_soon(t0, t0 + 7 * d, t0 + 7 * d - 7 * d / 5), 1);
    /* 90 days: the last 3 days (a fifth would be 18). */
    assert_int_equal(pat_expiry_soon(t0, t0 + 90 * d, t0 + 80 * d), 0);
    assert_int_equal(pat_expiry_soon(t0, t0 + 90 * d, t0 + 87 * d), 1);
    /* Never, expired, or a life of nothing. */
    assert_int_equal(pat_expiry_soon(t0, 0, t0), 0);
    assert_int_equal(pat_expiry_soon(t0, t0 + d, t0 + d), 0);
    assert_int_equal(pat_expiry_soon(t0, t0, t0 - 1), 0);
}

/* The strictest of two policies: an organization's on the installation's. */
static void test_policy__tighten_takes_the_strictest(void **state)
{
    pat_policy inst, org, p;

    (void)state;
    pat_policy_defaults(&inst);
    inst.default_expires_in_days = 30;
    inst.allow_never_expires = true;
    org = inst;
    org.max_lifetime_days = 14;
    p = inst;
    pat_policy_tighten(&p, &org);
    assert_int_equal(p.max_lifetime_days, 14);
    assert_int_equal(p.default_expires_in_days, 14); /* never beyond the maximum */
    assert_true(p.allow_never_expires);
    org.allow_never_expires = false;
    org.max_lifetime_days = 0;
    org.default_expires_in_days = 60;
    pat_policy_tighten(&p, &org);
    assert_int_equal(p.max_lifetime_days, 14); /* a longer one does not loosen */
    assert_int_equal(p.default_expires_in_days, 14);
    assert_false(p.allow_never_expires);
    org.max_lifetime_days = 7;
    pat_policy_tighten(&p, &org);
    assert_int_equal(p.max_lifetime_days, 7);
    assert_int_equal(p.default_expires_in_days, 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy__default_is_seven_days),
        cmocka_unit_test(test_policy__presets_only),
        cmocka_unit_test(test_policy__custom_date_must_be_future),
        cmocka_unit_test(test_policy__never_follows_policy),
        cmocka_unit_test(test_policy__max_lifetime_names_limit),
        cmocka_unit_test(test_policy__token_ceiling),
        cmocka_unit_test(test_policy__expired_at_exact_second),
        cmocka_unit_test(test_policy__validate),
        cmocka_unit_test(test_policy__tighten_takes_the_strictest),
        cmocka_unit_test(test_policy__expiring_soon_is_a_share_of_the_life),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
