/* test_explain.c - attributions for deep models (lamina_explain.h):
 * quadrature rules; saliency against central differences of the score on a
 * CNN, a stacked LSTM and a transformer (logit and probability scores);
 * integrated gradients' completeness, exactness on a linear model and the
 * Riemann sums' order; batch-size independence; Grad-CAM against keras.io's
 * recipe (tests/make_gradcam_fixtures.py); occlusion on linear models; token
 * ids explained at the embedding; attention weights; bad arguments. No new
 * reader of untrusted input is added here, so there is nothing to fuzz. */
#include "explain/attribution.h"
#include "fixture.h"
#include "test.h"

#include <string.h>

/* gradcheck.h's metric: relative, with an absolute floor of 1e-2. */
static double rel_err(double a, double n)
{
    return fabs(a - n) / fmax(fmax(fabs(a), fabs(n)), 1e-2);
}

static lam_model *compiled(lam_model *m)
{
    lam_optimizer sgd = lam_sgd();
    CHECK_OK(lam_model_compile(m, &sgd, LAM_LOSS_SPARSE_CATEGORICAL_CE));
    return m;
}

static lam_status call(lam_model *m, lam_layer_spec s, int n, const int *in, int *out)
{
    return lam_model_call(m, &s, n, in, out);
}

/* ------------------------------------------------------------- models */

static lam_model *small_cnn(void)
{
    lam_model *m = lam_sequential("cnn");
    lam_model_set_seed(m, 5);
    CHECK_OK(lam_model_add_input(m, 3, (int64_t[]){10, 10, 1}));
    CHECK_OK(lam_model_add_conv2d(m, 4, 3, 3, LAM_ACT_RELU));
    CHECK_OK(lam_model_add_maxpool2d(m, 2, 2));
    CHECK_OK(lam_model_add_conv2d(m, 6, 3, 3, LAM_ACT_RELU));
    CHECK_OK(lam_model_add_flatten(m));
    CHECK_OK(lam_model_add_dense(m, 16, LAM_ACT_RELU));
    CHECK_OK(lam_model_add_dense(m, 5, LAM_ACT_SOFTMAX));
    return compiled(m);
}

static lam_model *stacked_lstm(void)
{
    lam_model *m = lam_sequential("lstm");
    lam_model_set_seed(m, 6);
    CHECK_OK(lam_model_add_input(m, 2, (int64_t[]){6, 3}));
    CHECK_OK(lam_model_add_lstm(m, 5, true));
    CHECK_OK(lam_model_add_lstm(m, 4, false));
    CHECK_OK(lam_model_add_dense(m, 3, LAM_ACT_SOFTMAX));
    return compiled(m);
}

/* A transformer classifier on (T, F) values: projection, self-attention with
 * a residual, LayerNormalization, mean over positions, softmax. */
static lam_model *transformer(void)
{
    lam_model *m = lam_model_new("transformer");
    lam_model_set_seed(m, 7);
    int x, h, a, r, n, p, y;
    lam_layer_spec proj = lam_layer_defaults(LAM_LAYER_DENSE);
    proj.units = 8;
    lam_layer_spec mha = lam_layer_defaults(LAM_LAYER_MULTI_HEAD_ATTENTION);
    mha.num_heads = 2;
    mha.key_dim = 4;
    lam_layer_spec head = lam_layer_defaults(LAM_LAYER_DENSE);
    head.units = 3;
    head.activation = LAM_ACT_SOFTMAX;
    CHECK_OK(lam_model_input(m, "seq", 2, (int64_t[]){6, 4}, &x));
    CHECK_OK(call(m, proj, 1, &x, &h));
    CHECK_OK(call(m, mha, 2, (int[]){h, h}, &a));
    CHECK_OK(call(m, lam_layer_defaults(LAM_LAYER_ADD), 2, (int[]){h, a}, &r));
    CHECK_OK(call(m, lam_layer_defaults(LAM_LAYER_LAYER_NORM), 1, &r, &n));
    CHECK_OK(call(m, lam_layer_defaults(LAM_LAYER_GLOBAL_AVGPOOL1D), 1, &n, &p));
    CHECK_OK(call(m, head, 1, &p, &y));
    return compiled(m);
}

/* The same on token ids: TokenAndPositionEmbedding (mask_zero), causal
 * self-attention. */
static lam_model *token_transformer(bool causal)
{
    lam_model *m = lam_model_new("tokens");
    lam_model_set_seed(m, 8);
    int x, e, a, r, p, y;
    lam_layer_spec emb = lam_layer_defaults(LAM_LAYER_TOKEN_AND_POSITION_EMBEDDING);
    snprintf(emb.name, sizeof emb.name, "embed");
    emb.input_dim = 10;
    emb.sequence_length = 6;
    emb.units = 8;
    emb.mask_zero = true;
    lam_layer_spec mha = lam_layer_defaults(LAM_LAYER_MULTI_HEAD_ATTENTION);
    snprintf(mha.name, sizeof mha.name, "mha");
    mha.num_heads = 2;
    mha.key_dim = 4;
    mha.use_causal_mask = causal;
    lam_layer_spec head = lam_layer_defaults(LAM_LAYER_DENSE);
    head.units = 3;
    head.activation = LAM_ACT_SOFTMAX;
    CHECK_OK(lam_model_input(m, "ids", 1, (int64_t[]){6}, &x));
    CHECK_OK(call(m, emb, 1, &x, &e));
    CHECK_OK(call(m, mha, 2, (int[]){e, e}, &a));
    CHECK_OK(call(m, lam_layer_defaults(LAM_LAYER_ADD), 2, (int[]){e, a}, &r));
    CHECK_OK(call(m, lam_layer_defaults(LAM_LAYER_GLOBAL_AVGPOOL1D), 1, &r, &p));
    CHECK_OK(call(m, head, 1, &p, &y));
    return compiled(m);
}

/* Smooth (tanh) for integrated gradients' quadrature checks. */
static lam_model *tanh_net(void)
{
    lam_model *m = lam_sequential("tanh");
    lam_model_set_seed(m, 9);
    CHECK_OK(lam_model_add_input(m, 3, (int64_t[]){4, 4, 2}));
    CHECK_OK(lam_model_add_conv2d(m, 3, 3, 3, LAM_ACT_TANH));
    CHECK_OK(lam_model_add_flatten(m));
    CHECK_OK(lam_model_add_dense(m, 8, LAM_ACT_TANH));
    CHECK_OK(lam_model_add_dense(m, 3, LAM_ACT_SOFTMAX));
    /* Larger weights than glorot's: a path with curvature to integrate. */
    lam_model *c = compiled(m);
    float *p = lam_model_params(c);
    for (int64_t i = 0; i < lam_model_param_count(c); i++) p[i] *= 2.0f;
    return c;
}

