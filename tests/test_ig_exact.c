/* test_ig_exact.c - exact integrated gradients (src/explain/ig_exact.c) and
 * the forward-mode tangents it walks with: every layer's tangent against
 * central differences of its forward along a random direction, with the
 * model linear over the whole span the tangent pass reports; completeness
 * (sum of attributions = score(x) - score(baseline)) to 1e-5 for logit and
 * probability scores on a small seed-CNN-shaped model (hundreds of regions)
 * and ReLU MLPs ending in softmax, sigmoid or nothing; agreement with a
 * 4096-point trapezoid rule (and closer than a 256-point one: quadrature's
 * error shrinks towards exact IG); the refusal of a model with tanh inside
 * or an LSTM; the caller's plan as it was; a failed allocation reported. */
#include "explain/explain.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

/* Random weights, with biases too (a model without bias is positively
 * homogeneous: from a black baseline its path would cross one region). */
static void randomize(lam_model *m, float bias_scale)
{
    CHECK_OK(lam_model_init_weights(m));
    for (int i = 0; i < lam_model_num_tensors(m); i++) {
        lam_tensor_info t;
        CHECK_OK(lam_model_tensor(m, i, &t));
        if (strstr(t.name, "bias"))
            for (int64_t k = 0; k < t.count; k++) t.data[k] = bias_scale * test_rndf();
    }
}

static int64_t input_size(const lam_model *m) { return lam_model_input_node(m, 0)->out.size; }
static int64_t output_size(const lam_model *m) { return lam_model_output_node(m, 0)->out.size; }

/* Output 0 at input x, batch 1, into out: the logits when the model keeps them. */
static void eval(lam_model *m, const float *x, float *out)
{
    memcpy(lam_model_input_buffer(m, 0), x, sizeof(float) * (size_t)input_size(m));
    CHECK_OK(lam_forward(m, 1, LAM_MODE_INFER_GRAD));
    const float *y = lam_model_output_logits(m, 0);
    if (!y) y = lam_model_output(m, 0);
    memcpy(out, y, sizeof(float) * (size_t)output_size(m));
}

/* ------------------------------------------------------------- tangents */

/* The tangent pass at a random x along a random d against central
 * differences of the forward; h is half the shorter span, so the model is
 * linear over [x - h d, x + h d] and the difference is exact but for the
 * forward's rounding (allowed: 1e-5 of the outputs' size, over h, which can
 * be small where many units lie near a kink). So also against J d, J's rows
 * by backward passes at x (after the tangent pass, which must leave what
 * backward reads alone): equal to float rounding. And linearity at 0.999 of
 * the forward span. */
