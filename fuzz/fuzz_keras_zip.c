/* fuzz_keras_zip.c - the Keras 3 .keras reader (lam_keras_from_bytes on a zip
 * archive: config.json with its compile_config, and model.weights.h5 read from
 * memory) on arbitrary bytes. Seeds: tests/fixtures/keras_files/tiny*.keras.
 * Inputs that do not start as zip archives do are left to the other targets.
 * A model that loads must predict. */
#include "fuzz_keras.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_keras_file(data, size, LAM_ZIP_MAGIC, 4, "fuzz.keras");
}
