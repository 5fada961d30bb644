/* gemm.c - matrix products.
 *
 * lam_gemm is a packed GEMM in the BLIS/Goto style:
 *
 *   for jc over N in steps of NC            (B panel sized for L3)
 *     for pc over K in steps of kc          (kc chosen once from K alone)
 *       pack B[pc:pc+kc, jc:jc+nc] into NR-wide micro-panels
 *       for ic over M in steps of MC        (A block sized for L2)
 *         A[ic:ic+mc, pc:pc+kc]: read in place through (row, k) strides,
 *           or packed into MR-tall micro-panels (see use_a_in_place)
 *         for jr over nc in steps of NR     (one B micro-panel stays in L1)
 *           for ir over mc in steps of MR
 *             micro-kernel: MR x NR tile of C += A micro-panel . B micro-panel
 *
 * Packing B turns both B layouts into one contiguous, aligned layout, and
 * zero-pads partial panels so the micro-kernel never needs bounds checks.
 * A needs no transpose to be fed to the kernel (it broadcasts one element
 * per row and k), so full row panels are usually read where they lie, which
 * matters when N is small (N = 64: packing A would cost ~25% of the time);
 * ragged last row panels are packed, zero-padded.
 *
 * Determinism: every element of C is produced by the same sequence of
 * floating-point operations whatever the thread count: the K blocking
 * depends on K only, each kc-long dot product is one chain of FMAs in k
 * order inside the micro-kernel, and edge tiles go through the very same
 * micro-kernel (into a scratch tile) as interior ones. Threads only split
 * the output into rectangles; the K reduction is never split.
 *
 * The micro-kernel is chosen once at run time: AVX-512F (Zen 4 and later /
 * Skylake-X), AVX2+FMA, or a portable C kernel that the compiler may
 * auto-vectorise for the baseline ISA. The choice is process-wide, so it
 * never varies between calls or threads. */
#include "kernels.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define LAM_GEMM_X86 1
#endif

void lam_gemm_naive(bool trans_a, bool trans_b, int M, int N, int K, float alpha,
                    const float *A, int lda, const float *B, int ldb, float beta, float *C,
                    int ldc)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double acc = 0;
            for (int k = 0; k < K; k++) {
                float a = trans_a ? A[(int64_t)k * lda + i] : A[(int64_t)i * lda + k];
                float b = trans_b ? B[(int64_t)j * ldb + k] : B[(int64_t)k * ldb + j];
                acc += (double)a * b;
            }
            float *c = &C[(int64_t)i * ldc + j];
            *c = (float)(alpha * acc + (beta == 0.0f ? 0.0 : (double)beta * *c));
        }
}

/* ------------------------------------------------------------------------ */
/* Blocking parameters.                                                      */

/* Largest tile any kernel uses; sizes the on-stack scratch for edge tiles. */
#define LAM_MR_MAX 16
#define LAM_NR_MAX 32
/* kc: a B micro-panel (kc x NR floats = 24 KiB at NR=16) stays in the 32 KiB
 * L1 while A micro-panels stream past it. */
#define LAM_KC_MAX 384
/* mc*kc floats of packed A (~216 KiB at 144x384) sit in the 1 MiB L2. */
#define LAM_MC_MAX 144
/* kc*nc floats of packed B (~3 MiB) sit in L3. */
#define LAM_NC_MAX 2048

/* C[0:MR,0:NR] (row stride ldc) = alpha * a.b + beta * C, where element
 * (r, k) of the A micro-panel is a[r*rsa + k*csa] and b is a packed kc x NR
 * micro-panel (NR floats per k). Packed A has rsa = 1, csa = MR; A used in
 * place has rsa = lda, csa = 1 (or rsa = 1, csa = lda when transposed).
 * beta == 0 must not read C. */
typedef void (*lam_ukernel_fn)(int kc, const float *a, int64_t rsa, int64_t csa, const float *b,
                               float *c, int64_t ldc, float alpha, float beta);

typedef enum { LAM_ISA_GENERIC, LAM_ISA_AVX2, LAM_ISA_AVX512 } lam_gemm_isa;

typedef struct {
    int mr, nr;       /* tile shape */
    int mc;           /* rows of A per L2 block, a multiple of mr */
    lam_ukernel_fn fn;
    lam_gemm_isa isa; /* the instruction set of fn, for the few-rows path */
} lam_gemm_kernel;

/* ------------------------------------------------------------------------ */
/* Portable micro-kernel: 4 x 16 with a small accumulator array the compiler
 * keeps in vector registers when it can. Used on CPUs without AVX2+FMA. */

