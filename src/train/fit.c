/* fit.c - fit, evaluate and predict: Keras's training loop over a planned
 * model. A training step allocates nothing. */
#include "core/model.h"
#include "train/progress.h"

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

/* Rejects data that cannot train or evaluate this model, before any work. */
static lam_status check_data(const lam_model *m, const lam_dataset *ds, const char *what,
                             bool need_targets)
{
    if (!ds) return lam_error(LAM_ERR_ARG, "model \"%s\": %s data is NULL", m->name, what);
    const lam_node *in = &m->nodes[0], *last = &m->nodes[m->n - 1];
    if (!same_shape(in->out_rank, in->out_shape, ds->rank, ds->shape)) {
        char a[96], b[96];
        shape_str(a, sizeof a, in->out_rank, in->out_shape);
        shape_str(b, sizeof b, ds->rank, ds->shape);
        return lam_error(LAM_ERR_SHAPE, "model \"%s\": input shape %s does not match the %s "
                         "data's sample shape %s", m->name, a, what, b);
    }
    if (!need_targets) return LAM_OK;
    const int64_t D = last->out_size;
    switch (m->loss) {
    case LAM_LOSS_SPARSE_CATEGORICAL_CE:
        if (!ds->labels)
            return lam_error(LAM_ERR_ARG, "model \"%s\": loss %s needs integer labels in the %s "
                             "data", m->name, lam_loss_name(m->loss), what);
        for (int64_t i = 0; i < ds->n; i++)
            if (ds->labels[i] < 0 || ds->labels[i] >= D)
                return lam_error(LAM_ERR_ARG, "model \"%s\": %s label %d (sample %lld) is "
                                 "outside the %lld classes of layer \"%s\"", m->name, what,
                                 ds->labels[i], (long long)i, (long long)D, last->spec.name);
        break;
    default:
        if (ds->targets) {
            if (ds->target_size != D)
                return lam_error(LAM_ERR_SHAPE, "model \"%s\": %s targets have %lld values per "
                                 "sample, the output has %lld", m->name, what,
                                 (long long)ds->target_size, (long long)D);
        } else if (ds->labels) {
            /* Labels stand for one-hot rows (categorical) or scalar targets. */
            for (int64_t i = 0; i < ds->n; i++) {
                int32_t y = ds->labels[i];
                bool ok = m->loss == LAM_LOSS_CATEGORICAL_CE ? (y >= 0 && y < D) : D == 1;
                if (!ok)
                    return lam_error(LAM_ERR_ARG, "model \"%s\": %s label %d (sample %lld) "
                                     "cannot serve as a target for loss %s with %lld outputs",
                                     m->name, what, y, (long long)i, lam_loss_name(m->loss),
                                     (long long)D);
            }
        } else {
            return lam_error(LAM_ERR_ARG, "model \"%s\": loss %s needs targets in the %s data",
                             m->name, lam_loss_name(m->loss), what);
        }
    }
    return LAM_OK;
}

/* Copies samples idx[0..count) (or first.. when idx is NULL) into the
 * planned batch buffers, turning labels into targets where the loss wants. */
static void load_batch(lam_model *m, const lam_dataset *ds, const int64_t *idx, int64_t first,
                       int count)
{
    const int64_t D = lam_model_last(m)->out_size;
    lam_dataset_gather_at(ds, idx, first, count, m->xbuf, m->labels,
                          ds->targets ? m->targets : NULL);
    if (!ds->targets && m->loss != LAM_LOSS_SPARSE_CATEGORICAL_CE && ds->labels) {
        for (int b = 0; b < count; b++) {
            float *t = m->targets + (int64_t)b * D;
            if (m->loss == LAM_LOSS_CATEGORICAL_CE) {
                memset(t, 0, sizeof(float) * (size_t)D);
                t[m->labels[b]] = 1.0f;
            } else {
                t[0] = (float)m->labels[b];
            }
        }
    }
}

