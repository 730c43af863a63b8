#ifndef PAT_SERVICE_CACHE_H
#define PAT_SERVICE_CACHE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/token.h"
#include "store/store.h"

/* The verification cache: what the hot path needs to know about a token,
 * keyed by its lookup key (core/token.h), findable by its stored hash for
 * invalidation, and about its owner, keyed by user id. Sharded, each
 * shard behind its own read-write lock, so lookups never take a global lock
 * and a hit allocates nothing. Memory is bounded by max_entries. */
typedef struct pat_cache pat_cache;

/* What verification needs of a token. Strings are interned: shared, and
 * freed only seconds after no entry points at them, so a copy of the
 * struct stays valid for the request that took it. */
typedef struct pat_cached_token {
    int64_t token_id;
    int64_t user_id;
    int64_t expires_at; /* 0 = never */
    int64_t created_at;
    int64_t valid_until; /* for a previous value in its grace period; 0 = n/a */
    bool disabled;
    bool negative;      /* a well-formed value known not to exist */
    bool canary;        /* a decoy: never valid, every presentation is reported */
    bool watch_clients; /* new clients of this token are reported */
    const char *scopes; /* interned canonical scope string */
    const char *cidrs;  /* interned; "" = anywhere */
    const char *orgs;   /* interned; the organizations it may be used in, "" = all */
} pat_cached_token;

typedef struct pat_cached_user {
    int64_t id;
    char username[PAT_USERNAME_MAX + 1];
    int role;
    bool disabled;
    bool can_manage_tokens;
    const char *orgs; /* interned: where they may use tokens (core/org.h list) */
} pat_cached_user;

/* A cache of at most max_entries tokens (0 = a default of 2 million). */
pat_cache *pat_cache_new(size_t max_entries);
void pat_cache_free(pat_cache *c);

/* Copies the entry for lookup into *out: 1 if found (a negative entry
 * older than a few seconds at now counts as not found), else 0. */
int pat_cache_token_get(pat_cache *c, const uint8_t lookup[PAT_LOOKUP_KEY_LEN], int64_t now,
                        pat_cached_token *out);

/* The invalidation epoch: read it before reading the store on a miss, and
 * pass it to the put, which then does nothing if anything was forgotten in
 * between (so a change racing a miss can never leave a stale entry). */
uint64_t pat_cache_epoch(pat_cache *c);

/* Interns scopes and cidrs into entry's pointers, and entry->orgs (NULL
 * = "") in place (valid as long as the cache, whatever happens next),
 * then inserts or replaces the entry for
 * lookup, remembered also under the stored hash, unless the epoch moved
 * since epoch was read. */
void pat_cache_token_put(pat_cache *c, const uint8_t lookup[PAT_LOOKUP_KEY_LEN],
                         const uint8_t hash[PAT_HASH_LEN], pat_cached_token *entry,
                         const char *scopes, const char *cidrs, int64_t now, uint64_t epoch);

/* Counts one use of the token behind lookup. Returns 1 when this use
 * should be recorded as last use (none recorded for granularity seconds),
 * with *uses the uses counted since the last recording; 0 otherwise.
 * client (0 = not watched) is the fingerprint of the client using it
 * (pat_client_fingerprint): *new_client (may be NULL) is set when the entry
 * has not seen it among the last few clients, which it then remembers.
 * Takes a shard read lock and allocates nothing. */
int pat_cache_token_use(pat_cache *c, const uint8_t lookup[PAT_LOOKUP_KEY_LEN], int64_t now,
                        int64_t granularity, uint32_t client, int64_t *uses, bool *new_client);

/* Gives back uses that could not be recorded, so that they are counted
 * with the next recording, which the next use may attempt at once. */
void pat_cache_token_unuse(pat_cache *c, const uint8_t lookup[PAT_LOOKUP_KEY_LEN], int64_t uses);

/* Hands uncounted uses to fn: first those of entries evicted or replaced
 * since the last drain (whatever idle says), then of every entry if idle is 0 (at shutdown, so
 * none is lost), else only of entries whose last recording is idle seconds
 * or more before now (their token went quiet, so no use will carry them).
 * Stops after handing over max entries or, whole shards at a time, after
 * looking at max_visit entries (0 = no limit, each), resuming there next
 * time; returns how many entries it handed over. */
size_t pat_cache_drain_uses(pat_cache *c, int64_t now, int64_t idle, size_t max, size_t max_visit,
                            void (*fn)(void *arg, int64_t token_id, int64_t uses), void *arg);

/* Forgets the entry whose stored hash is hash (no-op if absent), returning
 * the uses it had counted but not yet handed over. Call on every change to
 * a token. Visits every shard: for changes, not requests. */
int64_t pat_cache_token_forget(pat_cache *c, const uint8_t hash[PAT_HASH_LEN]);

int pat_cache_user_get(pat_cache *c, int64_t id, pat_cached_user *out);
/* Interns u->orgs (NULL = "") in place, as pat_cache_token_put does, then
 * keeps u unless the epoch moved since epoch was read. */
void pat_cache_user_put(pat_cache *c, pat_cached_user *u, uint64_t epoch);
void pat_cache_user_forget(pat_cache *c, int64_t id);

/* Frees interned strings no entry has pointed at since the previous call
 * (the flusher calls it every flush, so seconds apart: far longer than a
 * lookup keeps its copy of an entry). Returns how many it freed. */
size_t pat_cache_prune_interned(pat_cache *c);

/* Number of token entries (approximate while others write). */
size_t pat_cache_size(pat_cache *c);

#endif
