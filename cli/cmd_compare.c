/* cmd_compare.c - `lamina compare`: trains classic models (SVM, decision
 * tree, random forest, linear SVM), deep ones (the seed CNN and LSTM) and any
 * Keras JSON spec (spec:PATH) on the same split, and tabulates test accuracy,
 * training time, prediction time per sample and the size of the saved model
 * file.
 *
 * Every model uses its library defaults (as scikit-learn's defaults for the
 * classic ones, Keras's for the deep ones), so the table compares what a user
 * gets without tuning. On textcls:DIR the classic models see token counts
 * (bag of tokens) and a spec sees token ids, of the same samples. */
#include "cli.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char USAGE[] =
    "usage: lamina compare --data SOURCE [--models svm,tree,forest,linear,cnn,lstm,spec:PATH]\n"
    "                      [options]\n"
    "\n"
    "Trains each model on the same training data and reports test accuracy, training time,\n"
    "prediction time per sample and saved model size. The test split is the source's own\n"
    "(Fashion-MNIST, IDX folders with t10k-*) or else the last 20% of the samples.\n"
    "The CNN and LSTM need 2-D samples (images, e.g. 28x28); they are skipped otherwise.\n"
    "spec:PATH is a Keras JSON spec (model.to_json()), trained as `lamina train` would with\n"
    "Adam for --epochs; on textcls:DIR it gets token ids (its input length per sample, 0 =\n"
    "padding) where the classic models get token counts, of the same samples and split.\n"
    "Kernel SVM training grows quadratically with the samples: use --limit (e.g. 5000).\n"
    "\n"
    "  --data SOURCE     data (see `lamina --help`)\n"
    "  --models LIST     comma-separated (default svm,tree,forest,linear,cnn,lstm); spec:PATH\n"
    "                    adds a Keras JSON spec (named by its file name in the table)\n"
    "  --limit N         train on the first N training samples only\n"
    "  --test-limit N    test on the first N test samples only\n"
    "  --epochs N        epochs for the CNN, LSTM and specs (default 1)\n"
    "  --batch-size N    batch for the CNN, LSTM and specs (default 32)\n"
    "  --seed N          default 42\n"
    "  --threads N       0 = all cores (default)\n"
    "  --label-column C  CSV: label column name or index (default 0)\n"
    "  --no-header       CSV: no header row\n"
    "  --min-class-samples N  textcls:DIR: only the classes with at least N samples\n"
    "  --tokenizer char|bpe:VOCAB  textcls:DIR: the tokenizer trained on the samples (default\n"
    "                    char): token counts (bag of tokens) for the classic models, ids for\n"
    "                    specs\n"
    "  --json            print one JSON object: {\"models\": [...], ...}\n";

/* The split as raw floats for the classic models (their API takes arrays). */
typedef struct split {
    lam_dataset *train, *test;
    float *xtr, *xte;
    int32_t *ytr, *yte;
    int64_t ntr, nte, d;
    int32_t classes;
} split;

typedef struct result {
    char model[64];
    double accuracy, train_s, predict_us, size_kb;
    int64_t params; /* deep models' weights (JSON only); 0 for the classic ones */
    const char *skipped; /* why the model did not run, or NULL */
} result;

typedef struct compare_args {
    const char *data, *models, *label_column, *tokenizer;
    long limit, test_limit, epochs, batch_size, seed, threads, min_class_samples;
    bool json, no_header;
} compare_args;

static double file_kb(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (double)st.st_size / 1024.0 : 0.0;
}

static double accuracy(const int32_t *pred, const int32_t *y, int64_t n)
{
    int64_t ok = 0;
    for (int64_t i = 0; i < n; i++) ok += pred[i] == y[i];
    return n ? (double)ok / (double)n : 0.0;
}

/* Flat float copy of a data set (the scaling of uint8 pixels applied). */
static int gather_all(lam_dataset *ds, float **x, int32_t **y)
{
    const int64_t n = lam_dataset_count(ds), d = lam_dataset_sample_size(ds);
    int64_t *idx = malloc(sizeof(int64_t) * (size_t)n);
    *x = malloc(sizeof(float) * (size_t)(n * d));
    *y = malloc(sizeof(int32_t) * (size_t)n);
    if (!idx || !*x || !*y) {
        free(idx);
        return cli_error("out of memory");
    }
    for (int64_t i = 0; i < n; i++) idx[i] = i;
    lam_status st = lam_dataset_gather(ds, idx, n, *x, *y, NULL);
    free(idx);
    return st == LAM_OK ? CLI_OK : cli_lib_error();
}

