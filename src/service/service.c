#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "service/service_int.h"
#include "util/error.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/time.h"

int pat_service_new(pat_service **out, const pat_service_options *opts)
{
    pat_service *svc;
    int rc;

    if ((rc = pat_token_prefix_valid(opts->token_prefix)) < 0)
        return rc;
    svc = pat_calloc(1, sizeof(*svc));
    svc->store = opts->store;
    svc->catalog = opts->catalog;
    memcpy(svc->key, opts->key, PAT_KEY_LEN);
    strcpy(svc->token_prefix, opts->token_prefix);
    svc->clock = opts->clock ? opts->clock : pat_time_now;
    *out = svc;
    return PAT_OK;
}

void pat_service_free(pat_service *svc)
{
    if (!svc)
        return;
    sodium_memzero(svc->key, sizeof(svc->key));
    free(svc);
}

int64_t pat_service_now(const pat_service *svc)
{
    return svc->clock();
}

const pat_catalog *pat_service_catalog(const pat_service *svc)
{
    return svc->catalog;
}

const char *pat_service_token_prefix(const pat_service *svc)
{
    return svc->token_prefix;
}

void pat_service_hash_secret(const pat_service *svc, const char *secret, uint8_t out[PAT_HASH_LEN])
{
    pat_token_hash(out, svc->key, secret, strlen(secret));
}

void pat_principal_set_user(pat_principal *p, const pat_user *u)
{
    p->user_id = u->id;
    strcpy(p->username, u->username);
    p->role = u->role;
    p->can_manage_tokens = u->can_manage_tokens;
}

void pat_audit_record(pat_service *svc, const pat_principal *actor, const pat_request_info *info,
                      const char *action, const char *target, const char *detail_fmt, ...)
{
    pat_audit_rec r;
    va_list ap;
    pat_error saved = *pat_error_last();

    memset(&r, 0, sizeof(r));
    r.at = svc->clock();
    if (actor) {
        r.actor_user_id = actor->user_id;
        r.actor_token_id = actor->kind == PAT_AUTH_TOKEN ? actor->token_id : 0;
    }
    snprintf(r.action, sizeof(r.action), "%s", action);
    snprintf(r.target, sizeof(r.target), "%s", target ? target : "");
    if (info) {
        snprintf(r.ip, sizeof(r.ip), "%s", info->ip ? info->ip : "");
        snprintf(r.user_agent, sizeof(r.user_agent), "%s", info->user_agent ? info->user_agent : "");
    }
    va_start(ap, detail_fmt);
    vsnprintf(r.detail, sizeof(r.detail), detail_fmt, ap);
    va_end(ap);
    if (pat_store_audit_append(svc->store, &r) < 0)
        pat_log_error("audit: cannot record %s on %s", action, r.target);
    /* The caller's error, if any, is what its caller must see. */
    *(pat_error *)pat_error_last() = saved;
}

int pat_service_ping(pat_service *svc)
{
    return pat_store_ping(svc->store);
}
