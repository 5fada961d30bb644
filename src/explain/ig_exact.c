/* ig_exact.c - exact integrated gradients for piecewise-linear networks.
 *
 * Along the path x(a) = b + a (x - b), a in [0, 1], a network of ReLUs,
 * max-pools and linear layers is linear inside each activation region
 * (fixed ReLU signs and max-pool winners), and a region, being convex, meets
 * the line in one interval. So the integral of the gradient is a sum over
 * those intervals, each exact:
 *
 *   probe   a point p: forward (LAM_MODE_INFER_GRAD), then the model's
 *           tangent pass along d = x - b (lam_model_tangent) with p's
 *           pattern frozen, which says how far the pattern holds either way:
 *           the region's interval [p - span-, p + span+] (computed in double
 *           from the float pre-activations: a boundary comes out within
 *           rounding of where the float forward switches);
 *   score   logit: the gradient is constant on the interval, so one backward
 *           of width * e_target gives its integral. Probability: the logits
 *           are linear on it, z(a) = z(p) + (a - p) dz, so w_k = integral of
 *           d prob / d z_k over it is a one-dimensional integral of a smooth
 *           function (softmax or sigmoid along a line), done in double by
 *           Gauss-Legendre with doubling, and one backward of w from the
 *           logits gives the integral of the input gradient.
 *
 * Which points to probe: the part of [0, 1] not yet covered is a set of
 * gaps, [0, 1] at first. A probe goes to the middle of a gap, covers the
 * part of the gap its region spans and leaves at most two smaller gaps
 * either side (each under half the gap: the probe was in the middle).
 * Middles keep probes away from boundaries, where float rounding could give
 * a point the pattern of its neighbour; a gap narrower than IG_GAP_TOL is
 * not probed but given to the region beside it, and one narrower than
 * IG_SLIVER is given whole to the region its probe finds. So the interval is
 * covered exactly once, every probe finds a region (regions count probes),
 * and the walk ends: gaps halve, and none below IG_GAP_TOL is kept. Gaps are
 * independent, so up to IG_BATCH of them are probed in one batch. */
#include "explain/explain.h"

#include <math.h>
#include <string.h>

/* Probes per forward pass. On one thread the seed CNN takes the same time
 * per region at 1, 16 or 64 (measured: 1.9 s per image of 5800 regions
 * each); batches give threads whole images to share out, and the walk
 * soon has far more open gaps than this. */
#define IG_BATCH 16
/* Where boundaries can be trusted. A probe runs at float inputs, each
 * b + p d rounded: the point it sees lies within about 2^-24 (relative) of
 * p, so positions along the path are known to a few times that, and two
 * probes either side of one boundary place it up to ~1e-7 apart. Gaps below
 * IG_GAP_TOL (2^-22) are given to the region beside them. Gaps below
 * IG_SLIVER (2^-18) are probed once and the region found there covers all of
 * it: such a gap is mostly two boundaries' disagreement, and probing its
 * remainders would find the same disagreement again at a finer scale (on a
 * 14x14 CNN, recursing down to 1e-9 took 6 times the probes for the same
 * completeness, 1e-6). What a region narrower than that could move is its
 * width times the jump of the slope: below the float error of the scores. */
#define IG_GAP_TOL 0x1p-22
#define IG_SLIVER 0x1p-18

typedef struct ig_gap { double lo, hi; } ig_gap;

typedef struct ig_stack {
    ig_gap *gaps;
    int64_t n, cap;
} ig_stack;

static lam_status stack_push(ig_stack *s, double lo, double hi)
{
    if (s->n == s->cap) {
        int64_t cap = s->cap ? 2 * s->cap : 64;
        ig_gap *g = lam_realloc(s->gaps, sizeof(ig_gap) * (size_t)cap);
        if (!g) return lam_error_context(LAM_ERR_NOMEM, "exact integrated gradients");
        s->gaps = g;
        s->cap = cap;
    }
    s->gaps[s->n++] = (ig_gap){lo, hi};
    return LAM_OK;
}