/* The source's own test split, else the last 20% of the samples as a fixed split (textcls
 * samples come in a fixed pseudo-random order); then --limit and --test-limit. On error
 * both are freed. */
static int hold_out(const compare_args *a, lam_dataset **train, lam_dataset **test)
{
    int rc = CLI_OK;
    if (!*test) {
        lam_dataset *all = *train;
        *train = NULL;
        int64_t n = lam_dataset_count(all), ntr = n - n / 5;
        if (ntr < 1 || ntr >= n)
            rc = cli_error("%s: too few samples (%lld) to split", a->data, (long long)n);
        else if (lam_dataset_slice(all, 0, ntr, train) != LAM_OK ||
                 lam_dataset_slice(all, ntr, n - ntr, test) != LAM_OK)
            rc = cli_lib_error();
        lam_dataset_free(all);
    }
    if (rc == CLI_OK && a->limit > 0 && a->limit < lam_dataset_count(*train) &&
        lam_dataset_truncate(*train, a->limit) != LAM_OK)
        rc = cli_lib_error();
    if (rc == CLI_OK && a->test_limit > 0 && a->test_limit < lam_dataset_count(*test) &&
        lam_dataset_truncate(*test, a->test_limit) != LAM_OK)
        rc = cli_lib_error();
    if (rc != CLI_OK) {
        lam_dataset_free(*train);
        lam_dataset_free(*test);
        *train = *test = NULL;
    }
    return rc;
}

static bool is_textcls(const compare_args *a) { return !strncmp(a->data, "textcls:", 8); }

static int make_split(const compare_args *a, split *s)
{
    memset(s, 0, sizeof *s);
    /* Text classification: classic models take fixed-length features, the token counts. */
    cli_data_options dopt = {.label_column = a->label_column, .no_header = a->no_header,
                             .tokenizer = a->tokenizer, .counts = true,
                             .min_class_samples = a->min_class_samples};
    if (cli_load_data(a->data, &dopt, &s->train, &s->test) != CLI_OK) return CLI_FAIL;
    if (!lam_dataset_labels(s->train)) return cli_error("%s: compare needs class labels", a->data);
    if (hold_out(a, &s->train, &s->test) != CLI_OK) return CLI_FAIL;
    s->ntr = lam_dataset_count(s->train);
    s->nte = lam_dataset_count(s->test);
    s->d = lam_dataset_sample_size(s->train);
    if (lam_dataset_sample_size(s->test) != s->d)
        return cli_error("%s: training and test samples differ in size", a->data);
    s->classes = lam_dataset_num_classes(s->train);
    int32_t tc = lam_dataset_num_classes(s->test);
    if (tc > s->classes) s->classes = tc;
    if (gather_all(s->train, &s->xtr, &s->ytr) != CLI_OK) return CLI_FAIL;
    return gather_all(s->test, &s->xte, &s->yte);
}

static void split_free(split *s)
{
    lam_dataset_free(s->train);
    lam_dataset_free(s->test);
    free(s->xtr);
    free(s->xte);
    free(s->ytr);
    free(s->yte);
}

/* ------------------------------------------------------- classic models */

/* The four classic models share one shape of API; these adapters let one
 * loop time them. */
typedef struct classic_ops {
    const char *name;
    lam_status (*create)(void **m);
    lam_status (*fit)(void *m, const float *x, int64_t n, int64_t d, const int32_t *y);
    lam_status (*predict)(const void *m, const float *x, int64_t n, int64_t d, int32_t *out);
    lam_status (*save)(const void *m, const char *path);
    void (*destroy)(void *m);
} classic_ops;

