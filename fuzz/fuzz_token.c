/* libFuzzer target: the token format check, which sees every credential. */
#include <stddef.h>
#include <stdint.h>

#include "core/token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pat_token_check_format((const char *)data, size, "pat_");
    pat_token_check_format((const char *)data, size, "acme_");
    return 0;
}
