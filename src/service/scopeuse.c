#include "service/scopeuse.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "util/mem.h"

#define STRIPES 16

typedef struct stripe {
    pthread_mutex_t lock;
    pat_scope_use *slots; /* token_id 0 = empty */
    size_t used;
} stripe;

struct pat_scopeuse {
    stripe stripes[STRIPES];
    size_t per_stripe; /* a power of two */
    uint8_t key[crypto_shorthash_KEYBYTES];
    atomic_uint_fast64_t dropped;
};

pat_scopeuse *pat_scopeuse_new(size_t capacity)
{
    pat_scopeuse *u = pat_calloc(1, sizeof(*u));
    size_t per = 16;

    if (capacity == 0)
        capacity = 16384;
    while (per * STRIPES < capacity)
        per *= 2;
    u->per_stripe = per;
    randombytes_buf(u->key, sizeof(u->key));
    for (int i = 0; i < STRIPES; i++) {
        pthread_mutex_init(&u->stripes[i].lock, NULL);
        u->stripes[i].slots = pat_calloc(per, sizeof(pat_scope_use));
    }
    return u;
}

void pat_scopeuse_free(pat_scopeuse *u)
{
    if (!u)
        return;
    for (int i = 0; i < STRIPES; i++) {
        pthread_mutex_destroy(&u->stripes[i].lock);
        free(u->stripes[i].slots);
    }
    free(u);
}

int pat_scopeuse_record(pat_scopeuse *u, int64_t token_id, const char *scope, int64_t at)
{
    size_t len = strnlen(scope, PAT_SCOPE_NAME_MAX + 1), mask = u->per_stripe - 1;
    uint8_t in[sizeof(int64_t) + PAT_SCOPE_NAME_MAX + 1], h[crypto_shorthash_BYTES];
    uint64_t hv;
    stripe *st;
    int rc = -1;

    if (len > PAT_SCOPE_NAME_MAX || token_id == 0)
        return -1; /* never a granted scope */
    memcpy(in, &token_id, sizeof(token_id));
    memcpy(in + sizeof(token_id), scope, len);
    crypto_shorthash(h, in, sizeof(token_id) + len, u->key);
    memcpy(&hv, h, sizeof(hv));
    st = &u->stripes[hv % STRIPES];
    pthread_mutex_lock(&st->lock);
    /* Open addressing, at most 3/4 full. */
    for (size_t k = 0, i = (size_t)(hv / STRIPES) & mask; k <= mask; k++, i = (i + 1) & mask) {
        pat_scope_use *s = &st->slots[i];
        if (s->token_id == token_id && strcmp(s->scope, scope) == 0) {
            s->uses++;
            if (at > s->last_used_at)
                s->last_used_at = at;
            rc = 0;
            break;
        }
        if (s->token_id == 0) {
            if (st->used >= u->per_stripe * 3 / 4)
                break;
            s->token_id = token_id;
            memcpy(s->scope, scope, len);
            s->scope[len] = '\0';
            s->uses = 1;
            s->last_used_at = at;
            st->used++;
            rc = 0;
            break;
        }
    }
    pthread_mutex_unlock(&st->lock);
    if (rc < 0)
        atomic_fetch_add_explicit(&u->dropped, 1, memory_order_relaxed);
    return rc;
}

void pat_scopeuse_take(pat_scopeuse *u, pat_scope_use **out, size_t *n)
{
    pat_scope_use *list = NULL;
    size_t count = 0, cap = 0;

    for (int i = 0; i < STRIPES; i++) {
        stripe *st = &u->stripes[i];
        pthread_mutex_lock(&st->lock);
        if (st->used) {
            if (count + st->used > cap) {
                cap = (count + st->used) * 2;
                list = pat_realloc(list, cap * sizeof(*list));
            }
            for (size_t k = 0; k < u->per_stripe; k++) {
                if (st->slots[k].token_id) {
                    list[count++] = st->slots[k];
                    memset(&st->slots[k], 0, sizeof(st->slots[k]));
                }
            }
            st->used = 0;
        }
        pthread_mutex_unlock(&st->lock);
    }
    *out = list;
    *n = count;
}

uint64_t pat_scopeuse_dropped(pat_scopeuse *u)
{
    return atomic_load(&u->dropped);
}
