/* Tests of the token rules in src/service over a real SQLite file, with a
 * clock the tests move. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>
#include <sqlite3.h>

#include "service/service.h"
#include "service/service_int.h"
#include "store/store.h"
#include "util/error.h"
#include "util/metrics.h"
#include "util/time.h"

#define T0 1800000000

static int64_t fake_now = T0;

static int64_t clock_fn(void)
{
    return fake_now;
}

typedef struct fixture {
    char dir[64];
    pat_store *store;
    pat_service *svc;
    pat_config *config;
    uint8_t key[PAT_KEY_LEN];
    pat_principal admin;  /* session, confirmed */
    pat_principal member; /* session, confirmed */
} fixture;

static void make_user(fixture *f, const char *name, int role, pat_principal *p)
{
    pat_user u;

    memset(&u, 0, sizeof(u));
    strcpy(u.username, name);
    strcpy(u.password_hash, "x"); /* never signs in here */
    u.role = role;
    u.can_manage_tokens = true;
    assert_int_equal(pat_store_user_create(f->store, &u), PAT_OK);
    memset(p, 0, sizeof(*p));
    p->kind = PAT_AUTH_SESSION;
    p->user_id = u.id;
    strcpy(p->username, name);
    p->role = role;
    p->can_manage_tokens = true;
    p->confirmed_until = T0 + 1000000;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    pat_service_options o;
    char url[128];

    fake_now = T0;
    strcpy(f->dir, "/tmp/patd-unit-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(url, sizeof(url), "sqlite:%s/t.db", f->dir);
    assert_int_equal(pat_store_open(&f->store, url), PAT_OK);
    f->config = calloc(1, sizeof(*f->config));
    pat_config_defaults(f->config);
    f->config->last_use_granularity_seconds = 0; /* every use recorded, unless a test says */
    assert_int_equal(pat_catalog_add_scope(&f->config->catalog, "repo:read", "", PAT_ROLES_ALL),
                     PAT_OK);
    assert_int_equal(pat_catalog_add_set(&f->config->catalog, "CI", "", "repo:read tokens"),
                     PAT_OK);
    memset(&o, 0, sizeof(o));
    o.store = f->store;
    o.config = f->config;
    randombytes_buf(o.key, sizeof(o.key));
    memcpy(f->key, o.key, sizeof(f->key));
    o.clock = clock_fn;
    assert_int_equal(pat_service_new(&f->svc, &o), PAT_OK);
    make_user(f, "admin", PAT_ROLE_SUPERUSER, &f->admin);
    make_user(f, "mia", PAT_ROLE_MEMBER, &f->member);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[128];

    pat_service_free(f->svc);
    pat_store_close(f->store);
    free(f->config);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static const char *const TOKENS_SCOPE[] = {"tokens"};

static int create(fixture *f, const pat_principal *who, const char *name, pat_token_rec *t,
                  char value[PAT_TOKEN_BUF])
{
    pat_token_input in;

    memset(&in, 0, sizeof(in));
    in.name = name;
    in.has_scopes = true;
    in.scopes = TOKENS_SCOPE;
    in.nscopes = 1;
    return pat_tokens_create(f->svc, who, NULL, &in, t, value);
}

static int verify(fixture *f, const char *value, pat_principal *out)
{
    pat_verify_request vr;

    memset(&vr, 0, sizeof(vr));
    vr.token = value;
    vr.len = strlen(value);
    vr.client_ip = "127.0.0.1";
    return pat_service_verify(f->svc, &vr, out);
}

/* Verifies with no client address: nothing counts against a rate limit. */
static int verify_anywhere(fixture *f, const char *value, pat_principal *out)
{
    pat_verify_request vr;

    memset(&vr, 0, sizeof(vr));
    vr.token = value;
    vr.len = strlen(value);
    return pat_service_verify(f->svc, &vr, out);
}

static void test_tokens__create_defaults_to_seven_days_and_verifies(void **state)
{
    fixture *f = *state;
    pat_token_rec t;
    pat_principal p;
    char v[PAT_TOKEN_BUF];

    assert_int_equal(create(f, &f->member, "ci", &t, v), PAT_OK);
    assert_int_equal(t.expires_at, T0 + 7 * 86400);
    assert_string_equal(t.scopes, "tokens");
    assert_memory_equal(t.prefix, v, 10);
    assert_int_equal(verify(f, v, &p), PAT_OK);
    assert_int_equal(p.token_id, t.id);
    assert_int_equal(p.user_id, f->member.user_id);
}

static void test_tokens__names_unique_per_owner(void **state)
{
    fixture *f = *state;
    pat_token_rec t;
    char v[PAT_TOKEN_BUF];

    assert_int_equal(create(f, &f->member, "ci", &t, v), PAT_OK);
    assert_int_equal(create(f, &f->member, "ci", &t, v), PAT_EEXISTS);
    assert_string_equal(pat_error_last()->field, "name");
    /* Another person may use the same name. */
    assert_int_equal(create(f, &f->admin, "ci", &t, v), PAT_OK);
}

static void test_tokens__expiry_presets_and_custom(void **state)
{
    fixture *f = *state;
    pat_token_rec t;
    pat_token_input in;
    char v[PAT_TOKEN_BUF];

    memset(&in, 0, sizeof(in));
    in.name = "a";
    in.scope_set = "CI";
    in.has_expiry = true;
    in.expiry.kind = PAT_EXPIRY_DAYS;
    in.expiry.days = 90;
    assert_int_equal(pat_tokens_create(f->svc, &f->member, NULL, &in, &t, v), PAT_OK);
    assert_int_equal(t.expires_at, T0 + 90 * 86400);
    assert_string_equal(t.scopes, "tokens repo:read");
    in.name = "b";
    in.expiry.days = 45;
    assert_int_equal(pat_tokens_create(f->svc, &f->member, NULL, &in, &t, v), PAT_EINVAL);
    in.expiry.kind = PAT_EXPIRY_AT;
    in.expiry.at = T0 - 1;
    assert_int_equal(pat_tokens_create(f->svc, &f->member, NULL, &in, &t, v), PAT_EINVAL);
    in.expiry.at = T0 + 1234;
    assert_int_equal(pat_tokens_create(f->svc, &f->member, NULL, &in, &t, v), PAT_OK);
    assert_int_equal(t.expires_at, T0 + 1234);
    in.name = "c";
    in.expiry.kind = PAT_EXPIRY_NEVER;
    assert_int_equal(pat_tokens_create(f->svc, &f->member, NULL, &in, &t, v), PAT_OK);
    assert_int_equal(t.expires_at, 0);
}

static void test_tokens__expired_at_exact_second(void **state)
{
    fixture *f = *state;
    pat_token_rec t;
    pat_principal p;
    pat_token_input in;
    char v[PAT_TOKEN_BUF];

    memset(&in, 0, sizeof(in));
    in.name = "short";
    in.scope_set = "CI";
    in.has_expiry = true;
    in.expiry.kind = PAT_EXPIRY_AT;
    in.expiry.at = T0 + 10;
    assert_int_equal(pat_tokens_create(f->svc, &f->member, NULL, &in, &t, v), PAT_OK);
    fake_now = T0 + 9;
    assert_int_equal(verify(f, v, &p), PAT_OK);
    fake_now = T0 + 10;
    assert_int_equal(verify(f, v, &p), PAT_EAUTH);
    assert_string_equal(pat_tokens_status(&t, fake_now), "expired");
}

static void test_tokens__disabled_cannot_be_edited_or_used(void **state)
{
    fixture *f = *state;
    pat_token_rec t, u;
    pat_principal p;
    pat_token_input in;
    char v[PAT_TOKEN_BUF];

    assert_int_equal(create(f, &f->member, "ci", &t, v), PAT_OK);
    assert_int_equal(pat_tokens_set_disabled(f->svc, &f->member, NULL, t.id, true, &u), PAT_OK);
    assert_string_equal(pat_tokens_status(&u, fake_now), "disabled");
    assert_int_equal(verify(f, v, &p), PAT_EAUTH);
    memset(&in, 0, sizeof(in));
    in.description = "new";
    assert_int_equal(pat_tokens_update(f->svc, &f->member, NULL, t.id, &in, &u), PAT_ECONFLICT);
    assert_int_equal(pat_tokens_set_disabled(f->svc, &f->member, NULL, t.id, false, &u), PAT_OK);
    assert_int_equal(verify(f, v, &p), PAT_OK);
    assert_int_equal(pat_tokens_update(f->svc, &f->member, NULL, t.id, &in, &u), PAT_OK);
    assert_string_equal(u.description, "new");
}

static void test_tokens__unknown_scope_and_role_ceiling(void **state)
{
    fixture *f = *state;
    pat_token_rec t;
    pat_token_input in;
    char v[PAT_TOKEN_BUF];
    const char *bad[] = {"nope"};
    const char *admin[] = {"admin"};

    memset(&in, 0, sizeof(in));
    in.name = "x";
    in.has_scopes = true;
    in.scopes = bad;
    in.nscopes = 1;
    assert_int_equal(pat_tokens_create(f->svc, &f->member, NULL, &in, &t, v), PAT_EINVAL);
    in.scopes = admin;
    assert_int_equal(pat_tokens_create(f->svc, &f->member, NULL, &in, &t, v), PAT_EFORBIDDEN);
    assert_int_equal(pat_tokens_create(f->svc, &f->admin, NULL, &in, &t, v), PAT_OK);
    in.nscopes = 0;
    in.name = "y";
    assert_int_equal(pat_tokens_create(f->svc, &f->admin, NULL, &in, &t, v), PAT_EINVAL);
}

static void test_tokens__token_caller_cannot_exceed_itself(void **state)
{
    fixture *f = *state;
    pat_token_rec t;
    pat_principal tok;
    pat_token_input in;
    char v[PAT_TOKEN_BUF];
    const char *more[] = {"tokens", "repo:read"};

    assert_int_equal(create(f, &f->member, "caller", &t, v), PAT_OK);
    assert_int_equal(verify(f, v, &tok), PAT_OK);
    memset(&in, 0, sizeof(in));
    in.name = "child";
    in.has_scopes = true;
    in.scopes = more;
    in.nscopes = 2;
    assert_int_equal(pat_tokens_create(f->svc, &tok, NULL, &in, &t, v), PAT_EFORBIDDEN);
    in.nscopes = 1;
    in.has_expiry = true;
    in.expiry.kind = PAT_EXPIRY_DAYS;
    in.expiry.days = 30; /* the caller lives 7 days */
    assert_int_equal(pat_tokens_create(f->svc, &tok, NULL, &in, &t, v), PAT_EFORBIDDEN);
    in.has_expiry = false;
    assert_int_equal(pat_tokens_create(f->svc, &tok, NULL, &in, &t, v), PAT_OK);
}

static void test_tokens__token_without_tokens_scope_cannot_manage(void **state)
{
    fixture *f = *state;
    pat_token_rec t;
    pat_principal tok;
    pat_token_input in;
    pat_token_rec *list = NULL;
    size_t n = 0;
    char v[PAT_TOKEN_BUF];
    const char *repo[] = {"repo:read"};

    memset(&in, 0, sizeof(in));
    in.name = "reader";
    in.has_scopes = true;
    in.scopes = repo;
    in.nscopes = 1;
    assert_int_equal(pat_tokens_create(f->svc, &f->member, NULL, &in, &t, v), PAT_OK);
    assert_int_equal(verify(f, v, &tok), PAT_OK);
    assert_int_equal(pat_tokens_list(f->svc, &tok, NULL, NULL, &list, &n), PAT_ESCOPE);
    assert_int_equal(pat_tokens_self(f->svc, &tok, &t), PAT_OK);
}

static void test_tokens__others_tokens_are_not_found(void **state)
{
    fixture *f = *state;
    pat_token_rec t, u;
    pat_token_input in;
    char v[PAT_TOKEN_BUF];
    int64_t ids[1], deleted[1];
    size_t nd = 9;

    assert_int_equal(create(f, &f->admin, "mine", &t, v), PAT_OK);
    assert_int_equal(pat_tokens_get(f->svc, &f->member, t.id, &u), PAT_ENOTFOUND);
    memset(&in, 0, sizeof(in));
    in.description = "x";
    assert_int_equal(pat_tokens_update(f->svc, &f->member, NULL, t.id, &in, &u), PAT_ENOTFOUND);
    assert_int_equal(pat_tokens_delete(f->svc, &f->member, NULL, t.id), PAT_ENOTFOUND);
    ids[0] = t.id;
    assert_int_equal(pat_tokens_delete_many(f->svc, &f->member, NULL, ids, 1, deleted, &nd),
                     PAT_OK);
    assert_int_equal(nd, 0);
    assert_int_equal(pat_tokens_get(f->svc, &f->admin, t.id, &u), PAT_OK);
}

static void test_tokens__regenerate_with_grace(void **state)
{
    fixture *f = *state;
    pat_token_rec t, u;
    pat_principal p;
    char old[PAT_TOKEN_BUF], fresh[PAT_TOKEN_BUF];

    assert_int_equal(create(f, &f->member, "rot", &t, old), PAT_OK);
    assert_int_equal(pat_tokens_regenerate(f->svc, &f->member, NULL, t.id, 60, 0, &u, fresh),
                     PAT_OK);
    assert_string_not_equal(old, fresh);
    assert_int_equal(verify(f, fresh, &p), PAT_OK);
    assert_int_equal(verify(f, old, &p), PAT_OK);
    fake_now = T0 + 60;
    assert_int_equal(verify(f, old, &p), PAT_EAUTH);
    assert_int_equal(verify(f, fresh, &p), PAT_OK);
    /* Without grace the old value dies at once. */
    assert_int_equal(pat_tokens_regenerate(f->svc, &f->member, NULL, t.id, 0, 0, &u, old), PAT_OK);
    assert_int_equal(verify(f, fresh, &p), PAT_EAUTH);
    assert_int_equal(pat_tokens_regenerate(f->svc, &f->member, NULL, t.id, -1, 0, &u, old),
                     PAT_EINVAL);
}

static void test_tokens__copy_keeps_settings(void **state)
{
    fixture *f = *state;
    pat_token_rec t, c;
    pat_token_input in;
    char v[PAT_TOKEN_BUF], cv[PAT_TOKEN_BUF];

    memset(&in, 0, sizeof(in));
    in.name = "src";
    in.description = "from src";
    in.scope_set = "CI";
    in.has_expiry = true;
    in.expiry.kind = PAT_EXPIRY_DAYS;
    in.expiry.days = 30;
    assert_int_equal(pat_tokens_create(f->svc, &f->member, NULL, &in, &t, v), PAT_OK);
    fake_now = T0 + 100;
    memset(&in, 0, sizeof(in));
    assert_int_equal(pat_tokens_copy(f->svc, &f->member, NULL, t.id, &in, &c, cv), PAT_EINVAL);
    in.name = "copy";
    assert_int_equal(pat_tokens_copy(f->svc, &f->member, NULL, t.id, &in, &c, cv), PAT_OK);
    assert_string_equal(c.scopes, t.scopes);
    assert_string_equal(c.description, "from src");
    assert_int_equal(c.expires_at, T0 + 100 + 30 * 86400);
    assert_int_not_equal(c.id, t.id);
    assert_string_not_equal(cv, v);
}

static void test_tokens__confirmation_required_for_session_changes(void **state)
{
    fixture *f = *state;
    pat_principal stale = f->member;
    pat_token_rec t;
    pat_policy p;
    char v[PAT_TOKEN_BUF];

    stale.confirmed_until = T0; /* window closed */
    assert_int_equal(create(f, &stale, "x", &t, v), PAT_ECONFIRM);
    pat_policy_defaults(&p);
    p.require_confirmation = false;
    assert_int_equal(pat_service_policy_set(f->svc, &f->admin, NULL, &p), PAT_OK);
    assert_int_equal(create(f, &stale, "x", &t, v), PAT_OK);
}

static void test_tokens__permission_withdrawn(void **state)
{
    fixture *f = *state;
    pat_principal no = f->member;
    pat_token_rec t;
    char v[PAT_TOKEN_BUF];

    no.can_manage_tokens = false;
    assert_int_equal(create(f, &no, "x", &t, v), PAT_EFORBIDDEN);
}

/* Organizations (service/orgs.c): where a token is usable follows its
 * owner's memberships and its own list, at once; the strictest policy
 * applies and a refusal names the organization; owners reach their own
 * organization only. */
static void test_orgs__usable_where_permitted_and_policies_combine(void **state)
{
    fixture *f = *state;
    pat_principal who, owner = f->member;
    pat_org_view acme, globex;
    pat_member_input mi;
    pat_membership m;
    pat_token_input in;
    pat_policy p;
    pat_token_rec t;
    pat_verify_request vr;
    char v[PAT_TOKEN_BUF], v2[PAT_TOKEN_BUF];
    const char *only_globex[] = {"globex"};

    assert_int_equal(pat_orgs_create(f->svc, &f->admin, NULL, "acme", "Acme", &acme), PAT_OK);
    assert_int_equal(pat_orgs_create(f->svc, &f->admin, NULL, "globex", "Globex", &globex), PAT_OK);
    assert_int_equal(pat_orgs_create(f->svc, &owner, NULL, "mine", "Mine", &acme), PAT_EFORBIDDEN);
    memset(&mi, 0, sizeof(mi));
    mi.username = "mia";
    assert_int_equal(pat_orgs_member_add(f->svc, &f->admin, NULL, "acme", &mi, &m), PAT_OK);
    assert_int_equal(pat_orgs_member_add(f->svc, &f->admin, NULL, "globex", &mi, &m), PAT_OK);
    assert_true(m.can_manage_tokens);
    assert_int_equal(create(f, &f->member, "everywhere", &t, v), PAT_OK);

    memset(&vr, 0, sizeof(vr));
    vr.token = v;
    vr.len = strlen(v);
    vr.required_org = "acme";
    assert_int_equal(pat_service_verify(f->svc, &vr, &who), PAT_OK);
    assert_string_equal(who.orgs, "acme globex");
    /* Withdrawn in acme: refused there at once, still good in globex. */
    mi.has_can_manage_tokens = true;
    mi.can_manage_tokens = false;
    assert_int_equal(
        pat_orgs_member_update(f->svc, &f->admin, NULL, "acme", f->member.user_id, &mi, &m),
        PAT_OK);
    assert_int_equal(pat_service_verify(f->svc, &vr, &who), PAT_ESCOPE);
    assert_string_equal(pat_error_last()->field, "org:acme");
    vr.required_org = "globex";
    assert_int_equal(pat_service_verify(f->svc, &vr, &who), PAT_OK);
    assert_string_equal(who.orgs, "globex");
    /* A member is not an owner: no reach into the team's settings. */
    assert_int_equal(pat_orgs_policy_get(f->svc, &f->member, "acme", &p), PAT_EFORBIDDEN);
    assert_int_equal(pat_orgs_policy_get(f->svc, &f->member, "nosuch", &p), PAT_ENOTFOUND);

    /* acme caps at 30 days: a 60-day token usable there is refused,
     * naming acme; one usable only in globex is not. */
    assert_int_equal(pat_orgs_policy_get(f->svc, &f->admin, "acme", &p), PAT_OK);
    p.max_lifetime_days = 30;
    assert_int_equal(pat_orgs_policy_set(f->svc, &f->admin, NULL, "acme", &p), PAT_OK);
    memset(&in, 0, sizeof(in));
    in.name = "long";
    in.has_scopes = true;
    in.scopes = TOKENS_SCOPE;
    in.nscopes = 1;
    in.has_expiry = true;
    in.expiry.kind = PAT_EXPIRY_DAYS;
    in.expiry.days = 60;
    assert_int_equal(pat_tokens_create(f->svc, &f->member, NULL, &in, &t, v2), PAT_EPOLICY);
    assert_non_null(strstr(pat_error_last()->message, "acme"));
    in.has_orgs = true;
    in.orgs = only_globex;
    in.norgs = 1;
    assert_int_equal(pat_tokens_create(f->svc, &f->member, NULL, &in, &t, v2), PAT_OK);
    assert_string_equal(t.orgs, "globex");
    pat_secret_wipe(v2, sizeof(v2));
    pat_secret_wipe(v, sizeof(v));
}

static void test_tokens__list_filters(void **state)
{
    fixture *f = *state;
    pat_token_rec t, u, *list = NULL;
    size_t n = 0;
    char v[PAT_TOKEN_BUF];

    assert_int_equal(create(f, &f->member, "Deploy-Bot", &t, v), PAT_OK);
    assert_int_equal(create(f, &f->member, "laptop", &u, v), PAT_OK);
    assert_int_equal(pat_tokens_set_disabled(f->svc, &f->member, NULL, u.id, true, &u), PAT_OK);
    assert_int_equal(pat_tokens_list(f->svc, &f->member, NULL, NULL, &list, &n), PAT_OK);
    assert_int_equal(n, 2);
    free(list);
    assert_int_equal(pat_tokens_list(f->svc, &f->member, "disabled", NULL, &list, &n), PAT_OK);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].name, "laptop");
    free(list);
    assert_int_equal(pat_tokens_list(f->svc, &f->member, NULL, "deploy", &list, &n), PAT_OK);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].name, "Deploy-Bot");
    free(list);
    assert_int_equal(pat_tokens_list(f->svc, &f->member, "bogus", NULL, &list, &n), PAT_EINVAL);
}

