#ifndef PAT_SERVICE_LIVEFILTER_H
#define PAT_SERVICE_LIVEFILTER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/token.h"

/* A Bloom filter of the stored hashes of every live token value (current
 * and previous): "no" means certainly not a token, so verification answers
 * it without a store lookup; "maybe" means look it up. Sized for 1 % false
 * answers at its capacity. Lookups and adds are lock-free (atomic words);
 * nothing is ever removed (a deleted token's bits stay: a false "maybe"),
 * so the owner rebuilds it once more values were added than it was sized
 * for. */
typedef struct pat_livefilter pat_livefilter;

/* A filter for about capacity values (at least 1024). Owned by the caller. */
pat_livefilter *pat_livefilter_new(size_t capacity);
void pat_livefilter_free(pat_livefilter *f);

/* Adds a value's stored hash; safe from any thread. */
void pat_livefilter_add(pat_livefilter *f, const uint8_t hash[PAT_HASH_LEN]);

/* false if hash was certainly never added. */
bool pat_livefilter_may_contain(const pat_livefilter *f, const uint8_t hash[PAT_HASH_LEN]);

/* Values added, and the number it was sized for. */
size_t pat_livefilter_count(const pat_livefilter *f);
size_t pat_livefilter_capacity(const pat_livefilter *f);

/* Bytes of memory it holds. */
size_t pat_livefilter_bytes(const pat_livefilter *f);

#endif
