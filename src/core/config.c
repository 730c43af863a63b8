#include "core/config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/mem.h"

void pat_config_defaults(pat_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->listen, sizeof(cfg->listen), "127.0.0.1:8080");
    snprintf(cfg->data_dir, sizeof(cfg->data_dir), "./var");
    snprintf(cfg->token_prefix, sizeof(cfg->token_prefix), "pat_");
    /* nginx on the same box is the usual front: believe its headers. */
    pat_cidr_set_parse(&cfg->trusted_proxies, "127.0.0.1/32 ::1/128");
    cfg->last_use_flush_seconds = 10;
    cfg->last_use_granularity_seconds = 600;
    cfg->last_use_buffer = 32768;
    cfg->auth_fail_limit = 20;
    cfg->auth_fail_window_seconds = 60;
    cfg->default_can_manage_tokens = true;
    cfg->confirm_window_seconds = 300;
    /* Bounded by default: under churn the audit table would grow forever. */
    cfg->audit_retention_days = 400;
    /* Far above what one well-behaved client opens (browsers hold 6, wrk
     * in make bench 50), far below what starves everyone else. */
    cfg->connections_per_address = 256;
    cfg->request_deadline_seconds = 10;
    cfg->cache_stale_seconds = 5;
    cfg->jwt_lifetime_seconds = 300;
    cfg->jwks_max_age_seconds = 300;
    cfg->jwks_publish_ahead_seconds = -1;
    snprintf(cfg->mail_from, sizeof(cfg->mail_from), "patd@localhost");
    cfg->reminder_days[0] = 1;
    cfg->reminder_days[1] = 7;
    cfg->expiry_check_seconds = 3600;
    cfg->new_client_learning_seconds = 86400;
    cfg->new_client_alert_interval_seconds = 3600;
    cfg->canary_alert_interval_seconds = 600;
    cfg->least_privilege_seconds = 30 * 86400;
    pat_catalog_init(&cfg->catalog);
}

static int set_string(char *dst, size_t dstsz, const char *key, const char *value)
{
    if (strlen(value) >= dstsz)
        return pat_error_set(PAT_EINVAL, key, "%s is too long", key);
    memcpy(dst, value, strlen(value) + 1);
    return PAT_OK;
}

static int set_int(long *out, const char *key, const char *value, long min, long max)
{
    char *end;
    long n = strtol(value, &end, 10);

    if (!*value || *end || n < min || n > max)
        return pat_error_set(PAT_EINVAL, key, "%s must be %ld to %ld", key, min, max);
    *out = n;
    return PAT_OK;
}

