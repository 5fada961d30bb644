/*
 * lamina_privacy.h - differential-privacy accounting for DP-SGD: how much
 * privacy (epsilon at a given delta) a run of the Poisson-subsampled Gaussian
 * mechanism spends, and the noise multiplier that keeps it within a budget.
 * Included by lamina.h; do not include alone.
 *
 * Two accountants, both reproducing Opacus 1.6 (the numbers are checked
 * against fixtures made with it, tests/make_accountant_fixtures.py):
 *
 *   LAM_ACCOUNTANT_RDP  Renyi DP (Mironov 2017; Mironov, Talwar, Zhang 2019):
 *                       the exact sum for integer orders, the two-sided series
 *                       for fractional ones, Opacus's default orders, and the
 *                       RDP -> (eps, delta) conversion of Balle et al. 2020
 *                       (Theorem 21), as opacus.accountants.analysis.rdp does.
 *   LAM_ACCOUNTANT_PRV  privacy random variables (Gopi, Lee, Wutschitz 2021),
 *                       as Opacus's PRVAccountant: the privacy loss discretised
 *                       on a mesh chosen for eps_error = 0.01 and
 *                       delta_error = delta / 1000, composed by FFT; epsilon is
 *                       the upper end of the bound (estimate + eps_error), so
 *                       it is a guarantee, not an estimate.
 *
 * Intended usage, one step of DP-SGD at a time (what fit does):
 *
 *     lam_privacy_accountant *acc;
 *     lam_privacy_accountant_create(LAM_ACCOUNTANT_RDP, &acc);
 *     for (...) lam_privacy_accountant_step(acc, sigma, q, 1);
 *     double eps;
 *     lam_privacy_accountant_epsilon(acc, 1e-5, &eps);
 *
 * and on resume, lam_privacy_accountant_restore(acc, history, n) with the
 * (sigma, q, steps) list that lam_privacy_accountant_history gave.
 *
 * Arguments are checked: sigma > 0 and finite, 0 < q <= 1, 0 < delta < 1,
 * steps >= 0; anything else is LAM_ERR_ARG with a message naming the value.
 */
#ifndef LAMINA_PRIVACY_H
#define LAMINA_PRIVACY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    LAM_ACCOUNTANT_RDP = 0, /* Renyi DP, Opacus's RDPAccountant */
    LAM_ACCOUNTANT_PRV = 1  /* privacy random variables, Opacus's PRVAccountant */
} lam_accountant_kind;

/* "rdp" or "prv". */
const char *lam_accountant_name(lam_accountant_kind kind);
/* The accountant named name ("rdp", "prv"); LAM_ERR_ARG naming both otherwise. */
lam_status lam_accountant_parse(const char *name, lam_accountant_kind *out);

/* One run of `steps` steps at noise multiplier sigma and sample rate q. */
typedef struct lam_privacy_steps {
    double noise_multiplier;
    double sample_rate;
    int64_t steps;
} lam_privacy_steps;

/* ------------------------------------------------------------- one shot */

/* Epsilon spent by `steps` steps of the subsampled Gaussian at delta.
 * optimal_order (may be NULL) receives the RDP order that gave it (RDP; NaN for
 * PRV). Zero steps spend epsilon 0. */
lam_status lam_privacy_epsilon(lam_accountant_kind kind, double noise_multiplier,
                               double sample_rate, int64_t steps, double delta,
                               double *epsilon, double *optimal_order);

/* The same for a composition of runs with different sigma and q, in order. */
lam_status lam_privacy_epsilon_composed(lam_accountant_kind kind, const lam_privacy_steps *runs,
                                        size_t n_runs, double delta, double *epsilon,
                                        double *optimal_order);

/* The noise multiplier for which `steps` steps at sample rate q spend at most
 * target_epsilon at delta: Opacus's get_noise_multiplier (double sigma from 20
 * until epsilon <= target, then bisect until target - epsilon <= tolerance;
 * returns the upper end). tolerance: Opacus uses 0.01. LAM_ERR_ARG when even
 * sigma = 1e6 does not reach the target. */
