/* test_norm_layers.c - BatchNormalization, LayerNormalization, Conv1D, the
 * 1-D and global poolings, ZeroPadding2D and UpSampling2D: finite-difference
 * gradients of every op and option (BatchNormalization in training mode,
 * and its inference-mode backward by hand), Keras parity on the fixtures of
 * tests/make_layer_fixtures.py, Keras's parameter counts and summary,
 * results independent of the thread count, and builder errors. */
#include "fixture.h"
#include "gradcheck.h"
#include "kernels/normalization.h"

#include <string.h>

static double worst_fixture;
/* BatchNormalization and LayerNormalization couple every value of a channel
 * (or vector), so one input's step moves many outputs and the float32
 * rounding of each: the checks keep the op at the output, with distinct
 * inputs 0.1 apart (no vector of nearly equal values, whose tiny variance
 * would make the loss curve sharply within eps). check_norm_double below
 * checks the same backward far more tightly against a double forward. */
static const check_opts norm_opts = {-2.0f, 0.1f, 1e-2f};

static lam_model *one_layer(int rank, const int64_t *shape, const lam_layer_spec *s)
{
    lam_model *m = model_with_input(rank, shape);
    CHECK_OK(lam_model_add(m, s));
    return m;
}

/* Compiled (SGD, MSE) and planned for batch. */
static lam_model *compiled(lam_model *m, int batch)
{
    lam_optimizer sgd = lam_sgd();
    CHECK_OK(lam_model_compile(m, &sgd, LAM_LOSS_MSE));
    CHECK_OK(lam_model_plan(m, batch));
    return m;
}

/* ------------------------------------------------------------ gradients */

static void check_bn_gradients(void)
{
    struct { int rank; int64_t shape[3]; int axis; bool center, scale; float momentum; int batch; } cases[] = {
        {1, {6}, -1, true, true, 0.99f, 4},
        {3, {3, 2, 4}, -1, true, true, 0.9f, 3},
        {3, {3, 2, 4}, 1, true, true, 0.99f, 2},   /* the first per-sample axis */
        {3, {3, 2, 4}, 2, true, false, 0.5f, 2},   /* a middle axis: outer and inner > 1 */
        {2, {4, 3}, -1, false, true, 0.0f, 3},
        {2, {4, 3}, 2, false, false, 0.99f, 3},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        lam_model *m = model_with_input(cases[k].rank, cases[k].shape);
        lam_layer_spec s = lam_layer_defaults(LAM_LAYER_BATCH_NORM);
        s.axis = cases[k].axis;
        s.center = cases[k].center;
        s.scale = cases[k].scale;
        s.momentum = cases[k].momentum;
        CHECK_OK(lam_model_add(m, &s));
        CHECK_OK(lam_model_add_flatten(m));
        char name[96];
        snprintf(name, sizeof name, "BatchNorm(train) rank %d axis %d%s%s", cases[k].rank,
                 cases[k].axis, cases[k].center ? " center" : "", cases[k].scale ? " scale" : "");
        gradcheck(name, m, LAM_LOSS_MSE, cases[k].batch, norm_opts);
        lam_model_free(m);
    }
}

/* The inference-mode backward (LAM_MODE_INFER_GRAD) against central
 * differences of L = sum(w * y) with y from LAM_MODE_INFER forwards. */
static double infer_loss(lam_model *m, int batch, const float *w, int64_t n)
{
    CHECK_OK(lam_forward(m, batch, LAM_MODE_INFER));
    const float *y = lam_model_output(m, 0);
    double L = 0;
    for (int64_t i = 0; i < n; i++) L += (double)w[i] * y[i];
    return L;
}

static void check_bn_infer_grad(void)
{
    const int batch = 3;
    lam_model *m = model_with_input(3, (int64_t[]){3, 2, 4});
    lam_layer_spec s = lam_layer_defaults(LAM_LAYER_BATCH_NORM);
    CHECK_OK(lam_model_add(m, &s));
    lam_optimizer sgd = lam_sgd();
    CHECK_OK(lam_model_compile(m, &sgd, LAM_LOSS_MSE));
    CHECK_OK(lam_model_plan(m, batch));
    for (int t = 0; t < 4; t++) { /* gamma, beta, moving mean, moving variance */
        lam_tensor_info ti;
        CHECK_OK(lam_model_tensor(m, t, &ti));
        for (int64_t i = 0; i < ti.count; i++)
            ti.data[i] = t == 3 ? 0.5f + 0.7f * (test_rndf() + 1.0f) : test_rndf();
    }
    const int64_t n = batch * 24;
    float *x = lam_model_input_buffer(m, 0), *w = malloc(sizeof(float) * (size_t)n);
    float *state0 = malloc(sizeof(float) * 8), *y0 = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) {
        x[i] = 2.0f * test_rndf() + 0.5f;
        w[i] = test_rndf();
    }
    memcpy(state0, lam_model_state(m), sizeof(float) * 8);
    CHECK_OK(lam_forward(m, batch, LAM_MODE_INFER_GRAD));
    memcpy(y0, lam_model_output(m, 0), sizeof(float) * (size_t)n);
    CHECK_OK(lam_forward(m, batch, LAM_MODE_INFER));
    CHECK(memcmp(y0, lam_model_output(m, 0), sizeof(float) * (size_t)n) == 0,
          "INFER_GRAD and INFER forwards differ");
    CHECK(memcmp(state0, lam_model_state(m), sizeof(float) * 8) == 0,
          "an inference forward moved the moving statistics");
    CHECK_OK(lam_forward(m, batch, LAM_MODE_INFER_GRAD));
    memcpy(lam_model_output_grad(m, 0), w, sizeof(float) * (size_t)n);
    CHECK_OK(lam_backward(m, batch, true));
    float ga[8], *gx = malloc(sizeof(float) * (size_t)n);
    memcpy(ga, lam_model_grads(m), sizeof ga);
    memcpy(gx, lam_model_input_grad(m, 0), sizeof(float) * (size_t)n);
    double worst = 0;
    const float eps = 1e-2f;
    for (int p = 0; p < 8; p++) {
        float *v = &lam_model_params(m)[p], old = *v;
        *v = old + eps;
        double lp = infer_loss(m, batch, w, n);
        *v = old - eps;
        double lm = infer_loss(m, batch, w, n);
        *v = old;
        double e = rel_err(ga[p], (lp - lm) / (2.0 * eps));
        worst = fmax(worst, e);
        CHECK(e <= 1e-3, "BN inference backward: parameter %d: %g vs %g", p, ga[p],
              (lp - lm) / (2.0 * eps));
    }
    const float *gamma = lam_model_params(m), *mv = lam_model_state(m) + 4;
    for (int64_t i = 0; i < n; i++) {
        float old = x[i];
        x[i] = old + eps;
        double lp = infer_loss(m, batch, w, n);
        x[i] = old - eps;
        double lm = infer_loss(m, batch, w, n);
        x[i] = old;
        double e = rel_err(gx[i], (lp - lm) / (2.0 * eps));
        worst = fmax(worst, e);
        CHECK(e <= 1e-3, "BN inference backward: input %lld: %g vs %g", (long long)i, gx[i],
              (lp - lm) / (2.0 * eps));
        /* The fixed affine map: dx = w * gamma / sqrt(moving_variance + eps). */
        const int c = (int)(i % 4);
        CHECK_NEAR(gx[i], w[i] * gamma[c] / sqrt(mv[c] + 1e-3), 1e-6);
    }
    CHECK(memcmp(state0, lam_model_state(m), sizeof(float) * 8) == 0,
          "inference forwards and backward moved the moving statistics");
    printf("%-48s %5d coordinates, worst relative error %.2e\n",
           "BatchNorm(inference backward, by hand)", (int)(8 + n), worst);
    free(w);
    free(state0);
    free(y0);
    free(gx);
    lam_model_free(m);
}

