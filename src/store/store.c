/* Dispatch from the pat_store_* interface to the backend's vtable. */
#include <string.h>

#include "store/store_int.h"
#include "util/error.h"
#include "util/metrics.h"

int pat_store_open(pat_store **out, const char *url)
{
    if (strncmp(url, "sqlite:", 7) == 0)
        return pat_store_sqlite_open(out, url + 7);
    if (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0)
        return pat_store_postgres_open(out, url);
    if (strstr(url, "://"))
        return pat_error_set(PAT_EINVAL, "db", "unknown database URL scheme");
    return pat_store_sqlite_open(out, url);
}

void pat_store_close(pat_store *s)
{
    if (s)
        s->vt->close(s);
}

int pat_store_ping(pat_store *s)
{
    return s->vt->ping(s);
}

int pat_store_begin(pat_store *s)
{
    return s->vt->begin(s);
}

int pat_store_commit(pat_store *s)
{
    return s->vt->commit(s);
}

int pat_store_rollback(pat_store *s)
{
    return s->vt->rollback(s);
}

int pat_store_changes_last(pat_store *s, int64_t *seq)
{
    return s->vt->changes_last(s, seq);
}

int pat_store_changes_since(pat_store *s, int64_t after, size_t limit, pat_change **out,
                            size_t *n)
{
    return s->vt->changes_since(s, after, limit, out, n);
}

int pat_store_changes_prune(pat_store *s, int64_t before)
{
    pat_metrics_store_write();
    return s->vt->changes_prune(s, before);
}

bool pat_store_shared(const pat_store *s)
{
    return s->vt->shared;
}

int pat_store_changes_wait(pat_store *s, int timeout_ms)
{
    return s->vt->changes_wait(s, timeout_ms);
}

int pat_store_user_create(pat_store *s, pat_user *u)
{
    pat_metrics_store_write();
    return s->vt->user_create(s, u);
}

int pat_store_user_get(pat_store *s, int64_t id, pat_user *out)
{
    return s->vt->user_get(s, id, out);
}

int pat_store_user_get_by_name(pat_store *s, const char *username, pat_user *out)
{
    return s->vt->user_get_by_name(s, username, out);
}

int pat_store_user_count(pat_store *s, int64_t *out)
{
    return s->vt->user_count(s, out);
}

int pat_store_token_insert(pat_store *s, pat_token_rec *t)
{
    pat_metrics_store_write();
    return s->vt->token_insert(s, t);
}

int pat_store_token_insert_many(pat_store *s, pat_token_rec *t, size_t n)
{
    pat_metrics_store_write();
    return s->vt->token_insert_many(s, t, n);
}

int pat_store_token_get(pat_store *s, int64_t id, pat_token_rec *out)
{
    return s->vt->token_get(s, id, out);
}

int pat_store_token_get_by_hash(pat_store *s, const uint8_t hash[PAT_HASH_LEN], int64_t now,
                                pat_token_rec *out, int *is_previous)
{
    return s->vt->token_get_by_hash(s, hash, now, out, is_previous);
}

int pat_store_token_hashes(pat_store *s, int64_t now,
                           void (*fn)(void *arg, const uint8_t hash[PAT_HASH_LEN]), void *arg,
                           size_t *n)
{
    return s->vt->token_hashes(s, now, fn, arg, n);
}

int pat_store_token_list(pat_store *s, int64_t user_id, pat_token_rec **out, size_t *n)
{
    return s->vt->token_list(s, user_id, out, n);
}

int pat_store_token_update(pat_store *s, pat_token_rec *t, unsigned fields)
{
    pat_metrics_store_write();
    return s->vt->token_update(s, t, fields);
}

int pat_store_token_delete(pat_store *s, int64_t user_id, int64_t id)
{
    pat_metrics_store_write();
    return s->vt->token_delete(s, user_id, id);
}

int pat_store_token_delete_many(pat_store *s, int64_t user_id, const int64_t *ids, size_t n,
                                int64_t *deleted, size_t *ndeleted)
{
    pat_metrics_store_write();
    return s->vt->token_delete_many(s, user_id, ids, n, deleted, ndeleted);
}

int pat_store_token_touch_many(pat_store *s, const pat_token_touch *touches, size_t n)
{
    pat_metrics_store_write();
    return s->vt->token_touch_many(s, touches, n);
}

int pat_store_session_insert(pat_store *s, const pat_session_rec *r)
{
    pat_metrics_store_write();
    return s->vt->session_insert(s, r);
}

int pat_store_session_get(pat_store *s, const uint8_t id_hash[PAT_HASH_LEN], pat_session_rec *out)
{
    return s->vt->session_get(s, id_hash, out);
}

