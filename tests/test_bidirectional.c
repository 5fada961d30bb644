/* test_bidirectional.c - Bidirectional(LSTM | GRU | SimpleRNN):
 *   - Keras parity: outputs on fixed weights (tests/make_bidir_fixtures.py)
 *     for each wrapped kind, merge mode and return_sequences, within 1e-5,
 *     with the weights loaded in Keras's order and named as Keras names them;
 *   - the two halves are exactly the wrapped op run forwards and backwards
 *     (bit for bit, for 1 and 2 threads);
 *   - finite-difference gradients for each wrapped kind x merge mode x
 *     return_sequences, stacked, and called twice as a shared layer;
 *   - parameter counts as Keras reports them;
 *   - build errors that name the layer and what was expected. */
#include "fixture.h"
#include "gradcheck.h"

#include <lamina.h>

static const char *const mode_names[] = {"concat", "sum", "ave", "mul"};

static lam_layer_spec bidir_spec(lam_layer_kind wrapped, int units, bool seq, lam_merge_mode mode)
{
    lam_layer_spec s = lam_layer_defaults(LAM_LAYER_BIDIRECTIONAL);
    s.wrapped = wrapped;
    s.units = units;
    s.return_sequences = seq;
    s.merge_mode = mode;
    return s;
}

/* ------------------------------------------------------------ Keras parity */

static void keras_parity(void)
{
    static const struct {
        lam_layer_kind kind;
        const char *tag, *base;
    } kinds[] = {{LAM_LAYER_LSTM, "lstm", "lstm"},
                 {LAM_LAYER_GRU, "gru", "gru"},
                 {LAM_LAYER_SIMPLERNN, "rnn", "simple_rnn"}};
    const int N = 2, T = 5, F = 3, U = 4;
    long nx;
    float *x = fixture_load("bidir_x.npy", &nx);
    CHECK(x && nx == N * T * F, "bidir_x.npy: %ld values", nx);
    if (!x) return;
    for (int k = 0; k < 3; k++) {
        char file[96];
        snprintf(file, sizeof file, "bidir_%s_weights.npy", kinds[k].tag);
        long nw;
        float *w = fixture_load(file, &nw);
        CHECK(w != NULL, "%s", file);
        if (!w) continue;
        for (int seq = 0; seq < 2; seq++)
            for (int mode = 0; mode < 4; mode++) {
                lam_model *m = lam_sequential(NULL);
                CHECK_OK(lam_model_add_input(m, 2, (int64_t[]){T, F}));
                lam_layer_spec s = bidir_spec(kinds[k].kind, U, seq, (lam_merge_mode)mode);
                CHECK_OK(lam_model_add(m, &s));
                lam_optimizer sgd = lam_sgd();
                CHECK_OK(lam_model_compile(m, &sgd, LAM_LOSS_MSE));
                CHECK_OK(lam_model_plan(m, N));
                CHECK(lam_model_param_count(m) == nw, "%s: %lld parameters, Keras has %ld",
                      file, (long long)lam_model_param_count(m), nw);
                if (lam_model_param_count(m) != nw) {
                    lam_model_free(m);
                    continue;
                }
                /* Keras's weights, flat in its order, are our parameter buffer. */
                memcpy(lam_model_params(m), w, sizeof(float) * (size_t)nw);
                if (seq == 0 && mode == 0) {
                    static const char *const what[] = {"kernel", "recurrent_kernel", "bias"};
                    CHECK(lam_model_num_tensors(m) == 6, "%d tensors",
                          lam_model_num_tensors(m));
                    for (int t = 0; t < 6 && t < lam_model_num_tensors(m); t++) {
                        lam_tensor_info ti;
                        CHECK_OK(lam_model_tensor(m, t, &ti));
                        char want[128];
                        snprintf(want, sizeof want, "bidirectional/%s_%s/%s",
                                 t < 3 ? "forward" : "backward", kinds[k].base, what[t % 3]);
                        CHECK(strcmp(ti.name, want) == 0, "tensor %d is \"%s\", expected \"%s\"",
                              t, ti.name, want);
                    }
                }
                memcpy(lam_model_input_buffer(m, 0), x, sizeof(float) * (size_t)nx);
                CHECK_OK(lam_forward(m, N, LAM_MODE_INFER));
                snprintf(file, sizeof file, "bidir_%s_%s_%s.npy", kinds[k].tag, mode_names[mode],
                         seq ? "seq" : "last");
                long ny;
                float *ref = fixture_load(file, &ny);
                const long want = (long)N * (seq ? T : 1) * (mode == LAM_MERGE_CONCAT ? 2 * U : U);
                CHECK(ref && ny == want && lam_model_output_size(m) * N == want,
                      "%s: %ld values, the model gives %lld", file, ny,
                      (long long)lam_model_output_size(m) * N);
                if (ref && ny == want && lam_model_output_size(m) * N == want) {
                    const float *y = lam_model_output(m, 0);
                    double worst = 0;
                    for (long i = 0; i < ny; i++) worst = fmax(worst, fabs((double)y[i] - ref[i]));
                    CHECK(worst <= 1e-5, "%s: max |lamina - Keras| = %.3g", file, worst);
                    printf("%-36s max |lamina - Keras| = %.2e\n", file, worst);
                }
                free(ref);
                snprintf(file, sizeof file, "bidir_%s_weights.npy", kinds[k].tag);
                lam_model_free(m);
            }
        free(w);
    }
    free(x);
}

