/* test_functional_parity.c - a functional model against Keras 3
 * (tests/make_functional_fixtures.py says which): two inputs, a Dense layer
 * shared by both, residual Adds, a Concatenate, BatchNormalization (training
 * and inference) and LayerNormalization, two outputs with their own losses
 * and weights. Forward in both modes, the step's losses, and every weight
 * (and BN's moving statistics) after one Adam step, within 1e-5. */
#include "core/model.h"
#include "fixture.h"
#include "test.h"

#include <string.h>

#define B 8

static double worst_after; /* over every weight after the step */

static float *load(const char *name, long want)
{
    char path[128];
    snprintf(path, sizeof path, "functional/%s.npy", name);
    long n = 0;
    float *v = fixture_load(path, &n);
    CHECK(v && n == want, "fixture %s: %ld values, expected %ld", path, n, want);
    return v;
}

static lam_layer_spec named(lam_layer_kind kind, const char *name)
{
    lam_layer_spec s = lam_layer_defaults(kind);
    snprintf(s.name, sizeof s.name, "%s", name);
    return s;
}

static lam_model *build(void)
{
    lam_model *m = lam_model_new("parity");
    int a, b, ha, hb, s, c, n, l, y1, res, r, y2;
    CHECK_OK(lam_model_input(m, "a", 1, (int64_t[]){5}, &a));
    CHECK_OK(lam_model_input(m, "b", 1, (int64_t[]){5}, &b));
    lam_layer_spec shared = named(LAM_LAYER_DENSE, "shared");
    shared.units = 4;
    shared.activation = LAM_ACT_TANH;
    CHECK_OK(lam_model_call(m, &shared, 1, &a, &ha));
    CHECK_OK(lam_model_call_shared(m, ha, 1, &b, &hb));
    lam_layer_spec add = named(LAM_LAYER_ADD, "add");
    CHECK_OK(lam_model_call(m, &add, 2, (int[]){ha, hb}, &s));
    lam_layer_spec concat = named(LAM_LAYER_CONCATENATE, "concat");
    CHECK_OK(lam_model_call(m, &concat, 3, (int[]){s, ha, b}, &c));
    lam_layer_spec bn = named(LAM_LAYER_BATCH_NORM, "bn");
    CHECK_OK(lam_model_call(m, &bn, 1, &c, &n));
    lam_layer_spec ln = named(LAM_LAYER_LAYER_NORM, "ln");
    CHECK_OK(lam_model_call(m, &ln, 1, &n, &l));
    lam_layer_spec cls = named(LAM_LAYER_DENSE, "cls");
    cls.units = 3;
    cls.activation = LAM_ACT_SOFTMAX;
    CHECK_OK(lam_model_call(m, &cls, 1, &l, &y1));
    lam_layer_spec radd = named(LAM_LAYER_ADD, "res");
    CHECK_OK(lam_model_call(m, &radd, 2, (int[]){l, c}, &res));
    lam_layer_spec hidden = named(LAM_LAYER_DENSE, "reg_hidden");
    hidden.units = 2;
    CHECK_OK(lam_model_call(m, &hidden, 1, &res, &r));
    lam_layer_spec reg = named(LAM_LAYER_DENSE, "reg");
    reg.units = 1;
    CHECK_OK(lam_model_call(m, &reg, 1, &r, &y2));
    CHECK_OK(lam_model_set_outputs(m, 2, (int[]){y1, y2}));
    lam_optimizer adam = lam_adam();
    CHECK_OK(lam_model_compile(m, &adam, LAM_LOSS_SPARSE_CATEGORICAL_CE));
    CHECK_OK(lam_model_set_output_loss(m, 1, LAM_LOSS_MSE, 0.5f));
    return m;
}

/* Sets (prefix "w") or compares (prefix "after") every weight tensor: the
 * i-th tensor of layer L is <prefix>_L_i.npy, Keras's get_weights() order. */
