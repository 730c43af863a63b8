/* People. (The superuser API on people is the organization issue's.) */
#include <string.h>

#include <sodium.h>

#include "service/service_int.h"
#include "util/error.h"

static const char ALNUM[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

int pat_service_bootstrap(pat_service *svc, const char *password, char generated[33],
                          bool *was_generated, bool *created)
{
    pat_user u;
    int64_t count = 0;
    int rc;

    *created = false;
    *was_generated = false;
    if ((rc = pat_store_user_count(svc->store, &count)) < 0)
        return rc;
    if (count > 0)
        return PAT_OK;
    if (!password || !*password) {
        /* 24 characters from a 57-letter alphabet: ~140 bits. */
        for (int i = 0; i < 24; i++)
            generated[i] = ALNUM[randombytes_uniform(sizeof(ALNUM) - 1)];
        generated[24] = '\0';
        password = generated;
        *was_generated = true;
    }
    memset(&u, 0, sizeof(u));
    strcpy(u.username, "admin");
    u.role = PAT_ROLE_SUPERUSER;
    u.can_manage_tokens = true;
    u.created_at = u.updated_at = svc->clock();
    if ((rc = pat_service_password_hash(password, u.password_hash)) < 0)
        goto out;
    if ((rc = pat_store_user_create(svc->store, &u)) < 0)
        goto out;
    pat_audit_record(svc, NULL, NULL, "user.created", "user:1", "username=admin role=superuser");
    *created = true;
out:
    sodium_memzero(&u, sizeof(u));
    return rc;
}