int pat_store_session_delete(pat_store *s, const uint8_t id_hash[PAT_HASH_LEN])
{
    pat_metrics_store_write();
    return s->vt->session_delete(s, id_hash);
}

int pat_store_session_set_confirmed(pat_store *s, const uint8_t id_hash[PAT_HASH_LEN],
                                    int64_t confirmed_until)
{
    pat_metrics_store_write();
    return s->vt->session_set_confirmed(s, id_hash, confirmed_until);
}

int pat_store_setting_get(pat_store *s, const char *key, char *out, size_t outsz)
{
    return s->vt->setting_get(s, key, out, outsz);
}

int pat_store_setting_set(pat_store *s, const char *key, const char *value)
{
    pat_metrics_store_write();
    return s->vt->setting_set(s, key, value);
}

int pat_store_audit_append(pat_store *s, pat_audit_rec *r)
{
    pat_metrics_store_write();
    return s->vt->audit_append(s, r);
}

int pat_store_user_list(pat_store *s, pat_user **out, size_t *n)
{
    return s->vt->user_list(s, out, n);
}

int pat_store_user_update(pat_store *s, pat_user *u)
{
    pat_metrics_store_write();
    return s->vt->user_update(s, u);
}

int pat_store_token_list_exceeding(pat_store *s, int never_too, int64_t latest, size_t limit,
                                   pat_token_rec **out, size_t *n)
{
    return s->vt->token_list_exceeding(s, never_too, latest, limit, out, n);
}

int pat_store_session_delete_user(pat_store *s, int64_t user_id,
                                  const uint8_t keep[PAT_HASH_LEN])
{
    pat_metrics_store_write();
    return s->vt->session_delete_user(s, user_id, keep);
}

int pat_store_audit_list(pat_store *s, const pat_audit_filter *f, pat_audit_rec **out, size_t *n)
{
    return s->vt->audit_list(s, f, out, n);
}

int pat_store_audit_prune(pat_store *s, int64_t before)
{
    pat_metrics_store_write();
    return s->vt->audit_prune(s, before);
}

int pat_store_session_prune(pat_store *s, int64_t now)
{
    pat_metrics_store_write();
    return s->vt->session_prune(s, now);
}

int pat_store_key_insert(pat_store *s, const pat_key_rec *k)
{
    pat_metrics_store_write();
    return s->vt->key_insert(s, k);
}

int pat_store_key_list(pat_store *s, pat_key_rec **out, size_t *n)
{
    return s->vt->key_list(s, out, n);
}

int pat_store_key_delete(pat_store *s, const char *kid)
{
    pat_metrics_store_write();
    return s->vt->key_delete(s, kid);
}

int pat_store_outbox_add(pat_store *s, pat_outbox_rec *m)
{
    pat_metrics_store_write();
    return s->vt->outbox_add(s, m);
}

int pat_store_outbox_claim(pat_store *s, int64_t now, int64_t lease_until, size_t limit,
                           pat_outbox_rec **out, size_t *n)
{
    pat_metrics_store_write();
    return s->vt->outbox_claim(s, now, lease_until, limit, out, n);
}

int pat_store_outbox_mark(pat_store *s, int64_t id, pat_mail_status status, int attempts,
                          int64_t next_try_at, int64_t sent_at, const char *last_error)
{
    pat_metrics_store_write();
    return s->vt->outbox_mark(s, id, status, attempts, next_try_at, sent_at, last_error);
}

int pat_store_outbox_retry_all(pat_store *s, int64_t now)
{
    pat_metrics_store_write();
    return s->vt->outbox_retry_all(s, now);
}

int pat_store_outbox_counts(pat_store *s, pat_outbox_counts *out)
{
    return s->vt->outbox_counts(s, out);
}

int pat_store_outbox_list(pat_store *s, size_t limit, pat_outbox_rec **out, size_t *n)
{
    return s->vt->outbox_list(s, limit, out, n);
}

int pat_store_client_seen(pat_store *s, const pat_token_client *c, pat_client_history *before)
{
    pat_client_history ignored;

    return pat_store_clients_seen(s, c, 1, before ? before : &ignored);
}

int pat_store_clients_seen(pat_store *s, const pat_token_client *c, size_t n,
                           pat_client_history *before)
{
    pat_metrics_store_write();
    return s->vt->clients_seen(s, c, n, before);
}

int pat_store_client_alerted(pat_store *s, int64_t token_id, const char *network,
                             const char *product, int64_t at)
{
    pat_metrics_store_write();
    return s->vt->client_alerted(s, token_id, network, product, at);
}

int pat_store_client_list(pat_store *s, int64_t token_id, size_t limit, pat_token_client **out,
                          size_t *n)
{
    return s->vt->client_list(s, token_id, limit, out, n);
}

int pat_store_clients_prune(pat_store *s)
{
    pat_metrics_store_write();
    return s->vt->clients_prune(s);
}

