#ifndef PAT_SERVICE_SERVICE_INT_H
#define PAT_SERVICE_SERVICE_INT_H
#include <pthread.h>
#include <stdatomic.h>

#include "service/cache.h"
#include "service/jwtcache.h"
#include "service/lastuse.h"
#include "service/livefilter.h"
#include "core/jwt.h"
#include "service/ratelimit.h"
#include "service/scopeuse.h"
#include "service/sightings.h"
#include "service/service.h"
#include "service/signing.h"
#include "util/time.h"

typedef struct pat_keyring pat_keyring;

struct pat_service {
    pat_store *store;
    /* The configuration in force: replaced whole by a reload (SIGHUP), so
     * every reader loads it once per use; replaced ones are kept until
     * the service ends, as a request may still hold them. */
    _Atomic(const pat_config *) config;
    pat_config **retired_configs;
    size_t nretired_configs;
    uint8_t key[PAT_KEY_LEN];
    uint8_t lookup_subkey[PAT_LOOKUP_KEY_LEN]; /* keys the verification cache */
    char token_prefix[PAT_TOKEN_PREFIX_MAX + 1];
    int64_t (*clock)(void);
    pat_cache *cache;
    /* The filter of live values' hashes: read lock-free by verification,
     * replaced whole by a rebuild (under changes_lock); the one it replaced
     * is freed by the next rebuild, long after any reader let go of it. */
    _Atomic(pat_livefilter *) live;
    pat_livefilter *live_retired;
    pat_lastuse *lastuse;
    pat_scopeuse *scopeuse; /* the scopes tokens used, written with last use */
    /* presentations the flusher looks at (service/clients.c, canary.c) */
    pat_sightings *canary_trips;
    pat_sightings *new_clients;
    uint8_t client_key[16]; /* keys client fingerprints (per process) */
    struct canary_mailed {
        int64_t token_id, at;
    } canary_mailed[64]; /* the flusher's: when each canary last emailed */
    pat_keyring *keyring; /* signing keys of exchanged JWTs */
    pat_jwtcache *jwtcache; /* JWTs verified before */
    char issuer[320];     /* iss of those JWTs: public_url, or http://LISTEN */
    pat_ratelimit *auth_failures; /* failed token authentications per address */
    pat_ratelimit *signin_by_address;
    pat_ratelimit *signin_by_account;
    pat_ratelimit *leak_by_address;  /* leak reports from strangers */
    pat_ratelimit *leak_by_reporter; /* and from tokens with leak-report */
    int64_t last_prune;            /* audit retention, done by the flusher */
    int64_t last_remind;           /* expiry reminders, looked for by the flusher */
    /* audit events written by the flusher (pat_audit_defer) */
    pthread_mutex_t deferred_lock;
    pat_audit_rec *deferred;
    size_t ndeferred, deferred_cap;
    /* the changes feed, as far as this instance's cache has followed it */
    pthread_mutex_t changes_lock;
    int64_t changes_seen;
    /* When (monotonic us) the last successful read of the feed began: on a
     * shared store the cache is trusted only while that is recent. */
    _Atomic int64_t synced_us;
    bool shared; /* other instances write to the store (PostgreSQL) */
    /* the follower (shared stores only): wakes on other instances' commits */
    bool following;
    pthread_t follower;
    atomic_bool follower_stop;
    atomic_bool listening; /* the store's listener answered its last wait */
    /* the mail sender (service/sender.c) */
    bool sending;
    pthread_t sender;
    pthread_mutex_t sender_lock;
    pthread_cond_t sender_wake;
    bool sender_woken;
    atomic_bool sender_stop;
    _Atomic int64_t mail_pending, mail_sent, mail_failed, mail_oldest_pending_at;
    atomic_bool query_tokens_enabled;
    /* the last-use flusher */
    bool background;
    pthread_t flusher;
    pthread_mutex_t flush_lock;
    pthread_cond_t flush_wake;
    bool stopping;
    bool flush_requested;
};

/* Appends an audit event for actor (may be NULL) from info (may be NULL),
 * in the caller's unit of work: if it fails, so does the change it records
 * (the caller rolls back). */
