/* recurrent.c - LSTM, GRU and SimpleRNN, each one op over the whole sequence
 * with backpropagation through time inside, in Keras's weight layouts:
 *
 *   kernel           [F, G]   G = 4u (LSTM: i, f, c, o), 3u (GRU: z, r, h), u (SimpleRNN)
 *   recurrent_kernel [u, G]
 *   bias             [G], or [2, G] for GRU with reset_after (input row, recurrent row)
 *
 * Input per sample is (timesteps T, features F); the output is (T, u) with
 * return_sequences, else (u). Initial states are zero. go_backwards consumes
 * x[T-1] first and, as Keras, returns the sequence in processing order.
 *
 * Not supported: return_state (one output per layer in this API; rejected in
 * build), dropout/recurrent_dropout, stateful, softmax activations. A Keras
 * mask on the input is passed on (with return_sequences) but not used: Keras
 * skips masked steps (carrying the state over them), lamina runs every step
 * (docs/ENGINE.md, "Masks").
 *
 * Layout and speed. The step loop runs in one OpenMP region where each
 * thread takes chunks of the batch for the whole sequence, so there is no
 * barrier per step. Backward walks the steps in reverse writing all gate
 * gradients dG (B, T, G); the weight gradients then are single big products
 * after the loop: dW = X^T dG, dU = Hprev^T dG, dx = dG W^T.
 *   LSTM (the seed model's layer) uses the fused step kernels of
 * kernels/recurrent_kernels.h: per step one pass computes
 * [x_t, h_{t-1}] . [W; U] (weights packed once per sequence), the bias, the
 * gates and the cell update; backward one pass computes dh = dy + dG . U^T
 * and the step's gate gradients. dW and dU are one product over rows
 * [x_t, h_{t-1}].
 *   GRU and SimpleRNN project x (B, T, F) for all steps at once:
 * Z = x . W + b as one [B*T, F] x [F, G] product. Per step only h_{t-1} . U
 * remains ([B, u] x [u, G], accumulated straight into Z's rows for that step;
 * lam_gemm runs on the calling thread inside a parallel region), followed by
 * the gate nonlinearities: the step loops of kernels/recurrent_kernels.h.
 *   This op decides (layout, batch chunks, threads); the kernels compute,
 * so another backend can provide the same calls.
 *
 * Row order. "tin" is the input time index a step consumes (T-1-s for step s
 * with go_backwards). Z, dG and X rows are in input order (row b*T + tin), so
 * the two big products see X and dG aligned; H and C rows are in step order
 * (row b*T + s), which is also the output order.
 *
 * saved (batch-planar, not per-sample interleaved, so that the B*T rows of Z
 * have one stride):
 *   LSTM:  Z (B,T,4u) gate activations i,f,g,o | C (B,T,u) cell | TC (B,T,u) act(c) | H (B,T,u)
 *   GRU:   Z (B,T,3u) activations z,r,hh | RH (B,T,u) | H (B,T,u)
 *          RH = h_{t-1} . U_h + b_rh (reset_after) or r * h_{t-1} (reset_after=False)
 *   RNN:   Z (B,T,u) activations | H (B,T,u)
 */
#include "kernels/activation.h"
#include "kernels/kernels.h"
#include "kernels/recurrent_kernels.h"
#include "ops/op.h"

#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* ------------------------------------------------------------------ build */

typedef struct rnn_dims {
    int T, F, u, G;
    bool gru_ra;      /* GRU with reset_after: separate recurrent bias row */
} rnn_dims;

static rnn_dims dims_of(const lam_node *n)
{
    rnn_dims d;
    d.T = (int)n->in[0].dim[0];
    d.F = (int)n->in[0].dim[1];
    d.u = n->spec.units;
    d.G = n->spec.kind == LAM_LAYER_LSTM ? 4 * d.u : n->spec.kind == LAM_LAYER_GRU ? 3 * d.u : d.u;
    d.gru_ra = n->spec.kind == LAM_LAYER_GRU && n->spec.reset_after;
    return d;
}

static bool act_supported(lam_activation a)
{
    return a == LAM_ACT_LINEAR || a == LAM_ACT_RELU || a == LAM_ACT_SIGMOID || a == LAM_ACT_TANH;
}

