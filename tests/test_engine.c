/* test_engine.c - the engine against references: optimised kernels against
 * naive ones, Keras's forward results and Adam steps, a toy problem that
 * must be learnt, reproducibility, and the builder's refusals. */
#include "core/model.h"
#include "fixture.h"
#include "kernels/conv.h"
#include "test.h"

#include <string.h>

static lam_rng rng;

static void fill(float *v, int64_t n)
{
    for (int64_t i = 0; i < n; i++) v[i] = (float)(2 * lam_rng_uniform(&rng) - 1);
}

static double max_abs_diff(const float *a, const float *b, int64_t n)
{
    double w = 0;
    for (int64_t i = 0; i < n; i++) w = fmax(w, fabs((double)a[i] - b[i]));
    return w;
}

/* The im2col + GEMM path of Conv2D against the direct naive convolution. */
static void conv_against_naive(void)
{
    struct { int H, W, C, F, kh, kw, sh, sw; lam_padding pad; } cases[] = {
        {28, 28, 1, 32, 3, 3, 1, 1, LAM_PAD_VALID}, {13, 13, 32, 64, 3, 3, 1, 1, LAM_PAD_VALID},
        {9, 7, 3, 5, 3, 3, 2, 2, LAM_PAD_SAME},     {8, 8, 4, 6, 5, 5, 1, 1, LAM_PAD_SAME},
        {6, 9, 2, 3, 2, 4, 3, 2, LAM_PAD_SAME},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const int N = 3;
        lam_model *m = lam_sequential(NULL);
        CHECK_OK(lam_model_add_input(m, 3, (int64_t[]){cases[k].H, cases[k].W, cases[k].C}));
        lam_layer_spec s = lam_layer_defaults(LAM_LAYER_CONV2D);
        s.units = cases[k].F;
        s.kernel[0] = cases[k].kh;
        s.kernel[1] = cases[k].kw;
        s.strides[0] = cases[k].sh;
        s.strides[1] = cases[k].sw;
        s.padding = cases[k].pad;
        CHECK_OK(lam_model_add(m, &s));
        lam_optimizer o = lam_sgd();
        CHECK_OK(lam_model_compile(m, &o, LAM_LOSS_MSE));
        fill(m->params, m->nparams);
        const int64_t in = m->nodes[0].out.size, out = m->nodes[1].out.size;
        float *x = malloc(sizeof(float) * (size_t)(N * in));
        float *y = malloc(sizeof(float) * (size_t)(N * out));
        float *ref = malloc(sizeof(float) * (size_t)(N * out));
        fill(x, N * in);
        /* Twice, with new weights written in place the second time: what
         * an op keeps between calls (Winograd's transformed kernel) must
         * follow the weights. */
        for (int round = 0; round < 2; round++) {
            if (round) fill(m->params, m->nparams);
            CHECK_OK(lam_predict_raw(m, x, N, y));
            lam_window g = {N, cases[k].H, cases[k].W, cases[k].C, cases[k].kh, cases[k].kw,
                            cases[k].sh, cases[k].sw, 0, 0, (int)m->nodes[1].out.dim[0],
                            (int)m->nodes[1].out.dim[1]};
            if (cases[k].pad == LAM_PAD_SAME) {
                int ph = (g.OH - 1) * g.SH + g.KH - g.H, pw = (g.OW - 1) * g.SW + g.KW - g.W;
                g.PT = ph > 0 ? ph / 2 : 0;
                g.PL = pw > 0 ? pw / 2 : 0;
            }
            lam_conv2d_naive(&g, x, m->params, m->params + m->nodes[1].tensors[0].count,
                             cases[k].F, ref);
            double d = max_abs_diff(y, ref, N * out);
            CHECK(d < 1e-4, "conv case %zu, round %d: max |fast - naive| = %g", k, round, d);
        }
        free(x);
        free(y);
        free(ref);
        lam_model_free(m);
    }
}

