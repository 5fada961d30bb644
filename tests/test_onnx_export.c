/* test_onnx_export.c - lam_model_export_onnx against onnxruntime.
 *
 * Three small models (a CNN with BatchNormalization, a residual Add,
 * padding, both poolings, upsampling and a Concatenate; a recurrent stack of
 * LSTM, GRU, Bidirectional(LSTM), SimpleRNN with go_backwards; a masked
 * attention classifier: Embedding with mask_zero, causal MultiHeadAttention
 * with dropout, LayerNormalization, GELU, masked GlobalAveragePooling1D) are
 * built from a fixed seed, their weights and moving statistics scattered by
 * the test's fixed random stream, and exported. The file must parse back
 * with protobuf-c with the expected operators and weight shapes, and
 * match the committed export (NAME.onnx: same operators on the same tensors,
 * same weights within 1e-6), and lamina's forward must match onnxruntime's
 * outputs on that file, which tests/make_onnx_fixtures.py computed once
 * (NAME_y.npy) from the inputs this program wrote (NAME_x.npy, `--write DIR`).
 * Together: the export computes lamina's function, as onnxruntime runs it.
 *
 * Exit 77 (skipped) in a build without ONNX export (no protobuf-c). */
#include "test.h"

#include <lamina.h>

#include <string.h>
#include <unistd.h>

#ifdef LAMINA_HAVE_ONNX
#include "io/npy.h"
#include "onnx.pb-c.h"

#define FIX "fixtures/onnx"
#define TOL 1e-5

static lam_status call(lam_model *m, lam_layer_spec s, int nin, const int *in, int *out)
{
    return lam_model_call(m, &s, nin, in, out);
}

static lam_layer_spec conv_spec(int filters, int k, lam_padding pad, lam_activation act)
{
    lam_layer_spec s = lam_layer_defaults(LAM_LAYER_CONV2D);
    s.units = filters;
    s.kernel[0] = s.kernel[1] = k;
    s.padding = pad;
    s.activation = act;
    return s;
}

static lam_layer_spec dense_spec(int units, lam_activation act)
{
    lam_layer_spec s = lam_layer_defaults(LAM_LAYER_DENSE);
    s.units = units;
    s.activation = act;
    return s;
}

static lam_layer_spec with_pool(lam_layer_kind kind, int p, int stride, lam_padding pad)
{
    lam_layer_spec s = lam_layer_defaults(kind);
    s.pool[0] = s.pool[1] = p;
    s.strides[0] = s.strides[1] = stride;
    s.padding = pad;
    return s;
}

/* (8, 8, 2) -> ZeroPadding2D -> Conv2D 4 relu -> BatchNorm -> [Conv2D 4 same] + Add ->
 * MaxPool 2 -> AvgPool 3 stride 1 same -> UpSampling2D -> Conv2D 3 stride 2 ->
 * Concatenate(Flatten, GlobalMaxPool2D, GlobalAvgPool2D) -> Dropout -> Dense 5 softmax */
