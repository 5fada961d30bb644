/* attention.h - multi-head scaled dot-product attention, fused (compute
 * only, no model knowledge).
 *
 * Layout, as the projections produce it (rows of heads * dim):
 *   q [batch, tq, heads, dk]   k [batch, s, heads, dk]   v [batch, s, heads, dv]
 *   o [batch, tq, heads, dv]   lse [batch, heads, tq]
 * o[b, t, h] = sum_j P[t, j] v[b, j, h] with P = softmax_j(q[b, t, h] . k[b, j, h] / sqrt(dk))
 * over the keys j that query t may see, then dropout on P.
 *
 * Masks, all optional and combined with AND: causal (query t sees keys
 * j <= t + offset), a query mask [batch, tq] (0: the row sees nothing), a key
 * mask [batch, s] (0: key j is hidden from every query) and a full mask
 * [batch, tq, s] (0: key j is hidden from query t); a mask value is "keep"
 * when it is not 0, as Keras casts masks to bool. Masked keys weigh exactly 0.
 * A row that sees no key at all is Keras's: its masked scores all become
 * -1e9 and softmax spreads it evenly, so it is the average of all s values
 * (dropped out like any other row), and no gradient reaches its scores;
 * with empty_rows_zero it weighs nothing instead (o row 0), which is what
 * Keras 3.15 computes for a layer with dropout > 0 (its Softmax layer zeroes
 * masked weights; without dropout it takes dot_product_attention, uniform).
 *
 * Memory: forward keeps one number per row, lse = max + log(sum of exp), for
 * backward, which recomputes the probabilities block by block (as flash
 * attention does); no tq x s matrix outlives a call. Dropout keeps nothing
 * either: whether P[t, j] is dropped is a hash of (seed, b, h, t, j),
 * recomputed by backward. The fast kernels allocate nothing: blocks of at
 * most 32 x 64 scores live on each thread's stack. */
#ifndef LAM_KERNELS_ATTENTION_H
#define LAM_KERNELS_ATTENTION_H

#include <stdbool.h>
#include <stdint.h>

typedef struct lam_attention_args {
    int batch, tq, s, heads, dk, dv;
    bool causal;            /* query t sees keys j <= t + offset */
    int offset;             /* >= 0: the sequence position of query 0 (a decoder's step) */
    const float *query_mask; /* [batch, tq], or NULL */
    const float *key_mask;  /* [batch, s], or NULL */
    const float *mask;      /* [batch, tq, s], or NULL */
    float rate;             /* dropout on the probabilities, [0, 1): kept ones scaled 1/(1-rate) */
    uint64_t seed;          /* which dropout draw (rate > 0) */
    int64_t batch_offset;   /* sample 0's position in the whole batch (data-parallel ranks
                             * compute slices of it): the draw depends on that position */
    bool empty_rows_zero;   /* a row that sees no key weighs nothing (else every key evenly) */
} lam_attention_args;

/* o from q, k, v; lse [batch, heads, tq] for backward (NULL: not kept).
 * OpenMP over batch x heads; the bits do not depend on the thread count. */
void lam_attention_forward(const lam_attention_args *a, const float *q, const float *k,
                           const float *v, float *o, float *lse);
/* dq, dk, dv (written, not accumulated) from dout = dL/do, with the o and
 * lse of the forward of the same arguments. */
void lam_attention_backward(const lam_attention_args *a, const float *q, const float *k,
                            const float *v, const float *o, const float *lse, const float *dout,
                            float *dq, float *dk, float *dv);

/* The references: scores materialised in double per head, masked as Keras
 * does (-1e9), softmax, dropout, products; backward recomputes everything
 * from q, k, v. work: lam_attention_naive_work(a) doubles. */
int64_t lam_attention_naive_work(const lam_attention_args *a);
void lam_attention_forward_naive(const lam_attention_args *a, const float *q, const float *k,
                                 const float *v, float *o, double *work);
void lam_attention_backward_naive(const lam_attention_args *a, const float *q, const float *k,
                                  const float *v, const float *dout, float *dq, float *dk,
                                  float *dv, double *work);

#endif
