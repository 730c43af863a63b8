/* Tests of src/service/cache.c, src/service/lastuse.c and
 * src/service/ratelimit.c: the in-memory parts of the hot path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "service/cache.h"
#include "service/jwtcache.h"
#include "service/lastuse.h"
#include "service/livefilter.h"
#include "service/ratelimit.h"

static void lookup_of(uint8_t k[PAT_LOOKUP_KEY_LEN], unsigned n)
{
    memset(k, 0, PAT_LOOKUP_KEY_LEN);
    k[0] = (uint8_t)n;
    memcpy(k + 8, &n, sizeof(n));
}

static void hash_of(uint8_t h[PAT_HASH_LEN], unsigned n)
{
    memset(h, 0, PAT_HASH_LEN);
    for (int i = 0; i < PAT_HASH_LEN; i++)
        h[i] = (uint8_t)((n * 2654435761u) >> (i % 4 * 8)) ^ (uint8_t)i;
    memcpy(h + 8, &n, sizeof(n));
}

static void add_uses(void *arg, int64_t token_id, int64_t uses)
{
    (void)token_id;
    *(int64_t *)arg += uses;
}

static void test_cache__put_get_forget(void **state)
{
    pat_cache *c = pat_cache_new(0);
    pat_cached_token t, got;
    uint8_t h[PAT_HASH_LEN], k[PAT_LOOKUP_KEY_LEN];

    (void)state;
    hash_of(h, 1);
    lookup_of(k, 1);
    memset(&t, 0, sizeof(t));
    t.token_id = 7;
    t.user_id = 3;
    assert_false(pat_cache_token_get(c, k, 100, &got));
    pat_cache_token_put(c, k, h, &t, "tokens repo:read", "", 100, pat_cache_epoch(c));
    assert_string_equal(t.scopes, "tokens repo:read");
    assert_true(pat_cache_token_get(c, k, 100, &got));
    assert_int_equal(got.token_id, 7);
    assert_string_equal(got.scopes, "tokens repo:read");
    assert_int_equal(pat_cache_size(c), 1);
    pat_cache_token_forget(c, h);
    assert_false(pat_cache_token_get(c, k, 100, &got));
    assert_int_equal(pat_cache_size(c), 0);
    pat_cache_free(c);
}

static void test_cache__stale_fill_after_forget_is_dropped(void **state)
{
    pat_cache *c = pat_cache_new(0);
    pat_cached_token t, got;
    uint8_t h[PAT_HASH_LEN], other[PAT_HASH_LEN], k[PAT_LOOKUP_KEY_LEN], ko[PAT_LOOKUP_KEY_LEN];
    uint64_t epoch;

    (void)state;
    hash_of(h, 1);
    hash_of(other, 2);
    lookup_of(k, 1);
    lookup_of(ko, 2);
    memset(&t, 0, sizeof(t));
    t.token_id = 1;
    /* A miss reads the epoch, then the store; meanwhile a change forgets. */
    epoch = pat_cache_epoch(c);
    pat_cache_token_forget(c, h);
    pat_cache_token_put(c, k, h, &t, "tokens", "", 100, epoch);
    assert_false(pat_cache_token_get(c, k, 100, &got));
    /* The interned strings were still handed back for this request. */
    assert_string_equal(t.scopes, "tokens");
    pat_cache_token_put(c, ko, other, &t, "tokens", "", 100, pat_cache_epoch(c));
    assert_true(pat_cache_token_get(c, ko, 100, &got));
    pat_cache_free(c);
}

static void test_cache__negative_entries_expire(void **state)
{
    pat_cache *c = pat_cache_new(0);
    pat_cached_token t, got;
    uint8_t h[PAT_HASH_LEN], k[PAT_LOOKUP_KEY_LEN];

    (void)state;
    hash_of(h, 9);
    lookup_of(k, 9);
    memset(&t, 0, sizeof(t));
    t.negative = true;
    pat_cache_token_put(c, k, h, &t, "", "", 1000, pat_cache_epoch(c));
    assert_true(pat_cache_token_get(c, k, 1001, &got));
    assert_true(got.negative);
    assert_false(pat_cache_token_get(c, k, 1010, &got));
    /* Creating a token with that value forgets the negative answer. */
    pat_cache_token_put(c, k, h, &t, "", "", 1000, pat_cache_epoch(c));
    pat_cache_token_forget(c, h);
    assert_false(pat_cache_token_get(c, k, 1001, &got));
    pat_cache_free(c);
}

