#include "service/jwtcache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

#define SLOTS 16384   /* ~8 MiB: JWTs live minutes, few are in use at once */
#define STRIPES 256
#define GENS 4096

typedef struct slot {
    uint8_t lookup[PAT_LOOKUP_KEY_LEN];
    bool used;
    pat_jwt_entry e;
} slot;

struct pat_jwtcache {
    pthread_rwlock_t locks[STRIPES];
    slot *slots;
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

static size_t slot_of(const uint8_t lookup[PAT_LOOKUP_KEY_LEN])
{
    uint64_t v;

    memcpy(&v, lookup, sizeof(v)); /* a keyed hash: its bytes are uniform */
    return (size_t)(v % SLOTS);
}

bool pat_jwtcache_get(pat_jwtcache *c, const uint8_t lookup[PAT_LOOKUP_KEY_LEN],
                      pat_jwt_entry *out)
{
    size_t i = slot_of(lookup);
    pthread_rwlock_t *lock = &c->locks[i % STRIPES];
    bool hit;

    pthread_rwlock_rdlock(lock);
    hit = c->slots[i].used && memcmp(c->slots[i].lookup, lookup, PAT_LOOKUP_KEY_LEN) == 0;
    if (hit)
        *out = c->slots[i].e;
    pthread_rwlock_unlock(lock);
    return hit && out->token_gen == atomic_load(&c->token_gen[bucket(out->pat_id)]) &&
           out->user_gen == atomic_load(&c->user_gen[bucket(out->user_id)]) &&
           out->global_gen == atomic_load(&c->global_gen);
}

void pat_jwtcache_put(pat_jwtcache *c, const uint8_t lookup[PAT_LOOKUP_KEY_LEN],
                      const pat_jwt_entry *e)
{
    size_t i = slot_of(lookup);
    pthread_rwlock_t *lock = &c->locks[i % STRIPES];

    pthread_rwlock_wrlock(lock);
    memcpy(c->slots[i].lookup, lookup, PAT_LOOKUP_KEY_LEN);
    c->slots[i].e = *e;
    c->slots[i].used = true;
    pthread_rwlock_unlock(lock);
}
