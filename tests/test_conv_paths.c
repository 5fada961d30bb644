/* test_conv_paths.c - every Conv2D algorithm family (im2col, direct, Winograd
 * F(2x2, 3x3), Winograd F(4x4, 3x3)), each forced through
 * lam_layer_spec.conv_algo, through a whole model: the forward pass against a
 * naive convolution in double, and the input gradient and the kernel and bias
 * gradients against a naive backward pass in double AND against central
 * finite differences of the loss. Shapes cover paddings (odd "same" totals),
 * strides, non-square kernels, partial Winograd tiles, channel and filter
 * counts off the vector widths, batch > 1 (a per-image bias or weight sum
 * would pass at batch 1), with and without bias, linear / tanh / ReLU.
 * Also: a forced family that does not apply is refused at build, naming the
 * layer, and AUTO picks the family the performance notes promise.
 *
 * The model is Input -> Conv2D -> Flatten; the gradients are those of
 * L = sum_i w_i y_i for fixed random w (written as the output gradient
 * through the public step API), so no loss of the library is involved and
 * L is linear in y: with a linear activation central differences are exact
 * whatever eps. */
#include "core/model.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

/* ---- the one internal read: which family build chose. conv2d.c keeps it
 * as the first (enum) member of the node's private state (conv_priv),
 * in the order 0 im2col, 1 winograd2, 2 winograd4, 3 direct. ---- */
static lam_conv_algo chosen_algo(lam_model *m, int i)
{
    static const lam_conv_algo map[] = {LAM_CONV_IM2COL, LAM_CONV_WINOGRAD2, LAM_CONV_WINOGRAD4,
                                        LAM_CONV_DIRECT};
    const int *priv = m->nodes[i].priv;
    int a = priv ? *priv : -1;
    return a >= 0 && a < 4 ? map[a] : LAM_CONV_AUTO;
}

/* One training-mode forward and backward of the batch x with the output
 * gradient dL/dy = dy (public step API): the parameter gradients land in
 * lam_model_grads(m); the input gradient is copied into dx (NULL: not
 * asked for, which selects the direct kernel's fused ReLU-mask path). */
static lam_status model_gradients(lam_model *m, const float *x, const float *dy, int batch,
                                  float *dx)
{
    LAM_TRY(lam_model_plan(m, batch));
    const int64_t in = lam_model_input_size(m), D = lam_model_output_size(m);
    memcpy(lam_model_input_buffer(m, 0), x, sizeof(float) * (size_t)(batch * in));
    LAM_TRY(lam_forward(m, batch, LAM_MODE_TRAIN));
    memcpy(lam_model_output_grad(m, 0), dy, sizeof(float) * (size_t)(batch * D));
    LAM_TRY(lam_backward(m, batch, dx != NULL));
    if (dx) memcpy(dx, lam_model_input_grad(m, 0), sizeof(float) * (size_t)(batch * in));
    return LAM_OK;
}

/* ---- the test ---- */

typedef struct {
    int N, H, W, C, F, kh, kw, sh, sw;
    lam_padding pad;
    lam_activation act;
    bool bias;
} conv_case;

typedef struct {
    int OH, OW, PT, PL;
} geometry;

/* Keras's output size and padding: "same" puts the odd pixel bottom/right. */
static geometry geometry_of(const conv_case *c)
{
    geometry g;
    if (c->pad == LAM_PAD_SAME) {
        g.OH = (c->H + c->sh - 1) / c->sh;
        g.OW = (c->W + c->sw - 1) / c->sw;
        int ph = (g.OH - 1) * c->sh + c->kh - c->H, pw = (g.OW - 1) * c->sw + c->kw - c->W;
        g.PT = ph > 0 ? ph / 2 : 0;
        g.PL = pw > 0 ? pw / 2 : 0;
    } else {
        g.OH = (c->H - c->kh) / c->sh + 1;
        g.OW = (c->W - c->kw) / c->sw + 1;
        g.PT = g.PL = 0;
    }
    return g;
}

