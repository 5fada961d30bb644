/* test_sample_norms.c - DP-SGD's per-sample gradients from one backward of
 * the batch (src/core/sample_grads.c and the ops' sample norms) against the
 * reference, one backward per sample: every trainable layer's per-sample
 * norms, and the reweighted sum, for every layer type that has them and
 * every way a convolution is computed; the kernels against their naive
 * forms; a DP fit on the fast path against the same fit on the reference. */
#include "lamina.h"
#include "core/model.h"
#include "kernels/sample_grads.h"
#include "train/train.h"
#include "test.h"

#include <string.h>

enum { B = 6 };

static void kernels(void)
{
    /* T, I, U: T = 1; the ghost way (T small); G formed (T large). */
    const int shapes[][3] = {{1, 7, 5}, {3, 40, 30}, {50, 4, 3}, {9, 9, 9}};
    for (size_t k = 0; k < sizeof shapes / sizeof *shapes; k++) {
        const int T = shapes[k][0], I = shapes[k][1], U = shapes[k][2];
        float *A = malloc(sizeof(float) * (size_t)(T * I)), *Bm = malloc(sizeof(float) * (size_t)(T * U));
        float *work = malloc(sizeof(float) * (size_t)(lam_outer_sqnorm_work(T, I, U) + 1));
        for (int i = 0; i < T * I; i++) A[i] = test_rndf();
        for (int i = 0; i < T * U; i++) Bm[i] = test_rndf();
        const double fast = lam_outer_sqnorm(T, I, U, A, Bm, work);
        const double ref = lam_outer_sqnorm_naive(T, I, U, A, Bm);
        CHECK(fabs(fast - ref) <= 1e-5 * ref, "outer sqnorm T %d I %d U %d (%s): %.9g, naive %.9g",
              T, I, U, lam_outer_sqnorm_ghost(T, I, U) ? "ghost" : "formed", fast, ref);
        free(A);
        free(Bm);
        free(work);
    }
    CHECK(lam_outer_sqnorm_ghost(3, 40, 30) && !lam_outer_sqnorm_ghost(50, 4, 3),
          "the shapes above no longer reach both ways");
    /* Ids with repeats, padding and ids outside the table. */
    const float ids[] = {3, 1, 3, 0, 7, 3, 1, 99, -4, 2.5f};
    const int T = 10, U = 4;
    float Bm[40];
    for (int i = 0; i < T * U; i++) Bm[i] = test_rndf();
    const double fast = lam_gathered_sqnorm(T, U, ids, 8, Bm);
    const double ref = lam_gathered_sqnorm_naive(T, U, ids, 8, Bm);
    CHECK(fabs(fast - ref) <= 1e-6 * ref, "gathered sqnorm %.9g, naive %.9g", fast, ref);
}

/* Inputs and labels for a batch: ids (with padding 0 and repeats) when the
 * model starts with an embedding, else uniform values. */
static void fill_batch(lam_model *m, bool ids, int vocab, float *x, int32_t *labels, int classes)
{
    const int64_t in = lam_model_input_size(m);
    const int64_t P = lam_node_positions(lam_model_output_node(m, 0));
    for (int64_t i = 0; i < B * in; i++)
        x[i] = ids ? (float)(i % in >= in - 2 ? 0 : test_rnd() % (uint32_t)vocab) : test_rndf();
    for (int64_t i = 0; i < B * P; i++) labels[i] = (int32_t)(test_rnd() % (uint32_t)classes);
}

/* One model: the fast path's per-sample norms per trainable layer and its
 * reweighted sum against one backward per sample. keep_bytes < 0: the
 * default budget (convolutions keep their per-sample gradients); 0: none
 * kept (they are recomputed by a second backward). */
