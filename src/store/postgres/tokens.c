/* PostgreSQL backend: tokens. The same contract as the SQLite backend's
 * tokens.c: narrow edits conditional on the row's version, every hash
 * touched named in the changes feed in the same transaction; lookups by
 * hash through statements prepared on each thread's connection; last use
 * as one batched UPDATE whose counts add up across instances. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "store/postgres/pg_int.h"
#include "util/error.h"
#include "util/log.h"
#include "util/mem.h"

#define TOKEN_COLS                                                                                 \
    "id, user_id, name, description, prefix, secret_hash, previous_hash, previous_valid_until, "   \
    "scopes, allowed_cidrs, created_at, updated_at, expires_at, disabled_at, last_used_at, "       \
    "last_used_ip, last_used_method, last_used_path, last_used_user_agent, use_count, version, "    \
    "flags, organizations"

static int read_token(const PGresult *res, int row, void *dst)
{
    pat_token_rec *t = dst;
    int rc;

    memset(t, 0, sizeof(*t));
    t->id = pg_int(res, row, 0);
    t->user_id = pg_int(res, row, 1);
    if ((rc = pg_text(res, row, 2, t->name, sizeof(t->name))) < 0 ||
        (rc = pg_text(res, row, 3, t->description, sizeof(t->description))) < 0 ||
        (rc = pg_text(res, row, 4, t->prefix, sizeof(t->prefix))) < 0 ||
        (rc = pg_text(res, row, 8, t->scopes, sizeof(t->scopes))) < 0 ||
        (rc = pg_text(res, row, 9, t->allowed_cidrs, sizeof(t->allowed_cidrs))) < 0 ||
        (rc = pg_text(res, row, 15, t->last_use.ip, sizeof(t->last_use.ip))) < 0 ||
        (rc = pg_text(res, row, 16, t->last_use.method, sizeof(t->last_use.method))) < 0 ||
        (rc = pg_text(res, row, 17, t->last_use.path, sizeof(t->last_use.path))) < 0 ||
        (rc = pg_text(res, row, 18, t->last_use.user_agent, sizeof(t->last_use.user_agent))) < 0)
        return rc;
    pg_hash(res, row, 5, t->hash);
    pg_hash(res, row, 6, t->previous_hash);
    t->previous_valid_until = pg_int(res, row, 7);
    t->created_at = pg_int(res, row, 10);
    t->updated_at = pg_int(res, row, 11);
    t->expires_at = pg_int(res, row, 12);
    t->disabled_at = pg_int(res, row, 13);
    t->last_use.at = pg_int(res, row, 14);
    t->use_count = pg_int(res, row, 19);
    t->version = pg_int(res, row, 20);
    t->flags = (unsigned)pg_int(res, row, 21);
    return pg_text(res, row, 22, t->orgs, sizeof(t->orgs));
}

static int not_found(int rc)
{
    return rc == PAT_ENOTFOUND ? pat_error_set(PAT_ENOTFOUND, NULL, "no such token") : rc;
}

/* Names in the changes feed (and to every listener) each hash token id
 * holds now: its current value and, while it lives, the one before. */
static int note_hashes(pg_store *st, int64_t id)
{
    int64_t seq = 0;
    int rc = pg_one(st, pg_read_int64, &seq,
                    "WITH c AS (INSERT INTO changes (at, kind, entity_id, hash) "
                    "SELECT extract(epoch from now())::bigint, 'token', id, secret_hash "
                    "FROM tokens WHERE id = $1 "
                    "UNION ALL SELECT extract(epoch from now())::bigint, 'token', id, "
                    "previous_hash FROM tokens WHERE id = $1 AND previous_hash IS NOT NULL "
                    "RETURNING seq) SELECT COALESCE(MIN(seq), 0) FROM c",
                    "i", id);

    return rc < 0 ? rc : pg_notify_once(st, seq);
}

