/* libFuzzer target: a whole HTTP request, as bytes on a real socket,
 * through libmicrohttpd, the framing checks, the router and every handler,
 * over a real SQLite store in a temporary directory. The server key is
 * fixed, so the committed corpus can carry a valid token (FUZZ_TOKEN, with
 * every scope) and reach the authenticated handlers. */
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <sodium.h>

#include "http/server.h"
#include "service/service.h"
#include "store/store.h"
#include "util/error.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* pat_ + 32 base62 + the CRC32 of those in 6 base62 (DESIGN.md). */
#define FUZZ_TOKEN "pat_FuzzFuzzFuzzFuzzFuzzFuzzFuzzFuzz0SisDX"

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
    snprintf(t->scopes, sizeof(t->scopes), "tokens introspect admin");
    pat_token_hash(t->hash, so.key, FUZZ_TOKEN, strlen(FUZZ_TOKEN));
    pat_token_display(t->prefix, FUZZ_TOKEN);
    if (pat_store_token_insert(store, t) < 0)
        abort();
    free(t);
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    struct sockaddr_in a;
    struct timeval tv = {0, 200000};
    char buf[4096];
    int fd;

    if (!ready) {
        setup();
        ready = 1;
    }
    if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
        return 0;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
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
        while (recv(fd, buf, sizeof(buf), 0) > 0)
            ;
    }
    close(fd);
    return 0;
}
