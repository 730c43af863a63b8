/* PostgreSQL backend: signing keys of exchanged JWTs (sealed by the
 * service). */
#include <string.h>

#include "store/postgres/pg_int.h"
#include "util/error.h"

int pg_key_insert(pat_store *s, const pat_key_rec *k)
{
    pg_store *st = pg_of(s);
    pg_conn *pc = NULL;
    int rc;

    if ((rc = pg_tx_enter(st, &pc)) < 0)
        return rc;
    if ((rc = pg_run(st, NULL,
                     "INSERT INTO signing_keys (kid, algorithm, private_enc, created_at, "
                     "activates_at) VALUES ($1,$2,$3,$4,$5)",
                     "ttBii", k->kid, k->algorithm, k->sealed, k->sealed_len, k->created_at,
                     k->activates_at)) == PAT_OK)
        rc = pg_change_append(st, "key", 0, NULL);
    return pg_tx_leave(pc, rc);
}

static int read_key(const PGresult *res, int row, void *dst)
{
    pat_key_rec *k = dst;
    int rc;

    memset(k, 0, sizeof(*k));
    if ((rc = pg_text(res, row, 0, k->kid, sizeof(k->kid))) < 0 ||
        (rc = pg_text(res, row, 1, k->algorithm, sizeof(k->algorithm))) < 0 ||
        (rc = pg_blob(res, row, 2, k->sealed, sizeof(k->sealed), &k->sealed_len)) < 0)
        return rc;
    k->created_at = pg_int(res, row, 3);
    k->activates_at = pg_int(res, row, 4);
    return PAT_OK;
}

int pg_key_list(pat_store *s, pat_key_rec **out, size_t *n)
{
    return pg_list(pg_of(s), read_key, sizeof(pat_key_rec), (void **)out, n,
                   "SELECT kid, algorithm, private_enc, created_at, activates_at "
                   "FROM signing_keys ORDER BY created_at, kid",
                   "");
}

int pg_key_delete(pat_store *s, const char *kid)
{
    pg_store *st = pg_of(s);
    pg_conn *pc = NULL;
    int64_t gone = 0;
    int rc;

    if ((rc = pg_tx_enter(st, &pc)) < 0)
        return rc;
    if ((rc = pg_run(st, &gone, "DELETE FROM signing_keys WHERE kid = $1", "t", kid)) ==
            PAT_OK &&
        gone == 0)
        rc = pat_error_set(PAT_ENOTFOUND, NULL, "no such signing key");
    if (rc == PAT_OK)
        rc = pg_change_append(st, "key", 0, NULL);
    return pg_tx_leave(pc, rc);
}
