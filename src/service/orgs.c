/* Organizations: who belongs where, with which role and token permission;
 * each organization's policy; where a person's tokens may be used. A
 * person's tokens stay theirs, the same list in every organization
 * (product document 000); a membership decides where they are usable. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/text.h"
#include "service/service_int.h"
#include "util/error.h"
#include "util/mem.h"

static int no_such_org(const char *slug)
{
    return pat_error_set(PAT_ENOTFOUND, NULL, "no organization %.*s", PAT_ORG_SLUG_MAX, slug);
}

/* Loads the organization slug as actor may see it: a superuser sees every
 * one, anyone else those they are a member of (the others do not exist
 * for them). With need_owner, only its owners and superusers pass. */
static int load_org(pat_service *svc, const pat_principal *actor, const char *slug,
                    bool need_owner, pat_org_view *out)
{
    pat_membership m;
    bool super;
    int rc;

    memset(out, 0, sizeof(*out));
    if (pat_org_slug_check(slug, "slug") < 0)
        return no_such_org(slug);
    if ((rc = pat_store_org_get(svc->store, slug, &out->org)) < 0)
        return rc == PAT_ENOTFOUND ? no_such_org(slug) : rc;
    super = pat_service_may_administer(svc, actor) == PAT_OK;
    rc = pat_store_member_get(svc->store, out->org.id, actor->user_id, &m);
    if (rc == PAT_OK) {
        out->member = true;
        out->role = m.role;
        out->can_manage_tokens = m.can_manage_tokens;
    } else if (rc != PAT_ENOTFOUND) {
        return rc;
    }
    pat_error_clear();
    if (super)
        return PAT_OK;
    if (!out->member)
        return no_such_org(slug);
    if (!need_owner)
        return PAT_OK;
    if (out->role != PAT_ORG_OWNER)
        return pat_error_set(PAT_EFORBIDDEN, NULL,
                             "only the owners of the organization %s may do this", slug);
    if (actor->kind == PAT_AUTH_TOKEN && !pat_scopes_has(actor->scopes, PAT_SCOPE_ORGS))
        return pat_error_set(PAT_ESCOPE, PAT_SCOPE_ORGS,
                             "administering an organization needs the orgs scope");
    pat_service_note_scope(svc, actor, PAT_SCOPE_ORGS);
    return PAT_OK;
}

/* load_org for a change: an owner or superuser, and through the console a
 * recent password confirmation when the installation's policy asks. */
static int load_org_to_change(pat_service *svc, const pat_principal *actor, const char *slug,
                              pat_org_view *out)
{
    pat_policy policy;
    int rc;

    if ((rc = load_org(svc, actor, slug, true, out)) < 0 ||
        (rc = pat_service_policy_get(svc, &policy)) < 0)
        return rc;
    return pat_service_check_confirmed(svc, actor, &policy);
}

static int check_org_name(const char *name)
{
    int rc = pat_text_check(name, "name", 1, PAT_NAME_MAX_CHARS, 0);

    if (rc == PAT_OK && strspn(name, " ") == strlen(name))
        rc = pat_error_set(PAT_EINVAL, "name", "name is required");
    return rc;
}

int pat_orgs_list(pat_service *svc, const pat_principal *actor, pat_org_view **out, size_t *n)
{
    pat_membership *mine = NULL;
    pat_org *all = NULL;
    pat_org_view *v = NULL;
    size_t nmine = 0, nall = 0, k = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if ((rc = pat_store_member_list(svc->store, 0, actor->user_id, &mine, &nmine)) < 0)
        return rc;
    if (pat_service_may_administer(svc, actor) == PAT_OK) {
        if ((rc = pat_store_org_list(svc->store, &all, &nall)) < 0)
            goto out;
        v = pat_calloc(nall + 1, sizeof(*v));
        for (size_t i = 0; i < nall; i++, k++) {
            v[k].org = all[i];
            for (size_t j = 0; j < nmine; j++)
                if (mine[j].org_id == all[i].id) {
                    v[k].member = true;
                    v[k].role = mine[j].role;
                    v[k].can_manage_tokens = mine[j].can_manage_tokens;
                }
        }
    } else {
        v = pat_calloc(nmine + 1, sizeof(*v));
        for (size_t j = 0; j < nmine; j++, k++) {
            if ((rc = pat_store_org_get(svc->store, mine[j].slug, &v[k].org)) < 0)
                goto out;
            v[k].member = true;
            v[k].role = mine[j].role;
            v[k].can_manage_tokens = mine[j].can_manage_tokens;
        }
    }
    pat_error_clear();
    *out = v;
    *n = k;
    v = NULL;
out:
    free(v);
    free(all);
    free(mine);
    return rc;
}

