/* dense.c - Dense: y = act(x . W + b), W [in, units]. Applied to the last
 * axis, as Keras does for inputs of higher rank. */
#include "kernels/activation.h"
#include "kernels/kernels.h"
#include "kernels/sample_grads.h"
#include "ops/op.h"

#include <omp.h>

static lam_status dense_build(lam_node *n)
{
    if (n->spec.units < 1 || n->spec.units > (1 << 24))
        return lam_error(LAM_ERR_ARG, "layer \"%s\" (Dense): units is %d, expected >= 1",
                         n->spec.name, n->spec.units);
    int64_t in = n->in[0].dim[n->in[0].rank - 1];
    n->out.rank = n->in[0].rank;
    for (int i = 0; i < n->in[0].rank; i++) n->out.dim[i] = n->in[0].dim[i];
    n->out.dim[n->out.rank - 1] = n->spec.units;
    LAM_TRY(lam_node_add_tensor(n, "kernel", 2, (int64_t[]){in, n->spec.units}));
    if (n->spec.use_bias) LAM_TRY(lam_node_add_tensor(n, "bias", 1, (int64_t[]){n->spec.units}));
    return LAM_OK;
}

static lam_status dense_init(lam_node *n, float *p, float *state, lam_rng *rng)
{
    int64_t in = n->tensors[0].shape[0], out = n->spec.units;
    lam_init_glorot_uniform(p, in * out, (double)in, (double)out, rng);
    return LAM_OK;
}

/* x (rows, in) -> y (rows, units); rows = batch * leading dims. */
static void dense_forward(lam_node *n, const lam_ctx *c, const float *const *xs, float *y, int batch)
{
    const float *x = xs[0];
    const int in = (int)n->tensors[0].shape[0], units = n->spec.units;
    const int rows = (int)((int64_t)batch * n->in[0].size / in);
    const float *W = c->params, *b = n->spec.use_bias ? c->params + (int64_t)in * units : NULL;
    lam_gemm(false, false, rows, units, in, 1.0f, x, in, W, units, 0.0f, y, units);
    lam_node_bias_activate(n, y, b, batch, units);
}

/* Positions per sample: 1 for a vector input, T for a sequence (T, in). */
static int dense_positions(const lam_node *n)
{
    return (int)(n->in[0].size / n->tensors[0].shape[0]);
}

static int64_t dense_sample_scratch(const lam_node *n)
{
    return lam_outer_sqnorm_work(dense_positions(n), (int)n->tensors[0].shape[0], n->spec.units);
}

/* sample_sq[b] += ||x_b^T dz_b||^2 + ||sum of dz_b's rows||^2, by the Gram
 * matrices where that is cheaper (always for a vector input). */
static void dense_sample_norms(const lam_node *n, const lam_ctx *c, const float *x,
                               const float *dz, int batch)
{
    const int in = (int)n->tensors[0].shape[0], units = n->spec.units, T = dense_positions(n);
    const int64_t per = dense_sample_scratch(n);
    #pragma omp parallel for num_threads(c->sample_threads) schedule(static)
    for (int b = 0; b < batch; b++) {
        float *work = c->sample_work ? c->sample_work + omp_get_thread_num() * per : NULL;
        const float *A = x + (int64_t)b * T * in, *B = dz + (int64_t)b * T * units;
        double s = lam_outer_sqnorm(T, in, units, A, B, work);
        if (n->spec.use_bias) s += lam_column_sum_sqnorm(T, units, B);
        c->sample_sq[b] += s;
    }
}

static void dense_backward(lam_node *n, const lam_ctx *c, const float *const *xs,
                           const float *y, float *dy, float *const *dxs, int batch)
{
    const float *x = xs[0];
    float *dx = dxs[0];
    const int in = (int)n->tensors[0].shape[0], units = n->spec.units;
    const int rows = (int)((int64_t)batch * n->in[0].size / in);
    lam_node_activate_backward(n, y, dy, batch, units);
    /* dW = x^T . dz;  db = sum dz;  dx = dz . W^T */
    if (c->param_grads) {
        lam_gemm(true, false, in, units, rows, 1.0f, x, in, dy, units, 0.0f, c->grads, units);
        if (n->spec.use_bias) lam_bias_grad(dy, rows, units, c->grads + (int64_t)in * units);
    }
    if (c->sample_sq) dense_sample_norms(n, c, x, dy, batch);
    if (dx) lam_gemm(false, true, rows, in, units, 1.0f, dy, units, c->params, units, 0.0f, dx, in);
}

/* dz = dx . W (the bias has no tangent), then the activation's. */
static void dense_tangent(lam_node *n, const lam_ctx *c, const float *const *xs,
                          const float *const *dxs, const float *y, float *dy, double *span,
                          int batch)
{
    const int in = (int)n->tensors[0].shape[0], units = n->spec.units;
    const int rows = (int)((int64_t)batch * n->in[0].size / in);
    lam_gemm(false, false, rows, units, in, 1.0f, dxs[0], in, c->params, units, 0.0f, dy, units);
    lam_node_activate_tangent(n, dy, span, batch);
}

const lam_op lam_op_dense = {
    .kind = LAM_LAYER_DENSE,
    .class_name = "Dense",
    .base_name = "dense",
    .build = dense_build,
    .init = dense_init,
    .forward = dense_forward,
    .backward = dense_backward,
    .tangent = dense_tangent,
    .sample_norms = true,
    .sample_scratch = dense_sample_scratch,
    .mask_rule = LAM_MASK_KEEP,
};
