#ifndef PAT_STORE_STORE_H
#define PAT_STORE_STORE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cidr.h"
#include "core/client.h"
#include "core/org.h"
#include "core/scope.h"
#include "core/token.h"

/* The storage interface the service sees. Backends (SQLite now, PostgreSQL
 * next) implement store_int.h's vtable; nothing here assumes one of them.
 * The contract every backend keeps (tests/store/ checks it on each):
 *  - ids are int64 assigned by the store and never handed out twice, even
 *    after the row they named was deleted;
 *  - times are UTC seconds (0 = none);
 *  - each call is atomic; a unique violation comes back as PAT_EEXISTS;
 *  - rows that are edited (users, tokens) carry a version; an edit names the
 *    version it replaces and, when another writer got there first, answers
 *    PAT_ECONFLICT and writes nothing;
 *  - every committed change that can alter a verification (a token's row, a
 *    person, the policy) also appends to the changes feed, in the same
 *    transaction, so caches everywhere can forget what it touched;
 *  - several calls form one unit of work between pat_store_begin and
 *    pat_store_commit / pat_store_rollback: every call of the thread that
 *    began it joins it, and it commits or rolls back whole.
 * All calls are safe from several threads. Text that does not fit its
 * field when read back is an error (PAT_EIO), never cut silently. */
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
    int64_t version; /* bumped by every write; an edit names the one it replaces */
    unsigned notify_off; /* PAT_NOTIFY_* bits: emails the person turned off */
} pat_user;

/* Emails a person may turn off (security emails cannot be). */
enum { PAT_NOTIFY_EXPIRY = 1, PAT_NOTIFY_NEW_CLIENT = 2 };

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
    unsigned flags;  /* PAT_TOKEN_FLAG_* */
    int64_t version; /* bumped by every edit; an edit names the one it replaces */
    char orgs[PAT_TOKEN_ORGS_MAX]; /* organizations it may be used in; "" = all its owner's */
} pat_token_rec;

/* Token flags. */
enum {
    PAT_TOKEN_FLAG_CANARY = 1,    /* a decoy: never valid, every presentation alerts */
    PAT_TOKEN_FLAG_NO_CLIENT_ALERTS = 2, /* notify_new_client is off */
};

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
    int64_t org_id; /* the organization whose administration it records; 0 = none */
} pat_audit_rec;

/* Opens the store named by url: "sqlite:PATH" or a plain path (SQLite),
 * or "postgresql://..." / "postgres://..." (any libpq URL; PG* variables
 * fill in what it leaves out). Applies pending migrations in one
 * transaction (on PostgreSQL under an advisory lock, so instances starting
 * together migrate once). *out is owned by the
 * caller (pat_store_close). PAT_EINVAL for an unknown scheme, PAT_EIO on
 * failure. */
int pat_store_open(pat_store **out, const char *url);

/* Closes and frees the store; NULL is a no-op. No unit of work may be open. */
void pat_store_close(pat_store *s);

/* PAT_OK if the store answers and can take a write; PAT_EUNAVAIL (message
 * says why) when its file was moved or deleted, it is read-only, or its
 * disk is full. Every write checks the same first: a store that cannot keep
 * a write refuses it (PAT_EUNAVAIL) rather than accept it and lose it. */
int pat_store_ping(pat_store *s);

/* ---- units of work ----
 * begin opens a unit of work for the calling thread: every pat_store_* call
 * the thread makes until commit or rollback joins it, and sees its own
 * writes. Other threads' writes wait for it (keep it short: no password
 * hashing or network inside; on PostgreSQL, other instances' writers
 * wait too). Units of work do not nest (PAT_EINVAL).
 * A call that fails inside a unit of work has written nothing of its own;
 * the caller decides whether the whole unit rolls back. Every call below
 * may run inside a unit of work except pat_store_close and
 * pat_store_token_get_by_hash, which reads committed rows only (the
 * verification path, never part of a change). */
int pat_store_begin(pat_store *s);
int pat_store_commit(pat_store *s);
/* Always leaves the unit of work; PAT_OK if none was open. */
int pat_store_rollback(pat_store *s);

/* ---- users ---- */

