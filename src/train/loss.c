/* loss.c - losses and accuracy, with Keras's reductions: mean over the
 * batch (a short last batch averages over its own size). The gradient
 * written is that of the batch mean. */
#include "train/train.h"

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

/* One output's loss summed over the batch's samples (each sample's loss the
 * weighted mean over its positions), its gradient of the batch mean into
 * grad (may be NULL), and its accuracy counts. Rows are positions: D values
 * on the last axis each. per_sample: each sample's gradient of its own loss
 * instead, as in a batch of one (DP-SGD's per-sample gradients). */
static double output_loss(lam_loss loss, const lam_node *o, const lam_target *tg, int batch,
                          bool per_sample, float *grad, double *correct, double *counted)
{
    const int64_t D = o->out.dim[o->out.rank - 1], P = lam_node_positions(o);
    const float *p = o->value;
    const float *z = o->keep_logits ? o->logits : NULL; /* the loss fused with the activation */
    const int32_t *labels = tg->labels;
    const float *targets = tg->values;
    /* A masked output (Keras's _keras_mask on y_pred) weighs its padded
     * positions 0 and, as Keras's apply_mask for sum_over_batch_size, its
     * real ones total / valid: the mean is over the real positions. */
    const float *mask = o->mask;
    const int64_t rows = (int64_t)batch * P;
    int64_t valid = rows;
    if (mask) {
        valid = 0;
        for (int64_t r = 0; r < rows; r++) valid += mask[r] != 0.0f;
    }
    const double inv_b = mask ? (valid ? 1.0 / (double)valid : 0.0) : 1.0 / batch / (double)P;
    double total = 0, right = 0, units = 0, inv_g = inv_b;
    for (int64_t r = 0; r < rows; r++) {
        if (per_sample && r % P == 0) { /* the gradient's scale of a batch of one */
            int64_t real = P;
            if (mask) {
                real = 0;
                for (int64_t k = r; k < r + P; k++) real += mask[k] != 0.0f;
            }
            inv_g = real ? 1.0 / (double)real : 0.0;
        }
        const float *pb = p + r * D;
        const float *zb = z ? z + r * D : NULL;
        const float *tb = targets ? targets + r * D : NULL;
        float *gb = grad ? grad + r * D : NULL;
        if (mask && mask[r] == 0.0f) { /* padding: no loss, no gradient, not counted */
            if (gb) memset(gb, 0, sizeof(float) * (size_t)D);
            continue;
        }
        const double w = tg->weights ? tg->weights[r] : 1.0, gs = w * inv_g;
        double l = 0;
        switch (loss) {
        case LAM_LOSS_SPARSE_CATEGORICAL_CE:
        case LAM_LOSS_CATEGORICAL_CE: {
            const bool sparse = loss == LAM_LOSS_SPARSE_CATEGORICAL_CE;
            int32_t y = sparse ? labels[r] : (int32_t)argmax(tb, D);
            if (z) {
                double lse = logsumexp(zb, D);
                if (sparse) {
                    l = lse - zb[y];
                } else {
                    for (int64_t j = 0; j < D; j++) l += tb[j] * (lse - zb[j]);
                }
                if (gb)
                    for (int64_t j = 0; j < D; j++)
                        gb[j] = (float)((pb[j] - (sparse ? (j == y) : tb[j])) * gs);
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
                l = log(sc) - log(pc);
                if (gb) /* d/dp_j = 1/sum - [j = y]/p_y, 0 where p_j is clipped */
                    for (int64_t j = 0; j < D; j++) {
                        double q = pb[j];
                        bool clipped = q < LAM_CLIP_EPS || q > LAM_CLIP_HI;
                        double g = clipped ? 0.0 : 1.0 / sc - (j == y ? 1.0 / pc : 0.0);
                        gb[j] = (float)(g * gs);
                    }
            } else {
                /* Keras normalises the probabilities to sum 1, then clips. */
                double s = 0;
                for (int64_t j = 0; j < D; j++) s += pb[j];
                for (int64_t j = 0; j < D; j++) {
                    double q = pb[j] / s;
                    double qc = q < LAM_CLIP_EPS ? LAM_CLIP_EPS : q > LAM_CLIP_HI ? LAM_CLIP_HI : q;
                    l += -tb[j] * log(qc);
                }
                if (gb) {
                    /* d/dp_j of -sum t_k log(p_k / s) = -t_j/p_j + sum(t)/s (unclipped region) */
                    double st = 0;
                    for (int64_t j = 0; j < D; j++) st += tb[j];
                    for (int64_t j = 0; j < D; j++) {
                        double q = pb[j] / s;
                        bool clipped = q < LAM_CLIP_EPS || q > LAM_CLIP_HI;
                        double g = (clipped ? 0.0 : -tb[j] / pb[j]) + st / s;
                        gb[j] = (float)(g * gs);
                    }
                }
            }
            if (argmax(pb, D) == y) right += w;
            units += w;
            break;
        }
        case LAM_LOSS_BINARY_CE: {
            /* Mean over the last axis, then over the batch. */
            for (int64_t j = 0; j < D; j++) {
                double t = tb[j];
                if (z) {
                    double x = zb[j];
                    /* max(x,0) - x t + log(1 + exp(-|x|)) */
                    l += (x > 0 ? x : 0) - x * t + log1p(exp(-fabs(x)));
                    if (gb) gb[j] = (float)((pb[j] - t) * gs / D);
                } else {
                    double q = pb[j];
                    double qc = q < LAM_CLIP_EPS ? LAM_CLIP_EPS : q > LAM_CLIP_HI ? LAM_CLIP_HI : q;
                    l += -(t * log(qc) + (1 - t) * log(1 - qc));
                    if (gb) gb[j] = q == qc ? (float)((-(t / qc) + (1 - t) / (1 - qc)) * gs / D) : 0.0f;
                }
                if ((pb[j] > 0.5f) == (t > 0.5)) right += w;
            }
            units += w * (double)D;
            l /= D;
            break;
        }
        case LAM_LOSS_MSE: {
            for (int64_t j = 0; j < D; j++) {
                double d = (double)pb[j] - tb[j];
                l += d * d;
                if (gb) gb[j] = (float)(2.0 * d * gs / D);
            }
            l /= D;
            break;
        }
        default:
            break;
        }
        /* The sum over samples of each one's mean over positions; masked,
         * batch times the mean over the real positions. */
        total += mask ? w * l * inv_b * batch : w * l / (double)P;
    }
    *correct = right;
    *counted = units;
    return total;
}

