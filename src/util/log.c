#include "util/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "util/decimal.h"
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

/* Starts a line in stderr's buffer: takes stderr's lock (so lines from
 * several threads do not interleave) and writes the time and level.
 * Returns the second, for end_line. */
static int64_t begin_line(const char *level)
{
    /* The access log writes a line per request: format the time once a
     * second per thread, not once a line. */
    static _Thread_local int64_t ts_second = -1;
    static _Thread_local char ts[PAT_TIME_STR];
    int64_t now = pat_time_now();

    if (now != ts_second) {
        pat_time_format(now, ts);
        ts_second = now;
    }
    flockfile(stderr);
    fputs_unlocked(ts, stderr);
    fputc_unlocked(' ', stderr);
    fputs_unlocked(level, stderr);
    fputc_unlocked(' ', stderr);
    return now;
}

static void end_line(int64_t now)
{
    fputc_unlocked('\n', stderr);
    funlockfile(stderr);
    flush_in((long long)now);
}

void pat_log(const char *level, const char *fmt, ...)
{
    int64_t now = begin_line(level);
    va_list ap;

    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    end_line(now);
}

/* Appends at most max bytes of s at *p, below end. */
static void put_str(char **p, const char *end, const char *s, size_t max)
{
    size_t n = strnlen(s ? s : "", max);

    if (n > (size_t)(end - *p))
        n = (size_t)(end - *p);
    memcpy(*p, s ? s : "", n);
    *p += n;
}

/* Appends v in decimal, with at least width digits. */
static void put_int(char **p, const char *end, int64_t v, int width)
{
    char digits[PAT_DECIMAL_MAX];

    put_str(p, end, digits, pat_decimal(digits, sizeof(digits), v, width));
}

void pat_log_access(const pat_access_line *a)
{
    /* One line per request: formatted here rather than by vfprintf, which
     * was a quarter of the user-space instructions of GET /auth. */
    char line[PAT_LOG_PATH_MAX + 160];
    const char *end = line + sizeof(line);
    char *p = line;
    int64_t now;

    put_str(&p, end, a->method, 32);
    put_str(&p, end, " ", 1);
    put_str(&p, end, a->path, PAT_LOG_PATH_MAX);
    put_str(&p, end, " ", 1);
    put_int(&p, end, a->status, 1);
    put_str(&p, end, " ", 1);
    put_int(&p, end, a->micros / 1000, 1);
    put_str(&p, end, ".", 1);
    put_int(&p, end, a->micros % 1000 / 10, 2);
    put_str(&p, end, "ms ip=", 6);
    put_str(&p, end, a->ip, 64);
    put_str(&p, end, " token=", 7);
    put_int(&p, end, a->token_id, 1);
    put_str(&p, end, " user=", 6);
    put_int(&p, end, a->user_id, 1);
    if (a->aborted)
        put_str(&p, end, " aborted", 8);
    now = begin_line("access");
    fwrite_unlocked(line, 1, (size_t)(p - line), stderr);
    end_line(now);
}

void pat_log_flush_idle(void)
{
    long long now = (long long)pat_time_now();

    /* Nobody has pushed this second: push out what is left. */
    if (now != atomic_load_explicit(&flushed_second, memory_order_relaxed))
        flush_in(now);
}
