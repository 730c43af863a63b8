/* SQLite backend: one connection in WAL mode behind a mutex. Every call is
 * one short transaction; statements are prepared with bound parameters.
 * Verification's lookup by hash (a cache miss) goes instead through a
 * read-only connection of the calling thread with its statements prepared
 * once: WAL readers never wait for the writer, so a miss does not queue
 * behind a last-use flush or an API call. */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store/store_int.h"
#include "util/embed.h"
#include "util/error.h"
#include "util/log.h"
#include "util/mem.h"

extern const pat_embedded_file pat_sqlite_migrations[];

/* A thread's read-only connection for lookups by hash. */
typedef struct reader {
    sqlite3 *db;
    sqlite3_stmt *by_hash;     /* current value */
    sqlite3_stmt *by_previous; /* value before regeneration, in its grace period */
    struct reader *next;
} reader;

typedef struct sqlite_store {
    pat_store base;
    sqlite3 *db;
    pthread_mutex_t lock;
    char *path;
    pthread_key_t reader_key;
    bool has_reader_key;
    pthread_mutex_t readers_lock;
    reader *readers; /* every thread's, closed with the store */
} sqlite_store;

static sqlite_store *S(pat_store *s)
{
    return (sqlite_store *)s;
}

/* Maps a SQLite result on db to a status, logging what a person needs to
 * debug. */
static int db_error_on(sqlite3 *db, int rc, const char *what)
{
    if ((rc & 0xFF) == SQLITE_CONSTRAINT) {
        if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
            return pat_error_set(PAT_EEXISTS, NULL, "already exists");
    }
    pat_log_error("sqlite: %s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
    return pat_error_set(PAT_EIO, NULL, "database error");
}

static int db_error(sqlite_store *st, int rc, const char *what)
{
    return db_error_on(st->db, rc, what);
}

static int prepare(sqlite_store *st, const char *sql, sqlite3_stmt **out)
{
    int rc = sqlite3_prepare_v2(st->db, sql, -1, out, NULL);

    return rc == SQLITE_OK ? PAT_OK : db_error(st, rc, "prepare");
}

static void bind_opt_time(sqlite3_stmt *q, int i, int64_t v)
{
    if (v)
        sqlite3_bind_int64(q, i, v);
    else
        sqlite3_bind_null(q, i);
}

static void copy_text(sqlite3_stmt *q, int col, char *dst, size_t dstsz)
{
    const unsigned char *t = sqlite3_column_text(q, col);
    size_t n = t ? strlen((const char *)t) : 0;

    if (n >= dstsz)
        n = dstsz - 1;
    if (n)
        memcpy(dst, t, n);
    dst[n] = '\0';
}

static void copy_hash(sqlite3_stmt *q, int col, uint8_t dst[PAT_HASH_LEN])
{
    const void *b = sqlite3_column_blob(q, col);

    if (b && sqlite3_column_bytes(q, col) == PAT_HASH_LEN)
        memcpy(dst, b, PAT_HASH_LEN);
    else
        memset(dst, 0, PAT_HASH_LEN);
}

/* Runs a statement that returns no rows. */
static int exec_done(sqlite_store *st, sqlite3_stmt *q, const char *what)
{
    int rc = sqlite3_step(q);

    return rc == SQLITE_DONE ? PAT_OK : db_error(st, rc, what);
}

static int exec_sql(sqlite_store *st, const char *sql)
{
    int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);

    return rc == SQLITE_OK ? PAT_OK : db_error(st, rc, sql);
}

/* ---- migrations ---- */

