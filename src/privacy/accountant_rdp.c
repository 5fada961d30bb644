/* accountant_rdp.c - Renyi DP of the Poisson-subsampled Gaussian mechanism
 * (Mironov, Talwar, Zhang 2019, section 3.3) and its conversion to (eps, delta)
 * (Balle et al. 2020, Theorem 21), written to give Opacus 1.6's numbers
 * (opacus/accountants/analysis/rdp.py): the same sums, the same stopping rule
 * of the fractional series, the same first-minimum choice of order. Everything
 * is in log space: the terms reach exp(thousands) for small sigma and high
 * orders. */
#include "privacy/accountant.h"

#include <math.h>

/* Opacus's DEFAULT_ALPHAS = [1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64)). */
static double lam_rdp_orders_[LAM_RDP_N_DEFAULT_ORDERS];

size_t lam_rdp_default_orders(const double **orders)
{
    /* Filled on every call (idempotent, same bits each time) rather than once behind a
     * flag, so that concurrent first calls cannot see a half-filled table. */
    for (int x = 1; x < 100; x++) lam_rdp_orders_[x - 1] = 1.0 + x / 10.0;
    for (int a = 12; a < 64; a++) lam_rdp_orders_[99 + a - 12] = a;
    *orders = lam_rdp_orders_;
    return LAM_RDP_N_DEFAULT_ORDERS;
}

static double log_add(double logx, double logy)
{
    double a = fmin(logx, logy), b = fmax(logx, logy);
    if (a == -INFINITY) return b;
    return log1p(exp(a - b)) + b;
}

/* log(exp(logx) - exp(logy)) for logx >= logy. The fractional series only subtracts
 * terms smaller than what it has summed (the binomial series alternates with shrinking
 * terms), so logx < logy cannot happen there; Opacus raises on it, we return NaN, which
 * propagates to an infinite epsilon for that order only. */
static double log_sub(double logx, double logy)
{
    if (logx < logy) return NAN;
    if (logy == -INFINITY) return logx;
    if (logx == logy) return -INFINITY;
    if (logx - logy > 709.0) return logx; /* expm1 overflows: Opacus's OverflowError branch */
    return log(expm1(logx - logy)) + logy;
}

/* log(erfc(x)), accurate where erfc underflows (x > 26.5): the asymptotic series
 * erfc(x) = exp(-x^2) / (x sqrt(pi)) (1 - 1/(2x^2) + 3/(4x^4) - 15/(8x^6) + 105/(16x^8)),
 * whose next term is below 3e-13 relative from x = 25 on. Opacus uses scipy's log_ndtr. */
static double log_erfc(double x)
{
    if (x < 25.0) return log(erfc(x));
    double r = 1.0 / (x * x);
    double s = 1.0 - r / 2 * (1.0 - 1.5 * r * (1.0 - 2.5 * r * (1.0 - 3.5 * r)));
    return -x * x - log(x) - 0.5 * log(M_PI) + log(s);
}

/* log(A_alpha) for integer alpha: the finite binomial sum. */
static double log_a_int(double q, double sigma, int alpha)
{
    double log_a = -INFINITY;
    double lg_a1 = lgamma(alpha + 1.0);
    for (int i = 0; i <= alpha; i++) {
        double log_binom = lg_a1 - lgamma(i + 1.0) - lgamma(alpha - i + 1.0);
        double log_coef = log_binom + i * log(q) + (alpha - i) * log(1 - q);
        double s = log_coef + ((double)i * i - i) / (2 * sigma * sigma);
        log_a = log_add(log_a, s);
    }
    return log_a;
}

/* log(A_alpha) for fractional alpha: the two integrals over (-inf, z0] and [z0, inf)
 * as series in i, stopped when both terms fall below exp(-30) (Opacus's rule). The
 * binomial coefficient binom(alpha, i) is carried as log|c| and sign by the recurrence
 * c_i = c_{i-1} (alpha - i + 1) / i. */
