/* classic_io.c - input checks shared by the classic models and their file
 * format: safetensors (8-byte little-endian header length, JSON header, raw
 * little-endian tensor bytes) with a lamina-classic __metadata__ block. */
#include "classic.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

lam_status lam_classic_check_xy(const char *what, const float *x, int64_t n, int64_t d,
                                const int32_t *y)
{
    if (!x || !y) return lam_error(LAM_ERR_ARG, "%s: x or y is NULL", what);
    if (n < 1 || d < 1)
        return lam_error(LAM_ERR_ARG, "%s: need n >= 1 and d >= 1, got n=%" PRId64 " d=%" PRId64,
                         what, n, d);
    if (n > INT32_MAX || d > INT32_MAX)
        return lam_error(LAM_ERR_UNSUPPORTED, "%s: n and d must fit in 31 bits", what);
    for (int64_t i = 0; i < n; i++)
        if (y[i] < 0)
            return lam_error(LAM_ERR_ARG, "%s: label %d of sample %" PRId64 " is negative", what,
                             y[i], i);
    for (int64_t i = 0; i < n * d; i++)
        if (!isfinite(x[i]))
            return lam_error(LAM_ERR_ARG, "%s: x[%" PRId64 "][%" PRId64 "] is not finite", what,
                             i / d, i % d);
    return LAM_OK;
}

lam_status lam_classic_gather(const char *what, const lam_dataset *ds, float **x, int32_t **y,
                              int64_t *n, int64_t *d)
{
    *x = NULL;
    *y = NULL;
    if (!ds) return lam_error(LAM_ERR_ARG, "%s: data set is NULL", what);
    if (!ds->labels) return lam_error(LAM_ERR_ARG, "%s: data set has no labels", what);
    *n = ds->n;
    *d = ds->sample_size;
    if (*n < 1) return lam_error(LAM_ERR_ARG, "%s: data set is empty", what);
    *x = lam_malloc((size_t)(*n * *d) * sizeof(float));
    *y = lam_malloc((size_t)*n * sizeof(int32_t));
    lam_status s = (*x && *y) ? lam_dataset_gather(ds, NULL, *n, *x, *y, NULL) : LAM_ERR_NOMEM;
    if (s != LAM_OK) {
        lam_free(*x);
        lam_free(*y);
        *x = NULL;
        *y = NULL;
    }
    return s;
}

/* ------------------------------------------------------------------ writer */

static const char *const st_dtype_name[] = {"F32", "I32", "F64"};
static const size_t st_dtype_size[] = {4, 4, 8};

typedef struct st_write_ctx {
    const char *path;
    const char *header;
    size_t header_len; /* padded to a multiple of 8 so tensor data is aligned */
    const lam_st_tensor *t;
    int nt;
} st_write_ctx;

static int64_t st_count(const lam_st_tensor *t)
{
    int64_t c = 1;
    for (int r = 0; r < t->rank; r++) c *= t->shape[r];
    return c;
}

static lam_status st_write_fn(FILE *f, void *user)
{
    st_write_ctx *c = user;
    unsigned char len[8];
    uint64_t hl = c->header_len;
    for (int i = 0; i < 8; i++) len[i] = (unsigned char)(hl >> (8 * i));
    size_t raw = strlen(c->header);
    int ok = fwrite(len, 1, 8, f) == 8 && fwrite(c->header, 1, raw, f) == raw;
    for (size_t i = raw; ok && i < c->header_len; i++) ok = fputc(' ', f) != EOF;
    for (int i = 0; ok && i < c->nt; i++) {
        size_t bytes = (size_t)st_count(&c->t[i]) * st_dtype_size[c->t[i].dtype];
        if (bytes) ok = fwrite(c->t[i].data, 1, bytes, f) == bytes;
    }
    if (!ok) return lam_error(LAM_ERR_IO, "%s: write failed: %s", c->path, strerror(errno));
    return LAM_OK;
}

