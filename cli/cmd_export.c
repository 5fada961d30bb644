/* cmd_export.c - `lamina export`: a model written in another format, chosen
 * by the extension of --to (.onnx, .keras). Each format is one entry of FORMATS. */
#include "cli.h"

#include <string.h>

static const char USAGE[] =
    "usage: lamina export SPEC.json|MODEL --to FILE.onnx|FILE.keras [options]\n"
    "\n"
    "Writes the model in the format the extension of --to names:\n"
    "  .onnx   ONNX (onnxruntime and other runtimes): the inference graph on lamina's\n"
    "          layout (float32, batch first, images NHWC), weights included\n"
    "  .keras  Keras 3 (keras.saving.load_model): config.json, metadata.json and\n"
    "          model.weights.h5 in a zip; the model opens uncompiled\n"
    "A spec (.json) is exported with freshly initialised weights (--seed). An encrypted\n"
    "model file needs its key in LAMINA_KEY_FILE or LAMINA_KEY. The file is written\n"
    "atomically: a reader sees the old file or the new one, never a mix.\n"
    "\n"
    "  --to FILE      the file to write (required)\n"
    "  --opset N      ONNX operator set, 13 to 18 (default 17); ONNX only\n"
    "  --seed N       a spec's initialisation seed (default: the model's)\n";

typedef struct export_args {
    const char *to;
    long opset, seed;
    bool seed_seen, opset_seen;
} export_args;

static int to_onnx(const lam_model *m, const export_args *a)
{
    if (!lam_onnx_available())
        return cli_error("this lamina was built without ONNX export: install "
                         "libprotobuf-c-dev, protobuf-c-compiler and libonnx-dev "
                         "(scripts/install-deps.sh), then reconfigure and rebuild");
    lam_onnx_options o = lam_onnx_defaults();
    if (a->opset_seen) o.opset = (int)a->opset;
    return lam_model_export_onnx(m, a->to, &o) == LAM_OK ? CLI_OK : cli_lib_error();
}

static int to_keras(const lam_model *m, const export_args *a)
{
    if (a->opset_seen) return cli_usage_error("export", "--opset is for .onnx files");
    return lam_model_export_keras(m, a->to) == LAM_OK ? CLI_OK : cli_lib_error();
}

typedef struct export_format {
    const char *ext;
    int (*write)(const lam_model *m, const export_args *a);
} export_format;

static const export_format FORMATS[] = {
    {".onnx", to_onnx},
    {".keras", to_keras},
};
#define N_FORMATS (sizeof FORMATS / sizeof FORMATS[0])

int cmd_export(int argc, char **argv)
{
    export_args a = {.to = NULL};
    const cli_option opts[] = {
        {"--to", OPT_STR, &a.to, NULL},
        {"--opset", OPT_INT, &a.opset, &a.opset_seen},
        {"--seed", OPT_INT, &a.seed, &a.seed_seen},
        {NULL, OPT_FLAG, NULL, NULL},
    };
    const char *pos[1];
    int npos;
    int rc = cli_parse("export", USAGE, argc, argv, opts, pos, 1, &npos);
    if (rc) return rc;
    if (npos != 1) return cli_usage_error("export", "give one model file");
    if (!a.to) return cli_usage_error("export", "--to FILE is required");
    const export_format *fmt = NULL;
    for (size_t i = 0; i < N_FORMATS; i++)
        if (cli_ends_with(a.to, FORMATS[i].ext)) fmt = &FORMATS[i];
    if (!fmt) return cli_usage_error("export", "%s: unknown format (expected a name ending "
                                     "in .onnx or .keras)", a.to);
    if (a.seed_seen && !cli_is_spec(pos[0]))
        return cli_usage_error("export", "--seed initialises a spec (.json); %s has its "
                               "weights", pos[0]);
    lam_model *m = NULL;
    rc = cli_open_model(pos[0], &m);
    if (rc == CLI_OK && cli_is_spec(pos[0])) {
        /* Compiling initialises the weights; the optimizer and loss are not exported. */
        if (a.seed_seen) lam_model_set_seed(m, (uint64_t)a.seed);
        lam_optimizer adam = lam_adam();
        if (lam_model_compile(m, &adam, LAM_LOSS_SPARSE_CATEGORICAL_CE) != LAM_OK)
            rc = cli_lib_error();
    }
    if (rc == CLI_OK) rc = fmt->write(m, &a);
    if (rc == CLI_OK) fprintf(stderr, "wrote %s\n", a.to);
    lam_model_free(m);
    return rc;
}
