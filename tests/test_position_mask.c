/* test_position_mask.c - keras_hub's PositionEmbedding and
 * TokenAndPositionEmbedding, and Keras masks in the engine.
 *
 * Against Keras 3 / keras_hub (tests/make_position_mask_fixtures.py): both
 * layers' forward, the decoder-style call at a position, a masked-mean model
 * and a per-position model with mask_zero (forward, compiled loss and
 * accuracy, with and without sample weights, one Adam step), and masks
 * merged by Add and Concatenate (both axes). Then: which layers keep, drop,
 * merge or make a mask (Keras 3's rules), planned buffers, padding that never
 * reaches the loss, finite-difference gradients, Keras's JSON and the round
 * trip, and the refusals. */
#include "fixture.h"
#include "gradcheck.h"
#include "io/model_file.h"

#include <cjson/cJSON.h>
#include <string.h>
#include <unistd.h>

#define TOL 1e-5

static float *load(const char *name, long want)
{
    char path[128];
    snprintf(path, sizeof path, "position_mask/%s.npy", name);
    long n = 0;
    float *v = fixture_load(path, &n);
    CHECK(v && n == want, "fixture %s: %ld values, expected %ld", path, n, want);
    return v && n == want ? v : NULL;
}

static double max_diff(const float *a, const float *b, long n)
{
    double worst = 0;
    for (long i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= worst)) worst = d; /* a NaN counts as the worst */
    }
    return worst;
}

static lam_layer_spec named(lam_layer_kind kind, const char *name)
{
    lam_layer_spec s = lam_layer_defaults(kind);
    snprintf(s.name, sizeof s.name, "%s", name);
    return s;
}

static lam_layer_spec dense(const char *name, int units, lam_activation act)
{
    lam_layer_spec s = named(LAM_LAYER_DENSE, name);
    s.units = units;
    s.activation = act;
    return s;
}

static lam_layer_spec embedding(const char *name, int vocab, int dim, bool mask_zero)
{
    lam_layer_spec s = named(LAM_LAYER_EMBEDDING, name);
    s.input_dim = vocab;
    s.units = dim;
    s.mask_zero = mask_zero;
    return s;
}

static lam_layer_spec token_position(const char *name, int vocab, int seq, int dim, bool mz)
{
    lam_layer_spec s = named(LAM_LAYER_TOKEN_AND_POSITION_EMBEDDING, name);
    s.input_dim = vocab;
    s.sequence_length = seq;
    s.units = dim;
    s.mask_zero = mz;
    return s;
}

static lam_layer_spec position(const char *name, int seq)
{
    lam_layer_spec s = named(LAM_LAYER_POSITION_EMBEDDING, name);
    s.sequence_length = seq;
    return s;
}

/* Sets (or compares, within TOL) every weight tensor from <prefix>_<i>.npy, i in
 * Keras's model.weights order, which is lamina's tensor order here. */
static double weights(lam_model *m, const char *prefix, bool set)
{
    double worst = 0;
    for (int t = 0; t < lam_model_num_tensors(m); t++) {
        lam_tensor_info ti;
        CHECK_OK(lam_model_tensor(m, t, &ti));
        char name[64];
        snprintf(name, sizeof name, "%s_%d", prefix, t);
        float *v = load(name, (long)ti.count);
        if (!v) continue;
        if (set) {
            memcpy(ti.data, v, sizeof(float) * (size_t)ti.count);
        } else {
            double d = max_diff(ti.data, v, (long)ti.count);
            /* Attention's key bias adds one constant to a row of scores,
             * which softmax ignores: its gradient is rounding noise (~1e-9),
             * which Adam divides by its own size, so both frameworks move it
             * by noise of up to lr * 1e-2. */
            const double tol = strstr(ti.name, "key/bias") ? 1e-4 : TOL;
            CHECK(d <= tol, "%s (%s): %g from Keras", name, ti.name, d);
            if (d > worst) worst = d;
        }
        free(v);
    }
    return worst;
}

static int32_t *labels_of(const float *v, long n)
{
    int32_t *l = malloc(sizeof(int32_t) * (size_t)n);
    for (long i = 0; l && i < n; i++) l[i] = (int32_t)v[i];
    return l;
}

/* ----------------------------------------------------- the layers alone */

static void position_embedding_parity(void)
{
    float *x = load("pe_x", 40), *table = load("pe_table", 28), *out = load("pe_out", 40);
    float *out3 = load("pe_out_start3", 8);
    if (!(x && table && out && out3)) return;
    lam_model *m = lam_model_new("pe");
    int in, p;
    CHECK_OK(lam_model_input(m, "x", 2, (int64_t[]){5, 4}, &in));
    lam_layer_spec ps = position("", 7);
    CHECK_OK(lam_model_call(m, &ps, 1, &in, &p));
    CHECK(strcmp(lam_model_layer(m, p)->name, "position_embedding") == 0, "Keras's automatic "
          "name, got %s", lam_model_layer(m, p)->name);
    CHECK(lam_model_param_count(m) == 28, "parameters %lld, expected 7 x 4",
          (long long)lam_model_param_count(m));
    lam_tensor_info ti;
    CHECK_OK(lam_model_tensor(m, 0, &ti));
    CHECK(strcmp(ti.name, "position_embedding/embeddings") == 0, "weight named %s", ti.name);
    lam_optimizer sgd = lam_sgd();
    CHECK_OK(lam_model_compile(m, &sgd, LAM_LOSS_MSE));
    CHECK_OK(lam_model_plan(m, 2));
    CHECK_OK(lam_model_tensor(m, 0, &ti)); /* its data exists once compiled */
    memcpy(ti.data, table, sizeof(float) * 28);
    memcpy(lam_model_input_buffer(m, 0), x, sizeof(float) * 40);
    CHECK_OK(lam_forward(m, 2, LAM_MODE_INFER));
    double d = max_diff(lam_model_output(m, 0), out, 40);
    CHECK(d <= TOL, "PositionEmbedding forward: %g from keras_hub", d);
    printf("PositionEmbedding(7) on (2, 5, 4)                 max |diff| %.2e\n", d);
    lam_model_free(m);

    /* A decoder runs one position at a time: input length 1, lam_ctx.position
     * = p gives row p (keras_hub's start_index). */
    m = lam_model_new("pe_step");
    CHECK_OK(lam_model_input(m, "x", 2, (int64_t[]){1, 4}, &in));
    CHECK_OK(lam_model_call(m, &ps, 1, &in, &p));
    CHECK_OK(lam_model_compile(m, &sgd, LAM_LOSS_MSE));
    CHECK_OK(lam_model_plan(m, 2));
    CHECK_OK(lam_model_tensor(m, 0, &ti));
    memcpy(ti.data, table, sizeof(float) * 28);
    memcpy(lam_model_input_buffer(m, 0), x, sizeof(float) * 8);
    m->position = 3;
    CHECK_OK(lam_forward(m, 2, LAM_MODE_INFER));
    d = max_diff(lam_model_output(m, 0), out3, 8);
    CHECK(d <= TOL, "PositionEmbedding at position 3: %g from keras_hub's start_index=3", d);
    for (int64_t pos = 0; pos < 7; pos++) {
        m->position = pos;
        CHECK_OK(lam_forward(m, 2, LAM_MODE_INFER));
        CHECK(memcmp(lam_model_output(m, 0) + 4, table + pos * 4, sizeof(float) * 4) == 0,
              "position %lld: row %lld of the table", (long long)pos, (long long)pos);
    }
    lam_model_free(m);
    free(x);
    free(table);
    free(out);
    free(out3);
}