int pat_audit_record(pat_service *svc, const pat_principal *actor, const pat_request_info *info,
                     const char *action, const char *target, const char *detail_fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* pat_audit_record for an event of organization org_id's administration
 * (0 = the installation's): its owners see it in their audit log. */
int pat_audit_record_org(pat_service *svc, int64_t org_id, const pat_principal *actor,
                         const pat_request_info *info, const char *action, const char *target,
                         const char *detail_fmt, ...) __attribute__((format(printf, 7, 8)));

/* ---- policies (service/policy.c) and organizations (service/orgs.c) ---- */

/* The stored policy of org_id (0 = the installation) into *out:
 * PAT_ENOTFOUND (*out the defaults) when none was ever set. */
int pat_policy_read(pat_service *svc, int64_t org_id, pat_policy *out);

/* Validates and stores p as org_id's policy (0 = the installation),
 * audited (policy.updated / org.policy_updated), in a unit of work of its
 * own. The caller has checked who may. */
int pat_policy_write(pat_service *svc, int64_t org_id, const pat_principal *actor,
                     const pat_request_info *info, const pat_policy *p);

/* The tokens policy p puts out of bounds at now, canaries aside (they
 * grant nothing), among all tokens (org_id 0) or those usable in org_id:
 * at most limit, in *out (caller frees). */
int pat_policy_violations_in(pat_service *svc, int64_t org_id, const pat_policy *p, size_t limit,
                             pat_token_rec **out, size_t *n);

/* The organizations where person user_id may use tokens (a member with
 * the permission), as a sorted list into out. */
int pat_member_orgs(pat_service *svc, int64_t user_id, char out[PAT_MEMBER_ORGS_MAX]);

/* Makes u a member of the organization "default", when it exists (an
 * owner if a superuser; the token permission as u's), in the caller's
 * unit of work: what an installation of one organization had. */
int pat_orgs_join_default(pat_service *svc, const pat_user *u);

/* The organizations' token policy for a token of user_id that may be used
 * in token_orgs ("" = all of the owner's): inst (the installation's)
 * tightened by the enforcing policy of each organization the owner is a
 * member of that the token names, into *out. */
int pat_orgs_token_policy(pat_service *svc, int64_t user_id, const char *token_orgs,
                          const pat_policy *inst, pat_policy *out);

/* PAT_OK if req (with the caller's ceiling, as pat_expiry_resolve) is
 * within the enforcing policy of every organization a token of user_id's
 * with token_orgs may be used in; else PAT_EPOLICY naming the first
 * organization whose limit it breaks. */
int pat_orgs_check(pat_service *svc, int64_t user_id, const char *token_orgs,
                   const pat_expiry_request *req, int64_t ceiling);

/* Checks the organizations a token asks for (names[0..n), or has_orgs
 * false / null: all its owner's) into out: each a slug of an organization
 * user_id is a member of, at most PAT_ORGS_PER_TOKEN. PAT_EINVAL (field
 * "organizations") otherwise. */
int pat_orgs_resolve(pat_service *svc, int64_t user_id, const char *const *names, size_t n,
                     char out[PAT_TOKEN_ORGS_MAX]);

/* An audit event of something that changes nothing in the store (a token
 * exchange): queued and written by the flusher within a second, a batch
 * per transaction, so such events cost no commit each. A full queue
 * writes this one at once; none is dropped (a crash loses at most the
 * last second's). */
int pat_audit_defer(pat_service *svc, const pat_principal *actor, const pat_request_info *info,
                    const char *action, const char *target, const char *detail_fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* The events f selects, f's page size and action checked as
 * pat_audit_list says; who may read them is the caller's to decide. */
int pat_audit_read(pat_service *svc, pat_audit_filter *f, pat_audit_rec **out, size_t *n);

/* Writes the queued events (the flusher, and at stop). */
int pat_audit_flush_deferred(pat_service *svc);

/* A use case's unit of work (service/unit.c). begin opens it in the store;
 * end commits it when rc is PAT_OK, otherwise rolls it back, then makes
 * this instance's cache follow the changes feed, and returns rc (or the
 * commit's failure). */
int pat_unit_begin(pat_service *svc);
int pat_unit_end(pat_service *svc, int rc);

/* Reads the changes feed past what this instance has seen and forgets what
 * each change touched: a token's entries by hash (their uncounted uses
 * still count), a person, the policy. Called after every unit of work, by
 * the flusher every second and, on a shared store, by the follower
 * whenever another instance commits. PAT_OK when the feed was read (and
 * synced_us moved to when the read began). */
int pat_service_follow_changes(pat_service *svc);

/* Whether verification may answer from the cache: always on a store only
 * this process writes; on a shared one only while the feed was read within
 * cache_stale_seconds (a missed notification can then keep a revoked
 * token alive that long, never longer). Inline: the hot path asks twice. */
static inline bool pat_service_cache_trusted(pat_service *svc)
{
    return !svc->shared || pat_time_mono_us() - atomic_load(&svc->synced_us) <=
                               (int64_t)svc->config->cache_stale_seconds * 1000000;
}

/* ---- the keyring (service/keyring.c) ---- */
pat_keyring *pat_keyring_new(void);
void pat_keyring_free(pat_keyring *r);

/* Makes the keyring hold exactly the store's keys, opening only those it
 * does not hold yet. Called at start and whenever the changes feed names a
 * key; one load runs at a time. */
int pat_keyring_load(pat_service *svc);

/* Deletes from the store, each in a unit of work with its audit event
 * key.deleted, every key that is out of the JWKS for good (no JWT it signed
 * can still be valid); the feed then drops it from every instance's
 * keyring. A key another instance deleted first is skipped. Called by the
 * flusher with its other pruning. */
int pat_keyring_prune(pat_service *svc);

/* At start: makes the first key if the store has none (one, even with
 * instances starting together), then loads the keyring. */
int pat_keyring_start(pat_service *svc);

/* Appends to out the JWT of claims, signed by the key active at now
 * (header alg, typ at+jwt, kid). */
int pat_keyring_sign_jwt(pat_service *svc, int64_t now, const json_t *claims, pat_buf *out);

/* PAT_OK if jwt's signature over msg is that of the published key its kid
 * names, with that key's algorithm (never the header's); PAT_EAUTH
 * otherwise. */
int pat_keyring_verify(pat_service *svc, int64_t now, const pat_jwt *jwt, const uint8_t *msg,
                       size_t n);

/* The JWKS document of the keys published at now. */
json_t *pat_keyring_jwks(pat_service *svc, int64_t now);

/* Every key with its state at now; *out is the caller's. */
int pat_keyring_list(pat_service *svc, int64_t now, pat_key_info **out, size_t *n);

/* Adds a key that signs from now + jwks_publish_ahead_seconds, audited. */
int pat_keyring_rotate(pat_service *svc, const pat_principal *actor,
                       const pat_request_info *info, char kid[64]);

/* The pat_tag claim: a keyed digest of the PAT value's stored hash, which
 * ties a JWT to that value without revealing anything of it. */
#define PAT_JWT_TAG_LEN 16
void pat_jwt_tag(const pat_service *svc, const uint8_t hash[PAT_HASH_LEN],
                 char out[PAT_JWT_TAG_LEN + 1]);

/* ---- notifications (service/notify.c) and the sender (sender.c) ---- */

/* What happened to tokens, for their owner's email (index into the verbs
 * of notify.c). */
typedef enum pat_note {
    PAT_NOTE_CREATED = 0,
    PAT_NOTE_COPIED,
    PAT_NOTE_REGENERATED,
    PAT_NOTE_DISABLED,
    PAT_NOTE_DELETED,
    PAT_NOTE_ENABLED,
} pat_note;

typedef enum pat_account_note {
    PAT_NOTE_PERMISSION_WITHDRAWN = 0,
    PAT_NOTE_PERMISSION_RESTORED,
    PAT_NOTE_ACCOUNT_DISABLED,
    PAT_NOTE_ALL_REVOKED,
} pat_account_note;

/* Queues the email to owner_id about tokens[0..n) (one email, listing
 * them), in the caller's unit of work; nothing when the owner has no
 * email address. actor NULL: an operator. */
int pat_notify_tokens(pat_service *svc, const pat_principal *actor, const pat_request_info *info,
                      pat_note what, int64_t owner_id, const pat_token_rec *tokens, size_t n);

/* Queues the email to user_id about their account, likewise. */
int pat_notify_account(pat_service *svc, const pat_principal *actor, const pat_request_info *info,
                       pat_account_note what, int64_t user_id);

/* Queues the email to user_id that their token permission in the
 * organization org_name was withdrawn (allowed false) or given back. */
int pat_notify_org_permission(pat_service *svc, const pat_principal *actor,
                              const pat_request_info *info, int64_t user_id, const char *org_name,
                              bool allowed);

/* Queues owner's digest of tokens[0..n) that crossed thresholds[i]
 * (days; 0 = expired), in the caller's unit of work. */
int pat_notify_expiry(pat_service *svc, const pat_user *owner, const pat_token_rec *tokens,
                      const int64_t *thresholds, size_t n);

/* Disables or enables t (read in the caller's unit of work; a canary is
 * PAT_ECONFLICT), audited; its owner is emailed when actor is someone
 * else. Nothing when it is already so. */
int pat_tokens_apply_disabled(pat_service *svc, const pat_principal *actor,
                              const pat_request_info *info, pat_token_rec *t, bool disabled);

/* Token id and its owner (password hash included: the caller wipes
 * *owner), read in the caller's unit of work for the flusher's reports
 * (canary trips, leaks, usage alerts). PAT_ENOTFOUND if either is gone. */
int pat_tokens_load_with_owner(pat_service *svc, int64_t id, pat_token_rec *t, pat_user *owner);

/* Ends t's previous value now (read in the caller's unit of work) and its
 * rotation, audited token.previous_retired with why; PAT_ECONFLICT when
 * none is alive. actor NULL: patd itself (retired once unused). */
int pat_tokens_retire_now(pat_service *svc, const pat_principal *actor,
                          const pat_request_info *info, pat_token_rec *t, const char *why);

/* Records the rotations' uses among touches[0..n) (a negative token id: a
 * use of the previous value) and retires previous values unused for their
 * retire_when_unused_seconds (service/rotations.c; the flusher's). */
void pat_service_rotations(pat_service *svc, const pat_token_touch *touches, size_t n);

/* Emails the owner of u->token_id that it used u->scope for the first
 * time (alert_on_new_scope), audited token.new_scope, in a unit of work
 * of its own; nothing for a token gone or a canary. The flusher's. */
int pat_service_new_scope(pat_service *svc, const pat_scope_use *u);

/* Queues the owner's email about token t using scope for the first time. */
int pat_notify_new_scope(pat_service *svc, const pat_user *owner, const pat_token_rec *t,
                         const char *scope, int64_t at);

/* Counts a use of scope by actor's token (nothing for a person in the
 * console, or a scope the token does not hold): least privilege from
 * observed use. */
void pat_service_note_scope(pat_service *svc, const pat_principal *actor, const char *scope);

/* Deletes t (read in the caller's unit of work), audited, its owner
 * emailed. */
int pat_tokens_remove(pat_service *svc, const pat_principal *actor, const pat_request_info *info,
                      const pat_token_rec *t);

/* Queues the owner's email about a presentation of the canary token t
 * (count of them since the last), in the caller's unit of work. */
int pat_notify_canary(pat_service *svc, const pat_user *owner, const pat_token_rec *t,
                      const pat_last_use *use, int64_t count);

/* Queues the owner's email about token t reported leaked (its previous
 * value only, when previous) from source at url (either may be NULL). */
int pat_notify_leaked(pat_service *svc, const pat_user *owner, const pat_token_rec *t,
                      bool previous, const char *source, const char *url);

/* Queues the owner's email about token t used from a new client. */
int pat_notify_new_client(pat_service *svc, const pat_user *owner, const pat_token_rec *t,
                          const pat_last_use *use, const pat_token_client *client);

/* Reports presentations of canary tokens and records clients of tokens:
 * what verification queued (svc->canary_trips, svc->new_clients) and the
 * details of uses in touches[0..n) (last use about to be written). Each
 * canary trip is audited (token.canary_tripped) and its owner emailed (at
 * most once per canary_alert_interval_seconds); a client new to a token
 * past its learning period emails its owner (token.new_client), at most
 * once per token per new_client_alert_interval_seconds. The flusher's. */
void pat_service_canaries(pat_service *svc);

/* Records one use of token_id among its clients and, when it came from a
 * new client, alerts as above (in the caller's unit of work). */
int pat_service_client_seen(pat_service *svc, int64_t token_id, const pat_last_use *use);
void pat_service_clients(pat_service *svc, const pat_token_touch *touches, size_t n);

/* Looks for tokens due a reminder and emails their owners (reminders.c);
 * the flusher calls it every expiry_check_seconds. */
void pat_service_remind(pat_service *svc);

/* Wakes the sender (a message was queued); starts and stops it. */
void pat_sender_wake(pat_service *svc);
int pat_sender_start(pat_service *svc);
void pat_sender_stop(pat_service *svc);

/* Starts and stops the follower thread (service/follower.c); start does
 * nothing on a store only this process writes. */
int pat_follower_start(pat_service *svc);
void pat_follower_stop(pat_service *svc);

/* Builds the live filter anew from the store (sized for twice the values
 * there) and swaps it in; the feed's lock keeps a concurrent change from
 * being missed. Called at start and when the filter has filled up. */
int pat_service_live_rebuild(pat_service *svc);

/* Reloads the policy's hot-path flags from the store (service/policy.c). */
void pat_service_policy_refresh(pat_service *svc);

/* Counts uses of token_id that no cache entry carries any longer
 * (service/flusher.c): never dropped, written with the next flush. */
void pat_service_count_uses(pat_service *svc, int64_t token_id, int64_t uses);

/* Keyed hash of a secret (session id, CSRF token) with the server key. */
void pat_service_hash_secret(const pat_service *svc, const char *secret,
                             uint8_t out[PAT_HASH_LEN]);

/* Hashes a password with argon2id into out; PAT_EINVAL if its length is out
 * of range. */
int pat_service_password_hash(const char *password, char out[PAT_PWHASH_MAX]);

/* Fills the user part of a principal. */
void pat_principal_set_user(pat_principal *p, const pat_user *u);

/* Wakes the flusher early (the last-use table is filling up). */
void pat_service_request_flush(pat_service *svc);

/* Starts and stops the flusher thread (service/flusher.c). */
int pat_flusher_start(pat_service *svc);
void pat_flusher_stop(pat_service *svc);

#endif
