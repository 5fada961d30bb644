/* attention.c - see attention.h.
 *
 * The fast kernels work on one (sample, head) per OpenMP iteration, in
 * blocks of up to 32 queries x 64 keys: the block products are lam_gemm
 * calls on the rows where they lie (strides heads * dim, no copies), the
 * softmax between them is vectorised (fast_exp, 16 explicit lanes so that
 * sums and maxima vectorise without reassociation flags), and a block of
 * scores lives on the thread's stack. Forward runs an online softmax over
 * key blocks (rescaling the partial output when the row maximum grows);
 * backward runs the query blocks, recomputes each probability block from lse
 * and adds the key/value gradients of every block into dk, dv.
 *
 * Causal attention skips the key blocks past a query block's last visible
 * key: with 32-query blocks, 3/4 of the full products for T = 64.
 *
 * Measured (bench/bench_attention.c, 2-core AMD EPYC with AVX-512): the
 * char-GPT shape B = 12, T = 64, H = 4, dk = 32, causal, takes 0.40 ms
 * forward + 0.70 ms backward on one thread, 0.55-0.6 ms in all on two (idle
 * machine); the naive reference takes about 30 ms. Most of the time is the
 * GEMM micro-kernel (perf: 56%), then the vectorised softmax (22%). Blocks
 * of 32 x 64 (1.09 ms on one thread) beat 64 x 64 (1.32 ms, no causal
 * skipping), 16 x 64 (1.31 ms, shorter products) and 32 x 32 (1.18 ms).
 * Attention dropout at rate 0.1 adds about 10% (1.21 ms). */
#include "kernels/attention.h"
#include "kernels/fast_math.h"
#include "kernels/kernels.h"

#include <math.h>
#include <string.h>

#define QB 32    /* query rows per block */
#define KB 64    /* keys per block */
#define LANES 16 /* independent partial sums/maxima: vectorise without reassociating
                    * (fold_sum and fold_max are written for 16) */

/* ----------------------------------------------------------------- masks */

/* Whether query t of sample b sees key j. */
static bool sees(const lam_attention_args *a, int b, int t, int j)
{
    if (a->causal && j > t + a->offset) return false;
    if (a->query_mask && a->query_mask[(int64_t)b * a->tq + t] == 0.0f) return false;
    if (a->key_mask && a->key_mask[(int64_t)b * a->s + j] == 0.0f) return false;
    if (a->mask && a->mask[((int64_t)b * a->tq + t) * a->s + j] == 0.0f) return false;
    return true;
}

/* uniform[r] for queries t0 .. t0 + nq - 1: the row sees no key, so Keras
 * spreads it evenly over all keys (or, empty_rows_zero, gives it no weight).
 * Returns whether any row does. Causal alone never empties a row (offset
 * >= 0: key 0 is always visible). */
static bool uniform_rows(const lam_attention_args *a, int b, int t0, int nq, bool *uniform)
{
    bool any = false;
    for (int r = 0; r < nq; r++) {
        uniform[r] = false;
        if (!a->query_mask && !a->key_mask && !a->mask) continue;
        const int t = t0 + r;
        const int64_t lim = a->causal && (int64_t)t + a->offset + 1 < a->s
                                ? (int64_t)t + a->offset + 1 : a->s;
        bool seen = false;
        for (int j = 0; j < lim && !seen; j++) seen = sees(a, b, t, j);
        uniform[r] = !seen;
        any |= !seen;
    }
    return any;
}

/* Keys a query block ending before t1 can weigh: causal blocks stop at the
 * last query's last visible key, unless a row is spread over all keys. */
static int key_limit(const lam_attention_args *a, int t1, bool any_uniform)
{
    if (!a->causal || any_uniform) return a->s;
    const int64_t lim = (int64_t)t1 + a->offset;
    return lim < a->s ? (int)lim : a->s;
}

/* ---------------------------------------------------------------- dropout */

