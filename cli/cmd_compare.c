/* cmd_compare.c - `lamina compare`: trains classic models (SVM, decision
 * tree, random forest, linear SVM), deep ones (the seed CNN and LSTM) and any
 * Keras JSON spec (spec:PATH) on the same split, and tabulates test accuracy,
 * training time, prediction time per sample and the size of the saved model
 * file.
 *
 * Every model uses its library defaults (as scikit-learn's defaults for the
 * classic ones, Keras's for the deep ones) unless --models gives settings
 * (svm:C=10:gamma=scale, with scikit-learn's parameter names); the JSON output
 * records every setting used. --standardize / --minmax scale the features as
 * scikit-learn's StandardScaler / MinMaxScaler, fitted on the training split.
 * On textcls:DIR the classic models see token counts (bag of tokens) and a
 * spec sees token ids, of the same samples. */
#include "cli.h"

#include <cjson/cJSON.h>
#include <limits.h>
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
    "                    adds a Keras JSON spec (named by its file name in the table). Each\n"
    "                    may take settings, MODEL:KEY=VALUE:..., scikit-learn's names:\n"
    "                      svm     C, gamma (scale|auto|number), kernel (rbf|linear|poly),\n"
    "                              degree, coef0, tol, cache_size, shrinking, max_iter\n"
    "                      tree    criterion (gini|entropy), max_depth, min_samples_split,\n"
    "                              min_samples_leaf, max_features (sqrt|None|N), random_state\n"
    "                      forest  n_estimators, bootstrap and the tree's\n"
    "                      linear  C, loss (hinge|squared_hinge), tol, max_iter,\n"
    "                              intercept_scaling, fit_intercept, random_state\n"
    "                      cnn, lstm, spec:PATH  epochs, batch_size, learning_rate, optimizer\n"
    "                    and scaling (none|standard|minmax) for all but tree and forest, e.g.\n"
    "                    \"svm:C=10:gamma=scale,tree:criterion=entropy:max_depth=10\"\n"
    "  --standardize     scale every feature to mean 0, standard deviation 1 on the training\n"
    "                    split (scikit-learn's StandardScaler; deep models get a Keras\n"
    "                    Normalization layer after the input, per channel of an image)\n"
    "  --minmax          scale every feature to [0, 1] on the training split (MinMaxScaler)\n"
    "                    Trees and forests are unchanged by per-feature scaling: they get none\n"
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
    "  --json            print one JSON object: {\"models\": [...], ...}, each model with\n"
    "                    \"hyperparameters\", every setting it was trained with\n";

/* The split as raw floats for the classic models (their API takes arrays). */
typedef struct split {
    lam_dataset *train, *test;
    float *xtr, *xte;
    int32_t *ytr, *yte;
    int64_t ntr, nte, d;
    int32_t classes;
} split;

typedef struct result {
    char model[128];
    double accuracy, train_s, predict_us, size_kb;
    int64_t nparams; /* deep models' weights (JSON only); 0 for the classic ones */
    const char *skipped; /* why the model did not run, or NULL */
    cJSON *params;       /* every setting used: "hyperparameters" in the JSON output */
} result;

