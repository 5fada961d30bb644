/* key.c - the key of encrypted model files, from the environment:
 * LAMINA_KEY_FILE names a key file (lamina keygen FILE makes one), LAMINA_KEY
 * holds the key as 64 hex digits. Never a command-line argument: arguments
 * are visible to every user of the machine (ps, /proc/PID/cmdline) and end up
 * in shell histories. The library itself never reads the environment. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

int cli_env_key(lam_key **out)
{
    *out = NULL;
    const char *file = getenv("LAMINA_KEY_FILE");
    const char *hex = getenv("LAMINA_KEY");
    if (file && *file && hex && *hex)
        return cli_error("both LAMINA_KEY_FILE and LAMINA_KEY are set; set only one");
    if (file && *file) {
        if (lam_key_load_file(file, out) != LAM_OK) return cli_lib_error();
    } else if (hex && *hex) {
        if (lam_key_from_hex(hex, out) != LAM_OK)
            return cli_error("LAMINA_KEY: %s", lam_last_error());
    }
    return CLI_OK;
}

int cli_save_model(const lam_model *m, const char *path, const lam_key *key)
{
    lam_status st = key ? lam_model_save_encrypted(m, path, key) : lam_model_save(m, path);
    return st == LAM_OK ? CLI_OK : cli_lib_error();
}
