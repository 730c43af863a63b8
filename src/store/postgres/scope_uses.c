/* PostgreSQL backend: the scopes tokens used. */
#include <string.h>

#include "store/postgres/pg_int.h"
#include "util/error.h"

static int read_use(const PGresult *res, int row, void *dst)
{
    pat_scope_use *u = dst;

    memset(u, 0, sizeof(*u));
    u->token_id = pg_int(res, row, 0);
    u->last_used_at = pg_int(res, row, 2);
    u->uses = pg_int(res, row, 3);
    return pg_text(res, row, 1, u->scope, sizeof(u->scope));
}

int pg_scope_uses_add(pat_store *s, const pat_scope_use *u, size_t n, bool *fresh)
{
    pg_store *st = pg_of(s);
    pg_conn *pc = NULL;
    int rc;

    if ((rc = pg_tx_enter(st, &pc)) < 0)
        return rc;
    for (size_t i = 0; i < n && rc == PAT_OK; i++) {
        if (fresh) {
            int64_t one = 0;
            rc = pg_one(st, pg_read_int64, &one,
                        "SELECT 1 FROM scope_uses WHERE token_id = $1 AND scope = $2", "it",
                        u[i].token_id, u[i].scope);
            fresh[i] = rc == PAT_ENOTFOUND;
            if (rc == PAT_ENOTFOUND)
                rc = PAT_OK;
            if (rc < 0)
                break;
        }
        rc = pg_run(st, NULL,
                    "INSERT INTO scope_uses (token_id, scope, last_used_at, uses) "
                    "VALUES ($1, $2, $3, $4) ON CONFLICT (token_id, scope) DO UPDATE SET "
                    "uses = scope_uses.uses + excluded.uses, "
                    "last_used_at = GREATEST(scope_uses.last_used_at, excluded.last_used_at)",
                    "itii", u[i].token_id, u[i].scope, u[i].last_used_at, u[i].uses);
    }
    return pg_tx_leave(pc, rc);
}

int pg_scope_uses_list(pat_store *s, int64_t user_id, int64_t token_id, pat_scope_use **out,
                       size_t *n)
{
    return pg_list(pg_of(s), read_use, sizeof(pat_scope_use), (void **)out, n,
                   "SELECT u.token_id, u.scope, u.last_used_at, u.uses FROM scope_uses u "
                   "JOIN tokens t ON t.id = u.token_id WHERE t.user_id = $1 "
                   "AND ($2 = 0 OR u.token_id = $2) ORDER BY u.token_id, u.scope",
                   "ii", user_id, token_id);
}

int pg_scope_uses_prune(pat_store *s)
{
    return pg_run(pg_of(s), NULL,
                  "DELETE FROM scope_uses u WHERE NOT EXISTS "
                  "(SELECT 1 FROM tokens t WHERE t.id = u.token_id)",
                  "");
}
