/* Own-token endpoints: parse the body into a pat_token_input, call the
 * service, format the token object. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cidr.h"
#include "http/format.h"
#include "http/handlers.h"
#include "util/error.h"
#include "util/mem.h"
#include "util/time.h"

/* A parsed token body; owns the arrays, borrows strings from body. */
typedef struct token_body {
    json_t *body;
    pat_token_input in;
    const char **scopes;
    const char **cidrs;
    const char **orgs;
} token_body;

static void token_body_dispose(token_body *tb)
{
    free(tb->scopes);
    free(tb->cidrs);
    free(tb->orgs);
    json_decref(tb->body);
}

/* Reads the fields shared by create, edit and copy. In an edit,
 * "expires_at": null means "never"; elsewhere null is "not given". */
static int parse_token_body(pat_req *r, token_body *tb, int is_edit)
{
    static const char *const keys[] = {
        "name",      "description",   "expires_in_days", "expires_at",        "never_expires",
        "scopes",    "scope_set",     "allowed_cidrs",   "notify_new_client", "canary",
        "organizations", NULL};
    pat_token_input *in = &tb->in;
    int64_t days = 0;
    const char *at = NULL;
    bool has_days = false, has_at = false, has_never = false, never = false;
    int kinds = 0;
    int rc;

    memset(tb, 0, sizeof(*tb));
    if ((rc = pat_json_body(r, &tb->body)) < 0 || (rc = pat_json_only_keys(tb->body, keys)) < 0 ||
        (rc = pat_json_string(tb->body, "name", &in->name, NULL)) < 0 ||
        (rc = pat_json_string(tb->body, "description", &in->description, NULL)) < 0 ||
        (rc = pat_json_int(tb->body, "expires_in_days", &days, &has_days)) < 0 ||
        (rc = pat_json_string(tb->body, "expires_at", &at, &has_at)) < 0 ||
        (rc = pat_json_bool(tb->body, "never_expires", &never, &has_never)) < 0 ||
        (rc = pat_json_strings(tb->body, "scopes", PAT_SCOPES_PER_TOKEN_MAX, &tb->scopes,
                               &in->nscopes, &in->has_scopes)) < 0 ||
        (rc = pat_json_string(tb->body, "scope_set", &in->scope_set, NULL)) < 0 ||
        (rc = pat_json_strings(tb->body, "allowed_cidrs", PAT_CIDRS_PER_TOKEN_MAX, &tb->cidrs,
                               &in->ncidrs, &in->has_cidrs)) < 0 ||
        (rc = pat_json_bool(tb->body, "canary", &in->canary, &in->has_canary)) < 0 ||
        (rc = pat_json_bool(tb->body, "notify_new_client", &in->notify_new_client,
                            &in->has_notify_new_client)) < 0 ||
        (rc = pat_json_strings(tb->body, "organizations", PAT_ORGS_PER_TOKEN, &tb->orgs,
                               &in->norgs, NULL)) < 0)
        return rc;
    in->scopes = tb->scopes;
    in->cidrs = tb->cidrs;
    /* null: every organization of the owner's; an array: those named. */
    in->has_orgs = json_object_get(tb->body, "organizations") != NULL;
    in->orgs = tb->orgs;
    if (has_days) {
        kinds++;
        in->expiry.kind = PAT_EXPIRY_DAYS;
        in->expiry.days = days;
    }
    if (has_at) {
        kinds++;
        in->expiry.kind = PAT_EXPIRY_AT;
        if (pat_time_parse(at, &in->expiry.at) < 0)
            return pat_error_set(PAT_EINVAL, "expires_at",
                                 "expires_at must be an RFC 3339 date-time or YYYY-MM-DD");
    } else if (is_edit && json_is_null(json_object_get(tb->body, "expires_at"))) {
        kinds++;
        in->expiry.kind = PAT_EXPIRY_NEVER;
    }
    if (has_never && never) {
        kinds++;
        in->expiry.kind = PAT_EXPIRY_NEVER;
    }
    if (kinds > 1)
        return pat_error_set(PAT_EINVAL, "expires_at",
                             "give only one of expires_in_days, expires_at and never_expires");
    in->has_expiry = kinds == 1;
    return PAT_OK;
}