/* y = BatchNormalization (training: batch statistics) or LayerNormalization
 * of x in double, x seen as (outer, C, inner); gamma, beta may be NULL. */
static void norm_double(bool batchnorm, const lam_norm_shape *s, const double *x,
                        const double *gamma, const double *beta, double eps, double *y)
{
    const int64_t O = s->outer, C = s->C, I = s->inner;
    /* Batch norm: one group per c of all (o, i); layer norm: one per (o, i) of all c. */
    const int64_t groups = batchnorm ? C : O * I, per = batchnorm ? O * I : C;
    for (int64_t g = 0; g < groups; g++) {
        double sum = 0, sq = 0;
        for (int pass = 0; pass < 2; pass++)
            for (int64_t j = 0; j < per; j++) {
                const int64_t o = batchnorm ? j / I : g / I, i = batchnorm ? j % I : g % I;
                const int64_t c = batchnorm ? g : j, at = (o * C + c) * I + i;
                if (pass == 0) {
                    sum += x[at];
                } else {
                    const double d = x[at] - sum / (double)per;
                    sq += d * d;
                }
            }
        const double mean = sum / (double)per, inv = 1.0 / sqrt(sq / (double)per + eps);
        for (int64_t j = 0; j < per; j++) {
            const int64_t o = batchnorm ? j / I : g / I, i = batchnorm ? j % I : g % I;
            const int64_t c = batchnorm ? g : j, at = (o * C + c) * I + i;
            y[at] = (x[at] - mean) * inv * (gamma ? gamma[c] : 1.0) + (beta ? beta[c] : 0.0);
        }
    }
}

static double norm_double_loss(bool batchnorm, const lam_norm_shape *s, const double *x,
                               const double *gamma, const double *beta, const float *w,
                               double *y)
{
    norm_double(batchnorm, s, x, gamma, beta, 1e-3, y);
    double L = 0;
    for (int64_t k = 0; k < s->outer * s->C * s->inner; k++) L += w[k] * y[k];
    return L;
}

/* The training-mode backward of BatchNormalization and the backward of
 * LayerNormalization against central differences of L = sum(w * y) with a
 * double forward: no float32 noise, so the bound is 1e-4 (the gradcheck
 * metric). Large shapes check a sample of input coordinates. */
