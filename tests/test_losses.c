/* test_losses.c - loss and accuracy *values* against Keras: every loss
 * (sparse categorical CE, categorical CE, binary CE, MSE), through the fused
 * path (softmax / sigmoid output: the loss from the logits) and the
 * probability path (a linear output: clipping at 1e-7, renormalised rows),
 * saturated logits, exact 0 / 1 probabilities, Dense outputs with fixed
 * weights; evaluated in batches of 4 over 10 samples, so the last batch is
 * short and must weigh by its size. The expected values are Keras's
 * model.evaluate results (tests/make_loss_fixtures.py, fixtures/loss_*.npy).
 * Only the public API is used.
 *
 * Each case is checked three ways: lam_evaluate at the fixture's batch size
 * (4, 4, 2), at other batch sizes (the mean over samples does not depend on
 * how they are batched), and lam_fit's epoch loss and accuracy for the
 * parameter-free cases (the training-side reduction: no weights change, so
 * the epoch's running mean must equal Keras's evaluation). */
#include "lamina.h"
#include "fixture.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *name;
    lam_loss loss;
    lam_activation act;
    bool dense; /* last layer Dense with fixed weights; else Activation */
} loss_case;

static const loss_case cases[] = {
    {"sce_softmax", LAM_LOSS_SPARSE_CATEGORICAL_CE, LAM_ACT_SOFTMAX, false},
    {"sce_probs", LAM_LOSS_SPARSE_CATEGORICAL_CE, LAM_ACT_LINEAR, false},
    {"cce_softmax", LAM_LOSS_CATEGORICAL_CE, LAM_ACT_SOFTMAX, false},
    {"cce_probs", LAM_LOSS_CATEGORICAL_CE, LAM_ACT_LINEAR, false},
    {"bce_sigmoid", LAM_LOSS_BINARY_CE, LAM_ACT_SIGMOID, false},
    {"bce_probs", LAM_LOSS_BINARY_CE, LAM_ACT_LINEAR, false},
    {"mse_linear", LAM_LOSS_MSE, LAM_ACT_LINEAR, false},
    {"mse_softmax", LAM_LOSS_MSE, LAM_ACT_SOFTMAX, false},
    {"dense_sce", LAM_LOSS_SPARSE_CATEGORICAL_CE, LAM_ACT_SOFTMAX, true},
    {"dense_bce", LAM_LOSS_BINARY_CE, LAM_ACT_SIGMOID, true},
    {"dense_mse", LAM_LOSS_MSE, LAM_ACT_LINEAR, true},
};

static float *load(const char *c, const char *part, long *n)
{
    char name[96];
    snprintf(name, sizeof name, "loss_%s_%s.npy", c, part);
    float *p = fixture_load(name, n);
    CHECK(p != NULL, "fixture %s missing (run from tests/)", name);
    return p;
}

