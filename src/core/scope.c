#include "core/scope.h"

#include <stdio.h>
#include <string.h>

#include "core/text.h"
#include "util/error.h"

void pat_catalog_init(pat_catalog *c)
{
    memset(c, 0, sizeof(*c));
    pat_catalog_add_scope(c, PAT_SCOPE_TOKENS, "Manage your own personal access tokens",
                          PAT_ROLES_ALL);
    pat_catalog_add_scope(c, PAT_SCOPE_INTROSPECT, "Ask patd whether a token is valid",
                          PAT_ROLES_ALL);
    pat_catalog_add_scope(c, PAT_SCOPE_ADMIN, "Administer people, policy and audit",
                          PAT_ROLE_SUPERUSER);
    pat_catalog_add_scope(c, PAT_SCOPE_ORGS,
                          "Administer the organizations you own: members, permission, policy",
                          PAT_ROLES_ALL);
    pat_catalog_add_scope(c, PAT_SCOPE_LEAK_REPORT,
                          "Report leaked credentials (a secret scanner), limited loosely",
                          PAT_ROLES_ALL);
}

int pat_scope_name_valid(const char *name)
{
    size_t n = strlen(name);

    if (n < 1 || n > PAT_SCOPE_NAME_MAX)
        return pat_error_set(PAT_EINVAL, "scopes", "scope names are 1 to %d characters",
                             PAT_SCOPE_NAME_MAX);
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == ':' || ch == '.' || ch == '_' || ch == '-'))
            return pat_error_set(PAT_EINVAL, "scopes",
                                 "scope names hold only letters, digits and ':._-'");
    }
    return PAT_OK;
}

const pat_scope_def *pat_catalog_find(const pat_catalog *c, const char *name)
{
    for (size_t i = 0; i < c->nscopes; i++) {
        if (strcmp(c->scopes[i].name, name) == 0)
            return &c->scopes[i];
    }
    return NULL;
}

const pat_scope_set_def *pat_catalog_find_set(const pat_catalog *c, const char *name)
{
    for (size_t i = 0; i < c->nsets; i++) {
        if (strcmp(c->sets[i].name, name) == 0)
            return &c->sets[i];
    }
    return NULL;
}

int pat_catalog_add_scope(pat_catalog *c, const char *name, const char *description,
                          unsigned roles)
{
    pat_scope_def *d;
    int rc;

    if ((rc = pat_scope_name_valid(name)) < 0)
        return rc;
    if ((rc = pat_text_check(description, "description", 0, PAT_SCOPE_DESC_MAX / 4, 0)) < 0)
        return rc;
    if (strlen(description) >= PAT_SCOPE_DESC_MAX)
        return pat_error_set(PAT_EINVAL, "description", "scope description is too long");
    if ((roles & PAT_ROLES_ALL) == 0)
        return pat_error_set(PAT_EINVAL, "roles", "scope %s must name at least one role", name);
    if (pat_catalog_find(c, name))
        return pat_error_set(PAT_EEXISTS, "scopes", "scope %s is defined twice", name);
    if (c->nscopes == PAT_CATALOG_SCOPES_MAX)
        return pat_error_set(PAT_EINVAL, "scopes", "more than %d scopes",
                             PAT_CATALOG_SCOPES_MAX);
    d = &c->scopes[c->nscopes++];
    snprintf(d->name, sizeof(d->name), "%s", name);
    snprintf(d->description, sizeof(d->description), "%s", description);
    d->roles = roles;
    return PAT_OK;
}

