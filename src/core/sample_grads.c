/* sample_grads.c - per-sample gradients in one backward of the batch, for
 * DP-SGD's clipping (the reference, one backward per sample, is in
 * src/train/dp.c). lam_backward_sample_norms runs the batch's backward with
 * each trainable op adding its samples' squared gradient norms instead of
 * its parameter gradients (Dense by the Gram matrices of its inputs and
 * output gradients, never forming them; a convolution by forming each
 * sample's gradient, which it may keep); lam_backward_reweighted then gives
 * sum_b w_b g_b: from the kept per-sample gradients, or by running the op's
 * backward once more on its output gradient with row b scaled by w_b
 * (backward is linear in the output gradient, sample by sample). */
#include "model.h"

#include <omp.h>
#include <string.h>

/* Per-sample gradients are kept up to this many bytes over the model: 256
 * samples of the seed CNN's second convolution take 19 MB. */
#define SAMPLE_KEEP_BYTES ((int64_t)256 << 20)

/* A node holding trainable weights (a shared layer's later calls do not):
 * planned with sample_group >= 0, and either sample_grads or sample_dy. */
static bool trainable(const lam_node *nd)
{
    return nd->op && nd->owner == nd->index && nd->param_count > 0;
}

lam_status lam_model_check_sample_norms(const lam_model *m)
{
    if (!m) return lam_error(LAM_ERR_ARG, "lam_model_check_sample_norms: NULL model");
    for (int i = 0; i < m->n; i++) {
        const lam_node *nd = &m->nodes[i];
        if (!nd->op || nd->param_count == 0) continue;
        if (nd->owner != i)
            return lam_error(LAM_ERR_UNSUPPORTED, "model \"%s\": layer \"%s\" is called more "
                             "than once; its per-sample gradient sums over the calls, which "
                             "the one-pass per-sample norms do not compute", m->name,
                             nd->spec.name);
        if (!nd->op->sample_norms)
            return lam_error(LAM_ERR_UNSUPPORTED, "model \"%s\": layer \"%s\" (%s) has no "
                             "one-pass per-sample gradient norms", m->name, nd->spec.name,
                             nd->op->class_name);
    }
    return LAM_OK;
}

lam_status lam_model_keep_sample_norms(lam_model *m, bool keep)
{
    if (!m) return lam_error(LAM_ERR_ARG, "lam_model_keep_sample_norms: NULL model");
    if (keep) LAM_TRY(lam_model_check_sample_norms(m));
    if (m->keep_sample_norms != keep) {
        m->keep_sample_norms = keep;
        m->sample_keep_bytes = SAMPLE_KEEP_BYTES;
        lam_model_free_plan(m); /* the next plan allocates (or drops) the buffers */
    }
    return LAM_OK;
}

int lam_model_sample_groups(const lam_model *m)
{
    int g = 0;
    for (int i = 0; i < m->n; i++) g += trainable(&m->nodes[i]);
    return g;
}

lam_status lam_model_plan_sample_norms(lam_model *m, int batch)
{
    const size_t B = (size_t)batch;
    int64_t work = 0, kept = 0;
    int g = 0;
    for (int i = 0; i < m->n; i++) {
        lam_node *nd = &m->nodes[i];
        nd->sample_group = -1;
        if (!trainable(nd)) continue;
        nd->sample_group = g++;
        const int64_t bytes = (int64_t)(sizeof(float) * B) * nd->param_count;
        if (nd->op->keeps_sample_grads && kept + bytes <= m->sample_keep_bytes) {
            if (!(nd->sample_grads = lam_alloc_aligned((size_t)bytes))) return LAM_ERR_NOMEM;
            kept += bytes;
        } else if (!(nd->sample_dy = lam_alloc_aligned(sizeof(float) * B * (size_t)nd->out.size))) {
            return LAM_ERR_NOMEM; /* kept gradients need no second backward, nor its input */
        }
        if (nd->op->sample_scratch) {
            const int64_t s = nd->op->sample_scratch(nd);
            if (s > work) work = s;
        }
    }
    m->sample_threads = omp_get_max_threads();
    if (work && !(m->sample_work = lam_alloc_aligned(sizeof(float) * (size_t)work *
                                                     (size_t)m->sample_threads)))
        return LAM_ERR_NOMEM;
    return LAM_OK;
}

void lam_model_free_sample_norms(lam_model *m)
{
    for (int i = 0; i < m->n; i++) {
        lam_node *nd = &m->nodes[i];
        lam_free_aligned(nd->sample_dy);
        lam_free_aligned(nd->sample_grads);
        nd->sample_dy = nd->sample_grads = NULL;
    }
    lam_free_aligned(m->sample_work);
    m->sample_work = NULL;
    m->sample_threads = 0;
}

/* grads [P] = sum_b w[b] G[b, P], each entry summed in sample order. */
static void weighted_rows(const float *G, const float *w, int batch, int64_t P, float *grads)
{
    #pragma omp parallel for schedule(static)
    for (int64_t p0 = 0; p0 < P; p0 += 256) {
        const int64_t p1 = p0 + 256 < P ? p0 + 256 : P;
        for (int64_t p = p0; p < p1; p++) grads[p] = 0;
        for (int b = 0; b < batch; b++) {
            const float wb = w[b], *row = G + (int64_t)b * P;
            for (int64_t p = p0; p < p1; p++) grads[p] += wb * row[p];
        }
    }
}

lam_status lam_backward_reweighted(lam_model *m, int batch, const float *w)
{
    if (!m || !w) return lam_error(LAM_ERR_ARG, "lam_backward_reweighted: NULL argument");
    if (!m->keep_sample_norms || m->last_batch != batch || m->last_mode != LAM_MODE_TRAIN)
        return lam_error(LAM_ERR_STATE, "model \"%s\": lam_backward_reweighted needs "
                         "lam_backward_sample_norms of batch %d first", m->name, batch);
    for (int k = 0; k < m->max_inputs; k++) m->dxs[k] = NULL; /* parameter gradients only */
    for (int i = 0; i < m->n; i++) {
        lam_node *nd = &m->nodes[i];
        if (nd->sample_group < 0) continue;
        const float *wg = w + (int64_t)nd->sample_group * batch;
        float *grads = m->grads + nd->param_offset;
        if (!m->has_grad[i]) { /* no gradient reached it (a branch feeding no output) */
            memset(grads, 0, sizeof(float) * (size_t)nd->param_count);
        } else if (nd->sample_grads) {
            weighted_rows(nd->sample_grads, wg, batch, nd->param_count, grads);
        } else {
            const int64_t D = nd->out.size;
            for (int b = 0; b < batch; b++)
                for (int64_t j = 0; j < D; j++) nd->sample_dy[b * D + j] *= wg[b];
            for (int k = 0; k < nd->ninputs; k++) {
                m->xs[k] = m->nodes[nd->inputs[k]].value;
                m->in_masks[k] = m->nodes[nd->inputs[k]].mask;
            }
            lam_ctx c = lam_node_ctx(m, nd, m->last_mode);
            nd->op->backward(nd, &c, m->xs, nd->value, nd->sample_dy, m->dxs, batch);
        }
    }
    return LAM_OK;
}
