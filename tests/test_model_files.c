/* test_model_files.c - Keras JSON in and out, safetensors model files:
 * round trips, the Keras fixtures, bit-identical resume, and one broken file
 * per check the loader makes. */
#include "lamina.h"
#include "test.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[256];

static const char *tmp_path(const char *name)
{
    static char buf[4][512];
    static int k;
    char *p = buf[k++ & 3];
    snprintf(p, 512, "%s/%s", dir, name);
    return p;
}

/* A small CNN with every kind of CNN layer, dropout included (its masks
 * depend on the seed and the step, which a resume must restore). */
static lam_model *small_cnn(uint64_t seed, bool compile)
{
    lam_model *m = lam_sequential("small_cnn");
    lam_model_add_input(m, 3, (int64_t[]){8, 8, 1});
    lam_layer_spec c = lam_layer_defaults(LAM_LAYER_CONV2D);
    c.units = 4;
    c.padding = LAM_PAD_SAME;
    c.activation = LAM_ACT_RELU;
    CHECK_OK(lam_model_add(m, &c));
    CHECK_OK(lam_model_add_maxpool2d(m, 2, 2));
    CHECK_OK(lam_model_add_conv2d(m, 6, 3, 3, LAM_ACT_TANH));
    CHECK_OK(lam_model_add_avgpool2d(m, 2, 2));
    CHECK_OK(lam_model_add_flatten(m));
    CHECK_OK(lam_model_add_dropout(m, 0.25f));
    CHECK_OK(lam_model_add_dense(m, 8, LAM_ACT_RELU));
    CHECK_OK(lam_model_add_activation(m, LAM_ACT_SIGMOID));
    CHECK_OK(lam_model_add_dense(m, 3, LAM_ACT_SOFTMAX));
    lam_model_set_seed(m, seed);
    if (compile) {
        lam_optimizer adam = lam_adam();
        adam.learning_rate = 0.01f;
        CHECK_OK(lam_model_compile(m, &adam, LAM_LOSS_SPARSE_CATEGORICAL_CE));
    }
    return m;
}

static lam_dataset *random_data(int64_t n, uint64_t seed)
{
    lam_dataset *ds = NULL;
    CHECK_OK(lam_dataset_create(&ds, LAM_F32, n, 3, (int64_t[]){8, 8, 1}, true, 0));
    float *x = lam_dataset_x(ds);
    int32_t *y = lam_dataset_labels(ds);
    uint64_t s = seed * 2654435761u + 1;
    for (int64_t i = 0; i < n * 64; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)((s >> 40) & 0xFFFF) / 65536.0f;
    }
    for (int64_t i = 0; i < n; i++) y[i] = (int32_t)(i % 3);
    return ds;
}

static bool same_spec(const lam_layer_spec *a, const lam_layer_spec *b)
{
    return a->kind == b->kind && strcmp(a->name, b->name) == 0 && a->units == b->units &&
           a->kernel[0] == b->kernel[0] && a->kernel[1] == b->kernel[1] &&
           a->strides[0] == b->strides[0] && a->strides[1] == b->strides[1] &&
           a->pool[0] == b->pool[0] && a->pool[1] == b->pool[1] && a->padding == b->padding &&
           a->activation == b->activation &&
           a->recurrent_activation == b->recurrent_activation && a->use_bias == b->use_bias &&
           a->rate == b->rate && a->return_sequences == b->return_sequences &&
           a->return_state == b->return_state && a->go_backwards == b->go_backwards &&
           a->unit_forget_bias == b->unit_forget_bias && a->reset_after == b->reset_after &&
           a->rank == b->rank && memcmp(a->shape, b->shape, sizeof a->shape) == 0;
}

