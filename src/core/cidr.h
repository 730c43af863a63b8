#ifndef PAT_CORE_CIDR_H
#define PAT_CORE_CIDR_H
#include <stddef.h>
#include <stdint.h>

#define PAT_CIDR_STR_MAX 50  /* "ffff:...:ffff/128" and a NUL */
#define PAT_CIDRS_PER_TOKEN_MAX 32
#define PAT_CIDRS_STR_MAX (PAT_CIDRS_PER_TOKEN_MAX * PAT_CIDR_STR_MAX)

/* A network: family 4 or 6, address bytes, prefix length. */
typedef struct pat_cidr {
    int family;
    uint8_t addr[16];
    int bits;
} pat_cidr;

/* Parses "a.b.c.d/n", "x::y/n" or a bare address (a host network).
 * PAT_EINVAL (field "allowed_cidrs") otherwise. */
int pat_cidr_parse(const char *s, pat_cidr *out);

/* Writes the canonical text of c ("10.0.0.0/8": host bits cleared) into out. */
void pat_cidr_format(const pat_cidr *c, char out[PAT_CIDR_STR_MAX]);

/* 1 if the textual address ip lies in c (IPv4-mapped IPv6 counts as IPv4). */
int pat_cidr_contains(const pat_cidr *c, const char *ip);

/* A parsed list of networks, for lists consulted on every request. */
typedef struct pat_cidr_set {
    pat_cidr nets[PAT_CIDRS_PER_TOKEN_MAX];
    size_t n;
} pat_cidr_set;

/* Parses networks separated by spaces or commas into *out. PAT_EINVAL on a
 * malformed one or more than PAT_CIDRS_PER_TOKEN_MAX. */
int pat_cidr_set_parse(pat_cidr_set *out, const char *list);

/* 1 if the textual address ip lies in a network of s (0 for an empty set). */
int pat_cidr_set_contains(const pat_cidr_set *s, const char *ip);

/* 1 if ip lies in any network of the space-separated list; an empty list
 * allows every address. */
int pat_cidr_list_allows(const char *list, const char *ip);

#endif
