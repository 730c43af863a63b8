#ifndef PAT_FUZZ_SERVER_H
#define PAT_FUZZ_SERVER_H
#include <stddef.h>
#include <stdint.h>

/* pat_ + 32 base62 + the CRC32 of those in 6 base62 (DESIGN.md): a token
 * of the fuzz server's superuser, with every scope. */
#define FUZZ_TOKEN "pat_FuzzFuzzFuzzFuzzFuzzFuzzFuzzFuzz0SisDX"

/* Sends data (one or more HTTP requests, as bytes) to the fuzz server on a
 * new connection, started on first use and stopped at exit, and reads its
 * answers until they are all there or it closes. */
void fuzz_server_send(const uint8_t *data, size_t size);

/* The status of the last input's first answer (0: none came). */
unsigned fuzz_server_status(void);

/* Asks for a fresh server (and store) before the next input: for a target
 * whose inputs need the credential, once an input has revoked it (a bulk
 * delete of token 1, say). Honoured at most once per thousand inputs. */
void fuzz_server_restart(void);

#endif
