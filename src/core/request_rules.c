#include "core/request_rules.h"

#include <arpa/inet.h>
#include <fnmatch.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/cidr.h"
#include "core/text.h"
#include "util/error.h"

int pat_route_rule_parse(const char *line, pat_route_rule *out)
{
    char method[32], pattern[PAT_ROUTE_PATTERN_MAX + 1], scope[PAT_SCOPE_NAME_MAX + 2];
    char org[PAT_ORG_SLUG_MAX + 8], extra[2];
    int n = sscanf(line, "%31s %256s %65s %39s %1s", method, pattern, scope, org, extra);

    if (n != 3 && n != 4)
        return pat_error_set(PAT_EINVAL, "route", "a route rule is METHOD PATTERN SCOPE [org=SLUG]");
    out->org[0] = '\0';
    if (n == 4 && (strncmp(org, "org=", 4) != 0 || pat_org_slug_check(org + 4, "route") < 0 ||
                   pat_text_set(out->org, sizeof(out->org), org + 4) < 0))
        return pat_error_set(PAT_EINVAL, "route",
                             "a route rule's fourth part is org=SLUG, an organization's slug");
    if (strlen(method) >= sizeof(out->method) || strlen(pattern) >= sizeof(out->pattern) ||
        pattern[0] != '/')
        return pat_error_set(PAT_EINVAL, "route", "a route pattern starts with / and is short");
    if (pat_scope_name_valid(scope) < 0)
        return pat_error_set(PAT_EINVAL, "route", "a route rule names a malformed scope");
    if (pat_text_set(out->method, sizeof(out->method), method) < 0 ||
        pat_text_set(out->pattern, sizeof(out->pattern), pattern) < 0 ||
        pat_text_set(out->scope, sizeof(out->scope), scope) < 0)
        return pat_error_set(PAT_EINVAL, "route", "a route rule's part is too long");
    return PAT_OK;
}

const pat_route_rule *pat_route_rules_match(const pat_route_rule *rules, size_t n,
                                            const char *method, const char *path)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(rules[i].method, "*") != 0 && strcmp(rules[i].method, method) != 0)
            continue;
        if (fnmatch(rules[i].pattern, path, 0) == 0)
            return &rules[i];
    }
    return NULL;
}

const char *pat_route_rules_scope(const pat_route_rule *rules, size_t n, const char *method,
                                  const char *path)
{
    const pat_route_rule *r = pat_route_rules_match(rules, n, method, path);

    return r ? r->scope : NULL;
}

static int is_address(const char *s)
{
    unsigned char buf[16];

    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* Copies the trimmed item s[0..n) into out if it is an address. */
static int take(char *out, size_t outsz, const char *s, size_t n)
{
    char item[64];

    while (n && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n == 0 || n >= sizeof(item) || n >= outsz)
        return 0;
    memcpy(item, s, n);
    item[n] = '\0';
    if (!is_address(item))
        return 0;
    memcpy(out, item, n + 1);
    return 1;
}

void pat_client_ip(char *out, size_t outsz, const char *peer, const pat_cidr_set *trusted,
                   const char *x_real_ip, const char *x_forwarded_for)
{
    pat_text_copy(out, outsz, peer, SIZE_MAX);
    if (!trusted || !pat_cidr_set_contains(trusted, peer))
        return;
    if (x_real_ip && take(out, outsz, x_real_ip, strlen(x_real_ip)))
        return;
    if (x_forwarded_for) {
        /* Walk from the right: the nearest hops are ours, the first
         * untrusted one is the client as far as we can know. */
        const char *end = x_forwarded_for + strlen(x_forwarded_for);
        while (end > x_forwarded_for) {
            const char *start = end;
            char candidate[64];
            while (start > x_forwarded_for && start[-1] != ',')
                start--;
            if (take(candidate, sizeof(candidate), start, (size_t)(end - start))) {
                snprintf(out, outsz, "%s", candidate);
                if (!pat_cidr_set_contains(trusted, candidate))
                    return;
            } else {
                return; /* garbage: stop at the last good hop */
            }
            end = start > x_forwarded_for ? start - 1 : start;
        }
    }
}