static lam_status rnn_build(lam_node *n)
{
    const char *cls = n->op->class_name, *name = n->spec.name;
    if (n->in[0].rank != 2)
        return lam_error(LAM_ERR_SHAPE, "layer \"%s\" (%s): input has rank %d per sample, "
                         "expected (timesteps, features)", name, cls, n->in[0].rank);
    if (n->spec.units < 1 || n->spec.units > (1 << 16))
        return lam_error(LAM_ERR_ARG, "layer \"%s\" (%s): units is %d, expected 1 to 65536",
                         name, cls, n->spec.units);
    if (n->spec.return_state)
        return lam_error(LAM_ERR_UNSUPPORTED, "layer \"%s\" (%s): return_state=True is not "
                         "supported (a layer has exactly one output in lamina)", name, cls);
    if (!act_supported(n->spec.activation))
        return lam_error(LAM_ERR_UNSUPPORTED, "layer \"%s\" (%s): activation \"%s\" is not "
                         "supported here (expected tanh, sigmoid, relu or linear)", name, cls,
                         lam_activation_name(n->spec.activation));
    if (n->spec.kind != LAM_LAYER_SIMPLERNN && !act_supported(n->spec.recurrent_activation))
        return lam_error(LAM_ERR_UNSUPPORTED, "layer \"%s\" (%s): recurrent_activation \"%s\" "
                         "is not supported (expected sigmoid, tanh, relu or linear)", name, cls,
                         lam_activation_name(n->spec.recurrent_activation));
    rnn_dims d = dims_of(n);
    if ((int64_t)d.T * d.G > (1 << 26) || (int64_t)d.F * d.G > (1 << 28))
        return lam_error(LAM_ERR_SHAPE, "layer \"%s\" (%s): %d timesteps x %d features x %d "
                         "units is too large", name, cls, d.T, d.F, d.u);
    if (n->spec.return_sequences) {
        n->out.rank = 2;
        n->out.dim[0] = d.T;
        n->out.dim[1] = d.u;
    } else {
        n->out.rank = 1;
        n->out.dim[0] = d.u;
    }
    LAM_TRY(lam_node_add_tensor(n, "kernel", 2, (int64_t[]){d.F, d.G}));
    LAM_TRY(lam_node_add_tensor(n, "recurrent_kernel", 2, (int64_t[]){d.u, d.G}));
    if (n->spec.use_bias) {
        if (d.gru_ra) LAM_TRY(lam_node_add_tensor(n, "bias", 2, (int64_t[]){2, d.G}));
        else LAM_TRY(lam_node_add_tensor(n, "bias", 1, (int64_t[]){d.G}));
    }
    int64_t per_step = n->spec.kind == LAM_LAYER_LSTM ? d.G + 3 * d.u
                       : n->spec.kind == LAM_LAYER_GRU ? d.G + 2 * d.u
                                                        : d.G + d.u;
    n->saved_floats = per_step * d.T;
    return LAM_OK;
}

static lam_status rnn_init(lam_node *n, float *p, float *state, lam_rng *rng)
{
    rnn_dims d = dims_of(n);
    float *W = p, *U = p + (int64_t)d.F * d.G, *b = U + (int64_t)d.u * d.G;
    lam_init_glorot_uniform(W, (int64_t)d.F * d.G, d.F, d.G, rng);
    LAM_TRY(lam_init_orthogonal(U, d.u, d.G, rng));
    if (n->spec.use_bias) {
        memset(b, 0, sizeof(float) * (size_t)(d.gru_ra ? 2 * d.G : d.G));
        if (n->spec.kind == LAM_LAYER_LSTM && n->spec.unit_forget_bias)
            for (int j = 0; j < d.u; j++) b[d.u + j] = 1.0f;
    }
    return LAM_OK;
}

/* Floats of the GRU/SimpleRNN backward workspace. */
static int64_t rnn_work(int batch, rnn_dims d)
{
    return (int64_t)batch * d.T * (2 * d.G + d.u) + 4 * (int64_t)batch * d.G;
}

/* LSTM workspace, each part 64-byte aligned (the workspace itself is):
 * dX (B, T, G) gate gradients | XH (B, T, F + u) rows [x_t, h_{t-1}] for
 * the weight gradients | dC (B, u) | dbs (B, G) per-sample bias gradients |
 * the packed weights. */
