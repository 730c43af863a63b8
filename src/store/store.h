#ifndef PAT_STORE_STORE_H
#define PAT_STORE_STORE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cidr.h"
#include "core/scope.h"
#include "core/token.h"

/* The storage interface the service sees. Backends (SQLite now, PostgreSQL
 * next) implement store_int.h's vtable; nothing here assumes one of them:
 * ids are int64 assigned by the store, times are UTC seconds (0 = none),
 * each call is atomic (its own transaction), and a unique violation comes
 * back as PAT_EEXISTS. All calls are safe from several threads. */
typedef struct pat_store pat_store;

#define PAT_USERNAME_MAX 64
#define PAT_EMAIL_MAX 254
#define PAT_PWHASH_MAX 128
#define PAT_NAME_MAX_CHARS 100
#define PAT_NAME_BUF (PAT_NAME_MAX_CHARS * 4 + 1)
#define PAT_DESC_MAX_CHARS 1000
#define PAT_DESC_BUF (PAT_DESC_MAX_CHARS * 4 + 1)
#define PAT_IP_MAX 46
#define PAT_METHOD_MAX 16
#define PAT_PATH_MAX 256
#define PAT_UA_MAX 256

typedef struct pat_user {
    int64_t id;
    char username[PAT_USERNAME_MAX + 1];
    char email[PAT_EMAIL_MAX + 1];
    char password_hash[PAT_PWHASH_MAX]; /* argon2id string; never leaves the service */
    int role;                           /* PAT_ROLE_MEMBER | PAT_ROLE_SUPERUSER */
    bool disabled;
    bool can_manage_tokens;
    int64_t created_at;
    int64_t updated_at;
} pat_user;

/* Where and how a token was last used. */
typedef struct pat_last_use {
    int64_t at; /* 0 = never used */
    char ip[PAT_IP_MAX];
    char method[PAT_METHOD_MAX];
    char path[PAT_PATH_MAX];
    char user_agent[PAT_UA_MAX];
} pat_last_use;

typedef struct pat_token_rec {
    int64_t id;
    int64_t user_id;
    char name[PAT_NAME_BUF];
    char description[PAT_DESC_BUF];
    char prefix[PAT_TOKEN_DISPLAY_LEN + 1]; /* first characters of the value */
    uint8_t hash[PAT_HASH_LEN];             /* HMAC of the current value */
    uint8_t previous_hash[PAT_HASH_LEN];    /* HMAC of the value before regeneration */
    int64_t previous_valid_until;           /* 0 = the previous value is dead */
    char scopes[PAT_SCOPES_STR_MAX];        /* canonical scope string */
    char allowed_cidrs[PAT_CIDRS_STR_MAX];  /* space-separated; "" = anywhere */
    int64_t created_at;
    int64_t updated_at;
    int64_t expires_at;  /* 0 = never */
    int64_t disabled_at; /* 0 = enabled */
    pat_last_use last_use;
    int64_t use_count;
} pat_token_rec;

typedef struct pat_session_rec {
    uint8_t id_hash[PAT_HASH_LEN];   /* HMAC of the cookie value */
    uint8_t csrf_hash[PAT_HASH_LEN]; /* HMAC of the CSRF token */
    int64_t user_id;
    int64_t created_at;
    int64_t expires_at;
    int64_t confirmed_until; /* password re-confirmation window */
    char ip[PAT_IP_MAX];
    char user_agent[PAT_UA_MAX];
} pat_session_rec;

typedef struct pat_audit_rec {
    int64_t id;
    int64_t at;
    int64_t actor_user_id;  /* 0 = nobody (e.g. failed sign-in) */
    int64_t actor_token_id; /* 0 = not through a token */
    char action[64];
    char target[128];
    char ip[PAT_IP_MAX];
    char user_agent[PAT_UA_MAX];
    char detail[512];
} pat_audit_rec;

/* Opens the store named by url: "sqlite:PATH" or a plain path (SQLite).
 * Applies pending migrations in one transaction. *out is owned by the
 * caller (pat_store_close). PAT_EINVAL for an unknown scheme, PAT_EIO on
 * failure. */
int pat_store_open(pat_store **out, const char *url);

/* Closes and frees the store; NULL is a no-op. */
void pat_store_close(pat_store *s);

/* PAT_OK if the store answers a trivial query. */
int pat_store_ping(pat_store *s);

/* Users. create fills u->id; PAT_EEXISTS on a taken username. */
int pat_store_user_create(pat_store *s, pat_user *u);
int pat_store_user_get(pat_store *s, int64_t id, pat_user *out);
int pat_store_user_get_by_name(pat_store *s, const char *username, pat_user *out);
int pat_store_user_count(pat_store *s, int64_t *out);

