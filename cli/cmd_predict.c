/* cmd_predict.c - `lamina predict`: the top classes of a saved model for
 * images, .npy arrays or the samples of a data source. */
#include "cli.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static const char USAGE[] =
    "usage: lamina predict MODEL.safetensors (IMAGE.png | IMAGE.pgm | ARRAY.npy)... [options]\n"
    "       lamina predict MODEL.safetensors --data SOURCE [options]\n"
    "\n"
    "Prints the K most probable classes of each input. Images (PNG 8/16-bit gray, RGB or\n"
    "RGBA; PGM P5/P2) are scaled to [0, 1], converted to the model's channel count (RGB to\n"
    "gray by luma) and resized bilinearly to its input height and width. An .npy array holds\n"
    "one or more samples of the model's input size. With --data, every sample of the\n"
    "source's test split (or of the whole source) is predicted.\n"
    "\n"
    "  --top K           classes shown per input (default 3)\n"
    "  --labels L        class names: fashion-mnist, or a file with one name per line\n"
    "                    (default: the names a model trained on textcls:DIR keeps, else\n"
    "                    class indices only)\n"
    "  --data SOURCE     predict a data source (see `lamina --help`)\n"
    "  --limit N         with --data: the first N samples only\n"
    "  --batch-size N    default 32\n"
    "  --threads N       0 = all cores (default)\n"
    "  --label-column C  CSV: label column name or index (default 0)\n"
    "  --no-header       CSV: no header row\n"
    "  --block T         text:PATH: window length (default: the model's input length)\n"
    "  --max-len N       textcls:DIR: tokens per sample (default: the model's input length)\n"
    "  --min-class-samples N  textcls:DIR: only the classes with at least N samples (as in\n"
    "                    training: the classes must be the model's)\n"
    "  --json            print one JSON object: {\"predictions\": [{\"input\", \"top\": [...]}]}\n";


typedef struct predict_args {
    const char *data, *labels, *label_column;
    long top, limit, batch, threads, block, max_len, min_class_samples;
    bool json, no_header;
} predict_args;

/* One input's top-K as text or as a JSON object added to arr. */
static void emit(const predict_args *a, const cli_labels *lb, const char *name, const float *p,
                 int64_t D, cJSON *arr)
{
    int k = (int)(a->top < D ? a->top : D);
    int64_t best[64];
    /* Selection by repeated max: K <= 64 and ties go to the lower class. */
    for (int j = 0; j < k; j++) {
        int64_t arg = -1;
        for (int64_t c = 0; c < D; c++) {
            bool used = false;
            for (int t = 0; t < j; t++) used |= best[t] == c;
            if (!used && (arg < 0 || p[c] > p[arg])) arg = c;
        }
        best[j] = arg;
    }
    if (arr) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "input", name);
        cJSON *top = cJSON_AddArrayToObject(o, "top");
        for (int j = 0; j < k; j++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddNumberToObject(e, "class", (double)best[j]);
            if (best[j] < lb->count) cJSON_AddStringToObject(e, "label", lb->names[best[j]]);
            cli_json_number(e, "probability", p[best[j]]);
            cJSON_AddItemToArray(top, e);
        }
        cJSON_AddItemToArray(arr, o);
        return;
    }
    printf("%s:", name);
    for (int j = 0; j < k; j++) {
        if (best[j] < lb->count) printf("%s %s (%lld) %.4f", j ? "," : "", lb->names[best[j]],
                                        (long long)best[j], (double)p[best[j]]);
        else printf("%s %lld %.4f", j ? "," : "", (long long)best[j], (double)p[best[j]]);
    }
    printf("\n");
}

/* Predicts n samples of raw floats and emits them as name or name[i]. */
static int predict_floats(const predict_args *a, const cli_labels *lb, lam_model *m, const char *name,
                          const float *x, int64_t n, cJSON *arr)
{
    const int64_t D = lam_model_output_size(m);
    float *p = malloc(sizeof(float) * (size_t)(n * D));
    if (!p) return cli_error("out of memory");
    if (lam_predict_raw(m, x, n, p) != LAM_OK) {
        free(p);
        return cli_lib_error();
    }
    for (int64_t i = 0; i < n; i++) {
        char label[4200];
        if (n == 1) snprintf(label, sizeof label, "%s", name);
        else snprintf(label, sizeof label, "%s[%lld]", name, (long long)i);
        emit(a, lb, label, p + i * D, D, arr);
    }
    free(p);
    return CLI_OK;
}