static void test_cache__bounded(void **state)
{
    pat_cache *c = pat_cache_new(640);
    pat_cached_token t;
    uint8_t h[PAT_HASH_LEN], k[PAT_LOOKUP_KEY_LEN];

    (void)state;
    memset(&t, 0, sizeof(t));
    for (unsigned i = 0; i < 10000; i++) {
        hash_of(h, i);
        lookup_of(k, i);
        t.token_id = i + 1;
        pat_cache_token_put(c, k, h, &t, "tokens", "", 1, pat_cache_epoch(c));
    }
    /* Every survivor is still findable by its stored hash. */
    for (unsigned i = 0; i < 10000; i++) {
        hash_of(h, i);
        pat_cache_token_forget(c, h);
    }
    assert_int_equal(pat_cache_size(c), 0);
    for (unsigned i = 0; i < 10000; i++) {
        hash_of(h, i);
        lookup_of(k, i);
        pat_cache_token_put(c, k, h, &t, "tokens", "", 1, pat_cache_epoch(c));
    }
    /* 64 shards of at most 11 entries each. */
    assert_true(pat_cache_size(c) <= 64 * 11);
    assert_true(pat_cache_size(c) > 0);
    pat_cache_free(c);
}

/* Uses counted in entries that eviction or a refill pushed out reach the
 * next drain: an entry's count outlives the entry. */
static void test_cache__evicted_entries_keep_their_uses(void **state)
{
    pat_cache *c = pat_cache_new(64);
    pat_cached_token t;
    uint8_t h[PAT_HASH_LEN], k[PAT_LOOKUP_KEY_LEN];
    int64_t uses = 0, drained = 0;

    (void)state;
    memset(&t, 0, sizeof(t));
    for (unsigned i = 0; i < 2000; i++) {
        hash_of(h, i);
        lookup_of(k, i);
        t.token_id = i + 1;
        pat_cache_token_put(c, k, h, &t, "tokens", "", 1, pat_cache_epoch(c));
        /* Counted, not recorded: the granularity has not passed. */
        assert_false(pat_cache_token_use(c, k, 1, 1000, 0, &uses, NULL));
    }
    assert_true(pat_cache_size(c) < 2000);
    pat_cache_drain_uses(c, 0, 0, 0, 0, add_uses, &drained);
    assert_int_equal(drained, 2000);
    pat_cache_free(c);
}

/* Interned strings go once no entry has used them for two prunes. */
static void test_cache__interned_strings_are_pruned(void **state)
{
    pat_cache *c = pat_cache_new(0);
    pat_cached_token t;
    uint8_t h[PAT_HASH_LEN], k[PAT_LOOKUP_KEY_LEN];
    char scopes[32];

    (void)state;
    memset(&t, 0, sizeof(t));
    for (unsigned i = 0; i < 100; i++) {
        hash_of(h, i);
        lookup_of(k, i);
        snprintf(scopes, sizeof(scopes), "scope-%u", i);
        pat_cache_token_put(c, k, h, &t, scopes, "", 1, pat_cache_epoch(c));
    }
    assert_int_equal(pat_cache_prune_interned(c), 0);
    for (unsigned i = 0; i < 50; i++) {
        hash_of(h, i);
        pat_cache_token_forget(c, h);
    }
    /* The first prune only marks them; "" (the cidrs) is still used. */
    assert_int_equal(pat_cache_prune_interned(c), 0);
    assert_int_equal(pat_cache_prune_interned(c), 50);
    hash_of(h, 77);
    lookup_of(k, 77);
    assert_true(pat_cache_token_get(c, k, 1, &t));
    assert_string_equal(t.scopes, "scope-77");
    pat_cache_free(c);
}

