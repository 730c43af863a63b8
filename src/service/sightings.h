#ifndef PAT_SERVICE_SIGHTINGS_H
#define PAT_SERVICE_SIGHTINGS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* Presentations worth a look off the request path: a canary token shown
 * to patd, or a token used from a client its cache entry had not seen.
 * Verification pushes them (a lock, a copy, no allocation); the flusher
 * takes them within a second. Fixed capacity: a flood is dropped and
 * counted, never queued without bound. */
typedef struct pat_sightings pat_sightings;

typedef struct pat_sighting {
    int64_t token_id;
    pat_last_use use; /* when, from where, what */
    bool refresh;     /* a client most likely known: record, do not look for news */
} pat_sighting;

pat_sightings *pat_sightings_new(size_t capacity);
void pat_sightings_free(pat_sightings *q);

/* Queues a sighting (strings may be NULL; cut and cleaned to valid UTF-8
 * to fit). Returns how many are queued now, 0 when the queue was full
 * (counted). */
size_t pat_sightings_push(pat_sightings *q, int64_t token_id, int64_t at, const char *ip,
                       const char *method, const char *path, const char *user_agent);

/* Moves what is queued into *out (caller frees; NULL when none), oldest
 * first, and empties the queue. */
size_t pat_sightings_take(pat_sightings *q, pat_sighting **out);

/* Sightings dropped because the queue was full, since start. */
uint64_t pat_sightings_dropped(pat_sightings *q);

/* How many sightings the queue holds at most. */
size_t pat_sightings_capacity(const pat_sightings *q);

#endif
