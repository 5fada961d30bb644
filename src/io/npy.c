/* npy.c - NumPy .npy arrays: features x and optional integer labels y.
 *
 * Format: "\x93NUMPY", major, minor, a little-endian header length (uint16 in
 * v1.0, uint32 in v2.0/v3.0), then a Python dict literal such as
 *     {'descr': '<f4', 'fortran_order': False, 'shape': (60000, 28, 28), }
 * and the raw values.
 *
 * Decisions:
 *   - x: '<f4' and '<f8' become LAM_F32 (f8 is narrowed; a value beyond the
 *     float32 range is an error); '|u1' stays LAM_U8 with scale 1/255, like
 *     IDX images, so uint8 pixel arrays train the same way from either format.
 *     NaN/inf in x is rejected (LAM_ERR_FORMAT), as in the CSV reader.
 *   - x's first axis is the sample axis; the other 1..4 axes are the
 *     per-sample shape. A 1-D x has no per-sample axis and is rejected.
 *   - y: any integer or bool dtype ('i1'..'i8', 'u1'..'u8', '|b1') of shape
 *     (n,) or (n, 1); values must lie in 0..INT32_MAX. Float y is rejected:
 *     labels are class ids, and a silent float->int cast would hide mistakes.
 *   - fortran_order True, big-endian multi-byte dtypes and structured dtypes
 *     are LAM_ERR_UNSUPPORTED; an x/y sample-count mismatch is LAM_ERR_SHAPE.
 *   - Like NumPy, the dict must hold exactly descr, fortran_order and shape.
 *   - Bytes after the data are rejected: they mean the header is wrong.
 *   - Values are decoded byte by byte (little-endian), so the reader does not
 *     depend on the host's byte order.
 */
#include "io/npy.h"
#include "io/mapped.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define NPY_MAX_RANK 8
/* Far beyond any data set that fits in memory, small enough that products
 * and byte counts cannot overflow int64. */
#define NPY_MAX_BYTES ((int64_t)1 << 42)
#define NPY_CHUNK (1 << 20)

typedef struct npy_file {
    const char *path;
    const char *role; /* "x" or "y", for messages */
    FILE *f;
    char descr[32];
    char kind; /* 'f', 'i', 'u', 'b' */
    int size;  /* bytes per element */
    int fortran;
    int rank;
    int64_t shape[NPY_MAX_RANK];
    int64_t count; /* elements */
} npy_file;

/* ------------------------------------------------------------ header */

typedef struct hdr_parser {
    const npy_file *nf;
    const char *s; /* NUL-terminated header text */
    size_t i;
} hdr_parser;

static lam_status hdr_bad(const hdr_parser *p, const char *expected)
{
    char near[24];
    size_t k = 0;
    for (const char *c = p->s + p->i; *c && k + 1 < sizeof near; c++)
        near[k++] = (*c == '\n' || *c == '\r') ? ' ' : *c;
    near[k] = '\0';
    if (k == 0)
        return lam_error(LAM_ERR_FORMAT, "%s: bad .npy header: expected %s at offset %zu, "
                         "found the end of the header", p->nf->path, expected, p->i);
    return lam_error(LAM_ERR_FORMAT, "%s: bad .npy header: expected %s at offset %zu, "
                     "found \"%s\"", p->nf->path, expected, p->i, near);
}

static void hdr_ws(hdr_parser *p)
{
    while (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' ||
           p->s[p->i] == '\r')
        p->i++;
}

/* A Python string literal in ' or " quotes (no escapes: NumPy writes none). */
static lam_status hdr_string(hdr_parser *p, char *dst, size_t cap, const char *what)
{
    hdr_ws(p);
    char q = p->s[p->i];
    if (q != '\'' && q != '"') return hdr_bad(p, what);
    size_t j = p->i + 1, n = 0;
    while (p->s[j] && p->s[j] != q) {
        if (n + 1 >= cap) return hdr_bad(p, "a shorter string");
        dst[n++] = p->s[j++];
    }
    if (!p->s[j]) return hdr_bad(p, "a closing quote");
    dst[n] = '\0';
    p->i = j + 1;
    return LAM_OK;
}

static lam_status hdr_char(hdr_parser *p, char c, const char *what)
{
    hdr_ws(p);
    if (p->s[p->i] != c) return hdr_bad(p, what);
    p->i++;
    return LAM_OK;
}

