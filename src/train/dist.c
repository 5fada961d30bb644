/* dist.c - data-parallel training over MPI processes (lamina_dist.h): the
 * broadcasts at the start, the per-step sums of gradients and metrics, the
 * slicing of a global batch. Only the main thread calls MPI (FUNNELED).
 *
 * Overlap: the flat gradient buffer is cut into buckets on layer boundaries,
 * from the last layer down (backward's order). backward calls grads_ready
 * after each layer; a bucket whose layers are all done starts summing at
 * once (MPI_Iallreduce) while backward computes the layers below it, and
 * every call tests the started ones, which is what moves Open MPI's
 * non-blocking collectives on (it has no progress thread).
 *
 * Determinism: the buckets are fixed by the model and started in the same
 * order on every rank. Open MPI's non-blocking collectives (libnbc) pick
 * the algorithm from the communicator size and the message size only, and
 * a given algorithm adds in a fixed order, so a run with the same N (and
 * the same Open MPI settings) is bit-identical run to run; with N = 2 each
 * sum is a + b, which is the same in any order. A different N adds the
 * slices' gradients in another grouping: equal up to float rounding
 * (docs/SCALE_OUT.md).
 *
 * Bounded waits: every collective is non-blocking and waited for with a
 * deadline (lam_dist_set_timeout), so a rank whose peer stopped answering
 * (a host cut off, which no process exit reports) fails with a message
 * instead of hanging. */
#include "train/train.h"
#include "train/dist.h"

#include <string.h>

#ifdef LAMINA_HAVE_MPI
#include <mpi.h>

/* A bucket: the gradients [lo, hi) of one or more whole layers. */
typedef struct dist_bucket {
    int64_t lo, hi;
} dist_bucket;

struct lam_dist {
    MPI_Comm comm;
    int rank, size;
    bool finalize;      /* lam_dist_world initialised MPI: lam_dist_free finalises it */
    bool stop;          /* the last step's agreed stop request */
    double timeout;     /* seconds a collective may wait; 0: no limit */
    double comm_seconds;
    /* The model being fitted: its buckets, last layers first, and this
     * step's progress through them. */
    const lam_model *model;
    dist_bucket *buckets;
    MPI_Request *requests;
    int nbuckets, started;
    float scale;        /* this rank's share of the global batch */
    int rc;             /* the first error of a start or test inside backward */
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
    d->timeout = LAM_DIST_DEFAULT_TIMEOUT;
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
    lam_free(d->buckets);
    lam_free(d->requests);
    MPI_Comm_free(&d->comm);
    if (d->finalize) MPI_Finalize();
    lam_free(d);
}

int lam_dist_rank(const lam_dist *d) { return d ? d->rank : 0; }
int lam_dist_size(const lam_dist *d) { return d ? d->size : 1; }
double lam_dist_comm_seconds(const lam_dist *d) { return d ? d->comm_seconds : 0; }

lam_status lam_dist_set_timeout(lam_dist *d, double seconds)
{
    if (!d || !(seconds >= 0))
        return lam_error(LAM_ERR_ARG, "lam_dist_set_timeout: %g s, expected >= 0 (0: no limit)",
                         seconds);
    d->timeout = seconds;
    return LAM_OK;
}

bool lam_dist_stop_agreed(const lam_dist *d) { return d->stop; }

void lam_dist_share(const lam_dist *d, int global, int *first, int *count)
{
    const int base = global / d->size, extra = global % d->size;
    *first = d->rank * base + (d->rank < extra ? d->rank : extra);
    *count = base + (d->rank < extra ? 1 : 0);
}

/* MPI counts are int: long buffers go in pieces of at most this many. */
#define DIST_PIECE_FLOATS ((int64_t)1 << 22)

/* Waits for requests r[0..n) until d's deadline: a peer that stopped
 * answering ends in an error naming what was waited for, not a hang.
 * Polls as MPI_Wait does (Open MPI's waits spin too). */
static lam_status wait_all(lam_dist *d, int n, MPI_Request *r, const char *what)
{
    const double t0 = lam_now();
    for (;;) {
        int done = 0;
        int rc = MPI_Testall(n, r, &done, MPI_STATUSES_IGNORE);
        if (rc != MPI_SUCCESS) return mpi_error(rc, what);
        if (done) return LAM_OK;
        if (d->timeout > 0 && lam_now() - t0 > d->timeout)
            return lam_error(LAM_ERR_IO, "rank %d of %d: %s did not complete within %g s: "
                             "another rank stopped answering (killed, or its host cut off); "
                             "the job cannot go on (raise --dist-timeout if a rank is only slow)",
                             d->rank, d->size, what, d->timeout);
    }
}

