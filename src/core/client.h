#ifndef PAT_CORE_CLIENT_H
#define PAT_CORE_CLIENT_H
#include <stddef.h>
#include <stdint.h>

/* A token's client, as new-client alerts tell them apart: the network of
 * its address (IPv4 /24, IPv6 /64; an IPv4-mapped IPv6 address counts as
 * IPv4) and the product of its user agent (RFC 9110's first product token:
 * "curl" of "curl/8.5.0"). */

#define PAT_CLIENT_NETWORK_MAX 64
#define PAT_CLIENT_PRODUCT_MAX 64

/* Writes the network of the textual address ip ("10.0.0.0/24",
 * "2001:db8:1:2::/64"; "unknown" when ip is NULL or not an address) and
 * the product of user_agent ("" when none) into network and product. */
void pat_client_describe(const char *ip, const char *user_agent,
                         char network[PAT_CLIENT_NETWORK_MAX],
                         char product[PAT_CLIENT_PRODUCT_MAX]);

/* A short fingerprint of the client (network and product) under key, never
 * 0: what the verification cache compares per request to notice a client
 * it has not seen on a token. Equal clients give equal fingerprints. */
uint32_t pat_client_fingerprint(const uint8_t key[16], const char *ip, const char *user_agent);

#endif
