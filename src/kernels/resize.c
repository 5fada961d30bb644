/* resize.c - zero padding and nearest upsampling: copies of channel rows,
 * threads across the batch. */
#include "kernels/resize.h"

#include "kernels/kernels.h"

#include <string.h>

#define RESIZE_PARALLEL_MIN 32768

void lam_zero_pad2d(int64_t N, int64_t H, int64_t W, int64_t C, int top, int bottom, int left,
                    int right, const float *in, float *out)
{
    const int64_t OH = H + top + bottom, OW = W + left + right;
    #pragma omp parallel for schedule(static) if (N > 1 && N * OH * OW * C >= RESIZE_PARALLEL_MIN)
    for (int64_t n = 0; n < N; n++) {
        float *y = out + n * OH * OW * C;
        const float *x = in + n * H * W * C;
        memset(y, 0, sizeof(float) * (size_t)(top * OW * C));
        for (int64_t h = 0; h < H; h++) {
            float *row = y + (top + h) * OW * C;
            memset(row, 0, sizeof(float) * (size_t)(left * C));
            memcpy(row + left * C, x + h * W * C, sizeof(float) * (size_t)(W * C));
            memset(row + (left + W) * C, 0, sizeof(float) * (size_t)(right * C));
        }
        memset(y + (top + H) * OW * C, 0, sizeof(float) * (size_t)(bottom * OW * C));
    }
}

void lam_zero_pad2d_backward(int64_t N, int64_t H, int64_t W, int64_t C, int top, int bottom,
                             int left, int right, const float *dy, float *dx)
{
    const int64_t OH = H + top + bottom, OW = W + left + right;
    #pragma omp parallel for schedule(static) if (N > 1 && N * OH * OW * C >= RESIZE_PARALLEL_MIN)
    for (int64_t n = 0; n < N; n++)
        for (int64_t h = 0; h < H; h++)
            memcpy(dx + (n * H + h) * W * C, dy + ((n * OH + top + h) * OW + left) * C,
                   sizeof(float) * (size_t)(W * C));
}

void lam_upsample2d(int64_t N, int64_t H, int64_t W, int64_t C, int sh, int sw, const float *in,
                    float *out)
{
    const int64_t OW = W * sw, row = OW * C;
    #pragma omp parallel for schedule(static) if (N > 1 && N * H * sh * row >= RESIZE_PARALLEL_MIN)
    for (int64_t n = 0; n < N; n++)
        for (int64_t h = 0; h < H; h++) {
            const float *x = in + (n * H + h) * W * C;
            float *y = out + (n * H + h) * sh * row;
            for (int64_t w = 0; w < W; w++)
                for (int j = 0; j < sw; j++)
                    memcpy(y + (w * sw + j) * C, x + w * C, sizeof(float) * (size_t)C);
            for (int i = 1; i < sh; i++) memcpy(y + i * row, y, sizeof(float) * (size_t)row);
        }
}

LAM_VEC static void upsample_row_backward(int64_t W, int64_t C, int sh, int sw,
                                          const float *restrict dy, float *restrict dx)
{
    const int64_t row = W * sw * C;
    for (int64_t w = 0; w < W; w++) {
        float *d = dx + w * C;
        for (int64_t c = 0; c < C; c++) d[c] = 0.0f;
        /* A fixed order: rows of the block, then columns. */
        for (int i = 0; i < sh; i++)
            for (int j = 0; j < sw; j++) {
                const float *g = dy + i * row + (w * sw + j) * C;
                for (int64_t c = 0; c < C; c++) d[c] += g[c];
            }
    }
}

void lam_upsample2d_backward(int64_t N, int64_t H, int64_t W, int64_t C, int sh, int sw,
                             const float *dy, float *dx)
{
    const int64_t row = W * sw * C;
    #pragma omp parallel for schedule(static) if (N > 1 && N * H * sh * row >= RESIZE_PARALLEL_MIN)
    for (int64_t n = 0; n < N; n++)
        for (int64_t h = 0; h < H; h++)
            upsample_row_backward(W, C, sh, sw, dy + (n * H + h) * sh * row,
                                  dx + (n * H + h) * W * C);
}