static inline uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A counter-based draw: P[t, j] of head h, sample b is kept when a hash of
 * (seed, batch_offset + b, h, t, j) falls below keep, so backward recomputes the same
 * decision instead of storing a tq x s mask. A 64-bit hash per row gives
 * the row's key, then a 32-bit one (murmur3's finaliser) per key, which
 * vectorises: with 64-bit hashes per key, dropout doubled the time of the
 * char-GPT shape's forward + backward. */
static inline uint32_t dropout_row_key(const lam_attention_args *a, int b, int h, int t)
{
    const uint64_t sample = (uint64_t)a->batch_offset + (uint64_t)b;
    const uint64_t row = (sample * (uint64_t)a->heads + (uint64_t)h) * (uint64_t)a->tq +
                         (uint64_t)t;
    return (uint32_t)(mix64(a->seed ^ mix64(row + 0x9e3779b97f4a7c15ull)) >> 32);
}

#define ATT_INLINE static inline __attribute__((always_inline))

ATT_INLINE float dropout_factor(uint32_t row_key, int j, float keep, float inv_keep)
{
    uint32_t z = row_key + (uint32_t)j * 0x9e3779b9u;
    z = (z ^ (z >> 16)) * 0x85ebca6bu;
    z = (z ^ (z >> 13)) * 0xc2b2ae35u;
    z ^= z >> 16;
    return (float)(int32_t)(z >> 8) * 0x1p-24f < keep ? inv_keep : 0.0f;
}

/* ------------------------------------------------------- vectorised rows */

/* Inlined into the block functions below, which are compiled once per
 * instruction set (LAM_VEC): one dispatch per block, not per row, and the
 * rows are short (64 keys), so the 16 lanes are folded as a tree (4 adds
 * deep, not 16). */

ATT_INLINE float fold_sum(float *acc)
{
    for (int u = 0; u < 8; u++) acc[u] += acc[u + 8];
    for (int u = 0; u < 4; u++) acc[u] += acc[u + 4];
    for (int u = 0; u < 2; u++) acc[u] += acc[u + 2];
    return acc[0] + acc[1];
}

ATT_INLINE float fold_max(float *acc)
{
    for (int u = 0; u < 8; u++) acc[u] = acc[u + 8] > acc[u] ? acc[u + 8] : acc[u];
    for (int u = 0; u < 4; u++) acc[u] = acc[u + 4] > acc[u] ? acc[u + 4] : acc[u];
    for (int u = 0; u < 2; u++) acc[u] = acc[u + 2] > acc[u] ? acc[u + 2] : acc[u];
    return acc[1] > acc[0] ? acc[1] : acc[0];
}

ATT_INLINE void fill_row(float *x, int n, float value)
{
    for (int j = 0; j < n; j++) x[j] = value;
}

ATT_INLINE void scale_row(float *x, int n, float c)
{
    for (int j = 0; j < n; j++) x[j] *= c;
}

/* -inf where query t may not see key j0 + j: from `visible` on (causal),
 * and where the key mask or the full mask row is 0. */
ATT_INLINE void mask_row(const lam_attention_args *a, int b, int t, int j0, int n, float *s)
{
    int visible = n;
    if (a->causal) {
        const int64_t v = (int64_t)t + a->offset + 1 - j0;
        visible = v < 0 ? 0 : v < n ? (int)v : n;
    }
    for (int j = visible; j < n; j++) s[j] = -INFINITY;
    if (a->key_mask) {
        const float *km = a->key_mask + (int64_t)b * a->s + j0;
        for (int j = 0; j < n; j++) s[j] = km[j] != 0.0f ? s[j] : -INFINITY;
    }
    if (a->mask) {
        const float *fm = a->mask + ((int64_t)b * a->tq + t) * a->s + j0;
        for (int j = 0; j < n; j++) s[j] = fm[j] != 0.0f ? s[j] : -INFINITY;
    }
}