lam_status lam_st_save(const char *path, const char *model, const lam_st_tensor *t, int nt,
                       const char *const *meta, int n_meta)
{
    if (!path) return lam_error(LAM_ERR_ARG, "%s save: path is NULL", model);
    const uint16_t probe = 1;
    if (*(const unsigned char *)&probe != 1)
        return lam_error(LAM_ERR_UNSUPPORTED, "%s: saving needs a little-endian host", path);
    cJSON *root = cJSON_CreateObject();
    if (!root) return lam_error(LAM_ERR_NOMEM, "%s: out of memory building the header", path);
    lam_status s = LAM_OK;
    uint64_t off = 0;
    for (int i = 0; i < nt && s == LAM_OK; i++) {
        cJSON *e = cJSON_AddObjectToObject(root, t[i].name);
        cJSON *shape = e ? cJSON_AddArrayToObject(e, "shape") : NULL;
        cJSON *offs = NULL;
        if (e && shape && cJSON_AddStringToObject(e, "dtype", st_dtype_name[t[i].dtype])) {
            for (int r = 0; r < t[i].rank; r++)
                cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t[i].shape[r]));
            uint64_t bytes = (uint64_t)st_count(&t[i]) * st_dtype_size[t[i].dtype];
            offs = cJSON_AddArrayToObject(e, "data_offsets");
            if (offs) {
                cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)off));
                cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)(off + bytes)));
            }
            off += bytes;
        }
        if (!offs) s = lam_error(LAM_ERR_NOMEM, "%s: out of memory building the header", path);
    }
    cJSON *m = s == LAM_OK ? cJSON_AddObjectToObject(root, "__metadata__") : NULL;
    if (s == LAM_OK && m) {
        cJSON_AddStringToObject(m, "format", "lamina-classic");
        cJSON_AddStringToObject(m, "version", "1");
        cJSON_AddStringToObject(m, "model", model);
        for (int i = 0; i < n_meta; i++) cJSON_AddStringToObject(m, meta[2 * i], meta[2 * i + 1]);
    } else if (s == LAM_OK) {
        s = lam_error(LAM_ERR_NOMEM, "%s: out of memory building the header", path);
    }
    char *text = s == LAM_OK ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (s == LAM_OK && !text)
        s = lam_error(LAM_ERR_NOMEM, "%s: out of memory printing the header", path);
    if (s == LAM_OK) {
        size_t raw = strlen(text);
        st_write_ctx c = {path, text, (raw + 7) / 8 * 8, t, nt};
        s = lam_write_atomic(path, st_write_fn, &c);
    }
    cJSON_free(text);
    return s;
}

/* ------------------------------------------------------------------ reader */

void lam_st_close(lam_st_file *f)
{
    if (!f) return;
    cJSON_Delete(f->header);
    lam_free(f->buf);
    memset(f, 0, sizeof *f);
}

/* A JSON number that is a non-negative integer below 2^53. */
static int st_uint(const cJSON *j, uint64_t *out)
{
    if (!cJSON_IsNumber(j)) return 0;
    double v = j->valuedouble;
    if (!(v >= 0 && v <= 9007199254740992.0) || v != floor(v)) return 0;
    *out = (uint64_t)v;
    return 1;
}

typedef struct st_span { uint64_t b, e; const char *name; } st_span;

static int st_span_cmp(const void *a, const void *b)
{
    const st_span *x = a, *y = b;
    return x->b < y->b ? -1 : x->b > y->b ? 1 : (x->e > y->e) - (x->e < y->e);
}

static lam_status st_check_entry(const lam_st_file *f, const cJSON *e, st_span *span)
{
    const char *path = f->path;
    if (!cJSON_IsObject(e))
        return lam_error(LAM_ERR_FORMAT, "%s: tensor \"%s\" is not an object", path, e->string);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
    const cJSON *of = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    int di = -1;
    for (int i = 0; i < 3 && cJSON_IsString(dt); i++)
        if (strcmp(dt->valuestring, st_dtype_name[i]) == 0) di = i;
    if (di < 0)
        return lam_error(LAM_ERR_FORMAT, "%s: tensor \"%s\": dtype missing or not F32/I32/F64",
                         path, e->string);
    if (!cJSON_IsArray(sh) || cJSON_GetArraySize(sh) > 8)
        return lam_error(LAM_ERR_FORMAT, "%s: tensor \"%s\": shape is not an array of <= 8 sizes",
                         path, e->string);
    uint64_t count = 1;
    const cJSON *it;
    cJSON_ArrayForEach(it, sh)
    {
        uint64_t v;
        if (!st_uint(it, &v) || v > ((uint64_t)1 << 40))
            return lam_error(LAM_ERR_FORMAT, "%s: tensor \"%s\": bad shape entry", path, e->string);
        if (v && count > (((uint64_t)1 << 50) / v))
            return lam_error(LAM_ERR_FORMAT, "%s: tensor \"%s\": shape too large", path, e->string);
        count *= v;
    }
    uint64_t b, en;
    if (!cJSON_IsArray(of) || cJSON_GetArraySize(of) != 2 ||
        !st_uint(cJSON_GetArrayItem(of, 0), &b) || !st_uint(cJSON_GetArrayItem(of, 1), &en))
        return lam_error(LAM_ERR_FORMAT, "%s: tensor \"%s\": data_offsets is not [begin, end]",
                         path, e->string);
    uint64_t avail = f->size - f->data_start;
    if (b > en || en > avail)
        return lam_error(LAM_ERR_FORMAT,
                         "%s: tensor \"%s\": data_offsets [%" PRIu64 ", %" PRIu64
                         "] outside the %" PRIu64 " data bytes (truncated file?)",
                         path, e->string, b, en, avail);
    if (en - b != count * st_dtype_size[di])
        return lam_error(LAM_ERR_FORMAT,
                         "%s: tensor \"%s\": %" PRIu64 " bytes for %" PRIu64 " %s values", path,
                         e->string, en - b, count, st_dtype_name[di]);
    span->b = b;
    span->e = en;
    span->name = e->string;
    return LAM_OK;
}

