/* Tests of src/core/config.c: the configuration file format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/config.h"
#include "util/error.h"

static int parse(pat_config *cfg, const char *text)
{
    pat_config_defaults(cfg);
    return pat_config_parse(cfg, text, strlen(text));
}

static void test_config__defaults(void **state)
{
    pat_config *cfg = calloc(1, sizeof(*cfg));

    (void)state;
    pat_config_defaults(cfg);
    assert_string_equal(cfg->listen, "127.0.0.1:8080");
    assert_string_equal(cfg->data_dir, "./var");
    assert_string_equal(cfg->token_prefix, "pat_");
    assert_int_equal(cfg->audit_retention_days, 400);
    assert_int_equal(cfg->auth_fail_exempt.n, 0);
    assert_int_equal(pat_config_set(cfg, "auth_fail_exempt", "10.0.0.0/8 2001:db8::/32"), PAT_OK);
    assert_int_equal(cfg->auth_fail_exempt.n, 2);
    assert_int_equal(pat_config_set(cfg, "auth_fail_exempt", "10.0.0.0/33"), PAT_EINVAL);
    /* New-client and canary alerts. */
    assert_int_equal(cfg->new_client_learning_seconds, 86400);
    assert_int_equal(cfg->new_client_alert_interval_seconds, 3600);
    assert_int_equal(cfg->canary_alert_interval_seconds, 600);
    assert_int_equal(pat_config_set(cfg, "new_client_learning_seconds", "0"), PAT_OK);
    assert_int_equal(cfg->new_client_learning_seconds, 0);
    assert_int_equal(pat_config_set(cfg, "new_client_alert_interval_seconds", "-1"), PAT_EINVAL);
    assert_int_equal(pat_config_set(cfg, "canary_alert_interval_seconds", "x"), PAT_EINVAL);
    assert_false(cfg->alert_on_new_scope);
    assert_int_equal(pat_config_set(cfg, "alert_on_new_scope", "true"), PAT_OK);
    assert_true(cfg->alert_on_new_scope);
    assert_int_equal(pat_config_set(cfg, "alert_on_new_scope", "yes"), PAT_EINVAL);
    free(cfg);
}

static void test_config__reads_keys_scopes_and_sets(void **state)
{
    pat_config *cfg = calloc(1, sizeof(*cfg));
    const char *text = "# comment\n"
                       "listen = 0.0.0.0:9000\n"
                       "token_prefix = acme_\n"
                       "[set CI]\n"
                       "scopes = projects:read tokens\n"
                       "[scope projects:read]\n"
                       "description = Read projects\n"
                       "roles = member, superuser\n"
                       "[scope env.control.StopEnv]\n"
                       "roles = superuser\n";

    (void)state;
    assert_int_equal(parse(cfg, text), PAT_OK);
    assert_string_equal(cfg->listen, "0.0.0.0:9000");
    assert_string_equal(cfg->token_prefix, "acme_");
    assert_string_equal(pat_catalog_find(&cfg->catalog, "projects:read")->description,
                        "Read projects");
    assert_int_equal(pat_catalog_find(&cfg->catalog, "env.control.StopEnv")->roles,
                     PAT_ROLE_SUPERUSER);
    /* A set may name a scope defined further down. */
    assert_string_equal(pat_catalog_find_set(&cfg->catalog, "CI")->scopes,
                        "tokens projects:read");
    free(cfg);
}

static void test_config__errors_name_the_line(void **state)
{
    pat_config *cfg = calloc(1, sizeof(*cfg));

    (void)state;
    assert_int_equal(parse(cfg, "listen = x:1\nbogus = 1\n"), PAT_EINVAL);
    assert_non_null(strstr(pat_error_last()->message, "line 2"));
    assert_int_equal(parse(cfg, "[scope a]\nroles = king\n"), PAT_EINVAL);
    assert_non_null(strstr(pat_error_last()->message, "line 2"));
    assert_int_equal(parse(cfg, "[set S]\nscopes = missing\n"), PAT_EINVAL);
    assert_int_equal(parse(cfg, "[scope a\n"), PAT_EINVAL);
    assert_int_equal(parse(cfg, "no equals sign\n"), PAT_EINVAL);
    assert_int_equal(parse(cfg, "token_prefix = bad-prefix\n"), PAT_EINVAL);
    assert_int_equal(parse(cfg, "[scope tokens]\n"), PAT_EINVAL);
    free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config__defaults),
        cmocka_unit_test(test_config__reads_keys_scopes_and_sets),
        cmocka_unit_test(test_config__errors_name_the_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
