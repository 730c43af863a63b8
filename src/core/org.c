#include <string.h>

#include "core/org.h"
#include "core/scope.h"
#include "core/text.h"
#include "util/error.h"

const char *pat_org_role_name(int role)
{
    return role == PAT_ORG_OWNER ? "owner" : "member";
}

int pat_org_role_parse(const char *name, int *role)
{
    if (name && strcmp(name, "owner") == 0)
        *role = PAT_ORG_OWNER;
    else if (name && strcmp(name, "member") == 0)
        *role = PAT_ORG_MEMBER;
    else
        return pat_error_set(PAT_EINVAL, "role", "role must be owner or member");
    return PAT_OK;
}

int pat_org_slug_check(const char *slug, const char *field)
{
    size_t n = slug ? strlen(slug) : 0;

    if (n == 0 || n > PAT_ORG_SLUG_MAX || slug[0] == '-')
        goto bad;
    for (size_t i = 0; i < n; i++) {
        char c = slug[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            goto bad;
    }
    return PAT_OK;
bad:
    return pat_error_set(PAT_EINVAL, field,
                         "%s must be 1 to %d lowercase letters, digits or '-', not starting "
                         "with '-'",
                         field, PAT_ORG_SLUG_MAX);
}

int pat_orgs_has(const char *list, const char *slug)
{
    /* The same word-list test as scopes: slugs hold no spaces either. */
    return pat_scopes_has(list, slug);
}

int pat_orgs_add(char *out, size_t outsz, const char *slug)
{
    size_t len = strlen(out), sl = strlen(slug);
    const char *p = out;

    if (pat_orgs_has(out, slug))
        return PAT_OK;
    if (len + sl + (len ? 1 : 0) + 1 > outsz)
        return pat_error_set(PAT_EINVAL, "organizations", "too many organizations");
    /* The first slug that sorts after it: insert before it. */
    while (*p) {
        const char *end = strchr(p, ' ');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        int cmp = strncmp(p, slug, n < sl ? n : sl);
        if (cmp > 0 || (cmp == 0 && n > sl))
            break;
        p = end ? end + 1 : p + n;
    }
    if (!*p) {
        if (len)
            out[len++] = ' ';
        memcpy(out + len, slug, sl + 1);
    } else {
        size_t at = (size_t)(p - out);
        memmove(out + at + sl + 1, out + at, len - at + 1);
        memcpy(out + at, slug, sl);
        out[at + sl] = ' ';
    }
    return PAT_OK;
}

void pat_orgs_remove(char *io, const char *slug)
{
    size_t sl = strlen(slug);
    char *p = io;

    while (*p) {
        char *end = strchr(p, ' ');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == sl && memcmp(p, slug, sl) == 0) {
            /* The word and one space next to it go. */
            if (end)
                memmove(p, end + 1, strlen(end + 1) + 1);
            else if (p > io)
                p[-1] = '\0';
            else
                *p = '\0';
            return;
        }
        if (!end)
            return;
        p = end + 1;
    }
}

void pat_orgs_usable(const char *member_orgs, const char *token_orgs, char *out, size_t outsz)
{
    const char *p = member_orgs;
    size_t len = 0;

    out[0] = '\0';
    if (!token_orgs[0]) {
        pat_text_copy(out, outsz, member_orgs, strlen(member_orgs));
        /* Never end mid-slug: a cut list names whole organizations. */
        if (strlen(member_orgs) >= outsz) {
            char *last = strrchr(out, ' ');
            if (last)
                *last = '\0';
        }
        return;
    }
    while (*p) {
        char slug[PAT_ORG_SLUG_MAX + 1];
        const char *end = strchr(p, ' ');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n <= PAT_ORG_SLUG_MAX) {
            memcpy(slug, p, n);
            slug[n] = '\0';
            if (pat_orgs_has(token_orgs, slug) && len + n + (len ? 1 : 0) < outsz) {
                if (len)
                    out[len++] = ' ';
                memcpy(out + len, slug, n + 1);
                len += n;
            }
        }
        if (!end)
            break;
        p = end + 1;
    }
}

bool pat_orgs_usable_in(const char *member_orgs, const char *token_orgs, const char *slug)
{
    return pat_orgs_has(member_orgs, slug) && (!token_orgs[0] || pat_orgs_has(token_orgs, slug));
}
