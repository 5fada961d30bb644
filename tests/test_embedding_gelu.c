/* test_embedding_gelu.c - GELU (exact and tanh forms) and Embedding:
 * finite-difference gradients, parity with Keras fixtures, the parameter
 * count, a JSON round trip and Keras's own JSON, a small fit that learns,
 * and the refusals, each naming the layer. */
#include "fixture.h"
#include "gradcheck.h"
#include "kernels/activation.h"

#include <string.h>

static lam_layer_spec embedding_spec(int input_dim, int output_dim)
{
    lam_layer_spec s = lam_layer_defaults(LAM_LAYER_EMBEDDING);
    s.input_dim = input_dim;
    s.units = output_dim;
    return s;
}

/* Dense with either GELU, checked by central differences. GELU's third
 * derivative is large near 0, so a smaller step than `smooth`'s keeps the
 * difference's own error (eps^2 f''' / 6) under the tolerance. */
static const check_opts gelu_opts = {0, 0, 2e-3f};

static void gelu_gradients(void)
{
    const lam_activation acts[2] = {LAM_ACT_GELU, LAM_ACT_GELU_TANH};
    for (int a = 0; a < 2; a++) {
        lam_model *m = model_with_input(1, (int64_t[]){6});
        CHECK_OK(lam_model_add_dense(m, 5, acts[a]));
        CHECK_OK(lam_model_add_dense(m, 3, LAM_ACT_LINEAR));
        char name[64];
        snprintf(name, sizeof name, "Dense(5, %s)", lam_activation_name(acts[a]));
        gradcheck(name, m, LAM_LOSS_MSE, 4, gelu_opts);
        lam_model_free(m);
        /* An Activation layer after a Dense: z of both signs. */
        m = model_with_input(2, (int64_t[]){3, 4});
        CHECK_OK(lam_model_add_dense(m, 4, LAM_ACT_LINEAR));
        lam_layer_spec act = lam_layer_defaults(LAM_LAYER_ACTIVATION);
        act.activation = acts[a];
        CHECK_OK(lam_model_add(m, &act));
        snprintf(name, sizeof name, "Activation(%s) on (3, 4)", lam_activation_name(acts[a]));
        gradcheck(name, m, LAM_LOSS_MSE, 3, gelu_opts);
        lam_model_free(m);
        /* Conv2D keeps its pre-activations on its own path (not fused). */
        m = model_with_input(3, (int64_t[]){5, 5, 2});
        CHECK_OK(lam_model_add_conv2d(m, 3, 3, 3, acts[a]));
        snprintf(name, sizeof name, "Conv2D(3, 3x3, %s)", lam_activation_name(acts[a]));
        gradcheck(name, m, LAM_LOSS_MSE, 2, gelu_opts);
        lam_model_free(m);
    }
}

/* GELU through an Activation layer against Keras on 64 fixed points. */
static void gelu_parity(void)
{
    long nx = 0, ne = 0, nt = 0;
    float *x = fixture_load("embedding/gelu_x.npy", &nx);
    float *ge = fixture_load("embedding/gelu_exact.npy", &ne);
    float *gt = fixture_load("embedding/gelu_tanh.npy", &nt);
    CHECK(x && ge && gt && nx == ne && nx == nt, "GELU fixtures missing");
    if (!(x && ge && gt && nx == ne && nx == nt)) return;
    const lam_activation acts[2] = {LAM_ACT_GELU, LAM_ACT_GELU_TANH};
    const float *want[2] = {ge, gt};
    for (int a = 0; a < 2; a++) {
        lam_model *m = model_with_input(1, (int64_t[]){nx});
        lam_layer_spec act = lam_layer_defaults(LAM_LAYER_ACTIVATION);
        act.activation = acts[a];
        CHECK_OK(lam_model_add(m, &act));
        lam_optimizer sgd = lam_sgd();
        CHECK_OK(lam_model_compile(m, &sgd, LAM_LOSS_MSE));
        CHECK_OK(lam_model_plan(m, 1));
        memcpy(lam_model_input_buffer(m, 0), x, sizeof(float) * (size_t)nx);
        CHECK_OK(lam_forward(m, 1, LAM_MODE_INFER));
        const float *y = lam_model_output(m, 0);
        double worst = 0;
        for (long i = 0; i < nx; i++) {
            double d = fabs((double)y[i] - want[a][i]);
            if (d > worst) worst = d;
        }
        CHECK(worst <= 1e-5, "%s: max |lamina - Keras| = %g", lam_activation_name(acts[a]), worst);
        lam_model_free(m);
    }
    free(x);
    free(ge);
    free(gt);
}

