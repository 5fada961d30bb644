/* embedding.h - Embedding's gather and scatter-add. */
#ifndef LAM_KERNELS_EMBEDDING_H
#define LAM_KERNELS_EMBEDDING_H

#include <stdint.h>

/* y[i, :] = table[ids[i], :] for n ids, each a float holding an integer
 * (truncated toward zero, as a cast to int32 does); an id outside
 * [0, rows) gives a row of zeros. table is [rows, dim]. */
void lam_embedding_gather(const float *ids, int64_t n, const float *table, int64_t rows,
                          int64_t dim, float *y);
/* dtable := 0, then dtable[ids[i], :] += dy[i, :] in the order of i, so the
 * sum is the same whatever the threads; out-of-range ids add nothing. */
void lam_embedding_scatter(const float *ids, int64_t n, const float *dy, int64_t rows,
                           int64_t dim, float *dtable);

#endif
