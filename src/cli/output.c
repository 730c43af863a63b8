/* How the CLI prints: escaped text, relative times, tables, JSON. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "util/mem.h"
#include "util/time.h"

void pat_cli_print_escaped(FILE *to, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\n')
            fputs("\\n", to);
        else if (*p == '\t')
            fputs("\\t", to);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(to, "\\x%02x", *p);
        else
            fputc(*p, to);
    }
}

void pat_cli_relative(char *out, size_t outsz, const char *rfc3339, int64_t now)
{
    static const struct {
        int64_t seconds;
        const char *unit;
    } units[] = {{365 * 86400, "year"}, {30 * 86400, "month"}, {86400, "day"},
                 {3600, "hour"},        {60, "minute"},        {1, "second"}};
    int64_t t, d;

    if (!rfc3339 || pat_time_parse(rfc3339, &t) < 0) {
        snprintf(out, outsz, "never");
        return;
    }
    d = t - now;
    if (d > -5 && d < 5) {
        snprintf(out, outsz, "just now");
        return;
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        int64_t n = (d < 0 ? -d : d) / units[i].seconds;
        if (n >= 1) {
            snprintf(out, outsz, d < 0 ? "%lld %s%s ago" : "in %lld %s%s", (long long)n,
                     units[i].unit, n == 1 ? "" : "s");
            return;
        }
    }
}

/* Display width of s: code points, close enough for names in a table. */
static size_t width(const char *s)
{
    size_t w = 0;

    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        w += (*p & 0xC0) != 0x80;
    return w;
}

/* s with control characters escaped, into a fresh string (caller frees). */
static char *escaped(const char *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    pat_cli_print_escaped(f, s);
    fclose(f);
    return buf;
}

void pat_cli_table(const pat_cli *c, const char *const *header, size_t cols,
                   const char *const *cells, size_t rows)
{
    size_t *w = pat_calloc(cols, sizeof(*w));
    char **esc = pat_calloc(rows * cols + 1, sizeof(*esc));

    for (size_t j = 0; j < cols; j++)
        w[j] = width(header[j]);
    for (size_t i = 0; i < rows * cols; i++) {
        esc[i] = escaped(cells[i] ? cells[i] : "");
        if (width(esc[i]) > w[i % cols])
            w[i % cols] = width(esc[i]);
    }
    for (size_t i = 0; i <= rows; i++) {
        for (size_t j = 0; j < cols; j++) {
            const char *s = i == 0 ? header[j] : esc[(i - 1) * cols + j];
            if (!c->tty) {
                printf("%s%s", j ? "\t" : "", s);
            } else if (j + 1 < cols) {
                printf("%s%*s", s, (int)(w[j] - width(s) + 2), "");
            } else {
                printf("%s", s);
            }
        }
        putchar('\n');
    }
    for (size_t i = 0; i < rows * cols; i++)
        free(esc[i]);
    free(esc);
    free(w);
}

void pat_cli_print_json(json_t *v)
{
    char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

    if (s) {
        puts(s);
        free(s);
    }
}
