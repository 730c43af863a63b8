/* Sharded hash tables behind per-shard read-write locks. Lookup keys and
 * stored hashes are PRF outputs, uniformly distributed, so their bytes
 * index shards and buckets directly. Each entry sits in two chains of its
 * shard: by lookup key (requests) and by stored hash (invalidation). */
#include "service/cache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>

#include "util/mem.h"

#define SHARDS 64
#define NEGATIVE_TTL 5 /* seconds a "no such token" answer is trusted */
#define USER_SHARDS 16
#define USER_BUCKETS 256
#define INTERN_BUCKETS 1024
#define ENTRY_CLIENTS 4

/* Fields in the order a verification reads them: with a million tokens
 * each lookup misses the CPU's caches, and a hit then reads the first 104
 * bytes of its entry instead of pieces spread over all 176 (one memory
 * miss fewer, most of the time). The rest serve invalidation. */
typedef struct entry {
    struct entry *next; /* in buckets, by lookup key */
    uint8_t lookup[PAT_LOOKUP_KEY_LEN];
    pat_cached_token t;
    atomic_int_fast64_t pending_uses;  /* uses not yet handed to last-use recording */
    atomic_int_fast64_t last_recorded; /* when a use was last handed over; 0 = never */
    /* fingerprints of recent clients, direct-mapped by their low bits */
    atomic_uint_fast32_t clients[ENTRY_CLIENTS];
    int64_t cached_at;                 /* read only for negative entries */
    struct entry *next_hash;           /* in by_hash, by stored hash */
    uint8_t hash[PAT_HASH_LEN];
} entry;

/* A cache line (or two) of its own: each request writes its shard's lock,
 * and two shards sharing a line would make two HTTP threads fight over it. */
typedef struct shard {
    pthread_rwlock_t lock;
    entry **buckets;
    entry **by_hash;
    size_t nbuckets; /* power of two, for both arrays */
    size_t count;
    size_t evict_cursor;
    /* Uses counted in entries evicted or replaced, until the next drain
     * hands them over: an entry's uses outlive the entry. */
    struct evicted_uses {
        int64_t token_id, uses;
    } * evicted;
    size_t nevicted, evicted_cap;
} __attribute__((aligned(64))) shard;

typedef struct user_entry {
    struct user_entry *next;
    pat_cached_user u;
} user_entry;

typedef struct user_shard {
    pthread_rwlock_t lock;
    user_entry *buckets[USER_BUCKETS];
} __attribute__((aligned(64))) user_shard;

/* A shared string. refs counts the entries (and puts in progress) that
 * point at it; one with none is freed by the second prune that finds it
 * so (pat_cache_prune_interned), seconds after the last entry went, while
 * a copy taken by a lookup lives for microseconds. */
typedef struct interned {
    struct interned *next;
    atomic_size_t refs;
    bool idle; /* had no reference at the last prune (intern_lock) */
    char text[]; /* NUL-terminated */
} interned;

struct pat_cache {
    shard shards[SHARDS];
    size_t max_per_shard;
    atomic_size_t size;
    int drain_cursor; /* shard where a limited drain resumes (flusher only) */
    uint64_t serial;  /* this cache among all made by the process, for user_memo */
    /* Bumped by every forget, under the shard lock; read by every request,
     * so on a line nobody writes per request. */
    _Alignas(64) atomic_uint_fast64_t epoch;
    user_shard users[USER_SHARDS]; /* each aligned: the next line is not epoch's */
    pthread_mutex_t intern_lock;
    interned *intern[INTERN_BUCKETS];
};

static uint64_t hash_word(const uint8_t *h, int offset)
{
    uint64_t v;

    memcpy(&v, h + offset, sizeof(v));
    return v;
}

static shard *shard_for(pat_cache *c, const uint8_t lookup[PAT_LOOKUP_KEY_LEN])
{
    return &c->shards[lookup[0] % SHARDS];
}

