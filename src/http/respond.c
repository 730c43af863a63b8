/* Responses, and the single mapping from PAT_E* to HTTP status and API
 * error code (API.md). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/text.h"
#include "http/request.h"
#include "util/error.h"
#include "util/log.h"
#include "util/mem.h"

/* 401 invalid_token answers, kept per HTTP thread by their message: a
 * handful of fixed sentences ("the token is not valid", "the token has
 * expired", ...), so a flood of unknown or revoked tokens is answered
 * without building a JSON body and three headers each time (about as much
 * work as verifying a good token). */
#define KEPT_FAILURES 16
#define KEPT_MESSAGE_MAX 128

typedef struct kept_failure {
    char message[KEPT_MESSAGE_MAX];
    struct MHD_Response *resp; /* one reference, ours */
} kept_failure;

static pthread_key_t kept_key;
static pthread_once_t kept_once = PTHREAD_ONCE_INIT;

static void kept_free(void *p)
{
    kept_failure *k = p;

    for (size_t i = 0; i < KEPT_FAILURES; i++)
        if (k[i].resp)
            MHD_destroy_response(k[i].resp);
    free(k);
}

static void kept_init(void)
{
    if (pthread_key_create(&kept_key, kept_free) != 0)
        abort();
}

/* This thread's kept answers; NULL if they cannot be had. */
static kept_failure *kept_failures(void)
{
    kept_failure *k;

    pthread_once(&kept_once, kept_init);
    if ((k = pthread_getspecific(kept_key)))
        return k;
    if (!(k = calloc(KEPT_FAILURES, sizeof(*k))))
        return NULL;
    if (pthread_setspecific(kept_key, k) != 0) {
        free(k);
        return NULL;
    }
    return k;
}

int pat_response_add_common(struct MHD_Response *resp)
{
    if (MHD_add_response_header(resp, "Cache-Control", "no-store") != MHD_YES ||
        MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff") != MHD_YES)
        return PAT_EIO;
    return PAT_OK;
}

void pat_req_drop_response(pat_req *r)
{
    if (r->resp && !r->resp_shared)
        MHD_destroy_response(r->resp);
    r->resp = NULL;
    r->resp_shared = false;
}

static void set_response(pat_req *r, unsigned status, struct MHD_Response *resp)
{
    pat_req_drop_response(r);
    r->resp = resp;
    r->status = status;
    pat_response_add_common(resp);
}

void pat_respond_prepared(pat_req *r, unsigned status, struct MHD_Response *resp, bool shared)
{
    pat_req_drop_response(r);
    r->resp = resp;
    r->resp_shared = shared;
    r->status = status;
}

void pat_respond_json(pat_req *r, unsigned status, json_t *obj)
{
    char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    struct MHD_Response *resp;

    json_decref(obj);
    if (!text) {
        /* jansson builds no value from text that is not UTF-8 (obj NULL):
         * a defect of ours, answered, never a crash. */
        pat_log_error("an answer could not be written as JSON; answered 500");
        status = 500;
        text = pat_strdup("{\"error\":\"internal\",\"message\":\"internal error\"}");
    }
    resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    set_response(r, status, resp);
    MHD_add_response_header(resp, "Content-Type", "application/json");
}

void pat_respond_raw(pat_req *r, unsigned status, struct MHD_Response *resp,
                     const char *content_type)
{
    set_response(r, status, resp);
    MHD_add_response_header(resp, "Content-Type", content_type);
}

void pat_respond_empty(pat_req *r, unsigned status)
{
    set_response(r, status, MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT));
}

void pat_respond_header(pat_req *r, const char *name, const char *value)
{
    /* A kept answer is shared by every request it serves: never changed. */
    if (r->resp && !r->resp_shared)
        MHD_add_response_header(r->resp, name, value);
}

