/* cmd_surrogate.c - `lamina surrogate`: global surrogate trees for a trained
 * model. The model labels the training split (its predicted classes are the
 * teacher's labels), a decision tree of each --max-depth learns them, and the
 * table says how often each tree agrees with the model on the test split
 * (fidelity), how accurate it is on the true labels, and how large it is; the
 * rules of one tree can be written out with feature and class names. */
#include "cli.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char USAGE[] =
    "usage: lamina surrogate MODEL.safetensors --data SOURCE [--max-depth 4,8,12]\n"
    "                        [--rules FILE [--rules-depth D]] [options]\n"
    "\n"
    "Explains a trained model by decision trees fitted to the classes it predicts on the\n"
    "training split. For each depth: fidelity (agreement with the model on the test split),\n"
    "accuracy (on the true test labels), the model's own accuracy and the tree's leaves. The\n"
    "test split is the source's own or else the last 20% of the samples.\n"
    "\n"
    "  --data SOURCE     data (see `lamina --help`); samples must fit the model's input\n"
    "  --max-depth LIST  comma-separated tree depths >= 1 (default 4,8,12)\n"
    "  --rules FILE      write the rules (nested if/else) of the deepest tree, or of\n"
    "  --rules-depth D   the tree of depth D (one of --max-depth)\n"
    "  --batch-size N    model predictions per batch (default 64)\n"
    "  --limit N         use the first N training samples only\n"
    "  --test-limit N    use the first N test samples only\n"
    "  --seed N          the trees' feature order (default 42)\n"
    "  --threads N       0 = all cores (default)\n"
    "  --label-column C  CSV: label column name or index (default 0)\n"
    "  --no-header       CSV: no header row\n"
    "  --json            print one JSON object: model accuracy and one entry per depth\n";

#define MAX_DEPTHS 32

typedef struct surrogate_args {
    const char *data, *depths, *rules, *label_column;
    long rules_depth, batch, limit, test_limit, seed, threads;
    bool json, no_header;
} surrogate_args;

typedef struct row {
    int max_depth, depth;
    double fidelity, accuracy;
    int64_t leaves;
} row;

static int parse_depths(const char *spec, int *depths, int *n)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", spec);
    *n = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char *end;
        errno = 0;
        long v = strtol(t, &end, 10);
        if (!*t || *end || errno || v < 1 || v > 1000)
            return cli_usage_error("surrogate", "--max-depth: \"%s\" is not a depth in 1..1000",
                                   t);
        if (*n == MAX_DEPTHS)
            return cli_usage_error("surrogate", "--max-depth: at most %d depths", MAX_DEPTHS);
        int i = *n;
        while (i > 0 && depths[i - 1] > v) { /* insertion: ascending, no repeats */
            depths[i] = depths[i - 1];
            i--;
        }
        if (i > 0 && depths[i - 1] == v) {
            memmove(depths + i, depths + i + 1, sizeof(int) * (size_t)(*n - i));
            continue;
        }
        depths[i] = (int)v;
        (*n)++;
    }
    if (*n == 0) return cli_usage_error("surrogate", "--max-depth lists no depth");
    return CLI_OK;
}

/* The model's predicted class of every sample (its output must be one
 * probability or score per class). */
static int model_labels(lam_model *m, lam_dataset *ds, long batch, int32_t *out)
{
    int64_t shape[4];
    const int rank = lam_model_output_shape(m, 0, shape);
    if (rank != 1)
        return cli_error("model \"%s\": output of rank %d; surrogate explains classifiers with "
                         "one output value per class", lam_model_name(m), rank);
    const int64_t n = lam_dataset_count(ds), k = shape[0];
    float *p = malloc(sizeof(float) * (size_t)(n * k));
    if (!p) return cli_error("out of memory for %lld predictions", (long long)n);
    if (lam_predict(m, ds, (int)batch, p) != LAM_OK) {
        free(p);
        return cli_lib_error();
    }
    for (int64_t i = 0; i < n; i++) {
        int64_t best = 0;
        for (int64_t c = 1; c < k; c++)
            if (p[i * k + c] > p[i * k + best]) best = c;
        out[i] = (int32_t)best;
    }
    free(p);
    return CLI_OK;
}

static double agreement(const int32_t *a, const int32_t *b, int64_t n)
{
    int64_t ok = 0;
    for (int64_t i = 0; i < n; i++) ok += a[i] == b[i];
    return n ? (double)ok / (double)n : 0.0;
}

static int64_t count_leaves(const lam_tree *t)
{
    int64_t leaves = 0;
    lam_tree_node_info info;
    for (int64_t i = 0; i < lam_tree_node_count(t); i++)
        if (lam_tree_node(t, i, &info) == LAM_OK && info.feature < 0) leaves++;
    return leaves;
}

/* Class names: the model's (metadata class_names, one a line) when it has
 * one for each of k classes, Fashion-MNIST's for that source, else NULL. */
