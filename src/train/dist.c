/* dist.c - data-parallel training over MPI processes (lamina_dist.h): the
 * broadcasts at the start, the per-step sums of gradients and metrics, the
 * slicing of a global batch. Only the main thread calls MPI (FUNNELED).
 *
 * Determinism: the gradient is summed with MPI_Allreduce(MPI_SUM) over a
 * fixed sequence of buckets of fixed size. Open MPI's tuned collectives pick
 * the algorithm from the communicator size and the message size only, and a
 * given algorithm adds in a fixed order, so a run with the same N (and the
 * same Open MPI settings) is bit-identical run to run; with N = 2 each sum
 * is a + b, which is the same in any order. A different N adds the slices'
 * gradients in another grouping: equal up to float rounding (docs/SCALE_OUT.md). */
#include "train/train.h"
#include "train/dist.h"

#include <string.h>

#ifdef LAMINA_HAVE_MPI
#include <mpi.h>

struct lam_dist {
    MPI_Comm comm;
    int rank, size;
    bool finalize;      /* lam_dist_world initialised MPI: lam_dist_free finalises it */
    bool stop;          /* the last step's agreed stop request */
    double comm_seconds;
};

bool lam_dist_available(void) { return true; }

static lam_status mpi_error(int rc, const char *what)
{
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, msg, &len) != MPI_SUCCESS) snprintf(msg, sizeof msg, "code %d", rc);
    return lam_error(LAM_ERR_IO, "MPI: %s failed: %s", what, msg);
}

