/* The console's files, embedded into the binary at build time. */
#include <string.h>

#include "http/handlers.h"
#include "util/embed.h"
#include "util/error.h"

extern const pat_embedded_file pat_web_assets[];

/* No inline script or style anywhere in the console, so the policy can
 * forbid them; no framing (clickjacking). */
#define CSP                                                                                       \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "       \
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "                \
    "frame-ancestors 'none'"

static const char *content_type(const char *name)
{
    const char *dot = strrchr(name, '.');

    if (dot && strcmp(dot, ".js") == 0)
        return "text/javascript; charset=utf-8";
    if (dot && strcmp(dot, ".css") == 0)
        return "text/css; charset=utf-8";
    return "text/html; charset=utf-8";
}

extern const pat_embedded_file pat_openapi[];

int pat_h_openapi(pat_req *r)
{
    pat_respond_raw(r, 200,
                    MHD_create_response_from_buffer(pat_openapi[0].size, (void *)pat_openapi[0].data,
                                                    MHD_RESPMEM_PERSISTENT),
                    "application/json");
    return PAT_OK;
}

int pat_h_static(pat_req *r)
{
    const char *name = strcmp(r->path, "/") == 0 ? "index.html" : r->path + 1;

    for (const pat_embedded_file *f = pat_web_assets; f->name; f++) {
        if (strcmp(f->name, name) != 0)
            continue;
        pat_respond_raw(r, 200,
                        MHD_create_response_from_buffer(f->size, (void *)f->data,
                                                        MHD_RESPMEM_PERSISTENT),
                        content_type(f->name));
        pat_respond_header(r, "Content-Security-Policy", CSP);
        pat_respond_header(r, "X-Frame-Options", "DENY");
        pat_respond_header(r, "Referrer-Policy", "no-referrer");
        return PAT_OK;
    }
    return pat_error_set(PAT_ENOTFOUND, NULL, "no such file");
}