static void weights(lam_model *m, const char *prefix, bool set)
{
    const int nt = lam_model_num_tensors(m);
    for (int t = 0; t < nt; t++) {
        lam_tensor_info ti;
        CHECK_OK(lam_model_tensor(m, t, &ti));
        char layer[96];
        snprintf(layer, sizeof layer, "%s", ti.name);
        *strchr(layer, '/') = '\0';
        int index = 0;
        for (int u = 0; u < t; u++) {
            lam_tensor_info tu;
            lam_model_tensor(m, u, &tu);
            index += strncmp(tu.name, layer, strlen(layer)) == 0 && tu.name[strlen(layer)] == '/';
        }
        char name[160];
        snprintf(name, sizeof name, "%s_%s_%d", prefix, layer, index);
        float *v = load(name, (long)ti.count);
        if (!v) continue;
        if (set) {
            memcpy(ti.data, v, sizeof(float) * (size_t)ti.count);
        } else {
            double worst = 0;
            for (int64_t i = 0; i < ti.count; i++) worst = fmax(worst, fabs(ti.data[i] - v[i]));
            CHECK(worst <= 1e-5, "%s after one Adam step: max |lamina - Keras| = %.3g", ti.name,
                  worst);
            worst_after = fmax(worst_after, worst);
        }
        free(v);
    }
}

static void compare(const char *name, const float *got, long n)
{
    float *want = load(name, n);
    if (!want) return;
    double worst = 0;
    for (long i = 0; i < n; i++) worst = fmax(worst, fabs(got[i] - want[i]));
    CHECK(worst <= 1e-5, "%s: max |lamina - Keras| = %.3g", name, worst);
    printf("%-10s max |lamina - Keras| = %.2e\n", name, worst);
    free(want);
}

int main(void)
{
    lam_model *m = build();
    weights(m, "w", true);
    CHECK_OK(lam_model_plan(m, B));
    float *xa = load("x_a", B * 5), *xb = load("x_b", B * 5), *yc = load("y_cls", B),
          *yr = load("y_reg", B);
    if (!xa || !xb || !yc || !yr) return test_summary("test_functional_parity");
    memcpy(lam_model_input_buffer(m, 0), xa, sizeof(float) * B * 5);
    memcpy(lam_model_input_buffer(m, 1), xb, sizeof(float) * B * 5);

    CHECK_OK(lam_forward(m, B, LAM_MODE_INFER));
    compare("infer_y1", lam_model_output(m, 0), B * 3);
    compare("infer_y2", lam_model_output(m, 1), B);
    CHECK_OK(lam_forward(m, B, LAM_MODE_TRAIN));
    compare("train_y1", lam_model_output(m, 0), B * 3);
    compare("train_y2", lam_model_output(m, 1), B);

    /* One step from the original weights (the training forward above moved
     * BatchNormalization's moving statistics, as Keras's did). */
    weights(m, "w", true);
    int32_t labels[B];
    for (int i = 0; i < B; i++) labels[i] = (int32_t)yc[i];
    lam_target t[2] = {{labels, NULL, NULL}, {NULL, yr, NULL}};
    lam_batch_metrics bm;
    CHECK_OK(lam_forward(m, B, LAM_MODE_TRAIN));
    CHECK_OK(lam_loss_eval(m, B, t, true, &bm));
    float *loss = load("step_loss", 3);
    if (loss) {
        CHECK_NEAR(bm.loss / B, loss[0], 1e-5);
        printf("step loss %.7f, Keras %.7f\n", bm.loss / B, loss[0]);
    }
    free(loss);
    CHECK_OK(lam_backward(m, B, false));
    CHECK_OK(lam_optimizer_update(m, lam_model_learning_rate(m)));
    weights(m, "after", false);
    printf("weights after one Adam step (BN moving statistics too): max |lamina - Keras| = %.2e\n",
           worst_after);

    free(xa);
    free(xb);
    free(yc);
    free(yr);
    lam_model_free(m);
    return test_summary("test_functional_parity");
}
