/* Token verification: the path every protected request takes. On a cache
 * hit it takes two shard read locks, one stripe lock for last use, and
 * allocates nothing; it never writes to the store. A value the live filter
 * does not know never reaches the store either.
 *
 * Failure limiting without lockout (DESIGN.md): failures are counted per
 * client address; once an address is over the limit its failures answer
 * 429 instead of 401, but a token that verifies is always served, whatever
 * its address's count, and a success never counts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/cidr.h"
#include "core/client.h"
#include "core/jwt.h"
#include "core/text.h"
#include "service/service_int.h"
#include "util/error.h"
#include "util/mem.h"
#include "util/metrics.h"
#include "util/time.h"

/* Fails verification with outcome o: 429 (PAT_ERATE, field: seconds to
 * wait) when the client's address is over its failure limit, else 401
 * (PAT_EAUTH) counted against the address. Networks in auth_fail_exempt
 * are never limited. */
static int fail(pat_service *svc, const pat_verify_request *req, pat_verify_outcome o,
                const char *message, int64_t now)
{
    int64_t wait;

    if (req->client_ip && !pat_cidr_set_contains(&svc->config->auth_fail_exempt, req->client_ip)) {
        if ((wait = pat_ratelimit_blocked(svc->auth_failures, req->client_ip, now))) {
            char seconds[24];
            pat_metrics_verify(PAT_VERIFY_RATE_LIMITED);
            snprintf(seconds, sizeof(seconds), "%lld", (long long)wait);
            return pat_error_set(PAT_ERATE, seconds,
                                 "too many failed authentications from this address; retry "
                                 "later");
        }
        pat_ratelimit_fail(svc->auth_failures, req->client_ip, now);
    }
    pat_metrics_verify(o);
    return pat_error_set(PAT_EAUTH, NULL, "%s", message);
}

/* Whether the live filter says hash is certainly no live value: 1 if so,
 * 0 if it may be one, PAT_EWAIT if that takes a read of the feed and the
 * caller would rather not wait. On a shared store a value created on
 * another instance a moment ago may not have reached this one's filter
 * yet: before saying no, the feed is read (once for all requests that
 * arrived before the read began). */
static int certainly_not_live(pat_service *svc, const uint8_t hash[PAT_HASH_LEN],
                              int64_t arrived_us, bool may_defer)
{
    if (pat_livefilter_may_contain(atomic_load(&svc->live), hash))
        return 0;
    if (!svc->shared)
        return 1;
    if (may_defer && atomic_load(&svc->synced_us) < arrived_us)
        return PAT_EWAIT;
    if (pat_service_sync_since(svc, arrived_us) < 0)
        return 0; /* cannot tell: ask the store */
    return !pat_livefilter_may_contain(atomic_load(&svc->live), hash);
}

/* The token entry for the presented value, from the cache or, on a miss
 * (or while the cache is not trusted: pat_service_cache_trusted), from the
 * store by its HMAC. */
