/* People, the token permission, departing people's tokens, and the audit
 * log's reading side. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/text.h"
#include "service/service_int.h"
#include "util/error.h"
#include "util/mem.h"

static const char ALNUM[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

/* 24 characters from a 57-letter alphabet (no look-alikes): ~140 bits. */
static void random_password(char out[33])
{
    for (int i = 0; i < 24; i++)
        out[i] = ALNUM[randombytes_uniform(sizeof(ALNUM) - 1)];
    out[24] = '\0';
}

int pat_users_reset_password(pat_service *svc, const char *username, char generated[33])
{
    char hash[PAT_PWHASH_MAX];
    pat_user u;
    int rc;

    memset(&u, 0, sizeof(u));
    random_password(generated);
    if ((rc = pat_service_password_hash(generated, hash)) < 0 || (rc = pat_unit_begin(svc)) < 0)
        goto out;
    rc = pat_store_user_get_by_name(svc->store, username, &u);
    if (rc == PAT_ENOTFOUND)
        rc = pat_error_set(PAT_ENOTFOUND, "username", "no user named %.64s", username);
    if (rc == PAT_OK) {
        memcpy(u.password_hash, hash, sizeof(u.password_hash));
        u.updated_at = svc->clock();
        if ((rc = pat_store_user_update(svc->store, &u)) == PAT_OK &&
            (rc = pat_store_session_delete_user(svc->store, u.id, NULL)) == PAT_OK)
            rc = pat_audit_record(svc, NULL, NULL, "user.password_reset", "user",
                                  "id=%lld username=%s by=operator", (long long)u.id, u.username);
    }
    rc = pat_unit_end(svc, rc);
out:
    if (rc < 0)
        sodium_memzero(generated, 33);
    sodium_memzero(hash, sizeof(hash));
    sodium_memzero(&u, sizeof(u));
    return rc;
}

int pat_service_bootstrap(pat_service *svc, const char *password, char generated[33],
                          bool *was_generated, bool *created)
{
    pat_user u;
    int64_t count = 0;
    int rc;

    *created = false;
    *was_generated = false;
    if ((rc = pat_store_user_count(svc->store, &count)) < 0)
        return rc;
    if (count > 0)
        return PAT_OK;
    if (!password || !*password) {
        random_password(generated);
        password = generated;
        *was_generated = true;
    }
    memset(&u, 0, sizeof(u));
    memcpy(u.username, "admin", sizeof("admin"));
    u.role = PAT_ROLE_SUPERUSER;
    u.can_manage_tokens = true;
    u.created_at = u.updated_at = svc->clock();
    if ((rc = pat_service_password_hash(password, u.password_hash)) < 0 ||
        (rc = pat_unit_begin(svc)) < 0)
        goto out;
    /* Counted again inside the unit, where writers take turns: instances
     * starting together on one empty database make one superuser. */
    if ((rc = pat_store_user_count(svc->store, &count)) == PAT_OK && count > 0) {
        *was_generated = false;
        rc = pat_unit_end(svc, PAT_OK);
        goto out;
    }
    if (rc == PAT_OK && (rc = pat_store_user_create(svc->store, &u)) == PAT_OK &&
        (rc = pat_orgs_join_default(svc, &u)) == PAT_OK)
        rc = pat_audit_record(svc, NULL, NULL, "user.created", "user",
                              "id=%lld username=admin role=superuser", (long long)u.id);
    if ((rc = pat_unit_end(svc, rc)) == PAT_OK)
        *created = true;
out:
    sodium_memzero(&u, sizeof(u));
    return rc;
}

static int check_username(const char *name)
{
    size_t n = strlen(name);

    if (n < 1 || n > PAT_USERNAME_MAX)
        return pat_error_set(PAT_EINVAL, "username", "username must be 1 to %d characters",
                             PAT_USERNAME_MAX);
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-' || ch == '@'))
            return pat_error_set(PAT_EINVAL, "username",
                                 "username holds only letters, digits and '._-@'");
    }
    return PAT_OK;
}

static int check_email(const char *email)
{
    int rc = pat_text_check(email, "email", 0, PAT_EMAIL_MAX, 0);

    if (rc < 0)
        return rc;
    if (strlen(email) > PAT_EMAIL_MAX)
        return pat_error_set(PAT_EINVAL, "email", "email is too long");
    if (*email && (!strchr(email, '@') || strchr(email, ' ') || email[0] == '@'))
        return pat_error_set(PAT_EINVAL, "email", "email is not an address");
    return PAT_OK;
}

