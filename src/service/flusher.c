/* The flusher: a background thread that writes last use (write-behind,
 * batched), follows the changes feed, reloads the policy and prunes old
 * rows. The hot path only ever signals it, never waits for it. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "service/service_int.h"
#include "util/error.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/metrics.h"
#include "util/time.h"

#define FLUSH_CHUNK 512
/* Cache entries a flush looks at for quiet uses: a million are looked at
 * over 8 flushes (80 s at the default period), a few ms of a core each. */
#define QUIET_SWEEP_ENTRIES 131072
/* How long the changes feed is kept: far longer than any instance takes
 * to read it. */
#define CHANGES_RETENTION_SECONDS 86400

static int write_pending(pat_service *svc);

void pat_service_count_uses(pat_service *svc, int64_t token_id, int64_t uses)
{
    /* A full table is written out and the count tried again: counts are
     * never dropped. */
    if (pat_lastuse_record(svc->lastuse, token_id, uses, 0, NULL, NULL, NULL, NULL) ==
        PAT_LASTUSE_FULL) {
        write_pending(svc);
        pat_lastuse_record(svc->lastuse, token_id, uses, 0, NULL, NULL, NULL, NULL);
    }
}

static void count_uses(void *arg, int64_t token_id, int64_t uses)
{
    pat_service_count_uses(arg, token_id, uses);
}

/* Collects (token id, uses) pairs for count_quiet_uses. */
typedef struct quiet_uses {
    struct {
        int64_t token_id, uses;
    } * list;
    size_t n, cap;
} quiet_uses;

static void collect_use(void *arg, int64_t token_id, int64_t uses)
{
    quiet_uses *q = arg;

    if (q->n == q->cap) {
        q->cap = q->cap ? q->cap * 2 : 256;
        q->list = pat_realloc(q->list, q->cap * sizeof(*q->list));
    }
    q->list[q->n].token_id = token_id;
    q->list[q->n].uses = uses;
    q->n++;
}

/* Uses counted since a token's last recording reach the store even if it
 * is never used again: once it has been quiet for a granularity. At most
 * half a table's worth a time, so they do not crowd out details; gathered
 * first so no cache lock is held while the table may be written. Each
 * flush looks at part of a large cache (a million entries took 27 ms of a
 * core, every flush, competing with requests); a small one is looked at
 * whole. */
static void count_quiet_uses(pat_service *svc)
{
    quiet_uses q = {NULL, 0, 0};

    if (svc->config->last_use_granularity_seconds <= 0)
        return;
    pat_cache_drain_uses(svc->cache, svc->clock(), svc->config->last_use_granularity_seconds,
                         pat_lastuse_capacity(svc->lastuse) / 2, QUIET_SWEEP_ENTRIES, collect_use,
                         &q);
    for (size_t i = 0; i < q.n; i++)
        pat_service_count_uses(svc, q.list[i].token_id, q.list[i].uses);
    free(q.list);
}

static int by_token_id(const void *a, const void *b)
{
    int64_t x = ((const pat_token_touch *)a)->token_id, y = ((const pat_token_touch *)b)->token_id;

    return (x > y) - (x < y);
}

int pat_service_flush(pat_service *svc)
{
    /* Uses the cache evicted are handed over first (service/verify.c). */
    count_quiet_uses(svc);
    return write_pending(svc);
}

/* Writes the scopes used since the last flush, in bounded transactions. */
static void write_scope_uses(pat_service *svc)
{
    pat_scope_use *uses = NULL;
    bool *fresh = NULL;
    bool alert = svc->config->alert_on_new_scope;
    size_t n = 0;

    pat_scopeuse_take(svc->scopeuse, &uses, &n);
    if (alert && n)
        fresh = pat_calloc(n, sizeof(*fresh));
    for (size_t done = 0; done < n; done += FLUSH_CHUNK) {
        size_t k = n - done < FLUSH_CHUNK ? n - done : FLUSH_CHUNK;
        if (pat_store_scope_uses_add(svc->store, uses + done, k, fresh ? fresh + done : NULL) <
            0) {
            pat_log_error("scopes used: cannot write %zu records: %s", n - done,
                          pat_error_last()->message);
            /* Not written: no alert about them either. */
            for (size_t i = done; fresh && i < n; i++)
                fresh[i] = false;
            break;
        }
    }
    for (size_t i = 0; fresh && i < n; i++)
        if (fresh[i] && pat_service_new_scope(svc, &uses[i]) < 0)
            pat_log_error("scopes used: cannot alert about token %lld: %s",
                          (long long)uses[i].token_id, pat_error_last()->message);
    free(fresh);
    free(uses);
}