static void check_norm_double(void)
{
    struct { lam_layer_kind kind; int rank; int64_t shape[3]; int axis; bool center, scale; int batch; } cases[] = {
        {LAM_LAYER_BATCH_NORM, 3, {3, 2, 4}, -1, true, true, 3},
        {LAM_LAYER_BATCH_NORM, 3, {3, 2, 4}, 2, true, false, 2},
        {LAM_LAYER_BATCH_NORM, 1, {5}, -1, false, true, 4},
        {LAM_LAYER_BATCH_NORM, 3, {16, 16, 32}, -1, true, true, 16}, /* chunked sums, threads */
        {LAM_LAYER_LAYER_NORM, 2, {4, 6}, -1, true, true, 3},
        {LAM_LAYER_LAYER_NORM, 2, {4, 6}, 1, true, true, 2},
        {LAM_LAYER_LAYER_NORM, 3, {3, 4, 2}, 2, false, true, 2},
        {LAM_LAYER_LAYER_NORM, 2, {64, 48}, -1, true, true, 16},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const bool bn = cases[k].kind == LAM_LAYER_BATCH_NORM;
        const int batch = cases[k].batch;
        lam_layer_spec sp = lam_layer_defaults(cases[k].kind);
        sp.axis = cases[k].axis;
        sp.center = cases[k].center;
        sp.scale = cases[k].scale;
        lam_model *m = compiled(one_layer(cases[k].rank, cases[k].shape, &sp), batch);
        const int r = cases[k].rank, d = cases[k].axis < 0 ? r + cases[k].axis : cases[k].axis - 1;
        lam_norm_shape s = {batch, cases[k].shape[d], 1};
        for (int i = 0; i < d; i++) s.outer *= cases[k].shape[i];
        for (int i = d + 1; i < r; i++) s.inner *= cases[k].shape[i];
        const int64_t n = s.outer * s.C * s.inner, C = s.C;
        float *xf = lam_model_input_buffer(m, 0), *w = malloc(sizeof(float) * (size_t)n);
        double *x = malloc(sizeof(double) * (size_t)n), *y = malloc(sizeof(double) * (size_t)n);
        double gb[2][64];
        float *params = lam_model_params(m);
        for (int64_t i = 0; i < lam_model_param_count(m); i++)
            params[i] = (i < C && sp.scale ? 1.0f : 0.0f) + 0.5f * test_rndf();
        const double *gamma = sp.scale ? gb[0] : NULL, *beta = sp.center ? gb[1] : NULL;
        for (int64_t c = 0; c < C; c++) {
            gb[0][c] = sp.scale ? params[c] : 1.0;
            gb[1][c] = sp.center ? params[(sp.scale ? C : 0) + c] : 0.0;
        }
        for (int64_t i = 0; i < n; i++) {
            xf[i] = 1.5f * test_rndf() + (float)(i % 3) - 1.0f;
            x[i] = xf[i];
            w[i] = test_rndf();
        }
        CHECK_OK(lam_forward(m, batch, LAM_MODE_TRAIN));
        memcpy(lam_model_output_grad(m, 0), w, sizeof(float) * (size_t)n);
        CHECK_OK(lam_backward(m, batch, true));
        const float *gx = lam_model_input_grad(m, 0), *gp = lam_model_grads(m);
        double worst = 0;
        const double h = 1e-5;
        int checked = 0;
        /* Every input of small cases; about 300 of the large ones. */
        const int64_t step = n > 1000 ? n / 300 + 1 : 1;
        for (int64_t i = 0; i < n; i += step) {
            const double old = x[i];
            x[i] = old + h;
            double lp = norm_double_loss(bn, &s, x, gamma, beta, w, y);
            x[i] = old - h;
            double lm = norm_double_loss(bn, &s, x, gamma, beta, w, y);
            x[i] = old;
            double e = rel_err(gx[i], (lp - lm) / (2 * h));
            worst = fmax(worst, e);
            CHECK(e <= 1e-4, "%s case %zu: input %lld: %.7g vs %.7g", lam_layer_kind_name(cases[k].kind),
                  k, (long long)i, gx[i], (lp - lm) / (2 * h));
            checked++;
        }
        for (int t = 0; t < 2; t++) {
            if (!(t == 0 ? sp.scale : sp.center)) continue;
            const float *g = gp + (t == 1 && sp.scale ? C : 0);
            for (int64_t c = 0; c < C; c++) {
                const double old = gb[t][c];
                gb[t][c] = old + h;
                double lp = norm_double_loss(bn, &s, x, gamma, beta, w, y);
                gb[t][c] = old - h;
                double lm = norm_double_loss(bn, &s, x, gamma, beta, w, y);
                gb[t][c] = old;
                double e = rel_err(g[c], (lp - lm) / (2 * h));
                worst = fmax(worst, e);
                CHECK(e <= 1e-4, "%s case %zu: %s %lld: %.7g vs %.7g",
                      lam_layer_kind_name(cases[k].kind), k, t ? "beta" : "gamma", (long long)c,
                      g[c], (lp - lm) / (2 * h));
                checked++;
            }
        }
        printf("%-48s %5d coordinates, worst relative error %.2e\n",
               bn ? "BatchNorm(train) vs double differences" : "LayerNorm vs double differences",
               checked, worst);
        free(w);
        free(x);
        free(y);
        lam_model_free(m);
    }
}

static void check_ln_gradients(void)
{
    struct { int rank; int64_t shape[3]; int axis; bool center, scale; } cases[] = {
        {1, {7}, -1, true, true},
        {2, {4, 6}, -1, true, true},
        {2, {4, 6}, 1, true, true},     /* normalised over the steps: inner 6 */
        {3, {3, 4, 2}, 2, false, true}, /* a middle axis */
        {2, {3, 5}, -1, true, false},
        {2, {3, 5}, -1, false, false},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        lam_model *m = model_with_input(cases[k].rank, cases[k].shape);
        lam_layer_spec s = lam_layer_defaults(LAM_LAYER_LAYER_NORM);
        s.axis = cases[k].axis;
        s.center = cases[k].center;
        s.scale = cases[k].scale;
        CHECK_OK(lam_model_add(m, &s));
        CHECK_OK(lam_model_add_flatten(m));
        char name[96];
        snprintf(name, sizeof name, "LayerNorm rank %d axis %d%s%s", cases[k].rank,
                 cases[k].axis, cases[k].center ? " center" : "", cases[k].scale ? " scale" : "");
        gradcheck(name, m, LAM_LOSS_MSE, 3, norm_opts);
        lam_model_free(m);
    }
}

static void check_conv1d_gradients(void)
{
    /* C < 8 with k * C <= 64 takes the direct kernels, the others im2col. */
    struct { int L, C, F, k, s; lam_padding pad; lam_activation act; bool bias; } cases[] = {
        {7, 2, 3, 3, 1, LAM_PAD_VALID, LAM_ACT_LINEAR, true},
        {8, 3, 2, 3, 2, LAM_PAD_SAME, LAM_ACT_TANH, true},
        {9, 2, 2, 4, 2, LAM_PAD_SAME, LAM_ACT_SIGMOID, false},
        {6, 9, 2, 3, 1, LAM_PAD_SAME, LAM_ACT_TANH, true},
        {7, 24, 2, 3, 2, LAM_PAD_VALID, LAM_ACT_LINEAR, true},
        {5, 3, 2, 1, 1, LAM_PAD_VALID, LAM_ACT_LINEAR, true},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        lam_layer_spec s = lam_layer_defaults(LAM_LAYER_CONV1D);
        s.units = cases[k].F;
        s.kernel[0] = cases[k].k;
        s.strides[0] = cases[k].s;
        s.padding = cases[k].pad;
        s.activation = cases[k].act;
        s.use_bias = cases[k].bias;
        lam_model *m = one_layer(2, (int64_t[]){cases[k].L, cases[k].C}, &s);
        CHECK_OK(lam_model_add_flatten(m));
        char name[96];
        snprintf(name, sizeof name, "Conv1D L%d C%d k%d s%d %s%s", cases[k].L, cases[k].C,
                 cases[k].k, cases[k].s, cases[k].pad == LAM_PAD_SAME ? "same" : "valid",
                 cases[k].bias ? "" : " no bias");
        gradcheck(name, m, LAM_LOSS_MSE, 2, smooth);
        lam_model_free(m);
    }
    /* A softmax Conv1D output: the loss takes its logits (one label per step). */
    lam_layer_spec s = lam_layer_defaults(LAM_LAYER_CONV1D);
    s.units = 4;
    s.padding = LAM_PAD_SAME;
    s.activation = LAM_ACT_SOFTMAX;
    lam_model *m = one_layer(2, (int64_t[]){6, 3}, &s);
    gradcheck("Conv1D softmax + sparse CE per step", m, LAM_LOSS_SPARSE_CATEGORICAL_CE, 2, smooth);
    CHECK(lam_model_output_node(m, 0)->keep_logits, "the loss did not take Conv1D's logits");
    lam_model_free(m);
}

