/* Leak reports (#16): anyone who finds a token where it should not be (a
 * stranger, a secret scanner) reports it, and every live value reported
 * stops working for good. The answer never tells what was found: it is
 * the same whatever the report held. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/text.h"
#include "service/service_int.h"
#include "util/error.h"
#include "util/log.h"
#include "util/mem.h"

/* Revokes the value of token id whose hash is hash (its current value: the
 * token goes, as DELETE; its previous one, kept for a rotation: only that
 * value goes), audits token.leaked and emails the owner, in one unit. */
static int revoke(pat_service *svc, const pat_principal *reporter, const pat_request_info *info,
                  int64_t id, const uint8_t hash[PAT_HASH_LEN], const char *source,
                  const char *url)
{
    pat_token_rec *t = pat_malloc(sizeof(*t));
    pat_user owner;
    bool previous = false;
    int rc;

    memset(&owner, 0, sizeof(owner));
    if ((rc = pat_unit_begin(svc)) < 0)
        goto out;
    /* Read again inside the unit: the value must still be the token's. */
    if ((rc = pat_tokens_load_with_owner(svc, id, t, &owner)) < 0)
        goto end;
    if (pat_token_hash_equal(t->hash, hash)) {
        rc = pat_store_token_delete(svc->store, t->user_id, t->id);
    } else if (t->previous_valid_until > svc->clock() &&
               pat_token_hash_equal(t->previous_hash, hash)) {
        /* The new value was not reported: it keeps working. */
        previous = true;
        memset(t->previous_hash, 0, sizeof(t->previous_hash));
        t->previous_valid_until = 0;
        t->updated_at = svc->clock();
        rc = pat_store_token_update(svc->store, t, PAT_TOKEN_F_SECRET);
    } else {
        rc = PAT_ENOTFOUND; /* changed meanwhile: nothing of it to revoke */
    }
    if (rc == PAT_OK &&
        (rc = pat_audit_record(svc, reporter, info, "token.leaked", "token",
                               "id=%lld name=%s owner=%lld value=%s source=%.100s url=%.200s",
                               (long long)t->id, t->name, (long long)t->user_id,
                               previous ? "previous" : "current", source ? source : "",
                               url ? url : "")) == PAT_OK)
        rc = pat_notify_leaked(svc, &owner, t, previous, source, url);
end:
    rc = pat_unit_end(svc, rc == PAT_ENOTFOUND ? PAT_OK : rc);
out:
    sodium_memzero(&owner, sizeof(owner));
    free(t);
    return rc;
}

/* Looks one reported value up and acts on it. */
static void handle(pat_service *svc, const pat_principal *reporter, const pat_request_info *info,
                   const char *value, const char *source, const char *url)
{
    uint8_t hash[PAT_HASH_LEN];
    pat_token_rec *t;
    int is_previous = 0;
    size_t len = strlen(value);

    if (pat_token_check_format(value, len, svc->token_prefix) < 0)
        return; /* not one of ours */
    pat_token_hash(hash, svc->key, value, len);
    t = pat_malloc(sizeof(*t));
    if (pat_store_token_get_by_hash(svc->store, hash, svc->clock(), t, &is_previous) == PAT_OK) {
        if (t->flags & PAT_TOKEN_FLAG_CANARY) {
            /* A decoy reported: someone found it, as if they had used it. */
            if (pat_sightings_push(svc->canary_trips, t->id, svc->clock(), info->ip,
                                   info->method, info->path, info->user_agent))
                pat_service_request_flush(svc);
        } else if (revoke(svc, reporter, info, t->id, hash, source, url) < 0) {
            pat_log_error("leak report: cannot revoke token %lld: %s", (long long)t->id,
                          pat_error_last()->message);
        }
    }
    sodium_memzero(hash, sizeof(hash));
    free(t);
}

int pat_service_leak_report(pat_service *svc, const pat_principal *reporter,
                            const pat_request_info *info, const char *const *values, size_t n,
                            const char *source, const char *url)
{
    pat_ratelimit *limit = reporter ? svc->leak_by_reporter : svc->leak_by_address;
    char key[64];
    int64_t now = svc->clock(), wait;
    int rc;

    if (n < 1 || n > PAT_LEAK_REPORT_MAX)
        return pat_error_set(PAT_EINVAL, "credentials", "report 1 to %d credentials",
                             PAT_LEAK_REPORT_MAX);
    if ((source && (rc = pat_text_check(source, "source", 1, 100, 0)) < 0) ||
        (url && (rc = pat_text_check(url, "url", 1, 2048, 0)) < 0))
        return rc;
    if (url && strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)
        return pat_error_set(PAT_EINVAL, "url", "url must be an http or https URL");
    /* Strangers by address, reporters (a token with leak-report) by token. */
    if (reporter)
        snprintf(key, sizeof(key), "token:%lld", (long long)reporter->token_id);
    else
        snprintf(key, sizeof(key), "%s", info->ip ? info->ip : "");
    if ((wait = pat_ratelimit_blocked(limit, key, now))) {
        char seconds[24];
        snprintf(seconds, sizeof(seconds), "%lld", (long long)wait);
        return pat_error_set(PAT_ERATE, seconds, "too many leak reports; retry later");
    }
    pat_ratelimit_fail(limit, key, now);
    for (size_t i = 0; i < n; i++)
        handle(svc, reporter, info, values[i], source, url);
    return PAT_OK;
}
