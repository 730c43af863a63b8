#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local pat_error last_error;

int pat_error_set(int code, const char *field, const char *fmt, ...)
{
    va_list ap;

    last_error.code = code;
    snprintf(last_error.field, sizeof(last_error.field), "%s", field ? field : "");
    va_start(ap, fmt);
    vsnprintf(last_error.message, sizeof(last_error.message), fmt, ap);
    va_end(ap);
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