static void compare(lam_model *m, const char *what, bool ids, int vocab, int classes,
                    int64_t keep_bytes)
{
    lam_optimizer sgd = lam_sgd();
    CHECK_OK(lam_model_compile(m, &sgd, LAM_LOSS_SPARSE_CATEGORICAL_CE));
    CHECK_OK(lam_model_keep_sample_norms(m, true));
    if (keep_bytes >= 0) m->sample_keep_bytes = keep_bytes;
    CHECK_OK(lam_model_plan(m, B));
    const int G = lam_model_sample_groups(m);
    const int64_t in = lam_model_input_size(m), P = lam_model_param_count(m);
    const int64_t positions = lam_node_positions(lam_model_output_node(m, 0));
    float *x = malloc(sizeof(float) * (size_t)(B * in));
    int32_t *labels = malloc(sizeof(int32_t) * (size_t)(B * positions));
    double *sq = malloc(sizeof(double) * (size_t)(G * B));
    float *w = malloc(sizeof(float) * (size_t)(G * B));
    float *fast = malloc(sizeof(float) * (size_t)P);
    double *want = calloc((size_t)P, sizeof(double));
    fill_batch(m, ids, vocab, x, labels, classes);
    for (int i = 0; i < G * B; i++) w[i] = 0.25f + 0.75f * (float)(test_rnd() % 1000) / 1000.0f;

    lam_batch_metrics bm;
    memcpy(lam_model_input_buffer(m, 0), x, sizeof(float) * (size_t)(B * in));
    CHECK_OK(lam_forward(m, B, LAM_MODE_TRAIN));
    CHECK_OK(lam_loss_eval_per_sample(m, B, &(lam_target){.labels = labels}, &bm));
    CHECK_OK(lam_backward_sample_norms(m, B, sq));
    CHECK_OK(lam_backward_reweighted(m, B, w));
    memcpy(fast, m->grads, sizeof(float) * (size_t)P);

    double worst_norm = 0, worst_sum = 0, scale = 0;
    for (int b = 0; b < B; b++) {
        memcpy(lam_model_input_buffer(m, 0), x + b * in, sizeof(float) * (size_t)in);
        CHECK_OK(lam_forward(m, 1, LAM_MODE_TRAIN));
        CHECK_OK(lam_loss_eval(m, 1, &(lam_target){.labels = labels + b * positions}, true, &bm));
        CHECK_OK(lam_backward(m, 1, false));
        for (int i = 0; i < m->n; i++) {
            const lam_node *nd = &m->nodes[i];
            if (nd->sample_group < 0) continue;
            const int g = nd->sample_group;
            const float *gr = m->grads + nd->param_offset;
            const double ref = lam_sqnorm(gr, nd->param_count), got = sq[g * B + b];
            const double rel = fabs(sqrt(got) - sqrt(ref)) / (sqrt(ref) + 1e-12);
            if (rel > worst_norm) worst_norm = rel;
            CHECK(rel <= 1e-5, "%s: layer \"%s\", sample %d: norm %.9g, reference %.9g", what,
                  nd->spec.name, b, sqrt(got), sqrt(ref));
            for (int64_t p = 0; p < nd->param_count; p++)
                want[nd->param_offset + p] += (double)w[g * B + b] * gr[p];
        }
    }
    for (int64_t p = 0; p < P; p++) scale = fmax(scale, fabs(want[p]));
    for (int64_t p = 0; p < P; p++) worst_sum = fmax(worst_sum, fabs(fast[p] - want[p]));
    CHECK(scale > 0 && worst_sum <= 1e-5 * scale, "%s: reweighted sum off by %g (largest %g)",
          what, worst_sum, scale);
    printf("  %-34s groups %d: worst norm rel %.2e, sum %.2e of %.3g\n", what, G, worst_norm,
           worst_sum, scale);
    free(x);
    free(labels);
    free(sq);
    free(w);
    free(fast);
    free(want);
    lam_model_free(m);
}

static lam_model *new_model(int rank, const int64_t *shape)
{
    lam_model *m = lam_sequential("sample_norms");
    lam_model_set_seed(m, 11);
    CHECK_OK(lam_model_add_input(m, rank, shape));
    return m;
}

static void add(lam_model *m, lam_layer_spec s)
{
    CHECK_OK(lam_model_add(m, &s));
}

static lam_layer_spec conv(lam_layer_kind kind, int filters, int k, int stride, lam_padding pad,
                           lam_conv_algo algo)
{
    lam_layer_spec s = lam_layer_defaults(kind);
    s.units = filters;
    s.kernel[0] = s.kernel[1] = k;
    s.strides[0] = s.strides[1] = stride;
    s.padding = pad;
    s.activation = LAM_ACT_RELU;
    s.conv_algo = algo;
    return s;
}