/* An image or an .npy file of one or more samples. */
static int predict_file(const predict_args *a, const cli_labels *lb, lam_model *m,
                        const char *path, cJSON *arr)
{
    float *x = NULL;
    int64_t n = 0;
    int rc = cli_read_inputs(m, path, &x, &n);
    if (rc == CLI_OK) rc = predict_floats(a, lb, m, path, x, n, arr);
    free(x);
    return rc;
}

static int predict_source(const predict_args *a, const cli_labels *lb, lam_model *m, cJSON *arr)
{
    cli_data_options dopt = {.label_column = a->label_column, .no_header = a->no_header,
                             .model = m, .block = a->block, .max_len = a->max_len,
                             .min_class_samples = a->min_class_samples};
    lam_dataset *train = NULL, *test = NULL;
    if (cli_load_data(a->data, &dopt, &train, &test) != CLI_OK) return CLI_FAIL;
    lam_dataset *ds = test ? test : train;
    int rc = CLI_OK;
    if (a->limit > 0 && a->limit < lam_dataset_count(ds) && lam_dataset_truncate(ds, a->limit))
        rc = cli_lib_error();
    if (rc == CLI_OK) rc = cli_fit_data_to_model(m, ds, a->data);
    const int64_t n = lam_dataset_count(ds), D = lam_model_output_size(m);
    float *p = rc == CLI_OK ? malloc(sizeof(float) * (size_t)(n * D + 1)) : NULL;
    if (rc == CLI_OK && !p) rc = cli_error("out of memory");
    if (rc == CLI_OK && lam_predict(m, ds, (int)a->batch, p) != LAM_OK) rc = cli_lib_error();
    for (int64_t i = 0; rc == CLI_OK && i < n; i++) {
        char name[4200];
        snprintf(name, sizeof name, "%s[%lld]", a->data, (long long)i);
        emit(a, lb, name, p + i * D, D, arr);
    }
    free(p);
    lam_dataset_free(train);
    lam_dataset_free(test);
    return rc;
}

int cmd_predict(int argc, char **argv)
{
    predict_args a = {.top = 3, .batch = 32};
    const cli_option opts[] = {
        {"--data", OPT_STR, &a.data, NULL},
        {"--top", OPT_INT, &a.top, NULL},
        {"--labels", OPT_STR, &a.labels, NULL},
        {"--limit", OPT_INT, &a.limit, NULL},
        {"--batch-size", OPT_INT, &a.batch, NULL},
        {"--threads", OPT_INT, &a.threads, NULL},
        {"--label-column", OPT_STR, &a.label_column, NULL},
        {"--no-header", OPT_FLAG, &a.no_header, NULL},
        {"--block", OPT_INT, &a.block, NULL},
        {"--max-len", OPT_INT, &a.max_len, NULL},
        {"--min-class-samples", OPT_INT, &a.min_class_samples, NULL},
        {"--json", OPT_FLAG, &a.json, NULL},
        {NULL, OPT_FLAG, NULL, NULL},
    };
    const char *pos[256];
    int npos;
    int rc = cli_parse("predict", USAGE, argc, argv, opts, pos, 256, &npos);
    if (rc) return rc;
    if (npos < 1) return cli_usage_error("predict", "give a model file");
    if (npos == 1 && !a.data) return cli_usage_error("predict", "give inputs or --data SOURCE");
    if (npos > 1 && a.data) return cli_usage_error("predict", "give inputs or --data, not both");
    if (a.top < 1 || a.top > 64 || a.batch < 1 || a.limit < 0 || a.threads < 0 ||
        a.block < 0 || a.max_len < 0 || a.min_class_samples < 0)
        return cli_usage_error("predict", "--top must be 1..64, --batch-size >= 1, --limit, "
                               "--threads, --block, --max-len and --min-class-samples >= 0");
    lam_set_threads((int)a.threads);

    cli_labels lb;
    lam_model *m = NULL;
    memset(&lb, 0, sizeof lb);
    rc = cli_open_model(pos[0], &m);
    if (rc == CLI_OK) rc = cli_labels_load(a.labels, m, &lb);
    cJSON *root = a.json ? cJSON_CreateObject() : NULL;
    cJSON *arr = root ? cJSON_AddArrayToObject(root, "predictions") : NULL;
    if (rc == CLI_OK && a.data) rc = predict_source(&a, &lb, m, arr);
    for (int i = 1; rc == CLI_OK && i < npos; i++)
        rc = predict_file(&a, &lb, m, pos[i], arr);
    if (rc == CLI_OK && root) cli_json_print(root);
    else cJSON_Delete(root);
    lam_model_free(m);
    cli_labels_free(&lb);
    return rc;
}