int pat_config_set(pat_config *cfg, const char *key, const char *value)
{
    long n = 0;
    int rc;

    if (strcmp(key, "trusted_proxies") == 0 || strcmp(key, "auth_fail_exempt") == 0) {
        pat_cidr_set *set =
            key[0] == 't' ? &cfg->trusted_proxies : &cfg->auth_fail_exempt;
        if (pat_cidr_set_parse(set, value) < 0)
            return pat_error_set(PAT_EINVAL, key, "%s must list up to %d networks", key,
                                 PAT_CIDRS_PER_TOKEN_MAX);
        return PAT_OK;
    }
    if (strcmp(key, "route") == 0) {
        if (cfg->nroutes == PAT_ROUTE_RULES_MAX)
            return pat_error_set(PAT_EINVAL, key, "more than %d route rules",
                                 PAT_ROUTE_RULES_MAX);
        if ((rc = pat_route_rule_parse(value, &cfg->routes[cfg->nroutes])) < 0)
            return rc;
        cfg->nroutes++;
        return PAT_OK;
    }
    if (strcmp(key, "last_use_flush_seconds") == 0) {
        if ((rc = set_int(&n, key, value, 1, 3600)) == PAT_OK)
            cfg->last_use_flush_seconds = (int)n;
        return rc;
    }
    if (strcmp(key, "last_use_granularity_seconds") == 0) {
        if ((rc = set_int(&n, key, value, 0, 86400)) == PAT_OK)
            cfg->last_use_granularity_seconds = (int)n;
        return rc;
    }
    if (strcmp(key, "auth_fail_limit") == 0) {
        if ((rc = set_int(&n, key, value, 0, 1000000)) == PAT_OK)
            cfg->auth_fail_limit = (int)n;
        return rc;
    }
    if (strcmp(key, "auth_fail_window_seconds") == 0) {
        if ((rc = set_int(&n, key, value, 1, 86400)) == PAT_OK)
            cfg->auth_fail_window_seconds = (int)n;
        return rc;
    }
    if (strcmp(key, "default_can_manage_tokens") == 0) {
        if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0)
            return pat_error_set(PAT_EINVAL, key, "%s must be true or false", key);
        cfg->default_can_manage_tokens = strcmp(value, "true") == 0;
        return PAT_OK;
    }
    if (strcmp(key, "audit_retention_days") == 0) {
        if ((rc = set_int(&n, key, value, 0, 36500)) == PAT_OK)
            cfg->audit_retention_days = (int)n;
        return rc;
    }
    if (strcmp(key, "log_format") == 0) {
        if (strcmp(value, "text") != 0 && strcmp(value, "json") != 0)
            return pat_error_set(PAT_EINVAL, key, "log_format must be text or json");
        cfg->log_json = strcmp(value, "json") == 0;
        return PAT_OK;
    }
    if (strcmp(key, "connections_per_address") == 0) {
        if ((rc = set_int(&n, key, value, 0, 1000000)) == PAT_OK)
            cfg->connections_per_address = (int)n;
        return rc;
    }
    if (strcmp(key, "request_deadline_seconds") == 0) {
        if ((rc = set_int(&n, key, value, 1, 300)) == PAT_OK)
            cfg->request_deadline_seconds = (int)n;
        return rc;
    }
    if (strcmp(key, "confirm_window_seconds") == 0) {
        if ((rc = set_int(&n, key, value, 1, 86400)) == PAT_OK)
            cfg->confirm_window_seconds = (int)n;
        return rc;
    }
    if (strcmp(key, "last_use_buffer") == 0)
        return set_int(&cfg->last_use_buffer, key, value, 1024, 16777216);
    if (strcmp(key, "cache_max_entries") == 0)
        return set_int(&cfg->cache_max_entries, key, value, 0, 100000000);
    if (strcmp(key, "listen") == 0) {
        const char *colon = strrchr(value, ':');
        if (!colon || colon == value || !colon[1])
            return pat_error_set(PAT_EINVAL, key, "listen must be ADDR:PORT");
        return set_string(cfg->listen, sizeof(cfg->listen), key, value);
    }
    if (strcmp(key, "data_dir") == 0) {
        if (!*value)
            return pat_error_set(PAT_EINVAL, key, "data_dir must not be empty");
        return set_string(cfg->data_dir, sizeof(cfg->data_dir), key, value);
    }
    if (strcmp(key, "db") == 0)
        return set_string(cfg->db, sizeof(cfg->db), key, value);
    if (strcmp(key, "jwt_lifetime_seconds") == 0) {
        if ((rc = set_int(&n, key, value, 10, 3600)) == PAT_OK)
            cfg->jwt_lifetime_seconds = (int)n;
        return rc;
    }
    if (strcmp(key, "jwt_algorithm") == 0) {
        if (strcmp(value, "ES256") != 0 && strcmp(value, "EdDSA") != 0)
            return pat_error_set(PAT_EINVAL, key, "jwt_algorithm must be ES256 or EdDSA");
        cfg->jwt_eddsa = strcmp(value, "EdDSA") == 0;
        return PAT_OK;
    }
    if (strcmp(key, "jwks_max_age_seconds") == 0) {
        if ((rc = set_int(&n, key, value, 0, 86400)) == PAT_OK)
            cfg->jwks_max_age_seconds = (int)n;
        return rc;
    }
    if (strcmp(key, "jwks_publish_ahead_seconds") == 0) {
        if ((rc = set_int(&n, key, value, 0, 86400)) == PAT_OK)
            cfg->jwks_publish_ahead_seconds = (int)n;
        return rc;
    }
    if (strcmp(key, "smtp_url") == 0) {
        if (*value && strncmp(value, "smtp://", 7) != 0 && strncmp(value, "smtps://", 8) != 0)
            return pat_error_set(PAT_EINVAL, key, "smtp_url must start with smtp:// or smtps://");
        return set_string(cfg->smtp_url, sizeof(cfg->smtp_url), key, value);
    }
    if (strcmp(key, "smtp_starttls") == 0) {
        if (strcmp(value, "required") == 0)
            cfg->smtp_starttls = PAT_STARTTLS_REQUIRED;
        else if (strcmp(value, "opportunistic") == 0)
            cfg->smtp_starttls = PAT_STARTTLS_OPPORTUNISTIC;
        else if (strcmp(value, "off") == 0)
            cfg->smtp_starttls = PAT_STARTTLS_OFF;
        else
            return pat_error_set(PAT_EINVAL, key,
                                 "smtp_starttls must be required, opportunistic or off");
        return PAT_OK;
    }
    if (strcmp(key, "expiry_reminder_days") == 0) {
        int days[8] = {0};
        size_t count = 0;
        char copy[128], *save = NULL;
        if (strlen(value) >= sizeof(copy))
            return pat_error_set(PAT_EINVAL, key, "expiry_reminder_days is too long");
        snprintf(copy, sizeof(copy), "%s", value);
        for (char *w = strtok_r(copy, " \t,", &save); w; w = strtok_r(NULL, " \t,", &save)) {
            long d;
            if (count == 7 || set_int(&d, key, w, 1, 365) < 0)
                return pat_error_set(PAT_EINVAL, key,
                                     "expiry_reminder_days: up to 7 numbers of days, 1 to 365");
            days[count++] = (int)d;
        }
        /* Ascending, without repeats: the smallest threshold crossed wins. */
        for (size_t i = 0; i < count; i++)
            for (size_t j = i + 1; j < count; j++)
                if (days[j] < days[i]) {
                    int t = days[i];
                    days[i] = days[j];
                    days[j] = t;
                }
        memset(cfg->reminder_days, 0, sizeof(cfg->reminder_days));
        for (size_t i = 0, k = 0; i < count; i++)
            if (k == 0 || cfg->reminder_days[k - 1] != days[i])
                cfg->reminder_days[k++] = days[i];
        return PAT_OK;
    }
    if (strcmp(key, "expiry_check_seconds") == 0) {
        if ((rc = set_int(&n, key, value, 1, 86400)) == PAT_OK)
            cfg->expiry_check_seconds = (int)n;
        return rc;
    }
    if (strcmp(key, "new_client_learning_seconds") == 0) {
        if ((rc = set_int(&n, key, value, 0, 30 * 86400)) == PAT_OK)
            cfg->new_client_learning_seconds = (int)n;
        return rc;
    }
    if (strcmp(key, "alert_on_new_scope") == 0) {
        if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0)
            return pat_error_set(PAT_EINVAL, key, "%s must be true or false", key);
        cfg->alert_on_new_scope = strcmp(value, "true") == 0;
        return PAT_OK;
    }
    if (strcmp(key, "least_privilege_days") == 0) {
        if ((rc = set_int(&n, key, value, 1, 3650)) == PAT_OK)
            cfg->least_privilege_seconds = (int)n * 86400;
        return rc;
    }
    if (strcmp(key, "least_privilege_seconds") == 0) {
        if ((rc = set_int(&n, key, value, 1, 3650 * 86400)) == PAT_OK)
            cfg->least_privilege_seconds = (int)n;
        return rc;
    }
    if (strcmp(key, "new_client_alert_interval_seconds") == 0) {
        if ((rc = set_int(&n, key, value, 0, 7 * 86400)) == PAT_OK)
            cfg->new_client_alert_interval_seconds = (int)n;
        return rc;
    }
    if (strcmp(key, "canary_alert_interval_seconds") == 0) {
        if ((rc = set_int(&n, key, value, 0, 86400)) == PAT_OK)
            cfg->canary_alert_interval_seconds = (int)n;
        return rc;
    }
    if (strcmp(key, "log_file") == 0)
        return set_string(cfg->log_file, sizeof(cfg->log_file), key, value);
    if (strcmp(key, "smtp_ca_file") == 0)
        return set_string(cfg->smtp_ca_file, sizeof(cfg->smtp_ca_file), key, value);
    if (strcmp(key, "smtp_user") == 0)
        return set_string(cfg->smtp_user, sizeof(cfg->smtp_user), key, value);
    if (strcmp(key, "smtp_password_file") == 0)
        return set_string(cfg->smtp_password_file, sizeof(cfg->smtp_password_file), key, value);
    if (strcmp(key, "mail_from") == 0) {
        if (!strchr(value, '@') || strpbrk(value, "\r\n <>"))
            return pat_error_set(PAT_EINVAL, key, "mail_from must be a bare address");
        return set_string(cfg->mail_from, sizeof(cfg->mail_from), key, value);
    }
    if (strcmp(key, "server_key_file") == 0)
        return set_string(cfg->server_key_file, sizeof(cfg->server_key_file), key, value);
    if (strcmp(key, "cache_stale_seconds") == 0) {
        if ((rc = set_int(&n, key, value, 1, 3600)) == PAT_OK)
            cfg->cache_stale_seconds = (int)n;
        return rc;
    }
    if (strcmp(key, "public_url") == 0)
        return set_string(cfg->public_url, sizeof(cfg->public_url), key, value);
    if (strcmp(key, "token_prefix") == 0) {
        int rc = pat_token_prefix_valid(value);
        return rc < 0 ? rc : set_string(cfg->token_prefix, sizeof(cfg->token_prefix), key, value);
    }
    if (strcmp(key, "threads") == 0) {
        if ((rc = set_int(&n, key, value, 0, 256)) == PAT_OK)
            cfg->threads = (int)n;
        return rc;
    }
    return pat_error_set(PAT_EINVAL, key, "unknown setting %s", key);
}

