/* test_decoder.c - lam_model_decoder: a twin that runs one position per
 * call gives, at every position, what the full-sequence forward gives at
 * that row; layers that mix positions are refused, naming them; positions
 * out of range and non-decoders are refused. lam_generate_tokens: the
 * cached and uncached paths sample the same tokens, past context restarts
 * too; temperature 0 and top_k 1 are greedy; seeds reproduce; bad options
 * are refused. */
#include "test.h"

#include "core/model.h"

#include <stdlib.h>
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

/* ids -> Embedding + PositionEmbedding -> LN -> causal MultiHeadAttention ->
 * Add -> Dense(V, softmax): every position depends on all earlier ones. */
static lam_model *attention_model(void)
{
    lam_model *m = lam_model_new("gpt");
    lam_model_set_seed(m, 9);
    int x, e, p, s, n, a, r, y;
    CHECK_OK(lam_model_input(m, "ids", 1, (int64_t[]){T}, &x));
    lam_layer_spec emb = lam_layer_defaults(LAM_LAYER_EMBEDDING);
    emb.input_dim = V;
    emb.units = D;
    CHECK_OK(lam_model_call(m, &emb, 1, &x, &e));
    lam_layer_spec pe = lam_layer_defaults(LAM_LAYER_POSITION_EMBEDDING);
    pe.sequence_length = T + 2; /* longer than the input: the decoder still stops at T */
    CHECK_OK(lam_model_call(m, &pe, 1, &e, &p));
    lam_layer_spec add = lam_layer_defaults(LAM_LAYER_ADD);
    CHECK_OK(lam_model_call(m, &add, 2, (int[]){e, p}, &s));
    lam_layer_spec ln = lam_layer_defaults(LAM_LAYER_LAYER_NORM);
    CHECK_OK(lam_model_call(m, &ln, 1, &s, &n));
    lam_layer_spec mha = lam_layer_defaults(LAM_LAYER_MULTI_HEAD_ATTENTION);
    mha.num_heads = 2;
    mha.key_dim = 3;
    mha.use_causal_mask = true;
    CHECK_OK(lam_model_call(m, &mha, 2, (int[]){n, n}, &a));
    CHECK_OK(lam_model_call(m, &add, 2, (int[]){s, a}, &r));
    lam_layer_spec head = lam_layer_defaults(LAM_LAYER_DENSE);
    head.units = V;
    head.activation = LAM_ACT_SOFTMAX;
    CHECK_OK(lam_model_call(m, &head, 1, &r, &y));
    CHECK_OK(lam_model_set_outputs(m, 1, &y));
    lam_optimizer adam = lam_adam();
    CHECK_OK(lam_model_compile(m, &adam, LAM_LOSS_SPARSE_CATEGORICAL_CE));
    float *w = lam_model_params(m);
    for (int64_t i = 0; i < lam_model_param_count(m); i++) w[i] += 0.5f * test_rndf();
    return m;
}

static void steps_equal_full_forward(lam_model *(*make)(void))
{
    lam_model *m = make();
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

    lam_model *g = attention_model();
    g->nodes[5].spec.use_causal_mask = false; /* as if built without it */
    CHECK_FAILS(lam_model_decoder(g, &dec), LAM_ERR_UNSUPPORTED,
                "attention without use_causal_mask");
    lam_model_free(g);

    lam_model *u = lam_sequential("uncompiled");
    CHECK_OK(lam_model_add_input(u, 1, (int64_t[]){T}));
    CHECK_FAILS(lam_model_decoder(u, &dec), LAM_ERR_STATE, "no weights yet");
    lam_model_free(u);
}

typedef struct stream { int n; int32_t seen[64]; } stream;
static lam_status on_token(int32_t token, void *user)
{
    stream *st = user;
    if (st->n < 64) st->seen[st->n] = token;
    st->n++;
    return LAM_OK;
}

