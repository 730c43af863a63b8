#ifndef PAT_UTIL_LOG_H
#define PAT_UTIL_LOG_H

/* One line to stderr, prefixed with the UTC time and level. Never pass a
 * secret (token value, password, key) in any argument. */
void pat_log(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Pushes out buffered lines if no line has done so for a second or more
 * (called every second by a background thread). */
void pat_log_flush_idle(void);

#define pat_log_info(...) pat_log("info", __VA_ARGS__)
#define pat_log_warn(...) pat_log("warn", __VA_ARGS__)
#define pat_log_error(...) pat_log("error", __VA_ARGS__)

#endif