static void token_and_position_parity(void)
{
    float *ids = load("tp_ids", 12), *tok = load("tp_token", 44), *pos = load("tp_position", 32);
    float *out = load("tp_out", 48), *mask = load("tp_mask", 12);
    if (!(ids && tok && pos && out && mask)) return;
    lam_model *m = lam_model_new("tp");
    int in, t;
    CHECK_OK(lam_model_input(m, "ids", 1, (int64_t[]){6}, &in));
    lam_layer_spec ts = token_position("", 11, 8, 4, true);
    CHECK_OK(lam_model_call(m, &ts, 1, &in, &t));
    CHECK(lam_model_param_count(m) == 11 * 4 + 8 * 4, "parameters %lld",
          (long long)lam_model_param_count(m));
    /* keras_hub's variable paths. */
    lam_tensor_info t0, t1;
    CHECK_OK(lam_model_tensor(m, 0, &t0));
    CHECK_OK(lam_model_tensor(m, 1, &t1));
    CHECK(strcmp(t0.name, "token_and_position_embedding/token_embedding/embeddings") == 0 &&
          strcmp(t1.name, "token_and_position_embedding/position_embedding/embeddings") == 0,
          "weights named %s, %s", t0.name, t1.name);
    lam_optimizer sgd = lam_sgd();
    CHECK_OK(lam_model_compile(m, &sgd, LAM_LOSS_MSE));
    CHECK_OK(lam_model_plan(m, 2));
    CHECK_OK(lam_model_tensor(m, 0, &t0));
    CHECK_OK(lam_model_tensor(m, 1, &t1));
    memcpy(t0.data, tok, sizeof(float) * 44);
    memcpy(t1.data, pos, sizeof(float) * 32);
    memcpy(lam_model_input_buffer(m, 0), ids, sizeof(float) * 12);
    CHECK_OK(lam_forward(m, 2, LAM_MODE_INFER));
    double d = max_diff(lam_model_output(m, 0), out, 48);
    CHECK(d <= TOL, "TokenAndPositionEmbedding forward: %g from keras_hub", d);
    const lam_node *nd = &m->nodes[t];
    CHECK(nd->masked && nd->mask && memcmp(nd->mask, mask, sizeof(float) * 12) == 0,
          "its mask is keras_hub's (ids != 0)");
    printf("TokenAndPositionEmbedding(11, 8, 4) on (2, 6)     max |diff| %.2e\n", d);
    /* At position 5 of a decoder, one id: token row + position row 5. */
    lam_model *s = lam_model_new("tp_step");
    CHECK_OK(lam_model_input(s, "ids", 1, (int64_t[]){1}, &in));
    CHECK_OK(lam_model_call(s, &ts, 1, &in, &t));
    CHECK_OK(lam_model_compile(s, &sgd, LAM_LOSS_MSE));
    CHECK_OK(lam_model_plan(s, 1));
    memcpy(lam_model_params(s), lam_model_params(m), sizeof(float) * 76);
    lam_model_input_buffer(s, 0)[0] = 7;
    s->position = 5;
    CHECK_OK(lam_forward(s, 1, LAM_MODE_INFER));
    bool right = true;
    for (int j = 0; j < 4; j++) right &= lam_model_output(s, 0)[j] == tok[7 * 4 + j] + pos[5 * 4 + j];
    CHECK(right, "decoder step at position 5: token row 7 + position row 5");
    lam_model_free(s);
    lam_model_free(m);
    free(ids);
    free(tok);
    free(pos);
    free(out);
    free(mask);
}

/* ------------------------------------------------ models against Keras */

/* One train_on_batch of Keras: loss before the update, then Adam(0.01). */
static void adam_step(lam_model *m, int batch, const lam_target *tg)
{
    lam_batch_metrics bm;
    CHECK_OK(lam_forward(m, batch, LAM_MODE_TRAIN));
    CHECK_OK(lam_loss_eval(m, batch, tg, true, &bm));
    CHECK_OK(lam_backward(m, batch, false));
    CHECK_OK(lam_optimizer_update(m, lam_model_learning_rate(m)));
}

static lam_optimizer adam_001(void)
{
    lam_optimizer o = lam_adam();
    o.learning_rate = 0.01f;
    return o;
}

/* Embedding(mask_zero) -> Dense(4, tanh) -> GlobalAveragePooling1D -> Dense(3, softmax). */
static void masked_pool_model(void)
{
    float *ids = load("a_ids", 24), *lab = load("a_labels", 4), *out = load("a_out", 12);
    float *ev = load("a_eval", 2);
    if (!(ids && lab && out && ev)) return;
    lam_model *m = lam_model_new("masked_pool");
    int in, e, h, p, y;
    CHECK_OK(lam_model_input(m, "ids", 1, (int64_t[]){6}, &in));
    lam_layer_spec es = embedding("emb", 20, 5, true);
    CHECK_OK(lam_model_call(m, &es, 1, &in, &e));
    lam_layer_spec hs = dense("hidden", 4, LAM_ACT_TANH);
    CHECK_OK(lam_model_call(m, &hs, 1, &e, &h));
    lam_layer_spec gs = named(LAM_LAYER_GLOBAL_AVGPOOL1D, "pool");
    CHECK_OK(lam_model_call(m, &gs, 1, &h, &p));
    lam_layer_spec cs = dense("cls", 3, LAM_ACT_SOFTMAX);
    CHECK_OK(lam_model_call(m, &cs, 1, &p, &y));
    CHECK_OK(lam_model_set_outputs(m, 1, &y));
    CHECK(m->nodes[h].masked && !m->nodes[p].masked && !m->nodes[y].masked,
          "Dense keeps the mask, GlobalAveragePooling1D consumes it");
    lam_optimizer adam = adam_001();
    CHECK_OK(lam_model_compile(m, &adam, LAM_LOSS_SPARSE_CATEGORICAL_CE));
    CHECK_OK(lam_model_plan(m, 4));
    weights(m, "a_w", true);
    memcpy(lam_model_input_buffer(m, 0), ids, sizeof(float) * 24);
    CHECK_OK(lam_forward(m, 4, LAM_MODE_INFER));
    double d = max_diff(lam_model_output(m, 0), out, 12);
    CHECK(d <= TOL, "masked mean model forward: %g from Keras", d);
    int32_t *labels = labels_of(lab, 4);
    lam_target tg = {labels, NULL, NULL};
    lam_batch_metrics bm;
    CHECK_OK(lam_loss_eval(m, 4, &tg, false, &bm));
    const double loss = bm.loss / 4, acc = bm.correct / bm.counted;
    CHECK(fabs(loss - ev[0]) <= TOL, "loss %.7f, Keras's test_on_batch %.7f", loss, ev[0]);
    CHECK(fabs(acc - ev[1]) <= TOL, "accuracy %.4f, Keras %.4f", acc, ev[1]);
    adam_step(m, 4, &tg);
    double w = weights(m, "a_after", false);
    printf("Embedding(mask) -> Dense -> GAP1D -> Dense         forward %.2e, loss %.2e, "
           "Adam step %.2e\n", d, fabs(loss - ev[0]), w);
    lam_model_free(m);
    free(labels);
    free(ids);
    free(lab);
    free(out);
    free(ev);
}

