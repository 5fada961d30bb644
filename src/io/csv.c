/* csv.c - numeric CSV tables: one sample a row, one column the class label.
 *
 * Decisions:
 *   - The whole file is read into memory and parsed twice: once to validate
 *     and count rows, once to fill the data set. That keeps one allocation
 *     for the samples and lets every error point at the exact line/column.
 *   - Lines end in LF or CRLF; a UTF-8 byte-order mark is skipped; blank
 *     (or whitespace-only) lines are skipped wherever they are, as pandas does.
 *   - A field may be quoted ("1.5", "" escapes a quote) so that files written
 *     with quoting on still load; a quoted field cannot span lines.
 *   - Spaces and tabs around a field are ignored unless they are the delimiter.
 *   - Features must be finite: NaN/inf (often a missing value) is rejected
 *     rather than left to poison training later.
 *   - Labels must be integers >= 0 (written "3" or "3.0").
 *   - Numbers are parsed with strtod, which follows LC_NUMERIC; the library
 *     never changes the locale, so in the default "C" locale '.' is the
 *     decimal point.
 */
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

lam_csv_options lam_csv_defaults(void)
{
    lam_csv_options o;
    o.header = true;
    o.label_column = NULL;
    o.label_index = 0;
    o.delimiter = ',';
    o.scale = 1.0f;
    return o;
}

