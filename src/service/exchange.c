/* The token exchange (RFC 8693): a PAT becomes a short-lived JWT (RFC
 * 9068) any service can check against the JWKS; and the rules of JWKS and
 * keys that the HTTP layer shows. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/jwt.h"
#include "core/text.h"
#include "service/service_int.h"
#include "util/error.h"
#include "util/mem.h"

#define GRANT_EXCHANGE "urn:ietf:params:oauth:grant-type:token-exchange"
#define TYPE_ACCESS "urn:ietf:params:oauth:token-type:access_token"
#define TYPE_JWT "urn:ietf:params:oauth:token-type:jwt"
#define TAG_LEN 12

const char *pat_service_issuer(const pat_service *svc)
{
    return svc->issuer;
}

static int oauth_error(const char *code, const char *message)
{
    return pat_error_set(PAT_EINVAL, code, "%s", message);
}

void pat_jwt_tag(const pat_service *svc, const uint8_t hash[PAT_HASH_LEN],
                 char out[PAT_JWT_TAG_LEN + 1])
{
    uint8_t mac[crypto_auth_hmacsha256_BYTES];

    /* Ties a JWT to the PAT value it came from without telling anything of
     * it: regenerating the PAT retires its JWTs with the old value. */
    crypto_auth_hmacsha256(mac, hash, PAT_HASH_LEN, svc->lookup_subkey);
    pat_b64url(out, PAT_JWT_TAG_LEN + 1, mac, TAG_LEN);
}

/* The configured audience a request names by name or URI (resource: by
 * URI only), or NULL. */
static const pat_audience *find_audience(const pat_config *cfg, const char *name, bool uri_only)
{
    for (size_t i = 0; i < cfg->naudiences; i++) {
        const pat_audience *a = &cfg->audiences[i];
        char copy[PAT_AUDIENCE_URIS_MAX];
        char *save = NULL;
        if (!uri_only && strcmp(a->name, name) == 0)
            return a;
        snprintf(copy, sizeof(copy), "%s", a->uris);
        for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save))
            if (strcmp(w, name) == 0)
                return a;
    }
    return NULL;
}

/* "scheme:rest" with a scheme of RFC 3986's letters and no fragment. */
static bool absolute_uri(const char *s)
{
    const char *colon = strchr(s, ':');

    if (!colon || colon == s || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
        return false;
    for (const char *p = s; p < colon; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '+' || *p == '-' || *p == '.'))
            return false;
    return colon[1] != '\0' && !strchr(s, '#');
}

/* The first URI of a (what its JWTs carry as aud). */
static void first_uri(const pat_audience *a, char *out, size_t outsz)
{
    size_t n = strcspn(a->uris, " \t");

    snprintf(out, outsz, "%.*s", (int)n, a->uris);
}

/* The scopes the JWT gets: those asked for (all of the PAT's when none),
 * each held by the PAT and, for an audience that names its scopes, one of
 * them. */
static int choose_scopes(const char *asked, const char *held, const pat_audience *a,
                         char out[PAT_SCOPES_STR_MAX])
{
    char copy[PAT_SCOPES_STR_MAX];
    char *save = NULL;
    size_t len = 0;

    if (asked && strlen(asked) >= sizeof(copy))
        return oauth_error("invalid_scope", "scope is too long");
    snprintf(copy, sizeof(copy), "%s", asked ? asked : held);
    out[0] = '\0';
    for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        bool for_audience = !a || !a->scopes[0] || pat_scopes_has(a->scopes, w);
        if (!pat_scopes_has(held, w)) {
            if (asked)
                return pat_error_set(PAT_EINVAL, "invalid_scope",
                                     "the subject token does not hold the scope %.64s", w);
            continue;
        }
        if (!for_audience) {
            if (asked)
                return pat_error_set(PAT_EINVAL, "invalid_scope",
                                     "the audience may not receive the scope %.64s", w);
            continue;
        }
        if (pat_scopes_has(out, w))
            continue;
        len += (size_t)snprintf(out + len, PAT_SCOPES_STR_MAX - len, "%s%s", len ? " " : "", w);
    }
    if (!out[0])
        return oauth_error("invalid_scope", "no scope is left to grant");
    return PAT_OK;
}

