/* recurrent_kernels.h - the recurrent layers' compute (no model knowledge):
 * the fused LSTM step kernels, the GRU and SimpleRNN step loops and the
 * sequence layout helpers. Gate order is Keras's: LSTM i, f, c (called g
 * here), o; GRU z, r, h.
 *
 * A step of the recurrence is a small product: forward [rows, F + u] x
 * [F + u, 4u] (the step's input and h_{t-1} against W stacked over U, so the
 * pre-activations never go to memory), backward [rows, 4u] x [4u, u] (the
 * gate gradients against U^T). The kernels keep the weights packed once per
 * sequence (lam_gemm packs its B on every call) and fuse the gate
 * nonlinearities and the cell update into the product's epilogue, while the
 * tile is still in registers / L1.
 *
 * Packing and tiles depend on a vector width w (8 or 16 floats):
 * lam_lstm_width() gives the one this CPU runs best; any w gives the same
 * results up to rounding, and a given w gives the same bits whatever rows a
 * call covers (each output element is one fixed chain of operations), so
 * callers may split the batch between threads freely. */
#ifndef LAM_KERNELS_RECURRENT_H
#define LAM_KERNELS_RECURRENT_H

#include "lamina.h"

#include <stdbool.h>
#include <stdint.h>

/* The vector width for this CPU (16 with AVX-512F, else 8); fixed per process. */
int lam_lstm_width(void);

/* Floats a packed kernel needs, for any width, either direction. */
int64_t lam_lstm_packed_floats(int F, int u);

/* Forward: the input kernel W (F, 4u) stacked over U (u, 4u), both
 * row-major, -> P for lam_lstm_step_forward. Backward: U -> P for
 * lam_lstm_step_backward. Each call packs part `part` of `parts` (split
 * over K), so threads can share the work: parts = 1 packs it all. */
void lam_lstm_pack_forward(int w, int F, int u, const float *W, const float *U, float *P,
                           int part, int parts);
void lam_lstm_pack_backward(int w, int u, const float *U, float *P, int part, int parts);

/* One forward step for rows [0, rows), the input projection included:
 *   x (rows, F), row stride ldx: the step's inputs
 *   hp, cp (rows, u), stride ldh: h_{t-1} and c_{t-1}, or NULL for a zero state
 *   z (rows, 4u), stride ldz: out: the gate activations i, f, g, o of
 *       x.W + h_{t-1}.U + bias
 *   bias (4u) or NULL
 *   c, tc, h (rows, u), stride ldh: out: c_t, act(c_t), h_t = o * act(c_t)
 * act is the cell activation (Keras "activation"), ract the gates'. */
void lam_lstm_step_forward(int w, int rows, int F, int u, const float *P, const float *bias,
                           lam_activation act, lam_activation ract, const float *x, int64_t ldx,
                           float *z, int64_t ldz, const float *hp, const float *cp, float *c,
                           float *tc, float *h, int64_t ldh);
/* The same with W, U unpacked: double-precision products, libm functions. */
void lam_lstm_step_forward_naive(int rows, int F, int u, const float *W, const float *U,
                                 const float *bias, lam_activation act, lam_activation ract,
                                 const float *x, int64_t ldx, float *z, int64_t ldz,
                                 const float *hp, const float *cp, float *c, float *tc, float *h,
                                 int64_t ldh);

/* One backward step for rows [0, rows):
 *   gn (rows, 4u), stride ldg: dL/d(gate pre-activations) of step t+1, or
 *       NULL at the last step; dh_t = dy_t + gn . U^T
 *   dy (rows, u), stride ldy: dL/dh_t from the layer's output, or NULL (zero)
 *   z (rows, 4u), stride ldz: gate activations of step t
 *   tc, cp (rows, u), stride ldh: act(c_t), and c_{t-1} or NULL (zero state)
 *   dc (rows, u), stride ldc: on entry dL/dc_t through c_{t+1}; on return
 *       dL/dc_{t-1} through c_t
 *   g (rows, 4u), stride ldg: dL/d(gate pre-activations) of step t (output;
 *       must not overlap gn) */
void lam_lstm_step_backward(int w, int rows, int u, const float *P, lam_activation act,
                            lam_activation ract, const float *gn, const float *dy, int64_t ldy,
                            const float *z, int64_t ldz, const float *tc, const float *cp,
                            int64_t ldh, float *dc, int64_t ldc, float *g, int64_t ldg);
