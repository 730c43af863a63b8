/* The token exchange (RFC 8693) at POST /oauth/token, the JWKS, the
 * authorization server's metadata (RFC 8414), and the superuser's keys. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/format.h"
#include "http/handlers.h"
#include "util/error.h"
#include "util/time.h"

#define FORM_VALUE_MAX 8192
#define FORM_FIELDS 7

/* The form's fields, each at most FORM_VALUE_MAX bytes, once. */
typedef struct oauth_form {
    const char *names[FORM_FIELDS];
    char *values[FORM_FIELDS];
    size_t lens[FORM_FIELDS];
    size_t written[FORM_FIELDS]; /* how far each buffer was ever written: what to wipe */
    bool too_long, repeated;
} oauth_form;

static const char *const field_names[FORM_FIELDS] = {
    "grant_type", "subject_token", "subject_token_type", "requested_token_type",
    "scope",      "audience",      "resource",
};

static enum MHD_Result form_field(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *filename, const char *content_type,
                                  const char *encoding, const char *data, uint64_t off, size_t size)
{
    oauth_form *f = cls;

    (void)kind, (void)filename, (void)content_type, (void)encoding;
    for (int i = 0; i < FORM_FIELDS; i++) {
        if (strcmp(key, field_names[i]) != 0)
            continue;
        if (off == 0 && f->values[i] && f->lens[i] > 0)
            f->repeated = true; /* RFC 6749 3.2: parameters must not repeat */
        /* Not zeroed: what is read is what was written, NUL-terminated. */
        if (!f->values[i] && (f->values[i] = malloc(FORM_VALUE_MAX + 1))) {
            f->values[i][0] = '\0';
            f->written[i] = 1;
        }
        if (!f->values[i] || off > f->lens[i] || off + size > FORM_VALUE_MAX) {
            f->too_long = true;
            return MHD_YES;
        }
        memcpy(f->values[i] + off, data, size);
        f->lens[i] = (size_t)(off + size);
        f->values[i][f->lens[i]] = '\0';
        if (f->lens[i] + 1 > f->written[i])
            f->written[i] = f->lens[i] + 1;
        return MHD_YES;
    }
    return MHD_YES; /* unknown parameters are ignored (RFC 6749 3.2) */
}

static void form_dispose(oauth_form *f)
{
    for (int i = 0; i < FORM_FIELDS; i++) {
        if (f->values[i])
            pat_secret_wipe(f->values[i], f->written[i]);
        free(f->values[i]);
    }
}

/* RFC 6749 5.2's shape, with no-store (every answer of ours has it). */
static int oauth_error(pat_req *r, unsigned status, const char *code, const char *description)
{
    char clean[PAT_ERROR_MESSAGE_MAX];

    /* As every error of ours: a description may quote the client. */
    pat_text_copy_clean(clean, sizeof(clean), description);
    pat_respond_json(r, status, json_pack("{ss ss}", "error", code, "error_description", clean));
    pat_respond_header(r, "Pragma", "no-cache");
    return PAT_OK;
}

static int read_form(pat_req *r, oauth_form *f)
{
    const char *ct = pat_req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
    struct MHD_PostProcessor *pp;
    int rc = PAT_OK;

    if (r->body_too_big)
        return pat_error_set(PAT_ETOOBIG, NULL, "the request body exceeds %d bytes", PAT_BODY_MAX);
    if (!ct || strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0)
        return pat_error_set(PAT_EMEDIA, NULL,
                             "send the form as application/x-www-form-urlencoded");
    if (!(pp = MHD_create_post_processor(r->conn, 1024, form_field, f)))
        return pat_error_set(PAT_EINVAL, NULL, "the form body cannot be read");
    if (r->body.len && MHD_post_process(pp, r->body.data, r->body.len) != MHD_YES)
        rc = pat_error_set(PAT_EINVAL, NULL, "the form body is malformed");
    MHD_destroy_post_processor(pp);
    if (rc == PAT_OK && f->too_long)
        rc = pat_error_set(PAT_EINVAL, NULL, "a parameter is too long");
    if (rc == PAT_OK && f->repeated)
        rc = pat_error_set(PAT_EINVAL, NULL, "a parameter is repeated");
    return rc;
}

