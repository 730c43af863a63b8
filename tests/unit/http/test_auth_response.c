/* Tests of src/http/auth_response.c: GET /auth's 204 answers always name
 * the principal just verified, and a token's answer is kept from its second
 * use. Each scenario runs on its own thread,
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
    bool cached;
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

/* Asks for who's answer as the handler does; an answer not kept is
 * ours, and freed once read. */
static answer ask(const pat_principal *who)
{
    answer a;
    struct MHD_Response *resp = pat_auth_response(who, &a.cached);

    a.resp = a.cached ? resp : NULL;
    copy_header(resp, "X-Auth-User", a.user, sizeof(a.user));
    copy_header(resp, "X-Auth-User-Id", a.uid, sizeof(a.uid));
    copy_header(resp, "X-Auth-Token-Id", a.tid, sizeof(a.tid));
    copy_header(resp, "X-Auth-Scopes", a.scopes, sizeof(a.scopes));
    copy_header(resp, "Cache-Control", a.cache, sizeof(a.cache));
    if (resp && !a.cached)
        MHD_destroy_response(resp);
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
    for (size_t i = 0; i < s->n; i++) {
        const pat_principal *who = &s->who[i];
        const answer *a = &s->out[i];
        char id[24];

        assert_string_equal(a->user, who->username);
        assert_string_equal(a->scopes, who->scopes);
        snprintf(id, sizeof(id), "%lld", (long long)who->token_id);
        assert_string_equal(a->tid, id);
        snprintf(id, sizeof(id), "%lld", (long long)who->user_id);
        assert_string_equal(a->uid, id);
        assert_string_equal(a->cache, "no-store");
    }
}

static void test_auth_response__kept_from_the_second_use_and_reused(void **state)
{
    pat_principal who[3] = {principal(7, 3, "alice", "read_api tokens"),
                            principal(7, 3, "alice", "read_api tokens"),
                            principal(7, 3, "alice", "read_api tokens")};
    scenario s = {who, 3, {{0}}};

    (void)state;
    play(&s);
    assert_false(s.out[0].cached);
    assert_true(s.out[1].cached);
    assert_true(s.out[2].cached);
    assert_ptr_equal(s.out[1].resp, s.out[2].resp);
}

static void test_auth_response__changed_scopes_user_or_name_answer_anew(void **state)
{
    pat_principal who[6] = {
        principal(7, 3, "alice", "read_api tokens"),
        principal(7, 3, "alice", "read_api tokens"), /* kept */
        principal(7, 3, "alice", "read_api"),        /* scopes edited */
        principal(7, 3, "alicia", "read_api"),       /* owner renamed */
        principal(7, 4, "alicia", "read_api"),       /* another owner */
        principal(7, 4, "alicia", "read_api"),       /* unchanged: reused */
    };
    scenario s = {who, 6, {{0}}};

    (void)state;
    play(&s); /* each answer names its own principal */
    assert_true(s.out[5].cached);
    assert_ptr_equal(s.out[4].resp, s.out[5].resp);
}

static void test_auth_response__tokens_sharing_a_slot_keep_their_own_names(void **state)
{
    /* 1024 slots: ids 5 and 1029 meet in one. */
    pat_principal who[7] = {
        principal(5, 1, "alice", "read_api"),    principal(5, 1, "alice", "read_api"),
        principal(1029, 2, "bob", "introspect"), principal(5, 1, "alice", "read_api"),
        principal(1029, 2, "bob", "introspect"), principal(1029, 2, "bob", "introspect"),
        principal(5, 1, "alice", "read_api")};
    scenario s = {who, 7, {{0}}};

    (void)state;
    play(&s);
    /* Seen once, bob does not evict alice's answer... */
    assert_false(s.out[2].cached);
    assert_ptr_equal(s.out[1].resp, s.out[3].resp);
    /* ...seen again, he takes the slot, and she is the newcomer. */
    assert_true(s.out[4].cached);
    assert_ptr_equal(s.out[4].resp, s.out[5].resp);
    assert_false(s.out[6].cached);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auth_response__kept_from_the_second_use_and_reused),
        cmocka_unit_test(test_auth_response__changed_scopes_user_or_name_answer_anew),
        cmocka_unit_test(test_auth_response__tokens_sharing_a_slot_keep_their_own_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
