/* POST /api/v1/credentials/revoke: leak reports from anyone. The answer
 * is 202 with the count received, whatever the report held. */
#include <stdlib.h>

#include "http/handlers.h"
#include "util/error.h"

int pat_h_credentials_revoke(pat_req *r)
{
    static const char *const keys[] = {"credentials", "source", "url", NULL};
    pat_request_info info = pat_req_info(r);
    const char *authz = r->hdr.authorization;
    const char **values = NULL, *source = NULL, *url = NULL;
    bool has_values = false;
    json_t *body = NULL;
    size_t n = 0;
    int rc;

    /* A scanner identifies itself with a token holding leak-report; a
     * stranger sends nothing. A credential that does not verify is an
     * error, not a stranger. */
    if (authz) {
        const char *token = NULL;
        size_t len = 0;
        if ((rc = pat_token_from_authorization(authz, &token, &len)) < 0 ||
            (rc = pat_http_verify(r, token, len, PAT_SCOPE_LEAK_REPORT, r->method, r->path)) < 0)
            return rc;
    }
    if ((rc = pat_json_body(r, &body)) < 0 || (rc = pat_json_only_keys(body, keys)) < 0 ||
        (rc = pat_json_strings(body, "credentials", PAT_LEAK_REPORT_MAX, &values, &n,
                               &has_values)) < 0 ||
        (rc = pat_json_string(body, "source", &source, NULL)) < 0 ||
        (rc = pat_json_string(body, "url", &url, NULL)) < 0)
        goto out;
    if (!has_values) {
        rc = pat_error_set(PAT_EINVAL, "credentials", "credentials is required");
        goto out;
    }
    if ((rc = pat_service_leak_report(pat_req_service(r), authz ? &r->who : NULL, &info, values,
                                      n, source, url)) < 0)
        goto out;
    pat_respond_json(r, 202, json_pack("{s:I}", "received", (json_int_t)n));
out:
    free(values);
    json_decref(body);
    return rc;
}
