/* test_recurrent.c - LSTM, GRU, SimpleRNN: parity with Keras reference outputs
 * (tests/fixtures), parity with a naive double-precision per-sample reference
 * written here, finite-difference gradient checks of every weight and of the
 * input, parameter counts of the seed LSTM, and the errors build reports.
 *
 * Gradient-check metric: for each scalar, err = |a - n| / max(|a| + |n|, 1e-2)
 * with a the analytic and n the central-difference derivative (eps 5e-3, loss
 * accumulated in double); every err must be <= 1e-3. */
#include "core/model.h"
#include "kernels/recurrent_kernels.h"
#include "test.h"

#include <lamina.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ .npy loader */

/* Reads a little-endian float32 C-order .npy (format 1.0) into a malloc'ed
 * array; returns the element count, or -1 on any mismatch. */
static long load_npy(const char *path, float **out)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    unsigned char pre[10];
    long count = -1;
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0 || pre[6] != 1) goto done;
    size_t hl = (size_t)pre[8] | ((size_t)pre[9] << 8);
    char hdr[1024];
    if (hl >= sizeof hdr || fread(hdr, 1, hl, f) != hl) goto done;
    hdr[hl] = '\0';
    if (!strstr(hdr, "'<f4'") || !strstr(hdr, "'fortran_order': False")) goto done;
    char *sh = strstr(hdr, "'shape': (");
    if (!sh) goto done;
    sh += strlen("'shape': (");
    count = 1;
    while (*sh && *sh != ')') {
        char *end;
        long v = strtol(sh, &end, 10);
        if (end == sh) break;
        count *= v;
        sh = end;
        while (*sh == ',' || *sh == ' ') sh++;
    }
    *out = malloc(sizeof(float) * (size_t)count);
    if (!*out || fread(*out, sizeof(float), (size_t)count, f) != (size_t)count) {
        free(*out);
        *out = NULL;
        count = -1;
    }
done:
    fclose(f);
    return count;
}

static float *fixture(const char *name, long expect)
{
    char path[256];
    snprintf(path, sizeof path, "fixtures/%s", name);
    float *a;
    long n = load_npy(path, &a);
    CHECK(n == expect, "%s: %ld values, expected %ld", path, n, expect);
    if (n != expect) {
        free(a);
        return NULL;
    }
    return a;
}

/* ------------------------------------------------------------ helpers */

static lam_layer_spec rnn_spec(lam_layer_kind kind, int units, bool seq, bool back, bool ra)
{
    lam_layer_spec s = lam_layer_defaults(kind);
    s.units = units;
    s.return_sequences = seq;
    s.go_backwards = back;
    s.reset_after = ra;
    return s;
}

static lam_model *one_layer_model(const lam_layer_spec *s, int T, int F)
{
    lam_model *m = lam_sequential("test");
    CHECK_OK(lam_model_add_input(m, 2, (int64_t[]){T, F}));
    CHECK_OK(lam_model_add(m, s));
    lam_optimizer sgd = lam_sgd();
    CHECK_OK(lam_model_compile(m, &sgd, LAM_LOSS_MSE));
    return m;
}

static double max_abs_diff(const float *a, const float *b, long n)
{
    double mx = 0;
    for (long i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (d > mx || d != d) mx = d != d ? INFINITY : d;
    }
    return mx;
}

/* ------------------------------------------------------ Keras fixtures */

