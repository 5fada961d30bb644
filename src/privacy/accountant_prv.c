/* accountant_prv.c - the PRV accountant (Gopi, Lee, Wutschitz 2021) as Opacus
 * 1.6's PRVAccountant computes it (opacus/accountants/analysis/prv/): the
 * privacy loss of one Poisson-subsampled Gaussian step, truncated to [-L, L]
 * (L from the RDP bound, remark 5.6), discretised on a mesh fine enough for
 * eps_error, re-centred on its exact mean, composed by FFT, and read back as
 * (eps, delta) with the error bounds.
 *
 * One difference in the mechanics, not in the mathematics: Opacus composes on
 * the domain's own size N (circularly, mod N), each run separately, then
 * convolves the runs pairwise, cropping to N each time. Here the domain is
 * padded to the next power of two M >= N, the spectra of all runs are
 * multiplied and one inverse transform gives the composition (circular mod M,
 * then the same N-point window). Both wrap or crop only the mass beyond the
 * truncation bound, which L is chosen to make negligible (below delta_error),
 * so the two agree far inside eps_error; the tests measure by how much. */
#include "privacy/accountant.h"

#include <complex.h>
#include <float.h>
#include <math.h>
#include <string.h>

/* CDF of the privacy loss of one step (Gopi et al., proposition B4). */
static double prv_cdf(double q, double sigma, double t)
{
    if (!(t > log(1 - q))) return 0.0;
    double z = log((exp(t) + q - 1) / q);
    return -q * erfc((2 * z * sigma * sigma - 1) / (2 * M_SQRT2 * sigma)) / 2
           - (1 - q) * erfc((2 * z * sigma * sigma + 1) / (2 * M_SQRT2 * sigma)) / 2 + 1.0;
}

typedef struct truncated_prv {
    double q, sigma, t_min, t_max, cdf_t_min, mass;
} truncated_prv;

static double tprv_cdf(const truncated_prv *p, double t)
{
    if (t < p->t_min) return 0.0;
    if (t < p->t_max) return (prv_cdf(p->q, p->sigma, t) - p->cdf_t_min) / p->mass;
    return 1.0;
}

/* Adaptive Gauss-Kronrod (7, 15) on [a, b]. Opacus uses scipy's quad (QUADPACK QAGS);
 * the mean it feeds is multiplied by the number of steps, so it is asked here for an
 * absolute error of 1e-13 per interval. */
static const double gk_x[8] = {0.991455371120812639206854697526329, 0.949107912342758524526189684047851,
                               0.864864423359769072789712788640926, 0.741531185599394439863864773280788,
                               0.586087235467691130294144845693013, 0.405845151377397166906606412076961,
                               0.207784955007898467600689403773245, 0.000000000000000000000000000000000};
static const double gk_wk[8] = {0.022935322010529224963732008058970, 0.063092092629978553290700663189204,
                                0.104790010322250183839876322541518, 0.140653259715525918745189590510238,
                                0.169004726639267902826583426598550, 0.190350578064785409913256402421014,
                                0.204432940075298892414161999234649, 0.209482141084727828012999174891714};
static const double gk_wg[4] = {0.129484966168869693270611432679082, 0.279705391489276667901467771423780,
                                0.381830050505118944950369775488975, 0.417959183673469387755102040816327};

static double gk_integrate(const truncated_prv *p, double a, double b, int depth)
{
    double c = (a + b) / 2, h = (b - a) / 2;
    double fc = tprv_cdf(p, c);
    double k = fc * gk_wk[7], g = fc * gk_wg[3];
    for (int i = 0; i < 7; i++) {
        double f = tprv_cdf(p, c - h * gk_x[i]) + tprv_cdf(p, c + h * gk_x[i]);
        k += gk_wk[i] * f;
        if (i % 2 == 1) g += gk_wg[i / 2] * f;
    }
    k *= h;
    g *= h;
    if (fabs(k - g) <= 1e-13 || depth >= 48) return k;
    return gk_integrate(p, a, c, depth + 1) + gk_integrate(p, c, b, depth + 1);
}

/* The mean of the truncated PRV, E[T] = [t F(t)] - integral of F, on the breakpoints
 * Opacus uses (log-spaced towards 0 on both sides, where the loss concentrates). */