static int parse_roles(const char *value, unsigned *roles)
{
    char copy[256];
    char *save = NULL;

    if (strlen(value) >= sizeof(copy))
        return pat_error_set(PAT_EINVAL, "roles", "roles is too long");
    snprintf(copy, sizeof(copy), "%s", value);
    *roles = 0;
    for (char *w = strtok_r(copy, " \t,", &save); w; w = strtok_r(NULL, " \t,", &save)) {
        int role;
        if (pat_role_parse(w, &role) < 0)
            return pat_error_set(PAT_EINVAL, "roles", "unknown role %s", w);
        *roles |= (unsigned)role;
    }
    return PAT_OK;
}

/* A section being read: kind is 0 (top level), 's' (scope), 'S' (set) or
 * 'a' (audience). */
typedef struct section {
    int kind;
    char name[PAT_AUDIENCE_NAME_MAX + 1];
    char description[PAT_SCOPE_DESC_MAX];
    char scopes[PAT_SCOPES_STR_MAX];
    char uris[PAT_AUDIENCE_URIS_MAX];
    long max_lifetime;
    unsigned roles;
    int line;
} section;

/* An audience's URIs: absolute (scheme:rest) or a bare name, no spaces
 * inside one; at least one. */
static int check_uris(const char *uris)
{
    char copy[PAT_AUDIENCE_URIS_MAX];
    char *save = NULL;
    int n = 0;

    snprintf(copy, sizeof(copy), "%s", uris);
    for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
        for (const char *p = w; *p; p++)
            if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
                return pat_error_set(PAT_EINVAL, NULL, "an audience URI must be printable ASCII");
        n++;
    }
    return n ? PAT_OK : pat_error_set(PAT_EINVAL, NULL, "an audience needs uri = ...");
}

