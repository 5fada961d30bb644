/* bench_dp_step.c - the time of a DP-SGD training step against a plain one:
 * the seed CNN (or --model JSON) on Fashion-MNIST, batch 256, Adam. Runs of
 * one epoch over --steps batches alternate between plain, DP on the fast
 * path (per-sample norms in one backward) and, with --reference, DP one
 * sample at a time; the median time per step of each is printed, with the
 * ratios. DP runs use Poisson sampling and the secure noise, as training
 * does; --seeded uses the seeded noise instead, to see the generator's share.
 *
 *   bench_dp_step [--model spec.json] [--batch 256] [--steps 20] [--runs 5]
 *                 [--reference] [--seeded] [--per-layer]
 */
#include "lamina.h"
#include "bench_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static lam_model *seed_cnn(const char *spec)
{
    lam_model *m = NULL;
    if (spec) {
        if (lam_model_from_json_file(spec, &m) != LAM_OK) return NULL;
    } else {
        m = lam_sequential("seed_cnn");
        bench_add_seed_cnn_body(m, 28);
        lam_model_add_dense(m, 10, LAM_ACT_SOFTMAX);
    }
    lam_optimizer adam = lam_adam();
    if (lam_model_compile(m, &adam, LAM_LOSS_SPARSE_CATEGORICAL_CE) != LAM_OK) {
        lam_model_free(m);
        return NULL;
    }
    return m;
}

/* Seconds per step of one epoch of `steps` batches; mode 0 plain, 1 DP fast,
 * 2 DP reference. */
static double run(const char *spec, lam_dataset *ds, int batch, int mode, bool seeded,
                  bool per_layer)
{
    lam_model *m = seed_cnn(spec);
    if (!m) return -1;
    lam_dp_options dp = lam_dp_defaults();
    dp.noise_multiplier = 1.0;
    dp.seeded_noise = seeded;
    dp.per_layer = per_layer;
    dp.reference_clipping = mode == 2;
    lam_fit_options fo = lam_fit_defaults();
    fo.batch_size = batch;
    fo.epochs = 1;
    fo.verbose = 0;
    fo.dp = mode ? &dp : NULL;
    const int64_t steps = lam_dataset_count(ds) / batch;
    const double t0 = bench_wall();
    lam_status st = lam_fit(m, ds, &fo, NULL);
    const double t = bench_wall() - t0;
    lam_model_free(m);
    if (st != LAM_OK) {
        fprintf(stderr, "bench_dp_step: %s\n", lam_last_error());
        return -1;
    }
    return t / (double)steps;
}

int main(int argc, char **argv)
{
    const char *spec = NULL;
    int batch = 256, steps = 20, runs = 5;
    bool reference = false, seeded = false, per_layer = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--reference")) reference = true;
        else if (!strcmp(a, "--seeded")) seeded = true;
        else if (!strcmp(a, "--per-layer")) per_layer = true;
        else if (v && !strcmp(a, "--model")) spec = argv[++i];
        else if (v && !strcmp(a, "--batch")) batch = atoi(argv[++i]);
        else if (v && !strcmp(a, "--steps")) steps = atoi(argv[++i]);
        else if (v && !strcmp(a, "--runs")) runs = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_dp_step [--model spec.json] [--batch N] [--steps N] "
                            "[--runs N] [--reference] [--seeded] [--per-layer]\n");
            return 2;
        }
    }
    lam_dataset *all = NULL, *ds = NULL;
    if (lam_load_fashion_mnist(getenv("LAMINA_DATA"), true, &all) != LAM_OK ||
        lam_dataset_slice(all, 0, (int64_t)batch * steps, &ds) != LAM_OK) {
        fprintf(stderr, "bench_dp_step: %s\n", lam_last_error());
        return 1;
    }
    const int modes = reference ? 3 : 2;
    const char *names[] = {"plain", "dp (one backward)", "dp (per sample)"};
    double *t[3];
    for (int k = 0; k < modes; k++) t[k] = malloc(sizeof(double) * (size_t)runs);
    run(spec, ds, batch, 0, seeded, per_layer); /* warm-up: page in the data and the code */
    for (int r = 0; r < runs; r++)
        for (int k = 0; k < modes; k++) {
            t[k][r] = run(spec, ds, batch, k, seeded, per_layer);
            if (t[k][r] < 0) return 1;
        }
    double med[3];
    for (int k = 0; k < modes; k++) {
        med[k] = bench_median(t[k], runs);
        printf("%-18s %8.2f ms/step  (x%.2f plain; batch %d, %d steps, median of %d)\n",
               names[k], med[k] * 1e3, med[k] / med[0], batch, steps, runs);
        free(t[k]);
    }
    lam_dataset_free(ds);
    lam_dataset_free(all);
    return 0;
}
