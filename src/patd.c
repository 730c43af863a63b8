/* patd: the daemon. Reads configuration (defaults < file < PATD_* < flags),
 * prepares the data dir, server key and database, creates the first
 * superuser, and serves until SIGTERM or SIGINT. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "core/config.h"
#include "http/server.h"
#include "service/service.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/log.h"
#include "util/mem.h"

static void usage(FILE *to)
{
    fputs("usage: patd [--config FILE] [--listen ADDR:PORT] [--data-dir DIR] [--db URL]\n"
          "       patd [same options] admin reset-password USERNAME\n"
          "       patd store copy --from URL --to URL\n"
          "       patd [same options] keys rotate\n"
          "\n"
          "  --config FILE      configuration file (see etc/patd.conf.example)\n"
          "  --listen ADDR:PORT address to serve on (default 127.0.0.1:8080)\n"
          "  --data-dir DIR     data directory: server key, SQLite database (default ./var)\n"
          "  --db URL           database: sqlite:PATH (default: DIR/patd.db) or\n"
          "                     postgresql://[USER@]HOST[:PORT]/DB[?PARAMS] (any libpq URL)\n"
          "  --help             this text\n"
          "\n"
          "Every option can also be set as PATD_<NAME> (PATD_LISTEN, PATD_DATA_DIR, PATD_DB,\n"
          "PATD_CONFIG, PATD_TOKEN_PREFIX, PATD_PUBLIC_URL, PATD_THREADS). On first start the\n"
          "superuser 'admin' is created with PATD_ADMIN_PASSWORD, or a random password that\n"
          "is printed once.\n"
          "\n"
          "admin reset-password USERNAME: gives USERNAME a new random password, printed\n"
          "once, and signs them out everywhere; works while patd runs or not.\n"
          "\n"
          "store copy --from URL --to URL: copies everything (people, tokens with their\n"
          "hashes, sessions, audit, settings) into an empty store in one transaction and\n"
          "checks the counts; e.g. --from sqlite:var/patd.db --to postgresql://host/patd.\n"
          "Stop patd first; then start every instance with the same server.key.\n"
          "\n"
          "keys rotate: a new signing key for exchanged JWTs, published at once and\n"
          "signing after jwks_publish_ahead_seconds; works while patd runs or not.\n",
          to);
}

static int read_file(const char *path, pat_buf *out)
{
    char chunk[4096];
    FILE *f = fopen(path, "rb");
    size_t n;
    int rc = PAT_OK;

    if (!f)
        return pat_error_set(PAT_EIO, NULL, "cannot open %s: %s", path, strerror(errno));
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if ((rc = pat_buf_append(out, chunk, n)) < 0)
            break;
    }
    fclose(f);
    return rc;
}

static int load_config(pat_config *cfg, const char *path)
{
    pat_buf text;
    int rc;

    pat_buf_init(&text, PAT_CONFIG_TEXT_MAX);
    if ((rc = read_file(path, &text)) == PAT_OK)
        rc = pat_config_parse(cfg, text.data ? text.data : "", text.len);
    pat_buf_dispose(&text);
    return rc;
}

/* Reads the server key from server_key_file (default DATA_DIR/server.key),
 * creating it (mode 0600) on first start. */
static int server_key(const pat_config *cfg, uint8_t key[PAT_KEY_LEN])
{
    char path[PAT_CONFIG_PATH_MAX + 32];
    int fd;
    ssize_t n;

    if (cfg->server_key_file[0])
        snprintf(path, sizeof(path), "%s", cfg->server_key_file);
    else
        snprintf(path, sizeof(path), "%s/server.key", cfg->data_dir);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
            return pat_error_set(PAT_EIO, NULL, "cannot create %s: %s", path, strerror(errno));
        randombytes_buf(key, PAT_KEY_LEN);
        n = write(fd, key, PAT_KEY_LEN);
        if (n != PAT_KEY_LEN || fsync(fd) != 0) {
            close(fd);
            unlink(path);
            return pat_error_set(PAT_EIO, NULL, "cannot write %s", path);
        }
        close(fd);
        pat_log_info("created server key %s", path);
        return PAT_OK;
    }
    if (fd < 0)
        return pat_error_set(PAT_EIO, NULL, "cannot open %s: %s", path, strerror(errno));
    n = read(fd, key, PAT_KEY_LEN);
    close(fd);
    if (n != PAT_KEY_LEN)
        return pat_error_set(PAT_EIO, NULL, "%s is not a %d-byte key", path, PAT_KEY_LEN);
    return PAT_OK;
}

