/* dp.c - DP-SGD inside fit (Abadi et al. 2016). Each sample's gradient is
 * clipped on its own and the clipped gradients summed: in one backward of
 * the batch (lam_backward_sample_norms, then lam_backward_reweighted with
 * the clip factors) when every trainable layer gives per-sample norms, else
 * on the reference path, where fit computes each sample's gradient alone
 * (batch 1) and hands it here. The step's end adds the Gaussian noise,
 * divides by the expected batch size and counts the step in the privacy
 * accountant, whose composition is kept in the model's metadata so that a
 * resumed run goes on spending from what was spent. */
#include "train/dp.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef LAMINA_HAVE_SODIUM
#include <sodium.h>
#else
#include <sys/random.h>
#endif

struct lam_dp_run {
    lam_dp_options o;
    double q, expected;      /* sample rate, expected batch size q * n */
    int64_t n;               /* parameters */
    double *sum;             /* clipped gradients summed over the step's samples */
    /* Clipping groups: the whole vector, or each trainable layer's slice
     * (per_layer, each clipped to C / sqrt(groups) so the total stays <= C). */
    int groups;
    int64_t *group_at;       /* groups + 1 offsets into the parameters */
    bool batched;            /* one backward per batch (lam_backward_sample_norms) */
    int capacity;            /* the most samples one backward takes */
    double *sq;              /* batched: [groups x batch] squared norms */
    float *w;                /* batched: [groups x batch] clip factors */
    lam_privacy_accountant *acc;
    bool unbounded;          /* a step without noise was taken: epsilon is +inf */
    int64_t steps;           /* all steps accounted, this fit and before */
    int64_t eps_steps;       /* the step count eps was computed at (-1: not yet) */
    double eps;
    uint8_t key[32];         /* the secure generator's ChaCha20 key */
    uint64_t nonce;          /* one per step */
};

lam_dp_options lam_dp_defaults(void)
{
    return (lam_dp_options){.clip_norm = 1.0, .noise_multiplier = 1.0, .delta = 1e-5,
                            .accountant = LAM_ACCOUNTANT_RDP, .poisson = true};
}

/* n random bytes from the operating system. */
static lam_status system_random(void *buf, size_t n)
{
#ifdef LAMINA_HAVE_SODIUM
    if (sodium_init() < 0)
        return lam_error(LAM_ERR_STATE, "DP-SGD: libsodium failed to initialise (no system "
                         "randomness?)");
    randombytes_buf(buf, n);
#else
    for (size_t k = 0; k < n;) {
        ssize_t got = getrandom((uint8_t *)buf + k, n - k, 0);
        if (got < 0 && errno != EINTR)
            return lam_error(LAM_ERR_IO, "DP-SGD: getrandom failed (errno %d)", errno);
        if (got > 0) k += (size_t)got;
    }
#endif
    return LAM_OK;
}

/* Bytes of the secure stream in one piece: 64 ChaCha20 blocks. */
#define NOISE_CHUNK 4096

/* Fills chunk c of this step's secure stream. With libsodium: ChaCha20 keyed
 * once per fit from the system's randombytes, the step as nonce and the chunk
 * as block counter (one key, never a repeated (nonce, counter)). Without it:
 * getrandom, which is the same kind of generator inside the kernel. */
static lam_status secure_chunk(lam_dp_run *r, uint64_t c, uint8_t *out)
{
#ifdef LAMINA_HAVE_SODIUM
    uint8_t nonce[crypto_stream_chacha20_NONCEBYTES];
    for (int i = 0; i < 8; i++) nonce[i] = (uint8_t)(r->nonce >> (8 * i));
    memset(out, 0, NOISE_CHUNK);
    crypto_stream_chacha20_xor_ic(out, out, NOISE_CHUNK, nonce,
                                  c * (NOISE_CHUNK / 64), r->key);
    return LAM_OK;
#else
    (void)c;
    return system_random(out, NOISE_CHUNK);
#endif
}

/* Uniform in (0, 1] from 53 bits. */
static double unit_open0(uint64_t x)
{
    return ((double)(x >> 11) + 1.0) * 0x1.0p-53;
}

