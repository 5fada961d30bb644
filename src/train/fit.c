/* fit.c - fit, evaluate and predict: Keras's training loop over a planned
 * model. A training step allocates nothing. */
#include "train/train.h"
#include "train/progress.h"
#include "train/dp.h"
#include "core/worker.h"
#include "train/dist.h"

#include <math.h>
#include <string.h>

lam_fit_options lam_fit_defaults(void)
{
    return (lam_fit_options){.epochs = 1, .batch_size = 32, .shuffle = true, .verbose = 1};
}

void lam_history_free(lam_history *h)
{
    if (!h) return;
    lam_free(h->log);
    lam_free(h);
}

/* Shapes equal once trailing 1s are dropped: (28, 28, 1) fits (28, 28). */
static bool same_shape(int ra, const int64_t *a, int rb, const int64_t *b)
{
    while (ra > 1 && a[ra - 1] == 1) ra--;
    while (rb > 1 && b[rb - 1] == 1) rb--;
    if (ra != rb) return false;
    for (int i = 0; i < ra; i++)
        if (a[i] != b[i]) return false;
    return true;
}

static void shape_str(char *buf, size_t n, int rank, const int64_t *s)
{
    int k = snprintf(buf, n, "(");
    for (int i = 0; i < rank; i++)
        k += snprintf(buf + k, n - (size_t)k, i ? ", %lld" : "%lld", (long long)s[i]);
    snprintf(buf + k, n - (size_t)k, rank == 1 ? ",)" : ")");
}

/* The data of one fit/evaluate/predict: a data set per input (its x) and
 * per output (its labels or targets), and the batch buffers of the targets. */
typedef struct fit_data {
    int nx, ny;
    const lam_dataset *const *x;
    const lam_dataset *const *y;
    lam_target *t;     /* ny, pointing into the buffers below */
    int32_t **labels;  /* per output: [batch, positions] */
    float **values;    /* per output: [batch, output size] */
    float **weights;   /* per output: [batch, positions], or NULL */
} fit_data;

/* Rejects data that cannot train or evaluate this model, before any work. */
static lam_status check_data(const lam_model *m, const fit_data *d, const char *what,
                             bool need_targets)
{
    if (d->nx != m->ninputs)
        return lam_error(LAM_ERR_ARG, "model \"%s\": %d %s input data sets for %d model inputs",
                         m->name, d->nx, what, m->ninputs);
    for (int k = 0; k < d->nx; k++) {
        const lam_dataset *ds = d->x[k];
        const lam_node *in = lam_model_input_node(m, k);
        if (!ds) return lam_error(LAM_ERR_ARG, "model \"%s\": %s data is NULL", m->name, what);
        if (ds->n != d->x[0]->n)
            return lam_error(LAM_ERR_ARG, "model \"%s\": %s input \"%s\" has %lld samples, input "
                             "\"%s\" %lld", m->name, what, in->spec.name, (long long)ds->n,
                             lam_model_input_node(m, 0)->spec.name, (long long)d->x[0]->n);
        if (!same_shape(in->out.rank, in->out.dim, ds->rank, ds->shape)) {
            char a[96], b[96];
            shape_str(a, sizeof a, in->out.rank, in->out.dim);
            shape_str(b, sizeof b, ds->rank, ds->shape);
            return lam_error(LAM_ERR_SHAPE, "model \"%s\": input \"%s\" has shape %s, which does "
                             "not match the %s data's sample shape %s", m->name, in->spec.name,
                             a, what, b);
        }
    }
    if (!need_targets) return LAM_OK;
    if (d->ny != lam_model_num_outputs(m))
        return lam_error(LAM_ERR_ARG, "model \"%s\": %d %s target data sets for %d model outputs",
                         m->name, d->ny, what, lam_model_num_outputs(m));
    for (int k = 0; k < d->ny; k++) {
        const lam_dataset *ds = d->y[k];
        const lam_node *last = lam_model_output_node(m, k);
        const lam_loss loss = m->losses[k];
        const int64_t D = last->out.dim[last->out.rank - 1], P = lam_node_positions(last);
        if (!ds) return lam_error(LAM_ERR_ARG, "model \"%s\": %s data is NULL", m->name, what);
        if (ds->n != d->x[0]->n)
            return lam_error(LAM_ERR_ARG, "model \"%s\": %s targets of output \"%s\" have %lld "
                             "samples, the inputs %lld", m->name, what, last->spec.name,
                             (long long)ds->n, (long long)d->x[0]->n);
        switch (loss) {
        case LAM_LOSS_SPARSE_CATEGORICAL_CE:
            if (!ds->labels)
                return lam_error(LAM_ERR_ARG, "model \"%s\": loss %s needs integer labels in the "
                                 "%s data", m->name, lam_loss_name(loss), what);
            if (ds->label_size != P)
                return lam_error(LAM_ERR_SHAPE, "model \"%s\": output \"%s\" predicts %lld "
                                 "positions per sample, the %s data has %lld labels per sample",
                                 m->name, last->spec.name, (long long)P, what,
                                 (long long)ds->label_size);
            for (int64_t i = 0; i < ds->n * P; i++)
                if ((ds->labels[i] < 0 || ds->labels[i] >= D) &&
                    !(ds->weights && ds->weights[i] == 0))
                    return lam_error(LAM_ERR_ARG, "model \"%s\": %s label %d (sample %lld) is "
                                     "outside the %lld classes of layer \"%s\"", m->name, what,
                                     ds->labels[i], (long long)(i / P), (long long)D,
                                     last->spec.name);
            break;
        default:
            if (ds->targets) {
                if (ds->target_size != last->out.size)
                    return lam_error(LAM_ERR_SHAPE, "model \"%s\": %s targets have %lld values "
                                     "per sample, output \"%s\" has %lld", m->name, what,
                                     (long long)ds->target_size, last->spec.name,
                                     (long long)last->out.size);
            } else if (ds->labels && ds->label_size == P) {
                /* Labels stand for one-hot rows (categorical) or scalar targets. */
                for (int64_t i = 0; i < ds->n * P; i++) {
                    int32_t y = ds->labels[i];
                    bool ok = loss == LAM_LOSS_CATEGORICAL_CE ? (y >= 0 && y < D) : D == 1;
                    if (!ok)
                        return lam_error(LAM_ERR_ARG, "model \"%s\": %s label %d (sample %lld) "
                                         "cannot serve as a target for loss %s with %lld outputs",
                                         m->name, what, y, (long long)(i / P), lam_loss_name(loss),
                                         (long long)D);
                }
            } else {
                return lam_error(LAM_ERR_ARG, "model \"%s\": loss %s needs targets in the %s data",
                                 m->name, lam_loss_name(loss), what);
            }
        }
    }
    return LAM_OK;
}