int pat_orgs_create(pat_service *svc, const pat_principal *actor, const pat_request_info *info,
                    const char *slug, const char *name, pat_org_view *out)
{
    int rc;

    memset(out, 0, sizeof(*out));
    if (!name)
        name = slug; /* named as its slug until renamed */
    if ((rc = pat_service_may_change_admin(svc, actor)) < 0 ||
        (rc = pat_org_slug_check(slug, "slug")) < 0 || (rc = check_org_name(name)) < 0 ||
        (rc = pat_text_set(out->org.slug, sizeof(out->org.slug), slug)) < 0 ||
        (rc = pat_text_set(out->org.name, sizeof(out->org.name), name)) < 0)
        return rc;
    out->org.created_at = out->org.updated_at = svc->clock();
    if ((rc = pat_unit_begin(svc)) < 0)
        return rc;
    rc = pat_store_org_create(svc->store, &out->org);
    if (rc == PAT_EEXISTS)
        rc = pat_error_set(PAT_EEXISTS, "slug", "an organization with this slug exists");
    if (rc == PAT_OK)
        rc = pat_audit_record_org(svc, out->org.id, actor, info, "org.created", "org",
                                  "slug=%s name=%s", out->org.slug, out->org.name);
    return pat_unit_end(svc, rc);
}

int pat_orgs_get(pat_service *svc, const pat_principal *actor, const char *slug,
                 pat_org_view *out)
{
    return load_org(svc, actor, slug, false, out);
}

int pat_orgs_rename(pat_service *svc, const pat_principal *actor, const pat_request_info *info,
                    const char *slug, const char *name, pat_org_view *out)
{
    int rc;

    if ((rc = load_org_to_change(svc, actor, slug, out)) < 0 || (rc = check_org_name(name)) < 0 ||
        (rc = pat_text_set(out->org.name, sizeof(out->org.name), name)) < 0)
        return rc;
    out->org.updated_at = svc->clock();
    if ((rc = pat_unit_begin(svc)) < 0)
        return rc;
    if ((rc = pat_store_org_update(svc->store, &out->org)) == PAT_OK)
        rc = pat_audit_record_org(svc, out->org.id, actor, info, "org.updated", "org",
                                  "slug=%s name=%s", out->org.slug, out->org.name);
    return pat_unit_end(svc, rc);
}

int pat_orgs_members(pat_service *svc, const pat_principal *actor, const char *slug,
                     pat_membership **out, size_t *n)
{
    pat_org_view o;
    int rc;

    *out = NULL;
    *n = 0;
    if ((rc = load_org(svc, actor, slug, true, &o)) < 0)
        return rc;
    return pat_store_member_list(svc->store, o.org.id, 0, out, n);
}

/* The person a membership request names, by id or username. */
static int find_person(pat_service *svc, const pat_member_input *in, pat_user *u)
{
    int rc;

    if (in->username && in->user_id)
        return pat_error_set(PAT_EINVAL, "username", "give user_id or username, not both");
    if (in->username) {
        if ((rc = pat_text_check(in->username, "username", 1, PAT_USERNAME_MAX, 0)) < 0)
            return rc;
        rc = pat_store_user_get_by_name(svc->store, in->username, u);
    } else if (in->user_id > 0) {
        rc = pat_store_user_get(svc->store, in->user_id, u);
    } else {
        return pat_error_set(PAT_EINVAL, "user_id", "user_id or username is required");
    }
    sodium_memzero(u->password_hash, sizeof(u->password_hash));
    if (rc == PAT_ENOTFOUND)
        return pat_error_set(PAT_EINVAL, in->username ? "username" : "user_id",
                             "there is no such person");
    return rc;
}

