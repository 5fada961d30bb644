/* train.h - what train/ shares with io/ and the tests, and users never see. */
#ifndef LAM_TRAIN_H
#define LAM_TRAIN_H

#include "core/model.h"

/* (Re)allocates the model's optimizer slots for m->opt (lam_optimizer_slot_count
 * of them) and puts the optimizer's state as at step 0. */
lam_status lam_optimizer_alloc_slots(lam_model *m);
/* The optimizer's state as at step 0: slots zero except Adagrad's
 * accumulators (initial_accumulator_value), Nadam's product 1. */
void lam_optimizer_reset_state(lam_model *m);
/* The name of optimizer slot i in model files ("m", "v", "momentum", ...). */
const char *lam_optimizer_slot_name(const lam_optimizer *o, int slot);

/* lam_loss_eval with write_grads, but each sample's output gradient is that
 * of its own loss, as in a batch of one: what backward then gives, sample by
 * sample, are DP-SGD's per-sample gradients (lam_backward_sample_norms). */
lam_status lam_loss_eval_per_sample(lam_model *m, int batch, const lam_target *targets,
                                    lam_batch_metrics *out);

/* The callbacks of one fit, with their state (callbacks.c). */
typedef struct lam_callback_run lam_callback_run;
/* Checks the list against what this fit logs and prepares their state. */
lam_status lam_callbacks_begin(lam_model *m, const lam_callback *cbs, int n, bool has_val,
                               lam_callback_run **out);
/* A TerminateOnNaN is listed: a non-finite loss ends training quietly. */
bool lam_callbacks_stop_on_loss(const lam_callback_run *r);
/* At the end of epoch `epoch` (0-based): may set *stop, restore weights,
 * change the learning rate, save, write the CSV log. */
lam_status lam_callbacks_epoch_end(lam_callback_run *r, lam_model *m, int epoch,
                                   lam_epoch_log *log, lam_history *h, bool *stop);
void lam_callbacks_end(lam_callback_run *r);

#endif