/* The names Keras reads and writes, and lamina's own for the tanh form. */
static void gelu_names(void)
{
    lam_activation a = LAM_ACT_LINEAR;
    CHECK_OK(lam_activation_parse("gelu", &a));
    CHECK(a == LAM_ACT_GELU, "\"gelu\" is the exact form (Keras's approximate=False)");
    CHECK_OK(lam_activation_parse("gelu_tanh", &a));
    CHECK(a == LAM_ACT_GELU_TANH, "\"gelu_tanh\" parses to the tanh form");
    CHECK(strcmp(lam_activation_name(LAM_ACT_GELU), "gelu") == 0, "GELU writes as \"gelu\"");
}

/* Embedding's gradient w.r.t. its table by central differences, with the
 * ids held fixed (they are not differentiable); ids repeat, so rows sum. */
static void embedding_gradients(void)
{
    lam_model *m = lam_model_new("emb_grad");
    lam_model_set_seed(m, 5);
    int in, e, f, d;
    CHECK_OK(lam_model_input(m, "ids", 1, (int64_t[]){6}, &in));
    lam_layer_spec es = embedding_spec(7, 3);
    CHECK_OK(lam_model_call(m, &es, 1, &in, &e));
    lam_layer_spec fl = lam_layer_defaults(LAM_LAYER_FLATTEN);
    CHECK_OK(lam_model_call(m, &fl, 1, &e, &f));
    lam_layer_spec ds = lam_layer_defaults(LAM_LAYER_DENSE);
    ds.units = 2;
    ds.activation = LAM_ACT_TANH;
    CHECK_OK(lam_model_call(m, &ds, 1, &f, &d));
    CHECK_OK(lam_model_set_outputs(m, 1, &d));
    lam_optimizer sgd = lam_sgd();
    CHECK_OK(lam_model_compile(m, &sgd, LAM_LOSS_MSE));
    const int batch = 2;
    CHECK_OK(lam_model_plan(m, batch));
    /* Row 4 is never named and 2 is named three times; 9 and -2 are out of range. */
    const float ids[12] = {2, 0, 2, 5, 1, 9, 3, 2, 6, -2, 0, 1};
    memcpy(lam_model_input_buffer(m, 0), ids, sizeof ids);
    float values[4] = {0.3f, -0.2f, 0.1f, 0.5f};
    targets[0] = (lam_target){NULL, values, NULL};
    lam_batch_metrics bm;
    CHECK_OK(lam_forward(m, batch, LAM_MODE_TRAIN));
    const float *emb_out = m->nodes[e].value;
    for (int j = 0; j < 3; j++) {
        CHECK(emb_out[5 * 3 + j] == 0.0f && emb_out[(6 + 3) * 3 + j] == 0.0f,
              "an out-of-range id gives a zero row");
        CHECK(emb_out[0 * 3 + j] == lam_model_params(m)[2 * 3 + j], "id 2 gathers row 2");
    }
    CHECK_OK(lam_loss_eval(m, batch, targets, true, &bm));
    CHECK_OK(lam_backward(m, batch, true));
    const float *dx = lam_model_input_grad(m, 0);
    bool zero = true;
    for (int i = 0; i < 12; i++) zero &= dx[i] == 0.0f;
    CHECK(zero, "the ids' gradient is zero");
    float *table = lam_model_params(m); /* Embedding comes first */
    float *g = malloc(sizeof(float) * 21);
    memcpy(g, lam_model_grads(m), sizeof(float) * 21);
    double worst = 0;
    for (int i = 0; i < 21; i++) {
        double num = numeric(m, batch, &table[i], 1e-2f);
        double r = rel_err(g[i], num);
        if (r > worst) worst = r;
    }
    CHECK(worst <= 1e-3, "Embedding table gradient: worst relative error %g", worst);
    for (int j = 0; j < 3; j++) CHECK(g[4 * 3 + j] == 0.0f, "row 4, never named, has no gradient");
    bool moved = false;
    for (int j = 0; j < 3; j++) moved |= g[2 * 3 + j] != 0.0f;
    CHECK(moved, "row 2 has a gradient");
    free(g);
    lam_model_free(m);
}

