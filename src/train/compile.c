/* compile.c - the training configuration of a model: its optimizer, the
 * loss of every output, and the initial weights. */
#include "train/train.h"

#include <string.h>

lam_loss lam_model_loss(const lam_model *m) { return m->losses ? m->losses[0] : LAM_LOSS_MSE; }
const lam_optimizer *lam_model_optimizer(const lam_model *m) { return &m->opt; }

/* Keras computes cross-entropy from the logits of a final softmax or
 * sigmoid: exact, and its gradient is simply p - y. Only where nothing else
 * reads the output, since the gradient then stands for dL/dz, not dL/dy. */
static void choose_fused_logits(lam_model *m)
{
    for (int i = 0; i < m->n; i++) m->nodes[i].keep_logits = m->nodes[i].grad_is_preact = false;
    for (int k = 0; k < lam_model_num_outputs(m); k++) {
        lam_node *o = lam_model_output_node(m, k);
        lam_loss loss = m->losses[k];
        lam_activation a = o->spec.activation;
        if (lam_node_has_logits(m, o) &&
            ((a == LAM_ACT_SOFTMAX && (loss == LAM_LOSS_SPARSE_CATEGORICAL_CE ||
                                       loss == LAM_LOSS_CATEGORICAL_CE)) ||
             (a == LAM_ACT_SIGMOID && loss == LAM_LOSS_BINARY_CE)))
            o->keep_logits = true;
    }
}

lam_status lam_model_set_output_loss(lam_model *m, int output, lam_loss loss, float weight)
{
    if (!m) return lam_error(LAM_ERR_ARG, "lam_model_set_output_loss: NULL model");
    if (!m->compiled)
        return lam_error(LAM_ERR_STATE, "model \"%s\": compile before setting an output's loss",
                         m->name);
    if (output < 0 || output >= lam_model_num_outputs(m))
        return lam_error(LAM_ERR_ARG, "model \"%s\": output %d, the model has %d", m->name,
                         output, lam_model_num_outputs(m));
    if ((unsigned)loss >= LAM_LOSS_COUNT)
        return lam_error(LAM_ERR_ARG, "model \"%s\": unknown loss %d", m->name, loss);
    if (!(weight >= 0 && weight < 1e30f))
        return lam_error(LAM_ERR_ARG, "model \"%s\": loss weight %g of output %d, expected a "
                         "finite value >= 0", m->name, (double)weight, output);
    m->losses[output] = loss;
    m->loss_weights[output] = weight;
    m->has_accuracy = m->losses[0] != LAM_LOSS_MSE;
    choose_fused_logits(m);
    lam_model_free_plan(m); /* the logits buffers depend on the losses */
    return LAM_OK;
}

lam_status lam_model_compile(lam_model *m, const lam_optimizer *opt, lam_loss loss)
{
    if (!m || !opt) return lam_error(LAM_ERR_ARG, "lam_model_compile: NULL argument");
    if (m->ninputs < 1 || m->n <= m->ninputs)
        return lam_error(LAM_ERR_STATE, "model \"%s\": compile needs an Input layer and at "
                         "least one more layer", m->name);
    if ((unsigned)loss >= LAM_LOSS_COUNT)
        return lam_error(LAM_ERR_ARG, "model \"%s\": unknown loss %d", m->name, loss);
    for (int k = 0; k < lam_model_num_outputs(m); k++)
        if (!lam_model_output_node(m, k)->op)
            return lam_error(LAM_ERR_ARG, "model \"%s\": output %d is the input \"%s\" itself",
                             m->name, k, lam_model_output_node(m, k)->spec.name);
    LAM_TRY(lam_optimizer_check(opt));
    const int nout = lam_model_num_outputs(m);
    lam_loss *losses = lam_malloc(sizeof *losses * (size_t)nout);
    float *weights = losses ? lam_malloc(sizeof *weights * (size_t)nout) : NULL;
    if (!weights) {
        lam_free(losses);
        return LAM_ERR_NOMEM;
    }
    lam_status st = lam_model_init_weights(m);
    if (st != LAM_OK) {
        lam_free(losses);
        lam_free(weights);
        return st;
    }
    for (int k = 0; k < nout; k++) {
        losses[k] = loss;
        weights[k] = 1.0f;
    }
    lam_free(m->losses);
    lam_free(m->loss_weights);
    m->losses = losses;
    m->loss_weights = weights;
    m->opt = *opt;
    m->has_accuracy = loss != LAM_LOSS_MSE;
    LAM_TRY(lam_optimizer_alloc_slots(m));
    m->step = 0;
    m->epoch = 0;
    choose_fused_logits(m);
    lam_model_free_plan(m);
    m->compiled = true;
    return LAM_OK;
}
