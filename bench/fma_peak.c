/* fma_peak: measures the float32 FMA peak of this machine, the ceiling the kernels are judged
 * against. 12 independent AVX2 FMA accumulator chains (enough to hide a 4-5 cycle FMA latency on
 * two FMA ports) per thread; one thread for the per-core figure, OpenMP over all cores for the
 * machine figure. Also reports AVX-512 where the CPU has it (informational only: lamina targets
 * AVX2 + FMA).
 *
 *   build/bench/fma_peak [seconds-per-measurement]      (default 0.3)
 *
 * Prints one JSON line:
 *   {"bench":"fma_peak","avx2_fma":true,"threads":2,"gflops_per_core":..,"gflops_all_cores":..,...}
 * A FLOP is counted as 2 per FMA lane (8 lanes per AVX2 FMA). */
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define CHAINS 12
#define INNER 4096 /* FMA rounds per timing check */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static volatile float g_sink;

/* Each kernel keeps its CHAINS accumulators in named registers (an array would be spilled to the
 * stack by the empty asm barrier) and runs `rounds` rounds of CHAINS FMAs; the returned value
 * depends on every chain so nothing is optimised away. */
#define FMA_BODY(T, SET1, FMADD, ADD, RC)                                                          \
    const T a = SET1(a_in), b = SET1(b_in);                                                      \
    T c0 = SET1(0.000f), c1 = SET1(0.001f), c2 = SET1(0.002f), c3 = SET1(0.003f);                \
    T c4 = SET1(0.004f), c5 = SET1(0.005f), c6 = SET1(0.006f), c7 = SET1(0.007f);                \
    T c8 = SET1(0.008f), c9 = SET1(0.009f), c10 = SET1(0.010f), c11 = SET1(0.011f);              \
    for (long r = 0; r < rounds; r++) {                                                          \
        c0 = FMADD(c0, a, b); c1 = FMADD(c1, a, b); c2 = FMADD(c2, a, b);                         \
        c3 = FMADD(c3, a, b); c4 = FMADD(c4, a, b); c5 = FMADD(c5, a, b);                         \
        c6 = FMADD(c6, a, b); c7 = FMADD(c7, a, b); c8 = FMADD(c8, a, b);                         \
        c9 = FMADD(c9, a, b); c10 = FMADD(c10, a, b); c11 = FMADD(c11, a, b);                     \
        __asm__ volatile("" : "+" RC(c0), "+" RC(c1), "+" RC(c2), "+" RC(c3), "+" RC(c4),         \
                         "+" RC(c5), "+" RC(c6), "+" RC(c7), "+" RC(c8), "+" RC(c9), "+" RC(c10), \
                         "+" RC(c11));                                                            \
    }                                                                                            \
    T s = ADD(ADD(ADD(c0, c1), ADD(c2, c3)), ADD(ADD(c4, c5), ADD(c6, c7)));                      \
    s = ADD(s, ADD(ADD(c8, c9), ADD(c10, c11)));

#define RC_X(v) "x"(v)
#define RC_V(v) "v"(v)

__attribute__((target("avx2,fma"), noinline)) static float fma_avx2(long rounds, float a_in, float b_in) {
    FMA_BODY(__m256, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_add_ps, RC_X)
    float out[8];
    _mm256_storeu_ps(out, s);
    return out[0] + out[7];
}

__attribute__((target("avx512f"), noinline)) static float fma_avx512(long rounds, float a_in, float b_in) {
    FMA_BODY(__m512, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_add_ps, RC_V)
    return _mm512_reduce_add_ps(s);
}

typedef float (*kernel_fn)(long, float, float);

/* Runs the kernel for about `secs` seconds on the calling thread; returns GFLOP/s. */
static double measure_one(kernel_fn fn, int lanes, double secs) {
    volatile float a = 0.9999999f, b = 1e-7f;
    double t0 = now_s(), t;
    long rounds = 0;
    float sink = 0.0f;
    do {
        sink += fn(INNER, a, b);
        rounds += INNER;
        t = now_s();
    } while (t - t0 < secs);
    g_sink = sink;
    return (double)rounds * CHAINS * lanes * 2.0 / (t - t0) / 1e9;
}

/* Best of `reps` runs of ~secs each: single thread, or every OpenMP thread at once (summed). */
static double measure(kernel_fn fn, int lanes, double secs, int all, int reps) {
    double best = 0.0;
    for (int r = 0; r < reps; r++) {
        double total = 0.0;
        if (all) {
#pragma omp parallel reduction(+ : total)
            total += measure_one(fn, lanes, secs);
        } else {
            total = measure_one(fn, lanes, secs);
        }
        if (total > best) best = total;
    }
    return best;
}

int main(int argc, char **argv) {
    double secs = argc > 1 ? atof(argv[1]) : 0.3;
    if (!(secs > 0.0)) secs = 0.3;
    __builtin_cpu_init();
    int has_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    int has_avx512 = __builtin_cpu_supports("avx512f");
    int threads = omp_get_max_threads();
    if (!has_avx2) {
        printf("{\"bench\":\"fma_peak\",\"avx2_fma\":false,\"threads\":%d}\n", threads);
        return 0;
    }
    measure_one(fma_avx2, 8, 0.05); /* warm up clocks */
    double one = measure(fma_avx2, 8, secs, 0, 3);
    double all = measure(fma_avx2, 8, secs, 1, 3);
    printf("{\"bench\":\"fma_peak\",\"avx2_fma\":true,\"chains\":%d,\"threads\":%d,"
           "\"gflops_per_core\":%.1f,\"gflops_all_cores\":%.1f",
           CHAINS, threads, one, all);
    if (has_avx512) {
        double one512 = measure(fma_avx512, 16, secs, 0, 3);
        double all512 = measure(fma_avx512, 16, secs, 1, 3);
        printf(",\"avx512_gflops_per_core\":%.1f,\"avx512_gflops_all_cores\":%.1f", one512, all512);
    }
    printf("}\n");
    return 0;
}
