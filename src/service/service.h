#ifndef PAT_SERVICE_SERVICE_H
#define PAT_SERVICE_SERVICE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/config.h"
#include "core/policy.h"
#include "core/scope.h"
#include "core/token.h"
#include "store/store.h"
#include "util/buf.h"

/* The use cases of patd over core and store. Every rule (who may do what,
 * what a valid expiry is, what a disabled token may not do) lives here or in
 * core; the HTTP layer and the CLI only parse, call and format. */
typedef struct pat_service pat_service;

typedef struct pat_service_options {
    pat_store *store;                  /* borrowed; outlives the service */
    const pat_config *config;          /* borrowed; outlives the service: catalog, token
                                          prefix, route rules, proxies, limits */
    uint8_t key[PAT_KEY_LEN];          /* server key; copied, and wiped on free */
    int64_t (*clock)(void);            /* UTC seconds; NULL = the real clock */
    bool background;                   /* run the last-use flusher thread */
} pat_service_options;

/* Creates a service; *out is owned by the caller (pat_service_free). */
int pat_service_new(pat_service **out, const pat_service_options *opts);

/* Stops the flusher (flushing what is pending), wipes the key and frees;
 * NULL is a no-op. */
void pat_service_free(pat_service *svc);

/* The service's notion of now (UTC seconds). */
int64_t pat_service_now(const pat_service *svc);

/* The scope catalog (borrowed). */
const pat_catalog *pat_service_catalog(const pat_service *svc);

/* Puts fresh (a whole configuration, parsed and checked; the service owns
 * it from now on) in force at once: scopes and sets, route rules,
 * audiences, limits and intervals read per use. listen, db, data_dir and
 * token_prefix keep their running values (a restart changes them); the
 * HTTP server's own settings (threads, trusted proxies, connection limits)
 * too. Requests under way finish with the configuration they began with. */
int pat_service_reconfigure(pat_service *svc, pat_config *fresh);

/* PAT_OK if the store answers. */
int pat_service_ping(pat_service *svc);

/* Where a request came from, for audit and last use. Strings are borrowed. */
typedef struct pat_request_info {
    const char *ip;
    const char *user_agent;
    const char *method;
    const char *path;
} pat_request_info;

typedef enum pat_auth_kind { PAT_AUTH_NONE = 0, PAT_AUTH_SESSION, PAT_AUTH_TOKEN } pat_auth_kind;

/* Who is calling: a person through a console session or through a token. */
typedef struct pat_principal {
    pat_auth_kind kind;
    int64_t user_id;
    char username[PAT_USERNAME_MAX + 1];
    int role;
    bool can_manage_tokens;
    /* PAT_AUTH_TOKEN */
    int64_t token_id;
    char scopes[PAT_SCOPES_STR_MAX];
    int64_t token_expires_at; /* 0 = never */
    int64_t token_issued_at;
    bool via_jwt;               /* presented as a JWT from the token exchange */
    char orgs[PAT_MEMBER_ORGS_MAX]; /* the organizations it may be used in now */
    char jwt_audience[256];     /* its aud */
    /* PAT_AUTH_SESSION */
    uint8_t session_hash[PAT_HASH_LEN];
    uint8_t csrf_hash[PAT_HASH_LEN];
    int64_t confirmed_until;
} pat_principal;

/* ---- policy (service/policy.c) ---- */

/* The organization's current policy (defaults where unset). */
int pat_service_policy_get(pat_service *svc, pat_policy *out);

/* PAT_OK if actor may use the superuser API: a superuser, and through a
 * token only with the admin scope. */
int pat_service_may_administer(pat_service *svc, const pat_principal *actor);

/* For a change through the console (a session), a password confirmed
 * within the window when policy asks for one: PAT_ECONFIRM otherwise.
 * Token callers and the operator need none. */
int pat_service_check_confirmed(pat_service *svc, const pat_principal *actor,
                                const pat_policy *policy);

/* pat_service_may_administer and, under the policy in force,
 * pat_service_check_confirmed: sensitive administration (the policy,
 * people's role, permission, state and password, another person's
 * tokens, key rotation) needs the password as token changes do. */
int pat_service_may_change_admin(pat_service *svc, const pat_principal *actor);

