/* Routes, caller authentication and CSRF, in front of the handlers. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/handlers.h"
#include "util/error.h"

enum { PUBLIC = 0, AUTH = 1 };

typedef struct route {
    const char *method;
    const char *pattern; /* "{id}" matches a positive integer */
    pat_handler fn;
    int auth;
} route;

/* The hot route first (the table is scanned in order); literal paths before
 * patterns that could shadow them (/tokens/self). */
static const route routes[] = {
    {"GET", "/auth", pat_h_auth, PUBLIC},
    {"POST", "/api/v1/session", pat_h_session_create, PUBLIC},
    {"GET", "/api/v1/session", pat_h_session_get, AUTH},
    {"DELETE", "/api/v1/session", pat_h_session_delete, AUTH},
    {"POST", "/api/v1/session/confirm", pat_h_session_confirm, AUTH},
    {"POST", "/api/v1/session/cli-token", pat_h_signin_token, AUTH},
    {"GET", "/api/v1/me", pat_h_me_get, AUTH},
    {"PATCH", "/api/v1/me", pat_h_me_update, AUTH},
    {"GET", "/api/v1/tokens", pat_h_tokens_list, AUTH},
    {"POST", "/api/v1/tokens", pat_h_tokens_create, AUTH},
    {"GET", "/api/v1/tokens/self", pat_h_tokens_self, AUTH},
    {"POST", "/api/v1/tokens/bulk-delete", pat_h_tokens_bulk_delete, AUTH},
    {"GET", "/api/v1/tokens/{id}", pat_h_tokens_get, AUTH},
    {"PATCH", "/api/v1/tokens/{id}", pat_h_tokens_update, AUTH},
    {"DELETE", "/api/v1/tokens/{id}", pat_h_tokens_delete, AUTH},
    {"POST", "/api/v1/tokens/{id}/disable", pat_h_tokens_disable, AUTH},
    {"POST", "/api/v1/tokens/{id}/enable", pat_h_tokens_enable, AUTH},
    {"POST", "/api/v1/tokens/{id}/regenerate", pat_h_tokens_regenerate, AUTH},
    {"POST", "/api/v1/tokens/{id}/retire-previous", pat_h_tokens_retire_previous, AUTH},
    {"POST", "/api/v1/tokens/{id}/copy", pat_h_tokens_copy, AUTH},
    {"POST", "/api/v1/tokens/{id}/exchange", pat_h_tokens_exchange, AUTH},
    {"GET", "/api/v1/audiences", pat_h_audiences, AUTH},
    {"GET", "/api/v1/scopes", pat_h_scopes, AUTH},
    {"GET", "/api/v1/policy", pat_h_policy_get, AUTH},
    {"PUT", "/api/v1/policy", pat_h_policy_put, AUTH},
    {"GET", "/api/v1/policy/violations", pat_h_policy_violations, AUTH},
    {"POST", "/api/v1/policy/preview", pat_h_policy_preview, AUTH},
    {"GET", "/api/v1/users", pat_h_users_list, AUTH},
    {"POST", "/api/v1/users", pat_h_users_create, AUTH},
    {"GET", "/api/v1/users/{id}", pat_h_users_get, AUTH},
    {"PATCH", "/api/v1/users/{id}", pat_h_users_update, AUTH},
    {"GET", "/api/v1/users/{id}/tokens", pat_h_users_tokens, AUTH},
    {"POST", "/api/v1/users/{id}/tokens/revoke-all", pat_h_users_revoke_all, AUTH},
    {"POST", "/api/v1/users/{id}/tokens/{tid}/disable", pat_h_users_token_disable, AUTH},
    {"POST", "/api/v1/users/{id}/tokens/{tid}/enable", pat_h_users_token_enable, AUTH},
    {"DELETE", "/api/v1/users/{id}/tokens/{tid}", pat_h_users_token_delete, AUTH},
    {"GET", "/api/v1/orgs", pat_h_orgs_list, AUTH},
    {"POST", "/api/v1/orgs", pat_h_orgs_create, AUTH},
    {"GET", "/api/v1/orgs/{slug}", pat_h_orgs_get, AUTH},
    {"PATCH", "/api/v1/orgs/{slug}", pat_h_orgs_update, AUTH},
    {"GET", "/api/v1/orgs/{slug}/members", pat_h_orgs_members, AUTH},
    {"POST", "/api/v1/orgs/{slug}/members", pat_h_orgs_member_add, AUTH},
    {"PATCH", "/api/v1/orgs/{slug}/members/{id}", pat_h_orgs_member_update, AUTH},
    {"DELETE", "/api/v1/orgs/{slug}/members/{id}", pat_h_orgs_member_remove, AUTH},
    {"GET", "/api/v1/orgs/{slug}/members/{id}/tokens", pat_h_orgs_member_tokens, AUTH},
    {"POST", "/api/v1/orgs/{slug}/members/{id}/tokens/revoke-all", pat_h_orgs_member_revoke_all,
     AUTH},
    {"GET", "/api/v1/orgs/{slug}/policy", pat_h_orgs_policy_get, AUTH},
    {"PUT", "/api/v1/orgs/{slug}/policy", pat_h_orgs_policy_put, AUTH},
    {"GET", "/api/v1/orgs/{slug}/policy/violations", pat_h_orgs_policy_violations, AUTH},
    {"GET", "/api/v1/orgs/{slug}/audit", pat_h_orgs_audit, AUTH},
    {"GET", "/api/v1/audit", pat_h_audit, AUTH},
    {"GET", "/api/v1/outbox", pat_h_outbox, AUTH},
    {"POST", "/api/v1/outbox/retry", pat_h_outbox_retry, AUTH},
    {"PUT", "/api/v1/session/password", pat_h_password_change, AUTH},
    {"POST", "/api/v1/introspect", pat_h_introspect, PUBLIC},
    {"POST", "/api/v1/credentials/revoke", pat_h_credentials_revoke, PUBLIC},
    {"GET", "/metrics", pat_h_metrics, PUBLIC},
    {"GET", "/api/v1/openapi.json", pat_h_openapi, PUBLIC},
    {"GET", "/", pat_h_static, PUBLIC},
    {"GET", "/healthz", pat_h_healthz, PUBLIC},
    {"GET", "/readyz", pat_h_readyz, PUBLIC},
    {"POST", "/oauth/token", pat_h_oauth_token, PUBLIC},
    {"GET", "/.well-known/jwks.json", pat_h_jwks, PUBLIC},
    {"GET", "/.well-known/oauth-authorization-server", pat_h_oauth_metadata, PUBLIC},
    {"GET", "/api/v1/keys", pat_h_keys_list, AUTH},
    {"POST", "/api/v1/keys/rotate", pat_h_keys_rotate, AUTH},
};

