#ifndef PAT_CORE_POLICY_H
#define PAT_CORE_POLICY_H
#include <stdbool.h>
#include <stdint.h>

/* The organization's token policy (API.md "policy"). */
typedef struct pat_policy {
    int default_expires_in_days; /* used when a request names no expiry */
    int max_lifetime_days;       /* 0 = no maximum */
    bool allow_never_expires;
    bool require_confirmation;   /* console token changes need a recent password */
    bool query_tokens_enabled;   /* credentials in ?access_token= / ?session= */
    bool warn_only;              /* enforcement "warn": requests beyond the limits pass,
                                    with a warning, audited */
} pat_policy;

#define PAT_DAY 86400
#define PAT_EXPIRY_MAX_DAYS 36500 /* no date past a hundred years */

/* Sets the defaults: 7 days, no maximum, never allowed, confirmation on,
 * query tokens off. */
void pat_policy_defaults(pat_policy *p);

/* PAT_OK if the values are in range; PAT_EINVAL naming the field otherwise. */
int pat_policy_validate(const pat_policy *p);

/* Tightens into by other (an organization's): the shorter maximum
 * lifetime, never-expiring tokens only if both allow them, the shorter
 * default duration (and never longer than the maximum). */
void pat_policy_tighten(pat_policy *into, const pat_policy *other);

/* How a request asks for an expiry. */
typedef enum pat_expiry_kind {
    PAT_EXPIRY_DEFAULT, /* nothing said: the policy's default duration */
    PAT_EXPIRY_DAYS,    /* a preset: 7, 30, 60 or 90 days from now */
    PAT_EXPIRY_AT,      /* a custom instant */
    PAT_EXPIRY_NEVER,
} pat_expiry_kind;

typedef struct pat_expiry_request {
    pat_expiry_kind kind;
    int64_t days; /* PAT_EXPIRY_DAYS */
    int64_t at;   /* PAT_EXPIRY_AT, UTC seconds */
} pat_expiry_request;

/* 1 if days is one of the presets 7, 30, 60, 90. */
int pat_expiry_is_preset(int64_t days);

/* Resolves req at time now into *expires_at (0 = never). ceiling is the
 * latest expiry the caller may grant (0 = none; -1 = the caller itself never
 * expires, so no ceiling either). PAT_EINVAL for a bad preset or a past date,
 * PAT_EPOLICY for what the policy forbids (the message names the limit),
 * PAT_EFORBIDDEN beyond the ceiling. */
int pat_expiry_resolve(const pat_expiry_request *req, const pat_policy *policy, int64_t now,
                       int64_t ceiling, int64_t *expires_at);

/* Seconds left before expires_at at now (>= 0); expires_at 0 means never. */
int64_t pat_expiry_remaining(int64_t expires_at, int64_t now);

/* 1 if a token made at created_at and expiring at expires_at is in the
 * last part of its life at now: the last fifth, or the last 3 days if that
 * is shorter (so a 7-day token is "soon" for its last 33.6 hours, not from
 * its creation). 0 for a token that never expires or has expired. */
int pat_expiry_soon(int64_t created_at, int64_t expires_at, int64_t now);

/* 1 if a token with this expiry is expired at now: expiry is exclusive, so a
 * token is dead at exactly expires_at. */
int pat_expiry_passed(int64_t expires_at, int64_t now);

#endif
