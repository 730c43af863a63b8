/* pat token …: the own-token commands. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cli/cli.h"
#include "util/time.h"

#define SCOPES_MAX 100

static void token_usage(FILE *to)
{
    fputs("usage: pat token COMMAND [ARGS]\n"
          "\n"
          "  list [--status active|disabled|expired] [--search TEXT] [--wide]\n"
          "  create --name N [--description D] [--expires 7d|30d|60d|90d|YYYY-MM-DD|never]\n"
          "         [--scope S]... [--scope-set NAME] [--cidr NET]...\n"
          "  show ID\n"
          "  edit ID [--name N] [--description D] [--expires …] [--scope S]...\n"
          "  disable ID          enable ID\n"
          "  regenerate ID [--grace 10m] [--retire-when-unused 1h]\n"
          "                      keep the old value (until then / until unused that long)\n"
          "  retire-previous ID  the old value stops now\n"
          "  copy ID --name N [--description D] [--expires …] [--scope S]... [--cidr NET]...\n"
          "  delete ID... [--yes]\n"
          "  self                the token pat itself uses\n"
          "  exchange [--scope S]... [--audience A] [--resource URI]\n"
          "                      a short-lived JWT for the token pat uses (RFC 8693)\n"
          "\n"
          "create, regenerate and copy print the new value alone on standard output;\n"
          "exchange prints the JWT alone (--json: the whole answer).\n",
          to);
}

/* Reads a positive id; PAT_EXIT_USAGE otherwise. */
static int parse_id(const char *s, long long *id)
{
    char *end;

    *id = strtoll(s, &end, 10);
    if (!*s || *end || *id <= 0) {
        fprintf(stderr, "pat: not a token id: ");
        pat_cli_print_escaped(stderr, s);
        fputc('\n', stderr);
        return PAT_EXIT_USAGE;
    }
    return PAT_EXIT_OK;
}

/* Sets the expiry fields of body from --expires. */
static int parse_expires(const char *v, json_t *body, int is_edit)
{
    if (strcmp(v, "never") == 0) {
        if (is_edit)
            json_object_set_new(body, "expires_at", json_null());
        else
            json_object_set_new(body, "never_expires", json_true());
        return PAT_EXIT_OK;
    }
    {
        /* "Nd": the server decides which durations are allowed (the
         * presets) and counts from its own clock, on create and edit alike. */
        char *end;
        long long days = v[0] >= '0' && v[0] <= '9' ? strtoll(v, &end, 10) : -1;
        if (days >= 0 && strcmp(end, "d") == 0) {
            json_object_set_new(body, "expires_in_days", json_integer(days));
            return PAT_EXIT_OK;
        }
    }
    {
        int64_t t;
        if (pat_time_parse(v, &t) == 0) {
            json_object_set_new(body, "expires_at", json_string(v));
            return PAT_EXIT_OK;
        }
    }
    fputs("pat: --expires takes 7d, 30d, 60d, 90d, a date (YYYY-MM-DD) or never\n", stderr);
    return PAT_EXIT_USAGE;
}

/* "10m", "30s", "2h" or seconds. */
static int parse_duration(const char *v, long long *out)
{
    char *end;
    long long n = strtoll(v, &end, 10);

    if (end == v || n < 0)
        goto bad;
    if (*end == '\0' || strcmp(end, "s") == 0)
        *out = n;
    else if (strcmp(end, "m") == 0)
        *out = n * 60;
    else if (strcmp(end, "h") == 0)
        *out = n * 3600;
    else
        goto bad;
    return PAT_EXIT_OK;
bad:
    fputs("pat: a duration is like 30s, 10m or 1h\n", stderr);
    return PAT_EXIT_USAGE;
}

/* Scopes of a token object as "a b c" into out. */
static void scopes_text(json_t *t, char *out, size_t outsz)
{
    size_t i, len = 0;
    json_t *s;

    out[0] = '\0';
    json_array_foreach(json_object_get(t, "scopes"), i, s)
    {
        len += (size_t)snprintf(out + len, outsz > len ? outsz - len : 0, "%s%s", i ? " " : "",
                                pat_cli_text(s));
    }
}

/* The token table; wide adds the description, the creation time and the
 * last client's user agent. */
