/* main.c - the `lamina` command: dispatches to one subcommand per file
 * (cmd_*.c). */
#include "cli.h"

#include <string.h>

typedef struct subcommand {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *what;
} subcommand;

static const subcommand SUBCOMMANDS[] = {
    {"train", cmd_train, "train a model (Keras JSON spec or saved file) on a data set"},
    {"evaluate", cmd_evaluate, "loss and accuracy of a saved model on a data set"},
    {"predict", cmd_predict, "top classes for images (PNG, PGM), .npy arrays or a data set"},
    {"summary", cmd_summary, "print a model's Keras summary table"},
    {"demo", cmd_demo, "train the seed CNN on Fashion-MNIST and report test accuracy"},
    {"generate", cmd_generate, "continue a prompt with a language model trained on text"},
    {"compare", cmd_compare, "train classic and deep models on one split and compare them"},
    {"explain", cmd_explain, "why a model decides: attributions, SHAP values, importances"},
    {"select", cmd_select, "rank features (SHAP, permutation, impurity) and keep the best k"},
    {"surrogate", cmd_surrogate, "explain a model by shallow decision trees fitted to its labels"},
    {"privacy", cmd_privacy, "epsilon spent by DP-SGD (RDP or PRV), or the noise for a budget"},
    {"keygen", cmd_keygen, "write a new key file for encrypted model files"},
    {"desensitize", cmd_desensitize, "drop, hash, bin or suppress the columns of a CSV table"},
    {"export", cmd_export, "write a model in another format (ONNX)"},
    {"plot", cmd_plot, "draw learning curves from a model file's history or a CSV log"},
};
#define N_SUBCOMMANDS (sizeof SUBCOMMANDS / sizeof SUBCOMMANDS[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: lamina <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < N_SUBCOMMANDS; i++)
        fprintf(f, "  %-9s %s\n", SUBCOMMANDS[i].name, SUBCOMMANDS[i].what);
    fprintf(f,
            "\ndata sources (--data):\n"
            "  fashion-mnist         Fashion-MNIST from $LAMINA_DATA or "
            "/usr/share/datasets/fashion-mnist\n"
            "  DIR                   a folder of IDX files (train-images-idx3-ubyte[.gz], "
            "train-labels-idx1-ubyte[.gz],\n"
            "                        and t10k-* as the test split)\n"
            "  FILE.csv              numeric CSV, one sample a row (--label-column NAME|INDEX, "
            "--no-header)\n"
            "  X.npy[:Y.npy]         NumPy arrays: samples along the first axis, integer labels\n"
            "                        (memory-mapped from 64 MiB on); 'X_*.npy:Y_*.npy': shards\n"
            "  FILE.libsvm|.svm|.txt libsvm text (\"label idx:val ...\")\n"
            "  text:PATH             a UTF-8 file or a folder of *.txt files for next-token\n"
            "                        prediction: windows of --block T ids, the last 10%% of the\n"
            "                        tokens as the test split (--tokenizer char|bpe:VOCAB)\n"
            "  textcls:DIR           text classification: a sub-folder of *.txt files per class,\n"
            "                        or a file per class (lines, or fortune's %%-records);\n"
            "                        --max-len N token ids per sample\n"
            "\n`lamina <command> --help` describes a command; `lamina --version` prints the "
            "version.\nExit status: 0 success, 1 failure, 2 usage error.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return CLI_OK;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
        printf("lamina %s\n", lam_version());
        return CLI_OK;
    }
    for (size_t i = 0; i < N_SUBCOMMANDS; i++)
        if (!strcmp(cmd, SUBCOMMANDS[i].name)) {
            int rc = SUBCOMMANDS[i].run(argc - 1, argv + 1);
            return rc < 0 ? CLI_OK : rc; /* -1: --help was shown */
        }
    fprintf(stderr, "lamina: unknown command '%s' (see `lamina --help`)\n", cmd);
    return CLI_USAGE;
}
