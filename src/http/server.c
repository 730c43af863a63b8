/* libmicrohttpd glue: listening, per-request state, body limits, access log. */
#include <arpa/inet.h>
#include <netdb.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <unistd.h>

#include <sodium.h>

#include "http/defer.h"
#include "http/handlers.h"
#include "http/server.h"
#include "util/error.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/metrics.h"
#include "util/time.h"

/* Each connection's buffer for request headers and the response head.
 * libmicrohttpd zeroes it between requests, so its size is paid on every
 * keep-alive request: 16 KiB holds any sane header set (nginx's default
 * limit is 8 KiB a line) at half the cost of the default 32 KiB. */
#define CONNECTION_MEMORY (16 * 1024)
#define CONNECTION_TIMEOUT_S 30
/* How long a stop waits for open connections to finish (pat_guard_drain). */
#define DRAIN_MS 5000
#define CONNECTION_LIMIT_MAX 16384

struct pat_server {
    struct MHD_Daemon *daemon;
    pat_service *svc;
    pat_guard *guard;
    pat_defer *defer;
    char public_url[256];
};

/* The connection's peer, as the guard counts it. */
static void peer_address(struct MHD_Connection *conn, char out[64])
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

    pat_guard_addr_text(ci ? ci->client_addr : NULL, out);
}

/* Prepares the connection's request object for a new request. */
static void request_begin(pat_req *r, const char *url, const char *method)
{
    r->method = method;
    r->path = url;
    r->start_us = pat_time_mono_us();
    r->body_too_big = false;
    r->wait_feed = false;
    r->deferred = false;
    r->route = -1;
    r->route_pattern = "unmatched";
    r->id = 0;
    r->status = 0;
    r->resp = NULL;
    r->resp_shared = false;
    r->who.kind = PAT_AUTH_NONE;
    r->who.user_id = 0;
    r->who.token_id = 0;
}

/* What a request's header section says about its framing, gathered in one
 * pass over the headers. */
typedef struct framing {
    pat_req_headers *hdr; /* the verification's headers, taken on the way */
    unsigned authorization, host, content_length, transfer_encoding;
    bool nul_in_authorization;
    bool lengths_differ;
    const char *first_length;
    size_t first_length_size;
} framing;

/* Keeps value in *slot if it is the first of its name. */
static void take(const char **slot, const char *value)
{
    if (!*slot)
        *slot = value;
}

/* The verification's headers, by length first: most headers are none. */
static void hot_header(pat_req_headers *h, const char *key, size_t key_size, const char *value)
{
    switch (key_size) {
    case 9:
        if (strncasecmp(key, "X-Real-IP", 9) == 0)
            take(&h->x_real_ip, value);
        break;
    case 10:
        if (strncasecmp(key, "User-Agent", 10) == 0)
            take(&h->user_agent, value);
        break;
    case 14:
        if (strncasecmp(key, "X-Original-URI", 14) == 0)
            take(&h->x_original_uri, value);
        else if (strncasecmp(key, "X-Required-Org", 14) == 0)
            take(&h->x_required_org, value);
        break;
    case 15:
        if (strncasecmp(key, "X-Forwarded-For", 15) == 0)
            take(&h->x_forwarded_for, value);
        else if (strncasecmp(key, "X-Forwarded-Uri", 15) == 0)
            take(&h->x_forwarded_uri, value);
        break;
    case 16:
        if (strncasecmp(key, "X-Required-Scope", 16) == 0)
            take(&h->x_required_scope, value);
        break;
    case 17:
        if (strncasecmp(key, "X-Original-Method", 17) == 0)
            take(&h->x_original_method, value);
        break;
    case 18:
        if (strncasecmp(key, "X-Forwarded-Method", 18) == 0)
            take(&h->x_forwarded_method, value);
        break;
    case 19:
        if (strncasecmp(key, "X-Required-Audience", 19) == 0)
            take(&h->x_required_audience, value);
        break;
    default:
        break;
    }
}

static enum MHD_Result framing_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      size_t key_size, const char *value, size_t value_size)
{
    framing *f = cls;