static void test_save_load_predict(void)
{
    lam_model *m = small_cnn(7, true);
    lam_dataset *ds = random_data(32, 1);
    lam_fit_options fo = lam_fit_defaults();
    fo.verbose = 0;
    fo.batch_size = 8;
    CHECK_OK(lam_fit(m, ds, &fo, NULL));
    const char *path = tmp_path("cnn.safetensors");
    CHECK_OK(lam_model_save(m, path));
    lam_model *l = NULL;
    CHECK_OK(lam_model_load(path, &l));
    if (!l) goto out;
    float a[32 * 3], b[32 * 3];
    CHECK_OK(lam_predict_raw(m, lam_dataset_x(ds), 32, a));
    CHECK_OK(lam_predict_raw(l, lam_dataset_x(ds), 32, b));
    CHECK(memcmp(a, b, sizeof a) == 0, "predictions differ after save/load");
    CHECK(lam_model_param_count(l) == lam_model_param_count(m), "param counts differ");
    CHECK(lam_model_loss(l) == lam_model_loss(m), "loss differs");
    CHECK(memcmp(lam_model_optimizer(l), lam_model_optimizer(m), sizeof(lam_optimizer)) == 0,
          "optimizer differs");
    lam_train_state s1, s2;
    lam_model_train_state(m, &s1);
    lam_model_train_state(l, &s2);
    CHECK(memcmp(&s1, &s2, sizeof s1) == 0, "train state differs");
    CHECK(lam_model_num_slots(l) == 2, "Adam has %d slots after load", lam_model_num_slots(l));
    for (int i = 0; i < lam_model_num_slots(l); i++)
        CHECK(memcmp(lam_model_slot(l, i), lam_model_slot(m, i),
                     sizeof(float) * (size_t)lam_model_param_count(m)) == 0, "slot %d differs", i);
    /* Saving the loaded model gives the same bytes. */
    const char *p2 = tmp_path("cnn2.safetensors");
    CHECK_OK(lam_model_save(l, p2));
    size_t n1 = 0, n2 = 0;
    unsigned char *b1 = test_read_file(path, &n1), *b2 = test_read_file(p2, &n2);
    bool same = b1 && b2 && n1 == n2 && memcmp(b1, b2, n1) == 0;
    free(b1);
    free(b2);
    CHECK(same, "re-saving a loaded model changed the file");
out:
    lam_model_free(l);
    lam_model_free(m);
    lam_dataset_free(ds);

    /* An uncompiled model saves as architecture only. */
    m = small_cnn(3, false);
    CHECK_OK(lam_model_save(m, tmp_path("arch.safetensors")));
    l = NULL;
    CHECK_OK(lam_model_load(tmp_path("arch.safetensors"), &l));
    CHECK(l && lam_model_num_layers(l) == lam_model_num_layers(m), "uncompiled round trip");
    lam_model_free(l);
    lam_model_free(m);
}

static void test_json_round_trip(void)
{
    lam_model *m = small_cnn(1, false);
    char *json = NULL;
    CHECK_OK(lam_model_to_json(m, &json));
    lam_model *r = NULL;
    CHECK_OK(lam_model_from_json(json, NULL, &r));
    if (r) {
        CHECK(lam_model_num_layers(r) == lam_model_num_layers(m), "layer count");
        for (int i = 0; i < lam_model_num_layers(m) && i < lam_model_num_layers(r); i++)
            CHECK(same_spec(lam_model_layer(m, i), lam_model_layer(r, i)), "layer %d spec differs",
                  i);
        CHECK(lam_model_param_count(r) == lam_model_param_count(m), "param count");
        CHECK(strcmp(lam_model_name(r), "small_cnn") == 0, "model name %s", lam_model_name(r));
    }
    /* Keras's own key set: module/class_name/config and batch_shape. */
    CHECK(json && strstr(json, "\"module\":\"keras\"") && strstr(json, "\"batch_shape\":[null,8,8,1]"),
          "Keras 3 form: %s", json ? json : "");
    free(json);
    lam_model_free(r);
    lam_model_free(m);
}

