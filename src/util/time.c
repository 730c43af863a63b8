#include "util/time.h"

#include <ctype.h>
#include <string.h>
#include <time.h>

#include "util/error.h"

int64_t pat_time_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

int64_t pat_time_mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void pat_time_format(int64_t t, char out[PAT_TIME_STR])
{
    time_t tt = (time_t)t;
    struct tm tm;

    gmtime_r(&tt, &tm);
    strftime(out, PAT_TIME_STR, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Parses exactly n digits. */
static int digits(const char *s, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int pat_time_parse(const char *s, int64_t *out)
{
    struct tm tm;
    const char *p;
    int64_t offset = 0;
    time_t t;
    struct tm check;

    memset(&tm, 0, sizeof(tm));
    p = strptime(s, "%Y-%m-%d", &tm);
    if (!p || p - s != 10)
        goto bad;
    if (*p == 'T' || *p == 't') {
        const char *q = strptime(p + 1, "%H:%M:%S", &tm);
        if (!q || q - p != 9)
            goto bad;
        p = q;
        if (*p == '.') {
            p++;
            if (!isdigit((unsigned char)*p))
                goto bad;
            while (isdigit((unsigned char)*p))
                p++;
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int hh, mm;
            if (digits(p + 1, 2, &hh) || p[3] != ':' || digits(p + 4, 2, &mm) || hh > 23 ||
                mm > 59)
                goto bad;
            offset = (int64_t)(hh * 3600 + mm * 60) * (*p == '+' ? 1 : -1);
            p += 6;
        } else {
            goto bad;
        }
    }
    if (*p != '\0')
        goto bad;
    if (tm.tm_year < 70 || tm.tm_year > 8000)
        goto bad;
    tm.tm_isdst = 0;
    check = tm;
    /* strptime accepts 30 February and timegm quietly normalises it (in
     * place), so compare against the fields as written. */
    t = timegm(&check);
    gmtime_r(&t, &check);
    if (check.tm_mday != tm.tm_mday || check.tm_mon != tm.tm_mon)
        goto bad;
    *out = (int64_t)t - offset;
    return PAT_OK;
bad:
    return pat_error_set(PAT_EINVAL, NULL, "not an RFC 3339 date-time or YYYY-MM-DD date");
}
