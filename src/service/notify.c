/* Notifications: the emails people get about their tokens and account
 * (#15), written to the outbox inside the unit of work of the change they
 * report: no email for a change that rolled back, no change without its
 * email. Plain text, one clear subject each, never a token value. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/mail.h"
#include "core/text.h"
#include "service/service_int.h"
#include "util/error.h"
#include "util/mem.h"
#include "util/time.h"

/* The host part of the console's URL, for Message-IDs. */
static void mail_domain(const pat_service *svc, char *out, size_t outsz)
{
    const char *p = strstr(svc->issuer, "://");
    size_t n;

    p = p ? p + 3 : svc->issuer;
    n = strcspn(p, ":/");
    snprintf(out, outsz, "%.*s", (int)n, p);
}

/* "you" or the superuser by name: who did it, as the owner reads it. */
static void who_did_it(const pat_principal *actor, int64_t owner_id, char *out, size_t outsz)
{
    if (!actor)
        snprintf(out, outsz, "an operator of patd");
    else if (actor->user_id == owner_id)
        snprintf(out, outsz, "you (%s)", actor->username);
    else
        snprintf(out, outsz, "the superuser %s", actor->username);
}

/* Queues subject and body for owner (no email address: nothing to send). */
static int queue(pat_service *svc, const pat_user *owner, const char *subject, const char *body)
{
    pat_outbox_rec *m;
    char domain[256];
    int rc;

    if (!owner->email[0])
        return PAT_OK;
    m = pat_calloc(1, sizeof(*m));
    m->created_at = svc->clock();
    m->next_try_at = m->created_at;
    m->user_id = owner->id;
    mail_domain(svc, domain, sizeof(domain));
    pat_mail_message_id(m->message_id, sizeof(m->message_id), domain);
    if ((rc = pat_text_set(m->recipient, sizeof(m->recipient), owner->email)) == PAT_OK &&
        (rc = pat_text_set(m->subject, sizeof(m->subject), subject)) == PAT_OK &&
        (rc = pat_text_set(m->body, sizeof(m->body), body)) == PAT_OK)
        rc = pat_store_outbox_add(svc->store, m);
    free(m);
    if (rc == PAT_OK)
        pat_sender_wake(svc);
    return rc;
}

/* The lines every email ends with: when, by whom, from where. */
static void context(pat_service *svc, const pat_principal *actor, const pat_request_info *info,
                    int64_t owner_id, char *out, size_t outsz)
{
    char when[PAT_TIME_STR], who[128];

    pat_time_format(svc->clock(), when);
    who_did_it(actor, owner_id, who, sizeof(who));
    snprintf(out, outsz,
             "  When:        %s\n"
             "  By:          %s\n"
             "  IP address:  %s\n"
             "  User agent:  %.200s\n",
             when, who, info && info->ip && *info->ip ? info->ip : "(none)",
             info && info->user_agent && *info->user_agent ? info->user_agent : "(none)");
}

int pat_notify_tokens(pat_service *svc, const pat_principal *actor, const pat_request_info *info,
                      pat_note what, int64_t owner_id, const pat_token_rec *tokens, size_t n)
{
    static const char *const verbs[] = {"created", "created (as a copy)", "regenerated",
                                        "disabled", "deleted", "enabled"};
    pat_user owner;
    char subject[PAT_MAIL_SUBJECT_MAX], ctx[1024], *body;
    size_t len = 0, cap = PAT_MAIL_BODY_MAX;
    int rc;

    if (n == 0 || (rc = pat_store_user_get(svc->store, owner_id, &owner)) < 0)
        return n == 0 ? PAT_OK : rc;
    if (n == 1)
        snprintf(subject, sizeof(subject), "[patd] Your token \"%.80s\" was %s", tokens[0].name,
                 verbs[what]);
    else
        snprintf(subject, sizeof(subject), "[patd] %zu of your tokens were %s", n, verbs[what]);
    body = pat_malloc(cap);
    len += (size_t)snprintf(body + len, cap - len,
                            "Hello %s,\n\n%s personal access token%s on your patd account %s "
                            "%s:\n\n",
                            owner.username, n == 1 ? "A" : "These", n == 1 ? "" : "s",
                            n == 1 ? "was" : "were", verbs[what]);
    for (size_t i = 0; i < n && len < cap - 256; i++)
        len += (size_t)snprintf(body + len, cap - len, "  Token:       %.100s (%s...)\n",
                                tokens[i].name, tokens[i].prefix);
    context(svc, actor, info, owner_id, ctx, sizeof(ctx));
    snprintf(body + len, cap - len,
             "%s\nIf this was not you, disable the token in the console and change your "
             "password:\n  %s/\n\n-- patd\n",
             ctx, svc->issuer);
    rc = queue(svc, &owner, subject, body);
    free(body);
    sodium_memzero(&owner, sizeof(owner));
    return rc;
}

/* Queues the email to user_id about their account: subject, then text
 * with who did it, when and from where. */
