/* SQLite backend: what pat_store_copy needs, rows put as they are. An
 * AUTOINCREMENT table remembers the largest id ever inserted, explicit
 * ones too, so nothing is left to reset afterwards. */
#include <stdlib.h>
#include <string.h>

#include "core/role.h"
#include "store/sqlite/sqlite_int.h"
#include "util/error.h"

static int read_counts(sqlite3_stmt *q, void *dst)
{
    pat_store_counts *c = dst;

    c->users = sqlite3_column_int64(q, 0);
    c->tokens = sqlite3_column_int64(q, 1);
    c->sessions = sqlite3_column_int64(q, 2);
    c->audit = sqlite3_column_int64(q, 3);
    c->settings = sqlite3_column_int64(q, 4);
    c->last_user_id = sqlite3_column_int64(q, 5);
    c->last_token_id = sqlite3_column_int64(q, 6);
    c->last_audit_id = sqlite3_column_int64(q, 7);
    c->orgs = sqlite3_column_int64(q, 8);
    c->members = sqlite3_column_int64(q, 9);
    c->last_org_id = sqlite3_column_int64(q, 10);
    return PAT_OK;
}

int sq_count_rows(pat_store *s, pat_store_counts *out)
{
    return sq_one(sq_of(s), read_counts, out,
                  "SELECT (SELECT COUNT(*) FROM users), (SELECT COUNT(*) FROM tokens), "
                  "(SELECT COUNT(*) FROM sessions), (SELECT COUNT(*) FROM audit), "
                  "(SELECT COUNT(*) FROM settings), "
                  "(SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = 'users'), "
                  "(SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = 'tokens'), "
                  "(SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = 'audit'), "
                  "(SELECT COUNT(*) FROM orgs), (SELECT COUNT(*) FROM org_members), "
                  "(SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = 'orgs')",
                  "");
}

int sq_session_list(pat_store *s, pat_session_rec **out, size_t *n)
{
    return sq_list(sq_of(s), sq_read_session, sizeof(pat_session_rec), (void **)out, n,
                   "SELECT id_hash, user_id, csrf_hash, created_at, expires_at, confirmed_until, "
                   "ip, user_agent FROM sessions",
                   "");
}

static int read_setting(sqlite3_stmt *q, void *dst)
{
    pat_setting *p = dst;
    int rc;

    if ((rc = sq_text(q, 0, p->key, sizeof(p->key))) < 0)
        return rc;
    return sq_text(q, 1, p->value, sizeof(p->value));
}

int sq_setting_list(pat_store *s, pat_setting **out, size_t *n)
{
    return sq_list(sq_of(s), read_setting, sizeof(pat_setting), (void **)out, n,
                   "SELECT key, value FROM settings ORDER BY key", "");
}

int sq_put_users(pat_store *s, const pat_user *u, size_t n)
{
    sqlite_store *st = sq_of(s);
    int rc;

    if ((rc = sq_tx_enter(st)) < 0)
        return rc;
    for (size_t i = 0; i < n && rc == PAT_OK; i++)
        rc = sq_run(st, NULL, NULL,
                    "INSERT INTO users (id, username, email, password_hash, role, disabled, "
                    "can_manage_tokens, created_at, updated_at, version, notify_off) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    "ittttiiiiii", u[i].id, u[i].username, u[i].email, u[i].password_hash,
                    pat_role_name(u[i].role), (int64_t)u[i].disabled,
                    (int64_t)u[i].can_manage_tokens, u[i].created_at, u[i].updated_at,
                    u[i].version, (int64_t)u[i].notify_off);
    return sq_tx_leave(st, rc);
}

int sq_put_tokens(pat_store *s, const pat_token_rec *t, size_t n)
{
    sqlite_store *st = sq_of(s);
    int rc;

    if ((rc = sq_tx_enter(st)) < 0)
        return rc;
    for (size_t i = 0; i < n && rc == PAT_OK; i++) {
        const pat_token_rec *k = &t[i];
        bool used = k->last_use.at != 0;
        rc = sq_run(st, NULL, NULL,
                    "INSERT INTO tokens (id, user_id, name, description, prefix, secret_hash, "
                    "previous_hash, previous_valid_until, scopes, allowed_cidrs, created_at, "
                    "updated_at, expires_at, disabled_at, last_used_at, last_used_ip, "
                    "last_used_method, last_used_path, last_used_user_agent, use_count, version, "
                    "flags, organizations) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    "iittthhnttiinnnttttiiit", k->id, k->user_id, k->name, k->description,
                    k->prefix, k->hash, k->previous_valid_until ? k->previous_hash : NULL,
                    k->previous_valid_until, k->scopes, k->allowed_cidrs, k->created_at,
                    k->updated_at, k->expires_at, k->disabled_at, k->last_use.at,
                    used ? k->last_use.ip : NULL, used ? k->last_use.method : NULL,
                    used ? k->last_use.path : NULL, used ? k->last_use.user_agent : NULL,
                    k->use_count, k->version, (int64_t)k->flags, k->orgs);
    }
    return sq_tx_leave(st, rc);
}

int sq_put_audit(pat_store *s, const pat_audit_rec *r, size_t n)
{
    sqlite_store *st = sq_of(s);
    int rc;

    if ((rc = sq_tx_enter(st)) < 0)
        return rc;
    for (size_t i = 0; i < n && rc == PAT_OK; i++)
        rc = sq_run(st, NULL, NULL,
                    "INSERT INTO audit (id, at, actor_user_id, actor_token_id, action, target, ip, "
                    "user_agent, detail, org_id) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    "iinnttttti", r[i].id, r[i].at, r[i].actor_user_id, r[i].actor_token_id,
                    r[i].action, r[i].target, r[i].ip, r[i].user_agent, r[i].detail,
                    r[i].org_id);
    return sq_tx_leave(st, rc);
}

/* Moves one table's sequence to at least last (lock held). */
static int raise_sequence(sqlite_store *st, const char *table, int64_t last)
{
    int64_t changed = 0;
    int rc = sq_run(st, &changed, NULL,
                    "UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = ?", "it", last,
                    table);

    if (rc == PAT_OK && changed == 0 && last > 0)
        rc = sq_run(st, NULL, NULL, "INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", "ti",
                    table, last);
    return rc;
}

int sq_ids_reset(pat_store *s, const pat_store_counts *from)
{
    sqlite_store *st = sq_of(s);
    int rc;

    /* The rows put already moved each sequence to their largest id; ids
     * the source handed out to rows deleted since must stay used too. */
    if ((rc = sq_tx_enter(st)) < 0)
        return rc;
    if ((rc = raise_sequence(st, "users", from->last_user_id)) == PAT_OK &&
        (rc = raise_sequence(st, "tokens", from->last_token_id)) == PAT_OK &&
        (rc = raise_sequence(st, "orgs", from->last_org_id)) == PAT_OK)
        rc = raise_sequence(st, "audit", from->last_audit_id);
    return sq_tx_leave(st, rc);
}
