/* fuzz_idx.c - lam_load_idx on arbitrary bytes, read as the images file (with
 * a valid one-label labels file) and as the labels file (with a valid
 * one-image images file). IDX files may be gzip, so the bytes also go
 * through zlib's gzip reader; and as images mapped (lam_open_idx with
 * LAM_STORAGE_MAPPED). */
#include "fuzz_common.h"

static const uint8_t one_image[] = {0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4};
static const uint8_t one_label[] = {0, 0, 8, 1, 0, 0, 0, 1, 7};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *fuzzed = fuzz_path(0, ".idx");
    const char *images = fuzz_path(1, "-images.idx");
    const char *labels = fuzz_path(2, "-labels.idx");
    static int ready;
    if (!ready) {
        fuzz_write(images, one_image, sizeof one_image);
        fuzz_write(labels, one_label, sizeof one_label);
        ready = 1;
    }
    fuzz_write(fuzzed, data, size);

    lam_dataset *ds = NULL;
    lam_error_clear();
    lam_status s = lam_load_idx(fuzzed, labels, &ds);
    fuzz_check_dataset(s, ds, "lam_load_idx(fuzzed images)");

    ds = NULL;
    lam_error_clear();
    s = lam_load_idx(images, fuzzed, &ds);
    fuzz_check_dataset(s, ds, "lam_load_idx(fuzzed labels)");

    ds = NULL;
    lam_error_clear();
    s = lam_open_idx(fuzzed, labels, LAM_STORAGE_MAPPED, &ds);
    fuzz_check_dataset(s, ds, "lam_open_idx(fuzzed images, mapped)");
    return 0;
}