/* Validates and stores a new policy (superusers only). */
int pat_service_policy_set(pat_service *svc, const pat_principal *actor,
                           const pat_request_info *info, const pat_policy *p);

/* ---- leak reports (service/leaks.c) ---- */

#define PAT_LEAK_REPORT_MAX 1000
#define PAT_LEAK_REPORTS_PER_HOUR 60          /* from one address, unauthenticated */
#define PAT_LEAK_REPORTS_PER_HOUR_REPORTER 3600 /* through a token with leak-report */

/* Acts on a report of values[0..n) (1..PAT_LEAK_REPORT_MAX) found where
 * they should not be, by reporter (a token caller holding leak-report) or
 * a stranger (NULL) at info->ip: each live value is revoked for good (a
 * token's current value: the token is deleted; its previous value during a
 * rotation: that value ends), audited token.leaked, its owner emailed with
 * source and url; a canary alerts as if used; anything else is ignored.
 * PAT_OK whatever was found (the caller answers the same every time);
 * PAT_ERATE (field: seconds) past the hourly limit; PAT_EINVAL on a bad
 * count, source or url. */
int pat_service_leak_report(pat_service *svc, const pat_principal *reporter,
                            const pat_request_info *info, const char *const *values, size_t n,
                            const char *source, const char *url);

/* ---- people and sign-in (service/auth.c, service/users.c) ---- */

#define PAT_PASSWORD_MIN 12
#define PAT_PASSWORD_MAX 1024
#define PAT_SESSION_SECRET_BUF 64 /* base64url of 32 bytes and a NUL */
#define PAT_SESSION_LIFETIME (12 * 3600)
#define PAT_SIGNIN_ADDRESS_LIMIT 20 /* failed sign-ins per address per 5 minutes */
#define PAT_SIGNIN_ACCOUNT_LIMIT 10 /* failed sign-ins per account per minute */

/* Creates the superuser "admin" if there is no user yet. password is used
 * when non-NULL, otherwise a random one is written to generated (room for
 * 32 bytes; caller wipes it) and *was_generated set. *created tells whether
 * anything was done. */
int pat_service_bootstrap(pat_service *svc, const char *password, char generated[33],
                          bool *was_generated, bool *created);

/* The operator, on the machine (patd admin reset-password): gives username
 * a new random password, written to generated (caller wipes it), ends its
 * console sessions, and records user.password_reset. Works while the daemon
 * runs: its cache follows the change within a second. PAT_ENOTFOUND for
 * an unknown name. */
int pat_users_reset_password(pat_service *svc, const char *username, char generated[33]);

/* Signs in: on success writes a new session id (the cookie value) and CSRF
 * token into sid and csrf (caller wipes them) and fills *who. A wrong
 * password, unknown user or disabled account are all PAT_EUNAUTH alike. */
int pat_service_login(pat_service *svc, const char *username, const char *password,
                      const pat_request_info *info, char sid[PAT_SESSION_SECRET_BUF],
                      char csrf[PAT_SESSION_SECRET_BUF], pat_principal *who);

/* Resolves a session cookie value into *out; PAT_EUNAUTH if unknown,
 * expired, or its account is disabled. */
int pat_service_session_resolve(pat_service *svc, const char *sid, pat_principal *out);

/* PAT_OK if csrf matches the session's CSRF token (constant time);
 * PAT_EFORBIDDEN otherwise. */
int pat_service_session_check_csrf(pat_service *svc, const pat_principal *who, const char *csrf);

/* Ends the caller's session. */
int pat_service_logout(pat_service *svc, const pat_principal *who, const pat_request_info *info);

/* Opens the password confirmation window of the caller's session. */
int pat_service_session_confirm(pat_service *svc, pat_principal *who, const char *password,
                                const pat_request_info *info);

/* ---- verification (service/verify.c) ---- */

