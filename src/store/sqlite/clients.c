/* SQLite backend: the clients each token was used from. */
#include <string.h>

#include <sqlite3.h>

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

/* One sighting with the three statements prepared by sq_clients_seen. */
static int seen_one(sqlite_store *st, sqlite3_stmt *const q[3], const pat_token_client *c,
                    pat_client_history *before)
{
    int64_t count = 0;
    int step;

    if (!before)
        goto record;
    sqlite3_reset(q[0]);
    sq_bind(q[0], "itt", c->token_id, c->network, c->product);
    if ((step = sqlite3_step(q[0])) != SQLITE_ROW)
        return sq_error(st->db, step, "client history");
    count = sqlite3_column_int64(q[0], 0);
    before->first_seen = sqlite3_column_int64(q[0], 1);
    before->last_alert_at = sqlite3_column_int64(q[0], 2);
    before->network_known = sqlite3_column_int64(q[0], 3) != 0;
    before->product_known = sqlite3_column_int64(q[0], 4) != 0;
record:
    sqlite3_reset(q[1]);
    sq_bind(q[1], "itttti", c->token_id, c->network, c->product, c->ip, c->user_agent,
            c->last_seen);
    if ((step = sqlite3_step(q[1])) != SQLITE_DONE)
        return sq_error(st->db, step, "record client");
    if (count < PAT_CLIENTS_KEPT)
        return PAT_OK;
    sqlite3_reset(q[2]);
    sq_bind(q[2], "ii", c->token_id, (int64_t)PAT_CLIENTS_KEPT);
    if ((step = sqlite3_step(q[2])) != SQLITE_DONE)
        return sq_error(st->db, step, "trim clients");
    return PAT_OK;
}

int sq_clients_seen(pat_store *s, const pat_token_client *c, size_t n, pat_client_history *before)
{
    static const char *const sql[3] = {
        "SELECT COUNT(*), COALESCE(MIN(first_seen), 0), COALESCE(MAX(alerted_at), 0), "
        "COALESCE(MAX(network = ?2), 0), COALESCE(MAX(product = ?3), 0) "
        "FROM token_clients WHERE token_id = ?1",
        "INSERT INTO token_clients (" CLIENT_COLS ") VALUES (?1,?2,?3,?4,?5,?6,?6,0) "
        "ON CONFLICT (token_id, network, product) DO UPDATE SET "
        "ip = CASE WHEN excluded.last_seen >= last_seen THEN excluded.ip ELSE ip END, "
        "user_agent = CASE WHEN excluded.last_seen >= last_seen "
        "THEN excluded.user_agent ELSE user_agent END, "
        "last_seen = MAX(last_seen, excluded.last_seen)",
        "DELETE FROM token_clients WHERE token_id = ?1 AND (network, product) NOT IN "
        "(SELECT network, product FROM token_clients WHERE token_id = ?1 "
        "ORDER BY last_seen DESC, first_seen DESC LIMIT ?2)",
    };
    sqlite_store *st = sq_of(s);
    sqlite3_stmt *q[3] = {NULL, NULL, NULL};
    int rc;

    /* Prepared once for the batch: parsing is most of a statement's cost. */
    if ((rc = sq_tx_enter(st)) < 0)
        return rc;
    for (int k = 0; k < 3 && rc == PAT_OK; k++)
        rc = sq_prepare(st, &q[k], sql[k]);
    for (size_t i = 0; i < n && rc == PAT_OK; i++)
        rc = seen_one(st, q, &c[i], before ? &before[i] : NULL);
    for (int k = 0; k < 3; k++)
        sqlite3_finalize(q[k]);
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
