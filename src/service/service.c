#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "service/service_int.h"
#include "util/error.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/metrics.h"
#include "util/time.h"

#define FLUSH_CHUNK 512
/* Cache entries a flush looks at for quiet uses: a million are looked at
 * over 8 flushes (80 s at the default period), a few ms of a core each. */
#define QUIET_SWEEP_ENTRIES 131072

static void count_uses(void *arg, int64_t token_id, int64_t uses);

static void *flusher_main(void *arg);

/* Loads the policy's hot-path flag from the store. */
static void refresh_policy(pat_service *svc)
{
    pat_policy p;

    if (pat_service_policy_get(svc, &p) == PAT_OK)
        atomic_store(&svc->query_tokens_enabled, p.query_tokens_enabled);
}

int pat_service_new(pat_service **out, const pat_service_options *opts)
{
    const pat_config *cfg = opts->config;
    pat_service *svc;
    int rc;

    if ((rc = pat_token_prefix_valid(cfg->token_prefix)) < 0)
        return rc;
    svc = pat_calloc(1, sizeof(*svc));
    svc->store = opts->store;
    svc->config = cfg;
    svc->catalog = &cfg->catalog;
    memcpy(svc->key, opts->key, PAT_KEY_LEN);
    pat_token_lookup_subkey(svc->lookup_subkey, svc->key);
    strcpy(svc->token_prefix, cfg->token_prefix);
    svc->clock = opts->clock ? opts->clock : pat_time_now;
    svc->cache = pat_cache_new((size_t)cfg->cache_max_entries);
    svc->lastuse = pat_lastuse_new((size_t)cfg->last_use_buffer);
    svc->auth_failures = pat_ratelimit_new(cfg->auth_fail_limit, cfg->auth_fail_window_seconds);
    svc->signin_by_address = pat_ratelimit_new(PAT_SIGNIN_ADDRESS_LIMIT, 300);
    svc->signin_by_account = pat_ratelimit_new(PAT_SIGNIN_ACCOUNT_LIMIT, 60);
    pthread_mutex_init(&svc->flush_lock, NULL);
    pthread_cond_init(&svc->flush_wake, NULL);
    refresh_policy(svc);
    if (opts->background) {
        if (pthread_create(&svc->flusher, NULL, flusher_main, svc) != 0) {
            rc = pat_error_set(PAT_EIO, NULL, "cannot start the last-use flusher");
            goto fail;
        }
        svc->background = true;
    }
    *out = svc;
    return PAT_OK;
fail:
    pat_service_free(svc);
    return rc;
}

static int write_pending(pat_service *svc);

static void count_uses(void *arg, int64_t token_id, int64_t uses)
{
    pat_service *svc = arg;

    /* A full table is written out and the count tried again: counts are
     * never dropped. */
    if (pat_lastuse_record(svc->lastuse, token_id, uses, 0, NULL, NULL, NULL, NULL) ==
        PAT_LASTUSE_FULL) {
        write_pending(svc);
        pat_lastuse_record(svc->lastuse, token_id, uses, 0, NULL, NULL, NULL, NULL);
    }
}

/* Collects (token id, uses) pairs for count_quiet_uses. */
typedef struct quiet_uses {
    struct {
        int64_t token_id, uses;
    } * list;
    size_t n, cap;
} quiet_uses;

static void collect_use(void *arg, int64_t token_id, int64_t uses)
{
    quiet_uses *q = arg;

    if (q->n == q->cap) {
        q->cap = q->cap ? q->cap * 2 : 256;
        q->list = pat_realloc(q->list, q->cap * sizeof(*q->list));
    }
    q->list[q->n].token_id = token_id;
    q->list[q->n].uses = uses;
    q->n++;
}

/* Uses counted since a token's last recording reach the store even if it
 * is never used again: once it has been quiet for a granularity. At most
 * half a table's worth a time, so they do not crowd out details; gathered
 * first so no cache lock is held while the table may be written. Each
 * flush looks at part of a large cache (a million entries took 27 ms of a
 * core, every flush, competing with requests); a small one is looked at
 * whole. */
