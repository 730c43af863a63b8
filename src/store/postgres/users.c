/* PostgreSQL backend: people. */
#include <string.h>

#include "core/role.h"
#include "store/postgres/pg_int.h"
#include "util/error.h"

#define USER_COLS                                                                                  \
    "id, username, email, password_hash, role, disabled, can_manage_tokens, created_at, "          \
    "updated_at, version, notify_off"

static int read_user(const PGresult *res, int row, void *dst)
{
    pat_user *u = dst;
    char role[16];
    int rc;

    memset(u, 0, sizeof(*u));
    u->id = pg_int(res, row, 0);
    if ((rc = pg_text(res, row, 1, u->username, sizeof(u->username))) < 0 ||
        (rc = pg_text(res, row, 2, u->email, sizeof(u->email))) < 0 ||
        (rc = pg_text(res, row, 3, u->password_hash, sizeof(u->password_hash))) < 0 ||
        (rc = pg_text(res, row, 4, role, sizeof(role))) < 0 ||
        (rc = pat_role_parse(role, &u->role)) < 0)
        return rc;
    u->disabled = pg_bool(res, row, 5);
    u->can_manage_tokens = pg_bool(res, row, 6);
    u->created_at = pg_int(res, row, 7);
    u->updated_at = pg_int(res, row, 8);
    u->version = pg_int(res, row, 9);
    u->notify_off = (unsigned)pg_int(res, row, 10);
    return PAT_OK;
}

int pg_user_create(pat_store *s, pat_user *u)
{
    int64_t id = 0;
    int rc = pg_one(pg_of(s), pg_read_int64, &id,
                    "INSERT INTO users (username, email, password_hash, role, disabled, "
                    "can_manage_tokens, created_at, updated_at, version, notify_off) "
                    "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,1,$9) RETURNING id",
                    "ttttbbiii", u->username, u->email, u->password_hash, pat_role_name(u->role),
                    (int)u->disabled, (int)u->can_manage_tokens, u->created_at, u->updated_at,
                    (int64_t)u->notify_off);

    if (rc == PAT_OK) {
        u->id = id;
        u->version = 1;
    }
    return rc;
}

static int not_found(int rc)
{
    return rc == PAT_ENOTFOUND ? pat_error_set(PAT_ENOTFOUND, NULL, "no such user") : rc;
}

int pg_user_get(pat_store *s, int64_t id, pat_user *out)
{
    return not_found(pg_one(pg_of(s), read_user, out,
                            "SELECT " USER_COLS " FROM users WHERE id = $1", "i", id));
}

int pg_user_get_by_name(pat_store *s, const char *username, pat_user *out)
{
    return not_found(pg_one(pg_of(s), read_user, out,
                            "SELECT " USER_COLS " FROM users WHERE username = $1", "t", username));
}

int pg_user_count(pat_store *s, int64_t *out)
{
    return pg_one(pg_of(s), pg_read_int64, out, "SELECT COUNT(*) FROM users", "");
}

int pg_user_list(pat_store *s, pat_user **out, size_t *n)
{
    return pg_list(pg_of(s), read_user, sizeof(pat_user), (void **)out, n,
                   "SELECT " USER_COLS " FROM users ORDER BY id", "");
}

int pg_user_update(pat_store *s, pat_user *u)
{
    pg_store *st = pg_of(s);
    pg_conn *pc = NULL;
    int64_t changed = 0, version = 0;
    int rc;

    /* Writers take turns (pg_tx_enter), so the guard below cannot be
     * raced by another instance demoting the other superuser. */
    if ((rc = pg_tx_enter(st, &pc)) < 0)
        return rc;
    if ((rc = pg_run(st, &changed,
                     "UPDATE users SET email = $1, password_hash = $2, role = $3, disabled = $4, "
                     "can_manage_tokens = $5, updated_at = $6, notify_off = $9, "
                     "version = version + 1 "
                     "WHERE id = $7 AND version = $8 AND (($3 = 'superuser' AND NOT $4) OR "
                     "EXISTS (SELECT 1 FROM users o WHERE o.id <> $7 AND o.role = 'superuser' "
                     "AND NOT o.disabled))",
                     "tttbbiiii", u->email, u->password_hash, pat_role_name(u->role),
                     (int)u->disabled, (int)u->can_manage_tokens, u->updated_at, u->id,
                     u->version, (int64_t)u->notify_off)) < 0)
        goto out;
    if (changed == 0) {
        rc = pg_one(st, pg_read_int64, &version, "SELECT version FROM users WHERE id = $1", "i",
                    u->id);
        if (rc == PAT_OK && version == u->version)
            rc = pat_error_set(PAT_ECONFLICT, "superuser",
                               "this is the last enabled superuser; make another one first");
        else
            rc = pat_store_edit_refused(rc, "person");
        goto out;
    }
    if ((rc = pg_change_append(st, "user", u->id, NULL)) == PAT_OK)
        u->version++;
out:
    return pg_tx_leave(pc, rc);
}
