/* PostgreSQL backend: organizations and their members, as in the SQLite
 * backend's orgs.c. */
#include <string.h>

#include "store/postgres/pg_int.h"
#include "util/error.h"

#define ORG_COLS "id, slug, name, created_at, updated_at, version"
#define MEMBER_SELECT                                                                              \
    "SELECT m.org_id, m.user_id, m.role, m.can_manage_tokens, m.created_at, m.updated_at, "        \
    "o.slug, o.name, u.username FROM org_members m JOIN orgs o ON o.id = m.org_id "                \
    "JOIN users u ON u.id = m.user_id "

static int read_org(const PGresult *res, int row, void *dst)
{
    pat_org *o = dst;
    int rc;

    memset(o, 0, sizeof(*o));
    o->id = pg_int(res, row, 0);
    if ((rc = pg_text(res, row, 1, o->slug, sizeof(o->slug))) < 0 ||
        (rc = pg_text(res, row, 2, o->name, sizeof(o->name))) < 0)
        return rc;
    o->created_at = pg_int(res, row, 3);
    o->updated_at = pg_int(res, row, 4);
    o->version = pg_int(res, row, 5);
    return PAT_OK;
}

static int read_member(const PGresult *res, int row, void *dst)
{
    pat_membership *m = dst;
    char role[16];
    int rc;

    memset(m, 0, sizeof(*m));
    m->org_id = pg_int(res, row, 0);
    m->user_id = pg_int(res, row, 1);
    if ((rc = pg_text(res, row, 2, role, sizeof(role))) < 0 ||
        (rc = pat_org_role_parse(role, &m->role)) < 0)
        return rc;
    m->can_manage_tokens = pg_bool(res, row, 3);
    m->created_at = pg_int(res, row, 4);
    m->updated_at = pg_int(res, row, 5);
    if ((rc = pg_text(res, row, 6, m->slug, sizeof(m->slug))) < 0 ||
        (rc = pg_text(res, row, 7, m->org_name, sizeof(m->org_name))) < 0)
        return rc;
    return pg_text(res, row, 8, m->username, sizeof(m->username));
}

int pg_org_create(pat_store *s, pat_org *o)
{
    int64_t id = 0;
    int rc = pg_one(pg_of(s), pg_read_int64, &id,
                    "INSERT INTO orgs (slug, name, created_at, updated_at, version) "
                    "VALUES ($1,$2,$3,$4,1) RETURNING id",
                    "ttii", o->slug, o->name, o->created_at, o->updated_at);

    if (rc == PAT_OK) {
        o->id = id;
        o->version = 1;
    }
    return rc;
}

int pg_org_get(pat_store *s, const char *slug, pat_org *out)
{
    int rc = pg_one(pg_of(s), read_org, out, "SELECT " ORG_COLS " FROM orgs WHERE slug = $1", "t",
                    slug);

    return rc == PAT_ENOTFOUND ? pat_error_set(PAT_ENOTFOUND, NULL, "no such organization") : rc;
}

int pg_org_list(pat_store *s, pat_org **out, size_t *n)
{
    return pg_list(pg_of(s), read_org, sizeof(pat_org), (void **)out, n,
                   "SELECT " ORG_COLS " FROM orgs ORDER BY slug", "");
}

int pg_org_update(pat_store *s, pat_org *o)
{
    pg_store *st = pg_of(s);
    pg_conn *pc = NULL;
    int64_t changed = 0, version = 0;
    int rc;

    if ((rc = pg_tx_enter(st, &pc)) < 0)
        return rc;
    if ((rc = pg_run(st, &changed,
                     "UPDATE orgs SET name = $1, updated_at = $2, version = version + 1 "
                     "WHERE id = $3 AND version = $4",
                     "tiii", o->name, o->updated_at, o->id, o->version)) < 0)
        goto out;
    if (changed == 0) {
        rc = pg_one(st, pg_read_int64, &version, "SELECT version FROM orgs WHERE id = $1", "i",
                    o->id);
        rc = pat_store_edit_refused(rc, "organization");
        goto out;
    }
    o->version++;
out:
    return pg_tx_leave(pc, rc);
}

