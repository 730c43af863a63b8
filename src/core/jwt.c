#include "core/jwt.h"

#include <string.h>

#include <sodium.h>

#include "util/error.h"

#define B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING

size_t pat_b64url_len(size_t n)
{
    return sodium_base64_encoded_len(n, B64) - 1;
}

void pat_b64url(char *out, size_t outsz, const uint8_t *in, size_t n)
{
    sodium_bin2base64(out, outsz, in, n, B64);
}

/* Decodes one part into out (room for outsz), refusing anything but the
 * one canonical encoding of the bytes (so no two texts carry one
 * signature). */
static int decode_part(const char *s, size_t len, uint8_t *out, size_t outsz, size_t *n)
{
    char again[PAT_JWT_MAX + 4];
    const char *end = NULL;

    if (len == 0 || sodium_base642bin(out, outsz, s, len, NULL, n, &end, B64) != 0 ||
        end != s + len || pat_b64url_len(*n) != len)
        return pat_error_set(PAT_EAUTH, NULL, "the token is not valid (bad encoding)");
    sodium_bin2base64(again, sizeof(again), out, *n, B64);
    if (memcmp(again, s, len) != 0)
        return pat_error_set(PAT_EAUTH, NULL, "the token is not valid (bad encoding)");
    return PAT_OK;
}

