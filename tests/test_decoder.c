/* test_decoder.c - lam_model_decoder: a twin that runs one position per
 * call gives, at every position, what the full-sequence forward gives at
 * that row; layers that mix positions are refused, naming them; positions
 * out of range and non-decoders are refused. */
#include "test.h"

#include "lamina.h"

#include <string.h>

enum { T = 7, V = 11, D = 6 };

/* ids (T) -> Embedding -> Dense(gelu) -> Add(residual) -> LayerNorm -> Dense(V, softmax) */
static lam_model *positionwise_model(void)
{
    lam_model *m = lam_model_new("lm");
    lam_model_set_seed(m, 5);
    int x, e, h, a, n, y;
    CHECK_OK(lam_model_input(m, "ids", 1, (int64_t[]){T}, &x));
    lam_layer_spec emb = lam_layer_defaults(LAM_LAYER_EMBEDDING);
    emb.input_dim = V;
    emb.units = D;
    CHECK_OK(lam_model_call(m, &emb, 1, &x, &e));
    lam_layer_spec dense = lam_layer_defaults(LAM_LAYER_DENSE);
    dense.units = D;
    dense.activation = LAM_ACT_GELU;
    CHECK_OK(lam_model_call(m, &dense, 1, &e, &h));
    lam_layer_spec add = lam_layer_defaults(LAM_LAYER_ADD);
    CHECK_OK(lam_model_call(m, &add, 2, (int[]){e, h}, &a));
    lam_layer_spec ln = lam_layer_defaults(LAM_LAYER_LAYER_NORM);
    CHECK_OK(lam_model_call(m, &ln, 1, &a, &n));
    lam_layer_spec head = lam_layer_defaults(LAM_LAYER_DENSE);
    head.units = V;
    head.activation = LAM_ACT_SOFTMAX;
    CHECK_OK(lam_model_call(m, &head, 1, &n, &y));
    CHECK_OK(lam_model_set_outputs(m, 1, &y));
    lam_optimizer adam = lam_adam();
    CHECK_OK(lam_model_compile(m, &adam, LAM_LOSS_SPARSE_CATEGORICAL_CE));
    /* Weights off their initial values, so biases and LayerNorm's gamma
     * and beta are not the trivial 0 and 1. */
    float *p = lam_model_params(m);
    for (int64_t i = 0; i < lam_model_param_count(m); i++) p[i] += 0.2f * test_rndf();
    return m;
}

static void steps_equal_full_forward(void)
{
    lam_model *m = positionwise_model();
    const int ids[T] = {3, 0, 10, 7, 7, 1, 4};
    CHECK_OK(lam_model_plan(m, 1));
    for (int t = 0; t < T; t++) lam_model_input_buffer(m, 0)[t] = (float)ids[t];
    CHECK_OK(lam_forward(m, 1, LAM_MODE_INFER));
    const float *full = lam_model_output(m, 0);

    lam_model *dec = NULL;
    CHECK_OK(lam_model_decoder(m, &dec));
    CHECK(lam_decoder_capacity(dec) == T, "capacity %lld", (long long)lam_decoder_capacity(dec));
    int64_t shape[4];
    CHECK(lam_model_input_shape(dec, shape) == 1 && shape[0] == 1, "decoder input (1,)");
    double worst = 0;
    for (int t = 0; t < T; t++) {
        lam_model_input_buffer(dec, 0)[0] = (float)ids[t];
        CHECK_OK(lam_decoder_step(dec, t));
        const float *row = lam_model_output(dec, 0);
        for (int v = 0; v < V; v++) {
            double d = fabs((double)row[v] - full[t * V + v]);
            if (d > worst) worst = d;
        }
    }
    CHECK(worst <= 1e-6, "decoder rows differ from the full forward by %g", worst);
    CHECK_FAILS(lam_decoder_step(dec, T), LAM_ERR_ARG, "decoding position 7, expected 0 to 6");
    CHECK_FAILS(lam_decoder_step(m, 0), LAM_ERR_STATE, "is not a decoder");
    lam_model_free(dec);
    lam_model_free(m);
}

static void mixing_layers_refused(void)
{
    lam_model *m = lam_sequential("rnn");
    CHECK_OK(lam_model_add_input(m, 2, (int64_t[]){T, 3}));
    CHECK_OK(lam_model_add_lstm(m, 4, true));
    lam_optimizer adam = lam_adam();
    CHECK_OK(lam_model_compile(m, &adam, LAM_LOSS_MSE));
    lam_model *dec = NULL;
    CHECK_FAILS(lam_model_decoder(m, &dec), LAM_ERR_UNSUPPORTED,
                "layer \"lstm\" (LSTM) cannot be decoded one position at a time");
    CHECK(dec == NULL, "no decoder on failure");
    lam_model_free(m);

    lam_model *u = lam_sequential("uncompiled");
    CHECK_OK(lam_model_add_input(u, 1, (int64_t[]){T}));
    CHECK_FAILS(lam_model_decoder(u, &dec), LAM_ERR_STATE, "no weights yet");
    lam_model_free(u);
}

int main(void)
{
    lam_set_threads(1);
    steps_equal_full_forward();
    mixing_layers_refused();
    return test_summary("test_decoder");
}
