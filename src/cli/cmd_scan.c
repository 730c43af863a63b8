/* pat scan: finds patd tokens in files (or stdin) offline, by prefix and
 * checksum, and reports them with --revoke. Prints where and the token's
 * first characters, never a whole value. A pre-commit hook in one line:
 *   git diff --cached | pat scan --revoke */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "cli/cli.h"
#include "core/token.h"
#include "util/mem.h"

#define REPORT_BATCH 1000 /* the most one leak report may hold (API.md) */

/* What a scan found: the values (wiped at the end) for --revoke. */
typedef struct found {
    char (*values)[PAT_TOKEN_BUF];
    size_t n, cap;
    bool unreadable;
} found;

static void add(found *f, const char *value, size_t len)
{
    for (size_t i = 0; i < f->n; i++)
        if (strlen(f->values[i]) == len && memcmp(f->values[i], value, len) == 0)
            return;
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 16;
        char (*grown)[PAT_TOKEN_BUF] = pat_calloc(cap, sizeof(*grown));
        if (f->n)
            memcpy(grown, f->values, f->n * sizeof(*grown));
        sodium_memzero(f->values, f->cap * sizeof(*f->values));
        free(f->values);
        f->values = grown;
        f->cap = cap;
    }
    memcpy(f->values[f->n], value, len);
    f->values[f->n][len] = '\0';
    f->n++;
}

/* Every token in one stream, reported as name:line. */
static void scan_stream(FILE *in, const char *name, const char *prefix, found *f)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    long lineno = 0;
    size_t tlen = strlen(prefix) + PAT_TOKEN_RANDOM_LEN + PAT_TOKEN_CHECKSUM_LEN;

    while ((got = getline(&line, &cap, in)) >= 0) {
        size_t off = 0, at;
        lineno++;
        while (pat_token_find(line + off, (size_t)got - off, prefix, &at)) {
            char shown[PAT_TOKEN_DISPLAY_LEN + 1];
            pat_token_display(shown, line + off + at);
            printf("%s:%ld: %s... (a patd token)\n", name, lineno, shown);
            add(f, line + off + at, tlen);
            off += at + tlen;
        }
    }
    if (line) {
        sodium_memzero(line, cap);
        free(line);
    }
}

static void scan_path(const char *path, const char *prefix, found *f)
{
    struct stat st;

    if (strcmp(path, "-") == 0) {
        scan_stream(stdin, "(stdin)", prefix, f);
        return;
    }
    if (lstat(path, &st) != 0) {
        fprintf(stderr, "pat scan: %s: %s\n", path, strerror(errno));
        f->unreadable = true;
        return;
    }
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        if (!d) {
            fprintf(stderr, "pat scan: %s: %s\n", path, strerror(errno));
            f->unreadable = true;
            return;
        }
        while ((e = readdir(d))) {
            char child[4096];
            /* A repository's object store is compressed: nothing to read. */
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
                strcmp(e->d_name, ".git") == 0)
                continue;
            if ((size_t)snprintf(child, sizeof(child), "%s/%s", path, e->d_name) <
                sizeof(child))
                scan_path(child, prefix, f);
        }
        closedir(d);
    } else if (S_ISREG(st.st_mode)) {
        FILE *in = fopen(path, "r");
        if (!in) {
            fprintf(stderr, "pat scan: %s: %s\n", path, strerror(errno));
            f->unreadable = true;
            return;
        }
        scan_stream(in, path, prefix, f);
        fclose(in);
    }
}

/* Reports f's values to the server as a stranger would (no token: the
 * saved one rarely holds leak-report), in batches the API takes. */
static int report(pat_cli *c, const found *f)
{
    int rc = PAT_EXIT_OK;

    sodium_memzero(c->token, sizeof(c->token));
    c->cookie[0] = '\0';
    for (size_t done = 0; done < f->n && rc == PAT_EXIT_OK; done += REPORT_BATCH) {
        json_t *body = json_object(), *list = json_array(), *answer = NULL;
        long status = 0;
        for (size_t i = done; i < f->n && i < done + REPORT_BATCH; i++)
            json_array_append_new(list, json_string(f->values[i]));
        json_object_set_new(body, "credentials", list);
        json_object_set_new(body, "source", json_string("pat scan"));
        rc = pat_cli_request(c, "POST", "/api/v1/credentials/revoke", body, &status, &answer);
        json_decref(body); /* jansson keeps copies of the strings: gone with it */
        if (rc == PAT_EXIT_OK && status != 202)
            rc = pat_cli_fail(status, answer);
        json_decref(answer);
    }
    if (rc == PAT_EXIT_OK)
        fprintf(stderr, "pat scan: reported %zu token%s to %s; live ones no longer work\n", f->n,
                f->n == 1 ? "" : "s", c->server);
    return rc;
}

int pat_cli_cmd_scan(pat_cli *c, int argc, char **argv)
{
    const char *prefix = getenv("PAT_PREFIX");
    bool revoke = false;
    found f = {NULL, 0, 0, false};
    int paths = 0, rc;

    if (!prefix || !*prefix)
        prefix = "pat_";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--revoke") == 0) {
            revoke = true;
        } else if (strcmp(argv[i], "--prefix") == 0 && i + 1 < argc) {
            prefix = argv[++i];
        } else if (strcmp(argv[i], "--help") == 0) {
            fputs("usage: pat scan [--prefix PREFIX] [--revoke] [PATH...]\n"
                  "Finds patd tokens (by prefix and checksum, offline) in files, directories\n"
                  "(recursively, .git skipped) or stdin (no PATH, or -). Prints FILE:LINE and\n"
                  "the token's first characters. Exit status 1 when any is found, 0 when none.\n"
                  "--revoke reports them to the server (POST /api/v1/credentials/revoke):\n"
                  "each live one stops working and its owner is emailed.\n"
                  "Prefix: --prefix, else $PAT_PREFIX, else pat_.\n",
                  stdout);
            return PAT_EXIT_OK;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "pat scan: unknown option %s\n", argv[i]);
            return PAT_EXIT_USAGE;
        } else {
            paths++;
        }
    }
    if (pat_token_prefix_valid(prefix) < 0) {
        fprintf(stderr, "pat scan: %s is not a token prefix\n", prefix);
        return PAT_EXIT_USAGE;
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--prefix") == 0)
            i++;
        else if (argv[i][0] != '-' || !argv[i][1])
            scan_path(argv[i], prefix, &f);
    }
    if (paths == 0)
        scan_path("-", prefix, &f);
    rc = f.n ? PAT_EXIT_ERROR : f.unreadable ? PAT_EXIT_USAGE : PAT_EXIT_OK;
    if (f.n && revoke) {
        int sent = report(c, &f);
        if (sent != PAT_EXIT_OK)
            rc = sent;
    }
    if (f.values) {
        sodium_memzero(f.values, f.cap * sizeof(*f.values));
        free(f.values);
    }
    return rc;
}
