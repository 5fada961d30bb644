/* model_file.h - what model_json.c shares with model_file.c: the compile
 * information (loss, optimizer) as a Keras-like "training_config" object. */
#ifndef LAM_MODEL_FILE_H
#define LAM_MODEL_FILE_H

#include "internal.h"

#include <cjson/cJSON.h>

/* Keras's training_config for a compiled model:
 *   {"loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"],
 *    "optimizer_config": {"class_name": "Adam", "config": {"name": "adam",
 *        "learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-07}}}
 * Floats are written as the exact double of the float, so they read back
 * bit-identical. Returns NULL (with an error set) when out of memory or when
 * the model is not compiled. The caller frees it with cJSON_Delete. */
cJSON *lam_training_config_to_cjson(const lam_model *m);

/* The reverse; src names the file in messages. Unknown optimizers or
 * parameters lamina does not implement (amsgrad, centered, ...) are
 * rejected with LAM_ERR_UNSUPPORTED. */
/* A training config's per-output losses and weights (Keras's loss={...},
 * loss_weights={...}), set on the compiled model m. */
lam_status lam_training_config_output_losses(const cJSON *tc, const char *src, lam_model *m);
lam_status lam_training_config_parse(const cJSON *tc, const char *src, lam_optimizer *opt,
                                     lam_loss *loss);

/* One layer object of a model's "layers" list <-> a spec, by the rules of
 * lam_model_from_json / lam_model_to_json (Keras 3 form), for every layer
 * kind whether or not this build has its op. The cJSON is the caller's to
 * cJSON_Delete (NULL when out of memory). */
lam_status lam_layer_from_cjson(const cJSON *layer, const char *src, lam_layer_spec *s);
cJSON *lam_layer_to_cjson(const lam_layer_spec *s);

#endif
