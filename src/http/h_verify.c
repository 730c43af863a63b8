/* Verification for protected services: nginx auth_request (GET /auth) and
 * RFC 7662 introspection. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "core/jwt.h"
#include "core/text.h"
#include "http/format.h"
#include "http/handlers.h"
#include "util/error.h"
#include "util/time.h"

#define URI_MAX 4096
#define FORM_TOKEN_MAX (PAT_JWT_MAX + 1) /* a PAT or one of patd's JWTs */

/* The original request's query, for query tokens: a value decoded into
 * the buffer (one at a time). */
typedef struct original_query {
    const char *uri;
    char value[PAT_TOKEN_BUF + 8];
} original_query;

static const char *original_query_param(void *ctx, const char *name)
{
    original_query *q = ctx;

    return pat_http_query_param(q->uri, name, q->value, sizeof(q->value)) ? q->value : NULL;
}

int pat_h_auth(pat_req *r)
{
    pat_service *svc = pat_req_service(r);
    const pat_req_headers *h = &r->hdr;
    const char *method = h->x_original_method;
    const char *token = NULL, *scope, *org = NULL;
    char path[PAT_PATH_MAX];
    original_query query;
    struct MHD_Response *resp;
    bool cached;
    size_t len = 0;
    int rc;

    /* nginx names the original request X-Original-*, Caddy and Traefik
     * X-Forwarded-*. */
    query.uri = h->x_original_uri;
    if (!query.uri || !*query.uri)
        query.uri = h->x_forwarded_uri;
    if (!method || !*method)
        method = h->x_forwarded_method;
    if (!method || !*method)
        method = "GET";
    /* The original path without its query: the query may hold a credential. */
    if (!query.uri || !*query.uri)
        query.uri = "/";
    pat_text_copy(path, sizeof(path), query.uri, strcspn(query.uri, "?#"));
    if ((rc = pat_service_credential(svc, h->authorization, original_query_param, &query, &token,
                                     &len)) < 0)
        return rc;
    scope = pat_service_requirements(svc, h->x_required_scope, h->x_required_org, method, path,
                                     &org);
    /* A JWT from the token exchange is accepted too, for the audience the
     * protected service names (else patd's own). */
    rc = pat_http_verify_gateway(r, token, len, scope, org, method, path,
                                 pat_jwt_shape(token, len) ? h->x_required_audience : NULL, false);
    pat_secret_wipe(query.value, sizeof(query.value));
    if (rc < 0)
        return rc;
    if (!(resp = pat_auth_response(&r->who, &cached)))
        return pat_error_set(PAT_EIO, NULL, "out of memory");
    pat_respond_prepared(r, 204, resp, cached);
    return PAT_OK;
}

/* The "token" field of a form body, through libmicrohttpd's parser. */
typedef struct form_token {
    char value[FORM_TOKEN_MAX];
    size_t len;
    int found;
    int too_long;
} form_token;

static enum MHD_Result form_field(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *filename, const char *content_type,
                                  const char *encoding, const char *data, uint64_t off, size_t size)
{
    form_token *ft = cls;

    (void)kind, (void)filename, (void)content_type, (void)encoding;
    if (strcmp(key, "token") != 0)
        return MHD_YES;
    ft->found = 1;
    if (off + size >= sizeof(ft->value)) {
        ft->too_long = 1;
        return MHD_YES;
    }
    memcpy(ft->value + off, data, size);
    ft->len = (size_t)(off + size);
    ft->value[ft->len] = '\0';
    return MHD_YES;
}

/* Reads the token to introspect from a form or JSON body into ft. */
static int read_subject(pat_req *r, form_token *ft)
{
    const char *ct = pat_req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
    int rc = PAT_OK;

    memset(ft, 0, sizeof(*ft));
    if (r->body_too_big)
        return pat_error_set(PAT_ETOOBIG, NULL, "the request body exceeds %d bytes", PAT_BODY_MAX);
    if (ct && strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0) {
        struct MHD_PostProcessor *pp = MHD_create_post_processor(r->conn, 1024, form_field, ft);
        if (!pp)
            return pat_error_set(PAT_EINVAL, NULL, "the form body cannot be read");
        if (r->body.len && MHD_post_process(pp, r->body.data, r->body.len) != MHD_YES)
            rc = pat_error_set(PAT_EINVAL, NULL, "the form body is malformed");
        MHD_destroy_post_processor(pp);
    } else {
        static const char *const keys[] = {"token", "token_type_hint", NULL};
        json_t *body = NULL;
        const char *token = NULL;
        if ((rc = pat_json_body(r, &body)) == PAT_OK &&
            (rc = pat_json_only_keys(body, keys)) == PAT_OK &&
            (rc = pat_json_string(body, "token", &token, NULL)) == PAT_OK && token) {
            ft->found = 1;
            if (pat_text_set(ft->value, sizeof(ft->value), token) < 0)
                ft->too_long = 1;
            else
                ft->len = strlen(token);
            pat_secret_wipe((char *)token, strlen(token));
        }
        json_decref(body);
    }
    if (rc == PAT_OK && !ft->found)
        rc = pat_error_set(PAT_EINVAL, "token", "token is required");
    return rc;
}