/* 8-point Gauss-Legendre on [-1, 1]: the positive nodes and their weights. */
static const double gl_x[4] = {0.18343464249564978, 0.52553240991632899, 0.79666647741362673,
                               0.96028985649753618};
static const double gl_w[4] = {0.36268378337836177, 0.31370664587788705, 0.22238103445337434,
                               0.10122853629037669};

/* The probability along a line of logits, z(t) = z0 + t dz (n of them:
 * the softmax row, or the one sigmoid unit). */
typedef struct ig_line {
    const float *z0, *dz;
    int n, c;        /* c: the target within the row */
    bool softmax;
    double *s;       /* n: workspace */
} ig_line;

/* acc[k] += weight * d prob_c / d z_k at t. */
static void line_add(const ig_line *l, double t, double weight, double *acc)
{
    if (!l->softmax) {
        const double z = l->z0[0] + t * l->dz[0], p = 1.0 / (1.0 + exp(-z));
        acc[0] += weight * p * (1.0 - p);
        return;
    }
    double mx = -INFINITY, sum = 0;
    for (int k = 0; k < l->n; k++) {
        l->s[k] = l->z0[k] + t * l->dz[k];
        mx = l->s[k] > mx ? l->s[k] : mx;
    }
    for (int k = 0; k < l->n; k++) sum += l->s[k] = exp(l->s[k] - mx);
    for (int k = 0; k < l->n; k++) l->s[k] /= sum;
    const double sc = l->s[l->c];
    for (int k = 0; k < l->n; k++) acc[k] -= weight * sc * l->s[k];
    acc[l->c] += weight * sc;
}

/* w (n) = integral over t in [t0, t1] of d prob_c / d z: composite
 * Gauss-Legendre on 1, 2, 4, ... pieces until two estimates agree to 1e-13
 * of the larger entry (the integrand is analytic: a few doublings suffice
 * unless the logits sweep far across the interval). prev is workspace. */
static void line_integral(const ig_line *l, double t0, double t1, double *w, double *prev)
{
    enum { MAX_PIECES = 1 << 16 };
    for (int pieces = 1;; pieces *= 2) {
        memset(w, 0, sizeof(double) * (size_t)l->n);
        const double h = (t1 - t0) / pieces;
        for (int j = 0; j < pieces; j++) {
            const double mid = t0 + (j + 0.5) * h;
            for (int q = 0; q < 4; q++) {
                line_add(l, mid - 0.5 * h * gl_x[q], 0.5 * h * gl_w[q], w);
                line_add(l, mid + 0.5 * h * gl_x[q], 0.5 * h * gl_w[q], w);
            }
        }
        if (pieces > 1) {
            double change = 0, size = 0;
            for (int k = 0; k < l->n; k++) {
                change = fmax(change, fabs(w[k] - prev[k]));
                size = fmax(size, fabs(w[k]));
            }
            if (change <= 1e-13 * size || pieces >= MAX_PIECES) return;
        }
        memcpy(prev, w, sizeof(double) * (size_t)l->n);
    }
}

/* What the walk needs to know about the model and the score. */
typedef struct ig_walk {
    lam_model *m;
    int output, target;
    lam_score score;
    int64_t in_size, out_size;
    bool has_logits;     /* the output ends in softmax or sigmoid */
    bool softmax;
    int64_t row, row_len; /* the softmax row holding target: its first entry, its length */
    const float *baseline;
    double *d;           /* x - baseline */
    double *attr;        /* accumulated attributions */
    double *w, *prev, *s; /* line_integral's workspace, row_len each */
} ig_walk;

