/* test_gradients.c - finite-difference gradient checks for every op and
 * loss, w.r.t. inputs and every parameter, over several shapes, strides and
 * paddings (tests/gradcheck.h says how). Central differences in float32 are noisy, so
 * the networks use smooth activations around the op under test; ReLU and
 * max pooling are checked on inputs kept away from their kinks. */
#include "gradcheck.h"

#include <string.h>

static void check_dense(void)
{
    for (int act = LAM_ACT_LINEAR; act < LAM_ACT_COUNT; act++) {
        if (act == LAM_ACT_RELU) continue; /* checked on kink-free inputs below */
        lam_model *m = model_with_input(1, (int64_t[]){5});
        CHECK_OK(lam_model_add_dense(m, 4, (lam_activation)act));
        CHECK_OK(lam_model_add_dense(m, 3, LAM_ACT_LINEAR));
        char name[64];
        snprintf(name, sizeof name, "Dense(%s) + MSE", lam_activation_name((lam_activation)act));
        gradcheck(name, m, LAM_LOSS_MSE, 3, smooth);
        lam_model_free(m);
    }
    /* No bias; and Dense on a rank-2 input acts on the last axis. */
    lam_model *m = model_with_input(2, (int64_t[]){3, 4});
    lam_layer_spec s = lam_layer_defaults(LAM_LAYER_DENSE);
    s.units = 2;
    s.use_bias = false;
    s.activation = LAM_ACT_TANH;
    CHECK_OK(lam_model_add(m, &s));
    CHECK_OK(lam_model_add_flatten(m));
    gradcheck("Dense(no bias) on (3, 4) + Flatten", m, LAM_LOSS_MSE, 2, smooth);
    lam_model_free(m);
}

static void check_conv(void)
{
    struct { int H, W, C, F, kh, kw, sh, sw; lam_padding pad; } cases[] = {
        {5, 5, 1, 2, 3, 3, 1, 1, LAM_PAD_VALID},
        {6, 5, 2, 3, 3, 3, 2, 2, LAM_PAD_SAME},
        {7, 6, 2, 2, 2, 3, 2, 1, LAM_PAD_SAME},
        {5, 6, 3, 2, 3, 2, 1, 2, LAM_PAD_VALID},
        {4, 4, 2, 3, 1, 1, 1, 1, LAM_PAD_SAME},
        /* 3x3 stride 1 with C >= 8 takes the Winograd path; odd output
         * sizes leave partial 2x2 tiles on the bottom and right. */
        {6, 5, 9, 3, 3, 3, 1, 1, LAM_PAD_SAME},
        {4, 7, 8, 2, 3, 3, 1, 1, LAM_PAD_VALID},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        lam_model *m = model_with_input(3, (int64_t[]){cases[k].H, cases[k].W, cases[k].C});
        lam_layer_spec s = lam_layer_defaults(LAM_LAYER_CONV2D);
        s.units = cases[k].F;
        s.kernel[0] = cases[k].kh;
        s.kernel[1] = cases[k].kw;
        s.strides[0] = cases[k].sh;
        s.strides[1] = cases[k].sw;
        s.padding = cases[k].pad;
        s.activation = k % 2 ? LAM_ACT_TANH : LAM_ACT_LINEAR;
        s.use_bias = k != 3;
        CHECK_OK(lam_model_add(m, &s));
        CHECK_OK(lam_model_add_flatten(m));
        char name[96];
        snprintf(name, sizeof name, "Conv2D %dx%dx%d k%dx%d s%dx%d %s", cases[k].H, cases[k].W,
                 cases[k].C, cases[k].kh, cases[k].kw, cases[k].sh, cases[k].sw,
                 cases[k].pad == LAM_PAD_SAME ? "same" : "valid");
        gradcheck(name, m, LAM_LOSS_MSE, 2, smooth);
        lam_model_free(m);
    }
}

