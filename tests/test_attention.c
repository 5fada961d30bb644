/* test_attention.c - MultiHeadAttention and its fused kernel: the kernel
 * against its naive reference (every mask kind, dropout, odd sizes, block
 * edges) and across thread counts; the layer against Keras fixtures (forward
 * and GradientTape gradients), finite-difference gradients of every weight
 * and input, Keras's parameter counts and initialiser, decoding with the
 * key/value cache against the full forward, Keras JSON both ways, and the
 * refusals, each naming the layer. */
#include "fixture.h"
#include "gradcheck.h"
#include "kernels/attention.h"

#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------ the kernel */

typedef struct kcase {
    const char *name;
    int batch, tq, s, heads, dk, dv;
    bool causal;
    int offset;
    int masks; /* 1: query mask, 2: key mask, 4: full mask */
    float rate;
    float q_scale; /* spreads the scores (the online softmax's rescaling) */
    bool empty_zero; /* a row that sees nothing weighs nothing */
} kcase;

static float *rnd_array(int64_t n, float scale)
{
    float *x = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) x[i] = scale * test_rndf();
    return x;
}

/* 0/1 with about `zeros` of zeros. */
static float *mask_array(int64_t n, float zeros)
{
    float *x = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) x[i] = (test_rndf() + 1) / 2 < zeros ? 0.0f : 1.0f;
    return x;
}

static double max_err(const float *a, const float *b, int64_t n)
{
    double worst = 0;
    for (int64_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]) / (1.0 + fabs((double)b[i]));
        if (!(e <= worst)) worst = e; /* NaN stays */
    }
    return worst;
}

static void kernel_case(const kcase *c)
{
    lam_attention_args a = {.batch = c->batch, .tq = c->tq, .s = c->s, .heads = c->heads,
                            .dk = c->dk, .dv = c->dv, .causal = c->causal, .offset = c->offset,
                            .rate = c->rate, .seed = 77, .empty_rows_zero = c->empty_zero};
    const int64_t nq = (int64_t)c->batch * c->tq * c->heads;
    const int64_t nk = (int64_t)c->batch * c->s * c->heads;
    float *q = rnd_array(nq * c->dk, c->q_scale), *k = rnd_array(nk * c->dk, 1);
    float *v = rnd_array(nk * c->dv, 1), *dout = rnd_array(nq * c->dv, 1);
    float *qm = NULL, *km = NULL, *fm = NULL;
    if (c->masks & 1) {
        qm = mask_array((int64_t)c->batch * c->tq, 0.2f);
        qm[0] = 0.0f; /* query 0 of sample 0 sees nothing */
    }
    if (c->masks & 2) {
        km = mask_array((int64_t)c->batch * c->s, 0.3f);
        km[0] = 1.0f;
        if (c->batch > 1) /* sample 1 hides every key: all its rows uniform */
            for (int j = 0; j < c->s; j++) km[c->s + j] = 0.0f;
    }
    if (c->masks & 4) {
        fm = mask_array((int64_t)c->batch * c->tq * c->s, 0.4f);
        if (c->tq > 2) /* query 2 of sample 0 sees nothing */
            for (int j = 0; j < c->s; j++) fm[2 * (int64_t)c->s + j] = 0.0f;
    }
    a.query_mask = qm;
    a.key_mask = km;
    a.mask = fm;
    float *o = malloc(sizeof(float) * (size_t)(nq * c->dv));
    float *o_ref = malloc(sizeof(float) * (size_t)(nq * c->dv));
    float *lse = malloc(sizeof(float) * (size_t)nq);
    float *dq = malloc(sizeof(float) * (size_t)(nq * c->dk));
    float *dq_ref = malloc(sizeof(float) * (size_t)(nq * c->dk));
    float *dk = malloc(sizeof(float) * (size_t)(nk * c->dk));
    float *dk_ref = malloc(sizeof(float) * (size_t)(nk * c->dk));
    float *dv = malloc(sizeof(float) * (size_t)(nk * c->dv));
    float *dv_ref = malloc(sizeof(float) * (size_t)(nk * c->dv));
    double *work = malloc(sizeof(double) * (size_t)lam_attention_naive_work(&a));
    lam_attention_forward(&a, q, k, v, o, lse);
    lam_attention_forward_naive(&a, q, k, v, o_ref, work);
    lam_attention_backward(&a, q, k, v, o, lse, dout, dq, dk, dv);
    lam_attention_backward_naive(&a, q, k, v, dout, dq_ref, dk_ref, dv_ref, work);
    const double eo = max_err(o, o_ref, nq * c->dv), eq = max_err(dq, dq_ref, nq * c->dk);
    const double ek = max_err(dk, dk_ref, nk * c->dk), ev = max_err(dv, dv_ref, nk * c->dv);
    printf("kernel %-34s o %.1e  dq %.1e  dk %.1e  dv %.1e\n", c->name, eo, eq, ek, ev);
    CHECK(eo <= 2e-5, "%s: forward differs from the naive one by %g", c->name, eo);
    CHECK(eq <= 5e-5 && ek <= 5e-5 && ev <= 5e-5, "%s: backward differs: dq %g dk %g dv %g",
          c->name, eq, ek, ev);
    if (km && c->batch > 1) {
        /* Sample 1's rows see no key: each is the plain average of the
         * values (dropout aside) or 0, and no gradient reaches its scores. */
        bool avg = true, zero = true;
        for (int h = 0; h < c->heads && c->rate == 0.0f; h++)
            for (int e = 0; e < c->dv; e++) {
                double mean = 0;
                for (int j = 0; j < c->s; j++)
                    mean += v[((int64_t)(c->s + j) * c->heads + h) * c->dv + e];
                mean = c->empty_zero ? 0.0 : mean / c->s;
                avg &= fabs(o[((int64_t)c->tq * c->heads + h) * c->dv + e] - mean) <= 1e-5;
            }
        const int64_t per_sample = (int64_t)c->tq * c->heads * c->dk;
        for (int64_t i = per_sample; i < 2 * per_sample; i++) zero &= dq[i] == 0.0f;
        CHECK(avg && zero, "%s: a row that sees no key is the values' average or 0 (%d) with "
              "no query gradient (%d)", c->name, avg, zero);
    }
    if (c->causal && !c->masks && c->offset + c->tq < c->s) {
        /* Keys past the last query's horizon get exactly nothing. */
        bool zero = true;
        for (int j = c->offset + c->tq; j < c->s; j++)
            for (int i = 0; i < c->heads * c->dk; i++)
                zero &= dk[(int64_t)j * c->heads * c->dk + i] == 0.0f;
        CHECK(zero, "%s: keys no query sees have zero gradient", c->name);
    }
    /* The same bits on one thread as on several. */
    const int threads = lam_get_threads();
    float *o1 = malloc(sizeof(float) * (size_t)(nq * c->dv));
    float *dk1 = malloc(sizeof(float) * (size_t)(nk * c->dk));
    lam_set_threads(1);
    lam_attention_forward(&a, q, k, v, o1, lse);
    lam_attention_backward(&a, q, k, v, o1, lse, dout, dq_ref, dk1, dv_ref);
    lam_set_threads(threads);
    CHECK(memcmp(o, o1, sizeof(float) * (size_t)(nq * c->dv)) == 0 &&
          memcmp(dk, dk1, sizeof(float) * (size_t)(nk * c->dk)) == 0,
          "%s: results depend on the thread count", c->name);
    free(o1); free(dk1);
    free(q); free(k); free(v); free(dout); free(qm); free(km); free(fm); free(o); free(o_ref);
    free(lse); free(dq); free(dq_ref); free(dk); free(dk_ref); free(dv); free(dv_ref); free(work);
}