/* Conv2D(same, stride 2, relu) -> MaxPooling2D -> Flatten -> Dense against
 * Keras's own outputs for the same weights. */
static void keras_cnn_parity(void)
{
    long n;
    float *x = fixture_load("cnn_x.npy", &n), *ck = fixture_load("cnn_conv_kernel.npy", NULL),
          *cb = fixture_load("cnn_conv_bias.npy", NULL),
          *dk = fixture_load("cnn_dense_kernel.npy", NULL),
          *db = fixture_load("cnn_dense_bias.npy", NULL), *want = fixture_load("cnn_out.npy", NULL),
          *want_pool = fixture_load("cnn_pool_out.npy", NULL);
    CHECK(x && ck && cb && dk && db && want && want_pool, "fixtures missing");
    if (!(x && ck && cb && dk && db && want && want_pool)) return;
    lam_model *m = lam_sequential(NULL);
    CHECK_OK(lam_model_add_input(m, 3, (int64_t[]){8, 7, 2}));
    lam_layer_spec s = lam_layer_defaults(LAM_LAYER_CONV2D);
    s.units = 4;
    s.strides[0] = s.strides[1] = 2;
    s.padding = LAM_PAD_SAME;
    s.activation = LAM_ACT_RELU;
    CHECK_OK(lam_model_add(m, &s));
    CHECK_OK(lam_model_add_maxpool2d(m, 2, 2));
    CHECK_OK(lam_model_add_flatten(m));
    CHECK_OK(lam_model_add_dense(m, 3, LAM_ACT_LINEAR));
    lam_optimizer o = lam_adam();
    CHECK_OK(lam_model_compile(m, &o, LAM_LOSS_MSE));
    lam_tensor_info t[4];
    for (int i = 0; i < 4; i++) CHECK_OK(lam_model_tensor(m, i, &t[i]));
    CHECK(strcmp(t[0].name, "conv2d/kernel") == 0, "first tensor is %s", t[0].name);
    memcpy(t[0].data, ck, sizeof(float) * 3 * 3 * 2 * 4);
    memcpy(t[1].data, cb, sizeof(float) * 4);
    memcpy(t[2].data, dk, sizeof(float) * 16 * 3);
    memcpy(t[3].data, db, sizeof(float) * 3);
    float y[6];
    CHECK_OK(lam_predict_raw(m, x, 2, y));
    double d = max_abs_diff(y, want, 6);
    CHECK(d < 1e-5, "CNN output differs from Keras by %g", d);
    d = max_abs_diff(m->nodes[2].value, want_pool, 2 * 2 * 2 * 4);
    CHECK(d < 1e-5, "pooled activations differ from Keras by %g", d);
    lam_model_free(m);
    free(x); free(ck); free(cb); free(dk); free(db); free(want); free(want_pool);
}

/* Three Adam steps against Keras, and the first against the formula by hand. */
static void adam_steps(void)
{
    float *p0 = fixture_load("adam_p0.npy", NULL), *g = fixture_load("adam_grads.npy", NULL),
          *want = fixture_load("adam_params.npy", NULL);
    CHECK(p0 && g && want, "adam fixtures missing");
    if (!(p0 && g && want)) return;
    lam_model *m = lam_sequential(NULL);
    CHECK_OK(lam_model_add_input(m, 1, (int64_t[]){1}));
    CHECK_OK(lam_model_add_dense(m, 4, LAM_ACT_LINEAR)); /* 4 + 4 = 8 parameters */
    lam_optimizer o = lam_adam();
    CHECK_OK(lam_model_compile(m, &o, LAM_LOSS_MSE));
    CHECK(m->nparams == 8, "nparams %lld", (long long)m->nparams);
    memcpy(m->params, p0, sizeof(float) * 8);
    for (int t = 0; t < 3; t++) {
        memcpy(m->grads, g + 8 * t, sizeof(float) * 8);
        lam_optimizer_update(m, lam_model_learning_rate(m));
        double d = max_abs_diff(m->params, want + 8 * t, 8);
        CHECK(d < 2e-6, "Adam step %d differs from Keras by %g", t + 1, d);
    }
    /* By hand, t = 1: m = 0.1 g, v = 0.001 g^2, alpha = lr sqrt(0.001)/0.1. */
    memcpy(m->params, p0, sizeof(float) * 8);
    memset(m->slots[0], 0, sizeof(float) * 8);
    memset(m->slots[1], 0, sizeof(float) * 8);
    m->step = 0;
    memcpy(m->grads, g, sizeof(float) * 8);
    lam_optimizer_update(m, lam_model_learning_rate(m));
    for (int i = 0; i < 8; i++) {
        double mm = 0.1 * g[i], vv = 0.001 * (double)g[i] * g[i];
        double alpha = 1e-3 * sqrt(1 - 0.999) / (1 - 0.9);
        double expect = p0[i] - alpha * mm / (sqrt(vv) + 1e-7);
        CHECK_NEAR(m->params[i], expect, 1e-6);
    }
    lam_model_free(m);
    free(p0); free(g); free(want);
}