/* A presented credential and the request it came with. Strings borrowed. */
typedef struct pat_verify_request {
    const char *token;          /* the value, len bytes, not necessarily NUL-terminated */
    size_t len;
    bool allow_jwt;             /* also patd's own JWTs (GET /auth, introspection) */
    const char *audience;       /* a JWT's aud must name this; NULL = the issuer for
                                   GET /auth; ignored when any_audience */
    bool any_audience;          /* introspection: any aud (the caller checks it) */
    const char *client_ip;      /* allowed networks, rate limit, last use */
    const char *required_scope; /* NULL = none */
    const char *required_org;   /* an organization's slug the token must be usable in; NULL */
    const char *method;         /* recorded as last use; NULL = do not record */
    const char *path;           /* without query */
    const char *user_agent;
    int64_t arrived_us; /* when the request came in (pat_time_mono_us); 0 = now */
    bool may_defer;     /* PAT_EWAIT instead of waiting for a read of the feed */
} pat_verify_request;

/* The one verification, for the API, GET /auth and introspection alike:
 * rate limit, format and checksum (no lookup for malformed values), HMAC,
 * cache (store on a miss), then known, enabled, not expired at the current
 * second, owner enabled and permitted, address allowed, scope held, usable
 * in the organization required. Fills *out (with the organizations the
 * token is usable in) and records the use in memory. PAT_EAUTH, PAT_ESCOPE
 * (field: the scope needed, or "org:SLUG") or PAT_ERATE (field: seconds to
 * wait) otherwise. On a shared store a value the live filter does not know
 * may have been created elsewhere a moment ago: the answer then waits for a
 * read of the changes feed begun after the request arrived, or, with
 * may_defer, is PAT_EWAIT at once, with nothing recorded: the caller asks
 * again, with the same arrived_us, after pat_service_sync_since. */
int pat_service_verify(pat_service *svc, const pat_verify_request *req, pat_principal *out);

/* Returns once this instance has read the changes feed in a read begun at
 * or after since_us (pat_time_mono_us), reading it if no such read has
 * ended; one read serves every caller waiting behind it. PAT_OK, or the
 * store's error (then a PAT_EWAIT asked again waits and settles the value
 * by a store lookup). */
int pat_service_sync_since(pat_service *svc, int64_t since_us);

/* ---- token exchange (service/exchange.c, keyring.c) ---- */

/* An RFC 8693 request, as the form gave it (NULL = absent). */
typedef struct pat_exchange_request {
    const char *grant_type;
    const char *subject_token;
    const char *subject_token_type;
    const char *requested_token_type;
    const char *scope;    /* space-separated; NULL = every scope of the PAT */
    const char *audience; /* a configured audience's name or URI */
    const char *resource; /* an absolute URI of a configured audience */
} pat_exchange_request;

typedef struct pat_exchange_result {
    pat_buf jwt; /* the caller wipes it (pat_buf_dispose) */
    char scope[PAT_SCOPES_STR_MAX];
    int64_t expires_in;
} pat_exchange_result;

/* Exchanges a PAT for a JWT of at most its scopes, for one configured
 * audience (or patd's own), living min(jwt_lifetime_seconds, the
 * audience's cap, the PAT's remaining life). Verifies the PAT as any token
 * check does (failure limiting included; counted as a use), audits
 * token.exchanged (never the JWT). Errors: PAT_EINVAL with field the
 * RFC 6749 code (invalid_request, invalid_scope, invalid_target,
 * unsupported_grant_type); PAT_ERATE; PAT_EUNAVAIL. out->jwt is
 * initialized here whatever happens. */
int pat_service_exchange(pat_service *svc, const pat_exchange_request *req,
                         const pat_verify_request *client, const pat_request_info *info,
                         pat_exchange_result *out);

/* The console's exchange: a JWT for actor's own active token token_id
 * (no value presented; the session stands for its owner, who could
 * regenerate the token anyway), with req's scope, audience and resource
 * (grant and subject fields ignored). Errors as pat_service_exchange, and
 * PAT_ENOTFOUND (not theirs), PAT_ECONFLICT (disabled or expired). */
int pat_service_exchange_own(pat_service *svc, const pat_principal *actor, int64_t token_id,
                             const pat_exchange_request *req, const pat_request_info *info,
                             pat_exchange_result *out);

/* The configured audiences, for pickers: {"audiences": [{"name", "uris",
 * "scopes", "max_lifetime_seconds"}], "jwt_lifetime_seconds", "issuer"}. */
json_t *pat_service_audiences(pat_service *svc);

