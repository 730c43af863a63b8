/* SQLite backend: signing keys of exchanged JWTs (sealed by the service). */
#include <string.h>

#include "store/sqlite/sqlite_int.h"
#include "util/error.h"

int sq_key_insert(pat_store *s, const pat_key_rec *k)
{
    sqlite_store *st = sq_of(s);
    int rc;

    if ((rc = sq_tx_enter(st)) < 0)
        return rc;
    if ((rc = sq_run(st, NULL, NULL,
                     "INSERT INTO signing_keys (kid, algorithm, private_enc, created_at, "
                     "activates_at) VALUES (?,?,?,?,?)",
                     "ttBii", k->kid, k->algorithm, k->sealed, k->sealed_len, k->created_at,
                     k->activates_at)) == PAT_OK)
        rc = sq_change_append(st, "key", 0, NULL);
    return sq_tx_leave(st, rc);
}

static int read_key(sqlite3_stmt *q, void *dst)
{
    pat_key_rec *k = dst;
    int n = sqlite3_column_bytes(q, 2);
    int rc;

    memset(k, 0, sizeof(*k));
    if ((rc = sq_text(q, 0, k->kid, sizeof(k->kid))) < 0 ||
        (rc = sq_text(q, 1, k->algorithm, sizeof(k->algorithm))) < 0)
        return rc;
    if (n < 0 || (size_t)n > sizeof(k->sealed))
        return pat_error_set(PAT_EIO, NULL, "a stored signing key does not fit");
    memcpy(k->sealed, sqlite3_column_blob(q, 2), (size_t)n);
    k->sealed_len = (size_t)n;
    k->created_at = sqlite3_column_int64(q, 3);
    k->activates_at = sqlite3_column_int64(q, 4);
    return PAT_OK;
}

int sq_key_list(pat_store *s, pat_key_rec **out, size_t *n)
{
    return sq_list(sq_of(s), read_key, sizeof(pat_key_rec), (void **)out, n,
                   "SELECT kid, algorithm, private_enc, created_at, activates_at "
                   "FROM signing_keys ORDER BY created_at, kid",
                   "");
}

int sq_key_delete(pat_store *s, const char *kid)
{
    sqlite_store *st = sq_of(s);
    int64_t gone = 0;
    int rc;

    if ((rc = sq_tx_enter(st)) < 0)
        return rc;
    if ((rc = sq_run(st, &gone, NULL, "DELETE FROM signing_keys WHERE kid = ?", "t", kid)) ==
            PAT_OK &&
        gone == 0)
        rc = pat_error_set(PAT_ENOTFOUND, NULL, "no such signing key");
    if (rc == PAT_OK)
        rc = sq_change_append(st, "key", 0, NULL);
    return sq_tx_leave(st, rc);
}
