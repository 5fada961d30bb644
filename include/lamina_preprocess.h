/*
 * lamina_preprocess.h - feature scaling kept with the model: standardisation
 * (scikit-learn's StandardScaler, Keras's Normalization layer) and min-max
 * scaling (scikit-learn's MinMaxScaler), fitted on the training data only and
 * applied wherever the model predicts. Included by lamina.h; do not include
 * alone.
 *
 * Deep models hold it as a Keras Normalization layer (LAM_LAYER_NORMALIZATION):
 * non-trainable "mean" and "variance" per feature of its axis, output
 * (x - mean) / max(sqrt(variance), 1e-7) as Keras 3 computes it, saved with the
 * other weights. Min-max scaling is the same layer with mean = min and
 * variance = (max - min)^2, which gives (x - min) / (max - min), the range
 * [0, 1] on the training data. As scikit-learn does (and Keras's adapt does
 * not), a feature that is constant on the training data keeps scale 1
 * (variance 1): it is shifted, never divided by zero.
 *
 * Classic models (lamina_classic.h) take a lam_scaling in their parameters
 * and keep the fitted offset and scale in their file.
 */
#ifndef LAMINA_PREPROCESS_H
#define LAMINA_PREPROCESS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    LAM_SCALING_NONE = 0,
    LAM_SCALING_STANDARD, /* (x - mean) / std, the biased std (ddof 0) as scikit-learn */
    LAM_SCALING_MINMAX    /* (x - min) / (max - min) */
} lam_scaling;

/* "none", "standard", "minmax". */
const char *lam_scaling_name(lam_scaling s);

/* Appends a Normalization layer (Keras's defaults but axis; axis -1 is the last,
 * per-channel for (H, W, C) images) with mean 0 and variance 1 until adapted. */
lam_status lam_model_add_normalization(lam_model *m, int axis);

/* Keras's Normalization.adapt(data): sets the mean and variance of the
 * Normalization layer `layer` (a layer index) from every sample of data, per
 * index of its axis over all other axes (LAM_SCALING_STANDARD), or the min-max
 * form described above (LAM_SCALING_MINMAX). The layer must read a model input
 * whose per-sample size is the data's. Zero-variance (zero-range) features get
 * variance 1. Deterministic; statistics accumulated in double. */
lam_status lam_model_adapt_normalization(lam_model *m, int layer, const lam_dataset *data,
                                         lam_scaling how);

/* A copy of the uncompiled model src with a Normalization layer (axis -1, not
 * adapted) between its single input and every reader of it: what `lamina train
 * --standardize` does to a fresh model from a Keras JSON spec. Layer names,
 * shared layers, outputs and metadata are kept; *out is new (free it), src is
 * unchanged. *layer (may be NULL) receives the new layer's index. */
lam_status lam_model_prepend_normalization(const lam_model *src, lam_model **out, int *layer);

#ifdef __cplusplus
}
#endif

#endif