#define GEN_MR 4
#define GEN_NR 16
static void ukernel_generic(int kc, const float *restrict a, int64_t rsa, int64_t csa,
                            const float *restrict b, float *restrict c, int64_t ldc, float alpha,
                            float beta)
{
    float acc[GEN_MR][GEN_NR] = {{0}};
    for (int k = 0; k < kc; k++) {
        for (int r = 0; r < GEN_MR; r++) {
            float ar = a[r * rsa];
            for (int j = 0; j < GEN_NR; j++) acc[r][j] += ar * b[j];
        }
        a += csa;
        b += GEN_NR;
    }
    for (int r = 0; r < GEN_MR; r++) {
        float *cr = c + r * ldc;
        if (beta == 0.0f)
            for (int j = 0; j < GEN_NR; j++) cr[j] = alpha * acc[r][j];
        else
            for (int j = 0; j < GEN_NR; j++) cr[j] = alpha * acc[r][j] + beta * cr[j];
    }
}

#ifdef LAM_GEMM_X86
/* ------------------------------------------------------------------------ */
/* AVX2+FMA micro-kernel: 6 x 16. Twelve ymm accumulators cover the 4-cycle
 * FMA latency on two FMA pipes (8 independent chains needed), and each k
 * step costs 2 B loads + 6 broadcasts for 12 FMAs, within the load ports. */

#define AVX2_MR 6
#define AVX2_NR 16

__attribute__((target("avx2,fma")))
static void ukernel_avx2(int kc, const float *restrict a, int64_t rsa, int64_t csa,
                         const float *restrict b, float *restrict c, int64_t ldc, float alpha,
                         float beta)
{
    /* Rows 0-2 hang off a, rows 3-5 off a + 3*rsa, so every broadcast is a
     * base + index addressing mode and only one pointer walks along k. */
    const int64_t rs2 = 2 * rsa, rs3 = 3 * rsa;
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    for (int k = 0; k < kc; k++) {
        __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
        __m256 ar;
        ar = _mm256_broadcast_ss(a + 0);
        c00 = _mm256_fmadd_ps(ar, b0, c00); c01 = _mm256_fmadd_ps(ar, b1, c01);
        ar = _mm256_broadcast_ss(a + rsa);
        c10 = _mm256_fmadd_ps(ar, b0, c10); c11 = _mm256_fmadd_ps(ar, b1, c11);
        ar = _mm256_broadcast_ss(a + rs2);
        c20 = _mm256_fmadd_ps(ar, b0, c20); c21 = _mm256_fmadd_ps(ar, b1, c21);
        ar = _mm256_broadcast_ss(a + rs3);
        c30 = _mm256_fmadd_ps(ar, b0, c30); c31 = _mm256_fmadd_ps(ar, b1, c31);
        ar = _mm256_broadcast_ss(a + rs3 + rsa);
        c40 = _mm256_fmadd_ps(ar, b0, c40); c41 = _mm256_fmadd_ps(ar, b1, c41);
        ar = _mm256_broadcast_ss(a + rs3 + rs2);
        c50 = _mm256_fmadd_ps(ar, b0, c50); c51 = _mm256_fmadd_ps(ar, b1, c51);
        a += csa;
        b += AVX2_NR;
    }
    const __m256 va = _mm256_set1_ps(alpha);
    /* Store one row: alpha*acc, plus beta*C only when beta != 0 so that a
     * NaN already in C is never read when it must be ignored. */
#define AVX2_STORE_ROW(r, x0, x1)                                                      \
    do {                                                                             \
        float *cr = c + (r) * ldc;                                                   \
        __m256 y0 = _mm256_mul_ps(va, x0), y1 = _mm256_mul_ps(va, x1);               \
        if (beta != 0.0f) {                                                          \
            const __m256 vb = _mm256_set1_ps(beta);                                  \
            y0 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(cr), y0);                       \
            y1 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(cr + 8), y1);                   \
        }                                                                            \
        _mm256_storeu_ps(cr, y0);                                                    \
        _mm256_storeu_ps(cr + 8, y1);                                                \
    } while (0)
    AVX2_STORE_ROW(0, c00, c01);
    AVX2_STORE_ROW(1, c10, c11);
    AVX2_STORE_ROW(2, c20, c21);
    AVX2_STORE_ROW(3, c30, c31);
    AVX2_STORE_ROW(4, c40, c41);
    AVX2_STORE_ROW(5, c50, c51);
#undef AVX2_STORE_ROW
}

/* ------------------------------------------------------------------------ */
/* AVX-512F micro-kernel: 8 x 32. Sixteen zmm accumulators (of 32 registers);
 * each k step is 2 B loads + 8 broadcasts for 16 FMAs. MR = 8 also divides
 * every M the networks use (32, 288, 896, 1600, 3872, 21632), so no rows of
 * work are wasted on zero padding as with 6-row tiles. */

#define AVX512_MR 8
#define AVX512_NR 32