static void print_token_list(pat_cli *c, json_t *tokens, int wide)
{
    static const char *const header[] = {"ID",        "NAME",        "PREFIX",  "SCOPES",
                                         "STATUS",    "EXPIRES",     "LAST USED", "DESCRIPTION",
                                         "CREATED",   "USER AGENT"};
    const size_t cols = wide ? 10 : 7;
    size_t n = json_array_size(tokens), i;
    const char **cells = calloc(n * cols + 1, sizeof(*cells));
    char(*buf)[5][256] = calloc(n + 1, sizeof(*buf));
    int64_t now = pat_time_now();
    json_t *t;

    json_array_foreach(tokens, i, t)
    {
        json_t *last = json_object_get(t, "last_used");
        snprintf(buf[i][0], 256, "%lld", (long long)json_integer_value(json_object_get(t, "id")));
        scopes_text(t, buf[i][1], 256);
        if (c->tty)
            pat_cli_relative(buf[i][2], 256, pat_cli_str(t, "expires_at"), now);
        else
            snprintf(buf[i][2], 256, "%s",
                     json_is_null(json_object_get(t, "expires_at")) ? "never"
                                                                    : pat_cli_str(t, "expires_at"));
        if (json_is_object(last)) {
            char when[64];
            if (c->tty)
                pat_cli_relative(when, sizeof(when), pat_cli_str(last, "at"), now);
            else
                snprintf(when, sizeof(when), "%s", pat_cli_str(last, "at"));
            snprintf(buf[i][3], 256, "%s %s %s from %s", when, pat_cli_str(last, "method"),
                     pat_cli_str(last, "path"), pat_cli_str(last, "ip"));
        } else {
            snprintf(buf[i][3], 256, "never used");
        }
        cells[i * cols + 0] = buf[i][0];
        cells[i * cols + 1] = pat_cli_str(t, "name");
        cells[i * cols + 2] = pat_cli_str(t, "prefix");
        cells[i * cols + 3] = buf[i][1];
        cells[i * cols + 4] = pat_cli_str(t, "status");
        cells[i * cols + 5] = buf[i][2];
        cells[i * cols + 6] = buf[i][3];
        if (wide) {
            if (c->tty)
                pat_cli_relative(buf[i][4], 256, pat_cli_str(t, "created_at"), now);
            else
                snprintf(buf[i][4], 256, "%s", pat_cli_str(t, "created_at"));
            cells[i * cols + 7] = pat_cli_str(t, "description");
            cells[i * cols + 8] = buf[i][4];
            cells[i * cols + 9] =
                json_is_object(last) ? pat_cli_str(last, "user_agent") : "";
        }
    }
    pat_cli_table(c, header, cols, cells, n);
    free(buf);
    free(cells);
}

/* One use of a rotation ("10.0.0.5 curl/8.5, 3 minutes ago"), or none. */
static void print_use(const char *label, json_t *use, int64_t now)
{
    char when[64];

    if (!json_is_object(use)) {
        printf("  %s none yet\n", label);
        return;
    }
    pat_cli_relative(when, sizeof(when), pat_cli_str(use, "at"), now);
    printf("  %s %s ", label, pat_cli_str(use, "ip"));
    pat_cli_print_escaped(stdout, pat_cli_str(use, "user_agent"));
    printf(", %s (%s %s)\n", when, pat_cli_str(use, "method"), pat_cli_str(use, "path"));
}

/* A rotation in progress: which clients have not moved to the new value. */
static void print_rotation(json_t *t, int64_t now)
{
    json_t *rot = json_object_get(t, "rotation"), *unused;
    char when[64];

    if (!json_is_object(rot))
        return;
    pat_cli_relative(when, sizeof(when), pat_cli_str(rot, "previous_valid_until"), now);
    printf("rotation:    the old value works until %s (%s)", pat_cli_str(rot, "previous_valid_until"),
           when);
    unused = json_object_get(rot, "retire_when_unused_seconds");
    if (json_is_integer(unused))
        printf(", or once unused for %llds", (long long)json_integer_value(unused));
    printf("\n  old value used %lld times\n",
           (long long)json_integer_value(json_object_get(rot, "previous_use_count")));
    print_use("old value last used by", json_object_get(rot, "previous_last_used"), now);
    print_use("new value first used by", json_object_get(rot, "current_first_used"), now);
}