static int64_t align16(int64_t off) { return (off + 15) / 16 * 16; }
typedef struct {
    int64_t xh, dc, dbs, packed, total;
} lstm_layout;
static lstm_layout lstm_work(int batch, rnn_dims d)
{
    const int64_t BT = (int64_t)batch * d.T;
    lstm_layout l;
    l.xh = align16(BT * d.G);
    l.dc = align16(l.xh + BT * (d.F + d.u));
    l.dbs = align16(l.dc + (int64_t)batch * d.u);
    l.packed = align16(l.dbs + (int64_t)batch * d.G);
    l.total = l.packed + lam_lstm_packed_floats(d.F, d.u);
    return l;
}

static int64_t rnn_scratch(const lam_node *n, int batch)
{
    rnn_dims d = dims_of(n);
    return n->spec.kind == LAM_LAYER_LSTM ? lstm_work(batch, d).total : rnn_work(batch, d);
}

/* Threads for the step loop: each chunk has >= 4 samples (below that a gemm
 * row panel is mostly padding). */
static int loop_threads(int batch)
{
#ifdef _OPENMP
    if (omp_in_parallel()) return 1;
    int t = omp_get_max_threads(), cap = batch / 4;
    if (cap < 1) cap = 1;
    return t < cap ? t : cap;
#else
    (void)batch;
    return 1;
#endif
}

/* This thread's number and its team's size (0 and 1 outside a parallel
 * region or without OpenMP). */
static int thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}
static int team_size(void)
{
#ifdef _OPENMP
    return omp_get_num_threads();
#else
    return 1;
#endif
}

/* Batch chunks for nt threads: two per thread, handed out dynamically, so
 * that when a thread is descheduled (a busy machine) the others take its
 * share instead of waiting for it at the end of the sequence. */
static int loop_chunks(int batch, int nt)
{
    if (nt <= 1) return 1;
    int c = 2 * nt, cap = batch / 4;
    return c < cap ? c : cap < 1 ? 1 : cap;
}

static void chunk_of(int batch, int ch, int nch, int *b0, int *b1)
{
    *b0 = (int)((int64_t)batch * ch / nch);
    *b1 = (int)((int64_t)batch * (ch + 1) / nch);
}

/* ------------------------------------------------------------- LSTM */

/* LSTM step loops: one batch chunk per thread. With the weights packed once
 * per sequence a chunk's cost is just its rows, and on the seed LSTM (2
 * threads, batch 32) this measured faster than two chunks per thread handed
 * out dynamically (93.0 vs 96.1 us/sample in the fast mode; no worse in the
 * slow one). */

/* LSTM forward: per step one fused kernel, [x_t, h_{t-1}] . [W; U] with
 * the weights packed once for the whole sequence, and the bias, gate
 * nonlinearities and cell update in the product's epilogue. (One product
 * x . W over all steps beforehand would write the pre-activations to memory
 * only to read them back a step at a time.) */
static void lstm_forward(lam_node *n, const lam_ctx *c, const float *x, float *y, int batch)
{
    const rnn_dims d = dims_of(n);
    const int T = d.T, u = d.u, G = d.G, w = lam_lstm_width();
    const int64_t BT = (int64_t)batch * T;
    const float *W = c->params, *U = W + (int64_t)d.F * G;
    const float *bias = n->spec.use_bias ? U + (int64_t)u * G : NULL;
    const lam_activation act = n->spec.activation, ract = n->spec.recurrent_activation;
    const bool back = n->spec.go_backwards;
    float *Z = n->saved, *C = Z + BT * G, *TC = C + BT * u, *H = TC + BT * u;
    float *P = c->scratch + lstm_work(batch, d).packed;
    const bool seq = n->spec.return_sequences;
    const int nt = loop_threads(batch), nch = nt;
    #pragma omp parallel num_threads(nt) if (nt > 1)
    {
        /* the threads pack the weights together, then take batch chunks */
        lam_lstm_pack_forward(w, d.F, u, W, U, P, thread_id(), team_size());
        #pragma omp barrier
        #pragma omp for schedule(dynamic, 1)
        for (int ch = 0; ch < nch; ch++) {
            int b0, b1;
            chunk_of(batch, ch, nch, &b0, &b1);
            if (b1 <= b0) continue;
            for (int s = 0; s < T; s++) {
                const int tin = back ? T - 1 - s : s;
                const int64_t rs = (int64_t)b0 * T + s, ri = (int64_t)b0 * T + tin;
                lam_lstm_step_forward(w, b1 - b0, d.F, u, P, bias, act, ract, x + ri * d.F,
                                      (int64_t)T * d.F, Z + ri * G, (int64_t)T * G,
                                      s ? H + (rs - 1) * u : NULL, s ? C + (rs - 1) * u : NULL,
                                      C + rs * u, TC + rs * u, H + rs * u, (int64_t)T * u);
            }
            /* this chunk's outputs */
            if (seq)
                memcpy(y + (int64_t)b0 * T * u, H + (int64_t)b0 * T * u,
                       sizeof(float) * (size_t)((int64_t)(b1 - b0) * T * u));
            else
                lam_rnn_last_state(b1 - b0, T, u, H + (int64_t)b0 * T * u, y + (int64_t)b0 * u);
        }
    }
}

