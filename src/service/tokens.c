/* A person's own tokens: create, list, edit, disable/enable, regenerate,
 * copy, delete. Access rules, expiry and scope rules are all decided here. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cidr.h"
#include "core/text.h"
#include "service/service_int.h"
#include "util/error.h"
#include "util/mem.h"

const char *pat_tokens_status(const pat_token_rec *t, int64_t now)
{
    if (t->disabled_at)
        return "disabled";
    if (pat_expiry_passed(t->expires_at, now))
        return "expired";
    return "active";
}

/* May actor read and manage its own tokens? A token caller needs the
 * tokens scope; a person needs the token permission. */
static int may_manage(pat_service *svc, const pat_principal *actor)
{
    if (!actor->can_manage_tokens)
        return pat_error_set(PAT_EFORBIDDEN, NULL,
                             "you do not have permission to create and manage personal access "
                             "tokens; ask an organization superuser");
    if (actor->kind == PAT_AUTH_TOKEN && !pat_scopes_has(actor->scopes, PAT_SCOPE_TOKENS))
        return pat_error_set(PAT_ESCOPE, PAT_SCOPE_TOKENS,
                             "managing tokens needs the tokens scope");
    pat_service_note_scope(svc, actor, PAT_SCOPE_TOKENS);
    return PAT_OK;
}

/* may_manage, and for a change through the console a recent password
 * confirmation when the policy asks for one. */
static int may_change(pat_service *svc, const pat_principal *actor, pat_policy *policy)
{
    int rc;

    if ((rc = may_manage(svc, actor)) < 0)
        return rc;
    if ((rc = pat_service_policy_get(svc, policy)) < 0)
        return rc;
    return pat_service_check_confirmed(svc, actor, policy);
}

/* Loads token id into out if actor owns it; anyone else's is "not found". */
static int load_own(pat_service *svc, const pat_principal *actor, int64_t id, pat_token_rec *out)
{
    int rc = pat_store_token_get(svc->store, id, out);

    if (rc == PAT_OK && out->user_id != actor->user_id)
        rc = PAT_ENOTFOUND;
    if (rc == PAT_ENOTFOUND)
        return pat_error_set(PAT_ENOTFOUND, NULL, "no token with id %lld", (long long)id);
    return rc;
}

static int check_name(const char *name)
{
    int rc = pat_text_check(name, "name", 1, PAT_NAME_MAX_CHARS, 0);
    const char *p = name;

    if (rc < 0)
        return rc;
    while (*p == ' ')
        p++;
    if (!*p)
        return pat_error_set(PAT_EINVAL, "name", "name is required");
    return PAT_OK;
}

/* Resolves the scopes of in into out (canonical), checked against the
 * actor's role and, for a token caller, the calling token's own scopes. */
static int resolve_scopes(pat_service *svc, const pat_principal *actor, const pat_token_input *in,
                          char out[PAT_SCOPES_STR_MAX])
{
    int rc;

    if (in->has_scopes && in->scope_set)
        return pat_error_set(PAT_EINVAL, "scope_set", "give scopes or scope_set, not both");
    if (in->scope_set) {
        const pat_scope_set_def *set = pat_catalog_find_set(&svc->config->catalog, in->scope_set);
        if (!set)
            return pat_error_set(PAT_EINVAL, "scope_set", "unknown scope set: %.64s",
                                 in->scope_set);
        if ((rc = pat_text_set(out, PAT_SCOPES_STR_MAX, set->scopes)) < 0)
            return rc;
    } else if ((rc = pat_scopes_canonical(&svc->config->catalog, in->scopes, in->nscopes, out)) < 0) {
        return rc;
    }
    if (!out[0])
        return pat_error_set(PAT_EINVAL, "scopes", "choose at least one scope");
    if ((rc = pat_scopes_check_role(&svc->config->catalog, out, (unsigned)actor->role)) < 0)
        return rc;
    if (actor->kind == PAT_AUTH_TOKEN)
        return pat_scopes_check_subset(out, actor->scopes);
    return PAT_OK;
}

static int resolve_cidrs(const pat_token_input *in, char out[PAT_CIDRS_STR_MAX])
{
    size_t len = 0;

    if (in->ncidrs > PAT_CIDRS_PER_TOKEN_MAX)
        return pat_error_set(PAT_EINVAL, "allowed_cidrs", "at most %d networks",
                             PAT_CIDRS_PER_TOKEN_MAX);
    out[0] = '\0';
    for (size_t i = 0; i < in->ncidrs; i++) {
        pat_cidr c;
        char text[PAT_CIDR_STR_MAX];
        int rc = pat_cidr_parse(in->cidrs[i], &c);
        if (rc < 0)
            return rc;
        pat_cidr_format(&c, text);
        if (pat_scopes_has(out, text))
            continue; /* a duplicate: the word-list test serves networks too */
        len += (size_t)snprintf(out + len, PAT_CIDRS_STR_MAX - len, "%s%s", len ? " " : "", text);
    }
    return PAT_OK;
}

