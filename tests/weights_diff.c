/* weights_diff.c - compares the weights of two saved models, for the shell
 * tests of data-parallel training (tests/test_mpi*.sh).
 *
 *     lamina_weights_diff A.safetensors B.safetensors TOL
 *
 * For every weight tensor (trainable and not) it computes the relative
 * difference ||a - b|| / ||a|| (L2 norms; 0 when both are zero) and exits 0
 * when the largest is at most TOL, 1 when larger, 2 on an error or when the
 * models' tensors differ. It prints the worst tensor, and the largest
 * elementwise difference too, for the record: after a few Adam steps a
 * weight whose gradient is near zero moves by about the learning rate in a
 * direction float rounding decides, so elementwise relative differences of
 * two correct computations summed in different orders are not small; the
 * tensor's norm is the measure that is. */
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
    int rc = 0;
    const int nt = lam_model_num_tensors(a);
    if (nt != lam_model_num_tensors(b)) {
        fprintf(stderr, "lamina_weights_diff: %d tensors against %d\n", nt,
                lam_model_num_tensors(b));
        rc = 2;
    }
    double worst = 0, worst_abs = 0;
    const char *worst_name = "";
    for (int t = 0; rc == 0 && t < nt; t++) {
        lam_tensor_info ta, tb;
        if (lam_model_tensor(a, t, &ta) != LAM_OK || lam_model_tensor(b, t, &tb) != LAM_OK ||
            ta.count != tb.count) {
            fprintf(stderr, "lamina_weights_diff: tensor %d differs in size\n", t);
            rc = 2;
            break;
        }
        double dd = 0, aa = 0;
        for (int64_t i = 0; i < ta.count; i++) {
            const double x = ta.data[i], y = tb.data[i];
            dd += (x - y) * (x - y);
            aa += x * x;
            if (!(fabs(x - y) <= worst_abs)) worst_abs = fabs(x - y);
        }
        const double r = aa > 0 ? sqrt(dd / aa) : (dd > 0 ? INFINITY : 0);
        if (!(r <= worst)) { /* NaN counts as the worst */
            worst = r;
            worst_name = ta.name;
        }
    }
    if (rc == 0) {
        const double tol = strtod(argv[3], NULL);
        printf("%d tensors: largest relative difference %.3g (%s); largest elementwise "
               "difference %.3g\n", nt, worst, worst_name, worst_abs);
        rc = worst <= tol ? 0 : 1;
    }
    lam_model_free(a);
    lam_model_free(b);
    return rc;
}
