/* The sender: one thread delivers the outbox through libcurl's SMTP
 * (smtp:// or smtps://, STARTTLS as configured, AUTH with smtp_user and
 * the password in smtp_password_file), off every request's path. A message
 * is claimed (leased) before it is sent, so another instance's sender does
 * not take it too; a failure backs off from a minute, doubling to an hour,
 * and gives up a day after the message was made. Without smtp_url,
 * messages stay pending. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <sodium.h>

#include "core/mail.h"
#include "service/service_int.h"
#include "util/error.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/time.h"

#define BATCH 20
#define LEASE_SECONDS 300
#define FIRST_RETRY 60
#define LAST_RETRY 3600
#define GIVE_UP_AFTER 86400
#define PASSWORD_MAX 256

typedef struct upload {
    const char *data;
    size_t len, pos;
} upload;

static size_t read_upload(char *buf, size_t size, size_t nitems, void *arg)
{
    upload *u = arg;
    size_t room = size * nitems, n = u->len - u->pos < room ? u->len - u->pos : room;

    memcpy(buf, u->data + u->pos, n);
    u->pos += n;
    return n;
}

/* Reads smtp_password_file (one line) into out. */
static int read_password(const char *path, char out[PASSWORD_MAX])
{
    FILE *f = fopen(path, "r");
    size_t n;

    if (!f)
        return pat_error_set(PAT_EIO, NULL, "cannot read smtp_password_file: %s", strerror(errno));
    n = fread(out, 1, PASSWORD_MAX - 1, f);
    fclose(f);
    out[n] = '\0';
    out[strcspn(out, "\r\n")] = '\0';
    return PAT_OK;
}

/* Sends one message; PAT_OK or PAT_EIO with curl's reason in err. */
static int deliver(pat_service *svc, const pat_outbox_rec *m, char err[PAT_MAIL_ERROR_MAX])
{
    const pat_config *cfg = svc->config;
    char errbuf[CURL_ERROR_SIZE] = "", from[300], to[300], password[PASSWORD_MAX] = "";
    struct curl_slist *rcpt = NULL;
    pat_buf text;
    upload up;
    CURL *curl;
    CURLcode cc;
    int rc;

    pat_buf_init(&text, PAT_MAIL_BODY_MAX * 2);
    if ((rc = pat_mail_format(&text, svc->clock(), cfg->mail_from, m->recipient, m->subject,
                              m->message_id, m->body)) < 0) {
        snprintf(err, PAT_MAIL_ERROR_MAX, "%s", pat_error_last()->message);
        pat_buf_dispose(&text);
        return rc;
    }
    if (cfg->smtp_password_file[0] && (rc = read_password(cfg->smtp_password_file, password)) < 0) {
        snprintf(err, PAT_MAIL_ERROR_MAX, "%s", pat_error_last()->message);
        pat_buf_dispose(&text);
        return rc;
    }
    if (!(curl = curl_easy_init())) {
        snprintf(err, PAT_MAIL_ERROR_MAX, "cannot start libcurl");
        pat_buf_dispose(&text);
        return PAT_EIO;
    }
    snprintf(from, sizeof(from), "<%s>", cfg->mail_from);
    snprintf(to, sizeof(to), "<%s>", m->recipient);
    rcpt = curl_slist_append(rcpt, to);
    up = (upload){text.data, text.len, 0};
    curl_easy_setopt(curl, CURLOPT_URL, cfg->smtp_url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_upload);
    curl_easy_setopt(curl, CURLOPT_READDATA, &up);
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_USE_SSL,
                     cfg->smtp_starttls == PAT_STARTTLS_REQUIRED ? (long)CURLUSESSL_ALL
                     : cfg->smtp_starttls == PAT_STARTTLS_OFF    ? (long)CURLUSESSL_NONE
                                                                 : (long)CURLUSESSL_TRY);
    if (cfg->smtp_ca_file[0])
        curl_easy_setopt(curl, CURLOPT_CAINFO, cfg->smtp_ca_file);
    if (cfg->smtp_user[0]) {
        curl_easy_setopt(curl, CURLOPT_USERNAME, cfg->smtp_user);
        curl_easy_setopt(curl, CURLOPT_PASSWORD, password);
    }
    cc = curl_easy_perform(curl);
    rc = cc == CURLE_OK ? PAT_OK : PAT_EIO;
    if (rc < 0)
        snprintf(err, PAT_MAIL_ERROR_MAX, "%s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(curl);
    sodium_memzero(password, sizeof(password));
    pat_buf_dispose(&text);
    return rc;
}

