/* worker.h - one background thread running one job at a time: the training
 * loop gathers the next batch on it while the current one computes. */
#ifndef LAM_CORE_WORKER_H
#define LAM_CORE_WORKER_H

#include "internal.h"

typedef struct lam_worker lam_worker;

lam_status lam_worker_start(lam_worker **out);
/* Runs fn(arg) on the worker; the previous job must have been waited for.
 * Everything written before the call is visible to fn. */
void lam_worker_post(lam_worker *w, void (*fn)(void *), void *arg);
/* Waits for the posted job (returns at once when none); what it wrote is
 * then visible to the caller. */
void lam_worker_wait(lam_worker *w);
/* Waits for the job, ends the thread and frees w (NULL: nothing). */
void lam_worker_stop(lam_worker *w);

#endif
