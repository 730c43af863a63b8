/* Tests of src/core/request_rules.c: route rules and client addresses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/request_rules.h"
#include "util/error.h"

static void test_rules__first_match_wins(void **state)
{
    pat_route_rule rules[3];

    (void)state;
    assert_int_equal(pat_route_rule_parse("GET /api/projects/* projects:read", &rules[0]), PAT_OK);
    assert_int_equal(pat_route_rule_parse("* /api/projects/* projects:write", &rules[1]), PAT_OK);
    assert_int_equal(pat_route_rule_parse("POST /admin admin", &rules[2]), PAT_OK);
    assert_string_equal(pat_route_rules_scope(rules, 3, "GET", "/api/projects/7/env"),
                        "projects:read");
    assert_string_equal(pat_route_rules_scope(rules, 3, "DELETE", "/api/projects/7"),
                        "projects:write");
    assert_string_equal(pat_route_rules_scope(rules, 3, "POST", "/admin"), "admin");
    assert_null(pat_route_rules_scope(rules, 3, "GET", "/admin"));
    assert_null(pat_route_rules_scope(rules, 3, "GET", "/other"));
}

static void test_rules__bad_lines(void **state)
{
    pat_route_rule r;

    (void)state;
    assert_int_equal(pat_route_rule_parse("GET /x", &r), PAT_EINVAL);
    assert_int_equal(pat_route_rule_parse("GET x scope", &r), PAT_EINVAL);
    assert_int_equal(pat_route_rule_parse("GET /x bad scope", &r), PAT_EINVAL);
    assert_int_equal(pat_route_rule_parse("GET /x sc@pe", &r), PAT_EINVAL);
}

static pat_cidr_set set(const char *list)
{
    pat_cidr_set s;

    assert_int_equal(pat_cidr_set_parse(&s, list), PAT_OK);
    return s;
}

static void test_client_ip__untrusted_peer_cannot_spoof(void **state)
{
    pat_cidr_set loop = set("127.0.0.1/32"), none = set("");
    char ip[64];

    (void)state;
    pat_client_ip(ip, sizeof(ip), "203.0.113.5", &loop, "1.2.3.4", "5.6.7.8");
    assert_string_equal(ip, "203.0.113.5");
    pat_client_ip(ip, sizeof(ip), "203.0.113.5", &none, "1.2.3.4", "5.6.7.8");
    assert_string_equal(ip, "203.0.113.5");
    pat_client_ip(ip, sizeof(ip), "127.0.0.1", &none, "1.2.3.4", "5.6.7.8");
    assert_string_equal(ip, "127.0.0.1");
}

static void test_client_ip__trusted_proxy_headers(void **state)
{
    pat_cidr_set loop = set("127.0.0.1/32"), two = set("127.0.0.1/32, 10.0.0.0/8");
    char ip[64];

    (void)state;
    pat_client_ip(ip, sizeof(ip), "127.0.0.1", &loop, "198.51.100.7", NULL);
    assert_string_equal(ip, "198.51.100.7");
    /* Right-most untrusted hop; the client-supplied left part is ignored. */
    pat_client_ip(ip, sizeof(ip), "127.0.0.1", &two, NULL, "6.6.6.6, 198.51.100.9, 10.1.1.1");
    assert_string_equal(ip, "198.51.100.9");
    pat_client_ip(ip, sizeof(ip), "127.0.0.1", &loop, "not-an-ip", "garbage");
    assert_string_equal(ip, "127.0.0.1");
    pat_client_ip(ip, sizeof(ip), "::ffff:127.0.0.1", &loop, "198.51.100.8", NULL);
    assert_string_equal(ip, "198.51.100.8");
}

/* org=SLUG: the organization a route needs, with the scope. */
static void test_rules__org(void **state)
{
    pat_route_rule rules[2];
    const pat_route_rule *r;

    (void)state;
    assert_int_equal(pat_route_rule_parse("GET /api/acme/* projects:read org=acme", &rules[0]),
                     PAT_OK);
    assert_string_equal(rules[0].org, "acme");
    assert_int_equal(pat_route_rule_parse("GET /api/* projects:read", &rules[1]), PAT_OK);
    assert_string_equal(rules[1].org, "");
    r = pat_route_rules_match(rules, 2, "GET", "/api/acme/1");
    assert_ptr_equal(r, &rules[0]);
    r = pat_route_rules_match(rules, 2, "GET", "/api/globex/1");
    assert_ptr_equal(r, &rules[1]);
    assert_null(pat_route_rules_match(rules, 2, "POST", "/api/acme/1"));
    assert_int_equal(pat_route_rule_parse("GET /x s org=", &rules[0]), PAT_EINVAL);
    assert_int_equal(pat_route_rule_parse("GET /x s org=Bad", &rules[0]), PAT_EINVAL);
    assert_int_equal(pat_route_rule_parse("GET /x s team=acme", &rules[0]), PAT_EINVAL);
    assert_int_equal(pat_route_rule_parse("GET /x s org=acme extra", &rules[0]), PAT_EINVAL);
}

static void test_cidr_set__parse_errors(void **state)
{
    pat_cidr_set s;

    (void)state;
    assert_int_equal(pat_cidr_set_parse(&s, "10.0.0.0/8 nonsense"), PAT_EINVAL);
    assert_int_equal(pat_cidr_set_parse(&s, " , "), PAT_OK);
    assert_int_equal(s.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules__first_match_wins),
        cmocka_unit_test(test_rules__bad_lines),
        cmocka_unit_test(test_rules__org),
        cmocka_unit_test(test_client_ip__untrusted_peer_cannot_spoof),
        cmocka_unit_test(test_client_ip__trusted_proxy_headers),
        cmocka_unit_test(test_cidr_set__parse_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