static void check_tangent(const char *what, lam_model *m)
{
    if (lam_model_keep_logits(m, 0) != LAM_OK) lam_error_clear();
    CHECK_OK(lam_model_keep_tangents(m, true));
    CHECK_OK(lam_model_plan(m, 1));
    const int64_t n = input_size(m), k = output_size(m);
    float *x = malloc(sizeof(float) * (size_t)n), *d = malloc(sizeof(float) * (size_t)n);
    float *xp = malloc(sizeof(float) * (size_t)n), *y0 = malloc(sizeof(float) * (size_t)k);
    float *yp = malloc(sizeof(float) * (size_t)k), *ym = malloc(sizeof(float) * (size_t)k);
    float *dy = malloc(sizeof(float) * (size_t)k);
    double worst = 0, worst_far = 0, worst_jd = 0, scale = 0, noise = 0;
    for (int trial = 0; trial < 3; trial++) {
        for (int64_t i = 0; i < n; i++) x[i] = test_rndf(), d[i] = test_rndf();
        eval(m, x, y0);
        memcpy(lam_model_input_tangent(m, 0), d, sizeof(float) * (size_t)n);
        double span[2];
        CHECK_OK(lam_model_tangent(m, 1, span));
        memcpy(dy, lam_model_output_tangent(m, 0), sizeof(float) * (size_t)k);
        CHECK(span[0] > 0 && span[1] > 0, "%s: spans %g %g", what, span[0], span[1]);
        const double h = fmin(0.5 * fmin(span[0], span[1]), 1.0);
        for (int64_t i = 0; i < n; i++) xp[i] = (float)(x[i] + h * d[i]);
        eval(m, xp, yp);
        for (int64_t i = 0; i < n; i++) xp[i] = (float)(x[i] - h * d[i]);
        eval(m, xp, ym);
        for (int64_t j = 0; j < k; j++) {
            scale = fmax(scale, fabs(dy[j]));
            noise = fmax(noise, 1e-5 * fmax(fabs(yp[j]), fabs(ym[j])) / h);
            worst = fmax(worst, fabs((yp[j] - ym[j]) / (2 * h) - dy[j]));
        }
        for (int64_t j = 0; j < k; j++) {
            eval(m, x, y0);
            CHECK_OK(lam_model_tangent(m, 1, span));
            float *seed = lam_model_output_logits(m, 0) ? lam_model_output_logit_grad(m, 0)
                                                        : lam_model_output_grad(m, 0);
            memset(seed, 0, sizeof(float) * (size_t)k);
            seed[j] = 1;
            CHECK_OK(lam_backward(m, 1, true));
            const float *g = lam_model_input_grad(m, 0);
            double jd = 0, size = 0;
            for (int64_t i = 0; i < n; i++) jd += (double)g[i] * d[i], size += fabs(g[i] * d[i]);
            worst_jd = fmax(worst_jd, fabs(jd - dy[j]) / fmax(size, 1e-6));
        }
        /* Linear up to the forward span's end (when there is one). */
        const double far = isfinite(span[0]) ? 0.999 * span[0] : 1.0;
        for (int64_t i = 0; i < n; i++) xp[i] = (float)(x[i] + far * d[i]);
        eval(m, xp, yp);
        for (int64_t j = 0; j < k; j++)
            worst_far = fmax(worst_far, fabs(yp[j] - y0[j] - far * dy[j]));
    }
    CHECK(scale > 0, "%s: zero tangent", what);
    CHECK(worst <= 1e-4 * fmax(scale, 1e-2) + noise, "%s: tangent off central differences by "
          "%g (scale %g, rounding %g)", what, worst, scale, noise);
    CHECK(worst_jd <= 1e-5, "%s: tangent off J d by %g of its terms' size", what, worst_jd);
    CHECK(worst_far <= 1e-4 * fmax(scale, 1e-2), "%s: not linear across its span: %g (scale "
          "%g)", what, worst_far, scale);
    printf("  tangent %-30s |fd - tangent| %.1e of %.1e (rounding %.1e); vs J d %.1e\n", what,
           worst, scale, noise, worst_jd);
    free(x), free(d), free(xp), free(y0), free(yp), free(ym), free(dy);
}

static lam_model *seq(const char *name, int rank, const int64_t *shape)
{
    lam_model *m = lam_sequential(name);
    lam_model_set_seed(m, 7);
    CHECK_OK(lam_model_add_input(m, rank, shape));
    return m;
}

static void add_spec(lam_model *m, lam_layer_kind kind, void (*edit)(lam_layer_spec *))
{
    lam_layer_spec s = lam_layer_defaults(kind);
    edit(&s);
    CHECK_OK(lam_model_add(m, &s));
}

static void conv_im2col(lam_layer_spec *s)
{
    s->units = 4, s->kernel[0] = s->kernel[1] = 3, s->activation = LAM_ACT_RELU;
    s->conv_algo = LAM_CONV_IM2COL;
}
static void conv_winograd(lam_layer_spec *s)
{
    conv_im2col(s);
    s->conv_algo = LAM_CONV_WINOGRAD4, s->padding = LAM_PAD_SAME;
}
static void conv_strided(lam_layer_spec *s)
{
    conv_im2col(s);
    s->conv_algo = 0, s->strides[0] = s->strides[1] = 2, s->padding = LAM_PAD_SAME;
}
static void pool_3x3_same(lam_layer_spec *s)
{
    s->pool[0] = s->pool[1] = 3, s->strides[0] = s->strides[1] = 2, s->padding = LAM_PAD_SAME;
}
static void pad_1213(lam_layer_spec *s) { s->pad[0] = 1, s->pad[1] = 2, s->pad[2] = 1, s->pad[3] = 3; }
static void upsample(lam_layer_spec *s) { (void)s; }
static void conv1d(lam_layer_spec *s)
{
    s->units = 3, s->kernel[0] = 3, s->activation = LAM_ACT_RELU;
}
static void pool1d(lam_layer_spec *s) { s->pool[0] = 2; }

