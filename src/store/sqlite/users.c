/* SQLite backend: people. */
#include <string.h>

#include "store/sqlite/sqlite_int.h"
#include "util/error.h"

#define USER_COLS                                                                                  \
    "id, username, email, password_hash, role, disabled, can_manage_tokens, created_at, "          \
    "updated_at, version, notify_off"

static int read_user(sqlite3_stmt *q, void *dst)
{
    pat_user *u = dst;
    char role[16];
    int rc;

    memset(u, 0, sizeof(*u));
    u->id = sqlite3_column_int64(q, 0);
    if ((rc = sq_text(q, 1, u->username, sizeof(u->username))) < 0 ||
        (rc = sq_text(q, 2, u->email, sizeof(u->email))) < 0 ||
        (rc = sq_text(q, 3, u->password_hash, sizeof(u->password_hash))) < 0 ||
        (rc = sq_text(q, 4, role, sizeof(role))) < 0 ||
        (rc = pat_role_parse(role, &u->role)) < 0)
        return rc;
    u->disabled = sqlite3_column_int(q, 5) != 0;
    u->can_manage_tokens = sqlite3_column_int(q, 6) != 0;
    u->created_at = sqlite3_column_int64(q, 7);
    u->updated_at = sqlite3_column_int64(q, 8);
    u->version = sqlite3_column_int64(q, 9);
    u->notify_off = (unsigned)sqlite3_column_int64(q, 10);
    return PAT_OK;
}

int sq_user_create(pat_store *s, pat_user *u)
{
    int64_t id = 0;
    int rc = sq_run(sq_of(s), NULL, &id,
                    "INSERT INTO users (username, email, password_hash, role, disabled, "
                    "can_manage_tokens, created_at, updated_at, version, notify_off) "
                    "VALUES (?,?,?,?,?,?,?,?,1,?)",
                    "ttttiiiii", u->username, u->email, u->password_hash, pat_role_name(u->role),
                    (int64_t)u->disabled, (int64_t)u->can_manage_tokens, u->created_at,
                    u->updated_at, (int64_t)u->notify_off);

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

int sq_user_get(pat_store *s, int64_t id, pat_user *out)
{
    return not_found(
        sq_one(sq_of(s), read_user, out, "SELECT " USER_COLS " FROM users WHERE id = ?", "i", id));
}

int sq_user_get_by_name(pat_store *s, const char *username, pat_user *out)
{
    return not_found(sq_one(sq_of(s), read_user, out,
                            "SELECT " USER_COLS " FROM users WHERE username = ?", "t", username));
}

int sq_user_count(pat_store *s, int64_t *out)
{
    return sq_one(sq_of(s), sq_read_int64, out, "SELECT COUNT(*) FROM users", "");
}

int sq_user_list(pat_store *s, pat_user **out, size_t *n)
{
    return sq_list(sq_of(s), read_user, sizeof(pat_user), (void **)out, n,
                   "SELECT " USER_COLS " FROM users ORDER BY id", "");
}

int sq_user_update(pat_store *s, pat_user *u)
{
    sqlite_store *st = sq_of(s);
    int64_t changed = 0, version = 0;
    int rc;

    if ((rc = sq_tx_enter(st)) < 0)
        return rc;
    /* The guard is part of the write: another enabled superuser must
     * remain unless this row stays one. */
    if ((rc = sq_run(st, &changed, NULL,
                     "UPDATE users SET email = ?1, password_hash = ?2, role = ?3, disabled = ?4, "
                     "can_manage_tokens = ?5, updated_at = ?6, notify_off = ?9, "
                     "version = version + 1 "
                     "WHERE id = ?7 AND version = ?8 AND ((?3 = 'superuser' AND ?4 = 0) OR "
                     "EXISTS (SELECT 1 FROM users o WHERE o.id != ?7 AND o.role = 'superuser' "
                     "AND o.disabled = 0))",
                     "tttiiiiii", u->email, u->password_hash, pat_role_name(u->role),
                     (int64_t)u->disabled, (int64_t)u->can_manage_tokens, u->updated_at, u->id,
                     u->version, (int64_t)u->notify_off)) < 0)
        goto out;
    if (changed == 0) {
        /* Which condition failed decides the answer. */
        rc = sq_one(st, sq_read_int64, &version, "SELECT version FROM users WHERE id = ?", "i",
                    u->id);
        if (rc == PAT_OK && version == u->version)
            rc = pat_error_set(PAT_ECONFLICT, "superuser",
                               "this is the last enabled superuser; make another one first");
        else
            rc = pat_store_edit_refused(rc, "person");
        goto out;
    }
    if ((rc = sq_change_append(st, "user", u->id, NULL)) == PAT_OK)
        u->version++;
out:
    return sq_tx_leave(st, rc);
}