int pg_member_add(pat_store *s, const pat_membership *m)
{
    pg_store *st = pg_of(s);
    pg_conn *pc = NULL;
    int64_t found = 0;
    int rc;

    if ((rc = pg_tx_enter(st, &pc)) < 0)
        return rc;
    if ((rc = pg_one(st, pg_read_int64, &found,
                     "SELECT (SELECT COUNT(*) FROM orgs WHERE id = $1) + "
                     "(SELECT COUNT(*) FROM users WHERE id = $2)",
                     "ii", m->org_id, m->user_id)) < 0)
        goto out;
    if (found != 2) {
        rc = pat_error_set(PAT_ENOTFOUND, NULL, "no such organization or person");
        goto out;
    }
    if ((rc = pg_run(st, NULL,
                     "INSERT INTO org_members (org_id, user_id, role, can_manage_tokens, "
                     "created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6)",
                     "iitbii", m->org_id, m->user_id, pat_org_role_name(m->role),
                     (int)m->can_manage_tokens, m->created_at, m->updated_at)) == PAT_EEXISTS)
        rc = pat_error_set(PAT_EEXISTS, "user_id", "already a member of the organization");
    if (rc == PAT_OK)
        rc = pg_change_append(st, "user", m->user_id, NULL);
out:
    return pg_tx_leave(pc, rc);
}

/* Appends the person's change when changed, else says there was no row. */
static int member_changed(pg_store *st, int rc, int64_t changed, int64_t user_id)
{
    if (rc == PAT_OK && changed == 0)
        return pat_error_set(PAT_ENOTFOUND, NULL, "not a member of the organization");
    if (rc == PAT_OK)
        rc = pg_change_append(st, "user", user_id, NULL);
    return rc;
}

int pg_member_update(pat_store *s, const pat_membership *m)
{
    pg_store *st = pg_of(s);
    pg_conn *pc = NULL;
    int64_t changed = 0;
    int rc;

    if ((rc = pg_tx_enter(st, &pc)) < 0)
        return rc;
    rc = pg_run(st, &changed,
                "UPDATE org_members SET role = $1, can_manage_tokens = $2, updated_at = $3 "
                "WHERE org_id = $4 AND user_id = $5",
                "tbiii", pat_org_role_name(m->role), (int)m->can_manage_tokens, m->updated_at,
                m->org_id, m->user_id);
    return pg_tx_leave(pc, member_changed(st, rc, changed, m->user_id));
}

int pg_member_remove(pat_store *s, int64_t org_id, int64_t user_id)
{
    pg_store *st = pg_of(s);
    pg_conn *pc = NULL;
    int64_t changed = 0;
    int rc;

    if ((rc = pg_tx_enter(st, &pc)) < 0)
        return rc;
    rc = pg_run(st, &changed, "DELETE FROM org_members WHERE org_id = $1 AND user_id = $2", "ii",
                org_id, user_id);
    return pg_tx_leave(pc, member_changed(st, rc, changed, user_id));
}

int pg_member_get(pat_store *s, int64_t org_id, int64_t user_id, pat_membership *out)
{
    int rc = pg_one(pg_of(s), read_member, out,
                    MEMBER_SELECT "WHERE m.org_id = $1 AND m.user_id = $2", "ii", org_id, user_id);

    return rc == PAT_ENOTFOUND
               ? pat_error_set(PAT_ENOTFOUND, NULL, "not a member of the organization")
               : rc;
}

int pg_member_list(pat_store *s, int64_t org_id, int64_t user_id, pat_membership **out, size_t *n)
{
    if (org_id)
        return pg_list(pg_of(s), read_member, sizeof(pat_membership), (void **)out, n,
                       MEMBER_SELECT "WHERE m.org_id = $1 ORDER BY u.username", "i", org_id);
    return pg_list(pg_of(s), read_member, sizeof(pat_membership), (void **)out, n,
                   MEMBER_SELECT "WHERE m.user_id = $1 ORDER BY o.slug", "i", user_id);
}