/* Writes what the last-use table holds. */
static int write_pending(pat_service *svc)
{
    pat_token_touch *touches = NULL;
    size_t n = 0;
    int rc = PAT_OK;

    pat_lastuse_take(svc->lastuse, &touches, &n);
    /* Uses of a previous value (negative ids: service/verify.c) go to its
     * rotation, and count as uses of the token all the same. */
    pat_service_rotations(svc, touches, n);
    for (size_t i = 0; i < n; i++)
        if (touches[i].token_id < 0)
            touches[i].token_id = -touches[i].token_id;
    /* In id order, rows next to each other share pages: with a million
     * tokens in use a chunk then rewrites a few dozen pages, not hundreds. */
    if (n > 1)
        qsort(touches, n, sizeof(*touches), by_token_id);
    /* At most one write per token, in transactions of a bounded size: a
     * request that misses the cache waits for the store at most one chunk. */
    for (size_t done = 0; done < n && rc == PAT_OK; done += FLUSH_CHUNK) {
        size_t k = n - done < FLUSH_CHUNK ? n - done : FLUSH_CHUNK;
        if ((rc = pat_store_token_touch_many(svc->store, touches + done, k)) < 0)
            pat_log_error("last use: cannot write %zu records: %s", n - done,
                          pat_error_last()->message);
    }
    pat_metrics_lastuse_flush(svc->clock(), rc == PAT_OK ? n : 0);
    write_scope_uses(svc);
    /* The clients behind those uses, and those verification noticed. */
    pat_service_clients(svc, touches, n);
    free(touches);
    return rc;
}

void pat_service_request_flush(pat_service *svc)
{
    if (!svc->background)
        return;
    /* trylock: the hot path never waits on the flusher. */
    if (pthread_mutex_trylock(&svc->flush_lock) == 0) {
        if (!svc->flush_requested) {
            svc->flush_requested = true;
            pthread_cond_signal(&svc->flush_wake);
        }
        pthread_mutex_unlock(&svc->flush_lock);
    }
}

/* Drops expired sessions, changes past their retention and audit events
 * past theirs, at most hourly. */
static void prune_old(pat_service *svc)
{
    int64_t now = svc->clock();
    int days = svc->config->audit_retention_days;

    if (now - svc->last_prune < 3600)
        return;
    svc->last_prune = now;
    if (pat_store_session_prune(svc->store, now) < 0)
        pat_log_error("sessions: cannot prune: %s", pat_error_last()->message);
    if (pat_store_clients_prune(svc->store) < 0)
        pat_log_error("clients: cannot prune: %s", pat_error_last()->message);
    if (pat_store_rotations_prune(svc->store, now) < 0)
        pat_log_error("rotations: cannot prune: %s", pat_error_last()->message);
    if (pat_store_scope_uses_prune(svc->store) < 0)
        pat_log_error("scopes used: cannot prune: %s", pat_error_last()->message);
    if (pat_keyring_prune(svc) < 0)
        pat_log_error("keys: cannot prune: %s", pat_error_last()->message);
    if (pat_store_changes_prune(svc->store, pat_time_now() - CHANGES_RETENTION_SECONDS) < 0)
        pat_log_error("changes: cannot prune: %s", pat_error_last()->message);
    if (days <= 0)
        return;
    if (pat_store_audit_prune(svc->store, now - (int64_t)days * PAT_DAY) < 0)
        pat_log_error("audit: cannot prune: %s", pat_error_last()->message);
}

static void *flusher_main(void *arg)
{
    pat_service *svc = arg;
    int period = svc->config->last_use_flush_seconds > 0 ? svc->config->last_use_flush_seconds : 10;
    int64_t last_flush = pat_time_mono_us();

    pthread_mutex_lock(&svc->flush_lock);
    while (!svc->stopping) {
        struct timespec deadline;
        bool due;
        /* Wake every second: the log is written in blocks (one write per
         * request would cost the hot path a system call), so push it out. */
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += 1;
        if (!svc->flush_requested)
            pthread_cond_timedwait(&svc->flush_wake, &svc->flush_lock, &deadline);
        if (svc->stopping)
            break;
        due = svc->flush_requested || pat_time_mono_us() - last_flush >= (int64_t)period * 1000000;
        svc->flush_requested = false;
        pthread_mutex_unlock(&svc->flush_lock);
        pat_log_flush_idle();
        /* Changes committed by another process on the same store. */
        pat_service_follow_changes(svc);
        pat_audit_flush_deferred(svc);
        /* Canaries at once; new clients wait for the flush (with last use). */
        pat_service_canaries(svc);
        if (svc->clock() - svc->last_remind >= svc->config->expiry_check_seconds) {
            svc->last_remind = svc->clock();
            pat_service_remind(svc);
        }
        if (due) {
            last_flush = pat_time_mono_us();
            pat_service_flush(svc);
            pat_cache_prune_interned(svc->cache);
            /* Past its size the filter answers "maybe" too often. */
            {
                pat_livefilter *live = atomic_load(&svc->live);
                if (pat_livefilter_count(live) > pat_livefilter_capacity(live))
                    pat_service_live_rebuild(svc);
            }
            prune_old(svc);
        }
        pthread_mutex_lock(&svc->flush_lock);
    }
    pthread_mutex_unlock(&svc->flush_lock);
    return NULL;
}

int pat_flusher_start(pat_service *svc)
{
    if (pthread_create(&svc->flusher, NULL, flusher_main, svc) != 0)
        return pat_error_set(PAT_EIO, NULL, "cannot start the last-use flusher");
    svc->background = true;
    return PAT_OK;
}

void pat_flusher_stop(pat_service *svc)
{
    if (svc->background) {
        pthread_mutex_lock(&svc->flush_lock);
        svc->stopping = true;
        pthread_cond_signal(&svc->flush_wake);
        pthread_mutex_unlock(&svc->flush_lock);
        pthread_join(svc->flusher, NULL);
        svc->background = false;
    }
    /* What was used since the last flush is written before we go. */
    pat_cache_drain_uses(svc->cache, 0, 0, 0, 0, count_uses, svc);
    pat_service_flush(svc);
    pat_service_canaries(svc);
}