static lam_status build_cnn(lam_model *m)
{
    int x, p, c, b, c2, a, mp, ap, up, c3, f, gm, ga, cat, d, y;
    lam_layer_spec pad = lam_layer_defaults(LAM_LAYER_ZERO_PADDING2D);
    pad.pad[0] = 1, pad.pad[1] = 0, pad.pad[2] = 2, pad.pad[3] = 1;
    lam_layer_spec up2 = lam_layer_defaults(LAM_LAYER_UPSAMPLING2D);
    up2.size[0] = 2, up2.size[1] = 2;
    lam_layer_spec strided = conv_spec(3, 2, LAM_PAD_VALID, LAM_ACT_TANH);
    strided.strides[0] = strided.strides[1] = 2;
    lam_layer_spec concat = lam_layer_defaults(LAM_LAYER_CONCATENATE);
    lam_layer_spec drop = lam_layer_defaults(LAM_LAYER_DROPOUT);
    drop.rate = 0.5f;
    LAM_TRY(lam_model_input(m, "image", 3, (int64_t[]){8, 8, 2}, &x));
    LAM_TRY(call(m, pad, 1, &x, &p));                                      /* (9, 11, 2) */
    LAM_TRY(call(m, conv_spec(4, 3, LAM_PAD_VALID, LAM_ACT_RELU), 1, &p, &c)); /* (7, 9, 4) */
    LAM_TRY(call(m, lam_layer_defaults(LAM_LAYER_BATCH_NORM), 1, &c, &b));
    LAM_TRY(call(m, conv_spec(4, 3, LAM_PAD_SAME, LAM_ACT_LINEAR), 1, &b, &c2));
    LAM_TRY(call(m, lam_layer_defaults(LAM_LAYER_ADD), 2, (int[]){b, c2}, &a));
    LAM_TRY(call(m, with_pool(LAM_LAYER_MAXPOOL2D, 2, 2, LAM_PAD_SAME), 1, &a, &mp)); /* (4, 5) */
    LAM_TRY(call(m, with_pool(LAM_LAYER_AVGPOOL2D, 3, 1, LAM_PAD_SAME), 1, &mp, &ap));
    LAM_TRY(call(m, up2, 1, &ap, &up));                                    /* (8, 10, 4) */
    LAM_TRY(call(m, strided, 1, &up, &c3));                                /* (4, 5, 3) */
    LAM_TRY(call(m, lam_layer_defaults(LAM_LAYER_FLATTEN), 1, &c3, &f));
    LAM_TRY(call(m, lam_layer_defaults(LAM_LAYER_GLOBAL_MAXPOOL2D), 1, &c3, &gm));
    LAM_TRY(call(m, lam_layer_defaults(LAM_LAYER_GLOBAL_AVGPOOL2D), 1, &up, &ga));
    LAM_TRY(call(m, concat, 3, (int[]){f, gm, ga}, &cat));
    LAM_TRY(call(m, drop, 1, &cat, &d));
    return call(m, dense_spec(5, LAM_ACT_SOFTMAX), 1, &d, &y);
}

static lam_layer_spec rnn_spec(lam_layer_kind kind, int units, bool seq)
{
    lam_layer_spec s = lam_layer_defaults(kind);
    s.units = units;
    s.return_sequences = seq;
    return s;
}

/* (6, 3) -> LSTM 4 -> GRU 5 (reset_after) -> Bidirectional(LSTM 3, concat) ->
 * GRU 4 (reset_after False) -> SimpleRNN 3 relu, go_backwards, last -> Dense 4 sigmoid */
static lam_status build_rnn(lam_model *m)
{
    int x, l, g, bi, g2, r, y;
    lam_layer_spec gru_before = rnn_spec(LAM_LAYER_GRU, 4, true);
    gru_before.reset_after = false;
    lam_layer_spec bidi = rnn_spec(LAM_LAYER_BIDIRECTIONAL, 3, true);
    bidi.wrapped = LAM_LAYER_LSTM;
    bidi.merge_mode = LAM_MERGE_CONCAT;
    lam_layer_spec back = rnn_spec(LAM_LAYER_SIMPLERNN, 3, false);
    back.go_backwards = true;
    back.activation = LAM_ACT_RELU;
    LAM_TRY(lam_model_input(m, "sequence", 2, (int64_t[]){6, 3}, &x));
    LAM_TRY(call(m, rnn_spec(LAM_LAYER_LSTM, 4, true), 1, &x, &l));
    LAM_TRY(call(m, rnn_spec(LAM_LAYER_GRU, 5, true), 1, &l, &g));
    LAM_TRY(call(m, bidi, 1, &g, &bi));
    LAM_TRY(call(m, gru_before, 1, &bi, &g2));
    LAM_TRY(call(m, back, 1, &g2, &r));
    return call(m, dense_spec(4, LAM_ACT_SIGMOID), 1, &r, &y);
}

/* ids (7) -> Embedding(11, 8, mask_zero) -> MultiHeadAttention(2 heads of 4, causal,
 * dropout 0.1)(e, e) + e -> LayerNormalization -> Dense 8 gelu -> GlobalAveragePooling1D
 * (masked) -> Dense 3 softmax */