/* Padding masks into MultiHeadAttention, from Keras's JSON: D pools the
 * attention's output (its mask is the query's: a masked mean), E is causal
 * and per position (the mask reaches the loss). Forward, loss and one Adam
 * step against Keras. */
static void attention_padding(const char *prefix, bool causal)
{
    char path[128], name[32];
    snprintf(path, sizeof path, "fixtures/position_mask/attention_padding_%s_keras3.json", prefix);
    const long nout = causal ? 4 * 6 * 5 : 4 * 5, nlab = causal ? 24 : 4;
    snprintf(name, sizeof name, "%s_ids", prefix);
    float *ids = load(name, 24);
    snprintf(name, sizeof name, "%s_labels", prefix);
    float *lab = load(name, nlab);
    snprintf(name, sizeof name, "%s_out", prefix);
    float *out = load(name, nout);
    snprintf(name, sizeof name, "%s_eval", prefix);
    float *ev = load(name, 2);
    snprintf(name, sizeof name, "%s_params", prefix);
    float *params = load(name, 1);
    lam_model *m = NULL;
    CHECK_OK(lam_model_from_json_file(path, &m));
    if (m && ids && lab && out && ev && params) {
        CHECK(lam_model_param_count(m) == (int64_t)params[0], "%s: parameters %lld, Keras %g",
              path, (long long)lam_model_param_count(m), params[0]);
        const lam_layer_spec *att = lam_model_layer(m, 2);
        CHECK(att->kind == LAM_LAYER_MULTI_HEAD_ATTENTION && att->use_causal_mask == causal,
              "%s: layer 2 is MultiHeadAttention, causal %d", path, causal);
        CHECK(m->nodes[2].masked, "the attention's output keeps the query's mask");
        lam_optimizer adam = adam_001();
        CHECK_OK(lam_model_compile(m, &adam, LAM_LOSS_SPARSE_CATEGORICAL_CE));
        CHECK_OK(lam_model_plan(m, 4));
        snprintf(name, sizeof name, "%s_w", prefix);
        weights(m, name, true);
        memcpy(lam_model_input_buffer(m, 0), ids, sizeof(float) * 24);
        CHECK_OK(lam_forward(m, 4, LAM_MODE_INFER));
        double d = max_diff(lam_model_output(m, 0), out, nout);
        CHECK(d <= TOL, "%s forward: %g from Keras", path, d);
        int32_t *labels = labels_of(lab, nlab);
        lam_target tg = {labels, NULL, NULL};
        lam_batch_metrics bm;
        CHECK_OK(lam_loss_eval(m, 4, &tg, false, &bm));
        const double loss = bm.loss / 4;
        CHECK(fabs(loss - ev[0]) <= TOL, "%s: loss %.7f, Keras's test_on_batch %.7f", path, loss,
              ev[0]);
        adam_step(m, 4, &tg);
        snprintf(name, sizeof name, "%s_after", prefix);
        double w = weights(m, name, false);
        printf("TokPos(mask) -> MHA%s -> ...                forward %.2e, loss %.2e, Adam step "
               "%.2e\n", causal ? "(causal) -> LN -> Dense/position" : " -> LN -> GAP1D -> Dense",
               d, fabs(loss - ev[0]), w);
        free(labels);
    }
    lam_model_free(m);
    free(ids);
    free(lab);
    free(out);
    free(ev);
    free(params);
}

static lam_model *masked_sequence_model(int *tp_node)
{
    lam_model *m = lam_model_new("masked_sequence");
    int in, t, h, l, y;
    CHECK_OK(lam_model_input(m, "ids", 1, (int64_t[]){6}, &in));
    lam_layer_spec ts = token_position("tokpos", 20, 6, 5, true);
    CHECK_OK(lam_model_call(m, &ts, 1, &in, &t));
    lam_layer_spec hs = dense("hidden", 8, LAM_ACT_RELU);
    CHECK_OK(lam_model_call(m, &hs, 1, &t, &h));
    lam_layer_spec ls = named(LAM_LAYER_LAYER_NORM, "ln");
    CHECK_OK(lam_model_call(m, &ls, 1, &h, &l));
    lam_layer_spec cs = dense("cls", 7, LAM_ACT_SOFTMAX);
    CHECK_OK(lam_model_call(m, &cs, 1, &l, &y));
    CHECK_OK(lam_model_set_outputs(m, 1, &y));
    if (tp_node) *tp_node = t;
    return m;
}

/* TokenAndPositionEmbedding(mask_zero) -> Dense -> LayerNormalization ->
 * Dense(softmax) per position: the loss over real positions only. */