/* Resolves an expiry request under the policy and the calling token's own
 * lifetime. */
static int resolve_expiry(pat_service *svc, const pat_principal *actor, const pat_policy *policy,
                          const pat_expiry_request *req, int64_t *expires_at)
{
    int64_t ceiling = 0;

    if (actor->kind == PAT_AUTH_TOKEN)
        ceiling = actor->token_expires_at ? actor->token_expires_at : -1;
    return pat_expiry_resolve(req, policy, svc->clock(), ceiling, expires_at);
}

/* resolve_expiry for a create or an edit: under a policy in warn mode, an
 * expiry beyond its limits passes, noted in *w and audited (policy.warned)
 * in the caller's unit of work. The caller's own ceiling always holds. */
static int resolve_expiry_or_warn(pat_service *svc, const pat_principal *actor,
                                  const pat_request_info *info, const pat_policy *policy,
                                  const pat_expiry_request *req, int64_t *expires_at,
                                  pat_policy_warning *w)
{
    pat_policy lax = *policy;
    pat_policy_warning note;
    int rc = resolve_expiry(svc, actor, policy, req, expires_at);

    if (rc != PAT_EPOLICY || !policy->warn_only)
        return rc;
    memset(&note, 0, sizeof(note));
    note.set = true;
    snprintf(note.field, sizeof(note.field), "%.31s", pat_error_last()->field);
    snprintf(note.message, sizeof(note.message), "%.200s (the policy only warns for now)",
             pat_error_last()->message);
    lax.max_lifetime_days = 0;
    lax.allow_never_expires = true;
    if ((rc = resolve_expiry(svc, actor, &lax, req, expires_at)) < 0 ||
        (rc = pat_audit_record(svc, actor, info, "policy.warned", "policy", "%s: %s",
                               note.field, note.message)) < 0)
        return rc;
    if (w)
        *w = note;
    return PAT_OK;
}

/* pat_orgs_check with actor's own ceiling. */
static int orgs_check(pat_service *svc, const pat_principal *actor, const char *token_orgs,
                      const pat_expiry_request *req)
{
    int64_t ceiling = 0;

    if (actor->kind == PAT_AUTH_TOKEN)
        ceiling = actor->token_expires_at ? actor->token_expires_at : -1;
    return pat_orgs_check(svc, actor->user_id, token_orgs, req, ceiling);
}

/* resolve_expiry_or_warn under the strictest of policy (the
 * installation's) and the policies of the organizations a token of
 * actor's with token_orgs may be used in; a refusal names the
 * organization whose limit it is. */
static int resolve_expiry_in_orgs(pat_service *svc, const pat_principal *actor,
                                  const pat_request_info *info, const pat_policy *policy,
                                  const char *token_orgs, const pat_expiry_request *req,
                                  int64_t *expires_at, pat_policy_warning *w)
{
    pat_policy eff;
    pat_error first;
    int rc;

    if ((rc = pat_orgs_token_policy(svc, actor->user_id, token_orgs, policy, &eff)) < 0)
        return rc;
    rc = resolve_expiry_or_warn(svc, actor, info, &eff, req, expires_at, w);
    if (rc != PAT_EPOLICY)
        return rc;
    /* Whose limit: an organization's, named, or else the installation's. */
    first = *pat_error_last();
    if ((rc = orgs_check(svc, actor, token_orgs, req)) == PAT_OK) {
        *(pat_error *)pat_error_last() = first;
        rc = PAT_EPOLICY;
    }
    return rc;
}

/* A token keeping its expiry but changing where it may be used (or
 * regenerated): that expiry within the policy of every organization it is
 * usable in (the installation's was checked when it was set). */
static int expiry_fits_orgs(pat_service *svc, const pat_principal *actor, const pat_token_rec *t)
{
    pat_expiry_request req = {PAT_EXPIRY_NEVER, 0, 0};

    if (t->flags & PAT_TOKEN_FLAG_CANARY || pat_expiry_passed(t->expires_at, svc->clock()))
        return PAT_OK;
    if (t->expires_at) {
        req.kind = PAT_EXPIRY_AT;
        req.at = t->expires_at;
    }
    return orgs_check(svc, actor, t->orgs, &req);
}

/* Fills a new token's value, hash and prefix. */
static void new_secret(pat_service *svc, pat_token_rec *t, char value[PAT_TOKEN_BUF])
{
    pat_token_generate(value, svc->token_prefix);
    pat_token_hash(t->hash, svc->key, value, strlen(value));
    pat_token_display(t->prefix, value);
}

static int name_taken(void)
{
    return pat_error_set(PAT_EEXISTS, "name", "you already have a token with this name");
}

