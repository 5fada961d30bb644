/* lamina_dist.h - data-parallel training over processes with MPI (Open MPI),
 * as Horovod and PyTorch DDP do it. Included by lamina.h; MPI's own header is
 * not needed to use it.
 *
 * Intended usage (every process runs the same program, `mpirun -np N prog`):
 *
 *     lam_dist *d = NULL;
 *     lam_dist_world(&d);                  // MPI_Init if not done yet
 *     lam_fit_options fo = lam_fit_defaults();
 *     fo.batch_size = 128;                 // the GLOBAL batch, shared by the N ranks
 *     fo.dist = d;
 *     lam_fit(m, train, &fo, &h);          // every rank: the same data set and model
 *     lam_dist_free(d);                    // MPI_Finalize if lam_dist_world initialised MPI
 *
 * What lam_fit then does (docs/SCALE_OUT.md):
 * - at the start, rank 0's weights, non-trainable state, optimizer state,
 *   step, epoch and generators are broadcast, so every rank starts from rank
 *   0's model (a fresh one or a resumed file);
 * - every rank draws the same shuffled order from that generator; each global
 *   batch of batch_size samples is cut into N contiguous slices, rank r
 *   computing slice r (the first batch_size % N ranks one sample more);
 * - each rank's gradient (of its slice's mean loss) is weighted by its share
 *   of the batch and the flat gradient buffers are summed with
 *   MPI_Iallreduce, bucket by bucket as backward finishes their layers:
 *   the sum is the gradient of the global batch's mean loss, as one process
 *   computes it (up to float rounding);
 * - every rank then applies the same update, so the weights stay identical;
 *   non-trainable state (BatchNormalization's moving statistics) is rank 0's,
 *   broadcast after every step (DDP's broadcast_buffers);
 * - loss and accuracy are summed across ranks for the progress line and the
 *   History; a stop request (lam_request_stop) on any rank stops all of them
 *   at the same step;
 * - only rank 0 displays progress (verbose) and calls the checkpoint hook.
 *   Callbacks run on every rank (their decisions agree); give file-writing
 *   ones (ModelCheckpoint, CSVLogger) to rank 0 only.
 * Dropout masks are drawn per sample, keyed by the sample's position in the
 * GLOBAL batch, so they do not depend on N. DP-SGD (lam_fit_options.dp)
 * runs data-parallel too: the Poisson batch is drawn alike on every rank,
 * each rank clips its slice's samples, rank 0 alone adds the noise, and the
 * sums are summed: the same mechanism, so the same accounting.
 *
 * A build without MPI (LAMINA_MPI=OFF, or libopenmpi-dev missing) has these
 * calls; lam_dist_world and lam_dist_mpi then return LAM_ERR_UNSUPPORTED. */
#ifndef LAMINA_DIST_H
#define LAMINA_DIST_H

#include "lamina.h"

typedef struct lam_dist lam_dist;

/* Whether this build has MPI. */
bool lam_dist_available(void);

/* Over MPI_COMM_WORLD; initialises MPI (MPI_Init_thread, FUNNELED: only the
 * main thread calls MPI) unless the program did already. */
lam_status lam_dist_world(lam_dist **out);
/* Over the communicator *(MPI_Comm *)comm of a program that initialised MPI
 * itself (it is duplicated: lamina's messages never mix with the program's). */
lam_status lam_dist_mpi(const void *comm, lam_dist **out);
/* Frees d; finalises MPI when lam_dist_world initialised it. After an error
 * on one rank, do not call it there: exit non-zero instead, and mpirun ends
 * the other ranks (a finalize would wait for them). NULL is ignored. */
void lam_dist_free(lam_dist *d);

int lam_dist_rank(const lam_dist *d); /* 0..size-1 */
int lam_dist_size(const lam_dist *d);
/* A collective (the gradient sum, a broadcast) that waits longer than
 * `seconds` for the other ranks fails with LAM_ERR_IO naming it: a peer
 * that stopped answering (its host cut off) ends the job instead of hanging
 * it. 0: wait forever. The default, LAM_DIST_DEFAULT_TIMEOUT, is far above
 * any wait of a healthy job (ranks wait for each other only as long as
 * their step times differ) and still ends a stuck one within a minute. */
#define LAM_DIST_DEFAULT_TIMEOUT 60.0
lam_status lam_dist_set_timeout(lam_dist *d, double seconds);
/* Wall seconds this process spent in lamina's collectives (allreduce of the
 * gradients and metrics, broadcasts) since d was made: the communication
 * share of training time, waits for slower ranks included. */
double lam_dist_comm_seconds(const lam_dist *d);

#endif