static lam_status make(MPI_Comm comm, bool finalize, lam_dist **out)
{
    lam_dist *d = lam_calloc(1, sizeof *d);
    if (!d) return LAM_ERR_NOMEM;
    int rc = MPI_Comm_dup(comm, &d->comm);
    if (rc != MPI_SUCCESS) {
        lam_free(d);
        return mpi_error(rc, "MPI_Comm_dup");
    }
    /* Errors come back as codes (turned into lam_error messages) rather than
     * aborting inside MPI; a dead peer still ends the job through mpirun. */
    MPI_Comm_set_errhandler(d->comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(d->comm, &d->rank);
    MPI_Comm_size(d->comm, &d->size);
    d->finalize = finalize;
    *out = d;
    return LAM_OK;
}

lam_status lam_dist_world(lam_dist **out)
{
    if (!out) return lam_error(LAM_ERR_ARG, "lam_dist_world: NULL argument");
    *out = NULL;
    int inited = 0, provided = 0;
    MPI_Initialized(&inited);
    if (!inited) {
        int rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
        if (rc != MPI_SUCCESS) return mpi_error(rc, "MPI_Init_thread");
    }
    lam_status st = make(MPI_COMM_WORLD, !inited, out);
    if (st != LAM_OK && !inited) MPI_Finalize();
    return st;
}

lam_status lam_dist_mpi(const void *comm, lam_dist **out)
{
    if (!comm || !out) return lam_error(LAM_ERR_ARG, "lam_dist_mpi: NULL argument");
    *out = NULL;
    int inited = 0;
    MPI_Initialized(&inited);
    if (!inited)
        return lam_error(LAM_ERR_STATE, "lam_dist_mpi: MPI is not initialised (call MPI_Init, "
                         "or use lam_dist_world)");
    return make(*(const MPI_Comm *)comm, false, out);
}

void lam_dist_free(lam_dist *d)
{
    if (!d) return;
    MPI_Comm_free(&d->comm);
    if (d->finalize) MPI_Finalize();
    lam_free(d);
}

int lam_dist_rank(const lam_dist *d) { return d ? d->rank : 0; }
int lam_dist_size(const lam_dist *d) { return d ? d->size : 1; }
double lam_dist_comm_seconds(const lam_dist *d) { return d ? d->comm_seconds : 0; }
bool lam_dist_stop_agreed(const lam_dist *d) { return d->stop; }

void lam_dist_share(const lam_dist *d, int global, int *first, int *count)
{
    const int base = global / d->size, extra = global % d->size;
    *first = d->rank * base + (d->rank < extra ? d->rank : extra);
    *count = base + (d->rank < extra ? 1 : 0);
}

/* MPI counts are int: long buffers go in pieces. Also the allreduce's
 * bucket: a fixed size, so the sequence of collectives (and the sums) is
 * the same every run. */
#define DIST_BUCKET_FLOATS ((int64_t)1 << 22)

static lam_status bcast_floats(lam_dist *d, float *p, int64_t n)
{
    for (int64_t i = 0; i < n; i += DIST_BUCKET_FLOATS) {
        const int k = (int)(n - i < DIST_BUCKET_FLOATS ? n - i : DIST_BUCKET_FLOATS);
        int rc = MPI_Bcast(p + i, k, MPI_FLOAT, 0, d->comm);
        if (rc != MPI_SUCCESS) return mpi_error(rc, "MPI_Bcast");
    }
    return LAM_OK;
}

/* What fixes a model's training apart from its buffers. */
typedef struct dist_scalars {
    int64_t nparams, nstate, nslots;
    int64_t step, epoch, epoch_step, epoch_batch_size, epoch_correct;
    double epoch_loss, opt_scalar;
    uint64_t seed;
    lam_rng rng, epoch_rng;
    lam_optimizer opt; /* plain data: the learning rate a callback may have changed */
} dist_scalars;

lam_status lam_dist_fit_begin(lam_dist *d, lam_model *m, bool dp)
{
    if (dp)
        return lam_error(LAM_ERR_UNSUPPORTED, "model \"%s\": DP-SGD (dp options) is not "
                         "supported with data-parallel training (dist)", m->name);
    const double t0 = lam_now();
    dist_scalars s = {.nparams = m->nparams, .nstate = m->nstate, .nslots = m->nslots,
                      .step = m->step, .epoch = m->epoch, .epoch_step = m->epoch_step,
                      .epoch_batch_size = m->epoch_batch_size, .epoch_correct = m->epoch_correct,
                      .epoch_loss = m->epoch_loss, .opt_scalar = m->opt_scalar, .seed = m->seed,
                      .rng = m->rng, .epoch_rng = m->epoch_rng, .opt = m->opt};
    int rc = MPI_Bcast(&s, (int)sizeof s, MPI_BYTE, 0, d->comm);
    if (rc != MPI_SUCCESS) return mpi_error(rc, "MPI_Bcast");
    /* Every rank must hold the same architecture; all fail together if not. */
    int differs = s.nparams != m->nparams || s.nstate != m->nstate || s.nslots != m->nslots,
        any = 0;
    rc = MPI_Allreduce(&differs, &any, 1, MPI_INT, MPI_MAX, d->comm);
    if (rc != MPI_SUCCESS) return mpi_error(rc, "MPI_Allreduce");
    if (any)
        return lam_error(LAM_ERR_ARG, "model \"%s\": the ranks hold different models (rank 0: "
                         "%lld weights, %lld state values, %lld optimizer slots; rank %d: %lld, "
                         "%lld, %d); give every rank the same model", m->name,
                         (long long)s.nparams, (long long)s.nstate, (long long)s.nslots, d->rank,
                         (long long)m->nparams, (long long)m->nstate, m->nslots);
    m->step = s.step;
    m->epoch = s.epoch;
    m->epoch_step = s.epoch_step;
    m->epoch_batch_size = s.epoch_batch_size;
    m->epoch_correct = s.epoch_correct;
    m->epoch_loss = s.epoch_loss;
    m->opt_scalar = s.opt_scalar;
    m->seed = s.seed;
    m->rng = s.rng;
    m->epoch_rng = s.epoch_rng;
    m->opt = s.opt;
    LAM_TRY(bcast_floats(d, m->params, m->nparams));
    LAM_TRY(bcast_floats(d, m->state, m->nstate));
    for (int k = 0; k < m->nslots; k++) LAM_TRY(bcast_floats(d, m->slots[k], m->nparams));
    d->comm_seconds += lam_now() - t0;
    return LAM_OK;
}

lam_status lam_dist_step_reduce(lam_dist *d, lam_model *m, int local, int global,
                                lam_batch_metrics *bm)
{
    /* Each rank's gradient is that of its slice's mean loss; weighted by its
     * share, the ranks' sum is the gradient of the global batch's mean. */
    const float w = (float)((double)local / (double)global);
    if (local > 0 && w != 1.0f)
        for (int64_t i = 0; i < m->nparams; i++) m->grads[i] *= w;
    const double t0 = lam_now();
    for (int64_t i = 0; i < m->nparams; i += DIST_BUCKET_FLOATS) {
        const int k = (int)(m->nparams - i < DIST_BUCKET_FLOATS ? m->nparams - i
                                                                : DIST_BUCKET_FLOATS);
        int rc = MPI_Allreduce(MPI_IN_PLACE, m->grads + i, k, MPI_FLOAT, MPI_SUM, d->comm);
        if (rc != MPI_SUCCESS) return mpi_error(rc, "MPI_Allreduce of the gradients");
    }
    /* Loss and correct are sums over samples already; the stop flag rides along
     * so that every rank stops at the same step. */
    double v[4] = {bm->loss, bm->correct, bm->counted, lam_stop_requested() ? 1.0 : 0.0};
    int rc = MPI_Allreduce(MPI_IN_PLACE, v, 4, MPI_DOUBLE, MPI_SUM, d->comm);
    if (rc != MPI_SUCCESS) return mpi_error(rc, "MPI_Allreduce of the metrics");
    bm->loss = v[0];
    bm->correct = v[1];
    bm->counted = v[2];
    d->stop = v[3] > 0;
    d->comm_seconds += lam_now() - t0;
    return LAM_OK;
}

lam_status lam_dist_step_end(lam_dist *d, lam_model *m)
{
    if (m->nstate == 0) return LAM_OK;
    const double t0 = lam_now();
    lam_status st = bcast_floats(d, m->state, m->nstate);
    d->comm_seconds += lam_now() - t0;
    return st;
}

#else /* built without MPI: the calls exist and say so */

struct lam_dist {
    int unused;
};

bool lam_dist_available(void) { return false; }

static lam_status no_mpi(const char *what)
{
    return lam_error(LAM_ERR_UNSUPPORTED, "%s: lamina was built without MPI; install openmpi-bin "
                     "and libopenmpi-dev (scripts/install-deps.sh) and reconfigure with "
                     "-DLAMINA_MPI=ON", what);
}

lam_status lam_dist_world(lam_dist **out)
{
    if (out) *out = NULL;
    return no_mpi("lam_dist_world");
}

lam_status lam_dist_mpi(const void *comm, lam_dist **out)
{
    if (out) *out = NULL;
    return no_mpi("lam_dist_mpi");
}

/* No lam_dist can exist in this build: what follows is never reached with one. */
void lam_dist_free(lam_dist *d) { lam_free(d); }
int lam_dist_rank(const lam_dist *d) { return 0; }
int lam_dist_size(const lam_dist *d) { return 1; }
double lam_dist_comm_seconds(const lam_dist *d) { return 0; }
bool lam_dist_stop_agreed(const lam_dist *d) { return false; }

void lam_dist_share(const lam_dist *d, int global, int *first, int *count)
{
    *first = 0;
    *count = global;
}

lam_status lam_dist_fit_begin(lam_dist *d, lam_model *m, bool dp) { return no_mpi("lam_fit"); }

lam_status lam_dist_step_reduce(lam_dist *d, lam_model *m, int local, int global,
                                lam_batch_metrics *bm)
{
    return no_mpi("lam_fit");
}

lam_status lam_dist_step_end(lam_dist *d, lam_model *m) { return no_mpi("lam_fit"); }

#endif
