/* cmd_plot.c - `lamina plot`: learning curves from a model file's history
 * or a CSVLogger file, drawn by lam_plot_curves. */
#include "cli.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

static const char USAGE[] =
    "usage: lamina plot MODEL.safetensors|LOG.csv --out CURVES.png [--metrics LIST] [options]\n"
    "\n"
    "Draws learning curves: per epoch, the training and validation values of each quantity\n"
    "in a panel of its own. From a model file trained by `lamina train` (the file keeps the\n"
    "history of its epochs, resumed runs included) or from a CSV log written by\n"
    "`lamina train --csv-log` (Keras's CSVLogger format: Keras's own logs work too).\n"
    "\n"
    "  --out FILE.png    the picture (required)\n"
    "  --metrics LIST    comma-separated quantities, a panel each, e.g. loss,accuracy,\n"
    "                    learning_rate (default: loss and accuracy, those present); each\n"
    "                    panel adds the validation values (val_NAME) when there are some\n"
    "  --title TEXT      default \"Learning curves: FILE\"\n"
    "  --json            print one JSON object: the curves (epoch and every quantity, null\n"
    "                    for none) and the picture's path\n";

#define MAX_METRICS 12

/* Splits LIST at commas into names (pointing into buf). */
static int split_metrics(const char *list, char *buf, size_t n, const char **names, int *count)
{
    *count = 0;
    if (strlen(list) >= n) return cli_usage_error("plot", "--metrics: the list is too long");
    strcpy(buf, list);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        if (*count == MAX_METRICS)
            return cli_usage_error("plot", "--metrics: at most %d quantities", MAX_METRICS);
        names[(*count)++] = tok;
    }
    if (*count == 0) return cli_usage_error("plot", "--metrics: no quantity named");
    return CLI_OK;
}

/* The curves of a CSV log, or of the history a model file keeps. */
static int read_curves(const char *path, lam_curves **out)
{
    if (cli_ends_with(path, ".csv") || cli_ends_with(path, ".CSV"))
        return lam_curves_read(path, out) == LAM_OK ? CLI_OK : cli_lib_error();
    lam_model *m = NULL;
    int rc = cli_open_model(path, &m);
    if (rc == CLI_OK && lam_model_history(m, out) != LAM_OK)
        rc = cli_error("%s: %s", path, lam_last_error());
    lam_model_free(m);
    return rc;
}

static void print_json(const lam_curves *c, const char *out)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *ep = cJSON_AddArrayToObject(o, "epoch");
    for (int i = 0; i < c->epochs; i++) cJSON_AddItemToArray(ep, cJSON_CreateNumber(c->epoch[i]));
    cJSON *q = cJSON_AddObjectToObject(o, "curves");
    for (int k = 0; k < c->columns; k++) {
        cJSON *arr = cJSON_AddArrayToObject(q, c->names[k]);
        for (int i = 0; i < c->epochs; i++) {
            const double v = c->values[(size_t)k * c->epochs + i];
            cJSON_AddItemToArray(arr, isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull());
        }
    }
    cJSON_AddStringToObject(o, "out", out);
    cli_json_print(o);
}

int cmd_plot(int argc, char **argv)
{
    const char *out = NULL, *metrics = NULL, *title = NULL;
    bool json = false;
    const cli_option opts[] = {
        {"--out", OPT_STR, &out, NULL},
        {"--metrics", OPT_STR, &metrics, NULL},
        {"--title", OPT_STR, &title, NULL},
        {"--json", OPT_FLAG, &json, NULL},
        {NULL, OPT_FLAG, NULL, NULL},
    };
    const char *pos[1];
    int npos;
    int rc = cli_parse("plot", USAGE, argc, argv, opts, pos, 1, &npos);
    if (rc) return rc;
    if (npos != 1) return cli_usage_error("plot", "give one model file or CSV log");
    if (!out) return cli_usage_error("plot", "--out FILE.png is required");
    char buf[1024];
    const char *names[MAX_METRICS];
    int nnames = 0;
    if (metrics && (rc = split_metrics(metrics, buf, sizeof buf, names, &nnames)) != CLI_OK)
        return rc;
    if (!lam_plot_available())
        return cli_error("this lamina was built without cairo: install libcairo2-dev "
                         "(scripts/install-deps.sh) and rebuild to draw pictures");
    lam_curves *c = NULL;
    if ((rc = read_curves(pos[0], &c)) != CLI_OK) return rc;
    char default_title[600];
    if (!title) {
        const char *base = strrchr(pos[0], '/');
        snprintf(default_title, sizeof default_title, "Learning curves: %s", base ? base + 1 : pos[0]);
        title = default_title;
    }
    if (lam_plot_curves(out, title, c, nnames ? names : NULL, nnames) != LAM_OK)
        rc = cli_lib_error();
    else if (json)
        print_json(c, out);
    else
        printf("saved %s (%d epochs)\n", out, c->epochs);
    lam_curves_free(c);
    return rc;
}
