/* test_normalization_layer.c - Keras's Normalization layer and feature
 * scaling: adapt and forward against Keras 3 (tests/make_normalization_fixtures.py),
 * the statistics kernel against its naive reference, min-max scaling and
 * constant features as scikit-learn, finite-difference gradients, the model
 * file and Keras JSON both ways, putting a Normalization in front of a model,
 * and the errors. */
#include "fixture.h"
#include "gradcheck.h"
#include "kernels/scaling.h"

#include <string.h>
#include <unistd.h>

/* A float data set holding n samples of shape (no labels needed to adapt). */
static lam_dataset *dataset_of(const float *x, int64_t n, int rank, const int64_t *shape)
{
    lam_dataset *ds = NULL;
    CHECK_OK(lam_dataset_create(&ds, LAM_F32, n, rank, shape, true, 0));
    if (ds) memcpy(lam_dataset_x(ds), x, sizeof(float) * (size_t)(n * lam_dataset_sample_size(ds)));
    return ds;
}

/* Input(shape) -> Normalization(axis, invert), compiled. */
static lam_model *norm_model(int rank, const int64_t *shape, int axis, bool invert)
{
    lam_model *m = lam_sequential("norm");
    CHECK_OK(lam_model_add_input(m, rank, shape));
    lam_layer_spec s = lam_layer_defaults(LAM_LAYER_NORMALIZATION);
    s.axis = axis;
    s.invert = invert;
    CHECK_OK(lam_model_add(m, &s));
    lam_optimizer sgd = lam_sgd();
    CHECK_OK(lam_model_compile(m, &sgd, LAM_LOSS_MSE));
    return m;
}

static double worst_stat, worst_out;

/* Keras's adapt and call on fixture `name` (n samples of shape). */
static void check_keras(const char *name, int64_t n, int rank, const int64_t *shape, int axis,
                        bool invert)
{
    char f[64];
    long nx, nm, nv, ny;
    snprintf(f, sizeof f, "normalization/%s_x.npy", name);
    float *x = fixture_load(f, &nx);
    snprintf(f, sizeof f, "normalization/%s_mean.npy", name);
    float *mean = fixture_load(f, &nm);
    snprintf(f, sizeof f, "normalization/%s_variance.npy", name);
    float *var = fixture_load(f, &nv);
    snprintf(f, sizeof f, "normalization/%s_y.npy", name);
    float *y = fixture_load(f, &ny);
    CHECK(x && mean && var && y, "%s: fixtures missing", name);
    if (!x || !mean || !var || !y) return;
    lam_model *m = norm_model(rank, shape, axis, invert);
    lam_dataset *ds = dataset_of(x, n, rank, shape);
    CHECK(nx == n * lam_dataset_sample_size(ds), "%s: %ld values", name, nx);
    CHECK_OK(lam_model_adapt_normalization(m, 1, ds, LAM_SCALING_STANDARD));
    lam_tensor_info tm, tv;
    CHECK_OK(lam_model_tensor(m, 0, &tm));
    CHECK_OK(lam_model_tensor(m, 1, &tv));
    CHECK(tm.count == nm && tv.count == nv && !tm.trainable && !tv.trainable,
          "%s: %lld and %lld statistics, Keras %ld and %ld", name, (long long)tm.count,
          (long long)tv.count, nm, nv);
    CHECK(strstr(tm.name, "/mean") && strstr(tv.name, "/variance"), "%s: named %s, %s", name,
          tm.name, tv.name);
    for (long c = 0; c < nm && c < tm.count; c++) {
        const double em = fabs(tm.data[c] - mean[c]) / fmax(1.0, fabs(mean[c]));
        const double ev = fabs(tv.data[c] - var[c]) / fmax(1.0, fabs(var[c]));
        worst_stat = fmax(worst_stat, fmax(em, ev));
        CHECK(em <= 1e-6 && ev <= 1e-5, "%s: feature %ld: mean %.9g vs Keras %.9g, variance "
              "%.9g vs %.9g", name, c, tm.data[c], mean[c], tv.data[c], var[c]);
    }
    /* The forward on Keras's statistics: adapt above sums in double, Keras in float32
     * (numpy's mean of a float32 array), which moves a mean of 13 with a standard
     * deviation of 0.1 by an ulp, 1e-5 of an output. */
    memcpy(tm.data, mean, sizeof(float) * (size_t)nm);
    memcpy(tv.data, var, sizeof(float) * (size_t)nv);
    float *out = malloc(sizeof(float) * (size_t)ny);
    CHECK_OK(lam_predict_raw(m, x, n, out));
    for (long i = 0; i < ny; i++) {
        const double e = fabs(out[i] - y[i]) / fmax(1.0, fabs(y[i]));
        worst_out = fmax(worst_out, e);
        if (e > 1e-5) {
            CHECK(e <= 1e-5, "%s: output %ld: %.9g vs Keras %.9g", name, i, out[i], y[i]);
            break;
        }
    }
    printf("%-10s Keras parity: %ld statistics, %ld outputs\n", name, nm + nv, ny);
    free(out);
    lam_dataset_free(ds);
    lam_model_free(m);
    free(x);
    free(mean);
    free(var);
    free(y);
}

