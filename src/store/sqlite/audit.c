/* SQLite backend: the audit log. */
#include <string.h>

#include "store/sqlite/sqlite_int.h"
#include "util/error.h"

int sq_audit_append(pat_store *s, pat_audit_rec *r)
{
    return sq_run(sq_of(s), NULL, &r->id,
                  "INSERT INTO audit (at, actor_user_id, actor_token_id, action, target, ip, "
                  "user_agent, detail, org_id) VALUES (?,?,?,?,?,?,?,?,?)",
                  "innttttti", r->at, r->actor_user_id, r->actor_token_id, r->action, r->target,
                  r->ip, r->user_agent, r->detail, r->org_id);
}

static int read_audit(sqlite3_stmt *q, void *dst)
{
    pat_audit_rec *r = dst;
    int rc;

    memset(r, 0, sizeof(*r));
    r->id = sqlite3_column_int64(q, 0);
    r->at = sqlite3_column_int64(q, 1);
    r->actor_user_id = sqlite3_column_int64(q, 2);
    r->actor_token_id = sqlite3_column_int64(q, 3);
    if ((rc = sq_text(q, 4, r->action, sizeof(r->action))) < 0 ||
        (rc = sq_text(q, 5, r->target, sizeof(r->target))) < 0 ||
        (rc = sq_text(q, 6, r->ip, sizeof(r->ip))) < 0 ||
        (rc = sq_text(q, 7, r->user_agent, sizeof(r->user_agent))) < 0 ||
        (rc = sq_text(q, 8, r->detail, sizeof(r->detail))) < 0)
        return rc;
    r->org_id = sqlite3_column_int64(q, 9);
    return PAT_OK;
}

int sq_audit_list(pat_store *s, const pat_audit_filter *f, pat_audit_rec **out, size_t *n)
{
    return sq_list(sq_of(s), read_audit, sizeof(pat_audit_rec), (void **)out, n,
                   "SELECT id, at, actor_user_id, actor_token_id, action, target, ip, "
                   "user_agent, detail, org_id FROM audit WHERE (?1 = 0 OR actor_user_id = ?1) "
                   "AND (?2 = '' OR action = ?2) AND at >= ?3 AND (?4 = 0 OR id < ?4) "
                   "AND (?6 = 0 OR org_id = ?6 OR actor_user_id IN "
                   "(SELECT user_id FROM org_members WHERE org_id = ?6)) "
                   "ORDER BY id DESC LIMIT ?5",
                   "itiiii", f->user_id, f->action ? f->action : "", f->since, f->before_id,
                   (int64_t)f->limit, f->org_id);
}

int sq_audit_prune(pat_store *s, int64_t before)
{
    return sq_run(sq_of(s), NULL, NULL, "DELETE FROM audit WHERE at < ?", "i", before);
}
