/* winograd.h - 3x3 stride-1 convolution by Winograd's minimal filtering
 * F(m x m, 3x3), m = 2 or 4 (Lavin & Gray, 2015), forward and both
 * gradients.
 *
 * The output is cut into m x m tiles; tile (th, tw) of an image reads the
 * a x a input patch (a = m + 2) whose top-left corner is
 * (m*th - PT, m*tw - PL), zero outside the input. With
 *   V = B^T d B  (input patch d, a x a, per channel c)
 *   U = G g G^T  (kernel g, 3x3, per channel c and filter f)
 *   Y = A^T M A, M[e][f] = sum_c V[e][c] U[e][c][f]   (e: the a*a points)
 * each point e is one matrix product over all tiles of the batch,
 * [tiles x C] . [C x F]: a*a*C*F multiplications per tile of m*m outputs
 * against 9*m*m*C*F for the direct method, 2.25x fewer for m = 2 and 4x
 * fewer for m = 4 (whose transforms round more: errors near 1e-6 of the
 * output's scale rather than 1e-7).
 *
 * The gradients are the exact adjoints of those linear maps, so they are the
 * gradients of what the forward pass computed (not of the direct
 * convolution it approximates to rounding):
 *   dM = A dY A^T,  dU[e] = V[e]^T dM[e],  dV[e] = dM[e] U[e]^T,
 *   dd = B dV B^T (scattered back onto the overlapping patches),
 *   dg = G^T dU G.
 * Transformed data are tile-major, [tiles][points][channels]: a tile's
 * transform reads and writes one contiguous block (measured faster than
 * point-major slabs, which make the transforms stride across 16 or 36
 * distant rows), and each point's product is still one GEMM, with row
 * stride points * channels. */
#ifndef LAM_KERNELS_WINOGRAD_H
#define LAM_KERNELS_WINOGRAD_H

#include "kernels/conv.h"

#include <stdbool.h>
#include <stdint.h>

/* True when g is a convolution this path computes (3x3 window, stride 1). */
bool lam_winograd_applies(const lam_window *g);
/* The tile size m (2 or 4) that suits g's output size. */
int lam_winograd_tile(const lam_window *g);
/* Floats the forward pass keeps for the backward pass, per image: V. */
int64_t lam_winograd_saved_floats(const lam_window *g, int m);
/* Workspace floats for forward or backward at g->N images and F filters
 * (the forward pass's includes room for U). */
int64_t lam_winograd_scratch_floats(const lam_window *g, int m, int F);

/* Floats of the transformed kernel U. */
int64_t lam_winograd_kernel_floats(const lam_window *g, int m, int F);
/* kernel [3, 3, C, F] -> U (lam_winograd_kernel_floats). */
void lam_winograd_transform_kernel(const lam_window *g, int m, int F, const float *kernel,
                                   float *U);

/* x (N, H, W, C) and the transformed kernel U -> y (N, OH, OW, F) + bias
 * (bias may be NULL), then ReLU when relu; V (lam_winograd_saved_floats * N
 * floats) receives the transformed input. */
void lam_winograd_forward(const lam_window *g, int m, int F, const float *x, const float *U,
                          const float *bias, bool relu, float *V, float *y, float *scratch);
/* From dz = dL/dy (N, OH, OW, F) and the forward pass's V: dkernel (written,
 * [3, 3, C, F]) and, when dx is not NULL, dx (N, H, W, C) (written). */
void lam_winograd_backward(const lam_window *g, int m, int F, const float *kernel, const float *V,
                           const float *dz, float *dkernel, float *dx, float *scratch);

#endif