/* LSTM backward: per step (in reverse) the fused kernel turns
 * dh_t = dy_t + dG_{t+1} . U^T into the step's gate gradients dG_t; the
 * weight gradients are then single products over all steps. */
static void lstm_backward(lam_node *n, const lam_ctx *c, const float *x, float *dy, float *dx,
                          int batch)
{
    const rnn_dims d = dims_of(n);
    const int T = d.T, u = d.u, G = d.G, F = d.F, w = lam_lstm_width();
    const int64_t BT = (int64_t)batch * T;
    const float *W = c->params, *U = W + (int64_t)F * G;
    float *dW = c->grads, *dU = dW + (int64_t)F * G, *db = dU + (int64_t)u * G;
    const lam_activation act = n->spec.activation, ract = n->spec.recurrent_activation;
    const bool back = n->spec.go_backwards, seq = n->spec.return_sequences;
    const float *Z = n->saved, *C = Z + BT * G, *TC = C + BT * u, *H = TC + BT * u;
    const lstm_layout L = lstm_work(batch, d);
    float *dX = c->scratch;              /* (B, T, G) gate gradients, input order */
    float *XH = c->scratch + L.xh;       /* (B, T, F + u) [x_t, h_{t-1}], input order */
    float *dC = c->scratch + L.dc;       /* (B, u) running dL/dc */
    float *dbs = c->scratch + L.dbs;     /* (B, G) sum over steps of dX, per sample */
    const bool use_bias = n->spec.use_bias;
    float *P = c->scratch + L.packed;
    const int nt = loop_threads(batch), nch = nt;
    #pragma omp parallel num_threads(nt) if (nt > 1)
    {
        /* the threads pack U^T together, then take batch chunks */
        lam_lstm_pack_backward(w, u, U, P, thread_id(), team_size());
        #pragma omp barrier
        #pragma omp for schedule(dynamic, 1)
        for (int ch = 0; ch < nch; ch++) {
            int b0, b1;
            chunk_of(batch, ch, nch, &b0, &b1);
            const int nb = b1 - b0;
            if (nb <= 0) continue;
            memset(dC + (int64_t)b0 * u, 0, sizeof(float) * (size_t)nb * u);
            for (int s = T - 1; s >= 0; s--) {
                const int tin = back ? T - 1 - s : s, tnext = back ? T - 2 - s : s + 1;
                const int64_t rs = (int64_t)b0 * T + s;
                const float *dys = seq ? dy + rs * u : s == T - 1 ? dy + (int64_t)b0 * u : NULL;
                lam_lstm_step_backward(w, nb, u, P, act, ract,
                                       s < T - 1 ? dX + ((int64_t)b0 * T + tnext) * G : NULL, dys,
                                       seq ? (int64_t)T * u : u, Z + ((int64_t)b0 * T + tin) * G,
                                       (int64_t)T * G, TC + rs * u, s ? C + (rs - 1) * u : NULL,
                                       (int64_t)T * u, dC + (int64_t)b0 * u, u,
                                       dX + ((int64_t)b0 * T + tin) * G, (int64_t)T * G);
            }
            /* each sample's bias gradient over its T rows, here while they are
             * in this core's cache; summed over the samples below */
            if (use_bias)
                for (int b = b0; b < b1; b++)
                    lam_bias_grad(dX + (int64_t)b * T * G, T, G, dbs + (int64_t)b * G);
            /* XH rows of these samples: row (b, tin(s)) = [x_tin, h_{s-1}] (h_{-1} = 0) */
            lam_rnn_gather_xh(nb, T, F, u, back, x + (int64_t)b0 * T * F, H + (int64_t)b0 * T * u,
                              XH + (int64_t)b0 * T * (F + u));
        }
    }
    /* [dW; dU] (F + u, G) = XH^T . dX in one product (dX is packed once, not
     * twice; dW and dU are adjacent in the gradients) */
    (void)dU;
    lam_gemm(true, false, F + u, G, (int)BT, 1.0f, XH, F + u, dX, G, 0.0f, dW, G);
    /* db = the per-sample sums added in sample order: the same bits for any
     * number of threads */
    if (use_bias) lam_bias_grad(dbs, batch, G, db);
    /* dx (B*T, F) = dX . W^T */
    if (dx) lam_gemm(false, true, (int)BT, F, G, 1.0f, dX, G, W, G, 0.0f, dx, F);
}

