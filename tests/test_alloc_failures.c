/* test_alloc_failures.c - every allocation along the whole life of a model
 * fails in turn: JSON spec -> compile -> fit (one epoch, validation_split,
 * a checkpoint saved every 2 steps) -> save -> load -> predict -> evaluate,
 * for Sequential and functional Keras JSON (residual Add, BatchNormalization,
 * a shared layer; causal MultiHeadAttention with dropout) and a masked one
 * (TokenAndPositionEmbedding with mask_zero feeding GlobalAveragePooling1D),
 * and a functional model built in C (two inputs, a shared layer, two outputs
 * with their own losses) -> compile -> lam_fit_multi with callbacks ->
 * forward; the text path (tokenizers, text readers, language-model and
 * classification data sets, model metadata); explanations (every
 * attribution method, token ids, attention weights); and explaining trees
 * (SHAP, permutation importance, surrogate rules); encrypted model files
 * (a key from bytes, encrypted checkpoints, save and load with the key);
 * desensitising a CSV table (rules, quoted fields, hash, bins, suppression);
 * streaming (mapped .npy, shards, mapped IDX, fit with the prefetch thread).
 *
 * For N = 1, 2, ... the N-th allocation from the start of the path fails
 * (lam_testing_fail_alloc_after(N)). Each run must stop with an error status
 * and a non-empty message, or succeed once N is past the path's last
 * allocation (or where the library has a deliberate fallback, listed below);
 * no failed save may leave a file behind; it must never crash, and nothing
 * may leak (`make
 * test-sanitize` runs this under LeakSanitizer, which reports any block a
 * failure path forgot to free).
 *
 * Not covered: cJSON (the Keras JSON parser and the safetensors header)
 * allocates with its own malloc, which lam_testing_fail_alloc_after does not
 * hook, so a cJSON allocation failure is never injected here. Training runs
 * on one thread: the countdown is a plain counter, not meant for threads. */
#include "lamina.h"
#include "test.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256];

static const char CNN_SPEC[] =
    "{\"module\": \"keras\", \"class_name\": \"Sequential\", \"config\": {\"name\": \"cnn\", \"layers\": ["
    "{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 4, 4, 1]}},"
    "{\"class_name\": \"Conv2D\", \"config\": {\"filters\": 2, \"kernel_size\": [3, 3], \"padding\": \"same\", \"activation\": \"relu\"}},"
    "{\"class_name\": \"MaxPooling2D\", \"config\": {\"pool_size\": [2, 2]}},"
    "{\"class_name\": \"Flatten\", \"config\": {}},"
    "{\"class_name\": \"Dropout\", \"config\": {\"rate\": 0.25}},"
    "{\"class_name\": \"Dense\", \"config\": {\"units\": 3, \"activation\": \"softmax\"}}]}}";

static const char GRU_SPEC[] =
    "{\"module\": \"keras\", \"class_name\": \"Sequential\", \"config\": {\"name\": \"rnn\", \"layers\": ["
    "{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 4, 4]}},"
    "{\"class_name\": \"LSTM\", \"config\": {\"units\": 3, \"return_sequences\": true}},"
    "{\"class_name\": \"GRU\", \"config\": {\"units\": 3}},"
    "{\"class_name\": \"Dense\", \"config\": {\"units\": 3, \"activation\": \"softmax\"}}]}}";

/* Keras 3 functional JSON: a residual Add over Conv2D + BatchNormalization, a Dense
 * layer called twice (shared weights), Dropout. */
static const char FUNCTIONAL_SPEC[] =
    "{\"module\":\"keras.src.models.functional\",\"class_name\":\"Functional\",\"config\":{\"name"
    "\":\"graph\",\"layers\":[{\"module\":\"keras.layers\",\"class_name\":\"InputLayer\",\"config"
    "\":{\"batch_shape\":[null,4,4,1],\"name\":\"img\"},\"name\":\"img\",\"inbound_nodes\":[]},{"
    "\"module\":\"keras.layers\",\"class_name\":\"Conv2D\",\"config\":{\"name\":\"conv\",\"filter"
    "s\":1,\"kernel_size\":[3,3],\"padding\":\"same\"},\"name\":\"conv\",\"inbound_nodes\":[{\"ar"
    "gs\":[{\"class_name\":\"__keras_tensor__\",\"config\":{\"shape\":null,\"dtype\":\"float32\","
    "\"keras_history\":[\"img\",0,0]}}],\"kwargs\":{}}]},{\"module\":\"keras.layers\",\"class_nam"
    "e\":\"BatchNormalization\",\"config\":{\"name\":\"bn\"},\"name\":\"bn\",\"inbound_nodes\":[{"
    "\"args\":[{\"class_name\":\"__keras_tensor__\",\"config\":{\"shape\":null,\"dtype\":\"float3"
    "2\",\"keras_history\":[\"conv\",0,0]}}],\"kwargs\":{}}]},{\"module\":\"keras.layers\",\"clas"
    "s_name\":\"Add\",\"config\":{\"name\":\"add\"},\"name\":\"add\",\"inbound_nodes\":[{\"args\""
    ":[[{\"class_name\":\"__keras_tensor__\",\"config\":{\"shape\":null,\"dtype\":\"float32\",\"k"
    "eras_history\":[\"img\",0,0]}},{\"class_name\":\"__keras_tensor__\",\"config\":{\"shape\":nu"
    "ll,\"dtype\":\"float32\",\"keras_history\":[\"bn\",0,0]}}]],\"kwargs\":{}}]},{\"module\":\"k"
    "eras.layers\",\"class_name\":\"Flatten\",\"config\":{\"name\":\"flat\"},\"name\":\"flat\",\""
    "inbound_nodes\":[{\"args\":[{\"class_name\":\"__keras_tensor__\",\"config\":{\"shape\":null,"
    "\"dtype\":\"float32\",\"keras_history\":[\"add\",0,0]}}],\"kwargs\":{}}]},{\"module\":\"kera"
    "s.layers\",\"class_name\":\"Dense\",\"config\":{\"name\":\"shared\",\"units\":16,\"activatio"
    "n\":\"tanh\"},\"name\":\"shared\",\"inbound_nodes\":[{\"args\":[{\"class_name\":\"__keras_te"
    "nsor__\",\"config\":{\"shape\":null,\"dtype\":\"float32\",\"keras_history\":[\"flat\",0,0]}}"
    "],\"kwargs\":{}},{\"args\":[{\"class_name\":\"__keras_tensor__\",\"config\":{\"shape\":null,"
    "\"dtype\":\"float32\",\"keras_history\":[\"shared\",0,0]}}],\"kwargs\":{}}]},{\"module\":\"k"
    "eras.layers\",\"class_name\":\"Dropout\",\"config\":{\"name\":\"drop\",\"rate\":0.25},\"name"
    "\":\"drop\",\"inbound_nodes\":[{\"args\":[{\"class_name\":\"__keras_tensor__\",\"config\":{"
    "\"shape\":null,\"dtype\":\"float32\",\"keras_history\":[\"shared\",1,0]}}],\"kwargs\":{}}]},"
    "{\"module\":\"keras.layers\",\"class_name\":\"Dense\",\"config\":{\"name\":\"out\",\"units\""
    ":3,\"activation\":\"softmax\"},\"name\":\"out\",\"inbound_nodes\":[{\"args\":[{\"class_name"
    "\":\"__keras_tensor__\",\"config\":{\"shape\":null,\"dtype\":\"float32\",\"keras_history\":["
    "\"drop\",0,0]}}],\"kwargs\":{}}]}],\"input_layers\":[[\"img\",0,0]],\"output_layers\":[[\"ou"
    "t\",0,0]]}}";

