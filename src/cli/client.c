/* The CLI's configuration and its HTTP client (libcurl). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "cli/cli.h"
#include "core/text.h"
#include "util/buf.h"
#include "util/error.h"

#define ANSWER_MAX (32 * 1024 * 1024)

void pat_cli_config_path(char *out, size_t outsz)
{
    const char *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");

    if (xdg && *xdg)
        snprintf(out, outsz, "%s/pat/config", xdg);
    else
        snprintf(out, outsz, "%s/.config/pat/config", home ? home : ".");
}

static void set(char *dst, size_t dstsz, const char *v)
{
    /* Longer values are cut; a cut token fails authentication, loudly. */
    pat_text_copy(dst, dstsz, v, SIZE_MAX);
    /* Trailing newline or spaces from files and pipes are not part of it. */
    for (size_t n = strlen(dst);
         n && (dst[n - 1] == '\n' || dst[n - 1] == '\r' || dst[n - 1] == ' '); n--)
        dst[n - 1] = '\0';
}

void pat_cli_load(pat_cli *c, const char *server_flag)
{
    char path[1024], line[1024];
    const char *env;
    FILE *f;

    pat_cli_config_path(path, sizeof(path));
    if ((f = fopen(path, "r"))) {
        while (fgets(line, sizeof(line), f)) {
            if (strncmp(line, "server = ", 9) == 0)
                set(c->server, sizeof(c->server), line + 9);
            else if (strncmp(line, "token = ", 8) == 0)
                set(c->token, sizeof(c->token), line + 8);
        }
        fclose(f);
        sodium_memzero(line, sizeof(line));
    }
    if ((env = getenv("PAT_SERVER")) && *env)
        set(c->server, sizeof(c->server), env);
    if ((env = getenv("PAT_TOKEN")) && *env)
        set(c->token, sizeof(c->token), env);
    if (server_flag)
        set(c->server, sizeof(c->server), server_flag);
    if (!c->server[0])
        set(c->server, sizeof(c->server), "http://127.0.0.1:8080");
}

/* mkdir -p of the directory part of path, mode 0700. */
static void make_parent(const char *path)
{
    char dir[1024];

    snprintf(dir, sizeof(dir), "%s", path);
    for (char *p = dir + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(dir, 0700);
            *p = '/';
        }
    }
}

int pat_cli_save(const pat_cli *c)
{
    char path[1024], tmp[1100];
    FILE *f;
    int fd;

    pat_cli_config_path(path, sizeof(path));
    make_parent(path);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    /* Created 0600 from the start: the token is never readable by others. */
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || !(f = fdopen(fd, "w"))) {
        fprintf(stderr, "pat: cannot write %s: %s\n", tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        return PAT_EXIT_ERROR;
    }
    fprintf(f, "# written by pat login; holds a token: keep it private\n");
    fprintf(f, "server = %s\ntoken = %s\n", c->server, c->token);
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        fprintf(stderr, "pat: cannot write %s: %s\n", path, strerror(errno));
        unlink(tmp);
        return PAT_EXIT_ERROR;
    }
    return PAT_EXIT_OK;
}

int pat_cli_forget(void)
{
    char path[1024];

    pat_cli_config_path(path, sizeof(path));
    if (unlink(path) != 0 && errno != ENOENT) {
        fprintf(stderr, "pat: cannot remove %s: %s\n", path, strerror(errno));
        return PAT_EXIT_ERROR;
    }
    return PAT_EXIT_OK;
}

static size_t on_body(char *data, size_t size, size_t n, void *userdata)
{
    pat_buf *b = userdata;

    if (pat_buf_append(b, data, size * n) < 0)
        return 0; /* too large: curl reports a write error */
    return size * n;
}

/* Keeps the console session cookie from a Set-Cookie answer header. */
static size_t on_header(char *data, size_t size, size_t n, void *userdata)
{
    pat_cli *c = userdata;
    size_t len = size * n;
    static const char name[] = "set-cookie: patd_session=";

    if (len > sizeof(name) - 1 && strncasecmp(data, name, sizeof(name) - 1) == 0) {
        const char *v = data + sizeof(name) - 1 - strlen("patd_session=");
        size_t vlen = strcspn(v, ";\r\n");
        if (vlen < sizeof(c->cookie)) {
            memcpy(c->cookie, v, vlen);
            c->cookie[vlen] = '\0';
        }
    }
    return len;
}

