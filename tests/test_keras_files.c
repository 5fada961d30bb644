/* test_keras_files.c - Keras's own files (.keras, legacy .h5) read by lamina:
 * models trained by Keras 3 (tests/make_keras_file_fixtures.py) give Keras's
 * outputs within 1e-5, with Adam's state; broken files (truncated, a missing
 * variable, a renamed group, a mismatched shape) are refused naming the layer
 * and the variable; lam_model_export_keras round trips. Skips (77) when
 * lamina was built without libhdf5/libzip. */
#include "lamina.h"
#include "fixture.h"
#include "test.h"

#include <string.h>

#define DIR "fixtures/keras_files/"

/* Max |lamina - Keras| over the 8 fixed inputs of model `name` read from ext. */
static double output_error(const char *name, const char *ext, const char *xname,
                           lam_model **keep)
{
    char path[128], outname[128];
    snprintf(path, sizeof path, DIR "%s%s", name, ext);
    snprintf(outname, sizeof outname, "keras_files/%s_out.npy", name);
    long nx = 0, ny = 0;
    float *x = fixture_load(xname, &nx), *want = fixture_load(outname, &ny);
    lam_model *m = NULL;
    double err = 1e30;
    CHECK(x && want, "fixtures %s, %s", xname, outname);
    CHECK_OK(lam_model_load(path, &m));
    if (x && want && m) {
        CHECK(lam_model_input_size(m) * 8 == nx, "%s: input size %lld", path,
              (long long)lam_model_input_size(m));
        CHECK(lam_model_output_size(m) * 8 == ny, "%s: output size %lld", path,
              (long long)lam_model_output_size(m));
        float *got = calloc((size_t)ny, sizeof *got);
        CHECK_OK(lam_predict_raw(m, x, 8, got));
        err = 0;
        for (long i = 0; i < ny; i++) {
            double e = fabs((double)got[i] - want[i]);
            if (!(e <= err)) err = e; /* NaN counts as the worst */
        }
        free(got);
    }
    if (keep) *keep = m;
    else lam_model_free(m);
    free(x);
    free(want);
    return err;
}

static void test_outputs(void)
{
    static const struct { const char *name, *x; } models[] = {
        {"cnn", "keras_files/x8.npy"},         {"lstm", "keras_files/x8.npy"},
        {"resnet", "keras_files/x8.npy"},      {"transformer", "keras_files/x8.npy"},
        {"zoo", "keras_files/zoo_x.npy"},      {"tiny", "keras_files/tiny_x.npy"},
    };
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++)
        for (int k = 0; k < 2; k++) {
            const char *ext = k ? ".h5" : ".keras";
            double err = output_error(models[i].name, ext, models[i].x, NULL);
            printf("  %-12s %-7s max |lamina - Keras| = %.3g\n", models[i].name, ext, err);
            CHECK(err <= 1e-5, "%s%s: outputs differ from Keras's by %g", models[i].name, ext,
                  err);
        }
}

/* Both formats hold the same weights, moving statistics and Adam state. */
static void test_same_state(const char *name, int64_t steps)
{
    char a[128], b[128];
    snprintf(a, sizeof a, DIR "%s.keras", name);
    snprintf(b, sizeof b, DIR "%s.h5", name);
    lam_model *m1 = NULL, *m2 = NULL;
    CHECK_OK(lam_model_import_keras(a, &m1));
    CHECK_OK(lam_model_import_keras(b, &m2));
    if (!m1 || !m2) goto done;
    int64_t n = lam_model_param_count(m1);
    CHECK(n == lam_model_param_count(m2), "%s: parameter counts", name);
    CHECK(memcmp(lam_model_params(m1), lam_model_params(m2), sizeof(float) * (size_t)n) == 0,
          "%s: weights differ between .keras and .h5", name);
    CHECK(lam_model_state_count(m1) == lam_model_state_count(m2), "%s: state counts", name);
    CHECK(memcmp(lam_model_state(m1), lam_model_state(m2),
                 sizeof(float) * (size_t)lam_model_state_count(m1)) == 0,
          "%s: moving statistics differ between .keras and .h5", name);
    CHECK(lam_model_optimizer(m1)->kind == LAM_OPT_ADAM, "%s: optimizer %d", name,
          (int)lam_model_optimizer(m1)->kind);
    CHECK(lam_model_num_slots(m1) == 2 && lam_model_num_slots(m2) == 2, "%s: slots", name);
    double vsum = 0;
    for (int s = 0; s < 2 && lam_model_num_slots(m1) == 2; s++) {
        CHECK(memcmp(lam_model_slot(m1, s), lam_model_slot(m2, s), sizeof(float) * (size_t)n) ==
                  0, "%s: Adam slot %d differs between .keras and .h5", name, s);
        for (int64_t i = 0; s == 1 && i < n; i++) vsum += lam_model_slot(m1, s)[i];
    }
    /* Keras's velocities after training are positive: imported, not fresh zeros. */
    CHECK(vsum > 0, "%s: Adam's v was not imported (sum %g)", name, vsum);
    lam_train_state t1, t2;
    lam_model_train_state(m1, &t1);
    lam_model_train_state(m2, &t2);
    CHECK(t1.step == steps && t2.step == steps, "%s: steps %lld and %lld, expected %lld", name,
          (long long)t1.step, (long long)t2.step, (long long)steps);
done:
    lam_model_free(m1);
    lam_model_free(m2);
}