    (void)kind;
    if (key_size == 13 && strncasecmp(key, "Authorization", 13) == 0) {
        take(&f->hdr->authorization, value);
        f->authorization++;
        /* A NUL would cut "VALID\0junk" to a valid token. libmicrohttpd
         * 0.9.75 measures the value up to it, so this only catches what
         * later versions report whole. */
        if (value && strlen(value) != value_size)
            f->nul_in_authorization = true;
    } else if (key_size == 4 && strncasecmp(key, "Host", 4) == 0) {
        f->host++;
    } else if (key_size == 14 && strncasecmp(key, "Content-Length", 14) == 0) {
        if (f->content_length++ == 0) {
            f->first_length = value;
            f->first_length_size = value_size;
        } else if (value_size != f->first_length_size ||
                   memcmp(value, f->first_length, value_size) != 0) {
            f->lengths_differ = true;
        }
    } else if (key_size == 17 && strncasecmp(key, "Transfer-Encoding", 17) == 0) {
        f->transfer_encoding++;
    } else {
        hot_header(f->hdr, key, key_size, value);
    }
    return MHD_YES;
}

/* The rules of RFC 9112 and RFC 6750 that libmicrohttpd 0.9.75 does not
 * keep: PAT_OK, or the error to answer with, after which the connection
 * closes (what follows on it cannot be trusted to be a request). */
static int check_framing(pat_req *r, const char *version)
{
    framing f;

    memset(&f, 0, sizeof(f));
    memset(&r->hdr, 0, sizeof(r->hdr));
    f.hdr = &r->hdr;
    MHD_get_connection_values_n(r->conn, MHD_HEADER_KIND, framing_header, &f);
    if (f.content_length > 1 && f.lengths_differ)
        return pat_error_set(PAT_EINVAL, NULL, "conflicting Content-Length headers");
    if (f.content_length && f.transfer_encoding)
        return pat_error_set(PAT_EINVAL, NULL,
                             "Content-Length and Transfer-Encoding together are refused");
    if (f.host == 0 && strcmp(version, MHD_HTTP_VERSION_1_1) == 0)
        return pat_error_set(PAT_EINVAL, NULL, "an HTTP/1.1 request needs a Host header");
    if (f.host > 1)
        return pat_error_set(PAT_EINVAL, NULL, "more than one Host header");
    if (f.authorization > 1)
        return pat_error_set(PAT_EINVAL, NULL, "more than one Authorization header");
    if (f.nul_in_authorization)
        return pat_error_set(PAT_EINVAL, NULL, "the Authorization header holds a NUL byte");
    return PAT_OK;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_size, void **con_cls)
{
    pat_server *srv = cls;
    pat_req *r = *con_cls;
    enum MHD_Result ok;

    if (!r) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        r = ci->socket_context;
        request_begin(r, url, method);
        r->framing_error = check_framing(r, version);
        pat_service_client_ip(r->svc, r->ip, sizeof(r->ip), r->peer, r->hdr.x_real_ip,
                              r->hdr.x_forwarded_for);
        *con_cls = r;
        /* Answering on this first call would make MHD close the connection. */
        return MHD_YES;
    }
    if (*upload_size) {
        if (!r->body_too_big && pat_buf_append(&r->body, upload_data, *upload_size) < 0) {
            r->body_too_big = true;
            pat_buf_reset(&r->body);
        }
        *upload_size = 0;
        return MHD_YES;
    }
    /* Received whole: no deadline while it is answered. */
    pat_guard_answering(&r->guard);
    if (r->framing_error < 0) {
        /* Checked again: this thread's last error has served other
         * connections since the headers came in. */
        pat_respond_error(r, check_framing(r, version));
        pat_respond_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    } else {
        pat_router_dispatch(r);
        if (r->wait_feed) {
            /* Called again once the feed was read; the answer goes then. */
            r->wait_feed = false;
            r->deferred = true;
            if (srv->defer && pat_defer_add(srv->defer, conn))
                return MHD_YES;
            pat_router_dispatch(r); /* stopping: asked again, it waits */
        }
    }
    if (!r->resp)
        pat_respond_error(r, pat_error_set(PAT_EIO, NULL, "no response"));
    ok = MHD_queue_response(conn, r->status, r->resp);
    pat_req_drop_response(r); /* the connection holds its own reference */
    return ok;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    pat_server *srv = cls;
    pat_req *r = *con_cls;
    int64_t micros;

    (void)conn;
    if (!r)
        return;
    pat_guard_answered(srv->guard, &r->guard);
    micros = pat_time_mono_us() - r->start_us;
    pat_metrics_request(r->route, r->route_pattern, r->status, micros);
    /* Method and path only: the query may hold a credential. */
    pat_log_access(&(pat_access_line){
        .method = r->method,
        .path = r->path,
        .ip = r->ip,
        .status = r->status,
        .micros = micros,
        .token_id = r->who.kind == PAT_AUTH_TOKEN ? r->who.token_id : 0,
        .user_id = r->who.user_id,
        .aborted = toe != MHD_REQUEST_TERMINATED_COMPLETED_OK,
    });
    pat_req_drop_response(r);
    pat_buf_reset(&r->body);
    r->who.kind = PAT_AUTH_NONE;
    sodium_memzero(r->who.session_hash, sizeof(r->who.session_hash));
    sodium_memzero(r->who.csrf_hash, sizeof(r->who.csrf_hash));
    *con_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    pat_server *srv = cls;
    pat_req *r;

    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *fd =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        r = pat_calloc(1, sizeof(*r));
        r->svc = srv->svc;
        r->public_url = srv->public_url;
        r->conn = conn;
        /* Once per connection, not per keep-alive request: inet_ntop
         * formats through sprintf, ~1.7 k instructions each time. */
        peer_address(conn, r->peer);
        pat_buf_init(&r->body, PAT_BODY_MAX);
        pat_guard_opened(srv->guard, &r->guard, fd ? fd->connect_fd : -1, r->peer);
        *socket_context = r;
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED && (r = *socket_context)) {
        pat_guard_closed(srv->guard, &r->guard);
        pat_buf_dispose(&r->body);
        sodium_memzero(&r->who, sizeof(r->who));
        free(r);
        *socket_context = NULL;
    }
}