/* Fills u->id and u->version; PAT_EEXISTS on a taken username. */
int pat_store_user_create(pat_store *s, pat_user *u);
int pat_store_user_get(pat_store *s, int64_t id, pat_user *out);
int pat_store_user_get_by_name(pat_store *s, const char *username, pat_user *out);
int pat_store_user_count(pat_store *s, int64_t *out);

/* All users by id, in *out (caller frees) and *n. */
int pat_store_user_list(pat_store *s, pat_user **out, size_t *n);

/* Writes every mutable field of u (email, password hash, role, disabled,
 * can_manage_tokens, updated_at) if the stored row still has version
 * u->version, then sets u->version to the new one. One statement keeps the
 * rule that an enabled superuser remains: a write that would leave none is
 * PAT_ECONFLICT (field "superuser") and changes nothing. PAT_ECONFLICT on a
 * version mismatch, PAT_ENOTFOUND if absent. Appends a 'user' change. */
int pat_store_user_update(pat_store *s, pat_user *u);

/* ---- organizations and their members ---- */

typedef struct pat_org {
    int64_t id;
    char slug[PAT_ORG_SLUG_MAX + 1]; /* never changes */
    char name[PAT_NAME_BUF];
    int64_t created_at;
    int64_t updated_at;
    int64_t version; /* bumped by every write; an edit names the one it replaces */
} pat_org;

/* A person's membership of an organization, with the names a list shows. */
typedef struct pat_membership {
    int64_t org_id;
    int64_t user_id;
    int role; /* PAT_ORG_OWNER | PAT_ORG_MEMBER */
    bool can_manage_tokens;
    int64_t created_at;
    int64_t updated_at;
    /* read only (joined): */
    char slug[PAT_ORG_SLUG_MAX + 1];
    char org_name[PAT_NAME_BUF];
    char username[PAT_USERNAME_MAX + 1];
} pat_membership;

/* Fills o->id (never one used before) and o->version; PAT_EEXISTS on a
 * slug taken. */
int pat_store_org_create(pat_store *s, pat_org *o);
/* PAT_ENOTFOUND if no organization has slug. */
int pat_store_org_get(pat_store *s, const char *slug, pat_org *out);
/* Every organization by slug, in *out (caller frees). */
int pat_store_org_list(pat_store *s, pat_org **out, size_t *n);
/* Writes o->name and o->updated_at if the row still has version
 * o->version (then sets the new one): PAT_ECONFLICT otherwise,
 * PAT_ENOTFOUND if absent. */
int pat_store_org_update(pat_store *s, pat_org *o);

/* Adds m (its org_id, user_id, role, permission and times): PAT_EEXISTS
 * if the person is a member already, PAT_ENOTFOUND if the organization or
 * the person does not exist. Every membership write appends a 'user'
 * change for the person: where their tokens are usable changed. */
int pat_store_member_add(pat_store *s, const pat_membership *m);
/* Writes m's role, permission and updated_at; PAT_ENOTFOUND if absent. */
int pat_store_member_update(pat_store *s, const pat_membership *m);
/* PAT_ENOTFOUND if user_id is not a member of org_id. */
int pat_store_member_remove(pat_store *s, int64_t org_id, int64_t user_id);
int pat_store_member_get(pat_store *s, int64_t org_id, int64_t user_id, pat_membership *out);
/* The members of org_id by username (user_id 0), or the memberships of
 * user_id by slug (org_id 0), in *out (caller frees). */
int pat_store_member_list(pat_store *s, int64_t org_id, int64_t user_id, pat_membership **out,
                          size_t *n);

/* ---- tokens ---- */

/* Which fields a token edit writes (updated_at always). */
enum {
    PAT_TOKEN_F_NAME = 1 << 0,
    PAT_TOKEN_F_DESCRIPTION = 1 << 1,
    PAT_TOKEN_F_SCOPES = 1 << 2,
    PAT_TOKEN_F_CIDRS = 1 << 3,
    PAT_TOKEN_F_EXPIRES = 1 << 4,
    PAT_TOKEN_F_DISABLED = 1 << 5,
    PAT_TOKEN_F_SECRET = 1 << 6, /* hash, prefix, previous hash and its deadline */
    PAT_TOKEN_F_FLAGS = 1 << 7,
    PAT_TOKEN_F_ORGS = 1 << 8,
};