static lam_status hdr_shape(hdr_parser *p, npy_file *nf)
{
    LAM_TRY(hdr_char(p, '(', "'(' opening the shape tuple"));
    nf->rank = 0;
    for (;;) {
        hdr_ws(p);
        if (p->s[p->i] == ')') {
            p->i++;
            break;
        }
        const char *c = p->s + p->i;
        if (*c < '0' || *c > '9') return hdr_bad(p, "a dimension (a non-negative integer)");
        int64_t v = 0;
        while (*c >= '0' && *c <= '9') {
            if (v > NPY_MAX_BYTES)
                return lam_error(LAM_ERR_FORMAT, "%s: .npy shape dimension %d is absurdly "
                                 "large; the header is corrupt", nf->path, nf->rank);
            v = v * 10 + (*c++ - '0');
        }
        /* Python 2 era files may write 3L. */
        if (*c == 'L') c++;
        p->i = (size_t)(c - p->s);
        if (nf->rank == NPY_MAX_RANK)
            return lam_error(LAM_ERR_UNSUPPORTED, "%s: .npy array has more than %d axes",
                             nf->path, NPY_MAX_RANK);
        nf->shape[nf->rank++] = v;
        hdr_ws(p);
        if (p->s[p->i] == ',') p->i++;
        else if (p->s[p->i] != ')') return hdr_bad(p, "',' or ')' in the shape tuple");
    }
    return LAM_OK;
}

static lam_status hdr_parse(npy_file *nf, const char *text)
{
    hdr_parser p = {nf, text, 0};
    int have_descr = 0, have_fortran = 0, have_shape = 0;
    LAM_TRY(hdr_char(&p, '{', "'{' opening the header dict"));
    for (;;) {
        hdr_ws(&p);
        if (p.s[p.i] == '}') {
            p.i++;
            break;
        }
        char key[32];
        LAM_TRY(hdr_string(&p, key, sizeof key, "a quoted key"));
        LAM_TRY(hdr_char(&p, ':', "':' after a key"));
        hdr_ws(&p);
        if (strcmp(key, "descr") == 0 && !have_descr) {
            if (p.s[p.i] == '[')
                return lam_error(LAM_ERR_UNSUPPORTED, "%s: structured .npy dtypes are not "
                                 "supported; expected a plain numeric descr such as '<f4'",
                                 nf->path);
            LAM_TRY(hdr_string(&p, nf->descr, sizeof nf->descr, "a quoted dtype descr"));
            have_descr = 1;
        } else if (strcmp(key, "fortran_order") == 0 && !have_fortran) {
            if (strncmp(p.s + p.i, "True", 4) == 0) {
                nf->fortran = 1;
                p.i += 4;
            } else if (strncmp(p.s + p.i, "False", 5) == 0) {
                nf->fortran = 0;
                p.i += 5;
            } else {
                return hdr_bad(&p, "True or False for fortran_order");
            }
            have_fortran = 1;
        } else if (strcmp(key, "shape") == 0 && !have_shape) {
            LAM_TRY(hdr_shape(&p, nf));
            have_shape = 1;
        } else {
            return lam_error(LAM_ERR_FORMAT, "%s: bad .npy header: unexpected or repeated "
                             "key '%s', expected descr, fortran_order and shape once each",
                             nf->path, key);
        }
        hdr_ws(&p);
        if (p.s[p.i] == ',') p.i++;
        else if (p.s[p.i] != '}') return hdr_bad(&p, "',' or '}' in the header dict");
    }
    hdr_ws(&p);
    if (p.s[p.i]) return hdr_bad(&p, "the end of the header after '}'");
    if (!have_descr || !have_fortran || !have_shape)
        return lam_error(LAM_ERR_FORMAT, "%s: bad .npy header: missing key '%s'", nf->path,
                         !have_descr ? "descr" : !have_fortran ? "fortran_order" : "shape");
    return LAM_OK;
}

