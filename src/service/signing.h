#ifndef PAT_SERVICE_SIGNING_H
#define PAT_SERVICE_SIGNING_H
/* Signing keys of exchanged JWTs (DESIGN.md "JWTs without a JOSE
 * library"): ES256 through OpenSSL's libcrypto (its DER signatures turned
 * into JOSE's 64-byte R||S and back), EdDSA through libsodium's Ed25519.
 * Private keys leave this file only sealed (crypto_secretbox under a key
 * derived from the server key with crypto_kdf). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/token.h"

#define PAT_KID_LEN 43 /* base64url of a SHA-256: the RFC 7638 thumbprint */
#define PAT_SEALED_MAX 512

typedef struct pat_sign_key {
    char kid[PAT_KID_LEN + 1];
    bool eddsa;             /* else ES256 */
    int64_t created_at;
    int64_t activates_at;   /* signs from then on (until a newer key does) */
    void *ec;               /* ES256: OpenSSL's EVP_PKEY */
    void *sign_ctx;         /* ES256: an EVP_MD_CTX set up to sign with ec, copied per
                               signature (setting one up each time cost half of it) */
    uint8_t ed_sk[64];      /* EdDSA: libsodium's secret key (seed and public key) */
    json_t *jwk;            /* the public JWK (kty, crv, x[, y], kid, alg, use) */
} pat_sign_key;

/* A new key pair; kid is its RFC 7638 thumbprint. out is disposed with
 * pat_sign_key_dispose. */
int pat_sign_key_generate(bool eddsa, pat_sign_key *out);
void pat_sign_key_dispose(pat_sign_key *k);

/* The private key sealed under server_key into out (room for
 * PAT_SEALED_MAX), *n its length; and back. open fills every field but the
 * times, and checks that the key it finds has kid. */
int pat_sign_key_seal(const pat_sign_key *k, const uint8_t server_key[PAT_KEY_LEN], uint8_t *out,
                      size_t *n);
int pat_sign_key_open(const char *kid, bool eddsa, const uint8_t *sealed, size_t n,
                      const uint8_t server_key[PAT_KEY_LEN], pat_sign_key *out);

/* JOSE's "alg" of k. */
const char *pat_sign_key_alg(const pat_sign_key *k);

/* Signs msg into sig (64 bytes). */
int pat_sign(const pat_sign_key *k, const uint8_t *msg, size_t n, uint8_t sig[64]);

/* PAT_OK if sig (64 bytes) is k's signature of msg; PAT_EAUTH if not. */
int pat_sign_verify(const pat_sign_key *k, const uint8_t *msg, size_t n, const uint8_t sig[64]);

#endif
