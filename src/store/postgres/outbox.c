/* PostgreSQL backend: the outbox of emails. Claims use FOR UPDATE SKIP
 * LOCKED, so each message is claimed by one instance's sender. */
#include <string.h>

#include "store/postgres/pg_int.h"
#include "util/error.h"

#define OUTBOX_COLS                                                                                \
    "id, created_at, COALESCE(user_id, 0), recipient, subject, body, message_id, attempts, "        \
    "next_try_at, COALESCE(sent_at, 0), status, last_error"

static int read_mail(const PGresult *res, int row, void *dst)
{
    pat_outbox_rec *m = dst;
    const char *status = PQgetvalue(res, row, 10);
    int rc;

    memset(m, 0, sizeof(*m));
    m->id = pg_int(res, row, 0);
    m->created_at = pg_int(res, row, 1);
    m->user_id = pg_int(res, row, 2);
    if ((rc = pg_text(res, row, 3, m->recipient, sizeof(m->recipient))) < 0 ||
        (rc = pg_text(res, row, 4, m->subject, sizeof(m->subject))) < 0 ||
        (rc = pg_text(res, row, 5, m->body, sizeof(m->body))) < 0 ||
        (rc = pg_text(res, row, 6, m->message_id, sizeof(m->message_id))) < 0 ||
        (rc = pg_text(res, row, 11, m->last_error, sizeof(m->last_error))) < 0)
        return rc;
    m->attempts = (int)pg_int(res, row, 7);
    m->next_try_at = pg_int(res, row, 8);
    m->sent_at = pg_int(res, row, 9);
    m->status = pat_mail_status_parse(status);
    return PAT_OK;
}

int pg_outbox_add(pat_store *s, pat_outbox_rec *m)
{
    return pg_one(pg_of(s), pg_read_int64, &m->id,
                  "INSERT INTO outbox (created_at, user_id, recipient, subject, body, message_id, "
                  "attempts, next_try_at, status) VALUES ($1,$2,$3,$4,$5,$6,0,$7,'pending') "
                  "RETURNING id",
                  "intttti", m->created_at, m->user_id, m->recipient, m->subject, m->body,
                  m->message_id, m->next_try_at);
}

int pg_outbox_claim(pat_store *s, int64_t now, int64_t lease_until, size_t limit,
                    pat_outbox_rec **out, size_t *n)
{
    return pg_list(pg_of(s), read_mail, sizeof(pat_outbox_rec), (void **)out, n,
                   "UPDATE outbox SET next_try_at = $2 WHERE id IN (SELECT id FROM outbox "
                   "WHERE status = 'pending' AND next_try_at <= $1 ORDER BY id LIMIT $3 "
                   "FOR UPDATE SKIP LOCKED) RETURNING " OUTBOX_COLS,
                   "iii", now, lease_until, (int64_t)limit);
}

int pg_outbox_mark(pat_store *s, int64_t id, pat_mail_status status, int attempts,
                   int64_t next_try_at, int64_t sent_at, const char *last_error)
{
    return pg_run(pg_of(s), NULL,
                  "UPDATE outbox SET status = $1, attempts = $2, next_try_at = $3, sent_at = $4, "
                  "last_error = $5 WHERE id = $6",
                  "tiinti", pat_mail_status_name(status), (int64_t)attempts, next_try_at, sent_at,
                  last_error, id);
}

int pg_outbox_retry_all(pat_store *s, int64_t now)
{
    return pg_run(pg_of(s), NULL, "UPDATE outbox SET next_try_at = $1 WHERE status = 'pending'",
                  "i", now);
}

static int read_counts(const PGresult *res, int row, void *dst)
{
    pat_outbox_counts *c = dst;

    c->pending = pg_int(res, row, 0);
    c->sent = pg_int(res, row, 1);
    c->failed = pg_int(res, row, 2);
    c->oldest_pending_at = pg_int(res, row, 3);
    return PAT_OK;
}

int pg_outbox_counts(pat_store *s, pat_outbox_counts *out)
{
    return pg_one(pg_of(s), read_counts, out,
                  "SELECT COUNT(*) FILTER (WHERE status = 'pending'), "
                  "COUNT(*) FILTER (WHERE status = 'sent'), "
                  "COUNT(*) FILTER (WHERE status = 'failed'), "
                  "COALESCE(MIN(created_at) FILTER (WHERE status = 'pending'), 0) FROM outbox",
                  "");
}

int pg_outbox_list(pat_store *s, size_t limit, pat_outbox_rec **out, size_t *n)
{
    return pg_list(pg_of(s), read_mail, sizeof(pat_outbox_rec), (void **)out, n,
                   "SELECT id, created_at, COALESCE(user_id, 0), recipient, subject, '', "
                   "message_id, attempts, next_try_at, COALESCE(sent_at, 0), status, last_error "
                   "FROM outbox ORDER BY id DESC LIMIT $1",
                   "i", (int64_t)limit);
}
