/* cmd_evaluate.c - `lamina evaluate`: model.evaluate on a data source's test
 * split (or on the whole source when it has no test split). */
#include "cli.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static const char USAGE[] =
    "usage: lamina evaluate MODEL.safetensors --data SOURCE [options]\n"
    "\n"
    "Loss and accuracy of a saved model on the test split of SOURCE (Fashion-MNIST, an IDX\n"
    "folder with t10k-* files), or on all of SOURCE when it has no test split.\n"
    "\n"
    "  --data SOURCE     data (see `lamina --help`)\n"
    "  --batch-size N    default 32\n"
    "  --limit N         evaluate the first N samples only\n"
    "  --threads N       0 = all cores (default)\n"
    "  --label-column C  CSV: label column name or index (default 0)\n"
    "  --no-header       CSV: no header row\n"
    "  --block T         text:PATH: window length (default: the model's input length)\n"
    "  --max-len N       textcls:DIR: tokens per sample (default: the model's input length)\n"
    "  --min-class-samples N  textcls:DIR: only the classes with at least N samples (as in\n"
    "                    training: the classes must be the model's)\n"
    "  --confusion-matrix FILE.png  also draw the confusion matrix (counts, a cell's colour\n"
    "                    its share of the true class, class names on both axes, the\n"
    "                    accuracy in the title) and print it (rows: true classes)\n"
    "  --labels L        class names for it: fashion-mnist, or a file with one name per\n"
    "                    line (default: fashion-mnist's for --data fashion-mnist, else the\n"
    "                    names a model trained on textcls:DIR keeps, else indices)\n"
    "  --json            print one JSON object: loss, accuracy, samples, seconds (and\n"
    "                    confusion_matrix, its rows the true classes)\n";

/* The confusion matrix of m on ds: *counts[t * classes + p] samples of true
 * class t predicted as p (the most probable class; for one sigmoid output, 1
 * from 0.5 on). */
static int confusion_counts(lam_model *m, lam_dataset *ds, long batch, int64_t **counts,
                            int *classes)
{
    *counts = NULL;
    const int32_t *y = lam_dataset_labels(ds);
    const int64_t n = lam_dataset_count(ds), out = lam_model_output_size(m);
    if (!y || lam_dataset_label_size(ds) != 1)
        return cli_error("--confusion-matrix needs one class label per sample");
    if (out < 1 || out > 100)
        return cli_error("--confusion-matrix: the model has %lld outputs per sample (1 to 100 "
                         "classes drawn)", (long long)out);
    const int k = out == 1 ? 2 : (int)out;
    float *p = malloc((size_t)n * (size_t)out * sizeof *p);
    int64_t *c = calloc((size_t)k * (size_t)k, sizeof *c);
    if (!p || !c) {
        free(p);
        free(c);
        return cli_error("out of memory for %lld predictions", (long long)n);
    }
    if (lam_predict(m, ds, (int)batch, p) != LAM_OK) {
        free(p);
        free(c);
        return cli_lib_error();
    }
    for (int64_t i = 0; i < n; i++) {
        const float *pi = p + i * out;
        int best = 0;
        if (out == 1) best = pi[0] >= 0.5f;
        else
            for (int j = 1; j < k; j++)
                if (pi[j] > pi[best]) best = j;
        if (y[i] < 0 || y[i] >= k) {
            free(p);
            free(c);
            return cli_error("--confusion-matrix: sample %lld has label %d, the model has %d "
                             "classes", (long long)i, y[i], k);
        }
        c[(int64_t)y[i] * k + best]++;
    }
    free(p);
    *counts = c;
    *classes = k;
    return CLI_OK;
}

/* Draws the matrix into path, titled with the model file and the accuracy. */
static int draw_confusion(const char *path, const char *model_path, const int64_t *counts,
                          int k, const cli_labels *lb)
{
    int64_t right = 0, all = 0;
    for (int t = 0; t < k; t++)
        for (int p = 0; p < k; p++) {
            all += counts[t * k + p];
            if (t == p) right += counts[t * k + p];
        }
    const char *base = strrchr(model_path, '/');
    char title[600];
    snprintf(title, sizeof title, "%s: accuracy %.4f on %lld samples", base ? base + 1 : model_path,
             all ? (double)right / (double)all : 0.0, (long long)all);
    const char **names = lb->count >= k ? malloc(sizeof(char *) * (size_t)k) : NULL;
    for (int j = 0; names && j < k; j++) names[j] = cli_label(lb, j);
    lam_status st = lam_plot_confusion(path, title, counts, k, names);
    free(names);
    return st == LAM_OK ? CLI_OK : cli_lib_error();
}

static void print_confusion(const int64_t *counts, int k, const cli_labels *lb)
{
    printf("confusion matrix (rows: true class, columns: predicted):\n");
    for (int t = 0; t < k; t++) {
        for (int p = 0; p < k; p++) printf("%s%6lld", p ? " " : "", (long long)counts[t * k + p]);
        const char *name = cli_label(lb, t);
        printf(name ? "  %s\n" : "\n", name);
    }
}

