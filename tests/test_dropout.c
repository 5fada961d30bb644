/* test_dropout.c - Dropout through the public API: the training mask's
 * scaling (kept values are multiplied by exactly 1 / (1 - rate), as Keras),
 * its rate (the dropped fraction is binomial around rate), its dependence on
 * the seed only (same seed, same mask; another seed, another mask), the
 * backward pass applying the same mask, and inference leaving the input
 * untouched.
 *
 * How the mask is seen from outside: Input(D) -> Dropout -> Dense(1, no bias)
 * with the Dense kernel w = 0, one sample x = 1, MSE target t = -0.5, and one
 * SGD step (lam_fit, batch 1). Then y = 0 and dL/dy = 2 (y - t) = 1, so
 * dL/dw_i = mask_i * x_i = mask_i: lam_model_grads() holds the mask itself,
 * bit for bit (and the step itself, plain SGD, is checked on the way). */
#include "lamina.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

enum { D = 20000 };

/* The training mask of a Dropout(rate) over D values, for a model seed. */
static bool dropout_mask(float rate, uint64_t seed, float *mask)
{
    lam_model *m = lam_sequential("dropout");
    lam_model_set_seed(m, seed);
    CHECK_OK(lam_model_add_input(m, 1, (int64_t[]){D}));
    CHECK_OK(lam_model_add_dropout(m, rate));
    lam_layer_spec s = lam_layer_defaults(LAM_LAYER_DENSE);
    s.units = 1;
    s.use_bias = false;
    CHECK_OK(lam_model_add(m, &s));
    lam_optimizer sgd = lam_sgd();
    CHECK_OK(lam_model_compile(m, &sgd, LAM_LOSS_MSE));
    memset(lam_model_params(m), 0, sizeof(float) * D);
    lam_dataset *ds = NULL;
    CHECK_OK(lam_dataset_create(&ds, LAM_F32, 1, 1, (int64_t[]){D}, false, 1));
    bool ok = false;
    if (ds) {
        float *x = lam_dataset_x(ds);
        for (int i = 0; i < D; i++) x[i] = 1.0f;
        lam_dataset_targets(ds)[0] = -0.5f;
        lam_fit_options fo = lam_fit_defaults();
        fo.verbose = 0;
        fo.batch_size = 1;
        lam_status st = lam_fit(m, ds, &fo, NULL);
        CHECK(st == LAM_OK, "fit: %s", lam_last_error());
        if (st == LAM_OK) {
            memcpy(mask, lam_model_grads(m), sizeof(float) * D);
            ok = true;
            /* The step that produced it is plain SGD (lam_sgd(): lr 0.01, no
             * momentum): w = 0 - lr * grad, exactly, in float. */
            const float lr = lam_sgd().learning_rate;
            int64_t off = 0;
            for (int i = 0; i < D; i++) off += lam_model_params(m)[i] != 0.0f - lr * mask[i];
            CHECK(off == 0, "rate %g: %lld weights differ from one plain SGD step -lr * grad",
                  (double)rate, (long long)off);
        }
        /* Inference: no mask, no scaling. With w = 1, y = sum x = D exactly. */
        for (int i = 0; i < D; i++) lam_model_params(m)[i] = 1.0f;
        float y = 0;
        CHECK_OK(lam_predict_raw(m, x, 1, &y));
        CHECK(y == (float)D, "rate %g: inference output %.9g, expected %d (dropout is off)",
              (double)rate, (double)y, D);
    }
    lam_dataset_free(ds);
    lam_model_free(m);
    return ok;
}