static void test_tokens__name_limits(void **state)
{
    fixture *f = *state;
    pat_token_rec t;
    char v[PAT_TOKEN_BUF], name[200];

    memset(name, 'a', 101);
    name[101] = '\0';
    assert_int_equal(create(f, &f->member, name, &t, v), PAT_EINVAL);
    name[100] = '\0';
    assert_int_equal(create(f, &f->member, name, &t, v), PAT_OK);
    assert_int_equal(create(f, &f->member, "   ", &t, v), PAT_EINVAL);
    assert_int_equal(create(f, &f->member, "", &t, v), PAT_EINVAL);
}

static void test_verify__revocation_effective_on_next_request(void **state)
{
    fixture *f = *state;
    pat_token_rec t, u;
    pat_principal p;
    char v[PAT_TOKEN_BUF], name[32];

    for (int i = 0; i < 50; i++) {
        snprintf(name, sizeof(name), "round-%d", i);
        assert_int_equal(create(f, &f->member, name, &t, v), PAT_OK);
        assert_int_equal(verify(f, v, &p), PAT_OK); /* now cached */
        assert_int_equal(verify(f, v, &p), PAT_OK);
        if (i % 3 == 0) {
            assert_int_equal(pat_tokens_delete(f->svc, &f->member, NULL, t.id), PAT_OK);
        } else if (i % 3 == 1) {
            assert_int_equal(pat_tokens_set_disabled(f->svc, &f->member, NULL, t.id, true, &u),
                             PAT_OK);
        } else {
            int64_t ids[1] = {t.id}, del[1];
            size_t nd = 0;
            assert_int_equal(pat_tokens_delete_many(f->svc, &f->member, NULL, ids, 1, del, &nd),
                             PAT_OK);
            assert_int_equal(nd, 1);
        }
        assert_int_equal(verify_anywhere(f, v, &p), PAT_EAUTH);
    }
}

