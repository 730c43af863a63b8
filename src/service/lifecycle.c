/* The service's life: creating it from the store and configuration, and
 * the small accessors the HTTP layer and CLI use. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/text.h"
#include "service/service_int.h"
#include "util/error.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/metrics.h"
#include "util/time.h"

#define KEY_CHECK_SETTING "server_key_check"
#define KEY_CHECK_TEXT "patd server key check v1"

/* Every instance on one database must hold the same server key, or each
 * would fail the others' tokens. The database keeps a check value (an HMAC
 * of a fixed text, which tells nothing of the key); the first start writes
 * it, and an instance whose key gives another refuses to start. */
static int check_server_key(pat_service *svc)
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    char mine[crypto_auth_hmacsha256_BYTES * 2 + 1], stored[sizeof(mine)];
    int rc;

    _Static_assert(PAT_KEY_LEN == crypto_auth_hmacsha256_KEYBYTES, "the server key is an HMAC key");
    crypto_auth_hmacsha256(mac, (const unsigned char *)KEY_CHECK_TEXT, strlen(KEY_CHECK_TEXT),
                           svc->key);
    sodium_bin2hex(mine, sizeof(mine), mac, sizeof(mac));
    rc = pat_store_setting_get(svc->store, KEY_CHECK_SETTING, stored, sizeof(stored));
    if (rc == PAT_ENOTFOUND)
        return pat_store_setting_set(svc->store, KEY_CHECK_SETTING, mine);
    if (rc < 0)
        return rc;
    if (strlen(stored) != strlen(mine) || sodium_memcmp(stored, mine, strlen(mine)) != 0)
        return pat_error_set(PAT_EINVAL, "server_key_file",
                             "this server key is not the one the database was set up with: every "
                             "instance on one database needs the same key (server_key_file); "
                             "copy the first instance's key file");
    return PAT_OK;
}

/* iss of exchanged JWTs: the public URL people reach patd on, without a
 * trailing slash. */
static void set_issuer(pat_service *svc)
{
    const pat_config *cfg = svc->config;
    size_t n;

    if (cfg->public_url[0])
        snprintf(svc->issuer, sizeof(svc->issuer), "%s", cfg->public_url);
    else
        snprintf(svc->issuer, sizeof(svc->issuer), "http://%s", cfg->listen);
    n = strlen(svc->issuer);
    while (n > 0 && svc->issuer[n - 1] == '/')
        svc->issuer[--n] = '\0';
}

int pat_service_new(pat_service **out, const pat_service_options *opts)
{
    const pat_config *cfg = opts->config;
    pat_service *svc;
    int rc;

    if ((rc = pat_token_prefix_valid(cfg->token_prefix)) < 0)
        return rc;
    svc = pat_calloc(1, sizeof(*svc));
    svc->store = opts->store;
    atomic_init(&svc->config, cfg);
    memcpy(svc->key, opts->key, PAT_KEY_LEN);
    pat_token_lookup_subkey(svc->lookup_subkey, svc->key);
    if ((rc = pat_text_set(svc->token_prefix, sizeof(svc->token_prefix), cfg->token_prefix)) < 0) {
        free(svc);
        return rc;
    }
    svc->clock = opts->clock ? opts->clock : pat_time_now;
    svc->cache = pat_cache_new((size_t)cfg->cache_max_entries);
    svc->lastuse = pat_lastuse_new((size_t)cfg->last_use_buffer);
    svc->scopeuse = pat_scopeuse_new(0);
    svc->canary_trips = pat_sightings_new(256);
    svc->new_clients = pat_sightings_new(1024);
    randombytes_buf(svc->client_key, sizeof(svc->client_key));
    svc->auth_failures = pat_ratelimit_new(cfg->auth_fail_limit, cfg->auth_fail_window_seconds);
    svc->signin_by_address = pat_ratelimit_new(PAT_SIGNIN_ADDRESS_LIMIT, 300);
    svc->signin_by_account = pat_ratelimit_new(PAT_SIGNIN_ACCOUNT_LIMIT, 60);
    svc->leak_by_address = pat_ratelimit_new(PAT_LEAK_REPORTS_PER_HOUR, 3600);
    svc->leak_by_reporter = pat_ratelimit_new(PAT_LEAK_REPORTS_PER_HOUR_REPORTER, 3600);
    pthread_mutex_init(&svc->flush_lock, NULL);
    pthread_cond_init(&svc->flush_wake, NULL);
    pthread_mutex_init(&svc->changes_lock, NULL);
    pthread_mutex_init(&svc->sender_lock, NULL);
    pthread_mutex_init(&svc->deferred_lock, NULL);
    pthread_cond_init(&svc->sender_wake, NULL);
    svc->shared = pat_store_shared(svc->store);
    svc->keyring = pat_keyring_new();
    svc->jwtcache = pat_jwtcache_new();
    set_issuer(svc);
    if ((rc = check_server_key(svc)) < 0)
        goto fail;
    /* The cache starts empty: only changes from now on concern it. */
    atomic_store(&svc->synced_us, pat_time_mono_us());
    if ((rc = pat_store_changes_last(svc->store, &svc->changes_seen)) < 0 ||
        (rc = pat_service_live_rebuild(svc)) < 0)
        goto fail;
    pat_service_policy_refresh(svc);
    /* After the feed and the filter: making the first key is a unit of
     * work, which follows the feed. */
    if ((rc = pat_keyring_start(svc)) < 0)
        goto fail;
    if (opts->background &&
        ((rc = pat_flusher_start(svc)) < 0 || (rc = pat_follower_start(svc)) < 0 ||
         (rc = pat_sender_start(svc)) < 0))
        goto fail;
    *out = svc;
    return PAT_OK;
fail:
    pat_service_free(svc);
    return rc;
}

