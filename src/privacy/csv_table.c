/* csv_table.c - an RFC 4180 reader and field writer for text tables.
 *
 * The whole file is read into memory and parsed in one pass into a single
 * text buffer of NUL-terminated cells plus an offset per cell: two growing
 * arrays instead of an allocation per cell. */
#include "privacy/csv_table.h"

#include <errno.h>
#include <string.h>

typedef struct builder {
    lam_csv_table *t;
    const char *name;
    size_t text_len, text_cap;
    size_t ncell, cell_cap;
    size_t nline, line_cap;
} builder;

static lam_status grow(void **p, size_t *cap, size_t need, size_t elem, const char *what)
{
    if (need <= *cap) return LAM_OK;
    size_t c = *cap ? *cap : 64;
    while (c < need) {
        if (c > SIZE_MAX / 2 / elem) return lam_error(LAM_ERR_NOMEM, "%s: too large", what);
        c *= 2;
    }
    void *q = lam_realloc(*p, c * elem);
    if (!q) return lam_error_context(LAM_ERR_NOMEM, "%s", what);
    *p = q;
    *cap = c;
    return LAM_OK;
}

static lam_status put_char(builder *b, char ch)
{
    LAM_TRY(grow((void **)&b->t->text, &b->text_cap, b->text_len + 1, 1, b->name));
    b->t->text[b->text_len++] = ch;
    return LAM_OK;
}

static lam_status start_cell(builder *b)
{
    LAM_TRY(grow((void **)&b->t->cell, &b->cell_cap, b->ncell + 1, sizeof(size_t), b->name));
    b->t->cell[b->ncell++] = b->text_len;
    return LAM_OK;
}

static lam_status start_record(builder *b, int64_t line)
{
    LAM_TRY(grow((void **)&b->t->line, &b->line_cap, b->nline + 1, sizeof(int64_t), b->name));
    b->t->line[b->nline++] = line;
    return start_cell(b);
}

/* The record that just ended has fields cells; checks it against the header. */
static lam_status end_record(builder *b, int fields, int64_t line)
{
    LAM_TRY(put_char(b, '\0'));
    if (b->nline == 1) {
        b->t->cols = fields;
        /* Distinct header names: rules address columns by name. */
        for (int i = 0; i < fields; i++)
            for (int j = 0; j < i; j++)
                if (!strcmp(b->t->text + b->t->cell[i], b->t->text + b->t->cell[j]))
                    return lam_error(LAM_ERR_FORMAT, "%s: line %lld: columns %d and %d are "
                                     "both named '%s'; header names must be distinct", b->name,
                                     (long long)line, j + 1, i + 1, b->t->text + b->t->cell[i]);
    } else if (fields != b->t->cols) {
        return lam_error(LAM_ERR_FORMAT, "%s: line %lld: %d field%s, but the header has %d",
                         b->name, (long long)line, fields, fields == 1 ? "" : "s", b->t->cols);
    }
    return LAM_OK;
}

