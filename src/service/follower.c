/* The follower: on a store other instances write to (PostgreSQL), one
 * thread waits for their commits (the store's listener) and reads the
 * changes feed at once, so this instance's cache forgets a revoked token
 * within milliseconds; when no notification comes it still reads the feed
 * every FOLLOW_POLL_MS, which bounds the delay when notifications are lost
 * and keeps synced_us fresh (pat_service_cache_trusted). */
#include "service/service_int.h"
#include "util/error.h"
#include "util/log.h"

#define FOLLOW_POLL_MS 250

static void *follower_main(void *arg)
{
    pat_service *svc = arg;
    bool listening = true;

    while (!atomic_load(&svc->follower_stop)) {
        int rc = pat_store_changes_wait(svc->store, FOLLOW_POLL_MS);
        if (rc == PAT_OK && !listening)
            pat_log_info("changes: listening again; the feed is read from where it was left");
        listening = rc == PAT_OK;
        atomic_store(&svc->listening, listening);
        /* After a listener outage this replays whatever it missed. */
        pat_service_follow_changes(svc);
    }
    return NULL;
}

int pat_follower_start(pat_service *svc)
{
    if (!svc->shared)
        return PAT_OK;
    atomic_store(&svc->follower_stop, false);
    atomic_store(&svc->listening, true);
    if (pthread_create(&svc->follower, NULL, follower_main, svc) != 0)
        return pat_error_set(PAT_EIO, NULL, "cannot start the changes follower");
    svc->following = true;
    return PAT_OK;
}

void pat_follower_stop(pat_service *svc)
{
    if (!svc->following)
        return;
    atomic_store(&svc->follower_stop, true);
    pthread_join(svc->follower, NULL);
    svc->following = false;
}