/* Every value added is found; about 1 % of others are "maybe" at capacity. */
static void test_livefilter__no_false_no_and_few_false_maybe(void **state)
{
    pat_livefilter *f = pat_livefilter_new(10000);
    uint8_t h[PAT_HASH_LEN];
    int maybe = 0;

    (void)state;
    for (unsigned i = 0; i < 10000; i++) {
        hash_of(h, i);
        pat_livefilter_add(f, h);
    }
    assert_int_equal(pat_livefilter_count(f), 10000);
    assert_int_equal(pat_livefilter_capacity(f), 10000);
    assert_true(pat_livefilter_bytes(f) < 10000 * 2);
    for (unsigned i = 0; i < 10000; i++) {
        hash_of(h, i);
        assert_true(pat_livefilter_may_contain(f, h));
    }
    for (unsigned i = 10000; i < 110000; i++) {
        hash_of(h, i);
        maybe += pat_livefilter_may_contain(f, h);
    }
    assert_true(maybe < 2000); /* under 2 % of 100 000 */
    pat_livefilter_free(f);
}

static void test_cache__users(void **state)
{
    pat_cache *c = pat_cache_new(0);
    pat_cached_user u, got;

    (void)state;
    memset(&u, 0, sizeof(u));
    u.id = 5;
    strcpy(u.username, "mia");
    u.can_manage_tokens = true;
    pat_cache_user_put(c, &u, pat_cache_epoch(c));
    assert_true(pat_cache_user_get(c, 5, &got));
    assert_string_equal(got.username, "mia");
    assert_string_equal(got.orgs, ""); /* NULL: in no organization */
    /* The organizations are kept with the owner, the caller's copy of the
     * text not needed after the put. */
    {
        char orgs[16] = "acme globex";
        u.orgs = orgs;
        pat_cache_user_forget(c, 5); /* a membership changed */
        pat_cache_user_put(c, &u, pat_cache_epoch(c));
        memset(orgs, 0, sizeof(orgs));
        assert_string_equal(u.orgs, "acme globex");
        assert_true(pat_cache_user_get(c, 5, &got));
        assert_string_equal(got.orgs, "acme globex");
        u.orgs = NULL;
    }
    pat_cache_user_forget(c, 5);
    assert_false(pat_cache_user_get(c, 5, &got));
    /* What this thread remembers of a user (user_memo) never outlives a
     * change, nor the cache: a new one may sit where the old one was. */
    u.disabled = true;
    pat_cache_user_put(c, &u, pat_cache_epoch(c));
    assert_true(pat_cache_user_get(c, 5, &got));
    assert_true(got.disabled);
    assert_true(pat_cache_user_get(c, 5, &got));
    pat_cache_free(c);
    c = pat_cache_new(0);
    assert_false(pat_cache_user_get(c, 5, &got));
    pat_cache_free(c);
}

static void test_lastuse__keeps_latest_and_counts(void **state)
{
    pat_lastuse *l = pat_lastuse_new(0);
    pat_token_touch *out = NULL;
    size_t n = 0;

    (void)state;
    pat_lastuse_record(l, 42, 1, 100, "10.0.0.1", "GET", "/a", "curl/8");
    pat_lastuse_record(l, 42, 1, 105, "10.0.0.2", "POST", "/b", "ua2");
    pat_lastuse_record(l, 42, 1, 103, "10.0.0.3", "PUT", "/c", "ua3"); /* older: count only */
    pat_lastuse_record(l, 43, 1, 101, NULL, "GET", "/x", NULL);
    /* A count without details leaves the details alone. */
    pat_lastuse_record(l, 42, 5, 0, NULL, NULL, NULL, NULL);
    pat_lastuse_take(l, &out, &n);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        if (out[i].token_id == 42) {
            assert_int_equal(out[i].uses, 8);
            assert_int_equal(out[i].last.at, 105);
            assert_string_equal(out[i].last.ip, "10.0.0.2");
            assert_string_equal(out[i].last.method, "POST");
            assert_string_equal(out[i].last.path, "/b");
        } else {
            assert_int_equal(out[i].token_id, 43);
            assert_string_equal(out[i].last.ip, "");
        }
    }
    free(out);
    pat_lastuse_take(l, &out, &n);
    assert_int_equal(n, 0);
    free(out);
    pat_lastuse_free(l);
}