static void test_fixtures(void)
{
    static const char *const cnn[] = {"fixtures/seed_cnn_keras3.json",
                                      "fixtures/seed_cnn_tfkeras2.json"};
    static const lam_layer_kind kinds[] = {LAM_LAYER_INPUT,    LAM_LAYER_CONV2D,
                                           LAM_LAYER_MAXPOOL2D, LAM_LAYER_CONV2D,
                                           LAM_LAYER_MAXPOOL2D, LAM_LAYER_FLATTEN,
                                           LAM_LAYER_DENSE,    LAM_LAYER_DENSE};
    static const int64_t params[] = {0, 320, 0, 18496, 0, 0, 102464, 650};
    static const int64_t shapes[][4] = {{28, 28, 1}, {26, 26, 32}, {13, 13, 32}, {11, 11, 64},
                                        {5, 5, 64},  {1600},       {64},         {10}};
    static const int ranks[] = {3, 3, 3, 3, 3, 1, 1, 1};
    for (int f = 0; f < 2; f++) {
        lam_model *m = NULL;
        CHECK_OK(lam_model_from_json_file(cnn[f], &m));
        if (!m) continue;
        CHECK(lam_model_num_layers(m) == 8, "%s: %d layers", cnn[f], lam_model_num_layers(m));
        for (int i = 0; i < 8 && i < lam_model_num_layers(m); i++) {
            int64_t sh[4] = {0};
            int rk = lam_model_layer_output_shape(m, i, sh);
            CHECK(lam_model_layer(m, i)->kind == kinds[i], "%s layer %d kind", cnn[f], i);
            CHECK(lam_model_layer_param_count(m, i) == params[i], "%s layer %d: %lld params",
                  cnn[f], i, (long long)lam_model_layer_param_count(m, i));
            CHECK(rk == ranks[i] && memcmp(sh, shapes[i], sizeof(int64_t) * (size_t)rk) == 0,
                  "%s layer %d shape", cnn[f], i);
        }
        CHECK(lam_model_param_count(m) == 121930, "%s: total", cnn[f]);
        CHECK(strcmp(lam_model_layer(m, 1)->name, "conv2d") == 0 &&
              lam_model_layer(m, 1)->activation == LAM_ACT_RELU &&
              lam_model_layer(m, 7)->activation == LAM_ACT_SOFTMAX, "%s: names/activations", cnn[f]);
        lam_model_free(m);
    }
    static const char *const lstm[] = {"fixtures/seed_lstm_keras3.json",
                                       "fixtures/seed_lstm_tfkeras2.json"};
    static const int64_t lparams[] = {0, 23808, 33024, 33024, 650};
    for (int f = 0; f < 2; f++) {
        lam_model *m = NULL;
        /* Both forms must load: LSTM is a supported layer, so a refusal is a
         * failure, whatever its status. */
        lam_status st = lam_model_from_json_file(lstm[f], &m);
        CHECK(st == LAM_OK, "%s: status %d: %s", lstm[f], st, lam_last_error());
        if (st != LAM_OK) continue;
        CHECK(lam_model_num_layers(m) == 5, "%s: %d layers", lstm[f], lam_model_num_layers(m));
        for (int i = 0; i < 5 && i < lam_model_num_layers(m); i++)
            CHECK(lam_model_layer_param_count(m, i) == lparams[i], "%s layer %d: %lld",
                  lstm[f], i, (long long)lam_model_layer_param_count(m, i));
        CHECK(lam_model_param_count(m) == 90506, "%s: total %lld", lstm[f],
              (long long)lam_model_param_count(m));
        CHECK(lam_model_layer(m, 1)->kind == LAM_LAYER_LSTM && lam_model_layer(m, 1)->return_sequences &&
                  !lam_model_layer(m, 3)->return_sequences,
              "%s: LSTM layers, return_sequences", lstm[f]);
        lam_model_free(m);
    }
}

