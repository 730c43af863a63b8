/* Organizations (API.md "Organizations"): the organizations, their
 * members, a member's tokens, each organization's policy and audit log. */
#include <stdlib.h>
#include <string.h>

#include "http/format.h"
#include "http/handlers.h"
#include "util/error.h"

static json_t *org_json(const pat_org_view *v)
{
    json_t *o = json_pack("{s:s, s:s, s:o, s:o}", "slug", v->org.slug, "name", v->org.name,
                          "created_at", pat_format_time(v->org.created_at), "updated_at",
                          pat_format_time(v->org.updated_at));

    json_object_set_new(o, "role", v->member ? json_string(pat_org_role_name(v->role))
                                             : json_null());
    json_object_set_new(o, "can_manage_tokens",
                        v->member ? json_boolean(v->can_manage_tokens) : json_null());
    return o;
}

static json_t *member_json(const pat_membership *m)
{
    return json_pack("{s:I, s:s, s:s, s:b, s:o, s:o}", "user_id", (json_int_t)m->user_id,
                     "username", m->username, "role", pat_org_role_name(m->role),
                     "can_manage_tokens", m->can_manage_tokens, "created_at",
                     pat_format_time(m->created_at), "updated_at",
                     pat_format_time(m->updated_at));
}

int pat_h_orgs_list(pat_req *r)
{
    pat_org_view *list = NULL;
    size_t n = 0;
    json_t *arr;
    int rc;

    if ((rc = pat_orgs_list(pat_req_service(r), &r->who, &list, &n)) < 0)
        return rc;
    arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, org_json(&list[i]));
    free(list);
    pat_respond_json(r, 200, json_pack("{s:o}", "orgs", arr));
    return PAT_OK;
}

int pat_h_orgs_create(pat_req *r)
{
    static const char *const keys[] = {"slug", "name", NULL};
    pat_request_info info = pat_req_info(r);
    const char *slug = NULL, *name = NULL;
    json_t *body = NULL;
    pat_org_view v;
    int rc;

    if ((rc = pat_json_body(r, &body)) == PAT_OK &&
        (rc = pat_json_only_keys(body, keys)) == PAT_OK &&
        (rc = pat_json_string(body, "slug", &slug, NULL)) == PAT_OK &&
        (rc = pat_json_string(body, "name", &name, NULL)) == PAT_OK &&
        (rc = pat_orgs_create(pat_req_service(r), &r->who, &info, slug ? slug : "", name,
                              &v)) == PAT_OK)
        pat_respond_json(r, 201, org_json(&v));
    json_decref(body);
    return rc;
}

int pat_h_orgs_get(pat_req *r)
{
    pat_org_view v;
    int rc = pat_orgs_get(pat_req_service(r), &r->who, r->slug, &v);

    if (rc == PAT_OK)
        pat_respond_json(r, 200, org_json(&v));
    return rc;
}

int pat_h_orgs_update(pat_req *r)
{
    static const char *const keys[] = {"name", NULL};
    pat_request_info info = pat_req_info(r);
    const char *name = NULL;
    json_t *body = NULL;
    pat_org_view v;
    int rc;

    if ((rc = pat_json_body(r, &body)) == PAT_OK &&
        (rc = pat_json_only_keys(body, keys)) == PAT_OK &&
        (rc = pat_json_string(body, "name", &name, NULL)) == PAT_OK) {
        /* Nothing to change: the organization as it is. */
        rc = name ? pat_orgs_rename(pat_req_service(r), &r->who, &info, r->slug, name, &v)
                  : pat_orgs_get(pat_req_service(r), &r->who, r->slug, &v);
        if (rc == PAT_OK)
            pat_respond_json(r, 200, org_json(&v));
    }
    json_decref(body);
    return rc;
}

int pat_h_orgs_members(pat_req *r)
{
    pat_membership *list = NULL;
    size_t n = 0;
    json_t *arr;
    int rc;

    if ((rc = pat_orgs_members(pat_req_service(r), &r->who, r->slug, &list, &n)) < 0)
        return rc;
    arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, member_json(&list[i]));
    free(list);
    pat_respond_json(r, 200, json_pack("{s:o}", "members", arr));
    return PAT_OK;
}

/* A membership body: for an add, user_id or username; role and
 * can_manage_tokens either way. *body is the caller's. */