__attribute__((target("avx512f")))
static void ukernel_avx512(int kc, const float *restrict a, int64_t rsa, int64_t csa,
                           const float *restrict b, float *restrict c, int64_t ldc, float alpha,
                           float beta)
{
    const int64_t rs2 = 2 * rsa, rs3 = 3 * rsa, rs4 = 4 * rsa;
    const float *a4 = a + rs4; /* rows 4-7 hang off a second base */
    __m512 c00 = _mm512_setzero_ps(), c01 = _mm512_setzero_ps();
    __m512 c10 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps();
    __m512 c20 = _mm512_setzero_ps(), c21 = _mm512_setzero_ps();
    __m512 c30 = _mm512_setzero_ps(), c31 = _mm512_setzero_ps();
    __m512 c40 = _mm512_setzero_ps(), c41 = _mm512_setzero_ps();
    __m512 c50 = _mm512_setzero_ps(), c51 = _mm512_setzero_ps();
    __m512 c60 = _mm512_setzero_ps(), c61 = _mm512_setzero_ps();
    __m512 c70 = _mm512_setzero_ps(), c71 = _mm512_setzero_ps();
    for (int k = 0; k < kc; k++) {
        __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
        __m512 ar;
#define AVX512_ROW(p, x0, x1)                                                          \
        ar = _mm512_set1_ps(*(p));                                                   \
        x0 = _mm512_fmadd_ps(ar, b0, x0);                                            \
        x1 = _mm512_fmadd_ps(ar, b1, x1)
        AVX512_ROW(a, c00, c01);
        AVX512_ROW(a + rsa, c10, c11);
        AVX512_ROW(a + rs2, c20, c21);
        AVX512_ROW(a + rs3, c30, c31);
        AVX512_ROW(a4, c40, c41);
        AVX512_ROW(a4 + rsa, c50, c51);
        AVX512_ROW(a4 + rs2, c60, c61);
        AVX512_ROW(a4 + rs3, c70, c71);
#undef AVX512_ROW
        a += csa;
        a4 += csa;
        b += AVX512_NR;
    }
    const __m512 va = _mm512_set1_ps(alpha);
#define AVX512_STORE_ROW(r, x0, x1)                                                    \
    do {                                                                             \
        float *cr = c + (r) * ldc;                                                   \
        __m512 y0 = _mm512_mul_ps(va, x0), y1 = _mm512_mul_ps(va, x1);               \
        if (beta != 0.0f) {                                                          \
            const __m512 vb = _mm512_set1_ps(beta);                                  \
            y0 = _mm512_fmadd_ps(vb, _mm512_loadu_ps(cr), y0);                       \
            y1 = _mm512_fmadd_ps(vb, _mm512_loadu_ps(cr + 16), y1);                  \
        }                                                                            \
        _mm512_storeu_ps(cr, y0);                                                    \
        _mm512_storeu_ps(cr + 16, y1);                                               \
    } while (0)
    AVX512_STORE_ROW(0, c00, c01);
    AVX512_STORE_ROW(1, c10, c11);
    AVX512_STORE_ROW(2, c20, c21);
    AVX512_STORE_ROW(3, c30, c31);
    AVX512_STORE_ROW(4, c40, c41);
    AVX512_STORE_ROW(5, c50, c51);
    AVX512_STORE_ROW(6, c60, c61);
    AVX512_STORE_ROW(7, c70, c71);
#undef AVX512_STORE_ROW
}
#endif /* LAM_GEMM_X86 */

/* ------------------------------------------------------------------------ */
/* Kernel selection, once per process. */

#ifdef LAM_GEMM_X86
static bool have_avx2_fma(void)
{
    static _Atomic int state; /* 0 unknown, 1 no, 2 yes */
    int s = state;
    if (!s) {
        __builtin_cpu_init();
        s = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 2 : 1;
        state = s;
    }
    return s == 2;
}
#endif

/* The best kernel this CPU runs, of the instruction sets up to `most`. */
static lam_gemm_kernel select_kernel(lam_gemm_limit_isa most)
{
    lam_gemm_kernel k = {GEN_MR, GEN_NR, (LAM_MC_MAX / GEN_MR) * GEN_MR, ukernel_generic,
                         LAM_ISA_GENERIC};
    if (most == LAM_GEMM_GENERIC) return k;
#ifdef LAM_GEMM_X86
    if (most == LAM_GEMM_BEST && have_avx2_fma() && __builtin_cpu_supports("avx512f")) {
        k.mr = AVX512_MR;
        k.nr = AVX512_NR;
        k.mc = (LAM_MC_MAX / AVX512_MR) * AVX512_MR;
        k.fn = ukernel_avx512;
        k.isa = LAM_ISA_AVX512;
    } else if (have_avx2_fma()) {
        k.mr = AVX2_MR;
        k.nr = AVX2_NR;
        k.mc = (LAM_MC_MAX / AVX2_MR) * AVX2_MR;
        k.fn = ukernel_avx2;
        k.isa = LAM_ISA_AVX2;
    }
#endif
    return k;
}

static lam_gemm_kernel chosen_kernel;
static pthread_once_t chosen_once = PTHREAD_ONCE_INIT;
static void choose_kernel_once(void) { chosen_kernel = select_kernel(LAM_GEMM_BEST); }

void lam_gemm_limit(lam_gemm_limit_isa most)
{
    pthread_once(&chosen_once, choose_kernel_once);
    chosen_kernel = select_kernel(most);
}

static const lam_gemm_kernel *gemm_kernel(void)
{
    pthread_once(&chosen_once, choose_kernel_once);
    return &chosen_kernel;
}

