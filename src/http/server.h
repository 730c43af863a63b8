#ifndef PAT_HTTP_SERVER_H
#define PAT_HTTP_SERVER_H
#include "service/service.h"

typedef struct pat_server pat_server;

typedef struct pat_http_options {
    const char *listen;     /* "ADDR:PORT", "[v6]:PORT"; copied */
    int threads;            /* worker threads; 0 = one per core */
    const char *public_url; /* base URL for generated examples; "" = from listen */
} pat_http_options;

/* Binds and starts serving svc (borrowed; outlives the server). *out is
 * owned by the caller (pat_http_stop). PAT_EINVAL for a bad address,
 * PAT_EIO if it cannot listen. */
int pat_http_start(pat_server **out, pat_service *svc, const pat_http_options *opts);

/* Stops accepting, finishes and frees; NULL is a no-op. */
void pat_http_stop(pat_server *srv);

#endif
