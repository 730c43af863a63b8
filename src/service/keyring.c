/* The keyring: every signing key of exchanged JWTs, opened from the store,
 * and the rules of their lives (#14):
 *  - a key is published (JWKS) from its creation;
 *  - it signs from activates_at until a newer key's activates_at: a rotated
 *    key is published jwks_publish_ahead_seconds before it signs, so no
 *    verifier holding a cached JWKS meets an unknown kid;
 *  - a key a newer one replaced stays published until every JWT it signed
 *    has expired (its successor's activation + the longest lifetime + the
 *    leeway), then it is gone from the JWKS and refused.
 * Reloaded whenever the changes feed names a key (every instance). */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/jwt.h"
#include "service/service_int.h"
#include "util/error.h"
#include "util/log.h"
#include "util/mem.h"

struct pat_keyring {
    pthread_rwlock_t lock;
    pat_sign_key *keys; /* oldest first */
    size_t n;
};

pat_keyring *pat_keyring_new(void)
{
    pat_keyring *r = pat_calloc(1, sizeof(*r));

    pthread_rwlock_init(&r->lock, NULL);
    return r;
}

static void drop_keys(pat_sign_key *keys, size_t n)
{
    for (size_t i = 0; i < n; i++)
        pat_sign_key_dispose(&keys[i]);
    free(keys);
}

void pat_keyring_free(pat_keyring *r)
{
    if (!r)
        return;
    drop_keys(r->keys, r->n);
    pthread_rwlock_destroy(&r->lock);
    free(r);
}

/* The longest a JWT may live: what a retired key must outlast. */
static int64_t longest_lifetime(const pat_config *cfg)
{
    int64_t longest = cfg->jwt_lifetime_seconds;

    for (size_t i = 0; i < cfg->naudiences; i++)
        if (cfg->audiences[i].max_lifetime_seconds > longest)
            longest = cfg->audiences[i].max_lifetime_seconds;
    return longest + PAT_JWT_LEEWAY;
}

/* Index of the key that signs at now (the newest active one), or -1. */
static long signer_at(const pat_keyring *r, int64_t now)
{
    long best = -1;

    for (size_t i = 0; i < r->n; i++)
        if (r->keys[i].activates_at <= now &&
            (best < 0 || r->keys[i].activates_at >= r->keys[best].activates_at))
            best = (long)i;
    return best;
}

/* When key i stops being published (0: not yet decided, it has no active
 * successor). */
static int64_t retires_at(const pat_keyring *r, size_t i, int64_t now, int64_t longest)
{
    long signer = signer_at(r, now);

    if (signer < 0 || (size_t)signer == i || r->keys[i].activates_at > now ||
        r->keys[i].activates_at > r->keys[signer].activates_at)
        return 0;
    /* Its successor: the first key activated after it. */
    for (size_t j = 0; j < r->n; j++)
        if (j != i && r->keys[j].activates_at > r->keys[i].activates_at &&
            r->keys[j].activates_at <= now)
            return r->keys[j].activates_at + longest;
    return 0;
}

static bool published(const pat_keyring *r, size_t i, int64_t now, int64_t longest)
{
    int64_t until = retires_at(r, i, now, longest);

    return r->keys[i].created_at <= now && (until == 0 || now < until);
}

int pat_keyring_load(pat_service *svc)
{
    pat_key_rec *recs = NULL;
    pat_sign_key *keys = NULL, *old;
    size_t n = 0, nold;
    int rc;

    if ((rc = pat_store_key_list(svc->store, &recs, &n)) < 0)
        return rc;
    keys = pat_calloc(n ? n : 1, sizeof(*keys));
    for (size_t i = 0; i < n; i++) {
        if ((rc = pat_sign_key_open(recs[i].kid, strcmp(recs[i].algorithm, "EdDSA") == 0,
                                    recs[i].sealed, recs[i].sealed_len, svc->key, &keys[i])) < 0) {
            pat_log_error("keys: cannot open %s: %s", recs[i].kid, pat_error_last()->message);
            drop_keys(keys, i);
            goto out;
        }
        keys[i].created_at = recs[i].created_at;
        keys[i].activates_at = recs[i].activates_at;
    }
    pthread_rwlock_wrlock(&svc->keyring->lock);
    old = svc->keyring->keys;
    nold = svc->keyring->n;
    svc->keyring->keys = keys;
    svc->keyring->n = n;
    pthread_rwlock_unlock(&svc->keyring->lock);
    drop_keys(old, nold);
out:
    if (recs) {
        sodium_memzero(recs, n * sizeof(*recs));
        free(recs);
    }
    return rc;
}

/* Makes a key and stores it (in the caller's unit of work). */
static int add_key(pat_service *svc, int64_t now, int64_t activates_at, pat_key_rec *rec)
{
    pat_sign_key k;
    int rc;

    if ((rc = pat_sign_key_generate(svc->config->jwt_eddsa, &k)) < 0)
        return rc;
    memset(rec, 0, sizeof(*rec));
    snprintf(rec->kid, sizeof(rec->kid), "%s", k.kid);
    snprintf(rec->algorithm, sizeof(rec->algorithm), "%s", pat_sign_key_alg(&k));
    rec->created_at = now;
    rec->activates_at = activates_at;
    if ((rc = pat_sign_key_seal(&k, svc->key, rec->sealed, &rec->sealed_len)) == PAT_OK)
        rc = pat_store_key_insert(svc->store, rec);
    pat_sign_key_dispose(&k);
    sodium_memzero(rec->sealed, sizeof(rec->sealed));
    return rc;
}

