/* The superuser API: policy, people, departing people's tokens, audit;
 * and a person's own password. */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/format.h"
#include "http/handlers.h"
#include "util/error.h"
#include "util/mem.h"
#include "util/time.h"

json_t *pat_h_policy_json(const pat_policy *p)
{
    return json_pack("{s:i, s:o, s:b, s:b, s:b, s:s}", "default_expires_in_days",
                     p->default_expires_in_days, "max_lifetime_days",
                     p->max_lifetime_days ? json_integer(p->max_lifetime_days) : json_null(),
                     "allow_never_expires", p->allow_never_expires, "require_confirmation",
                     p->require_confirmation, "query_tokens_enabled", p->query_tokens_enabled,
                     "enforcement", p->warn_only ? "warn" : "enforce");
}

int pat_h_policy_get(pat_req *r)
{
    pat_policy p;
    int rc;

    /* Everyone signed in may read the policy: the console needs it to offer
     * only the expiry choices that will be accepted. */
    if ((rc = pat_service_policy_get(pat_req_service(r), &p)) < 0)
        return rc;
    pat_respond_json(r, 200, pat_h_policy_json(&p));
    return PAT_OK;
}

/* Reads an integer field into *out if present (null = 0 where allowed).
 * Only the type is checked here: the ranges are core's (pat_policy_validate);
 * a value beyond an int is pinned to its limit, which core refuses. */
static int int_field(json_t *body, const char *key, int *out, int allow_null)
{
    json_t *v = json_object_get(body, key);
    json_int_t n;

    if (!v)
        return PAT_OK;
    if (json_is_null(v) && allow_null) {
        *out = 0;
        return PAT_OK;
    }
    if (!json_is_integer(v))
        return pat_error_set(PAT_EINVAL, key, "%s must be a whole number of days%s", key,
                             allow_null ? " or null" : "");
    n = json_integer_value(v);
    *out = n > INT_MAX ? INT_MAX : n < INT_MIN ? INT_MIN : (int)n;
    return PAT_OK;
}

int pat_h_policy_parse(pat_req *r, json_t **body, pat_policy *p)
{
    static const char *const keys[] = {"default_expires_in_days", "max_lifetime_days",
                                       "allow_never_expires",     "require_confirmation",
                                       "query_tokens_enabled",    "enforcement",
                                       NULL};
    const char *enforcement = NULL;
    int rc;

    if ((rc = pat_json_body(r, body)) < 0 || (rc = pat_json_only_keys(*body, keys)) < 0 ||
        (rc = int_field(*body, "default_expires_in_days", &p->default_expires_in_days, 0)) < 0 ||
        (rc = int_field(*body, "max_lifetime_days", &p->max_lifetime_days, 1)) < 0 ||
        (rc = pat_json_bool(*body, "allow_never_expires", &p->allow_never_expires, NULL)) < 0 ||
        (rc = pat_json_bool(*body, "require_confirmation", &p->require_confirmation, NULL)) < 0 ||
        (rc = pat_json_bool(*body, "query_tokens_enabled", &p->query_tokens_enabled, NULL)) < 0 ||
        (rc = pat_json_string(*body, "enforcement", &enforcement, NULL)) < 0)
        return rc;
    if (enforcement) {
        if (strcmp(enforcement, "warn") != 0 && strcmp(enforcement, "enforce") != 0)
            return pat_error_set(PAT_EINVAL, "enforcement", "enforcement must be enforce or warn");
        p->warn_only = strcmp(enforcement, "warn") == 0;
    }
    return PAT_OK;
}

/* A policy body over the policy in force (missing fields keep their
 * value) into *p, for a superuser; *body is the caller's. */
static int parse_policy(pat_req *r, json_t **body, pat_policy *p)
{
    int rc;

    if ((rc = pat_service_may_administer(pat_req_service(r), &r->who)) < 0 ||
        (rc = pat_service_policy_get(pat_req_service(r), p)) < 0)
        return rc;
    return pat_h_policy_parse(r, body, p);
}

int pat_h_policy_put(pat_req *r)
{
    pat_request_info info = pat_req_info(r);
    json_t *body = NULL;
    pat_policy p;
    int rc;

    if ((rc = parse_policy(r, &body, &p)) == PAT_OK &&
        (rc = pat_service_policy_set(pat_req_service(r), &r->who, &info, &p)) == PAT_OK)
        pat_respond_json(r, 200, pat_h_policy_json(&p));
    json_decref(body);
    return rc;
}

