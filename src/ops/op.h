/* op.h - the graph node and the op interface. Every op is one unit of
 * build (shape inference, parameter layout) + init + forward + backward. */
#ifndef LAM_OP_H
#define LAM_OP_H

#include "internal.h"

/* The most weight tensors one layer holds (MultiHeadAttention: 8;
 * Bidirectional LSTM: 6). lam_node_add_tensor checks it. */
#define LAM_MAX_TENSORS 16

/* A per-sample shape: the batch axis is implicit. */
typedef struct lam_shape {
    int rank;
    int64_t dim[4];
    int64_t size; /* product of dim[0..rank) */
} lam_shape;

/* One weight tensor of a layer. Trainable ones live in the model's flat
 * parameter buffer (and its gradient and optimizer slots); non-trainable
 * ones (BatchNormalization's moving statistics) in its state buffer, which
 * no optimizer, gradient hook or weight decay touches. */
typedef struct lam_param_desc {
    char name[96];       /* "conv2d/kernel" */
    int rank;
    int64_t shape[4];
    int64_t count;
    bool trainable;
    int64_t offset;      /* from the start of the parameter (or state) buffer */
} lam_param_desc;

/* How a node's output mask follows from its inputs' masks: Keras 3's
 * supports_masking and compute_mask, checked layer by layer against Keras
 * (docs/ENGINE.md, "Masks"). A mask is one float per position of a node's
 * output (positions = output size / last axis), 1 for a real position and
 * 0 for padding; the engine computes it before the node's forward. */
typedef enum lam_mask_rule {
    /* No mask: Keras layers without supports_masking (Flatten, Conv, pooling,
     * Reshape, ...), which drop it, and consumers whose compute_mask gives
     * None (GlobalAveragePooling1D). The default. */
    LAM_MASK_NONE = 0,
    /* Input 0's mask, when the output has input 0's positions (the same axes
     * but the last): Keras's default compute_mask for layers that support
     * masking (Dense, activations, Dropout, normalisation, recurrent layers,
     * whose output without return_sequences has no positions left). */
    LAM_MASK_KEEP,
    /* Keras's Merge (Add, Subtract, ...): the inputs' masks OR-ed, and none
     * unless every input has one. */
    LAM_MASK_ANY,
    /* Concatenate: inputs without a mask count as all ones; along the last
     * axis the masks are OR-ed, along another one they are joined. None when
     * no input has one. */
    LAM_MASK_CONCAT,
    /* Embedding-like producers with spec.mask_zero: 1 where input 0 (the ids)
     * is not 0. None without mask_zero. */
    LAM_MASK_NONZERO_IDS,
} lam_mask_rule;

/* A node is one call of a layer: it reads the outputs of its input nodes,
 * which all come earlier in m->nodes (so index order is a topological
 * order). A layer called twice (a shared layer) is two nodes, the second
 * naming the first as its owner and using the owner's weights. */
typedef struct lam_node {
    lam_layer_spec spec;
    const struct lam_op *op;  /* NULL for an Input node */
    int index;                /* position in the model */
    int owner;                /* node holding this call's weights (index itself if not shared) */
    int ninputs;
    int *inputs;              /* ninputs node indices */
    lam_shape *in;            /* their output shapes */
    lam_shape out;
    int ntensors;
    lam_param_desc tensors[LAM_MAX_TENSORS];
    int64_t param_offset, param_count; /* trainable, in the parameter buffer */
    int64_t state_offset, state_count; /* non-trainable, in the state buffer */
    int64_t saved_floats;     /* per sample, kept from forward for backward */
    int64_t saved_ints;       /* per sample (e.g. argmax positions) */
    int64_t cache_floats;     /* kept across calls, whatever the batch (0: none) */
    void *priv;               /* op->priv_size zeroed bytes the op owns (its choices) */
    /* Planned buffers, [batch x size]: the output and dL/d(output). */
    float *value, *grad, *saved, *logits;
    float *cache;             /* cache_floats, zeroed when planned */
    int32_t *saved_idx;
    /* An output whose loss is computed from its pre-activations (softmax or
     * sigmoid + cross-entropy, as Keras): the plan keeps them in logits. */
    bool keep_logits;
    /* The output node's gradient is w.r.t. the pre-activation (the loss
     * fused softmax + cross-entropy, or sigmoid + binary CE, into logits).
     * Set per step by whoever writes the output gradient. */
    bool grad_is_preact;
    /* The output carries a mask (decided when the layer is called, from
     * op->mask_rule and the inputs' masks), planned in mask [batch,
     * positions]: the node's own buffer, or its input's when the rule keeps
     * it unchanged. */
    bool masked;
    float *mask;
    /* Planned only while the model keeps tangents (lam_model_keep_tangents):
     * [batch x out.size], the output's directional derivative (op->tangent). */
    float *tangent;
    /* Planned only while the model keeps sample norms (lam_model_keep_sample_norms),
     * for trainable nodes: sample_dy [batch x out.size], the output gradient
     * as backward received it; sample_grads [batch x param_count], the
     * per-sample gradients, where the op keeps them and memory allows. */
    float *sample_dy, *sample_grads;
    int sample_group;         /* its index among the trainable nodes (-1: none) */
} lam_node;

