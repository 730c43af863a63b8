/* core/jwt.c: the strict parse of RFC 8725 and the claims of patd's JWTs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "core/jwt.h"
#include "util/error.h"

static const uint8_t sig64[64] = {1, 2, 3};

/* A JWT of header and claims (JSON texts) with a dummy 64-byte signature. */
static char *make(const char *header, const char *claims)
{
    json_t *h = json_loads(header, JSON_DECODE_ANY, NULL), *c = json_loads(claims, 0, NULL);
    pat_buf b;
    char *out;

    assert_non_null(h);
    assert_non_null(c);
    pat_buf_init(&b, PAT_JWT_MAX * 2);
    assert_int_equal(pat_jwt_signing_input(h, c, &b), PAT_OK);
    assert_int_equal(pat_jwt_append_signature(&b, sig64, sizeof(sig64)), PAT_OK);
    out = strdup(b.data);
    pat_buf_dispose(&b);
    json_decref(h);
    json_decref(c);
    return out;
}

static int parse(const char *s)
{
    pat_jwt j;
    int rc = pat_jwt_parse(s, strlen(s), &j);

    if (rc == PAT_OK)
        pat_jwt_dispose(&j);
    return rc;
}

#define GOOD_HEADER "{\"alg\":\"ES256\",\"typ\":\"at+jwt\",\"kid\":\"k1\"}"
#define GOOD_CLAIMS                                                                                \
    "{\"iss\":\"https://p\",\"sub\":\"7\",\"aud\":\"https://p\",\"exp\":2000,\"iat\":1000,"        \
    "\"nbf\":1000,\"jti\":\"j\",\"scope\":\"tokens\",\"pat_id\":3}"

static void test_jwt__round_trip(void **state)
{
    char *s = make(GOOD_HEADER, GOOD_CLAIMS);
    pat_jwt j;
    pat_jwt_claims c;

    (void)state;
    assert_true(pat_jwt_shape(s, strlen(s)));
    assert_false(pat_jwt_shape("pat_abc", 7));
    assert_int_equal(pat_jwt_parse(s, strlen(s), &j), PAT_OK);
    assert_string_equal(j.alg, "ES256");
    assert_string_equal(j.kid, "k1");
    assert_int_equal(j.sig_len, 64);
    assert_memory_equal(j.sig, sig64, 64);
    assert_int_equal(s[j.signed_len], '.');
    assert_int_equal(pat_jwt_check(j.claims, "https://p", "https://p", 1500, &c), PAT_OK);
    assert_int_equal(c.user_id, 7);
    assert_int_equal(c.pat_id, 3);
    assert_string_equal(c.scope, "tokens");
    pat_jwt_dispose(&j);
    free(s);
}

static void test_jwt__hostile_headers_are_refused(void **state)
{
    static const char *const headers[] = {
        "{\"alg\":\"none\",\"typ\":\"at+jwt\"}",
        "{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"k1\"}",
        "{\"alg\":\"ES256\",\"typ\":\"at+jwt\",\"kid\":\"../../etc/passwd\"}",
        "{\"alg\":\"ES256\",\"typ\":\"at+jwt\",\"kid\":\"k1\",\"jku\":\"https://evil/jwks\"}",
        "{\"alg\":\"ES256\",\"typ\":\"at+jwt\",\"kid\":\"k1\",\"jwk\":{\"kty\":\"EC\"}}",
        "{\"alg\":\"ES256\",\"typ\":\"at+jwt\",\"kid\":\"k1\",\"x5u\":\"https://evil\"}",
        "{\"alg\":\"ES256\",\"typ\":\"at+jwt\",\"kid\":\"k1\",\"crit\":[\"exp\"]}",
        "{\"alg\":\"ES256\",\"typ\":\"at+jwt\",\"kid\":7}",
        "[1,2]",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
        char *s = make(headers[i], GOOD_CLAIMS);
        assert_int_equal(parse(s), PAT_EAUTH);
        free(s);
    }
}

