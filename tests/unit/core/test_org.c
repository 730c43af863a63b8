/* Tests of src/core/org.c: slugs, roles, and the lists of organizations
 * that say where a token may be used. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/org.h"
#include "util/error.h"

static void test_org__slugs(void **state)
{
    char longest[PAT_ORG_SLUG_MAX + 2];

    (void)state;
    assert_int_equal(pat_org_slug_check("acme", "slug"), PAT_OK);
    assert_int_equal(pat_org_slug_check("a-1", "slug"), PAT_OK);
    memset(longest, 'a', sizeof(longest));
    longest[PAT_ORG_SLUG_MAX] = '\0';
    assert_int_equal(pat_org_slug_check(longest, "slug"), PAT_OK);
    longest[PAT_ORG_SLUG_MAX] = 'a';
    longest[PAT_ORG_SLUG_MAX + 1] = '\0';
    assert_int_equal(pat_org_slug_check(longest, "slug"), PAT_EINVAL);
    assert_string_equal(pat_error_last()->field, "slug");
    assert_int_equal(pat_org_slug_check("", "slug"), PAT_EINVAL);
    assert_int_equal(pat_org_slug_check(NULL, "slug"), PAT_EINVAL);
    assert_int_equal(pat_org_slug_check("-acme", "slug"), PAT_EINVAL);
    assert_int_equal(pat_org_slug_check("Acme", "slug"), PAT_EINVAL);
    assert_int_equal(pat_org_slug_check("ac me", "organizations"), PAT_EINVAL);
    assert_string_equal(pat_error_last()->field, "organizations");
    assert_int_equal(pat_org_slug_check("acme_", "slug"), PAT_EINVAL);
}

static void test_org__roles(void **state)
{
    int role = 9;

    (void)state;
    assert_string_equal(pat_org_role_name(PAT_ORG_OWNER), "owner");
    assert_string_equal(pat_org_role_name(PAT_ORG_MEMBER), "member");
    assert_int_equal(pat_org_role_parse("owner", &role), PAT_OK);
    assert_int_equal(role, PAT_ORG_OWNER);
    assert_int_equal(pat_org_role_parse("member", &role), PAT_OK);
    assert_int_equal(role, PAT_ORG_MEMBER);
    assert_int_equal(pat_org_role_parse("superuser", &role), PAT_EINVAL);
    assert_int_equal(pat_org_role_parse(NULL, &role), PAT_EINVAL);
    assert_int_equal(role, PAT_ORG_MEMBER);
}

static void test_org__lists_stay_sorted_and_unique(void **state)
{
    char list[28] = "";

    (void)state;
    assert_int_equal(pat_orgs_add(list, sizeof(list), "globex"), PAT_OK);
    assert_int_equal(pat_orgs_add(list, sizeof(list), "acme"), PAT_OK);
    assert_int_equal(pat_orgs_add(list, sizeof(list), "initech"), PAT_OK);
    assert_int_equal(pat_orgs_add(list, sizeof(list), "acme"), PAT_OK);
    assert_int_equal(pat_orgs_add(list, sizeof(list), "ac"), PAT_OK);
    assert_string_equal(list, "ac acme globex initech");
    assert_true(pat_orgs_has(list, "acme"));
    assert_false(pat_orgs_has(list, "acm"));
    assert_false(pat_orgs_has(list, "globe"));
    /* Full: refused, the list unchanged. */
    assert_int_equal(pat_orgs_add(list, sizeof(list), "umbrella"), PAT_EINVAL);
    assert_string_equal(list, "ac acme globex initech");
    pat_orgs_remove(list, "acm");
    assert_string_equal(list, "ac acme globex initech");
    pat_orgs_remove(list, "acme");
    assert_string_equal(list, "ac globex initech");
    pat_orgs_remove(list, "initech");
    assert_string_equal(list, "ac globex");
    pat_orgs_remove(list, "ac");
    assert_string_equal(list, "globex");
    pat_orgs_remove(list, "globex");
    assert_string_equal(list, "");
}

static void test_org__where_a_token_is_usable(void **state)
{
    char out[64];

    (void)state;
    /* All of the owner's, or those both name. */
    pat_orgs_usable("acme default globex", "", out, sizeof(out));
    assert_string_equal(out, "acme default globex");
    pat_orgs_usable("acme default globex", "acme initech", out, sizeof(out));
    assert_string_equal(out, "acme");
    pat_orgs_usable("default", "acme", out, sizeof(out));
    assert_string_equal(out, "");
    pat_orgs_usable("", "", out, sizeof(out));
    assert_string_equal(out, "");
    /* Cut at a whole slug when it does not fit. */
    pat_orgs_usable("acme default globex", "", out, 14);
    assert_string_equal(out, "acme default");
    assert_true(pat_orgs_usable_in("acme globex", "", "globex"));
    assert_true(pat_orgs_usable_in("acme globex", "globex", "globex"));
    assert_false(pat_orgs_usable_in("acme globex", "acme", "globex"));
    assert_false(pat_orgs_usable_in("acme", "globex", "globex"));
    assert_false(pat_orgs_usable_in("acme", "", "globex"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_org__slugs),
        cmocka_unit_test(test_org__roles),
        cmocka_unit_test(test_org__lists_stay_sorted_and_unique),
        cmocka_unit_test(test_org__where_a_token_is_usable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