ATT_INLINE float row_max(const float *s, int n)
{
    float acc[LANES];
    for (int u = 0; u < LANES; u++) acc[u] = -INFINITY;
    int j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int u = 0; u < LANES; u++) acc[u] = s[j + u] > acc[u] ? s[j + u] : acc[u];
    for (int u = 0; j < n; j++, u++) acc[u] = s[j] > acc[u] ? s[j] : acc[u];
    return fold_max(acc);
}

/* s := exp(s - m), 0 where s is -inf (a masked key weighs exactly 0);
 * returns the row's sum. */
ATT_INLINE float exp_row(float *s, int n, float m)
{
    float acc[LANES] = {0};
    int j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int u = 0; u < LANES; u++) {
            const float p = s[j + u] == -INFINITY ? 0.0f : fast_exp(s[j + u] - m);
            s[j + u] = p;
            acc[u] += p;
        }
    for (int u = 0; j < n; j++, u++) {
        const float p = s[j] == -INFINITY ? 0.0f : fast_exp(s[j] - m);
        s[j] = p;
        acc[u] += p;
    }
    return fold_sum(acc);
}

/* Forward, one block of scores sc [nq, nk] (query rows t0.., keys j0..):
 * masks, then the online softmax: m, l are the rows' running maximum and
 * sum; a larger maximum rescales the output rows o (row stride ldo) already
 * accumulated from earlier key blocks. sc ends holding exp(s - m). */
LAM_VEC static void softmax_block(const lam_attention_args *a, int b, int t0, int nq, int j0,
                                  int nk, const bool *uniform, float *sc, float *m, float *l,
                                  float *o, int64_t ldo)
{
    for (int r = 0; r < nq; r++) {
        float *s = sc + r * nk;
        if (uniform[r] && a->empty_rows_zero) { /* no weight at all: o row 0 */
            fill_row(s, nk, 0.0f);
            continue;
        }
        if (uniform[r]) fill_row(s, nk, 0.0f); /* every key, equal weight */
        else mask_row(a, b, t0 + r, j0, nk, s);
        const float mx = row_max(s, nk), mn = mx > m[r] ? mx : m[r];
        if (mn == -INFINITY) { /* nothing visible yet in this row */
            fill_row(s, nk, 0.0f);
            continue;
        }
        const float corr = m[r] == -INFINITY ? 0.0f : fast_exp(m[r] - mn);
        l[r] = l[r] * corr + exp_row(s, nk, mn);
        if (j0 > 0 && corr != 1.0f) scale_row(o + r * ldo, a->dv, corr);
        m[r] = mn;
    }
}

/* o rows /= l (l = 0: a row that weighs nothing stays 0); lse = m + log(l). */
LAM_VEC static void finish_rows(int nq, int dv, const float *m, const float *l, float *o,
                                int64_t ldo, float *lse)
{
    for (int r = 0; r < nq; r++) {
        scale_row(o + r * ldo, dv, l[r] > 0.0f ? 1.0f / l[r] : 0.0f);
        if (lse) lse[r] = m[r] + logf(l[r]);
    }
}

/* Backward: the probabilities of a block of scores, exp(s - lse) where
 * visible (1/s_total on a row spread over every key, 0 on one that weighs
 * nothing). */
LAM_VEC static void probs_block(const lam_attention_args *a, int b, int t0, int nq, int j0,
                                int nk, const bool *uniform, const float *lse, float *p)
{
    for (int r = 0; r < nq; r++) {
        float *pr = p + r * nk;
        if (uniform[r]) {
            fill_row(pr, nk, a->empty_rows_zero ? 0.0f : fast_exp(-lse[r]));
        } else {
            mask_row(a, b, t0 + r, j0, nk, pr);
            exp_row(pr, nk, lse[r]);
        }
    }
}