/* Sets the name and description of t from in (when given), checked. */
static int apply_texts(pat_token_rec *t, const pat_token_input *in, unsigned *fields)
{
    int rc;

    if (in->name) {
        if ((rc = check_name(in->name)) < 0 ||
            (rc = pat_text_set(t->name, sizeof(t->name), in->name)) < 0)
            return rc;
        *fields |= PAT_TOKEN_F_NAME;
    }
    if (in->description) {
        if ((rc = pat_text_check(in->description, "description", 0, PAT_DESC_MAX_CHARS, 1)) < 0 ||
            (rc = pat_text_set(t->description, sizeof(t->description), in->description)) < 0)
            return rc;
        *fields |= PAT_TOKEN_F_DESCRIPTION;
    }
    return PAT_OK;
}

/* A canary has no scope, network or expiry: asking for one is an error. */
static int canary_fields_refused(const pat_token_input *in)
{
    if ((in->has_scopes && in->nscopes) || in->scope_set)
        return pat_error_set(PAT_EINVAL, "scopes", "a canary token has no scopes");
    if (in->has_cidrs && in->ncidrs)
        return pat_error_set(PAT_EINVAL, "allowed_cidrs",
                             "a canary token is never valid, from any network");
    if (in->has_expiry)
        return pat_error_set(PAT_EINVAL, "expires_at", "a canary token does not expire");
    return PAT_OK;
}

/* Creates t from in over defaults already in t, and its audit event, in
 * the caller's unit of work; shared by create and copy. */
static int create_from(pat_service *svc, const pat_principal *actor, const pat_request_info *info,
                       const pat_token_input *in, const pat_policy *policy, pat_token_rec *t,
                       char value[PAT_TOKEN_BUF], const char *action)
{
    int64_t now = svc->clock();
    unsigned fields = 0;
    int rc;

    if (!in->name)
        return pat_error_set(PAT_EINVAL, "name", "name is required");
    if ((rc = apply_texts(t, in, &fields)) < 0)
        return rc;
    if (in->has_canary && in->canary)
        t->flags |= PAT_TOKEN_FLAG_CANARY;
    if (in->has_notify_new_client)
        t->flags = in->notify_new_client ? t->flags & ~(unsigned)PAT_TOKEN_FLAG_NO_CLIENT_ALERTS
                                         : t->flags | PAT_TOKEN_FLAG_NO_CLIENT_ALERTS;
    if (t->flags & PAT_TOKEN_FLAG_CANARY) {
        /* A decoy grants nothing, so no scope, network or expiry applies. */
        if ((rc = canary_fields_refused(in)) < 0)
            return rc;
        t->scopes[0] = t->allowed_cidrs[0] = '\0';
        t->expires_at = 0;
    } else {
        if (in->has_scopes || in->scope_set || !t->scopes[0]) {
            if ((rc = resolve_scopes(svc, actor, in, t->scopes)) < 0)
                return rc;
        } else if ((rc = pat_scopes_check_role(&svc->config->catalog, t->scopes, (unsigned)actor->role)) <
                       0 ||
                   (actor->kind == PAT_AUTH_TOKEN &&
                    (rc = pat_scopes_check_subset(t->scopes, actor->scopes)) < 0)) {
            return rc;
        }
        if (in->has_cidrs && (rc = resolve_cidrs(in, t->allowed_cidrs)) < 0)
            return rc;
        if (in->has_orgs &&
            (rc = pat_orgs_resolve(svc, actor->user_id, in->orgs, in->norgs, t->orgs)) < 0)
            return rc;
        pat_expiry_request req = in->expiry;
        if (!in->has_expiry)
            req.kind = PAT_EXPIRY_DEFAULT;
        if ((rc = resolve_expiry_in_orgs(svc, actor, info, policy, t->orgs, &req,
                                         &t->expires_at, in->warning)) < 0)
            return rc;
    }
    t->user_id = actor->user_id;
    t->created_at = t->updated_at = now;
    t->disabled_at = 0;
    t->previous_valid_until = 0;
    memset(t->previous_hash, 0, sizeof(t->previous_hash));
    memset(&t->last_use, 0, sizeof(t->last_use));
    t->use_count = 0;
    new_secret(svc, t, value);
    rc = pat_store_token_insert(svc->store, t);
    if (rc == PAT_EEXISTS)
        rc = name_taken();
    if (rc == PAT_OK)
        rc = pat_audit_record(svc, actor, info, action, "token", "id=%lld name=%s scopes=%s%s",
                              (long long)t->id, t->name, t->scopes,
                              (t->flags & PAT_TOKEN_FLAG_CANARY) ? " canary=1" : "");
    /* The email goes with the change (product document 001). */
    if (rc == PAT_OK)
        rc = pat_notify_tokens(svc, actor, info,
                               strcmp(action, "token.copied") == 0 ? PAT_NOTE_COPIED
                                                                   : PAT_NOTE_CREATED,
                               t->user_id, t, 1);
    if (rc < 0)
        pat_secret_wipe(value, PAT_TOKEN_BUF);
    return rc;
}