int pat_h_policy_preview(pat_req *r)
{
    pat_policy_violation *v = NULL;
    size_t n = 0, people = 0;
    json_t *body = NULL, *arr;
    pat_policy p;
    int rc;

    if ((rc = parse_policy(r, &body, &p)) < 0 ||
        (rc = pat_policy_preview(pat_req_service(r), &r->who, &p, 10000, &v, &n, &people)) < 0)
        goto out;
    arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("{s:I, s:I, s:s, s:s, s:s}", "token_id",
                                             (json_int_t)v[i].token_id, "user_id",
                                             (json_int_t)v[i].user_id, "username", v[i].username,
                                             "name", v[i].name, "reason", v[i].reason));
    pat_respond_json(r, 200,
                     json_pack("{s:o, s:I, s:I}", "violations", arr, "tokens", (json_int_t)n,
                               "people", (json_int_t)people));
out:
    free(v);
    json_decref(body);
    return rc;
}

/* ---- people ---- */

static json_t *user_json(const pat_user *u)
{
    return json_pack("{s:I, s:s, s:s, s:s, s:b, s:b, s:o, s:o}", "id", (json_int_t)u->id,
                     "username", u->username, "email", u->email, "role",
                     pat_role_name(u->role), "disabled",
                     u->disabled, "can_manage_tokens", u->can_manage_tokens, "created_at",
                     pat_format_time(u->created_at), "updated_at",
                     pat_format_time(u->updated_at));
}

/* A parsed people body; strings borrowed from body. */
static int parse_user_body(pat_req *r, json_t **body, pat_user_input *in)
{
    static const char *const keys[] = {"username", "email",    "password", "role",
                                       "disabled", "can_manage_tokens", NULL};
    const char *role = NULL;
    int rc;

    memset(in, 0, sizeof(*in));
    if ((rc = pat_json_body(r, body)) < 0 || (rc = pat_json_only_keys(*body, keys)) < 0 ||
        (rc = pat_json_string(*body, "username", &in->username, NULL)) < 0 ||
        (rc = pat_json_string(*body, "email", &in->email, NULL)) < 0 ||
        (rc = pat_json_string(*body, "password", &in->password, NULL)) < 0 ||
        (rc = pat_json_string(*body, "role", &role, &in->has_role)) < 0 ||
        (rc = pat_json_bool(*body, "disabled", &in->disabled, &in->has_disabled)) < 0 ||
        (rc = pat_json_bool(*body, "can_manage_tokens", &in->can_manage_tokens,
                            &in->has_can_manage_tokens)) < 0)
        return rc;
    return role ? pat_role_parse(role, &in->role) : PAT_OK;
}

static void wipe_password(pat_user_input *in)
{
    if (in->password)
        pat_secret_wipe((char *)in->password, strlen(in->password));
}

int pat_h_users_list(pat_req *r)
{
    pat_user *list = NULL;
    size_t n = 0;
    json_t *arr;
    int rc;

    if ((rc = pat_users_list(pat_req_service(r), &r->who, &list, &n)) < 0)
        return rc;
    arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, user_json(&list[i]));
    free(list);
    pat_respond_json(r, 200, json_pack("{s:o}", "users", arr));
    return PAT_OK;
}

/* Create (id 0) or edit a person: same body, same answer. */
static int user_write(pat_req *r, int64_t id)
{
    pat_request_info info = pat_req_info(r);
    pat_service *svc = pat_req_service(r);
    pat_user_input in;
    json_t *body = NULL;
    pat_user u;
    int rc;

    if ((rc = parse_user_body(r, &body, &in)) == PAT_OK) {
        rc = id ? pat_users_update(svc, &r->who, &info, id, &in, &u)
                : pat_users_create(svc, &r->who, &info, &in, &u);
        if (rc == PAT_OK)
            pat_respond_json(r, id ? 200 : 201, user_json(&u));
    }
    wipe_password(&in);
    json_decref(body);
    return rc;
}

int pat_h_users_create(pat_req *r)
{
    return user_write(r, 0);
}

int pat_h_users_get(pat_req *r)
{
    pat_user u;
    int rc;

    if ((rc = pat_users_get(pat_req_service(r), &r->who, r->id, &u)) == PAT_OK)
        pat_respond_json(r, 200, user_json(&u));
    return rc;
}

int pat_h_users_update(pat_req *r)
{
    return user_write(r, r->id);
}

