/* PostgreSQL backend: connections, migrations, units of work and the
 * statement helper. Every thread has a connection of its own (HTTP threads
 * for cache misses, the flusher for last-use batches, the follower for the
 * changes feed), so a unit of work is simply a transaction on the calling
 * thread's connection. Writers take turns: every write transaction first
 * takes one transaction-scoped advisory lock, which keeps the changes
 * feed's sequence in commit order (a reader that has seen N has seen every
 * change before it) and the last-superuser rule race-free across
 * instances; readers never wait. */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "store/postgres/pg_int.h"
#include "util/embed.h"
#include "util/error.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/time.h"

extern const pat_embedded_file pat_pg_migrations[];

/* Advisory lock keys (any two numbers no other program of the database
 * is likely to use). */
#define LOCK_WRITERS "7216001"
#define LOCK_MIGRATE "7216002"

#define RECONNECT_DELAY_US 500000
#define MAX_PARAMS 24

/* Postgres type oids of the parameters we bind. */
#define OID_BOOL 16
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_TEXT 25
#define OID_JSONB 3802

static void quiet_notices(void *arg, const char *message)
{
    (void)arg;
    (void)message; /* "relation already exists, skipping" and the like */
}

/* libpq's messages end in a newline; a log line must not. */
static const char *conn_message(PGconn *c)
{
    static __thread char msg[256];
    size_t n;

    snprintf(msg, sizeof(msg), "%s", c ? PQerrorMessage(c) : "out of memory");
    n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    for (char *p = msg; *p; p++)
        if (*p == '\n')
            *p = ' ';
    return msg;
}

PGconn *pg_connect(const char *url)
{
    /* dbname comes last and is expanded: the URL (and PG* variables for
     * what it leaves out) override the defaults before it. */
    const char *keys[] = {"connect_timeout", "keepalives_idle", "keepalives_interval",
                          "keepalives_count", "application_name", "dbname", NULL};
    const char *values[] = {"3", "10", "5", "3", "patd", url, NULL};
    PGconn *c = PQconnectdbParams(keys, values, 1);

    if (!c || PQstatus(c) != CONNECTION_OK) {
        pat_log_error("postgres: cannot connect: %s", conn_message(c));
        PQfinish(c);
        return NULL;
    }
    PQsetNoticeProcessor(c, quiet_notices, NULL);
    return c;
}

int pg_error(PGconn *c, const PGresult *res, const char *what)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorMessage(res) : "";

    if (state && strcmp(state, "23505") == 0)
        return pat_error_set(PAT_EEXISTS, NULL, "already exists");
    if (state && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0))
        return pat_error_set(PAT_ECONFLICT, NULL, "a concurrent change won; try again");
    if (!c || PQstatus(c) != CONNECTION_OK || !state || strncmp(state, "08", 2) == 0 ||
        strncmp(state, "57P", 3) == 0 || strcmp(state, "25006") == 0 ||
        strcmp(state, "53100") == 0) {
        pat_log_error("postgres: %s: %s", what, res && *msg ? msg : conn_message(c));
        return pat_error_set(PAT_EUNAVAIL, NULL, "the database is unavailable");
    }
    pat_log_error("postgres: %s: %s", what, msg);
    return pat_error_set(PAT_EIO, NULL, "database error");
}

/* ---- connections ---- */

static void conn_free(pg_conn *pc)
{
    PQfinish(pc->c);
    free(pc);
}

/* A thread ended: its connection goes with it. */
static void conn_destroy(void *p)
{
    pg_conn *pc = p;
    pg_store *st = pc->store;

    pthread_mutex_lock(&st->conns_lock);
    for (pg_conn **pp = &st->conns; *pp; pp = &(*pp)->next)
        if (*pp == pc) {
            *pp = pc->next;
            break;
        }
    pthread_mutex_unlock(&st->conns_lock);
    conn_free(pc);
}

/* True when c is known to be gone, or the server closed it since its last
 * use (pg_terminate_backend, a restart): reading what it sent tells. */
static bool conn_broken(PGconn *c)
{
    return !c || PQstatus(c) != CONNECTION_OK || !PQconsumeInput(c) ||
           PQstatus(c) != CONNECTION_OK;
}