/* SGD with momentum and Nesterov, RMSprop: one step each by hand. */
static void other_optimizers(void)
{
    struct { lam_optimizer o; } cases[3];
    cases[0].o = lam_sgd();
    cases[0].o.momentum = 0.9f;
    cases[1].o = lam_sgd();
    cases[1].o.momentum = 0.9f;
    cases[1].o.nesterov = true;
    cases[2].o = lam_rmsprop();
    for (int k = 0; k < 3; k++) {
        lam_model *m = lam_sequential(NULL);
        CHECK_OK(lam_model_add_input(m, 1, (int64_t[]){1}));
        CHECK_OK(lam_model_add_dense(m, 1, LAM_ACT_LINEAR));
        CHECK_OK(lam_model_compile(m, &cases[k].o, LAM_LOSS_MSE));
        m->params[0] = 1.0f;
        m->params[1] = 0.5f;
        for (int step = 0; step < 2; step++) {
            m->grads[0] = 0.2f;
            m->grads[1] = -0.4f;
            lam_optimizer_update(m, lam_model_learning_rate(m));
        }
        /* Two steps of constant gradient g from p: */
        double g0 = 0.2, lr = cases[k].o.learning_rate, expect;
        if (k == 0) { /* v1 = -lr g, v2 = 0.9 v1 - lr g; p += v1 + v2 */
            double v1 = -lr * g0, v2 = 0.9 * v1 - lr * g0;
            expect = 1.0 + v1 + v2;
        } else if (k == 1) { /* p += mu v - lr g at each step */
            double v1 = -lr * g0, v2 = 0.9 * v1 - lr * g0;
            expect = 1.0 + (0.9 * v1 - lr * g0) + (0.9 * v2 - lr * g0);
        } else { /* v = 0.1 g^2, then 0.19 g^2; p -= lr g / sqrt(v + eps) */
            double v1 = 0.1 * g0 * g0, v2 = 0.9 * v1 + 0.1 * g0 * g0;
            expect = 1.0 - lr * g0 / sqrt(v1 + 1e-7) - lr * g0 / sqrt(v2 + 1e-7);
        }
        CHECK_NEAR(m->params[0], expect, 1e-6);
        lam_model_free(m);
    }
}

/* Two interleaved spirals' easier cousin: 4 Gaussian blobs in 2-D. */
static lam_dataset *blobs(int n, uint64_t seed)
{
    lam_dataset *ds;
    if (lam_dataset_create(&ds, LAM_F32, n, 1, (int64_t[]){2}, true, 0) != LAM_OK) return NULL;
    lam_rng r;
    lam_rng_seed(&r, seed);
    float *x = lam_dataset_x(ds);
    int32_t *y = lam_dataset_labels(ds);
    const float cx[4] = {-1, 1, -1, 1}, cy[4] = {-1, -1, 1, 1};
    for (int i = 0; i < n; i++) {
        int c = (int)lam_rng_below(&r, 4);
        y[i] = c;
        x[2 * i] = cx[c] + 0.3f * (float)lam_rng_normal(&r);
        x[2 * i + 1] = cy[c] + 0.3f * (float)lam_rng_normal(&r);
    }
    return ds;
}

