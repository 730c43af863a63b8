#ifndef PAT_CLI_CLI_H
#define PAT_CLI_CLI_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Exit statuses of `pat`, documented in docs/pat.1. */
enum {
    PAT_EXIT_OK = 0,
    PAT_EXIT_ERROR = 1,       /* the server refused (400, 409, 413, 415, 429, 5xx) */
    PAT_EXIT_USAGE = 2,       /* bad command line */
    PAT_EXIT_AUTH = 3,        /* not signed in, bad credential, forbidden (401, 403) */
    PAT_EXIT_NOTFOUND = 4,    /* 404 */
    PAT_EXIT_UNREACHABLE = 5, /* no answer from the server */
};

#define PAT_CLI_URL_MAX 512
#define PAT_CLI_TOKEN_MAX 128

/* Where to talk and as whom: flags > PAT_SERVER/PAT_TOKEN > config file. */
typedef struct pat_cli {
    char server[PAT_CLI_URL_MAX];
    char token[PAT_CLI_TOKEN_MAX];
    bool json; /* --json: print the server's objects */
    bool yes;  /* --yes: no confirmation prompts */
    bool tty;  /* stdout is a terminal */
    /* a console session, during login only */
    char cookie[128];
    char csrf[128];
} pat_cli;

/* ---- src/cli/client.c ---- */

/* Loads ~/.config/pat/config, then the environment, then server_flag. */
void pat_cli_load(pat_cli *c, const char *server_flag);

/* Saves server and token to ~/.config/pat/config (mode 0600). */
int pat_cli_save(const pat_cli *c);

/* Removes the saved token. */
int pat_cli_forget(void);

/* Path of the config file into out. */
void pat_cli_config_path(char *out, size_t outsz);

/* One request: method, path (with query), body (NULL = none; not stolen).
 * On an answer sets *status and *out (owned; NULL for an empty body) and
 * returns PAT_EXIT_OK; PAT_EXIT_UNREACHABLE with a message on stderr
 * otherwise. Uses the session cookie when set, else the token. */
int pat_cli_request(pat_cli *c, const char *method, const char *path, json_t *body, long *status,
                    json_t **out);

/* As pat_cli_request, POSTing form (already percent-encoded) as
 * application/x-www-form-urlencoded. */
int pat_cli_post_form(pat_cli *c, const char *path, const char *form, long *status,
                      json_t **out);

/* s percent-encoded for a query string (caller frees). */
char *pat_cli_escape(const char *s);

/* Maps an HTTP error answer to an exit status and prints the server's
 * message to stderr. */
int pat_cli_fail(long status, json_t *answer);

/* request + fail in one: PAT_EXIT_OK with *out on a 2xx answer. */
int pat_cli_call(pat_cli *c, const char *method, const char *path, json_t *body, json_t **out);

/* ---- src/cli/output.c ---- */

/* Prints s with control characters escaped (\n, \x1b...). */
void pat_cli_print_escaped(FILE *to, const char *s);

/* "2 hours ago", "in 29 days", "never" for an RFC 3339 string (or NULL). */
void pat_cli_relative(char *out, size_t outsz, const char *rfc3339, int64_t now);

/* A table: header cells then rows, aligned on a terminal and separated by
 * tabs otherwise. cells are rows*cols strings (borrowed). */
void pat_cli_table(const pat_cli *c, const char *const *header, size_t cols,
                   const char *const *cells, size_t rows);

/* Prints v as indented JSON. */
void pat_cli_print_json(json_t *v);

/* The text of v, or "" when v is not a string: what a server sends is
 * printed and compared, never trusted to be there. */
const char *pat_cli_text(const json_t *v);

/* pat_cli_text of obj's member key. */
const char *pat_cli_str(const json_t *obj, const char *key);

/* Zeroes the string member key of obj in place (a password or token value
 * about to be freed); no-op if obj is NULL or the member is not a string. */
void pat_cli_wipe_member(json_t *obj, const char *key);

/* ---- commands ---- */
int pat_cli_cmd_login(pat_cli *c, int argc, char **argv);
int pat_cli_cmd_logout(pat_cli *c, int argc, char **argv);
int pat_cli_cmd_whoami(pat_cli *c, int argc, char **argv);
int pat_cli_cmd_token(pat_cli *c, int argc, char **argv);
int pat_cli_cmd_scopes(pat_cli *c, int argc, char **argv);

/* pat completion bash|zsh: prints a completion script (cli/completion.c). */
int pat_cli_cmd_completion(pat_cli *c, int argc, char **argv);
int pat_cli_cmd_admin(pat_cli *c, int argc, char **argv);
/* pat org list|members|add|grant|withdraw (src/cli/cmd_org.c). */
int pat_cli_cmd_org(pat_cli *c, int argc, char **argv);

/* pat scan [--prefix P] [--revoke] [PATH...] (src/cli/cmd_scan.c). */
int pat_cli_cmd_scan(pat_cli *c, int argc, char **argv);

#endif