void lam_lstm_step_backward_naive(int rows, int u, const float *U, lam_activation act,
                                  lam_activation ract, const float *gn, const float *dy,
                                  int64_t ldy, const float *z, int64_t ldz, const float *tc,
                                  const float *cp, int64_t ldh, float *dc, int64_t ldc, float *g,
                                  int64_t ldg);

/* ------------------------------------------- GRU and SimpleRNN step loops
 *
 * For `rows` samples in the batch-planar layout: sample b's T rows are
 * b*T .. b*T + T-1 of each array, so a caller splits the batch by passing
 * pointers to its first sample. Step s consumes input time tin = s, or
 * T-1-s with `back` (go_backwards). Z, dX, dR and RH rows are in input order
 * (row b*T + tin), H rows in step order (row b*T + s), which is also the
 * output order. U is the recurrent kernel (u, G), G = u (SimpleRNN) or 3u
 * (GRU). Their products are lam_gemm calls, so inside a parallel region
 * (callers split the batch between threads) they run on the calling thread.
 *
 * Forward. Z (rows, T, G): on entry x . W + b_in of every step; on return
 * the gate activations (GRU: z, r, and hh = act(x W_h + b_h + r * RH) or,
 * reset_after=False, act(x W_h + b_h + RH . U_h)). H (rows, T, u): h of
 * every step. GRU: RH (rows, T, u) out: h_{t-1} . U_h + b_rec,h
 * (reset_after) or r * h_{t-1}; brec (G) the recurrent bias row of
 * reset_after, or NULL; R (rows, G) workspace. */
void lam_simplernn_forward_steps(int rows, int T, int u, const float *U, lam_activation act,
                                 bool back, float *Z, float *H);
void lam_gru_forward_steps(int rows, int T, int u, const float *U, const float *brec,
                           lam_activation act, lam_activation ract, bool reset_after, bool back,
                           float *Z, float *RH, float *H, float *R);
/* Backward through time from the forward's Z, RH, H and dy = dL/d(output):
 * (rows, T, u) with `seq` (return_sequences), else (rows, u) for the last
 * step. Writes dX (rows, T, G): dL/d(x . W + b_in); GRU reset_after also
 * dR (rows, T, G): dL/d(h_{t-1} . U + b_rec). Workspace: dh, dhn (rows, u),
 * GRU tmp (rows, G). */
void lam_simplernn_backward_steps(int rows, int T, int u, const float *U, lam_activation act,
                                  bool back, bool seq, const float *Z, const float *H,
                                  const float *dy, float *dX, float *dh, float *dhn);
void lam_gru_backward_steps(int rows, int T, int u, const float *U, lam_activation act,
                            lam_activation ract, bool reset_after, bool back, bool seq,
                            const float *Z, const float *RH, const float *H, const float *dy,
                            float *dX, float *dR, float *dh, float *dhn, float *tmp);

/* ------------------------------------------------------- sequence layout */

/* XH (rows, T, F + u), row b*T + tin(s) = [x_{b,tin}, h_{b,s-1}] with
 * h_{-1} = 0: the left operand of the weight gradients [dW; dU] = XH^T dX.
 * x (rows, T, F) in input order (unused when F = 0), H (rows, T, u) in step
 * order. */
void lam_rnn_gather_xh(int rows, int T, int F, int u, bool back, const float *x, const float *H,
                       float *XH);
/* y (rows, u) := the last step's row of H (rows, T, u). */
void lam_rnn_last_state(int rows, int T, int u, const float *H, float *y);

/* ---------------------------------------------------------- Bidirectional
 *
 * yf, yb (rows, T, u): the outputs of the forward layer and of the backward
 * one (go_backwards, so in processing order: its output for input time t is
 * yb[T-1-t]); T = 1 for last-state outputs. y (rows, T, O): Keras's merge of
 * yf with yb reversed in time, O = 2u for concat ([yf, yb]), else u (sum,
 * ave, mul). */
void lam_bidir_merge(int rows, int T, int u, lam_merge_mode mode, const float *yf,
                     const float *yb, float *y);
/* Its adjoint: dyf, dyb (rows, T, u) from dy (rows, T, O), dyb in the
 * backward layer's order; mul reads yf and yb. */
void lam_bidir_split(int rows, int T, int u, lam_merge_mode mode, const float *yf,
                     const float *yb, const float *dy, float *dyf, float *dyb);
/* dst += src over n values (both layers read the input: its gradient is the sum). */
void lam_bidir_add(int64_t n, const float *src, float *dst);

#endif
