#ifndef PAT_SERVICE_JWTCACHE_H
#define PAT_SERVICE_JWTCACHE_H
/* Verified JWTs by the keyed hash of their text, so presenting one again
 * costs a lookup, not a signature check and a store read. An entry holds
 * what verification derived from the JWT and its PAT, and the generations
 * of that PAT, its owner and the keys/policy when it was made: any change
 * the changes feed reports bumps a generation (service/unit.c), and an
 * entry whose generations moved is a miss. Direct-mapped and bounded: a
 * newer JWT simply takes its slot. */
#include <stdbool.h>
#include <stdint.h>


#include "core/token.h"

#define PAT_JWTCACHE_SCOPES 256
#define PAT_JWTCACHE_AUD 256
#define PAT_JWTCACHE_ORGS 128 /* a PAT naming more is checked in full each time */

typedef struct pat_jwtcache pat_jwtcache;

typedef struct pat_jwt_entry {
    int64_t pat_id;
    int64_t user_id;
    int64_t exp;            /* the JWT's */
    int64_t iat;
    int64_t pat_expires_at; /* 0 = never */
    char scopes[PAT_JWTCACHE_SCOPES];
    char aud[PAT_JWTCACHE_AUD];
    char pat_orgs[PAT_JWTCACHE_ORGS]; /* the PAT's organizations ("" = all) */
    uint32_t token_gen, user_gen, global_gen; /* filled by the cache */
} pat_jwt_entry;

pat_jwtcache *pat_jwtcache_new(void);
void pat_jwtcache_free(pat_jwtcache *c);

/* Generations: bumped for a token id, a user id, or everything (a key or
 * the policy changed). */
void pat_jwtcache_bump_token(pat_jwtcache *c, int64_t token_id);
void pat_jwtcache_bump_user(pat_jwtcache *c, int64_t user_id);
void pat_jwtcache_bump_all(pat_jwtcache *c);

/* The generations now for e's token and user: take them before reading
 * the store, then put with them, so a change in between is never hidden. */
void pat_jwtcache_snapshot(pat_jwtcache *c, pat_jwt_entry *e);

/* Copies the entry for lookup into *out if present and none of its
 * generations moved. */
bool pat_jwtcache_get(pat_jwtcache *c, const uint8_t lookup[PAT_LOOKUP_KEY_LEN],
                      pat_jwt_entry *out);
void pat_jwtcache_put(pat_jwtcache *c, const uint8_t lookup[PAT_LOOKUP_KEY_LEN],
                      const pat_jwt_entry *e);

#endif