static int apply_env(pat_config *cfg)
{
    static const struct {
        const char *env, *key;
    } vars[] = {
        {"PATD_LISTEN", "listen"},
        {"PATD_DATA_DIR", "data_dir"},
        {"PATD_DB", "db"},
        {"PATD_SERVER_KEY_FILE", "server_key_file"},
        {"PATD_CACHE_STALE_SECONDS", "cache_stale_seconds"},
        {"PATD_JWT_LIFETIME_SECONDS", "jwt_lifetime_seconds"},
        {"PATD_JWT_ALGORITHM", "jwt_algorithm"},
        {"PATD_SMTP_URL", "smtp_url"},
        {"PATD_SMTP_STARTTLS", "smtp_starttls"},
        {"PATD_SMTP_USER", "smtp_user"},
        {"PATD_SMTP_CA_FILE", "smtp_ca_file"},
        {"PATD_SMTP_PASSWORD_FILE", "smtp_password_file"},
        {"PATD_MAIL_FROM", "mail_from"},
        {"PATD_EXPIRY_REMINDER_DAYS", "expiry_reminder_days"},
        {"PATD_EXPIRY_CHECK_SECONDS", "expiry_check_seconds"},
        {"PATD_TOKEN_PREFIX", "token_prefix"},
        {"PATD_PUBLIC_URL", "public_url"},
        {"PATD_THREADS", "threads"},
        {"PATD_TRUSTED_PROXIES", "trusted_proxies"},
        {"PATD_LAST_USE_FLUSH_SECONDS", "last_use_flush_seconds"},
        {"PATD_AUTH_FAIL_LIMIT", "auth_fail_limit"},
        {"PATD_AUTH_FAIL_WINDOW_SECONDS", "auth_fail_window_seconds"},
        {"PATD_AUTH_FAIL_EXEMPT", "auth_fail_exempt"},
        {"PATD_LOG_FORMAT", "log_format"},
        {"PATD_LOG_FILE", "log_file"},
        {"PATD_CONNECTIONS_PER_ADDRESS", "connections_per_address"},
        {"PATD_REQUEST_DEADLINE_SECONDS", "request_deadline_seconds"},
        {"PATD_LAST_USE_GRANULARITY_SECONDS", "last_use_granularity_seconds"},
        {"PATD_NEW_CLIENT_LEARNING_SECONDS", "new_client_learning_seconds"},
        {"PATD_NEW_CLIENT_ALERT_INTERVAL_SECONDS", "new_client_alert_interval_seconds"},
        {"PATD_CANARY_ALERT_INTERVAL_SECONDS", "canary_alert_interval_seconds"},
        {"PATD_LEAST_PRIVILEGE_DAYS", "least_privilege_days"},
        {"PATD_ALERT_ON_NEW_SCOPE", "alert_on_new_scope"},
        {"PATD_LEAST_PRIVILEGE_SECONDS", "least_privilege_seconds"},
    };
    int rc;

    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
        const char *v = getenv(vars[i].env);
        if (v && *v && (rc = pat_config_set(cfg, vars[i].key, v)) < 0)
            return pat_error_set(rc, NULL, "%s: %s", vars[i].env, pat_error_last()->message);
    }
    return PAT_OK;
}

/* The whole configuration: defaults < file < PATD_* variables < flags. */
static int build_config(pat_config *cfg, const char *path, const char *flag_listen,
                        const char *flag_data_dir, const char *flag_db)
{
    int rc;

    pat_config_defaults(cfg);
    if ((path && *path && (rc = load_config(cfg, path)) < 0) || (rc = apply_env(cfg)) < 0 ||
        (flag_listen && (rc = pat_config_set(cfg, "listen", flag_listen)) < 0) ||
        (flag_data_dir && (rc = pat_config_set(cfg, "data_dir", flag_data_dir)) < 0) ||
        (flag_db && (rc = pat_config_set(cfg, "db", flag_db)) < 0))
        return rc;
    return PAT_OK;
}

