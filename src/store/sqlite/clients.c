/* SQLite backend: the clients each token was used from. */
#include <string.h>

#include "store/sqlite/sqlite_int.h"
#include "util/error.h"

#define CLIENT_COLS                                                                                \
    "token_id, network, product, ip, user_agent, first_seen, last_seen, alerted_at"

static int read_client(sqlite3_stmt *q, void *dst)
{
    pat_token_client *c = dst;
    int rc;

    memset(c, 0, sizeof(*c));
    c->token_id = sqlite3_column_int64(q, 0);
    if ((rc = sq_text(q, 1, c->network, sizeof(c->network))) < 0 ||
        (rc = sq_text(q, 2, c->product, sizeof(c->product))) < 0 ||
        (rc = sq_text(q, 3, c->ip, sizeof(c->ip))) < 0 ||
        (rc = sq_text(q, 4, c->user_agent, sizeof(c->user_agent))) < 0)
        return rc;
    c->first_seen = sqlite3_column_int64(q, 5);
    c->last_seen = sqlite3_column_int64(q, 6);
    c->alerted_at = sqlite3_column_int64(q, 7);
    return PAT_OK;
}

/* Columns: count, earliest first sighting, latest alert, network known,
 * product known. */
static int read_history(sqlite3_stmt *q, void *dst)
{
    int64_t *v = dst;

    for (int i = 0; i < 5; i++)
        v[i] = sqlite3_column_int64(q, i);
    return PAT_OK;
}

int sq_client_seen(pat_store *s, const pat_token_client *c, pat_client_history *before)
{
    sqlite_store *st = sq_of(s);
    int64_t h[5] = {0, 0, 0, 0, 0};
    int rc;

    if ((rc = sq_tx_enter(st)) < 0)
        return rc;
    if ((rc = sq_one(st, read_history, h,
                     "SELECT COUNT(*), COALESCE(MIN(first_seen), 0), COALESCE(MAX(alerted_at), 0), "
                     "COALESCE(MAX(network = ?2), 0), COALESCE(MAX(product = ?3), 0) "
                     "FROM token_clients WHERE token_id = ?1",
                     "itt", c->token_id, c->network, c->product)) < 0)
        goto out;
    if ((rc = sq_run(st, NULL, NULL,
                     "INSERT INTO token_clients (" CLIENT_COLS ") VALUES (?1,?2,?3,?4,?5,?6,?6,0) "
                     "ON CONFLICT (token_id, network, product) DO UPDATE SET "
                     "ip = CASE WHEN excluded.last_seen >= last_seen THEN excluded.ip ELSE ip END, "
                     "user_agent = CASE WHEN excluded.last_seen >= last_seen "
                     "THEN excluded.user_agent ELSE user_agent END, "
                     "last_seen = MAX(last_seen, excluded.last_seen)",
                     "itttti", c->token_id, c->network, c->product, c->ip, c->user_agent,
                     c->last_seen)) < 0)
        goto out;
    if (h[0] >= PAT_CLIENTS_KEPT &&
        (rc = sq_run(st, NULL, NULL,
                     "DELETE FROM token_clients WHERE token_id = ?1 AND (network, product) NOT IN "
                     "(SELECT network, product FROM token_clients WHERE token_id = ?1 "
                     "ORDER BY last_seen DESC, first_seen DESC LIMIT ?2)",
                     "ii", c->token_id, (int64_t)PAT_CLIENTS_KEPT)) < 0)
        goto out;
    before->first_seen = h[1];
    before->last_alert_at = h[2];
    before->network_known = h[3] != 0;
    before->product_known = h[4] != 0;
out:
    return sq_tx_leave(st, rc);
}

int sq_client_alerted(pat_store *s, int64_t token_id, const char *network, const char *product,
                      int64_t at)
{
    return sq_run(sq_of(s), NULL, NULL,
                  "UPDATE token_clients SET alerted_at = ?4 WHERE token_id = ?1 AND network = ?2 "
                  "AND product = ?3",
                  "itti", token_id, network, product, at);
}

int sq_client_list(pat_store *s, int64_t token_id, size_t limit, pat_token_client **out,
                   size_t *n)
{
    return sq_list(sq_of(s), read_client, sizeof(pat_token_client), (void **)out, n,
                   "SELECT " CLIENT_COLS " FROM token_clients WHERE token_id = ? "
                   "ORDER BY last_seen DESC, first_seen DESC LIMIT ?",
                   "ii", token_id, (int64_t)limit);
}

int sq_clients_prune(pat_store *s)
{
    return sq_run(sq_of(s), NULL, NULL,
                  "DELETE FROM token_clients WHERE token_id NOT IN (SELECT id FROM tokens)", "");
}