/* keras_hub's TokenAndPositionEmbedding with mask_zero: masks are planned
 * (the Dense passes its input's on; GlobalAveragePooling1D reads it). Ids are
 * the data's values in [0, 1): id 0 everywhere, masked where the value is 0. */
static const char MASKED_SPEC[] =
    "{\"module\": \"keras\", \"class_name\": \"Sequential\", \"config\": {\"name\": \"masked\", \"layers\": ["
    "{\"class_name\": \"InputLayer\", \"config\": {\"batch_shape\": [null, 16]}},"
    "{\"class_name\": \"TokenAndPositionEmbedding\", \"registered_name\": "
    "\"keras_hub>TokenAndPositionEmbedding\", \"config\": {\"vocabulary_size\": 5, "
    "\"sequence_length\": 16, \"embedding_dim\": 3, \"mask_zero\": true}},"
    "{\"class_name\": \"Dense\", \"config\": {\"units\": 4, \"activation\": \"tanh\"}},"
    "{\"class_name\": \"GlobalAveragePooling1D\", \"config\": {}},"
    "{\"class_name\": \"Dense\", \"config\": {\"units\": 3, \"activation\": \"softmax\"}}]}}";
/* Keras 3 functional JSON: causal self-attention (MultiHeadAttention called on
 * (x, x) with use_causal_mask, attention dropout), Flatten, Dense. */
static const char ATTENTION_SPEC[] =
    "{\"module\":\"keras.src.models.functional\",\"class_name\":\"Functional\",\"config\":{\"name"
    "\":\"attention\",\"layers\":[{\"module\":\"keras.layers\",\"class_name\":\"InputLayer\",\"co"
    "nfig\":{\"batch_shape\":[null,4,4],\"name\":\"x\"},\"name\":\"x\",\"inbound_nodes\":[]},{\"m"
    "odule\":\"keras.layers\",\"class_name\":\"MultiHeadAttention\",\"config\":{\"name\":\"att\","
    "\"num_heads\":2,\"key_dim\":2,\"dropout\":0.1},\"name\":\"att\",\"inbound_nodes\":[{\"args\""
    ":[{\"class_name\":\"__keras_tensor__\",\"config\":{\"shape\":null,\"dtype\":\"float32\",\"ke"
    "ras_history\":[\"x\",0,0]}},{\"class_name\":\"__keras_tensor__\",\"config\":{\"shape\":null,"
    "\"dtype\":\"float32\",\"keras_history\":[\"x\",0,0]}}],\"kwargs\":{\"use_causal_mask\":true}"
    "}]},{\"module\":\"keras.layers\",\"class_name\":\"Flatten\",\"config\":{\"name\":\"flat\"},\""
    "name\":\"flat\",\"inbound_nodes\":[{\"args\":[{\"class_name\":\"__keras_tensor__\",\"config\""
    ":{\"shape\":null,\"dtype\":\"float32\",\"keras_history\":[\"att\",0,0]}}],\"kwargs\":{}}]},{"
    "\"module\":\"keras.layers\",\"class_name\":\"Dense\",\"config\":{\"name\":\"out\",\"units\":"
    "3,\"activation\":\"softmax\"},\"name\":\"out\",\"inbound_nodes\":[{\"args\":[{\"class_name\""
    ":\"__keras_tensor__\",\"config\":{\"shape\":null,\"dtype\":\"float32\",\"keras_history\":[\""
    "flat\",0,0]}}],\"kwargs\":{}}]}],\"input_layers\":[[\"x\",0,0]],\"output_layers\":[[\"out\","
    "0,0]]}}";

static lam_dataset *tiny_data(int rank, const int64_t *shape)
{
    lam_dataset *ds = NULL;
    CHECK_OK(lam_dataset_create(&ds, LAM_F32, 24, rank, shape, true, 0));
    float *x = lam_dataset_x(ds);
    int32_t *y = lam_dataset_labels(ds);
    for (int64_t i = 0; i < 24 * 16; i++) x[i] = (float)((i * 37) % 17) / 17.0f;
    for (int64_t i = 0; i < 24; i++) y[i] = (int32_t)(i % 3);
    return ds;
}

typedef struct ckpt { const char *path; int saves; } ckpt;

static lam_status save_checkpoint(lam_model *m, void *user)
{
    ckpt *c = user;
    c->saves++;
    return lam_model_save(m, c->path);
}

/* The whole path once; returns the first failure. */
static lam_status path(const char *spec, const lam_dataset *data, const char *file,
                       const char *ckpt_file, float *pred)
{
    lam_model *m = NULL, *loaded = NULL;
    lam_status s = lam_model_from_json(spec, "spec.json", &m);
    if (s == LAM_OK) lam_model_set_seed(m, 3);
    lam_optimizer adam = lam_adam();
    if (s == LAM_OK) s = lam_model_compile(m, &adam, LAM_LOSS_SPARSE_CATEGORICAL_CE);
    lam_fit_options fo = lam_fit_defaults();
    fo.epochs = 1;
    fo.batch_size = 4;
    fo.verbose = 0;
    fo.validation_split = 0.25f;
    ckpt c = {ckpt_file, 0};
    fo.checkpoint = save_checkpoint;
    fo.checkpoint_user = &c;
    fo.checkpoint_every_steps = 2;
    lam_history *h = NULL;
    if (s == LAM_OK) s = lam_fit(m, data, &fo, &h);
    if (s == LAM_OK) s = lam_model_save(m, file);
    if (s == LAM_OK) s = lam_model_load(file, &loaded);
    if (s == LAM_OK) s = lam_predict(loaded, data, 8, pred);
    lam_eval_result r;
    if (s == LAM_OK) s = lam_evaluate(loaded, data, 8, 0, &r);
    lam_history_free(h);
    lam_model_free(loaded);
    lam_model_free(m);
    return s;
}

/* The functional path: a model of two inputs and two outputs built with the
 * functional calls (a Dense layer shared by both inputs, a fan-out), then
 * compile -> per-output losses -> lam_fit_multi (with EarlyStopping and
 * ReduceLROnPlateau) -> forward. */
