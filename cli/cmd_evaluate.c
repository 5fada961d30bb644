/* cmd_evaluate.c - `lamina evaluate`: model.evaluate on a data source's test
 * split (or on the whole source when it has no test split). */
#include "cli.h"

#include <cjson/cJSON.h>

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
    "  --json            print one JSON object: loss, accuracy, samples, seconds\n";

int cmd_evaluate(int argc, char **argv)
{
    const char *data = NULL, *label_column = NULL;
    long batch = 32, threads = 0, limit = 0, block = 0, max_len = 0;
    long min_class_samples = 0;
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
    if (rc == CLI_OK && json) {
        cJSON *o = cJSON_CreateObject();
        cli_json_number(o, "loss", res.loss);
        if (res.has_accuracy) cli_json_number(o, "accuracy", res.accuracy);
        cJSON_AddNumberToObject(o, "samples", (double)lam_dataset_count(ds));
        cli_json_number(o, "seconds", res.seconds);
        cli_json_print(o);
    } else if (rc == CLI_OK) {
        printf("samples: %lld\n", (long long)lam_dataset_count(ds));
        printf("loss: %.4f\n", res.loss);
        if (res.has_accuracy) printf("accuracy: %.4f\n", res.accuracy);
    }
    lam_dataset_free(train);
    lam_dataset_free(test);
    lam_model_free(m);
    return rc;
}