/* A slot emptied by a flush and filled by another token carries none of the
 * previous token's details: a count-only record stays count-only. */
static void test_lastuse__reused_slot_has_no_stale_details(void **state)
{
    pat_lastuse *l = pat_lastuse_new(64 * 16); /* 16 slots per stripe */
    pat_token_touch *out;
    size_t n;

    (void)state;
    /* Tokens 64 * j share token 64's stripe; over j = 2..64 several of them
     * land in the slot token 64 had. */
    for (int64_t j = 2; j <= 64; j++) {
        pat_lastuse_record(l, 64, 1, 100, "10.0.0.1", "GET", "/secret-path", "curl/8");
        pat_lastuse_take(l, &out, &n);
        assert_int_equal(n, 1);
        free(out);
        assert_int_equal(pat_lastuse_record(l, 64 * j, 2, 0, NULL, NULL, NULL, NULL),
                         PAT_LASTUSE_OK);
        pat_lastuse_take(l, &out, &n);
        assert_int_equal(n, 1);
        assert_int_equal(out[0].token_id, 64 * j);
        assert_int_equal(out[0].uses, 2);
        assert_int_equal(out[0].last.at, 0);
        free(out);
    }
    pat_lastuse_free(l);
}

static void test_lastuse__full_table_drops_and_says_so(void **state)
{
    pat_lastuse *l = pat_lastuse_new(64 * 16); /* 16 slots per stripe, 12 usable */
    pat_token_touch *out = NULL;
    size_t n = 0;
    int filling = 0, full = 0;

    (void)state;
    for (int64_t id = 1; id <= 64 * 16; id++) {
        int r = pat_lastuse_record(l, id, 1, 1, "", "GET", "/", "");
        filling |= r == PAT_LASTUSE_FILLING;
        full += r == PAT_LASTUSE_FULL;
    }
    assert_true(filling);
    assert_true(full > 0);
    assert_int_equal(full, pat_lastuse_dropped(l));
    pat_lastuse_take(l, &out, &n);
    assert_int_equal(n + pat_lastuse_dropped(l), 64 * 16);
    free(out);
    pat_lastuse_free(l);
}

/* A client new to an entry is reported once; the last few are known, and
 * an unwatched use (fingerprint 0) reports nothing. */
static void test_cache__new_clients_are_reported_once(void **state)
{
    pat_cache *c = pat_cache_new(0);
    pat_cached_token t;
    uint8_t h[PAT_HASH_LEN], k[PAT_LOOKUP_KEY_LEN];
    int64_t uses = 0;
    bool fresh = true;

    (void)state;
    hash_of(h, 4);
    lookup_of(k, 4);
    memset(&t, 0, sizeof(t));
    t.token_id = 4;
    pat_cache_token_put(c, k, h, &t, "tokens", "", 1000, pat_cache_epoch(c));
    pat_cache_token_use(c, k, 1000, 60, 0, &uses, &fresh);
    assert_false(fresh);
    pat_cache_token_use(c, k, 1000, 60, 0x101, &uses, &fresh);
    assert_true(fresh);
    pat_cache_token_use(c, k, 1001, 60, 0x101, &uses, &fresh);
    assert_false(fresh);
    pat_cache_token_use(c, k, 1002, 60, 0x202, &uses, &fresh);
    assert_true(fresh);
    /* Two clients taking turns are both known. */
    for (int i = 0; i < 10; i++) {
        pat_cache_token_use(c, k, 1003, 60, i % 2 ? 0x101 : 0x202, &uses, &fresh);
        assert_false(fresh);
    }
    pat_cache_free(c);
}

/* JWTs whose keys land in one set keep their entries (a direct-mapped
 * table made two such JWTs evict each other, checking each signature again
 * on every other use); a changed token's entries no longer answer. */
