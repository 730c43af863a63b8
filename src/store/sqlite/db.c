/* SQLite backend: the connection, migrations, units of work and the
 * statement helper. One writing connection in WAL mode behind a recursive
 * mutex (a unit of work holds it from begin to commit, so every call of its
 * thread joins the transaction and other writers wait); verification's
 * lookups by hash go through read-only connections of their own threads
 * (tokens.c), which never wait for the writer. */
#include <assert.h>
#include <stdarg.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite/sqlite_int.h"
#include "util/embed.h"
#include "util/error.h"
#include "util/log.h"
#include "util/mem.h"

extern const pat_embedded_file pat_sqlite_migrations[];

int sq_error(sqlite3 *db, int rc, const char *what)
{
    if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
        return pat_error_set(PAT_EEXISTS, NULL, "already exists");
    pat_log_error("sqlite: %s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
    return pat_error_set(PAT_EIO, NULL, "database error");
}

/* Runs sql without parameters on the writing connection (lock held). */
static int exec_sql(sqlite_store *st, const char *sql)
{
    int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);

    return rc == SQLITE_OK ? PAT_OK : sq_error(st->db, rc, sql);
}

/* PAT_OK if the database file can keep a write: still at its path (not
 * moved or deleted under us: SQLite would go on writing to the unlinked
 * inode, and every write would vanish at the next start), writable, and
 * its disk not full. A stat and a statvfs: cheap next to a commit. */
static int check_writable(sqlite_store *st)
{
    int moved = 0;
    struct statvfs fs;

    if (!st->path)
        return PAT_OK; /* in memory */
    if (sqlite3_file_control(st->db, "main", SQLITE_FCNTL_HAS_MOVED, &moved) != SQLITE_OK ||
        moved)
        return pat_error_set(PAT_EUNAVAIL, NULL,
                             "the database file was moved or deleted; restart patd once it "
                             "is back");
    if (sqlite3_db_readonly(st->db, "main") == 1 || access(st->path, W_OK) != 0)
        return pat_error_set(PAT_EUNAVAIL, NULL, "the database is read-only");
    if (statvfs(st->path, &fs) == 0 && fs.f_bavail == 0)
        return pat_error_set(PAT_EUNAVAIL, NULL, "the database's disk is full");
    return PAT_OK;
}

/* ---- units of work ---- */

int sq_tx_enter(sqlite_store *st)
{
    int rc;

    pthread_mutex_lock(&st->lock);
    if ((st->tx_depth == 0 && (rc = check_writable(st)) < 0) ||
        (rc = exec_sql(st, st->tx_depth == 0 ? "BEGIN IMMEDIATE" : "SAVEPOINT sq")) < 0) {
        pthread_mutex_unlock(&st->lock);
        return rc;
    }
    st->tx_depth++;
    return PAT_OK;
}

int sq_tx_leave(sqlite_store *st, int rc)
{
    assert(st->tx_depth > 0);
    st->tx_depth--;
    if (st->tx_depth == 0) {
        int crc = rc == PAT_OK ? exec_sql(st, "COMMIT") : PAT_OK;
        /* A failed COMMIT can leave the transaction open: end it. */
        if (rc < 0 || crc < 0)
            sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        if (rc == PAT_OK)
            rc = crc;
    } else if (rc == PAT_OK) {
        rc = exec_sql(st, "RELEASE sq");
    } else {
        sqlite3_exec(st->db, "ROLLBACK TO sq", NULL, NULL, NULL);
        sqlite3_exec(st->db, "RELEASE sq", NULL, NULL, NULL);
    }
    pthread_mutex_unlock(&st->lock);
    return rc;
}

static int sq_begin(pat_store *s)
{
    sqlite_store *st = sq_of(s);
    int rc;

    /* Holding the lock, in_unit can only be this thread's own unit. */
    pthread_mutex_lock(&st->lock);
    if (st->in_unit) {
        rc = pat_error_set(PAT_EINVAL, NULL, "units of work do not nest");
    } else if ((rc = sq_tx_enter(st)) == PAT_OK) {
        st->in_unit = true;
    }
    pthread_mutex_unlock(&st->lock);
    return rc;
}