/* Fills t->id (never one used before) and t->version; PAT_EEXISTS on a
 * name the owner already uses or a hash collision. Appends a 'token'
 * change naming the new hash. */
int pat_store_token_insert(pat_store *s, pat_token_rec *t);
int pat_store_token_get(pat_store *s, int64_t id, pat_token_rec *out);

/* Inserts n tokens in one transaction (imports, benchmarks); fills their
 * ids. All or nothing. */
int pat_store_token_insert_many(pat_store *s, pat_token_rec *t, size_t n);

/* The token whose current hash is hash, or whose previous hash is hash and
 * still valid at now (*is_previous set to 1). PAT_ENOTFOUND otherwise.
 * Reads committed rows only, from any thread, without waiting for writers. */
int pat_store_token_get_by_hash(pat_store *s, const uint8_t hash[PAT_HASH_LEN], int64_t now,
                                pat_token_rec *out, int *is_previous);

/* Calls fn (may be NULL: count only) with every stored hash of every
 * token: current values, and previous values whose grace has not ended at
 * now. *n (may be NULL) = how many. For the verification's filter of live
 * values. */
int pat_store_token_hashes(pat_store *s, int64_t now,
                           void (*fn)(void *arg, const uint8_t hash[PAT_HASH_LEN]), void *arg,
                           size_t *n);

/* All tokens of user_id, newest first, in *out (caller frees) and *n. */
int pat_store_token_list(pat_store *s, int64_t user_id, pat_token_rec **out, size_t *n);

/* Writes the fields of t named by fields (PAT_TOKEN_F_*) and updated_at,
 * by t->id, if the stored row still has version t->version; then sets
 * t->version to the new one. PAT_ECONFLICT if another write got there
 * first, PAT_ENOTFOUND if absent, PAT_EEXISTS on a name taken. Appends a
 * 'token' change naming every hash the row held before and holds after. */
int pat_store_token_update(pat_store *s, pat_token_rec *t, unsigned fields);

/* Deletes token id if user_id owns it; PAT_ENOTFOUND otherwise. Appends a
 * 'token' change naming its hashes. */
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
 * (unless the stored use is newer), use_count increased. Unknown ids (a
 * token deleted meanwhile) are skipped: ids are never reused, so a use can
 * never land on another token. Not an edit: versions do not move. */
int pat_store_token_touch_many(pat_store *s, const pat_token_touch *touches, size_t n);

/* Tokens of any owner that expire never (if never_too) or after latest
 * (if latest > 0): those a tightened policy no longer allows. At most limit,
 * in *out (caller frees). */
int pat_store_token_list_exceeding(pat_store *s, int never_too, int64_t latest, size_t limit,
                                   pat_token_rec **out, size_t *n);

/* pat_store_token_list_exceeding among the tokens of org_id's members
 * that may be used there (organizations all or naming it). */
int pat_store_token_list_exceeding_in(pat_store *s, int64_t org_id, int never_too, int64_t latest,
                                      size_t limit, pat_token_rec **out, size_t *n);

/* ---- the clients a token was used from ---- */

#define PAT_NETWORK_MAX PAT_CLIENT_NETWORK_MAX
#define PAT_PRODUCT_MAX PAT_CLIENT_PRODUCT_MAX
#define PAT_CLIENTS_KEPT 20 /* per token; the least recently seen go */

/* One client of a token: an IP network and a user-agent product, with the
 * latest address and user agent seen from it. */
typedef struct pat_token_client {
    int64_t token_id;
    char network[PAT_NETWORK_MAX];
    char product[PAT_PRODUCT_MAX];
    char ip[PAT_IP_MAX];
    char user_agent[PAT_UA_MAX];
    int64_t first_seen;
    int64_t last_seen;
    int64_t alerted_at; /* 0 = no alert was sent about it */
} pat_token_client;

/* What was known of a token's clients before a sighting. */
typedef struct pat_client_history {
    int64_t first_seen;    /* earliest first sighting of any client; 0 = none yet */
    int64_t last_alert_at; /* latest alert about any client; 0 = none */
    bool network_known;    /* some client was in this network */
    bool product_known;    /* some client had this product */
} pat_client_history;