#define ADAPT(P, T)                                                                         \
    static lam_status P##_create_(void **m) { return lam_##P##_create((T **)m, NULL); }     \
    static lam_status P##_fit_(void *m, const float *x, int64_t n, int64_t d,              \
                               const int32_t *y) { return lam_##P##_fit(m, x, n, d, y); }   \
    static lam_status P##_predict_(const void *m, const float *x, int64_t n, int64_t d,    \
                                   int32_t *out) { return lam_##P##_predict(m, x, n, d, out); } \
    static lam_status P##_save_(const void *m, const char *path) { return lam_##P##_save(m, path); } \
    static void P##_free_(void *m) { lam_##P##_free(m); }
ADAPT(svm, lam_svm)
ADAPT(tree, lam_tree)
ADAPT(forest, lam_forest)
ADAPT(linear, lam_linear)
#undef ADAPT

static const classic_ops CLASSIC[] = {
    {"svm", svm_create_, svm_fit_, svm_predict_, svm_save_, svm_free_},
    {"tree", tree_create_, tree_fit_, tree_predict_, tree_save_, tree_free_},
    {"forest", forest_create_, forest_fit_, forest_predict_, forest_save_, forest_free_},
    {"linear", linear_create_, linear_fit_, linear_predict_, linear_save_, linear_free_},
};

static int run_classic(const classic_ops *ops, const split *s, const char *tmpfile, result *r)
{
    void *m = NULL;
    int32_t *pred = malloc(sizeof(int32_t) * (size_t)(s->nte > 0 ? s->nte : 1));
    if (!pred) return cli_error("out of memory");
    int rc = CLI_OK;
    if (ops->create(&m) != LAM_OK) rc = cli_lib_error();
    double t0 = cli_now();
    if (rc == CLI_OK && ops->fit(m, s->xtr, s->ntr, s->d, s->ytr) != LAM_OK) rc = cli_lib_error();
    double t1 = cli_now();
    if (rc == CLI_OK && ops->predict(m, s->xte, s->nte, s->d, pred) != LAM_OK) rc = cli_lib_error();
    double t2 = cli_now();
    if (rc == CLI_OK && ops->save(m, tmpfile) != LAM_OK) rc = cli_lib_error();
    if (rc == CLI_OK) {
        r->accuracy = accuracy(pred, s->yte, s->nte);
        r->train_s = t1 - t0;
        r->predict_us = s->nte ? (t2 - t1) / (double)s->nte * 1e6 : 0.0;
        r->size_kb = file_kb(tmpfile);
    }
    unlink(tmpfile);
    if (m) ops->destroy(m);
    free(pred);
    return rc;
}

/* ---------------------------------------------------------- deep models */

/* H, W of 2-D samples ((H, W) or (H, W, 1)); false for other shapes. */
static bool image_shape(lam_dataset *ds, int64_t *H, int64_t *W)
{
    int64_t s[4];
    int r = lam_dataset_shape(ds, s);
    if (r == 3 && s[2] != 1) return false;
    if (r != 2 && r != 3) return false;
    *H = s[0];
    *W = s[1];
    return true;
}

/* Compiles m (Adam, sparse categorical cross-entropy), fits it on train, and scores it on
 * test (whose labels are s->yte: the same samples as the classic models' test split). */
static int fit_and_score(const compare_args *a, lam_model *m, lam_dataset *train,
                         lam_dataset *test, const split *s, const char *tmpfile, result *r)
{
    lam_model_set_seed(m, (uint64_t)a->seed);
    lam_optimizer adam = lam_adam();
    lam_fit_options fo = lam_fit_defaults();
    fo.epochs = (int)a->epochs;
    fo.batch_size = (int)a->batch_size;
    fo.verbose = 0;
    if (lam_model_compile(m, &adam, LAM_LOSS_SPARSE_CATEGORICAL_CE) != LAM_OK)
        return cli_lib_error();
    int64_t out_shape[4];
    const int rank = lam_model_output_shape(m, 0, out_shape);
    if (rank != 1 || out_shape[0] < s->classes)
        return cli_error("%s: model \"%s\" must give one probability per class (%d), as a "
                         "Dense(classes, softmax) does", a->data, lam_model_name(m),
                         (int)s->classes);
    const int64_t D = out_shape[0];
    float *p = malloc(sizeof(float) * (size_t)(s->nte * D + 1));
    int32_t *pred = malloc(sizeof(int32_t) * (size_t)(s->nte + 1));
    int rc = p && pred ? CLI_OK : cli_error("out of memory");
    if (rc == CLI_OK) rc = cli_fit_data_to_model(m, train, a->data);
    if (rc == CLI_OK) rc = cli_fit_data_to_model(m, test, a->data);
    double t0 = cli_now();
    if (rc == CLI_OK && lam_fit(m, train, &fo, NULL) != LAM_OK) rc = cli_lib_error();
    double t1 = cli_now();
    if (rc == CLI_OK && lam_predict(m, test, 32, p) != LAM_OK) rc = cli_lib_error();
    double t2 = cli_now();
    if (rc == CLI_OK && lam_model_save(m, tmpfile) != LAM_OK) rc = cli_lib_error();
    if (rc == CLI_OK) {
        for (int64_t i = 0; i < s->nte; i++) {
            int64_t best = 0;
            for (int64_t c = 1; c < D; c++)
                if (p[i * D + c] > p[i * D + best]) best = c;
            pred[i] = (int32_t)best;
        }
        r->accuracy = accuracy(pred, s->yte, s->nte);
        r->train_s = t1 - t0;
        r->predict_us = s->nte ? (t2 - t1) / (double)s->nte * 1e6 : 0.0;
        r->size_kb = file_kb(tmpfile);
        r->params = lam_model_param_count(m);
    }
    unlink(tmpfile);
    free(p);
    free(pred);
    return rc;
}

static int run_deep(const compare_args *a, bool cnn, split *s, const char *tmpfile, result *r)
{
    int64_t H, W;
    if (!image_shape(s->train, &H, &W)) {
        r->skipped = "needs 2-D samples (H, W) or (H, W, 1)";
        return CLI_OK;
    }
    lam_model *m = lam_sequential("sequential");
    if (!m) return cli_lib_error();
    int rc = cli_build_seed(m, cnn, H, W, (int)s->classes) == LAM_OK ? CLI_OK : cli_lib_error();
    if (rc == CLI_OK) rc = fit_and_score(a, m, s->train, s->test, s, tmpfile, r);
    lam_model_free(m);
    return rc;
}

/* spec:PATH - a Keras JSON spec. On textcls:DIR it is given token ids: the same folder,
 * classes, sample order and split as the counts, encoded by the same tokenizer (trained
 * the same way, and kept in the model as `lamina train` does), as many per sample as the
 * model's input length. Other sources give it the classic models' split. */
static int run_spec(const compare_args *a, const char *path, split *s, const char *tmpfile,
                    result *r)
{
    if (!cli_is_spec(path))
        return cli_error("spec:%s: expected a Keras JSON spec (*.json)", path);
    lam_model *m = NULL;
    if (cli_open_model(path, &m) != CLI_OK) return CLI_FAIL;
    int rc = CLI_OK;
    if (is_textcls(a)) {
        lam_dataset *train = NULL, *test = NULL;
        cli_data_options dopt = {.model = m, .store_tokenizer = true, .tokenizer = a->tokenizer,
                                 .min_class_samples = a->min_class_samples};
        rc = cli_load_data(a->data, &dopt, &train, &test);
        /* Read, selected, ordered and split as make_split did: the same samples. */
        if (rc == CLI_OK) rc = hold_out(a, &train, &test);
        if (rc == CLI_OK) rc = fit_and_score(a, m, train, test, s, tmpfile, r);
        lam_dataset_free(train);
        lam_dataset_free(test);
    } else {
        rc = fit_and_score(a, m, s->train, s->test, s, tmpfile, r);
    }
    lam_model_free(m);
    return rc;
}

/* --------------------------------------------------------------- output */

static void print_results(const compare_args *a, const split *s, const result *res, int n)
{
    if (a->json) {
        cJSON *root = cJSON_CreateObject();
        cJSON_AddNumberToObject(root, "train_samples", (double)s->ntr);
        cJSON_AddNumberToObject(root, "test_samples", (double)s->nte);
        cJSON *arr = cJSON_AddArrayToObject(root, "models");
        for (int i = 0; i < n; i++) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "model", res[i].model);
            if (res[i].skipped) {
                cJSON_AddStringToObject(o, "skipped", res[i].skipped);
            } else {
                cli_json_number(o, "accuracy", res[i].accuracy);
                cli_json_number(o, "train_seconds", res[i].train_s);
                cli_json_number(o, "predict_us_per_sample", res[i].predict_us);
                cli_json_number(o, "size_kb", res[i].size_kb);
                if (res[i].params) cJSON_AddNumberToObject(o, "params", (double)res[i].params);
            }
            cJSON_AddItemToArray(arr, o);
        }
        cli_json_print(root);
        return;
    }
    printf("%lld training samples, %lld test samples, %lld features, %d classes\n\n",
           (long long)s->ntr, (long long)s->nte, (long long)s->d, (int)s->classes);
    int w = 8;
    for (int i = 0; i < n; i++)
        if ((int)strlen(res[i].model) > w) w = (int)strlen(res[i].model);
    printf("%-*s %13s %10s %20s %10s\n", w, "model", "test accuracy", "train (s)",
           "predict (us/sample)", "size (KB)");
    for (int i = 0; i < n; i++) {
        if (res[i].skipped) {
            printf("%-*s skipped: %s\n", w, res[i].model, res[i].skipped);
            continue;
        }
        printf("%-*s %13.4f %10.2f %20.1f %10.1f\n", w, res[i].model, res[i].accuracy,
               res[i].train_s, res[i].predict_us, res[i].size_kb);
    }
}

