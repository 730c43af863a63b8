#include "service/ratelimit.h"

#include <pthread.h>
#include <string.h>

#include "util/mem.h"

#define STRIPES 32
#define SETS_PER_STRIPE 128
#define WAYS 4
#define KEY_MAX 80

typedef struct slot {
    char key[KEY_MAX]; /* "" = free */
    int64_t window_start;
    int failures;
} slot;

typedef struct stripe {
    pthread_mutex_t lock;
    slot slots[SETS_PER_STRIPE][WAYS];
} stripe;

struct pat_ratelimit {
    int limit;
    int window;
    stripe stripes[STRIPES];
};

pat_ratelimit *pat_ratelimit_new(int limit, int window_seconds)
{
    pat_ratelimit *r = pat_calloc(1, sizeof(*r));

    r->limit = limit;
    r->window = window_seconds > 0 ? window_seconds : 60;
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_init(&r->stripes[i].lock, NULL);
    return r;
}

void pat_ratelimit_free(pat_ratelimit *r)
{
    if (!r)
        return;
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_destroy(&r->stripes[i].lock);
    free(r);
}

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ULL;
    return h;
}

/* The slot of key in its set, claiming the stalest one if create; NULL if
 * absent and not create. Stripe lock held. */
static slot *find(pat_ratelimit *r, stripe *st, uint64_t h, const char *key, int64_t now,
                  int create)
{
    slot *set = st->slots[(h / STRIPES) % SETS_PER_STRIPE];
    slot *victim = NULL;

    for (int w = 0; w < WAYS; w++) {
        if (set[w].key[0] && strncmp(set[w].key, key, KEY_MAX - 1) == 0)
            return &set[w];
    }
    for (int w = 0; w < WAYS && !victim; w++) {
        if (set[w].key[0] == '\0' || now - set[w].window_start >= r->window)
            victim = &set[w];
    }
    if (!victim) {
        victim = &set[0];
        for (int w = 1; w < WAYS; w++) {
            if (set[w].window_start < victim->window_start)
                victim = &set[w];
        }
    }
    if (!create)
        return NULL;
    memset(victim, 0, sizeof(*victim));
    strncpy(victim->key, key, KEY_MAX - 1);
    victim->window_start = now;
    return victim;
}

int64_t pat_ratelimit_blocked(pat_ratelimit *r, const char *key, int64_t now)
{
    uint64_t h = fnv(key);
    stripe *st = &r->stripes[h % STRIPES];
    int64_t wait = 0;
    slot *s;

    if (r->limit <= 0)
        return 0;
    pthread_mutex_lock(&st->lock);
    s = find(r, st, h, key, now, 0);
    if (s && now - s->window_start < r->window && s->failures >= r->limit)
        wait = s->window_start + r->window - now;
    pthread_mutex_unlock(&st->lock);
    return wait;
}

void pat_ratelimit_fail(pat_ratelimit *r, const char *key, int64_t now)
{
    uint64_t h = fnv(key);
    stripe *st = &r->stripes[h % STRIPES];
    slot *s;

    if (r->limit <= 0)
        return;
    pthread_mutex_lock(&st->lock);
    s = find(r, st, h, key, now, 1);
    if (now - s->window_start >= r->window) {
        s->window_start = now;
        s->failures = 0;
    }
    s->failures++;
    pthread_mutex_unlock(&st->lock);
}

void pat_ratelimit_reset(pat_ratelimit *r, const char *key)
{
    uint64_t h = fnv(key);
    stripe *st = &r->stripes[h % STRIPES];
    slot *s;

    pthread_mutex_lock(&st->lock);
    s = find(r, st, h, key, 0, 0);
    if (s)
        memset(s, 0, sizeof(*s));
    pthread_mutex_unlock(&st->lock);
}
