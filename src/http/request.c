/* The request object's accessors: what a handler may ask of the request it
 * serves. Kept apart from server.c, which owns connections and calls the
 * router, so the router and handlers depend on this and not on it. */
#include "http/request.h"

pat_service *pat_req_service(const pat_req *r)
{
    return r->svc;
}

const char *pat_req_public_url(const pat_req *r)
{
    return r->public_url;
}

const char *pat_req_header(const pat_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *pat_req_query(const pat_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

pat_request_info pat_req_info(const pat_req *r)
{
    pat_request_info info;

    info.ip = r->ip;
    info.user_agent = r->hdr.user_agent;
    info.method = r->method;
    info.path = r->path;
    return info;
}