static void keras_case(lam_layer_kind kind, const char *prefix, bool seq, bool back,
                       const char *expected_file)
{
    const int T = 4, F = 3, u = 5, G = kind == LAM_LAYER_LSTM ? 4 * u : kind == LAM_LAYER_GRU ? 3 * u : u;
    const long nbias = kind == LAM_LAYER_GRU ? 2 * G : G;
    lam_layer_spec s = rnn_spec(kind, u, seq, back, true);
    lam_model *m = one_layer_model(&s, T, F);
    char name[128];
    float *x = fixture("lstm_x.npy", 2 * T * F);
    snprintf(name, sizeof name, "%s_kernel.npy", prefix);
    float *k = fixture(name, (long)F * G);
    snprintf(name, sizeof name, "%s_recurrent_kernel.npy", prefix);
    float *rk = fixture(name, (long)u * G);
    snprintf(name, sizeof name, "%s_bias.npy", prefix);
    float *bias = fixture(name, nbias);
    long nout = seq ? 2L * T * u : 2L * u;
    float *want = fixture(expected_file, nout);
    if (x && k && rk && bias && want) {
        lam_tensor_info ti;
        const float *src[3] = {k, rk, bias};
        const long cnt[3] = {(long)F * G, (long)u * G, nbias};
        const char *suffix[3] = {"/kernel", "/recurrent_kernel", "/bias"};
        CHECK(lam_model_num_tensors(m) == 3, "%d tensors", lam_model_num_tensors(m));
        for (int i = 0; i < 3; i++) {
            CHECK_OK(lam_model_tensor(m, i, &ti));
            CHECK(ti.count == cnt[i], "%s: %lld values", ti.name, (long long)ti.count);
            CHECK(strstr(ti.name, suffix[i]) != NULL, "tensor %d is %s", i, ti.name);
            if (ti.count == cnt[i]) memcpy(ti.data, src[i], sizeof(float) * (size_t)cnt[i]);
        }
        float out[2 * 4 * 5];
        CHECK_OK(lam_predict_raw(m, x, 2, out));
        double d = max_abs_diff(out, want, nout);
        CHECK(d <= 1e-5, "%s: max |lamina - keras| = %g", expected_file, d);
        printf("  keras parity %-28s max diff %.2e\n", expected_file, d);
    }
    free(x);
    free(k);
    free(rk);
    free(bias);
    free(want);
    lam_model_free(m);
}

/* ------------------------------------------------- naive reference (double) */

static double sg(double v) { return 1.0 / (1.0 + exp(-v)); }

/* One sample: x (T, F) -> out (T, u) with seq, else (u). Keras semantics,
 * default activations (tanh, sigmoid). */
static void ref_forward(lam_layer_kind kind, bool ra, bool back, bool seq, int T, int F, int u,
                        const float *x, const float *W, const float *U, const float *bias,
                        float *out)
{
    int G = kind == LAM_LAYER_LSTM ? 4 * u : kind == LAM_LAYER_GRU ? 3 * u : u;
    double h[64] = {0}, c[64] = {0}, z[256], rec[256], hn[64];
    for (int s = 0; s < T; s++) {
        int t = back ? T - 1 - s : s;
        for (int j = 0; j < G; j++) {
            z[j] = bias ? bias[j] : 0;
            for (int k = 0; k < F; k++) z[j] += (double)x[t * F + k] * W[k * G + j];
            rec[j] = kind == LAM_LAYER_GRU && ra && bias ? bias[G + j] : 0;
            for (int k = 0; k < u; k++) rec[j] += h[k] * U[k * G + j];
        }
        for (int j = 0; j < u; j++) {
            if (kind == LAM_LAYER_LSTM) {
                double i = sg(z[j] + rec[j]), f = sg(z[u + j] + rec[u + j]);
                double g = tanh(z[2 * u + j] + rec[2 * u + j]), o = sg(z[3 * u + j] + rec[3 * u + j]);
                c[j] = f * c[j] + i * g;
                hn[j] = o * tanh(c[j]);
            } else if (kind == LAM_LAYER_SIMPLERNN) {
                hn[j] = tanh(z[j] + rec[j]);
            } else {
                double zz = sg(z[j] + rec[j]), r = sg(z[u + j] + rec[u + j]), hh;
                if (ra) {
                    hh = tanh(z[2 * u + j] + r * rec[2 * u + j]);
                } else {
                    double a = z[2 * u + j];
                    for (int k = 0; k < u; k++)
                        a += sg(z[u + k] + rec[u + k]) * h[k] * U[k * G + 2 * u + j];
                    hh = tanh(a);
                }
                hn[j] = zz * h[j] + (1 - zz) * hh;
            }
        }
        memcpy(h, hn, sizeof(double) * (size_t)u);
        if (seq)
            for (int j = 0; j < u; j++) out[s * u + j] = (float)h[j];
    }
    if (!seq)
        for (int j = 0; j < u; j++) out[j] = (float)h[j];
}

static uint64_t rs = 88172645463325252ull;
static double urand(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (double)(rs >> 11) / 9007199254740992.0;
}