/* Token objects, with their owner's id (lists that cross people). */
static json_t *token_list_json(pat_req *r, const pat_token_rec *list, size_t n,
                               int64_t user_id)
{
    pat_token_extras x;
    json_t *arr = json_array();
    /* One person's list reads its extras once; a list across people (the
     * policy's violations) shows the rows alone. */
    bool extras = user_id && pat_tokens_extras(pat_req_service(r), user_id, 0, &x) == PAT_OK;

    for (size_t i = 0; i < n; i++) {
        json_t *o = extras ? pat_h_token_json(r, &list[i], &x)
                           : pat_format_token(&list[i], pat_service_now(pat_req_service(r)));
        json_object_set_new(o, "user_id", json_integer(list[i].user_id));
        json_array_append_new(arr, o);
    }
    if (extras)
        pat_tokens_extras_dispose(&x);
    return arr;
}

int pat_h_respond_token_list(pat_req *r, int rc, pat_token_rec *list, size_t n,
                              int64_t user_id)
{
    if (rc == PAT_OK)
        pat_respond_json(r, 200,
                         json_pack("{s:o}", "tokens", token_list_json(r, list, n, user_id)));
    free(list);
    return rc;
}

int pat_h_users_tokens(pat_req *r)
{
    pat_token_rec *list = NULL;
    size_t n = 0;
    int rc = pat_users_tokens(pat_req_service(r), &r->who, r->id, &list, &n);

    return pat_h_respond_token_list(r, rc, list, n, r->id);
}

int pat_h_users_revoke_all(pat_req *r)
{
    pat_request_info info = pat_req_info(r);
    size_t revoked = 0;
    int rc;

    if ((rc = pat_users_revoke_all(pat_req_service(r), &r->who, &info, r->id, &revoked)) < 0)
        return rc;
    pat_respond_json(r, 200, json_pack("{s:I}", "revoked", (json_int_t)revoked));
    return PAT_OK;
}

/* A superuser disables or enables one token of a person (no body, or {}). */
static int their_token_disabled(pat_req *r, bool disabled)
{
    pat_request_info info = pat_req_info(r);
    pat_token_rec *t = pat_calloc(1, sizeof(*t));
    int rc;

    if ((rc = pat_json_no_body(r)) == PAT_OK &&
        (rc = pat_users_token_set_disabled(pat_req_service(r), &r->who, &info, r->id, r->tid,
                                           disabled, t)) == PAT_OK)
        pat_respond_json(r, 200, pat_h_token_json(r, t, NULL));
    free(t);
    return rc;
}

int pat_h_users_token_disable(pat_req *r)
{
    return their_token_disabled(r, true);
}

int pat_h_users_token_enable(pat_req *r)
{
    return their_token_disabled(r, false);
}

int pat_h_users_token_delete(pat_req *r)
{
    pat_request_info info = pat_req_info(r);
    int rc = pat_users_token_delete(pat_req_service(r), &r->who, &info, r->id, r->tid);

    if (rc == PAT_OK)
        pat_respond_empty(r, 204);
    return rc;
}

int pat_h_policy_violations(pat_req *r)
{
    pat_token_rec *list = NULL;
    size_t n = 0;
    int rc = pat_policy_violations(pat_req_service(r), &r->who, 1000, &list, &n);

    return pat_h_respond_token_list(r, rc, list, n, 0);
}

int pat_h_password_change(pat_req *r)
{
    static const char *const keys[] = {"current_password", "new_password", NULL};
    pat_request_info info = pat_req_info(r);
    const char *current = NULL, *fresh = NULL;
    json_t *body = NULL;
    int rc;

    if ((rc = pat_json_body(r, &body)) < 0 || (rc = pat_json_only_keys(body, keys)) < 0 ||
        (rc = pat_json_string(body, "current_password", &current, NULL)) < 0 ||
        (rc = pat_json_string(body, "new_password", &fresh, NULL)) < 0)
        goto out;
    if (!current || !fresh) {
        rc = pat_error_set(PAT_EINVAL, current ? "new_password" : "current_password",
                           "current_password and new_password are required");
        goto out;
    }
    if ((rc = pat_users_change_password(pat_req_service(r), &r->who, &info, current, fresh)) < 0)
        goto out;
    pat_respond_empty(r, 204);
out:
    if (current)
        pat_secret_wipe((char *)current, strlen(current));
    if (fresh)
        pat_secret_wipe((char *)fresh, strlen(fresh));
    json_decref(body);
    return rc;
}

/* ---- audit ---- */