static lam_status build_attention(lam_model *m)
{
    int x, e, h, a, n, d, p, y;
    lam_layer_spec emb = lam_layer_defaults(LAM_LAYER_EMBEDDING);
    emb.input_dim = 11;
    emb.units = 8;
    emb.mask_zero = true;
    lam_layer_spec mha = lam_layer_defaults(LAM_LAYER_MULTI_HEAD_ATTENTION);
    mha.num_heads = 2;
    mha.key_dim = 4;
    mha.use_causal_mask = true;
    mha.rate = 0.1f;
    LAM_TRY(lam_model_input(m, "ids", 1, (int64_t[]){7}, &x));
    LAM_TRY(call(m, emb, 1, &x, &e));
    LAM_TRY(call(m, mha, 2, (int[]){e, e}, &h));
    LAM_TRY(call(m, lam_layer_defaults(LAM_LAYER_ADD), 2, (int[]){e, h}, &a));
    LAM_TRY(call(m, lam_layer_defaults(LAM_LAYER_LAYER_NORM), 1, &a, &n));
    LAM_TRY(call(m, dense_spec(8, LAM_ACT_GELU), 1, &n, &d));
    LAM_TRY(call(m, lam_layer_defaults(LAM_LAYER_GLOBAL_AVGPOOL1D), 1, &d, &p));
    return call(m, dense_spec(3, LAM_ACT_SOFTMAX), 1, &p, &y);
}

typedef struct fixture {
    const char *name;
    lam_status (*build)(lam_model *m);
    int rank;
    int64_t shape[3];
    const char *ops;          /* operator types the graph must contain */
    int init_rank;            /* an initializer of this shape must be there */
    int64_t init_dims[4];
} fixture;

static const fixture FIXTURES[] = {
    {"cnn", build_cnn, 3, {8, 8, 2},
     "Pad Conv Transpose MaxPool AveragePool Expand Concat ReduceMax ReduceMean Softmax",
     4, {4, 2, 3, 3}},
    {"rnn", build_rnn, 2, {6, 3}, "LSTM GRU RNN Slice Squeeze Sigmoid", 3, {2, 12, 5}},
    {"attention", build_attention, 1, {7},
     "Gather Where Softmax LayerNormalization Erf ReduceSum Not Equal", 2, {8, 8}},
};
#define N_FIXTURES (int)(sizeof FIXTURES / sizeof FIXTURES[0])
#define SAMPLES 6

/* The model of f with seeded weights, then weights and moving statistics
 * scattered by the test stream (biases and statistics off 0 and 1). */
static lam_model *make_model(const fixture *f)
{
    lam_model *m = lam_model_new(f->name);
    lam_model_set_seed(m, 5);
    CHECK_OK(f->build(m));
    lam_optimizer adam = lam_adam();
    CHECK_OK(lam_model_compile(m, &adam, LAM_LOSS_MSE));
    float *p = lam_model_params(m), *st = lam_model_state(m);
    for (int64_t i = 0; i < lam_model_param_count(m); i++) p[i] += 0.2f * test_rndf();
    /* BatchNormalization's state: mean then variance per layer (one layer here). */
    const int64_t ns = lam_model_state_count(m);
    for (int64_t i = 0; i < ns; i++)
        st[i] = i < ns / 2 ? 0.3f * test_rndf() : 1.25f + 0.75f * test_rndf();
    return m;
}

/* SAMPLES inputs: values in [-1, 1); ids with padding (0) at the end of
 * most rows, and one row all padding. */
static float *make_inputs(const fixture *f, int64_t size)
{
    float *x = malloc(sizeof *x * (size_t)(SAMPLES * size));
    for (int64_t i = 0; i < SAMPLES * size; i++) x[i] = test_rndf();
    if (f->build == build_attention)
        for (int s = 0; s < SAMPLES; s++) {
            const int64_t keep = s == 1 ? 0 : 1 + test_rnd() % size;
            for (int64_t t = 0; t < size; t++)
                x[s * size + t] = t < keep ? (float)(1 + test_rnd() % 10) : 0.0f;
        }
    return x;
}

/* The op types of the graph as one space-separated string. */
static bool has_op(const Onnx__GraphProto *g, const char *op)
{
    for (size_t i = 0; i < g->n_node; i++)
        if (!strcmp(g->node[i]->op_type, op)) return true;
    return false;
}

