/* bench_common.h - what the C benchmarks share: the clocks, the median of a
 * set of timings, and the seed CNN's layers (with bench_add_conv2d, so that
 * LAM_CONV_ALGO forces the convolutions' family in every benchmark). */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include "bench_conv_algo.h"

#include <stdlib.h>
#include <time.h>

/* Wall-clock seconds (monotonic). */
static inline double bench_wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU seconds of the process, all threads: on a shared machine, the time
 * that other jobs do not inflate. */
static inline double bench_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of v[0..n) (sorts v). */
static inline double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* The seed CNN up to its last hidden layer: input (side, side, 1),
 * Conv2D(32, 3x3, relu), MaxPool(2), Conv2D(64, 3x3, relu), MaxPool(2),
 * Flatten, Dense(64, relu). The caller adds the output layer. */
static inline lam_status bench_add_seed_cnn_body(lam_model *m, int side)
{
    lam_status s = lam_model_add_input(m, 3, (int64_t[]){side, side, 1});
    if (!s) s = bench_add_conv2d(m, 32, 3, 3, LAM_ACT_RELU);
    if (!s) s = lam_model_add_maxpool2d(m, 2, 2);
    if (!s) s = bench_add_conv2d(m, 64, 3, 3, LAM_ACT_RELU);
    if (!s) s = lam_model_add_maxpool2d(m, 2, 2);
    if (!s) s = lam_model_add_flatten(m);
    if (!s) s = lam_model_add_dense(m, 64, LAM_ACT_RELU);
    return s;
}

#endif
