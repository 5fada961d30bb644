/* embedding.h - Embedding's gather and scatter-add; the position rows of
 * PositionEmbedding and TokenAndPositionEmbedding and their gradient. */
#ifndef LAM_KERNELS_EMBEDDING_H
#define LAM_KERNELS_EMBEDDING_H

#include <stdbool.h>
#include <stdint.h>

/* The row an id names, or -1. The range is tested on the float before the
 * cast, so a NaN or a huge id never reaches an undefined conversion;
 * (-1, 0) truncates to row 0, as Keras's cast to int32 does. */
static inline int64_t lam_embedding_row(float id, int64_t rows)
{
    return id > -1.0f && id < (float)rows ? (int64_t)id : -1;
}

/* y[i, :] = table[ids[i], :] for n ids, each a float holding an integer
 * (truncated toward zero, as a cast to int32 does); an id outside
 * [0, rows) gives a row of zeros. table is [rows, dim]. */
void lam_embedding_gather(const float *ids, int64_t n, const float *table, int64_t rows,
                          int64_t dim, float *y);
/* dtable := 0, then dtable[ids[i], :] += dy[i, :] in the order of i, so the
 * sum is the same whatever the threads; out-of-range ids add nothing. */
void lam_embedding_scatter(const float *ids, int64_t n, const float *dy, int64_t rows,
                           int64_t dim, float *dtable);
/* Rows start .. start + T - 1 of table [rows, dim], repeated `copies` times:
 * y [copies, T, dim] := (accumulate: +=) those rows. A row past the table
 * gives zeros (adds nothing): callers refuse such positions before. */
void lam_position_rows(const float *table, int64_t rows, int64_t dim, int64_t start, int64_t T,
                       int64_t copies, bool accumulate, float *y);
/* dtable := 0, then dtable[start + t, :] += dy[c, t, :] for every copy c in
 * order (the same sum whatever the threads). */
void lam_position_rows_grad(const float *dy, int64_t copies, int64_t T, int64_t dim,
                            int64_t start, int64_t rows, float *dtable);

#endif
