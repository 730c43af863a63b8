#include "util/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

#include "util/time.h"

/* The second stderr was last pushed out in. stderr is block-buffered; the
 * thread that logs first in a new second pushes it, so under load nobody
 * else (the low-priority flusher) has to take stderr's lock. */
static atomic_llong flushed_second;

static void flush_in(long long now)
{
    long long last = atomic_load_explicit(&flushed_second, memory_order_relaxed);

    if (last != now && atomic_compare_exchange_strong_explicit(
                           &flushed_second, &last, now, memory_order_relaxed, memory_order_relaxed))
        fflush(stderr);
}

void pat_log(const char *level, const char *fmt, ...)
{
    /* The access log writes a line per request: format the time once a
     * second per thread, not once a line. */
    static _Thread_local int64_t ts_second = -1;
    static _Thread_local char ts[PAT_TIME_STR];
    int64_t now = pat_time_now();
    va_list ap;

    if (now != ts_second) {
        pat_time_format(now, ts);
        ts_second = now;
    }
    /* Straight into stderr's buffer, under its lock so lines from several
     * threads do not interleave. */
    flockfile(stderr);
    fputs_unlocked(ts, stderr);
    fputc_unlocked(' ', stderr);
    fputs_unlocked(level, stderr);
    fputc_unlocked(' ', stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc_unlocked('\n', stderr);
    funlockfile(stderr);
    flush_in((long long)now);
}

void pat_log_flush_idle(void)
{
    long long now = (long long)pat_time_now();

    /* Nobody has pushed this second: push out what is left. */
    if (now != atomic_load_explicit(&flushed_second, memory_order_relaxed))
        flush_in(now);
}
