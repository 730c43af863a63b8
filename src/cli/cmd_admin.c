/* pat admin …: people, policy, audit, signing keys (superusers; the CLI
 * token of a superuser carries the admin scope). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cli/cli.h"
#include "util/time.h"

static void admin_usage(FILE *to)
{
    fputs("usage: pat admin COMMAND [ARGS]\n"
          "\n"
          "  users list\n"
          "  users create USERNAME [--email E] [--role member|superuser]   (password on stdin)\n"
          "  users disable ID | enable ID      account on or off (tokens follow)\n"
          "  users grant ID | withdraw ID      the permission to hold tokens\n"
          "  users revoke-all ID [--yes]       delete every token of a person\n"
          "  policy get\n"
          "  policy set KEY=VALUE...           default_expires_in_days, max_lifetime_days\n"
          "                                    (none to clear), allow_never_expires,\n"
          "                                    require_confirmation, query_tokens_enabled\n"
          "  audit [--user ID] [--action A] [--since TIME] [--limit N]\n"
          "  keys list | rotate                the keys that sign exchanged JWTs\n",
          to);
}

static int parse_id(const char *s, long long *id)
{
    char *end;

    *id = strtoll(s, &end, 10);
    if (!*s || *end || *id <= 0) {
        fputs("pat: not a user id\n", stderr);
        return PAT_EXIT_USAGE;
    }
    return PAT_EXIT_OK;
}

static void print_users(pat_cli *c, json_t *users)
{
    static const char *const header[] = {"ID", "USERNAME", "EMAIL", "ROLE", "ACCOUNT", "TOKENS"};
    size_t n = json_array_size(users), i;
    const char **cells = calloc(n * 6 + 1, sizeof(*cells));
    char(*ids)[24] = calloc(n + 1, sizeof(*ids));
    json_t *u;

    json_array_foreach(users, i, u)
    {
        snprintf(ids[i], sizeof(ids[i]), "%lld",
                 (long long)json_integer_value(json_object_get(u, "id")));
        cells[i * 6] = ids[i];
        cells[i * 6 + 1] = pat_cli_str(u, "username");
        cells[i * 6 + 2] = pat_cli_str(u, "email");
        cells[i * 6 + 3] = pat_cli_str(u, "role");
        cells[i * 6 + 4] = json_is_true(json_object_get(u, "disabled")) ? "disabled" : "enabled";
        cells[i * 6 + 5] =
            json_is_true(json_object_get(u, "can_manage_tokens")) ? "allowed" : "withdrawn";
    }
    pat_cli_table(c, header, 6, cells, n);
    free(ids);
    free(cells);
}

static int print_answer(pat_cli *c, json_t *answer, const char *what)
{
    if (c->json) {
        pat_cli_print_json(answer);
    } else if (json_object_get(answer, "users")) {
        print_users(c, json_object_get(answer, "users"));
    } else if (json_object_get(answer, "username")) {
        json_t *one = json_pack("[O]", answer);
        print_users(c, one);
        json_decref(one);
    } else if (what) {
        printf("%s\n", what);
    }
    json_decref(answer);
    return PAT_EXIT_OK;
}

static int patch_user(pat_cli *c, const char *id_text, json_t *body)
{
    char path[128];
    long long id;
    json_t *answer = NULL;
    int rc;

    if ((rc = parse_id(id_text, &id)) != PAT_EXIT_OK) {
        json_decref(body);
        return rc;
    }
    snprintf(path, sizeof(path), "/api/v1/users/%lld", id);
    rc = pat_cli_call(c, "PATCH", path, body, &answer);
    json_decref(body);
    return rc == PAT_EXIT_OK ? print_answer(c, answer, NULL) : rc;
}

static int users_create(pat_cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"email", required_argument, NULL, 'e'},
                                         {"role", required_argument, NULL, 'r'},
                                         {NULL, 0, NULL, 0}};
    json_t *body = json_object(), *answer = NULL;
    char password[1100];
    int opt, rc = PAT_EXIT_USAGE;
    size_t n;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (opt == 'e')
            json_object_set_new(body, "email", json_string(optarg));
        else if (opt == 'r')
            json_object_set_new(body, "role", json_string(optarg));
        else
            goto out;
    }
    if (optind != argc - 1) {
        admin_usage(stderr);
        goto out;
    }
    json_object_set_new(body, "username", json_string(argv[optind]));
    if (isatty(STDIN_FILENO))
        fputs("Password for the new person (at least 12 characters): ", stderr);
    if (!fgets(password, sizeof(password), stdin)) {
        fputs("pat: a password is needed on standard input\n", stderr);
        goto out;
    }
    n = strlen(password);
    while (n && (password[n - 1] == '\n' || password[n - 1] == '\r'))
        password[--n] = '\0';
    json_object_set_new(body, "password", json_string(password));
    sodium_memzero(password, sizeof(password));
    if ((rc = pat_cli_call(c, "POST", "/api/v1/users", body, &answer)) == PAT_EXIT_OK)
        rc = print_answer(c, answer, NULL);
out:
    pat_cli_wipe_member(body, "password");
    json_decref(body);
    return rc;
}

static int cmd_users(pat_cli *c, int argc, char **argv)
{
    const char *verb = argc > 1 ? argv[1] : "";
    json_t *answer = NULL;
    int rc;

    if (strcmp(verb, "list") == 0) {
        if ((rc = pat_cli_call(c, "GET", "/api/v1/users", NULL, &answer)) != PAT_EXIT_OK)
            return rc;
        return print_answer(c, answer, NULL);
    }
    if (strcmp(verb, "create") == 0)
        return users_create(c, argc - 1, argv + 1);
    if (argc != 3 && !(argc == 4 && strcmp(verb, "revoke-all") == 0)) {
        admin_usage(stderr);
        return PAT_EXIT_USAGE;
    }
    if (strcmp(verb, "disable") == 0)
        return patch_user(c, argv[2], json_pack("{s:b}", "disabled", 1));
    if (strcmp(verb, "enable") == 0)
        return patch_user(c, argv[2], json_pack("{s:b}", "disabled", 0));
    if (strcmp(verb, "grant") == 0)
        return patch_user(c, argv[2], json_pack("{s:b}", "can_manage_tokens", 1));
    if (strcmp(verb, "withdraw") == 0)
        return patch_user(c, argv[2], json_pack("{s:b}", "can_manage_tokens", 0));
    if (strcmp(verb, "revoke-all") == 0) {
        char path[128], line[16];
        long long id;
        int yes = c->yes || (argc == 4 && strcmp(argv[3], "--yes") == 0);
        if ((rc = parse_id(argv[2], &id)) != PAT_EXIT_OK)
            return rc;
        if (!yes && isatty(STDIN_FILENO)) {
            fprintf(stderr, "Delete every token of user %lld for good? [y/N] ", id);
            if (!fgets(line, sizeof(line), stdin) || (line[0] != 'y' && line[0] != 'Y')) {
                fputs("pat: nothing revoked\n", stderr);
                return PAT_EXIT_ERROR;
            }
        }
        snprintf(path, sizeof(path), "/api/v1/users/%lld/tokens/revoke-all", id);
        if ((rc = pat_cli_call(c, "POST", path, NULL, &answer)) != PAT_EXIT_OK)
            return rc;
        if (c->json)
            pat_cli_print_json(answer);
        else
            printf("revoked %lld tokens\n",
                   (long long)json_integer_value(json_object_get(answer, "revoked")));
        json_decref(answer);
        return PAT_EXIT_OK;
    }
    admin_usage(stderr);
    return PAT_EXIT_USAGE;
}

static void print_policy(pat_cli *c, json_t *p)
{
    const char *key;
    json_t *v;

    if (c->json) {
        pat_cli_print_json(p);
        return;
    }
    json_object_foreach(p, key, v)
    {
        if (json_is_null(v))
            printf("%s=none\n", key);
        else if (json_is_boolean(v))
            printf("%s=%s\n", key, json_is_true(v) ? "true" : "false");
        else
            printf("%s=%lld\n", key, (long long)json_integer_value(v));
    }
}

static int cmd_policy(pat_cli *c, int argc, char **argv)
{
    const char *verb = argc > 1 ? argv[1] : "";
    json_t *answer = NULL, *body;
    int rc;

    if (strcmp(verb, "get") == 0) {
        if ((rc = pat_cli_call(c, "GET", "/api/v1/policy", NULL, &answer)) == PAT_EXIT_OK)
            print_policy(c, answer);
        json_decref(answer);
        return rc;
    }
    if (strcmp(verb, "set") != 0 || argc < 3) {
        admin_usage(stderr);
        return PAT_EXIT_USAGE;
    }
    body = json_object();
    for (int i = 2; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        char key[64];
        const char *v;
        if (!eq || eq == argv[i] || (size_t)(eq - argv[i]) >= sizeof(key)) {
            fprintf(stderr, "pat: expected KEY=VALUE, not %s\n", argv[i]);
            json_decref(body);
            return PAT_EXIT_USAGE;
        }
        memcpy(key, argv[i], (size_t)(eq - argv[i]));
        key[eq - argv[i]] = '\0';
        v = eq + 1;
        if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0)
            json_object_set_new(body, key, json_boolean(strcmp(v, "true") == 0));
        else if (strcmp(v, "none") == 0 || strcmp(v, "null") == 0)
            json_object_set_new(body, key, json_null());
        else if (*v && strspn(v, "0123456789") == strlen(v))
            json_object_set_new(body, key, json_integer(strtoll(v, NULL, 10))); /* the server checks the range */
        else
            json_object_set_new(body, key, json_string(v));
    }
    rc = pat_cli_call(c, "PUT", "/api/v1/policy", body, &answer);
    json_decref(body);
    if (rc == PAT_EXIT_OK)
        print_policy(c, answer);
    json_decref(answer);
    return rc;
}