static void check_pool_gradients(void)
{
    struct { lam_layer_kind kind; int L, p, s; lam_padding pad; } cases[] = {
        {LAM_LAYER_MAXPOOL1D, 8, 2, 0, LAM_PAD_VALID},
        {LAM_LAYER_MAXPOOL1D, 9, 3, 2, LAM_PAD_SAME},
        {LAM_LAYER_AVGPOOL1D, 7, 2, 0, LAM_PAD_VALID},
        {LAM_LAYER_AVGPOOL1D, 9, 3, 2, LAM_PAD_SAME},
        {LAM_LAYER_AVGPOOL1D, 6, 4, 1, LAM_PAD_SAME},
    };
    /* Distinct inputs 0.05 apart: no ties, no switch of the max under eps. */
    const check_opts spaced = {-1.5f, 0.05f, 1e-2f};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        lam_layer_spec s = lam_layer_defaults(cases[k].kind);
        s.pool[0] = cases[k].p;
        s.strides[0] = cases[k].s;
        s.padding = cases[k].pad;
        lam_model *m = one_layer(2, (int64_t[]){cases[k].L, 2}, &s);
        CHECK_OK(lam_model_add_flatten(m));
        char name[96];
        snprintf(name, sizeof name, "%s L%d pool %d stride %d %s", lam_layer_kind_name(cases[k].kind),
                 cases[k].L, cases[k].p, cases[k].s, cases[k].pad == LAM_PAD_SAME ? "same" : "valid");
        gradcheck(name, m, LAM_LOSS_MSE, 2, spaced);
        lam_model_free(m);
    }
    struct { lam_layer_kind kind; int rank; int64_t shape[3]; } g[] = {
        {LAM_LAYER_GLOBAL_AVGPOOL1D, 2, {5, 3}},
        {LAM_LAYER_GLOBAL_MAXPOOL1D, 2, {5, 3}},
        {LAM_LAYER_GLOBAL_AVGPOOL2D, 3, {3, 4, 2}},
        {LAM_LAYER_GLOBAL_MAXPOOL2D, 3, {3, 4, 2}},
    };
    for (size_t k = 0; k < sizeof g / sizeof g[0]; k++) {
        lam_layer_spec s = lam_layer_defaults(g[k].kind);
        lam_model *m = one_layer(g[k].rank, g[k].shape, &s);
        CHECK_OK(lam_model_add_dense(m, 2, LAM_ACT_TANH));
        gradcheck(lam_layer_kind_name(g[k].kind), m, LAM_LOSS_MSE, 3, spaced);
        lam_model_free(m);
    }
}

static void check_resize_gradients(void)
{
    int pads[][4] = {{1, 1, 1, 1}, {0, 2, 3, 0}, {2, 0, 0, 1}};
    for (size_t k = 0; k < sizeof pads / sizeof pads[0]; k++) {
        lam_layer_spec s = lam_layer_defaults(LAM_LAYER_ZERO_PADDING2D);
        memcpy(s.pad, pads[k], sizeof s.pad);
        lam_model *m = one_layer(3, (int64_t[]){3, 2, 2}, &s);
        lam_layer_spec conv = lam_layer_defaults(LAM_LAYER_CONV2D);
        conv.units = 2;
        conv.kernel[0] = conv.kernel[1] = 2;
        CHECK_OK(lam_model_add(m, &conv));
        CHECK_OK(lam_model_add_flatten(m));
        char name[64];
        snprintf(name, sizeof name, "ZeroPadding2D (%d, %d, %d, %d) + Conv2D", pads[k][0],
                 pads[k][1], pads[k][2], pads[k][3]);
        gradcheck(name, m, LAM_LOSS_MSE, 2, smooth);
        lam_model_free(m);
    }
    int sizes[][2] = {{2, 2}, {1, 3}, {3, 2}};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        lam_layer_spec s = lam_layer_defaults(LAM_LAYER_UPSAMPLING2D);
        s.size[0] = sizes[k][0];
        s.size[1] = sizes[k][1];
        lam_model *m = one_layer(3, (int64_t[]){2, 3, 2}, &s);
        lam_layer_spec conv = lam_layer_defaults(LAM_LAYER_CONV2D);
        conv.units = 2;
        conv.kernel[0] = conv.kernel[1] = 2;
        conv.activation = LAM_ACT_TANH;
        CHECK_OK(lam_model_add(m, &conv));
        CHECK_OK(lam_model_add_flatten(m));
        char name[64];
        snprintf(name, sizeof name, "UpSampling2D (%d, %d) + Conv2D", sizes[k][0], sizes[k][1]);
        gradcheck(name, m, LAM_LOSS_MSE, 2, smooth);
        lam_model_free(m);
    }
}

/* ------------------------------------------------------------- fixtures */

/* Copies a fixture into weight tensor t of m, checking its size. */
static void set_tensor(lam_model *m, int t, const char *fixture)
{
    long count;
    float *data = fixture_load(fixture, &count);
    lam_tensor_info ti;
    CHECK_OK(lam_model_tensor(m, t, &ti));
    CHECK(data && ti.count == count, "%s: %ld values for tensor %s of %lld", fixture, count,
          ti.name, (long long)ti.count);
    if (data && ti.count == count) memcpy(ti.data, data, sizeof(float) * (size_t)count);
    free(data);
}

static void compare(const char *what, const float *got, const char *fixture, long expect_count)
{
    long count;
    float *want = fixture_load(fixture, &count);
    CHECK(want && count == expect_count, "%s: fixture %s has %ld values, expected %ld", what,
          fixture, count, expect_count);
    if (!want || count != expect_count) {
        free(want);
        return;
    }
    double worst = 0;
    for (long i = 0; i < count; i++) worst = fmax(worst, fabs((double)got[i] - want[i]));
    CHECK(worst <= 1e-5, "%s: max |lamina - Keras| = %.3g against %s", what, worst, fixture);
    worst_fixture = fmax(worst_fixture, worst);
    printf("%-48s max |lamina - Keras| %.2e\n", what, worst);
    free(want);
}

/* Compiles m for a batch, loads the input fixture and runs one forward. */
static const float *forward_fixture(lam_model *m, const char *x_fixture, int batch, lam_mode mode)
{
    long n;
    float *x = fixture_load(x_fixture, &n);
    CHECK(x && n == batch * lam_model_input_size(m), "%s: %ld values", x_fixture, n);
    if (x && n == batch * lam_model_input_size(m))
        memcpy(lam_model_input_buffer(m, 0), x, sizeof(float) * (size_t)n);
    free(x);
    CHECK_OK(lam_forward(m, batch, mode));
    return lam_model_output(m, 0);
}