/* Splits descr ('<f4', '|u1', ...) into kind and size. */
static lam_status parse_descr(npy_file *nf)
{
    const char *d = nf->descr;
    char order = d[0];
    if (order != '<' && order != '>' && order != '|' && order != '=')
        return lam_error(LAM_ERR_UNSUPPORTED, "%s: .npy dtype '%s' is not supported, "
                         "expected a simple numeric type such as '<f4'", nf->path, d);
    char kind = d[1];
    int size = 0;
    const char *c = d + 2;
    while (*c >= '0' && *c <= '9' && size < 100) size = size * 10 + (*c++ - '0');
    int ok = *c == '\0' &&
             ((kind == 'f' && (size == 4 || size == 8)) ||
              ((kind == 'i' || kind == 'u') &&
               (size == 1 || size == 2 || size == 4 || size == 8)) ||
              (kind == 'b' && size == 1));
    if (!ok)
        return lam_error(LAM_ERR_UNSUPPORTED, "%s: .npy dtype '%s' is not supported, "
                         "expected float32/float64 ('<f4', '<f8'), uint8 ('|u1') or an "
                         "integer type", nf->path, d);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    if (order == '=') order = '>';
#else
    if (order == '=') order = '<';
#endif
    if (order == '>' && size > 1)
        return lam_error(LAM_ERR_UNSUPPORTED, "%s: big-endian .npy dtype '%s' is not "
                         "supported; save it little-endian (arr.astype('<%c%d'))", nf->path,
                         d, kind, size);
    nf->kind = kind;
    nf->size = size;
    return LAM_OK;
}

/* Formats a shape as "(2, 3)" for messages. */
static const char *shape_str(const npy_file *nf, char *buf, size_t cap)
{
    size_t n = (size_t)snprintf(buf, cap, "(");
    for (int i = 0; i < nf->rank && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%lld", i ? ", " : "",
                              (long long)nf->shape[i]);
    if (n < cap) snprintf(buf + n, cap - n, nf->rank == 1 ? ",)" : ")");
    return buf;
}

static void npy_close(npy_file *nf)
{
    if (nf->f) fclose(nf->f);
    nf->f = NULL;
}

/* Opens path and parses its header; on success the stream is at the data. */
static lam_status npy_open(npy_file *nf, const char *path, const char *role)
{
    memset(nf, 0, sizeof *nf);
    nf->path = path;
    nf->role = role;
    nf->f = fopen(path, "rb");
    if (!nf->f)
        return lam_error(LAM_ERR_IO, "%s: cannot open .npy %s file: %s", path, role,
                         strerror(errno));
    lam_status s;
    char *text = NULL;
    unsigned char pre[12];
    size_t got = fread(pre, 1, 10, nf->f);
    if (got < 10 && ferror(nf->f)) {
        s = lam_error(LAM_ERR_IO, "%s: error reading: %s", path, strerror(errno));
        goto fail;
    }
    if (got < 8 || memcmp(pre, "\x93NUMPY", 6) != 0) {
        s = lam_error(LAM_ERR_FORMAT, "%s: not a .npy file: expected the magic "
                      "\"\\x93NUMPY\" at the start", path);
        goto fail;
    }
    if (pre[6] < 1 || pre[6] > 3) {
        s = lam_error(LAM_ERR_UNSUPPORTED, "%s: .npy format version %d.%d, expected 1.0, "
                      "2.0 or 3.0", path, pre[6], pre[7]);
        goto fail;
    }
    if (got < 10) goto truncated;
    uint32_t hlen;
    if (pre[6] == 1) {
        hlen = (uint32_t)pre[8] | ((uint32_t)pre[9] << 8);
    } else {
        if (fread(pre + 10, 1, 2, nf->f) != 2) goto truncated;
        hlen = (uint32_t)pre[8] | ((uint32_t)pre[9] << 8) | ((uint32_t)pre[10] << 16) |
               ((uint32_t)pre[11] << 24);
    }
    /* NumPy writes headers of a few hundred bytes; a huge length is corruption. */
    if (hlen == 0 || hlen > (1u << 20)) {
        s = lam_error(LAM_ERR_FORMAT, "%s: bad .npy header length %u, expected 1..%u", path,
                      hlen, 1u << 20);
        goto fail;
    }
    text = lam_malloc(hlen + 1);
    if (!text) {
        s = LAM_ERR_NOMEM;
        goto fail;
    }
    if (fread(text, 1, hlen, nf->f) != hlen) goto truncated;
    text[hlen] = '\0';
    if (strlen(text) != hlen) {
        s = lam_error(LAM_ERR_FORMAT, "%s: bad .npy header: NUL byte inside the header text",
                      path);
        goto fail;
    }
    s = hdr_parse(nf, text);
    if (s != LAM_OK) goto fail;
    s = parse_descr(nf);
    if (s != LAM_OK) goto fail;
    if (nf->fortran) {
        s = lam_error(LAM_ERR_UNSUPPORTED, "%s: .npy array is in Fortran order "
                      "(fortran_order: True), expected C order; save "
                      "np.ascontiguousarray(a)", path);
        goto fail;
    }
    int64_t count = 1;
    for (int i = 0; i < nf->rank; i++) {
        /* Each dimension is <= 2^42 (hdr_shape), count <= 2^42 before: no overflow
         * once a zero dimension short-circuits. */
        if (nf->shape[i] == 0) {
            count = 0;
            break;
        }
        if (count > NPY_MAX_BYTES / nf->shape[i] / nf->size) {
            s = lam_error(LAM_ERR_FORMAT, "%s: .npy shape claims more than %lld bytes; the "
                          "header is corrupt", path, (long long)NPY_MAX_BYTES);
            goto fail;
        }
        count *= nf->shape[i];
    }
    nf->count = count;
    lam_free(text);
    /* A regular file must hold exactly the declared bytes. Checking the size
     * before allocating keeps a corrupt header in a small file from making
     * us allocate what it claims. */
    struct stat st;
    long pos = ftell(nf->f);
    if (pos >= 0 && fstat(fileno(nf->f), &st) == 0 && S_ISREG(st.st_mode)) {
        int64_t have = (int64_t)st.st_size - pos, need = count * nf->size;
        if (have < need) {
            char sb[96];
            s = lam_error(LAM_ERR_FORMAT, "%s: truncated .npy data: the header (shape %s, "
                          "dtype '%s') needs %lld bytes, found %lld", path,
                          shape_str(nf, sb, sizeof sb), nf->descr, (long long)need,
                          (long long)have);
            npy_close(nf);
            return s;
        }
    }
    return LAM_OK;
truncated:
    if (ferror(nf->f))
        s = lam_error(LAM_ERR_IO, "%s: error reading: %s", path, strerror(errno));
    else
        s = lam_error(LAM_ERR_FORMAT, "%s: truncated .npy header", path);
fail:
    lam_free(text);
    npy_close(nf);
    return s;
}

