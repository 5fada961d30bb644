/* resize.h - spatial padding and upsampling of NHWC tensors. */
#ifndef LAM_KERNELS_RESIZE_H
#define LAM_KERNELS_RESIZE_H

#include <stdint.h>

/* in (N, H, W, C) -> out (N, H + top + bottom, W + left + right, C), the
 * border zero. */
void lam_zero_pad2d(int64_t N, int64_t H, int64_t W, int64_t C, int top, int bottom, int left,
                    int right, const float *in, float *out);
/* The adjoint: dx (N, H, W, C) is the interior of dy. */
void lam_zero_pad2d_backward(int64_t N, int64_t H, int64_t W, int64_t C, int top, int bottom,
                             int left, int right, const float *dy, float *dx);
/* Nearest neighbour: out (N, H * sh, W * sw, C), out[h, w] = in[h / sh, w / sw]. */
void lam_upsample2d(int64_t N, int64_t H, int64_t W, int64_t C, int sh, int sw, const float *in,
                    float *out);
/* The adjoint: dx[h, w] = sum of dy over its sh x sw block (dx overwritten). */
void lam_upsample2d_backward(int64_t N, int64_t H, int64_t W, int64_t C, int sh, int sw,
                             const float *dy, float *dx);

#endif
