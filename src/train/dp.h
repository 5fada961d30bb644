/* dp.h - DP-SGD inside fit (dp.c): per-sample clipping into a sum, Gaussian
 * noise, division by the expected batch size, and the privacy accounting
 * kept with the model (lamina_privacy.h, "DP-SGD"). */
#ifndef LAMINA_TRAIN_DP_H
#define LAMINA_TRAIN_DP_H

#include "core/model.h"

typedef struct lam_dp_run lam_dp_run;

/* Checks o against m (clip_norm, noise_multiplier, delta; no layer that
 * mixes samples), allocates the sum buffer, creates the accountant and
 * continues the accounting kept in m's metadata. q = min(1, batch / n).
 * With o->target_epsilon, the noise multiplier is chosen so that `steps`
 * more steps, after those the metadata records, spend at most it. */
lam_status lam_dp_begin(lam_model *m, const lam_dp_options *o, int batch_size, int64_t n_train,
                        int64_t steps, lam_dp_run **out);
/* Frees r; m stops keeping per-sample norms. */
void lam_dp_end(lam_dp_run *r, lam_model *m);
/* The sample rate q of every step. */
double lam_dp_sample_rate(const lam_dp_run *r);
/* Starts a step: zeroes the sum of clipped gradients. */
void lam_dp_step_begin(lam_dp_run *r);
/* Whether the step's samples go through lam_dp_add_batch (every trainable
 * layer gives per-sample norms in one backward: the fast path) rather than
 * lam_dp_add_sample one by one (the reference path). */
bool lam_dp_batched(const lam_dp_run *r);
/* The batch the model is planned for: batch_size, or on the batched path with
 * Poisson sampling a little more, so that a batch above its mean size still
 * takes one backward (lam_dp_add_batch takes at most this many). */
int lam_dp_capacity(const lam_dp_run *r, int batch_size);
/* Adds one sample's gradient g (param_count floats), clipped to clip_norm
 * (each layer's slice to clip_norm / sqrt(layers) with per_layer). */
void lam_dp_add_sample(lam_dp_run *r, const float *g);
/* Adds the clipped gradients of the batch of the last forward, whose output
 * gradients lam_loss_eval_per_sample wrote: one backward for the norms, one
 * pass of the layers' weight gradients with the clip factors. */
lam_status lam_dp_add_batch(lam_dp_run *r, lam_model *m, int batch);
/* Ends a step: noise on the sum (unless !noise: data-parallel ranks other
 * than 0, whose sums rank 0's noise joins), division by the expected batch
 * size, the result into grads (param_count floats); the accountant counts
 * the step and m's metadata records the accounting so far. */
lam_status lam_dp_step_end(lam_dp_run *r, lam_model *m, float *grads, bool noise);
/* Epsilon spent so far at the options' delta (+inf after a step without noise);
 * computed once per step count. */
lam_status lam_dp_epsilon(lam_dp_run *r, double *epsilon);
/* Whether epsilon is cheap enough for every step: RDP sums 151 orders (0.4 ms);
 * PRV composes by FFT (20 ms to 0.5 s a call), so it is computed and recorded
 * in dp.epsilon at epoch ends only (the history, recorded every step, is what
 * resume restores). */
bool lam_dp_epsilon_every_step(const lam_dp_run *r);
/* At an epoch's end: dp.epsilon into m's metadata, and *epsilon. */
lam_status lam_dp_epoch_end(lam_dp_run *r, lam_model *m, double *epsilon);

#endif