/* ------------------------------------------------------------ data */

/* Reads exactly want bytes of data; done is how many came before. */
static lam_status npy_read(npy_file *nf, void *dst, size_t want, int64_t done)
{
    size_t r = fread(dst, 1, want, nf->f);
    if (r == want) return LAM_OK;
    char sb[96];
    if (ferror(nf->f))
        return lam_error(LAM_ERR_IO, "%s: error reading data: %s", nf->path, strerror(errno));
    return lam_error(LAM_ERR_FORMAT, "%s: truncated .npy data: the header (shape %s, dtype "
                     "'%s') needs %lld bytes, found %lld", nf->path,
                     shape_str(nf, sb, sizeof sb), nf->descr,
                     (long long)(nf->count * nf->size), (long long)(done + (int64_t)r));
}

/* After the data: nothing may follow. */
static lam_status npy_check_end(npy_file *nf)
{
    if (fgetc(nf->f) == EOF) {
        if (ferror(nf->f))
            return lam_error(LAM_ERR_IO, "%s: error reading: %s", nf->path, strerror(errno));
        return LAM_OK;
    }
    return lam_error(LAM_ERR_FORMAT, "%s: unexpected bytes after the %lld bytes of data the "
                     ".npy header declares; the header or the file is wrong", nf->path,
                     (long long)(nf->count * nf->size));
}

static uint64_t le_bits(const unsigned char *b, int size)
{
    uint64_t v = 0;
    for (int k = size - 1; k >= 0; k--) v = (v << 8) | b[k];
    return v;
}

static double decode_float(const unsigned char *b, int size)
{
    uint64_t bits = le_bits(b, size);
    if (size == 4) {
        uint32_t u = (uint32_t)bits;
        float f;
        memcpy(&f, &u, 4);
        return f;
    }
    double d;
    memcpy(&d, &bits, 8);
    return d;
}

