#ifndef PAT_CORE_ORG_H
#define PAT_CORE_ORG_H
#include <stdbool.h>
#include <stddef.h>

/* Organizations: their slugs, the roles of their members, and lists of
 * slugs (space-separated, sorted, no duplicates) as tokens, caches and
 * verification answers carry them. */

#define PAT_ORG_SLUG_MAX 32   /* [a-z0-9], then [a-z0-9-]; at most this many */
#define PAT_ORGS_PER_TOKEN 16 /* slugs a token's organizations may name */
#define PAT_TOKEN_ORGS_MAX (PAT_ORGS_PER_TOKEN * (PAT_ORG_SLUG_MAX + 1) + 1)
#define PAT_ORGS_PER_PERSON 64 /* organizations one person may be a member of */
#define PAT_MEMBER_ORGS_MAX (PAT_ORGS_PER_PERSON * (PAT_ORG_SLUG_MAX + 1) + 1)

/* A member's role in an organization. */
enum { PAT_ORG_MEMBER = 0, PAT_ORG_OWNER = 1 };

/* "owner" or "member" (a static string). */
const char *pat_org_role_name(int role);

/* Sets *role from its name; PAT_EINVAL (field "role") for any other text. */
int pat_org_role_parse(const char *name, int *role);

/* PAT_OK if slug is 1..PAT_ORG_SLUG_MAX of [a-z0-9-] starting with a letter
 * or digit; PAT_EINVAL naming field otherwise. */
int pat_org_slug_check(const char *slug, const char *field);

/* 1 if the space-separated list names slug, else 0. */
int pat_orgs_has(const char *list, const char *slug);

/* Adds slug to the sorted list in out (outsz bytes), keeping it sorted
 * and without duplicates: PAT_OK, or PAT_EINVAL when it would not fit. */
int pat_orgs_add(char *out, size_t outsz, const char *slug);

/* Removes slug from the sorted list in io (no-op if absent). */
void pat_orgs_remove(char *io, const char *slug);

/* Where a token is usable: the organizations of member_orgs (its owner's,
 * those where the owner may use tokens) that token_orgs ("" = all of
 * them) names, into out (outsz bytes, cut at a slug if it must be). */
void pat_orgs_usable(const char *member_orgs, const char *token_orgs, char *out, size_t outsz);

/* Whether a token of token_orgs ("" = all) whose owner may use tokens in
 * member_orgs is usable in slug. */
bool pat_orgs_usable_in(const char *member_orgs, const char *token_orgs, const char *slug);

#endif
