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
        /* 24 characters from a 57-letter alphabet: ~140 bits. */
        for (int i = 0; i < 24; i++)
            generated[i] = ALNUM[randombytes_uniform(sizeof(ALNUM) - 1)];
        generated[24] = '\0';
        password = generated;
        *was_generated = true;
    }
    memset(&u, 0, sizeof(u));
    strcpy(u.username, "admin");
    u.role = PAT_ROLE_SUPERUSER;
    u.can_manage_tokens = true;
    u.created_at = u.updated_at = svc->clock();
    if ((rc = pat_service_password_hash(password, u.password_hash)) < 0)
        goto out;
    if ((rc = pat_store_user_create(svc->store, &u)) < 0)
        goto out;
    pat_audit_record(svc, NULL, NULL, "user.created", "user",
                     "id=%lld username=admin "
                     "role=superuser",
                     (long long)u.id);
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
    if ((rc = pat_service_may_administer(actor)) < 0)
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
    strcpy(u.username, in->username);
    if (in->email)
        strcpy(u.email, in->email);
    u.role = in->has_role ? in->role : PAT_ROLE_MEMBER;
    u.disabled = in->has_disabled && in->disabled;
    u.can_manage_tokens =
        in->has_can_manage_tokens ? in->can_manage_tokens : svc->config->default_can_manage_tokens;
    u.created_at = u.updated_at = svc->clock();
    if ((rc = pat_service_password_hash(in->password, u.password_hash)) < 0)
        goto out;
    rc = pat_store_user_create(svc->store, &u);
    if (rc == PAT_EEXISTS)
        rc = pat_error_set(PAT_EEXISTS, "username", "the username is taken");
    if (rc < 0)
        goto out;
    pat_audit_record(svc, actor, info, "user.created", "user",
                     "id=%lld username=%s role=%s can_manage_tokens=%d", (long long)u.id,
                     u.username, u.role == PAT_ROLE_SUPERUSER ? "superuser" : "member",
                     u.can_manage_tokens);
    clear_secret(&u);
    *out = u;
out:
    sodium_memzero(&u, sizeof(u));
    return rc;
}

