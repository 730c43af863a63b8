#ifndef PAT_CORE_ROLE_H
#define PAT_CORE_ROLE_H

/* A person's role, and its one spelling in the API, the configuration and
 * the store. Roles are bit flags so a scope can name the roles allowed to
 * grant it (PAT_ROLES_ALL). */
enum { PAT_ROLE_MEMBER = 1, PAT_ROLE_SUPERUSER = 2 };
#define PAT_ROLES_ALL (PAT_ROLE_MEMBER | PAT_ROLE_SUPERUSER)

/* "superuser" or "member" (any value but PAT_ROLE_SUPERUSER is a member);
 * a static string. */
const char *pat_role_name(int role);

/* Sets *role from its name; PAT_EINVAL (field "role") for any other text. */
int pat_role_parse(const char *name, int *role);

#endif