static bool has_initializer(const Onnx__GraphProto *g, int rank, const int64_t *dims)
{
    for (size_t i = 0; i < g->n_initializer; i++) {
        const Onnx__TensorProto *t = g->initializer[i];
        if ((int)t->n_dims != rank) continue;
        bool same = true;
        for (int k = 0; k < rank; k++) same &= t->dims[k] == dims[k];
        if (same && t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT &&
            t->n_float_data == (size_t)(rank == 2 ? dims[0] * dims[1]
                                        : rank == 3 ? dims[0] * dims[1] * dims[2]
                                                    : dims[0] * dims[1] * dims[2] * dims[3]))
            return true;
    }
    return false;
}

/* The exported file parses back: IR and opset, the input and output named
 * after their layers, the operators and one weight shape of the fixture. */
static void check_parses(const fixture *f, const lam_model *m, const char *path)
{
    size_t n = 0;
    unsigned char *buf = test_read_file(path, &n);
    CHECK(buf != NULL, "%s: cannot read", path);
    if (!buf) return;
    Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, n, buf);
    CHECK(mp != NULL, "%s: protobuf-c cannot parse it", path);
    if (mp) {
        CHECK(mp->ir_version == 8, "%s: IR %lld", path, (long long)mp->ir_version);
        CHECK(mp->n_opset_import == 1 && mp->opset_import[0]->version == 17, "%s: opset", path);
        const Onnx__GraphProto *g = mp->graph;
        CHECK(g->n_input == 1 && !strcmp(g->input[0]->name, lam_model_layer(m, 0)->name),
              "%s: input %s", path, g->n_input ? g->input[0]->name : "(none)");
        const int last = lam_model_output_id(m, 0);
        CHECK(g->n_output == 1 && !strcmp(g->output[0]->name, lam_model_layer(m, last)->name),
              "%s: output %s", path, g->n_output ? g->output[0]->name : "(none)");
        char ops[256];
        snprintf(ops, sizeof ops, "%s", f->ops);
        for (char *save, *op = strtok_r(ops, " ", &save); op; op = strtok_r(NULL, " ", &save))
            CHECK(has_op(g, op), "%s: no %s node", path, op);
        CHECK(has_initializer(g, f->init_rank, f->init_dims), "%s: no initializer of the "
              "expected shape", path);
        CHECK(!has_op(g, "Dropout"), "%s: a Dropout node (inference has none)", path);
        onnx__model_proto__free_unpacked(mp, NULL);
    }
    free(buf);
}

/* The fresh export computes what the committed file onnxruntime ran
 * computes: the same operators in the same order on the same tensors, and
 * initializers of the same shapes whose values agree within 1e-6 (bits may
 * differ across machines by the weights' initialisation). So an exporter
 * that changes its output fails here until the fixtures are made again. */
static void check_same_graph(const char *path, const char *committed)
{
    size_t n1 = 0, n2 = 0;
    unsigned char *b1 = test_read_file(path, &n1), *b2 = test_read_file(committed, &n2);
    Onnx__ModelProto *m1 = b1 ? onnx__model_proto__unpack(NULL, n1, b1) : NULL;
    Onnx__ModelProto *m2 = b2 ? onnx__model_proto__unpack(NULL, n2, b2) : NULL;
    CHECK(m1 && m2, "cannot parse %s or %s", path, committed);
    if (m1 && m2) {
        const Onnx__GraphProto *g1 = m1->graph, *g2 = m2->graph;
        CHECK(g1->n_node == g2->n_node, "%s: %zu nodes, %s %zu", path, g1->n_node, committed,
              g2->n_node);
        for (size_t i = 0; i < g1->n_node && i < g2->n_node; i++) {
            const Onnx__NodeProto *a = g1->node[i], *b = g2->node[i];
            bool same = !strcmp(a->op_type, b->op_type) && a->n_input == b->n_input &&
                        a->n_attribute == b->n_attribute;
            for (size_t k = 0; same && k < a->n_input; k++) same = !strcmp(a->input[k], b->input[k]);
            CHECK(same, "%s: node %zu is %s, %s has %s", path, i, a->op_type, committed,
                  b->op_type);
        }
        CHECK(g1->n_initializer == g2->n_initializer, "%s: initializer count", path);
        for (size_t i = 0; i < g1->n_initializer && i < g2->n_initializer; i++) {
            const Onnx__TensorProto *a = g1->initializer[i], *b = g2->initializer[i];
            bool same = !strcmp(a->name, b->name) && a->n_dims == b->n_dims &&
                        a->n_float_data == b->n_float_data && a->n_int64_data == b->n_int64_data;
            for (size_t k = 0; same && k < a->n_dims; k++) same = a->dims[k] == b->dims[k];
            for (size_t k = 0; same && k < a->n_int64_data; k++)
                same = a->int64_data[k] == b->int64_data[k];
            double d = 0;
            for (size_t k = 0; same && k < a->n_float_data; k++)
                d = fmax(d, fabs((double)a->float_data[k] - b->float_data[k]));
            CHECK(same && d <= 1e-6, "%s: initializer %s differs from %s's (max |diff| %g)",
                  path, a->name, committed, d);
        }
    }
    if (m1) onnx__model_proto__free_unpacked(m1, NULL);
    if (m2) onnx__model_proto__free_unpacked(m2, NULL);
    free(b1);
    free(b2);
}