static int check_role(int role)
{
    if (role != PAT_ROLE_MEMBER && role != PAT_ROLE_SUPERUSER)
        return pat_error_set(PAT_EINVAL, "role", "role must be superuser or member");
    return PAT_OK;
}

static void clear_secret(pat_user *u)
{
    sodium_memzero(u->password_hash, sizeof(u->password_hash));
}

int pat_users_create(pat_service *svc, const pat_principal *actor, const pat_request_info *info,
                     const pat_user_input *in, pat_user *out)
{
    pat_user u;
    int rc;

    memset(&u, 0, sizeof(u));
    if ((rc = pat_service_may_administer(svc, actor)) < 0)
        goto out;
    if (!in->username) {
        rc = pat_error_set(PAT_EINVAL, "username", "username is required");
        goto out;
    }
    if (!in->password) {
        rc = pat_error_set(PAT_EINVAL, "password", "password is required");
        goto out;
    }
    if ((rc = check_username(in->username)) < 0 ||
        (in->email && (rc = check_email(in->email)) < 0) ||
        (in->has_role && (rc = check_role(in->role)) < 0))
        goto out;
    /* Both checked above to fit. */
    if ((rc = pat_text_set(u.username, sizeof(u.username), in->username)) < 0 ||
        (in->email && (rc = pat_text_set(u.email, sizeof(u.email), in->email)) < 0))
        goto out;
    u.role = in->has_role ? in->role : PAT_ROLE_MEMBER;
    u.disabled = in->has_disabled && in->disabled;
    u.can_manage_tokens =
        in->has_can_manage_tokens ? in->can_manage_tokens : svc->config->default_can_manage_tokens;
    u.created_at = u.updated_at = svc->clock();
    if ((rc = pat_service_password_hash(in->password, u.password_hash)) < 0 ||
        (rc = pat_unit_begin(svc)) < 0)
        goto out;
    rc = pat_store_user_create(svc->store, &u);
    if (rc == PAT_EEXISTS)
        rc = pat_error_set(PAT_EEXISTS, "username", "the username is taken");
    if (rc == PAT_OK)
        rc = pat_orgs_join_default(svc, &u);
    if (rc == PAT_OK)
        rc = pat_audit_record(svc, actor, info, "user.created", "user",
                              "id=%lld username=%s role=%s can_manage_tokens=%d", (long long)u.id,
                              u.username, pat_role_name(u.role), u.can_manage_tokens);
    if ((rc = pat_unit_end(svc, rc)) < 0)
        goto out;
    clear_secret(&u);
    *out = u;
out:
    sodium_memzero(&u, sizeof(u));
    return rc;
}

int pat_users_list(pat_service *svc, const pat_principal *actor, pat_user **out, size_t *n)
{
    int rc;

    if ((rc = pat_service_may_administer(svc, actor)) < 0 ||
        (rc = pat_store_user_list(svc->store, out, n)) < 0)
        return rc;
    for (size_t i = 0; i < *n; i++)
        clear_secret(&(*out)[i]);
    return PAT_OK;
}

/* Loads user id for a superuser; PAT_ENOTFOUND names it. */
static int load_user(pat_service *svc, const pat_principal *actor, int64_t id, pat_user *out)
{
    int rc;

    if ((rc = pat_service_may_administer(svc, actor)) < 0)
        return rc;
    rc = pat_store_user_get(svc->store, id, out);
    if (rc == PAT_ENOTFOUND)
        return pat_error_set(PAT_ENOTFOUND, NULL, "no user with id %lld", (long long)id);
    return rc;
}

int pat_users_get(pat_service *svc, const pat_principal *actor, int64_t id, pat_user *out)
{
    int rc = load_user(svc, actor, id, out);

    if (rc == PAT_OK)
        clear_secret(out);
    return rc;
}

