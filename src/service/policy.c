/* The organization's policy, kept in the settings table as one value so a
 * change is atomic and every instance sharing the store sees the same. */
#include <stdio.h>
#include <string.h>

#include "service/service_int.h"
#include "util/error.h"

#define POLICY_KEY "policy"
#define POLICY_FMT "default=%d max=%d never=%d confirm=%d query=%d warn=%d"

int pat_policy_read(pat_service *svc, int64_t org_id, pat_policy *out)
{
    char key[40], value[128];
    int d, m, n, c, q, w = 0;
    int rc;

    pat_policy_defaults(out);
    snprintf(key, sizeof(key), org_id ? "policy.org.%lld" : POLICY_KEY, (long long)org_id);
    if ((rc = pat_store_setting_get(svc->store, key, value, sizeof(value))) < 0)
        return rc;
    /* Stored before warn mode existed: five fields, enforcing. */
    if (sscanf(value, POLICY_FMT, &d, &m, &n, &c, &q, &w) < 5)
        return pat_error_set(PAT_EIO, NULL, "stored policy is unreadable");
    out->default_expires_in_days = d;
    out->max_lifetime_days = m;
    out->allow_never_expires = n != 0;
    out->require_confirmation = c != 0;
    out->query_tokens_enabled = q != 0;
    out->warn_only = w != 0;
    return PAT_OK;
}

int pat_policy_write(pat_service *svc, int64_t org_id, const pat_principal *actor,
                     const pat_request_info *info, const pat_policy *p)
{
    char key[40], value[128];
    int rc;

    if ((rc = pat_policy_validate(p)) < 0)
        return rc;
    snprintf(key, sizeof(key), org_id ? "policy.org.%lld" : POLICY_KEY, (long long)org_id);
    snprintf(value, sizeof(value), POLICY_FMT, p->default_expires_in_days, p->max_lifetime_days,
             p->allow_never_expires, p->require_confirmation, p->query_tokens_enabled,
             p->warn_only);
    if ((rc = pat_unit_begin(svc)) < 0)
        return rc;
    /* The changes feed carries the new policy to the hot path's flags. */
    if ((rc = pat_store_setting_set(svc->store, key, value)) == PAT_OK)
        rc = pat_audit_record_org(svc, org_id, actor, info,
                                  org_id ? "org.policy_updated" : "policy.updated", "policy",
                                  "%s", value);
    return pat_unit_end(svc, rc);
}

int pat_service_policy_get(pat_service *svc, pat_policy *out)
{
    int rc = pat_policy_read(svc, 0, out);

    return rc == PAT_ENOTFOUND ? PAT_OK : rc;
}

int pat_service_policy_set(pat_service *svc, const pat_principal *actor,
                           const pat_request_info *info, const pat_policy *p)
{
    int rc;

    /* Under the policy in force: switching require_confirmation off needs
     * the password while it is on. */
    if (actor && (rc = pat_service_may_change_admin(svc, actor)) < 0)
        return rc;
    return pat_policy_write(svc, 0, actor, info, p);
}

void pat_service_policy_refresh(pat_service *svc)
{
    pat_policy p;

    if (pat_service_policy_get(svc, &p) == PAT_OK)
        atomic_store(&svc->query_tokens_enabled, p.query_tokens_enabled);
}

bool pat_service_query_tokens_enabled(const pat_service *svc)
{
    return atomic_load(&((pat_service *)svc)->query_tokens_enabled);
}

int pat_service_check_confirmed(pat_service *svc, const pat_principal *actor,
                                const pat_policy *policy)
{
    if (actor->kind == PAT_AUTH_SESSION && policy->require_confirmation &&
        actor->confirmed_until <= svc->clock())
        return pat_error_set(PAT_ECONFIRM, NULL,
                             "confirm your password first (POST /api/v1/session/confirm)");
    return PAT_OK;
}

int pat_service_may_change_admin(pat_service *svc, const pat_principal *actor)
{
    pat_policy policy;
    int rc;

    if ((rc = pat_service_may_administer(svc, actor)) < 0 ||
        (rc = pat_service_policy_get(svc, &policy)) < 0)
        return rc;
    return pat_service_check_confirmed(svc, actor, &policy);
}

int pat_service_may_administer(pat_service *svc, const pat_principal *actor)
{
    if (actor->role != PAT_ROLE_SUPERUSER)
        return pat_error_set(PAT_EFORBIDDEN, NULL, "only an organization superuser may do this");
    if (actor->kind == PAT_AUTH_TOKEN && !pat_scopes_has(actor->scopes, PAT_SCOPE_ADMIN))
        return pat_error_set(PAT_ESCOPE, PAT_SCOPE_ADMIN,
                             "the superuser API needs a token with the admin scope");
    pat_service_note_scope(svc, actor, PAT_SCOPE_ADMIN);
    return PAT_OK;
}
