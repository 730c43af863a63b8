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

void *pat_calloc_aligned(size_t alignment, size_t n)
{
    void *p = NULL;

    if (posix_memalign(&p, alignment, n ? n : 1) != 0)
        p = NULL;
    check(p);
    memset(p, 0, n);
    return p;
}