int pat_store_rotation_put(pat_store *s, const pat_rotation_rec *r)
{
    pat_metrics_store_write();
    return s->vt->rotation_put(s, r);
}

int pat_store_rotation_get(pat_store *s, int64_t token_id, pat_rotation_rec *out)
{
    return s->vt->rotation_get(s, token_id, out);
}

int pat_store_rotation_delete(pat_store *s, int64_t token_id)
{
    pat_metrics_store_write();
    return s->vt->rotation_delete(s, token_id);
}

int pat_store_rotation_list(pat_store *s, pat_rotation_rec **out, size_t *n)
{
    return s->vt->rotation_list(s, out, n);
}

int pat_store_rotation_touch_many(pat_store *s, const pat_token_touch *touches, size_t n)
{
    pat_metrics_store_write();
    return s->vt->rotation_touch_many(s, touches, n);
}

int pat_store_rotations_prune(pat_store *s, int64_t now)
{
    pat_metrics_store_write();
    return s->vt->rotations_prune(s, now);
}

int pat_store_scope_uses_add(pat_store *s, const pat_scope_use *u, size_t n, bool *fresh)
{
    pat_metrics_store_write();
    return s->vt->scope_uses_add(s, u, n, fresh);
}

int pat_store_scope_uses_list(pat_store *s, int64_t user_id, int64_t token_id,
                              pat_scope_use **out, size_t *n)
{
    return s->vt->scope_uses_list(s, user_id, token_id, out, n);
}

int pat_store_scope_uses_prune(pat_store *s)
{
    pat_metrics_store_write();
    return s->vt->scope_uses_prune(s);
}

int pat_store_tokens_to_remind(pat_store *s, int64_t after, int64_t until, int64_t threshold,
                               size_t limit, pat_token_rec **out, size_t *n)
{
    return s->vt->tokens_to_remind(s, after, until, threshold, limit, out, n);
}

int pat_store_reminder_add(pat_store *s, int64_t token_id, int64_t threshold, int64_t at)
{
    pat_metrics_store_write();
    return s->vt->reminder_add(s, token_id, threshold, at);
}

const char *pat_mail_status_name(pat_mail_status s)
{
    return s == PAT_MAIL_SENT ? "sent" : s == PAT_MAIL_FAILED ? "failed" : "pending";
}

pat_mail_status pat_mail_status_parse(const char *name)
{
    return strcmp(name, "sent") == 0     ? PAT_MAIL_SENT
           : strcmp(name, "failed") == 0 ? PAT_MAIL_FAILED
                                         : PAT_MAIL_PENDING;
}

/* ---- organizations ---- */

int pat_store_org_create(pat_store *s, pat_org *o)
{
    pat_metrics_store_write();
    return s->vt->org_create(s, o);
}

int pat_store_org_get(pat_store *s, const char *slug, pat_org *out)
{
    return s->vt->org_get(s, slug, out);
}

int pat_store_org_list(pat_store *s, pat_org **out, size_t *n)
{
    return s->vt->org_list(s, out, n);
}

int pat_store_org_update(pat_store *s, pat_org *o)
{
    pat_metrics_store_write();
    return s->vt->org_update(s, o);
}

int pat_store_member_add(pat_store *s, const pat_membership *m)
{
    pat_metrics_store_write();
    return s->vt->member_add(s, m);
}

int pat_store_member_update(pat_store *s, const pat_membership *m)
{
    pat_metrics_store_write();
    return s->vt->member_update(s, m);
}

int pat_store_member_remove(pat_store *s, int64_t org_id, int64_t user_id)
{
    pat_metrics_store_write();
    return s->vt->member_remove(s, org_id, user_id);
}

int pat_store_member_get(pat_store *s, int64_t org_id, int64_t user_id, pat_membership *out)
{
    return s->vt->member_get(s, org_id, user_id, out);
}

int pat_store_member_list(pat_store *s, int64_t org_id, int64_t user_id, pat_membership **out,
                          size_t *n)
{
    return s->vt->member_list(s, org_id, user_id, out, n);
}

int pat_store_token_list_exceeding_in(pat_store *s, int64_t org_id, int never_too, int64_t latest,
                                      size_t limit, pat_token_rec **out, size_t *n)
{
    return s->vt->token_list_exceeding_in(s, org_id, never_too, latest, limit, out, n);
}

int pat_store_edit_refused(int lookup_rc, const char *what)
{
    if (lookup_rc == PAT_ENOTFOUND)
        return pat_error_set(PAT_ENOTFOUND, NULL, "no such %s", what);
    if (lookup_rc == PAT_OK)
        return pat_error_set(PAT_ECONFLICT, NULL, "the %s changed meanwhile; reload and try again",
                             what);
    return lookup_rc;
}
