#ifndef PAT_CORE_TEXT_H
#define PAT_CORE_TEXT_H
#include <stddef.h>

#include <jansson.h>

/* PAT_OK if s is valid UTF-8 of min_chars..max_chars code points with no
 * control characters (newline and tab allowed when multiline); otherwise
 * PAT_EINVAL naming field. */
int pat_text_check(const char *s, const char *field, size_t min_chars, size_t max_chars,
                   int multiline);

/* Number of UTF-8 code points in s, or (size_t)-1 if s is not valid UTF-8. */
size_t pat_text_utf8_len(const char *s);

/* Copies the first n bytes of s (fewer if it ends sooner) into out,
 * truncated to fit and always terminated; returns the bytes copied.
 * outsz > 0. The cheap form of snprintf(out, outsz, "%s", s) for hot paths. */
size_t pat_text_copy(char *out, size_t outsz, const char *s, size_t n);

/* Copies s (NULL = "") into out as text any store and any JSON take: valid
 * UTF-8 without control characters, each invalid byte or control character
 * replaced by '?', cut at a character boundary to fit outsz (> 0). For what
 * clients send about themselves (User-Agent, a request path), which is
 * recorded, never refused. Returns the bytes written. */
size_t pat_text_copy_clean(char *out, size_t outsz, const char *s);

/* Copies all of s into out (outsz bytes with its NUL): PAT_OK, or
 * PAT_EINVAL (out left empty) when it does not fit. Text is never cut. */
int pat_text_set(char *out, size_t outsz, const char *s);

/* The words of a space-separated list (scopes, organizations) as a JSON
 * array of strings (a new reference). */
json_t *pat_format_words(const char *list);

#endif
