/* libFuzzer target: the JSON body of every endpoint that takes one. The
 * first byte picks the endpoint, the rest is its body, sent as a well
 * framed request with a valid token (fuzz_server.c): what reaches the
 * strict JSON parser, each handler's typed readers and the service's
 * validation, without the fuzzer having to find HTTP first. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Token 2 and person 2 are what inputs act on (fuzz_server.c), so that
 * the credential, token 1 of person 1, survives most of them. */
static const char *const endpoints[] = {
    "POST /api/v1/tokens",
    "PATCH /api/v1/tokens/2",
    "POST /api/v1/tokens/2/regenerate",
    "POST /api/v1/tokens/2/copy",
    "POST /api/v1/tokens/2/disable",
    "POST /api/v1/tokens/2/retire-previous",
    "POST /api/v1/tokens/2/exchange",
    "POST /api/v1/tokens/bulk-delete",
    "POST /api/v1/session",
    "POST /api/v1/session/confirm",
    "POST /api/v1/session/cli-token",
    "PUT /api/v1/session/password",
    "PATCH /api/v1/me",
    "PUT /api/v1/policy",
    "POST /api/v1/policy/preview",
    "POST /api/v1/users",
    "PATCH /api/v1/users/2",
    "POST /api/v1/users/2/tokens/revoke-all",
    "POST /api/v1/orgs",
    "PATCH /api/v1/orgs/default",
    "POST /api/v1/orgs/default/members",
    "PATCH /api/v1/orgs/default/members/2",
    "PUT /api/v1/orgs/default/policy",
    "POST /api/v1/orgs/default/members/2/tokens/revoke-all",
    "POST /api/v1/introspect",
    "POST /api/v1/credentials/revoke",
    "POST /api/v1/keys/rotate",
    "POST /api/v1/outbox/retry",
};
#define NENDPOINTS (sizeof(endpoints) / sizeof(endpoints[0]))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char req[70000];
    const char *e;
    const char *space;
    int head;

    if (size < 1 || size > 65536)
        return 0;
    e = endpoints[data[0] % NENDPOINTS];
    space = strchr(e, ' ');
    head = snprintf(req, sizeof(req),
                    "%.*s %s HTTP/1.1\r\nHost: fuzz\r\nAuthorization: Bearer " FUZZ_TOKEN
                    "\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                    (int)(space - e), e, space + 1, size - 1);
    if (head < 0 || (size_t)head + size - 1 > sizeof(req))
        return 0;
    memcpy(req + head, data + 1, size - 1);
    fuzz_server_send((const uint8_t *)req, (size_t)head + size - 1);
    /* The credential is gone: later inputs would only meet 401. */
    if (fuzz_server_status() == 401)
        fuzz_server_restart();
    return 0;
}
