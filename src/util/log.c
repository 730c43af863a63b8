#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>

#include "util/time.h"

void pat_log(const char *level, const char *fmt, ...)
{
    char ts[PAT_TIME_STR];
    char line[1024];
    va_list ap;

    pat_time_format(pat_time_now(), ts);
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    /* One fprintf per line so lines from several threads do not interleave. */
    fprintf(stderr, "%s %s %s\n", ts, level, line);
}