#ifdef LAM_GEMM_X86
/* Transpose-pack one full panel of B^T: rows src[c*ldb + k] for c < nr
 * (a multiple of 8) become dst[k*nr + c]. Works on 8 x 8 blocks with the
 * usual unpack/shuffle/permute transpose; a scalar loop finishes k. */
__attribute__((target("avx2")))
static void pack_bt_avx2(const float *src, int64_t ldb, int kc, int nr, float *dst)
{
    int k = 0;
    for (; k + 8 <= kc; k += 8) {
        for (int c0 = 0; c0 < nr; c0 += 8) {
            const float *s = src + (int64_t)c0 * ldb + k;
            __m256 r0 = _mm256_loadu_ps(s), r1 = _mm256_loadu_ps(s + ldb);
            __m256 r2 = _mm256_loadu_ps(s + 2 * ldb), r3 = _mm256_loadu_ps(s + 3 * ldb);
            __m256 r4 = _mm256_loadu_ps(s + 4 * ldb), r5 = _mm256_loadu_ps(s + 5 * ldb);
            __m256 r6 = _mm256_loadu_ps(s + 6 * ldb), r7 = _mm256_loadu_ps(s + 7 * ldb);
            __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
            __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
            __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
            __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
            __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
            __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
            __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
            __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
            float *d = dst + (int64_t)k * nr + c0;
            _mm256_store_ps(d + 0 * nr, _mm256_permute2f128_ps(u0, u4, 0x20));
            _mm256_store_ps(d + 1 * nr, _mm256_permute2f128_ps(u1, u5, 0x20));
            _mm256_store_ps(d + 2 * nr, _mm256_permute2f128_ps(u2, u6, 0x20));
            _mm256_store_ps(d + 3 * nr, _mm256_permute2f128_ps(u3, u7, 0x20));
            _mm256_store_ps(d + 4 * nr, _mm256_permute2f128_ps(u0, u4, 0x31));
            _mm256_store_ps(d + 5 * nr, _mm256_permute2f128_ps(u1, u5, 0x31));
            _mm256_store_ps(d + 6 * nr, _mm256_permute2f128_ps(u2, u6, 0x31));
            _mm256_store_ps(d + 7 * nr, _mm256_permute2f128_ps(u3, u7, 0x31));
        }
    }
    for (; k < kc; k++)
        for (int c = 0; c < nr; c++) dst[(int64_t)k * nr + c] = src[(int64_t)c * ldb + k];
}
#endif

/* ------------------------------------------------------------------------ */
/* Packing. */

typedef struct {
    bool ta, tb;
    int M, N, K;
    float alpha, beta;
    const float *A, *B;
    int64_t lda, ldb, ldc;
    float *C;
} gemm_args;

/* One micro-panel row: mr or nr floats. The sizes the kernels use are
 * constants here, so the copy compiles to a few vector moves; a libc
 * memcpy call per row cost 7% of a char-GPT training step (perf, Zen 4). */
static inline void copy_row(float *restrict dst, const float *restrict src, int n)
{
    switch (n) {
    case 6: memcpy(dst, src, 6 * sizeof(float)); break;
    case 8: memcpy(dst, src, 8 * sizeof(float)); break;
    case 16: memcpy(dst, src, 16 * sizeof(float)); break;
    case 32: memcpy(dst, src, 32 * sizeof(float)); break;
    default: memcpy(dst, src, sizeof(float) * (size_t)n); break;
    }
}

/* Pack op(A)[i0:i0+mc, k0:k0+kc] as ceil(mc/mr) micro-panels, each kc steps
 * of mr consecutive floats; rows past mc are zero. */
static void pack_a(const gemm_args *g, int i0, int mc, int k0, int kc, int mr, float *restrict dst)
{
    for (int ip = 0; ip < mc; ip += mr) {
        int rows = mc - ip < mr ? mc - ip : mr;
        if (g->ta) {
            /* A is K x M: a k-row holds consecutive i, a contiguous read. */
            const float *src = g->A + (int64_t)k0 * g->lda + i0 + ip;
            if (rows == mr) {
                for (int k = 0; k < kc; k++, src += g->lda, dst += mr) copy_row(dst, src, mr);
            } else {
                for (int k = 0; k < kc; k++, src += g->lda, dst += mr) {
                    int r = 0;
                    for (; r < rows; r++) dst[r] = src[r];
                    for (; r < mr; r++) dst[r] = 0.0f;
                }
            }
        } else {
            /* A is M x K: gather one element from each of mr rows per k. */
            for (int r = 0; r < mr; r++) {
                if (r < rows) {
                    const float *src = g->A + (int64_t)(i0 + ip + r) * g->lda + k0;
                    for (int k = 0; k < kc; k++) dst[(int64_t)k * mr + r] = src[k];
                } else {
                    for (int k = 0; k < kc; k++) dst[(int64_t)k * mr + r] = 0.0f;
                }
            }
            dst += (int64_t)kc * mr;
        }
    }
}

/* Pack op(B)[k0:k0+kc, j0:j0+nc] as ceil(nc/nr) micro-panels, each kc steps
 * of nr consecutive floats; columns past nc are zero. */
