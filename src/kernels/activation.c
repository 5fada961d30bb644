/* activation.c - elementwise activations and their derivatives, written in
 * terms of the output y so the backward pass needs no extra buffer. */
#include "kernels/activation.h"

#include <math.h>
#include <string.h>

static float sigmoidf(float z)
{
    /* Split by sign so exp never overflows. */
    if (z >= 0) return 1.0f / (1.0f + expf(-z));
    float e = expf(z);
    return e / (1.0f + e);
}

void lam_bias_act_forward(lam_activation act, float *y, const float *bias, int64_t rows,
                          int64_t cols)
{
    #pragma omp parallel for schedule(static) if (rows * cols > 32768)
    for (int64_t r = 0; r < rows; r++) {
        float *row = y + r * cols;
        if (bias)
            for (int64_t j = 0; j < cols; j++) row[j] += bias[j];
        switch (act) {
        case LAM_ACT_RELU:
            for (int64_t j = 0; j < cols; j++) row[j] = row[j] > 0 ? row[j] : 0;
            break;
        case LAM_ACT_SIGMOID:
            for (int64_t j = 0; j < cols; j++) row[j] = sigmoidf(row[j]);
            break;
        case LAM_ACT_TANH:
            for (int64_t j = 0; j < cols; j++) row[j] = tanhf(row[j]);
            break;
        case LAM_ACT_SOFTMAX: {
            float mx = row[0];
            for (int64_t j = 1; j < cols; j++) mx = row[j] > mx ? row[j] : mx;
            double s = 0;
            for (int64_t j = 0; j < cols; j++) {
                row[j] = expf(row[j] - mx);
                s += row[j];
            }
            float inv = (float)(1.0 / s);
            for (int64_t j = 0; j < cols; j++) row[j] *= inv;
            break;
        }
        default:
            break;
        }
    }
}

void lam_act_backward(lam_activation act, const float *y, float *dy, int64_t rows, int64_t cols)
{
    if (act == LAM_ACT_LINEAR) return;
    #pragma omp parallel for schedule(static) if (rows * cols > 32768)
    for (int64_t r = 0; r < rows; r++) {
        const float *yr = y + r * cols;
        float *d = dy + r * cols;
        switch (act) {
        case LAM_ACT_RELU:
            for (int64_t j = 0; j < cols; j++) d[j] = yr[j] > 0 ? d[j] : 0;
            break;
        case LAM_ACT_SIGMOID:
            for (int64_t j = 0; j < cols; j++) d[j] *= yr[j] * (1 - yr[j]);
            break;
        case LAM_ACT_TANH:
            for (int64_t j = 0; j < cols; j++) d[j] *= 1 - yr[j] * yr[j];
            break;
        case LAM_ACT_SOFTMAX: {
            /* dz = y * (dy - sum(dy * y)) */
            double s = 0;
            for (int64_t j = 0; j < cols; j++) s += (double)d[j] * yr[j];
            for (int64_t j = 0; j < cols; j++) d[j] = yr[j] * (d[j] - (float)s);
            break;
        }
        default:
            break;
        }
    }
}

void lam_bias_grad(const float *dz, int64_t rows, int64_t cols, float *db)
{
    /* Sum over rows in a fixed order so the result does not depend on threads. */
    memset(db, 0, sizeof(float) * (size_t)cols);
    for (int64_t r = 0; r < rows; r++) {
        const float *d = dz + r * cols;
        for (int64_t j = 0; j < cols; j++) db[j] += d[j];
    }
}