int pat_h_oauth_token(pat_req *r)
{
    pat_service *svc = pat_req_service(r);
    pat_exchange_request req;
    pat_exchange_result res;
    pat_verify_request client;
    pat_request_info info = pat_req_info(r);
    oauth_form f;
    json_t *o;
    int rc;

    memset(&f, 0, sizeof(f));
    memset(&res, 0, sizeof(res));
    if ((rc = read_form(r, &f)) < 0) {
        unsigned status = rc == PAT_ETOOBIG ? 413 : rc == PAT_EMEDIA ? 415 : 400;
        oauth_error(r, status, "invalid_request", pat_error_last()->message);
        rc = PAT_OK;
        goto out;
    }
    req.grant_type = f.values[0];
    req.subject_token = f.values[1];
    req.subject_token_type = f.values[2];
    req.requested_token_type = f.values[3];
    req.scope = f.values[4];
    req.audience = f.values[5];
    req.resource = f.values[6];
    memset(&client, 0, sizeof(client));
    client.client_ip = r->ip;
    client.method = r->method;
    client.path = r->path;
    client.user_agent = r->hdr.user_agent;
    if ((rc = pat_service_exchange(svc, &req, &client, &info, &res)) < 0) {
        const pat_error *e = pat_error_last();
        if (rc == PAT_EINVAL) {
            oauth_error(r, 400, e->field[0] ? e->field : "invalid_request", e->message);
            rc = PAT_OK;
        } else if (rc == PAT_ERATE) {
            char wait[PAT_ERROR_FIELD_MAX];
            snprintf(wait, sizeof(wait), "%s", e->field);
            oauth_error(r, 429, "invalid_request", e->message);
            pat_respond_header(r, "Retry-After", wait);
            rc = PAT_OK;
        }
        goto out;
    }
    o = json_pack("{ss ss ss sI ss}", "access_token", res.jwt.data, "issued_token_type",
                  "urn:ietf:params:oauth:token-type:jwt", "token_type", "Bearer", "expires_in",
                  (json_int_t)res.expires_in, "scope", res.scope);
    pat_respond_json(r, 200, o);
    pat_respond_header(r, "Pragma", "no-cache");
out:
    pat_buf_dispose(&res.jwt);
    form_dispose(&f);
    return rc;
}

int pat_h_jwks(pat_req *r)
{
    pat_service *svc = pat_req_service(r);
    char cc[48];

    pat_respond_json(r, 200, pat_service_jwks(svc));
    /* Verifiers may keep it this long: a rotated key is published at least
     * this long before it signs (keyring.c). */
    snprintf(cc, sizeof(cc), "public, max-age=%d", pat_service_jwks_max_age(svc));
    if (r->resp)
        MHD_del_response_header(r->resp, "Cache-Control", "no-store");
    pat_respond_header(r, "Cache-Control", cc);
    return PAT_OK;
}

int pat_h_oauth_metadata(pat_req *r)
{
    pat_service *svc = pat_req_service(r);
    const pat_catalog *c = pat_service_catalog(svc);
    const char *iss = pat_service_issuer(svc);
    char token[400], jwks[400], introspect[400];
    json_t *scopes = json_array();

    /* RFC 8414 2: issuer, jwks_uri and response_types_supported are
     * required; the token endpoint because a grant is offered. patd has no
     * authorization endpoint, so no response type is supported. */
    for (size_t i = 0; i < c->nscopes; i++)
        json_array_append_new(scopes, json_string(c->scopes[i].name));
    snprintf(token, sizeof(token), "%s/oauth/token", iss);
    snprintf(jwks, sizeof(jwks), "%s/.well-known/jwks.json", iss);
    snprintf(introspect, sizeof(introspect), "%s/api/v1/introspect", iss);
    pat_respond_json(
        r, 200,
        json_pack("{ss ss ss ss s[s] s[] s[s] so s[s]}", "issuer", iss, "token_endpoint", token,
                  "jwks_uri", jwks, "introspection_endpoint", introspect, "grant_types_supported",
                  "urn:ietf:params:oauth:grant-type:token-exchange", "response_types_supported",
                  "token_endpoint_auth_methods_supported", "none", "scopes_supported", scopes,
                  "introspection_endpoint_auth_methods_supported", "bearer"));
    return PAT_OK;
}

