/* SQLite backend: the outbox of emails. */
#include <string.h>

#include "store/sqlite/sqlite_int.h"
#include "util/error.h"

#define OUTBOX_COLS                                                                                \
    "id, created_at, COALESCE(user_id, 0), recipient, subject, body, message_id, attempts, "        \
    "next_try_at, COALESCE(sent_at, 0), status, last_error"

static int read_mail(sqlite3_stmt *q, void *dst)
{
    pat_outbox_rec *m = dst;
    char status[16];
    int rc;

    memset(m, 0, sizeof(*m));
    m->id = sqlite3_column_int64(q, 0);
    m->created_at = sqlite3_column_int64(q, 1);
    m->user_id = sqlite3_column_int64(q, 2);
    if ((rc = sq_text(q, 3, m->recipient, sizeof(m->recipient))) < 0 ||
        (rc = sq_text(q, 4, m->subject, sizeof(m->subject))) < 0 ||
        (rc = sq_text(q, 5, m->body, sizeof(m->body))) < 0 ||
        (rc = sq_text(q, 6, m->message_id, sizeof(m->message_id))) < 0 ||
        (rc = sq_text(q, 10, status, sizeof(status))) < 0 ||
        (rc = sq_text(q, 11, m->last_error, sizeof(m->last_error))) < 0)
        return rc;
    m->attempts = sqlite3_column_int(q, 7);
    m->next_try_at = sqlite3_column_int64(q, 8);
    m->sent_at = sqlite3_column_int64(q, 9);
    m->status = pat_mail_status_parse(status);
    return PAT_OK;
}

int sq_outbox_add(pat_store *s, pat_outbox_rec *m)
{
    return sq_run(sq_of(s), NULL, &m->id,
                  "INSERT INTO outbox (created_at, user_id, recipient, subject, body, message_id, "
                  "attempts, next_try_at, status) VALUES (?,?,?,?,?,?,0,?,'pending')",
                  "intttti", m->created_at, m->user_id, m->recipient, m->subject, m->body,
                  m->message_id, m->next_try_at);
}

int sq_outbox_claim(pat_store *s, int64_t now, int64_t lease_until, size_t limit,
                    pat_outbox_rec **out, size_t *n)
{
    sqlite_store *st = sq_of(s);
    int rc;

    if ((rc = sq_tx_enter(st)) < 0)
        return rc;
    rc = sq_list(st, read_mail, sizeof(pat_outbox_rec), (void **)out, n,
                 "UPDATE outbox SET next_try_at = ?2 WHERE id IN (SELECT id FROM outbox "
                 "WHERE status = 'pending' AND next_try_at <= ?1 ORDER BY id LIMIT ?3) "
                 "RETURNING " OUTBOX_COLS,
                 "iii", now, lease_until, (int64_t)limit);
    return sq_tx_leave(st, rc);
}

int sq_outbox_mark(pat_store *s, int64_t id, pat_mail_status status, int attempts,
                   int64_t next_try_at, int64_t sent_at, const char *last_error)
{
    return sq_run(sq_of(s), NULL, NULL,
                  "UPDATE outbox SET status = ?, attempts = ?, next_try_at = ?, sent_at = ?, "
                  "last_error = ? WHERE id = ?",
                  "tiinti", pat_mail_status_name(status), (int64_t)attempts, next_try_at, sent_at,
                  last_error, id);
}

int sq_outbox_retry_all(pat_store *s, int64_t now)
{
    return sq_run(sq_of(s), NULL, NULL,
                  "UPDATE outbox SET next_try_at = ? WHERE status = 'pending'", "i", now);
}

static int read_counts(sqlite3_stmt *q, void *dst)
{
    pat_outbox_counts *c = dst;

    c->pending = sqlite3_column_int64(q, 0);
    c->sent = sqlite3_column_int64(q, 1);
    c->failed = sqlite3_column_int64(q, 2);
    c->oldest_pending_at = sqlite3_column_int64(q, 3);
    return PAT_OK;
}

int sq_outbox_counts(pat_store *s, pat_outbox_counts *out)
{
    return sq_one(sq_of(s), read_counts, out,
                  "SELECT COALESCE(SUM(status = 'pending'), 0), COALESCE(SUM(status = 'sent'), 0), "
                  "COALESCE(SUM(status = 'failed'), 0), "
                  "COALESCE(MIN(CASE WHEN status = 'pending' THEN created_at END), 0) FROM outbox",
                  "");
}

int sq_outbox_list(pat_store *s, size_t limit, pat_outbox_rec **out, size_t *n)
{
    return sq_list(sq_of(s), read_mail, sizeof(pat_outbox_rec), (void **)out, n,
                   "SELECT id, created_at, COALESCE(user_id, 0), recipient, subject, '', "
                   "message_id, attempts, next_try_at, COALESCE(sent_at, 0), status, last_error "
                   "FROM outbox ORDER BY id DESC LIMIT ?",
                   "i", (int64_t)limit);
}
