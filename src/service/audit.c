/* The audit log: writing an event inside a use case's unit of work, and
 * reading the log. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/text.h"
#include "service/service_int.h"
#include "util/error.h"
#include "util/log.h"

int pat_audit_record(pat_service *svc, const pat_principal *actor, const pat_request_info *info,
                     const char *action, const char *target, const char *detail_fmt, ...)
{
    pat_audit_rec r;
    va_list ap;
    int rc;

    memset(&r, 0, sizeof(r));
    r.at = svc->clock();
    if (actor) {
        r.actor_user_id = actor->user_id;
        r.actor_token_id = actor->kind == PAT_AUTH_TOKEN ? actor->token_id : 0;
    }
    snprintf(r.action, sizeof(r.action), "%s", action);
    snprintf(r.target, sizeof(r.target), "%s", target ? target : "");
    if (info) {
        snprintf(r.ip, sizeof(r.ip), "%s", info->ip ? info->ip : "");
        pat_text_copy_clean(r.user_agent, sizeof(r.user_agent), info->user_agent);
    }
    va_start(ap, detail_fmt);
    vsnprintf(r.detail, sizeof(r.detail), detail_fmt, ap);
    va_end(ap);
    if ((rc = pat_store_audit_append(svc->store, &r)) < 0) {
        pat_log_error("audit: cannot record %s on %s", action, r.target);
        rc = pat_error_set(PAT_EIO, NULL, "the change could not be recorded; nothing was changed");
    }
    return rc;
}

int pat_audit_list(pat_service *svc, const pat_principal *actor, pat_audit_filter *f,
                   pat_audit_rec **out, size_t *n)
{
    /* Anyone but a superuser (with the admin scope, through a token) sees
     * their own events only. */
    if (pat_service_may_administer(actor) < 0)
        f->user_id = actor->user_id;
    if (f->limit == 0)
        f->limit = PAT_AUDIT_PAGE_DEFAULT;
    if (f->limit > PAT_AUDIT_PAGE_MAX)
        return pat_error_set(PAT_EINVAL, "limit", "limit must be 1 to %d", PAT_AUDIT_PAGE_MAX);
    if (f->action && strlen(f->action) > PAT_AUDIT_ACTION_MAX)
        return pat_error_set(PAT_EINVAL, "action", "action is too long");
    pat_error_clear();
    return pat_store_audit_list(svc->store, f, out, n);
}
