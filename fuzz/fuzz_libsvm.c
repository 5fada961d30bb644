/* fuzz_libsvm.c - lam_load_libsvm on arbitrary bytes, inferring the feature
 * count, then with a fixed one taken from the first byte. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const char *path = fuzz_path(0, ".svm");
    fuzz_write(path, data + 1, size - 1);
    int64_t nf[2] = {0, data[0] % 16};
    for (int k = 0; k < 2; k++) {
        lam_dataset *ds = NULL;
        lam_error_clear();
        lam_status s = lam_load_libsvm(path, nf[k], &ds);
        fuzz_check_dataset(s, ds, "lam_load_libsvm");
        if (!nf[1]) break;
    }
    return 0;
}
