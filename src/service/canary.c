/* Canary tokens (#15): decoys planted where no one should read them.
 * Verification answers a canary exactly as an unknown value and queues the
 * presentation; the flusher, within a second, records it as the canary's
 * last use, audits it (token.canary_tripped) and emails the owner. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "service/service_int.h"
#include "util/error.h"
#include "util/log.h"
#include "util/mem.h"

/* Whether the owner of canary id was emailed less than the interval ago
 * (and if not, notes that they are now). The flusher's memo, per process. */
static bool mailed_recently(pat_service *svc, int64_t id, int64_t now)
{
    struct canary_mailed *slot = &svc->canary_mailed[(uint64_t)id % 64];

    if (slot->token_id == id && now - slot->at < svc->config->canary_alert_interval_seconds)
        return true;
    slot->token_id = id;
    slot->at = now;
    return false;
}

/* One canary's presentations in this batch: the latest is use, count in
 * all. In one unit of work: last use, the audit event, the email. */
static int trip(pat_service *svc, int64_t id, const pat_last_use *use, int64_t count)
{
    pat_request_info info = {use->ip, use->user_agent, use->method, use->path};
    pat_token_touch touch;
    pat_token_rec *t = pat_malloc(sizeof(*t));
    pat_user owner;
    int rc;

    memset(&owner, 0, sizeof(owner));
    if ((rc = pat_unit_begin(svc)) < 0)
        goto out;
    if ((rc = pat_tokens_load_with_owner(svc, id, t, &owner)) < 0)
        goto end;
    memset(&touch, 0, sizeof(touch));
    touch.token_id = id;
    touch.uses = count;
    touch.last = *use;
    if ((rc = pat_store_token_touch_many(svc->store, &touch, 1)) < 0 ||
        (rc = pat_service_client_seen(svc, id, use)) < 0 ||
        (rc = pat_audit_record(svc, NULL, &info, "token.canary_tripped", "token",
                               "id=%lld name=%s owner=%s method=%s path=%.120s presentations=%lld",
                               (long long)id, t->name, owner.username, use->method, use->path,
                               (long long)count)) < 0)
        goto end;
    if (!mailed_recently(svc, id, use->at))
        rc = pat_notify_canary(svc, &owner, t, use, count);
end:
    rc = pat_unit_end(svc, rc == PAT_ENOTFOUND ? PAT_OK : rc);
out:
    sodium_memzero(&owner, sizeof(owner));
    free(t);
    return rc;
}

void pat_service_canaries(pat_service *svc)
{
    pat_sighting *list = NULL;
    size_t n = pat_sightings_take(svc->canary_trips, &list);

    /* One event per canary per batch: a flood is counted, not written
     * row by row. */
    for (size_t i = 0; i < n; i++) {
        int64_t count = 0;
        size_t latest = i;
        if (list[i].token_id == 0)
            continue;
        for (size_t j = i; j < n; j++) {
            if (list[j].token_id != list[i].token_id)
                continue;
            count++;
            if (list[j].use.at >= list[latest].use.at)
                latest = j;
            if (j != i)
                list[j].token_id = 0;
        }
        if (trip(svc, list[i].token_id, &list[latest].use, count) < 0)
            pat_log_error("canary: cannot report token %lld: %s", (long long)list[i].token_id,
                          pat_error_last()->message);
    }
    free(list);
}