static void finish(lam_model *m, const char *what, lam_activation out)
{
    if (lam_model_output_node(m, 0)->out.rank > 1) CHECK_OK(lam_model_add_flatten(m));
    CHECK_OK(lam_model_add_dense(m, 3, out));
    randomize(m, 0.3f);
    check_tangent(what, m);
    lam_model_free(m);
}

/* A functional model: two Dense branches merged by `kind`, then Dense. */
static void merge_model(const char *what, lam_layer_kind kind)
{
    lam_model *m = lam_model_new(what);
    lam_model_set_seed(m, 3);
    int in, a, b, j, y;
    CHECK_OK(lam_model_input(m, "x", 1, (int64_t[]){5}, &in));
    lam_layer_spec d = lam_layer_defaults(LAM_LAYER_DENSE);
    d.units = 6, d.activation = LAM_ACT_RELU;
    CHECK_OK(lam_model_call(m, &d, 1, &in, &a));
    CHECK_OK(lam_model_call(m, &d, 1, &in, &b));
    lam_layer_spec mg = lam_layer_defaults(kind);
    CHECK_OK(lam_model_call(m, &mg, 2, (int[]){a, b}, &j));
    d.units = 3, d.activation = LAM_ACT_LINEAR;
    CHECK_OK(lam_model_call(m, &d, 1, &j, &y));
    CHECK_OK(lam_model_set_outputs(m, 1, &y));
    randomize(m, 0.3f);
    check_tangent(what, m);
    lam_model_free(m);
}

static void tangents(void)
{
    const int64_t img[3] = {9, 9, 2}, img1[3] = {8, 8, 1};
    lam_model *m = seq("dense", 1, (int64_t[]){7});
    CHECK_OK(lam_model_add_dense(m, 6, LAM_ACT_RELU));
    CHECK_OK(lam_model_add_dropout(m, 0.5f));
    CHECK_OK(lam_model_add_activation(m, LAM_ACT_RELU));
    finish(m, "Dense relu, Dropout, Activation", LAM_ACT_LINEAR);

    m = seq("softmax", 1, (int64_t[]){7});
    CHECK_OK(lam_model_add_dense(m, 6, LAM_ACT_RELU));
    finish(m, "Dense softmax (logits)", LAM_ACT_SOFTMAX);

    m = seq("conv_direct", 3, img1); /* one channel: the direct kernel */
    CHECK_OK(lam_model_add_conv2d(m, 4, 3, 3, LAM_ACT_RELU));
    finish(m, "Conv2D direct", LAM_ACT_LINEAR);

    m = seq("conv_im2col", 3, img);
    add_spec(m, LAM_LAYER_CONV2D, conv_im2col);
    finish(m, "Conv2D im2col", LAM_ACT_LINEAR);

    m = seq("conv_winograd", 3, img);
    add_spec(m, LAM_LAYER_CONV2D, conv_winograd);
    finish(m, "Conv2D winograd4, same", LAM_ACT_LINEAR);

    m = seq("conv_strided", 3, img);
    add_spec(m, LAM_LAYER_CONV2D, conv_strided);
    finish(m, "Conv2D stride 2", LAM_ACT_LINEAR);

    m = seq("maxpool", 3, img);
    CHECK_OK(lam_model_add_maxpool2d(m, 2, 2)); /* 9 -> 4: the 2x2 kernel, odd edge */
    finish(m, "MaxPooling2D 2x2", LAM_ACT_LINEAR);

    m = seq("maxpool_same", 3, img);
    add_spec(m, LAM_LAYER_MAXPOOL2D, pool_3x3_same);
    finish(m, "MaxPooling2D 3x3/2 same", LAM_ACT_LINEAR);

    m = seq("avgpool", 3, img);
    CHECK_OK(lam_model_add_avgpool2d(m, 2, 2));
    finish(m, "AveragePooling2D", LAM_ACT_LINEAR);

    m = seq("pad_up", 3, img1);
    add_spec(m, LAM_LAYER_ZERO_PADDING2D, pad_1213);
    add_spec(m, LAM_LAYER_UPSAMPLING2D, upsample);
    CHECK_OK(lam_model_add_conv2d(m, 2, 3, 3, LAM_ACT_RELU));
    finish(m, "ZeroPadding2D, UpSampling2D", LAM_ACT_LINEAR);

    m = seq("conv1d", 2, (int64_t[]){10, 2});
    add_spec(m, LAM_LAYER_CONV1D, conv1d);
    add_spec(m, LAM_LAYER_MAXPOOL1D, pool1d);
    add_spec(m, LAM_LAYER_CONV1D, conv1d);
    add_spec(m, LAM_LAYER_AVGPOOL1D, pool1d);
    finish(m, "Conv1D, MaxPool1D, AvgPool1D", LAM_ACT_LINEAR);

    merge_model("Add", LAM_LAYER_ADD);
    merge_model("Subtract", LAM_LAYER_SUBTRACT);
    merge_model("Average", LAM_LAYER_AVERAGE);
    merge_model("Concatenate", LAM_LAYER_CONCATENATE);
}

