#ifndef PAT_STORE_PG_INT_H
#define PAT_STORE_PG_INT_H
/* What the PostgreSQL backend's files share: the store struct, a
 * connection per thread, units of work and the one statement helper every
 * table's file goes through. */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "store/store_int.h"

/* One thread's connection. A unit of work is a transaction on it, so
 * every call of the thread that began one joins it without a lock. */
typedef struct pg_conn {
    PGconn *c;
    int tx_depth;         /* 0: autocommit; 1: a unit or a call's own
                             transaction; more: savepoints inside it */
    bool in_unit;         /* pat_store_begin opened the outermost level */
    bool prepared;        /* the lookups by hash are prepared on c */
    bool notified;        /* this transaction has queued its notification */
    int64_t next_try_us;  /* after a failed connect, not before this */
    struct pg_conn *next; /* in the store's list, closed with it */
    struct pg_store *store;
} pg_conn;

typedef struct pg_store {
    pat_store base;
    char *url;
    pthread_key_t key; /* the calling thread's pg_conn */
    pthread_mutex_t conns_lock;
    pg_conn *conns;
    /* the listener: its own connection, used by one thread at a time */
    PGconn *listener;
    int64_t listener_next_try_us;
} pg_store;

static inline pg_store *pg_of(pat_store *s)
{
    return (pg_store *)s;
}

/* Opens a connection to url with patd's defaults (a connect timeout,
 * keepalives, application_name), which the URL and PG* variables
 * override. NULL (logged) when it fails. */
PGconn *pg_connect(const char *url);

/* The calling thread's connection, (re)connected when needed: PAT_EUNAVAIL
 * when the server cannot be reached. */
int pg_conn_get(pg_store *st, pg_conn **out);

/* Maps a failed result on c (res may be NULL) to a status: a unique
 * violation is PAT_EEXISTS, a serialization failure PAT_ECONFLICT, a lost
 * or refused connection, a read-only server or a full disk PAT_EUNAVAIL;
 * the rest PAT_EIO, logged. */
int pg_error(PGconn *c, const PGresult *res, const char *what);

/* A transaction level for one call on the calling thread's connection:
 * BEGIN at the outermost level (writers take turns there: see db.c), a
 * savepoint inside a unit of work. pg_tx_leave commits (rc == PAT_OK) or
 * rolls that level back and returns rc (or the commit's failure). */
int pg_tx_enter(pg_store *st, pg_conn **out);
int pg_tx_leave(pg_conn *pc, int rc);

/* Reads row `row` of res into dst; PAT_EIO when a value does not fit. */
typedef int (*pg_row_fn)(const PGresult *res, int row, void *dst);

/* The statement helper. sql ($1, $2, ...) runs with its parameters bound
 * from the arguments by fmt, one letter each:
 *   i  int64_t
 *   n  int64_t, bound as NULL when 0
 *   b  int (a boolean)
 *   t  const char * (NULL binds NULL)
 *   h  const uint8_t * of PAT_HASH_LEN bytes (NULL binds NULL)
 *   j  const char * bound as jsonb
 *   B  const uint8_t *, then its length as size_t (bytea)
 * on the calling thread's connection (joining its unit of work, if any; a
 * write directly inside a unit runs in a savepoint, so its failure leaves
 * the unit usable).
 * pg_run: a statement without rows; *changes (may be NULL) = rows changed.
 * pg_one: the first row through read into dst; PAT_ENOTFOUND if none.
 * pg_list: every row through read into an array of elem-sized elements,
 *          *out (caller frees) and *n. */
int pg_run(pg_store *st, int64_t *changes, const char *sql, const char *fmt, ...);
int pg_one(pg_store *st, pg_row_fn read, void *dst, const char *sql, const char *fmt, ...);
int pg_list(pg_store *st, pg_row_fn read, size_t elem, void **out, size_t *n, const char *sql,
            const char *fmt, ...);

/* Column readers. pg_text refuses to cut (PAT_EIO); NULL reads as 0, "",
 * or a zero hash. */