/* D[r] = dout row . o row: sum_j p'[t, j] dL/dp'[t, j], dropout included. */
LAM_VEC static void row_dots(int nq, int dv, const float *dout, const float *o, int64_t ld,
                             float *D)
{
    for (int r = 0; r < nq; r++) {
        const float *x = dout + r * ld, *y = o + r * ld;
        float acc[LANES] = {0};
        int j = 0;
        for (; j + LANES <= dv; j += LANES)
            for (int u = 0; u < LANES; u++) acc[u] += x[j + u] * y[j + u];
        for (int u = 0; j < dv; j++, u++) acc[u] += x[j] * y[j];
        D[r] = fold_sum(acc);
    }
}

/* ds := p * (ds - D): the softmax's backward, ds holding dL/dp on entry;
 * zero on rows spread over every key (their scores were constants). */
LAM_VEC static void dscores_block(int nq, int nk, const bool *uniform, const float *p,
                                  const float *D, float *ds)
{
    for (int r = 0; r < nq; r++) {
        float *dr = ds + r * nk;
        const float *pr = p + r * nk;
        if (uniform[r]) fill_row(dr, nk, 0.0f);
        else
            for (int j = 0; j < nk; j++) dr[j] = pr[j] * (dr[j] - D[r]);
    }
}

/* The same where dL/dp = z * dL/dp', p' = z p being the dropped-out p. */
LAM_VEC static void dscores_dropout_block(int nq, int nk, const bool *uniform, const float *p,
                                          const float *z, const float *D, float *ds)
{
    for (int r = 0; r < nq; r++) {
        float *dr = ds + r * nk;
        const float *pr = p + r * nk, *zr = z + r * nk;
        if (uniform[r]) fill_row(dr, nk, 0.0f);
        else
            for (int j = 0; j < nk; j++) dr[j] = pr[j] * (zr[j] * dr[j] - D[r]);
    }
}

/* The dropout factors z (0 or 1/keep) of a block and p' = z p. */
LAM_VEC static void dropout_block(const lam_attention_args *a, int b, int h, int t0, int nq,
                                  int j0, int nk, const float *p, float *z, float *pd)
{
    const float keep = 1.0f - a->rate, inv = 1.0f / keep;
    for (int r = 0; r < nq; r++) {
        const uint32_t key = dropout_row_key(a, b, h, t0 + r);
        for (int j = 0; j < nk; j++) {
            z[r * nk + j] = dropout_factor(key, j0 + j, keep, inv);
            pd[r * nk + j] = p[r * nk + j] * z[r * nk + j];
        }
    }
}

/* ---------------------------------------------------------------- forward */

static void forward_head(const lam_attention_args *a, int b, int h, const float *q,
                         const float *k, const float *v, float *o, float *lse)
{
    const int tq = a->tq, S = a->s, dk = a->dk, dv = a->dv;
    const int64_t ldk = (int64_t)a->heads * dk, ldv = (int64_t)a->heads * dv;
    const float scale = 1.0f / sqrtf((float)dk);
    const float *qh = q + (int64_t)b * tq * ldk + (int64_t)h * dk;
    const float *kh = k + (int64_t)b * S * ldk + (int64_t)h * dk;
    const float *vh = v + (int64_t)b * S * ldv + (int64_t)h * dv;
    float *oh = o + (int64_t)b * tq * ldv + (int64_t)h * dv;
    float *lh = lse ? lse + ((int64_t)b * a->heads + h) * tq : NULL;
    _Alignas(64) float sc[QB * KB];
    _Alignas(64) float z[QB * KB];
    _Alignas(64) float pd[QB * KB];
    float m[QB], l[QB];
    bool uniform[QB];
    for (int t0 = 0; t0 < tq; t0 += QB) {
        const int nq = tq - t0 < QB ? tq - t0 : QB;
        const int L = key_limit(a, t0 + nq, uniform_rows(a, b, t0, nq, uniform));
        for (int r = 0; r < nq; r++) {
            m[r] = -INFINITY;
            l[r] = 0.0f;
        }
        for (int j0 = 0; j0 < L; j0 += KB) {
            const int nk = L - j0 < KB ? L - j0 : KB;
            lam_gemm(false, true, nq, nk, dk, scale, qh + t0 * ldk, (int)ldk, kh + j0 * ldk,
                     (int)ldk, 0.0f, sc, nk);
            softmax_block(a, b, t0, nq, j0, nk, uniform, sc, m, l, oh + t0 * ldv, ldv);
            const float *p = sc;
            if (a->rate > 0.0f) {
                dropout_block(a, b, h, t0, nq, j0, nk, sc, z, pd);
                p = pd;
            }
            lam_gemm(false, false, nq, dv, nk, 1.0f, p, nk, vh + j0 * ldv, (int)ldv,
                     j0 ? 1.0f : 0.0f, oh + t0 * ldv, (int)ldv);
        }
        finish_rows(nq, dv, m, l, oh + t0 * ldv, ldv, lh ? lh + t0 : NULL);
    }
}