/* Reads a whole file into a NUL-terminated lam_malloc'ed buffer. */
static lam_status read_whole_file(const char *path, const char *kind, char **out,
                                  size_t *len)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return lam_error(LAM_ERR_IO, "%s: cannot open %s file: %s", path, kind,
                         strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = lam_malloc(cap);
    if (!buf) {
        fclose(f);
        return LAM_ERR_NOMEM;
    }
    for (;;) {
        if (cap - n < 2) {
            char *nb = lam_realloc(buf, cap * 2);
            if (!nb) {
                lam_free(buf);
                fclose(f);
                return LAM_ERR_NOMEM;
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0) break;
    }
    if (ferror(f)) {
        int e = errno;
        lam_free(buf);
        fclose(f);
        return lam_error(LAM_ERR_IO, "%s: error reading %s file: %s", path, kind, strerror(e));
    }
    fclose(f);
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return LAM_OK;
}

/* One line of the buffer: [start, end) without the line break. */
typedef struct csv_line {
    const char *start, *end;
    int64_t number; /* 1-based */
} csv_line;

/* Advances *p past the next line; returns 0 at the end of the buffer. */
static int next_line(const char **p, const char *end, csv_line *ln)
{
    if (*p >= end) return 0;
    const char *s = *p;
    const char *nl = memchr(s, '\n', (size_t)(end - s));
    const char *e = nl ? nl : end;
    *p = nl ? nl + 1 : end;
    if (e > s && e[-1] == '\r') e--;
    ln->start = s;
    ln->end = e;
    ln->number++;
    return 1;
}

static int is_blank(const csv_line *ln)
{
    for (const char *c = ln->start; c < ln->end; c++)
        if (*c != ' ' && *c != '\t' && *c != '\r') return 0;
    return 1;
}

static int is_pad(char c, char delim) { return (c == ' ' || c == '\t') && c != delim; }

/* One field: its text (unquoted, trimmed) copied into buf. */
typedef struct csv_field {
    char buf[256];
    int truncated; /* the text was longer than buf */
} csv_field;

typedef struct csv_ctx {
    const char *path;
    char delim;
} csv_ctx;

/* Parses the field starting at *p (within the line); leaves *p at the
 * delimiter or the line end. */
static lam_status parse_field(const csv_ctx *c, const csv_line *ln, const char **p,
                              int col, csv_field *f)
{
    const char *s = *p, *e = ln->end;
    size_t n = 0;
    f->truncated = 0;
    while (s < e && is_pad(*s, c->delim)) s++;
    if (s < e && *s == '"') {
        s++;
        for (;;) {
            if (s >= e)
                return lam_error(LAM_ERR_FORMAT,
                                 "%s:%lld: column %d: unterminated quoted field "
                                 "(quoted fields cannot span lines)",
                                 c->path, (long long)ln->number, col);
            if (*s == '"') {
                if (s + 1 < e && s[1] == '"') {
                    s++; /* "" is one quote */
                } else {
                    s++;
                    break;
                }
            }
            if (n + 1 < sizeof f->buf) f->buf[n++] = *s;
            else f->truncated = 1;
            s++;
        }
        while (s < e && is_pad(*s, c->delim)) s++;
        if (s < e && *s != c->delim)
            return lam_error(LAM_ERR_FORMAT,
                             "%s:%lld: column %d: unexpected text after a closing quote",
                             c->path, (long long)ln->number, col);
    } else {
        const char *t = s;
        while (t < e && *t != c->delim) t++;
        const char *te = t;
        while (te > s && is_pad(te[-1], c->delim)) te--;
        size_t len = (size_t)(te - s);
        if (len >= sizeof f->buf) {
            len = sizeof f->buf - 1;
            f->truncated = 1;
        }
        memcpy(f->buf, s, len);
        n = len;
        s = t;
    }
    f->buf[n] = '\0';
    *p = s;
    return LAM_OK;
}

/* Counts the fields of a line (quote-aware). */
static lam_status count_fields(const csv_ctx *c, const csv_line *ln, int *out)
{
    const char *p = ln->start;
    int n = 0;
    csv_field f;
    for (;;) {
        if (n == 1000000)
            return lam_error(LAM_ERR_FORMAT, "%s:%lld: more than %d columns", c->path,
                             (long long)ln->number, n);
        LAM_TRY(parse_field(c, ln, &p, n + 1, &f));
        n++;
        if (p >= ln->end) break;
        p++; /* the delimiter */
    }
    *out = n;
    return LAM_OK;
}

/* Parses a whole field as a finite number; 0 when it is not one. */
static int parse_number(const char *s, double *v)
{
    if (!*s) return 0;
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (end == s || *end != '\0') return 0;
    /* ERANGE on underflow still gives a usable (tiny) value. */
    if (!isfinite(d)) return 0;
    *v = d;
    return 1;
}

static const char *column_desc(char *buf, size_t cap, int col, const char *name)
{
    if (name && *name) snprintf(buf, cap, "column %d (\"%s\")", col, name);
    else snprintf(buf, cap, "column %d", col);
    return buf;
}

lam_status lam_load_csv(const char *path, const lam_csv_options *opt, lam_dataset **out)
{
    if (!out) return lam_error(LAM_ERR_ARG, "lam_load_csv: out is NULL");
    *out = NULL;
    if (!path) return lam_error(LAM_ERR_ARG, "lam_load_csv: no file name given");
    lam_csv_options o = opt ? *opt : lam_csv_defaults();
    if (o.delimiter == '"' || o.delimiter == '\n' || o.delimiter == '\r' ||
        o.delimiter == '\0')
        return lam_error(LAM_ERR_ARG, "%s: delimiter 0x%02x cannot separate CSV fields",
                         path, (unsigned char)o.delimiter);
    if (!isfinite(o.scale))
        return lam_error(LAM_ERR_ARG, "%s: scale must be finite", path);

    char *text = NULL;
    size_t len = 0;
    LAM_TRY(read_whole_file(path, "CSV", &text, &len));

    lam_status s = LAM_OK;
    lam_dataset *ds = NULL;
    char **names = NULL; /* header names, when there is a header */
    int ncols = 0;
    csv_ctx c = {path, o.delimiter};
    const char *begin = text, *end = text + len;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) begin += 3;

    /* Finds the first non-blank line: the header, or the first row. */
    const char *p = begin;
    csv_line ln = {NULL, NULL, 0}, first;
    int found = 0;
    while (next_line(&p, end, &ln))
        if (!is_blank(&ln)) {
            found = 1;
            break;
        }
    if (!found) {
        s = lam_error(LAM_ERR_FORMAT, "%s: empty CSV file, expected %srows of numbers",
                      path, o.header ? "a header and " : "");
        goto done;
    }
    first = ln;
    s = count_fields(&c, &first, &ncols);
    if (s != LAM_OK) goto done;
    const char *data_begin = p; /* after the header */
    csv_line data_ln = ln;      /* line number before the first data line */
    if (o.header) {
        names = lam_calloc((size_t)ncols, sizeof *names);
        if (!names) {
            s = LAM_ERR_NOMEM;
            goto done;
        }
        const char *q = first.start;
        for (int i = 0; i < ncols; i++) {
            csv_field f;
            s = parse_field(&c, &first, &q, i + 1, &f);
            if (s != LAM_OK) goto done;
            q++;
            if (!(names[i] = lam_strdup(f.buf))) {
                s = LAM_ERR_NOMEM;
                goto done;
            }
        }
    } else {
        data_begin = first.start;
        data_ln.number = first.number - 1;
    }

    /* Resolves the label column. */
    int label_col;
    if (o.label_column) {
        if (!o.header) {
            s = lam_error(LAM_ERR_ARG, "%s: label column \"%s\" given by name, but the "
                          "options say the file has no header", path, o.label_column);
            goto done;
        }
        label_col = -1;
        for (int i = 0; i < ncols; i++)
            if (strcmp(names[i], o.label_column) == 0) {
                label_col = i;
                break;
            }
        if (label_col < 0) {
            char list[400];
            size_t used = 0;
            list[0] = '\0';
            for (int i = 0; i < ncols && used + 1 < sizeof list; i++)
                used += (size_t)snprintf(list + used, sizeof list - used, "%s\"%s\"",
                                         i ? ", " : "", names[i]);
            s = lam_error(LAM_ERR_ARG, "%s:%lld: no column named \"%s\" in the header; "
                          "columns are %s", path, (long long)first.number, o.label_column,
                          list);
            goto done;
        }
    } else {
        label_col = o.label_index == -1 ? ncols - 1 : o.label_index;
        if (label_col < 0 || label_col >= ncols) {
            s = lam_error(LAM_ERR_ARG, "%s:%lld: label index %d outside the %d columns "
                          "(expected 0..%d, or -1 for the last)", path,
                          (long long)first.number, o.label_index, ncols, ncols - 1);
            goto done;
        }
    }
    if (ncols < 2) {
        s = lam_error(LAM_ERR_FORMAT, "%s:%lld: %d column, expected a label column and at "
                      "least one feature column (is the delimiter '%c' right?)", path,
                      (long long)first.number, ncols, o.delimiter);
        goto done;
    }
    const int nf = ncols - 1;

    /* Pass 1: row count and field counts, so pass 2 only parses numbers. */
    int64_t nrows = 0;
    p = data_begin;
    ln = data_ln;
    while (next_line(&p, end, &ln)) {
        if (is_blank(&ln)) continue;
        int k = 0;
        s = count_fields(&c, &ln, &k);
        if (s != LAM_OK) goto done;
        if (k != ncols) {
            s = lam_error(LAM_ERR_FORMAT, "%s:%lld: ragged row: %d fields, expected %d "
                          "(as on line %lld)", path, (long long)ln.number, k, ncols,
                          (long long)first.number);
            goto done;
        }
        nrows++;
    }
    if (nrows == 0) {
        s = lam_error(LAM_ERR_FORMAT, "%s: no data rows after the header (line %lld), "
                      "expected at least one", path, (long long)first.number);
        goto done;
    }
    const int64_t shape[1] = {nf};
    s = lam_dataset_create(&ds, LAM_F32, nrows, 1, shape, true, 0);
    if (s != LAM_OK) goto done;

    /* Pass 2: the numbers. */
    float *x = ds->x;
    int64_t row = 0;
    p = data_begin;
    ln = data_ln;
    while (next_line(&p, end, &ln)) {
        if (is_blank(&ln)) continue;
        const char *q = ln.start;
        float *dst = x + row * nf;
        for (int i = 0, j = 0; i < ncols; i++) {
            csv_field f;
            char cd[300];
            s = parse_field(&c, &ln, &q, i + 1, &f);
            if (s != LAM_OK) goto done;
            q++;
            double v;
            /* A field cut at 255 characters would be read as another number
             * ("000...01" as 0): refused, not misread. */
            if (f.truncated || !parse_number(f.buf, &v)) {
                s = lam_error(LAM_ERR_FORMAT, "%s:%lld: %s: \"%s%s\" is not a finite number",
                              path, (long long)ln.number,
                              column_desc(cd, sizeof cd, i + 1, names ? names[i] : NULL),
                              f.buf, f.truncated ? "..." : "");
                goto done;
            }
            if (i == label_col) {
                if (v < 0 || v != floor(v) || v > INT32_MAX) {
                    s = lam_error(LAM_ERR_FORMAT, "%s:%lld: %s: label \"%s\" is not an "
                                  "integer >= 0 (class labels are 0, 1, 2, ...)", path,
                                  (long long)ln.number,
                                  column_desc(cd, sizeof cd, i + 1, names ? names[i] : NULL),
                                  f.buf);
                    goto done;
                }
                ds->labels[row] = (int32_t)v;
            } else {
                float fv = (float)(v * o.scale);
                if (!isfinite(fv)) {
                    s = lam_error(LAM_ERR_FORMAT, "%s:%lld: %s: \"%s\" times scale %g "
                                  "overflows float32", path, (long long)ln.number,
                                  column_desc(cd, sizeof cd, i + 1, names ? names[i] : NULL),
                                  f.buf, (double)o.scale);
                    goto done;
                }
                dst[j++] = fv;
            }
        }
        row++;
    }
    *out = ds;
    ds = NULL;
done:
    if (names)
        for (int i = 0; i < ncols; i++) lam_free(names[i]);
    lam_free(names);
    lam_free(text);
    lam_dataset_free(ds);
    return s;
}