static void kernel_vs_naive(void)
{
    lam_set_threads(2);
    static const kcase cases[] = {
        {"plain", 2, 5, 7, 3, 4, 6, false, 0, 0, 0.0f, 1, false},
        {"causal, odd", 2, 37, 37, 2, 5, 3, true, 0, 0, 0.0f, 1, false},
        {"causal, offset 9 (a decoder)", 1, 3, 12, 2, 4, 4, true, 9, 0, 0.0f, 1, false},
        {"causal, keys past the queries", 2, 5, 11, 2, 4, 4, true, 0, 0, 0.0f, 1, false},
        {"blocks: 70 x 133, large scores", 1, 70, 133, 2, 8, 5, false, 0, 0, 0.0f, 6, false},
        {"blocks, causal 97", 2, 97, 97, 1, 3, 2, true, 0, 0, 0.0f, 4, false},
        {"query mask", 2, 6, 9, 2, 4, 3, false, 0, 1, 0.0f, 1, false},
        {"key mask (sample 1 all hidden)", 2, 9, 70, 2, 4, 4, false, 0, 2, 0.0f, 1, false},
        {"full mask", 2, 7, 8, 3, 2, 5, false, 0, 4, 0.0f, 1, false},
        {"every mask, causal, blocks", 3, 40, 80, 2, 6, 3, true, 0, 7, 0.0f, 3, false},
        {"dropout 0.3", 2, 9, 11, 2, 4, 4, false, 0, 0, 0.3f, 1, false},
        {"dropout, every mask, causal, blocks", 2, 70, 70, 2, 4, 3, true, 0, 7, 0.5f, 2, false},
        {"key mask, empty rows weigh nothing", 2, 9, 70, 2, 4, 4, false, 0, 2, 0.0f, 1, true},
        {"dropout, every mask, empty rows 0", 3, 40, 80, 2, 6, 3, true, 0, 7, 0.2f, 3, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) kernel_case(&cases[i]);
}

/* Dropout in training is inverted dropout on the probabilities: about
 * `rate` of them dropped, the rest scaled so the expectation holds. */
static void kernel_dropout_rate(void)
{
    lam_attention_args a = {.batch = 1, .tq = 64, .s = 64, .heads = 4, .dk = 1, .dv = 1,
                            .rate = 0.25f, .seed = 5};
    const int64_t n = 64 * 4;
    float *q = calloc((size_t)n, sizeof(float)), *k = calloc((size_t)n, sizeof(float));
    float *v = malloc(sizeof(float) * (size_t)n), *o = malloc(sizeof(float) * (size_t)n);
    /* Equal scores: each row is 1/64 of every key; v = 1 so o = kept / (64 keep). */
    for (int64_t i = 0; i < n; i++) v[i] = 1.0f;
    lam_attention_forward(&a, q, k, v, o, NULL);
    double mean = 0;
    for (int64_t i = 0; i < n; i++) mean += o[i];
    mean /= (double)n;
    CHECK(fabs(mean - 1.0) < 0.03, "dropout keeps the expectation: mean %g", mean);
    a.seed = 6;
    float *o2 = malloc(sizeof(float) * (size_t)n);
    lam_attention_forward(&a, q, k, v, o2, NULL);
    CHECK(memcmp(o, o2, sizeof(float) * (size_t)n) != 0, "another seed, another draw");
    free(q); free(k); free(v); free(o); free(o2);
}

/* Data-parallel ranks compute slices of a batch: samples [2, 5) of a batch
 * of 5, forward with batch_offset 2, get the masks the whole batch gives
 * them (and without the offset, other ones). */
static void kernel_dropout_slice(void)
{
    lam_attention_args a = {.batch = 5, .tq = 6, .s = 6, .heads = 2, .dk = 3, .dv = 3,
                            .rate = 0.5f, .seed = 11};
    const int64_t per = 6 * 2 * 3, n = 5 * per;
    float *q = malloc(sizeof(float) * (size_t)n), *k = malloc(sizeof(float) * (size_t)n);
    float *v = malloc(sizeof(float) * (size_t)n), *o = malloc(sizeof(float) * (size_t)n);
    float *os = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) {
        q[i] = sinf(0.37f * (float)i);
        k[i] = cosf(0.21f * (float)i);
        v[i] = sinf(0.13f * (float)i + 1.0f);
    }
    lam_attention_forward(&a, q, k, v, o, NULL);
    lam_attention_args slice = a;
    slice.batch = 3;
    slice.batch_offset = 2;
    lam_attention_forward(&slice, q + 2 * per, k + 2 * per, v + 2 * per, os, NULL);
    CHECK(memcmp(o + 2 * per, os, sizeof(float) * (size_t)(3 * per)) == 0,
          "samples 2..4 with batch_offset 2: the whole batch's outputs");
    slice.batch_offset = 0;
    lam_attention_forward(&slice, q + 2 * per, k + 2 * per, v + 2 * per, os, NULL);
    CHECK(memcmp(o + 2 * per, os, sizeof(float) * (size_t)(3 * per)) != 0,
          "the same slice at offset 0 draws other masks");
    free(q); free(k); free(v); free(o); free(os);
}

