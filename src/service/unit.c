/* Units of work and the changes feed: a use case commits its change, its
 * audit event (and later its outbox rows) together; then this instance's
 * cache forgets what the committed changes touched, read back from the
 * feed rather than from calls scattered through the use cases. */
#include <stdlib.h>

#include "service/service_int.h"
#include "util/error.h"
#include "util/log.h"
#include "util/time.h"

#define FEED_BATCH 1024

int pat_unit_begin(pat_service *svc)
{
    return pat_store_begin(svc->store);
}

int pat_unit_end(pat_service *svc, int rc)
{
    if (rc == PAT_OK) {
        rc = pat_store_commit(svc->store);
    } else {
        /* Rolling back keeps the use case's own error for its caller. */
        pat_error saved = *pat_error_last();
        pat_store_rollback(svc->store);
        *(pat_error *)pat_error_last() = saved;
    }
    pat_service_follow_changes(svc);
    return rc;
}

static void apply(pat_service *svc, const pat_change *c)
{
    int64_t pending;

    switch (c->kind) {
    case PAT_CHANGE_TOKEN:
        /* JWTs of this token are checked afresh (whatever changed). */
        pat_jwtcache_bump_token(svc->jwtcache, c->entity_id);
        if (!c->has_hash)
            break;
        /* A value the row held before or holds now: a new one must pass
         * the filter before its creator hears of it. */
        pat_livefilter_add(atomic_load(&svc->live), c->hash);
        if ((pending = pat_cache_token_forget(svc->cache, c->hash)) > 0)
            pat_service_count_uses(svc, c->entity_id, pending);
        break;
    case PAT_CHANGE_USER:
        pat_jwtcache_bump_user(svc->jwtcache, c->entity_id);
        pat_cache_user_forget(svc->cache, c->entity_id);
        break;
    case PAT_CHANGE_POLICY:
        pat_jwtcache_bump_all(svc->jwtcache);
        pat_service_policy_refresh(svc);
        break;
    case PAT_CHANGE_KEY:
        pat_jwtcache_bump_all(svc->jwtcache);
        if (svc->keyring && pat_keyring_load(svc) < 0)
            pat_log_error("keys: cannot reload: %s", pat_error_last()->message);
        break;
    }
}

/* Reads the feed (changes_lock held). */
static int follow_locked(pat_service *svc)
{
    int64_t started = pat_time_mono_us();
    pat_change *list = NULL;
    size_t n = 0;
    int rc = PAT_OK;

    do {
        if ((rc = pat_store_changes_since(svc->store, svc->changes_seen, FEED_BATCH, &list, &n)) <
            0) {
            pat_log_error("changes: cannot read the feed: %s", pat_error_last()->message);
            break;
        }
        for (size_t i = 0; i < n; i++)
            apply(svc, &list[i]);
        if (n)
            svc->changes_seen = list[n - 1].seq;
        free(list);
        list = NULL;
    } while (n == FEED_BATCH);
    if (rc == PAT_OK)
        atomic_store(&svc->synced_us, started);
    return rc;
}

int pat_service_follow_changes(pat_service *svc)
{
    pat_error saved = *pat_error_last();
    int rc;

    pthread_mutex_lock(&svc->changes_lock);
    rc = follow_locked(svc);
    pthread_mutex_unlock(&svc->changes_lock);
    *(pat_error *)pat_error_last() = saved;
    return rc;
}

int pat_service_sync_since(pat_service *svc, int64_t since_us)
{
    pat_error saved = *pat_error_last();
    int rc = PAT_OK;

    if (atomic_load(&svc->synced_us) >= since_us)
        return PAT_OK;
    pthread_mutex_lock(&svc->changes_lock);
    /* Those waiting behind one read are served by it. */
    if (atomic_load(&svc->synced_us) < since_us)
        rc = follow_locked(svc);
    pthread_mutex_unlock(&svc->changes_lock);
    *(pat_error *)pat_error_last() = saved;
    return rc;
}

static void add_live(void *arg, const uint8_t hash[PAT_HASH_LEN])
{
    pat_livefilter_add(arg, hash);
}

int pat_service_live_rebuild(pat_service *svc)
{
    pat_livefilter *f = NULL;
    size_t n = 0;
    int64_t count = 0;
    int rc;

    pthread_mutex_lock(&svc->changes_lock);
    /* Sized from a count first, so the filter is allocated once. */
    if ((rc = pat_store_token_hashes(svc->store, svc->clock(), NULL, NULL, &n)) < 0)
        goto out;
    count = (int64_t)n;
    f = pat_livefilter_new((size_t)count * 2);
    if ((rc = pat_store_token_hashes(svc->store, svc->clock(), add_live, f, NULL)) < 0)
        goto out;
    /* Readers of the filter two rebuilds ago have long finished. */
    pat_livefilter_free(svc->live_retired);
    svc->live_retired = atomic_exchange(&svc->live, f);
    f = NULL;
out:
    pthread_mutex_unlock(&svc->changes_lock);
    pat_livefilter_free(f);
    if (rc < 0)
        pat_log_error("live filter: cannot rebuild: %s", pat_error_last()->message);
    return rc;
}
