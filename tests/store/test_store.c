/* The store conformance suite: every function of store.h against its
 * contract, run on each backend make test builds. PATD_TEST_BACKEND names
 * the backend: "sqlite" (the default: a fresh file per test) or "postgres"
 * (the database at PATD_TEST_PG, which make test starts; emptied before
 * each test). The few tests of how a backend fails are per backend. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <sodium.h>
#include <sqlite3.h>

#include "store/store.h"
#include "util/error.h"

static bool on_postgres;

/* A connection of the test's own to the test database (dbname NULL) or
 * another on its server. */
static PGconn *pg_admin(const char *dbname)
{
    const char *keys[] = {"dbname", dbname ? "dbname" : NULL, NULL};
    const char *values[] = {getenv("PATD_TEST_PG"), dbname, NULL};
    PGconn *c = PQconnectdbParams(keys, values, 1);

    assert_int_equal(PQstatus(c), CONNECTION_OK);
    return c;
}

static void pg_exec(PGconn *c, const char *sql)
{
    PGresult *res = PQexec(c, sql);

    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQclear(res);
}

/* Empties the test database: every table and migration gone. */
static void pg_reset(void)
{
    PGconn *c = pg_admin(NULL);

    pg_exec(c, "DROP SCHEMA public CASCADE; CREATE SCHEMA public");
    PQfinish(c);
}

typedef struct fixture {
    char dir[64];
    char path[128];
    pat_store *s;
    int64_t alice, bob; /* user ids */
} fixture;

