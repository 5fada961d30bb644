/* attention.c - MultiHeadAttention, as Keras 3's: inputs query (Tq, dq),
 * value (S, dv_in)[, key (S, dk_in)][, attention mask (Tq, S)]; the key is
 * the value when absent. Query, key and value are projected by EinsumDense
 * kernels (d_in, H, K) (value: (d_in, H, V)) with biases (H, K), which in
 * row-major order are plain [d_in, H*K] matrices: one GEMM over all B*T
 * rows each. The fused kernel (kernels/attention.c) attends per head, and
 * the output projection (H, V, out) with bias (out) is one more GEMM.
 *
 * Forward keeps for backward the projections q, k, v, the attention output
 * and one log-sum-exp per (head, query): no (Tq, S) matrix. Attention
 * dropout (rate, training only) drops probabilities by a counter-based hash
 * that backward recomputes, so it keeps nothing more.
 *
 * Decoding: with spec.cache_len > 0 (lam_model_decoder sets it; Tq = S = 1
 * per call, one sequence) the keys and values of positions [0, cache_len)
 * live in n->cache; a call at position p writes this step's key and value
 * at slot p and attends over slots [0, p]. A decoder runs inference only.
 *
 * Measured (bench_attention layer, 2-core AMD EPYC): the char-GPT layer (B 12,
 * T 64, width 128, 4 heads of 32, causal), forward in training mode +
 * backward, 4.2 ms on one thread, of which the attention kernel 1.1 ms and
 * the four projections (300 MFLOP of GEMM) the rest. */
#include "kernels/activation.h"
#include "kernels/attention.h"
#include "kernels/kernels.h"
#include "ops/op.h"

#include <string.h>

/* A call's sizes and where its weights are in its parameter slice. */
typedef struct mha_dims {
    int H, dk, dv, out;
    int tq, s;
    int dq, dkin, dvin; /* last axes of the query, key and value inputs */
    int key, mask;      /* input index of the key (the value's when none) and of the mask (-1) */
    int64_t wq, bq, wk, bk, wv, bv, wo, bo; /* offsets; biases -1 without use_bias */
} mha_dims;

static mha_dims dims_of(const lam_node *n)
{
    const lam_layer_spec *s = &n->spec;
    mha_dims d;
    d.H = s->num_heads;
    d.dk = s->key_dim;
    d.dv = s->value_dim ? s->value_dim : s->key_dim;
    d.tq = (int)n->in[0].dim[0];
    d.dq = (int)n->in[0].dim[1];
    d.s = (int)n->in[1].dim[0];
    d.dvin = (int)n->in[1].dim[1];
    d.key = s->key_input ? 2 : 1;
    d.mask = s->mask_input ? 2 + s->key_input : -1;
    d.dkin = (int)n->in[d.key].dim[1];
    d.out = s->output_dim ? s->output_dim : d.dq;
    const int64_t hk = (int64_t)d.H * d.dk, hv = (int64_t)d.H * d.dv;
    const bool b = s->use_bias;
    int64_t at = 0;
    d.wq = at, at += d.dq * hk;
    d.bq = b ? at : -1, at += b ? hk : 0;
    d.wk = at, at += d.dkin * hk;
    d.bk = b ? at : -1, at += b ? hk : 0;
    d.wv = at, at += d.dvin * hv;
    d.bv = b ? at : -1, at += b ? hv : 0;
    d.wo = at, at += hv * d.out;
    d.bo = b ? at : -1;
    return d;
}

static lam_status bad_input(const lam_node *n, const char *what, int k, int expected_rank)
{
    char buf[64];
    return lam_error(LAM_ERR_SHAPE, "layer \"%s\" (MultiHeadAttention): the %s has shape %s, "
                     "expected rank %d (a sequence of vectors, the batch axis aside)",
                     n->spec.name, what, lam_dims_str(n->in[k].dim, n->in[k].rank, buf, sizeof buf),
                     expected_rank);
}

