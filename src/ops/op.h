/* op.h - the graph node and the op interface. Every op is one unit of
 * build (shape inference, parameter layout) + init + forward + backward. */
#ifndef LAM_OP_H
#define LAM_OP_H

#include "internal.h"

#define LAM_MAX_TENSORS 4

/* One weight tensor of a node, inside the model's flat parameter buffer. */
typedef struct lam_param_desc {
    char name[96];       /* "conv2d/kernel" */
    int rank;
    int64_t shape[4];
    int64_t count;
    int64_t offset;      /* from the start of the model's parameter buffer */
} lam_param_desc;

typedef struct lam_node {
    lam_layer_spec spec;
    const struct lam_op *op;
    int index;                    /* position in the model */
    int in_rank, out_rank;        /* per-sample shapes, batch axis excluded */
    int64_t in_shape[4], out_shape[4];
    int64_t in_size, out_size;
    int ntensors;
    lam_param_desc tensors[LAM_MAX_TENSORS];
    int64_t param_offset, param_count;
    int64_t saved_floats;         /* per sample, kept from forward for backward */
    int64_t saved_ints;           /* per sample (e.g. argmax positions) */
    int64_t cache_floats;         /* kept across calls, whatever the batch (0: none) */
    int algo;                     /* the kernel family build chose (op-specific) */
    /* Planned buffers, [batch x size]. */
    float *out, *dout, *saved, *logits;
    float *cache;                 /* cache_floats, zeroed when planned */
    int32_t *saved_idx;
    /* Set for the last node when the loss takes its gradient w.r.t. the
     * pre-activation (softmax + cross-entropy, sigmoid + binary CE). */
    bool grad_is_preact;
} lam_node;

/* What a forward/backward call may use besides its input and output. */
typedef struct lam_ctx {
    const float *params;  /* this node's slice of the parameter buffer */
    float *grads;         /* this node's slice of the gradient buffer */
    float *scratch;       /* model-wide workspace, op->scratch() floats */
    bool training;
    uint64_t seed;        /* model seed, step and node index: dropout masks */
    int64_t step;
} lam_ctx;

typedef struct lam_op {
    lam_layer_kind kind;
    const char *class_name; /* Keras class, "Conv2D" */
    const char *base_name;  /* Keras automatic name, "conv2d" */
    /* From n->spec and n->in_*: validate (errors name the layer), set
     * out_*, tensors (names, shapes, counts; offsets are set by the model),
     * saved_floats/saved_ints. */
    lam_status (*build)(lam_node *n);
    /* Initialise this node's parameters (NULL: all zero). */
    lam_status (*init)(lam_node *n, float *params, lam_rng *rng);
    /* x [batch, in_size] -> y [batch, out_size]. */
    void (*forward)(lam_node *n, const lam_ctx *c, const float *x, float *y, int batch);
    /* dy [batch, out_size] (may be overwritten) -> dx [batch, in_size]
     * (NULL when nobody needs it) and this node's parameter gradients,
     * which are written, not accumulated. */
    void (*backward)(lam_node *n, const lam_ctx *c, const float *x, const float *y, float *dy,
                     float *dx, int batch);
    /* Workspace floats needed at this batch size (NULL: none). */
    int64_t (*scratch)(const lam_node *n, int batch);
    /* The output is the input, reinterpreted (Flatten): the plan shares the
     * input's buffers and forward/backward are never called. */
    bool aliases_input;
} lam_op;

const lam_op *lam_op_for(lam_layer_kind kind);

/* Helpers shared by ops. */
/* Adds a weight tensor description to n. */
void lam_node_add_tensor(lam_node *n, const char *what, int rank, const int64_t *shape);
/* y := act(y + bias) in place over rows of `units` values (bias may be
 * NULL), keeping the pre-activations in n->logits when the loss wants them. */
void lam_node_bias_activate(lam_node *n, float *y, const float *bias, int batch, int64_t units);
/* Turns dL/dy into dL/dz in place unless the loss already did. */
void lam_node_activate_backward(lam_node *n, const float *y, float *dy, int batch,
                                int64_t units);
/* glorot_uniform over count values with the given fans. */
void lam_init_glorot_uniform(float *w, int64_t count, double fan_in, double fan_out,
                             lam_rng *rng);
/* Orthogonal [rows, cols] matrix (Keras's orthogonal initializer, gain 1). */
lam_status lam_init_orthogonal(float *w, int rows, int cols, lam_rng *rng);

#endif
