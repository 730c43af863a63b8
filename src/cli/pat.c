/* pat: the command-line client. This is the stub of the foundation; the
 * full client is its own issue. */
#include <stdio.h>
#include <string.h>

static void usage(FILE *to)
{
    fputs("usage: pat COMMAND [ARGS]\n"
          "\n"
          "The patd command-line client. Commands (login, token, scopes, admin) are\n"
          "not implemented yet; use the HTTP API (docs/api.md) meanwhile.\n",
          to);
}

int main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    usage(stderr);
    return 2;
}