static int64_t xi(const conv_case *c, int n, int h, int w, int ch)
{
    return (((int64_t)n * c->H + h) * c->W + w) * c->C + ch;
}
static int64_t ki(const conv_case *c, int kh, int kw, int ch, int f)
{
    return (((int64_t)kh * c->kw + kw) * c->C + ch) * c->F + f;
}

/* z = conv(x, k) + b in double (pre-activation), NHWC, kernel [kh, kw, C, F]. */
static void naive_forward(const conv_case *c, const geometry *g, const float *x, const float *k,
                          const float *b, double *z)
{
    for (int n = 0; n < c->N; n++)
        for (int oh = 0; oh < g->OH; oh++)
            for (int ow = 0; ow < g->OW; ow++)
                for (int f = 0; f < c->F; f++) {
                    double s = b ? b[f] : 0.0;
                    for (int a = 0; a < c->kh; a++)
                        for (int e = 0; e < c->kw; e++) {
                            int ih = oh * c->sh + a - g->PT, iw = ow * c->sw + e - g->PL;
                            if (ih < 0 || ih >= c->H || iw < 0 || iw >= c->W) continue;
                            for (int ch = 0; ch < c->C; ch++)
                                s += (double)x[xi(c, n, ih, iw, ch)] * k[ki(c, a, e, ch, f)];
                        }
                    z[(((int64_t)n * g->OH + oh) * g->OW + ow) * c->F + f] = s;
                }
}

/* From dz (gradient w.r.t. the pre-activation): dk, db, dx in double. */
static void naive_backward(const conv_case *c, const geometry *g, const float *x, const float *k,
                           const double *dz, double *dk, double *db, double *dx)
{
    memset(dk, 0, sizeof(double) * (size_t)(c->kh * c->kw * c->C * c->F));
    memset(db, 0, sizeof(double) * (size_t)c->F);
    memset(dx, 0, sizeof(double) * (size_t)((int64_t)c->N * c->H * c->W * c->C));
    for (int n = 0; n < c->N; n++)
        for (int oh = 0; oh < g->OH; oh++)
            for (int ow = 0; ow < g->OW; ow++)
                for (int f = 0; f < c->F; f++) {
                    double d = dz[(((int64_t)n * g->OH + oh) * g->OW + ow) * c->F + f];
                    db[f] += d;
                    for (int a = 0; a < c->kh; a++)
                        for (int e = 0; e < c->kw; e++) {
                            int ih = oh * c->sh + a - g->PT, iw = ow * c->sw + e - g->PL;
                            if (ih < 0 || ih >= c->H || iw < 0 || iw >= c->W) continue;
                            for (int ch = 0; ch < c->C; ch++) {
                                dk[ki(c, a, e, ch, f)] += (double)x[xi(c, n, ih, iw, ch)] * d;
                                dx[xi(c, n, ih, iw, ch)] += (double)k[ki(c, a, e, ch, f)] * d;
                            }
                        }
                }
}

static double activate(lam_activation act, double z)
{
    switch (act) {
    case LAM_ACT_TANH: return tanh(z);
    case LAM_ACT_RELU: return z > 0 ? z : 0;
    default: return z;
    }
}

/* Largest |a - ref| over the largest |ref|: an error on the arrays' scale. */
static double scaled_error(const float *a, const double *ref, int64_t n)
{
    double worst = 0, scale = 1e-30;
    for (int64_t i = 0; i < n; i++) scale = fmax(scale, fabs(ref[i]));
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - ref[i]);
        if (!(d <= worst)) worst = d; /* NaN counts as the worst */
    }
    return worst / scale;
}

/* L = sum w . y of the model's inference output, in double. */
static double loss_of(lam_model *m, const float *x, const float *w, int N, float *ybuf)
{
    if (lam_predict_raw(m, x, N, ybuf) != LAM_OK) return NAN;
    const int64_t D = lam_model_output_size(m);
    double s = 0;
    for (int64_t i = 0; i < N * D; i++) s += (double)w[i] * ybuf[i];
    return s;
}