static void fill_uniform(float *x, int64_t n, float lo, float hi)
{
    for (int64_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * 0.5f * (test_rndf() + 1.0f);
}

/* The score at x as lam_explain defines it (after a lam_explain, which
 * asked the model to keep its logits). */
static double score_at(lam_model *m, const float *x, int target, lam_score score)
{
    CHECK_OK(lam_model_plan(m, 1));
    memcpy(lam_model_input_buffer(m, 0), x, sizeof(float) * (size_t)lam_model_input_size(m));
    CHECK_OK(lam_forward(m, 1, LAM_MODE_INFER_GRAD));
    const float *v = score == LAM_SCORE_LOGIT && lam_model_output_logits(m, 0)
                         ? lam_model_output_logits(m, 0)
                         : lam_model_output(m, 0);
    return v[target];
}

/* ------------------------------------------------------------ quadrature */

static void test_quadrature(void)
{
    double a[256], w[256];
    /* Known Gauss-Legendre nodes on [0, 1]. */
    CHECK_OK(lam_quadrature_rule(LAM_QUAD_GAUSS_LEGENDRE, 1, a, w));
    CHECK_NEAR(a[0], 0.5, 1e-15);
    CHECK_NEAR(w[0], 1.0, 1e-15);
    CHECK_OK(lam_quadrature_rule(LAM_QUAD_GAUSS_LEGENDRE, 2, a, w));
    CHECK_NEAR(a[0], 0.5 - 0.5 / sqrt(3.0), 1e-15);
    CHECK_NEAR(a[1], 0.5 + 0.5 / sqrt(3.0), 1e-15);
    CHECK_NEAR(w[0], 0.5, 1e-15);
    CHECK_OK(lam_quadrature_rule(LAM_QUAD_GAUSS_LEGENDRE, 3, a, w));
    CHECK_NEAR(a[0], 0.5 - 0.5 * sqrt(0.6), 1e-15);
    CHECK_NEAR(a[1], 0.5, 1e-15);
    CHECK_NEAR(w[0], 5.0 / 18.0, 1e-15);
    CHECK_NEAR(w[1], 8.0 / 18.0, 1e-15);
    CHECK_OK(lam_quadrature_rule(LAM_QUAD_GAUSS_LEGENDRE, 5, a, w));
    /* n = 5: x = 1/3 sqrt(5 - 2 sqrt(10/7)) on [-1, 1], weight (322 + 13 sqrt 70) / 900. */
    CHECK_NEAR(a[3], 0.5 + 0.5 * sqrt(5.0 - 2.0 * sqrt(10.0 / 7.0)) / 3.0, 1e-15);
    CHECK_NEAR(w[3], 0.5 * (322.0 + 13.0 * sqrt(70.0)) / 900.0, 1e-15);
    /* n nodes integrate x^d exactly for d <= 2n - 1 (and not 2n). */
    double worst = 0;
    const int ns[] = {1, 2, 3, 4, 7, 10, 16, 31, 64, 256};
    for (size_t t = 0; t < sizeof ns / sizeof *ns; t++) {
        const int n = ns[t];
        CHECK_OK(lam_quadrature_rule(LAM_QUAD_GAUSS_LEGENDRE, n, a, w));
        for (int d = 0; d <= 2 * n; d++) {
            double s = 0;
            for (int i = 0; i < n; i++) s += w[i] * pow(a[i], d);
            const double e = fabs(s * (d + 1) - 1.0);
            if (d < 2 * n) {
                if (e > worst) worst = e;
                CHECK(e < 1e-12, "Gauss-Legendre %d: x^%d off by %.3g (relative)", n, d, e);
            } else if (n <= 7) { /* past that x^2n's error is below double's */
                CHECK(e > 1e-9, "Gauss-Legendre %d integrates x^%d exactly (cannot)", n, d);
            }
        }
    }
    printf("Gauss-Legendre up to 256 nodes: worst relative error on x^d, d <= 2n-1: %.2e\n",
           worst);
    /* Riemann sums: the exact degree of each rule and their nodes. */
    struct { lam_quadrature q; int exact; double a0; } r[] = {
        {LAM_QUAD_RIEMANN_LEFT, 0, 0.0}, {LAM_QUAD_RIEMANN_RIGHT, 0, 0.25},
        {LAM_QUAD_RIEMANN_MIDDLE, 1, 0.125}, {LAM_QUAD_TRAPEZOID, 1, 0.0}};
    for (int k = 0; k < 4; k++) {
        CHECK_OK(lam_quadrature_rule(r[k].q, 4, a, w));
        CHECK_NEAR(a[0], r[k].a0, 1e-15);
        for (int d = 0; d <= 2; d++) {
            double s = 0;
            for (int i = 0; i < 4; i++) s += w[i] * pow(a[i], d);
            const double e = fabs(s * (d + 1) - 1.0);
            if (d <= r[k].exact) CHECK(e < 1e-15, "rule %d: x^%d off by %.3g", k, d, e);
            else CHECK(e > 1e-3, "rule %d integrates x^%d exactly (cannot)", k, d);
        }
    }
    CHECK_FAILS(lam_quadrature_rule(LAM_QUAD_TRAPEZOID, 1, a, w), LAM_ERR_ARG, "steps is 1");
    CHECK_FAILS(lam_quadrature_rule(LAM_QUAD_GAUSS_LEGENDRE, 0, a, w), LAM_ERR_ARG,
                "steps is 0");
}

/* ------------------------------------------------- saliency vs differences */

/* Which linear piece of a ReLU / max-pool network the last forward was on:
 * a hash of every ReLU's on/off pattern and every max-pool's winners. */
static uint64_t linear_piece(const lam_model *m)
{
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < m->n; i++) {
        const lam_node *nd = &m->nodes[i];
        if (nd->spec.kind == LAM_LAYER_MAXPOOL2D && nd->saved_idx)
            for (int64_t j = 0; j < nd->saved_ints; j++)
                h = (h ^ (uint64_t)(uint32_t)nd->saved_idx[j]) * 1099511628211ull;
        else if (nd->op && nd->spec.activation == LAM_ACT_RELU)
            for (int64_t j = 0; j < nd->out.size; j++)
                h = (h ^ (uint64_t)(nd->value[j] > 0)) * 1099511628211ull;
    }
    return h;
}

/* The central difference of the score in x[i] at step eps; with
 * extrapolate, at eps and eps/2 combined (Richardson: (4 D(eps/2) - D(eps))
 * / 3), where the eps^2 term of the error cancels, so that eps can stay
 * large enough for float32 scores of smooth models. *kink: a ReLU or a
 * max-pool winner changed within the step, so the difference straddles
 * two linear pieces and says nothing about the gradient at x. */
