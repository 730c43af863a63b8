#include "util/mem.h"

#include <stdio.h>
#include <string.h>

#include "util/error.h"

static void *check(void *p)
{
    if (!p) {
        fputs("patd: out of memory\n", stderr);
        abort();
    }
    return p;
}

void *pat_malloc(size_t n)
{
    return check(malloc(n ? n : 1));
}

void *pat_calloc(size_t count, size_t n)
{
    return check(calloc(count ? count : 1, n ? n : 1));
}

void *pat_realloc(void *p, size_t n)
{
    return check(realloc(p, n ? n : 1));
}

char *pat_strdup(const char *s)
{
    return check(strdup(s));
}

int pat_strlcpy(char *dst, const char *src, size_t dstsz)
{
    size_t n = strlen(src);

    if (n >= dstsz)
        return pat_error_set(PAT_EINVAL, NULL, "value too long");
    memcpy(dst, src, n + 1);
    return PAT_OK;
}
