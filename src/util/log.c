#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>

#include "util/time.h"

void pat_log(const char *level, const char *fmt, ...)
{
    /* The access log writes a line per request: format the time once a
     * second per thread, not once a line. */
    static _Thread_local int64_t ts_second = -1;
    static _Thread_local char ts[PAT_TIME_STR];
    int64_t now = pat_time_now();
    char line[1024];
    va_list ap;

    if (now != ts_second) {
        pat_time_format(now, ts);
        ts_second = now;
    }
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    /* One fprintf per line so lines from several threads do not interleave. */
    fprintf(stderr, "%s %s %s\n", ts, level, line);
}
