/* dataset.c - in-memory data sets kept in their stored type. */
#include "internal.h"
#include "io/mapped.h"

#include <string.h>

static size_t dtype_size(lam_dtype t) { return t == LAM_U8 ? 1 : 4; }

lam_status lam_dataset_create(lam_dataset **out, lam_dtype dtype, int64_t n, int rank,
                              const int64_t *shape, bool with_labels, int64_t target_size)
{
    *out = NULL;
    if (n < 0 || rank < 1 || rank > 4 || !shape || target_size < 0 ||
        (dtype != LAM_U8 && dtype != LAM_F32))
        return lam_error(LAM_ERR_ARG, "dataset: need n >= 0, rank 1..4 and a known dtype "
                                      "(got n=%lld, rank=%d)", (long long)n, rank);
    int64_t size = 1;
    for (int i = 0; i < rank; i++) {
        if (shape[i] < 1 || size > INT64_MAX / 8 / shape[i])
            return lam_error(LAM_ERR_ARG, "dataset: dimension %d is %lld, expected >= 1",
                             i, (long long)shape[i]);
        size *= shape[i];
    }
    if (n > 0 && size > (INT64_MAX / 8) / n)
        return lam_error(LAM_ERR_ARG, "dataset: %lld samples of %lld values overflow",
                         (long long)n, (long long)size);
    lam_dataset *ds = lam_calloc(1, sizeof *ds);
    if (!ds) return LAM_ERR_NOMEM;
    ds->n = n;
    ds->rank = rank;
    memcpy(ds->shape, shape, sizeof(int64_t) * (size_t)rank);
    ds->sample_size = size;
    ds->dtype = dtype;
    ds->scale = dtype == LAM_U8 ? 1.0f / 255.0f : 1.0f;
    ds->target_size = target_size;
    ds->label_size = 1;
    ds->x = lam_calloc((size_t)(n * size), dtype_size(dtype));
    if (!ds->x) goto nomem;
    if (with_labels && !(ds->labels = lam_calloc((size_t)n, sizeof(int32_t)))) goto nomem;
    if (target_size && !(ds->targets = lam_calloc((size_t)(n * target_size), sizeof(float))))
        goto nomem;
    *out = ds;
    return LAM_OK;
nomem:
    lam_dataset_free(ds);
    return LAM_ERR_NOMEM;
}

lam_status lam_dataset_adopt(lam_dataset **out, lam_dtype dtype, int64_t n, int rank,
                             const int64_t *shape, void *x)
{
    /* Built empty, then given the n samples: nothing is allocated or copied
     * for x, so a reader never holds two copies of a large data set. */
    LAM_TRY(lam_dataset_create(out, dtype, 0, rank, shape, false, 0));
    lam_dataset *ds = *out;
    if (!(ds->labels = lam_calloc((size_t)(n ? n : 1), sizeof(int32_t)))) {
        lam_dataset_free(ds);
        *out = NULL;
        return LAM_ERR_NOMEM;
    }
    lam_free(ds->x);
    ds->x = x;
    ds->n = n;
    return LAM_OK;
}

void lam_dataset_free(lam_dataset *ds)
{
    if (!ds) return;
    lam_mapped_release(ds->mapped);
    lam_free(ds->x);
    lam_free(ds->labels);
    lam_free(ds->weights);
    lam_free(ds->targets);
    lam_free(ds);
}

int64_t lam_dataset_count(const lam_dataset *ds) { return ds ? ds->n : 0; }
int64_t lam_dataset_sample_size(const lam_dataset *ds) { return ds->sample_size; }
lam_dtype lam_dataset_dtype(const lam_dataset *ds) { return ds->dtype; }
void *lam_dataset_x(lam_dataset *ds) { return ds->x; }
int32_t *lam_dataset_labels(lam_dataset *ds) { return ds->labels; }
float *lam_dataset_targets(lam_dataset *ds) { return ds->targets; }
int64_t lam_dataset_target_size(const lam_dataset *ds) { return ds->target_size; }
void lam_dataset_set_scale(lam_dataset *ds, float scale) { ds->scale = scale; }