static int load_token(pat_service *svc, const pat_verify_request *req,
                      const uint8_t lookup[PAT_LOOKUP_KEY_LEN], int64_t now, pat_cached_token *out)
{
    uint8_t hash[PAT_HASH_LEN];
    pat_token_rec *t;
    uint64_t epoch;
    int64_t arrived_us = !svc->shared ? 0 : req->arrived_us ? req->arrived_us : pat_time_mono_us();
    bool trusted = pat_service_cache_trusted(svc);
    int is_previous = 0;
    int rc;

    if (trusted && pat_cache_token_get(svc->cache, lookup, now, out)) {
        pat_metrics_cache(1);
        return PAT_OK;
    }
    epoch = pat_cache_epoch(svc->cache);
    pat_token_hash(hash, svc->key, req->token, req->len);
    rc = trusted ? certainly_not_live(svc, hash, arrived_us, req->may_defer) : 0;
    if (rc == PAT_EWAIT) {
        pat_metrics_verify_deferred();
        return pat_error_set(PAT_EWAIT, NULL, "waiting for the changes feed");
    }
    pat_metrics_cache(0);
    if (rc == 1) {
        /* Certainly no token: no store lookup, and no cache entry to
         * crowd out live ones. */
        pat_metrics_live_filter_rejected();
        memset(out, 0, sizeof(*out));
        out->negative = true;
        return PAT_OK;
    }
    t = pat_malloc(sizeof(*t));
    rc = pat_store_token_get_by_hash(svc->store, hash, now, t, &is_previous);
    memset(out, 0, sizeof(*out));
    if (rc == PAT_ENOTFOUND) {
        /* Remembered briefly, and forgotten at once if a token with this
         * value is created here. */
        out->negative = true;
        pat_cache_token_put(svc->cache, lookup, hash, out, "", "", now, epoch);
        rc = PAT_OK;
    } else if (rc == PAT_OK) {
        out->token_id = t->id;
        out->user_id = t->user_id;
        out->expires_at = t->expires_at;
        out->created_at = t->created_at;
        out->valid_until = is_previous ? t->previous_valid_until : 0;
        out->disabled = t->disabled_at != 0;
        out->canary = (t->flags & PAT_TOKEN_FLAG_CANARY) != 0;
        out->watch_clients =
            !(t->flags & (PAT_TOKEN_FLAG_CANARY | PAT_TOKEN_FLAG_NO_CLIENT_ALERTS));
        out->orgs = t->orgs; /* interned by the put */
        pat_cache_token_put(svc->cache, lookup, hash, out, t->scopes, t->allowed_cidrs, now, epoch);
    }
    free(t);
    return rc;
}

static int load_user(pat_service *svc, int64_t id, pat_cached_user *out)
{
    char orgs[PAT_MEMBER_ORGS_MAX];
    pat_user u;
    uint64_t epoch;
    int rc;

    if (pat_service_cache_trusted(svc) && pat_cache_user_get(svc->cache, id, out))
        return PAT_OK;
    epoch = pat_cache_epoch(svc->cache);
    if ((rc = pat_store_user_get(svc->store, id, &u)) < 0 || (rc = pat_member_orgs(svc, id, orgs)) < 0)
        return rc;
    memset(out, 0, sizeof(*out));
    out->id = u.id;
    memcpy(out->username, u.username, sizeof(out->username));
    out->role = u.role;
    out->disabled = u.disabled;
    out->can_manage_tokens = u.can_manage_tokens;
    out->orgs = orgs; /* interned by the put */
    memset(u.password_hash, 0, sizeof(u.password_hash));
    pat_cache_user_put(svc->cache, out, epoch);
    return PAT_OK;
}

/* Fills out->orgs: where a token of token_orgs ("" = all) owned by u may
 * be used now; then refuses it when the request needs another one. */
static int orgs_and_required(const pat_verify_request *req, const pat_cached_user *u,
                             const char *token_orgs, pat_principal *out)
{
    char field[PAT_ORG_SLUG_MAX + 8];

    pat_orgs_usable(u->orgs, token_orgs, out->orgs, sizeof(out->orgs));
    if (!req->required_org || pat_orgs_has(out->orgs, req->required_org))
        return PAT_OK;
    pat_metrics_verify(PAT_VERIFY_SCOPE);
    snprintf(field, sizeof(field), "org:%.*s", PAT_ORG_SLUG_MAX, req->required_org);
    return pat_error_set(PAT_ESCOPE, field, "the token may not be used in the organization %.*s",
                         PAT_ORG_SLUG_MAX, req->required_org);
}

/* What every token, PAT or JWT, must also pass: an owner who exists, is
 * enabled and may use tokens (*u filled), and the scope asked for among
 * scopes. */
static int owner_and_scope(pat_service *svc, const pat_verify_request *req, int64_t user_id,
                           const char *scopes, int64_t now, pat_cached_user *u)
{
    int rc = load_user(svc, user_id, u);

    if (rc == PAT_ENOTFOUND)
        return fail(svc, req, PAT_VERIFY_UNKNOWN, "the token is not valid", now);
    if (rc < 0)
        return rc;
    if (u->disabled)
        return fail(svc, req, PAT_VERIFY_OWNER_DISABLED, "the token's owner is disabled", now);
    if (!u->can_manage_tokens)
        return fail(svc, req, PAT_VERIFY_NO_PERMISSION,
                    "the token's owner may not use personal access tokens", now);
    if (req->required_scope && !pat_scopes_has(scopes, req->required_scope)) {
        pat_metrics_verify(PAT_VERIFY_SCOPE);
        return pat_error_set(PAT_ESCOPE, req->required_scope, "the token lacks the scope %s",
                             req->required_scope);
    }
    return PAT_OK;
}

