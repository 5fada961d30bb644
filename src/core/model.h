/* model.h - the model: a directed acyclic graph of nodes with flat
 * parameter memory, its memory plan, and forward/backward over it. Core
 * knows no loss and no optimizer: it stores what train/ configured. */
#ifndef LAM_MODEL_H
#define LAM_MODEL_H

#include "ops/op.h"

#define LAM_MAX_SLOTS 4 /* the most per-parameter buffers an optimizer keeps */

struct lam_model {
    char name[64];
    bool sequential;      /* built with lam_model_add only: a chain (Keras Sequential) */
    int n, cap;
    lam_node *nodes;      /* in topological order; inputs first where built so */
    int ninputs, noutputs;
    int *input_nodes, *output_nodes;
    uint64_t seed;
    lam_rng rng;

    /* Set by train/'s compile; core only stores them. */
    bool compiled;
    lam_optimizer opt;
    lam_loss *losses;     /* per output */
    float *loss_weights;  /* per output */
    bool has_accuracy;    /* output 0 is a classification */

    int64_t nparams, nstate;
    float *params, *grads, *state;
    int nslots;
    float *slots[LAM_MAX_SLOTS]; /* optimizer state, each nparams floats */
    double opt_scalar;    /* scalar optimizer state: Nadam's product of momentum-schedule
                           * factors (Keras's _u_product) */

    int64_t step, epoch;  /* optimizer steps and completed epochs */
    /* The unfinished epoch, for checkpoints taken inside it. */
    int64_t epoch_step, epoch_batch_size, epoch_correct;
    double epoch_loss;
    lam_rng epoch_rng;

    /* Planned for batches up to planned_batch. */
    int planned_batch;
    float *scratch;
    int64_t scratch_floats;
    float *grad_tmp;      /* fanned-out gradients before they are summed */
    int64_t grad_tmp_floats;
    bool *aliased;        /* per node: shares its input's buffers */
    bool *has_grad;       /* per node, during backward: its dout holds a gradient */
    bool *grads_written;  /* per node (owners), during backward */
    const float **xs;     /* per call: the input pointers of one node */
    const float **in_masks; /* per call: the masks of those inputs (NULL: none) */
    float **dxs;
    int max_inputs;
    /* What the last forward did, so backward can refuse a wrong order. */
    lam_mode last_mode;
    int last_batch;
    int64_t position;     /* a decoder's current sequence position (lam_decoder_step) */
    int64_t batch_offset; /* data-parallel fit: this rank's first sample in the global batch */
    /* Called by a backward with weight gradients after each layer: the
     * gradients at [from, nparams) are final (data-parallel fit sends them
     * off while backward goes on). NULL: not called. */
    void (*grads_ready)(void *user, int64_t from);
    void *grads_ready_user;
    /* Explanations (src/explain) only; zero otherwise. While override_values
     * is set, forward copies it ([batch, out.size] floats) into node
     * override_node's output instead of running that node's op: integrated
     * gradients move along a path in an embedding's output space this way.
     * backward_lowest > 0 stops lam_backward above that node index, so a node
     * below keeps dL/d(its output) as its readers left it (an op's backward
     * may overwrite its own output gradient: Grad-CAM reads a Conv2D's). */
    int override_node;
    const float *override_values;
    int backward_lowest;
    int64_t decode_capacity; /* a decoder's longest sequence (0: not a decoder) */

    /* The plan keeps tangents (lam_model_keep_tangents). */
    bool keep_tangents;
    /* The plan keeps per-sample gradients' norms (lam_model_keep_sample_norms),
     * with sample_threads slices of per-thread work. */
    bool keep_sample_norms;
    int64_t sample_keep_bytes; /* the most bytes of per-sample gradients kept (tests lower it) */
    int sample_threads;
    float *sample_work;

    /* Text kept with the model (lam_model_set_metadata; metadata.c), sorted by key. */
    int nmeta;
    char **meta_keys, **meta_values;
};

/* Metadata limits: a key is [A-Za-z0-9_.-]{1,63}; values are UTF-8 text. */
#define LAM_METADATA_MAX_KEY 63
#define LAM_METADATA_MAX_VALUE (64 << 20)
#define LAM_METADATA_MAX_KEYS 1024
/* LAM_OK when key is a valid metadata key, else LAM_ERR_ARG naming the bad byte. */
lam_status lam_metadata_check_key(const char *key);
/* Copies every metadata entry of src into dst (a decoder, a clone). */
lam_status lam_model_copy_metadata(lam_model *dst, const lam_model *src);
void lam_model_free_metadata(lam_model *m);

/* Allocates the parameter, gradient and state buffers and initialises the
 * weights from the model's seed (no-op when already allocated). */
