/* recurrent_steps.c - the GRU and SimpleRNN step loops and the sequence
 * layout helpers of the recurrent layers; see recurrent_kernels.h.
 *
 * The input projection x . W + b_in is one big product before the loop (the
 * op's), so per step only h_{t-1} . U remains: a [rows, u] x [u, G] product
 * accumulated straight into the step's rows of Z (lam_gemm runs on the
 * calling thread inside a parallel region), then the gate nonlinearities.
 * Backward walks the steps in reverse writing every gate gradient, so that
 * the weight gradients are single products after the loop. */
#include "kernels/activation.h"
#include "kernels/kernels.h"
#include "kernels/recurrent_kernels.h"

#include <string.h>

/* ---------------------------------------------------------------- forward */

LAM_VEC void lam_simplernn_forward_steps(int rows, int T, int u, const float *U,
                                         lam_activation act, bool back, float *Z, float *H)
{
    for (int s = 0; s < T; s++) {
        const int tin = back ? T - 1 - s : s;
        if (s > 0) /* z_t += h_{t-1} . U */
            lam_gemm(false, false, rows, u, u, 1.0f, H + (int64_t)(s - 1) * u, T * u, U, u, 1.0f,
                     Z + (int64_t)tin * u, T * u);
        for (int b = 0; b < rows; b++) {
            float *z = Z + ((int64_t)b * T + tin) * u;
            lam_act_rows(act, z, NULL, NULL, 1, u);
            memcpy(H + ((int64_t)b * T + s) * u, z, sizeof(float) * (size_t)u);
        }
    }
}

LAM_VEC void lam_gru_forward_steps(int rows, int T, int u, const float *U, const float *brec,
                                   lam_activation act, lam_activation ract, bool reset_after,
                                   bool back, float *Z, float *RH, float *H, float *R)
{
    const int G = 3 * u;
    for (int s = 0; s < T; s++) {
        const int tin = back ? T - 1 - s : s;
        float *Zs = Z + (int64_t)tin * G;                              /* stride T*G */
        const float *Hp = s > 0 ? H + (int64_t)(s - 1) * u : NULL;    /* stride T*u */
        if (reset_after) {
            /* R = h_{t-1} . U + b_rec, kept apart: r multiplies its h part */
            if (Hp) lam_gemm(false, false, rows, G, u, 1.0f, Hp, T * u, U, G, 0.0f, R, G);
            else memset(R, 0, sizeof(float) * (size_t)rows * G);
            if (brec)
                for (int b = 0; b < rows; b++)
                    for (int j = 0; j < G; j++) R[(int64_t)b * G + j] += brec[j];
        } else if (Hp) {
            /* z, r parts: += h_{t-1} . U[:, :2u] */
            lam_gemm(false, false, rows, 2 * u, u, 1.0f, Hp, T * u, U, G, 1.0f, Zs, T * G);
        }
        for (int b = 0; b < rows; b++) {
            float *z = Z + ((int64_t)b * T + tin) * G;
            const float *hp = s > 0 ? H + ((int64_t)b * T + s - 1) * u : NULL;
            float *h = H + ((int64_t)b * T + s) * u;
            float *rh = RH + ((int64_t)b * T + tin) * u;
            if (reset_after) {
                const float *Rb = R + (int64_t)b * G;
                for (int j = 0; j < 2 * u; j++) z[j] += Rb[j];
                lam_act_rows(ract, z, NULL, NULL, 1, 2 * u);
                const float *gr = z + u;
                memcpy(rh, Rb + 2 * u, sizeof(float) * (size_t)u);
                #pragma omp simd
                for (int j = 0; j < u; j++) z[2 * u + j] += gr[j] * rh[j];
            } else {
                lam_act_rows(ract, z, NULL, NULL, 1, 2 * u);
                const float *gr = z + u;
                if (hp) {
                    #pragma omp simd
                    for (int j = 0; j < u; j++) rh[j] = gr[j] * hp[j];
                } else {
                    memset(rh, 0, sizeof(float) * (size_t)u);
                }
            }
            /* (reset_after=False adds (r*h) . U_h below, for all rows at once) */
            if (reset_after || !hp) {
                lam_act_rows(act, z + 2 * u, NULL, NULL, 1, u);
                const float *gz = z, *hh = z + 2 * u;
                if (hp) {
                    #pragma omp simd
                    for (int j = 0; j < u; j++) h[j] = gz[j] * hp[j] + (1.0f - gz[j]) * hh[j];
                } else {
                    #pragma omp simd
                    for (int j = 0; j < u; j++) h[j] = (1.0f - gz[j]) * hh[j];
                }
            }
        }
        if (!reset_after && Hp) {
            /* hh pre-activation += (r * h_{t-1}) . U_h, then finish the step */
            const float *RHs = RH + (int64_t)tin * u;
            lam_gemm(false, false, rows, u, u, 1.0f, RHs, T * u, U + 2 * u, G, 1.0f, Zs + 2 * u,
                     T * G);
            for (int b = 0; b < rows; b++) {
                float *z = Z + ((int64_t)b * T + tin) * G;
                const float *hp = H + ((int64_t)b * T + s - 1) * u;
                float *h = H + ((int64_t)b * T + s) * u;
                lam_act_rows(act, z + 2 * u, NULL, NULL, 1, u);
                const float *gz = z, *hh = z + 2 * u;
                #pragma omp simd
                for (int j = 0; j < u; j++) h[j] = gz[j] * hp[j] + (1.0f - gz[j]) * hh[j];
            }
        }
    }
}