static void test_verify__edit_changes_scopes_at_once(void **state)
{
    fixture *f = *state;
    pat_token_rec t, u;
    pat_principal p;
    pat_token_input in;
    pat_verify_request vr;
    char v[PAT_TOKEN_BUF];
    const char *repo[] = {"repo:read"};

    assert_int_equal(create(f, &f->member, "scoped", &t, v), PAT_OK);
    memset(&vr, 0, sizeof(vr));
    vr.token = v;
    vr.len = strlen(v);
    vr.required_scope = "repo:read";
    assert_int_equal(pat_service_verify(f->svc, &vr, &p), PAT_ESCOPE);
    assert_string_equal(pat_error_last()->field, "repo:read");
    memset(&in, 0, sizeof(in));
    in.has_scopes = true;
    in.scopes = repo;
    in.nscopes = 1;
    assert_int_equal(pat_tokens_update(f->svc, &f->member, NULL, t.id, &in, &u), PAT_OK);
    assert_int_equal(pat_service_verify(f->svc, &vr, &p), PAT_OK);
}

static void test_verify__unknown_value_never_shadows_a_new_token(void **state)
{
    fixture *f = *state;
    pat_token_rec t;
    pat_principal p;
    char v[PAT_TOKEN_BUF], other[PAT_TOKEN_BUF];

    /* A value asked about before it exists is remembered as unknown... */
    assert_int_equal(create(f, &f->member, "first", &t, v), PAT_OK);
    pat_token_generate(other, "pat_");
    assert_int_equal(verify(f, other, &p), PAT_EAUTH);
    assert_int_equal(verify(f, other, &p), PAT_EAUTH);
    /* ...and regenerating to the known value is impossible to force, so
     * check the mechanism directly: creation forgets its own hash. */
    assert_int_equal(verify(f, v, &p), PAT_OK);
}