static lam_status path_functional(const lam_dataset *data, float *pred)
{
    lam_model *m = lam_model_new("graph");
    if (!m) return LAM_ERR_NOMEM;
    lam_model_set_seed(m, 3);
    int a, b, fa, fb, da, db, ha, y1, y2;
    lam_layer_spec flat = lam_layer_defaults(LAM_LAYER_FLATTEN);
    lam_layer_spec dense = lam_layer_defaults(LAM_LAYER_DENSE);
    dense.units = 5;
    dense.activation = LAM_ACT_TANH;
    lam_layer_spec head = lam_layer_defaults(LAM_LAYER_DENSE);
    head.units = 3;
    head.activation = LAM_ACT_SOFTMAX;
    lam_status s = lam_model_input(m, "a", 2, (int64_t[]){4, 4}, &a);
    if (s == LAM_OK) s = lam_model_input(m, "b", 2, (int64_t[]){4, 4}, &b);
    if (s == LAM_OK) s = lam_model_call(m, &flat, 1, &a, &fa);
    flat.name[0] = '\0';
    if (s == LAM_OK) s = lam_model_call(m, &flat, 1, &b, &fb);
    if (s == LAM_OK) s = lam_model_call(m, &dense, 1, &fa, &da);
    if (s == LAM_OK) s = lam_model_call_shared(m, da, 1, &fb, &db);
    if (s == LAM_OK) s = lam_model_call(m, &head, 1, &da, &y1);
    head.units = 1; /* a regression head: the label is its target */
    head.activation = LAM_ACT_LINEAR;
    if (s == LAM_OK) s = lam_model_call(m, &head, 1, &db, &ha);
    y2 = ha;
    if (s == LAM_OK) s = lam_model_set_outputs(m, 2, (int[]){y1, y2});
    lam_optimizer adam = lam_adam();
    if (s == LAM_OK) s = lam_model_compile(m, &adam, LAM_LOSS_SPARSE_CATEGORICAL_CE);
    if (s == LAM_OK) s = lam_model_set_output_loss(m, 1, LAM_LOSS_MSE, 0.5f);
    lam_fit_options fo = lam_fit_defaults();
    fo.batch_size = 4;
    fo.verbose = 0;
    fo.validation_split = 0.25f;
    /* Callbacks allocate too (EarlyStopping's copy of the best weights). */
    lam_callback cbs[2] = {lam_early_stopping(), lam_reduce_lr_on_plateau()};
    cbs[0].monitor = cbs[1].monitor = "loss";
    cbs[0].restore_best_weights = true;
    fo.callbacks = cbs;
    fo.ncallbacks = 2;
    lam_history *h = NULL;
    const lam_dataset *xs[2] = {data, data}, *ys[2] = {data, data};
    if (s == LAM_OK) s = lam_fit_multi(m, 2, xs, 2, ys, &fo, &h);
    lam_history_free(h);
    if (s == LAM_OK) s = lam_model_plan(m, 8);
    if (s == LAM_OK) {
        lam_dataset_gather(data, NULL, 8, lam_model_input_buffer(m, 0), NULL, NULL);
        lam_dataset_gather(data, NULL, 8, lam_model_input_buffer(m, 1), NULL, NULL);
        s = lam_forward(m, 8, LAM_MODE_INFER);
    }
    if (s == LAM_OK) memcpy(pred, lam_model_output(m, 0), 8 * 3 * sizeof *pred);
    lam_model_free(m);
    return s;
}

/* Files in dir other than the two the path writes (a failed atomic write
 * must remove its temporary file); prints the first. */
static int stray_files(const char *what, long n)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    int stray = 0;
    struct dirent *e;
    char a[128], b[128];
    snprintf(a, sizeof a, "%s.safetensors", what);
    snprintf(b, sizeof b, "%s-ckpt.safetensors", what);
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, a) ||
            !strcmp(e->d_name, b))
            continue;
        if (!stray++) printf("%s: allocation %ld left %s/%s behind\n", what, n, dir, e->d_name);
        char p[600];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    return stray;
}

/* The text path: a text file -> char tokenizer -> ids -> language-model
 * windows; BPE training, encoding and decoding; a text classification folder
 * -> token ids and counts; a model keeping its tokenizer in its metadata ->
 * save -> load -> the tokenizer back. Fixtures: tests/fixtures/text/. */
static const char TEXT_PATH[] = "text";

static lam_status path_text(const char *file)
{
    char *text = NULL, *back = NULL, *joined = NULL;
    size_t len = 0, blen = 0, jlen = 0;
    lam_tokenizer *chars = NULL, *bpe = NULL, *again = NULL;
    int32_t *ids = NULL, *bids = NULL;
    int64_t n = 0, bn = 0;
    lam_dataset *train = NULL, *val = NULL, *cls = NULL, *counts = NULL;
    lam_text_samples *samples = NULL;
    lam_model *m = NULL, *loaded = NULL;
    lam_status s = lam_load_text("fixtures/text/corpus.txt", &text, &len);
    if (s == LAM_OK) s = lam_tokenizer_train(LAM_TOKENIZER_CHAR, 0, text, len, &chars);
    if (s == LAM_OK) s = lam_tokenizer_encode(chars, text, len, &ids, &n);
    if (s == LAM_OK) s = lam_lm_split(ids, n, 16, 0.1, &train, &val);
    /* A short text keeps BPE's allocations (pair tables, occurrence lists) few. */
    if (s == LAM_OK) s = lam_tokenizer_train(LAM_TOKENIZER_BPE, 280, text, 400, &bpe);
    if (s == LAM_OK) s = lam_tokenizer_encode(bpe, text, 400, &bids, &bn);
    if (s == LAM_OK) s = lam_tokenizer_decode(bpe, bids, bn, &back, &blen);
    if (s == LAM_OK) s = lam_load_textcls("fixtures/text/textcls_files", &samples);
    if (s == LAM_OK) s = lam_text_samples_drop_small_classes(samples, 1); /* keeps them all */
    if (s == LAM_OK) s = lam_text_samples_join(samples, &joined, &jlen);
    if (s == LAM_OK) s = lam_textcls_dataset(samples, bpe, 8, &cls);
    if (s == LAM_OK) s = lam_textcls_counts(samples, bpe, &counts);
    if (s == LAM_OK && !(m = lam_sequential("text"))) s = LAM_ERR_NOMEM;
    if (s == LAM_OK) s = lam_model_add_input(m, 1, (int64_t[]){8});
    if (s == LAM_OK) s = lam_model_add_dense(m, 3, LAM_ACT_SOFTMAX);
    lam_optimizer adam = lam_adam();
    if (s == LAM_OK) s = lam_model_compile(m, &adam, LAM_LOSS_SPARSE_CATEGORICAL_CE);
    if (s == LAM_OK) s = lam_model_set_metadata(m, "source", "fixtures/text");
    if (s == LAM_OK) s = lam_model_set_tokenizer(m, bpe);
    if (s == LAM_OK) s = lam_model_save(m, file);
    if (s == LAM_OK) s = lam_model_load(file, &loaded);
    if (s == LAM_OK) s = lam_model_tokenizer(loaded, &again);
    lam_tokenizer_free(again);
    lam_model_free(loaded);
    lam_model_free(m);
    lam_dataset_free(counts);
    lam_dataset_free(cls);
    free(joined);
    lam_text_samples_free(samples);
    free(back);
    free(bids);
    lam_tokenizer_free(bpe);
    lam_dataset_free(val);
    lam_dataset_free(train);
    free(ids);
    lam_tokenizer_free(chars);
    free(text);
    return s;
}

/* Generation: a char tokenizer, a tiny causal GPT (Embedding +
 * PositionEmbedding, causal MultiHeadAttention, Dense softmax) -> lam_generate
 * with the decoder's cache, then without. */
static const char GENERATE_PATH[] = "generate";

static lam_status call(lam_model *m, lam_layer_spec s, int n, const int *in, int *out)
{
    return lam_model_call(m, &s, n, in, out);
}