int pg_conn_get(pg_store *st, pg_conn **out)
{
    pg_conn *pc = pthread_getspecific(st->key);

    if (!pc) {
        pc = pat_calloc(1, sizeof(*pc));
        pc->store = st;
        pthread_mutex_lock(&st->conns_lock);
        pc->next = st->conns;
        st->conns = pc;
        pthread_mutex_unlock(&st->conns_lock);
        pthread_setspecific(st->key, pc);
    }
    /* Inside a transaction a lost connection lost the transaction: the
     * caller fails and rolls back, and the next one reconnects. */
    if (pc->tx_depth == 0 && conn_broken(pc->c)) {
        int64_t now = pat_time_mono_us();
        PQfinish(pc->c);
        pc->c = NULL;
        pc->prepared = false;
        if (now < pc->next_try_us)
            return pat_error_set(PAT_EUNAVAIL, NULL, "the database is unavailable");
        if (!(pc->c = pg_connect(st->url))) {
            pc->next_try_us = now + RECONNECT_DELAY_US;
            return pat_error_set(PAT_EUNAVAIL, NULL, "the database is unavailable");
        }
    }
    if (!pc->c)
        return pat_error_set(PAT_EUNAVAIL, NULL, "the database is unavailable");
    *out = pc;
    return PAT_OK;
}

/* Runs sql without parameters; PAT_OK if it did what it should. */
static int exec_plain(PGconn *c, const char *sql)
{
    PGresult *res = PQexec(c, sql);
    ExecStatusType s = PQresultStatus(res);
    int rc = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK ? PAT_OK : pg_error(c, res, sql);

    PQclear(res);
    return rc;
}

/* ---- units of work ---- */

/* Opens the outermost transaction, in which writers take turns. A dead
 * connection found here is replaced and the BEGIN retried: nothing was
 * sent that could have happened twice. */
static int begin_write(pg_store *st, pg_conn *pc)
{
    int rc = exec_plain(pc->c, "BEGIN; SELECT pg_advisory_xact_lock(" LOCK_WRITERS ")");

    if (rc == PAT_EUNAVAIL && PQstatus(pc->c) != CONNECTION_OK) {
        pg_conn *again = NULL;
        if ((rc = pg_conn_get(st, &again)) < 0)
            return rc;
        rc = exec_plain(pc->c, "BEGIN; SELECT pg_advisory_xact_lock(" LOCK_WRITERS ")");
    }
    if (rc < 0 && PQstatus(pc->c) == CONNECTION_OK)
        exec_plain(pc->c, "ROLLBACK");
    return rc;
}

int pg_tx_enter(pg_store *st, pg_conn **out)
{
    pg_conn *pc = NULL;
    int rc;

    if ((rc = pg_conn_get(st, &pc)) < 0)
        return rc;
    if ((rc = pc->tx_depth == 0 ? begin_write(st, pc) : exec_plain(pc->c, "SAVEPOINT s")) < 0)
        return rc;
    if (pc->tx_depth == 0)
        pc->notified = false;
    pc->tx_depth++;
    *out = pc;
    return PAT_OK;
}

/* COMMIT of a transaction an error had already ended answers "ROLLBACK". */
static int commit(PGconn *c)
{
    PGresult *res = PQexec(c, "COMMIT");
    int rc;

    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        rc = pg_error(c, res, "commit");
    else if (strcmp(PQcmdStatus(res), "COMMIT") != 0)
        rc = pat_error_set(PAT_EIO, NULL, "the transaction failed and was rolled back");
    else
        rc = PAT_OK;
    PQclear(res);
    return rc;
}

int pg_tx_leave(pg_conn *pc, int rc)
{
    assert(pc->tx_depth > 0);
    pc->tx_depth--;
    if (pc->tx_depth == 0) {
        int crc = rc == PAT_OK ? commit(pc->c) : PAT_OK;
        if (rc < 0 && PQstatus(pc->c) == CONNECTION_OK)
            exec_plain(pc->c, "ROLLBACK");
        if (rc == PAT_OK)
            rc = crc;
    } else if (rc == PAT_OK) {
        rc = exec_plain(pc->c, "RELEASE s");
    } else if (PQstatus(pc->c) == CONNECTION_OK) {
        pat_error saved = *pat_error_last();
        exec_plain(pc->c, "ROLLBACK TO s");
        exec_plain(pc->c, "RELEASE s");
        *(pat_error *)pat_error_last() = saved;
        /* A notification queued inside went with it; the next change
         * queues another (an extra wake-up at worst). */
        pc->notified = false;
    }
    return rc;
}

