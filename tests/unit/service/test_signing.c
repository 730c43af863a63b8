/* service/signing.c: ES256 (OpenSSL) and EdDSA (libsodium) keys, sealed
 * under the server key, signatures in JOSE's form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "service/signing.h"
#include "util/error.h"

static void round_trip(bool eddsa)
{
    uint8_t server_key[PAT_KEY_LEN], other_key[PAT_KEY_LEN], sealed[PAT_SEALED_MAX], sig[64];
    const uint8_t msg[] = "header.claims";
    pat_sign_key k, opened;
    size_t n = 0;

    randombytes_buf(server_key, sizeof(server_key));
    randombytes_buf(other_key, sizeof(other_key));
    assert_int_equal(pat_sign_key_generate(eddsa, &k), PAT_OK);
    assert_int_equal(strlen(k.kid), PAT_KID_LEN);
    assert_string_equal(pat_sign_key_alg(&k), eddsa ? "EdDSA" : "ES256");
    assert_int_equal(pat_sign(&k, msg, sizeof(msg), sig), PAT_OK);
    assert_int_equal(pat_sign_verify(&k, msg, sizeof(msg), sig), PAT_OK);
    sig[10] ^= 1;
    assert_int_equal(pat_sign_verify(&k, msg, sizeof(msg), sig), PAT_EAUTH);
    sig[10] ^= 1;
    assert_int_equal(pat_sign_verify(&k, msg, sizeof(msg) - 1, sig), PAT_EAUTH);
    /* Sealed: no plain private key in it; opens only with the server key
     * and the kid it was made with; the opened key verifies the old
     * signature. */
    assert_int_equal(pat_sign_key_seal(&k, server_key, sealed, &n), PAT_OK);
    if (eddsa)
        assert_null(memmem(sealed, n, k.ed_sk, 32));
    assert_int_equal(pat_sign_key_open(k.kid, eddsa, sealed, n, other_key, &opened), PAT_EIO);
    assert_int_equal(pat_sign_key_open("another-kid", eddsa, sealed, n, server_key, &opened),
                     PAT_EIO);
    assert_int_equal(pat_sign_key_open(k.kid, eddsa, sealed, n, server_key, &opened), PAT_OK);
    assert_int_equal(pat_sign_verify(&opened, msg, sizeof(msg), sig), PAT_OK);
    assert_true(json_equal(k.jwk, opened.jwk));
    assert_null(json_object_get(k.jwk, "d")); /* never the private part */
    pat_sign_key_dispose(&opened);
    pat_sign_key_dispose(&k);
}

static void test_signing__es256(void **state)
{
    (void)state;
    round_trip(false);
}

static void test_signing__eddsa(void **state)
{
    (void)state;
    round_trip(true);
}

/* A signature of one key never verifies with another. */
static void test_signing__other_key_refuses(void **state)
{
    pat_sign_key a, b;
    uint8_t sig[64];

    (void)state;
    assert_int_equal(pat_sign_key_generate(false, &a), PAT_OK);
    assert_int_equal(pat_sign_key_generate(false, &b), PAT_OK);
    assert_int_equal(pat_sign(&a, (const uint8_t *)"m", 1, sig), PAT_OK);
    assert_int_equal(pat_sign_verify(&b, (const uint8_t *)"m", 1, sig), PAT_EAUTH);
    assert_string_not_equal(a.kid, b.kid);
    pat_sign_key_dispose(&a);
    pat_sign_key_dispose(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signing__es256),
        cmocka_unit_test(test_signing__eddsa),
        cmocka_unit_test(test_signing__other_key_refuses),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