static void check_bn_fixtures(void)
{
    struct { const char *prefix; int axis; float momentum; bool center; int C; } cases[] = {
        {"bn", -1, 0.9f, true, 4},
        {"bn_axis1", 1, 0.99f, false, 3},
    };
    for (size_t k = 0; k < 2; k++) {
        lam_layer_spec s = lam_layer_defaults(LAM_LAYER_BATCH_NORM);
        s.axis = cases[k].axis;
        s.momentum = cases[k].momentum;
        s.center = cases[k].center;
        lam_model *m = compiled(one_layer(3, (int64_t[]){3, 2, 4}, &s), 6);
        const char *names[4] = {"gamma", "beta", "moving_mean", "moving_variance"};
        const bool trainable[4] = {true, true, false, false};
        int t = 0;
        for (int w = 0; w < 4; w++) {
            if (w == 1 && !cases[k].center) continue;
            /* Keras's weight order, names and trainability. */
            lam_tensor_info ti;
            CHECK_OK(lam_model_tensor(m, t, &ti));
            char want[64], file[64];
            snprintf(want, sizeof want, "batch_normalization/%s", names[w]);
            CHECK(strcmp(ti.name, want) == 0 && ti.trainable == trainable[w] &&
                      ti.count == cases[k].C, "tensor %d is %s (trainable %d, %lld values)", t,
                  ti.name, ti.trainable, (long long)ti.count);
            snprintf(file, sizeof file, "%s_%s.npy", cases[k].prefix, names[w]);
            set_tensor(m, t++, file);
        }
        CHECK(lam_model_num_tensors(m) == t, "%d tensors", lam_model_num_tensors(m));
        char what[96], file[64];
        snprintf(what, sizeof what, "%s: training output", cases[k].prefix);
        snprintf(file, sizeof file, "%s_train_out.npy", cases[k].prefix);
        compare(what, forward_fixture(m, "bn_x.npy", 6, LAM_MODE_TRAIN), file, 144);
        const float *state = lam_model_state(m);
        const int C = cases[k].C;
        snprintf(what, sizeof what, "%s: moving mean after it", cases[k].prefix);
        snprintf(file, sizeof file, "%s_moving_mean_after.npy", cases[k].prefix);
        compare(what, state, file, C);
        snprintf(what, sizeof what, "%s: moving variance after it", cases[k].prefix);
        snprintf(file, sizeof file, "%s_moving_variance_after.npy", cases[k].prefix);
        compare(what, state + C, file, C);
        snprintf(what, sizeof what, "%s: inference output", cases[k].prefix);
        snprintf(file, sizeof file, "%s_infer_out.npy", cases[k].prefix);
        compare(what, forward_fixture(m, "bn_x.npy", 6, LAM_MODE_INFER), file, 144);
        /* The optimizer leaves the moving statistics alone. */
        float before[8];
        memcpy(before, state, sizeof(float) * 2 * C);
        for (int64_t i = 0; i < lam_model_param_count(m); i++) lam_model_grads(m)[i] = 1.0f;
        CHECK_OK(lam_optimizer_update(m, 0.1f));
        CHECK(memcmp(before, lam_model_state(m), sizeof(float) * 2 * C) == 0,
              "an optimizer step changed the moving statistics");
        lam_model_free(m);
    }
}

static void check_ln_fixtures(void)
{
    const char *prefix[2] = {"ln", "ln_axis1"};
    const int axis[2] = {-1, 1};
    for (int k = 0; k < 2; k++) {
        lam_layer_spec s = lam_layer_defaults(LAM_LAYER_LAYER_NORM);
        s.axis = axis[k];
        lam_model *m = compiled(one_layer(2, (int64_t[]){4, 6}, &s), 3);
        char file[64], what[64];
        snprintf(file, sizeof file, "%s_gamma.npy", prefix[k]);
        set_tensor(m, 0, file);
        snprintf(file, sizeof file, "%s_beta.npy", prefix[k]);
        set_tensor(m, 1, file);
        snprintf(file, sizeof file, "%s_out.npy", prefix[k]);
        snprintf(what, sizeof what, "%s: output", prefix[k]);
        compare(what, forward_fixture(m, "ln_x.npy", 3, LAM_MODE_INFER), file, 72);
        lam_model_free(m);
    }
}

static void check_1d_fixtures(void)
{
    lam_layer_spec s = lam_layer_defaults(LAM_LAYER_CONV1D);
    s.units = 4;
    s.kernel[0] = 3;
    s.strides[0] = 2;
    s.padding = LAM_PAD_SAME;
    s.activation = LAM_ACT_RELU;
    lam_model *m = compiled(one_layer(2, (int64_t[]){9, 3}, &s), 2);
    set_tensor(m, 0, "conv1d_same_kernel.npy");
    set_tensor(m, 1, "conv1d_same_bias.npy");
    compare("Conv1D same stride 2 relu", forward_fixture(m, "conv1d_x.npy", 2, LAM_MODE_INFER),
            "conv1d_same_out.npy", 40);
    lam_model_free(m);

    s = lam_layer_defaults(LAM_LAYER_CONV1D);
    s.units = 2;
    s.kernel[0] = 4;
    s.activation = LAM_ACT_TANH;
    s.use_bias = false;
    m = compiled(one_layer(2, (int64_t[]){9, 3}, &s), 2);
    set_tensor(m, 0, "conv1d_valid_kernel.npy");
    compare("Conv1D valid tanh no bias", forward_fixture(m, "conv1d_x.npy", 2, LAM_MODE_INFER),
            "conv1d_valid_out.npy", 24);
    lam_model_free(m);

    struct { lam_layer_kind kind; int p, st; lam_padding pad; const char *file; long n; } pools[] = {
        {LAM_LAYER_MAXPOOL1D, 3, 2, LAM_PAD_SAME, "pool1d_max_same_out.npy", 30},
        {LAM_LAYER_AVGPOOL1D, 2, 0, LAM_PAD_VALID, "pool1d_avg_valid_out.npy", 24},
        {LAM_LAYER_AVGPOOL1D, 3, 2, LAM_PAD_SAME, "pool1d_avg_same_out.npy", 30},
    };
    for (size_t k = 0; k < sizeof pools / sizeof pools[0]; k++) {
        s = lam_layer_defaults(pools[k].kind);
        s.pool[0] = pools[k].p;
        s.strides[0] = pools[k].st;
        s.padding = pools[k].pad;
        m = compiled(one_layer(2, (int64_t[]){9, 3}, &s), 2);
        compare(pools[k].file, forward_fixture(m, "conv1d_x.npy", 2, LAM_MODE_INFER),
                pools[k].file, pools[k].n);
        lam_model_free(m);
    }
    struct { lam_layer_kind kind; const char *x; int rank; int64_t shape[3]; const char *file; } g[] = {
        {LAM_LAYER_GLOBAL_AVGPOOL1D, "conv1d_x.npy", 2, {9, 3}, "global_avg1d_out.npy"},
        {LAM_LAYER_GLOBAL_MAXPOOL1D, "conv1d_x.npy", 2, {9, 3}, "global_max1d_out.npy"},
        {LAM_LAYER_GLOBAL_AVGPOOL2D, "global_x2d.npy", 3, {5, 4, 3}, "global_avg2d_out.npy"},
        {LAM_LAYER_GLOBAL_MAXPOOL2D, "global_x2d.npy", 3, {5, 4, 3}, "global_max2d_out.npy"},
    };
    for (size_t k = 0; k < sizeof g / sizeof g[0]; k++) {
        s = lam_layer_defaults(g[k].kind);
        m = compiled(one_layer(g[k].rank, g[k].shape, &s), 2);
        compare(g[k].file, forward_fixture(m, g[k].x, 2, LAM_MODE_INFER), g[k].file, 6);
        lam_model_free(m);
    }
}

