/* Liveness and readiness. */
#include "http/handlers.h"
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
                                           "the store is not reachable"));
        return PAT_OK;
    }
    pat_respond_json(r, 200, json_pack("{s:s}", "status", "ready"));
    return PAT_OK;
}