static int64_t add_user(pat_store *s, const char *name, int role)
{
    pat_user u;

    memset(&u, 0, sizeof(u));
    snprintf(u.username, sizeof(u.username), "%s", name);
    snprintf(u.password_hash, sizeof(u.password_hash), "x");
    u.role = role;
    u.can_manage_tokens = true;
    u.created_at = u.updated_at = 1000;
    assert_int_equal(pat_store_user_create(s, &u), PAT_OK);
    assert_int_equal(u.version, 1);
    return u.id;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    char url[160];

    snprintf(f->dir, sizeof(f->dir), "/tmp/patd-store-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/s.db", f->dir);
    snprintf(url, sizeof(url), "sqlite:%s", f->path);
    if (on_postgres) {
        pg_reset();
        assert_int_equal(pat_store_open(&f->s, getenv("PATD_TEST_PG")), PAT_OK);
    } else {
        assert_int_equal(pat_store_open(&f->s, url), PAT_OK);
    }
    f->alice = add_user(f->s, "alice", PAT_ROLE_SUPERUSER);
    f->bob = add_user(f->s, "bob", PAT_ROLE_MEMBER);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[128];

    pat_store_close(f->s);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

/* A token record of user_id named name, whose hash is filled with seed. */
static pat_token_rec *new_token(int64_t user_id, const char *name, uint8_t seed)
{
    pat_token_rec *t = calloc(1, sizeof(*t));

    t->user_id = user_id;
    snprintf(t->name, sizeof(t->name), "%s", name);
    snprintf(t->prefix, sizeof(t->prefix), "pat_%c", 'A' + seed % 26);
    snprintf(t->scopes, sizeof(t->scopes), "tokens");
    memset(t->hash, seed, sizeof(t->hash));
    t->created_at = t->updated_at = 2000;
    t->expires_at = 9000;
    return t;
}

static size_t count_changes(pat_store *s, int64_t after, pat_change_kind kind, int64_t id)
{
    pat_change *list = NULL;
    size_t n = 0, found = 0;

    assert_int_equal(pat_store_changes_since(s, after, 1000, &list, &n), PAT_OK);
    for (size_t i = 0; i < n; i++)
        if (list[i].kind == kind && list[i].entity_id == id)
            found++;
    free(list);
    return found;
}

/* Makes every audit append fail, as a full disk or a lost connection would,
 * from outside the store (a second connection adds a trigger). */
static void inject_audit_fault(fixture *f)
{
    sqlite3 *db = NULL;

    if (on_postgres) {
        PGconn *c = pg_admin(NULL);
        pg_exec(c, "CREATE FUNCTION audit_fault() RETURNS trigger LANGUAGE plpgsql AS "
                   "$$BEGIN RAISE EXCEPTION 'injected fault'; END$$");
        pg_exec(c, "CREATE TRIGGER audit_fault BEFORE INSERT ON audit FOR EACH ROW "
                   "EXECUTE FUNCTION audit_fault()");
        PQfinish(c);
        return;
    }

    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "CREATE TRIGGER audit_fault BEFORE INSERT ON audit "
                                  "BEGIN SELECT RAISE(ABORT, 'injected fault'); END",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
}

/* ---- users ---- */

static void test_store__users_round_trip_and_unique_names(void **state)
{
    fixture *f = *state;
    pat_user u, *all = NULL;
    size_t n = 0;
    int64_t count = 0;

    assert_int_equal(pat_store_user_get(f->s, f->bob, &u), PAT_OK);
    assert_string_equal(u.username, "bob");
    assert_int_equal(u.role, PAT_ROLE_MEMBER);
    assert_true(u.can_manage_tokens);
    assert_int_equal(pat_store_user_get_by_name(f->s, "alice", &u), PAT_OK);
    assert_int_equal(u.id, f->alice);
    assert_int_equal(u.role, PAT_ROLE_SUPERUSER);
    assert_int_equal(pat_store_user_get_by_name(f->s, "carol", &u), PAT_ENOTFOUND);
    assert_int_equal(pat_store_user_get(f->s, 999, &u), PAT_ENOTFOUND);
    assert_int_equal(pat_store_user_count(f->s, &count), PAT_OK);
    assert_int_equal(count, 2);
    assert_int_equal(pat_store_user_list(f->s, &all, &n), PAT_OK);
    assert_int_equal(n, 2);
    assert_int_equal(all[0].id, f->alice);
    free(all);
    memset(&u, 0, sizeof(u));
    snprintf(u.username, sizeof(u.username), "bob");
    snprintf(u.password_hash, sizeof(u.password_hash), "x");
    u.role = PAT_ROLE_MEMBER;
    assert_int_equal(pat_store_user_create(f->s, &u), PAT_EEXISTS);
}

static void test_store__user_update_is_versioned_and_fed(void **state)
{
    fixture *f = *state;
    pat_user a, b;
    int64_t seq = 0;

    assert_int_equal(pat_store_changes_last(f->s, &seq), PAT_OK);
    assert_int_equal(pat_store_user_get(f->s, f->bob, &a), PAT_OK);
    b = a;
    a.disabled = true;
    assert_int_equal(pat_store_user_update(f->s, &a), PAT_OK);
    assert_int_equal(a.version, 2);
    assert_int_equal(count_changes(f->s, seq, PAT_CHANGE_USER, f->bob), 1);
    /* b was read before a's write: it loses, and writes nothing. */
    b.can_manage_tokens = false;
    assert_int_equal(pat_store_user_update(f->s, &b), PAT_ECONFLICT);
    assert_int_equal(pat_store_user_get(f->s, f->bob, &b), PAT_OK);
    assert_true(b.disabled);
    assert_true(b.can_manage_tokens);
    b.id = 999;
    assert_int_equal(pat_store_user_update(f->s, &b), PAT_ENOTFOUND);
}

static void test_store__an_enabled_superuser_always_remains(void **state)
{
    fixture *f = *state;
    pat_user a, b;

    assert_int_equal(pat_store_user_get(f->s, f->alice, &a), PAT_OK);
    a.role = PAT_ROLE_MEMBER;
    assert_int_equal(pat_store_user_update(f->s, &a), PAT_ECONFLICT);
    assert_string_equal(pat_error_last()->field, "superuser");
    a.role = PAT_ROLE_SUPERUSER;
    a.disabled = true;
    assert_int_equal(pat_store_user_update(f->s, &a), PAT_ECONFLICT);
    /* With a second superuser either may go, but not both. */
    assert_int_equal(pat_store_user_get(f->s, f->bob, &b), PAT_OK);
    b.role = PAT_ROLE_SUPERUSER;
    assert_int_equal(pat_store_user_update(f->s, &b), PAT_OK);
    assert_int_equal(pat_store_user_get(f->s, f->alice, &a), PAT_OK);
    a.disabled = true;
    assert_int_equal(pat_store_user_update(f->s, &a), PAT_OK);
    b.role = PAT_ROLE_MEMBER;
    assert_int_equal(pat_store_user_update(f->s, &b), PAT_ECONFLICT);
}

/* ---- tokens ---- */

static void test_store__token_ids_are_never_reused(void **state)
{
    fixture *f = *state;
    pat_token_rec *a = new_token(f->bob, "a", 1), *b = new_token(f->bob, "b", 2);

    assert_int_equal(pat_store_token_insert(f->s, a), PAT_OK);
    assert_int_equal(a->version, 1);
    assert_int_equal(pat_store_token_delete(f->s, f->bob, a->id), PAT_OK);
    assert_int_equal(pat_store_token_insert(f->s, b), PAT_OK);
    assert_true(b->id > a->id);
    free(a);
    free(b);
}

static void test_store__token_round_trip(void **state)
{
    fixture *f = *state;
    pat_token_rec *t = new_token(f->bob, "ci", 3), *got = calloc(1, sizeof(*got));
    pat_token_rec *dup = new_token(f->bob, "ci", 4), *list = NULL;
    size_t n = 0;

    snprintf(t->description, sizeof(t->description), "déploiement");
    snprintf(t->allowed_cidrs, sizeof(t->allowed_cidrs), "10.0.0.0/8");
    assert_int_equal(pat_store_token_insert(f->s, t), PAT_OK);
    assert_int_equal(pat_store_token_get(f->s, t->id, got), PAT_OK);
    assert_string_equal(got->name, "ci");
    assert_string_equal(got->description, "déploiement");
    assert_string_equal(got->allowed_cidrs, "10.0.0.0/8");
    assert_memory_equal(got->hash, t->hash, PAT_HASH_LEN);
    assert_int_equal(got->expires_at, 9000);
    assert_int_equal(got->previous_valid_until, 0);
    assert_int_equal(got->last_use.at, 0);
    assert_int_equal(pat_store_token_insert(f->s, dup), PAT_EEXISTS);
    assert_int_equal(pat_store_token_get(f->s, 999, got), PAT_ENOTFOUND);
    assert_int_equal(pat_store_token_list(f->s, f->bob, &list, &n), PAT_OK);
    assert_int_equal(n, 1);
    free(list);
    assert_int_equal(pat_store_token_list(f->s, f->alice, &list, &n), PAT_OK);
    assert_int_equal(n, 0);
    free(list);
    free(t);
    free(dup);
    free(got);
}

static void test_store__token_update_writes_only_named_fields(void **state)
{
    fixture *f = *state;
    pat_token_rec *t = new_token(f->bob, "ci", 5), *got = calloc(1, sizeof(*got));

    assert_int_equal(pat_store_token_insert(f->s, t), PAT_OK);
    snprintf(t->name, sizeof(t->name), "renamed");
    snprintf(t->scopes, sizeof(t->scopes), "should-not-be-written");
    memset(t->hash, 0x77, PAT_HASH_LEN);
    t->updated_at = 3000;
    assert_int_equal(pat_store_token_update(f->s, t, PAT_TOKEN_F_NAME), PAT_OK);
    assert_int_equal(t->version, 2);
    assert_int_equal(pat_store_token_get(f->s, t->id, got), PAT_OK);
    assert_string_equal(got->name, "renamed");
    assert_string_equal(got->scopes, "tokens");
    assert_int_equal(got->hash[0], 5);
    assert_int_equal(got->updated_at, 3000);
    assert_int_equal(got->version, 2);
    free(t);
    free(got);
}

static void test_store__token_update_loses_to_an_earlier_write(void **state)
{
    fixture *f = *state;
    pat_token_rec *t = new_token(f->bob, "ci", 6), *stale = calloc(1, sizeof(*stale)),
                  *got = calloc(1, sizeof(*got));

    assert_int_equal(pat_store_token_insert(f->s, t), PAT_OK);
    *stale = *t;
    /* A regenerate commits first... */
    memcpy(t->previous_hash, t->hash, PAT_HASH_LEN);
    t->previous_valid_until = 5000;
    memset(t->hash, 0x66, PAT_HASH_LEN);
    assert_int_equal(pat_store_token_update(f->s, t, PAT_TOKEN_F_SECRET), PAT_OK);
    /* ...so an edit read before it must not bring the old value back. */
    snprintf(stale->name, sizeof(stale->name), "edited");
    assert_int_equal(pat_store_token_update(f->s, stale, PAT_TOKEN_F_NAME | PAT_TOKEN_F_SECRET),
                     PAT_ECONFLICT);
    assert_int_equal(pat_store_token_get(f->s, t->id, got), PAT_OK);
    assert_int_equal(got->hash[0], 0x66);
    assert_int_equal(got->previous_hash[0], 6);
    assert_int_equal(got->previous_valid_until, 5000);
    assert_string_equal(got->name, "ci");
    stale->id = 999;
    assert_int_equal(pat_store_token_update(f->s, stale, PAT_TOKEN_F_NAME), PAT_ENOTFOUND);
    free(t);
    free(stale);
    free(got);
}

static void test_store__lookup_by_current_and_previous_hash(void **state)
{
    fixture *f = *state;
    pat_token_rec *t = new_token(f->bob, "ci", 7), *got = calloc(1, sizeof(*got));
    uint8_t old[PAT_HASH_LEN];
    int prev = -1;

    assert_int_equal(pat_store_token_insert(f->s, t), PAT_OK);
    memcpy(old, t->hash, PAT_HASH_LEN);
    assert_int_equal(pat_store_token_get_by_hash(f->s, old, 2000, got, &prev), PAT_OK);
    assert_int_equal(prev, 0);
    memcpy(t->previous_hash, t->hash, PAT_HASH_LEN);
    t->previous_valid_until = 2100;
    memset(t->hash, 0x71, PAT_HASH_LEN);
    assert_int_equal(pat_store_token_update(f->s, t, PAT_TOKEN_F_SECRET), PAT_OK);
    assert_int_equal(pat_store_token_get_by_hash(f->s, old, 2099, got, &prev), PAT_OK);
    assert_int_equal(prev, 1);
    assert_int_equal(got->id, t->id);
    assert_int_equal(pat_store_token_get_by_hash(f->s, old, 2100, got, &prev), PAT_ENOTFOUND);
    assert_int_equal(pat_store_token_get_by_hash(f->s, t->hash, 2100, got, &prev), PAT_OK);
    assert_int_equal(prev, 0);
    free(t);
    free(got);
}

static void test_store__token_changes_name_every_hash_touched(void **state)
{
    fixture *f = *state;
    pat_token_rec *t = new_token(f->bob, "ci", 8);
    pat_change *list = NULL;
    size_t n = 0;
    int64_t seq = 0;
    int saw_old = 0, saw_new = 0;

    assert_int_equal(pat_store_changes_last(f->s, &seq), PAT_OK);
    assert_int_equal(pat_store_token_insert(f->s, t), PAT_OK);
    assert_int_equal(count_changes(f->s, seq, PAT_CHANGE_TOKEN, t->id), 1);
    assert_int_equal(pat_store_changes_last(f->s, &seq), PAT_OK);
    memset(t->hash, 0x88, PAT_HASH_LEN);
    assert_int_equal(pat_store_token_update(f->s, t, PAT_TOKEN_F_SECRET), PAT_OK);
    assert_int_equal(pat_store_changes_since(f->s, seq, 100, &list, &n), PAT_OK);
    for (size_t i = 0; i < n; i++) {
        assert_true(list[i].seq > seq);
        assert_true(i == 0 || list[i].seq > list[i - 1].seq);
        if (list[i].has_hash && list[i].hash[0] == 8)
            saw_old = 1;
        if (list[i].has_hash && list[i].hash[0] == 0x88)
            saw_new = 1;
    }
    free(list);
    assert_true(saw_old && saw_new);
    assert_int_equal(pat_store_changes_last(f->s, &seq), PAT_OK);
    assert_int_equal(pat_store_token_delete(f->s, f->bob, t->id), PAT_OK);
    assert_int_equal(count_changes(f->s, seq, PAT_CHANGE_TOKEN, t->id), 1);
    free(t);
}

static void test_store__delete_is_by_owner_and_bulk_is_atomic(void **state)
{
    fixture *f = *state;
    pat_token_rec *a = new_token(f->bob, "a", 9), *b = new_token(f->bob, "b", 10),
                  *c = new_token(f->alice, "c", 11), *got = calloc(1, sizeof(*got));
    int64_t ids[4], deleted[4];
    size_t nd = 0;

    assert_int_equal(pat_store_token_insert(f->s, a), PAT_OK);
    assert_int_equal(pat_store_token_insert(f->s, b), PAT_OK);
    assert_int_equal(pat_store_token_insert(f->s, c), PAT_OK);
    assert_int_equal(pat_store_token_delete(f->s, f->bob, c->id), PAT_ENOTFOUND);
    ids[0] = a->id;
    ids[1] = c->id; /* not bob's: skipped */
    ids[2] = 12345;
    ids[3] = b->id;
    assert_int_equal(pat_store_token_delete_many(f->s, f->bob, ids, 4, deleted, &nd), PAT_OK);
    assert_int_equal(nd, 2);
    assert_int_equal(deleted[0], a->id);
    assert_int_equal(deleted[1], b->id);
    assert_int_equal(pat_store_token_get(f->s, c->id, got), PAT_OK);
    assert_int_equal(pat_store_token_get(f->s, a->id, got), PAT_ENOTFOUND);
    free(a);
    free(b);
    free(c);
    free(got);
}

static void test_store__touch_counts_and_skips_deleted_tokens(void **state)
{
    fixture *f = *state;
    pat_token_rec *a = new_token(f->bob, "a", 12), *b = new_token(f->bob, "b", 13),
                  *got = calloc(1, sizeof(*got));
    pat_token_touch touches[2];

    assert_int_equal(pat_store_token_insert(f->s, a), PAT_OK);
    assert_int_equal(pat_store_token_delete(f->s, f->bob, a->id), PAT_OK);
    assert_int_equal(pat_store_token_insert(f->s, b), PAT_OK);
    memset(touches, 0, sizeof(touches));
    touches[0].token_id = a->id; /* deleted: its use lands nowhere */
    touches[0].uses = 5;
    touches[0].last.at = 4000;
    snprintf(touches[0].last.user_agent, sizeof(touches[0].last.user_agent), "attacker");
    touches[1].token_id = b->id;
    touches[1].uses = 2;
    touches[1].last.at = 4001;
    snprintf(touches[1].last.ip, sizeof(touches[1].last.ip), "10.1.2.3");
    snprintf(touches[1].last.method, sizeof(touches[1].last.method), "GET");
    assert_int_equal(pat_store_token_touch_many(f->s, touches, 2), PAT_OK);
    assert_int_equal(pat_store_token_get(f->s, b->id, got), PAT_OK);
    assert_int_equal(got->use_count, 2);
    assert_int_equal(got->last_use.at, 4001);
    assert_string_equal(got->last_use.ip, "10.1.2.3");
    assert_string_equal(got->last_use.user_agent, "");
    /* An older use adds its count but not its details; versions stay. */
    touches[1].last.at = 3000;
    snprintf(touches[1].last.ip, sizeof(touches[1].last.ip), "10.9.9.9");
    assert_int_equal(pat_store_token_touch_many(f->s, &touches[1], 1), PAT_OK);
    assert_int_equal(pat_store_token_get(f->s, b->id, got), PAT_OK);
    assert_int_equal(got->use_count, 4);
    assert_string_equal(got->last_use.ip, "10.1.2.3");
    assert_int_equal(got->version, 1);
    free(a);
    free(b);
    free(got);
}

static void count_hash(void *arg, const uint8_t hash[PAT_HASH_LEN])
{
    ((int *)arg)[hash[0]]++;
}

static void test_store__token_hashes_are_every_live_value(void **state)
{
    fixture *f = *state;
    pat_token_rec *a = new_token(f->bob, "a", 40), *b = new_token(f->alice, "b", 41);
    int seen[256] = {0};
    size_t n = 0;

    assert_int_equal(pat_store_token_insert(f->s, a), PAT_OK);
    assert_int_equal(pat_store_token_insert(f->s, b), PAT_OK);
    memcpy(b->previous_hash, b->hash, PAT_HASH_LEN);
    b->previous_valid_until = 3000;
    memset(b->hash, 42, PAT_HASH_LEN);
    assert_int_equal(pat_store_token_update(f->s, b, PAT_TOKEN_F_SECRET), PAT_OK);
    assert_int_equal(pat_store_token_hashes(f->s, 2999, count_hash, seen, &n), PAT_OK);
    assert_int_equal(n, 3);
    assert_int_equal(seen[40] + seen[41] + seen[42], 3);
    memset(seen, 0, sizeof(seen));
    assert_int_equal(pat_store_token_hashes(f->s, 3000, count_hash, seen, &n), PAT_OK);
    assert_int_equal(n, 2); /* the grace is over */
    assert_int_equal(seen[41], 0);
    assert_int_equal(pat_store_token_hashes(f->s, 3000, NULL, NULL, &n), PAT_OK);
    assert_int_equal(n, 2);
    free(a);
    free(b);
}

static void test_store__list_exceeding_policy(void **state)
{
    fixture *f = *state;
    pat_token_rec *a = new_token(f->bob, "never", 14), *b = new_token(f->bob, "late", 15),
                  *c = new_token(f->bob, "soon", 16), *list = NULL;
    size_t n = 0;

    a->expires_at = 0;
    b->expires_at = 100000;
    c->expires_at = 5000;
    assert_int_equal(pat_store_token_insert(f->s, a), PAT_OK);
    assert_int_equal(pat_store_token_insert(f->s, b), PAT_OK);
    assert_int_equal(pat_store_token_insert(f->s, c), PAT_OK);
    assert_int_equal(pat_store_token_list_exceeding(f->s, 1, 10000, 10, &list, &n), PAT_OK);
    assert_int_equal(n, 2);
    free(list);
    assert_int_equal(pat_store_token_list_exceeding(f->s, 1, 0, 10, &list, &n), PAT_OK);
    assert_int_equal(n, 1);
    assert_int_equal(list[0].id, a->id);
    free(list);
    assert_int_equal(pat_store_token_list_exceeding(f->s, 1, 10000, 1, &list, &n), PAT_OK);
    assert_int_equal(n, 1);
    free(list);
    free(a);
    free(b);
    free(c);
}

/* ---- units of work ---- */

static void test_store__unit_of_work_commits_whole(void **state)
{
    fixture *f = *state;
    pat_token_rec *t = new_token(f->bob, "ci", 17), *got = calloc(1, sizeof(*got));
    pat_audit_rec r, *list = NULL;
    pat_audit_filter filter = {.action = "token.created", .limit = 10};
    size_t n = 0;

    memset(&r, 0, sizeof(r));
    snprintf(r.action, sizeof(r.action), "token.created");
    assert_int_equal(pat_store_begin(f->s), PAT_OK);
    assert_int_equal(pat_store_begin(f->s), PAT_EINVAL); /* no nesting */
    assert_int_equal(pat_store_token_insert(f->s, t), PAT_OK);
    /* The unit sees its own write. */
    assert_int_equal(pat_store_token_get(f->s, t->id, got), PAT_OK);
    assert_int_equal(pat_store_audit_append(f->s, &r), PAT_OK);
    assert_int_equal(pat_store_commit(f->s), PAT_OK);
    assert_int_equal(pat_store_commit(f->s), PAT_EINVAL); /* nothing open */
    assert_int_equal(pat_store_token_get(f->s, t->id, got), PAT_OK);
    assert_int_equal(pat_store_audit_list(f->s, &filter, &list, &n), PAT_OK);
    assert_int_equal(n, 1);
    free(list);
    free(t);
    free(got);
}

static void test_store__unit_of_work_rolls_back_whole(void **state)
{
    fixture *f = *state;
    pat_token_rec *t = new_token(f->bob, "ci", 18), *got = calloc(1, sizeof(*got));
    pat_user u;
    int64_t seq = 0, after = 0;

    assert_int_equal(pat_store_changes_last(f->s, &seq), PAT_OK);
    assert_int_equal(pat_store_begin(f->s), PAT_OK);
    assert_int_equal(pat_store_token_insert(f->s, t), PAT_OK);
    assert_int_equal(pat_store_user_get(f->s, f->bob, &u), PAT_OK);
    u.disabled = true;
    assert_int_equal(pat_store_user_update(f->s, &u), PAT_OK);
    assert_int_equal(pat_store_rollback(f->s), PAT_OK);
    assert_int_equal(pat_store_rollback(f->s), PAT_OK); /* nothing open: fine */
    assert_int_equal(pat_store_token_get(f->s, t->id, got), PAT_ENOTFOUND);
    assert_int_equal(pat_store_user_get(f->s, f->bob, &u), PAT_OK);
    assert_false(u.disabled);
    assert_int_equal(pat_store_changes_last(f->s, &after), PAT_OK);
    assert_int_equal(after, seq);
    free(t);
    free(got);
}

static void test_store__failing_audit_write_rolls_the_change_back(void **state)
{
    fixture *f = *state;
    pat_token_rec *t = new_token(f->bob, "ci", 19), *got = calloc(1, sizeof(*got));
    pat_audit_rec r;

    inject_audit_fault(f);
    memset(&r, 0, sizeof(r));
    snprintf(r.action, sizeof(r.action), "token.created");
    assert_int_equal(pat_store_begin(f->s), PAT_OK);
    assert_int_equal(pat_store_token_insert(f->s, t), PAT_OK);
    assert_int_equal(pat_store_audit_append(f->s, &r), PAT_EIO);
    assert_int_equal(pat_store_rollback(f->s), PAT_OK);
    assert_int_equal(pat_store_token_get(f->s, t->id, got), PAT_ENOTFOUND);
    free(t);
    free(got);
}

/* A failed call inside a unit writes nothing of its own, and the unit
 * goes on. */
static void test_store__failed_call_inside_a_unit_leaves_no_part(void **state)
{
    fixture *f = *state;
    pat_token_rec *a = new_token(f->bob, "a", 20), *b = new_token(f->bob, "a", 21),
                  *got = calloc(1, sizeof(*got));
    int64_t seq = 0;

    assert_int_equal(pat_store_begin(f->s), PAT_OK);
    assert_int_equal(pat_store_token_insert(f->s, a), PAT_OK);
    assert_int_equal(pat_store_changes_last(f->s, &seq), PAT_OK);
    assert_int_equal(pat_store_token_insert(f->s, b), PAT_EEXISTS);
    assert_int_equal(count_changes(f->s, seq, PAT_CHANGE_TOKEN, 0), 0);
    {
        int64_t now_seq = 0;
        assert_int_equal(pat_store_changes_last(f->s, &now_seq), PAT_OK);
        assert_int_equal(now_seq, seq);
    }
    assert_int_equal(pat_store_commit(f->s), PAT_OK);
    assert_int_equal(pat_store_token_get(f->s, a->id, got), PAT_OK);
    free(a);
    free(b);
    free(got);
}

typedef struct writer_arg {
    pat_store *s;
    int64_t user_id;
    int rc;
} writer_arg;

static void *other_writer(void *p)
{
    writer_arg *w = p;
    pat_token_rec *t = new_token(w->user_id, "from-another-thread", 22);

    w->rc = pat_store_token_insert(w->s, t);
    free(t);
    return NULL;
}

/* Another thread's write waits for the unit and is not part of it. */
static void test_store__other_threads_do_not_join_a_unit(void **state)
{
    fixture *f = *state;
    pat_token_rec *list = NULL;
    writer_arg w = {f->s, f->bob, -100};
    pthread_t th;
    size_t n = 0;

    assert_int_equal(pat_store_begin(f->s), PAT_OK);
    assert_int_equal(pthread_create(&th, NULL, other_writer, &w), 0);
    usleep(50000);
    assert_int_equal(pat_store_rollback(f->s), PAT_OK);
    pthread_join(th, NULL);
    assert_int_equal(w.rc, PAT_OK);
    assert_int_equal(pat_store_token_list(f->s, f->bob, &list, &n), PAT_OK);
    assert_int_equal(n, 1);
    free(list);
}

/* ---- sessions, settings, changes, audit ---- */

static void test_store__sessions(void **state)
{
    fixture *f = *state;
    pat_session_rec a, b, got;

    memset(&a, 0, sizeof(a));
    a.id_hash[0] = 1;
    a.user_id = f->bob;
    a.expires_at = 500;
    snprintf(a.ip, sizeof(a.ip), "127.0.0.1");
    b = a;
    b.id_hash[0] = 2;
    b.expires_at = 5000;
    assert_int_equal(pat_store_session_insert(f->s, &a), PAT_OK);
    assert_int_equal(pat_store_session_insert(f->s, &b), PAT_OK);
    assert_int_equal(pat_store_session_insert(f->s, &b), PAT_EEXISTS);
    assert_int_equal(pat_store_session_get(f->s, a.id_hash, &got), PAT_OK);
    assert_string_equal(got.ip, "127.0.0.1");
    assert_int_equal(pat_store_session_set_confirmed(f->s, a.id_hash, 777), PAT_OK);
    assert_int_equal(pat_store_session_get(f->s, a.id_hash, &got), PAT_OK);
    assert_int_equal(got.confirmed_until, 777);
    assert_int_equal(pat_store_session_prune(f->s, 1000), PAT_OK);
    assert_int_equal(pat_store_session_get(f->s, a.id_hash, &got), PAT_ENOTFOUND);
    assert_int_equal(pat_store_session_set_confirmed(f->s, a.id_hash, 1), PAT_ENOTFOUND);
    assert_int_equal(pat_store_session_delete_user(f->s, f->bob, b.id_hash), PAT_OK);
    assert_int_equal(pat_store_session_get(f->s, b.id_hash, &got), PAT_OK);
    assert_int_equal(pat_store_session_delete_user(f->s, f->bob, NULL), PAT_OK);
    assert_int_equal(pat_store_session_get(f->s, b.id_hash, &got), PAT_ENOTFOUND);
    assert_int_equal(pat_store_session_delete(f->s, b.id_hash), PAT_OK);
}

static void test_store__settings_never_cut(void **state)
{
    fixture *f = *state;
    char small[4], big[64];
    int64_t seq = 0;

    assert_int_equal(pat_store_setting_get(f->s, "policy", big, sizeof(big)), PAT_ENOTFOUND);
    assert_int_equal(pat_store_changes_last(f->s, &seq), PAT_OK);
    assert_int_equal(pat_store_setting_set(f->s, "policy", "default=7"), PAT_OK);
    assert_int_equal(count_changes(f->s, seq, PAT_CHANGE_POLICY, 0), 1);
    assert_int_equal(pat_store_setting_set(f->s, "policy", "default=30"), PAT_OK);
    assert_int_equal(pat_store_setting_get(f->s, "policy", big, sizeof(big)), PAT_OK);
    assert_string_equal(big, "default=30");
    assert_int_equal(pat_store_setting_get(f->s, "policy", small, sizeof(small)), PAT_EIO);
}

static void test_store__changes_feed_pages_and_prunes(void **state)
{
    fixture *f = *state;
    pat_change *list = NULL;
    size_t n = 0;
    int64_t first = 0, last = 0;

    assert_int_equal(pat_store_changes_last(f->s, &first), PAT_OK);
    for (int i = 0; i < 5; i++)
        assert_int_equal(pat_store_setting_set(f->s, "k", "v"), PAT_OK);
    assert_int_equal(pat_store_changes_since(f->s, first, 2, &list, &n), PAT_OK);
    assert_int_equal(n, 2);
    assert_int_equal(list[0].seq, first + 1);
    free(list);
    assert_int_equal(pat_store_changes_last(f->s, &last), PAT_OK);
    assert_int_equal(last, first + 5);
    /* Pruning everything keeps the newest, so numbers never go back. */
    assert_int_equal(pat_store_changes_prune(f->s, INT64_MAX), PAT_OK);
    assert_int_equal(pat_store_changes_since(f->s, 0, 100, &list, &n), PAT_OK);
    assert_int_equal(n, 1);
    assert_int_equal(list[0].seq, last);
    free(list);
    assert_int_equal(pat_store_setting_set(f->s, "k", "w"), PAT_OK);
    assert_int_equal(pat_store_changes_last(f->s, &first), PAT_OK);
    assert_int_equal(first, last + 1);
}

static void test_store__audit_filters_pages_and_prunes(void **state)
{
    fixture *f = *state;
    pat_audit_rec r, *list = NULL;
    pat_audit_filter all = {.limit = 100};
    pat_audit_filter bobs = {.limit = 100};
    size_t n = 0;

    for (int i = 0; i < 6; i++) {
        memset(&r, 0, sizeof(r));
        r.at = 100 + i;
        r.actor_user_id = i % 2 ? f->bob : f->alice;
        snprintf(r.action, sizeof(r.action), "%s", i % 3 ? "token.created" : "session.created");
        assert_int_equal(pat_store_audit_append(f->s, &r), PAT_OK);
        assert_true(r.id > 0);
    }
    assert_int_equal(pat_store_audit_list(f->s, &all, &list, &n), PAT_OK);
    assert_int_equal(n, 6);
    assert_true(list[0].id > list[5].id); /* newest first */
    all.before_id = list[2].id;
    free(list);
    assert_int_equal(pat_store_audit_list(f->s, &all, &list, &n), PAT_OK);
    assert_int_equal(n, 3);
    free(list);
    bobs.user_id = f->bob;
    bobs.action = "token.created";
    bobs.since = 102;
    assert_int_equal(pat_store_audit_list(f->s, &bobs, &list, &n), PAT_OK);
    assert_int_equal(n, 1); /* i = 5: bob, token.created, at 105 */
    free(list);
    assert_int_equal(pat_store_audit_prune(f->s, 104), PAT_OK);
    all.before_id = 0;
    assert_int_equal(pat_store_audit_list(f->s, &all, &list, &n), PAT_OK);
    assert_int_equal(n, 2);
    free(list);
}

/* A store that cannot keep a write says so, for reads of readiness and for
 * every write, instead of accepting writes it will lose. */
static void test_store__a_deleted_database_refuses_writes(void **state)
{
    fixture *f = *state;
    pat_token_rec *t = new_token(f->bob, "lost", 50);
    char path[160];

    assert_int_equal(pat_store_ping(f->s), PAT_OK);
    assert_int_equal(unlink(f->path), 0);
    snprintf(path, sizeof(path), "%s-wal", f->path);
    unlink(path);
    assert_int_equal(pat_store_ping(f->s), PAT_EUNAVAIL);
    assert_int_equal(pat_store_token_insert(f->s, t), PAT_EUNAVAIL);
    assert_int_equal(pat_store_setting_set(f->s, "k", "v"), PAT_EUNAVAIL);
    assert_int_equal(pat_store_begin(f->s), PAT_EUNAVAIL);
    free(t);
}

/* An installation made before version 2 keeps its rows, gets versions, and
 * from then on never reuses an id, not even one it had handed out. */
static void test_store__upgrade_from_v1_keeps_rows(void **state)
{
    char dir[64], path[128], url[160], sqlpath[512], cmd[128];
    const char *root = PAT_SOURCE_ROOT; /* from meson.build */
    pat_token_rec *t = new_token(1, "new", 30), *got = calloc(1, sizeof(*got));
    sqlite3 *db = NULL;
    pat_store *s = NULL;
    FILE *fp;
    char *sql = calloc(1, 65536);
    size_t len;

    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/patd-upgrade-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/v1.db", dir);
    snprintf(sqlpath, sizeof(sqlpath), "%s/src/store/migrations/sqlite/0001_init.sql", root);
    assert_non_null(fp = fopen(sqlpath, "r"));
    len = fread(sql, 1, 65535, fp);
    fclose(fp);
    assert_true(len > 0);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db,
                     "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT "
                     "NOT NULL, applied_at INTEGER NOT NULL);"
                     "INSERT INTO schema_migrations VALUES (1, '0001_init.sql', 0);"
                     "INSERT INTO users VALUES (1, 'admin', '', 'x', 'superuser', 0, 1, 1, 1);"
                     "INSERT INTO tokens (id, user_id, name, prefix, secret_hash, scopes, "
                     "created_at, updated_at) VALUES (7, 1, 'old', 'pat_x', x'01', 'tokens', 1, 1);"
                     "INSERT INTO tokens (id, user_id, name, prefix, secret_hash, scopes, "
                     "created_at, updated_at) VALUES (8, 1, 'gone', 'pat_y', x'02', 'tokens', 1, 1);"
                     "DELETE FROM tokens WHERE id = 8;",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    snprintf(url, sizeof(url), "sqlite:%s", path);
    assert_int_equal(pat_store_open(&s, url), PAT_OK);
    assert_int_equal(pat_store_token_get(s, 7, got), PAT_OK);
    assert_string_equal(got->name, "old");
    assert_int_equal(got->version, 1);
    assert_string_equal(got->orgs, ""); /* usable in every organization of its owner */
    {
        /* The installation became the organization 'default', the
         * superuser its owner, with their permission. */
        pat_membership *m = NULL;
        size_t nm = 0;
        assert_int_equal(pat_store_member_list(s, 0, 1, &m, &nm), PAT_OK);
        assert_int_equal(nm, 1);
        assert_string_equal(m[0].slug, "default");
        assert_int_equal(m[0].role, PAT_ORG_OWNER);
        assert_true(m[0].can_manage_tokens);
        free(m);
    }
    assert_int_equal(pat_store_token_insert(s, t), PAT_OK);
    /* 8 was deleted before the upgrade: v1 could not know, so the floor is
     * the largest id present (7); from here on nothing is reused. */
    assert_true(t->id >= 8);
    assert_int_equal(pat_store_token_delete(s, 1, t->id), PAT_OK);
    t->hash[0] = 99;
    assert_int_equal(pat_store_token_insert(s, t), PAT_OK);
    assert_true(t->id > 8);
    pat_store_close(s);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    free(sql);
    free(t);
    free(got);
}

/* Signing keys: kept sealed as given, listed oldest first, a kid once,
 * and fed, so every instance loads a new one; deleted once retired. */
static void test_store__signing_keys(void **state)
{
    fixture *f = *state;
    pat_key_rec a, b, *list = NULL;
    size_t n = 0;
    int64_t seq = 0;

    memset(&a, 0, sizeof(a));
    snprintf(a.kid, sizeof(a.kid), "kid-a");
    snprintf(a.algorithm, sizeof(a.algorithm), "ES256");
    for (size_t i = 0; i < 150; i++)
        a.sealed[i] = (uint8_t)(i * 7);
    a.sealed_len = 150;
    a.created_at = 100;
    a.activates_at = 100;
    b = a;
    snprintf(b.kid, sizeof(b.kid), "kid-b");
    snprintf(b.algorithm, sizeof(b.algorithm), "EdDSA");
    b.created_at = 200;
    b.activates_at = 500;
    assert_int_equal(pat_store_changes_last(f->s, &seq), PAT_OK);
    assert_int_equal(pat_store_key_insert(f->s, &b), PAT_OK);
    assert_int_equal(pat_store_key_insert(f->s, &a), PAT_OK);
    assert_int_equal(pat_store_key_insert(f->s, &a), PAT_EEXISTS);
    assert_int_equal(count_changes(f->s, seq, PAT_CHANGE_KEY, 0), 2);
    assert_int_equal(pat_store_key_list(f->s, &list, &n), PAT_OK);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].kid, "kid-a");
    assert_int_equal(list[0].sealed_len, 150);
    assert_memory_equal(list[0].sealed, a.sealed, 150);
    assert_string_equal(list[1].algorithm, "EdDSA");
    assert_int_equal(list[1].activates_at, 500);
    free(list);
    list = NULL;
    /* Deleted for good, fed, and once only. */
    assert_int_equal(pat_store_changes_last(f->s, &seq), PAT_OK);
    assert_int_equal(pat_store_key_delete(f->s, "kid-a"), PAT_OK);
    assert_int_equal(pat_store_key_delete(f->s, "kid-a"), PAT_ENOTFOUND);
    assert_int_equal(count_changes(f->s, seq, PAT_CHANGE_KEY, 0), 1);
    assert_int_equal(pat_store_key_list(f->s, &list, &n), PAT_OK);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].kid, "kid-b");
    free(list);
}

