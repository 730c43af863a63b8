#ifndef PAT_CORE_SCOPE_H
#define PAT_CORE_SCOPE_H
#include "core/role.h"
#include <stddef.h>

/* Scopes are names of [A-Za-z0-9:._-]. A token's scopes are kept as one
 * canonical string: known names, no duplicates, in catalog order, separated
 * by single spaces ("tokens repo:read"). */
#define PAT_SCOPE_NAME_MAX 64
#define PAT_SCOPES_PER_TOKEN_MAX 100
#define PAT_SCOPES_STR_MAX (PAT_SCOPES_PER_TOKEN_MAX * (PAT_SCOPE_NAME_MAX + 1))
#define PAT_CATALOG_SCOPES_MAX 512
#define PAT_CATALOG_SETS_MAX 64
#define PAT_SCOPE_DESC_MAX 256


/* Built-in scopes (API.md). */
#define PAT_SCOPE_TOKENS "tokens"
#define PAT_SCOPE_INTROSPECT "introspect"
#define PAT_SCOPE_ADMIN "admin"
#define PAT_SCOPE_ORGS "orgs"
#define PAT_SCOPE_LEAK_REPORT "leak-report"

typedef struct pat_scope_def {
    char name[PAT_SCOPE_NAME_MAX + 1];
    char description[PAT_SCOPE_DESC_MAX];
    unsigned roles; /* PAT_ROLE_* bits of the roles that may grant it */
} pat_scope_def;

typedef struct pat_scope_set_def {
    char name[PAT_SCOPE_NAME_MAX + 1];
    char description[PAT_SCOPE_DESC_MAX];
    char scopes[PAT_SCOPES_STR_MAX]; /* canonical scope string */
} pat_scope_set_def;

/* The operator's scope catalog: built-ins first, then configured ones. */
typedef struct pat_catalog {
    pat_scope_def scopes[PAT_CATALOG_SCOPES_MAX];
    size_t nscopes;
    pat_scope_set_def sets[PAT_CATALOG_SETS_MAX];
    size_t nsets;
} pat_catalog;

/* Resets c to the built-in scopes only. */
void pat_catalog_init(pat_catalog *c);

/* Adds a scope (or replaces a built-in's description). PAT_EINVAL on a bad
 * name, an empty role mask or a full catalog; PAT_EEXISTS if already added. */
int pat_catalog_add_scope(pat_catalog *c, const char *name, const char *description,
                          unsigned roles);

/* Adds a named set of space-separated known scopes. PAT_EINVAL if a scope is
 * unknown; PAT_EEXISTS if the set name is taken. */
int pat_catalog_add_set(pat_catalog *c, const char *name, const char *description,
                        const char *scopes);

/* The scope or set called name, or NULL (borrowed from c). */
const pat_scope_def *pat_catalog_find(const pat_catalog *c, const char *name);
const pat_scope_set_def *pat_catalog_find_set(const pat_catalog *c, const char *name);

/* PAT_OK if name has the shape of a scope name. */
int pat_scope_name_valid(const char *name);

/* Builds the canonical string of n names into out. PAT_EINVAL (field
 * "scopes") if a name is unknown or there are more than the maximum. */
int pat_scopes_canonical(const pat_catalog *c, const char *const *names, size_t n,
                         char out[PAT_SCOPES_STR_MAX]);

/* Builds the canonical string of every scope role may grant into out.
 * PAT_EINVAL if that is more than a token may hold. */
int pat_scopes_grantable(const pat_catalog *c, unsigned role, char out[PAT_SCOPES_STR_MAX]);

/* 1 if the canonical string list holds scope. */
int pat_scopes_has(const char *list, const char *scope);

/* PAT_OK if every scope of list may be granted by role; otherwise
 * PAT_EFORBIDDEN naming the first one that may not. */
int pat_scopes_check_role(const pat_catalog *c, const char *list, unsigned role);

/* PAT_OK if every scope of list is in ceiling; otherwise PAT_EFORBIDDEN
 * naming the first one beyond it. */
int pat_scopes_check_subset(const char *list, const char *ceiling);

#endif