/* ---- email (service/notify.c) ---- */

/* The outbox for a superuser: counts and the newest limit messages
 * (without bodies). *out is the caller's. */
int pat_service_outbox(pat_service *svc, const pat_principal *actor, size_t limit,
                       pat_outbox_counts *counts, pat_outbox_rec **out, size_t *n);

/* Every pending message due now (superuser's "retry now"). */
int pat_service_outbox_retry(pat_service *svc, const pat_principal *actor);

/* Whether smtp_url is set (else messages wait in the outbox). */
bool pat_service_mail_configured(const pat_service *svc);

/* The JWKS: every published key (a JSON object the caller owns), and how
 * long a verifier may cache it (seconds). */
json_t *pat_service_jwks(pat_service *svc);
int pat_service_jwks_max_age(const pat_service *svc);

/* The issuer of patd's JWTs (its public URL), borrowed. */
const char *pat_service_issuer(const pat_service *svc);

/* One signing key as GET /api/v1/keys shows it. */
typedef struct pat_key_info {
    char kid[64];
    const char *alg;
    int64_t created_at;
    int64_t activates_at;
    int64_t retires_at; /* 0 = not decided (no newer key signs yet) */
    const char *state;  /* "next" | "active" | "retired" */
    bool in_jwks;
} pat_key_info;

/* Every key (superuser). *out is the caller's. */
int pat_service_keys_list(pat_service *svc, const pat_principal *actor, pat_key_info **out,
                          size_t *n);

/* At most this many keys are in the JWKS at once: verifiers fetch a small
 * document, and every instance holds few keys open. */
#define PAT_KEYS_PUBLISHED_MAX 8

/* A new key, published now and signing after jwks_publish_ahead_seconds
 * (superuser, or actor NULL for the operator's patd keys rotate; audited
 * key.rotated). kid receives its kid. PAT_ECONFLICT (409) when
 * PAT_KEYS_PUBLISHED_MAX keys are published already, saying when the first
 * of them leaves the JWKS. */
int pat_service_keys_rotate(pat_service *svc, const pat_principal *actor,
                            const pat_request_info *info, char kid[64]);

/* Where a request's credential is, decided once for the API and GET /auth:
 * the Authorization header (Bearer or Token) when present; otherwise, only
 * while the policy enables query tokens, the access_token or else the
 * session query parameter, read through query(ctx, name) (which returns a
 * borrowed value or NULL). *token borrows from those. PAT_EAUTH for an
 * Authorization header of another scheme; PAT_EUNAUTH when there is no
 * credential (a caller may then look for a console session). */
int pat_service_credential(const pat_service *svc, const char *authorization,
                           const char *(*query)(void *ctx, const char *name), void *ctx,
                           const char **token, size_t *len);

/* The scope a request needs: the one named by the protected service
 * (X-Required-Scope) when given, else what the configured route rules
 * require for method and path, else NULL (borrowed). */
const char *pat_service_required_scope(const pat_service *svc, const char *named,
                                       const char *method, const char *path);

/* pat_service_required_scope, and the organization it needs in *org: the
 * one named (X-Required-Org) when given, else the matching route rule's
 * org=, else NULL (borrowed). */
const char *pat_service_requirements(const pat_service *svc, const char *named_scope,
                                     const char *named_org, const char *method, const char *path,
                                     const char **org);

/* The client's address given the peer and forwarding headers, trusting the
 * headers only from configured proxies. */
void pat_service_client_ip(const pat_service *svc, char *out, size_t outsz, const char *peer,
                           const char *x_real_ip, const char *x_forwarded_for);

/* Whether credentials may come in query parameters (policy, cached). */
bool pat_service_query_tokens_enabled(const pat_service *svc);

/* Writes pending last-use records to the store now. */
int pat_service_flush(pat_service *svc);

/* Appends the service's metrics in Prometheus text format. */
int pat_service_metrics(pat_service *svc, pat_buf *out);

/* ---- own tokens (service/tokens.c) ---- */

#define PAT_BULK_IDS_MAX 1000
#define PAT_GRACE_MAX_SECONDS 86400
#define PAT_ROTATION_MAX_SECONDS (30 * 86400) /* the longest an old value may live */
#define PAT_QUERY_MAX 200