/* The outbox: added in a unit of work (and gone with its rollback), claimed
 * once (a lease), marked, counted. */
static void test_store__outbox(void **state)
{
    fixture *f = *state;
    pat_outbox_rec m, *list = NULL;
    pat_outbox_counts c;
    size_t n = 0;

    memset(&m, 0, sizeof(m));
    m.created_at = 100;
    m.next_try_at = 100;
    m.user_id = f->bob;
    snprintf(m.recipient, sizeof(m.recipient), "bob@example.com");
    snprintf(m.subject, sizeof(m.subject), "hello");
    snprintf(m.body, sizeof(m.body), "body");
    snprintf(m.message_id, sizeof(m.message_id), "<1@x>");
    assert_int_equal(pat_store_begin(f->s), PAT_OK);
    assert_int_equal(pat_store_outbox_add(f->s, &m), PAT_OK);
    assert_int_equal(pat_store_rollback(f->s), PAT_OK);
    assert_int_equal(pat_store_outbox_counts(f->s, &c), PAT_OK);
    assert_int_equal(c.pending, 0);
    assert_int_equal(pat_store_outbox_add(f->s, &m), PAT_OK);
    assert_true(m.id > 0);
    assert_int_equal(pat_store_outbox_claim(f->s, 99, 400, 10, &list, &n), PAT_OK);
    assert_int_equal(n, 0); /* not due yet */
    free(list);
    assert_int_equal(pat_store_outbox_claim(f->s, 100, 400, 10, &list, &n), PAT_OK);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].body, "body");
    assert_string_equal(list[0].message_id, "<1@x>");
    free(list);
    /* Leased: a second claim gets nothing until the lease ends. */
    assert_int_equal(pat_store_outbox_claim(f->s, 200, 500, 10, &list, &n), PAT_OK);
    assert_int_equal(n, 0);
    free(list);
    assert_int_equal(pat_store_outbox_mark(f->s, m.id, PAT_MAIL_PENDING, 1, 160, 0, "refused"),
                     PAT_OK);
    assert_int_equal(pat_store_outbox_counts(f->s, &c), PAT_OK);
    assert_int_equal(c.pending, 1);
    assert_int_equal(c.oldest_pending_at, 100);
    assert_int_equal(pat_store_outbox_retry_all(f->s, 120), PAT_OK);
    assert_int_equal(pat_store_outbox_claim(f->s, 120, 500, 10, &list, &n), PAT_OK);
    assert_int_equal(n, 1);
    assert_int_equal(list[0].attempts, 1);
    assert_string_equal(list[0].last_error, "refused");
    free(list);
    assert_int_equal(pat_store_outbox_mark(f->s, m.id, PAT_MAIL_SENT, 2, 0, 130, ""), PAT_OK);
    assert_int_equal(pat_store_outbox_counts(f->s, &c), PAT_OK);
    assert_int_equal(c.pending, 0);
    assert_int_equal(c.sent, 1);
    assert_int_equal(pat_store_outbox_list(f->s, 10, &list, &n), PAT_OK);
    assert_int_equal(n, 1);
    assert_int_equal(list[0].status, PAT_MAIL_SENT);
    assert_int_equal(list[0].sent_at, 130);
    assert_string_equal(list[0].body, ""); /* lists never carry bodies */
    free(list);
}