/* Below this many multiply-adds a call stays on one thread: a decoder's
 * step (one query over S keys) is ~10^4 of them, and splitting it cost more
 * than it computed (char-GPT generation: 0.32 ms a token on 2 threads, 0.18
 * on one). The GEMM's own threshold is of the same order. */
#define ATTENTION_MIN_PARALLEL_FMA 200000

static bool worth_threads(const lam_attention_args *a)
{
    const int64_t fma = (int64_t)a->batch * a->heads * a->tq * a->s * (a->dk + a->dv);
    return a->batch * a->heads > 1 && fma >= ATTENTION_MIN_PARALLEL_FMA;
}

void lam_attention_forward(const lam_attention_args *a, const float *q, const float *k,
                           const float *v, float *o, float *lse)
{
    const int n = a->batch * a->heads;
    #pragma omp parallel for schedule(dynamic, 1) if (worth_threads(a))
    for (int bh = 0; bh < n; bh++) forward_head(a, bh / a->heads, bh % a->heads, q, k, v, o, lse);
}

/* --------------------------------------------------------------- backward */

static void backward_head(const lam_attention_args *a, int b, int h, const float *q,
                          const float *k, const float *v, const float *o, const float *lse,
                          const float *dout, float *dq, float *dk, float *dv)
{
    const int tq = a->tq, S = a->s, dkd = a->dk, dvd = a->dv;
    const int64_t ldk = (int64_t)a->heads * dkd, ldv = (int64_t)a->heads * dvd;
    const float scale = 1.0f / sqrtf((float)dkd);
    const int64_t qoff = (int64_t)b * tq * ldk + (int64_t)h * dkd;
    const int64_t koff = (int64_t)b * S * ldk + (int64_t)h * dkd;
    const int64_t voff = (int64_t)b * S * ldv + (int64_t)h * dvd;
    const int64_t ooff = (int64_t)b * tq * ldv + (int64_t)h * dvd;
    const float *qh = q + qoff, *kh = k + koff, *vh = v + voff, *oh = o + ooff;
    const float *doh = dout + ooff, *lh = lse + ((int64_t)b * a->heads + h) * tq;
    float *dqh = dq + qoff, *dkh = dk + koff, *dvh = dv + voff;
    _Alignas(64) float p[QB * KB];
    _Alignas(64) float z[QB * KB];
    _Alignas(64) float pd[QB * KB];
    _Alignas(64) float ds[QB * KB];
    float D[QB];
    bool uniform[QB];
    /* Key and value gradients are sums over query blocks; keys no query
     * weighs keep these zeros. */
    for (int j = 0; j < S; j++) {
        memset(dkh + j * ldk, 0, sizeof(float) * (size_t)dkd);
        memset(dvh + j * ldv, 0, sizeof(float) * (size_t)dvd);
    }
    for (int t0 = 0; t0 < tq; t0 += QB) {
        const int nq = tq - t0 < QB ? tq - t0 : QB;
        const int L = key_limit(a, t0 + nq, uniform_rows(a, b, t0, nq, uniform));
        row_dots(nq, dvd, doh + t0 * ldv, oh + t0 * ldv, ldv, D);
        for (int j0 = 0; j0 < L; j0 += KB) {
            const int nk = L - j0 < KB ? L - j0 : KB;
            lam_gemm(false, true, nq, nk, dkd, scale, qh + t0 * ldk, (int)ldk, kh + j0 * ldk,
                     (int)ldk, 0.0f, p, nk);
            probs_block(a, b, t0, nq, j0, nk, uniform, lh + t0, p);
            const float *pp = p;
            if (a->rate > 0.0f) {
                dropout_block(a, b, h, t0, nq, j0, nk, p, z, pd);
                pp = pd;
            }
            /* dv_J += p'^T dout;  ds = dL/dp' = dout v_J^T */
            lam_gemm(true, false, nk, dvd, nq, 1.0f, pp, nk, doh + t0 * ldv, (int)ldv, 1.0f,
                     dvh + j0 * ldv, (int)ldv);
            lam_gemm(false, true, nq, nk, dvd, 1.0f, doh + t0 * ldv, (int)ldv, vh + j0 * ldv,
                     (int)ldv, 0.0f, ds, nk);
            if (a->rate > 0.0f) dscores_dropout_block(nq, nk, uniform, p, z, D, ds);
            else dscores_block(nq, nk, uniform, p, D, ds);
            /* dq_R (+)= scale ds k_J (key block 0 comes first);  dk_J += scale ds^T q_R */
            lam_gemm(false, false, nq, dkd, nk, scale, ds, nk, kh + j0 * ldk, (int)ldk,
                     j0 ? 1.0f : 0.0f, dqh + t0 * ldk, (int)ldk);
            lam_gemm(true, false, nk, dkd, nq, scale, ds, nk, qh + t0 * ldk, (int)ldk, 1.0f,
                     dkh + j0 * ldk, (int)ldk);
        }
    }
}

