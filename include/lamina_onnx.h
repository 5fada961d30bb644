/* lamina_onnx.h - exporting a model to ONNX (onnx.ai), for onnxruntime and
 * the other runtimes that read it. Included by lamina.h.
 *
 * Intended usage:
 *
 *     lam_onnx_options o = lam_onnx_defaults();   // opset 17
 *     lam_model_export_onnx(m, "model.onnx", &o); // or NULL for the defaults
 *
 * The ONNX graph computes what lam_predict does (inference: Dropout is the
 * identity, BatchNormalization uses its moving statistics) on inputs of
 * lamina's layout: float32, batch first, NHWC images; the batch axis is
 * named "N" and free. Which layers map to which operators, and the opset
 * range: docs/MODEL_FILES.md, "ONNX export". A layer without a mapping is
 * refused with LAM_ERR_UNSUPPORTED naming it and its kind. The file is
 * written atomically (a temporary file renamed over path).
 *
 * The ONNX protobuf is written with protobuf-c from the onnx.proto that
 * Debian's libonnx-dev ships. A build without them (LAMINA_ONNX=OFF, or
 * libprotobuf-c-dev, protobuf-c-compiler or libonnx-dev missing) has this
 * call, and it returns LAM_ERR_UNSUPPORTED saying what to install. */
#ifndef LAMINA_ONNX_H
#define LAMINA_ONNX_H

#include "lamina.h"

#define LAM_ONNX_OPSET_MIN 13
#define LAM_ONNX_OPSET_DEFAULT 17
#define LAM_ONNX_OPSET_MAX 18

typedef struct lam_onnx_options {
    /* The default ONNX operator set ("" domain) the graph is written for:
     * LAM_ONNX_OPSET_MIN to LAM_ONNX_OPSET_MAX (17 by default; below 17
     * LayerNormalization is written as its reductions). */
    int opset;
} lam_onnx_options;

lam_onnx_options lam_onnx_defaults(void);

/* Writes m (weights initialised: compiled or loaded) as an ONNX model at
 * path. opt NULL: lam_onnx_defaults(). */
lam_status lam_model_export_onnx(const lam_model *m, const char *path,
                                 const lam_onnx_options *opt);

/* Whether this build can write ONNX (protobuf-c was found). */
bool lam_onnx_available(void);

#endif