/* ------------------------------------------- the wrapped op, run twice */

/* One-layer model on (T, F) with the given spec, planned for `batch`. */
static lam_model *one_layer(const lam_layer_spec *s, int T, int F, int batch)
{
    lam_model *m = lam_sequential(NULL);
    lam_model_set_seed(m, 3);
    CHECK_OK(lam_model_add_input(m, 2, (int64_t[]){T, F}));
    CHECK_OK(lam_model_add(m, s));
    lam_optimizer sgd = lam_sgd();
    CHECK_OK(lam_model_compile(m, &sgd, LAM_LOSS_MSE));
    CHECK_OK(lam_model_plan(m, batch));
    return m;
}

/* Bidirectional(concat, sequences) against a lone layer and a lone
 * go_backwards layer holding the same weights: the halves must be their
 * outputs bit for bit (the backward one reversed in time), whatever the
 * threads; so must the input gradient be the sum of theirs. */
static void halves_are_the_wrapped_layer(lam_layer_kind kind)
{
    const int B = 33, T = 6, F = 5, U = 9;
    lam_layer_spec s = bidir_spec(kind, U, true, LAM_MERGE_CONCAT);
    lam_layer_spec r = lam_layer_defaults(kind);
    r.units = U;
    r.return_sequences = true;
    lam_model *bi = one_layer(&s, T, F, B), *one[2];
    const int64_t half = lam_model_param_count(bi) / 2;
    for (int k = 0; k < 2; k++) {
        r.go_backwards = k == 1;
        one[k] = one_layer(&r, T, F, B);
        CHECK(lam_model_param_count(one[k]) == half, "%lld vs %lld parameters",
              (long long)lam_model_param_count(one[k]), (long long)half);
        memcpy(lam_model_params(one[k]), lam_model_params(bi) + k * half, sizeof(float) * (size_t)half);
    }
    float *x = malloc(sizeof(float) * B * T * F), *dy = malloc(sizeof(float) * B * T * 2 * U);
    for (int i = 0; i < B * T * F; i++) x[i] = test_rndf();
    for (int i = 0; i < B * T * 2 * U; i++) dy[i] = test_rndf();
    float *first = malloc(sizeof(float) * B * T * 2 * U), *first_dx = malloc(sizeof(float) * B * T * F);
    for (int threads = 1; threads <= 2; threads++) {
        lam_set_threads(threads);
        lam_model *all[3] = {bi, one[0], one[1]};
        for (int k = 0; k < 3; k++) {
            memcpy(lam_model_input_buffer(all[k], 0), x, sizeof(float) * B * T * F);
            CHECK_OK(lam_forward(all[k], B, LAM_MODE_INFER_GRAD));
        }
        /* dL/dy: the concat halves go to the two layers (the backward one's reversed) */
        memcpy(lam_model_output_grad(bi, 0), dy, sizeof(float) * B * T * 2 * U);
        for (int b = 0; b < B; b++)
            for (int t = 0; t < T; t++)
                for (int j = 0; j < U; j++) {
                    const float *d = dy + ((int64_t)b * T + t) * 2 * U;
                    lam_model_output_grad(one[0], 0)[((int64_t)b * T + t) * U + j] = d[j];
                    lam_model_output_grad(one[1], 0)[((int64_t)b * T + T - 1 - t) * U + j] = d[U + j];
                }
        for (int k = 0; k < 3; k++) CHECK_OK(lam_backward(all[k], B, true));
        const float *y = lam_model_output(bi, 0);
        int mism = 0;
        for (int b = 0; b < B; b++)
            for (int t = 0; t < T; t++) {
                const float *yb = y + ((int64_t)b * T + t) * 2 * U;
                mism += memcmp(yb, lam_model_output(one[0], 0) + ((int64_t)b * T + t) * U,
                               sizeof(float) * U) != 0;
                mism += memcmp(yb + U, lam_model_output(one[1], 0) + ((int64_t)b * T + T - 1 - t) * U,
                               sizeof(float) * U) != 0;
            }
        CHECK(mism == 0, "%s, %d threads: %d output rows differ from the lone layers'",
              lam_layer_kind_name(kind), threads, mism);
        mism = 0;
        for (int k = 0; k < 2; k++)
            mism += memcmp(lam_model_grads(bi) + k * half, lam_model_grads(one[k]),
                           sizeof(float) * (size_t)half) != 0;
        CHECK(mism == 0, "%s, %d threads: weight gradients differ from the lone layers'",
              lam_layer_kind_name(kind), threads);
        const float *dx = lam_model_input_grad(bi, 0);
        mism = 0;
        for (int i = 0; i < B * T * F; i++) {
            const float sum = lam_model_input_grad(one[0], 0)[i] + lam_model_input_grad(one[1], 0)[i];
            mism += memcmp(&dx[i], &sum, sizeof sum) != 0;
        }
        CHECK(mism == 0, "%s, %d threads: %d input gradients differ from the sum of the lone "
              "layers'", lam_layer_kind_name(kind), threads, mism);
        if (threads == 1) {
            memcpy(first, y, sizeof(float) * B * T * 2 * U);
            memcpy(first_dx, dx, sizeof(float) * B * T * F);
        } else {
            CHECK(memcmp(first, y, sizeof(float) * B * T * 2 * U) == 0 &&
                      memcmp(first_dx, dx, sizeof(float) * B * T * F) == 0,
                  "%s: 1 and 2 threads give different bits", lam_layer_kind_name(kind));
        }
    }
    lam_set_threads(0);
    free(x);
    free(dy);
    free(first);
    free(first_dx);
    lam_model_free(bi);
    lam_model_free(one[0]);
    lam_model_free(one[1]);
}

