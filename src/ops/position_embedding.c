/* position_embedding.c - keras_hub's PositionEmbedding and
 * TokenAndPositionEmbedding.
 *
 * PositionEmbedding: (..., T, C) -> the same shape, holding rows
 * start .. start + T - 1 of a learned [sequence_length, C] table for every
 * sample and leading index; the input gives only its shape (keras_hub's
 * call returns the table's rows broadcast to the input's shape, not added to
 * it). start is the decoder's position (lam_ctx.position, keras_hub's
 * start_index): 0 in a whole-sequence model, p when a decoder runs position
 * p alone. Weight "embeddings", glorot_uniform by default. keras_hub says it
 * does not support masking, so Keras drops an incoming mask here: so does
 * lamina (LAM_MASK_NONE).
 *
 * TokenAndPositionEmbedding: ids (..., T) -> Embedding(vocabulary_size,
 * embedding_dim)(ids) + PositionEmbedding(sequence_length) of that, (..., T,
 * embedding_dim). Weights as keras_hub's variable paths:
 * <layer>/token_embedding/embeddings [vocabulary_size, embedding_dim] and
 * <layer>/position_embedding/embeddings [sequence_length, embedding_dim],
 * both RandomUniform(-0.05, 0.05) by default (keras_hub clones its
 * embeddings_initializer, "uniform", into both). With mask_zero the output
 * carries the token embedding's mask (ids != 0), as keras_hub sets it.
 *
 * Neither output depends on the input's values through anything
 * differentiable: the input gradient is zero (Keras's None). */
#include "kernels/embedding.h"
#include "kernels/sample_grads.h"
#include "ops/op.h"

#include <omp.h>
#include <string.h>

#define POSITION_MAX (1 << 24)

static lam_status check_sequence_length(const lam_node *n, int64_t T)
{
    const lam_layer_spec *s = &n->spec;
    if (s->sequence_length < 1 || s->sequence_length > POSITION_MAX)
        return lam_error(LAM_ERR_ARG, "layer \"%s\" (%s): sequence_length is %d, expected 1 "
                         "to %d", s->name, n->op->class_name, s->sequence_length, POSITION_MAX);
    if (T > s->sequence_length)
        return lam_error(LAM_ERR_SHAPE, "layer \"%s\" (%s): the input has %lld positions, "
                         "more than sequence_length %d", s->name, n->op->class_name,
                         (long long)T, s->sequence_length);
    return LAM_OK;
}

/* ------------------------------------------------------- PositionEmbedding */

static lam_status position_build(lam_node *n)
{
    const lam_shape *in = &n->in[0];
    if (in->rank < 2) {
        char buf[64];
        return lam_error(LAM_ERR_SHAPE, "layer \"%s\" (PositionEmbedding): input shape %s, "
                         "expected (sequence, features) or more axes before them",
                         n->spec.name, lam_dims_str(in->dim, in->rank, buf, sizeof buf));
    }
    LAM_TRY(check_sequence_length(n, in->dim[in->rank - 2]));
    n->out = *in;
    return lam_node_add_tensor(n, "embeddings", 2,
                               (int64_t[]){n->spec.sequence_length, in->dim[in->rank - 1]});
}

static lam_status position_init(lam_node *n, float *p, float *state, lam_rng *rng)
{
    (void)state;
    const int64_t L = n->tensors[0].shape[0], C = n->tensors[0].shape[1];
    lam_init_glorot_uniform(p, L * C, (double)L, (double)C, rng);
    return LAM_OK;
}

/* Positions T, features C, and how many (T, C) blocks a batch holds. */
static void position_dims(const lam_node *n, int batch, int64_t *T, int64_t *C, int64_t *copies)
{
    const lam_shape *in = &n->in[0];
    *T = in->dim[in->rank - 2];
    *C = in->dim[in->rank - 1];
    *copies = (int64_t)batch * in->size / (*T * *C);
}

static void position_forward(lam_node *n, const lam_ctx *c, const float *const *xs, float *y,
                             int batch)
{
    (void)xs;
    int64_t T, C, copies;
    position_dims(n, batch, &T, &C, &copies);
    lam_position_rows(c->params, n->spec.sequence_length, C, c->position, T, copies, false, y);
}

/* Per-thread work of the per-sample norms: one sample's table gradient. */
static int64_t position_table_floats(const lam_node *n)
{
    return (int64_t)n->spec.sequence_length * n->spec.units;
}

static int64_t position_sample_scratch(const lam_node *n)
{
    return (int64_t)n->spec.sequence_length * n->in[0].dim[n->in[0].rank - 1];
}

/* sample_sq[b] += ||the position table's gradient from sample b||^2: its
 * copies (leading axes) summed into the rows they read, as backward does. */
static void position_sample_norms(const lam_node *n, const lam_ctx *c, const float *dy,
                                  int batch, int64_t T, int64_t C, int64_t copies_per_sample)
{
    const int64_t L = n->spec.sequence_length, per = L * C;
    const int64_t stride = copies_per_sample * T * C;
    #pragma omp parallel for num_threads(c->sample_threads) schedule(static)
    for (int b = 0; b < batch; b++) {
        float *work = c->sample_work + omp_get_thread_num() * per;
        lam_position_rows_grad(dy + b * stride, copies_per_sample, T, C, c->position, L, work);
        c->sample_sq[b] += lam_sqnorm(work, per);
    }
}

