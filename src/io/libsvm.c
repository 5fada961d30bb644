/* libsvm.c - libsvm / svmlight sparse text: "label idx:val idx:val ... # comment".
 *
 * Indices are 1-based and strictly ascending within a line; feature idx
 * lands in column idx-1 of a dense LAM_F32 sample of n_features values
 * (inferred as the largest index seen when n_features is 0). Blank and
 * comment-only lines are skipped; svmlight "qid:N" tokens are ignored.
 *
 * Labels. lamina trains classifiers, so labels must be integers (written
 * "3", "+1" or "2.0"); real-valued regression targets are rejected.
 *   - When every label is >= 0 they are kept as they are, so class ids mean
 *     the same in a train file and a test file even if one lacks a class.
 *   - When some label is negative (the usual -1/+1 binary files), the
 *     distinct values are mapped to 0..k-1 in ascending order: -1/+1 -> 0/1,
 *     -1/0/+1 -> 0/1/2. NOTE: that mapping depends on which values the file
 *     holds, so two files must hold the same label set to agree.
 *
 * The file is read into memory and scanned twice: once to validate and size,
 * once to fill, so errors point at file:line and the offending token.
 */
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Limits of the dense matrix a file may expand to: 2^24 features (64 MiB a
 * row) and 2^28 values (1 GiB of float32; Fashion-MNIST is 47M). A few
 * hundred bytes of sparse text with one index in the millions would
 * otherwise ask for gigabytes of zeros: the fuzzer found a 636-byte file
 * that asked for 2.3 GB under the earlier 2^32 bound. */
#define LIBSVM_MAX_FEATURES ((int64_t)1 << 24)
#define LIBSVM_MAX_VALUES ((int64_t)1 << 28)

typedef struct svm_ctx {
    const char *path;
    const char *text, *end;
    int64_t n_features; /* 0 = infer */
    /* results of a scan */
    int64_t rows, max_index;
    int any_negative;
    /* fill mode (second scan) when x != NULL */
    float *x;
    int64_t nf;
    int64_t *labels;
} svm_ctx;

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

/* Copies a token for messages (bounded). */
static const char *tok_str(const char *s, const char *e, char *buf, size_t cap)
{
    size_t n = (size_t)(e - s);
    if (n >= cap) n = cap - 4;
    memcpy(buf, s, n);
    if ((size_t)(e - s) >= cap) memcpy(buf + n, "...", 4);
    else buf[n] = '\0';
    return buf;
}

/* Parses [s, e) as a whole finite number. */
static int parse_real(const char *s, const char *e, double *v)
{
    if (s >= e || is_space(*s)) return 0;
    char *stop;
    double d = strtod(s, &stop);
    if (stop != e || !isfinite(d)) return 0;
    *v = d;
    return 1;
}

/* Parses [s, e) as digits only (no sign); 0 on anything else or overflow. */
static int parse_index(const char *s, const char *e, int64_t *v)
{
    if (s >= e) return 0;
    int64_t r = 0;
    for (; s < e; s++) {
        if (*s < '0' || *s > '9' || r > (INT64_MAX - 9) / 10) return 0;
        r = r * 10 + (*s - '0');
    }
    *v = r;
    return 1;
}