int pat_tokens_create(pat_service *svc, const pat_principal *actor, const pat_request_info *info,
                      const pat_token_input *in, pat_token_rec *out, char value[PAT_TOKEN_BUF])
{
    pat_policy policy;
    int rc;

    if ((rc = may_change(svc, actor, &policy)) < 0)
        return rc;
    memset(out, 0, sizeof(*out));
    if ((rc = pat_unit_begin(svc)) < 0)
        return rc;
    rc = create_from(svc, actor, info, in, &policy, out, value, "token.created");
    if ((rc = pat_unit_end(svc, rc)) < 0)
        pat_secret_wipe(value, PAT_TOKEN_BUF);
    return rc;
}

int pat_tokens_copy(pat_service *svc, const pat_principal *actor, const pat_request_info *info,
                    int64_t id, const pat_token_input *in, pat_token_rec *out,
                    char value[PAT_TOKEN_BUF])
{
    pat_policy policy;
    pat_token_input eff = *in;
    int rc;

    if ((rc = may_change(svc, actor, &policy)) < 0 || (rc = pat_unit_begin(svc)) < 0)
        return rc;
    if ((rc = load_own(svc, actor, id, out)) < 0)
        goto out;
    if (in->has_canary) {
        rc = pat_error_set(PAT_EINVAL, "canary", "a copy is a canary when its source is one");
        goto out;
    }
    /* Unless told otherwise, the copy lives as long as its source was made
     * to live, counted from now. */
    if (!eff.has_expiry && !(out->flags & PAT_TOKEN_FLAG_CANARY)) {
        eff.has_expiry = true;
        if (out->expires_at == 0) {
            eff.expiry.kind = PAT_EXPIRY_NEVER;
        } else {
            eff.expiry.kind = PAT_EXPIRY_AT;
            eff.expiry.at = svc->clock() + (out->expires_at - out->created_at);
        }
    }
    rc = create_from(svc, actor, info, &eff, &policy, out, value, "token.copied");
out:
    if ((rc = pat_unit_end(svc, rc)) < 0)
        pat_secret_wipe(value, PAT_TOKEN_BUF);
    return rc;
}

/* 1 if t matches the lowercase needle in name or description. */
static int matches(const pat_token_rec *t, const char *needle)
{
    const char *fields[2] = {t->name, t->description};

    for (int f = 0; f < 2; f++) {
        const char *h = fields[f];
        size_t nl = strlen(needle);
        for (; *h; h++) {
            size_t i = 0;
            while (i < nl && h[i] && tolower((unsigned char)h[i]) == needle[i])
                i++;
            if (i == nl)
                return 1;
        }
    }
    return 0;
}

int pat_tokens_list(pat_service *svc, const pat_principal *actor, const char *status, const char *q,
                    pat_token_rec **out, size_t *n)
{
    char needle[PAT_QUERY_MAX * 4 + 1];
    pat_token_rec *list = NULL;
    size_t count = 0, kept = 0;
    int64_t now = svc->clock();
    int rc;

    if ((rc = may_manage(svc, actor)) < 0)
        return rc;
    if (status && *status && strcmp(status, "active") != 0 && strcmp(status, "disabled") != 0 &&
        strcmp(status, "expired") != 0)
        return pat_error_set(PAT_EINVAL, "status", "status must be active, disabled or expired");
    needle[0] = '\0';
    if (q) {
        if ((rc = pat_text_check(q, "q", 0, PAT_QUERY_MAX, 0)) < 0)
            return rc;
        for (size_t i = 0; q[i]; i++)
            needle[i] = (char)tolower((unsigned char)q[i]);
        needle[strlen(q)] = '\0';
    }
    if ((rc = pat_store_token_list(svc->store, actor->user_id, &list, &count)) < 0)
        return rc;
    for (size_t i = 0; i < count; i++) {
        if (status && *status && strcmp(pat_tokens_status(&list[i], now), status) != 0)
            continue;
        if (needle[0] && !matches(&list[i], needle))
            continue;
        if (kept != i)
            list[kept] = list[i];
        kept++;
    }
    *out = list;
    *n = kept;
    return PAT_OK;
}

int pat_tokens_get(pat_service *svc, const pat_principal *actor, int64_t id, pat_token_rec *out)
{
    int rc;

    if ((rc = may_manage(svc, actor)) < 0)
        return rc;
    return load_own(svc, actor, id, out);
}

int pat_tokens_clients(pat_service *svc, const pat_principal *actor, int64_t id,
                       pat_token_client **out, size_t *n)
{
    pat_token_rec *t = pat_malloc(sizeof(*t));
    int rc;

    *out = NULL;
    *n = 0;
    if ((rc = may_manage(svc, actor)) == PAT_OK && (rc = load_own(svc, actor, id, t)) == PAT_OK)
        rc = pat_store_client_list(svc->store, id, 10, out, n);
    free(t);
    return rc;
}