/* Normals per chunk of the secure stream: one Box-Muller pair per two
 * 64-bit words. */
#define NOISE_PER_CHUNK (NOISE_CHUNK / 8)

/* sum[i] += N(0, std^2) for every coordinate. Chunk c of the secure stream
 * gives coordinates [c NOISE_PER_CHUNK, (c + 1) NOISE_PER_CHUNK), so the
 * chunks are drawn in parallel and the noise does not depend on the threads
 * (Box-Muller's log, sqrt, cos and sin took 4 ms a step for the seed CNN's
 * 225,034 weights on one thread). */
static lam_status add_noise(lam_dp_run *r, lam_model *m, double std)
{
    if (r->o.seeded_noise) {
        for (int64_t i = 0; i < r->n; i++) r->sum[i] += std * lam_rng_normal(&m->rng);
        return LAM_OK;
    }
    const int64_t chunks = (r->n + NOISE_PER_CHUNK - 1) / NOISE_PER_CHUNK;
    bool failed = false;
    #pragma omp parallel for schedule(static)
    for (int64_t c = 0; c < chunks; c++) {
        uint64_t buf[NOISE_PER_CHUNK];
        if (secure_chunk(r, (uint64_t)c, (uint8_t *)buf) != LAM_OK) {
            #pragma omp atomic write
            failed = true;
            continue;
        }
        const int64_t first = c * NOISE_PER_CHUNK;
        const int64_t count = r->n - first < NOISE_PER_CHUNK ? r->n - first : NOISE_PER_CHUNK;
        for (int64_t k = 0; k < count; k += 2) {
            const double rad = std * sqrt(-2.0 * log(unit_open0(buf[k])));
            const double th = 2.0 * 3.14159265358979323846 * unit_open0(buf[k + 1]);
            r->sum[first + k] += rad * cos(th);
            if (k + 1 < count) r->sum[first + k + 1] += rad * sin(th);
        }
    }
    r->nonce++;
    if (failed) /* said here: an error set on a worker thread is that thread's */
        return lam_error(LAM_ERR_IO, "DP-SGD: the system's random generator failed while "
                         "drawing the noise");
    return LAM_OK;
}

/* The accounting of an earlier DP fit of this model, from its metadata. */
static lam_status restore_accounting(lam_dp_run *r, const lam_model *m)
{
    const char *eps = lam_model_metadata(m, "dp.epsilon");
    const char *hist = lam_model_metadata(m, "dp.history");
    if (eps && isinf(strtod(eps, NULL))) r->unbounded = true;
    if (!hist || !*hist) return LAM_OK;
    size_t cap = 1;
    for (const char *c = hist; *c; c++) cap += *c == ';';
    lam_privacy_steps *runs = lam_calloc(cap, sizeof *runs);
    if (!runs) return LAM_ERR_NOMEM;
    size_t nr = 0;
    lam_status st = LAM_OK;
    for (const char *c = hist; *c && st == LAM_OK;) {
        char *end;
        lam_privacy_steps s;
        s.noise_multiplier = strtod(c, &end);
        if (*end == ':') s.sample_rate = strtod(end + 1, &end);
        if (*end == ':') s.steps = strtoll(end + 1, &end, 10);
        if (end == c || (*end != ';' && *end) || nr == cap) {
            st = lam_error(LAM_ERR_FORMAT, "model \"%s\": metadata dp.history \"%s\" is not a "
                           "list of sigma:q:steps entries separated by ';'", m->name, hist);
            break;
        }
        runs[nr++] = s;
        r->steps += s.steps;
        c = *end ? end + 1 : end;
    }
    if (st == LAM_OK) st = lam_privacy_accountant_restore(r->acc, runs, nr);
    lam_free(runs);
    return st;
}

/* Layers whose output for one sample depends on the others of its batch:
 * per-sample gradients, and so the clipping bound, do not exist for them. */
