/* SQLite backend: organizations and their members. */
#include <string.h>

#include "store/sqlite/sqlite_int.h"
#include "util/error.h"

#define ORG_COLS "id, slug, name, created_at, updated_at, version"
#define MEMBER_SELECT                                                                              \
    "SELECT m.org_id, m.user_id, m.role, m.can_manage_tokens, m.created_at, m.updated_at, "        \
    "o.slug, o.name, u.username FROM org_members m JOIN orgs o ON o.id = m.org_id "                \
    "JOIN users u ON u.id = m.user_id "

static int read_org(sqlite3_stmt *q, void *dst)
{
    pat_org *o = dst;
    int rc;

    memset(o, 0, sizeof(*o));
    o->id = sqlite3_column_int64(q, 0);
    if ((rc = sq_text(q, 1, o->slug, sizeof(o->slug))) < 0 ||
        (rc = sq_text(q, 2, o->name, sizeof(o->name))) < 0)
        return rc;
    o->created_at = sqlite3_column_int64(q, 3);
    o->updated_at = sqlite3_column_int64(q, 4);
    o->version = sqlite3_column_int64(q, 5);
    return PAT_OK;
}

static int read_member(sqlite3_stmt *q, void *dst)
{
    pat_membership *m = dst;
    char role[16];
    int rc;

    memset(m, 0, sizeof(*m));
    m->org_id = sqlite3_column_int64(q, 0);
    m->user_id = sqlite3_column_int64(q, 1);
    if ((rc = sq_text(q, 2, role, sizeof(role))) < 0 ||
        (rc = pat_org_role_parse(role, &m->role)) < 0)
        return rc;
    m->can_manage_tokens = sqlite3_column_int(q, 3) != 0;
    m->created_at = sqlite3_column_int64(q, 4);
    m->updated_at = sqlite3_column_int64(q, 5);
    if ((rc = sq_text(q, 6, m->slug, sizeof(m->slug))) < 0 ||
        (rc = sq_text(q, 7, m->org_name, sizeof(m->org_name))) < 0)
        return rc;
    return sq_text(q, 8, m->username, sizeof(m->username));
}

int sq_org_create(pat_store *s, pat_org *o)
{
    int64_t id = 0;
    int rc = sq_run(sq_of(s), NULL, &id,
                    "INSERT INTO orgs (slug, name, created_at, updated_at, version) "
                    "VALUES (?,?,?,?,1)",
                    "ttii", o->slug, o->name, o->created_at, o->updated_at);

    if (rc == PAT_OK) {
        o->id = id;
        o->version = 1;
    }
    return rc;
}

int sq_org_get(pat_store *s, const char *slug, pat_org *out)
{
    int rc = sq_one(sq_of(s), read_org, out, "SELECT " ORG_COLS " FROM orgs WHERE slug = ?", "t",
                    slug);

    return rc == PAT_ENOTFOUND ? pat_error_set(PAT_ENOTFOUND, NULL, "no such organization") : rc;
}

int sq_org_list(pat_store *s, pat_org **out, size_t *n)
{
    return sq_list(sq_of(s), read_org, sizeof(pat_org), (void **)out, n,
                   "SELECT " ORG_COLS " FROM orgs ORDER BY slug", "");
}

int sq_org_update(pat_store *s, pat_org *o)
{
    sqlite_store *st = sq_of(s);
    int64_t changed = 0, version = 0;
    int rc;

    if ((rc = sq_tx_enter(st)) < 0)
        return rc;
    if ((rc = sq_run(st, &changed, NULL,
                     "UPDATE orgs SET name = ?, updated_at = ?, version = version + 1 "
                     "WHERE id = ? AND version = ?",
                     "tiii", o->name, o->updated_at, o->id, o->version)) < 0)
        goto out;
    if (changed == 0) {
        rc = sq_one(st, sq_read_int64, &version, "SELECT version FROM orgs WHERE id = ?", "i",
                    o->id);
        rc = pat_store_edit_refused(rc, "organization");
        goto out;
    }
    o->version++;
out:
    return sq_tx_leave(st, rc);
}

