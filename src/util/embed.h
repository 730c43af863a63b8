#ifndef PAT_UTIL_EMBED_H
#define PAT_UTIL_EMBED_H
#include <stddef.h>

/* A file embedded into the binary at build time (tools/embed.py).
 * Tables end with an entry whose name is NULL; data is NUL-terminated. */
typedef struct pat_embedded_file {
    const char *name;
    const unsigned char *data;
    size_t size;
} pat_embedded_file;

#endif
