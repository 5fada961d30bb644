/* accountant.c - the accountants' public face: argument checks, one-shot
 * epsilon, noise calibration and the incremental accountant that fit keeps. */
#include "privacy/accountant.h"

#include <math.h>
#include <string.h>

const char *lam_accountant_name(lam_accountant_kind kind)
{
    return kind == LAM_ACCOUNTANT_PRV ? "prv" : "rdp";
}

lam_status lam_accountant_parse(const char *name, lam_accountant_kind *out)
{
    if (name && strcmp(name, "rdp") == 0) {
        *out = LAM_ACCOUNTANT_RDP;
        return LAM_OK;
    }
    if (name && strcmp(name, "prv") == 0) {
        *out = LAM_ACCOUNTANT_PRV;
        return LAM_OK;
    }
    return lam_error(LAM_ERR_ARG, "unknown accountant '%s'; expected rdp or prv",
                     name ? name : "(null)");
}

static lam_status check_kind(const char *what, lam_accountant_kind kind)
{
    if (kind != LAM_ACCOUNTANT_RDP && kind != LAM_ACCOUNTANT_PRV)
        return lam_error(LAM_ERR_ARG, "%s: accountant kind %d; expected LAM_ACCOUNTANT_RDP or "
                                      "LAM_ACCOUNTANT_PRV", what, (int)kind);
    return LAM_OK;
}

lam_status lam_privacy_check_run(const char *what, double noise_multiplier, double sample_rate,
                                 int64_t steps)
{
    if (!(noise_multiplier > 0) || !isfinite(noise_multiplier))
        return lam_error(LAM_ERR_ARG, "%s: noise multiplier %g; expected a finite sigma > 0",
                         what, noise_multiplier);
    if (!(sample_rate > 0 && sample_rate <= 1))
        return lam_error(LAM_ERR_ARG, "%s: sample rate %g; expected q in (0, 1]", what,
                         sample_rate);
    if (steps < 0)
        return lam_error(LAM_ERR_ARG, "%s: %lld steps; expected steps >= 0", what,
                         (long long)steps);
    return LAM_OK;
}

lam_status lam_privacy_check_delta(const char *what, double delta)
{
    if (!(delta > 0 && delta < 1))
        return lam_error(LAM_ERR_ARG, "%s: delta %g; expected delta in (0, 1)", what, delta);
    return LAM_OK;
}

static lam_status check_runs(const char *what, const lam_privacy_steps *runs, size_t n_runs)
{
    if (n_runs > 0 && !runs) return lam_error(LAM_ERR_ARG, "%s: runs is NULL", what);
    for (size_t i = 0; i < n_runs; i++) {
        char name[96];
        snprintf(name, sizeof name, "%s, run %zu", what, i);
        LAM_TRY(lam_privacy_check_run(name, runs[i].noise_multiplier, runs[i].sample_rate,
                                      runs[i].steps));
    }
    return LAM_OK;
}

/* RDP of a composition: the per-order sum over runs, in run order (Opacus sums the
 * arrays the same way, so the rounding is the same). */
static lam_status rdp_composed(const lam_privacy_steps *runs, size_t n_runs, double delta,
                               double *epsilon, double *optimal_order)
{
    const double *orders;
    size_t n = lam_rdp_default_orders(&orders);
    double sum[LAM_RDP_N_DEFAULT_ORDERS], one[LAM_RDP_N_DEFAULT_ORDERS];
    for (size_t i = 0; i < n; i++) sum[i] = 0.0;
    for (size_t r = 0; r < n_runs; r++) {
        lam_rdp_one_step(runs[r].noise_multiplier, runs[r].sample_rate, orders, n, one);
        for (size_t i = 0; i < n; i++) sum[i] += one[i] * (double)runs[r].steps;
    }
    return lam_rdp_to_epsilon(orders, sum, n, delta, epsilon, optimal_order);
}

static int64_t total_steps(const lam_privacy_steps *runs, size_t n_runs)
{
    int64_t t = 0;
    for (size_t r = 0; r < n_runs; r++) t += runs[r].steps;
    return t;
}

lam_status lam_privacy_epsilon_composed(lam_accountant_kind kind, const lam_privacy_steps *runs,
                                        size_t n_runs, double delta, double *epsilon,
                                        double *optimal_order)
{
    const char *what = "lam_privacy_epsilon";
    LAM_TRY(check_kind(what, kind));
    LAM_TRY(check_runs(what, runs, n_runs));
    LAM_TRY(lam_privacy_check_delta(what, delta));
    if (!epsilon) return lam_error(LAM_ERR_ARG, "%s: epsilon is NULL", what);
    if (optimal_order) *optimal_order = NAN;
    if (total_steps(runs, n_runs) == 0) { /* nothing released, nothing spent */
        *epsilon = 0.0;
        return LAM_OK;
    }
    if (kind == LAM_ACCOUNTANT_RDP) return rdp_composed(runs, n_runs, delta, epsilon, optimal_order);
    /* PRV: runs with zero steps contribute nothing; the domain ignores them. */
    lam_privacy_steps *nz = lam_malloc(n_runs * sizeof *nz);
    if (!nz) return LAM_ERR_NOMEM;
    size_t m = 0;
    for (size_t r = 0; r < n_runs; r++)
        if (runs[r].steps > 0) nz[m++] = runs[r];
    lam_prv_result res;
    lam_status s = lam_prv_epsilon(nz, m, delta, LAM_PRV_EPS_ERROR,
                                   delta * LAM_PRV_DELTA_ERROR_FRACTION, &res);
    lam_free(nz);
    if (s == LAM_OK) *epsilon = res.eps_upper;
    return s;
}