/* A canary is refused as an unknown value is, with the same message; the
 * presentation is reported by the flusher's pass: last use, an audit
 * event, its client. It takes no scope and cannot be enabled. */
static void test_verify__a_canary_answers_as_unknown_and_is_reported(void **state)
{
    fixture *f = *state;
    pat_token_input in;
    pat_token_rec t, got;
    pat_principal p;
    pat_verify_request vr;
    pat_audit_filter af = {.action = "token.canary_tripped", .limit = 10};
    pat_audit_rec *events = NULL;
    pat_token_client *clients = NULL;
    size_t n = 0;
    char v[PAT_TOKEN_BUF], unknown_message[256];

    memset(&in, 0, sizeof(in));
    in.name = "decoy";
    in.has_canary = in.canary = true;
    in.has_scopes = true;
    in.scopes = TOKENS_SCOPE;
    in.nscopes = 1;
    assert_int_equal(pat_tokens_create(f->svc, &f->member, NULL, &in, &t, v), PAT_EINVAL);
    in.has_scopes = false;
    assert_int_equal(pat_tokens_create(f->svc, &f->member, NULL, &in, &t, v), PAT_OK);
    assert_true(t.flags & PAT_TOKEN_FLAG_CANARY);
    assert_string_equal(t.scopes, "");
    assert_int_equal(t.expires_at, 0);
    assert_int_equal(pat_tokens_set_disabled(f->svc, &f->member, NULL, t.id, false, &got),
                     PAT_ECONFLICT);
    memset(&vr, 0, sizeof(vr));
    vr.token = v;
    vr.len = strlen(v);
    vr.client_ip = "203.0.113.5";
    vr.method = "GET";
    vr.path = "/secret";
    vr.user_agent = "curl/8";
    {
        char other[PAT_TOKEN_BUF];
        pat_token_generate(other, "pat_");
        assert_int_equal(verify_anywhere(f, other, &p), PAT_EAUTH);
        snprintf(unknown_message, sizeof(unknown_message), "%s", pat_error_last()->message);
    }
    assert_int_equal(pat_service_verify(f->svc, &vr, &p), PAT_EAUTH);
    assert_string_equal(pat_error_last()->message, unknown_message);
    pat_service_canaries(f->svc);
    assert_int_equal(pat_store_token_get(f->store, t.id, &got), PAT_OK);
    assert_int_equal(got.last_use.at, T0);
    assert_string_equal(got.last_use.ip, "203.0.113.5");
    assert_int_equal(pat_store_audit_list(f->store, &af, &events, &n), PAT_OK);
    assert_int_equal(n, 1);
    assert_string_equal(events[0].ip, "203.0.113.5");
    assert_non_null(strstr(events[0].detail, "path=/secret"));
    free(events);
    assert_int_equal(pat_tokens_clients(f->svc, &f->member, t.id, &clients, &n), PAT_OK);
    assert_int_equal(n, 1);
    assert_string_equal(clients[0].network, "203.0.113.0/24");
    free(clients);
}

static void test_verify__last_use_written_in_batches(void **state)
{
    fixture *f = *state;
    pat_token_rec t, got;
    pat_principal p;
    pat_verify_request vr;
    char v[PAT_TOKEN_BUF];
    int64_t writes;

    assert_int_equal(create(f, &f->member, "used", &t, v), PAT_OK);
    memset(&vr, 0, sizeof(vr));
    vr.token = v;
    vr.len = strlen(v);
    vr.client_ip = "198.51.100.4";
    vr.method = "DELETE";
    vr.path = "/api/projects/9";
    vr.user_agent = "curl/8";
    writes = (int64_t)pat_metrics_store_writes();
    for (int i = 0; i < 100; i++) {
        fake_now = T0 + i;
        assert_int_equal(pat_service_verify(f->svc, &vr, &p), PAT_OK);
    }
    /* No store write on the request path. */
    assert_int_equal((int64_t)pat_metrics_store_writes(), writes);
    assert_int_equal(pat_store_token_get(f->store, t.id, &got), PAT_OK);
    assert_int_equal(got.last_use.at, 0);
    assert_int_equal(pat_service_flush(f->svc), PAT_OK);
    /* One write of last use, one of the client it came from. */
    assert_int_equal((int64_t)pat_metrics_store_writes(), writes + 2);
    assert_int_equal(pat_store_token_get(f->store, t.id, &got), PAT_OK);
    assert_int_equal(got.last_use.at, T0 + 99);
    assert_string_equal(got.last_use.ip, "198.51.100.4");
    assert_string_equal(got.last_use.method, "DELETE");
    assert_string_equal(got.last_use.path, "/api/projects/9");
    assert_string_equal(got.last_use.user_agent, "curl/8");
    assert_int_equal(got.use_count, 100);
}

