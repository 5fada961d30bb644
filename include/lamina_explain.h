/*
 * lamina_explain.h - why a model decides: attributions for deep models
 * (saliency, gradient x input, integrated gradients, SmoothGrad, Grad-CAM,
 * occlusion), exact SHAP values for trees and forests, permutation importance
 * for any model, global surrogate trees, and pictures of them. Included by
 * lamina.h; do not include alone.
 *
 * Intended usage:
 *
 *     lam_explain_options o = lam_explain_defaults(LAM_EXPLAIN_IG);
 *     o.steps = 256;                          // Gauss-Legendre nodes
 *     lam_attribution a;
 *     lam_explain(model, x, &o, &a);          // x: one sample, input 0's size
 *     // a.map: one value per input value; a.completeness_delta: the check
 *     lam_attribution_free(&a);
 *
 * The score explained is output `output`'s value for class `target`: the
 * logit before a final softmax or sigmoid (LAM_SCORE_LOGIT; the output itself
 * when it has no such activation) or the probability (LAM_SCORE_PROBABILITY).
 * The model runs in LAM_MODE_INFER_GRAD (dropout off, moving statistics).
 */
#ifndef LAMINA_EXPLAIN_H
#define LAMINA_EXPLAIN_H

#ifdef __cplusplus
extern "C" {
#endif

/* ----------------------------------------------------- attributions (deep) */

typedef enum {
    LAM_EXPLAIN_SALIENCY = 0,   /* |d score / d x| */
    LAM_EXPLAIN_GRAD_X_INPUT,   /* d score / d x * x */
    LAM_EXPLAIN_IG,             /* integrated gradients (Sundararajan et al. 2017) */
    LAM_EXPLAIN_SMOOTHGRAD,     /* mean gradient over noisy copies (Smilkov et al. 2017) */
    LAM_EXPLAIN_GRADCAM,        /* Grad-CAM on a Conv2D layer (Selvaraju et al. 2017) */
    LAM_EXPLAIN_OCCLUSION,      /* score drop when a window is covered (Zeiler & Fergus) */
    LAM_EXPLAIN_METHOD_COUNT
} lam_explain_method;
/* "saliency", "gradxinput", "ig", "smoothgrad", "gradcam", "occlusion". */
const char *lam_explain_method_name(lam_explain_method method);
/* The method named name (as above); LAM_ERR_ARG listing the names otherwise. */
lam_status lam_explain_method_parse(const char *name, lam_explain_method *out);

typedef enum { LAM_SCORE_LOGIT = 0, LAM_SCORE_PROBABILITY } lam_score;

typedef enum {
    LAM_BASELINE_BLACK = 0, /* all zeros */
    LAM_BASELINE_BLUR,      /* the input blurred (Gaussian, blur_sigma pixels) */
    LAM_BASELINE_NOISE,     /* uniform noise over the input's range (seed) */
    LAM_BASELINE_INPUT      /* baseline_input */
} lam_baseline;

typedef enum {
    LAM_QUAD_GAUSS_LEGENDRE = 0,
    LAM_QUAD_RIEMANN_LEFT,
    LAM_QUAD_RIEMANN_RIGHT,
    LAM_QUAD_RIEMANN_MIDDLE,
    LAM_QUAD_TRAPEZOID
} lam_quadrature;

typedef struct lam_explain_options {
    lam_explain_method method;
    lam_score score;            /* default LAM_SCORE_LOGIT */
    int output;                 /* which output (default 0) */
    int target;                 /* class explained; -1 (default): the predicted one */
    int batch;                  /* samples per forward (default 64) */
    uint64_t seed;              /* noise baselines, SmoothGrad's draws (default 0) */
    /* Integrated gradients. */
    int steps;                  /* quadrature points (default 50) */
    lam_quadrature quadrature;  /* default Gauss-Legendre */
    bool exact;                 /* integrate linear region by linear region: exact for
                                   piecewise-linear networks (ReLU, max-pool, Dense,
                                   Conv, Flatten), refused for others, naming the layer */
    lam_baseline baseline;      /* default black */
    const float *baseline_input; /* LAM_BASELINE_INPUT: input 0's size floats */
    float blur_sigma;           /* LAM_BASELINE_BLUR (default 5 pixels) */
    /* SmoothGrad: Gaussian noise of noise_level * (max - min of the input). */
    float noise_level;          /* default 0.15 */
    int samples;                /* default 50 */
    /* Grad-CAM. */
    const char *layer;          /* a Conv2D layer's name (NULL, default: the last one) */
    /* Occlusion. */
    int window[2];              /* rows, columns (default 4 x 4) */
    int stride[2];              /* default 2 x 2 */
    float fill;                 /* the covering value (default 0) */
} lam_explain_options;
lam_explain_options lam_explain_defaults(lam_explain_method method);

typedef struct lam_attribution {
    lam_explain_method method;
    int target;                 /* the class explained */
    double score;               /* its score at the input */
    double probability;         /* its probability (softmax/sigmoid output; else NAN) */
    /* Integrated gradients (NAN for the other methods). */
    double baseline_score;
    double attribution_sum;     /* sum of map */
    double completeness_delta;  /* attribution_sum - (score - baseline_score) */
    int64_t evaluations;        /* gradient evaluations (exact IG: linear regions crossed) */
    /* One value per input value, input 0's shape; Grad-CAM's map is (H, W) of
     * the input image, upsampled bilinearly from the layer's grid. */
    int rank;
    int64_t shape[4];
    int64_t size;
    float *map;
    /* Per position of a sequence input ((T, F) values or (T,) token ids):
     * the map summed over features; for token ids, gradient x input at the
     * embedding's output summed over its features (NULL for images). */
    int64_t positions;
    float *per_position;
} lam_attribution;

/* Explains one sample x (input 0's size floats) of a single-input model. */
lam_status lam_explain(lam_model *m, const float *x, const lam_explain_options *o,
                       lam_attribution *out);
void lam_attribution_free(lam_attribution *a);

/* The attention weights of a MultiHeadAttention layer for one sample x:
 * (heads, T_query, T_key) floats into *weights (free with free()). */
lam_status lam_attention_weights(lam_model *m, const float *x, const char *layer,
                                 float **weights, int *heads, int64_t *tq, int64_t *tk);

/* ------------------------------------------------------- trees and forests */

/* Exact SHAP values (TreeSHAP, path-dependent: Lundberg et al. 2020, alg. 2)
 * of the class probabilities: phi holds n * d * k values (sample, feature,
 * class), expected the k expected values (the root's class fractions, mean
 * over trees). For each sample and class, sum over features of phi +
 * expected = the predicted probability. */
lam_status lam_tree_shap(const lam_tree *t, const float *x, int64_t n, int64_t d, double *phi,
                         double *expected);
lam_status lam_forest_shap(const lam_forest *f, const float *x, int64_t n, int64_t d,
                           double *phi, double *expected);
/* Interventional SHAP against background rows bg (nb * d): Shapley values of
 * the game v(S) = mean over background rows b of f(x_S, b_not S); expected =
 * mean of f over the background. */
lam_status lam_tree_shap_interventional(const lam_tree *t, const float *bg, int64_t nb,
                                        const float *x, int64_t n, int64_t d, double *phi,
                                        double *expected);
lam_status lam_forest_shap_interventional(const lam_forest *f, const float *bg, int64_t nb,
                                          const float *x, int64_t n, int64_t d, double *phi,
                                          double *expected);

/* ---------------------------------------------------- any model, any data */

/* A classifier seen from outside: writes n labels for n rows of d features. */
typedef lam_status (*lam_predict_fn)(void *model, const float *x, int64_t n, int64_t d,
                                     int32_t *labels);

/* Permutation importance (Breiman; scikit-learn's permutation_importance with
 * accuracy): for each feature, the drop in accuracy when its column is
 * shuffled, over `repeats` shuffles (seeded); mean and std (population) per
 * feature, baseline the unshuffled accuracy. std may be NULL. */
lam_status lam_permutation_importance(lam_predict_fn predict, void *model, const float *x,
                                      int64_t n, int64_t d, const int32_t *y, int repeats,
                                      uint64_t seed, double *mean, double *std,
                                      double *baseline);

/* Global surrogate: a decision tree of at most max_depth fitted to labels
 * the model gave (teacher) on x. */
lam_status lam_surrogate_tree(const float *x, int64_t n, int64_t d, const int32_t *teacher,
                              int max_depth, uint64_t seed, lam_tree **out);
/* The tree as nested if/else rules with feature and class names (either may
 * be NULL: "x[12]", "class 3"): "if NAME <= THRESHOLD:" and "else:  # NAME >
 * THRESHOLD" lines around each split's children (thresholds as %g, 4 spaces a
 * level), and one line a leaf, "CLASS (90% of 20 samples)": its class, the
 * class's fraction and the leaf's (weighted) sample count. Into a
 * NUL-terminated string (free with free()). */
lam_status lam_tree_rules(const lam_tree *t, const char *const *feature_names,
                          const char *const *class_names, char **text);

/* ----------------------------------------------------------------- pictures
 * PNG files through cairo, written atomically. Built without cairo, each
 * returns LAM_ERR_UNSUPPORTED saying so. Bad input (NULL arrays, counts < 1,
 * text that is not UTF-8) is LAM_ERR_ARG, a non-finite value LAM_ERR_NUMERIC
 * naming its index; titles and axis labels may be NULL. Sizes: bars 800 x
 * (120 + 28 per bar), beeswarm 800 x (130 + 32 per feature), lines 800 x 500,
 * tokens 800 x (104 + 28 per line of text). */

/* Whether this build can draw (cairo was found). */
bool lam_plot_available(void);

/* A panel: the image (h x w, channels 1 or 3, values in [lo, hi] of the
 * image itself) then one heatmap per map (h x w values) over a grey copy of
 * it, each titled, with its colour bar; a title on top. A map with negative
 * values is drawn blue - white - red around 0, one without from black to
 * yellow (inferno). Images are upscaled by a whole factor to about 224
 * pixels (28 x 28: 8 times), pixels kept sharp; panels in rows of at most 4,
 * each 312 pixels wide for a 224-pixel image (1000 x 310 for 28 x 28 and
 * two maps). map_titles may be NULL. */
lam_status lam_plot_attributions(const char *path, const char *title, const float *image,
                                 int h, int w, int channels, const float *const *maps,
                                 const char *const *map_titles, int nmaps);
/* Horizontal bars, largest on top: values[i] (with error bars when errors is
 * not NULL, each >= 0) labelled labels[i]; at most max_bars (0: all). */
lam_status lam_plot_bars(const char *path, const char *title, const char *xlabel,
                         const char *const *labels, const double *values,
                         const double *errors, int n, int max_bars);
/* SHAP summary (beeswarm): per feature a row of points, x = its SHAP value
 * (phi, n x d), colour = the feature's value (x, n x d) from low (blue) to
 * high (red) by its rank; features by mean |SHAP|, at most max_features (0:
 * all); feature_names may be NULL ("feature 3"). From lam_forest_shap's
 * (n, d, k) phi, copy one class's values into an n x d array. */
lam_status lam_plot_beeswarm(const char *path, const char *title,
                             const char *const *feature_names, const double *phi,
                             const float *x, int64_t n, int64_t d, int max_features);
/* Lines: series k is y[k][0..npoints) over x (shared), named names[k]; axes,
 * ticks and a legend (when there are several series or names). names may
 * be NULL. */
lam_status lam_plot_lines(const char *path, const char *title, const char *xlabel,
                          const char *ylabel, const double *x, const double *const *y,
                          const char *const *names, int nseries, int npoints);
/* Text with each token's background coloured by its attribution (red
 * positive, blue negative, symmetric at +-max |value|): PNG when path ends
 * in .png (wrapped at the width; DejaVu Sans, so scripts it lacks, e.g. CJK,
 * show as boxes), else an HTML page with one <span> per token (text
 * escaped, UTF-8 kept, the value in its title). */
lam_status lam_plot_tokens(const char *path, const char *title, const char *const *tokens,
                           const float *values, int64_t n);

/* ------------------------------------------ learning curves, confusion matrix
 * A training run's per-epoch values, as Keras's History keeps them: read from
 * a CSVLogger file (lam_csv_logger, `lamina train --csv-log`) or from the
 * history a model file keeps in its metadata (`lamina train` records it; so
 * does lam_model_record_history), and drawn as learning curves. */
typedef struct lam_curves {
    int epochs;     /* rows */
    int columns;    /* quantities */
    int *epoch;     /* [epochs]: each row's epoch, counted from 0 as Keras's History.epoch
                     * and CSVLogger do */
    char **names;   /* [columns]: "loss", "val_loss", "accuracy", "learning_rate", ... */
    double *values; /* [columns * epochs]: column k of row i at values[k * epochs + i]; NaN
                     * where the row has none */
} lam_curves;

/* The model metadata key the history is kept under: Keras's History as JSON,
 * {"epoch": [0, 1, ...], "loss": [...], "val_loss": [...], ...}, null where
 * an epoch has no value. */
#define LAM_HISTORY_METADATA_KEY "history"

/* A CSVLogger file (header "epoch,accuracy,loss,...", one row per epoch). */
lam_status lam_curves_read(const char *path, lam_curves **out);
/* The history kept in m's metadata; LAM_ERR_ARG when it has none. */
lam_status lam_model_history(const lam_model *m, lam_curves **out);
/* Appends h's epochs (initial_epoch, initial_epoch + 1, ...: pass lam_fit's
 * initial_epoch) to the history in m's metadata: loss, val_loss, accuracy,
 * val_accuracy (those logged), learning_rate and, with DP-SGD, epsilon.
 * Epochs kept from before that are >= initial_epoch (a run resumed from an
 * earlier checkpoint) are replaced. */
lam_status lam_model_record_history(lam_model *m, const lam_history *h, int initial_epoch);
/* The column named name, or -1. */
int lam_curves_column(const lam_curves *c, const char *name);
void lam_curves_free(lam_curves *c);

/* Learning curves: one panel per quantity (quantities[0..n), e.g. "loss",
 * "accuracy"; NULL: loss and accuracy, those c has), each with the training
 * values and, when c has them, the validation ones ("val_" + name) against
 * the epoch (counted from 1), a shared legend on top. A quantity c lacks is
 * LAM_ERR_ARG naming the ones it has. Panels 440 x 340 in rows of at most 3,
 * plus the title and legend bands (two panels: 928 x 436). */
lam_status lam_plot_curves(const char *path, const char *title, const lam_curves *c,
                           const char *const *quantities, int nquantities);
/* A confusion matrix: counts[t * classes + p] samples of true class t
 * predicted as p, each cell coloured by its count over its true class's row
 * total (white to dark blue) with the count written in it, true classes down
 * the left, predicted ones along the bottom (rotated), a colour bar; the
 * title (e.g. with the accuracy) on top. class_names may be NULL (indices).
 * At most 100 classes; counts >= 0. Size: lam_confusion_layout_of in
 * src/plot/plot_layout.h (10 classes: 814 x 726). */
lam_status lam_plot_confusion(const char *path, const char *title, const int64_t *counts,
                              int classes, const char *const *class_names);

#ifdef __cplusplus
}
#endif

#endif
