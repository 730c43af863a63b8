/* Stored hashes are HMAC outputs, uniformly distributed, so two 64-bit
 * words of one give the filter's k indices by double hashing
 * (Kirsch-Mitzenmacher): no hash function of our own. */
#include "service/livefilter.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

#define BITS_PER_VALUE 10 /* with K = 7: about 0.8 % false answers at capacity */
#define K 7

struct pat_livefilter {
    size_t nbits; /* a multiple of 64 */
    size_t capacity;
    atomic_size_t count;
    _Atomic uint64_t *words;
};

pat_livefilter *pat_livefilter_new(size_t capacity)
{
    pat_livefilter *f = pat_calloc(1, sizeof(*f));

    if (capacity < 1024)
        capacity = 1024;
    f->capacity = capacity;
    f->nbits = (capacity * BITS_PER_VALUE + 63) / 64 * 64;
    f->words = pat_calloc(f->nbits / 64, sizeof(*f->words));
    atomic_init(&f->count, 0);
    return f;
}

void pat_livefilter_free(pat_livefilter *f)
{
    if (!f)
        return;
    free((void *)f->words);
    free(f);
}

static void indices(const pat_livefilter *f, const uint8_t hash[PAT_HASH_LEN], size_t out[K])
{
    uint64_t h1, h2;

    memcpy(&h1, hash, sizeof(h1));
    memcpy(&h2, hash + 8, sizeof(h2));
    h2 |= 1; /* odd: the k probes never collapse onto one bit */
    for (int i = 0; i < K; i++)
        out[i] = (size_t)((h1 + (uint64_t)i * h2) % f->nbits);
}

void pat_livefilter_add(pat_livefilter *f, const uint8_t hash[PAT_HASH_LEN])
{
    size_t idx[K];

    indices(f, hash, idx);
    for (int i = 0; i < K; i++)
        atomic_fetch_or_explicit(&f->words[idx[i] / 64], (uint64_t)1 << (idx[i] % 64),
                                 memory_order_relaxed);
    atomic_fetch_add_explicit(&f->count, 1, memory_order_relaxed);
}

bool pat_livefilter_may_contain(const pat_livefilter *f, const uint8_t hash[PAT_HASH_LEN])
{
    size_t idx[K];

    indices(f, hash, idx);
    for (int i = 0; i < K; i++) {
        uint64_t w = atomic_load_explicit(&f->words[idx[i] / 64], memory_order_relaxed);
        if (!(w & ((uint64_t)1 << (idx[i] % 64))))
            return false;
    }
    return true;
}

size_t pat_livefilter_count(const pat_livefilter *f)
{
    return atomic_load_explicit(&f->count, memory_order_relaxed);
}

size_t pat_livefilter_capacity(const pat_livefilter *f)
{
    return f->capacity;
}

size_t pat_livefilter_bytes(const pat_livefilter *f)
{
    return sizeof(*f) + f->nbits / 8;
}