json_t *pat_h_token_json(pat_req *r, const pat_token_rec *t, const pat_token_extras *x)
{
    pat_service *svc = pat_req_service(r);
    json_t *o = pat_format_token(t, pat_service_now(svc)), *used = json_array();
    pat_token_extras own = {NULL, 0, NULL, 0};
    char unused[PAT_SCOPES_STR_MAX];

    /* One token alone: its extras read here (a list reads them once). */
    if (!x && pat_tokens_extras(svc, t->user_id, t->id, &own) == PAT_OK)
        x = &own;
    if (x && pat_tokens_rotating(svc, t)) {
        pat_rotation_rec one;
        memset(&one, 0, sizeof(one)); /* not tracked: zeros */
        for (size_t i = 0; i < x->nrots; i++)
            if (x->rots[i].token_id == t->id)
                one = x->rots[i];
        json_object_set_new(o, "rotation", pat_format_rotation(t, &one));
    }
    for (size_t i = 0; x && i < x->nuses; i++)
        if (x->uses[i].token_id == t->id)
            json_array_append_new(used, pat_format_scope_use(&x->uses[i]));
    json_object_set_new(o, "scopes_used", used);
    pat_tokens_unused_scopes(svc, t, x, unused);
    json_object_set_new(o, "unused_scopes", pat_format_words(unused));
    pat_tokens_extras_dispose(&own);
    return o;
}

/* Responds with the token object, plus the value and a curl example when
 * value is non-NULL (the only answers that ever carry it), and what a
 * policy in warn mode let through (w set). */
static void respond_token_warned(pat_req *r, unsigned status, const pat_token_rec *t,
                                 const char *value, const pat_policy_warning *w)
{
    json_t *o = pat_h_token_json(r, t, NULL);

    if (w && w->set)
        json_object_set_new(o, "warnings",
                            json_pack("[{s:s, s:s}]", "field", w->field, "message", w->message));
    if (value) {
        char example[PAT_TOKEN_BUF + 512];
        snprintf(example, sizeof(example),
                 "curl -H \"Authorization: Bearer %s\" %s/api/v1/tokens/self", value,
                 pat_req_public_url(r));
        json_object_set_new(o, "token", json_string(value));
        json_object_set_new(o, "curl_example", json_string(example));
        pat_secret_wipe(example, sizeof(example));
    }
    pat_respond_json(r, status, o);
}

static void respond_token(pat_req *r, unsigned status, const pat_token_rec *t, const char *value)
{
    respond_token_warned(r, status, t, value, NULL);
}

int pat_h_tokens_list(pat_req *r)
{
    pat_service *svc = pat_req_service(r);
    pat_token_rec *list = NULL;
    size_t n = 0;
    json_t *arr;
    int rc;

    pat_token_extras x;

    if ((rc = pat_tokens_list(svc, &r->who, pat_req_query(r, "status"), pat_req_query(r, "q"),
                              &list, &n)) < 0)
        return rc;
    if ((rc = pat_tokens_extras(svc, r->who.user_id, 0, &x)) < 0) {
        free(list);
        return rc;
    }
    arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, pat_h_token_json(r, &list[i], &x));
    pat_tokens_extras_dispose(&x);
    free(list);
    pat_respond_json(r, 200, json_pack("{s:o}", "tokens", arr));
    return PAT_OK;
}

/* Create, or copy when from_id is non-zero: same body, same answer. */
static int create_like(pat_req *r, int64_t from_id)
{
    pat_request_info info = pat_req_info(r);
    pat_service *svc = pat_req_service(r);
    pat_token_rec *t = pat_calloc(1, sizeof(*t));
    pat_policy_warning warning = {false, "", ""};
    char value[PAT_TOKEN_BUF];
    token_body tb;
    int rc;

    if ((rc = parse_token_body(r, &tb, 0)) < 0)
        goto out;
    tb.in.warning = &warning;
    rc = from_id ? pat_tokens_copy(svc, &r->who, &info, from_id, &tb.in, t, value)
                 : pat_tokens_create(svc, &r->who, &info, &tb.in, t, value);
    if (rc < 0)
        goto out;
    respond_token_warned(r, 201, t, value, &warning);
    pat_secret_wipe(value, sizeof(value));
out:
    token_body_dispose(&tb);
    free(t);
    return rc;
}

int pat_h_tokens_create(pat_req *r)
{
    return create_like(r, 0);
}