/* The chunked statistics (three pieces merged) against one naive pass, on an
 * (outer, C, inner) tensor with a middle axis, and the scaling rules. */
static void check_stats_kernel(void)
{
    const lam_norm_shape all = {30, 4, 5};
    const int64_t total = all.outer * all.C * all.inner;
    float *x = malloc(sizeof(float) * (size_t)total);
    for (int64_t i = 0; i < total; i++) x[i] = 1000.0f + 50.0f * test_rndf();
    double mean[4], m2[4], mn[4], mx[4], scratch[8], nm[4], nv[4], nmin[4], nmax[4];
    lam_feature_stats st = {4, 0, mean, m2, mn, mx};
    lam_feature_stats_reset(&st);
    const int64_t cuts[] = {0, 7, 8, 30}; /* uneven pieces, one of a single row */
    for (int k = 0; k < 3; k++) {
        const lam_norm_shape s = {cuts[k + 1] - cuts[k], 4, 5};
        lam_feature_stats_add(&st, &s, x + cuts[k] * 4 * 5, scratch);
    }
    lam_feature_stats_naive(&all, x, nm, nv, nmin, nmax);
    CHECK(st.count == 150.0, "count %g", st.count);
    for (int c = 0; c < 4; c++) {
        CHECK(fabs(mean[c] - nm[c]) <= 1e-9 * fabs(nm[c]), "mean %d: %.15g vs %.15g", c,
              mean[c], nm[c]);
        CHECK(fabs(m2[c] / 150.0 - nv[c]) <= 1e-9 * nv[c], "variance %d: %.15g vs %.15g", c,
              m2[c] / 150.0, nv[c]);
        CHECK(mn[c] == nmin[c] && mx[c] == nmax[c], "min/max %d", c);
    }
    double off[4], sc[4];
    lam_feature_stats_scaling(&st, false, off, sc);
    CHECK_NEAR(sc[2], sqrt(nv[2]), 1e-9 * sqrt(nv[2]));
    lam_feature_stats_scaling(&st, true, off, sc);
    CHECK(off[1] == nmin[1] && sc[1] == nmax[1] - nmin[1], "minmax: %g %g", off[1], sc[1]);
    free(x);
}

/* Min-max scaling gives [0, 1] on the training data; a constant feature keeps
 * scale 1 (scikit-learn), so it is shifted to 0 and a new value v lands at
 * v - constant, not at (v - c) / 1e-7 as with Keras's zero variance. */
