#include "http/format.h"

#include <string.h>

#include "util/time.h"

json_t *pat_format_time(int64_t t)
{
    char buf[PAT_TIME_STR];

    if (t == 0)
        return json_null();
    pat_time_format(t, buf);
    return json_string(buf);
}

/* A last_used object, or null for a use that never happened. */
static json_t *format_use(const pat_last_use *u)
{
    if (!u->at)
        return json_null();
    return json_pack("{s:o, s:s, s:s, s:s, s:s}", "at", pat_format_time(u->at), "ip", u->ip,
                     "method", u->method, "path", u->path, "user_agent", u->user_agent);
}

json_t *pat_format_rotation(const pat_token_rec *t, const pat_rotation_rec *r)
{
    if (!r)
        return json_null();
    return json_pack("{s:o, s:o, s:o, s:I, s:o}", "previous_valid_until",
                     pat_format_time(t->previous_valid_until), "retire_when_unused_seconds",
                     r->retire_when_unused ? json_integer(r->retire_when_unused) : json_null(),
                     "previous_last_used", format_use(&r->previous_last), "previous_use_count",
                     (json_int_t)r->previous_uses, "current_first_used",
                     format_use(&r->current_first));
}

json_t *pat_format_token(const pat_token_rec *t, int64_t now)
{
    json_t *o = json_object();
    json_t *last = format_use(&t->last_use);

    json_object_set_new(o, "id", json_integer(t->id));
    json_object_set_new(o, "name", json_string(t->name));
    json_object_set_new(o, "description", json_string(t->description));
    json_object_set_new(o, "prefix", json_string(t->prefix));
    json_object_set_new(o, "scopes", pat_format_words(t->scopes));
    json_object_set_new(o, "status", json_string(pat_tokens_status(t, now)));
    json_object_set_new(o, "created_at", pat_format_time(t->created_at));
    json_object_set_new(o, "updated_at", pat_format_time(t->updated_at));
    json_object_set_new(o, "expires_at", pat_format_time(t->expires_at));
    json_object_set_new(o, "remaining_seconds",
                        t->expires_at ? json_integer(pat_expiry_remaining(t->expires_at, now))
                                      : json_null());
    json_object_set_new(o, "expiring_soon",
                        json_boolean(pat_expiry_soon(t->created_at, t->expires_at, now)));
    json_object_set_new(o, "disabled_at", pat_format_time(t->disabled_at));
    json_object_set_new(o, "last_used", last);
    json_object_set_new(o, "use_count", json_integer(t->use_count));
    json_object_set_new(o, "allowed_cidrs", pat_format_words(t->allowed_cidrs));
    json_object_set_new(o, "organizations", t->orgs[0] ? pat_format_words(t->orgs) : json_null());
    json_object_set_new(o, "previous_valid_until", pat_format_time(t->previous_valid_until));
    json_object_set_new(o, "canary", json_boolean(t->flags & PAT_TOKEN_FLAG_CANARY));
    json_object_set_new(o, "notify_new_client",
                        json_boolean(!(t->flags & PAT_TOKEN_FLAG_NO_CLIENT_ALERTS)));
    /* The caller's to fill where it reads them (pat_h_token_json). */
    json_object_set_new(o, "rotation", json_null());
    json_object_set_new(o, "scopes_used", json_array());
    json_object_set_new(o, "unused_scopes", json_array());
    return o;
}

json_t *pat_format_scope_use(const pat_scope_use *u)
{
    return json_pack("{s:s, s:o, s:I}", "scope", u->scope, "last_used_at",
                     pat_format_time(u->last_used_at), "uses", (json_int_t)u->uses);
}

json_t *pat_format_client(const pat_token_client *c)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}", "ip", c->ip, "network", c->network,
                     "user_agent", c->user_agent, "product", c->product, "first_seen",
                     pat_format_time(c->first_seen), "last_seen", pat_format_time(c->last_seen));
}

json_t *pat_format_principal(const pat_principal *p)
{
    return json_pack("{s:I, s:s, s:s, s:b}", "id", (json_int_t)p->user_id, "username",
                     p->username, "role", pat_role_name(p->role),
                     "can_manage_tokens", p->can_manage_tokens);
}