/* --------------------------------------------------------------- gradients */

/* eps 5e-3, as test_recurrent: with 1e-2 the truncation error of tanh
 * chains reaches 1.6e-3 on SimpleRNN(mul); much below 5e-3 the float32
 * rounding of the loss (a few outputs of ~1) dominates instead. */
static const check_opts rnn_opts = {0, 0, 5e-3f};

static void gradients(void)
{
    static const struct {
        lam_layer_kind kind;
        bool reset_after;
        const char *name;
    } kinds[] = {{LAM_LAYER_LSTM, true, "LSTM"},
                 {LAM_LAYER_GRU, true, "GRU"},
                 {LAM_LAYER_GRU, false, "GRU(reset_after=False)"},
                 {LAM_LAYER_SIMPLERNN, true, "SimpleRNN"}};
    for (int k = 0; k < 4; k++)
        for (int mode = 0; mode < 4; mode++)
            for (int seq = 0; seq < 2; seq++) {
                lam_model *m = model_with_input(2, (int64_t[]){4, 3});
                lam_layer_spec s = bidir_spec(kinds[k].kind, 3, seq, (lam_merge_mode)mode);
                s.reset_after = kinds[k].reset_after;
                CHECK_OK(lam_model_add(m, &s));
                char name[96];
                snprintf(name, sizeof name, "Bidirectional(%s, %s, seq=%d)", kinds[k].name,
                         mode_names[mode], seq);
                gradcheck(name, m, LAM_LOSS_MSE, 8, rnn_opts);
                lam_model_free(m);
            }
    /* Stacked: the first layer's input gradient path is the second's. */
    lam_model *m = model_with_input(2, (int64_t[]){5, 2});
    lam_layer_spec s = bidir_spec(LAM_LAYER_LSTM, 3, true, LAM_MERGE_CONCAT);
    CHECK_OK(lam_model_add(m, &s));
    s = bidir_spec(LAM_LAYER_GRU, 2, false, LAM_MERGE_MUL);
    CHECK_OK(lam_model_add(m, &s));
    CHECK_OK(lam_model_add_dense(m, 3, LAM_ACT_SOFTMAX));
    gradcheck("Bidirectional(LSTM) -> Bidirectional(GRU, mul)", m, LAM_LOSS_CATEGORICAL_CE, 5,
              smooth);
    lam_model_free(m);
    /* One layer called on two inputs: one set of weights, two calls' state. */
    m = lam_model_new("shared");
    lam_model_set_seed(m, 7);
    int a, b, ya, yb;
    CHECK_OK(lam_model_input(m, "a", 2, (int64_t[]){4, 3}, &a));
    CHECK_OK(lam_model_input(m, "b", 2, (int64_t[]){4, 3}, &b));
    s = bidir_spec(LAM_LAYER_SIMPLERNN, 3, true, LAM_MERGE_AVE);
    CHECK_OK(lam_model_call(m, &s, 1, &a, &ya));
    CHECK_OK(lam_model_call_shared(m, ya, 1, &b, &yb));
    CHECK_OK(lam_model_set_outputs(m, 2, (int[]){ya, yb}));
    gradcheck("Bidirectional(SimpleRNN, ave) shared on two inputs", m, LAM_LOSS_MSE, 4, smooth);
    lam_model_free(m);
}