static char **class_names(const lam_model *m, const char *source, int k)
{
    char **names = calloc((size_t)k, sizeof(char *));
    if (!names) return NULL;
    const char *meta = lam_model_metadata(m, CLI_CLASS_NAMES_KEY);
    int n = 0;
    for (const char *p = meta; p && *p && n < k; n++) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        names[n] = strndup(p, len);
        p = e ? e + 1 : p + len;
    }
    if (n < k && !strcmp(source, "fashion-mnist") && k <= 10)
        for (n = 0; n < k; n++) {
            free(names[n]);
            names[n] = strdup(cli_fashion_mnist_labels[n]);
        }
    bool complete = n == k;
    for (int i = 0; i < k && complete; i++) complete = names[i] != NULL;
    if (!complete) {
        cli_names_free(names, k);
        return NULL;
    }
    return names;
}

static int write_rules(const surrogate_args *a, const lam_tree *t, const lam_model *m,
                       lam_dataset *train, const cli_data_options *dopt)
{
    char **features = cli_feature_names(a->data, dopt, train);
    if (!features) return cli_error("out of memory for the feature names");
    const int k = lam_tree_num_classes(t);
    char **classes = class_names(m, a->data, k);
    char *text = NULL;
    int rc = lam_tree_rules(t, (const char *const *)features, (const char *const *)classes,
                            &text) == LAM_OK ? CLI_OK : cli_lib_error();
    FILE *f = rc == CLI_OK ? fopen(a->rules, "w") : NULL;
    if (rc == CLI_OK && !f) rc = cli_error("%s: cannot create: %s", a->rules, strerror(errno));
    if (f) {
        fputs(text, f);
        if (fclose(f) != 0) rc = cli_error("%s: write failed: %s", a->rules, strerror(errno));
    }
    free(text);
    cli_names_free(features, lam_dataset_sample_size(train));
    cli_names_free(classes, k);
    return rc;
}

static void print_table(const surrogate_args *a, int64_t ntr, int64_t nte, int64_t d,
                        double model_acc, const row *rows, int n, int rules_depth)
{
    if (a->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "train_samples", (double)ntr);
        cJSON_AddNumberToObject(o, "test_samples", (double)nte);
        cJSON_AddNumberToObject(o, "features", (double)d);
        cli_json_number(o, "model_accuracy", model_acc);
        cJSON *arr = cJSON_AddArrayToObject(o, "surrogates");
        for (int i = 0; i < n; i++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddNumberToObject(e, "max_depth", rows[i].max_depth);
            cJSON_AddNumberToObject(e, "depth", rows[i].depth);
            cli_json_number(e, "fidelity", rows[i].fidelity);
            cli_json_number(e, "accuracy", rows[i].accuracy);
            cJSON_AddNumberToObject(e, "leaves", (double)rows[i].leaves);
            cJSON_AddItemToArray(arr, e);
        }
        if (a->rules) {
            cJSON_AddStringToObject(o, "rules", a->rules);
            cJSON_AddNumberToObject(o, "rules_depth", rules_depth);
        }
        cli_json_print(o);
        return;
    }
    printf("surrogates fitted to the model's classes on %lld training samples (%lld features);"
           " scored on %lld test samples\n\n", (long long)ntr, (long long)d, (long long)nte);
    printf("%9s  %8s  %8s  %14s  %6s\n", "max depth", "fidelity", "accuracy", "model accuracy",
           "leaves");
    for (int i = 0; i < n; i++)
        printf("%9d  %8.4f  %8.4f  %14.4f  %6lld\n", rows[i].max_depth, rows[i].fidelity,
               rows[i].accuracy, model_acc, (long long)rows[i].leaves);
    if (a->rules) printf("\nwrote the rules of the depth-%d tree to %s\n", rules_depth, a->rules);
}

