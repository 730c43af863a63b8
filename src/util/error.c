#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local pat_error last_error;

int pat_error_set(int code, const char *field, const char *fmt, ...)
{
    pat_error next;
    va_list ap;

    /* Format aside first: callers may pass the last error's own message or
     * field as an argument ("line 3: %s"), which must not overlap the output. */
    next.code = code;
    snprintf(next.field, sizeof(next.field), "%s", field ? field : "");
    va_start(ap, fmt);
    vsnprintf(next.message, sizeof(next.message), fmt, ap);
    va_end(ap);
    last_error = next;
    return code;
}

const pat_error *pat_error_last(void)
{
    return &last_error;
}

void pat_error_clear(void)
{
    memset(&last_error, 0, sizeof(last_error));
}