static lam_status path_generate(void)
{
    static const char text[] = "the cat sat on the mat; the rat ate the hat.";
    lam_tokenizer *tok = NULL;
    lam_model *m = NULL;
    char *out = NULL, *out2 = NULL;
    size_t len = 0;
    lam_status s = lam_tokenizer_train(LAM_TOKENIZER_CHAR, 0, text, sizeof text - 1, &tok);
    if (s == LAM_OK && !(m = lam_model_new("gpt"))) s = LAM_ERR_NOMEM;
    int x, e, p, a, h, y;
    lam_layer_spec emb = lam_layer_defaults(LAM_LAYER_EMBEDDING);
    emb.input_dim = s == LAM_OK ? lam_tokenizer_vocab_size(tok) : 1;
    emb.units = 4;
    lam_layer_spec pe = lam_layer_defaults(LAM_LAYER_POSITION_EMBEDDING);
    pe.sequence_length = 8;
    lam_layer_spec mha = lam_layer_defaults(LAM_LAYER_MULTI_HEAD_ATTENTION);
    mha.num_heads = 1;
    mha.key_dim = 2;
    mha.use_causal_mask = true;
    lam_layer_spec head = lam_layer_defaults(LAM_LAYER_DENSE);
    head.units = emb.input_dim;
    head.activation = LAM_ACT_SOFTMAX;
    if (s == LAM_OK) s = lam_model_input(m, "ids", 1, (int64_t[]){8}, &x);
    if (s == LAM_OK) s = call(m, emb, 1, &x, &e);
    if (s == LAM_OK) s = call(m, pe, 1, &e, &p);
    if (s == LAM_OK) s = call(m, lam_layer_defaults(LAM_LAYER_ADD), 2, (int[]){e, p}, &a);
    if (s == LAM_OK) s = call(m, mha, 2, (int[]){a, a}, &h);
    if (s == LAM_OK) s = call(m, head, 1, &h, &y);
    lam_optimizer adam = lam_adam();
    if (s == LAM_OK) s = lam_model_compile(m, &adam, LAM_LOSS_SPARSE_CATEGORICAL_CE);
    lam_generate_options o = lam_generate_defaults();
    o.max_tokens = 12; /* past the context of 8: a restart */
    if (s == LAM_OK) s = lam_generate(m, tok, "the ", &o, &out, &len);
    o.no_cache = true;
    if (s == LAM_OK) s = lam_generate(m, tok, "the ", &o, &out2, &len);
    free(out2);
    free(out);
    lam_model_free(m);
    lam_tokenizer_free(tok);
    return s;
}

/* Explanations: every attribution method on the CNN (integrated gradients
 * with a blurred baseline), token ids explained at the embedding (the
 * masked model), attention weights (the attention model). */
static const char EXPLAIN_PATH[] = "explain";

static lam_status explain_model(const char *spec, lam_model **m)
{
    lam_status s = lam_model_from_json(spec, "spec.json", m);
    lam_optimizer adam = lam_adam();
    if (s == LAM_OK) s = lam_model_compile(*m, &adam, LAM_LOSS_SPARSE_CATEGORICAL_CE);
    return s;
}

static lam_status path_explain(void)
{
    lam_model *cnn = NULL, *tokens = NULL, *att = NULL;
    float x[16], *w = NULL;
    for (int i = 0; i < 16; i++) x[i] = (float)((i * 7) % 5);
    lam_status s = explain_model(CNN_SPEC, &cnn);
    for (int k = 0; k < LAM_EXPLAIN_METHOD_COUNT && s == LAM_OK; k++) {
        lam_explain_options o = lam_explain_defaults((lam_explain_method)k);
        o.batch = 3;
        o.steps = 4;
        o.samples = 4;
        o.baseline = LAM_BASELINE_BLUR;
        o.window[0] = o.window[1] = 2;
        lam_attribution a;
        s = lam_explain(cnn, x, &o, &a);
        lam_attribution_free(&a);
    }
    if (s == LAM_OK) s = explain_model(MASKED_SPEC, &tokens);
    if (s == LAM_OK) {
        lam_explain_options o = lam_explain_defaults(LAM_EXPLAIN_IG);
        o.steps = 4;
        lam_attribution a;
        s = lam_explain(tokens, x, &o, &a);
        lam_attribution_free(&a);
    }
    if (s == LAM_OK) s = explain_model(ATTENTION_SPEC, &att);
    int heads;
    int64_t tq, tk;
    if (s == LAM_OK) s = lam_attention_weights(att, x, "att", &w, &heads, &tq, &tk);
    free(w);
    lam_model_free(att);
    lam_model_free(tokens);
    lam_model_free(cnn);
    return s;
}

/* Explaining trees: a tree and a small forest -> path-dependent and
 * interventional SHAP -> permutation importance -> a surrogate tree and its
 * rules. */
static const char EXPLAIN_TREES_PATH[] = "explain_trees";

static lam_status predict_tree(void *model, const float *x, int64_t n, int64_t d, int32_t *y)
{
    return lam_tree_predict(model, x, n, d, y);
}

static lam_status path_explain_trees(void)
{
    enum { N = 30, D = 3, K = 3 };
    float x[N * D];
    int32_t y[N];
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < D; j++) x[i * D + j] = (float)((i * 7 + j * 13) % 11);
        y[i] = (int32_t)((x[i * D] + x[i * D + 1]) / 7.5f);
    }
    double phi[N * D * K], expected[K], mean[D], std[D], base;
    lam_tree *t = NULL, *s_tree = NULL;
    lam_forest *f = NULL;
    char *rules = NULL;
    lam_forest_params fp = lam_forest_defaults();
    fp.n_trees = 3;
    lam_status s = lam_tree_create(&t, NULL);
    if (s == LAM_OK) s = lam_tree_fit(t, x, N, D, y);
    if (s == LAM_OK) s = lam_tree_shap(t, x, N, D, phi, expected);
    if (s == LAM_OK) s = lam_tree_shap_interventional(t, x, 5, x, N, D, phi, expected);
    if (s == LAM_OK) s = lam_forest_create(&f, &fp);
    if (s == LAM_OK) s = lam_forest_fit(f, x, N, D, y);
    if (s == LAM_OK) s = lam_forest_shap(f, x, N, D, phi, expected);
    if (s == LAM_OK) s = lam_forest_shap_interventional(f, x, 5, x, N, D, phi, expected);
    if (s == LAM_OK)
        s = lam_permutation_importance(predict_tree, t, x, N, D, y, 2, 1, mean, std, &base);
    if (s == LAM_OK) s = lam_surrogate_tree(x, N, D, y, 2, 1, &s_tree);
    if (s == LAM_OK) s = lam_tree_rules(s_tree, NULL, NULL, &rules);
    free(rules);
    lam_tree_free(s_tree);
    lam_forest_free(f);
    lam_tree_free(t);
    return s;
}

/* Privacy accounting: a PRV epsilon (its discretised distributions and FFT
 * buffers), an incremental RDP accountant whose history grows, its restore. */
static const char PRIVACY_PATH[] = "privacy";

static lam_status path_privacy(void)
{
    double eps, order;
    lam_privacy_accountant *acc = NULL, *back = NULL;
    const lam_privacy_steps *runs = NULL;
    lam_status s = lam_privacy_epsilon(LAM_ACCOUNTANT_PRV, 1.0, 0.1, 10, 1e-5, &eps, &order);
    if (s == LAM_OK) s = lam_privacy_accountant_create(LAM_ACCOUNTANT_RDP, &acc);
    for (int k = 0; k < 6 && s == LAM_OK; k++)
        s = lam_privacy_accountant_step(acc, 1.0 + 0.1 * k, 0.01, 5);
    if (s == LAM_OK) s = lam_privacy_accountant_epsilon(acc, 1e-5, &eps);
    size_t n = s == LAM_OK ? lam_privacy_accountant_history(acc, &runs) : 0;
    if (s == LAM_OK) s = lam_privacy_accountant_create(LAM_ACCOUNTANT_PRV, &back);
    if (s == LAM_OK) s = lam_privacy_accountant_restore(back, runs, n);
    if (s == LAM_OK) s = lam_privacy_accountant_epsilon(back, 1e-5, &eps);
    lam_privacy_accountant_free(back);
    lam_privacy_accountant_free(acc);
    return s;
}