/* An integer element as int64; *big is set for a uint64 beyond INT64_MAX. */
static int64_t decode_int(const unsigned char *b, char kind, int size, int *big)
{
    uint64_t bits = le_bits(b, size);
    *big = 0;
    if (kind == 'i') {
        if (size < 8 && (bits >> (8 * size - 1)) & 1) bits |= ~(uint64_t)0 << (8 * size);
        return (int64_t)bits;
    }
    if (bits > (uint64_t)INT64_MAX) {
        *big = 1;
        return INT64_MAX;
    }
    return (int64_t)bits;
}

static lam_status read_x(npy_file *nf, lam_dataset *ds)
{
    if (nf->kind == 'u') /* |u1: stored as is */
        return npy_read(nf, ds->x, (size_t)nf->count, 0);
    float *x = ds->x;
    unsigned char *buf = lam_malloc(NPY_CHUNK);
    if (!buf) return LAM_ERR_NOMEM;
    const int64_t per = NPY_CHUNK / nf->size;
    lam_status s = LAM_OK;
    for (int64_t i = 0; i < nf->count && s == LAM_OK; i += per) {
        int64_t m = nf->count - i < per ? nf->count - i : per;
        s = npy_read(nf, buf, (size_t)(m * nf->size), i * nf->size);
        for (int64_t k = 0; k < m && s == LAM_OK; k++) {
            double v = decode_float(buf + k * nf->size, nf->size);
            float f = (float)v;
            if (!isfinite(f))
                s = lam_error(LAM_ERR_FORMAT, "%s: element %lld is %g%s; expected finite "
                              "float32 features", nf->path, (long long)(i + k), v,
                              isfinite(v) ? " (beyond the float32 range)" : "");
            x[i + k] = f;
        }
    }
    lam_free(buf);
    return s;
}

static lam_status read_y(npy_file *nf, int32_t *labels)
{
    unsigned char *buf = lam_malloc(NPY_CHUNK);
    if (!buf) return LAM_ERR_NOMEM;
    const int64_t per = NPY_CHUNK / nf->size;
    lam_status s = LAM_OK;
    for (int64_t i = 0; i < nf->count && s == LAM_OK; i += per) {
        int64_t m = nf->count - i < per ? nf->count - i : per;
        s = npy_read(nf, buf, (size_t)(m * nf->size), i * nf->size);
        for (int64_t k = 0; k < m && s == LAM_OK; k++) {
            int big;
            int64_t v = decode_int(buf + k * nf->size, nf->kind, nf->size, &big);
            if (big || v < 0 || v > INT32_MAX)
                s = lam_error(LAM_ERR_FORMAT, "%s: label %lld at index %lld is outside "
                              "0..%d; expected class ids 0, 1, 2, ...", nf->path,
                              (long long)v, (long long)(i + k), INT32_MAX);
            labels[i + k] = (int32_t)v;
        }
    }
    lam_free(buf);
    return s;
}

/* Opens x and checks what a data set needs of it. */
static lam_status open_x(npy_file *xf, const char *x_path)
{
    LAM_TRY(npy_open(xf, x_path, "x"));
    char sb[96];
    lam_status s = LAM_OK;
    if (!(xf->kind == 'f' || (xf->kind == 'u' && xf->size == 1)))
        s = lam_error(LAM_ERR_UNSUPPORTED, "%s: x dtype '%s' is not supported, expected "
                      "'<f4', '<f8' or '|u1'", x_path, xf->descr);
    else if (xf->rank < 2 || xf->rank > 5)
        s = lam_error(LAM_ERR_SHAPE, "%s: x has shape %s, expected 2 to 5 axes (samples, "
                      "then 1 to 4 per-sample axes; reshape a 1-D array to (n, 1))", x_path,
                      shape_str(xf, sb, sizeof sb));
    for (int i = 0; s == LAM_OK && i < xf->rank; i++)
        if (xf->shape[i] == 0)
            s = lam_error(LAM_ERR_FORMAT, "%s: x has shape %s, expected every axis >= 1 "
                          "(no samples or empty samples)", x_path,
                          shape_str(xf, sb, sizeof sb));
    if (s != LAM_OK) npy_close(xf);
    return s;
}