static size_t bucket_for(const shard *s, const uint8_t lookup[PAT_LOOKUP_KEY_LEN])
{
    return (size_t)(hash_word(lookup, 8) & (s->nbuckets - 1));
}

static size_t hash_bucket_for(const shard *s, const uint8_t hash[PAT_HASH_LEN])
{
    return (size_t)(hash_word(hash, 16) & (s->nbuckets - 1));
}

pat_cache *pat_cache_new(size_t max_entries)
{
    static atomic_uint_fast64_t serials;
    /* Aligned as its shards and epoch are: malloc promises only 16 bytes. */
    pat_cache *c = pat_calloc_aligned(_Alignof(pat_cache), sizeof(*c));

    c->serial = atomic_fetch_add(&serials, 1) + 1;
    if (max_entries == 0)
        max_entries = 2000000;
    c->max_per_shard = max_entries / SHARDS + 1;
    for (int i = 0; i < SHARDS; i++) {
        pthread_rwlock_init(&c->shards[i].lock, NULL);
        c->shards[i].nbuckets = 256;
        c->shards[i].buckets = pat_calloc(256, sizeof(entry *));
        c->shards[i].by_hash = pat_calloc(256, sizeof(entry *));
    }
    for (int i = 0; i < USER_SHARDS; i++)
        pthread_rwlock_init(&c->users[i].lock, NULL);
    pthread_mutex_init(&c->intern_lock, NULL);
    return c;
}

static void unintern(const char *text);

static void shard_clear(shard *s)
{
    for (size_t b = 0; b < s->nbuckets; b++) {
        entry *e = s->buckets[b];
        while (e) {
            entry *next = e->next;
            free(e);
            e = next;
        }
        s->buckets[b] = NULL;
        s->by_hash[b] = NULL;
    }
    s->count = 0;
    free(s->evicted);
    s->evicted = NULL;
    s->nevicted = s->evicted_cap = 0;
}

static void users_clear(pat_cache *c)
{
    for (int i = 0; i < USER_SHARDS; i++) {
        user_shard *us = &c->users[i];
        pthread_rwlock_wrlock(&us->lock);
        atomic_fetch_add(&c->epoch, 1);
        for (int b = 0; b < USER_BUCKETS; b++) {
            user_entry *e = us->buckets[b];
            while (e) {
                user_entry *next = e->next;
                unintern(e->u.orgs);
                free(e);
                e = next;
            }
            us->buckets[b] = NULL;
        }
        pthread_rwlock_unlock(&us->lock);
    }
}

void pat_cache_free(pat_cache *c)
{
    if (!c)
        return;
    for (int i = 0; i < SHARDS; i++) {
        shard_clear(&c->shards[i]);
        free(c->shards[i].buckets);
        free(c->shards[i].by_hash);
        pthread_rwlock_destroy(&c->shards[i].lock);
    }
    users_clear(c);
    for (int i = 0; i < USER_SHARDS; i++)
        pthread_rwlock_destroy(&c->users[i].lock);
    for (int b = 0; b < INTERN_BUCKETS; b++) {
        interned *e = c->intern[b];
        while (e) {
            interned *next = e->next;
            free(e);
            e = next;
        }
    }
    pthread_mutex_destroy(&c->intern_lock);
    free(c);
}

/* Scope lists repeat across tokens, so a million tokens share a handful of
 * copies. Returns text's copy with one more reference. */
static const char *intern(pat_cache *c, const char *text)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    size_t n = strlen(text);
    interned *e;
    size_t b;

    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)text[i]) * 1099511628211ULL;
    b = (size_t)(h % INTERN_BUCKETS);
    pthread_mutex_lock(&c->intern_lock);
    for (e = c->intern[b]; e; e = e->next) {
        if (strcmp(e->text, text) == 0)
            goto out;
    }
    e = pat_malloc(sizeof(*e) + n + 1);
    atomic_init(&e->refs, 0);
    memcpy(e->text, text, n + 1);
    e->next = c->intern[b];
    c->intern[b] = e;