/* The encrypted path: a key -> the CNN trained with encrypted checkpoints ->
 * saved encrypted -> loaded with the key -> predict. */
static const char ENCRYPTED_PATH[] = "encrypted";

typedef struct enc_ckpt { const char *path; const lam_key *key; } enc_ckpt;

static lam_status save_encrypted_checkpoint(lam_model *m, void *user)
{
    const enc_ckpt *c = user;
    return lam_model_save_encrypted(m, c->path, c->key);
}

static lam_status path_encrypted(const lam_dataset *data, const char *file,
                                 const char *ckpt_file, float *pred)
{
    static const unsigned char raw[LAM_KEY_BYTES] = {1, 2, 3, 4, 5, 6, 7, 8};
    lam_key *key = NULL;
    lam_model *m = NULL, *loaded = NULL;
    lam_status s = lam_key_from_bytes(raw, &key);
    if (s == LAM_OK) s = lam_model_from_json(CNN_SPEC, "spec.json", &m);
    lam_optimizer adam = lam_adam();
    if (s == LAM_OK) s = lam_model_compile(m, &adam, LAM_LOSS_SPARSE_CATEGORICAL_CE);
    lam_fit_options fo = lam_fit_defaults();
    fo.verbose = 0;
    fo.batch_size = 8;
    enc_ckpt c = {ckpt_file, key};
    fo.checkpoint = save_encrypted_checkpoint;
    fo.checkpoint_user = &c;
    fo.checkpoint_every_steps = 2;
    if (s == LAM_OK) s = lam_fit(m, data, &fo, NULL);
    if (s == LAM_OK) s = lam_model_save_encrypted(m, file, key);
    if (s == LAM_OK) s = lam_model_load_key(file, key, &loaded);
    if (s == LAM_OK) s = lam_predict(loaded, data, 8, pred);
    lam_model_free(loaded);
    lam_model_free(m);
    lam_key_free(key);
    return s;
}

/* Desensitising a CSV table: rules parsed, the table (quoted fields) read,
 * checked, suppression counted, hashed where libsodium is built in, written
 * atomically, the summary made. The input lives at ckpt_file (a name
 * stray_files allows), the output at file. */
static const char DESENS_PATH[] = "desensitize";

static lam_status path_desensitize(const char *file, const char *ckpt_file)
{
    FILE *f = fopen(ckpt_file, "wb");
    if (!f) return LAM_ERR_IO; /* the test's own file: CHECK_OK of the first run reports it */
    fputs("name,email,age,zip,note\n\"Smith, Ann\",ann@x.org,34,1000,\"said \"\"hi\"\"\"\n"
          "Bob,bob@y.org,17,1000,x\nCid,ann@x.org,71,2000,\"two\nlines\"\n", f);
    fclose(f);
    static const unsigned char raw[LAM_KEY_BYTES] = {9};
    lam_key *key = NULL;
    lam_status ks = lam_key_from_bytes(raw, &key);
    if (ks != LAM_OK && ks != LAM_ERR_UNSUPPORTED) return ks; /* built without libsodium: no hash */
    bool hash = ks == LAM_OK;
    lam_desens_rules *rules = NULL;
    lam_desens_summary sum;
    lam_status s = lam_desens_rules_parse(hash ? "name: drop\nemail: hash\nage: bin:0,18,65\n"
                                                 "zip: suppress:2\n"
                                               : "name: drop\nage: bin:10\nzip: suppress:2\n",
                                          "rules", &rules);
    if (s == LAM_OK) s = lam_desensitize_csv(ckpt_file, file, rules, key, &sum);
    if (s == LAM_OK) lam_desens_summary_free(&sum);
    lam_desens_rules_free(rules);
    lam_key_free(key);
    return s;
}

/* DP-SGD: a small model fitted for an epoch with per-sample clipping, noise
 * (seeded and secure), Poisson batches and the accountant's metadata. */
static const char DP_PATH[] = "dp";

static lam_status path_dp(const lam_dataset *data)
{
    lam_model *m = lam_sequential("dp");
    lam_status s = m ? LAM_OK : LAM_ERR_NOMEM;
    if (s == LAM_OK) s = lam_model_add_input(m, 2, (int64_t[]){4, 4});
    if (s == LAM_OK) s = lam_model_add_flatten(m);
    if (s == LAM_OK) s = lam_model_add_dense(m, 3, LAM_ACT_SOFTMAX);
    lam_optimizer sgd = lam_sgd();
    if (s == LAM_OK) s = lam_model_compile(m, &sgd, LAM_LOSS_SPARSE_CATEGORICAL_CE);
    for (int secure = 0; secure < 2 && s == LAM_OK; secure++) {
        lam_dp_options dp = lam_dp_defaults();
        dp.seeded_noise = !secure;
        lam_fit_options fo = lam_fit_defaults();
        fo.batch_size = 6;
        fo.verbose = 0;
        fo.dp = &dp;
        s = lam_fit(m, data, &fo, NULL);
    }
    lam_model_free(m);
    return s;
}

/* Feature scaling: a Normalization put in front of a model, adapted, saved and
 * loaded; an SVM with standardisation fitted, saved (its scaler) and loaded. */
static const char SCALING_PATH[] = "scaling";

/* Streaming: tiny uint8 .npy shards (x [n, 4, 4], y int32 [n]) and IDX
 * files, written once by the test; the path maps them (one file, the
 * shards, IDX) and trains on the mapped set with the prefetch thread. */
static const char STREAMING_PATH[] = "streaming";
static char stream_dir[300]; /* beside dir: stray_files removes what it finds in dir */

static void write_npy(const char *path, const char *descr, int rank, const int64_t *shape,
                      const void *data, size_t bytes)
{
    char dict[128], dims[64] = "";
    for (int k = 0; k < rank; k++)
        snprintf(dims + strlen(dims), sizeof dims - strlen(dims), "%lld,%s",
                 (long long)shape[k], rank > 1 && k + 1 < rank ? " " : "");
    int len = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, "
                       "'shape': (%s), }", descr, dims);
    const int header = (10 + len + 1 + 63) / 64 * 64 - 10; /* 64-byte aligned, '\n' last */
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL, "cannot write %s", path);
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fputc(header & 0xff, f);
    fputc(header >> 8, f);
    fprintf(f, "%-*s\n", header - 1, dict);
    fwrite(data, 1, bytes, f);
    fclose(f);
}

static void write_idx(const char *path, const uint8_t *head, size_t head_bytes,
                      const uint8_t *data, size_t bytes)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL, "cannot write %s", path);
    fwrite(head, 1, head_bytes, f);
    fwrite(data, 1, bytes, f);
    fclose(f);
}