lam_status lam_model_init_weights(lam_model *m);
/* Frees every planned buffer (the next plan makes new ones). */
void lam_model_free_plan(lam_model *m);
/* How many input slots of later nodes read node's output (a node listing it
 * twice counts twice). */
int lam_model_node_readers(const lam_model *m, int node);
/* The positions of a node's output: rows of its last axis ((T, C): T). */
static inline int64_t lam_node_positions(const lam_node *n)
{
    return n->out.size / n->out.dim[n->out.rank - 1];
}
/* Masks (mask.c). Whether node n's output carries a mask, from its op's
 * mask_rule and its inputs (called once, when the layer is called). */
bool lam_mask_present(const lam_model *m, const lam_node *n);
/* The node's mask is its input 0's, unchanged: the plan shares that buffer. */
bool lam_mask_is_input0s(const lam_node *n);
/* Computes node n's mask for this batch from its inputs (their values and
 * masks), before its forward; nothing when it has none or shares input 0's. */
void lam_mask_forward(const lam_model *m, lam_node *n, int batch);
/* Whether node o ends in softmax or sigmoid (Dense, Conv, Activation): its
 * value is then a probability and its pre-activation a logit. */
bool lam_node_squashes(const lam_node *o);
/* ... and, for an output, no other layer reads it: its logits can be kept
 * (keep_logits). */
bool lam_node_has_logits(const lam_model *m, const lam_node *o);
/* Forward-mode tangents, for exact integrated gradients (src/explain/ig_exact.c).
 * While kept, the plan gives every node a tangent buffer and keeps the
 * pre-activations of ReLU layers (Conv2D then leaves bias and ReLU unfused);
 * otherwise it plans neither, so training pays nothing. Changing the setting
 * frees the plan. keep = true refuses (lam_model_check_piecewise_linear) a
 * model that is not piecewise linear. */
lam_status lam_model_keep_tangents(lam_model *m, bool keep);
/* LAM_OK when every layer is piecewise linear (has a tangent): Dense, Conv
 * and Activation with ReLU or no activation (softmax or sigmoid only at an
 * output nobody reads: its logits are what is linear), max and average
 * pooling, Dropout, Flatten, Reshape, ZeroPadding2D, UpSampling2D, Add,
 * Subtract, Average, Concatenate. Else LAM_ERR_UNSUPPORTED naming the first
 * layer that is not. */
lam_status lam_model_check_piecewise_linear(const lam_model *m);
/* Input k's tangent [batch, size], written by the caller (NULL: not planned). */
float *lam_model_input_tangent(lam_model *m, int k);
/* Output k's tangent: of its logits when it ends in softmax or sigmoid. */
const float *lam_model_output_tangent(const lam_model *m, int k);
/* Every node's tangent at the point of the last forward (of this batch)
 * from the inputs' tangents, with that point's activation pattern frozen;
 * span [batch][2]: how far along +tangent and -tangent the pattern holds
 * (INFINITY where nothing switches). */
lam_status lam_model_tangent(lam_model *m, int batch, double *span);

/* What an op call of node nd sees in this mode (its weights, gradients, ...). */
lam_ctx lam_node_ctx(lam_model *m, lam_node *nd, lam_mode mode);
/* Per-sample gradients, for DP-SGD (src/train/dp.c): each sample's
 * gradient clipped on its own, in one backward of the batch (sample_grads.c).
 * LAM_OK when every trainable layer's op has sample_norms and none is shared
 * (a shared layer's per-sample gradient sums over its calls); else
 * LAM_ERR_UNSUPPORTED naming the first layer that is not so. */
lam_status lam_model_check_sample_norms(const lam_model *m);
/* While kept, the plan keeps each trainable node's output gradient (and,
 * up to a memory budget, its per-sample gradients). Changing the setting
 * frees the plan; keep = true refuses what the check refuses. */
lam_status lam_model_keep_sample_norms(lam_model *m, bool keep);
/* Trainable nodes (the groups of the two calls below), in node order. */
int lam_model_sample_groups(const lam_model *m);
/* Part of the plan (lam_model_plan): the buffers above for batch. */
lam_status lam_model_plan_sample_norms(lam_model *m, int batch);
void lam_model_free_sample_norms(lam_model *m);
/* A backward of the batch from the output gradients (as lam_backward) that
 * computes no parameter gradient but sq[g * batch + b], the squared norm of
 * sample b's gradient of trainable node g. */
lam_status lam_backward_sample_norms(lam_model *m, int batch, double *sq);
/* Then the parameter gradients of the same batch as sums of the samples'
 * gradients weighted by w[g * batch + b] (DP-SGD: min(1, C / norm)). */
lam_status lam_backward_reweighted(lam_model *m, int batch, const float *w);

/* The node of output k / input k. */
lam_node *lam_model_output_node(const lam_model *m, int k);
lam_node *lam_model_input_node(const lam_model *m, int k);

#endif
