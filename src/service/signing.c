/* Signing keys: generation, sealing, JWK export, signatures. See
 * signing.h. Nothing here logs or returns a private key. */
#include "service/signing.h"

#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "core/jwt.h"
#include "util/error.h"

#define KDF_CONTEXT "patdkeys" /* crypto_kdf contexts are 8 bytes */
#define KDF_ID 1
#define EC_COORD 32            /* P-256 coordinates and scalars */
#define DER_MAX 256

const char *pat_sign_key_alg(const pat_sign_key *k)
{
    return k->eddsa ? "EdDSA" : "ES256";
}

static void b64(char *out, size_t outsz, const uint8_t *in, size_t n)
{
    pat_b64url(out, outsz, in, n);
}

/* The public JWK and, from its required members in lexicographic order
 * without spaces, the RFC 7638 thumbprint as kid. */
static int make_jwk(pat_sign_key *k, const uint8_t *x, const uint8_t *y)
{
    char xs[64], ys[64], canon[256];
    uint8_t digest[crypto_hash_sha256_BYTES];

    b64(xs, sizeof(xs), x, k->eddsa ? crypto_sign_PUBLICKEYBYTES : EC_COORD);
    if (k->eddsa) {
        snprintf(canon, sizeof(canon), "{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"%s\"}", xs);
    } else {
        b64(ys, sizeof(ys), y, EC_COORD);
        snprintf(canon, sizeof(canon),
                 "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", xs, ys);
    }
    crypto_hash_sha256(digest, (const uint8_t *)canon, strlen(canon));
    b64(k->kid, sizeof(k->kid), digest, sizeof(digest));
    json_decref(k->jwk);
    k->jwk = k->eddsa ? json_pack("{ss ss ss ss ss ss}", "kty", "OKP", "crv", "Ed25519", "x", xs,
                                  "kid", k->kid, "alg", "EdDSA", "use", "sig")
                      : json_pack("{ss ss ss ss ss ss ss}", "kty", "EC", "crv", "P-256", "x", xs,
                                  "y", ys, "kid", k->kid, "alg", "ES256", "use", "sig");
    return k->jwk ? PAT_OK : pat_error_set(PAT_EIO, NULL, "cannot build a JWK");
}

/* The EC public point's coordinates, 32 bytes each. */
static int ec_coords(EVP_PKEY *pkey, uint8_t x[EC_COORD], uint8_t y[EC_COORD])
{
    BIGNUM *bx = NULL, *by = NULL;
    int ok = EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &bx) == 1 &&
             EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &by) == 1 &&
             BN_bn2binpad(bx, x, EC_COORD) == EC_COORD && BN_bn2binpad(by, y, EC_COORD) == EC_COORD;

    BN_free(bx);
    BN_free(by);
    return ok ? PAT_OK : pat_error_set(PAT_EIO, NULL, "cannot read the EC public key");
}

/* Sets up k's signing context once (k->ec set). */
static int sign_template(pat_sign_key *k)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    if (!ctx || EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k->ec) != 1) {
        EVP_MD_CTX_free(ctx);
        return pat_error_set(PAT_EIO, NULL, "cannot set up ES256 signing");
    }
    k->sign_ctx = ctx;
    return PAT_OK;
}

int pat_sign_key_generate(bool eddsa, pat_sign_key *out)
{
    uint8_t x[EC_COORD], y[EC_COORD], pk[crypto_sign_PUBLICKEYBYTES];
    int rc;

    memset(out, 0, sizeof(*out));
    out->eddsa = eddsa;
    if (eddsa) {
        crypto_sign_keypair(pk, out->ed_sk);
        return make_jwk(out, pk, NULL);
    }
    if (!(out->ec = EVP_EC_gen("P-256")))
        return pat_error_set(PAT_EIO, NULL, "cannot generate a P-256 key");
    if ((rc = ec_coords(out->ec, x, y)) < 0 || (rc = make_jwk(out, x, y)) < 0 ||
        (rc = sign_template(out)) < 0) {
        pat_sign_key_dispose(out);
        return rc;
    }
    return PAT_OK;
}

void pat_sign_key_dispose(pat_sign_key *k)
{
    EVP_MD_CTX_free(k->sign_ctx);
    EVP_PKEY_free(k->ec);
    json_decref(k->jwk);
    sodium_memzero(k, sizeof(*k));
}

static void box_key(const uint8_t server_key[PAT_KEY_LEN], uint8_t out[crypto_secretbox_KEYBYTES])
{
    _Static_assert(PAT_KEY_LEN == crypto_kdf_KEYBYTES, "the server key is a KDF key");
    crypto_kdf_derive_from_key(out, crypto_secretbox_KEYBYTES, KDF_ID, KDF_CONTEXT, server_key);
}

int pat_sign_key_seal(const pat_sign_key *k, const uint8_t server_key[PAT_KEY_LEN], uint8_t *out,
                      size_t *n)
{
    uint8_t plain[DER_MAX], key[crypto_secretbox_KEYBYTES];
    size_t len = 0;
    int rc = PAT_OK;

    if (k->eddsa) {
        memcpy(plain, k->ed_sk, sizeof(k->ed_sk));
        len = sizeof(k->ed_sk);
    } else {
        unsigned char *p = plain;
        int der = i2d_PrivateKey(k->ec, NULL);
        if (der <= 0 || der > DER_MAX || i2d_PrivateKey(k->ec, &p) != der)
            return pat_error_set(PAT_EIO, NULL, "cannot encode the private key");
        len = (size_t)der;
    }
    if (crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + len > PAT_SEALED_MAX) {
        rc = pat_error_set(PAT_EIO, NULL, "sealed key too long");
        goto out;
    }
    box_key(server_key, key);
    randombytes_buf(out, crypto_secretbox_NONCEBYTES);
    crypto_secretbox_easy(out + crypto_secretbox_NONCEBYTES, plain, len, out, key);
    *n = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + len;
out:
    sodium_memzero(plain, sizeof(plain));
    sodium_memzero(key, sizeof(key));
    return rc;
}