int pat_users_update(pat_service *svc, const pat_principal *actor, const pat_request_info *info,
                     int64_t id, const pat_user_input *in, pat_user *out)
{
    char password_hash[PAT_PWHASH_MAX];
    pat_user u;
    bool was_disabled, had_permission;
    int was_role;
    int rc;

    memset(&u, 0, sizeof(u));
    if ((rc = pat_service_may_administer(svc, actor)) < 0)
        return rc;
    /* Who may do what, and a password only the person knew: the password
     * confirmation as for token changes. */
    if ((in->has_role || in->has_disabled || in->has_can_manage_tokens || in->password) &&
        (rc = pat_service_may_change_admin(svc, actor)) < 0)
        return rc;
    if (in->email && (rc = check_email(in->email)) < 0)
        return rc;
    if (in->has_role && (rc = check_role(in->role)) < 0)
        return rc;
    /* Hashing takes a while: before the unit of work, not inside it. */
    if (in->password && (rc = pat_service_password_hash(in->password, password_hash)) < 0)
        return rc;
    if ((rc = pat_unit_begin(svc)) < 0)
        goto wipe;
    if ((rc = load_user(svc, actor, id, &u)) < 0)
        goto out;
    if (in->username && strcmp(in->username, u.username) != 0) {
        rc = pat_error_set(PAT_EINVAL, "username", "a username cannot be changed");
        goto out;
    }
    was_disabled = u.disabled;
    had_permission = u.can_manage_tokens;
    was_role = u.role;
    if (in->email && (rc = pat_text_set(u.email, sizeof(u.email), in->email)) < 0)
        goto out;
    if (in->has_role)
        u.role = in->role;
    if (in->has_disabled)
        u.disabled = in->disabled;
    if (in->has_can_manage_tokens)
        u.can_manage_tokens = in->can_manage_tokens;
    if (in->password)
        memcpy(u.password_hash, password_hash, sizeof(u.password_hash));
    u.updated_at = svc->clock();
    /* The store keeps an enabled superuser in the same statement. */
    if ((rc = pat_store_user_update(svc->store, &u)) < 0)
        goto out;
    if (((u.disabled && !was_disabled) || in->password) &&
        (rc = pat_store_session_delete_user(svc->store, u.id, NULL)) < 0)
        goto out;
    if (u.disabled != was_disabled &&
        (rc = pat_audit_record(svc, actor, info, u.disabled ? "user.disabled" : "user.enabled",
                               "user", "id=%lld username=%s", (long long)u.id, u.username)) < 0)
        goto out;
    if (u.disabled && !was_disabled &&
        (rc = pat_notify_account(svc, actor, info, PAT_NOTE_ACCOUNT_DISABLED, u.id)) < 0)
        goto out;
    if (u.can_manage_tokens != had_permission &&
        ((rc = pat_audit_record(svc, actor, info,
                                u.can_manage_tokens ? "user.permission_granted"
                                                    : "user.permission_withdrawn",
                                "user", "id=%lld username=%s", (long long)u.id, u.username)) < 0 ||
         (rc = pat_notify_account(svc, actor, info,
                                  u.can_manage_tokens ? PAT_NOTE_PERMISSION_RESTORED
                                                      : PAT_NOTE_PERMISSION_WITHDRAWN,
                                  u.id)) < 0))
        goto out;
    if ((u.role != was_role || in->email || in->password) &&
        (rc = pat_audit_record(svc, actor, info, "user.updated", "user",
                               "id=%lld username=%s role=%s%s", (long long)u.id, u.username,
                               pat_role_name(u.role), in->password ? " password_reset=1" : "")) <
            0)
        goto out;
out:
    if ((rc = pat_unit_end(svc, rc)) == PAT_OK) {
        clear_secret(&u);
        *out = u;
    }
wipe:
    sodium_memzero(&u, sizeof(u));
    sodium_memzero(password_hash, sizeof(password_hash));
    return rc;
}

int pat_users_tokens(pat_service *svc, const pat_principal *actor, int64_t id, pat_token_rec **out,
                     size_t *n)
{
    pat_user u;
    int rc;

    if ((rc = load_user(svc, actor, id, &u)) < 0)
        return rc;
    clear_secret(&u);
    return pat_store_token_list(svc->store, id, out, n);
}

/* Token tid of person id, for a superuser's hand on it (in the caller's
 * unit of work): PAT_ENOTFOUND unless both exist and it is theirs. */
