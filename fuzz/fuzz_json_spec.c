/* fuzz_json_spec.c - lam_model_from_json on arbitrary NUL-terminated text
 * (Sequential and functional documents). A model that loads is also
 * summarised and serialised back to JSON. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    lam_model *m = NULL;
    lam_error_clear();
    lam_status s = lam_model_from_json(text, "fuzz.json", &m);
    fuzz_check(s, m, "lam_model_from_json");
    if (m) {
        static FILE *sink;
        if (!sink) sink = fopen("/dev/null", "w");
        if (sink) lam_model_summary(m, sink); /* wraps and joins names: worth fuzzing */
        (void)lam_model_param_count(m);
        char *back = NULL;
        if (lam_model_to_json(m, &back) == LAM_OK) free(back);
        lam_model_free(m);
    }
    free(text);
    return 0;
}