static lam_status refuse_mixing_layers(const lam_model *m)
{
    for (int i = 0; i < m->n; i++) {
        const lam_node *nd = &m->nodes[i];
        if (nd->op && nd->spec.kind == LAM_LAYER_BATCH_NORM)
            return lam_error(LAM_ERR_UNSUPPORTED, "model \"%s\": layer \"%s\" is a "
                             "BatchNormalization, which mixes the samples of a batch (its "
                             "statistics), so one sample's gradient is not its own and "
                             "DP-SGD's clipping bound does not hold; use LayerNormalization "
                             "or none", m->name, nd->spec.name);
    }
    return LAM_OK;
}

/* The clipping groups' parameter slices: trainable layers in node order
 * (their slices are consecutive), or the whole vector. */
static lam_status plan_groups(lam_dp_run *r, const lam_model *m)
{
    int g = 0;
    for (int i = 0; i < m->n; i++)
        g += m->nodes[i].op && m->nodes[i].owner == i && m->nodes[i].param_count > 0;
    r->groups = r->o.per_layer && g > 0 ? g : 1;
    if (!(r->group_at = lam_calloc((size_t)r->groups + 1, sizeof *r->group_at)))
        return LAM_ERR_NOMEM;
    r->group_at[r->groups] = r->n;
    for (int i = 0, k = 0; r->groups > 1 && i < m->n; i++) {
        const lam_node *nd = &m->nodes[i];
        if (nd->op && nd->owner == i && nd->param_count > 0) r->group_at[k++] = nd->param_offset;
    }
    return LAM_OK;
}

/* The one-backward path when the model allows it: its buffers for batches
 * of batch_size, and the plan keeps what it needs. */
static lam_status plan_batched(lam_dp_run *r, lam_model *m, int batch_size)
{
    if (r->o.reference_clipping || lam_model_check_sample_norms(m) != LAM_OK) {
        lam_error_clear(); /* not an error: the reference path serves */
        return LAM_OK;
    }
    /* A Poisson batch has batch_size samples on average and a standard
     * deviation below sqrt(batch_size): room for four of them keeps nearly
     * every batch in one backward (a second pass for the few samples past
     * batch_size cost 6% of a seed-CNN step at batch 256). */
    r->capacity = batch_size;
    if (r->o.poisson) r->capacity += (int)ceil(4.0 * sqrt((double)batch_size));
    const size_t cells = (size_t)lam_model_sample_groups(m) * (size_t)r->capacity;
    if (!(r->sq = lam_malloc(sizeof(double) * cells)) || !(r->w = lam_malloc(sizeof(float) * cells)))
        return LAM_ERR_NOMEM;
    LAM_TRY(lam_model_keep_sample_norms(m, true));
    r->batched = true;
    return LAM_OK;
}

/* With a target epsilon: the noise multiplier that spends at most it over
 * this fit's steps after what the model spent before (Opacus's
 * make_private_with_epsilon, which knows no earlier spending, and its
 * tolerance 0.01). */
static lam_status calibrate(lam_dp_run *r, int64_t steps)
{
    const lam_privacy_steps *spent;
    const size_t n = lam_privacy_accountant_history(r->acc, &spent);
    if (r->unbounded)
        return lam_error(LAM_ERR_ARG, "DP-SGD: the model was trained with noise 0 before, so "
                         "its epsilon is infinite and no noise can keep it under %g",
                         r->o.target_epsilon);
    return lam_privacy_noise_multiplier_after(r->o.accountant, spent, n, r->o.target_epsilon,
                                              r->o.delta, r->q, steps > 0 ? steps : 1, 0.01,
                                              &r->o.noise_multiplier);
}