/* The audience req names by audience and/or resource (*aud NULL: patd's
 * own); both must name the same one. */
static int resolve_audience(const pat_service *svc, const pat_exchange_request *req,
                            const pat_audience **aud)
{
    const pat_audience *by_audience = NULL, *by_resource = NULL;

    if (req->resource && !absolute_uri(req->resource))
        return oauth_error("invalid_target", "resource must be an absolute URI");
    if (req->audience && !(by_audience = find_audience(svc->config, req->audience, false)))
        return oauth_error("invalid_target", "the audience is not allowed");
    if (req->resource && !(by_resource = find_audience(svc->config, req->resource, true)))
        return oauth_error("invalid_target", "the resource is not allowed");
    if (by_audience && by_resource && by_audience != by_resource)
        return oauth_error("invalid_target", "audience and resource name different services");
    *aud = by_audience ? by_audience : by_resource;
    return PAT_OK;
}

/* Checks the request's form, then finds its audience (NULL: patd's own). */
static int check_request(const pat_service *svc, const pat_exchange_request *req,
                         const pat_audience **aud)
{
    if (!req->grant_type)
        return oauth_error("invalid_request", "grant_type is required");
    if (strcmp(req->grant_type, GRANT_EXCHANGE) != 0)
        return oauth_error("unsupported_grant_type", "only the token exchange grant is supported");
    if (!req->subject_token || !*req->subject_token)
        return oauth_error("invalid_request", "subject_token is required");
    if (!req->subject_token_type)
        return oauth_error("invalid_request", "subject_token_type is required");
    if (strcmp(req->subject_token_type, TYPE_ACCESS) != 0)
        return oauth_error("invalid_request",
                           "subject_token_type must be urn:ietf:params:oauth:token-type:access_token");
    if (req->requested_token_type && strcmp(req->requested_token_type, TYPE_ACCESS) != 0 &&
        strcmp(req->requested_token_type, TYPE_JWT) != 0)
        return oauth_error("invalid_request", "requested_token_type must be access_token or jwt");
    return resolve_audience(svc, req, aud);
}

/* Issues the JWT for who's token (whose value has the stored hash
 * hash) to aud (NULL: patd's own) with the scopes asked for, and audits
 * it: the one path of both exchanges. */
/* 16 unpredictable, never repeated bytes for a JWT's jti: ChaCha20 under a
 * per-thread key from the system's generator, at a per-thread counter.
 * (randombytes_buf is a getrandom system call each time: a measurable
 * share of an exchange on a virtual machine.) */
static void new_jti(uint8_t out[16])
{
    static _Thread_local uint8_t key[crypto_stream_chacha20_KEYBYTES];
    static _Thread_local uint64_t counter;
    uint8_t nonce[crypto_stream_chacha20_NONCEBYTES] = {0};

    if (counter == 0)
        randombytes_buf(key, sizeof(key));
    counter++;
    memcpy(nonce, &counter, sizeof(counter));
    crypto_stream_chacha20(out, 16, nonce, key);
}