void lam_attention_backward(const lam_attention_args *a, const float *q, const float *k,
                            const float *v, const float *o, const float *lse, const float *dout,
                            float *dq, float *dk, float *dv)
{
    const int n = a->batch * a->heads;
    #pragma omp parallel for schedule(dynamic, 1) if (worth_threads(a))
    for (int bh = 0; bh < n; bh++)
        backward_head(a, bh / a->heads, bh % a->heads, q, k, v, o, lse, dout, dq, dk, dv);
}

/* ------------------------------------------------------------ references */

int64_t lam_attention_naive_work(const lam_attention_args *a)
{
    return 2 * (int64_t)a->tq * a->s;
}

/* P [tq, s] of head h, sample b: Keras's masked softmax, where a masked
 * score becomes -1e9 (so a row without a visible key is uniform), or a row
 * without a visible key is zeroed (empty_rows_zero). */
static void naive_probs(const lam_attention_args *a, int b, int h, const float *q,
                        const float *k, double *P)
{
    const int tq = a->tq, S = a->s, dk = a->dk, ldk = a->heads * dk;
    const double scale = 1.0 / sqrt((double)dk);
    for (int t = 0; t < tq; t++) {
        double *row = P + (int64_t)t * S, mx = -INFINITY, sum = 0;
        const float *qt = q + ((int64_t)b * tq + t) * ldk + (int64_t)h * dk;
        bool seen = false;
        for (int j = 0; j < S; j++) {
            const float *kj = k + ((int64_t)b * S + j) * ldk + (int64_t)h * dk;
            double acc = 0;
            for (int d = 0; d < dk; d++) acc += (double)qt[d] * kj[d];
            seen |= sees(a, b, t, j);
            row[j] = sees(a, b, t, j) ? acc * scale : -1e9;
            mx = row[j] > mx ? row[j] : mx;
        }
        for (int j = 0; j < S; j++) sum += (row[j] = exp(row[j] - mx));
        for (int j = 0; j < S; j++) row[j] = seen || !a->empty_rows_zero ? row[j] / sum : 0.0;
    }
}

static double naive_dropout(const lam_attention_args *a, int b, int h, int t, int j)
{
    if (a->rate == 0.0f) return 1.0;
    const float keep = 1.0f - a->rate;
    return dropout_factor(dropout_row_key(a, b, h, t), j, keep, 1.0f / keep);
}