typedef struct compare_args {
    const char *data, *models, *label_column, *tokenizer;
    long limit, test_limit, epochs, batch_size, seed, threads, min_class_samples;
    bool json, no_header, standardize, minmax;
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

/* ------------------------------------------------------ model settings */

typedef enum { M_SVM, M_TREE, M_FOREST, M_LINEAR, M_CNN, M_LSTM, M_SPEC } model_kind;

/* One entry of --models: the model and every setting it trains with. */
typedef struct model_cfg {
    model_kind kind;
    const char *path; /* spec:PATH */
    lam_svm_params svm;
    bool gamma_auto;  /* svm gamma=auto: 1 / n_features, known once the data is read */
    lam_tree_params tree;
    lam_forest_params forest;
    lam_linear_params linear;
    long epochs, batch_size;
    char optimizer[16];
    double learning_rate; /* 0: the optimizer's default */
    lam_scaling scaling;
} model_cfg;

static const char *const KIND_NAMES[] = {"svm", "tree", "forest", "linear", "cnn", "lstm",
                                         "spec"};
static const char *const VALID_KEYS[] = {
    "C, gamma, kernel, degree, coef0, tol, cache_size, shrinking, max_iter, scaling",
    "criterion, max_depth, min_samples_split, min_samples_leaf, max_features, random_state",
    "n_estimators, criterion, max_depth, min_samples_split, min_samples_leaf, max_features, "
    "bootstrap, random_state",
    "C, loss, tol, max_iter, intercept_scaling, fit_intercept, random_state, scaling",
    "epochs, batch_size, learning_rate, optimizer, scaling",
    "epochs, batch_size, learning_rate, optimizer, scaling",
    "epochs, batch_size, learning_rate, optimizer, scaling",
};

static bool is_deep(model_kind k) { return k == M_CNN || k == M_LSTM || k == M_SPEC; }

static bool parse_number(const char *v, double lo, double hi, double *out)
{
    char *end;
    double x = strtod(v, &end);
    if (end == v || *end || !(x >= lo && x <= hi)) return false;
    *out = x;
    return true;
}

static bool parse_whole(const char *v, long lo, long hi, long *out)
{
    char *end;
    long x = strtol(v, &end, 10);
    if (end == v || *end || x < lo || x > hi) return false;
    *out = x;
    return true;
}

static bool parse_bool(const char *v, bool *out)
{
    if (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "1")) *out = true;
    else if (!strcmp(v, "false") || !strcmp(v, "False") || !strcmp(v, "0")) *out = false;
    else return false;
    return true;
}

static bool is_none(const char *v) { return !strcmp(v, "None") || !strcmp(v, "none"); }

/* max_depth: None (unlimited, 0) or >= 1. */
static bool parse_depth(const char *v, int *out)
{
    long x;
    if (is_none(v)) x = 0;
    else if (!parse_whole(v, 1, 1 << 20, &x)) return false;
    *out = (int)x;
    return true;
}

/* max_features: sqrt, None (all) or a count >= 1. */
static bool parse_max_features(const char *v, int *out)
{
    long x;
    if (!strcmp(v, "sqrt")) x = LAM_MAX_FEATURES_SQRT;
    else if (is_none(v)) x = 0;
    else if (!parse_whole(v, 1, INT32_MAX, &x)) return false;
    *out = (int)x;
    return true;
}

static bool parse_criterion(const char *v, lam_criterion *out)
{
    if (!strcmp(v, "gini")) *out = LAM_CRITERION_GINI;
    else if (!strcmp(v, "entropy")) *out = LAM_CRITERION_ENTROPY;
    else return false;
    return true;
}

/* The tree settings a tree and a forest share; false: not one of them. */
static bool tree_key(const char *k, const char *v, lam_criterion *crit, int *depth, int *min_split,
                     int *leaf, int *features, uint64_t *seed, bool *ok)
{
    long x;
    if (!strcmp(k, "criterion")) *ok = parse_criterion(v, crit);
    else if (!strcmp(k, "max_depth")) *ok = parse_depth(v, depth);
    else if (!strcmp(k, "min_samples_split")) *ok = parse_whole(v, 2, INT32_MAX, &x) && (*min_split = (int)x);
    else if (!strcmp(k, "min_samples_leaf")) *ok = parse_whole(v, 1, INT32_MAX, &x) && (*leaf = (int)x);
    else if (!strcmp(k, "max_features")) *ok = parse_max_features(v, features);
    else if (!strcmp(k, "random_state")) *ok = parse_whole(v, 0, LONG_MAX, &x) && ((*seed = (uint64_t)x), true);
    else return false;
    return true;
}

/* What a bad value of key k should have been. */
static const char *expected_value(model_kind m, const char *k)
{
    if (!strcmp(k, "gamma")) return "scale, auto or a number > 0";
    if (!strcmp(k, "kernel")) return "rbf, linear or poly";
    if (!strcmp(k, "criterion")) return "gini or entropy";
    if (!strcmp(k, "max_depth")) return "None or an integer >= 1";
    if (!strcmp(k, "max_features")) return "sqrt, None or an integer >= 1";
    if (!strcmp(k, "min_samples_split")) return "an integer >= 2";
    if (!strcmp(k, "loss")) return "hinge or squared_hinge";
    if (!strcmp(k, "optimizer")) return "adam, adamw, sgd, rmsprop, adagrad, adamax or nadam";
    if (!strcmp(k, "scaling")) return "none, standard or minmax";
    if (!strcmp(k, "shrinking") || !strcmp(k, "bootstrap") || !strcmp(k, "fit_intercept"))
        return "true or false";
    if (!strcmp(k, "max_iter")) return m == M_SVM ? "-1 (no limit) or an integer >= 1"
                                                  : "an integer >= 1";
    if (!strcmp(k, "coef0")) return "a number";
    if (!strcmp(k, "random_state")) return "an integer >= 0";
    if (!strcmp(k, "C") || !strcmp(k, "tol") || !strcmp(k, "cache_size") ||
        !strcmp(k, "learning_rate") || !strcmp(k, "intercept_scaling"))
        return "a number > 0";
    return "an integer >= 1";
}