static int issue(pat_service *svc, const pat_principal *who, const uint8_t hash[PAT_HASH_LEN],
                 const char *scope, const pat_audience *aud, const pat_request_info *info,
                 pat_exchange_result *out)
{
    char audience[PAT_AUDIENCE_URIS_MAX], jti[32], tag[PAT_JWT_TAG_LEN + 1], sub[24];
    uint8_t jti_raw[16];
    int64_t now = svc->clock(), life;
    json_t *claims = NULL;
    int rc;

    if ((rc = choose_scopes(scope, who->scopes, aud, out->scope)) < 0)
        return rc;
    life = svc->config->jwt_lifetime_seconds;
    if (aud && aud->max_lifetime_seconds && aud->max_lifetime_seconds < life)
        life = aud->max_lifetime_seconds;
    if (who->token_expires_at && who->token_expires_at - now < life)
        life = who->token_expires_at - now;
    if (life <= 0)
        return oauth_error("invalid_request", "the subject token expires now");
    /* The value's stored hash names which value this is (current or, in a
     * grace period, previous): the JWT lives only as long as that value. */
    pat_jwt_tag(svc, hash, tag);
    if (aud)
        first_uri(aud, audience, sizeof(audience));
    else
        snprintf(audience, sizeof(audience), "%s", svc->issuer);
    new_jti(jti_raw);
    pat_b64url(jti, sizeof(jti), jti_raw, sizeof(jti_raw));
    snprintf(sub, sizeof(sub), "%lld", (long long)who->user_id);
    claims = json_pack("{ss ss ss sI sI sI ss ss ss ss sI ss}", "iss", svc->issuer, "sub", sub,
                       "aud", audience, "exp", (json_int_t)(now + life), "iat", (json_int_t)now,
                       "nbf", (json_int_t)now, "jti", jti, "client_id", "patd", "scope",
                       out->scope, "username", who->username, "pat_id",
                       (json_int_t)who->token_id, "pat_tag", tag);
    /* Where the PAT may be used, for verifiers that check the JWT alone
     * (patd itself checks the PAT's organizations and owner anew). */
    if (claims && who->orgs[0])
        json_object_set_new(claims, "orgs", pat_format_words(who->orgs));
    if ((rc = pat_keyring_sign_jwt(svc, now, claims, &out->jwt)) < 0)
        goto out;
    out->expires_in = life;
    /* Each scope handed on is a scope the PAT used. */
    for (const char *w = out->scope; *w;) {
        char one[PAT_SCOPE_NAME_MAX + 1];
        size_t len = strcspn(w, " ");
        if (len && len <= PAT_SCOPE_NAME_MAX) {
            memcpy(one, w, len);
            one[len] = '\0';
            pat_scopeuse_record(svc->scopeuse, who->token_id, one, now);
        }
        w += len;
        while (*w == ' ')
            w++;
    }
    /* An exchange changes nothing in the store: its event is written with
     * the next batch, not with a commit of its own. */
    rc = pat_audit_defer(svc, who, info, "token.exchanged", "token",
                         "id=%lld jti=%s aud=%.200s scope=%.400s exp=%lld",
                         (long long)who->token_id, jti, audience, out->scope,
                         (long long)(now + life));
out:
    if (rc < 0)
        pat_buf_dispose(&out->jwt);
    json_decref(claims);
    return rc;
}

int pat_service_exchange(pat_service *svc, const pat_exchange_request *req,
                         const pat_verify_request *client, const pat_request_info *info,
                         pat_exchange_result *out)
{
    const pat_audience *aud = NULL;
    pat_verify_request vr = *client;
    uint8_t hash[PAT_HASH_LEN];
    pat_principal who;
    int rc;

    memset(out, 0, sizeof(*out));
    pat_buf_init(&out->jwt, PAT_JWT_MAX);
    if ((rc = check_request(svc, req, &aud)) < 0)
        return rc;
    /* The subject is checked as every token is (failure limits, counted as
     * a use); only a PAT may be exchanged, never a JWT for a JWT. */
    vr.token = req->subject_token;
    vr.len = strlen(req->subject_token);
    vr.allow_jwt = false;
    vr.required_scope = NULL;
    if ((rc = pat_service_verify(svc, &vr, &who)) < 0) {
        if (rc == PAT_EAUTH || rc == PAT_ESCOPE)
            return pat_error_set(PAT_EINVAL, "invalid_request", "the subject token is not valid: %s",
                                 pat_error_last()->message);
        return rc;
    }
    pat_token_hash(hash, svc->key, req->subject_token, strlen(req->subject_token));
    rc = issue(svc, &who, hash, req->scope, aud, info, out);
    sodium_memzero(hash, sizeof(hash));
    return rc;
}