static void data_free(fit_data *d)
{
    for (int k = 0; k < d->ny; k++) {
        if (d->labels) lam_free(d->labels[k]);
        if (d->values) lam_free_aligned(d->values[k]);
        if (d->weights) lam_free(d->weights[k]);
    }
    lam_free(d->t);
    lam_free(d->labels);
    lam_free(d->values);
    lam_free(d->weights);
    d->t = NULL;
    d->labels = NULL;
    d->values = NULL;
    d->weights = NULL;
}

/* Target buffers for batches of up to `batch` samples. */
static lam_status data_alloc(const lam_model *m, fit_data *d, int batch)
{
    d->t = lam_calloc((size_t)d->ny, sizeof *d->t);
    d->labels = lam_calloc((size_t)d->ny, sizeof *d->labels);
    d->values = lam_calloc((size_t)d->ny, sizeof *d->values);
    d->weights = lam_calloc((size_t)d->ny, sizeof *d->weights);
    if (!d->t || !d->labels || !d->values || !d->weights) goto nomem;
    for (int k = 0; k < d->ny; k++) {
        const lam_node *o = lam_model_output_node(m, k);
        const size_t P = (size_t)lam_node_positions(o);
        if (!(d->labels[k] = lam_calloc((size_t)batch * P, sizeof(int32_t))) ||
            !(d->values[k] = lam_alloc_aligned(sizeof(float) * (size_t)batch * (size_t)o->out.size)))
            goto nomem;
        if (d->y[k]->weights && !(d->weights[k] = lam_malloc(sizeof(float) * (size_t)batch * P)))
            goto nomem;
        d->t[k] = (lam_target){d->labels[k], d->values[k], d->weights[k]};
    }
    return LAM_OK;
nomem:
    data_free(d);
    return LAM_ERR_NOMEM;
}

/* Copies samples idx[0..count) (or first.. when idx is NULL) into the
 * input buffers xs (NULL: the model's) and the target buffers, turning
 * labels into targets where the loss wants. */
static void load_batch_into(lam_model *m, const fit_data *d, float *const *xs,
                            const int64_t *idx, int64_t first, int count)
{
    for (int k = 0; k < d->nx; k++)
        lam_dataset_gather_at(d->x[k], idx, first, count,
                              xs ? xs[k] : lam_model_input_buffer(m, k), NULL, NULL, NULL);
    for (int k = 0; d->t && k < d->ny; k++) {
        const lam_dataset *ds = d->y[k];
        const lam_node *o = lam_model_output_node(m, k);
        const int64_t D = o->out.dim[o->out.rank - 1], P = lam_node_positions(o);
        lam_dataset_gather_at(ds, idx, first, count, NULL, ds->labels ? d->labels[k] : NULL,
                              ds->targets ? d->values[k] : NULL, d->weights[k]);
        if (ds->targets || m->losses[k] == LAM_LOSS_SPARSE_CATEGORICAL_CE || !ds->labels)
            continue;
        for (int64_t r = 0; r < count * P; r++) {
            float *t = d->values[k] + r * D;
            if (m->losses[k] == LAM_LOSS_CATEGORICAL_CE) {
                memset(t, 0, sizeof(float) * (size_t)D);
                t[d->labels[k][r]] = 1.0f;
            } else {
                t[0] = (float)d->labels[k][r];
            }
        }
    }
}

static void load_batch(lam_model *m, const fit_data *d, const int64_t *idx, int64_t first,
                       int count)
{
    load_batch_into(m, d, NULL, idx, first, count);
}

/* Prefetch (lam_fit_options.prefetch): while step s computes, a worker
 * thread gathers the batch of step s + 1 into buffers of its own; step
 * s + 1 then copies its inputs into the model's buffers and swaps the
 * target buffers. The same samples in the same order reach the same
 * buffers, so training is bit-identical with and without it. Batches are
 * prefetched only inside an epoch: the next epoch's order depends on the
 * generator after this epoch's last step. A data-parallel rank gathers
 * (and so reads, from a mapped file) only its slice of each batch. */
typedef struct batch_prefetch {
    lam_worker *worker; /* NULL: no prefetch */
    lam_model *m;
    const lam_dist *dist; /* NULL: whole batches */
    fit_data d;  /* the training data with the staged target buffers */
    float **xs;  /* staged inputs, one buffer per model input */
    const int64_t *order;
    int64_t first; /* the staged batch: positions first.. of the order */
    int count;
    bool pending;
} batch_prefetch;