static void test_store__token_flags_round_trip_and_edit(void **state)
{
    fixture *f = *state;
    pat_token_rec *t = new_token(f->bob, "decoy", 41), *got = calloc(1, sizeof(*got));

    t->flags = PAT_TOKEN_FLAG_CANARY;
    assert_int_equal(pat_store_token_insert(f->s, t), PAT_OK);
    assert_int_equal(pat_store_token_get(f->s, t->id, got), PAT_OK);
    assert_int_equal(got->flags, PAT_TOKEN_FLAG_CANARY);
    /* Written only when named. */
    t->flags = 0;
    assert_int_equal(pat_store_token_update(f->s, t, PAT_TOKEN_F_NAME), PAT_OK);
    assert_int_equal(pat_store_token_get(f->s, t->id, got), PAT_OK);
    assert_int_equal(got->flags, PAT_TOKEN_FLAG_CANARY);
    t->flags = PAT_TOKEN_FLAG_CANARY | PAT_TOKEN_FLAG_NO_CLIENT_ALERTS;
    assert_int_equal(pat_store_token_update(f->s, t, PAT_TOKEN_F_FLAGS), PAT_OK);
    assert_int_equal(pat_store_token_get(f->s, t->id, got), PAT_OK);
    assert_int_equal(got->flags, PAT_TOKEN_FLAG_CANARY | PAT_TOKEN_FLAG_NO_CLIENT_ALERTS);
    free(t);
    free(got);
}