/* ------------------------------------------------------ exact IG itself */

/* The score of class c from the logits (or outputs) y of k classes. */
static double score_of(const float *y, int64_t k, int c, lam_score score, lam_activation act)
{
    if (score == LAM_SCORE_LOGIT || act == LAM_ACT_LINEAR) return y[c];
    if (act == LAM_ACT_SIGMOID) return 1.0 / (1.0 + exp(-(double)y[c]));
    double mx = y[0], sum = 0;
    for (int64_t j = 1; j < k; j++) mx = fmax(mx, y[j]);
    for (int64_t j = 0; j < k; j++) sum += exp(y[j] - mx);
    return exp(y[c] - mx) / sum;
}

/* Worst relative completeness delta of exact IG over `inputs` random
 * inputs in [0, 1), black baseline; *regions the fewest regions crossed. */
static double completeness(lam_model *m, lam_score score, int inputs, int64_t *fewest,
                           int64_t *most)
{
    const int64_t n = input_size(m), k = output_size(m);
    const lam_activation act = lam_model_output_node(m, 0)->spec.activation;
    float *x = malloc(sizeof(float) * (size_t)n), *b = calloc((size_t)n, sizeof(float));
    float *attr = malloc(sizeof(float) * (size_t)n), *y = malloc(sizeof(float) * (size_t)k);
    double worst = 0;
    *fewest = INT64_MAX, *most = 0;
    for (int t = 0; t < inputs; t++) {
        for (int64_t i = 0; i < n; i++) x[i] = 0.5f + 0.5f * test_rndf();
        const int c = t % (int)k;
        int64_t regions = 0;
        CHECK_OK(lam_ig_exact(m, x, b, 0, c, score, attr, &regions));
        *fewest = regions < *fewest ? regions : *fewest;
        *most = regions > *most ? regions : *most;
        CHECK_OK(lam_model_plan(m, 1));
        eval(m, x, y);
        const double fx = score_of(y, k, c, score, act);
        eval(m, b, y);
        const double fb = score_of(y, k, c, score, act);
        double sum = 0;
        for (int64_t i = 0; i < n; i++) sum += attr[i];
        worst = fmax(worst, fabs(sum - (fx - fb)) / fabs(fx - fb));
    }
    free(x), free(b), free(attr), free(y);
    return worst;
}

static lam_model *small_cnn(void)
{
    /* The seed CNN's layers at a quarter of its size: 14x14 -> 12 -> 6 -> 4 -> 2. */
    lam_model *m = seq("small_cnn", 3, (int64_t[]){14, 14, 1});
    CHECK_OK(lam_model_add_conv2d(m, 8, 3, 3, LAM_ACT_RELU));
    CHECK_OK(lam_model_add_maxpool2d(m, 2, 2));
    CHECK_OK(lam_model_add_conv2d(m, 16, 3, 3, LAM_ACT_RELU));
    CHECK_OK(lam_model_add_maxpool2d(m, 2, 2));
    CHECK_OK(lam_model_add_flatten(m));
    CHECK_OK(lam_model_add_dense(m, 16, LAM_ACT_RELU));
    CHECK_OK(lam_model_add_dense(m, 10, LAM_ACT_SOFTMAX));
    randomize(m, 0.2f);
    return m;
}

