#include "core/client.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

/* The network's bytes: family 4 (3 bytes kept) or 6 (8 bytes kept); 0 if
 * ip is not an address. */
static int network_of(const char *ip, uint8_t out[16], size_t *len)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    uint8_t a[16];

    if (!ip)
        return 0;
    if (inet_pton(AF_INET, ip, a) == 1) {
        memcpy(out, a, 3);
        *len = 3;
        return 4;
    }
    if (inet_pton(AF_INET6, ip, a) != 1)
        return 0;
    if (memcmp(a, mapped, sizeof(mapped)) == 0) {
        memcpy(out, a + 12, 3);
        *len = 3;
        return 4;
    }
    memcpy(out, a, 8);
    *len = 8;
    return 6;
}

/* The product token: up to the first '/', space or '(' , at most outsz-1
 * bytes of RFC 9110 token characters. */
static size_t product_of(const char *ua, char *out, size_t outsz)
{
    static const char *const tchar = "!#$%&'*+-.^_`|~";
    size_t n = 0;

    for (; ua && *ua && n + 1 < outsz; ua++) {
        unsigned char ch = (unsigned char)*ua;
        if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
            strchr(tchar, ch))
            out[n++] = (char)ch;
        else
            break;
    }
    out[n] = '\0';
    return n;
}

void pat_client_describe(const char *ip, const char *user_agent,
                         char network[PAT_CLIENT_NETWORK_MAX],
                         char product[PAT_CLIENT_PRODUCT_MAX])
{
    uint8_t net[16] = {0};
    size_t len = 0;
    int family = network_of(ip, net, &len);

    if (family == 4) {
        snprintf(network, PAT_CLIENT_NETWORK_MAX, "%u.%u.%u.0/24", net[0], net[1], net[2]);
    } else if (family == 6) {
        char text[INET6_ADDRSTRLEN];
        inet_ntop(AF_INET6, net, text, sizeof(text));
        snprintf(network, PAT_CLIENT_NETWORK_MAX, "%s/64", text);
    } else {
        snprintf(network, PAT_CLIENT_NETWORK_MAX, "unknown");
    }
    product_of(user_agent, product, PAT_CLIENT_PRODUCT_MAX);
}

uint32_t pat_client_fingerprint(const uint8_t key[16], const char *ip, const char *user_agent)
{
    uint8_t in[1 + 8 + PAT_CLIENT_PRODUCT_MAX], out[crypto_shorthash_BYTES];
    size_t len = 0;
    uint32_t fp;

    in[0] = (uint8_t)network_of(ip, in + 1, &len);
    len += 1;
    len += product_of(user_agent, (char *)in + len, sizeof(in) - len);
    crypto_shorthash(out, in, len, key);
    memcpy(&fp, out, sizeof(fp));
    return fp ? fp : 1;
}
