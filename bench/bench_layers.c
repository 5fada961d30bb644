/* bench_layers.c - where a training step's time goes: forward and backward
 * CPU microseconds per sample for each layer of the seed CNN or LSTM, on random
 * data at batch 32 (median over steps). With "latency", the inference
 * forward pass of one sample instead, in wall-clock microseconds per layer
 * (all threads work on the one sample). Not a test.
 *
 * gru and rnn: the seed LSTM's shape with GRU or SimpleRNN layers.
 *
 * usage: bench_layers [cnn|lstm|gru|rnn] [steps] [latency] */
#include "core/model.h"
#include "bench_common.h"

#include <stdlib.h>
#include <time.h>
#include <string.h>
int main(int argc, char **argv)
{
    lam_fpu_flush_begin(); /* as lam_fit does */
    const char *which = argc > 1 ? argv[1] : "cnn";
    const lam_layer_kind rec = !strcmp(which, "lstm") ? LAM_LAYER_LSTM
                               : !strcmp(which, "gru") ? LAM_LAYER_GRU
                               : !strcmp(which, "rnn") ? LAM_LAYER_SIMPLERNN
                                                       : LAM_LAYER_INPUT;
    const bool latency = argc > 3 && !strcmp(argv[3], "latency");
    const int steps = argc > 2 ? atoi(argv[2]) : 50, B = latency ? 1 : 32;
    double (*now)(void) = latency ? bench_wall : bench_cpu;
    lam_model *m = lam_sequential(NULL);
    if (rec != LAM_LAYER_INPUT) {
        lam_model_add_input(m, 2, (int64_t[]){28, 28});
        lam_layer_spec s = lam_layer_defaults(rec);
        s.units = 64;
        for (int i = 0; i < 3; i++) {
            s.return_sequences = i < 2;
            lam_model_add(m, &s);
        }
    } else {
        bench_add_seed_cnn_body(m, 28);
    }
    lam_model_add_dense(m, 10, LAM_ACT_SOFTMAX);
    lam_optimizer adam = lam_adam();
    if (lam_model_compile(m, &adam, LAM_LOSS_SPARSE_CATEGORICAL_CE) || lam_model_plan(m, B)) {
        fprintf(stderr, "bench_layers: %s\n", lam_last_error());
        return 1;
    }
    lam_rng r;
    lam_rng_seed(&r, 1);
    float *x = lam_model_input_buffer(m, 0);
    for (int64_t i = 0; i < B * m->nodes[0].out.size; i++) x[i] = (float)lam_rng_uniform(&r);
    int32_t labels[32];
    for (int b = 0; b < B; b++) labels[b] = b % 10;
    const lam_target target = {labels, NULL, NULL};
    const int n = m->n;
    double *fw = calloc((size_t)(n * steps), sizeof(double));
    double *bw = calloc((size_t)(n * steps), sizeof(double));
    double *opt = calloc((size_t)steps, sizeof(double));
    for (int s = 0; s < steps; s++) {
        for (int i = 1; i < n; i++) {
            lam_node *nd = &m->nodes[i];
            if (nd->op->aliases_input) continue;
            lam_ctx c = {.params = m->params + nd->param_offset,
                         .grads = m->grads + nd->param_offset,
                         .state = m->state + nd->state_offset, .scratch = m->scratch,
                         .training = !latency, .record = !latency, .seed = m->seed,
                         .step = m->step, .masks = m->in_masks};
            const float *xs[1] = {m->nodes[i - 1].value};
            double t0 = now();
            nd->op->forward(nd, &c, xs, nd->value, B);
            fw[i * steps + s] = now() - t0;
        }
        if (latency) continue;
        /* The layers ran one by one above; tell the engine a training
         * forward of this batch happened, so the loss may read it. */
        m->last_mode = LAM_MODE_TRAIN;
        m->last_batch = B;
        lam_batch_metrics bm;
        lam_loss_eval(m, B, &target, true, &bm);
        for (int i = n - 1; i >= 1; i--) {
            lam_node *nd = &m->nodes[i];
            if (nd->op->aliases_input) continue;
            lam_ctx c = {.params = m->params + nd->param_offset,
                         .grads = m->grads + nd->param_offset,
                         .state = m->state + nd->state_offset, .scratch = m->scratch,
                         .training = true, .record = true, .seed = m->seed, .step = m->step,
                         .masks = m->in_masks};
            const float *xs[1] = {m->nodes[i - 1].value};
            float *dxs[1] = {i > 1 ? m->nodes[i - 1].grad : NULL};
            double t0 = bench_cpu();
            nd->op->backward(nd, &c, xs, nd->value, nd->grad, dxs, B);
            bw[i * steps + s] = bench_cpu() - t0;
        }
        double t0 = bench_cpu();
        lam_optimizer_update(m, lam_model_learning_rate(m));
        opt[s] = bench_cpu() - t0;
    }
    double total = 0;
    if (latency)
        printf("%-22s %12s   (wall us, inference, batch 1, %d threads)\n", "layer", "forward",
               lam_get_threads());
    else
        printf("%-22s %12s %12s   (CPU us per sample, batch %d, %d threads)\n", "layer",
               "forward", "backward", B, lam_get_threads());
    for (int i = 1; i < n; i++) {
        qsort(fw + i * steps, (size_t)steps, sizeof(double), bench_cmp_double);
        qsort(bw + i * steps, (size_t)steps, sizeof(double), bench_cmp_double);
        double f = fw[i * steps + steps / 2] / B * 1e6, b = bw[i * steps + steps / 2] / B * 1e6;
        total += f + b;
        if (latency) printf("%-22s %12.1f\n", m->nodes[i].spec.name, f);
        else printf("%-22s %12.1f %12.1f\n", m->nodes[i].spec.name, f, b);
    }
    if (latency) {
        printf("%-22s %12.1f\n", "total", total);
        lam_model_free(m);
        return 0;
    }
    qsort(opt, (size_t)steps, sizeof(double), bench_cmp_double);
    double o = opt[steps / 2] / B * 1e6;
    printf("%-22s %12.1f\n%-22s %12.1f\n", "optimizer", o, "total", total + o);
    free(fw);
    free(bw);
    free(opt);
    lam_model_free(m);
    return 0;
}