/* The moving statistics are Keras's trained ones, not the initial 0 and 1. */
static void test_moving_statistics(void)
{
    lam_model *m = NULL;
    CHECK_OK(lam_model_load(DIR "resnet.keras", &m));
    if (!m) return;
    int64_t n = lam_model_state_count(m);
    CHECK(n == 32, "resnet: %lld moving statistics, expected 2 x 2 x 8", (long long)n);
    int moved = 0;
    for (int64_t i = 0; i < n; i++) moved += lam_model_state(m)[i] != 0.0f &&
                                             lam_model_state(m)[i] != 1.0f;
    CHECK(moved == n, "resnet: only %d of %lld moving statistics moved", moved, (long long)n);
    lam_model_free(m);
}

/* A Keras model fine-tunes: fit runs, continuing Keras's step count. */
static void test_fine_tune(void)
{
    lam_model *m = NULL;
    CHECK_OK(lam_model_load(DIR "cnn.keras", &m));
    lam_dataset *ds = NULL;
    CHECK_OK(lam_dataset_create(&ds, LAM_F32, 64, 3, (int64_t[]){28, 28, 1}, true, 0));
    if (!m || !ds) goto done;
    float *x = lam_dataset_x(ds);
    for (int64_t i = 0; i < 64 * 784; i++) x[i] = (test_rndf() + 1) / 2;
    for (int i = 0; i < 64; i++) lam_dataset_labels(ds)[i] = i % 10;
    lam_fit_options fo = lam_fit_defaults();
    fo.verbose = 0;
    CHECK_OK(lam_fit(m, ds, &fo, NULL));
    lam_train_state ts;
    lam_model_train_state(m, &ts);
    CHECK(ts.step == 125 + 2, "fine-tuned step %lld, expected 127", (long long)ts.step);
done:
    lam_dataset_free(ds);
    lam_model_free(m);
}

/* Writes the first n bytes of src to dst. */
static int write_prefix(const char *dst, const unsigned char *b, size_t n)
{
    FILE *f = fopen(dst, "wb");
    if (!f) return -1;
    size_t w = fwrite(b, 1, n, f);
    return fclose(f) == 0 && w == n ? 0 : -1;
}

static void test_truncated(const char *src)
{
    size_t size = 0;
    unsigned char *b = test_read_file(src, &size);
    CHECK(b && size > 1000, "%s", src);
    const char *tmp = "keras_truncated.tmp";
    size_t cuts[] = {3, 8, 100, 2000, size / 2, size - 1};
    for (size_t i = 0; b && i < sizeof cuts / sizeof cuts[0]; i++) {
        CHECK(write_prefix(tmp, b, cuts[i]) == 0, "writing %s", tmp);
        lam_model *m = NULL;
        lam_status st = lam_model_load(tmp, &m);
        CHECK(st != LAM_OK && m == NULL, "%s cut at %zu bytes loaded", src, cuts[i]);
        CHECK(strstr(lam_last_error(), tmp) != NULL, "%s cut at %zu: message \"%s\" lacks the "
              "file name", src, cuts[i], lam_last_error());
        lam_model_free(m);
    }
    remove(tmp);
    free(b);
}

