#ifndef PAT_UTIL_DECIMAL_H
#define PAT_UTIL_DECIMAL_H
#include <stddef.h>
#include <stdint.h>

/* Room for any pat_decimal output (sign, 20 digits), its terminator included. */
#define PAT_DECIMAL_MAX 22

/* Writes v in decimal, zero-padded to at least width digits (at most 20),
 * into out (outsz > 0), cut to fit and always terminated; returns the bytes
 * written. The cheap form of snprintf("%0*lld") for hot paths. */
size_t pat_decimal(char *out, size_t outsz, int64_t v, int width);

#endif
