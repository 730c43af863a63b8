/* Rotations that track their clients (#16): after a regenerate that kept
 * the old value, its uses (recorded under the negative token id, at every
 * use: see verify.c) and the new value's first use are written with last
 * use; an old value unused for retire_when_unused_seconds is retired here,
 * after the flush that wrote its latest uses. */
#include <stdlib.h>
#include <string.h>

#include "service/service_int.h"
#include "util/error.h"
#include "util/log.h"
#include "util/mem.h"

static bool rotating(const pat_rotation_rec *rots, size_t n, int64_t token_id)
{
    for (size_t i = 0; i < n; i++)
        if (rots[i].token_id == token_id)
            return true;
    return false;
}

/* Retires token id's previous value, once unused long enough (and still
 * alive, and still unused: read again in the unit of work). */
static int retire_unused(pat_service *svc, int64_t id)
{
    pat_token_rec *t = pat_malloc(sizeof(*t));
    pat_rotation_rec r;
    int64_t now = svc->clock(), last;
    int rc;

    if ((rc = pat_unit_begin(svc)) < 0)
        goto out;
    if ((rc = pat_store_rotation_get(svc->store, id, &r)) == PAT_OK &&
        (rc = pat_store_token_get(svc->store, id, t)) == PAT_OK) {
        last = r.previous_last.at ? r.previous_last.at : r.started_at;
        if (r.retire_when_unused && now - last >= r.retire_when_unused &&
            t->previous_valid_until > now)
            rc = pat_tokens_retire_now(svc, NULL, NULL, t, "unused");
    }
    rc = pat_unit_end(svc, rc == PAT_ENOTFOUND ? PAT_OK : rc);
out:
    free(t);
    return rc;
}

void pat_service_rotations(pat_service *svc, const pat_token_touch *touches, size_t n)
{
    pat_rotation_rec *rots = NULL;
    pat_token_touch *mine = NULL;
    size_t nrots = 0, count = 0;
    int64_t now = svc->clock();

    if (pat_store_rotation_list(svc->store, &rots, &nrots) < 0) {
        pat_log_error("rotations: cannot read: %s", pat_error_last()->message);
        return;
    }
    if (nrots == 0) {
        free(rots);
        return;
    }
    /* Uses of old values, and first uses of new ones of rotating tokens. */
    mine = pat_malloc((n + 1) * sizeof(*mine));
    for (size_t i = 0; i < n; i++)
        if (touches[i].token_id < 0 ||
            (touches[i].last.at && rotating(rots, nrots, touches[i].token_id)))
            mine[count++] = touches[i];
    if (count && pat_store_rotation_touch_many(svc->store, mine, count) < 0)
        pat_log_error("rotations: cannot record %zu uses: %s", count, pat_error_last()->message);
    free(mine);
    free(rots);
    /* Read again: what was just written decides. */
    if (pat_store_rotation_list(svc->store, &rots, &nrots) < 0)
        return;
    for (size_t i = 0; i < nrots; i++) {
        const pat_rotation_rec *r = &rots[i];
        int64_t last = r->previous_last.at ? r->previous_last.at : r->started_at;
        if (r->retire_when_unused && now - last >= r->retire_when_unused &&
            retire_unused(svc, r->token_id) < 0)
            pat_log_error("rotations: cannot retire token %lld's old value: %s",
                          (long long)r->token_id, pat_error_last()->message);
    }
    free(rots);
}
