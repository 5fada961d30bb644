/* fuzz_npy.c - lam_load_npy on arbitrary bytes, as x alone, and as y with a
 * valid two-sample x; the mapped readers (lam_open_npy with
 * LAM_STORAGE_MAPPED, lam_open_npy_shards after a valid shard) on x. */
#include "fuzz_common.h"

/* np.save of np.zeros((2, 3), np.float32) */
static const char x_header[] =
    "\x93NUMPY\x01\x00\x76\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *fuzzed = fuzz_path(0, ".npy");
    const char *x = fuzz_path(1, "-x.npy");
    static int ready;
    if (!ready) {
        /* header padded with spaces to 128 bytes, ending in '\n' */
        uint8_t buf[128 + 24];
        size_t hl = sizeof x_header - 1;
        memcpy(buf, x_header, hl);
        memset(buf + hl, ' ', 128 - hl);
        buf[127] = '\n';
        memset(buf + 128, 0, 24);
        fuzz_write(x, buf, sizeof buf);
        ready = 1;
    }
    fuzz_write(fuzzed, data, size);

    lam_dataset *ds = NULL;
    lam_error_clear();
    lam_status s = lam_load_npy(fuzzed, NULL, &ds);
    fuzz_check_dataset(s, ds, "lam_load_npy(fuzzed x)");

    ds = NULL;
    lam_error_clear();
    s = lam_load_npy(x, fuzzed, &ds);
    fuzz_check_dataset(s, ds, "lam_load_npy(fuzzed y)");

    ds = NULL;
    lam_error_clear();
    s = lam_open_npy(fuzzed, NULL, LAM_STORAGE_MAPPED, &ds);
    fuzz_check_dataset(s, ds, "lam_open_npy(fuzzed x, mapped)");

    ds = NULL;
    lam_error_clear();
    const char *shards[2] = {x, fuzzed};
    s = lam_open_npy_shards(2, shards, NULL, &ds);
    fuzz_check_dataset(s, ds, "lam_open_npy_shards(valid x, fuzzed x)");
    return 0;
}
