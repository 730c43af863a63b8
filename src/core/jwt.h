#ifndef PAT_CORE_JWT_H
#define PAT_CORE_JWT_H
/* JWTs (RFC 7519/9068) as patd issues and accepts them: the compact form,
 * strictly parsed (RFC 8725). Pure: no keys, no clock; signing and
 * checking signatures is the service's (service/signing.c). base64url is
 * libsodium's, JSON jansson's. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "util/buf.h"

#define PAT_JWT_MAX 8192    /* longer values are refused unread */
#define PAT_JWT_KID_MAX 64
#define PAT_JWT_SIG_MAX 64  /* ES256 R||S and Ed25519 are both 64 bytes */
#define PAT_JWT_LEEWAY 60   /* seconds of clock skew allowed on exp and nbf */

/* A parsed JWT: its header's alg and kid, its claims (owned), its
 * signature, and how much of the text was signed. */
typedef struct pat_jwt {
    char alg[16];
    char kid[PAT_JWT_KID_MAX + 1];
    json_t *claims;
    uint8_t sig[PAT_JWT_SIG_MAX];
    size_t sig_len;
    size_t signed_len; /* the signing input is the first signed_len bytes */
} pat_jwt;

/* True if s (len bytes) has a JWT's shape (three dot-separated parts, the
 * first starting like a JSON object): the verification path uses it to
 * tell a JWT from a PAT without parsing. Inline, and a PAT is told apart
 * by its first byte: every GET /auth asks. */
static inline bool pat_jwt_shape(const char *s, size_t len)
{
    const char *dot1;

    /* '{"' in base64url begins "eyJ"; a PAT never holds a dot. */
    if (len < 10 || s[0] != 'e' || memcmp(s, "eyJ", 3) != 0 || !(dot1 = memchr(s, '.', len)))
        return false;
    return memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - s)) != NULL;
}

/* Parses a compact JWS strictly: at most PAT_JWT_MAX bytes; three
 * base64url parts without padding, each the canonical encoding of its
 * bytes; a header that is a JSON object with exactly alg, typ ("at+jwt" or
 * "application/at+jwt") and kid ([A-Za-z0-9_-], 1 to 64), so jku, jwk,
 * x5u, x5c, crit and anything else are refused, never followed; claims
 * that are a JSON object without duplicate keys; a 64-byte signature.
 * PAT_EAUTH (message says why) otherwise. out->claims is the caller's
 * (pat_jwt_dispose). */
int pat_jwt_parse(const char *s, size_t len, pat_jwt *out);
void pat_jwt_dispose(pat_jwt *j);

/* What a JWT of patd says, once its claims have passed pat_jwt_check. */
typedef struct pat_jwt_claims {
    int64_t exp, iat, nbf;
    int64_t pat_id;
    int64_t user_id;
    char jti[64];
    char scope[1024];
    char aud[256]; /* the first audience */
} pat_jwt_claims;

/* Checks the claims of patd's JWTs: iss equals issuer; exp in the future
 * and nbf/iat not in the future (PAT_JWT_LEEWAY both ways); aud, when
 * audience is not NULL, equals it or lists it; sub (a person id), pat_id,
 * jti and scope present and well typed. PAT_EAUTH otherwise. */
int pat_jwt_check(const json_t *claims, const char *issuer, const char *audience, int64_t now,
                  pat_jwt_claims *out);

/* Appends base64url(header) "." base64url(claims) to out: the signing
 * input. PAT_EIO if JSON cannot be encoded. */
int pat_jwt_signing_input(const json_t *header, const json_t *claims, pat_buf *out);

/* Appends "." base64url(sig) to out, making the signing input a JWT. */
int pat_jwt_append_signature(pat_buf *out, const uint8_t *sig, size_t sig_len);

/* base64url without padding of n bytes, NUL-terminated into out
 * (outsz >= pat_b64url_len(n) + 1). */
size_t pat_b64url_len(size_t n);
void pat_b64url(char *out, size_t outsz, const uint8_t *in, size_t n);

#endif
