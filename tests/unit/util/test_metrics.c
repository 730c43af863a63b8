/* Tests of src/util/metrics.c: counters kept per thread lane add up. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/metrics.h"

#define THREADS 12 /* more than the lanes, so some threads share one */
#define PER_THREAD 20000

static void *count(void *arg)
{
    (void)arg;
    for (int i = 0; i < PER_THREAD; i++) {
        pat_metrics_request(3, "/auth", 204, 120);
        pat_metrics_verify(PAT_VERIFY_OK);
        pat_metrics_cache(i % 2);
    }
    return NULL;
}

static void test_metrics__lanes_sum_exactly_across_threads(void **state)
{
    pthread_t t[THREADS];
    pat_buf out;
    char line[128];

    (void)state;
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, count, NULL), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    pat_buf_init(&out, 1 << 20);
    assert_int_equal(pat_metrics_format(&out, 0, 0, 0), 0);
    pat_buf_append(&out, "", 1);
    snprintf(line, sizeof(line), "patd_requests_total{route=\"/auth\",status=\"204\"} %d\n",
             THREADS * PER_THREAD);
    assert_non_null(strstr(out.data, line));
    snprintf(line, sizeof(line), "patd_request_duration_seconds_count %d\n",
             THREADS * PER_THREAD);
    assert_non_null(strstr(out.data, line));
    snprintf(line, sizeof(line), "patd_request_duration_seconds_bucket{le=\"0.00025\"} %d\n",
             THREADS * PER_THREAD);
    assert_non_null(strstr(out.data, line));
    snprintf(line, sizeof(line), "patd_verify_total{outcome=\"ok\"} %d\n", THREADS * PER_THREAD);
    assert_non_null(strstr(out.data, line));
    snprintf(line, sizeof(line), "patd_cache_hits_total %d\n", THREADS * PER_THREAD / 2);
    assert_non_null(strstr(out.data, line));
    pat_buf_dispose(&out);
}

/* Every route and status answered gets its line, at the edges of the
 * range and of each word of the statuses-seen bitmap too; no other. */
static void test_metrics__every_status_answered_and_no_other_is_listed(void **state)
{
    static const unsigned statuses[] = {100, 163, 164, 227, 228, 404, 599};
    pat_buf out;
    char line[128];

    (void)state;
    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
        for (unsigned n = 0; n <= i; n++)
            pat_metrics_request(PAT_METRICS_ROUTES_MAX - 2, "/edges", statuses[i], 10);
    pat_metrics_request(7, "/other", 201, 10);
    pat_buf_init(&out, 1 << 20);
    assert_int_equal(pat_metrics_format(&out, 0, 0, 0), 0);
    pat_buf_append(&out, "", 1);
    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
        snprintf(line, sizeof(line), "patd_requests_total{route=\"/edges\",status=\"%u\"} %zu\n",
                 statuses[i], i + 1);
        assert_non_null(strstr(out.data, line));
    }
    assert_non_null(strstr(out.data, "patd_requests_total{route=\"/other\",status=\"201\"} 1\n"));
    assert_null(strstr(out.data, "route=\"/edges\",status=\"200\""));
    assert_null(strstr(out.data, "route=\"/other\",status=\"200\""));
    pat_buf_dispose(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics__lanes_sum_exactly_across_threads),
        cmocka_unit_test(test_metrics__every_status_answered_and_no_other_is_listed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
