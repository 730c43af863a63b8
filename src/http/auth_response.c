/* GET /auth's 204 answer, built once per token and HTTP thread.
 *
 * The answer to a good token is the same four headers on every use, and
 * building it costs libmicrohttpd about twenty allocations (three per
 * header). On the verification path that was a measurable share of the
 * CPU per request, so each HTTP thread keeps the last answer built for a
 * slot of token ids and queues it again while the principal it names is
 * unchanged. A slot is checked against the verified principal on every
 * use (ids and the exact strings), so an edit, a rename or a changed
 * scope set builds a new answer at once; nothing here decides whether a
 * token is good. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/request.h"

/* Per thread: 1024 slots of 40 bytes plus the answers they hold (~0.5 KiB
 * each); enough to cover a working set of a thousand tokens. */
#define SLOTS 1024

typedef struct slot {
    int64_t token_id;
    int64_t user_id;
    const char *username; /* the header values inside resp */
    const char *scopes;
    struct MHD_Response *resp; /* one reference, ours */
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
    char id[24], uid[24];

    if (!resp)
        return NULL;
    snprintf(id, sizeof(id), "%lld", (long long)who->token_id);
    snprintf(uid, sizeof(uid), "%lld", (long long)who->user_id);
    if (pat_response_add_common(resp) < 0 ||
        MHD_add_response_header(resp, "X-Auth-User", who->username) != MHD_YES ||
        MHD_add_response_header(resp, "X-Auth-User-Id", uid) != MHD_YES ||
        MHD_add_response_header(resp, "X-Auth-Token-Id", id) != MHD_YES ||
        MHD_add_response_header(resp, "X-Auth-Scopes", who->scopes) != MHD_YES) {
        MHD_destroy_response(resp);
        return NULL;
    }
    return resp;
}

struct MHD_Response *pat_auth_response(const pat_principal *who)
{
    slot *slots, *s;

    pthread_once(&slots_once, slots_init);
    slots = pthread_getspecific(slots_key);
    if (!slots) {
        if (!(slots = calloc(SLOTS, sizeof(*slots))))
            return NULL;
        if (pthread_setspecific(slots_key, slots) != 0) {
            free(slots);
            return NULL;
        }
    }
    s = &slots[(uint64_t)who->token_id % SLOTS];
    if (s->resp && s->token_id == who->token_id && s->user_id == who->user_id &&
        strcmp(s->username, who->username) == 0 && strcmp(s->scopes, who->scopes) == 0)
        return s->resp;
    if (s->resp)
        MHD_destroy_response(s->resp); /* connections still sending it hold their own reference */
    memset(s, 0, sizeof(*s));
    if (!(s->resp = build(who)))
        return NULL;
    s->token_id = who->token_id;
    s->user_id = who->user_id;
    s->username = MHD_get_response_header(s->resp, "X-Auth-User");
    s->scopes = MHD_get_response_header(s->resp, "X-Auth-Scopes");
    if (!s->username || !s->scopes) {
        MHD_destroy_response(s->resp);
        memset(s, 0, sizeof(*s));
        return NULL;
    }
    return s->resp;
}