int pat_orgs_member_add(pat_service *svc, const pat_principal *actor, const pat_request_info *info,
                        const char *slug, const pat_member_input *in, pat_membership *out)
{
    pat_membership *theirs = NULL;
    size_t ntheirs = 0;
    pat_org_view o;
    pat_user u;
    int rc;

    memset(out, 0, sizeof(*out));
    if ((rc = load_org_to_change(svc, actor, slug, &o)) < 0 || (rc = find_person(svc, in, &u)) < 0)
        return rc;
    out->org_id = o.org.id;
    out->user_id = u.id;
    out->role = in->has_role ? in->role : PAT_ORG_MEMBER;
    out->can_manage_tokens = in->has_can_manage_tokens ? in->can_manage_tokens : true;
    out->created_at = out->updated_at = svc->clock();
    if ((rc = pat_unit_begin(svc)) < 0)
        return rc;
    if ((rc = pat_store_member_list(svc->store, 0, u.id, &theirs, &ntheirs)) < 0)
        goto out;
    if (ntheirs >= PAT_ORGS_PER_PERSON) {
        rc = pat_error_set(PAT_ECONFLICT, "user_id",
                           "a person may be a member of at most %d organizations",
                           PAT_ORGS_PER_PERSON);
        goto out;
    }
    rc = pat_store_member_add(svc->store, out);
    if (rc == PAT_EEXISTS)
        rc = pat_error_set(PAT_EEXISTS, "user_id", "%s is a member already", u.username);
    if (rc == PAT_OK)
        rc = pat_audit_record_org(svc, o.org.id, actor, info, "org.member_added", "user",
                                  "org=%s id=%lld username=%s role=%s can_manage_tokens=%d",
                                  o.org.slug, (long long)u.id, u.username,
                                  pat_org_role_name(out->role), out->can_manage_tokens);
out:
    free(theirs);
    if ((rc = pat_unit_end(svc, rc)) < 0)
        return rc;
    return pat_store_member_get(svc->store, o.org.id, u.id, out);
}

int pat_orgs_member_update(pat_service *svc, const pat_principal *actor,
                           const pat_request_info *info, const char *slug, int64_t user_id,
                           const pat_member_input *in, pat_membership *out)
{
    pat_org_view o;
    bool was;
    int rc;

    if ((rc = load_org_to_change(svc, actor, slug, &o)) < 0 || (rc = pat_unit_begin(svc)) < 0)
        return rc;
    if ((rc = pat_store_member_get(svc->store, o.org.id, user_id, out)) < 0)
        goto out;
    was = out->can_manage_tokens;
    if (in->has_role)
        out->role = in->role;
    if (in->has_can_manage_tokens)
        out->can_manage_tokens = in->can_manage_tokens;
    out->updated_at = svc->clock();
    if ((rc = pat_store_member_update(svc->store, out)) == PAT_OK)
        rc = pat_audit_record_org(
            svc, o.org.id, actor, info,
            was == out->can_manage_tokens ? "org.member_updated"
            : out->can_manage_tokens      ? "org.permission_granted"
                                          : "org.permission_withdrawn",
            "user", "org=%s id=%lld username=%s role=%s can_manage_tokens=%d", o.org.slug,
            (long long)user_id, out->username, pat_org_role_name(out->role),
            out->can_manage_tokens);
    /* The person hears of it, as of the installation-wide permission. */
    if (rc == PAT_OK && was != out->can_manage_tokens)
        rc = pat_notify_org_permission(svc, actor, info, user_id, o.org.name,
                                       out->can_manage_tokens);
out:
    return pat_unit_end(svc, rc);
}