static int account_mail(pat_service *svc, const pat_principal *actor, const pat_request_info *info,
                        int64_t user_id, const char *subject, const char *text)
{
    pat_user u;
    char ctx[1024], body[PAT_MAIL_BODY_MAX];
    int rc;

    if ((rc = pat_store_user_get(svc->store, user_id, &u)) < 0)
        return rc;
    context(svc, actor, info, user_id, ctx, sizeof(ctx));
    snprintf(body, sizeof(body), "Hello %s,\n\n%s\n\n%s\nThe console: %s/\n\n-- patd\n",
             u.username, text, ctx, svc->issuer);
    rc = queue(svc, &u, subject, body);
    sodium_memzero(&u, sizeof(u));
    return rc;
}

int pat_notify_account(pat_service *svc, const pat_principal *actor, const pat_request_info *info,
                       pat_account_note what, int64_t user_id)
{
    static const char *const subjects[] = {
        "[patd] Your personal access tokens were switched off",
        "[patd] Your personal access tokens work again",
        "[patd] Your patd account was disabled",
        "[patd] All your personal access tokens were revoked",
    };
    static const char *const texts[] = {
        ("You may no longer use personal access tokens: every token of yours is refused until "
         "the permission is given back (the tokens are kept)."),
        "You may use personal access tokens again: your tokens work as before.",
        "Your account was disabled: you cannot sign in, and none of your tokens works.",
        "Every personal access token of your account was deleted.",
    };

    return account_mail(svc, actor, info, user_id, subjects[what], texts[what]);
}

int pat_notify_org_permission(pat_service *svc, const pat_principal *actor,
                              const pat_request_info *info, int64_t user_id, const char *org_name,
                              bool allowed)
{
    char subject[PAT_MAIL_SUBJECT_MAX], text[512];

    snprintf(subject, sizeof(subject), "[patd] Your personal access tokens %s in %.100s",
             allowed ? "work again" : "were switched off", org_name);
    snprintf(text, sizeof(text),
             allowed ? "You may use personal access tokens in the organization %.100s again: "
                       "your tokens usable there work there as before."
                     : "You may no longer use personal access tokens in the organization %.100s: "
                       "your tokens are refused there until the permission is given back (they "
                       "are kept, and work as before in your other organizations).",
             org_name);
    return account_mail(svc, actor, info, user_id, subject, text);
}

int pat_service_outbox(pat_service *svc, const pat_principal *actor, size_t limit,
                       pat_outbox_counts *counts, pat_outbox_rec **out, size_t *n)
{
    int rc;

    if ((rc = pat_service_may_administer(svc, actor)) < 0 ||
        (rc = pat_store_outbox_counts(svc->store, counts)) < 0)
        return rc;
    return pat_store_outbox_list(svc->store, limit, out, n);
}

int pat_service_outbox_retry(pat_service *svc, const pat_principal *actor)
{
    int rc;

    if ((rc = pat_service_may_administer(svc, actor)) < 0 ||
        (rc = pat_store_outbox_retry_all(svc->store, svc->clock())) < 0)
        return rc;
    pat_sender_wake(svc);
    return PAT_OK;
}

bool pat_service_mail_configured(const pat_service *svc)
{
    return svc->config->smtp_url[0] != '\0';
}

int pat_notify_expiry(pat_service *svc, const pat_user *owner, const pat_token_rec *tokens,
                      const int64_t *thresholds, size_t n)
{
    char subject[PAT_MAIL_SUBJECT_MAX], when[PAT_TIME_STR], *body;
    size_t len = 0, cap = PAT_MAIL_BODY_MAX;
    int rc;

    if (n == 0)
        return PAT_OK;
    if (n > 1)
        snprintf(subject, sizeof(subject), "[patd] %zu of your tokens expire soon or have expired",
                 n);
    else if (thresholds[0] == 0)
        snprintf(subject, sizeof(subject), "[patd] Your token \"%.80s\" has expired",
                 tokens[0].name);
    else
        snprintf(subject, sizeof(subject), "[patd] Your token \"%.80s\" expires within %lld day%s",
                 tokens[0].name, (long long)thresholds[0], thresholds[0] == 1 ? "" : "s");
    body = pat_malloc(cap);
    len += (size_t)snprintf(body + len, cap - len,
                            "Hello %s,\n\nWhat uses these personal access tokens will stop "
                            "working when they expire:\n\n",
                            owner->username);
    for (size_t i = 0; i < n && len < cap - 512; i++) {
        pat_time_format(tokens[i].expires_at, when);
        len += (size_t)snprintf(body + len, cap - len,
                                "  %.100s (%s...)\n    %s %s\n    regenerate it: %s/#token-%lld\n",
                                tokens[i].name, tokens[i].prefix,
                                thresholds[i] == 0 ? "expired" : "expires", when, svc->issuer,
                                (long long)tokens[i].id);
    }
    snprintf(body + len, cap - len,
             "\nRegenerating keeps a token's name and scopes and gives it a new value and "
             "expiry.\nYou can turn these reminders off in the console (Notifications).\n\n"
             "-- patd\n");
    rc = queue(svc, owner, subject, body);
    free(body);
    return rc;
}

