/* permutation.c - permutation importance (Breiman 2001; scikit-learn's
 * permutation_importance with accuracy scoring): how much a classifier's
 * accuracy drops when one feature's column is shuffled, breaking its link to
 * the labels while keeping its distribution.
 *
 * The model is only called, never looked into, so any classifier works. Calls
 * are made one after another from the calling thread: the callback may be a
 * model that is not reentrant (a lam_model's buffers) and parallelises inside
 * itself. Shuffle (feature j, repeat r) draws from lam_rng_derive(seed, j, r),
 * so every result depends on the seed alone. */
#include "internal.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

static lam_status score(lam_predict_fn predict, void *model, const float *x, int64_t n,
                        int64_t d, const int32_t *y, int32_t *labels, double *acc)
{
    LAM_TRY(predict(model, x, n, d, labels));
    int64_t ok = 0;
    for (int64_t i = 0; i < n; i++) ok += labels[i] == y[i];
    *acc = (double)ok / (double)n;
    return LAM_OK;
}

lam_status lam_permutation_importance(lam_predict_fn predict, void *model, const float *x,
                                      int64_t n, int64_t d, const int32_t *y, int repeats,
                                      uint64_t seed, double *mean, double *std,
                                      double *baseline)
{
    const char *what = "permutation importance";
    if (!predict) return lam_error(LAM_ERR_ARG, "%s: predict is NULL", what);
    if (!x || !y) return lam_error(LAM_ERR_ARG, "%s: x or y is NULL", what);
    if (!mean || !baseline) return lam_error(LAM_ERR_ARG, "%s: mean or baseline is NULL", what);
    if (n < 1 || d < 1)
        return lam_error(LAM_ERR_ARG, "%s: need n >= 1 and d >= 1, got n=%" PRId64 " d=%" PRId64,
                         what, n, d);
    if (repeats < 1) return lam_error(LAM_ERR_ARG, "%s: repeats must be >= 1, got %d", what, repeats);
    float *xp = lam_malloc((size_t)(n * d) * sizeof *xp);
    float *col = lam_malloc((size_t)n * sizeof *col);
    int32_t *labels = lam_malloc((size_t)n * sizeof *labels);
    int64_t *perm = lam_malloc((size_t)n * sizeof *perm);
    double *drops = lam_malloc((size_t)repeats * sizeof *drops);
    lam_status s = LAM_OK;
    if (!xp || !col || !labels || !perm || !drops) {
        s = lam_error_context(LAM_ERR_NOMEM, "%s", what);
        goto done;
    }
    memcpy(xp, x, (size_t)(n * d) * sizeof *xp);
    if ((s = score(predict, model, xp, n, d, y, labels, baseline)) != LAM_OK) {
        lam_error_context(s, "%s: the unshuffled data", what);
        goto done;
    }
    for (int64_t j = 0; j < d; j++) {
        for (int64_t i = 0; i < n; i++) col[i] = x[i * d + j];
        for (int r = 0; r < repeats; r++) {
            lam_rng rng;
            lam_rng_derive(&rng, seed, (uint64_t)j, (uint64_t)r);
            for (int64_t i = 0; i < n; i++) perm[i] = i;
            for (int64_t i = n - 1; i > 0; i--) { /* Fisher-Yates */
                int64_t k = (int64_t)lam_rng_below(&rng, (uint64_t)(i + 1));
                int64_t t = perm[i];
                perm[i] = perm[k];
                perm[k] = t;
            }
            for (int64_t i = 0; i < n; i++) xp[i * d + j] = col[perm[i]];
            double acc;
            if ((s = score(predict, model, xp, n, d, y, labels, &acc)) != LAM_OK) {
                lam_error_context(s, "%s: feature %" PRId64 ", repeat %d", what, j, r);
                goto done;
            }
            drops[r] = *baseline - acc;
        }
        for (int64_t i = 0; i < n; i++) xp[i * d + j] = col[i];
        double m = 0;
        for (int r = 0; r < repeats; r++) m += drops[r];
        m /= repeats;
        mean[j] = m;
        if (std) {
            double v = 0;
            for (int r = 0; r < repeats; r++) v += (drops[r] - m) * (drops[r] - m);
            std[j] = sqrt(v / repeats);
        }
    }
done:
    lam_free(xp);
    lam_free(col);
    lam_free(labels);
    lam_free(perm);
    lam_free(drops);
    return s;
}
