#include "core/cidr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"

int pat_cidr_parse(const char *s, pat_cidr *out)
{
    char addr[64];
    const char *slash = strchr(s, '/');
    size_t alen = slash ? (size_t)(slash - s) : strlen(s);
    pat_cidr c;
    int max;

    memset(&c, 0, sizeof(c));
    if (alen == 0 || alen >= sizeof(addr))
        goto bad;
    memcpy(addr, s, alen);
    addr[alen] = '\0';
    if (inet_pton(AF_INET, addr, c.addr) == 1) {
        c.family = 4;
        max = 32;
    } else if (inet_pton(AF_INET6, addr, c.addr) == 1) {
        c.family = 6;
        max = 128;
    } else {
        goto bad;
    }
    c.bits = max;
    if (slash) {
        char *end;
        long bits;
        if (slash[1] < '0' || slash[1] > '9')
            goto bad;
        bits = strtol(slash + 1, &end, 10);
        if (*end != '\0' || bits < 0 || bits > max || end - (slash + 1) > 3)
            goto bad;
        c.bits = (int)bits;
    }
    /* Clear host bits so equal networks have equal text. */
    for (int i = 0; i < (max / 8); i++) {
        int keep = c.bits - i * 8;
        if (keep <= 0)
            c.addr[i] = 0;
        else if (keep < 8)
            c.addr[i] &= (uint8_t)(0xFF << (8 - keep));
    }
    *out = c;
    return PAT_OK;
bad:
    return pat_error_set(PAT_EINVAL, "allowed_cidrs", "not an IP network in CIDR notation");
}

void pat_cidr_format(const pat_cidr *c, char out[PAT_CIDR_STR_MAX])
{
    char addr[INET6_ADDRSTRLEN];

    inet_ntop(c->family == 4 ? AF_INET : AF_INET6, c->addr, addr, sizeof(addr));
    snprintf(out, PAT_CIDR_STR_MAX, "%s/%d", addr, c->bits);
}

static int prefix_match(const uint8_t *a, const uint8_t *b, int bits)
{
    int full = bits / 8, rest = bits % 8;

    if (memcmp(a, b, (size_t)full) != 0)
        return 0;
    if (rest == 0)
        return 1;
    return ((a[full] ^ b[full]) & (uint8_t)(0xFF << (8 - rest))) == 0;
}

/* Parses ip as an address of c's family into a (IPv4-mapped IPv6 counts as
 * IPv4); 0 if it is not one. */
static int address_for(const pat_cidr *c, const char *ip, uint8_t a[16])
{
    if (c->family == 4) {
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
        uint8_t a6[16];
        if (inet_pton(AF_INET, ip, a) == 1)
            return 1;
        if (inet_pton(AF_INET6, ip, a6) != 1 || memcmp(a6, mapped, 12) != 0)
            return 0;
        memcpy(a, a6 + 12, 4);
        return 1;
    }
    return inet_pton(AF_INET6, ip, a) == 1;
}

int pat_cidr_contains(const pat_cidr *c, const char *ip)
{
    uint8_t a[16];

    return address_for(c, ip, a) && prefix_match(a, c->addr, c->bits);
}

int pat_cidr_set_parse(pat_cidr_set *out, const char *list)
{
    char item[PAT_CIDR_STR_MAX];
    const char *p = list;
    pat_cidr_set s;

    s.n = 0;
    while (*p) {
        size_t n = strcspn(p, " ,\t");
        if (n) {
            if (n >= sizeof(item) || s.n == PAT_CIDRS_PER_TOKEN_MAX)
                return pat_error_set(PAT_EINVAL, "allowed_cidrs",
                                     "a list holds up to %d networks in CIDR notation",
                                     PAT_CIDRS_PER_TOKEN_MAX);
            memcpy(item, p, n);
            item[n] = '\0';
            if (pat_cidr_parse(item, &s.nets[s.n]) < 0)
                return PAT_EINVAL;
            s.n++;
        }
        p += n;
        p += strspn(p, " ,\t");
    }
    *out = s;
    return PAT_OK;
}

int pat_cidr_set_contains(const pat_cidr_set *s, const char *ip)
{
    uint8_t v4[16], v6[16];
    int have4 = -1, have6 = -1;

    /* Each family's address is parsed once, however many networks. */
    for (size_t i = 0; i < s->n; i++) {
        const pat_cidr *c = &s->nets[i];
        uint8_t *a = c->family == 4 ? v4 : v6;
        int *have = c->family == 4 ? &have4 : &have6;
        if (*have < 0)
            *have = address_for(c, ip, a);
        if (*have && prefix_match(a, c->addr, c->bits))
            return 1;
    }
    return 0;
}

int pat_cidr_list_allows(const char *list, const char *ip)
{
    char item[PAT_CIDR_STR_MAX];
    const char *p = list;
    int any = 0;

    while (*p) {
        const char *end = strchr(p, ' ');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        pat_cidr c;
        if (n > 0 && n < sizeof(item)) {
            memcpy(item, p, n);
            item[n] = '\0';
            any = 1;
            if (pat_cidr_parse(item, &c) == PAT_OK && pat_cidr_contains(&c, ip))
                return 1;
        }
        if (!end)
            break;
        p = end + 1;
    }
    return !any;
}