static void count_quiet_uses(pat_service *svc)
{
    quiet_uses q = {NULL, 0, 0};

    if (svc->config->last_use_granularity_seconds <= 0)
        return;
    pat_cache_drain_uses(svc->cache, svc->clock(), svc->config->last_use_granularity_seconds,
                         pat_lastuse_capacity(svc->lastuse) / 2, QUIET_SWEEP_ENTRIES, collect_use,
                         &q);
    for (size_t i = 0; i < q.n; i++)
        count_uses(svc, q.list[i].token_id, q.list[i].uses);
    free(q.list);
}

void pat_service_free(pat_service *svc)
{
    if (!svc)
        return;
    if (svc->background) {
        pthread_mutex_lock(&svc->flush_lock);
        svc->stopping = true;
        pthread_cond_signal(&svc->flush_wake);
        pthread_mutex_unlock(&svc->flush_lock);
        pthread_join(svc->flusher, NULL);
    }
    /* What was used since the last flush is written before we go. */
    pat_cache_drain_uses(svc->cache, 0, 0, 0, 0, count_uses, svc);
    pat_service_flush(svc);
    pthread_cond_destroy(&svc->flush_wake);
    pthread_mutex_destroy(&svc->flush_lock);
    pat_ratelimit_free(svc->auth_failures);
    pat_ratelimit_free(svc->signin_by_address);
    pat_ratelimit_free(svc->signin_by_account);
    pat_lastuse_free(svc->lastuse);
    pat_cache_free(svc->cache);
    sodium_memzero(svc->key, sizeof(svc->key));
    sodium_memzero(svc->lookup_subkey, sizeof(svc->lookup_subkey));
    free(svc);
}

static int by_token_id(const void *a, const void *b)
{
    int64_t x = ((const pat_token_touch *)a)->token_id, y = ((const pat_token_touch *)b)->token_id;

    return (x > y) - (x < y);
}

int pat_service_flush(pat_service *svc)
{
    count_quiet_uses(svc);
    return write_pending(svc);
}

/* Writes what the last-use table holds. */
static int write_pending(pat_service *svc)
{
    pat_token_touch *touches = NULL;
    size_t n = 0;
    int rc = PAT_OK;

    pat_lastuse_take(svc->lastuse, &touches, &n);
    /* In id order, rows next to each other share pages: with a million
     * tokens in use a chunk then rewrites a few dozen pages, not hundreds. */
    if (n > 1)
        qsort(touches, n, sizeof(*touches), by_token_id);
    /* At most one write per token, in transactions of a bounded size: a
     * request that misses the cache waits for the store at most one chunk. */
    for (size_t done = 0; done < n && rc == PAT_OK; done += FLUSH_CHUNK) {
        size_t k = n - done < FLUSH_CHUNK ? n - done : FLUSH_CHUNK;
        if ((rc = pat_store_token_touch_many(svc->store, touches + done, k)) < 0)
            pat_log_error("last use: cannot write %zu records: %s", n - done,
                          pat_error_last()->message);
    }
    pat_metrics_lastuse_flush(svc->clock(), rc == PAT_OK ? n : 0);
    free(touches);
    return rc;
}

void pat_service_request_flush(pat_service *svc)
{
    if (!svc->background)
        return;
    /* trylock: the hot path never waits on the flusher. */
    if (pthread_mutex_trylock(&svc->flush_lock) == 0) {
        if (!svc->flush_requested) {
            svc->flush_requested = true;
            pthread_cond_signal(&svc->flush_wake);
        }
        pthread_mutex_unlock(&svc->flush_lock);
    }
}

/* Drops expired sessions, and audit events past the retention period, at
 * most hourly. */
static void prune_old(pat_service *svc)
{
    int64_t now = svc->clock();
    int days = svc->config->audit_retention_days;

    if (now - svc->last_prune < 3600)
        return;
    svc->last_prune = now;
    if (pat_store_session_prune(svc->store, now) < 0)
        pat_log_error("sessions: cannot prune: %s", pat_error_last()->message);
    if (days <= 0)
        return;
    if (pat_store_audit_prune(svc->store, now - (int64_t)days * PAT_DAY) < 0)
        pat_log_error("audit: cannot prune: %s", pat_error_last()->message);
}