/* A repeated id adds its rows' gradients: Embedding as the output, its
 * output gradient written by hand. */
static void embedding_accumulates(void)
{
    lam_model *m = lam_model_new("emb_acc");
    int in, e;
    CHECK_OK(lam_model_input(m, "ids", 1, (int64_t[]){3}, &in));
    lam_layer_spec es = embedding_spec(4, 2);
    CHECK_OK(lam_model_call(m, &es, 1, &in, &e));
    CHECK_OK(lam_model_set_outputs(m, 1, &e));
    lam_optimizer sgd = lam_sgd();
    CHECK_OK(lam_model_compile(m, &sgd, LAM_LOSS_MSE));
    CHECK_OK(lam_model_plan(m, 2));
    /* Batch of 2: id 1 three times, id 3 once, id 3.7 truncates to 3, 0.5 to 0. */
    const float ids[6] = {1, 1, 3, 1, 3.7f, 0.5f};
    memcpy(lam_model_input_buffer(m, 0), ids, sizeof ids);
    CHECK_OK(lam_forward(m, 2, LAM_MODE_TRAIN));
    const float *y = lam_model_output(m, 0), *t = lam_model_params(m);
    CHECK(y[4 * 2] == t[3 * 2] && y[5 * 2 + 1] == t[0 * 2 + 1], "fractional ids truncate");
    float *dy = lam_model_output_grad(m, 0);
    for (int i = 0; i < 12; i++) dy[i] = (float)(i + 1);
    CHECK_OK(lam_backward(m, 2, false));
    const float *g = lam_model_grads(m);
    /* id 1 at positions 0, 1, 3; id 3 at 2, 4; id 0 at 5; id 2 nowhere. */
    CHECK(g[1 * 2] == 1 + 3 + 7 && g[1 * 2 + 1] == 2 + 4 + 8, "id 1 sums three rows: %g %g",
          g[2], g[3]);
    CHECK(g[3 * 2] == 5 + 9 && g[3 * 2 + 1] == 6 + 10, "id 3 sums two rows");
    CHECK(g[0] == 11 && g[1] == 12, "id 0 gets one row");
    CHECK(g[2 * 2] == 0 && g[2 * 2 + 1] == 0, "id 2 gets nothing (written, not left over)");
    /* A second backward writes again rather than adding to the first. */
    CHECK_OK(lam_backward(m, 2, false));
    CHECK(g[2] == 11, "backward writes its gradient: %g", g[2]);
    lam_model_free(m);
}