static int insert_one(pg_store *st, pat_token_rec *t)
{
    int64_t id = 0;
    int rc = pg_one(st, pg_read_int64, &id,
                    "INSERT INTO tokens (name, description, prefix, secret_hash, previous_hash, "
                    "previous_valid_until, scopes, allowed_cidrs, updated_at, expires_at, "
                    "disabled_at, user_id, created_at, flags, organizations, version) "
                    "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,1) RETURNING id",
                    "ttthhnttinniiit", t->name, t->description, t->prefix, t->hash,
                    t->previous_valid_until ? t->previous_hash : NULL, t->previous_valid_until,
                    t->scopes, t->allowed_cidrs, t->updated_at, t->expires_at, t->disabled_at,
                    t->user_id, t->created_at, (int64_t)t->flags, t->orgs);

    if (rc < 0)
        return rc;
    if ((rc = note_hashes(st, id)) == PAT_OK) {
        t->id = id;
        t->version = 1;
    }
    return rc;
}

int pg_token_insert(pat_store *s, pat_token_rec *t)
{
    pg_store *st = pg_of(s);
    pg_conn *pc = NULL;
    int rc;

    if ((rc = pg_tx_enter(st, &pc)) < 0)
        return rc;
    return pg_tx_leave(pc, insert_one(st, t));
}

int pg_token_insert_many(pat_store *s, pat_token_rec *t, size_t n)
{
    pg_store *st = pg_of(s);
    pg_conn *pc = NULL;
    int rc;

    if ((rc = pg_tx_enter(st, &pc)) < 0)
        return rc;
    for (size_t i = 0; i < n && rc == PAT_OK; i++)
        rc = insert_one(st, &t[i]);
    return pg_tx_leave(pc, rc);
}

int pg_token_get(pat_store *s, int64_t id, pat_token_rec *out)
{
    return not_found(pg_one(pg_of(s), read_token, out,
                            "SELECT " TOKEN_COLS " FROM tokens WHERE id = $1", "i", id));
}

int pg_token_prepare(PGconn *c)
{
    static const Oid hash_types[] = {17, 20};
    PGresult *a = PQprepare(c, "by_hash", "SELECT " TOKEN_COLS " FROM tokens WHERE secret_hash = $1",
                            1, hash_types);
    PGresult *b = PQprepare(c, "by_previous",
                            "SELECT " TOKEN_COLS " FROM tokens WHERE previous_hash = $1 "
                            "AND previous_valid_until > $2",
                            2, hash_types);
    int rc = PAT_OK;

    if (PQresultStatus(a) != PGRES_COMMAND_OK)
        rc = pg_error(c, a, "prepare by_hash");
    else if (PQresultStatus(b) != PGRES_COMMAND_OK)
        rc = pg_error(c, b, "prepare by_previous");
    PQclear(a);
    PQclear(b);
    return rc;
}

/* Runs one prepared lookup. */
static int lookup(PGconn *c, const char *name, int nparams, const char *const *values,
                  const int *lengths, const int *formats, pat_token_rec *out)
{
    PGresult *res = PQexecPrepared(c, name, nparams, values, lengths, formats, 0);
    int rc;

    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        rc = pg_error(c, res, "get token by hash");
    else if (PQntuples(res) == 0)
        rc = pat_error_set(PAT_ENOTFOUND, NULL, "no such token");
    else
        rc = read_token(res, 0, out);
    PQclear(res);
    return rc;
}

int pg_token_get_by_hash(pat_store *s, const uint8_t hash[PAT_HASH_LEN], int64_t now,
                         pat_token_rec *out, int *is_previous)
{
    pg_store *st = pg_of(s);
    pg_conn *pc = NULL;
    char nowtext[24];
    const char *values[2] = {(const char *)hash, nowtext};
    const int lengths[2] = {PAT_HASH_LEN, 0}, formats[2] = {1, 0};
    int rc;

    *is_previous = 0;
    snprintf(nowtext, sizeof(nowtext), "%lld", (long long)now);
    /* A connection the server dropped is replaced here (pg_conn_get), and
     * the statements prepared again on the new one. */
    if ((rc = pg_conn_get(st, &pc)) < 0)
        return rc;
    if (!pc->prepared) {
        if ((rc = pg_token_prepare(pc->c)) < 0)
            return rc;
        pc->prepared = true;
    }
    rc = lookup(pc->c, "by_hash", 1, values, lengths, formats, out);
    if (rc != PAT_ENOTFOUND)
        return rc;
    rc = lookup(pc->c, "by_previous", 2, values, lengths, formats, out);
    *is_previous = rc == PAT_OK;
    return rc;
}