static int load_their_token(pat_service *svc, const pat_principal *actor, int64_t id, int64_t tid,
                            pat_token_rec *t)
{
    pat_user u;
    int rc;

    if ((rc = load_user(svc, actor, id, &u)) < 0)
        return rc;
    clear_secret(&u);
    rc = pat_store_token_get(svc->store, tid, t);
    if (rc == PAT_ENOTFOUND || (rc == PAT_OK && t->user_id != id))
        return pat_error_set(PAT_ENOTFOUND, NULL, "no token with id %lld", (long long)tid);
    return rc;
}

int pat_users_token_set_disabled(pat_service *svc, const pat_principal *actor,
                                 const pat_request_info *info, int64_t id, int64_t tid,
                                 bool disabled, pat_token_rec *out)
{
    int rc;

    if ((rc = pat_service_may_change_admin(svc, actor)) < 0 || (rc = pat_unit_begin(svc)) < 0)
        return rc;
    if ((rc = load_their_token(svc, actor, id, tid, out)) == PAT_OK)
        rc = pat_tokens_apply_disabled(svc, actor, info, out, disabled);
    return pat_unit_end(svc, rc);
}

int pat_users_token_delete(pat_service *svc, const pat_principal *actor,
                           const pat_request_info *info, int64_t id, int64_t tid)
{
    pat_token_rec *t = pat_malloc(sizeof(*t));
    int rc;

    if ((rc = pat_service_may_change_admin(svc, actor)) < 0 || (rc = pat_unit_begin(svc)) < 0)
        goto out;
    if ((rc = load_their_token(svc, actor, id, tid, t)) == PAT_OK)
        rc = pat_tokens_remove(svc, actor, info, t);
    rc = pat_unit_end(svc, rc);
out:
    free(t);
    return rc;
}

int pat_users_revoke_all(pat_service *svc, const pat_principal *actor, const pat_request_info *info,
                         int64_t id, size_t *revoked)
{
    pat_token_rec *list = NULL;
    int64_t *ids = NULL, *deleted = NULL;
    size_t n = 0, ndeleted = 0;
    pat_user u;
    int rc;

    if ((rc = pat_service_may_change_admin(svc, actor)) < 0 || (rc = pat_unit_begin(svc)) < 0)
        return rc;
    if ((rc = load_user(svc, actor, id, &u)) < 0)
        goto out;
    clear_secret(&u);
    if ((rc = pat_store_token_list(svc->store, id, &list, &n)) < 0)
        goto out;
    ids = pat_calloc(n + 1, sizeof(*ids));
    deleted = pat_calloc(n + 1, sizeof(*deleted));
    for (size_t i = 0; i < n; i++)
        ids[i] = list[i].id;
    if ((rc = pat_store_token_delete_many(svc->store, id, ids, n, deleted, &ndeleted)) < 0)
        goto out;
    if ((rc = pat_audit_record(svc, actor, info, "token.revoked_all", "user",
                               "id=%lld username=%s tokens=%zu", (long long)u.id, u.username,
                               ndeleted)) < 0)
        goto out;
    /* One email listing every token that went. */
    {
        pat_token_rec *gone = pat_calloc(n + 1, sizeof(*gone));
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < ndeleted; j++)
                if (list[i].id == deleted[j])
                    gone[k++] = list[i];
        rc = pat_notify_tokens(svc, actor, info, PAT_NOTE_DELETED, u.id, gone, k);
        free(gone);
    }
out:
    if ((rc = pat_unit_end(svc, rc)) == PAT_OK)
        *revoked = ndeleted;
    free(ids);
    free(deleted);
    free(list);
    return rc;
}

int pat_policy_violations_in(pat_service *svc, int64_t org_id, const pat_policy *p, size_t limit,
                             pat_token_rec **out, size_t *n)
{
    int64_t latest = 0;
    size_t kept = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if (p->max_lifetime_days)
        latest = svc->clock() + (int64_t)p->max_lifetime_days * PAT_DAY;
    if (p->allow_never_expires && !p->max_lifetime_days)
        return PAT_OK;
    if ((rc = org_id ? pat_store_token_list_exceeding_in(svc->store, org_id,
                                                         !p->allow_never_expires || latest,
                                                         latest, limit, out, n)
                     : pat_store_token_list_exceeding(svc->store, !p->allow_never_expires || latest,
                                                      latest, limit, out, n)) < 0)
        return rc;
    for (size_t i = 0; i < *n; i++)
        if (!((*out)[i].flags & PAT_TOKEN_FLAG_CANARY))
            (*out)[kept++] = (*out)[i];
    *n = kept;
    return PAT_OK;
}

