/* activation.h - activation kernels. */
#ifndef LAM_KERNELS_ACTIVATION_H
#define LAM_KERNELS_ACTIVATION_H

#include "lamina.h"

/* y[r, :] = act(y[r, :] + bias) for each of rows rows (bias may be NULL);
 * softmax works across each row. keep (or NULL): also receives y + bias, the
 * pre-activations, [rows, cols]. */
void lam_bias_act_forward(lam_activation act, float *y, const float *bias, float *keep,
                          int64_t rows, int64_t cols);
/* dy := dL/dz from dy = dL/dy and the activation's output y. */
void lam_act_backward(lam_activation act, const float *y, float *dy, int64_t rows, int64_t cols);
/* The same, on the calling thread only: for callers that already split the
 * work across threads (the recurrent step loops). */
void lam_act_rows(lam_activation act, float *y, const float *bias, float *keep, int64_t rows,
                  int64_t cols);
void lam_act_grad_rows(lam_activation act, const float *y, float *dy, int64_t rows, int64_t cols);
/* GELU's derivative is no function of its output (GELU is not monotone),
 * so its backward reads the pre-activation z instead of y. */
bool lam_act_needs_preact(lam_activation act);
/* dy := dL/dz from dy = dL/dy and the pre-activation z (GELU forms only). */
void lam_act_backward_preact(lam_activation act, const float *z, float *dy, int64_t rows,
                             int64_t cols);
void lam_act_grad_preact_rows(lam_activation act, const float *z, float *dy, int64_t rows,
                              int64_t cols);
/* ReLU's tangent over n units of one sample: z the pre-activations, dz their
 * tangent, set to 0 where the unit is off (z <= 0, as the forward and
 * backward passes decide). span[0] and span[1] are lowered to the distance
 * along +dz and -dz at which the first unit switches: |z| / |dz| for a unit
 * whose z moves towards 0 that way. */
void lam_relu_tangent(const float *z, float *dz, int64_t n, double span[2]);
/* db[j] = sum over rows of dz[r, j]. */
void lam_bias_grad(const float *dz, int64_t rows, int64_t cols, float *db);

#endif