static void test_refusals(void)
{
    lam_model *m = NULL;
    CHECK_FAILS(lam_model_load(DIR "tiny_missing_var.keras", &m), LAM_ERR_FORMAT,
                "layer \"dense_1\" (Dense): layers/dense_1/vars holds 1 variables, expected 2");
    CHECK_FAILS(lam_model_load(DIR "tiny_renamed_group.keras", &m), LAM_ERR_FORMAT,
                "layer \"batch_normalization\" (BatchNormalization): no group "
                "layers/batch_normalization/vars");
    CHECK_FAILS(lam_model_load(DIR "tiny_bad_shape.keras", &m), LAM_ERR_SHAPE,
                "layer \"dense\": variable layers/dense/vars/0 has shape (4, 5), expected (4, 3)");
    CHECK_FAILS(lam_model_load(DIR "tiny_missing_var.h5", &m), LAM_ERR_FORMAT,
                "layer \"dense_1\": no variable model_weights/dense_1/tiny/dense_1/bias");
    CHECK_FAILS(lam_model_load(DIR "tiny_bad_shape.h5", &m), LAM_ERR_SHAPE,
                "layer \"dense\": variable model_weights/dense/tiny/dense/kernel has shape (4, 5), "
                "expected (4, 3)");
    CHECK(m == NULL, "a refused file gave a model");
    /* Not a Keras file at all. */
    CHECK_FAILS(lam_model_import_keras(DIR "x8.npy", &m), LAM_ERR_FORMAT,
                "neither a Keras 3 .keras file");
    CHECK_FAILS(lam_model_import_keras(DIR "no_such.keras", &m), LAM_ERR_IO, "no_such.keras");
    test_truncated(DIR "tiny.keras");
    test_truncated(DIR "tiny.h5");
}

/* Saved by lamina, the imported model reads back identical. */
static void test_resave(void)
{
    lam_model *m = NULL, *m2 = NULL;
    CHECK_OK(lam_model_load(DIR "zoo.h5", &m));
    if (!m) return;
    const char *tmp = "keras_resaved.tmp.safetensors";
    CHECK_OK(lam_model_save(m, tmp));
    CHECK_OK(lam_model_load(tmp, &m2));
    if (m2)
        CHECK(memcmp(lam_model_params(m), lam_model_params(m2),
                     sizeof(float) * (size_t)lam_model_param_count(m)) == 0,
              "zoo: weights changed through lamina's file");
    remove(tmp);
    lam_model_free(m);
    lam_model_free(m2);
}

/* Exported by lamina as .keras and read back, every model predicts the same
 * bits (tests/check_keras_files.py checks Keras's side). */
static void test_export_round_trip(void)
{
    static const struct { const char *name, *x; } models[] = {
        {"cnn", "keras_files/x8.npy"}, {"lstm", "keras_files/x8.npy"},
        {"resnet", "keras_files/x8.npy"}, {"transformer", "keras_files/x8.npy"},
        {"zoo", "keras_files/zoo_x.npy"},
    };
    const char *tmp = "keras_exported.tmp.keras";
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
        char src[128];
        snprintf(src, sizeof src, DIR "%s.h5", models[i].name);
        lam_model *m = NULL, *m2 = NULL;
        long nx = 0;
        float *x = fixture_load(models[i].x, &nx);
        CHECK_OK(lam_model_load(src, &m));
        if (m) CHECK_OK(lam_model_export_keras(m, tmp));
        CHECK_OK(lam_model_load(tmp, &m2));
        if (m && m2 && x) {
            int64_t n = lam_model_output_size(m) * 8;
            float *a = calloc((size_t)n, sizeof *a), *b = calloc((size_t)n, sizeof *b);
            CHECK_OK(lam_predict_raw(m, x, 8, a));
            CHECK_OK(lam_predict_raw(m2, x, 8, b));
            CHECK(memcmp(a, b, sizeof *a * (size_t)n) == 0, "%s: exported .keras predicts "
                  "differently", models[i].name);
            CHECK(lam_model_state_count(m) == lam_model_state_count(m2) &&
                      memcmp(lam_model_state(m), lam_model_state(m2),
                             sizeof(float) * (size_t)lam_model_state_count(m)) == 0,
                  "%s: moving statistics lost in export", models[i].name);
            free(a);
            free(b);
        }
        free(x);
        lam_model_free(m);
        lam_model_free(m2);
    }
    remove(tmp);
    lam_model *fresh = lam_sequential("fresh");
    lam_model_add_input(fresh, 1, (int64_t[]){4});
    lam_model_add_dense(fresh, 2, LAM_ACT_SOFTMAX);
    CHECK_FAILS(lam_model_export_keras(fresh, tmp), LAM_ERR_STATE, "compile");
    lam_model_free(fresh);
}

int main(void)
{
    lam_model *probe = NULL;
    lam_status st = lam_model_import_keras(DIR "tiny.keras", &probe);
    if (st == LAM_ERR_UNSUPPORTED) {
        printf("test_keras_files: skipped: %s\n", lam_last_error());
        return 77;
    }
    lam_model_free(probe);
    test_outputs();
    test_same_state("cnn", 125);
    test_same_state("resnet", 125);
    test_same_state("transformer", 125);
    test_same_state("zoo", 8);
    test_moving_statistics();
    test_fine_tune();
    test_refusals();
    test_resave();
    test_export_round_trip();
    return test_summary("test_keras_files");
}