static int run(const surrogate_args *a, const char *model_path, const int *depths, int nd)
{
    lam_model *m = NULL;
    lam_dataset *train = NULL, *test = NULL;
    cli_data_options dopt = {.label_column = a->label_column, .no_header = a->no_header};
    float *xtr = NULL, *xte = NULL;
    int32_t *ytr = NULL, *yte = NULL, *teacher = NULL, *model_te = NULL, *pred = NULL;
    row rows[MAX_DEPTHS];
    int rc = cli_open_model(model_path, &m);
    dopt.model = m; /* textcls: the model's tokenizer and classes */
    if (rc == CLI_OK) rc = cli_load_data(a->data, &dopt, &train, &test);
    if (rc == CLI_OK && !lam_dataset_labels(train)) {
        rc = cli_error("%s: surrogate needs class labels (X.npy:Y.npy, a label column, ...)",
                       a->data);
        lam_dataset_free(train);
        lam_dataset_free(test);
        train = test = NULL;
    }
    if (rc == CLI_OK) rc = cli_hold_out(a->data, a->limit, a->test_limit, &train, &test);
    if (rc == CLI_OK) rc = cli_fit_data_to_model(m, train, a->data);
    if (rc == CLI_OK) rc = cli_fit_data_to_model(m, test, a->data);
    const int64_t ntr = train ? lam_dataset_count(train) : 0;
    const int64_t nte = test ? lam_dataset_count(test) : 0;
    const int64_t d = train ? lam_dataset_sample_size(train) : 0;
    if (rc == CLI_OK) {
        teacher = malloc(sizeof(int32_t) * (size_t)ntr);
        model_te = malloc(sizeof(int32_t) * (size_t)nte);
        pred = malloc(sizeof(int32_t) * (size_t)nte);
        if (!teacher || !model_te || !pred) rc = cli_error("out of memory");
    }
    if (!a->json && rc == CLI_OK) fprintf(stderr, "labelling the data with the model...\n");
    if (rc == CLI_OK) rc = model_labels(m, train, a->batch, teacher);
    if (rc == CLI_OK) rc = model_labels(m, test, a->batch, model_te);
    if (rc == CLI_OK) rc = cli_flat_rows(train, &xtr, &ytr);
    if (rc == CLI_OK) rc = cli_flat_rows(test, &xte, &yte);
    const double model_acc = rc == CLI_OK ? agreement(model_te, yte, nte) : 0;
    int rules_depth = a->rules_depth ? (int)a->rules_depth : depths[nd - 1];
    for (int i = 0; rc == CLI_OK && i < nd; i++) {
        lam_tree *t = NULL;
        if (lam_surrogate_tree(xtr, ntr, d, teacher, depths[i], (uint64_t)a->seed, &t) != LAM_OK ||
            lam_tree_predict(t, xte, nte, d, pred) != LAM_OK)
            rc = cli_lib_error();
        if (rc == CLI_OK) {
            rows[i] = (row){depths[i], lam_tree_depth(t), agreement(pred, model_te, nte),
                            agreement(pred, yte, nte), count_leaves(t)};
            if (a->rules && depths[i] == rules_depth) rc = write_rules(a, t, m, train, &dopt);
        }
        lam_tree_free(t);
    }
    if (rc == CLI_OK) print_table(a, ntr, nte, d, model_acc, rows, nd, rules_depth);
    free(xtr);
    free(xte);
    free(ytr);
    free(yte);
    free(teacher);
    free(model_te);
    free(pred);
    lam_dataset_free(train);
    lam_dataset_free(test);
    lam_model_free(m);
    return rc;
}

int cmd_surrogate(int argc, char **argv)
{
    surrogate_args a = {.depths = "4,8,12", .batch = 64, .seed = 42};
    const cli_option opts[] = {
        {"--data", OPT_STR, &a.data, NULL},
        {"--max-depth", OPT_STR, &a.depths, NULL},
        {"--rules", OPT_STR, &a.rules, NULL},
        {"--rules-depth", OPT_INT, &a.rules_depth, NULL},
        {"--batch-size", OPT_INT, &a.batch, NULL},
        {"--limit", OPT_INT, &a.limit, NULL},
        {"--test-limit", OPT_INT, &a.test_limit, NULL},
        {"--seed", OPT_INT, &a.seed, NULL},
        {"--threads", OPT_INT, &a.threads, NULL},
        {"--label-column", OPT_STR, &a.label_column, NULL},
        {"--no-header", OPT_FLAG, &a.no_header, NULL},
        {"--json", OPT_FLAG, &a.json, NULL},
        {NULL, OPT_FLAG, NULL, NULL},
    };
    const char *pos[1];
    int npos;
    int rc = cli_parse("surrogate", USAGE, argc, argv, opts, pos, 1, &npos);
    if (rc) return rc;
    if (npos != 1) return cli_usage_error("surrogate", "give one model file");
    if (!a.data) return cli_usage_error("surrogate", "--data is required");
    if (!strncmp(a.data, "text:", 5))
        return cli_usage_error("surrogate", "%s: surrogate needs one class per sample; "
                               "text:PATH is next-token data", a.data);
    if (a.batch < 1) return cli_usage_error("surrogate", "--batch-size must be >= 1");
    if (a.limit < 0 || a.test_limit < 0 || a.seed < 0 || a.threads < 0 || a.rules_depth < 0)
        return cli_usage_error("surrogate", "--limit, --test-limit, --seed, --threads and "
                               "--rules-depth must be >= 0");
    int depths[MAX_DEPTHS], nd;
    if ((rc = parse_depths(a.depths, depths, &nd)) != CLI_OK) return rc;
    if (a.rules_depth && !a.rules)
        return cli_usage_error("surrogate", "--rules-depth needs --rules FILE");
    bool listed = !a.rules_depth;
    for (int i = 0; i < nd && !listed; i++) listed = depths[i] == a.rules_depth;
    if (!listed)
        return cli_usage_error("surrogate", "--rules-depth %ld is not one of --max-depth %s",
                               a.rules_depth, a.depths);
    if (cli_is_spec(pos[0]))
        return cli_error("%s: a Keras JSON spec is an untrained architecture; surrogate needs a "
                         "trained model file (lamina train ... --out MODEL.safetensors)", pos[0]);
    lam_set_threads((int)a.threads);
    return run(&a, pos[0], depths, nd);
}