/* ------------------------------------------------------------- the layer */

static lam_layer_spec mha_spec(int heads, int key_dim)
{
    lam_layer_spec s = lam_layer_defaults(LAM_LAYER_MULTI_HEAD_ATTENTION);
    s.num_heads = heads;
    s.key_dim = key_dim;
    return s;
}

/* A model around one layer: inputs query (tq, dq), value (s, dvin) or the
 * query again (self), key (s, dkin) and mask (tq, s) as the spec asks. */
static lam_model *mha_model(const lam_layer_spec *s, int tq, int dq, int sv, int dvin, int dkin,
                            bool self, int *mha_node)
{
    lam_model *m = lam_model_new("mha");
    lam_model_set_seed(m, 11);
    int ins[4], n = 0, q;
    CHECK_OK(lam_model_input(m, "query", 2, (int64_t[]){tq, dq}, &q));
    ins[n++] = q;
    if (self) {
        ins[n++] = q;
    } else {
        CHECK_OK(lam_model_input(m, "value", 2, (int64_t[]){sv, dvin}, &ins[n]));
        n++;
    }
    if (s->key_input) {
        CHECK_OK(lam_model_input(m, "key", 2, (int64_t[]){sv, dkin}, &ins[n]));
        n++;
    }
    if (s->mask_input) {
        CHECK_OK(lam_model_input(m, "mask", 2, (int64_t[]){tq, sv}, &ins[n]));
        n++;
    }
    int y = -1;
    CHECK_OK(lam_model_call(m, s, n, ins, &y));
    if (mha_node) *mha_node = y;
    return m;
}

typedef struct fcase {
    const char *name;
    int B, tq, s, dq, dvin, dkin, H, key_dim, value_dim, out;
    bool mask, self, bias, causal;
    float rate;
} fcase;

static const fcase fixture_cases[] = {
    {"self", 2, 5, 5, 8, 8, 0, 2, 4, 0, 0, false, true, true, false, 0.0f},
    {"causal", 2, 6, 6, 8, 8, 0, 2, 3, 0, 0, false, true, true, true, 0.0f},
    {"cross", 2, 4, 7, 6, 3, 5, 3, 4, 2, 9, true, false, false, false, 0.0f},
    {"cross_dropout", 2, 4, 7, 6, 3, 5, 3, 4, 2, 9, true, false, false, false, 0.1f},
    {"dims", 2, 5, 3, 6, 4, 0, 2, 3, 5, 4, false, false, true, false, 0.0f},
    {"causal_mask", 2, 5, 5, 4, 4, 0, 1, 6, 0, 0, true, true, true, true, 0.2f},
};

static float *load(const char *name, const char *what, long expect)
{
    char path[96];
    snprintf(path, sizeof path, "attention/%s_%s.npy", name, what);
    long n = 0;
    float *x = fixture_load(path, &n);
    CHECK(x && n == expect, "fixture %s: %ld values, expected %ld", path, n, expect);
    if (x && n != expect) {
        free(x);
        return NULL;
    }
    return x;
}

