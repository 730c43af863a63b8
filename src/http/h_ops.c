/* Liveness and readiness. */
#include "http/handlers.h"
#include <string.h>

#include "util/error.h"

int pat_h_healthz(pat_req *r)
{
    pat_respond_json(r, 200, json_pack("{s:s}", "status", "ok"));
    return PAT_OK;
}

int pat_h_readyz(pat_req *r)
{
    /* The store is the only thing a request needs that can be away. */
    if (pat_service_ping(pat_req_service(r)) < 0) {
        pat_respond_json(r, 503, json_pack("{s:s, s:s}", "error", "unavailable", "message",
                                           pat_error_last()->message));
        return PAT_OK;
    }
    pat_respond_json(r, 200, json_pack("{s:s}", "status", "ready"));
    return PAT_OK;
}

int pat_h_metrics(pat_req *r)
{
    pat_buf out;
    struct MHD_Response *resp;
    int rc;

    pat_buf_init(&out, 4 * 1024 * 1024);
    if ((rc = pat_service_metrics(pat_req_service(r), &out)) < 0) {
        pat_buf_dispose(&out);
        return rc;
    }
    /* MHD frees the text with free() once sent. */
    resp = MHD_create_response_from_buffer(out.len, out.data ? out.data : strdup(""),
                                           MHD_RESPMEM_MUST_FREE);
    pat_respond_raw(r, 200, resp, "text/plain; version=0.0.4; charset=utf-8");
    return PAT_OK;
}