static double log_a_frac(double q, double sigma, double alpha)
{
    double log_a0 = -INFINITY, log_a1 = -INFINITY;
    double z0 = sigma * sigma * log(1 / q - 1) + 0.5;
    double log_abs_coef = 0.0; /* binom(alpha, 0) = 1 */
    int sign = 1;
    double lq = log(q), l1q = log(1 - q);
    for (int i = 0;; i++) {
        if (i > 0) {
            double f = (alpha - i + 1) / i;
            log_abs_coef += log(fabs(f));
            if (f < 0) sign = -sign;
        }
        double j = alpha - i;
        double log_t0 = log_abs_coef + i * lq + j * l1q;
        double log_t1 = log_abs_coef + j * lq + i * l1q;
        double log_e0 = log(0.5) + log_erfc((i - z0) / (M_SQRT2 * sigma));
        double log_e1 = log(0.5) + log_erfc((z0 - j) / (M_SQRT2 * sigma));
        double log_s0 = log_t0 + ((double)i * i - i) / (2 * sigma * sigma) + log_e0;
        double log_s1 = log_t1 + (j * j - j) / (2 * sigma * sigma) + log_e1;
        if (sign > 0) {
            log_a0 = log_add(log_a0, log_s0);
            log_a1 = log_add(log_a1, log_s1);
        } else {
            log_a0 = log_sub(log_a0, log_s0);
            log_a1 = log_sub(log_a1, log_s1);
        }
        if (fmax(log_s0, log_s1) < -30 || isnan(log_a0) || isnan(log_a1)) break;
    }
    return log_add(log_a0, log_a1);
}

static double rdp_order(double q, double sigma, double alpha)
{
    if (q == 1.0) return alpha / (2 * sigma * sigma);
    if (isinf(alpha)) return INFINITY;
    double log_a = (alpha == floor(alpha)) ? log_a_int(q, sigma, (int)alpha)
                                           : log_a_frac(q, sigma, alpha);
    if (isnan(log_a)) return INFINITY;
    return log_a / (alpha - 1);
}

void lam_rdp_one_step(double noise_multiplier, double sample_rate, const double *orders,
                      size_t n, double *rdp)
{
    for (size_t i = 0; i < n; i++) rdp[i] = rdp_order(sample_rate, noise_multiplier, orders[i]);
}

lam_status lam_rdp_compute(double noise_multiplier, double sample_rate, int64_t steps,
                           const double *orders, size_t n, double *rdp)
{
    LAM_TRY(lam_privacy_check_run("lam_rdp_compute", noise_multiplier, sample_rate, steps));
    if (!orders || !rdp) return lam_error(LAM_ERR_ARG, "lam_rdp_compute: orders and rdp are required");
    for (size_t i = 0; i < n; i++) {
        /* Order 1 is KL divergence, which this sum does not give; orders above 2^31 would
         * not fit the integer sum (and are useless: eps grows with the order there). */
        if (!(orders[i] > 1.0) || orders[i] > 1e6)
            return lam_error(LAM_ERR_ARG,
                             "lam_rdp_compute: order %zu is %g; expected an order in (1, 1e6]",
                             i, orders[i]);
    }
    lam_rdp_one_step(noise_multiplier, sample_rate, orders, n, rdp);
    for (size_t i = 0; i < n; i++) rdp[i] *= (double)steps;
    return LAM_OK;
}

lam_status lam_rdp_to_epsilon(const double *orders, const double *rdp, size_t n, double delta,
                              double *epsilon, double *optimal_order)
{
    LAM_TRY(lam_privacy_check_delta("lam_rdp_to_epsilon", delta));
    if (!orders || !rdp || !epsilon || n == 0)
        return lam_error(LAM_ERR_ARG, "lam_rdp_to_epsilon: expected at least one order and rdp");
    double best = NAN, best_order = NAN;
    for (size_t i = 0; i < n; i++) {
        double a = orders[i];
        double eps = rdp[i] - (log(delta) + log(a)) / (a - 1) + log((a - 1) / a);
        /* np.nanargmin: the first smallest, NaNs skipped. */
        if (!isnan(eps) && (isnan(best) || eps < best)) {
            best = eps;
            best_order = a;
        }
    }
    *epsilon = isnan(best) ? INFINITY : best;
    if (optimal_order) *optimal_order = best_order;
    return LAM_OK;
}