/* Records that c->token_id was used from c->network and c->product at
 * c->last_seen (first_seen too when it is new; ip and user_agent replace
 * the stored ones when newer), keeping the PAT_CLIENTS_KEPT most recently
 * seen per token; *before (may be NULL) gets what was known until then. */
int pat_store_client_seen(pat_store *s, const pat_token_client *c, pat_client_history *before);

/* pat_store_client_seen for c[0..n) in one transaction, in order (a later
 * sighting sees the earlier ones); before has room for n, or is NULL to
 * only record them (no history read, no trimming: cheaper, for sightings
 * that refresh clients already known). */
int pat_store_clients_seen(pat_store *s, const pat_token_client *c, size_t n,
                           pat_client_history *before);

/* Marks the client (token_id, network, product) as alerted about at at. */
int pat_store_client_alerted(pat_store *s, int64_t token_id, const char *network,
                             const char *product, int64_t at);

/* The clients of token_id, most recently seen first, at most limit, in
 * *out (caller frees) and *n. */
int pat_store_client_list(pat_store *s, int64_t token_id, size_t limit, pat_token_client **out,
                          size_t *n);

/* Forgets the clients of tokens that no longer exist. */
int pat_store_clients_prune(pat_store *s);

/* ---- rotations: a regenerated token's previous value, still alive ---- */

typedef struct pat_rotation_rec {
    int64_t token_id;
    int64_t started_at;
    int64_t retire_when_unused; /* seconds; 0 = only at previous_valid_until */
    int64_t previous_uses;
    pat_last_use previous_last;  /* the previous value's latest use (at 0: none) */
    pat_last_use current_first;  /* the new value's first use (at 0: none yet) */
} pat_rotation_rec;

/* Starts (or restarts) the rotation of r->token_id: the row as given. */
int pat_store_rotation_put(pat_store *s, const pat_rotation_rec *r);
/* PAT_ENOTFOUND when the token is not rotating. */
int pat_store_rotation_get(pat_store *s, int64_t token_id, pat_rotation_rec *out);
/* Ends it; PAT_OK whether or not there was one. */
int pat_store_rotation_delete(pat_store *s, int64_t token_id);
/* Every rotation (a handful: only tokens mid-rotation), in *out (caller
 * frees). */
int pat_store_rotation_list(pat_store *s, pat_rotation_rec **out, size_t *n);
/* Records uses in one transaction: a touch with token_id -T is a use of
 * token T's previous value (count added, latest use kept); one with T is
 * a use of its current value (kept only as the first). Tokens not rotating
 * are skipped. */
int pat_store_rotation_touch_many(pat_store *s, const pat_token_touch *touches, size_t n);
/* Forgets rotations of tokens that no longer exist or whose previous value
 * has died (previous_valid_until passed or cleared). */
int pat_store_rotations_prune(pat_store *s, int64_t now);

/* ---- the scopes tokens used ---- */

typedef struct pat_scope_use {
    int64_t token_id;
    char scope[PAT_SCOPE_NAME_MAX + 1];
    int64_t last_used_at;
    int64_t uses;
} pat_scope_use;

/* Adds uses of n (token, scope) pairs in one transaction: counts added,
 * the latest time kept. fresh (may be NULL) gets, for each, whether the
 * token had never used that scope before. */
int pat_store_scope_uses_add(pat_store *s, const pat_scope_use *u, size_t n, bool *fresh);
/* The scope uses of every token of user_id (or of token_id alone when it
 * is not 0), by token then scope, in *out (caller frees). */
int pat_store_scope_uses_list(pat_store *s, int64_t user_id, int64_t token_id,
                              pat_scope_use **out, size_t *n);
/* Forgets the uses of tokens that no longer exist. */
int pat_store_scope_uses_prune(pat_store *s);

/* ---- sessions, keyed by the hash of their id ---- */
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

/* ---- settings: small text values by key ----
 * get: PAT_ENOTFOUND if unset; value NUL-terminated into out (outsz bytes;
 * PAT_EIO if it does not fit). set appends a 'policy' change. */
int pat_store_setting_get(pat_store *s, const char *key, char *out, size_t outsz);
int pat_store_setting_set(pat_store *s, const char *key, const char *value);

/* ---- the changes feed ---- */