/* Sets key k of cfg from v. Returns 1 done, 0 bad value, -1 unknown key. */
static int set_key(model_cfg *c, const char *k, const char *v)
{
    bool ok = false;
    long x;
    if (!strcmp(k, "scaling") && c->kind != M_TREE && c->kind != M_FOREST) {
        for (int i = LAM_SCALING_NONE; i <= LAM_SCALING_MINMAX; i++)
            if (!strcmp(v, lam_scaling_name((lam_scaling)i))) {
                c->scaling = (lam_scaling)i;
                ok = true;
            }
        return ok;
    }
    switch (c->kind) {
    case M_SVM: {
        lam_svm_params *p = &c->svm;
        if (!strcmp(k, "C")) ok = parse_number(v, 1e-300, 1e300, &p->C);
        else if (!strcmp(k, "gamma")) {
            c->gamma_auto = !strcmp(v, "auto");
            if (!strcmp(v, "scale") || c->gamma_auto) p->gamma = 0, ok = true;
            else ok = parse_number(v, 1e-300, 1e300, &p->gamma);
        } else if (!strcmp(k, "kernel")) {
            ok = true;
            if (!strcmp(v, "rbf")) p->kernel = LAM_KERNEL_RBF;
            else if (!strcmp(v, "linear")) p->kernel = LAM_KERNEL_LINEAR;
            else if (!strcmp(v, "poly")) p->kernel = LAM_KERNEL_POLY;
            else ok = false;
        } else if (!strcmp(k, "degree")) ok = parse_whole(v, 1, 100, &x) && (p->degree = (int)x);
        else if (!strcmp(k, "coef0")) ok = parse_number(v, -1e300, 1e300, &p->coef0);
        else if (!strcmp(k, "tol")) ok = parse_number(v, 1e-300, 1e300, &p->eps);
        else if (!strcmp(k, "cache_size")) ok = parse_number(v, 1e-3, 1e9, &p->cache_mb);
        else if (!strcmp(k, "shrinking")) ok = parse_bool(v, &p->shrinking);
        else if (!strcmp(k, "max_iter")) {
            ok = parse_whole(v, -1, LONG_MAX, &x) && x != 0;
            if (ok) p->max_iter = x < 0 ? 0 : x; /* lamina's 0 is libsvm's own limit */
        } else return -1;
        return ok;
    }
    case M_TREE: {
        lam_tree_params *p = &c->tree;
        if (!tree_key(k, v, &p->criterion, &p->max_depth, &p->min_samples_split,
                      &p->min_samples_leaf, &p->max_features, &p->seed, &ok))
            return -1;
        return ok;
    }
    case M_FOREST: {
        lam_forest_params *p = &c->forest;
        if (!strcmp(k, "n_estimators")) ok = parse_whole(v, 1, 100000, &x) && (p->n_trees = (int)x);
        else if (!strcmp(k, "bootstrap")) ok = parse_bool(v, &p->bootstrap);
        else if (!tree_key(k, v, &p->criterion, &p->max_depth, &p->min_samples_split,
                           &p->min_samples_leaf, &p->max_features, &p->seed, &ok))
            return -1;
        return ok;
    }
    case M_LINEAR: {
        lam_linear_params *p = &c->linear;
        bool b;
        if (!strcmp(k, "C")) ok = parse_number(v, 1e-300, 1e300, &p->C);
        else if (!strcmp(k, "loss")) {
            ok = true;
            if (!strcmp(v, "hinge")) p->loss = LAM_LINEAR_HINGE;
            else if (!strcmp(v, "squared_hinge")) p->loss = LAM_LINEAR_SQUARED_HINGE;
            else ok = false;
        } else if (!strcmp(k, "tol")) ok = parse_number(v, 1e-300, 1e300, &p->eps);
        else if (!strcmp(k, "max_iter")) ok = parse_whole(v, 1, INT32_MAX, &x) && (p->max_iter = (int)x);
        else if (!strcmp(k, "intercept_scaling")) ok = parse_number(v, 1e-300, 1e300, &p->bias);
        else if (!strcmp(k, "fit_intercept")) {
            ok = parse_bool(v, &b);
            if (ok && !b) p->bias = 0;
            if (ok && b && p->bias == 0) p->bias = 1;
        } else if (!strcmp(k, "random_state")) {
            ok = parse_whole(v, 0, LONG_MAX, &x);
            if (ok) p->seed = (uint64_t)x;
        } else return -1;
        return ok;
    }
    default: /* deep models */
        if (!strcmp(k, "epochs")) ok = parse_whole(v, 0, 1000000, &c->epochs);
        else if (!strcmp(k, "batch_size")) ok = parse_whole(v, 1, 1 << 20, &c->batch_size);
        else if (!strcmp(k, "learning_rate")) ok = parse_number(v, 1e-30, 1e6, &c->learning_rate);
        else if (!strcmp(k, "optimizer")) {
            lam_optimizer o;
            ok = strlen(v) < sizeof c->optimizer && lam_optimizer_parse(v, &o) == LAM_OK;
            if (ok) snprintf(c->optimizer, sizeof c->optimizer, "%s", v);
        } else return -1;
        return ok;
    }
}

