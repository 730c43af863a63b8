#ifndef PAT_HTTP_DEFER_H
#define PAT_HTTP_DEFER_H
#include <stdbool.h>

#include <microhttpd.h>

#include "service/service.h"

/* Requests set aside until the next read of a shared store's changes: on
 * PostgreSQL a value the live filter does not know may have been created
 * on another instance a moment ago, and is settled only after a read of
 * the feed begun after the request arrived (pat_service_verify). Rather
 * than have an HTTP thread wait for that read, each such request is
 * suspended; one thread reads the feed for every request waiting and
 * resumes them all, so a flood of unknown values costs one read per round
 * trip to the database, not one per request, and HTTP threads go on
 * serving the rest meanwhile. */
typedef struct pat_defer pat_defer;

/* Starts the reading thread (owned by the caller). NULL if it cannot. */
pat_defer *pat_defer_new(pat_service *svc);

/* From the access handler: suspends conn until the next read of the feed,
 * after which libmicrohttpd calls the handler again. False (nothing done)
 * once pat_defer_stop has begun: the caller then answers at once. */
bool pat_defer_add(pat_defer *d, struct MHD_Connection *conn);

/* Resumes every connection still set aside and ends the thread: before
 * MHD_stop_daemon, which must not meet a suspended connection. d stays
 * valid (its HTTP threads may still call pat_defer_add until the daemon
 * has stopped). NULL is a no-op. */
void pat_defer_stop(pat_defer *d);

/* Stops d if it was not, and frees it: after MHD_stop_daemon. NULL is a
 * no-op. */
void pat_defer_free(pat_defer *d);

#endif