static void check_resize_fixtures(void)
{
    lam_layer_spec s = lam_layer_defaults(LAM_LAYER_ZERO_PADDING2D);
    memcpy(s.pad, (int[]){1, 2, 0, 3}, sizeof s.pad);
    lam_model *m = compiled(one_layer(3, (int64_t[]){5, 4, 3}, &s), 2);
    compare("ZeroPadding2D (1, 2, 0, 3)", forward_fixture(m, "global_x2d.npy", 2, LAM_MODE_INFER),
            "zero_padding2d_out.npy", 2 * 8 * 7 * 3);
    lam_model_free(m);
    s = lam_layer_defaults(LAM_LAYER_UPSAMPLING2D);
    s.size[0] = 2;
    s.size[1] = 3;
    m = compiled(one_layer(3, (int64_t[]){5, 4, 3}, &s), 2);
    compare("UpSampling2D (2, 3)", forward_fixture(m, "global_x2d.npy", 2, LAM_MODE_INFER),
            "up_sampling2d_out.npy", 2 * 10 * 12 * 3);
    lam_model_free(m);
}

/* --------------------------------------------------- counts and summary */

static void check_param_counts(void)
{
    /* The layers of param_cases() in tests/make_layer_fixtures.py, in order. */
    struct { lam_layer_kind kind; int rank; int64_t shape[3]; int axis, units, kernel; bool center, scale, bias; } cases[] = {
        {LAM_LAYER_BATCH_NORM, 3, {3, 2, 4}, -1, 0, 0, true, true, true},
        {LAM_LAYER_BATCH_NORM, 1, {5}, -1, 0, 0, false, false, true},
        {LAM_LAYER_BATCH_NORM, 3, {3, 2, 4}, 1, 0, 0, true, true, true},
        {LAM_LAYER_LAYER_NORM, 2, {4, 6}, -1, 0, 0, true, true, true},
        {LAM_LAYER_LAYER_NORM, 2, {4, 6}, 1, 0, 0, false, true, true},
        {LAM_LAYER_CONV1D, 2, {9, 3}, -1, 4, 3, true, true, true},
        {LAM_LAYER_CONV1D, 2, {9, 3}, -1, 5, 2, true, true, false},
        {LAM_LAYER_MAXPOOL1D, 2, {9, 3}, -1, 0, 0, true, true, true},
        {LAM_LAYER_GLOBAL_AVGPOOL2D, 3, {5, 4, 3}, -1, 0, 0, true, true, true},
        {LAM_LAYER_ZERO_PADDING2D, 3, {5, 4, 3}, -1, 0, 0, true, true, true},
        {LAM_LAYER_UPSAMPLING2D, 3, {5, 4, 3}, -1, 0, 0, true, true, true},
    };
    const long ncases = (long)(sizeof cases / sizeof cases[0]);
    long n;
    float *want = fixture_load("layer_param_counts.npy", &n);
    CHECK(want && n == 2 * ncases, "layer_param_counts.npy: %ld values, expected %ld", n,
          2 * ncases);
    if (!want || n != 2 * ncases) {
        free(want);
        return;
    }
    for (long k = 0; k < ncases; k++) {
        lam_layer_spec s = lam_layer_defaults(cases[k].kind);
        s.axis = cases[k].axis;
        s.center = cases[k].center;
        s.scale = cases[k].scale;
        s.use_bias = cases[k].bias;
        if (cases[k].units) s.units = cases[k].units;
        if (cases[k].kernel) s.kernel[0] = cases[k].kernel;
        lam_model *m = one_layer(cases[k].rank, cases[k].shape, &s);
        CHECK(lam_model_param_count(m) == (int64_t)want[2 * k] &&
                  lam_model_state_count(m) == (int64_t)want[2 * k + 1] &&
                  lam_model_layer_param_count(m, 1) == (int64_t)(want[2 * k] + want[2 * k + 1]),
              "%s (case %ld): %lld trainable, %lld non-trainable; Keras %g, %g",
              lam_layer_kind_name(cases[k].kind), k, (long long)lam_model_param_count(m),
              (long long)lam_model_state_count(m), want[2 * k], want[2 * k + 1]);
        lam_model_free(m);
    }
    free(want);
}

static char *read_all(FILE *f)
{
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = calloc(1, (size_t)len + 1);
    if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) buf[0] = '\0';
    return buf;
}

