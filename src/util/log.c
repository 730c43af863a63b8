#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "util/decimal.h"
#include "util/error.h"
#include "util/time.h"

/* Each thread collects its lines in a buffer of its own and writes it to
 * stderr whole: when full, on its first line in a new second, and (for
 * threads gone quiet) from the flusher every second. Two HTTP threads
 * never share a lock per line: when they shared stderr's, the one that
 * found it taken slept in the kernel, a request in the latency tail. */
#define LINE_MAX_BYTES 4096 /* a longer line is cut */

typedef struct log_buf {
    pthread_mutex_t lock; /* the owner's for each line; others' only to push */
    struct log_buf *next; /* in buffers */
    int64_t pushed_second;
    size_t len;
    char data[]; /* block bytes */
} log_buf;

static pthread_once_t setup_once = PTHREAD_ONCE_INIT;
static pthread_key_t buf_key;
static pthread_mutex_t buffers_lock = PTHREAD_MUTEX_INITIALIZER;
static log_buf *buffers;
/* 64 KiB to a file; PIPE_BUF to a pipe (journald, a container runtime),
 * where a larger write could be interleaved with another thread's. */
static size_t block;
static _Thread_local log_buf *mine;
static _Atomic int format = PAT_LOG_TEXT;

void pat_log_set_format(pat_log_format f)
{
    format = f;
}

static void write_all(const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return; /* nowhere to report it */
        }
        p += w;
        n -= (size_t)w;
    }
}

/* Writes out b's lines (its lock held). */
static void push(log_buf *b)
{
    write_all(b->data, b->len);
    b->len = 0;
}

/* At a thread's exit: its lines go out, its buffer goes away. */
static void buf_free(void *p)
{
    log_buf *b = p;

    pthread_mutex_lock(&buffers_lock);
    for (log_buf **q = &buffers; *q; q = &(*q)->next) {
        if (*q == b) {
            *q = b->next;
            break;
        }
    }
    pthread_mutex_unlock(&buffers_lock);
    pthread_mutex_lock(&b->lock);
    push(b);
    pthread_mutex_unlock(&b->lock);
    pthread_mutex_destroy(&b->lock);
    free(b);
    mine = NULL; /* a later destructor that logs gets a new buffer, not this one */
}

static void setup(void)
{
    struct stat st;

    block = fstat(STDERR_FILENO, &st) == 0 && S_ISREG(st.st_mode) ? 1 << 16 : PIPE_BUF;
    if (pthread_key_create(&buf_key, buf_free) != 0)
        abort();
    atexit(pat_log_flush_all);
}

/* This thread's buffer, made on its first line; NULL if out of memory. */
static log_buf *my_buf(void)
{
    log_buf *b;

    if (mine)
        return mine;
    pthread_once(&setup_once, setup);
    if (!(b = calloc(1, sizeof(*b) + block)))
        return NULL;
    pthread_mutex_init(&b->lock, NULL);
    b->pushed_second = -1;
    pthread_mutex_lock(&buffers_lock);
    b->next = buffers;
    buffers = b;
    pthread_mutex_unlock(&buffers_lock);
    pthread_setspecific(buf_key, b);
    return mine = b;
}

/* Queues a whole line (n <= LINE_MAX_BYTES) logged at second now. */
static void emit(const char *line, size_t n, int64_t now)
{
    log_buf *b = my_buf();

    if (!b) {
        write_all(line, n);
        return;
    }
    pthread_mutex_lock(&b->lock);
    if (b->len + n > block)
        push(b);
    memcpy(b->data + b->len, line, n);
    b->len += n;
    if (now != b->pushed_second) {
        b->pushed_second = now;
        push(b);
    }
    pthread_mutex_unlock(&b->lock);
}

/* Writes "TIME LEVEL " at line; returns the bytes written and the second. */
static size_t line_start(char *line, const char *level, int64_t *now)
{
    /* The access log writes a line per request: format the time once a
     * second per thread, not once a line. */
    static _Thread_local int64_t ts_second = -1;
    static _Thread_local char ts[PAT_TIME_STR];
    size_t n = 0, k;

    *now = pat_time_now();
    if (*now != ts_second) {
        pat_time_format(*now, ts);
        ts_second = *now;
    }
    k = strlen(ts);
    memcpy(line, ts, k);
    n += k;
    line[n++] = ' ';
    k = strnlen(level, 16);
    memcpy(line + n, level, k);
    n += k;
    line[n++] = ' ';
    return n;
}

/* Appends at most max bytes of s at *p, below end, each byte below 0x20,
 * 0x7f and the backslash escaped (\xNN, \\); an escape that does not fit
 * whole is left out. */
static void put_escaped(char **p, const char *end, const char *s, size_t max)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *in = (const unsigned char *)(s ? s : "");

    for (size_t i = 0; i < max && in[i]; i++) {
        unsigned char c = in[i];
        if (c >= 0x20 && c != 0x7f && c != '\\') {
            if (*p >= end)
                return;
            *(*p)++ = (char)c;
        } else if (c == '\\') {
            if (end - *p < 2)
                return;
            *(*p)++ = '\\';
            *(*p)++ = '\\';
        } else {
            if (end - *p < 4)
                return;
            *(*p)++ = '\\';
            *(*p)++ = 'x';
            *(*p)++ = hex[c >> 4];
            *(*p)++ = hex[c & 15];
        }
    }
}

/* A JSON string of s: jansson refuses text that is not UTF-8, so such text
 * is passed with its bytes from 0x80 up written as \xNN. New reference. */
