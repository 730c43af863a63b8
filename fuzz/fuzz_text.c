/* libFuzzer target: the small parsers every input field passes through:
 * UTF-8 text checks, RFC 3339 times, CIDR networks, route rules, client
 * addresses from forwarding headers. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/cidr.h"
#include "core/request_rules.h"
#include "core/text.h"
#include "util/time.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    char ip[64];
    int64_t t;
    pat_cidr c;
    pat_route_rule rule;

    memcpy(s, data, size);
    s[size] = '\0';
    pat_text_check(s, "name", 1, 100, 0);
    pat_text_check(s, "description", 0, 1000, 1);
    pat_time_parse(s, &t);
    if (pat_cidr_parse(s, &c) == 0)
        pat_cidr_contains(&c, "10.1.2.3");
    pat_cidr_list_allows(s, "127.0.0.1");
    pat_route_rule_parse(s, &rule);
    {
        pat_cidr_set trusted;
        if (pat_cidr_set_parse(&trusted, "127.0.0.1/32 ::1/128") == 0)
            pat_client_ip(ip, sizeof(ip), "127.0.0.1", &trusted, s, s);
        if (pat_cidr_set_parse(&trusted, s) == 0)
            pat_cidr_set_contains(&trusted, "10.1.2.3");
    }
    free(s);
    return 0;
}
