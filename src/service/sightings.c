#include "service/sightings.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/text.h"
#include "util/mem.h"

struct pat_sightings {
    pthread_mutex_t lock;
    pat_sighting *items;
    size_t n, capacity;
    uint64_t dropped;
};

pat_sightings *pat_sightings_new(size_t capacity)
{
    pat_sightings *q = pat_calloc(1, sizeof(*q));

    pthread_mutex_init(&q->lock, NULL);
    q->capacity = capacity ? capacity : 1024;
    q->items = pat_calloc(q->capacity, sizeof(*q->items));
    return q;
}

void pat_sightings_free(pat_sightings *q)
{
    if (!q)
        return;
    pthread_mutex_destroy(&q->lock);
    free(q->items);
    free(q);
}

size_t pat_sightings_push(pat_sightings *q, int64_t token_id, int64_t at, const char *ip,
                       const char *method, const char *path, const char *user_agent)
{
    pat_sighting *s;
    size_t n;

    pthread_mutex_lock(&q->lock);
    if (q->n == q->capacity) {
        q->dropped++;
        pthread_mutex_unlock(&q->lock);
        return 0;
    }
    s = &q->items[q->n++];
    s->token_id = token_id;
    s->refresh = false;
    s->use.at = at;
    /* Client-sent text: stored, so valid UTF-8 (as last use). */
    pat_text_copy_clean(s->use.ip, sizeof(s->use.ip), ip);
    pat_text_copy_clean(s->use.method, sizeof(s->use.method), method);
    pat_text_copy_clean(s->use.path, sizeof(s->use.path), path);
    pat_text_copy_clean(s->use.user_agent, sizeof(s->use.user_agent), user_agent);
    n = q->n;
    pthread_mutex_unlock(&q->lock);
    return n;
}

size_t pat_sightings_take(pat_sightings *q, pat_sighting **out)
{
    size_t n;

    pthread_mutex_lock(&q->lock);
    n = q->n;
    *out = NULL;
    if (n) {
        *out = pat_malloc(n * sizeof(**out));
        memcpy(*out, q->items, n * sizeof(**out));
        q->n = 0;
    }
    pthread_mutex_unlock(&q->lock);
    return n;
}

size_t pat_sightings_capacity(const pat_sightings *q)
{
    return q->capacity;
}

uint64_t pat_sightings_dropped(pat_sightings *q)
{
    pthread_mutex_lock(&q->lock);
    uint64_t d = q->dropped;
    pthread_mutex_unlock(&q->lock);
    return d;
}
