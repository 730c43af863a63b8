/* PostgreSQL backend: the listener. One connection of its own LISTENs on
 * 'patd_changes' (every change's transaction notifies at commit), so a
 * follower of the feed wakes within milliseconds of another instance's
 * commit instead of at its next poll. Notifications only wake: what
 * changed is read from the feed, so one lost while the listener was down
 * costs time, never a change. */
#include <errno.h>
#include <poll.h>
#include <time.h>

#include "store/postgres/pg_int.h"
#include "util/error.h"
#include "util/log.h"
#include "util/time.h"

#define LISTENER_RETRY_US 500000

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

void pg_listener_close(pg_store *st)
{
    PQfinish(st->listener);
    st->listener = NULL;
}

/* Drains what arrived; true if any notification did. */
static bool drain(PGconn *c)
{
    bool any = false;
    PGnotify *n;

    while ((n = PQnotifies(c))) {
        any = true;
        PQfreemem(n);
    }
    return any;
}

static int listener_open(pg_store *st)
{
    PGresult *res;

    if (pat_time_mono_us() < st->listener_next_try_us)
        return pat_error_set(PAT_EUNAVAIL, NULL, "the listener is reconnecting");
    if (!(st->listener = pg_connect(st->url))) {
        st->listener_next_try_us = pat_time_mono_us() + LISTENER_RETRY_US;
        return pat_error_set(PAT_EUNAVAIL, NULL, "the listener cannot connect");
    }
    res = PQexec(st->listener, "LISTEN patd_changes");
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        int rc = pg_error(st->listener, res, "listen");
        PQclear(res);
        pg_listener_close(st);
        st->listener_next_try_us = pat_time_mono_us() + LISTENER_RETRY_US;
        return rc;
    }
    PQclear(res);
    pat_log_info("postgres: listening for changes");
    return PAT_OK;
}

int pg_changes_wait(pat_store *s, int timeout_ms)
{
    pg_store *st = pg_of(s);
    struct pollfd pfd;
    int rc;

    if (!st->listener && (rc = listener_open(st)) < 0) {
        sleep_ms(timeout_ms);
        return rc;
    }
    if (drain(st->listener))
        return PAT_OK;
    pfd.fd = PQsocket(st->listener);
    pfd.events = POLLIN;
    pfd.revents = 0;
    if (poll(&pfd, 1, timeout_ms) < 0 && errno != EINTR)
        return pat_error_set(PAT_EIO, NULL, "poll failed");
    if (pfd.revents && (!PQconsumeInput(st->listener) || PQstatus(st->listener) != CONNECTION_OK)) {
        pat_log_error("postgres: the listener's connection was lost; reconnecting");
        pg_listener_close(st);
        return pat_error_set(PAT_EUNAVAIL, NULL, "the listener's connection was lost");
    }
    drain(st->listener);
    return PAT_OK;
}
