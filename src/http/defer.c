/* Requests waiting for a read of the shared store's changes (defer.h). */
#include "http/defer.h"

#include <pthread.h>
#include <stdlib.h>

#include "util/mem.h"
#include "util/time.h"

typedef struct waiting {
    struct waiting *next;
    struct MHD_Connection *conn;
} waiting;

struct pat_defer {
    pat_service *svc;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    waiting *head; /* set aside since the last round began */
    bool stopping;
    bool joined; /* the thread has ended */
};

/* Resumes every connection of list and frees it. */
static void resume_all(waiting *list)
{
    while (list) {
        waiting *next = list->next;
        MHD_resume_connection(list->conn);
        free(list);
        list = next;
    }
}

/* One round per read: every request set aside before the round began
 * arrived before its read began, so the read settles them all; those set
 * aside meanwhile wait for the next one. A failed read resumes them too:
 * asked again, they wait for the store themselves. */
static void *rounds(void *arg)
{
    pat_defer *d = arg;
    waiting *list;

    pthread_mutex_lock(&d->lock);
    for (;;) {
        while (!d->head && !d->stopping)
            pthread_cond_wait(&d->wake, &d->lock);
        if (!d->head)
            break;
        list = d->head;
        d->head = NULL;
        pthread_mutex_unlock(&d->lock);
        pat_service_sync_since(d->svc, pat_time_mono_us());
        resume_all(list);
        pthread_mutex_lock(&d->lock);
    }
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

pat_defer *pat_defer_new(pat_service *svc)
{
    pat_defer *d = pat_calloc(1, sizeof(*d));

    d->svc = svc;
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->wake, NULL);
    if (pthread_create(&d->thread, NULL, rounds, d) != 0) {
        pthread_cond_destroy(&d->wake);
        pthread_mutex_destroy(&d->lock);
        free(d);
        return NULL;
    }
    return d;
}

bool pat_defer_add(pat_defer *d, struct MHD_Connection *conn)
{
    waiting *w;

    pthread_mutex_lock(&d->lock);
    if (d->stopping) {
        pthread_mutex_unlock(&d->lock);
        return false;
    }
    w = pat_malloc(sizeof(*w));
    w->conn = conn;
    w->next = d->head;
    d->head = w;
    /* Under the lock: the thread cannot resume it before it is suspended. */
    MHD_suspend_connection(conn);
    pthread_cond_signal(&d->wake);
    pthread_mutex_unlock(&d->lock);
    return true;
}

void pat_defer_stop(pat_defer *d)
{
    if (!d || d->joined)
        return;
    pthread_mutex_lock(&d->lock);
    d->stopping = true;
    pthread_cond_signal(&d->wake);
    pthread_mutex_unlock(&d->lock);
    /* The thread settles what is set aside before it ends. */
    pthread_join(d->thread, NULL);
    d->joined = true;
}

void pat_defer_free(pat_defer *d)
{
    if (!d)
        return;
    pat_defer_stop(d);
    pthread_cond_destroy(&d->wake);
    pthread_mutex_destroy(&d->lock);
    free(d);
}