static lam_status mha_build(lam_node *n)
{
    const lam_layer_spec *s = &n->spec;
    const char *nm = s->name;
    if (s->num_heads < 1 || s->num_heads > 4096)
        return lam_error(LAM_ERR_ARG, "layer \"%s\" (MultiHeadAttention): num_heads is %d, "
                         "expected 1 to 4096", nm, s->num_heads);
    if (s->key_dim < 1 || s->key_dim > (1 << 16))
        return lam_error(LAM_ERR_ARG, "layer \"%s\" (MultiHeadAttention): key_dim is %d, "
                         "expected 1 to 65536", nm, s->key_dim);
    if (s->value_dim < 0 || s->value_dim > (1 << 16))
        return lam_error(LAM_ERR_ARG, "layer \"%s\" (MultiHeadAttention): value_dim is %d, "
                         "expected 1 to 65536, or 0 for key_dim", nm, s->value_dim);
    if (s->output_dim < 0 || s->output_dim > (1 << 24))
        return lam_error(LAM_ERR_ARG, "layer \"%s\" (MultiHeadAttention): output_dim is %d, "
                         "expected 1 to %d, or 0 for the query's last axis", nm, s->output_dim,
                         1 << 24);
    if (!(s->rate >= 0.0f && s->rate < 1.0f))
        return lam_error(LAM_ERR_ARG, "layer \"%s\" (MultiHeadAttention): dropout rate %g, "
                         "expected 0 <= rate < 1", nm, (double)s->rate);
    if (s->activation != LAM_ACT_LINEAR)
        return lam_error(LAM_ERR_ARG, "layer \"%s\" (MultiHeadAttention): activation %s; the "
                         "layer has none (linear)", nm, lam_activation_name(s->activation));
    const int expected = 2 + s->key_input + s->mask_input;
    if (n->ninputs != expected)
        return lam_error(LAM_ERR_ARG, "layer \"%s\" (MultiHeadAttention): called on %d inputs, "
                         "expected %d (query, value%s%s)", nm, n->ninputs, expected,
                         s->key_input ? ", key" : "", s->mask_input ? ", attention mask" : "");
    if (n->in[0].rank != 2) return bad_input(n, "query", 0, 2);
    if (n->in[1].rank != 2) return bad_input(n, "value", 1, 2);
    const mha_dims d = dims_of(n);
    if (s->key_input) {
        if (n->in[2].rank != 2) return bad_input(n, "key", 2, 2);
        if (n->in[2].dim[0] != d.s)
            return lam_error(LAM_ERR_SHAPE, "layer \"%s\" (MultiHeadAttention): the key has %lld "
                             "positions and the value %d; they must be equal", nm,
                             (long long)n->in[2].dim[0], d.s);
    }
    if (d.mask >= 0) {
        const lam_shape *m = &n->in[d.mask];
        if (m->rank != 2 || m->dim[0] != d.tq || m->dim[1] != d.s) {
            char buf[64];
            return lam_error(LAM_ERR_SHAPE, "layer \"%s\" (MultiHeadAttention): the attention "
                             "mask has shape %s, expected (%d, %d) (query positions, value "
                             "positions)", nm, lam_dims_str(m->dim, m->rank, buf, sizeof buf),
                             d.tq, d.s);
        }
    }
    const int64_t hk = (int64_t)d.H * d.dk, hv = (int64_t)d.H * d.dv;
    if (hk > (1 << 24) || hv > (1 << 24))
        return lam_error(LAM_ERR_SHAPE, "layer \"%s\" (MultiHeadAttention): %d heads of %d "
                         "(values %d) is too large", nm, d.H, d.dk, d.dv);
    if (s->cache_len < 0 || s->cache_len > (1 << 24))
        return lam_error(LAM_ERR_ARG, "layer \"%s\" (MultiHeadAttention): cache_len is %d, "
                         "expected 0 to %d", nm, s->cache_len, 1 << 24);
    if (s->cache_len > 0) {
        if (!s->use_causal_mask || s->key_input || s->mask_input)
            return lam_error(LAM_ERR_UNSUPPORTED, "layer \"%s\" (MultiHeadAttention): a "
                             "key/value cache (decoding one position at a time) needs causal "
                             "self-attention without a separate key or attention mask input, "
                             "so that each position sees exactly the ones before it", nm);
        if (d.tq != 1 || d.s != 1)
            return lam_error(LAM_ERR_SHAPE, "layer \"%s\" (MultiHeadAttention): with a "
                             "key/value cache each call takes one position; the query has %d "
                             "and the value %d", nm, d.tq, d.s);
        n->cache_floats = (int64_t)s->cache_len * (hk + hv);
    }
    lam_shape_set(&n->out, 2, (int64_t[]){d.tq, d.out});
    /* q, k, v, the attention output and one lse per (head, query). */
    n->saved_floats = d.tq * hk + d.s * hk + d.s * hv + d.tq * hv + (int64_t)d.H * d.tq;
    LAM_TRY(lam_node_add_tensor(n, "query/kernel", 3, (int64_t[]){d.dq, d.H, d.dk}));
    if (s->use_bias) LAM_TRY(lam_node_add_tensor(n, "query/bias", 2, (int64_t[]){d.H, d.dk}));
    LAM_TRY(lam_node_add_tensor(n, "key/kernel", 3, (int64_t[]){d.dkin, d.H, d.dk}));
    if (s->use_bias) LAM_TRY(lam_node_add_tensor(n, "key/bias", 2, (int64_t[]){d.H, d.dk}));
    LAM_TRY(lam_node_add_tensor(n, "value/kernel", 3, (int64_t[]){d.dvin, d.H, d.dv}));
    if (s->use_bias) LAM_TRY(lam_node_add_tensor(n, "value/bias", 2, (int64_t[]){d.H, d.dv}));
    LAM_TRY(lam_node_add_tensor(n, "attention_output/kernel", 3,
                                (int64_t[]){d.H, d.dv, d.out}));
    if (s->use_bias) LAM_TRY(lam_node_add_tensor(n, "attention_output/bias", 1,
                                                 (int64_t[]){d.out}));
    return LAM_OK;
}