static void position_backward(lam_node *n, const lam_ctx *c, const float *const *xs,
                              const float *y, float *dy, float *const *dxs, int batch)
{
    (void)xs;
    (void)y;
    int64_t T, C, copies;
    position_dims(n, batch, &T, &C, &copies);
    if (c->param_grads)
        lam_position_rows_grad(dy, copies, T, C, c->position, n->spec.sequence_length, c->grads);
    if (c->sample_sq) position_sample_norms(n, c, dy, batch, T, C, copies / batch);
    if (dxs[0]) memset(dxs[0], 0, sizeof(float) * (size_t)batch * (size_t)n->in[0].size);
}

const lam_op lam_op_position_embedding = {
    .kind = LAM_LAYER_POSITION_EMBEDDING,
    .class_name = "PositionEmbedding",
    .base_name = "position_embedding",
    .build = position_build,
    .init = position_init,
    .forward = position_forward,
    .backward = position_backward,
    .sample_norms = true,
    .sample_scratch = position_sample_scratch,
    .mask_rule = LAM_MASK_NONE,
};

/* ----------------------------------------------- TokenAndPositionEmbedding */

static lam_status token_position_build(lam_node *n)
{
    const lam_layer_spec *s = &n->spec;
    const lam_shape *in = &n->in[0];
    if (s->input_dim < 1 || s->input_dim > POSITION_MAX)
        return lam_error(LAM_ERR_ARG, "layer \"%s\" (TokenAndPositionEmbedding): "
                         "vocabulary_size (input_dim) is %d, expected 1 to %d", s->name,
                         s->input_dim, POSITION_MAX);
    if (s->units < 1 || s->units > POSITION_MAX)
        return lam_error(LAM_ERR_ARG, "layer \"%s\" (TokenAndPositionEmbedding): "
                         "embedding_dim (units) is %d, expected 1 to %d", s->name, s->units,
                         POSITION_MAX);
    if (in->rank + 1 > 4) {
        char buf[64];
        return lam_error(LAM_ERR_UNSUPPORTED, "layer \"%s\" (TokenAndPositionEmbedding): ids "
                         "of shape %s give an output of rank %d, expected at most 4",
                         s->name, lam_dims_str(in->dim, in->rank, buf, sizeof buf),
                         in->rank + 1);
    }
    LAM_TRY(check_sequence_length(n, in->dim[in->rank - 1]));
    n->out.rank = in->rank + 1;
    for (int i = 0; i < in->rank; i++) n->out.dim[i] = in->dim[i];
    n->out.dim[in->rank] = s->units;
    LAM_TRY(lam_node_add_tensor(n, "token_embedding/embeddings", 2,
                                (int64_t[]){s->input_dim, s->units}));
    return lam_node_add_tensor(n, "position_embedding/embeddings", 2,
                               (int64_t[]){s->sequence_length, s->units});
}

static lam_status token_position_init(lam_node *n, float *p, float *state, lam_rng *rng)
{
    (void)state;
    lam_init_uniform_005(p, n->tensors[0].count + n->tensors[1].count, rng);
    return LAM_OK;
}

static void token_position_forward(lam_node *n, const lam_ctx *c, const float *const *xs,
                                   float *y, int batch)
{
    const lam_shape *in = &n->in[0];
    const int64_t V = n->spec.input_dim, D = n->spec.units, T = in->dim[in->rank - 1];
    const int64_t ids = (int64_t)batch * in->size;
    lam_embedding_gather(xs[0], ids, c->params, V, D, y);
    lam_position_rows(c->params + V * D, n->spec.sequence_length, D, c->position, T, ids / T,
                      true, y);
}

static void token_position_backward(lam_node *n, const lam_ctx *c, const float *const *xs,
                                    const float *y, float *dy, float *const *dxs, int batch)
{
    (void)y;
    const lam_shape *in = &n->in[0];
    const int64_t V = n->spec.input_dim, D = n->spec.units, T = in->dim[in->rank - 1];
    const int64_t ids = (int64_t)batch * in->size;
    if (c->param_grads) {
        lam_embedding_scatter(xs[0], ids, dy, V, D, c->grads);
        lam_position_rows_grad(dy, ids / T, T, D, c->position, n->spec.sequence_length,
                               c->grads + V * D);
    }
    if (c->sample_sq) { /* the token table's part, then the position table's */
        const int per = (int)in->size;
        #pragma omp parallel for num_threads(c->sample_threads) schedule(static)
        for (int b = 0; b < batch; b++)
            c->sample_sq[b] += lam_gathered_sqnorm(per, (int)D, xs[0] + (int64_t)b * per, V,
                                                   dy + (int64_t)b * per * D);
        position_sample_norms(n, c, dy, batch, T, D, in->size / T);
    }
    if (dxs[0]) memset(dxs[0], 0, sizeof(float) * (size_t)ids);
}

const lam_op lam_op_token_and_position_embedding = {
    .kind = LAM_LAYER_TOKEN_AND_POSITION_EMBEDDING,
    .class_name = "TokenAndPositionEmbedding",
    .base_name = "token_and_position_embedding",
    .build = token_position_build,
    .init = token_position_init,
    .forward = token_position_forward,
    .backward = token_position_backward,
    .sample_norms = true,
    .sample_scratch = position_table_floats,
    .mask_rule = LAM_MASK_NONZERO_IDS,
};
