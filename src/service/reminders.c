/* Expiry reminders (#15): every expiry_check_seconds the flusher looks for
 * tokens that crossed a threshold of expiry_reminder_days (default 7 and
 * 1 days before expiry) or have expired, and emails each owner one digest
 * listing them. Each (token, threshold) is recorded in the same unit of
 * work as the email, so none is sent twice, even across restarts or with
 * several instances; a token whose smaller threshold is crossed first
 * (made with a short life) is not reminded of the larger ones later. */
#include <stdlib.h>
#include <string.h>

#include "core/text.h"
#include "service/service_int.h"
#include "util/error.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/time.h"

#define DAY 86400
#define BATCH 500
#define EXPIRED_LOOKBACK (7 * DAY) /* expired tokens older than this are not mailed */

typedef struct due {
    pat_token_rec t;
    int64_t threshold; /* days; 0 = expired */
} due;

static int by_owner(const void *a, const void *b)
{
    int64_t x = ((const due *)a)->t.user_id, y = ((const due *)b)->t.user_id;

    return (x > y) - (x < y);
}

/* Collects what is due: the expired first, then each threshold from the
 * smallest, a token only once (at its smallest threshold). */
static size_t collect(pat_service *svc, int64_t now, due **out)
{
    const int *days = svc->config->reminder_days;
    size_t n = 0, cap = 0;
    due *list = NULL;

    for (int i = -1; i < 8 && (i < 0 || days[i]); i++) {
        int64_t threshold = i < 0 ? 0 : days[i];
        int64_t after = i < 0 ? now - EXPIRED_LOOKBACK : now;
        int64_t until = i < 0 ? now : now + threshold * DAY;
        pat_token_rec *found = NULL;
        size_t k = 0;
        if (pat_store_tokens_to_remind(svc->store, after, until, threshold, BATCH, &found, &k) <
            0) {
            pat_log_error("reminders: cannot list tokens: %s", pat_error_last()->message);
            continue;
        }
        for (size_t j = 0; j < k; j++) {
            bool seen = false;
            for (size_t m = 0; m < n && !seen; m++)
                seen = list[m].t.id == found[j].id;
            if (seen)
                continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 32;
                list = pat_realloc(list, cap * sizeof(*list));
            }
            list[n].t = found[j];
            list[n].threshold = threshold;
            n++;
        }
        free(found);
    }
    *out = list;
    return n;
}

/* Records the reminders of one owner's tokens list[0..n) and queues the
 * digest, in one unit of work. */
static int remind_owner(pat_service *svc, due *list, size_t n, int64_t now)
{
    pat_token_rec *mail = pat_calloc(n, sizeof(*mail));
    int64_t *thresholds = pat_calloc(n, sizeof(*thresholds));
    const int *days = svc->config->reminder_days;
    pat_user owner;
    size_t k = 0;
    int rc;

    if ((rc = pat_unit_begin(svc)) < 0)
        goto out;
    for (size_t i = 0; i < n && rc == PAT_OK; i++) {
        int r = pat_store_reminder_add(svc->store, list[i].t.id, list[i].threshold, now);
        if (r == PAT_EEXISTS)
            continue; /* another instance reminded it */
        if ((rc = r) < 0)
            break;
        /* Larger thresholds are behind it: never remind of them later. */
        for (int d = 0; d < 8 && days[d] && rc == PAT_OK; d++)
            if (days[d] > list[i].threshold && list[i].threshold > 0) {
                int e = pat_store_reminder_add(svc->store, list[i].t.id, days[d], now);
                rc = e == PAT_EEXISTS ? PAT_OK : e;
            }
        mail[k] = list[i].t;
        thresholds[k++] = list[i].threshold;
    }
    if (rc == PAT_OK && k && (rc = pat_store_user_get(svc->store, list[0].t.user_id, &owner)) == PAT_OK &&
        !owner.disabled && !(owner.notify_off & PAT_NOTIFY_EXPIRY))
        rc = pat_notify_expiry(svc, &owner, mail, thresholds, k);
    rc = pat_unit_end(svc, rc);
out:
    free(mail);
    free(thresholds);
    return rc;
}

void pat_service_remind(pat_service *svc)
{
    int64_t now = svc->clock();
    due *list = NULL;
    size_t n = collect(svc, now, &list), start = 0;

    if (n > 1)
        qsort(list, n, sizeof(*list), by_owner);
    while (start < n) {
        size_t end = start;
        while (end < n && list[end].t.user_id == list[start].t.user_id)
            end++;
        if (remind_owner(svc, list + start, end - start, now) < 0)
            pat_log_error("reminders: cannot remind user %lld: %s",
                          (long long)list[start].t.user_id, pat_error_last()->message);
        start = end;
    }
    free(list);
}