/* "svm:C=10:gamma=scale" (or "spec:PATH:epochs=3") -> cfg, with the defaults
 * of the library and of the command line where no key is given. */
static int parse_model(const compare_args *a, char *entry, model_cfg *c)
{
    memset(c, 0, sizeof *c);
    c->svm = lam_svm_defaults();
    c->tree = lam_tree_defaults();
    c->forest = lam_forest_defaults();
    c->linear = lam_linear_defaults();
    c->epochs = a->epochs;
    c->batch_size = a->batch_size;
    snprintf(c->optimizer, sizeof c->optimizer, "adam");
    c->scaling = a->standardize ? LAM_SCALING_STANDARD
                 : a->minmax   ? LAM_SCALING_MINMAX
                               : LAM_SCALING_NONE;
    char *rest = strchr(entry, ':');
    if (rest) *rest++ = '\0';
    int kind = -1;
    for (int i = 0; i < (int)(sizeof KIND_NAMES / sizeof KIND_NAMES[0]); i++)
        if (!strcmp(entry, KIND_NAMES[i])) kind = i;
    if (kind < 0)
        return cli_usage_error("compare", "unknown model \"%s\" in --models (known: svm, tree, "
                               "forest, linear, cnn, lstm, spec:PATH)", entry);
    c->kind = (model_kind)kind;
    if (c->kind == M_SPEC) {
        if (!rest || !*rest || strchr(rest, '=') == rest)
            return cli_usage_error("compare", "spec: give the path of a Keras JSON spec, "
                                   "spec:PATH[:KEY=VALUE...]");
        c->path = rest;
        rest = strchr(rest, ':');
        if (rest) *rest++ = '\0';
    }
    /* Trees split on thresholds, which per-feature scaling moves but cannot reorder. */
    if (c->kind == M_TREE || c->kind == M_FOREST) c->scaling = LAM_SCALING_NONE;
    while (rest && *rest) {
        char *next = strchr(rest, ':');
        if (next) *next++ = '\0';
        char *eq = strchr(rest, '=');
        if (!eq || eq == rest)
            return cli_usage_error("compare", "--models: %s: \"%s\" is not KEY=VALUE; valid "
                                   "keys: %s", KIND_NAMES[kind], rest, VALID_KEYS[kind]);
        *eq = '\0';
        const int r = set_key(c, rest, eq + 1);
        if (r < 0)
            return cli_usage_error("compare", "--models: %s has no setting \"%s\"%s; valid "
                                   "keys: %s", KIND_NAMES[kind], rest,
                                   !strcmp(rest, "scaling") ? " (trees and forests are "
                                   "unchanged by per-feature scaling)" : "",
                                   VALID_KEYS[kind]);
        if (r == 0)
            return cli_usage_error("compare", "--models: %s: %s=%s: expected %s",
                                   KIND_NAMES[kind], rest, eq + 1,
                                   expected_value(c->kind, rest));
        rest = next;
    }
    return CLI_OK;
}