static pat_token_client client(int64_t token_id, const char *network, const char *product,
                               int64_t at)
{
    pat_token_client c;

    memset(&c, 0, sizeof(c));
    c.token_id = token_id;
    snprintf(c.network, sizeof(c.network), "%s", network);
    snprintf(c.product, sizeof(c.product), "%s", product);
    snprintf(c.ip, sizeof(c.ip), "%s", network);
    snprintf(c.user_agent, sizeof(c.user_agent), "%s/1 at %lld", product, (long long)at);
    c.last_seen = at;
    return c;
}

/* What was known before each sighting, the newest seen kept, alert times,
 * and rows of deleted tokens pruned. */
static void test_store__token_clients(void **state)
{
    fixture *f = *state;
    pat_token_rec *t = new_token(f->bob, "ci", 42);
    pat_token_client c, *list = NULL;
    pat_client_history h;
    size_t n = 0;

    assert_int_equal(pat_store_token_insert(f->s, t), PAT_OK);
    c = client(t->id, "10.0.0.0/24", "curl", 100);
    assert_int_equal(pat_store_client_seen(f->s, &c, &h), PAT_OK);
    assert_int_equal(h.first_seen, 0);
    assert_false(h.network_known);
    assert_false(h.product_known);
    c = client(t->id, "10.0.0.0/24", "curl", 200);
    assert_int_equal(pat_store_client_seen(f->s, &c, &h), PAT_OK);
    assert_int_equal(h.first_seen, 100);
    assert_true(h.network_known);
    assert_true(h.product_known);
    /* An older sighting arriving late moves nothing back. */
    c = client(t->id, "10.0.0.0/24", "curl", 150);
    assert_int_equal(pat_store_client_seen(f->s, &c, NULL), PAT_OK);
    c = client(t->id, "192.0.2.0/24", "curl", 300);
    assert_int_equal(pat_store_client_seen(f->s, &c, &h), PAT_OK);
    assert_false(h.network_known);
    assert_true(h.product_known);
    assert_int_equal(h.last_alert_at, 0);
    assert_int_equal(pat_store_client_alerted(f->s, t->id, "192.0.2.0/24", "curl", 301), PAT_OK);
    c = client(t->id, "192.0.2.0/24", "python-requests", 400);
    assert_int_equal(pat_store_client_seen(f->s, &c, &h), PAT_OK);
    assert_true(h.network_known);
    assert_false(h.product_known);
    assert_int_equal(h.last_alert_at, 301);
    assert_int_equal(pat_store_client_list(f->s, t->id, 10, &list, &n), PAT_OK);
    assert_int_equal(n, 3);
    assert_string_equal(list[0].product, "python-requests");
    assert_string_equal(list[2].network, "10.0.0.0/24");
    assert_int_equal(list[2].first_seen, 100);
    assert_int_equal(list[2].last_seen, 200);
    assert_string_equal(list[2].user_agent, "curl/1 at 200");
    assert_int_equal(list[1].alerted_at, 301);
    free(list);
    /* At most PAT_CLIENTS_KEPT: the least recently seen go. */
    for (int i = 0; i < PAT_CLIENTS_KEPT + 5; i++) {
        char net[32];
        snprintf(net, sizeof(net), "198.51.%d.0/24", i);
        c = client(t->id, net, "curl", 1000 + i);
        assert_int_equal(pat_store_client_seen(f->s, &c, NULL), PAT_OK);
    }
    assert_int_equal(pat_store_client_list(f->s, t->id, 100, &list, &n), PAT_OK);
    assert_true(n <= PAT_CLIENTS_KEPT + 1);
    assert_true(n >= PAT_CLIENTS_KEPT);
    assert_int_equal(list[0].last_seen, 1000 + PAT_CLIENTS_KEPT + 4);
    free(list);
    /* A batch: each sighting sees those before it. */
    {
        pat_token_client two[2];
        pat_client_history hh[2];
        two[0] = client(t->id, "203.0.113.0/24", "wget", 5000);
        two[1] = client(t->id, "203.0.113.0/24", "wget", 5001);
        assert_int_equal(pat_store_clients_seen(f->s, two, 2, hh), PAT_OK);
        assert_false(hh[0].network_known);
        assert_true(hh[1].network_known);
        assert_true(hh[1].product_known);
    }
    assert_int_equal(pat_store_token_delete(f->s, f->bob, t->id), PAT_OK);
    assert_int_equal(pat_store_clients_prune(f->s), PAT_OK);
    assert_int_equal(pat_store_client_list(f->s, t->id, 100, &list, &n), PAT_OK);
    assert_int_equal(n, 0);
    free(list);
    free(t);
}

