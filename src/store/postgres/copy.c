/* PostgreSQL backend: what pat_store_copy needs, rows put as they are.
 * Identity columns take the copied ids only when told to (OVERRIDING
 * SYSTEM VALUE), and their sequences are then moved past them. */
#include <string.h>

#include "core/role.h"
#include "store/postgres/pg_int.h"
#include "util/error.h"

/* The largest id a table's identity sequence has handed out (0: none). */
#define LAST_ID(table)                                                                             \
    "(SELECT COALESCE(MAX(last_value), 0) FROM pg_sequences WHERE schemaname = current_schema() " \
    "AND sequencename = '" table "_id_seq')"

static int read_counts(const PGresult *res, int row, void *dst)
{
    pat_store_counts *c = dst;

    c->users = pg_int(res, row, 0);
    c->tokens = pg_int(res, row, 1);
    c->sessions = pg_int(res, row, 2);
    c->audit = pg_int(res, row, 3);
    c->settings = pg_int(res, row, 4);
    c->last_user_id = pg_int(res, row, 5);
    c->last_token_id = pg_int(res, row, 6);
    c->last_audit_id = pg_int(res, row, 7);
    c->orgs = pg_int(res, row, 8);
    c->members = pg_int(res, row, 9);
    c->last_org_id = pg_int(res, row, 10);
    return PAT_OK;
}

int pg_count_rows(pat_store *s, pat_store_counts *out)
{
    return pg_one(pg_of(s), read_counts, out,
                  "SELECT (SELECT COUNT(*) FROM users), (SELECT COUNT(*) FROM tokens), "
                  "(SELECT COUNT(*) FROM sessions), (SELECT COUNT(*) FROM audit), "
                  "(SELECT COUNT(*) FROM settings), " LAST_ID("users") ", " LAST_ID("tokens")
                  ", " LAST_ID("audit") ", (SELECT COUNT(*) FROM orgs), "
                  "(SELECT COUNT(*) FROM org_members), " LAST_ID("orgs"),
                  "");
}

int pg_session_list(pat_store *s, pat_session_rec **out, size_t *n)
{
    return pg_list(pg_of(s), pg_read_session, sizeof(pat_session_rec), (void **)out, n,
                   "SELECT id_hash, user_id, csrf_hash, created_at, expires_at, confirmed_until, "
                   "ip, user_agent FROM sessions",
                   "");
}

static int read_setting(const PGresult *res, int row, void *dst)
{
    pat_setting *p = dst;
    int rc;

    if ((rc = pg_text(res, row, 0, p->key, sizeof(p->key))) < 0)
        return rc;
    return pg_text(res, row, 1, p->value, sizeof(p->value));
}

int pg_setting_list(pat_store *s, pat_setting **out, size_t *n)
{
    return pg_list(pg_of(s), read_setting, sizeof(pat_setting), (void **)out, n,
                   "SELECT key, value FROM settings ORDER BY key", "");
}

int pg_put_users(pat_store *s, const pat_user *u, size_t n)
{
    pg_store *st = pg_of(s);
    pg_conn *pc = NULL;
    int rc;

    if ((rc = pg_tx_enter(st, &pc)) < 0)
        return rc;
    for (size_t i = 0; i < n && rc == PAT_OK; i++)
        rc = pg_run(st, NULL,
                    "INSERT INTO users (id, username, email, password_hash, role, disabled, "
                    "can_manage_tokens, created_at, updated_at, version, notify_off) "
                    "OVERRIDING SYSTEM VALUE VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)",
                    "ittttbbiiii", u[i].id, u[i].username, u[i].email, u[i].password_hash,
                    pat_role_name(u[i].role), (int)u[i].disabled, (int)u[i].can_manage_tokens,
                    u[i].created_at, u[i].updated_at, u[i].version, (int64_t)u[i].notify_off);
    return pg_tx_leave(pc, rc);
}