out:
    atomic_fetch_add(&e->refs, 1);
    e->idle = false;
    pthread_mutex_unlock(&c->intern_lock);
    return e->text;
}

/* Drops a reference taken by intern. */
static void unintern(const char *text)
{
    interned *e = (interned *)(void *)(text - offsetof(interned, text));

    atomic_fetch_sub(&e->refs, 1);
}

size_t pat_cache_prune_interned(pat_cache *c)
{
    size_t freed = 0;

    pthread_mutex_lock(&c->intern_lock);
    for (int b = 0; b < INTERN_BUCKETS; b++) {
        for (interned **p = &c->intern[b]; *p;) {
            interned *e = *p;
            if (atomic_load(&e->refs) > 0) {
                e->idle = false;
            } else if (!e->idle) {
                e->idle = true;
            } else {
                *p = e->next;
                free(e);
                freed++;
                continue;
            }
            p = &e->next;
        }
    }
    pthread_mutex_unlock(&c->intern_lock);
    return freed;
}

/* Frees e, whose links are already undone (write lock held), keeping the
 * uses it counted for the next drain. */
static void drop_entry(pat_cache *c, shard *s, entry *e)
{
    int64_t uses = atomic_load(&e->pending_uses);

    if (uses > 0 && !e->t.negative) {
        if (s->nevicted == s->evicted_cap) {
            s->evicted_cap = s->evicted_cap ? s->evicted_cap * 2 : 16;
            s->evicted = pat_realloc(s->evicted, s->evicted_cap * sizeof(*s->evicted));
        }
        s->evicted[s->nevicted].token_id = e->t.token_id;
        s->evicted[s->nevicted].uses = uses;
        s->nevicted++;
    }
    unintern(e->t.scopes);
    unintern(e->t.cidrs);
    unintern(e->t.orgs);
    free(e);
    s->count--;
    atomic_fetch_sub(&c->size, 1);
}

int pat_cache_token_get(pat_cache *c, const uint8_t lookup[PAT_LOOKUP_KEY_LEN], int64_t now,
                        pat_cached_token *out)
{
    shard *s = shard_for(c, lookup);
    int found = 0;

    pthread_rwlock_rdlock(&s->lock);
    for (entry *e = s->buckets[bucket_for(s, lookup)]; e; e = e->next) {
        if (memcmp(e->lookup, lookup, PAT_LOOKUP_KEY_LEN) == 0) {
            if (!e->t.negative || now - e->cached_at < NEGATIVE_TTL) {
                *out = e->t;
                found = 1;
            }
            break;
        }
    }
    pthread_rwlock_unlock(&s->lock);
    return found;
}

int pat_cache_token_use(pat_cache *c, const uint8_t lookup[PAT_LOOKUP_KEY_LEN], int64_t now,
                        int64_t granularity, uint32_t client, int64_t *uses, bool *new_client)
{
    shard *s = shard_for(c, lookup);
    int record = 1;

    *uses = 1;
    if (new_client)
        *new_client = false;
    pthread_rwlock_rdlock(&s->lock);
    for (entry *e = s->buckets[bucket_for(s, lookup)]; e; e = e->next) {
        if (memcmp(e->lookup, lookup, PAT_LOOKUP_KEY_LEN) != 0)
            continue;
        /* Atomics under the read lock: many threads may count at once, and
         * exactly one of them wins the right to record. */
        int64_t last = atomic_load_explicit(&e->last_recorded, memory_order_relaxed);
        atomic_fetch_add_explicit(&e->pending_uses, 1, memory_order_relaxed);
        record = now - last >= granularity &&
                 atomic_compare_exchange_strong(&e->last_recorded, &last, now);
        if (record)
            *uses = atomic_exchange(&e->pending_uses, 0);
        if (client && new_client) {
            bool known = false;
            for (int i = 0; i < ENTRY_CLIENTS && !known; i++)
                known = atomic_load_explicit(&e->clients[i], memory_order_relaxed) == client;
            if (!known) {
                /* Two threads may both report it: the flusher sorts that out. */
                atomic_store_explicit(&e->clients[client % ENTRY_CLIENTS], client,
                                      memory_order_relaxed);
                *new_client = true;
            }
        }
        break;
    }
    pthread_rwlock_unlock(&s->lock);
    return record;
}

