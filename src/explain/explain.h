/* explain.h - what the attribution methods (src/explain) share. */
#ifndef LAM_EXPLAIN_INTERNAL_H
#define LAM_EXPLAIN_INTERNAL_H

#include "internal.h"
#include "model.h"

/* Exact integrated gradients (ig_exact.c) of the path baseline -> x (input 0's
 * size floats each) for class `target` of output `output`: attr (input size)
 * receives the attributions, *regions the number of linear regions the path
 * crossed. Refuses, naming the layer, a model that is not piecewise linear up
 * to its output's logits. Plans the model itself (with tangents and the
 * output's logits kept) and leaves it planned for the batch it had, without
 * tangents; what its buffers held is not kept. With LAM_SCORE_PROBABILITY,
 * an output without softmax or sigmoid is explained as LAM_SCORE_LOGIT. */
lam_status lam_ig_exact(lam_model *m, const float *x, const float *baseline, int output,
                        int target, lam_score score, float *attr, int64_t *regions);

#endif