static double richardson(lam_model *m, float *x, int64_t i, int target, lam_score score,
                         float eps, bool extrapolate, bool *kink)
{
    double d[2];
    const float old = x[i];
    score_at(m, x, target, score);
    const uint64_t piece = linear_piece(m);
    *kink = false;
    for (int k = 0; k < 1 + extrapolate; k++) {
        const float h = k ? eps / 2 : eps;
        x[i] = old + h;
        const double sp = score_at(m, x, target, score);
        *kink |= linear_piece(m) != piece;
        x[i] = old - h;
        const double sm = score_at(m, x, target, score);
        *kink |= linear_piece(m) != piece;
        d[k] = (sp - sm) / (2.0 * h);
    }
    x[i] = old;
    return extrapolate ? (4.0 * d[1] - d[0]) / 3.0 : d[0];
}

/* The signed gradient (SmoothGrad with no noise and one sample) against
 * central differences of the score, every input coordinate; saliency must
 * be its absolute value. Returns the worst relative error. */
static double check_gradient(const char *what, lam_model *m, const float *x0, lam_score score,
                             float eps, bool extrapolate)
{
    const int64_t n = lam_model_input_size(m);
    lam_explain_options o = lam_explain_defaults(LAM_EXPLAIN_SMOOTHGRAD);
    o.noise_level = 0;
    o.samples = 1;
    o.score = score;
    lam_attribution g, s;
    CHECK_OK(lam_explain(m, x0, &o, &g));
    o = lam_explain_defaults(LAM_EXPLAIN_SALIENCY);
    o.score = score;
    CHECK_OK(lam_explain(m, x0, &o, &s));
    if (!g.map || !s.map) return 1;
    CHECK(g.size == n && s.size == n, "%s: map sizes %lld, %lld", what, (long long)g.size,
          (long long)s.size);
    float *x = malloc(sizeof(float) * (size_t)n);
    memcpy(x, x0, sizeof(float) * (size_t)n);
    double worst = 0, largest = 0;
    int bad_abs = 0, kinks = 0;
    for (int64_t i = 0; i < n; i++) {
        bad_abs += s.map[i] != fabsf(g.map[i]);
        bool kink;
        const double num = richardson(m, x, i, g.target, score, eps, extrapolate, &kink);
        if (kink) {
            kinks++;
            continue;
        }
        const double e = rel_err(g.map[i], num);
        if (e > worst) worst = e;
        if (fabs(num) > largest) largest = fabs(num);
        CHECK(e <= 1e-3, "%s (%s): input %lld: gradient %.7g, differences %.7g (rel %.2g)", what,
              score == LAM_SCORE_LOGIT ? "logit" : "probability", (long long)i, g.map[i], num, e);
    }
    CHECK(bad_abs == 0, "%s: saliency differs from |gradient| at %d values", what, bad_abs);
    /* Gradients this large make the check meaningful: a zero one would fail. */
    CHECK(largest > 2e-3, "%s: the score barely depends on the input (largest %.3g)", what,
          largest);
    CHECK(fabs(g.score - score_at(m, x, g.target, score)) < 1e-6, "%s: score %.9g", what,
          g.score);
    CHECK(kinks <= n / 4, "%s: %d of %lld steps crossed a kink", what, kinks, (long long)n);
    printf("%-36s %-11s %4lld inputs (%d straddling a kink, skipped), worst relative error "
           "%.2e\n", what, score == LAM_SCORE_LOGIT ? "logit" : "probability",
           (long long)n - kinks, kinks, worst);
    free(x);
    lam_attribution_free(&g);
    lam_attribution_free(&s);
    return worst;
}

static void test_gradients(void)
{
    float x[100];
    lam_model *cnn = small_cnn();
    fill_uniform(x, 100, 0.0f, 1.0f);
    for (int s = 0; s < 2; s++) check_gradient("CNN (conv relu, max-pool, dense)", cnn, x, s,
                                               3e-3f, false);
    lam_model_free(cnn);

    lam_model *lstm = stacked_lstm();
    fill_uniform(x, 18, -1.0f, 1.0f);
    for (int s = 0; s < 2; s++) check_gradient("stacked LSTM", lstm, x, s, 1e-2f, true);
    /* A sequence's per-position values: the map summed over features. */
    lam_explain_options o = lam_explain_defaults(LAM_EXPLAIN_GRAD_X_INPUT);
    lam_attribution a;
    CHECK_OK(lam_explain(lstm, x, &o, &a));
    CHECK(a.positions == 6 && a.per_position, "LSTM: %lld positions", (long long)a.positions);
    for (int t = 0; t < 6 && a.per_position; t++)
        CHECK_NEAR(a.per_position[t], a.map[3 * t] + a.map[3 * t + 1] + a.map[3 * t + 2], 1e-6);
    lam_attribution_free(&a);
    lam_model_free(lstm);

    lam_model *tr = transformer();
    fill_uniform(x, 24, -1.0f, 1.0f);
    for (int s = 0; s < 2; s++) check_gradient("transformer (attention, layer norm)", tr, x, s,
                                               1e-2f, true);
    lam_model_free(tr);
}

/* -------------------------------------------------- integrated gradients */

static lam_attribution ig(lam_model *m, const float *x, lam_quadrature q, int steps)
{
    lam_explain_options o = lam_explain_defaults(LAM_EXPLAIN_IG);
    o.quadrature = q;
    o.steps = steps;
    lam_attribution a;
    CHECK_OK(lam_explain(m, x, &o, &a));
    return a;
}