/* What a create, edit or copy request asks for; a NULL pointer or false
 * has_* flag means "not given". Strings are borrowed. */
/* What a policy in warn mode let through (API.md "warnings"). */
typedef struct pat_policy_warning {
    bool set;
    char field[32];
    char message[256];
} pat_policy_warning;

typedef struct pat_token_input {
    const char *name;
    const char *description;
    bool has_expiry;
    pat_expiry_request expiry;
    bool has_scopes;
    const char *const *scopes;
    size_t nscopes;
    const char *scope_set;
    bool has_cidrs;
    const char *const *cidrs;
    size_t ncidrs;
    bool has_canary; /* create only: a decoy, no scopes, never valid */
    bool canary;
    bool has_notify_new_client;
    bool notify_new_client;
    bool has_orgs; /* organizations given: orgs[0..norgs), or orgs NULL (null: all) */
    const char *const *orgs;
    size_t norgs;
    /* Where a policy in warn mode notes what it let through (may be NULL:
     * then nobody is told, but it is still audited). */
    pat_policy_warning *warning;
} pat_token_input;

/* "active", "disabled" or "expired" for t at now. */
const char *pat_tokens_status(const pat_token_rec *t, int64_t now);

/* Creates a token for the caller; writes the value (shown once) into value,
 * which the caller wipes. */
int pat_tokens_create(pat_service *svc, const pat_principal *actor, const pat_request_info *info,
                      const pat_token_input *in, pat_token_rec *out, char value[PAT_TOKEN_BUF]);

/* The caller's tokens, filtered by status ("" or NULL = all) and q (a
 * case-insensitive substring of name or description). *out caller-freed. */
int pat_tokens_list(pat_service *svc, const pat_principal *actor, const char *status,
                    const char *q, pat_token_rec **out, size_t *n);

/* The clients one of the caller's tokens was used from, most recent
 * first (at most 10); *out caller-freed. */
int pat_tokens_clients(pat_service *svc, const pat_principal *actor, int64_t id,
                       pat_token_client **out, size_t *n);

/* One of the caller's tokens; PAT_ENOTFOUND for anyone else's. */
int pat_tokens_get(pat_service *svc, const pat_principal *actor, int64_t id, pat_token_rec *out);

/* Edits name, description, scopes, expiry (PAT_EXPIRY_NEVER clears). A
 * disabled token is PAT_ECONFLICT. */
int pat_tokens_update(pat_service *svc, const pat_principal *actor, const pat_request_info *info,
                      int64_t id, const pat_token_input *in, pat_token_rec *out);

/* Disables or enables a token (idempotent). */
int pat_tokens_set_disabled(pat_service *svc, const pat_principal *actor,
                            const pat_request_info *info, int64_t id, bool disabled,
                            pat_token_rec *out);

/* New value, same settings. The old value keeps working for grace_seconds
 * (0..PAT_GRACE_MAX_SECONDS) and/or until it has gone unused for
 * retire_when_unused_seconds (0, or three last-use flush periods to
 * PAT_ROTATION_MAX_SECONDS; alone, the old value lives at most
 * PAT_ROTATION_MAX_SECONDS): a rotation, tracked (the old value's last
 * use, the new one's first). An expired token gets the policy's default
 * duration anew. */
int pat_tokens_regenerate(pat_service *svc, const pat_principal *actor,
                          const pat_request_info *info, int64_t id, int64_t grace_seconds,
                          int64_t retire_when_unused_seconds, pat_token_rec *out,
                          char value[PAT_TOKEN_BUF]);

/* Ends the value before the last regeneration now (POST …/retire-previous).
 * PAT_ECONFLICT when none is alive. */
int pat_tokens_retire_previous(pat_service *svc, const pat_principal *actor,
                               const pat_request_info *info, int64_t id, pat_token_rec *out);

/* Whether t's previous value is alive (a rotation in progress). */
bool pat_tokens_rotating(pat_service *svc, const pat_token_rec *t);

/* The rotation of t (a token the caller already holds): PAT_ENOTFOUND when
 * its previous value is dead; a row of zeros when it was not tracked. */
int pat_tokens_rotation_of(pat_service *svc, const pat_token_rec *t, pat_rotation_rec *out);