/* What a forward/backward call may use besides its inputs and output. */
typedef struct lam_ctx {
    const float *params;  /* this node's slice of the parameter buffer */
    float *grads;         /* this node's slice of the gradient buffer */
    bool param_grads;     /* backward: false when only input gradients are wanted
                           * (lam_backward_inputs); an op may then leave grads unwritten */
    float *state;         /* its non-trainable weights (updated in training) */
    float *scratch;       /* model-wide workspace, op->scratch() floats */
    bool training;        /* dropout on, batch statistics (LAM_MODE_TRAIN) */
    bool record;          /* keep what backward needs (training or input gradients) */
    uint64_t seed;        /* model seed, step and node index: dropout masks */
    int64_t step;
    int64_t batch_offset; /* the batch's first sample in the global batch (data-parallel
                           * fit; 0 otherwise): dropout keys its masks by global sample */
    int64_t position;     /* a decoder's sequence position of this call (0 otherwise):
                           * PositionEmbedding's row, MultiHeadAttention's cache slot */
    /* Per input k: its mask [batch, positions of input k] (1 = real, 0 =
     * padding), or NULL when it has none. Consumers (GlobalAveragePooling1D,
     * attention) read it in forward and backward. */
    const float *const *masks;
    /* Per-sample gradients, for DP-SGD (lam_backward_sample_norms), in ops
     * with sample_norms. With sample_sq set (param_grads is then false),
     * backward adds each sample's squared parameter-gradient norm into
     * sample_sq[b]; with sample_grads set too (ops with keeps_sample_grads,
     * when memory allows) it also writes the per-sample gradients there,
     * [batch x param_count]. sample_work holds sample_threads slices of
     * op->sample_scratch floats, one per OpenMP thread. */
    double *sample_sq;
    float *sample_grads;
    float *sample_work;
    int sample_threads;
} lam_ctx;

