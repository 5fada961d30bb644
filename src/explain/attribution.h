/* attribution.h - what the attribution methods for deep models
 * (attribution.c, quadrature.c, gradcam.c, occlusion.c) share: the score
 * being explained, evaluated for many rows per forward, and the pieces each
 * method is made of. */
#ifndef LAM_EXPLAIN_ATTRIBUTION_H
#define LAM_EXPLAIN_ATTRIBUTION_H

#include "explain/explain.h"

/* The most quadrature points: Gauss-Legendre's Newton iteration costs
 * O(steps^2) (0.1 s at 4096), Riemann sums O(steps). */
#define LAM_GAUSS_LEGENDRE_MAX 4096
#define LAM_QUADRATURE_MAX (1 << 20)

/* n points alpha[i] in [0, 1] and weights w[i] (summing to 1) of rule q on
 * [0, 1], in double: Riemann left (i/n), right ((i+1)/n), middle ((i+.5)/n),
 * trapezoid (n >= 2 points i/(n-1), halves at the ends) and Gauss-Legendre
 * (the roots of P_n by Newton, mapped from [-1, 1]). */
lam_status lam_quadrature_rule(lam_quadrature q, int n, double *alpha, double *w);

/* The score explained: output `output`'s value `target` (logits when the
 * output ends in softmax/sigmoid and LAM_SCORE_LOGIT), gradients read at
 * node grad_node: the input, or the embedding that reads token ids. */
typedef struct lam_scorer {
    lam_model *m;
    int output, target;
    bool use_logits;
    int64_t out_size;     /* values of the output per sample */
    int rows;             /* rows per forward (the plan holds at least these) */
    int grad_node;        /* node whose output gradient is the attribution's */
    bool tokens;          /* grad_node is an embedding of the input's token ids */
    int64_t grad_size;    /* its values per sample */
} lam_scorer;

/* Validates output/score/batch and prepares m (keep logits, plan for rows). */
lam_status lam_scorer_init(lam_scorer *sc, lam_model *m, const lam_explain_options *o);
/* Scores of the n rows in the input buffer (and, with an override, in that
 * node's output), after a forward of mode; s: n doubles. */
lam_status lam_scorer_forward(lam_scorer *sc, int n, lam_mode mode, double *s);
/* The score's gradient at node `node` (output values) for every row of the
 * last forward (one backward, dScore/dScore = 1 in each row, the nodes at or
 * below `node` not run): [n, that node's size] at its grad, or NULL when no
 * gradient reached it (then it is zero). */
lam_status lam_scorer_backward(lam_scorer *sc, int n, int node, const float **grad);

/* Grad-CAM on the Conv2D node `node` at x: cam [h, w] (the layer's grid,
 * ReLU(sum_k w_k A_k), not normalised, not upsampled). */
lam_status lam_gradcam_grid(lam_scorer *sc, int node, const float *x, float *cam);
/* The Conv2D node Grad-CAM uses: layer's name, or the last Conv2D (NULL). */
lam_status lam_gradcam_layer(const lam_model *m, const char *layer, int *node);
/* Bilinear resize of src [h, w] to dst [H, W], half-pixel centres
 * (align_corners false, as tf.image.resize), edges clamped. */
void lam_resize_bilinear(const float *src, int64_t h, int64_t w, float *dst, int64_t H,
                         int64_t W);

/* Occlusion map of x into map (input 0's shape); *evaluations: forwards'
 * rows (windows + 1). */
lam_status lam_occlusion(lam_scorer *sc, const float *x, const lam_explain_options *o,
                         float *map, int64_t *evaluations);

#endif