/* --------------------------------------------------------------- backward */

/* dh := dL/dh of the last step (the output's last row, or the only one). */
static void last_dh(int rows, int T, int u, bool seq, const float *dy, float *dh)
{
    for (int b = 0; b < rows; b++) {
        const float *src = seq ? dy + ((int64_t)b * T + T - 1) * u : dy + (int64_t)b * u;
        memcpy(dh + (int64_t)b * u, src, sizeof(float) * (size_t)u);
    }
}

LAM_VEC void lam_simplernn_backward_steps(int rows, int T, int u, const float *U,
                                          lam_activation act, bool back, bool seq,
                                          const float *Z, const float *H, const float *dy,
                                          float *dX, float *dh, float *dhn)
{
    (void)H;
    last_dh(rows, T, u, seq, dy, dh);
    for (int s = T - 1; s >= 0; s--) {
        const int tin = back ? T - 1 - s : s;
        for (int b = 0; b < rows; b++) {
            const int64_t rs = (int64_t)b * T + s, rt = (int64_t)b * T + tin;
            float *g = dX + rt * u, *dhb = dh + (int64_t)b * u, *dhp = dhn + (int64_t)b * u;
            #pragma omp simd
            for (int j = 0; j < u; j++) g[j] = dhb[j];
            lam_act_grad_rows(act, Z + rt * u, g, 1, u);
            if (s > 0) {
                if (seq) memcpy(dhp, dy + (rs - 1) * u, sizeof(float) * (size_t)u);
                else memset(dhp, 0, sizeof(float) * (size_t)u);
            }
        }
        if (s == 0) break;
        /* dh_{t-1} += dG_t . U^T */
        lam_gemm(false, true, rows, u, u, 1.0f, dX + (int64_t)tin * u, T * u, U, u, 1.0f, dhn, u);
        float *sw = dh;
        dh = dhn;
        dhn = sw;
    }
}

LAM_VEC void lam_gru_backward_steps(int rows, int T, int u, const float *U, lam_activation act,
                                    lam_activation ract, bool reset_after, bool back, bool seq,
                                    const float *Z, const float *RH, const float *H,
                                    const float *dy, float *dX, float *dR, float *dh, float *dhn,
                                    float *tmp)
{
    const int G = 3 * u;
    last_dh(rows, T, u, seq, dy, dh);
    for (int s = T - 1; s >= 0; s--) {
        const int tin = back ? T - 1 - s : s;
        for (int b = 0; b < rows; b++) {
            const int64_t rs = (int64_t)b * T + s, rt = (int64_t)b * T + tin;
            const float *z = Z + rt * G;
            const float *hp = s > 0 ? H + (rs - 1) * u : NULL;
            float *g = dX + rt * G, *dhb = dh + (int64_t)b * u, *dhp = dhn + (int64_t)b * u;
            const float *gz = z, *gr = z + u, *hh = z + 2 * u, *rh = RH + rt * u;
            float *dz = g, *dr = g + u, *dhh = g + 2 * u;
            #pragma omp simd
            for (int j = 0; j < u; j++) {
                dz[j] = dhb[j] * ((hp ? hp[j] : 0.0f) - hh[j]);
                dhh[j] = dhb[j] * (1.0f - gz[j]);
                dr[j] = 0.0f; /* reset_after=False at s = 0: r meets h_{-1} = 0 */
            }
            lam_act_grad_rows(ract, gz, dz, 1, u);
            lam_act_grad_rows(act, hh, dhh, 1, u);
            if (reset_after) {
                float *q = dR + rt * G;
                #pragma omp simd
                for (int j = 0; j < u; j++) dr[j] = dhh[j] * rh[j];
                lam_act_grad_rows(ract, gr, dr, 1, u);
                #pragma omp simd
                for (int j = 0; j < u; j++) {
                    q[j] = dz[j];
                    q[u + j] = dr[j];
                    q[2 * u + j] = dhh[j] * gr[j];
                }
            }
            /* reset_after=False: dr needs d(r*h) = dhh . U_h^T, for all rows below */
            if (hp) {
                #pragma omp simd
                for (int j = 0; j < u; j++)
                    dhp[j] = (seq ? dy[(rs - 1) * u + j] : 0.0f) + dhb[j] * gz[j];
            }
        }
        if (s == 0) break;
        float *dXs = dX + (int64_t)tin * G;
        if (!reset_after) {
            /* d(r*h) = dhh . U_h^T; then dr and the r-path into dh_{t-1} */
            lam_gemm(false, true, rows, u, u, 1.0f, dXs + 2 * u, T * G, U + 2 * u, G, 0.0f, tmp, G);
            for (int b = 0; b < rows; b++) {
                const int64_t rs = (int64_t)b * T + s, rt = (int64_t)b * T + tin;
                const float *gr = Z + rt * G + u, *hp = H + (rs - 1) * u;
                float *dr = dX + rt * G + u, *q = tmp + (int64_t)b * G, *dhp = dhn + (int64_t)b * u;
                #pragma omp simd
                for (int j = 0; j < u; j++) {
                    dr[j] = q[j] * hp[j];
                    dhp[j] += q[j] * gr[j];
                }
                lam_act_grad_rows(ract, gr, dr, 1, u);
            }
            /* dh_{t-1} += [dz, dr] . U_zr^T */
            lam_gemm(false, true, rows, u, 2 * u, 1.0f, dXs, T * G, U, G, 1.0f, dhn, u);
        } else {
            /* dh_{t-1} += dR_t . U^T, all gates in one product */
            lam_gemm(false, true, rows, u, G, 1.0f, dR + (int64_t)tin * G, T * G, U, G, 1.0f, dhn,
                     u);
        }
        float *sw = dh;
        dh = dhn;
        dhn = sw;
    }
}