static void streaming_files(void)
{
    uint8_t x[24 * 16], labels8[24];
    int32_t y[24];
    for (int i = 0; i < 24 * 16; i++) x[i] = (uint8_t)((i * 37) % 251);
    for (int i = 0; i < 24; i++) y[i] = i % 3, labels8[i] = (uint8_t)(i % 3);
    snprintf(stream_dir, sizeof stream_dir, "%s-data", dir);
    CHECK(mkdir(stream_dir, 0700) == 0, "cannot make %s", stream_dir);
    char p[512];
    for (int k = 0; k < 2; k++) { /* two shards of 12 */
        snprintf(p, sizeof p, "%s/x%d.npy", stream_dir, k);
        write_npy(p, "|u1", 3, (int64_t[]){12, 4, 4}, x + k * 12 * 16, 12 * 16);
        snprintf(p, sizeof p, "%s/y%d.npy", stream_dir, k);
        write_npy(p, "<i4", 1, (int64_t[]){12}, y + k * 12, 12 * sizeof(int32_t));
    }
    const uint8_t images[16] = {0, 0, 8, 3, 0, 0, 0, 24, 0, 0, 0, 4, 0, 0, 0, 4};
    const uint8_t labels[8] = {0, 0, 8, 1, 0, 0, 0, 24};
    snprintf(p, sizeof p, "%s/images.idx", stream_dir);
    write_idx(p, images, sizeof images, x, sizeof x);
    snprintf(p, sizeof p, "%s/labels.idx", stream_dir);
    write_idx(p, labels, sizeof labels, labels8, sizeof labels8);
}

static void streaming_files_remove(void)
{
    static const char *names[] = {"x0.npy", "x1.npy", "y0.npy", "y1.npy", "images.idx",
                                  "labels.idx"};
    char p[512];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", stream_dir, names[i]);
        unlink(p);
    }
    rmdir(stream_dir);
}

static lam_status path_streaming(void)
{
    char x[2][512], y[2][512], images[512], labels[512];
    for (int k = 0; k < 2; k++) {
        snprintf(x[k], sizeof x[k], "%s/x%d.npy", stream_dir, k);
        snprintf(y[k], sizeof y[k], "%s/y%d.npy", stream_dir, k);
    }
    snprintf(images, sizeof images, "%s/images.idx", stream_dir);
    snprintf(labels, sizeof labels, "%s/labels.idx", stream_dir);
    const char *xs[2] = {x[0], x[1]}, *ys[2] = {y[0], y[1]};
    lam_dataset *one = NULL, *shards = NULL, *idx = NULL;
    lam_model *m = lam_sequential("streamed");
    lam_status s = m ? LAM_OK : LAM_ERR_NOMEM;
    if (s == LAM_OK) s = lam_open_npy(x[0], y[0], LAM_STORAGE_MAPPED, &one);
    if (s == LAM_OK) s = lam_open_npy_shards(2, xs, ys, &shards);
    if (s == LAM_OK) s = lam_open_idx(images, labels, LAM_STORAGE_MAPPED, &idx);
    if (s == LAM_OK) s = lam_model_add_input(m, 2, (int64_t[]){4, 4});
    if (s == LAM_OK) s = lam_model_add_flatten(m);
    if (s == LAM_OK) s = lam_model_add_dense(m, 3, LAM_ACT_SOFTMAX);
    lam_optimizer sgd = lam_sgd();
    if (s == LAM_OK) s = lam_model_compile(m, &sgd, LAM_LOSS_SPARSE_CATEGORICAL_CE);
    lam_fit_options fo = lam_fit_defaults();
    fo.batch_size = 5;
    fo.verbose = 0;
    fo.prefetch = true;
    if (s == LAM_OK) s = lam_fit(m, shards, &fo, NULL);
    if (s == LAM_OK) s = lam_fit(m, idx, &fo, NULL);
    lam_eval_result r;
    if (s == LAM_OK) s = lam_evaluate(m, one, 4, 0, &r);
    lam_model_free(m);
    lam_dataset_free(one);
    lam_dataset_free(shards);
    lam_dataset_free(idx);
    return s;
}

static lam_status path_scaling(const lam_dataset *data, const char *file, float *pred)
{
    lam_model *m = lam_sequential("scaled"), *with = NULL, *back = NULL;
    lam_status s = m ? LAM_OK : LAM_ERR_NOMEM;
    int layer = -1;
    if (s == LAM_OK) s = lam_model_add_input(m, 2, (int64_t[]){4, 4});
    if (s == LAM_OK) s = lam_model_add_flatten(m);
    if (s == LAM_OK) s = lam_model_add_dense(m, 3, LAM_ACT_SOFTMAX);
    if (s == LAM_OK) s = lam_model_prepend_normalization(m, &with, &layer);
    lam_optimizer sgd = lam_sgd();
    if (s == LAM_OK) s = lam_model_compile(with, &sgd, LAM_LOSS_SPARSE_CATEGORICAL_CE);
    if (s == LAM_OK) s = lam_model_adapt_normalization(with, layer, data, LAM_SCALING_STANDARD);
    if (s == LAM_OK) s = lam_model_save(with, file);
    if (s == LAM_OK) s = lam_model_load(file, &back);
    if (s == LAM_OK) s = lam_predict(back, data, 8, pred);
    lam_model_free(m);
    lam_model_free(with);
    lam_model_free(back);
    lam_svm_params p = lam_svm_defaults();
    p.scaling = LAM_SCALING_STANDARD;
    lam_svm *svm = NULL, *svm_back = NULL;
    float *x = malloc(sizeof(float) * 24 * 16);
    int32_t *y = malloc(sizeof(int32_t) * 24), labels[24];
    if (s == LAM_OK && (!x || !y)) s = LAM_ERR_NOMEM;
    if (s == LAM_OK) s = lam_dataset_gather(data, NULL, 24, x, y, NULL);
    if (s == LAM_OK) s = lam_svm_create(&svm, &p);
    if (s == LAM_OK) s = lam_svm_fit(svm, x, 24, 16, y);
    if (s == LAM_OK) s = lam_svm_save(svm, file);
    if (s == LAM_OK) s = lam_svm_load(file, &svm_back);
    if (s == LAM_OK) s = lam_svm_predict(svm_back, x, 24, 16, labels);
    lam_svm_free(svm);
    lam_svm_free(svm_back);
    free(x);
    free(y);
    return s;
}

/* spec NULL: the functional path; TEXT_PATH, GENERATE_PATH, EXPLAIN_PATH,
 * EXPLAIN_TREES_PATH, PRIVACY_PATH, DESENS_PATH, ENCRYPTED_PATH, DP_PATH: those
 * paths. */
static lam_status run_path(const char *spec, const lam_dataset *data, const char *file,
                           const char *ckpt_file, float *pred)
{
    if (spec == TEXT_PATH) return path_text(file);
    if (spec == GENERATE_PATH) return path_generate();
    if (spec == EXPLAIN_PATH) return path_explain();
    if (spec == EXPLAIN_TREES_PATH) return path_explain_trees();
    if (spec == PRIVACY_PATH) return path_privacy();
    if (spec == DESENS_PATH) return path_desensitize(file, ckpt_file);
    if (spec == ENCRYPTED_PATH) return path_encrypted(data, file, ckpt_file, pred);
    if (spec == DP_PATH) return path_dp(data);
    if (spec == SCALING_PATH) return path_scaling(data, file, pred);
    if (spec == STREAMING_PATH) return path_streaming();
    return spec ? path(spec, data, file, ckpt_file, pred) : path_functional(data, pred);
}