int sq_member_add(pat_store *s, const pat_membership *m)
{
    sqlite_store *st = sq_of(s);
    int64_t found = 0;
    int rc;

    if ((rc = sq_tx_enter(st)) < 0)
        return rc;
    if ((rc = sq_one(st, sq_read_int64, &found,
                     "SELECT (SELECT COUNT(*) FROM orgs WHERE id = ?) + "
                     "(SELECT COUNT(*) FROM users WHERE id = ?)",
                     "ii", m->org_id, m->user_id)) < 0)
        goto out;
    if (found != 2) {
        rc = pat_error_set(PAT_ENOTFOUND, NULL, "no such organization or person");
        goto out;
    }
    if ((rc = sq_run(st, NULL, NULL,
                     "INSERT INTO org_members (org_id, user_id, role, can_manage_tokens, "
                     "created_at, updated_at) VALUES (?,?,?,?,?,?)",
                     "iitiii", m->org_id, m->user_id, pat_org_role_name(m->role),
                     (int64_t)m->can_manage_tokens, m->created_at, m->updated_at)) == PAT_EEXISTS)
        rc = pat_error_set(PAT_EEXISTS, "user_id", "already a member of the organization");
    if (rc == PAT_OK)
        rc = sq_change_append(st, "user", m->user_id, NULL);
out:
    return sq_tx_leave(st, rc);
}

/* Appends the person's change when changed, else says there was no row. */
static int member_changed(sqlite_store *st, int rc, int64_t changed, int64_t user_id)
{
    if (rc == PAT_OK && changed == 0)
        return pat_error_set(PAT_ENOTFOUND, NULL, "not a member of the organization");
    if (rc == PAT_OK)
        rc = sq_change_append(st, "user", user_id, NULL);
    return rc;
}

int sq_member_update(pat_store *s, const pat_membership *m)
{
    sqlite_store *st = sq_of(s);
    int64_t changed = 0;
    int rc;

    if ((rc = sq_tx_enter(st)) < 0)
        return rc;
    rc = sq_run(st, &changed, NULL,
                "UPDATE org_members SET role = ?, can_manage_tokens = ?, updated_at = ? "
                "WHERE org_id = ? AND user_id = ?",
                "tiiii", pat_org_role_name(m->role), (int64_t)m->can_manage_tokens,
                m->updated_at, m->org_id, m->user_id);
    return sq_tx_leave(st, member_changed(st, rc, changed, m->user_id));
}

int sq_member_remove(pat_store *s, int64_t org_id, int64_t user_id)
{
    sqlite_store *st = sq_of(s);
    int64_t changed = 0;
    int rc;

    if ((rc = sq_tx_enter(st)) < 0)
        return rc;
    rc = sq_run(st, &changed, NULL, "DELETE FROM org_members WHERE org_id = ? AND user_id = ?",
                "ii", org_id, user_id);
    return sq_tx_leave(st, member_changed(st, rc, changed, user_id));
}

int sq_member_get(pat_store *s, int64_t org_id, int64_t user_id, pat_membership *out)
{
    int rc = sq_one(sq_of(s), read_member, out,
                    MEMBER_SELECT "WHERE m.org_id = ? AND m.user_id = ?", "ii", org_id, user_id);

    return rc == PAT_ENOTFOUND
               ? pat_error_set(PAT_ENOTFOUND, NULL, "not a member of the organization")
               : rc;
}

int sq_member_list(pat_store *s, int64_t org_id, int64_t user_id, pat_membership **out, size_t *n)
{
    if (org_id)
        return sq_list(sq_of(s), read_member, sizeof(pat_membership), (void **)out, n,
                       MEMBER_SELECT "WHERE m.org_id = ? ORDER BY u.username", "i", org_id);
    return sq_list(sq_of(s), read_member, sizeof(pat_membership), (void **)out, n,
                   MEMBER_SELECT "WHERE m.user_id = ? ORDER BY o.slug", "i", user_id);
}

int sq_put_orgs(pat_store *s, const pat_org *o, size_t n)
{
    sqlite_store *st = sq_of(s);
    int rc;

    if ((rc = sq_tx_enter(st)) < 0)
        return rc;
    rc = sq_run(st, NULL, NULL, "DELETE FROM orgs", "");
    for (size_t i = 0; i < n && rc == PAT_OK; i++)
        rc = sq_run(st, NULL, NULL,
                    "INSERT INTO orgs (id, slug, name, created_at, updated_at, version) "
                    "VALUES (?,?,?,?,?,?)",
                    "ittiii", o[i].id, o[i].slug, o[i].name, o[i].created_at, o[i].updated_at,
                    o[i].version);
    return sq_tx_leave(st, rc);
}