int64_t pg_int(const PGresult *res, int row, int col);
bool pg_bool(const PGresult *res, int row, int col);
int pg_text(const PGresult *res, int row, int col, char *dst, size_t dstsz);
void pg_hash(const PGresult *res, int row, int col, uint8_t dst[PAT_HASH_LEN]);
int pg_read_int64(const PGresult *res, int row, void *dst);

/* The listener (listen.c). */
int pg_changes_wait(pat_store *s, int timeout_ms);
void pg_listener_close(pg_store *st);

/* Table files: each fills its part of the vtable's functions. */
int pg_user_create(pat_store *s, pat_user *u);
int pg_user_get(pat_store *s, int64_t id, pat_user *out);
int pg_user_get_by_name(pat_store *s, const char *username, pat_user *out);
int pg_user_count(pat_store *s, int64_t *out);
int pg_user_list(pat_store *s, pat_user **out, size_t *n);
int pg_user_update(pat_store *s, pat_user *u);

int pg_token_insert(pat_store *s, pat_token_rec *t);
int pg_token_get(pat_store *s, int64_t id, pat_token_rec *out);
int pg_token_insert_many(pat_store *s, pat_token_rec *t, size_t n);
int pg_token_get_by_hash(pat_store *s, const uint8_t hash[PAT_HASH_LEN], int64_t now,
                         pat_token_rec *out, int *is_previous);
int pg_token_list(pat_store *s, int64_t user_id, pat_token_rec **out, size_t *n);
int pg_token_hashes(pat_store *s, int64_t now,
                    void (*fn)(void *arg, const uint8_t hash[PAT_HASH_LEN]), void *arg, size_t *n);
int pg_token_update(pat_store *s, pat_token_rec *t, unsigned fields);
int pg_token_delete(pat_store *s, int64_t user_id, int64_t id);
int pg_token_delete_many(pat_store *s, int64_t user_id, const int64_t *ids, size_t n,
                         int64_t *deleted, size_t *ndeleted);
int pg_token_list_exceeding(pat_store *s, int never_too, int64_t latest, size_t limit,
                            pat_token_rec **out, size_t *n);
int pg_token_list_exceeding_in(pat_store *s, int64_t org_id, int never_too, int64_t latest,
                               size_t limit, pat_token_rec **out, size_t *n);
int pg_token_touch_many(pat_store *s, const pat_token_touch *touches, size_t n);

int pg_org_create(pat_store *s, pat_org *o);
int pg_org_get(pat_store *s, const char *slug, pat_org *out);
int pg_org_list(pat_store *s, pat_org **out, size_t *n);
int pg_org_update(pat_store *s, pat_org *o);
int pg_member_add(pat_store *s, const pat_membership *m);
int pg_member_update(pat_store *s, const pat_membership *m);
int pg_member_remove(pat_store *s, int64_t org_id, int64_t user_id);
int pg_member_get(pat_store *s, int64_t org_id, int64_t user_id, pat_membership *out);
int pg_member_list(pat_store *s, int64_t org_id, int64_t user_id, pat_membership **out, size_t *n);
int pg_put_orgs(pat_store *s, const pat_org *o, size_t n);
/* Prepares the lookups by hash on a new connection. */
int pg_token_prepare(PGconn *c);

/* Reads a sessions row (the columns of sessions.c's SELECT). */
int pg_read_session(const PGresult *res, int row, void *dst);
int pg_session_insert(pat_store *s, const pat_session_rec *r);
int pg_session_get(pat_store *s, const uint8_t id_hash[PAT_HASH_LEN], pat_session_rec *out);
int pg_session_delete(pat_store *s, const uint8_t id_hash[PAT_HASH_LEN]);
int pg_session_set_confirmed(pat_store *s, const uint8_t id_hash[PAT_HASH_LEN],
                             int64_t confirmed_until);
int pg_session_prune(pat_store *s, int64_t now);
int pg_session_delete_user(pat_store *s, int64_t user_id, const uint8_t keep[PAT_HASH_LEN]);

int pg_setting_get(pat_store *s, const char *key, char *out, size_t outsz);
int pg_setting_set(pat_store *s, const char *key, const char *value);