/* Fit 2 epochs, save, load, fit 1 more == fit 3 at once, bit for bit. */
static void resume_check(bool shuffle, bool *equal, bool *equal_mem)
{
    lam_dataset *ds = random_data(48, 2);
    lam_fit_options fo = lam_fit_defaults();
    fo.verbose = 0;
    fo.batch_size = 8;
    fo.shuffle = shuffle;

    lam_model *full = small_cnn(42, true);
    fo.epochs = 3;
    CHECK_OK(lam_fit(full, ds, &fo, NULL));

    lam_model *a = small_cnn(42, true);
    fo.epochs = 2;
    CHECK_OK(lam_fit(a, ds, &fo, NULL));
    const char *path = tmp_path("resume.safetensors");
    CHECK_OK(lam_model_save(a, path));
    /* The same continuation without a file: what the file must reproduce
     * exactly, whatever lam_fit itself does across calls. */
    fo.initial_epoch = 2;
    fo.epochs = 1;
    CHECK_OK(lam_fit(a, ds, &fo, NULL));
    fo.initial_epoch = 0;
    lam_model *b = NULL;
    CHECK_OK(lam_model_load(path, &b));
    *equal = false;
    if (b) {
        lam_train_state ts;
        lam_model_train_state(b, &ts);
        CHECK(ts.epoch == 2 && ts.step == 12, "restored epoch %lld step %lld",
              (long long)ts.epoch, (long long)ts.step);
        fo.initial_epoch = 2;
        fo.epochs = 1;
        CHECK_OK(lam_fit(b, ds, &fo, NULL));
        *equal = memcmp(lam_model_params(b), lam_model_params(full),
                        sizeof(float) * (size_t)lam_model_param_count(full)) == 0;
        *equal_mem = memcmp(lam_model_params(b), lam_model_params(a),
                            sizeof(float) * (size_t)lam_model_param_count(a)) == 0;
        lam_model_free(b);
    }
    lam_model_free(a);
    lam_model_free(full);
    lam_dataset_free(ds);
}

static void test_resume(void)
{
    bool eq = false, eq_mem = false;
    resume_check(false, &eq, &eq_mem);
    CHECK(eq, "resumed weights differ from a 3-epoch run (shuffle off)");
    CHECK(eq_mem, "resumed weights differ from an in-memory continuation (shuffle off)");
    resume_check(true, &eq, &eq_mem);
    /* The file must carry everything a continuation needs. */
    CHECK(eq_mem, "resumed weights differ from an in-memory continuation (shuffle on)");
    /* Each epoch's order is drawn afresh from the saved generator state,
     * so a resumed run equals an uninterrupted one. */
    CHECK(eq, "resumed weights differ from a 3-epoch run (shuffle on)");
}

/* ------------------------------------------------------- broken files */

static void spit(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    fwrite(p, 1, n, f);
    fclose(f);
}

typedef void (*edit_fn)(cJSON *header);

/* Rewrites a good file with its header changed by fn (data kept). */
static void rewrite(const char *good, const char *bad, edit_fn fn)
{
    size_t n;
    unsigned char *b = test_read_file(good, &n);
    uint64_t hl = 0;
    for (int i = 0; i < 8; i++) hl |= (uint64_t)b[i] << (8 * i);
    cJSON *h = cJSON_ParseWithLength((const char *)b + 8, (size_t)hl);
    fn(h);
    char *text = cJSON_PrintUnformatted(h);
    size_t tl = strlen(text), pl = (tl + 7) / 8 * 8;
    FILE *f = fopen(bad, "wb");
    for (int i = 0; i < 8; i++) fputc((int)((pl >> (8 * i)) & 0xFF), f);
    fwrite(text, 1, tl, f);
    for (size_t i = tl; i < pl; i++) fputc(' ', f);
    fwrite(b + 8 + hl, 1, n - 8 - (size_t)hl, f);
    fclose(f);
    free(text);
    cJSON_Delete(h);
    free(b);
}

static void set_meta(cJSON *h, const char *key, const char *value)
{
    cJSON *meta = cJSON_GetObjectItemCaseSensitive(h, "__metadata__");
    cJSON_ReplaceItemInObjectCaseSensitive(meta, key, cJSON_CreateString(value));
}

static void edit_version(cJSON *h) { set_meta(h, "format_version", "2"); }

static void edit_shape(cJSON *h)
{
    cJSON *e = cJSON_GetObjectItemCaseSensitive(h, "conv2d/kernel"); /* [3,3,1,4] */
    cJSON_ReplaceItemInObjectCaseSensitive(e, "shape", cJSON_CreateIntArray((int[]){1, 3, 3, 4}, 4));
}