int cmd_evaluate(int argc, char **argv)
{
    const char *data = NULL, *label_column = NULL;
    long batch = 32, threads = 0, limit = 0, block = 0, max_len = 0;
    long min_class_samples = 0;
    const char *confusion = NULL, *labels = NULL;
    bool json = false, no_header = false;
    const cli_option opts[] = {
        {"--data", OPT_STR, &data, NULL},
        {"--batch-size", OPT_INT, &batch, NULL},
        {"--limit", OPT_INT, &limit, NULL},
        {"--threads", OPT_INT, &threads, NULL},
        {"--label-column", OPT_STR, &label_column, NULL},
        {"--no-header", OPT_FLAG, &no_header, NULL},
        {"--block", OPT_INT, &block, NULL},
        {"--max-len", OPT_INT, &max_len, NULL},
        {"--min-class-samples", OPT_INT, &min_class_samples, NULL},
        {"--confusion-matrix", OPT_STR, &confusion, NULL},
        {"--labels", OPT_STR, &labels, NULL},
        {"--json", OPT_FLAG, &json, NULL},
        {NULL, OPT_FLAG, NULL, NULL},
    };
    const char *pos[1];
    int npos;
    int rc = cli_parse("evaluate", USAGE, argc, argv, opts, pos, 1, &npos);
    if (rc) return rc;
    if (npos != 1) return cli_usage_error("evaluate", "give one model file");
    if (!data) return cli_usage_error("evaluate", "--data is required");
    if (batch < 1 || threads < 0 || limit < 0 || block < 0 || max_len < 0 ||
        min_class_samples < 0)
        return cli_usage_error("evaluate", "--batch-size must be >= 1, --threads, --limit, "
                               "--block, --max-len and --min-class-samples >= 0");
    if (confusion && !lam_plot_available())
        return cli_error("this lamina was built without cairo: install libcairo2-dev "
                         "(scripts/install-deps.sh) and rebuild to draw --confusion-matrix");
    lam_set_threads((int)threads);

    lam_model *m = NULL;
    lam_dataset *train = NULL, *test = NULL;
    cli_data_options dopt = {.label_column = label_column, .no_header = no_header,
                             .block = block, .max_len = max_len,
                             .min_class_samples = min_class_samples};
    rc = cli_open_model(pos[0], &m);
    dopt.model = m; /* text sources use its tokenizer */
    if (rc == CLI_OK) rc = cli_load_data(data, &dopt, &train, &test);
    lam_dataset *ds = test ? test : train;
    if (rc == CLI_OK && limit > 0 && limit < lam_dataset_count(ds) &&
        lam_dataset_truncate(ds, limit) != LAM_OK)
        rc = cli_lib_error();
    if (rc == CLI_OK) rc = cli_fit_data_to_model(m, ds, data);
    lam_eval_result res;
    if (rc == CLI_OK && lam_evaluate(m, ds, (int)batch, 0, &res) != LAM_OK) rc = cli_lib_error();
    int64_t *counts = NULL;
    int classes = 0;
    cli_labels lb = {0};
    if (rc == CLI_OK && confusion) {
        rc = confusion_counts(m, ds, batch, &counts, &classes);
        if (rc == CLI_OK)
            rc = cli_labels_load(labels ? labels : !strcmp(data, "fashion-mnist") ? data : NULL,
                                 m, &lb);
        if (rc == CLI_OK) rc = draw_confusion(confusion, pos[0], counts, classes, &lb);
    }
    if (rc == CLI_OK && json) {
        cJSON *o = cJSON_CreateObject();
        cli_json_number(o, "loss", res.loss);
        if (res.has_accuracy) cli_json_number(o, "accuracy", res.accuracy);
        cJSON_AddNumberToObject(o, "samples", (double)lam_dataset_count(ds));
        cli_json_number(o, "seconds", res.seconds);
        if (counts) {
            cJSON *rows = cJSON_AddArrayToObject(o, "confusion_matrix");
            for (int t = 0; t < classes; t++) {
                cJSON *row = cJSON_CreateArray();
                for (int p = 0; p < classes; p++)
                    cJSON_AddItemToArray(row, cJSON_CreateNumber((double)counts[t * classes + p]));
                cJSON_AddItemToArray(rows, row);
            }
            cJSON_AddStringToObject(o, "confusion_matrix_file", confusion);
        }
        cli_json_print(o);
    } else if (rc == CLI_OK) {
        printf("samples: %lld\n", (long long)lam_dataset_count(ds));
        printf("loss: %.4f\n", res.loss);
        if (res.has_accuracy) printf("accuracy: %.4f\n", res.accuracy);
        if (counts) {
            print_confusion(counts, classes, &lb);
            printf("saved %s\n", confusion);
        }
    }
    free(counts);
    cli_labels_free(&lb);
    lam_dataset_free(train);
    lam_dataset_free(test);
    lam_model_free(m);
    return rc;
}