/* Forward against Keras with the fixture's table, ids (2, 5). */
static void embedding_parity(void)
{
    long ni = 0, nt = 0, no = 0;
    float *ids = fixture_load("embedding/emb_ids.npy", &ni);
    float *table = fixture_load("embedding/emb_table.npy", &nt);
    float *out = fixture_load("embedding/emb_out.npy", &no);
    CHECK(ids && table && out && ni == 10 && nt == 44 && no == 40, "Embedding fixtures");
    if (ids && table && out && ni == 10 && nt == 44 && no == 40) {
        lam_model *m = lam_model_new("emb_parity");
        int in, e;
        CHECK_OK(lam_model_input(m, "ids", 1, (int64_t[]){5}, &in));
        lam_layer_spec es = embedding_spec(11, 4);
        CHECK_OK(lam_model_call(m, &es, 1, &in, &e));
        CHECK_OK(lam_model_set_outputs(m, 1, &e));
        CHECK(lam_model_param_count(m) == 11 * 4, "params %lld, Keras 44",
              (long long)lam_model_param_count(m));
        lam_optimizer sgd = lam_sgd();
        CHECK_OK(lam_model_compile(m, &sgd, LAM_LOSS_MSE));
        memcpy(lam_model_params(m), table, sizeof(float) * 44);
        CHECK_OK(lam_model_plan(m, 2));
        memcpy(lam_model_input_buffer(m, 0), ids, sizeof(float) * 10);
        CHECK_OK(lam_forward(m, 2, LAM_MODE_INFER));
        const float *y = lam_model_output(m, 0);
        double worst = 0;
        for (int i = 0; i < 40; i++) worst = fmax(worst, fabs((double)y[i] - out[i]));
        CHECK(worst <= 1e-6, "Embedding: max |lamina - Keras| = %g", worst);
        lam_model_free(m);
    }
    free(ids);
    free(table);
    free(out);
}

static lam_model *classifier(void)
{
    lam_model *m = lam_model_new("text");
    lam_model_set_seed(m, 3);
    int in, e, p, d;
    CHECK_OK(lam_model_input(m, "tokens", 1, (int64_t[]){5}, &in));
    lam_layer_spec es = embedding_spec(50, 8);
    CHECK_OK(lam_model_call(m, &es, 1, &in, &e));
    lam_layer_spec gp = lam_layer_defaults(LAM_LAYER_GLOBAL_AVGPOOL1D);
    CHECK_OK(lam_model_call(m, &gp, 1, &e, &p));
    lam_layer_spec ds = lam_layer_defaults(LAM_LAYER_DENSE);
    ds.units = 3;
    ds.activation = LAM_ACT_SOFTMAX;
    CHECK_OK(lam_model_call(m, &ds, 1, &p, &d));
    CHECK_OK(lam_model_set_outputs(m, 1, &d));
    return m;
}

/* lamina's JSON reads back the same; Keras's JSON of the same model loads
 * with Keras's parameter count. */
static void embedding_json(void)
{
    lam_model *m = classifier();
    CHECK(lam_model_param_count(m) == 50 * 8 + 8 * 3 + 3, "params %lld",
          (long long)lam_model_param_count(m));
    char *text = NULL, *back = NULL;
    CHECK_OK(lam_model_to_json(m, &text));
    lam_model *r = NULL;
    if (text) CHECK_OK(lam_model_from_json(text, "round trip", &r));
    if (r) {
        const lam_layer_spec *s = lam_model_layer(r, 1);
        CHECK(s->kind == LAM_LAYER_EMBEDDING && s->input_dim == 50 && s->units == 8,
              "Embedding(50, 8) reads back");
        CHECK(lam_model_param_count(r) == lam_model_param_count(m), "same parameter count");
        CHECK_OK(lam_model_to_json(r, &back));
        CHECK(back && strcmp(text, back) == 0, "to_json is a fixed point");
        CHECK(strstr(text, "\"input_dim\":50") && strstr(text, "\"output_dim\":8") &&
                  strstr(text, "\"mask_zero\":false") && strstr(text, "\"RandomUniform\""),
              "Keras's Embedding keys are written: %s", text);
    }
    free(text);
    free(back);
    lam_model_free(r);
    lam_model_free(m);

    long np = 0;
    float *want = fixture_load("embedding/classifier_params.npy", &np);
    r = NULL;
    CHECK_OK(lam_model_from_json_file("fixtures/embedding/embedding_classifier_keras3.json", &r));
    if (r && want) CHECK(lam_model_param_count(r) == (int64_t)want[0], "Keras JSON: %lld params, "
                         "Keras %g", (long long)lam_model_param_count(r), (double)want[0]);
    free(want);
    lam_model_free(r);
}