/* A rotation's row: previous-value uses counted with the latest kept,
 * the new value's first use only, gone with the token or its previous
 * value. */
static void test_store__rotations(void **state)
{
    fixture *f = *state;
    pat_token_rec *t = new_token(f->bob, "rot", 43);
    pat_rotation_rec r, got, *list = NULL;
    pat_token_touch touch[4];
    size_t n = 0;

    t->previous_valid_until = 5000;
    memset(t->previous_hash, 0x44, PAT_HASH_LEN);
    assert_int_equal(pat_store_token_insert(f->s, t), PAT_OK);
    assert_int_equal(pat_store_rotation_get(f->s, t->id, &got), PAT_ENOTFOUND);
    memset(&r, 0, sizeof(r));
    r.token_id = t->id;
    r.started_at = 1000;
    r.retire_when_unused = 600;
    assert_int_equal(pat_store_rotation_put(f->s, &r), PAT_OK);
    memset(touch, 0, sizeof(touch));
    touch[0].token_id = -t->id; /* the previous value */
    touch[0].uses = 3;
    touch[0].last.at = 1100;
    snprintf(touch[0].last.ip, sizeof(touch[0].last.ip), "10.0.0.5");
    snprintf(touch[0].last.user_agent, sizeof(touch[0].last.user_agent), "curl/8.5");
    touch[1] = touch[0];
    touch[1].uses = 2;
    touch[1].last.at = 1050; /* older: counted, not kept */
    snprintf(touch[1].last.ip, sizeof(touch[1].last.ip), "10.0.0.9");
    touch[2].token_id = t->id; /* the new value */
    touch[2].uses = 1;
    touch[2].last.at = 1200;
    snprintf(touch[2].last.ip, sizeof(touch[2].last.ip), "10.0.0.7");
    touch[3] = touch[2];
    touch[3].last.at = 1300; /* later: not the first */
    snprintf(touch[3].last.ip, sizeof(touch[3].last.ip), "10.0.0.8");
    assert_int_equal(pat_store_rotation_touch_many(f->s, touch, 4), PAT_OK);
    touch[0].token_id = -999; /* not rotating: skipped */
    assert_int_equal(pat_store_rotation_touch_many(f->s, touch, 1), PAT_OK);
    assert_int_equal(pat_store_rotation_get(f->s, t->id, &got), PAT_OK);
    assert_int_equal(got.retire_when_unused, 600);
    assert_int_equal(got.previous_uses, 5);
    assert_int_equal(got.previous_last.at, 1100);
    assert_string_equal(got.previous_last.ip, "10.0.0.5");
    assert_string_equal(got.previous_last.user_agent, "curl/8.5");
    assert_int_equal(got.current_first.at, 1200);
    assert_string_equal(got.current_first.ip, "10.0.0.7");
    assert_int_equal(pat_store_rotation_list(f->s, &list, &n), PAT_OK);
    assert_int_equal(n, 1);
    free(list);
    /* Alive until the previous value dies. */
    assert_int_equal(pat_store_rotations_prune(f->s, 4999), PAT_OK);
    assert_int_equal(pat_store_rotation_get(f->s, t->id, &got), PAT_OK);
    assert_int_equal(pat_store_rotations_prune(f->s, 5000), PAT_OK);
    assert_int_equal(pat_store_rotation_get(f->s, t->id, &got), PAT_ENOTFOUND);
    assert_int_equal(pat_store_rotation_put(f->s, &r), PAT_OK);
    assert_int_equal(pat_store_rotation_delete(f->s, t->id), PAT_OK);
    assert_int_equal(pat_store_rotation_get(f->s, t->id, &got), PAT_ENOTFOUND);
    free(t);
}

/* Scope uses: counts add up, the latest time is kept, fresh tells a first
 * use, lists are per person (or one token), deleted tokens' go. */
static void test_store__scope_uses(void **state)
{
    fixture *f = *state;
    pat_token_rec *t = new_token(f->bob, "su", 44), *other = new_token(f->alice, "su2", 45);
    pat_scope_use u[2], *list = NULL;
    bool fresh[2] = {false, false};
    size_t n = 0;

    assert_int_equal(pat_store_token_insert(f->s, t), PAT_OK);
    assert_int_equal(pat_store_token_insert(f->s, other), PAT_OK);
    memset(u, 0, sizeof(u));
    u[0].token_id = t->id;
    snprintf(u[0].scope, sizeof(u[0].scope), "projects:read");
    u[0].last_used_at = 100;
    u[0].uses = 3;
    u[1] = u[0];
    u[1].token_id = other->id;
    assert_int_equal(pat_store_scope_uses_add(f->s, u, 2, fresh), PAT_OK);
    assert_true(fresh[0]);
    assert_true(fresh[1]);
    u[0].last_used_at = 90; /* older: counted, not kept */
    u[0].uses = 2;
    assert_int_equal(pat_store_scope_uses_add(f->s, u, 1, fresh), PAT_OK);
    assert_false(fresh[0]);
    assert_int_equal(pat_store_scope_uses_list(f->s, f->bob, 0, &list, &n), PAT_OK);
    assert_int_equal(n, 1);
    assert_int_equal(list[0].uses, 5);
    assert_int_equal(list[0].last_used_at, 100);
    assert_string_equal(list[0].scope, "projects:read");
    free(list);
    assert_int_equal(pat_store_scope_uses_list(f->s, f->bob, other->id, &list, &n), PAT_OK);
    assert_int_equal(n, 0); /* alice's token, asked under bob */
    free(list);
    assert_int_equal(pat_store_token_delete(f->s, f->bob, t->id), PAT_OK);
    assert_int_equal(pat_store_scope_uses_prune(f->s), PAT_OK);
    assert_int_equal(pat_store_scope_uses_add(f->s, u, 1, fresh), PAT_OK);
    assert_true(fresh[0]); /* its old rows are gone */
    free(t);
    free(other);
}

/* Organizations and memberships: slugs once, versioned renames, members
 * by org and by person, every membership write fed as a change of the
 * person; tokens' organizations round trip; the policy's and the audit
 * log's views of one organization. */