/* Splits a space-separated list into at most max pointers into buf (modified). */
static size_t split(char *buf, const char **out, size_t max)
{
    size_t n = 0;
    char *save = NULL;

    for (char *tok = strtok_r(buf, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
        if (n == max)
            return max + 1;
        out[n++] = tok;
    }
    return n;
}

int pat_catalog_add_set(pat_catalog *c, const char *name, const char *description,
                        const char *scopes)
{
    char copy[PAT_SCOPES_STR_MAX];
    const char *names[PAT_SCOPES_PER_TOKEN_MAX + 1];
    pat_scope_set_def *s;
    size_t n;
    int rc;

    /* Set names are shown to people ("Extended Access"), so spaces are fine. */
    if ((rc = pat_text_check(name, "scope_set", 1, PAT_SCOPE_NAME_MAX, 0)) < 0)
        return rc;
    if (strlen(name) > PAT_SCOPE_NAME_MAX)
        return pat_error_set(PAT_EINVAL, "scope_set", "set name is too long");
    if (strlen(description) >= PAT_SCOPE_DESC_MAX)
        return pat_error_set(PAT_EINVAL, "description", "set description is too long");
    if (pat_catalog_find_set(c, name))
        return pat_error_set(PAT_EEXISTS, "scope_set", "scope set %s is defined twice", name);
    if (c->nsets == PAT_CATALOG_SETS_MAX)
        return pat_error_set(PAT_EINVAL, "scope_set", "more than %d scope sets",
                             PAT_CATALOG_SETS_MAX);
    if (strlen(scopes) >= sizeof(copy))
        return pat_error_set(PAT_EINVAL, "scopes", "scope set %s is too long", name);
    snprintf(copy, sizeof(copy), "%s", scopes);
    n = split(copy, names, PAT_SCOPES_PER_TOKEN_MAX);
    s = &c->sets[c->nsets];
    if ((rc = pat_scopes_canonical(c, names, n, s->scopes)) < 0)
        return rc;
    if (s->scopes[0] == '\0')
        return pat_error_set(PAT_EINVAL, "scopes", "scope set %s is empty", name);
    snprintf(s->name, sizeof(s->name), "%s", name);
    snprintf(s->description, sizeof(s->description), "%s", description);
    c->nsets++;
    return PAT_OK;
}

int pat_scopes_canonical(const pat_catalog *c, const char *const *names, size_t n,
                         char out[PAT_SCOPES_STR_MAX])
{
    size_t len = 0;

    if (n > PAT_SCOPES_PER_TOKEN_MAX)
        return pat_error_set(PAT_EINVAL, "scopes", "a token holds at most %d scopes",
                             PAT_SCOPES_PER_TOKEN_MAX);
    for (size_t i = 0; i < n; i++) {
        if (!pat_catalog_find(c, names[i])) {
            if (pat_scope_name_valid(names[i]) < 0)
                return pat_error_set(PAT_EINVAL, "scopes", "a scope name is malformed");
            return pat_error_set(PAT_EINVAL, "scopes", "unknown scope: %s", names[i]);
        }
    }
    /* Walking the catalog, not the input, gives one order and no duplicates. */
    out[0] = '\0';
    for (size_t k = 0; k < c->nscopes; k++) {
        const char *name = c->scopes[k].name;
        for (size_t i = 0; i < n; i++) {
            if (strcmp(names[i], name) == 0) {
                size_t l = strlen(name);
                if (len)
                    out[len++] = ' ';
                memcpy(out + len, name, l + 1);
                len += l;
                break;
            }
        }
    }
    return PAT_OK;
}

int pat_scopes_has(const char *list, const char *scope)
{
    size_t l = strlen(scope);
    const char *p = list;

    while (*p) {
        const char *end = strchr(p, ' ');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == l && memcmp(p, scope, l) == 0)
            return 1;
        if (!end)
            break;
        p = end + 1;
    }
    return 0;
}

/* Calls fn for each scope of list with a NUL-terminated copy; stops on error. */
static int each_scope(const char *list, int (*fn)(const char *scope, const void *arg),
                      const void *arg)
{
    char name[PAT_SCOPE_NAME_MAX + 1];
    const char *p = list;
    int rc;

    while (*p) {
        const char *end = strchr(p, ' ');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n > PAT_SCOPE_NAME_MAX)
            return pat_error_set(PAT_EINVAL, "scopes", "a scope name is malformed");
        memcpy(name, p, n);
        name[n] = '\0';
        if ((rc = fn(name, arg)) < 0)
            return rc;
        if (!end)
            break;
        p = end + 1;
    }
    return PAT_OK;
}

struct role_arg {
    const pat_catalog *catalog;
    unsigned role;
};

static int check_role(const char *scope, const void *arg)
{
    const struct role_arg *ra = arg;
    const pat_scope_def *d = pat_catalog_find(ra->catalog, scope);

    if (!d || !(d->roles & ra->role))
        return pat_error_set(PAT_EFORBIDDEN, "scopes", "your role may not grant the scope %s",
                             scope);
    return PAT_OK;
}

int pat_scopes_check_role(const pat_catalog *c, const char *list, unsigned role)
{
    struct role_arg ra = {c, role};

    return each_scope(list, check_role, &ra);
}

static int check_in(const char *scope, const void *arg)
{
    if (!pat_scopes_has(arg, scope))
        return pat_error_set(PAT_EFORBIDDEN, "scopes",
                             "the calling token does not hold the scope %s, so cannot grant it",
                             scope);
    return PAT_OK;
}

int pat_scopes_check_subset(const char *list, const char *ceiling)
{
    return each_scope(list, check_in, ceiling);
}

int pat_scopes_grantable(const pat_catalog *c, unsigned role, char out[PAT_SCOPES_STR_MAX])
{
    const char *names[PAT_CATALOG_SCOPES_MAX];
    size_t n = 0;

    for (size_t k = 0; k < c->nscopes; k++)
        if (c->scopes[k].roles & role)
            names[n++] = c->scopes[k].name;
    return pat_scopes_canonical(c, names, n, out);
}