static void print_token(pat_cli *c, json_t *t)
{
    char scopes[4096], when[64];
    json_t *last = json_object_get(t, "last_used");
    int64_t now = pat_time_now();

    if (c->json) {
        pat_cli_print_json(t);
        return;
    }
    scopes_text(t, scopes, sizeof(scopes));
    printf("id:          %lld\nname:        ",
           (long long)json_integer_value(json_object_get(t, "id")));
    pat_cli_print_escaped(stdout, pat_cli_str(t, "name"));
    printf("\ndescription: ");
    pat_cli_print_escaped(stdout, pat_cli_str(t, "description"));
    printf("\nprefix:      %s\nscopes:      %s\nstatus:      %s\n", pat_cli_str(t, "prefix"),
           scopes, pat_cli_str(t, "status"));
    pat_cli_relative(when, sizeof(when), pat_cli_str(t, "created_at"), now);
    printf("created:     %s (%s)\n", pat_cli_str(t, "created_at"), when);
    if (json_is_null(json_object_get(t, "expires_at"))) {
        printf("expires:     never\n");
    } else {
        pat_cli_relative(when, sizeof(when), pat_cli_str(t, "expires_at"), now);
        printf("expires:     %s (%s)\n", pat_cli_str(t, "expires_at"), when);
    }
    if (json_is_object(last)) {
        pat_cli_relative(when, sizeof(when), pat_cli_str(last, "at"), now);
        printf("last used:   %s (%s) %s %s from %s\n", pat_cli_str(last, "at"), when,
               pat_cli_str(last, "method"), pat_cli_str(last, "path"), pat_cli_str(last, "ip"));
    } else {
        printf("last used:   never\n");
    }
    print_rotation(t, now);
}

/* Prints a new value: alone on stdout (for TOKEN=$(pat …)), warning on stderr. */
static void print_value(pat_cli *c, json_t *t)
{
    if (c->json)
        pat_cli_print_json(t);
    else
        printf("%s\n", pat_cli_str(t, "token"));
    fprintf(stderr, "pat: this token value is shown once; store it now.\n");
}

/* Options shared by create and edit, into body. */
static int token_options(int argc, char **argv, json_t *body, int is_edit)
{
    static const struct option opts[] = {{"name", required_argument, NULL, 'n'},
                                         {"description", required_argument, NULL, 'd'},
                                         {"expires", required_argument, NULL, 'e'},
                                         {"scope", required_argument, NULL, 's'},
                                         {"scope-set", required_argument, NULL, 'S'},
                                         {"cidr", required_argument, NULL, 'c'},
                                         {NULL, 0, NULL, 0}};
    json_t *scopes = NULL, *cidrs = NULL;
    int opt, rc = PAT_EXIT_OK;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'n':
            json_object_set_new(body, "name", json_string(optarg));
            break;
        case 'd':
            json_object_set_new(body, "description", json_string(optarg));
            break;
        case 'e':
            if ((rc = parse_expires(optarg, body, is_edit)) != PAT_EXIT_OK)
                goto out;
            break;
        case 's':
            if (!scopes)
                scopes = json_array();
            json_array_append_new(scopes, json_string(optarg));
            break;
        case 'S':
            json_object_set_new(body, "scope_set", json_string(optarg));
            break;
        case 'c':
            if (!cidrs)
                cidrs = json_array();
            json_array_append_new(cidrs, json_string(optarg));
            break;
        default:
            rc = PAT_EXIT_USAGE;
            goto out;
        }
    }
    /* A name or description that is not valid UTF-8 becomes null in
     * jansson; refuse rather than send nothing. */
    if ((json_object_get(body, "name") && json_is_null(json_object_get(body, "name"))) ||
        (json_object_get(body, "description") &&
         json_is_null(json_object_get(body, "description")))) {
        fputs("pat: --name and --description must be UTF-8 text\n", stderr);
        rc = PAT_EXIT_USAGE;
        goto out;
    }
    if (scopes)
        json_object_set(body, "scopes", scopes);
    if (cidrs)
        json_object_set(body, "allowed_cidrs", cidrs);
out:
    json_decref(scopes);
    json_decref(cidrs);
    return rc;
}

