#include "util/metrics.h"

#include <stdatomic.h>
#include <stddef.h>
#include <string.h>

#include "util/error.h"

#define STATUS_MIN 100
#define STATUS_MAX 599
#define BUCKETS 14

static const char *const outcome_names[PAT_VERIFY__COUNT] = {
    "ok",
    "malformed",
    "unknown",
    "disabled",
    "expired",
    "owner_disabled",
    "no_permission",
    "address",
    "insufficient_scope",
    "rate_limited",
};

/* Upper bounds in microseconds; the last bucket is +Inf. */
static const int64_t bucket_us[BUCKETS - 1] = {50,    100,   250,   500,    1000,   2500,   5000,
                                               10000, 25000, 50000, 100000, 250000, 1000000};

/* Counters bumped on every request live in lanes: each thread adds to its
 * own lane (threads beyond LANES share, still correctly, as adds are
 * atomic), so two HTTP threads never fight over one cache line per request.
 * A scrape sums the lanes. */
#define LANES 8

typedef struct lane {
    atomic_uint_fast64_t verify_count[PAT_VERIFY__COUNT];
    atomic_uint_fast64_t cache_hits, cache_misses;
    atomic_uint_fast64_t live_filter_rejected, verify_deferred;
    atomic_uint_fast64_t latency[BUCKETS];
    atomic_uint_fast64_t latency_sum_us, latency_count;
} __attribute__((aligned(64))) lane;

static lane lanes[LANES];
static atomic_uint_fast64_t requests[LANES][PAT_METRICS_ROUTES_MAX][STATUS_MAX - STATUS_MIN + 1];
static atomic_uint next_lane;
static _Thread_local int my_lane = -1;

static atomic_uint_fast64_t store_writes;
static atomic_int_fast64_t last_flush_at;
static atomic_uint_fast64_t flushed_tokens;
static const char *_Atomic route_names[PAT_METRICS_ROUTES_MAX];

/* Which statuses each route has answered, one bit each: a scrape reads
 * the lanes of those only, not of all 500 statuses of all 64 routes
 * (256 000 loads, the most of a scrape's time). A bit is set by the first
 * request of its route and status in a lane, whose add already returns
 * the old count, so the requests after it pay nothing. */
#define STATUS_WORDS ((STATUS_MAX - STATUS_MIN + 1 + 63) / 64)
static atomic_uint_fast64_t statuses_seen[PAT_METRICS_ROUTES_MAX][STATUS_WORDS];

static int lane_index(void)
{
    if (my_lane < 0)
        my_lane = (int)(atomic_fetch_add(&next_lane, 1) % LANES);
    return my_lane;
}