int pg_token_list(pat_store *s, int64_t user_id, pat_token_rec **out, size_t *n)
{
    return pg_list(pg_of(s), read_token, sizeof(pat_token_rec), (void **)out, n,
                   "SELECT " TOKEN_COLS " FROM tokens WHERE user_id = $1 ORDER BY id DESC", "i",
                   user_id);
}

typedef struct hashes_arg {
    void (*fn)(void *arg, const uint8_t hash[PAT_HASH_LEN]);
    void *arg;
} hashes_arg;

static int read_hash(const PGresult *res, int row, void *dst)
{
    hashes_arg *h = dst;
    uint8_t hash[PAT_HASH_LEN];

    pg_hash(res, row, 0, hash);
    h->fn(h->arg, hash);
    return PAT_OK;
}

int pg_token_hashes(pat_store *s, int64_t now,
                    void (*fn)(void *arg, const uint8_t hash[PAT_HASH_LEN]), void *arg, size_t *n)
{
    pg_store *st = pg_of(s);
    hashes_arg h = {fn, arg};
    PGresult *res = NULL;
    pg_conn *pc = NULL;
    char nowtext[24];
    const char *values[1] = {nowtext};
    int rc, rows;

    /* One statement: one consistent view, as the caller wants. Without fn
     * only the count travels. */
    snprintf(nowtext, sizeof(nowtext), "%lld", (long long)now);
    if ((rc = pg_conn_get(st, &pc)) < 0)
        return rc;
    res = PQexecParams(pc->c,
                       fn ? "SELECT secret_hash FROM tokens UNION ALL SELECT previous_hash FROM "
                            "tokens WHERE previous_hash IS NOT NULL AND previous_valid_until > $1"
                          : "SELECT (SELECT COUNT(*) FROM tokens) + (SELECT COUNT(*) FROM tokens "
                            "WHERE previous_hash IS NOT NULL AND previous_valid_until > $1)",
                       1, (const Oid[]){20}, values, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = pg_error(pc->c, res, "token hashes");
        goto out;
    }
    rows = PQntuples(res);
    if (fn)
        for (int i = 0; i < rows; i++)
            read_hash(res, i, &h);
    if (n)
        *n = fn ? (size_t)rows : (size_t)pg_int(res, 0, 0);
out:
    PQclear(res);
    return rc;
}

int pg_token_list_exceeding(pat_store *s, int never_too, int64_t latest, size_t limit,
                            pat_token_rec **out, size_t *n)
{
    return pg_list(pg_of(s), read_token, sizeof(pat_token_rec), (void **)out, n,
                   "SELECT " TOKEN_COLS " FROM tokens WHERE ($1 AND expires_at IS NULL) "
                   "OR ($2 > 0 AND expires_at > $2) ORDER BY id LIMIT $3",
                   "bii", never_too != 0, latest, (int64_t)limit);
}

int pg_token_list_exceeding_in(pat_store *s, int64_t org_id, int never_too, int64_t latest,
                               size_t limit, pat_token_rec **out, size_t *n)
{
    return pg_list(pg_of(s), read_token, sizeof(pat_token_rec), (void **)out, n,
                   "SELECT " TOKEN_COLS " FROM tokens WHERE (($1 AND expires_at IS NULL) "
                   "OR ($2 > 0 AND expires_at > $2)) AND user_id IN "
                   "(SELECT user_id FROM org_members WHERE org_id = $4) AND "
                   "(organizations = '' OR (SELECT slug FROM orgs WHERE id = $4) = "
                   "ANY (string_to_array(organizations, ' '))) ORDER BY id LIMIT $3",
                   "biii", never_too != 0, latest, (int64_t)limit, org_id);
}