static void edit_missing(cJSON *h)
{
    cJSON *e = cJSON_DetachItemFromObjectCaseSensitive(h, "dense_1/bias");
    cJSON_AddItemToObject(h, "dense_1/bias_renamed", e);
}

static void edit_extra(cJSON *h)
{
    /* A zero-size tensor at the end keeps the data section tiled. */
    cJSON *last = cJSON_GetObjectItemCaseSensitive(h, "optimizer/v/dense_1/bias");
    double end = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(last, "data_offsets"), 1)
                     ->valuedouble;
    cJSON *e = cJSON_AddObjectToObject(h, "dense_9/kernel");
    cJSON_AddStringToObject(e, "dtype", "F32");
    cJSON_AddItemToObject(e, "shape", cJSON_CreateIntArray((int[]){0}, 1));
    cJSON *o = cJSON_AddArrayToObject(e, "data_offsets");
    cJSON_AddItemToArray(o, cJSON_CreateNumber(end));
    cJSON_AddItemToArray(o, cJSON_CreateNumber(end));
}

static void edit_offsets(cJSON *h)
{
    cJSON *e = cJSON_GetObjectItemCaseSensitive(h, "dense_1/bias");
    cJSON *o = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    double b = cJSON_GetArrayItem(o, 0)->valuedouble;
    cJSON_ReplaceItemInArray(o, 0, cJSON_CreateNumber(b + 1e6));
    cJSON_ReplaceItemInArray(o, 1, cJSON_CreateNumber(b + 1e6 + 12));
}

/* Replaces text in the model_config metadata string. */
static const char *cfg_from, *cfg_to;
static void edit_config(cJSON *h)
{
    cJSON *meta = cJSON_GetObjectItemCaseSensitive(h, "__metadata__");
    const char *s = cJSON_GetObjectItemCaseSensitive(meta, "model_config")->valuestring;
    const char *at = strstr(s, cfg_from);
    size_t n = strlen(s) + strlen(cfg_to) + 1;
    char *t = malloc(n);
    snprintf(t, n, "%.*s%s%s", (int)(at - s), s, cfg_to, at + strlen(cfg_from));
    cJSON_ReplaceItemInObjectCaseSensitive(meta, "model_config", cJSON_CreateString(t));
    free(t);
}

static void test_broken_files(void)
{
    lam_model *m = small_cnn(5, true);
    const char *good = tmp_path("good.safetensors");
    CHECK_OK(lam_model_save(m, good));
    lam_model_free(m);
    const char *bad = tmp_path("bad.safetensors");
    lam_model *l = NULL;
    size_t n;
    unsigned char *b = test_read_file(good, &n);

    spit(bad, b, 5);
    CHECK_FAILS(lam_model_load(bad, &l), LAM_ERR_FORMAT, "truncated");
    CHECK(strstr(lam_last_error(), bad) != NULL, "message names the file: %s", lam_last_error());

    spit(bad, b, n - 4); /* header intact, data short: tiling fails */
    CHECK_FAILS(lam_model_load(bad, &l), LAM_ERR_FORMAT, "out of range");

    unsigned char *c = malloc(n);
    memcpy(c, b, n);
    c[5] = 0x7F; /* header size ~ 2^47 */
    spit(bad, c, n);
    CHECK_FAILS(lam_model_load(bad, &l), LAM_ERR_FORMAT, "larger than the file");

    memcpy(c, b, n);
    c[8] = 'x';
    spit(bad, c, n);
    CHECK_FAILS(lam_model_load(bad, &l), LAM_ERR_FORMAT, "not valid JSON");
    free(c);
    free(b);

    rewrite(good, bad, edit_version);
    CHECK_FAILS(lam_model_load(bad, &l), LAM_ERR_FORMAT, "written by format version 2, this lamina reads 1");
    rewrite(good, bad, edit_shape);
    CHECK_FAILS(lam_model_load(bad, &l), LAM_ERR_SHAPE, "conv2d/kernel");
    rewrite(good, bad, edit_missing);
    CHECK_FAILS(lam_model_load(bad, &l), LAM_ERR_FORMAT, "\"dense_1/bias\" is missing");
    rewrite(good, bad, edit_extra);
    CHECK_FAILS(lam_model_load(bad, &l), LAM_ERR_FORMAT, "unexpected tensor \"dense_9/kernel\"");
    rewrite(good, bad, edit_offsets);
    CHECK_FAILS(lam_model_load(bad, &l), LAM_ERR_FORMAT, "out of range");
    cfg_from = "\"Flatten\"";
    cfg_to = "\"Reshape\"";
    rewrite(good, bad, edit_config);
    CHECK_FAILS(lam_model_load(bad, &l), LAM_ERR_UNSUPPORTED, "Reshape");
    cfg_from = "\"channels_last\"";
    cfg_to = "\"channels_first\"";
    rewrite(good, bad, edit_config);
    CHECK_FAILS(lam_model_load(bad, &l), LAM_ERR_UNSUPPORTED, "channels_first");
    CHECK(strstr(lam_last_error(), "data_format") && strstr(lam_last_error(), bad),
          "message: %s", lam_last_error());
    CHECK(l == NULL, "a failed load leaves *out NULL");
    CHECK_FAILS(lam_model_load(tmp_path("nope.safetensors"), &l), LAM_ERR_IO, "nope.safetensors");
}