int pat_h_tokens_get(pat_req *r)
{
    pat_token_rec *t = pat_calloc(1, sizeof(*t));
    pat_service *svc = pat_req_service(r);
    pat_token_client *clients = NULL;
    size_t n = 0;
    json_t *o, *arr;
    int rc;

    /* The detail view also lists the clients the token was used from. */
    if ((rc = pat_tokens_get(svc, &r->who, r->id, t)) < 0 ||
        (rc = pat_tokens_clients(svc, &r->who, r->id, &clients, &n)) < 0)
        goto out;
    o = pat_h_token_json(r, t, NULL);
    arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, pat_format_client(&clients[i]));
    json_object_set_new(o, "clients", arr);
    pat_respond_json(r, 200, o);
out:
    free(clients);
    free(t);
    return rc;
}

int pat_h_tokens_self(pat_req *r)
{
    pat_token_rec *t = pat_calloc(1, sizeof(*t));
    int rc;

    if ((rc = pat_tokens_self(pat_req_service(r), &r->who, t)) == PAT_OK)
        respond_token(r, 200, t, NULL);
    free(t);
    return rc;
}

int pat_h_tokens_update(pat_req *r)
{
    pat_request_info info = pat_req_info(r);
    pat_token_rec *t = pat_calloc(1, sizeof(*t));
    pat_policy_warning warning = {false, "", ""};
    token_body tb;
    int rc;

    if ((rc = parse_token_body(r, &tb, 1)) < 0)
        goto out;
    tb.in.warning = &warning;
    if ((rc = pat_tokens_update(pat_req_service(r), &r->who, &info, r->id, &tb.in, t)) < 0)
        goto out;
    respond_token_warned(r, 200, t, NULL, &warning);
out:
    token_body_dispose(&tb);
    free(t);
    return rc;
}

/* disable and enable take no body; an empty or {} one is fine. */
static int set_disabled(pat_req *r, bool disabled)
{
    pat_request_info info = pat_req_info(r);
    pat_token_rec *t = pat_calloc(1, sizeof(*t));
    int rc;

    if ((rc = pat_json_no_body(r)) == PAT_OK &&
        (rc = pat_tokens_set_disabled(pat_req_service(r), &r->who, &info, r->id, disabled, t)) ==
            PAT_OK)
        respond_token(r, 200, t, NULL);
    free(t);
    return rc;
}

int pat_h_tokens_retire_previous(pat_req *r)
{
    pat_request_info info = pat_req_info(r);
    pat_token_rec *t = pat_calloc(1, sizeof(*t));
    int rc;

    if ((rc = pat_json_no_body(r)) == PAT_OK &&
        (rc = pat_tokens_retire_previous(pat_req_service(r), &r->who, &info, r->id, t)) == PAT_OK)
        respond_token(r, 200, t, NULL);
    free(t);
    return rc;
}

int pat_h_tokens_disable(pat_req *r)
{
    return set_disabled(r, true);
}

int pat_h_tokens_enable(pat_req *r)
{
    return set_disabled(r, false);
}

int pat_h_tokens_regenerate(pat_req *r)
{
    static const char *const keys[] = {"grace_seconds", "retire_when_unused_seconds", NULL};
    pat_request_info info = pat_req_info(r);
    pat_token_rec *t = pat_calloc(1, sizeof(*t));
    char value[PAT_TOKEN_BUF];
    int64_t grace = 0, retire = 0;
    json_t *body = NULL;
    int rc;

    if ((rc = pat_json_body(r, &body)) < 0 || (rc = pat_json_only_keys(body, keys)) < 0 ||
        (rc = pat_json_int(body, "grace_seconds", &grace, NULL)) < 0 ||
        (rc = pat_json_int(body, "retire_when_unused_seconds", &retire, NULL)) < 0)
        goto out;
    if ((rc = pat_tokens_regenerate(pat_req_service(r), &r->who, &info, r->id, grace, retire, t,
                                    value)) < 0)
        goto out;
    respond_token(r, 200, t, value);
    pat_secret_wipe(value, sizeof(value));
out:
    json_decref(body);
    free(t);
    return rc;
}

