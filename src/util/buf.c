#include "util/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "util/error.h"
#include "util/mem.h"

void pat_buf_init(pat_buf *b, size_t cap)
{
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    b->cap = cap;
}

static void reserve(pat_buf *b, size_t need)
{
    size_t n = b->alloc ? b->alloc : 256;

    if (need + 1 <= b->alloc)
        return;
    while (n < need + 1)
        n *= 2;
    b->data = pat_realloc(b->data, n);
    b->alloc = n;
}

int pat_buf_append(pat_buf *b, const void *data, size_t n)
{
    if (n > b->cap || b->len > b->cap - n)
        return pat_error_set(PAT_ETOOBIG, NULL, "content exceeds %zu bytes", b->cap);
    reserve(b, b->len + n);
    memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
    return PAT_OK;
}

int pat_buf_printf(pat_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return pat_error_set(PAT_EINVAL, NULL, "bad format");
    if ((size_t)n > b->cap || b->len > b->cap - (size_t)n)
        return pat_error_set(PAT_ETOOBIG, NULL, "content exceeds %zu bytes", b->cap);
    reserve(b, b->len + (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return PAT_OK;
}

void pat_buf_reset(pat_buf *b)
{
    if (b->data) {
        sodium_memzero(b->data, b->len);
        b->data[0] = '\0';
    }
    b->len = 0;
}

void pat_buf_dispose(pat_buf *b)
{
    if (b->data) {
        sodium_memzero(b->data, b->alloc);
        free(b->data);
    }
    pat_buf_init(b, b->cap);
}
