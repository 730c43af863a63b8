/* Alerts about how tokens are used, decided off the request path by the
 * flusher. New-client alerts (#15): the clients each token is used from are
 * recorded from what verification noticed (a fingerprint its cache entry
 * had not seen) and from the details of last use; a client new to a token
 * past its learning period emails the owner. And alert_on_new_scope (#16):
 * the first use of a scope by a token. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "service/service_int.h"
#include "util/error.h"
#include "util/log.h"
#include "util/mem.h"

#define CHUNK 256 /* sightings per unit of work */

/* Whether the owner of token_id wants to hear about client c, first seen
 * now after history h; fills *t and *owner when so. */
static bool worth_an_alert(pat_service *svc, const pat_client_history *h, int64_t at,
                           int64_t token_id, pat_token_rec *t, pat_user *owner)
{
    const pat_config *cfg = svc->config;

    if ((h->network_known && h->product_known) || h->first_seen == 0)
        return false; /* known, or the token's very first client */
    if (at - h->first_seen < cfg->new_client_learning_seconds)
        return false;
    if (h->last_alert_at && at - h->last_alert_at < cfg->new_client_alert_interval_seconds)
        return false;
    if (pat_tokens_load_with_owner(svc, token_id, t, owner) < 0)
        return false;
    return !(t->flags & (PAT_TOKEN_FLAG_CANARY | PAT_TOKEN_FLAG_NO_CLIENT_ALERTS)) &&
           !(owner->notify_off & PAT_NOTIFY_NEW_CLIENT);
}

/* The client of one use, as the store records it. */
static void describe(int64_t token_id, const pat_last_use *use, pat_token_client *c)
{
    memset(c, 0, sizeof(*c));
    c->token_id = token_id;
    pat_client_describe(use->ip, use->user_agent, c->network, c->product);
    memcpy(c->ip, use->ip, sizeof(c->ip));
    memcpy(c->user_agent, use->user_agent, sizeof(c->user_agent));
    c->first_seen = c->last_seen = use->at;
}

/* Emails the owner about c, recorded after history h, when it is new to
 * the token and worth it (in the caller's unit of work); *alerted (may be
 * NULL) tells whether it did. */
static int maybe_alert(pat_service *svc, const pat_token_client *c, const pat_client_history *h,
                       const pat_last_use *use, bool *alerted)
{
    pat_request_info info = {use->ip, use->user_agent, use->method, use->path};
    pat_token_rec *t = pat_malloc(sizeof(*t));
    pat_user owner;
    int rc = PAT_OK;

    if (worth_an_alert(svc, h, use->at, c->token_id, t, &owner)) {
        if ((rc = pat_notify_new_client(svc, &owner, t, use, c)) == PAT_OK &&
            (rc = pat_audit_record(svc, NULL, &info, "token.new_client", "token",
                                   "id=%lld name=%s network=%s product=%s method=%s path=%.120s",
                                   (long long)t->id, t->name, c->network, c->product,
                                   use->method, use->path)) == PAT_OK)
            rc = pat_store_client_alerted(svc->store, c->token_id, c->network, c->product,
                                          use->at);
        if (alerted)
            *alerted = rc == PAT_OK;
        sodium_memzero(&owner, sizeof(owner));
    }
    free(t);
    return rc;
}

int pat_service_client_seen(pat_service *svc, int64_t token_id, const pat_last_use *use)
{
    pat_token_client c;
    pat_client_history h;
    int rc;

    describe(token_id, use, &c);
    if ((rc = pat_store_client_seen(svc->store, &c, &h)) < 0)
        return rc;
    return maybe_alert(svc, &c, &h, use, NULL);
}

/* Records list[0..n) (in token order) in units of CHUNK, each one batch
 * in the store, and alerts about new clients unless refresh (clients most
 * likely known: recorded only). A failed unit is logged and its sightings
 * given up (they are hints: the next use brings them back). */
static void record_all(pat_service *svc, const pat_sighting *list, size_t n, bool refresh)
{
    pat_token_client *c = pat_malloc(CHUNK * sizeof(*c));
    pat_client_history *h = pat_malloc(CHUNK * sizeof(*h));
    int64_t alerted_token = 0;

    for (size_t done = 0; done < n; done += CHUNK) {
        size_t k = n - done < CHUNK ? n - done : CHUNK;
        int rc;
        for (size_t i = 0; i < k; i++)
            describe(list[done + i].token_id, &list[done + i].use, &c[i]);
        if ((rc = pat_unit_begin(svc)) == PAT_OK)
            rc = pat_store_clients_seen(svc->store, c, k, refresh ? NULL : h);
        /* A batch's histories were read before any of its alerts: one
         * alert per token per batch keeps the interval. */
        for (size_t i = 0; i < k && rc == PAT_OK && !refresh; i++) {
            bool alerted = false;
            if (c[i].token_id == alerted_token)
                continue;
            rc = maybe_alert(svc, &c[i], &h[i], &list[done + i].use, &alerted);
            if (alerted)
                alerted_token = c[i].token_id;
        }
        if ((rc = pat_unit_end(svc, rc)) < 0)
            pat_log_error("clients: cannot record %zu sightings: %s", k,
                          pat_error_last()->message);
    }
    free(c);
    free(h);
}