lam_status lam_st_open(lam_st_file *f, const char *path, const char *model)
{
    memset(f, 0, sizeof *f);
    if (!path) return lam_error(LAM_ERR_ARG, "%s load: path is NULL", model);
    f->path = path;
    FILE *fp = fopen(path, "rb");
    if (!fp) return lam_error(LAM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    long size = -1;
    if (fseek(fp, 0, SEEK_END) == 0) size = ftell(fp);
    if (size < 0 || fseek(fp, 0, SEEK_SET) != 0) {
        fclose(fp);
        return lam_error(LAM_ERR_IO, "%s: cannot determine the size", path);
    }
    f->size = (size_t)size;
    f->buf = lam_malloc(f->size + 1);
    if (!f->buf) {
        fclose(fp);
        return lam_error_context(LAM_ERR_NOMEM, "%s", path);
    }
    size_t got = fread(f->buf, 1, f->size, fp);
    fclose(fp);
    lam_status s = LAM_OK;
    st_span *spans = NULL;
    if (got != f->size) {
        s = lam_error(LAM_ERR_IO, "%s: read failed", path);
        goto fail;
    }
    if (f->size < 8) {
        s = lam_error(LAM_ERR_FORMAT, "%s: %zu bytes, too short for a safetensors header length",
                      path, f->size);
        goto fail;
    }
    uint64_t hl = 0;
    for (int i = 0; i < 8; i++) hl |= (uint64_t)f->buf[i] << (8 * i);
    if (hl < 2 || hl > f->size - 8) {
        s = lam_error(LAM_ERR_FORMAT,
                      "%s: header length %" PRIu64 " does not fit in the %zu-byte file", path, hl,
                      f->size);
        goto fail;
    }
    f->data_start = 8 + (size_t)hl;
    f->header = cJSON_ParseWithLength((const char *)f->buf + 8, (size_t)hl);
    if (!f->header || !cJSON_IsObject(f->header)) {
        s = lam_error(LAM_ERR_FORMAT, "%s: header is not a valid JSON object", path);
        goto fail;
    }
    f->meta = cJSON_GetObjectItemCaseSensitive(f->header, "__metadata__");
    if (!cJSON_IsObject(f->meta)) {
        s = lam_error(LAM_ERR_FORMAT, "%s: header has no __metadata__ object", path);
        goto fail;
    }
    const char *fmt = NULL, *ver = NULL, *mod = NULL;
    if (lam_st_meta_str(f, "format", &fmt) || strcmp(fmt, "lamina-classic") != 0) {
        s = lam_error(LAM_ERR_FORMAT, "%s: __metadata__.format is not \"lamina-classic\"", path);
        goto fail;
    }
    if (lam_st_meta_str(f, "version", &ver) || strcmp(ver, "1") != 0) {
        s = lam_error(LAM_ERR_UNSUPPORTED, "%s: unsupported lamina-classic version", path);
        goto fail;
    }
    if (lam_st_meta_str(f, "model", &mod) || strcmp(mod, model) != 0) {
        s = lam_error(LAM_ERR_FORMAT, "%s: holds model \"%s\", expected \"%s\"", path,
                      mod ? mod : "?", model);
        goto fail;
    }
    int nt = cJSON_GetArraySize(f->header);
    spans = lam_calloc((size_t)nt + 1, sizeof *spans);
    if (!spans) {
        s = LAM_ERR_NOMEM;
        goto fail;
    }
    int ns = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, f->header)
    {
        if (e == f->meta) continue;
        if ((s = st_check_entry(f, e, &spans[ns])) != LAM_OK) goto fail;
        ns++;
    }
    /* Tensors may not share bytes: a writer never does that, and a model
     * built from overlapping arrays would be a silent corruption. */
    qsort(spans, (size_t)ns, sizeof *spans, st_span_cmp);
    for (int i = 1; i < ns; i++)
        if (spans[i].b < spans[i - 1].e) {
            s = lam_error(LAM_ERR_FORMAT, "%s: tensors \"%s\" and \"%s\" overlap", path,
                          spans[i - 1].name, spans[i].name);
            goto fail;
        }
    lam_free(spans);
    return LAM_OK;
fail:
    lam_free(spans);
    lam_st_close(f);
    return s;
}

