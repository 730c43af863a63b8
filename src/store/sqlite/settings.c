/* SQLite backend: settings (the policy) and the changes feed. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "store/sqlite/sqlite_int.h"
#include "util/error.h"

typedef struct text_out {
    char *buf;
    size_t size;
} text_out;

static int read_text(sqlite3_stmt *q, void *dst)
{
    text_out *o = dst;

    return sq_text(q, 0, o->buf, o->size);
}

int sq_setting_get(pat_store *s, const char *key, char *out, size_t outsz)
{
    text_out o = {out, outsz};
    int rc = sq_one(sq_of(s), read_text, &o, "SELECT value FROM settings WHERE key = ?", "t", key);

    return rc == PAT_ENOTFOUND ? pat_error_set(PAT_ENOTFOUND, NULL, "no such setting") : rc;
}

int sq_setting_set(pat_store *s, const char *key, const char *value)
{
    sqlite_store *st = sq_of(s);
    int rc;

    if ((rc = sq_tx_enter(st)) < 0)
        return rc;
    if ((rc = sq_run(st, NULL, NULL,
                     "INSERT INTO settings (key, value) VALUES (?, ?) "
                     "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                     "tt", key, value)) == PAT_OK)
        rc = sq_change_append(st, "policy", 0, NULL);
    return sq_tx_leave(st, rc);
}

int sq_change_append(sqlite_store *st, const char *kind, int64_t entity_id, const uint8_t *hash)
{
    return sq_run(st, NULL, NULL,
                  "INSERT INTO changes (at, kind, entity_id, hash) "
                  "VALUES (strftime('%s','now'), ?, ?, ?)",
                  "tih", kind, entity_id, hash);
}

int sq_changes_last(pat_store *s, int64_t *seq)
{
    return sq_one(sq_of(s), sq_read_int64, seq, "SELECT COALESCE(MAX(seq), 0) FROM changes", "");
}

static int read_change(sqlite3_stmt *q, void *dst)
{
    pat_change *c = dst;
    const unsigned char *kind = sqlite3_column_text(q, 2);

    memset(c, 0, sizeof(*c));
    c->seq = sqlite3_column_int64(q, 0);
    c->at = sqlite3_column_int64(q, 1);
    if (kind && strcmp((const char *)kind, "token") == 0)
        c->kind = PAT_CHANGE_TOKEN;
    else if (kind && strcmp((const char *)kind, "user") == 0)
        c->kind = PAT_CHANGE_USER;
    else if (kind && strcmp((const char *)kind, "key") == 0)
        c->kind = PAT_CHANGE_KEY;
    else
        c->kind = PAT_CHANGE_POLICY;
    c->entity_id = sqlite3_column_int64(q, 3);
    c->has_hash = sqlite3_column_type(q, 4) == SQLITE_BLOB;
    sq_hash(q, 4, c->hash);
    return PAT_OK;
}

int sq_changes_since(pat_store *s, int64_t after, size_t limit, pat_change **out, size_t *n)
{
    return sq_list(sq_of(s), read_change, sizeof(pat_change), (void **)out, n,
                   "SELECT seq, at, kind, entity_id, hash FROM changes WHERE seq > ? "
                   "ORDER BY seq LIMIT ?",
                   "ii", after, (int64_t)limit);
}

int sq_changes_prune(pat_store *s, int64_t before)
{
    /* AUTOINCREMENT keeps numbers rising even once the table is empty; the
     * newest row stays anyway, as the feed's high-water mark. */
    return sq_run(sq_of(s), NULL, NULL,
                  "DELETE FROM changes WHERE at < ? AND seq < (SELECT MAX(seq) FROM changes)", "i",
                  before);
}

int sq_changes_wait(pat_store *s, int timeout_ms)
{
    struct timespec ts = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L};

    /* SQLite tells no one of a commit: other processes' changes are seen
     * when the caller reads the feed after this wait. */
    (void)s;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
    return PAT_OK;
}
