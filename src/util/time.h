#ifndef PAT_UTIL_TIME_H
#define PAT_UTIL_TIME_H
#include <stdint.h>

/* Room for "YYYY-MM-DDTHH:MM:SSZ" and a NUL. */
#define PAT_TIME_STR 21

/* Current UTC time in seconds. */
int64_t pat_time_now(void);

/* Monotonic time in microseconds, for durations. */
int64_t pat_time_mono_us(void);

/* Writes t as RFC 3339 UTC ("2026-11-22T10:00:00Z") into out. */
void pat_time_format(int64_t t, char out[PAT_TIME_STR]);

/* Parses an RFC 3339 date-time (offset or Z, optional fraction, which is
 * dropped) or a plain date "YYYY-MM-DD" (midnight UTC) into UTC seconds.
 * PAT_EINVAL for anything else, including impossible dates. */
int pat_time_parse(const char *s, int64_t *out);

#endif