void pat_service_free(pat_service *svc)
{
    if (!svc)
        return;
    pat_sender_stop(svc);
    pat_follower_stop(svc);
    pat_flusher_stop(svc);
    pthread_cond_destroy(&svc->sender_wake);
    pthread_mutex_destroy(&svc->sender_lock);
    pat_audit_flush_deferred(svc);
    free(svc->deferred);
    pthread_mutex_destroy(&svc->deferred_lock);
    pthread_cond_destroy(&svc->flush_wake);
    pthread_mutex_destroy(&svc->flush_lock);
    pthread_mutex_destroy(&svc->changes_lock);
    pat_ratelimit_free(svc->auth_failures);
    pat_ratelimit_free(svc->signin_by_address);
    pat_ratelimit_free(svc->signin_by_account);
    pat_ratelimit_free(svc->leak_by_address);
    pat_ratelimit_free(svc->leak_by_reporter);
    pat_lastuse_free(svc->lastuse);
    pat_scopeuse_free(svc->scopeuse);
    pat_sightings_free(svc->canary_trips);
    pat_sightings_free(svc->new_clients);
    pat_cache_free(svc->cache);
    pat_keyring_free(svc->keyring);
    pat_jwtcache_free(svc->jwtcache);
    pat_livefilter_free(atomic_load(&svc->live));
    pat_livefilter_free(svc->live_retired);
    for (size_t i = 0; i < svc->nretired_configs; i++)
        free(svc->retired_configs[i]);
    free(svc->retired_configs);
    sodium_memzero(svc->key, sizeof(svc->key));
    sodium_memzero(svc->lookup_subkey, sizeof(svc->lookup_subkey));
    free(svc);
}

int pat_service_reconfigure(pat_service *svc, pat_config *fresh)
{
    const pat_config *old = atomic_load(&svc->config);

    /* What a running service cannot take without a restart. */
    if (strcmp(fresh->listen, old->listen) != 0 || strcmp(fresh->db, old->db) != 0 ||
        strcmp(fresh->data_dir, old->data_dir) != 0 ||
        strcmp(fresh->token_prefix, old->token_prefix) != 0)
        pat_log_info("reload: listen, db, data_dir and token_prefix change at the next start");
    memcpy(fresh->listen, old->listen, sizeof(fresh->listen));
    memcpy(fresh->db, old->db, sizeof(fresh->db));
    memcpy(fresh->data_dir, old->data_dir, sizeof(fresh->data_dir));
    memcpy(fresh->token_prefix, old->token_prefix, sizeof(fresh->token_prefix));
    svc->retired_configs = pat_realloc(svc->retired_configs,
                                       (svc->nretired_configs + 1) * sizeof(*svc->retired_configs));
    svc->retired_configs[svc->nretired_configs++] = fresh;
    atomic_store(&svc->config, fresh);
    /* Verified JWTs were checked against the old audiences. */
    pat_jwtcache_bump_all(svc->jwtcache);
    pat_log_info("reload: configuration applied (%zu scopes, %zu route rules, %zu audiences)",
                 fresh->catalog.nscopes, fresh->nroutes, fresh->naudiences);
    return PAT_OK;
}

const char *pat_service_required_scope(const pat_service *svc, const char *named,
                                       const char *method, const char *path)
{
    const char *org;

    return pat_service_requirements(svc, named, NULL, method, path, &org);
}

