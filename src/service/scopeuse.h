#ifndef PAT_SERVICE_SCOPEUSE_H
#define PAT_SERVICE_SCOPEUSE_H
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* The scopes tokens used, counted in memory and written behind in batches
 * with last use, so a request never writes to the store for it. Fixed
 * capacity, striped locks; when a stripe is full a new pair is dropped
 * (counted) until the next flush. */
typedef struct pat_scopeuse pat_scopeuse;

/* A table for up to capacity distinct (token, scope) pairs between
 * flushes (0 = 16384). */
pat_scopeuse *pat_scopeuse_new(size_t capacity);
void pat_scopeuse_free(pat_scopeuse *u);

/* Counts one use of scope by token_id at at. 0 when recorded, -1 when the
 * table is full (counted as dropped). */
int pat_scopeuse_record(pat_scopeuse *u, int64_t token_id, const char *scope, int64_t at);

/* Moves what is counted into *out (caller frees) and *n, emptying it. */
void pat_scopeuse_take(pat_scopeuse *u, pat_scope_use **out, size_t *n);

/* Pairs dropped because the table was full, since start. */
uint64_t pat_scopeuse_dropped(pat_scopeuse *u);

#endif
