/* fuzz_csv.c - lam_load_csv on arbitrary bytes. The first byte picks the
 * options (header or not, label column first or last, delimiter), the rest
 * is the file. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const char *path = fuzz_path(0, ".csv");
    uint8_t sel = data[0];
    fuzz_write(path, data + 1, size - 1);

    lam_csv_options o = lam_csv_defaults();
    o.header = sel & 1;
    o.label_index = sel & 2 ? -1 : 0;
    o.delimiter = sel & 4 ? ';' : ',';
    if (sel & 8) o.label_column = "label";
    lam_dataset *ds = NULL;
    lam_error_clear();
    lam_status s = lam_load_csv(path, &o, &ds);
    fuzz_check_dataset(s, ds, "lam_load_csv");
    return 0;
}
