#ifndef PAT_CORE_REQUEST_RULES_H
#define PAT_CORE_REQUEST_RULES_H
#include <stddef.h>

#include "core/cidr.h"
#include "core/org.h"
#include "core/scope.h"

/* Rules about the request a protected service forwards: which scope a
 * method and path need, and which address the client really has. */

#define PAT_ROUTE_RULES_MAX 256
#define PAT_ROUTE_PATTERN_MAX 256

/* "METHOD PATTERN SCOPE [org=SLUG]": METHOD is a method or "*"; PATTERN
 * is an fnmatch(3) pattern over the path without query ('*' also crosses
 * '/'); with org=, the token must also be usable in that organization. */
typedef struct pat_route_rule {
    char method[16];
    char pattern[PAT_ROUTE_PATTERN_MAX];
    char scope[PAT_SCOPE_NAME_MAX + 1];
    char org[PAT_ORG_SLUG_MAX + 1]; /* "" = any */
} pat_route_rule;

/* Parses one rule line. PAT_EINVAL on a bad shape. */
int pat_route_rule_parse(const char *line, pat_route_rule *out);

/* The first rule matching method and path (borrowed), or NULL. */
const pat_route_rule *pat_route_rules_match(const pat_route_rule *rules, size_t n,
                                            const char *method, const char *path);

/* The scope the first matching rule requires (borrowed), or NULL. */
const char *pat_route_rules_scope(const pat_route_rule *rules, size_t n, const char *method,
                                  const char *path);

/* Writes the client's address into out (outsz bytes): the peer's, unless
 * the peer is one of the trusted proxies, in which case X-Real-IP, else the
 * right-most address of X-Forwarded-For not itself a trusted proxy. Header
 * values may be NULL; malformed ones are ignored. */
void pat_client_ip(char *out, size_t outsz, const char *peer, const pat_cidr_set *trusted,
                   const char *x_real_ip, const char *x_forwarded_for);

#endif
