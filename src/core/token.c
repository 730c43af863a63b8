#include "core/token.h"

#include <string.h>
#include <strings.h>

#include <sodium.h>
#include <zlib.h>

#include "util/error.h"

static const char BASE62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static int is_base62(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

int pat_token_prefix_valid(const char *prefix)
{
    size_t n = strlen(prefix);

    if (n < 1 || n > PAT_TOKEN_PREFIX_MAX)
        return pat_error_set(PAT_EINVAL, "token_prefix", "token prefix must be 1 to %d characters",
                             PAT_TOKEN_PREFIX_MAX);
    for (size_t i = 0; i < n; i++) {
        if (!is_base62(prefix[i]) && prefix[i] != '_')
            return pat_error_set(PAT_EINVAL, "token_prefix",
                                 "token prefix may hold only letters, digits and '_'");
    }
    return PAT_OK;
}

void pat_token_checksum(const char *random_part, char out[PAT_TOKEN_CHECKSUM_LEN])
{
    uint32_t crc = (uint32_t)crc32(0L, (const Bytef *)random_part, PAT_TOKEN_RANDOM_LEN);

    for (int i = PAT_TOKEN_CHECKSUM_LEN - 1; i >= 0; i--) {
        out[i] = BASE62[crc % 62];
        crc /= 62;
    }
}

void pat_token_generate(char out[PAT_TOKEN_BUF], const char *prefix)
{
    size_t plen = strlen(prefix);
    char *random_part = out + plen;

    unsigned char pool[64];
    size_t used = sizeof(pool);

    memcpy(out, prefix, plen);
    /* One CSPRNG call per 64 bytes rather than one per character. Bytes of
     * 248 and above are dropped, so byte % 62 stays unbiased (248 = 4 * 62). */
    for (int i = 0; i < PAT_TOKEN_RANDOM_LEN; i++) {
        unsigned char b;
        do {
            if (used == sizeof(pool)) {
                randombytes_buf(pool, sizeof(pool));
                used = 0;
            }
            b = pool[used++];
        } while (b >= 248);
        random_part[i] = BASE62[b % 62];
    }
    sodium_memzero(pool, sizeof(pool));
    pat_token_checksum(random_part, random_part + PAT_TOKEN_RANDOM_LEN);
    out[plen + PAT_TOKEN_RANDOM_LEN + PAT_TOKEN_CHECKSUM_LEN] = '\0';
}

int pat_token_check_format(const char *token, size_t len, const char *prefix)
{
    size_t plen = strlen(prefix);
    char sum[PAT_TOKEN_CHECKSUM_LEN];
    const char *random_part;

    if (len != plen + PAT_TOKEN_RANDOM_LEN + PAT_TOKEN_CHECKSUM_LEN)
        goto bad;
    if (memcmp(token, prefix, plen) != 0)
        goto bad;
    random_part = token + plen;
    for (size_t i = 0; i < PAT_TOKEN_RANDOM_LEN + PAT_TOKEN_CHECKSUM_LEN; i++) {
        if (!is_base62(random_part[i]))
            goto bad;
    }
    pat_token_checksum(random_part, sum);
    if (memcmp(sum, random_part + PAT_TOKEN_RANDOM_LEN, PAT_TOKEN_CHECKSUM_LEN) != 0)
        goto bad;
    return PAT_OK;
bad:
    return pat_error_set(PAT_EAUTH, NULL, "the token is malformed");
}

int pat_token_find(const char *text, size_t len, const char *prefix, size_t *at)
{
    size_t plen = strlen(prefix), tlen = plen + PAT_TOKEN_RANDOM_LEN + PAT_TOKEN_CHECKSUM_LEN;

    if (plen == 0)
        return 0;
    for (size_t i = 0; i + tlen <= len; i++) {
        const char *p = memchr(text + i, prefix[0], len - i);
        if (!p)
            return 0;
        i = (size_t)(p - text);
        if (i + tlen > len)
            return 0;
        if (i > 0 && (is_base62(text[i - 1]) || text[i - 1] == '_'))
            continue;
        if (i + tlen < len && (is_base62(text[i + tlen]) || text[i + tlen] == '_'))
            continue;
        if (pat_token_check_format(text + i, tlen, prefix) == PAT_OK) {
            *at = i;
            return 1;
        }
    }
    return 0;
}

int pat_token_check_shape(const char *token, size_t len)
{
    char prefix[PAT_TOKEN_PREFIX_MAX + 1];
    size_t plen;

    if (len <= PAT_TOKEN_RANDOM_LEN + PAT_TOKEN_CHECKSUM_LEN || len > PAT_TOKEN_MAX)
        return pat_error_set(PAT_EAUTH, NULL, "not a personal access token");
    plen = len - PAT_TOKEN_RANDOM_LEN - PAT_TOKEN_CHECKSUM_LEN;
    memcpy(prefix, token, plen);
    prefix[plen] = '\0';
    if (pat_token_prefix_valid(prefix) < 0)
        return pat_error_set(PAT_EAUTH, NULL, "not a personal access token");
    return pat_token_check_format(token, len, prefix);
}

void pat_token_hash(uint8_t out[PAT_HASH_LEN], const uint8_t key[PAT_KEY_LEN], const char *token,
                    size_t len)
{
    crypto_auth_hmacsha256_state st;

    crypto_auth_hmacsha256_init(&st, key, PAT_KEY_LEN);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)token, len);
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof(st));
}

void pat_token_lookup_subkey(uint8_t out[PAT_LOOKUP_KEY_LEN], const uint8_t key[PAT_KEY_LEN])
{
    crypto_kdf_derive_from_key(out, PAT_LOOKUP_KEY_LEN, 1, "patdlook", key);
}

void pat_token_lookup_key(uint8_t out[PAT_LOOKUP_KEY_LEN], const uint8_t subkey[PAT_LOOKUP_KEY_LEN],
                          const char *token, size_t len)
{
    crypto_shorthash_siphashx24(out, (const unsigned char *)token, len, subkey);
}

void pat_token_display(char out[PAT_TOKEN_DISPLAY_LEN + 1], const char *token)
{
    size_t n = strnlen(token, PAT_TOKEN_DISPLAY_LEN);

    memcpy(out, token, n);
    out[n] = '\0';
}

int pat_token_hash_equal(const uint8_t a[PAT_HASH_LEN], const uint8_t b[PAT_HASH_LEN])
{
    return sodium_memcmp(a, b, PAT_HASH_LEN) == 0;
}

void pat_secret_wipe(void *p, size_t n)
{
    sodium_memzero(p, n);
}

int pat_token_from_authorization(const char *authz, const char **token, size_t *len)
{
    const char *p;

    if (strncasecmp(authz, "Bearer ", 7) == 0)
        p = authz + 7;
    else if (strncasecmp(authz, "Token ", 6) == 0)
        p = authz + 6;
    else
        return pat_error_set(PAT_EAUTH, NULL, "use Authorization: Bearer <token>");
    while (*p == ' ')
        p++;
    *len = strlen(p);
    while (*len && p[*len - 1] == ' ')
        (*len)--;
    *token = p;
    return PAT_OK;
}
