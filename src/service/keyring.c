/* The keyring: every signing key of exchanged JWTs, opened from the store,
 * and the rules of their lives (#14):
 *  - a key is published (JWKS) from its creation;
 *  - it signs from activates_at until a newer key's activates_at: a rotated
 *    key is published jwks_publish_ahead_seconds before it signs, so no
 *    verifier holding a cached JWKS meets an unknown kid;
 *  - a key a newer one replaced stays published until every JWT it signed
 *    has expired (its successor's activation + the longest lifetime + the
 *    leeway), then it is gone from the JWKS and refused, and the flusher
 *    deletes it from the store (pat_keyring_prune): a private key that can
 *    no longer be used is not kept.
 * Reloaded whenever the changes feed names a key (every instance); a
 * reload opens only the keys it has not opened yet, so rotating often
 * costs one key's unsealing, not all of them. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/jwt.h"
#include "service/service_int.h"
#include "util/error.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/time.h"

struct pat_keyring {
    pthread_rwlock_t lock;   /* readers: every use; writer: the swap in a load */
    pthread_mutex_t loading; /* one load at a time (they reuse each other's keys) */
    pat_sign_key *keys;      /* oldest first */
    size_t n;
};

pat_keyring *pat_keyring_new(void)
{
    pat_keyring *r = pat_calloc(1, sizeof(*r));

    pthread_rwlock_init(&r->lock, NULL);
    pthread_mutex_init(&r->loading, NULL);
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
    pthread_mutex_destroy(&r->loading);
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

/* Whether key j signs after key i: it activates later, or at the same
 * second and is listed later (signer_at's choice among a tie). */
static bool signs_after(const pat_keyring *r, size_t j, size_t i)
{
    return r->keys[j].activates_at > r->keys[i].activates_at ||
           (r->keys[j].activates_at == r->keys[i].activates_at && j > i);
}

/* When key i stops being published (0: not yet decided, no key that signs
 * after it is active). Keys rotated in one second are ordered too, so each
 * of them retires. */
static int64_t retires_at(const pat_keyring *r, size_t i, int64_t now, int64_t longest)
{
    long signer = signer_at(r, now);
    int64_t successor = 0;

    if (signer < 0 || (size_t)signer == i || r->keys[i].activates_at > now ||
        !signs_after(r, (size_t)signer, i))
        return 0;
    /* Its successor took over at the earliest activation after it. */
    for (size_t j = 0; j < r->n; j++)
        if (j != i && signs_after(r, j, i) && r->keys[j].activates_at <= now &&
            (successor == 0 || r->keys[j].activates_at < successor))
            successor = r->keys[j].activates_at;
    return successor + longest;
}

static bool published(const pat_keyring *r, size_t i, int64_t now, int64_t longest)
{
    int64_t until = retires_at(r, i, now, longest);

    return r->keys[i].created_at <= now && (until == 0 || now < until);
}

int pat_keyring_load(pat_service *svc)
{
    pat_keyring *r = svc->keyring;
    pat_key_rec *recs = NULL;
    pat_sign_key *keys = NULL, *old;
    bool *kept = NULL, *moved = NULL;
    size_t n = 0, nold;
    int rc;

    pthread_mutex_lock(&r->loading);
    if ((rc = pat_store_key_list(svc->store, &recs, &n)) < 0)
        goto out;
    /* Only loads change r->keys, and this one holds `loading`: the old
     * array can be read without the rwlock. A key already open moves to
     * the new array (kept), the others are opened. */
    keys = pat_calloc(n ? n : 1, sizeof(*keys));
    kept = pat_calloc(r->n ? r->n : 1, sizeof(*kept));
    moved = pat_calloc(n ? n : 1, sizeof(*moved));
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < r->n && (kept[j] || strcmp(r->keys[j].kid, recs[i].kid) != 0))
            j++;
        if (j < r->n) {
            keys[i] = r->keys[j];
            kept[j] = moved[i] = true;
        } else if ((rc = pat_sign_key_open(recs[i].kid, strcmp(recs[i].algorithm, "EdDSA") == 0,
                                           recs[i].sealed, recs[i].sealed_len, svc->key,
                                           &keys[i])) < 0) {
            pat_log_error("keys: cannot open %s: %s", recs[i].kid, pat_error_last()->message);
            for (size_t k = 0; k < i; k++)
                if (!moved[k]) /* the old array still owns the moved ones */
                    pat_sign_key_dispose(&keys[k]);
            free(keys);
            goto out;
        }
        keys[i].created_at = recs[i].created_at;
        keys[i].activates_at = recs[i].activates_at;
    }
    pthread_rwlock_wrlock(&r->lock);
    old = r->keys;
    nold = r->n;
    r->keys = keys;
    r->n = n;
    pthread_rwlock_unlock(&r->lock);
    for (size_t j = 0; j < nold; j++)
        if (!kept[j])
            pat_sign_key_dispose(&old[j]);
    free(old);