int pat_orgs_member_remove(pat_service *svc, const pat_principal *actor,
                           const pat_request_info *info, const char *slug, int64_t user_id)
{
    pat_membership m;
    pat_org_view o;
    int rc;

    if ((rc = load_org_to_change(svc, actor, slug, &o)) < 0 || (rc = pat_unit_begin(svc)) < 0)
        return rc;
    if ((rc = pat_store_member_get(svc->store, o.org.id, user_id, &m)) == PAT_OK &&
        (rc = pat_store_member_remove(svc->store, o.org.id, user_id)) == PAT_OK)
        rc = pat_audit_record_org(svc, o.org.id, actor, info, "org.member_removed", "user",
                                  "org=%s id=%lld username=%s", o.org.slug, (long long)user_id,
                                  m.username);
    return pat_unit_end(svc, rc);
}

int pat_orgs_member_tokens(pat_service *svc, const pat_principal *actor, const char *slug,
                           int64_t user_id, pat_token_rec **out, size_t *n)
{
    pat_membership m;
    pat_org_view o;
    int rc;

    *out = NULL;
    *n = 0;
    if ((rc = load_org(svc, actor, slug, true, &o)) < 0 ||
        (rc = pat_store_member_get(svc->store, o.org.id, user_id, &m)) < 0)
        return rc;
    return pat_store_token_list(svc->store, user_id, out, n);
}

int pat_orgs_member_revoke_all(pat_service *svc, const pat_principal *actor,
                               const pat_request_info *info, const char *slug, int64_t user_id,
                               size_t *deleted, size_t *narrowed)
{
    pat_membership *theirs = NULL, m;
    pat_token_rec *list = NULL, *gone = NULL;
    char others[PAT_TOKEN_ORGS_MAX] = "";
    size_t n = 0, ntheirs = 0, ngone = 0, nnarrowed = 0;
    pat_org_view o;
    int rc;

    *deleted = *narrowed = 0;
    if ((rc = load_org_to_change(svc, actor, slug, &o)) < 0 || (rc = pat_unit_begin(svc)) < 0)
        return rc;
    if ((rc = pat_store_member_get(svc->store, o.org.id, user_id, &m)) < 0 ||
        (rc = pat_store_member_list(svc->store, 0, user_id, &theirs, &ntheirs)) < 0 ||
        (rc = pat_store_token_list(svc->store, user_id, &list, &n)) < 0)
        goto out;
    /* A token usable everywhere keeps the member's other organizations. */
    for (size_t i = 0; i < ntheirs; i++)
        if (theirs[i].org_id != o.org.id &&
            pat_orgs_add(others, sizeof(others), theirs[i].slug) < 0)
            break; /* more than a token may name: the first ones */
    pat_error_clear();
    gone = pat_calloc(n + 1, sizeof(*gone));
    for (size_t i = 0; i < n && rc == PAT_OK; i++) {
        pat_token_rec *t = &list[i];
        if (t->orgs[0] && !pat_orgs_has(t->orgs, o.org.slug))
            continue; /* not usable here */
        if (t->orgs[0])
            pat_orgs_remove(t->orgs, o.org.slug);
        else
            memcpy(t->orgs, others, sizeof(t->orgs));
        if (!t->orgs[0]) {
            rc = pat_store_token_delete(svc->store, user_id, t->id);
            gone[ngone++] = *t;
        } else {
            t->updated_at = svc->clock();
            rc = pat_store_token_update(svc->store, t, PAT_TOKEN_F_ORGS);
            nnarrowed++;
        }
    }
    if (rc == PAT_OK)
        rc = pat_audit_record_org(svc, o.org.id, actor, info, "org.member_tokens_revoked", "user",
                                  "org=%s id=%lld username=%s deleted=%zu narrowed=%zu",
                                  o.org.slug, (long long)user_id, m.username, ngone, nnarrowed);
    if (rc == PAT_OK && ngone)
        rc = pat_notify_tokens(svc, actor, info, PAT_NOTE_DELETED, user_id, gone, ngone);
out:
    free(theirs);
    free(list);
    free(gone);
    if ((rc = pat_unit_end(svc, rc)) == PAT_OK) {
        *deleted = ngone;
        *narrowed = nnarrowed;
    }
    return rc;
}

