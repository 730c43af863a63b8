/* Query parameters of an original URI (GET /auth, when query tokens are
 * enabled): split by hand, decoded by libmicrohttpd. */
#include <string.h>

#include "http/request.h"

int pat_http_query_param(const char *uri, const char *key, char *out, size_t outsz)
{
    const char *q = strchr(uri, '?');
    size_t klen = strlen(key);

    if (!q)
        return 0;
    for (const char *p = q + 1; *p;) {
        const char *end = strchr(p, '&');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
            size_t vlen = n - klen - 1;
            if (vlen >= outsz)
                return 0;
            memcpy(out, p + klen + 1, vlen);
            out[vlen] = '\0';
            MHD_http_unescape(out);
            return 1;
        }
        if (!end)
            break;
        p = end + 1;
    }
    return 0;
}