/* spec:PATH is shown as the file name without folder and extension. */
static void display_name(const char *name, char *buf, size_t n)
{
    if (strncmp(name, "spec:", 5) != 0) {
        snprintf(buf, n, "%s", name);
        return;
    }
    const char *base = strrchr(name + 5, '/');
    base = base ? base + 1 : name + 5;
    const char *dot = strrchr(base, '.');
    int len = dot && dot > base ? (int)(dot - base) : (int)strlen(base);
    snprintf(buf, n, "%.*s", len, base);
}

static int run_one(const compare_args *a, const char *name, split *s, const char *tmpfile,
                   result *r)
{
    display_name(name, r->model, sizeof r->model);
    if (!a->json) fprintf(stderr, "training %s...\n", r->model); /* SVMs can take minutes */
    if (!strncmp(name, "spec:", 5)) return run_spec(a, name + 5, s, tmpfile, r);
    for (size_t i = 0; i < sizeof CLASSIC / sizeof CLASSIC[0]; i++)
        if (!strcmp(name, CLASSIC[i].name)) return run_classic(&CLASSIC[i], s, tmpfile, r);
    if (!strcmp(name, "cnn") || !strcmp(name, "lstm"))
        return run_deep(a, !strcmp(name, "cnn"), s, tmpfile, r);
    return cli_error("compare: no model \"%s\"", name); /* checked by known_model() */
}