static lam_status bcast(lam_dist *d, void *p, int count, MPI_Datatype type)
{
    MPI_Request r;
    int rc = MPI_Ibcast(p, count, type, 0, d->comm, &r);
    if (rc != MPI_SUCCESS) return mpi_error(rc, "MPI_Ibcast");
    return wait_all(d, 1, &r, "a broadcast from rank 0");
}

static lam_status bcast_floats(lam_dist *d, float *p, int64_t n)
{
    for (int64_t i = 0; i < n; i += DIST_PIECE_FLOATS)
        LAM_TRY(bcast(d, p + i, (int)(n - i < DIST_PIECE_FLOATS ? n - i : DIST_PIECE_FLOATS),
                      MPI_FLOAT));
    return LAM_OK;
}

/* Buckets of at least this many floats (whole layers, so a bucket is ready
 * when backward passes its lowest layer; a layer larger than
 * DIST_PIECE_FLOATS is cut in pieces, each a bucket). Smaller buckets start
 * sooner but each costs a collective's latency; 256 KB gives the seed CNN
 * two (its Dense layers, then its convolutions). On the 2-core test machine,
 * one rank per core, one bucket and these two trained at the same speed
 * within the noise (seed CNN, 2 ranks, shared memory and TCP between
 * namespace hosts, 5 rounds each): there the sums cost CPU time on the same
 * cores as backward, so only a network with its own latency gains from
 * the overlap. */
#define DIST_BUCKET_FLOATS ((int64_t)1 << 16)

static lam_status plan_buckets(lam_dist *d, const lam_model *m)
{
    lam_free(d->buckets);
    lam_free(d->requests);
    d->buckets = NULL;
    d->requests = NULL;
    d->nbuckets = 0;
    d->model = m;
    /* At most one bucket per layer plus the pieces of large ones. */
    int64_t most = m->n + m->nparams / DIST_PIECE_FLOATS + 1;
    d->buckets = lam_malloc(sizeof *d->buckets * (size_t)most);
    d->requests = lam_malloc(sizeof *d->requests * (size_t)most);
    if (!d->buckets || !d->requests) return LAM_ERR_NOMEM;
    int64_t hi = m->nparams;
    for (int i = m->n - 1; i >= 0 && hi > 0; i--) {
        const lam_node *nd = &m->nodes[i];
        if (!nd->op || nd->owner != i || nd->param_count == 0) continue;
        const int64_t lo = nd->param_offset;
        if (hi - lo < DIST_BUCKET_FLOATS && lo > 0) continue; /* join the layer below */
        for (int64_t top = hi; top > lo;) { /* pieces of at most DIST_PIECE_FLOATS */
            const int64_t bottom = top - lo > DIST_PIECE_FLOATS ? top - DIST_PIECE_FLOATS : lo;
            d->buckets[d->nbuckets++] = (dist_bucket){bottom, top};
            top = bottom;
        }
        hi = lo;
    }
    return LAM_OK;
}

/* Starts every bucket lying in [from, nparams) not started yet, weighted
 * by this rank's share first. */
static int start_buckets(lam_dist *d, float *grads, int64_t from)
{
    for (; d->started < d->nbuckets && d->buckets[d->started].lo >= from; d->started++) {
        const dist_bucket b = d->buckets[d->started];
        if (d->scale != 1.0f)
            for (int64_t i = b.lo; i < b.hi; i++) grads[i] *= d->scale;
        int rc = MPI_Iallreduce(MPI_IN_PLACE, grads + b.lo, (int)(b.hi - b.lo), MPI_FLOAT,
                                MPI_SUM, d->comm, &d->requests[d->started]);
        if (rc != MPI_SUCCESS) return rc;
    }
    return MPI_SUCCESS;
}

/* backward's grads_ready: start what is final, and move the started
 * collectives on. */