static double tprv_mean(const truncated_prv *p)
{
    double pts[23];
    int n = 0;
    int lo = (int)log10(fabs(p->t_min)), hi = (int)log10(p->t_max);
    pts[n++] = p->t_min;
    for (int i = 0; i < 10; i++) pts[n++] = -pow(10.0, lo + (-5.0 - lo) * i / 9.0);
    pts[n++] = 0.0;
    for (int i = 0; i < 10; i++) pts[n++] = pow(10.0, -5.0 + (hi + 5.0) * i / 9.0);
    pts[n++] = p->t_max;
    double mean = 0.0;
    for (int i = 0; i + 1 < n; i++) {
        double l = pts[i], r = pts[i + 1];
        mean += r * tprv_cdf(p, r) - l * tprv_cdf(p, l) - gk_integrate(p, l, r, 0);
    }
    return mean;
}

/* Opacus's compute_safe_domain_size: L from the RDP bound on the whole composition at
 * delta_error / 4 and on each single step at delta_error / (8 * total steps). */
static lam_status safe_domain_size(const lam_privacy_steps *runs, size_t n_runs,
                                   double eps_error, double delta_error, double *L)
{
    int64_t total = 0;
    for (size_t r = 0; r < n_runs; r++) total += runs[r].steps;
    double l_max, e;
    LAM_TRY(lam_privacy_epsilon_composed(LAM_ACCOUNTANT_RDP, runs, n_runs, delta_error / 4,
                                         &l_max, NULL));
    for (size_t r = 0; r < n_runs; r++) {
        LAM_TRY(lam_privacy_epsilon(LAM_ACCOUNTANT_RDP, runs[r].noise_multiplier,
                                    runs[r].sample_rate, 1, delta_error / (8.0 * total), &e,
                                    NULL));
        l_max = fmax(l_max, e);
    }
    *L = fmax(l_max, eps_error) + 3;
    return LAM_OK;
}

/* Binary search as numpy.searchsorted(a, key, side="left"): the first i with
 * a[i] >= key, assuming a ascending (it is, up to rounding noise in the flat tail, and
 * the search then lands where numpy's does). */
static size_t search_left(const double *a, size_t n, double key)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + ((hi - lo) >> 1);
        if (a[mid] < key) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