static void test_jwt__bad_forms_are_refused(void **state)
{
    char *s = make(GOOD_HEADER, GOOD_CLAIMS), *big;
    char *dup = make(GOOD_HEADER, GOOD_CLAIMS);
    size_t n = strlen(s);

    (void)state;
    /* Truncated signature, a fourth part, padding, a re-encoded last char. */
    s[n - 3] = '\0';
    assert_int_equal(parse(s), PAT_EAUTH);
    free(s);
    s = make(GOOD_HEADER, GOOD_CLAIMS);
    big = calloc(1, n + 8);
    snprintf(big, n + 8, "%s.xx", s);
    assert_int_equal(parse(big), PAT_EAUTH);
    snprintf(big, n + 8, "%s=", s);
    assert_int_equal(parse(big), PAT_EAUTH);
    free(big);
    /* The last character of the signature carries 2 spare bits: a
     * different character can decode to the same bytes; refused. */
    dup[n - 1] = dup[n - 1] == 'A' ? 'B' : 'A';
    assert_int_equal(parse(dup), PAT_EAUTH);
    /* Too long, whatever it holds. */
    big = malloc(PAT_JWT_MAX + 10);
    memset(big, 'a', PAT_JWT_MAX + 9);
    big[PAT_JWT_MAX + 9] = '\0';
    memcpy(big, s, n);
    assert_int_equal(parse(big), PAT_EAUTH);
    free(big);
    free(s);
    free(dup);
    /* Duplicate claim names. */
    {
        pat_jwt j;
        const char *hdr = "eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6ImsxIn0";
        char claims[64], sig[100], jwt[400];
        const char *text = "{\"a\":1,\"a\":2}";
        sodium_bin2base64(claims, sizeof(claims), (const uint8_t *)text, strlen(text),
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        sodium_bin2base64(sig, sizeof(sig), sig64, 64, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        snprintf(jwt, sizeof(jwt), "%s.%s.%s", hdr, claims, sig);
        assert_int_equal(pat_jwt_parse(jwt, strlen(jwt), &j), PAT_EAUTH);
    }
}

static void test_jwt__claims_are_checked(void **state)
{
    char *s = make(GOOD_HEADER, GOOD_CLAIMS);
    pat_jwt j;
    pat_jwt_claims c;

    (void)state;
    assert_int_equal(pat_jwt_parse(s, strlen(s), &j), PAT_OK);
    assert_int_equal(pat_jwt_check(j.claims, "https://other", NULL, 1500, &c), PAT_EAUTH);
    assert_int_equal(pat_jwt_check(j.claims, "https://p", "https://billing", 1500, &c), PAT_EAUTH);
    assert_int_equal(pat_jwt_check(j.claims, "https://p", NULL, 1500, &c), PAT_OK);
    /* 60 s of leeway, no more. */
    assert_int_equal(pat_jwt_check(j.claims, "https://p", NULL, 2059, &c), PAT_OK);
    assert_int_equal(pat_jwt_check(j.claims, "https://p", NULL, 2060, &c), PAT_EAUTH);
    assert_int_equal(pat_jwt_check(j.claims, "https://p", NULL, 941, &c), PAT_OK);
    assert_int_equal(pat_jwt_check(j.claims, "https://p", NULL, 939, &c), PAT_EAUTH);
    pat_jwt_dispose(&j);
    free(s);
    s = make(GOOD_HEADER, "{\"iss\":\"https://p\",\"sub\":\"x\",\"aud\":[\"a\",\"https://p\"],"
                          "\"exp\":2000,\"iat\":1000,\"nbf\":1000,\"jti\":\"j\",\"scope\":\"t\","
                          "\"pat_id\":3}");
    assert_int_equal(pat_jwt_parse(s, strlen(s), &j), PAT_OK);
    assert_int_equal(pat_jwt_check(j.claims, "https://p", "https://p", 1500, &c), PAT_EAUTH);
    pat_jwt_dispose(&j);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jwt__round_trip),
        cmocka_unit_test(test_jwt__hostile_headers_are_refused),
        cmocka_unit_test(test_jwt__bad_forms_are_refused),
        cmocka_unit_test(test_jwt__claims_are_checked),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
