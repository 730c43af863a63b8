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

/* Copies src into dst (size dstsz, NUL-terminated); PAT_EINVAL if it does not fit. */
int pat_strlcpy(char *dst, const char *src, size_t dstsz);

#endif
