/* weights_diff.c - compares the weights of two saved models, for the shell
 * tests of data-parallel training (tests/test_mpi*.sh).
 *
 *     lamina_weights_diff A.safetensors B.safetensors TOL
 *
 * Prints the largest relative difference |a - b| / max(|a|, |b|, 1e-3) over
 * all weights (the floor keeps weights near zero from dominating) and exits
 * 0 when it is at most TOL, 1 when it is larger, 2 on an error or when the
 * models differ in size. */
#include "lamina.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: lamina_weights_diff A.safetensors B.safetensors TOL\n");
        return 2;
    }
    lam_model *a = NULL, *b = NULL;
    if (lam_model_load(argv[1], &a) != LAM_OK || lam_model_load(argv[2], &b) != LAM_OK) {
        fprintf(stderr, "lamina_weights_diff: %s\n", lam_last_error());
        lam_model_free(a);
        return 2;
    }
    const int64_t n = lam_model_param_count(a);
    if (n != lam_model_param_count(b)) {
        fprintf(stderr, "lamina_weights_diff: %lld weights against %lld\n", (long long)n,
                (long long)lam_model_param_count(b));
        lam_model_free(a);
        lam_model_free(b);
        return 2;
    }
    const float *pa = lam_model_params(a), *pb = lam_model_params(b);
    double worst = 0;
    int64_t at = 0;
    for (int64_t i = 0; i < n; i++) {
        const double x = pa[i], y = pb[i];
        const double scale = fmax(fmax(fabs(x), fabs(y)), 1e-3);
        const double r = fabs(x - y) / scale;
        if (!(r <= worst)) { /* NaN counts as the worst */
            worst = r;
            at = i;
        }
    }
    const double tol = strtod(argv[3], NULL);
    printf("%lld weights, largest relative difference %.3g (weight %lld: %.9g vs %.9g)\n",
           (long long)n, worst, (long long)at, n ? pa[at] : 0.0, n ? pb[at] : 0.0);
    lam_model_free(a);
    lam_model_free(b);
    return worst <= tol ? 0 : 1;
}