static void masked_sequence(void)
{
    float *ids = load("b_ids", 24), *lab = load("b_labels", 24), *out = load("b_out", 168);
    float *sw = load("b_sample_weight", 24), *ev = load("b_eval", 4);
    if (!(ids && lab && out && sw && ev)) return;
    int t;
    lam_model *m = masked_sequence_model(&t);
    CHECK(m->nodes[m->n - 1].masked, "the output carries the mask through Dense and LN");
    lam_optimizer adam = adam_001();
    CHECK_OK(lam_model_compile(m, &adam, LAM_LOSS_SPARSE_CATEGORICAL_CE));
    CHECK_OK(lam_model_plan(m, 4));
    /* Masks passed on unchanged share one buffer. */
    CHECK(m->nodes[m->n - 1].mask == m->nodes[t].mask, "Dense/LN/Dense share the mask buffer");
    weights(m, "b_w", true);
    memcpy(lam_model_input_buffer(m, 0), ids, sizeof(float) * 24);
    CHECK_OK(lam_forward(m, 4, LAM_MODE_INFER));
    double d = max_diff(lam_model_output(m, 0), out, 168);
    CHECK(d <= TOL, "per-position model forward: %g from Keras", d);
    int32_t *labels = labels_of(lab, 24);
    lam_target tg = {labels, NULL, NULL};
    lam_batch_metrics bm;
    CHECK_OK(lam_loss_eval(m, 4, &tg, false, &bm));
    double loss = bm.loss / 4, acc = bm.correct / bm.counted;
    CHECK(fabs(loss - ev[0]) <= TOL, "masked loss %.7f, Keras %.7f", loss, ev[0]);
    CHECK(fabs(acc - ev[1]) <= TOL, "masked accuracy %.5f, Keras %.5f", acc, ev[1]);
    CHECK(bm.counted == 15.0, "accuracy counts the 15 real positions, not %g", bm.counted);
    lam_target tw = {labels, NULL, sw};
    CHECK_OK(lam_loss_eval(m, 4, &tw, false, &bm));
    const double wloss = bm.loss / 4, wacc = bm.correct / bm.counted;
    CHECK(fabs(wloss - ev[2]) <= TOL, "masked weighted loss %.7f, Keras %.7f", wloss, ev[2]);
    CHECK(fabs(wacc - ev[3]) <= TOL, "masked weighted accuracy %.5f, Keras %.5f", wacc, ev[3]);
    adam_step(m, 4, &tg);
    double w = weights(m, "b_after", false);
    printf("TokenAndPosition(mask) -> Dense -> LN -> Dense     forward %.2e, loss %.2e / %.2e "
           "(weighted), Adam step %.2e\n", d, fabs(loss - ev[0]), fabs(wloss - ev[2]), w);
    lam_model_free(m);
    free(labels);
    free(ids);
    free(lab);
    free(out);
    free(sw);
    free(ev);
}

/* Add ORs the masks of its inputs; Concatenate joins them along a position
 * axis (an unmasked input counting as ones) and ORs them along the last. */
static void merged_masks(void)
{
    float *xa = load("c_a", 12), *xb = load("c_b", 12), *l1 = load("c_labels1", 24);
    float *l2 = load("c_labels2", 12), *o1 = load("c_out1", 96), *o2 = load("c_out2", 24);
    float *ev = load("c_eval", 3);
    if (!(xa && xb && l1 && l2 && o1 && o2 && ev)) return;
    lam_model *m = lam_model_new("merged_masks");
    int a, b, ea, eb, en, s, c1, y1, c2, y2;
    CHECK_OK(lam_model_input(m, "a", 1, (int64_t[]){4}, &a));
    CHECK_OK(lam_model_input(m, "b", 1, (int64_t[]){4}, &b));
    lam_layer_spec sa = embedding("ea", 9, 3, true), sb = embedding("eb", 9, 3, true);
    lam_layer_spec sn = embedding("en", 9, 3, false);
    CHECK_OK(lam_model_call(m, &sa, 1, &a, &ea));
    CHECK_OK(lam_model_call(m, &sb, 1, &b, &eb));
    CHECK_OK(lam_model_call(m, &sn, 1, &b, &en));
    lam_layer_spec add = named(LAM_LAYER_ADD, "add");
    CHECK_OK(lam_model_call(m, &add, 2, (int[]){ea, eb}, &s));
    lam_layer_spec jt = named(LAM_LAYER_CONCATENATE, "join_time");
    jt.axis = 1;
    CHECK_OK(lam_model_call(m, &jt, 2, (int[]){s, en}, &c1));
    lam_layer_spec d1 = dense("out1", 4, LAM_ACT_SOFTMAX);
    CHECK_OK(lam_model_call(m, &d1, 1, &c1, &y1));
    lam_layer_spec jf = named(LAM_LAYER_CONCATENATE, "join_features");
    CHECK_OK(lam_model_call(m, &jf, 2, (int[]){ea, eb}, &c2));
    lam_layer_spec d2 = dense("out2", 2, LAM_ACT_SOFTMAX);
    CHECK_OK(lam_model_call(m, &d2, 1, &c2, &y2));
    CHECK_OK(lam_model_set_outputs(m, 2, (int[]){y1, y2}));
    lam_optimizer adam = lam_adam();
    CHECK_OK(lam_model_compile(m, &adam, LAM_LOSS_SPARSE_CATEGORICAL_CE));
    CHECK_OK(lam_model_plan(m, 3));
    weights(m, "c_w", true);
    memcpy(lam_model_input_buffer(m, 0), xa, sizeof(float) * 12);
    memcpy(lam_model_input_buffer(m, 1), xb, sizeof(float) * 12);
    CHECK_OK(lam_forward(m, 3, LAM_MODE_INFER));
    double d = fmax(max_diff(lam_model_output(m, 0), o1, 96),
                    max_diff(lam_model_output(m, 1), o2, 24));
    CHECK(d <= TOL, "merged-mask model forward: %g from Keras", d);
    bool or_ok = true, time_ok = true, feat_ok = true;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4; j++) {
            const float any = xa[i * 4 + j] != 0 || xb[i * 4 + j] != 0;
            or_ok &= m->nodes[s].mask[i * 4 + j] == any;
            time_ok &= m->nodes[c1].mask[i * 8 + j] == any && m->nodes[c1].mask[i * 8 + 4 + j] == 1;
            feat_ok &= m->nodes[c2].mask[i * 4 + j] == any;
        }
    CHECK(or_ok, "Add's mask is a | b");
    CHECK(time_ok, "Concatenate(axis=1): [a | b, ones]");
    CHECK(feat_ok, "Concatenate(axis=-1): a | b");
    int32_t *lab1 = labels_of(l1, 24), *lab2 = labels_of(l2, 12);
    lam_target tg[2] = {{lab1, NULL, NULL}, {lab2, NULL, NULL}};
    lam_batch_metrics bm;
    CHECK_OK(lam_loss_eval(m, 3, tg, false, &bm));
    CHECK(fabs(bm.loss / 3 - ev[0]) <= TOL, "two masked outputs: loss %.7f, Keras %.7f",
          bm.loss / 3, ev[0]);
    printf("Add / Concatenate masks, two outputs               forward %.2e, loss %.2e\n", d,
           fabs(bm.loss / 3 - ev[0]));
    lam_model_free(m);
    free(lab1);
    free(lab2);
    free(xa);
    free(xb);
    free(l1);
    free(l2);
    free(o1);
    free(o2);
    free(ev);
}