/* Forward (inference) and the gradients of sum(y * r) against Keras. */
static void keras_parity(void)
{
    for (size_t ci = 0; ci < sizeof fixture_cases / sizeof fixture_cases[0]; ci++) {
        const fcase *c = &fixture_cases[ci];
        lam_layer_spec s = mha_spec(c->H, c->key_dim);
        s.value_dim = c->value_dim;
        s.output_dim = c->out;
        s.use_bias = c->bias;
        s.use_causal_mask = c->causal;
        s.key_input = c->dkin > 0;
        s.mask_input = c->mask;
        s.rate = c->rate;
        lam_model *m = mha_model(&s, c->tq, c->dq, c->s, c->dvin, c->dkin, c->self, NULL);
        lam_optimizer sgd = lam_sgd();
        CHECK_OK(lam_model_compile(m, &sgd, LAM_LOSS_MSE));
        CHECK_OK(lam_model_plan(m, c->B));
        const int out = c->out ? c->out : c->dq;
        const long nyq = (long)c->B * c->tq * out;
        float *w = load(c->name, "weights", (long)lam_model_param_count(m));
        float *xq = load(c->name, "query", (long)c->B * c->tq * c->dq);
        float *xv = c->self ? NULL : load(c->name, "value", (long)c->B * c->s * c->dvin);
        float *xk = c->dkin ? load(c->name, "key", (long)c->B * c->s * c->dkin) : NULL;
        float *xm = c->mask ? load(c->name, "mask", (long)c->B * c->tq * c->s) : NULL;
        float *y = load(c->name, "out", nyq), *r = load(c->name, "r", nyq);
        float *dw = load(c->name, "dweights", (long)lam_model_param_count(m));
        float *dxq = load(c->name, "dquery", (long)c->B * c->tq * c->dq);
        float *dxv = c->self ? NULL : load(c->name, "dvalue", (long)c->B * c->s * c->dvin);
        float *dxk = c->dkin ? load(c->name, "dkey", (long)c->B * c->s * c->dkin) : NULL;
        const bool have = w && xq && y && r && dw && dxq && (c->self || (xv && dxv)) &&
                          (!c->dkin || (xk && dxk)) && (!c->mask || xm);
        if (have) {
            memcpy(lam_model_params(m), w, sizeof(float) * (size_t)lam_model_param_count(m));
            const float *xs[4] = {xq, xv, xk, xm};
            for (int k = 0, i = 0; i < 4; i++)
                if (xs[i]) {
                    const lam_node *in = lam_model_input_node(m, k);
                    memcpy(lam_model_input_buffer(m, k), xs[i],
                           sizeof(float) * (size_t)(c->B * in->out.size));
                    k++;
                }
            CHECK_OK(lam_forward(m, c->B, LAM_MODE_INFER_GRAD));
            const double ey = max_err(lam_model_output(m, 0), y, nyq);
            CHECK(ey <= 1e-5, "%s: forward differs from Keras by %g", c->name, ey);
            memcpy(lam_model_output_grad(m, 0), r, sizeof(float) * (size_t)nyq);
            CHECK_OK(lam_backward(m, c->B, true));
            const double ew = max_err(lam_model_grads(m), dw, (long)lam_model_param_count(m));
            double ex = max_err(lam_model_input_grad(m, 0), dxq, (long)c->B * c->tq * c->dq);
            if (!c->self) {
                const double e = max_err(lam_model_input_grad(m, 1), dxv,
                                         (long)c->B * c->s * c->dvin);
                ex = e > ex ? e : ex;
            }
            if (c->dkin) {
                const double e = max_err(lam_model_input_grad(m, 2), dxk,
                                         (long)c->B * c->s * c->dkin);
                ex = e > ex ? e : ex;
            }
            CHECK(ew <= 1e-5 && ex <= 1e-5, "%s: gradients differ from Keras: weights %g, "
                  "inputs %g", c->name, ew, ex);
            if (c->mask) {
                const float *dm = lam_model_input_grad(m, lam_model_num_inputs(m) - 1);
                bool zero = true;
                for (long i = 0; i < (long)c->B * c->tq * c->s; i++) zero &= dm[i] == 0.0f;
                CHECK(zero, "%s: the mask's gradient is zero", c->name);
            }
            printf("Keras parity %-12s forward %.1e, gradients: weights %.1e, inputs %.1e\n",
                   c->name, ey, ew, ex);
        }
        free(w); free(xq); free(xv); free(xk); free(xm); free(y); free(r); free(dw);
        free(dxq); free(dxv); free(dxk);
        lam_model_free(m);
    }
}

/* Inputs of the same sign keep a mask input's values away from 0, where a
 * finite difference would flip a key from hidden to visible. */
static const check_opts positive = {0.05f, 0.003f, 1e-2f};

static void gradients(void)
{
    /* Self-attention, causal: the same input read twice (the engine sums). */
    lam_layer_spec s = mha_spec(2, 3);
    s.use_causal_mask = true;
    lam_model *m = model_with_input(2, (int64_t[]){5, 6});
    CHECK_OK(lam_model_call(m, &s, 2, (int[]){0, 0}, NULL));
    gradcheck("MHA(2, 3) causal self-attention", m, LAM_LOSS_MSE, 2, smooth);
    lam_model_free(m);
    /* Cross-attention with a key, other value and output sizes, no biases. */
    s = mha_spec(3, 2);
    s.key_input = true;
    s.value_dim = 4;
    s.output_dim = 5;
    s.use_bias = false;
    m = mha_model(&s, 4, 3, 6, 2, 5, false, NULL);
    gradcheck("MHA(3, 2, value_dim 4, out 5) with key", m, LAM_LOSS_MSE, 2, smooth);
    lam_model_free(m);
    /* Dropout in training (the same draw at every evaluation of a step). */
    s = mha_spec(2, 4);
    s.rate = 0.4f;
    s.use_causal_mask = true;
    m = mha_model(&s, 6, 4, 6, 4, 0, true, NULL);
    gradcheck("MHA(2, 4) causal, dropout 0.4", m, LAM_LOSS_MSE, 2, smooth);
    lam_model_free(m);
    /* Every input: query, value, key, mask (its gradient zero). */
    s = mha_spec(2, 3);
    s.key_input = s.mask_input = true;
    s.use_causal_mask = true;
    m = mha_model(&s, 3, 4, 4, 3, 2, false, NULL);
    gradcheck("MHA(2, 3) query, value, key, mask, causal", m, LAM_LOSS_MSE, 2, positive);
    lam_model_free(m);
    /* Inside a residual block, followed by a softmax output. */
    m = lam_model_new("block");
    lam_model_set_seed(m, 3);
    int x, a, r, y;
    CHECK_OK(lam_model_input(m, "x", 2, (int64_t[]){4, 6}, &x));
    s = mha_spec(2, 3);
    s.use_causal_mask = true;
    CHECK_OK(lam_model_call(m, &s, 2, (int[]){x, x}, &a));
    lam_layer_spec add = lam_layer_defaults(LAM_LAYER_ADD);
    CHECK_OK(lam_model_call(m, &add, 2, (int[]){x, a}, &r));
    lam_layer_spec d = lam_layer_defaults(LAM_LAYER_DENSE);
    d.units = 3;
    d.activation = LAM_ACT_SOFTMAX;
    CHECK_OK(lam_model_call(m, &d, 1, &r, &y));
    gradcheck("x + MHA(x, x) -> Dense(3, softmax)", m, LAM_LOSS_SPARSE_CATEGORICAL_CE, 2, smooth);
    lam_model_free(m);
}