static void test_integrated_gradients(void)
{
    lam_model *m = tanh_net();
    float x[32];
    fill_uniform(x, 32, 0.0f, 1.0f);
    /* Completeness with 256 Gauss-Legendre nodes, every baseline. */
    float other[32];
    fill_uniform(other, 32, 0.0f, 1.0f);
    const char *names[] = {"black", "blur", "noise", "input"};
    for (int b = 0; b < 4; b++)
        for (int s = 0; s < 2; s++) {
            lam_explain_options o = lam_explain_defaults(LAM_EXPLAIN_IG);
            o.steps = 256;
            o.baseline = b;
            o.baseline_input = other;
            o.blur_sigma = 1.0f;
            o.score = s;
            lam_attribution a;
            CHECK_OK(lam_explain(m, x, &o, &a));
            const double gap = a.score - a.baseline_score;
            CHECK(fabs(a.completeness_delta) <= 1e-4 * fabs(gap), "IG (%s baseline): delta "
                  "%.3g, score - baseline %.3g", names[b], a.completeness_delta, gap);
            CHECK(fabs(gap) > 1e-2, "IG (%s baseline): score - baseline only %.3g", names[b],
                  gap);
            CHECK(a.evaluations == 256, "evaluations %lld", (long long)a.evaluations);
            CHECK_NEAR(a.attribution_sum - (a.score - a.baseline_score), a.completeness_delta,
                       1e-12);
            printf("IG, 256 Gauss-Legendre nodes, %-5s baseline, %-11s: |delta| = %.2e = %.2e of "
                   "|score - baseline| %.3f\n", names[b], s ? "probability" : "logit",
                   fabs(a.completeness_delta), fabs(a.completeness_delta / gap), fabs(gap));
            lam_attribution_free(&a);
        }
    /* The order of each rule: the completeness error when the steps double. */
    const struct { lam_quadrature q; const char *name; double order; } rules[] = {
        {LAM_QUAD_RIEMANN_LEFT, "left", 1}, {LAM_QUAD_RIEMANN_RIGHT, "right", 1},
        {LAM_QUAD_RIEMANN_MIDDLE, "middle", 2}, {LAM_QUAD_TRAPEZOID, "trapezoid", 2}};
    for (int r = 0; r < 4; r++) {
        double d[3];
        for (int k = 0; k < 3; k++) {
            /* Trapezoid's n points are n - 1 intervals: compare like for like. */
            const int n = (8 << k) + (rules[r].q == LAM_QUAD_TRAPEZOID);
            lam_attribution a = ig(m, x, rules[r].q, n);
            d[k] = fabs(a.completeness_delta);
            lam_attribution_free(&a);
        }
        const double p1 = log2(d[0] / d[1]), p2 = log2(d[1] / d[2]);
        CHECK(fabs(p1 - rules[r].order) < 0.25 && fabs(p2 - rules[r].order) < 0.25,
              "Riemann %s: observed orders %.2f, %.2f, expected %.0f", rules[r].name, p1, p2,
              rules[r].order);
        printf("IG, Riemann %-9s: |delta| %.2e, %.2e, %.2e at 8, 16, 32 steps: order %.2f, "
               "%.2f\n", rules[r].name, d[0], d[1], d[2], p1, p2);
    }
    /* Batch-size independence: the same bits with 64, 7 and 1 rows per forward. */
    lam_model *cnn = small_cnn();
    float xi[100];
    fill_uniform(xi, 100, 0.0f, 1.0f);
    const lam_explain_method methods[] = {LAM_EXPLAIN_IG, LAM_EXPLAIN_SMOOTHGRAD,
                                          LAM_EXPLAIN_OCCLUSION};
    for (int k = 0; k < 3; k++) {
        lam_attribution a[3];
        const int batches[] = {64, 7, 1};
        for (int b = 0; b < 3; b++) {
            lam_explain_options o = lam_explain_defaults(methods[k]);
            o.batch = batches[b];
            o.samples = 20;
            o.seed = 3;
            o.stride[0] = o.stride[1] = 1;
            CHECK_OK(lam_explain(cnn, xi, &o, &a[b]));
        }
        for (int b = 1; b < 3; b++) {
            int differ = 0;
            for (int64_t i = 0; i < a[0].size; i++) differ += a[0].map[i] != a[b].map[i];
            CHECK(differ == 0, "%s: batch %d gives %d values other than batch 64",
                  lam_explain_method_name(methods[k]), batches[b], differ);
        }
        for (int b = 0; b < 3; b++) lam_attribution_free(&a[b]);
    }
    lam_model_free(cnn);
    lam_model_free(m);

    /* A linear model: IG is exactly the gradient times (x - baseline). */
    lam_model *lin = lam_sequential("linear");
    CHECK_OK(lam_model_add_input(lin, 1, (int64_t[]){5}));
    CHECK_OK(lam_model_add_dense(lin, 3, LAM_ACT_LINEAR));
    compiled(lin);
    float xl[5], base[5];
    fill_uniform(xl, 5, -1.0f, 1.0f);
    fill_uniform(base, 5, -1.0f, 1.0f);
    lam_explain_options o = lam_explain_defaults(LAM_EXPLAIN_IG);
    o.baseline = LAM_BASELINE_INPUT;
    o.baseline_input = base;
    o.steps = 3;
    o.target = 1;
    lam_attribution a;
    CHECK_OK(lam_explain(lin, xl, &o, &a));
    /* Dense(3) kernel [5, 3]: the gradient of output 1 is column 1. */
    const float *W = lam_model_params(lin);
    double worst = 0;
    for (int j = 0; j < 5; j++) {
        const double expect = (double)W[j * 3 + 1] * ((double)xl[j] - base[j]);
        const double e = fabs(a.map[j] - expect) / fmax(fabs(expect), 1e-30);
        if (e > worst) worst = e;
    }
    CHECK(worst < 1e-6, "linear IG: relative error %.3g", worst);
    CHECK(fabs(a.completeness_delta) < 1e-6, "linear IG: delta %.3g", a.completeness_delta);
    printf("IG on a linear model vs gradient x (x - baseline): worst relative error %.2e\n",
           worst);
    lam_attribution_free(&a);
    lam_model_free(lin);
}

/* SmoothGrad's noise is a fraction of the input's range: scaling the input
 * by 4 and the first kernel by 1/4 leaves every activation as it was (powers
 * of two: the same bits), so the noisy points are the same points scaled and
 * the map is the old one divided by 4. Noise of a fixed size would instead
 * be 4 times smaller relative to the scaled input and cross other ReLU
 * kinks. */
static void test_smoothgrad_scale(void)
{
    lam_model *m = small_cnn();
    float x[100], x4[100];
    fill_uniform(x, 100, 0.0f, 1.0f);
    for (int i = 0; i < 100; i++) x4[i] = 4.0f * x[i];
    lam_explain_options o = lam_explain_defaults(LAM_EXPLAIN_SMOOTHGRAD);
    o.samples = 20;
    o.seed = 11;
    lam_attribution a, b;
    CHECK_OK(lam_explain(m, x, &o, &a));
    lam_tensor_info k;
    CHECK_OK(lam_model_tensor(m, 0, &k));
    CHECK(strstr(k.name, "kernel") != NULL, "tensor 0 is %s", k.name);
    for (int64_t i = 0; i < k.count; i++) k.data[i] *= 0.25f;
    CHECK_OK(lam_explain(m, x4, &o, &b));
    double worst = 0, size = 0;
    for (int i = 0; i < 100 && a.map && b.map; i++) {
        worst = fmax(worst, fabs(4.0 * b.map[i] - a.map[i]));
        size = fmax(size, fabs(a.map[i]));
    }
    CHECK(size > 1e-3, "SmoothGrad map all but zero (%.3g)", size);
    CHECK(worst <= 1e-6 * size, "SmoothGrad of 4x with kernel / 4: 4 map - map off by %.3g "
          "(largest %.3g)", worst, size);
    lam_attribution_free(&a);
    lam_attribution_free(&b);
    lam_model_free(m);
}

/* -------------------------------------------------------------- Grad-CAM */

