/* pat org …: the caller's organizations, and for their owners the
 * members and the token permission there (a superuser: everywhere). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/org.h"

static void org_usage(FILE *to)
{
    fputs("usage: pat org COMMAND [ARGS]\n"
          "\n"
          "  list                      your organizations (a superuser: all of them)\n"
          "  members SLUG              its members, role and token permission (owners)\n"
          "  add SLUG USER [--owner]   make a person a member (owners)\n"
          "  grant SLUG USER           let a member use tokens there (owners)\n"
          "  withdraw SLUG USER        stop a member's tokens there only (owners)\n"
          "\n"
          "USER is a username.\n",
          to);
}

/* A slug goes into a path as it is: anything else is a usage error. */
static int check_slug(const char *slug)
{
    if (pat_org_slug_check(slug, "slug") < 0) {
        fputs("pat: not an organization's slug\n", stderr);
        return PAT_EXIT_USAGE;
    }
    return PAT_EXIT_OK;
}

static int org_list(pat_cli *c)
{
    static const char *const header[] = {"SLUG", "NAME", "ROLE", "TOKENS"};
    json_t *answer = NULL, *orgs, *o;
    const char **cells;
    size_t n, i;
    int rc;

    if ((rc = pat_cli_call(c, "GET", "/api/v1/orgs", NULL, &answer)) != PAT_EXIT_OK)
        return rc;
    if (c->json) {
        pat_cli_print_json(answer);
        json_decref(answer);
        return PAT_EXIT_OK;
    }
    orgs = json_object_get(answer, "orgs");
    n = json_array_size(orgs);
    cells = calloc(n * 4 + 1, sizeof(*cells));
    json_array_foreach(orgs, i, o)
    {
        json_t *can = json_object_get(o, "can_manage_tokens");
        cells[i * 4] = pat_cli_str(o, "slug");
        cells[i * 4 + 1] = pat_cli_str(o, "name");
        cells[i * 4 + 2] = json_is_string(json_object_get(o, "role")) ? pat_cli_str(o, "role")
                                                                       : "-";
        cells[i * 4 + 3] = json_is_boolean(can) ? (json_is_true(can) ? "allowed" : "withdrawn")
                                                : "-";
    }
    pat_cli_table(c, header, 4, cells, n);
    free(cells);
    json_decref(answer);
    return PAT_EXIT_OK;
}

/* The members of slug into *answer (owned), for the table or a lookup. */
static int members_of(pat_cli *c, const char *slug, json_t **answer)
{
    char path[128];

    snprintf(path, sizeof(path), "/api/v1/orgs/%s/members", slug);
    return pat_cli_call(c, "GET", path, NULL, answer);
}

static int org_members(pat_cli *c, const char *slug)
{
    static const char *const header[] = {"ID", "USERNAME", "ROLE", "TOKENS"};
    json_t *answer = NULL, *list, *m;
    const char **cells;
    char(*ids)[24];
    size_t n, i;
    int rc;

    if ((rc = members_of(c, slug, &answer)) != PAT_EXIT_OK)
        return rc;
    if (c->json) {
        pat_cli_print_json(answer);
        json_decref(answer);
        return PAT_EXIT_OK;
    }
    list = json_object_get(answer, "members");
    n = json_array_size(list);
    cells = calloc(n * 4 + 1, sizeof(*cells));
    ids = calloc(n + 1, sizeof(*ids));
    json_array_foreach(list, i, m)
    {
        snprintf(ids[i], sizeof(ids[i]), "%lld",
                 (long long)json_integer_value(json_object_get(m, "user_id")));
        cells[i * 4] = ids[i];
        cells[i * 4 + 1] = pat_cli_str(m, "username");
        cells[i * 4 + 2] = pat_cli_str(m, "role");
        cells[i * 4 + 3] =
            json_is_true(json_object_get(m, "can_manage_tokens")) ? "allowed" : "withdrawn";
    }
    pat_cli_table(c, header, 4, cells, n);
    free(ids);
    free(cells);
    json_decref(answer);
    return PAT_EXIT_OK;
}

/* Prints a membership the server answered with (or its JSON). */
static int print_member(pat_cli *c, const char *slug, json_t *m)
{
    if (c->json)
        pat_cli_print_json(m);
    else
        printf("%s in %s: %s, tokens %s\n", pat_cli_str(m, "username"), slug,
               pat_cli_str(m, "role"),
               json_is_true(json_object_get(m, "can_manage_tokens")) ? "allowed" : "withdrawn");
    json_decref(m);
    return PAT_EXIT_OK;
}

static int org_add(pat_cli *c, const char *slug, const char *user, bool owner)
{
    json_t *body = json_pack("{s:s, s:s}", "username", user, "role", owner ? "owner" : "member");
    json_t *answer = NULL;
    char path[128];
    int rc;

    snprintf(path, sizeof(path), "/api/v1/orgs/%s/members", slug);
    rc = pat_cli_call(c, "POST", path, body, &answer);
    json_decref(body);
    return rc == PAT_EXIT_OK ? print_member(c, slug, answer) : rc;
}

/* grant / withdraw: the member found by username, then their permission. */
static int org_permission(pat_cli *c, const char *slug, const char *user, bool allowed)
{
    json_t *answer = NULL, *m, *body, *changed = NULL;
    long long id = 0;
    char path[160];
    size_t i;
    int rc;

    if ((rc = members_of(c, slug, &answer)) != PAT_EXIT_OK)
        return rc;
    json_array_foreach(json_object_get(answer, "members"), i, m)
    {
        if (strcmp(pat_cli_str(m, "username"), user) == 0)
            id = (long long)json_integer_value(json_object_get(m, "user_id"));
    }
    json_decref(answer);
    if (!id) {
        fprintf(stderr, "pat: %s is not a member of %s\n", user, slug);
        return PAT_EXIT_NOTFOUND;
    }
    snprintf(path, sizeof(path), "/api/v1/orgs/%s/members/%lld", slug, id);
    body = json_pack("{s:b}", "can_manage_tokens", allowed);
    rc = pat_cli_call(c, "PATCH", path, body, &changed);
    json_decref(body);
    return rc == PAT_EXIT_OK ? print_member(c, slug, changed) : rc;
}

int pat_cli_cmd_org(pat_cli *c, int argc, char **argv)
{
    const char *verb = argc > 1 ? argv[1] : "";
    int rc;

    if (strcmp(verb, "--help") == 0 || strcmp(verb, "help") == 0) {
        org_usage(stdout);
        return PAT_EXIT_OK;
    }
    if (strcmp(verb, "list") == 0 && argc == 2)
        return org_list(c);
    if (argc < 3 || (rc = check_slug(argv[2])) != PAT_EXIT_OK) {
        org_usage(stderr);
        return PAT_EXIT_USAGE;
    }
    if (strcmp(verb, "members") == 0 && argc == 3)
        return org_members(c, argv[2]);
    if (strcmp(verb, "add") == 0 && (argc == 4 || (argc == 5 && strcmp(argv[4], "--owner") == 0)))
        return org_add(c, argv[2], argv[3], argc == 5);
    if ((strcmp(verb, "grant") == 0 || strcmp(verb, "withdraw") == 0) && argc == 4)
        return org_permission(c, argv[2], argv[3], strcmp(verb, "grant") == 0);
    org_usage(stderr);
    return PAT_EXIT_USAGE;
}
