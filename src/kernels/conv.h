/* conv.h - convolution and pooling kernels on NHWC data. */
#ifndef LAM_KERNELS_CONV_H
#define LAM_KERNELS_CONV_H

#include <stdbool.h>
#include <stdint.h>

/* The geometry of one 2-D window operation (convolution or pooling). */
typedef struct lam_window {
    int N, H, W, C;    /* input (N, H, W, C) */
    int KH, KW;        /* window */
    int SH, SW;        /* strides */
    int PT, PL;        /* padding before (top, left); after is implied by OH, OW */
    int OH, OW;        /* output spatial size */
} lam_window;

/* in (N, H, W, C) -> cols (N*OH*OW, KH*KW*C), column order (kh, kw, c),
 * which matches a Keras kernel [KH, KW, C, F] read as a (KH*KW*C, F) matrix.
 * Padded positions are zero. */
void lam_im2col(const lam_window *g, const float *in, float *cols);
/* The adjoint: dx (N, H, W, C) = sum of cols scattered back (dx is overwritten). */
void lam_col2im(const lam_window *g, const float *cols, float *dx);

/* Max pooling: out (N, OH, OW, C). record (lam_maxpool_record_ints(g) ints
 * per sample, or NULL when no backward follows) says which input won each
 * window, for lam_maxpool_backward; its layout depends on the window.
 * Ties go to the first input in window order; padded positions never win. */
int64_t lam_maxpool_record_ints(const lam_window *g);
void lam_maxpool_forward(const lam_window *g, const float *in, float *out, int32_t *record);
/* dx (N, H, W, C) is overwritten: dy routed to the winners, 0 elsewhere. */
void lam_maxpool_backward(const lam_window *g, const float *dy, const int32_t *record, float *dx);
/* Max pooling's tangent at in (N, H, W, C): dy (N, OH, OW, C) = din at each
 * window's winner (chosen as the forward pass chooses it). span (N pairs) is
 * lowered to the distance along +din (span[2n]) and -din (span[2n + 1]) at
 * which another entry of some window of image n overtakes its winner. */
void lam_maxpool_tangent(const lam_window *g, const float *in, const float *din, float *dy,
                         double *span);
/* References: the same results by direct search of each window. */
void lam_maxpool_forward_naive(const lam_window *g, const float *in, float *out);
void lam_maxpool_backward_naive(const lam_window *g, const float *in, const float *dy, float *dx);
/* Average pooling; padded positions are left out of the count (as Keras). */
void lam_avgpool_forward(const lam_window *g, const float *in, float *out);
void lam_avgpool_backward(const lam_window *g, const float *dy, float *dx);

/* Direct convolution for few input channels: K = KH*KW*C <= this. */
#define LAM_CONV_DIRECT_MAX_K 64
bool lam_conv_direct_applies(const lam_window *g);
/* out (N, OH, OW, F) = conv(in, kernel [KH, KW, C, F]) + bias (may be NULL),
 * then ReLU when relu is set. */
void lam_conv_direct_forward(const lam_window *g, int F, const float *in, const float *kernel,
                             const float *bias, bool relu, float *out);
/* Floats of scratch lam_conv_direct_backward_weights needs (g->N images). */
int64_t lam_conv_direct_scratch_floats(const lam_window *g, int F);
/* dkernel (K, F) = sum over the batch and pixels of in-window x * dz, and
 * dbias (F, may be NULL) = sum of dz, both overwritten. With ymask (the
 * ReLU's output, same shape as dz) dz counts only where ymask > 0: ReLU's
 * backward, fused. The same bits whatever the number of threads. */
void lam_conv_direct_backward_weights(const lam_window *g, int F, const float *in,
                                      const float *dz, const float *ymask, float *dkernel,
                                      float *dbias, float *scratch);
/* Tests: the widest instruction set the direct kernels may use (0 baseline,
 * 1 AVX2+FMA, 2 AVX-512); returns the previous cap; cap < 0 only reads it. */
int lam_conv_direct_isa(int cap);

/* Naive direct convolution, the reference for the im2col + GEMM path:
 * out (N, OH, OW, F) = conv(in, kernel [KH, KW, C, F]) + bias. */
void lam_conv2d_naive(const lam_window *g, const float *in, const float *kernel,
                      const float *bias, int F, float *out);

#endif