static void check_summary(void)
{
    lam_model *m = lam_sequential("summary");
    CHECK_OK(lam_model_add_input(m, 3, (int64_t[]){8, 8, 3}));
    CHECK_OK(lam_model_add_conv2d(m, 4, 3, 3, LAM_ACT_LINEAR));
    lam_layer_spec bn = lam_layer_defaults(LAM_LAYER_BATCH_NORM);
    CHECK_OK(lam_model_add(m, &bn));
    lam_layer_spec gap = lam_layer_defaults(LAM_LAYER_GLOBAL_AVGPOOL2D);
    CHECK_OK(lam_model_add(m, &gap));
    CHECK_OK(lam_model_add_dense(m, 2, LAM_ACT_LINEAR));
    FILE *got = tmpfile(), *want = fopen("fixtures/layers_summary_keras3.txt", "rb");
    CHECK(got && want, "cannot open the summary files");
    if (got && want) {
        CHECK_OK(lam_model_summary(m, got));
        char *a = read_all(got), *b = read_all(want);
        CHECK(a && b && strcmp(a, b) == 0, "summary differs from Keras's:\n%s\nKeras:\n%s", a, b);
        free(a);
        free(b);
    }
    if (got) fclose(got);
    if (want) fclose(want);
    lam_model_free(m);
}

/* -------------------------------------------------- threads, references */

/* Forward (train) + backward of m at `batch` with nt threads: output,
 * moving statistics, parameter and input gradients, concatenated. */
static float *train_step_bits(lam_model *m, int batch, int nt, const float *x, int64_t *len)
{
    lam_set_threads(nt);
    const int64_t in = batch * lam_model_input_size(m), out = batch * lam_model_output_size(m);
    const int64_t np = lam_model_param_count(m), ns = lam_model_state_count(m);
    memcpy(lam_model_input_buffer(m, 0), x, sizeof(float) * (size_t)in);
    for (int64_t i = 0; i < ns; i++) lam_model_state(m)[i] = (float)(i % 3) * 0.25f + 0.5f;
    CHECK_OK(lam_forward(m, batch, LAM_MODE_TRAIN));
    float *dy = lam_model_output_grad(m, 0);
    for (int64_t i = 0; i < out; i++) dy[i] = (float)((i * 7919) % 13) / 13.0f - 0.4f;
    float *bits = malloc(sizeof(float) * (size_t)(out + ns + np + in));
    memcpy(bits, lam_model_output(m, 0), sizeof(float) * (size_t)out);
    CHECK_OK(lam_backward(m, batch, true));
    memcpy(bits + out, lam_model_state(m), sizeof(float) * (size_t)ns);
    memcpy(bits + out + ns, lam_model_grads(m), sizeof(float) * (size_t)np);
    memcpy(bits + out + ns + np, lam_model_input_grad(m, 0), sizeof(float) * (size_t)in);
    *len = out + ns + np + in;
    return bits;
}

static void check_threads_and_reference(void)
{
    const int saved = lam_get_threads(), batch = 16;
    struct { lam_layer_kind kind; int rank; int64_t shape[3]; int axis; } cases[] = {
        {LAM_LAYER_BATCH_NORM, 3, {16, 16, 32}, -1}, /* 131072 values: the chunked path */
        {LAM_LAYER_BATCH_NORM, 3, {16, 16, 32}, 2},
        {LAM_LAYER_LAYER_NORM, 2, {64, 48}, -1},
        {LAM_LAYER_LAYER_NORM, 2, {64, 48}, 1},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        lam_layer_spec s = lam_layer_defaults(cases[k].kind);
        s.axis = cases[k].axis;
        lam_model *m = compiled(one_layer(cases[k].rank, cases[k].shape, &s), batch);
        for (int64_t i = 0; i < lam_model_param_count(m); i++)
            lam_model_params(m)[i] = 0.5f + (float)(i % 5) * 0.2f;
        const int64_t in = batch * lam_model_input_size(m);
        float *x = malloc(sizeof(float) * (size_t)in);
        for (int64_t i = 0; i < in; i++) x[i] = 3.0f * test_rndf() + (float)(i % 7);
        int64_t n1, n3;
        float *one = train_step_bits(m, batch, 1, x, &n1);
        float *three = train_step_bits(m, batch, 3, x, &n3);
        CHECK(n1 == n3 && memcmp(one, three, sizeof(float) * (size_t)n1) == 0,
              "%s axis %d: results differ between 1 and 3 threads",
              lam_layer_kind_name(cases[k].kind), cases[k].axis);
        free(one);
        free(three);
        free(x);
        lam_model_free(m);
    }
    lam_set_threads(saved);

    /* The kernels against their references, on the chunked and plain paths. */
    lam_norm_shape shapes[] = {{4096, 32, 1}, {64, 8, 200}, {5, 3, 1}, {7, 4, 3}};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        const lam_norm_shape ns = shapes[k];
        const int64_t total = ns.outer * ns.C * ns.inner;
        float *x = malloc(sizeof(float) * (size_t)total), *y = malloc(sizeof(float) * (size_t)total);
        float *yr = malloc(sizeof(float) * (size_t)total);
        float *vec = malloc(sizeof(float) * (size_t)(2 * ns.outer * ns.inner));
        double *scratch = malloc(sizeof(double) * (size_t)lam_batchnorm_scratch_doubles(&ns));
        float mean[32], var[32], mr[32], vr[32], gamma[32], beta[32];
        for (int64_t i = 0; i < total; i++) x[i] = 2.0f * test_rndf() + 4.0f;
        for (int c = 0; c < ns.C; c++) {
            gamma[c] = 0.5f + 0.1f * (float)c;
            beta[c] = 0.05f * (float)c - 0.3f;
        }
        lam_batchnorm_moments(&ns, x, mean, var, scratch);
        lam_batchnorm_moments_naive(&ns, x, mr, vr);
        double worst = 0;
        for (int c = 0; c < ns.C; c++)
            worst = fmax(worst, fmax(fabs(mean[c] - mr[c]), fabs(var[c] - vr[c]) / vr[c]));
        CHECK(worst <= 1e-6, "batchnorm moments (%lld, %lld, %lld): %g from the reference",
              (long long)ns.outer, (long long)ns.C, (long long)ns.inner, worst);
        lam_layernorm_forward(&ns, x, gamma, beta, 1e-3f, y, vec, vec + ns.outer * ns.inner);
        lam_layernorm_forward_naive(&ns, x, gamma, beta, 1e-3f, yr);
        worst = 0;
        for (int64_t i = 0; i < total; i++) worst = fmax(worst, fabs(y[i] - yr[i]));
        CHECK(worst <= 1e-5, "layernorm forward (%lld, %lld, %lld): %g from the reference",
              (long long)ns.outer, (long long)ns.C, (long long)ns.inner, worst);
        free(x);
        free(y);
        free(yr);
        free(vec);
        free(scratch);
    }
}

