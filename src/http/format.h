#ifndef PAT_HTTP_FORMAT_H
#define PAT_HTTP_FORMAT_H
#include <jansson.h>

#include "core/text.h"
#include "service/service.h"

/* The token object of API.md for t at now (new reference). Never holds the
 * value or the hash. */
json_t *pat_format_token(const pat_token_rec *t, int64_t now);

/* The rotation object of t (API.md), or null when r is NULL. */
json_t *pat_format_rotation(const pat_token_rec *t, const pat_rotation_rec *r);

/* One scope a token used (scopes_used). */
json_t *pat_format_scope_use(const pat_scope_use *u);

/* One client of a token (its detail view). */
json_t *pat_format_client(const pat_token_client *c);

/* An RFC 3339 string, or JSON null for 0 (new reference). */
json_t *pat_format_time(int64_t t);


/* The public view of a signed-in person (new reference). */
json_t *pat_format_principal(const pat_principal *p);

#endif
