/* pat login, logout, whoami, scopes. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "cli/cli.h"
#include "core/token.h"

/* Reads one line from stdin into out without its newline; no echo when
 * hidden and stdin is a terminal. */
static int read_line(const char *prompt, char *out, size_t outsz, int hidden)
{
    struct termios old, quiet;
    int tty = isatty(STDIN_FILENO);
    int restored = 0;
    size_t n;

    if (tty)
        fprintf(stderr, "%s", prompt);
    if (tty && hidden && tcgetattr(STDIN_FILENO, &old) == 0) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
        restored = 1;
    }
    if (!fgets(out, (int)outsz, stdin))
        out[0] = '\0';
    if (restored) {
        tcsetattr(STDIN_FILENO, TCSANOW, &old);
        fputc('\n', stderr);
    }
    n = strlen(out);
    while (n && (out[n - 1] == '\n' || out[n - 1] == '\r'))
        out[--n] = '\0';
    return n ? PAT_EXIT_OK : PAT_EXIT_USAGE;
}

/* Signs in with a password; on success c holds the session cookie and
 * CSRF token and *user the person. */
static int open_session(pat_cli *c, const char *username, const char *password, json_t **user)
{
    json_t *body = json_pack("{s:s, s:s}", "username", username, "password", password);
    json_t *answer = NULL;
    int rc;

    if (!body) {
        fputs("pat: username and password must be UTF-8 text\n", stderr);
        return PAT_EXIT_USAGE;
    }
    rc = pat_cli_call(c, "POST", "/api/v1/session", body, &answer);
    pat_cli_wipe_member(body, "password");
    json_decref(body);
    if (rc != PAT_EXIT_OK)
        return rc;
    if (!c->cookie[0]) {
        fputs("pat: the server did not open a session\n", stderr);
        json_decref(answer);
        return PAT_EXIT_ERROR;
    }
    snprintf(c->csrf, sizeof(c->csrf), "%s", pat_cli_str(answer, "csrf_token"));
    *user = json_incref(json_object_get(answer, "user"));
    json_decref(answer);
    return PAT_EXIT_OK;
}

/* The CLI's token cli@HOST: created, or rotated if this host signed in
 * before, by the server in one step (it decides scopes and lifetime). */
static int issue_token(pat_cli *c, const char *name, char *out, size_t outsz)
{
    json_t *body = json_pack("{s:s}", "name", name);
    json_t *answer = NULL;
    int rc;

    if ((rc = pat_cli_call(c, "POST", "/api/v1/session/cli-token", body, &answer)) !=
        PAT_EXIT_OK)
        goto out;
    {
        const char *value = pat_cli_str(answer, "token");
        size_t n = strlen(value);
        /* Saved and later sent as a header: only a token's shape will do. */
        if (n >= outsz || pat_token_check_shape(value, n) < 0) {
            fputs("pat: the server sent no usable token\n", stderr);
            rc = PAT_EXIT_ERROR;
            goto out;
        }
        memcpy(out, value, n + 1);
    }
out:
    pat_cli_wipe_member(answer, "token");
    json_decref(answer);
    json_decref(body);
    return rc;
}

static int login_with_token(pat_cli *c)
{
    json_t *answer = NULL;
    int rc;

    if (read_line("Token: ", c->token, sizeof(c->token), 1) != PAT_EXIT_OK) {
        fputs("pat: no token on standard input\n", stderr);
        return PAT_EXIT_USAGE;
    }
    /* Checked here too: what is saved is sent as a header later. */
    if (pat_token_check_shape(c->token, strlen(c->token)) < 0) {
        sodium_memzero(c->token, sizeof(c->token));
        fputs("pat: that is not a personal access token\n", stderr);
        return PAT_EXIT_AUTH;
    }
    if ((rc = pat_cli_call(c, "GET", "/api/v1/tokens/self", NULL, &answer)) != PAT_EXIT_OK)
        return rc;
    json_decref(answer);
    if ((rc = pat_cli_save(c)) == PAT_EXIT_OK)
        fprintf(stderr, "pat: signed in to %s with the given token\n", c->server);
    return rc;
}