/* Ends the calling thread's unit of work with rc (PAT_OK commits). */
static int end_unit(sqlite_store *st, int rc)
{
    pthread_mutex_lock(&st->lock);
    if (!st->in_unit) {
        pthread_mutex_unlock(&st->lock);
        return rc == PAT_OK ? pat_error_set(PAT_EINVAL, NULL, "no unit of work is open") : PAT_OK;
    }
    assert(st->tx_depth == 1);
    st->in_unit = false;
    rc = sq_tx_leave(st, rc);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

static int sq_commit(pat_store *s)
{
    return end_unit(sq_of(s), PAT_OK);
}

static int sq_rollback(pat_store *s)
{
    end_unit(sq_of(s), PAT_ECONFLICT);
    return PAT_OK;
}

/* ---- the statement helper ---- */

static void bind_args(sqlite3_stmt *q, const char *fmt, va_list ap)
{
    for (int i = 0; fmt[i]; i++) {
        int col = i + 1;
        switch (fmt[i]) {
        case 'i':
            sqlite3_bind_int64(q, col, va_arg(ap, int64_t));
            break;
        case 'n': {
            int64_t v = va_arg(ap, int64_t);
            if (v)
                sqlite3_bind_int64(q, col, v);
            else
                sqlite3_bind_null(q, col);
            break;
        }
        case 't': {
            const char *v = va_arg(ap, const char *);
            if (v)
                sqlite3_bind_text(q, col, v, -1, SQLITE_STATIC);
            else
                sqlite3_bind_null(q, col);
            break;
        }
        case 'h': {
            const uint8_t *v = va_arg(ap, const uint8_t *);
            if (v)
                sqlite3_bind_blob(q, col, v, PAT_HASH_LEN, SQLITE_STATIC);
            else
                sqlite3_bind_null(q, col);
            break;
        }
        case 'B': {
            const uint8_t *v = va_arg(ap, const uint8_t *);
            size_t n = va_arg(ap, size_t);
            sqlite3_bind_blob(q, col, v, (int)n, SQLITE_STATIC);
            break;
        }
        default:
            assert(!"unknown bind letter");
        }
    }
}

/* Prepares sql and binds it (lock held). */
/* The kept statement for sql, prepared on first use (lock held); one in
 * use already (a call within a call) is prepared afresh, not kept. */
static int cached(sqlite_store *st, const char *sql, sqlite3_stmt **q)
{
    struct sq_cached *c;
    int rc;

    for (unsigned i = 0; i < SQ_CACHE_SIZE; i++) {
        c = &st->cache[i];
        if (c->sql && !c->busy && strcmp(c->sql, sql) == 0) {
            c->busy = true;
            *q = c->q;
            return SQLITE_OK;
        }
    }
    c = &st->cache[st->cache_next];
    if (c->busy)
        return sqlite3_prepare_v2(st->db, sql, -1, q, NULL);
    if ((rc = sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, q, NULL)) !=
        SQLITE_OK)
        return rc;
    st->cache_next = (st->cache_next + 1) % SQ_CACHE_SIZE;
    sqlite3_finalize(c->q);
    free(c->sql);
    c->sql = pat_strdup(sql);
    c->q = *q;
    c->busy = true;
    return SQLITE_OK;
}

/* Done with q: a kept statement is reset for its next use (and lets go of
 * what it bound), any other finalized. */
static void release(sqlite_store *st, sqlite3_stmt *q)
{
    if (!q)
        return;
    for (unsigned i = 0; i < SQ_CACHE_SIZE; i++) {
        if (st->cache[i].q == q && st->cache[i].busy) {
            sqlite3_reset(q);
            sqlite3_clear_bindings(q);
            st->cache[i].busy = false;
            return;
        }
    }
    sqlite3_finalize(q);
}

