/* The server the request-level fuzz targets talk to: libmicrohttpd, the
 * framing checks, the router and every handler, over a real SQLite store
 * in a temporary directory, on a real socket. The server key is fixed, so
 * inputs can carry a valid token (FUZZ_TOKEN, with every scope) and reach
 * the authenticated handlers. */
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
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
static char *dir;

/* A fresh server (new store) after this many inputs: what inputs create
 * (tokens, people, audit events) would otherwise make every later input
 * slower, and a long run crawl. */
#define INPUTS_PER_SERVER 20000

/* Everything stopped and freed: before a fresh server, and when the
 * process ends (the replay under valgrind counts what is left). */
static void teardown(void)
{
    pat_http_stop(srv);
    pat_service_free(svc);
    pat_store_close(store);
    srv = NULL;
    svc = NULL;
    store = NULL;
    if (dir) {
        static const char *const files[] = {"f.db", "f.db-wal", "f.db-shm", "f.db-journal"};
        char path[128];
        for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
            snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
            unlink(path);
        }
        rmdir(dir);
        dir = NULL;
    }
}

static void setup(void)
{
    /* In memory where there is a tmpfs: a commit's fsync is not what is
     * being fuzzed. */
    static char shm_dir[32], tmp_dir[32];
    char url[128];
    pat_service_options so;
    pat_http_options ho;
    pat_token_rec *t = calloc(1, sizeof(*t));
    pat_user u;

    signal(SIGPIPE, SIG_IGN);
    snprintf(shm_dir, sizeof(shm_dir), "/dev/shm/patd-fuzz-XXXXXX");
    snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/patd-fuzz-XXXXXX");
    if (sodium_init() < 0 || !((dir = mkdtemp(shm_dir)) || (dir = mkdtemp(tmp_dir))))
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
 * none when no header section ends in it (nothing is answered then). An
 * over-count (" HTTP/1." inside a body) costs one short wait. */
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

/* Whether the first request's body, by its Content-Length, is cut short:
 * libmicrohttpd then waits for the rest (it never sees the half-close), so
 * an answer comes only if the server refuses the request early. */
static bool body_cut_short(const uint8_t *data, size_t size)
{
    const uint8_t *end = memmem(data, size, "\r\n\r\n", 4);
    size_t head;

    if (!end)
        return false;
    head = (size_t)(end - data) + 4;
    for (const uint8_t *p = data; p + 15 < end; p++) {
        if (p[0] == '\n' && strncasecmp((const char *)p + 1, "Content-Length:", 15) == 0) {
            char num[24];
            size_t n = 0;
            const uint8_t *q = p + 16;
            while (q < end && *q == ' ')
                q++;
            while (q < end && *q >= '0' && *q <= '9' && n < sizeof(num) - 1)
                num[n++] = (char)*q++;
            num[n] = '\0';
            return n > 0 && strtoull(num, NULL, 10) > size - head;
        }
    }
    return false;
}

/* Reads answers until the server closes the connection, as many came as
 * the input asked for, or none comes for first_ms (before the first
 * answer) or 5 ms (after it: pipelined requests are answered one after the
 * other, and a miscounted one is not waited for long): an incomplete
 * request is never answered (libmicrohttpd does not close a half-closed
 * connection). Waiting on whole answers rather than on a timeout is what
 * makes this target run hundreds of executions a second instead of five;
 * the short waits after an answer and for a cut body, most of the rest. */
static unsigned first_status; /* of the last input's first answer; 0: none */

static void read_answers(int fd, size_t expected, int first_ms)
{
    static char buf[1 << 16];
    size_t n = 0, answers = 0;

    first_status = 0;
    while (answers < expected) {
        struct pollfd pfd = {fd, POLLIN, 0};
        size_t len;
        ssize_t got;
        if (poll(&pfd, 1, answers ? 5 : first_ms) <= 0)
            return;
        got = recv(fd, buf + n, sizeof(buf) - n, 0);
        if (got <= 0)
            return;
        n += (size_t)got;
        while ((len = answer_length(buf, n)) > 0) {
            if (answers == 0 && len > 12)
                first_status = (unsigned)strtoul(buf + 9, NULL, 10);
            memmove(buf, buf + len, n - len);
            n -= len;
            answers++;
        }
        if (n == sizeof(buf))
            n = 0; /* an answer bigger than the buffer: drop what came */
    }
}

static unsigned long inputs; /* sent to the current server */
static bool started, restart;

void fuzz_server_send(const uint8_t *data, size_t size)
{
    struct sockaddr_in a;
    int fd;

    if (!started || restart || inputs >= INPUTS_PER_SERVER) {
        if (started)
            teardown();
        setup();
        /* After the first setup: atexit runs in reverse, so the server's
         * threads end before OpenSSL's cleanup, which would otherwise
         * leave their per-thread state behind. */
        if (!started)
            atexit(teardown);
        started = true;
        restart = false;
        inputs = 0;
    }
    inputs++;
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
        read_answers(fd, requests_in(data, size), body_cut_short(data, size) ? 5 : 15);
    }
    /* Reset, not closed: a closed socket waits in TIME_WAIT, and with tens
     * of thousands of them each connect() searched longer for a free port
     * (a quarter of the CPU time after a minute). */
    {
        struct linger reset = {1, 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
    }
    close(fd);
}

unsigned fuzz_server_status(void)
{
    return first_status;
}

void fuzz_server_restart(void)
{
    /* At most once per thousand inputs: an input that keeps deleting the
     * credential must not make every input pay for a new server. */
    if (inputs > 1000)
        restart = true;
}
