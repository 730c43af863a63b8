/* Tests of src/core/role.c: the one spelling of each role. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/role.h"
#include "util/error.h"

static void test_role__names_round_trip(void **state)
{
    int role = 0;

    (void)state;
    assert_string_equal(pat_role_name(PAT_ROLE_SUPERUSER), "superuser");
    assert_string_equal(pat_role_name(PAT_ROLE_MEMBER), "member");
    assert_int_equal(pat_role_parse("superuser", &role), PAT_OK);
    assert_int_equal(role, PAT_ROLE_SUPERUSER);
    assert_int_equal(pat_role_parse("member", &role), PAT_OK);
    assert_int_equal(role, PAT_ROLE_MEMBER);
}

static void test_role__rejects_other_text(void **state)
{
    int role = 7;

    (void)state;
    assert_int_equal(pat_role_parse("Superuser", &role), PAT_EINVAL);
    assert_string_equal(pat_error_last()->field, "role");
    assert_int_equal(pat_role_parse("", &role), PAT_EINVAL);
    assert_int_equal(pat_role_parse(NULL, &role), PAT_EINVAL);
    assert_int_equal(role, 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_role__names_round_trip),
        cmocka_unit_test(test_role__rejects_other_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