/* Each class is a set of token ids; a few epochs must lower the loss. */
static void embedding_fit(void)
{
    lam_model *m = classifier();
    lam_optimizer adam = lam_adam();
    adam.learning_rate = 0.05f;
    CHECK_OK(lam_model_compile(m, &adam, LAM_LOSS_SPARSE_CATEGORICAL_CE));
    const int n = 96;
    lam_dataset *ds = NULL;
    CHECK_OK(lam_dataset_create(&ds, LAM_F32, n, 1, (int64_t[]){5}, true, 0));
    if (!ds) return;
    float *x = lam_dataset_x(ds);
    int32_t *y = lam_dataset_labels(ds);
    for (int i = 0; i < n; i++) {
        y[i] = i % 3;
        for (int k = 0; k < 5; k++) x[i * 5 + k] = (float)(y[i] * 16 + (int)(test_rnd() % 16));
    }
    lam_fit_options fo = lam_fit_defaults();
    fo.epochs = 8;
    fo.batch_size = 16;
    fo.verbose = 0;
    lam_history *h = NULL;
    CHECK_OK(lam_fit(m, ds, &fo, &h));
    if (h && h->epochs == 8)
        CHECK(h->log[7].loss < 0.5 * h->log[0].loss && h->log[7].accuracy > 0.9,
              "loss %g -> %g, accuracy %g", h->log[0].loss, h->log[7].loss, h->log[7].accuracy);
    else CHECK(false, "fit ran %d epochs", h ? h->epochs : -1);
    lam_history_free(h);
    lam_dataset_free(ds);
    lam_model_free(m);
}

static void embedding_errors(void)
{
    lam_model *m = lam_model_new("errs");
    int in, in4, out;
    CHECK_OK(lam_model_input(m, "ids", 1, (int64_t[]){5}, &in));
    CHECK_OK(lam_model_input(m, "cube", 4, (int64_t[]){2, 2, 2, 2}, &in4));
    lam_layer_spec es = embedding_spec(0, 4);
    snprintf(es.name, sizeof es.name, "vocab");
    CHECK_FAILS(lam_model_call(m, &es, 1, &in, &out), LAM_ERR_ARG,
                "layer \"vocab\" (Embedding): input_dim is 0");
    es = embedding_spec(10, 4);
    snprintf(es.name, sizeof es.name, "deep");
    CHECK_FAILS(lam_model_call(m, &es, 1, &in4, &out), LAM_ERR_UNSUPPORTED,
                "layer \"deep\" (Embedding): input shape (2, 2, 2, 2) gives an output of rank 5");
    lam_model_free(m);

    const char *json =
        "{\"class_name\":\"Sequential\",\"config\":{\"name\":\"s\",\"layers\":["
        "{\"class_name\":\"InputLayer\",\"config\":{\"name\":\"in\",\"batch_shape\":[null,5]}},"
        "{\"class_name\":\"Embedding\",\"config\":{\"name\":\"tok\",\"input_dim\":10,"
        "\"output_dim\":4,\"mask_zero\":true}}]}}";
    /* mask_zero reads (masks: tests/test_position_mask.c); a number is no bool. */
    lam_model *r = NULL;
    CHECK_OK(lam_model_from_json(json, "masked", &r));
    CHECK(r && lam_model_layer(r, 1)->mask_zero, "mask_zero read");
    lam_model_free(r);
    r = NULL;
    const char *json_num =
        "{\"class_name\":\"Sequential\",\"config\":{\"name\":\"s\",\"layers\":["
        "{\"class_name\":\"InputLayer\",\"config\":{\"name\":\"in\",\"batch_shape\":[null,5]}},"
        "{\"class_name\":\"Embedding\",\"config\":{\"name\":\"tok\",\"input_dim\":10,"
        "\"output_dim\":4,\"mask_zero\":1}}]}}";
    CHECK_FAILS(lam_model_from_json(json_num, "masked", &r), LAM_ERR_FORMAT, "\"tok\"");
    CHECK(strstr(lam_last_error(), "mask_zero") != NULL, "names the key: %s", lam_last_error());
    lam_model_free(r);
    r = NULL;
    const char *json2 =
        "{\"class_name\":\"Sequential\",\"config\":{\"name\":\"s\",\"layers\":["
        "{\"class_name\":\"InputLayer\",\"config\":{\"name\":\"in\",\"batch_shape\":[null,5]}},"
        "{\"class_name\":\"Embedding\",\"config\":{\"name\":\"tok\",\"input_dim\":10,"
        "\"output_dim\":4,\"embeddings_initializer\":\"glorot_uniform\"}}]}}";
    CHECK_FAILS(lam_model_from_json(json2, "init", &r), LAM_ERR_UNSUPPORTED,
                "embeddings_initializer");
    lam_model_free(r);
}