lam_status lam_dp_begin(lam_model *m, const lam_dp_options *o, int batch_size, int64_t n_train,
                        int64_t steps, lam_dp_run **out)
{
    *out = NULL;
    if (!(o->clip_norm > 0 && isfinite(o->clip_norm)))
        return lam_error(LAM_ERR_ARG, "DP-SGD: clip_norm %g, expected a finite C > 0",
                         o->clip_norm);
    if (!(o->target_epsilon >= 0 && isfinite(o->target_epsilon)))
        return lam_error(LAM_ERR_ARG, "DP-SGD: target_epsilon %g, expected a finite epsilon > 0 "
                         "(or 0: use noise_multiplier)", o->target_epsilon);
    if (!o->target_epsilon && !(o->noise_multiplier >= 0 && isfinite(o->noise_multiplier)))
        return lam_error(LAM_ERR_ARG, "DP-SGD: noise_multiplier %g, expected a finite sigma >= 0",
                         o->noise_multiplier);
    if (!(o->delta > 0 && o->delta < 1))
        return lam_error(LAM_ERR_ARG, "DP-SGD: delta %g, expected 0 < delta < 1", o->delta);
    LAM_TRY(refuse_mixing_layers(m));
    lam_dp_run *r = lam_calloc(1, sizeof *r);
    if (!r) return LAM_ERR_NOMEM;
    r->o = *o;
    r->n = m->nparams;
    r->eps_steps = -1;
    r->q = batch_size >= n_train ? 1.0 : (double)batch_size / (double)n_train;
    r->expected = r->q * (double)n_train;
    lam_status st = LAM_OK;
    if (!(r->sum = lam_malloc(sizeof(double) * (size_t)(r->n > 0 ? r->n : 1)))) st = LAM_ERR_NOMEM;
    if (st == LAM_OK) st = plan_groups(r, m);
    if (st == LAM_OK) st = plan_batched(r, m, batch_size);
    if (st == LAM_OK) st = lam_privacy_accountant_create(o->accountant, &r->acc);
    if (st == LAM_OK) st = restore_accounting(r, m);
    if (st == LAM_OK && o->target_epsilon > 0) st = calibrate(r, steps);
    if (st == LAM_OK && !o->seeded_noise) st = system_random(r->key, sizeof r->key);
    if (st != LAM_OK) {
        lam_dp_end(r, m);
        return st;
    }
    *out = r;
    return LAM_OK;
}

void lam_dp_end(lam_dp_run *r, lam_model *m)
{
    if (!r) return;
    if (r->batched) lam_model_keep_sample_norms(m, false); /* cannot fail when turning off */
    lam_privacy_accountant_free(r->acc);
    lam_free(r->sum);
    lam_free(r->group_at);
    lam_free(r->sq);
    lam_free(r->w);
#ifdef LAMINA_HAVE_SODIUM
    sodium_memzero(r->key, sizeof r->key);
#endif
    lam_free(r);
}

double lam_dp_sample_rate(const lam_dp_run *r)
{
    return r->q;
}

void lam_dp_step_begin(lam_dp_run *r)
{
    memset(r->sum, 0, sizeof(double) * (size_t)r->n);
}

bool lam_dp_batched(const lam_dp_run *r)
{
    return r->batched;
}

int lam_dp_capacity(const lam_dp_run *r, int batch_size)
{
    return r->batched ? r->capacity : batch_size;
}

/* Each group's bound: C, or C / sqrt(groups) per layer. */
static double group_clip(const lam_dp_run *r)
{
    return r->o.clip_norm / sqrt((double)r->groups);
}

/* min(1, clip / sqrt(sq)): the factor that clips a norm^2 of sq to clip. */
static double clip_factor(double sq, double clip)
{
    return sq > clip * clip ? clip / sqrt(sq) : 1.0;
}

void lam_dp_add_sample(lam_dp_run *r, const float *g)
{
    const double clip = group_clip(r);
    for (int k = 0; k < r->groups; k++) {
        const int64_t a = r->group_at[k], z = r->group_at[k + 1];
        double sq = 0;
        for (int64_t i = a; i < z; i++) sq += (double)g[i] * (double)g[i];
        const double scale = clip_factor(sq, clip);
        for (int64_t i = a; i < z; i++) r->sum[i] += scale * (double)g[i];
    }
}

lam_status lam_dp_add_batch(lam_dp_run *r, lam_model *m, int batch)
{
    LAM_TRY(lam_backward_sample_norms(m, batch, r->sq));
    const int G = lam_model_sample_groups(m);
    const double clip = group_clip(r);
    for (int b = 0; b < batch; b++) {
        if (r->groups == 1) {
            double total = 0;
            for (int g = 0; g < G; g++) total += r->sq[(int64_t)g * batch + b];
            const float f = (float)clip_factor(total, clip);
            for (int g = 0; g < G; g++) r->w[(int64_t)g * batch + b] = f;
        } else {
            for (int g = 0; g < G; g++)
                r->w[(int64_t)g * batch + b] = (float)clip_factor(r->sq[(int64_t)g * batch + b], clip);
        }
    }
    LAM_TRY(lam_backward_reweighted(m, batch, r->w));
    for (int64_t i = 0; i < r->n; i++) r->sum[i] += (double)m->grads[i];
    return LAM_OK;
}