/* Appends a change of kind for entity_id (hash may be NULL) and notifies
 * the listeners, inside the caller's transaction level. */
int pg_change_append(pg_store *st, const char *kind, int64_t entity_id, const uint8_t *hash);

/* Queues the transaction's notification on 'patd_changes' (payload: the
 * first seq it appended), once per transaction: listeners only wake and
 * read the feed, so a bulk change of a million rows sends one, not a
 * million. Sent at commit, dropped on rollback. */
int pg_notify_once(pg_store *st, int64_t seq);
int pg_changes_last(pat_store *s, int64_t *seq);
int pg_changes_since(pat_store *s, int64_t after, size_t limit, pat_change **out, size_t *n);
int pg_changes_prune(pat_store *s, int64_t before);

int pg_audit_append(pat_store *s, pat_audit_rec *r);
int pg_audit_list(pat_store *s, const pat_audit_filter *f, pat_audit_rec **out, size_t *n);
int pg_audit_prune(pat_store *s, int64_t before);

int pg_key_insert(pat_store *s, const pat_key_rec *k);
int pg_key_list(pat_store *s, pat_key_rec **out, size_t *n);
int pg_key_delete(pat_store *s, const char *kid);
/* A bytea column of any length into dst (room for dstsz); PAT_EIO if it
 * does not fit. */
int pg_blob(const PGresult *res, int row, int col, uint8_t *dst, size_t dstsz, size_t *n);

int pg_outbox_add(pat_store *s, pat_outbox_rec *m);
int pg_outbox_claim(pat_store *s, int64_t now, int64_t lease_until, size_t limit,
                    pat_outbox_rec **out, size_t *n);
int pg_outbox_mark(pat_store *s, int64_t id, pat_mail_status status, int attempts,
                   int64_t next_try_at, int64_t sent_at, const char *last_error);
int pg_outbox_retry_all(pat_store *s, int64_t now);
int pg_outbox_counts(pat_store *s, pat_outbox_counts *out);
int pg_outbox_list(pat_store *s, size_t limit, pat_outbox_rec **out, size_t *n);

int pg_tokens_to_remind(pat_store *s, int64_t after, int64_t until, int64_t threshold,
                        size_t limit, pat_token_rec **out, size_t *n);
int pg_reminder_add(pat_store *s, int64_t token_id, int64_t threshold, int64_t at);
int pg_clients_seen(pat_store *s, const pat_token_client *c, size_t n,
                   pat_client_history *before);
int pg_client_alerted(pat_store *s, int64_t token_id, const char *network, const char *product,
                      int64_t at);
int pg_client_list(pat_store *s, int64_t token_id, size_t limit, pat_token_client **out,
                   size_t *n);
int pg_clients_prune(pat_store *s);
int pg_rotation_put(pat_store *s, const pat_rotation_rec *r);
int pg_rotation_get(pat_store *s, int64_t token_id, pat_rotation_rec *out);
int pg_rotation_delete(pat_store *s, int64_t token_id);
int pg_rotation_list(pat_store *s, pat_rotation_rec **out, size_t *n);
int pg_rotation_touch_many(pat_store *s, const pat_token_touch *touches, size_t n);
int pg_rotations_prune(pat_store *s, int64_t now);
int pg_scope_uses_add(pat_store *s, const pat_scope_use *u, size_t n, bool *fresh);
int pg_scope_uses_list(pat_store *s, int64_t user_id, int64_t token_id, pat_scope_use **out,
                       size_t *n);
int pg_scope_uses_prune(pat_store *s);

/* copy.c: what pat_store_copy needs */
int pg_count_rows(pat_store *s, pat_store_counts *out);
int pg_session_list(pat_store *s, pat_session_rec **out, size_t *n);
int pg_setting_list(pat_store *s, pat_setting **out, size_t *n);
int pg_put_users(pat_store *s, const pat_user *u, size_t n);
int pg_put_tokens(pat_store *s, const pat_token_rec *t, size_t n);
int pg_put_audit(pat_store *s, const pat_audit_rec *r, size_t n);
int pg_ids_reset(pat_store *s, const pat_store_counts *from);

#endif