static void add_tree_params(cJSON *o, lam_criterion crit, int depth, int min_split, int leaf,
                            int features, uint64_t seed)
{
    cJSON_AddStringToObject(o, "criterion", crit == LAM_CRITERION_ENTROPY ? "entropy" : "gini");
    if (depth) cJSON_AddNumberToObject(o, "max_depth", depth);
    else cJSON_AddNullToObject(o, "max_depth");
    cJSON_AddNumberToObject(o, "min_samples_split", min_split);
    cJSON_AddNumberToObject(o, "min_samples_leaf", leaf);
    if (features == LAM_MAX_FEATURES_SQRT) cJSON_AddStringToObject(o, "max_features", "sqrt");
    else if (features == 0) cJSON_AddNullToObject(o, "max_features");
    else cJSON_AddNumberToObject(o, "max_features", features);
    cJSON_AddNumberToObject(o, "random_state", (double)seed);
}

/* Every setting of c, by scikit-learn's names (Keras's fit options for deep
 * models); gamma_value is the gamma the SVM used. */
static cJSON *params_json(const model_cfg *c, double gamma_value)
{
    cJSON *o = cJSON_CreateObject();
    switch (c->kind) {
    case M_SVM: {
        const lam_svm_params *p = &c->svm;
        static const char *const kernels[] = {"linear", "rbf", "poly"};
        cJSON_AddNumberToObject(o, "C", p->C);
        cJSON_AddStringToObject(o, "kernel", kernels[p->kernel]);
        if (c->gamma_auto) cJSON_AddStringToObject(o, "gamma", "auto");
        else if (p->gamma == 0) cJSON_AddStringToObject(o, "gamma", "scale");
        else cJSON_AddNumberToObject(o, "gamma", p->gamma);
        cli_json_number(o, "gamma_value", gamma_value);
        cJSON_AddNumberToObject(o, "degree", p->degree);
        cJSON_AddNumberToObject(o, "coef0", p->coef0);
        cJSON_AddNumberToObject(o, "tol", p->eps);
        cJSON_AddNumberToObject(o, "cache_size", p->cache_mb);
        cJSON_AddBoolToObject(o, "shrinking", p->shrinking);
        cJSON_AddNumberToObject(o, "max_iter", p->max_iter ? (double)p->max_iter : -1.0);
        break;
    }
    case M_TREE:
        add_tree_params(o, c->tree.criterion, c->tree.max_depth, c->tree.min_samples_split,
                        c->tree.min_samples_leaf, c->tree.max_features, c->tree.seed);
        break;
    case M_FOREST:
        cJSON_AddNumberToObject(o, "n_estimators", c->forest.n_trees);
        cJSON_AddBoolToObject(o, "bootstrap", c->forest.bootstrap);
        add_tree_params(o, c->forest.criterion, c->forest.max_depth,
                        c->forest.min_samples_split, c->forest.min_samples_leaf,
                        c->forest.max_features, c->forest.seed);
        break;
    case M_LINEAR: {
        const lam_linear_params *p = &c->linear;
        cJSON_AddNumberToObject(o, "C", p->C);
        cJSON_AddStringToObject(o, "loss", p->loss == LAM_LINEAR_HINGE ? "hinge"
                                                                      : "squared_hinge");
        cJSON_AddNumberToObject(o, "tol", p->eps);
        cJSON_AddNumberToObject(o, "max_iter", p->max_iter);
        cJSON_AddBoolToObject(o, "fit_intercept", p->bias > 0);
        cJSON_AddNumberToObject(o, "intercept_scaling", p->bias);
        cJSON_AddNumberToObject(o, "random_state", (double)p->seed);
        break;
    }
    default: {
        lam_optimizer opt;
        lam_optimizer_parse(c->optimizer, &opt);
        cJSON_AddNumberToObject(o, "epochs", (double)c->epochs);
        cJSON_AddNumberToObject(o, "batch_size", (double)c->batch_size);
        cJSON_AddStringToObject(o, "optimizer", c->optimizer);
        /* The optimizer's default is a float: 0.001, not 0.0010000000474974513. */
        char lr[32];
        snprintf(lr, sizeof lr, "%.7g", (double)opt.learning_rate);
        cli_json_number(o, "learning_rate", c->learning_rate > 0 ? c->learning_rate
                                                                 : strtod(lr, NULL));
        break;
    }
    }
    cJSON_AddStringToObject(o, "scaling", lam_scaling_name(c->scaling));
    return o;
}