int pat_policy_violations(pat_service *svc, const pat_principal *actor, size_t limit,
                          pat_token_rec **out, size_t *n)
{
    pat_policy p;
    int rc;

    if ((rc = pat_service_may_administer(svc, actor)) < 0 || (rc = pat_service_policy_get(svc, &p)) < 0)
        return rc;
    return pat_policy_violations_in(svc, 0, &p, limit, out, n);
}

int pat_policy_preview(pat_service *svc, const pat_principal *actor, const pat_policy *p,
                       size_t limit, pat_policy_violation **out, size_t *n, size_t *people)
{
    pat_token_rec *list = NULL;
    pat_policy_violation *v = NULL;
    size_t count = 0;
    int rc;

    *out = NULL;
    *n = *people = 0;
    if ((rc = pat_service_may_administer(svc, actor)) < 0 || (rc = pat_policy_validate(p)) < 0 ||
        (rc = pat_policy_violations_in(svc, 0, p, limit, &list, &count)) < 0)
        return rc;
    v = pat_calloc(count + 1, sizeof(*v));
    for (size_t i = 0; i < count; i++) {
        pat_user u;
        bool seen = false;
        v[i].token_id = list[i].id;
        v[i].user_id = list[i].user_id;
        memcpy(v[i].name, list[i].name, sizeof(v[i].name));
        for (size_t j = 0; j < i && !seen; j++)
            if (v[j].user_id == v[i].user_id) {
                memcpy(v[i].username, v[j].username, sizeof(v[i].username));
                seen = true;
            }
        if (!seen) {
            (*people)++;
            if (pat_store_user_get(svc->store, v[i].user_id, &u) == PAT_OK)
                memcpy(v[i].username, u.username, sizeof(v[i].username));
            sodium_memzero(&u, sizeof(u));
        }
        if (list[i].expires_at == 0) {
            snprintf(v[i].reason, sizeof(v[i].reason), "never expires");
        } else {
            char when[PAT_TIME_STR];
            pat_time_format(list[i].expires_at, when);
            snprintf(v[i].reason, sizeof(v[i].reason),
                     "expires %s, beyond the maximum of %d days", when, p->max_lifetime_days);
        }
    }
    free(list);
    *out = v;
    *n = count;
    return PAT_OK;
}

int pat_me_get(pat_service *svc, const pat_principal *who, pat_user *out)
{
    int rc;

    if ((rc = pat_store_user_get(svc->store, who->user_id, out)) == PAT_OK)
        clear_secret(out);
    return rc;
}

int pat_me_update(pat_service *svc, const pat_principal *who, const pat_request_info *info,
                  const pat_me_input *in, pat_user *out)
{
    pat_user u;
    int rc;

    if (in->email && (rc = check_email(in->email)) < 0)
        return rc;
    if ((rc = pat_unit_begin(svc)) < 0)
        return rc;
    if ((rc = pat_store_user_get(svc->store, who->user_id, &u)) < 0)
        goto out;
    if (in->email && (rc = pat_text_set(u.email, sizeof(u.email), in->email)) < 0)
        goto out;
    if (in->has_expiry_reminders)
        u.notify_off = in->expiry_reminders ? u.notify_off & ~(unsigned)PAT_NOTIFY_EXPIRY
                                            : u.notify_off | PAT_NOTIFY_EXPIRY;
    if (in->has_new_client_alerts)
        u.notify_off = in->new_client_alerts ? u.notify_off & ~(unsigned)PAT_NOTIFY_NEW_CLIENT
                                             : u.notify_off | PAT_NOTIFY_NEW_CLIENT;
    u.updated_at = svc->clock();
    if ((rc = pat_store_user_update(svc->store, &u)) == PAT_OK)
        rc = pat_audit_record(svc, who, info, "user.preferences_changed", "user",
                              "id=%lld email=%s expiry_reminders=%d new_client_alerts=%d",
                              (long long)u.id, in->email ? "changed" : "kept",
                              !(u.notify_off & PAT_NOTIFY_EXPIRY),
                              !(u.notify_off & PAT_NOTIFY_NEW_CLIENT));
out:
    if ((rc = pat_unit_end(svc, rc)) == PAT_OK) {
        clear_secret(&u);
        *out = u;
    }
    sodium_memzero(&u, sizeof(u));
    return rc;
}