static void test_store__orgs_and_members(void **state)
{
    fixture *f = *state;
    pat_org acme, got, *orgs = NULL;
    pat_membership m, *list = NULL;
    pat_token_rec *t = new_token(f->bob, "org-tok", 70), *u = new_token(f->bob, "other", 71);
    pat_token_rec *out = NULL, *back = calloc(1, sizeof(*back));
    pat_audit_rec r, *events = NULL;
    pat_audit_filter af = {.limit = 100};
    int64_t seq = 0;
    size_t n = 0;

    memset(&acme, 0, sizeof(acme));
    snprintf(acme.slug, sizeof(acme.slug), "acme");
    snprintf(acme.name, sizeof(acme.name), "Acme");
    acme.created_at = acme.updated_at = 100;
    assert_int_equal(pat_store_org_create(f->s, &acme), PAT_OK);
    assert_true(acme.id > 0);
    assert_int_equal(acme.version, 1);
    got = acme;
    assert_int_equal(pat_store_org_create(f->s, &got), PAT_EEXISTS);
    assert_int_equal(pat_store_org_get(f->s, "acme", &got), PAT_OK);
    assert_int_equal(got.id, acme.id);
    assert_int_equal(pat_store_org_get(f->s, "nosuch", &got), PAT_ENOTFOUND);
    snprintf(acme.name, sizeof(acme.name), "Acme Corp");
    assert_int_equal(pat_store_org_update(f->s, &acme), PAT_OK);
    assert_int_equal(acme.version, 2);
    got.version = 1;
    assert_int_equal(pat_store_org_update(f->s, &got), PAT_ECONFLICT);
    assert_int_equal(pat_store_org_get(f->s, "acme", &got), PAT_OK);
    assert_string_equal(got.name, "Acme Corp");
    /* The migration made the installation's own organization. */
    assert_int_equal(pat_store_org_list(f->s, &orgs, &n), PAT_OK);
    assert_int_equal(n, 2);
    assert_string_equal(orgs[0].slug, "acme");
    assert_string_equal(orgs[1].slug, "default");
    free(orgs);

    memset(&m, 0, sizeof(m));
    m.org_id = acme.id;
    m.user_id = f->bob;
    m.role = PAT_ORG_MEMBER;
    m.can_manage_tokens = false;
    assert_int_equal(pat_store_changes_last(f->s, &seq), PAT_OK);
    assert_int_equal(pat_store_member_add(f->s, &m), PAT_OK);
    assert_int_equal(count_changes(f->s, seq, PAT_CHANGE_USER, f->bob), 1);
    assert_int_equal(pat_store_member_add(f->s, &m), PAT_EEXISTS);
    m.user_id = 999999;
    assert_int_equal(pat_store_member_add(f->s, &m), PAT_ENOTFOUND);
    m.user_id = f->alice;
    m.role = PAT_ORG_OWNER;
    m.can_manage_tokens = true;
    assert_int_equal(pat_store_member_add(f->s, &m), PAT_OK);
    assert_int_equal(pat_store_member_list(f->s, acme.id, 0, &list, &n), PAT_OK);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].username, "alice");
    assert_int_equal(list[0].role, PAT_ORG_OWNER);
    assert_string_equal(list[1].username, "bob");
    assert_false(list[1].can_manage_tokens);
    assert_string_equal(list[1].slug, "acme");
    assert_string_equal(list[1].org_name, "Acme Corp");
    free(list);
    assert_int_equal(pat_store_member_list(f->s, 0, f->bob, &list, &n), PAT_OK);
    assert_int_equal(n, 1);
    assert_int_equal(list[0].org_id, acme.id);
    free(list);
    assert_int_equal(pat_store_member_get(f->s, acme.id, f->bob, &m), PAT_OK);
    m.can_manage_tokens = true;
    assert_int_equal(pat_store_changes_last(f->s, &seq), PAT_OK);
    assert_int_equal(pat_store_member_update(f->s, &m), PAT_OK);
    assert_int_equal(count_changes(f->s, seq, PAT_CHANGE_USER, f->bob), 1);
    assert_int_equal(pat_store_member_get(f->s, acme.id, f->bob, &m), PAT_OK);
    assert_true(m.can_manage_tokens);

    /* A token's organizations; those the policy of acme looks at. */
    t->expires_at = 0;
    snprintf(t->orgs, sizeof(t->orgs), "acme");
    u->expires_at = 0;
    snprintf(u->orgs, sizeof(u->orgs), "acmeish other");
    assert_int_equal(pat_store_token_insert(f->s, t), PAT_OK);
    assert_int_equal(pat_store_token_insert(f->s, u), PAT_OK);
    assert_int_equal(pat_store_token_get(f->s, t->id, back), PAT_OK);
    assert_string_equal(back->orgs, "acme");
    assert_int_equal(pat_store_token_list_exceeding_in(f->s, acme.id, 1, 0, 10, &out, &n), PAT_OK);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].id, t->id);
    free(out);
    back->orgs[0] = '\0';
    assert_int_equal(pat_store_token_update(f->s, back, PAT_TOKEN_F_ORGS), PAT_OK);
    assert_int_equal(pat_store_token_get(f->s, t->id, back), PAT_OK);
    assert_string_equal(back->orgs, "");
    assert_string_equal(back->name, "org-tok");

    /* acme's audit log: its own events and its members'. */
    memset(&r, 0, sizeof(r));
    snprintf(r.action, sizeof(r.action), "org.updated");
    r.org_id = acme.id;
    assert_int_equal(pat_store_audit_append(f->s, &r), PAT_OK);
    memset(&r, 0, sizeof(r));
    snprintf(r.action, sizeof(r.action), "token.created");
    r.actor_user_id = f->bob;
    assert_int_equal(pat_store_audit_append(f->s, &r), PAT_OK);
    memset(&r, 0, sizeof(r));
    snprintf(r.action, sizeof(r.action), "elsewhere");
    assert_int_equal(pat_store_audit_append(f->s, &r), PAT_OK);
    af.org_id = acme.id;
    assert_int_equal(pat_store_audit_list(f->s, &af, &events, &n), PAT_OK);
    assert_int_equal(n, 2);
    assert_string_equal(events[0].action, "token.created");
    assert_string_equal(events[1].action, "org.updated");
    assert_int_equal(events[1].org_id, acme.id);
    free(events);

    assert_int_equal(pat_store_member_remove(f->s, acme.id, f->bob), PAT_OK);
    assert_int_equal(pat_store_member_remove(f->s, acme.id, f->bob), PAT_ENOTFOUND);
    assert_int_equal(pat_store_member_get(f->s, acme.id, f->bob, &m), PAT_ENOTFOUND);
    free(t);
    free(u);
    free(back);
}

/* pat_store_copy from the backend under test into a fresh SQLite store:
 * every row with its id, hashes, use and version; ids the source handed
 * out to rows deleted since stay used; never into a store with people. */
static void test_store__copy_keeps_every_row_and_never_merges(void **state)
{
    fixture *f = *state;
    pat_token_rec *a = new_token(f->bob, "kept", 60), *b = new_token(f->bob, "gone", 61),
                  *got = calloc(1, sizeof(*got));
    pat_token_touch touch = {0, 7, {1234, "10.0.0.1", "GET", "/x", "curl/8"}};
    pat_session_rec sess;
    pat_audit_rec r;
    pat_store_counts n;
    pat_org org;
    pat_membership mem;
    pat_token_client client;
    pat_scope_use use;
    pat_rotation_rec rot;
    pat_store *to = NULL;
    char url[200], value[32];
    int prev = 0;

    assert_int_equal(pat_store_token_insert(f->s, a), PAT_OK);
    assert_int_equal(pat_store_token_insert(f->s, b), PAT_OK);
    assert_int_equal(pat_store_token_delete(f->s, f->bob, b->id), PAT_OK);
    touch.token_id = a->id;
    assert_int_equal(pat_store_token_touch_many(f->s, &touch, 1), PAT_OK);
    memset(&sess, 0, sizeof(sess));
    sess.id_hash[0] = 9;
    sess.user_id = f->bob;
    sess.expires_at = 99999;
    assert_int_equal(pat_store_session_insert(f->s, &sess), PAT_OK);
    memset(&r, 0, sizeof(r));
    snprintf(r.action, sizeof(r.action), "token.created");
    assert_int_equal(pat_store_audit_append(f->s, &r), PAT_OK);
    assert_int_equal(pat_store_setting_set(f->s, "policy", "default=9"), PAT_OK);
    memset(&org, 0, sizeof(org));
    snprintf(org.slug, sizeof(org.slug), "copied");
    snprintf(org.name, sizeof(org.name), "Copied");
    assert_int_equal(pat_store_org_create(f->s, &org), PAT_OK);
    memset(&mem, 0, sizeof(mem));
    mem.org_id = org.id;
    mem.user_id = f->bob;
    mem.role = PAT_ORG_OWNER;
    assert_int_equal(pat_store_member_add(f->s, &mem), PAT_OK);
    /* What use taught about a: a client, a scope, a rotation. */
    memset(&client, 0, sizeof(client));
    client.token_id = a->id;
    snprintf(client.network, sizeof(client.network), "10.0.0.0/24");
    snprintf(client.product, sizeof(client.product), "curl");
    snprintf(client.ip, sizeof(client.ip), "10.0.0.7");
    client.first_seen = client.last_seen = 500;
    assert_int_equal(pat_store_clients_seen(f->s, &client, 1, NULL), PAT_OK);
    client.last_seen = 900;
    snprintf(client.ip, sizeof(client.ip), "10.0.0.8");
    assert_int_equal(pat_store_clients_seen(f->s, &client, 1, NULL), PAT_OK);
    assert_int_equal(pat_store_client_alerted(f->s, a->id, "10.0.0.0/24", "curl", 700), PAT_OK);
    memset(&use, 0, sizeof(use));
    use.token_id = a->id;
    snprintf(use.scope, sizeof(use.scope), "tokens");
    use.last_used_at = 800;
    use.uses = 41;
    assert_int_equal(pat_store_scope_uses_add(f->s, &use, 1, NULL), PAT_OK);
    memset(&rot, 0, sizeof(rot));
    rot.token_id = a->id;
    rot.started_at = 600;
    rot.retire_when_unused = 3600;
    rot.previous_uses = 5;
    assert_int_equal(pat_store_rotation_put(f->s, &rot), PAT_OK);

    snprintf(url, sizeof(url), "sqlite:%s/copy.db", f->dir);
    assert_int_equal(pat_store_open(&to, url), PAT_OK);
    assert_int_equal(pat_store_copy(f->s, to, &n), PAT_OK);
    assert_int_equal(n.users, 2);
    assert_int_equal(n.tokens, 1);
    assert_int_equal(n.sessions, 1);
    assert_int_equal(n.audit, 1);
    assert_int_equal(n.orgs, 2); /* with the source's 'default' */
    assert_int_equal(n.members, 1);
    assert_int_equal(pat_store_member_get(to, org.id, f->bob, &mem), PAT_OK);
    assert_string_equal(mem.slug, "copied");
    assert_int_equal(mem.role, PAT_ORG_OWNER);
    {
        pat_token_client *clients = NULL;
        pat_scope_use *uses = NULL;
        size_t nc = 0, nu = 0;
        assert_int_equal(pat_store_client_list(to, a->id, 10, &clients, &nc), PAT_OK);
        assert_int_equal(nc, 1);
        assert_int_equal(clients[0].first_seen, 500);
        assert_int_equal(clients[0].last_seen, 900);
        assert_int_equal(clients[0].alerted_at, 700);
        assert_string_equal(clients[0].ip, "10.0.0.8");
        free(clients);
        assert_int_equal(pat_store_scope_uses_list(to, f->bob, 0, &uses, &nu), PAT_OK);
        assert_int_equal(nu, 1);
        assert_int_equal(uses[0].uses, 41);
        assert_int_equal(uses[0].last_used_at, 800);
        free(uses);
        assert_int_equal(pat_store_rotation_get(to, a->id, &rot), PAT_OK);
        assert_int_equal(rot.retire_when_unused, 3600);
        assert_int_equal(rot.previous_uses, 5);
    }
    assert_int_equal(pat_store_token_get_by_hash(to, a->hash, 0, got, &prev), PAT_OK);
    assert_int_equal(got->id, a->id);
    assert_int_equal(got->use_count, 7);
    assert_string_equal(got->last_use.user_agent, "curl/8");
    assert_int_equal(got->version, a->version);
    assert_int_equal(pat_store_setting_get(to, "policy", value, sizeof(value)), PAT_OK);
    assert_string_equal(value, "default=9");
    /* b's id was handed out before: the copy never hands it out again. */
    b->hash[0] = 62;
    assert_int_equal(pat_store_token_insert(to, b), PAT_OK);
    assert_true(b->id > a->id + 1);
    assert_int_equal(pat_store_copy(f->s, to, NULL), PAT_ECONFLICT);
    pat_store_close(to);
    free(a);
    free(b);
    free(got);
}

