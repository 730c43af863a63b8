/* The superuser API: policy. */
#include "http/format.h"
#include "http/handlers.h"
#include "util/error.h"

static json_t *policy_json(const pat_policy *p)
{
    return json_pack("{s:i, s:o, s:b, s:b, s:b}", "default_expires_in_days",
                     p->default_expires_in_days, "max_lifetime_days",
                     p->max_lifetime_days ? json_integer(p->max_lifetime_days) : json_null(),
                     "allow_never_expires", p->allow_never_expires, "require_confirmation",
                     p->require_confirmation, "query_tokens_enabled", p->query_tokens_enabled);
}

int pat_h_policy_get(pat_req *r)
{
    pat_policy p;
    int rc;

    /* Everyone signed in may read the policy: the console needs it to offer
     * only the expiry choices that will be accepted. */
    if ((rc = pat_service_policy_get(pat_req_service(r), &p)) < 0)
        return rc;
    pat_respond_json(r, 200, policy_json(&p));
    return PAT_OK;
}

/* Reads an integer field that must fit in 0..max into *out if present. */
static int int_field(json_t *body, const char *key, int *out, int allow_null)
{
    json_t *v = json_object_get(body, key);

    if (!v)
        return PAT_OK;
    if (json_is_null(v) && allow_null) {
        *out = 0;
        return PAT_OK;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 100000)
        return pat_error_set(PAT_EINVAL, key, "%s must be a whole number of days%s", key,
                             allow_null ? " or null" : "");
    *out = (int)json_integer_value(v);
    return PAT_OK;
}

int pat_h_policy_put(pat_req *r)
{
    static const char *const keys[] = {"default_expires_in_days", "max_lifetime_days",
                                       "allow_never_expires",     "require_confirmation",
                                       "query_tokens_enabled",    NULL};
    pat_service *svc = pat_req_service(r);
    pat_request_info info = pat_req_info(r);
    json_t *body = NULL;
    pat_policy p;
    int rc;

    if ((rc = pat_service_may_administer(&r->who)) < 0 ||
        (rc = pat_service_policy_get(svc, &p)) < 0 || (rc = pat_json_body(r, &body)) < 0 ||
        (rc = pat_json_only_keys(body, keys)) < 0 ||
        (rc = int_field(body, "default_expires_in_days", &p.default_expires_in_days, 0)) < 0 ||
        (rc = int_field(body, "max_lifetime_days", &p.max_lifetime_days, 1)) < 0 ||
        (rc = pat_json_bool(body, "allow_never_expires", &p.allow_never_expires, NULL)) < 0 ||
        (rc = pat_json_bool(body, "require_confirmation", &p.require_confirmation, NULL)) < 0 ||
        (rc = pat_json_bool(body, "query_tokens_enabled", &p.query_tokens_enabled, NULL)) < 0 ||
        (rc = pat_service_policy_set(svc, &r->who, &info, &p)) < 0)
        goto out;
    pat_respond_json(r, 200, policy_json(&p));
out:
    json_decref(body);
    return rc;
}
