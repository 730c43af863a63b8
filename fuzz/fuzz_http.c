/* libFuzzer target: what the HTTP layer parses itself before any handler
 * runs: strict JSON bodies (and the typed readers every handler uses on
 * them) and the query of GET /auth's original URI. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/request.h"
#include "util/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const KEYS[] = {"name",       "description",   "scopes",   "expires_in_days",
                                   "expires_at", "allowed_cidrs", "disabled", NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    char value[128];
    json_t *v = NULL;

    memcpy(s, data, size);
    s[size] = '\0';
    if (pat_json_parse((const char *)data, size, &v) == PAT_OK) {
        const char *str, **list = NULL;
        int64_t i;
        bool b, present;
        size_t n;

        pat_json_only_keys(v, KEYS);
        pat_json_string(v, "name", &str, &present);
        pat_json_int(v, "expires_in_days", &i, &present);
        pat_json_bool(v, "disabled", &b, &present);
        if (pat_json_strings(v, "scopes", 100, &list, &n, &present) == PAT_OK)
            free(list);
        json_decref(v);
    }
    pat_http_query_param(s, "access_token", value, sizeof(value));
    pat_http_query_param(s, "session", value, sizeof(value));
    free(s);
    return 0;
}