void pat_cache_token_unuse(pat_cache *c, const uint8_t lookup[PAT_LOOKUP_KEY_LEN], int64_t uses)
{
    shard *s = shard_for(c, lookup);

    pthread_rwlock_rdlock(&s->lock);
    for (entry *e = s->buckets[bucket_for(s, lookup)]; e; e = e->next) {
        if (memcmp(e->lookup, lookup, PAT_LOOKUP_KEY_LEN) == 0) {
            atomic_fetch_add(&e->pending_uses, uses);
            atomic_store(&e->last_recorded, 0);
            break;
        }
    }
    pthread_rwlock_unlock(&s->lock);
}

size_t pat_cache_drain_uses(pat_cache *c, int64_t now, int64_t idle, size_t max, size_t max_visit,
                            void (*fn)(void *arg, int64_t token_id, int64_t uses), void *arg)
{
    size_t handed = 0, visited = 0;

    for (int k = 0; k < SHARDS; k++) {
        int i = (c->drain_cursor + k) % SHARDS;
        shard *s = &c->shards[i];

        {
            /* Taken under the write lock, handed over outside it: fn may
             * write to the store. */
            struct evicted_uses *ev;
            size_t nev;
            pthread_rwlock_wrlock(&s->lock);
            ev = s->evicted;
            nev = s->nevicted;
            s->evicted = NULL;
            s->nevicted = s->evicted_cap = 0;
            pthread_rwlock_unlock(&s->lock);
            for (size_t j = 0; j < nev; j++)
                fn(arg, ev[j].token_id, ev[j].uses);
            handed += nev;
            free(ev);
        }
        pthread_rwlock_rdlock(&s->lock);
        for (size_t b = 0; b < s->nbuckets; b++) {
            for (entry *e = s->buckets[b]; e; e = e->next) {
                int64_t n;
                if (e->t.negative ||
                    atomic_load_explicit(&e->pending_uses, memory_order_relaxed) <= 0)
                    continue;
                if (idle > 0 &&
                    now - atomic_load_explicit(&e->last_recorded, memory_order_relaxed) < idle)
                    continue;
                if ((n = atomic_exchange(&e->pending_uses, 0)) > 0) {
                    fn(arg, e->t.token_id, n);
                    handed++;
                }
            }
        }
        visited += s->count;
        pthread_rwlock_unlock(&s->lock);
        if ((max && handed >= max) || (max_visit && visited >= max_visit)) {
            c->drain_cursor = (i + 1) % SHARDS;
            break;
        }
    }
    return handed;
}

/* Doubles the bucket arrays of s (write lock held). */
static void grow(shard *s)
{
    size_t n = s->nbuckets * 2;
    entry **nb = pat_calloc(n, sizeof(entry *));
    entry **nh = pat_calloc(n, sizeof(entry *));

    for (size_t b = 0; b < s->nbuckets; b++) {
        entry *e = s->buckets[b];
        while (e) {
            entry *next = e->next;
            size_t i = (size_t)(hash_word(e->lookup, 8) & (n - 1));
            size_t h = (size_t)(hash_word(e->hash, 16) & (n - 1));
            e->next = nb[i];
            nb[i] = e;
            e->next_hash = nh[h];
            nh[h] = e;
            e = next;
        }
    }
    free(s->buckets);
    free(s->by_hash);
    s->buckets = nb;
    s->by_hash = nh;
    s->nbuckets = n;
}