static void layers(void)
{
    lam_model *m = new_model(1, (int64_t[]){9});
    CHECK_OK(lam_model_add_dense(m, 7, LAM_ACT_TANH));
    CHECK_OK(lam_model_add_dense(m, 4, LAM_ACT_SOFTMAX));
    compare(m, "Dense (vectors)", false, 0, 4, -1);

    /* Dense over a sequence, by Gram matrices (T small) and by forming G. */
    const int64_t seqs[][2] = {{3, 40}, {30, 3}};
    for (int k = 0; k < 2; k++) {
        m = new_model(2, seqs[k]);
        CHECK_OK(lam_model_add_dense(m, 20, LAM_ACT_RELU));
        add(m, lam_layer_defaults(LAM_LAYER_GLOBAL_AVGPOOL1D));
        CHECK_OK(lam_model_add_dense(m, 3, LAM_ACT_SOFTMAX));
        compare(m, k ? "Dense (sequence, formed)" : "Dense (sequence, ghost)", false, 0, 3, -1);
    }

    /* Conv2D, each algorithm; kept per-sample gradients and recomputed ones. */
    const lam_conv_algo algos[] = {LAM_CONV_DIRECT, LAM_CONV_IM2COL, LAM_CONV_WINOGRAD2,
                                   LAM_CONV_WINOGRAD4};
    const char *names[] = {"direct", "im2col", "winograd2", "winograd4"};
    for (int a = 0; a < 4; a++)
        for (int kept = 0; kept < 2; kept++) {
            m = new_model(3, (int64_t[]){10, 10, 2});
            add(m, conv(LAM_LAYER_CONV2D, 6, 3, 1, LAM_PAD_VALID, LAM_CONV_AUTO));
            add(m, conv(LAM_LAYER_CONV2D, 6, 3, 1, LAM_PAD_SAME, algos[a]));
            CHECK_OK(lam_model_add_maxpool2d(m, 2, 2));
            CHECK_OK(lam_model_add_flatten(m));
            CHECK_OK(lam_model_add_dense(m, 5, LAM_ACT_SOFTMAX));
            char what[64];
            snprintf(what, sizeof what, "Conv2D %s (%s)", names[a], kept ? "kept" : "recomputed");
            compare(m, what, false, 0, 5, kept ? -1 : 0);
        }
    /* Strided convolution; Conv1D. */
    m = new_model(3, (int64_t[]){11, 11, 3});
    add(m, conv(LAM_LAYER_CONV2D, 4, 4, 2, LAM_PAD_VALID, LAM_CONV_AUTO));
    CHECK_OK(lam_model_add_flatten(m));
    CHECK_OK(lam_model_add_dense(m, 3, LAM_ACT_SOFTMAX));
    compare(m, "Conv2D stride 2", false, 0, 3, -1);
    m = new_model(2, (int64_t[]){12, 3});
    add(m, conv(LAM_LAYER_CONV1D, 5, 3, 1, LAM_PAD_VALID, LAM_CONV_AUTO));
    add(m, lam_layer_defaults(LAM_LAYER_GLOBAL_AVGPOOL1D));
    CHECK_OK(lam_model_add_dense(m, 3, LAM_ACT_SOFTMAX));
    compare(m, "Conv1D", false, 0, 3, 0);

    /* PositionEmbedding (its output is the table's rows, whatever the input);
     * TokenAndPositionEmbedding with padding, then LayerNormalization. */
    m = new_model(2, (int64_t[]){5, 6});
    lam_layer_spec pos = lam_layer_defaults(LAM_LAYER_POSITION_EMBEDDING);
    pos.sequence_length = 7;
    add(m, pos);
    CHECK_OK(lam_model_add_dense(m, 8, LAM_ACT_TANH));
    add(m, lam_layer_defaults(LAM_LAYER_GLOBAL_AVGPOOL1D));
    CHECK_OK(lam_model_add_dense(m, 3, LAM_ACT_SOFTMAX));
    compare(m, "PositionEmbedding", false, 0, 3, -1);
    m = new_model(1, (int64_t[]){9});
    lam_layer_spec tp = lam_layer_defaults(LAM_LAYER_TOKEN_AND_POSITION_EMBEDDING);
    tp.input_dim = 6;
    tp.units = 4;
    tp.sequence_length = 12;
    tp.mask_zero = true;
    add(m, tp);
    add(m, lam_layer_defaults(LAM_LAYER_LAYER_NORM));
    add(m, lam_layer_defaults(LAM_LAYER_GLOBAL_AVGPOOL1D));
    CHECK_OK(lam_model_add_dense(m, 3, LAM_ACT_SOFTMAX));
    compare(m, "TokenAndPositionEmbedding, LayerNorm", true, 6, 3, -1);

    /* Embedding with padding ids (masked average) and a per-position output,
     * whose masked loss is scaled per sample. */
    for (int seq_out = 0; seq_out < 2; seq_out++) {
        m = new_model(1, (int64_t[]){8});
        lam_layer_spec e = lam_layer_defaults(LAM_LAYER_EMBEDDING);
        e.input_dim = 6;
        e.units = 5;
        e.mask_zero = true;
        add(m, e);
        CHECK_OK(lam_model_add_dense(m, 7, LAM_ACT_TANH));
        if (!seq_out) add(m, lam_layer_defaults(LAM_LAYER_GLOBAL_AVGPOOL1D));
        CHECK_OK(lam_model_add_dense(m, 4, LAM_ACT_SOFTMAX));
        compare(m, seq_out ? "Embedding, masked sequence loss" : "Embedding, masked average",
                true, 6, 4, -1);
    }
}