/* True if the tag names the token's current value, or its previous one
 * while that is still valid at now. */
static bool tag_matches(const pat_service *svc, const pat_token_rec *t, const char *tag,
                        int64_t now)
{
    char mine[PAT_JWT_TAG_LEN + 1];

    if (!tag || strlen(tag) != PAT_JWT_TAG_LEN)
        return false;
    pat_jwt_tag(svc, t->hash, mine);
    if (sodium_memcmp(mine, tag, PAT_JWT_TAG_LEN) == 0)
        return true;
    if (t->previous_valid_until > now) {
        pat_jwt_tag(svc, t->previous_hash, mine);
        return sodium_memcmp(mine, tag, PAT_JWT_TAG_LEN) == 0;
    }
    return false;
}

/* The full check of a JWT not in the JWT cache: structure and header
 * (core/jwt.c), signature by the published key its kid names with that
 * key's algorithm, iss, times and aud; then the PAT behind it, with the
 * value it was exchanged from (pat_tag). Fills e; *cacheable tells whether
 * e may be kept (not when the PAT is bound to networks: those are checked
 * per request). Failures go through fail(). */
static int check_jwt(pat_service *svc, const pat_verify_request *req, const char *aud,
                     int64_t now, pat_jwt_entry *e, bool *cacheable,
                     char pat_orgs[PAT_TOKEN_ORGS_MAX])
{
    pat_token_rec *t = NULL;
    pat_jwt_claims c;
    pat_jwt jwt;
    int rc;

    if (pat_jwt_parse(req->token, req->len, &jwt) < 0)
        return fail(svc, req, PAT_VERIFY_MALFORMED, pat_error_last()->message, now);
    if (pat_keyring_verify(svc, now, &jwt, (const uint8_t *)req->token, jwt.signed_len) < 0 ||
        pat_jwt_check(jwt.claims, svc->issuer, aud, now, &c) < 0) {
        pat_error err = *pat_error_last();
        pat_jwt_dispose(&jwt);
        return fail(svc, req,
                    strstr(err.message, "expired") ? PAT_VERIFY_EXPIRED : PAT_VERIFY_UNKNOWN,
                    err.message, now);
    }
    memset(e, 0, sizeof(*e));
    e->pat_id = c.pat_id;
    e->user_id = c.user_id;
    e->exp = c.exp;
    e->iat = c.iat;
    *cacheable = pat_text_set(e->scopes, sizeof(e->scopes), c.scope) == PAT_OK &&
                 pat_text_set(e->aud, sizeof(e->aud), c.aud) == PAT_OK;
    /* Generations before the store read: a change racing it moves them. */
    pat_jwtcache_snapshot(svc->jwtcache, e);
    t = pat_malloc(sizeof(*t));
    rc = pat_store_token_get(svc->store, c.pat_id, t);
    if (rc == PAT_ENOTFOUND ||
        (rc == PAT_OK &&
         (t->user_id != c.user_id ||
          !tag_matches(svc, t, json_string_value(json_object_get(jwt.claims, "pat_tag")), now)))) {
        rc = fail(svc, req, PAT_VERIFY_UNKNOWN, "the token's personal access token was revoked",
                  now);
        goto out;
    }
    if (rc < 0)
        goto out;
    if (t->disabled_at) {
        rc = fail(svc, req, PAT_VERIFY_DISABLED, "the token's personal access token is disabled",
                  now);
        goto out;
    }
    e->pat_expires_at = t->expires_at;
    memcpy(pat_orgs, t->orgs, PAT_TOKEN_ORGS_MAX);
    if (pat_text_set(e->pat_orgs, sizeof(e->pat_orgs), t->orgs) < 0)
        *cacheable = false;
    if (t->allowed_cidrs[0]) {
        *cacheable = false;
        if (!req->client_ip || !pat_cidr_list_allows(t->allowed_cidrs, req->client_ip)) {
            rc = fail(svc, req, PAT_VERIFY_ADDRESS, "the token may not be used from this address",
                      now);
            goto out;
        }
    }
    rc = PAT_OK;
out:
    pat_jwt_dispose(&jwt);
    free(t);
    return rc;
}

