#include "http/guard.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/log.h"
#include "util/mem.h"
#include "util/time.h"

#define ADDR_BUCKETS 4096

/* Open connections of one address. */
typedef struct addr_count {
    struct addr_count *next;
    unsigned n;
    char addr[64];
} addr_count;

struct pat_guard {
    unsigned per_address, per_trusted;
    const pat_cidr_set *trusted; /* borrowed from the configuration */
    int64_t request_us, idle_us;
    pthread_mutex_t lock; /* the counts and the connection list */
    addr_count *counts[ADDR_BUCKETS];
    pat_guard_conn *conns;
    atomic_uint_fast64_t dropped, refused;
    pthread_t watchdog;
    pthread_mutex_t stop_lock;
    pthread_cond_t stop_wake;
    bool stopping;
};

static size_t bucket(const char *addr)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a: addresses are not secret */

    for (; *addr; addr++)
        h = (h ^ (uint8_t)*addr) * 1099511628211ULL;
    return (size_t)(h % ADDR_BUCKETS);
}

/* The count of addr, made when create (lock held); NULL if none. */
static addr_count *count_of(pat_guard *g, const char *addr, bool create)
{
    size_t b = bucket(addr);
    addr_count *a;

    for (a = g->counts[b]; a; a = a->next)
        if (strcmp(a->addr, addr) == 0)
            return a;
    if (!create)
        return NULL;
    a = pat_calloc(1, sizeof(*a));
    snprintf(a->addr, sizeof(a->addr), "%s", addr);
    a->next = g->counts[b];
    g->counts[b] = a;
    return a;
}

static void drop_count(pat_guard *g, const char *addr)
{
    size_t b = bucket(addr);

    for (addr_count **p = &g->counts[b]; *p; p = &(*p)->next) {
        if (strcmp((*p)->addr, addr) == 0) {
            addr_count *a = *p;
            if (--a->n == 0) {
                *p = a->next;
                free(a);
            }
            return;
        }
    }
}

static void *watchdog_main(void *arg)
{
    pat_guard *g = arg;

    pthread_mutex_lock(&g->stop_lock);
    while (!g->stopping) {
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        t.tv_nsec += 250 * 1000000L;
        if (t.tv_nsec >= 1000000000L) {
            t.tv_sec++;
            t.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&g->stop_wake, &g->stop_lock, &t);
        if (g->stopping)
            break;
        pthread_mutex_unlock(&g->stop_lock);
        {
            int64_t now = pat_time_mono_us();
            /* Under the lock the connection cannot be closed (its closing
             * waits for it), so its fd is still its own. */
            pthread_mutex_lock(&g->lock);
            for (pat_guard_conn *c = g->conns; c; c = c->next) {
                int64_t d = atomic_load(&c->deadline_us);
                if (d < now) {
                    shutdown(c->fd, SHUT_RDWR);
                    atomic_store(&c->deadline_us, INT64_MAX);
                    atomic_fetch_add(&g->dropped, 1);
                }
            }
            pthread_mutex_unlock(&g->lock);
        }
        pthread_mutex_lock(&g->stop_lock);
    }
    pthread_mutex_unlock(&g->stop_lock);
    return NULL;
}

pat_guard *pat_guard_new(int per_address, unsigned total, const pat_cidr_set *trusted,
                         int request_deadline_seconds, int idle_seconds)
{
    pat_guard *g = pat_calloc(1, sizeof(*g));

    g->per_address = per_address > 0 ? (unsigned)per_address : 0;
    g->per_trusted = per_address > 0 ? total / 4 * 3 : 0;
    if (g->per_trusted < g->per_address)
        g->per_trusted = g->per_address;
    g->trusted = trusted;
    g->request_us = (int64_t)request_deadline_seconds * 1000000;
    g->idle_us = (int64_t)idle_seconds * 1000000;
    pthread_mutex_init(&g->lock, NULL);
    pthread_mutex_init(&g->stop_lock, NULL);
    pthread_cond_init(&g->stop_wake, NULL);
    if (pthread_create(&g->watchdog, NULL, watchdog_main, g) != 0) {
        pthread_mutex_destroy(&g->lock);
        pthread_mutex_destroy(&g->stop_lock);
        pthread_cond_destroy(&g->stop_wake);
        free(g);
        return NULL;
    }
    return g;
}