static void reference_case(lam_layer_kind kind, bool ra, bool back, bool seq)
{
    const int T = 7, F = 5, u = 9, B = 13;
    lam_layer_spec s = rnn_spec(kind, u, seq, back, ra);
    lam_model *m = one_layer_model(&s, T, F);
    float *p = lam_model_params(m);
    for (int64_t i = 0; i < lam_model_param_count(m); i++) p[i] = (float)(urand() - 0.5);
    lam_tensor_info tk, tu, tb;
    CHECK_OK(lam_model_tensor(m, 0, &tk));
    CHECK_OK(lam_model_tensor(m, 1, &tu));
    CHECK_OK(lam_model_tensor(m, 2, &tb));
    float *x = malloc(sizeof(float) * B * T * F);
    long osz = seq ? T * u : u;
    float *out = malloc(sizeof(float) * B * osz), *ref = malloc(sizeof(float) * B * osz);
    for (int i = 0; i < B * T * F; i++) x[i] = (float)(2 * urand() - 1);
    CHECK_OK(lam_predict_raw(m, x, B, out));
    for (int b = 0; b < B; b++)
        ref_forward(kind, ra, back, seq, T, F, u, x + b * T * F, tk.data, tu.data, tb.data,
                    ref + b * osz);
    double d = max_abs_diff(out, ref, B * osz);
    CHECK(d <= 2e-5, "%s ra=%d back=%d seq=%d: max |lamina - reference| = %g",
          lam_layer_kind_name(kind), ra, back, seq, d);
    free(x);
    free(out);
    free(ref);
    lam_model_free(m);
}

/* ------------------------------------------------------ gradient checks */

/* MSE targets of the batch under test. */
static lam_target target;

static double loss_at(lam_model *m, int batch)
{
    lam_batch_metrics bm;
    CHECK_OK(lam_forward(m, batch, LAM_MODE_TRAIN));
    CHECK_OK(lam_loss_eval(m, batch, &target, false, &bm));
    return bm.loss / batch;
}

/* Forward, loss gradient and backward (with input gradients) of a batch. */
static void train_backward(lam_model *m, int batch)
{
    lam_batch_metrics bm;
    CHECK_OK(lam_forward(m, batch, LAM_MODE_TRAIN));
    CHECK_OK(lam_loss_eval(m, batch, &target, true, &bm));
    CHECK_OK(lam_backward(m, batch, true));
}

/* Checks d(mean MSE)/d(every weight) and d/d(every input) of a compiled
 * model against central differences. */
static void gradcheck(lam_model *m, const char *what)
{
    const int B = 8; /* > 4: the step loop splits the batch across threads */
    CHECK_OK(lam_model_plan(m, B));
    const int64_t in = lam_model_input_size(m), out = lam_model_output_size(m);
    float *p = lam_model_params(m), *xbuf = lam_model_input_buffer(m, 0);
    float *tv = malloc(sizeof(float) * (size_t)(B * out));
    target = (lam_target){NULL, tv, NULL};
    for (int64_t i = 0; i < B * in; i++) xbuf[i] = (float)(2 * urand() - 1);
    for (int64_t i = 0; i < B * out; i++) tv[i] = (float)(4 * urand() - 2);
    train_backward(m, B);
    const int64_t np = lam_model_param_count(m);
    float *ga = malloc(sizeof(float) * (size_t)np), *gx = malloc(sizeof(float) * (size_t)(B * in));
    memcpy(ga, lam_model_grads(m), sizeof(float) * (size_t)np);
    memcpy(gx, lam_model_input_grad(m, 0), sizeof(float) * (size_t)(B * in));
    const float eps = 5e-3f;
    double worst = 0;
    int64_t worst_i = -1, bad = 0;
    for (int64_t i = 0; i < np + B * in; i++) {
        float *v = i < np ? &p[i] : &xbuf[i - np];
        float a = i < np ? ga[i] : gx[i - np], keep = *v;
        *v = keep + eps;
        double lp = loss_at(m, B);
        *v = keep - eps;
        double lm = loss_at(m, B);
        *v = keep;
        double num = (lp - lm) / (2.0 * eps);
        double den = fabs(a) + fabs(num);
        double err = fabs(a - num) / (den > 1e-2 ? den : 1e-2);
        if (err > worst || err != err) {
            worst = err != err ? INFINITY : err;
            worst_i = i;
        }
        if (!(err <= 1e-3)) {
            if (bad < 3)
                fprintf(stderr, "  %s: %s %lld: analytic %.7g numeric %.7g\n", what,
                        i < np ? "weight" : "input", (long long)(i < np ? i : i - np), a, num);
            bad++;
        }
    }
    CHECK(bad == 0, "%s: %lld of %lld derivatives off (worst err %.3g at %lld)", what,
          (long long)bad, (long long)(np + B * in), worst, (long long)worst_i);
    printf("  gradcheck %-40s %5lld derivatives, worst err %.2e\n", what,
           (long long)(np + B * in), worst);
    free(tv);
    free(ga);
    free(gx);
}