static void test_gradcam(void)
{
    static const char dir[] = "fixtures/gradcam/";
    char path[128];
    snprintf(path, sizeof path, "%smodel.json", dir);
    lam_model *m = NULL;
    if (lam_model_from_json_file(path, &m) != LAM_OK) {
        CHECK(0, "%s: %s", path, lam_last_error());
        return;
    }
    compiled(m);
    long nw = 0, nx = 0, nt = 0;
    float *w = fixture_load("gradcam/weights.npy", &nw);
    float *x = fixture_load("gradcam/x.npy", &nx);
    float *t = fixture_load("gradcam/target.npy", &nt);
    CHECK(w && x && t && nw == lam_model_param_count(m) && nx == 14 * 14 * 2,
          "fixtures: %ld weights for %lld parameters", nw, (long long)lam_model_param_count(m));
    if (!w || !x || !t || nw != lam_model_param_count(m)) goto done;
    memcpy(lam_model_params(m), w, sizeof(float) * (size_t)nw);
    double worst = 0, worst_norm = 0;
    for (int k = 0; k < 2; k++) {
        lam_explain_options o = lam_explain_defaults(LAM_EXPLAIN_GRADCAM);
        o.target = k == 0 ? -1 : (int)t[1];
        lam_scorer sc;
        int node = -1;
        CHECK_OK(lam_gradcam_layer(m, NULL, &node));
        CHECK(node >= 0 && strcmp(m->nodes[node].spec.name, "conv_b") == 0,
              "the last Conv2D is node %d", node);
        CHECK_OK(lam_scorer_init(&sc, m, &o));
        sc.target = (int)t[k];
        float cam[16];
        CHECK_OK(lam_gradcam_grid(&sc, node, x, cam));
        char name[64];
        snprintf(name, sizeof name, "gradcam/heatmap_raw_%d.npy", k);
        float *raw = fixture_load(name, NULL);
        snprintf(name, sizeof name, "gradcam/heatmap_%d.npy", k);
        float *norm = fixture_load(name, NULL);
        CHECK(raw && norm, "%s", name);
        if (!raw || !norm) break;
        float mx = 0;
        for (int i = 0; i < 16; i++) mx = cam[i] > mx ? cam[i] : mx;
        for (int i = 0; i < 16; i++) {
            worst = fmax(worst, fabs(cam[i] - raw[i]));
            worst_norm = fmax(worst_norm, fabs(cam[i] / mx - norm[i]));
            CHECK(fabs(cam[i] - raw[i]) <= 1e-4, "Grad-CAM class %d, cell %d: %.7g, Keras %.7g",
                  (int)t[k], i, cam[i], raw[i]);
        }
        /* The public call: the target, and the grid resized to 14 x 14. */
        lam_attribution a;
        CHECK_OK(lam_explain(m, x, &o, &a));
        CHECK(a.target == (int)t[k], "target %d, Keras %d", a.target, (int)t[k]);
        CHECK(a.rank == 2 && a.shape[0] == 14 && a.shape[1] == 14 && !a.per_position,
              "Grad-CAM map rank %d (%lld, %lld)", a.rank, (long long)a.shape[0],
              (long long)a.shape[1]);
        float up[196];
        lam_resize_bilinear(raw, 4, 4, up, 14, 14);
        for (int i = 0; i < 196 && a.map; i++) CHECK_NEAR(a.map[i], up[i], 1e-4);
        lam_attribution_free(&a);
        free(raw);
        free(norm);
    }
    printf("Grad-CAM vs keras.io's recipe (two classes, 4 x 4 grid): worst |difference| %.2e "
           "raw, %.2e normalised\n", worst, worst_norm);
    /* The named layer is the default here; the first conv gives another map. */
    lam_explain_options o = lam_explain_defaults(LAM_EXPLAIN_GRADCAM);
    o.layer = "conv_b";
    lam_attribution a, b;
    CHECK_OK(lam_explain(m, x, &o, &a));
    o.layer = "conv_a";
    CHECK_OK(lam_explain(m, x, &o, &b));
    int same = 0;
    for (int i = 0; i < 196 && a.map && b.map; i++) same += a.map[i] == b.map[i];
    CHECK(same < 100, "conv_a and conv_b give the same map at %d of 196 pixels", same);
    lam_attribution_free(&a);
    lam_attribution_free(&b);
    /* Errors: a layer that does not exist, one that is not a Conv2D. */
    o.layer = "nope";
    CHECK_FAILS(lam_explain(m, x, &o, &a), LAM_ERR_ARG, "no layer named \"nope\"");
    o.layer = "pool";
    CHECK_FAILS(lam_explain(m, x, &o, &a), LAM_ERR_ARG,
                "layer \"pool\" is MaxPooling2D, not a Conv2D layer");
    CHECK(a.map == NULL, "a failed explanation leaves a map");
done:
    free(w);
    free(x);
    free(t);
    lam_model_free(m);
}

/* Grad-CAM where the weighted sum of activations changes sign: a linear 1x1
 * Conv2D (A = x) read by Dense(1) with weights 1..9, so dScore/dA = those
 * weights, the channel weight is their mean 5 and the map 5 max(x, 0): the
 * negative cells must come out 0, not 5 x. */
static void test_gradcam_relu(void)
{
    lam_model *m = lam_sequential("cam");
    CHECK_OK(lam_model_add_input(m, 3, (int64_t[]){3, 3, 1}));
    CHECK_OK(lam_model_add_conv2d(m, 1, 1, 1, LAM_ACT_LINEAR));
    CHECK_OK(lam_model_add_flatten(m));
    CHECK_OK(lam_model_add_dense(m, 1, LAM_ACT_LINEAR));
    compiled(m);
    for (int i = 0; i < lam_model_num_tensors(m); i++) {
        lam_tensor_info t;
        CHECK_OK(lam_model_tensor(m, i, &t));
        for (int64_t k = 0; k < t.count; k++)
            t.data[k] = strstr(t.name, "bias") ? 0.0f : t.count == 1 ? 1.0f : (float)(k + 1);
    }
    const float x[9] = {0.5f, -1.0f, 2.0f, -0.25f, 1.0f, -3.0f, 0.75f, 0.0f, -0.5f};
    lam_explain_options o = lam_explain_defaults(LAM_EXPLAIN_GRADCAM);
    lam_attribution a;
    CHECK_OK(lam_explain(m, x, &o, &a));
    CHECK(a.size == 9, "Grad-CAM map of %lld values", (long long)a.size);
    int negatives = 0;
    for (int i = 0; i < 9 && a.map; i++) {
        CHECK_NEAR(a.map[i], 5.0 * fmax(x[i], 0.0), 1e-6);
        negatives += x[i] < 0;
    }
    CHECK(negatives >= 3, "only %d negative cells", negatives);
    lam_attribution_free(&a);
    lam_model_free(m);
}