/* The policy of an organization that never set one: none of its own
 * limits, and the installation's other settings. */
static int org_policy(pat_service *svc, int64_t org_id, pat_policy *out, bool *set)
{
    pat_policy inst;
    int rc = pat_policy_read(svc, org_id, out);

    *set = rc == PAT_OK;
    if (rc != PAT_ENOTFOUND)
        return rc;
    pat_error_clear();
    if ((rc = pat_service_policy_get(svc, &inst)) < 0)
        return rc;
    *out = inst;
    out->max_lifetime_days = 0;
    out->allow_never_expires = true;
    out->warn_only = false;
    return PAT_OK;
}

int pat_orgs_policy_get(pat_service *svc, const pat_principal *actor, const char *slug,
                        pat_policy *out)
{
    pat_org_view o;
    bool set;
    int rc;

    if ((rc = load_org(svc, actor, slug, true, &o)) < 0)
        return rc;
    return org_policy(svc, o.org.id, out, &set);
}

int pat_orgs_policy_set(pat_service *svc, const pat_principal *actor,
                        const pat_request_info *info, const char *slug, const pat_policy *p)
{
    pat_org_view o;
    int rc;

    if ((rc = load_org_to_change(svc, actor, slug, &o)) < 0)
        return rc;
    return pat_policy_write(svc, o.org.id, actor, info, p);
}

int pat_orgs_policy_violations(pat_service *svc, const pat_principal *actor, const char *slug,
                               size_t limit, pat_token_rec **out, size_t *n)
{
    pat_org_view o;
    pat_policy p;
    bool set;
    int rc;

    *out = NULL;
    *n = 0;
    if ((rc = load_org(svc, actor, slug, true, &o)) < 0 ||
        (rc = org_policy(svc, o.org.id, &p, &set)) < 0)
        return rc;
    return pat_policy_violations_in(svc, o.org.id, &p, limit, out, n);
}

int pat_orgs_audit(pat_service *svc, const pat_principal *actor, const char *slug,
                   pat_audit_filter *f, pat_audit_rec **out, size_t *n)
{
    pat_org_view o;
    int rc;

    *out = NULL;
    *n = 0;
    if ((rc = load_org(svc, actor, slug, true, &o)) < 0)
        return rc;
    f->org_id = o.org.id;
    return pat_audit_read(svc, f, out, n);
}

/* ---- for the rest of the service ---- */

int pat_member_orgs(pat_service *svc, int64_t user_id, char out[PAT_MEMBER_ORGS_MAX])
{
    pat_membership *m = NULL;
    size_t n = 0;
    int rc = pat_store_member_list(svc->store, 0, user_id, &m, &n);

    out[0] = '\0';
    for (size_t i = 0; rc == PAT_OK && i < n; i++)
        if (m[i].can_manage_tokens)
            rc = pat_orgs_add(out, PAT_MEMBER_ORGS_MAX, m[i].slug);
    free(m);
    return rc;
}

int pat_orgs_join_default(pat_service *svc, const pat_user *u)
{
    pat_membership m;
    pat_org o;
    int rc = pat_store_org_get(svc->store, PAT_ORG_DEFAULT, &o);

    if (rc == PAT_ENOTFOUND) {
        pat_error_clear();
        return PAT_OK;
    }
    if (rc < 0)
        return rc;
    memset(&m, 0, sizeof(m));
    m.org_id = o.id;
    m.user_id = u->id;
    m.role = u->role == PAT_ROLE_SUPERUSER ? PAT_ORG_OWNER : PAT_ORG_MEMBER;
    m.can_manage_tokens = u->can_manage_tokens;
    m.created_at = m.updated_at = svc->clock();
    return pat_store_member_add(svc->store, &m);
}