int pat_service_exchange_own(pat_service *svc, const pat_principal *actor, int64_t token_id,
                             const pat_exchange_request *req, const pat_request_info *info,
                             pat_exchange_result *out)
{
    const pat_audience *aud = NULL;
    pat_token_rec *t = NULL;
    pat_principal who;
    int64_t now = svc->clock();
    int rc;

    memset(out, 0, sizeof(*out));
    pat_buf_init(&out->jwt, PAT_JWT_MAX);
    if ((rc = resolve_audience(svc, req, &aud)) < 0)
        return rc;
    if (!actor->can_manage_tokens)
        return pat_error_set(PAT_EFORBIDDEN, NULL, "you may not use personal access tokens");
    t = pat_malloc(sizeof(*t));
    /* Only the owner: what a session could do anyway (it may regenerate
     * the token and hold its value). */
    if ((rc = pat_store_token_get(svc->store, token_id, t)) < 0 || t->user_id != actor->user_id) {
        rc = pat_error_set(PAT_ENOTFOUND, NULL, "no such token");
        goto out;
    }
    if (t->disabled_at || pat_expiry_passed(t->expires_at, now)) {
        rc = pat_error_set(PAT_ECONFLICT, NULL, "only an active token can be exchanged");
        goto out;
    }
    who = *actor;
    who.token_id = t->id;
    memcpy(who.scopes, t->scopes, sizeof(who.scopes));
    who.token_expires_at = t->expires_at;
    {
        char mine[PAT_MEMBER_ORGS_MAX];
        if ((rc = pat_member_orgs(svc, actor->user_id, mine)) < 0)
            goto out;
        pat_orgs_usable(mine, t->orgs, who.orgs, sizeof(who.orgs));
    }
    rc = issue(svc, &who, t->hash, req->scope, aud, info, out);
out:
    free(t);
    return rc;
}

json_t *pat_service_audiences(pat_service *svc)
{
    const pat_config *cfg = svc->config;
    json_t *list = json_array();

    for (size_t i = 0; i < cfg->naudiences; i++) {
        const pat_audience *a = &cfg->audiences[i];
        json_t *uris = json_array(), *scopes = json_array();
        char copy[PAT_AUDIENCE_URIS_MAX], scopes_copy[PAT_SCOPES_STR_MAX];
        char *save = NULL;
        snprintf(copy, sizeof(copy), "%s", a->uris);
        for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save))
            json_array_append_new(uris, json_string(w));
        snprintf(scopes_copy, sizeof(scopes_copy), "%s", a->scopes);
        for (char *w = strtok_r(scopes_copy, " ", &save); w; w = strtok_r(NULL, " ", &save))
            json_array_append_new(scopes, json_string(w));
        json_array_append_new(
            list, json_pack("{ss so so si}", "name", a->name, "uris", uris, "scopes", scopes,
                            "max_lifetime_seconds",
                            a->max_lifetime_seconds ? a->max_lifetime_seconds
                                                    : cfg->jwt_lifetime_seconds));
    }
    return json_pack("{so si ss}", "audiences", list, "jwt_lifetime_seconds",
                     cfg->jwt_lifetime_seconds, "issuer", svc->issuer);
}

int pat_service_jwks_max_age(const pat_service *svc)
{
    return svc->config->jwks_max_age_seconds;
}

json_t *pat_service_jwks(pat_service *svc)
{
    return pat_keyring_jwks(svc, svc->clock());
}

int pat_service_keys_list(pat_service *svc, const pat_principal *actor, pat_key_info **out,
                          size_t *n)
{
    int rc;

    if ((rc = pat_service_may_administer(svc, actor)) < 0)
        return rc;
    return pat_keyring_list(svc, svc->clock(), out, n);
}

int pat_service_keys_rotate(pat_service *svc, const pat_principal *actor,
                            const pat_request_info *info, char kid[64])
{
    int rc;

    /* NULL: the operator on the box (patd keys rotate). */
    if (actor && (rc = pat_service_may_change_admin(svc, actor)) < 0)
        return rc;
    return pat_keyring_rotate(svc, actor, info, kid);
}