static void check_case(const loss_case *k)
{
    long nx = 0, ny = 0, ne = 0, nk = 0, nb = 0;
    float *x = load(k->name, "x", &nx), *y = load(k->name, "y", &ny);
    float *expect = load(k->name, "expect", &ne);
    float *kernel = k->dense ? load(k->name, "kernel", &nk) : NULL;
    float *bias = k->dense ? load(k->name, "bias", &nb) : NULL;
    if (!x || !y || !expect || ne != 4 || (k->dense && (!kernel || !bias))) goto done;
    const double want_loss = expect[0], want_acc = expect[1];
    const int batch = (int)expect[2];
    const bool has_acc = expect[3] != 0;
    const bool sparse = k->loss == LAM_LOSS_SPARSE_CATEGORICAL_CE;
    const int64_t n = 10, d_in = nx / n;
    const int64_t d_out = k->dense ? nb : d_in;
    CHECK(nx == n * d_in && (sparse ? ny == n : ny == n * d_out), "%s: fixture shapes", k->name);

    lam_model *m = lam_sequential(k->name);
    CHECK_OK(lam_model_add_input(m, 1, (int64_t[]){d_in}));
    if (k->dense) CHECK_OK(lam_model_add_dense(m, (int)d_out, k->act));
    else CHECK_OK(lam_model_add_activation(m, k->act));
    lam_optimizer sgd = lam_sgd();
    CHECK_OK(lam_model_compile(m, &sgd, k->loss));
    if (k->dense) {
        lam_tensor_info kt, bt;
        CHECK_OK(lam_model_tensor(m, 0, &kt));
        CHECK_OK(lam_model_tensor(m, 1, &bt));
        CHECK(kt.count == nk && bt.count == nb, "%s: Dense tensor sizes", k->name);
        memcpy(kt.data, kernel, sizeof(float) * (size_t)nk);
        memcpy(bt.data, bias, sizeof(float) * (size_t)nb);
    }
    lam_dataset *ds = NULL;
    CHECK_OK(lam_dataset_create(&ds, LAM_F32, n, 1, (int64_t[]){d_in}, sparse,
                                sparse ? 0 : d_out));
    if (!ds) {
        lam_model_free(m);
        goto done;
    }
    memcpy(lam_dataset_x(ds), x, sizeof(float) * (size_t)nx);
    if (sparse)
        for (int64_t i = 0; i < n; i++) lam_dataset_labels(ds)[i] = (int32_t)y[i];
    else memcpy(lam_dataset_targets(ds), y, sizeof(float) * (size_t)ny);

    /* Keras's batching: 4, 4, then a short 2. */
    lam_eval_result r;
    CHECK_OK(lam_evaluate(m, ds, batch, 0, &r));
    CHECK(fabs(r.loss - want_loss) <= 1e-5, "%s: loss %.8g, Keras %.8g", k->name, r.loss,
          want_loss);
    CHECK(r.has_accuracy == has_acc, "%s: has_accuracy %d, Keras %d", k->name, r.has_accuracy,
          has_acc);
    if (has_acc)
        CHECK(fabs(r.accuracy - want_acc) <= 1e-5, "%s: accuracy %.6f, Keras %.6f", k->name,
              r.accuracy, want_acc);
    /* The same mean whatever the batching (one batch; 3, 3, 3, 1; one by one). */
    const int other[] = {10, 3, 1};
    for (int i = 0; i < 3; i++) {
        lam_eval_result o;
        CHECK_OK(lam_evaluate(m, ds, other[i], 0, &o));
        CHECK(fabs(o.loss - want_loss) <= 1e-5 && (!has_acc || fabs(o.accuracy - want_acc) <= 1e-5),
              "%s: batch %d: loss %.8g accuracy %.6f, Keras %.8g %.6f", k->name, other[i], o.loss,
              o.accuracy, want_loss, want_acc);
    }
    /* Training's epoch figures, where training cannot change the outputs
     * (no weights): the running mean over the batches 4, 4, 2. */
    if (!k->dense) {
        lam_fit_options fo = lam_fit_defaults();
        fo.verbose = 0;
        fo.batch_size = batch;
        fo.shuffle = false;
        lam_history *h = NULL;
        CHECK_OK(lam_fit(m, ds, &fo, &h));
        if (h && h->epochs == 1) {
            CHECK(fabs(h->log[0].loss - want_loss) <= 1e-5, "%s: fit loss %.8g, Keras %.8g",
                  k->name, h->log[0].loss, want_loss);
            CHECK(h->log[0].has_accuracy == has_acc, "%s: fit has_accuracy", k->name);
            if (has_acc)
                CHECK(fabs(h->log[0].accuracy - want_acc) <= 1e-5,
                      "%s: fit accuracy %.6f, Keras %.6f", k->name, h->log[0].accuracy, want_acc);
        } else {
            CHECK(0, "%s: no history", k->name);
        }
        lam_history_free(h);
    }
    printf("%-12s loss %.7f (Keras %.7f)", k->name, r.loss, want_loss);
    if (has_acc) printf(", accuracy %.4f (Keras %.4f)", r.accuracy, want_acc);
    printf("\n");
    lam_dataset_free(ds);
    lam_model_free(m);
done:
    free(x), free(y), free(expect), free(kernel), free(bias);
}

int main(void)
{
    lam_set_threads(1);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_case(&cases[i]);
    return test_summary("test_losses");
}