/* One statement for every narrow edit, as in the SQLite backend. */
#define TOKEN_UPDATE_SQL                                                                           \
    "UPDATE tokens SET "                                                                           \
    "name = CASE WHEN $1 & 1 <> 0 THEN $2 ELSE name END, "                                         \
    "description = CASE WHEN $1 & 2 <> 0 THEN $3 ELSE description END, "                           \
    "scopes = CASE WHEN $1 & 4 <> 0 THEN $4 ELSE scopes END, "                                     \
    "allowed_cidrs = CASE WHEN $1 & 8 <> 0 THEN $5 ELSE allowed_cidrs END, "                       \
    "expires_at = CASE WHEN $1 & 16 <> 0 THEN $6 ELSE expires_at END, "                            \
    "disabled_at = CASE WHEN $1 & 32 <> 0 THEN $7 ELSE disabled_at END, "                          \
    "secret_hash = CASE WHEN $1 & 64 <> 0 THEN $8 ELSE secret_hash END, "                          \
    "prefix = CASE WHEN $1 & 64 <> 0 THEN $9 ELSE prefix END, "                                    \
    "previous_hash = CASE WHEN $1 & 64 <> 0 THEN $10 ELSE previous_hash END, "                     \
    "previous_valid_until = CASE WHEN $1 & 64 <> 0 THEN $11 ELSE previous_valid_until END, "       \
    "flags = CASE WHEN $1 & 128 <> 0 THEN $15 ELSE flags END, "                                    \
    "organizations = CASE WHEN $1 & 256 <> 0 THEN $16 ELSE organizations END, "                    \
    "updated_at = $12, version = version + 1 WHERE id = $13 AND version = $14"

int pg_token_update(pat_store *s, pat_token_rec *t, unsigned fields)
{
    pg_store *st = pg_of(s);
    pg_conn *pc = NULL;
    int64_t changed = 0, version = 0;
    int rc;

    _Static_assert(PAT_TOKEN_F_NAME == 1 && PAT_TOKEN_F_DESCRIPTION == 2 &&
                       PAT_TOKEN_F_SCOPES == 4 && PAT_TOKEN_F_CIDRS == 8 &&
                       PAT_TOKEN_F_EXPIRES == 16 && PAT_TOKEN_F_DISABLED == 32 &&
                       PAT_TOKEN_F_SECRET == 64 && PAT_TOKEN_F_FLAGS == 128 &&
                       PAT_TOKEN_F_ORGS == 256,
                   "TOKEN_UPDATE_SQL spells the field bits out");
    if ((rc = pg_tx_enter(st, &pc)) < 0)
        return rc;
    if ((rc = note_hashes(st, t->id)) < 0)
        goto out;
    if ((rc = pg_run(st, &changed, TOKEN_UPDATE_SQL, "ittttnnhthniiiit", (int64_t)fields, t->name,
                     t->description, t->scopes, t->allowed_cidrs, t->expires_at, t->disabled_at,
                     t->hash, t->prefix, t->previous_valid_until ? t->previous_hash : NULL,
                     t->previous_valid_until, t->updated_at, t->id, t->version,
                     (int64_t)t->flags, t->orgs)) < 0)
        goto out;
    if (changed == 0) {
        rc = pg_one(st, pg_read_int64, &version, "SELECT version FROM tokens WHERE id = $1", "i",
                    t->id);
        rc = pat_store_edit_refused(rc, "token");
        goto out;
    }
    if ((fields & PAT_TOKEN_F_SECRET) && (rc = note_hashes(st, t->id)) < 0)
        goto out;
    t->version++;
out:
    return pg_tx_leave(pc, not_found(rc));
}

static int delete_one(pg_store *st, int64_t user_id, int64_t id, int *deleted)
{
    int64_t changed = 0;
    int rc;

    if ((rc = note_hashes(st, id)) < 0 ||
        (rc = pg_run(st, &changed, "DELETE FROM tokens WHERE id = $1 AND user_id = $2", "ii", id,
                     user_id)) < 0)
        return rc;
    *deleted = changed > 0;
    return PAT_OK;
}

int pg_token_delete(pat_store *s, int64_t user_id, int64_t id)
{
    pg_store *st = pg_of(s);
    pg_conn *pc = NULL;
    int rc, deleted = 0;

    if ((rc = pg_tx_enter(st, &pc)) < 0)
        return rc;
    if ((rc = delete_one(st, user_id, id, &deleted)) == PAT_OK && !deleted)
        rc = pat_error_set(PAT_ENOTFOUND, NULL, "no such token");
    return pg_tx_leave(pc, rc);
}

int pg_token_delete_many(pat_store *s, int64_t user_id, const int64_t *ids, size_t n,
                         int64_t *deleted, size_t *ndeleted)
{
    pg_store *st = pg_of(s);
    pg_conn *pc = NULL;
    size_t count = 0;
    int rc;

    if ((rc = pg_tx_enter(st, &pc)) < 0)
        return rc;
    for (size_t i = 0; i < n && rc == PAT_OK; i++) {
        int gone = 0;
        if ((rc = delete_one(st, user_id, ids[i], &gone)) == PAT_OK && gone)
            deleted[count++] = ids[i];
    }
    if ((rc = pg_tx_leave(pc, rc)) == PAT_OK)
        *ndeleted = count;
    return rc;
}

