/* Sign-in, console sessions and password confirmation. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "core/text.h"
#include "service/service_int.h"
#include "util/error.h"
#include "util/log.h"

/* argon2id's cost. A fuzzing build (never installed: `make fuzz` only)
 * takes the least libsodium allows, so the fuzzer explores the handlers
 * around a password instead of waiting 0.1 s on each hash. */
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define PWHASH_OPS crypto_pwhash_OPSLIMIT_MIN
#define PWHASH_MEM crypto_pwhash_MEMLIMIT_MIN
#else
#define PWHASH_OPS crypto_pwhash_OPSLIMIT_INTERACTIVE
#define PWHASH_MEM crypto_pwhash_MEMLIMIT_INTERACTIVE
#endif

int pat_service_password_hash(const char *password, char out[PAT_PWHASH_MAX])
{
    size_t n = strlen(password);

    if (n < PAT_PASSWORD_MIN || n > PAT_PASSWORD_MAX)
        return pat_error_set(PAT_EINVAL, "password", "password must be %d to %d characters",
                             PAT_PASSWORD_MIN, PAT_PASSWORD_MAX);
    if (crypto_pwhash_str(out, password, n, PWHASH_OPS, PWHASH_MEM) != 0)
        return pat_error_set(PAT_EIO, NULL, "cannot hash the password");
    return PAT_OK;
}

/* A fixed argon2id hash to verify against when the user does not exist, so
 * unknown names take as long as wrong passwords. Made once, lazily. */
static char dummy[crypto_pwhash_STRBYTES];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void make_dummy(void)
{
    /* On failure dummy stays empty and verifying against it fails fast;
     * only the timing equalisation is lost, never correctness. */
    if (crypto_pwhash_str(dummy, "patd-no-such-user", 17, PWHASH_OPS, PWHASH_MEM) != 0)
        dummy[0] = '\0';
}

/* PAT_OK if password matches the stored argon2id hash. */
static int password_matches(const char *hash, const char *password)
{
    size_t n = strlen(password);

    if (n > PAT_PASSWORD_MAX)
        return 0;
    return crypto_pwhash_str_verify(hash, password, n) == 0;
}

/* Writes 32 random bytes as base64url into out. */
static void random_secret(char out[PAT_SESSION_SECRET_BUF])
{
    unsigned char raw[32];

    randombytes_buf(raw, sizeof(raw));
    sodium_bin2base64(out, PAT_SESSION_SECRET_BUF, raw, sizeof(raw),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof(raw));
}

/* Keys of the sign-in limiter: one per address, one per account. */
static void signin_keys(const char *username, const pat_request_info *info, char ip_key[80],
                        char user_key[80])
{
    snprintf(ip_key, 80, "ip:%s", info && info->ip ? info->ip : "");
    snprintf(user_key, 80, "user:%.64s", username);
}

/* Too many failures from this address, or against this account, lately?
 * The account's window is short, so a stranger cannot lock its owner out
 * for long; the address's is longer. */
static int signin_allowed(pat_service *svc, const char *username, const pat_request_info *info,
                          int64_t now)
{
    char ip_key[80], user_key[80], seconds[24];
    int64_t wait;

    signin_keys(username, info, ip_key, user_key);
    wait = pat_ratelimit_blocked(svc->signin_by_address, ip_key, now);
    if (!wait)
        wait = pat_ratelimit_blocked(svc->signin_by_account, user_key, now);
    if (!wait)
        return PAT_OK;
    snprintf(seconds, sizeof(seconds), "%lld", (long long)wait);
    pat_audit_record(svc, NULL, info, "session.rate_limited", "user", "username=%.64s", username);
    return pat_error_set(PAT_ERATE, seconds, "too many failed sign-ins; retry later");
}

static void signin_failed(pat_service *svc, const char *username, const pat_request_info *info,
                          int64_t now)
{
    char ip_key[80], user_key[80];

    signin_keys(username, info, ip_key, user_key);
    pat_ratelimit_fail(svc->signin_by_address, ip_key, now);
    pat_ratelimit_fail(svc->signin_by_account, user_key, now);
}