int pat_h_keys_list(pat_req *r)
{
    pat_key_info *keys = NULL;
    size_t n = 0;
    json_t *arr;
    int rc;

    if ((rc = pat_service_keys_list(pat_req_service(r), &r->who, &keys, &n)) < 0)
        return rc;
    arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *k = json_pack("{ss ss ss ss sb}", "kid", keys[i].kid, "alg", keys[i].alg, "state",
                              keys[i].state, "created_at", "", "in_jwks", keys[i].in_jwks);
        json_object_set_new(k, "created_at", pat_format_time(keys[i].created_at));
        json_object_set_new(k, "signs_from", pat_format_time(keys[i].activates_at));
        json_object_set_new(k, "retires_at", pat_format_time(keys[i].retires_at));
        json_array_append_new(arr, k);
    }
    free(keys);
    pat_respond_json(r, 200, json_pack("{so}", "keys", arr));
    return PAT_OK;
}

int pat_h_keys_rotate(pat_req *r)
{
    pat_request_info info = pat_req_info(r);
    char kid[64];
    int rc;

    if ((rc = pat_service_keys_rotate(pat_req_service(r), &r->who, &info, kid)) < 0)
        return rc;
    return pat_h_keys_list(r);
}

/* POST /api/v1/tokens/{id}/exchange: the console's exchange of one of the
 * caller's own tokens. The API's error shape, naming the field at fault. */
int pat_h_tokens_exchange(pat_req *r)
{
    static const char *const keys[] = {"scope", "audience", "resource", NULL};
    pat_request_info info = pat_req_info(r);
    pat_exchange_request req;
    pat_exchange_result res;
    json_t *body = NULL;
    int rc;

    memset(&req, 0, sizeof(req));
    memset(&res, 0, sizeof(res));
    if ((rc = pat_json_body(r, &body)) < 0 || (rc = pat_json_only_keys(body, keys)) < 0 ||
        (rc = pat_json_string(body, "scope", &req.scope, NULL)) < 0 ||
        (rc = pat_json_string(body, "audience", &req.audience, NULL)) < 0 ||
        (rc = pat_json_string(body, "resource", &req.resource, NULL)) < 0)
        goto out;
    if ((rc = pat_service_exchange_own(pat_req_service(r), &r->who, r->id, &req, &info, &res)) <
        0) {
        const pat_error *e = pat_error_last();
        if (rc == PAT_EINVAL)
            rc = pat_error_set(PAT_EINVAL,
                               strcmp(e->field, "invalid_scope") == 0    ? "scope"
                               : strcmp(e->field, "invalid_target") == 0 ? "audience"
                                                                         : NULL,
                               "%s", e->message);
        goto out;
    }
    pat_respond_json(r, 200,
                     json_pack("{ss ss ss sI ss}", "access_token", res.jwt.data,
                               "issued_token_type", "urn:ietf:params:oauth:token-type:jwt",
                               "token_type", "Bearer", "expires_in", (json_int_t)res.expires_in,
                               "scope", res.scope));
out:
    pat_buf_dispose(&res.jwt);
    json_decref(body);
    return rc;
}

int pat_h_audiences(pat_req *r)
{
    pat_respond_json(r, 200, pat_service_audiences(pat_req_service(r)));
    return PAT_OK;
}
