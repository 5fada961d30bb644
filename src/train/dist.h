/* dist.h - what fit.c asks of data-parallel training (dist.c); users see
 * lamina_dist.h. */
#ifndef LAM_TRAIN_DIST_H
#define LAM_TRAIN_DIST_H

#include "core/model.h"

/* This rank's contiguous slice [*first, *first + *count) of a global batch of
 * `global` samples: N near-equal parts in rank order, the first global % N
 * ranks one sample more. *count may be 0 (a batch smaller than N). */
void lam_dist_share(const lam_dist *d, int global, int *first, int *count);
/* Broadcasts rank 0's model (weights, state, optimizer state, step, epoch,
 * generators) to all, after checking that every rank holds the same one. */
lam_status lam_dist_fit_begin(lam_dist *d, lam_model *m);
/* This rank's backward of `local` of the step's `global` samples (a zero
 * gradient when local is 0), its gradient weighted by local / global, with
 * the sum over the ranks started layer by layer as backward finishes them. */
lam_status lam_dist_backward(lam_dist *d, lam_model *m, int local, int global);
/* Starts the sum over the ranks of m->grads as they are (DP-SGD's noised
 * clipped sums, already divided by the global batch). */
lam_status lam_dist_sum_gradients(lam_dist *d, lam_model *m);
/* Waits for that sum (in place in m->grads), then sums *bm (loss, correct,
 * counted) and agrees on a stop request (lam_dist_stop_agreed). */
lam_status lam_dist_step_reduce(lam_dist *d, lam_batch_metrics *bm);
/* After the update: rank 0's non-trainable state on every rank. */
lam_status lam_dist_step_end(lam_dist *d, lam_model *m);
/* Whether any rank had a stop requested at the last lam_dist_step_reduce. */
bool lam_dist_stop_agreed(const lam_dist *d);

#endif