/* Keras JSON the reader must refuse, naming layer, key and value. */
static void test_json_rejects(void)
{
    static const char *const head =
        "{\"class_name\":\"Sequential\",\"config\":{\"name\":\"s\",\"layers\":["
        "{\"class_name\":\"InputLayer\",\"config\":{\"batch_shape\":[null,8,8,1],\"name\":\"in\"}},";
    static const struct { const char *layer; lam_status st; const char *needle; } cases[] = {
        {"{\"class_name\":\"Conv2D\",\"config\":{\"name\":\"c\",\"filters\":2,\"kernel_size\":3,"
         "\"dilation_rate\":[2,2]}}", LAM_ERR_UNSUPPORTED, "layer \"c\" (Conv2D): dilation_rate is [2,2]"},
        {"{\"class_name\":\"Conv2D\",\"config\":{\"name\":\"c\",\"filters\":2,\"kernel_size\":3,"
         "\"data_format\":\"channels_first\"}}", LAM_ERR_UNSUPPORTED, "\"channels_first\""},
        {"{\"class_name\":\"Dense\",\"config\":{\"name\":\"d\",\"units\":2,"
         "\"kernel_regularizer\":{\"class_name\":\"L2\",\"config\":{\"l2\":0.01}}}}",
         LAM_ERR_UNSUPPORTED, "kernel_regularizer"},
        {"{\"class_name\":\"Dense\",\"config\":{\"name\":\"d\",\"units\":2,\"activation\":\"selu\"}}",
         LAM_ERR_UNSUPPORTED, "activation is \"selu\""},
        {"{\"class_name\":\"LSTM\",\"config\":{\"name\":\"l\",\"units\":2,\"dropout\":0.2}}",
         LAM_ERR_UNSUPPORTED, "(LSTM): dropout is 0.2"},
        {"{\"class_name\":\"BatchNormalization\",\"config\":{\"name\":\"bn\",\"renorm\":true}}",
         LAM_ERR_UNSUPPORTED, "layer \"bn\" (BatchNormalization)"},
        {"{\"class_name\":\"Dense\",\"config\":{\"name\":\"d\",\"units\":2,\"mystery\":3}}",
         LAM_ERR_UNSUPPORTED, "key \"mystery\""},
        {"{\"class_name\":\"Conv2D\",\"config\":{\"name\":\"c\",\"filters\":2,\"kernel_size\":30}}",
         LAM_ERR_SHAPE, "<json>: layer #1 \"c\" (Conv2D)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char json[1024];
        snprintf(json, sizeof json, "%s%s]}}", head, cases[i].layer);
        lam_model *m = NULL;
        lam_status st = lam_model_from_json(json, NULL, &m);
        CHECK(st == cases[i].st, "case %zu: status %d: %s", i, st, lam_last_error());
        CHECK(strstr(lam_last_error(), cases[i].needle) && strstr(lam_last_error(), "<json>"),
              "case %zu: message \"%s\" lacks \"%s\"", i, lam_last_error(), cases[i].needle);
        CHECK(m == NULL, "case %zu: model returned", i);
        lam_model_free(m);
    }
    lam_model *m = NULL;
    CHECK_FAILS(lam_model_from_json("{\"class_name\":", "x.json", &m), LAM_ERR_FORMAT, "x.json");
    CHECK_FAILS(lam_model_from_json_file("fixtures/none.json", &m), LAM_ERR_IO, "fixtures/none.json");
    /* Null-valued unknown keys and non-default-but-harmless keys load. */
    char json[1024];
    snprintf(json, sizeof json, "%s%s]}}", head,
             "{\"class_name\":\"Conv2D\",\"config\":{\"name\":\"c\",\"filters\":2,\"kernel_size\":"
             "[3,2],\"strides\":2,\"padding\":\"same\",\"future_option\":null,\"dtype\":\"float32\"}}");
    CHECK_OK(lam_model_from_json(json, NULL, &m));
    if (m) {
        const lam_layer_spec *s = lam_model_layer(m, 1);
        CHECK(s->kernel[0] == 3 && s->kernel[1] == 2 && s->strides[0] == 2 &&
              s->padding == LAM_PAD_SAME, "conv spec");
    }
    lam_model_free(m);
}

/* A stop requested during step 6 (as SIGINT would) ends training after
 * step 7 with a checkpoint; loading it and continuing gives the same weights
 * as an uninterrupted run. */
static int checkpoints_taken;
static lam_status save_checkpoint(lam_model *m, void *user)
{
    lam_status st = lam_model_save(m, (const char *)user);
    if (++checkpoints_taken == 2) lam_request_stop();
    return st;
}

static void test_checkpoint_inside_epoch(void)
{
    lam_dataset *ds = random_data(80, 3);
    lam_fit_options fo = lam_fit_defaults();
    fo.verbose = 0;
    fo.batch_size = 8;
    fo.epochs = 2;
    lam_model *full = small_cnn(7, true);
    CHECK_OK(lam_fit(full, ds, &fo, NULL));

    const char *path = tmp_path("inside.safetensors");
    lam_model *a = small_cnn(7, true);
    fo.checkpoint = save_checkpoint;
    fo.checkpoint_user = (void *)path;
    fo.checkpoint_every_steps = 3;
    checkpoints_taken = 0;
    CHECK_FAILS(lam_fit(a, ds, &fo, NULL), LAM_ERR_INTERRUPTED, "epoch 1, step 7");
    lam_clear_stop();
    lam_model *b = NULL;
    CHECK_OK(lam_model_load(path, &b));
    if (b) {
        lam_train_state ts;
        lam_model_train_state(b, &ts);
        CHECK(ts.epoch == 0 && ts.epoch_step == 7 && ts.step == 7,
              "checkpoint at epoch %lld, step %lld in epoch", (long long)ts.epoch,
              (long long)ts.epoch_step);
        fo.checkpoint = NULL;
        fo.batch_size = 16;
        CHECK_FAILS(lam_fit(b, ds, &fo, NULL), LAM_ERR_ARG, "batch size 8");
        fo.batch_size = 8;
        lam_history *h = NULL;
        CHECK_OK(lam_fit(b, ds, &fo, &h));
        CHECK(memcmp(lam_model_params(b), lam_model_params(full),
                     sizeof(float) * (size_t)lam_model_param_count(full)) == 0,
              "resumed-inside-epoch weights differ from an uninterrupted run");
        CHECK(h && h->epochs == 2, "history of the resumed run has %d epochs", h ? h->epochs : -1);
        lam_history_free(h);
        lam_model_free(b);
    }
    lam_model_free(a);
    lam_model_free(full);
    lam_dataset_free(ds);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/lamina_test_model_files.%ld", (long)getpid());
    char cmd[300];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
    if (system(cmd) != 0) return 2;
    test_save_load_predict();
    test_json_round_trip();
    test_fixtures();
    test_json_rejects();
    test_resume();
    test_checkpoint_inside_epoch();
    test_broken_files();
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return test_summary("test_model_files");
}