static void check_rate(float rate)
{
    float *mask = malloc(sizeof(float) * D), *again = malloc(sizeof(float) * D);
    float *other = malloc(sizeof(float) * D);
    if (!dropout_mask(rate, 42, mask) || !dropout_mask(rate, 42, again) ||
        !dropout_mask(rate, 43, other))
        goto done;
    /* Kept values are exactly 1 / (1 - rate) in float, the rest exactly 0. */
    const float scale = 1.0f / (1.0f - rate);
    int64_t dropped = 0, odd = 0;
    for (int i = 0; i < D; i++) {
        if (mask[i] == 0.0f) dropped++;
        else if (mask[i] != scale) odd++;
    }
    CHECK(odd == 0, "rate %g: %lld kept values differ from 1/(1-rate) = %.9g",
          (double)rate, (long long)odd, (double)scale);
    /* The dropped count is Binomial(D, rate): within 5 standard deviations. */
    const double mean = D * (double)rate, sd = sqrt(D * (double)rate * (1 - (double)rate));
    CHECK(fabs((double)dropped - mean) <= 5 * sd, "rate %g: %lld of %d dropped, expected %.0f +- %.0f",
          (double)rate, (long long)dropped, D, mean, 5 * sd);
    /* The mask is a function of the seed: the same one gives the same bits,
     * another one another mask. */
    CHECK(memcmp(mask, again, sizeof(float) * D) == 0, "rate %g: same seed, different masks",
          (double)rate);
    int64_t differ = 0;
    for (int i = 0; i < D; i++) differ += (mask[i] == 0.0f) != (other[i] == 0.0f);
    /* Two independent masks disagree on 2 rate (1 - rate) of the positions. */
    CHECK(differ > D * (double)rate * (1 - (double)rate), "rate %g: seeds 42 and 43 differ at "
          "only %lld positions", (double)rate, (long long)differ);
    printf("Dropout(%.2f): %lld of %d dropped (expected %.0f), kept scaled by %.9g\n",
           (double)rate, (long long)dropped, D, mean, (double)scale);
done:
    free(mask), free(again), free(other);
}

/* Backward applies the forward's mask: Input(1) -> Dense(n, w1 = 1, no bias)
 * -> Dropout -> Dense(1, w2 = 1, no bias). With x = 1, dL/dw1_i and dL/dw2_i
 * are both 2 (y - t) mask_i (times w2_i = 1 and h_i = 1): equal, bit for
 * bit, and zero exactly where the mask is. */
static void check_backward(void)
{
    enum { n = 4000 };
    lam_model *m = lam_sequential("dropout_backward");
    lam_model_set_seed(m, 7);
    CHECK_OK(lam_model_add_input(m, 1, (int64_t[]){1}));
    lam_layer_spec s = lam_layer_defaults(LAM_LAYER_DENSE);
    s.units = n;
    s.use_bias = false;
    CHECK_OK(lam_model_add(m, &s));
    CHECK_OK(lam_model_add_dropout(m, 0.5f));
    s.units = 1;
    CHECK_OK(lam_model_add(m, &s));
    lam_optimizer sgd = lam_sgd();
    CHECK_OK(lam_model_compile(m, &sgd, LAM_LOSS_MSE));
    float *p = lam_model_params(m);
    for (int i = 0; i < 2 * n; i++) p[i] = 1.0f;
    lam_dataset *ds = NULL;
    CHECK_OK(lam_dataset_create(&ds, LAM_F32, 1, 1, (int64_t[]){1}, false, 1));
    if (!ds) goto done;
    ((float *)lam_dataset_x(ds))[0] = 1.0f;
    lam_dataset_targets(ds)[0] = 0.0f;
    lam_fit_options fo = lam_fit_defaults();
    fo.verbose = 0;
    fo.batch_size = 1;
    CHECK_OK(lam_fit(m, ds, &fo, NULL));
    const float *g = lam_model_grads(m);
    int64_t unequal = 0, zeros = 0;
    for (int i = 0; i < n; i++) {
        unequal += memcmp(&g[i], &g[n + i], sizeof(float)) != 0;
        zeros += g[n + i] == 0.0f;
    }
    CHECK(unequal == 0, "%lld of %d input-side gradients differ from the mask's", (long long)unequal, n);
    CHECK(zeros > n / 4 && zeros < 3 * n / 4, "%lld of %d dropped at rate 0.5", (long long)zeros, n);
done:
    lam_dataset_free(ds);
    lam_model_free(m);
}

int main(void)
{
    lam_set_threads(1);
    check_rate(0.3f);
    check_rate(0.5f);
    check_rate(0.1f);
    check_backward();
    return test_summary("test_dropout");
}
