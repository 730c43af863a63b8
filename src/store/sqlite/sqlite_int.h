#ifndef PAT_STORE_SQLITE_INT_H
#define PAT_STORE_SQLITE_INT_H
/* What the SQLite backend's files share: the store struct, units of work
 * and the one statement helper every table's file goes through. */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "store/store_int.h"

/* A thread's read-only connection for lookups by hash. */
typedef struct sq_reader {
    sqlite3 *db;
    sqlite3_stmt *by_hash;     /* current value */
    sqlite3_stmt *by_previous; /* value before regeneration, in its grace period */
    struct sq_reader *next;
} sq_reader;

#define SQ_CACHE_SIZE 64

typedef struct sqlite_store {
    pat_store base;
    sqlite3 *db;          /* the one writing connection */
    pthread_mutex_t lock; /* recursive: a unit of work holds it across calls */
    int tx_depth;         /* 0: autocommit; 1: a unit of work or a call's own
                             transaction; more: savepoints inside it */
    bool in_unit;         /* pat_store_begin opened the outermost level */
    char *path;
    pthread_key_t reader_key;
    bool has_reader_key;
    pthread_mutex_t readers_lock;
    sq_reader *readers; /* every thread's, closed with the store */
    /* Statements of the writing connection kept prepared (under lock):
     * parsing was most of a small statement's cost. */
    struct sq_cached {
        char *sql;
        sqlite3_stmt *q;
        bool busy;
    } cache[SQ_CACHE_SIZE];
    unsigned cache_next; /* the slot the next new statement takes */
} sqlite_store;

static inline sqlite_store *sq_of(pat_store *s)
{
    return (sqlite_store *)s;
}

/* Maps a SQLite result on db to a status (a unique violation is
 * PAT_EEXISTS), logging what a person needs to debug. */
int sq_error(sqlite3 *db, int rc, const char *what);

/* Opens a transaction level for one call (taking the lock): BEGIN
 * IMMEDIATE at the outermost level, a savepoint inside a unit of work.
 * sq_tx_leave commits (rc == PAT_OK) or rolls back that level, releases
 * the lock, and returns rc (or the commit's failure). */
int sq_tx_enter(sqlite_store *st);
int sq_tx_leave(sqlite_store *st, int rc);

/* Reads one row of a query into dst; PAT_EIO when a value does not fit. */
typedef int (*sq_row_fn)(sqlite3_stmt *q, void *dst);

/* The statement helper. sql is prepared with its parameters bound from the
 * arguments by fmt, one letter each:
 *   i  int64_t
 *   n  int64_t, bound as NULL when 0
 *   t  const char * (NULL binds NULL)
 *   h  const uint8_t * of PAT_HASH_LEN bytes (NULL binds NULL)
 *   B  const uint8_t *, then its length as size_t (a blob)
 * Each takes the lock for its duration (joining the caller's unit of
 * work, if any).
 * sq_run: a statement without rows; *changes (may be NULL) = rows changed,
 *         *last_id (may be NULL) = the rowid it inserted.
 * sq_one: the first row through read into dst; PAT_ENOTFOUND if none.
 * sq_list: every row through read into a growing array of elem-sized
 *         elements, *out (caller frees) and *n. */
int sq_run(sqlite_store *st, int64_t *changes, int64_t *last_id, const char *sql,
           const char *fmt, ...);
int sq_one(sqlite_store *st, sq_row_fn read, void *dst, const char *sql, const char *fmt, ...);
int sq_list(sqlite_store *st, sq_row_fn read, size_t elem, void **out, size_t *n,
            const char *sql, const char *fmt, ...);

/* For statements run many times in one call (batches): prepare once on the
 * writing connection (lock held by the caller), then sq_bind and
 * sqlite3_step / sqlite3_reset per row. */
int sq_prepare(sqlite_store *st, sqlite3_stmt **q, const char *sql);
void sq_bind(sqlite3_stmt *q, const char *fmt, ...);