static lam_status svm_scan(svm_ctx *c)
{
    const char *p = c->text;
    int64_t line = 0, row = 0;
    char tb[80];
    c->max_index = 0;
    c->any_negative = 0;
    while (p < c->end) {
        const char *nl = memchr(p, '\n', (size_t)(c->end - p));
        const char *le = nl ? nl : c->end;
        const char *hash = memchr(p, '#', (size_t)(le - p));
        if (hash) le = hash;
        const char *s = p;
        p = nl ? nl + 1 : c->end;
        line++;
        while (s < le && is_space(*s)) s++;
        if (s >= le) continue; /* blank or comment-only */

        /* The label. */
        const char *t = s;
        while (t < le && !is_space(*t)) t++;
        double lv;
        if (!parse_real(s, t, &lv))
            return lam_error(LAM_ERR_FORMAT, "%s:%lld: bad label \"%s\", expected a number",
                             c->path, (long long)line, tok_str(s, t, tb, sizeof tb));
        if (lv != floor(lv) || fabs(lv) > INT32_MAX)
            return lam_error(LAM_ERR_FORMAT, "%s:%lld: label \"%s\" is not an integer class "
                             "id (regression targets are not supported)", c->path,
                             (long long)line, tok_str(s, t, tb, sizeof tb));
        if (lv < 0) c->any_negative = 1;
        if (c->labels) c->labels[row] = (int64_t)lv;

        /* The features. */
        int64_t prev = 0;
        for (s = t;;) {
            while (s < le && is_space(*s)) s++;
            if (s >= le) break;
            t = s;
            while (t < le && !is_space(*t)) t++;
            const char *colon = memchr(s, ':', (size_t)(t - s));
            if (colon && colon - s == 3 && memcmp(s, "qid", 3) == 0) {
                s = t; /* svmlight query id: irrelevant to classification */
                continue;
            }
            int64_t idx;
            double v;
            if (!colon)
                return lam_error(LAM_ERR_FORMAT, "%s:%lld: bad token \"%s\", expected "
                                 "index:value", c->path, (long long)line,
                                 tok_str(s, t, tb, sizeof tb));
            if (!parse_index(s, colon, &idx))
                return lam_error(LAM_ERR_FORMAT, "%s:%lld: bad index in token \"%s\", "
                                 "expected a positive integer", c->path, (long long)line,
                                 tok_str(s, t, tb, sizeof tb));
            if (idx == 0)
                return lam_error(LAM_ERR_FORMAT, "%s:%lld: index 0 in token \"%s\"; libsvm "
                                 "indices start at 1", c->path, (long long)line,
                                 tok_str(s, t, tb, sizeof tb));
            if (idx <= prev)
                return lam_error(LAM_ERR_FORMAT, "%s:%lld: non-ascending index in token "
                                 "\"%s\" (after index %lld); expected strictly ascending "
                                 "indices", c->path, (long long)line,
                                 tok_str(s, t, tb, sizeof tb), (long long)prev);
            if (c->n_features > 0 && idx > c->n_features)
                return lam_error(LAM_ERR_FORMAT, "%s:%lld: index %lld in token \"%s\" is "
                                 "greater than n_features %lld", c->path, (long long)line,
                                 (long long)idx, tok_str(s, t, tb, sizeof tb),
                                 (long long)c->n_features);
            if (!parse_real(colon + 1, t, &v) || !isfinite((float)v))
                return lam_error(LAM_ERR_FORMAT, "%s:%lld: bad number in token \"%s\", "
                                 "expected a finite float32 value", c->path,
                                 (long long)line, tok_str(s, t, tb, sizeof tb));
            prev = idx;
            if (idx > c->max_index) c->max_index = idx;
            if (c->x) c->x[row * c->nf + (idx - 1)] = (float)v;
            s = t;
        }
        row++;
    }
    c->rows = row;
    return LAM_OK;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Maps labels to 0..k-1 in ascending order of their distinct values. */
static lam_status map_labels(const int64_t *raw, int64_t n, int32_t *out)
{
    int64_t *sorted = lam_malloc((size_t)n * sizeof *sorted);
    if (!sorted) return LAM_ERR_NOMEM;
    memcpy(sorted, raw, (size_t)n * sizeof *sorted);
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_i64);
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++)
        if (i == 0 || sorted[i] != sorted[k - 1]) sorted[k++] = sorted[i];
    for (int64_t i = 0; i < n; i++) {
        int64_t lo = 0, hi = k - 1;
        while (lo < hi) {
            int64_t mid = lo + (hi - lo) / 2;
            if (sorted[mid] < raw[i]) lo = mid + 1;
            else hi = mid;
        }
        out[i] = (int32_t)lo;
    }
    lam_free(sorted);
    return LAM_OK;
}

