#ifndef PAT_UTIL_METRICS_H
#define PAT_UTIL_METRICS_H
#include <stdint.h>

#include "util/buf.h"

/* Process-wide counters for GET /metrics: relaxed atomics, no locks. */

typedef enum pat_verify_outcome {
    PAT_VERIFY_OK,
    PAT_VERIFY_MALFORMED,
    PAT_VERIFY_UNKNOWN,
    PAT_VERIFY_DISABLED,
    PAT_VERIFY_EXPIRED,
    PAT_VERIFY_OWNER_DISABLED,
    PAT_VERIFY_NO_PERMISSION,
    PAT_VERIFY_ADDRESS,
    PAT_VERIFY_SCOPE,
    PAT_VERIFY_RATE_LIMITED,
    PAT_VERIFY__COUNT
} pat_verify_outcome;

#define PAT_METRICS_ROUTES_MAX 64

void pat_metrics_verify(pat_verify_outcome o);
void pat_metrics_cache(int hit);
/* A cache miss the live filter answered without a store lookup. */
void pat_metrics_live_filter_rejected(void);
/* A verification set aside until a read of the shared store's changes. */
void pat_metrics_verify_deferred(void);
/* A canary token was presented. */
void pat_metrics_canary_tripped(void);
void pat_metrics_store_write(void);
void pat_metrics_lastuse_flush(int64_t at, uint64_t tokens);

/* Counts a request to route index route (its pattern named once with
 * pat_metrics_route_name) answered with status after micros. */
void pat_metrics_request(int route, const char *pattern, unsigned status, int64_t micros);

uint64_t pat_metrics_store_writes(void);

/* Appends every metric in Prometheus text format, with extra gauges given
 * by the caller (cache size, last flush age). */
int pat_metrics_format(pat_buf *out, uint64_t cache_size, uint64_t lastuse_dropped,
                       int64_t now);

#endif