int pat_users_list(pat_service *svc, const pat_principal *actor, pat_user **out, size_t *n)
{
    int rc;

    if ((rc = pat_service_may_administer(actor)) < 0 ||
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

    if ((rc = pat_service_may_administer(actor)) < 0)
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

/* 1 if some enabled superuser other than id exists. */
static int another_superuser(pat_service *svc, int64_t id)
{
    pat_user *all = NULL;
    size_t n = 0;
    int found = 0;

    if (pat_store_user_list(svc->store, &all, &n) < 0)
        return 1; /* cannot tell: do not block on a read error, the write will fail too */
    for (size_t i = 0; i < n; i++) {
        if (all[i].id != id && all[i].role == PAT_ROLE_SUPERUSER && !all[i].disabled)
            found = 1;
        clear_secret(&all[i]);
    }
    free(all);
    return found;
}

int pat_users_update(pat_service *svc, const pat_principal *actor, const pat_request_info *info,
                     int64_t id, const pat_user_input *in, pat_user *out)
{
    pat_user u;
    bool was_disabled, had_permission;
    int was_role;
    int rc;

    memset(&u, 0, sizeof(u));
    if ((rc = load_user(svc, actor, id, &u)) < 0)
        goto out;
    if (in->username && strcmp(in->username, u.username) != 0) {
        rc = pat_error_set(PAT_EINVAL, "username", "a username cannot be changed");
        goto out;
    }
    was_disabled = u.disabled;
    had_permission = u.can_manage_tokens;
    was_role = u.role;
    if (in->email) {
        if ((rc = check_email(in->email)) < 0)
            goto out;
        strcpy(u.email, in->email);
    }
    if (in->has_role) {
        if ((rc = check_role(in->role)) < 0)
            goto out;
        u.role = in->role;
    }
    if (in->has_disabled)
        u.disabled = in->disabled;
    if (in->has_can_manage_tokens)
        u.can_manage_tokens = in->can_manage_tokens;
    if (in->password && (rc = pat_service_password_hash(in->password, u.password_hash)) < 0)
        goto out;
    if (was_role == PAT_ROLE_SUPERUSER && !was_disabled &&
        (u.role != PAT_ROLE_SUPERUSER || u.disabled) && !another_superuser(svc, u.id)) {
        rc = pat_error_set(PAT_ECONFLICT, NULL,
                           "this is the last enabled superuser; make another one first");
        goto out;
    }
    u.updated_at = svc->clock();
    if ((rc = pat_store_user_update(svc->store, &u)) < 0)
        goto out;
    /* Tokens follow their owner's state on the very next request. */
    pat_service_forget_user(svc, u.id);
    if ((u.disabled && !was_disabled) || in->password)
        pat_store_session_delete_user(svc->store, u.id, NULL);
    if (u.disabled != was_disabled)
        pat_audit_record(svc, actor, info, u.disabled ? "user.disabled" : "user.enabled", "user",
                         "id=%lld username=%s", (long long)u.id, u.username);
    if (u.can_manage_tokens != had_permission)
        pat_audit_record(svc, actor, info,
                         u.can_manage_tokens ? "user.permission_granted"
                                             : "user.permission_withdrawn",
                         "user", "id=%lld username=%s", (long long)u.id, u.username);
    if (u.role != was_role || in->email || in->password)
        pat_audit_record(svc, actor, info, "user.updated", "user", "id=%lld username=%s role=%s%s",
                         (long long)u.id, u.username,
                         u.role == PAT_ROLE_SUPERUSER ? "superuser" : "member",
                         in->password ? " password_reset=1" : "");
    clear_secret(&u);
    *out = u;
out:
    sodium_memzero(&u, sizeof(u));
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

int pat_users_revoke_all(pat_service *svc, const pat_principal *actor, const pat_request_info *info,
                         int64_t id, size_t *revoked)
{
    pat_token_rec *list = NULL;
    int64_t *ids = NULL, *deleted = NULL;
    size_t n = 0, ndeleted = 0;
    pat_user u;
    int rc;

    if ((rc = load_user(svc, actor, id, &u)) < 0)
        return rc;
    clear_secret(&u);
    if ((rc = pat_store_token_list(svc->store, id, &list, &n)) < 0)
        return rc;
    ids = pat_calloc(n + 1, sizeof(*ids));
    deleted = pat_calloc(n + 1, sizeof(*deleted));
    for (size_t i = 0; i < n; i++)
        ids[i] = list[i].id;
    if ((rc = pat_store_token_delete_many(svc->store, id, ids, n, deleted, &ndeleted)) < 0)
        goto out;
    for (size_t i = 0; i < n; i++)
        pat_service_forget_token(svc, &list[i]);
    pat_audit_record(svc, actor, info, "token.revoked_all", "user",
                     "id=%lld username=%s tokens=%zu", (long long)u.id, u.username, ndeleted);
    *revoked = ndeleted;
out:
    free(ids);
    free(deleted);
    free(list);
    return rc;
}

int pat_policy_violations(pat_service *svc, const pat_principal *actor, size_t limit,
                          pat_token_rec **out, size_t *n)
{
    pat_policy p;
    int64_t latest = 0;
    int rc;

    if ((rc = pat_service_may_administer(actor)) < 0 || (rc = pat_service_policy_get(svc, &p)) < 0)
        return rc;
    if (p.max_lifetime_days)
        latest = svc->clock() + (int64_t)p.max_lifetime_days * PAT_DAY;
    if (p.allow_never_expires && !p.max_lifetime_days) {
        *out = NULL;
        *n = 0;
        return PAT_OK;
    }
    return pat_store_token_list_exceeding(svc->store, !p.allow_never_expires || latest, latest,
                                          limit, out, n);
}

int pat_audit_list(pat_service *svc, const pat_principal *actor, pat_audit_filter *f,
                   pat_audit_rec **out, size_t *n)
{
    /* Anyone but a superuser (with the admin scope, through a token) sees
     * their own events only. */
    if (pat_service_may_administer(actor) < 0)
        f->user_id = actor->user_id;
    if (f->limit == 0 || f->limit > PAT_AUDIT_PAGE_MAX)
        f->limit = f->limit ? PAT_AUDIT_PAGE_MAX : 100;
    pat_error_clear();
    return pat_store_audit_list(svc->store, f, out, n);
}