static void fail_each_allocation(const char *what, const char *spec, int rank,
                                 const int64_t *shape)
{
    lam_dataset *data = tiny_data(rank, shape);
    char file[512], ckpt_file[512];
    snprintf(file, sizeof file, "%s/%s.safetensors", dir, what);
    snprintf(ckpt_file, sizeof ckpt_file, "%s/%s-ckpt.safetensors", dir, what);
    float *pred = malloc(24 * 3 * sizeof *pred);

    /* Without injected failures the path works. */
    CHECK_OK(run_path(spec, data, file, ckpt_file, pred));

    /* Past the path's last allocation every N succeeds; 25 successes in a
     * row end the loop. A success followed by more failures would mean that
     * an allocation failed and the library went on without it: none may. */
    long n, failures = 0, nomem = 0, absorbed = 0, run = 0, last_failure = 0;
    for (n = 1; n < 20000 && run < 25; n++) {
        lam_testing_fail_alloc_after(n);
        lam_status s = run_path(spec, data, file, ckpt_file, pred);
        lam_testing_fail_alloc_after(0);
        CHECK(!stray_files(what, n), "%s: allocation %ld: a failed save left a file behind",
              what, n);
        if (s == LAM_OK) {
            run++;
            continue;
        }
        if (run) {
            absorbed += run;
            printf("%s: allocations %ld..%ld failed without stopping the path (a fallback)\n",
                   what, n - run, n - 1);
        }
        run = 0;
        failures++;
        last_failure = n;
        const char *msg = lam_last_error();
        CHECK(msg[0] != '\0', "%s: allocation %ld: status %d (%s) with an empty message", what,
              n, s, lam_status_name(s));
        if (s == LAM_ERR_NOMEM) nomem++;
        else
            printf("%s: allocation %ld reported as %s: %s\n", what, n, lam_status_name(s), msg);
    }
    CHECK(run == 25, "%s: the path never completed within %ld allocations", what, n);
    CHECK(failures > 20, "%s: only %ld allocations on the path", what, failures);
    CHECK(absorbed == 0, "%s: %ld allocation failures absorbed (see above)", what, absorbed);
    printf("%s: %ld allocations on the path; %ld failures each stopped it with a message (%ld "
           "as out of memory), %ld absorbed by fallbacks\n", what, last_failure, failures, nomem,
           absorbed);
    free(pred);
    lam_dataset_free(data);
    unlink(file);
    unlink(ckpt_file);
}

/* Pictures: the allocations lamina makes for them (the bars' and the
 * beeswarm's sort orders, the beeswarm's per-sample arrays and names, the
 * token layout) fail in turn; each failure must stop the path with a message
 * naming the picture and leave no file. cairo allocates surfaces, paths and
 * fonts with its own malloc, which the countdown does not reach. Skipped in
 * a build without cairo. */
static lam_status path_plot(const char *const *files, int *written)
{
    static const char *labels[] = {"a", "b", "c"};
    static const double values[] = {0.3, 0.9, 0.1}, errors[] = {0.01, 0.02, 0.03};
    static const double phi[] = {0.1, -0.2, 0.3, 0.4, -0.5, 0.6};
    static const float x[] = {1, 2, 3, 4, 5, 6}, token_values[] = {0.5f, -1.0f, 0.25f};
    static const char *tokens[] = {"one", "<two>", "three"};
    static float image[16], map[16];
    const float *maps[] = {map};
    const double *ys[] = {values};
    map[5] = 1;
    lam_status s = lam_plot_bars(files[0], "bars", "value", labels, values, errors, 3, 0);
    if (s == LAM_OK) *written = 1, s = lam_plot_beeswarm(files[1], NULL, labels, phi, x, 3, 2, 0);
    if (s == LAM_OK) *written = 2, s = lam_plot_tokens(files[2], "tokens", tokens, token_values, 3);
    if (s == LAM_OK) *written = 3, s = lam_plot_tokens(files[3], NULL, tokens, token_values, 3);
    if (s == LAM_OK)
        *written = 4, s = lam_plot_attributions(files[4], NULL, image, 4, 4, 1, maps, NULL, 1);
    if (s == LAM_OK)
        *written = 5, s = lam_plot_lines(files[5], NULL, NULL, NULL, values, ys, NULL, 1, 3);
    if (s == LAM_OK) *written = 6;
    return s;
}

static void fail_each_plot_allocation(void)
{
    if (!lam_plot_available()) {
        printf("plot: skipped (%s)\n", "lamina built without cairo");
        return;
    }
    static const char *names[] = {"bars.png", "beeswarm.png", "tokens.png", "tokens.html",
                                  "attributions.png", "lines.png"};
    char files[6][600];
    const char *f[6];
    for (int k = 0; k < 6; k++) {
        snprintf(files[k], sizeof files[k], "%s/%s", dir, names[k]);
        f[k] = files[k];
    }
    long n, failures = 0, run = 0;
    for (n = 1; n < 1000 && run < 25; n++) {
        int written = 0;
        lam_testing_fail_alloc_after(n);
        lam_status s = path_plot(f, &written);
        lam_testing_fail_alloc_after(0);
        /* Exactly the pictures drawn before the failure exist. */
        for (int k = 0; k < 6; k++) {
            CHECK((access(f[k], F_OK) == 0) == (k < written),
                  "plot: allocation %ld: %s %s", n, f[k], k < written ? "missing" : "left behind");
            unlink(f[k]);
        }
        if (s == LAM_OK) {
            run++;
            continue;
        }
        CHECK(run == 0, "plot: allocation %ld failed after %ld successes", n, run);
        run = 0;
        failures++;
        CHECK(s == LAM_ERR_NOMEM && strstr(lam_last_error(), f[written]),
              "plot: allocation %ld: status %d, message \"%s\" does not name %s", n, s,
              lam_last_error(), f[written]);
    }
    CHECK(run == 25, "plot: the path never completed within %ld allocations", n);
    CHECK(failures >= 8, "plot: only %ld allocations on the path", failures);
    printf("plot: %ld allocations on the path, each failure stopped it with a message\n",
           failures);
}

/* ONNX export: each allocation of lam_model_export_onnx (its tables and the
 * arena that holds the graph) fails in turn; each failure must stop it with
 * a message and leave no file. Skipped in a build without ONNX export. */
static void fail_each_onnx_allocation(void)
{
    if (!lam_onnx_available()) {
        printf("onnx: skipped (lamina built without protobuf-c)\n");
        return;
    }
    lam_model *m = NULL;
    CHECK_OK(lam_model_from_json(ATTENTION_SPEC, "attention", &m));
    lam_optimizer adam = lam_adam();
    CHECK_OK(lam_model_compile(m, &adam, LAM_LOSS_SPARSE_CATEGORICAL_CE));
    char file[600];
    snprintf(file, sizeof file, "%s/model.onnx", dir);
    long n, failures = 0, run = 0;
    for (n = 1; n < 1000 && run < 25; n++) {
        lam_testing_fail_alloc_after(n);
        lam_status s = lam_model_export_onnx(m, file, NULL);
        lam_testing_fail_alloc_after(0);
        if (s == LAM_OK) {
            run++;
            unlink(file);
            continue;
        }
        CHECK(run == 0, "onnx: allocation %ld failed after %ld successes", n, run);
        CHECK(access(file, F_OK) != 0, "onnx: allocation %ld: a failed export left %s", n, file);
        CHECK(s == LAM_ERR_NOMEM && lam_last_error()[0], "onnx: allocation %ld: status %d (%s)",
              n, s, lam_last_error());
        run = 0;
        failures++;
    }
    CHECK(run == 25, "onnx: the export never completed within %ld allocations", n);
    CHECK(failures >= 3, "onnx: only %ld allocations on the path", failures);
    printf("onnx: %ld allocations on the path, each failure stopped it with a message\n",
           failures);
    lam_model_free(m);
}

