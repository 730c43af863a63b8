/* PostgreSQL backend: console sessions, keyed by the hash of their id.
 * In the database, so a console signed in on one instance works on every
 * other. */
#include <string.h>

#include "store/postgres/pg_int.h"
#include "util/error.h"

int pg_read_session(const PGresult *res, int row, void *dst)
{
    pat_session_rec *r = dst;
    int rc;

    memset(r, 0, sizeof(*r));
    pg_hash(res, row, 0, r->id_hash);
    r->user_id = pg_int(res, row, 1);
    pg_hash(res, row, 2, r->csrf_hash);
    r->created_at = pg_int(res, row, 3);
    r->expires_at = pg_int(res, row, 4);
    r->confirmed_until = pg_int(res, row, 5);
    if ((rc = pg_text(res, row, 6, r->ip, sizeof(r->ip))) < 0 ||
        (rc = pg_text(res, row, 7, r->user_agent, sizeof(r->user_agent))) < 0)
        return rc;
    return PAT_OK;
}

int pg_session_insert(pat_store *s, const pat_session_rec *r)
{
    return pg_run(pg_of(s), NULL,
                  "INSERT INTO sessions (id_hash, user_id, csrf_hash, created_at, expires_at, "
                  "confirmed_until, ip, user_agent) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
                  "hihiiitt", r->id_hash, r->user_id, r->csrf_hash, r->created_at, r->expires_at,
                  r->confirmed_until, r->ip, r->user_agent);
}

int pg_session_get(pat_store *s, const uint8_t id_hash[PAT_HASH_LEN], pat_session_rec *out)
{
    int rc = pg_one(pg_of(s), pg_read_session, out,
                    "SELECT id_hash, user_id, csrf_hash, created_at, expires_at, confirmed_until, "
                    "ip, user_agent FROM sessions WHERE id_hash = $1",
                    "h", id_hash);

    return rc == PAT_ENOTFOUND ? pat_error_set(PAT_ENOTFOUND, NULL, "no such session") : rc;
}

int pg_session_delete(pat_store *s, const uint8_t id_hash[PAT_HASH_LEN])
{
    return pg_run(pg_of(s), NULL, "DELETE FROM sessions WHERE id_hash = $1", "h", id_hash);
}

int pg_session_set_confirmed(pat_store *s, const uint8_t id_hash[PAT_HASH_LEN],
                             int64_t confirmed_until)
{
    int64_t changed = 0;
    int rc = pg_run(pg_of(s), &changed,
                    "UPDATE sessions SET confirmed_until = $1 WHERE id_hash = $2", "ih",
                    confirmed_until, id_hash);

    if (rc == PAT_OK && changed == 0)
        rc = pat_error_set(PAT_ENOTFOUND, NULL, "no such session");
    return rc;
}

int pg_session_prune(pat_store *s, int64_t now)
{
    return pg_run(pg_of(s), NULL, "DELETE FROM sessions WHERE expires_at <= $1", "i", now);
}

int pg_session_delete_user(pat_store *s, int64_t user_id, const uint8_t keep[PAT_HASH_LEN])
{
    static const uint8_t none[PAT_HASH_LEN];

    return pg_run(pg_of(s), NULL, "DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2",
                  "ih", user_id, keep ? keep : none);
}