int lam_dataset_shape(const lam_dataset *ds, int64_t shape[4])
{
    for (int i = 0; i < 4; i++) shape[i] = i < ds->rank ? ds->shape[i] : 0;
    return ds->rank;
}

int32_t lam_dataset_num_classes(const lam_dataset *ds)
{
    if (!ds->labels) return 0;
    int32_t mx = -1;
    for (int64_t i = 0; i < ds->n * ds->label_size; i++)
        if (ds->labels[i] > mx && (!ds->weights || ds->weights[i] != 0)) mx = ds->labels[i];
    return mx + 1;
}

int64_t lam_dataset_label_size(const lam_dataset *ds) { return ds->label_size; }
const float *lam_dataset_weights(const lam_dataset *ds) { return ds->weights; }

lam_status lam_dataset_set_labels(lam_dataset *ds, int64_t per_sample, const int32_t *labels,
                                  const float *weights)
{
    if (!ds || !labels || per_sample < 1 || per_sample > (1 << 24))
        return lam_error(LAM_ERR_ARG, "dataset: labels per sample %lld, expected 1 to 16777216 "
                         "(and a labels array)", (long long)per_sample);
    const size_t count = (size_t)(ds->n ? ds->n : 1) * (size_t)per_sample;
    int32_t *l = lam_malloc(count * sizeof *l);
    float *w = weights ? lam_malloc(count * sizeof *w) : NULL;
    if (!l || (weights && !w)) {
        lam_free(l);
        lam_free(w);
        return LAM_ERR_NOMEM;
    }
    memcpy(l, labels, (size_t)(ds->n * per_sample) * sizeof *l);
    if (w) memcpy(w, weights, (size_t)(ds->n * per_sample) * sizeof *w);
    lam_free(ds->labels);
    lam_free(ds->weights);
    ds->labels = l;
    ds->weights = w;
    ds->label_size = per_sample;
    return LAM_OK;
}

lam_status lam_dataset_reshape(lam_dataset *ds, int rank, const int64_t *shape)
{
    if (rank < 1 || rank > 4)
        return lam_error(LAM_ERR_ARG, "dataset reshape: rank %d, expected 1..4", rank);
    int64_t size = 1;
    for (int i = 0; i < rank; i++) {
        if (shape[i] < 1)
            return lam_error(LAM_ERR_ARG, "dataset reshape: dimension %d is %lld", i,
                             (long long)shape[i]);
        size *= shape[i];
    }
    if (size != ds->sample_size)
        return lam_error(LAM_ERR_SHAPE,
                         "dataset reshape: %lld values per sample cannot become %lld",
                         (long long)ds->sample_size, (long long)size);
    ds->rank = rank;
    for (int i = 0; i < 4; i++) ds->shape[i] = i < rank ? shape[i] : 0;
    return LAM_OK;
}

lam_status lam_dataset_truncate(lam_dataset *ds, int64_t n)
{
    if (n < 0 || n > ds->n)
        return lam_error(LAM_ERR_ARG, "dataset: cannot keep %lld of %lld samples",
                         (long long)n, (long long)ds->n);
    ds->n = n;
    return LAM_OK;
}