/* Calls fn for each membership of user_id whose organization a token of
 * token_orgs ("" = all) names, with that organization's own policy (only
 * those that set one), until fn returns non-zero. */
static int each_org_policy(pat_service *svc, int64_t user_id, const char *token_orgs,
                           int (*fn)(void *arg, const pat_membership *m, const pat_policy *p),
                           void *arg)
{
    pat_membership *m = NULL;
    size_t n = 0;
    int rc = pat_store_member_list(svc->store, 0, user_id, &m, &n);

    for (size_t i = 0; rc == PAT_OK && i < n; i++) {
        pat_policy p;
        if (token_orgs[0] && !pat_orgs_has(token_orgs, m[i].slug))
            continue;
        rc = pat_policy_read(svc, m[i].org_id, &p);
        if (rc == PAT_ENOTFOUND) {
            pat_error_clear();
            rc = PAT_OK;
            continue;
        }
        if (rc == PAT_OK && !p.warn_only && fn(arg, &m[i], &p))
            break;
    }
    free(m);
    return rc;
}

static int tighten(void *arg, const pat_membership *m, const pat_policy *p)
{
    (void)m;
    pat_policy_tighten(arg, p);
    return 0;
}

int pat_orgs_token_policy(pat_service *svc, int64_t user_id, const char *token_orgs,
                          const pat_policy *inst, pat_policy *out)
{
    *out = *inst;
    return each_org_policy(svc, user_id, token_orgs, tighten, out);
}

typedef struct blame {
    pat_service *svc;
    const pat_expiry_request *req;
    int64_t ceiling;
    char slug[PAT_ORG_SLUG_MAX + 1];
    pat_error err;
} blame;

static int refuses(void *arg, const pat_membership *m, const pat_policy *p)
{
    blame *b = arg;
    int64_t at;

    if (pat_expiry_resolve(b->req, p, b->svc->clock(), b->ceiling, &at) != PAT_EPOLICY)
        return 0;
    memcpy(b->slug, m->slug, sizeof(b->slug));
    b->err = *pat_error_last();
    return 1;
}

int pat_orgs_check(pat_service *svc, int64_t user_id, const char *token_orgs,
                   const pat_expiry_request *req, int64_t ceiling)
{
    blame b;
    int rc;

    memset(&b, 0, sizeof(b));
    b.svc = svc;
    b.req = req;
    b.ceiling = ceiling;
    if ((rc = each_org_policy(svc, user_id, token_orgs, refuses, &b)) < 0)
        return rc;
    if (b.slug[0])
        return pat_error_set(PAT_EPOLICY, b.err.field, "the organization %s's policy: %s", b.slug,
                             b.err.message);
    return PAT_OK;
}

int pat_orgs_resolve(pat_service *svc, int64_t user_id, const char *const *names, size_t n,
                     char out[PAT_TOKEN_ORGS_MAX])
{
    pat_membership *m = NULL;
    size_t nm = 0;
    int rc;

    out[0] = '\0';
    if (!names)
        return PAT_OK;
    if (n == 0)
        return pat_error_set(PAT_EINVAL, "organizations",
                             "name at least one organization, or null for all of yours");
    if (n > PAT_ORGS_PER_TOKEN)
        return pat_error_set(PAT_EINVAL, "organizations", "at most %d organizations",
                             PAT_ORGS_PER_TOKEN);
    if ((rc = pat_store_member_list(svc->store, 0, user_id, &m, &nm)) < 0)
        return rc;
    for (size_t i = 0; i < n && rc == PAT_OK; i++) {
        bool mine = false;
        if ((rc = pat_org_slug_check(names[i], "organizations")) < 0)
            break;
        for (size_t j = 0; j < nm && !mine; j++)
            mine = strcmp(m[j].slug, names[i]) == 0;
        if (!mine)
            rc = pat_error_set(PAT_EINVAL, "organizations",
                               "you are not a member of the organization %s", names[i]);
        else
            rc = pat_orgs_add(out, PAT_TOKEN_ORGS_MAX, names[i]);
    }
    free(m);
    return rc;
}