lam_status lam_load_libsvm(const char *path, int64_t n_features, lam_dataset **out)
{
    if (!out) return lam_error(LAM_ERR_ARG, "lam_load_libsvm: out is NULL");
    *out = NULL;
    if (!path) return lam_error(LAM_ERR_ARG, "lam_load_libsvm: no file name given");
    if (n_features < 0)
        return lam_error(LAM_ERR_ARG, "%s: n_features is %lld, expected >= 0 (0 = infer)",
                         path, (long long)n_features);

    FILE *f = fopen(path, "rb");
    if (!f)
        return lam_error(LAM_ERR_IO, "%s: cannot open libsvm file: %s", path, strerror(errno));
    size_t cap = 1 << 16, len = 0;
    char *text = lam_malloc(cap);
    lam_status s = LAM_OK;
    if (!text) {
        fclose(f);
        return LAM_ERR_NOMEM;
    }
    for (;;) {
        if (cap - len < 2) {
            char *nb = lam_realloc(text, cap * 2);
            if (!nb) {
                s = LAM_ERR_NOMEM;
                break;
            }
            text = nb;
            cap *= 2;
        }
        size_t r = fread(text + len, 1, cap - len - 1, f);
        len += r;
        if (r == 0) break;
    }
    if (s == LAM_OK && ferror(f))
        s = lam_error(LAM_ERR_IO, "%s: error reading libsvm file: %s", path, strerror(errno));
    fclose(f);
    if (s != LAM_OK) {
        lam_free(text);
        return s;
    }
    text[len] = '\0'; /* strtod must stop inside the buffer */

    lam_dataset *ds = NULL;
    int64_t *raw = NULL;
    svm_ctx c;
    memset(&c, 0, sizeof c);
    c.path = path;
    c.text = text;
    c.end = text + len;
    c.n_features = n_features;
    s = svm_scan(&c);
    if (s != LAM_OK) goto done;
    if (c.rows == 0) {
        s = lam_error(LAM_ERR_FORMAT, "%s: no samples, expected lines \"label idx:val ...\"",
                      path);
        goto done;
    }
    c.nf = n_features > 0 ? n_features : c.max_index;
    if (c.nf == 0) {
        s = lam_error(LAM_ERR_FORMAT, "%s: no features in any line; pass n_features to "
                      "load label-only rows", path);
        goto done;
    }
    /* lamina's data sets are dense: a sparse file with a huge index would
     * ask for gigabytes of zeros. Refuse that here, with the reason. */
    if (c.nf > LIBSVM_MAX_FEATURES || c.rows > LIBSVM_MAX_VALUES / c.nf) {
        s = lam_error(LAM_ERR_UNSUPPORTED, "%s: %lld samples x %lld features is too large for a "
                      "dense data set (at most %lld features and %lld values)", path,
                      (long long)c.rows, (long long)c.nf, (long long)LIBSVM_MAX_FEATURES,
                      (long long)LIBSVM_MAX_VALUES);
        goto done;
    }
    const int64_t shape[1] = {c.nf};
    s = lam_dataset_create(&ds, LAM_F32, c.rows, 1, shape, true, 0);
    if (s != LAM_OK) {
        s = lam_error_context(s, "%s: dense %lld x %lld float32 matrix", path,
                              (long long)c.rows, (long long)c.nf);
        goto done;
    }
    raw = lam_malloc((size_t)c.rows * sizeof *raw);
    if (!raw) {
        s = LAM_ERR_NOMEM;
        goto done;
    }
    c.x = ds->x;
    c.labels = raw;
    s = svm_scan(&c); /* cannot fail: same text, same checks */
    if (s != LAM_OK) goto done;
    if (c.any_negative) {
        s = map_labels(raw, c.rows, ds->labels);
        if (s != LAM_OK) goto done;
    } else {
        for (int64_t i = 0; i < c.rows; i++) ds->labels[i] = (int32_t)raw[i];
    }
    *out = ds;
    ds = NULL;
done:
    lam_free(raw);
    lam_free(text);
    lam_dataset_free(ds);
    return s;
}