/* Layers without one-pass norms are named; DP-SGD then takes the reference path. */
static void refused(void)
{
    lam_model *m = new_model(2, (int64_t[]){4, 3});
    CHECK_OK(lam_model_add_lstm(m, 5, false));
    CHECK_OK(lam_model_add_dense(m, 2, LAM_ACT_SOFTMAX));
    CHECK_FAILS(lam_model_keep_sample_norms(m, true), LAM_ERR_UNSUPPORTED, "\"lstm\" (LSTM)");
    lam_model_free(m);
}

/* A DP fit on the fast path gives the reference path's weights. */
static void fit_paths(void)
{
    lam_dataset *x = NULL;
    const int n = 40;
    CHECK_OK(lam_dataset_create(&x, LAM_F32, n, 3, (int64_t[]){8, 8, 1}, true, 0));
    float *xs = lam_dataset_x(x);
    int32_t *ys = lam_dataset_labels(x);
    for (int i = 0; i < n * 64; i++) xs[i] = test_rndf();
    for (int i = 0; i < n; i++) ys[i] = (int32_t)(test_rnd() % 3);
    float *weights[2] = {0};
    int64_t P = 0;
    for (int path = 0; path < 2; path++) {
        for (int per_layer = 0; per_layer < 2; per_layer++) {
            lam_model *m = new_model(3, (int64_t[]){8, 8, 1});
            add(m, conv(LAM_LAYER_CONV2D, 4, 3, 1, LAM_PAD_VALID, LAM_CONV_AUTO));
            CHECK_OK(lam_model_add_maxpool2d(m, 2, 2));
            CHECK_OK(lam_model_add_flatten(m));
            CHECK_OK(lam_model_add_dense(m, 3, LAM_ACT_SOFTMAX));
            lam_optimizer sgd = lam_sgd();
            sgd.learning_rate = 0.5f;
            CHECK_OK(lam_model_compile(m, &sgd, LAM_LOSS_SPARSE_CATEGORICAL_CE));
            lam_dp_options dp = lam_dp_defaults();
            dp.clip_norm = 0.05; /* most samples clipped */
            dp.noise_multiplier = 0.7;
            dp.seeded_noise = true;
            dp.per_layer = per_layer;
            dp.reference_clipping = path == 1;
            lam_fit_options fo = lam_fit_defaults();
            fo.epochs = 2;
            fo.batch_size = 8;
            fo.verbose = 0;
            fo.dp = &dp;
            CHECK_OK(lam_fit(m, x, &fo, NULL));
            P = lam_model_param_count(m);
            if (per_layer == 0) {
                weights[path] = malloc(sizeof(float) * (size_t)P);
                memcpy(weights[path], lam_model_params(m), sizeof(float) * (size_t)P);
            } else {
                /* Per-layer clipping changes the update (a different clip). */
                double d = 0;
                for (int64_t p = 0; p < P; p++)
                    d = fmax(d, fabs(lam_model_params(m)[p] - weights[path][p]));
                CHECK(d > 1e-4, "per-layer clipping left the weights as flat clipping (%g)", d);
            }
            lam_model_free(m);
        }
    }
    double worst = 0, scale = 0;
    for (int64_t p = 0; p < P; p++) {
        worst = fmax(worst, fabs(weights[0][p] - weights[1][p]));
        scale = fmax(scale, fabs(weights[1][p]));
    }
    CHECK(worst <= 1e-5 * scale, "DP fit: fast path and reference differ by %g (largest %g)",
          worst, scale);
    printf("  DP fit, fast path against reference: worst %.2e of %.3g\n", worst, scale);
    free(weights[0]);
    free(weights[1]);
    lam_dataset_free(x);
}

int main(void)
{
    kernels();
    layers();
    refused();
    fit_paths();
    return test_summary("test_sample_norms");
}