/* Parameter counts as Keras's summary, tensor names and shapes as Keras's
 * variables, and glorot_uniform with Keras 3's fans for EinsumDense. */
static void weights_as_keras(void)
{
    long n = 0;
    float *counts = fixture_load("attention/param_counts.npy", &n);
    CHECK(counts && n == 3, "param_counts fixture");
    lam_layer_spec s = mha_spec(2, 32);
    lam_model *m = mha_model(&s, 200, 32, 200, 32, 0, true, NULL);
    CHECK(lam_model_param_count(m) == 8416 && (!counts || counts[2] == 8416.0f),
          "keras.io's MultiHeadAttention(2, 32) on 32 features: %lld params",
          (long long)lam_model_param_count(m));
    lam_model_free(m);
    free(counts);
    s = mha_spec(8, 16);
    s.value_dim = 4;
    s.output_dim = 10;
    m = mha_model(&s, 3, 64, 3, 64, 0, true, NULL);
    static const char *names[8] = {"query/kernel", "query/bias", "key/kernel", "key/bias",
                                   "value/kernel", "value/bias", "attention_output/kernel",
                                   "attention_output/bias"};
    static const int64_t shapes[8][3] = {{64, 8, 16}, {8, 16, 0}, {64, 8, 16}, {8, 16, 0},
                                         {64, 8, 4},  {8, 4, 0},  {8, 4, 10},  {10, 0, 0}};
    CHECK(lam_model_num_tensors(m) == 8, "8 tensors");
    lam_optimizer sgd = lam_sgd();
    CHECK_OK(lam_model_compile(m, &sgd, LAM_LOSS_MSE));
    for (int t = 0; t < 8 && t < lam_model_num_tensors(m); t++) {
        lam_tensor_info ti;
        CHECK_OK(lam_model_tensor(m, t, &ti));
        char want[96];
        snprintf(want, sizeof want, "multi_head_attention/%s", names[t]);
        CHECK(strcmp(ti.name, want) == 0, "tensor %d is %s, expected %s", t, ti.name, want);
        for (int d = 0; d < ti.rank; d++)
            CHECK(ti.shape[d] == shapes[t][d], "%s: dim %d is %lld", ti.name, d,
                  (long long)ti.shape[d]);
        float mx = 0;
        for (int64_t i = 0; i < ti.count; i++) mx = fabsf(ti.data[i]) > mx ? fabsf(ti.data[i]) : mx;
        /* Keras 3: query (64, 8, 16): fans 64 in, 128 out; value (64, 8, 4):
         * 64, 32; output (8, 4, 10): 32, 10. Biases zero. */
        const double limit = t == 0 || t == 2 ? sqrt(6.0 / (64 + 128))
                             : t == 4         ? sqrt(6.0 / (64 + 32))
                             : t == 6         ? sqrt(6.0 / (32 + 10))
                                              : 0.0;
        CHECK(mx <= limit && mx >= 0.9 * limit, "%s: largest |w| %g, Keras's limit %g",
              ti.name, mx, limit);
    }
    lam_model_free(m);
    /* Without biases: kernels only. */
    s = mha_spec(2, 3);
    s.use_bias = false;
    m = mha_model(&s, 4, 5, 4, 5, 0, true, NULL);
    CHECK(lam_model_num_tensors(m) == 4 && lam_model_param_count(m) == 5 * 6 * 3 + 6 * 5,
          "use_bias false: 4 kernels, %lld params", (long long)lam_model_param_count(m));
    lam_model_free(m);
}

/* Decoding: a causal layer fed one position at a time through its cache
 * gives, at every position, the full-sequence forward's row. */
static void decoding_cache(void)
{
    const int T = 7, D = 6;
    lam_layer_spec s = mha_spec(2, 3);
    s.use_causal_mask = true;
    s.value_dim = 4;
    s.output_dim = 5;
    s.rate = 0.3f; /* off at inference */
    lam_model *full = mha_model(&s, T, D, T, D, 0, true, NULL);
    s.cache_len = T;
    lam_model *dec = mha_model(&s, 1, D, 1, D, 0, true, NULL);
    lam_optimizer sgd = lam_sgd();
    CHECK_OK(lam_model_compile(full, &sgd, LAM_LOSS_MSE));
    CHECK_OK(lam_model_compile(dec, &sgd, LAM_LOSS_MSE));
    CHECK(lam_model_param_count(full) == lam_model_param_count(dec), "same weights either way");
    memcpy(lam_model_params(dec), lam_model_params(full),
           sizeof(float) * (size_t)lam_model_param_count(full));
    CHECK_OK(lam_model_plan(full, 1));
    CHECK_OK(lam_model_plan(dec, 1));
    float *x = lam_model_input_buffer(full, 0);
    for (int i = 0; i < T * D; i++) x[i] = test_rndf();
    CHECK_OK(lam_forward(full, 1, LAM_MODE_INFER));
    const float *yf = lam_model_output(full, 0);
    double worst = 0;
    for (int pass = 0; pass < 2; pass++) /* the second pass reuses the cache from position 0 */
        for (int p = 0; p < T; p++) {
            memcpy(lam_model_input_buffer(dec, 0), x + p * D, sizeof(float) * D);
            dec->position = p;
            CHECK_OK(lam_forward(dec, 1, LAM_MODE_INFER));
            const double e = max_err(lam_model_output(dec, 0), yf + p * 5, 5);
            worst = e > worst ? e : worst;
        }
    CHECK(worst <= 1e-6, "decoding with the cache differs from the full forward by %g", worst);
    printf("decoding: %d positions through the cache, worst difference %.1e\n", T, worst);
    /* The decoder really attends over the earlier positions: a wrong cache
     * slot would change the output. */
    memcpy(lam_model_input_buffer(dec, 0), x + (T - 1) * D, sizeof(float) * D);
    dec->position = T - 1;
    dec->nodes[1].cache[0] += 1.0f; /* key of position 0 */
    CHECK_OK(lam_forward(dec, 1, LAM_MODE_INFER));
    CHECK(max_err(lam_model_output(dec, 0), yf + (T - 1) * 5, 5) > 1e-4,
          "the last position reads position 0's cached key");
    /* A position past the cache (lam_decoder_step refuses it) writes
     * nothing out of bounds and gives zeros. */
    dec->position = T;
    CHECK_OK(lam_forward(dec, 1, LAM_MODE_INFER));
    bool zero = true;
    for (int i = 0; i < 5; i++) zero &= lam_model_output(dec, 0)[i] == 0.0f;
    CHECK(zero, "a position past the cache gives zeros");
    lam_model_free(full);
    lam_model_free(dec);
}

