/* PostgreSQL backend: the clients each token was used from. */
#include <string.h>

#include "store/postgres/pg_int.h"
#include "util/error.h"

#define CLIENT_COLS                                                                                \
    "token_id, network, product, ip, user_agent, first_seen, last_seen, alerted_at"

static int read_client(const PGresult *res, int row, void *dst)
{
    pat_token_client *c = dst;
    int rc;

    memset(c, 0, sizeof(*c));
    c->token_id = pg_int(res, row, 0);
    if ((rc = pg_text(res, row, 1, c->network, sizeof(c->network))) < 0 ||
        (rc = pg_text(res, row, 2, c->product, sizeof(c->product))) < 0 ||
        (rc = pg_text(res, row, 3, c->ip, sizeof(c->ip))) < 0 ||
        (rc = pg_text(res, row, 4, c->user_agent, sizeof(c->user_agent))) < 0)
        return rc;
    c->first_seen = pg_int(res, row, 5);
    c->last_seen = pg_int(res, row, 6);
    c->alerted_at = pg_int(res, row, 7);
    return PAT_OK;
}

/* Columns: count, earliest first sighting, latest alert, network known,
 * product known (as 0/1). */
static int read_history(const PGresult *res, int row, void *dst)
{
    int64_t *v = dst;

    for (int i = 0; i < 5; i++)
        v[i] = pg_int(res, row, i);
    return PAT_OK;
}

static int seen_one(pg_store *st, const pat_token_client *c, pat_client_history *before)
{
    int64_t h[5] = {0, 0, 0, 0, 0};
    int rc;

    if (before && (rc = pg_one(st, read_history, h,
                     "SELECT COUNT(*), COALESCE(MIN(first_seen), 0), COALESCE(MAX(alerted_at), 0), "
                     "COALESCE(bool_or(network = $2), false)::int, "
                     "COALESCE(bool_or(product = $3), false)::int "
                     "FROM token_clients WHERE token_id = $1",
                     "itt", c->token_id, c->network, c->product)) < 0)
        goto out;
    if ((rc = pg_run(st, NULL,
                     "INSERT INTO token_clients (" CLIENT_COLS ") VALUES ($1,$2,$3,$4,$5,$6,$6,0) "
                     "ON CONFLICT (token_id, network, product) DO UPDATE SET "
                     "ip = CASE WHEN excluded.last_seen >= token_clients.last_seen "
                     "THEN excluded.ip ELSE token_clients.ip END, "
                     "user_agent = CASE WHEN excluded.last_seen >= token_clients.last_seen "
                     "THEN excluded.user_agent ELSE token_clients.user_agent END, "
                     "last_seen = GREATEST(token_clients.last_seen, excluded.last_seen)",
                     "itttti", c->token_id, c->network, c->product, c->ip, c->user_agent,
                     c->last_seen)) < 0)
        goto out;
    if (!before)
        goto out;
    if (h[0] >= PAT_CLIENTS_KEPT &&
        (rc = pg_run(st, NULL,
                     "DELETE FROM token_clients WHERE token_id = $1 AND (network, product) NOT IN "
                     "(SELECT network, product FROM token_clients WHERE token_id = $1 "
                     "ORDER BY last_seen DESC, first_seen DESC LIMIT $2)",
                     "ii", c->token_id, (int64_t)PAT_CLIENTS_KEPT)) < 0)
        goto out;
    before->first_seen = h[1];
    before->last_alert_at = h[2];
    before->network_known = h[3] != 0;
    before->product_known = h[4] != 0;
out:
    return rc;
}

int pg_clients_seen(pat_store *s, const pat_token_client *c, size_t n, pat_client_history *before)
{
    pg_store *st = pg_of(s);
    pg_conn *pc = NULL;
    int rc;

    if ((rc = pg_tx_enter(st, &pc)) < 0)
        return rc;
    for (size_t i = 0; i < n && rc == PAT_OK; i++)
        rc = seen_one(st, &c[i], before ? &before[i] : NULL);
    return pg_tx_leave(pc, rc);
}

int pg_client_alerted(pat_store *s, int64_t token_id, const char *network, const char *product,
                      int64_t at)
{
    return pg_run(pg_of(s), NULL,
                  "UPDATE token_clients SET alerted_at = $4 WHERE token_id = $1 AND network = $2 "
                  "AND product = $3",
                  "itti", token_id, network, product, at);
}

int pg_client_list(pat_store *s, int64_t token_id, size_t limit, pat_token_client **out,
                   size_t *n)
{
    return pg_list(pg_of(s), read_client, sizeof(pat_token_client), (void **)out, n,
                   "SELECT " CLIENT_COLS " FROM token_clients WHERE token_id = $1 "
                   "ORDER BY last_seen DESC, first_seen DESC LIMIT $2",
                   "ii", token_id, (int64_t)limit);
}

int pg_clients_prune(pat_store *s)
{
    return pg_run(pg_of(s), NULL,
                  "DELETE FROM token_clients c WHERE NOT EXISTS "
                  "(SELECT 1 FROM tokens t WHERE t.id = c.token_id)",
                  "");
}