static lam_model *mlp_ending(lam_activation out)
{
    lam_model *m = seq("mlp", 1, (int64_t[]){12});
    CHECK_OK(lam_model_add_dense(m, 24, LAM_ACT_RELU));
    CHECK_OK(lam_model_add_dense(m, 24, LAM_ACT_RELU));
    CHECK_OK(lam_model_add_dense(m, 4, out));
    randomize(m, 0.5f);
    return m;
}

static lam_model *mlp(void) { return mlp_ending(LAM_ACT_SOFTMAX); }

static void exact_completeness(const char *what, lam_model *m)
{
    const char *names[2] = {"logit", "probability"};
    for (int s = 0; s < 2; s++) {
        int64_t fewest, most;
        double worst = completeness(m, (lam_score)s, 4, &fewest, &most);
        printf("  exact IG %-10s %-11s worst relative completeness delta %.2e, regions %lld "
               "to %lld\n", what, names[s], worst, (long long)fewest, (long long)most);
        CHECK(worst <= 1e-5, "%s, %s score: relative completeness delta %g", what, names[s],
              worst);
        CHECK(fewest > 1, "%s: the path crossed %lld regions, expected several", what,
              (long long)fewest);
    }
}

/* Integrated gradients by the trapezoid rule on `steps` intervals, batched
 * through the step API, for class c's probability (softmax of the logits,
 * in double, as exact IG integrates it). */
static void trapezoid_ig(lam_model *m, const float *x, int c, int steps, double *attr)
{
    const int64_t n = input_size(m), k = output_size(m);
    enum { B = 64 };
    CHECK_OK(lam_model_plan(m, B));
    memset(attr, 0, sizeof(double) * (size_t)n);
    for (int first = 0; first <= steps; first += B) {
        const int nb = steps + 1 - first < B ? steps + 1 - first : B;
        float *in = lam_model_input_buffer(m, 0);
        for (int r = 0; r < nb; r++)
            for (int64_t i = 0; i < n; i++)
                in[r * n + i] = (float)((double)(first + r) / steps * x[i]);
        CHECK_OK(lam_forward(m, nb, LAM_MODE_INFER_GRAD));
        const float *z = lam_model_output_logits(m, 0);
        float *g = lam_model_output_logit_grad(m, 0);
        for (int r = 0; r < nb; r++) {
            const double sc = score_of(z + r * k, k, c, LAM_SCORE_PROBABILITY, LAM_ACT_SOFTMAX);
            const int j = first + r;
            const double wt = (j == 0 || j == steps ? 0.5 : 1.0) / steps;
            for (int64_t q = 0; q < k; q++) {
                const double sq = score_of(z + r * k, k, (int)q, LAM_SCORE_PROBABILITY, LAM_ACT_SOFTMAX);
                g[r * k + q] = (float)(wt * sc * ((q == c) - sq));
            }
        }
        CHECK_OK(lam_backward(m, nb, true));
        const float *gx = lam_model_input_grad(m, 0);
        for (int r = 0; r < nb; r++)
            for (int64_t i = 0; i < n; i++) attr[i] += gx[r * n + i] * (double)x[i];
    }
}

static void against_trapezoid(void)
{
    lam_model *m = mlp();
    const int64_t n = input_size(m);
    float x[12], b[12] = {0}, attr[12];
    double trap[12], trap256[12];
    for (int i = 0; i < 12; i++) x[i] = 0.5f + 0.5f * test_rndf();
    int64_t regions;
    CHECK_OK(lam_ig_exact(m, x, b, 0, 1, LAM_SCORE_PROBABILITY, attr, &regions));
    trapezoid_ig(m, x, 1, 4096, trap);
    trapezoid_ig(m, x, 1, 256, trap256);
    double worst = 0, worst256 = 0, scale = 0, sum = 0, sum_trap = 0;
    for (int64_t i = 0; i < n; i++) {
        scale = fmax(scale, fabs(attr[i]));
        worst = fmax(worst, fabs(attr[i] - trap[i]));
        worst256 = fmax(worst256, fabs(attr[i] - trap256[i]));
        sum += attr[i], sum_trap += trap[i];
    }
    printf("  exact IG against trapezoid (MLP, probability, %lld regions): max |diff| %.2e "
           "(4096 steps), %.2e (256 steps), of %.2e; sums %.9f and %.9f\n", (long long)regions,
           worst, worst256, scale, sum, sum_trap);
    /* The trapezoid rule's error on a kinked integrand shrinks as 1 / steps:
     * 4096 steps must be 16 times closer than 256 ones, give or take. */
    CHECK(worst <= 1e-3 * scale, "exact IG and a 4096-step trapezoid differ by %g (scale %g)",
          worst, scale);
    CHECK(worst < 0.25 * worst256, "4096 steps (%g) no closer to exact IG than 256 (%g)",
          worst, worst256);
    lam_model_free(m);
}