lam_status lam_st_tensor_get(const lam_st_file *f, const char *name, lam_st_dtype dtype,
                             int rank, int64_t *shape, const void **data)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(f->header, name);
    if (!e) return lam_error(LAM_ERR_FORMAT, "%s: tensor \"%s\" is missing", f->path, name);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    if (strcmp(dt->valuestring, st_dtype_name[dtype]) != 0)
        return lam_error(LAM_ERR_FORMAT, "%s: tensor \"%s\" has dtype %s, expected %s", f->path,
                         name, dt->valuestring, st_dtype_name[dtype]);
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
    if (cJSON_GetArraySize(sh) != rank)
        return lam_error(LAM_ERR_FORMAT, "%s: tensor \"%s\" has rank %d, expected %d", f->path,
                         name, cJSON_GetArraySize(sh), rank);
    for (int r = 0; r < rank; r++) {
        int64_t v = (int64_t)cJSON_GetArrayItem(sh, r)->valuedouble;
        if (shape[r] >= 0 && shape[r] != v)
            return lam_error(LAM_ERR_FORMAT,
                             "%s: tensor \"%s\" dimension %d is %" PRId64 ", expected %" PRId64,
                             f->path, name, r, v, shape[r]);
        shape[r] = v;
    }
    const cJSON *of = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    *data = f->buf + f->data_start + (size_t)cJSON_GetArrayItem(of, 0)->valuedouble;
    return LAM_OK;
}

lam_status lam_st_tensor_copy(const lam_st_file *f, const char *name, lam_st_dtype dtype,
                              int rank, int64_t *shape, void **out)
{
    const void *src;
    *out = NULL;
    LAM_TRY(lam_st_tensor_get(f, name, dtype, rank, shape, &src));
    size_t bytes = st_dtype_size[dtype];
    for (int r = 0; r < rank; r++) bytes *= (size_t)shape[r];
    *out = lam_malloc(bytes ? bytes : 1);
    if (!*out) return lam_error_context(LAM_ERR_NOMEM, "%s: tensor \"%s\"", f->path, name);
    memcpy(*out, src, bytes);
    return LAM_OK;
}

lam_status lam_st_meta_str(const lam_st_file *f, const char *key, const char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(f->meta, key);
    if (!cJSON_IsString(v))
        return lam_error(LAM_ERR_FORMAT, "%s: __metadata__.%s is missing or not a string",
                         f->path, key);
    *out = v->valuestring;
    return LAM_OK;
}

lam_status lam_st_meta_int(const lam_st_file *f, const char *key, int64_t lo, int64_t hi,
                           int64_t *out)
{
    const char *s;
    LAM_TRY(lam_st_meta_str(f, key, &s));
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return lam_error(LAM_ERR_FORMAT,
                         "%s: __metadata__.%s = \"%s\" is not an integer in [%" PRId64
                         ", %" PRId64 "]",
                         f->path, key, s, lo, hi);
    *out = v;
    return LAM_OK;
}

lam_status lam_st_meta_double(const lam_st_file *f, const char *key, double *out)
{
    const char *s;
    LAM_TRY(lam_st_meta_str(f, key, &s));
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !isfinite(v))
        return lam_error(LAM_ERR_FORMAT, "%s: __metadata__.%s = \"%s\" is not a finite number",
                         f->path, key, s);
    *out = v;
    return LAM_OK;
}