static int add_audience(pat_config *cfg, const section *sec)
{
    pat_audience *a;
    int rc;

    if (cfg->naudiences == PAT_AUDIENCES_MAX)
        return pat_error_set(PAT_EINVAL, NULL, "at most %d audiences", PAT_AUDIENCES_MAX);
    for (size_t i = 0; i < cfg->naudiences; i++)
        if (strcmp(cfg->audiences[i].name, sec->name) == 0)
            return pat_error_set(PAT_EINVAL, NULL, "audience %s is defined twice", sec->name);
    if ((rc = check_uris(sec->uris)) < 0)
        return rc;
    a = &cfg->audiences[cfg->naudiences++];
    memset(a, 0, sizeof(*a));
    snprintf(a->name, sizeof(a->name), "%s", sec->name);
    snprintf(a->uris, sizeof(a->uris), "%s", sec->uris);
    snprintf(a->scopes, sizeof(a->scopes), "%s", sec->scopes);
    a->max_lifetime_seconds = (int)sec->max_lifetime;
    return PAT_OK;
}

/* Adds the finished section; pass 1 adds scopes, pass 2 sets, so a set may
 * name a scope defined further down the file. */
static int finish(pat_config *cfg, section *sec, int pass)
{
    int rc = PAT_OK;

    if (sec->kind == 's' && pass == 1)
        rc = pat_catalog_add_scope(&cfg->catalog, sec->name, sec->description, sec->roles);
    else if (sec->kind == 'S' && pass == 2)
        rc = pat_catalog_add_set(&cfg->catalog, sec->name, sec->description, sec->scopes);
    else if (sec->kind == 'a' && pass == 1)
        rc = add_audience(cfg, sec);
    if (rc < 0)
        return pat_error_set(rc == PAT_EEXISTS ? PAT_EINVAL : rc, NULL, "line %d: %s",
                             sec->line, pat_error_last()->message);
    return PAT_OK;
}