/* Writes the backward seed of probe r covering [lo, hi] around p. */
static void seed_row(const ig_walk *wk, int r, double p, double lo, double hi, float *seed)
{
    float *row = seed + (int64_t)r * wk->out_size;
    memset(row, 0, sizeof(float) * (size_t)wk->out_size);
    if (wk->score == LAM_SCORE_LOGIT || !wk->has_logits) {
        row[wk->target] = (float)(hi - lo); /* a constant gradient, times the width */
        return;
    }
    const int64_t off = (int64_t)r * wk->out_size + wk->row;
    const ig_line line = {.z0 = lam_model_output_logits(wk->m, wk->output) + off,
                          .dz = lam_model_output_tangent(wk->m, wk->output) + off,
                          .n = (int)wk->row_len,
                          .c = (int)(wk->target - wk->row),
                          .softmax = wk->softmax,
                          .s = wk->s};
    line_integral(&line, lo - p, hi - p, wk->w, wk->prev);
    for (int64_t k = 0; k < wk->row_len; k++) row[wk->row + k] = (float)wk->w[k];
}

/* Probes the middles of up to IG_BATCH gaps off the stack. */
static lam_status probe_batch(ig_walk *wk, ig_stack *st, int64_t *regions)
{
    lam_model *m = wk->m;
    const int nb = st->n < IG_BATCH ? (int)st->n : IG_BATCH;
    ig_gap gaps[IG_BATCH];
    double p[IG_BATCH], span[2 * IG_BATCH];
    st->n -= nb;
    memcpy(gaps, st->gaps + st->n, sizeof(ig_gap) * (size_t)nb);
    float *in = lam_model_input_buffer(m, 0), *din = lam_model_input_tangent(m, 0);
    for (int r = 0; r < nb; r++) {
        p[r] = 0.5 * (gaps[r].lo + gaps[r].hi);
        float *xr = in + (int64_t)r * wk->in_size, *dr = din + (int64_t)r * wk->in_size;
        for (int64_t i = 0; i < wk->in_size; i++) {
            xr[i] = (float)(wk->baseline[i] + p[r] * wk->d[i]);
            dr[i] = (float)wk->d[i];
        }
    }
    LAM_TRY(lam_forward(m, nb, LAM_MODE_INFER_GRAD));
    LAM_TRY(lam_model_tangent(m, nb, span));
    float *seed = wk->has_logits ? lam_model_output_logit_grad(m, wk->output)
                                 : lam_model_output_grad(m, wk->output);
    for (int k = 0; k < lam_model_num_outputs(m); k++)
        if (k != wk->output) /* other outputs explain nothing */
            memset(lam_model_output_grad(m, k), 0,
                   sizeof(float) * (size_t)nb * (size_t)lam_model_output_node(m, k)->out.size);
    for (int r = 0; r < nb; r++) {
        /* The region's interval within the gap; slivers left either side
         * are the region's too. */
        const ig_gap g = gaps[r];
        double lo = fmax(p[r] - span[2 * r + 1], g.lo), hi = fmin(p[r] + span[2 * r], g.hi);
        if (g.hi - g.lo < IG_SLIVER) lo = g.lo, hi = g.hi; /* see IG_SLIVER */
        if (lo - g.lo <= IG_GAP_TOL) lo = g.lo;
        else LAM_TRY(stack_push(st, g.lo, lo));
        if (g.hi - hi <= IG_GAP_TOL) hi = g.hi;
        else LAM_TRY(stack_push(st, hi, g.hi));
        seed_row(wk, r, p[r], lo, hi, seed);
    }
    LAM_TRY(lam_backward_inputs(m, nb));
    const float *grad = lam_model_input_grad(m, 0);
    for (int r = 0; r < nb; r++) {
        const float *gr = grad + (int64_t)r * wk->in_size;
        for (int64_t i = 0; i < wk->in_size; i++) wk->attr[i] += (double)gr[i] * wk->d[i];
    }
    *regions += nb;
    return LAM_OK;
}