/* Splits "host:port" or "[v6]:port" and resolves it numerically or by name. */
static int resolve(const char *listen, struct sockaddr_storage *out, socklen_t *outlen)
{
    char host[128], port[16];
    const char *colon = strrchr(listen, ':');
    struct addrinfo hints, *res = NULL;
    size_t hlen;

    if (!colon || strlen(colon + 1) >= sizeof(port) || colon == listen)
        return pat_error_set(PAT_EINVAL, "listen", "listen must be ADDR:PORT");
    hlen = (size_t)(colon - listen);
    if (listen[0] == '[' && hlen >= 2 && listen[hlen - 1] == ']') {
        listen++;
        hlen -= 2;
    }
    if (hlen >= sizeof(host))
        return pat_error_set(PAT_EINVAL, "listen", "listen address is too long");
    memcpy(host, listen, hlen);
    host[hlen] = '\0';
    snprintf(port, sizeof(port), "%s", colon + 1);
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    if (getaddrinfo(host, port, &hints, &res) != 0 || !res)
        return pat_error_set(PAT_EINVAL, "listen", "cannot resolve the listen address");
    memcpy(out, res->ai_addr, res->ai_addrlen);
    *outlen = (socklen_t)res->ai_addrlen;
    freeaddrinfo(res);
    return PAT_OK;
}

/* Raises the open-file limit and returns a connection limit that fits it:
 * MHD's default of 1020 makes further clients hang. */
static unsigned connection_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        if (rl.rlim_cur < rl.rlim_max) {
            rl.rlim_cur = rl.rlim_max;
            setrlimit(RLIMIT_NOFILE, &rl);
            getrlimit(RLIMIT_NOFILE, &rl);
        }
        if (rl.rlim_cur > 128) {
            rlim_t n = rl.rlim_cur - 64;
            return n > CONNECTION_LIMIT_MAX ? CONNECTION_LIMIT_MAX : (unsigned)n;
        }
    }
    return 512;
}

/* libmicrohttpd's own messages (protocol errors a client can provoke) go
 * through our log, in its format and with its escaping. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[1024];
    size_t n;

    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    /* Its messages end with a newline of their own. */
    n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    pat_log("warn", "http: %s", msg);
}