static void check_fixture(const fixture *f, const char *tmp)
{
    lam_model *m = make_model(f);
    const int64_t size = lam_model_input_size(m), out = lam_model_output_size(m);
    float *x = make_inputs(f, size);
    char path[600], xp[300], yp[300];
    snprintf(path, sizeof path, "%s/%s.onnx", tmp, f->name);
    CHECK_OK(lam_model_export_onnx(m, path, NULL));
    check_parses(f, m, path);
    char committed[300];
    snprintf(committed, sizeof committed, FIX "/%s.onnx", f->name);
    check_same_graph(path, committed);
    unlink(path);

    /* The inputs onnxruntime saw are the ones made here (the stream is fixed). */
    snprintf(xp, sizeof xp, FIX "/%s_x.npy", f->name);
    snprintf(yp, sizeof yp, FIX "/%s_y.npy", f->name);
    lam_dataset *dx = NULL, *dy = NULL;
    CHECK_OK(lam_load_npy(xp, NULL, &dx));
    CHECK_OK(lam_load_npy(yp, NULL, &dy));
    float *got = malloc(sizeof *got * (size_t)(SAMPLES * out));
    CHECK_OK(lam_predict_raw(m, x, SAMPLES, got));
    if (dx && dy) {
        CHECK(lam_dataset_count(dx) == SAMPLES && lam_dataset_sample_size(dx) == size &&
              lam_dataset_count(dy) == SAMPLES && lam_dataset_sample_size(dy) == out,
              "%s: fixture shapes", f->name);
        const float *fx = lam_dataset_x(dx), *fy = lam_dataset_x(dy);
        double dxmax = 0, dymax = 0;
        for (int64_t i = 0; i < SAMPLES * size; i++) dxmax = fmax(dxmax, fabs(fx[i] - x[i]));
        for (int64_t i = 0; i < SAMPLES * out; i++) dymax = fmax(dymax, fabs(fy[i] - got[i]));
        CHECK(dxmax == 0, "%s: inputs differ from the fixture's by %g", f->name, dxmax);
        CHECK(dymax <= TOL, "%s: lamina vs onnxruntime: max |diff| %g", f->name, dymax);
        printf("%s: max |lamina - onnxruntime| = %.3g over %d x %lld outputs\n", f->name, dymax,
               SAMPLES, (long long)out);
    }
    lam_dataset_free(dx);
    lam_dataset_free(dy);
    free(got);
    free(x);
    lam_model_free(m);
}

/* Writes each fixture's ONNX file and inputs into dir for make_onnx_fixtures.py. */
static int write_fixtures(const char *dir)
{
    for (int k = 0; k < N_FIXTURES; k++) {
        const fixture *f = &FIXTURES[k];
        lam_model *m = make_model(f);
        const int64_t size = lam_model_input_size(m);
        float *x = make_inputs(f, size);
        char path[600];
        snprintf(path, sizeof path, "%s/%s.onnx", dir, f->name);
        CHECK_OK(lam_model_export_onnx(m, path, NULL));
        snprintf(path, sizeof path, "%s/%s_x.npy", dir, f->name);
        int64_t shape[4] = {SAMPLES};
        memcpy(shape + 1, f->shape, sizeof(int64_t) * (size_t)f->rank);
        CHECK_OK(lam_npy_write_f32(path, f->rank + 1, shape, x));
        free(x);
        lam_model_free(m);
    }
    return test_summary("test_onnx_export --write");
}