static void check_minmax_and_constant(void)
{
    const int64_t shape[1] = {3};
    const float x[] = {1, 5, -2, 3, 5, 8, 2, 5, 3, 0, 5, 18}; /* feature 1 constant */
    for (int how = LAM_SCALING_STANDARD; how <= LAM_SCALING_MINMAX; how++) {
        lam_model *m = norm_model(1, shape, -1, false);
        lam_dataset *ds = dataset_of(x, 4, 1, shape);
        CHECK_OK(lam_model_adapt_normalization(m, 1, ds, (lam_scaling)how));
        float y[12];
        CHECK_OK(lam_predict_raw(m, x, 4, y));
        for (int i = 0; i < 4; i++) CHECK(y[3 * i + 1] == 0.0f, "constant feature -> %g", y[3 * i + 1]);
        const float fresh[3] = {2, 7, 3};
        float yf[3];
        CHECK_OK(lam_predict_raw(m, fresh, 1, yf));
        CHECK_NEAR(yf[1], 2.0, 1e-6);
        if (how == LAM_SCALING_MINMAX) {
            const float want0[] = {1.0f / 3, 1.0f, 2.0f / 3, 0.0f}, want2[] = {0, 0.5f, 0.25f, 1};
            for (int i = 0; i < 4; i++) {
                CHECK_NEAR(y[3 * i], want0[i], 1e-6);
                CHECK_NEAR(y[3 * i + 2], want2[i], 1e-6);
            }
        } else {
            double s = 0, s2 = 0;
            for (int i = 0; i < 4; i++) s += y[3 * i + 2], s2 += y[3 * i + 2] * y[3 * i + 2];
            CHECK_NEAR(s / 4, 0.0, 1e-6);
            CHECK_NEAR(s2 / 4, 1.0, 1e-5);
        }
        lam_dataset_free(ds);
        lam_model_free(m);
    }
}

/* Gradients through the map with non-trivial statistics (set after compile:
 * gradcheck's own compile keeps the weights), a middle axis and invert. */
static void check_gradients(void)
{
    for (int invert = 0; invert < 2; invert++) {
        lam_model *m = model_with_input(3, (int64_t[]){2, 3, 2});
        lam_layer_spec s = lam_layer_defaults(LAM_LAYER_NORMALIZATION);
        s.axis = 2;
        s.invert = invert;
        CHECK_OK(lam_model_add(m, &s));
        CHECK_OK(lam_model_add_flatten(m));
        CHECK_OK(lam_model_add_dense(m, 3, LAM_ACT_LINEAR));
        lam_optimizer sgd = lam_sgd();
        CHECK_OK(lam_model_compile(m, &sgd, LAM_LOSS_MSE));
        lam_tensor_info mean, var;
        CHECK_OK(lam_model_tensor(m, 0, &mean));
        CHECK_OK(lam_model_tensor(m, 1, &var));
        CHECK(mean.count == 3 && var.count == 3, "statistics per axis-2 index: %lld",
              (long long)mean.count);
        const float mv[] = {0.5f, -1.0f, 2.0f}, vv[] = {4.0f, 0.25f, 2.25f};
        memcpy(mean.data, mv, sizeof mv);
        memcpy(var.data, vv, sizeof vv);
        gradcheck(invert ? "Normalization(axis=2, invert)" : "Normalization(axis=2)", m,
                  LAM_LOSS_MSE, 3, smooth);
        CHECK(lam_model_param_count(m) == 3 * 12 + 3, "Normalization has no trainable weights");
        lam_model_free(m);
    }
}

/* Saved and loaded with the model (the statistics are non-trainable weights),
 * to Keras JSON and back, and Keras's own JSON read. */