static void test_resize(void)
{
    /* Half-pixel centres (tf.image.resize's bilinear): 2 -> 4 reads 0, 1/4, 3/4, 1. */
    const float src[4] = {0, 1, 2, 3};
    float dst[16];
    lam_resize_bilinear(src, 2, 2, dst, 4, 4);
    const float row0[4] = {0, 0.25f, 0.75f, 1}, col[4] = {0, 0.5f, 1.5f, 2};
    for (int i = 0; i < 4; i++) {
        CHECK_NEAR(dst[i], row0[i], 1e-7);
        CHECK_NEAR(dst[i * 4], col[i], 1e-7);
    }
    lam_resize_bilinear(src, 2, 2, dst, 2, 2); /* the same size: a copy */
    for (int i = 0; i < 4; i++) CHECK_NEAR(dst[i], src[i], 0);
}

/* ------------------------------------------------------------ occlusion */

/* Expected occlusion of a linear score sum w x on H x W x C: for each
 * window the drop sum over it of w (x - fill), averaged per covering window. */
static void expected_occlusion(const float *w, const float *x, int H, int W, int C, int kh,
                               int kw, int sh, int sw, float fill, double *out)
{
    double sum[64] = {0};
    int cnt[64] = {0};
    int ys[16], xs[16], ny = 0, nx = 0;
    for (int y = 0; y + kh <= H; y += sh) ys[ny++] = y;
    if (ys[ny - 1] != H - kh) ys[ny++] = H - kh;
    for (int v = 0; v + kw <= W; v += sw) xs[nx++] = v;
    if (xs[nx - 1] != W - kw) xs[nx++] = W - kw;
    for (int a = 0; a < ny; a++)
        for (int b = 0; b < nx; b++) {
            double drop = 0;
            for (int y = ys[a]; y < ys[a] + kh; y++)
                for (int v = xs[b]; v < xs[b] + kw; v++)
                    for (int c = 0; c < C; c++) {
                        const int i = (y * W + v) * C + c;
                        drop += (double)w[i] * ((double)x[i] - fill);
                    }
            for (int y = ys[a]; y < ys[a] + kh; y++)
                for (int v = xs[b]; v < xs[b] + kw; v++) {
                    sum[y * W + v] += drop;
                    cnt[y * W + v]++;
                }
        }
    for (int p = 0; p < H * W; p++)
        for (int c = 0; c < C; c++) out[p * C + c] = cnt[p] ? sum[p] / cnt[p] : 0.0;
}

static void test_occlusion(void)
{
    /* Images: (4, 5, 2) -> Flatten -> Dense(1): score = w . x + b. */
    lam_model *m = lam_sequential("linear_image");
    CHECK_OK(lam_model_add_input(m, 3, (int64_t[]){4, 5, 2}));
    CHECK_OK(lam_model_add_flatten(m));
    CHECK_OK(lam_model_add_dense(m, 1, LAM_ACT_LINEAR));
    compiled(m);
    float x[40];
    fill_uniform(x, 40, 0.0f, 1.0f);
    lam_model_params(m)[40] = 0.3f; /* a bias, which occlusion must not see */
    const struct { int kh, kw, sh, sw; float fill; } cases[] = {
        {2, 2, 2, 2, 0.0f}, {2, 3, 1, 1, 0.0f}, {3, 2, 2, 2, 0.5f}, {4, 5, 1, 1, -1.0f},
        {1, 1, 3, 3, 0.0f}};
    double worst = 0;
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        lam_explain_options o = lam_explain_defaults(LAM_EXPLAIN_OCCLUSION);
        o.window[0] = cases[k].kh;
        o.window[1] = cases[k].kw;
        o.stride[0] = cases[k].sh;
        o.stride[1] = cases[k].sw;
        o.fill = cases[k].fill;
        o.batch = 3;
        lam_attribution a;
        CHECK_OK(lam_explain(m, x, &o, &a));
        double e[40];
        expected_occlusion(lam_model_params(m), x, 4, 5, 2, cases[k].kh, cases[k].kw,
                           cases[k].sh, cases[k].sw, cases[k].fill, e);
        for (int i = 0; i < 40 && a.map; i++) {
            worst = fmax(worst, fabs(a.map[i] - e[i]));
            CHECK(fabs(a.map[i] - e[i]) < 1e-5, "occlusion case %zu, value %d: %.7g, expected "
                  "%.7g", k, i, a.map[i], e[i]);
        }
        lam_attribution_free(&a);
    }
    lam_model_free(m);
    /* Sequences (6, 3): windows of positions over all features. */
    m = lam_sequential("linear_sequence");
    CHECK_OK(lam_model_add_input(m, 2, (int64_t[]){6, 3}));
    CHECK_OK(lam_model_add_flatten(m));
    CHECK_OK(lam_model_add_dense(m, 1, LAM_ACT_LINEAR));
    compiled(m);
    lam_explain_options o = lam_explain_defaults(LAM_EXPLAIN_OCCLUSION);
    o.window[0] = 2;
    o.stride[0] = 1;
    o.window[1] = 99; /* images only */
    lam_attribution a;
    CHECK_OK(lam_explain(m, x, &o, &a));
    double e[18];
    expected_occlusion(lam_model_params(m), x, 6, 1, 3, 2, 1, 1, 1, 0.0f, e);
    for (int i = 0; i < 18 && a.map; i++) {
        worst = fmax(worst, fabs(a.map[i] - e[i]));
        CHECK(fabs(a.map[i] - e[i]) < 1e-5, "sequence occlusion %d: %.7g, expected %.7g", i,
              a.map[i], e[i]);
    }
    CHECK(a.positions == 6 && a.per_position, "sequence occlusion: %lld positions",
          (long long)a.positions);
    for (int t = 0; t < 6 && a.per_position; t++)
        CHECK_NEAR(a.per_position[t], 3 * e[3 * t], 1e-5);
    CHECK(a.evaluations == 6, "evaluations %lld (5 windows + x)", (long long)a.evaluations);
    printf("occlusion on linear scores (5 image cases, 1 sequence): worst |difference| %.2e\n",
           worst);
    lam_attribution_free(&a);
    lam_model_free(m);
}

/* ----------------------------------------------------------- token ids */

