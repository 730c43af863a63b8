#ifndef PAT_HTTP_GUARD_H
#define PAT_HTTP_GUARD_H
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/cidr.h"

/* What keeps one client from taking patd from everyone else:
 *  - a cap on the connections one address holds open (trusted proxies may
 *    hold three quarters of all connections, so nginx's keep-alive pool is
 *    never refused, yet cannot starve a direct client either);
 *  - a deadline for each request as a whole: its request line, headers and
 *    body must arrive within request_deadline seconds of the previous
 *    answer (or of the connection's opening), however the bytes trickle in.
 *    libmicrohttpd's own timeout is idle time, which every byte restarts.
 * A watchdog thread shuts the socket of a connection past its deadline;
 * libmicrohttpd then closes it as a client that went away. */
typedef struct pat_guard pat_guard;

/* A connection the guard follows (owned by the caller, registered from
 * opened to closed). */
typedef struct pat_guard_conn {
    struct pat_guard_conn *prev, *next;
    int fd;
    char addr[64];
    bool trusted;
    _Atomic int64_t deadline_us; /* monotonic; INT64_MAX while answering */
} pat_guard_conn;

/* per_address 0 = no cap; total = the server's connection limit. Owned by
 * the caller; starts the watchdog thread. NULL if it cannot. */
pat_guard *pat_guard_new(int per_address, unsigned total, const pat_cidr_set *trusted,
                         int request_deadline_seconds, int idle_seconds);
void pat_guard_free(pat_guard *g);

/* The text of a peer address (IPv4 or IPv6; "" otherwise or for NULL):
 * the key the guard counts connections by, and the connection's peer. */
void pat_guard_addr_text(const struct sockaddr *sa, char out[64]);

/* libmicrohttpd's accept policy: false when the address holds its share. */
bool pat_guard_admit(pat_guard *g, const struct sockaddr *addr);

/* A connection opened (fd, its peer address as text) / closed. */
void pat_guard_opened(pat_guard *g, pat_guard_conn *c, int fd, const char *addr);
void pat_guard_closed(pat_guard *g, pat_guard_conn *c);

/* The request on c has been received whole (it is being answered) / its
 * answer has gone out (the next request's clock starts). */
void pat_guard_answering(pat_guard_conn *c);
void pat_guard_answered(pat_guard *g, pat_guard_conn *c);

/* Before the server stops: shuts every connection that is not being
 * answered (idle, or still receiving), again as each answer goes out,
 * until none is open or timeout_ms has passed. True when none is open.
 * libmicrohttpd 0.9.75 dereferences a NULL response when it meets a
 * malformed request on a connection while it stops (MHD_queue_response
 * answers yes without queueing during shutdown): stopping with no
 * connection left never gets there, and requests under way finish. */
bool pat_guard_drain(pat_guard *g, int timeout_ms);

/* Connections shut for missing their deadline, and refused at accept. */
uint64_t pat_guard_dropped(const pat_guard *g);
uint64_t pat_guard_refused(const pat_guard *g);

#endif
