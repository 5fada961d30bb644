/* accountant_fft.c - a small radix-2 complex FFT for the PRV accountant's
 * self-composition (a density convolved with itself thousands of times is one
 * transform, a pointwise power and one inverse), with the naive DFT beside it
 * as the reference the tests compare against. No dependency: the sizes are
 * powers of two because we choose them (the domain is padded). */
#include "privacy/accountant.h"

#include <math.h>

lam_status lam_fft_radix2(double *re, double *im, size_t n, int inverse)
{
    if (n == 0 || (n & (n - 1)) != 0)
        return lam_error(LAM_ERR_ARG, "lam_fft_radix2: %zu points; expected a power of two", n);
    /* Bit-reversal permutation. */
    for (size_t i = 1, j = 0; i < n; i++) {
        size_t bit = n >> 1;
        for (; j & bit; bit >>= 1) j ^= bit;
        j ^= bit;
        if (i < j) {
            double t = re[i]; re[i] = re[j]; re[j] = t;
            t = im[i]; im[i] = im[j]; im[j] = t;
        }
    }
    if (n == 1) return LAM_OK;
    /* Twiddles cos/sin(2 pi k / n) computed directly once, rather than by repeated
     * multiplication inside each stage: the recurrence loses ~sqrt(n) ulps, which at 2^24
     * points would show in the far tail of the composed density that delta is read from.
     * Stage `len` uses every (n / len)-th entry; the butterflies run over contiguous k
     * (stride 1) so that each stage walks memory in order. */
    double *tw = lam_malloc(n * sizeof *tw); /* cos in [0, n/2), sin in [n/2, n) */
    if (!tw) return LAM_ERR_NOMEM;
    double sgn = inverse ? 1.0 : -1.0;
    for (size_t k = 0; k < n / 2; k++) {
        double ang = 2.0 * M_PI * (double)k / (double)n;
        tw[k] = cos(ang);
        tw[n / 2 + k] = sgn * sin(ang);
    }
    for (size_t len = 2; len <= n; len <<= 1) {
        size_t half = len >> 1, step = n / len;
        for (size_t s = 0; s < n; s += len) {
            for (size_t k = 0; k < half; k++) {
                double wr = tw[k * step], wi = tw[n / 2 + k * step];
                size_t a = s + k, t = a + half;
                double xr = re[t] * wr - im[t] * wi;
                double xi = re[t] * wi + im[t] * wr;
                re[t] = re[a] - xr;
                im[t] = im[a] - xi;
                re[a] += xr;
                im[a] += xi;
            }
        }
    }
    lam_free(tw);
    return LAM_OK;
}

lam_status lam_dft_naive(const double *re, const double *im, size_t n, int inverse,
                         double *out_re, double *out_im)
{
    if (n == 0) return lam_error(LAM_ERR_ARG, "lam_dft_naive: zero points");
    double sgn = inverse ? 1.0 : -1.0;
    for (size_t k = 0; k < n; k++) {
        double sr = 0, si = 0;
        for (size_t t = 0; t < n; t++) {
            /* (k * t) mod n keeps the angle small and exact. */
            double ang = sgn * 2.0 * M_PI * (double)((k * t) % n) / (double)n;
            double c = cos(ang), s = sin(ang);
            sr += re[t] * c - im[t] * s;
            si += re[t] * s + im[t] * c;
        }
        out_re[k] = sr;
        out_im[k] = si;
    }
    return LAM_OK;
}
