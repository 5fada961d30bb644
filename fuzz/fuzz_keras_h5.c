/* fuzz_keras_h5.c - Keras's legacy .h5 reader (lam_keras_from_bytes on an
 * HDF5 image: the model_config and training_config attributes, the
 * model_weights and optimizer_weights groups) on arbitrary bytes. Seeds:
 * tests/fixtures/keras_files/tiny*.h5. Inputs that do not start as HDF5 files
 * do are left to the other targets. A model that loads must predict.
 *
 * Known: libhdf5 itself (Debian's 1.10.8, and 1.14.6 as h5py bundles it)
 * can spin for minutes in H5Aread of a variable-length string attribute whose
 * global-heap entry is damaged (H5T__conv_vlen -> H5HG_read); the fuzzer
 * reports it as a timeout within the first minute. lamina cannot bound time
 * spent inside libhdf5, so untrusted .h5 files are as safe as libhdf5 is. */
#include "fuzz_keras.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_keras_file(data, size, LAM_HDF5_MAGIC, 8, "fuzz.h5");
}