/* Learning curves: a CSVLogger file read, a model's history recorded twice
 * (the second run resumed from epoch 1, merged with the first) and read back.
 * Each failure must stop the path with LAM_ERR_NOMEM and a message, and hand
 * back no curves. cJSON's own allocations are not counted. */
static void fail_each_curves_allocation(void)
{
    char csv[600];
    snprintf(csv, sizeof csv, "%s/log.csv", dir);
    FILE *f = fopen(csv, "wb");
    CHECK(f != NULL, "curves: cannot write %s", csv);
    if (!f) return;
    fputs("epoch,accuracy,loss,val_accuracy,val_loss\n0,0.5,1.25,0.5,1.5\n1,0.75,1,NA,1.25\n", f);
    fclose(f);
    lam_epoch_log logs[2] = {
        {.loss = 1, .accuracy = 0.5, .has_accuracy = true, .learning_rate = 0.01, .epsilon = NAN},
        {.loss = 0.5, .accuracy = 0.75, .val_loss = 0.75, .val_accuracy = 0.5,
         .has_accuracy = true, .has_val = true, .learning_rate = 0.01, .epsilon = NAN}};
    const lam_history h = {.epochs = 2, .log = logs};
    long n, failures = 0, run = 0;
    for (n = 1; n < 2000 && run < 25; n++) {
        lam_model *m = lam_sequential("curves");
        lam_curves *c = NULL, *back = NULL;
        lam_testing_fail_alloc_after(n);
        lam_status s = lam_curves_read(csv, &c);
        if (s == LAM_OK) s = lam_model_record_history(m, &h, 0);
        if (s == LAM_OK) s = lam_model_record_history(m, &h, 1);
        if (s == LAM_OK) s = lam_model_history(m, &back);
        lam_testing_fail_alloc_after(0);
        CHECK(s != LAM_OK || (c && c->epochs == 2 && back && back->epochs == 3),
              "curves: allocation %ld: a success without the curves", n);
        CHECK(s == LAM_OK || (!back && lam_last_error()[0]),
              "curves: allocation %ld: a failure with curves or without a message", n);
        lam_curves_free(c);
        lam_curves_free(back);
        lam_model_free(m);
        if (s == LAM_OK) {
            run++;
            continue;
        }
        CHECK(run == 0, "curves: allocation %ld failed after %ld successes", n, run);
        run = 0;
        failures++;
        CHECK(s == LAM_ERR_NOMEM, "curves: allocation %ld: status %d: %s", n, s, lam_last_error());
    }
    CHECK(run == 25, "curves: the path never completed within %ld allocations", n);
    CHECK(failures >= 10, "curves: only %ld allocations on the path", failures);
    printf("curves: %ld allocations on the path, each failure stopped it with a message\n",
           failures);
    unlink(csv);
}

/* Importing Keras files (.keras and .h5): every allocation lamina makes on
 * the way (the zip members, the attribute strings, the model) can fail, and
 * each failure is LAM_ERR_NOMEM naming the file, with no model left. HDF5's,
 * libzip's and cJSON's own allocations are outside lamina's reach. */
static void fail_each_keras_allocation(void)
{
    static const char *files[] = {"fixtures/keras_files/zoo.keras", "fixtures/keras_files/zoo.h5"};
    lam_model *probe = NULL;
    if (lam_model_import_keras(files[0], &probe) == LAM_ERR_UNSUPPORTED) {
        printf("keras: skipped (%s)\n", lam_last_error());
        return;
    }
    lam_model_free(probe);
    for (int k = 0; k < 2; k++) {
        long n, failures = 0, run = 0;
        for (n = 1; n < 5000 && run < 25; n++) {
            lam_model *m = NULL;
            lam_testing_fail_alloc_after(n);
            lam_status s = lam_model_import_keras(files[k], &m);
            lam_testing_fail_alloc_after(0);
            if (s == LAM_OK) {
                CHECK(m != NULL, "keras: %s: LAM_OK without a model", files[k]);
                lam_model_free(m);
                run++;
                continue;
            }
            CHECK(run == 0, "keras: %s: allocation %ld failed after %ld successes", files[k], n,
                  run);
            run = 0;
            failures++;
            CHECK(m == NULL, "keras: %s: allocation %ld: a model despite the failure", files[k], n);
            CHECK(s == LAM_ERR_NOMEM && strstr(lam_last_error(), files[k]),
                  "keras: %s: allocation %ld: status %d, message \"%s\"", files[k], n, s,
                  lam_last_error());
        }
        CHECK(run == 25, "keras: %s: never loaded within %ld allocations", files[k], n);
        CHECK(failures >= 10, "keras: %s: only %ld allocations on the path", files[k], failures);
        printf("keras: %s: %ld allocations on the path, each failure stopped it with a message\n",
               files[k], failures);
    }
}

int main(void)
{
    lam_set_threads(1);
    const char *base = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/lamina-alloc-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(dir)) {
        perror(dir);
        return 1;
    }
    fail_each_allocation("cnn", CNN_SPEC, 3, (int64_t[]){4, 4, 1});
    fail_each_allocation("lstm_gru", GRU_SPEC, 2, (int64_t[]){4, 4});
    fail_each_allocation("functional", NULL, 2, (int64_t[]){4, 4});
    fail_each_allocation("functional_json", FUNCTIONAL_SPEC, 3, (int64_t[]){4, 4, 1});
    fail_each_allocation("masked", MASKED_SPEC, 1, (int64_t[]){16});
    fail_each_allocation("text", TEXT_PATH, 3, (int64_t[]){4, 4, 1});
    fail_each_allocation("attention_json", ATTENTION_SPEC, 2, (int64_t[]){4, 4});
    fail_each_allocation("generate", GENERATE_PATH, 2, (int64_t[]){4, 4});
    fail_each_allocation("explain", EXPLAIN_PATH, 2, (int64_t[]){4, 4});
    fail_each_plot_allocation();
    fail_each_curves_allocation();
    fail_each_allocation("explain_trees", EXPLAIN_TREES_PATH, 2, (int64_t[]){4, 4});
    fail_each_allocation("privacy", PRIVACY_PATH, 2, (int64_t[]){4, 4});
    fail_each_allocation("dp", DP_PATH, 2, (int64_t[]){4, 4});
    fail_each_allocation("desensitize", DESENS_PATH, 2, (int64_t[]){4, 4});
    fail_each_onnx_allocation();
    fail_each_allocation("scaling", SCALING_PATH, 2, (int64_t[]){4, 4});
    streaming_files();
    fail_each_allocation("streaming", STREAMING_PATH, 2, (int64_t[]){4, 4});
    streaming_files_remove();
    fail_each_keras_allocation();
    lam_key *probe = NULL;
    if (lam_key_generate(&probe) == LAM_OK)
        fail_each_allocation("encrypted", ENCRYPTED_PATH, 3, (int64_t[]){4, 4, 1});
    else
        printf("encrypted: skipped: %s\n", lam_last_error());
    lam_key_free(probe);
    rmdir(dir);
    return test_summary("test_alloc_failures");
}
