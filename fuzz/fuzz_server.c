/* The server the request-level fuzz targets talk to: libmicrohttpd, the
 * framing checks, the router and every handler, over a real SQLite store
 * in a temporary directory, on a real socket. The server key is fixed, so
 * inputs can carry a valid token (FUZZ_TOKEN, with every scope) and reach
 * the authenticated handlers. */
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "http/server.h"
#include "service/service.h"
#include "store/store.h"
#include "util/error.h"
#include "util/log.h"

#include "fuzz_server.h"

static pat_store *store;
static pat_service *svc;
static pat_server *srv;
static pat_config cfg;
static unsigned short port;

/* Everything stopped and freed when the process ends (the replay under
 * valgrind counts what is left). */
static void teardown(void)
{
    pat_http_stop(srv);
    pat_service_free(svc);
    pat_store_close(store);
}

static void setup(void)
{
    static char dir[] = "/tmp/patd-fuzz-XXXXXX";
    char url[128];
    pat_service_options so;
    pat_http_options ho;
    pat_token_rec *t = calloc(1, sizeof(*t));
    pat_user u;

    signal(SIGPIPE, SIG_IGN);
    if (sodium_init() < 0 || !mkdtemp(dir))
        abort();
    snprintf(url, sizeof(url), "sqlite:%s/f.db", dir);
    pat_config_defaults(&cfg);
    cfg.auth_fail_limit = 0;
    if (pat_store_open(&store, url) < 0)
        abort();
    memset(&u, 0, sizeof(u));
    snprintf(u.username, sizeof(u.username), "fuzz");
    snprintf(u.password_hash, sizeof(u.password_hash), "x");
    u.role = PAT_ROLE_SUPERUSER;
    u.can_manage_tokens = true;
    memset(&so, 0, sizeof(so));
    memset(so.key, 0x42, sizeof(so.key));
    if (pat_store_user_create(store, &u) < 0)
        abort();
    t->user_id = u.id;
    snprintf(t->name, sizeof(t->name), "fuzz");
    snprintf(t->scopes, sizeof(t->scopes), "tokens introspect admin orgs");
    pat_token_hash(t->hash, so.key, FUZZ_TOKEN, strlen(FUZZ_TOKEN));
    pat_token_display(t->prefix, FUZZ_TOKEN);
    if (pat_store_token_insert(store, t) < 0)
        abort();
    /* Token 2 and person 2: what inputs act on, so that the credential
     * (token 1 of person 1) survives most of them. */
    snprintf(t->name, sizeof(t->name), "target");
    t->hash[0] ^= 1;
    if (pat_store_token_insert(store, t) < 0)
        abort();
    free(t);
    snprintf(u.username, sizeof(u.username), "other");
    u.role = PAT_ROLE_MEMBER;
    if (pat_store_user_create(store, &u) < 0)
        abort();
    so.store = store;
    so.config = &cfg;
    if (pat_service_new(&svc, &so) < 0)
        abort();
    memset(&ho, 0, sizeof(ho));
    ho.listen_fd = -1;
    ho.listen = "127.0.0.1:0";
    ho.threads = 2;
    ho.trusted_proxies = &cfg.trusted_proxies;
    ho.connections_per_address = 0;
    ho.request_deadline_seconds = 2;
    if (pat_http_start(&srv, svc, &ho) < 0)
        abort();
    port = pat_http_port(srv);
    atexit(teardown);
}

/* How many bytes of buf[0..n) one whole answer takes (status line,
 * headers, Content-Length's body; a 204 or 304 has none), or 0 while it
 * is not all there. An answer without a length ends with the connection. */
static size_t answer_length(const char *buf, size_t n)
{
    const char *end = memmem(buf, n, "\r\n\r\n", 4), *p;
    size_t head, body = 0;

    if (!end)
        return 0;
    head = (size_t)(end - buf) + 4;
    for (p = buf; p < end; p++) {
        if ((p == buf || p[-1] == '\n') && (size_t)(end - p) > 15 &&
            strncasecmp(p, "Content-Length:", 15) == 0) {
            body = (size_t)strtoul(p + 15, NULL, 10);
            break;
        }
    }
    if (p == end && !(n > 12 && (memcmp(buf + 9, "204", 3) == 0 || memcmp(buf + 9, "304", 3) == 0)))
        return 0;
    return head + body <= n ? head + body : 0;
}

/* How many answers data can get: its request lines (at least one), or
 * none when no header section ends in it (nothing is answered then). */
static size_t requests_in(const uint8_t *data, size_t size)
{
    size_t count = 0;

    if (!memmem(data, size, "\r\n\r\n", 4) && !memmem(data, size, "\n\n", 2))
        return 0;
    for (const uint8_t *p = data; (p = memmem(p, size - (size_t)(p - data), " HTTP/1.", 8));
         p += 8)
        count++;
    return count ? count : 1;
}

/* Reads answers until the server closes the connection, as many came as
 * the input asked for, or none comes for 50 ms: an incomplete request is
 * never answered (libmicrohttpd does not close a half-closed connection),
 * and a slow handler (password hashing) may finish answering nobody.
 * Waiting on whole answers rather than on a timeout is what makes this
 * target run tens of executions a second instead of five. */
static void read_answers(int fd, size_t expected)
{
    static char buf[1 << 16];
    size_t n = 0, answers = 0;

    while (answers < expected) {
        struct pollfd pfd = {fd, POLLIN, 0};
        size_t len;
        ssize_t got;
        if (poll(&pfd, 1, 50) <= 0)
            return;
        got = recv(fd, buf + n, sizeof(buf) - n, 0);
        if (got <= 0)
            return;
        n += (size_t)got;
        while ((len = answer_length(buf, n)) > 0) {
            memmove(buf, buf + len, n - len);
            n -= len;
            answers++;
        }
        if (n == sizeof(buf))
            n = 0; /* an answer bigger than the buffer: drop what came */
    }
}

void fuzz_server_send(const uint8_t *data, size_t size)
{
    static int ready;
    struct sockaddr_in a;
    int fd;

    if (!ready) {
        setup();
        ready = 1;
    }
    if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
        return;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
        size_t off = 0;
        while (off < size) {
            ssize_t n = send(fd, data + off, size - off, MSG_NOSIGNAL);
            if (n <= 0)
                break;
            off += (size_t)n;
        }
        /* The request is all there is: the server sees its end. */
        shutdown(fd, SHUT_WR);
        read_answers(fd, requests_in(data, size));
    }
    close(fd);
}