/* The batch as a JSON array of objects: one parameter, one round trip,
 * and jansson does the quoting. */
static char *touches_json(const pat_token_touch *touches, size_t n)
{
    json_t *arr = json_array();
    char *text;

    for (size_t i = 0; i < n; i++) {
        const pat_token_touch *t = &touches[i];
        json_array_append_new(arr, json_pack("{sI sI sI ss ss ss ss}", "id", (json_int_t)t->token_id,
                                             "uses", (json_int_t)t->uses, "at",
                                             (json_int_t)t->last.at, "ip", t->last.ip, "method",
                                             t->last.method, "path", t->last.path, "ua",
                                             t->last.user_agent));
    }
    text = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    return text;
}

int pg_token_touch_many(pat_store *s, const pat_token_touch *touches, size_t n)
{
    pg_store *st = pg_of(s);
    pg_conn *pc = NULL;
    char *json = NULL;
    int rc;

    if (n == 0)
        return PAT_OK;
    if (!(json = touches_json(touches, n)))
        return pat_error_set(PAT_EIO, NULL, "cannot encode the last-use batch");
    /* Uses add to what every instance has counted; the details are the
     * newest of the batch and only replace older ones. Ids that are gone
     * match nothing. In its own write transaction: writers taking turns
     * means two instances' batches never deadlock on each other's rows. */
    if ((rc = pg_tx_enter(st, &pc)) < 0)
        goto out;
    rc = pg_run(st, NULL,
                "UPDATE tokens t SET use_count = t.use_count + u.uses, "
                "last_used_ip = CASE WHEN u.at > 0 AND COALESCE(t.last_used_at, 0) <= u.at "
                "THEN u.ip ELSE t.last_used_ip END, "
                "last_used_method = CASE WHEN u.at > 0 AND COALESCE(t.last_used_at, 0) <= u.at "
                "THEN u.method ELSE t.last_used_method END, "
                "last_used_path = CASE WHEN u.at > 0 AND COALESCE(t.last_used_at, 0) <= u.at "
                "THEN u.path ELSE t.last_used_path END, "
                "last_used_user_agent = CASE WHEN u.at > 0 AND COALESCE(t.last_used_at, 0) <= u.at "
                "THEN u.ua ELSE t.last_used_user_agent END, "
                "last_used_at = CASE WHEN u.at > 0 AND COALESCE(t.last_used_at, 0) <= u.at "
                "THEN u.at ELSE t.last_used_at END "
                "FROM (SELECT DISTINCT ON (id) id, SUM(uses) OVER (PARTITION BY id) AS uses, at, "
                "ip, method, path, ua FROM jsonb_to_recordset($1) AS r(id bigint, uses bigint, "
                "at bigint, ip text, method text, path text, ua text) ORDER BY id, at DESC) u "
                "WHERE t.id = u.id",
                "j", json);
    rc = pg_tx_leave(pc, rc);
out:
    free(json);
    return rc;
}

int pg_tokens_to_remind(pat_store *s, int64_t after, int64_t until, int64_t threshold,
                        size_t limit, pat_token_rec **out, size_t *n)
{
    return pg_list(pg_of(s), read_token, sizeof(pat_token_rec), (void **)out, n,
                   "SELECT " TOKEN_COLS " FROM tokens WHERE expires_at > $1 AND expires_at <= $2 "
                   "AND disabled_at IS NULL AND ($3 = 0 OR expires_at - created_at > $3 * 86400) "
                   "AND NOT EXISTS (SELECT 1 FROM reminders r WHERE "
                   "r.token_id = tokens.id AND r.threshold = $3) ORDER BY expires_at LIMIT $4",
                   "iiii", after, until, threshold, (int64_t)limit);
}

int pg_reminder_add(pat_store *s, int64_t token_id, int64_t threshold, int64_t at)
{
    return pg_run(pg_of(s), NULL,
                  "INSERT INTO reminders (token_id, threshold, sent_at) VALUES ($1,$2,$3)",
                  "iii", token_id, threshold, at);
}