/* ------------------------------------------------------------ param counts */

static void param_counts(void)
{
    /* Keras 3.15 Bidirectional(...).count_params() on the given input. */
    static const struct {
        lam_layer_kind kind;
        int units, T, F;
        bool reset_after, use_bias;
        int64_t keras;
        int out;
    } cases[] = {
        {LAM_LAYER_LSTM, 64, 28, 28, true, true, 47616, 128},
        {LAM_LAYER_GRU, 32, 10, 16, true, true, 9600, 64},
        {LAM_LAYER_GRU, 32, 10, 16, false, true, 9408, 64},
        {LAM_LAYER_SIMPLERNN, 8, 7, 5, true, true, 224, 16},
        {LAM_LAYER_LSTM, 5, 3, 2, true, false, 280, 10},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lam_model *m = lam_sequential(NULL);
        CHECK_OK(lam_model_add_input(m, 2, (int64_t[]){cases[i].T, cases[i].F}));
        lam_layer_spec s = bidir_spec(cases[i].kind, cases[i].units, false, LAM_MERGE_CONCAT);
        s.reset_after = cases[i].reset_after;
        s.use_bias = cases[i].use_bias;
        CHECK_OK(lam_model_add(m, &s));
        CHECK(lam_model_layer_param_count(m, 1) == cases[i].keras,
              "case %zu: %lld parameters, Keras %lld", i,
              (long long)lam_model_layer_param_count(m, 1), (long long)cases[i].keras);
        CHECK(lam_model_output_size(m) == cases[i].out, "case %zu: output %lld, Keras %d", i,
              (long long)lam_model_output_size(m), cases[i].out);
        lam_model_free(m);
    }
}

