#ifndef PAT_CORE_CONFIG_H
#define PAT_CORE_CONFIG_H
#include <stdbool.h>
#include <stddef.h>

#include "core/cidr.h"
#include "core/request_rules.h"
#include "core/scope.h"
#include "core/token.h"

#define PAT_CONFIG_TEXT_MAX (1024 * 1024) /* a config file larger than this is refused */
#define PAT_CONFIG_PATH_MAX 1024

#define PAT_AUDIENCES_MAX 32
#define PAT_AUDIENCE_NAME_MAX 64
#define PAT_AUDIENCE_URIS_MAX 1024

/* An audience JWTs from the token exchange may be issued for: an
 * "[audience NAME]" section. */
typedef struct pat_audience {
    char name[PAT_AUDIENCE_NAME_MAX + 1];
    char uris[PAT_AUDIENCE_URIS_MAX];   /* space-separated; a request names the audience by
                                           its name or one of these */
    char scopes[PAT_SCOPES_STR_MAX];    /* the scopes it may receive; "" = any */
    int max_lifetime_seconds;           /* 0 = jwt_lifetime_seconds */
} pat_audience;

enum { PAT_STARTTLS_OPPORTUNISTIC = 0, PAT_STARTTLS_REQUIRED, PAT_STARTTLS_OFF };

/* Everything the configuration file (etc/patd.conf.example) can set. */
typedef struct pat_config {
    char listen[128];                   /* "ADDR:PORT" */
    char data_dir[PAT_CONFIG_PATH_MAX];
    char db[PAT_CONFIG_PATH_MAX];       /* "" = SQLite file in data_dir */
    char server_key_file[PAT_CONFIG_PATH_MAX]; /* "" = data_dir/server.key; every instance
                                                  on one database shares it */
    int cache_stale_seconds;            /* shared store: the cache is not trusted when the
                                           changes feed was last read longer ago */
    char token_prefix[PAT_TOKEN_PREFIX_MAX + 1];
    char public_url[256];               /* base URL shown in curl examples; "" = from listen */
    int threads;                        /* HTTP worker threads; 0 = one per core */
    pat_cidr_set trusted_proxies;       /* networks whose X-Forwarded-For we believe */
    pat_cidr_set auth_fail_exempt;      /* networks whose failed authentications are never limited */
    int last_use_flush_seconds;         /* write-behind period of last use */
    int last_use_granularity_seconds;   /* details of a token's use kept at most this often */
    long last_use_buffer;               /* distinct tokens' uses held between flushes */
    int auth_fail_limit;                /* failed authentications per address per window */
    int auth_fail_window_seconds;
    long cache_max_entries;             /* verification cache bound */
    bool default_can_manage_tokens;     /* the token permission of new people */
    int audit_retention_days;           /* 0 = keep audit events forever */
    int confirm_window_seconds;         /* how long a password confirmation lasts */
    bool log_json;                      /* log_format = json: one JSON object per line */
    char log_file[PAT_CONFIG_PATH_MAX]; /* "" = standard error; reopened on SIGHUP */
    int connections_per_address;        /* open connections one client address may hold;
                                           trusted proxies may hold 3/4 of all (0 = no cap) */
    int request_deadline_seconds;       /* to receive a request's headers and body, whole */
    int jwt_lifetime_seconds;           /* exchanged JWTs (capped by the PAT's expiry) */
    bool jwt_eddsa;                     /* jwt_algorithm = EdDSA (default ES256) */
    int jwks_max_age_seconds;           /* Cache-Control max-age of the JWKS */
    int jwks_publish_ahead_seconds;     /* a new key signs this long after it is published;
                                           -1 = jwks_max_age_seconds */
    char smtp_url[256];                 /* smtp://host:port or smtps://; "" = keep mail pending */
    int smtp_starttls;                  /* PAT_STARTTLS_*: smtp_starttls = required|opportunistic|off */
    char smtp_user[128];
    char smtp_password_file[PAT_CONFIG_PATH_MAX];
    char smtp_ca_file[PAT_CONFIG_PATH_MAX]; /* CA bundle for the SMTP server; "" = system's */
    char mail_from[256];                /* the From address */
    int reminder_days[8];               /* expiry_reminder_days, ascending; 0 ends the list */
    int expiry_check_seconds;           /* how often reminders are looked for */
    int new_client_learning_seconds;    /* clients of a token's first use period are learned,
                                           not alerted about */
    int new_client_alert_interval_seconds; /* at most one new-client alert per token this often */
    bool alert_on_new_scope;            /* email the owner when a token first uses a scope */
    int least_privilege_seconds;        /* least_privilege_days (or _seconds): a granted scope
                                           unused this long while the token was in use is
                                           reported unused */
    int canary_alert_interval_seconds;  /* at most one email per canary this often (each
                                           presentation is audited) */
    pat_audience audiences[PAT_AUDIENCES_MAX];
    size_t naudiences;
    pat_route_rule routes[PAT_ROUTE_RULES_MAX]; /* "route =" lines, in order */
    size_t nroutes;
    pat_catalog catalog;
} pat_config;

/* Sets the defaults of DESIGN.md ("Running") and the built-in scopes. */
void pat_config_defaults(pat_config *cfg);

/* Parses the text of a configuration file (len bytes) over cfg. On error
 * returns PAT_EINVAL whose message starts with "line N:". */
int pat_config_parse(pat_config *cfg, const char *text, size_t len);

/* Sets one top-level key (as from the file, an option or PATD_* variable). */
int pat_config_set(pat_config *cfg, const char *key, const char *value);

#endif