/* Loads this rank's slice of the batch at positions [first, first + count)
 * of order (or samples first.. without order): into the model's inputs, or
 * into xs when given. */
static void load_slice(lam_model *m, const fit_data *d, float **xs, const lam_dist *dist,
                       const int64_t *order, int64_t first, int count)
{
    int mine = 0, local = count;
    if (dist) lam_dist_share(dist, count, &mine, &local);
    if (local > 0)
        load_batch_into(m, d, xs, order ? order + first + mine : NULL, first + mine, local);
}

static void prefetch_job(void *arg)
{
    batch_prefetch *p = arg;
    load_slice(p->m, &p->d, p->xs, p->dist, p->order, p->first, p->count);
}

static void prefetch_end(batch_prefetch *p)
{
    lam_worker_stop(p->worker);
    for (int k = 0; p->xs && k < p->d.nx; k++) lam_free_aligned(p->xs[k]);
    lam_free(p->xs);
    data_free(&p->d);
    *p = (batch_prefetch){0};
}

/* Starts the worker of p (whose dist is set) for batches of up to `batch`. */
static lam_status prefetch_begin(batch_prefetch *p, lam_model *m, const fit_data *d, int batch)
{
    *p = (batch_prefetch){.m = m, .dist = p->dist, .d = *d};
    p->d.t = NULL;
    lam_status st = data_alloc(m, &p->d, batch);
    if (st == LAM_OK && !(p->xs = lam_calloc((size_t)d->nx, sizeof *p->xs))) st = LAM_ERR_NOMEM;
    for (int k = 0; st == LAM_OK && k < d->nx; k++) {
        const size_t bytes = sizeof(float) * (size_t)batch * (size_t)d->x[k]->sample_size;
        if (!(p->xs[k] = lam_alloc_aligned(bytes))) st = LAM_ERR_NOMEM;
    }
    if (st == LAM_OK) st = lam_worker_start(&p->worker);
    if (st != LAM_OK) prefetch_end(p);
    return st;
}

/* Loads (this rank's slice of) the batch of samples order[first..first +
 * count) (or first.. without order) into the model and d, from the
 * prefetched one when it is that batch, then starts gathering the next one
 * (of up to batch samples) on the worker. */
static void prefetch_next(batch_prefetch *p, lam_model *m, fit_data *d, const int64_t *order,
                          int64_t first, int count, int64_t n, int batch)
{
    if (!p->worker) {
        load_slice(m, d, NULL, p->dist, order, first, count);
        return;
    }
    lam_worker_wait(p->worker);
    if (p->pending && p->first == first && p->count == count) {
        int mine = 0, local = count;
        if (p->dist) lam_dist_share(p->dist, count, &mine, &local);
        for (int k = 0; k < d->nx; k++)
            memcpy(lam_model_input_buffer(m, k), p->xs[k],
                   sizeof(float) * (size_t)local * (size_t)d->x[k]->sample_size);
        fit_data t = *d; /* swap the target buffers: no copy */
        d->t = p->d.t, d->labels = p->d.labels, d->values = p->d.values;
        d->weights = p->d.weights;
        p->d.t = t.t, p->d.labels = t.labels, p->d.values = t.values, p->d.weights = t.weights;
    } else {
        load_slice(m, d, NULL, p->dist, order, first, count);
    }
    p->pending = first + count < n;
    if (!p->pending) return;
    p->first = first + count;
    p->count = (int)(n - p->first < batch ? n - p->first : batch);
    p->order = order;
    lam_worker_post(p->worker, prefetch_job, p);
}

/* Inference works in pieces of at most this many samples: the batch size
 * asked for, or less when the model is already planned for fewer (a model
 * trained at 32 evaluates at 256 without growing its training buffers,
 * and with the same results: samples do not interact in inference). */
static lam_status inference_plan(lam_model *m, int batch_size, int *piece)
{
    *piece = m->planned_batch > 0 && m->planned_batch < batch_size ? m->planned_batch
                                                                   : batch_size;
    return lam_model_plan(m, *piece);
}

static lam_status evaluate_batches(lam_model *m, const fit_data *d, int batch_size,
                                   lam_display *disp, lam_eval_result *res)
{
    int piece;
    LAM_TRY(inference_plan(m, batch_size, &piece));
    fit_data bd = *d;
    LAM_TRY(data_alloc(m, &bd, piece));
    const int64_t n = d->x[0]->n;
    double t0 = lam_now(), first = 0, loss = 0, correct = 0, counted = 0;
    int64_t seen = 0;
    const int64_t steps = (n + batch_size - 1) / batch_size;
    lam_status st = LAM_OK;
    for (int64_t s = 0; s < steps && st == LAM_OK; s++) {
        const int64_t end = n - seen < batch_size ? n : seen + batch_size;
        for (; seen < end && st == LAM_OK; seen += piece) {
            int count = (int)(end - seen < piece ? end - seen : piece);
            load_batch(m, &bd, NULL, seen, count);
            lam_batch_metrics bm;
            st = lam_forward(m, count, LAM_MODE_INFER);
            if (st == LAM_OK) st = lam_loss_eval(m, count, bd.t, false, &bm);
            if (st != LAM_OK) break;
            loss += bm.loss;
            correct += bm.correct;
            counted += bm.counted;
        }
        seen = end;
        if (s == 0) first = lam_now() - t0;
        if (disp && st == LAM_OK) {
            lam_progress p = {.event = s + 1 == steps ? LAM_PROGRESS_EVAL_END
                                                      : LAM_PROGRESS_EVAL_STEP,
                              .epoch = 1, .epochs = 1, .step = s + 1, .steps = steps,
                              .seconds = lam_now() - t0, .first_step_seconds = first,
                              .loss = loss / (double)seen,
                              .accuracy = counted > 0 ? correct / counted : 0,
                              .has_accuracy = m->has_accuracy};
            lam_display_progress(&p, disp);
        }
    }
    data_free(&bd);
    res->loss = seen ? loss / (double)seen : 0;
    res->accuracy = counted > 0 ? correct / counted : 0;
    res->has_accuracy = m->has_accuracy;
    res->seconds = lam_now() - t0;
    return st;
}