/* ------------------------------------------------------------------ errors */

static void errors(void)
{
    lam_model *m = lam_sequential(NULL);
    CHECK_OK(lam_model_add_input(m, 2, (int64_t[]){4, 3}));
    lam_layer_spec s = bidir_spec(LAM_LAYER_DENSE, 3, false, LAM_MERGE_CONCAT);
    CHECK_FAILS(lam_model_add(m, &s), LAM_ERR_UNSUPPORTED,
                "layer \"bidirectional\" (Bidirectional): the wrapped layer (key \"layer\") is "
                "Dense, expected LSTM, GRU or SimpleRNN");
    s = bidir_spec(LAM_LAYER_LSTM, 3, false, (lam_merge_mode)7);
    CHECK_FAILS(lam_model_add(m, &s), LAM_ERR_ARG,
                "(Bidirectional): merge_mode is 7, expected concat, sum, ave or mul");
    s = bidir_spec(LAM_LAYER_GRU, 3, false, LAM_MERGE_SUM);
    s.go_backwards = true;
    CHECK_FAILS(lam_model_add(m, &s), LAM_ERR_ARG, "go_backwards=True, expected False");
    /* The wrapped layer's own checks, prefixed with this layer. */
    s = bidir_spec(LAM_LAYER_LSTM, 0, false, LAM_MERGE_SUM);
    snprintf(s.name, sizeof s.name, "bi");
    CHECK_FAILS(lam_model_add(m, &s), LAM_ERR_ARG,
                "layer \"bi\" (Bidirectional): layer \"forward_lstm\" (LSTM): units is 0");
    s = bidir_spec(LAM_LAYER_SIMPLERNN, 2, false, LAM_MERGE_SUM);
    s.return_state = true;
    CHECK_FAILS(lam_model_add(m, &s), LAM_ERR_UNSUPPORTED, "return_state");
    /* A name that leaves no room for "/backward_simple_rnn/recurrent_kernel" */
    s = bidir_spec(LAM_LAYER_SIMPLERNN, 2, false, LAM_MERGE_SUM);
    memset(s.name, 'n', 62);
    s.name[62] = '\0';
    CHECK_FAILS(lam_model_add(m, &s), LAM_ERR_ARG, "too long for its weight names");
    /* Nothing was added by the failures: a good layer still gets the first name. */
    s = bidir_spec(LAM_LAYER_SIMPLERNN, 2, false, LAM_MERGE_SUM);
    CHECK_OK(lam_model_add(m, &s));
    lam_tensor_info ti;
    CHECK_OK(lam_model_tensor(m, 0, &ti));
    CHECK(strcmp(ti.name, "bidirectional/forward_simple_rnn/kernel") == 0, "%s", ti.name);
    lam_model_free(m);
    /* Input of the wrong rank. */
    m = lam_sequential(NULL);
    CHECK_OK(lam_model_add_input(m, 1, (int64_t[]){6}));
    s = bidir_spec(LAM_LAYER_LSTM, 2, false, LAM_MERGE_CONCAT);
    CHECK_FAILS(lam_model_add(m, &s), LAM_ERR_SHAPE,
                "layer \"bidirectional\" (Bidirectional): layer \"forward_lstm\" (LSTM): input "
                "has rank 1");
    lam_model_free(m);
}

int main(void)
{
    keras_parity();
    halves_are_the_wrapped_layer(LAM_LAYER_LSTM);
    halves_are_the_wrapped_layer(LAM_LAYER_GRU);
    halves_are_the_wrapped_layer(LAM_LAYER_SIMPLERNN);
    param_counts();
    gradients();
    errors();
    return test_summary("test_bidirectional");
}
