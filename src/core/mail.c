#include "core/mail.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "core/jwt.h"
#include "util/error.h"

/* RFC 2047: an encoded-word is at most 75 characters; 45 bytes of UTF-8
 * become 60 of base64, inside "=?UTF-8?B?" and "?=". */
#define WORD_BYTES 45

static bool has_line_break(const char *s)
{
    return strpbrk(s, "\r\n") != NULL;
}

static bool plain_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return false;
    return true;
}

/* The subject as encoded-words, split only between UTF-8 characters and
 * folded onto continuation lines. */
static int encode_subject(pat_buf *out, const char *s)
{
    size_t n = strlen(s), pos = 0;
    int rc = PAT_OK;

    while (pos < n && rc == PAT_OK) {
        size_t take = n - pos < WORD_BYTES ? n - pos : WORD_BYTES;
        char b64[WORD_BYTES * 2];
        /* Back off to the start of a character. */
        while (take > 0 && pos + take < n && ((unsigned char)s[pos + take] & 0xC0) == 0x80)
            take--;
        sodium_bin2base64(b64, sizeof(b64), (const unsigned char *)s + pos, take,
                          sodium_base64_VARIANT_ORIGINAL);
        rc = pat_buf_printf(out, "%s=?UTF-8?B?%s?=", pos ? "\r\n " : "", b64);
        pos += take;
    }
    return rc;
}

int pat_mail_format(pat_buf *out, int64_t date, const char *from, const char *to,
                    const char *subject, const char *message_id, const char *body)
{
    char when[64];
    time_t t = (time_t)date;
    struct tm tm;
    int rc;

    if (has_line_break(from) || has_line_break(to) || has_line_break(subject) ||
        has_line_break(message_id))
        return pat_error_set(PAT_EINVAL, NULL, "a mail header holds a line break");
    gmtime_r(&t, &tm);
    /* RFC 5322 3.3, in English whatever the locale. */
    {
        static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
        static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
        snprintf(when, sizeof(when), "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday],
                 tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                 tm.tm_sec);
    }
    if ((rc = pat_buf_printf(out, "Date: %s\r\nFrom: %s\r\nTo: %s\r\nSubject: ", when, from,
                             to)) < 0)
        return rc;
    rc = plain_ascii(subject) ? pat_buf_printf(out, "%s", subject) : encode_subject(out, subject);
    if (rc < 0 ||
        (rc = pat_buf_printf(out,
                             "\r\nMessage-ID: %s\r\nMIME-Version: 1.0\r\n"
                             "Content-Type: text/plain; charset=utf-8\r\n"
                             "Content-Transfer-Encoding: 8bit\r\n"
                             "Auto-Submitted: auto-generated\r\n\r\n",
                             message_id)) < 0)
        return rc;
    /* Bare LFs become CRLF (RFC 5322 2.3). */
    for (const char *p = body; *p && rc == PAT_OK; p++) {
        if (*p == '\n' && (p == body || p[-1] != '\r'))
            rc = pat_buf_append(out, "\r\n", 2);
        else
            rc = pat_buf_append(out, p, 1);
    }
    if (rc == PAT_OK && (out->len < 2 || memcmp(out->data + out->len - 2, "\r\n", 2) != 0))
        rc = pat_buf_append(out, "\r\n", 2);
    return rc;
}

void pat_mail_message_id(char *out, size_t outsz, const char *domain)
{
    uint8_t raw[18];
    char id[32];

    randombytes_buf(raw, sizeof(raw));
    pat_b64url(id, sizeof(id), raw, sizeof(raw));
    snprintf(out, outsz, "<%s@%s>", id, domain && *domain ? domain : "patd.invalid");
}