static lam_model *toy_model(uint64_t seed)
{
    lam_model *m = lam_sequential("toy");
    lam_model_set_seed(m, seed);
    lam_model_add_input(m, 1, (int64_t[]){2});
    lam_model_add_dense(m, 16, LAM_ACT_RELU);
    lam_model_add_dropout(m, 0.1f);
    lam_model_add_dense(m, 4, LAM_ACT_SOFTMAX);
    lam_optimizer o = lam_adam();
    o.learning_rate = 0.01f;
    lam_model_compile(m, &o, LAM_LOSS_SPARSE_CATEGORICAL_CE);
    return m;
}

static void learns_toy_problem(void)
{
    lam_dataset *train = blobs(800, 1), *test = blobs(400, 2);
    lam_model *m = toy_model(5);
    lam_fit_options fo = lam_fit_defaults();
    fo.epochs = 15;
    fo.verbose = 0;
    fo.validation_split = 0.25f;
    lam_history *h = NULL;
    CHECK_OK(lam_fit(m, train, &fo, &h));
    CHECK(h && h->epochs == 15, "history has %d epochs", h ? h->epochs : -1);
    if (h && h->epochs == 15) {
        CHECK(h->log[14].loss < h->log[0].loss, "loss did not fall: %g -> %g", h->log[0].loss,
              h->log[14].loss);
        CHECK(h->log[14].has_val && h->log[14].val_accuracy > 0.95, "val_accuracy %g",
              h->log[14].val_accuracy);
        CHECK(h->log[0].seconds > 0, "epoch time not recorded");
    }
    lam_eval_result r, r256;
    CHECK_OK(lam_evaluate(m, test, 32, 0, &r));
    CHECK(r.accuracy > 0.95, "test accuracy %g on separable blobs", r.accuracy);
    /* A larger batch is evaluated in pieces of the planned 32: same figures. */
    CHECK_OK(lam_evaluate(m, test, 256, 0, &r256));
    CHECK(r256.loss == r.loss && r256.accuracy == r.accuracy,
          "evaluate at batch 256: loss %.17g vs %.17g at 32", r256.loss, r.loss);
    CHECK(m->planned_batch == 32, "evaluate grew the plan to %d", m->planned_batch);
    /* predict agrees with evaluate's accuracy. */
    float *p = malloc(sizeof(float) * 400 * 4);
    CHECK_OK(lam_predict(m, test, 64, p));
    int right = 0;
    for (int i = 0; i < 400; i++) {
        int best = 0;
        for (int j = 1; j < 4; j++)
            if (p[i * 4 + j] > p[i * 4 + best]) best = j;
        right += best == lam_dataset_labels(test)[i];
        double s = p[i * 4] + p[i * 4 + 1] + p[i * 4 + 2] + p[i * 4 + 3];
        if (i < 5) CHECK_NEAR(s, 1.0, 1e-5);
    }
    CHECK_NEAR((double)right / 400, r.accuracy, 1e-12);
    free(p);
    lam_history_free(h);
    lam_model_free(m);
    lam_dataset_free(train);
    lam_dataset_free(test);
}