static void test_verify__last_use_details_once_per_granularity_counts_exact(void **state)
{
    fixture *f = *state;
    pat_token_rec t, got;
    pat_principal p;
    pat_verify_request vr;
    char v[PAT_TOKEN_BUF];
    char path[32];

    f->config->last_use_granularity_seconds = 60;
    assert_int_equal(create(f, &f->member, "busy", &t, v), PAT_OK);
    memset(&vr, 0, sizeof(vr));
    vr.token = v;
    vr.len = strlen(v);
    vr.client_ip = "198.51.100.4";
    vr.method = "GET";
    for (int i = 0; i < 90; i++) {
        fake_now = T0 + i;
        snprintf(path, sizeof(path), "/p/%d", i);
        vr.path = path;
        assert_int_equal(pat_service_verify(f->svc, &vr, &p), PAT_OK);
    }
    assert_int_equal(pat_service_flush(f->svc), PAT_OK);
    assert_int_equal(pat_store_token_get(f->store, t.id, &got), PAT_OK);
    /* Details from the uses at T0 and T0+60; the 29 after wait. */
    assert_int_equal(got.last_use.at, T0 + 60);
    assert_string_equal(got.last_use.path, "/p/60");
    assert_int_equal(got.use_count, 61);
    /* Quiet for a granularity since its last recording (T0+60): a flush
     * writes the waiting count without any further use; details stay. */
    fake_now = T0 + 119;
    assert_int_equal(pat_service_flush(f->svc), PAT_OK);
    assert_int_equal(pat_store_token_get(f->store, t.id, &got), PAT_OK);
    assert_int_equal(got.use_count, 61);
    fake_now = T0 + 120;
    assert_int_equal(pat_service_flush(f->svc), PAT_OK);
    assert_int_equal(pat_store_token_get(f->store, t.id, &got), PAT_OK);
    assert_int_equal(got.use_count, 90);
    assert_int_equal(got.last_use.at, T0 + 60);
    assert_string_equal(got.last_use.path, "/p/60");
    /* The next use is recorded in full at once. */
    fake_now = T0 + 130;
    vr.path = "/later";
    assert_int_equal(pat_service_verify(f->svc, &vr, &p), PAT_OK);
    /* Shutting down hands over the uses still counted in memory. */
    pat_service_free(f->svc);
    f->svc = NULL;
    assert_int_equal(pat_store_token_get(f->store, t.id, &got), PAT_OK);
    assert_int_equal(got.use_count, 91);
    assert_int_equal(got.last_use.at, T0 + 130);
    assert_string_equal(got.last_use.path, "/later");
}

static void test_verify__uses_counted_before_an_edit_still_count(void **state)
{
    fixture *f = *state;
    pat_token_rec t, u, got;
    pat_token_input in;
    pat_principal p;
    pat_verify_request vr;
    char v[PAT_TOKEN_BUF];

    f->config->last_use_granularity_seconds = 60;
    assert_int_equal(create(f, &f->member, "edited-while-busy", &t, v), PAT_OK);
    memset(&vr, 0, sizeof(vr));
    vr.token = v;
    vr.len = strlen(v);
    vr.method = "GET";
    vr.path = "/";
    for (int i = 0; i < 5; i++) /* one recorded, four waiting in the cache entry */
        assert_int_equal(pat_service_verify(f->svc, &vr, &p), PAT_OK);
    memset(&in, 0, sizeof(in));
    in.description = "changed";
    assert_int_equal(pat_tokens_update(f->svc, &f->member, NULL, t.id, &in, &u), PAT_OK);
    assert_int_equal(pat_service_flush(f->svc), PAT_OK);
    assert_int_equal(pat_store_token_get(f->store, t.id, &got), PAT_OK);
    assert_int_equal(got.use_count, 5);
}

static void test_verify__failures_rate_limited_per_address(void **state)
{
    fixture *f = *state;
    pat_token_rec t;
    pat_principal p;
    pat_verify_request vr;
    char v[PAT_TOKEN_BUF], bad[PAT_TOKEN_BUF];
    int i;

    assert_int_equal(create(f, &f->member, "victim", &t, v), PAT_OK);
    pat_token_generate(bad, "pat_");
    memset(&vr, 0, sizeof(vr));
    vr.token = bad;
    vr.len = strlen(bad);
    vr.client_ip = "203.0.113.66";
    for (i = 0; i < 20; i++)
        assert_int_equal(pat_service_verify(f->svc, &vr, &p), PAT_EAUTH);
    assert_int_equal(pat_service_verify(f->svc, &vr, &p), PAT_ERATE);
    /* The owner elsewhere is not blocked. */
    assert_int_equal(verify(f, v, &p), PAT_OK);
    /* Nor is a valid token from the very address that is (a NAT, a CI
     * fleet): it is served, and its success does not reset the count. */
    vr.token = v;
    vr.len = strlen(v);
    assert_int_equal(pat_service_verify(f->svc, &vr, &p), PAT_OK);
    vr.token = bad;
    vr.len = strlen(bad);
    assert_int_equal(pat_service_verify(f->svc, &vr, &p), PAT_ERATE);
    fake_now += 60;
    assert_int_equal(pat_service_verify(f->svc, &vr, &p), PAT_EAUTH);
}

/* Networks in auth_fail_exempt are never limited. */
static void test_verify__exempt_networks_are_never_limited(void **state)
{
    fixture *f = *state;
    pat_principal p;
    pat_verify_request vr;
    char bad[PAT_TOKEN_BUF];

    assert_int_equal(pat_config_set(f->config, "auth_fail_exempt", "10.0.0.0/8"), PAT_OK);
    pat_token_generate(bad, "pat_");
    memset(&vr, 0, sizeof(vr));
    vr.token = bad;
    vr.len = strlen(bad);
    vr.client_ip = "10.1.2.3";
    for (int i = 0; i < 50; i++)
        assert_int_equal(pat_service_verify(f->svc, &vr, &p), PAT_EAUTH);
}

/* A counter of GET /metrics, read through the service. */
static long long metric(fixture *f, const char *name)
{
    pat_buf b;
    const char *at;
    long long v = -1;

    pat_buf_init(&b, 1 << 20);
    assert_int_equal(pat_service_metrics(f->svc, &b), PAT_OK);
    assert_int_equal(pat_buf_append(&b, "", 1), PAT_OK);
    /* The sample line, not the HELP and TYPE lines above it. */
    for (at = b.data; (at = strstr(at, name)); at++) {
        if (at > b.data && at[-1] == '\n' && at[strlen(name)] == ' ') {
            v = strtoll(at + strlen(name) + 1, NULL, 10);
            break;
        }
    }
    pat_buf_dispose(&b);
    return v;
}

/* A value the live filter does not know never reaches the store, and a
 * created or regenerated one passes it before its creator sees it. */
static void test_verify__unknown_values_skip_the_store(void **state)
{
    fixture *f = *state;
    pat_token_rec t, u;
    pat_principal p;
    char v[PAT_TOKEN_BUF], w[PAT_TOKEN_BUF], bad[PAT_TOKEN_BUF];

    long long misses = metric(f, "patd_cache_misses_total");
    long long rejected = metric(f, "patd_live_filter_rejected_total");

    pat_token_generate(bad, "pat_");
    for (int i = 0; i < 3; i++)
        assert_int_equal(verify_anywhere(f, bad, &p), PAT_EAUTH);
    /* Three misses, all answered by the filter (not cached either). */
    assert_int_equal(metric(f, "patd_cache_misses_total") - misses, 3);
    assert_int_equal(metric(f, "patd_live_filter_rejected_total") - rejected, 3);
    assert_int_equal(create(f, &f->member, "fresh", &t, v), PAT_OK);
    assert_int_equal(verify_anywhere(f, v, &p), PAT_OK);
    assert_int_equal(pat_tokens_regenerate(f->svc, &f->member, NULL, t.id, 0, 0, &u, w), PAT_OK);
    assert_int_equal(verify_anywhere(f, w, &p), PAT_OK);
    assert_int_equal(verify_anywhere(f, v, &p), PAT_EAUTH);
}

/* On a shared store (PostgreSQL; here the SQLite file, marked shared) a
 * value the live filter does not know may have been created on another
 * instance: it is settled only after a read of the changes feed begun
 * after the request arrived. A request that may be set aside gets
 * PAT_EWAIT instead of waiting, and nothing is counted for it; asked again
 * after the read, it is served, or refused. */