static int cmd_list(pat_cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"status", required_argument, NULL, 's'},
                                         {"search", required_argument, NULL, 'q'},
                                         {"wide", no_argument, NULL, 'w'},
                                         {NULL, 0, NULL, 0}};
    char path[512] = "/api/v1/tokens";
    char *status = NULL, *q = NULL;
    json_t *answer = NULL;
    int opt, rc, wide = 0;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (opt == 's')
            status = optarg;
        else if (opt == 'q')
            q = optarg;
        else if (opt == 'w')
            wide = 1;
        else
            return PAT_EXIT_USAGE;
    }
    if (status || q) {
        char *es = status ? pat_cli_escape(status) : NULL;
        char *eq = q ? pat_cli_escape(q) : NULL;
        snprintf(path, sizeof(path), "/api/v1/tokens?status=%s&q=%s", es ? es : "", eq ? eq : "");
        free(es);
        free(eq);
    }
    if ((rc = pat_cli_call(c, "GET", path, NULL, &answer)) != PAT_EXIT_OK)
        return rc;
    if (c->json)
        pat_cli_print_json(json_object_get(answer, "tokens"));
    else
        print_token_list(c, json_object_get(answer, "tokens"), wide);
    json_decref(answer);
    return PAT_EXIT_OK;
}

static int cmd_create(pat_cli *c, int argc, char **argv)
{
    json_t *body = json_object(), *answer = NULL;
    int rc;

    if ((rc = token_options(argc, argv, body, 0)) != PAT_EXIT_OK)
        goto out;
    if (!json_object_get(body, "name")) {
        fputs("pat: token create needs --name\n", stderr);
        rc = PAT_EXIT_USAGE;
        goto out;
    }
    if (!json_object_get(body, "scopes") && !json_object_get(body, "scope_set"))
        json_object_set_new(body, "scopes", json_pack("[s]", "tokens"));
    if ((rc = pat_cli_call(c, "POST", "/api/v1/tokens", body, &answer)) == PAT_EXIT_OK)
        print_value(c, answer);
out:
    json_decref(answer);
    json_decref(body);
    return rc;
}

/* Commands of the form `pat token VERB ID` with an optional body. */
static int cmd_id(pat_cli *c, int argc, char **argv, const char *method, const char *suffix,
                  int prints_value)
{
    char path[128];
    long long id;
    json_t *answer = NULL;
    int rc;

    if (argc != 2) {
        token_usage(stderr);
        return PAT_EXIT_USAGE;
    }
    if ((rc = parse_id(argv[1], &id)) != PAT_EXIT_OK)
        return rc;
    snprintf(path, sizeof(path), "/api/v1/tokens/%lld%s", id, suffix);
    if ((rc = pat_cli_call(c, method, path, NULL, &answer)) != PAT_EXIT_OK)
        return rc;
    if (prints_value)
        print_value(c, answer);
    else
        print_token(c, answer);
    json_decref(answer);
    return PAT_EXIT_OK;
}

/* edit (PATCH /tokens/ID) and copy (POST /tokens/ID/copy, --name needed):
 * the create options, one id, and a token or a new value to print. */
static int edit_or_copy(pat_cli *c, int argc, char **argv, int is_copy)
{
    json_t *body = json_object(), *answer = NULL;
    char path[128];
    long long id;
    int rc;

    if ((rc = token_options(argc, argv, body, !is_copy)) != PAT_EXIT_OK)
        goto out;
    if (optind != argc - 1 || (is_copy && !json_object_get(body, "name"))) {
        token_usage(stderr);
        rc = PAT_EXIT_USAGE;
        goto out;
    }
    if ((rc = parse_id(argv[optind], &id)) != PAT_EXIT_OK)
        goto out;
    snprintf(path, sizeof(path), "/api/v1/tokens/%lld%s", id, is_copy ? "/copy" : "");
    if ((rc = pat_cli_call(c, is_copy ? "POST" : "PATCH", path, body, &answer)) == PAT_EXIT_OK) {
        if (is_copy)
            print_value(c, answer);
        else
            print_token(c, answer);
    }
out:
    json_decref(answer);
    json_decref(body);
    return rc;
}