/* One request with payload (NULL = none) of content_type. */
static int send_request(pat_cli *c, const char *method, const char *path,
                        const char *content_type, const char *payload, long *status,
                        json_t **out)
{
    char url[PAT_CLI_URL_MAX + 1024], auth[PAT_CLI_TOKEN_MAX + 32], hdr[256];
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *headers = NULL;
    pat_buf answer;
    CURLcode cc;
    CURL *curl;
    int rc = PAT_EXIT_OK;

    *out = NULL;
    pat_buf_init(&answer, ANSWER_MAX);
    if (!(curl = curl_easy_init())) {
        fputs("pat: cannot start libcurl\n", stderr);
        return PAT_EXIT_ERROR;
    }
    snprintf(url, sizeof(url), "%s%s", c->server, path);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "pat/" PAT_VERSION);
    /* Only http and https: a server URL must not reach files or others. */
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    headers = curl_slist_append(headers, "Accept: application/json");
    if (c->cookie[0]) {
        snprintf(hdr, sizeof(hdr), "X-CSRF-Token: %s", c->csrf);
        headers = curl_slist_append(headers, hdr);
        curl_easy_setopt(curl, CURLOPT_COOKIE, c->cookie);
    } else if (c->token[0]) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", c->token);
        headers = curl_slist_append(headers, auth);
        sodium_memzero(auth, sizeof(auth));
    }
    if (payload) {
        snprintf(hdr, sizeof(hdr), "Content-Type: %s", content_type);
        headers = curl_slist_append(headers, hdr);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, payload);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(payload));
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    cc = curl_easy_perform(curl);
    if (cc != CURLE_OK) {
        fprintf(stderr, "pat: cannot reach %s: %s\n", c->server,
                errbuf[0] ? errbuf : curl_easy_strerror(cc));
        rc = PAT_EXIT_UNREACHABLE;
        goto out;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
    if (answer.len) {
        json_error_t err;
        *out = json_loadb(answer.data, answer.len, 0, &err);
        if (!*out && *status < 300) {
            fprintf(stderr, "pat: %s did not answer JSON\n", c->server);
            rc = PAT_EXIT_ERROR;
        }
    }
out:
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    pat_buf_dispose(&answer);
    return rc;
}

int pat_cli_request(pat_cli *c, const char *method, const char *path, json_t *body, long *status,
                    json_t **out)
{
    char *payload = body ? json_dumps(body, JSON_COMPACT) : NULL;
    int rc;

    if (body && !payload) {
        fputs("pat: cannot encode the request\n", stderr);
        return PAT_EXIT_ERROR;
    }
    rc = send_request(c, method, path, "application/json", payload, status, out);
    if (payload) {
        sodium_memzero(payload, strlen(payload));
        free(payload);
    }
    return rc;
}

int pat_cli_post_form(pat_cli *c, const char *path, const char *form, long *status,
                      json_t **out)
{
    return send_request(c, "POST", path, "application/x-www-form-urlencoded", form, status, out);
}

int pat_cli_fail(long status, json_t *answer)
{
    const char *message = json_string_value(json_object_get(answer, "message"));

    /* OAuth endpoints answer RFC 6749's shape. */
    if (!message)
        message = json_string_value(json_object_get(answer, "error_description"));
    const char *field = json_string_value(json_object_get(answer, "field"));

    fprintf(stderr, "pat: ");
    pat_cli_print_escaped(stderr, message ? message : "the server refused the request");
    if (field) {
        fprintf(stderr, " (");
        pat_cli_print_escaped(stderr, field);
        fprintf(stderr, ")");
    }
    fprintf(stderr, " [HTTP %ld]\n", status);
    if (status == 401 || status == 403)
        return PAT_EXIT_AUTH;
    if (status == 404)
        return PAT_EXIT_NOTFOUND;
    return PAT_EXIT_ERROR;
}

int pat_cli_call(pat_cli *c, const char *method, const char *path, json_t *body, json_t **out)
{
    long status = 0;
    json_t *answer = NULL;
    int rc = pat_cli_request(c, method, path, body, &status, &answer);

    if (rc != PAT_EXIT_OK) {
        json_decref(answer);
        return rc;
    }
    if (status >= 300) {
        rc = pat_cli_fail(status, answer);
        json_decref(answer);
        return rc;
    }
    if (out)
        *out = answer;
    else
        json_decref(answer);
    return PAT_EXIT_OK;
}

char *pat_cli_escape(const char *s)
{
    char *e = curl_easy_escape(NULL, s, 0);
    char *copy = strdup(e ? e : "");

    curl_free(e);
    return copy;
}

const char *pat_cli_text(const json_t *v)
{
    const char *s = json_string_value(v);
    return s ? s : "";
}

const char *pat_cli_str(const json_t *obj, const char *key)
{
    return pat_cli_text(json_object_get(obj, key));
}

void pat_cli_wipe_member(json_t *obj, const char *key)
{
    json_t *v = obj ? json_object_get(obj, key) : NULL;

    /* jansson owns the buffer; its length, not an assumed one, bounds the wipe. */
    if (json_is_string(v))
        sodium_memzero((char *)json_string_value(v), json_string_length(v));
}