static json_t *json_text(const char *s, size_t max)
{
    size_t n = strnlen(s ? s : "", max);
    json_t *j = json_stringn(s ? s : "", n);
    char safe[LINE_MAX_BYTES];
    char *p = safe;

    if (j)
        return j;
    for (size_t i = 0; i < n && p + 4 < safe + sizeof(safe); i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            *p++ = (char)c;
        } else {
            static const char hex[] = "0123456789abcdef";
            *p++ = '\\';
            *p++ = 'x';
            *p++ = hex[c >> 4];
            *p++ = hex[c & 15];
        }
    }
    return json_stringn(safe, (size_t)(p - safe));
}

/* A line's object, its time and level first; *now = the second. */
static json_t *json_line(const char *level, int64_t *now)
{
    char ts[PAT_TIME_STR];
    json_t *o = json_object();

    *now = pat_time_now();
    pat_time_format(*now, ts);
    json_object_set_new(o, "time", json_string(ts));
    json_object_set_new(o, "level", json_string(level));
    return o;
}

/* Writes the object o (stolen) as one line. */
static void emit_json(json_t *o, int64_t now)
{
    char line[LINE_MAX_BYTES * 2 + PAT_LOG_PATH_MAX * 6 + 512];
    size_t n;

    /* JSON_COMPACT: one line; control characters come out as \uXXXX. */
    n = json_dumpb(o, line, sizeof(line) - 1, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (n == 0 || n >= sizeof(line) - 1)
        return;
    line[n++] = '\n';
    emit(line, n, now);
}

void pat_log_v(const char *level, const char *fmt, va_list ap)
{
    char msg[LINE_MAX_BYTES], line[LINE_MAX_BYTES];
    const char *end = line + sizeof(line) - 1; /* one byte kept for the newline */
    int64_t now;
    char *p;

    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (format == PAT_LOG_JSON) {
        json_t *o = json_line(level, &now);
        json_object_set_new(o, "msg", json_text(msg, sizeof(msg)));
        emit_json(o, now);
        return;
    }
    p = line + line_start(line, level, &now);
    put_escaped(&p, end, msg, sizeof(msg));
    *p++ = '\n';
    emit(line, (size_t)(p - line), now);
}

void pat_log(const char *level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    pat_log_v(level, fmt, ap);
    va_end(ap);
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
    char line[PAT_LOG_PATH_MAX * 4 + 300]; /* every path byte may need 4 */
    const char *end = line + sizeof(line) - 1; /* room for the newline */
    int64_t now;
    char *p;

    if (format == PAT_LOG_JSON) {
        json_t *o = json_line("access", &now);
        json_object_set_new(o, "method", json_text(a->method, 32));
        json_object_set_new(o, "path", json_text(a->path, PAT_LOG_PATH_MAX));
        json_object_set_new(o, "status", json_integer(a->status));
        json_object_set_new(o, "ms", json_real((double)a->micros / 1000.0));
        json_object_set_new(o, "ip", json_text(a->ip, 64));
        json_object_set_new(o, "token", a->token_id ? json_integer(a->token_id) : json_null());
        json_object_set_new(o, "user", a->user_id ? json_integer(a->user_id) : json_null());
        if (a->aborted)
            json_object_set_new(o, "aborted", json_true());
        emit_json(o, now);
        return;
    }
    p = line + line_start(line, "access", &now);
    /* The method, path and address come from the client: escaped, so a
     * request cannot write a line that looks like another. */
    put_escaped(&p, end, a->method, 32);
    put_str(&p, end, " ", 1);
    put_escaped(&p, end, a->path, PAT_LOG_PATH_MAX);
    put_str(&p, end, " ", 1);
    put_int(&p, end, a->status, 1);
    put_str(&p, end, " ", 1);
    put_int(&p, end, a->micros / 1000, 1);
    put_str(&p, end, ".", 1);
    put_int(&p, end, a->micros % 1000 / 10, 2);
    put_str(&p, end, "ms ip=", 6);
    put_escaped(&p, end, a->ip, 64);
    put_str(&p, end, " token=", 7);
    put_int(&p, end, a->token_id, 1);
    put_str(&p, end, " user=", 6);
    put_int(&p, end, a->user_id, 1);
    if (a->aborted)
        put_str(&p, end, " aborted", 8);
    *p++ = '\n';
    emit(line, (size_t)(p - line), now);
}

void pat_log_flush_idle(void)
{
    int64_t now = pat_time_now();

    /* A thread still logging pushes its own lines each second; one whose
     * lock is taken is logging right now. Never wait for it. */
    pthread_mutex_lock(&buffers_lock);
    for (log_buf *b = buffers; b; b = b->next) {
        if (pthread_mutex_trylock(&b->lock) != 0)
            continue;
        if (b->len > 0 && b->pushed_second != now)
            push(b);
        pthread_mutex_unlock(&b->lock);
    }
    pthread_mutex_unlock(&buffers_lock);
}

void pat_log_flush_all(void)
{
    pthread_mutex_lock(&buffers_lock);
    for (log_buf *b = buffers; b; b = b->next) {
        pthread_mutex_lock(&b->lock);
        push(b);
        pthread_mutex_unlock(&b->lock);
    }
    pthread_mutex_unlock(&buffers_lock);
}

int pat_log_open_file(const char *path)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);

    if (fd < 0)
        return pat_error_set(PAT_EIO, "log_file", "cannot open log file %s: %s", path,
                             strerror(errno));
    /* dup2 swaps the destination in one step: a thread writing meanwhile
     * lands whole in the old file or the new one. */
    pat_log_flush_all();
    fflush(stderr);
    if (dup2(fd, STDERR_FILENO) < 0) {
        int e = errno;
        close(fd);
        return pat_error_set(PAT_EIO, "log_file", "cannot log to %s: %s", path, strerror(e));
    }
    close(fd);
    return PAT_OK;
}