/* ------------------------------------------------------------------ JSON */

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *t = malloc((size_t)n + 1);
    if (t && fread(t, 1, (size_t)n, f) != (size_t)n) {
        free(t);
        t = NULL;
    }
    if (t) t[n] = '\0';
    fclose(f);
    return t;
}

static const lam_layer_spec *find_mha(const lam_model *m)
{
    for (int i = 0; i < lam_model_num_layers(m); i++)
        if (lam_model_layer(m, i)->kind == LAM_LAYER_MULTI_HEAD_ATTENTION)
            return lam_model_layer(m, i);
    return NULL;
}

/* Keras's JSON (both forms) of a causal transformer block and of a
 * cross-attention with key and mask: read with Keras's parameter counts,
 * written back and read again to the same model. */
static void keras_json(void)
{
    long n = 0;
    float *counts = fixture_load("attention/param_counts.npy", &n);
    CHECK(counts && n == 3, "param_counts fixture");
    static const char *files[4] = {"transformer_keras3.json", "transformer_tfkeras2.json",
                                   "cross_keras3.json", "cross_tfkeras2.json"};
    for (int f = 0; f < 4 && counts; f++) {
        char path[96];
        snprintf(path, sizeof path, "fixtures/attention/%s", files[f]);
        lam_model *m = NULL;
        CHECK_OK(lam_model_from_json_file(path, &m));
        if (!m) continue;
        const bool cross = f >= 2;
        CHECK(lam_model_param_count(m) == (int64_t)counts[cross], "%s: %lld params, Keras %g",
              files[f], (long long)lam_model_param_count(m), (double)counts[cross]);
        const lam_layer_spec *s = find_mha(m);
        CHECK(s != NULL, "%s: has the attention layer", files[f]);
        if (s && !cross)
            CHECK(s->use_causal_mask && !s->key_input && !s->mask_input && s->num_heads == 2 &&
                  s->key_dim == 8 && fabsf(s->rate - 0.1f) < 1e-7f,
                  "%s: causal self-attention, 2 heads of 8, dropout 0.1", files[f]);
        if (s && cross)
            CHECK(!s->use_causal_mask && s->key_input && s->mask_input && s->num_heads == 3 &&
                  s->key_dim == 4 && s->value_dim == 2 && s->output_dim == 9 && !s->use_bias,
                  "%s: key and mask inputs, value_dim 2, output 9, no bias", files[f]);
        if (cross) CHECK(lam_model_num_inputs(m) == 4, "%s: four inputs", files[f]);
        /* lamina's summary shows Keras's total. */
        char sum[64];
        const long total = (long)counts[cross];
        if (total >= 1000)
            snprintf(sum, sizeof sum, "Total params: %ld,%03ld (", total / 1000, total % 1000);
        else snprintf(sum, sizeof sum, "Total params: %ld (", total);
        FILE *tmp = tmpfile();
        CHECK_OK(lam_model_summary(m, tmp));
        char buf[8192] = "";
        rewind(tmp);
        size_t got = fread(buf, 1, sizeof buf - 1, tmp);
        buf[got] = '\0';
        fclose(tmp);
        CHECK(strstr(buf, sum) != NULL, "%s: summary lacks \"%s\":\n%s", files[f], sum, buf);
        /* Written back (Keras 3 form) and read again: the same model. */
        char *text = NULL;
        CHECK_OK(lam_model_to_json(m, &text));
        lam_model *back = NULL;
        if (text) CHECK_OK(lam_model_from_json(text, "written", &back));
        if (back) {
            CHECK(lam_model_param_count(back) == lam_model_param_count(m) &&
                  lam_model_num_layers(back) == lam_model_num_layers(m),
                  "%s: the written model reads back the same", files[f]);
            const lam_layer_spec *b = find_mha(back);
            CHECK(b && s && b->use_causal_mask == s->use_causal_mask &&
                  b->key_input == s->key_input && b->mask_input == s->mask_input &&
                  b->value_dim == s->value_dim && b->output_dim == s->output_dim &&
                  b->rate == s->rate && b->use_bias == s->use_bias,
                  "%s: the call options survive the round trip", files[f]);
            for (int i = 0; i < lam_model_num_layers(m); i++) {
                int a[4], c[4];
                const int na = lam_model_node_inputs(m, i, 4, a);
                const int nc = lam_model_node_inputs(back, i, 4, c);
                CHECK(na == nc && memcmp(a, c, sizeof(int) * (size_t)(na < 4 ? na : 4)) == 0,
                      "%s: layer %d reads the same nodes", files[f], i);
            }
        }
        if (text && f == 0)
            CHECK(strstr(text, "\"use_causal_mask\":true") != NULL, "use_causal_mask written");
        if (text && (f == 0 || f == 2)) {
            const char *out = getenv("LAMINA_JSON_OUT");
            if (out) { /* for tests/check_keras_json.py */
                char p2[512];
                snprintf(p2, sizeof p2, "%s/lamina_attention_%s.json", out,
                         f ? "cross" : "transformer");
                FILE *w = fopen(p2, "w");
                if (w) {
                    fputs(text, w);
                    fclose(w);
                }
            }
        }
        if (text && f == 2)
            CHECK(strstr(text, "\"attention_mask\":{\"class_name\":\"__keras_tensor__\"") &&
                  strstr(text, "\"key\":{\"class_name\":\"__keras_tensor__\""),
                  "key and attention_mask written as keyword tensors");
        free(text);
        lam_model_free(back);
        lam_model_free(m);
    }
    free(counts);
}

