#ifndef PAT_HTTP_SERVER_H
#define PAT_HTTP_SERVER_H
#include "service/service.h"

typedef struct pat_server pat_server;

typedef struct pat_http_options {
    const char *listen;     /* "ADDR:PORT", "[v6]:PORT"; copied */
    int listen_fd;          /* a socket from pat_http_listen (the server owns it from
                               then on), or -1 to bind listen itself */
    int threads;            /* worker threads; 0 = one per core */
    const char *public_url; /* base URL for generated examples; "" = from listen */
    int connections_per_address;        /* 0 = no cap (http/guard.h) */
    int request_deadline_seconds;       /* to receive a request whole */
    const pat_cidr_set *trusted_proxies; /* borrowed; outlives the server */
    bool shared_store; /* other instances write to the store: GET /auth may set a
                          request aside for its changes feed (http/defer.h) */
} pat_http_options;

/* Binds and listens on listen_addr ("ADDR:PORT"), without serving yet:
 * *fd for pat_http_options.listen_fd. PAT_EINVAL for a bad address,
 * PAT_EIO if it is taken. */
int pat_http_listen(const char *listen_addr, int *fd);

/* Binds and starts serving svc (borrowed; outlives the server). *out is
 * owned by the caller (pat_http_stop). PAT_EINVAL for a bad address,
 * PAT_EIO if it cannot listen. */
int pat_http_start(pat_server **out, pat_service *svc, const pat_http_options *opts);

/* The port it listens on (useful after listening on port 0). */
unsigned short pat_http_port(const pat_server *srv);

/* Stops accepting, finishes and frees; NULL is a no-op. */
void pat_http_stop(pat_server *srv);

#endif