lam_status lam_dp_epsilon(lam_dp_run *r, double *epsilon)
{
    if (r->unbounded) {
        *epsilon = INFINITY;
        return LAM_OK;
    }
    if (r->eps_steps != r->steps) { /* computed once per step count */
        LAM_TRY(lam_privacy_accountant_epsilon(r->acc, r->o.delta, &r->eps));
        r->eps_steps = r->steps;
    }
    *epsilon = r->eps;
    return LAM_OK;
}

bool lam_dp_epsilon_every_step(const lam_dp_run *r)
{
    return r->o.accountant == LAM_ACCOUNTANT_RDP;
}

/* The accounting so far into m's metadata (every step, so that whatever
 * checkpoint is written carries exactly the steps its weights have seen; the
 * history is what resume restores). dp.epsilon too when with_epsilon. */
static lam_status record(lam_dp_run *r, lam_model *m, bool with_epsilon)
{
    char v[64];
    if (with_epsilon) {
        double eps;
        LAM_TRY(lam_dp_epsilon(r, &eps));
        snprintf(v, sizeof v, "%.17g", eps);
        LAM_TRY(lam_model_set_metadata(m, "dp.epsilon", v));
    }
    snprintf(v, sizeof v, "%.17g", r->o.delta);
    LAM_TRY(lam_model_set_metadata(m, "dp.delta", v));
    snprintf(v, sizeof v, "%.17g", r->o.noise_multiplier);
    LAM_TRY(lam_model_set_metadata(m, "dp.noise_multiplier", v));
    snprintf(v, sizeof v, "%.17g", r->o.clip_norm);
    LAM_TRY(lam_model_set_metadata(m, "dp.clip_norm", v));
    snprintf(v, sizeof v, "%lld", (long long)r->steps);
    LAM_TRY(lam_model_set_metadata(m, "dp.steps", v));
    LAM_TRY(lam_model_set_metadata(m, "dp.accountant", lam_accountant_name(r->o.accountant)));
    const lam_privacy_steps *runs;
    const size_t nr = lam_privacy_accountant_history(r->acc, &runs);
    char *h = lam_malloc(nr * 96 + 1);
    if (!h) return LAM_ERR_NOMEM;
    size_t k = 0;
    h[0] = '\0';
    for (size_t i = 0; i < nr; i++)
        k += (size_t)snprintf(h + k, 96, "%s%.17g:%.17g:%lld", i ? ";" : "",
                              runs[i].noise_multiplier, runs[i].sample_rate,
                              (long long)runs[i].steps);
    lam_status st = lam_model_set_metadata(m, "dp.history", h);
    lam_free(h);
    return st;
}

lam_status lam_dp_step_end(lam_dp_run *r, lam_model *m, float *grads, bool noise)
{
    const double sigma = r->o.noise_multiplier;
    if (sigma > 0 && noise) {
        LAM_TRY(add_noise(r, m, sigma * r->o.clip_norm));
    } else if (sigma > 0 && r->o.seeded_noise) {
        /* The draws another rank adds: the generator (which also draws
         * the Poisson batches) stays the same on every rank. */
        for (int64_t i = 0; i < r->n; i++) (void)lam_rng_normal(&m->rng);
    }
    for (int64_t i = 0; i < r->n; i++) grads[i] = (float)(r->sum[i] / r->expected);
    if (sigma > 0) LAM_TRY(lam_privacy_accountant_step(r->acc, sigma, r->q, 1));
    else r->unbounded = true;
    r->steps++;
    return record(r, m, lam_dp_epsilon_every_step(r));
}

lam_status lam_dp_epoch_end(lam_dp_run *r, lam_model *m, double *epsilon)
{
    LAM_TRY(record(r, m, true));
    return lam_dp_epsilon(r, epsilon);
}
