#include <string.h>

#include "core/role.h"
#include "util/error.h"

const char *pat_role_name(int role)
{
    return role == PAT_ROLE_SUPERUSER ? "superuser" : "member";
}

int pat_role_parse(const char *name, int *role)
{
    if (name && strcmp(name, "superuser") == 0)
        *role = PAT_ROLE_SUPERUSER;
    else if (name && strcmp(name, "member") == 0)
        *role = PAT_ROLE_MEMBER;
    else
        return pat_error_set(PAT_EINVAL, "role", "role must be superuser or member");
    return PAT_OK;
}
