/* scaler.c - the feature scaling a classic model keeps (lam_scaling in its
 * parameters): fitted on the training x, applied to every x the model sees
 * afterwards, and saved in its file as two tensors, scaler_offset and
 * scaler_scale (F64 [d]), with __metadata__.scaling naming the kind. The
 * statistics are those of the Normalization layer (src/kernels/scaling.c),
 * so scikit-learn's StandardScaler and MinMaxScaler, constant features
 * included. */
#include "classic.h"
#include "kernels/scaling.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

void lam_classic_scaler_clear(lam_classic_scaler *sc)
{
    lam_free(sc->offset);
    lam_free(sc->scale);
    sc->offset = sc->scale = NULL;
    sc->d = 0;
}

lam_status lam_classic_scaler_fit(lam_classic_scaler *sc, lam_scaling kind, const float *x,
                                  int64_t n, int64_t d, const char *what)
{
    lam_classic_scaler_clear(sc);
    sc->kind = kind;
    if (kind == LAM_SCALING_NONE) return LAM_OK;
    if (kind != LAM_SCALING_STANDARD && kind != LAM_SCALING_MINMAX)
        return lam_error(LAM_ERR_ARG, "%s: scaling %d, expected none, standard or minmax", what,
                         (int)kind);
    double *work = lam_malloc(sizeof(double) * (size_t)(6 * d));
    sc->offset = lam_malloc(sizeof(double) * (size_t)d);
    sc->scale = lam_malloc(sizeof(double) * (size_t)d);
    if (!work || !sc->offset || !sc->scale) {
        lam_free(work);
        lam_classic_scaler_clear(sc);
        return lam_error_context(LAM_ERR_NOMEM, "%s: scaling", what);
    }
    lam_feature_stats st = {d, 0.0, work, work + d, work + 2 * d, work + 3 * d};
    lam_feature_stats_reset(&st);
    const lam_norm_shape s = {n, d, 1};
    lam_feature_stats_add(&st, &s, x, work + 4 * d);
    lam_feature_stats_scaling(&st, kind == LAM_SCALING_MINMAX, sc->offset, sc->scale);
    sc->d = d;
    lam_free(work);
    return LAM_OK;
}

lam_status lam_classic_scaler_apply(const lam_classic_scaler *sc, const float *x, int64_t n,
                                    const float **out, float **owned)
{
    *owned = NULL;
    *out = x;
    if (sc->kind == LAM_SCALING_NONE || n == 0) return LAM_OK;
    const int64_t d = sc->d;
    float *y = lam_malloc(sizeof(float) * (size_t)(n * d));
    if (!y) return lam_error_context(LAM_ERR_NOMEM, "scaling %" PRId64 " samples", n);
#pragma omp parallel for schedule(static) if (n * d > 32768)
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++)
            y[i * d + j] = (float)(((double)x[i * d + j] - sc->offset[j]) / sc->scale[j]);
    *out = y;
    *owned = y;
    return LAM_OK;
}

int lam_classic_scaler_tensors(const lam_classic_scaler *sc, lam_st_tensor *t)
{
    if (sc->kind == LAM_SCALING_NONE) return 0;
    t[0] = (lam_st_tensor){"scaler_offset", LAM_ST_F64, 1, {sc->d, 0}, sc->offset};
    t[1] = (lam_st_tensor){"scaler_scale", LAM_ST_F64, 1, {sc->d, 0}, sc->scale};
    return 2;
}

lam_status lam_classic_scaling_meta(const lam_st_file *f, lam_scaling *kind)
{
    *kind = LAM_SCALING_NONE;
    /* Files written before scaling existed have no key: no scaling. */
    if (!cJSON_GetObjectItemCaseSensitive(f->meta, "scaling")) return LAM_OK;
    const char *name;
    LAM_TRY(lam_st_meta_str(f, "scaling", &name));
    for (int k = LAM_SCALING_NONE; k <= LAM_SCALING_MINMAX; k++)
        if (!strcmp(name, lam_scaling_name((lam_scaling)k))) {
            *kind = (lam_scaling)k;
            return LAM_OK;
        }
    return lam_error(LAM_ERR_FORMAT, "%s: __metadata__.scaling \"%s\", expected none, "
                     "standard or minmax", f->path, name);
}

lam_status lam_classic_scaler_load(lam_classic_scaler *sc, const lam_st_file *f, int64_t d)
{
    lam_classic_scaler_clear(sc);
    LAM_TRY(lam_classic_scaling_meta(f, &sc->kind));
    if (sc->kind == LAM_SCALING_NONE) return LAM_OK;
    int64_t sh[1] = {d};
    lam_status st = lam_st_tensor_copy(f, "scaler_offset", LAM_ST_F64, 1, sh, (void **)&sc->offset);
    if (st == LAM_OK)
        st = lam_st_tensor_copy(f, "scaler_scale", LAM_ST_F64, 1, sh, (void **)&sc->scale);
    for (int64_t j = 0; st == LAM_OK && j < d; j++)
        if (!isfinite(sc->offset[j]) || !(sc->scale[j] > 0) || !isfinite(sc->scale[j]))
            st = lam_error(LAM_ERR_FORMAT, "%s: feature %" PRId64 ": scaler offset %g, scale "
                           "%g; expected finite, scale > 0", f->path, j, sc->offset[j],
                           sc->scale[j]);
    if (st != LAM_OK) {
        lam_classic_scaler_clear(sc);
        return st;
    }
    sc->d = d;
    return LAM_OK;
}