lam_status lam_dataset_slice(const lam_dataset *ds, int64_t first, int64_t count,
                             lam_dataset **out)
{
    *out = NULL;
    if (first < 0 || count < 0 || first + count > ds->n)
        return lam_error(LAM_ERR_ARG, "dataset: slice [%lld, %lld) outside %lld samples",
                         (long long)first, (long long)(first + count), (long long)ds->n);
    lam_dataset *s;
    if (ds->mapped) {
        /* A slice of a mapped set shares its mapping (mapped sets have labels,
         * never targets): a validation split of a streamed set stays streamed. */
        LAM_TRY(lam_dataset_create(&s, ds->dtype, 0, ds->rank, ds->shape, false, 0));
        lam_free(s->x);
        s->x = NULL;
        s->n = count;
        s->mapped = ds->mapped;
        s->mapped_first = ds->mapped_first + first;
        lam_mapped_retain(ds->mapped);
    } else {
        LAM_TRY(lam_dataset_create(&s, ds->dtype, count, ds->rank, ds->shape, false,
                                   ds->target_size));
        const size_t es = dtype_size(ds->dtype);
        memcpy(s->x, (const char *)ds->x + (size_t)(first * ds->sample_size) * es,
               (size_t)(count * ds->sample_size) * es);
    }
    if (ds->labels) {
        lam_status st = lam_dataset_set_labels(s, ds->label_size, ds->labels + first * ds->label_size,
                                               ds->weights ? ds->weights + first * ds->label_size : NULL);
        if (st != LAM_OK) {
            lam_dataset_free(s);
            return st;
        }
    }
    if (ds->targets)
        memcpy(s->targets, ds->targets + first * ds->target_size,
               (size_t)(count * ds->target_size) * sizeof(float));
    s->scale = ds->scale;
    *out = s;
    return LAM_OK;
}

lam_status lam_dataset_gather(const lam_dataset *ds, const int64_t *idx, int64_t count,
                              float *x, int32_t *labels, float *targets)
{
    return lam_dataset_gather_at(ds, idx, 0, count, x, labels, targets, NULL);
}

lam_status lam_dataset_gather_at(const lam_dataset *ds, const int64_t *idx, int64_t first,
                                 int64_t count, float *x, int32_t *labels, float *targets,
                                 float *weights)
{
    const int64_t L = ds->label_size;
    const int64_t d = ds->sample_size;
    /* A mapped batch's samples are requested from the disk all at once first
     * (a no-op for cached pages): measured on a file out of the page cache. */
    for (int64_t i = 0; x && ds->mapped && count > 1 && i < count; i++) {
        const int64_t j = idx ? idx[i] : first + i;
        if (j >= 0 && j < ds->n) lam_mapped_will_need(ds->mapped, ds->mapped_first + j);
    }
    for (int64_t i = 0; i < count; i++) {
        int64_t j = idx ? idx[i] : first + i;
        if (j < 0 || j >= ds->n)
            return lam_error(LAM_ERR_ARG, "dataset: sample %lld outside %lld samples",
                             (long long)j, (long long)ds->n);
        if (x) {
            float *dst = x + i * d;
            const size_t es = dtype_size(ds->dtype);
            const unsigned char *xs = ds->mapped ? lam_mapped_sample(ds->mapped,
                                                                     ds->mapped_first + j)
                                                 : (const unsigned char *)ds->x + j * d * es;
            if (ds->dtype == LAM_U8) {
                const uint8_t *src = xs;
                const float sc = ds->scale;
                for (int64_t k = 0; k < d; k++) dst[k] = (float)src[k] * sc;
            } else {
                memcpy(dst, xs, (size_t)d * sizeof(float));
            }
        }
        if (labels) {
            if (ds->labels) memcpy(labels + i * L, ds->labels + j * L, (size_t)L * sizeof *labels);
            else memset(labels + i * L, 0, (size_t)L * sizeof *labels);
        }
        if (weights) {
            if (ds->weights) memcpy(weights + i * L, ds->weights + j * L, (size_t)L * sizeof *weights);
            else for (int64_t k = 0; k < L; k++) weights[i * L + k] = 1.0f;
        }
        if (targets && ds->targets)
            memcpy(targets + i * ds->target_size, ds->targets + j * ds->target_size,
                   (size_t)ds->target_size * sizeof(float));
    }
    if (x && ds->mapped) lam_mapped_touch(ds->mapped, count);
    return LAM_OK;
}