/* ------------------------------------------------------- classic models */

/* The four classic models share one shape of API; these adapters let one
 * loop time them. */
typedef struct classic_ops {
    lam_status (*create)(void **m, const model_cfg *c);
    lam_status (*fit)(void *m, const float *x, int64_t n, int64_t d, const int32_t *y);
    lam_status (*predict)(const void *m, const float *x, int64_t n, int64_t d, int32_t *out);
    lam_status (*save)(const void *m, const char *path);
    void (*destroy)(void *m);
} classic_ops;

/* The SVM and the linear model take the scaling; trees and forests none. */
static lam_status svm_make(void **m, const model_cfg *c)
{
    lam_svm_params p = c->svm;
    p.scaling = c->scaling;
    return lam_svm_create((lam_svm **)m, &p);
}
static lam_status linear_make(void **m, const model_cfg *c)
{
    lam_linear_params p = c->linear;
    p.scaling = c->scaling;
    return lam_linear_create((lam_linear **)m, &p);
}
static lam_status tree_make(void **m, const model_cfg *c)
{
    return lam_tree_create((lam_tree **)m, &c->tree);
}
static lam_status forest_make(void **m, const model_cfg *c)
{
    return lam_forest_create((lam_forest **)m, &c->forest);
}

#define ADAPT(P, T)                                                                         \
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
    [M_SVM] = {svm_make, svm_fit_, svm_predict_, svm_save_, svm_free_},
    [M_TREE] = {tree_make, tree_fit_, tree_predict_, tree_save_, tree_free_},
    [M_FOREST] = {forest_make, forest_fit_, forest_predict_, forest_save_, forest_free_},
    [M_LINEAR] = {linear_make, linear_fit_, linear_predict_, linear_save_, linear_free_},
};