static void check_pooling(void)
{
    struct { lam_layer_kind kind; int H, W, ph, pw, sh, sw; lam_padding pad; } cases[] = {
        {LAM_LAYER_MAXPOOL2D, 4, 4, 2, 2, 0, 0, LAM_PAD_VALID},
        {LAM_LAYER_MAXPOOL2D, 5, 5, 2, 2, 0, 0, LAM_PAD_VALID},
        {LAM_LAYER_MAXPOOL2D, 5, 6, 3, 2, 2, 1, LAM_PAD_SAME},
        {LAM_LAYER_AVGPOOL2D, 4, 4, 2, 2, 0, 0, LAM_PAD_VALID},
        {LAM_LAYER_AVGPOOL2D, 5, 5, 2, 2, 0, 0, LAM_PAD_SAME},
        {LAM_LAYER_AVGPOOL2D, 5, 6, 3, 2, 2, 1, LAM_PAD_SAME},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        lam_model *m = model_with_input(3, (int64_t[]){cases[k].H, cases[k].W, 2});
        lam_layer_spec s = lam_layer_defaults(cases[k].kind);
        s.pool[0] = cases[k].ph;
        s.pool[1] = cases[k].pw;
        s.strides[0] = cases[k].sh;
        s.strides[1] = cases[k].sw;
        s.padding = cases[k].pad;
        CHECK_OK(lam_model_add(m, &s));
        CHECK_OK(lam_model_add_flatten(m));
        char name[96];
        snprintf(name, sizeof name, "%s %dx%d pool %dx%d %s",
                 cases[k].kind == LAM_LAYER_MAXPOOL2D ? "MaxPooling2D" : "AveragePooling2D",
                 cases[k].H, cases[k].W, cases[k].ph, cases[k].pw,
                 cases[k].pad == LAM_PAD_SAME ? "same" : "valid");
        /* Distinct inputs 0.05 apart: no ties, no switch of the max under eps. */
        check_opts o = {-1.5f, 0.05f, 1e-2f};
        gradcheck(name, m, LAM_LOSS_MSE, 2, o);
        lam_model_free(m);
    }
}

static void check_elementwise(void)
{
    for (int act = LAM_ACT_LINEAR; act < LAM_ACT_COUNT; act++) {
        lam_model *m = model_with_input(1, (int64_t[]){6});
        CHECK_OK(lam_model_add_activation(m, (lam_activation)act));
        CHECK_OK(lam_model_add_dense(m, 3, LAM_ACT_LINEAR));
        char name[64];
        snprintf(name, sizeof name, "Activation(%s)", lam_activation_name((lam_activation)act));
        /* Inputs spaced 0.05 apart and offset so none is within eps of 0. */
        check_opts o = {-0.575f, 0.05f, 1e-2f};
        gradcheck(name, m, LAM_LOSS_MSE, 3, o);
        lam_model_free(m);
    }
    lam_model *m = model_with_input(3, (int64_t[]){2, 3, 2});
    CHECK_OK(lam_model_add_flatten(m));
    CHECK_OK(lam_model_add_dropout(m, 0.4f));
    CHECK_OK(lam_model_add_dense(m, 2, LAM_ACT_TANH));
    /* The kept values are scaled by 1 / 0.6, which raises tanh's curvature: a
     * smaller step keeps the central difference's truncation error below the
     * tolerance (this mask's parameter 0: 1.8e-3 relative at eps 1e-2). */
    gradcheck("Flatten + Dropout(0.4) (training mask)", m, LAM_LOSS_MSE, 3,
              (check_opts){0, 0, 5e-3f});
    lam_model_free(m);
}