out:
    pthread_mutex_unlock(&r->loading);
    free(kept);
    free(moved);
    if (recs) {
        sodium_memzero(recs, n * sizeof(*recs));
        free(recs);
    }
    return rc;
}

int pat_keyring_prune(pat_service *svc)
{
    int64_t now = svc->clock(), longest = longest_lifetime(svc->config);
    char(*gone)[PAT_KID_LEN + 1] = NULL;
    size_t ngone = 0;
    int rc = PAT_OK;

    pthread_rwlock_rdlock(&svc->keyring->lock);
    gone = pat_calloc(svc->keyring->n ? svc->keyring->n : 1, sizeof(*gone));
    for (size_t i = 0; i < svc->keyring->n; i++) {
        int64_t until = retires_at(svc->keyring, i, now, longest);
        if (until != 0 && now >= until)
            memcpy(gone[ngone++], svc->keyring->keys[i].kid, sizeof(gone[0]));
    }
    pthread_rwlock_unlock(&svc->keyring->lock);
    for (size_t i = 0; i < ngone && rc == PAT_OK; i++) {
        int del;
        if ((rc = pat_unit_begin(svc)) < 0)
            break;
        /* Another instance may have deleted it first: nothing to record. */
        if ((del = pat_store_key_delete(svc->store, gone[i])) == PAT_OK)
            rc = pat_audit_record(svc, NULL, NULL, "key.deleted", "key",
                                  "kid=%s (retired: no JWT it signed is still valid)", gone[i]);
        else if (del != PAT_ENOTFOUND)
            rc = del;
        if ((rc = pat_unit_end(svc, rc)) == PAT_OK && del == PAT_OK)
            pat_log_info("keys: deleted retired key %s", gone[i]);
    }
    free(gone);
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

/* PAT_OK if the store's keys leave room for one more published key, else
 * PAT_ECONFLICT saying when the first of them leaves the JWKS. Read inside
 * the rotation's unit of work, where writers take turns, so instances
 * rotating together cannot pass the bound between them. */
static int room_for_a_key(pat_service *svc, int64_t now)
{
    int64_t longest = longest_lifetime(svc->config), first_out = 0;
    pat_keyring view = {0};
    pat_key_rec *recs = NULL;
    size_t n = 0, live = 0;
    int rc;

    if ((rc = pat_store_key_list(svc->store, &recs, &n)) < 0)
        return rc;
    /* The life rules need only each key's times. */
    view.keys = pat_calloc(n ? n : 1, sizeof(*view.keys));
    view.n = n;
    for (size_t i = 0; i < n; i++) {
        view.keys[i].created_at = recs[i].created_at;
        view.keys[i].activates_at = recs[i].activates_at;
    }
    for (size_t i = 0; i < n; i++) {
        int64_t until = retires_at(&view, i, now, longest);
        if (!published(&view, i, now, longest))
            continue;
        live++;
        if (until != 0 && (first_out == 0 || until < first_out))
            first_out = until;
    }
    if (live >= PAT_KEYS_PUBLISHED_MAX) {
        char when[PAT_TIME_STR];
        if (first_out != 0)
            pat_time_format(first_out, when);
        rc = pat_error_set(
            PAT_ECONFLICT, NULL, "%d signing keys are published already; rotate again %s%s",
            PAT_KEYS_PUBLISHED_MAX,
            first_out != 0 ? "after " : "once the newest key signs and the older ones have retired",
            first_out != 0 ? when : "");
    }
    free(view.keys);
    sodium_memzero(recs, n * sizeof(*recs));
    free(recs);
    return rc;
}

int pat_keyring_rotate(pat_service *svc, const pat_principal *actor, const pat_request_info *info,
                       char kid[64])
{
    const pat_config *cfg = svc->config;
    int64_t now = svc->clock();
    int64_t ahead = cfg->jwks_publish_ahead_seconds >= 0 ? cfg->jwks_publish_ahead_seconds
                                                         : cfg->jwks_max_age_seconds;
    pat_key_rec rec;
    int rc;

    if ((rc = pat_unit_begin(svc)) < 0)
        return rc;
    if ((rc = room_for_a_key(svc, now)) == PAT_OK &&
        (rc = add_key(svc, now, now + ahead, &rec)) == PAT_OK)
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