static const char *algo_name(lam_conv_algo a)
{
    static const char *const names[] = {"auto", "im2col", "winograd2", "winograd4", "direct"};
    return (unsigned)a < LAM_CONV_ALGO_COUNT ? names[a] : "?";
}

static lam_model *conv_model(const conv_case *c, lam_conv_algo algo, lam_status *st)
{
    lam_model *m = lam_sequential("conv_paths");
    lam_model_set_seed(m, 5);
    CHECK_OK(lam_model_add_input(m, 3, (int64_t[]){c->H, c->W, c->C}));
    lam_layer_spec s = lam_layer_defaults(LAM_LAYER_CONV2D);
    s.units = c->F;
    s.kernel[0] = c->kh;
    s.kernel[1] = c->kw;
    s.strides[0] = c->sh;
    s.strides[1] = c->sw;
    s.padding = c->pad;
    s.activation = c->act;
    s.use_bias = c->bias;
    s.conv_algo = algo;
    *st = lam_model_add(m, &s);
    if (*st == LAM_OK) {
        CHECK_OK(lam_model_add_flatten(m));
        lam_optimizer sgd = lam_sgd();
        CHECK_OK(lam_model_compile(m, &sgd, LAM_LOSS_MSE));
    }
    return m;
}

static double worst_fwd[LAM_CONV_ALGO_COUNT], worst_bwd[LAM_CONV_ALGO_COUNT],
    worst_fd[LAM_CONV_ALGO_COUNT];

