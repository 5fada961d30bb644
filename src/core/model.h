/* model.h - the model: a graph of nodes with flat parameter memory. */
#ifndef LAM_MODEL_H
#define LAM_MODEL_H

#include "ops/op.h"

#define LAM_MAX_SLOTS 4 /* the most per-parameter buffers an optimizer keeps */

struct lam_model {
    char name[64];
    int n, cap;
    lam_node *nodes;      /* nodes[0] is the Input layer */
    uint64_t seed;
    lam_rng rng;

    bool compiled;
    lam_loss loss;
    lam_optimizer opt;
    bool has_accuracy;

    int64_t nparams;
    float *params, *grads;
    int nslots;
    float *slots[LAM_MAX_SLOTS]; /* optimizer state: Adam m, v; momentum; RMS ... */
    double u_product;     /* Nadam's product of momentum-schedule factors (Keras's _u_product) */

    int64_t step, epoch;  /* optimizer steps and completed epochs */
    /* The unfinished epoch, for checkpoints taken inside it. */
    int64_t epoch_step, epoch_batch_size, epoch_correct;
    double epoch_loss;
    lam_rng epoch_rng;

    /* Planned for batches up to planned_batch. */
    int planned_batch;
    float *xbuf;
    int32_t *labels;
    float *targets;
    float *scratch;
    int64_t scratch_floats;
    bool want_input_grad; /* compute dL/dx into nodes[0].dout */
};

/* Allocates activations and workspace for batches up to batch (no-op when
 * already planned for at least that many). */
lam_status lam_model_plan(lam_model *m, int batch);
lam_node *lam_model_last(lam_model *m);
/* Forward through every node; x is already in m->xbuf. */
void lam_model_forward(lam_model *m, int batch, bool training);
/* Loss and gradients for the batch in m->xbuf / m->labels / m->targets.
 * Returns the summed (not averaged) loss and the number of correct
 * predictions. Does not update the weights. */
lam_status lam_model_backward(lam_model *m, int batch, double *loss_sum, int64_t *correct);

/* Training internals shared by the engine, the tests and the benchmarks. */
/* The loss summed over the batch, its gradient w.r.t. the last node's output
 * (or pre-activation, when fused) written into grad (may be NULL), and the
 * number of correct predictions. */
double lam_loss_compute(lam_loss loss, const lam_node *last, const int32_t *labels,
                        const float *targets, int batch, float *grad, int64_t *correct);
/* The name of optimizer slot i in model files ("m", "v", "momentum", ...). */
const char *lam_optimizer_slot_name(const lam_optimizer *o, int slot);
/* The optimizer's state as at step 0: Adagrad's accumulators at their
 * initial value, Nadam's u_product 1 (slots are otherwise zero already). */
void lam_optimizer_reset_state(lam_model *m);
/* The former internal step, kept for tests/test_engine.c until the engine
 * rewrite moves it to lam_optimizer_update. */
static inline void lam_optimizer_step(lam_model *m)
{
    (void)lam_optimizer_update(m, lam_model_learning_rate(m));
}

#endif
