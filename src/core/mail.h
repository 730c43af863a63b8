#ifndef PAT_CORE_MAIL_H
#define PAT_CORE_MAIL_H
/* Email messages as RFC 5322 text (pure: no network). The sender
 * (service/sender.c) hands the text to libcurl's SMTP. */
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* Appends the message to out: Date (date, UTC), From, To, Subject (RFC
 * 2047 base64 encoded-words when it is not plain ASCII), Message-ID,
 * MIME-Version and a UTF-8 plain-text body with CRLF line ends. from and
 * to are bare addresses; a CR or LF in any header value is refused
 * (PAT_EINVAL): no header can be injected. */
int pat_mail_format(pat_buf *out, int64_t date, const char *from, const char *to,
                    const char *subject, const char *message_id, const char *body);

/* A Message-ID for a new message: "<random@domain>" into out (outsz
 * >= 64 + strlen(domain)). */
void pat_mail_message_id(char *out, size_t outsz, const char *domain);

#endif