int pat_tokens_self(pat_service *svc, const pat_principal *actor, pat_token_rec *out)
{
    if (actor->kind != PAT_AUTH_TOKEN)
        return pat_error_set(PAT_EINVAL, NULL, "this request was not made with a token");
    return load_own(svc, actor, actor->token_id, out);
}

int pat_tokens_update(pat_service *svc, const pat_principal *actor, const pat_request_info *info,
                      int64_t id, const pat_token_input *in, pat_token_rec *out)
{
    pat_policy policy;
    unsigned fields = 0;
    int rc;

    if ((rc = may_change(svc, actor, &policy)) < 0 || (rc = pat_unit_begin(svc)) < 0)
        return rc;
    if ((rc = load_own(svc, actor, id, out)) < 0)
        goto out;
    if (out->disabled_at) {
        rc = pat_error_set(PAT_ECONFLICT, NULL, "the token is disabled; enable it to edit it");
        goto out;
    }
    if (in->has_canary) {
        rc = pat_error_set(PAT_EINVAL, "canary",
                           "whether a token is a canary is set when it is created");
        goto out;
    }
    if ((out->flags & PAT_TOKEN_FLAG_CANARY) && (rc = canary_fields_refused(in)) < 0)
        goto out;
    if ((rc = apply_texts(out, in, &fields)) < 0)
        goto out;
    if (in->has_notify_new_client) {
        out->flags = in->notify_new_client
                         ? out->flags & ~(unsigned)PAT_TOKEN_FLAG_NO_CLIENT_ALERTS
                         : out->flags | PAT_TOKEN_FLAG_NO_CLIENT_ALERTS;
        fields |= PAT_TOKEN_F_FLAGS;
    }
    if (in->has_scopes || in->scope_set) {
        if ((rc = resolve_scopes(svc, actor, in, out->scopes)) < 0)
            goto out;
        fields |= PAT_TOKEN_F_SCOPES;
    }
    if (in->has_cidrs) {
        if ((rc = resolve_cidrs(in, out->allowed_cidrs)) < 0)
            goto out;
        fields |= PAT_TOKEN_F_CIDRS;
    }
    if (in->has_orgs) {
        if ((out->flags & PAT_TOKEN_FLAG_CANARY) && in->orgs) {
            rc = pat_error_set(PAT_EINVAL, "organizations",
                               "a canary token is never valid, in any organization");
            goto out;
        }
        if ((rc = pat_orgs_resolve(svc, actor->user_id, in->orgs, in->norgs, out->orgs)) < 0)
            goto out;
        fields |= PAT_TOKEN_F_ORGS;
    }
    if (in->has_expiry) {
        if ((rc = resolve_expiry_in_orgs(svc, actor, info, &policy, out->orgs, &in->expiry,
                                         &out->expires_at, in->warning)) < 0)
            goto out;
        fields |= PAT_TOKEN_F_EXPIRES;
    } else if (in->has_orgs && (rc = expiry_fits_orgs(svc, actor, out)) < 0) {
        goto out;
    }
    out->updated_at = svc->clock();
    rc = pat_store_token_update(svc->store, out, fields);
    if (rc == PAT_EEXISTS)
        rc = name_taken();
    if (rc == PAT_OK)
        rc = pat_audit_record(svc, actor, info, "token.updated", "token",
                              "id=%lld name=%s scopes=%s", (long long)out->id, out->name,
                              out->scopes);
out:
    return pat_unit_end(svc, rc);
}

int pat_tokens_apply_disabled(pat_service *svc, const pat_principal *actor,
                              const pat_request_info *info, pat_token_rec *t, bool disabled)
{
    int rc;

    if (t->flags & PAT_TOKEN_FLAG_CANARY)
        return pat_error_set(PAT_ECONFLICT, NULL,
                             "a canary token is never valid: it cannot be enabled or disabled");
    if ((t->disabled_at != 0) == disabled)
        return PAT_OK;
    t->disabled_at = disabled ? svc->clock() : 0;
    t->updated_at = svc->clock();
    if ((rc = pat_store_token_update(svc->store, t, PAT_TOKEN_F_DISABLED)) < 0 ||
        (rc = pat_audit_record(svc, actor, info, disabled ? "token.disabled" : "token.enabled",
                               "token", "id=%lld name=%s owner=%lld", (long long)t->id, t->name,
                               (long long)t->user_id)) < 0)
        return rc;
    /* Someone else's hand on the token: its owner hears of it. */
    if (actor && actor->user_id != t->user_id)
        rc = pat_notify_tokens(svc, actor, info, disabled ? PAT_NOTE_DISABLED : PAT_NOTE_ENABLED,
                               t->user_id, t, 1);
    return rc;
}

