#ifndef PAT_UTIL_BUF_H
#define PAT_UTIL_BUF_H
#include <stddef.h>

/* A growable byte buffer with a hard cap, so no input can grow memory
 * without bound. Always NUL-terminated when data is non-NULL. */
typedef struct pat_buf {
    char *data;  /* owned; NULL until the first append */
    size_t len;
    size_t alloc;
    size_t cap;  /* maximum len */
} pat_buf;

/* Prepares an empty buffer that refuses to grow beyond cap bytes. */
void pat_buf_init(pat_buf *b, size_t cap);

/* Appends n bytes; PAT_ETOOBIG (buffer unchanged) past the cap. */
int pat_buf_append(pat_buf *b, const void *data, size_t n);

/* Appends a formatted string; PAT_ETOOBIG past the cap. */
int pat_buf_printf(pat_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Wipes the contents and empties the buffer, keeping its memory for reuse. */
void pat_buf_reset(pat_buf *b);

/* Wipes and frees the contents; the buffer may be reused after init. */
void pat_buf_dispose(pat_buf *b);

#endif