static int pg_begin(pat_store *s)
{
    pg_store *st = pg_of(s);
    pg_conn *pc = pthread_getspecific(st->key);
    int rc;

    if (pc && pc->in_unit)
        return pat_error_set(PAT_EINVAL, NULL, "units of work do not nest");
    if ((rc = pg_tx_enter(st, &pc)) == PAT_OK)
        pc->in_unit = true;
    return rc;
}

static int end_unit(pg_store *st, int rc)
{
    pg_conn *pc = pthread_getspecific(st->key);

    if (!pc || !pc->in_unit)
        return rc == PAT_OK ? pat_error_set(PAT_EINVAL, NULL, "no unit of work is open") : PAT_OK;
    assert(pc->tx_depth == 1);
    pc->in_unit = false;
    return pg_tx_leave(pc, rc);
}

static int pg_commit(pat_store *s)
{
    return end_unit(pg_of(s), PAT_OK);
}

static int pg_rollback(pat_store *s)
{
    end_unit(pg_of(s), PAT_ECONFLICT);
    return PAT_OK;
}

/* ---- the statement helper ---- */

typedef struct params {
    int n;
    const char *values[MAX_PARAMS];
    int lengths[MAX_PARAMS];
    int formats[MAX_PARAMS];
    Oid types[MAX_PARAMS];
    char ints[MAX_PARAMS][24];
} params;

static void bind_args(params *p, const char *fmt, va_list ap)
{
    p->n = (int)strlen(fmt);
    assert(p->n <= MAX_PARAMS);
    for (int i = 0; i < p->n; i++) {
        p->lengths[i] = 0;
        p->formats[i] = 0;
        switch (fmt[i]) {
        case 'i':
        case 'n': {
            int64_t v = va_arg(ap, int64_t);
            p->types[i] = OID_INT8;
            snprintf(p->ints[i], sizeof(p->ints[i]), "%lld", (long long)v);
            p->values[i] = fmt[i] == 'n' && v == 0 ? NULL : p->ints[i];
            break;
        }
        case 'b':
            p->types[i] = OID_BOOL;
            p->values[i] = va_arg(ap, int) ? "true" : "false";
            break;
        case 't':
        case 'j':
            p->types[i] = fmt[i] == 't' ? OID_TEXT : OID_JSONB;
            p->values[i] = va_arg(ap, const char *);
            break;
        case 'h':
            p->types[i] = OID_BYTEA;
            p->values[i] = (const char *)va_arg(ap, const uint8_t *);
            p->lengths[i] = PAT_HASH_LEN;
            p->formats[i] = 1; /* binary: the 32 bytes as they are */
            break;
        case 'B':
            p->types[i] = OID_BYTEA;
            p->values[i] = (const char *)va_arg(ap, const uint8_t *);
            p->lengths[i] = (int)va_arg(ap, size_t);
            p->formats[i] = 1;
            break;
        default:
            assert(!"unknown bind letter");
        }
    }
}

static bool is_read(const char *sql)
{
    return strncmp(sql, "SELECT", 6) == 0;
}

/* Runs sql with p on the calling thread's connection into *res (caller
 * clears). A read on a connection that died meanwhile is retried once on
 * a new one; a write directly inside a unit runs in a savepoint. */