static void check_case(lam_conv_algo algo, const conv_case *c)
{
    char what[160];
    snprintf(what, sizeof what, "%s N=%d %dx%dx%d F=%d k%dx%d s%dx%d %s %s%s", algo_name(algo),
             c->N, c->H, c->W, c->C, c->F, c->kh, c->kw, c->sh, c->sw,
             c->pad == LAM_PAD_SAME ? "same" : "valid", lam_activation_name(c->act),
             c->bias ? " bias" : "");
    lam_status st;
    lam_model *m = conv_model(c, algo, &st);
    CHECK(st == LAM_OK, "%s: build refused: %s", what, lam_last_error());
    if (st != LAM_OK) {
        lam_model_free(m);
        return;
    }
    /* The option is honoured, not silently replaced by the automatic choice. */
    CHECK(chosen_algo(m, 1) == algo, "%s: build chose %s", what, algo_name(chosen_algo(m, 1)));

    const geometry g = geometry_of(c);
    const int64_t nx = (int64_t)c->N * c->H * c->W * c->C, D = (int64_t)g.OH * g.OW * c->F;
    const int64_t ny = c->N * D, nk = (int64_t)c->kh * c->kw * c->C * c->F;
    CHECK(lam_model_output_size(m) == D, "%s: output size %lld, expected %lld", what,
          (long long)lam_model_output_size(m), (long long)D);
    CHECK(lam_model_param_count(m) == nk + (c->bias ? c->F : 0), "%s: %lld parameters", what,
          (long long)lam_model_param_count(m));

    /* Fixed weights through the public tensor API. */
    lam_tensor_info kt, bt = {0};
    CHECK_OK(lam_model_tensor(m, 0, &kt));
    if (c->bias) CHECK_OK(lam_model_tensor(m, 1, &bt));
    for (int64_t i = 0; i < nk; i++) kt.data[i] = 0.5f * test_rndf();
    for (int i = 0; c->bias && i < c->F; i++) bt.data[i] = 0.5f * test_rndf();
    float *x = malloc(sizeof(float) * (size_t)nx), *t = malloc(sizeof(float) * (size_t)ny);
    float *y = malloc(sizeof(float) * (size_t)ny), *dx = malloc(sizeof(float) * (size_t)nx);
    float *yfd = malloc(sizeof(float) * (size_t)ny);
    float *gp = malloc(sizeof(float) * (size_t)(nk + c->F));
    double *z = malloc(sizeof(double) * (size_t)ny), *yr = malloc(sizeof(double) * (size_t)ny);
    double *dz = malloc(sizeof(double) * (size_t)ny);
    double *dkr = malloc(sizeof(double) * (size_t)nk), *dbr = malloc(sizeof(double) * (size_t)c->F);
    double *dxr = malloc(sizeof(double) * (size_t)nx);
    for (int64_t i = 0; i < nx; i++) x[i] = test_rndf();
    for (int64_t i = 0; i < ny; i++) t[i] = 0.5f * test_rndf(); /* dL/dy: the w of L = sum w.y */

    /* Forward (inference) against the naive convolution. */
    CHECK_OK(lam_predict_raw(m, x, c->N, y));
    naive_forward(c, &g, x, kt.data, c->bias ? bt.data : NULL, z);
    for (int64_t i = 0; i < ny; i++) yr[i] = activate(c->act, z[i]);
    /* F(4x4) rounds more: its transforms have factors up to 8 and 1/24. */
    const double tol = algo == LAM_CONV_WINOGRAD4 ? 3e-5 : 1e-5;
    double e = scaled_error(y, yr, ny);
    worst_fwd[algo] = fmax(worst_fwd[algo], e);
    CHECK(e <= tol, "%s: forward error %.3g", what, e);

    /* Gradients against the naive backward pass: dL/dy = t, times the
     * activation's derivative at the model's own y. */
    for (int pass = 0; pass < 2; pass++) {
        const bool with_dx = pass == 0;
        CHECK_OK(model_gradients(m, x, t, c->N, with_dx ? dx : NULL));
        const float *gr = lam_model_grads(m);
        for (int64_t i = 0; i < ny; i++) {
            double dy = t[i];
            if (c->act == LAM_ACT_TANH) dy *= 1.0 - (double)y[i] * y[i];
            if (c->act == LAM_ACT_RELU) dy = y[i] > 0 ? dy : 0.0;
            dz[i] = dy;
        }
        naive_backward(c, &g, x, kt.data, dz, dkr, dbr, dxr);
        double ek = scaled_error(gr, dkr, nk);
        double eb = c->bias ? scaled_error(gr + nk, dbr, c->F) : 0;
        double ex = with_dx ? scaled_error(dx, dxr, nx) : 0;
        worst_bwd[algo] = fmax(worst_bwd[algo], fmax(ek, fmax(eb, ex)));
        CHECK(ek <= tol, "%s%s: kernel gradient error %.3g", what, with_dx ? "" : " (no dx)", ek);
        CHECK(eb <= tol, "%s%s: bias gradient error %.3g", what, with_dx ? "" : " (no dx)", eb);
        CHECK(ex <= tol, "%s: input gradient error %.3g", what, ex);
        if (with_dx) memcpy(gp, gr, sizeof(float) * (size_t)(nk + (c->bias ? c->F : 0)));
    }
    /* Gradients are written, not accumulated: the same call again gives
     * the same bits. */
    CHECK_OK(model_gradients(m, x, t, c->N, dx));
    CHECK(memcmp(gp, lam_model_grads(m), sizeof(float) * (size_t)(nk + (c->bias ? c->F : 0))) == 0,
          "%s: parameter gradients changed on a second call", what);

    /* Finite differences of the loss (ReLU's kink makes them unreliable;
     * the naive comparison above covers it). With a linear output the loss
     * is quadratic in every coordinate, so central differences are exact up
     * to float rounding whatever eps, and a large eps drowns the rounding of
     * the float outputs (Winograd F(4x4)'s is 3e-6 of their scale); tanh
     * needs a smaller one and Richardson's extrapolation (error O(eps^4)). */
    if (c->act != LAM_ACT_RELU) {
        const float eps = c->act == LAM_ACT_LINEAR ? 0.5f : 0.04f;
        float *p = lam_model_params(m);
        const int64_t np = nk + (c->bias ? c->F : 0);
        /* Errors relative to each coordinate, with a floor at 1% of the
         * largest gradient of its kind (parameters, inputs): below that the
         * loss's float rounding, not the gradient, decides. */
        double gmax_p = 0, gmax_x = 0;
        for (int64_t i = 0; i < np; i++) gmax_p = fmax(gmax_p, fabs(gp[i]));
        for (int64_t i = 0; i < nx; i++) gmax_x = fmax(gmax_x, fabs(dx[i]));
        /* F(4x4)'s outputs round 10x more, and the differences with them. */
        const double fd_tol = algo == LAM_CONV_WINOGRAD4 ? 1e-2 : 2e-3;
        double worst = 0;
        int bad = 0;
        for (int64_t i = 0; i < np + nx; i++) {
            float *v = i < np ? &p[i] : &x[i - np];
            const double a = i < np ? gp[i] : dx[i - np];
            const float old = *v;
            double d[2];
            for (int r = 0; r < 2; r++) {
                const float h = r ? eps / 2 : eps;
                *v = old + h;
                double lp = loss_of(m, x, t, c->N, yfd);
                *v = old - h;
                double lm = loss_of(m, x, t, c->N, yfd);
                d[r] = (lp - lm) / (2.0 * h);
            }
            *v = old;
            /* Richardson: the eps^2 terms of the two central differences cancel. */
            double num = (4.0 * d[1] - d[0]) / 3.0;
            double err = fabs(a - num) / fmax(fmax(fabs(a), fabs(num)),
                                              1e-2 * (i < np ? gmax_p : gmax_x));
            if (!(err <= worst)) worst = err;
            if (!(err <= fd_tol) && bad++ < 3)
                CHECK(0, "%s: %s %lld: analytic %.7g, numeric %.7g", what,
                      i < np ? "parameter" : "input", (long long)(i < np ? i : i - np), a, num);
        }
        worst_fd[algo] = fmax(worst_fd[algo], worst);
        CHECK(bad == 0, "%s: %d coordinates off the finite differences (worst %.3g)", what, bad,
              worst);
    }
    free(x), free(t), free(y), free(dx), free(yfd), free(gp), free(z), free(yr), free(dz);
    free(dkr), free(dbr), free(dxr);
    lam_model_free(m);
}