int pat_tokens_set_disabled(pat_service *svc, const pat_principal *actor,
                            const pat_request_info *info, int64_t id, bool disabled,
                            pat_token_rec *out)
{
    pat_policy policy;
    int rc;

    if ((rc = may_change(svc, actor, &policy)) < 0 || (rc = pat_unit_begin(svc)) < 0)
        return rc;
    if ((rc = load_own(svc, actor, id, out)) == PAT_OK)
        rc = pat_tokens_apply_disabled(svc, actor, info, out, disabled);
    return pat_unit_end(svc, rc);
}

int pat_tokens_regenerate(pat_service *svc, const pat_principal *actor,
                          const pat_request_info *info, int64_t id, int64_t grace_seconds,
                          int64_t retire_when_unused_seconds, pat_token_rec *out,
                          char value[PAT_TOKEN_BUF])
{
    pat_policy policy;
    pat_rotation_rec rot;
    int64_t now = svc->clock();
    unsigned fields = PAT_TOKEN_F_SECRET;
    int rc;

    if (grace_seconds < 0 || grace_seconds > PAT_GRACE_MAX_SECONDS)
        return pat_error_set(PAT_EINVAL, "grace_seconds", "grace_seconds must be 0 to %d",
                             PAT_GRACE_MAX_SECONDS);
    /* Uses reach the store a flush period late: "unused" must span several. */
    int64_t retire_min = 3 * (int64_t)(svc->config->last_use_flush_seconds > 0
                                           ? svc->config->last_use_flush_seconds
                                           : 10);
    if (retire_when_unused_seconds != 0 &&
        (retire_when_unused_seconds < retire_min ||
         retire_when_unused_seconds > PAT_ROTATION_MAX_SECONDS))
        return pat_error_set(PAT_EINVAL, "retire_when_unused_seconds",
                             "retire_when_unused_seconds must be 0, or %lld to %d",
                             (long long)retire_min, PAT_ROTATION_MAX_SECONDS);
    if ((rc = may_change(svc, actor, &policy)) < 0 || (rc = pat_unit_begin(svc)) < 0)
        return rc;
    if ((rc = load_own(svc, actor, id, out)) < 0)
        goto out;
    if (out->disabled_at) {
        rc =
            pat_error_set(PAT_ECONFLICT, NULL, "the token is disabled; enable it to regenerate it");
        goto out;
    }
    if (pat_expiry_passed(out->expires_at, now)) {
        pat_expiry_request req = {PAT_EXPIRY_DEFAULT, 0, 0};
        if ((rc = resolve_expiry_in_orgs(svc, actor, info, &policy, out->orgs, &req,
                                         &out->expires_at, NULL)) < 0)
            goto out;
        fields |= PAT_TOKEN_F_EXPIRES;
    } else if ((rc = expiry_fits_orgs(svc, actor, out)) < 0) {
        goto out;
    }
    /* The version read above guards the write: a regenerate that raced
     * another change fails whole, so the value it returns always works. */
    if (grace_seconds > 0 || retire_when_unused_seconds > 0) {
        memcpy(out->previous_hash, out->hash, PAT_HASH_LEN);
        out->previous_valid_until =
            now + (grace_seconds > 0 ? grace_seconds : PAT_ROTATION_MAX_SECONDS);
        memset(&rot, 0, sizeof(rot));
        rot.token_id = out->id;
        rot.started_at = now;
        rot.retire_when_unused = retire_when_unused_seconds;
        rc = pat_store_rotation_put(svc->store, &rot);
    } else {
        memset(out->previous_hash, 0, PAT_HASH_LEN);
        out->previous_valid_until = 0;
        rc = pat_store_rotation_delete(svc->store, out->id);
    }
    if (rc < 0)
        goto out;
    new_secret(svc, out, value);
    out->updated_at = now;
    if ((rc = pat_store_token_update(svc->store, out, fields)) == PAT_OK &&
        (rc = pat_audit_record(svc, actor, info, "token.regenerated", "token",
                               "id=%lld name=%s grace=%lld retire_when_unused=%lld",
                               (long long)out->id, out->name, (long long)grace_seconds,
                               (long long)retire_when_unused_seconds)) == PAT_OK)
        rc = pat_notify_tokens(svc, actor, info, PAT_NOTE_REGENERATED, out->user_id, out, 1);
out:
    if ((rc = pat_unit_end(svc, rc)) < 0)
        pat_secret_wipe(value, PAT_TOKEN_BUF);
    return rc;
}

int pat_tokens_retire_now(pat_service *svc, const pat_principal *actor,
                          const pat_request_info *info, pat_token_rec *t, const char *why)
{
    int rc;

    if (t->previous_valid_until <= svc->clock())
        return pat_error_set(PAT_ECONFLICT, NULL,
                             "no value from before the last regeneration is alive");
    memset(t->previous_hash, 0, PAT_HASH_LEN);
    t->previous_valid_until = 0;
    t->updated_at = svc->clock();
    if ((rc = pat_store_token_update(svc->store, t, PAT_TOKEN_F_SECRET)) < 0 ||
        (rc = pat_store_rotation_delete(svc->store, t->id)) < 0)
        return rc;
    return pat_audit_record(svc, actor, info, "token.previous_retired", "token",
                            "id=%lld name=%s why=%s", (long long)t->id, t->name, why);
}

