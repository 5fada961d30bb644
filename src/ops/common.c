/* common.c - what several ops share: activation with the loss's logits
 * hand-off, and Keras's initialisers. */
#include "kernels/activation.h"
#include "kernels/kernels.h"
#include "ops/op.h"

#include <math.h>
#include <string.h>

void lam_node_bias_activate(lam_node *n, float *y, const float *bias, int batch, int64_t units)
{
    /* The loss (or GELU's backward) may want the pre-activations too: kept
     * in n->logits as the bias is added. */
    const int64_t rows = (int64_t)batch * n->out.size / units;
    lam_bias_act_forward(n->spec.activation, y, bias, n->logits, rows, units);
}

void lam_node_activate_backward(lam_node *n, const float *y, float *dy, int batch, int64_t units)
{
    if (n->grad_is_preact) return;
    int64_t rows = (int64_t)batch * n->out.size / units;
    if (lam_act_needs_preact(n->spec.activation))
        lam_act_backward_preact(n->spec.activation, n->logits, dy, rows, units);
    else
        lam_act_backward(n->spec.activation, y, dy, rows, units);
}

void lam_node_activate_tangent(lam_node *n, float *dz, double *span, int batch)
{
    if (n->spec.activation != LAM_ACT_RELU) return;
    for (int b = 0; b < batch; b++)
        lam_relu_tangent(n->logits + (int64_t)b * n->out.size, dz + (int64_t)b * n->out.size,
                         n->out.size, span + 2 * b);
}

void lam_init_glorot_uniform(float *w, int64_t count, double fan_in, double fan_out,
                             lam_rng *rng)
{
    double limit = sqrt(6.0 / (fan_in + fan_out));
    for (int64_t i = 0; i < count; i++)
        w[i] = (float)((2.0 * lam_rng_uniform(rng) - 1.0) * limit);
}

void lam_init_uniform_005(float *w, int64_t count, lam_rng *rng)
{
    for (int64_t i = 0; i < count; i++) w[i] = (float)(0.1 * lam_rng_uniform(rng) - 0.05);
}

lam_status lam_init_orthogonal(float *w, int rows, int cols, lam_rng *rng)
{
    /* Keras: QR of a normal (max, min) matrix, q *= sign(diag(r)), transposed
     * when rows < cols. Modified Gram-Schmidt on the columns of a tall
     * matrix gives the same q as Householder QR with positive diag(r). */
    int tall = rows >= cols ? rows : cols, narrow = rows >= cols ? cols : rows;
    double *a = lam_malloc(sizeof(double) * (size_t)tall * (size_t)narrow);
    if (!a) return LAM_ERR_NOMEM;
    for (int64_t i = 0; i < (int64_t)tall * narrow; i++) a[i] = lam_rng_normal(rng);
    /* a is tall x narrow, row-major; orthonormalise its columns. */
    for (int j = 0; j < narrow; j++) {
        for (int k = 0; k < j; k++) {
            double dot = 0;
            for (int i = 0; i < tall; i++) dot += a[(int64_t)i * narrow + j] * a[(int64_t)i * narrow + k];
            for (int i = 0; i < tall; i++) a[(int64_t)i * narrow + j] -= dot * a[(int64_t)i * narrow + k];
        }
        double norm = 0;
        for (int i = 0; i < tall; i++) norm += a[(int64_t)i * narrow + j] * a[(int64_t)i * narrow + j];
        norm = sqrt(norm);
        if (norm < 1e-12) norm = 1e-12;
        for (int i = 0; i < tall; i++) a[(int64_t)i * narrow + j] /= norm;
    }
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++)
            w[(int64_t)r * cols + c] = (float)(rows >= cols ? a[(int64_t)r * narrow + c]
                                                           : a[(int64_t)c * narrow + r]);
    lam_free(a);
    return LAM_OK;
}

const char *lam_dims_str(const int64_t *dims, int n, char *buf, size_t cap)
{
    int k = snprintf(buf, cap, "(");
    for (int i = 0; i < n && k > 0 && (size_t)k < cap; i++)
        k += snprintf(buf + k, cap - (size_t)k, i ? ", %lld" : "%lld", (long long)dims[i]);
    if (k > 0 && (size_t)k < cap) snprintf(buf + k, cap - (size_t)k, n == 1 ? ",)" : ")");
    return buf;
}
