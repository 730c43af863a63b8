#ifndef PAT_UTIL_ERROR_H
#define PAT_UTIL_ERROR_H

/* Status codes: 0 is success, negative values are expected failures.
 * The HTTP layer maps each to a status and API error code in one place
 * (src/http/respond.c). */
enum {
    PAT_OK = 0,
    PAT_EINVAL = -1,      /* bad input: 400 invalid_request */
    PAT_ENOTFOUND = -2,   /* 404 not_found */
    PAT_EEXISTS = -3,     /* unique violation: 409 conflict */
    PAT_EAUTH = -4,       /* credential present but not good: 401 invalid_token */
    PAT_EUNAUTH = -5,     /* no credential: 401 unauthenticated */
    PAT_ECONFLICT = -6,   /* state forbids the change: 409 conflict */
    PAT_EPOLICY = -7,     /* outside the organization's policy: 400 invalid_request */
    PAT_EFORBIDDEN = -8,  /* 403 forbidden */
    PAT_ESCOPE = -9,      /* 403 insufficient_scope */
    PAT_ECONFIRM = -10,   /* 403 confirmation_required */
    PAT_ETOOBIG = -11,    /* 413 payload_too_large */
    PAT_EMEDIA = -12,     /* 415 unsupported_media_type */
    PAT_ERATE = -13,      /* 429 rate_limited */
    PAT_EIO = -14,        /* storage or system failure: 500 internal */
    PAT_EUNAVAIL = -15,   /* the store cannot take a write now: 503 unavailable */
    PAT_EWAIT = -16,      /* the answer waits for a read of the shared store's changes:
                             never answered, the HTTP layer asks again after one */
};

#define PAT_ERROR_MESSAGE_MAX 256
#define PAT_ERROR_FIELD_MAX 64

/* The last error recorded on this thread. */
typedef struct pat_error {
    int code;
    char field[PAT_ERROR_FIELD_MAX];     /* offending input field, or "" */
    char message[PAT_ERROR_MESSAGE_MAX]; /* one human sentence, never a secret */
} pat_error;

/* Records an error for this thread and returns code, so a failure site can
 * `return pat_error_set(...)`. field may be NULL. Never pass secrets. */
int pat_error_set(int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The last error recorded on this thread (borrowed; valid until the next set). */
const pat_error *pat_error_last(void);

/* Forgets this thread's last error. */
void pat_error_clear(void);

#endif
