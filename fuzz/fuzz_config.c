/* libFuzzer target: the configuration file parser. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static pat_config *cfg;

    if (!cfg)
        cfg = malloc(sizeof(*cfg));
    pat_config_defaults(cfg);
    pat_config_parse(cfg, (const char *)data, size);
    return 0;
}