int pat_sign_key_open(const char *kid, bool eddsa, const uint8_t *sealed, size_t n,
                      const uint8_t server_key[PAT_KEY_LEN], pat_sign_key *out)
{
    uint8_t plain[DER_MAX], key[crypto_secretbox_KEYBYTES], x[EC_COORD], y[EC_COORD];
    size_t len;
    int rc = PAT_OK;

    memset(out, 0, sizeof(*out));
    out->eddsa = eddsa;
    if (n < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES ||
        n - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES > sizeof(plain))
        return pat_error_set(PAT_EIO, NULL, "a stored signing key is damaged");
    len = n - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
    box_key(server_key, key);
    if (crypto_secretbox_open_easy(plain, sealed + crypto_secretbox_NONCEBYTES,
                                   n - crypto_secretbox_NONCEBYTES, sealed, key) != 0) {
        rc = pat_error_set(PAT_EIO, NULL,
                           "a stored signing key does not open with this server key");
        goto out;
    }
    if (eddsa) {
        if (len != sizeof(out->ed_sk)) {
            rc = pat_error_set(PAT_EIO, NULL, "a stored signing key is damaged");
            goto out;
        }
        memcpy(out->ed_sk, plain, len);
        rc = make_jwk(out, out->ed_sk + crypto_sign_SEEDBYTES, NULL);
    } else {
        const unsigned char *p = plain;
        if (!(out->ec = d2i_PrivateKey(EVP_PKEY_EC, NULL, &p, (long)len))) {
            rc = pat_error_set(PAT_EIO, NULL, "a stored signing key is damaged");
            goto out;
        }
        if ((rc = ec_coords(out->ec, x, y)) == PAT_OK && (rc = make_jwk(out, x, y)) == PAT_OK)
            rc = sign_template(out);
    }
    if (rc == PAT_OK && strcmp(out->kid, kid) != 0)
        rc = pat_error_set(PAT_EIO, NULL, "a stored signing key is not the one its kid names");
out:
    sodium_memzero(plain, sizeof(plain));
    sodium_memzero(key, sizeof(key));
    if (rc < 0)
        pat_sign_key_dispose(out);
    return rc;
}

int pat_sign(const pat_sign_key *k, const uint8_t *msg, size_t n, uint8_t sig[64])
{
    EVP_MD_CTX *ctx;
    ECDSA_SIG *es = NULL;
    unsigned char der[DER_MAX];
    const unsigned char *p = der;
    size_t derlen = sizeof(der);
    const BIGNUM *r, *s;
    int rc = PAT_OK;

    if (k->eddsa) {
        crypto_sign_detached(sig, NULL, msg, n, k->ed_sk);
        return PAT_OK;
    }
    /* OpenSSL signs ECDSA in DER (a SEQUENCE of two INTEGERs); JOSE wants
     * the two 32-byte big-endian numbers side by side (RFC 7518 3.4). */
    if (!(ctx = EVP_MD_CTX_new()))
        return pat_error_set(PAT_EIO, NULL, "out of memory");
    /* A copy of the key's context: the template is only read, so threads
     * may copy it at once. */
    if (EVP_MD_CTX_copy_ex(ctx, k->sign_ctx) != 1 ||
        EVP_DigestSign(ctx, der, &derlen, msg, n) != 1 ||
        !(es = d2i_ECDSA_SIG(NULL, &p, (long)derlen))) {
        rc = pat_error_set(PAT_EIO, NULL, "cannot sign");
        goto out;
    }
    ECDSA_SIG_get0(es, &r, &s);
    if (BN_bn2binpad(r, sig, EC_COORD) != EC_COORD ||
        BN_bn2binpad(s, sig + EC_COORD, EC_COORD) != EC_COORD)
        rc = pat_error_set(PAT_EIO, NULL, "cannot sign");
out:
    ECDSA_SIG_free(es);
    EVP_MD_CTX_free(ctx);
    return rc;
}

int pat_sign_verify(const pat_sign_key *k, const uint8_t *msg, size_t n, const uint8_t sig[64])
{
    EVP_MD_CTX *ctx = NULL;
    ECDSA_SIG *es = NULL;
    BIGNUM *r = NULL, *s = NULL;
    unsigned char *der = NULL;
    int derlen, ok = 0;

    if (k->eddsa)
        return crypto_sign_verify_detached(sig, msg, n, k->ed_sk + crypto_sign_SEEDBYTES) == 0
                   ? PAT_OK
                   : pat_error_set(PAT_EAUTH, NULL, "the token's signature is not valid");
    if (!(es = ECDSA_SIG_new()) || !(r = BN_bin2bn(sig, EC_COORD, NULL)) ||
        !(s = BN_bin2bn(sig + EC_COORD, EC_COORD, NULL)) || ECDSA_SIG_set0(es, r, s) != 1)
        goto out;
    r = s = NULL; /* es owns them now */
    if ((derlen = i2d_ECDSA_SIG(es, &der)) <= 0 || !(ctx = EVP_MD_CTX_new()) ||
        EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, k->ec) != 1)
        goto out;
    ok = EVP_DigestVerify(ctx, der, (size_t)derlen, msg, n) == 1;
out:
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    OPENSSL_free(der);
    EVP_MD_CTX_free(ctx);
    return ok ? PAT_OK : pat_error_set(PAT_EAUTH, NULL, "the token's signature is not valid");
}