int pat_tokens_retire_previous(pat_service *svc, const pat_principal *actor,
                               const pat_request_info *info, int64_t id, pat_token_rec *out)
{
    pat_policy policy;
    int rc;

    if ((rc = may_change(svc, actor, &policy)) < 0 || (rc = pat_unit_begin(svc)) < 0)
        return rc;
    if ((rc = load_own(svc, actor, id, out)) == PAT_OK)
        rc = pat_tokens_retire_now(svc, actor, info, out, "asked");
    return pat_unit_end(svc, rc);
}

int pat_tokens_load_with_owner(pat_service *svc, int64_t id, pat_token_rec *t, pat_user *owner)
{
    int rc = pat_store_token_get(svc->store, id, t);

    return rc < 0 ? rc : pat_store_user_get(svc->store, t->user_id, owner);
}

bool pat_tokens_rotating(pat_service *svc, const pat_token_rec *t)
{
    return t->previous_valid_until > svc->clock();
}

int pat_tokens_rotation_of(pat_service *svc, const pat_token_rec *t, pat_rotation_rec *out)
{
    int rc;

    if (!pat_tokens_rotating(svc, t))
        return PAT_ENOTFOUND;
    if ((rc = pat_store_rotation_get(svc->store, t->id, out)) == PAT_ENOTFOUND) {
        memset(out, 0, sizeof(*out));
        out->token_id = t->id;
        rc = PAT_OK;
    }
    return rc;
}

int pat_tokens_rotations(pat_service *svc, pat_rotation_rec **out, size_t *n)
{
    return pat_store_rotation_list(svc->store, out, n);
}

int pat_tokens_extras(pat_service *svc, int64_t user_id, int64_t token_id, pat_token_extras *x)
{
    int rc;

    memset(x, 0, sizeof(*x));
    if ((rc = pat_store_rotation_list(svc->store, &x->rots, &x->nrots)) == PAT_OK)
        rc = pat_store_scope_uses_list(svc->store, user_id, token_id, &x->uses, &x->nuses);
    if (rc < 0)
        pat_tokens_extras_dispose(x);
    return rc;
}

void pat_tokens_extras_dispose(pat_token_extras *x)
{
    free(x->rots);
    free(x->uses);
    memset(x, 0, sizeof(*x));
}

size_t pat_tokens_unused_scopes(pat_service *svc, const pat_token_rec *t,
                                const pat_token_extras *x, char out[PAT_SCOPES_STR_MAX])
{
    int64_t now = svc->clock(), since = now - svc->config->least_privilege_seconds;
    int64_t last = t->last_use.at; /* kept per granularity: scope uses are fresher */
    size_t len = 0, count = 0;

    out[0] = '\0';
    for (size_t i = 0; x && i < x->nuses; i++)
        if (x->uses[i].token_id == t->id && x->uses[i].last_used_at > last)
            last = x->uses[i].last_used_at;
    /* Not watched long enough, or idle: its scopes cannot be judged. */
    if ((t->flags & PAT_TOKEN_FLAG_CANARY) || t->created_at > since || last < since)
        return 0;
    for (const char *w = t->scopes; *w;) {
        size_t wl = strcspn(w, " ");
        bool used = false;
        for (size_t i = 0; x && i < x->nuses && !used; i++)
            used = x->uses[i].token_id == t->id && strlen(x->uses[i].scope) == wl &&
                   memcmp(x->uses[i].scope, w, wl) == 0 && x->uses[i].last_used_at >= since;
        if (!used && len + wl + 2 < PAT_SCOPES_STR_MAX) {
            len += (size_t)snprintf(out + len, PAT_SCOPES_STR_MAX - len, "%s%.*s", len ? " " : "",
                                    (int)wl, w);
            count++;
        }
        w += wl;
        while (*w == ' ')
            w++;
    }
    return count;
}

int pat_tokens_remove(pat_service *svc, const pat_principal *actor, const pat_request_info *info,
                      const pat_token_rec *t)
{
    int rc;

    if ((rc = pat_store_token_delete(svc->store, t->user_id, t->id)) == PAT_OK &&
        (rc = pat_audit_record(svc, actor, info, "token.deleted", "token",
                               "id=%lld name=%s owner=%lld", (long long)t->id, t->name,
                               (long long)t->user_id)) == PAT_OK)
        rc = pat_notify_tokens(svc, actor, info, PAT_NOTE_DELETED, t->user_id, t, 1);
    return rc;
}

