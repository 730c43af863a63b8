/* core/mail.c: RFC 5322 messages, RFC 2047 subjects, no header injection. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "core/mail.h"
#include "util/error.h"

static void test_mail__headers_body_and_crlf(void **state)
{
    pat_buf b;

    (void)state;
    pat_buf_init(&b, 1 << 16);
    /* 2026-12-01T10:00:00Z is a Tuesday. */
    assert_int_equal(pat_mail_format(&b, 1796119200, "patd@example.com", "ann@example.com",
                                     "[patd] hello", "<x@example.com>", "line one\nline two"),
                     PAT_OK);
    assert_non_null(strstr(b.data, "Date: Tue, 01 Dec 2026 10:00:00 +0000\r\n"));
    assert_non_null(strstr(b.data, "From: patd@example.com\r\nTo: ann@example.com\r\n"));
    assert_non_null(strstr(b.data, "Subject: [patd] hello\r\n"));
    assert_non_null(strstr(b.data, "Message-ID: <x@example.com>\r\n"));
    assert_non_null(strstr(b.data, "Content-Type: text/plain; charset=utf-8\r\n"));
    assert_non_null(strstr(b.data, "\r\n\r\nline one\r\nline two\r\n"));
    assert_null(strstr(b.data, "two\n\n"));
    pat_buf_dispose(&b);
}

static void test_mail__utf8_subject_is_encoded_words(void **state)
{
    pat_buf b;
    const char *subject = "[patd] Votre jeton « déploiement-été » a été créé — ça marche très bien";
    char *start, *end;

    (void)state;
    pat_buf_init(&b, 1 << 16);
    assert_int_equal(pat_mail_format(&b, 0, "a@b", "c@d", subject, "<m@x>", "x"), PAT_OK);
    start = strstr(b.data, "Subject: ");
    end = strstr(start, "\r\nMessage-ID");
    assert_non_null(start);
    assert_non_null(strstr(start, "=?UTF-8?B?"));
    /* Every encoded-word is at most 75 characters; no raw 8-bit byte. */
    for (char *w = strstr(start, "=?"); w && w < end; w = strstr(w + 2, "=?")) {
        char *close = strstr(w + 2, "?=");
        char *mid = strstr(w + 10, "?=");
        assert_non_null(close);
        assert_true(mid - w + 2 <= 75);
    }
    for (char *p = start; p < end; p++)
        assert_true((unsigned char)*p < 0x80);
    pat_buf_dispose(&b);
}

static void test_mail__no_header_injection(void **state)
{
    pat_buf b;

    (void)state;
    pat_buf_init(&b, 1 << 16);
    assert_int_equal(pat_mail_format(&b, 0, "a@b", "c@d\r\nBcc: evil@x", "s", "<m@x>", "x"),
                     PAT_EINVAL);
    assert_int_equal(pat_mail_format(&b, 0, "a@b", "c@d", "s\nBcc: evil@x", "<m@x>", "x"),
                     PAT_EINVAL);
    pat_buf_dispose(&b);
}

static void test_mail__message_ids_are_unique(void **state)
{
    char a[128], b[128];

    (void)state;
    pat_mail_message_id(a, sizeof(a), "tokens.example.com");
    pat_mail_message_id(b, sizeof(b), "tokens.example.com");
    assert_string_not_equal(a, b);
    assert_int_equal(a[0], '<');
    assert_non_null(strstr(a, "@tokens.example.com>"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mail__headers_body_and_crlf),
        cmocka_unit_test(test_mail__utf8_subject_is_encoded_words),
        cmocka_unit_test(test_mail__no_header_injection),
        cmocka_unit_test(test_mail__message_ids_are_unique),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
