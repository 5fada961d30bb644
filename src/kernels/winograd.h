/* winograd.h - 3x3 stride-1 convolution by Winograd's minimal filtering
 * F(2x2, 3x3) (Lavin & Gray, 2015), forward and both gradients.
 *
 * The output is cut into 2x2 tiles; tile t of an image reads the 4x4 input
 * patch whose top-left corner is (2*th - PT, 2*tw - PL), zero outside the
 * input. With
 *   V = B^T d B  (input patch d, 4x4, per channel c)
 *   U = G g G^T  (kernel g, 3x3, per channel c and filter f)
 *   Y = A^T M A, M[e][f] = sum_c V[e][c] U[e][c][f]   (e: the 16 points)
 * each of the 16 points e is one matrix product over all tiles of the batch,
 * [tiles x C] . [C x F], which is 16*C*F multiplications per tile against
 * 36*C*F for the direct method (4 outputs of 9 taps).
 *
 * The gradients are the exact adjoints of those linear maps, so they are the
 * gradients of what the forward pass computed (not of the direct
 * convolution it approximates to rounding):
 *   dM = A dY A^T,  dU[e] = V[e]^T dM[e],  dV[e] = dM[e] U[e]^T,
 *   dd = B dV B^T (scattered back onto the overlapping patches),
 *   dg = G^T dU G.
 * Transformed data are point-major, [16][tiles][channels], so that each
 * point's product is one GEMM with unit row strides. */
#ifndef LAM_KERNELS_WINOGRAD_H
#define LAM_KERNELS_WINOGRAD_H

#include "kernels/conv.h"

#include <stdbool.h>
#include <stdint.h>

/* True when g is a convolution this path computes (3x3 window, stride 1). */
bool lam_winograd_applies(const lam_window *g);
/* 2x2 output tiles per image. */
int64_t lam_winograd_tiles(const lam_window *g);
/* Floats the forward pass keeps for the backward pass, per image: V. */
int64_t lam_winograd_saved_floats(const lam_window *g);
/* Workspace floats for forward or backward at g->N images and F filters. */
int64_t lam_winograd_scratch_floats(const lam_window *g, int F);

/* x (N, H, W, C), kernel [3, 3, C, F] -> y (N, OH, OW, F), no bias; V
 * (lam_winograd_saved_floats * N floats) receives the transformed input. */
void lam_winograd_forward(const lam_window *g, int F, const float *x, const float *kernel,
                          float *V, float *y, float *scratch);
/* From dz = dL/dy (N, OH, OW, F) and the forward pass's V: dkernel (written,
 * [3, 3, C, F]) and, when dx is not NULL, dx (N, H, W, C) (written). */
void lam_winograd_backward(const lam_window *g, int F, const float *kernel, const float *V,
                           const float *dz, float *dkernel, float *dx, float *scratch);

#endif