/* ------------------------------------------------------ the mask rules */

/* Keras 3's compute_mask for each layer lamina has, as the fixture script's
 * probe found it: whether the node after a masked (T, C) carries a mask. */
static void mask_rules(void)
{
    lam_model *m = lam_model_new("rules");
    int ids, e, n;
    CHECK_OK(lam_model_input(m, "ids", 1, (int64_t[]){6}, &ids));
    lam_layer_spec es = embedding("emb", 10, 4, true);
    CHECK_OK(lam_model_call(m, &es, 1, &ids, &e));
    lam_layer_spec nm = embedding("plain", 10, 4, false);
    int plain;
    CHECK_OK(lam_model_call(m, &nm, 1, &ids, &plain));
    CHECK(m->nodes[e].masked && !m->nodes[plain].masked, "mask_zero makes a mask, else none");
    static const struct { lam_layer_kind kind; bool keeps; } one[] = {
        {LAM_LAYER_DENSE, true},          {LAM_LAYER_ACTIVATION, true},
        {LAM_LAYER_DROPOUT, true},        {LAM_LAYER_LAYER_NORM, true},
        {LAM_LAYER_BATCH_NORM, true},     {LAM_LAYER_LSTM, true},
        {LAM_LAYER_GRU, true},            {LAM_LAYER_SIMPLERNN, true},
        {LAM_LAYER_BIDIRECTIONAL, true},  {LAM_LAYER_CONV1D, false},
        {LAM_LAYER_MAXPOOL1D, false},     {LAM_LAYER_AVGPOOL1D, false},
        {LAM_LAYER_GLOBAL_AVGPOOL1D, false}, {LAM_LAYER_GLOBAL_MAXPOOL1D, false},
        {LAM_LAYER_FLATTEN, false},       {LAM_LAYER_RESHAPE, false},
        {LAM_LAYER_PERMUTE, false},       {LAM_LAYER_POSITION_EMBEDDING, false},
    };
    for (size_t i = 0; i < sizeof one / sizeof one[0]; i++) {
        lam_layer_spec s = lam_layer_defaults(one[i].kind);
        s.units = 3;
        s.return_sequences = true;
        s.sequence_length = 6;
        s.rank = 2;
        s.shape[0] = 4;
        s.shape[1] = 6;
        s.dims[0] = 1;
        s.dims[1] = 2;
        s.pool[0] = 2;
        CHECK_OK(lam_model_call(m, &s, 1, &e, &n));
        CHECK(m->nodes[n].masked == one[i].keeps, "%s: mask %s", lam_layer_kind_name(one[i].kind),
              one[i].keeps ? "kept" : "dropped");
    }
    /* A recurrent layer without return_sequences has no positions left. */
    lam_layer_spec last = lam_layer_defaults(LAM_LAYER_LSTM);
    last.units = 3;
    CHECK_OK(lam_model_call(m, &last, 1, &e, &n));
    CHECK(!m->nodes[n].masked, "LSTM(return_sequences=False) drops the mask");
    /* Merges: every input masked, or none. */
    lam_layer_spec add = lam_layer_defaults(LAM_LAYER_ADD);
    CHECK_OK(lam_model_call(m, &add, 2, (int[]){e, plain}, &n));
    CHECK(!m->nodes[n].masked, "Add of a masked and an unmasked input: no mask (Keras)");
    CHECK_OK(lam_model_call(m, &add, 2, (int[]){e, e}, &n));
    CHECK(m->nodes[n].masked, "Add of masked inputs: masked");
    lam_layer_spec cat = lam_layer_defaults(LAM_LAYER_CONCATENATE);
    CHECK_OK(lam_model_call(m, &cat, 2, (int[]){plain, e}, &n));
    CHECK(m->nodes[n].masked, "Concatenate with one masked input: masked");
    CHECK_OK(lam_model_call(m, &cat, 2, (int[]){plain, plain}, &n));
    CHECK(!m->nodes[n].masked, "Concatenate of unmasked inputs: none");
    lam_layer_spec one_in = lam_layer_defaults(LAM_LAYER_ADD);
    int single;
    CHECK_OK(lam_model_call(m, &one_in, 1, &e, &single));
    lam_layer_spec tp = token_position("tp", 10, 6, 4, true);
    int tpn;
    CHECK_OK(lam_model_call(m, &tp, 1, &ids, &tpn));
    CHECK(m->nodes[tpn].masked, "TokenAndPositionEmbedding(mask_zero) makes a mask");
    lam_optimizer sgd = lam_sgd();
    CHECK_OK(lam_model_set_outputs(m, 1, &tpn));
    CHECK_OK(lam_model_compile(m, &sgd, LAM_LOSS_MSE));
    CHECK_OK(lam_model_plan(m, 2));
    CHECK(m->nodes[single].mask == m->nodes[e].mask, "a one-input merge shares its input's mask");
    CHECK(m->nodes[n].mask == NULL && m->nodes[plain].mask == NULL, "no mask, no buffer");
    lam_model_free(m);
}

/* Padding never reaches the pooled mean (Keras's where(mask, x, 0)) or the
 * loss: a NaN in the table row of id 0 leaves both finite (Keras's loss
 * multiplies by the 0 weight and would be NaN here: lamina skips padded
 * rows), and padded positions get no gradient from the pooling. A sample
 * with no real position pools to 0 (Keras: 0 / 0 = NaN). */