lam_status lam_privacy_noise_multiplier(lam_accountant_kind kind, double target_epsilon,
                                        double delta, double sample_rate, int64_t steps,
                                        double tolerance, double *noise_multiplier);

/* The same after the runs already spent (a resumed training): the sigma for
 * which spent[0 .. n_spent) followed by `steps` steps at q spend at most
 * target_epsilon. LAM_ERR_ARG when the spent runs alone reach it. */
lam_status lam_privacy_noise_multiplier_after(lam_accountant_kind kind,
                                              const lam_privacy_steps *spent, size_t n_spent,
                                              double target_epsilon, double delta,
                                              double sample_rate, int64_t steps,
                                              double tolerance, double *noise_multiplier);

/* ----------------------------------------------------------------- RDP */

/* Opacus's RDPAccountant.DEFAULT_ALPHAS: 1.1, 1.2, ..., 10.9, then 12, ..., 63
 * (151 orders). Returns the count; *orders points at static storage. */
size_t lam_rdp_default_orders(const double **orders);

/* RDP of `steps` steps at each of the n orders (each > 1); rdp[i] may be +inf. */
lam_status lam_rdp_compute(double noise_multiplier, double sample_rate, int64_t steps,
                           const double *orders, size_t n, double *rdp);

/* (eps, delta) from RDP values: min over orders a of
 * rdp - (log delta + log a) / (a - 1) + log((a - 1) / a). optimal_order may be NULL. */
lam_status lam_rdp_to_epsilon(const double *orders, const double *rdp, size_t n, double delta,
                              double *epsilon, double *optimal_order);

/* ----------------------------------------------------------------- PRV */

/* Opacus's PRVAccountant.get_epsilon defaults. */
#define LAM_PRV_EPS_ERROR 0.01
#define LAM_PRV_DELTA_ERROR_FRACTION 1e-3 /* delta_error = delta / 1000 */
/* Largest discretised domain accepted (points before padding to a power of
 * two). Larger ones (low noise, many steps: epsilon in the hundreds) would take
 * gigabytes; they get LAM_ERR_UNSUPPORTED naming the RDP accountant instead. */
#define LAM_PRV_MAX_POINTS (1 << 23)

typedef struct lam_prv_result {
    double eps_lower, eps_estimate, eps_upper; /* eps_upper is the guarantee */
    int64_t points;                            /* discretisation points */
} lam_prv_result;

/* The full PRV answer for a composition, with explicit error targets
 * (eps_error > 0, 0 < delta_error < delta). */
lam_status lam_prv_epsilon(const lam_privacy_steps *runs, size_t n_runs, double delta,
                           double eps_error, double delta_error, lam_prv_result *out);

/* ------------------------------------------------------- incremental */

typedef struct lam_privacy_accountant lam_privacy_accountant;

lam_status lam_privacy_accountant_create(lam_accountant_kind kind, lam_privacy_accountant **out);
void lam_privacy_accountant_free(lam_privacy_accountant *acc);
lam_accountant_kind lam_privacy_accountant_kind(const lam_privacy_accountant *acc);
/* Records `count` more steps at (sigma, q); consecutive steps with the same
 * (sigma, q) extend the last history entry, as Opacus's accountants do. */
lam_status lam_privacy_accountant_step(lam_privacy_accountant *acc, double noise_multiplier,
                                       double sample_rate, int64_t count);
/* Epsilon spent so far at delta (0 before any step). RDP keeps the summed RDP
 * per order, so this costs one pass over the orders whatever the history. */
lam_status lam_privacy_accountant_epsilon(lam_privacy_accountant *acc, double delta,
                                          double *epsilon);
/* The composition so far: *runs points into the accountant (valid until the next
 * step); returns the number of entries. */
size_t lam_privacy_accountant_history(const lam_privacy_accountant *acc,
                                      const lam_privacy_steps **runs);
/* Replaces the history with runs (for resume); checks every entry. */
lam_status lam_privacy_accountant_restore(lam_privacy_accountant *acc,
                                          const lam_privacy_steps *runs, size_t n_runs);