/* Every rotation in progress (a handful), for lists; *out caller-freed. */
int pat_tokens_rotations(pat_service *svc, pat_rotation_rec **out, size_t *n);

/* What a token object shows beyond its row, read once for a list: the
 * rotations in progress and the scopes used by the tokens of one person. */
typedef struct pat_token_extras {
    pat_rotation_rec *rots;
    size_t nrots;
    pat_scope_use *uses;
    size_t nuses;
} pat_token_extras;

/* Fills *x for the tokens of user_id (token_id 0), or that one token. */
int pat_tokens_extras(pat_service *svc, int64_t user_id, int64_t token_id, pat_token_extras *x);
void pat_tokens_extras_dispose(pat_token_extras *x);

/* The granted scopes of t unused for least_privilege_days while t was in
 * use (none for a token younger than that, idle all that time, or a
 * canary), space-separated into out. Returns how many. */
size_t pat_tokens_unused_scopes(pat_service *svc, const pat_token_rec *t,
                                const pat_token_extras *x, char out[PAT_SCOPES_STR_MAX]);

/* A new token from token id's settings; in->name is required, other given
 * fields override the source's. */
int pat_tokens_copy(pat_service *svc, const pat_principal *actor, const pat_request_info *info,
                    int64_t id, const pat_token_input *in, pat_token_rec *out,
                    char value[PAT_TOKEN_BUF]);

/* Deletes one of the caller's tokens for good. */
int pat_tokens_delete(pat_service *svc, const pat_principal *actor, const pat_request_info *info,
                      int64_t id);

/* Deletes those of ids the caller owns, atomically; the deleted ids go to
 * deleted (room for n). Ids of others are skipped, never reported. */
int pat_tokens_delete_many(pat_service *svc, const pat_principal *actor,
                           const pat_request_info *info, const int64_t *ids, size_t n,
                           int64_t *deleted, size_t *ndeleted);

#define PAT_SIGNIN_TOKEN_DAYS 30

/* The CLI's sign-in: from a console session (a password was just typed),
 * the caller's token named name (e.g. "cli@HOST") is created, or, if it
 * exists, regenerated and enabled; either way it gets every scope the
 * caller's role may grant and PAT_SIGNIN_TOKEN_DAYS of life, in one unit
 * of work. *created tells which; value as for create. */
int pat_tokens_issue_signin(pat_service *svc, const pat_principal *actor,
                            const pat_request_info *info, const char *name, pat_token_rec *out,
                            char value[PAT_TOKEN_BUF], bool *created);

/* The token the caller authenticated with. */
int pat_tokens_self(pat_service *svc, const pat_principal *actor, pat_token_rec *out);


/* ---- people, the token permission, audit (service/users.c) ---- */

/* A create or edit of a person; NULL / false has_* = not given. Strings
 * are borrowed; password is wiped by the caller. */
typedef struct pat_user_input {
    const char *username;
    const char *email;
    const char *password;
    bool has_role;
    int role;
    bool has_disabled;
    bool disabled;
    bool has_can_manage_tokens;
    bool can_manage_tokens;
} pat_user_input;

/* Superuser: creates a person (password of at least 12 characters). */
int pat_users_create(pat_service *svc, const pat_principal *actor, const pat_request_info *info,
                     const pat_user_input *in, pat_user *out);

/* Superuser: every person; *out caller-freed, password hashes cleared. */
int pat_users_list(pat_service *svc, const pat_principal *actor, pat_user **out, size_t *n);

/* Superuser: one person. */
int pat_users_get(pat_service *svc, const pat_principal *actor, int64_t id, pat_user *out);

/* Superuser: role, disabled, the token permission, email, password reset.
 * Takes effect at once on tokens and sessions; refuses to leave the
 * organization without an enabled superuser (PAT_ECONFLICT). */
int pat_users_update(pat_service *svc, const pat_principal *actor, const pat_request_info *info,
                     int64_t id, const pat_user_input *in, pat_user *out);

/* Superuser: a person's tokens (no values). */
int pat_users_tokens(pat_service *svc, const pat_principal *actor, int64_t id,
                     pat_token_rec **out, size_t *n);