static void gradcheck_layer(lam_layer_kind kind, bool ra, bool seq, bool back)
{
    lam_layer_spec s = rnn_spec(kind, 4, seq, back, ra);
    lam_model *m = one_layer_model(&s, 5, 3);
    /* Non-zero biases so every bias path matters. */
    float *p = lam_model_params(m);
    for (int64_t i = 0; i < lam_model_param_count(m); i++) p[i] += (float)(0.4 * (urand() - 0.5));
    char what[96];
    snprintf(what, sizeof what, "%s%s seq=%d back=%d", lam_layer_kind_name(kind),
             kind == LAM_LAYER_GRU ? (ra ? "(reset_after)" : "(reset_before)") : "", seq, back);
    gradcheck(m, what);
    lam_model_free(m);
}

static void gradcheck_stack(void)
{
    lam_model *m = lam_sequential("stack");
    CHECK_OK(lam_model_add_input(m, 2, (int64_t[]){6, 3}));
    CHECK_OK(lam_model_add_lstm(m, 5, true));
    CHECK_OK(lam_model_add_lstm(m, 4, false));
    CHECK_OK(lam_model_add_dense(m, 3, LAM_ACT_LINEAR));
    lam_optimizer sgd = lam_sgd();
    CHECK_OK(lam_model_compile(m, &sgd, LAM_LOSS_MSE));
    gradcheck(m, "LSTM(5,seq) -> LSTM(4) -> Dense(3)");
    lam_model_free(m);
}


/* ------------------------------------------ fused LSTM step kernels */

static float frand(void) { return (float)(2 * urand() - 1); }

static float *rand_buf(long n, float scale)
{
    float *p = malloc(sizeof(float) * (size_t)n);
    for (long i = 0; i < n; i++) p[i] = scale * frand();
    return p;
}

/* max |a - b| / max(|b|, 1) over rows x cols of two strided arrays
 * (linear and relu activations let values grow well past 1) */
static double strided_diff(const float *a, const float *b, int rows, int cols, long ld)
{
    double mx = 0;
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < cols; j++) {
            double x = a[r * ld + j], y = b[r * ld + j];
            double d = fabs(x - y) / (fabs(y) > 1 ? fabs(y) : 1);
            if (d > mx || d != d) mx = d != d ? INFINITY : d;
        }
    return mx;
}

/* lam_lstm_step_forward / _backward against their naive references, for
 * vector width w, on strided rows (as the sequence layout has them), with
 * and without previous state, bias and dy, and ragged rows and units. */
