#include "core/policy.h"

#include "util/error.h"

void pat_policy_defaults(pat_policy *p)
{
    p->default_expires_in_days = 7;
    p->max_lifetime_days = 0;
    p->allow_never_expires = true;
    p->require_confirmation = true;
    p->query_tokens_enabled = false;
    p->warn_only = false;
}

int pat_policy_validate(const pat_policy *p)
{
    if (p->default_expires_in_days < 1 || p->default_expires_in_days > PAT_EXPIRY_MAX_DAYS)
        return pat_error_set(PAT_EINVAL, "default_expires_in_days",
                             "default_expires_in_days must be 1 to %d", PAT_EXPIRY_MAX_DAYS);
    if (p->max_lifetime_days < 0 || p->max_lifetime_days > PAT_EXPIRY_MAX_DAYS)
        return pat_error_set(PAT_EINVAL, "max_lifetime_days",
                             "max_lifetime_days must be 1 to %d, or null for none",
                             PAT_EXPIRY_MAX_DAYS);
    if (p->max_lifetime_days && p->default_expires_in_days > p->max_lifetime_days)
        return pat_error_set(PAT_EINVAL, "default_expires_in_days",
                             "default_expires_in_days exceeds max_lifetime_days");
    return PAT_OK;
}

int pat_expiry_is_preset(int64_t days)
{
    return days == 7 || days == 30 || days == 60 || days == 90;
}

int pat_expiry_resolve(const pat_expiry_request *req, const pat_policy *policy, int64_t now,
                       int64_t ceiling, int64_t *expires_at)
{
    int64_t at = 0;

    switch (req->kind) {
    case PAT_EXPIRY_DEFAULT:
        at = now + (int64_t)policy->default_expires_in_days * PAT_DAY;
        break;
    case PAT_EXPIRY_DAYS:
        if (!pat_expiry_is_preset(req->days))
            return pat_error_set(PAT_EINVAL, "expires_in_days",
                                 "expires_in_days must be 7, 30, 60 or 90; use expires_at for "
                                 "another date");
        at = now + req->days * PAT_DAY;
        break;
    case PAT_EXPIRY_AT:
        if (req->at <= now)
            return pat_error_set(PAT_EINVAL, "expires_at", "expires_at must be in the future");
        if (req->at > now + (int64_t)PAT_EXPIRY_MAX_DAYS * PAT_DAY)
            return pat_error_set(PAT_EINVAL, "expires_at",
                                 "expires_at must be within %d days", PAT_EXPIRY_MAX_DAYS);
        at = req->at;
        break;
    case PAT_EXPIRY_NEVER:
        if (!policy->allow_never_expires)
            return pat_error_set(PAT_EPOLICY, "never_expires",
                                 "the organization's policy requires tokens to expire");
        if (policy->max_lifetime_days)
            return pat_error_set(PAT_EPOLICY, "never_expires",
                                 "the organization's maximum lifetime is %d days",
                                 policy->max_lifetime_days);
        at = 0;
        break;
    default:
        return pat_error_set(PAT_EINVAL, "expires_at", "unknown expiry kind");
    }
    if (at && policy->max_lifetime_days &&
        at - now > (int64_t)policy->max_lifetime_days * PAT_DAY)
        return pat_error_set(PAT_EPOLICY, req->kind == PAT_EXPIRY_AT ? "expires_at"
                                                                     : "expires_in_days",
                             "expiry exceeds the organization's maximum of %d days",
                             policy->max_lifetime_days);
    if (ceiling > 0 && (at == 0 || at > ceiling))
        return pat_error_set(PAT_EFORBIDDEN, at ? "expires_at" : "never_expires",
                             "a token cannot grant a lifetime beyond its own expiry");
    *expires_at = at;
    return PAT_OK;
}

int64_t pat_expiry_remaining(int64_t expires_at, int64_t now)
{
    if (expires_at == 0 || expires_at <= now)
        return 0;
    return expires_at - now;
}

int pat_expiry_passed(int64_t expires_at, int64_t now)
{
    return expires_at != 0 && now >= expires_at;
}

int pat_expiry_soon(int64_t created_at, int64_t expires_at, int64_t now)
{
    int64_t life = expires_at - created_at;
    int64_t window = life > 0 ? life / 5 : 0;

    if (expires_at == 0 || pat_expiry_passed(expires_at, now))
        return 0;
    if (window > 3 * PAT_DAY)
        window = 3 * PAT_DAY;
    return expires_at - now <= window;
}

void pat_policy_tighten(pat_policy *into, const pat_policy *other)
{
    if (other->max_lifetime_days &&
        (!into->max_lifetime_days || other->max_lifetime_days < into->max_lifetime_days))
        into->max_lifetime_days = other->max_lifetime_days;
    into->allow_never_expires = into->allow_never_expires && other->allow_never_expires;
    if (other->default_expires_in_days < into->default_expires_in_days)
        into->default_expires_in_days = other->default_expires_in_days;
    if (into->max_lifetime_days && into->default_expires_in_days > into->max_lifetime_days)
        into->default_expires_in_days = into->max_lifetime_days;
}
