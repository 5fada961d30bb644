/* cmd_demo.c - `lamina demo`: the seed's Keras CNN program on Fashion-MNIST,
 * built layer by layer through the API (the same model as
 * examples/seed_cnn.json), trained and evaluated on the 10,000 test images. */
#include "cli.h"

static const char USAGE[] =
    "usage: lamina demo [--epochs N] [--limit N] [--batch-size N] [--seed N] [--threads N]\n"
    "                   [--verbose 0|1|2]\n"
    "\n"
    "Trains the seed CNN (Conv2D 32, MaxPooling2D, Conv2D 64, MaxPooling2D, Flatten,\n"
    "Dense 64, Dense 10 softmax; Adam, sparse categorical cross-entropy) on Fashion-MNIST\n"
    "($LAMINA_DATA or /usr/share/datasets/fashion-mnist) and prints the test accuracy.\n"
    "\n"
    "  --epochs N      default 1 (the seed program runs 10: about 0.91 test accuracy)\n"
    "  --limit N       train on the first N images only\n"
    "  --batch-size N  default 32\n"
    "  --seed N        default 42\n"
    "  --threads N     0 = all cores (default)\n"
    "  --verbose 0|1|2 default 1\n";

int cmd_demo(int argc, char **argv)
{
    long epochs = 1, limit = 0, batch = 32, seed = 42, threads = 0, verbose = 1;
    const cli_option opts[] = {
        {"--epochs", OPT_INT, &epochs, NULL},   {"--limit", OPT_INT, &limit, NULL},
        {"--batch-size", OPT_INT, &batch, NULL}, {"--seed", OPT_INT, &seed, NULL},
        {"--threads", OPT_INT, &threads, NULL}, {"--verbose", OPT_INT, &verbose, NULL},
        {NULL, OPT_FLAG, NULL, NULL},
    };
    const char *pos[1];
    int npos;
    int rc = cli_parse("demo", USAGE, argc, argv, opts, pos, 0, &npos);
    if (rc) return rc;
    if (epochs < 0 || limit < 0 || batch < 1 || threads < 0 || verbose < 0 || verbose > 2)
        return cli_usage_error("demo", "--epochs, --limit, --threads must be >= 0, "
                               "--batch-size >= 1, --verbose 0, 1 or 2");
    lam_set_threads((int)threads);

    lam_dataset *train = NULL, *test = NULL;
    if (cli_load_data("fashion-mnist", NULL, &train, &test) != CLI_OK) return CLI_FAIL;
    lam_model *m = lam_sequential("sequential");
    lam_optimizer adam = lam_adam();
    lam_fit_options fo = lam_fit_defaults();
    fo.epochs = (int)epochs;
    fo.batch_size = (int)batch;
    fo.verbose = (int)verbose;
    lam_eval_result res;
    rc = CLI_FAIL;
    if (m) lam_model_set_seed(m, (uint64_t)seed);
    if (!m || (limit > 0 && limit < lam_dataset_count(train) &&
               lam_dataset_truncate(train, limit) != LAM_OK) ||
        cli_build_seed(m, true, 28, 28, 10) != LAM_OK ||
        lam_model_compile(m, &adam, LAM_LOSS_SPARSE_CATEGORICAL_CE) != LAM_OK ||
        lam_model_summary(m, stdout) != LAM_OK || lam_fit(m, train, &fo, NULL) != LAM_OK ||
        lam_evaluate(m, test, (int)batch, 0, &res) != LAM_OK) {
        cli_lib_error();
    } else {
        printf("test loss: %.4f\ntest accuracy: %.4f\n", res.loss, res.accuracy);
        rc = CLI_OK;
    }
    lam_model_free(m);
    lam_dataset_free(train);
    lam_dataset_free(test);
    return rc;
}