/* 1 if path matches pattern; the values of its "{id}" and "{tid}" segments
 * (positive decimal numbers) go to ids[0] and ids[1], that of "{slug}"
 * (an organization's: 1 to PAT_ORG_SLUG_MAX of [a-z0-9-]) to slug. */
static int match(const char *pattern, const char *path, int64_t ids[2],
                 char slug[PAT_ORG_SLUG_MAX + 1])
{
    while (*pattern && *path) {
        if (strncmp(pattern, "{slug}", 6) == 0) {
            size_t n = strspn(path, "abcdefghijklmnopqrstuvwxyz0123456789-");
            if (n == 0 || n > PAT_ORG_SLUG_MAX)
                return 0;
            memcpy(slug, path, n);
            slug[n] = '\0';
            path += n;
            pattern += 6;
            continue;
        }
        int which = strncmp(pattern, "{id}", 4) == 0 ? 0 : strncmp(pattern, "{tid}", 5) == 0 ? 1
                                                                                           : -1;
        if (which >= 0) {
            int64_t v = 0;
            int digits = 0;
            while (*path >= '0' && *path <= '9') {
                if (++digits > 18)
                    return 0;
                v = v * 10 + (*path++ - '0');
            }
            if (digits == 0 || v == 0)
                return 0;
            ids[which] = v;
            pattern += which == 0 ? 4 : 5;
            continue;
        }
        if (*pattern++ != *path++)
            return 0;
    }
    return *pattern == '\0' && *path == '\0';
}

