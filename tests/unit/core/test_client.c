/* core/client.c: how new-client alerts tell a token's clients apart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "core/client.h"

static void describe(const char *ip, const char *ua, const char *want_net, const char *want_prod)
{
    char net[PAT_CLIENT_NETWORK_MAX], prod[PAT_CLIENT_PRODUCT_MAX];

    pat_client_describe(ip, ua, net, prod);
    assert_string_equal(net, want_net);
    assert_string_equal(prod, want_prod);
}

static void test_client__networks_and_products(void **state)
{
    (void)state;
    describe("10.0.0.7", "curl/8.5.0", "10.0.0.0/24", "curl");
    describe("::ffff:10.0.0.200", "curl/8.5.0", "10.0.0.0/24", "curl");
    describe("2001:db8:1:2:aaaa::1", "python-requests/2.31", "2001:db8:1:2::/64",
             "python-requests");
    describe("2001:db8::1", "Mozilla/5.0 (X11; Linux x86_64)", "2001:db8::/64", "Mozilla");
    describe("not an address", NULL, "unknown", "");
    describe(NULL, "Go-http-client/1.1", "unknown", "Go-http-client");
    describe("192.0.2.1", "(bad)", "192.0.2.0/24", "");
}

static void test_client__fingerprint_is_per_network_and_product(void **state)
{
    uint8_t key[16] = {1, 2, 3};
    uint32_t a = pat_client_fingerprint(key, "10.0.0.1", "curl/8");

    (void)state;
    assert_int_not_equal(a, 0);
    /* Same /24 and product: the same client. */
    assert_int_equal(a, pat_client_fingerprint(key, "10.0.0.99", "curl/7.1"));
    assert_int_equal(a, pat_client_fingerprint(key, "::ffff:10.0.0.3", "curl"));
    assert_int_not_equal(a, pat_client_fingerprint(key, "10.0.1.1", "curl/8"));
    assert_int_not_equal(a, pat_client_fingerprint(key, "10.0.0.1", "wget/1"));
    assert_int_not_equal(pat_client_fingerprint(key, "2001:db8::1", "x"),
                         pat_client_fingerprint(key, "2001:db8:0:1::1", "x"));
    assert_int_equal(pat_client_fingerprint(key, "2001:db8::1", "x"),
                     pat_client_fingerprint(key, "2001:db8::ffff:1", "x"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client__networks_and_products),
        cmocka_unit_test(test_client__fingerprint_is_per_network_and_product),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