/* glorot_uniform with Keras 3's fans for EinsumDense kernels: the
 * contracted axes in, the produced axes out (query (dq, H, K): dq in, H*K
 * out; output (H, V, out): H*V in, out out), as keras.src.layers.core.
 * einsum_dense hands the initializer input_axes/output_axes (checked against
 * Keras 3.15's weights; tf.keras 2 used the convolution rule instead). */
static lam_status mha_init(lam_node *n, float *p, float *state, lam_rng *rng)
{
    (void)state;
    const mha_dims d = dims_of(n);
    const double hk = (double)d.H * d.dk, hv = (double)d.H * d.dv;
    lam_init_glorot_uniform(p + d.wq, (int64_t)(d.dq * hk), d.dq, hk, rng);
    lam_init_glorot_uniform(p + d.wk, (int64_t)(d.dkin * hk), d.dkin, hk, rng);
    lam_init_glorot_uniform(p + d.wv, (int64_t)(d.dvin * hv), d.dvin, hv, rng);
    lam_init_glorot_uniform(p + d.wo, (int64_t)(hv * d.out), hv, d.out, rng);
    return LAM_OK; /* biases stay zero, as Keras's */
}

/* y [rows, cols] = x [rows, in] . W [in, cols] (+ bias). */
static void project(const float *x, int64_t rows, int in, const float *W, const float *bias,
                    int64_t cols, float *y)
{
    lam_gemm(false, false, (int)rows, (int)cols, in, 1.0f, x, in, W, (int)cols, 0.0f, y,
             (int)cols);
    if (bias) lam_bias_act_forward(LAM_ACT_LINEAR, y, bias, NULL, rows, cols);
}

/* The projection's gradients from dz = dL/dy: dW, db (may be NULL) and dx
 * (NULL: not wanted; accumulate: added to what dx holds). */
static void project_backward(const float *x, int64_t rows, int in, const float *W,
                             const float *dz, int64_t cols, float *dW, float *db, float *dx,
                             bool accumulate)
{
    lam_gemm(true, false, in, (int)cols, (int)rows, 1.0f, x, in, dz, (int)cols, 0.0f, dW,
             (int)cols);
    if (db) lam_bias_grad(dz, rows, cols, db);
    if (dx)
        lam_gemm(false, true, (int)rows, in, (int)cols, 1.0f, dz, (int)cols, W, (int)cols,
                 accumulate ? 1.0f : 0.0f, dx, in);
}