static lam_status walk(ig_walk *wk, int64_t *regions)
{
    ig_stack st = {0};
    lam_status s = stack_push(&st, 0.0, 1.0);
    while (s == LAM_OK && st.n > 0) {
        if (lam_stop_requested()) /* a walk can take seconds: Ctrl-C stops it */
            s = lam_error(LAM_ERR_INTERRUPTED, "exact integrated gradients: stopped on "
                          "request after %lld regions", (long long)*regions);
        else
            s = probe_batch(wk, &st, regions);
    }
    lam_free(st.gaps);
    return s;
}

/* Validates the call and fills what the walk needs but its buffers. */
static lam_status walk_setup(lam_model *m, int output, int target, lam_score score,
                             ig_walk *wk)
{
    if (lam_model_num_inputs(m) != 1)
        return lam_error(LAM_ERR_UNSUPPORTED, "model \"%s\": exact integrated gradients "
                         "explain single-input models; this one has %d inputs", m->name,
                         lam_model_num_inputs(m));
    const lam_node *o = lam_model_output_node(m, output);
    if (!o)
        return lam_error(LAM_ERR_ARG, "model \"%s\": output %d, the model has %d", m->name,
                         output, lam_model_num_outputs(m));
    if (target < 0 || target >= o->out.size)
        return lam_error(LAM_ERR_ARG, "model \"%s\": class %d of output \"%s\", which has %lld "
                         "values", m->name, target, o->spec.name, (long long)o->out.size);
    LAM_TRY(lam_model_check_piecewise_linear(m));
    *wk = (ig_walk){.m = m, .output = output, .target = target, .score = score};
    wk->in_size = lam_model_input_node(m, 0)->out.size;
    wk->out_size = o->out.size;
    wk->has_logits = lam_node_has_logits(m, o);
    wk->softmax = o->spec.activation == LAM_ACT_SOFTMAX;
    /* Softmax works across the last axis: the row holding target. A
     * sigmoid's probability depends on its own logit only. */
    wk->row_len = wk->softmax ? o->out.dim[o->out.rank - 1] : 1;
    wk->row = target - target % wk->row_len;
    return LAM_OK;
}

lam_status lam_ig_exact(lam_model *m, const float *x, const float *baseline, int output,
                        int target, lam_score score, float *attr, int64_t *regions)
{
    if (!m || !x || !baseline || !attr || !regions)
        return lam_error(LAM_ERR_ARG, "lam_ig_exact: NULL argument");
    *regions = 0;
    ig_walk wk = {0};
    LAM_TRY(walk_setup(m, output, target, score, &wk));
    const int planned = m->planned_batch;
    if (wk.has_logits) LAM_TRY(lam_model_keep_logits(m, output));
    LAM_TRY(lam_model_keep_tangents(m, true));
    lam_status s = lam_model_plan(m, IG_BATCH);
    const size_t n = (size_t)wk.in_size, k = (size_t)wk.row_len;
    wk.baseline = baseline;
    wk.d = lam_malloc(sizeof(double) * n);
    wk.attr = lam_calloc(n, sizeof(double));
    wk.w = lam_malloc(sizeof(double) * 3 * k);
    if (s == LAM_OK && (!wk.d || !wk.attr || !wk.w))
        s = lam_error_context(LAM_ERR_NOMEM, "exact integrated gradients");
    if (s == LAM_OK) {
        wk.prev = wk.w + k;
        wk.s = wk.w + 2 * k;
        for (size_t i = 0; i < n; i++) wk.d[i] = (double)x[i] - baseline[i];
        s = walk(&wk, regions);
    }
    if (s == LAM_OK)
        for (size_t i = 0; i < n; i++) attr[i] = (float)wk.attr[i];
    lam_free(wk.d);
    lam_free(wk.attr);
    lam_free(wk.w);
    /* The plan as the caller had it: no tangents (their memory, and Conv2D's
     * unfused ReLU, are for this walk only), the same batch. */
    lam_status restored = lam_model_keep_tangents(m, false);
    if (restored == LAM_OK && planned > 0) restored = lam_model_plan(m, planned);
    return s != LAM_OK ? s : restored;
}
