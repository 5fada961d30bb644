/* window.h - output size and padding of a 2-D window, as Keras computes them. */
#ifndef LAM_OPS_WINDOW_H
#define LAM_OPS_WINDOW_H

#include "kernels/conv.h"
#include "ops/op.h"

/* Fills g from an NHWC input shape; errors name the layer. */
lam_status lam_window_build(lam_window *g, const lam_node *n, int kh, int kw, int sh, int sw,
                            lam_padding pad);
/* The same for a (steps, channels) input, seen as (steps, 1, channels):
 * a window of k steps and stride s. */
lam_status lam_window_build_1d(lam_window *g, const lam_node *n, int k, int s, lam_padding pad);

#endif