/* Opens y and checks it holds one class id for each of xf's samples. */
static lam_status open_y(npy_file *yf, const char *y_path, const npy_file *xf)
{
    LAM_TRY(npy_open(yf, y_path, "y"));
    char sb[96], sb2[96];
    lam_status s = LAM_OK;
    if (yf->kind != 'i' && yf->kind != 'u' && yf->kind != 'b')
        s = lam_error(LAM_ERR_UNSUPPORTED, "%s: y dtype '%s' is not supported, expected "
                      "an integer type ('<i8', '<i4', '|u1', ...) holding class ids",
                      y_path, yf->descr);
    else if (!(yf->rank == 1 || (yf->rank == 2 && yf->shape[1] == 1)))
        s = lam_error(LAM_ERR_SHAPE, "%s: y has shape %s, expected (n,) or (n, 1)", y_path,
                      shape_str(yf, sb, sizeof sb));
    else if (yf->shape[0] != xf->shape[0])
        s = lam_error(LAM_ERR_SHAPE, "%s has %lld samples (shape %s) but %s has %lld "
                      "labels (shape %s); expected the same count", xf->path,
                      (long long)xf->shape[0], shape_str(xf, sb, sizeof sb), y_path,
                      (long long)yf->shape[0], shape_str(yf, sb2, sizeof sb2));
    if (s != LAM_OK) npy_close(yf);
    return s;
}

/* x can be read from a mapping as it is: uint8, or float32 in this machine's
 * byte order. */
static bool mappable(const npy_file *xf)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return xf->kind == 'u';
#else
    return xf->kind == 'u' || (xf->kind == 'f' && xf->size == 4);
#endif
}

/* Every float32 of a mapped x must be finite, as read_x requires. Looks at the
 * bits (exponent all ones: inf or NaN) so that an unaligned array is fine,
 * and drops the pages every LAM_MAPPED_TRIM_BYTES so that checking a file
 * larger than memory keeps the process small. */
static lam_status check_finite(const npy_file *xf, lam_mapped *m, const unsigned char *p)
{
    for (int64_t i = 0; i < xf->count; i++) {
        if (i % (LAM_MAPPED_TRIM_BYTES / 4) == 0 && i) lam_mapped_trim(m);
        uint32_t u;
        memcpy(&u, p + 4 * i, 4);
        if ((u & 0x7f800000u) == 0x7f800000u) {
            float f;
            memcpy(&f, &u, 4);
            return lam_error(LAM_ERR_FORMAT, "%s: element %lld is %g; expected finite float32 "
                             "features", xf->path, (long long)i, (double)f);
        }
    }
    lam_mapped_trim(m);
    return LAM_OK;
}

/* Maps xf's data as the next shard of m (and checks it). */
static lam_status map_x(npy_file *xf, lam_mapped *m)
{
    long pos = ftell(xf->f);
    if (pos < 0)
        return lam_error(LAM_ERR_IO, "%s: cannot tell where the data starts: %s", xf->path,
                         strerror(errno));
    LAM_TRY(lam_mapped_add(m, fileno(xf->f), xf->path, ".npy x", pos, xf->shape[0]));
    if (xf->kind == 'f') return check_finite(xf, m, m->shards[m->nshards - 1].data);
    return LAM_OK;
}

lam_status lam_open_npy(const char *x_path, const char *y_path, lam_storage storage,
                        lam_dataset **out)
{
    if (!out) return lam_error(LAM_ERR_ARG, "lam_open_npy: out is NULL");
    *out = NULL;
    if (!x_path) return lam_error(LAM_ERR_ARG, "lam_open_npy: no x file name given");
    if (storage != LAM_STORAGE_AUTO && storage != LAM_STORAGE_MEMORY &&
        storage != LAM_STORAGE_MAPPED)
        return lam_error(LAM_ERR_ARG, "lam_open_npy: unknown storage %d", (int)storage);
    npy_file xf, yf;
    memset(&yf, 0, sizeof yf);
    lam_dataset *ds = NULL;
    lam_mapped *map = NULL;

    LAM_TRY(open_x(&xf, x_path));
    lam_status s = y_path ? open_y(&yf, y_path, &xf) : LAM_OK;
    if (s != LAM_OK) goto done;
    const int64_t n = xf.shape[0];
    const lam_dtype dtype = xf.kind == 'u' ? LAM_U8 : LAM_F32;
    bool map_it = storage == LAM_STORAGE_MAPPED ||
                  (storage == LAM_STORAGE_AUTO && mappable(&xf) &&
                   xf.count * xf.size >= LAM_MAP_THRESHOLD_BYTES);
    if (map_it && !mappable(&xf)) {
        s = lam_error(LAM_ERR_UNSUPPORTED, "%s: x dtype '%s' cannot be memory-mapped, expected "
                      "'|u1' or '<f4' (save it with x.astype('<f4'))", x_path, xf.descr);
        goto done;
    }
    if (map_it) {
        s = lam_mapped_create(&map, 1, xf.count / n * xf.size);
        if (s == LAM_OK) s = map_x(&xf, map);
        if (s == LAM_OK)
            s = lam_dataset_from_mapped(&ds, dtype, xf.rank - 1, xf.shape + 1, map,
                                        y_path != NULL);
        if (s != LAM_OK) goto done;
        map = NULL; /* the data set's now */
    } else {
        s = lam_dataset_create(&ds, dtype, n, xf.rank - 1, xf.shape + 1, y_path != NULL, 0);
        if (s == LAM_OK) s = read_x(&xf, ds);
        if (s == LAM_OK) s = npy_check_end(&xf);
        if (s != LAM_OK) goto done;
    }
    if (y_path) {
        s = read_y(&yf, ds->labels);
        if (s == LAM_OK) s = npy_check_end(&yf);
        if (s != LAM_OK) goto done;
    }
    *out = ds;
    ds = NULL;
done:
    npy_close(&xf);
    npy_close(&yf);
    lam_mapped_release(map);
    lam_dataset_free(ds);
    return s;
}

