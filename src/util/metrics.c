#include "util/metrics.h"

#include <stdatomic.h>
#include <string.h>

#include "util/error.h"

#define STATUS_MIN 100
#define STATUS_MAX 599
#define BUCKETS 14

static const char *const outcome_names[PAT_VERIFY__COUNT] = {
    "ok",      "malformed",      "unknown",       "disabled", "expired", "owner_disabled",
    "no_permission", "address", "insufficient_scope", "rate_limited",
};

/* Upper bounds in microseconds; the last bucket is +Inf. */
static const int64_t bucket_us[BUCKETS - 1] = {50,   100,   250,   500,    1000,   2500,  5000,
                                               10000, 25000, 50000, 100000, 250000, 1000000};

static atomic_uint_fast64_t verify_count[PAT_VERIFY__COUNT];
static atomic_uint_fast64_t cache_hits, cache_misses, store_writes;
static atomic_int_fast64_t last_flush_at;
static atomic_uint_fast64_t flushed_tokens;
static atomic_uint_fast64_t requests[PAT_METRICS_ROUTES_MAX][STATUS_MAX - STATUS_MIN + 1];
static atomic_uint_fast64_t latency[BUCKETS];
static atomic_uint_fast64_t latency_sum_us, latency_count;
static const char *_Atomic route_names[PAT_METRICS_ROUTES_MAX];

void pat_metrics_verify(pat_verify_outcome o)
{
    atomic_fetch_add_explicit(&verify_count[o], 1, memory_order_relaxed);
}

void pat_metrics_cache(int hit)
{
    atomic_fetch_add_explicit(hit ? &cache_hits : &cache_misses, 1, memory_order_relaxed);
}

void pat_metrics_store_write(void)
{
    atomic_fetch_add_explicit(&store_writes, 1, memory_order_relaxed);
}

uint64_t pat_metrics_store_writes(void)
{
    return atomic_load(&store_writes);
}

void pat_metrics_lastuse_flush(int64_t at, uint64_t tokens)
{
    atomic_store(&last_flush_at, at);
    atomic_fetch_add_explicit(&flushed_tokens, tokens, memory_order_relaxed);
}

void pat_metrics_request(int route, const char *pattern, unsigned status, int64_t micros)
{
    int b = 0;

    if (route < 0 || route >= PAT_METRICS_ROUTES_MAX)
        route = PAT_METRICS_ROUTES_MAX - 1;
    if (status < STATUS_MIN || status > STATUS_MAX)
        status = 500;
    if (!atomic_load_explicit(&route_names[route], memory_order_relaxed))
        atomic_store(&route_names[route], pattern);
    atomic_fetch_add_explicit(&requests[route][status - STATUS_MIN], 1, memory_order_relaxed);
    while (b < BUCKETS - 1 && micros > bucket_us[b])
        b++;
    atomic_fetch_add_explicit(&latency[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&latency_sum_us, (uint64_t)micros, memory_order_relaxed);
    atomic_fetch_add_explicit(&latency_count, 1, memory_order_relaxed);
}

int pat_metrics_format(pat_buf *o, uint64_t cache_size, uint64_t lastuse_dropped, int64_t now)
{
    uint64_t cumulative = 0;
    int64_t flushed = atomic_load(&last_flush_at);
    int rc = 0;

    rc |= pat_buf_printf(o, "# HELP patd_requests_total HTTP requests by route and status.\n"
                            "# TYPE patd_requests_total counter\n");
    for (int r = 0; r < PAT_METRICS_ROUTES_MAX; r++) {
        const char *name = atomic_load(&route_names[r]);
        if (!name)
            continue;
        for (int s = 0; s <= STATUS_MAX - STATUS_MIN; s++) {
            uint64_t n = atomic_load_explicit(&requests[r][s], memory_order_relaxed);
            if (n)
                rc |= pat_buf_printf(o, "patd_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
                                     name, s + STATUS_MIN, (unsigned long long)n);
        }
    }
    rc |= pat_buf_printf(o, "# HELP patd_request_duration_seconds Time to answer a request.\n"
                            "# TYPE patd_request_duration_seconds histogram\n");
    for (int b = 0; b < BUCKETS; b++) {
        cumulative += atomic_load_explicit(&latency[b], memory_order_relaxed);
        if (b < BUCKETS - 1)
            rc |= pat_buf_printf(o, "patd_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
                                 (double)bucket_us[b] / 1e6, (unsigned long long)cumulative);
        else
            rc |= pat_buf_printf(o, "patd_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
                                 (unsigned long long)cumulative);
    }
    rc |= pat_buf_printf(o, "patd_request_duration_seconds_sum %.6f\n",
                         (double)atomic_load(&latency_sum_us) / 1e6);
    rc |= pat_buf_printf(o, "patd_request_duration_seconds_count %llu\n",
                         (unsigned long long)atomic_load(&latency_count));
    rc |= pat_buf_printf(o, "# HELP patd_verify_total Token verifications by outcome.\n"
                            "# TYPE patd_verify_total counter\n");
    for (int i = 0; i < PAT_VERIFY__COUNT; i++)
        rc |= pat_buf_printf(o, "patd_verify_total{outcome=\"%s\"} %llu\n", outcome_names[i],
                             (unsigned long long)atomic_load(&verify_count[i]));
    rc |= pat_buf_printf(
        o,
        "# HELP patd_cache_hits_total Verification cache hits.\n"
        "# TYPE patd_cache_hits_total counter\n"
        "patd_cache_hits_total %llu\n"
        "# HELP patd_cache_misses_total Verification cache misses (store lookups).\n"
        "# TYPE patd_cache_misses_total counter\n"
        "patd_cache_misses_total %llu\n"
        "# HELP patd_cache_entries Tokens in the verification cache.\n"
        "# TYPE patd_cache_entries gauge\n"
        "patd_cache_entries %llu\n"
        "# HELP patd_store_writes_total Writes to the store.\n"
        "# TYPE patd_store_writes_total counter\n"
        "patd_store_writes_total %llu\n"
        "# HELP patd_last_use_flushed_total Token last-use records written.\n"
        "# TYPE patd_last_use_flushed_total counter\n"
        "patd_last_use_flushed_total %llu\n"
        "# HELP patd_last_use_dropped_total Uses not recorded because the buffer was full.\n"
        "# TYPE patd_last_use_dropped_total counter\n"
        "patd_last_use_dropped_total %llu\n"
        "# HELP patd_last_use_flush_age_seconds Seconds since the last flush of last use.\n"
        "# TYPE patd_last_use_flush_age_seconds gauge\n"
        "patd_last_use_flush_age_seconds %lld\n",
        (unsigned long long)atomic_load(&cache_hits), (unsigned long long)atomic_load(&cache_misses),
        (unsigned long long)cache_size, (unsigned long long)atomic_load(&store_writes),
        (unsigned long long)atomic_load(&flushed_tokens), (unsigned long long)lastuse_dropped,
        (long long)(flushed ? now - flushed : -1));
    return rc ? PAT_ETOOBIG : PAT_OK;
}