/* A linear model is one region, so the whole path is one line integral of
 * the softmax: here its logit gap sweeps from -30 to +30, a step of width
 * ~1/60 in the middle that 8 Gauss-Legendre nodes over [0, 1] do not
 * resolve. The doubling must go on until the integral is exact (the
 * probability rises by 1 - 2e-13; completeness to float rounding), not stop
 * at a loose agreement. */
static void steep_softmax(void)
{
    lam_model *m = seq("steep", 1, (int64_t[]){2});
    CHECK_OK(lam_model_add_dense(m, 2, LAM_ACT_SOFTMAX));
    randomize(m, 0.0f);
    const float weights[6] = {20, -20, 10, -10, -15, 15}; /* kernel [2, 2], bias [2] */
    memcpy(lam_model_params(m), weights, sizeof weights);
    const float x[2] = {1.0f, 1.0f}, b[2] = {0, 0};
    float attr[2], y[2];
    for (int c = 0; c < 2; c++) {
        int64_t regions = 0;
        CHECK_OK(lam_ig_exact(m, x, b, 0, c, LAM_SCORE_PROBABILITY, attr, &regions));
        CHECK(regions == 1, "a linear model crossed %lld regions", (long long)regions);
        CHECK_OK(lam_model_plan(m, 1));
        eval(m, x, y);
        const double fx = score_of(y, 2, c, LAM_SCORE_PROBABILITY, LAM_ACT_SOFTMAX);
        eval(m, b, y);
        const double fb = score_of(y, 2, c, LAM_SCORE_PROBABILITY, LAM_ACT_SOFTMAX);
        const double delta = (double)attr[0] + attr[1] - (fx - fb);
        CHECK(fabs(fx - fb) > 0.99, "class %d: score moves only %g", c, fx - fb);
        CHECK(fabs(delta) <= 1e-6, "steep softmax, class %d: completeness delta %.3g of %.3g", c,
              delta, fx - fb);
        /* Both inputs move the logits the same way, in proportion 2 : 1. */
        CHECK(fabs(attr[0] - 2.0 * attr[1]) <= 1e-6, "class %d: attributions %.9g, %.9g", c,
              attr[0], attr[1]);
    }
    lam_model_free(m);
}

/* A tanh inside is refused, naming the layer; so is an LSTM. */
static void refusals(void)
{
    lam_model *m = seq("tanh_inside", 1, (int64_t[]){4});
    CHECK_OK(lam_model_add_dense(m, 5, LAM_ACT_RELU));
    CHECK_OK(lam_model_add_dense(m, 5, LAM_ACT_TANH));
    CHECK_OK(lam_model_add_dense(m, 2, LAM_ACT_SOFTMAX));
    randomize(m, 0.1f);
    float x[4] = {1, 2, 3, 4}, b[4] = {0}, attr[4];
    int64_t regions = -1;
    CHECK_FAILS(lam_ig_exact(m, x, b, 0, 0, LAM_SCORE_LOGIT, attr, &regions),
                LAM_ERR_UNSUPPORTED, "layer \"dense_1\" (Dense) has activation tanh");
    CHECK(strstr(lam_last_error(), "piecewise-linear") != NULL, "message: %s", lam_last_error());
    CHECK(regions == 0, "regions %lld after a refusal", (long long)regions);
    CHECK_FAILS(lam_ig_exact(m, x, b, 0, 2, LAM_SCORE_LOGIT, attr, &regions), LAM_ERR_ARG,
                "class 2");
    lam_model_free(m);

    m = seq("recurrent", 2, (int64_t[]){3, 2});
    CHECK_OK(lam_model_add_lstm(m, 4, false));
    CHECK_OK(lam_model_add_dense(m, 2, LAM_ACT_LINEAR));
    randomize(m, 0.1f);
    float xs[6] = {0}, bs[6] = {0}, as[6];
    CHECK_FAILS(lam_ig_exact(m, xs, bs, 0, 0, LAM_SCORE_LOGIT, as, &regions),
                LAM_ERR_UNSUPPORTED, "(LSTM): exact integrated gradients need a piecewise");
    CHECK_FAILS(lam_model_keep_tangents(m, true), LAM_ERR_UNSUPPORTED, "piecewise-linear");
    lam_model_free(m);
}