static void pack_b(const gemm_args *g, int k0, int kc, int j0, int nc, int nr, float *restrict dst)
{
    for (int jp = 0; jp < nc; jp += nr) {
        int cols = nc - jp < nr ? nc - jp : nr;
        if (!g->tb) {
            /* B is K x N: each k contributes nr contiguous floats. */
            const float *src = g->B + (int64_t)k0 * g->ldb + j0 + jp;
            if (cols == nr) {
                for (int k = 0; k < kc; k++, src += g->ldb, dst += nr) copy_row(dst, src, nr);
            } else {
                for (int k = 0; k < kc; k++, src += g->ldb, dst += nr) {
                    int c = 0;
                    for (; c < cols; c++) dst[c] = src[c];
                    for (; c < nr; c++) dst[c] = 0.0f;
                }
            }
        } else {
            /* B is N x K: the panel is a transpose of nr source rows. */
            const float *src = g->B + (int64_t)(j0 + jp) * g->ldb + k0;
#ifdef LAM_GEMM_X86
            if (cols == nr && nr % 8 == 0 && have_avx2_fma()) {
                pack_bt_avx2(src, g->ldb, kc, nr, dst);
                dst += (int64_t)kc * nr;
                continue;
            }
#endif
            /* Blocks of 8 k keep the 8 store lines and nr load streams in
             * L1 while the transpose walks them. */
            for (int kb = 0; kb < kc; kb += 8) {
                int ke = kc - kb < 8 ? kc - kb : 8;
                for (int c = 0; c < nr; c++) {
                    const float *s = src + (int64_t)c * g->ldb + kb;
                    float *d = dst + (int64_t)kb * nr + c;
                    if (c < cols)
                        for (int k = 0; k < ke; k++) d[(int64_t)k * nr] = s[k];
                    else
                        for (int k = 0; k < ke; k++) d[(int64_t)k * nr] = 0.0f;
                }
            }
            dst += (int64_t)kc * nr;
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Thread-local packing buffers, allocated on first use and grown when a
 * bigger problem arrives; they live as long as the thread (OpenMP pools keep
 * their threads), so the hot path never allocates. */

static _Thread_local float *tls_buf;
static _Thread_local size_t tls_cap; /* in floats */

static float *gemm_buffer(size_t floats)
{
    if (floats <= tls_cap) return tls_buf;
    size_t bytes = floats * sizeof(float);
    bytes = (bytes + 63) & ~(size_t)63; /* aligned_alloc wants a multiple */
    float *p = aligned_alloc(64, bytes);
    if (!p) return NULL;
    free(tls_buf);
    tls_buf = p;
    tls_cap = bytes / sizeof(float);
    return p;
}

/* kc for this K: the fewest blocks of at most LAM_KC_MAX, evened out so no
 * tiny tail block wastes a pass over C. Depends on K only (determinism). */
static int choose_kc(int K)
{
    int nblocks = (K + LAM_KC_MAX - 1) / LAM_KC_MAX;
    return (K + nblocks - 1) / nblocks;
}

static int round_up(int x, int m) { return (x + m - 1) / m * m; }

/* Floats of buffer the block driver needs for a rows x cols output block. */
static size_t block_buffer_floats(const lam_gemm_kernel *kern, int rows, int cols, int kc)
{
    int mc = rows < kern->mc ? round_up(rows, kern->mr) : kern->mc;
    int nc = cols < LAM_NC_MAX ? round_up(cols, kern->nr) : LAM_NC_MAX;
    /* A first, then B; both offsets stay 64-byte aligned since mc*kc*4 and
     * the base are rounded to 64 bytes below. */
    size_t a = (size_t)mc * kc;
    a = (a + 15) & ~(size_t)15;
    return a + (size_t)nc * kc;
}

/* Whether full row panels of A are read in place rather than packed.
 * Packing A costs about one move per element and is repaid over the nc/nr
 * micro-panels of B it meets; with few (N = 64 gives 4) it would take a
 * quarter of the time. Measured on Zen 4, in place wins for plain A at every
 * shape tried (the kernel walks 6 rows sequentially). Transposed A is read as
 * kc rows of lda stride; when that stride is a multiple of 1 KiB those rows
 * alias into few cache sets and thrash, and with many B micro-panels to
 * amortise over, packing wins (1024^3: 95 vs 80 GFLOP/s), so pack then. */
static bool use_a_in_place(const gemm_args *g, int cols, int nr)
{
    if (!g->ta) return true;
    if ((g->lda * (int64_t)sizeof(float)) % 1024 == 0) return false;
    return cols <= 8 * nr;
}

/* C[m0:m1, n0:n1] on the calling thread, using buf (block_buffer_floats). */
static void gemm_block(const gemm_args *g, const lam_gemm_kernel *kern, int m0, int m1, int n0,
                       int n1, float *buf)
{
    const int mr = kern->mr, nr = kern->nr, K = g->K;
    const int kc_full = choose_kc(K);
    int rows = m1 - m0, cols = n1 - n0;
    int mc_cap = rows < kern->mc ? round_up(rows, mr) : kern->mc;
    size_t a_floats = ((size_t)mc_cap * kc_full + 15) & ~(size_t)15;
    float *abuf = buf, *bbuf = buf + a_floats;
    const bool direct_a = use_a_in_place(g, cols, nr);

    _Alignas(64) float tile[LAM_MR_MAX * LAM_NR_MAX];

    for (int jc = n0; jc < n1; jc += LAM_NC_MAX) {
        int nc = n1 - jc < LAM_NC_MAX ? n1 - jc : LAM_NC_MAX;
        for (int pc = 0; pc < K; pc += kc_full) {
            int kc = K - pc < kc_full ? K - pc : kc_full;
            /* The first K block applies the caller's beta; later ones add. */
            float beta = pc == 0 ? g->beta : 1.0f;
            pack_b(g, pc, kc, jc, nc, nr, bbuf);
            for (int ic = m0; ic < m1; ic += kern->mc) {
                int mc = m1 - ic < kern->mc ? m1 - ic : kern->mc;
                /* Full row panels of A are read in place when that is cheap
                 * enough (see use_a_in_place); only the ragged last panel is
                 * packed, zero-padded, into abuf. */
                int mc_full = direct_a ? mc / mr * mr : 0;
                if (mc_full < mc) pack_a(g, ic + mc_full, mc - mc_full, pc, kc, mr, abuf);
                for (int jr = 0; jr < nc; jr += nr) {
                    int ncols = nc - jr < nr ? nc - jr : nr;
                    const float *bp = bbuf + (int64_t)jr * kc;
                    for (int ir = 0; ir < mc; ir += mr) {
                        int nrows = mc - ir < mr ? mc - ir : mr;
                        const float *ap;
                        int64_t rsa, csa;
                        if (ir < mc_full) {
                            int i = ic + ir;
                            if (g->ta) ap = g->A + (int64_t)pc * g->lda + i, rsa = 1, csa = g->lda;
                            else ap = g->A + (int64_t)i * g->lda + pc, rsa = g->lda, csa = 1;
                        } else {
                            ap = abuf + (int64_t)(ir - mc_full) * kc, rsa = 1, csa = mr;
                        }
                        float *c = g->C + (int64_t)(ic + ir) * g->ldc + jc + jr;
                        if (nrows == mr && ncols == nr) {
                            kern->fn(kc, ap, rsa, csa, bp, c, g->ldc, g->alpha, beta);
                        } else {
                            /* Edge tile: same kernel into a scratch tile, so
                             * the arithmetic matches interior tiles exactly. */
                            if (beta != 0.0f)
                                for (int r = 0; r < nrows; r++)
                                    memcpy(tile + r * nr, c + r * g->ldc,
                                           sizeof(float) * (size_t)ncols);
                            kern->fn(kc, ap, rsa, csa, bp, tile, nr, g->alpha, beta);
                            for (int r = 0; r < nrows; r++)
                                memcpy(c + r * g->ldc, tile + r * nr,
                                       sizeof(float) * (size_t)ncols);
                        }
                    }
                }
            }
        }
    }
}

/* Fallback when no buffer can be had: a plain loop, correct but slow. */
static void gemm_simple(const gemm_args *g, int m0, int m1, int n0, int n1)
{
    for (int i = m0; i < m1; i++)
        for (int j = n0; j < n1; j++) {
            float acc = 0.0f;
            for (int k = 0; k < g->K; k++) {
                float a = g->ta ? g->A[(int64_t)k * g->lda + i] : g->A[(int64_t)i * g->lda + k];
                float b = g->tb ? g->B[(int64_t)j * g->ldb + k] : g->B[(int64_t)k * g->ldb + j];
                acc += a * b;
            }
            float *c = &g->C[(int64_t)i * g->ldc + j];
            *c = g->beta == 0.0f ? g->alpha * acc : g->alpha * acc + g->beta * *c;
        }
}

/* A few rows of C (batch-1 inference, the Winograd tiles of one image):
 * packing B would cost as much as the product, so B's rows are read where
 * they lie. Blocks of up to FEW_ROWS x 64 of C are accumulated in vector
 * registers (16 zmm in the AVX-512 build: enough independent chains to
 * cover the FMA latency); with B small enough to stay in cache this runs
 * near the FMA rate. Chosen from the shape alone, never the thread count.
 *
 * The arithmetic is the micro-kernels' own, operation for operation: the
 * same K blocks (choose_kc), one chain of multiply-adds per block in k
 * order from zero (fused on the FMA instruction sets, as the AVX2/AVX-512
 * kernels; separate on the generic one, as its kernel), then alpha * acc
 * plus beta (or 1 after the first block) times C. So a row of C has the
 * same bits whichever path computed it, and predictions do not depend on
 * how many samples share a batch. */
#define FEW_ROWS 4
#define FEW_COLS 64

static bool few_rows(const gemm_args *g)
{
    return !g->tb && (g->M <= 2 || (g->M <= 16 && (int64_t)g->K * g->N <= 16384));
}

/* y + b * c, fused or not as the instruction set's micro-kernel does it. */
#define FEW_MULADD(fused, b, c, y) ((fused) ? __builtin_fmaf((b), (c), (y)) : (y) + (b) * (c))

/* C[i0 : i0+R, j0 : j0+nb] for R <= FEW_ROWS, nb <= FEW_COLS; inlined with
 * constant R and nb in the common case so the accumulators stay in
 * registers. */
static inline __attribute__((always_inline)) void few_rows_block(const gemm_args *g, bool fused,
                                                                 int i0, int R, int j0, int nb)
{
    const int64_t sa = g->ta ? g->lda : 1, ra = g->ta ? 1 : g->lda;
    const float *a = g->A + (int64_t)i0 * ra;
    const int kc_full = choose_kc(g->K);
    for (int pc = 0; pc < g->K; pc += kc_full) {
        const int kend = g->K - pc < kc_full ? g->K : pc + kc_full;
        const float alpha = g->alpha, beta = pc == 0 ? g->beta : 1.0f;
        float acc[FEW_ROWS][FEW_COLS] = {{0}};
        for (int k = pc; k < kend; k++) {
            const float *b = g->B + (int64_t)k * g->ldb + j0;
            for (int r = 0; r < R; r++) {
                const float ar = a[r * ra + k * sa];
                for (int j = 0; j < nb; j++) acc[r][j] = FEW_MULADD(fused, ar, b[j], acc[r][j]);
            }
        }
        for (int r = 0; r < R; r++) {
            float *restrict c = g->C + (int64_t)(i0 + r) * g->ldc + j0;
            if (beta == 0.0f)
                for (int j = 0; j < nb; j++) c[j] = alpha * acc[r][j];
            else
                for (int j = 0; j < nb; j++) c[j] = FEW_MULADD(fused, beta, c[j], alpha * acc[r][j]);
        }
    }
}

static inline __attribute__((always_inline)) void few_rows_body(const gemm_args *g, bool fused)
{
    for (int j0 = 0; j0 < g->N; j0 += FEW_COLS) {
        const int nb = g->N - j0 < FEW_COLS ? g->N - j0 : FEW_COLS;
        int i = 0;
        if (nb == FEW_COLS) {
            for (; i + FEW_ROWS <= g->M; i += FEW_ROWS)
                few_rows_block(g, fused, i, FEW_ROWS, j0, FEW_COLS);
            for (; i < g->M; i++) few_rows_block(g, fused, i, 1, j0, FEW_COLS);
        } else {
            for (; i < g->M; i++) few_rows_block(g, fused, i, 1, j0, nb);
        }
    }
}

static void few_rows_generic(const gemm_args *g) { few_rows_body(g, false); }
#ifdef LAM_GEMM_X86
__attribute__((target("avx2,fma"))) static void few_rows_avx2(const gemm_args *g)
{
    few_rows_body(g, true);
}
/* AVX-512: intrinsics, ukernel_avx512's arithmetic, masks for ragged
 * columns; R (rows) is a constant in each instance, so that the 4R
 * accumulators stay in registers. */
__attribute__((target("avx512f"), always_inline)) static inline void
few512_block(const gemm_args *g, int i0, const int R, int j0, const __mmask16 *mk)
{
    const int64_t sa = g->ta ? g->lda : 1, ra = g->ta ? 1 : g->lda;
    const int kc_full = choose_kc(g->K);
    const float *a = g->A + (int64_t)i0 * ra;
    const __m512 va = _mm512_set1_ps(g->alpha);
    for (int pc = 0; pc < g->K; pc += kc_full) {
        const int kend = g->K - pc < kc_full ? g->K : pc + kc_full;
        __m512 acc[FEW_ROWS][4];
        for (int r = 0; r < R; r++)
            for (int v = 0; v < 4; v++) acc[r][v] = _mm512_setzero_ps();
        for (int k = pc; k < kend; k++) {
            const float *b = g->B + (int64_t)k * g->ldb + j0;
            __m512 bv[4];
            for (int v = 0; v < 4; v++) bv[v] = _mm512_maskz_loadu_ps(mk[v], b + 16 * v);
            for (int r = 0; r < R; r++) {
                const __m512 ar = _mm512_set1_ps(a[r * ra + k * sa]);
                for (int v = 0; v < 4; v++) acc[r][v] = _mm512_fmadd_ps(ar, bv[v], acc[r][v]);
            }
        }
        const float beta = pc == 0 ? g->beta : 1.0f;
        const __m512 vb = _mm512_set1_ps(beta);
        for (int r = 0; r < R; r++) {
            float *c = g->C + (int64_t)(i0 + r) * g->ldc + j0;
            for (int v = 0; v < 4; v++) {
                __m512 y = _mm512_mul_ps(va, acc[r][v]);
                if (beta != 0.0f)
                    y = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mk[v], c + 16 * v), y);
                _mm512_mask_storeu_ps(c + 16 * v, mk[v], y);
            }
        }
    }
}

__attribute__((target("avx512f"))) static void few_rows_avx512(const gemm_args *g)
{
    for (int j0 = 0; j0 < g->N; j0 += FEW_COLS) {
        __mmask16 mk[4];
        for (int v = 0; v < 4; v++) {
            int cols = g->N - j0 - 16 * v;
            mk[v] = cols >= 16 ? (__mmask16)0xFFFF : cols > 0 ? (__mmask16)((1u << cols) - 1) : 0;
        }
        int i = 0;
        for (; i + 4 <= g->M; i += 4) few512_block(g, i, 4, j0, mk);
        switch (g->M - i) {
        case 3: few512_block(g, i, 3, j0, mk); break;
        case 2: few512_block(g, i, 2, j0, mk); break;
        case 1: few512_block(g, i, 1, j0, mk); break;
        default: break;
        }
    }
}
#endif

static void gemm_few_rows(const gemm_args *g, const lam_gemm_kernel *kern)
{
#ifdef LAM_GEMM_X86
    if (kern->isa == LAM_ISA_AVX512) return few_rows_avx512(g);
    if (kern->isa == LAM_ISA_AVX2) return few_rows_avx2(g);
#endif
    few_rows_generic(g);
}

static void gemm_rect(const gemm_args *g, const lam_gemm_kernel *kern, int m0, int m1, int n0,
                      int n1)
{
    if (m0 >= m1 || n0 >= n1) return;
    float *buf = gemm_buffer(block_buffer_floats(kern, m1 - m0, n1 - n0, choose_kc(g->K)));
    if (buf) gemm_block(g, kern, m0, m1, n0, n1, buf);
    else gemm_simple(g, m0, m1, n0, n1);
}

/* ------------------------------------------------------------------------ */
/* Threading: split C into a tm x tn grid of rectangles on tile boundaries. */

/* Below this many multiply-adds per thread, starting a team costs more than
 * it saves. */
#define LAM_GEMM_MIN_FMA_PER_THREAD 150000

/* Choose tm x tn == T minimising the biggest rectangle's work plus the
 * packing it redoes (each thread packs its own slice of A and of B). */
static void choose_grid(int T, int M, int N, const lam_gemm_kernel *kern, int *tm, int *tn)
{
    int mp = (M + kern->mr - 1) / kern->mr, np = (N + kern->nr - 1) / kern->nr;
    double best = -1;
    *tm = T;
    *tn = 1;
    for (int a = 1; a <= T; a++) {
        if (T % a) continue;
        int b = T / a;
        if (a > mp || b > np) continue;
        double rows = (double)((mp + a - 1) / a) * kern->mr;
        double cols = (double)((np + b - 1) / b) * kern->nr;
        double cost = rows * cols + 4.0 * (rows + cols);
        if (best < 0 || cost < best) {
            best = cost;
            *tm = a;
            *tn = b;
        }
    }
}

static void gemm_thread_part(const gemm_args *g, const lam_gemm_kernel *kern, int t, int T)
{
    int tm, tn;
    choose_grid(T, g->M, g->N, kern, &tm, &tn);
    int ti = t / tn, tj = t % tn;
    if (ti >= tm) return;
    int mp = (g->M + kern->mr - 1) / kern->mr, np = (g->N + kern->nr - 1) / kern->nr;
    int m0 = (int)((int64_t)mp * ti / tm) * kern->mr;
    int m1 = (int)((int64_t)mp * (ti + 1) / tm) * kern->mr;
    int n0 = (int)((int64_t)np * tj / tn) * kern->nr;
    int n1 = (int)((int64_t)np * (tj + 1) / tn) * kern->nr;
    if (m1 > g->M) m1 = g->M;
    if (n1 > g->N) n1 = g->N;
    gemm_rect(g, kern, m0, m1, n0, n1);
}

void lam_gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float *A,
              int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        /* op(A).op(B) is zero: only the beta term remains. */
        for (int i = 0; i < M; i++) {
            float *c = C + (int64_t)i * ldc;
            if (beta == 0.0f) memset(c, 0, sizeof(float) * (size_t)N);
            else for (int j = 0; j < N; j++) c[j] *= beta;
        }
        return;
    }
    const lam_gemm_kernel *kern = gemm_kernel();
    gemm_args g = {trans_a, trans_b, M, N, K, alpha, beta, A, B, lda, ldb, ldc, C};
    if (few_rows(&g)) {
        gemm_few_rows(&g, kern);
        return;
    }

    int T = 1;
#ifdef _OPENMP
    if (!omp_in_parallel()) {
        int64_t fma = (int64_t)M * N * K;
        int64_t t_work = fma / LAM_GEMM_MIN_FMA_PER_THREAD;
        T = omp_get_max_threads();
        if (t_work < T) T = (int)(t_work < 1 ? 1 : t_work);
    }
    if (T > 1) {
        #pragma omp parallel num_threads(T)
        gemm_thread_part(&g, kern, omp_get_thread_num(), omp_get_num_threads());
        return;
    }
#endif
    gemm_thread_part(&g, kern, 0, 1);
}
