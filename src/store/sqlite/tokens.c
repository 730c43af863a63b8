/* SQLite backend: tokens. Edits are narrow (only the fields asked for) and
 * conditional on the row's version; every edit, insert and delete names
 * the hashes it touched in the changes feed, in its own transaction. */
#include <stdlib.h>
#include <string.h>

#include "store/sqlite/sqlite_int.h"
#include "util/error.h"
#include "util/log.h"
#include "util/mem.h"

#define TOKEN_COLS                                                                                 \
    "id, user_id, name, description, prefix, secret_hash, previous_hash, previous_valid_until, "   \
    "scopes, allowed_cidrs, created_at, updated_at, expires_at, disabled_at, last_used_at, "       \
    "last_used_ip, last_used_method, last_used_path, last_used_user_agent, use_count, version, "    \
    "flags, organizations"

static int read_token(sqlite3_stmt *q, void *dst)
{
    pat_token_rec *t = dst;
    int rc;

    memset(t, 0, sizeof(*t));
    t->id = sqlite3_column_int64(q, 0);
    t->user_id = sqlite3_column_int64(q, 1);
    if ((rc = sq_text(q, 2, t->name, sizeof(t->name))) < 0 ||
        (rc = sq_text(q, 3, t->description, sizeof(t->description))) < 0 ||
        (rc = sq_text(q, 4, t->prefix, sizeof(t->prefix))) < 0 ||
        (rc = sq_text(q, 8, t->scopes, sizeof(t->scopes))) < 0 ||
        (rc = sq_text(q, 9, t->allowed_cidrs, sizeof(t->allowed_cidrs))) < 0 ||
        (rc = sq_text(q, 15, t->last_use.ip, sizeof(t->last_use.ip))) < 0 ||
        (rc = sq_text(q, 16, t->last_use.method, sizeof(t->last_use.method))) < 0 ||
        (rc = sq_text(q, 17, t->last_use.path, sizeof(t->last_use.path))) < 0 ||
        (rc = sq_text(q, 18, t->last_use.user_agent, sizeof(t->last_use.user_agent))) < 0)
        return rc;
    sq_hash(q, 5, t->hash);
    sq_hash(q, 6, t->previous_hash);
    t->previous_valid_until = sqlite3_column_int64(q, 7);
    t->created_at = sqlite3_column_int64(q, 10);
    t->updated_at = sqlite3_column_int64(q, 11);
    t->expires_at = sqlite3_column_int64(q, 12);
    t->disabled_at = sqlite3_column_int64(q, 13);
    t->last_use.at = sqlite3_column_int64(q, 14);
    t->use_count = sqlite3_column_int64(q, 19);
    t->version = sqlite3_column_int64(q, 20);
    t->flags = (unsigned)sqlite3_column_int64(q, 21);
    return sq_text(q, 22, t->orgs, sizeof(t->orgs));
}

static int not_found(int rc)
{
    return rc == PAT_ENOTFOUND ? pat_error_set(PAT_ENOTFOUND, NULL, "no such token") : rc;
}

/* Names in the changes feed every hash token id holds now: its current
 * value and, while it lives, the one before. */
static int note_hashes(sqlite_store *st, int64_t id)
{
    return sq_run(st, NULL, NULL,
                  "INSERT INTO changes (at, kind, entity_id, hash) "
                  "SELECT strftime('%s','now'), 'token', id, secret_hash FROM tokens WHERE id = ?1 "
                  "UNION ALL SELECT strftime('%s','now'), 'token', id, previous_hash FROM tokens "
                  "WHERE id = ?1 AND previous_hash IS NOT NULL",
                  "i", id);
}