static int parse_member(pat_req *r, json_t **body, bool is_add, pat_member_input *in)
{
    static const char *const add_keys[] = {"user_id", "username", "role", "can_manage_tokens",
                                           NULL};
    static const char *const edit_keys[] = {"role", "can_manage_tokens", NULL};
    const char *role = NULL;
    int rc;

    memset(in, 0, sizeof(*in));
    if ((rc = pat_json_body(r, body)) < 0 ||
        (rc = pat_json_only_keys(*body, is_add ? add_keys : edit_keys)) < 0 ||
        (is_add && (rc = pat_json_int(*body, "user_id", &in->user_id, NULL)) < 0) ||
        (is_add && (rc = pat_json_string(*body, "username", &in->username, NULL)) < 0) ||
        (rc = pat_json_string(*body, "role", &role, &in->has_role)) < 0 ||
        (rc = pat_json_bool(*body, "can_manage_tokens", &in->can_manage_tokens,
                            &in->has_can_manage_tokens)) < 0)
        return rc;
    if (is_add && json_object_get(*body, "user_id") && in->user_id <= 0)
        return pat_error_set(PAT_EINVAL, "user_id", "user_id must be a person's id");
    return role ? pat_org_role_parse(role, &in->role) : PAT_OK;
}

int pat_h_orgs_member_add(pat_req *r)
{
    pat_request_info info = pat_req_info(r);
    pat_member_input in;
    pat_membership m;
    json_t *body = NULL;
    int rc;

    if ((rc = parse_member(r, &body, true, &in)) == PAT_OK &&
        (rc = pat_orgs_member_add(pat_req_service(r), &r->who, &info, r->slug, &in, &m)) ==
            PAT_OK)
        pat_respond_json(r, 201, member_json(&m));
    json_decref(body);
    return rc;
}

int pat_h_orgs_member_update(pat_req *r)
{
    pat_request_info info = pat_req_info(r);
    pat_member_input in;
    pat_membership m;
    json_t *body = NULL;
    int rc;

    if ((rc = parse_member(r, &body, false, &in)) == PAT_OK &&
        (rc = pat_orgs_member_update(pat_req_service(r), &r->who, &info, r->slug, r->id, &in,
                                     &m)) == PAT_OK)
        pat_respond_json(r, 200, member_json(&m));
    json_decref(body);
    return rc;
}

int pat_h_orgs_member_remove(pat_req *r)
{
    pat_request_info info = pat_req_info(r);
    int rc = pat_orgs_member_remove(pat_req_service(r), &r->who, &info, r->slug, r->id);

    if (rc == PAT_OK)
        pat_respond_empty(r, 204);
    return rc;
}

int pat_h_orgs_member_tokens(pat_req *r)
{
    pat_token_rec *list = NULL;
    size_t n = 0;
    int rc = pat_orgs_member_tokens(pat_req_service(r), &r->who, r->slug, r->id, &list, &n);

    return pat_h_respond_token_list(r, rc, list, n, 0);
}

int pat_h_orgs_member_revoke_all(pat_req *r)
{
    pat_request_info info = pat_req_info(r);
    size_t deleted = 0, narrowed = 0;
    int rc;

    if ((rc = pat_json_no_body(r)) < 0 ||
        (rc = pat_orgs_member_revoke_all(pat_req_service(r), &r->who, &info, r->slug, r->id,
                                         &deleted, &narrowed)) < 0)
        return rc;
    pat_respond_json(r, 200, json_pack("{s:I, s:I}", "revoked", (json_int_t)deleted, "narrowed",
                                       (json_int_t)narrowed));
    return PAT_OK;
}

int pat_h_orgs_policy_get(pat_req *r)
{
    pat_policy p;
    int rc = pat_orgs_policy_get(pat_req_service(r), &r->who, r->slug, &p);

    if (rc == PAT_OK)
        pat_respond_json(r, 200, pat_h_policy_json(&p));
    return rc;
}

int pat_h_orgs_policy_put(pat_req *r)
{
    pat_request_info info = pat_req_info(r);
    json_t *body = NULL;
    pat_policy p;
    int rc;

    if ((rc = pat_orgs_policy_get(pat_req_service(r), &r->who, r->slug, &p)) == PAT_OK &&
        (rc = pat_h_policy_parse(r, &body, &p)) == PAT_OK &&
        (rc = pat_orgs_policy_set(pat_req_service(r), &r->who, &info, r->slug, &p)) == PAT_OK)
        pat_respond_json(r, 200, pat_h_policy_json(&p));
    json_decref(body);
    return rc;
}

int pat_h_orgs_policy_violations(pat_req *r)
{
    pat_token_rec *list = NULL;
    size_t n = 0;
    int rc = pat_orgs_policy_violations(pat_req_service(r), &r->who, r->slug, 1000, &list, &n);

    return pat_h_respond_token_list(r, rc, list, n, 0);
}

int pat_h_orgs_audit(pat_req *r)
{
    pat_audit_filter f;
    pat_audit_rec *list = NULL;
    size_t n = 0;
    int rc;

    if ((rc = pat_h_audit_filter(r, &f)) < 0 ||
        (rc = pat_orgs_audit(pat_req_service(r), &r->who, r->slug, &f, &list, &n)) < 0)
        return rc;
    pat_h_audit_respond(r, &f, list, n);
    return PAT_OK;
}