int pat_keyring_start(pat_service *svc)
{
    pat_key_rec *recs = NULL, rec;
    size_t n = 0;
    int rc;

    /* Listed again inside the unit, where writers take turns: instances
     * starting together on an empty database make one first key. It signs
     * at once: no verifier can have cached a JWKS without it. */
    if ((rc = pat_unit_begin(svc)) < 0)
        return rc;
    if ((rc = pat_store_key_list(svc->store, &recs, &n)) == PAT_OK && n == 0 &&
        (rc = add_key(svc, svc->clock(), svc->clock(), &rec)) == PAT_OK)
        pat_log_info("keys: created the first signing key %s (%s)", rec.kid, rec.algorithm);
    free(recs);
    if ((rc = pat_unit_end(svc, rc)) < 0)
        return rc;
    return pat_keyring_load(svc);
}

int pat_keyring_rotate(pat_service *svc, const pat_principal *actor,
                       const pat_request_info *info, char kid[64])
{
    const pat_config *cfg = svc->config;
    int64_t now = svc->clock();
    int64_t ahead = cfg->jwks_publish_ahead_seconds >= 0 ? cfg->jwks_publish_ahead_seconds
                                                         : cfg->jwks_max_age_seconds;
    pat_key_rec rec;
    int rc;

    if ((rc = pat_unit_begin(svc)) < 0)
        return rc;
    if ((rc = add_key(svc, now, now + ahead, &rec)) == PAT_OK)
        rc = pat_audit_record(svc, actor, info, "key.rotated", "key",
                              "kid=%s alg=%s signs_from=%lld", rec.kid, rec.algorithm,
                              (long long)(now + ahead));
    if ((rc = pat_unit_end(svc, rc)) == PAT_OK) {
        snprintf(kid, 64, "%s", rec.kid);
        rc = pat_keyring_load(svc);
    }
    return rc;
}

int pat_keyring_sign_jwt(pat_service *svc, int64_t now, const json_t *claims, pat_buf *out)
{
    uint8_t sig[64];
    json_t *header = NULL;
    long i;
    int rc;

    pthread_rwlock_rdlock(&svc->keyring->lock);
    if ((i = signer_at(svc->keyring, now)) < 0) {
        rc = pat_error_set(PAT_EIO, NULL, "no signing key is active");
        goto out;
    }
    header = json_pack("{ss ss ss}", "alg", pat_sign_key_alg(&svc->keyring->keys[i]), "typ",
                       "at+jwt", "kid", svc->keyring->keys[i].kid);
    if ((rc = pat_jwt_signing_input(header, claims, out)) == PAT_OK &&
        (rc = pat_sign(&svc->keyring->keys[i], (const uint8_t *)out->data, out->len, sig)) ==
            PAT_OK)
        rc = pat_jwt_append_signature(out, sig, sizeof(sig));
out:
    pthread_rwlock_unlock(&svc->keyring->lock);
    json_decref(header);
    return rc;
}

int pat_keyring_verify(pat_service *svc, int64_t now, const pat_jwt *jwt, const uint8_t *msg,
                       size_t n)
{
    int64_t longest = longest_lifetime(svc->config);
    int rc = pat_error_set(PAT_EAUTH, NULL, "the token is not valid (unknown key)");

    pthread_rwlock_rdlock(&svc->keyring->lock);
    for (size_t i = 0; i < svc->keyring->n; i++) {
        const pat_sign_key *k = &svc->keyring->keys[i];
        if (strcmp(k->kid, jwt->kid) != 0)
            continue;
        /* The algorithm is the key's; a header naming another is refused,
         * never obeyed (RFC 8725 2.1). */
        if (strcmp(jwt->alg, pat_sign_key_alg(k)) != 0)
            rc = pat_error_set(PAT_EAUTH, NULL, "the token is not valid (wrong alg)");
        else if (!published(svc->keyring, i, now, longest))
            rc = pat_error_set(PAT_EAUTH, NULL, "the token is not valid (retired key)");
        else
            rc = pat_sign_verify(k, msg, n, jwt->sig);
        break;
    }
    pthread_rwlock_unlock(&svc->keyring->lock);
    return rc;
}

json_t *pat_keyring_jwks(pat_service *svc, int64_t now)
{
    int64_t longest = longest_lifetime(svc->config);
    json_t *keys = json_array();

    pthread_rwlock_rdlock(&svc->keyring->lock);
    for (size_t i = 0; i < svc->keyring->n; i++)
        if (published(svc->keyring, i, now, longest))
            json_array_append(keys, svc->keyring->keys[i].jwk);
    pthread_rwlock_unlock(&svc->keyring->lock);
    return json_pack("{so}", "keys", keys);
}

int pat_keyring_list(pat_service *svc, int64_t now, pat_key_info **out, size_t *n)
{
    int64_t longest = longest_lifetime(svc->config);
    pat_key_info *list;
    long signer;

    pthread_rwlock_rdlock(&svc->keyring->lock);
    signer = signer_at(svc->keyring, now);
    list = pat_calloc(svc->keyring->n ? svc->keyring->n : 1, sizeof(*list));
    for (size_t i = 0; i < svc->keyring->n; i++) {
        const pat_sign_key *k = &svc->keyring->keys[i];
        memcpy(list[i].kid, k->kid, sizeof(list[i].kid));
        list[i].alg = pat_sign_key_alg(k);
        list[i].created_at = k->created_at;
        list[i].activates_at = k->activates_at;
        list[i].retires_at = retires_at(svc->keyring, i, now, longest);
        list[i].state = k->activates_at > now ? "next" : (long)i == signer ? "active" : "retired";
        list[i].in_jwks = published(svc->keyring, i, now, longest);
    }
    *n = svc->keyring->n;
    pthread_rwlock_unlock(&svc->keyring->lock);
    *out = list;
    return PAT_OK;
}