static int migrate(sqlite_store *st)
{
    sqlite3_stmt *q = NULL;
    int64_t current = 0;
    int rc;

    if ((rc = exec_sql(st, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                           "version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                           "applied_at INTEGER NOT NULL)")) < 0)
        return rc;
    if ((rc = exec_sql(st, "BEGIN IMMEDIATE")) < 0)
        return rc;
    if ((rc = prepare(st, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &q)) < 0)
        goto fail;
    if (sqlite3_step(q) == SQLITE_ROW)
        current = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    q = NULL;
    for (const pat_embedded_file *f = pat_sqlite_migrations; f->name; f++) {
        int64_t version = strtoll(f->name, NULL, 10);
        if (version <= current)
            continue;
        if ((rc = exec_sql(st, (const char *)f->data)) < 0)
            goto fail;
        if ((rc = prepare(st, "INSERT INTO schema_migrations VALUES (?, ?, strftime('%s','now'))",
                          &q)) < 0)
            goto fail;
        sqlite3_bind_int64(q, 1, version);
        sqlite3_bind_text(q, 2, f->name, -1, SQLITE_STATIC);
        rc = exec_done(st, q, "record migration");
        sqlite3_finalize(q);
        q = NULL;
        if (rc < 0)
            goto fail;
        pat_log_info("applied migration %s", f->name);
    }
    return exec_sql(st, "COMMIT");
fail:
    sqlite3_finalize(q);
    sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* ---- lifecycle ---- */

static void readers_close(sqlite_store *st)
{
    reader *r = st->readers;

    while (r) {
        reader *next = r->next;
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

static void sq_close(pat_store *s)
{
    sqlite_store *st = S(s);

    readers_close(st);
    sqlite3_close(st->db);
    pthread_mutex_destroy(&st->readers_lock);
    pthread_mutex_destroy(&st->lock);
    free(st->path);
    free(st);
}

static int sq_ping(pat_store *s)
{
    sqlite_store *st = S(s);
    int rc;

    pthread_mutex_lock(&st->lock);
    rc = exec_sql(st, "SELECT 1");
    pthread_mutex_unlock(&st->lock);
    return rc;
}

/* Steps q to the end, reading each row with read into a growing array of
 * elements of size elem (lock held). On success *out (caller frees), *n. */
static int collect(sqlite_store *st, sqlite3_stmt *q, void (*read)(sqlite3_stmt *, void *),
                   size_t elem, void **out, size_t *n)
{
    char *list = NULL;
    size_t count = 0, alloc = 0;
    int rc;

    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (count == alloc) {
            alloc = alloc ? alloc * 2 : 8;
            list = pat_realloc(list, alloc * elem);
        }
        read(q, list + count * elem);
        count++;
    }
    if (rc != SQLITE_DONE) {
        free(list);
        return db_error(st, rc, "list");
    }
    *out = list;
    *n = count;
    return PAT_OK;
}

/* ---- users ---- */

#define USER_COLS                                                                                  \
    "id, username, email, password_hash, role, disabled, can_manage_tokens, created_at, "          \
    "updated_at"

static void read_user(sqlite3_stmt *q, pat_user *u)
{
    char role[16];

    memset(u, 0, sizeof(*u));
    u->id = sqlite3_column_int64(q, 0);
    copy_text(q, 1, u->username, sizeof(u->username));
    copy_text(q, 2, u->email, sizeof(u->email));
    copy_text(q, 3, u->password_hash, sizeof(u->password_hash));
    copy_text(q, 4, role, sizeof(role));
    u->role = strcmp(role, "superuser") == 0 ? PAT_ROLE_SUPERUSER : PAT_ROLE_MEMBER;
    u->disabled = sqlite3_column_int(q, 5) != 0;
    u->can_manage_tokens = sqlite3_column_int(q, 6) != 0;
    u->created_at = sqlite3_column_int64(q, 7);
    u->updated_at = sqlite3_column_int64(q, 8);
}

static int sq_user_create(pat_store *s, pat_user *u)
{
    sqlite_store *st = S(s);
    sqlite3_stmt *q = NULL;
    int rc;

    pthread_mutex_lock(&st->lock);
    if ((rc = prepare(st,
                      "INSERT INTO users (username, email, password_hash, role, disabled, "
                      "can_manage_tokens, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?)",
                      &q)) < 0)
        goto out;
    sqlite3_bind_text(q, 1, u->username, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, u->email, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, u->password_hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, u->role == PAT_ROLE_SUPERUSER ? "superuser" : "member", -1,
                      SQLITE_STATIC);
    sqlite3_bind_int(q, 5, u->disabled);
    sqlite3_bind_int(q, 6, u->can_manage_tokens);
    sqlite3_bind_int64(q, 7, u->created_at);
    sqlite3_bind_int64(q, 8, u->updated_at);
    if ((rc = exec_done(st, q, "insert user")) == PAT_OK)
        u->id = sqlite3_last_insert_rowid(st->db);
out:
    sqlite3_finalize(q);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

static int user_get_where(sqlite_store *st, const char *sql, int64_t id, const char *name,
                          pat_user *out)
{
    sqlite3_stmt *q = NULL;
    int rc;

    pthread_mutex_lock(&st->lock);
    if ((rc = prepare(st, sql, &q)) < 0)
        goto out;
    if (name)
        sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(q, 1, id);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        read_user(q, out);
        rc = PAT_OK;
    } else if (rc == SQLITE_DONE) {
        rc = pat_error_set(PAT_ENOTFOUND, NULL, "no such user");
    } else {
        rc = db_error(st, rc, "get user");
    }
out:
    sqlite3_finalize(q);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

static int sq_user_get(pat_store *s, int64_t id, pat_user *out)
{
    return user_get_where(S(s), "SELECT " USER_COLS " FROM users WHERE id = ?", id, NULL, out);
}

static int sq_user_get_by_name(pat_store *s, const char *username, pat_user *out)
{
    return user_get_where(S(s), "SELECT " USER_COLS " FROM users WHERE username = ?", 0, username,
                          out);
}

static int sq_user_count(pat_store *s, int64_t *out)
{
    sqlite_store *st = S(s);
    sqlite3_stmt *q = NULL;
    int rc;

    pthread_mutex_lock(&st->lock);
    if ((rc = prepare(st, "SELECT COUNT(*) FROM users", &q)) < 0)
        goto out;
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(q, 0);
        rc = PAT_OK;
    } else {
        rc = db_error(st, rc, "count users");
    }
out:
    sqlite3_finalize(q);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

static void read_user_row(sqlite3_stmt *q, void *dst)
{
    read_user(q, dst);
}

static int sq_user_list(pat_store *s, pat_user **out, size_t *n)
{
    sqlite_store *st = S(s);
    sqlite3_stmt *q = NULL;
    int rc;

    pthread_mutex_lock(&st->lock);
    if ((rc = prepare(st, "SELECT " USER_COLS " FROM users ORDER BY id", &q)) == PAT_OK)
        rc = collect(st, q, read_user_row, sizeof(pat_user), (void **)out, n);
    sqlite3_finalize(q);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

static int sq_user_update(pat_store *s, const pat_user *u)
{
    sqlite_store *st = S(s);
    sqlite3_stmt *q = NULL;
    int rc;

    pthread_mutex_lock(&st->lock);
    if ((rc = prepare(st,
                      "UPDATE users SET email = ?, password_hash = ?, role = ?, disabled = ?, "
                      "can_manage_tokens = ?, updated_at = ? WHERE id = ?",
                      &q)) < 0)
        goto out;
    sqlite3_bind_text(q, 1, u->email, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, u->password_hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, u->role == PAT_ROLE_SUPERUSER ? "superuser" : "member", -1,
                      SQLITE_STATIC);
    sqlite3_bind_int(q, 4, u->disabled);
    sqlite3_bind_int(q, 5, u->can_manage_tokens);
    sqlite3_bind_int64(q, 6, u->updated_at);
    sqlite3_bind_int64(q, 7, u->id);
    if ((rc = exec_done(st, q, "update user")) == PAT_OK && sqlite3_changes(st->db) == 0)
        rc = pat_error_set(PAT_ENOTFOUND, NULL, "no such user");
out:
    sqlite3_finalize(q);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

/* ---- tokens ---- */

#define TOKEN_COLS                                                                                 \
    "id, user_id, name, description, prefix, secret_hash, previous_hash, previous_valid_until, "   \
    "scopes, allowed_cidrs, created_at, updated_at, expires_at, disabled_at, last_used_at, "       \
    "last_used_ip, last_used_method, last_used_path, last_used_user_agent, use_count"

static void read_token(sqlite3_stmt *q, pat_token_rec *t)
{
    memset(t, 0, sizeof(*t));
    t->id = sqlite3_column_int64(q, 0);
    t->user_id = sqlite3_column_int64(q, 1);
    copy_text(q, 2, t->name, sizeof(t->name));
    copy_text(q, 3, t->description, sizeof(t->description));
    copy_text(q, 4, t->prefix, sizeof(t->prefix));
    copy_hash(q, 5, t->hash);
    copy_hash(q, 6, t->previous_hash);
    t->previous_valid_until = sqlite3_column_int64(q, 7);
    copy_text(q, 8, t->scopes, sizeof(t->scopes));
    copy_text(q, 9, t->allowed_cidrs, sizeof(t->allowed_cidrs));
    t->created_at = sqlite3_column_int64(q, 10);
    t->updated_at = sqlite3_column_int64(q, 11);
    t->expires_at = sqlite3_column_int64(q, 12);
    t->disabled_at = sqlite3_column_int64(q, 13);
    t->last_use.at = sqlite3_column_int64(q, 14);
    copy_text(q, 15, t->last_use.ip, sizeof(t->last_use.ip));
    copy_text(q, 16, t->last_use.method, sizeof(t->last_use.method));
    copy_text(q, 17, t->last_use.path, sizeof(t->last_use.path));
    copy_text(q, 18, t->last_use.user_agent, sizeof(t->last_use.user_agent));
    t->use_count = sqlite3_column_int64(q, 19);
}

/* Binds the mutable columns of t from parameter 1 in the order of the
 * INSERT and UPDATE statements below; returns the next free index. */
static int bind_token_fields(sqlite3_stmt *q, const pat_token_rec *t)
{
    sqlite3_bind_text(q, 1, t->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, t->description, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, t->prefix, -1, SQLITE_STATIC);
    sqlite3_bind_blob(q, 4, t->hash, PAT_HASH_LEN, SQLITE_STATIC);
    if (t->previous_valid_until)
        sqlite3_bind_blob(q, 5, t->previous_hash, PAT_HASH_LEN, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, 5);
    bind_opt_time(q, 6, t->previous_valid_until);
    sqlite3_bind_text(q, 7, t->scopes, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 8, t->allowed_cidrs, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 9, t->updated_at);
    bind_opt_time(q, 10, t->expires_at);
    bind_opt_time(q, 11, t->disabled_at);
    return 12;
}

#define TOKEN_INSERT_SQL                                                                           \
    "INSERT INTO tokens (name, description, prefix, secret_hash, previous_hash, "                  \
    "previous_valid_until, scopes, allowed_cidrs, updated_at, expires_at, disabled_at, user_id, "  \
    "created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"

/* Binds and runs the prepared insert for t (lock held); fills t->id. */
static int insert_token(sqlite_store *st, sqlite3_stmt *q, pat_token_rec *t)
{
    int rc, i;

    sqlite3_reset(q);
    i = bind_token_fields(q, t);
    sqlite3_bind_int64(q, i, t->user_id);
    sqlite3_bind_int64(q, i + 1, t->created_at);
    if ((rc = exec_done(st, q, "insert token")) == PAT_OK)
        t->id = sqlite3_last_insert_rowid(st->db);
    return rc;
}

static int sq_token_insert(pat_store *s, pat_token_rec *t)
{
    sqlite_store *st = S(s);
    sqlite3_stmt *q = NULL;
    int rc;

    pthread_mutex_lock(&st->lock);
    if ((rc = prepare(st, TOKEN_INSERT_SQL, &q)) == PAT_OK)
        rc = insert_token(st, q, t);
    sqlite3_finalize(q);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

static int sq_token_insert_many(pat_store *s, pat_token_rec *t, size_t n)
{
    sqlite_store *st = S(s);
    sqlite3_stmt *q = NULL;
    int rc;

    pthread_mutex_lock(&st->lock);
    if ((rc = exec_sql(st, "BEGIN IMMEDIATE")) < 0)
        goto out;
    if ((rc = prepare(st, TOKEN_INSERT_SQL, &q)) < 0)
        goto rollback;
    for (size_t i = 0; i < n; i++) {
        if ((rc = insert_token(st, q, &t[i])) < 0)
            goto rollback;
    }
    sqlite3_finalize(q);
    q = NULL;
    if ((rc = exec_sql(st, "COMMIT")) == PAT_OK)
        goto out;
rollback:
    sqlite3_finalize(q);
    sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
out:
    pthread_mutex_unlock(&st->lock);
    return rc;
}

static int token_get_one(sqlite3 *db, sqlite3_stmt *q, pat_token_rec *out)
{
    int rc = sqlite3_step(q);

    if (rc == SQLITE_ROW) {
        read_token(q, out);
        return PAT_OK;
    }
    if (rc == SQLITE_DONE)
        return pat_error_set(PAT_ENOTFOUND, NULL, "no such token");
    return db_error_on(db, rc, "get token");
}

static int sq_token_get(pat_store *s, int64_t id, pat_token_rec *out)
{
    sqlite_store *st = S(s);
    sqlite3_stmt *q = NULL;
    int rc;

    pthread_mutex_lock(&st->lock);
    if ((rc = prepare(st, "SELECT " TOKEN_COLS " FROM tokens WHERE id = ?", &q)) < 0)
        goto out;
    sqlite3_bind_int64(q, 1, id);
    rc = token_get_one(st->db, q, out);
out:
    sqlite3_finalize(q);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

#define TOKEN_BY_HASH_SQL "SELECT " TOKEN_COLS " FROM tokens WHERE secret_hash = ?"
#define TOKEN_BY_PREVIOUS_SQL                                                                      \
    "SELECT " TOKEN_COLS " FROM tokens WHERE previous_hash = ? AND previous_valid_until > ?"

/* The calling thread's reader, opened on first use; NULL if it cannot be
 * opened (the caller then uses the shared connection). */
static reader *reader_get(sqlite_store *st)
{
    reader *r;

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

/* Looks hash up with the two statements given (on db). */
static int token_by_hash(sqlite3 *db, sqlite3_stmt *by_hash, sqlite3_stmt *by_previous,
                         const uint8_t hash[PAT_HASH_LEN], int64_t now, pat_token_rec *out,
                         int *is_previous)
{
    int rc;

    sqlite3_bind_blob(by_hash, 1, hash, PAT_HASH_LEN, SQLITE_STATIC);
    rc = token_get_one(db, by_hash, out);
    sqlite3_reset(by_hash);
    if (rc != PAT_ENOTFOUND) {
        *is_previous = 0;
        return rc;
    }
    sqlite3_bind_blob(by_previous, 1, hash, PAT_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(by_previous, 2, now);
    rc = token_get_one(db, by_previous, out);
    sqlite3_reset(by_previous);
    *is_previous = rc == PAT_OK;
    return rc;
}

static int sq_token_get_by_hash(pat_store *s, const uint8_t hash[PAT_HASH_LEN], int64_t now,
                                pat_token_rec *out, int *is_previous)
{
    sqlite_store *st = S(s);
    reader *r = reader_get(st);
    sqlite3_stmt *a = NULL, *b = NULL;
    int rc;

    if (r)
        return token_by_hash(r->db, r->by_hash, r->by_previous, hash, now, out, is_previous);
    pthread_mutex_lock(&st->lock);
    if ((rc = prepare(st, TOKEN_BY_HASH_SQL, &a)) == PAT_OK &&
        (rc = prepare(st, TOKEN_BY_PREVIOUS_SQL, &b)) == PAT_OK)
        rc = token_by_hash(st->db, a, b, hash, now, out, is_previous);
    sqlite3_finalize(a);
    sqlite3_finalize(b);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

static void read_token_row(sqlite3_stmt *q, void *dst)
{
    read_token(q, dst);
}

static int sq_token_list(pat_store *s, int64_t user_id, pat_token_rec **out, size_t *n)
{
    sqlite_store *st = S(s);
    sqlite3_stmt *q = NULL;
    int rc;

    pthread_mutex_lock(&st->lock);
    if ((rc = prepare(st, "SELECT " TOKEN_COLS " FROM tokens WHERE user_id = ? ORDER BY id DESC",
                      &q)) < 0)
        goto out;
    sqlite3_bind_int64(q, 1, user_id);
    rc = collect(st, q, read_token_row, sizeof(pat_token_rec), (void **)out, n);
out:
    sqlite3_finalize(q);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

static int sq_token_list_exceeding(pat_store *s, int never_too, int64_t latest, size_t limit,
                                   pat_token_rec **out, size_t *n)
{
    sqlite_store *st = S(s);
    sqlite3_stmt *q = NULL;
    int rc;

    pthread_mutex_lock(&st->lock);
    if ((rc = prepare(st,
                      "SELECT " TOKEN_COLS " FROM tokens WHERE (?1 AND expires_at IS NULL) "
                      "OR (?2 > 0 AND expires_at > ?2) ORDER BY id LIMIT ?3",
                      &q)) < 0)
        goto out;
    sqlite3_bind_int(q, 1, never_too != 0);
    sqlite3_bind_int64(q, 2, latest);
    sqlite3_bind_int64(q, 3, (sqlite3_int64)limit);
    rc = collect(st, q, read_token_row, sizeof(pat_token_rec), (void **)out, n);
out:
    sqlite3_finalize(q);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

static int sq_token_update(pat_store *s, const pat_token_rec *t)
{
    sqlite_store *st = S(s);
    sqlite3_stmt *q = NULL;
    int rc, i;

    pthread_mutex_lock(&st->lock);
    if ((rc = prepare(st,
                      "UPDATE tokens SET name = ?, description = ?, prefix = ?, secret_hash = ?, "
                      "previous_hash = ?, previous_valid_until = ?, scopes = ?, allowed_cidrs = ?, "
                      "updated_at = ?, expires_at = ?, disabled_at = ? WHERE id = ?",
                      &q)) < 0)
        goto out;
    i = bind_token_fields(q, t);
    sqlite3_bind_int64(q, i, t->id);
    if ((rc = exec_done(st, q, "update token")) == PAT_OK && sqlite3_changes(st->db) == 0)
        rc = pat_error_set(PAT_ENOTFOUND, NULL, "no such token");
out:
    sqlite3_finalize(q);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

static int delete_one(sqlite_store *st, int64_t user_id, int64_t id, int *deleted)
{
    sqlite3_stmt *q = NULL;
    int rc;

    if ((rc = prepare(st, "DELETE FROM tokens WHERE id = ? AND user_id = ?", &q)) < 0)
        return rc;
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_int64(q, 2, user_id);
    rc = exec_done(st, q, "delete token");
    sqlite3_finalize(q);
    if (rc == PAT_OK)
        *deleted = sqlite3_changes(st->db) > 0;
    return rc;
}

static int sq_token_delete(pat_store *s, int64_t user_id, int64_t id)
{
    sqlite_store *st = S(s);
    int rc, deleted = 0;

    pthread_mutex_lock(&st->lock);
    rc = delete_one(st, user_id, id, &deleted);
    pthread_mutex_unlock(&st->lock);
    if (rc == PAT_OK && !deleted)
        rc = pat_error_set(PAT_ENOTFOUND, NULL, "no such token");
    return rc;
}

static int sq_token_delete_many(pat_store *s, int64_t user_id, const int64_t *ids, size_t n,
                                int64_t *deleted, size_t *ndeleted)
{
    sqlite_store *st = S(s);
    size_t count = 0;
    int rc;

    pthread_mutex_lock(&st->lock);
    if ((rc = exec_sql(st, "BEGIN IMMEDIATE")) < 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        int gone = 0;
        if ((rc = delete_one(st, user_id, ids[i], &gone)) < 0) {
            sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
            goto out;
        }
        if (gone)
            deleted[count++] = ids[i];
    }
    if ((rc = exec_sql(st, "COMMIT")) < 0) {
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        goto out;
    }
    *ndeleted = count;
out:
    pthread_mutex_unlock(&st->lock);
    return rc;
}

static int sq_token_touch_many(pat_store *s, const pat_token_touch *touches, size_t n)
{
    sqlite_store *st = S(s);
    sqlite3_stmt *q = NULL;
    int rc;

    pthread_mutex_lock(&st->lock);
    if ((rc = exec_sql(st, "BEGIN IMMEDIATE")) < 0)
        goto out;
    if ((rc = prepare(st,
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
                      "last_used_user_agent = CASE WHEN ?2 > 0 AND COALESCE(last_used_at, 0) <= ?2 "
                      "THEN ?6 ELSE last_used_user_agent END, "
                      "last_used_at = CASE WHEN ?2 > 0 AND COALESCE(last_used_at, 0) <= ?2 "
                      "THEN ?2 ELSE last_used_at END "
                      "WHERE id = ?7",
                      &q)) < 0)
        goto rollback;
    for (size_t i = 0; i < n; i++) {
        const pat_token_touch *t = &touches[i];
        sqlite3_reset(q);
        sqlite3_bind_int64(q, 1, t->uses);
        sqlite3_bind_int64(q, 2, t->last.at);
        sqlite3_bind_text(q, 3, t->last.ip, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 4, t->last.method, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 5, t->last.path, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 6, t->last.user_agent, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 7, t->token_id);
        if ((rc = exec_done(st, q, "touch token")) < 0)
            goto rollback;
    }
    sqlite3_finalize(q);
    q = NULL;
    if ((rc = exec_sql(st, "COMMIT")) == PAT_OK)
        goto out;
rollback:
    sqlite3_finalize(q);
    q = NULL;
    sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
out:
    pthread_mutex_unlock(&st->lock);
    return rc;
}

/* ---- sessions ---- */

static int sq_session_insert(pat_store *s, const pat_session_rec *r)
{
    sqlite_store *st = S(s);
    sqlite3_stmt *q = NULL;
    int rc;

    pthread_mutex_lock(&st->lock);
    if ((rc = prepare(st,
                      "INSERT INTO sessions (id_hash, user_id, csrf_hash, created_at, expires_at, "
                      "confirmed_until, ip, user_agent) VALUES (?,?,?,?,?,?,?,?)",
                      &q)) < 0)
        goto out;
    sqlite3_bind_blob(q, 1, r->id_hash, PAT_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, r->user_id);
    sqlite3_bind_blob(q, 3, r->csrf_hash, PAT_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, r->created_at);
    sqlite3_bind_int64(q, 5, r->expires_at);
    sqlite3_bind_int64(q, 6, r->confirmed_until);
    sqlite3_bind_text(q, 7, r->ip, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 8, r->user_agent, -1, SQLITE_STATIC);
    rc = exec_done(st, q, "insert session");
out:
    sqlite3_finalize(q);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

static int sq_session_get(pat_store *s, const uint8_t id_hash[PAT_HASH_LEN], pat_session_rec *out)
{
    sqlite_store *st = S(s);
    sqlite3_stmt *q = NULL;
    int rc;

    pthread_mutex_lock(&st->lock);
    if ((rc = prepare(st,
                      "SELECT id_hash, user_id, csrf_hash, created_at, expires_at, "
                      "confirmed_until, ip, user_agent FROM sessions WHERE id_hash = ?",
                      &q)) < 0)
        goto out;
    sqlite3_bind_blob(q, 1, id_hash, PAT_HASH_LEN, SQLITE_STATIC);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        memset(out, 0, sizeof(*out));
        copy_hash(q, 0, out->id_hash);
        out->user_id = sqlite3_column_int64(q, 1);
        copy_hash(q, 2, out->csrf_hash);
        out->created_at = sqlite3_column_int64(q, 3);
        out->expires_at = sqlite3_column_int64(q, 4);
        out->confirmed_until = sqlite3_column_int64(q, 5);
        copy_text(q, 6, out->ip, sizeof(out->ip));
        copy_text(q, 7, out->user_agent, sizeof(out->user_agent));
        rc = PAT_OK;
    } else if (rc == SQLITE_DONE) {
        rc = pat_error_set(PAT_ENOTFOUND, NULL, "no such session");
    } else {
        rc = db_error(st, rc, "get session");
    }
out:
    sqlite3_finalize(q);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

static int sq_session_delete(pat_store *s, const uint8_t id_hash[PAT_HASH_LEN])
{
    sqlite_store *st = S(s);
    sqlite3_stmt *q = NULL;
    int rc;

    pthread_mutex_lock(&st->lock);
    if ((rc = prepare(st, "DELETE FROM sessions WHERE id_hash = ?", &q)) < 0)
        goto out;
    sqlite3_bind_blob(q, 1, id_hash, PAT_HASH_LEN, SQLITE_STATIC);
    rc = exec_done(st, q, "delete session");
out:
    sqlite3_finalize(q);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

static int sq_session_set_confirmed(pat_store *s, const uint8_t id_hash[PAT_HASH_LEN],
                                    int64_t confirmed_until)
{
    sqlite_store *st = S(s);
    sqlite3_stmt *q = NULL;
    int rc;

    pthread_mutex_lock(&st->lock);
    if ((rc = prepare(st, "UPDATE sessions SET confirmed_until = ? WHERE id_hash = ?", &q)) < 0)
        goto out;
    sqlite3_bind_int64(q, 1, confirmed_until);
    sqlite3_bind_blob(q, 2, id_hash, PAT_HASH_LEN, SQLITE_STATIC);
    if ((rc = exec_done(st, q, "confirm session")) == PAT_OK && sqlite3_changes(st->db) == 0)
        rc = pat_error_set(PAT_ENOTFOUND, NULL, "no such session");
out:
    sqlite3_finalize(q);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

static int sq_session_delete_user(pat_store *s, int64_t user_id, const uint8_t keep[PAT_HASH_LEN])
{
    sqlite_store *st = S(s);
    sqlite3_stmt *q = NULL;
    static const uint8_t none[PAT_HASH_LEN];
    int rc;

    pthread_mutex_lock(&st->lock);
    if ((rc = prepare(st, "DELETE FROM sessions WHERE user_id = ? AND id_hash != ?", &q)) < 0)
        goto out;
    sqlite3_bind_int64(q, 1, user_id);
    sqlite3_bind_blob(q, 2, keep ? keep : none, PAT_HASH_LEN, SQLITE_STATIC);
    rc = exec_done(st, q, "delete sessions");
out:
    sqlite3_finalize(q);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

/* ---- settings and audit ---- */

static int sq_setting_get(pat_store *s, const char *key, char *out, size_t outsz)
{
    sqlite_store *st = S(s);
    sqlite3_stmt *q = NULL;
    int rc;

    pthread_mutex_lock(&st->lock);
    if ((rc = prepare(st, "SELECT value FROM settings WHERE key = ?", &q)) < 0)
        goto out;
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        copy_text(q, 0, out, outsz);
        rc = PAT_OK;
    } else if (rc == SQLITE_DONE) {
        rc = pat_error_set(PAT_ENOTFOUND, NULL, "no such setting");
    } else {
        rc = db_error(st, rc, "get setting");
    }
out:
    sqlite3_finalize(q);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

static int sq_setting_set(pat_store *s, const char *key, const char *value)
{
    sqlite_store *st = S(s);
    sqlite3_stmt *q = NULL;
    int rc;

    pthread_mutex_lock(&st->lock);
    if ((rc = prepare(st,
                      "INSERT INTO settings (key, value) VALUES (?, ?) "
                      "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                      &q)) < 0)
        goto out;
    sqlite3_bind_text(q, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, value, -1, SQLITE_STATIC);
    rc = exec_done(st, q, "set setting");
out:
    sqlite3_finalize(q);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

static int sq_audit_append(pat_store *s, pat_audit_rec *r)
{
    sqlite_store *st = S(s);
    sqlite3_stmt *q = NULL;
    int rc;

    pthread_mutex_lock(&st->lock);
    if ((rc = prepare(st,
                      "INSERT INTO audit (at, actor_user_id, actor_token_id, action, target, ip, "
                      "user_agent, detail) VALUES (?,?,?,?,?,?,?,?)",
                      &q)) < 0)
        goto out;
    sqlite3_bind_int64(q, 1, r->at);
    bind_opt_time(q, 2, r->actor_user_id);
    bind_opt_time(q, 3, r->actor_token_id);
    sqlite3_bind_text(q, 4, r->action, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 5, r->target, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 6, r->ip, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 7, r->user_agent, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 8, r->detail, -1, SQLITE_STATIC);
    if ((rc = exec_done(st, q, "append audit")) == PAT_OK)
        r->id = sqlite3_last_insert_rowid(st->db);
out:
    sqlite3_finalize(q);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

static void read_audit_row(sqlite3_stmt *q, void *dst)
{
    pat_audit_rec *r = dst;

    memset(r, 0, sizeof(*r));
    r->id = sqlite3_column_int64(q, 0);
    r->at = sqlite3_column_int64(q, 1);
    r->actor_user_id = sqlite3_column_int64(q, 2);
    r->actor_token_id = sqlite3_column_int64(q, 3);
    copy_text(q, 4, r->action, sizeof(r->action));
    copy_text(q, 5, r->target, sizeof(r->target));
    copy_text(q, 6, r->ip, sizeof(r->ip));
    copy_text(q, 7, r->user_agent, sizeof(r->user_agent));
    copy_text(q, 8, r->detail, sizeof(r->detail));
}

static int sq_audit_list(pat_store *s, const pat_audit_filter *f, pat_audit_rec **out, size_t *n)
{
    sqlite_store *st = S(s);
    sqlite3_stmt *q = NULL;
    int rc;

    pthread_mutex_lock(&st->lock);
    if ((rc = prepare(st,
                      "SELECT id, at, actor_user_id, actor_token_id, action, target, ip, "
                      "user_agent, detail FROM audit WHERE (?1 = 0 OR actor_user_id = ?1) "
                      "AND (?2 = '' OR action = ?2) AND at >= ?3 AND (?4 = 0 OR id < ?4) "
                      "ORDER BY id DESC LIMIT ?5",
                      &q)) < 0)
        goto out;
    sqlite3_bind_int64(q, 1, f->user_id);
    sqlite3_bind_text(q, 2, f->action ? f->action : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, f->since);
    sqlite3_bind_int64(q, 4, f->before_id);
    sqlite3_bind_int64(q, 5, (sqlite3_int64)f->limit);
    rc = collect(st, q, read_audit_row, sizeof(pat_audit_rec), (void **)out, n);
out:
    sqlite3_finalize(q);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

/* Runs a DELETE with one integer parameter (lock taken here). */
static int delete_before(sqlite_store *st, const char *sql, int64_t t)
{
    sqlite3_stmt *q = NULL;
    int rc;

    pthread_mutex_lock(&st->lock);
    if ((rc = prepare(st, sql, &q)) == PAT_OK) {
        sqlite3_bind_int64(q, 1, t);
        rc = exec_done(st, q, "prune");
    }
    sqlite3_finalize(q);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

static int sq_audit_prune(pat_store *s, int64_t before)
{
    return delete_before(S(s), "DELETE FROM audit WHERE at < ?", before);
}

static int sq_session_prune(pat_store *s, int64_t now)
{
    return delete_before(S(s), "DELETE FROM sessions WHERE expires_at <= ?", now);
}

static const pat_store_vtable sqlite_vtable = {
    .version = 1,
    .close = sq_close,
    .ping = sq_ping,
    .user_create = sq_user_create,
    .user_get = sq_user_get,
    .user_get_by_name = sq_user_get_by_name,
    .user_count = sq_user_count,
    .user_list = sq_user_list,
    .user_update = sq_user_update,
    .token_insert = sq_token_insert,
    .token_get = sq_token_get,
    .token_insert_many = sq_token_insert_many,
    .token_get_by_hash = sq_token_get_by_hash,
    .token_list = sq_token_list,
    .token_update = sq_token_update,
    .token_delete = sq_token_delete,
    .token_delete_many = sq_token_delete_many,
    .token_list_exceeding = sq_token_list_exceeding,
    .token_touch_many = sq_token_touch_many,
    .session_insert = sq_session_insert,
    .session_get = sq_session_get,
    .session_delete = sq_session_delete,
    .session_set_confirmed = sq_session_set_confirmed,
    .session_prune = sq_session_prune,
    .session_delete_user = sq_session_delete_user,
    .setting_get = sq_setting_get,
    .setting_set = sq_setting_set,
    .audit_append = sq_audit_append,
    .audit_list = sq_audit_list,
    .audit_prune = sq_audit_prune,
};

int pat_store_sqlite_open(pat_store **out, const char *path)
{
    sqlite_store *st = pat_calloc(1, sizeof(*st));
    int rc;

    st->base.vt = &sqlite_vtable;
    pthread_mutex_init(&st->lock, NULL);
    pthread_mutex_init(&st->readers_lock, NULL);
    rc = sqlite3_open_v2(path, &st->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
    if (rc != SQLITE_OK) {
        pat_log_error("sqlite: cannot open %s: %s", path,
                      st->db ? sqlite3_errmsg(st->db) : "out of memory");
        rc = pat_error_set(PAT_EIO, "db", "cannot open the database");
        goto fail;
    }
    sqlite3_busy_timeout(st->db, 5000);
    sqlite3_extended_result_codes(st->db, 1);
    if ((rc = exec_sql(st, "PRAGMA journal_mode = WAL")) < 0 ||
        (rc = exec_sql(st, "PRAGMA synchronous = FULL")) < 0 ||
        (rc = exec_sql(st, "PRAGMA foreign_keys = ON")) < 0 ||
        /* 16 MiB of page cache: last-use batches touch rows all over a large
         * tokens table. */
        (rc = exec_sql(st, "PRAGMA cache_size = -16384")) < 0 || (rc = migrate(st)) < 0)
        goto fail;
    /* Readers need a file that a second connection opens as the same
     * database; an in-memory one is not. */
    if (*path && strcmp(path, ":memory:") != 0 && (st->path = strdup(path)) &&
        pthread_key_create(&st->reader_key, NULL) == 0)
        st->has_reader_key = true;
    *out = &st->base;
    return PAT_OK;
fail:
    sqlite3_close(st->db);
    pthread_mutex_destroy(&st->readers_lock);
    pthread_mutex_destroy(&st->lock);
    free(st);
    return rc;
}