static void test_verify__shared_store_sets_unknown_values_aside_for_the_feed(void **state)
{
    fixture *f = *state;
    pat_verify_request vr;
    pat_token_rec t;
    pat_principal p;
    char elsewhere[PAT_TOKEN_BUF], bad[PAT_TOKEN_BUF];
    long long deferred = metric(f, "patd_verify_deferred_total");
    long long misses;
    int rc;

    f->svc->shared = true;
    assert_int_equal(pat_service_sync_since(f->svc, pat_time_mono_us()), PAT_OK);
    memset(&vr, 0, sizeof(vr));
    vr.client_ip = "127.0.0.1";
    vr.may_defer = true;

    /* Unknown, and no read begun after it arrived: set aside. */
    pat_token_generate(bad, "pat_");
    vr.token = bad;
    vr.len = strlen(bad);
    vr.arrived_us = pat_time_mono_us() + 60 * 1000000LL;
    misses = metric(f, "patd_cache_misses_total");
    assert_int_equal(pat_service_verify(f->svc, &vr, &p), PAT_EWAIT);
    assert_int_equal(metric(f, "patd_verify_deferred_total") - deferred, 1);
    assert_int_equal(metric(f, "patd_cache_misses_total"), misses);
    /* Asked again without may_defer, it reads the feed itself and is refused. */
    vr.may_defer = false;
    vr.arrived_us = pat_time_mono_us();
    assert_int_equal(pat_service_verify(f->svc, &vr, &p), PAT_EAUTH);
    /* Arrived before that read: refused at once, nothing set aside. */
    vr.may_defer = true;
    assert_int_equal(pat_service_verify(f->svc, &vr, &p), PAT_EAUTH);
    assert_int_equal(metric(f, "patd_verify_deferred_total") - deferred, 1);

    /* A token another instance made: in the store and the feed, not yet in
     * this instance's filter (unless the flusher read the feed meanwhile). */
    memset(&t, 0, sizeof(t));
    t.user_id = f->member.user_id;
    strcpy(t.name, "made-elsewhere");
    strcpy(t.scopes, "tokens");
    pat_token_generate(elsewhere, "pat_");
    pat_token_hash(t.hash, f->key, elsewhere, strlen(elsewhere));
    pat_token_display(t.prefix, elsewhere);
    assert_int_equal(pat_store_token_insert(f->store, &t), PAT_OK);
    vr.token = elsewhere;
    vr.len = strlen(elsewhere);
    vr.arrived_us = pat_time_mono_us();
    rc = pat_service_verify(f->svc, &vr, &p);
    assert_true(rc == PAT_EWAIT || rc == PAT_OK);
    assert_int_equal(pat_service_sync_since(f->svc, vr.arrived_us), PAT_OK);
    assert_int_equal(pat_service_verify(f->svc, &vr, &p), PAT_OK);
    assert_int_equal(p.token_id, t.id);
}

static void test_verify__full_last_use_table_loses_no_count(void **state)
{
    fixture *f = *state;
    enum { N = 900 };
    pat_service_options o;
    pat_token_rec *recs = calloc(N, sizeof(*recs));
    char(*values)[PAT_TOKEN_BUF] = calloc(N, sizeof(*values));
    pat_verify_request vr;
    pat_principal p;
    pat_token_rec got;
    int64_t total = 0;

    for (int i = 0; i < N; i++) {
        recs[i].user_id = f->member.user_id;
        snprintf(recs[i].name, sizeof(recs[i].name), "n%d", i);
        strcpy(recs[i].scopes, "tokens");
        pat_token_generate(values[i], "pat_");
        pat_token_hash(recs[i].hash, f->key, values[i], strlen(values[i]));
        pat_token_display(recs[i].prefix, values[i]);
    }
    assert_int_equal(pat_store_token_insert_many(f->store, recs, N), PAT_OK);
    /* A table of 1024 slots (768 usable) for 900 tokens used twice; the
     * service starts after the import, as after `patd` imports offline. */
    pat_service_free(f->svc);
    f->config->last_use_buffer = 1024;
    memset(&o, 0, sizeof(o));
    o.store = f->store;
    o.config = f->config;
    memcpy(o.key, f->key, sizeof(o.key));
    o.clock = clock_fn;
    assert_int_equal(pat_service_new(&f->svc, &o), PAT_OK);
    memset(&vr, 0, sizeof(vr));
    vr.method = "GET";
    vr.path = "/";
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < N; i++) {
            vr.token = values[i];
            vr.len = strlen(values[i]);
            assert_int_equal(pat_service_verify(f->svc, &vr, &p), PAT_OK);
        }
    }
    pat_service_free(f->svc); /* drains and flushes */
    f->svc = NULL;
    for (int i = 0; i < N; i++) {
        assert_int_equal(pat_store_token_get(f->store, recs[i].id, &got), PAT_OK);
        total += got.use_count;
    }
    assert_int_equal(total, 2 * N);
    free(recs);
    free(values);
}

static void test_store__expired_sessions_pruned(void **state)
{
    fixture *f = *state;
    pat_session_rec a, b, got;

    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    a.id_hash[0] = 1;
    b.id_hash[0] = 2;
    a.user_id = b.user_id = f->member.user_id;
    a.expires_at = T0 - 1;
    b.expires_at = T0 + 100;
    assert_int_equal(pat_store_session_insert(f->store, &a), PAT_OK);
    assert_int_equal(pat_store_session_insert(f->store, &b), PAT_OK);
    assert_int_equal(pat_store_session_prune(f->store, T0), PAT_OK);
    assert_int_equal(pat_store_session_get(f->store, a.id_hash, &got), PAT_ENOTFOUND);
    assert_int_equal(pat_store_session_get(f->store, b.id_hash, &got), PAT_OK);
}

/* Lookups by hash go through the calling thread's own read connection; it
 * must see every commit at once, never an older snapshot. */
static void test_store__lookup_by_hash_sees_each_commit(void **state)
{
    fixture *f = *state;
    pat_token_rec *t = calloc(1, sizeof(*t)), *got = calloc(1, sizeof(*got));
    int is_previous = -1;

    t->user_id = f->admin.user_id;
    strcpy(t->name, "reader");
    strcpy(t->prefix, "pat_abcd");
    t->created_at = t->updated_at = T0;
    memset(t->hash, 0x5a, sizeof(t->hash));
    for (int round = 0; round < 3; round++) {
        assert_int_equal(pat_store_token_get_by_hash(f->store, t->hash, T0, got, &is_previous),
                         PAT_ENOTFOUND);
        assert_int_equal(pat_store_token_insert(f->store, t), PAT_OK);
        assert_int_equal(pat_store_token_get_by_hash(f->store, t->hash, T0, got, &is_previous),
                         PAT_OK);
        assert_int_equal(got->id, t->id);
        assert_int_equal(is_previous, 0);
        assert_int_equal(pat_store_token_delete(f->store, t->user_id, t->id), PAT_OK);
    }
    free(t);
    free(got);
}

/* A deleted token's uses never land on the token created after it: ids
 * are not reused, so its pending last use has nowhere to go. */