int pg_put_tokens(pat_store *s, const pat_token_rec *t, size_t n)
{
    pg_store *st = pg_of(s);
    pg_conn *pc = NULL;
    int rc;

    if ((rc = pg_tx_enter(st, &pc)) < 0)
        return rc;
    for (size_t i = 0; i < n && rc == PAT_OK; i++) {
        const pat_token_rec *k = &t[i];
        bool used = k->last_use.at != 0;
        rc = pg_run(st, NULL,
                    "INSERT INTO tokens (id, user_id, name, description, prefix, secret_hash, "
                    "previous_hash, previous_valid_until, scopes, allowed_cidrs, created_at, "
                    "updated_at, expires_at, disabled_at, last_used_at, last_used_ip, "
                    "last_used_method, last_used_path, last_used_user_agent, use_count, version, "
                    "flags, organizations) "
                    "OVERRIDING SYSTEM VALUE VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,"
                    "$14,$15,$16,$17,$18,$19,$20,$21,$22,$23)",
                    "iittthhnttiinnnttttiiit", k->id, k->user_id, k->name, k->description,
                    k->prefix, k->hash, k->previous_valid_until ? k->previous_hash : NULL,
                    k->previous_valid_until, k->scopes, k->allowed_cidrs, k->created_at,
                    k->updated_at, k->expires_at, k->disabled_at, k->last_use.at,
                    used ? k->last_use.ip : NULL, used ? k->last_use.method : NULL,
                    used ? k->last_use.path : NULL, used ? k->last_use.user_agent : NULL,
                    k->use_count, k->version, (int64_t)k->flags, k->orgs);
    }
    return pg_tx_leave(pc, rc);
}

int pg_put_audit(pat_store *s, const pat_audit_rec *r, size_t n)
{
    pg_store *st = pg_of(s);
    pg_conn *pc = NULL;
    int rc;

    if ((rc = pg_tx_enter(st, &pc)) < 0)
        return rc;
    for (size_t i = 0; i < n && rc == PAT_OK; i++)
        rc = pg_run(st, NULL,
                    "INSERT INTO audit (id, at, actor_user_id, actor_token_id, action, target, ip, "
                    "user_agent, detail, org_id) OVERRIDING SYSTEM VALUE VALUES ($1,$2,$3,$4,$5,$6,"
                    "$7,$8,$9,$10)",
                    "iinnttttti", r[i].id, r[i].at, r[i].actor_user_id, r[i].actor_token_id,
                    r[i].action, r[i].target, r[i].ip, r[i].user_agent, r[i].detail,
                    r[i].org_id);
    return pg_tx_leave(pc, rc);
}

int pg_ids_reset(pat_store *s, const pat_store_counts *from)
{
    /* Past the largest id put and the largest the source ever handed out
     * (rows deleted there keep theirs used); an untouched sequence stays
     * at its start. */
    return pg_run(pg_of(s), NULL,
                  "SELECT setval(pg_get_serial_sequence(t, 'id'), GREATEST(m, 1), m > 0) "
                  "FROM (VALUES ('users', GREATEST($1, (SELECT MAX(id) FROM users))), "
                  "('tokens', GREATEST($2, (SELECT MAX(id) FROM tokens))), "
                  "('audit', GREATEST($3, (SELECT MAX(id) FROM audit))), "
                  "('orgs', GREATEST($4, (SELECT MAX(id) FROM orgs)))) AS v(t, m)",
                  "iiii", from->last_user_id, from->last_token_id, from->last_audit_id,
                  from->last_org_id);
}

int pg_put_orgs(pat_store *s, const pat_org *o, size_t n)
{
    pg_store *st = pg_of(s);
    pg_conn *pc = NULL;
    int rc;

    if ((rc = pg_tx_enter(st, &pc)) < 0)
        return rc;
    rc = pg_run(st, NULL, "DELETE FROM orgs", "");
    for (size_t i = 0; i < n && rc == PAT_OK; i++)
        rc = pg_run(st, NULL,
                    "INSERT INTO orgs (id, slug, name, created_at, updated_at, version) "
                    "OVERRIDING SYSTEM VALUE VALUES ($1,$2,$3,$4,$5,$6)",
                    "ittiii", o[i].id, o[i].slug, o[i].name, o[i].created_at, o[i].updated_at,
                    o[i].version);
    return pg_tx_leave(pc, rc);
}