/* SQLite has no notifications: waiting for a change just waits. */
static void test_store__sqlite_is_written_by_one_process(void **state)
{
    fixture *f = *state;

    assert_false(pat_store_shared(f->s));
    assert_int_equal(pat_store_changes_wait(f->s, 20), PAT_OK);
}

/* PostgreSQL: a database that cannot be reached (connections refused,
 * the store's own cut by the server) fails ping and every write with
 * PAT_EUNAVAIL; once it is back the store reconnects by itself. */
static void test_store__an_unreachable_database_refuses_then_recovers(void **state)
{
    fixture *f = *state;
    pat_token_rec *t = new_token(f->bob, "lost", 50), *got = calloc(1, sizeof(*got));
    PGconn *admin = pg_admin("postgres");

    assert_int_equal(pat_store_ping(f->s), PAT_OK);
    pg_exec(admin, "ALTER DATABASE patd ALLOW_CONNECTIONS false");
    pg_exec(admin, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                   "WHERE datname = 'patd' AND pid <> pg_backend_pid()");
    usleep(100000);
    assert_int_equal(pat_store_ping(f->s), PAT_EUNAVAIL);
    assert_int_equal(pat_store_token_insert(f->s, t), PAT_EUNAVAIL);
    assert_int_equal(pat_store_setting_set(f->s, "k", "v"), PAT_EUNAVAIL);
    assert_int_equal(pat_store_begin(f->s), PAT_EUNAVAIL);
    pg_exec(admin, "ALTER DATABASE patd ALLOW_CONNECTIONS true");
    usleep(600000); /* past the reconnect delay */
    assert_int_equal(pat_store_ping(f->s), PAT_OK);
    assert_int_equal(pat_store_token_insert(f->s, t), PAT_OK);
    /* A connection the server kills between calls is replaced unseen. */
    pg_exec(admin, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                   "WHERE datname = 'patd' AND pid <> pg_backend_pid()");
    usleep(100000);
    assert_int_equal(pat_store_token_get(f->s, t->id, got), PAT_OK);
    {
        int prev = -1;
        assert_int_equal(pat_store_token_get_by_hash(f->s, t->hash, 0, got, &prev), PAT_OK);
    }
    PQfinish(admin);
    free(t);
    free(got);
}

typedef struct waiter {
    pat_store *s;
    int64_t waited_ms;
    int rc;
} waiter;

static void *wait_for_change(void *p)
{
    waiter *w = p;
    struct timespec a, b;

    clock_gettime(CLOCK_MONOTONIC, &a);
    w->rc = pat_store_changes_wait(w->s, 5000);
    clock_gettime(CLOCK_MONOTONIC, &b);
    w->waited_ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
    return NULL;
}

/* PostgreSQL: a commit on one store wakes another store's listener at
 * once (NOTIFY at commit), and a rolled-back change wakes nobody. */
static void test_store__a_commit_wakes_other_listeners(void **state)
{
    fixture *f = *state;
    pat_token_rec *t = new_token(f->bob, "wake", 70);
    waiter w = {NULL, 0, -100};
    pthread_t th;

    assert_true(pat_store_shared(f->s));
    assert_int_equal(pat_store_open(&w.s, getenv("PATD_TEST_PG")), PAT_OK);
    assert_int_equal(pat_store_changes_wait(w.s, 10), PAT_OK); /* LISTEN now */
    /* Rolled back: no notification. */
    assert_int_equal(pat_store_begin(f->s), PAT_OK);
    assert_int_equal(pat_store_token_insert(f->s, t), PAT_OK);
    assert_int_equal(pat_store_rollback(f->s), PAT_OK);
    assert_int_equal(pthread_create(&th, NULL, wait_for_change, &w), 0);
    usleep(300000);
    assert_int_equal(pat_store_token_insert(f->s, t), PAT_OK);
    pthread_join(th, NULL);
    assert_int_equal(w.rc, PAT_OK);
    assert_true(w.waited_ms >= 250); /* not woken by the rollback */
    assert_true(w.waited_ms < 1500); /* woken by the commit, not the timeout */
    pat_store_close(w.s);
    free(t);
}

typedef struct opener {
    pat_store *s;
    int rc;
} opener;

static void *open_store(void *p)
{
    opener *o = p;

    o->rc = pat_store_open(&o->s, getenv("PATD_TEST_PG"));
    return NULL;
}

/* PostgreSQL: instances starting together on an empty database migrate
 * it once (the others wait for the lock and find nothing to do). */
static void test_store__instances_starting_together_migrate_once(void **state)
{
    opener o[4];
    pthread_t th[4];
    PGconn *c;
    PGresult *res;

    (void)state;
    pg_reset();
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, open_store, &o[i]), 0);
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(o[i].rc, PAT_OK);
        pat_store_close(o[i].s);
    }
    c = pg_admin(NULL);
    res = PQexec(c, "SELECT COUNT(*), COUNT(DISTINCT version) FROM schema_migrations");
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    assert_string_equal(PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
    assert_true(strtol(PQgetvalue(res, 0, 0), NULL, 10) >= 2);
    PQclear(res);
    PQfinish(c);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const char *backend = getenv("PATD_TEST_BACKEND");
    const struct CMUnitTest postgres_only[] = {
        T(test_store__an_unreachable_database_refuses_then_recovers),
        T(test_store__a_commit_wakes_other_listeners),
        cmocka_unit_test(test_store__instances_starting_together_migrate_once),
    };
    const struct CMUnitTest sqlite_only[] = {
        T(test_store__a_deleted_database_refuses_writes),
        T(test_store__sqlite_is_written_by_one_process),
        cmocka_unit_test(test_store__upgrade_from_v1_keeps_rows),
    };
    const struct CMUnitTest tests[] = {
        T(test_store__users_round_trip_and_unique_names),
        T(test_store__user_update_is_versioned_and_fed),
        T(test_store__an_enabled_superuser_always_remains),
        T(test_store__token_ids_are_never_reused),
        T(test_store__token_round_trip),
        T(test_store__token_update_writes_only_named_fields),
        T(test_store__token_update_loses_to_an_earlier_write),
        T(test_store__lookup_by_current_and_previous_hash),
        T(test_store__token_changes_name_every_hash_touched),
        T(test_store__delete_is_by_owner_and_bulk_is_atomic),
        T(test_store__touch_counts_and_skips_deleted_tokens),
        T(test_store__list_exceeding_policy),
        T(test_store__token_hashes_are_every_live_value),
        T(test_store__unit_of_work_commits_whole),
        T(test_store__unit_of_work_rolls_back_whole),
        T(test_store__failing_audit_write_rolls_the_change_back),
        T(test_store__failed_call_inside_a_unit_leaves_no_part),
        T(test_store__other_threads_do_not_join_a_unit),
        T(test_store__sessions),
        T(test_store__settings_never_cut),
        T(test_store__changes_feed_pages_and_prunes),
        T(test_store__audit_filters_pages_and_prunes),
        T(test_store__copy_keeps_every_row_and_never_merges),
        T(test_store__signing_keys),
        T(test_store__outbox),
        T(test_store__token_flags_round_trip_and_edit),
        T(test_store__token_clients),
        T(test_store__rotations),
        T(test_store__scope_uses),
        T(test_store__orgs_and_members),
    };
    int failed;

    if (sodium_init() < 0)
        return 1;
    on_postgres = backend && strcmp(backend, "postgres") == 0;
    if (on_postgres && !getenv("PATD_TEST_PG")) {
        fprintf(stderr, "PATD_TEST_PG is not set: make test starts PostgreSQL and sets it\n");
        return 1;
    }
    failed = cmocka_run_group_tests_name(on_postgres ? "store_postgres" : "store_sqlite", tests,
                                         NULL, NULL);
    if (on_postgres)
        failed += cmocka_run_group_tests_name("store_postgres_faults", postgres_only, NULL, NULL);
    else
        failed += cmocka_run_group_tests_name("store_sqlite_faults", sqlite_only, NULL, NULL);
    return failed;
}