void sq_cache_clear(sqlite_store *st)
{
    for (unsigned i = 0; i < SQ_CACHE_SIZE; i++) {
        sqlite3_finalize(st->cache[i].q);
        free(st->cache[i].sql);
        memset(&st->cache[i], 0, sizeof(st->cache[i]));
    }
}

static int prepare(sqlite_store *st, sqlite3_stmt **q, const char *sql, const char *fmt,
                   va_list ap)
{
    int rc = cached(st, sql, q);

    if (rc != SQLITE_OK)
        return sq_error(st->db, rc, "prepare");
    assert(strlen(fmt) == (size_t)sqlite3_bind_parameter_count(*q));
    bind_args(*q, fmt, ap);
    return PAT_OK;
}

int sq_prepare(sqlite_store *st, sqlite3_stmt **q, const char *sql)
{
    int rc = sqlite3_prepare_v2(st->db, sql, -1, q, NULL);

    return rc == SQLITE_OK ? PAT_OK : sq_error(st->db, rc, "prepare");
}

void sq_bind(sqlite3_stmt *q, const char *fmt, ...)
{
    va_list ap;

    assert(strlen(fmt) == (size_t)sqlite3_bind_parameter_count(q));
    va_start(ap, fmt);
    bind_args(q, fmt, ap);
    va_end(ap);
}