/* Superuser: deletes every token of a person for good; *revoked = count. */
/* A superuser's hand on one token tid of person id: disable or enable it
 * (a canary: PAT_ECONFLICT), or delete it; audited, the owner emailed.
 * PAT_ENOTFOUND unless the token is that person's. Needs the password
 * confirmation (pat_service_may_change_admin). */
int pat_users_token_set_disabled(pat_service *svc, const pat_principal *actor,
                                 const pat_request_info *info, int64_t id, int64_t tid,
                                 bool disabled, pat_token_rec *out);
int pat_users_token_delete(pat_service *svc, const pat_principal *actor,
                           const pat_request_info *info, int64_t id, int64_t tid);

int pat_users_revoke_all(pat_service *svc, const pat_principal *actor,
                         const pat_request_info *info, int64_t id, size_t *revoked);

/* Anyone signed in: their own record (password hash cleared). */
int pat_me_get(pat_service *svc, const pat_principal *who, pat_user *out);

/* Anyone signed in: their email and which emails they get (security
 * emails cannot be turned off). NULL / has_* false: unchanged. */
typedef struct pat_me_input {
    const char *email;
    bool has_expiry_reminders;
    bool expiry_reminders;
    bool has_new_client_alerts;
    bool new_client_alerts;
} pat_me_input;
int pat_me_update(pat_service *svc, const pat_principal *who, const pat_request_info *info,
                  const pat_me_input *in, pat_user *out);

/* Anyone signed in: changes their own password (current one required) and
 * ends their other console sessions. */
int pat_users_change_password(pat_service *svc, const pat_principal *who,
                              const pat_request_info *info, const char *current,
                              const char *new_password);

/* One token a policy would put out of bounds, and why. */
typedef struct pat_policy_violation {
    int64_t token_id;
    int64_t user_id;
    char username[PAT_USERNAME_MAX + 1];
    char name[PAT_NAME_BUF];
    char reason[128];
} pat_policy_violation;

/* What policy p would put out of bounds, without changing anything: the
 * same tokens GET /api/v1/policy/violations lists once p is in force (at
 * most limit), in *out (caller frees), with *people the distinct owners.
 * Superusers only; PAT_EINVAL for a policy PUT would refuse. */
int pat_policy_preview(pat_service *svc, const pat_principal *actor, const pat_policy *p,
                       size_t limit, pat_policy_violation **out, size_t *n, size_t *people);

/* Superuser: tokens the current policy would not allow (at most limit). */
int pat_policy_violations(pat_service *svc, const pat_principal *actor, size_t limit,
                          pat_token_rec **out, size_t *n);

/* ---- organizations (service/orgs.c) ---- */

#define PAT_ORG_DEFAULT "default" /* the organization an installation migrated into */

/* An organization as the caller sees it, with the caller's membership. */
typedef struct pat_org_view {
    pat_org org;
    bool member; /* the caller is a member (else a superuser looking) */
    int role;    /* PAT_ORG_OWNER | PAT_ORG_MEMBER, when member */
    bool can_manage_tokens;
} pat_org_view;

/* A membership request; user_id or username names the person (add). */
typedef struct pat_member_input {
    int64_t user_id;
    const char *username;
    bool has_role;
    int role;
    bool has_can_manage_tokens;
    bool can_manage_tokens;
} pat_member_input;

/* Who may do what: every organization is visible to a superuser (with the
 * admin scope through a token) and to its members; anything else is
 * PAT_ENOTFOUND, as for an unknown slug. Its members, policy, audit log
 * and members' tokens are for its owners and superusers (a member gets
 * PAT_EFORBIDDEN); a token caller who is not a superuser needs the orgs
 * scope for them. Changes through the console need a recent password
 * (PAT_ECONFIRM) as token changes do. */

/* The caller's organizations (a superuser: all of them), by slug; *out
 * caller-freed. */
int pat_orgs_list(pat_service *svc, const pat_principal *actor, pat_org_view **out, size_t *n);

/* Superuser: a new organization (slug per pat_org_slug_check, name 1..100
 * characters, NULL: the slug); PAT_EEXISTS (field "slug") if taken.
 * Audited org.created. */