static void check_files(void)
{
    const int64_t shape[1] = {6};
    long nx;
    float *x = fixture_load("normalization/tabular_x.npy", &nx);
    if (!x) return;
    lam_model *m = lam_sequential("saved");
    CHECK_OK(lam_model_add_input(m, 1, shape));
    CHECK_OK(lam_model_add_normalization(m, -1));
    CHECK_OK(lam_model_add_dense(m, 2, LAM_ACT_SOFTMAX));
    lam_optimizer adam = lam_adam();
    CHECK_OK(lam_model_compile(m, &adam, LAM_LOSS_SPARSE_CATEGORICAL_CE));
    lam_dataset *ds = dataset_of(x, 40, 1, shape);
    CHECK_OK(lam_model_adapt_normalization(m, 1, ds, LAM_SCALING_MINMAX));
    float a[80], b[80];
    CHECK_OK(lam_predict_raw(m, x, 40, a));
    char path[] = "/tmp/lamina-norm-XXXXXX";
    int fd = mkstemp(path);
    if (fd >= 0) close(fd);
    CHECK_OK(lam_model_save(m, path));
    lam_model *back = NULL;
    CHECK_OK(lam_model_load(path, &back));
    unlink(path);
    if (back) {
        CHECK(lam_model_layer(back, 1)->kind == LAM_LAYER_NORMALIZATION, "kind after load");
        CHECK_OK(lam_predict_raw(back, x, 40, b));
        CHECK(memcmp(a, b, sizeof a) == 0, "predictions differ after save and load");
        lam_model_free(back);
    }
    char *json = NULL;
    CHECK_OK(lam_model_to_json(m, &json));
    CHECK(json && strstr(json, "\"class_name\":\"Normalization\"") &&
              strstr(json, "\"axis\":[-1]") && strstr(json, "\"mean\":null"),
          "JSON: %.400s", json ? json : "");
    lam_model *j = NULL;
    CHECK_OK(lam_model_from_json(json, "written", &j));
    CHECK(j && lam_model_layer(j, 1)->kind == LAM_LAYER_NORMALIZATION && !lam_model_layer(j, 1)->invert,
          "read back");
    lam_model_free(j);
    free(json);
    /* Keras's own. */
    j = NULL;
    CHECK_OK(lam_model_from_json_file("fixtures/normalization/model.json", &j));
    CHECK(j && lam_model_num_layers(j) == 3 &&
              lam_model_layer(j, 1)->kind == LAM_LAYER_NORMALIZATION &&
              lam_model_layer(j, 1)->axis == -1, "Keras's model.json");
    lam_model_free(j);
    /* Statistics in the config are refused with the reason. */
    CHECK_FAILS(lam_model_from_json("{\"class_name\":\"Sequential\",\"config\":{\"layers\":["
                                    "{\"class_name\":\"InputLayer\",\"config\":{\"batch_shape\":"
                                    "[null,2]}},{\"class_name\":\"Normalization\",\"config\":{"
                                    "\"axis\":[-1],\"mean\":[1,2],\"variance\":[1,1]}}]}}",
                                    "inline", &j),
                LAM_ERR_UNSUPPORTED, "adapting it");
    lam_dataset_free(ds);
    lam_model_free(m);
    free(x);
}

/* A Normalization in front of a functional model with a shared layer and two
 * outputs: the same layers, names and wiring, the input read through it. */
