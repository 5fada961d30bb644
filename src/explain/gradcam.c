/* gradcam.c - Grad-CAM (Selvaraju et al. 2017) as keras.io's recipe
 * computes it: A = a Conv2D layer's output (after its activation), the
 * weight of channel k = the mean over the layer's grid of dScore/dA_k,
 * cam = ReLU(sum_k w_k A_k) on that grid; lam_explain then resizes it to
 * the input's H x W (bilinear, half-pixel centres). */
#include "explain/attribution.h"

#include <math.h>
#include <string.h>

lam_status lam_gradcam_layer(const lam_model *m, const char *layer, int *node)
{
    int found = -1;
    for (int i = 0; i < m->n; i++) {
        const lam_layer_spec *s = &m->nodes[i].spec;
        if (layer ? strcmp(s->name, layer) == 0 : s->kind == LAM_LAYER_CONV2D) found = i;
    }
    if (found < 0 && !layer)
        return lam_error(LAM_ERR_ARG, "Grad-CAM: model \"%s\" has no Conv2D layer", m->name);
    if (found < 0)
        return lam_error(LAM_ERR_ARG, "Grad-CAM: model \"%s\" has no layer named \"%s\"",
                         m->name, layer);
    const lam_node *nd = &m->nodes[found];
    if (nd->spec.kind != LAM_LAYER_CONV2D)
        return lam_error(LAM_ERR_ARG, "Grad-CAM: layer \"%s\" is %s, not a Conv2D layer",
                         layer, lam_layer_kind_name(nd->spec.kind));
    for (int k = 0; k < lam_model_num_outputs(m); k++)
        if (lam_model_output_id(m, k) == found)
            return lam_error(LAM_ERR_ARG, "Grad-CAM: layer \"%s\" is an output of the model; "
                             "it needs a Conv2D layer below the score", nd->spec.name);
    *node = found;
    return LAM_OK;
}

lam_status lam_gradcam_grid(lam_scorer *sc, int node, const float *x, float *cam)
{
    lam_model *m = sc->m;
    const lam_node *nd = &m->nodes[node];
    const int64_t h = nd->out.dim[0], w = nd->out.dim[1], K = nd->out.dim[2];
    memcpy(lam_model_input_buffer(m, 0), x,
           sizeof(float) * (size_t)lam_model_input_node(m, 0)->out.size);
    double s;
    LAM_TRY(lam_scorer_forward(sc, 1, LAM_MODE_INFER_GRAD, &s));
    /* Backward stops above the layer: its output gradient is dScore/dA as
     * its readers wrote it (the layer's own backward would turn it into the
     * gradient of its pre-activation, in place). */
    const float *g = NULL;
    LAM_TRY(lam_scorer_backward(sc, 1, node, &g));
    const float *A = nd->value;
    double *wk = lam_calloc((size_t)K, sizeof(double));
    if (!wk) return LAM_ERR_NOMEM;
    if (g)
        for (int64_t p = 0; p < h * w; p++)
            for (int64_t k = 0; k < K; k++) wk[k] += g[p * K + k];
    for (int64_t k = 0; k < K; k++) wk[k] /= (double)(h * w);
    for (int64_t p = 0; p < h * w; p++) {
        double c = 0;
        for (int64_t k = 0; k < K; k++) c += wk[k] * A[p * K + k];
        cam[p] = c > 0 ? (float)c : 0.0f;
    }
    lam_free(wk);
    return LAM_OK;
}

/* Source coordinate of output pixel i: half-pixel centres, clamped. */
static void source_of(int64_t i, int64_t in, int64_t out, int64_t *lo, int64_t *hi, double *f)
{
    double c = ((double)i + 0.5) * (double)in / (double)out - 0.5;
    if (c < 0) c = 0;
    *lo = (int64_t)c;
    if (*lo > in - 1) *lo = in - 1;
    *hi = *lo + 1 < in ? *lo + 1 : in - 1;
    *f = c - (double)*lo;
    if (*hi == *lo) *f = 0;
}

void lam_resize_bilinear(const float *src, int64_t h, int64_t w, float *dst, int64_t H,
                         int64_t W)
{
    for (int64_t y = 0; y < H; y++) {
        int64_t y0, y1, x0, x1;
        double fy, fx;
        source_of(y, h, H, &y0, &y1, &fy);
        for (int64_t x = 0; x < W; x++) {
            source_of(x, w, W, &x0, &x1, &fx);
            const double top = src[y0 * w + x0] + fx * (src[y0 * w + x1] - src[y0 * w + x0]);
            const double bot = src[y1 * w + x0] + fx * (src[y1 * w + x1] - src[y1 * w + x0]);
            dst[y * W + x] = (float)(top + fy * (bot - top));
        }
    }
}