/* Unlinks e from its shard's hash chain (write lock held). */
static void unlink_hash(shard *s, entry *e)
{
    for (entry **p = &s->by_hash[hash_bucket_for(s, e->hash)]; *p; p = &(*p)->next_hash) {
        if (*p == e) {
            *p = e->next_hash;
            return;
        }
    }
}

/* Drops one entry, walking buckets from a rotating cursor (write lock held). */
static void evict_one(pat_cache *c, shard *s)
{
    for (size_t k = 0; k < s->nbuckets; k++) {
        size_t b = (s->evict_cursor + k) & (s->nbuckets - 1);
        entry *e = s->buckets[b];
        if (e) {
            s->buckets[b] = e->next;
            unlink_hash(s, e);
            drop_entry(c, s, e);
            s->evict_cursor = b + 1;
            return;
        }
    }
}

uint64_t pat_cache_epoch(pat_cache *c)
{
    return atomic_load(&c->epoch);
}

void pat_cache_token_put(pat_cache *c, const uint8_t lookup[PAT_LOOKUP_KEY_LEN],
                         const uint8_t hash[PAT_HASH_LEN], pat_cached_token *entry_io,
                         const char *scopes, const char *cidrs, int64_t now, uint64_t epoch)
{
    shard *s = shard_for(c, lookup);
    entry *fresh = pat_malloc(sizeof(*fresh));
    size_t b;

    entry_io->scopes = intern(c, scopes ? scopes : "");
    entry_io->cidrs = intern(c, cidrs ? cidrs : "");
    entry_io->orgs = intern(c, entry_io->orgs ? entry_io->orgs : "");
    memcpy(fresh->lookup, lookup, PAT_LOOKUP_KEY_LEN);
    memcpy(fresh->hash, hash, PAT_HASH_LEN);
    fresh->cached_at = now;
    atomic_init(&fresh->pending_uses, 0);
    atomic_init(&fresh->last_recorded, 0);
    for (int i = 0; i < ENTRY_CLIENTS; i++)
        atomic_init(&fresh->clients[i], 0);
    fresh->t = *entry_io;
    pthread_rwlock_wrlock(&s->lock);
    if (atomic_load(&c->epoch) != epoch) {
        /* Something changed while the caller read the store: what it read
         * may be stale, so it must not outlive this request. The caller's
         * copy keeps pointing at the strings for this request only. */
        unintern(fresh->t.scopes);
        unintern(fresh->t.cidrs);
        unintern(fresh->t.orgs);
        free(fresh);
        goto out;
    }
    b = bucket_for(s, lookup);
    for (entry **p = &s->buckets[b]; *p; p = &(*p)->next) {
        if (memcmp((*p)->lookup, lookup, PAT_LOOKUP_KEY_LEN) == 0) {
            entry *old = *p;
            *p = old->next;
            unlink_hash(s, old);
            drop_entry(c, s, old);
            break;
        }
    }
    if (s->count >= c->max_per_shard)
        evict_one(c, s);
    if (s->count >= s->nbuckets)
        grow(s);
    b = bucket_for(s, lookup);
    fresh->next = s->buckets[b];
    s->buckets[b] = fresh;
    b = hash_bucket_for(s, hash);
    fresh->next_hash = s->by_hash[b];
    s->by_hash[b] = fresh;
    s->count++;
    atomic_fetch_add(&c->size, 1);
out:
    pthread_rwlock_unlock(&s->lock);
}

int64_t pat_cache_token_forget(pat_cache *c, const uint8_t hash[PAT_HASH_LEN])
{
    int64_t pending = 0;

    /* The entry's shard follows its lookup key, which cannot be derived
     * from the stored hash, so ask every shard; each looks in one chain. */
    for (int i = 0; i < SHARDS; i++) {
        shard *s = &c->shards[i];
        pthread_rwlock_wrlock(&s->lock);
        atomic_fetch_add(&c->epoch, 1);
        for (entry **p = &s->by_hash[hash_bucket_for(s, hash)]; *p; p = &(*p)->next_hash) {
            entry *e = *p;
            if (memcmp(e->hash, hash, PAT_HASH_LEN) != 0)
                continue;
            *p = e->next_hash;
            for (entry **q = &s->buckets[bucket_for(s, e->lookup)]; *q; q = &(*q)->next) {
                if (*q == e) {
                    *q = e->next;
                    break;
                }
            }
            /* The caller counts these uses; drop_entry must not too. */
            pending += atomic_exchange(&e->pending_uses, 0);
            drop_entry(c, s, e);
            break;
        }
        pthread_rwlock_unlock(&s->lock);
    }
    return pending;
}

