/* PostgreSQL backend: the audit log. */
#include <string.h>

#include "store/postgres/pg_int.h"
#include "util/error.h"

int pg_audit_append(pat_store *s, pat_audit_rec *r)
{
    return pg_one(pg_of(s), pg_read_int64, &r->id,
                  "INSERT INTO audit (at, actor_user_id, actor_token_id, action, target, ip, "
                  "user_agent, detail, org_id) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) RETURNING id",
                  "innttttti", r->at, r->actor_user_id, r->actor_token_id, r->action, r->target,
                  r->ip, r->user_agent, r->detail, r->org_id);
}

static int read_audit(const PGresult *res, int row, void *dst)
{
    pat_audit_rec *r = dst;
    int rc;

    memset(r, 0, sizeof(*r));
    r->id = pg_int(res, row, 0);
    r->at = pg_int(res, row, 1);
    r->actor_user_id = pg_int(res, row, 2);
    r->actor_token_id = pg_int(res, row, 3);
    if ((rc = pg_text(res, row, 4, r->action, sizeof(r->action))) < 0 ||
        (rc = pg_text(res, row, 5, r->target, sizeof(r->target))) < 0 ||
        (rc = pg_text(res, row, 6, r->ip, sizeof(r->ip))) < 0 ||
        (rc = pg_text(res, row, 7, r->user_agent, sizeof(r->user_agent))) < 0 ||
        (rc = pg_text(res, row, 8, r->detail, sizeof(r->detail))) < 0)
        return rc;
    r->org_id = pg_int(res, row, 9);
    return PAT_OK;
}

int pg_audit_list(pat_store *s, const pat_audit_filter *f, pat_audit_rec **out, size_t *n)
{
    return pg_list(pg_of(s), read_audit, sizeof(pat_audit_rec), (void **)out, n,
                   "SELECT id, at, actor_user_id, actor_token_id, action, target, ip, "
                   "user_agent, detail, org_id FROM audit WHERE ($1 = 0 OR actor_user_id = $1) "
                   "AND ($2 = '' OR action = $2) AND at >= $3 AND ($4 = 0 OR id < $4) "
                   "AND ($6 = 0 OR org_id = $6 OR actor_user_id IN "
                   "(SELECT user_id FROM org_members WHERE org_id = $6)) "
                   "ORDER BY id DESC LIMIT $5",
                   "itiiii", f->user_id, f->action ? f->action : "", f->since, f->before_id,
                   (int64_t)f->limit, f->org_id);
}

int pg_audit_prune(pat_store *s, int64_t before)
{
    return pg_run(pg_of(s), NULL, "DELETE FROM audit WHERE at < $1", "i", before);
}
