/* ig_exact.c - exact integrated gradients for piecewise-linear networks
 * (placeholder until the region walk lands). */
#include "explain/explain.h"

lam_status lam_ig_exact(lam_model *m, const float *x, const float *baseline, int output,
                        int target, lam_score score, float *attr, int64_t *regions)
{
    (void)m, (void)x, (void)baseline, (void)output, (void)target, (void)score, (void)attr;
    *regions = 0;
    return lam_error(LAM_ERR_UNSUPPORTED, "exact integrated gradients: not built yet");
}
