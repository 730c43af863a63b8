#ifndef PAT_UTIL_LOG_H
#define PAT_UTIL_LOG_H
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

/* One event is one line on stderr, with the UTC time and a level. In the
 * text format a line is "TIME LEVEL message", and every byte below 0x20,
 * 0x7f and the backslash in what is logged is written as \xNN or \\, so
 * no input can start a line of its own or reach a terminal raw. In the
 * JSON format a line is one object {"time","level","msg"} (the access log:
 * {"time","level":"access","method","path","status","ms","ip","token",
 * "user"}), built by jansson. Never pass a secret (token value, password,
 * key) in any argument. */
typedef enum pat_log_format { PAT_LOG_TEXT = 0, PAT_LOG_JSON } pat_log_format;

/* Chooses the format of every line from now on (the default is text). */
void pat_log_set_format(pat_log_format f);

/* Sends every line from now on (patd's, and anything else written to
 * standard error) to the file at path, created 0600 and appended to; lines
 * already buffered go where they were meant to. Called at start and on
 * SIGHUP, so a file moved by logrotate is followed by a new one. Returns
 * PAT_OK, or PAT_EIO (error set, naming the path) leaving the destination
 * unchanged. */
int pat_log_open_file(const char *path);

void pat_log(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* pat_log with a va_list (libmicrohttpd's messages come this way). */
void pat_log_v(const char *level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Paths longer than this are cut in the access log. */
#define PAT_LOG_PATH_MAX 2048

/* One request, for the access log. */
typedef struct pat_access_line {
    const char *method;
    const char *path; /* without its query: a query may hold a credential */
    const char *ip;
    unsigned status;
    int64_t micros;
    int64_t token_id; /* 0: none */
    int64_t user_id;  /* 0: none */
    bool aborted;
} pat_access_line;

/* Writes the access line "METHOD PATH STATUS X.YYms ip=IP token=N user=N"
 * (and " aborted" when the client left early), like pat_log. */
void pat_log_access(const pat_access_line *a);

/* Lines are buffered per thread. Pushes out the lines of threads that have
 * logged nothing this second (called every second by a background thread);
 * never waits for a thread that is logging. */
void pat_log_flush_idle(void);

/* Writes out every thread's buffered lines; registered with atexit on the
 * first line logged, so a process's last lines are never lost. */
void pat_log_flush_all(void);

#define pat_log_info(...) pat_log("info", __VA_ARGS__)
#define pat_log_warn(...) pat_log("warn", __VA_ARGS__)
#define pat_log_error(...) pat_log("error", __VA_ARGS__)

#endif