static json_t *decode_json(const char *s, size_t len)
{
    uint8_t raw[PAT_JWT_MAX];
    size_t n = 0;
    json_t *j;

    if (decode_part(s, len, raw, sizeof(raw), &n) < 0)
        return NULL;
    j = json_loadb((const char *)raw, n, JSON_REJECT_DUPLICATES, NULL);
    if (j && !json_is_object(j)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static bool kid_ok(const char *kid)
{
    size_t n = strlen(kid);

    if (n == 0 || n > PAT_JWT_KID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = kid[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

/* The header: exactly alg, typ and kid, nothing a verifier could be told
 * to fetch or trust (jku, jwk, x5u, x5c) or to understand (crit). */
static int check_header(json_t *h, pat_jwt *out)
{
    const char *alg = json_string_value(json_object_get(h, "alg"));
    const char *typ = json_string_value(json_object_get(h, "typ"));
    const char *kid = json_string_value(json_object_get(h, "kid"));

    if (json_object_size(h) != 3 || !alg || !typ || !kid)
        return pat_error_set(PAT_EAUTH, NULL,
                             "the token is not valid (its header must hold alg, typ and kid only)");
    if (strcmp(typ, "at+jwt") != 0 && strcmp(typ, "application/at+jwt") != 0)
        return pat_error_set(PAT_EAUTH, NULL, "the token is not valid (typ is not at+jwt)");
    if (!kid_ok(kid))
        return pat_error_set(PAT_EAUTH, NULL, "the token is not valid (bad kid)");
    if (strlen(alg) >= sizeof(out->alg))
        return pat_error_set(PAT_EAUTH, NULL, "the token is not valid (bad alg)");
    memcpy(out->alg, alg, strlen(alg) + 1);
    memcpy(out->kid, kid, strlen(kid) + 1);
    return PAT_OK;
}

int pat_jwt_parse(const char *s, size_t len, pat_jwt *out)
{
    const char *dot1, *dot2;
    json_t *header = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    if (len > PAT_JWT_MAX)
        return pat_error_set(PAT_EAUTH, NULL, "the token is not valid (too long)");
    if (!(dot1 = memchr(s, '.', len)) ||
        !(dot2 = memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - s))) ||
        memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - s)))
        return pat_error_set(PAT_EAUTH, NULL, "the token is not valid (not three parts)");
    if (!(header = decode_json(s, (size_t)(dot1 - s)))) {
        rc = pat_error_set(PAT_EAUTH, NULL, "the token is not valid (bad header)");
        goto fail;
    }
    if ((rc = check_header(header, out)) < 0)
        goto fail;
    if (!(out->claims = decode_json(dot1 + 1, (size_t)(dot2 - dot1 - 1)))) {
        rc = pat_error_set(PAT_EAUTH, NULL, "the token is not valid (bad claims)");
        goto fail;
    }
    if ((rc = decode_part(dot2 + 1, len - (size_t)(dot2 + 1 - s), out->sig, sizeof(out->sig),
                          &out->sig_len)) < 0)
        goto fail;
    if (out->sig_len != PAT_JWT_SIG_MAX) {
        rc = pat_error_set(PAT_EAUTH, NULL, "the token is not valid (bad signature length)");
        goto fail;
    }
    out->signed_len = (size_t)(dot2 - s);
    json_decref(header);
    return PAT_OK;
fail:
    json_decref(header);
    pat_jwt_dispose(out);
    return rc;
}

void pat_jwt_dispose(pat_jwt *j)
{
    json_decref(j->claims);
    j->claims = NULL;
    sodium_memzero(j->sig, sizeof(j->sig));
}

static int text_claim(const json_t *claims, const char *name, char *out, size_t outsz)
{
    const char *v = json_string_value(json_object_get(claims, name));

    if (!v || strlen(v) >= outsz)
        return pat_error_set(PAT_EAUTH, NULL, "the token is not valid (bad %s)", name);
    memcpy(out, v, strlen(v) + 1);
    return PAT_OK;
}

static bool audience_matches(const json_t *aud, const char *want, char *first, size_t firstsz)
{
    size_t i;
    json_t *v;

    if (json_is_string(aud)) {
        snprintf(first, firstsz, "%s", json_string_value(aud));
        return !want || strcmp(json_string_value(aud), want) == 0;
    }
    if (!json_is_array(aud) || json_array_size(aud) == 0)
        return false;
    json_array_foreach(aud, i, v) {
        if (!json_is_string(v))
            return false;
    }
    snprintf(first, firstsz, "%s", json_string_value(json_array_get(aud, 0)));
    if (!want)
        return true;
    json_array_foreach(aud, i, v) {
        if (strcmp(json_string_value(v), want) == 0)
            return true;
    }
    return false;
}

int pat_jwt_check(const json_t *claims, const char *issuer, const char *audience, int64_t now,
                  pat_jwt_claims *out)
{
    const char *iss = json_string_value(json_object_get(claims, "iss"));
    const json_t *exp = json_object_get(claims, "exp"), *iat = json_object_get(claims, "iat"),
                 *nbf = json_object_get(claims, "nbf"), *pat = json_object_get(claims, "pat_id");
    char sub[24], *end = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    if (!iss || strcmp(iss, issuer) != 0)
        return pat_error_set(PAT_EAUTH, NULL, "the token is not valid (wrong issuer)");
    if (!json_is_integer(exp) || !json_is_integer(iat) || !json_is_integer(nbf) ||
        !json_is_integer(pat))
        return pat_error_set(PAT_EAUTH, NULL, "the token is not valid (bad times)");
    out->exp = json_integer_value(exp);
    out->iat = json_integer_value(iat);
    out->nbf = json_integer_value(nbf);
    out->pat_id = json_integer_value(pat);
    if (now >= out->exp + PAT_JWT_LEEWAY)
        return pat_error_set(PAT_EAUTH, NULL, "the token has expired");
    if (out->nbf > now + PAT_JWT_LEEWAY || out->iat > now + PAT_JWT_LEEWAY)
        return pat_error_set(PAT_EAUTH, NULL, "the token is not valid yet");
    if (!audience_matches(json_object_get(claims, "aud"), audience, out->aud, sizeof(out->aud)))
        return pat_error_set(PAT_EAUTH, NULL, "the token is not for this audience");
    if ((rc = text_claim(claims, "sub", sub, sizeof(sub))) < 0 ||
        (rc = text_claim(claims, "jti", out->jti, sizeof(out->jti))) < 0 ||
        (rc = text_claim(claims, "scope", out->scope, sizeof(out->scope))) < 0)
        return rc;
    out->user_id = strtoll(sub, &end, 10);
    if (!*sub || *end || out->user_id <= 0 || out->pat_id <= 0)
        return pat_error_set(PAT_EAUTH, NULL, "the token is not valid (bad sub)");
    return PAT_OK;
}

static int append_json(pat_buf *out, const json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT);
    char *b64;
    size_t n, blen;
    int rc;

    if (!text)
        return pat_error_set(PAT_EIO, NULL, "cannot encode JSON");
    n = strlen(text);
    blen = pat_b64url_len(n) + 1;
    b64 = malloc(blen);
    if (!b64) {
        free(text);
        return pat_error_set(PAT_EIO, NULL, "out of memory");
    }
    pat_b64url(b64, blen, (const uint8_t *)text, n);
    rc = pat_buf_append(out, b64, blen - 1);
    free(b64);
    free(text);
    return rc;
}

int pat_jwt_signing_input(const json_t *header, const json_t *claims, pat_buf *out)
{
    int rc;

    if ((rc = append_json(out, header)) < 0 || (rc = pat_buf_append(out, ".", 1)) < 0)
        return rc;
    return append_json(out, claims);
}

int pat_jwt_append_signature(pat_buf *out, const uint8_t *sig, size_t sig_len)
{
    char b64[PAT_JWT_SIG_MAX * 2];
    int rc;

    if (sig_len > PAT_JWT_SIG_MAX)
        return pat_error_set(PAT_EINVAL, NULL, "signature too long");
    pat_b64url(b64, sizeof(b64), sig, sig_len);
    if ((rc = pat_buf_append(out, ".", 1)) < 0)
        return rc;
    return pat_buf_append(out, b64, strlen(b64));
}