/* Same seed, same bits; another seed, other bits; threads do not matter. */
static void reproducible(void)
{
    lam_dataset *train = blobs(300, 3);
    float *w[3];
    for (int k = 0; k < 3; k++) {
        lam_set_threads(k == 2 ? 2 : 1);
        lam_model *m = toy_model(k == 1 ? 99 : 5);
        lam_fit_options fo = lam_fit_defaults();
        fo.epochs = 2;
        fo.verbose = 0;
        CHECK_OK(lam_fit(m, train, &fo, NULL));
        w[k] = malloc(sizeof(float) * (size_t)m->nparams);
        memcpy(w[k], m->params, sizeof(float) * (size_t)m->nparams);
        lam_model_free(m);
    }
    const size_t bytes = sizeof(float) * (2 * 16 + 16 + 16 * 4 + 4);
    CHECK(memcmp(w[0], w[2], bytes) == 0, "1 and 2 threads give different weights");
    CHECK(memcmp(w[0], w[1], bytes) != 0, "different seeds give the same weights");
    for (int k = 0; k < 3; k++) free(w[k]);
    lam_set_threads(1);
    lam_dataset_free(train);
}

/* The same for a CNN big enough that every kernel splits its work across
 * threads (GEMM blocks, activation rows, bias-gradient columns, pooling). */
static void reproducible_cnn(void)
{
    lam_dataset *ds;
    CHECK_OK(lam_dataset_create(&ds, LAM_U8, 96, 3, (int64_t[]){14, 14, 1}, true, 0));
    uint8_t *px = lam_dataset_x(ds);
    for (int64_t i = 0; i < 96 * 14 * 14; i++) px[i] = (uint8_t)lam_rng_below(&rng, 256);
    for (int i = 0; i < 96; i++) lam_dataset_labels(ds)[i] = i % 10;
    float *w[2];
    int64_t np = 0;
    for (int k = 0; k < 2; k++) {
        lam_set_threads(k + 1);
        lam_model *m = lam_sequential(NULL);
        lam_model_set_seed(m, 3);
        CHECK_OK(lam_model_add_input(m, 3, (int64_t[]){14, 14, 1}));
        CHECK_OK(lam_model_add_conv2d(m, 32, 3, 3, LAM_ACT_RELU));
        CHECK_OK(lam_model_add_maxpool2d(m, 2, 2));
        CHECK_OK(lam_model_add_conv2d(m, 64, 3, 3, LAM_ACT_TANH));
        CHECK_OK(lam_model_add_flatten(m));
        CHECK_OK(lam_model_add_dense(m, 10, LAM_ACT_SOFTMAX));
        lam_optimizer o = lam_adam();
        CHECK_OK(lam_model_compile(m, &o, LAM_LOSS_SPARSE_CATEGORICAL_CE));
        lam_fit_options fo = lam_fit_defaults();
        fo.verbose = 0;
        CHECK_OK(lam_fit(m, ds, &fo, NULL));
        np = m->nparams;
        w[k] = malloc(sizeof(float) * (size_t)np);
        memcpy(w[k], m->params, sizeof(float) * (size_t)np);
        lam_model_free(m);
    }
    CHECK(memcmp(w[0], w[1], sizeof(float) * (size_t)np) == 0,
          "a CNN trained with 1 and 2 threads has different weights");
    free(w[0]);
    free(w[1]);
    lam_set_threads(1);
    lam_dataset_free(ds);
}

static void initialisers(void)
{
    lam_model *m = lam_sequential(NULL);
    CHECK_OK(lam_model_add_input(m, 3, (int64_t[]){28, 28, 1}));
    CHECK_OK(lam_model_add_conv2d(m, 32, 3, 3, LAM_ACT_RELU));
    CHECK_OK(lam_model_add_flatten(m));
    CHECK_OK(lam_model_add_dense(m, 10, LAM_ACT_SOFTMAX));
    lam_optimizer o = lam_adam();
    CHECK_OK(lam_model_compile(m, &o, LAM_LOSS_SPARSE_CATEGORICAL_CE));
    lam_tensor_info k, b;
    CHECK_OK(lam_model_tensor(m, 0, &k));
    CHECK_OK(lam_model_tensor(m, 1, &b));
    /* glorot_uniform, conv: fan_in 9, fan_out 288 -> limit sqrt(6/297). */
    double limit = sqrt(6.0 / (9 + 288)), mx = 0, mean = 0, var = 0;
    for (int64_t i = 0; i < k.count; i++) {
        mx = fmax(mx, fabs(k.data[i]));
        mean += k.data[i];
        var += (double)k.data[i] * k.data[i];
    }
    mean /= (double)k.count;
    var /= (double)k.count;
    CHECK(mx <= limit && mx > 0.9 * limit, "max |w| %g, limit %g", mx, limit);
    CHECK(fabs(mean) < 0.02 && fabs(var - limit * limit / 3) < 0.1 * limit * limit,
          "mean %g var %g, expected 0 and %g", mean, var, limit * limit / 3);
    for (int64_t i = 0; i < b.count; i++) CHECK(b.data[i] == 0.0f, "bias %lld not zero", (long long)i);
    lam_model_free(m);
}

