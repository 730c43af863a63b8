#include "service/jwtcache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

#define SLOTS 16384   /* ~8 MiB: JWTs live minutes, few are in use at once */
#define WAYS 4        /* per set: two JWTs whose keys meet no longer evict each other */
#define SETS (SLOTS / WAYS)
#define STRIPES 256
#define GENS 4096

typedef struct slot {
    uint8_t lookup[PAT_LOOKUP_KEY_LEN];
    bool used;
    pat_jwt_entry e;
} slot;

struct pat_jwtcache {
    pthread_rwlock_t locks[STRIPES];
    slot *slots;                 /* SETS sets of WAYS slots */
    _Atomic uint8_t next[SETS];  /* the way a set replaces next */
    _Atomic uint32_t token_gen[GENS];
    _Atomic uint32_t user_gen[GENS];
    _Atomic uint32_t global_gen;
};

pat_jwtcache *pat_jwtcache_new(void)
{
    pat_jwtcache *c = pat_calloc(1, sizeof(*c));

    c->slots = pat_calloc(SLOTS, sizeof(slot));
    for (int i = 0; i < STRIPES; i++)
        pthread_rwlock_init(&c->locks[i], NULL);
    return c;
}

void pat_jwtcache_free(pat_jwtcache *c)
{
    if (!c)
        return;
    for (int i = 0; i < STRIPES; i++)
        pthread_rwlock_destroy(&c->locks[i]);
    free(c->slots);
    free(c);
}

static size_t bucket(int64_t id)
{
    return (size_t)((uint64_t)id % GENS);
}

void pat_jwtcache_bump_token(pat_jwtcache *c, int64_t token_id)
{
    atomic_fetch_add(&c->token_gen[bucket(token_id)], 1);
}

void pat_jwtcache_bump_user(pat_jwtcache *c, int64_t user_id)
{
    atomic_fetch_add(&c->user_gen[bucket(user_id)], 1);
}

void pat_jwtcache_bump_all(pat_jwtcache *c)
{
    atomic_fetch_add(&c->global_gen, 1);
}

void pat_jwtcache_snapshot(pat_jwtcache *c, pat_jwt_entry *e)
{
    e->token_gen = atomic_load(&c->token_gen[bucket(e->pat_id)]);
    e->user_gen = atomic_load(&c->user_gen[bucket(e->user_id)]);
    e->global_gen = atomic_load(&c->global_gen);
}

static size_t set_of(const uint8_t lookup[PAT_LOOKUP_KEY_LEN])
{
    uint64_t v;

    memcpy(&v, lookup, sizeof(v)); /* a keyed hash: its bytes are uniform */
    return (size_t)(v % SETS);
}

bool pat_jwtcache_get(pat_jwtcache *c, const uint8_t lookup[PAT_LOOKUP_KEY_LEN],
                      pat_jwt_entry *out)
{
    size_t set = set_of(lookup);
    pthread_rwlock_t *lock = &c->locks[set % STRIPES];
    bool hit = false;

    pthread_rwlock_rdlock(lock);
    for (size_t w = 0; w < WAYS && !hit; w++) {
        const slot *s = &c->slots[set * WAYS + w];
        if ((hit = s->used && memcmp(s->lookup, lookup, PAT_LOOKUP_KEY_LEN) == 0))
            *out = s->e;
    }
    pthread_rwlock_unlock(lock);
    return hit && out->token_gen == atomic_load(&c->token_gen[bucket(out->pat_id)]) &&
           out->user_gen == atomic_load(&c->user_gen[bucket(out->user_id)]) &&
           out->global_gen == atomic_load(&c->global_gen);
}

void pat_jwtcache_put(pat_jwtcache *c, const uint8_t lookup[PAT_LOOKUP_KEY_LEN],
                      const pat_jwt_entry *e)
{
    size_t set = set_of(lookup), way = WAYS;
    pthread_rwlock_t *lock = &c->locks[set % STRIPES];
    slot *s;

    pthread_rwlock_wrlock(lock);
    /* Its own slot, else a free one, else the set's next in turn. */
    for (size_t w = 0; w < WAYS && way == WAYS; w++) {
        s = &c->slots[set * WAYS + w];
        if (s->used && memcmp(s->lookup, lookup, PAT_LOOKUP_KEY_LEN) == 0)
            way = w;
    }
    for (size_t w = 0; w < WAYS && way == WAYS; w++)
        if (!c->slots[set * WAYS + w].used)
            way = w;
    if (way == WAYS)
        way = atomic_fetch_add(&c->next[set], 1) % WAYS;
    s = &c->slots[set * WAYS + way];
    memcpy(s->lookup, lookup, PAT_LOOKUP_KEY_LEN);
    s->e = *e;
    s->used = true;
    pthread_rwlock_unlock(lock);
}