/* Accuracy counts one per sample, except binary accuracy: one per output. */
static int64_t accuracy_units(const lam_model *m, int64_t samples)
{
    return m->loss == LAM_LOSS_BINARY_CE ? samples * m->nodes[m->n - 1].out_size : samples;
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

static lam_status evaluate_batches(lam_model *m, const lam_dataset *ds, int batch_size,
                                   lam_display *disp, lam_eval_result *res)
{
    int piece;
    LAM_TRY(inference_plan(m, batch_size, &piece));
    double t0 = lam_now(), first = 0, loss = 0;
    int64_t correct = 0, seen = 0;
    const int64_t steps = (ds->n + batch_size - 1) / batch_size;
    for (int64_t s = 0; s < steps; s++) {
        const int64_t end = ds->n - seen < batch_size ? ds->n : seen + batch_size;
        for (; seen < end; seen += piece) {
            int count = (int)(end - seen < piece ? end - seen : piece);
            load_batch(m, ds, NULL, seen, count);
            lam_model_forward(m, count, false);
            int64_t c = 0;
            loss += lam_loss_compute(m->loss, lam_model_last(m), m->labels, m->targets, count,
                                     NULL, &c);
            correct += c;
        }
        seen = end;
        if (s == 0) first = lam_now() - t0;
        if (disp) {
            lam_progress p = {.event = s + 1 == steps ? LAM_PROGRESS_EVAL_END
                                                      : LAM_PROGRESS_EVAL_STEP,
                              .epoch = 1, .epochs = 1, .step = s + 1, .steps = steps,
                              .seconds = lam_now() - t0, .first_step_seconds = first,
                              .loss = loss / (double)seen,
                              .accuracy = (double)correct / (double)accuracy_units(m, seen),
                              .has_accuracy = m->has_accuracy};
            lam_display_progress(&p, disp);
        }
    }
    res->loss = seen ? loss / (double)seen : 0;
    res->accuracy = seen ? (double)correct / (double)accuracy_units(m, seen) : 0;
    res->has_accuracy = m->has_accuracy;
    res->seconds = lam_now() - t0;
    return LAM_OK;
}

static lam_status evaluate_impl(lam_model *m, const lam_dataset *data, int batch_size,
                                int verbose, lam_eval_result *out)
{
    if (!m || !out) return lam_error(LAM_ERR_ARG, "lam_evaluate: NULL argument");
    if (!m->compiled)
        return lam_error(LAM_ERR_STATE, "model \"%s\": compile before evaluate", m->name);
    if (batch_size < 1)
        return lam_error(LAM_ERR_ARG, "evaluate: batch_size %d, expected >= 1", batch_size);
    LAM_TRY(check_data(m, data, "evaluation", true));
    lam_display disp;
    lam_display_init(&disp, NULL, verbose);
    return evaluate_batches(m, data, batch_size, verbose ? &disp : NULL, out);
}

static lam_status predict_raw_impl(lam_model *m, const float *x, int64_t n, float *out)
{
    if (!m || (!x && n) || (!out && n)) return lam_error(LAM_ERR_ARG, "lam_predict_raw: NULL argument");
    if (!m->compiled)
        return lam_error(LAM_ERR_STATE, "model \"%s\": compile (or load) before predict", m->name);
    const int64_t in = m->nodes[0].out_size, D = lam_model_last(m)->out_size;
    int chunk = m->planned_batch > 0 ? m->planned_batch : 32;
    LAM_TRY(lam_model_plan(m, chunk));
    for (int64_t i = 0; i < n; i += chunk) {
        int count = (int)(n - i < chunk ? n - i : chunk);
        memcpy(m->xbuf, x + i * in, sizeof(float) * (size_t)(count * in));
        lam_model_forward(m, count, false);
        memcpy(out + i * D, lam_model_last(m)->out, sizeof(float) * (size_t)(count * D));
    }
    return LAM_OK;
}

static lam_status predict_impl(lam_model *m, const lam_dataset *data, int batch_size, float *out)
{
    if (!m || !out) return lam_error(LAM_ERR_ARG, "lam_predict: NULL argument");
    if (!m->compiled)
        return lam_error(LAM_ERR_STATE, "model \"%s\": compile (or load) before predict", m->name);
    if (batch_size < 1)
        return lam_error(LAM_ERR_ARG, "predict: batch_size %d, expected >= 1", batch_size);
    LAM_TRY(check_data(m, data, "prediction", false));
    int piece;
    LAM_TRY(inference_plan(m, batch_size, &piece));
    const int64_t D = lam_model_last(m)->out_size;
    for (int64_t i = 0; i < data->n; i += piece) {
        int count = (int)(data->n - i < piece ? data->n - i : piece);
        load_batch(m, data, NULL, i, count);
        lam_model_forward(m, count, false);
        memcpy(out + i * D, lam_model_last(m)->out, sizeof(float) * (size_t)(count * D));
    }
    return LAM_OK;
}

/* One optimizer step on the batch already loaded. */
static lam_status train_step(lam_model *m, int count, int epoch, int64_t step, double *loss,
                             int64_t *correct)
{
    lam_model_forward(m, count, true);
    LAM_TRY(lam_model_backward(m, count, loss, correct));
    if (!isfinite(*loss))
        return lam_error(LAM_ERR_NUMERIC, "model \"%s\": loss became %g at epoch %d, step %lld; "
                         "the weights are those before this step (lower the learning rate?)",
                         m->name, *loss, epoch, (long long)step);
    LAM_TRY(lam_optimizer_update(m, lam_model_learning_rate(m)));
    return LAM_OK;
}

static void emit(const lam_fit_options *o, lam_display *disp, const lam_progress *p)
{
    lam_display_progress(p, disp);
    if (o->progress) o->progress(p, o->progress_user);
}

static lam_status fit_impl(lam_model *m, const lam_dataset *train, const lam_fit_options *opt,
                           lam_history **history)
{
    if (history) *history = NULL;
    if (!m || !train) return lam_error(LAM_ERR_ARG, "lam_fit: NULL argument");
    lam_fit_options o = opt ? *opt : lam_fit_defaults();
    if (!m->compiled)
        return lam_error(LAM_ERR_STATE, "model \"%s\": call lam_model_compile before lam_fit",
                         m->name);
    if (o.batch_size < 1)
        return lam_error(LAM_ERR_ARG, "fit: batch_size is %d, expected >= 1", o.batch_size);
    if (o.epochs < 0 || o.initial_epoch < 0)
        return lam_error(LAM_ERR_ARG, "fit: epochs %d and initial_epoch %d must be >= 0",
                         o.epochs, o.initial_epoch);
    if (!(o.validation_split >= 0.0f && o.validation_split < 1.0f))
        return lam_error(LAM_ERR_ARG, "fit: validation_split is %g, expected 0 <= split < 1",
                         (double)o.validation_split);
    LAM_TRY(check_data(m, train, "training", true));
    /* Keras takes the LAST fraction, before shuffling. */
    const int64_t n_train = o.validation_split > 0
                                ? (int64_t)((double)train->n * (1.0 - o.validation_split))
                                : train->n;
    const bool split_val = n_train < train->n;
    if (n_train < 1)
        return lam_error(LAM_ERR_ARG, "fit: no training samples (%lld samples, validation_split "
                         "%g)", (long long)train->n, (double)o.validation_split);
    if (o.validation_data) LAM_TRY(check_data(m, o.validation_data, "validation", true));
    lam_dataset *val_split = NULL;
    if (split_val && !o.validation_data)
        LAM_TRY(lam_dataset_slice(train, n_train, train->n - n_train, &val_split));
    const lam_dataset *val = o.validation_data ? o.validation_data : val_split;

    lam_status st = lam_model_plan(m, o.batch_size);
    int64_t *order = st == LAM_OK ? lam_malloc(sizeof(int64_t) * (size_t)n_train) : NULL;
    lam_history *h = st == LAM_OK ? lam_calloc(1, sizeof *h) : NULL;
    if (h) h->log = lam_calloc((size_t)(o.epochs > 0 ? o.epochs : 1), sizeof *h->log);
    if (st == LAM_OK && (!order || !h || !h->log)) st = LAM_ERR_NOMEM;
    if (st != LAM_OK) goto done;

    lam_display disp;
    lam_display_init(&disp, o.out, o.verbose);
    bool stop_after_epoch = false;
    const int64_t steps = (n_train + o.batch_size - 1) / o.batch_size;
    const int last_epoch = o.initial_epoch + o.epochs;
    /* A checkpoint taken inside epoch initial_epoch + 1 continues from its
     * next batch with the same order; otherwise the partial state is void. */
    bool resume_inside = m->epoch_step > 0 && m->epoch == o.initial_epoch &&
                         o.initial_epoch < last_epoch;
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
            m->rng = m->epoch_rng;
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
        double t0 = lam_now(), loss_sum = m->epoch_loss;
        int64_t correct = m->epoch_correct, seen = m->epoch_step * o.batch_size;
        for (int64_t s = m->epoch_step; s < steps; s++) {
            int count = (int)(n_train - seen < o.batch_size ? n_train - seen : o.batch_size);
            load_batch(m, train, o.shuffle ? order + seen : NULL, seen, count);
            double l = 0;
            int64_t c = 0;
            st = train_step(m, count, e + 1, s + 1, &l, &c);
            if (st != LAM_OK) break;
            loss_sum += l;
            correct += c;
            seen += count;
            m->epoch_step = s + 1;
            m->epoch_loss = loss_sum;
            m->epoch_correct = correct;
            if (p.first_step_seconds == 0) p.first_step_seconds = lam_now() - t0;
            p.event = LAM_PROGRESS_STEP;
            p.step = s + 1;
            p.seconds = lam_now() - t0;
            p.loss = loss_sum / (double)seen;
            p.accuracy = (double)correct / (double)accuracy_units(m, seen);
            if (s + 1 < steps) emit(&o, &disp, &p);
            if (lam_stop_requested()) {
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
        if (st != LAM_OK) break;
        if (val) {
            lam_eval_result vr;
            st = evaluate_batches(m, val, o.batch_size, NULL, &vr);
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
        emit(&o, &disp, &p);
        if (o.checkpoint && (st = o.checkpoint(m, o.checkpoint_user)) != LAM_OK) break;
        if (stop_after_epoch)
            st = lam_error(LAM_ERR_INTERRUPTED, "model \"%s\": training stopped on request at "
                           "the end of epoch %d", m->name, e + 1);
    }
done:
    lam_free(order);
    lam_dataset_free(val_split);
    if (history && h) *history = h;
    else lam_history_free(h);
    return st;
}

void lam_model_train_state(const lam_model *m, lam_train_state *out)
{
    memset(out, 0, sizeof *out);
    out->epoch = m->epoch;
    out->step = m->step;
    memcpy(out->rng, m->rng.s, sizeof out->rng);
    if (m->epoch_step == 0) return; /* no unfinished epoch: nothing more to keep */
    out->epoch_step = m->epoch_step;
    out->epoch_batch_size = m->epoch_batch_size;
    memcpy(out->epoch_rng, m->epoch_rng.s, sizeof out->epoch_rng);
    out->epoch_loss = m->epoch_loss;
    out->epoch_correct = m->epoch_correct;
}

lam_status lam_model_set_train_state(lam_model *m, const lam_train_state *st)
{
    if (st->epoch < 0 || st->step < 0 || st->epoch_step < 0 || st->epoch_correct < 0 ||
        (st->epoch_step > 0 && st->epoch_batch_size < 1))
        return lam_error(LAM_ERR_ARG, "model \"%s\": training state with a negative epoch, "
                         "step or count", m->name);
    m->epoch = st->epoch;
    m->step = st->step;
    memcpy(m->rng.s, st->rng, sizeof m->rng.s);
    m->epoch_step = st->epoch_step;
    m->epoch_batch_size = st->epoch_batch_size;
    memcpy(m->epoch_rng.s, st->epoch_rng, sizeof m->epoch_rng.s);
    m->epoch_loss = st->epoch_loss;
    m->epoch_correct = st->epoch_correct;
    return LAM_OK;
}

/* The public entry points: each computes with denormals flushed (fpu.c). */

lam_status lam_evaluate(lam_model *m, const lam_dataset *data, int batch_size, int verbose,
                        lam_eval_result *out)
{
    const unsigned fpu = lam_fpu_flush_begin();
    lam_status s = evaluate_impl(m, data, batch_size, verbose, out);
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
    const unsigned fpu = lam_fpu_flush_begin();
    lam_status s = predict_impl(m, data, batch_size, out);
    lam_fpu_flush_end(fpu);
    return s;
}

lam_status lam_fit(lam_model *m, const lam_dataset *train, const lam_fit_options *opt,
                   lam_history **history)
{
    const unsigned fpu = lam_fpu_flush_begin();
    lam_status s = fit_impl(m, train, opt, history);
    lam_fpu_flush_end(fpu);
    return s;
}
