#ifndef PAT_SERVICE_RATELIMIT_H
#define PAT_SERVICE_RATELIMIT_H
#include <stdint.h>

/* Failure counting per key (a client address, say) in fixed windows:
 * after `limit` failures within `window` seconds the key is blocked until
 * the window ends. Fixed memory: a full table forgets the stalest keys. */
typedef struct pat_ratelimit pat_ratelimit;

/* A limiter; limit 0 disables it. */
pat_ratelimit *pat_ratelimit_new(int limit, int window_seconds);
void pat_ratelimit_free(pat_ratelimit *r);

/* 0 if key may proceed at now; otherwise the seconds until it may. */
int64_t pat_ratelimit_blocked(pat_ratelimit *r, const char *key, int64_t now);

/* Counts one failure of key at now. */
void pat_ratelimit_fail(pat_ratelimit *r, const char *key, int64_t now);

/* Forgets key's failures (after a success, where that is wanted). */
void pat_ratelimit_reset(pat_ratelimit *r, const char *key);

#endif
