/* cmd_keygen.c - `lamina keygen FILE`: a fresh random key for encrypted model
 * files, written to a new file only its owner may read. */
#include "cli.h"

static const char USAGE[] =
    "usage: lamina keygen FILE\n"
    "\n"
    "Writes a new random 32-byte key as 64 hex digits to FILE (mode 0600; an existing\n"
    "file is never replaced). Commands read the key from the environment, never from\n"
    "the command line:\n"
    "  LAMINA_KEY_FILE=FILE lamina train ... --out m.safetensors --encrypt\n"
    "  LAMINA_KEY_FILE=FILE lamina evaluate m.safetensors --data ...\n"
    "(or LAMINA_KEY=<the 64 hex digits>). Losing the key loses the models encrypted with it.\n";

int cmd_keygen(int argc, char **argv)
{
    const cli_option opts[] = {{NULL, OPT_FLAG, NULL, NULL}};
    const char *pos[1];
    int npos;
    int rc = cli_parse("keygen", USAGE, argc, argv, opts, pos, 1, &npos);
    if (rc) return rc;
    if (npos != 1) return cli_usage_error("keygen", "give the key file to write");
    lam_key *key = NULL;
    if (lam_key_generate(&key) != LAM_OK) return cli_lib_error();
    if (lam_key_save_file(key, pos[0]) != LAM_OK) {
        lam_key_free(key);
        return cli_lib_error();
    }
    char id[17];
    lam_key_id_hex(key, id);
    lam_key_free(key);
    printf("wrote %s (key id %s, mode 0600); use it with LAMINA_KEY_FILE=%s\n", pos[0], id, pos[0]);
    return CLI_OK;
}
