/* fuzz_keras.h - the body both Keras-file targets run: bytes that start with
 * the format's magic read by lam_keras_from_bytes as the file `name`; a
 * model that loads must predict. Other inputs are left to other targets. */
#ifndef LAM_FUZZ_KERAS_H
#define LAM_FUZZ_KERAS_H

#include "fuzz_common.h"
#include "io/keras_file.h"

static int fuzz_keras_file(const uint8_t *data, size_t size, const char *magic, size_t magic_len,
                           const char *name)
{
    if (size < magic_len || memcmp(data, magic, magic_len) != 0) return 0;
    lam_model *m = NULL;
    lam_error_clear();
    lam_status s = lam_keras_from_bytes(name, data, size, &m);
    fuzz_check(s, m, name);
    fuzz_predict_small(m);
    lam_model_free(m);
    return 0;
}

#endif
