/* fuzz_curves.c - the learning-curve reader (lam_curves_parse: CSVLogger
 * files and the History JSON a model file keeps) on arbitrary bytes. */
#include "fuzz_common.h"
#include "io/curves.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lam_curves *c = NULL;
    lam_error_clear();
    lam_status s = lam_curves_parse((const char *)data, size, "fuzz input", &c);
    fuzz_check(s, c, "lam_curves_parse");
    if (c) {
        /* Touch every value and name: a short array shows under ASan. */
        volatile double acc = 0;
        for (int k = 0; k < c->columns; k++) {
            acc += (double)strlen(c->names[k]);
            for (int i = 0; i < c->epochs; i++) acc += c->values[(size_t)k * c->epochs + i];
        }
        for (int i = 0; i < c->epochs; i++) acc += c->epoch[i];
        (void)acc;
    }
    lam_curves_free(c);
    return 0;
}