/* The introspecting service's own token. RFC 7662 2.1 has the protected
 * resource authenticate as an OAuth client; patd's clients are tokens:
 * Bearer or Token, or HTTP Basic with the token as the password (the user
 * name is ignored), which is what resource-server modules such as
 * Apache's mod_oauth2 send. Basic's decoded form goes into buf. */
static int caller_token(const char *authz, char *buf, size_t bufsz, const char **tok,
                        size_t *len)
{
    const char *b64, *colon;
    size_t n = 0;

    if (strncasecmp(authz, "Basic ", 6) != 0)
        return pat_token_from_authorization(authz, tok, len);
    b64 = authz + 6;
    while (*b64 == ' ')
        b64++;
    if (sodium_base642bin((unsigned char *)buf, bufsz - 1, b64, strlen(b64), NULL, &n, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        !(colon = memchr(buf, ':', n)))
        return pat_error_set(PAT_EAUTH, NULL, "malformed Basic credentials");
    buf[n] = '\0';
    *tok = colon + 1;
    *len = n - (size_t)(colon + 1 - buf);
    return PAT_OK;
}

int pat_h_introspect(pat_req *r)
{
    const char *authz = r->hdr.authorization;
    const char *caller = NULL;
    char basic[PAT_TOKEN_BUF + 256];
    size_t caller_len = 0;
    pat_principal subject;
    pat_verify_request vr;
    form_token ft;
    json_t *o;
    int rc;

    /* The caller is a protected service holding a token with the
     * introspect scope; RFC 7662 answers anyone else with 401. */
    if (!authz)
        return pat_error_set(PAT_EUNAUTH, NULL,
                             "introspection needs a token with the "
                             "introspect scope");
    rc = caller_token(authz, basic, sizeof(basic), &caller, &caller_len);
    if (rc == PAT_OK)
        rc = pat_http_verify(r, caller, caller_len, PAT_SCOPE_INTROSPECT, r->method, r->path);
    pat_secret_wipe(basic, sizeof(basic));
    if (rc < 0)
        return rc == PAT_ESCOPE ? pat_error_set(PAT_EAUTH, NULL,
                                                "introspection needs a token with the "
                                                "introspect scope")
                                : rc;
    if ((rc = read_subject(r, &ft)) < 0)
        goto out;
    memset(&vr, 0, sizeof(vr));
    vr.token = ft.value;
    vr.len = ft.too_long ? 0 : ft.len;
    /* patd's JWTs too, for any audience: the asking service checks aud. */
    vr.allow_jwt = true;
    vr.any_audience = true;
    /* The subject's client is unknown here: no address rules, no rate
     * limit against the asking service, and no use recorded: the service
     * is checking the token, not using it (its client's use is the one
     * that counts, and that client never talked to patd). */
    vr.method = NULL;
    memset(&subject, 0, sizeof(subject));
    if (pat_service_verify(pat_req_service(r), &vr, &subject) < 0) {
        pat_respond_json(r, 200, json_pack("{s:b}", "active", 0));
        goto out;
    }
    o = json_pack("{s:b, s:s, s:s, s:s, s:I, s:I, s:s}", "active", 1, "sub", "", "username",
                  subject.username, "scope", subject.scopes, "iat",
                  (json_int_t)subject.token_issued_at, "token_id", (json_int_t)subject.token_id,
                  "token_type", subject.via_jwt ? "jwt" : "pat");
    /* The same scopes as an array: gateways that match a claim's values
     * one by one (mod_oauth2's Require oauth2_claim scopes:NAME) need it. */
    json_object_set_new(o, "scopes", pat_format_words(subject.scopes));
    json_object_set_new(o, "orgs", pat_format_words(subject.orgs));
    if (subject.via_jwt) {
        json_object_set_new(o, "aud", json_string(subject.jwt_audience));
        json_object_set_new(o, "iss", json_string(pat_service_issuer(pat_req_service(r))));
    }
    {
        char sub[24];
        snprintf(sub, sizeof(sub), "%lld", (long long)subject.user_id);
        json_object_set_new(o, "sub", json_string(sub));
    }
    json_object_set_new(
        o, "exp", subject.token_expires_at ? json_integer(subject.token_expires_at) : json_null());
    pat_respond_json(r, 200, o);
out:
    pat_secret_wipe(&ft, sizeof(ft));
    return rc;
}
