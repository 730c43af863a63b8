#ifndef PAT_CORE_TOKEN_H
#define PAT_CORE_TOKEN_H
#include <stddef.h>
#include <stdint.h>

/* Token format (DESIGN.md): PREFIX + 32 base62 random + 6 base62 checksum,
 * the checksum being zlib's CRC32 of the random part, most significant digit
 * first, left-padded with '0'. With the default prefix "pat_": 42 chars. */
#define PAT_TOKEN_RANDOM_LEN 32
#define PAT_TOKEN_CHECKSUM_LEN 6
#define PAT_TOKEN_PREFIX_MAX 16
#define PAT_TOKEN_MAX (PAT_TOKEN_PREFIX_MAX + PAT_TOKEN_RANDOM_LEN + PAT_TOKEN_CHECKSUM_LEN)
#define PAT_TOKEN_BUF (PAT_TOKEN_MAX + 1)
#define PAT_TOKEN_DISPLAY_LEN 10 /* characters shown in lists */
#define PAT_HASH_LEN 32          /* HMAC-SHA256 output */
#define PAT_KEY_LEN 32           /* server key */

/* PAT_OK if prefix is usable: 1..16 characters of [A-Za-z0-9_]. */
int pat_token_prefix_valid(const char *prefix);

/* Writes the 6-character checksum of a 32-character random part into out
 * (not NUL-terminated). */
void pat_token_checksum(const char *random_part, char out[PAT_TOKEN_CHECKSUM_LEN]);

/* Writes a new token (NUL-terminated) into out from libsodium's CSPRNG.
 * The caller wipes out with pat_secret_wipe after use. */
void pat_token_generate(char out[PAT_TOKEN_BUF], const char *prefix);

/* PAT_OK if token (len bytes, not necessarily NUL-terminated) is well formed
 * for prefix: length, prefix, alphabet and checksum; PAT_EAUTH otherwise.
 * Does no lookup, so malformed input costs nothing further. */
int pat_token_check_format(const char *token, size_t len, const char *prefix);

/* PAT_OK if token (len bytes) is well formed for some usable prefix, the
 * prefix being all but its last 38 characters; PAT_EAUTH otherwise. For
 * clients that do not know the server's prefix (the CLI saving a token). */
int pat_token_check_shape(const char *token, size_t len);

/* Finds the first well-formed token for prefix (checksum included) in
 * text[0..len) that stands apart (no base62 character, or '_', right
 * before or after it): 1 with its offset in *at, else 0. For scanners:
 * offline, no lookup. */
int pat_token_find(const char *text, size_t len, const char *prefix, size_t *at);

/* HMAC-SHA256(key, token) into out: the only form in which a token is stored. */
void pat_token_hash(uint8_t out[PAT_HASH_LEN], const uint8_t key[PAT_KEY_LEN], const char *token,
                    size_t len);

/* The verification cache is keyed not by the stored HMAC-SHA256 (four
 * SHA-256 blocks per request) but by SipHash-2-4 with a 128-bit output under
 * a subkey of the server key: a PRF, so no one without the key can make a
 * value collide with a token's, and ten times cheaper. */
#define PAT_LOOKUP_KEY_LEN 16

/* Derives the lookup subkey from the server key. */
void pat_token_lookup_subkey(uint8_t out[PAT_LOOKUP_KEY_LEN], const uint8_t key[PAT_KEY_LEN]);

/* The cache lookup key of token under subkey. */
void pat_token_lookup_key(uint8_t out[PAT_LOOKUP_KEY_LEN], const uint8_t subkey[PAT_LOOKUP_KEY_LEN],
                          const char *token, size_t len);

/* Writes the display prefix (first 10 characters) of token into out. */
void pat_token_display(char out[PAT_TOKEN_DISPLAY_LEN + 1], const char *token);

/* 1 if the two hashes are equal, compared in constant time. */
int pat_token_hash_equal(const uint8_t a[PAT_HASH_LEN], const uint8_t b[PAT_HASH_LEN]);

/* Zeroes a secret in a way the compiler cannot drop. */
void pat_secret_wipe(void *p, size_t n);

/* The credential of an Authorization header value: "Bearer X" or
 * "Token X" (scheme in any letter case, spaces around X ignored); *token
 * points into authz, *len its length. PAT_EAUTH for another scheme. */
int pat_token_from_authorization(const char *authz, const char **token, size_t *len);

#endif