static void generation(lam_model *(*make)(void))
{
    lam_model *m = make();
    const int32_t prompt[3] = {3, 9, 2};
    enum { N = 40 }; /* > T: the context restarts several times */
    int32_t a[N], b[N], c[N], greedy[N], k1[N];
    lam_generate_options o = lam_generate_defaults();
    o.max_tokens = N;
    o.seed = 17;
    o.temperature = 1.5f; /* flatter: the draws matter */
    stream st = {0};
    o.on_token = on_token;
    o.user = &st;
    CHECK_OK(lam_generate_tokens(m, prompt, 3, &o, a));
    CHECK(st.n == N && memcmp(st.seen, a, sizeof(int32_t) * N) == 0,
          "the callback saw %d tokens, not the %d returned", st.n, N);
    o.on_token = NULL;
    o.no_cache = true;
    CHECK_OK(lam_generate_tokens(m, prompt, 3, &o, b));
    CHECK(memcmp(a, b, sizeof a) == 0, "cached and uncached generation differ");
    o.no_cache = false;
    o.seed = 18;
    CHECK_OK(lam_generate_tokens(m, prompt, 3, &o, c));
    CHECK(memcmp(a, c, sizeof a) != 0, "another seed gives the same %d tokens", N);
    int distinct = 0;
    for (int v = 0; v < V; v++)
        for (int i = 0; i < N; i++)
            if (a[i] == v) {
                distinct++;
                break;
            }
    CHECK(distinct >= 3, "temperature 1.5 drew only %d distinct tokens", distinct);

    o.temperature = 0;
    CHECK_OK(lam_generate_tokens(m, prompt, 3, &o, greedy));
    o.temperature = 1;
    o.top_k = 1;
    CHECK_OK(lam_generate_tokens(m, prompt, 3, &o, k1));
    CHECK(memcmp(greedy, k1, sizeof k1) == 0, "top_k 1 differs from greedy");
    /* Greedy's first token is the argmax of the full forward's last prompt row. */
    CHECK_OK(lam_model_plan(m, 1));
    float *x = lam_model_input_buffer(m, 0);
    for (int t = 0; t < T; t++) x[t] = t < 3 ? (float)prompt[t] : 0.0f;
    CHECK_OK(lam_forward(m, 1, LAM_MODE_INFER));
    const float *row = lam_model_output(m, 0) + 2 * V;
    int best = 0;
    for (int v = 1; v < V; v++)
        if (row[v] > row[best]) best = v;
    CHECK(greedy[0] == best, "greedy first token %d, argmax %d", greedy[0], best);
    o.top_k = 0;
    o.top_p = 1e-6f; /* nucleus of one: greedy too */
    CHECK_OK(lam_generate_tokens(m, prompt, 3, &o, k1));
    CHECK(memcmp(greedy, k1, sizeof k1) == 0, "top_p ~0 differs from greedy");

    o = lam_generate_defaults();
    o.max_tokens = 4;
    CHECK_FAILS(lam_generate_tokens(m, prompt, 0, &o, a), LAM_ERR_ARG, "the prompt is empty");
    CHECK_FAILS(lam_generate_tokens(m, (int32_t[]){3, 11}, 2, &o, a), LAM_ERR_ARG,
                "prompt token 1 is 11, expected 0 to 10");
    o.temperature = -1;
    CHECK_FAILS(lam_generate_tokens(m, prompt, 3, &o, a), LAM_ERR_ARG, "temperature -1");
    o.temperature = 1;
    o.top_p = 0;
    CHECK_FAILS(lam_generate_tokens(m, prompt, 3, &o, a), LAM_ERR_ARG, "top_p 0");
    o.top_p = 1;
    o.top_k = -2;
    CHECK_FAILS(lam_generate_tokens(m, prompt, 3, &o, a), LAM_ERR_ARG, "top_k -2");
    lam_model_free(m);
}

/* The draws follow the distribution: a model whose every row is
 * p = (0.1, 0.2, 0.3, 0.4) (zero kernel, biases log p), 20,000 tokens:
 * temperature 2 gives frequencies ~ p^(1/2) normalised, top_k 2 only the two
 * likeliest in ratio 3:4, top_p 0.65 the same two, top_p 0.75 three. */
static void sampling_distribution(void)
{
    enum { N = 20000, V4 = 4 };
    lam_model *m = lam_sequential("fixed");
    CHECK_OK(lam_model_add_input(m, 1, (int64_t[]){5}));
    lam_layer_spec emb = lam_layer_defaults(LAM_LAYER_EMBEDDING);
    emb.input_dim = V4;
    emb.units = 1;
    CHECK_OK(lam_model_add(m, &emb));
    CHECK_OK(lam_model_add_dense(m, V4, LAM_ACT_SOFTMAX));
    lam_optimizer sgd = lam_sgd();
    CHECK_OK(lam_model_compile(m, &sgd, LAM_LOSS_SPARSE_CATEGORICAL_CE));
    lam_tensor_info k, b;
    CHECK_OK(lam_model_tensor(m, 1, &k));
    CHECK_OK(lam_model_tensor(m, 2, &b));
    const double p[V4] = {0.1, 0.2, 0.3, 0.4};
    for (int v = 0; v < V4; v++) {
        k.data[v] = 0;
        b.data[v] = (float)log(p[v]);
    }
    int32_t *out = malloc(sizeof(int32_t) * N);
    struct { float temperature; int top_k; float top_p; double want[V4]; } cases[] = {
        {2.0f, 0, 1.0f, {0}},
        {1.0f, 2, 1.0f, {0, 0, 3.0 / 7, 4.0 / 7}},
        {1.0f, 0, 0.65f, {0, 0, 3.0 / 7, 4.0 / 7}},
        {1.0f, 0, 0.75f, {0, 2.0 / 9, 3.0 / 9, 4.0 / 9}},
        {0.5f, 3, 1.0f, {0}},
    };
    double z = 0;
    for (int v = 0; v < V4; v++) z += sqrt(p[v]);
    for (int v = 0; v < V4; v++) cases[0].want[v] = sqrt(p[v]) / z;
    z = 0.04 + 0.09 + 0.16; /* temperature 0.5: p^2 over the top 3 */
    cases[4].want[1] = 0.04 / z;
    cases[4].want[2] = 0.09 / z;
    cases[4].want[3] = 0.16 / z;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0] && out; c++) {
        lam_generate_options o = lam_generate_defaults();
        o.max_tokens = N;
        o.temperature = cases[c].temperature;
        o.top_k = cases[c].top_k;
        o.top_p = cases[c].top_p;
        o.seed = 100 + c;
        CHECK_OK(lam_generate_tokens(m, (int32_t[]){1}, 1, &o, out));
        int count[V4] = {0};
        for (int i = 0; i < N; i++)
            if (out[i] >= 0 && out[i] < V4) count[out[i]]++;
        for (int v = 0; v < V4; v++)
            CHECK(fabs((double)count[v] / N - cases[c].want[v]) < 0.015,
                  "case %zu: token %d drawn %.4f of the time, expected %.4f", c, v,
                  (double)count[v] / N, cases[c].want[v]);
    }
    free(out);
    lam_model_free(m);
}

int main(void)
{
    lam_set_threads(1);
    steps_equal_full_forward(positionwise_model);
    steps_equal_full_forward(attention_model);
    mixing_layers_refused();
    generation(positionwise_model);
    generation(attention_model);
    sampling_distribution();
    return test_summary("test_decoder");
}