static void padding_is_inert(void)
{
    lam_model *m = lam_model_new("inert");
    int in, e, h, p;
    CHECK_OK(lam_model_input(m, "ids", 1, (int64_t[]){4}, &in));
    lam_layer_spec es = embedding("emb", 6, 3, true);
    CHECK_OK(lam_model_call(m, &es, 1, &in, &e));
    lam_layer_spec hs = dense("hidden", 2, LAM_ACT_LINEAR);
    CHECK_OK(lam_model_call(m, &hs, 1, &e, &h));
    lam_layer_spec gs = named(LAM_LAYER_GLOBAL_AVGPOOL1D, "pool");
    CHECK_OK(lam_model_call(m, &gs, 1, &h, &p));
    CHECK_OK(lam_model_set_outputs(m, 2, (int[]){h, p}));
    lam_optimizer sgd = lam_sgd();
    CHECK_OK(lam_model_compile(m, &sgd, LAM_LOSS_MSE));
    CHECK_OK(lam_model_plan(m, 2));
    float *table = lam_model_params(m);
    for (int j = 0; j < 3; j++) table[j] = NAN; /* row of id 0 */
    const float ids[8] = {1, 0, 2, 0, 0, 0, 0, 0};
    memcpy(lam_model_input_buffer(m, 0), ids, sizeof ids);
    CHECK_OK(lam_forward(m, 2, LAM_MODE_TRAIN));
    const float *pooled = lam_model_output(m, 1);
    CHECK(isfinite(pooled[0]) && isfinite(pooled[1]), "the masked mean skips padding");
    CHECK(pooled[2] == 0.0f && pooled[3] == 0.0f, "a fully padded sample pools to 0");
    float hv[16], pv[4];
    memset(hv, 0, sizeof hv);
    memset(pv, 0, sizeof pv);
    lam_target tg[2] = {{NULL, hv, NULL}, {NULL, pv, NULL}};
    lam_batch_metrics bm;
    CHECK_OK(lam_loss_eval(m, 2, tg, true, &bm));
    CHECK(isfinite(bm.loss), "the loss over the masked sequence output is finite: %g", bm.loss);
    /* Only the pooled output's gradient: the hidden sequence's at padded
     * positions must be 0, at real ones dy / (real positions). */
    CHECK_OK(lam_forward(m, 2, LAM_MODE_INFER_GRAD));
    memset(lam_model_output_grad(m, 0), 0, sizeof(float) * 16);
    float *dp = lam_model_output_grad(m, 1);
    for (int i = 0; i < 4; i++) dp[i] = 1.0f + (float)i;
    CHECK_OK(lam_backward(m, 2, false));
    const float *dh = m->nodes[h].grad;
    bool pad_zero = true, real_ok = true;
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 2; j++) {
            const float g = dh[i * 2 + j];
            if (ids[i] == 0) pad_zero &= g == 0.0f;
            else real_ok &= g == dp[(i / 4) * 2 + j] / 2.0f; /* two real positions in sample 0 */
        }
    CHECK(pad_zero, "GlobalAveragePooling1D sends padded positions no gradient");
    CHECK(real_ok, "and real ones dy / 2");
    const float *g = lam_model_grads(m);
    CHECK(g[0] == 0.0f && g[1] == 0.0f && g[2] == 0.0f, "the padding row gets no gradient");
    lam_model_free(m);
}

/* -------------------------------------------------------------- gradients */

/* Central differences over every parameter, the ids held fixed (they are not
 * differentiable): the gradient check of gradcheck.h without the inputs. */
static void param_gradcheck(const char *what, lam_model *m, int batch, const float *ids,
                            lam_loss loss, const float *weights_or_null)
{
    lam_optimizer sgd = lam_sgd();
    CHECK_OK(lam_model_compile(m, &sgd, loss));
    CHECK_OK(lam_model_plan(m, batch));
    lam_rng_seed(&rng, 99);
    memcpy(lam_model_input_buffer(m, 0), ids, sizeof(float) * (size_t)batch *
           (size_t)lam_model_input_node(m, 0)->out.size);
    const lam_node *o = lam_model_output_node(m, 0);
    const int64_t D = o->out.dim[o->out.rank - 1], P = lam_node_positions(o);
    int32_t *labels = malloc(sizeof(int32_t) * (size_t)(batch * P));
    float *values = malloc(sizeof(float) * (size_t)(batch * o->out.size));
    for (int64_t r = 0; r < batch * P; r++) labels[r] = (int32_t)lam_rng_below(&rng, (uint64_t)D);
    for (int64_t i = 0; i < batch * o->out.size; i++) values[i] = (float)lam_rng_uniform(&rng);
    targets[0] = (lam_target){labels, values, weights_or_null};
    lam_batch_metrics bm;
    CHECK_OK(lam_forward(m, batch, LAM_MODE_TRAIN));
    CHECK_OK(lam_loss_eval(m, batch, targets, true, &bm));
    CHECK_OK(lam_backward(m, batch, false));
    const int64_t np = lam_model_param_count(m);
    float *g = malloc(sizeof(float) * (size_t)np);
    memcpy(g, lam_model_grads(m), sizeof(float) * (size_t)np);
    double worst = 0;
    int nonzero = 0;
    for (int64_t i = 0; i < np; i++) {
        double num = numeric(m, batch, &lam_model_params(m)[i], 1e-2f);
        double e = rel_err(g[i], num);
        if (e > worst) worst = e;
        nonzero += g[i] != 0.0f;
        CHECK(e <= 1e-3, "%s: parameter %lld: analytic %.7g vs numeric %.7g", what, (long long)i,
              g[i], num);
    }
    CHECK(nonzero > np / 3, "%s: only %d of %lld gradients are nonzero", what, nonzero,
          (long long)np);
    printf("%-50s %5lld parameters, worst relative error %.2e\n", what, (long long)np, worst);
    free(g);
    free(labels);
    free(values);
}