static void builder_refusals(void)
{
    lam_model *m = lam_sequential(NULL);
    CHECK_FAILS(lam_model_add_dense(m, 4, LAM_ACT_RELU), LAM_ERR_STATE, "before any Input");
    CHECK_OK(lam_model_add_input(m, 3, (int64_t[]){5, 5, 1}));
    CHECK_FAILS(lam_model_add_conv2d(m, 0, 3, 3, LAM_ACT_RELU), LAM_ERR_ARG, "filters is 0");
    CHECK_FAILS(lam_model_add_conv2d(m, 4, 7, 7, LAM_ACT_RELU), LAM_ERR_SHAPE,
                "larger than its input");
    CHECK_FAILS(lam_model_add_maxpool2d(m, 6, 6), LAM_ERR_SHAPE, "max_pooling2d");
    CHECK_FAILS(lam_model_add_dropout(m, 1.5f), LAM_ERR_ARG, "rate");
    CHECK_FAILS(lam_model_add_dropout(m, NAN), LAM_ERR_ARG, "dropout");
    CHECK_OK(lam_model_add_flatten(m));
    CHECK_FAILS(lam_model_add_conv2d(m, 2, 1, 1, LAM_ACT_RELU), LAM_ERR_SHAPE, "expected 3");
    CHECK_FAILS(lam_model_add_dense(m, -3, LAM_ACT_RELU), LAM_ERR_ARG, "units is -3");
    CHECK_OK(lam_model_add_dense(m, 3, LAM_ACT_SOFTMAX));
    lam_optimizer bad = lam_adam();
    bad.learning_rate = NAN;
    CHECK_FAILS(lam_model_compile(m, &bad, LAM_LOSS_SPARSE_CATEGORICAL_CE), LAM_ERR_ARG,
                "learning_rate");
    bad.learning_rate = -1;
    CHECK_FAILS(lam_model_compile(m, &bad, LAM_LOSS_SPARSE_CATEGORICAL_CE), LAM_ERR_ARG,
                "learning_rate");
    lam_dataset *ds;
    CHECK_OK(lam_dataset_create(&ds, LAM_F32, 10, 3, (int64_t[]){5, 5, 1}, true, 0));
    lam_fit_options fo = lam_fit_defaults();
    fo.verbose = 0;
    CHECK_FAILS(lam_fit(m, ds, &fo, NULL), LAM_ERR_STATE, "compile");
    lam_optimizer o = lam_adam();
    CHECK_OK(lam_model_compile(m, &o, LAM_LOSS_SPARSE_CATEGORICAL_CE));
    fo.batch_size = 0;
    CHECK_FAILS(lam_fit(m, ds, &fo, NULL), LAM_ERR_ARG, "batch_size");
    fo.batch_size = 4;
    lam_dataset_labels(ds)[7] = 3;
    CHECK_FAILS(lam_fit(m, ds, &fo, NULL), LAM_ERR_ARG, "label 3 (sample 7)");
    lam_dataset_labels(ds)[7] = 0;
    CHECK_OK(lam_fit(m, ds, &fo, NULL));
    lam_dataset *wrong;
    CHECK_OK(lam_dataset_create(&wrong, LAM_F32, 10, 2, (int64_t[]){4, 4}, true, 0));
    CHECK_FAILS(lam_fit(m, wrong, &fo, NULL), LAM_ERR_SHAPE, "(5, 5, 1)");
    fo.validation_split = 1.0f;
    CHECK_FAILS(lam_fit(m, ds, &fo, NULL), LAM_ERR_ARG, "validation_split");
    lam_dataset_free(ds);
    lam_dataset_free(wrong);
    lam_model_free(m);
}