int sq_run(sqlite_store *st, int64_t *changes, int64_t *last_id, const char *sql,
           const char *fmt, ...)
{
    sqlite3_stmt *q = NULL;
    va_list ap;
    int rc;

    pthread_mutex_lock(&st->lock);
    /* A write on its own (outside any transaction) is checked here; those
     * inside one were checked when it began. */
    if (st->tx_depth == 0 && (rc = check_writable(st)) < 0)
        goto out;
    va_start(ap, fmt);
    rc = prepare(st, &q, sql, fmt, ap);
    va_end(ap);
    if (rc < 0)
        goto out;
    if ((rc = sqlite3_step(q)) != SQLITE_DONE && rc != SQLITE_ROW) {
        rc = sq_error(st->db, rc, sql);
        goto out;
    }
    rc = PAT_OK;
    if (changes)
        *changes = sqlite3_changes(st->db);
    if (last_id)
        *last_id = sqlite3_last_insert_rowid(st->db);
out:
    release(st, q);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

int sq_one(sqlite_store *st, sq_row_fn read, void *dst, const char *sql, const char *fmt, ...)
{
    sqlite3_stmt *q = NULL;
    va_list ap;
    int rc;

    pthread_mutex_lock(&st->lock);
    va_start(ap, fmt);
    rc = prepare(st, &q, sql, fmt, ap);
    va_end(ap);
    if (rc < 0)
        goto out;
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        rc = read(q, dst);
    else if (rc == SQLITE_DONE)
        rc = PAT_ENOTFOUND;
    else
        rc = sq_error(st->db, rc, sql);
out:
    release(st, q);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

int sq_list(sqlite_store *st, sq_row_fn read, size_t elem, void **out, size_t *n,
            const char *sql, const char *fmt, ...)
{
    sqlite3_stmt *q = NULL;
    char *list = NULL;
    size_t count = 0, alloc = 0;
    va_list ap;
    int rc;

    pthread_mutex_lock(&st->lock);
    va_start(ap, fmt);
    rc = prepare(st, &q, sql, fmt, ap);
    va_end(ap);
    if (rc < 0)
        goto out;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (count == alloc) {
            alloc = alloc ? alloc * 2 : 8;
            list = pat_realloc(list, alloc * elem);
        }
        if ((rc = read(q, list + count * elem)) < 0)
            goto out;
        count++;
    }
    if (rc != SQLITE_DONE) {
        rc = sq_error(st->db, rc, sql);
        goto out;
    }
    rc = PAT_OK;
    *out = list;
    *n = count;
    list = NULL;
out:
    free(list);
    release(st, q);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

int sq_read_int64(sqlite3_stmt *q, void *dst)
{
    *(int64_t *)dst = sqlite3_column_int64(q, 0);
    return PAT_OK;
}

int sq_text(sqlite3_stmt *q, int col, char *dst, size_t dstsz)
{
    const unsigned char *t = sqlite3_column_text(q, col);
    size_t n = t ? (size_t)sqlite3_column_bytes(q, col) : 0;

    assert(dstsz > 0);
    if (n >= dstsz) {
        dst[0] = '\0';
        pat_log_error("sqlite: a stored %s of %zu bytes does not fit %zu",
                      sqlite3_column_name(q, col), n, dstsz - 1);
        return pat_error_set(PAT_EIO, NULL, "stored text does not fit");
    }
    if (n)
        memcpy(dst, t, n);
    dst[n] = '\0';
    return PAT_OK;
}

void sq_hash(sqlite3_stmt *q, int col, uint8_t dst[PAT_HASH_LEN])
{
    const void *b = sqlite3_column_blob(q, col);

    if (b && sqlite3_column_bytes(q, col) == PAT_HASH_LEN)
        memcpy(dst, b, PAT_HASH_LEN);
    else
        memset(dst, 0, PAT_HASH_LEN);
}

/* ---- migrations ---- */

/* Applies the embedded migrations newer than the database, all in one
 * transaction. Foreign keys are off meanwhile: a migration may rebuild a
 * table others refer to. */
static int migrate(sqlite_store *st)
{
    int64_t current = 0;
    int rc;

    if ((rc = exec_sql(st, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                           "version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                           "applied_at INTEGER NOT NULL)")) < 0 ||
        (rc = sq_tx_enter(st)) < 0)
        return rc;
    if ((rc = sq_one(st, sq_read_int64, &current,
                     "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", "")) < 0)
        goto out;
    for (const pat_embedded_file *f = pat_sqlite_migrations; f->name; f++) {
        int64_t version = strtoll(f->name, NULL, 10);
        if (version <= current)
            continue;
        if ((rc = exec_sql(st, (const char *)f->data)) < 0 ||
            (rc = sq_run(st, NULL, NULL,
                         "INSERT INTO schema_migrations VALUES (?, ?, strftime('%s','now'))", "it",
                         version, f->name)) < 0)
            goto out;
        pat_log_info("applied migration %s", f->name);
    }
    rc = PAT_OK;
out:
    return sq_tx_leave(st, rc);
}

/* ---- lifecycle ---- */

static void sq_close(pat_store *s)
{
    sqlite_store *st = sq_of(s);

    assert(st->tx_depth == 0);
    sq_readers_close(st);
    sq_cache_clear(st);
    sqlite3_close(st->db);
    pthread_mutex_destroy(&st->readers_lock);
    pthread_mutex_destroy(&st->lock);
    free(st->path);
    free(st);
}

static int sq_ping(pat_store *s)
{
    sqlite_store *st = sq_of(s);
    int rc;

    pthread_mutex_lock(&st->lock);
    if ((rc = exec_sql(st, "SELECT 1")) == PAT_OK)
        rc = check_writable(st);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

static const pat_store_vtable sqlite_vtable = {
    .version = 2,
    .close = sq_close,
    .ping = sq_ping,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .user_create = sq_user_create,
    .user_get = sq_user_get,
    .user_get_by_name = sq_user_get_by_name,
    .user_count = sq_user_count,
    .user_list = sq_user_list,
    .user_update = sq_user_update,
    .org_create = sq_org_create,
    .org_get = sq_org_get,
    .org_list = sq_org_list,
    .org_update = sq_org_update,
    .member_add = sq_member_add,
    .member_update = sq_member_update,
    .member_remove = sq_member_remove,
    .member_get = sq_member_get,
    .member_list = sq_member_list,
    .token_insert = sq_token_insert,
    .token_get = sq_token_get,
    .token_insert_many = sq_token_insert_many,
    .token_get_by_hash = sq_token_get_by_hash,
    .token_list = sq_token_list,
    .token_hashes = sq_token_hashes,
    .token_update = sq_token_update,
    .token_delete = sq_token_delete,
    .token_delete_many = sq_token_delete_many,
    .token_list_exceeding = sq_token_list_exceeding,
    .token_list_exceeding_in = sq_token_list_exceeding_in,
    .token_touch_many = sq_token_touch_many,
    .clients_seen = sq_clients_seen,
    .client_alerted = sq_client_alerted,
    .client_list = sq_client_list,
    .clients_prune = sq_clients_prune,
    .rotation_put = sq_rotation_put,
    .rotation_get = sq_rotation_get,
    .rotation_delete = sq_rotation_delete,
    .rotation_list = sq_rotation_list,
    .rotation_touch_many = sq_rotation_touch_many,
    .rotations_prune = sq_rotations_prune,
    .scope_uses_add = sq_scope_uses_add,
    .scope_uses_list = sq_scope_uses_list,
    .scope_uses_prune = sq_scope_uses_prune,
    .session_insert = sq_session_insert,
    .session_get = sq_session_get,
    .session_delete = sq_session_delete,
    .session_set_confirmed = sq_session_set_confirmed,
    .session_prune = sq_session_prune,
    .session_delete_user = sq_session_delete_user,
    .setting_get = sq_setting_get,
    .setting_set = sq_setting_set,
    .changes_last = sq_changes_last,
    .changes_since = sq_changes_since,
    .changes_prune = sq_changes_prune,
    .changes_wait = sq_changes_wait,
    .audit_append = sq_audit_append,
    .audit_list = sq_audit_list,
    .audit_prune = sq_audit_prune,
    .key_insert = sq_key_insert,
    .key_list = sq_key_list,
    .key_delete = sq_key_delete,
    .tokens_to_remind = sq_tokens_to_remind,
    .reminder_add = sq_reminder_add,
    .outbox_add = sq_outbox_add,
    .outbox_claim = sq_outbox_claim,
    .outbox_mark = sq_outbox_mark,
    .outbox_retry_all = sq_outbox_retry_all,
    .outbox_counts = sq_outbox_counts,
    .outbox_list = sq_outbox_list,
    .count_rows = sq_count_rows,
    .session_list = sq_session_list,
    .setting_list = sq_setting_list,
    .put_users = sq_put_users,
    .put_tokens = sq_put_tokens,
    .put_audit = sq_put_audit,
    .put_orgs = sq_put_orgs,
    .ids_reset = sq_ids_reset,
};

int pat_store_sqlite_open(pat_store **out, const char *path)
{
    sqlite_store *st = pat_calloc(1, sizeof(*st));
    pthread_mutexattr_t attr;
    int rc;

    st->base.vt = &sqlite_vtable;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&st->lock, &attr);
    pthread_mutexattr_destroy(&attr);
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
        /* 16 MiB of page cache: last-use batches touch rows all over a large
         * tokens table. */
        (rc = exec_sql(st, "PRAGMA cache_size = -16384")) < 0 || (rc = migrate(st)) < 0 ||
        /* After migrating: foreign keys cannot be switched inside one. */
        (rc = exec_sql(st, "PRAGMA foreign_keys = ON")) < 0)
        goto fail;
    /* Readers need a file that a second connection opens as the same
     * database; an in-memory one is not. */
    if (*path && strcmp(path, ":memory:") != 0 && (st->path = strdup(path)) &&
        pthread_key_create(&st->reader_key, NULL) == 0)
        st->has_reader_key = true;
    *out = &st->base;
    return PAT_OK;
fail:
    sq_cache_clear(st);
    sqlite3_close(st->db);
    pthread_mutex_destroy(&st->readers_lock);
    pthread_mutex_destroy(&st->lock);
    free(st->path);
    free(st);
    return rc;
}