/* The kernel's arguments for this call; xs NULL: no mask input (decoding). */
static lam_attention_args attention_args(const lam_node *n, const lam_ctx *c, const mha_dims *d,
                                         const float *const *xs, int batch)
{
    lam_attention_args a = {.batch = batch, .tq = d->tq, .s = d->s, .heads = d->H,
                            .dk = d->dk, .dv = d->dv, .causal = n->spec.use_causal_mask,
                            .rate = c->training ? n->spec.rate : 0.0f,
                            /* Keras 3.15: a layer with dropout takes its Softmax
                             * path, which gives a row that sees nothing no weight
                             * (in inference too); without, it spreads it evenly. */
                            .empty_rows_zero = n->spec.rate > 0.0f};
    if (a.rate > 0.0f) { /* this step's draw, whatever the threads */
        lam_rng r;
        lam_rng_derive(&r, c->seed, (uint64_t)c->step, (uint64_t)n->index);
        a.seed = lam_rng_next(&r);
        a.batch_offset = c->batch_offset;
    }
    a.mask = xs && d->mask >= 0 ? xs[d->mask] : NULL;
    /* Padding masks (Embedding's mask_zero), as Keras's query_mask and
     * value_mask (the key's when a separate key is given): [batch, tq] and
     * [batch, s], 0 = padding. A decoder's one-row steps have none. */
    if (xs && c->masks) {
        a.query_mask = c->masks[0];
        a.key_mask = c->masks[d->key];
    }
    return a;
}

/* Where forward keeps what backward reads, for this batch. */
typedef struct mha_saved {
    float *q, *k, *v, *o, *lse;
} mha_saved;

static mha_saved saved_of(const lam_node *n, const mha_dims *d, int batch)
{
    const int64_t hk = (int64_t)d->H * d->dk, hv = (int64_t)d->H * d->dv;
    mha_saved s;
    s.q = n->saved;
    s.k = s.q + (int64_t)batch * d->tq * hk;
    s.v = s.k + (int64_t)batch * d->s * hk;
    s.o = s.v + (int64_t)batch * d->s * hv;
    s.lse = s.o + (int64_t)batch * d->tq * hv;
    return s;
}

static const float *bias_at(const float *p, int64_t off) { return off >= 0 ? p + off : NULL; }
static float *grad_at(float *g, int64_t off) { return off >= 0 ? g + off : NULL; }

/* One step of a decoder: this position's key and value into slot p of the
 * cache, then attention over slots [0, p]. */
static void decode_step(lam_node *n, const lam_ctx *c, const mha_dims *d,
                        const float *const *xs, const mha_saved *sv, int batch)
{
    const float *P = c->params;
    const int64_t hk = (int64_t)d->H * d->dk, hv = (int64_t)d->H * d->dv;
    const int64_t pos = c->position;
    float *kc = n->cache, *vc = kc + (int64_t)n->spec.cache_len * hk;
    lam_attention_args a = attention_args(n, c, d, NULL, 1);
    a.s = (int)pos + 1;
    a.offset = (int)pos;
    for (int b = 0; b < batch; b++) {
        project(xs[d->key] + (int64_t)b * d->dkin, 1, d->dkin, P + d->wk, bias_at(P, d->bk), hk,
                kc + pos * hk);
        project(xs[1] + (int64_t)b * d->dvin, 1, d->dvin, P + d->wv, bias_at(P, d->bv), hv,
                vc + pos * hv);
        lam_attention_forward(&a, sv->q + b * hk, kc, vc, sv->o + b * hv, NULL);
    }
}

