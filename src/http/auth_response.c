/* GET /auth's 204 answer, built once per token and HTTP thread.
 *
 * The answer to a good token is the same few headers on every use, and
 * building it costs libmicrohttpd about twenty allocations (three per
 * header): a measurable share of the CPU per request. So each HTTP thread
 * keeps, per slot of token ids, one token's answer and queues it again
 * while the principal it names is unchanged. Another token takes the slot
 * only when it comes a second time before any third: a token seen once is
 * answered with a fresh response that is not kept, so a stream of a
 * million different tokens churns nothing here. A kept answer
 * is checked against the verified principal on every use (ids and the
 * exact strings), so an edit, a rename or a changed scope set builds a new
 * answer at once; nothing here decides whether a token is good. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "http/request.h"
#include "util/decimal.h"

/* Per thread: 1024 slots of 56 bytes (small enough to stay in the CPU's
 * cache when a million tokens' entries pass through it) plus the answers
 * they keep, ~0.5 KiB each, so at most ~0.5 MiB. */
#define SLOTS 1024

typedef struct slot {
    int64_t token_id; /* whose answer resp is */
    int64_t user_id;
    const char *username; /* the header values inside resp */
    const char *scopes;
    const char *orgs;          /* "" when the answer has no X-Auth-Orgs */
    struct MHD_Response *resp; /* one reference, ours; NULL: none kept */
    int64_t candidate;         /* the last other token answered here */
} slot;

static pthread_key_t slots_key;
static pthread_once_t slots_once = PTHREAD_ONCE_INIT;

static void slots_free(void *p)
{
    slot *s = p;

    for (size_t i = 0; i < SLOTS; i++)
        if (s[i].resp)
            MHD_destroy_response(s[i].resp);
    free(s);
}

static void slots_init(void)
{
    if (pthread_key_create(&slots_key, slots_free) != 0)
        abort();
}

static struct MHD_Response *build(const pat_principal *who)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
    char id[PAT_DECIMAL_MAX], uid[PAT_DECIMAL_MAX];

    if (!resp)
        return NULL;
    pat_decimal(id, sizeof(id), who->token_id, 1);
    pat_decimal(uid, sizeof(uid), who->user_id, 1);
    /* Of the headers every answer carries, only Cache-Control: a 204 has
     * no body to sniff, and with a million tokens most answers are built
     * afresh, each header costing three allocations. no-store stays: an
     * answer to a token must not outlive its revocation in a cache. */
    if (MHD_add_response_header(resp, "Cache-Control", "no-store") != MHD_YES ||
        MHD_add_response_header(resp, "X-Auth-User", who->username) != MHD_YES ||
        MHD_add_response_header(resp, "X-Auth-User-Id", uid) != MHD_YES ||
        MHD_add_response_header(resp, "X-Auth-Token-Id", id) != MHD_YES ||
        MHD_add_response_header(resp, "X-Auth-Scopes", who->scopes) != MHD_YES ||
        (who->orgs[0] && MHD_add_response_header(resp, "X-Auth-Orgs", who->orgs) != MHD_YES)) {
        MHD_destroy_response(resp);
        return NULL;
    }
    return resp;
}

static bool matches(const slot *s, const pat_principal *who)
{
    return s->user_id == who->user_id && strcmp(s->username, who->username) == 0 &&
           strcmp(s->scopes, who->scopes) == 0 && strcmp(s->orgs, who->orgs) == 0;
}

/* Builds who's answer and keeps it in s in place of the one there. */
static struct MHD_Response *keep(slot *s, const pat_principal *who, bool *cached)
{
    struct MHD_Response *resp = build(who);
    const char *username, *scopes, *orgs = "";

    if (!resp)
        return NULL;
    username = MHD_get_response_header(resp, "X-Auth-User");
    scopes = MHD_get_response_header(resp, "X-Auth-Scopes");
    if (who->orgs[0])
        orgs = MHD_get_response_header(resp, "X-Auth-Orgs");
    if (!username || !scopes || !orgs)
        return resp; /* not kept: the caller owns it */
    if (s->resp)
        MHD_destroy_response(s->resp); /* connections still sending it hold their own reference */
    s->token_id = who->token_id;
    s->user_id = who->user_id;
    s->username = username;
    s->scopes = scopes;
    s->orgs = orgs;
    s->resp = resp;
    s->candidate = 0;
    *cached = true;
    return resp;
}

struct MHD_Response *pat_auth_response(const pat_principal *who, bool *cached)
{
    slot *slots, *s;

    *cached = false;
    pthread_once(&slots_once, slots_init);
    slots = pthread_getspecific(slots_key);
    if (!slots) {
        if (!(slots = calloc(SLOTS, sizeof(*slots))))
            return build(who);
        if (pthread_setspecific(slots_key, slots) != 0) {
            free(slots);
            return build(who);
        }
    }
    s = &slots[(uint64_t)who->token_id % SLOTS];
    if (s->resp && s->token_id == who->token_id) {
        if (!matches(s, who))
            return keep(s, who, cached); /* the token or its owner changed */
        *cached = true;
        return s->resp;
    }
    if (s->candidate == who->token_id)
        return keep(s, who, cached);
    s->candidate = who->token_id;
    return build(who);
}