/* A row reader for one integer column (counts, versions, sequences). */
int sq_read_int64(sqlite3_stmt *q, void *dst);

/* Column readers that refuse to cut: PAT_EIO when the text does not fit. */
int sq_text(sqlite3_stmt *q, int col, char *dst, size_t dstsz);
void sq_hash(sqlite3_stmt *q, int col, uint8_t dst[PAT_HASH_LEN]);

/* Table files: each fills its part of the vtable's functions. */
int sq_user_create(pat_store *s, pat_user *u);
int sq_user_get(pat_store *s, int64_t id, pat_user *out);
int sq_user_get_by_name(pat_store *s, const char *username, pat_user *out);
int sq_user_count(pat_store *s, int64_t *out);
int sq_user_list(pat_store *s, pat_user **out, size_t *n);
int sq_user_update(pat_store *s, pat_user *u);

int sq_token_insert(pat_store *s, pat_token_rec *t);
int sq_token_get(pat_store *s, int64_t id, pat_token_rec *out);
int sq_token_insert_many(pat_store *s, pat_token_rec *t, size_t n);
int sq_token_get_by_hash(pat_store *s, const uint8_t hash[PAT_HASH_LEN], int64_t now,
                         pat_token_rec *out, int *is_previous);
int sq_token_list(pat_store *s, int64_t user_id, pat_token_rec **out, size_t *n);
int sq_token_hashes(pat_store *s, int64_t now,
                    void (*fn)(void *arg, const uint8_t hash[PAT_HASH_LEN]), void *arg, size_t *n);
int sq_token_update(pat_store *s, pat_token_rec *t, unsigned fields);
int sq_token_delete(pat_store *s, int64_t user_id, int64_t id);
int sq_token_delete_many(pat_store *s, int64_t user_id, const int64_t *ids, size_t n,
                         int64_t *deleted, size_t *ndeleted);
int sq_token_list_exceeding(pat_store *s, int never_too, int64_t latest, size_t limit,
                            pat_token_rec **out, size_t *n);
int sq_token_list_exceeding_in(pat_store *s, int64_t org_id, int never_too, int64_t latest,
                               size_t limit, pat_token_rec **out, size_t *n);
int sq_token_touch_many(pat_store *s, const pat_token_touch *touches, size_t n);

int sq_org_create(pat_store *s, pat_org *o);
int sq_org_get(pat_store *s, const char *slug, pat_org *out);
int sq_org_list(pat_store *s, pat_org **out, size_t *n);
int sq_org_update(pat_store *s, pat_org *o);
int sq_member_add(pat_store *s, const pat_membership *m);
int sq_member_update(pat_store *s, const pat_membership *m);
int sq_member_remove(pat_store *s, int64_t org_id, int64_t user_id);
int sq_member_get(pat_store *s, int64_t org_id, int64_t user_id, pat_membership *out);
int sq_member_list(pat_store *s, int64_t org_id, int64_t user_id, pat_membership **out, size_t *n);
int sq_put_orgs(pat_store *s, const pat_org *o, size_t n);
void sq_readers_close(sqlite_store *st);
/* Finalizes the kept statements (before the connection closes). */
void sq_cache_clear(sqlite_store *st);

/* Reads a sessions row (the columns of sessions.c's SELECT). */
int sq_read_session(sqlite3_stmt *q, void *dst);
int sq_session_insert(pat_store *s, const pat_session_rec *r);
int sq_session_get(pat_store *s, const uint8_t id_hash[PAT_HASH_LEN], pat_session_rec *out);
int sq_session_delete(pat_store *s, const uint8_t id_hash[PAT_HASH_LEN]);
int sq_session_set_confirmed(pat_store *s, const uint8_t id_hash[PAT_HASH_LEN],
                             int64_t confirmed_until);
int sq_session_prune(pat_store *s, int64_t now);
int sq_session_delete_user(pat_store *s, int64_t user_id, const uint8_t keep[PAT_HASH_LEN]);

