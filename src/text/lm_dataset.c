/* lm_dataset.c - language-modelling data: windows of token ids with their
 * next-token labels, as nanoGPT's train.py.
 *
 * lam_lm_dataset cuts the ids into non-overlapping windows (stride = block),
 * so an epoch sees every token once as an input; lam_lm_batch draws windows at
 * random offsets instead (nanoGPT's get_batch), for step-based training. */
#include "text/text.h"

#include <string.h>

static lam_status check_ids(const int32_t *ids, int64_t n, const char *what)
{
    for (int64_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= LAM_TOKENIZER_MAX_VOCAB)
            return lam_error(LAM_ERR_ARG, "%s: token %lld is id %d, expected 0 to %d", what,
                             (long long)i, ids[i], LAM_TOKENIZER_MAX_VOCAB - 1);
    return LAM_OK;
}

static lam_status check_block(int64_t n, int64_t block, const char *what)
{
    if (block < 1 || block > (1 << 24))
        return lam_error(LAM_ERR_ARG, "%s: block %lld, expected 1 to 16777216", what,
                         (long long)block);
    if (n - 1 < block)
        return lam_error(LAM_ERR_SHAPE, "%s: block %lld is larger than the corpus: %lld tokens "
                         "hold no window of %lld inputs and the token after them", what,
                         (long long)block, (long long)n, (long long)block);
    return LAM_OK;
}

static lam_status windows(const int32_t *ids, int64_t n, int64_t block, const char *what,
                          lam_dataset **out)
{
    LAM_TRY(check_block(n, block, what));
    const int64_t nw = (n - 1) / block;
    lam_dataset *ds;
    LAM_TRY(lam_dataset_create(&ds, LAM_F32, nw, 1, &block, false, 0));
    float *x = lam_dataset_x(ds);
    for (int64_t i = 0; i < nw * block; i++) x[i] = (float)ids[i];
    /* Window k's labels are ids[k*block + 1 ..], one contiguous run for all windows. */
    lam_status st = lam_dataset_set_labels(ds, block, ids + 1, NULL);
    if (st != LAM_OK) {
        lam_dataset_free(ds);
        return lam_error_context(st, "%s", what);
    }
    *out = ds;
    return LAM_OK;
}

lam_status lam_lm_dataset(const int32_t *ids, int64_t n, int64_t block, lam_dataset **out)
{
    if (!out || (!ids && n) || n < 0) return lam_error(LAM_ERR_ARG, "lam_lm_dataset: NULL argument");
    *out = NULL;
    LAM_TRY(check_ids(ids, n, "language-model data"));
    return windows(ids, n, block, "language-model data", out);
}

lam_status lam_lm_split(const int32_t *ids, int64_t n, int64_t block, double val_fraction,
                        lam_dataset **train, lam_dataset **val)
{
    if (!train || !val || (!ids && n) || n < 0)
        return lam_error(LAM_ERR_ARG, "lam_lm_split: NULL argument");
    *train = *val = NULL;
    if (!(val_fraction >= 0 && val_fraction < 1))
        return lam_error(LAM_ERR_ARG, "language-model data: validation fraction %g, expected "
                         "0 <= fraction < 1", val_fraction);
    LAM_TRY(check_ids(ids, n, "language-model data"));
    /* nanoGPT: n = len(data); train_data = data[:int(n*0.9)]; val_data = data[int(n*0.9):] */
    const int64_t split = (int64_t)((double)n * (1.0 - val_fraction));
    char what[96];
    snprintf(what, sizeof what, "language-model training data (the first %lld of %lld tokens)",
             (long long)split, (long long)n);
    LAM_TRY(windows(ids, split, block, what, train));
    if (val_fraction == 0) return LAM_OK;
    snprintf(what, sizeof what, "language-model validation data (the last %lld of %lld tokens)",
             (long long)(n - split), (long long)n);
    lam_status st = windows(ids + split, n - split, block, what, val);
    if (st != LAM_OK) {
        lam_dataset_free(*train);
        *train = NULL;
    }
    return st;
}

lam_status lam_lm_batch(const int32_t *ids, int64_t n, int64_t block, int batch, uint64_t seed,
                        int64_t step, float *x, int32_t *y)
{
    if (!ids || !x || !y || n < 0) return lam_error(LAM_ERR_ARG, "lam_lm_batch: NULL argument");
    if (batch < 1) return lam_error(LAM_ERR_ARG, "lam_lm_batch: batch %d, expected >= 1", batch);
    LAM_TRY(check_block(n, block, "lam_lm_batch"));
    lam_rng r;
    lam_rng_derive(&r, seed, (uint64_t)step, 0);
    for (int b = 0; b < batch; b++) {
        /* torch.randint(len(data) - block_size): offsets 0 .. n - block - 1 */
        const int64_t at = (int64_t)lam_rng_below(&r, (uint64_t)(n - block));
        for (int64_t t = 0; t < block; t++) {
            x[b * block + t] = (float)ids[at + t];
            y[b * block + t] = ids[at + t + 1];
        }
    }
    return LAM_OK;
}