/* A transformer block built in C through JSON and back, computing the same. */
static void transformer_round_trip(void)
{
    lam_model *m = lam_model_new("block");
    int x, a, r, h, f, g, y;
    CHECK_OK(lam_model_input(m, "tokens", 2, (int64_t[]){8, 16}, &x));
    lam_layer_spec s = mha_spec(4, 4);
    s.use_causal_mask = true;
    s.rate = 0.1f;
    CHECK_OK(lam_model_call(m, &s, 2, (int[]){x, x}, &a));
    lam_layer_spec add = lam_layer_defaults(LAM_LAYER_ADD);
    CHECK_OK(lam_model_call(m, &add, 2, (int[]){x, a}, &r));
    lam_layer_spec ln = lam_layer_defaults(LAM_LAYER_LAYER_NORM);
    CHECK_OK(lam_model_call(m, &ln, 1, &r, &h));
    lam_layer_spec d = lam_layer_defaults(LAM_LAYER_DENSE);
    d.units = 32;
    d.activation = LAM_ACT_GELU;
    CHECK_OK(lam_model_call(m, &d, 1, &h, &f));
    d.units = 16;
    d.activation = LAM_ACT_LINEAR;
    CHECK_OK(lam_model_call(m, &d, 1, &f, &g));
    CHECK_OK(lam_model_call(m, &add, 2, (int[]){h, g}, &y));
    char *text = NULL;
    CHECK_OK(lam_model_to_json(m, &text));
    lam_model *back = NULL;
    if (text) CHECK_OK(lam_model_from_json(text, "block", &back));
    if (back) {
        lam_optimizer sgd = lam_sgd();
        CHECK_OK(lam_model_compile(m, &sgd, LAM_LOSS_MSE));
        CHECK_OK(lam_model_compile(back, &sgd, LAM_LOSS_MSE));
        CHECK(lam_model_param_count(back) == lam_model_param_count(m), "same parameters");
        memcpy(lam_model_params(back), lam_model_params(m),
               sizeof(float) * (size_t)lam_model_param_count(m));
        CHECK_OK(lam_model_plan(m, 3));
        CHECK_OK(lam_model_plan(back, 3));
        for (int i = 0; i < 3 * 8 * 16; i++)
            lam_model_input_buffer(m, 0)[i] = lam_model_input_buffer(back, 0)[i] = test_rndf();
        CHECK_OK(lam_forward(m, 3, LAM_MODE_INFER));
        CHECK_OK(lam_forward(back, 3, LAM_MODE_INFER));
        CHECK(memcmp(lam_model_output(m, 0), lam_model_output(back, 0),
                     sizeof(float) * 3 * 8 * 16) == 0,
              "the block read back computes the same bits");
        /* And through a model file (architecture as JSON, weights as safetensors). */
        char path[256];
        const char *tmp = getenv("TMPDIR");
        snprintf(path, sizeof path, "%s/lamina_attention_%d.safetensors",
                 tmp && *tmp ? tmp : "/tmp", (int)getpid());
        lam_model *loaded = NULL;
        CHECK_OK(lam_model_save(m, path));
        CHECK_OK(lam_model_load(path, &loaded));
        unlink(path);
        if (loaded) {
            CHECK_OK(lam_model_plan(loaded, 3));
            memcpy(lam_model_input_buffer(loaded, 0), lam_model_input_buffer(m, 0),
                   sizeof(float) * 3 * 8 * 16);
            CHECK_OK(lam_forward(loaded, 3, LAM_MODE_INFER));
            CHECK(memcmp(lam_model_output(m, 0), lam_model_output(loaded, 0),
                         sizeof(float) * 3 * 8 * 16) == 0,
                  "saved and loaded, the block computes the same bits");
            const lam_layer_spec *ls = find_mha(loaded);
            CHECK(ls && ls->use_causal_mask && ls->num_heads == 4 && ls->rate == 0.1f,
                  "the model file keeps the causal mask");
        }
        lam_model_free(loaded);
    }
    free(text);
    lam_model_free(back);
    lam_model_free(m);
}