/* All users by id, in *out (caller frees) and *n. */
int pat_store_user_list(pat_store *s, pat_user **out, size_t *n);

/* Writes every mutable field of u by u->id (email, password hash, role,
 * disabled, can_manage_tokens, updated_at). PAT_ENOTFOUND if absent. */
int pat_store_user_update(pat_store *s, const pat_user *u);

/* Tokens. insert fills t->id; PAT_EEXISTS on a name the owner already uses
 * or a hash collision. update writes every mutable field of t by t->id. */
int pat_store_token_insert(pat_store *s, pat_token_rec *t);
int pat_store_token_get(pat_store *s, int64_t id, pat_token_rec *out);

/* Inserts n tokens in one transaction (imports, benchmarks); fills their
 * ids. All or nothing. */
int pat_store_token_insert_many(pat_store *s, pat_token_rec *t, size_t n);

/* The token whose current hash is hash, or whose previous hash is hash and
 * still valid at now (*is_previous set to 1). PAT_ENOTFOUND otherwise. */
int pat_store_token_get_by_hash(pat_store *s, const uint8_t hash[PAT_HASH_LEN], int64_t now,
                                pat_token_rec *out, int *is_previous);

/* All tokens of user_id, newest first, in *out (caller frees) and *n. */
int pat_store_token_list(pat_store *s, int64_t user_id, pat_token_rec **out, size_t *n);
int pat_store_token_update(pat_store *s, const pat_token_rec *t);

/* Deletes token id if user_id owns it; PAT_ENOTFOUND otherwise. */
int pat_store_token_delete(pat_store *s, int64_t user_id, int64_t id);

/* Deletes those of ids[0..n) that user_id owns, in one transaction; writes
 * the ids deleted into deleted (room for n) and their count into *ndeleted. */
int pat_store_token_delete_many(pat_store *s, int64_t user_id, const int64_t *ids, size_t n,
                                int64_t *deleted, size_t *ndeleted);

/* The latest use of one token and how many uses since the last flush. */
typedef struct pat_token_touch {
    int64_t token_id;
    int64_t uses;
    pat_last_use last;
} pat_token_touch;

/* Records last use of n tokens in one transaction: last-used fields set
 * (unless the stored use is newer), use_count increased. Unknown ids are
 * skipped. */
int pat_store_token_touch_many(pat_store *s, const pat_token_touch *touches, size_t n);

/* Tokens of any owner that expire never (if never_too) or after latest
 * (if latest > 0): those a tightened policy no longer allows. At most limit,
 * in *out (caller frees). */
int pat_store_token_list_exceeding(pat_store *s, int never_too, int64_t latest, size_t limit,
                                   pat_token_rec **out, size_t *n);

/* Sessions, keyed by the hash of their id. */
int pat_store_session_insert(pat_store *s, const pat_session_rec *r);
int pat_store_session_get(pat_store *s, const uint8_t id_hash[PAT_HASH_LEN], pat_session_rec *out);
int pat_store_session_delete(pat_store *s, const uint8_t id_hash[PAT_HASH_LEN]);
int pat_store_session_set_confirmed(pat_store *s, const uint8_t id_hash[PAT_HASH_LEN],
                                    int64_t confirmed_until);

/* Deletes sessions that expired before now. */
int pat_store_session_prune(pat_store *s, int64_t now);

/* Ends every session of user_id except keep (NULL = all). */
int pat_store_session_delete_user(pat_store *s, int64_t user_id,
                                  const uint8_t keep[PAT_HASH_LEN]);

/* Settings: small text values by key. get: PAT_ENOTFOUND if unset; value
 * NUL-terminated into out (outsz bytes). */
int pat_store_setting_get(pat_store *s, const char *key, char *out, size_t outsz);
int pat_store_setting_set(pat_store *s, const char *key, const char *value);

/* Appends an audit event; fills r->id. */
int pat_store_audit_append(pat_store *s, pat_audit_rec *r);

/* Which audit events to list: 0 / "" / NULL fields do not filter. */
typedef struct pat_audit_filter {
    int64_t user_id;   /* events whose actor is this person */
    const char *action;
    int64_t since;     /* at >= since */
    int64_t before_id; /* id < before_id: the next page */
    size_t limit;
} pat_audit_filter;

/* Events matching f, newest first, in *out (caller frees). */
int pat_store_audit_list(pat_store *s, const pat_audit_filter *f, pat_audit_rec **out, size_t *n);

/* Deletes events older than before. */
int pat_store_audit_prune(pat_store *s, int64_t before);

#endif