/* The caller's plan comes back: the same batch, no tangents, and Conv2D's
 * pre-activations no longer kept (its fused ReLU back). */
static void plan_restored(void)
{
    lam_model *m = small_cnn();
    CHECK_OK(lam_model_plan(m, 5));
    const int64_t n = input_size(m);
    float *x = calloc((size_t)n, sizeof(float)), *b = calloc((size_t)n, sizeof(float));
    float *attr = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) x[i] = 0.5f + 0.5f * test_rndf();
    int64_t regions;
    CHECK_OK(lam_ig_exact(m, x, b, 0, 3, LAM_SCORE_LOGIT, attr, &regions));
    CHECK(m->planned_batch == 5, "planned for %d after exact IG, 5 before", m->planned_batch);
    CHECK(!m->keep_tangents && !m->nodes[1].tangent && !m->nodes[1].logits,
          "tangents or ReLU pre-activations still planned");
    CHECK_OK(lam_forward(m, 5, LAM_MODE_INFER));
    lam_model_free(m);
    /* An allocation that fails inside the walk gives an error, not a crash
     * (on the MLP: each try is a whole walk). */
    m = mlp();
    bool failed = false;
    for (long k = 1; k < 40 && !failed; k++) {
        lam_testing_fail_alloc_after(k);
        lam_status s = lam_ig_exact(m, x, b, 0, 3, LAM_SCORE_LOGIT, attr, &regions);
        lam_testing_fail_alloc_after(0);
        failed = s == LAM_ERR_NOMEM;
        CHECK(s == LAM_OK || s == LAM_ERR_NOMEM, "allocation %ld failing: status %d", k, s);
    }
    CHECK(failed, "no allocation of exact IG could be made to fail");
    lam_request_stop();
    CHECK_FAILS(lam_ig_exact(m, x, b, 0, 3, LAM_SCORE_LOGIT, attr, &regions),
                LAM_ERR_INTERRUPTED, "stopped on request");
    lam_clear_stop();
    CHECK_OK(lam_ig_exact(m, x, b, 0, 3, LAM_SCORE_LOGIT, attr, &regions));
    free(x), free(b), free(attr);
    lam_model_free(m);
}

int main(void)
{
    /* One thread: the walks are thousands of small forward passes, each
     * paying OpenMP's barriers; with another process on one of two cores
     * this test took 15 s on two threads, 0.15 s on one. The results do not
     * depend on the thread count (the kernel tests check threaded paths). */
    lam_set_threads(1);
    tangents();
    /* The walks trust the tangents' spans: with wrong ones a walk may take
     * millions of probes. Stop here, failed, rather than run into the
     * ctest timeout. */
    if (test_failures) return test_summary("ig_exact");
    lam_model *m = small_cnn();
    exact_completeness("small CNN", m);
    lam_model_free(m);
    m = mlp();
    exact_completeness("MLP", m);
    lam_model_free(m);
    m = mlp_ending(LAM_ACT_SIGMOID);
    exact_completeness("MLP sigm.", m);
    lam_model_free(m);
    m = mlp_ending(LAM_ACT_LINEAR);
    exact_completeness("MLP linear", m);
    lam_model_free(m);
    against_trapezoid();
    steep_softmax();
    refusals();
    plan_restored();
    return test_summary("ig_exact");
}