static user_shard *user_shard_for(pat_cache *c, int64_t id)
{
    return &c->users[(uint64_t)id % USER_SHARDS];
}

static size_t user_bucket(int64_t id)
{
    return (size_t)(((uint64_t)id / USER_SHARDS) % USER_BUCKETS);
}

/* Per thread, the owners it read last, each valid while the cache's epoch
 * is the one read before it: every request reads its token's owner, and
 * with few owners their shard's lock would be a line both HTTP threads
 * write on every request. Any forget moves the epoch, so a change is seen
 * by the next request as surely as through the lock. */
#define USER_MEMO 8

typedef struct user_memo {
    uint64_t serial; /* the cache's; 0 = empty */
    uint64_t epoch;
    pat_cached_user u;
} user_memo;

static _Thread_local user_memo user_memos[USER_MEMO];

int pat_cache_user_get(pat_cache *c, int64_t id, pat_cached_user *out)
{
    uint64_t epoch = atomic_load(&c->epoch);
    user_memo *m = &user_memos[(uint64_t)id % USER_MEMO];
    user_shard *us;
    int found = 0;

    if (m->serial == c->serial && m->epoch == epoch && m->u.id == id) {
        *out = m->u;
        return 1;
    }
    us = user_shard_for(c, id);
    pthread_rwlock_rdlock(&us->lock);
    for (user_entry *e = us->buckets[user_bucket(id)]; e; e = e->next) {
        if (e->u.id == id) {
            *out = e->u;
            found = 1;
            break;
        }
    }
    pthread_rwlock_unlock(&us->lock);
    if (found) {
        m->serial = c->serial;
        m->epoch = epoch;
        m->u = *out;
    }
    return found;
}

void pat_cache_user_put(pat_cache *c, pat_cached_user *u, uint64_t epoch)
{
    user_shard *us = user_shard_for(c, u->id);
    user_entry *fresh = pat_malloc(sizeof(*fresh));
    size_t b = user_bucket(u->id);

    u->orgs = intern(c, u->orgs ? u->orgs : "");
    fresh->u = *u;
    pthread_rwlock_wrlock(&us->lock);
    if (atomic_load(&c->epoch) != epoch) {
        unintern(fresh->u.orgs);
        free(fresh);
        goto out;
    }
    for (user_entry **p = &us->buckets[b]; *p; p = &(*p)->next) {
        if ((*p)->u.id == u->id) {
            user_entry *old = *p;
            fresh->next = old->next;
            *p = fresh;
            unintern(old->u.orgs);
            free(old);
            goto out;
        }
    }
    fresh->next = us->buckets[b];
    us->buckets[b] = fresh;
out:
    pthread_rwlock_unlock(&us->lock);
}

void pat_cache_user_forget(pat_cache *c, int64_t id)
{
    user_shard *us = user_shard_for(c, id);

    pthread_rwlock_wrlock(&us->lock);
    atomic_fetch_add(&c->epoch, 1);
    for (user_entry **p = &us->buckets[user_bucket(id)]; *p; p = &(*p)->next) {
        if ((*p)->u.id == id) {
            user_entry *old = *p;
            *p = old->next;
            unintern(old->u.orgs);
            free(old);
            break;
        }
    }
    pthread_rwlock_unlock(&us->lock);
}

size_t pat_cache_size(pat_cache *c)
{
    return atomic_load(&c->size);
}
