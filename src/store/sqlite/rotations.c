/* SQLite backend: rotations of regenerated tokens. */
#include <string.h>

#include <sqlite3.h>

#include "store/sqlite/sqlite_int.h"
#include "util/error.h"

#define ROTATION_COLS                                                                              \
    "token_id, started_at, retire_when_unused, previous_uses, previous_at, previous_ip, "          \
    "previous_method, previous_path, previous_user_agent, current_at, current_ip, "                \
    "current_method, current_path, current_user_agent"

static int read_use(sqlite3_stmt *q, int col, pat_last_use *u)
{
    int rc;

    u->at = sqlite3_column_int64(q, col);
    if ((rc = sq_text(q, col + 1, u->ip, sizeof(u->ip))) < 0 ||
        (rc = sq_text(q, col + 2, u->method, sizeof(u->method))) < 0 ||
        (rc = sq_text(q, col + 3, u->path, sizeof(u->path))) < 0)
        return rc;
    return sq_text(q, col + 4, u->user_agent, sizeof(u->user_agent));
}

static int read_rotation(sqlite3_stmt *q, void *dst)
{
    pat_rotation_rec *r = dst;
    int rc;

    memset(r, 0, sizeof(*r));
    r->token_id = sqlite3_column_int64(q, 0);
    r->started_at = sqlite3_column_int64(q, 1);
    r->retire_when_unused = sqlite3_column_int64(q, 2);
    r->previous_uses = sqlite3_column_int64(q, 3);
    if ((rc = read_use(q, 4, &r->previous_last)) < 0)
        return rc;
    return read_use(q, 9, &r->current_first);
}

int sq_rotation_put(pat_store *s, const pat_rotation_rec *r)
{
    const pat_last_use *p = &r->previous_last, *c = &r->current_first;

    return sq_run(sq_of(s), NULL, NULL,
                  "INSERT OR REPLACE INTO rotations (" ROTATION_COLS ") "
                  "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                  "iiiiittttitttt", r->token_id, r->started_at, r->retire_when_unused,
                  r->previous_uses, p->at, p->ip, p->method, p->path, p->user_agent, c->at,
                  c->ip, c->method, c->path, c->user_agent);
}

int sq_rotation_get(pat_store *s, int64_t token_id, pat_rotation_rec *out)
{
    return sq_one(sq_of(s), read_rotation, out,
                  "SELECT " ROTATION_COLS " FROM rotations WHERE token_id = ?", "i", token_id);
}

int sq_rotation_delete(pat_store *s, int64_t token_id)
{
    return sq_run(sq_of(s), NULL, NULL, "DELETE FROM rotations WHERE token_id = ?", "i",
                  token_id);
}

int sq_rotation_list(pat_store *s, pat_rotation_rec **out, size_t *n)
{
    return sq_list(sq_of(s), read_rotation, sizeof(pat_rotation_rec), (void **)out, n,
                   "SELECT " ROTATION_COLS " FROM rotations ORDER BY token_id", "");
}

int sq_rotation_touch_many(pat_store *s, const pat_token_touch *touches, size_t n)
{
    static const char *const sql[2] = {
        /* The previous value: counted, its latest use kept. */
        "UPDATE rotations SET previous_uses = previous_uses + ?2, "
        "previous_ip = CASE WHEN ?3 >= previous_at THEN ?4 ELSE previous_ip END, "
        "previous_method = CASE WHEN ?3 >= previous_at THEN ?5 ELSE previous_method END, "
        "previous_path = CASE WHEN ?3 >= previous_at THEN ?6 ELSE previous_path END, "
        "previous_user_agent = CASE WHEN ?3 >= previous_at THEN ?7 ELSE previous_user_agent END, "
        "previous_at = MAX(previous_at, ?3) WHERE token_id = ?1",
        /* The current value: its first use only. */
        "UPDATE rotations SET current_at = ?3, current_ip = ?4, current_method = ?5, "
        "current_path = ?6, current_user_agent = ?7 "
        "WHERE token_id = ?1 AND ?2 >= 0 AND ?3 > 0 AND (current_at = 0 OR current_at > ?3)",
    };
    sqlite_store *st = sq_of(s);
    sqlite3_stmt *q[2] = {NULL, NULL};
    int rc;

    if ((rc = sq_tx_enter(st)) < 0)
        return rc;
    for (int k = 0; k < 2 && rc == PAT_OK; k++)
        rc = sq_prepare(st, &q[k], sql[k]);
    for (size_t i = 0; i < n && rc == PAT_OK; i++) {
        const pat_token_touch *t = &touches[i];
        sqlite3_stmt *stmt = q[t->token_id < 0 ? 0 : 1];
        int step;
        sqlite3_reset(stmt);
        sq_bind(stmt, "iiitttt", t->token_id < 0 ? -t->token_id : t->token_id, t->uses,
                t->last.at, t->last.ip, t->last.method, t->last.path, t->last.user_agent);
        if ((step = sqlite3_step(stmt)) != SQLITE_DONE)
            rc = sq_error(st->db, step, "touch rotation");
    }
    for (int k = 0; k < 2; k++)
        sqlite3_finalize(q[k]);
    return sq_tx_leave(st, rc);
}

int sq_rotations_prune(pat_store *s, int64_t now)
{
    return sq_run(sq_of(s), NULL, NULL,
                  "DELETE FROM rotations WHERE token_id NOT IN (SELECT id FROM tokens "
                  "WHERE previous_valid_until > ?)",
                  "i", now);
}