lam_status lam_prv_epsilon(const lam_privacy_steps *runs, size_t n_runs, double delta,
                           double eps_error, double delta_error, lam_prv_result *out)
{
    const char *what = "lam_prv_epsilon";
    LAM_TRY(lam_privacy_check_delta(what, delta));
    if (!(eps_error > 0) || !isfinite(eps_error))
        return lam_error(LAM_ERR_ARG, "%s: eps_error %g; expected > 0", what, eps_error);
    if (!(delta_error > 0 && delta_error < delta))
        return lam_error(LAM_ERR_ARG, "%s: delta_error %g; expected in (0, delta = %g)", what,
                         delta_error, delta);
    if (n_runs == 0 || !runs || !out)
        return lam_error(LAM_ERR_ARG, "%s: expected at least one run and an output", what);
    int64_t total = 0;
    for (size_t r = 0; r < n_runs; r++) {
        char name[64];
        snprintf(name, sizeof name, "%s, run %zu", what, r);
        LAM_TRY(lam_privacy_check_run(name, runs[r].noise_multiplier, runs[r].sample_rate,
                                      runs[r].steps));
        if (runs[r].steps == 0)
            return lam_error(LAM_ERR_ARG, "%s: run %zu has 0 steps; leave it out", what, r);
        total += runs[r].steps;
    }

    /* The domain: Domain.create_aligned(-L, L, mesh). */
    double L;
    LAM_TRY(safe_domain_size(runs, n_runs, eps_error, delta_error, &L));
    double mesh = eps_error / sqrt((double)total * log(12 / delta_error) / 2);
    double points = 2 * L / mesh + 3;
    if (L > 700 || points > LAM_PRV_MAX_POINTS)
        return lam_error(LAM_ERR_UNSUPPORTED,
                         "%s: the PRV domain would need %.3g points (L = %.4g, mesh %.3g; "
                         "at most %d): epsilon is too large for this accountant to be "
                         "practical; use the RDP accountant", what, points, L, mesh,
                         LAM_PRV_MAX_POINTS);
    double t_min = floor(-L / mesh) * mesh, t_max = ceil(L / mesh) * mesh;
    size_t n = (size_t)llround((t_max - t_min) / mesh) + 1;
    if (n % 2 == 1) {
        n += 1;
        t_max += mesh;
    }
    double dt = (t_max - t_min) / (double)(n - 1);
    int64_t c = llround(-t_min / dt); /* t_min = -c dt */
    size_t m = 1;
    while (m < n) m <<= 1;

    double *re = lam_calloc(m, sizeof *re), *im = lam_calloc(m, sizeof *im);
    double *wr = lam_malloc(m * sizeof *wr), *wi = lam_malloc(m * sizeof *wi);
    lam_status s = LAM_OK;
    if (!re || !im || !wr || !wi) {
        s = LAM_ERR_NOMEM;
        goto done;
    }
    for (size_t k = 0; k < m; k++) re[k] = 1.0; /* the product of spectra starts at 1 */
    double shift_total = 0.0;
    for (size_t r = 0; r < n_runs; r++) {
        truncated_prv p = {runs[r].sample_rate, runs[r].noise_multiplier, t_min, t_max, 0, 0};
        p.cdf_t_min = prv_cdf(p.q, p.sigma, t_min);
        p.mass = prv_cdf(p.q, p.sigma, t_max) - p.cdf_t_min;
        /* discretize(): the mass of each cell around the mesh points. */
        double mean_d = 0.0;
        for (size_t k = 0; k < n; k++) {
            double t = t_min + (double)k * dt;
            wr[k] = tprv_cdf(&p, t + dt / 2) - tprv_cdf(&p, t - dt / 2);
            mean_d += t * wr[k];
        }
        double shift = tprv_mean(&p) - mean_d;
        if (fabs(shift) >= dt / 2) {
            s = lam_error(LAM_ERR_NUMERIC, "%s: run %zu: the discretised mean is %g mesh "
                          "cells from the exact one (expected < 0.5)", what, r, shift / dt);
            goto done;
        }
        shift_total += shift * (double)runs[r].steps;
        for (size_t k = n; k < m; k++) wr[k] = 0.0;
        memset(wi, 0, m * sizeof *wi);
        if ((s = lam_fft_radix2(wr, wi, m, 0)) != LAM_OK) goto done;
        for (size_t k = 0; k < m; k++) {
            /* a + b I, not CMPLX: clang (the fuzz build) has no CMPLX in glibc's
             * complex.h; the values are finite, where the two agree. */
            double complex z = cpow(wr[k] + wi[k] * I, (double)runs[r].steps);
            double complex acc = (re[k] + im[k] * I) * z;
            re[k] = creal(acc);
            im[k] = cimag(acc);
        }
    }
    if ((s = lam_fft_radix2(re, im, m, 1)) != LAM_OK) goto done;
    /* The sum of `total` losses on the mesh sits at total * t_min + k dt; the window
     * t_min + j dt, j < n, is k = j + (total - 1) c (mod m). */
    size_t off = (size_t)((((uint64_t)(total - 1) % m) * ((uint64_t)c % m)) % m);
    double *pmf = wr;
    for (size_t j = 0; j < n; j++) pmf[j] = re[(j + off) % m] / (double)m;

    /* DiscretePRV.compute_epsilon. */
    if ((long double)LDBL_EPSILON * (long double)n > (long double)(delta - delta_error)) {
        s = lam_error(LAM_ERR_NUMERIC, "%s: rounding would dominate at delta %g with %zu "
                      "points; increase delta", what, delta, n);
        goto done;
    }
    double *d1 = re, *d2 = im, *ndelta = wi;
    double a1 = 0.0, a2 = 0.0;
    for (size_t j = n; j-- > 0;) {
        double t = t_min + shift_total + (double)j * dt;
        a1 += pmf[j];
        a2 += pmf[j] * exp(-t);
        d1[j] = a1;
        d2[j] = a2;
    }
    for (size_t j = 0; j < n; j++) {
        double t = t_min + shift_total + (double)j * dt;
        ndelta[j] = exp(t) * d2[j] - d1[j];
    }
    double targets[3] = {delta - delta_error, delta + delta_error, delta}, eps[3];
    for (int i = 0; i < 3; i++) {
        size_t k = search_left(ndelta, n, -targets[i]);
        if (k == 0 || k >= n) {
            s = lam_error(LAM_ERR_NUMERIC, "%s: cannot compute epsilon at delta %g (the "
                          "discretised loss has no such point)", what, targets[i]);
            goto done;
        }
        eps[i] = log((d1[k] - targets[i]) / d2[k]);
    }
    out->eps_upper = eps[0] + eps_error;
    out->eps_lower = eps[1] - eps_error;
    out->eps_estimate = eps[2];
    out->points = (int64_t)n;
done:
    lam_free(re);
    lam_free(im);
    lam_free(wr);
    lam_free(wi);
    return s;
}