/* ----------------------------------------------------------------- layout */

void lam_rnn_gather_xh(int rows, int T, int F, int u, bool back, const float *x, const float *H,
                       float *XH)
{
    const int64_t K = (int64_t)F + u;
    for (int b = 0; b < rows; b++)
        for (int s = 0; s < T; s++) {
            const int64_t ri = (int64_t)b * T + (back ? T - 1 - s : s);
            float *dst = XH + ri * K;
            if (F) memcpy(dst, x + ri * F, sizeof(float) * (size_t)F);
            if (s == 0) memset(dst + F, 0, sizeof(float) * (size_t)u);
            else memcpy(dst + F, H + ((int64_t)b * T + s - 1) * u, sizeof(float) * (size_t)u);
        }
}

void lam_rnn_last_state(int rows, int T, int u, const float *H, float *y)
{
    for (int b = 0; b < rows; b++)
        memcpy(y + (int64_t)b * u, H + ((int64_t)b * T + T - 1) * u, sizeof(float) * (size_t)u);
}

/* ---------------------------------------------------------- Bidirectional */

void lam_bidir_merge(int rows, int T, int u, lam_merge_mode mode, const float *yf,
                     const float *yb, float *y)
{
    const int O = mode == LAM_MERGE_CONCAT ? 2 * u : u;
    for (int b = 0; b < rows; b++)
        for (int t = 0; t < T; t++) {
            const float *f = yf + ((int64_t)b * T + t) * u;
            const float *r = yb + ((int64_t)b * T + T - 1 - t) * u;
            float *o = y + ((int64_t)b * T + t) * O;
            switch (mode) {
            case LAM_MERGE_CONCAT:
                memcpy(o, f, sizeof(float) * (size_t)u);
                memcpy(o + u, r, sizeof(float) * (size_t)u);
                break;
            case LAM_MERGE_SUM:
                for (int j = 0; j < u; j++) o[j] = f[j] + r[j];
                break;
            case LAM_MERGE_AVE: /* Keras's (y + y_rev) / 2; halving is exact */
                for (int j = 0; j < u; j++) o[j] = (f[j] + r[j]) * 0.5f;
                break;
            case LAM_MERGE_MUL:
                for (int j = 0; j < u; j++) o[j] = f[j] * r[j];
                break;
            }
        }
}

void lam_bidir_split(int rows, int T, int u, lam_merge_mode mode, const float *yf,
                     const float *yb, const float *dy, float *dyf, float *dyb)
{
    const int O = mode == LAM_MERGE_CONCAT ? 2 * u : u;
    for (int b = 0; b < rows; b++)
        for (int t = 0; t < T; t++) {
            const int64_t rf = (int64_t)b * T + t, rr = (int64_t)b * T + T - 1 - t;
            const float *d = dy + rf * O;
            float *df = dyf + rf * u, *dr = dyb + rr * u;
            switch (mode) {
            case LAM_MERGE_CONCAT:
                memcpy(df, d, sizeof(float) * (size_t)u);
                memcpy(dr, d + u, sizeof(float) * (size_t)u);
                break;
            case LAM_MERGE_SUM:
                memcpy(df, d, sizeof(float) * (size_t)u);
                memcpy(dr, d, sizeof(float) * (size_t)u);
                break;
            case LAM_MERGE_AVE:
                for (int j = 0; j < u; j++) df[j] = dr[j] = d[j] * 0.5f;
                break;
            case LAM_MERGE_MUL: {
                const float *f = yf + rf * u, *r = yb + rr * u;
                for (int j = 0; j < u; j++) {
                    df[j] = d[j] * r[j];
                    dr[j] = d[j] * f[j];
                }
                break;
            }
            }
        }
}

void lam_bidir_add(int64_t n, const float *src, float *dst)
{
    for (int64_t i = 0; i < n; i++) dst[i] += src[i];
}