static int cmd_audit(pat_cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"user", required_argument, NULL, 'u'},
                                         {"action", required_argument, NULL, 'a'},
                                         {"since", required_argument, NULL, 's'},
                                         {"limit", required_argument, NULL, 'l'},
                                         {NULL, 0, NULL, 0}};
    static const char *const header[] = {"TIME", "ACTOR", "ACTION", "TARGET", "IP", "DETAIL"};
    const char *args[4] = {"user", "action", "since", "limit"};
    const char *vals[4] = {NULL, NULL, NULL, NULL};
    char path[1024] = "/api/v1/audit?";
    json_t *answer = NULL, *e, *events;
    size_t len = strlen(path), i, n;
    const char **cells;
    char(*actor)[32];
    int opt, rc;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'u':
            vals[0] = optarg;
            break;
        case 'a':
            vals[1] = optarg;
            break;
        case 's':
            vals[2] = optarg;
            break;
        case 'l':
            vals[3] = optarg;
            break;
        default:
            admin_usage(stderr);
            return PAT_EXIT_USAGE;
        }
    }
    for (int k = 0; k < 4; k++) {
        if (vals[k]) {
            char *esc = pat_cli_escape(vals[k]);
            len += (size_t)snprintf(path + len, sizeof(path) - len, "%s=%s&", args[k], esc);
            free(esc);
        }
    }
    if ((rc = pat_cli_call(c, "GET", path, NULL, &answer)) != PAT_EXIT_OK)
        return rc;
    if (c->json) {
        pat_cli_print_json(answer);
        json_decref(answer);
        return PAT_EXIT_OK;
    }
    events = json_object_get(answer, "events");
    n = json_array_size(events);
    cells = calloc(n * 6 + 1, sizeof(*cells));
    actor = calloc(n + 1, sizeof(*actor));
    json_array_foreach(events, i, e)
    {
        json_t *uid = json_object_get(e, "actor_user_id"),
               *tid = json_object_get(e, "actor_token_id");
        if (json_is_integer(tid))
            snprintf(actor[i], sizeof(actor[i]), "user %lld via token %lld",
                     (long long)json_integer_value(uid), (long long)json_integer_value(tid));
        else if (json_is_integer(uid))
            snprintf(actor[i], sizeof(actor[i]), "user %lld", (long long)json_integer_value(uid));
        else
            snprintf(actor[i], sizeof(actor[i]), "-");
        cells[i * 6] = pat_cli_str(e, "at");
        cells[i * 6 + 1] = actor[i];
        cells[i * 6 + 2] = pat_cli_str(e, "action");
        cells[i * 6 + 3] = pat_cli_str(e, "target");
        cells[i * 6 + 4] = pat_cli_str(e, "ip");
        cells[i * 6 + 5] = pat_cli_str(e, "detail");
    }
    pat_cli_table(c, header, 6, cells, n);
    free(actor);
    free(cells);
    json_decref(answer);
    return PAT_EXIT_OK;
}