static void test_verify__deleted_tokens_uses_never_reach_another(void **state)
{
    fixture *f = *state;
    pat_token_rec a, b, got;
    pat_principal p;
    pat_verify_request vr;
    char va[PAT_TOKEN_BUF], vb[PAT_TOKEN_BUF];

    assert_int_equal(create(f, &f->member, "leaked", &a, va), PAT_OK);
    memset(&vr, 0, sizeof(vr));
    vr.token = va;
    vr.len = strlen(va);
    vr.method = "GET";
    vr.path = "/steal";
    vr.user_agent = "attacker/1";
    assert_int_equal(pat_service_verify(f->svc, &vr, &p), PAT_OK);
    assert_int_equal(pat_tokens_delete(f->svc, &f->member, NULL, a.id), PAT_OK);
    assert_int_equal(create(f, &f->member, "replacement", &b, vb), PAT_OK);
    assert_true(b.id != a.id);
    assert_int_equal(pat_service_flush(f->svc), PAT_OK);
    assert_int_equal(pat_store_token_get(f->store, b.id, &got), PAT_OK);
    assert_int_equal(got.last_use.at, 0);
    assert_int_equal(got.use_count, 0);
    assert_string_equal(got.last_use.user_agent, "");
}

/* A use case and its audit event commit together: when the event cannot
 * be written, the change is undone and the caller told. */
static void test_tokens__failing_audit_write_undoes_the_change(void **state)
{
    fixture *f = *state;
    pat_token_rec t, before, *list = NULL;
    char v[PAT_TOKEN_BUF], db[128];
    sqlite3 *raw = NULL;
    size_t n = 0;

    assert_int_equal(create(f, &f->member, "before", &before, v), PAT_OK);
    snprintf(db, sizeof(db), "%s/t.db", f->dir);
    assert_int_equal(sqlite3_open(db, &raw), SQLITE_OK);
    assert_int_equal(sqlite3_exec(raw,
                                  "CREATE TRIGGER audit_fault BEFORE INSERT ON audit "
                                  "BEGIN SELECT RAISE(ABORT, 'injected fault'); END",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(raw);
    assert_int_equal(create(f, &f->member, "after", &t, v), PAT_EIO);
    assert_int_equal(pat_tokens_delete(f->svc, &f->member, NULL, before.id), PAT_EIO);
    assert_int_equal(pat_tokens_list(f->svc, &f->member, NULL, NULL, &list, &n), PAT_OK);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].name, "before");
    free(list);
}

/* A regenerate that lost the race to another change fails whole: its value
 * never works and the value it would have replaced still does. */
static void test_tokens__stale_write_is_a_conflict(void **state)
{
    fixture *f = *state;
    pat_token_rec t, u, got;
    pat_principal p;
    pat_token_input in;
    char v[PAT_TOKEN_BUF];

    assert_int_equal(create(f, &f->member, "raced", &t, v), PAT_OK);
    memset(&in, 0, sizeof(in));
    in.description = "first";
    assert_int_equal(pat_tokens_update(f->svc, &f->member, NULL, t.id, &in, &u), PAT_OK);
    assert_int_equal(u.version, t.version + 1);
    /* t is what a slower writer read before that edit. */
    t.updated_at = T0 + 1;
    assert_int_equal(pat_store_token_update(f->store, &t, PAT_TOKEN_F_DISABLED), PAT_ECONFLICT);
    assert_int_equal(pat_store_token_get(f->store, t.id, &got), PAT_OK);
    assert_string_equal(got.description, "first");
    assert_int_equal(verify(f, v, &p), PAT_OK);
}

/* The kids in the JWKS now. */
static size_t jwks_kids(fixture *f, char kids[4][64])
{
    json_t *jwks = pat_service_jwks(f->svc), *k;
    size_t i, n = 0;

    json_array_foreach(json_object_get(jwks, "keys"), i, k)
    {
        if (n < 4)
            snprintf(kids[n++], 64, "%s", json_string_value(json_object_get(k, "kid")));
    }
    json_decref(jwks);
    return n;
}

static int exchange(fixture *f, const char *value, pat_exchange_result *res)
{
    pat_exchange_request req;
    pat_verify_request client;

    memset(&req, 0, sizeof(req));
    memset(&client, 0, sizeof(client));
    req.grant_type = "urn:ietf:params:oauth:grant-type:token-exchange";
    req.subject_token = value;
    req.subject_token_type = "urn:ietf:params:oauth:token-type:access_token";
    return pat_service_exchange(f->svc, &req, &client, NULL, res);
}

static int verify_jwt(fixture *f, const char *jwt)
{
    pat_verify_request vr;
    pat_principal p;

    memset(&vr, 0, sizeof(vr));
    vr.token = jwt;
    vr.len = strlen(jwt);
    vr.allow_jwt = true;
    return pat_service_verify(f->svc, &vr, &p);
}

/* Key kid in keys[0..n), or NULL. */
static const pat_key_info *key_of_or_null(const pat_key_info *keys, size_t n, const char *kid)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(keys[i].kid, kid) == 0)
            return &keys[i];
    return NULL;
}

/* Whether the audit log holds an event named action. */
static bool audit_has(fixture *f, const char *action)
{
    pat_audit_filter af = {.action = action, .limit = 10};
    pat_audit_rec *events = NULL;
    size_t n = 0;

    assert_int_equal(pat_store_audit_list(f->store, &af, &events, &n), PAT_OK);
    free(events);
    return n > 0;
}

/* The state of key kid in keys[0..n). */
static const pat_key_info *key_of(const pat_key_info *keys, size_t n, const char *kid)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(keys[i].kid, kid) == 0)
            return &keys[i];
    fail_msg("no key %s", kid);
    return NULL;
}

/* A rotated key: published at once, signs after the publish-ahead time;
 * the old key verifies its JWTs until they have all expired, then leaves
 * the JWKS and is refused. */
static void test_keys__rotation_lifecycle(void **state)
{
    fixture *f = *state;
    char v[PAT_TOKEN_BUF], kids[4][64], old_kid[64], new_kid[64];
    pat_exchange_result old_jwt, new_jwt;
    pat_token_rec t;
    pat_key_info *keys = NULL;
    pat_key_rec *recs = NULL;
    size_t n = 0;

    assert_int_equal(create(f, &f->admin, "rot", &t, v), PAT_OK);
    assert_int_equal(jwks_kids(f, kids), 1);
    snprintf(old_kid, sizeof(old_kid), "%s", kids[0]);
    assert_int_equal(exchange(f, v, &old_jwt), PAT_OK);
    assert_int_equal(old_jwt.expires_in, 300);
    /* Members may not rotate; superusers may. */
    assert_int_equal(pat_service_keys_rotate(f->svc, &f->member, NULL, new_kid), PAT_EFORBIDDEN);
    assert_int_equal(pat_service_keys_rotate(f->svc, &f->admin, NULL, new_kid), PAT_OK);
    assert_int_equal(jwks_kids(f, kids), 2);
    fake_now += 299; /* the JWKS max-age is 300: not signing yet */
    assert_int_equal(exchange(f, v, &new_jwt), PAT_OK);
    pat_buf_dispose(&new_jwt.jwt);
    assert_int_equal(pat_service_keys_list(f->svc, &f->admin, &keys, &n), PAT_OK);
    assert_int_equal(n, 2);
    assert_string_equal(key_of(keys, n, new_kid)->state, "next");
    assert_string_equal(key_of(keys, n, old_kid)->state, "active");
    free(keys);
    fake_now += 1; /* now it signs; the old one retires */
    assert_int_equal(pat_service_keys_list(f->svc, &f->admin, &keys, &n), PAT_OK);
    assert_string_equal(key_of(keys, n, old_kid)->state, "retired");
    assert_string_equal(key_of(keys, n, new_kid)->state, "active");
    /* Retired: published until its last JWT (300 s + 60 s leeway) is over. */
    assert_int_equal(key_of(keys, n, old_kid)->retires_at, fake_now + 300 + 60);
    free(keys);
    /* Its exp has come, but within the 60 s leeway the old key still
     * verifies it. */
    assert_int_equal(verify_jwt(f, old_jwt.jwt.data), PAT_OK);
    fake_now += 359;
    assert_int_equal(jwks_kids(f, kids), 2);
    fake_now += 1;
    assert_int_equal(jwks_kids(f, kids), 1);
    assert_int_equal(verify_jwt(f, old_jwt.jwt.data), PAT_EAUTH);
    assert_string_not_equal(kids[0], old_kid);
    assert_string_equal(kids[0], new_kid);
    pat_buf_dispose(&old_jwt.jwt);
    /* Out of the JWKS for good: pruning deletes it from the store (and so
     * from the keyring), audited; the new key stays, and signs. */
    assert_int_equal(pat_keyring_prune(f->svc), PAT_OK);
    assert_int_equal(pat_store_key_list(f->store, &recs, &n), PAT_OK);
    assert_int_equal(n, 1);
    assert_string_equal(recs[0].kid, new_kid);
    free(recs);
    assert_int_equal(pat_service_keys_list(f->svc, &f->admin, &keys, &n), PAT_OK);
    assert_int_equal(n, 1);
    assert_null(key_of_or_null(keys, n, old_kid));
    free(keys);
    assert_true(audit_has(f, "key.deleted"));
    assert_int_equal(pat_keyring_prune(f->svc), PAT_OK); /* nothing more to do */
    assert_int_equal(exchange(f, v, &new_jwt), PAT_OK);
    assert_int_equal(verify_jwt(f, new_jwt.jwt.data), PAT_OK);
    pat_buf_dispose(&new_jwt.jwt);
}

