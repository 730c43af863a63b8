#ifndef PAT_SERVICE_SERVICE_INT_H
#define PAT_SERVICE_SERVICE_INT_H
#include <pthread.h>
#include <stdatomic.h>

#include "service/cache.h"
#include "service/lastuse.h"
#include "service/ratelimit.h"
#include "service/service.h"

struct pat_service {
    pat_store *store;
    const pat_config *config;
    const pat_catalog *catalog;
    uint8_t key[PAT_KEY_LEN];
    uint8_t lookup_subkey[PAT_LOOKUP_KEY_LEN]; /* keys the verification cache */
    char token_prefix[PAT_TOKEN_PREFIX_MAX + 1];
    int64_t (*clock)(void);
    pat_cache *cache;
    pat_lastuse *lastuse;
    pat_ratelimit *auth_failures; /* failed token authentications per address */
    pat_ratelimit *signin_by_address;
    pat_ratelimit *signin_by_account;
    int64_t last_prune;            /* audit retention, done by the flusher */
    atomic_bool query_tokens_enabled;
    /* the last-use flusher */
    bool background;
    pthread_t flusher;
    pthread_mutex_t flush_lock;
    pthread_cond_t flush_wake;
    bool stopping;
    bool flush_requested;
};

/* Appends an audit event for actor (may be NULL) from info (may be NULL).
 * Failures are logged, never passed up: an audit write must not undo the
 * change it records. */
void pat_audit_record(pat_service *svc, const pat_principal *actor, const pat_request_info *info,
                      const char *action, const char *target, const char *detail_fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Keyed hash of a secret (session id, CSRF token) with the server key. */
void pat_service_hash_secret(const pat_service *svc, const char *secret,
                             uint8_t out[PAT_HASH_LEN]);

/* Hashes a password with argon2id into out; PAT_EINVAL if its length is out
 * of range. */
int pat_service_password_hash(const char *password, char out[PAT_PWHASH_MAX]);

/* Fills the user part of a principal. */
void pat_principal_set_user(pat_principal *p, const pat_user *u);

/* Drops what the cache knows of t (current and previous value), so the next
 * request sees the change. Call after every change to a token is stored. */
void pat_service_forget_token(pat_service *svc, const pat_token_rec *t);

/* Drops what the cache knows of a person. */
void pat_service_forget_user(pat_service *svc, int64_t user_id);

/* Wakes the flusher early (the last-use table is filling up). */
void pat_service_request_flush(pat_service *svc);

#endif
