/* model.c - opening a model named on the command line: a Keras JSON spec
 * (model.to_json(), *.json) builds an untrained architecture; anything else is
 * a lamina safetensors file holding weights and training state. */
#include "cli.h"

#include <string.h>

bool cli_is_spec(const char *path)
{
    return cli_ends_with(path, ".json") || cli_ends_with(path, ".JSON");
}

int cli_open_model(const char *path, lam_model **out)
{
    *out = NULL;
    lam_status st = cli_is_spec(path) ? lam_model_from_json_file(path, out)
                                      : lam_model_load(path, out);
    if (st != LAM_OK) {
        /* The library names the file; say so ourselves if it did not. */
        const char *msg = lam_last_error();
        if (msg && strstr(msg, path)) return cli_lib_error();
        return cli_error("%s: %s", path, msg && *msg ? msg : lam_status_name(st));
    }
    return CLI_OK;
}