lam_status lam_privacy_epsilon(lam_accountant_kind kind, double noise_multiplier,
                               double sample_rate, int64_t steps, double delta,
                               double *epsilon, double *optimal_order)
{
    lam_privacy_steps run = {noise_multiplier, sample_rate, steps};
    return lam_privacy_epsilon_composed(kind, &run, 1, delta, epsilon, optimal_order);
}

/* Epsilon of runs[0 .. n) with runs[n - 1]'s sigma set to sigma. */
static lam_status epsilon_at(lam_accountant_kind kind, lam_privacy_steps *runs, size_t n,
                             double sigma, double delta, double *eps)
{
    runs[n - 1].noise_multiplier = sigma;
    return lam_privacy_epsilon_composed(kind, runs, n, delta, eps, NULL);
}

lam_status lam_privacy_noise_multiplier_after(lam_accountant_kind kind,
                                              const lam_privacy_steps *spent, size_t n_spent,
                                              double target_epsilon, double delta,
                                              double sample_rate, int64_t steps,
                                              double tolerance, double *noise_multiplier)
{
    const char *what = "lam_privacy_noise_multiplier";
    LAM_TRY(check_kind(what, kind));
    if (!(target_epsilon > 0) || !isfinite(target_epsilon))
        return lam_error(LAM_ERR_ARG, "%s: target epsilon %g; expected a finite epsilon > 0",
                         what, target_epsilon);
    if (!(tolerance > 0) || !isfinite(tolerance))
        return lam_error(LAM_ERR_ARG, "%s: tolerance %g; expected > 0", what, tolerance);
    LAM_TRY(lam_privacy_check_run(what, 1.0, sample_rate, steps));
    LAM_TRY(lam_privacy_check_delta(what, delta));
    if (steps < 1)
        return lam_error(LAM_ERR_ARG, "%s: %lld steps; expected at least 1 (zero steps spend "
                                      "nothing at any noise)", what, (long long)steps);
    if (!noise_multiplier || (n_spent && !spent))
        return lam_error(LAM_ERR_ARG, "%s: NULL argument", what);
    if (n_spent) {
        double eps;
        LAM_TRY(lam_privacy_epsilon_composed(kind, spent, n_spent, delta, &eps, NULL));
        if (eps >= target_epsilon)
            return lam_error(LAM_ERR_ARG, "%s: epsilon %g at delta %g is already spent, which "
                             "leaves nothing of the budget %g", what, eps, delta, target_epsilon);
    }
    lam_privacy_steps *runs = lam_malloc(sizeof *runs * (n_spent + 1));
    if (!runs) return LAM_ERR_NOMEM;
    if (n_spent) memcpy(runs, spent, sizeof *runs * n_spent);
    runs[n_spent] = (lam_privacy_steps){.sample_rate = sample_rate, .steps = steps};
    const size_t n = n_spent + 1;
    /* Opacus's get_noise_multiplier, step for step. */
    const double max_sigma = 1e6;
    double sigma_low = 0, sigma_high = 10, eps_high = INFINITY;
    lam_status st = LAM_OK;
    while (st == LAM_OK && eps_high > target_epsilon) {
        sigma_high = 2 * sigma_high;
        st = epsilon_at(kind, runs, n, sigma_high, delta, &eps_high);
        if (st == LAM_OK && sigma_high > max_sigma)
            st = lam_error(LAM_ERR_ARG, "%s: the privacy budget is too low: epsilon %g at "
                                        "delta %g is not reached even with sigma %g",
                           what, target_epsilon, delta, sigma_high);
    }
    while (st == LAM_OK && target_epsilon - eps_high > tolerance) {
        double sigma = (sigma_low + sigma_high) / 2, eps;
        st = epsilon_at(kind, runs, n, sigma, delta, &eps);
        if (st == LAM_OK && eps < target_epsilon) {
            sigma_high = sigma;
            eps_high = eps;
        } else {
            sigma_low = sigma;
        }
    }
    lam_free(runs);
    if (st == LAM_OK) *noise_multiplier = sigma_high;
    return st;
}

lam_status lam_privacy_noise_multiplier(lam_accountant_kind kind, double target_epsilon,
                                        double delta, double sample_rate, int64_t steps,
                                        double tolerance, double *noise_multiplier)
{
    return lam_privacy_noise_multiplier_after(kind, NULL, 0, target_epsilon, delta, sample_rate,
                                              steps, tolerance, noise_multiplier);
}