/* JSON the reader must refuse, each with a message naming the layer. */
static void json_refusals(void)
{
    char *base = read_text("fixtures/attention/cross_keras3.json");
    CHECK(base != NULL, "cross_keras3.json");
    if (!base) return;
    static const struct { const char *from, *to; lam_status st; const char *needle; } cases[] = {
        {"\"num_heads\": 3", "\"num_heads\": 0", LAM_ERR_FORMAT, "num_heads"},
        {"\"key_dim\": 4", "\"key_dim\": 0", LAM_ERR_FORMAT, "key_dim"},
        {"\"use_gate\": false", "\"use_gate\": true", LAM_ERR_UNSUPPORTED, "use_gate"},
        {"\"attention_axes\": [1]", "\"attention_axes\": [2]", LAM_ERR_UNSUPPORTED,
         "attention_axes"},
        {"\"output_shape\": [9]", "\"output_shape\": [9, 2]", LAM_ERR_UNSUPPORTED,
         "output_shape"},
        {"\"attention_mask\": {", "\"query_mask\": 1, \"attention_mask\": {",
         LAM_ERR_UNSUPPORTED, "query_mask"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *at = strstr(base, cases[i].from);
        CHECK(at != NULL, "case %zu: \"%s\" not in the fixture", i, cases[i].from);
        if (!at) continue;
        size_t nb = strlen(base), nf = strlen(cases[i].from), nt = strlen(cases[i].to);
        char *t = malloc(nb - nf + nt + 1);
        memcpy(t, base, (size_t)(at - base));
        memcpy(t + (at - base), cases[i].to, nt);
        strcpy(t + (at - base) + nt, at + nf);
        lam_model *m = NULL;
        CHECK_FAILS(lam_model_from_json(t, "cross", &m), cases[i].st, cases[i].needle);
        CHECK(strstr(lam_last_error(), "multi_head_attention") != NULL, "case %zu names the "
              "layer: %s", i, lam_last_error());
        lam_model_free(m);
        free(t);
    }
    free(base);
}

/* ------------------------------------------------------------- refusals */

static void refusals(void)
{
    lam_model *m = lam_model_new("bad");
    int q, v, k, mk, wrong, flat, y;
    CHECK_OK(lam_model_input(m, "q", 2, (int64_t[]){4, 6}, &q));
    CHECK_OK(lam_model_input(m, "v", 2, (int64_t[]){5, 3}, &v));
    CHECK_OK(lam_model_input(m, "k", 2, (int64_t[]){6, 3}, &k));
    CHECK_OK(lam_model_input(m, "m", 2, (int64_t[]){4, 5}, &mk));
    CHECK_OK(lam_model_input(m, "wrong_mask", 2, (int64_t[]){5, 4}, &wrong));
    CHECK_OK(lam_model_input(m, "flat", 1, (int64_t[]){6}, &flat));
    lam_layer_spec s = mha_spec(0, 4);
    snprintf(s.name, sizeof s.name, "att");
    CHECK_FAILS(lam_model_call(m, &s, 2, (int[]){q, v}, &y), LAM_ERR_ARG, "num_heads is 0");
    CHECK(strstr(lam_last_error(), "\"att\"") != NULL, "names the layer: %s", lam_last_error());
    s = mha_spec(2, 0);
    CHECK_FAILS(lam_model_call(m, &s, 2, (int[]){q, v}, &y), LAM_ERR_ARG, "key_dim is 0");
    s = mha_spec(2, 4);
    s.mask_input = true;
    CHECK_FAILS(lam_model_call(m, &s, 3, (int[]){q, v, wrong}, &y), LAM_ERR_SHAPE,
                "attention mask has shape (5, 4), expected (4, 5)");
    CHECK_FAILS(lam_model_call(m, &s, 2, (int[]){q, v}, &y), LAM_ERR_ARG,
                "called on 2 inputs, expected 3 (query, value, attention mask)");
    s = mha_spec(2, 4);
    s.key_input = true;
    CHECK_FAILS(lam_model_call(m, &s, 3, (int[]){q, v, k}, &y), LAM_ERR_SHAPE,
                "the key has 6 positions and the value 5");
    s = mha_spec(2, 4);
    CHECK_FAILS(lam_model_call(m, &s, 2, (int[]){flat, v}, &y), LAM_ERR_SHAPE,
                "the query has shape (6,), expected rank 2");
    CHECK_FAILS(lam_model_call(m, &s, 1, &q, &y), LAM_ERR_ARG,
                "called on 1 inputs, expected 2 to 4");
    s.rate = 1.0f;
    CHECK_FAILS(lam_model_call(m, &s, 2, (int[]){q, v}, &y), LAM_ERR_ARG, "dropout rate 1");
    s = mha_spec(2, 4);
    s.cache_len = 8;
    CHECK_FAILS(lam_model_call(m, &s, 2, (int[]){q, q}, &y), LAM_ERR_UNSUPPORTED,
                "needs causal self-attention");
    s.use_causal_mask = true;
    s.key_input = true;
    CHECK_FAILS(lam_model_call(m, &s, 3, (int[]){q, q, q}, &y), LAM_ERR_UNSUPPORTED,
                "needs causal self-attention");
    s.key_input = false;
    CHECK_FAILS(lam_model_call(m, &s, 2, (int[]){q, q}, &y), LAM_ERR_SHAPE,
                "each call takes one position; the query has 4");
    /* Good calls still work on the same model, and Keras's name comes out. */
    s = mha_spec(2, 4);
    s.mask_input = true;
    CHECK_OK(lam_model_call(m, &s, 3, (int[]){q, v, mk}, &y));
    CHECK(strcmp(lam_model_layer(m, y)->name, "multi_head_attention") == 0, "automatic name %s",
          lam_model_layer(m, y)->name);
    int64_t shape[4];
    CHECK(lam_model_layer_output_shape(m, y, shape) == 2 && shape[0] == 4 && shape[1] == 6,
          "output (Tq, dq)");
    lam_model_free(m);
}

int main(void)
{
    if (chdir(".") != 0) return 1;
    kernel_vs_naive();
    kernel_dropout_rate();
    kernel_dropout_slice();
    keras_parity();
    gradients();
    weights_as_keras();
    decoding_cache();
    keras_json();
    transformer_round_trip();
    json_refusals();
    refusals();
    return test_summary("test_attention");
}