/* Rotations in one second: at most PAT_KEYS_PUBLISHED_MAX keys are
 * published (then 409, saying when one leaves), each load keeps the keys
 * it had usable, and keys made together retire together once the newest
 * signs, so rotating is possible again after the prune. */
static void test_keys__published_keys_are_bounded_and_retire(void **state)
{
    fixture *f = *state;
    char v[PAT_TOKEN_BUF], kid[64], kids[PAT_KEYS_PUBLISHED_MAX + 1][64];
    pat_exchange_result jwt;
    pat_token_rec t;
    pat_key_info *keys = NULL;
    size_t n = 0;

    assert_int_equal(create(f, &f->admin, "many", &t, v), PAT_OK);
    assert_int_equal(exchange(f, v, &jwt), PAT_OK);
    for (int i = 1; i < PAT_KEYS_PUBLISHED_MAX; i++)
        assert_int_equal(pat_service_keys_rotate(f->svc, &f->admin, NULL, kid), PAT_OK);
    assert_int_equal(pat_service_keys_rotate(f->svc, &f->admin, NULL, kid), PAT_ECONFLICT);
    assert_non_null(strstr(pat_error_last()->message, "published already"));
    assert_int_equal(pat_keyring_load(f->svc), PAT_OK);
    assert_int_equal(pat_service_keys_list(f->svc, &f->admin, &keys, &n), PAT_OK);
    assert_int_equal(n, PAT_KEYS_PUBLISHED_MAX);
    assert_string_equal(key_of(keys, n, kid)->state, "next");
    free(keys);
    assert_int_equal(verify_jwt(f, jwt.jwt.data), PAT_OK);
    pat_buf_dispose(&jwt.jwt);
    /* The newest signs: every other key retires after the longest life of
     * a JWT (300 s + 60 s leeway); until then rotating says when. */
    fake_now += 300;
    assert_int_equal(pat_service_keys_rotate(f->svc, &f->admin, NULL, kids[0]), PAT_ECONFLICT);
    assert_non_null(strstr(pat_error_last()->message, "rotate again after"));
    assert_int_equal(exchange(f, v, &jwt), PAT_OK);
    fake_now += 360;
    assert_int_equal(jwks_kids(f, kids), 1); /* the one that signs */
    assert_int_equal(pat_keyring_prune(f->svc), PAT_OK);
    assert_int_equal(pat_service_keys_list(f->svc, &f->admin, &keys, &n), PAT_OK);
    assert_int_equal(n, 1);
    free(keys);
    assert_int_equal(verify_jwt(f, jwt.jwt.data), PAT_EAUTH); /* expired */
    pat_buf_dispose(&jwt.jwt);
    assert_int_equal(pat_service_keys_rotate(f->svc, &f->admin, NULL, kids[0]), PAT_OK);
}

/* A key that cannot be opened (sealed under another server key, say)
 * fails the load and leaves the keyring as it was: its keys still sign and
 * verify. */
static void test_keys__a_key_that_cannot_be_opened_changes_nothing(void **state)
{
    fixture *f = *state;
    char v[PAT_TOKEN_BUF], kid[64];
    pat_exchange_result jwt;
    pat_token_rec t;
    pat_key_rec bad;

    assert_int_equal(create(f, &f->admin, "bad-key", &t, v), PAT_OK);
    assert_int_equal(pat_service_keys_rotate(f->svc, &f->admin, NULL, kid), PAT_OK);
    memset(&bad, 0, sizeof(bad));
    snprintf(bad.kid, sizeof(bad.kid), "not-a-real-key");
    snprintf(bad.algorithm, sizeof(bad.algorithm), "ES256");
    memset(bad.sealed, 0x5a, 100);
    bad.sealed_len = 100;
    bad.created_at = bad.activates_at = fake_now + 1000;
    assert_int_equal(pat_store_key_insert(f->store, &bad), PAT_OK);
    assert_true(pat_keyring_load(f->svc) < 0);
    assert_int_equal(exchange(f, v, &jwt), PAT_OK);
    assert_int_equal(verify_jwt(f, jwt.jwt.data), PAT_OK);
    pat_buf_dispose(&jwt.jwt);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_store__lookup_by_hash_sees_each_commit),
        T(test_tokens__create_defaults_to_seven_days_and_verifies),
        T(test_tokens__names_unique_per_owner),
        T(test_tokens__expiry_presets_and_custom),
        T(test_tokens__expired_at_exact_second),
        T(test_tokens__disabled_cannot_be_edited_or_used),
        T(test_tokens__unknown_scope_and_role_ceiling),
        T(test_tokens__token_caller_cannot_exceed_itself),
        T(test_tokens__token_without_tokens_scope_cannot_manage),
        T(test_tokens__others_tokens_are_not_found),
        T(test_tokens__regenerate_with_grace),
        T(test_tokens__copy_keeps_settings),
        T(test_tokens__confirmation_required_for_session_changes),
        T(test_tokens__permission_withdrawn),
        T(test_tokens__list_filters),
        T(test_orgs__usable_where_permitted_and_policies_combine),
        T(test_tokens__name_limits),
        T(test_verify__revocation_effective_on_next_request),
        T(test_verify__edit_changes_scopes_at_once),
        T(test_verify__unknown_value_never_shadows_a_new_token),
        T(test_verify__last_use_written_in_batches),
        T(test_verify__a_canary_answers_as_unknown_and_is_reported),
        T(test_verify__last_use_details_once_per_granularity_counts_exact),
        T(test_verify__uses_counted_before_an_edit_still_count),
        T(test_verify__failures_rate_limited_per_address),
        T(test_verify__exempt_networks_are_never_limited),
        T(test_verify__unknown_values_skip_the_store),
        T(test_verify__shared_store_sets_unknown_values_aside_for_the_feed),
        T(test_verify__full_last_use_table_loses_no_count),
        T(test_store__expired_sessions_pruned),
        T(test_verify__deleted_tokens_uses_never_reach_another),
        T(test_tokens__failing_audit_write_undoes_the_change),
        T(test_tokens__stale_write_is_a_conflict),
        T(test_keys__rotation_lifecycle),
        T(test_keys__published_keys_are_bounded_and_retire),
        T(test_keys__a_key_that_cannot_be_opened_changes_nothing),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
