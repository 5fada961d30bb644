/* fast_math.h - exp, sigmoid and tanh as branch-free polynomials (about
 * 1 ulp), shared by every kernel that applies them, so that the activation
 * kernels and the fused recurrent steps agree to the last bit on the same
 * input. Always inlined: the callers are compiled once per instruction set
 * (LAM_VEC) and these must vectorise inside each. */
#ifndef LAM_KERNELS_FAST_MATH_H
#define LAM_KERNELS_FAST_MATH_H

#include <math.h>
#include <stdint.h>

#define LAM_FAST_INLINE static inline __attribute__((always_inline))

/* exp with ~1 ulp error (Cephes expf polynomial), branch-free so that the
 * loops below vectorise: libm's expf/tanhf are scalar calls and would cost
 * more than the matrix products at these sizes. */
LAM_FAST_INLINE float fast_exp(float x)
{
    x = x < -87.0f ? -87.0f : x;
    x = x > 88.0f ? 88.0f : x;
    float n = x * 1.44269504088896341f;
    n = (n + 12582912.0f) - 12582912.0f; /* round to nearest */
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float z = r * r;
    float y = (((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r +
                 4.1665795894e-2f) * r + 1.6666665459e-1f) * r + 5.0000001201e-1f) * z + r + 1.0f;
    union { int32_t i; float f; } s;
    /* 2^n built in the exponent bits; NaN (n != n) takes 0 here and still
     * propagates through y. Unsigned shift: no undefined behaviour. */
    const int32_t k = n == n ? (int32_t)n : 0;
    s.i = (int32_t)((uint32_t)(k + 127) << 23);
    return y * s.f;
}

LAM_FAST_INLINE float fast_sigmoid(float x) { return 1.0f / (1.0f + fast_exp(-x)); }

LAM_FAST_INLINE float fast_tanh(float x)
{
    /* Small |x|: odd polynomial (Cephes tanhf), where 1 - 2/(e^2x + 1)
     * would lose digits to cancellation. */
    float ax = fabsf(x), z = x * x;
    float p = ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z +
                1.33314422036e-1f) * z - 3.33332819422e-1f) * z * x + x;
    float q = 1.0f - 2.0f / (fast_exp(2.0f * ax) + 1.0f);
    q = x < 0 ? -q : q;
    return ax < 0.625f ? p : q;
}

/* erfc with a relative error below ~2e-7 everywhere (Numerical Recipes'
 * erfcc Chebyshev fit, 1.2e-7 in exact arithmetic, plus float rounding),
 * branch-free so that it vectorises: glibc has no vector erf, and a scalar
 * erff per element cost the char-GPT 4 x 2 x 393k calls an iteration. Its
 * relative accuracy in the tail is what GELU needs: Phi(x) = erfc(-x/sqrt2)/2
 * is tiny for very negative x, where 1 + erf(x) would cancel. */
LAM_FAST_INLINE float fast_erfc(float x)
{
    const float z = fabsf(x);
    const float t = 1.0f / (1.0f + 0.5f * z);
    const float p =
        -1.26551223f +
        t * (1.00002368f +
             t * (0.37409196f +
                  t * (0.09678418f +
                       t * (-0.18628806f +
                            t * (0.27886807f +
                                 t * (-1.13520398f +
                                      t * (1.48851587f + t * (-0.82215223f + t * 0.17087277f))))))));
    const float r = t * fast_exp(-z * z + p);
    return x < 0 ? 2.0f - r : r;
}

#endif
