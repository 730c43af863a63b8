/* pat completion bash|zsh: a shell script completing pat's commands and
 * options, printed for `source <(pat completion bash)`. The words are
 * fixed (no server is asked), so completion never waits on the network. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const char BASH[] =
    "# bash completion for pat: source <(pat completion bash)\n"
    "_pat() {\n"
    "    local cur=\"${COMP_WORDS[COMP_CWORD]}\" w1=\"${COMP_WORDS[1]}\" words\n"
    "    case \"$COMP_CWORD:$w1\" in\n"
    "    1:*) words=\"login logout whoami token scopes admin org completion scan --server --json --yes "
    "--help\" ;;\n"
    "    2:token) words=\"list create show edit disable enable regenerate copy delete self exchange\" ;;\n"
    "    2:admin) words=\"users policy audit keys\" ;;\n"
    "    2:org) words=\"list members add grant withdraw\" ;;\n"
    "    2:completion) words=\"bash zsh\" ;;\n"
    "    2:login) words=\"--with-token\" ;;\n"
    "    *:scan) words=\"--revoke --prefix --help\" ;;\n"
    "    *:token) words=\"--name --description --expires --scope --scope-set --cidr --grace "
    "--status --search --wide --yes --json 7d 30d 60d 90d never\" ;;\n"
    "    *) words=\"--json --yes\" ;;\n"
    "    esac\n"
    "    COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
    "}\n"
    "complete -F _pat pat\n";

static const char ZSH[] =
    "#compdef pat\n"
    "# zsh completion for pat: source <(pat completion zsh)\n"
    "_pat() {\n"
    "    case $CURRENT in\n"
    "    2) compadd login logout whoami token scopes admin org completion scan ;;\n"
    "    3) case $words[2] in\n"
    "       token) compadd list create show edit disable enable regenerate copy delete self exchange ;;\n"
    "       admin) compadd users policy audit keys ;;\n"
    "       org) compadd list members add grant withdraw ;;\n"
    "       completion) compadd bash zsh ;;\n"
    "       login) compadd -- --with-token ;;\n"
    "       scan) compadd -- --revoke --prefix ;;\n"
    "       esac ;;\n"
    "    *) [[ $words[2] == token ]] && compadd -- --name --description --expires --scope "
    "--scope-set --cidr --grace --status --search --wide --yes --json ;;\n"
    "    esac\n"
    "}\n"
    "compdef _pat pat 2>/dev/null || true\n";

int pat_cli_cmd_completion(pat_cli *c, int argc, char **argv)
{
    (void)c;
    if (argc == 2 && strcmp(argv[1], "bash") == 0) {
        fputs(BASH, stdout);
        return PAT_EXIT_OK;
    }
    if (argc == 2 && strcmp(argv[1], "zsh") == 0) {
        fputs(ZSH, stdout);
        return PAT_EXIT_OK;
    }
    fputs("usage: pat completion bash|zsh\n", stderr);
    return PAT_EXIT_USAGE;
}