lam_status lam_csv_table_parse(const char *s, size_t n, const char *name, lam_csv_table *out)
{
    memset(out, 0, sizeof *out);
    builder b = {.t = out, .name = name};
    size_t i = 0;
    if (n >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3)) i = 3;
    int64_t line = 1;
    lam_status st = LAM_OK;
    while (i < n && st == LAM_OK) {
        /* Blank lines between records are skipped. */
        if (s[i] == '\n' || (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')) {
            i += s[i] == '\r' ? 2 : 1;
            line++;
            continue;
        }
        int64_t rec_line = line;
        int field = 1;
        st = start_record(&b, rec_line);
        bool in_record = true;
        while (in_record && st == LAM_OK) {
            /* One field from s[i]. */
            if (i < n && s[i] == '"') {
                int64_t open_line = line;
                i++;
                for (;;) {
                    if (i >= n) {
                        st = lam_error(LAM_ERR_FORMAT, "%s: line %lld, column %d: the quoted "
                                       "field opened here is never closed", name,
                                       (long long)open_line, field);
                        break;
                    }
                    if (s[i] == '"') {
                        if (i + 1 < n && s[i + 1] == '"') {
                            st = put_char(&b, '"');
                            i += 2;
                            if (st != LAM_OK) break;
                            continue;
                        }
                        i++;
                        break;
                    }
                    if (s[i] == '\0') {
                        st = lam_error(LAM_ERR_FORMAT, "%s: line %lld, column %d: a NUL byte "
                                       "(not a text file?)", name, (long long)line, field);
                        break;
                    }
                    if (s[i] == '\n') line++;
                    st = put_char(&b, s[i++]);
                    if (st != LAM_OK) break;
                }
                if (st != LAM_OK) break;
                if (i < n && s[i] != ',' && s[i] != '\n' &&
                    !(s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')) {
                    st = lam_error(LAM_ERR_FORMAT, "%s: line %lld, column %d: '%c' after the "
                                   "closing quote (expected ',' or the end of the line)", name,
                                   (long long)line, field, s[i] >= 32 && s[i] < 127 ? s[i] : '?');
                    break;
                }
            } else {
                while (i < n && s[i] != ',' && s[i] != '\n' &&
                       !(s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')) {
                    if (s[i] == '"') {
                        st = lam_error(LAM_ERR_FORMAT, "%s: line %lld, column %d: a quote "
                                       "inside an unquoted field (quote the whole field and "
                                       "double the quote)", name, (long long)line, field);
                        break;
                    }
                    if (s[i] == '\0' || s[i] == '\r') {
                        st = lam_error(LAM_ERR_FORMAT, "%s: line %lld, column %d: a %s byte "
                                       "in an unquoted field", name, (long long)line, field,
                                       s[i] ? "bare CR" : "NUL");
                        break;
                    }
                    st = put_char(&b, s[i++]);
                    if (st != LAM_OK) break;
                }
                if (st != LAM_OK) break;
            }
            /* After the field: ',', a line end or the end of the file. */
            if (i < n && s[i] == ',') {
                i++;
                if (field == INT32_MAX / 2) {
                    st = lam_error(LAM_ERR_FORMAT, "%s: line %lld: too many fields", name,
                                   (long long)line);
                    break;
                }
                field++;
                st = put_char(&b, '\0');
                if (st == LAM_OK) st = start_cell(&b);
                continue;
            }
            if (i < n) {
                i += s[i] == '\r' ? 2 : 1;
                st = end_record(&b, field, rec_line);
                line++;
            } else {
                st = end_record(&b, field, rec_line);
            }
            in_record = false;
        }
    }
    if (st == LAM_OK && b.nline == 0)
        st = lam_error(LAM_ERR_FORMAT, "%s: empty: expected a header line naming the columns",
                       name);
    if (st != LAM_OK) {
        lam_csv_table_free(out);
        return st;
    }
    out->rows = (int64_t)b.nline - 1;
    return LAM_OK;
}

lam_status lam_csv_table_read(const char *path, lam_csv_table *out)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return lam_error(LAM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    char *buf = NULL;
    size_t n = 0, cap = 0;
    lam_status st = LAM_OK;
    for (;;) {
        st = grow((void **)&buf, &cap, n + 65536, 1, path);
        if (st != LAM_OK) break;
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) st = lam_error(LAM_ERR_IO, "%s: read failed", path);
            break;
        }
    }
    fclose(f);
    if (st == LAM_OK) st = lam_csv_table_parse(buf ? buf : "", n, path, out);
    lam_free(buf);
    return st;
}

void lam_csv_table_free(lam_csv_table *t)
{
    if (!t) return;
    lam_free(t->text);
    lam_free(t->cell);
    lam_free(t->line);
    memset(t, 0, sizeof *t);
}

bool lam_csv_write_field(FILE *f, const char *s, bool force_quote)
{
    bool quote = force_quote || strpbrk(s, ",\"\r\n") != NULL;
    if (!quote) return fputs(s, f) >= 0 || !*s;
    if (fputc('"', f) == EOF) return false;
    for (; *s; s++) {
        if (*s == '"' && fputc('"', f) == EOF) return false;
        if (fputc(*s, f) == EOF) return false;
    }
    return fputc('"', f) != EOF;
}
