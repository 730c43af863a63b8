/* Strict JSON request bodies through jansson. */
#include <string.h>
#include <strings.h>

#include "http/request.h"
#include "util/error.h"
#include "util/mem.h"

/* Depth of nesting of v, stopping early past limit. */
static int depth(json_t *v, int limit)
{
    int deepest = 0;

    if (limit < 0)
        return 1;
    if (json_is_object(v)) {
        const char *k;
        json_t *m;
        json_object_foreach(v, k, m)
        {
            int d = depth(m, limit - 1);
            if (d > deepest)
                deepest = d;
        }
        return deepest + 1;
    }
    if (json_is_array(v)) {
        size_t i;
        json_t *m;
        json_array_foreach(v, i, m)
        {
            int d = depth(m, limit - 1);
            if (d > deepest)
                deepest = d;
        }
        return deepest + 1;
    }
    return 0;
}

/* 1 if the Content-Type header names JSON (parameters such as charset allowed). */
static int is_json(const char *ct)
{
    size_t n = strlen("application/json");

    if (!ct)
        return 0;
    while (*ct == ' ')
        ct++;
    return strncasecmp(ct, "application/json", n) == 0 &&
           (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

int pat_json_parse(const char *data, size_t len, json_t **out)
{
    json_error_t err;
    json_t *v;

    /* A stray NUL would end the text early; jansson refuses it given the length. */
    v = json_loadb(data, len, JSON_REJECT_DUPLICATES, &err);
    if (!v)
        return pat_error_set(PAT_EINVAL, NULL, "the body is not valid JSON: %s", err.text);
    if (!json_is_object(v)) {
        json_decref(v);
        return pat_error_set(PAT_EINVAL, NULL, "the body must be a JSON object");
    }
    if (depth(v, PAT_JSON_DEPTH_MAX) > PAT_JSON_DEPTH_MAX) {
        json_decref(v);
        return pat_error_set(PAT_EINVAL, NULL, "the body nests deeper than %d levels",
                             PAT_JSON_DEPTH_MAX);
    }
    *out = v;
    return PAT_OK;
}

int pat_json_body(pat_req *r, json_t **out)
{
    if (r->body_too_big)
        return pat_error_set(PAT_ETOOBIG, NULL, "the request body exceeds %d bytes", PAT_BODY_MAX);
    if (r->body.len == 0) {
        *out = json_object();
        return PAT_OK;
    }
    if (!is_json(pat_req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE)))
        return pat_error_set(PAT_EMEDIA, NULL, "send the body as Content-Type: application/json");
    return pat_json_parse(r->body.data, r->body.len, out);
}

int pat_json_only_keys(json_t *obj, const char *const *allowed)
{
    const char *k;
    json_t *m;

    json_object_foreach(obj, k, m)
    {
        int known = 0;
        for (const char *const *a = allowed; *a; a++) {
            if (strcmp(*a, k) == 0) {
                known = 1;
                break;
            }
        }
        if (!known)
            return pat_error_set(PAT_EINVAL, k, "unknown field %.60s", k);
    }
    return PAT_OK;
}

int pat_json_no_body(pat_req *r)
{
    static const char *const none[] = {NULL};
    json_t *body = NULL;
    int rc;

    if ((rc = pat_json_body(r, &body)) == PAT_OK)
        rc = pat_json_only_keys(body, none);
    json_decref(body);
    return rc;
}

static json_t *member(json_t *obj, const char *key, bool *present)
{
    json_t *m = json_object_get(obj, key);

    if (m && json_is_null(m))
        m = NULL;
    if (present)
        *present = m != NULL;
    return m;
}

int pat_json_string(json_t *obj, const char *key, const char **out, bool *present)
{
    json_t *m = member(obj, key, present);

    if (!m)
        return PAT_OK;
    if (!json_is_string(m))
        return pat_error_set(PAT_EINVAL, key, "%s must be a string", key);
    if (strlen(json_string_value(m)) != json_string_length(m))
        return pat_error_set(PAT_EINVAL, key, "%s must not contain NUL characters", key);
    *out = json_string_value(m);
    return PAT_OK;
}

int pat_json_int(json_t *obj, const char *key, int64_t *out, bool *present)
{
    json_t *m = member(obj, key, present);

    if (!m)
        return PAT_OK;
    if (!json_is_integer(m))
        return pat_error_set(PAT_EINVAL, key, "%s must be an integer", key);
    *out = (int64_t)json_integer_value(m);
    return PAT_OK;
}

int pat_json_bool(json_t *obj, const char *key, bool *out, bool *present)
{
    json_t *m = member(obj, key, present);

    if (!m)
        return PAT_OK;
    if (!json_is_boolean(m))
        return pat_error_set(PAT_EINVAL, key, "%s must be true or false", key);
    *out = json_is_true(m);
    return PAT_OK;
}

int pat_json_strings(json_t *obj, const char *key, size_t max, const char ***out, size_t *n,
                     bool *present)
{
    json_t *m = member(obj, key, present);
    const char **list;
    size_t count;

    if (!m)
        return PAT_OK;
    if (!json_is_array(m))
        return pat_error_set(PAT_EINVAL, key, "%s must be an array of strings", key);
    count = json_array_size(m);
    if (count > max)
        return pat_error_set(PAT_EINVAL, key, "%s holds at most %zu items", key, max);
    list = pat_calloc(count + 1, sizeof(*list));
    for (size_t i = 0; i < count; i++) {
        json_t *s = json_array_get(m, i);
        if (!json_is_string(s) || strlen(json_string_value(s)) != json_string_length(s)) {
            free(list);
            return pat_error_set(PAT_EINVAL, key, "%s must be an array of strings", key);
        }
        list[i] = json_string_value(s);
    }
    *out = list;
    *n = count;
    return PAT_OK;
}
