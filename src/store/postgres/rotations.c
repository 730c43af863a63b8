/* PostgreSQL backend: rotations of regenerated tokens. */
#include <string.h>

#include "store/postgres/pg_int.h"
#include "util/error.h"

#define ROTATION_COLS                                                                              \
    "token_id, started_at, retire_when_unused, previous_uses, previous_at, previous_ip, "          \
    "previous_method, previous_path, previous_user_agent, current_at, current_ip, "                \
    "current_method, current_path, current_user_agent"

static int read_use(const PGresult *res, int row, int col, pat_last_use *u)
{
    int rc;

    u->at = pg_int(res, row, col);
    if ((rc = pg_text(res, row, col + 1, u->ip, sizeof(u->ip))) < 0 ||
        (rc = pg_text(res, row, col + 2, u->method, sizeof(u->method))) < 0 ||
        (rc = pg_text(res, row, col + 3, u->path, sizeof(u->path))) < 0)
        return rc;
    return pg_text(res, row, col + 4, u->user_agent, sizeof(u->user_agent));
}

static int read_rotation(const PGresult *res, int row, void *dst)
{
    pat_rotation_rec *r = dst;
    int rc;

    memset(r, 0, sizeof(*r));
    r->token_id = pg_int(res, row, 0);
    r->started_at = pg_int(res, row, 1);
    r->retire_when_unused = pg_int(res, row, 2);
    r->previous_uses = pg_int(res, row, 3);
    if ((rc = read_use(res, row, 4, &r->previous_last)) < 0)
        return rc;
    return read_use(res, row, 9, &r->current_first);
}

int pg_rotation_put(pat_store *s, const pat_rotation_rec *r)
{
    const pat_last_use *p = &r->previous_last, *c = &r->current_first;

    return pg_run(pg_of(s), NULL,
                  "INSERT INTO rotations (" ROTATION_COLS ") "
                  "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14) "
                  "ON CONFLICT (token_id) DO UPDATE SET started_at = excluded.started_at, "
                  "retire_when_unused = excluded.retire_when_unused, "
                  "previous_uses = excluded.previous_uses, previous_at = excluded.previous_at, "
                  "previous_ip = excluded.previous_ip, previous_method = excluded.previous_method, "
                  "previous_path = excluded.previous_path, "
                  "previous_user_agent = excluded.previous_user_agent, "
                  "current_at = excluded.current_at, current_ip = excluded.current_ip, "
                  "current_method = excluded.current_method, current_path = excluded.current_path, "
                  "current_user_agent = excluded.current_user_agent",
                  "iiiiittttitttt", r->token_id, r->started_at, r->retire_when_unused,
                  r->previous_uses, p->at, p->ip, p->method, p->path, p->user_agent, c->at,
                  c->ip, c->method, c->path, c->user_agent);
}

int pg_rotation_get(pat_store *s, int64_t token_id, pat_rotation_rec *out)
{
    return pg_one(pg_of(s), read_rotation, out,
                  "SELECT " ROTATION_COLS " FROM rotations WHERE token_id = $1", "i", token_id);
}

int pg_rotation_delete(pat_store *s, int64_t token_id)
{
    return pg_run(pg_of(s), NULL, "DELETE FROM rotations WHERE token_id = $1", "i", token_id);
}

int pg_rotation_list(pat_store *s, pat_rotation_rec **out, size_t *n)
{
    return pg_list(pg_of(s), read_rotation, sizeof(pat_rotation_rec), (void **)out, n,
                   "SELECT " ROTATION_COLS " FROM rotations ORDER BY token_id", "");
}

int pg_rotation_touch_many(pat_store *s, const pat_token_touch *touches, size_t n)
{
    pg_store *st = pg_of(s);
    pg_conn *pc = NULL;
    int rc;

    if ((rc = pg_tx_enter(st, &pc)) < 0)
        return rc;
    for (size_t i = 0; i < n && rc == PAT_OK; i++) {
        const pat_token_touch *t = &touches[i];
        if (t->token_id < 0)
            rc = pg_run(st, NULL,
                        "UPDATE rotations SET previous_uses = previous_uses + $2, "
                        "previous_ip = CASE WHEN $3 >= previous_at THEN $4 ELSE previous_ip END, "
                        "previous_method = CASE WHEN $3 >= previous_at THEN $5 "
                        "ELSE previous_method END, "
                        "previous_path = CASE WHEN $3 >= previous_at THEN $6 ELSE previous_path END, "
                        "previous_user_agent = CASE WHEN $3 >= previous_at THEN $7 "
                        "ELSE previous_user_agent END, "
                        "previous_at = GREATEST(previous_at, $3) WHERE token_id = $1",
                        "iiitttt", -t->token_id, t->uses, t->last.at, t->last.ip, t->last.method,
                        t->last.path, t->last.user_agent);
        else if (t->last.at > 0)
            rc = pg_run(st, NULL,
                        "UPDATE rotations SET current_at = $2, current_ip = $3, "
                        "current_method = $4, current_path = $5, current_user_agent = $6 "
                        "WHERE token_id = $1 AND (current_at = 0 OR current_at > $2)",
                        "iitttt", t->token_id, t->last.at, t->last.ip, t->last.method,
                        t->last.path, t->last.user_agent);
    }
    return pg_tx_leave(pc, rc);
}

int pg_rotations_prune(pat_store *s, int64_t now)
{
    return pg_run(pg_of(s), NULL,
                  "DELETE FROM rotations r WHERE NOT EXISTS (SELECT 1 FROM tokens t "
                  "WHERE t.id = r.token_id AND t.previous_valid_until > $1)",
                  "i", now);
}