static bool known_model(const char *name)
{
    if (!strncmp(name, "spec:", 5)) return name[5] != '\0';
    static const char *const all[] = {"svm", "tree", "forest", "linear", "cnn", "lstm"};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (!strcmp(name, all[i])) return true;
    return false;
}

int cmd_compare(int argc, char **argv)
{
    compare_args a = {.models = "svm,tree,forest,linear,cnn,lstm", .epochs = 1, .batch_size = 32,
                      .seed = 42};
    const cli_option opts[] = {
        {"--data", OPT_STR, &a.data, NULL},
        {"--models", OPT_STR, &a.models, NULL},
        {"--limit", OPT_INT, &a.limit, NULL},
        {"--test-limit", OPT_INT, &a.test_limit, NULL},
        {"--epochs", OPT_INT, &a.epochs, NULL},
        {"--batch-size", OPT_INT, &a.batch_size, NULL},
        {"--seed", OPT_INT, &a.seed, NULL},
        {"--threads", OPT_INT, &a.threads, NULL},
        {"--label-column", OPT_STR, &a.label_column, NULL},
        {"--no-header", OPT_FLAG, &a.no_header, NULL},
        {"--tokenizer", OPT_STR, &a.tokenizer, NULL},
        {"--min-class-samples", OPT_INT, &a.min_class_samples, NULL},
        {"--json", OPT_FLAG, &a.json, NULL},
        {NULL, OPT_FLAG, NULL, NULL},
    };
    const char *pos[1];
    int npos;
    int rc = cli_parse("compare", USAGE, argc, argv, opts, pos, 0, &npos);
    if (rc) return rc;
    if (!a.data) return cli_usage_error("compare", "--data is required");
    if (!strncmp(a.data, "text:", 5))
        return cli_usage_error("compare", "%s: compare needs one class per sample (textcls:DIR); "
                               "text:PATH is next-token data for language models", a.data);
    if (a.limit < 0 || a.test_limit < 0 || a.epochs < 0 || a.threads < 0 ||
        a.min_class_samples < 0)
        return cli_usage_error("compare", "--limit, --test-limit, --epochs, --threads, "
                               "--min-class-samples must be >= 0");
    if (a.batch_size < 1) return cli_usage_error("compare", "--batch-size must be >= 1");
    lam_set_threads((int)a.threads);

    char list[4096];
    snprintf(list, sizeof list, "%s", a.models);
    const char *names[16];
    int n = 0;
    for (char *t = strtok(list, ","); t && n < 16; t = strtok(NULL, ","))
        if (*t) names[n++] = t;
    for (int i = 0; i < n; i++)
        if (!known_model(names[i]))
            return cli_usage_error("compare", "unknown model \"%s\" in --models (known: svm, "
                                   "tree, forest, linear, cnn, lstm, spec:PATH)", names[i]);
    if (n == 0) return cli_usage_error("compare", "--models lists no model");

    char dir[] = "/tmp/lamina-compare-XXXXXX";
    if (!mkdtemp(dir)) return cli_error("cannot create a temporary folder in /tmp");
    char tmpfile[sizeof dir + 32];
    snprintf(tmpfile, sizeof tmpfile, "%s/model.safetensors", dir);

    split s;
    result res[16];
    memset(res, 0, sizeof res);
    rc = make_split(&a, &s);
    for (int i = 0; rc == CLI_OK && i < n; i++) rc = run_one(&a, names[i], &s, tmpfile, &res[i]);
    if (rc == CLI_OK) print_results(&a, &s, res, n);
    split_free(&s);
    rmdir(dir);
    return rc;
}
