/* SQLite backend: the scopes tokens used. */
#include <string.h>

#include <sqlite3.h>

#include "store/sqlite/sqlite_int.h"
#include "util/error.h"

static int read_use(sqlite3_stmt *q, void *dst)
{
    pat_scope_use *u = dst;

    memset(u, 0, sizeof(*u));
    u->token_id = sqlite3_column_int64(q, 0);
    u->last_used_at = sqlite3_column_int64(q, 2);
    u->uses = sqlite3_column_int64(q, 3);
    return sq_text(q, 1, u->scope, sizeof(u->scope));
}

int sq_scope_uses_add(pat_store *s, const pat_scope_use *u, size_t n, bool *fresh)
{
    sqlite_store *st = sq_of(s);
    sqlite3_stmt *q = NULL, *seen = NULL;
    int rc;

    if ((rc = sq_tx_enter(st)) < 0)
        return rc;
    if (fresh && (rc = sq_prepare(st, &seen,
                                  "SELECT 1 FROM scope_uses WHERE token_id = ?1 AND scope = ?2")) <
                     0)
        goto out;
    if ((rc = sq_prepare(st, &q,
                         "INSERT INTO scope_uses (token_id, scope, last_used_at, uses) "
                         "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (token_id, scope) DO UPDATE SET "
                         "uses = uses + excluded.uses, "
                         "last_used_at = MAX(last_used_at, excluded.last_used_at)")) == PAT_OK) {
        for (size_t i = 0; i < n && rc == PAT_OK; i++) {
            int step;
            if (fresh) {
                sqlite3_reset(seen);
                sq_bind(seen, "it", u[i].token_id, u[i].scope);
                fresh[i] = sqlite3_step(seen) == SQLITE_DONE;
            }
            sqlite3_reset(q);
            sq_bind(q, "itii", u[i].token_id, u[i].scope, u[i].last_used_at, u[i].uses);
            if ((step = sqlite3_step(q)) != SQLITE_DONE)
                rc = sq_error(st->db, step, "scope uses");
        }
    }
out:
    sqlite3_finalize(seen);
    sqlite3_finalize(q);
    return sq_tx_leave(st, rc);
}

int sq_scope_uses_list(pat_store *s, int64_t user_id, int64_t token_id, pat_scope_use **out,
                       size_t *n)
{
    return sq_list(sq_of(s), read_use, sizeof(pat_scope_use), (void **)out, n,
                   "SELECT u.token_id, u.scope, u.last_used_at, u.uses FROM scope_uses u "
                   "JOIN tokens t ON t.id = u.token_id WHERE t.user_id = ?1 "
                   "AND (?2 = 0 OR u.token_id = ?2) ORDER BY u.token_id, u.scope",
                   "ii", user_id, token_id);
}

int sq_scope_uses_prune(pat_store *s)
{
    return sq_run(sq_of(s), NULL, NULL,
                  "DELETE FROM scope_uses WHERE token_id NOT IN (SELECT id FROM tokens)", "");
}