static int run_classic(model_cfg *c, const split *s, const char *tmpfile, result *r)
{
    const classic_ops *ops = &CLASSIC[c->kind];
    /* gamma="auto" is 1 / n_features, as scikit-learn's. */
    if (c->kind == M_SVM && c->gamma_auto) c->svm.gamma = 1.0 / (double)s->d;
    void *m = NULL;
    int32_t *pred = malloc(sizeof(int32_t) * (size_t)(s->nte > 0 ? s->nte : 1));
    if (!pred) return cli_error("out of memory");
    int rc = CLI_OK;
    if (ops->create(&m, c) != LAM_OK) rc = cli_lib_error();
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
        r->params = params_json(c, c->kind == M_SVM ? lam_svm_gamma(m) : 0.0);
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

/* With a scaling, *m (uncompiled) is replaced by a copy with a Normalization
 * after its input; *layer is that layer (-1 without scaling). */
static int add_scaling(const model_cfg *c, lam_model **m, int *layer)
{
    *layer = -1;
    if (c->scaling == LAM_SCALING_NONE) return CLI_OK;
    lam_model *with = NULL;
    if (lam_model_prepend_normalization(*m, &with, layer) != LAM_OK) return cli_lib_error();
    lam_model_free(*m);
    *m = with;
    return CLI_OK;
}

/* Compiles m (c's optimizer, sparse categorical cross-entropy), adapts its
 * Normalization (layer, or -1) on train, fits it on train, and scores it on
 * test (whose labels are s->yte: the same samples as the classic models' test split). */
static int fit_and_score(const compare_args *a, const model_cfg *c, lam_model *m, int layer,
                         lam_dataset *train, lam_dataset *test, const split *s,
                         const char *tmpfile, result *r)
{
    lam_model_set_seed(m, (uint64_t)a->seed);
    lam_optimizer opt;
    if (lam_optimizer_parse(c->optimizer, &opt) != LAM_OK) return cli_lib_error();
    if (c->learning_rate > 0) opt.learning_rate = (float)c->learning_rate;
    lam_fit_options fo = lam_fit_defaults();
    fo.epochs = (int)c->epochs;
    fo.batch_size = (int)c->batch_size;
    fo.verbose = 0;
    if (lam_model_compile(m, &opt, LAM_LOSS_SPARSE_CATEGORICAL_CE) != LAM_OK)
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
    /* Fitted on the training split only, inside the timed training. */
    if (rc == CLI_OK && layer >= 0 &&
        lam_model_adapt_normalization(m, layer, train, c->scaling) != LAM_OK)
        rc = cli_lib_error();
    if (rc == CLI_OK && lam_fit(m, train, &fo, NULL) != LAM_OK) rc = cli_lib_error();
    double t1 = cli_now();
    if (rc == CLI_OK && lam_predict(m, test, 32, p) != LAM_OK) rc = cli_lib_error();
    double t2 = cli_now();
    if (rc == CLI_OK && lam_model_save(m, tmpfile) != LAM_OK) rc = cli_lib_error();
    if (rc == CLI_OK) {
        for (int64_t i = 0; i < s->nte; i++) {
            int64_t best = 0;
            for (int64_t k = 1; k < D; k++)
                if (p[i * D + k] > p[i * D + best]) best = k;
            pred[i] = (int32_t)best;
        }
        r->accuracy = accuracy(pred, s->yte, s->nte);
        r->train_s = t1 - t0;
        r->predict_us = s->nte ? (t2 - t1) / (double)s->nte * 1e6 : 0.0;
        r->size_kb = file_kb(tmpfile);
        r->params = params_json(c, 0.0);
        r->nparams = lam_model_param_count(m);
    }
    unlink(tmpfile);
    free(p);
    free(pred);
    return rc;
}

static int run_deep(const compare_args *a, const model_cfg *c, split *s, const char *tmpfile,
                    result *r)
{
    int64_t H, W;
    if (!image_shape(s->train, &H, &W)) {
        r->skipped = "needs 2-D samples (H, W) or (H, W, 1)";
        r->params = params_json(c, 0.0);
        return CLI_OK;
    }
    lam_model *m = lam_sequential("sequential");
    if (!m) return cli_lib_error();
    int layer = -1;
    int rc = cli_build_seed(m, c->kind == M_CNN, H, W, (int)s->classes) == LAM_OK
                 ? CLI_OK : cli_lib_error();
    if (rc == CLI_OK) rc = add_scaling(c, &m, &layer);
    if (rc == CLI_OK) rc = fit_and_score(a, c, m, layer, s->train, s->test, s, tmpfile, r);
    lam_model_free(m);
    return rc;
}

/* spec:PATH - a Keras JSON spec. On textcls:DIR it is given token ids: the same folder,
 * classes, sample order and split as the counts, encoded by the same tokenizer (trained
 * the same way, and kept in the model as `lamina train` does), as many per sample as the
 * model's input length. Other sources give it the classic models' split. */
static int run_spec(const compare_args *a, const model_cfg *c, split *s, const char *tmpfile,
                    result *r)
{
    const char *path = c->path;
    if (!cli_is_spec(path))
        return cli_error("spec:%s: expected a Keras JSON spec (*.json)", path);
    lam_model *m = NULL;
    if (cli_open_model(path, &m) != CLI_OK) return CLI_FAIL;
    int layer = -1;
    int rc = add_scaling(c, &m, &layer);
    if (rc == CLI_OK && is_textcls(a)) {
        lam_dataset *train = NULL, *test = NULL;
        cli_data_options dopt = {.model = m, .store_tokenizer = true, .tokenizer = a->tokenizer,
                                 .min_class_samples = a->min_class_samples};
        rc = cli_load_data(a->data, &dopt, &train, &test);
        /* Read, selected, ordered and split as make_split did: the same samples. */
        if (rc == CLI_OK) rc = hold_out(a, &train, &test);
        if (rc == CLI_OK) rc = fit_and_score(a, c, m, layer, train, test, s, tmpfile, r);
        lam_dataset_free(train);
        lam_dataset_free(test);
    } else if (rc == CLI_OK) {
        rc = fit_and_score(a, c, m, layer, s->train, s->test, s, tmpfile, r);
    }
    lam_model_free(m);
    return rc;
}

/* --------------------------------------------------------------- output */

static void print_results(const compare_args *a, const split *s, result *res, int n)
{
    if (a->json) {
        cJSON *root = cJSON_CreateObject();
        cJSON_AddNumberToObject(root, "train_samples", (double)s->ntr);
        cJSON_AddNumberToObject(root, "test_samples", (double)s->nte);
        cJSON_AddNumberToObject(root, "features", (double)s->d);
        cJSON_AddStringToObject(root, "scaling", a->standardize ? "standard"
                                                 : a->minmax ? "minmax" : "none");
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
                if (res[i].nparams) cJSON_AddNumberToObject(o, "params", (double)res[i].nparams);
            }
            if (res[i].params) cJSON_AddItemToObject(o, "hyperparameters", res[i].params);
            res[i].params = NULL; /* owned by root now */
            cJSON_AddItemToArray(arr, o);
        }
        cli_json_print(root);
        return;
    }
    printf("%lld training samples, %lld test samples, %lld features, %d classes%s\n\n",
           (long long)s->ntr, (long long)s->nte, (long long)s->d, (int)s->classes,
           a->standardize ? ", standardized" : a->minmax ? ", min-max scaled" : "");
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