/* A sighting with the client it names, for merging. */
typedef struct keyed {
    pat_sighting s;
    char network[PAT_NETWORK_MAX];
    char product[PAT_PRODUCT_MAX];
} keyed;

static int by_client(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    int c;

    if (x->s.token_id != y->s.token_id)
        return x->s.token_id < y->s.token_id ? -1 : 1;
    if ((c = strcmp(x->network, y->network)) != 0 || (c = strcmp(x->product, y->product)) != 0)
        return c;
    return (x->s.use.at > y->s.use.at) - (x->s.use.at < y->s.use.at);
}

/* Keeps the latest sighting of each (token, client) of list[0..n), in
 * token order: one write per client per flush, however often it came;
 * then the refreshes first, then the rest from *nfresh on. */
static size_t merge(pat_sighting *list, size_t n, size_t *nrefresh)
{
    keyed *k = pat_malloc(n * sizeof(*k));
    size_t kept = 0;

    for (size_t i = 0; i < n; i++) {
        k[i].s = list[i];
        pat_client_describe(list[i].use.ip, list[i].use.user_agent, k[i].network,
                            k[i].product);
    }
    qsort(k, n, sizeof(*k), by_client);
    for (size_t i = 0, first = 0; i < n; i++) {
        bool last_of_client = i + 1 == n || k[i + 1].s.token_id != k[i].s.token_id ||
                              strcmp(k[i + 1].network, k[i].network) != 0 ||
                              strcmp(k[i + 1].product, k[i].product) != 0;
        if (!last_of_client)
            continue;
        /* The latest use; news looked for if any of them asked. */
        list[kept] = k[i].s;
        for (size_t j = first; j < i; j++)
            list[kept].refresh = list[kept].refresh && k[j].s.refresh;
        kept++;
        first = i + 1;
    }
    /* Stable partition through k (free now), keeping token order in each. */
    *nrefresh = 0;
    for (size_t i = 0; i < kept; i++)
        if (list[i].refresh)
            k[(*nrefresh)++].s = list[i];
    for (size_t i = 0, m = *nrefresh; i < kept; i++)
        if (!list[i].refresh)
            k[m++].s = list[i];
    for (size_t i = 0; i < kept; i++)
        list[i] = k[i].s;
    free(k);
    return kept;
}

void pat_service_clients(pat_service *svc, const pat_token_touch *touches, size_t n)
{
    pat_sighting *list = NULL;
    size_t count = pat_sightings_take(svc->new_clients, &list);

    if (n) {
        list = pat_realloc(list, (count + n) * sizeof(*list));
        for (size_t i = 0; i < n; i++) {
            if (touches[i].last.at == 0)
                continue; /* a count only */
            list[count].token_id = touches[i].token_id;
            list[count].use = touches[i].last;
            /* Verification queued what its cache had not seen: these are
             * clients known (barring a full queue), so only refreshed. */
            list[count].refresh = true;
            count++;
        }
    }
    if (count) {
        size_t nrefresh = 0, kept = merge(list, count, &nrefresh);
        record_all(svc, list, nrefresh, true);
        record_all(svc, list + nrefresh, kept - nrefresh, false);
    }
    free(list);
}

/* alert_on_new_scope: the first use of a scope by a token. */
int pat_service_new_scope(pat_service *svc, const pat_scope_use *u)
{
    pat_token_rec *t = pat_malloc(sizeof(*t));
    pat_user owner;
    int rc;

    memset(&owner, 0, sizeof(owner));
    if ((rc = pat_unit_begin(svc)) < 0)
        goto out;
    if ((rc = pat_tokens_load_with_owner(svc, u->token_id, t, &owner)) == PAT_OK &&
        !(t->flags & PAT_TOKEN_FLAG_CANARY) &&
        (rc = pat_notify_new_scope(svc, &owner, t, u->scope, u->last_used_at)) == PAT_OK)
        rc = pat_audit_record(svc, NULL, NULL, "token.new_scope", "token",
                              "id=%lld name=%s scope=%s", (long long)t->id, t->name, u->scope);
    rc = pat_unit_end(svc, rc == PAT_ENOTFOUND ? PAT_OK : rc);
out:
    sodium_memzero(&owner, sizeof(owner));
    free(t);
    return rc;
}