static const struct {
    int code;
    unsigned status;
    const char *error;
} error_map[] = {
    {PAT_EINVAL, 400, "invalid_request"},
    {PAT_EPOLICY, 400, "invalid_request"},
    {PAT_EAUTH, 401, "invalid_token"},
    {PAT_EUNAUTH, 401, "unauthenticated"},
    {PAT_EFORBIDDEN, 403, "forbidden"},
    {PAT_ESCOPE, 403, "insufficient_scope"},
    {PAT_ECONFIRM, 403, "confirmation_required"},
    {PAT_ENOTFOUND, 404, "not_found"},
    {PAT_EEXISTS, 409, "conflict"},
    {PAT_ECONFLICT, 409, "conflict"},
    {PAT_ETOOBIG, 413, "payload_too_large"},
    {PAT_EMEDIA, 415, "unsupported_media_type"},
    {PAT_ERATE, 429, "rate_limited"},
    {PAT_EUNAVAIL, 503, "unavailable"},
};

/* Quotes s for a WWW-Authenticate parameter (our messages hold no quotes or
 * backslashes, but be safe). */
static void quote(char *out, size_t outsz, const char *s)
{
    size_t n = 0;

    for (; *s && n + 2 < outsz; s++)
        out[n++] = (*s == '"' || *s == '\\') ? '\'' : *s;
    out[n] = '\0';
}

void pat_respond_error(pat_req *r, int code)
{
    const pat_error *e = pat_error_last();
    unsigned status = 500;
    const char *error = "internal";
    const char *message = "internal error";
    kept_failure *kept = NULL, *free_slot = NULL;
    json_t *obj;
    char header[512], desc[300], clean[PAT_ERROR_MESSAGE_MAX], field[PAT_ERROR_FIELD_MAX];

    if (code == PAT_EAUTH && e->code == code && strlen(e->message) < KEPT_MESSAGE_MAX &&
        (kept = kept_failures())) {
        for (size_t i = 0; i < KEPT_FAILURES; i++) {
            if (!kept[i].resp) {
                if (!free_slot)
                    free_slot = &kept[i];
            } else if (strcmp(kept[i].message, e->message) == 0) {
                pat_respond_prepared(r, 401, kept[i].resp, true);
                return;
            }
        }
    }

    for (size_t i = 0; i < sizeof(error_map) / sizeof(error_map[0]); i++) {
        if (error_map[i].code == code) {
            status = error_map[i].status;
            error = error_map[i].error;
            message = e->code == code && e->message[0] ? e->message : error;
            break;
        }
    }
    /* A message may quote what the client sent (a JSON parser's "near
     * '...'"): JSON and a header take it as valid UTF-8 without controls. */
    pat_text_copy_clean(clean, sizeof(clean), message);
    message = clean;
    obj = json_pack("{s:s, s:s}", "error", error, "message", message);
    /* The field names the input at fault; for a missing scope, the scope. */
    if (obj && e->code == code && e->field[0] && code != PAT_ERATE) {
        pat_text_copy_clean(field, sizeof(field), e->field);
        json_object_set_new(obj, code == PAT_ESCOPE ? "scope" : "field", json_string(field));
    }
    pat_respond_json(r, status, obj);
    /* RFC 6750: say how to authenticate, and why the credential failed. */
    quote(desc, sizeof(desc), message);
    if (code == PAT_EUNAUTH) {
        pat_respond_header(r, "WWW-Authenticate", "Bearer realm=\"patd\"");
    } else if (code == PAT_EAUTH) {
        snprintf(header, sizeof(header),
                 "Bearer realm=\"patd\", error=\"invalid_token\", error_description=\"%s\"", desc);
        pat_respond_header(r, "WWW-Authenticate", header);
        if (free_slot) {
            /* Kept from now on: the thread's reference, the request's is shared. */
            memcpy(free_slot->message, e->message, strlen(e->message) + 1);
            free_slot->resp = r->resp;
            r->resp_shared = true;
        }
    } else if (code == PAT_ESCOPE) {
        char scope[PAT_ERROR_FIELD_MAX];
        quote(scope, sizeof(scope), e->field);
        snprintf(header, sizeof(header),
                 "Bearer realm=\"patd\", error=\"insufficient_scope\", scope=\"%s\", "
                 "error_description=\"%s\"",
                 scope, desc);
        pat_respond_header(r, "WWW-Authenticate", header);
    } else if (code == PAT_ERATE) {
        pat_respond_header(r, "Retry-After", e->field[0] ? e->field : "60");
    } else if (code == PAT_EUNAVAIL) {
        pat_respond_header(r, "Retry-After", "30");
    }
}