/* Inserts t (transaction level held); fills its id and version. */
static int insert_one(sqlite_store *st, pat_token_rec *t)
{
    int64_t id = 0;
    int rc = sq_run(st, NULL, &id,
                    "INSERT INTO tokens (name, description, prefix, secret_hash, previous_hash, "
                    "previous_valid_until, scopes, allowed_cidrs, updated_at, expires_at, "
                    "disabled_at, user_id, created_at, flags, organizations, version) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,1)",
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

int sq_token_insert(pat_store *s, pat_token_rec *t)
{
    sqlite_store *st = sq_of(s);
    int rc;

    if ((rc = sq_tx_enter(st)) < 0)
        return rc;
    return sq_tx_leave(st, insert_one(st, t));
}

int sq_token_insert_many(pat_store *s, pat_token_rec *t, size_t n)
{
    sqlite_store *st = sq_of(s);
    int rc;

    if ((rc = sq_tx_enter(st)) < 0)
        return rc;
    for (size_t i = 0; i < n && rc == PAT_OK; i++)
        rc = insert_one(st, &t[i]);
    return sq_tx_leave(st, rc);
}

int sq_token_get(pat_store *s, int64_t id, pat_token_rec *out)
{
    return not_found(
        sq_one(sq_of(s), read_token, out, "SELECT " TOKEN_COLS " FROM tokens WHERE id = ?", "i", id));
}

#define TOKEN_BY_HASH_SQL "SELECT " TOKEN_COLS " FROM tokens WHERE secret_hash = ?"
#define TOKEN_BY_PREVIOUS_SQL                                                                      \
    "SELECT " TOKEN_COLS " FROM tokens WHERE previous_hash = ? AND previous_valid_until > ?"

void sq_readers_close(sqlite_store *st)
{
    sq_reader *r = st->readers;

    while (r) {
        sq_reader *next = r->next;
        sqlite3_finalize(r->by_hash);
        sqlite3_finalize(r->by_previous);
        sqlite3_close(r->db);
        free(r);
        r = next;
    }
    st->readers = NULL;
    if (st->has_reader_key)
        pthread_key_delete(st->reader_key);
    st->has_reader_key = false;
}

/* The calling thread's reader, opened on first use; NULL if it cannot be
 * opened (the caller then uses the writing connection). */
static sq_reader *reader_get(sqlite_store *st)
{
    sq_reader *r;

    if (!st->has_reader_key)
        return NULL;
    if ((r = pthread_getspecific(st->reader_key)))
        return r;
    r = pat_calloc(1, sizeof(*r));
    /* NOMUTEX: only this thread ever uses the connection. */
    if (sqlite3_open_v2(st->path, &r->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
            SQLITE_OK ||
        sqlite3_busy_timeout(r->db, 5000) != SQLITE_OK ||
        sqlite3_prepare_v3(r->db, TOKEN_BY_HASH_SQL, -1, SQLITE_PREPARE_PERSISTENT, &r->by_hash,
                           NULL) != SQLITE_OK ||
        sqlite3_prepare_v3(r->db, TOKEN_BY_PREVIOUS_SQL, -1, SQLITE_PREPARE_PERSISTENT,
                           &r->by_previous, NULL) != SQLITE_OK) {
        pat_log_error("sqlite: cannot open a reader: %s",
                      r->db ? sqlite3_errmsg(r->db) : "out of memory");
        sqlite3_finalize(r->by_hash);
        sqlite3_finalize(r->by_previous);
        sqlite3_close(r->db);
        free(r);
        return NULL;
    }
    pthread_mutex_lock(&st->readers_lock);
    r->next = st->readers;
    st->readers = r;
    pthread_mutex_unlock(&st->readers_lock);
    pthread_setspecific(st->reader_key, r);
    return r;
}

/* Runs one prepared lookup and resets it. */
static int lookup(sqlite3 *db, sqlite3_stmt *q, pat_token_rec *out)
{
    int rc = sqlite3_step(q);

    if (rc == SQLITE_ROW)
        rc = read_token(q, out);
    else if (rc == SQLITE_DONE)
        rc = pat_error_set(PAT_ENOTFOUND, NULL, "no such token");
    else
        rc = sq_error(db, rc, "get token by hash");
    sqlite3_reset(q);
    return rc;
}

int sq_token_get_by_hash(pat_store *s, const uint8_t hash[PAT_HASH_LEN], int64_t now,
                         pat_token_rec *out, int *is_previous)
{
    sqlite_store *st = sq_of(s);
    sq_reader *r = reader_get(st);
    int rc;

    if (!r) {
        rc = sq_one(st, read_token, out, TOKEN_BY_HASH_SQL, "h", hash);
        if (rc == PAT_ENOTFOUND &&
            (rc = sq_one(st, read_token, out, TOKEN_BY_PREVIOUS_SQL, "hi", hash, now)) == PAT_OK) {
            *is_previous = 1;
            return PAT_OK;
        }
        *is_previous = 0;
        return not_found(rc);
    }
    sq_bind(r->by_hash, "h", hash);
    if ((rc = lookup(r->db, r->by_hash, out)) != PAT_ENOTFOUND) {
        *is_previous = 0;
        return rc;
    }
    sq_bind(r->by_previous, "hi", hash, now);
    rc = lookup(r->db, r->by_previous, out);
    *is_previous = rc == PAT_OK;
    return rc;
}

int sq_token_list(pat_store *s, int64_t user_id, pat_token_rec **out, size_t *n)
{
    return sq_list(sq_of(s), read_token, sizeof(pat_token_rec), (void **)out, n,
                   "SELECT " TOKEN_COLS " FROM tokens WHERE user_id = ? ORDER BY id DESC", "i",
                   user_id);
}

int sq_token_hashes(pat_store *s, int64_t now,
                    void (*fn)(void *arg, const uint8_t hash[PAT_HASH_LEN]), void *arg, size_t *n)
{
    sqlite_store *st = sq_of(s);
    sqlite3_stmt *q = NULL;
    size_t count = 0;
    int rc, step;

    /* One read, under the lock: a million rows take well under a second,
     * and the caller wants one consistent view. */
    pthread_mutex_lock(&st->lock);
    if ((rc = sq_prepare(st, &q,
                         "SELECT secret_hash FROM tokens UNION ALL SELECT previous_hash FROM "
                         "tokens WHERE previous_hash IS NOT NULL AND previous_valid_until > ?")) <
        0)
        goto out;
    sq_bind(q, "i", now);
    while ((step = sqlite3_step(q)) == SQLITE_ROW) {
        uint8_t hash[PAT_HASH_LEN];
        if (fn) {
            sq_hash(q, 0, hash);
            fn(arg, hash);
        }
        count++;
    }
    if (step != SQLITE_DONE)
        rc = sq_error(st->db, step, "token hashes");
    else if (n)
        *n = count;
out:
    sqlite3_finalize(q);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

int sq_token_list_exceeding(pat_store *s, int never_too, int64_t latest, size_t limit,
                            pat_token_rec **out, size_t *n)
{
    return sq_list(sq_of(s), read_token, sizeof(pat_token_rec), (void **)out, n,
                   "SELECT " TOKEN_COLS " FROM tokens WHERE (?1 AND expires_at IS NULL) "
                   "OR (?2 > 0 AND expires_at > ?2) ORDER BY id LIMIT ?3",
                   "iii", (int64_t)(never_too != 0), latest, (int64_t)limit);
}

int sq_token_list_exceeding_in(pat_store *s, int64_t org_id, int never_too, int64_t latest,
                               size_t limit, pat_token_rec **out, size_t *n)
{
    /* organizations is '' (all) or slugs separated by single spaces. */
    return sq_list(sq_of(s), read_token, sizeof(pat_token_rec), (void **)out, n,
                   "SELECT " TOKEN_COLS " FROM tokens t WHERE ((?1 AND expires_at IS NULL) "
                   "OR (?2 > 0 AND expires_at > ?2)) AND user_id IN "
                   "(SELECT user_id FROM org_members WHERE org_id = ?4) AND "
                   "(organizations = '' OR ' ' || organizations || ' ' LIKE "
                   "'% ' || (SELECT slug FROM orgs WHERE id = ?4) || ' %') ORDER BY id LIMIT ?3",
                   "iiii", (int64_t)(never_too != 0), latest, (int64_t)limit, org_id);
}

/* One statement for every narrow edit: a column takes its new value only
 * when its bit is in ?1, so the statement is fixed and the write touches
 * nothing it was not asked to. */
#define TOKEN_UPDATE_SQL                                                                           \
    "UPDATE tokens SET "                                                                           \
    "name = CASE WHEN ?1 & 1 THEN ?2 ELSE name END, "                                              \
    "description = CASE WHEN ?1 & 2 THEN ?3 ELSE description END, "                                \
    "scopes = CASE WHEN ?1 & 4 THEN ?4 ELSE scopes END, "                                          \
    "allowed_cidrs = CASE WHEN ?1 & 8 THEN ?5 ELSE allowed_cidrs END, "                            \
    "expires_at = CASE WHEN ?1 & 16 THEN ?6 ELSE expires_at END, "                                 \
    "disabled_at = CASE WHEN ?1 & 32 THEN ?7 ELSE disabled_at END, "                               \
    "secret_hash = CASE WHEN ?1 & 64 THEN ?8 ELSE secret_hash END, "                               \
    "prefix = CASE WHEN ?1 & 64 THEN ?9 ELSE prefix END, "                                         \
    "previous_hash = CASE WHEN ?1 & 64 THEN ?10 ELSE previous_hash END, "                          \
    "previous_valid_until = CASE WHEN ?1 & 64 THEN ?11 ELSE previous_valid_until END, "            \
    "flags = CASE WHEN ?1 & 128 THEN ?15 ELSE flags END, "                                         \
    "organizations = CASE WHEN ?1 & 256 THEN ?16 ELSE organizations END, "                         \
    "updated_at = ?12, version = version + 1 WHERE id = ?13 AND version = ?14"

int sq_token_update(pat_store *s, pat_token_rec *t, unsigned fields)
{
    sqlite_store *st = sq_of(s);
    int64_t changed = 0, version = 0;
    int rc;

    _Static_assert(PAT_TOKEN_F_NAME == 1 && PAT_TOKEN_F_DESCRIPTION == 2 &&
                       PAT_TOKEN_F_SCOPES == 4 && PAT_TOKEN_F_CIDRS == 8 &&
                       PAT_TOKEN_F_EXPIRES == 16 && PAT_TOKEN_F_DISABLED == 32 &&
                       PAT_TOKEN_F_SECRET == 64 && PAT_TOKEN_F_FLAGS == 128 &&
                       PAT_TOKEN_F_ORGS == 256,
                   "TOKEN_UPDATE_SQL spells the field bits out");
    if ((rc = sq_tx_enter(st)) < 0)
        return rc;
    /* The hashes before the edit, then (below) those after it. */
    if ((rc = note_hashes(st, t->id)) < 0)
        goto out;
    if ((rc = sq_run(st, &changed, NULL, TOKEN_UPDATE_SQL, "ittttnnhthniiiit", (int64_t)fields,
                     t->name, t->description, t->scopes, t->allowed_cidrs, t->expires_at,
                     t->disabled_at, t->hash, t->prefix,
                     t->previous_valid_until ? t->previous_hash : NULL, t->previous_valid_until,
                     t->updated_at, t->id, t->version, (int64_t)t->flags, t->orgs)) < 0)
        goto out;
    if (changed == 0) {
        rc = sq_one(st, sq_read_int64, &version, "SELECT version FROM tokens WHERE id = ?", "i",
                    t->id);
        rc = pat_store_edit_refused(rc, "token");
        goto out;
    }
    if ((fields & PAT_TOKEN_F_SECRET) && (rc = note_hashes(st, t->id)) < 0)
        goto out;
    t->version++;
out:
    return sq_tx_leave(st, not_found(rc));
}

/* Deletes token id of user_id (transaction level held); *deleted = 1 if
 * it was there. */
static int delete_one(sqlite_store *st, int64_t user_id, int64_t id, int *deleted)
{
    int64_t changed = 0;
    int rc;

    if ((rc = note_hashes(st, id)) < 0 ||
        (rc = sq_run(st, &changed, NULL, "DELETE FROM tokens WHERE id = ? AND user_id = ?", "ii",
                     id, user_id)) < 0)
        return rc;
    *deleted = changed > 0;
    return PAT_OK;
}

int sq_token_delete(pat_store *s, int64_t user_id, int64_t id)
{
    sqlite_store *st = sq_of(s);
    int rc, deleted = 0;

    if ((rc = sq_tx_enter(st)) < 0)
        return rc;
    if ((rc = delete_one(st, user_id, id, &deleted)) == PAT_OK && !deleted)
        rc = pat_error_set(PAT_ENOTFOUND, NULL, "no such token");
    return sq_tx_leave(st, rc);
}

int sq_token_delete_many(pat_store *s, int64_t user_id, const int64_t *ids, size_t n,
                         int64_t *deleted, size_t *ndeleted)
{
    sqlite_store *st = sq_of(s);
    size_t count = 0;
    int rc;

    if ((rc = sq_tx_enter(st)) < 0)
        return rc;
    for (size_t i = 0; i < n && rc == PAT_OK; i++) {
        int gone = 0;
        if ((rc = delete_one(st, user_id, ids[i], &gone)) == PAT_OK && gone)
            deleted[count++] = ids[i];
    }
    if ((rc = sq_tx_leave(st, rc)) == PAT_OK)
        *ndeleted = count;
    return rc;
}

int sq_token_touch_many(pat_store *s, const pat_token_touch *touches, size_t n)
{
    sqlite_store *st = sq_of(s);
    sqlite3_stmt *q = NULL;
    int rc;

    if ((rc = sq_tx_enter(st)) < 0)
        return rc;
    if ((rc = sq_prepare(st, &q,
                         /* ?2 = 0: counts only, details unchanged. The detail
                          * columns are set before last_used_at, so each CASE
                          * still compares with the old time. */
                         "UPDATE tokens SET use_count = use_count + ?1, "
                         "last_used_ip = CASE WHEN ?2 > 0 AND COALESCE(last_used_at, 0) <= ?2 "
                         "THEN ?3 ELSE last_used_ip END, "
                         "last_used_method = CASE WHEN ?2 > 0 AND COALESCE(last_used_at, 0) <= ?2 "
                         "THEN ?4 ELSE last_used_method END, "
                         "last_used_path = CASE WHEN ?2 > 0 AND COALESCE(last_used_at, 0) <= ?2 "
                         "THEN ?5 ELSE last_used_path END, "
                         "last_used_user_agent = CASE WHEN ?2 > 0 AND "
                         "COALESCE(last_used_at, 0) <= ?2 THEN ?6 ELSE last_used_user_agent END, "
                         "last_used_at = CASE WHEN ?2 > 0 AND COALESCE(last_used_at, 0) <= ?2 "
                         "THEN ?2 ELSE last_used_at END "
                         "WHERE id = ?7")) < 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        const pat_token_touch *t = &touches[i];
        int step;
        sqlite3_reset(q);
        sq_bind(q, "iitttti", t->uses, t->last.at, t->last.ip, t->last.method, t->last.path,
                t->last.user_agent, t->token_id);
        if ((step = sqlite3_step(q)) != SQLITE_DONE) {
            rc = sq_error(st->db, step, "touch token");
            goto out;
        }
    }
out:
    sqlite3_finalize(q);
    return sq_tx_leave(st, rc);
}

int sq_tokens_to_remind(pat_store *s, int64_t after, int64_t until, int64_t threshold,
                        size_t limit, pat_token_rec **out, size_t *n)
{
    return sq_list(sq_of(s), read_token, sizeof(pat_token_rec), (void **)out, n,
                   "SELECT " TOKEN_COLS " FROM tokens WHERE expires_at > ?1 AND expires_at <= ?2 "
                   "AND disabled_at IS NULL AND (?3 = 0 OR expires_at - created_at > ?3 * 86400) "
                   "AND NOT EXISTS (SELECT 1 FROM reminders r WHERE "
                   "r.token_id = tokens.id AND r.threshold = ?3) ORDER BY expires_at LIMIT ?4",
                   "iiii", after, until, threshold, (int64_t)limit);
}

int sq_reminder_add(pat_store *s, int64_t token_id, int64_t threshold, int64_t at)
{
    return sq_run(sq_of(s), NULL, NULL,
                  "INSERT INTO reminders (token_id, threshold, sent_at) VALUES (?,?,?)",
                  "iii", token_id, threshold, at);
}