static lam_status evaluate_impl(lam_model *m, const fit_data *d, int batch_size, int verbose,
                                lam_eval_result *out)
{
    if (!out) return lam_error(LAM_ERR_ARG, "lam_evaluate: NULL argument");
    if (!m->compiled)
        return lam_error(LAM_ERR_STATE, "model \"%s\": compile before evaluate", m->name);
    if (batch_size < 1)
        return lam_error(LAM_ERR_ARG, "evaluate: batch_size %d, expected >= 1", batch_size);
    LAM_TRY(check_data(m, d, "evaluation", true));
    lam_display disp;
    lam_display_init(&disp, NULL, verbose);
    return evaluate_batches(m, d, batch_size, verbose ? &disp : NULL, out);
}

static lam_status predict_raw_impl(lam_model *m, const float *x, int64_t n, float *out)
{
    if (!m || (!x && n) || (!out && n)) return lam_error(LAM_ERR_ARG, "lam_predict_raw: NULL argument");
    if (!m->compiled)
        return lam_error(LAM_ERR_STATE, "model \"%s\": compile (or load) before predict", m->name);
    if (m->ninputs != 1)
        return lam_error(LAM_ERR_ARG, "model \"%s\": lam_predict_raw takes one input, the model "
                         "has %d (use the step calls)", m->name, m->ninputs);
    const int64_t in = lam_model_input_size(m), D = lam_model_output_size(m);
    int chunk = m->planned_batch > 0 ? m->planned_batch : 32;
    LAM_TRY(lam_model_plan(m, chunk));
    for (int64_t i = 0; i < n; i += chunk) {
        int count = (int)(n - i < chunk ? n - i : chunk);
        memcpy(lam_model_input_buffer(m, 0), x + i * in, sizeof(float) * (size_t)(count * in));
        LAM_TRY(lam_forward(m, count, LAM_MODE_INFER));
        memcpy(out + i * D, lam_model_output(m, 0), sizeof(float) * (size_t)(count * D));
    }
    return LAM_OK;
}

/* outs[k]: n * (output k's size) floats. */
static lam_status predict_impl(lam_model *m, const fit_data *d, int batch_size, float *const *outs)
{
    if (!m->compiled)
        return lam_error(LAM_ERR_STATE, "model \"%s\": compile (or load) before predict", m->name);
    if (batch_size < 1)
        return lam_error(LAM_ERR_ARG, "predict: batch_size %d, expected >= 1", batch_size);
    LAM_TRY(check_data(m, d, "prediction", false));
    const int nout = lam_model_num_outputs(m);
    for (int k = 0; k < nout; k++)
        if (!outs[k]) return lam_error(LAM_ERR_ARG, "lam_predict: no buffer for output %d", k);
    int piece;
    LAM_TRY(inference_plan(m, batch_size, &piece));
    const int64_t n = d->x[0]->n;
    for (int64_t i = 0; i < n; i += piece) {
        int count = (int)(n - i < piece ? n - i : piece);
        load_batch(m, d, NULL, i, count);
        LAM_TRY(lam_forward(m, count, LAM_MODE_INFER));
        for (int k = 0; k < nout; k++) {
            const int64_t D = lam_model_output_node(m, k)->out.size;
            memcpy(outs[k] + i * D, lam_model_output(m, k), sizeof(float) * (size_t)(count * D));
        }
    }
    return LAM_OK;
}


/* The end of every step: the gradient hook (clipping, noise, averaging
 * across processes), then the update with this step's learning rate. */
static lam_status hook_and_update(lam_model *m, const lam_fit_options *o)
{
    if (o->gradient_hook)
        LAM_TRY(o->gradient_hook(m, m->grads, m->nparams, o->gradient_hook_user));
    return lam_optimizer_update(m, lam_model_learning_rate(m));
}

static lam_status check_loss(const lam_model *m, double loss, int epoch, int64_t step)
{
    if (isfinite(loss)) return LAM_OK;
    return lam_error(LAM_ERR_NUMERIC, "model \"%s\": loss became %g at epoch %d, step %lld; "
                     "the weights are those before this step (lower the learning rate?)",
                     m->name, loss, epoch, (long long)step);
}

/* One optimizer step on the batch already loaded: the public step calls. */
static lam_status train_step(lam_model *m, const fit_data *d, const lam_fit_options *o,
                             int count, int epoch, int64_t step, lam_batch_metrics *bm)
{
    LAM_TRY(lam_forward(m, count, LAM_MODE_TRAIN));
    LAM_TRY(lam_loss_eval(m, count, d->t, true, bm));
    LAM_TRY(check_loss(m, bm->loss, epoch, step));
    LAM_TRY(lam_backward(m, count, false));
    return hook_and_update(m, o);
}

/* One DP-SGD step on samples idx[0..count) (count may be 0: a noise-only
 * step): each sample's gradient clipped and summed, by one backward per
 * batch (the fast path) or per sample (the reference), then noised and
 * scaled by dp.c before the hook and the update. Data-parallel: each rank
 * clips its slice of the samples, rank 0 alone adds the noise, and the sum
 * over the ranks is the step's noised clipped sum. */
