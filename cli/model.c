/* model.c - opening a model named on the command line: a Keras JSON spec
 * (model.to_json(), *.json) builds an untrained architecture; anything else is
 * a lamina safetensors file holding weights and training state. */
#include "cli.h"

#include <string.h>

bool cli_is_spec(const char *path)
{
    return cli_ends_with(path, ".json") || cli_ends_with(path, ".JSON");
}

/* An encrypted file is recognised by its magic and needs the key from the
 * environment; a plaintext one is read without looking at the key. */
static lam_status load_saved(const char *path, lam_model **out, int *rc)
{
    bool encrypted = false;
    lam_status st = lam_model_file_encrypted(path, &encrypted);
    if (st != LAM_OK || !encrypted) return lam_model_load(path, out);
    lam_key *key = NULL;
    if ((*rc = cli_env_key(&key)) != CLI_OK) return LAM_OK;
    if (!key) {
        *rc = cli_error("%s is encrypted: give its key with LAMINA_KEY_FILE=KEYFILE (or "
                        "LAMINA_KEY=64 hex digits) in the environment", path);
        return LAM_OK;
    }
    st = lam_model_load_key(path, key, out);
    lam_key_free(key);
    return st;
}

int cli_open_model(const char *path, lam_model **out)
{
    *out = NULL;
    int rc = CLI_OK;
    lam_status st = cli_is_spec(path) ? lam_model_from_json_file(path, out)
                                      : load_saved(path, out, &rc);
    if (rc != CLI_OK) return rc;
    if (st != LAM_OK) {
        /* The library names the file; say so ourselves if it did not. */
        const char *msg = lam_last_error();
        if (msg && strstr(msg, path)) return cli_lib_error();
        return cli_error("%s: %s", path, msg && *msg ? msg : lam_status_name(st));
    }
    return CLI_OK;
}

/* The seed's CNN (Conv2D 32, pool, Conv2D 64, pool, Flatten, Dense 64) or stacked
 * LSTM (3 x LSTM 64), for samples of H x W (x 1), ending in a softmax over
 * the data's classes. */
lam_status cli_build_seed(lam_model *m, bool cnn, int64_t H, int64_t W, int classes)
{
    lam_status st;
    if (cnn) {
        st = lam_model_add_input(m, 3, (int64_t[]){H, W, 1});
        if (!st) st = lam_model_add_conv2d(m, 32, 3, 3, LAM_ACT_RELU);
        if (!st) st = lam_model_add_maxpool2d(m, 2, 2);
        if (!st) st = lam_model_add_conv2d(m, 64, 3, 3, LAM_ACT_RELU);
        if (!st) st = lam_model_add_maxpool2d(m, 2, 2);
        if (!st) st = lam_model_add_flatten(m);
        if (!st) st = lam_model_add_dense(m, 64, LAM_ACT_RELU);
    } else {
        st = lam_model_add_input(m, 2, (int64_t[]){H, W});
        if (!st) st = lam_model_add_lstm(m, 64, true);
        if (!st) st = lam_model_add_lstm(m, 64, true);
        if (!st) st = lam_model_add_lstm(m, 64, false);
    }
    if (!st) st = lam_model_add_dense(m, classes, LAM_ACT_SOFTMAX);
    return st;
}
