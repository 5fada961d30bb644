/* cmd_summary.c - `lamina summary`: Keras's model.summary() table. */
#include "cli.h"

static const char USAGE[] =
    "usage: lamina summary SPEC.json|MODEL.safetensors\n"
    "\n"
    "Prints the model's summary as Keras does: layers, output shapes, parameter counts;\n"
    "for a saved model that has trained, also its completed epochs and steps. An encrypted\n"
    "model file needs its key in LAMINA_KEY_FILE or LAMINA_KEY.\n";

int cmd_summary(int argc, char **argv)
{
    const cli_option opts[] = {{NULL, OPT_FLAG, NULL, NULL}};
    const char *pos[1];
    int npos;
    int rc = cli_parse("summary", USAGE, argc, argv, opts, pos, 1, &npos);
    if (rc) return rc;
    if (npos != 1) return cli_usage_error("summary", "give one model file");
    lam_model *m = NULL;
    rc = cli_open_model(pos[0], &m);
    if (rc == CLI_OK && lam_model_summary(m, stdout) != LAM_OK) rc = cli_lib_error();
    lam_train_state ts;
    if (rc == CLI_OK) lam_model_train_state(m, &ts);
    /* A saved model's progress (what --resume continues from). */
    if (rc == CLI_OK && ts.step > 0)
        printf(" Trained: %lld epochs, %lld optimizer steps\n", (long long)ts.epoch,
               (long long)ts.step);
    lam_model_free(m);
    return rc;
}