/* patd's own JWT (RFC 9068), strictly (RFC 8725): from the JWT cache when
 * it was verified before and nothing about its PAT, owner, keys or policy
 * changed since; else checked in full (check_jwt). Either way, now: its
 * expiry and the PAT's, the audience asked for, the owner's state and the
 * scope. A JWT of a revoked, regenerated, disabled or expired PAT, or of
 * a disabled owner, is refused at once. */
static int verify_jwt(pat_service *svc, const pat_verify_request *req, pat_principal *out,
                      int64_t now)
{
    const char *aud = req->any_audience ? NULL : req->audience ? req->audience : svc->issuer;
    uint8_t lookup[PAT_LOOKUP_KEY_LEN];
    char pat_orgs[PAT_TOKEN_ORGS_MAX];
    pat_cached_user u;
    pat_jwt_entry e;
    bool cacheable = false;
    int rc;

    if (req->len > PAT_JWT_MAX)
        return fail(svc, req, PAT_VERIFY_MALFORMED, "the token is not valid (too long)", now);
    pat_token_lookup_key(lookup, svc->lookup_subkey, req->token, req->len);
    if (pat_service_cache_trusted(svc) && pat_jwtcache_get(svc->jwtcache, lookup, &e)) {
        pat_metrics_cache(1);
        if (now >= e.exp + PAT_JWT_LEEWAY)
            return fail(svc, req, PAT_VERIFY_EXPIRED, "the token has expired", now);
        if (aud && strcmp(e.aud, aud) != 0)
            return fail(svc, req, PAT_VERIFY_UNKNOWN, "the token is not for this audience", now);
        memcpy(pat_orgs, e.pat_orgs, sizeof(e.pat_orgs));
    } else {
        pat_metrics_cache(0);
        if ((rc = check_jwt(svc, req, aud, now, &e, &cacheable, pat_orgs)) < 0)
            return rc;
        if (cacheable)
            pat_jwtcache_put(svc->jwtcache, lookup, &e);
    }
    if (pat_expiry_passed(e.pat_expires_at, now))
        return fail(svc, req, PAT_VERIFY_EXPIRED, "the token's personal access token has expired",
                    now);
    if ((rc = owner_and_scope(svc, req, e.user_id, e.scopes, now, &u)) < 0)
        return rc;
    memset(out, 0, sizeof(*out));
    out->kind = PAT_AUTH_TOKEN;
    out->user_id = u.id;
    memcpy(out->username, u.username, sizeof(out->username));
    out->role = u.role;
    out->can_manage_tokens = u.can_manage_tokens;
    out->token_id = e.pat_id;
    pat_text_copy(out->scopes, sizeof(out->scopes), e.scopes, strlen(e.scopes));
    out->token_expires_at = e.exp;
    out->token_issued_at = e.iat;
    pat_text_copy(out->jwt_audience, sizeof(out->jwt_audience), e.aud, strlen(e.aud));
    out->via_jwt = true;
    if ((rc = orgs_and_required(req, &u, pat_orgs, out)) < 0)
        return rc;
    pat_metrics_verify(PAT_VERIFY_OK);
    if (req->required_scope && req->method)
        pat_scopeuse_record(svc->scopeuse, e.pat_id, req->required_scope, now);
    return PAT_OK;
}

