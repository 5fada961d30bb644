/* dropout.h - Dropout's elementwise loops (compute only, no model knowledge). */
#ifndef LAM_KERNELS_DROPOUT_H
#define LAM_KERNELS_DROPOUT_H

#include <stdint.h>

/* y = x * mask over batch samples of `size` values, where mask[i] = 1 / (1 - rate)
 * with probability 1 - rate, else 0 (Keras's inverted dropout). Sample j's
 * mask is drawn in index order from the generator keyed by (seed, a, b,
 * first + j), so a key gives the same mask whoever computes it: a
 * data-parallel rank holding samples first.. of a global batch draws what
 * one process draws for them. b < 2^32 and first + j < 2^31 (they share one
 * key word). rate 0: mask 1 and y = x. The mask is kept for
 * lam_dropout_backward. */
void lam_dropout_forward(int batch, int64_t size, float rate, uint64_t seed, uint64_t a,
                         uint64_t b, int64_t first, const float *x, float *mask, float *y);
/* dx = dy * mask over n values. */
void lam_dropout_backward(int64_t n, const float *mask, const float *dy, float *dx);

#endif