typedef enum pat_change_kind {
    PAT_CHANGE_TOKEN = 1, /* entity_id: token id; hash: a value's hash a cache may hold */
    PAT_CHANGE_USER,      /* entity_id: user id */
    PAT_CHANGE_POLICY,
    PAT_CHANGE_KEY, /* a signing key was added */
} pat_change_kind;

typedef struct pat_change {
    int64_t seq; /* monotonic: a later commit never has a smaller one */
    int64_t at;
    pat_change_kind kind;
    int64_t entity_id;
    bool has_hash;
    uint8_t hash[PAT_HASH_LEN];
} pat_change;

/* The newest sequence number (0 when the feed is empty). */
int pat_store_changes_last(pat_store *s, int64_t *seq);

/* Changes with seq > after, oldest first, at most limit, in *out (caller
 * frees) and *n. */
int pat_store_changes_since(pat_store *s, int64_t after, size_t limit, pat_change **out,
                            size_t *n);

/* Deletes changes older than before, keeping the newest one (so the next
 * sequence number stays above every number handed out). */
int pat_store_changes_prune(pat_store *s, int64_t before);

/* True when other processes write to the store as a rule (PostgreSQL:
 * every instance of a scale-out), so what this process knows of the feed
 * lags behind it; false for SQLite, which one process writes. */
bool pat_store_shared(const pat_store *s);

/* Waits up to timeout_ms for a change committed by another process (a
 * PostgreSQL notification; SQLite, which has none, just waits): PAT_OK when
 * one may have arrived or the time is up, PAT_EUNAVAIL when the store
 * cannot tell (its listener is down and reconnects on a later call). Either
 * way the caller then reads the feed: a wake-up is a hint, the feed is the
 * truth. Called from one thread only. */
int pat_store_changes_wait(pat_store *s, int timeout_ms);

/* ---- signing keys of exchanged JWTs ---- */

#define PAT_KEY_SEALED_MAX 512

typedef struct pat_key_rec {
    char kid[64];
    char algorithm[8];  /* "ES256" | "EdDSA" */
    uint8_t sealed[PAT_KEY_SEALED_MAX]; /* the private key, sealed by the service */
    size_t sealed_len;
    int64_t created_at;   /* published from then on */
    int64_t activates_at; /* signs from then on, until a newer key does */
} pat_key_rec;

/* Adds a key; PAT_EEXISTS on a kid taken. Appends a 'key' change, so every
 * instance loads it. */
int pat_store_key_insert(pat_store *s, const pat_key_rec *k);

/* Every key, oldest first (by created_at, then kid), in *out (caller
 * frees) and *n. */
int pat_store_key_list(pat_store *s, pat_key_rec **out, size_t *n);

/* Deletes a key for good (its sealed private key with it); PAT_ENOTFOUND if
 * no key has that kid (another instance deleted it first). Appends a 'key'
 * change. */
int pat_store_key_delete(pat_store *s, const char *kid);

/* ---- the outbox of emails ---- */

#define PAT_MAIL_SUBJECT_MAX 256
#define PAT_MAIL_BODY_MAX 8192
#define PAT_MAIL_ERROR_MAX 256

typedef enum pat_mail_status {
    PAT_MAIL_PENDING = 0,
    PAT_MAIL_SENT,
    PAT_MAIL_FAILED,
} pat_mail_status;

/* The status as stored ("pending", "sent", "failed") and back (anything
 * else reads as pending). */
const char *pat_mail_status_name(pat_mail_status s);
pat_mail_status pat_mail_status_parse(const char *name);

typedef struct pat_outbox_rec {
    int64_t id;
    int64_t created_at;
    int64_t user_id; /* whom it concerns (0: nobody in particular) */
    char recipient[PAT_EMAIL_MAX + 1];
    char subject[PAT_MAIL_SUBJECT_MAX];
    char body[PAT_MAIL_BODY_MAX];
    char message_id[128];
    int attempts;
    int64_t next_try_at;
    int64_t sent_at; /* 0 = not sent */
    pat_mail_status status;
    char last_error[PAT_MAIL_ERROR_MAX];
} pat_outbox_rec;

/* Adds a pending message (in the caller's unit of work: it commits or rolls
 * back with the change it reports); fills m->id. */