/* ------------------------------------------------------------- DP-SGD
 *
 * Differentially private training in lam_fit (Abadi et al. 2016): set
 * lam_fit_options.dp to options from lam_dp_defaults(). Every step then
 *   - draws its batch by Poisson sampling: each training sample joins
 *     independently with probability q = batch_size / n (so batches vary in
 *     size and may be empty), ceil(n / batch_size) steps an epoch;
 *   - clips each sample's gradient to L2 norm clip_norm over all parameters
 *     together (g * min(1, C / ||g||); per_layer: each layer's part to
 *     C / sqrt(layers)) and sums them. When every trainable layer is Dense,
 *     Conv1D/2D, Embedding, LayerNormalization, PositionEmbedding or
 *     TokenAndPositionEmbedding (and none is shared), in one forward and
 *     backward of the batch: the layers give each sample's gradient norm
 *     (Dense from the Gram matrices of its inputs and output gradients,
 *     never forming the gradient; a convolution by forming and keeping each
 *     sample's kernel gradient), then the weight gradients are summed with
 *     the clip factors. Otherwise (recurrent layers, attention) each sample's
 *     gradient is computed alone, at batch 1: the reference path, which
 *     reference_clipping forces;
 *   - adds Gaussian noise N(0, (noise_multiplier * C)^2) to every coordinate
 *     of the sum and divides by the expected batch size q * n;
 *   - hands that to the gradient hook (if any) and the optimizer.
 * An empty batch still takes a step, of noise only (as Opacus does): the
 * accountant counts every step, so skipping would only waste budget.
 * The accountant records (noise_multiplier, q, 1) per step; epsilon at delta
 * is in each epoch's lam_epoch_log and the progress line. The model's
 * metadata keeps "dp.epsilon", "dp.delta", "dp.noise_multiplier",
 * "dp.clip_norm", "dp.steps", "dp.accountant" and "dp.history" (the
 * composition, "sigma:q:steps" entries separated by ';'); the next DP fit of
 * a model carrying them continues that accounting (saved and loaded with the
 * model file, so a resumed run spends from what was spent). A model with
 * layers that mix samples (BatchNormalization) is refused. A DP fit cannot
 * resume from a checkpoint taken inside an epoch (its Poisson draws are not
 * replayable); it resumes from epoch ends. */
typedef struct lam_dp_options {
    double clip_norm;        /* C > 0 (default 1) */
    double noise_multiplier; /* sigma >= 0 (default 1); 0 gives no privacy */
    double delta;            /* for the epsilon reported (default 1e-5) */
    lam_accountant_kind accountant; /* default LAM_ACCOUNTANT_RDP */
    /* true (default): Poisson sampling, as the accountant assumes. false: the
     * usual shuffled fixed-size batches; allowed, but the accounting then
     * does not hold (the reported epsilon is that of Poisson sampling). */
    bool poisson;
    /* false (default): noise from a cryptographically secure generator
     * (ChaCha20 keyed from the system's randombytes, libsodium; the OS's
     * getrandom without it). true: from the model's seeded generator, for
     * tests and reproducibility: NOT private. */
    bool seeded_noise;
    /* false (default): clip the flat gradient of each sample to clip_norm.
     * true: each trainable layer's part of it to clip_norm / sqrt(layers)
     * (so the whole still has norm <= clip_norm: the same sensitivity and
     * noise), as Opacus's per-layer clipping with equal thresholds. */
    bool per_layer;
    /* > 0: choose noise_multiplier (which is then ignored) so that this fit's
     * steps, after those the model's metadata says were spent before (a
     * resumed run), spend at most target_epsilon at delta: Opacus's
     * make_private_with_epsilon (tolerance 0.01), continued across resumes.
     * The value chosen is in the metadata's dp.noise_multiplier. Default 0. */
    double target_epsilon;
    /* true: compute each sample's gradient alone, a backward per sample
     * (the reference path, for tests). false (default): one backward per
     * batch, with per-sample norms from the layers (Dense by the Gram
     * matrices of its inputs and output gradients; see docs/PRIVACY.md),
     * wherever every trainable layer supports it; the reference otherwise. */
    bool reference_clipping;
} lam_dp_options;
lam_dp_options lam_dp_defaults(void);

#ifdef __cplusplus
}
#endif

#endif
