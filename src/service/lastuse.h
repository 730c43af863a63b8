#ifndef PAT_SERVICE_LASTUSE_H
#define PAT_SERVICE_LASTUSE_H
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* Last use of tokens, kept in memory and written to the store in batches,
 * so a verified request never writes to the database. Fixed capacity,
 * preallocated, striped locks: recording allocates nothing, and a flush
 * holds a stripe's lock only to swap its two halves. When full, new tokens'
 * uses are refused (counted) until the next flush. */
typedef struct pat_lastuse pat_lastuse;

/* A table for up to capacity distinct tokens between flushes (0 = 32768),
 * twice over: one half records while the other is written. */
pat_lastuse *pat_lastuse_new(size_t capacity);
void pat_lastuse_free(pat_lastuse *l);

/* What pat_lastuse_record did. */
enum {
    PAT_LASTUSE_OK = 0,      /* recorded */
    PAT_LASTUSE_FILLING = 1, /* recorded; the table is half full, flush early */
    PAT_LASTUSE_FULL = -1,   /* not recorded: the table is full (counted as dropped) */
};

/* Records uses of a token, the latest at time at (0: only count them, the
 * details stay as they are). Strings may be NULL; too-long ones are cut. */
int pat_lastuse_record(pat_lastuse *l, int64_t token_id, int64_t uses, int64_t at,
                       const char *ip, const char *method, const char *path,
                       const char *user_agent);

/* Moves every pending update into *out (caller frees) and empties the table. */
void pat_lastuse_take(pat_lastuse *l, pat_token_touch **out, size_t *n);

/* Distinct tokens one half holds (the capacity asked for, rounded up). */
size_t pat_lastuse_capacity(const pat_lastuse *l);

/* Uses dropped because the table was full, since start. */
uint64_t pat_lastuse_dropped(pat_lastuse *l);

#endif