typedef struct lam_op {
    lam_layer_kind kind;
    const char *class_name; /* Keras class, "Conv2D" */
    const char *base_name;  /* Keras automatic name, "conv2d" */
    int min_inputs, max_inputs; /* 0 means 1 */
    size_t priv_size;       /* bytes of op-private state per node (0: none) */
    /* From n->spec and n->in[]: validate (errors name the layer), set
     * n->out, tensors (names, shapes; offsets are set by the model),
     * saved_floats/saved_ints/cache_floats, and n->priv. */
    lam_status (*build)(lam_node *n);
    /* Initialise this node's weights (NULL: all zero); state is its
     * non-trainable slice. */
    lam_status (*init)(lam_node *n, float *params, float *state, lam_rng *rng);
    /* x[k] [batch, in[k].size] -> y [batch, out.size]. */
    void (*forward)(lam_node *n, const lam_ctx *c, const float *const *x, float *y, int batch);
    /* dy [batch, out.size] (may be overwritten) -> dx[k] [batch, in[k].size]
     * (NULL where nobody needs it) and this node's parameter gradients.
     * Both are written, not accumulated: the engine sums where a tensor
     * fans out or a layer is shared, so every kernel keeps its plain
     * stores (beta = 0 GEMMs) and a chain runs exactly as before. */
    void (*backward)(lam_node *n, const lam_ctx *c, const float *const *x, const float *y,
                     float *dy, float *const *dx, int batch);
    /* Workspace floats needed at this batch size (NULL: none). */
    int64_t (*scratch)(const lam_node *n, int batch);
    /* Forward-mode derivative, for exact integrated gradients (NULL: the op
     * is not piecewise linear, or `linear` says how). At the point of the
     * last forward, with the pattern of that point frozen (a ReLU unit is on
     * where its pre-activation z > 0, a max-pool window keeps its winner):
     * dy [batch, out.size] = the derivative of the output along the inputs'
     * tangents dx[k]; a softmax or sigmoid (only at an output) gives the
     * tangent of its logits. span [batch][2] is lowered (never raised) to how
     * far along +dx (span[b][0]) and -dx (span[b][1]) that pattern holds:
     * the first t >= 0 where some z + t dz crosses 0 or another entry of a
     * pool window overtakes the winner. Pre-activations come from n->logits,
     * which the plan keeps for ReLU layers while tangents are kept. */
    void (*tangent)(lam_node *n, const lam_ctx *c, const float *const *x,
                    const float *const *dx, const float *y, float *dy, double *span,
                    int batch);
    /* Workspace floats tangent needs at this batch size (NULL: none); the
     * plan makes scratch large enough for it while tangents are kept. */
    int64_t (*tangent_scratch)(const lam_node *n, int batch);
    /* forward is linear in its inputs (no bias, no activation, nothing
     * recorded): the tangent is forward applied to the tangents and no
     * pattern can switch (AveragePooling, Add, ZeroPadding2D, ...). */
    bool linear;
    /* The output is the single input, reinterpreted (Flatten, Reshape): the
     * plan shares the input's buffers and forward/backward are never called. */
    bool aliases_input;
    /* backward honours ctx.sample_sq (the per-sample norms of DP-SGD), and
     * ctx.sample_grads when keeps_sample_grads. A model with a trainable
     * layer lacking them is clipped sample by sample instead (src/train/dp.c). */
    bool sample_norms;
    bool keeps_sample_grads;
    /* Per-thread work floats of the per-sample norms (NULL: none). */
    int64_t (*sample_scratch)(const lam_node *n);
    /* Which mask the output carries (LAM_MASK_NONE, the zero default, drops
     * any: Keras's layers do unless they declare supports_masking). */
    lam_mask_rule mask_rule;
} lam_op;

const lam_op *lam_op_for(lam_layer_kind kind);

/* Helpers shared by ops. */
/* Adds a weight tensor description to n; fails past LAM_MAX_TENSORS. */
lam_status lam_node_add_tensor(lam_node *n, const char *what, int rank, const int64_t *shape);
/* The same, for a non-trainable tensor. */
lam_status lam_node_add_state(lam_node *n, const char *what, int rank, const int64_t *shape);
/* Sets a shape from a rank and dims, with its size. */
void lam_shape_set(lam_shape *s, int rank, const int64_t *dim);
/* y := act(y + bias) in place over rows of `units` values (bias may be
 * NULL), keeping the pre-activations in n->logits when the loss wants them. */
void lam_node_bias_activate(lam_node *n, float *y, const float *bias, int batch, int64_t units);
/* Turns dL/dy into dL/dz in place unless the loss already did. */
void lam_node_activate_backward(lam_node *n, const float *y, float *dy, int batch,
                                int64_t units);
/* The activation's tangent in place over dz [batch, out.size] (the
 * pre-activations' tangent): ReLU keeps dz where n->logits > 0 and lowers
 * span (see lam_op.tangent); linear, and softmax or sigmoid (whose logits'
 * tangent is wanted), leave it as is. */
void lam_node_activate_tangent(lam_node *n, float *dz, double *span, int batch);
/* glorot_uniform over count values with the given fans. */
void lam_init_glorot_uniform(float *w, int64_t count, double fan_in, double fan_out,
                             lam_rng *rng);
/* Keras's "uniform" (RandomUniform(-0.05, 0.05)) over count values:
 * Embedding's default and keras_hub's TokenAndPositionEmbedding's. */
void lam_init_uniform_005(float *w, int64_t count, lam_rng *rng);
/* Orthogonal [rows, cols] matrix (Keras's orthogonal initializer, gain 1). */
lam_status lam_init_orthogonal(float *w, int rows, int cols, lam_rng *rng);
/* dims[0..n) as Python prints a tuple, "(4, 3)" or "(5,)", so that shapes
 * in messages read as Keras's; returns buf. */
const char *lam_dims_str(const int64_t *dims, int n, char *buf, size_t cap);

#endif