static void gradients(void)
{
    /* PositionEmbedding added to a projection of its own input: its table's
     * gradient sums over the batch; the path through the input is Dense's. */
    lam_model *m = model_with_input(2, (int64_t[]){4, 3});
    lam_layer_spec d = dense("", 3, LAM_ACT_TANH);
    CHECK_OK(lam_model_add(m, &d));
    lam_layer_spec ps = position("", 6);
    int x = 1, p, s, y;
    CHECK_OK(lam_model_call(m, &ps, 1, &x, &p));
    lam_layer_spec add = lam_layer_defaults(LAM_LAYER_ADD);
    CHECK_OK(lam_model_call(m, &add, 2, (int[]){x, p}, &s));
    lam_layer_spec out = dense("", 2, LAM_ACT_LINEAR);
    CHECK_OK(lam_model_call(m, &out, 1, &s, &y));
    CHECK_OK(lam_model_set_outputs(m, 1, &y));
    gradcheck("Dense -> x + PositionEmbedding(6)(x) -> Dense", m, LAM_LOSS_MSE, 3, smooth);
    lam_model_free(m);

    /* A decoder position: rows 2.. of the table get the gradient. */
    m = model_with_input(2, (int64_t[]){2, 3});
    CHECK_OK(lam_model_add(m, &ps));
    lam_layer_spec flat = lam_layer_defaults(LAM_LAYER_FLATTEN);
    CHECK_OK(lam_model_add(m, &flat));
    CHECK_OK(lam_model_add(m, &out));
    m->position = 2;
    const float pe_in[12] = {0};
    param_gradcheck("PositionEmbedding at position 2", m, 2, pe_in, LAM_LOSS_MSE, NULL);
    const float *g = lam_model_grads(m);
    bool rows_ok = true;
    for (int j = 0; j < 3; j++) rows_ok &= g[j] == 0.0f && g[3 + j] == 0.0f && g[4 * 3 + j] == 0.0f;
    CHECK(rows_ok, "position 2 with 2 steps: only rows 2 and 3 get gradients");
    lam_model_free(m);

    /* TokenAndPositionEmbedding(mask_zero) -> Dense -> GlobalAveragePooling1D
     * (masked mean) -> Dense(softmax): repeated ids sum rows, padding none. */
    const float ids[12] = {3, 1, 3, 0, 0, 2, 5, 0, 4, 4, 1, 6};
    m = lam_model_new("tp_grad");
    int in, t, h, q;
    CHECK_OK(lam_model_input(m, "ids", 1, (int64_t[]){6}, &in));
    lam_layer_spec ts = token_position("tp", 7, 8, 3, true);
    CHECK_OK(lam_model_call(m, &ts, 1, &in, &t));
    lam_layer_spec hd = dense("h", 4, LAM_ACT_TANH);
    CHECK_OK(lam_model_call(m, &hd, 1, &t, &h));
    lam_layer_spec gp = named(LAM_LAYER_GLOBAL_AVGPOOL1D, "pool");
    CHECK_OK(lam_model_call(m, &gp, 1, &h, &q));
    lam_layer_spec cl = dense("cls", 3, LAM_ACT_SOFTMAX);
    CHECK_OK(lam_model_call(m, &cl, 1, &q, &y));
    CHECK_OK(lam_model_set_outputs(m, 1, &y));
    param_gradcheck("TokenAndPosition(mask) -> Dense -> GAP1D -> Dense", m, 2, ids,
                    LAM_LOSS_SPARSE_CATEGORICAL_CE, NULL);
    g = lam_model_grads(m);
    bool pad_zero = true;
    for (int j = 0; j < 3; j++) pad_zero &= g[j] == 0.0f; /* id 0's row */
    CHECK(pad_zero, "id 0, always masked before the pooling, gets no gradient");
    lam_model_free(m);

    /* The masked per-position loss, with sample weights. */
    m = lam_model_new("tp_seq_grad");
    CHECK_OK(lam_model_input(m, "ids", 1, (int64_t[]){6}, &in));
    CHECK_OK(lam_model_call(m, &ts, 1, &in, &t));
    CHECK_OK(lam_model_call(m, &hd, 1, &t, &h));
    lam_layer_spec sc = dense("cls", 3, LAM_ACT_SOFTMAX);
    CHECK_OK(lam_model_call(m, &sc, 1, &h, &y));
    CHECK_OK(lam_model_set_outputs(m, 1, &y));
    float sw[12];
    for (int i = 0; i < 12; i++) sw[i] = 0.25f + 0.125f * (float)(i % 7);
    param_gradcheck("TokenAndPosition(mask) ... per-position, weighted", m, 2, ids,
                    LAM_LOSS_SPARSE_CATEGORICAL_CE, sw);
    lam_model_free(m);
}

/* ------------------------------------------------------------------ JSON */

static void keras_json(void)
{
    lam_model *m = NULL;
    CHECK_OK(lam_model_from_json_file("fixtures/position_mask/masked_sequence_keras3.json", &m));
    float *params = load("b_params", 1), *ids = load("b_ids", 24), *out = load("b_out", 168);
    if (m && params && ids && out) {
        const lam_layer_spec *t = lam_model_layer(m, 1);
        CHECK(t->kind == LAM_LAYER_TOKEN_AND_POSITION_EMBEDDING && t->input_dim == 20 &&
              t->sequence_length == 6 && t->units == 5 && t->mask_zero,
              "TokenAndPositionEmbedding read with its config");
        CHECK(lam_model_param_count(m) == (int64_t)params[0], "parameters %lld, Keras %g",
              (long long)lam_model_param_count(m), params[0]);
        /* Keras's weights into the model read from Keras's JSON: Keras's output. */
        lam_optimizer adam = lam_adam();
        CHECK_OK(lam_model_compile(m, &adam, LAM_LOSS_SPARSE_CATEGORICAL_CE));
        CHECK_OK(lam_model_plan(m, 4));
        weights(m, "b_w", true);
        memcpy(lam_model_input_buffer(m, 0), ids, sizeof(float) * 24);
        CHECK_OK(lam_forward(m, 4, LAM_MODE_INFER));
        double d = max_diff(lam_model_output(m, 0), out, 168);
        CHECK(d <= TOL, "the model read from Keras's JSON: %g from Keras's output", d);
        /* Written and read back: the same layers; keras_hub's names in the text. */
        char *text = NULL;
        CHECK_OK(lam_model_to_json(m, &text));
        CHECK(text && strstr(text, "\"registered_name\":\"keras_hub>TokenAndPositionEmbedding\"") &&
              strstr(text, "\"module\":\"keras_hub.src.layers.modeling.token_and_position_"
                           "embedding\"") && strstr(text, "\"mask_zero\":true") &&
              strstr(text, "\"tie_weights\":true"), "keras_hub's form written");
        lam_model *back = NULL;
        CHECK_OK(lam_model_from_json(text, "round trip", &back));
        if (back) {
            CHECK(lam_model_num_layers(back) == lam_model_num_layers(m), "layer count");
            for (int i = 0; i < lam_model_num_layers(m); i++) {
                const lam_layer_spec *a = lam_model_layer(m, i), *b = lam_model_layer(back, i);
                CHECK(a->kind == b->kind && a->units == b->units && a->input_dim == b->input_dim &&
                      a->sequence_length == b->sequence_length && a->mask_zero == b->mask_zero &&
                      strcmp(a->name, b->name) == 0, "layer %d (%s) round trip", i, a->name);
            }
        }
        lam_model_free(back);
        free(text);
    }
    lam_model_free(m);
    free(params);
    free(ids);
    free(out);

    m = NULL;
    CHECK_OK(lam_model_from_json_file("fixtures/position_mask/position_keras3.json", &m));
    params = load("pos_params", 1);
    if (m && params) {
        const lam_layer_spec *e = lam_model_layer(m, 1), *p = lam_model_layer(m, 2);
        CHECK(e->kind == LAM_LAYER_EMBEDDING && e->mask_zero, "Embedding with mask_zero");
        CHECK(p->kind == LAM_LAYER_POSITION_EMBEDDING && p->sequence_length == 6,
              "PositionEmbedding(6) read");
        CHECK(lam_model_param_count(m) == (int64_t)params[0], "parameters %lld, Keras %g",
              (long long)lam_model_param_count(m), params[0]);
        /* keras_hub's PositionEmbedding drops the mask, so Add has none. */
        CHECK(m->nodes[1].masked && !m->nodes[2].masked && !m->nodes[3].masked,
              "PositionEmbedding and the Add after it carry no mask, as in Keras");
        char *text = NULL;
        CHECK_OK(lam_model_to_json(m, &text));
        CHECK(text && strstr(text, "\"registered_name\":\"keras_hub>PositionEmbedding\""),
              "PositionEmbedding written with keras_hub's registered name");
        free(text);
    }
    lam_model_free(m);
    free(params);
}