int pat_service_verify(pat_service *svc, const pat_verify_request *req, pat_principal *out)
{
    uint8_t lookup[PAT_LOOKUP_KEY_LEN];
    pat_cached_token t;
    pat_cached_user u;
    int64_t now = svc->clock();
    int64_t uses;
    uint32_t client = 0;
    bool new_client = false;
    int rc;

    if (req->allow_jwt && pat_jwt_shape(req->token, req->len))
        return verify_jwt(svc, req, out, now);
    /* Malformed values and bad checksums never reach the cache or store. */
    if (pat_token_check_format(req->token, req->len, svc->token_prefix) < 0)
        return fail(svc, req, PAT_VERIFY_MALFORMED, "the token is malformed", now);
    pat_token_lookup_key(lookup, svc->lookup_subkey, req->token, req->len);
    if ((rc = load_token(svc, req, lookup, now, &t)) < 0)
        return rc;
    if (t.negative)
        return fail(svc, req, PAT_VERIFY_UNKNOWN, "the token is not valid", now);
    if (t.canary) {
        /* A decoy: answered exactly as an unknown value, reported at once. */
        pat_metrics_canary_tripped();
        if (pat_sightings_push(svc->canary_trips, t.token_id, now, req->client_ip, req->method,
                               req->path, req->user_agent))
            pat_service_request_flush(svc);
        return fail(svc, req, PAT_VERIFY_UNKNOWN, "the token is not valid", now);
    }
    if (t.valid_until && now >= t.valid_until)
        return fail(svc, req, PAT_VERIFY_UNKNOWN, "the token was regenerated", now);
    if (t.disabled)
        return fail(svc, req, PAT_VERIFY_DISABLED, "the token is disabled", now);
    if (pat_expiry_passed(t.expires_at, now))
        return fail(svc, req, PAT_VERIFY_EXPIRED, "the token has expired", now);
    if (t.cidrs[0] && (!req->client_ip || !pat_cidr_list_allows(t.cidrs, req->client_ip)))
        return fail(svc, req, PAT_VERIFY_ADDRESS, "the token may not be used from this address",
                    now);
    if ((rc = owner_and_scope(svc, req, t.user_id, t.scopes, now, &u)) < 0)
        return rc;
    out->kind = PAT_AUTH_TOKEN;
    out->user_id = u.id;
    memcpy(out->username, u.username, sizeof(out->username));
    out->role = u.role;
    out->can_manage_tokens = u.can_manage_tokens;
    out->token_id = t.token_id;
    pat_text_copy(out->scopes, sizeof(out->scopes), t.scopes, strlen(t.scopes));
    out->token_expires_at = t.expires_at;
    out->token_issued_at = t.created_at;
    out->via_jwt = false;
    out->jwt_audience[0] = '\0';
    if ((rc = orgs_and_required(req, &u, t.orgs, out)) < 0)
        return rc;
    pat_metrics_verify(PAT_VERIFY_OK);
    /* The scope this request needed and got: least privilege from use. */
    if (req->required_scope && req->method)
        pat_scopeuse_record(svc->scopeuse, t.token_id, req->required_scope, now);
    /* Every use is counted; its details are kept at most once per token per
     * granularity, so a million busy tokens do not mean a million writes. */
    if (req->method && t.watch_clients)
        client = pat_client_fingerprint(svc->client_key, req->client_ip, req->user_agent);
    /* A value kept by a rotation: every use recorded (its last use decides
     * when it retires), under the negative id so the flusher tells it from
     * the new value's (service/rotations.c). */
    if (req->method &&
        pat_cache_token_use(svc->cache, lookup, now,
                            t.valid_until ? 0 : svc->config->last_use_granularity_seconds,
                            client, &uses, &new_client)) {
        rc = pat_lastuse_record(svc->lastuse, t.valid_until ? -t.token_id : t.token_id, uses, now,
                                req->client_ip, req->method, req->path, req->user_agent);
        if (rc != PAT_LASTUSE_OK)
            pat_service_request_flush(svc);
        /* A full table delays the details, never loses the count. */
        if (rc == PAT_LASTUSE_FULL)
            pat_cache_token_unuse(svc->cache, lookup, uses);
    }
    /* A client this token's entry has not seen: the flusher decides
     * whether it is new to the token. */
    if (new_client && pat_sightings_push(svc->new_clients, t.token_id, now, req->client_ip,
                                         req->method, req->path, req->user_agent) >=
                          pat_sightings_capacity(svc->new_clients) / 2)
        pat_service_request_flush(svc); /* half full: flush before it drops any */
    return PAT_OK;
}

void pat_service_note_scope(pat_service *svc, const pat_principal *actor, const char *scope)
{
    if (actor->kind == PAT_AUTH_TOKEN && pat_scopes_has(actor->scopes, scope))
        pat_scopeuse_record(svc->scopeuse, actor->token_id, scope, svc->clock());
}
