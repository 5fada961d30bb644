/* embedding.c - Embedding: ids (any rank, as floats) -> rows of a
 * [input_dim, output_dim] table, the output one axis longer. Keras raises
 * on an id outside [0, input_dim); a forward pass here cannot report, so
 * such an id gives a zero row and no gradient. With mask_zero the output
 * carries a mask, 1 where the id is not 0 (the engine makes it: the op's
 * mask_rule), which downstream layers and the loss use as Keras's. */
#include "kernels/embedding.h"
#include "kernels/sample_grads.h"
#include "ops/op.h"

static lam_status embedding_build(lam_node *n)
{
    const lam_layer_spec *s = &n->spec;
    if (s->input_dim < 1 || s->input_dim > (1 << 24))
        return lam_error(LAM_ERR_ARG, "layer \"%s\" (Embedding): input_dim is %d, expected "
                         "1 to %d", s->name, s->input_dim, 1 << 24);
    if (s->units < 1 || s->units > (1 << 24))
        return lam_error(LAM_ERR_ARG, "layer \"%s\" (Embedding): output_dim (units) is %d, "
                         "expected 1 to %d", s->name, s->units, 1 << 24);
    const lam_shape *in = &n->in[0];
    if (in->rank + 1 > 4) {
        char buf[64];
        return lam_error(LAM_ERR_UNSUPPORTED, "layer \"%s\" (Embedding): input shape %s gives "
                         "an output of rank %d, expected at most 4 (lamina's largest "
                         "per-sample rank)", s->name, lam_dims_str(in->dim, in->rank, buf,
                         sizeof buf), in->rank + 1);
    }
    n->out.rank = in->rank + 1;
    for (int i = 0; i < in->rank; i++) n->out.dim[i] = in->dim[i];
    n->out.dim[in->rank] = s->units;
    return lam_node_add_tensor(n, "embeddings", 2, (int64_t[]){s->input_dim, s->units});
}

/* Keras's "uniform": RandomUniform(-0.05, 0.05). */
static lam_status embedding_init(lam_node *n, float *p, float *state, lam_rng *rng)
{
    (void)state;
    lam_init_uniform_005(p, (int64_t)n->spec.input_dim * n->spec.units, rng);
    return LAM_OK;
}

static void embedding_forward(lam_node *n, const lam_ctx *c, const float *const *xs, float *y,
                              int batch)
{
    lam_embedding_gather(xs[0], (int64_t)batch * n->in[0].size, c->params, n->spec.input_dim,
                         n->spec.units, y);
}

static void embedding_backward(lam_node *n, const lam_ctx *c, const float *const *xs,
                               const float *y, float *dy, float *const *dxs, int batch)
{
    (void)y;
    const int64_t ids = (int64_t)batch * n->in[0].size;
    if (c->param_grads)
        lam_embedding_scatter(xs[0], ids, dy, n->spec.input_dim, n->spec.units, c->grads);
    if (c->sample_sq) {
        const int T = (int)n->in[0].size, U = n->spec.units;
        #pragma omp parallel for num_threads(c->sample_threads) schedule(static)
        for (int b = 0; b < batch; b++)
            c->sample_sq[b] += lam_gathered_sqnorm(T, U, xs[0] + (int64_t)b * T, n->spec.input_dim,
                                                   dy + (int64_t)b * T * U);
    }
    /* Ids are not differentiable: whoever asks gets zeros, as Keras's None. */
    if (dxs[0])
        for (int64_t i = 0; i < ids; i++) dxs[0][i] = 0.0f;
}

const lam_op lam_op_embedding = {
    .kind = LAM_LAYER_EMBEDDING,
    .class_name = "Embedding",
    .base_name = "embedding",
    .build = embedding_build,
    .init = embedding_init,
    .forward = embedding_forward,
    .backward = embedding_backward,
    .sample_norms = true,
    .mask_rule = LAM_MASK_NONZERO_IDS,
};