static lam_status dp_train_step(lam_model *m, const fit_data *d, const lam_fit_options *o,
                                lam_dp_run *dp, const int64_t *idx, int64_t first, int count,
                                int epoch, int64_t step, lam_batch_metrics *bm)
{
    *bm = (lam_batch_metrics){0};
    int mine = 0; /* this rank's first sample in the step's batch */
    if (o->dist) {
        lam_dist_share(o->dist, count, &mine, &count);
        if (idx) idx += mine;
        first += mine;
    }
    lam_dp_step_begin(dp);
    const bool batched = lam_dp_batched(dp);
    /* Batched: chunks of the planned capacity (a Poisson batch may exceed
     * it), whose clipped sums add up. Else one sample at a time. */
    const int chunk_max = batched ? lam_dp_capacity(dp, o->batch_size) : 1;
    for (int i = 0; i < count; i += chunk_max) {
        const int chunk = count - i < chunk_max ? count - i : chunk_max;
        load_batch(m, d, idx ? idx + i : NULL, first + i, chunk);
        lam_batch_metrics part;
        /* Dropout keyed by the sample's position in the step's batch, as
         * a plain step draws it, whatever the chunks and the ranks. */
        m->batch_offset = mine + i;
        lam_status st = lam_forward(m, chunk, LAM_MODE_TRAIN);
        m->batch_offset = 0;
        LAM_TRY(st);
        if (batched) {
            LAM_TRY(lam_loss_eval_per_sample(m, chunk, d->t, &part));
            if (!o->dist) LAM_TRY(check_loss(m, part.loss, epoch, step));
            LAM_TRY(lam_dp_add_batch(dp, m, chunk));
        } else {
            LAM_TRY(lam_loss_eval(m, 1, d->t, true, &part));
            if (!o->dist) LAM_TRY(check_loss(m, part.loss, epoch, step));
            LAM_TRY(lam_backward(m, 1, false));
            lam_dp_add_sample(dp, m->grads);
        }
        bm->loss += part.loss;
        bm->correct += part.correct;
        bm->counted += part.counted;
    }
    LAM_TRY(lam_dp_step_end(dp, m, m->grads, lam_dist_rank(o->dist) == 0));
    if (!o->dist) return hook_and_update(m, o);
    /* Ranks check the loss after summing it, so that all fail together. */
    LAM_TRY(lam_dist_sum_gradients(o->dist, m));
    LAM_TRY(lam_dist_step_reduce(o->dist, bm));
    LAM_TRY(check_loss(m, bm->loss, epoch, step));
    LAM_TRY(hook_and_update(m, o));
    return lam_dist_step_end(o->dist, m);
}

/* One data-parallel step (lamina_dist.h) on a global batch of `count`
 * samples whose slice for this rank is loaded: that slice forward and
 * backward, with dropout keyed by each sample's position in the global
 * batch; then the gradients and metrics summed over the ranks and the same
 * update on every rank. A rank whose slice is empty (a last batch smaller
 * than the rank count) adds a zero gradient. */
static lam_status dist_train_step(lam_model *m, const fit_data *d, const lam_fit_options *o,
                                  int count, int epoch, int64_t step, lam_batch_metrics *bm)
{
    int mine, local;
    lam_dist_share(o->dist, count, &mine, &local);
    *bm = (lam_batch_metrics){0};
    if (local > 0) {
        m->batch_offset = mine;
        lam_status st = lam_forward(m, local, LAM_MODE_TRAIN);
        m->batch_offset = 0;
        LAM_TRY(st);
        LAM_TRY(lam_loss_eval(m, local, d->t, true, bm));
    }
    LAM_TRY(lam_dist_backward(o->dist, m, local, count));
    LAM_TRY(lam_dist_step_reduce(o->dist, bm));
    LAM_TRY(check_loss(m, bm->loss, epoch, step));
    LAM_TRY(hook_and_update(m, o));
    return lam_dist_step_end(o->dist, m);
}

static void emit(const lam_fit_options *o, lam_display *disp, const lam_progress *p)
{
    lam_display_progress(p, disp);
    if (o->progress) o->progress(p, o->progress_user);
}

/* What accuracy counts per sample: one per position, or one per value for
 * binary accuracy. */
static int64_t accuracy_units(const lam_model *m)
{
    const lam_node *o = lam_model_output_node(m, 0);
    return m->losses[0] == LAM_LOSS_BINARY_CE ? o->out.size : lam_node_positions(o);
}

/* Validation data: the last samples of every data set (sliced once each). */
static lam_status split_validation(const fit_data *d, int64_t first, int64_t count,
                                   lam_dataset **slices, const lam_dataset **vx,
                                   const lam_dataset **vy)
{
    const int total = d->nx + d->ny;
    for (int i = 0; i < total; i++) {
        const lam_dataset *src = i < d->nx ? d->x[i] : d->y[i - d->nx];
        const lam_dataset **dst = i < d->nx ? &vx[i] : &vy[i - d->nx];
        for (int j = 0; j < i && !*dst; j++) {
            const lam_dataset *prev = j < d->nx ? d->x[j] : d->y[j - d->nx];
            if (prev == src) *dst = slices[j];
        }
        if (!*dst) {
            LAM_TRY(lam_dataset_slice(src, first, count, &slices[i]));
            *dst = slices[i];
        }
    }
    return LAM_OK;
}

