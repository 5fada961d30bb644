/* train_state.c - a model's training progress (steps, epochs, the random
 * generator, the unfinished epoch), read and set as plain data, so that io
 * saves and restores it without reaching into the training loop. */
#include "model.h"

#include <string.h>

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
