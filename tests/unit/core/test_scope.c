/* Tests of src/core/scope.c: catalog, canonical lists, role and subset rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/scope.h"
#include "util/error.h"

static pat_catalog *catalog(void)
{
    pat_catalog *c = calloc(1, sizeof(*c));

    pat_catalog_init(c);
    assert_int_equal(pat_catalog_add_scope(c, "repo:read", "Read repos", PAT_ROLES_ALL), PAT_OK);
    assert_int_equal(pat_catalog_add_scope(c, "env.Stop", "Stop envs", PAT_ROLE_SUPERUSER),
                     PAT_OK);
    return c;
}

static void test_scope__builtins_present(void **state)
{
    pat_catalog *c = catalog();

    (void)state;
    assert_non_null(pat_catalog_find(c, "tokens"));
    assert_non_null(pat_catalog_find(c, "introspect"));
    assert_int_equal(pat_catalog_find(c, "admin")->roles, PAT_ROLE_SUPERUSER);
    assert_null(pat_catalog_find(c, "nope"));
    free(c);
}

static void test_scope__canonical_dedups_and_orders(void **state)
{
    pat_catalog *c = catalog();
    const char *names[] = {"repo:read", "tokens", "repo:read"};
    char out[PAT_SCOPES_STR_MAX];

    (void)state;
    assert_int_equal(pat_scopes_canonical(c, names, 3, out), PAT_OK);
    assert_string_equal(out, "tokens repo:read");
    free(c);
}

static void test_scope__unknown_scope_rejected(void **state)
{
    pat_catalog *c = catalog();
    const char *names[] = {"tokens", "repo:write"};
    char out[PAT_SCOPES_STR_MAX];

    (void)state;
    assert_int_equal(pat_scopes_canonical(c, names, 2, out), PAT_EINVAL);
    assert_string_equal(pat_error_last()->field, "scopes");
    assert_non_null(strstr(pat_error_last()->message, "repo:write"));
    free(c);
}

static void test_scope__has_matches_whole_words(void **state)
{
    (void)state;
    assert_true(pat_scopes_has("tokens repo:read", "repo:read"));
    assert_false(pat_scopes_has("tokens repo:read", "repo"));
    assert_false(pat_scopes_has("tokens", "token"));
    assert_false(pat_scopes_has("", "tokens"));
}

static void test_scope__role_ceiling(void **state)
{
    pat_catalog *c = catalog();

    (void)state;
    assert_int_equal(pat_scopes_check_role(c, "tokens repo:read", PAT_ROLE_MEMBER), PAT_OK);
    assert_int_equal(pat_scopes_check_role(c, "tokens admin", PAT_ROLE_MEMBER), PAT_EFORBIDDEN);
    assert_non_null(strstr(pat_error_last()->message, "admin"));
    assert_int_equal(pat_scopes_check_role(c, "env.Stop", PAT_ROLE_MEMBER), PAT_EFORBIDDEN);
    assert_int_equal(pat_scopes_check_role(c, "admin env.Stop", PAT_ROLE_SUPERUSER), PAT_OK);
    free(c);
}

static void test_scope__subset(void **state)
{
    (void)state;
    assert_int_equal(pat_scopes_check_subset("tokens", "tokens repo:read"), PAT_OK);
    assert_int_equal(pat_scopes_check_subset("tokens admin", "tokens repo:read"),
                     PAT_EFORBIDDEN);
}

static void test_scope__sets(void **state)
{
    pat_catalog *c = catalog();

    (void)state;
    assert_int_equal(pat_catalog_add_set(c, "Extended Access", "", "repo:read tokens"), PAT_OK);
    assert_string_equal(pat_catalog_find_set(c, "Extended Access")->scopes, "tokens repo:read");
    assert_int_equal(pat_catalog_add_set(c, "Bad", "", "tokens nope"), PAT_EINVAL);
    assert_int_equal(pat_catalog_add_set(c, "Extended Access", "", "tokens"), PAT_EEXISTS);
    assert_int_equal(pat_catalog_add_set(c, "Empty", "", ""), PAT_EINVAL);
    free(c);
}

static void test_scope__name_shape(void **state)
{
    pat_catalog *c = catalog();

    (void)state;
    assert_int_equal(pat_catalog_add_scope(c, "has space", "", PAT_ROLES_ALL), PAT_EINVAL);
    assert_int_equal(pat_catalog_add_scope(c, "", "", PAT_ROLES_ALL), PAT_EINVAL);
    assert_int_equal(pat_catalog_add_scope(c, "x", "", 0), PAT_EINVAL);
    assert_int_equal(pat_catalog_add_scope(c, "tokens", "", PAT_ROLES_ALL), PAT_EEXISTS);
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scope__builtins_present),
        cmocka_unit_test(test_scope__canonical_dedups_and_orders),
        cmocka_unit_test(test_scope__unknown_scope_rejected),
        cmocka_unit_test(test_scope__has_matches_whole_words),
        cmocka_unit_test(test_scope__role_ceiling),
        cmocka_unit_test(test_scope__subset),
        cmocka_unit_test(test_scope__sets),
        cmocka_unit_test(test_scope__name_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