void pat_guard_free(pat_guard *g)
{
    if (!g)
        return;
    pthread_mutex_lock(&g->stop_lock);
    g->stopping = true;
    pthread_cond_signal(&g->stop_wake);
    pthread_mutex_unlock(&g->stop_lock);
    pthread_join(g->watchdog, NULL);
    for (size_t b = 0; b < ADDR_BUCKETS; b++) {
        addr_count *a = g->counts[b];
        while (a) {
            addr_count *next = a->next;
            free(a);
            a = next;
        }
    }
    pthread_cond_destroy(&g->stop_wake);
    pthread_mutex_destroy(&g->stop_lock);
    pthread_mutex_destroy(&g->lock);
    free(g);
}

void pat_guard_addr_text(const struct sockaddr *sa, char out[64])
{
    out[0] = '\0';
    if (!sa)
        return;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, 64);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, 64);
}

bool pat_guard_admit(pat_guard *g, const struct sockaddr *sa)
{
    char addr[64];
    addr_count *a;
    unsigned cap;
    bool ok;

    if (!g->per_address)
        return true;
    pat_guard_addr_text(sa, addr);
    cap = pat_cidr_set_contains(g->trusted, addr) ? g->per_trusted : g->per_address;
    pthread_mutex_lock(&g->lock);
    a = count_of(g, addr, false);
    ok = !a || a->n < cap;
    pthread_mutex_unlock(&g->lock);
    if (!ok)
        atomic_fetch_add(&g->refused, 1);
    return ok;
}

void pat_guard_opened(pat_guard *g, pat_guard_conn *c, int fd, const char *addr)
{
    c->fd = fd;
    snprintf(c->addr, sizeof(c->addr), "%s", addr);
    atomic_init(&c->deadline_us, pat_time_mono_us() + g->request_us);
    pthread_mutex_lock(&g->lock);
    count_of(g, c->addr, true)->n++;
    c->prev = NULL;
    c->next = g->conns;
    if (g->conns)
        g->conns->prev = c;
    g->conns = c;
    pthread_mutex_unlock(&g->lock);
}

void pat_guard_closed(pat_guard *g, pat_guard_conn *c)
{
    pthread_mutex_lock(&g->lock);
    drop_count(g, c->addr);
    if (c->prev)
        c->prev->next = c->next;
    else
        g->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    pthread_mutex_unlock(&g->lock);
}

void pat_guard_answering(pat_guard_conn *c)
{
    atomic_store_explicit(&c->deadline_us, INT64_MAX, memory_order_relaxed);
}

void pat_guard_answered(pat_guard *g, pat_guard_conn *c)
{
    /* The next request may wait as long as an idle keep-alive connection
     * lives, then has the request deadline to arrive whole. */
    atomic_store_explicit(&c->deadline_us, pat_time_mono_us() + g->idle_us + g->request_us,
                          memory_order_relaxed);
}

bool pat_guard_drain(pat_guard *g, int timeout_ms)
{
    int64_t until = pat_time_mono_us() + (int64_t)timeout_ms * 1000;
    bool empty;

    for (;;) {
        struct timespec pause = {0, 5 * 1000000L};
        pthread_mutex_lock(&g->lock);
        /* Under the lock no connection closes, so each fd is its own. */
        for (pat_guard_conn *c = g->conns; c; c = c->next)
            if (atomic_load(&c->deadline_us) != INT64_MAX)
                shutdown(c->fd, SHUT_RDWR);
        empty = g->conns == NULL;
        pthread_mutex_unlock(&g->lock);
        if (empty || pat_time_mono_us() >= until)
            return empty;
        nanosleep(&pause, NULL);
    }
}

uint64_t pat_guard_dropped(const pat_guard *g)
{
    return atomic_load(&((pat_guard *)g)->dropped);
}

uint64_t pat_guard_refused(const pat_guard *g)
{
    return atomic_load(&((pat_guard *)g)->refused);
}