/* Shapes where each family applies. N >= 2 throughout. */
static const conv_case any_window[] = {
    {2, 5, 6, 3, 4, 3, 2, 1, 2, LAM_PAD_VALID, LAM_ACT_LINEAR, true},
    {3, 6, 5, 2, 3, 3, 3, 2, 2, LAM_PAD_SAME, LAM_ACT_TANH, true},
    {2, 8, 7, 2, 4, 3, 3, 2, 2, LAM_PAD_SAME, LAM_ACT_LINEAR, false}, /* odd and even pad totals */
    {2, 4, 4, 2, 3, 1, 1, 1, 1, LAM_PAD_SAME, LAM_ACT_RELU, true},
    {2, 7, 6, 9, 5, 3, 3, 1, 1, LAM_PAD_SAME, LAM_ACT_TANH, true},   /* auto would be Winograd */
    {2, 9, 8, 2, 3, 4, 4, 3, 2, LAM_PAD_SAME, LAM_ACT_RELU, true},
};
static const conv_case direct_shapes[] = {  /* kh * kw * C <= 64 */
    {3, 6, 6, 1, 5, 3, 3, 1, 1, LAM_PAD_VALID, LAM_ACT_LINEAR, true},
    {2, 7, 6, 2, 3, 3, 3, 2, 2, LAM_PAD_SAME, LAM_ACT_TANH, true},
    {2, 5, 7, 3, 17, 2, 3, 1, 2, LAM_PAD_SAME, LAM_ACT_LINEAR, false},
    {2, 6, 5, 4, 4, 4, 4, 1, 1, LAM_PAD_SAME, LAM_ACT_TANH, true},    /* K = 64, the limit */
    {2, 6, 6, 2, 9, 3, 3, 1, 1, LAM_PAD_SAME, LAM_ACT_RELU, true},    /* fused ReLU and mask */
    {3, 5, 5, 1, 33, 3, 3, 1, 1, LAM_PAD_VALID, LAM_ACT_RELU, false},
};
static const conv_case winograd_shapes[] = { /* 3x3, strides 1 */
    {2, 6, 5, 9, 3, 3, 3, 1, 1, LAM_PAD_SAME, LAM_ACT_LINEAR, true},  /* partial tiles */
    {2, 4, 7, 8, 2, 3, 3, 1, 1, LAM_PAD_VALID, LAM_ACT_TANH, true},
    {3, 7, 9, 3, 5, 3, 3, 1, 1, LAM_PAD_SAME, LAM_ACT_LINEAR, false},
    {2, 3, 3, 2, 4, 3, 3, 1, 1, LAM_PAD_SAME, LAM_ACT_TANH, true},    /* padding most of it */
    {2, 10, 10, 8, 6, 3, 3, 1, 1, LAM_PAD_VALID, LAM_ACT_LINEAR, true}, /* whole 4x4 tiles */
    {2, 8, 6, 9, 17, 3, 3, 1, 1, LAM_PAD_SAME, LAM_ACT_RELU, true},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void check_paths(void)
{
    for (size_t i = 0; i < COUNT(any_window); i++) check_case(LAM_CONV_IM2COL, &any_window[i]);
    for (size_t i = 0; i < COUNT(direct_shapes); i++) {
        check_case(LAM_CONV_DIRECT, &direct_shapes[i]);
        check_case(LAM_CONV_IM2COL, &direct_shapes[i]);
    }
    for (size_t i = 0; i < COUNT(winograd_shapes); i++) {
        check_case(LAM_CONV_WINOGRAD2, &winograd_shapes[i]);
        check_case(LAM_CONV_WINOGRAD4, &winograd_shapes[i]);
        check_case(LAM_CONV_IM2COL, &winograd_shapes[i]);
        if (winograd_shapes[i].C * 9 <= 64) check_case(LAM_CONV_DIRECT, &winograd_shapes[i]);
    }
}

/* A forced family that cannot compute the layer is refused at build, with a
 * message naming the layer and the reason; the model is left as it was. */
static void check_refusals(void)
{
    struct { conv_case c; lam_conv_algo algo; const char *needle; } bad[] = {
        {{1, 8, 8, 2, 3, 5, 5, 1, 1, LAM_PAD_SAME, LAM_ACT_LINEAR, true}, LAM_CONV_WINOGRAD2,
         "conv_algo winograd2 needs a 3x3 kernel with strides 1x1; the layer has a 5x5 kernel"},
        {{1, 8, 8, 2, 3, 3, 3, 2, 1, LAM_PAD_SAME, LAM_ACT_LINEAR, true}, LAM_CONV_WINOGRAD4,
         "conv_algo winograd4 needs a 3x3 kernel with strides 1x1; the layer has a 3x3 kernel, "
         "strides 2x1"},
        {{1, 8, 8, 8, 3, 3, 3, 1, 1, LAM_PAD_SAME, LAM_ACT_LINEAR, true}, LAM_CONV_DIRECT,
         "conv_algo direct needs kernel_h*kernel_w*channels <= 64; the layer has 3x3x8 = 72"},
        {{1, 8, 8, 1, 3, 3, 3, 1, 1, LAM_PAD_SAME, LAM_ACT_LINEAR, true}, (lam_conv_algo)99,
         "conv_algo is 99, expected 0..4"},
    };
    for (size_t i = 0; i < COUNT(bad); i++) {
        lam_status st;
        lam_model *m = conv_model(&bad[i].c, bad[i].algo, &st);
        CHECK(st == LAM_ERR_ARG, "refusal %zu: status %d", i, st);
        CHECK(strstr(lam_last_error(), "layer \"conv2d\" (Conv2D)") &&
                  strstr(lam_last_error(), bad[i].needle),
              "refusal %zu: message \"%s\" lacks \"%s\"", i, lam_last_error(), bad[i].needle);
        CHECK(lam_model_num_layers(m) == 1, "refusal %zu: %d layers left", i,
              lam_model_num_layers(m));
        lam_model_free(m);
    }
    /* The boundary of direct: K = 64 builds (checked above), 3x3x7 = 63 too. */
    lam_status st;
    conv_case c = {1, 5, 5, 7, 2, 3, 3, 1, 1, LAM_PAD_SAME, LAM_ACT_LINEAR, true};
    lam_model *m = conv_model(&c, LAM_CONV_DIRECT, &st);
    CHECK(st == LAM_OK, "3x3x7 direct: %s", lam_last_error());
    lam_model_free(m);
}

/* AUTO: direct for few channels (the first layer), Winograd for 3x3 stride 1
 * with C >= 8 (4x4 tiles once the output is large enough), im2col otherwise. */
static void check_auto(void)
{
    struct { conv_case c; lam_conv_algo want; } cases[] = {
        {{1, 28, 28, 1, 32, 3, 3, 1, 1, LAM_PAD_VALID, LAM_ACT_RELU, true}, LAM_CONV_DIRECT},
        /* the channel bound: C = 7 (K = 63) still direct, C = 8 Winograd */
        {{1, 10, 10, 7, 4, 3, 3, 1, 1, LAM_PAD_VALID, LAM_ACT_RELU, true}, LAM_CONV_DIRECT},
        {{1, 10, 10, 8, 4, 3, 3, 1, 1, LAM_PAD_VALID, LAM_ACT_RELU, true}, LAM_CONV_WINOGRAD4},
        {{1, 10, 10, 5, 4, 3, 3, 2, 2, LAM_PAD_VALID, LAM_ACT_RELU, true}, LAM_CONV_DIRECT},
        {{1, 13, 13, 32, 64, 3, 3, 1, 1, LAM_PAD_VALID, LAM_ACT_RELU, true}, LAM_CONV_WINOGRAD4},
        {{1, 5, 5, 8, 4, 3, 3, 1, 1, LAM_PAD_VALID, LAM_ACT_RELU, true}, LAM_CONV_WINOGRAD2},
        {{1, 9, 9, 8, 4, 3, 3, 2, 2, LAM_PAD_VALID, LAM_ACT_RELU, true}, LAM_CONV_IM2COL},
        {{1, 9, 9, 8, 4, 5, 5, 1, 1, LAM_PAD_VALID, LAM_ACT_RELU, true}, LAM_CONV_IM2COL},
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        lam_status st;
        lam_model *m = conv_model(&cases[i].c, LAM_CONV_AUTO, &st);
        CHECK(st == LAM_OK, "auto %zu: %s", i, lam_last_error());
        if (st == LAM_OK)
            CHECK(chosen_algo(m, 1) == cases[i].want, "auto %zu: chose %s, expected %s", i,
                  algo_name(chosen_algo(m, 1)), algo_name(cases[i].want));
        lam_model_free(m);
    }
}

int main(void)
{
    /* One thread: the finite differences make ~10^5 tiny forward passes,
     * where a thread team costs more than the work. (Thread-count
     * independence is test_conv_kernels' and test_winograd's.) */
    lam_set_threads(1);
    check_paths();
    check_refusals();
    check_auto();
    for (int a = 1; a < LAM_CONV_ALGO_COUNT; a++)
        printf("%-10s worst error: forward %.2e, gradients %.2e (naive), %.2e (finite "
               "differences)\n", algo_name((lam_conv_algo)a), worst_fwd[a], worst_bwd[a],
               worst_fd[a]);
    return test_summary("test_conv_paths");
}
