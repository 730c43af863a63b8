/* Copying a whole store into an empty one (patd store copy): how an
 * installation moves from SQLite to PostgreSQL. Backend-neutral: rows are
 * read through the store interface and put through each backend's copy
 * functions, which keep ids and versions as they are. */
#include <stdlib.h>

#include "store/store_int.h"
#include "util/error.h"
#include "util/log.h"

#define AUDIT_PAGE 1000

int pat_store_count_rows(pat_store *s, pat_store_counts *out)
{
    return s->vt->count_rows(s, out);
}

/* The clients token_id was used from, each with its first and latest
 * sighting and whether it was alerted about. */
static int copy_clients(pat_store *from, pat_store *to, int64_t token_id)
{
    pat_token_client *list = NULL;
    size_t n = 0;
    int rc;

    if ((rc = pat_store_client_list(from, token_id, PAT_CLIENTS_KEPT, &list, &n)) < 0)
        return rc;
    for (size_t i = 0; i < n && rc == PAT_OK; i++) {
        /* A new client is recorded as first seen at the sighting's time:
         * first its first sighting, then its latest. */
        pat_token_client first = list[i];
        first.last_seen = first.first_seen;
        if ((rc = pat_store_clients_seen(to, &first, 1, NULL)) == PAT_OK)
            rc = pat_store_clients_seen(to, &list[i], 1, NULL);
        if (rc == PAT_OK && list[i].alerted_at)
            rc = pat_store_client_alerted(to, token_id, list[i].network, list[i].product,
                                          list[i].alerted_at);
    }
    free(list);
    return rc;
}

/* A person's tokens, their clients and the scopes they used. */
static int copy_tokens_of(pat_store *from, pat_store *to, int64_t user_id)
{
    pat_token_rec *tokens = NULL;
    pat_scope_use *uses = NULL;
    size_t n = 0, nuses = 0;
    int rc;

    if ((rc = pat_store_token_list(from, user_id, &tokens, &n)) == PAT_OK)
        rc = to->vt->put_tokens(to, tokens, n);
    for (size_t i = 0; i < n && rc == PAT_OK; i++)
        rc = copy_clients(from, to, tokens[i].id);
    /* Added to none: the counts and times as they were. */
    if (rc == PAT_OK && (rc = pat_store_scope_uses_list(from, user_id, 0, &uses, &nuses)) == PAT_OK &&
        nuses)
        rc = pat_store_scope_uses_add(to, uses, nuses, NULL);
    free(uses);
    free(tokens);
    return rc;
}

static int copy_people_and_tokens(pat_store *from, pat_store *to)
{
    pat_rotation_rec *rots = NULL;
    pat_user *users = NULL;
    size_t nusers = 0, nrots = 0;
    int rc;

    if ((rc = pat_store_user_list(from, &users, &nusers)) < 0 ||
        (rc = to->vt->put_users(to, users, nusers)) < 0)
        goto out;
    for (size_t i = 0; i < nusers && rc == PAT_OK; i++)
        rc = copy_tokens_of(from, to, users[i].id);
    /* Rotations in progress keep retiring their old values by themselves. */
    if (rc == PAT_OK && (rc = pat_store_rotation_list(from, &rots, &nrots)) == PAT_OK)
        for (size_t i = 0; i < nrots && rc == PAT_OK; i++)
            rc = pat_store_rotation_put(to, &rots[i]);
out:
    free(rots);
    free(users);
    return rc;
}

/* After the people: the organizations (replacing the target's own
 * 'default', made by its migration) and every membership. */
static int copy_orgs(pat_store *from, pat_store *to)
{
    pat_org *orgs = NULL;
    size_t norgs = 0;
    int rc;

    if ((rc = pat_store_org_list(from, &orgs, &norgs)) < 0 ||
        (rc = to->vt->put_orgs(to, orgs, norgs)) < 0)
        goto out;
    for (size_t i = 0; i < norgs && rc == PAT_OK; i++) {
        pat_membership *m = NULL;
        size_t n = 0;
        if ((rc = pat_store_member_list(from, orgs[i].id, 0, &m, &n)) == PAT_OK)
            for (size_t j = 0; j < n && rc == PAT_OK; j++)
                rc = pat_store_member_add(to, &m[j]);
        free(m);
    }
out:
    free(orgs);
    return rc;
}

