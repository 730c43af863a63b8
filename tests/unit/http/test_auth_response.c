/* Tests of src/http/auth_response.c: GET /auth's cached 204 answers always
 * name the principal just verified. Each scenario runs on its own thread,
 * as on an HTTP thread, so the thread's cache is freed when it ends (and
 * valgrind sees that); checks report back to the test's thread, where
 * cmocka may fail. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/request.h"

typedef struct answer {
    const void *resp;
    char user[80], uid[24], tid[24], scopes[200], cache[24];
} answer;

static pat_principal principal(int64_t token_id, int64_t user_id, const char *username,
                               const char *scopes)
{
    pat_principal p;

    memset(&p, 0, sizeof(p));
    p.kind = PAT_AUTH_TOKEN;
    p.token_id = token_id;
    p.user_id = user_id;
    snprintf(p.username, sizeof(p.username), "%s", username);
    snprintf(p.scopes, sizeof(p.scopes), "%s", scopes);
    return p;
}

static void copy_header(struct MHD_Response *resp, const char *name, char *out, size_t n)
{
    const char *v = resp ? MHD_get_response_header(resp, name) : NULL;
    snprintf(out, n, "%s", v ? v : "(none)");
}

static answer ask(const pat_principal *who)
{
    struct MHD_Response *resp = pat_auth_response(who);
    answer a;

    memset(&a, 0, sizeof(a));
    a.resp = resp;
    copy_header(resp, "X-Auth-User", a.user, sizeof(a.user));
    copy_header(resp, "X-Auth-User-Id", a.uid, sizeof(a.uid));
    copy_header(resp, "X-Auth-Token-Id", a.tid, sizeof(a.tid));
    copy_header(resp, "X-Auth-Scopes", a.scopes, sizeof(a.scopes));
    copy_header(resp, "Cache-Control", a.cache, sizeof(a.cache));
    return a;
}

/* A scenario: the principals asked for, in order, and the answers. */
typedef struct scenario {
    const pat_principal *who;
    size_t n;
    answer out[8];
} scenario;

static void *run(void *arg)
{
    scenario *s = arg;

    for (size_t i = 0; i < s->n; i++)
        s->out[i] = ask(&s->who[i]);
    return NULL;
}

static void play(scenario *s)
{
    pthread_t t;

    assert_int_equal(pthread_create(&t, NULL, run, s), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
}

static void assert_names(const answer *a, const pat_principal *who)
{
    char id[24];

    assert_non_null(a->resp);
    assert_string_equal(a->user, who->username);
    assert_string_equal(a->scopes, who->scopes);
    snprintf(id, sizeof(id), "%lld", (long long)who->token_id);
    assert_string_equal(a->tid, id);
    snprintf(id, sizeof(id), "%lld", (long long)who->user_id);
    assert_string_equal(a->uid, id);
    assert_string_equal(a->cache, "no-store");
}

static void test_auth_response__same_principal_reuses_the_answer(void **state)
{
    pat_principal who[2] = {principal(7, 3, "alice", "read_api tokens"),
                            principal(7, 3, "alice", "read_api tokens")};
    scenario s = {who, 2, {{0}}};

    (void)state;
    play(&s);
    assert_names(&s.out[0], &who[0]);
    assert_names(&s.out[1], &who[1]);
    assert_ptr_equal(s.out[0].resp, s.out[1].resp);
}

static void test_auth_response__changed_scopes_user_or_name_answer_anew(void **state)
{
    pat_principal who[5] = {
        principal(7, 3, "alice", "read_api tokens"),
        principal(7, 3, "alice", "read_api"),  /* scopes edited */
        principal(7, 3, "alicia", "read_api"), /* owner renamed */
        principal(7, 4, "alicia", "read_api"), /* another owner */
        principal(7, 4, "alicia", "read_api"), /* unchanged: reused */
    };
    scenario s = {who, 5, {{0}}};

    (void)state;
    play(&s);
    for (size_t i = 0; i < 5; i++)
        assert_names(&s.out[i], &who[i]);
    assert_ptr_equal(s.out[3].resp, s.out[4].resp);
}

static void test_auth_response__tokens_sharing_a_slot_keep_their_own_names(void **state)
{
    /* 1024 slots: ids 5 and 1029 meet in one. */
    pat_principal who[4] = {
        principal(5, 1, "alice", "read_api"), principal(1029, 2, "bob", "introspect"),
        principal(5, 1, "alice", "read_api"), principal(1029, 2, "bob", "introspect")};
    scenario s = {who, 4, {{0}}};

    (void)state;
    play(&s);
    for (size_t i = 0; i < 4; i++)
        assert_names(&s.out[i], &who[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auth_response__same_principal_reuses_the_answer),
        cmocka_unit_test(test_auth_response__changed_scopes_user_or_name_answer_anew),
        cmocka_unit_test(test_auth_response__tokens_sharing_a_slot_keep_their_own_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
