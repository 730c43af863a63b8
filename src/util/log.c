#include "util/log.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/decimal.h"
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

void pat_log(const char *level, const char *fmt, ...)
{
    char line[LINE_MAX_BYTES];
    int64_t now;
    size_t n = line_start(line, level, &now);
    size_t room = sizeof(line) - n - 1; /* one byte kept for the newline */
    va_list ap;
    int k;

    va_start(ap, fmt);
    k = vsnprintf(line + n, room, fmt, ap);
    va_end(ap);
    if (k > 0)
        n += (size_t)k < room ? (size_t)k : room - 1; /* cut: vsnprintf wrote room - 1 */
    line[n++] = '\n';
    emit(line, n, now);
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
    char line[PAT_LOG_PATH_MAX + 200];
    const char *end = line + sizeof(line) - 1; /* room for the newline */
    int64_t now;
    char *p = line + line_start(line, "access", &now);

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