static void lstm_kernel_case(int w, int rows, int F, int u, lam_activation act,
                             lam_activation ract, bool first, bool last)
{
    const int G = 4 * u;
    const long ldx = F + 3, ldz = G + 5, ldh = u + 7, ldc = u + 1, ldy = u + 2;
    float *W = rand_buf((long)F * G, 0.5f), *U = rand_buf((long)u * G, 0.5f);
    float *bias = rand_buf(G, 0.5f), *x = rand_buf(rows * ldx, 1.0f);
    float *hp = rand_buf(rows * ldh, 1.0f), *cp = rand_buf(rows * ldh, 1.0f);
    float *P = malloc(sizeof(float) * (size_t)lam_lstm_packed_floats(F, u));
    float *out[2][4]; /* z, c, tc, h for fast and naive */
    for (int v = 0; v < 2; v++) {
        out[v][0] = rand_buf(rows * ldz, 1.0f);
        for (int k = 1; k < 4; k++) out[v][k] = rand_buf(rows * ldh, 1.0f);
    }
    /* packed in parts, as threads would */
    for (int part = 0; part < 3; part++) lam_lstm_pack_forward(w, F, u, W, U, P, part, 3);
    const float *bb = last ? NULL : bias; /* vary: no bias on some cases */
    lam_lstm_step_forward(w, rows, F, u, P, bb, act, ract, x, ldx, out[0][0], ldz,
                          first ? NULL : hp, first ? NULL : cp, out[0][1], out[0][2], out[0][3],
                          ldh);
    lam_lstm_step_forward_naive(rows, F, u, W, U, bb, act, ract, x, ldx, out[1][0], ldz,
                                first ? NULL : hp, first ? NULL : cp, out[1][1], out[1][2],
                                out[1][3], ldh);
    double d = strided_diff(out[0][0], out[1][0], rows, G, ldz);
    for (int k = 1; k < 4; k++) {
        double dk = strided_diff(out[0][k], out[1][k], rows, u, ldh);
        d = dk > d || dk != dk ? dk : d;
    }
    CHECK(d <= 1e-5, "lstm forward kernel w=%d rows=%d F=%d u=%d act=%d/%d first=%d: "
          "max rel |fast - naive| = %g", w, rows, F, u, act, ract, first, d);

    /* backward on the forward's (naive) outputs: z, tc from above */
    float *gn = rand_buf(rows * ldz, 0.5f), *dy = rand_buf(rows * ldy, 1.0f);
    float *dc[2], *g[2];
    dc[0] = rand_buf(rows * ldc, 1.0f);
    dc[1] = malloc(sizeof(float) * (size_t)(rows * ldc));
    memcpy(dc[1], dc[0], sizeof(float) * (size_t)(rows * ldc));
    g[0] = rand_buf(rows * ldz, 1.0f);
    g[1] = rand_buf(rows * ldz, 1.0f);
    for (int part = 0; part < 2; part++) lam_lstm_pack_backward(w, u, U, P, part, 2);
    lam_lstm_step_backward(w, rows, u, P, act, ract, last ? NULL : gn, first && !last ? NULL : dy,
                           ldy, out[1][0], ldz, out[1][2], first ? NULL : cp, ldh, dc[0], ldc,
                           g[0], ldz);
    lam_lstm_step_backward_naive(rows, u, U, act, ract, last ? NULL : gn,
                                 first && !last ? NULL : dy, ldy, out[1][0], ldz, out[1][2],
                                 first ? NULL : cp, ldh, dc[1], ldc, g[1], ldz);
    d = strided_diff(g[0], g[1], rows, G, ldz);
    double dd = strided_diff(dc[0], dc[1], rows, u, ldc);
    d = dd > d || dd != dd ? dd : d;
    CHECK(d <= 1e-5, "lstm backward kernel w=%d rows=%d u=%d act=%d/%d first=%d last=%d: "
          "max rel |fast - naive| = %g", w, rows, u, act, ract, first, last, d);

    free(W), free(U), free(bias), free(x), free(hp), free(cp), free(P);
    for (int v = 0; v < 2; v++) {
        for (int k = 0; k < 4; k++) free(out[v][k]);
        free(dc[v]), free(g[v]);
    }
    free(gn), free(dy);
}

static void lstm_kernels(void)
{
    static const int shapes[][3] = {{32, 28, 64}, {32, 64, 64}, {13, 5, 9}, {7, 3, 20},
                                    {5, 64, 33}, {1, 1, 1}, {9, 16, 80}};
    static const lam_activation acts[][2] = {{LAM_ACT_TANH, LAM_ACT_SIGMOID},
                                             {LAM_ACT_RELU, LAM_ACT_TANH},
                                             {LAM_ACT_LINEAR, LAM_ACT_RELU},
                                             {LAM_ACT_SIGMOID, LAM_ACT_LINEAR}};
    for (int w = 8; w <= 16; w += 8)
        for (int i = 0; i < (int)(sizeof shapes / sizeof shapes[0]); i++)
            for (int a = 0; a < 4; a++)
                for (int v = 0; v < 3; v++)
                    lstm_kernel_case(w, shapes[i][0], shapes[i][1], shapes[i][2], acts[a][0],
                                     acts[a][1], v == 1, v == 2);
}

/* A training step of stacked LSTMs gives the same bits with 1 and 2
 * threads (the step loops split the batch between threads). */