static void check_losses(void)
{
    struct { lam_loss loss; lam_activation act; const char *name; } cases[] = {
        {LAM_LOSS_SPARSE_CATEGORICAL_CE, LAM_ACT_SOFTMAX, "sparse CE from logits (softmax)"},
        {LAM_LOSS_SPARSE_CATEGORICAL_CE, LAM_ACT_SIGMOID, "sparse CE on probabilities"},
        {LAM_LOSS_CATEGORICAL_CE, LAM_ACT_SOFTMAX, "categorical CE from logits"},
        {LAM_LOSS_CATEGORICAL_CE, LAM_ACT_SIGMOID, "categorical CE on probabilities"},
        {LAM_LOSS_BINARY_CE, LAM_ACT_SIGMOID, "binary CE from logits (sigmoid)"},
        {LAM_LOSS_BINARY_CE, LAM_ACT_SOFTMAX, "binary CE on probabilities"},
        {LAM_LOSS_MSE, LAM_ACT_SOFTMAX, "MSE after softmax"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        lam_model *m = model_with_input(1, (int64_t[]){4});
        CHECK_OK(lam_model_add_dense(m, 5, LAM_ACT_TANH));
        CHECK_OK(lam_model_add_dense(m, 3, cases[k].act));
        gradcheck(cases[k].name, m, cases[k].loss, 4, smooth);
        lam_model_free(m);
    }
    /* The fused path: an Activation(softmax) layer after a linear Dense. */
    lam_model *m = model_with_input(1, (int64_t[]){4});
    CHECK_OK(lam_model_add_dense(m, 3, LAM_ACT_LINEAR));
    CHECK_OK(lam_model_add_activation(m, LAM_ACT_SOFTMAX));
    gradcheck("Activation(softmax) + sparse CE", m, LAM_LOSS_SPARSE_CATEGORICAL_CE, 4, smooth);
    lam_model_free(m);

    /* Softmax on the last axis of a rank-3 sample (2, 3, 4), inside the
     * network (not fused with a loss): every row of 4 sums to 1 and equals
     * exp(x) / sum(exp(x)); its gradient through an MSE head. */
    m = model_with_input(3, (int64_t[]){2, 3, 4});
    CHECK_OK(lam_model_add_activation(m, LAM_ACT_SOFTMAX));
    CHECK_OK(lam_model_add_dense(m, 2, LAM_ACT_TANH));
    lam_optimizer sgd = lam_sgd();
    CHECK_OK(lam_model_compile(m, &sgd, LAM_LOSS_MSE));
    CHECK_OK(lam_model_plan(m, 1));
    float *x = lam_model_input_buffer(m, 0);
    for (int i = 0; i < 24; i++) x[i] = 2.0f * test_rndf();
    CHECK_OK(lam_forward(m, 1, LAM_MODE_INFER));
    const float *y = m->nodes[1].value;
    double worst = 0;
    for (int r = 0; r < 6; r++) {
        double z = 0;
        for (int j = 0; j < 4; j++) z += exp(x[r * 4 + j]);
        for (int j = 0; j < 4; j++) {
            const double d = fabs(y[r * 4 + j] - exp(x[r * 4 + j]) / z);
            if (d > worst) worst = d;
        }
    }
    CHECK(worst < 1e-6, "softmax over the last axis of (2, 3, 4): %g from exp/sum", worst);
    lam_model_free(m);
    m = model_with_input(3, (int64_t[]){2, 3, 4});
    CHECK_OK(lam_model_add_activation(m, LAM_ACT_SOFTMAX));
    CHECK_OK(lam_model_add_dense(m, 2, LAM_ACT_TANH));
    gradcheck("Activation(softmax) on (2, 3, 4), then Dense", m, LAM_LOSS_MSE, 3, smooth);
    lam_model_free(m);
}

static void check_small_cnn(void)
{
    /* The seed's shape in miniature: conv, pool, conv, pool, flatten, dense, softmax. */
    lam_model *m = model_with_input(3, (int64_t[]){10, 10, 1});
    CHECK_OK(lam_model_add_conv2d(m, 2, 3, 3, LAM_ACT_TANH));
    CHECK_OK(lam_model_add_avgpool2d(m, 2, 2));
    CHECK_OK(lam_model_add_conv2d(m, 3, 2, 2, LAM_ACT_TANH));
    CHECK_OK(lam_model_add_avgpool2d(m, 2, 2));
    CHECK_OK(lam_model_add_flatten(m));
    CHECK_OK(lam_model_add_dense(m, 4, LAM_ACT_TANH));
    CHECK_OK(lam_model_add_dense(m, 3, LAM_ACT_SOFTMAX));
    gradcheck("small CNN + sparse CE", m, LAM_LOSS_SPARSE_CATEGORICAL_CE, 2, smooth);
    lam_model_free(m);
}

int main(void)
{
    lam_rng_seed(&rng, 2024);
    lam_set_threads(1);
    check_dense();
    check_conv();
    check_pooling();
    check_elementwise();
    check_losses();
    check_small_cnn();
    return test_summary("test_gradients");
}