static void check_prepend(void)
{
    lam_model *m = lam_model_new("two_heads");
    int in, h, h2, y1, y2;
    CHECK_OK(lam_model_input(m, "features", 1, (int64_t[]){4}, &in));
    lam_layer_spec d = lam_layer_defaults(LAM_LAYER_DENSE);
    d.units = 4;
    CHECK_OK(lam_model_call(m, &d, 1, &in, &h));
    CHECK_OK(lam_model_call_shared(m, h, 1, &h, &h2));
    d.units = 2;
    CHECK_OK(lam_model_call(m, &d, 1, &h2, &y1));
    CHECK_OK(lam_model_call(m, &d, 1, &in, &y2));
    CHECK_OK(lam_model_set_outputs(m, 2, (int[]){y2, y1}));
    lam_model *p = NULL;
    int layer = -1;
    CHECK_OK(lam_model_prepend_normalization(m, &p, &layer));
    if (!p) return;
    CHECK(layer == 1 && lam_model_layer(p, 1)->kind == LAM_LAYER_NORMALIZATION, "layer %d", layer);
    CHECK(lam_model_num_layers(p) == lam_model_num_layers(m) + 1, "%d layers",
          lam_model_num_layers(p));
    int ids[4];
    CHECK(lam_model_node_inputs(p, lam_model_output_id(p, 0), 4, ids) == 1 && ids[0] == 1,
          "output 0 reads the Normalization");
    CHECK(lam_model_node_owner(p, 3) == 2, "shared call kept");
    CHECK(!strcmp(lam_model_layer(p, lam_model_output_id(p, 1))->name,
                  lam_model_layer(m, y1)->name), "names kept");
    CHECK(lam_model_param_count(p) == lam_model_param_count(m), "same weights");
    lam_model_free(p);
    /* Token ids are not scaled. */
    lam_model *e = lam_sequential("ids");
    CHECK_OK(lam_model_add_input(e, 1, (int64_t[]){5}));
    lam_layer_spec emb = lam_layer_defaults(LAM_LAYER_EMBEDDING);
    emb.input_dim = 10;
    emb.units = 2;
    CHECK_OK(lam_model_add(e, &emb));
    CHECK_FAILS(lam_model_prepend_normalization(e, &p, NULL), LAM_ERR_UNSUPPORTED, "Embedding");
    lam_model_free(e);
    lam_model_free(m);
}

static void check_errors(void)
{
    const int64_t shape[1] = {3};
    lam_model *m = lam_sequential("errors");
    CHECK_OK(lam_model_add_input(m, 1, shape));
    CHECK_FAILS(lam_model_add_normalization(m, 2), LAM_ERR_ARG, "axis 2");
    CHECK_OK(lam_model_add_normalization(m, -1));
    CHECK_OK(lam_model_add_dense(m, 2, LAM_ACT_LINEAR));
    CHECK_OK(lam_model_add_normalization(m, -1));
    const float x[6] = {1, 2, 3, 4, 5, 6};
    lam_dataset *ds = dataset_of(x, 2, 1, shape);
    CHECK_FAILS(lam_model_adapt_normalization(m, 1, ds, LAM_SCALING_STANDARD), LAM_ERR_STATE,
                "compile");
    lam_optimizer sgd = lam_sgd();
    CHECK_OK(lam_model_compile(m, &sgd, LAM_LOSS_MSE));
    CHECK_FAILS(lam_model_adapt_normalization(m, 2, ds, LAM_SCALING_STANDARD), LAM_ERR_ARG,
                "not a Normalization");
    CHECK_FAILS(lam_model_adapt_normalization(m, 3, ds, LAM_SCALING_STANDARD),
                LAM_ERR_UNSUPPORTED, "reads a model input");
    CHECK_FAILS(lam_model_adapt_normalization(m, 1, ds, LAM_SCALING_NONE), LAM_ERR_ARG,
                "expected LAM_SCALING_STANDARD");
    lam_dataset *wrong = dataset_of(x, 3, 1, (int64_t[]){2});
    CHECK_FAILS(lam_model_adapt_normalization(m, 1, wrong, LAM_SCALING_STANDARD), LAM_ERR_SHAPE,
                "samples have 2 values");
    lam_dataset_free(wrong);
    lam_dataset_free(ds);
    lam_model_free(m);
}

int main(void)
{
    check_keras("tabular", 40, 1, (int64_t[]){6}, -1, false);
    check_keras("image", 8, 3, (int64_t[]){5, 4, 3}, -1, false);
    check_keras("steps", 10, 2, (int64_t[]){4, 3}, 1, false);
    check_keras("invert", 40, 1, (int64_t[]){6}, -1, true);
    printf("worst relative difference from Keras: statistics %.2e, outputs %.2e\n", worst_stat,
           worst_out);
    check_stats_kernel();
    check_minmax_and_constant();
    check_gradients();
    check_files();
    check_prepend();
    check_errors();
    return test_summary("test_normalization_layer");
}