int pat_store_outbox_add(pat_store *s, pat_outbox_rec *m);

/* Claims up to limit pending messages due at now, oldest first, moving
 * their next_try_at to lease_until so that no other sender (another
 * instance) takes them meanwhile; in *out (caller frees) and *n. */
int pat_store_outbox_claim(pat_store *s, int64_t now, int64_t lease_until, size_t limit,
                           pat_outbox_rec **out, size_t *n);

/* Records the outcome of a delivery attempt of message id: its status,
 * attempts, next try, sent time and last error (may be ""). */
int pat_store_outbox_mark(pat_store *s, int64_t id, pat_mail_status status, int attempts,
                          int64_t next_try_at, int64_t sent_at, const char *last_error);

/* Pending messages due now again (a superuser's "retry now"). */
int pat_store_outbox_retry_all(pat_store *s, int64_t now);

/* How many are pending, sent, failed, and when the oldest pending was made
 * (0: none). */
typedef struct pat_outbox_counts {
    int64_t pending, sent, failed, oldest_pending_at;
} pat_outbox_counts;
int pat_store_outbox_counts(pat_store *s, pat_outbox_counts *out);

/* The newest limit messages, newest first (bodies not read: out's bodies
 * are ""). */
int pat_store_outbox_list(pat_store *s, size_t limit, pat_outbox_rec **out, size_t *n);

/* ---- expiry reminders ---- */

/* Enabled tokens whose expiry is in (after, until], with no reminder
 * recorded yet for threshold (days), oldest expiry first, at most limit.
 * For threshold > 0 only tokens made to live longer than it: a 7-day
 * token is not "about to expire within 7 days" from its first second. */
int pat_store_tokens_to_remind(pat_store *s, int64_t after, int64_t until, int64_t threshold,
                               size_t limit, pat_token_rec **out, size_t *n);

/* Records that token_id was reminded for threshold (days; 0 = expired);
 * PAT_EEXISTS if it was already (another instance got there first). */
int pat_store_reminder_add(pat_store *s, int64_t token_id, int64_t threshold, int64_t at);

/* ---- copying a whole store (patd store copy) ---- */

#define PAT_SETTING_KEY_MAX 64
#define PAT_SETTING_VALUE_MAX 4096

typedef struct pat_setting {
    char key[PAT_SETTING_KEY_MAX];
    char value[PAT_SETTING_VALUE_MAX];
} pat_setting;

/* How many rows each table holds, and the largest id each id sequence
 * has handed out (also of rows deleted since). */
typedef struct pat_store_counts {
    int64_t users, tokens, sessions, audit, settings, orgs, members;
    int64_t last_user_id, last_token_id, last_audit_id, last_org_id;
} pat_store_counts;

int pat_store_count_rows(pat_store *s, pat_store_counts *out);

/* Copies every person, organization and membership, token (with its
 * hashes, last use, use count and version, its recent clients, the scopes
 * it used and its rotation in progress), session, audit event, setting
 * and signing key of from into to, keeping
 * their ids, in one unit of work on to; then checks that both hold as many
 * rows of each. to must hold no people (PAT_ECONFLICT otherwise): copying
 * never merges. The changes feed is not copied (every cache reading the
 * new store starts empty). Ids handed out later by to follow the largest
 * from ever handed out, so none is handed out twice. *copied (may be NULL) = what was copied. */
int pat_store_copy(pat_store *from, pat_store *to, pat_store_counts *copied);

/* ---- audit ---- */

/* Appends an audit event; fills r->id. */
int pat_store_audit_append(pat_store *s, pat_audit_rec *r);

/* Which audit events to list: 0 / "" / NULL fields do not filter. */
typedef struct pat_audit_filter {
    int64_t user_id;   /* events whose actor is this person */
    const char *action;
    int64_t since;     /* at >= since */
    int64_t before_id; /* id < before_id: the next page */
    size_t limit;
    int64_t org_id; /* events of this organization's administration or by its members */
} pat_audit_filter;

/* Events matching f, newest first, in *out (caller frees). */
int pat_store_audit_list(pat_store *s, const pat_audit_filter *f, pat_audit_rec **out, size_t *n);

/* Deletes events older than before. */
int pat_store_audit_prune(pat_store *s, int64_t before);

#endif