/* ------------------------------------------------------- incremental */

struct lam_privacy_accountant {
    lam_accountant_kind kind;
    lam_privacy_steps *runs;
    size_t n_runs, cap;
    /* RDP: the summed RDP of runs[0 .. n_runs - 1) (all but the last) and the one-step
     * RDP of the last run, so that a step costs nothing and epsilon one pass over the
     * orders (fit asks for it at every progress line). */
    double rdp_closed[LAM_RDP_N_DEFAULT_ORDERS];
    double rdp_last_step[LAM_RDP_N_DEFAULT_ORDERS];
};

lam_status lam_privacy_accountant_create(lam_accountant_kind kind, lam_privacy_accountant **out)
{
    LAM_TRY(check_kind("lam_privacy_accountant_create", kind));
    if (!out) return lam_error(LAM_ERR_ARG, "lam_privacy_accountant_create: out is NULL");
    lam_privacy_accountant *a = lam_calloc(1, sizeof *a);
    if (!a) return LAM_ERR_NOMEM;
    a->kind = kind;
    *out = a;
    return LAM_OK;
}

void lam_privacy_accountant_free(lam_privacy_accountant *acc)
{
    if (!acc) return;
    lam_free(acc->runs);
    lam_free(acc);
}

lam_accountant_kind lam_privacy_accountant_kind(const lam_privacy_accountant *acc)
{
    return acc->kind;
}

size_t lam_privacy_accountant_history(const lam_privacy_accountant *acc,
                                      const lam_privacy_steps **runs)
{
    *runs = acc->runs;
    return acc->n_runs;
}

/* Appends a run (the caller has checked it), closing the previous last run's RDP. */
static lam_status append_run(lam_privacy_accountant *acc, lam_privacy_steps run)
{
    if (acc->n_runs == acc->cap) {
        size_t cap = acc->cap ? 2 * acc->cap : 4;
        lam_privacy_steps *r = lam_realloc(acc->runs, cap * sizeof *r);
        if (!r) return LAM_ERR_NOMEM;
        acc->runs = r;
        acc->cap = cap;
    }
    if (acc->kind == LAM_ACCOUNTANT_RDP) {
        const double *orders;
        size_t n = lam_rdp_default_orders(&orders);
        if (acc->n_runs > 0) {
            double steps = (double)acc->runs[acc->n_runs - 1].steps;
            for (size_t i = 0; i < n; i++) acc->rdp_closed[i] += acc->rdp_last_step[i] * steps;
        }
        lam_rdp_one_step(run.noise_multiplier, run.sample_rate, orders, n, acc->rdp_last_step);
    }
    acc->runs[acc->n_runs++] = run;
    return LAM_OK;
}

lam_status lam_privacy_accountant_step(lam_privacy_accountant *acc, double noise_multiplier,
                                       double sample_rate, int64_t count)
{
    LAM_TRY(lam_privacy_check_run("lam_privacy_accountant_step", noise_multiplier, sample_rate,
                                  count));
    if (count == 0) return LAM_OK;
    if (acc->n_runs > 0) {
        lam_privacy_steps *last = &acc->runs[acc->n_runs - 1];
        if (last->noise_multiplier == noise_multiplier && last->sample_rate == sample_rate) {
            last->steps += count;
            return LAM_OK;
        }
    }
    return append_run(acc, (lam_privacy_steps){noise_multiplier, sample_rate, count});
}

lam_status lam_privacy_accountant_restore(lam_privacy_accountant *acc,
                                          const lam_privacy_steps *runs, size_t n_runs)
{
    LAM_TRY(check_runs("lam_privacy_accountant_restore", runs, n_runs));
    acc->n_runs = 0;
    memset(acc->rdp_closed, 0, sizeof acc->rdp_closed);
    for (size_t r = 0; r < n_runs; r++) {
        /* Entries are kept as given (not merged), so history() returns what was saved. */
        if (runs[r].steps == 0) continue;
        LAM_TRY(append_run(acc, runs[r]));
    }
    return LAM_OK;
}

lam_status lam_privacy_accountant_epsilon(lam_privacy_accountant *acc, double delta,
                                          double *epsilon)
{
    LAM_TRY(lam_privacy_check_delta("lam_privacy_accountant_epsilon", delta));
    if (acc->n_runs == 0) {
        *epsilon = 0.0;
        return LAM_OK;
    }
    if (acc->kind == LAM_ACCOUNTANT_PRV)
        return lam_privacy_epsilon_composed(acc->kind, acc->runs, acc->n_runs, delta, epsilon,
                                            NULL);
    const double *orders;
    size_t n = lam_rdp_default_orders(&orders);
    double sum[LAM_RDP_N_DEFAULT_ORDERS];
    double steps = (double)acc->runs[acc->n_runs - 1].steps;
    for (size_t i = 0; i < n; i++) sum[i] = acc->rdp_closed[i] + acc->rdp_last_step[i] * steps;
    return lam_rdp_to_epsilon(orders, sum, n, delta, epsilon, NULL);
}