static void send_due(pat_service *svc)
{
    pat_outbox_rec *list = NULL;
    int64_t now = svc->clock();
    size_t n = 0;

    if (pat_store_outbox_claim(svc->store, now, now + LEASE_SECONDS, BATCH, &list, &n) < 0) {
        pat_log_error("mail: cannot read the outbox: %s", pat_error_last()->message);
        return;
    }
    for (size_t i = 0; i < n && !atomic_load(&svc->sender_stop); i++) {
        pat_outbox_rec *m = &list[i];
        char err[PAT_MAIL_ERROR_MAX] = "";
        int attempts = m->attempts + 1;
        if (deliver(svc, m, err) == PAT_OK) {
            pat_store_outbox_mark(svc->store, m->id, PAT_MAIL_SENT, attempts, 0, svc->clock(), "");
            pat_log_info("mail: sent message %lld", (long long)m->id);
        } else {
            int64_t delay = FIRST_RETRY, t = svc->clock();
            for (int k = 1; k < attempts && delay < LAST_RETRY; k++)
                delay *= 2;
            if (delay > LAST_RETRY)
                delay = LAST_RETRY;
            pat_store_outbox_mark(svc->store, m->id,
                                  t - m->created_at >= GIVE_UP_AFTER ? PAT_MAIL_FAILED
                                                                     : PAT_MAIL_PENDING,
                                  attempts, t + delay, 0, err);
            pat_log_error("mail: message %lld not sent (attempt %d): %s", (long long)m->id,
                          attempts, err);
        }
    }
    sodium_memzero(list, n * sizeof(*list));
    free(list);
}

static void update_counts(pat_service *svc)
{
    pat_outbox_counts c;

    if (pat_store_outbox_counts(svc->store, &c) == PAT_OK) {
        atomic_store(&svc->mail_pending, c.pending);
        atomic_store(&svc->mail_sent, c.sent);
        atomic_store(&svc->mail_failed, c.failed);
        atomic_store(&svc->mail_oldest_pending_at, c.oldest_pending_at);
    }
}

static void *sender_main(void *arg)
{
    pat_service *svc = arg;

    pthread_mutex_lock(&svc->sender_lock);
    while (!atomic_load(&svc->sender_stop)) {
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += 1;
        if (!svc->sender_woken)
            pthread_cond_timedwait(&svc->sender_wake, &svc->sender_lock, &deadline);
        svc->sender_woken = false;
        pthread_mutex_unlock(&svc->sender_lock);
        if (svc->config->smtp_url[0])
            send_due(svc);
        update_counts(svc);
        pthread_mutex_lock(&svc->sender_lock);
    }
    pthread_mutex_unlock(&svc->sender_lock);
    return NULL;
}

void pat_sender_wake(pat_service *svc)
{
    if (!svc->sending)
        return;
    pthread_mutex_lock(&svc->sender_lock);
    svc->sender_woken = true;
    pthread_cond_signal(&svc->sender_wake);
    pthread_mutex_unlock(&svc->sender_lock);
}

static void curl_start(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

int pat_sender_start(pat_service *svc)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;

    pthread_once(&once, curl_start);
    /* A restart tries what waited at once (one instance on SQLite; on a
     * shared store the others' leases are left alone). */
    if (!svc->shared && svc->config->smtp_url[0])
        pat_store_outbox_retry_all(svc->store, svc->clock());
    atomic_store(&svc->sender_stop, false);
    if (pthread_create(&svc->sender, NULL, sender_main, svc) != 0)
        return pat_error_set(PAT_EIO, NULL, "cannot start the mail sender");
    svc->sending = true;
    return PAT_OK;
}

void pat_sender_stop(pat_service *svc)
{
    if (!svc->sending)
        return;
    pthread_mutex_lock(&svc->sender_lock);
    atomic_store(&svc->sender_stop, true);
    pthread_cond_signal(&svc->sender_wake);
    pthread_mutex_unlock(&svc->sender_lock);
    pthread_join(svc->sender, NULL);
    svc->sending = false;
}
