/* quadrature.c - the rules integrated gradients sums its path integral
 * with, on [0, 1], in double. */
#include "explain/attribution.h"

#include <math.h>

/* Gauss-Legendre on [-1, 1]: the roots of P_n by Newton from Tricomi's
 * first guess cos(pi (i + 3/4) / (n + 1/2)), weights 2 / ((1 - x^2) P_n'(x)^2).
 * The roots are symmetric; each pair is found once. */
static void gauss_legendre(int n, double *x, double *w)
{
    for (int i = 0; i < (n + 1) / 2; i++) {
        double z = cos(M_PI * (i + 0.75) / (n + 0.5)), dp = 1.0;
        for (int it = 0; it < 100; it++) {
            double p0 = 1.0, p1 = z; /* P_0, P_1; the recurrence climbs to P_n */
            for (int k = 2; k <= n; k++) {
                double p2 = ((2.0 * k - 1.0) * z * p1 - (k - 1.0) * p0) / k;
                p0 = p1;
                p1 = p2;
            }
            dp = n * (z * p1 - p0) / (z * z - 1.0);
            double dz = p1 / dp;
            z -= dz;
            if (fabs(dz) < 1e-16) break;
        }
        /* The derivative at the converged root (one more evaluation). */
        double p0 = 1.0, p1 = z;
        for (int k = 2; k <= n; k++) {
            double p2 = ((2.0 * k - 1.0) * z * p1 - (k - 1.0) * p0) / k;
            p0 = p1;
            p1 = p2;
        }
        dp = n * (z * p1 - p0) / (z * z - 1.0);
        const double wi = 2.0 / ((1.0 - z * z) * dp * dp);
        x[i] = -z; /* ascending */
        x[n - 1 - i] = z;
        w[i] = w[n - 1 - i] = wi;
    }
}

lam_status lam_quadrature_rule(lam_quadrature q, int n, double *alpha, double *w)
{
    const int lo = q == LAM_QUAD_TRAPEZOID ? 2 : 1;
    const int hi = q == LAM_QUAD_GAUSS_LEGENDRE ? LAM_GAUSS_LEGENDRE_MAX : LAM_QUADRATURE_MAX;
    if ((unsigned)q > LAM_QUAD_TRAPEZOID)
        return lam_error(LAM_ERR_ARG, "quadrature %d, expected 0 (Gauss-Legendre) to 4 "
                         "(trapezoid)", (int)q);
    if (n < lo || n > hi)
        return lam_error(LAM_ERR_ARG, "integrated gradients: steps is %d, expected %d to %d "
                         "for this quadrature", n, lo, hi);
    switch (q) {
    case LAM_QUAD_GAUSS_LEGENDRE:
        gauss_legendre(n, alpha, w);
        for (int i = 0; i < n; i++) {
            alpha[i] = 0.5 * (alpha[i] + 1.0);
            w[i] *= 0.5;
        }
        break;
    case LAM_QUAD_RIEMANN_LEFT:
    case LAM_QUAD_RIEMANN_RIGHT:
    case LAM_QUAD_RIEMANN_MIDDLE: {
        const double shift = q == LAM_QUAD_RIEMANN_LEFT ? 0.0 : q == LAM_QUAD_RIEMANN_RIGHT ? 1.0
                                                                                            : 0.5;
        for (int i = 0; i < n; i++) {
            alpha[i] = (i + shift) / n;
            w[i] = 1.0 / n;
        }
        break;
    }
    case LAM_QUAD_TRAPEZOID:
        for (int i = 0; i < n; i++) {
            alpha[i] = (double)i / (n - 1);
            w[i] = (i == 0 || i == n - 1 ? 0.5 : 1.0) / (n - 1);
        }
        break;
    }
    return LAM_OK;
}