static int cmd_regenerate(pat_cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"grace", required_argument, NULL, 'g'},
                                         {"retire-when-unused", required_argument, NULL, 'u'},
                                         {NULL, 0, NULL, 0}};
    json_t *body = json_object(), *answer = NULL;
    long long id, seconds = 0;
    char path[128];
    int opt, rc = PAT_EXIT_OK;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if ((opt != 'g' && opt != 'u') || (rc = parse_duration(optarg, &seconds)) != PAT_EXIT_OK) {
            rc = PAT_EXIT_USAGE;
            goto out;
        }
        json_object_set_new(body, opt == 'g' ? "grace_seconds" : "retire_when_unused_seconds",
                            json_integer(seconds));
    }
    if (optind != argc - 1 || (rc = parse_id(argv[optind], &id)) != PAT_EXIT_OK) {
        rc = PAT_EXIT_USAGE;
        goto out;
    }
    snprintf(path, sizeof(path), "/api/v1/tokens/%lld/regenerate", id);
    if ((rc = pat_cli_call(c, "POST", path, body, &answer)) == PAT_EXIT_OK)
        print_value(c, answer);
out:
    json_decref(answer);
    json_decref(body);
    return rc;
}

static int confirm(const char *question)
{
    char line[16];

    fprintf(stderr, "%s [y/N] ", question);
    if (!fgets(line, sizeof(line), stdin))
        return 0;
    return line[0] == 'y' || line[0] == 'Y';
}

static int cmd_delete(pat_cli *c, int argc, char **argv)
{
    json_t *ids = json_array(), *answer = NULL;
    char path[128];
    long long id;
    int rc = PAT_EXIT_OK;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--yes") == 0 || strcmp(argv[i], "-y") == 0) {
            c->yes = true;
            continue;
        }
        if ((rc = parse_id(argv[i], &id)) != PAT_EXIT_OK)
            goto out;
        json_array_append_new(ids, json_integer(id));
    }
    if (json_array_size(ids) == 0) {
        fputs("usage: pat token delete ID... [--yes]\n", stderr);
        rc = PAT_EXIT_USAGE;
        goto out;
    }
    /* Deleting is for good: without a terminal to ask on (a script, a
     * pipe), only --yes says the caller means it. */
    if (!c->yes && !isatty(STDIN_FILENO)) {
        fputs("pat: deleting is permanent; with no terminal to ask on, pass --yes\n", stderr);
        rc = PAT_EXIT_USAGE;
        goto out;
    }
    if (!c->yes && !confirm("Delete for good? Anything using these tokens gets 401 at once.")) {
        fputs("pat: nothing deleted\n", stderr);
        rc = PAT_EXIT_ERROR;
        goto out;
    }
    if (json_array_size(ids) == 1) {
        snprintf(path, sizeof(path), "/api/v1/tokens/%lld",
                 (long long)json_integer_value(json_array_get(ids, 0)));
        if ((rc = pat_cli_call(c, "DELETE", path, NULL, NULL)) == PAT_EXIT_OK && !c->json)
            printf("deleted %lld\n", (long long)json_integer_value(json_array_get(ids, 0)));
    } else {
        json_t *body = json_pack("{s:O}", "ids", ids);
        rc = pat_cli_call(c, "POST", "/api/v1/tokens/bulk-delete", body, &answer);
        json_decref(body);
        if (rc == PAT_EXIT_OK) {
            size_t i;
            json_t *v;
            if (c->json)
                pat_cli_print_json(answer);
            else
                json_array_foreach(json_object_get(answer, "deleted"), i, v)
                    printf("deleted %lld\n", (long long)json_integer_value(v));
            if (json_array_size(json_object_get(answer, "deleted")) != json_array_size(ids)) {
                fputs("pat: some ids were not yours or did not exist\n", stderr);
                rc = PAT_EXIT_NOTFOUND;
            }
        }
    }
out:
    json_decref(answer);
    json_decref(ids);
    return rc;
}

static int cmd_self(pat_cli *c)
{
    json_t *answer = NULL;
    int rc;

    if ((rc = pat_cli_call(c, "GET", "/api/v1/tokens/self", NULL, &answer)) == PAT_EXIT_OK)
        print_token(c, answer);
    json_decref(answer);
    return rc;
}