int pat_service_login(pat_service *svc, const char *username, const char *password,
                      const pat_request_info *info, char sid[PAT_SESSION_SECRET_BUF],
                      char csrf[PAT_SESSION_SECRET_BUF], pat_principal *who)
{
    pat_user u;
    pat_session_rec s;
    int64_t now = svc->clock();
    int rc, found;

    if ((rc = signin_allowed(svc, username, info, now)) < 0)
        goto out;
    found = strlen(username) <= PAT_USERNAME_MAX &&
            pat_store_user_get_by_name(svc->store, username, &u) == PAT_OK;
    if (!found) {
        pthread_once(&dummy_once, make_dummy);
        password_matches(dummy, password);
    }
    if (!found || !password_matches(u.password_hash, password) || u.disabled) {
        signin_failed(svc, username, info, now);
        pat_audit_record(svc, NULL, info, "session.failed", "user", "username=%.64s", username);
        rc = pat_error_set(PAT_EUNAUTH, NULL, "wrong username or password");
        goto out;
    }
    memset(&s, 0, sizeof(s));
    random_secret(sid);
    random_secret(csrf);
    pat_service_hash_secret(svc, sid, s.id_hash);
    pat_service_hash_secret(svc, csrf, s.csrf_hash);
    s.user_id = u.id;
    s.created_at = now;
    s.expires_at = now + PAT_SESSION_LIFETIME;
    /* The password was just typed, so the confirmation window starts open. */
    s.confirmed_until = now + svc->config->confirm_window_seconds;
    snprintf(s.ip, sizeof(s.ip), "%s", info && info->ip ? info->ip : "");
    pat_text_copy_clean(s.user_agent, sizeof(s.user_agent), info ? info->user_agent : NULL);
    memset(who, 0, sizeof(*who));
    who->kind = PAT_AUTH_SESSION;
    pat_principal_set_user(who, &u);
    memcpy(who->session_hash, s.id_hash, PAT_HASH_LEN);
    memcpy(who->csrf_hash, s.csrf_hash, PAT_HASH_LEN);
    who->confirmed_until = s.confirmed_until;
    {
        /* A success wipes the account's failures (a stranger's guesses
         * must not keep its owner out), not the address's. */
        char ip_key[80], user_key[80];
        signin_keys(username, info, ip_key, user_key);
        pat_ratelimit_reset(svc->signin_by_account, user_key);
    }
    if ((rc = pat_unit_begin(svc)) == PAT_OK) {
        if ((rc = pat_store_session_insert(svc->store, &s)) == PAT_OK)
            rc = pat_audit_record(svc, who, info, "session.created", "user", "username=%s",
                                  u.username);
        rc = pat_unit_end(svc, rc);
    }
    if (rc < 0) {
        sodium_memzero(sid, PAT_SESSION_SECRET_BUF);
        sodium_memzero(csrf, PAT_SESSION_SECRET_BUF);
        memset(who, 0, sizeof(*who));
    }
out:
    sodium_memzero(&u, sizeof(u));
    return rc;
}

int pat_service_session_resolve(pat_service *svc, const char *sid, pat_principal *out)
{
    pat_session_rec s;
    pat_user u;
    uint8_t hash[PAT_HASH_LEN];
    int rc;

    if (strlen(sid) >= PAT_SESSION_SECRET_BUF)
        return pat_error_set(PAT_EUNAUTH, NULL, "the session is not valid; sign in again");
    pat_service_hash_secret(svc, sid, hash);
    rc = pat_store_session_get(svc->store, hash, &s);
    if (rc == PAT_ENOTFOUND || (rc == PAT_OK && s.expires_at <= svc->clock()))
        return pat_error_set(PAT_EUNAUTH, NULL, "the session has expired; sign in again");
    if (rc < 0)
        return rc;
    rc = pat_store_user_get(svc->store, s.user_id, &u);
    if (rc == PAT_ENOTFOUND || (rc == PAT_OK && u.disabled))
        return pat_error_set(PAT_EUNAUTH, NULL, "the account is disabled");
    if (rc < 0)
        return rc;
    memset(out, 0, sizeof(*out));
    out->kind = PAT_AUTH_SESSION;
    pat_principal_set_user(out, &u);
    memcpy(out->session_hash, s.id_hash, PAT_HASH_LEN);
    memcpy(out->csrf_hash, s.csrf_hash, PAT_HASH_LEN);
    out->confirmed_until = s.confirmed_until;
    sodium_memzero(&u, sizeof(u));
    return PAT_OK;
}

