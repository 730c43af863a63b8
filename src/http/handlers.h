#ifndef PAT_HTTP_HANDLERS_H
#define PAT_HTTP_HANDLERS_H
#include "http/request.h"

/* A handler parses the request, calls the service and formats the answer.
 * It either responds itself and returns PAT_OK, or returns a PAT_E* code
 * whose error (pat_error_last) the router sends. */
typedef int (*pat_handler)(pat_req *r);

/* Dispatches r to its route: authentication, CSRF, then the handler. */
void pat_router_dispatch(pat_req *r);

/* http/h_session.c */
int pat_h_session_create(pat_req *r);
int pat_h_session_delete(pat_req *r);
int pat_h_session_get(pat_req *r);
int pat_h_session_confirm(pat_req *r);
int pat_h_me_get(pat_req *r);
int pat_h_me_update(pat_req *r);

/* http/h_tokens.c */
int pat_h_tokens_list(pat_req *r);
int pat_h_tokens_create(pat_req *r);
int pat_h_tokens_get(pat_req *r);
int pat_h_tokens_update(pat_req *r);
int pat_h_tokens_disable(pat_req *r);
int pat_h_tokens_enable(pat_req *r);
int pat_h_tokens_regenerate(pat_req *r);
int pat_h_tokens_copy(pat_req *r);
int pat_h_tokens_delete(pat_req *r);
int pat_h_tokens_bulk_delete(pat_req *r);
int pat_h_tokens_self(pat_req *r);
int pat_h_signin_token(pat_req *r);
int pat_h_scopes(pat_req *r);

/* Verifies a credential for r, filling r->who; method and path are what
 * the use is recorded as (NULL method: not recorded). */
int pat_http_verify(pat_req *r, const char *token, size_t len, const char *required_scope,
                    const char *method, const char *path);

/* http/h_admin.c */
int pat_h_policy_get(pat_req *r);
int pat_h_policy_put(pat_req *r);
int pat_h_policy_violations(pat_req *r);
int pat_h_users_list(pat_req *r);
int pat_h_users_create(pat_req *r);
int pat_h_users_get(pat_req *r);
int pat_h_users_update(pat_req *r);
int pat_h_users_tokens(pat_req *r);
int pat_h_users_revoke_all(pat_req *r);
int pat_h_credentials_revoke(pat_req *r);
int pat_h_policy_preview(pat_req *r);
int pat_h_tokens_retire_previous(pat_req *r);

/* The token object of t with its rotation, scopes used and unused scopes:
 * from x when given (a list reads them once), else looked up. */
json_t *pat_h_token_json(pat_req *r, const pat_token_rec *t, const pat_token_extras *x);
int pat_h_users_token_disable(pat_req *r);
int pat_h_users_token_enable(pat_req *r);
int pat_h_users_token_delete(pat_req *r);
int pat_h_password_change(pat_req *r);
int pat_h_audit(pat_req *r);
int pat_h_outbox(pat_req *r);
int pat_h_outbox_retry(pat_req *r);

/* http/h_verify.c */
int pat_h_auth(pat_req *r);
int pat_h_introspect(pat_req *r);

/* http/h_oauth.c: token exchange, JWKS, metadata, keys */
int pat_h_oauth_token(pat_req *r);
int pat_h_jwks(pat_req *r);
int pat_h_oauth_metadata(pat_req *r);
int pat_h_keys_list(pat_req *r);
int pat_h_keys_rotate(pat_req *r);
int pat_h_tokens_exchange(pat_req *r);
int pat_h_audiences(pat_req *r);

/* Shared by the installation's and organizations' pages (h_admin.c):
 * the policy as JSON (new reference); a policy body over *p (missing
 * fields keep their value; *body is the caller's); the audit query's
 * filter; the audit answer from list (freed here); {"tokens": [...]} from
 * list (freed here), with each token's extras when user_id is not 0. */
json_t *pat_h_policy_json(const pat_policy *p);
int pat_h_policy_parse(pat_req *r, json_t **body, pat_policy *p);
int pat_h_audit_filter(pat_req *r, pat_audit_filter *f);
void pat_h_audit_respond(pat_req *r, const pat_audit_filter *f, pat_audit_rec *list, size_t n);
int pat_h_respond_token_list(pat_req *r, int rc, pat_token_rec *list, size_t n, int64_t user_id);

/* http/h_orgs.c: organizations */
int pat_h_orgs_list(pat_req *r);
int pat_h_orgs_create(pat_req *r);
int pat_h_orgs_get(pat_req *r);
int pat_h_orgs_update(pat_req *r);
int pat_h_orgs_members(pat_req *r);
int pat_h_orgs_member_add(pat_req *r);
int pat_h_orgs_member_update(pat_req *r);
int pat_h_orgs_member_remove(pat_req *r);
int pat_h_orgs_member_tokens(pat_req *r);
int pat_h_orgs_member_revoke_all(pat_req *r);
int pat_h_orgs_policy_get(pat_req *r);
int pat_h_orgs_policy_put(pat_req *r);
int pat_h_orgs_policy_violations(pat_req *r);
int pat_h_orgs_audit(pat_req *r);

/* As pat_http_verify, for gateways and introspection: patd's own JWTs are
 * accepted too, for audience (NULL: the issuer; any_audience: any); the
 * token must be usable in required_org (NULL: anywhere). */
int pat_http_verify_gateway(pat_req *r, const char *token, size_t len, const char *required_scope,
                            const char *required_org, const char *method, const char *path,
                            const char *audience, bool any_audience);

/* http/h_static.c: the console */
int pat_h_static(pat_req *r);
/* GET /api/v1/openapi.json: docs/openapi.yaml as JSON. */
int pat_h_openapi(pat_req *r);

/* http/h_ops.c */
int pat_h_metrics(pat_req *r);
int pat_h_healthz(pat_req *r);
int pat_h_readyz(pat_req *r);

#endif