static lam_status loss_eval(lam_model *m, int batch, const lam_target *targets,
                            bool write_grads, bool per_sample, lam_batch_metrics *out)
{
    if (!m || !targets || !out) return lam_error(LAM_ERR_ARG, "lam_loss_eval: NULL argument");
    if (!m->compiled || batch != m->last_batch)
        return lam_error(LAM_ERR_STATE, "model \"%s\": lam_loss_eval of batch %d needs a "
                         "forward of that batch first", m->name, batch);
    memset(out, 0, sizeof *out);
    for (int k = 0; k < lam_model_num_outputs(m); k++) {
        lam_node *o = lam_model_output_node(m, k);
        const lam_loss loss = m->losses[k];
        const lam_target *tg = &targets[k];
        if (loss == LAM_LOSS_SPARSE_CATEGORICAL_CE ? !tg->labels : !tg->values)
            return lam_error(LAM_ERR_ARG, "model \"%s\": output %d (\"%s\") has loss %s, which "
                             "needs %s", m->name, k, o->spec.name, lam_loss_name(loss),
                             loss == LAM_LOSS_SPARSE_CATEGORICAL_CE ? "integer labels"
                                                                    : "target values");
        float *grad = NULL;
        if (write_grads) {
            grad = o->grad;
            o->grad_is_preact = o->keep_logits;
        }
        double correct, counted;
        const double l = output_loss(loss, o, tg, batch, per_sample, grad, &correct, &counted);
        const float w = m->loss_weights[k];
        if (grad && w != 1.0f)
            for (int64_t i = 0; i < (int64_t)batch * o->out.size; i++) grad[i] *= w;
        out->loss += w * l;
        if (k == 0) {
            out->correct = correct;
            out->counted = counted;
        }
    }
    return LAM_OK;
}

lam_status lam_loss_eval(lam_model *m, int batch, const lam_target *targets, bool write_grads,
                         lam_batch_metrics *out)
{
    return loss_eval(m, batch, targets, write_grads, false, out);
}

lam_status lam_loss_eval_per_sample(lam_model *m, int batch, const lam_target *targets,
                                    lam_batch_metrics *out)
{
    return loss_eval(m, batch, targets, true, true, out);
}