lam_status lam_load_npy(const char *x_path, const char *y_path, lam_dataset **out)
{
    if (!out) return lam_error(LAM_ERR_ARG, "lam_load_npy: out is NULL");
    return lam_open_npy(x_path, y_path, LAM_STORAGE_MEMORY, out);
}

static lam_status shard_mismatch(const npy_file *xf, const npy_file *first)
{
    char sb[96], sb2[96];
    return lam_error(LAM_ERR_SHAPE, "%s: x has dtype '%s' and shape %s, but the "
                     "first shard %s has dtype '%s' and shape %s; every shard needs the same "
                     "dtype and per-sample shape", xf->path, xf->descr,
                     shape_str(xf, sb, sizeof sb), first->path, first->descr,
                     shape_str(first, sb2, sizeof sb2));
}

lam_status lam_open_npy_shards(int count, const char *const *x_paths,
                               const char *const *y_paths, lam_dataset **out)
{
    if (!out) return lam_error(LAM_ERR_ARG, "lam_open_npy_shards: out is NULL");
    *out = NULL;
    if (count < 1 || !x_paths)
        return lam_error(LAM_ERR_ARG, "lam_open_npy_shards: %d shards, expected >= 1", count);
    for (int i = 0; i < count; i++)
        if (!x_paths[i] || (y_paths && !y_paths[i]))
            return lam_error(LAM_ERR_ARG, "lam_open_npy_shards: shard %d has no file name",
                             i + 1);
    npy_file first, xf, yf;
    memset(&xf, 0, sizeof xf);
    memset(&yf, 0, sizeof yf);
    lam_mapped *map = NULL;
    lam_dataset *ds = NULL;
    int32_t *labels = NULL;
    int64_t n = 0;
    int at = 0; /* the shard being opened, for messages */
    LAM_TRY(open_x(&first, x_paths[0]));
    npy_close(&first); /* only its header is kept, to compare the others with */
    lam_status s = mappable(&first) ? lam_mapped_create(&map, count, first.count /
                                                        first.shape[0] * first.size)
                                    : lam_error(LAM_ERR_UNSUPPORTED, "%s: x dtype '%s' cannot "
                                                "be memory-mapped, expected '|u1' or '<f4' in "
                                                "every shard", first.path, first.descr);
    for (int i = 0; i < count && s == LAM_OK; i++) {
        at = i;
        s = open_x(&xf, x_paths[i]);
        if (s != LAM_OK) break;
        bool same = xf.rank == first.rank && strcmp(xf.descr, first.descr) == 0;
        for (int k = 1; same && k < xf.rank; k++) same = xf.shape[k] == first.shape[k];
        if (!same) s = shard_mismatch(&xf, &first);
        if (s == LAM_OK) s = map_x(&xf, map);
        if (s == LAM_OK && y_paths) {
            s = open_y(&yf, y_paths[i], &xf);
            int32_t *grown = s == LAM_OK ? lam_realloc(labels, sizeof *labels *
                                                                   (size_t)(n + xf.shape[0]))
                                         : NULL;
            if (s == LAM_OK && !grown) s = LAM_ERR_NOMEM;
            if (grown) labels = grown;
            if (s == LAM_OK) s = read_y(&yf, labels + n);
            if (s == LAM_OK) s = npy_check_end(&yf);
            npy_close(&yf);
        }
        n += xf.shape[0];
        npy_close(&xf);
    }
    if (s == LAM_OK)
        s = lam_dataset_from_mapped(&ds, first.kind == 'u' ? LAM_U8 : LAM_F32, first.rank - 1,
                                    first.shape + 1, map, false);
    if (s == LAM_OK) {
        map = NULL; /* the data set's now */
        ds->labels = labels;
        labels = NULL;
        *out = ds;
    } else if (s != LAM_ERR_NOMEM) {
        s = lam_error_context(s, "shard %d of %d", at + 1, count);
    }
    npy_close(&xf);
    npy_close(&yf);
    lam_mapped_release(map);
    lam_free(labels);
    return s;
}