static void lstm_threads_identical(void)
{
    float *g[2] = {NULL, NULL};
    int64_t np = 0;
    for (int k = 0; k < 2; k++) {
        lam_set_threads(k + 1);
        lam_model *m = lam_sequential("threads");
        CHECK_OK(lam_model_add_input(m, 2, (int64_t[]){9, 6}));
        CHECK_OK(lam_model_add_lstm(m, 20, true));
        CHECK_OK(lam_model_add_lstm(m, 17, false));
        CHECK_OK(lam_model_add_dense(m, 3, LAM_ACT_LINEAR));
        lam_optimizer sgd = lam_sgd();
        CHECK_OK(lam_model_compile(m, &sgd, LAM_LOSS_MSE));
        const int B = 27;
        CHECK_OK(lam_model_plan(m, B));
        rs = 12345; /* same data both times */
        float *xbuf = lam_model_input_buffer(m, 0);
        float *tv = malloc(sizeof(float) * (size_t)(B * lam_model_output_size(m)));
        target = (lam_target){NULL, tv, NULL};
        for (int64_t i = 0; i < B * lam_model_input_size(m); i++) xbuf[i] = frand();
        for (int64_t i = 0; i < B * lam_model_output_size(m); i++) tv[i] = frand();
        train_backward(m, B);
        free(tv);
        np = lam_model_param_count(m);
        g[k] = malloc(sizeof(float) * (size_t)(np + B * lam_model_input_size(m)));
        memcpy(g[k], lam_model_grads(m), sizeof(float) * (size_t)np);
        memcpy(g[k] + np, lam_model_input_grad(m, 0), sizeof(float) * (size_t)(B * lam_model_input_size(m)));
        np += B * lam_model_input_size(m);
        lam_model_free(m);
    }
    lam_set_threads(1);
    CHECK(memcmp(g[0], g[1], sizeof(float) * (size_t)np) == 0,
          "LSTM gradients differ between 1 and 2 threads");
    free(g[0]);
    free(g[1]);
}

/* ------------------------------------------------------ summary, errors */

static void seed_param_counts(void)
{
    lam_model *m = lam_sequential("sequential");
    CHECK_OK(lam_model_add_input(m, 2, (int64_t[]){28, 28}));
    CHECK_OK(lam_model_add_lstm(m, 64, true));
    CHECK_OK(lam_model_add_lstm(m, 64, true));
    CHECK_OK(lam_model_add_lstm(m, 64, false));
    CHECK_OK(lam_model_add_dense(m, 10, LAM_ACT_SOFTMAX));
    const int64_t want[5] = {0, 23808, 33024, 33024, 650};
    for (int i = 0; i < 5; i++)
        CHECK(lam_model_layer_param_count(m, i) == want[i], "layer %d: %lld params, expected %lld",
              i, (long long)lam_model_layer_param_count(m, i), (long long)want[i]);
    CHECK(lam_model_param_count(m) == 90506, "total %lld", (long long)lam_model_param_count(m));
    int64_t sh[4];
    CHECK(lam_model_layer_output_shape(m, 1, sh) == 2 && sh[0] == 28 && sh[1] == 64, "lstm out");
    CHECK(lam_model_layer_output_shape(m, 3, sh) == 1 && sh[0] == 64, "lstm_2 out");
    CHECK(strcmp(lam_model_layer(m, 2)->name, "lstm_1") == 0, "name %s", lam_model_layer(m, 2)->name);
    lam_tensor_info ti;
    CHECK_OK(lam_model_tensor(m, 1, &ti));
    CHECK(strcmp(ti.name, "lstm/recurrent_kernel") == 0, "tensor %s", ti.name);
    /* Initialisation: unit_forget_bias, zero other biases, orthogonal U. */
    lam_optimizer adam = lam_adam();
    CHECK_OK(lam_model_compile(m, &adam, LAM_LOSS_SPARSE_CATEGORICAL_CE));
    CHECK_OK(lam_model_tensor(m, 2, &ti));
    int ok = 1;
    for (int j = 0; j < 256; j++) ok &= ti.data[j] == (j >= 64 && j < 128 ? 1.0f : 0.0f);
    CHECK(ok, "lstm/bias is not [0]*64 + [1]*64 + [0]*128");
    CHECK_OK(lam_model_tensor(m, 1, &ti)); /* [64, 256]: rows orthonormal */
    double worst = 0;
    for (int a = 0; a < 64; a++)
        for (int b = a; b < 64; b++) {
            double dot = 0;
            for (int j = 0; j < 256; j++) dot += (double)ti.data[a * 256 + j] * ti.data[b * 256 + j];
            double e = fabs(dot - (a == b));
            if (e > worst) worst = e;
        }
    CHECK(worst < 1e-4, "recurrent kernel rows not orthonormal (%g)", worst);
    CHECK_OK(lam_model_tensor(m, 0, &ti)); /* glorot: |w| <= sqrt(6 / (28 + 256)) */
    double lim = sqrt(6.0 / (28 + 256)), mx = 0;
    for (int64_t j = 0; j < ti.count; j++) mx = fabs(ti.data[j]) > mx ? fabs(ti.data[j]) : mx;
    CHECK(mx <= lim && mx > 0.9 * lim, "kernel max %g, limit %g", mx, lim);
    lam_model_free(m);
}

