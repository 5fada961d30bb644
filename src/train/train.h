/* train.h - what train/ shares with io/ and the tests, and users never see. */
#ifndef LAM_TRAIN_H
#define LAM_TRAIN_H

#include "core/model.h"

/* Rejects impossible optimizer settings, naming them. */
lam_status lam_optimizer_check(const lam_optimizer *o);
/* (Re)allocates the model's optimizer slots for m->opt, zeroed. */
lam_status lam_optimizer_alloc_slots(lam_model *m);

#endif
