#include "core/text.h"

#include <stdint.h>
#include <string.h>

#include "util/error.h"

/* Decodes one UTF-8 sequence at s; returns its length (0 if invalid) and the
 * code point in *cp. Rejects overlong forms, surrogates and > U+10FFFF. */
static size_t decode(const unsigned char *s, uint32_t *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if ((s[0] & 0xE0) == 0xC0) {
        if ((s[1] & 0xC0) != 0x80)
            return 0;
        *cp = ((uint32_t)(s[0] & 0x1F) << 6) | (s[1] & 0x3F);
        return *cp >= 0x80 ? 2 : 0;
    }
    if ((s[0] & 0xF0) == 0xE0) {
        if ((s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
            return 0;
        *cp = ((uint32_t)(s[0] & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
        return (*cp >= 0x800 && (*cp < 0xD800 || *cp > 0xDFFF)) ? 3 : 0;
    }
    if ((s[0] & 0xF8) == 0xF0) {
        if ((s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
            return 0;
        *cp = ((uint32_t)(s[0] & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) |
              ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
        return (*cp >= 0x10000 && *cp <= 0x10FFFF) ? 4 : 0;
    }
    return 0;
}

size_t pat_text_utf8_len(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t count = 0;
    uint32_t cp;

    while (*p) {
        size_t n = decode(p, &cp);
        if (n == 0)
            return (size_t)-1;
        p += n;
        count++;
    }
    return count;
}

int pat_text_check(const char *s, const char *field, size_t min_chars, size_t max_chars,
                   int multiline)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t count = 0;
    uint32_t cp;

    while (*p) {
        size_t n = decode(p, &cp);
        if (n == 0)
            return pat_error_set(PAT_EINVAL, field, "%s is not valid UTF-8", field);
        if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0)) {
            if (!(multiline && (cp == '\n' || cp == '\t' || cp == '\r')))
                return pat_error_set(PAT_EINVAL, field, "%s must not contain control characters",
                                     field);
        }
        p += n;
        count++;
    }
    if (count < min_chars) {
        if (min_chars == 1)
            return pat_error_set(PAT_EINVAL, field, "%s is required", field);
        return pat_error_set(PAT_EINVAL, field, "%s must be at least %zu characters", field,
                             min_chars);
    }
    if (count > max_chars)
        return pat_error_set(PAT_EINVAL, field, "%s must be at most %zu characters", field,
                             max_chars);
    return PAT_OK;
}

size_t pat_text_copy(char *out, size_t outsz, const char *s, size_t n)
{
    size_t len = strnlen(s, n);

    if (len >= outsz)
        len = outsz - 1;
    memcpy(out, s, len);
    out[len] = '\0';
    return len;
}

size_t pat_text_copy_clean(char *out, size_t outsz, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t len = 0;
    uint32_t cp;

    while (*p) {
        size_t n = decode(p, &cp);
        const unsigned char *from = p;
        if (n == 0 || cp < 0x20 || cp == 0x7F) {
            from = (const unsigned char *)"?";
            p += n ? n : 1;
            n = 1;
        } else {
            p += n;
        }
        if (len + n >= outsz)
            break;
        memcpy(out + len, from, n);
        len += n;
    }
    out[len] = '\0';
    return len;
}

int pat_text_set(char *out, size_t outsz, const char *s)
{
    size_t n = strlen(s);

    if (n >= outsz) {
        if (outsz)
            out[0] = '\0';
        return pat_error_set(PAT_EINVAL, NULL, "text of %zu bytes does not fit in %zu", n,
                             outsz ? outsz - 1 : 0);
    }
    memcpy(out, s, n + 1);
    return PAT_OK;
}

json_t *pat_format_words(const char *list)
{
    json_t *a = json_array();
    const char *p = list;

    while (*p) {
        const char *end = strchr(p, ' ');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n)
            json_array_append_new(a, json_stringn(p, n));
        if (!end)
            break;
        p = end + 1;
    }
    return a;
}