void lam_attention_forward_naive(const lam_attention_args *a, const float *q, const float *k,
                                 const float *v, float *o, double *work)
{
    const int tq = a->tq, S = a->s, dv = a->dv, ldv = a->heads * dv;
    for (int b = 0; b < a->batch; b++)
        for (int h = 0; h < a->heads; h++) {
            naive_probs(a, b, h, q, k, work);
            for (int t = 0; t < tq; t++)
                for (int e = 0; e < dv; e++) {
                    double acc = 0;
                    for (int j = 0; j < S; j++)
                        acc += work[(int64_t)t * S + j] * naive_dropout(a, b, h, t, j) *
                               v[((int64_t)b * S + j) * ldv + (int64_t)h * dv + e];
                    o[((int64_t)b * tq + t) * ldv + (int64_t)h * dv + e] = (float)acc;
                }
        }
}

void lam_attention_backward_naive(const lam_attention_args *a, const float *q, const float *k,
                                  const float *v, const float *dout, float *dq, float *dk,
                                  float *dv, double *work)
{
    const int tq = a->tq, S = a->s, dkd = a->dk, dvd = a->dv;
    const int64_t ldk = (int64_t)a->heads * dkd, ldv = (int64_t)a->heads * dvd;
    const double scale = 1.0 / sqrt((double)dkd);
    double *P = work, *dP = work + (int64_t)tq * S;
    for (int b = 0; b < a->batch; b++)
        for (int h = 0; h < a->heads; h++) {
            const float *qh = q + (int64_t)b * tq * ldk + (int64_t)h * dkd;
            const float *kh = k + (int64_t)b * S * ldk + (int64_t)h * dkd;
            const float *vh = v + (int64_t)b * S * ldv + (int64_t)h * dvd;
            const float *doh = dout + (int64_t)b * tq * ldv + (int64_t)h * dvd;
            naive_probs(a, b, h, q, k, P);
            /* dP = dL/dP (through the dropout), then the softmax backward
             * where the score was not replaced by a constant. */
            for (int t = 0; t < tq; t++) {
                double rowdot = 0;
                for (int j = 0; j < S; j++) {
                    double acc = 0;
                    for (int e = 0; e < dvd; e++) acc += (double)doh[t * ldv + e] * vh[j * ldv + e];
                    dP[(int64_t)t * S + j] = acc * naive_dropout(a, b, h, t, j);
                    rowdot += P[(int64_t)t * S + j] * dP[(int64_t)t * S + j];
                }
                for (int j = 0; j < S; j++) {
                    const int64_t i = (int64_t)t * S + j;
                    dP[i] = sees(a, b, t, j) ? P[i] * (dP[i] - rowdot) : 0.0;
                }
            }
            for (int j = 0; j < S; j++) {
                for (int e = 0; e < dvd; e++) {
                    double acc = 0;
                    for (int t = 0; t < tq; t++)
                        acc += P[(int64_t)t * S + j] * naive_dropout(a, b, h, t, j) *
                               doh[t * ldv + e];
                    dv[((int64_t)b * S + j) * ldv + (int64_t)h * dvd + e] = (float)acc;
                }
                for (int d = 0; d < dkd; d++) {
                    double acc = 0;
                    for (int t = 0; t < tq; t++) acc += dP[(int64_t)t * S + j] * qh[t * ldk + d];
                    dk[((int64_t)b * S + j) * ldk + (int64_t)h * dkd + d] = (float)(acc * scale);
                }
            }
            for (int t = 0; t < tq; t++)
                for (int d = 0; d < dkd; d++) {
                    double acc = 0;
                    for (int j = 0; j < S; j++) acc += dP[(int64_t)t * S + j] * kh[j * ldk + d];
                    dq[((int64_t)b * tq + t) * ldk + (int64_t)h * dkd + d] = (float)(acc * scale);
                }
        }
}