static void grads_ready(void *user, int64_t from)
{
    lam_dist *d = user;
    if (d->rc != MPI_SUCCESS) return;
    const double t0 = lam_now();
    d->rc = start_buckets(d, d->model->grads, from);
    int done = 0;
    if (d->rc == MPI_SUCCESS && d->started > 0)
        d->rc = MPI_Testall(d->started, d->requests, &done, MPI_STATUSES_IGNORE);
    d->comm_seconds += lam_now() - t0;
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

lam_status lam_dist_fit_begin(lam_dist *d, lam_model *m)
{
    const double t0 = lam_now();
    dist_scalars s = {.nparams = m->nparams, .nstate = m->nstate, .nslots = m->nslots,
                      .step = m->step, .epoch = m->epoch, .epoch_step = m->epoch_step,
                      .epoch_batch_size = m->epoch_batch_size, .epoch_correct = m->epoch_correct,
                      .epoch_loss = m->epoch_loss, .opt_scalar = m->opt_scalar, .seed = m->seed,
                      .rng = m->rng, .epoch_rng = m->epoch_rng, .opt = m->opt};
    LAM_TRY(bcast(d, &s, (int)sizeof s, MPI_BYTE));
    /* Every rank must hold the same architecture; all fail together if not. */
    int differs = s.nparams != m->nparams || s.nstate != m->nstate || s.nslots != m->nslots,
        any = 0;
    MPI_Request r;
    int rc = MPI_Iallreduce(&differs, &any, 1, MPI_INT, MPI_MAX, d->comm, &r);
    if (rc != MPI_SUCCESS) return mpi_error(rc, "MPI_Iallreduce");
    LAM_TRY(wait_all(d, 1, &r, "the model check"));
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
    return plan_buckets(d, m);
}

/* A step's sum begins: no bucket started, each weighted by scale. */
static void sum_begin(lam_dist *d, float scale)
{
    d->scale = scale;
    d->started = 0;
    d->rc = MPI_SUCCESS;
}

/* Starts every bucket not started yet. */
static lam_status start_rest(lam_dist *d, lam_model *m)
{
    if (d->rc == MPI_SUCCESS) d->rc = start_buckets(d, m->grads, 0);
    return d->rc == MPI_SUCCESS ? LAM_OK : mpi_error(d->rc, "MPI_Iallreduce of the gradients");
}

lam_status lam_dist_backward(lam_dist *d, lam_model *m, int local, int global)
{
    /* Each rank's gradient is that of its slice's mean loss; weighted by its
     * share, the ranks' sum is the gradient of the global batch's mean. */
    sum_begin(d, (float)((double)local / (double)global));
    if (local > 0) {
        m->grads_ready = grads_ready;
        m->grads_ready_user = d;
        lam_status st = lam_backward(m, local, false);
        m->grads_ready = NULL;
        m->grads_ready_user = NULL;
        LAM_TRY(st);
    } else {
        memset(m->grads, 0, sizeof(float) * (size_t)m->nparams);
    }
    return start_rest(d, m);
}

lam_status lam_dist_sum_gradients(lam_dist *d, lam_model *m)
{
    sum_begin(d, 1.0f);
    return start_rest(d, m);
}

lam_status lam_dist_step_reduce(lam_dist *d, lam_batch_metrics *bm)
{
    const double t0 = lam_now();
    LAM_TRY(wait_all(d, d->started, d->requests, "the sum of the gradients"));
    /* Loss and correct are sums over samples already; the stop flag rides along
     * so that every rank stops at the same step. */
    double v[4] = {bm->loss, bm->correct, bm->counted, lam_stop_requested() ? 1.0 : 0.0};
    MPI_Request r;
    int rc = MPI_Iallreduce(MPI_IN_PLACE, v, 4, MPI_DOUBLE, MPI_SUM, d->comm, &r);
    if (rc != MPI_SUCCESS) return mpi_error(rc, "MPI_Iallreduce of the metrics");
    LAM_TRY(wait_all(d, 1, &r, "the sum of the loss and metrics"));
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

lam_status lam_dist_fit_begin(lam_dist *d, lam_model *m) { return no_mpi("lam_fit"); }
lam_status lam_dist_sum_gradients(lam_dist *d, lam_model *m) { return no_mpi("lam_fit"); }

lam_status lam_dist_set_timeout(lam_dist *d, double seconds) { return no_mpi("lam_dist_set_timeout"); }

lam_status lam_dist_backward(lam_dist *d, lam_model *m, int local, int global)
{
    return no_mpi("lam_fit");
}

lam_status lam_dist_step_reduce(lam_dist *d, lam_batch_metrics *bm) { return no_mpi("lam_fit"); }

lam_status lam_dist_step_end(lam_dist *d, lam_model *m) { return no_mpi("lam_fit"); }

#endif
