#ifndef PAT_STORE_STORE_INT_H
#define PAT_STORE_STORE_INT_H
#include "store/store.h"

/* What a backend implements; every function has the contract of the
 * pat_store_* function of the same name in store.h. Version 2: units of
 * work, versioned edits, the changes feed. */
typedef struct pat_store_vtable {
    int version;
    bool shared; /* other processes write to it as a rule (pat_store_shared) */
    void (*close)(pat_store *s);
    int (*ping)(pat_store *s);
    int (*begin)(pat_store *s);
    int (*commit)(pat_store *s);
    int (*rollback)(pat_store *s);
    int (*user_create)(pat_store *s, pat_user *u);
    int (*user_get)(pat_store *s, int64_t id, pat_user *out);
    int (*user_get_by_name)(pat_store *s, const char *username, pat_user *out);
    int (*user_count)(pat_store *s, int64_t *out);
    int (*user_list)(pat_store *s, pat_user **out, size_t *n);
    int (*user_update)(pat_store *s, pat_user *u);
    int (*org_create)(pat_store *s, pat_org *o);
    int (*org_get)(pat_store *s, const char *slug, pat_org *out);
    int (*org_list)(pat_store *s, pat_org **out, size_t *n);
    int (*org_update)(pat_store *s, pat_org *o);
    int (*member_add)(pat_store *s, const pat_membership *m);
    int (*member_update)(pat_store *s, const pat_membership *m);
    int (*member_remove)(pat_store *s, int64_t org_id, int64_t user_id);
    int (*member_get)(pat_store *s, int64_t org_id, int64_t user_id, pat_membership *out);
    int (*member_list)(pat_store *s, int64_t org_id, int64_t user_id, pat_membership **out,
                       size_t *n);
    int (*token_insert)(pat_store *s, pat_token_rec *t);
    int (*token_get)(pat_store *s, int64_t id, pat_token_rec *out);
    int (*token_insert_many)(pat_store *s, pat_token_rec *t, size_t n);
    int (*token_get_by_hash)(pat_store *s, const uint8_t hash[PAT_HASH_LEN], int64_t now,
                             pat_token_rec *out, int *is_previous);
    int (*token_list)(pat_store *s, int64_t user_id, pat_token_rec **out, size_t *n);
    int (*token_hashes)(pat_store *s, int64_t now,
                        void (*fn)(void *arg, const uint8_t hash[PAT_HASH_LEN]), void *arg,
                        size_t *n);
    int (*token_update)(pat_store *s, pat_token_rec *t, unsigned fields);
    int (*token_delete)(pat_store *s, int64_t user_id, int64_t id);
    int (*token_delete_many)(pat_store *s, int64_t user_id, const int64_t *ids, size_t n,
                             int64_t *deleted, size_t *ndeleted);
    int (*token_list_exceeding)(pat_store *s, int never_too, int64_t latest, size_t limit,
                                pat_token_rec **out, size_t *n);
    int (*token_list_exceeding_in)(pat_store *s, int64_t org_id, int never_too, int64_t latest,
                                   size_t limit, pat_token_rec **out, size_t *n);
    int (*token_touch_many)(pat_store *s, const pat_token_touch *touches, size_t n);
    int (*clients_seen)(pat_store *s, const pat_token_client *c, size_t n,
                        pat_client_history *before);
    int (*client_alerted)(pat_store *s, int64_t token_id, const char *network,
                          const char *product, int64_t at);
    int (*client_list)(pat_store *s, int64_t token_id, size_t limit, pat_token_client **out,
                       size_t *n);
    int (*clients_prune)(pat_store *s);
    int (*rotation_put)(pat_store *s, const pat_rotation_rec *r);
    int (*rotation_get)(pat_store *s, int64_t token_id, pat_rotation_rec *out);
    int (*rotation_delete)(pat_store *s, int64_t token_id);
    int (*rotation_list)(pat_store *s, pat_rotation_rec **out, size_t *n);
    int (*rotation_touch_many)(pat_store *s, const pat_token_touch *touches, size_t n);
    int (*rotations_prune)(pat_store *s, int64_t now);
    int (*scope_uses_add)(pat_store *s, const pat_scope_use *u, size_t n, bool *fresh);
    int (*scope_uses_list)(pat_store *s, int64_t user_id, int64_t token_id, pat_scope_use **out,
                           size_t *n);
    int (*scope_uses_prune)(pat_store *s);
    int (*session_insert)(pat_store *s, const pat_session_rec *r);
    int (*session_get)(pat_store *s, const uint8_t id_hash[PAT_HASH_LEN], pat_session_rec *out);
    int (*session_delete)(pat_store *s, const uint8_t id_hash[PAT_HASH_LEN]);
    int (*session_set_confirmed)(pat_store *s, const uint8_t id_hash[PAT_HASH_LEN],
                                 int64_t confirmed_until);
    int (*session_prune)(pat_store *s, int64_t now);
    int (*session_delete_user)(pat_store *s, int64_t user_id, const uint8_t keep[PAT_HASH_LEN]);
    int (*setting_get)(pat_store *s, const char *key, char *out, size_t outsz);
    int (*setting_set)(pat_store *s, const char *key, const char *value);
    int (*changes_last)(pat_store *s, int64_t *seq);
    int (*changes_since)(pat_store *s, int64_t after, size_t limit, pat_change **out, size_t *n);
    int (*changes_prune)(pat_store *s, int64_t before);
    int (*changes_wait)(pat_store *s, int timeout_ms);
    int (*audit_append)(pat_store *s, pat_audit_rec *r);
    int (*audit_list)(pat_store *s, const pat_audit_filter *f, pat_audit_rec **out, size_t *n);
    int (*audit_prune)(pat_store *s, int64_t before);
    int (*key_insert)(pat_store *s, const pat_key_rec *k);
    int (*key_list)(pat_store *s, pat_key_rec **out, size_t *n);
    int (*key_delete)(pat_store *s, const char *kid);
    int (*tokens_to_remind)(pat_store *s, int64_t after, int64_t until, int64_t threshold,
                            size_t limit, pat_token_rec **out, size_t *n);
    int (*reminder_add)(pat_store *s, int64_t token_id, int64_t threshold, int64_t at);
    int (*outbox_add)(pat_store *s, pat_outbox_rec *m);
    int (*outbox_claim)(pat_store *s, int64_t now, int64_t lease_until, size_t limit,
                        pat_outbox_rec **out, size_t *n);
    int (*outbox_mark)(pat_store *s, int64_t id, pat_mail_status status, int attempts,
                       int64_t next_try_at, int64_t sent_at, const char *last_error);
    int (*outbox_retry_all)(pat_store *s, int64_t now);
    int (*outbox_counts)(pat_store *s, pat_outbox_counts *out);
    int (*outbox_list)(pat_store *s, size_t limit, pat_outbox_rec **out, size_t *n);
    /* for pat_store_copy: rows put as they are (ids, versions and all, in
     * the caller's unit of work), the lists to read them from, and the id
     * sequences moved past what was put */
    int (*count_rows)(pat_store *s, pat_store_counts *out);
    int (*session_list)(pat_store *s, pat_session_rec **out, size_t *n);
    int (*setting_list)(pat_store *s, pat_setting **out, size_t *n);
    int (*put_users)(pat_store *s, const pat_user *u, size_t n);
    int (*put_tokens)(pat_store *s, const pat_token_rec *t, size_t n);
    int (*put_audit)(pat_store *s, const pat_audit_rec *r, size_t n);
    /* replaces the target's organizations (it has no members yet) */
    int (*put_orgs)(pat_store *s, const pat_org *o, size_t n);
    int (*ids_reset)(pat_store *s, const pat_store_counts *from);
} pat_store_vtable;

/* Every backend's struct starts with this header. */
struct pat_store {
    const pat_store_vtable *vt;
};

/* The answer to a conditional edit (WHERE id AND version) that changed no
 * row, from the lookup of that row's version that followed it (lookup_rc):
 * gone, PAT_ENOTFOUND "no such WHAT"; there, PAT_ECONFLICT "the WHAT changed
 * meanwhile"; a failed lookup, its own error. Both backends answer alike. */
int pat_store_edit_refused(int lookup_rc, const char *what);

/* Backend constructors. */
int pat_store_sqlite_open(pat_store **out, const char *path);
int pat_store_postgres_open(pat_store **out, const char *url);

#endif