static void test_jwtcache__keys_in_one_set_do_not_evict_each_other(void **state)
{
    pat_jwtcache *c = pat_jwtcache_new();
    uint8_t k[5][PAT_LOOKUP_KEY_LEN];
    pat_jwt_entry e, got;

    (void)state;
    for (int i = 0; i < 5; i++) {
        memset(k[i], 0, sizeof(k[i])); /* the same first 8 bytes: one set */
        k[i][15] = (uint8_t)(i + 1);
    }
    for (int i = 0; i < 4; i++) {
        memset(&e, 0, sizeof(e));
        e.pat_id = 10 + i;
        e.user_id = 1;
        pat_jwtcache_snapshot(c, &e);
        pat_jwtcache_put(c, k[i], &e);
    }
    for (int i = 0; i < 4; i++) {
        assert_true(pat_jwtcache_get(c, k[i], &got));
        assert_int_equal(got.pat_id, 10 + i);
    }
    /* A fifth takes one way; the other three stay. */
    e.pat_id = 14;
    pat_jwtcache_put(c, k[4], &e);
    assert_true(pat_jwtcache_get(c, k[4], &got));
    int kept = 0;
    for (int i = 0; i < 4; i++)
        kept += pat_jwtcache_get(c, k[i], &got);
    assert_int_equal(kept, 3);
    pat_jwtcache_bump_token(c, 14);
    assert_false(pat_jwtcache_get(c, k[4], &got));
    pat_jwtcache_free(c);
}

static void test_cache__uses_counted_and_recorded_once_per_granularity(void **state)
{
    pat_cache *c = pat_cache_new(0);
    pat_cached_token t;
    uint8_t h[PAT_HASH_LEN], k[PAT_LOOKUP_KEY_LEN];
    int64_t uses = 0, drained = 0;

    (void)state;
    hash_of(h, 3);
    lookup_of(k, 3);
    memset(&t, 0, sizeof(t));
    t.token_id = 3;
    pat_cache_token_put(c, k, h, &t, "tokens", "", 1000, pat_cache_epoch(c));
    assert_true(pat_cache_token_use(c, k, 1000, 60, 0, &uses, NULL));
    assert_int_equal(uses, 1);
    for (int i = 1; i < 60; i++)
        assert_false(pat_cache_token_use(c, k, 1000 + i, 60, 0, &uses, NULL));
    assert_true(pat_cache_token_use(c, k, 1060, 60, 0, &uses, NULL));
    assert_int_equal(uses, 60);
    assert_false(pat_cache_token_use(c, k, 1061, 60, 0, &uses, NULL));
    assert_false(pat_cache_token_use(c, k, 1062, 60, 0, &uses, NULL));
    /* Only entries quiet for the idle time give up their counts early. */
    assert_int_equal(pat_cache_drain_uses(c, 1100, 60, 0, 0, add_uses, &drained), 0);
    assert_int_equal(drained, 0);
    assert_int_equal(pat_cache_drain_uses(c, 1120, 60, 0, 0, add_uses, &drained), 1);
    assert_int_equal(drained, 2);
    assert_int_equal(pat_cache_drain_uses(c, 1200, 60, 0, 0, add_uses, &drained), 0);
    assert_false(pat_cache_token_use(c, k, 1063, 60, 0, &uses, NULL));
    assert_int_equal(pat_cache_drain_uses(c, 0, 0, 0, 0, add_uses, &drained), 1);
    assert_int_equal(drained, 3);
    /* Granularity 0: every use is recorded. */
    assert_true(pat_cache_token_use(c, k, 1063, 0, 0, &uses, NULL));
    assert_int_equal(uses, 1);
    pat_cache_free(c);
}