/* A model file keeps mask_zero and the keras_hub layers (its architecture is
 * this JSON): the loaded model masks and predicts as the saved one, bit for bit. */
static void save_load(void)
{
    float *ids = load("b_ids", 24);
    if (!ids) return;
    lam_model *m = masked_sequence_model(NULL), *back = NULL;
    lam_optimizer adam = lam_adam();
    CHECK_OK(lam_model_compile(m, &adam, LAM_LOSS_SPARSE_CATEGORICAL_CE));
    CHECK_OK(lam_model_plan(m, 4));
    weights(m, "b_w", true);
    char path[] = "/tmp/lamina-position-mask-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "temporary file");
    if (fd >= 0) close(fd);
    CHECK_OK(lam_model_save(m, path));
    CHECK_OK(lam_model_load(path, &back));
    unlink(path);
    if (back) {
        CHECK_OK(lam_model_plan(back, 4));
        memcpy(lam_model_input_buffer(m, 0), ids, sizeof(float) * 24);
        memcpy(lam_model_input_buffer(back, 0), ids, sizeof(float) * 24);
        CHECK_OK(lam_forward(m, 4, LAM_MODE_INFER));
        CHECK_OK(lam_forward(back, 4, LAM_MODE_INFER));
        CHECK(memcmp(lam_model_output(m, 0), lam_model_output(back, 0), sizeof(float) * 168) == 0,
              "the loaded model predicts the same bits");
        CHECK(back->nodes[1].masked && back->nodes[back->n - 1].masked &&
              memcmp(back->nodes[1].mask, m->nodes[1].mask, sizeof(float) * 24) == 0,
              "and carries the same mask");
    }
    lam_model_free(back);
    lam_model_free(m);
    free(ids);
}

static const char *const pe_layer =
    "{\"module\":\"keras_hub.src.layers.modeling.position_embedding\",\"class_name\":"
    "\"PositionEmbedding\",\"config\":{\"name\":\"pos\",\"trainable\":true,\"dtype\":\"float32\","
    "%s},\"registered_name\":%s}";

static lam_status parse_layer(const char *cfg, const char *registered, lam_layer_spec *s)
{
    char text[1024];
    snprintf(text, sizeof text, pe_layer, cfg, registered);
    cJSON *j = cJSON_Parse(text);
    lam_status st = lam_layer_from_cjson(j, "<test>", s);
    cJSON_Delete(j);
    return st;
}

static void refusals(void)
{
    lam_layer_spec s;
    CHECK_OK(parse_layer("\"sequence_length\":9", "\"keras_hub>PositionEmbedding\"", &s));
    CHECK(s.sequence_length == 9, "sequence_length read");
    CHECK_OK(parse_layer("\"sequence_length\":9", "null", &s));
    CHECK_FAILS(parse_layer("\"sequence_length\":9", "\"my_pkg>PositionEmbedding\"", &s),
                LAM_ERR_UNSUPPORTED, "registered_name");
    CHECK_FAILS(parse_layer("\"sequence_length\":0", "null", &s), LAM_ERR_FORMAT,
                "sequence_length is 0");
    CHECK_FAILS(parse_layer("\"trainable\":true", "null", &s), LAM_ERR_FORMAT,
                "has no \"sequence_length\"");
    CHECK_FAILS(parse_layer("\"sequence_length\":9,\"initializer\":\"zeros\"", "null", &s),
                LAM_ERR_UNSUPPORTED, "GlorotUniform");
    lam_layer_spec tp = token_position("tp", 10, 4, 3, false);
    cJSON *w = lam_layer_to_cjson(&tp);
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(w, "config"), "tie_weights", cJSON_CreateFalse());
    CHECK_FAILS(lam_layer_from_cjson(w, "<test>", &s), LAM_ERR_UNSUPPORTED, "tie_weights");
    cJSON_DeleteItemFromObject(cJSON_GetObjectItem(w, "config"), "tie_weights");
    cJSON_DeleteItemFromObject(cJSON_GetObjectItem(w, "config"), "embedding_dim");
    CHECK_FAILS(lam_layer_from_cjson(w, "<test>", &s), LAM_ERR_FORMAT,
                "has no \"embedding_dim\"");
    cJSON_Delete(w);

    /* Token ids come as int32 (Keras's JSON of position_keras3.json has it);
     * strings do not. */
    const char *in_str = "{\"class_name\":\"InputLayer\",\"config\":{\"batch_shape\":[null,6],"
                         "\"dtype\":\"%s\"}}";
    char text[256];
    snprintf(text, sizeof text, in_str, "int64");
    cJSON *j = cJSON_Parse(text);
    CHECK_OK(lam_layer_from_cjson(j, "<test>", &s));
    cJSON_Delete(j);
    snprintf(text, sizeof text, in_str, "string");
    j = cJSON_Parse(text);
    CHECK_FAILS(lam_layer_from_cjson(j, "<test>", &s), LAM_ERR_UNSUPPORTED, "int32 or int64 ids");
    cJSON_Delete(j);

    /* Building: a sequence longer than the table; a (T,) input. */
    lam_model *m = lam_model_new("bad");
    int in, n;
    CHECK_OK(lam_model_input(m, "x", 2, (int64_t[]){9, 4}, &in));
    lam_layer_spec ps = position("pos", 8);
    CHECK_FAILS(lam_model_call(m, &ps, 1, &in, &n), LAM_ERR_SHAPE,
                "layer \"pos\" (PositionEmbedding): the input has 9 positions, more than "
                "sequence_length 8");
    int flat;
    CHECK_OK(lam_model_input(m, "v", 1, (int64_t[]){4}, &flat));
    CHECK_FAILS(lam_model_call(m, &ps, 1, &flat, &n), LAM_ERR_SHAPE, "expected (sequence, "
                "features)");
    int idn;
    CHECK_OK(lam_model_input(m, "ids", 1, (int64_t[]){9}, &idn));
    lam_layer_spec ts = token_position("tp", 10, 8, 3, true);
    CHECK_FAILS(lam_model_call(m, &ts, 1, &idn, &n), LAM_ERR_SHAPE,
                "layer \"tp\" (TokenAndPositionEmbedding): the input has 9 positions");
    ts.sequence_length = 9;
    ts.input_dim = 0;
    CHECK_FAILS(lam_model_call(m, &ts, 1, &idn, &n), LAM_ERR_ARG, "vocabulary_size");
    lam_model_free(m);
}

int main(void)
{
    position_embedding_parity();
    token_and_position_parity();
    masked_pool_model();
    masked_sequence();
    attention_padding("d", false);
    attention_padding("e", true);
    merged_masks();
    mask_rules();
    padding_is_inert();
    gradients();
    keras_json();
    save_load();
    refusals();
    return test_summary("test_position_mask");
}