/* --------------------------------------------------------------- errors */

static void check_errors(void)
{
    lam_model *m = model_with_input(3, (int64_t[]){3, 2, 4});
    lam_layer_spec s = lam_layer_defaults(LAM_LAYER_BATCH_NORM);
    s.axis = 0;
    CHECK_FAILS(lam_model_add(m, &s), LAM_ERR_ARG,
                "layer \"batch_normalization\" (BatchNormalization): axis 0");
    s.axis = 4;
    CHECK_FAILS(lam_model_add(m, &s), LAM_ERR_ARG, "axis 4 does not name a feature axis");
    s.axis = -4;
    CHECK_FAILS(lam_model_add(m, &s), LAM_ERR_ARG, "expected 1 to 3 or -1 to -3");
    s.axis = -1;
    s.epsilon = 0.0f;
    CHECK_FAILS(lam_model_add(m, &s), LAM_ERR_ARG, "(BatchNormalization): epsilon 0");
    s.epsilon = -1e-3f;
    CHECK_FAILS(lam_model_add(m, &s), LAM_ERR_ARG, "expected a finite value > 0");
    s.epsilon = 1e-3f;
    s.momentum = 1.0f;
    CHECK_FAILS(lam_model_add(m, &s), LAM_ERR_ARG, "(BatchNormalization): momentum 1");
    s.momentum = -0.1f;
    CHECK_FAILS(lam_model_add(m, &s), LAM_ERR_ARG, "expected 0 <= momentum < 1");
    s = lam_layer_defaults(LAM_LAYER_LAYER_NORM);
    s.axis = 5;
    CHECK_FAILS(lam_model_add(m, &s), LAM_ERR_ARG,
                "layer \"layer_normalization\" (LayerNormalization): axis 5");
    s.axis = -1;
    s.epsilon = 0.0f;
    CHECK_FAILS(lam_model_add(m, &s), LAM_ERR_ARG, "(LayerNormalization): epsilon 0");
    /* 1-D layers on a rank-3 input. */
    lam_layer_kind one_d[] = {LAM_LAYER_CONV1D, LAM_LAYER_MAXPOOL1D, LAM_LAYER_AVGPOOL1D,
                              LAM_LAYER_GLOBAL_AVGPOOL1D, LAM_LAYER_GLOBAL_MAXPOOL1D};
    for (size_t k = 0; k < sizeof one_d / sizeof one_d[0]; k++) {
        s = lam_layer_defaults(one_d[k]);
        s.units = 2;
        char needle[96];
        snprintf(needle, sizeof needle, "(%s): input has rank 3 (shape per sample), expected 2",
                 lam_layer_kind_name(one_d[k]));
        CHECK_FAILS(lam_model_add(m, &s), LAM_ERR_SHAPE, needle);
    }
    lam_model_free(m);
    /* 2-D layers on a rank-2 input. */
    m = model_with_input(2, (int64_t[]){9, 3});
    lam_layer_kind two_d[] = {LAM_LAYER_GLOBAL_AVGPOOL2D, LAM_LAYER_GLOBAL_MAXPOOL2D,
                              LAM_LAYER_ZERO_PADDING2D, LAM_LAYER_UPSAMPLING2D};
    for (size_t k = 0; k < sizeof two_d / sizeof two_d[0]; k++) {
        s = lam_layer_defaults(two_d[k]);
        char needle[96];
        snprintf(needle, sizeof needle, "(%s): input has rank 2 (shape per sample), expected 3",
                 lam_layer_kind_name(two_d[k]));
        CHECK_FAILS(lam_model_add(m, &s), LAM_ERR_SHAPE, needle);
    }
    s = lam_layer_defaults(LAM_LAYER_CONV1D);
    s.units = 0;
    CHECK_FAILS(lam_model_add(m, &s), LAM_ERR_ARG, "layer \"conv1d\" (Conv1D): filters is 0");
    s.units = 2;
    s.kernel[0] = 10;
    CHECK_FAILS(lam_model_add(m, &s), LAM_ERR_SHAPE,
                "(Conv1D): window 10 is longer than its input of 9 steps");
    s.kernel[0] = 3;
    s.strides[0] = 0;
    CHECK_FAILS(lam_model_add(m, &s), LAM_ERR_ARG, "(Conv1D): window 3, strides 0");
    s = lam_layer_defaults(LAM_LAYER_MAXPOOL1D);
    s.pool[0] = 0;
    CHECK_FAILS(lam_model_add(m, &s), LAM_ERR_ARG,
                "layer \"max_pooling1d\" (MaxPooling1D): window 0");
    lam_model_free(m);
    m = model_with_input(3, (int64_t[]){4, 4, 2});
    s = lam_layer_defaults(LAM_LAYER_ZERO_PADDING2D);
    s.pad[2] = -1;
    CHECK_FAILS(lam_model_add(m, &s), LAM_ERR_ARG,
                "layer \"zero_padding2d\" (ZeroPadding2D): padding left is -1");
    s = lam_layer_defaults(LAM_LAYER_UPSAMPLING2D);
    s.size[1] = 0;
    CHECK_FAILS(lam_model_add(m, &s), LAM_ERR_ARG,
                "layer \"up_sampling2d\" (UpSampling2D): size (2, 0)");
    /* After all these refusals the model still takes a good layer. */
    s = lam_layer_defaults(LAM_LAYER_UPSAMPLING2D);
    CHECK_OK(lam_model_add(m, &s));
    int64_t shape[4];
    CHECK(lam_model_layer_output_shape(m, 1, shape) == 3 && shape[0] == 8 && shape[1] == 8 &&
              shape[2] == 2, "UpSampling2D output shape");
    lam_model_free(m);
}

int main(void)
{
    check_bn_gradients();
    check_bn_infer_grad();
    check_norm_double();
    check_ln_gradients();
    check_conv1d_gradients();
    check_pool_gradients();
    check_resize_gradients();
    check_bn_fixtures();
    check_ln_fixtures();
    check_1d_fixtures();
    check_resize_fixtures();
    printf("worst fixture error %.2e\n", worst_fixture);
    check_param_counts();
    check_summary();
    check_threads_and_reference();
    check_errors();
    return test_summary("test_norm_layers");
}