static void test_cache__quiet_sweep_looks_at_part_of_the_cache_a_time(void **state)
{
    pat_cache *c = pat_cache_new(0);
    pat_cached_token t;
    uint8_t h[PAT_HASH_LEN], k[PAT_LOOKUP_KEY_LEN];
    int64_t uses = 0, drained = 0;
    size_t calls = 0, handed = 0, first;

    (void)state;
    memset(&t, 0, sizeof(t));
    for (unsigned n = 1; n <= 256; n++) { /* four entries in each of the 64 shards */
        hash_of(h, n);
        lookup_of(k, n);
        t.token_id = n;
        pat_cache_token_put(c, k, h, &t, "tokens", "", 1000, pat_cache_epoch(c));
        pat_cache_token_use(c, k, 1000, 60, 0, &uses, NULL);
        pat_cache_token_use(c, k, 1001, 60, 0, &uses, NULL); /* counted, not recorded */
    }
    /* Looking at no more than 8 entries a time: two shards a call. */
    first = pat_cache_drain_uses(c, 2000, 60, 0, 8, add_uses, &drained);
    assert_int_equal(first, 8);
    handed = first;
    for (calls = 1; handed < 256 && calls < 100; calls++)
        handed += pat_cache_drain_uses(c, 2000, 60, 0, 8, add_uses, &drained);
    assert_int_equal(calls, 32);
    assert_int_equal(handed, 256);
    assert_int_equal(drained, 256);
    /* Without a bound, one call looks at everything. */
    for (unsigned n = 1; n <= 256; n++) {
        lookup_of(k, n);
        pat_cache_token_use(c, k, 1002, 60, 0, &uses, NULL);
    }
    assert_int_equal(pat_cache_drain_uses(c, 2000, 60, 0, 0, add_uses, &drained), 256);
    pat_cache_free(c);
}

static void test_ratelimit__engages_releases_and_is_per_key(void **state)
{
    pat_ratelimit *r = pat_ratelimit_new(3, 10);

    (void)state;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(pat_ratelimit_blocked(r, "10.0.0.1", 100), 0);
        pat_ratelimit_fail(r, "10.0.0.1", 100);
    }
    assert_int_equal(pat_ratelimit_blocked(r, "10.0.0.1", 101), 9);
    assert_int_equal(pat_ratelimit_blocked(r, "10.0.0.2", 101), 0);
    assert_int_equal(pat_ratelimit_blocked(r, "10.0.0.1", 110), 0);
    pat_ratelimit_fail(r, "10.0.0.2", 101);
    pat_ratelimit_reset(r, "10.0.0.2");
    assert_int_equal(pat_ratelimit_blocked(r, "10.0.0.2", 101), 0);
    pat_ratelimit_free(r);
}

static void test_ratelimit__bounded_memory_many_keys(void **state)
{
    pat_ratelimit *r = pat_ratelimit_new(1, 60);
    char key[32];

    (void)state;
    for (int i = 0; i < 100000; i++) {
        snprintf(key, sizeof(key), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
        pat_ratelimit_fail(r, key, 100);
    }
    /* The most recent keys are still remembered. */
    assert_true(pat_ratelimit_blocked(r, key, 100) > 0);
    pat_ratelimit_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cache__put_get_forget),
        cmocka_unit_test(test_cache__stale_fill_after_forget_is_dropped),
        cmocka_unit_test(test_cache__negative_entries_expire),
        cmocka_unit_test(test_cache__bounded),
        cmocka_unit_test(test_cache__users),
        cmocka_unit_test(test_cache__quiet_sweep_looks_at_part_of_the_cache_a_time),
        cmocka_unit_test(test_lastuse__keeps_latest_and_counts),
        cmocka_unit_test(test_lastuse__full_table_drops_and_says_so),
        cmocka_unit_test(test_lastuse__reused_slot_has_no_stale_details),
        cmocka_unit_test(test_cache__uses_counted_and_recorded_once_per_granularity),
        cmocka_unit_test(test_cache__new_clients_are_reported_once),
        cmocka_unit_test(test_jwtcache__keys_in_one_set_do_not_evict_each_other),
        cmocka_unit_test(test_cache__evicted_entries_keep_their_uses),
        cmocka_unit_test(test_livefilter__no_false_no_and_few_false_maybe),
        cmocka_unit_test(test_cache__interned_strings_are_pruned),
        cmocka_unit_test(test_ratelimit__engages_releases_and_is_per_key),
        cmocka_unit_test(test_ratelimit__bounded_memory_many_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