/* --------------------------------------------------- GRU and SimpleRNN */

/* The saved arrays of a GRU/SimpleRNN call (see the top of the file). */
typedef struct {
    float *Z, *RH, *H;
} rnn_saved;
static rnn_saved saved_of(const lam_node *n, int batch, rnn_dims d)
{
    const int64_t BT = (int64_t)batch * d.T;
    rnn_saved s;
    s.Z = n->saved;
    s.RH = n->spec.kind == LAM_LAYER_GRU ? s.Z + BT * d.G : NULL;
    s.H = s.Z + BT * d.G + (s.RH ? BT * d.u : 0);
    return s;
}

/* x (B, T, F) -> y (B, T, u) or (B, u) */
static void rnn_forward(lam_node *n, const lam_ctx *c, const float *const *xs, float *y, int batch)
{
    const float *x = xs[0];
    if (n->spec.kind == LAM_LAYER_LSTM) {
        lstm_forward(n, c, x, y, batch);
        return;
    }
    const rnn_dims d = dims_of(n);
    const int T = d.T, u = d.u, G = d.G;
    const int64_t BT = (int64_t)batch * T;
    const float *W = c->params, *U = W + (int64_t)d.F * G;
    const float *bias = n->spec.use_bias ? U + (int64_t)u * G : NULL;
    const float *brec = d.gru_ra && bias ? bias + G : NULL;
    const lam_activation act = n->spec.activation, ract = n->spec.recurrent_activation;
    const bool back = n->spec.go_backwards, gru = n->spec.kind == LAM_LAYER_GRU;
    const rnn_saved sv = saved_of(n, batch, d);
    /* Z (B*T, G) = x (B*T, F) . W (F, G) + b_in, every step at once */
    lam_gemm(false, false, (int)BT, G, d.F, 1.0f, x, d.F, W, G, 0.0f, sv.Z, G);
    if (bias) lam_act_rows(LAM_ACT_LINEAR, sv.Z, bias, NULL, BT, G);
    float *R = c->scratch; /* GRU reset_after: (B, G) */
    const int nt = loop_threads(batch), nch = loop_chunks(batch, nt);
    #pragma omp parallel for num_threads(nt) schedule(dynamic, 1) if (nt > 1)
    for (int ch = 0; ch < nch; ch++) {
        int b0, b1;
        chunk_of(batch, ch, nch, &b0, &b1);
        if (b1 <= b0) continue;
        const int64_t zo = (int64_t)b0 * T * G, ho = (int64_t)b0 * T * u;
        if (gru)
            lam_gru_forward_steps(b1 - b0, T, u, U, brec, act, ract, d.gru_ra, back, sv.Z + zo,
                                  sv.RH + ho, sv.H + ho, R + (int64_t)b0 * G);
        else
            lam_simplernn_forward_steps(b1 - b0, T, u, U, act, back, sv.Z + zo, sv.H + ho);
    }
    if (n->spec.return_sequences) memcpy(y, sv.H, sizeof(float) * (size_t)(BT * u));
    else lam_rnn_last_state(batch, T, u, sv.H, y);
}

