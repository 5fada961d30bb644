/* mask.h - Keras masks: one float per position, 1 for a real position and 0
 * for padding. Producing them from ids and combining them; what they do to
 * values (masked means, loss weights) is in the kernels that use them. */
#ifndef LAM_KERNELS_MASK_H
#define LAM_KERNELS_MASK_H

#include <stdint.h>

/* mask[i] = ids[i] != 0 for n ids (Keras's Embedding(mask_zero=True)). */
void lam_mask_nonzero(const float *ids, int64_t n, float *mask);
/* dst[i] = dst[i] != 0 || src[i] != 0 for n positions (Keras's Merge). */
void lam_mask_or(float *dst, const float *src, int64_t n);
/* dst[r * stride + j] = 1 for r < rows, j < cols: the block of an input
 * without a mask in a Concatenate's joined mask. */
void lam_mask_fill_ones(float *dst, int64_t stride, int64_t rows, int64_t cols);

#endif
