/* The audit log: writing an event inside a use case's unit of work, and
 * reading the log. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/text.h"
#include "service/service_int.h"
#include "util/error.h"
#include "util/log.h"
#include "util/mem.h"

/* Fills r for actor, info, action and target (detail left to the caller). */
static void fill(pat_service *svc, pat_audit_rec *r, const pat_principal *actor,
                 const pat_request_info *info, const char *action, const char *target)
{
    memset(r, 0, sizeof(*r));
    r->at = svc->clock();
    if (actor) {
        r->actor_user_id = actor->user_id;
        r->actor_token_id = actor->kind == PAT_AUTH_TOKEN ? actor->token_id : 0;
    }
    snprintf(r->action, sizeof(r->action), "%s", action);
    snprintf(r->target, sizeof(r->target), "%s", target ? target : "");
    if (info) {
        snprintf(r->ip, sizeof(r->ip), "%s", info->ip ? info->ip : "");
        pat_text_copy_clean(r->user_agent, sizeof(r->user_agent), info->user_agent);
    }
}

static int record(pat_service *svc, int64_t org_id, const pat_principal *actor,
                  const pat_request_info *info, const char *action, const char *target,
                  const char *detail_fmt, va_list ap)
{
    pat_audit_rec r;
    int rc;

    fill(svc, &r, actor, info, action, target);
    r.org_id = org_id;
    vsnprintf(r.detail, sizeof(r.detail), detail_fmt, ap);
    if ((rc = pat_store_audit_append(svc->store, &r)) < 0) {
        pat_log_error("audit: cannot record %s on %s", action, r.target);
        rc = pat_error_set(PAT_EIO, NULL, "the change could not be recorded; nothing was changed");
    }
    return rc;
}

int pat_audit_record(pat_service *svc, const pat_principal *actor, const pat_request_info *info,
                     const char *action, const char *target, const char *detail_fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, detail_fmt);
    rc = record(svc, 0, actor, info, action, target, detail_fmt, ap);
    va_end(ap);
    return rc;
}

int pat_audit_record_org(pat_service *svc, int64_t org_id, const pat_principal *actor,
                         const pat_request_info *info, const char *action, const char *target,
                         const char *detail_fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, detail_fmt);
    rc = record(svc, org_id, actor, info, action, target, detail_fmt, ap);
    va_end(ap);
    return rc;
}

#define DEFERRED_MAX 16384

int pat_audit_defer(pat_service *svc, const pat_principal *actor, const pat_request_info *info,
                    const char *action, const char *target, const char *detail_fmt, ...)
{
    pat_audit_rec r;
    va_list ap;
    int rc = PAT_OK;

    fill(svc, &r, actor, info, action, target);
    va_start(ap, detail_fmt);
    vsnprintf(r.detail, sizeof(r.detail), detail_fmt, ap);
    va_end(ap);
    size_t queued = 0;
    pthread_mutex_lock(&svc->deferred_lock);
    if (svc->ndeferred < DEFERRED_MAX) {
        if (svc->ndeferred == svc->deferred_cap) {
            svc->deferred_cap = svc->deferred_cap ? svc->deferred_cap * 2 : 256;
            svc->deferred = pat_realloc(svc->deferred, svc->deferred_cap * sizeof(r));
        }
        svc->deferred[svc->ndeferred++] = r;
        queued = svc->ndeferred;
        r.id = -1; /* queued */
    }
    pthread_mutex_unlock(&svc->deferred_lock);
    if (r.id == -1) {
        /* The flusher writes the queue every second; it is woken early only
         * when the queue fills (waking it per event made it run a whole
         * flush per exchange: a third of the CPU of a stream of them). */
        if (queued == DEFERRED_MAX / 4)
            pat_service_request_flush(svc);
        return PAT_OK;
    }
    /* Full: this one is written now, so none is ever dropped. */
    if ((rc = pat_unit_begin(svc)) == PAT_OK)
        rc = pat_unit_end(svc, pat_store_audit_append(svc->store, &r));
    return rc;
}

int pat_audit_flush_deferred(pat_service *svc)
{
    pat_audit_rec *list;
    size_t n;
    int rc;

    pthread_mutex_lock(&svc->deferred_lock);
    list = svc->deferred;
    n = svc->ndeferred;
    svc->deferred = NULL;
    svc->ndeferred = svc->deferred_cap = 0;
    pthread_mutex_unlock(&svc->deferred_lock);
    if (n == 0) {
        free(list);
        return PAT_OK;
    }
    /* One transaction for the batch: one commit (one fsync) per second
     * instead of one per exchange. */
    if ((rc = pat_unit_begin(svc)) == PAT_OK) {
        for (size_t i = 0; i < n && rc == PAT_OK; i++)
            rc = pat_store_audit_append(svc->store, &list[i]);
        rc = pat_unit_end(svc, rc);
    }
    if (rc < 0) {
        /* Kept for the next flush, ahead of what came meanwhile. */
        pat_log_error("audit: cannot write %zu deferred events: %s", n, pat_error_last()->message);
        pthread_mutex_lock(&svc->deferred_lock);
        list = pat_realloc(list, (n + svc->ndeferred) * sizeof(*list));
        if (svc->ndeferred)
            memcpy(list + n, svc->deferred, svc->ndeferred * sizeof(*list));
        free(svc->deferred);
        svc->deferred = list;
        svc->ndeferred = svc->deferred_cap = n + svc->ndeferred;
        pthread_mutex_unlock(&svc->deferred_lock);
        return rc;
    }
    free(list);
    return PAT_OK;
}

int pat_audit_read(pat_service *svc, pat_audit_filter *f, pat_audit_rec **out, size_t *n)
{
    if (f->limit == 0)
        f->limit = PAT_AUDIT_PAGE_DEFAULT;
    if (f->limit > PAT_AUDIT_PAGE_MAX)
        return pat_error_set(PAT_EINVAL, "limit", "limit must be 1 to %d", PAT_AUDIT_PAGE_MAX);
    if (f->action && strlen(f->action) > PAT_AUDIT_ACTION_MAX)
        return pat_error_set(PAT_EINVAL, "action", "action is too long");
    pat_error_clear();
    return pat_store_audit_list(svc->store, f, out, n);
}

int pat_audit_list(pat_service *svc, const pat_principal *actor, pat_audit_filter *f,
                   pat_audit_rec **out, size_t *n)
{
    /* Anyone but a superuser (with the admin scope, through a token) sees
     * their own events only. */
    if (pat_service_may_administer(svc, actor) < 0)
        f->user_id = actor->user_id;
    return pat_audit_read(svc, f, out, n);
}