/* The lines about one use: when, from where, what. */
static void use_lines(const pat_last_use *use, char *out, size_t outsz)
{
    char when[PAT_TIME_STR];

    pat_time_format(use->at, when);
    snprintf(out, outsz,
             "  When:        %s\n"
             "  IP address:  %s\n"
             "  User agent:  %.200s\n"
             "  Request:     %s %.200s\n",
             when, use->ip[0] ? use->ip : "(none)",
             use->user_agent[0] ? use->user_agent : "(none)", use->method[0] ? use->method : "-",
             use->path[0] ? use->path : "-");
}

int pat_notify_canary(pat_service *svc, const pat_user *owner, const pat_token_rec *t,
                      const pat_last_use *use, int64_t count)
{
    char subject[PAT_MAIL_SUBJECT_MAX], lines[1024], more[96] = "", body[PAT_MAIL_BODY_MAX];

    snprintf(subject, sizeof(subject), "[patd] Canary token \"%.80s\" was used", t->name);
    use_lines(use, lines, sizeof(lines));
    if (count > 1)
        snprintf(more, sizeof(more), "\nIt was presented %lld times since the last email.\n",
                 (long long)count);
    snprintf(body, sizeof(body),
             "Hello %s,\n\nSomeone presented your canary token to patd. A canary is a decoy "
             "that no one should have: wherever you planted it was read by someone.\n\n"
             "  Token:       %.100s (%s...)\n%s%s\npatd answered as it does for a token that "
             "does not exist.\nThe token: %s/#token-%lld\n\n-- patd\n",
             owner->username, t->name, t->prefix, lines, more, svc->issuer, (long long)t->id);
    return queue(svc, owner, subject, body);
}

int pat_notify_leaked(pat_service *svc, const pat_user *owner, const pat_token_rec *t,
                      bool previous, const char *source, const char *url)
{
    char subject[PAT_MAIL_SUBJECT_MAX], when[PAT_TIME_STR], body[PAT_MAIL_BODY_MAX];

    pat_time_format(svc->clock(), when);
    snprintf(subject, sizeof(subject), "[patd] Your token \"%.80s\" was reported leaked and %s",
             t->name, previous ? "its old value revoked" : "revoked");
    snprintf(body, sizeof(body),
             "Hello %s,\n\nA value of your personal access token was reported as found where it "
             "should not be, and patd %s.\n\n  Token:       %.100s (%s...)\n  When:        %s\n"
             "  Reported by: %.100s\n  Found at:    %.300s (as reported; patd did not visit "
             "it)\n\n%s\nThe console: %s/#token-%lld\n\n-- patd\n",
             owner->username,
             previous ? "revoked that value (the one before your last regeneration); the "
                        "current value keeps working"
                      : "deleted the token: anything using it now gets 401",
             t->name, t->prefix, when, source && *source ? source : "(not given)",
             url && *url ? url : "(not given)",
             previous ? "" : "Create a new token for what used this one, and remove the value "
                             "from where it was found.\n",
             svc->issuer, (long long)t->id);
    return queue(svc, owner, subject, body);
}

int pat_notify_new_client(pat_service *svc, const pat_user *owner, const pat_token_rec *t,
                          const pat_last_use *use, const pat_token_client *client)
{
    char subject[PAT_MAIL_SUBJECT_MAX], lines[1024], body[PAT_MAIL_BODY_MAX];

    snprintf(subject, sizeof(subject), "[patd] Your token \"%.80s\" was used from a new client",
             t->name);
    use_lines(use, lines, sizeof(lines));
    snprintf(body, sizeof(body),
             "Hello %s,\n\nYour personal access token was used from a client it was not used "
             "from before (network %s, %s).\n\n  Token:       %.100s (%s...)\n%s\n"
             "If this was not you or a tool of yours, disable the token now:\n  %s/#token-%lld\n"
             "\nYou can turn these alerts off for this token, or for all your tokens in the "
             "console (Notifications).\n\n-- patd\n",
             owner->username, client->network,
             client->product[0] ? client->product : "no user agent", t->name, t->prefix, lines,
             svc->issuer, (long long)t->id);
    return queue(svc, owner, subject, body);
}

int pat_notify_new_scope(pat_service *svc, const pat_user *owner, const pat_token_rec *t,
                         const char *scope, int64_t at)
{
    char subject[PAT_MAIL_SUBJECT_MAX], when[PAT_TIME_STR], body[PAT_MAIL_BODY_MAX];

    pat_time_format(at, when);
    snprintf(subject, sizeof(subject), "[patd] Your token \"%.80s\" used the scope %.64s for "
             "the first time", t->name, scope);
    snprintf(body, sizeof(body),
             "Hello %s,\n\nYour personal access token used one of its scopes for the first "
             "time.\n\n  Token:       %.100s (%s...)\n  Scope:       %.64s\n  When:        "
             "%s\n\nIf nothing of yours should do that, remove the scope or disable the token:"
             "\n  %s/#token-%lld\n\n-- patd\n",
             owner->username, t->name, t->prefix, scope, when, svc->issuer, (long long)t->id);
    return queue(svc, owner, subject, body);
}
