/* In-process verification speed on one core: N tokens, cache warm, then
 * verifications of all of them in a random order, over and over, each
 * recording its use as a request would.
 *
 * usage: verify_bench [TOKENS] [VERIFICATIONS]   (defaults 1000, 5000000) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "service/service.h"
#include "store/store.h"
#include "util/error.h"
#include "util/mem.h"
#include "util/time.h"

#define BATCH 10000

static double seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    long ntokens = argc > 1 ? atol(argv[1]) : 1000;
    long nverify = argc > 2 ? atol(argv[2]) : 5000000;
    char dir[] = "/tmp/patd-bench-XXXXXX", url[64];
    pat_config *cfg = pat_calloc(1, sizeof(*cfg));
    pat_service_options so;
    pat_store *store = NULL;
    pat_service *svc = NULL;
    pat_user admin;
    pat_token_rec *recs;
    char(*values)[PAT_TOKEN_BUF];
    char(*stream)[PAT_TOKEN_BUF];
    char tmp[PAT_TOKEN_BUF];
    pat_principal who;
    double t0, t1;
    long ok = 0;

    if (sodium_init() < 0 || !mkdtemp(dir))
        return 1;
    snprintf(url, sizeof(url), "sqlite:%s/b.db", dir);
    pat_config_defaults(cfg);
    cfg->auth_fail_limit = 0;
    if (pat_store_open(&store, url) < 0)
        return 1;
    memset(&so, 0, sizeof(so));
    so.store = store;
    so.config = cfg;
    randombytes_buf(so.key, sizeof(so.key));
    memset(&admin, 0, sizeof(admin));
    snprintf(admin.username, sizeof(admin.username), "bench");
    snprintf(admin.password_hash, sizeof(admin.password_hash), "x");
    admin.role = 1;
    admin.can_manage_tokens = true;
    pat_store_user_create(store, &admin);
    /* Records are large (their text fields are sized for the limits), so
     * insert in batches and keep only the values. */
    recs = pat_calloc(BATCH, sizeof(*recs));
    values = pat_calloc((size_t)ntokens, sizeof(*values));
    for (long done = 0; done < ntokens;) {
        size_t n = (size_t)(ntokens - done < BATCH ? ntokens - done : BATCH);
        for (size_t k = 0; k < n; k++) {
            long i = done + (long)k;
            memset(&recs[k], 0, sizeof(recs[k]));
            recs[k].user_id = admin.id;
            snprintf(recs[k].name, sizeof(recs[k].name), "t%ld", i);
            snprintf(recs[k].scopes, sizeof(recs[k].scopes), "tokens");
            pat_token_generate(values[i], "pat_");
            pat_token_hash(recs[k].hash, so.key, values[i], strlen(values[i]));
            pat_token_display(recs[k].prefix, values[i]);
        }
        if (pat_store_token_insert_many(store, recs, n) < 0)
            return 1;
        done += (long)n;
    }
    /* Started on the filled store, as patd after an import: its filter of
     * live values is built from what is there. */
    if (pat_service_new(&svc, &so) < 0)
        return 1;
    /* The tokens in a random order, laid out as they will be presented:
     * a server finds the presented value in its request buffer, already
     * in cache, so the bench must not add a memory miss of its own by
     * reading values[] at random. A cheap generator: the order only needs
     * to defeat caches, not attackers. */
    stream = pat_calloc((size_t)ntokens, sizeof(*stream));
    memcpy(stream, values, (size_t)ntokens * sizeof(*stream));
    {
        uint64_t x = 88172645463325252ULL;
        for (long i = ntokens - 1; i > 0; i--) {
            long j;
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            j = (long)(x % (uint64_t)(i + 1));
            memcpy(tmp, stream[i], sizeof(tmp));
            memcpy(stream[i], stream[j], sizeof(tmp));
            memcpy(stream[j], tmp, sizeof(tmp));
        }
    }
    /* Warm the cache and record each token's first use, flushing as we
     * go, as the HTTP bench's warm-up does: the timed loop then measures
     * verification, not first-use bookkeeping. */
    for (long i = 0; i < ntokens; i++) {
        pat_verify_request vr = {.token = values[i],
                                 .len = strlen(values[i]),
                                 .client_ip = "127.0.0.1",
                                 .method = "GET",
                                 .path = "/warm",
                                 .user_agent = "bench/1"};
        pat_service_verify(svc, &vr, &who);
        if (i % BATCH == BATCH - 1 && pat_service_flush(svc) < 0)
            return 1;
    }
    if (pat_service_flush(svc) < 0)
        return 1;
    t0 = seconds();
    for (long i = 0; i < nverify; i++) {
        const char *v = stream[i % ntokens];
        pat_verify_request vr = {.token = v,
                                 .len = 42,
                                 .client_ip = "127.0.0.1",
                                 .required_scope = "tokens",
                                 .method = "GET",
                                 .path = "/api/x",
                                 .user_agent = "bench/1"};
        ok += pat_service_verify(svc, &vr, &who) == PAT_OK;
    }
    t1 = seconds();
    printf("tokens=%ld verifications=%ld ok=%ld seconds=%.3f per_second=%.0f ns_each=%.1f\n",
           ntokens, nverify, ok, t1 - t0, (double)nverify / (t1 - t0),
           (t1 - t0) * 1e9 / (double)nverify);
    pat_service_free(svc);
    pat_store_close(store);
    free(stream);
    free(values);
    free(recs);
    free(cfg);
    {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        if (system(cmd) != 0)
            return 1;
    }
    return ok == nverify ? 0 : 1;
}