/* Appends "&name=value" (value percent-encoded) to form. */
static int form_add(char *form, size_t formsz, const char *name, const char *value)
{
    char *v = pat_cli_escape(value);
    size_t len = strlen(form);
    int n;

    if (!v)
        return PAT_EXIT_ERROR;
    n = snprintf(form + len, formsz - len, "%s%s=%s", len ? "&" : "", name, v);
    sodium_memzero(v, strlen(v));
    free(v);
    if (n < 0 || (size_t)n >= formsz - len) {
        fputs("pat: the request is too long\n", stderr);
        return PAT_EXIT_USAGE;
    }
    return PAT_EXIT_OK;
}

/* pat token exchange: the token pat uses, exchanged for a JWT. */
static int cmd_exchange(pat_cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"scope", required_argument, NULL, 's'},
                                         {"audience", required_argument, NULL, 'a'},
                                         {"resource", required_argument, NULL, 'r'},
                                         {NULL, 0, NULL, 0}};
    char form[16384] = "", scopes[4096] = "";
    const char *audience = NULL, *resource = NULL;
    json_t *answer = NULL;
    long status = 0;
    int opt, rc;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        size_t len = strlen(scopes);
        if (opt == 's' && len + strlen(optarg) + 2 < sizeof(scopes))
            snprintf(scopes + len, sizeof(scopes) - len, "%s%s", len ? " " : "", optarg);
        else if (opt == 'a')
            audience = optarg;
        else if (opt == 'r')
            resource = optarg;
        else {
            token_usage(stderr);
            return PAT_EXIT_USAGE;
        }
    }
    if (!c->token[0]) {
        fputs("pat: no token to exchange: run pat login, or set PAT_TOKEN\n", stderr);
        return PAT_EXIT_AUTH;
    }
    if ((rc = form_add(form, sizeof(form), "grant_type",
                       "urn:ietf:params:oauth:grant-type:token-exchange")) ||
        (rc = form_add(form, sizeof(form), "subject_token_type",
                       "urn:ietf:params:oauth:token-type:access_token")) ||
        (rc = form_add(form, sizeof(form), "subject_token", c->token)) ||
        (scopes[0] && (rc = form_add(form, sizeof(form), "scope", scopes))) ||
        (audience && (rc = form_add(form, sizeof(form), "audience", audience))) ||
        (resource && (rc = form_add(form, sizeof(form), "resource", resource))))
        goto out;
    if ((rc = pat_cli_post_form(c, "/oauth/token", form, &status, &answer)) != PAT_EXIT_OK)
        goto out;
    if (status >= 300) {
        rc = pat_cli_fail(status, answer);
        goto out;
    }
    if (c->json)
        pat_cli_print_json(answer);
    else
        printf("%s\n", json_string_value(json_object_get(answer, "access_token")));
out:
    sodium_memzero(form, sizeof(form));
    if (answer)
        pat_cli_wipe_member(answer, "access_token");
    json_decref(answer);
    return rc;
}

int pat_cli_cmd_token(pat_cli *c, int argc, char **argv)
{
    const char *verb = argc > 1 ? argv[1] : "";

    argc--, argv++;
    if (strcmp(verb, "list") == 0)
        return cmd_list(c, argc, argv);
    if (strcmp(verb, "create") == 0)
        return cmd_create(c, argc, argv);
    if (strcmp(verb, "show") == 0)
        return cmd_id(c, argc, argv, "GET", "", 0);
    if (strcmp(verb, "edit") == 0)
        return edit_or_copy(c, argc, argv, 0);
    if (strcmp(verb, "disable") == 0)
        return cmd_id(c, argc, argv, "POST", "/disable", 0);
    if (strcmp(verb, "enable") == 0)
        return cmd_id(c, argc, argv, "POST", "/enable", 0);
    if (strcmp(verb, "regenerate") == 0)
        return cmd_regenerate(c, argc, argv);
    if (strcmp(verb, "retire-previous") == 0)
        return cmd_id(c, argc, argv, "POST", "/retire-previous", 0);
    if (strcmp(verb, "copy") == 0)
        return edit_or_copy(c, argc, argv, 1);
    if (strcmp(verb, "delete") == 0)
        return cmd_delete(c, argc, argv);
    if (strcmp(verb, "self") == 0)
        return cmd_self(c);
    if (strcmp(verb, "exchange") == 0)
        return cmd_exchange(c, argc, argv);
    if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0 || strcmp(verb, "help") == 0) {
        token_usage(stdout);
        return PAT_EXIT_OK;
    }
    token_usage(stderr);
    return PAT_EXIT_USAGE;
}
