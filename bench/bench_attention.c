/* bench_attention.c - the fused attention kernel on the char-GPT shape
 * (batch 12, 64 positions, 4 heads of 32, causal) or one given on the
 * command line: forward and backward wall-clock milliseconds (median of
 * the runs) on 1 thread and on all threads, and the naive reference once.
 * With "layer", the whole MultiHeadAttention layer on that shape (model
 * width heads * dk, causal self-attention): the four projections and the
 * kernel, forward (training mode) + backward with input gradients.
 * Not a test.
 *
 * usage: bench_attention [batch tq s heads dk dv causal rate [runs]]
 *        bench_attention layer [batch t heads dk [runs]] */
#include "core/model.h"
#include "bench_common.h"
#include "kernels/attention.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static float *random_floats(lam_rng *r, int64_t n)
{
    float *x = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; x && i < n; i++) x[i] = (float)(2 * lam_rng_uniform(r) - 1);
    return x;
}

/* The layer through the model API: forward + backward milliseconds. */
static int bench_layer(int argc, char **argv)
{
    int B = argc > 2 ? atoi(argv[2]) : 12, T = argc > 3 ? atoi(argv[3]) : 64;
    int H = argc > 4 ? atoi(argv[4]) : 4, dk = argc > 5 ? atoi(argv[5]) : 32;
    int runs = argc > 6 ? atoi(argv[6]) : 200;
    if (B < 1 || T < 1 || H < 1 || dk < 1 || runs < 1) {
        fprintf(stderr, "usage: bench_attention layer [batch t heads dk [runs]]\n");
        return 2;
    }
    lam_model *m = lam_model_new("bench");
    int x, y;
    lam_layer_spec s = lam_layer_defaults(LAM_LAYER_MULTI_HEAD_ATTENTION);
    s.num_heads = H;
    s.key_dim = dk;
    s.use_causal_mask = true;
    lam_optimizer sgd = lam_sgd();
    if (!m || lam_model_input(m, "x", 2, (int64_t[]){T, (int64_t)H * dk}, &x) ||
        lam_model_call(m, &s, 2, (int[]){x, x}, &y) || lam_model_compile(m, &sgd, LAM_LOSS_MSE) ||
        lam_model_plan(m, B)) {
        fprintf(stderr, "bench_attention: %s\n", lam_last_error());
        return 1;
    }
    lam_rng r;
    lam_rng_seed(&r, 3);
    const int64_t n = (int64_t)B * T * H * dk;
    float *in = lam_model_input_buffer(m, 0), *dy = lam_model_output_grad(m, 0);
    for (int64_t i = 0; i < n; i++) in[i] = (float)(2 * lam_rng_uniform(&r) - 1);
    for (int64_t i = 0; i < n; i++) dy[i] = (float)(2 * lam_rng_uniform(&r) - 1);
    double *t = malloc(sizeof(double) * (size_t)runs);
    if (!t) return 1;
    printf("MultiHeadAttention layer, causal self-attention: B=%d T=%d H=%d dk=%d (width %d), "
           "forward (train) + backward, median of %d runs\n", B, T, H, dk, H * dk, runs);
    const int all = lam_get_threads();
    for (int threads = 1; threads <= all; threads = threads < all ? all : all + 1) {
        lam_set_threads(threads);
        for (int i = 0; i < runs; i++) {
            double t0 = bench_wall();
            lam_forward(m, B, LAM_MODE_TRAIN);
            lam_backward(m, B, true);
            t[i] = bench_wall() - t0;
        }
        qsort(t, (size_t)runs, sizeof *t, bench_cmp_double);
        printf("%d thread(s): %.3f ms\n", threads, 1e3 * t[runs / 2]);
    }
    free(t);
    lam_model_free(m);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "layer")) return bench_layer(argc, argv);
    lam_attention_args a = {.batch = 12, .tq = 64, .s = 64, .heads = 4, .dk = 32, .dv = 32,
                            .causal = true, .seed = 1};
    int runs = 200;
    if (argc >= 9) {
        a.batch = atoi(argv[1]);
        a.tq = atoi(argv[2]);
        a.s = atoi(argv[3]);
        a.heads = atoi(argv[4]);
        a.dk = atoi(argv[5]);
        a.dv = atoi(argv[6]);
        a.causal = atoi(argv[7]) != 0;
        a.rate = (float)atof(argv[8]);
        if (argc > 9) runs = atoi(argv[9]);
    }
    if (a.batch < 1 || a.tq < 1 || a.s < 1 || a.heads < 1 || a.dk < 1 || a.dv < 1 || runs < 1) {
        fprintf(stderr, "usage: bench_attention [batch tq s heads dk dv causal rate [runs]]\n");
        return 2;
    }
    lam_fpu_flush_begin();
    const int64_t nq = (int64_t)a.batch * a.tq * a.heads, nk = (int64_t)a.batch * a.s * a.heads;
    lam_rng r;
    lam_rng_seed(&r, 3);
    float *q = random_floats(&r, nq * a.dk), *k = random_floats(&r, nk * a.dk);
    float *v = random_floats(&r, nk * a.dv), *dout = random_floats(&r, nq * a.dv);
    float *o = malloc(sizeof(float) * (size_t)(nq * a.dv));
    float *lse = malloc(sizeof(float) * (size_t)nq);
    float *dq = malloc(sizeof(float) * (size_t)(nq * a.dk));
    float *dk = malloc(sizeof(float) * (size_t)(nk * a.dk));
    float *dv = malloc(sizeof(float) * (size_t)(nk * a.dv));
    double *work = malloc(sizeof(double) * (size_t)lam_attention_naive_work(&a));
    double *tf = malloc(sizeof(double) * (size_t)runs), *tb = malloc(sizeof(double) * (size_t)runs);
    if (!q || !k || !v || !dout || !o || !lse || !dq || !dk || !dv || !work || !tf || !tb) {
        fprintf(stderr, "bench_attention: out of memory\n");
        return 1;
    }
    printf("attention B=%d Tq=%d S=%d H=%d dk=%d dv=%d causal=%d rate=%g, median of %d runs\n",
           a.batch, a.tq, a.s, a.heads, a.dk, a.dv, a.causal, (double)a.rate, runs);
    const int all = lam_get_threads();
    for (int threads = 1; threads <= all; threads = threads < all ? all : all + 1) {
        lam_set_threads(threads);
        for (int i = 0; i < runs; i++) {
            double t0 = bench_wall();
            lam_attention_forward(&a, q, k, v, o, lse);
            double t1 = bench_wall();
            lam_attention_backward(&a, q, k, v, o, lse, dout, dq, dk, dv);
            tf[i] = t1 - t0;
            tb[i] = bench_wall() - t1;
        }
        qsort(tf, (size_t)runs, sizeof *tf, bench_cmp_double);
        qsort(tb, (size_t)runs, sizeof *tb, bench_cmp_double);
        printf("fused, %d thread(s): forward %.3f ms, backward %.3f ms, total %.3f ms\n", threads,
               1e3 * tf[runs / 2], 1e3 * tb[runs / 2], 1e3 * (tf[runs / 2] + tb[runs / 2]));
    }
    double t0 = bench_wall();
    lam_attention_forward_naive(&a, q, k, v, o, work);
    double t1 = bench_wall();
    lam_attention_backward_naive(&a, q, k, v, dout, dq, dk, dv, work);
    printf("naive, 1 thread: forward %.3f ms, backward %.3f ms\n", 1e3 * (t1 - t0),
           1e3 * (bench_wall() - t1));
    free(q); free(k); free(v); free(dout); free(o); free(lse); free(dq); free(dk); free(dv);
    free(work); free(tf); free(tb);
    return 0;
}