int pat_cli_cmd_login(pat_cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"with-token", no_argument, NULL, 't'},
                                         {NULL, 0, NULL, 0}};
    char username[256], password[1100], host[128], name[200], path[1024];
    json_t *user = NULL;
    int opt, with_token = 0, rc;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (opt != 't')
            return PAT_EXIT_USAGE;
        with_token = 1;
    }
    c->token[0] = '\0';
    if (with_token)
        return login_with_token(c);
    if (read_line("Username: ", username, sizeof(username), 0) != PAT_EXIT_OK ||
        read_line("Password: ", password, sizeof(password), 1) != PAT_EXIT_OK) {
        fputs("pat: a username and a password are needed\n", stderr);
        return PAT_EXIT_USAGE;
    }
    rc = open_session(c, username, password, &user);
    sodium_memzero(password, sizeof(password));
    if (rc != PAT_EXIT_OK)
        return rc;
    if (gethostname(host, sizeof(host)) != 0)
        snprintf(host, sizeof(host), "unknown");
    host[sizeof(host) - 1] = '\0';
    snprintf(name, sizeof(name), "cli@%s", host);
    rc = issue_token(c, name, c->token, sizeof(c->token));
    /* The console session was only the way to the token. */
    pat_cli_call(c, "DELETE", "/api/v1/session", NULL, NULL);
    c->cookie[0] = c->csrf[0] = '\0';
    if (rc == PAT_EXIT_OK && (rc = pat_cli_save(c)) == PAT_EXIT_OK) {
        pat_cli_config_path(path, sizeof(path));
        fprintf(stderr, "pat: signed in to %s as %s; token %s saved in %s\n", c->server,
                pat_cli_str(user, "username"), name, path);
    }
    json_decref(user);
    return rc;
}

int pat_cli_cmd_logout(pat_cli *c, int argc, char **argv)
{
    json_t *self = NULL;
    char path[128];
    int rc;

    (void)argc, (void)argv;
    if (!c->token[0]) {
        fputs("pat: not signed in\n", stderr);
        return PAT_EXIT_AUTH;
    }
    rc = pat_cli_call(c, "GET", "/api/v1/tokens/self", NULL, &self);
    if (rc == PAT_EXIT_OK) {
        snprintf(path, sizeof(path), "/api/v1/tokens/%lld",
                 (long long)json_integer_value(json_object_get(self, "id")));
        rc = pat_cli_call(c, "DELETE", path, NULL, NULL);
    }
    json_decref(self);
    /* A token the server no longer knows is forgotten all the same. */
    if (rc == PAT_EXIT_OK || rc == PAT_EXIT_AUTH)
        rc = pat_cli_forget() == PAT_EXIT_OK ? rc : PAT_EXIT_ERROR;
    if (rc == PAT_EXIT_OK)
        fputs("pat: signed out; the token was deleted on the server\n", stderr);
    return rc;
}

int pat_cli_cmd_whoami(pat_cli *c, int argc, char **argv)
{
    json_t *answer = NULL, *user;
    int rc;

    (void)argc, (void)argv;
    if ((rc = pat_cli_call(c, "GET", "/api/v1/session", NULL, &answer)) != PAT_EXIT_OK)
        return rc;
    user = json_object_get(answer, "user");
    if (c->json) {
        pat_cli_print_json(answer);
    } else {
        pat_cli_print_escaped(stdout, pat_cli_str(user, "username"));
        printf(" (%s) on %s\n", pat_cli_str(user, "role"), c->server);
    }
    json_decref(answer);
    return PAT_EXIT_OK;
}

int pat_cli_cmd_scopes(pat_cli *c, int argc, char **argv)
{
    static const char *const header[] = {"SCOPE", "ROLES", "DESCRIPTION"};
    json_t *answer = NULL, *scopes, *s;
    const char **cells;
    char(*roles)[64];
    size_t i, n;
    int rc;

    (void)argc, (void)argv;
    if ((rc = pat_cli_call(c, "GET", "/api/v1/scopes", NULL, &answer)) != PAT_EXIT_OK)
        return rc;
    if (c->json) {
        pat_cli_print_json(answer);
        json_decref(answer);
        return PAT_EXIT_OK;
    }
    scopes = json_object_get(answer, "scopes");
    n = json_array_size(scopes);
    cells = calloc(n * 3 + 1, sizeof(*cells));
    roles = calloc(n + 1, sizeof(*roles));
    json_array_foreach(scopes, i, s)
    {
        size_t k, len = 0;
        json_t *r;
        json_array_foreach(json_object_get(s, "roles"), k, r) len += (size_t)snprintf(
            roles[i] + len, sizeof(roles[i]) - len, "%s%s", k ? "," : "", pat_cli_text(r));
        cells[i * 3] = pat_cli_str(s, "name");
        cells[i * 3 + 1] = roles[i];
        cells[i * 3 + 2] = pat_cli_str(s, "description");
    }
    pat_cli_table(c, header, 3, cells, n);
    json_array_foreach(json_object_get(answer, "sets"), i, s)
    {
        size_t k;
        json_t *v;
        printf("%sset ", i == 0 ? "\n" : "");
        pat_cli_print_escaped(stdout, pat_cli_str(s, "name"));
        printf(":");
        json_array_foreach(json_object_get(s, "scopes"), k, v) printf(" %s", pat_cli_text(v));
        printf("\n");
    }
    free(roles);
    free(cells);
    json_decref(answer);
    return PAT_EXIT_OK;
}