static lam_status fit_impl(lam_model *m, const fit_data *train, const lam_fit_options *opt,
                           lam_history **history)
{
    if (history) *history = NULL;
    lam_fit_options o = opt ? *opt : lam_fit_defaults();
    if (!m->compiled)
        return lam_error(LAM_ERR_STATE, "model \"%s\": call lam_model_compile before lam_fit",
                         m->name);
    if (o.dist && lam_dist_rank(o.dist) != 0) {
        /* Data-parallel: rank 0 alone displays and checkpoints. */
        o.verbose = 0;
        o.checkpoint = NULL;
    }
    if (o.batch_size < 1)
        return lam_error(LAM_ERR_ARG, "fit: batch_size is %d, expected >= 1", o.batch_size);
    if (o.epochs < 0 || o.initial_epoch < 0)
        return lam_error(LAM_ERR_ARG, "fit: epochs %d and initial_epoch %d must be >= 0",
                         o.epochs, o.initial_epoch);
    if (!(o.validation_split >= 0.0f && o.validation_split < 1.0f))
        return lam_error(LAM_ERR_ARG, "fit: validation_split is %g, expected 0 <= split < 1",
                         (double)o.validation_split);
    LAM_TRY(check_data(m, train, "training", true));
    /* Data-parallel: every rank from rank 0's model (resume state included). */
    if (o.dist) LAM_TRY(lam_dist_fit_begin(o.dist, m));
    const int64_t n_all = train->x[0]->n;
    /* Keras takes the LAST fraction, before shuffling. */
    const int64_t n_train = o.validation_split > 0
                                ? (int64_t)((double)n_all * (1.0 - o.validation_split))
                                : n_all;
    if (n_train < 1)
        return lam_error(LAM_ERR_ARG, "fit: no training samples (%lld samples, validation_split "
                         "%g)", (long long)n_all, (double)o.validation_split);
    const lam_dataset *one_val[1] = {o.validation_data};
    fit_data val = {.nx = 1, .ny = 1, .x = one_val, .y = one_val};
    if (o.validation_data) {
        if (train->nx != 1 || train->ny != 1)
            return lam_error(LAM_ERR_ARG, "model \"%s\": validation_data serves one input and "
                             "one output; use validation_split", m->name);
        LAM_TRY(check_data(m, &val, "validation", true));
    }
    const int nsets = train->nx + train->ny;
    lam_dataset **slices = lam_calloc((size_t)nsets, sizeof *slices);
    const lam_dataset **vsets = lam_calloc((size_t)nsets, sizeof *vsets);
    lam_status st = slices && vsets ? LAM_OK : LAM_ERR_NOMEM;
    const bool has_val = o.validation_data || n_train < n_all;
    if (st == LAM_OK && !o.validation_data && n_train < n_all) {
        st = split_validation(train, n_train, n_all - n_train, slices, vsets, vsets + train->nx);
        val = (fit_data){.nx = train->nx, .ny = train->ny, .x = vsets, .y = vsets + train->nx};
    }
    fit_data d = *train;
    d.t = NULL;
    lam_callback_run *cbr = NULL;
    lam_dp_run *dp = NULL;
    const bool poisson = o.dp && o.dp->poisson;
    const int64_t steps = (n_train + o.batch_size - 1) / o.batch_size;
    const int last_epoch = o.initial_epoch + o.epochs;
    /* A checkpoint taken inside epoch initial_epoch + 1 continues from its
     * next batch with the same order; otherwise the partial state is void. */
    bool resume_inside = m->epoch_step > 0 && m->epoch == o.initial_epoch &&
                         o.initial_epoch < last_epoch;
    const int64_t fit_steps = (int64_t)o.epochs * steps - (resume_inside ? m->epoch_step : 0);
    if (st == LAM_OK && o.dp)
        st = lam_dp_begin(m, o.dp, o.batch_size, n_train, fit_steps, &dp);
    if (st == LAM_OK) st = lam_callbacks_begin(m, o.callbacks, o.ncallbacks, has_val, &cbr);
    /* Data-parallel: a rank computes at most its share of a batch. */
    int plan_batch = o.batch_size;
    if (o.dist) {
        int first_of_rank;
        lam_dist_share(o.dist, o.batch_size, &first_of_rank, &plan_batch);
        if (plan_batch < 1) plan_batch = 1;
    }
    if (dp) plan_batch = lam_dp_capacity(dp, o.batch_size);
    if (st == LAM_OK) st = lam_model_plan(m, plan_batch);
    if (st == LAM_OK) st = data_alloc(m, &d, plan_batch);
    /* Without the worker too, the loader takes a rank's slice of each batch. */
    batch_prefetch pf = {.dist = o.dist};
    /* DP-SGD loads its own (Poisson) batches: no prefetch. */
    if (st == LAM_OK && o.prefetch && !dp) st = prefetch_begin(&pf, m, &d, plan_batch);
    int64_t *order = st == LAM_OK ? lam_malloc(sizeof(int64_t) * (size_t)n_train) : NULL;
    lam_history *h = st == LAM_OK ? lam_calloc(1, sizeof *h) : NULL;
    if (h) h->log = lam_calloc((size_t)(o.epochs > 0 ? o.epochs : 1), sizeof *h->log);
    if (st == LAM_OK && (!order || !h || !h->log)) st = LAM_ERR_NOMEM;
    if (st != LAM_OK) goto done;

    lam_display disp;
    lam_display_init(&disp, o.out, o.verbose);
    bool stop_after_epoch = false, stop_by_callback = false;
    if (resume_inside && (m->epoch_batch_size != o.batch_size || m->epoch_step >= steps)) {
        st = lam_error(LAM_ERR_ARG, "model \"%s\": the checkpoint stopped at step %lld of "
                       "epoch %d with batch size %lld; resume with that batch size (got %d)",
                       m->name, (long long)m->epoch_step, o.initial_epoch + 1,
                       (long long)m->epoch_batch_size, o.batch_size);
        goto done;
    }
    if (!resume_inside) m->epoch_step = 0;
    for (int e = o.initial_epoch; e < last_epoch && st == LAM_OK; e++) {
        /* Each epoch's order is drawn afresh from the identity, as Keras does,
         * so the order depends only on the generator's state: a run resumed
         * from a file shuffles exactly as an uninterrupted one. */
        if (m->epoch_step > 0) {
            /* Poisson batches are drawn afresh each step: a resumed epoch
             * goes on from the generator's state, never replaying draws. */
            if (!poisson) m->rng = m->epoch_rng;
        } else {
            m->epoch_rng = m->rng;
            m->epoch_loss = 0;
            m->epoch_correct = 0;
            m->epoch_batch_size = o.batch_size;
        }
        for (int64_t i = 0; i < n_train; i++) order[i] = i;
        if (o.shuffle)
            for (int64_t i = n_train - 1; i > 0; i--) {
                int64_t j = (int64_t)lam_rng_below(&m->rng, (uint64_t)i + 1);
                int64_t t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
        lam_progress p = {.event = LAM_PROGRESS_EPOCH_BEGIN, .epoch = e + 1, .epochs = last_epoch,
                          .steps = steps, .has_accuracy = m->has_accuracy};
        emit(&o, &disp, &p);
        double t0 = lam_now(), loss_sum = m->epoch_loss, correct = (double)m->epoch_correct;
        int64_t seen = m->epoch_step * o.batch_size;
        double counted = (double)(seen * accuracy_units(m));
        for (int64_t s = m->epoch_step; s < steps; s++) {
            int count = (int)(n_train - seen < o.batch_size ? n_train - seen : o.batch_size);
            lam_batch_metrics bm;
            if (poisson) {
                /* Each sample joins independently with probability q, as the
                 * accountant assumes; the batch may be empty or exceed
                 * batch_size (dp_train_step takes it in chunks). */
                const double q = lam_dp_sample_rate(dp);
                count = 0;
                for (int64_t i = 0; i < n_train; i++)
                    if (lam_rng_uniform(&m->rng) < q) order[count++] = i;
                st = dp_train_step(m, &d, &o, dp, order, 0, count, e + 1, s + 1, &bm);
            } else if (dp) {
                st = dp_train_step(m, &d, &o, dp, o.shuffle ? order + seen : NULL, seen, count,
                                   e + 1, s + 1, &bm);
            } else {
                prefetch_next(&pf, m, &d, o.shuffle ? order : NULL, seen, count, n_train,
                              o.batch_size);
                st = o.dist ? dist_train_step(m, &d, &o, count, e + 1, s + 1, &bm)
                            : train_step(m, &d, &o, count, e + 1, s + 1, &bm);
            }
            if (st == LAM_ERR_NUMERIC && lam_callbacks_stop_on_loss(cbr)) {
                /* TerminateOnNaN: end quietly, with the weights before this step. */
                st = LAM_OK;
                snprintf(h->stopped_by, sizeof h->stopped_by, "TerminateOnNaN");
                h->stopped_epoch = e + 1;
                stop_by_callback = true;
                lam_error_clear();
                break;
            }
            if (st != LAM_OK) break;
            loss_sum += bm.loss;
            correct += bm.correct;
            counted += bm.counted;
            seen += count;
            m->epoch_step = s + 1;
            m->epoch_loss = loss_sum;
            m->epoch_correct = (int64_t)llround(correct);
            if (p.first_step_seconds == 0) p.first_step_seconds = lam_now() - t0;
            p.event = LAM_PROGRESS_STEP;
            p.step = s + 1;
            p.seconds = lam_now() - t0;
            p.loss = seen > 0 ? loss_sum / (double)seen : 0;
            p.accuracy = counted > 0 ? correct / counted : 0;
            p.has_epsilon = dp && lam_dp_epsilon_every_step(dp);
            if (p.has_epsilon && (st = lam_dp_epsilon(dp, &p.epsilon)) != LAM_OK) break;
            if (s + 1 < steps) emit(&o, &disp, &p);
            /* Data-parallel ranks stop together: on a request any of them had. */
            if (o.dist ? lam_dist_stop_agreed(o.dist) : lam_stop_requested()) {
                if (o.checkpoint && s + 1 < steps && (st = o.checkpoint(m, o.checkpoint_user)))
                    break;
                st = lam_error(LAM_ERR_INTERRUPTED, "model \"%s\": training stopped on request "
                               "at epoch %d, step %lld", m->name, e + 1, (long long)(s + 1));
                break;
            }
            if (o.checkpoint && o.checkpoint_every_steps > 0 && s + 1 < steps &&
                m->step % o.checkpoint_every_steps == 0 &&
                (st = o.checkpoint(m, o.checkpoint_user)) != LAM_OK)
                break;
        }
        if (st == LAM_ERR_INTERRUPTED && m->epoch_step == steps) {
            /* Stopped on the epoch's last step: finish the epoch normally
             * below (validation, checkpoint), then report the stop. */
            st = LAM_OK;
            stop_after_epoch = true;
        }
        if (st != LAM_OK || stop_by_callback) break;
        if (has_val) {
            lam_eval_result vr;
            st = evaluate_batches(m, &val, o.batch_size, NULL, &vr);
            if (st != LAM_OK) break;
            p.has_val = true;
            p.val_loss = vr.loss;
            p.val_accuracy = vr.accuracy;
        }
        p.event = LAM_PROGRESS_EPOCH_END;
        p.seconds = lam_now() - t0;
        m->epoch = e + 1;
        m->epoch_step = 0;
        lam_epoch_log *lg = &h->log[h->epochs++];
        lg->loss = p.loss;
        lg->accuracy = p.accuracy;
        lg->has_accuracy = m->has_accuracy;
        lg->has_val = p.has_val;
        lg->val_loss = p.val_loss;
        lg->val_accuracy = p.val_accuracy;
        lg->seconds = p.seconds;
        lg->learning_rate = lam_model_learning_rate(m);
        lg->epsilon = NAN;
        if (dp && (st = lam_dp_epoch_end(dp, m, &lg->epsilon)) != LAM_OK) break;
        p.epsilon = lg->epsilon;
        p.has_epsilon = dp != NULL;
        st = lam_callbacks_epoch_end(cbr, m, e, lg, h, &stop_by_callback);
        if (st != LAM_OK) break;
        emit(&o, &disp, &p);
        if (o.checkpoint && (st = o.checkpoint(m, o.checkpoint_user)) != LAM_OK) break;
        if (stop_after_epoch)
            st = lam_error(LAM_ERR_INTERRUPTED, "model \"%s\": training stopped on request at "
                           "the end of epoch %d", m->name, e + 1);
        if (stop_by_callback) break;
    }
done:
    prefetch_end(&pf);
    lam_callbacks_end(cbr);
    lam_dp_end(dp, m);
    lam_free(order);
    data_free(&d);
    for (int i = 0; slices && i < nsets; i++) lam_dataset_free(slices[i]);
    lam_free(slices);
    lam_free(vsets);
    if (history && h) *history = h;
    else lam_history_free(h);
    return st;
}

/* The public entry points: each computes with denormals flushed (fpu.c). */

/* The one data set of a one-input, one-output model. */
static lam_status single(const lam_model *m, const char *what)
{
    if (m->ninputs != 1 || lam_model_num_outputs(m) != 1)
        return lam_error(LAM_ERR_ARG, "model \"%s\": %s takes one data set, the model has %d "
                         "inputs and %d outputs (use %s_multi)", m->name, what, m->ninputs,
                         lam_model_num_outputs(m), what);
    return LAM_OK;
}

lam_status lam_evaluate(lam_model *m, const lam_dataset *data, int batch_size, int verbose,
                        lam_eval_result *out)
{
    if (!m || !data) return lam_error(LAM_ERR_ARG, "lam_evaluate: NULL argument");
    LAM_TRY(single(m, "lam_evaluate"));
    const lam_dataset *one[1] = {data};
    return lam_evaluate_multi(m, 1, one, 1, one, batch_size, verbose, out);
}

lam_status lam_evaluate_multi(lam_model *m, int nx, const lam_dataset *const *x, int ny,
                              const lam_dataset *const *y, int batch_size, int verbose,
                              lam_eval_result *out)
{
    if (!m || !x || !y) return lam_error(LAM_ERR_ARG, "lam_evaluate: NULL argument");
    fit_data d = {.nx = nx, .ny = ny, .x = x, .y = y};
    const unsigned fpu = lam_fpu_flush_begin();
    lam_status s = evaluate_impl(m, &d, batch_size, verbose, out);
    lam_fpu_flush_end(fpu);
    return s;
}

lam_status lam_predict_raw(lam_model *m, const float *x, int64_t n, float *out)
{
    const unsigned fpu = lam_fpu_flush_begin();
    lam_status s = predict_raw_impl(m, x, n, out);
    lam_fpu_flush_end(fpu);
    return s;
}

lam_status lam_predict(lam_model *m, const lam_dataset *data, int batch_size, float *out)
{
    if (!m || !data || !out) return lam_error(LAM_ERR_ARG, "lam_predict: NULL argument");
    LAM_TRY(single(m, "lam_predict"));
    const lam_dataset *one[1] = {data};
    return lam_predict_multi(m, 1, one, batch_size, &out);
}

lam_status lam_predict_multi(lam_model *m, int nx, const lam_dataset *const *x, int batch_size,
                             float *const *outs)
{
    if (!m || !x || !outs) return lam_error(LAM_ERR_ARG, "lam_predict: NULL argument");
    fit_data d = {.nx = nx, .x = x};
    const unsigned fpu = lam_fpu_flush_begin();
    lam_status s = predict_impl(m, &d, batch_size, outs);
    lam_fpu_flush_end(fpu);
    return s;
}

lam_status lam_fit(lam_model *m, const lam_dataset *train, const lam_fit_options *opt,
                   lam_history **history)
{
    if (history) *history = NULL;
    if (!m || !train) return lam_error(LAM_ERR_ARG, "lam_fit: NULL argument");
    const lam_dataset *one[1] = {train};
    LAM_TRY(single(m, "lam_fit"));
    fit_data d = {.nx = 1, .ny = 1, .x = one, .y = one};
    const unsigned fpu = lam_fpu_flush_begin();
    lam_status s = fit_impl(m, &d, opt, history);
    lam_fpu_flush_end(fpu);
    return s;
}

lam_status lam_fit_multi(lam_model *m, int nx, const lam_dataset *const *x, int ny,
                         const lam_dataset *const *y, const lam_fit_options *opt,
                         lam_history **history)
{
    if (history) *history = NULL;
    if (!m || !x || !y || nx < 1 || ny < 1)
        return lam_error(LAM_ERR_ARG, "lam_fit_multi: NULL argument or no data sets");
    fit_data d = {.nx = nx, .ny = ny, .x = x, .y = y};
    const unsigned fpu = lam_fpu_flush_begin();
    lam_status s = fit_impl(m, &d, opt, history);
    lam_fpu_flush_end(fpu);
    return s;
}