/* A learning rate that blows up stops the run, naming epoch and step, and
 * leaves the last good weights. */
static void non_finite_stops(void)
{
    lam_dataset *train = blobs(200, 4);
    float *x = lam_dataset_x(train);
    x[2 * 37] = INFINITY;
    lam_model *m = toy_model(5);
    lam_fit_options fo = lam_fit_defaults();
    fo.verbose = 0;
    fo.shuffle = false;
    fo.epochs = 2;
    CHECK_FAILS(lam_fit(m, train, &fo, NULL), LAM_ERR_NUMERIC, "epoch 1, step 2");
    for (int64_t i = 0; i < m->nparams; i++)
        if (!isfinite(m->params[i])) {
            CHECK(0, "weight %lld is not finite after a refused step", (long long)i);
            break;
        }
    lam_model_free(m);
    lam_dataset_free(train);
}

static void allocation_failures(void)
{
    /* Fail every allocation along build, compile, fit, evaluate in turn:
     * each must return an error, never crash, and leave nothing behind. */
    lam_dataset *train = blobs(64, 6);
    int failures_seen = 0;
    for (long n = 1; n < 400; n++) {
        lam_testing_fail_alloc_after(n);
        lam_model *m = lam_sequential("alloc");
        lam_status s = m ? LAM_OK : LAM_ERR_NOMEM;
        if (s == LAM_OK) s = lam_model_add_input(m, 1, (int64_t[]){2});
        if (s == LAM_OK) s = lam_model_add_dense(m, 8, LAM_ACT_RELU);
        if (s == LAM_OK) s = lam_model_add_dense(m, 4, LAM_ACT_SOFTMAX);
        lam_optimizer o = lam_adam();
        if (s == LAM_OK) s = lam_model_compile(m, &o, LAM_LOSS_SPARSE_CATEGORICAL_CE);
        lam_fit_options fo = lam_fit_defaults();
        fo.verbose = 0;
        fo.validation_split = 0.25f;
        if (s == LAM_OK) s = lam_fit(m, train, &fo, NULL);
        lam_eval_result r;
        if (s == LAM_OK) s = lam_evaluate(m, train, 16, 0, &r);
        lam_testing_fail_alloc_after(0);
        lam_model_free(m);
        if (s == LAM_OK) break; /* n passed the last allocation: the path is covered */
        failures_seen++;
        CHECK(s == LAM_ERR_NOMEM, "allocation %ld: status %d (%s)", n, s, lam_last_error());
        CHECK(strstr(lam_last_error(), "memory") != NULL, "allocation %ld: message %s", n,
              lam_last_error());
    }
    CHECK(failures_seen > 10, "only %d allocations on the path", failures_seen);
    lam_dataset_free(train);
}

/* backward's grads_ready hook (what data-parallel training starts its sums
 * from): called with offsets that never grow, and at each call the
 * gradients from the offset on are already what backward ends with; with a
 * shared layer (its second call above its first) and a branch no gradient
 * reaches (zero, and final at once). */
typedef struct ready_log {
    int calls;
    int64_t from[16];
    float *seen[16]; /* grads[from..nparams) at that call */
    const lam_model *m;
} ready_log;

static void log_ready(void *user, int64_t from)
{
    ready_log *r = user;
    if (r->calls >= 16) return;
    const int64_t n = r->m->nparams - from;
    r->from[r->calls] = from;
    r->seen[r->calls] = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    memcpy(r->seen[r->calls], r->m->grads + from, sizeof(float) * (size_t)n);
    r->calls++;
}