/* POST /api/v1/session/cli-token {"name"}: the CLI's sign-in token. */
int pat_h_signin_token(pat_req *r)
{
    static const char *const keys[] = {"name", NULL};
    pat_request_info info = pat_req_info(r);
    pat_token_rec *t = pat_calloc(1, sizeof(*t));
    char value[PAT_TOKEN_BUF];
    const char *name = NULL;
    json_t *body = NULL;
    bool created = false;
    int rc;

    if ((rc = pat_json_body(r, &body)) < 0 || (rc = pat_json_only_keys(body, keys)) < 0 ||
        (rc = pat_json_string(body, "name", &name, NULL)) < 0)
        goto out;
    if ((rc = pat_tokens_issue_signin(pat_req_service(r), &r->who, &info, name, t, value,
                                      &created)) < 0)
        goto out;
    respond_token(r, created ? 201 : 200, t, value);
    pat_secret_wipe(value, sizeof(value));
out:
    json_decref(body);
    free(t);
    return rc;
}

int pat_h_tokens_copy(pat_req *r)
{
    return create_like(r, r->id);
}

int pat_h_tokens_delete(pat_req *r)
{
    pat_request_info info = pat_req_info(r);
    int rc;

    if ((rc = pat_tokens_delete(pat_req_service(r), &r->who, &info, r->id)) < 0)
        return rc;
    pat_respond_empty(r, 204);
    return PAT_OK;
}

int pat_h_tokens_bulk_delete(pat_req *r)
{
    static const char *const keys[] = {"ids", NULL};
    pat_request_info info = pat_req_info(r);
    int64_t *ids = NULL, *deleted = NULL;
    size_t n = 0, ndeleted = 0;
    json_t *body = NULL, *arr, *v, *out;
    size_t i;
    int rc;

    if ((rc = pat_json_body(r, &body)) < 0 || (rc = pat_json_only_keys(body, keys)) < 0)
        goto out;
    arr = json_object_get(body, "ids");
    if (!json_is_array(arr)) {
        rc = pat_error_set(PAT_EINVAL, "ids", "ids must be an array of token ids");
        goto out;
    }
    n = json_array_size(arr);
    if (n > PAT_BULK_IDS_MAX) {
        rc = pat_error_set(PAT_EINVAL, "ids", "at most %d ids per request", PAT_BULK_IDS_MAX);
        goto out;
    }
    ids = pat_calloc(n + 1, sizeof(*ids));
    deleted = pat_calloc(n + 1, sizeof(*deleted));
    json_array_foreach(arr, i, v) {
        if (!json_is_integer(v) || json_integer_value(v) <= 0) {
            rc = pat_error_set(PAT_EINVAL, "ids", "ids must be positive integers");
            goto out;
        }
        ids[i] = (int64_t)json_integer_value(v);
    }
    if ((rc = pat_tokens_delete_many(pat_req_service(r), &r->who, &info, ids, n, deleted,
                                     &ndeleted)) < 0)
        goto out;
    out = json_array();
    for (i = 0; i < ndeleted; i++)
        json_array_append_new(out, json_integer(deleted[i]));
    pat_respond_json(r, 200, json_pack("{s:o}", "deleted", out));
out:
    free(ids);
    free(deleted);
    json_decref(body);
    return rc;
}

int pat_h_scopes(pat_req *r)
{
    const pat_catalog *c = pat_service_catalog(pat_req_service(r));
    json_t *scopes = json_array(), *sets = json_array();

    for (size_t i = 0; i < c->nscopes; i++) {
        const pat_scope_def *d = &c->scopes[i];
        json_t *roles = json_array();
        static const int all[] = {PAT_ROLE_MEMBER, PAT_ROLE_SUPERUSER};
        for (size_t k = 0; k < sizeof(all) / sizeof(all[0]); k++)
            if (d->roles & (unsigned)all[k])
                json_array_append_new(roles, json_string(pat_role_name(all[k])));
        json_array_append_new(scopes, json_pack("{s:s, s:s, s:o, s:b}", "name", d->name,
                                                "description", d->description, "roles", roles,
                                                "grantable", (d->roles & (unsigned)r->who.role) != 0));
    }
    for (size_t i = 0; i < c->nsets; i++) {
        const pat_scope_set_def *s = &c->sets[i];
        json_array_append_new(sets, json_pack("{s:s, s:s, s:o}", "name", s->name, "description",
                                              s->description, "scopes",
                                              pat_format_words(s->scopes)));
    }
    pat_respond_json(r, 200, json_pack("{s:o, s:o}", "scopes", scopes, "sets", sets));
    return PAT_OK;
}
