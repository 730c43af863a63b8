/* Token verification: the path every protected request takes. */
#include <string.h>

#include "core/cidr.h"
#include "service/service_int.h"
#include "util/error.h"

int pat_service_verify_token(pat_service *svc, const char *token, size_t len,
                             const char *client_ip, pat_principal *out)
{
    uint8_t hash[PAT_HASH_LEN];
    pat_token_rec t;
    pat_user u;
    int64_t now = svc->clock();
    int is_previous = 0;
    int rc;

    /* Malformed values and bad checksums never reach the store. */
    if ((rc = pat_token_check_format(token, len, svc->token_prefix)) < 0)
        return rc;
    pat_token_hash(hash, svc->key, token, len);
    rc = pat_store_token_get_by_hash(svc->store, hash, now, &t, &is_previous);
    if (rc == PAT_ENOTFOUND)
        return pat_error_set(PAT_EAUTH, NULL, "the token is not valid");
    if (rc < 0)
        return rc;
    if (t.disabled_at)
        return pat_error_set(PAT_EAUTH, NULL, "the token is disabled");
    if (pat_expiry_passed(t.expires_at, now))
        return pat_error_set(PAT_EAUTH, NULL, "the token has expired");
    if (client_ip && !pat_cidr_list_allows(t.allowed_cidrs, client_ip))
        return pat_error_set(PAT_EAUTH, NULL, "the token may not be used from this address");
    if ((rc = pat_store_user_get(svc->store, t.user_id, &u)) < 0)
        return rc == PAT_ENOTFOUND ? pat_error_set(PAT_EAUTH, NULL, "the token is not valid") : rc;
    if (u.disabled)
        return pat_error_set(PAT_EAUTH, NULL, "the token's owner is disabled");
    if (!u.can_manage_tokens)
        return pat_error_set(PAT_EAUTH, NULL,
                             "the token's owner may not use personal access tokens");
    memset(out, 0, sizeof(*out));
    out->kind = PAT_AUTH_TOKEN;
    pat_principal_set_user(out, &u);
    out->token_id = t.id;
    strcpy(out->scopes, t.scopes);
    out->token_expires_at = t.expires_at;
    out->token_issued_at = t.created_at;
    memset(u.password_hash, 0, sizeof(u.password_hash));
    return PAT_OK;
}