static int copy_sessions_settings_and_keys(pat_store *from, pat_store *to)
{
    pat_session_rec *sessions = NULL;
    pat_setting *settings = NULL;
    pat_key_rec *keys = NULL;
    size_t nsessions = 0, nsettings = 0, nkeys = 0;
    int rc;

    if ((rc = from->vt->session_list(from, &sessions, &nsessions)) < 0 ||
        (rc = from->vt->setting_list(from, &settings, &nsettings)) < 0 ||
        (rc = pat_store_key_list(from, &keys, &nkeys)) < 0)
        goto out;
    /* Sealed as they are: the same server key opens them on the target. */
    for (size_t i = 0; i < nkeys && rc == PAT_OK; i++)
        rc = pat_store_key_insert(to, &keys[i]);
    for (size_t i = 0; i < nsessions && rc == PAT_OK; i++)
        rc = pat_store_session_insert(to, &sessions[i]);
    for (size_t i = 0; i < nsettings && rc == PAT_OK; i++)
        rc = pat_store_setting_set(to, settings[i].key, settings[i].value);
out:
    free(sessions);
    free(settings);
    free(keys);
    return rc;
}

/* Newest first, a page at a time. */
static int copy_audit(pat_store *from, pat_store *to)
{
    pat_audit_filter f = {.limit = AUDIT_PAGE};
    int rc;

    for (;;) {
        pat_audit_rec *page = NULL;
        size_t n = 0;
        if ((rc = pat_store_audit_list(from, &f, &page, &n)) == PAT_OK && n)
            rc = to->vt->put_audit(to, page, n);
        if (rc == PAT_OK && n)
            f.before_id = page[n - 1].id;
        free(page);
        if (rc < 0 || n < AUDIT_PAGE)
            return rc;
    }
}

int pat_store_copy(pat_store *from, pat_store *to, pat_store_counts *copied)
{
    pat_store_counts have, want, got;
    int rc;

    if ((rc = pat_store_count_rows(to, &have)) < 0)
        return rc;
    if (have.users > 0)
        return pat_error_set(PAT_ECONFLICT, "to",
                             "the target store already holds people; copy into an empty one");
    if ((rc = pat_store_count_rows(from, &want)) < 0 || (rc = pat_store_begin(to)) < 0)
        return rc;
    if ((rc = copy_people_and_tokens(from, to)) == PAT_OK && (rc = copy_orgs(from, to)) == PAT_OK &&
        (rc = copy_sessions_settings_and_keys(from, to)) == PAT_OK &&
        (rc = copy_audit(from, to)) == PAT_OK)
        rc = to->vt->ids_reset(to, &want);
    if (rc < 0) {
        pat_error saved = *pat_error_last();
        pat_store_rollback(to);
        *(pat_error *)pat_error_last() = saved;
        return rc;
    }
    if ((rc = pat_store_commit(to)) < 0 || (rc = pat_store_count_rows(to, &got)) < 0)
        return rc;
    /* The target may hold settings of its own (none are written before a
     * service starts on it); every other table must match exactly. */
    if (got.users != want.users || got.tokens != want.tokens || got.sessions != want.sessions ||
        got.audit != want.audit || got.settings < want.settings || got.orgs != want.orgs ||
        got.members != want.members)
        return pat_error_set(PAT_EIO, NULL,
                             "the copy does not add up: %lld/%lld people, %lld/%lld tokens, "
                             "%lld/%lld sessions, %lld/%lld audit events, %lld/%lld "
                             "organizations, %lld/%lld memberships",
                             (long long)got.users, (long long)want.users, (long long)got.tokens,
                             (long long)want.tokens, (long long)got.sessions,
                             (long long)want.sessions, (long long)got.audit,
                             (long long)want.audit, (long long)got.orgs, (long long)want.orgs,
                             (long long)got.members, (long long)want.members);
    if (copied)
        *copied = got;
    return PAT_OK;
}