static int verify(pat_req *r, const char *token, size_t len, const char *required_scope,
                  const char *required_org, const char *method, const char *path, bool allow_jwt,
                  const char *audience, bool any_audience)
{
    pat_verify_request vr;

    memset(&vr, 0, sizeof(vr));
    vr.allow_jwt = allow_jwt;
    vr.audience = audience;
    vr.any_audience = any_audience;
    vr.token = token;
    vr.len = len;
    vr.client_ip = r->ip;
    vr.required_scope = required_scope;
    vr.required_org = required_org;
    vr.method = method;
    vr.path = path;
    vr.user_agent = r->hdr.user_agent;
    vr.arrived_us = r->start_us;
    /* GET /auth, the gateway's path, has done nothing before its
     * verification that it would do twice: it may be set aside for the
     * changes feed (http/defer.c), once. */
    vr.may_defer = allow_jwt && !r->deferred;
    return pat_service_verify(pat_req_service(r), &vr, &r->who);
}

int pat_http_verify(pat_req *r, const char *token, size_t len, const char *required_scope,
                    const char *method, const char *path)
{
    return verify(r, token, len, required_scope, NULL, method, path, false, NULL, false);
}

int pat_http_verify_gateway(pat_req *r, const char *token, size_t len, const char *required_scope,
                            const char *required_org, const char *method, const char *path,
                            const char *audience, bool any_audience)
{
    return verify(r, token, len, required_scope, required_org, method, path, true, audience,
                  any_audience);
}

static int is_safe_method(const char *m)
{
    return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 || strcmp(m, "OPTIONS") == 0;
}

static const char *request_query(void *r, const char *name)
{
    return pat_req_query(r, name);
}

static int authenticate(pat_req *r)
{
    pat_service *svc = pat_req_service(r);
    const char *token = NULL, *sid;
    size_t len = 0;
    int rc;

    rc = pat_service_credential(svc, r->hdr.authorization, request_query, r, &token, &len);
    if (rc == PAT_OK)
        return pat_http_verify(r, token, len, NULL, r->method, r->path);
    if (rc != PAT_EUNAUTH)
        return rc;
    sid = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, "patd_session");
    if (!sid)
        return pat_error_set(PAT_EUNAUTH, NULL,
                             "sign in, or send Authorization: Bearer <token>");
    if ((rc = pat_service_session_resolve(svc, sid, &r->who)) < 0)
        return rc;
    /* A cookie rides along on cross-site requests; the header cannot. */
    if (!is_safe_method(r->method))
        return pat_service_session_check_csrf(svc, &r->who, pat_req_header(r, "X-CSRF-Token"));
    return PAT_OK;
}

void pat_router_dispatch(pat_req *r)
{
    const route *found = NULL;
    int path_known = 0;
    int rc;

    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        int64_t ids[2] = {0, 0};
        char slug[PAT_ORG_SLUG_MAX + 1] = "";
        if (!match(routes[i].pattern, r->path, ids, slug))
            continue;
        path_known = 1;
        if (strcmp(routes[i].method, r->method) == 0) {
            found = &routes[i];
            r->id = ids[0];
            r->tid = ids[1];
            memcpy(r->slug, slug, sizeof(r->slug));
            r->route = (int)i;
            r->route_pattern = routes[i].pattern;
            break;
        }
    }
    /* Any other GET is a console file, if there is one at that path. */
    if (!found && !path_known && strcmp(r->method, "GET") == 0 &&
        strncmp(r->path, "/api/", 5) != 0) {
        if ((rc = pat_h_static(r)) < 0)
            pat_respond_error(r, rc);
        return;
    }
    if (!found) {
        if (path_known)
            pat_respond_json(r, 405,
                             json_pack("{s:s,s:s}", "error", "method_not_allowed", "message",
                                       "this method is not allowed on this path"));
        else
            pat_respond_error(r, pat_error_set(PAT_ENOTFOUND, NULL, "no such endpoint"));
        return;
    }
    if (r->body_too_big) {
        pat_respond_error(r, pat_error_set(PAT_ETOOBIG, NULL, "the request body exceeds %d bytes",
                                           PAT_BODY_MAX));
        return;
    }
    if (found->auth == AUTH && (rc = authenticate(r)) < 0) {
        memset(&r->who, 0, sizeof(r->who));
        pat_respond_error(r, rc);
        return;
    }
    pat_error_clear();
    rc = found->fn(r);
    if (rc == PAT_EWAIT)
        r->wait_feed = true; /* http/server.c sets the request aside */
    else if (rc < 0)
        pat_respond_error(r, rc);
}