int pat_tokens_delete(pat_service *svc, const pat_principal *actor, const pat_request_info *info,
                      int64_t id)
{
    pat_policy policy;
    pat_token_rec *t = pat_malloc(sizeof(*t));
    int rc;

    if ((rc = may_change(svc, actor, &policy)) < 0 || (rc = pat_unit_begin(svc)) < 0)
        goto out;
    if ((rc = load_own(svc, actor, id, t)) == PAT_OK)
        rc = pat_tokens_remove(svc, actor, info, t);
    rc = pat_unit_end(svc, rc);
out:
    free(t);
    return rc;
}

int pat_tokens_delete_many(pat_service *svc, const pat_principal *actor,
                           const pat_request_info *info, const int64_t *ids, size_t n,
                           int64_t *deleted, size_t *ndeleted)
{
    pat_policy policy;
    pat_token_rec *t = NULL, *gone = NULL;
    size_t count = 0;
    int rc;

    if ((rc = may_change(svc, actor, &policy)) < 0)
        return rc;
    if (n == 0)
        return pat_error_set(PAT_EINVAL, "ids", "ids must name at least one token");
    if (n > PAT_BULK_IDS_MAX)
        return pat_error_set(PAT_EINVAL, "ids", "at most %d ids per request", PAT_BULK_IDS_MAX);
    if ((rc = pat_unit_begin(svc)) < 0)
        return rc;
    t = pat_malloc(sizeof(*t));
    gone = pat_calloc(n, sizeof(*gone));
    /* One unit: every token named and owned goes, each with its event, or
     * none does (and one email lists them). Ids of others are skipped like
     * unknown ones. */
    for (size_t i = 0; i < n && rc == PAT_OK; i++) {
        int lrc = load_own(svc, actor, ids[i], t);
        if (lrc == PAT_ENOTFOUND)
            continue;
        if ((rc = lrc) < 0 || (rc = pat_store_token_delete(svc->store, actor->user_id, ids[i])) < 0)
            break;
        gone[count] = *t;
        deleted[count++] = ids[i];
        rc = pat_audit_record(svc, actor, info, "token.deleted", "token",
                              "id=%lld name=%s bulk=1", (long long)ids[i], t->name);
    }
    if (rc == PAT_OK)
        rc = pat_notify_tokens(svc, actor, info, PAT_NOTE_DELETED, actor->user_id, gone, count);
    if ((rc = pat_unit_end(svc, rc)) == PAT_OK)
        *ndeleted = count;
    free(gone);
    free(t);
    return rc;
}

int pat_tokens_issue_signin(pat_service *svc, const pat_principal *actor,
                            const pat_request_info *info, const char *name, pat_token_rec *out,
                            char value[PAT_TOKEN_BUF], bool *created)
{
    pat_expiry_request life = {PAT_EXPIRY_DAYS, PAT_SIGNIN_TOKEN_DAYS, 0};
    char scopes[PAT_SCOPES_STR_MAX];
    pat_token_rec *list = NULL;
    pat_policy policy;
    size_t n = 0;
    int rc;

    if (actor->kind != PAT_AUTH_SESSION)
        return pat_error_set(PAT_EFORBIDDEN, NULL, "sign in with a username and password first");
    if (!name)
        return pat_error_set(PAT_EINVAL, "name", "name is required");
    if ((rc = check_name(name)) < 0 || (rc = may_change(svc, actor, &policy)) < 0 ||
        (rc = pat_scopes_grantable(&svc->config->catalog, (unsigned)actor->role, scopes)) < 0)
        return rc;
    memset(out, 0, sizeof(*out));
    if ((rc = pat_unit_begin(svc)) < 0)
        return rc;
    if ((rc = pat_store_token_list(svc->store, actor->user_id, &list, &n)) < 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i].name, name) == 0) {
            *out = list[i];
            break;
        }
    }
    memcpy(out->scopes, scopes, sizeof(scopes));
    *created = out->id == 0;
    if (*created) {
        pat_token_input in;
        memset(&in, 0, sizeof(in));
        in.name = name;
        in.has_expiry = true;
        in.expiry = life;
        rc = create_from(svc, actor, info, &in, &policy, out, value, "token.created");
        goto out;
    }
    if ((rc = resolve_expiry(svc, actor, &policy, &life, &out->expires_at)) < 0)
        goto out;
    out->disabled_at = 0;
    out->previous_valid_until = 0;
    memset(out->previous_hash, 0, sizeof(out->previous_hash));
    new_secret(svc, out, value);
    out->updated_at = svc->clock();
    if ((rc = pat_store_token_update(svc->store, out,
                                     PAT_TOKEN_F_SECRET | PAT_TOKEN_F_EXPIRES |
                                         PAT_TOKEN_F_SCOPES | PAT_TOKEN_F_DISABLED)) == PAT_OK)
        rc = pat_audit_record(svc, actor, info, "token.regenerated", "token",
                              "id=%lld name=%s signin=1", (long long)out->id, out->name);
out:
    free(list);
    if ((rc = pat_unit_end(svc, rc)) < 0)
        pat_secret_wipe(value, PAT_TOKEN_BUF);
    return rc;
}
