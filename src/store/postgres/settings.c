/* PostgreSQL backend: settings (the policy) and the changes feed. */
#include <string.h>

#include "store/postgres/pg_int.h"
#include "util/error.h"

typedef struct text_out {
    char *buf;
    size_t size;
} text_out;

static int read_text(const PGresult *res, int row, void *dst)
{
    text_out *o = dst;

    return pg_text(res, row, 0, o->buf, o->size);
}

int pg_setting_get(pat_store *s, const char *key, char *out, size_t outsz)
{
    text_out o = {out, outsz};
    int rc = pg_one(pg_of(s), read_text, &o, "SELECT value FROM settings WHERE key = $1", "t", key);

    return rc == PAT_ENOTFOUND ? pat_error_set(PAT_ENOTFOUND, NULL, "no such setting") : rc;
}

int pg_setting_set(pat_store *s, const char *key, const char *value)
{
    pg_store *st = pg_of(s);
    pg_conn *pc = NULL;
    int rc;

    if ((rc = pg_tx_enter(st, &pc)) < 0)
        return rc;
    if ((rc = pg_run(st, NULL,
                     "INSERT INTO settings (key, value) VALUES ($1, $2) "
                     "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                     "tt", key, value)) == PAT_OK)
        rc = pg_change_append(st, "policy", 0, NULL);
    return pg_tx_leave(pc, rc);
}

int pg_notify_once(pg_store *st, int64_t seq)
{
    pg_conn *pc = NULL;
    int rc;

    if ((rc = pg_conn_get(st, &pc)) < 0 || pc->notified || seq == 0)
        return rc;
    if ((rc = pg_run(st, NULL, "SELECT pg_notify('patd_changes', $1::text)", "i", seq)) == PAT_OK)
        pc->notified = true;
    return rc;
}

int pg_change_append(pg_store *st, const char *kind, int64_t entity_id, const uint8_t *hash)
{
    int64_t seq = 0;
    int rc = pg_one(st, pg_read_int64, &seq,
                    "INSERT INTO changes (at, kind, entity_id, hash) "
                    "VALUES (extract(epoch from now())::bigint, $1, $2, $3) RETURNING seq",
                    "tih", kind, entity_id, hash);

    return rc < 0 ? rc : pg_notify_once(st, seq);
}

int pg_changes_last(pat_store *s, int64_t *seq)
{
    return pg_one(pg_of(s), pg_read_int64, seq, "SELECT COALESCE(MAX(seq), 0) FROM changes", "");
}

static int read_change(const PGresult *res, int row, void *dst)
{
    pat_change *c = dst;
    const char *kind = PQgetvalue(res, row, 2);

    memset(c, 0, sizeof(*c));
    c->seq = pg_int(res, row, 0);
    c->at = pg_int(res, row, 1);
    if (strcmp(kind, "token") == 0)
        c->kind = PAT_CHANGE_TOKEN;
    else if (strcmp(kind, "user") == 0)
        c->kind = PAT_CHANGE_USER;
    else if (strcmp(kind, "key") == 0)
        c->kind = PAT_CHANGE_KEY;
    else
        c->kind = PAT_CHANGE_POLICY;
    c->entity_id = pg_int(res, row, 3);
    c->has_hash = !PQgetisnull(res, row, 4);
    pg_hash(res, row, 4, c->hash);
    return PAT_OK;
}

int pg_changes_since(pat_store *s, int64_t after, size_t limit, pat_change **out, size_t *n)
{
    return pg_list(pg_of(s), read_change, sizeof(pat_change), (void **)out, n,
                   "SELECT seq, at, kind, entity_id, hash FROM changes WHERE seq > $1 "
                   "ORDER BY seq LIMIT $2",
                   "ii", after, (int64_t)limit);
}

int pg_changes_prune(pat_store *s, int64_t before)
{
    /* Identity columns never go back, but the newest row stays anyway, as
     * the feed's high-water mark. */
    return pg_run(pg_of(s), NULL,
                  "DELETE FROM changes WHERE at < $1 AND seq < (SELECT MAX(seq) FROM changes)",
                  "i", before);
}