const char *pat_service_requirements(const pat_service *svc, const char *named_scope,
                                     const char *named_org, const char *method, const char *path,
                                     const char **org)
{
    const pat_config *cfg = svc->config;
    const pat_route_rule *rule = NULL;

    if ((!named_scope || !*named_scope || !named_org || !*named_org) && cfg->nroutes)
        rule = pat_route_rules_match(cfg->routes, cfg->nroutes, method, path);
    *org = named_org && *named_org ? named_org : rule && rule->org[0] ? rule->org : NULL;
    if (named_scope && *named_scope)
        return named_scope;
    return rule ? rule->scope : NULL;
}

int pat_service_credential(const pat_service *svc, const char *authorization,
                           const char *(*query)(void *ctx, const char *name), void *ctx,
                           const char **token, size_t *len)
{
    const char *q = NULL;

    if (authorization)
        return pat_token_from_authorization(authorization, token, len);
    if (query && pat_service_query_tokens_enabled(svc) &&
        ((q = query(ctx, "access_token")) || (q = query(ctx, "session")))) {
        *token = q;
        *len = strlen(q);
        return PAT_OK;
    }
    return pat_error_set(PAT_EUNAUTH, NULL, "sign in, or send Authorization: Bearer <token>");
}

void pat_service_client_ip(const pat_service *svc, char *out, size_t outsz, const char *peer,
                           const char *x_real_ip, const char *x_forwarded_for)
{
    pat_client_ip(out, outsz, peer, &svc->config->trusted_proxies, x_real_ip, x_forwarded_for);
}

int pat_service_metrics(pat_service *svc, pat_buf *out)
{
    int64_t age_us = pat_time_mono_us() - atomic_load(&svc->synced_us);
    int rc = pat_metrics_format(out, pat_cache_size(svc->cache),
                                pat_lastuse_dropped(svc->lastuse), svc->clock());

    if (rc < 0)
        return rc;
    return pat_buf_printf(
        out,
        "# HELP patd_changes_feed_age_seconds Time since this instance last read the changes "
        "feed (on PostgreSQL the cache is not used past cache_stale_seconds).\n"
        "# TYPE patd_changes_feed_age_seconds gauge\n"
        "patd_changes_feed_age_seconds %.3f\n"
        "# HELP patd_cache_trusted 1 while verification may answer from the cache.\n"
        "# TYPE patd_cache_trusted gauge\n"
        "patd_cache_trusted %d\n"
        "# HELP patd_mail_messages Emails in the outbox by status.\n"
        "# TYPE patd_mail_messages gauge\n"
        "patd_mail_messages{status=\"pending\"} %lld\n"
        "patd_mail_messages{status=\"sent\"} %lld\n"
        "patd_mail_messages{status=\"failed\"} %lld\n"
        "# HELP patd_mail_oldest_pending_age_seconds Age of the oldest email not yet sent.\n"
        "# TYPE patd_mail_oldest_pending_age_seconds gauge\n"
        "patd_mail_oldest_pending_age_seconds %lld\n",
        (double)age_us / 1e6, pat_service_cache_trusted(svc) ? 1 : 0,
        (long long)atomic_load(&svc->mail_pending), (long long)atomic_load(&svc->mail_sent),
        (long long)atomic_load(&svc->mail_failed),
        (long long)(atomic_load(&svc->mail_oldest_pending_at)
                        ? svc->clock() - atomic_load(&svc->mail_oldest_pending_at)
                        : 0));
}

int64_t pat_service_now(const pat_service *svc)
{
    return svc->clock();
}

const pat_catalog *pat_service_catalog(const pat_service *svc)
{
    return &svc->config->catalog;
}

void pat_service_hash_secret(const pat_service *svc, const char *secret, uint8_t out[PAT_HASH_LEN])
{
    pat_token_hash(out, svc->key, secret, strlen(secret));
}

void pat_principal_set_user(pat_principal *p, const pat_user *u)
{
    p->user_id = u->id;
    /* Both fields are PAT_USERNAME_MAX + 1 bytes. */
    memcpy(p->username, u->username, sizeof(p->username));
    p->role = u->role;
    p->can_manage_tokens = u->can_manage_tokens;
}

int pat_service_ping(pat_service *svc)
{
    int rc = pat_store_ping(svc->store);

    /* API.md: not ready while the listener is down. The cache then still
     * follows the feed by polling, but other instances' revocations reach
     * it in up to a poll, not milliseconds: a load balancer should prefer
     * the instances that hear at once. */
    if (rc == PAT_OK && svc->following && !atomic_load(&svc->listening))
        rc = pat_error_set(PAT_EUNAVAIL, NULL,
                           "not listening for other instances' changes; reconnecting");
    return rc;
}