static void *flusher_main(void *arg)
{
    pat_service *svc = arg;
    int period = svc->config->last_use_flush_seconds > 0 ? svc->config->last_use_flush_seconds : 10;
    int64_t last_flush = pat_time_mono_us();

    pthread_mutex_lock(&svc->flush_lock);
    while (!svc->stopping) {
        struct timespec deadline;
        bool due;
        /* Wake every second: the log is written in blocks (one write per
         * request would cost the hot path a system call), so push it out. */
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += 1;
        if (!svc->flush_requested)
            pthread_cond_timedwait(&svc->flush_wake, &svc->flush_lock, &deadline);
        if (svc->stopping)
            break;
        due = svc->flush_requested || pat_time_mono_us() - last_flush >= (int64_t)period * 1000000;
        svc->flush_requested = false;
        pthread_mutex_unlock(&svc->flush_lock);
        pat_log_flush_idle();
        if (due) {
            last_flush = pat_time_mono_us();
            pat_service_flush(svc);
            /* Another instance may have changed the policy. */
            refresh_policy(svc);
            prune_old(svc);
        }
        pthread_mutex_lock(&svc->flush_lock);
    }
    pthread_mutex_unlock(&svc->flush_lock);
    return NULL;
}

bool pat_service_query_tokens_enabled(const pat_service *svc)
{
    return atomic_load(&((pat_service *)svc)->query_tokens_enabled);
}

const char *pat_service_route_scope(const pat_service *svc, const char *method, const char *path)
{
    return pat_route_rules_scope(svc->config->routes, svc->config->nroutes, method, path);
}

void pat_service_client_ip(const pat_service *svc, char *out, size_t outsz, const char *peer,
                           const char *x_real_ip, const char *x_forwarded_for)
{
    pat_client_ip(out, outsz, peer, &svc->config->trusted_proxies, x_real_ip, x_forwarded_for);
}

void pat_service_forget_token(pat_service *svc, const pat_token_rec *t)
{
    int64_t pending = pat_cache_token_forget(svc->cache, t->hash);

    if (t->previous_valid_until)
        pending += pat_cache_token_forget(svc->cache, t->previous_hash);
    /* Uses counted in the forgotten entries still count. */
    if (pending > 0)
        count_uses(svc, t->id, pending);
}

void pat_service_forget_user(pat_service *svc, int64_t user_id)
{
    pat_cache_user_forget(svc->cache, user_id);
}

int pat_service_metrics(pat_service *svc, pat_buf *out)
{
    return pat_metrics_format(out, pat_cache_size(svc->cache), pat_lastuse_dropped(svc->lastuse),
                              svc->clock());
}

int64_t pat_service_now(const pat_service *svc)
{
    return svc->clock();
}

const pat_catalog *pat_service_catalog(const pat_service *svc)
{
    return svc->catalog;
}

void pat_service_hash_secret(const pat_service *svc, const char *secret, uint8_t out[PAT_HASH_LEN])
{
    pat_token_hash(out, svc->key, secret, strlen(secret));
}

void pat_principal_set_user(pat_principal *p, const pat_user *u)
{
    p->user_id = u->id;
    strcpy(p->username, u->username);
    p->role = u->role;
    p->can_manage_tokens = u->can_manage_tokens;
}

void pat_audit_record(pat_service *svc, const pat_principal *actor, const pat_request_info *info,
                      const char *action, const char *target, const char *detail_fmt, ...)
{
    pat_audit_rec r;
    va_list ap;
    pat_error saved = *pat_error_last();

    memset(&r, 0, sizeof(r));
    r.at = svc->clock();
    if (actor) {
        r.actor_user_id = actor->user_id;
        r.actor_token_id = actor->kind == PAT_AUTH_TOKEN ? actor->token_id : 0;
    }
    snprintf(r.action, sizeof(r.action), "%s", action);
    snprintf(r.target, sizeof(r.target), "%s", target ? target : "");
    if (info) {
        snprintf(r.ip, sizeof(r.ip), "%s", info->ip ? info->ip : "");
        snprintf(r.user_agent, sizeof(r.user_agent), "%s",
                 info->user_agent ? info->user_agent : "");
    }
    va_start(ap, detail_fmt);
    vsnprintf(r.detail, sizeof(r.detail), detail_fmt, ap);
    va_end(ap);
    if (pat_store_audit_append(svc->store, &r) < 0)
        pat_log_error("audit: cannot record %s on %s", action, r.target);
    /* The caller's error, if any, is what its caller must see. */
    *(pat_error *)pat_error_last() = saved;
}

int pat_service_ping(pat_service *svc)
{
    return pat_store_ping(svc->store);
}