static enum MHD_Result admit(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    (void)addrlen;
    return pat_guard_admit(cls, addr) ? MHD_YES : MHD_NO;
}

int pat_http_listen(const char *listen_addr, int *fd)
{
    struct sockaddr_storage addr;
    socklen_t addrlen = 0;
    int s, on = 1, rc;

    if ((rc = resolve(listen_addr, &addr, &addrlen)) < 0)
        return rc;
    s = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0)
        return pat_error_set(PAT_EIO, "listen", "cannot create a socket: %s", strerror(errno));
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (addr.ss_family == AF_INET6)
        setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
    if (bind(s, (struct sockaddr *)&addr, addrlen) != 0 || listen(s, SOMAXCONN) != 0) {
        rc = pat_error_set(PAT_EIO, "listen", "cannot listen on %s: %s", listen_addr,
                           strerror(errno));
        close(s);
        return rc;
    }
    *fd = s;
    return PAT_OK;
}

int pat_http_start(pat_server **out, pat_service *svc, const pat_http_options *opts)
{
    struct sockaddr_storage addr;
    socklen_t addrlen = sizeof(addr);
    pat_server *srv;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned threads =
        opts->threads > 0 ? (unsigned)opts->threads : (unsigned)(cores > 0 ? cores : 1);
    unsigned limit;
    int fd = opts->listen_fd, rc;

    /* The socket is bound first, so the caller can bind before it does
     * anything it would regret on a busy port. */
    if (fd < 0 && (rc = pat_http_listen(opts->listen, &fd)) < 0)
        return rc;
    if (getsockname(fd, (struct sockaddr *)&addr, &addrlen) == 0 && addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    limit = connection_limit();
    srv = pat_calloc(1, sizeof(*srv));
    srv->svc = svc;
    if (!(srv->guard = pat_guard_new(opts->connections_per_address, limit, opts->trusted_proxies,
                                     opts->request_deadline_seconds > 0
                                         ? opts->request_deadline_seconds
                                         : 10,
                                     CONNECTION_TIMEOUT_S))) {
        free(srv);
        return pat_error_set(PAT_EIO, NULL, "cannot start the connection watchdog");
    }
    /* Only where it is used: allowing libmicrohttpd to suspend costs every
     * request a few hundred instructions (bench/instructions.py). */
    if (opts->shared_store) {
        flags |= MHD_ALLOW_SUSPEND_RESUME;
        if (!(srv->defer = pat_defer_new(svc))) {
            pat_guard_free(srv->guard);
            free(srv);
            return pat_error_set(PAT_EIO, NULL, "cannot start the feed reader of the HTTP server");
        }
    }
    if (opts->public_url && *opts->public_url)
        snprintf(srv->public_url, sizeof(srv->public_url), "%s", opts->public_url);
    else
        snprintf(srv->public_url, sizeof(srv->public_url), "http://%s", opts->listen);
    srv->daemon = MHD_start_daemon(
        flags, 0, admit, srv->guard, on_access, srv,
        /* First, so that every message of the daemon's goes through it. */
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_LISTEN_SOCKET, fd,
        MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_S,
        MHD_OPTION_CONNECTION_LIMIT, limit, MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv, MHD_OPTION_END);
    if (!srv->daemon) {
        close(fd);
        pat_defer_free(srv->defer);
        pat_guard_free(srv->guard);
        free(srv);
        return pat_error_set(PAT_EIO, "listen", "cannot listen on %s", opts->listen);
    }
    *out = srv;
    return PAT_OK;
}

void pat_http_stop(pat_server *srv)
{
    if (!srv)
        return;
    if (!pat_guard_drain(srv->guard, DRAIN_MS))
        pat_log_warn("stopping with connections still open after %d ms", DRAIN_MS);
    /* libmicrohttpd must not stop with a connection suspended; its threads
     * may still ask to set one aside until it has stopped (refused). */
    pat_defer_stop(srv->defer);
    MHD_stop_daemon(srv->daemon);
    pat_defer_free(srv->defer);
    pat_guard_free(srv->guard);
    free(srv);
}

unsigned short pat_http_port(const pat_server *srv)
{
    const union MHD_DaemonInfo *i = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);

    return i ? i->port : 0;
}
