/* keras_file.h - Keras's own model files, read (keras_file.c) and written
 * (keras_file_export.c), and what the two share. Formats: docs/MODEL_FILES.md,
 * "Keras files".
 *
 *   .keras  Keras 3: a zip archive of config.json (the model's get_config, as
 *           model.to_json() plus compile_config), metadata.json and
 *           model.weights.h5 (weights at layers/<snake_class>[_N]/vars/<i>,
 *           optimizer variables at optimizer/vars/<i>).
 *   .h5     legacy (Keras 2 and Keras 3's model.save("x.h5")): root attribute
 *           model_config (JSON), training_config, and groups
 *           model_weights/<layer>/<weight name> listed by the weight_names
 *           attributes. */
#ifndef LAM_KERAS_FILE_H
#define LAM_KERAS_FILE_H

#include "internal.h"
#include "ops/op.h"

#include <cjson/cJSON.h>

/* The first bytes of a zip archive and of an HDF5 file (superblock at 0). */
#define LAM_ZIP_MAGIC "PK\x03\x04"
#define LAM_HDF5_MAGIC "\x89HDF\r\n\x1a\n"

/* True when buf starts as a .keras (zip) or .h5 (HDF5) file does. */
bool lam_keras_magic(const unsigned char *buf, size_t size);

/* A model from the bytes of a .keras or .h5 file; path names the file in
 * messages. Compiled, with Keras's weights, moving statistics and (Adam,
 * AdamW) optimizer state. */
lam_status lam_keras_from_bytes(const char *path, const unsigned char *buf, size_t size,
                                lam_model **out);

/* Keras 3's naming of a layer's weights in a .keras file: the class name in
 * snake case (keras.src.utils.naming.to_snake_case: "Conv2D" -> "conv2d",
 * "SimpleRNN" -> "simple_rnn", "MultiHeadAttention" -> "multi_head_attention"),
 * numbered _1, _2, ... for later layers of the same class. */
void lam_keras_snake_case(const char *class_name, char *out, size_t size);

/* Where a .keras file keeps the weights of layer nd, below layers/<name>:
 * nsub sub-paths ("" or "/cell", "/forward_layer/cell", "/query_dense", ...),
 * each a group "vars" of counts[k] variables, in the order of nd's weights.
 * Returns nsub (1 to 4). */
int lam_keras3_weight_groups(const lam_node *nd, const char *subs[4], int counts[4]);

/* Keras 3's name of each layer of a model config's config.layers list, in
 * order (names[i]: snake case, numbered per class); NULL entries for layers
 * without a class name. *names is the caller's to lam_free (one block). */
lam_status lam_keras3_layer_paths(const cJSON *layers, char (**names)[160]);

#endif