static void test_tokens(void)
{
    lam_model *m = token_transformer(false);
    const float ids[6] = {3, 7, 1, 5, 9, 0}; /* distinct, the last one padding */
    lam_explain_options o = lam_explain_defaults(LAM_EXPLAIN_GRAD_X_INPUT);
    lam_attribution a;
    CHECK_OK(lam_explain(m, ids, &o, &a));
    CHECK(a.rank == 1 && a.shape[0] == 6 && a.positions == 6 && a.per_position,
          "token gradxinput: rank %d, %lld positions", a.rank, (long long)a.positions);
    /* The gradient at the embedding's output, position t, feature f, is the
     * gradient of the token table's row ids[t] (each id appears once): check
     * gradient x embedding, summed per position, against differences on the
     * table. The embedding's output is token + position rows. */
    const lam_node *emb = &m->nodes[1];
    CHECK_OK(lam_model_plan(m, 1));
    memcpy(lam_model_input_buffer(m, 0), ids, sizeof ids);
    CHECK_OK(lam_forward(m, 1, LAM_MODE_INFER_GRAD));
    float e[48];
    memcpy(e, emb->value, sizeof e);
    float *table = lam_model_params(m) + emb->param_offset; /* token rows first */
    double worst = 0;
    for (int t = 0; t < 6 && a.per_position; t++) {
        double expect = 0;
        for (int f = 0; f < 8; f++) {
            float *v = &table[(int)ids[t] * 8 + f];
            const float old = *v;
            *v = old + 1e-2f;
            const double sp = score_at(m, ids, a.target, LAM_SCORE_LOGIT);
            *v = old - 1e-2f;
            const double sm = score_at(m, ids, a.target, LAM_SCORE_LOGIT);
            *v = old;
            expect += (sp - sm) / 2e-2 * e[t * 8 + f];
        }
        const double err = rel_err(a.per_position[t], expect);
        worst = fmax(worst, err);
        CHECK(err <= 1e-3, "token %d: gradient x input %.7g, differences %.7g", t,
              a.per_position[t], expect);
        CHECK(a.map[t] == a.per_position[t], "token map %d", t);
    }
    /* The padded position is masked out of attention and pooling: nothing. */
    CHECK(a.per_position && a.per_position[5] == 0.0f, "padding position: %.3g",
          a.per_position ? a.per_position[5] : 1.0);
    printf("token ids, gradient x embedding per position vs differences on the table: worst "
           "relative error %.2e\n", worst);
    lam_attribution_free(&a);
    /* Integrated gradients from the zero embedding. */
    o = lam_explain_defaults(LAM_EXPLAIN_IG);
    o.steps = 128;
    CHECK_OK(lam_explain(m, ids, &o, &a));
    const double gap = a.score - a.baseline_score;
    CHECK(fabs(a.completeness_delta) <= 1e-4 * fabs(gap), "token IG: delta %.3g of %.3g",
          a.completeness_delta, gap);
    printf("token ids, IG (128 Gauss-Legendre nodes from the zero embedding): |delta| %.2e of "
           "|score - baseline| %.3f\n", fabs(a.completeness_delta), fabs(gap));
    lam_attribution_free(&a);
    o.baseline = LAM_BASELINE_BLUR;
    CHECK_FAILS(lam_explain(m, ids, &o, &a), LAM_ERR_UNSUPPORTED, "zero embedding");
    o = lam_explain_defaults(LAM_EXPLAIN_SMOOTHGRAD);
    CHECK_FAILS(lam_explain(m, ids, &o, &a), LAM_ERR_UNSUPPORTED, "token ids");
    /* Occlusion of tokens: windows of ids replaced by the fill (0, padding). */
    o = lam_explain_defaults(LAM_EXPLAIN_OCCLUSION);
    o.window[0] = 1;
    o.stride[0] = 1;
    CHECK_OK(lam_explain(m, ids, &o, &a));
    CHECK(a.rank == 1 && a.positions == 6 && a.per_position && a.map[5] == 0.0f,
          "token occlusion: rank %d", a.rank);
    lam_attribution_free(&a);
    lam_model_free(m);
}

/* -------------------------------------------------------- attention weights */

static void test_attention_weights(void)
{
    lam_model *m = token_transformer(true);
    const float ids[6] = {3, 7, 1, 5, 0, 0};
    float *w = NULL;
    int heads = 0;
    int64_t tq = 0, tk = 0;
    lam_status st = lam_attention_weights(m, ids, "mha", &w, &heads, &tq, &tk);
    CHECK_OK(st);
    if (st == LAM_OK) {
        CHECK(heads == 2 && tq == 6 && tk == 6, "%d heads, %lld x %lld", heads, (long long)tq,
              (long long)tk);
        /* Rows sum to 1; causal and padding keys weigh 0. */
        for (int h = 0; h < heads; h++)
            for (int t = 0; t < 6; t++) {
                double s = 0;
                for (int j = 0; j < 6; j++) {
                    const float v = w[(h * 6 + t) * 6 + j];
                    s += v;
                    if (t < 4 && (j > t || j >= 4))
                        CHECK(v == 0.0f, "head %d, query %d, key %d: %.3g", h, t, j, v);
                }
                CHECK_NEAR(s, 1.0, 1e-6);
            }
        /* Query 0 sees only key 0. */
        CHECK_NEAR(w[0], 1.0, 1e-7);
        /* By hand for head 1, query 3: softmax of q.k / sqrt(4) over keys 0..3,
         * from the node's projections (query/kernel, key/kernel; zero biases). */
        const lam_node *mha = &m->nodes[2];
        const lam_node *emb = &m->nodes[1];
        const float *P = lam_model_params(m) + mha->param_offset;
        const float *Wq = P, *Wk = P + 8 * 8 + 8; /* kernel (8, 2, 4), bias (2, 4) */
        double sc[4], mx = -1e300, z = 0;
        for (int j = 0; j < 4; j++) {
            double d = 0;
            for (int c = 0; c < 4; c++) {
                double q = 0, k = 0;
                for (int i = 0; i < 8; i++) {
                    q += (double)emb->value[3 * 8 + i] * Wq[i * 8 + 4 + c];
                    k += (double)emb->value[j * 8 + i] * Wk[i * 8 + 4 + c];
                }
                d += q * k;
            }
            sc[j] = d / 2.0;
            mx = fmax(mx, sc[j]);
        }
        for (int j = 0; j < 4; j++) z += exp(sc[j] - mx);
        for (int j = 0; j < 4; j++)
            CHECK_NEAR(w[(1 * 6 + 3) * 6 + j], exp(sc[j] - mx) / z, 1e-6);
        free(w);
    }
    CHECK_FAILS(lam_attention_weights(m, ids, "embed", &w, &heads, &tq, &tk), LAM_ERR_ARG,
                "not a MultiHeadAttention");
    CHECK_FAILS(lam_attention_weights(m, ids, "nope", &w, &heads, &tq, &tk), LAM_ERR_ARG,
                "no layer named \"nope\"");
    lam_model_free(m);
}

/* ---------------------------------------------------------------- errors */