static void rnn_backward(lam_node *n, const lam_ctx *c, const float *const *xs,
                         const float *y, float *dy, float *const *dxs, int batch)
{
    const float *x = xs[0];
    float *dx = dxs[0];
    if (n->spec.kind == LAM_LAYER_LSTM) {
        lstm_backward(n, c, x, dy, dx, batch);
        return;
    }
    const rnn_dims d = dims_of(n);
    const int T = d.T, u = d.u, G = d.G, F = d.F;
    const int64_t BT = (int64_t)batch * T;
    const float *W = c->params, *U = W + (int64_t)F * G;
    float *dW = c->grads, *dU = dW + (int64_t)F * G, *db = dU + (int64_t)u * G;
    const lam_activation act = n->spec.activation, ract = n->spec.recurrent_activation;
    const bool back = n->spec.go_backwards, seq = n->spec.return_sequences;
    const bool gru = n->spec.kind == LAM_LAYER_GRU;
    const rnn_saved sv = saved_of(n, batch, d);
    float *dX = c->scratch;          /* (B, T, G) */
    float *dR = dX + BT * G;         /* (B, T, G), GRU reset_after */
    float *Hp = dR + BT * G;         /* (B, T, u) h_{t-1} in input order */
    float *dh = Hp + BT * u, *dhn = dh + (int64_t)batch * G, *tmp = dhn + (int64_t)batch * G;
    (void)y;
    const int nt = loop_threads(batch), nch = loop_chunks(batch, nt);
    #pragma omp parallel for num_threads(nt) schedule(dynamic, 1) if (nt > 1)
    for (int ch = 0; ch < nch; ch++) {
        int b0, b1;
        chunk_of(batch, ch, nch, &b0, &b1);
        if (b1 <= b0) continue;
        const int64_t zo = (int64_t)b0 * T * G, ho = (int64_t)b0 * T * u;
        const float *dys = dy + (int64_t)b0 * (seq ? T * u : u);
        if (gru)
            lam_gru_backward_steps(b1 - b0, T, u, U, act, ract, d.gru_ra, back, seq, sv.Z + zo,
                                   sv.RH + ho, sv.H + ho, dys, dX + zo, dR + zo,
                                   dh + (int64_t)b0 * u, dhn + (int64_t)b0 * u,
                                   tmp + (int64_t)b0 * G);
        else
            lam_simplernn_backward_steps(b1 - b0, T, u, U, act, back, seq, sv.Z + zo, sv.H + ho,
                                         dys, dX + zo, dh + (int64_t)b0 * u,
                                         dhn + (int64_t)b0 * u);
    }
    /* Hp (B, T, u): row (b, tin(s)) = h_{s-1}, zero for s = 0 */
    lam_rnn_gather_xh(batch, T, 0, u, back, NULL, sv.H, Hp);
    /* dW (F, G) = X^T . dX */
    lam_gemm(true, false, F, G, (int)BT, 1.0f, x, F, dX, G, 0.0f, dW, G);
    if (d.gru_ra) {
        lam_gemm(true, false, u, G, (int)BT, 1.0f, Hp, u, dR, G, 0.0f, dU, G);
        if (n->spec.use_bias) {
            lam_bias_grad(dX, BT, G, db);
            lam_bias_grad(dR, BT, G, db + G);
        }
    } else if (gru) {
        /* z, r columns see h_{t-1}; the h columns see r * h_{t-1} (saved RH) */
        lam_gemm(true, false, u, 2 * u, (int)BT, 1.0f, Hp, u, dX, G, 0.0f, dU, G);
        lam_gemm(true, false, u, u, (int)BT, 1.0f, sv.RH, u, dX + 2 * u, G, 0.0f, dU + 2 * u, G);
        if (n->spec.use_bias) lam_bias_grad(dX, BT, G, db);
    } else {
        lam_gemm(true, false, u, G, (int)BT, 1.0f, Hp, u, dX, G, 0.0f, dU, G);
        if (n->spec.use_bias) lam_bias_grad(dX, BT, G, db);
    }
    /* dx (B*T, F) = dX . W^T */
    if (dx) lam_gemm(false, true, (int)BT, F, G, 1.0f, dX, G, W, G, 0.0f, dx, F);
}

const lam_op lam_op_lstm = {
    .kind = LAM_LAYER_LSTM,
    .class_name = "LSTM",
    .base_name = "lstm",
    .build = rnn_build,
    .init = rnn_init,
    .forward = rnn_forward,
    .backward = rnn_backward,
    .scratch = rnn_scratch,
    .mask_rule = LAM_MASK_KEEP,
};
const lam_op lam_op_gru = {
    .kind = LAM_LAYER_GRU,
    .class_name = "GRU",
    .base_name = "gru",
    .build = rnn_build,
    .init = rnn_init,
    .forward = rnn_forward,
    .backward = rnn_backward,
    .scratch = rnn_scratch,
    .mask_rule = LAM_MASK_KEEP,
};
const lam_op lam_op_simplernn = {
    .kind = LAM_LAYER_SIMPLERNN,
    .class_name = "SimpleRNN",
    .base_name = "simple_rnn",
    .build = rnn_build,
    .init = rnn_init,
    .forward = rnn_forward,
    .backward = rnn_backward,
    .scratch = rnn_scratch,
    .mask_rule = LAM_MASK_KEEP,
};