static int exec_params(pg_store *st, const char *sql, const params *p, PGresult **res)
{
    pg_conn *pc = NULL;
    bool wrap;
    ExecStatusType s;
    int rc;

    *res = NULL;
    if ((rc = pg_conn_get(st, &pc)) < 0)
        return rc;
    wrap = pc->in_unit && pc->tx_depth == 1 && !is_read(sql);
    if (wrap && (rc = exec_plain(pc->c, "SAVEPOINT w")) < 0)
        return rc;
    *res = PQexecParams(pc->c, sql, p->n, p->types, p->values, p->lengths, p->formats, 0);
    s = PQresultStatus(*res);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK && pc->tx_depth == 0 && is_read(sql) &&
        PQstatus(pc->c) != CONNECTION_OK && pg_conn_get(st, &pc) == PAT_OK) {
        PQclear(*res);
        *res = PQexecParams(pc->c, sql, p->n, p->types, p->values, p->lengths, p->formats, 0);
        s = PQresultStatus(*res);
    }
    rc = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK ? PAT_OK : pg_error(pc->c, *res, sql);
    if (wrap && PQstatus(pc->c) == CONNECTION_OK) {
        pat_error saved = *pat_error_last();
        if (rc < 0) {
            exec_plain(pc->c, "ROLLBACK TO w");
            pc->notified = false;
        }
        exec_plain(pc->c, "RELEASE w");
        *(pat_error *)pat_error_last() = saved;
    }
    return rc;
}

