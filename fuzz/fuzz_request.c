/* libFuzzer target: a whole HTTP request, as bytes on a real socket,
 * through libmicrohttpd, the framing checks, the router and every handler,
 * over a real SQLite store (fuzz_server.c). */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_server_send(data, size);
    return 0;
}