/* The keys as the server lists them: kid, algorithm, state, when each
 * signs from and leaves the JWKS. */
static void print_keys(pat_cli *c, json_t *answer)
{
    static const char *header[] = {"KID", "ALG", "STATE", "SIGNS FROM", "LEAVES JWKS"};
    json_t *keys = json_object_get(answer, "keys"), *k;
    size_t n = json_array_size(keys), i;
    const char **cells = calloc(n ? n * 5 : 1, sizeof(*cells));

    if (!cells)
        return;
    json_array_foreach(keys, i, k) {
        const char *retires = pat_cli_str(k, "retires_at");
        cells[i * 5] = pat_cli_str(k, "kid");
        cells[i * 5 + 1] = pat_cli_str(k, "alg");
        cells[i * 5 + 2] = pat_cli_str(k, "state");
        cells[i * 5 + 3] = pat_cli_str(k, "signs_from");
        cells[i * 5 + 4] = *retires ? retires : "-";
    }
    pat_cli_table(c, header, 5, cells, n);
    free(cells);
}

static int cmd_keys(pat_cli *c, int argc, char **argv)
{
    const char *verb = argc > 1 ? argv[1] : "";
    json_t *answer = NULL;
    int rc;

    if (argc != 2 || (strcmp(verb, "list") != 0 && strcmp(verb, "rotate") != 0)) {
        admin_usage(stderr);
        return PAT_EXIT_USAGE;
    }
    rc = strcmp(verb, "list") == 0 ? pat_cli_call(c, "GET", "/api/v1/keys", NULL, &answer)
                                   : pat_cli_call(c, "POST", "/api/v1/keys/rotate", NULL, &answer);
    if (rc == PAT_EXIT_OK) {
        if (c->json)
            pat_cli_print_json(answer);
        else
            print_keys(c, answer);
    }
    json_decref(answer);
    return rc;
}

int pat_cli_cmd_admin(pat_cli *c, int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "";

    if (strcmp(what, "users") == 0)
        return cmd_users(c, argc - 1, argv + 1);
    if (strcmp(what, "policy") == 0)
        return cmd_policy(c, argc - 1, argv + 1);
    if (strcmp(what, "audit") == 0)
        return cmd_audit(c, argc - 1, argv + 1);
    if (strcmp(what, "keys") == 0)
        return cmd_keys(c, argc - 1, argv + 1);
    if (strcmp(what, "--help") == 0 || strcmp(what, "-h") == 0 || strcmp(what, "help") == 0) {
        admin_usage(stdout);
        return PAT_EXIT_OK;
    }
    admin_usage(stderr);
    return PAT_EXIT_USAGE;
}