/* patd store copy: from and to are store URLs. */
static int store_copy(const char *from_url, const char *to_url)
{
    pat_store *from = NULL, *to = NULL;
    pat_store_counts n;
    int rc;

    if (!from_url || !to_url)
        return pat_error_set(PAT_EINVAL, NULL, "store copy needs --from URL and --to URL");
    if ((rc = pat_store_open(&from, from_url)) < 0 || (rc = pat_store_open(&to, to_url)) < 0 ||
        (rc = pat_store_copy(from, to, &n)) < 0)
        goto out;
    printf("copied %lld people, %lld tokens, %lld sessions, %lld audit events, %lld settings; "
           "the counts match\n",
           (long long)n.users, (long long)n.tokens, (long long)n.sessions, (long long)n.audit,
           (long long)n.settings);
out:
    pat_store_close(to);
    pat_store_close(from);
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},   {"listen", required_argument, NULL, 'l'},
        {"data-dir", required_argument, NULL, 'd'}, {"db", required_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'},           {"from", required_argument, NULL, 'f'},
        {"to", required_argument, NULL, 't'},       {NULL, 0, NULL, 0},
    };
    const char *flag_listen = NULL, *flag_data_dir = NULL, *flag_db = NULL, *reset_user = NULL;
    const char *flag_from = NULL, *flag_to = NULL;
    bool rotate_keys = false;
    const char *config_path = getenv("PATD_CONFIG");
    pat_config *cfg = pat_calloc(1, sizeof(*cfg));
    pat_store *store = NULL;
    pat_service *svc = NULL;
    pat_server *srv = NULL;
    pat_service_options so;
    pat_http_options ho = {.listen_fd = -1};
    char db_url[PAT_CONFIG_PATH_MAX + 32];
    char generated[33];
    bool created = false, was_generated = false;
    sigset_t sigs;
    int sig, opt, rc = PAT_OK, status = 1;

    memset(&so, 0, sizeof(so));
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'c':
            config_path = optarg;
            break;
        case 'l':
            flag_listen = optarg;
            break;
        case 'd':
            flag_data_dir = optarg;
            break;
        case 'b':
            flag_db = optarg;
            break;
        case 'f':
            flag_from = optarg;
            break;
        case 't':
            flag_to = optarg;
            break;
        case 'h':
            usage(stdout);
            status = 0;
            goto out;
        default:
            usage(stderr);
            status = 2;
            goto out;
        }
    }
    /* Positional words name an admin command; without any, patd serves. */
    if (argc - optind == 2 && strcmp(argv[optind], "store") == 0 &&
        strcmp(argv[optind + 1], "copy") == 0) {
        if (sodium_init() < 0 || store_copy(flag_from, flag_to) < 0) {
            pat_log_flush_all();
            fprintf(stderr, "patd: %s\n", pat_error_last()->message);
            goto out;
        }
        status = 0;
        goto out;
    }
    rotate_keys = argc - optind == 2 && strcmp(argv[optind], "keys") == 0 &&
                  strcmp(argv[optind + 1], "rotate") == 0;
    if (optind < argc && !rotate_keys &&
        !(argc - optind == 3 && strcmp(argv[optind], "admin") == 0 &&
          strcmp(argv[optind + 1], "reset-password") == 0)) {
        usage(stderr);
        status = 2;
        goto out;
    }
    reset_user = optind < argc && !rotate_keys ? argv[optind + 2] : NULL;
    /* SIGINT and SIGTERM are taken by sigwait below, once serving: one that
     * arrives while patd starts (its port already bound, the first
     * superuser being created) waits for that to finish, then stops it
     * cleanly. Blocked before any thread starts, so all inherit it. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    if (sodium_init() < 0) {
        fputs("patd: libsodium failed to start\n", stderr);
        goto out;
    }
    /* No core dumps: MHD's buffers and ours briefly hold token values and
     * passwords, which must never land on disk. */
    {
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
#ifndef __SANITIZE_ADDRESS__
        /* Also for a piped core_pattern, which ignores RLIMIT_CORE. Not
         * under ASan: LeakSanitizer needs to ptrace its own threads. */
        prctl(PR_SET_DUMPABLE, 0);
#endif
    }
    /* patd's own lines go out in per-thread blocks (util/log.c); what else
     * reaches stderr through stdio (libmicrohttpd's rare messages) a line
     * at a time. */
    setvbuf(stderr, NULL, _IOLBF, 0);
    if ((rc = build_config(cfg, config_path, flag_listen, flag_data_dir, flag_db)) < 0)
        goto fail;
    /* The server's lines only: a one-off command run by an operator
     * (keys rotate, admin reset-password) answers on the terminal. */
    if (cfg->log_file[0] && !rotate_keys && !reset_user &&
        (rc = pat_log_open_file(cfg->log_file)) < 0)
        goto fail;
    pat_log_set_format(cfg->log_json ? PAT_LOG_JSON : PAT_LOG_TEXT);
    if (mkdir(cfg->data_dir, 0700) != 0 && errno != EEXIST) {
        rc = pat_error_set(PAT_EIO, NULL, "cannot create %s: %s", cfg->data_dir, strerror(errno));
        goto fail;
    }
    if ((rc = server_key(cfg, so.key)) < 0)
        goto fail;
    if (cfg->db[0])
        snprintf(db_url, sizeof(db_url), "%s", cfg->db);
    else
        snprintf(db_url, sizeof(db_url), "sqlite:%s/patd.db", cfg->data_dir);
    if ((rc = pat_store_open(&store, db_url)) < 0)
        goto fail;
    so.store = store;
    so.config = cfg;
    so.background = reset_user == NULL && !rotate_keys;
    if ((rc = pat_service_new(&svc, &so)) < 0)
        goto fail;
    if (rotate_keys) {
        char kid[64];
        if ((rc = pat_service_keys_rotate(svc, NULL, NULL, kid)) < 0)
            goto fail;
        printf("new signing key %s: published now, signs in %d seconds\n", kid,
               cfg->jwks_publish_ahead_seconds >= 0 ? cfg->jwks_publish_ahead_seconds
                                                    : cfg->jwks_max_age_seconds);
        status = 0;
        goto out;
    }
    if (reset_user) {
        if ((rc = pat_users_reset_password(svc, reset_user, generated)) < 0)
            goto fail;
        /* stdout, once, for the operator; never the log. */
        printf("new password for %s: %s\n(shown once; they were signed out everywhere)\n",
               reset_user, generated);
        fflush(stdout);
        sodium_memzero(generated, sizeof(generated));
        status = 0;
        goto out;
    }
    signal(SIGPIPE, SIG_IGN);
    ho.listen = cfg->listen;
    ho.threads = cfg->threads;
    ho.public_url = cfg->public_url;
    ho.connections_per_address = cfg->connections_per_address;
    ho.request_deadline_seconds = cfg->request_deadline_seconds;
    ho.trusted_proxies = &cfg->trusted_proxies;
    ho.shared_store = pat_store_shared(store);
    /* Bind before creating the first superuser (a busy port must not leave
     * behind an account whose password was never shown), and serve after
     * it (the first request may be its sign-in). */
    if ((rc = pat_http_listen(cfg->listen, &ho.listen_fd)) < 0 ||
        (rc = pat_service_bootstrap(svc, getenv("PATD_ADMIN_PASSWORD"), generated, &was_generated,
                                    &created)) < 0 ||
        (rc = pat_http_start(&srv, svc, &ho)) < 0)
        goto fail;
    pat_log_info("patd listening on %s (data dir %s)", cfg->listen, cfg->data_dir);
    printf("patd is running: open http://%s/ (stop with Ctrl-C)\n", cfg->listen);
    if (created && was_generated) {
        /* stdout, once, for the person starting it; never the log. */
        printf("first start: created superuser 'admin' with password: %s\n"
               "(shown once; set PATD_ADMIN_PASSWORD before the first start to choose it)\n",
               generated);
    } else if (created) {
        printf("first start: created superuser 'admin' with the password in "
               "PATD_ADMIN_PASSWORD\n");
    }
    fflush(stdout);
    sodium_memzero(generated, sizeof(generated));
    /* SIGHUP reads the configuration again and puts it in force without
     * dropping a connection; a configuration that does not parse changes
     * nothing (the running one stays, the error is logged). */
    while (sigwait(&sigs, &sig) == 0 && sig == SIGHUP) {
        pat_config *fresh = pat_calloc(1, sizeof(*fresh));
        if (build_config(fresh, config_path, flag_listen, flag_data_dir, flag_db) < 0) {
            pat_log_error("reload: %s; the running configuration stays",
                          pat_error_last()->message);
            pat_log_flush_all();
            free(fresh);
            continue;
        }
        /* After logrotate moved the file: lines from now on go to a new
         * one at the configured path. A path that cannot be opened keeps
         * the current destination (and says so there). */
        if (fresh->log_file[0] && pat_log_open_file(fresh->log_file) < 0)
            pat_log_error("reload: %s; logging where it did", pat_error_last()->message);
        pat_log_set_format(fresh->log_json ? PAT_LOG_JSON : PAT_LOG_TEXT);
        pat_service_reconfigure(svc, fresh);
        pat_log_flush_all();
    }
    pat_log_info("signal %d: shutting down", sig);
    fflush(stderr);
    status = 0;
    goto out;
fail:
    pat_log_flush_all(); /* lines logged before the failure come before its message */
    fprintf(stderr, "patd: %s\n", pat_error_last()->message);
out:
    fflush(stderr);
    pat_http_stop(srv);
    pat_service_free(svc);
    pat_store_close(store);
    sodium_memzero(&so, sizeof(so));
    free(cfg);
    return status;
}
