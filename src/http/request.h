#ifndef PAT_HTTP_REQUEST_H
#define PAT_HTTP_REQUEST_H
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <microhttpd.h>

#include "http/guard.h"
#include "service/service.h"
#include "util/buf.h"

#define PAT_BODY_MAX (64 * 1024)
#define PAT_JSON_DEPTH_MAX 16

/* One request. Allocated once per connection and reset for each request
 * on it, so keep-alive traffic allocates nothing of ours; the completion
 * callback wipes what the request held. */
/* The headers every verification reads, found in the one pass over the
 * header section that also checks its framing (http/server.c): the first
 * of each, or NULL. Borrowed from libmicrohttpd for the request. */
typedef struct pat_req_headers {
    const char *authorization;
    const char *user_agent;
    const char *x_real_ip, *x_forwarded_for;
    const char *x_original_uri, *x_original_method;
    const char *x_forwarded_uri, *x_forwarded_method;
    const char *x_required_scope, *x_required_org, *x_required_audience;
} pat_req_headers;

typedef struct pat_req {
    pat_service *svc;       /* borrowed from the server, for the connection's life */
    const char *public_url; /* likewise */
    struct MHD_Connection *conn;
    const char *method; /* borrowed from MHD for the request */
    const char *path;   /* decoded, without query; borrowed */
    pat_buf body;
    bool body_too_big;
    int64_t start_us;
    char peer[64];             /* the connection's peer address, found once per connection */
    char ip[64];               /* client address (peer, or as told by a trusted proxy) */
    int route;                 /* index in the route table, -1 = none */
    const char *route_pattern; /* for metrics */
    pat_principal who;         /* valid when who.kind != PAT_AUTH_NONE */
    int64_t id;                /* {id} of the route, when it has one */
    int64_t tid;               /* {tid} (a token of person {id}), when it has one */
    char slug[PAT_ORG_SLUG_MAX + 1]; /* {slug} (an organization), when it has one */
    unsigned status;           /* status sent, for the access log */
    struct MHD_Response *resp; /* owned until queued, unless resp_shared */
    bool resp_shared;          /* resp belongs to a cache (http/auth_response.c) */
    pat_guard_conn guard;      /* the connection's deadline and address count */
    int framing_error;         /* < 0: answer it and close (http/server.c) */
    pat_req_headers hdr;       /* the verification's headers */
    bool wait_feed;            /* the handler needs a read of the changes feed (PAT_EWAIT) */
    bool deferred;             /* set aside for one already (http/defer.c): asked again, waits */
} pat_req;

/* Server facts a handler may need. */
pat_service *pat_req_service(const pat_req *r);
const char *pat_req_public_url(const pat_req *r);

/* A request header, or NULL (borrowed). */
const char *pat_req_header(const pat_req *r, const char *name);

/* A query parameter, or NULL (borrowed). */
const char *pat_req_query(const pat_req *r, const char *name);

/* Request info for audit (borrowed pointers into r). */
pat_request_info pat_req_info(const pat_req *r);

/* Sends obj (stolen) as JSON with status. */
void pat_respond_json(pat_req *r, unsigned status, json_t *obj);

/* Sends resp (taken over) with status and content type. */
void pat_respond_raw(pat_req *r, unsigned status, struct MHD_Response *resp,
                     const char *content_type);

/* Sends an empty answer with status (204, say). */
void pat_respond_empty(pat_req *r, unsigned status);

/* Sends the API error for code, from this thread's last error: the one
 * place where statuses and error codes are chosen. */
void pat_respond_error(pat_req *r, int code);

/* Sends resp as built, adding no headers; when shared it stays its
 * builder's (queued, not freed), else r takes it over. */
void pat_respond_prepared(pat_req *r, unsigned status, struct MHD_Response *resp, bool shared);

/* Releases r's pending response (freed unless shared). */
void pat_req_drop_response(pat_req *r);

/* Adds the headers every answer carries (Cache-Control, nosniff). */
int pat_response_add_common(struct MHD_Response *resp);

/* GET /auth's 204 answer for who (http/auth_response.c); *cached tells
 * whether this thread's cache of answers keeps it (else the caller owns
 * it). NULL when out of memory. */
struct MHD_Response *pat_auth_response(const pat_principal *who, bool *cached);

/* Adds a header to the pending response (after a respond_* call). */
void pat_respond_header(pat_req *r, const char *name, const char *value);

/* ---- JSON bodies (http/json_body.c) ---- */

/* Parses the body as one strict JSON object (duplicate keys, invalid UTF-8,
 * depth > PAT_JSON_DEPTH_MAX refused) into *out (owned). An empty body is
 * {}. PAT_EMEDIA unless Content-Type is application/json, PAT_ETOOBIG over
 * the limit, PAT_EINVAL otherwise. */
int pat_json_body(pat_req *r, json_t **out);

/* The strict parse of pat_json_body on len bytes of data (no header checks). */
int pat_json_parse(const char *data, size_t len, json_t **out);

/* Copies the percent-decoded value of key from the query of uri into out;
 * 1 if found and it fits, else 0 (http/query.c). */
int pat_http_query_param(const char *uri, const char *key, char *out, size_t outsz);

/* PAT_EINVAL naming the first key of obj not in allowed (NULL-terminated). */
int pat_json_only_keys(json_t *obj, const char *const *allowed);

/* For actions that take no body: PAT_OK for an empty body or {}, else the
 * errors of pat_json_body, or PAT_EINVAL naming the first field. */
int pat_json_no_body(pat_req *r);

/* Optional typed members: *present (may be NULL) tells whether key was
 * there and not null; a wrong type is PAT_EINVAL naming key. Strings are
 * borrowed from obj. */
int pat_json_string(json_t *obj, const char *key, const char **out, bool *present);
int pat_json_int(json_t *obj, const char *key, int64_t *out, bool *present);
int pat_json_bool(json_t *obj, const char *key, bool *out, bool *present);

/* An array of strings of at most max items into *out (caller frees the
 * array; the strings are borrowed from obj). */
int pat_json_strings(json_t *obj, const char *key, size_t max, const char ***out, size_t *n,
                     bool *present);

#endif