static char *trim(char *s)
{
    char *end;

    while (isspace((unsigned char)*s))
        s++;
    end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

static int open_section(section *sec, char *head, int lineno)
{
    char *sp = strchr(head, ' ');
    char *name;

    memset(sec, 0, sizeof(*sec));
    sec->line = lineno;
    sec->roles = PAT_ROLES_ALL;
    if (!sp)
        return pat_error_set(PAT_EINVAL, NULL,
                             "line %d: expected [scope NAME], [set NAME] or [audience NAME]",
                             lineno);
    *sp = '\0';
    name = trim(sp + 1);
    if (strcmp(head, "scope") == 0)
        sec->kind = 's';
    else if (strcmp(head, "set") == 0)
        sec->kind = 'S';
    else if (strcmp(head, "audience") == 0)
        sec->kind = 'a';
    else
        return pat_error_set(PAT_EINVAL, NULL, "line %d: unknown section [%s]", lineno, head);
    if (!*name || strlen(name) > (sec->kind == 'a' ? PAT_AUDIENCE_NAME_MAX : PAT_SCOPE_NAME_MAX))
        return pat_error_set(PAT_EINVAL, NULL, "line %d: section name must be 1 to %d characters",
                             lineno,
                             sec->kind == 'a' ? PAT_AUDIENCE_NAME_MAX : PAT_SCOPE_NAME_MAX);
    snprintf(sec->name, sizeof(sec->name), "%s", name);
    return PAT_OK;
}

static int section_key(section *sec, const char *key, const char *value, int lineno)
{
    char *dst = NULL;
    size_t dstsz = 0;

    if (sec->kind == 'a' && strcmp(key, "uri") == 0) {
        dst = sec->uris;
        dstsz = sizeof(sec->uris);
    } else if (sec->kind == 'a' && strcmp(key, "max_lifetime_seconds") == 0) {
        if (set_int(&sec->max_lifetime, key, value, 10, 3600) < 0)
            return pat_error_set(PAT_EINVAL, NULL, "line %d: %s", lineno,
                                 pat_error_last()->message);
        return PAT_OK;
    } else if (strcmp(key, "description") == 0) {
        dst = sec->description;
        dstsz = sizeof(sec->description);
    } else if ((sec->kind == 'S' || sec->kind == 'a') && strcmp(key, "scopes") == 0) {
        dst = sec->scopes;
        dstsz = sizeof(sec->scopes);
    } else if (sec->kind == 's' && strcmp(key, "roles") == 0) {
        if (parse_roles(value, &sec->roles) < 0)
            return pat_error_set(PAT_EINVAL, NULL, "line %d: %s", lineno,
                                 pat_error_last()->message);
        return PAT_OK;
    } else {
        return pat_error_set(PAT_EINVAL, NULL, "line %d: unknown key %s in [%s %s]", lineno, key,
                             sec->kind == 's'   ? "scope"
                             : sec->kind == 'S' ? "set"
                                                : "audience",
                             sec->name);
    }
    if (strlen(value) >= dstsz)
        return pat_error_set(PAT_EINVAL, NULL, "line %d: %s is too long", lineno, key);
    memcpy(dst, value, strlen(value) + 1);
    return PAT_OK;
}

static int parse_pass(pat_config *cfg, const char *text, size_t len, int pass)
{
    section sec;
    size_t pos = 0;
    int lineno = 0;
    int rc = PAT_OK;
    char line[PAT_SCOPES_STR_MAX + 64];

    memset(&sec, 0, sizeof(sec));
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        char *s, *eq;

        lineno++;
        if (n >= sizeof(line))
            return pat_error_set(PAT_EINVAL, NULL, "line %d: line too long", lineno);
        memcpy(line, text + pos, n);
        line[n] = '\0';
        pos += n + (nl ? 1 : 0);
        if (memchr(line, '\0', n))
            return pat_error_set(PAT_EINVAL, NULL, "line %d: NUL byte", lineno);
        s = trim(line);
        if (*s == '\0' || *s == '#' || *s == ';')
            continue;
        if (*s == '[') {
            char *close = strchr(s, ']');
            if (!close || close[1] != '\0')
                return pat_error_set(PAT_EINVAL, NULL, "line %d: unterminated section", lineno);
            *close = '\0';
            if ((rc = finish(cfg, &sec, pass)) < 0)
                return rc;
            if ((rc = open_section(&sec, trim(s + 1), lineno)) < 0)
                return rc;
            continue;
        }
        eq = strchr(s, '=');
        if (!eq)
            return pat_error_set(PAT_EINVAL, NULL, "line %d: expected key = value", lineno);
        *eq = '\0';
        {
            char *key = trim(s), *value = trim(eq + 1);
            if (sec.kind) {
                rc = section_key(&sec, key, value, lineno);
            } else if (pass == 1) {
                if (pat_config_set(cfg, key, value) < 0)
                    rc = pat_error_set(PAT_EINVAL, key, "line %d: %s", lineno,
                                       pat_error_last()->message);
            }
            if (rc < 0)
                return rc;
        }
    }
    return finish(cfg, &sec, pass);
}

int pat_config_parse(pat_config *cfg, const char *text, size_t len)
{
    int rc;

    if (len > PAT_CONFIG_TEXT_MAX)
        return pat_error_set(PAT_EINVAL, NULL, "configuration is larger than %d bytes",
                             PAT_CONFIG_TEXT_MAX);
    if ((rc = parse_pass(cfg, text, len, 1)) < 0)
        return rc;
    return parse_pass(cfg, text, len, 2);
}