/* ------------------------------------------------------------ writer */

typedef struct npy_writer {
    int rank;
    const int64_t *shape;
    const float *data;
    int64_t count;
} npy_writer;

static lam_status npy_write_body(FILE *f, void *user)
{
    const npy_writer *w = user;
    char dict[512];
    size_t n = (size_t)snprintf(dict, sizeof dict,
                                "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    for (int i = 0; i < w->rank; i++)
        n += (size_t)snprintf(dict + n, sizeof dict - n, "%s%lld", i ? ", " : "",
                              (long long)w->shape[i]);
    n += (size_t)snprintf(dict + n, sizeof dict - n, "%s), }", w->rank == 1 ? "," : "");
    /* NumPy pads with spaces and a final newline so that the data starts on a
     * 64-byte boundary (10 bytes of magic, version and length come first). */
    size_t total = (10 + n + 1 + 63) / 64 * 64;
    size_t hlen = total - 10;
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xff),
                             (unsigned char)(hlen >> 8)};
    if (fwrite(pre, 1, 10, f) != 10 || fwrite(dict, 1, n, f) != n) goto ioerr;
    for (size_t k = n; k + 1 < hlen; k++)
        if (fputc(' ', f) == EOF) goto ioerr;
    if (fputc('\n', f) == EOF) goto ioerr;

    unsigned char buf[4096];
    for (int64_t i = 0; i < w->count;) {
        size_t m = 0;
        for (; m + 4 <= sizeof buf && i < w->count; i++, m += 4) {
            uint32_t u;
            memcpy(&u, &w->data[i], 4);
            buf[m] = (unsigned char)u;
            buf[m + 1] = (unsigned char)(u >> 8);
            buf[m + 2] = (unsigned char)(u >> 16);
            buf[m + 3] = (unsigned char)(u >> 24);
        }
        if (fwrite(buf, 1, m, f) != m) goto ioerr;
    }
    return LAM_OK;
ioerr:
    return lam_error(LAM_ERR_IO, "writing .npy data failed: %s", strerror(errno));
}

lam_status lam_npy_write_f32(const char *path, int rank, const int64_t *shape,
                             const float *data)
{
    if (!path || rank < 1 || rank > NPY_MAX_RANK || !shape)
        return lam_error(LAM_ERR_ARG, "%s: .npy writer needs a path and rank 1..%d (got %d)",
                         path ? path : "(null)", NPY_MAX_RANK, rank);
    int64_t count = 1;
    for (int i = 0; i < rank; i++) {
        if (shape[i] < 0 || (shape[i] > 0 && count > NPY_MAX_BYTES / 4 / shape[i]))
            return lam_error(LAM_ERR_ARG, "%s: .npy writer: bad dimension %d = %lld", path, i,
                             (long long)shape[i]);
        count *= shape[i];
    }
    if (count > 0 && !data)
        return lam_error(LAM_ERR_ARG, "%s: .npy writer: no data for %lld values", path,
                         (long long)count);
    npy_writer w = {rank, shape, data, count};
    lam_status s = lam_write_atomic(path, npy_write_body, &w);
    if (s != LAM_OK && s != LAM_ERR_NOMEM && strstr(lam_last_error(), path) == NULL)
        return lam_error_context(s, "%s", path);
    return s;
}
