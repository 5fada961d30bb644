/* accountant.h - what the privacy accountant's files share (not public). */
#ifndef LAM_PRIVACY_ACCOUNTANT_H
#define LAM_PRIVACY_ACCOUNTANT_H

#include "core/internal.h"

/* Checks one run's arguments, naming `what` ("run 2", "lam_privacy_epsilon") in the message. */
lam_status lam_privacy_check_run(const char *what, double noise_multiplier, double sample_rate,
                                 int64_t steps);
lam_status lam_privacy_check_delta(const char *what, double delta);

/* Opacus's default orders: 99 fractional (1.1 .. 10.9) and 52 integer (12 .. 63). */
#define LAM_RDP_N_DEFAULT_ORDERS 151

/* RDP of one step at each order (accountant_rdp.c). */
void lam_rdp_one_step(double noise_multiplier, double sample_rate, const double *orders,
                      size_t n, double *rdp);

/* In-place complex FFT of n = 2^k points (re, im separate arrays); inverse when inverse is
 * nonzero (unscaled: divide by n yourself). LAM_ERR_ARG when n is not a power of two. The
 * PRV accountant's self-composition (accountant_fft.c). */
lam_status lam_fft_radix2(double *re, double *im, size_t n, int inverse);
/* The O(n^2) DFT of any n, out of place: the reference the FFT is tested against. */
lam_status lam_dft_naive(const double *re, const double *im, size_t n, int inverse,
                         double *out_re, double *out_im);

#endif