static void errors(void)
{
    lam_model *m = lam_sequential("e");
    CHECK_OK(lam_model_add_input(m, 3, (int64_t[]){4, 3, 2}));
    CHECK_FAILS(lam_model_add_lstm(m, 5, false), LAM_ERR_SHAPE, "expected (timesteps, features)");
    CHECK(strstr(lam_last_error(), "\"lstm\"") != NULL, "%s", lam_last_error());
    lam_model_free(m);

    m = lam_sequential("e");
    CHECK_OK(lam_model_add_input(m, 1, (int64_t[]){12}));
    CHECK_FAILS(lam_model_add_gru(m, 5, false), LAM_ERR_SHAPE, "expected (timesteps, features)");
    lam_model_free(m);

    m = lam_sequential("e");
    CHECK_OK(lam_model_add_input(m, 2, (int64_t[]){4, 3}));
    lam_layer_spec s = rnn_spec(LAM_LAYER_SIMPLERNN, 5, false, false, true);
    s.return_state = true;
    snprintf(s.name, sizeof s.name, "my_rnn");
    CHECK_FAILS(lam_model_add(m, &s), LAM_ERR_UNSUPPORTED, "\"my_rnn\" (SimpleRNN)");
    CHECK(strstr(lam_last_error(), "return_state") != NULL, "%s", lam_last_error());
    s.return_state = false;
    s.activation = LAM_ACT_SOFTMAX;
    CHECK_FAILS(lam_model_add(m, &s), LAM_ERR_UNSUPPORTED, "activation");
    lam_model_free(m);
}

int main(void)
{
    printf("Keras fixtures:\n");
    keras_case(LAM_LAYER_LSTM, "lstm", true, false, "lstm_out_seq.npy");
    keras_case(LAM_LAYER_LSTM, "lstm", false, false, "lstm_out_last.npy");
    keras_case(LAM_LAYER_LSTM, "lstm", true, true, "lstm_out_backwards_seq.npy");
    keras_case(LAM_LAYER_LSTM, "lstm", false, true, "lstm_out_backwards_last.npy");
    keras_case(LAM_LAYER_GRU, "gru", true, false, "gru_out_seq.npy");
    keras_case(LAM_LAYER_SIMPLERNN, "rnn", true, false, "rnn_out_seq.npy");

    const lam_layer_kind kinds[3] = {LAM_LAYER_LSTM, LAM_LAYER_GRU, LAM_LAYER_SIMPLERNN};
    for (int k = 0; k < 3; k++)
        for (int ra = 0; ra < (kinds[k] == LAM_LAYER_GRU ? 2 : 1); ra++)
            for (int v = 0; v < 4; v++)
                reference_case(kinds[k], kinds[k] != LAM_LAYER_GRU || ra, v & 1, v >> 1);

    printf("gradient checks (err = |a-n| / max(|a|+|n|, 1e-2), limit 1e-3):\n");
    for (int k = 0; k < 3; k++)
        for (int ra = 0; ra < (kinds[k] == LAM_LAYER_GRU ? 2 : 1); ra++)
            for (int v = 0; v < 3; v++) /* seq; last; seq + go_backwards */
                gradcheck_layer(kinds[k], kinds[k] != LAM_LAYER_GRU || ra, v != 1, v == 2);
    gradcheck_layer(LAM_LAYER_LSTM, true, false, true);
    gradcheck_stack();

    lstm_kernels();
    lstm_threads_identical();
    seed_param_counts();
    errors();
    return test_summary("test_recurrent");
}
