/* loss.c - losses and accuracy, with Keras's reductions: mean over the
 * batch (a short last batch averages over its own size). The gradient
 * written is that of the batch mean. */
#include "core/model.h"

#include <math.h>
#include <string.h>

static const char *const loss_names[LAM_LOSS_COUNT] = {
    "sparse_categorical_crossentropy", "categorical_crossentropy", "binary_crossentropy",
    "mean_squared_error"};

const char *lam_loss_name(lam_loss loss)
{
    return (unsigned)loss < LAM_LOSS_COUNT ? loss_names[loss] : "?";
}

lam_status lam_loss_parse(const char *name, lam_loss *out)
{
    for (int i = 0; i < LAM_LOSS_COUNT; i++)
        if (strcmp(name, loss_names[i]) == 0) {
            *out = (lam_loss)i;
            return LAM_OK;
        }
    if (strcmp(name, "mse") == 0) {
        *out = LAM_LOSS_MSE;
        return LAM_OK;
    }
    return lam_error(LAM_ERR_UNSUPPORTED, "loss \"%s\" is not supported (expected "
                     "sparse_categorical_crossentropy, categorical_crossentropy, "
                     "binary_crossentropy or mean_squared_error)", name);
}

/* Probabilities are clipped to [1e-7, 1 - 1e-7] before a log, as Keras,
 * which does it in float32: there 1 - 1e-7 rounds to 1 - 2^-23, so a
 * probability of 1 costs -log(2^-23) = 15.94 on its complement, not 16.12. */
#define LAM_CLIP_EPS 1e-7
#define LAM_CLIP_HI ((double)(float)(1.0 - LAM_CLIP_EPS))

static int64_t argmax(const float *v, int64_t n)
{
    int64_t best = 0;
    for (int64_t j = 1; j < n; j++)
        if (v[j] > v[best]) best = j;
    return best;
}

/* log(sum(exp(z))) computed stably. */
static double logsumexp(const float *z, int64_t n)
{
    float mx = z[argmax(z, n)];
    double s = 0;
    for (int64_t j = 0; j < n; j++) s += exp((double)z[j] - mx);
    return mx + log(s);
}

double lam_loss_compute(lam_loss loss, const lam_node *last, const int32_t *labels,
                        const float *targets, int batch, float *grad, int64_t *correct)
{
    const int64_t D = last->out_size;
    const float *p = last->out;
    const float *z = last->logits; /* set when the loss is fused with the output activation */
    const bool fused = last->grad_is_preact;
    const double inv_b = 1.0 / batch;
    double total = 0;
    int64_t right = 0;
    for (int b = 0; b < batch; b++) {
        const float *pb = p + b * D;
        const float *zb = z ? z + b * D : NULL;
        const float *tb = targets + b * D;
        float *gb = grad ? grad + b * D : NULL;
        switch (loss) {
        case LAM_LOSS_SPARSE_CATEGORICAL_CE:
        case LAM_LOSS_CATEGORICAL_CE: {
            const bool sparse = loss == LAM_LOSS_SPARSE_CATEGORICAL_CE;
            int32_t y = sparse ? labels[b] : (int32_t)argmax(tb, D);
            if (fused) {
                double lse = logsumexp(zb, D);
                if (sparse) {
                    total += lse - zb[y];
                } else {
                    for (int64_t j = 0; j < D; j++) total += tb[j] * (lse - zb[j]);
                }
                if (gb)
                    for (int64_t j = 0; j < D; j++)
                        gb[j] = (float)((pb[j] - (sparse ? (j == y) : tb[j])) * inv_b);
            } else if (sparse) {
                /* Probabilities: clipped, then their logs taken as logits
                 * (Keras): -log(pc_y / sum pc), which renormalises a row
                 * that does not sum to 1. */
                double sc = 0;
                for (int64_t j = 0; j < D; j++) {
                    double q = pb[j];
                    sc += q < LAM_CLIP_EPS ? LAM_CLIP_EPS : q > LAM_CLIP_HI ? LAM_CLIP_HI : q;
                }
                double py = pb[y];
                double pc = py < LAM_CLIP_EPS ? LAM_CLIP_EPS : py > LAM_CLIP_HI ? LAM_CLIP_HI : py;
                total += log(sc) - log(pc);
                if (gb) /* d/dp_j = 1/sum - [j = y]/p_y, 0 where p_j is clipped */
                    for (int64_t j = 0; j < D; j++) {
                        double q = pb[j];
                        bool clipped = q < LAM_CLIP_EPS || q > LAM_CLIP_HI;
                        double g = clipped ? 0.0 : 1.0 / sc - (j == y ? 1.0 / pc : 0.0);
                        gb[j] = (float)(g * inv_b);
                    }
            } else {
                /* Keras normalises the probabilities to sum 1, then clips. */
                double s = 0;
                for (int64_t j = 0; j < D; j++) s += pb[j];
                for (int64_t j = 0; j < D; j++) {
                    double q = pb[j] / s;
                    double qc = q < LAM_CLIP_EPS ? LAM_CLIP_EPS : q > LAM_CLIP_HI ? LAM_CLIP_HI : q;
                    total += -tb[j] * log(qc);
                }
                if (gb) {
                    /* d/dp_j of -sum t_k log(p_k / s) = -t_j/p_j + sum(t)/s (unclipped region) */
                    double st = 0;
                    for (int64_t j = 0; j < D; j++) st += tb[j];
                    for (int64_t j = 0; j < D; j++) {
                        double q = pb[j] / s;
                        bool clipped = q < LAM_CLIP_EPS || q > LAM_CLIP_HI;
                        double g = (clipped ? 0.0 : -tb[j] / pb[j]) + st / s;
                        gb[j] = (float)(g * inv_b);
                    }
                }
            }
            if (argmax(pb, D) == y) right++;
            break;
        }
        case LAM_LOSS_BINARY_CE: {
            /* Mean over the last axis, then over the batch. */
            double l = 0;
            for (int64_t j = 0; j < D; j++) {
                double t = tb[j];
                if (fused) {
                    double x = zb[j];
                    /* max(x,0) - x t + log(1 + exp(-|x|)) */
                    l += (x > 0 ? x : 0) - x * t + log1p(exp(-fabs(x)));
                    if (gb) gb[j] = (float)((pb[j] - t) * inv_b / D);
                } else {
                    double q = pb[j];
                    double qc = q < LAM_CLIP_EPS ? LAM_CLIP_EPS : q > LAM_CLIP_HI ? LAM_CLIP_HI : q;
                    l += -(t * log(qc) + (1 - t) * log(1 - qc));
                    if (gb) gb[j] = q == qc ? (float)((-(t / qc) + (1 - t) / (1 - qc)) * inv_b / D) : 0.0f;
                }
                if ((pb[j] > 0.5f) == (t > 0.5)) right++;
            }
            total += l / D;
            break;
        }
        case LAM_LOSS_MSE: {
            double l = 0;
            for (int64_t j = 0; j < D; j++) {
                double d = (double)pb[j] - tb[j];
                l += d * d;
                if (gb) gb[j] = (float)(2.0 * d * inv_b / D);
            }
            total += l / D;
            break;
        }
        default:
            break;
        }
    }
    if (correct) *correct = right;
    return total;
}