static void mha_forward(lam_node *n, const lam_ctx *c, const float *const *xs, float *y,
                        int batch)
{
    const mha_dims d = dims_of(n);
    const mha_saved sv = saved_of(n, &d, batch);
    const float *P = c->params;
    const int64_t hk = (int64_t)d.H * d.dk, hv = (int64_t)d.H * d.dv;
    const int64_t rq = (int64_t)batch * d.tq, rs = (int64_t)batch * d.s;
    if (n->spec.cache_len > 0 && (c->position < 0 || c->position >= n->spec.cache_len)) {
        /* Past the cache (lam_decoder_step refuses such positions). */
        memset(y, 0, sizeof(float) * (size_t)(rq * d.out));
        return;
    }
    project(xs[0], rq, d.dq, P + d.wq, bias_at(P, d.bq), hk, sv.q);
    if (n->spec.cache_len > 0) {
        decode_step(n, c, &d, xs, &sv, batch);
    } else {
        project(xs[d.key], rs, d.dkin, P + d.wk, bias_at(P, d.bk), hk, sv.k);
        project(xs[1], rs, d.dvin, P + d.wv, bias_at(P, d.bv), hv, sv.v);
        const lam_attention_args a = attention_args(n, c, &d, xs, batch);
        lam_attention_forward(&a, sv.q, sv.k, sv.v, sv.o, sv.lse);
    }
    project(sv.o, rq, (int)hv, P + d.wo, bias_at(P, d.bo), d.out, y);
}

static void mha_backward(lam_node *n, const lam_ctx *c, const float *const *xs, const float *y,
                         float *dy, float *const *dxs, int batch)
{
    (void)y;
    const mha_dims d = dims_of(n);
    const mha_saved sv = saved_of(n, &d, batch);
    const float *P = c->params;
    float *G = c->grads;
    const int64_t hk = (int64_t)d.H * d.dk, hv = (int64_t)d.H * d.dv;
    const int64_t rq = (int64_t)batch * d.tq, rs = (int64_t)batch * d.s;
    float *dq = c->scratch, *dk = dq + rq * hk, *dv = dk + rs * hk, *dO = dv + rs * hv;
    /* Output projection: dWo = o^T dy, dbo, do = dy Wo^T. */
    project_backward(sv.o, rq, (int)hv, P + d.wo, dy, d.out, G + d.wo, grad_at(G, d.bo), dO,
                     false);
    const lam_attention_args a = attention_args(n, c, &d, xs, batch);
    lam_attention_backward(&a, sv.q, sv.k, sv.v, sv.o, sv.lse, dO, dq, dk, dv);
    project_backward(xs[0], rq, d.dq, P + d.wq, dq, hk, G + d.wq, grad_at(G, d.bq), dxs[0],
                     false);
    project_backward(xs[1], rs, d.dvin, P + d.wv, dv, hv, G + d.wv, grad_at(G, d.bv), dxs[1],
                     false);
    /* Without a key input the key is the value: both gradients sum there. */
    project_backward(xs[d.key], rs, d.dkin, P + d.wk, dk, hk, G + d.wk, grad_at(G, d.bk),
                     dxs[d.key], d.key == 1);
    /* The mask is not differentiable: whoever asks gets zeros. */
    if (d.mask >= 0 && dxs[d.mask])
        memset(dxs[d.mask], 0, sizeof(float) * (size_t)(rq * d.s));
}

/* Backward's gradients of q, k, v and of the attention output. */
static int64_t mha_scratch(const lam_node *n, int batch)
{
    const mha_dims d = dims_of(n);
    const int64_t hk = (int64_t)d.H * d.dk, hv = (int64_t)d.H * d.dv;
    return (int64_t)batch * (d.tq * hk + d.s * hk + d.s * hv + d.tq * hv);
}

const lam_op lam_op_multi_head_attention = {
    .kind = LAM_LAYER_MULTI_HEAD_ATTENTION,
    .class_name = "MultiHeadAttention",
    .base_name = "multi_head_attention",
    .min_inputs = 2,
    .max_inputs = 4,
    .mask_rule = LAM_MASK_KEEP, /* the output keeps the query's mask, as Keras's */
    .build = mha_build,
    .init = mha_init,
    .forward = mha_forward,
    .backward = mha_backward,
    .scratch = mha_scratch,
};
