/* fuzz_keras_zip.c - the Keras 3 .keras reader (lam_keras_from_bytes on a zip
 * archive: config.json with its compile_config, and model.weights.h5 read from
 * memory) on arbitrary bytes. Seeds: tests/fixtures/keras_files/tiny*.keras.
 * Inputs that do not start as zip archives do are left to the other targets.
 * A model that loads must predict. */
#include "fuzz_common.h"
#include "io/keras_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4 || memcmp(data, LAM_ZIP_MAGIC, 4) != 0) return 0;
    lam_model *m = NULL;
    lam_error_clear();
    lam_status s = lam_keras_from_bytes("fuzz.keras", data, size, &m);
    fuzz_check(s, m, "lam_keras_from_bytes (.keras)");
    fuzz_predict_small(m);
    lam_model_free(m);
    return 0;
}