static void test_errors(void)
{
    lam_model *m = small_cnn();
    float x[100];
    fill_uniform(x, 100, 0.0f, 1.0f);
    lam_attribution a;
    lam_explain_options o = lam_explain_defaults(LAM_EXPLAIN_SALIENCY);
    o.target = 5;
    CHECK_FAILS(lam_explain(m, x, &o, &a), LAM_ERR_ARG, "has 5 classes");
    o.target = -2;
    CHECK_FAILS(lam_explain(m, x, &o, &a), LAM_ERR_ARG, "class -2 is out of range");
    o.target = -1;
    o.output = 1;
    CHECK_FAILS(lam_explain(m, x, &o, &a), LAM_ERR_ARG, "output 1");
    o.output = 0;
    o.batch = 0;
    CHECK_FAILS(lam_explain(m, x, &o, &a), LAM_ERR_ARG, "batch 0");
    o.batch = 4;
    CHECK_FAILS(lam_explain(m, NULL, &o, &a), LAM_ERR_ARG, "NULL input x");
    o.score = 7;
    CHECK_FAILS(lam_explain(m, x, &o, &a), LAM_ERR_ARG, "score 7");
    o = lam_explain_defaults(LAM_EXPLAIN_IG);
    o.steps = 0;
    CHECK_FAILS(lam_explain(m, x, &o, &a), LAM_ERR_ARG, "steps is 0");
    o.steps = 1;
    o.quadrature = LAM_QUAD_TRAPEZOID;
    CHECK_FAILS(lam_explain(m, x, &o, &a), LAM_ERR_ARG, "steps is 1");
    o = lam_explain_defaults(LAM_EXPLAIN_IG);
    o.baseline = LAM_BASELINE_INPUT;
    CHECK_FAILS(lam_explain(m, x, &o, &a), LAM_ERR_ARG, "needs baseline_input (100 floats)");
    o.baseline = LAM_BASELINE_BLUR;
    o.blur_sigma = 0;
    CHECK_FAILS(lam_explain(m, x, &o, &a), LAM_ERR_ARG, "blur_sigma is 0");
    o = lam_explain_defaults(LAM_EXPLAIN_IG);
    o.exact = true; /* the walk's own refusal or result comes back */
    lam_status st = lam_explain(m, x, &o, &a);
    if (st == LAM_OK) lam_attribution_free(&a);
    else CHECK(strstr(lam_last_error(), "exact") || strstr(lam_last_error(), "linear"),
               "exact IG: %s", lam_last_error());
    o = lam_explain_defaults(LAM_EXPLAIN_SMOOTHGRAD);
    o.samples = 0;
    CHECK_FAILS(lam_explain(m, x, &o, &a), LAM_ERR_ARG, "samples is 0");
    o.samples = 1;
    o.noise_level = -1;
    CHECK_FAILS(lam_explain(m, x, &o, &a), LAM_ERR_ARG, "noise_level is -1");
    o = lam_explain_defaults(LAM_EXPLAIN_OCCLUSION);
    o.window[0] = 11;
    CHECK_FAILS(lam_explain(m, x, &o, &a), LAM_ERR_ARG, "window 11 x 4 does not fit");
    o.window[0] = 2;
    o.stride[1] = 0;
    CHECK_FAILS(lam_explain(m, x, &o, &a), LAM_ERR_ARG, "stride 2 x 0");
    o = lam_explain_defaults(LAM_EXPLAIN_GRADCAM);
    o.layer = "dense";
    CHECK_FAILS(lam_explain(m, x, &o, &a), LAM_ERR_ARG, "layer \"dense\" is Dense, not a "
                "Conv2D");
    o = lam_explain_defaults((lam_explain_method)99);
    CHECK_FAILS(lam_explain(m, x, &o, &a), LAM_ERR_ARG, "method 99");
    lam_explain_method me;
    CHECK_FAILS(lam_explain_method_parse("lime", &me), LAM_ERR_ARG, "\"lime\" is unknown");
    for (int k = 0; k < LAM_EXPLAIN_METHOD_COUNT; k++) {
        CHECK_OK(lam_explain_method_parse(lam_explain_method_name(k), &me));
        CHECK(me == (lam_explain_method)k, "%s parses to %d", lam_explain_method_name(k), me);
    }
    lam_model_free(m);
    /* Grad-CAM on a model without Conv2D or an image input. */
    lam_model *l = stacked_lstm();
    o = lam_explain_defaults(LAM_EXPLAIN_GRADCAM);
    CHECK_FAILS(lam_explain(l, x, &o, &a), LAM_ERR_SHAPE, "explains images");
    lam_model_free(l);
    /* Two inputs. */
    lam_model *two = lam_model_new("two");
    int i1, i2, c, y;
    CHECK_OK(lam_model_input(two, "a", 1, (int64_t[]){3}, &i1));
    CHECK_OK(lam_model_input(two, "b", 1, (int64_t[]){3}, &i2));
    CHECK_OK(call(two, lam_layer_defaults(LAM_LAYER_CONCATENATE), 2, (int[]){i1, i2}, &c));
    lam_layer_spec d = lam_layer_defaults(LAM_LAYER_DENSE);
    d.units = 2;
    CHECK_OK(call(two, d, 1, &c, &y));
    compiled(two);
    o = lam_explain_defaults(LAM_EXPLAIN_SALIENCY);
    CHECK_FAILS(lam_explain(two, x, &o, &a), LAM_ERR_UNSUPPORTED, "has 2 inputs");
    lam_model_free(two);
}

/* ------------------------------------------------------------- timing */

/* IG, 50 Gauss-Legendre steps, one 28 x 28 image, the seed CNN (random
 * weights): printed for the record, not checked. */
static void time_seed_cnn(void)
{
    lam_model *m = NULL;
    if (lam_model_from_json_file("../examples/seed_cnn.json", &m) != LAM_OK) return;
    compiled(m);
    float *x = malloc(sizeof(float) * 784);
    fill_uniform(x, 784, 0.0f, 1.0f);
    lam_explain_options o = lam_explain_defaults(LAM_EXPLAIN_IG);
    lam_attribution a;
    CHECK_OK(lam_explain(m, x, &o, &a)); /* warm: plans the model */
    lam_attribution_free(&a);
    const double t0 = lam_now();
    CHECK_OK(lam_explain(m, x, &o, &a));
    const double t1 = lam_now();
    printf("IG, 50 steps, seed CNN, one 28 x 28 image: %.1f ms (|delta| %.2e of %.3f)\n",
           (t1 - t0) * 1e3, fabs(a.completeness_delta), fabs(a.score - a.baseline_score));
    lam_attribution_free(&a);
    free(x);
    lam_model_free(m);
}

int main(void)
{
    test_quadrature();
    test_resize();
    test_gradients();
    test_integrated_gradients();
    test_smoothgrad_scale();
    test_gradcam();
    test_gradcam_relu();
    test_occlusion();
    test_tokens();
    test_attention_weights();
    test_errors();
    time_seed_cnn();
    return test_summary("test_explain");
}
