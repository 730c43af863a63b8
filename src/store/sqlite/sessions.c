/* SQLite backend: console sessions, keyed by the hash of their id. */
#include <string.h>

#include "store/sqlite/sqlite_int.h"
#include "util/error.h"

int sq_read_session(sqlite3_stmt *q, void *dst)
{
    pat_session_rec *r = dst;
    int rc;

    memset(r, 0, sizeof(*r));
    sq_hash(q, 0, r->id_hash);
    r->user_id = sqlite3_column_int64(q, 1);
    sq_hash(q, 2, r->csrf_hash);
    r->created_at = sqlite3_column_int64(q, 3);
    r->expires_at = sqlite3_column_int64(q, 4);
    r->confirmed_until = sqlite3_column_int64(q, 5);
    if ((rc = sq_text(q, 6, r->ip, sizeof(r->ip))) < 0 ||
        (rc = sq_text(q, 7, r->user_agent, sizeof(r->user_agent))) < 0)
        return rc;
    return PAT_OK;
}

int sq_session_insert(pat_store *s, const pat_session_rec *r)
{
    return sq_run(sq_of(s), NULL, NULL,
                  "INSERT INTO sessions (id_hash, user_id, csrf_hash, created_at, expires_at, "
                  "confirmed_until, ip, user_agent) VALUES (?,?,?,?,?,?,?,?)",
                  "hihiiitt", r->id_hash, r->user_id, r->csrf_hash, r->created_at, r->expires_at,
                  r->confirmed_until, r->ip, r->user_agent);
}

int sq_session_get(pat_store *s, const uint8_t id_hash[PAT_HASH_LEN], pat_session_rec *out)
{
    int rc = sq_one(sq_of(s), sq_read_session, out,
                    "SELECT id_hash, user_id, csrf_hash, created_at, expires_at, confirmed_until, "
                    "ip, user_agent FROM sessions WHERE id_hash = ?",
                    "h", id_hash);

    return rc == PAT_ENOTFOUND ? pat_error_set(PAT_ENOTFOUND, NULL, "no such session") : rc;
}

int sq_session_delete(pat_store *s, const uint8_t id_hash[PAT_HASH_LEN])
{
    return sq_run(sq_of(s), NULL, NULL, "DELETE FROM sessions WHERE id_hash = ?", "h", id_hash);
}

int sq_session_set_confirmed(pat_store *s, const uint8_t id_hash[PAT_HASH_LEN],
                             int64_t confirmed_until)
{
    int64_t changed = 0;
    int rc = sq_run(sq_of(s), &changed, NULL,
                    "UPDATE sessions SET confirmed_until = ? WHERE id_hash = ?", "ih",
                    confirmed_until, id_hash);

    if (rc == PAT_OK && changed == 0)
        rc = pat_error_set(PAT_ENOTFOUND, NULL, "no such session");
    return rc;
}

int sq_session_prune(pat_store *s, int64_t now)
{
    return sq_run(sq_of(s), NULL, NULL, "DELETE FROM sessions WHERE expires_at <= ?", "i", now);
}

int sq_session_delete_user(pat_store *s, int64_t user_id, const uint8_t keep[PAT_HASH_LEN])
{
    static const uint8_t none[PAT_HASH_LEN];

    return sq_run(sq_of(s), NULL, NULL, "DELETE FROM sessions WHERE user_id = ? AND id_hash != ?",
                  "ih", user_id, keep ? keep : none);
}