int pat_orgs_create(pat_service *svc, const pat_principal *actor, const pat_request_info *info,
                    const char *slug, const char *name, pat_org_view *out);

int pat_orgs_get(pat_service *svc, const pat_principal *actor, const char *slug,
                 pat_org_view *out);

/* Owner or superuser: renames it (audited org.updated). */
int pat_orgs_rename(pat_service *svc, const pat_principal *actor, const pat_request_info *info,
                    const char *slug, const char *name, pat_org_view *out);

/* Owner or superuser: the members by username; *out caller-freed. */
int pat_orgs_members(pat_service *svc, const pat_principal *actor, const char *slug,
                     pat_membership **out, size_t *n);

/* Owner or superuser: adds a person (role member and the permission on
 * unless given); PAT_EEXISTS if a member already, PAT_EINVAL (field
 * "username"/"user_id") for nobody by that name or id. Audited
 * org.member_added. Takes effect on verification at once. */
int pat_orgs_member_add(pat_service *svc, const pat_principal *actor, const pat_request_info *info,
                        const char *slug, const pat_member_input *in, pat_membership *out);

/* Owner or superuser: role and/or the token permission (withdrawing it
 * blocks the person's tokens in this organization only; restoring it
 * makes them usable there again). Audited org.member_updated. */
int pat_orgs_member_update(pat_service *svc, const pat_principal *actor,
                           const pat_request_info *info, const char *slug, int64_t user_id,
                           const pat_member_input *in, pat_membership *out);

/* Owner or superuser: removes the member (their tokens stop being usable
 * here). Audited org.member_removed. */
int pat_orgs_member_remove(pat_service *svc, const pat_principal *actor,
                           const pat_request_info *info, const char *slug, int64_t user_id);

/* Owner or superuser: a member's tokens (metadata); *out caller-freed. */
int pat_orgs_member_tokens(pat_service *svc, const pat_principal *actor, const char *slug,
                           int64_t user_id, pat_token_rec **out, size_t *n);

/* Owner or superuser: ends a member's tokens in this organization, and
 * only here: tokens usable only here are deleted (*deleted), the others
 * usable here lose it from their organizations (*narrowed; one usable
 * everywhere keeps the member's other organizations). One unit of work,
 * audited org.member_tokens_revoked, the owner emailed about those
 * deleted. */
int pat_orgs_member_revoke_all(pat_service *svc, const pat_principal *actor,
                               const pat_request_info *info, const char *slug, int64_t user_id,
                               size_t *deleted, size_t *narrowed);

/* Owner or superuser: the organization's policy (one never set: no limits
 * of its own, the installation's default duration). */
int pat_orgs_policy_get(pat_service *svc, const pat_principal *actor, const char *slug,
                        pat_policy *out);

/* Owner or superuser: sets it; tokens made or changed later must satisfy
 * it where usable here (the strictest of the installation's and theirs). */
int pat_orgs_policy_set(pat_service *svc, const pat_principal *actor,
                        const pat_request_info *info, const char *slug, const pat_policy *p);

/* Owner or superuser: tokens usable here that its policy would not allow
 * (at most limit); *out caller-freed. */
int pat_orgs_policy_violations(pat_service *svc, const pat_principal *actor, const char *slug,
                               size_t limit, pat_token_rec **out, size_t *n);

/* Owner or superuser: the organization's audit events (its own
 * administration, and what its members did), filtered as pat_audit_list. */
int pat_orgs_audit(pat_service *svc, const pat_principal *actor, const char *slug,
                   pat_audit_filter *f, pat_audit_rec **out, size_t *n);

#define PAT_AUDIT_PAGE_MAX 500
#define PAT_AUDIT_PAGE_DEFAULT 100
#define PAT_AUDIT_ACTION_MAX 64

/* Audit events: all of them for a superuser (filter as given), one's own
 * for anyone else (f->user_id is forced to theirs). f->limit 0 means the
 * default page; more than PAT_AUDIT_PAGE_MAX, or an action longer than
 * PAT_AUDIT_ACTION_MAX, is PAT_EINVAL naming the field. */
int pat_audit_list(pat_service *svc, const pat_principal *actor, pat_audit_filter *f,
                   pat_audit_rec **out, size_t *n);

#endif