/* The entry as written, spec:PATH shown as the file name without folder and
 * extension (its settings kept). */
static void display_name(const char *entry, char *buf, size_t n)
{
    if (strncmp(entry, "spec:", 5) != 0) {
        snprintf(buf, n, "%s", entry);
        return;
    }
    const char *path = entry + 5, *opts = strchr(path, ':');
    const int plen = opts ? (int)(opts - path) : (int)strlen(path);
    const char *base = path;
    for (const char *q = path; q < path + plen; q++)
        if (*q == '/') base = q + 1;
    int len = (int)(path + plen - base);
    const char *dot = NULL;
    for (const char *q = base; q < base + len; q++)
        if (*q == '.') dot = q;
    if (dot && dot > base) len = (int)(dot - base);
    snprintf(buf, n, "%.*s%s", len, base, opts ? opts : "");
}

static int run_one(const compare_args *a, model_cfg *c, split *s, const char *tmpfile,
                   result *r)
{
    if (!a->json) fprintf(stderr, "training %s...\n", r->model); /* SVMs can take minutes */
    if (c->kind == M_SPEC) return run_spec(a, c, s, tmpfile, r);
    if (is_deep(c->kind)) return run_deep(a, c, s, tmpfile, r);
    return run_classic(c, s, tmpfile, r);
}

#define MAX_MODELS 16

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
        {"--standardize", OPT_FLAG, &a.standardize, NULL},
        {"--minmax", OPT_FLAG, &a.minmax, NULL},
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
    if (a.standardize && a.minmax)
        return cli_usage_error("compare", "give --standardize or --minmax, not both");
    lam_set_threads((int)a.threads);

    char list[4096];
    if (strlen(a.models) >= sizeof list)
        return cli_usage_error("compare", "--models is longer than %zu characters", sizeof list - 1);
    snprintf(list, sizeof list, "%s", a.models);
    char *entries[MAX_MODELS];
    int n = 0;
    for (char *t = strtok(list, ","); t; t = strtok(NULL, ",")) {
        if (!*t) continue;
        if (n == MAX_MODELS)
            return cli_usage_error("compare", "--models lists more than %d models", MAX_MODELS);
        entries[n++] = t;
    }
    if (n == 0) return cli_usage_error("compare", "--models lists no model");
    result res[MAX_MODELS];
    model_cfg cfg[MAX_MODELS];
    memset(res, 0, sizeof res);
    for (int i = 0; i < n; i++) {
        display_name(entries[i], res[i].model, sizeof res[i].model);
        if (parse_model(&a, entries[i], &cfg[i]) != CLI_OK) return CLI_USAGE;
    }

    char dir[] = "/tmp/lamina-compare-XXXXXX";
    if (!mkdtemp(dir)) return cli_error("cannot create a temporary folder in /tmp");
    char tmpfile[sizeof dir + 32];
    snprintf(tmpfile, sizeof tmpfile, "%s/model.safetensors", dir);

    split s;
    rc = make_split(&a, &s);
    for (int i = 0; rc == CLI_OK && i < n; i++) rc = run_one(&a, &cfg[i], &s, tmpfile, &res[i]);
    if (rc == CLI_OK) print_results(&a, &s, res, n);
    for (int i = 0; i < n; i++) cJSON_Delete(res[i].params);
    split_free(&s);
    rmdir(dir);
    return rc;
}
