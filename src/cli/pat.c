/* pat: the command-line client of patd. Global options come before the
 * command: pat [--server URL] [--json] [--yes] COMMAND … */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "cli/cli.h"

static void usage(FILE *to)
{
    fputs("usage: pat [--server URL] [--json] [--yes] COMMAND [ARGS]\n"
          "\n"
          "Personal access tokens from the command line, against a patd server.\n"
          "\n"
          "  login [--with-token]   sign in (password, or a token on stdin); saves a token\n"
          "                         named cli@HOST in ~/.config/pat/config\n"
          "  logout                 delete that token on the server and here\n"
          "  whoami                 who the saved token belongs to\n"
          "  token COMMAND          list, create, show, edit, disable, enable, regenerate,\n"
          "                         copy, delete, self (pat token --help)\n"
          "  scopes                 the scopes and scope sets tokens can get\n"
          "  admin COMMAND          users, policy, audit (superusers; pat admin --help)\n"
          "  org COMMAND            organizations, their members and token permission\n"
          "                         (pat org --help)\n"
          "  completion bash|zsh    a shell completion script: source <(pat completion bash)\n"
          "  scan [--revoke] [PATH] find tokens in files or stdin (offline); --revoke reports\n"
          "                         them so they stop working (pat scan --help)\n"
          "\n"
          "  --server URL  patd's address (default: saved, or $PAT_SERVER, or\n"
          "                http://127.0.0.1:8080)\n"
          "  --json        print the server's JSON objects\n"
          "  --yes         do not ask before deleting\n"
          "\n"
          "$PAT_TOKEN overrides the saved token. Exit status: 0 ok, 1 refused by the\n"
          "server, 2 usage, 3 authentication, 4 not found, 5 server unreachable.\n",
          to);
}

int main(int argc, char **argv)
{
    pat_cli c;
    const char *server = NULL;
    const char *cmd;
    int i = 1, rc;

    memset(&c, 0, sizeof(c));
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--server") == 0 && i + 1 < argc) {
            server = argv[++i];
        } else if (strncmp(argv[i], "--server=", 9) == 0) {
            server = argv[i] + 9;
        } else if (strcmp(argv[i], "--json") == 0) {
            c.json = true;
        } else if (strcmp(argv[i], "--yes") == 0) {
            c.yes = true;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return PAT_EXIT_OK;
        } else {
            usage(stderr);
            return PAT_EXIT_USAGE;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return PAT_EXIT_USAGE;
    }
    cmd = argv[i];
    argc -= i;
    argv += i;
    /* Options after the command too: pat token list --json. */
    for (int k = 1; k < argc; k++) {
        if (strcmp(argv[k], "--json") == 0) {
            c.json = true;
            memmove(&argv[k], &argv[k + 1], (size_t)(argc - k) * sizeof(*argv));
            argc--, k--;
        }
    }
    if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
        fputs("pat: cannot initialise its libraries\n", stderr);
        return PAT_EXIT_ERROR;
    }
    c.tty = isatty(STDOUT_FILENO);
    pat_cli_load(&c, server);
    if (strcmp(cmd, "login") == 0)
        rc = pat_cli_cmd_login(&c, argc, argv);
    else if (strcmp(cmd, "logout") == 0)
        rc = pat_cli_cmd_logout(&c, argc, argv);
    else if (strcmp(cmd, "whoami") == 0)
        rc = pat_cli_cmd_whoami(&c, argc, argv);
    else if (strcmp(cmd, "token") == 0)
        rc = pat_cli_cmd_token(&c, argc, argv);
    else if (strcmp(cmd, "scopes") == 0)
        rc = pat_cli_cmd_scopes(&c, argc, argv);
    else if (strcmp(cmd, "admin") == 0)
        rc = pat_cli_cmd_admin(&c, argc, argv);
    else if (strcmp(cmd, "org") == 0)
        rc = pat_cli_cmd_org(&c, argc, argv);
    else if (strcmp(cmd, "completion") == 0)
        rc = pat_cli_cmd_completion(&c, argc, argv);
    else if (strcmp(cmd, "scan") == 0)
        rc = pat_cli_cmd_scan(&c, argc, argv);
    else {
        usage(stderr);
        rc = PAT_EXIT_USAGE;
    }
    sodium_memzero(&c, sizeof(c));
    curl_global_cleanup();
    return rc;
}
