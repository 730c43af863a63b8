/* Tests of src/util/log.c: the access line's format, which operators'
 * parsers rely on, and its bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pthread.h>

#include <cmocka.h>

#include "util/log.h"

static char path_tmpl[] = "/tmp/patd-test-log-XXXXXX";

/* Writes a through pat_log_access into a file standing in for stderr and
 * returns the line after the time (caller frees). */
static char *logged(const pat_access_line *a)
{
    char *buf = calloc(1, 8192);
    FILE *f;
    size_t n;

    assert_non_null(buf);
    assert_non_null(freopen(path_tmpl, "w", stderr));
    pat_log_access(a);
    pat_log_flush_all(); /* lines are buffered per thread */
    assert_non_null(f = fopen(path_tmpl, "r"));
    n = fread(buf, 1, 8191, f);
    fclose(f);
    buf[n] = '\0';
    /* "2026-11-22T16:20:05Z access ...\n" */
    assert_true(n > 21);
    assert_int_equal(buf[20], ' ');
    memmove(buf, buf + 21, n - 21 + 1);
    return buf;
}

static void test_log__access_line_format(void **state)
{
    char *line;

    (void)state;
    line = logged(&(pat_access_line){"GET", "/auth", "10.0.0.7", 204, 1234, 42, 7, false});
    assert_string_equal(line, "access GET /auth 204 1.23ms ip=10.0.0.7 token=42 user=7\n");
    free(line);
    line = logged(&(pat_access_line){"POST", "/api/v1/session", "::1", 401, 5, 0, 0, true});
    assert_string_equal(line, "access POST /api/v1/session 401 0.00ms ip=::1 token=0 user=0 "
                              "aborted\n");
    free(line);
    line = logged(
        &(pat_access_line){"GET", "/x", "", 500, 120009870, 9223372036854775807LL, -1, false});
    assert_string_equal(line, "access GET /x 500 120009.87ms ip= token=9223372036854775807 "
                              "user=-1\n");
    free(line);
}

static void test_log__long_path_is_cut(void **state)
{
    char *path = malloc(PAT_LOG_PATH_MAX + 500);
    char *line, *want;

    (void)state;
    memset(path, 'a', PAT_LOG_PATH_MAX + 499);
    path[PAT_LOG_PATH_MAX + 499] = '\0';
    line = logged(&(pat_access_line){"GET", path, "1.2.3.4", 404, 0, 0, 0, false});
    want = malloc(PAT_LOG_PATH_MAX + 200);
    path[PAT_LOG_PATH_MAX] = '\0';
    snprintf(want, PAT_LOG_PATH_MAX + 200, "access GET %s 404 0.00ms ip=1.2.3.4 token=0 user=0\n",
             path);
    assert_string_equal(line, want);
    free(want);
    free(line);
    free(path);
}

#define LINES_PER_THREAD 3000

static void *log_lines(void *arg)
{
    for (int i = 0; i < LINES_PER_THREAD; i++)
        pat_log_access(
            &(pat_access_line){"GET", (const char *)arg, "10.0.0.1", 204, 1000, i + 1, 1, false});
    return NULL; /* no flush: the thread's exit pushes its lines */
}

static void test_log__threads_lines_arrive_whole(void **state)
{
    pthread_t t[2];
    char *buf = malloc(1 << 22), *line, *save = NULL;
    FILE *f;
    size_t n, lines = 0;

    (void)state;
    assert_non_null(buf);
    assert_non_null(freopen(path_tmpl, "w", stderr));
    assert_int_equal(pthread_create(&t[0], NULL, log_lines, "/from-one"), 0);
    assert_int_equal(pthread_create(&t[1], NULL, log_lines, "/from-two"), 0);
    assert_int_equal(pthread_join(t[0], NULL), 0);
    assert_int_equal(pthread_join(t[1], NULL), 0);
    assert_non_null(f = fopen(path_tmpl, "r"));
    n = fread(buf, 1, (1 << 22) - 1, f);
    fclose(f);
    buf[n] = '\0';
    assert_true(n > 0 && buf[n - 1] == '\n');
    /* Every line whole, from one thread or the other, none lost. */
    for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        assert_int_equal(line[20], ' ');
        assert_true(
            strncmp(line + 21, "access GET /from-one 204 1.00ms ip=10.0.0.1 token=", 50) == 0 ||
            strncmp(line + 21, "access GET /from-two 204 1.00ms ip=10.0.0.1 token=", 50) == 0);
        lines++;
    }
    assert_int_equal(lines, 2 * LINES_PER_THREAD);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log__access_line_format),
        cmocka_unit_test(test_log__long_path_is_cut),
        cmocka_unit_test(test_log__threads_lines_arrive_whole),
    };
    int fd = mkstemp(path_tmpl), rc;

    if (fd < 0)
        return 1;
    close(fd);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    unlink(path_tmpl);
    return rc;
}