static void grads_ready_hook(void)
{
    lam_model *m = lam_model_new("ready");
    int x, h1, h2, h3, y, side;
    lam_layer_spec d = lam_layer_defaults(LAM_LAYER_DENSE);
    d.units = 6;
    d.activation = LAM_ACT_TANH;
    CHECK_OK(lam_model_input(m, "x", 1, (int64_t[]){6}, &x));
    CHECK_OK(lam_model_call(m, &d, 1, &x, &h1));
    d.name[0] = '\0';
    CHECK_OK(lam_model_call(m, &d, 1, &h1, &h2));
    CHECK_OK(lam_model_call_shared(m, h1, 1, &h2, &h3)); /* the first Dense again */
    lam_layer_spec head = lam_layer_defaults(LAM_LAYER_DENSE);
    head.units = 3;
    head.activation = LAM_ACT_SOFTMAX;
    CHECK_OK(lam_model_call(m, &head, 1, &h3, &y));
    d.name[0] = '\0';
    CHECK_OK(lam_model_call(m, &d, 1, &x, &side)); /* feeds no output */
    CHECK_OK(lam_model_set_outputs(m, 1, &y));
    lam_optimizer sgd = lam_sgd();
    CHECK_OK(lam_model_compile(m, &sgd, LAM_LOSS_SPARSE_CATEGORICAL_CE));
    CHECK_OK(lam_model_plan(m, 4));
    fill(lam_model_input_buffer(m, 0), 4 * 6);
    int32_t labels[4] = {0, 1, 2, 1};
    lam_target t = {labels, NULL, NULL};
    lam_batch_metrics bm;
    ready_log r = {.m = m};
    for (int64_t i = 0; i < m->nparams; i++) m->grads[i] = NAN; /* a slice left unwritten shows */
    m->grads_ready = log_ready;
    m->grads_ready_user = &r;
    CHECK_OK(lam_forward(m, 4, LAM_MODE_TRAIN));
    CHECK_OK(lam_loss_eval(m, 4, &t, true, &bm));
    CHECK_OK(lam_backward(m, 4, false));
    m->grads_ready = NULL;
    CHECK(r.calls == 4, "one call per layer with weights: %d calls", r.calls);
    CHECK(r.calls > 0 && r.from[r.calls - 1] == 0, "the last call covers every weight");
    for (int c = 0; c < r.calls; c++) {
        CHECK(c == 0 || r.from[c] <= r.from[c - 1], "call %d: offset %lld after %lld", c,
              (long long)r.from[c], (long long)(c ? r.from[c - 1] : 0));
        const int64_t n = m->nparams - r.from[c];
        CHECK(memcmp(r.seen[c], m->grads + r.from[c], sizeof(float) * (size_t)n) == 0,
              "call %d: the gradients from %lld on changed after it", c, (long long)r.from[c]);
        free(r.seen[c]);
    }
    bool finite = true, side_zero = true;
    const lam_node *sn = &m->nodes[side];
    for (int64_t i = 0; i < m->nparams; i++) finite &= isfinite(m->grads[i]) != 0;
    for (int64_t i = 0; i < sn->param_count; i++) side_zero &= m->grads[sn->param_offset + i] == 0;
    CHECK(finite, "every gradient written");
    CHECK(side_zero, "the branch feeding no output has zero gradients");
    lam_model_free(m);
}

int main(void)
{
    lam_rng_seed(&rng, 11);
    lam_set_threads(1);
    conv_against_naive();
    keras_cnn_parity();
    adam_steps();
    other_optimizers();
    initialisers();
    learns_toy_problem();
    reproducible();
    reproducible_cnn();
    builder_refusals();
    non_finite_stops();
    allocation_failures();
    grads_ready_hook();
    return test_summary("test_engine");
}
