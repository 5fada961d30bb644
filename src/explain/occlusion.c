/* occlusion.c - occlusion (Zeiler & Fergus 2014): a window covered with
 * o->fill slides over the input, and each value's attribution is the mean,
 * over the windows covering it, of score(x) - score(covered x).
 *
 * Geometry: an image (H, W, C) is covered rows x columns over all its
 * channels; a sequence (T, F) window[0] positions over all features, and a
 * vector or token ids (T,) window[0] values (window[1] and stride[1] apply
 * to images only). Windows start at 0, stride, 2 stride, ... and one more
 * flush with the far edge when the stride does not land there, so the far
 * edge is always covered; a stride longer than the window leaves gaps,
 * whose values no window covers and get 0. Only forwards run
 * (LAM_MODE_INFER), o->batch covered copies per forward. */
#include "explain/attribution.h"

#include <string.h>

/* Window starts along an axis of n values: 0, s, 2s, ... <= n - k, plus n - k. */
static int64_t starts(int64_t n, int64_t k, int64_t s, int64_t *at)
{
    int64_t c = 0, p;
    for (p = 0; p <= n - k; p += s) {
        if (at) at[c] = p;
        c++;
    }
    if (p - s != n - k) {
        if (at) at[c] = n - k;
        c++;
    }
    return c;
}

lam_status lam_occlusion(lam_scorer *sc, const float *x, const lam_explain_options *o,
                         float *map, int64_t *evaluations)
{
    lam_model *m = sc->m;
    const lam_shape *in = &lam_model_input_node(m, 0)->out;
    const bool image = in->rank >= 3;
    const int64_t H = in->dim[0], W = image ? in->dim[1] : 1, C = in->size / (H * W);
    const int64_t kh = o->window[0], kw = image ? o->window[1] : 1;
    const int64_t sh = o->stride[0], sw = image ? o->stride[1] : 1;
    const int64_t ny = starts(H, kh, sh, NULL), nx = starts(W, kw, sw, NULL);
    const int64_t nwin = ny * nx;
    int64_t *ys = lam_malloc(sizeof(int64_t) * (size_t)(ny + nx));
    double *sum = lam_calloc((size_t)(H * W), sizeof(double));
    double *scores = lam_malloc(sizeof(double) * (size_t)sc->rows);
    int32_t *count = lam_calloc((size_t)(H * W), sizeof(int32_t));
    lam_status st = ys && sum && scores && count ? LAM_OK : LAM_ERR_NOMEM;
    double s0 = 0;
    if (st == LAM_OK) {
        starts(H, kh, sh, ys);
        starts(W, kw, sw, ys + ny);
        /* The score at x, in the mode the covered copies run in. */
        memcpy(lam_model_input_buffer(m, 0), x, sizeof(float) * (size_t)in->size);
        st = lam_scorer_forward(sc, 1, LAM_MODE_INFER, &s0);
    }
    const int64_t *xs = ys + ny;
    for (int64_t first = 0; first < nwin && st == LAM_OK; first += sc->rows) {
        const int n = (int)(nwin - first < sc->rows ? nwin - first : sc->rows);
        float *rows = lam_model_input_buffer(m, 0);
        for (int r = 0; r < n; r++) {
            float *row = rows + r * in->size;
            memcpy(row, x, sizeof(float) * (size_t)in->size);
            const int64_t y0 = ys[(first + r) / nx], x0 = xs[(first + r) % nx];
            for (int64_t y = y0; y < y0 + kh; y++)
                for (int64_t xx = x0; xx < x0 + kw; xx++)
                    for (int64_t c = 0; c < C; c++) row[(y * W + xx) * C + c] = o->fill;
        }
        st = lam_scorer_forward(sc, n, LAM_MODE_INFER, scores);
        for (int r = 0; r < n && st == LAM_OK; r++) {
            const int64_t y0 = ys[(first + r) / nx], x0 = xs[(first + r) % nx];
            for (int64_t y = y0; y < y0 + kh; y++)
                for (int64_t xx = x0; xx < x0 + kw; xx++) {
                    sum[y * W + xx] += s0 - scores[r];
                    count[y * W + xx]++;
                }
        }
    }
    if (st == LAM_OK)
        for (int64_t p = 0; p < H * W; p++)
            for (int64_t c = 0; c < C; c++)
                map[p * C + c] = count[p] ? (float)(sum[p] / count[p]) : 0.0f;
    *evaluations = nwin + 1;
    lam_free(ys);
    lam_free(sum);
    lam_free(scores);
    lam_free(count);
    return st;
}
