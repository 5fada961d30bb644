/* gradcheck.h - the finite-difference gradient check every op test uses:
 * a compiled model (any number of inputs and outputs), random data and
 * targets from a stream seeded by the check's name, then every parameter
 * and every input coordinate against central differences.
 *
 * Error metric: |analytic - numeric| / max(|analytic|, |numeric|, 1e-2),
 * i.e. relative error, with an absolute floor for gradients below 1e-2
 * (float32 forward passes cannot resolve those more finely). Every checked
 * coordinate must be <= 1e-3. */
#ifndef LAM_GRADCHECK_H
#define LAM_GRADCHECK_H

#include "core/model.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

static lam_rng rng;

/* Targets of every output for the batch (at most 4 outputs). */
static lam_target targets[4];

static double loss_now(lam_model *m, int batch)
{
    lam_batch_metrics bm;
    CHECK_OK(lam_forward(m, batch, LAM_MODE_TRAIN));
    CHECK_OK(lam_loss_eval(m, batch, targets, false, &bm));
    return bm.loss;
}

/* Central difference of the loss w.r.t. *v. */
static double numeric(lam_model *m, int batch, float *v, float eps)
{
    float old = *v;
    *v = old + eps;
    double lp = loss_now(m, batch);
    *v = old - eps;
    double lm = loss_now(m, batch);
    *v = old;
    /* The loss is a sum over the batch; the gradient is of its mean. */
    return (lp - lm) / (2.0 * eps) / batch;
}

static double rel_err(double a, double n)
{
    double d = fabs(a - n), s = fmax(fmax(fabs(a), fabs(n)), 1e-2);
    return d / s;
}

typedef struct {
    float input_lo, input_spacing; /* spacing > 0: distinct inputs, far from kinks */
    float eps;
} check_opts;

/* Checks the model m as given (any number of inputs and outputs), compiled
 * with loss on every output, or with output k's own losses[k] and weight
 * weights[k] where those are given (Keras's compile(loss=[...],
 * loss_weights=[...])): every parameter and every input coordinate. */
static void gradcheck_outputs(const char *what, lam_model *m, lam_loss loss,
                              const lam_loss *losses, const float *weights, int batch,
                              check_opts o)
{
    lam_optimizer sgd = lam_sgd();
    CHECK_OK(lam_model_compile(m, &sgd, loss));
    if (losses)
        for (int k = 0; k < lam_model_num_outputs(m); k++)
            CHECK_OK(lam_model_set_output_loss(m, k, losses[k], weights ? weights[k] : 1.0f));
    CHECK_OK(lam_model_plan(m, batch));
    /* Each check draws its data from its own stream (seeded by its name),
     * so adding a check never changes the data of the others. */
    uint64_t seed = 1469598103934665603ull;
    for (const char *ch = what; *ch; ch++) seed = (seed ^ (unsigned char)*ch) * 1099511628211ull;
    lam_rng_seed(&rng, seed);
    const int nin = lam_model_num_inputs(m), nout = lam_model_num_outputs(m);
    int64_t in_total = 0;
    for (int k = 0; k < nin; k++) {
        float *x = lam_model_input_buffer(m, k);
        const int64_t in = batch * lam_model_input_node(m, k)->out.size;
        for (int64_t i = 0; i < in; i++) {
            if (o.input_spacing > 0) x[i] = o.input_lo + o.input_spacing * (float)(in_total + i);
            else x[i] = (float)(2 * lam_rng_uniform(&rng) - 1);
        }
        if (o.input_spacing > 0) /* shuffle the distinct values */
            for (int64_t i = in - 1; i > 0; i--) {
                int64_t j = (int64_t)lam_rng_below(&rng, (uint64_t)i + 1);
                float t = x[i];
                x[i] = x[j];
                x[j] = t;
            }
        in_total += in;
    }
    for (int k = 0; k < nout; k++) {
        if (losses) loss = losses[k];
        const lam_node *on = lam_model_output_node(m, k);
        const int64_t D = on->out.dim[on->out.rank - 1], P = on->out.size / D;
        int32_t *labels = malloc(sizeof(int32_t) * (size_t)(batch * P));
        float *values = malloc(sizeof(float) * (size_t)(batch * on->out.size));
        for (int64_t r = 0; r < batch * P; r++) {
            labels[r] = (int32_t)lam_rng_below(&rng, (uint64_t)D);
            double s = 0;
            for (int64_t j = 0; j < D; j++) {
                float t = (float)lam_rng_uniform(&rng);
                if (loss == LAM_LOSS_BINARY_CE) t = t > 0.5f;
                values[r * D + j] = t;
                s += t;
            }
            if (loss == LAM_LOSS_CATEGORICAL_CE)
                for (int64_t j = 0; j < D; j++) values[r * D + j] /= (float)s;
        }
        targets[k] = (lam_target){labels, values, NULL};
    }
    lam_batch_metrics bm;
    CHECK_OK(lam_forward(m, batch, LAM_MODE_TRAIN));
    CHECK_OK(lam_loss_eval(m, batch, targets, true, &bm));
    CHECK_OK(lam_backward(m, batch, true));
    /* Keep copies: numeric() runs forward again. */
    float *ga = malloc(sizeof(float) * (size_t)(m->nparams + 1));
    float *gx = malloc(sizeof(float) * (size_t)(in_total + 1));
    memcpy(ga, m->grads, sizeof(float) * (size_t)m->nparams);
    for (int k = 0, off = 0; k < nin; k++) {
        const int64_t in = batch * lam_model_input_node(m, k)->out.size;
        memcpy(gx + off, lam_model_input_grad(m, k), sizeof(float) * (size_t)in);
        off += (int)in;
    }
    double worst = 0;
    int checked = 0;
    /* Every parameter (models are small), then every input. */
    for (int64_t p = 0; p < m->nparams; p++) {
        double e = rel_err(ga[p], numeric(m, batch, &m->params[p], o.eps));
        if (e > worst) worst = e;
        CHECK(e <= 1e-3, "%s: parameter %lld: analytic %.7g vs numeric %.7g (rel %.2g)", what,
              (long long)p, ga[p], numeric(m, batch, &m->params[p], o.eps), e);
        checked++;
    }
    for (int k = 0, off = 0; k < nin; k++) {
        float *x = lam_model_input_buffer(m, k);
        const int64_t in = batch * lam_model_input_node(m, k)->out.size;
        for (int64_t i = 0; i < in; i++) {
            double e = rel_err(gx[off + i], numeric(m, batch, &x[i], o.eps));
            if (e > worst) worst = e;
            CHECK(e <= 1e-3, "%s: input %d, %lld: analytic %.7g vs numeric %.7g (rel %.2g)",
                  what, k, (long long)i, gx[off + i], numeric(m, batch, &x[i], o.eps), e);
            checked++;
        }
        off += (int)in;
    }
    printf("%-48s %5d coordinates, worst relative error %.2e\n", what, checked, worst);
    for (int k = 0; k < nout; k++) {
        free((void *)targets[k].labels);
        free((void *)targets[k].values);
    }
    free(ga);
    free(gx);
}

static void gradcheck(const char *what, lam_model *m, lam_loss loss, int batch, check_opts o)
{
    gradcheck_outputs(what, m, loss, NULL, NULL, batch, o);
}

static lam_model *model_with_input(int rank, const int64_t *shape)
{
    lam_model *m = lam_sequential("gradcheck");
    lam_model_set_seed(m, 7);
    CHECK_OK(lam_model_add_input(m, rank, shape));
    return m;
}

static const check_opts smooth __attribute__((unused)) = {0, 0, 1e-2f};

#endif
