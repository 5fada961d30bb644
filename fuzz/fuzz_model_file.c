/* fuzz_model_file.c - lam_model_load on arbitrary bytes (a safetensors file:
 * 8-byte header length, JSON header, tensor data). A model that loads is
 * saved again and reloaded, which must succeed. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_path(0, ".safetensors");
    fuzz_write(path, data, size);
    lam_model *m = NULL;
    lam_error_clear();
    lam_status s = lam_model_load(path, &m);
    fuzz_check(s, m, "lam_model_load");
    if (m) {
        (void)lam_model_param_count(m);
        const char *again = fuzz_path(1, "-again.safetensors");
        s = lam_model_save(m, again);
        if (s != LAM_OK) {
            fprintf(stderr, "a loaded model does not save: %s\n", lam_last_error());
            abort();
        }
        lam_model *m2 = NULL;
        s = lam_model_load(again, &m2);
        if (s != LAM_OK) {
            fprintf(stderr, "a loaded model, saved, does not load: %s\n", lam_last_error());
            abort();
        }
        lam_model_free(m2);
        lam_model_free(m);
    }
    return 0;
}
