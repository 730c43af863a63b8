/* Seeds a patd data dir with N tokens of the superuser, in batches, and
 * writes their values (one per line) to a file for the load generator.
 * With --unknown, writes N well-formed values that do not exist instead.
 *
 * usage: seed DATA_DIR N OUT_FILE [--unknown | --db URL]
 * The data dir must have been started once by patd (key, database, admin);
 * --db names its store when it is not DATA_DIR/patd.db (PostgreSQL). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/token.h"
#include "store/store.h"
#include "util/error.h"
#include "util/mem.h"
#include "util/time.h"

#define BATCH 10000

static int read_key(const char *dir, uint8_t key[PAT_KEY_LEN])
{
    char path[4096];
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "%s/server.key", dir);
    if (!(f = fopen(path, "rb")))
        return -1;
    n = fread(key, 1, PAT_KEY_LEN, f);
    fclose(f);
    return n == PAT_KEY_LEN ? 0 : -1;
}

int main(int argc, char **argv)
{
    uint8_t key[PAT_KEY_LEN];
    char url[4200], value[PAT_TOKEN_BUF];
    pat_store *store = NULL;
    pat_token_rec *batch;
    long total;
    FILE *out;
    int unknown;
    int64_t now = pat_time_now();

    if (argc < 4 || sodium_init() < 0) {
        fprintf(stderr, "usage: seed DATA_DIR N OUT_FILE [--unknown | --db URL]\n");
        return 2;
    }
    total = atol(argv[2]);
    unknown = argc > 4 && strcmp(argv[4], "--unknown") == 0;
    if (!(out = fopen(argv[3], "w"))) {
        perror(argv[3]);
        return 1;
    }
    if (unknown) {
        for (long i = 0; i < total; i++) {
            pat_token_generate(value, "pat_");
            fprintf(out, "%s\n", value);
        }
        fclose(out);
        return 0;
    }
    if (argc > 5 && strcmp(argv[4], "--db") == 0)
        snprintf(url, sizeof(url), "%s", argv[5]);
    else
        snprintf(url, sizeof(url), "sqlite:%s/patd.db", argv[1]);
    if (read_key(argv[1], key) < 0 || pat_store_open(&store, url) < 0) {
        fprintf(stderr, "seed: cannot open %s: %s\n", argv[1], pat_error_last()->message);
        return 1;
    }
    batch = pat_calloc(BATCH, sizeof(*batch));
    for (long done = 0; done < total;) {
        size_t n = (size_t)(total - done < BATCH ? total - done : BATCH);
        for (size_t i = 0; i < n; i++) {
            pat_token_rec *t = &batch[i];
            memset(t, 0, sizeof(*t));
            t->user_id = 1;
            snprintf(t->name, sizeof(t->name), "bench-%ld", done + (long)i);
            strcpy(t->scopes, "tokens");
            t->created_at = t->updated_at = now;
            pat_token_generate(value, "pat_");
            pat_token_hash(t->hash, key, value, strlen(value));
            pat_token_display(t->prefix, value);
            fprintf(out, "%s\n", value);
        }
        if (pat_store_token_insert_many(store, batch, n) < 0) {
            fprintf(stderr, "seed: insert failed: %s\n", pat_error_last()->message);
            return 1;
        }
        done += (long)n;
    }
    free(batch);
    fclose(out);
    pat_store_close(store);
    sodium_memzero(key, sizeof(key));
    return 0;
}
