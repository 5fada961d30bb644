/* bench_ig_exact.c - exact integrated gradients on the seed CNN: time and
 * linear regions per image, and the worst relative completeness delta
 * |sum(attr) - (F(x) - F(b))| / |F(x) - F(b)| (black baseline, the
 * predicted class), for the logit and the probability score.
 *
 *   bench_ig_exact [MODEL] [--images N]
 *
 * MODEL: a saved seed CNN (lamina train --model examples/seed_cnn.json ...);
 * without it, the seed CNN with random weights and small random biases (as
 * training leaves them; without biases the network is positively
 * homogeneous and a path from black crosses a single region). Images: the
 * first N Fashion-MNIST test images when the data is installed, else
 * uniform noise. */
#include "explain/explain.h"
#include "bench_common.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static lam_model *seed_cnn(void)
{
    lam_model *m = lam_sequential("seed_cnn");
    lam_model_set_seed(m, 42);
    bench_add_seed_cnn_body(m, 28);
    lam_model_add_dense(m, 10, LAM_ACT_SOFTMAX);
    if (lam_model_init_weights(m) != LAM_OK) return NULL;
    lam_rng r;
    lam_rng_seed(&r, 5);
    for (int i = 0; i < lam_model_num_tensors(m); i++) {
        lam_tensor_info t;
        lam_model_tensor(m, i, &t);
        if (strstr(t.name, "bias"))
            for (int64_t k = 0; k < t.count; k++)
                t.data[k] = (float)(0.1 * lam_rng_uniform(&r) - 0.05);
    }
    return m;
}

/* The logits at x into z (10). */
static void logits_at(lam_model *m, const float *x, double *z)
{
    lam_model_plan(m, 1);
    memcpy(lam_model_input_buffer(m, 0), x, sizeof(float) * 784);
    lam_forward(m, 1, LAM_MODE_INFER);
    const float *l = lam_model_output_logits(m, 0);
    for (int k = 0; k < 10; k++) z[k] = l[k];
}

static double softmax_of(const double *z, int c)
{
    double mx = z[0], s = 0;
    for (int k = 1; k < 10; k++) mx = fmax(mx, z[k]);
    for (int k = 0; k < 10; k++) s += exp(z[k] - mx);
    return exp(z[c] - mx) / s;
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    int images = 5;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--images") && i + 1 < argc) images = atoi(argv[++i]);
        else path = argv[i];
    }
    lam_model *m = NULL;
    if (path ? lam_model_load(path, &m) != LAM_OK : !(m = seed_cnn())) {
        fprintf(stderr, "bench_ig_exact: %s\n", lam_last_error());
        return 1;
    }
    if (lam_model_keep_logits(m, 0) != LAM_OK) {
        fprintf(stderr, "bench_ig_exact: %s\n", lam_last_error());
        return 1;
    }
    float *x = malloc(sizeof(float) * 784 * (size_t)images), b[784] = {0}, attr[784];
    lam_dataset *ds = NULL;
    const bool data = lam_load_fashion_mnist(getenv("LAMINA_DATA"), false, &ds) == LAM_OK;
    if (data) {
        for (int i = 0; i < images; i++)
            lam_dataset_gather(ds, (int64_t[]){i}, 1, x + 784 * i, NULL, NULL);
        lam_dataset_free(ds);
    } else {
        lam_rng r;
        lam_rng_seed(&r, 9);
        for (int i = 0; i < 784 * images; i++) x[i] = (float)lam_rng_uniform(&r);
    }
    printf("%s weights, %s, %d images, black baseline, the predicted class\n",
           path ? "trained" : "random", data ? "Fashion-MNIST test images" : "noise images",
           images);
    const char *names[2] = {"logit", "probability"};
    for (int s = 0; s < 2; s++) {
        double worst = 0, seconds = 0, regions_sum = 0;
        for (int i = 0; i < images; i++) {
            double zx[10], zb[10];
            logits_at(m, x + 784 * i, zx);
            logits_at(m, b, zb);
            int c = 0;
            for (int k = 1; k < 10; k++) c = zx[k] > zx[c] ? k : c;
            int64_t regions = 0;
            const double t0 = lam_now();
            if (lam_ig_exact(m, x + 784 * i, b, 0, c, (lam_score)s, attr, &regions) != LAM_OK) {
                fprintf(stderr, "bench_ig_exact: %s\n", lam_last_error());
                return 1;
            }
            const double dt = lam_now() - t0;
            const double fx = s ? softmax_of(zx, c) : zx[c], fb = s ? softmax_of(zb, c) : zb[c];
            double sum = 0;
            for (int k = 0; k < 784; k++) sum += attr[k];
            const double rel = fabs(sum - (fx - fb)) / fabs(fx - fb);
            printf("  %-11s image %d class %d: F(x) %.6f F(b) %.6f sum %.6f relative delta "
                   "%.2e, %lld regions, %.1f ms\n", names[s], i, c, fx, fb, sum, rel,
                   (long long)regions, 1e3 * dt);
            worst = fmax(worst, rel);
            seconds += dt;
            regions_sum += (double)regions;
        }
        printf("%-11s: %.1f ms and %.0f regions per image, worst relative delta %.2e\n",
               names[s], 1e3 * seconds / images, regions_sum / images, worst);
    }
    free(x);
    lam_model_free(m);
    return 0;
}
