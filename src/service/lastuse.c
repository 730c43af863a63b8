#include "service/lastuse.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "core/text.h"
#include "util/mem.h"

#define STRIPES 64

typedef struct slot {
    int64_t token_id; /* 0 = empty */
    pat_token_touch u;
} slot;

/* One half of a stripe: an open-addressing table and the indexes of its
 * used slots, so a flush walks only what was used. */
typedef struct half {
    slot *slots;
    uint32_t *filled;
    size_t used;
} half;

/* Requests record into the active half; a flush swaps the halves under the
 * lock and empties the other one without it, so recording never waits for
 * a flush to copy, however slowly the flusher runs. */
typedef struct stripe {
    pthread_mutex_t lock;
    half halves[2];
    int active;
} stripe;

struct pat_lastuse {
    stripe stripes[STRIPES];
    size_t per_stripe;         /* slots of one half, a power of two */
    pthread_mutex_t take_lock; /* one flush at a time owns the inactive halves */
    atomic_uint_fast64_t dropped;
};

pat_lastuse *pat_lastuse_new(size_t capacity)
{
    pat_lastuse *l = pat_calloc(1, sizeof(*l));
    size_t per = 16;

    if (capacity == 0)
        capacity = 32768;
    while (per * STRIPES < capacity)
        per *= 2;
    l->per_stripe = per;
    pthread_mutex_init(&l->take_lock, NULL);
    for (int i = 0; i < STRIPES; i++) {
        pthread_mutex_init(&l->stripes[i].lock, NULL);
        for (int h = 0; h < 2; h++) {
            l->stripes[i].halves[h].slots = pat_calloc(per, sizeof(slot));
            l->stripes[i].halves[h].filled = pat_calloc(per, sizeof(uint32_t));
        }
    }
    return l;
}

void pat_lastuse_free(pat_lastuse *l)
{
    if (!l)
        return;
    for (int i = 0; i < STRIPES; i++) {
        for (int h = 0; h < 2; h++) {
            free(l->stripes[i].halves[h].slots);
            free(l->stripes[i].halves[h].filled);
        }
        pthread_mutex_destroy(&l->stripes[i].lock);
    }
    pthread_mutex_destroy(&l->take_lock);
    free(l);
}

static void copy(char *dst, size_t dstsz, const char *src)
{
    /* Client-sent text: stored, so made valid UTF-8 (PostgreSQL's text
     * refuses anything else, and so does JSON). */
    pat_text_copy_clean(dst, dstsz, src);
}

int pat_lastuse_record(pat_lastuse *l, int64_t token_id, int64_t uses, int64_t at, const char *ip,
                       const char *method, const char *path, const char *user_agent)
{
    stripe *st = &l->stripes[(uint64_t)token_id % STRIPES];
    size_t mask = l->per_stripe - 1;
    size_t i = (size_t)(((uint64_t)token_id / STRIPES) * 0x9E3779B97F4A7C15ULL) & mask;
    int result;
    slot *s = NULL;
    half *h;

    pthread_mutex_lock(&st->lock);
    h = &st->halves[st->active];
    /* Open addressing, kept at most 3/4 full so probes stay short. */
    for (size_t k = 0; k <= mask; k++) {
        slot *c = &h->slots[(i + k) & mask];
        if (c->token_id == token_id) {
            s = c;
            break;
        }
        if (c->token_id == 0) {
            if (h->used >= l->per_stripe * 3 / 4)
                break;
            s = c;
            s->token_id = token_id;
            s->u.token_id = token_id;
            s->u.uses = 0;
            s->u.last.at = 0;
            h->filled[h->used++] = (uint32_t)((i + k) & mask);
            break;
        }
    }
    if (s) {
        s->u.uses += uses;
        if (at && at >= s->u.last.at) {
            s->u.last.at = at;
            copy(s->u.last.ip, sizeof(s->u.last.ip), ip);
            copy(s->u.last.method, sizeof(s->u.last.method), method);
            copy(s->u.last.path, sizeof(s->u.last.path), path);
            copy(s->u.last.user_agent, sizeof(s->u.last.user_agent), user_agent);
        }
    } else {
        atomic_fetch_add_explicit(&l->dropped, (uint_fast64_t)uses, memory_order_relaxed);
    }
    result = !s                             ? PAT_LASTUSE_FULL
             : h->used >= l->per_stripe / 2 ? PAT_LASTUSE_FILLING
                                            : PAT_LASTUSE_OK;
    pthread_mutex_unlock(&st->lock);
    return result;
}

void pat_lastuse_take(pat_lastuse *l, pat_token_touch **out, size_t *n)
{
    pat_token_touch *list = NULL;
    size_t count = 0, alloc = 0;

    pthread_mutex_lock(&l->take_lock);
    for (int i = 0; i < STRIPES; i++) {
        stripe *st = &l->stripes[i];
        half *h;

        pthread_mutex_lock(&st->lock);
        h = &st->halves[st->active];
        st->active ^= 1;
        pthread_mutex_unlock(&st->lock);
        /* Nobody records into h now: it is ours until the next swap, which
         * only a later take (after this one) makes. */
        if (!h->used)
            continue;
        if (count + h->used > alloc) {
            alloc = (count + h->used) * 2;
            list = pat_realloc(list, alloc * sizeof(*list));
        }
        for (size_t k = 0; k < h->used; k++) {
            slot *c = &h->slots[h->filled[k]];
            list[count++] = c->u;
            c->token_id = 0;
        }
        h->used = 0;
    }
    pthread_mutex_unlock(&l->take_lock);
    *out = list;
    *n = count;
}

size_t pat_lastuse_capacity(const pat_lastuse *l)
{
    return l->per_stripe * STRIPES;
}

uint64_t pat_lastuse_dropped(pat_lastuse *l)
{
    return atomic_load(&l->dropped);
}