static void bump(atomic_uint_fast64_t *counter, uint64_t n)
{
    atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

/* The sum over the lanes of the counter at offset within a lane. */
static uint64_t lanes_sum(size_t offset)
{
    uint64_t sum = 0;

    for (int i = 0; i < LANES; i++)
        sum += atomic_load_explicit((atomic_uint_fast64_t *)((char *)&lanes[i] + offset),
                                    memory_order_relaxed);
    return sum;
}

void pat_metrics_verify(pat_verify_outcome o)
{
    bump(&lanes[lane_index()].verify_count[o], 1);
}

void pat_metrics_cache(int hit)
{
    lane *l = &lanes[lane_index()];

    bump(hit ? &l->cache_hits : &l->cache_misses, 1);
}

static atomic_uint_fast64_t canary_trips;

void pat_metrics_canary_tripped(void)
{
    atomic_fetch_add_explicit(&canary_trips, 1, memory_order_relaxed);
}

void pat_metrics_live_filter_rejected(void)
{
    bump(&lanes[lane_index()].live_filter_rejected, 1);
}

void pat_metrics_verify_deferred(void)
{
    bump(&lanes[lane_index()].verify_deferred, 1);
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
    int i = lane_index();
    lane *l = &lanes[i];
    int b = 0;

    if (route < 0 || route >= PAT_METRICS_ROUTES_MAX)
        route = PAT_METRICS_ROUTES_MAX - 1;
    if (status < STATUS_MIN || status > STATUS_MAX)
        status = 500;
    if (!atomic_load_explicit(&route_names[route], memory_order_relaxed))
        atomic_store(&route_names[route], pattern);
    if (atomic_fetch_add_explicit(&requests[i][route][status - STATUS_MIN], 1,
                                  memory_order_relaxed) == 0)
        atomic_fetch_or(&statuses_seen[route][(status - STATUS_MIN) / 64],
                        (uint_fast64_t)1 << ((status - STATUS_MIN) % 64));
    while (b < BUCKETS - 1 && micros > bucket_us[b])
        b++;
    bump(&l->latency[b], 1);
    bump(&l->latency_sum_us, (uint64_t)micros);
    bump(&l->latency_count, 1);
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
        for (int w = 0; w < STATUS_WORDS; w++) {
            uint_fast64_t seen = atomic_load(&statuses_seen[r][w]);
            while (seen) {
                int s = w * 64 + __builtin_ctzll(seen);
                uint64_t n = 0;
                seen &= seen - 1;
                for (int i = 0; i < LANES; i++)
                    n += atomic_load_explicit(&requests[i][r][s], memory_order_relaxed);
                rc |= pat_buf_printf(o,
                                     "patd_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
                                     name, s + STATUS_MIN, (unsigned long long)n);
            }
        }
    }
    rc |= pat_buf_printf(o, "# HELP patd_request_duration_seconds Time to answer a request.\n"
                            "# TYPE patd_request_duration_seconds histogram\n");
    for (int b = 0; b < BUCKETS; b++) {
        cumulative += lanes_sum(offsetof(lane, latency) + (size_t)b * sizeof(lanes[0].latency[0]));
        if (b < BUCKETS - 1)
            rc |= pat_buf_printf(o, "patd_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
                                 (double)bucket_us[b] / 1e6, (unsigned long long)cumulative);
        else
            rc |= pat_buf_printf(o, "patd_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
                                 (unsigned long long)cumulative);
    }
    rc |= pat_buf_printf(o, "patd_request_duration_seconds_sum %.6f\n",
                         (double)lanes_sum(offsetof(lane, latency_sum_us)) / 1e6);
    rc |= pat_buf_printf(o, "patd_request_duration_seconds_count %llu\n",
                         (unsigned long long)lanes_sum(offsetof(lane, latency_count)));
    rc |= pat_buf_printf(o, "# HELP patd_verify_total Token verifications by outcome.\n"
                            "# TYPE patd_verify_total counter\n");
    for (int i = 0; i < PAT_VERIFY__COUNT; i++)
        rc |= pat_buf_printf(
            o, "patd_verify_total{outcome=\"%s\"} %llu\n", outcome_names[i],
            (unsigned long long)lanes_sum(offsetof(lane, verify_count) +
                                          (size_t)i * sizeof(lanes[0].verify_count[0])));
    rc |= pat_buf_printf(
        o,
        "# HELP patd_cache_hits_total Verification cache hits.\n"
        "# TYPE patd_cache_hits_total counter\n"
        "patd_cache_hits_total %llu\n"
        "# HELP patd_cache_misses_total Verification cache misses (store lookups).\n"
        "# TYPE patd_cache_misses_total counter\n"
        "patd_cache_misses_total %llu\n"
        "# HELP patd_live_filter_rejected_total Cache misses the live filter answered "
        "(certainly no token: no store lookup).\n"
        "# TYPE patd_live_filter_rejected_total counter\n"
        "patd_live_filter_rejected_total %llu\n"
        "# HELP patd_verify_deferred_total Verifications of values the live filter did not "
        "know, set aside until the next read of the shared store's changes.\n"
        "# TYPE patd_verify_deferred_total counter\n"
        "patd_verify_deferred_total %llu\n"
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
        "patd_last_use_flush_age_seconds %lld\n"
        "# HELP patd_canary_trips_total Presentations of canary tokens.\n"
        "# TYPE patd_canary_trips_total counter\n"
        "patd_canary_trips_total %llu\n",
        (unsigned long long)lanes_sum(offsetof(lane, cache_hits)),
        (unsigned long long)lanes_sum(offsetof(lane, cache_misses)),
        (unsigned long long)lanes_sum(offsetof(lane, live_filter_rejected)),
        (unsigned long long)lanes_sum(offsetof(lane, verify_deferred)),
        (unsigned long long)cache_size,
        (unsigned long long)atomic_load(&store_writes),
        (unsigned long long)atomic_load(&flushed_tokens), (unsigned long long)lastuse_dropped,
        (long long)(flushed ? now - flushed : -1),
        (unsigned long long)atomic_load(&canary_trips));
    return rc ? PAT_ETOOBIG : PAT_OK;
}
