/* test_text_transformer.c - the transformer text classifier of the fortunes benchmark
 * (examples/text_transformer.json's architecture: keras_hub TokenAndPositionEmbedding with
 * mask_zero, one MultiHeadAttention block with residuals and LayerNormalization, masked
 * GlobalAveragePooling1D, Dense head) against Keras 3, from Keras's own JSON
 * (tests/fixtures/text/text_transformer_tiny.json) with Keras's weights
 * (tests/make_text_transformer_fixtures.py, tests/fixtures/text_transformer/):
 *
 *  - the parameter total is Keras's;
 *  - inference on padded sequences equals Keras's output with the attention's input mask
 *    kept (within 1e-5), and the loss its cross-entropy; lamina keeps that mask, Keras 3.15
 *    clears it (docs/ENGINE.md), so Keras's own output, which averages the padding in, must
 *    differ: the benchmark's Keras twin computes that other model;
 *  - the spec lamina writes back reads in again and computes the same bits. */
#include "fixture.h"
#include "test.h"

#include <lamina.h>
#include <string.h>

#define TOL 1e-5
#define BATCH 4
#define LEN 24
#define CLASSES 3

static float *load(const char *name, long want)
{
    char path[128];
    snprintf(path, sizeof path, "text_transformer/%s.npy", name);
    long n = 0;
    float *v = fixture_load(path, &n);
    CHECK(v && n == want, "fixture %s: %ld values, expected %ld", path, n, want);
    if (v && n == want) return v;
    free(v);
    return NULL;
}

static double max_diff(const float *a, const float *b, long n)
{
    double worst = 0;
    for (long i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= worst)) worst = d; /* a NaN counts as the worst */
    }
    return worst;
}

/* Every weight tensor from w_<i>.npy: Keras's model.weights order is lamina's tensor order. */
static bool set_weights(lam_model *m)
{
    bool ok = true;
    for (int t = 0; t < lam_model_num_tensors(m); t++) {
        lam_tensor_info ti;
        CHECK_OK(lam_model_tensor(m, t, &ti));
        char name[32];
        snprintf(name, sizeof name, "w_%d", t);
        float *v = load(name, (long)ti.count);
        if (v) memcpy(ti.data, v, sizeof(float) * (size_t)ti.count);
        ok = ok && v;
        free(v);
    }
    return ok;
}

/* Inference on the fixture's ids; out: BATCH * CLASSES probabilities. */
static void infer(lam_model *m, const float *ids, float *out)
{
    CHECK_OK(lam_model_plan(m, BATCH));
    memcpy(lam_model_input_buffer(m, 0), ids, sizeof(float) * BATCH * LEN);
    CHECK_OK(lam_forward(m, BATCH, LAM_MODE_INFER));
    memcpy(out, lam_model_output(m, 0), sizeof(float) * BATCH * CLASSES);
}

int main(void)
{
    float *ids = load("ids", BATCH * LEN), *labels = load("labels", BATCH);
    float *kept = load("out_kept", BATCH * CLASSES), *keras = load("out_keras", BATCH * CLASSES);
    float *loss = load("loss_kept", 1), *params = load("params", 1);
    lam_model *m = NULL;
    CHECK_OK(lam_model_from_json_file("fixtures/text/text_transformer_tiny.json", &m));
    if (!(m && ids && labels && kept && keras && loss && params)) {
        lam_model_free(m);
        return test_summary("test_text_transformer");
    }
    CHECK(lam_model_param_count(m) == (int64_t)params[0], "parameters %lld, Keras %g",
          (long long)lam_model_param_count(m), params[0]);
    lam_optimizer adam = lam_adam();
    CHECK_OK(lam_model_compile(m, &adam, LAM_LOSS_SPARSE_CATEGORICAL_CE));
    float out[BATCH * CLASSES];
    if (set_weights(m)) {
        infer(m, ids, out);
        const double d = max_diff(out, kept, BATCH * CLASSES);
        CHECK(d <= TOL, "forward: %g from Keras with the mask kept", d);
        /* Padding averaged in (Keras 3.15's own model) is another function of the ids. */
        const double other = max_diff(out, keras, BATCH * CLASSES);
        CHECK(other > 1e-2, "lamina's output is Keras's mask-dropping one (%g apart): the mask "
              "did not reach the pooling", other);
        int32_t y[BATCH];
        for (int i = 0; i < BATCH; i++) y[i] = (int32_t)labels[i];
        lam_target tg = {y, NULL, NULL};
        lam_batch_metrics bm;
        CHECK_OK(lam_loss_eval(m, BATCH, &tg, false, &bm));
        CHECK(fabs(bm.loss / BATCH - loss[0]) <= TOL, "loss %.7f, Keras (mask kept) %.7f",
              bm.loss / BATCH, loss[0]);
        printf("text transformer: forward %.2e from Keras with the mask kept, %.3f from Keras "
               "3.15's own (padding pooled); loss %.2e\n", d, other,
               fabs(bm.loss / BATCH - loss[0]));

        /* The spec lamina writes reads in again: same layers, same bits with the weights. */
        char *json = NULL;
        lam_model *back = NULL;
        CHECK_OK(lam_model_to_json(m, &json));
        if (json) CHECK_OK(lam_model_from_json(json, "lamina's JSON", &back));
        if (back) {
            CHECK_OK(lam_model_compile(back, &adam, LAM_LOSS_SPARSE_CATEGORICAL_CE));
            CHECK(lam_model_num_tensors(back) == lam_model_num_tensors(m) &&
                  lam_model_param_count(back) == lam_model_param_count(m), "same weights");
            float again[BATCH * CLASSES];
            if (set_weights(back)) {
                infer(back, ids, again);
                CHECK(memcmp(again, out, sizeof out) == 0, "the written spec computes the same");
            }
        }
        lam_model_free(back);
        free(json);
    }
    lam_model_free(m);
    free(ids);
    free(labels);
    free(kept);
    free(keras);
    free(loss);
    free(params);
    return test_summary("test_text_transformer");
}
