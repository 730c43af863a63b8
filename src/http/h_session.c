/* Console sign-in, sign-out and password confirmation. */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "http/format.h"
#include "http/handlers.h"
#include "util/error.h"

#define COOKIE "patd_session"

/* Secure only when the public URL is https, so plain-http local use works. */
static const char *secure_flag(const pat_req *r)
{
    return strncmp(pat_req_public_url(r), "https:", 6) == 0 ? "; Secure" : "";
}

int pat_h_session_create(pat_req *r)
{
    static const char *const keys[] = {"username", "password", NULL};
    const char *username = NULL, *password = NULL;
    char sid[PAT_SESSION_SECRET_BUF], csrf[PAT_SESSION_SECRET_BUF];
    char cookie[256];
    pat_request_info info = pat_req_info(r);
    json_t *body = NULL;
    int rc;

    if ((rc = pat_json_body(r, &body)) < 0 || (rc = pat_json_only_keys(body, keys)) < 0 ||
        (rc = pat_json_string(body, "username", &username, NULL)) < 0 ||
        (rc = pat_json_string(body, "password", &password, NULL)) < 0)
        goto out;
    if (!username || !*username) {
        rc = pat_error_set(PAT_EINVAL, "username", "username is required");
        goto out;
    }
    if (!password || !*password) {
        rc = pat_error_set(PAT_EINVAL, "password", "password is required");
        goto out;
    }
    if ((rc = pat_service_login(pat_req_service(r), username, password, &info, sid, csrf,
                                &r->who)) < 0)
        goto out;
    snprintf(cookie, sizeof(cookie), COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%d%s",
             sid, PAT_SESSION_LIFETIME, secure_flag(r));
    pat_respond_json(r, 200, json_pack("{s:s, s:o}", "csrf_token", csrf, "user",
                                       pat_format_principal(&r->who)));
    pat_respond_header(r, MHD_HTTP_HEADER_SET_COOKIE, cookie);
    sodium_memzero(sid, sizeof(sid));
    sodium_memzero(csrf, sizeof(csrf));
    sodium_memzero(cookie, sizeof(cookie));
out:
    /* The password lives in the parsed body; wipe it before jansson frees. */
    if (password)
        sodium_memzero((char *)password, strlen(password));
    json_decref(body);
    return rc;
}

int pat_h_session_get(pat_req *r)
{
    json_t *o = json_pack("{s:o, s:s}", "user", pat_format_principal(&r->who), "auth",
                          r->who.kind == PAT_AUTH_SESSION ? "session" : "token");

    if (r->who.kind == PAT_AUTH_SESSION)
        json_object_set_new(o, "confirmed_until", pat_format_time(r->who.confirmed_until));
    pat_respond_json(r, 200, o);
    return PAT_OK;
}

int pat_h_session_delete(pat_req *r)
{
    pat_request_info info = pat_req_info(r);
    char cookie[128];
    int rc;

    if ((rc = pat_service_logout(pat_req_service(r), &r->who, &info)) < 0)
        return rc;
    snprintf(cookie, sizeof(cookie), COOKIE "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0%s",
             secure_flag(r));
    pat_respond_empty(r, 204);
    pat_respond_header(r, MHD_HTTP_HEADER_SET_COOKIE, cookie);
    return PAT_OK;
}

int pat_h_session_confirm(pat_req *r)
{
    static const char *const keys[] = {"password", NULL};
    const char *password = NULL;
    pat_request_info info = pat_req_info(r);
    json_t *body = NULL;
    int rc;

    if ((rc = pat_json_body(r, &body)) < 0 || (rc = pat_json_only_keys(body, keys)) < 0 ||
        (rc = pat_json_string(body, "password", &password, NULL)) < 0)
        goto out;
    if (!password || !*password) {
        rc = pat_error_set(PAT_EINVAL, "password", "password is required");
        goto out;
    }
    if ((rc = pat_service_session_confirm(pat_req_service(r), &r->who, password, &info)) < 0)
        goto out;
    pat_respond_json(r, 200, json_pack("{s:o}", "confirmed_until",
                                       pat_format_time(r->who.confirmed_until)));
out:
    if (password)
        sodium_memzero((char *)password, strlen(password));
    json_decref(body);
    return rc;
}

static json_t *me_json(const pat_user *u)
{
    return json_pack("{sI ss ss ss s{sb sb}}", "id", (json_int_t)u->id, "username", u->username,
                     "email", u->email, "role", pat_role_name(u->role), "notifications",
                     "expiry_reminders", !(u->notify_off & PAT_NOTIFY_EXPIRY), "new_client_alerts",
                     !(u->notify_off & PAT_NOTIFY_NEW_CLIENT));
}

int pat_h_me_get(pat_req *r)
{
    pat_user u;
    int rc;

    if ((rc = pat_me_get(pat_req_service(r), &r->who, &u)) < 0)
        return rc;
    pat_respond_json(r, 200, me_json(&u));
    return PAT_OK;
}

int pat_h_me_update(pat_req *r)
{
    static const char *const keys[] = {"email", "notifications", NULL};
    static const char *const nkeys[] = {"expiry_reminders", "new_client_alerts", NULL};
    pat_request_info info = pat_req_info(r);
    json_t *body = NULL, *notifications;
    pat_me_input in;
    pat_user u;
    int rc;

    memset(&in, 0, sizeof(in));
    if ((rc = pat_json_body(r, &body)) < 0 || (rc = pat_json_only_keys(body, keys)) < 0 ||
        (rc = pat_json_string(body, "email", &in.email, NULL)) < 0)
        goto out;
    notifications = json_object_get(body, "notifications");
    if (notifications) {
        if (!json_is_object(notifications)) {
            rc = pat_error_set(PAT_EINVAL, "notifications", "notifications must be an object");
            goto out;
        }
        if ((rc = pat_json_only_keys(notifications, nkeys)) < 0 ||
            (rc = pat_json_bool(notifications, "expiry_reminders", &in.expiry_reminders,
                                &in.has_expiry_reminders)) < 0 ||
            (rc = pat_json_bool(notifications, "new_client_alerts", &in.new_client_alerts,
                                &in.has_new_client_alerts)) < 0)
            goto out;
    }
    if ((rc = pat_me_update(pat_req_service(r), &r->who, &info, &in, &u)) < 0)
        goto out;
    pat_respond_json(r, 200, me_json(&u));
out:
    json_decref(body);
    return rc;
}