int pg_run(pg_store *st, int64_t *changes, const char *sql, const char *fmt, ...)
{
    PGresult *res = NULL;
    params p;
    va_list ap;
    int rc;

    va_start(ap, fmt);
    bind_args(&p, fmt, ap);
    va_end(ap);
    if ((rc = exec_params(st, sql, &p, &res)) == PAT_OK && changes)
        *changes = strtoll(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    return rc;
}

int pg_one(pg_store *st, pg_row_fn read, void *dst, const char *sql, const char *fmt, ...)
{
    PGresult *res = NULL;
    params p;
    va_list ap;
    int rc;

    va_start(ap, fmt);
    bind_args(&p, fmt, ap);
    va_end(ap);
    if ((rc = exec_params(st, sql, &p, &res)) == PAT_OK)
        rc = PQntuples(res) > 0 ? read(res, 0, dst) : PAT_ENOTFOUND;
    PQclear(res);
    return rc;
}

int pg_list(pg_store *st, pg_row_fn read, size_t elem, void **out, size_t *n, const char *sql,
            const char *fmt, ...)
{
    PGresult *res = NULL;
    char *list = NULL;
    size_t count = 0;
    params p;
    va_list ap;
    int rc;

    va_start(ap, fmt);
    bind_args(&p, fmt, ap);
    va_end(ap);
    if ((rc = exec_params(st, sql, &p, &res)) < 0)
        goto out;
    count = (size_t)PQntuples(res);
    list = pat_calloc(count ? count : 1, elem);
    for (size_t i = 0; i < count; i++)
        if ((rc = read(res, (int)i, list + i * elem)) < 0)
            goto out;
    *out = list;
    *n = count;
    list = NULL;
out:
    free(list);
    PQclear(res);
    return rc;
}

int64_t pg_int(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

bool pg_bool(const PGresult *res, int row, int col)
{
    return !PQgetisnull(res, row, col) && PQgetvalue(res, row, col)[0] == 't';
}

int pg_text(const PGresult *res, int row, int col, char *dst, size_t dstsz)
{
    size_t n = PQgetisnull(res, row, col) ? 0 : (size_t)PQgetlength(res, row, col);

    assert(dstsz > 0);
    if (n >= dstsz) {
        dst[0] = '\0';
        pat_log_error("postgres: a stored %s of %zu bytes does not fit %zu", PQfname(res, col), n,
                      dstsz - 1);
        return pat_error_set(PAT_EIO, NULL, "stored text does not fit");
    }
    memcpy(dst, PQgetvalue(res, row, col), n);
    dst[n] = '\0';
    return PAT_OK;
}

void pg_hash(const PGresult *res, int row, int col, uint8_t dst[PAT_HASH_LEN])
{
    const char *v = PQgetvalue(res, row, col);
    size_t n = 0;

    /* Text results show bytea as \x and hex digits. */
    if (PQgetisnull(res, row, col) || strncmp(v, "\\x", 2) != 0 ||
        sodium_hex2bin(dst, PAT_HASH_LEN, v + 2, strlen(v + 2), NULL, &n, NULL) != 0 ||
        n != PAT_HASH_LEN)
        memset(dst, 0, PAT_HASH_LEN);
}

int pg_blob(const PGresult *res, int row, int col, uint8_t *dst, size_t dstsz, size_t *n)
{
    const char *v = PQgetvalue(res, row, col);

    *n = 0;
    if (PQgetisnull(res, row, col))
        return PAT_OK;
    if (strncmp(v, "\\x", 2) != 0 ||
        sodium_hex2bin(dst, dstsz, v + 2, strlen(v + 2), NULL, n, NULL) != 0)
        return pat_error_set(PAT_EIO, NULL, "a stored value does not fit");
    return PAT_OK;
}

int pg_read_int64(const PGresult *res, int row, void *dst)
{
    *(int64_t *)dst = pg_int(res, row, 0);
    return PAT_OK;
}

/* ---- migrations ---- */

/* Applies the embedded migrations newer than the database in one
 * transaction, under a session advisory lock: instances starting together
 * migrate once, the others wait and find nothing left to do. */
static int migrate(PGconn *c)
{
    PGresult *res = NULL;
    int64_t current;
    int rc;

    if ((rc = exec_plain(c, "SELECT pg_advisory_lock(" LOCK_MIGRATE ")")) < 0)
        return rc;
    if ((rc = exec_plain(c, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                            "version BIGINT PRIMARY KEY, name TEXT NOT NULL, "
                            "applied_at BIGINT NOT NULL)")) < 0 ||
        (rc = exec_plain(c, "BEGIN")) < 0)
        goto unlock;
    res = PQexec(c, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = pg_error(c, res, "schema version");
        goto rollback;
    }
    current = pg_int(res, 0, 0);
    for (const pat_embedded_file *f = pat_pg_migrations; f->name; f++) {
        int64_t version = strtoll(f->name, NULL, 10);
        char sql[256];
        if (version <= current)
            continue;
        snprintf(sql, sizeof(sql),
                 "INSERT INTO schema_migrations VALUES (%lld, '%s', "
                 "extract(epoch from now())::bigint)",
                 (long long)version, f->name); /* our own file names, not input */
        if ((rc = exec_plain(c, (const char *)f->data)) < 0 || (rc = exec_plain(c, sql)) < 0)
            goto rollback;
        pat_log_info("applied migration postgres/%s", f->name);
    }
    rc = commit(c);
    goto unlock;
rollback:
    exec_plain(c, "ROLLBACK");
unlock:
    PQclear(res);
    {
        pat_error saved = *pat_error_last();
        exec_plain(c, "SELECT pg_advisory_unlock(" LOCK_MIGRATE ")");
        *(pat_error *)pat_error_last() = saved;
    }
    return rc;
}

/* ---- lifecycle ---- */

static void pg_close(pat_store *s)
{
    pg_store *st = pg_of(s);
    pg_conn *pc = st->conns;

    pthread_key_delete(st->key);
    while (pc) {
        pg_conn *next = pc->next;
        assert(pc->tx_depth == 0);
        conn_free(pc);
        pc = next;
    }
    pg_listener_close(st);
    pthread_mutex_destroy(&st->conns_lock);
    sodium_memzero(st->url, strlen(st->url)); /* may hold a password */
    free(st->url);
    free(st);
}

static int read_writable(const PGresult *res, int row, void *dst)
{
    *(bool *)dst = pg_bool(res, row, 0);
    return PAT_OK;
}

static int pg_ping(pat_store *s)
{
    bool writable = false;
    int rc = pg_one(pg_of(s), read_writable, &writable,
                    "SELECT NOT pg_is_in_recovery() AND "
                    "current_setting('transaction_read_only') = 'off'",
                    "");

    if (rc == PAT_OK && !writable)
        rc = pat_error_set(PAT_EUNAVAIL, NULL, "the database is read-only (a standby?)");
    return rc;
}

static const pat_store_vtable pg_vtable = {
    .version = 2,
    .shared = true,
    .close = pg_close,
    .ping = pg_ping,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .user_create = pg_user_create,
    .user_get = pg_user_get,
    .user_get_by_name = pg_user_get_by_name,
    .user_count = pg_user_count,
    .user_list = pg_user_list,
    .user_update = pg_user_update,
    .org_create = pg_org_create,
    .org_get = pg_org_get,
    .org_list = pg_org_list,
    .org_update = pg_org_update,
    .member_add = pg_member_add,
    .member_update = pg_member_update,
    .member_remove = pg_member_remove,
    .member_get = pg_member_get,
    .member_list = pg_member_list,
    .token_insert = pg_token_insert,
    .token_get = pg_token_get,
    .token_insert_many = pg_token_insert_many,
    .token_get_by_hash = pg_token_get_by_hash,
    .token_list = pg_token_list,
    .token_hashes = pg_token_hashes,
    .token_update = pg_token_update,
    .token_delete = pg_token_delete,
    .token_delete_many = pg_token_delete_many,
    .token_list_exceeding = pg_token_list_exceeding,
    .token_list_exceeding_in = pg_token_list_exceeding_in,
    .token_touch_many = pg_token_touch_many,
    .clients_seen = pg_clients_seen,
    .client_alerted = pg_client_alerted,
    .client_list = pg_client_list,
    .clients_prune = pg_clients_prune,
    .rotation_put = pg_rotation_put,
    .rotation_get = pg_rotation_get,
    .rotation_delete = pg_rotation_delete,
    .rotation_list = pg_rotation_list,
    .rotation_touch_many = pg_rotation_touch_many,
    .rotations_prune = pg_rotations_prune,
    .scope_uses_add = pg_scope_uses_add,
    .scope_uses_list = pg_scope_uses_list,
    .scope_uses_prune = pg_scope_uses_prune,
    .session_insert = pg_session_insert,
    .session_get = pg_session_get,
    .session_delete = pg_session_delete,
    .session_set_confirmed = pg_session_set_confirmed,
    .session_prune = pg_session_prune,
    .session_delete_user = pg_session_delete_user,
    .setting_get = pg_setting_get,
    .setting_set = pg_setting_set,
    .changes_last = pg_changes_last,
    .changes_since = pg_changes_since,
    .changes_prune = pg_changes_prune,
    .changes_wait = pg_changes_wait,
    .audit_append = pg_audit_append,
    .audit_list = pg_audit_list,
    .audit_prune = pg_audit_prune,
    .key_insert = pg_key_insert,
    .key_list = pg_key_list,
    .key_delete = pg_key_delete,
    .tokens_to_remind = pg_tokens_to_remind,
    .reminder_add = pg_reminder_add,
    .outbox_add = pg_outbox_add,
    .outbox_claim = pg_outbox_claim,
    .outbox_mark = pg_outbox_mark,
    .outbox_retry_all = pg_outbox_retry_all,
    .outbox_counts = pg_outbox_counts,
    .outbox_list = pg_outbox_list,
    .count_rows = pg_count_rows,
    .session_list = pg_session_list,
    .setting_list = pg_setting_list,
    .put_users = pg_put_users,
    .put_tokens = pg_put_tokens,
    .put_audit = pg_put_audit,
    .put_orgs = pg_put_orgs,
    .ids_reset = pg_ids_reset,
};

int pat_store_postgres_open(pat_store **out, const char *url)
{
    pg_store *st = pat_calloc(1, sizeof(*st));
    PGconn *c = NULL;
    int rc;

    st->base.vt = &pg_vtable;
    st->url = pat_strdup(url);
    pthread_mutex_init(&st->conns_lock, NULL);
    if (pthread_key_create(&st->key, conn_destroy) != 0) {
        rc = pat_error_set(PAT_EIO, "db", "cannot make a thread key");
        goto fail_key;
    }
    if (!(c = pg_connect(url))) {
        rc = pat_error_set(PAT_EUNAVAIL, "db", "cannot connect to PostgreSQL (see the log)");
        goto fail;
    }
    if ((rc = migrate(c)) < 0)
        goto fail;
    PQfinish(c);
    *out = &st->base;
    return PAT_OK;
fail:
    PQfinish(c);
    pthread_key_delete(st->key);
fail_key:
    pthread_mutex_destroy(&st->conns_lock);
    sodium_memzero(st->url, strlen(st->url));
    free(st->url);
    free(st);
    return rc;
}