/* The exact GELU kernel against x * erfc(-x / sqrt 2) / 2 in double over
 * [-12, 12], relative error: the vectorised erfc keeps ~2e-7 even in the
 * negative tail, where GELU is tiny; its derivative likewise. */
static void gelu_kernel_accuracy(void)
{
    enum { N = 24001 };
    float *y = malloc(sizeof(float) * N), *z = malloc(sizeof(float) * N);
    float *dy = malloc(sizeof(float) * N);
    if (!y || !z || !dy) return;
    for (int i = 0; i < N; i++) {
        z[i] = y[i] = -12.0f + 24.0f * (float)i / (N - 1);
        dy[i] = 1.0f;
    }
    lam_bias_act_forward(LAM_ACT_GELU, y, NULL, NULL, 1, N);
    lam_act_backward_preact(LAM_ACT_GELU, z, dy, 1, N);
    /* Float's own limit: z^2 = x^2 / 2 rounds by ~1e-7 relative, which moves
     * exp(-z^2) by ~1e-7 * z^2, so the bound grows with x^2 in the tail. The
     * derivative crosses 0 near x = -0.75: it is held to an absolute bound there. */
    double worst = 0, worst_d = 0;
    for (int i = 0; i < N; i++) {
        const double x = z[i], cdf = 0.5 * erfc(-x / sqrt(2.0));
        const double want = x * cdf, dwant = cdf + x * exp(-0.5 * x * x) / sqrt(2 * M_PI);
        const double scale = 1 + 0.5 * x * x;
        if (fabs(want) > 1e-30) {
            const double r = fabs(y[i] - want) / (fabs(want) * scale);
            if (r > worst) worst = r;
        }
        const double e = fabs(dy[i] - dwant) / ((1 + fabs(dwant)) * scale);
        if (e > worst_d) worst_d = e;
    }
    CHECK(worst < 4e-7, "GELU kernel: relative error / (1 + x^2/2) up to %g against double",
          worst);
    CHECK(worst_d < 4e-7, "GELU derivative: error / ((1 + |d|)(1 + x^2/2)) up to %g", worst_d);
    printf("GELU kernel on [-12, 12]: relative error %.2e (value), %.2e (derivative)\n", worst,
           worst_d);
    free(y);
    free(z);
    free(dy);
}

int main(void)
{
    gelu_kernel_accuracy();
    gelu_names();
    gelu_gradients();
    gelu_parity();
    embedding_gradients();
    embedding_accumulates();
    embedding_parity();
    embedding_json();
    embedding_fit();
    embedding_errors();
    return test_summary("test_embedding_gelu");
}