int sq_setting_get(pat_store *s, const char *key, char *out, size_t outsz);
int sq_setting_set(pat_store *s, const char *key, const char *value);

/* Appends a change of kind for entity_id (hash may be NULL), inside the
 * caller's transaction level. */
int sq_change_append(sqlite_store *st, const char *kind, int64_t entity_id, const uint8_t *hash);
int sq_changes_last(pat_store *s, int64_t *seq);
int sq_changes_since(pat_store *s, int64_t after, size_t limit, pat_change **out, size_t *n);
int sq_changes_prune(pat_store *s, int64_t before);
int sq_changes_wait(pat_store *s, int timeout_ms);

int sq_audit_append(pat_store *s, pat_audit_rec *r);
int sq_audit_list(pat_store *s, const pat_audit_filter *f, pat_audit_rec **out, size_t *n);
int sq_audit_prune(pat_store *s, int64_t before);

int sq_key_insert(pat_store *s, const pat_key_rec *k);
int sq_key_list(pat_store *s, pat_key_rec **out, size_t *n);
int sq_key_delete(pat_store *s, const char *kid);

int sq_outbox_add(pat_store *s, pat_outbox_rec *m);
int sq_outbox_claim(pat_store *s, int64_t now, int64_t lease_until, size_t limit,
                    pat_outbox_rec **out, size_t *n);
int sq_outbox_mark(pat_store *s, int64_t id, pat_mail_status status, int attempts,
                   int64_t next_try_at, int64_t sent_at, const char *last_error);
int sq_outbox_retry_all(pat_store *s, int64_t now);
int sq_outbox_counts(pat_store *s, pat_outbox_counts *out);
int sq_outbox_list(pat_store *s, size_t limit, pat_outbox_rec **out, size_t *n);

int sq_tokens_to_remind(pat_store *s, int64_t after, int64_t until, int64_t threshold,
                        size_t limit, pat_token_rec **out, size_t *n);
int sq_reminder_add(pat_store *s, int64_t token_id, int64_t threshold, int64_t at);
int sq_clients_seen(pat_store *s, const pat_token_client *c, size_t n,
                   pat_client_history *before);
int sq_client_alerted(pat_store *s, int64_t token_id, const char *network, const char *product,
                      int64_t at);
int sq_client_list(pat_store *s, int64_t token_id, size_t limit, pat_token_client **out,
                   size_t *n);
int sq_clients_prune(pat_store *s);
int sq_rotation_put(pat_store *s, const pat_rotation_rec *r);
int sq_rotation_get(pat_store *s, int64_t token_id, pat_rotation_rec *out);
int sq_rotation_delete(pat_store *s, int64_t token_id);
int sq_rotation_list(pat_store *s, pat_rotation_rec **out, size_t *n);
int sq_rotation_touch_many(pat_store *s, const pat_token_touch *touches, size_t n);
int sq_rotations_prune(pat_store *s, int64_t now);
int sq_scope_uses_add(pat_store *s, const pat_scope_use *u, size_t n, bool *fresh);
int sq_scope_uses_list(pat_store *s, int64_t user_id, int64_t token_id, pat_scope_use **out,
                       size_t *n);
int sq_scope_uses_prune(pat_store *s);

/* copy.c: what pat_store_copy needs */
int sq_count_rows(pat_store *s, pat_store_counts *out);
int sq_session_list(pat_store *s, pat_session_rec **out, size_t *n);
int sq_setting_list(pat_store *s, pat_setting **out, size_t *n);
int sq_put_users(pat_store *s, const pat_user *u, size_t n);
int sq_put_tokens(pat_store *s, const pat_token_rec *t, size_t n);
int sq_put_audit(pat_store *s, const pat_audit_rec *r, size_t n);
int sq_ids_reset(pat_store *s, const pat_store_counts *from);

#endif
