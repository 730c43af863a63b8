#ifndef PAT_UTIL_MEM_H
#define PAT_UTIL_MEM_H
#include <stddef.h>
#include <stdlib.h>

/* Allocation that aborts on out-of-memory: we are a server, and threading
 * OOM through every caller buys nothing (see STYLE.md rule 9). */
void *pat_malloc(size_t n);
void *pat_calloc(size_t count, size_t n);
void *pat_realloc(void *p, size_t n);
char *pat_strdup(const char *s);

/* n zeroed bytes at a multiple of alignment (a power of two, at least
 * sizeof(void *)), for types aligned beyond what malloc promises; free()
 * releases them. */
void *pat_calloc_aligned(size_t alignment, size_t n);

#endif