int pat_service_session_check_csrf(pat_service *svc, const pat_principal *who, const char *csrf)
{
    uint8_t hash[PAT_HASH_LEN];

    if (!csrf || !*csrf || strlen(csrf) >= PAT_SESSION_SECRET_BUF)
        return pat_error_set(PAT_EFORBIDDEN, NULL, "missing X-CSRF-Token header");
    pat_service_hash_secret(svc, csrf, hash);
    if (!pat_token_hash_equal(hash, who->csrf_hash))
        return pat_error_set(PAT_EFORBIDDEN, NULL, "the X-CSRF-Token header is wrong");
    return PAT_OK;
}

int pat_service_logout(pat_service *svc, const pat_principal *who, const pat_request_info *info)
{
    int rc;

    if (who->kind != PAT_AUTH_SESSION)
        return pat_error_set(PAT_EINVAL, NULL, "not signed in with a session");
    if ((rc = pat_unit_begin(svc)) < 0)
        return rc;
    if ((rc = pat_store_session_delete(svc->store, who->session_hash)) == PAT_OK)
        rc = pat_audit_record(svc, who, info, "session.deleted", "user", "username=%s",
                              who->username);
    return pat_unit_end(svc, rc);
}

int pat_service_session_confirm(pat_service *svc, pat_principal *who, const char *password,
                                const pat_request_info *info)
{
    pat_user u;
    int64_t until;
    int rc;

    if (who->kind != PAT_AUTH_SESSION)
        return pat_error_set(PAT_EINVAL, NULL, "confirmation applies to console sessions only");
    if ((rc = pat_store_user_get(svc->store, who->user_id, &u)) < 0)
        return rc;
    if (!password_matches(u.password_hash, password)) {
        pat_audit_record(svc, who, info, "session.confirm_failed", "user", "username=%s",
                         who->username);
        rc = pat_error_set(PAT_EFORBIDDEN, "password", "the password is wrong");
        goto out;
    }
    /* The window opens once the (deliberately slow) hash has matched, not
     * when the request arrived. */
    until = svc->clock() + svc->config->confirm_window_seconds;
    if ((rc = pat_unit_begin(svc)) < 0)
        goto out;
    if ((rc = pat_store_session_set_confirmed(svc->store, who->session_hash, until)) == PAT_OK)
        rc = pat_audit_record(svc, who, info, "session.confirmed", "user", "username=%s",
                              who->username);
    if ((rc = pat_unit_end(svc, rc)) == PAT_OK)
        who->confirmed_until = until;
out:
    sodium_memzero(&u, sizeof(u));
    return rc;
}

int pat_users_change_password(pat_service *svc, const pat_principal *who,
                              const pat_request_info *info, const char *current,
                              const char *new_password)
{
    char new_hash[PAT_PWHASH_MAX];
    pat_user u;
    int64_t version;
    int rc;

    memset(&u, 0, sizeof(u));
    memset(new_hash, 0, sizeof(new_hash));
    if (who->kind != PAT_AUTH_SESSION)
        return pat_error_set(PAT_EFORBIDDEN, NULL, "change your password from a console session");
    if ((rc = pat_store_user_get(svc->store, who->user_id, &u)) < 0)
        return rc;
    /* The slow hashes run outside the unit of work; the version read here
     * makes the write fail if the account changed meanwhile. */
    if (!password_matches(u.password_hash, current)) {
        pat_audit_record(svc, who, info, "user.password_change_failed", "user", "id=%lld",
                         (long long)u.id);
        rc = pat_error_set(PAT_EFORBIDDEN, "current_password", "the current password is wrong");
        goto out;
    }
    if ((rc = pat_service_password_hash(new_password, new_hash)) < 0)
        goto out;
    version = u.version;
    if ((rc = pat_unit_begin(svc)) < 0)
        goto out;
    if ((rc = pat_store_user_get(svc->store, who->user_id, &u)) < 0)
        goto end;
    if (u.version != version) {
        rc = pat_error_set(PAT_ECONFLICT, NULL,
                           "the account changed meanwhile; reload and try again");
        goto end;
    }
    memcpy(u.password_hash, new_hash, sizeof(u.password_hash));
    u.updated_at = svc->clock();
    if ((rc = pat_store_user_update(svc->store, &u)) < 0 ||
        /* Whoever else holds a session of this account is signed out. */
        (rc = pat_store_session_delete_user(svc->store, u.id, who->session_hash)) < 0)
        goto end;
    rc = pat_audit_record(svc, who, info, "user.password_changed", "user", "id=%lld",
                          (long long)u.id);
end:
    rc = pat_unit_end(svc, rc);
out:
    sodium_memzero(&u, sizeof(u));
    sodium_memzero(new_hash, sizeof(new_hash));
    return rc;
}