/* Errors: each names what is wrong, and no file is left. */
static void check_errors(const char *tmp)
{
    char path[600];
    snprintf(path, sizeof path, "%s/bad.onnx", tmp);
    lam_model *m = lam_model_new("linear_lstm");
    int x, l;
    lam_layer_spec lin = rnn_spec(LAM_LAYER_LSTM, 2, false);
    lin.activation = LAM_ACT_LINEAR;
    CHECK_OK(lam_model_input(m, "seq", 2, (int64_t[]){3, 2}, &x));
    CHECK_OK(call(m, lin, 1, &x, &l));
    CHECK_FAILS(lam_model_export_onnx(m, path, NULL), LAM_ERR_STATE, "no weights yet");
    lam_optimizer adam = lam_adam();
    CHECK_OK(lam_model_compile(m, &adam, LAM_LOSS_MSE));
    /* A recurrent activation ONNX's LSTM cannot express: the layer and its kind named. */
    CHECK_FAILS(lam_model_export_onnx(m, path, NULL), LAM_ERR_UNSUPPORTED,
                "layer \"lstm\" (LSTM)");
    CHECK(strstr(lam_last_error(), "linear") != NULL, "%s", lam_last_error());
    CHECK(access(path, F_OK) != 0, "a failed export left %s", path);
    lam_onnx_options o = lam_onnx_defaults();
    CHECK(o.opset == 17, "default opset %d", o.opset);
    o.opset = 12;
    CHECK_FAILS(lam_model_export_onnx(m, path, &o), LAM_ERR_ARG, "opset 12, expected 13 to 18");
    o.opset = 19;
    CHECK_FAILS(lam_model_export_onnx(m, path, &o), LAM_ERR_ARG, "opset 19");
    lam_model_free(m);

    /* A folder that does not exist: an I/O error naming the file. */
    m = make_model(&FIXTURES[0]);
    snprintf(path, sizeof path, "%s/missing/m.onnx", tmp);
    CHECK_FAILS(lam_model_export_onnx(m, path, NULL), LAM_ERR_IO, path);
    /* Opsets 13 (LayerNormalization decomposed) and 18 (axes as inputs) write too. */
    lam_model *a = make_model(&FIXTURES[2]);
    snprintf(path, sizeof path, "%s/a.onnx", tmp);
    for (int op = 13; op <= 18; op += 5) {
        o.opset = op;
        CHECK_OK(lam_model_export_onnx(a, path, &o));
        size_t n = 0;
        unsigned char *buf = test_read_file(path, &n);
        Onnx__ModelProto *mp = buf ? onnx__model_proto__unpack(NULL, n, buf) : NULL;
        CHECK(mp && mp->opset_import[0]->version == op, "opset %d not written", op);
        CHECK(mp && has_op(mp->graph, "LayerNormalization") == (op >= 17),
              "opset %d: LayerNormalization %s", op, op >= 17 ? "missing" : "before opset 17");
        if (mp) onnx__model_proto__free_unpacked(mp, NULL);
        free(buf);
    }
    unlink(path);
    lam_model_free(a);
    lam_model_free(m);
}

int main(int argc, char **argv)
{
    lam_set_threads(1);
    if (argc == 3 && !strcmp(argv[1], "--write")) return write_fixtures(argv[2]);
    const char *base = getenv("TMPDIR");
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s/lamina-onnx-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmp)) {
        perror(tmp);
        return 1;
    }
    CHECK(lam_onnx_available(), "built with ONNX but lam_onnx_available() is false");
    for (int k = 0; k < N_FIXTURES; k++) check_fixture(&FIXTURES[k], tmp);
    check_errors(tmp);
    rmdir(tmp);
    return test_summary("test_onnx_export");
}

#else

int main(void)
{
    if (lam_onnx_available()) return 1;
    lam_model *m = lam_model_new("m");
    lam_status s = lam_model_export_onnx(m, "m.onnx", NULL);
    lam_model_free(m);
    printf("test_onnx_export: skipped (built without protobuf-c): %s\n", lam_last_error());
    return s == LAM_ERR_UNSUPPORTED ? 77 : 1;
}

#endif
