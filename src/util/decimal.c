/* Integers to decimal text without vfprintf, which costs about 700
 * instructions a number: per request, on the verification path. */
#include "util/decimal.h"

#include <string.h>

size_t pat_decimal(char *out, size_t outsz, int64_t v, int width)
{
    char text[PAT_DECIMAL_MAX];
    char *end = text + sizeof(text), *p = end;
    uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v; /* INT64_MIN too */
    size_t n;

    if (width > 20)
        width = 20;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    while (end - p < width)
        *--p = '0';
    if (v < 0)
        *--p = '-';
    n = (size_t)(end - p);
    if (n >= outsz)
        n = outsz - 1;
    memcpy(out, p, n);
    out[n] = '\0';
    return n;
}