int pat_h_audit_filter(pat_req *r, pat_audit_filter *f)
{
    const char *user = pat_req_query(r, "user");
    const char *action = pat_req_query(r, "action");
    const char *since = pat_req_query(r, "since");
    const char *before = pat_req_query(r, "before");
    const char *limit = pat_req_query(r, "limit");
    char *end;

    memset(f, 0, sizeof(*f));
    if (user && *user) {
        f->user_id = strtoll(user, &end, 10);
        if (*end || f->user_id <= 0)
            return pat_error_set(PAT_EINVAL, "user", "user must be a person's id");
    }
    if (action && *action)
        f->action = action;
    if (since && *since && pat_time_parse(since, &f->since) < 0)
        return pat_error_set(PAT_EINVAL, "since", "since must be an RFC 3339 time");
    if (before && *before) {
        f->before_id = strtoll(before, &end, 10);
        if (*end || f->before_id <= 0)
            return pat_error_set(PAT_EINVAL, "before", "before must be an event id");
    }
    if (limit && *limit) {
        long long l = strtoll(limit, &end, 10);
        if (*end)
            return pat_error_set(PAT_EINVAL, "limit", "limit must be a number");
        /* The range is the service's: anything below 1 is out of it too. */
        f->limit = l < 1 ? SIZE_MAX : (size_t)l;
    }
    return PAT_OK;
}

void pat_h_audit_respond(pat_req *r, const pat_audit_filter *f, pat_audit_rec *list, size_t n)
{
    json_t *arr = json_array(), *o;

    for (size_t i = 0; i < n; i++) {
        const pat_audit_rec *e = &list[i];
        json_array_append_new(
            arr, json_pack("{s:I, s:o, s:o, s:o, s:s, s:s, s:s, s:s, s:s}", "id",
                           (json_int_t)e->id, "at", pat_format_time(e->at), "actor_user_id",
                           e->actor_user_id ? json_integer(e->actor_user_id) : json_null(),
                           "actor_token_id",
                           e->actor_token_id ? json_integer(e->actor_token_id) : json_null(),
                           "action", e->action, "target", e->target, "ip", e->ip, "user_agent",
                           e->user_agent, "detail", e->detail));
    }
    o = json_pack("{s:o, s:o}", "events", arr, "next_before",
                  n == f->limit && n ? json_integer(list[n - 1].id) : json_null());
    free(list);
    pat_respond_json(r, 200, o);
}

int pat_h_audit(pat_req *r)
{
    pat_audit_filter f;
    pat_audit_rec *list = NULL;
    size_t n = 0;
    int rc;

    if ((rc = pat_h_audit_filter(r, &f)) < 0 ||
        (rc = pat_audit_list(pat_req_service(r), &r->who, &f, &list, &n)) < 0)
        return rc;
    pat_h_audit_respond(r, &f, list, n);
    return PAT_OK;
}

/* GET /api/v1/outbox (superusers): API.md's shape, never a body. */
int pat_h_outbox(pat_req *r)
{
    pat_outbox_counts c;
    pat_outbox_rec *list = NULL;
    size_t n = 0;
    json_t *messages;
    int rc;

    if ((rc = pat_service_outbox(pat_req_service(r), &r->who, 100, &c, &list, &n)) < 0)
        return rc;
    messages = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *m = json_pack("{sI ss ss ss si ss}", "id", (json_int_t)list[i].id, "to",
                              list[i].recipient, "subject", list[i].subject, "status",
                              pat_mail_status_name(list[i].status), "attempts", list[i].attempts, "last_error",
                              list[i].last_error);
        json_object_set_new(m, "created_at", pat_format_time(list[i].created_at));
        json_object_set_new(m, "next_attempt_at",
                            list[i].status == PAT_MAIL_PENDING ? pat_format_time(list[i].next_try_at)
                                                               : json_null());
        json_object_set_new(m, "sent_at", pat_format_time(list[i].sent_at));
        json_array_append_new(messages, m);
    }
    free(list);
    pat_respond_json(r, 200,
                     json_pack("{sI sI sI sb so}", "pending", (json_int_t)c.pending, "sent",
                               (json_int_t)c.sent, "failed", (json_int_t)c.failed, "configured",
                               pat_service_mail_configured(pat_req_service(r)), "messages",
                               messages));
    return PAT_OK;
}

/* POST /api/v1/outbox/retry (superusers): pending messages due now. */
int pat_h_outbox_retry(pat_req *r)
{
    int rc;

    if ((rc = pat_service_outbox_retry(pat_req_service(r), &r->who)) < 0)
        return rc;
    return pat_h_outbox(r);
}
